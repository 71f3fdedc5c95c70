# cython: boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Binary number decoders for the fixed-size VRs (US SS UL SL SV UV FL FD AT).

These sit on the hot path of reading a handful of header values per file, so each one is a
C loop over the value's bytes: the item count is ``len(raw) // itemsize``, which keeps every
read inside the buffer by construction (no per-item bounds checks needed), and loads go
through ``memcpy`` so unaligned values in a mapped file are fine on every CPU.

Every decoder takes ``(raw, little_endian, encodings)`` so that ``values.py`` can dispatch to
it straight from its VR table without a Python wrapper; ``encodings`` is ignored. A value of
one item comes back as a Python scalar and several as a list, as pydicom does.
"""
from libc.stdint cimport int16_t, int32_t, int64_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

from fastdcm.errors import InvalidDicomError

cdef extern from *:
    """
    /* Byte-order helpers: shifts that compilers turn into a single bswap instruction. */
    static inline uint16_t fdcm_swap16(uint16_t v) { return (uint16_t)((v >> 8) | (v << 8)); }
    static inline uint32_t fdcm_swap32(uint32_t v) {
        return ((v & 0x000000FFu) << 24) | ((v & 0x0000FF00u) << 8) |
               ((v & 0x00FF0000u) >> 8)  | ((v & 0xFF000000u) >> 24);
    }
    static inline uint64_t fdcm_swap64(uint64_t v) {
        return ((uint64_t)fdcm_swap32((uint32_t)v) << 32) | fdcm_swap32((uint32_t)(v >> 32));
    }
    static inline int fdcm_host_is_little(void) {
        const uint16_t one = 1;
        return *(const unsigned char *)&one;
    }
    """
    uint16_t fdcm_swap16(uint16_t v) nogil
    uint32_t fdcm_swap32(uint32_t v) nogil
    uint64_t fdcm_swap64(uint64_t v) nogil
    bint fdcm_host_is_little() nogil

cdef bint HOST_LITTLE = fdcm_host_is_little()

ctypedef const unsigned char[::1] Bytes


cdef inline uint16_t _u16(const unsigned char *p, bint swap) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return fdcm_swap16(v) if swap else v


cdef inline uint32_t _u32(const unsigned char *p, bint swap) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return fdcm_swap32(v) if swap else v


cdef inline uint64_t _u64(const unsigned char *p, bint swap) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)
    return fdcm_swap64(v) if swap else v


cdef inline float _f32(const unsigned char *p, bint swap) noexcept nogil:
    cdef uint32_t bits = _u32(p, swap)
    cdef float v
    memcpy(&v, &bits, 4)
    return v


cdef inline double _f64(const unsigned char *p, bint swap) noexcept nogil:
    cdef uint64_t bits = _u64(p, swap)
    cdef double v
    memcpy(&v, &bits, 8)
    return v


cdef Py_ssize_t _count(Bytes raw, Py_ssize_t size, str vr) except -1:
    """Number of items in ``raw``; a length that is not a whole number of items is malformed
    (pydicom raises BytesLengthException for it), so say so instead of guessing."""
    cdef Py_ssize_t n = raw.shape[0]
    if n % size:
        raise InvalidDicomError(
            f"value of VR {vr} has length {n}, not a multiple of its item size {size}")
    return n // size


cdef enum NumberKind:
    KIND_US, KIND_SS, KIND_UL, KIND_SL, KIND_UV, KIND_SV, KIND_FL, KIND_FD


cdef inline object _number(const unsigned char *p, NumberKind kind, bint swap):
    if kind == KIND_US:
        return _u16(p, swap)
    if kind == KIND_SS:
        return <int16_t>_u16(p, swap)
    if kind == KIND_UL:
        return _u32(p, swap)
    if kind == KIND_SL:
        return <int32_t>_u32(p, swap)
    if kind == KIND_UV:
        return _u64(p, swap)
    if kind == KIND_SV:
        return <int64_t>_u64(p, swap)
    if kind == KIND_FL:
        return <double>_f32(p, swap)
    return _f64(p, swap)


cdef object _numbers(Bytes raw, bint little_endian, NumberKind kind, Py_ssize_t size, str vr):
    """One item as a scalar, several as a list (pydicom's shape for binary numbers)."""
    cdef Py_ssize_t n = _count(raw, size, vr), i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p = &raw[0]
    if n == 1:
        return _number(p, kind, swap)
    return [_number(p + size * i, kind, swap) for i in range(n)]


def decode_US(Bytes raw, bint little_endian, encodings=None):
    """Unsigned 16-bit integers."""
    return _numbers(raw, little_endian, KIND_US, 2, "US")


def decode_SS(Bytes raw, bint little_endian, encodings=None):
    """Signed 16-bit integers."""
    return _numbers(raw, little_endian, KIND_SS, 2, "SS")


def decode_UL(Bytes raw, bint little_endian, encodings=None):
    """Unsigned 32-bit integers."""
    return _numbers(raw, little_endian, KIND_UL, 4, "UL")


def decode_SL(Bytes raw, bint little_endian, encodings=None):
    """Signed 32-bit integers."""
    return _numbers(raw, little_endian, KIND_SL, 4, "SL")


def decode_UV(Bytes raw, bint little_endian, encodings=None):
    """Unsigned 64-bit integers."""
    return _numbers(raw, little_endian, KIND_UV, 8, "UV")


def decode_SV(Bytes raw, bint little_endian, encodings=None):
    """Signed 64-bit integers."""
    return _numbers(raw, little_endian, KIND_SV, 8, "SV")


def decode_FL(Bytes raw, bint little_endian, encodings=None):
    """IEEE 754 single-precision floats, widened exactly to Python floats."""
    return _numbers(raw, little_endian, KIND_FL, 4, "FL")


def decode_FD(Bytes raw, bint little_endian, encodings=None):
    """IEEE 754 double-precision floats."""
    return _numbers(raw, little_endian, KIND_FD, 8, "FD")


def decode_AT(Bytes raw, bint little_endian, encodings=None):
    """Attribute tags as ``0xGGGGEEEE`` ints (group then element, each 16-bit).

    As in pydicom, only a value of exactly 4 bytes is a scalar; any other length gives a
    list of the whole tags it holds, dropping a trailing partial one (so 6 bytes -> one-item
    list, 2 bytes -> empty list).
    """
    cdef Py_ssize_t n = raw.shape[0] // 4, i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p
    if n == 0:
        return []
    p = &raw[0]
    if raw.shape[0] == 4:
        return (<uint32_t>_u16(p, swap) << 16) | _u16(p + 2, swap)
    return [(<uint32_t>_u16(p + 4 * i, swap) << 16) | _u16(p + 4 * i + 2, swap)
            for i in range(n)]


# -- the commonest header values, straight from the buffer ---------------------------------
# Reading a handful of index values per file is dominated by per-value Python overhead, so
# the VRs that make up most index columns (UI, CS, DA, TM, DT, AS, ASCII SH/LO, US, IS, DS)
# are decoded here in one step when their bytes are plain. Anything unusual (a backslash
# outside the code strings, a non-ASCII byte, an escape, an empty or odd-sized value) is
# left to values.py, which knows every pydicom rule; these fast cases give exactly what it
# would give.

from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeLatin1

cdef extern from "Python.h":
    double PyOS_string_to_double(const char* s, char** endptr,
                                 PyObject* overflow_exception) except? -1.0

cdef inline bint _is_space(unsigned char c) noexcept nogil:
    """What str.strip() removes, among Latin-1 characters."""
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31 or c == 0x85 or c == 0xA0


cdef inline Py_ssize_t _unpadded(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    """Length without trailing spaces and NULs."""
    while n > 0 and (p[n - 1] == 32 or p[n - 1] == 0):
        n -= 1
    return n


cdef inline bint _has(const unsigned char* p, Py_ssize_t n, unsigned char c) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if p[i] == c:
            return True
    return False


cdef int decimal_part(const unsigned char* p, Py_ssize_t n, Py_ssize_t* i,
                     double* out) except -2:
    """The plain number ([sign]digits[.digits][e[sign]digits]) of the DS value part that
    starts at i[0], into out[0], i[0] moved past it and its backslash: 1 when a part
    follows, 0 for the last, -1 when the part is not a plain number."""
    cdef char text[40]
    cdef Py_ssize_t start = i[0], end, k
    cdef unsigned char c
    while i[0] < n and p[i[0]] != BACKSLASH:
        i[0] += 1
    end = i[0]
    while start < end and p[start] == 32:
        start += 1
    end = start + _unpadded(p + start, end - start)
    if end == start or end - start > 32:
        return -1
    for k in range(start, end):
        c = p[k]
        if not (48 <= c <= 57 or c == 46 or c == 43 or c == 45 or c == 101 or c == 69):
            return -1
        text[k - start] = <char>c
    text[end - start] = 0
    try:
        out[0] = PyOS_string_to_double(text, NULL, NULL)
    except ValueError:
        return -1
    if i[0] >= n:
        return 0
    i[0] += 1
    return 1


cdef object _decimal(const unsigned char* p, Py_ssize_t n, bint* ok):
    """DS made of plain numbers separated by backslash."""
    cdef Py_ssize_t i = 0
    cdef double number
    cdef int more = 1
    values = []
    while more:
        more = decimal_part(p, n, &i, &number)
        if more < 0:
            ok[0] = False
            return None
        values.append(number)
    return values[0] if len(values) == 1 else values


cdef bint integer_value(uint16_t vr, const unsigned char* p, Py_ssize_t n, bint little,
                        long long* out) noexcept:
    """A US of one value or an IS of one plain integer, into out[0]; False for any other."""
    if vr == VR_US and n == 2:
        out[0] = (p[0] | (p[1] << 8)) if little else ((p[0] << 8) | p[1])
        return True
    return vr == VR_IS and _plain_integer(p, n, out)


cdef bint _plain_integer(const unsigned char* p, Py_ssize_t n, long long* out) noexcept:
    """An IS of one plain integer of at most 15 digits, into out[0]; False for any other."""
    cdef Py_ssize_t a = 0, i
    cdef long long number = 0
    cdef bint negative = False
    n = _unpadded(p, n)
    while a < n and p[a] == 32:
        a += 1
    if a < n and (p[a] == 45 or p[a] == 43):
        negative = p[a] == 45
        a += 1
    if n - a < 1 or n - a > 15:
        return False
    for i in range(a, n):
        if not 48 <= p[i] <= 57:
            return False
        number = number * 10 + (p[i] - 48)
    out[0] = -number if negative else number
    return True


cdef int text_extent(uint16_t vr, const unsigned char* p, Py_ssize_t n, Py_ssize_t* start,
                     Py_ssize_t* end) noexcept:
    """Where the text of a value of a string VR lies, as values.py reads it: TEXT, TEXTS (a
    code string of several values: split it at its backslashes), or NOT_TEXT (another VR,
    or text that only values.py reads right)."""
    cdef Py_ssize_t a = 0, b, i
    if n <= 0:
        return NOT_TEXT
    if vr == VR_UI:
        b = _unpadded(p, n)
        if _has(p, b, BACKSLASH):
            return NOT_TEXT
        while a < b and _is_space(p[a]):
            a += 1
        while b > a and _is_space(p[b - 1]):
            b -= 1
        start[0], end[0] = a, b
        return TEXT
    if vr == VR_CS or vr == VR_DA or vr == VR_TM or vr == VR_DT or vr == VR_AS:
        # values.py's rule: Latin-1 text less trailing padding, several values split.
        start[0], end[0] = 0, _unpadded(p, n)
        return TEXTS if _has(p, n, BACKSLASH) else TEXT
    if vr == VR_SH or vr == VR_LO:
        for i in range(n):
            if p[i] >= 0x80 or p[i] == 0x1B or p[i] == BACKSLASH:
                return NOT_TEXT
        start[0], end[0] = 0, _unpadded(p, n)
        return TEXT
    return NOT_TEXT


cdef object decode_common(uint16_t vr, const unsigned char* p, Py_ssize_t n, bint little,
                          bint* ok):
    cdef Py_ssize_t a, b
    cdef long long number
    cdef int text = text_extent(vr, p, n, &a, &b)
    ok[0] = True
    if text != NOT_TEXT:
        value = PyUnicode_DecodeLatin1(<const char*>p + a, b - a, NULL)
        return value.split("\\") if text == TEXTS else value
    if n <= 0:
        ok[0] = False
        return None
    if integer_value(vr, p, n, little, &number):
        return number
    if vr == VR_DS:
        return _decimal(p, n, ok)
    ok[0] = False
    return None
