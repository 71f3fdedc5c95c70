"""Native frames read with one positioned read, and stored values turned into modality values.

A loader that already knows where a frame lies (from a bulk index's pixel locators) need not
parse the file again: one ``preadv`` at the frame's offset brings its bytes. The read lands
in a buffer placed so that (destination - file offset) mod 4096 is 0, the kernel's fast copy
path (3-7x faster than a misaligned destination: see shared/PERF-FACTS.md).

``rescale_into`` is the one place where stored values become Hounsfield units (or other
modality units) in the caller's dtype, written straight into the output so that no
intermediate array is made.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

from fastdcm.pixels.native import correct_unused_bits

PAGE = 4096
_scratch = threading.local()


@dataclass(frozen=True)
class Locator:
    """Where native pixel data lies in a file and how its samples are typed."""

    path: str
    offset: int          # file offset of frame 0
    frames: int
    rows: int
    columns: int
    dtype: str           # numpy type with byte order, e.g. "<i2"
    bits_stored: int

    @property
    def frame_bytes(self) -> int:
        return self.rows * self.columns * np.dtype(self.dtype).itemsize


def _aligned(buffer: np.ndarray, file_offset: int, length: int) -> np.ndarray:
    """The part of `buffer` (at least length + PAGE bytes) whose address matches
    `file_offset` modulo the page size."""
    start = (file_offset - buffer.ctypes.data) % PAGE
    return buffer[start:start + length]


def _pread_into(path: str, target: np.ndarray, offset: int) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        got = os.preadv(fd, [target], offset)
    finally:
        os.close(fd)
    if got != len(target):
        raise ValueError(f"{path}: pixel data cut short ({got} of {len(target)} bytes at "
                         f"offset {offset})")


def read_stored(locator: Locator, first: int = 0, count: int = 1, *,
                scratch: bool = False) -> np.ndarray:
    """Frames first..first+count-1 as stored values, shaped (count, rows, columns), with
    the bits above Bits Stored cleared or sign-extended as pydicom does.

    With `scratch`, the bytes land in a buffer reused by the next call of this thread
    (for callers that convert them at once); else in a fresh writable array.
    """
    length = locator.frame_bytes * count
    offset = locator.offset + locator.frame_bytes * first
    if scratch:
        buffer = getattr(_scratch, "buffer", None)
        if buffer is None or len(buffer) < length + PAGE:
            buffer = _scratch.buffer = np.empty(length + PAGE, np.uint8)
    else:
        buffer = np.empty(length + PAGE, np.uint8)
    raw = _aligned(buffer, offset, length)
    _pread_into(locator.path, raw, offset)
    stored = raw.view(locator.dtype).reshape(count, locator.rows, locator.columns)
    if not stored.dtype.isnative:
        stored = stored.astype(stored.dtype.newbyteorder("="))
    if locator.bits_stored < stored.dtype.itemsize * 8:
        checked = stored.view()
        checked.flags.writeable = False  # checked first, copied only when a bit is wrong
        corrected = correct_unused_bits(checked, locator.bits_stored)
        if corrected is not checked:
            stored = corrected
    return stored


def rescale_into(out: np.ndarray, stored: np.ndarray, slope: Optional[float],
                 intercept: Optional[float]) -> None:
    """out = stored * slope + intercept, computed in out's dtype (no rescale when either is
    None). An integer `out` takes only integral slope and intercept: rounding modality
    values silently would change them."""
    if slope is None or intercept is None:
        np.copyto(out, stored, casting="unsafe")
        return
    if out.dtype.kind in "iu" and not (float(slope).is_integer()
                                       and float(intercept).is_integer()):
        raise ValueError(f"Rescale Slope {slope} / Intercept {intercept} give fractional "
                         f"values: choose a floating dtype rather than {out.dtype}")
    cast = out.dtype.type
    if slope == 1:
        np.add(stored, cast(intercept), out=out, dtype=out.dtype, casting="unsafe")
        return
    np.multiply(stored, cast(slope), out=out, dtype=out.dtype, casting="unsafe")
    if intercept:
        np.add(out, cast(intercept), out=out)
