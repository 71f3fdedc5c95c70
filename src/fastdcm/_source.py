"""Holding the bytes of a source: a prefix for header reads, a map or a read for whole files.

The cheapest way to read depends on how much of a file the caller needs (see
shared/PERF-FACTS.md): a header-only read of a CT slice touches a few KB, where one ``read``
costs a third of ``mmap`` + page faults; a whole large file, or one frame of a multi-frame
file, is better mapped so nothing is copied and untouched pages are never read.
"""
from __future__ import annotations

import mmap
import os
from typing import BinaryIO, Optional, Union

from fastdcm.errors import InvalidDicomError

SourceLike = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]

# First read of a header-only scan: enough for the header of a typical CT or MR slice.
HEADER_PREFIX = 16 * 1024
# Whole files up to this size are read rather than mapped: one read beats mmap + faults.
READ_WHOLE_LIMIT = 256 * 1024


class Source:
    """The bytes of one source, as a memoryview, and whatever keeps them alive.

    ``complete`` is False while only a prefix of a file is held; ``load_all`` then replaces
    it with the whole file. ``close`` unmaps when nothing else uses the map; arrays and
    memoryviews handed out keep it mapped (Python's mmap refuses to close while exported
    buffers exist), so closing never invalidates memory that a caller still holds.
    """

    __slots__ = ("view", "complete", "path", "_mmap", "closed")

    def __init__(self, view: memoryview, complete: bool, path: Optional[str] = None,
                 mapping: Optional[mmap.mmap] = None):
        self.view = view
        self.complete = complete
        self.path = path
        self._mmap = mapping
        self.closed = False

    def load_all(self) -> None:
        """Replace a prefix with the whole file (mapped when large)."""
        if self.complete or self.path is None:
            return
        whole = _open_path(self.path, header_only=False)
        self.view, self.complete, self._mmap = whole.view, True, whole._mmap

    def close(self) -> None:
        self.closed = True
        if self._mmap is not None:
            self.view.release()
            try:
                self._mmap.close()
            except BufferError:
                pass  # arrays or views still point into the map: it stays until they go
            self._mmap = None


def open_source(source: SourceLike, header_only: bool) -> Source:
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        return Source(view, True)
    if isinstance(source, (str, os.PathLike)):
        return _open_path(os.fspath(source), header_only)
    read = getattr(source, "read", None)
    if read is None:
        raise TypeError(f"cannot read DICOM from {type(source).__name__}")
    data = read()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("the file object must be opened in binary mode")
    return Source(memoryview(data), True)


def _open_path(path: str, header_only: bool) -> Source:
    fd = os.open(path, os.O_RDONLY)
    try:
        if header_only:
            data = os.read(fd, HEADER_PREFIX)
            return Source(memoryview(data), len(data) < HEADER_PREFIX, path)
        size = os.fstat(fd).st_size
        if size <= READ_WHOLE_LIMIT:
            return Source(memoryview(os.read(fd, size)), True, path)
        try:
            mapping = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise InvalidDicomError(f"cannot map {path}: {exc}") from exc
        return Source(memoryview(mapping), True, path, mapping)
    finally:
        os.close(fd)
