"""JPEG-family frame encoders for the generated corpora, through imagecodecs when installed.

One implementation for both corpora that carry compressed frames: ``fastdcm bench``'s
(fastdcm.bench.corpus) and the pixel benchmark's (benchmarks/make_pixel_corpus.py).
imagecodecs is an optional extra ('fastdcm[jpeg]'): without it, or without one of its
codecs, :func:`available` leaves that kind out rather than failing, so a default install
still gets a corpus (without JPEG files).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple

import numpy as np


class Kind(NamedTuple):
    syntax: str       # the transfer syntax UID the frames are written under
    codec: str        # imagecodecs' codec class name, to ask whether it is built in
    bits: int         # Bits Stored of a monochrome frame of this kind
    lossless: bool


KINDS: Dict[str, Kind] = {
    "jpeg_baseline": Kind("1.2.840.10008.1.2.4.50", "JPEG8", 8, False),
    "jpeg_lossless": Kind("1.2.840.10008.1.2.4.70", "JPEG8", 12, True),
    "jpeg_ls": Kind("1.2.840.10008.1.2.4.80", "JPEGLS", 12, True),
    "j2k": Kind("1.2.840.10008.1.2.4.90", "JPEG2K", 12, True),
    "htj2k": Kind("1.2.840.10008.1.2.4.201", "HTJ2K", 12, True),
}


def _imagecodecs() -> Any:
    try:
        import imagecodecs
    except ImportError:
        return None
    return imagecodecs


def available() -> List[str]:
    """The kinds this install can encode, in :data:`KINDS` order (none without imagecodecs)."""
    codecs = _imagecodecs()
    if codecs is None:
        return []
    return [name for name, kind in KINDS.items()
            if getattr(getattr(codecs, kind.codec, None), "available", False)]


def encode(kind: str, frame: np.ndarray) -> bytes:
    """One frame as the codestream of ``kind``: (rows, columns) monochrome, or for
    ``jpeg_baseline`` also (rows, columns, 3) RGB, stored as YCbCr 4:2:2 as scanners do."""
    codecs = _imagecodecs()
    encoders: Dict[str, Callable[[], bytes]] = {
        "jpeg_baseline": lambda: (
            codecs.jpeg8_encode(frame, level=90, colorspace="RGB", outcolorspace="YCbCr",
                                subsampling="422")
            if frame.ndim == 3 else codecs.jpeg8_encode(frame, level=90)),
        "jpeg_lossless": lambda: codecs.jpeg8_encode(frame, lossless=True, predictor=1,
                                                     bitspersample=KINDS[kind].bits),
        "jpeg_ls": lambda: codecs.jpegls_encode(frame, level=0),
        "j2k": lambda: codecs.jpeg2k_encode(frame, level=0, codecformat="J2K",
                                            reversible=True, bitspersample=KINDS[kind].bits),
        "htj2k": lambda: codecs.htj2k_encode(frame, reversible=True),
    }
    return encoders[kind]()
