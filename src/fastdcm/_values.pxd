from libc.stdint cimport uint16_t

# The value of the commonest explicit-VR elements straight from their bytes; *ok is set to
# False (and None returned) for anything the Python converters must handle.
cdef object decode_common(uint16_t vr, const unsigned char* p, Py_ssize_t n, bint little,
                          bint* ok)
