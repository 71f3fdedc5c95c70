"""RLE Lossless frames, decoded by fastdcm._rle (no extra dependency)."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from fastdcm import _rle
from fastdcm.pixels.description import PixelDescription

HEADER = 64          # the RLE header: segment count and 15 offsets, decodes to nothing
MAX_EXPANSION = 64   # PackBits: 2 bytes (a replicate run) make at most 128


def check_rle(data: Any, desc: PixelDescription) -> None:
    """Refuse a frame too short to decode to the frame the data set describes, before any
    memory is taken for it: its segments decode to at most 64 times their size, so hostile
    Rows and Columns cannot make a few bytes ask for gigabytes. ValueError says why."""
    if desc.bits_allocated % 8:
        raise ValueError(f"RLE cannot hold {desc.bits_allocated}-bit samples")
    if len(data) < HEADER:
        raise ValueError(f"RLE header cut short: {len(data)} of {HEADER} bytes")
    needed = desc.frame_pixels * desc.dtype.itemsize
    most = MAX_EXPANSION * (len(data) - HEADER)
    if needed > most:
        raise ValueError(f"{len(data)} bytes of RLE decode to at most {most} bytes, a "
                         f"{desc.rows}x{desc.columns}x{desc.samples} frame of "
                         f"{desc.bits_allocated}-bit samples needs {needed}")


def decode_rle(data: Any, desc: PixelDescription,
               out: Optional[np.ndarray] = None) -> Tuple[np.ndarray, str]:
    """One frame as (rows, columns[, samples]) in the pixel type, colour-by-pixel, written
    into `out` when given. Raises ValueError for a damaged frame; the caller names it."""
    check_rle(data, desc)
    if out is None:
        out = np.empty(desc.frame_shape, desc.dtype)
    pixels = desc.rows * desc.columns
    _rle.decode_frame(data, out.reshape(-1).view(np.uint8), pixels,
                      desc.samples, desc.dtype.itemsize)
    return out, desc.photometric
