"""Type stub for the compiled RLE Lossless decoder (fastdcm/_rle.pyx)."""
from typing import Any

def decode_frame(src: Any, out: Any, pixels: int, samples: int, width: int) -> None:
    """Decode one RLE frame (bytes-like) into `out` (a writable uint8 buffer of pixels x
    samples x width bytes, little endian, colour-by-pixel); ValueError when damaged."""
