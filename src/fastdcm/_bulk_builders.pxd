from libc.stdint cimport int64_t, uint16_t

cdef struct Buffer:
    char* data
    Py_ssize_t size      # bytes used
    Py_ssize_t capacity  # bytes allocated

cdef enum:  # ColumnBuilder.kind
    KIND_STR, KIND_INT, KIND_FLOAT, KIND_OBJECT


cdef class ColumnBuilder:
    cdef readonly object arrow_type
    cdef int kind
    cdef bint multi
    cdef Py_ssize_t count   # rows
    cdef Py_ssize_t items   # items: one per row, or those of every list
    cdef Buffer valid       # a byte per row: 1 for a value, 0 for null
    cdef Buffer values      # the items: UTF-8 text, int64 or float64
    cdef Buffer offsets     # int32 per text item, and one past the last
    cdef Buffer rows        # int32 per row of a list column: its first item, and one more
    cdef dict objects       # row -> the Python value of a row the C buffers do not hold

    cdef int add_none(self) except -1
    cdef bint add_plain(self, uint16_t vr, const unsigned char* p, Py_ssize_t n,
                        bint little) except -1
    cpdef add_object(self, object value)
    cdef object _items_array(self, object arrow_type, object validity)
    cdef object _validity(self)
    cdef object _value(self, Py_ssize_t row)
    cdef object _item(self, Py_ssize_t item)
    cdef bint _item_object(self, object item) except -1
    cdef int _start_row(self) except -1
    cdef int _end_row(self, bint valid) except -1
    cdef int _item_placeholder(self) except -1
    cdef int _item_text(self, const unsigned char* p, Py_ssize_t n) except -1
    cdef int _item_int(self, int64_t value) except -1
    cdef int _item_double(self, double value) except -1
    cdef int _item_number(self, const void* value) except -1
    cdef void _drop_items(self, Py_ssize_t items) noexcept
