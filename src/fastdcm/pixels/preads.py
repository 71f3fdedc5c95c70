"""Pixel bytes read from a file straight into an array: the fast way to a private copy.

Copying a mapped view costs a page fault per page of the file and another per page of the
new array; a positioned read (``preadv``) into the array costs only the second. The kernel
copies fastest when destination and file offset agree modulo the page size (3-7x faster
than a misaligned destination: shared/PERF-FACTS.md), so new buffers are placed that way.
Large reads are split over threads (``preadv`` releases the GIL): one core alone cannot
copy and fault in a few hundred megabytes at the speed memory allows.
"""
from __future__ import annotations

import os
import threading
from typing import List, Tuple

import numpy as np

from fastdcm.pixels import threads

PAGE = 4096
SPLIT_BYTES = 32 << 20  # reads at least this long are split over threads
_scratch = threading.local()


def aligned_empty(nbytes: int, file_offset: int) -> np.ndarray:
    """An uninitialised byte array whose address matches `file_offset` modulo the page."""
    return aligned(np.empty(nbytes + PAGE, np.uint8), file_offset, nbytes)


def scratch(nbytes: int, file_offset: int, purpose: str = "stored") -> np.ndarray:
    """A page-aligned byte buffer this thread reuses (one per `purpose`) for bytes that are
    converted at once: memory already faulted in, unlike a fresh array."""
    buffer = getattr(_scratch, purpose, None)
    if buffer is None or len(buffer) < nbytes + PAGE:
        buffer = np.empty(nbytes + PAGE, np.uint8)
        setattr(_scratch, purpose, buffer)
    return aligned(buffer, file_offset, nbytes)


def scratch_array(shape: Tuple[int, ...], dtype: np.dtype, purpose: str) -> np.ndarray:
    """``scratch`` as a page-aligned array of `shape` and `dtype` (written in place by a
    decoder, or filled and copied on at once)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    return scratch(nbytes, 0, purpose).view(dtype).reshape(shape)


def aligned(buffer: np.ndarray, file_offset: int, nbytes: int) -> np.ndarray:
    """The part of `buffer` (at least nbytes + PAGE bytes) whose address matches
    `file_offset` modulo the page size."""
    start = (file_offset - buffer.ctypes.data) % PAGE
    return buffer[start:start + nbytes]


def pread_into(path: str, target: np.ndarray, offset: int) -> None:
    """Fill the C-contiguous `target` with the file's bytes from `offset`; a short read
    (the file cut short since it was scanned) raises ValueError."""
    flat = target.reshape(-1).view(np.uint8)
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = _chunks(len(flat))
        if len(chunks) == 1:
            got = [_pread_fully(fd, flat, offset)]
        else:
            got = list(threads.pool().map(
                lambda span: _pread_fully(fd, flat[span[0]:span[1]], offset + span[0]),
                chunks))
    finally:
        os.close(fd)
    if sum(got) != len(flat):
        raise ValueError(f"{path}: pixel data cut short ({sum(got)} of {len(flat)} bytes at "
                         f"offset {offset})")


def _pread_fully(fd: int, target: np.ndarray, offset: int) -> int:
    """Bytes read into `target`: one call reads at most about 2 GiB, so loop until full
    or the end of the file."""
    done = 0
    while done < len(target):
        got = os.preadv(fd, [target[done:]], offset + done)
        if got == 0:
            break
        done += got
    return done


def _chunks(nbytes: int) -> List[tuple]:
    """(start, stop) of each thread's part: whole pages, one part per SPLIT_BYTES."""
    parts = min(threads.count(), max(1, nbytes // SPLIT_BYTES))
    if parts == 1:
        return [(0, nbytes)]
    step = -(-nbytes // parts // PAGE) * PAGE
    return [(start, min(start + step, nbytes)) for start in range(0, nbytes, step)]
