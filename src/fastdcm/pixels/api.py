"""ds.pixel_array, ds.frame(i), ds.num_frames, ds.encoded_frame(i) and ds.rescaled_array(),
as pydicom decodes.

The description of the pixel data and the location of every frame are worked out once per
data set and kept on it (they go with the data set). Decoded frames go
through pydicom's processing in pydicom's order: sign correction (JPEG 2000, JPEG-LS) or the
clearing of bits above Bits Stored, then YBR_FULL / YBR_FULL_422 to RGB.

Memory follows the data, not the attributes: native frames are views whose length was
checked against Rows x Columns x Number of Frames, and no encapsulated frame (nor the array
for all of them) is allocated before the codec has checked that its encoded bytes can be a
frame of that size, so a few hostile header bytes cannot ask for gigabytes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import numpy as np

from fastdcm.errors import DecodeError, InvalidDicomError
from fastdcm.pixels import color, encapsulated, jpeg, luts, native, preads, threads
from fastdcm.pixels.codecs import Codec, codec_for
from fastdcm.pixels.description import PixelDescription, describe
from fastdcm.pixels.rescale import rescale_into

if TYPE_CHECKING:
    from fastdcm.dataset import Dataset

class _State:
    """What one data set's pixel data needs, computed on first use (kept on the data set)."""

    __slots__ = ("desc", "count", "frames", "codec", "as_stored", "plain")

    def __init__(self, ds: "Dataset"):
        desc = describe(ds)
        self.desc = desc
        self.frames: Optional[List[encapsulated.Frame]] = None
        self.codec: Optional[Codec] = None
        # Native data laid out in the file as the array lays it out (little endian, whole
        # bytes, samples interleaved, no colour to convert): copy_pixels reads it straight
        # into the array. `plain`, when there are no bits to correct either, is (type,
        # bytes per frame, frame shape), for frame() to make its view without
        # native.read's general steps.
        self.as_stored = False
        self.plain: Optional[Tuple[np.dtype, int, Tuple[int, ...]]] = None
        if desc.encapsulated:
            self.codec = codec_for(desc)
            self.frames = encapsulated.locate_frames(ds._source_view(), desc,
                                                     _extended_offsets(ds))
            self.count = desc.frames
        else:
            self.count = native.frame_count(desc)
            self.as_stored = (desc.little_endian and desc.bits_allocated > 1
                              and desc.planar == 0
                              and desc.photometric not in ("YBR_FULL", "YBR_FULL_422"))
            if self.as_stored and not desc.corrects_unused_bits:
                self.plain = (desc.dtype, int(native.frame_length(desc)), desc.frame_shape)


def _state(ds: "Dataset") -> _State:
    state = ds._pixels
    if state is None:
        state = ds._pixels = _State(ds)
    return state


def num_frames(ds: "Dataset") -> int:
    """Number of Frames (1 when absent); for native data, whole frames found past it count
    too, as pydicom's pixel_array returns them."""
    return _state(ds).count


def frame(ds: "Dataset", index: int) -> np.ndarray:
    """Frame `index`, shaped (rows, columns[, samples]).

    Native little-endian frames are read-only views of the file (copy one to write to it);
    only this frame's bytes are read. Encapsulated frames are decoded alone."""
    state = _state(ds)
    index = _check_index(state, index)
    if state.plain is not None:
        dtype, length, shape = state.plain
        start = state.desc.offset + index * length
        arr = np.frombuffer(ds._source_view(start + length), dtype, length // dtype.itemsize,
                            start)
        arr.flags.writeable = False  # a bytearray source would hand out a writable view
        return arr.reshape(shape)
    view = ds._source_view()
    if state.frames is None:
        return _finish(native.read(view, state.desc, index, 1), state.desc.photometric)
    return _decode(view, state, index)


def pixel_array(ds: "Dataset") -> np.ndarray:
    """Every frame: (rows, columns[, samples]) for one frame, else (frames, rows, columns[,
    samples]); native little-endian data is a read-only view of the file."""
    state = _state(ds)
    view = ds._source_view()
    desc = state.desc
    if state.frames is None:
        return _finish(native.read(view, desc, 0, state.count), desc.photometric)
    # The array for every frame is allocated only once the data can fill it: Number of
    # Frames is no more than the frames found (each has a fragment or a table entry), and
    # every frame passes its codec's check (RLE long enough, codestream of this size).
    if len(state.frames) < state.count:
        raise DecodeError(f"the pixel data holds {len(state.frames)} frames, Number of Frames "
                          f"is {state.count}", desc.offset, desc.tag, frame=len(state.frames))
    for index in range(state.count):
        _check(view, state, index)
    out = np.empty((state.count,) + desc.frame_shape, desc.dtype)

    def decode_into(index: int) -> None:
        target = out[index]
        decoded = _decode(view, state, index, target)
        if decoded is not target:
            target[...] = decoded

    # Frames are independent and the codecs release the GIL: decode them side by side.
    if state.count > 1 and threads.count() > 1:
        list(threads.pool().map(decode_into, range(state.count)))
    else:
        for index in range(state.count):
            decode_into(index)
    extra = [arr for arr in (_decode(view, state, index)
                             for index in range(state.count, len(state.frames)))
             if arr.shape == desc.frame_shape]
    if extra:  # frames past Number of Frames, as pydicom returns them
        out = np.concatenate([out, np.stack(extra)])
    return out if out.shape[0] > 1 else out[0]


def copy_pixels(ds: "Dataset", out: Optional[np.ndarray] = None) -> np.ndarray:
    """pixel_array as a new writable array (or written into `out`, shaped and typed as
    pixel_array). Native data stored as the array lays it out is read from the file
    straight into the array (see preads); anything else is copied from pixel_array."""
    state = _state(ds)
    desc = state.desc
    path = ds._source.path
    if path is None or not state.as_stored:
        pixels = pixel_array(ds)
        if out is None:
            return np.array(pixels)
        np.copyto(out, pixels, casting="no")
        return out
    nbytes = state.count * int(native.frame_length(desc))
    shape = (state.count,) + desc.frame_shape if state.count > 1 else desc.frame_shape
    if out is None:
        aligned = desc.offset % desc.dtype.itemsize == 0
        raw = preads.aligned_empty(nbytes, desc.offset if aligned else 0)
        out = raw.view(desc.dtype).reshape(shape)
    elif out.shape != shape or out.dtype != desc.dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {desc.dtype} array shaped {shape}")
    ds._source_view()  # raises when the data set is closed
    try:
        preads.pread_into(path, out, desc.offset)
    except (OSError, ValueError) as exc:
        raise DecodeError(f"cannot read the pixel data: {exc}", desc.offset, desc.tag) from exc
    if desc.corrects_unused_bits:
        native.correct_unused_bits(out, desc.bits_stored)  # in place: `out` is writable
    return out


def for_rescale(ds: "Dataset", index: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """Frame `index` (every frame when None) for fastdcm.pixels.rescale.rescale_into, and
    the Bits Stored it is to correct them by: native monochrome data as stored (a view,
    its high bits left for the rescale to clear in the same pass), anything else as
    ``frame``/``pixel_array`` give it, with 0."""
    state = _state(ds)
    desc = state.desc
    if (state.frames is None and desc.little_endian and desc.samples == 1
            and desc.bits_allocated > 1):
        first, count = (0, state.count) if index is None else (_check_index(state, index), 1)
        stored = native.read(ds._source_view(), desc, first, count, correct=False)
        return stored, desc.bits_stored if desc.corrects_unused_bits else 0
    return (pixel_array(ds) if index is None else frame(ds, index)), 0


def rescaled_array(ds: "Dataset", index: Optional[int] = None, dtype: Any = np.float32,
                   out: Optional[np.ndarray] = None) -> np.ndarray:
    """Frame `index` (every frame when None) in modality units, in `dtype`: what
    ``apply_modality_lut(pixel_array, ds)`` gives, computed in `dtype`'s precision as
    ``arr.astype(dtype) * slope + intercept``. Native monochrome data goes from the file's
    bytes to `out` in one pass (see fastdcm._convert); a new writable array unless `out`
    (shaped as the frames) is given."""
    stored, bits_stored = for_rescale(ds, index)
    if out is None:
        out = np.empty(stored.shape, dtype)
    elif out.shape != stored.shape:
        raise ValueError(f"out is shaped {out.shape}, the pixels {stored.shape}")
    if ds.get_value("ModalityLUTSequence"):
        if bits_stored:
            stored = native.correct_unused_bits(stored, bits_stored)
        np.copyto(out, luts.apply_modality_lut(stored, ds), casting="unsafe")
        return out
    parameters = luts.rescale_parameters(ds)
    slope, intercept = parameters if parameters is not None else (None, None)
    rescale_into(out, stored, slope, intercept, bits_stored)
    return out


def encoded_frame(ds: "Dataset", index: int) -> memoryview:
    """The bytes of frame `index` as stored, for callers with their own decoder (a GPU
    decoder, a web viewer): a view of the file when the frame is one fragment (or native),
    else its fragments joined."""
    state = _state(ds)
    index = _check_index(state, index)
    view = ds._source_view()
    if state.frames is None:
        return native.encoded_bytes(view, state.desc, index)
    return encapsulated.frame_bytes(view, state.frames[index])


def _check_index(state: _State, index: int) -> int:
    limit = state.count if state.frames is None else max(state.count, len(state.frames))
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
        raise TypeError(f"frame index must be an int, not {type(index).__name__}")
    if index < 0:
        index += limit
    if not 0 <= index < limit:
        raise IndexError(f"frame {index} out of range: the data set has {limit} frame(s)")
    if state.frames is not None and index >= len(state.frames):
        raise DecodeError(f"the pixel data holds only {len(state.frames)} frames",
                          state.desc.offset, state.desc.tag, frame=index)
    return int(index)


def _check(view: memoryview, state: _State, index: int) -> None:
    """The codec's check of frame `index`, without decoding it (see codecs)."""
    assert state.frames is not None and state.codec is not None
    try:
        state.codec.check(encapsulated.frame_bytes(view, state.frames[index]), state.desc)
    except Exception as exc:  # ValueError by contract; anything else is named the same way
        raise _named(state.codec, state.desc, index, exc) from exc


def _named(codec: Codec, desc: PixelDescription, index: int, exc: Exception) -> DecodeError:
    return DecodeError(f"{codec.name} decoding failed: {exc}", desc.offset, desc.tag,
                       frame=index)


def _decode(view: memoryview, state: _State, index: int,
            out: Optional[np.ndarray] = None) -> np.ndarray:
    assert state.frames is not None
    return decode_frame(encapsulated.frame_bytes(view, state.frames[index]), state.desc,
                        index, out)


def decode_frame(data: Any, desc: PixelDescription, index: int = 0,
                 out: Optional[np.ndarray] = None) -> np.ndarray:
    """Encoded frame `index` decoded and processed exactly as ds.frame(index) gives it, for
    callers that fetched the bytes themselves (a loader reading a frame at the offset a bulk
    index gives, without parsing the file). Decoders that can write into `out` (shaped and
    typed as the frame) do, and then `out` is what is returned."""
    codec = codec_for(desc)
    try:
        arr, photometric = codec.decode(data, desc, out)
    except (InvalidDicomError, MemoryError):
        raise
    except Exception as exc:  # the libraries raise their own types
        raise _named(codec, desc, index, exc) from exc
    if arr is not out:
        arr = _conform(arr, desc, index)
    arr = _correct(arr, data, desc)
    return _finish(arr, photometric)


def _conform(arr: np.ndarray, desc: PixelDescription, index: int) -> np.ndarray:
    """The decoded samples in the data set's pixel type and shape, as pydicom reads the
    decoder's output: reinterpreted with the data set's signedness, then widened."""
    if arr.size != desc.frame_pixels:
        raise DecodeError(f"decoded frame has {arr.size} samples, {desc.frame_pixels} "
                          "expected", desc.offset, desc.tag, frame=index)
    dtype = desc.dtype
    if arr.dtype.kind in "ui" and arr.dtype.itemsize <= dtype.itemsize:
        arr = arr.view(f"{dtype.kind}{arr.dtype.itemsize}")
    if arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr.reshape(desc.frame_shape)


def _correct(arr: np.ndarray, data: Any, desc: PixelDescription) -> np.ndarray:
    """pydicom's sign correction for JPEG 2000 (monochrome) and JPEG-LS (signed), else its
    clearing of the bits above Bits Stored."""
    syntax = desc.transfer_syntax
    if syntax in jpeg.J2K_SYNTAXES:
        if desc.photometric in ("MONOCHROME1", "MONOCHROME2"):
            precision, signed = jpeg.precision_and_sign(data, desc)
            shift = arr.dtype.itemsize * 8 - precision
            if signed is None:
                signed = desc.signed
            if shift > 0 and signed != desc.signed:
                _shift(arr, shift)
        return arr
    if syntax in jpeg.JPEG_LS_SYNTAXES:
        if desc.signed:
            precision, _ = jpeg.precision_and_sign(data, desc)
            shift = arr.dtype.itemsize * 8 - precision
            if shift > 0:
                _shift(arr, shift)
        return arr
    if desc.corrects_unused_bits:
        return native.correct_unused_bits(arr, desc.bits_stored)
    return arr


def _shift(arr: np.ndarray, shift: int) -> None:
    np.left_shift(arr, shift, out=arr)
    np.right_shift(arr, shift, out=arr)


def _finish(arr: np.ndarray, photometric: str) -> np.ndarray:
    if (photometric in ("YBR_FULL", "YBR_FULL_422") and arr.dtype == np.uint8
            and arr.ndim >= 3 and arr.shape[-1] == 3):
        return color.ybr_to_rgb(arr)
    return arr


def _extended_offsets(ds: "Dataset") -> Optional[Tuple[bytes, bytes]]:
    if encapsulated.EXTENDED_OFFSET_TABLE in ds and \
            encapsulated.EXTENDED_OFFSET_TABLE_LENGTHS in ds:
        return (bytes(ds[encapsulated.EXTENDED_OFFSET_TABLE].raw),
                bytes(ds[encapsulated.EXTENDED_OFFSET_TABLE_LENGTHS].raw))
    return None
