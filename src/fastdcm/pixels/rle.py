"""RLE Lossless frames, decoded by fastdcm._rle (no extra dependency)."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from fastdcm import _rle
from fastdcm.pixels.description import PixelDescription


def decode_rle(data: Any, desc: PixelDescription,
               out: Optional[np.ndarray] = None) -> Tuple[np.ndarray, str]:
    """One frame as (rows, columns[, samples]) in the pixel type, colour-by-pixel, written
    into `out` when given. Raises ValueError for a damaged frame; the caller names it."""
    dtype = desc.dtype
    if desc.bits_allocated % 8:
        raise ValueError(f"RLE cannot hold {desc.bits_allocated}-bit samples")
    if out is None:
        out = np.empty(desc.frame_shape, dtype)
    pixels = desc.rows * desc.columns
    _rle.decode_frame(data, out.reshape(-1).view(np.uint8), pixels,
                      desc.samples, dtype.itemsize)
    return out, desc.photometric
