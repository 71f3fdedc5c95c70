"""Pixel data against pydicom: every file of the conformance set that pydicom decodes (with
pylibjpeg and its plugins installed, as the test extra does) gives the same array through
``pixel_array`` and through every ``frame(i)``: exact for lossless transfer syntaxes, mean
absolute difference at most 1 for lossy ones, same shape and dtype.

One deliberate difference: pydicom returns big-endian data in a big-endian dtype (``>u2``);
fastdcm returns it byte-swapped into the machine's order, which is what numpy code, torch
and every decoder downstream expect. The values are the same, and so is the dtype otherwise.
"""
from __future__ import annotations

import ctypes
import functools
import importlib.util
import mmap
import os
import tracemalloc
import warnings
from pathlib import Path

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st

import fastdcm
from fastdcm.pixels.codecs import REGISTRY
from prefix_reads import whole_reads_from_a_prefix
from reference_files import file_id, reference_files

pydicom = pytest.importorskip("pydicom")

FILES = reference_files()


def pydicom_pixels(path):
    """pydicom's pixel_array for a file, or None when pydicom does not decode it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
                return None, None
            return ds.pixel_array, str(ds.file_meta.get("TransferSyntaxUID", ""))
        except Exception:
            return None, None


def assert_same_pixels(ours: np.ndarray, theirs: np.ndarray, lossy: bool, what: str) -> None:
    assert ours.shape == theirs.shape, what
    assert ours.dtype == theirs.dtype.newbyteorder("="), what
    if lossy:
        diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64)).mean()
        assert diff <= 1, f"{what}: mean absolute difference {diff}"
    else:
        assert np.array_equal(ours, theirs), what


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_pixels_as_pydicom(path):
    reference, syntax = pydicom_pixels(path)
    if reference is None:
        pytest.skip("pydicom does not decode this file")
    codec = REGISTRY.get(syntax)
    lossy = codec is not None and codec.lossy
    with fastdcm.read(path) as ds:
        assert_same_pixels(ds.pixel_array, reference, lossy, "pixel_array")
        count = ds.num_frames
        frames = reference if count > 1 else reference[np.newaxis]
        assert count == len(frames)
        for index in range(count):
            assert_same_pixels(ds.frame(index), frames[index], lossy, f"frame {index}")


def pydicom_modality(path):
    """pydicom's pixel_array through its apply_modality_lut, or None when it fails."""
    from pydicom.pixels import apply_modality_lut

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            return apply_modality_lut(ds.pixel_array, ds)
        except Exception:
            return None


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_rescaled_array_as_pydicom(path):
    """rescaled_array in float64 is pydicom's apply_modality_lut(pixel_array); every frame
    alone is the same frame of it."""
    reference = pydicom_modality(path)
    if reference is None:
        pytest.skip("pydicom does not decode this file")
    _, syntax = pydicom_pixels(path)
    codec = REGISTRY.get(syntax)
    lossy = codec is not None and codec.lossy
    with fastdcm.read(path) as ds:
        expected = reference.astype(np.float64)
        assert_same_pixels(ds.rescaled_array(dtype=np.float64), expected, lossy, "all")
        frames = expected if ds.num_frames > 1 else expected[np.newaxis]
        for index in range(ds.num_frames):
            out = np.empty(frames[index].shape, np.float64)
            assert ds.rescaled_array(index, np.float64, out=out) is out
            assert_same_pixels(out, frames[index], lossy, f"frame {index}")


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_copy_pixels_is_a_writable_pixel_array(path, monkeypatch):
    """Equal to pixel_array, writable, and the same when the file is read in many chunks
    on threads (the split size lowered so that these small files are split too)."""
    from fastdcm.pixels import preads

    reference, _ = pydicom_pixels(path)
    if reference is None:
        pytest.skip("pydicom does not decode this file")
    with fastdcm.read(path) as ds:
        pixels = ds.pixel_array
        copy = ds.copy_pixels()
        assert copy.flags.writeable and copy.dtype == pixels.dtype
        assert np.array_equal(copy, pixels)
        monkeypatch.setattr(preads, "SPLIT_BYTES", 4096)
        out = np.zeros_like(copy)
        assert ds.copy_pixels(out) is out and np.array_equal(out, pixels)


def test_rescaled_array_corrects_high_bits_in_one_pass(tmp_path):
    """Bits Stored 12 with high bits set, signed and unsigned: float32 Hounsfield units
    equal to numpy's arithmetic on pydicom's corrected pixel_array."""
    for signed in (0, 1):
        path = tmp_path / f"dirty{signed}.dcm"
        write_multiframe(path, 3, 8, 8)
        reference = pydicom.dcmread(path)
        reference.BitsStored, reference.HighBit = 12, 11
        reference.PixelRepresentation = signed
        reference.RescaleSlope, reference.RescaleIntercept = "0.5", "-1024"
        raw = np.frombuffer(reference.PixelData, np.uint16).copy()
        raw[::7] |= 0xF000
        raw[1::5] |= 0x0800
        reference.PixelData = raw.tobytes()
        reference.save_as(path)
        expected = pydicom.dcmread(path).pixel_array.astype(np.float32)
        expected = expected * np.float32(0.5) + np.float32(-1024)
        with fastdcm.read(path) as ds:
            assert np.array_equal(ds.rescaled_array(), expected)
            assert np.array_equal(ds.rescaled_array(2), expected[2])
            with pytest.raises(ValueError, match="fractional"):
                ds.rescaled_array(dtype=np.int32)
            copy = ds.copy_pixels()
            assert copy.flags.writeable and np.array_equal(copy, ds.pixel_array)


def encapsulated_files():
    out = []
    for path in FILES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, force=True)
                syntax = ds.file_meta.get("TransferSyntaxUID")
                if syntax is not None and syntax.is_encapsulated and "PixelData" in ds:
                    out.append(path)
            except Exception:
                pass
    return out


@pytest.mark.parametrize("path", encapsulated_files(), ids=file_id)
def test_encoded_frames_as_pydicom(path):
    """encoded_frame(i) gives the bytes pydicom's get_frame gives for every frame."""
    from pydicom.encaps import get_frame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = pydicom.dcmread(path, force=True)
        count = int(reference.get("NumberOfFrames") or 1)
        try:
            expected = [get_frame(reference.PixelData, i, number_of_frames=count)
                        for i in range(count)]
        except Exception:
            pytest.skip("pydicom cannot split this file into frames")
    try:
        ds = fastdcm.read(path)
    except fastdcm.InvalidDicomError:
        pytest.skip("rejected by the reader (see test_conformance.REJECTED)")
    with ds:
        assert [bytes(ds.encoded_frame(i)) for i in range(count)] == expected


# -- zero copy ------------------------------------------------------------------------------

PAGE = mmap.PAGESIZE


def new_dataset(syntax: str, sop_class: str):
    """An empty pydicom data set with file meta for `syntax`, ready for pixel attributes."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    return ds


def write_multiframe(path, frames: int, rows: int, columns: int) -> np.ndarray:
    """A native 16-bit multi-frame file whose frame i holds the value i everywhere."""
    ds = new_dataset("1.2.840.10008.1.2.1", "1.2.840.10008.5.1.4.1.1.7.3")
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.NumberOfFrames, ds.Rows, ds.Columns = frames, rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    pixels = np.repeat(np.arange(frames, dtype=np.uint16), rows * columns)
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return pixels.reshape(frames, rows, columns)


def resident(path) -> np.ndarray:
    """Which pages of the file are in the page cache (mincore over a fresh mapping)."""
    libc = ctypes.CDLL(None, use_errno=True)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    view = np.frombuffer(mapping, np.uint8)
    pages = (size + PAGE - 1) // PAGE
    vector = (ctypes.c_ubyte * pages)()
    if libc.mincore(ctypes.c_void_p(view.ctypes.data), ctypes.c_size_t(size), vector) != 0:
        pytest.skip(f"mincore failed: errno {ctypes.get_errno()}")
    del view
    mapping.close()
    return np.frombuffer(bytes(vector), np.uint8) & 1 == 1


def evict(path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def test_native_frame_is_a_read_only_view(tmp_path):
    path = tmp_path / "multiframe.dcm"
    expected = write_multiframe(path, 4, 600, 500)  # 600 KB frames: the file is mapped
    with fastdcm.read(path) as ds:
        frame = ds.frame(2)
        everything = ds.pixel_array
        assert not frame.flags.writeable and not everything.flags.writeable
        assert np.shares_memory(frame, everything)  # both views of the one mapping
        assert frame.__array_interface__["data"][0] == everything[2].__array_interface__["data"][0]
        assert np.array_equal(frame, expected[2])
        with pytest.raises(ValueError):
            frame[0, 0] = 1
    # closing the data set does not take the memory from under the arrays handed out
    assert np.array_equal(frame, expected[2]) and np.array_equal(everything, expected)


def test_frame_reads_only_its_own_pages(tmp_path):
    """Reading frame i of a mapped native file reads only that frame's pages: with the page
    cache emptied and the kernel's readahead switched off for fastdcm's mapping (it would
    otherwise fetch megabytes around every fault on its own account), mincore shows frame 8
    in memory and every frame away from the header still on disk."""
    path = tmp_path / "big.dcm"
    frames, rows, columns = 16, 1024, 1024  # 2 MB per frame
    write_multiframe(path, frames, rows, columns)
    evict(path)
    if resident(path).any():
        pytest.skip("the page cache could not be emptied for the file")
    frame_bytes = rows * columns * 2
    with fastdcm.read(path) as ds:
        ds._source_view()  # maps the file (its header was read, not mapped)
        ds._source._mmap.madvise(mmap.MADV_RANDOM)
        start = ds[0x7FE00010].offset
        assert int(ds.frame(8).sum()) == 8 * rows * columns  # every pixel of frame 8 read
        pages = resident(path)
    first = lambda i: (start + i * frame_bytes) // PAGE  # noqa: E731
    assert pages[first(8):first(9)].all()
    # Reading the header came with readahead from the start of the file (before the
    # madvise): frames within 8 MB of it are left out.
    far = [i for i in range(5, frames) if i != 8]
    assert [i for i in far if pages[first(i) + 1:first(i + 1) - 1].any()] == []


def test_bytearray_source_gives_read_only_views():
    path = next(p for p in FILES if file_id(p) == "test_files/CT_small.dcm")
    data = bytearray(path.read_bytes())
    ds = fastdcm.read(data)
    assert not ds.pixel_array.flags.writeable


def test_high_bits_are_cleared_only_in_a_copy(tmp_path):
    """Bits Stored 12: a view when the high bits are already clear, a corrected copy when
    they are not (as pydicom masks them)."""
    path = tmp_path / "bits12.dcm"
    write_multiframe(path, 2, 4, 4)
    reference = pydicom.dcmread(path)
    reference.BitsStored, reference.HighBit = 12, 11
    clean = tmp_path / "clean.dcm"
    reference.save_as(clean)
    with fastdcm.read(clean) as ds:
        assert not ds.pixel_array.flags.writeable
    raw = np.frombuffer(reference.PixelData, np.uint16).copy()
    raw[5] |= 0xF000
    reference.PixelData = raw.tobytes()
    dirty = tmp_path / "dirty.dcm"
    reference.save_as(dirty)
    with fastdcm.read(dirty) as ds:
        pixels = ds.pixel_array
        assert pixels.flags.writeable and np.array_equal(pixels, pydicom.dcmread(dirty).pixel_array)
        assert np.array_equal(ds.frame(0), pydicom.dcmread(dirty).pixel_array[0])


# -- malformed pixel data -------------------------------------------------------------------

MALFORMED = Path(__file__).resolve().parent.parent / "testdata" / "malformed_pixels"
# name -> the frame the DecodeError must name (None: the image attributes are at fault)
BAD = {
    "bad_native_too_short.dcm": 2,
    "bad_bits_allocated_12.dcm": None,
    "bad_bits_stored_over_allocated.dcm": None,
    "bad_samples_per_pixel_2.dcm": None,
    "bad_photometric_unknown.dcm": None,
    "bad_rows_missing.dcm": None,
    "bad_bot_past_fragments.dcm": 1,
    "bad_bot_not_increasing.dcm": 1,
    "bad_bot_length_not_multiple_of_4.dcm": None,
    "bad_eot_past_end.dcm": 1,
    "bad_fewer_fragments_than_frames.dcm": 2,
    "bad_no_fragments.dcm": 0,
    # RLE: frame 0 is good, frame 1 damaged. pydicom (through pylibjpeg-rle) decodes the
    # next two: a segment offset inside the 64-byte header and a segment count of 2**32 - 1
    # are both damage, and decoding them gives whatever the bytes happen to be.
    "bad_rle_segment_offset_past_frame.dcm": 1,
    "bad_rle_segment_offset_in_header.dcm": 1,
    "bad_rle_huge_segment_count.dcm": 1,
    "bad_rle_segment_offsets_decreasing.dcm": 1,
    "bad_rle_segment_count.dcm": 1,
    "bad_rle_segment_short.dcm": 1,
    "bad_rle_header_cut_short.dcm": 1,
    "bad_jpeg_garbage.dcm": 0,
    "bad_j2k_garbage.dcm": 0,
    # attributes asking for gigabytes over a few bytes (see test_hostile_sizes_allocate_little)
    "bad_native_rows_columns_huge.dcm": 0,
    "bad_rle_rows_columns_huge.dcm": 0,
    "bad_rle_number_of_frames_huge.dcm": 2,
    "bad_jpeg_rows_columns_huge.dcm": 0,
    "bad_jpeg_frames_without_header.dcm": 1,
    "bad_j2k_components.dcm": 0,
}
HOSTILE_SIZES = ["bad_native_rows_columns_huge.dcm", "bad_rle_rows_columns_huge.dcm",
                 "bad_rle_number_of_frames_huge.dcm", "bad_jpeg_rows_columns_huge.dcm",
                 "bad_jpeg_frames_without_header.dcm", "bad_j2k_components.dcm"]
TOLERATED = ["tolerated_native_odd_no_pad.dcm", "tolerated_native_trailing_padding.dcm",
             "tolerated_native_excess_frame.dcm", "tolerated_bot_inside_fragment.dcm",
             "tolerated_rle_segment_padding.dcm"]


def test_malformed_pixel_files_are_all_listed():
    assert sorted(p.name for p in MALFORMED.glob("*.dcm")) == sorted([*BAD, *TOLERATED])


def test_malformed_pixel_files_are_current():
    spec = importlib.util.spec_from_file_location(
        "make_malformed_pixels", MALFORMED.parent / "make_malformed_pixels.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    for name, data in generator.files().items():
        assert (MALFORMED / name).read_bytes() == data, name


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_pixel_data_raises_decode_error(name):
    if "jpeg" in name or "j2k" in name:
        pytest.importorskip("imagecodecs")
    with fastdcm.read(MALFORMED / name) as ds:
        with pytest.raises(fastdcm.DecodeError) as raised:
            ds.pixel_array
        assert isinstance(raised.value, fastdcm.InvalidDicomError)
        assert raised.value.frame == BAD[name], str(raised.value)
        frame = BAD[name]
        if frame is not None:
            assert f"frame {frame}" in str(raised.value)
            with pytest.raises(fastdcm.DecodeError):
                ds.frame(frame)
            if name.startswith("bad_rle") and frame:  # a damaged frame does not spoil the others
                assert ds.frame(0).shape == (4, 4)


@pytest.mark.parametrize("name", HOSTILE_SIZES)
def test_hostile_sizes_allocate_little(name):
    """Image attributes asking for 256 MiB to 250 GiB over at most 13 KB of data (too few
    native or RLE bytes, too few fragments, codestreams stating another size, none, or more
    components): pixel_array and the frame at fault raise DecodeError having allocated next
    to nothing, as each frame is checked against its data before any array is made for it."""
    if "jpeg" in name or "j2k" in name:
        pytest.importorskip("imagecodecs")
    path = MALFORMED / name
    with fastdcm.read(path) as ds:
        tracemalloc.start()
        try:
            for get in (lambda: ds.pixel_array, lambda: ds.frame(BAD[name])):
                with pytest.raises(fastdcm.DecodeError):
                    get()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert path.stat().st_size < 16_000
    assert peak < 1 << 20, f"{peak} bytes allocated"


@pytest.mark.parametrize("name", TOLERATED)
def test_tolerated_pixel_data_as_pydicom(name):
    reference = pydicom.dcmread(MALFORMED / name)
    if reference.file_meta.TransferSyntaxUID.is_encapsulated:
        reference.pixel_array_options(decoding_plugin="pydicom")  # pydicom's own RLE decoder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reference.pixel_array
    with fastdcm.read(MALFORMED / name) as ds:
        assert_same_pixels(ds.pixel_array, expected, False, name)
        frames = expected if expected.ndim == 3 else expected[np.newaxis]
        for index, frame in enumerate(frames):
            assert np.array_equal(ds.frame(index), frame)


def test_missing_codec_names_the_extra(monkeypatch):
    from fastdcm.pixels import codecs

    monkeypatch.setattr(codecs, "_installed", lambda module: False)
    path = next(p for p in FILES if file_id(p) == "test_files/JPEG2000.dcm")
    with fastdcm.read(path) as ds:
        with pytest.raises(ImportError, match=r"fastdcm\[jpeg\]"):
            ds.pixel_array


# -- LUT helpers ----------------------------------------------------------------------------

LUT_KEYWORDS = ("ModalityLUTSequence", "RescaleSlope", "VOILUTSequence", "WindowCenter",
                "RedPaletteColorLookupTableDescriptor")


def lut_files():
    out = []
    for path in FILES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
            except Exception:
                continue
        if any(keyword in ds for keyword in LUT_KEYWORDS):
            out.append(path)
    return out


def same_or_both_fail(ours, theirs):
    """Run both; when pydicom's succeeds fastdcm's must give the same array."""
    try:
        expected = theirs()
    except Exception:
        return
    result = ours()
    assert result.dtype.newbyteorder("=") == expected.dtype.newbyteorder("=")
    assert result.shape == expected.shape
    assert np.array_equal(result, expected, equal_nan=True)


@pytest.mark.parametrize("path", lut_files(), ids=file_id)
def test_lut_helpers_as_pydicom(path):
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

    reference_pixels, _ = pydicom_pixels(path)
    if reference_pixels is None:
        pytest.skip("pydicom does not decode this file")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = pydicom.dcmread(path, force=True)
        with fastdcm.read(path) as ds:
            pixels = ds.pixel_array
            same_or_both_fail(lambda: fastdcm.apply_modality_lut(pixels, ds),
                              lambda: apply_modality_lut(reference_pixels, reference))
            try:
                modality = apply_modality_lut(reference_pixels, reference)
            except Exception:
                modality = reference_pixels
            for prefer_lut in (True, False):
                same_or_both_fail(
                    lambda: fastdcm.apply_voi_lut(modality, ds, prefer_lut=prefer_lut),
                    lambda: apply_voi_lut(modality, reference, prefer_lut=prefer_lut))
            if reference.get("PhotometricInterpretation") == "PALETTE COLOR":
                same_or_both_fail(lambda: fastdcm.apply_color_lut(pixels, ds),
                                  lambda: apply_color_lut(reference_pixels, reference))


def test_lut_helpers_cover_every_kind():
    """The files above exercise each kind of LUT (a guard against an empty parametrisation)."""
    names = {file_id(p) for p in lut_files()}
    assert {"data/mlut_18.dcm", "data/vlut_04.dcm", "test_files/CT_small.dcm",
            "data/gdcm-US-ALOKA-16.dcm", "test_files/examples_palette.dcm"} <= names


# -- encapsulation layouts and codecs the file set lacks ------------------------------------

def encapsulated_dataset(tmp_path, syntax, frames, layout, **attributes):
    """A file whose frames are laid out as `layout` says: "bot" (2 fragments per frame and
    a Basic Offset Table), "eoi" (the same without the table: frames end at FF D9), "eot"
    (an Extended Offset Table) or "one" (one fragment per frame, no table)."""
    from pydicom.encaps import encapsulate, encapsulate_extended

    ds = new_dataset(syntax, "1.2.840.10008.5.1.4.1.1.7")
    ds.NumberOfFrames = len(frames)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    if layout == "eot":
        ds.PixelData, ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = \
            encapsulate_extended(frames)
    else:
        ds.PixelData = encapsulate(frames, fragments_per_frame=1 if layout == "one" else 2,
                                   has_bot=layout == "bot")
    ds["PixelData"].VR = "OB"
    path = tmp_path / f"{layout}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def grey(rows=32, columns=48, bits=12, seed=0):
    rng = np.random.default_rng(seed)
    ramp = np.add.outer(np.arange(rows), np.arange(columns)) * 7
    return ((ramp + rng.integers(0, 50, (rows, columns))) % (1 << bits)).astype(np.uint16)


MONO12 = dict(SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2", Rows=32, Columns=48,
              BitsAllocated=16, BitsStored=12, HighBit=11, PixelRepresentation=0)
CASES = {
    "jpeg_baseline": ("1.2.840.10008.1.2.4.50", True),
    "jpeg_lossless": ("1.2.840.10008.1.2.4.70", False),
    "jpeg_ls": ("1.2.840.10008.1.2.4.80", False),
    "j2k": ("1.2.840.10008.1.2.4.90", False),
    "htj2k": ("1.2.840.10008.1.2.4.201", False),
    "htj2k_rpcl": ("1.2.840.10008.1.2.4.202", False),
}


def encode(kind, frame):
    codecs = pytest.importorskip("imagecodecs")
    if kind == "jpeg_baseline":
        return codecs.jpeg8_encode(frame, level=95, colorspace="RGB", outcolorspace="YCbCr",
                                   subsampling="422")
    if kind == "jpeg_lossless":
        return codecs.jpeg8_encode(frame, lossless=True, predictor=1, bitspersample=12)
    if kind == "jpeg_ls":
        return codecs.jpegls_encode(frame, level=0)
    if kind == "j2k":
        return codecs.jpeg2k_encode(frame, level=0, codecformat="J2K", reversible=True,
                                    bitspersample=12)
    return codecs.htj2k_encode(frame, reversible=True)


@pytest.mark.parametrize("layout", ["bot", "eoi", "eot", "one"])
@pytest.mark.parametrize("kind", sorted(CASES))
def test_generated_encapsulation_as_pydicom(tmp_path, kind, layout):
    syntax, lossy = CASES[kind]
    if kind == "jpeg_baseline":
        attributes = dict(SamplesPerPixel=3, PhotometricInterpretation="YBR_FULL_422",
                          PlanarConfiguration=0, Rows=32, Columns=48, BitsAllocated=8,
                          BitsStored=8, HighBit=7, PixelRepresentation=0)
        images = [np.stack([(grey(seed=i) >> 4).astype(np.uint8)] * 3, axis=-1)
                  for i in range(3)]
    else:
        attributes = MONO12
        images = [grey(seed=i) for i in range(3)]
    frames = [encode(kind, image) for image in images]
    path = encapsulated_dataset(tmp_path, syntax, frames, layout, **attributes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pydicom.dcmread(path).pixel_array
    with fastdcm.read(path) as ds:
        assert_same_pixels(ds.pixel_array, expected, lossy, "pixel_array")
        for index in range(3):
            assert_same_pixels(ds.frame(index), expected[index], lossy, f"frame {index}")
            assert bytes(ds.encoded_frame(index)).rstrip(b"\0") == frames[index].rstrip(b"\0")
    if not lossy:
        assert np.array_equal(expected, np.stack(images))


def test_jpeg_fill_bytes_before_a_marker(tmp_path):
    """0xFF fill bytes may precede any marker (T.81 B.1.1.2): the frame header is still
    found, so the size check does not refuse a codestream the library decodes."""
    data = encode("jpeg_lossless", grey())
    at = data.index(b"\xff\xc3")  # SOF3
    data = data[:at] + b"\xff\xff" + data[at:]
    path = encapsulated_dataset(tmp_path, CASES["jpeg_lossless"][0], [data], "one", **MONO12)
    with fastdcm.read(path) as ds:
        assert np.array_equal(ds.pixel_array, grey())


# -- fuzzing --------------------------------------------------------------------------------

FUZZ_BASES = ["test_files/MR_small_RLE.dcm", "test_files/SC_rgb_rle_2frame.dcm",
              "data/emri_small_RLE.dcm", "data/emri_small_jpeg_ls_lossless.dcm",
              "data/emri_small_jpeg_2k_lossless.dcm", "test_files/SC_rgb_small_odd_jpeg.dcm",
              "test_files/JPEGLSNearLossless_08.dcm", "test_files/liver_1frame.dcm",
              "test_files/SC_ybr_full_422_uncompressed.dcm"]
HOSTILE = [0, 1, 63, 64, 65, 0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFF0, 15, 16]


@functools.lru_cache(maxsize=None)
def fuzz_base(name: str):
    """A base file's bytes and where its pixel element's value lies."""
    path = next(p for p in FILES if file_id(p) == name)
    data = path.read_bytes()
    with fastdcm.read(data) as ds:
        element = ds[0x7FE00010]
        return data, element.offset, element._end


@hypothesis.settings(max_examples=int(os.environ.get("FASTDCM_FUZZ_EXAMPLES", "300")),
                     derandomize=True, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow])
@hypothesis.given(st.sampled_from(FUZZ_BASES), st.data())
def test_damaged_pixel_data_raises_only_invalid_dicom_error(name, data):
    """Bytes of the pixel value overwritten (RLE headers, offset tables, item lengths,
    codestreams): decoding every frame gives arrays or InvalidDicomError, nothing else."""
    raw, start, end = fuzz_base(name)
    damaged = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(start, end - 1))
        if data.draw(st.booleans()) and at + 4 <= end:
            damaged[at:at + 4] = data.draw(st.sampled_from(HOSTILE)).to_bytes(4, "little")
        else:
            damaged[at] = data.draw(st.integers(0, 255))
    try:
        with fastdcm.read(bytes(damaged)) as ds:
            for index in range(ds.num_frames):
                try:
                    ds.frame(index)
                except fastdcm.InvalidDicomError:
                    pass
            for whole in (lambda: ds.pixel_array, ds.rescaled_array, ds.copy_pixels):
                try:
                    whole()
                except fastdcm.InvalidDicomError:
                    pass
    except fastdcm.InvalidDicomError:
        pass


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"])
@pytest.mark.parametrize("keyword, dtype", [("FloatPixelData", np.float32),
                                            ("DoubleFloatPixelData", np.float64)])
def test_float_pixel_data_as_pydicom(tmp_path, syntax, keyword, dtype):
    ds = new_dataset(syntax, "1.2.840.10008.5.1.4.1.1.30")
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.NumberOfFrames, ds.Rows, ds.Columns = 2, 3, 5
    ds.BitsAllocated = np.dtype(dtype).itemsize * 8
    values = np.linspace(-2.5, 7.25, 30, dtype=dtype)
    order = "<" if syntax.endswith("2.1") else ">"
    setattr(ds, keyword, values.astype(values.dtype.newbyteorder(order)).tobytes())
    path = tmp_path / "float.dcm"
    ds.save_as(path, enforce_file_format=True)
    expected = pydicom.dcmread(path).pixel_array
    with fastdcm.read(path) as ds:
        assert_same_pixels(ds.pixel_array, expected, False, keyword)
        assert np.array_equal(ds.pixel_array, values.reshape(2, 3, 5))
        assert np.array_equal(ds.frame(1), expected[1])


def pixels_or_error(path):
    try:
        with fastdcm.read(path) as ds:
            return [np.array(ds.frame(i)) for i in range(ds.num_frames)], np.array(ds.pixel_array)
    except fastdcm.InvalidDicomError as exc:
        return type(exc).__name__


def test_pixels_equal_when_read_from_a_header_prefix():
    """Every reference file gives the same frames (or the same error) read whole as when it
    is read from a 4 KB prefix, its pixels mapped only when wanted (fastdcm._source)."""
    expected = {path: pixels_or_error(path) for path in FILES}
    with whole_reads_from_a_prefix():
        got_all = {path: pixels_or_error(path) for path in FILES}
    for path in FILES:
        got = got_all[path]
        if isinstance(got, str) or isinstance(expected[path], str):
            assert got == expected[path], file_id(path)
            continue
        (frames, whole), (frames_expected, whole_expected) = got, expected[path]
        assert np.array_equal(whole, whole_expected), file_id(path)
        assert all(np.array_equal(a, b) for a, b in zip(frames, frames_expected, strict=True))
