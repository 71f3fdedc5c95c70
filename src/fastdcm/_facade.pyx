# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The C half of Dataset (as h5py splits a low-level Cython layer from its Python classes).

Reading a few values per file is the indexers' whole job, and there a Python
``__getattr__`` per value costs more than the scan of the file. ``DatasetCore`` keeps the
state of a data set level in C fields and answers ``ds.Keyword`` in C: the keyword's tag,
the row in the scanner's table, and for the commonest VRs the value itself. Everything
else — VR rules, character sets, errors — goes through ``Dataset._keyword_value`` in
dataset.py, so there is one place for each pydicom rule.
"""
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject, PyObject_GenericGetAttr
from libc.stdint cimport uint32_t

from fastdcm._scanner cimport VR_SQ, ElementRecord, ElementTable
from fastdcm._values cimport decode_common

from fastdcm import dictionary
from fastdcm._scanner import MAX_DEPTH, scan_sequence
from fastdcm.errors import InvalidDicomError

cdef dict KEYWORD_TAGS = dictionary.keyword_tags()
cdef int IMPLICIT_FLAGS = 1 | 8  # FLAG_IMPLICIT | FLAG_CONTENT_IMPLICIT


cdef class DatasetCore:
    """State of one data set level; ``ds.Keyword`` resolved without entering Python code."""

    cdef public object _source          # fastdcm._source.Source
    cdef public ElementTable _table
    cdef public dict _values             # converted values by value offset
    cdef public bint is_little_endian
    cdef public bint is_implicit_vr
    cdef public object _parent
    cdef public int _depth
    cdef public object _encodings
    cdef public object _meta
    cdef public object _transfer_syntax
    cdef public object _pixels           # fastdcm.pixels.api's state, made on first use
    cdef object __weakref__

    def __init__(self, source, ElementTable table, bint little_endian, bint implicit_vr,
                 parent=None, meta=None, transfer_syntax=""):
        self._source = source
        self._table = table
        self._values = {}
        self.is_little_endian = little_endian
        self.is_implicit_vr = implicit_vr
        self._parent = parent
        self._depth = 0 if parent is None else (<DatasetCore>parent)._depth + 1
        self._encodings = None
        self._meta = meta
        self._transfer_syntax = transfer_syntax

    def __getattribute__(self, name):
        cdef PyObject* found = PyDict_GetItem(KEYWORD_TAGS, name)
        if found == NULL:
            return PyObject_GenericGetAttr(self, name)
        cdef uint32_t tag = <uint32_t><object>found
        cdef ElementRecord* record = self._table.record_for(tag)
        if record == NULL:
            raise AttributeError(f"Dataset has no element {name!r}")
        found = PyDict_GetItem(self._values, record.offset)
        if found != NULL:
            return <object>found
        if self._source.closed:
            raise ValueError("the dataset is closed")
        if record.vr == VR_SQ:
            value = self.sequence_at(record.offset, record.end, record.tag,
                                     self.is_implicit_vr or (record.flags & IMPLICIT_FLAGS) != 0)
        else:
            value = self.common_value(record)
            if value is self:  # not a common case: the Python rules decide
                return type(self)._keyword_value(self, name, tag)
        self._values[record.offset] = value
        return value

    cdef object common_value(self, ElementRecord* record):
        """The value when decode_common handles it, else self as a marker."""
        cdef Py_buffer view
        cdef bint ok = False
        if record.vr == 0:
            return self
        PyObject_GetBuffer(self._source.view, &view, PyBUF_SIMPLE)
        try:
            if record.end > view.len:
                return self
            value = decode_common(record.vr, <const unsigned char*>view.buf + record.offset,
                                  record.end - record.offset, self.is_little_endian, &ok)
        finally:
            PyBuffer_Release(&view)
        return value if ok else self

    def sequence_at(self, Py_ssize_t offset, Py_ssize_t end, uint32_t tag, bint implicit):
        """The items of the sequence value at source[offset:end], each a data set of our type."""
        cdef DatasetCore item
        if self._depth + 1 >= MAX_DEPTH:
            raise InvalidDicomError("sequences nested too deeply", offset, tag)
        cls = type(self)
        items = cls.sequence_type()
        for table, item_implicit in scan_sequence(self._source.view_to(end), offset, end,
                                                  self.is_little_endian, implicit):
            item = cls.__new__(cls)
            item._source = self._source
            item._table = table
            item._values = {}
            item.is_little_endian = self.is_little_endian
            item.is_implicit_vr = item_implicit
            item._parent = self
            item._depth = self._depth + 1
            item._encodings = None
            item._transfer_syntax = ""
            items.append(item)
        return items
