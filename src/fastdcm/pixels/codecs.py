"""Which decoder handles which transfer syntax, and what to install when one is missing.

RLE Lossless is built in; the JPEG family comes with the ``jpeg`` extra (imagecodecs, see
fastdcm.pixels.jpeg for why). A decoder takes one encoded frame, the pixel description and
an optional array to decode into (shaped and typed as the frame; a decoder may ignore it)
and returns the frame, shaped (rows, columns[, samples]), and the photometric
interpretation its values are in; it raises whatever its library raises, and the caller
turns that into a DecodeError naming the frame.

A codec's check takes an encoded frame and the description and raises ValueError, without
decoding or allocating, when the frame cannot be the one the data set describes: an RLE
frame too short to decode to Rows x Columns, a JPEG-family header stating another size.
Each decoder runs it before it allocates; pixel_array runs it over every frame before it
allocates the array for all of them, so that the memory taken is bounded by the data.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from fastdcm.errors import DecodeError
from fastdcm.pixels import jpeg
from fastdcm.pixels.description import PixelDescription
from fastdcm.pixels.rle import check_rle, decode_rle

RLE_LOSSLESS = "1.2.840.10008.1.2.5"

DecodeFunction = Callable[[Any, PixelDescription, Optional[np.ndarray]], Tuple[np.ndarray, str]]
CheckFunction = Callable[[Any, PixelDescription], None]


@dataclass(frozen=True)
class Codec:
    name: str
    decode: DecodeFunction
    check: CheckFunction
    module: Optional[str] = None   # the import that must succeed; None when built in
    extra: Optional[str] = None    # the fastdcm extra that installs it
    lossy: bool = False

    def available(self) -> bool:
        return self.module is None or _installed(self.module)


@lru_cache(maxsize=None)
def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


_JPEG_EXTRA = dict(module="imagecodecs", extra="jpeg")

REGISTRY: Dict[str, Codec] = {
    RLE_LOSSLESS: Codec("RLE Lossless", decode_rle, check_rle),
    jpeg.JPEG_BASELINE: Codec("JPEG Baseline", jpeg.decode_jpeg, jpeg.check_jpeg, lossy=True,
                              **_JPEG_EXTRA),
    jpeg.JPEG_EXTENDED: Codec("JPEG Extended", jpeg.decode_jpeg, jpeg.check_jpeg, lossy=True,
                              **_JPEG_EXTRA),
    jpeg.JPEG_LOSSLESS: Codec("JPEG Lossless", jpeg.decode_jpeg, jpeg.check_jpeg,
                              **_JPEG_EXTRA),
    jpeg.JPEG_LOSSLESS_SV1: Codec("JPEG Lossless SV1", jpeg.decode_jpeg, jpeg.check_jpeg,
                                  **_JPEG_EXTRA),
    jpeg.JPEG_LS_LOSSLESS: Codec("JPEG-LS Lossless", jpeg.decode_jpeg_ls, jpeg.check_jpeg,
                                 **_JPEG_EXTRA),
    jpeg.JPEG_LS_NEAR_LOSSLESS: Codec("JPEG-LS Near-Lossless", jpeg.decode_jpeg_ls,
                                      jpeg.check_jpeg, lossy=True, **_JPEG_EXTRA),
    jpeg.JPEG_2000_LOSSLESS: Codec("JPEG 2000 Lossless", jpeg.decode_j2k, jpeg.check_j2k,
                                   **_JPEG_EXTRA),
    jpeg.JPEG_2000: Codec("JPEG 2000", jpeg.decode_j2k, jpeg.check_j2k, lossy=True,
                          **_JPEG_EXTRA),
    jpeg.HTJ2K_LOSSLESS: Codec("HTJ2K Lossless", jpeg.decode_j2k, jpeg.check_j2k,
                               **_JPEG_EXTRA),
    jpeg.HTJ2K_LOSSLESS_RPCL: Codec("HTJ2K Lossless RPCL", jpeg.decode_j2k, jpeg.check_j2k,
                                    **_JPEG_EXTRA),
    jpeg.HTJ2K: Codec("HTJ2K", jpeg.decode_j2k, jpeg.check_j2k, lossy=True, **_JPEG_EXTRA),
}


def codec_for(desc: PixelDescription) -> Codec:
    """The codec for the data set's transfer syntax; DecodeError for a syntax with none,
    ImportError naming the extra when its library is not installed."""
    codec = REGISTRY.get(desc.transfer_syntax)
    if codec is None:
        raise DecodeError(f"no decoder for transfer syntax {desc.transfer_syntax}",
                          desc.offset, desc.tag)
    if not codec.available():
        raise ImportError(f"decoding {codec.name} needs the '{codec.extra}' extra: "
                          f"pip install 'fastdcm[{codec.extra}]'")
    return codec
