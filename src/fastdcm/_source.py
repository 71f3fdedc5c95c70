"""Holding the bytes of a source: a prefix for header reads, a map or a read for whole files.

The cheapest way to read depends on how much of a file the caller needs (see
shared/PERF-FACTS.md): a header-only read of a CT slice touches a few KB, where one ``read``
costs a third of ``mmap`` + page faults; a whole large file, or one frame of a multi-frame
file, is better mapped so nothing is copied and untouched pages are never read.

A whole read of a large file starts as a prefix too (a ``Source`` with its ``size``): when
the last element (Pixel Data, in most files) runs from the prefix to the end of the file,
the scan is complete without it, and the file's map (made while it is open) is touched
only when a value past the prefix is wanted. Mapping a file and faulting in its first page
costs ~10 us here, a positioned read of its header ~1 us: ``read(path).frame(250)`` went
from 31 to 20 us with this alone.
"""
from __future__ import annotations

import mmap
import os
from typing import BinaryIO, Optional, Union

from fastdcm.errors import InvalidDicomError

SourceLike = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]

# A header-only read starts with the size the previous one needed (files in a batch are
# alike), between these bounds; a prefix that falls short grows by doubling up to
# MAX_PREFIX, past which the whole file is mapped.
MIN_PREFIX = 4 * 1024
MAX_FIRST_PREFIX = 64 * 1024
MAX_PREFIX = 1024 * 1024
_first_prefix = 16 * 1024
# Whole files up to this size are read rather than mapped: one read beats mmap + faults.
READ_WHOLE_LIMIT = 256 * 1024
# Whether a whole read of a larger file starts from a prefix: while the last one could
# have completed from one (see remember_whole_read).
_prefix_first = True
# The longest element header (explicit VR with a 4-byte length).
LONGEST_HEADER = 12


def remember_header_size(needed: int) -> None:
    """Size the next header-only read after what this one used, with a little margin."""
    global _first_prefix
    _first_prefix = min(max((needed + 2048 + 4095) & ~4095, MIN_PREFIX), MAX_FIRST_PREFIX)


def remember_whole_read(last_offset: int, last_end: int, size: int) -> None:
    """After a whole read of a file over READ_WHOLE_LIMIT whose last value is at
    last_offset..last_end: start the next one from a prefix, sized after this header, only
    if this one could have completed there (its last value started in the first
    MAX_FIRST_PREFIX bytes and ran to the end of the file). Elements after Pixel Data, or
    encapsulated pixels, make that prefix a wasted read; files in a batch are alike."""
    global _prefix_first
    _prefix_first = last_end == size and last_offset <= MAX_FIRST_PREFIX
    if _prefix_first:
        remember_header_size(last_offset)


class Source:
    """The bytes of one source, as a memoryview, and whatever keeps them alive.

    ``complete`` is False while only a prefix of a file is held; ``load_more`` then grows
    it, up to the whole file. ``size`` is the file's size for a whole read that holds only
    a prefix so far (None otherwise), the file already mapped: ``view_to`` switches to the
    map when a value past the prefix is wanted. ``close`` unmaps when nothing else uses
    the map; arrays and memoryviews handed out keep it mapped (Python's mmap refuses to
    close while exported buffers exist), so closing never invalidates memory that a caller
    still holds.
    """

    __slots__ = ("view", "complete", "path", "size", "_mmap", "closed")

    def __init__(self, view: memoryview, complete: bool, path: Optional[str] = None,
                 mapping: Optional[mmap.mmap] = None, size: Optional[int] = None):
        self.view = view
        self.complete = complete
        self.path = path
        self.size = size
        self._mmap = mapping
        self.closed = False

    def view_to(self, end: Optional[int]) -> memoryview:
        """The view, holding at least the bytes before `end` (None: every byte of the
        source that the scan found elements in)."""
        if self.closed:
            raise ValueError("the dataset is closed")
        if self.size is not None and not self.complete and (
                end is None or end > len(self.view)):
            self.load_all()
        return self.view

    def load_more(self, lacking_at: int = 0) -> None:
        """Grow a prefix that the scan ran out of at `lacking_at` (0: not known): twice as
        much by one positioned read, or the whole file. A whole read takes the whole file
        at once past MAX_FIRST_PREFIX, or when the element header at `lacking_at` is all
        there: what it lacks is then a value (Pixel Data with elements after it), not
        more of the header."""
        if self.complete or self.path is None:
            return
        have = len(self.view)
        if self.size is None:
            whole = have >= MAX_PREFIX
        else:
            whole = have >= MAX_FIRST_PREFIX or 0 < lacking_at <= have - LONGEST_HEADER
        if whole:
            return self.load_all()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            data = os.pread(fd, 2 * have, 0)
        finally:
            os.close(fd)
        self.view = memoryview(data)
        self.complete = len(data) < 2 * have

    def load_all(self) -> None:
        """Replace a prefix with the whole file (mapped when large)."""
        if self.complete or self.path is None:
            return
        if self._mmap is not None:  # mapped when the prefix was read
            self.view, self.complete = memoryview(self._mmap), True
            return
        whole = _whole_file(self.path)
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
        return open_descriptor(fd, path, header_only)
    finally:
        os.close(fd)


def open_descriptor(fd: int, path: str, header_only: bool) -> Source:
    """The source of the file `path`, open as `fd` (which the caller closes): for a
    caller that opened it already, to learn its size and time from the same file."""
    if header_only:
        want = _first_prefix
        data = os.read(fd, want)
        return Source(memoryview(data), len(data) < want, path)
    size = os.fstat(fd).st_size
    if size <= READ_WHOLE_LIMIT or not _prefix_first:
        return _whole(fd, path, size)
    data = os.read(fd, _first_prefix)
    if len(data) >= size:  # all of it (a file that grew since fstat is read as it was)
        return Source(memoryview(data)[:size], True, path)
    # Mapped now, while the file is open (no page is touched until a value past the
    # prefix is wanted): 2 us, where opening and mapping it later cost 4.7.
    return Source(memoryview(data), False, path, _map(fd, path), size)


def _whole_file(path: str) -> Source:
    fd = os.open(path, os.O_RDONLY)
    try:
        return _whole(fd, path, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def _whole(fd: int, path: str, size: int) -> Source:
    """The whole file open as `fd`: read when small, else mapped."""
    if size <= READ_WHOLE_LIMIT:
        return Source(memoryview(os.read(fd, size)), True, path)
    mapping = _map(fd, path)
    return Source(memoryview(mapping), True, path, mapping)


def _map(fd: int, path: str) -> mmap.mmap:
    try:
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        raise InvalidDicomError(f"cannot map {path}: {exc}") from exc
