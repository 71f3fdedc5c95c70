"""The JPEG family (JPEG, JPEG-LS, JPEG 2000, HTJ2K) through imagecodecs, with pydicom's
reading of the codestream's colour space and signedness.

imagecodecs (the ``jpeg`` extra) was chosen over the pylibjpeg plugins because it is one
BSD-licensed package (pylibjpeg-libjpeg is GPLv3) covering every syntax, decodes the files
that pylibjpeg cannot (a 12-bit process 2/4 file in pydicom's test set), and is faster where
it matters: libjpeg-turbo decodes baseline 4-7x and lossless 4x faster than libjpeg 9, CharLS
JPEG-LS 4-8x faster; JPEG 2000 is OpenJPEG in both (see the README's numbers).

Each decoder returns the frame as an array shaped (rows, columns[, samples]) plus the
photometric interpretation its values are in, for the caller's YBR -> RGB step. They leave
the codec registry's `out` array alone: the libraries' output type follows the codestream's
precision, not always the data set's Bits Allocated, so the caller converts.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from fastdcm.pixels.description import PixelDescription

JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
JPEG_LS_NEAR_LOSSLESS = "1.2.840.10008.1.2.4.81"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG_2000 = "1.2.840.10008.1.2.4.91"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K = "1.2.840.10008.1.2.4.203"

JPEG_SYNTAXES = (JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS, JPEG_LOSSLESS_SV1)
JPEG_LS_SYNTAXES = (JPEG_LS_LOSSLESS, JPEG_LS_NEAR_LOSSLESS)
J2K_SYNTAXES = (JPEG_2000_LOSSLESS, JPEG_2000, HTJ2K_LOSSLESS, HTJ2K_LOSSLESS_RPCL, HTJ2K)
LOSSY_JPEG = (JPEG_BASELINE, JPEG_EXTENDED)

YBR = ("YBR_FULL", "YBR_FULL_422")
_SOF = frozenset([0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
                  0xCF, 0xF7])  # JPEG SOF0-15 (not DHT, JPG, DAC) and JPEG-LS SOF55
_RGB_IDS = ([82, 71, 66], [114, 103, 98])  # "RGB" / "rgb" as component identifiers

_codecs: Any = None


def imagecodecs() -> Any:
    """The imagecodecs module, imported on first use (it takes a while to load)."""
    global _codecs
    if _codecs is None:
        import imagecodecs as module

        _codecs = module
    return _codecs


def jpeg_info(data: Any) -> Dict[str, Any]:
    """Parameters from a JPEG or JPEG-LS codestream's header: precision, component ids,
    APPn segments and (JPEG-LS) the interleave mode. Empty when the header does not parse."""
    info: Dict[str, Any] = {}
    size = len(data)
    if size < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return info
    pos = 2
    apps: Dict[int, bytes] = {}
    while pos + 4 <= size and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte before the marker (T.81 B.1.1.2)
            pos += 1
            continue
        length = (data[pos + 2] << 8) | data[pos + 3]
        if marker in _SOF:
            if pos + 10 > size:
                return {}
            count = data[pos + 9]
            info["precision"] = data[pos + 4]
            info["rows"] = (data[pos + 5] << 8) | data[pos + 6]
            info["columns"] = (data[pos + 7] << 8) | data[pos + 8]
            info["components"] = count
            if pos + 10 + 3 * count > size:
                return {}
            info["component_ids"] = [data[pos + 10 + 3 * i] for i in range(count)]
            if apps:
                info["app"] = apps
            if marker == 0xF7:
                _jpeg_ls_scan(data, pos + 2 + length, info)
            return info
        if 0xE0 <= marker <= 0xEF:
            apps[marker] = bytes(data[pos + 4:pos + 2 + length])
        pos += 2 + length
    return {}


def _jpeg_ls_scan(data: Any, pos: int, info: Dict[str, Any]) -> None:
    size = len(data)
    while pos + 4 <= size and data[pos] == 0xFF and data[pos + 1] != 0xDA:
        pos += 2 + ((data[pos + 2] << 8) | data[pos + 3])
    if pos + 5 <= size and data[pos + 1] == 0xDA:
        after = pos + 5 + 2 * data[pos + 4]
        if after + 2 <= size:
            info["interleave_mode"] = data[after + 1]


def j2k_info(data: Any) -> Dict[str, Any]:
    """Size, component count, precision and signedness (of the first component) from a
    JPEG 2000 codestream's SIZ marker (a JP2 wrapper is skipped); empty when there is none."""
    pos = 0
    if bytes(data[:8]) == b"\x00\x00\x00\x0cjP  ":
        pos = 12
        size = len(data)
        while pos + 8 <= size:
            box = int.from_bytes(data[pos:pos + 4], "big")
            if bytes(data[pos + 4:pos + 8]) == b"jp2c":
                pos += 8
                break
            if box < 8:
                return {}
            pos += box
    if len(data) < pos + 43 or bytes(data[pos:pos + 4]) != b"\xff\x4f\xff\x51":
        return {}
    word = lambda at: int.from_bytes(data[pos + at:pos + at + 4], "big")  # noqa: E731
    ssiz = data[pos + 42]
    return {"columns": word(8) - word(16), "rows": word(12) - word(20),
            "components": (data[pos + 40] << 8) | data[pos + 41],
            "precision": (ssiz & 0x7F) + 1, "signed": bool(ssiz & 0x80)}


def check_size(info: Dict[str, Any], desc: PixelDescription) -> None:
    """A codestream is decoded only when its header states the frame the data set describes
    (Rows, Columns, Samples per Pixel): the library allocates what the header says, so a
    header that is unreadable or says otherwise (hostile Rows and Columns, another image)
    would let it, not the data set, decide how much memory a frame takes. A JPEG frame whose
    height comes later in a DNL segment is refused too (libjpeg-turbo cannot decode it)."""
    rows, columns = info.get("rows"), info.get("columns")
    if rows is None:
        raise ValueError("the codestream header does not state the frame size")
    if (rows, columns) != (desc.rows, desc.columns):
        raise ValueError(f"the codestream is {columns}x{rows}, the data set says "
                         f"{desc.columns}x{desc.rows}")
    if info["components"] != desc.samples:
        raise ValueError(f"the codestream has {info['components']} components, Samples per "
                         f"Pixel is {desc.samples}")


def check_jpeg(data: Any, desc: PixelDescription) -> None:
    """check_size for a JPEG or JPEG-LS frame."""
    check_size(jpeg_info(data), desc)


def check_j2k(data: Any, desc: PixelDescription) -> None:
    """check_size for a JPEG 2000 or HTJ2K frame."""
    check_size(j2k_info(data), desc)


def conformed_photometric(desc: PixelDescription, info: Dict[str, Any]) -> str:
    """pydicom's correction of the colour space by the codestream: component ids "RGB" mean
    RGB; a JFIF APP0 segment means YCbCr (YBR_FULL_422 for baseline, else YBR_FULL)."""
    photometric = desc.photometric
    if desc.samples != 3:
        return photometric
    if info.get("component_ids") in _RGB_IDS:
        return "RGB"
    if "YBR" not in photometric:
        for segment in info.get("app", {}).values():
            if segment.startswith(b"JFIF"):
                return "YBR_FULL_422" if desc.transfer_syntax == JPEG_BASELINE else "YBR_FULL"
    return photometric


def decode_jpeg(data: Any, desc: PixelDescription,
                out: Optional[np.ndarray] = None) -> Tuple[np.ndarray, str]:
    """JPEG baseline, extended and lossless (libjpeg-turbo). For lossy YCbCr the library's
    own conversion to RGB is used (it differs from pydicom's by rounding only); lossless
    frames come back as stored, so pydicom's conversion gives the exact same RGB."""
    codecs = imagecodecs()
    info = jpeg_info(data)
    check_size(info, desc)
    photometric = conformed_photometric(desc, info)
    if desc.samples != 3:
        return codecs.jpeg8_decode(data), photometric
    if photometric in YBR:
        if desc.transfer_syntax in LOSSY_JPEG:
            return codecs.jpeg8_decode(data, colorspace="YCbCr", outcolorspace="RGB"), "RGB"
        return codecs.jpeg8_decode(data, colorspace="YCbCr", outcolorspace="YCbCr"), photometric
    return codecs.jpeg8_decode(data, colorspace="RGB", outcolorspace="RGB"), photometric


def decode_jpeg_ls(data: Any, desc: PixelDescription,
                   out: Optional[np.ndarray] = None) -> Tuple[np.ndarray, str]:
    """JPEG-LS (CharLS). Samples come back colour-by-pixel whatever the interleave mode."""
    info = jpeg_info(data)
    check_size(info, desc)
    return imagecodecs().jpegls_decode(data), conformed_photometric(desc, info)


def decode_j2k(data: Any, desc: PixelDescription,
               out: Optional[np.ndarray] = None) -> Tuple[np.ndarray, str]:
    """JPEG 2000 and HTJ2K (OpenJPEG). The inverse multiple-component transform is applied by
    the library, so YBR_ICT and YBR_RCT come back as RGB (as with pydicom)."""
    check_j2k(data, desc)
    arr = imagecodecs().jpeg2k_decode(data)
    photometric = desc.photometric
    if photometric in ("YBR_ICT", "YBR_RCT"):
        photometric = "RGB"
    return arr, photometric


def precision_and_sign(data: Any, desc: PixelDescription) -> Tuple[int, Optional[bool]]:
    """The codestream's sample precision and (JPEG 2000 only) signedness, as pydicom reads
    them for its sign correction; Bits Stored and None when the header does not say."""
    if desc.transfer_syntax in J2K_SYNTAXES:
        found = j2k_info(data)
        return found.get("precision", desc.bits_stored), found.get("signed")
    return jpeg_info(data).get("precision", desc.bits_stored), None


__all__: List[str] = ["decode_jpeg", "decode_jpeg_ls", "decode_j2k", "check_jpeg", "check_j2k",
                       "precision_and_sign"]
