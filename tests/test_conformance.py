"""Conformance: every file pydicom reads, fastdcm reads to the same elements, VRs and values."""
from __future__ import annotations

import warnings

import pytest

import fastdcm
from compare import compare
from prefix_reads import whole_reads_from_a_prefix
from reference_files import file_id, reference_files

pydicom = pytest.importorskip("pydicom")

FILES = reference_files()

# Files pydicom (force=True) returns something for and fastdcm rejects, and why that is right:
# a bulk indexer must learn that a file is cut short or is not DICOM, not get a quiet guess.
REJECTED = {
    "test_files/MR_truncated.dcm": "Pixel Data runs past the end of the file (truncated copy); "
    "pydicom returns the short value without a word",
    "test_files/rtplan_truncated.dcm": "a value runs past the end of the file (truncated copy)",
    "dicomdirtests/DICOMDIR-nooffset": "the last directory record's item runs past the end of "
    "the file",
    "data/emri_small_jpeg_2k_lossless_too_short.dcm": "the encapsulated Pixel Data has no "
    "sequence delimiter: the file is cut short",
    "TINY_ALPHA/README": "a text file; pydicom's force mode reads its bytes as elements",
    "test_files/no_meta.dcm": "a stray byte before the data set: pydicom's force mode reads one "
    "bogus element (0820,0500) and nothing else",
}
# Cut-short files still give their header: everything before the damage matches pydicom.
HEADER_OF_REJECTED = ["test_files/MR_truncated.dcm", "data/emri_small_jpeg_2k_lossless_too_short.dcm"]

# Private elements that pydicom types from its private dictionary (taken from GDCM) and that
# DCMTK's dictionary, which fastdcm is generated from, does not list: fastdcm reads them as
# UN (bytes), the VR PS3.5 6.2.2 prescribes for a private element of unknown type.
AGFA_0019 = {0x00191010, 0x00191013, 0x00191015, 0x00191060, 0x00191062, 0x00191065,
             0x00191070, 0x00191082, 0x00191093}
PRIVATE_VR_GAPS = {
    "charset_files/chrJapMulti.dcm": AGFA_0019,
    "charset_files/chrJapMultiExplicitIR6.dcm": AGFA_0019,
    "charset_files/chrKoreanMulti.dcm": AGFA_0019,
}


def read_with_pydicom(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path, force=True)
        except Exception:
            return None


@pytest.fixture(params=["read", "prefix"])
def reading(request):
    """Each file read as it comes ("read": files over 256 KB start from a prefix) and with
    every file, whatever its size, started from a 4 KB prefix (see prefix_reads)."""
    if request.param == "prefix":
        with whole_reads_from_a_prefix():
            yield request.param
    else:
        yield request.param


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_same_elements_as_pydicom(path, reading):
    reference = read_with_pydicom(path)
    if reference is None:
        pytest.skip("pydicom does not read this file")
    name = file_id(path)
    if name in REJECTED:
        with pytest.raises(fastdcm.InvalidDicomError):
            with fastdcm.read(path) as ds:
                compare(ds, reference)  # touches every value, so lazy sequences are read
        return
    with fastdcm.read(path) as ds:
        diffs = compare(ds.file_meta, reference.file_meta, "meta")
        diffs += compare(ds, reference)
    with fastdcm.read(path) as ds:
        diffs += compare(ds, reference, "by keyword ", by_keyword=True)
    gaps = PRIVATE_VR_GAPS.get(name, set())
    assert {d[d.index("(") + 1:d.index(")")] for d in diffs} == {
        f"{t >> 16:04X},{t & 0xFFFF:04X}" for t in gaps}
    assert all(" VR UN != " in d for d in diffs), "\n".join(diffs[:20])


@pytest.mark.parametrize("name", HEADER_OF_REJECTED)
def test_header_of_cut_short_file(name):
    path = next(p for p in FILES if file_id(p) == name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = pydicom.dcmread(path, force=True, stop_before_pixels=True)
    with fastdcm.read(path, stop_before_pixels=True) as ds:
        assert compare(ds, reference) == []
