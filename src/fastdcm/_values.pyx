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


def decode_US(Bytes raw, bint little_endian, encodings=None):
    """Unsigned 16-bit integers."""
    cdef Py_ssize_t n = _count(raw, 2, "US"), i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p = &raw[0]
    if n == 1:
        return _u16(p, swap)
    return [_u16(p + 2 * i, swap) for i in range(n)]


def decode_SS(Bytes raw, bint little_endian, encodings=None):
    """Signed 16-bit integers."""
    cdef Py_ssize_t n = _count(raw, 2, "SS"), i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p = &raw[0]
    if n == 1:
        return <int16_t>_u16(p, swap)
    return [<int16_t>_u16(p + 2 * i, swap) for i in range(n)]


def decode_UL(Bytes raw, bint little_endian, encodings=None):
    """Unsigned 32-bit integers."""
    cdef Py_ssize_t n = _count(raw, 4, "UL"), i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p = &raw[0]
    if n == 1:
        return _u32(p, swap)
    return [_u32(p + 4 * i, swap) for i in range(n)]


def decode_SL(Bytes raw, bint little_endian, encodings=None):
    """Signed 32-bit integers."""
    cdef Py_ssize_t n = _count(raw, 4, "SL"), i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p = &raw[0]
    if n == 1:
        return <int32_t>_u32(p, swap)
    return [<int32_t>_u32(p + 4 * i, swap) for i in range(n)]


def decode_UV(Bytes raw, bint little_endian, encodings=None):
    """Unsigned 64-bit integers."""
    cdef Py_ssize_t n = _count(raw, 8, "UV"), i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p = &raw[0]
    if n == 1:
        return _u64(p, swap)
    return [_u64(p + 8 * i, swap) for i in range(n)]


def decode_SV(Bytes raw, bint little_endian, encodings=None):
    """Signed 64-bit integers."""
    cdef Py_ssize_t n = _count(raw, 8, "SV"), i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p = &raw[0]
    if n == 1:
        return <int64_t>_u64(p, swap)
    return [<int64_t>_u64(p + 8 * i, swap) for i in range(n)]


def decode_FL(Bytes raw, bint little_endian, encodings=None):
    """IEEE 754 single-precision floats, widened exactly to Python floats."""
    cdef Py_ssize_t n = _count(raw, 4, "FL"), i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p = &raw[0]
    if n == 1:
        return <double>_f32(p, swap)
    return [<double>_f32(p + 4 * i, swap) for i in range(n)]


def decode_FD(Bytes raw, bint little_endian, encodings=None):
    """IEEE 754 double-precision floats."""
    cdef Py_ssize_t n = _count(raw, 8, "FD"), i
    cdef bint swap = little_endian != HOST_LITTLE
    cdef const unsigned char *p = &raw[0]
    if n == 1:
        return _f64(p, swap)
    return [_f64(p + 8 * i, swap) for i in range(n)]


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
