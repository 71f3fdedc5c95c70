"""YBR_FULL (and upsampled YBR_FULL_422) to RGB, as pydicom's pixel_array does by default.

The arithmetic is pydicom's to the bit (float32, the same matrix, round half up, clip), so
lossless colour images compare exactly. It works on 8-bit samples only, as pydicom's does;
other depths are returned as stored.
"""
from __future__ import annotations

import numpy as np

# PS3.3 C.7.6.3.1.2 / ITU T.871: rows are Y, Cb, Cr; columns R, G, B.
_YBR_TO_RGB = np.asarray([
    [1.0, 1.0, 1.0],
    [0.0, -0.114 * 1.772 / 0.587, 1.772],
    [1.402, -0.299 * 1.402 / 0.587, 0.0],
], dtype=np.float32)
_CHROMA_OFFSET = np.asarray([0, 128, 128], dtype=np.float32)


def ybr_to_rgb(arr: np.ndarray) -> np.ndarray:
    """A new uint8 array in RGB from `arr` (..., 3) in YBR_FULL."""
    work = arr.astype(np.float32)
    work -= _CHROMA_OFFSET
    np.matmul(work, _YBR_TO_RGB, out=work)
    work += 0.5
    np.floor(work, out=work)
    np.clip(work, 0, 255, out=work)
    return work.astype(np.uint8)
