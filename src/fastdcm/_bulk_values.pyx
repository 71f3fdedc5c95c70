# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The values of the wanted tags of one data set, appended to the bulk indexer's columns,
and where its pixel element starts.

An indexer reads some fifty values per file, and the file itself costs about ten
microseconds: a Python call per value would cost more than the file. This loop finds each
tag in the scanner's table and writes the commonest explicit-VR values straight from the
source bytes into the column's Arrow buffers, by the rules of the C decoders that
``ds.Keyword`` uses (see _bulk_builders); every other case (implicit VR, person names
with groups, non-ASCII text, odd VRs) goes through ``Dataset.get_value``, so the values
are exactly those the facade gives.
"""
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.exc cimport PyErr_SetFromErrnoWithFilenameObject
from libc.stdint cimport int64_t, uint32_t
from posix.fcntl cimport O_CLOEXEC, O_NONBLOCK, O_RDONLY, open
from posix.stat cimport S_ISDIR, fstat, stat, struct_stat
from posix.unistd cimport close

import errno
import os

from fastdcm._bytes cimport read_tag, u32
from fastdcm._scanner cimport VR_SQ, ElementRecord, ElementTable
from fastdcm._bulk_builders cimport ColumnBuilder
from fastdcm._values cimport VR_LO, VR_PN, decode_common

from fastdcm.errors import InvalidDicomError
from fastdcm.values import convert_value

cdef uint32_t UNDEFINED_LENGTH = 0xFFFFFFFFu
# What pixel_header answers when only a full read can tell.
UNKNOWN = (0, 0, 0, UNDEFINED_LENGTH)
# The empty value of each VR that converts without looking at its data set (every VR but
# SQ, UN and the ambiguous ones), as fastdcm.values gives it: many indexed tags are
# present and empty (Accession Number, Patient's Birth Date...).
cdef dict EMPTY_VALUES = {
    ord(vr[0]) | (ord(vr[1]) << 8): convert_value(vr, b"", True, [])
    for vr in "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SS ST SV TM "
              "UC UI UL UR US UT UV".split()}
# VRs whose values convert without the character set (the default repertoire, numbers):
# what the C decoders leave of these (several code strings, say) goes straight to
# convert_value, without the data set's lookup and charset resolution.
cdef dict PLAIN_VRS = {
    ord(vr[0]) | (ord(vr[1]) << 8): vr
    for vr in "AE AS AT CS DA DS DT FD FL IS SL SS SV TM UI UL UR US UV".split()}


def append_values(object ds, tuple tags, list columns):
    """Add the value of ``tags[i]`` (null when absent) to ``columns[i]`` for every i.

    A value that does not convert is null; the message of the first such failure is
    returned (None when every value converted), so one bad value costs one cell, not the
    row.
    """
    cdef ElementTable table = ds._table
    cdef ElementRecord* record
    cdef ColumnBuilder column
    cdef Py_buffer view
    cdef const unsigned char* p
    cdef Py_ssize_t i, n, count = len(tags)
    cdef bint little = ds.is_little_endian
    cdef bint ok
    cdef object value
    cdef object first_error = None
    cdef object vr
    cdef object source = ds._source.view
    if len(columns) != count:
        raise ValueError("one column per tag is needed")
    PyObject_GetBuffer(source, &view, PyBUF_SIMPLE)
    try:
        for i in range(count):
            column = columns[i]
            record = table.record_for(<uint32_t>tags[i])
            if record == NULL:
                column.add_none()
                continue
            p = <const unsigned char*>view.buf + record.offset
            n = record.end - record.offset
            if n == 0 and record.vr in EMPTY_VALUES:
                column.add_object(EMPTY_VALUES[record.vr])
                continue
            ok = False
            if record.vr != 0 and record.vr != VR_SQ and record.end <= view.len:
                # A person name in ASCII without component groups ("=") reads as LO does:
                # the text without trailing padding, in any DICOM character set.
                vr = VR_LO if record.vr == VR_PN and not _has_groups(p, n) else record.vr
                if column.add_plain(vr, p, n, little):
                    continue
                value = decode_common(vr, p, n, little, &ok)
            if not ok:
                vr = PLAIN_VRS.get(record.vr) if record.end <= view.len else None
                try:
                    if vr is None:
                        value = ds.get_value(tags[i])
                    else:
                        try:
                            value = convert_value(vr, source[record.offset:record.end],
                                                  little, ())
                        except InvalidDicomError:
                            value = ds.get_value(tags[i])  # raises it with its place
                except InvalidDicomError as exc:
                    value = None
                    if first_error is None:
                        first_error = str(exc)
            column.add_object(value)
    finally:
        PyBuffer_Release(&view)
    return first_error


cdef inline bint _has_groups(const unsigned char* p, Py_ssize_t n) noexcept:
    """Whether a PN value has an "=" (component groups: fastdcm.values splits them)."""
    cdef Py_ssize_t i
    for i in range(n):
        if p[i] == 61:
            return True
    return False


def pixel_header(object ds):
    """(tag, header offset, value offset, length) of the pixel element at which a header
    read stopped (Pixel Data, Float or Double Float Pixel Data), None when there is none,
    UNKNOWN when the prefix ends inside its header, its VR is not one with a 4-byte length,
    or no element comes before it to start from.

    The header is read here rather than by the scanner because the scanner stops at the
    tag without reading on: its 8 or 12 bytes are all a locator needs.
    """
    cdef ElementTable table = ds._table
    cdef ElementRecord* last
    cdef Py_buffer view
    cdef const unsigned char* p
    cdef Py_ssize_t pos, left
    cdef bint little = ds.is_little_endian
    cdef uint32_t tag, length
    cdef int header
    if table.count == 0:
        return UNKNOWN
    last = &table.records[table.count - 1]
    pos = last.end + 8 if last.length == UNDEFINED_LENGTH else last.end  # past a delimiter
    source = ds._source
    PyObject_GetBuffer(source.view, &view, PyBUF_SIMPLE)
    try:
        left = view.len - pos
        if left < 8:
            return None if source.complete and left <= 0 else UNKNOWN
        p = <const unsigned char*>view.buf + pos
        tag = read_tag(p, little)
        if tag != 0x7FE00010u and tag != 0x7FE00008u and tag != 0x7FE00009u:
            return None
        if ds.is_implicit_vr:
            header, length = 8, u32(p + 4, little)
        elif left >= 12 and (p[4], p[5]) in LONG_HEADER_VRS:
            header, length = 12, u32(p + 8, little)
        else:
            return UNKNOWN
        return tag, pos, pos + header, length
    finally:
        PyBuffer_Release(&view)


# Explicit VRs a pixel element may have, all with the 12-byte header (4-byte length).
LONG_HEADER_VRS = frozenset((ord(vr[0]), ord(vr[1])) for vr in ("OB", "OW", "OF", "OD", "OL",
                                                                "OV", "UN"))


def file_version(object path):
    """(size in bytes, mtime in microseconds since 1970) of the file at `path`: what tells
    a changed file. The same numbers as ``os.stat`` gives, without making its result
    object, which costs as much as the system call.

    A folder reaches here only when it could not be listed (see _bulk_run._walk): its
    row's error is then why, so that no folder of an archive drops out of its index
    unnoticed."""
    cdef struct_stat st
    cdef bytes name = os.fsencode(path)
    cdef const char* c_name = name
    cdef int failed
    with nogil:
        failed = stat(c_name, &st)
    if failed:
        PyErr_SetFromErrnoWithFilenameObject(OSError, path)
        return None  # not reached: the error is raised
    return _version(&st, path)


def open_version(object path):
    """(descriptor, size, mtime) of the file at `path`, opened for reading: its version
    as ``file_version`` gives it, from the file that is read (one walk of its path, not
    two: a tenth of what indexing a CT slice costs). Opened without blocking, so that a
    FIFO put where a file was ends in an error, not a wait for a writer."""
    cdef struct_stat st
    cdef bytes name = os.fsencode(path)
    cdef const char* c_name = name
    cdef int fd, failed = 0
    with nogil:
        fd = open(c_name, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd >= 0:
            failed = fstat(fd, &st)
    if fd < 0 or failed:
        PyErr_SetFromErrnoWithFilenameObject(OSError, path)
        if fd >= 0:
            close(fd)
        return None  # not reached: the error is raised
    try:
        return (fd,) + _version(&st, path)
    except BaseException:
        close(fd)
        raise


cdef tuple _version(struct_stat* st, object path):
    """(size, mtime) from a stat; an error for a folder (why it could not be listed)."""
    if S_ISDIR(st.st_mode):
        os.scandir(path).close()  # raises what stopped the listing, if it still does
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    return (<int64_t>st.st_size,
            <int64_t>st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec // 1000)
