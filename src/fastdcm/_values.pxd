from libc.stdint cimport uint16_t

cdef enum:
    VR_AS = 0x5341   # first byte in the low half, as the scanner stores VRs
    VR_CS = 0x5343
    VR_DA = 0x4144
    VR_DS = 0x5344
    VR_DT = 0x5444
    VR_IS = 0x5349
    VR_LO = 0x4F4C
    VR_PN = 0x4E50
    VR_SH = 0x4853
    VR_TM = 0x4D54
    VR_UI = 0x4955
    VR_US = 0x5355
    BACKSLASH = 0x5C

cdef enum:  # what text_extent finds
    NOT_TEXT, TEXT, TEXTS

# The value of the commonest explicit-VR elements straight from their bytes; *ok is set to
# False (and None returned) for anything the Python converters must handle.
cdef object decode_common(uint16_t vr, const unsigned char* p, Py_ssize_t n, bint little,
                          bint* ok)
# The same rules, for callers that keep the values in C (the bulk indexer's columns).
cdef int text_extent(uint16_t vr, const unsigned char* p, Py_ssize_t n, Py_ssize_t* start,
                     Py_ssize_t* end) noexcept
cdef bint integer_value(uint16_t vr, const unsigned char* p, Py_ssize_t n, bint little,
                        long long* out) noexcept
cdef int decimal_part(const unsigned char* p, Py_ssize_t n, Py_ssize_t* i,
                      double* out) except -2
