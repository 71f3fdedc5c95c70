"""Malformed input: every file under testdata/malformed raises InvalidDicomError naming the
byte offset and the tag where reading failed, whether the damage is found while scanning or
only when a value or sequence is first touched, and never any other exception.

The files are made by testdata/make_malformed.py, each the valid CT file of testdata/valid
with one defect; the offsets below follow from that layout (the file meta ends at 338, at
340 for the deflated syntax; the element headers named are where the defect was placed).
"""
from __future__ import annotations

import importlib.util
import io
import os
import sys
import tracemalloc
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import fastdcm
from fastdcm import InvalidDicomError, Sequence, reader

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
MALFORMED = TESTDATA / "malformed"
VALID = TESTDATA / "valid"

ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
REQUEST_ATTRIBUTES = 0x00400275  # its header is at 1100 in every file cut at it
PIXEL_DATA = 0x7FE00010          # its header is at 1232

# name -> (offset, tag, words of the message)
EXPECTED = {
    # Cut short.
    "empty.dcm": (0, None, "empty input"),
    "truncated_preamble.dcm": (0, None, "not DICOM"),
    "truncated_after_dicm.dcm": (132, None, "no data set after the file meta"),
    "truncated_file_meta.dcm": (158, 0x00020002, "value length past the end"),
    "truncated_header.dcm": (1232, PIXEL_DATA, "element header past the end"),
    "truncated_header_short_tail.dcm": (1232, PIXEL_DATA, "element header past the end"),
    "truncated_value.dcm": (1232, PIXEL_DATA, "value length past the end"),
    # Lengths.
    "length_past_end.dcm": (766, 0x00100020, "value length past the end"),
    "huge_length.dcm": (730, 0x00091002, "value length past the end"),
    "huge_length_big_endian.dcm": (730, 0x00091002, "value length past the end"),
    "huge_length_implicit.dcm": (724, 0x00091002, "value length past the end"),
    "huge_length_in_item.dcm": (1132, 0x00400009, "value length past the end"),
    # (0010,0020) at 766 says 7 bytes for 6: the next header is read at 781, not 780.
    "odd_length_header_misaligned.dcm": (781, 0x30004400, "value length past the end"),
    "sequence_length_past_end.dcm": (494, 0x00081140, "value length past the end"),
    "item_length_past_sequence.dcm": (506, ITEM, "item length past the end of its sequence"),
    "item_length_past_end.dcm": (1112, ITEM, "item length past the end of its sequence"),
    "length_past_item.dcm": (548, 0x00081155, "value length past the end"),
    # Delimiters and items in the wrong place.
    "item_delimiter_at_top_level.dcm": (780, ITEM_DELIMITER, "where a data element was expected"),
    "sequence_delimiter_at_top_level.dcm": (780, SEQUENCE_DELIMITER,
                                            "where a data element was expected"),
    "item_at_top_level.dcm": (780, ITEM, "where a data element was expected"),
    "sequence_delimiter_in_item.dcm": (1132, SEQUENCE_DELIMITER,
                                       "sequence delimiter inside an item"),
    "sequence_delimiter_in_defined_item.dcm": (1132, SEQUENCE_DELIMITER,
                                               "where a data element was expected"),
    "item_in_item.dcm": (1132, ITEM, "item tag inside an item"),
    "item_delimiter_in_sequence.dcm": (1140, ITEM_DELIMITER, "item delimiter outside an item"),
    "element_in_undefined_sequence.dcm": (1112, 0x00401001, "expected an item"),
    "element_in_defined_sequence.dcm": (1112, 0x00401001, "expected an item"),
    # A missing delimiter is found where the data ends (the file's length).
    "unterminated_sequence.dcm": (1140, REQUEST_ATTRIBUTES, "without its delimiter"),
    "unterminated_item.dcm": (1132, REQUEST_ATTRIBUTES, "without its delimiter"),
    "undefined_length_without_delimiter.dcm": (1308, PIXEL_DATA, "without a sequence delimiter"),
    # Nesting: 20 bytes a level (SQ header 12, item header 8). The scanner refuses to open
    # level 128 (the SQ header in the item of level 127); the facade refuses to read the
    # sequence of a data set at depth 127 and names that sequence's value offset.
    "deep_nesting_undefined.dcm": (1100 + 20 * 64, REQUEST_ATTRIBUTES, "nested too deeply"),
    "deep_nesting_defined.dcm": (1100 + 20 * 127 + 12, REQUEST_ATTRIBUTES, "nested too deeply"),
    # Not DICOM, not deflate.
    "garbage_preamble.dcm": (0, None, "not DICOM"),
    "corrupt_deflate.dcm": (340, None, "does not inflate"),
    "truncated_deflate.dcm": (340, None, "cut short"),
    # Values: the offset is the element's value offset (Element.offset).
    "infinite_integer_string.dcm": (922, 0x00200013, "infinite"),
    "odd_length_number.dcm": (1010, 0x00280010, "not a multiple of its item size"),
}
# Damage inside Pixel Data: a header-only read never gets there, and gives the whole header.
HEADER_READABLE = {"truncated_header.dcm", "truncated_header_short_tail.dcm",
                   "truncated_value.dcm", "undefined_length_without_delimiter.dcm"}
# Junk values that pydicom reads without an error: fastdcm gives the same values.
TOLERATED = ["garbage_text_values.dcm", "garbage_charset.dcm"]
# Fuzzing finds, where pydicom itself raises (ValueError, TypeError): read with the default
# repertoire, as for any unknown Specific Character Set.
REGRESSIONS = ["charset_value_with_nul.dcm", "charset_with_number_vr.dcm"]
# Pixel attributes that ask for far more than the encoded data can hold: the header reads,
# pixel decoding raises InvalidDicomError (DecodeError) without allocating gigabytes.
PIXEL_BOMBS = ["pixel_dimensions_past_compressed_data.dcm"]
BOMB = "deflate_bomb.dcm"


def materialise(ds: fastdcm.Dataset) -> int:
    """Touch every header field, value and sequence item, as a full conversion would."""
    count = 0
    for element in ds:
        element.tag, element.length, element.offset, bytes(element.raw)
        element.vr, element.keyword, element.name, element.VM
        value = element.value
        count += 1
        if isinstance(value, Sequence):
            for item in value:
                count += materialise(item)
    return count


def read_fully(source: Any, **kwargs: Any) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # junk text warns, as in pydicom
        with fastdcm.read(source, **kwargs) as ds:
            return materialise(ds.file_meta) + materialise(ds)


def sources(path: Path):
    """The same bytes as a path (mapped or read, header-only prefix), bytes and a file object."""
    data = path.read_bytes()
    return [("path", lambda: path), ("bytes", lambda: data),
            ("file", lambda: io.BytesIO(data))]


def check_error(error: InvalidDicomError, expected: tuple) -> None:
    offset, tag, words = expected
    assert (error.offset, error.tag) == (offset, tag), str(error)
    assert words in str(error)
    assert isinstance(error, ValueError)


def test_every_file_is_listed():
    listed = (set(EXPECTED) | set(TOLERATED) | set(REGRESSIONS) | set(PIXEL_BOMBS) | {BOMB})
    assert {p.name for p in MALFORMED.glob("*.dcm")} == listed


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("stop_before_pixels", [False, True], ids=["whole", "header"])
def test_malformed_file_raises_at_the_damage(name, stop_before_pixels):
    for kind, source in sources(MALFORMED / name):
        if stop_before_pixels and name in HEADER_READABLE:
            assert read_fully(source(), stop_before_pixels=True) > 0, kind
            continue
        with pytest.raises(InvalidDicomError) as caught:
            read_fully(source(), stop_before_pixels=stop_before_pixels)
        check_error(caught.value, EXPECTED[name])


@pytest.mark.parametrize("name", sorted(HEADER_READABLE))
def test_cut_in_pixel_data_keeps_the_header(name):
    with fastdcm.read(VALID / "ct_explicit_le.dcm", stop_before_pixels=True) as good:
        expected = good.keys()
    with fastdcm.read(MALFORMED / name, stop_before_pixels=True) as ds:
        assert ds.keys() == expected
    with fastdcm.read(MALFORMED / name, tags=["PatientID", "RequestAttributesSequence"]) as ds:
        assert ds.PatientID == "ID0001"


@pytest.mark.parametrize("name", TOLERATED)
def test_junk_values_read_as_pydicom_reads_them(name):
    pydicom = pytest.importorskip("pydicom")
    from compare import compare

    read_fully(MALFORMED / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = pydicom.dcmread(MALFORMED / name)
        assert compare(fastdcm.read(MALFORMED / name), reference) == []


@pytest.mark.parametrize("name", REGRESSIONS)
def test_unusable_character_set_falls_back_to_the_default(name):
    for kind, source in sources(MALFORMED / name):
        assert read_fully(source()) == 2 + 7, kind
        with pytest.warns(UserWarning, match="Specific Character Set"):
            assert fastdcm.read(source()).PatientName == "M\xfcller^Anna"


@contextmanager
def address_space_limit(extra: int):
    """Lower the soft address-space limit to what the process uses now plus `extra`, so that
    an allocation far larger than the input fails at once instead of swapping (Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("RLIMIT_AS is enforced on Linux only")
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (used + extra, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize("name", PIXEL_BOMBS)
def test_pixel_attributes_cannot_force_a_huge_allocation(name):
    with fastdcm.read(MALFORMED / name) as ds:
        materialise(ds)
        with address_space_limit(1 << 30), pytest.raises(InvalidDicomError) as caught:
            ds.pixel_array
    assert caught.value.tag == PIXEL_DATA


def test_deflate_bomb_stops_at_the_bound(monkeypatch):
    path = MALFORMED / BOMB
    # A real bomb: ~32 KiB that inflate to over 32 MiB with the default bound.
    assert path.stat().st_size < 40_000
    with fastdcm.read(path) as ds:
        assert ds[0x00091003].length == 32 << 20
    bound = 1 << 20
    monkeypatch.setattr(reader, "MAX_INFLATED_SIZE", bound)
    tracemalloc.start()
    try:
        for kind, source in sources(path):
            with pytest.raises(InvalidDicomError) as caught:
                read_fully(source())
            check_error(caught.value, (340, None, f"inflates past {bound} bytes"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * bound


def test_hostile_tables_are_not_quadratic():
    """Element VRs look up private creators and pixel attributes. With 200 000 private
    elements out of tag order and without creators, linear lookups make this test run for
    minutes (a hang for a bulk indexer); sorted lookups take well under a second."""
    import struct

    count = 200_000
    elements = b"".join(struct.pack("<HHI", 0x0009, 0xFFFF - i % 0xF000, 0) for i in range(count))
    with fastdcm.read(struct.pack("<HHI", 0x0008, 0x0005, 0) + elements) as ds:
        assert sum(1 for element in ds if element.vr == "UN") == count
        assert ds.get(0x00090FFF) is None and ds[0x0009FFFF].offset == 16


def test_valid_files_read_as_pydicom_reads_them():
    """The base the malformed files are cut from is itself right (and usable by the README)."""
    pydicom = pytest.importorskip("pydicom")
    from compare import compare

    names = sorted(p.name for p in VALID.glob("*.dcm"))
    assert names == ["ct_bare_implicit_le.dcm", "ct_deflated.dcm", "ct_explicit_be.dcm",
                     "ct_explicit_le.dcm", "ct_implicit_le.dcm"]
    for name in names:
        meta = 0 if "bare" in name else 7
        assert read_fully(VALID / name) == 33 + 9 + meta  # top level, in items, file meta
        reference = pydicom.dcmread(VALID / name, force=True)
        with fastdcm.read(VALID / name) as ds:
            assert compare(ds, reference) == [], name
            assert bytes(ds.PixelData) == reference.PixelData
            assert ds.PatientName == "M\xfcller^Anna"


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("make_malformed", TESTDATA / "make_malformed.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_committed_files_are_what_the_script_makes():
    generator = _load_generator()
    for folder, files in ((VALID, generator.valid_files()),
                          (MALFORMED, generator.malformed_files())):
        assert {p.name for p in folder.glob("*.dcm")} == set(files)
        for name, data in files.items():
            assert (folder / name).read_bytes() == data, name


def test_asking_for_the_largest_tag_reads_everything():
    """tags=[0xFFFFFFFF] once overflowed the scanner's 32-bit stop tag (OverflowError)."""
    with fastdcm.read(VALID / "ct_explicit_le.dcm", tags=[0xFFFFFFFF]) as ds:
        assert len(ds) == 33
