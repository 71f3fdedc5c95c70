"""fastdcm.read on each kind of source and framing, and the Dataset/Element API contract."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import fastdcm
from fastdcm import _source

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402

VALID = Path(__file__).resolve().parent.parent / "testdata" / "valid"
CT = get_testdata_file("CT_small.dcm")
INDEX_KEYWORDS = ["PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
                  "Modality", "StudyDate", "Rows", "Columns", "InstanceNumber",
                  "ImagePositionPatient"]


def test_same_values_from_path_bytes_memoryview_and_file_object():
    data = Path(CT).read_bytes()
    sources = [CT, Path(CT), data, bytearray(data), memoryview(data), io.BytesIO(data)]
    datasets = [fastdcm.read(s) for s in sources]
    values = [[getattr(ds, k) for k in INDEX_KEYWORDS] for ds in datasets]
    assert all(v == values[0] for v in values)
    assert values[0][0] == "1CT1" and values[0][6] == 128


def test_keys_tuples_ints_and_keywords_find_the_same_element():
    ds = fastdcm.read(CT)
    assert ds["Rows"].tag == ds[0x00280010].tag == ds[(0x0028, 0x0010)].tag == 0x00280010
    assert "Rows" in ds and 0x00280010 in ds and "PatientComments" not in ds
    assert ds.get("PatientComments") is None
    for bad in ("NotAKeyword", -1, 1 << 32, (0x10000, 0), (1.5, 2), 2.5):
        with pytest.raises(KeyError):
            ds[bad]
        assert bad not in ds
    with pytest.raises(AttributeError):
        ds.PatientComments  # a keyword of the dictionary, absent from this file


def test_elements_in_file_order_with_raw_views_into_the_source():
    data = Path(CT).read_bytes()
    ds = fastdcm.read(data)
    tags = [e.tag for e in ds]
    assert tags == sorted(tags) and len(ds) == len(tags)
    rows = ds["Rows"]
    assert isinstance(rows.raw, memoryview) and bytes(rows.raw) == data[rows.offset:rows.offset + 2]
    assert (rows.vr, rows.length, rows.keyword, rows.VM) == ("US", 2, "Rows", 1)


def test_private_elements_keep_their_creator_and_have_no_keyword():
    ds = fastdcm.read(CT)
    element = ds[0x00091001]
    assert element.private_creator == "GEMS_IDEN_01"
    assert element.keyword == ""


def test_stop_before_pixels_reads_only_a_prefix_of_a_large_file(tmp_path):
    big = tmp_path / "big.dcm"
    big.write_bytes(Path(get_testdata_file("emri_small.dcm")).read_bytes())
    ds = fastdcm.read(big, stop_before_pixels=True)
    assert "PixelData" not in ds
    assert not ds._source.complete  # a prefix, never the whole 80 KB file
    assert ds.Rows == 64


def test_whole_read_maps_a_large_file_only_for_a_value_past_its_header(tmp_path, monkeypatch):
    """Pixel Data ends the file: the header comes from one positioned read, and the file's
    map is used (its pages touched) only when the pixels, a value past the prefix, are
    wanted."""
    monkeypatch.setattr(_source, "READ_WHOLE_LIMIT", 16 * 1024)
    # as after a file whose header a prefix held (an earlier test's may not have been)
    monkeypatch.setattr(_source, "_prefix_first", True)
    path = get_testdata_file("emri_small.dcm")  # 80 KB, Pixel Data last
    expected = pydicom.dcmread(path)
    with fastdcm.read(path) as ds:
        prefix = len(ds._source.view)
        assert not ds._source.complete and prefix < 84256  # mapped, but read from the prefix
        assert ds.Rows == 64 and ds.PatientName == str(expected.PatientName)
        assert [e.tag for e in ds] == [int(e.tag) for e in expected]
        assert len(ds._source.view) == prefix
        assert bytes(ds["PixelData"].raw) == expected.PixelData
        assert ds._source.complete and len(ds._source.view) == 84256 and ds.Rows == 64


def test_whole_read_of_a_file_with_elements_after_its_pixels(tmp_path, monkeypatch):
    """Trailing elements after Pixel Data (padding): the prefix cannot complete the scan, so
    the whole file is read and every element found."""
    monkeypatch.setattr(_source, "READ_WHOLE_LIMIT", 16 * 1024)
    reference = pydicom.dcmread(get_testdata_file("emri_small.dcm"))
    reference.add_new(0xFFFCFFFC, "OB", b"\0" * 64)  # Data Set Trailing Padding
    path = tmp_path / "padded.dcm"
    reference.save_as(path)
    monkeypatch.setattr(_source, "_prefix_first", True)
    with fastdcm.read(path) as ds:
        assert ds._source.complete
        assert [e.tag for e in ds][-2:] == [0x7FE00010, 0xFFFCFFFC]
        assert bytes(ds["PixelData"].raw) == reference.PixelData
    # Files in a batch are alike: the next whole read maps at once, until a file's last
    # value is again one that starts in its header and ends the file.
    assert _source._prefix_first is False
    with fastdcm.read(path) as ds:
        assert ds._source._mmap is not None and len(ds) == len(reference)
    fastdcm.read(get_testdata_file("emri_small.dcm")).close()
    assert _source._prefix_first is True


def test_tags_stop_after_the_largest_wanted_tag():
    ds = fastdcm.read(CT, tags=["PatientID", "Modality"])
    assert ds.PatientID == "1CT1" and ds.Modality == "CT"
    assert max(e.tag for e in ds) <= 0x00100020


def test_header_prefix_grows_when_a_header_is_larger_than_the_first_read(tmp_path, monkeypatch):
    monkeypatch.setattr(_source, "_first_prefix", 4096)
    path = get_testdata_file("eCT_Supplemental.dcm") or CT
    ds = fastdcm.read(path, stop_before_pixels=True)
    ref = pydicom.dcmread(path, stop_before_pixels=True)
    assert [e.tag for e in ds] == [int(e.tag) for e in ref]


def test_close_keeps_handed_out_views_valid_and_refuses_new_reads():
    path = get_testdata_file("emri_small.dcm")
    ds = fastdcm.read(path)
    pixels = ds["PixelData"].raw
    array = np.frombuffer(pixels, dtype=np.uint16)
    ds.close()
    assert array.sum() > 0 and len(bytes(pixels)) == len(pixels)
    with pytest.raises(ValueError, match="closed"):
        ds["Rows"].value
    with fastdcm.read(path) as ds2:
        rows = ds2.Rows
    assert rows == 64


def _with_transfer_syntax(name: str, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new)
    data = (VALID / name).read_bytes()
    assert data.count(old) >= 1
    return data.replace(old, new, 1)


def test_unknown_transfer_syntax_is_read_as_explicit_little_endian():
    data = _with_transfer_syntax("ct_explicit_le.dcm", b"1.2.840.10008.1.2.1\0",
                                 b"1.2.3.4.5.6.7.8.9.10")
    ds = fastdcm.read(data)
    assert ds.transfer_syntax_uid == "1.2.3.4.5.6.7.8.9.10"
    assert ds.Modality == fastdcm.read(VALID / "ct_explicit_le.dcm").Modality


def test_unknown_transfer_syntax_over_implicit_data_is_an_error():
    data = _with_transfer_syntax("ct_implicit_le.dcm", b"1.2.840.10008.1.2\0",
                                 b"1.2.3.4.5.6.7.8.90")
    with pytest.raises(fastdcm.InvalidDicomError, match="unknown transfer syntax"):
        fastdcm.read(data)


@pytest.mark.parametrize("name", sorted(p.name for p in VALID.glob("*.dcm")))
def test_valid_testdata_reads_like_pydicom(name):
    from compare import compare

    ds = fastdcm.read(VALID / name)
    ref = pydicom.dcmread(VALID / name, force=True)
    assert compare(ds, ref) == []
