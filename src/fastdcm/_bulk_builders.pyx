# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The value columns of a bulk index chunk, built as Arrow buffers straight from C values.

Most cells of an index are a UID, a code string, a date or a number read from the file's
bytes (see _bulk_values.append_values). Made into a Python object each, put in a list and
converted to Arrow per chunk, a cell cost three times what it costs written here as the
bytes or number Arrow holds. A value that only the Python converters read (a person name
with groups, text in another character set, a malformed number) is kept as the object
they give; a column that holds one is then made from Python values, as it was before
these builders, so that its cells are the same either way.
"""
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_Clear
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from libc.stdint cimport INT32_MAX, int32_t, int64_t, uint8_t, uint16_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy

import pyarrow as pa

from fastdcm._bulk_columns import INT64_MAX, INT64_MIN, to_array
from fastdcm._values cimport (BACKSLASH, NOT_TEXT, TEXTS, VR_DS, decimal_part, integer_value,
                              text_extent)

# The Arrow types whose items a builder holds in C (as _bulk_columns types the columns).
ITEM_KINDS = {pa.string(): KIND_STR, pa.int64(): KIND_INT, pa.float64(): KIND_FLOAT}


cdef class ColumnBuilder:
    """One value column of a chunk: a row per file, each null, a value, or (for a list
    column) a list of items; an item is a string (UTF-8 bytes), an int64 or a float64, as
    the column's Arrow type says (other types, binary, keep Python objects)."""

    def __cinit__(self, arrow_type):
        self.arrow_type = arrow_type
        self.multi = isinstance(arrow_type, pa.ListType)
        self.kind = ITEM_KINDS.get(arrow_type.value_type if self.multi else arrow_type,
                                   KIND_OBJECT)
        self.objects = {}
        self._start_row()

    def __dealloc__(self):
        free(self.valid.data)
        free(self.values.data)
        free(self.offsets.data)
        free(self.rows.data)

    # -- appending (from _bulk_values, and from Python for the file's own columns) -------

    cdef int add_none(self) except -1:
        if not self.multi:
            self._item_placeholder()
        return self._end_row(False)

    cdef bint add_plain(self, uint16_t vr, const unsigned char* p, Py_ssize_t n,
                        bint little) except -1:
        """The value of an explicit-VR element of `vr` whose bytes are p[:n], when it is
        plain (as decode_common reads it) and fits this column; False, adding nothing,
        otherwise (the caller then adds the Python value)."""
        cdef Py_ssize_t a, b, i, j
        cdef long long integer
        cdef double number
        cdef int text, more = 1
        if self.kind == KIND_STR:
            text = text_extent(vr, p, n, &a, &b)
            if text == NOT_TEXT or (text == TEXTS and not self.multi):
                return False
            for i in range(a, b):
                if p[i] >= 0x80:  # Latin-1 in Python: not the same bytes in UTF-8
                    return False
            i = a
            while True:  # the values, as str.split("\\") cuts the text
                j = i
                while j < b and p[j] != BACKSLASH:
                    j += 1
                self._item_text(p + i, j - i)
                if j >= b:
                    break
                i = j + 1
            self._end_row(True)
            return True
        if self.kind == KIND_INT:
            if not integer_value(vr, p, n, little, &integer):
                return False
            self._item_int(integer)
            self._end_row(True)
            return True
        if self.kind == KIND_FLOAT and vr == VR_DS and n > 0:
            a, i = self.items, 0
            while more:
                more = decimal_part(p, n, &i, &number)
                if more < 0 or (more and not self.multi):
                    self._drop_items(a)
                    return False
                self._item_double(number)
            self._end_row(True)
            return True
        return False

    cpdef add_object(self, object value):
        """A Python value, as fastdcm.values gives it (a list of one for a single value
        in a list column)."""
        cdef bint multi = self.multi
        if value is None:
            self.add_none()
            return
        if multi and type(value) is not list:
            value = [value]
        if self.kind != KIND_OBJECT:
            start = self.items
            for item in (value if multi else (value,)):
                if not self._item_object(item):
                    self._drop_items(start)
                    break
            else:
                self._end_row(True)
                return
        self.objects[self.count] = value
        self.add_none()

    def truncate(self, Py_ssize_t count):
        """Drop the rows from `count` on (those of a file that turned out to be in error),
        and the items of a row left unfinished by an error."""
        count = min(count, self.count)
        self._drop_items((<int32_t*>self.rows.data)[count] if self.multi else count)
        self.count = count
        self.valid.size = count
        self.rows.size = (count + 1) * sizeof(int32_t)
        for row in [row for row in self.objects if row >= count]:
            del self.objects[row]

    def last(self):
        """The value of the last row, as a Python value."""
        return self._value(self.count - 1)

    def replace_last(self, object value):
        self.truncate(self.count - 1)
        self.add_object(value)

    # -- the Arrow array -----------------------------------------------------------------

    def array(self):
        """The column as an Arrow array of its type."""
        if self.objects or self.kind == KIND_OBJECT:
            return to_array([self._value(row) for row in range(self.count)],
                            self.arrow_type)
        validity = self._validity()
        items = self._items_array(self.arrow_type.value_type if self.multi
                                  else self.arrow_type, None if self.multi else validity)
        if not self.multi:
            return items
        return pa.Array.from_buffers(self.arrow_type, self.count,
                                     [validity, _buffer(&self.rows)], children=[items])

    cdef object _items_array(self, object arrow_type, object validity):
        if self.kind == KIND_STR:
            return pa.Array.from_buffers(arrow_type, self.items,
                                         [validity, _buffer(&self.offsets),
                                          _buffer(&self.values)])
        return pa.Array.from_buffers(arrow_type, self.items, [validity, _buffer(&self.values)])

    cdef object _validity(self):
        """The validity bitmap, None when no row is null."""
        cdef Py_ssize_t row, nulls = 0
        cdef const uint8_t* valid = <const uint8_t*>self.valid.data
        cdef bytearray bits = bytearray((self.count + 7) // 8)
        cdef unsigned char* out = bits
        for row in range(self.count):
            if valid[row]:
                out[row >> 3] |= 1 << (row & 7)
            else:
                nulls += 1
        return pa.py_buffer(bits) if nulls else None

    # -- rows and items ------------------------------------------------------------------

    cdef object _value(self, Py_ssize_t row):
        cdef Py_ssize_t first, last, item
        if row in self.objects:
            return self.objects[row]
        if not (<const uint8_t*>self.valid.data)[row]:
            return None
        if not self.multi:
            return self._item(row)
        first = (<int32_t*>self.rows.data)[row]
        last = (<int32_t*>self.rows.data)[row + 1]
        return [self._item(item) for item in range(first, last)]

    cdef object _item(self, Py_ssize_t item):
        cdef int32_t* offsets = <int32_t*>self.offsets.data
        if self.kind == KIND_STR:
            return PyUnicode_DecodeUTF8(self.values.data + offsets[item],
                                        offsets[item + 1] - offsets[item], NULL)
        if self.kind == KIND_INT:
            return (<int64_t*>self.values.data)[item]
        return (<double*>self.values.data)[item]

    cdef bint _item_object(self, object item) except -1:
        """Add a Python item that this column holds as it is; False for any other."""
        cdef const char* text
        cdef Py_ssize_t size
        if self.kind == KIND_STR and type(item) is str:
            text = PyUnicode_AsUTF8AndSize(item, &size)  # fails for lone surrogates
            if text == NULL:
                PyErr_Clear()
                return False
            self._item_text(<const unsigned char*>text, size)
            return True
        if self.kind == KIND_INT and type(item) is int and INT64_MIN <= item <= INT64_MAX:
            self._item_int(item)
            return True
        if self.kind == KIND_FLOAT and type(item) is float:
            self._item_double(item)
            return True
        return False

    cdef int _start_row(self) except -1:
        """The offsets' first entries: the offset of item 0, of row 0."""
        _grow(&self.offsets, sizeof(int32_t))
        (<int32_t*>self.offsets.data)[0] = 0
        self.offsets.size = sizeof(int32_t)
        _grow(&self.rows, sizeof(int32_t))
        (<int32_t*>self.rows.data)[0] = 0
        self.rows.size = sizeof(int32_t)
        return 0

    cdef int _end_row(self, bint valid) except -1:
        _grow(&self.valid, 1)
        (<uint8_t*>self.valid.data)[self.count] = valid
        self.valid.size += 1
        self.count += 1
        if self.multi:
            if self.items > INT32_MAX:
                raise OverflowError("too many list items for one chunk's column")
            _grow(&self.rows, sizeof(int32_t))
            (<int32_t*>self.rows.data)[self.count] = <int32_t>self.items
            self.rows.size += sizeof(int32_t)
        return 0

    cdef int _item_placeholder(self) except -1:
        """The item under a null row of a column that is not a list."""
        if self.kind == KIND_STR:
            return self._item_text(NULL, 0)
        if self.kind == KIND_INT:
            return self._item_int(0)
        if self.kind == KIND_FLOAT:
            return self._item_double(0)
        return 0

    cdef int _item_text(self, const unsigned char* p, Py_ssize_t n) except -1:
        if self.values.size + n > INT32_MAX:
            raise OverflowError("too much text for one chunk's column")
        _grow(&self.values, n)
        if n:
            memcpy(self.values.data + self.values.size, p, n)
        self.values.size += n
        _grow(&self.offsets, sizeof(int32_t))
        self.items += 1
        (<int32_t*>self.offsets.data)[self.items] = <int32_t>self.values.size
        self.offsets.size += sizeof(int32_t)
        return 0

    cdef int _item_int(self, int64_t value) except -1:
        return self._item_number(&value)

    cdef int _item_double(self, double value) except -1:
        return self._item_number(&value)

    cdef int _item_number(self, const void* value) except -1:
        """An int64 or float64 item: 8 bytes either way."""
        _grow(&self.values, 8)
        memcpy(self.values.data + self.values.size, value, 8)
        self.values.size += 8
        self.items += 1
        return 0

    cdef void _drop_items(self, Py_ssize_t items) noexcept:
        """Keep only the first `items` items."""
        self.items = items
        if self.kind == KIND_STR:
            self.offsets.size = (items + 1) * sizeof(int32_t)
            self.values.size = (<int32_t*>self.offsets.data)[items]
        else:
            self.values.size = items * 8


cdef int _grow(Buffer* buffer, Py_ssize_t more) except -1:
    """Room for `more` bytes past those used."""
    cdef Py_ssize_t wanted = buffer.size + more, capacity = buffer.capacity
    cdef char* data
    if wanted <= capacity:
        return 0
    capacity = max(wanted, 2 * capacity, 256)
    data = <char*>realloc(buffer.data, capacity)
    if data == NULL:
        raise MemoryError()
    buffer.data, buffer.capacity = data, capacity
    return 0


cdef object _buffer(Buffer* buffer):
    return pa.py_buffer(PyBytes_FromStringAndSize(buffer.data, buffer.size))
