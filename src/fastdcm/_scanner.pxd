# The element record the scanner writes and the facade reads: one per data element header.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int64_t

cdef struct ElementRecord:
    uint32_t tag
    uint16_t vr          # the two VR bytes as written (first byte low); 0 when implicit
    uint16_t flags       # FLAG_* below
    uint32_t length      # as written; 0xFFFFFFFF for undefined length
    uint32_t header      # header size in bytes (8 or 12)
    int64_t offset       # value start in the source
    int64_t end          # value end (exclusive); for undefined length, where the delimiter starts


# ElementRecord.vr of a sequence ("SQ", first byte low).
cdef enum:
    VR_SQ = 0x5153


cdef struct TagRow:
    uint32_t tag
    Py_ssize_t row


cdef class ElementTable:
    cdef ElementRecord* records
    cdef Py_ssize_t count
    cdef Py_ssize_t capacity
    cdef bint unordered      # some tag is smaller than the one before it
    cdef TagRow* index       # rows sorted by tag, made on the first lookup when unordered
    cdef Py_ssize_t _find(self, uint32_t tag) noexcept
    cdef ElementRecord* record_for(self, uint32_t tag) noexcept
    cdef int append(self, ElementRecord* rec) noexcept nogil
    cdef tuple _row(self, Py_ssize_t i)
