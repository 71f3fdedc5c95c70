"""What the Image Pixel attributes say about the pixel data, checked once per data set.

Everything the native and encapsulated readers need (shape, data type, where the pixel
element's value is, how it is encoded) is gathered here, with pydicom's rules for what is
required and what is allowed, so that both readers see the same image pydicom sees and a
data set pydicom refuses is refused here too, as a DecodeError naming the attribute.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

import numpy as np

from fastdcm.errors import DecodeError

if TYPE_CHECKING:
    from fastdcm.dataset import Dataset

FLOAT_PIXEL_DATA = 0x7FE00008
DOUBLE_FLOAT_PIXEL_DATA = 0x7FE00009
PIXEL_DATA = 0x7FE00010
UNDEFINED_LENGTH = 0xFFFFFFFF

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
NATIVE_SYNTAXES = frozenset({IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN,
                             DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN})

# (0028,0004) values pydicom accepts (PS3.3 C.7.6.3.1.2, retired ones included).
PHOTOMETRIC_INTERPRETATIONS = frozenset({
    "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL", "YBR_FULL_422",
    "YBR_ICT", "YBR_RCT", "HSV", "ARGB", "CMYK", "YBR_PARTIAL_422", "YBR_PARTIAL_420"})

_ATTRIBUTES = {  # tag -> (keyword, name used in messages)
    0x00280002: ("SamplesPerPixel", "Samples per Pixel"),
    0x00280004: ("PhotometricInterpretation", "Photometric Interpretation"),
    0x00280006: ("PlanarConfiguration", "Planar Configuration"),
    0x00280008: ("NumberOfFrames", "Number of Frames"),
    0x00280010: ("Rows", "Rows"), 0x00280011: ("Columns", "Columns"),
    0x00280100: ("BitsAllocated", "Bits Allocated"),
    0x00280101: ("BitsStored", "Bits Stored"),
    0x00280103: ("PixelRepresentation", "Pixel Representation"),
}


class PixelDescription(NamedTuple):
    """The pixel element and the image it holds (one description per data set; a named
    tuple because one is made for every data set whose pixels are read, and a tuple is
    the cheapest immutable record to make)."""

    tag: int                 # which of Pixel Data, Float or Double Float Pixel Data
    vr: str                  # the pixel element's VR (OB/OW matters for 8-bit big endian)
    offset: int              # value start in the source
    end: int                 # value end; for encapsulated data, where the delimiter starts
    encapsulated: bool
    transfer_syntax: str     # "" when the file has none (native data is still readable)
    little_endian: bool
    rows: int
    columns: int
    samples: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    photometric: str
    planar: int
    frames: int              # Number of Frames, 1 when absent, empty or 0 (as pydicom)

    @property
    def frame_pixels(self) -> int:
        """Samples in one frame (rows x columns x samples per pixel)."""
        return self.rows * self.columns * self.samples

    @property
    def dtype(self) -> np.dtype:
        """The array's data type, in the machine's byte order (pydicom's, bar the order)."""
        return _dtype(self.tag, self.bits_allocated, self.signed)

    @property
    def frame_shape(self) -> tuple:
        if self.samples == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples)

    @property
    def corrects_unused_bits(self) -> bool:
        """pydicom clears (unsigned) or sign-extends (signed) the bits above Bits Stored."""
        return self.tag == PIXEL_DATA and self.bits_allocated > self.bits_stored


@functools.lru_cache(maxsize=None)
def _dtype(tag: int, bits_allocated: int, signed: bool) -> np.dtype:
    """Made once per kind (a description is made for every data set whose pixels are read)."""
    if tag == FLOAT_PIXEL_DATA:
        return np.dtype(np.float32)
    if tag == DOUBLE_FLOAT_PIXEL_DATA:
        return np.dtype(np.float64)
    if bits_allocated == 1:
        return np.dtype(np.uint8)
    return np.dtype(f"{'i' if signed else 'u'}{bits_allocated // 8}")


def describe(ds: "Dataset") -> PixelDescription:
    """The description of the pixel data of `ds` (a data set or a sequence item)."""
    table = ds._table
    present = [(tag, index) for tag in (FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA, PIXEL_DATA)
               for index in (table.find(tag),) if index >= 0]
    if not present:
        raise DecodeError("the data set has no Pixel Data, Float Pixel Data or Double Float "
                          "Pixel Data")
    if len(present) > 1:
        raise DecodeError("only one of Pixel Data, Float Pixel Data and Double Float Pixel "
                          "Data may be present", tag=present[1][0])
    element = ds._element_at(present[0][1])
    tag = element.tag
    root = ds
    while root._parent is not None:
        root = root._parent
    syntax = root.transfer_syntax_uid
    encapsulated = element.length == UNDEFINED_LENGTH
    if syntax in NATIVE_SYNTAXES or not syntax:
        if encapsulated:
            raise DecodeError("encapsulated pixel data in a native transfer syntax"
                              if syntax else "encapsulated pixel data without a transfer "
                              "syntax", element.offset, tag)
        little = syntax != EXPLICIT_VR_BIG_ENDIAN if syntax else ds.is_little_endian
    else:
        if not encapsulated:
            raise DecodeError(f"transfer syntax {syntax} needs encapsulated pixel data",
                              element.offset, tag)
        little = True

    floating = tag != PIXEL_DATA
    bits_allocated = _required(ds, 0x00280100)
    if not (1 <= bits_allocated <= 64 and (bits_allocated == 1 or bits_allocated % 8 == 0)):
        raise _invalid(0x00280100, bits_allocated, "must be 1 or a multiple of 8 up to 64")
    if floating:
        needed = 32 if tag == FLOAT_PIXEL_DATA else 64
        if bits_allocated != needed:
            raise _invalid(0x00280100, bits_allocated, f"must be {needed} for this element")
        bits_stored, signed = bits_allocated, False
    else:
        bits_stored = _required(ds, 0x00280101)
        if not 1 <= bits_stored <= bits_allocated:
            raise _invalid(0x00280101, bits_stored, "must be from 1 to Bits Allocated")
        representation = _required(ds, 0x00280103)
        if representation not in (0, 1):
            raise _invalid(0x00280103, representation, "must be 0 or 1")
        signed = representation == 1
    columns = _required(ds, 0x00280011)
    rows = _required(ds, 0x00280010)
    for attribute, value in ((0x00280011, columns), (0x00280010, rows)):
        if not 0 < value <= 0xFFFF:
            raise _invalid(attribute, value, "must be from 1 to 65535")
    frames = getattr(ds, "NumberOfFrames", None)
    if isinstance(frames, str) and frames.strip().lstrip("+-").isdigit():
        frames = int(frames)
    if frames is None or frames == 0:
        frames = 1
    if not isinstance(frames, int) or frames < 1:
        raise _invalid(0x00280008, frames, "must be a positive integer")
    photometric = _required(ds, 0x00280004)
    if photometric not in PHOTOMETRIC_INTERPRETATIONS:
        raise _invalid(0x00280004, photometric, "is not a known value")
    samples = _required(ds, 0x00280002)
    if samples not in (1, 3):
        raise _invalid(0x00280002, samples, "must be 1 or 3")
    planar = 0
    if samples == 3:
        planar = _required(ds, 0x00280006)
        if planar not in (0, 1):
            raise _invalid(0x00280006, planar, "must be 0 or 1")
    # In field order, not by keyword: half the cost, and one is made per data set read.
    return PixelDescription(tag, element.vr, element.offset, element._end, encapsulated,
                            syntax, little, rows, columns, samples, bits_allocated,
                            bits_stored, signed, photometric, planar, frames)


def _required(ds: "Dataset", tag: int) -> Any:
    # Attribute access is the data set's fastest path to a value (answered in C).
    value = getattr(ds, _ATTRIBUTES[tag][0], None)
    if type(value) is int:  # the usual case, checked first
        return value
    if value is None or value == "":
        raise DecodeError(f"missing or empty ({tag >> 16:04X},{tag & 0xFFFF:04X}) "
                          f"{_ATTRIBUTES[tag][1]}", tag=tag)
    if isinstance(value, str) and tag != 0x00280004:
        raise _invalid(tag, value, "must be a number")
    if isinstance(value, list):
        raise _invalid(tag, value, "must have one value")
    return value


def _invalid(tag: int, value: Optional[Any], rule: str) -> DecodeError:
    return DecodeError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {_ATTRIBUTES[tag][1]} "
                       f"{value!r} {rule}", tag=tag)
