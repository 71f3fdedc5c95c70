# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The byte walker: element headers of a data set -> a compact table, without the GIL.

Every read is preceded by a check of the bytes left (``need``), which is why bounds checking
is switched off for the module: indexes into the buffer are proven in range by construction.
The scanner knows the DICOM encoding rules (PS3.5 section 7) and nothing of Python values;
where pydicom tolerates a deviation (VR bytes that are not a VR, a data set that switches
between explicit and implicit VR, a short tail), it is tolerated here the same way so that
both readers see the same elements.
"""
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memchr

from fastdcm._bytes cimport read_tag, u16, u32

from fastdcm.errors import InvalidDicomError

# Flags of an ElementRecord.
FLAG_IMPLICIT = 1           # the header carried no VR
FLAG_UNDEFINED = 2          # undefined length (0xFFFFFFFF)
FLAG_ITEMS = 4              # the undefined-length value is made of items (sequence, fragments)
FLAG_CONTENT_IMPLICIT = 8   # those items are implicit VR (UN of undefined length, PS3.5 6.2.2)

# Scan outcomes.
DONE = 0        # the region or its delimiter was reached
STOPPED = 1     # a tag at or past the stop point; stop_pos is that element's header
NEED_MORE = 2   # the buffer ends inside an element but the source goes on
MAX_DEPTH = 128  # nesting of sequences and items; deeper input is rejected as hostile

cdef enum:
    _DONE = 0
    _STOPPED = 1
    _NEED_MORE = 2
    _FAILED = 3
    _KIND_SEQ = 0
    _KIND_ITEM = 1
    _F_IMPLICIT = 1
    _F_UNDEFINED = 2
    _F_ITEMS = 4
    _F_CONTENT_IMPLICIT = 8
    _MAX_DEPTH = 128

cdef uint32_t ITEM = 0xFFFEE000u
cdef uint32_t ITEM_DELIMITER = 0xFFFEE00Du
cdef uint32_t SEQUENCE_DELIMITER = 0xFFFEE0DDu
cdef uint32_t UNDEFINED_LENGTH = 0xFFFFFFFFu
cdef uint16_t VR_UN = (<uint16_t>ord('U')) | ((<uint16_t>ord('N')) << 8)

# 0: not a VR, 1: VR with a 2-byte length, 2: VR with reserved bytes and a 4-byte length.
cdef uint8_t vr_kinds[26 * 26]


cdef void _init_vr_kinds():
    cdef int i
    for i in range(26 * 26):
        vr_kinds[i] = 0
    for name in ("AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT",
                 "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"):
        vr_kinds[(ord(name[0]) - 65) * 26 + ord(name[1]) - 65] = 1
    for name in ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"):
        vr_kinds[(ord(name[0]) - 65) * 26 + ord(name[1]) - 65] = 2


_init_vr_kinds()


cdef struct Walker:
    const uint8_t* buf
    int64_t size          # bytes in buf
    bint more             # the source goes on past buf (a header-only read)
    int64_t total         # with more: the whole source's size when known, else 0
    bint little
    const char* message   # set on failure
    int64_t error_offset
    uint32_t error_tag
    bint error_has_tag    # False when the bytes ended before a tag could be read


cdef inline bint is_letter_pair(uint8_t b0, uint8_t b1) noexcept nogil:
    """pydicom's test for explicit VR at the start of a data set: two upper-case letters."""
    return 0x40 < b0 < 0x5B and 0x40 < b1 < 0x5B


cdef inline bint in_vr_range(uint8_t b0, uint8_t b1) noexcept nogil:
    """b"AA" <= vr <= b"ZZ": VR bytes that pydicom reads as an unknown explicit VR."""
    if b0 == 0x41:
        return b1 >= 0x41
    if b0 == 0x5A:
        return b1 <= 0x5A
    return 0x41 < b0 < 0x5A


cdef inline int fail(Walker* w, const char* message, int64_t offset, uint32_t tag) noexcept nogil:
    w.message = message
    w.error_offset = offset
    w.error_tag = tag
    w.error_has_tag = True
    return _FAILED


cdef inline int short_of(Walker* w, int64_t limit, const char* message, int64_t offset,
                         uint32_t tag) noexcept nogil:
    """Running out of bytes: more to read when the buffer is a prefix, else malformed."""
    if w.more and limit == w.size:
        return _NEED_MORE
    return fail(w, message, offset, tag)


cdef inline bint ends_source(Walker* w, ElementRecord* rec, int64_t limit,
                             bint is_item) noexcept nogil:
    """A top-level value that runs from the prefix in buf exactly to the end of the whole
    source (Pixel Data, last in most files). Scanning on needs none of its bytes, and there
    is nothing after it: the scan is complete without reading it, and the caller reads it
    only when the value itself is wanted. Sequences are left out: their items are scanned
    later from the buffer the scan was given. (w.total is 0 unless buf is a prefix.)"""
    return (w.total > 0 and not is_item and limit == w.size
            and rec.vr != VR_SQ and rec.offset + <int64_t>rec.length == w.total)


cdef int parse_header(Walker* w, int64_t pos, int64_t limit, bint implicit,
                      ElementRecord* rec) noexcept nogil:
    """Read one element header at pos (8 bytes are known to be there)."""
    cdef const uint8_t* p = w.buf + pos
    cdef uint8_t b0, b1
    cdef int kind = 0
    rec.tag = read_tag(p, w.little)
    rec.flags = 0
    if implicit or (rec.tag >> 16) == 0xFFFE:
        rec.vr = 0
        rec.flags = _F_IMPLICIT
        rec.length = u32(p + 4, w.little)
        rec.header = 8
    else:
        b0 = p[4]
        b1 = p[5]
        if 0x41 <= b0 <= 0x5A and 0x41 <= b1 <= 0x5A:
            kind = vr_kinds[(b0 - 0x41) * 26 + b1 - 0x41]
        if kind == 2:
            if limit - pos < 12:
                return short_of(w, limit, "element header past the end of the data", pos, rec.tag)
            rec.length = u32(p + 8, w.little)
            rec.header = 12
            rec.vr = b0 | (<uint16_t>b1 << 8)
        elif kind == 1 or in_vr_range(b0, b1):
            rec.length = u16(p + 6, w.little)
            rec.header = 8
            rec.vr = b0 | (<uint16_t>b1 << 8)
        else:
            # Not a VR at all: pydicom reads this one element as implicit VR.
            rec.vr = 0
            rec.flags = _F_IMPLICIT
            rec.length = u32(p + 4, w.little)
            rec.header = 8
    rec.offset = pos + rec.header
    return _DONE


cdef inline bint item_is_implicit(Walker* w, int64_t pos, int64_t limit, bint inherited) noexcept nogil:
    """An explicit VR item whose first element has no VR letters is read as implicit VR."""
    if inherited or limit - pos < 6:
        return inherited
    return not is_letter_pair(w.buf[pos + 4], w.buf[pos + 5])


cdef int find_sequence_delimiter(Walker* w, int64_t pos, int64_t limit, uint32_t tag,
                                 int64_t* content_end, int64_t* after) noexcept nogil:
    """Undefined-length value that is not made of items: search for the delimiter bytes."""
    cdef uint8_t pattern[4]
    cdef const uint8_t* hit
    if w.little:
        pattern[0] = 0xFE; pattern[1] = 0xFF; pattern[2] = 0xDD; pattern[3] = 0xE0
    else:
        pattern[0] = 0xFF; pattern[1] = 0xFE; pattern[2] = 0xE0; pattern[3] = 0xDD
    while limit - pos >= 8:
        hit = <const uint8_t*>memchr(w.buf + pos, pattern[0], <size_t>(limit - pos - 7))
        if hit == NULL:
            break
        pos = hit - w.buf
        if hit[1] == pattern[1] and hit[2] == pattern[2] and hit[3] == pattern[3]:
            content_end[0] = pos
            after[0] = pos + 8
            return _DONE
        pos += 1
    return short_of(w, limit, "undefined length value without a sequence delimiter", limit, tag)


cdef int walk_undefined(Walker* w, int64_t pos, int64_t limit, int kind, bint implicit,
                        uint32_t owner, int64_t* content_end, int64_t* after) noexcept nogil:
    """Find the end of an undefined-length sequence (kind SEQ) or item (kind ITEM).

    Iterative, with an explicit stack bounded by MAX_DEPTH, so hostile nesting is an error
    and never a stack overflow.
    """
    cdef uint8_t kinds[_MAX_DEPTH]
    cdef uint8_t implicits[_MAX_DEPTH]
    cdef int depth = 0
    cdef int status
    cdef uint32_t tag, length
    cdef int64_t inner_end, inner_after
    cdef ElementRecord rec
    kinds[0] = kind
    implicits[0] = implicit
    while True:
        if limit - pos < 8:
            return short_of(w, limit, "sequence or item without its delimiter", pos, owner)
        tag = read_tag(w.buf + pos, w.little)
        if (tag >> 16) == 0xFFFE:
            length = u32(w.buf + pos + 4, w.little)
            if tag == ITEM:
                if kinds[depth] != _KIND_SEQ:
                    return fail(w, "item tag inside an item", pos, tag)
                if length == UNDEFINED_LENGTH:
                    if depth + 1 >= _MAX_DEPTH:
                        return fail(w, "sequences nested too deeply", pos, tag)
                    depth += 1
                    kinds[depth] = _KIND_ITEM
                    implicits[depth] = item_is_implicit(w, pos + 8, limit, implicits[depth - 1])
                    pos += 8
                else:
                    if length > limit - pos - 8:
                        return short_of(w, limit, "item length past the end of its sequence",
                                        pos, tag)
                    pos += 8 + length
            elif tag == ITEM_DELIMITER or tag == SEQUENCE_DELIMITER:
                if tag == ITEM_DELIMITER and kinds[depth] != _KIND_ITEM:
                    return fail(w, "item delimiter outside an item", pos, tag)
                if tag == SEQUENCE_DELIMITER and kinds[depth] != _KIND_SEQ:
                    return fail(w, "sequence delimiter inside an item", pos, tag)
                if depth == 0:
                    content_end[0] = pos
                    after[0] = pos + 8
                    return _DONE
                depth -= 1
                pos += 8
            else:
                return fail(w, "unexpected item tag", pos, tag)
            continue
        if kinds[depth] != _KIND_ITEM:
            return fail(w, "data element where an item was expected", pos, tag)
        status = parse_header(w, pos, limit, implicits[depth], &rec)
        if status != _DONE:
            return status
        if rec.length != UNDEFINED_LENGTH:
            if rec.length > limit - rec.offset:
                return short_of(w, limit, "value length past the end of the data", pos, tag)
            pos = rec.offset + rec.length
        elif limit - rec.offset >= 4 and (read_tag(w.buf + rec.offset, w.little) == ITEM or
                                          read_tag(w.buf + rec.offset, w.little) == SEQUENCE_DELIMITER):
            if depth + 1 >= _MAX_DEPTH:
                return fail(w, "sequences nested too deeply", pos, tag)
            depth += 1
            kinds[depth] = _KIND_SEQ
            implicits[depth] = implicits[depth - 1] or rec.vr == VR_UN or (rec.flags & _F_IMPLICIT) != 0
            pos = rec.offset
        else:
            status = find_sequence_delimiter(w, rec.offset, limit, tag, &inner_end, &inner_after)
            if status != _DONE:
                return status
            pos = inner_after


cdef int scan_region(Walker* w, int64_t pos, int64_t limit, bint implicit, bint is_item,
                     uint32_t stop_tag, int stop_group, ElementTable table,
                     int64_t* stop_pos, bint* implicit_used) noexcept nogil:
    cdef ElementRecord rec
    cdef int status
    cdef int64_t after
    cdef bint found_implicit
    cdef uint32_t first
    # pydicom decides explicit/implicit from the first element of each data set: top-level
    # data sets may switch either way, items only from explicit to implicit.
    if limit - pos >= 6:
        first = read_tag(w.buf + pos, w.little)
        if (first >> 16) != 0xFFFE:
            found_implicit = not is_letter_pair(w.buf[pos + 4], w.buf[pos + 5])
            if is_item:
                implicit = implicit or found_implicit
            elif stop_group < 0 or (first >> 16) == <uint32_t>stop_group:
                implicit = found_implicit
    implicit_used[0] = implicit
    while pos < limit:
        # The stop test needs only the tag, so a header-only read of a file cut inside the
        # header of an element it does not want (Pixel Data) still succeeds.
        if limit - pos >= 4:
            first = read_tag(w.buf + pos, w.little)
            # Item tags (FFFE,xxxx) sort last but are no data element: they are errors below,
            # and stop_tag 0xFFFFFFFF means no stop, so a garbage (FFFF,FFFF) cannot end a scan.
            if (first >> 16) != 0xFFFE and (
                    (first >= stop_tag and stop_tag != UNDEFINED_LENGTH)
                    or (stop_group >= 0 and (first >> 16) != <uint32_t>stop_group)):
                stop_pos[0] = pos
                return _STOPPED
        if limit - pos < 8:
            stop_pos[0] = pos
            if w.more and limit == w.size:
                return _NEED_MORE
            # pydicom ignores such a tail; a file cut short must not pass for a whole one.
            if limit - pos >= 4:
                return fail(w, "element header past the end of the data", pos, first)
            w.message = "element header past the end of the data"
            w.error_offset = pos
            w.error_has_tag = False
            return _FAILED
        status = parse_header(w, pos, limit, implicit, &rec)
        if status != _DONE:
            stop_pos[0] = pos
            return status
        if (rec.tag >> 16) == 0xFFFE:
            stop_pos[0] = pos
            if rec.tag == ITEM_DELIMITER and is_item:
                stop_pos[0] = pos + 8
                return _DONE
            # pydicom ends the data set at an item delimiter wherever it is and reads other
            # item tags as elements; both hide damage, so they are errors here.
            return fail(w, "item or delimiter tag where a data element was expected", pos,
                        rec.tag)
        if rec.length == UNDEFINED_LENGTH:
            rec.flags |= _F_UNDEFINED
            if limit - rec.offset >= 4 and (read_tag(w.buf + rec.offset, w.little) == ITEM or
                                            read_tag(w.buf + rec.offset, w.little) == SEQUENCE_DELIMITER):
                rec.flags |= _F_ITEMS
                if implicit or rec.vr == VR_UN or (rec.flags & _F_IMPLICIT):
                    rec.flags |= _F_CONTENT_IMPLICIT
                status = walk_undefined(w, rec.offset, limit, _KIND_SEQ,
                                        (rec.flags & _F_CONTENT_IMPLICIT) != 0, rec.tag,
                                        &rec.end, &after)
            else:
                status = find_sequence_delimiter(w, rec.offset, limit, rec.tag, &rec.end, &after)
            if status != _DONE:
                stop_pos[0] = pos
                return status
        else:
            if rec.length > limit - rec.offset and not ends_source(w, &rec, limit, is_item):
                stop_pos[0] = pos
                return short_of(w, limit, "value length past the end of the data", pos, rec.tag)
            rec.end = rec.offset + rec.length
            after = rec.end
        if table.append(&rec) != 0:
            stop_pos[0] = pos
            return fail(w, "out of memory for the element table", pos, rec.tag)
        pos = after
    stop_pos[0] = pos
    return _DONE


ctypedef ElementRecord* RecordArray
ctypedef TagRow* TagRowArray
ctypedef fused TaggedArray:  # arrays of structs with a `tag` field, sorted by it
    RecordArray
    TagRowArray


cdef inline Py_ssize_t first_with_tag(TaggedArray items, Py_ssize_t count,
                                      uint32_t tag) noexcept nogil:
    """Binary search of items sorted by tag: the index of the first with `tag`, or -1."""
    cdef Py_ssize_t lo = 0, hi = count, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if items[mid].tag < tag:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < count and items[lo].tag == tag else -1


cdef int compare_tag_rows(const void* a, const void* b) noexcept nogil:
    """Order of (tag, row) pairs: by tag, then by row so the first row of a tag comes first."""
    cdef const TagRow* x = <const TagRow*>a
    cdef const TagRow* y = <const TagRow*>b
    if x.tag != y.tag:
        return -1 if x.tag < y.tag else 1
    return -1 if x.row < y.row else (1 if x.row > y.row else 0)


cdef class ElementTable:
    """The headers of one data set level, in file order; rows are made into tuples on demand."""

    def __dealloc__(self):
        free(self.records)
        free(self.index)

    cdef int append(self, ElementRecord* rec) noexcept nogil:
        cdef Py_ssize_t capacity
        cdef ElementRecord* grown
        if self.count == self.capacity:
            capacity = 64 if self.capacity == 0 else self.capacity * 2
            grown = <ElementRecord*>realloc(self.records, capacity * sizeof(ElementRecord))
            if grown == NULL:
                return -1
            self.records = grown
            self.capacity = capacity
        if self.count and rec.tag < self.records[self.count - 1].tag:
            self.unordered = True
        self.records[self.count] = rec[0]
        self.count += 1
        return 0

    def __len__(self):
        return self.count

    cdef tuple _row(self, Py_ssize_t i):
        cdef ElementRecord* r = &self.records[i]
        return (r.tag, vr_name(r.vr), r.length, r.offset, r.end, r.flags)

    def row(self, Py_ssize_t i) -> tuple:
        """(tag, vr or None, length, value offset, value end, flags) of row i."""
        if i < 0 or i >= self.count:
            raise IndexError(i)
        return self._row(i)

    cdef Py_ssize_t _find(self, uint32_t tag) noexcept:
        """Binary search, so that resolving the VR of every element (which looks up private
        creators and pixel attributes) stays O(n log n) even for hostile tables. Tags are in
        ascending order in well-formed data; otherwise a sorted (tag, row) index is made once."""
        cdef Py_ssize_t i
        if not self.unordered:
            return first_with_tag(self.records, self.count, tag)
        if self.index == NULL:
            self.index = <TagRow*>malloc(self.count * sizeof(TagRow))
            if self.index == NULL:  # no memory for the index: search the slow way
                for i in range(self.count):
                    if self.records[i].tag == tag:
                        return i
                return -1
            for i in range(self.count):
                self.index[i].tag = self.records[i].tag
                self.index[i].row = i
            qsort(self.index, self.count, sizeof(TagRow), compare_tag_rows)
        i = first_with_tag(self.index, self.count, tag)
        return -1 if i < 0 else self.index[i].row

    cdef ElementRecord* record_for(self, uint32_t tag) noexcept:
        cdef Py_ssize_t i = self._find(tag)
        return NULL if i < 0 else &self.records[i]

    def find(self, uint32_t tag) -> int:
        """Index of the first row with this tag, or -1."""
        return self._find(tag)

    def lookup(self, uint32_t tag):
        """The row with this tag, or None: one call for the common keyword lookup."""
        cdef Py_ssize_t i = self._find(tag)
        return None if i < 0 else self._row(i)

    def tags(self) -> list:
        return [self.records[i].tag for i in range(self.count)]


_vr_names = {0: None}


cdef object vr_name(uint16_t code):
    name = _vr_names.get(code)
    if name is None and code != 0:
        name = bytes([code & 0xFF, code >> 8]).decode("latin-1")
        _vr_names[code] = name
    return name


cdef raise_failure(Walker* w):
    raise InvalidDicomError(w.message.decode("ascii"), w.error_offset,
                            w.error_tag if w.error_has_tag else None)


cdef int open_walker(Walker* w, Py_buffer* view, object source, Py_ssize_t start,
                     Py_ssize_t end, bint little) except -1:
    PyObject_GetBuffer(source, view, PyBUF_SIMPLE)
    if start < 0 or end > view.len or start > end:
        PyBuffer_Release(view)
        raise InvalidDicomError("region outside the data", start)
    w.buf = <const uint8_t*>view.buf
    w.size = view.len
    w.more = False
    w.total = 0
    w.little = little
    w.message = NULL
    return 0


def scan(object source, Py_ssize_t start, Py_ssize_t end, bint little, bint implicit, *,
         bint is_item=False, bint more=False, int64_t total=0, uint32_t stop_tag=0xFFFFFFFFu,
         int stop_group=-1):
    """Scan the element headers of one data set level in source[start:end].

    Returns (table, status, stop_pos, implicit_used). ``more`` says the buffer is a prefix of
    a longer source (status NEED_MORE asks for the rest); with ``total``, that source's
    size, a last value running from the prefix to the end of the source completes the scan
    (status DONE, stop_pos ``total``: see ends_source); ``stop_tag`` stops before the first
    tag >= it; ``stop_group`` stops before the first element of another group (file meta).
    Malformed input raises InvalidDicomError with the offset and the tag.
    """
    cdef Py_buffer view
    cdef Walker w
    cdef ElementTable table = ElementTable()
    cdef int64_t stop_pos = start
    cdef bint implicit_used = implicit
    cdef int status
    open_walker(&w, &view, source, start, end, little)
    w.more = more
    w.total = total if more and total > view.len else 0
    try:
        with nogil:
            status = scan_region(&w, start, end, implicit, is_item, stop_tag, stop_group,
                                 table, &stop_pos, &implicit_used)
        if status == _FAILED:
            raise_failure(&w)
    finally:
        PyBuffer_Release(&view)
    return table, status, stop_pos, implicit_used


cdef list item_spans(Walker* w, int64_t pos, int64_t limit, bint implicit):
    """(value start, value end, implicit) of each item in a sequence value."""
    cdef int64_t item_end = 0, after = 0
    cdef uint32_t tag, length
    cdef int status
    cdef bint item_implicit
    items = []
    while limit - pos >= 8:
        tag = read_tag(w.buf + pos, w.little)
        length = u32(w.buf + pos + 4, w.little)
        if tag == SEQUENCE_DELIMITER:
            break
        if tag != ITEM:
            raise InvalidDicomError("expected an item in the sequence", pos, tag)
        item_implicit = item_is_implicit(w, pos + 8, limit, implicit)
        if length == UNDEFINED_LENGTH:
            with nogil:
                status = walk_undefined(w, pos + 8, limit, _KIND_ITEM, item_implicit, tag,
                                        &item_end, &after)
            if status != _DONE:
                raise_failure(w)
        else:
            if length > limit - pos - 8:
                raise InvalidDicomError("item length past the end of its sequence", pos, tag)
            item_end = pos + 8 + length
            after = item_end
        items.append((pos + 8, item_end, item_implicit))
        pos = after
    if pos != limit and limit - pos < 8:
        raise InvalidDicomError("truncated item header", pos)
    return items


def scan_items(object source, Py_ssize_t start, Py_ssize_t end, bint little, bint implicit):
    """The items of a sequence value (or the fragments of encapsulated pixel data).

    Returns a list of (value start, value end, implicit) per item; an undefined-length item
    ends where its delimiter starts.
    """
    cdef Py_buffer view
    cdef Walker w
    open_walker(&w, &view, source, start, end, little)
    try:
        return item_spans(&w, start, end, implicit)
    finally:
        PyBuffer_Release(&view)


def scan_sequence(object source, Py_ssize_t start, Py_ssize_t end, bint little, bint implicit):
    """Every item of a sequence value scanned at once: a list of (table, implicit used)."""
    cdef Py_buffer view
    cdef Walker w
    cdef ElementTable table
    cdef int64_t stop_pos = 0, item_start, item_end
    cdef bint implicit_used = implicit, item_implicit
    cdef int status
    open_walker(&w, &view, source, start, end, little)
    try:
        scanned = []
        for item_start, item_end, item_implicit in item_spans(&w, start, end, implicit):
            table = ElementTable()
            with nogil:
                status = scan_region(&w, item_start, item_end, item_implicit, True, 0xFFFFFFFFu,
                                     -1, table, &stop_pos, &implicit_used)
            if status == _FAILED:
                raise_failure(&w)
            scanned.append((table, implicit_used))
        return scanned
    finally:
        PyBuffer_Release(&view)
