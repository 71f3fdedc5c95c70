"""Frames read with one positioned read, and stored values turned into modality values.

A loader that already knows where a frame lies (from a bulk index's pixel locators) need not
parse the file again: one ``preadv`` at the frame's offset brings its bytes, native
(``Locator``) or encoded (``Encoded``: one fragment per frame, decoded by the codec registry
exactly as ``ds.frame(i)`` decodes it), into a page-aligned buffer (see pixels.preads).
Native frames headed for ``rescale_into`` keep their bits above Bits Stored as stored: the
rescale clears them in the same pass (``for_rescale``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple, Union

import numpy as np

from fastdcm.pixels import preads
from fastdcm.pixels.api import decode_frame
from fastdcm.pixels.description import PixelDescription
from fastdcm.pixels.native import correct_unused_bits


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

    @property
    def shape(self) -> Tuple[int, ...]:
        """One frame's shape."""
        return (self.rows, self.columns)

    def read(self, first: int, count: int, scratch: bool = False) -> np.ndarray:
        """Frames first..first+count-1, (count, rows, columns): see read_stored."""
        return read_stored(self, first, count, scratch=scratch)

    def for_rescale(self, first: int, count: int) -> Tuple[np.ndarray, int]:
        """Frames first..first+count-1 in this thread's scratch buffer with the bits above
        Bits Stored as stored, and the Bits Stored for rescale_into to correct them by
        (0 when none are unused)."""
        stored = read_stored(self, first, count, scratch=True, correct=False)
        unused = self.bits_stored < stored.dtype.itemsize * 8
        return stored, self.bits_stored if unused else 0


@dataclass(frozen=True)
class Encoded:
    """Where each encapsulated frame lies in a file (one fragment per frame, as a bulk
    index records them) and the description its codec needs."""

    path: str
    offsets: Tuple[int, ...]     # file offset of each frame's encoded bytes
    lengths: Tuple[int, ...]
    description: PixelDescription

    @property
    def frames(self) -> int:
        return len(self.offsets)

    @property
    def shape(self) -> Tuple[int, ...]:
        """One frame's shape: (rows, columns[, samples]), as ds.frame(i) gives it."""
        return self.description.frame_shape

    def read(self, first: int, count: int, scratch: bool = False) -> np.ndarray:
        """Frames first..first+count-1 decoded, (count,) + shape. With `scratch` and one
        frame, a decoder that can write in place (RLE) writes into a buffer this thread
        reuses on its next call."""
        desc = self.description
        if scratch and count == 1:
            out = preads.scratch_array((1,) + self.shape, desc.dtype, "decoded")
        else:
            out = np.empty((count,) + self.shape, desc.dtype)
        for row, index in enumerate(range(first, first + count)):
            target = out[row]
            decoded = self.decode(index, target)
            if decoded is not target:  # decoded frames have the frame's shape and type
                target[...] = decoded
        return out

    def for_rescale(self, first: int, count: int) -> Tuple[np.ndarray, int]:
        """Frames first..first+count-1 decoded (and corrected) into scratch memory, and 0:
        nothing is left for rescale_into to correct."""
        return self.read(first, count, scratch=True), 0

    def decode(self, index: int, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Frame `index` as ds.frame(index) gives it, from one positioned read of its
        bytes (into a buffer this thread reuses); written into `out` when its decoder can."""
        offset, length = self.offsets[index], self.lengths[index]
        data = preads.scratch(length, offset, "encoded")
        preads.pread_into(self.path, data, offset)
        return decode_frame(memoryview(data), self.description, index, out)


FrameSource = Union[Locator, Encoded]


def read_stored(locator: Locator, first: int = 0, count: int = 1, *,
                scratch: bool = False, correct: bool = True) -> np.ndarray:
    """Frames first..first+count-1 as stored values, shaped (count, rows, columns), with
    the bits above Bits Stored cleared or sign-extended as pydicom does (unless not
    `correct`).

    With `scratch`, the bytes land in a buffer reused by the next call of this thread
    (for callers that convert them at once); else in a fresh writable array.
    """
    length = locator.frame_bytes * count
    offset = locator.offset + locator.frame_bytes * first
    raw = preads.scratch(length, offset) if scratch else preads.aligned_empty(length, offset)
    preads.pread_into(locator.path, raw, offset)
    stored = raw.view(locator.dtype).reshape(count, locator.rows, locator.columns)
    if not stored.dtype.isnative:
        stored = stored.astype(stored.dtype.newbyteorder("="))
    if correct and locator.bits_stored < stored.dtype.itemsize * 8:
        checked = stored.view()
        checked.flags.writeable = False  # checked first, copied only when a bit is wrong
        corrected = correct_unused_bits(checked, locator.bits_stored)
        if corrected is not checked:
            stored = corrected
    return stored

