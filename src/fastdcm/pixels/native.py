"""Native (uncompressed) pixel data: frames as views of the source, where the layout allows.

Little-endian frames are read-only numpy views of the mapped file: nothing is copied and only
the pages of the frames asked for are touched. A copy is made only where the bytes cannot be
used as they are: big endian (byte-swapped), Bits Allocated 1 (unpacked to one byte per
pixel), YBR_FULL_422 (chroma upsampled, as pydicom does) and high bits above Bits Stored
that pydicom would clear or sign-extend (the frame is checked first and copied only when the
correction changes a value).

Lengths follow pydicom's rules: a trailing pad byte is allowed, an odd length missing its
pad byte is allowed, trailing bytes past the last frame are ignored, unless they hold whole
extra frames, which pydicom returns (and so does this module); anything shorter is an error.
"""
from __future__ import annotations

import math
from typing import Tuple, Union

import numpy as np

from fastdcm.errors import DecodeError
from fastdcm.pixels.description import PIXEL_DATA, PixelDescription


def frame_length(desc: PixelDescription) -> Union[int, float]:
    """Bytes per frame; fractional for bit-packed frames that do not end on a byte."""
    pixels = desc.frame_pixels
    if desc.bits_allocated == 1:
        length: Union[int, float] = pixels / 8
        if float(length).is_integer():
            length = int(length)
    else:
        length = pixels * (desc.bits_allocated // 8)
    if desc.photometric == "YBR_FULL_422":
        length = length // 3 * 2
    return length


def frame_count(desc: PixelDescription) -> int:
    """How many frames the value holds: Number of Frames, or more when whole extra frames
    follow (pydicom returns those too); a value too short for Number of Frames is an error."""
    per_frame = frame_length(desc)
    expected = math.ceil(per_frame * desc.frames)
    actual = desc.end - desc.offset
    padded = expected + expected % 2
    if actual < padded:
        if actual != expected:
            short_frame = int(actual // per_frame) if per_frame else 0
            raise DecodeError(
                f"pixel data is {actual} bytes, {expected} are needed for {desc.frames} "
                f"frame(s) of {desc.rows}x{desc.columns}x{desc.samples} at "
                f"{desc.bits_allocated} bits", desc.offset, desc.tag, frame=short_frame)
        return desc.frames
    if actual > padded:
        if desc.photometric == "YBR_FULL_422":
            full = expected // 2 * 3
            if actual >= full + full % 2:
                raise DecodeError("pixel data is as long as full-resolution colour: "
                                  "Photometric Interpretation YBR_FULL_422 is wrong",
                                  desc.offset, desc.tag)
        else:
            whole = int(actual // per_frame)
            if whole > desc.frames:
                return whole
    return desc.frames


def encoded_bytes(view: memoryview, desc: PixelDescription, index: int) -> memoryview:
    """The bytes of frame `index` as stored (for bit-packed data, the bytes covering it)."""
    start, stop = _byte_span(desc, index, 1)
    return view[desc.offset + start:desc.offset + stop]


def read(view: memoryview, desc: PixelDescription, first: int, count: int,
         correct: bool = True) -> np.ndarray:
    """Frames first..first+count-1, reshaped as pydicom shapes them: (rows, columns[,
    samples]) for one frame, with a leading frame axis for several. Without `correct`, the
    bits above Bits Stored are left as stored (for a caller that corrects them itself)."""
    if desc.bits_allocated == 1:
        flat = _unpack_bits(view, desc, first, count)
    else:
        start, stop = _byte_span(desc, first, count)
        flat = _load(view, desc, start, stop)
        if desc.photometric == "YBR_FULL_422":
            flat = _upsample_422(flat)
    arr = _reshape(flat, desc, count)
    if correct and desc.corrects_unused_bits:
        arr = correct_unused_bits(arr, desc.bits_stored)
    return arr


def correct_unused_bits(arr: np.ndarray, bits_stored: int) -> np.ndarray:
    """Clear (unsigned) or sign-extend (signed) the bits above `bits_stored`, as pydicom does.

    A read-only view is first checked (one min/max pass, no copy) and returned as it is when
    every value is already what the correction would make it; only otherwise is it copied.
    Writable arrays (decoded frames) are corrected in place.
    """
    shift = arr.dtype.itemsize * 8 - bits_stored
    if not arr.flags.writeable:
        if arr.size == 0:
            return arr
        if arr.dtype.kind == "u":
            if int(arr.max()) < (1 << bits_stored):
                return arr
        else:
            limit = 1 << (bits_stored - 1)
            if -limit <= int(arr.min()) and int(arr.max()) < limit:
                return arr
        arr = arr.copy()
    np.left_shift(arr, shift, out=arr)
    np.right_shift(arr, shift, out=arr)
    return arr


def _byte_span(desc: PixelDescription, first: int, count: int) -> Tuple[int, int]:
    per_frame = frame_length(desc)
    start = math.floor(first * per_frame)
    return start, start + math.ceil(per_frame * count)


def _load(view: memoryview, desc: PixelDescription, start: int, stop: int) -> np.ndarray:
    """Bytes start..stop of the value as a flat array of the pixel type."""
    raw = view[desc.offset + start:desc.offset + stop]
    dtype = desc.dtype
    if desc.little_endian:
        arr = np.frombuffer(raw, dtype)
        arr.flags.writeable = False  # a bytearray source would otherwise hand out a writable view
        return arr
    if dtype.itemsize > 1:
        return np.frombuffer(raw, dtype.newbyteorder(">")).astype(dtype)
    if desc.tag == PIXEL_DATA and desc.vr == "OW":
        return _swap_ow_pairs(view, desc, start, stop)
    return np.frombuffer(raw, dtype)


def _swap_ow_pairs(view: memoryview, desc: PixelDescription, start: int, stop: int) -> np.ndarray:
    """8-bit samples written as OW in big endian: the bytes of each 16-bit word are swapped
    (the pad byte of an odd count too), so a frame may start or end inside a word."""
    low = start - start % 2
    high = stop + stop % 2
    words = bytes(view[desc.offset + low:min(desc.offset + high, desc.end)])
    words += bytes(high - low - len(words))  # an odd value that lacks its pad byte
    swapped = np.frombuffer(words, ">u2").astype("<u2").view(np.uint8)
    return swapped[start - low:stop - low]


def _unpack_bits(view: memoryview, desc: PixelDescription, first: int, count: int) -> np.ndarray:
    pixels = desc.frame_pixels * count
    first_bit = first * desc.frame_pixels
    start = first_bit // 8
    stop = (first_bit + pixels + 7) // 8
    raw = np.frombuffer(view[desc.offset + start:desc.offset + stop], np.uint8)
    skip = first_bit % 8
    return np.unpackbits(raw, bitorder="little")[skip:skip + pixels]


def _upsample_422(arr: np.ndarray) -> np.ndarray:
    """Y1 Y2 Cb Cr -> Y1 Cb Cr Y2 Cb Cr (PS3.3 C.7.6.3.1.2), as pydicom does."""
    out = np.empty(arr.shape[0] // 2 * 3, dtype=arr.dtype)
    out[::6] = arr[::4]
    out[3::6] = arr[1::4]
    out[1::6] = out[4::6] = arr[2::4]
    out[2::6] = out[5::6] = arr[3::4]
    return out


def _reshape(flat: np.ndarray, desc: PixelDescription, count: int) -> np.ndarray:
    rows, columns, samples = desc.rows, desc.columns, desc.samples
    lead = (count,) if count > 1 else ()
    if samples == 1:
        return flat.reshape(lead + (rows, columns))
    if desc.planar == 0:
        return flat.reshape(lead + (rows, columns, samples))
    planes = flat.reshape(lead + (samples, rows, columns))
    return planes.transpose((0, 2, 3, 1) if lead else (1, 2, 0))
