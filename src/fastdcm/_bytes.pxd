# Reading DICOM's fixed-size integers from a byte pointer, in either byte order: shared by
# every Cython module that reads element headers. Callers check the bytes are there first.
from libc.stdint cimport uint8_t, uint16_t, uint32_t


cdef inline uint16_t u16(const uint8_t* p, bint little) noexcept nogil:
    if little:
        return p[0] | (<uint16_t>p[1] << 8)
    return (<uint16_t>p[0] << 8) | p[1]


cdef inline uint32_t u32(const uint8_t* p, bint little) noexcept nogil:
    if little:
        return p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef inline uint32_t read_tag(const uint8_t* p, bint little) noexcept nogil:
    return (<uint32_t>u16(p, little) << 16) | u16(p + 2, little)
