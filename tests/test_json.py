"""The DICOM JSON Model (PS3.18 Annex F): the same JSON as pydicom's ``to_json_dict`` over the
conformance files, save where pydicom departs from the standard (listed in ``as_standard``),
and each rule pinned on a small hand-made data set."""
from __future__ import annotations

import base64
import json
import struct
import warnings

import pytest

import fastdcm
from reference_files import file_id, reference_files
from test_conformance import PRIVATE_VR_GAPS, REJECTED, read_with_pydicom

pydicom = pytest.importorskip("pydicom")

FILES = reference_files()

# Elements pydicom cannot put in JSON at all (its to_json_dict raises), and what fastdcm writes.
PYDICOM_FAILS = {
    # IS "1A" is not a number: pydicom's int() raises; fastdcm passes the text on.
    "test_files/badVR.dcm": {"00280008": {"vr": "IS", "Value": ["1A"]}},
}
# Files whose binary values are all compared inline (base64), as in pydicom's default.
INLINE = ["test_files/CT_small.dcm", "test_files/MR_small_bigendian.dcm",
          "test_files/JPEG2000.dcm", "test_files/waveform_ecg.dcm", "test_files/rtdose.dcm"]


def bulk_uri(element) -> str:
    """The same reference from a fastdcm Element and a pydicom DataElement."""
    vr = element.VR if isinstance(element, pydicom.DataElement) else element.vr
    return f"bulk:{int(element.tag):08X}:{vr!s}"


def pydicom_json(reference, handler=None):
    """pydicom's Dataset.to_json_dict element by element, so that one element pydicom cannot
    encode costs only that element: (JSON of the rest, keys pydicom failed on)."""
    result, failed = {}, set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's warnings on the odd values it converts
        for element in reference:
            key = f"{int(element.tag):08X}"
            try:
                result[key] = element.to_json_dict(bulk_data_element_handler=handler,
                                                   bulk_data_threshold=1024)
            except (ValueError, TypeError):
                failed.add(key)
    return result, failed


def as_standard(data: dict) -> dict:
    """pydicom's JSON with its departures from PS3.18 made good, which fastdcm follows:
    group lengths are left out (F.2.2); an empty sequence has no "Value" (F.2.5); an empty
    value among several is null, not "" (F.2.5); a person name lists its non-empty component
    groups only, and an empty name is null (F.2.2, F.2.5)."""
    out = {}
    for key, attribute in data.items():
        if key.endswith("0000"):
            continue
        attribute = dict(attribute, vr=str(attribute["vr"]))
        values = attribute.pop("Value", None)
        if attribute["vr"] == "SQ" and values is not None:
            values = [as_standard(item) for item in values]
        elif attribute["vr"] == "PN" and values is not None:
            values = [{k: v for k, v in name.items() if v} or None for name in values]
        elif values is not None:
            values = [None if v == "" else v for v in values]
        if values:
            attribute["Value"] = values
        out[key] = attribute
    return out


def known_differences(name: str, ours: dict, theirs: dict) -> list:
    """Top-level keys whose JSON differs, less those the conformance test explains: private
    elements that pydicom types from GDCM's dictionary and fastdcm reads as UN."""
    gaps = {f"{tag:08X}" for tag in PRIVATE_VR_GAPS.get(name, ())}
    differ = {k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k)}
    for key in differ & gaps:
        assert ours[key]["vr"] == "UN" and "InlineBinary" in ours[key], key
    return sorted(differ - gaps)


def reference_for(path):
    reference = read_with_pydicom(path)
    if reference is None:
        pytest.skip("pydicom does not read this file")
    if file_id(path) in REJECTED:
        pytest.skip("fastdcm rejects this file (see test_conformance.REJECTED)")
    return reference


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_same_json_as_pydicom(path):
    """Binary values past the threshold go to BulkDataURI on both sides: every rule but the
    base64 of pixel data is checked, and the run stays quick."""
    reference = reference_for(path)
    name = file_id(path)
    with fastdcm.read(path) as ds:
        ours = ds.to_json_dict(bulk_data_uri=bulk_uri)
        json.dumps(ours)  # plain JSON types only
    theirs, failed = pydicom_json(reference, handler=bulk_uri)
    theirs = as_standard(theirs)
    expected_failures = PYDICOM_FAILS.get(name, {})
    assert failed == set(expected_failures)
    for key, attribute in expected_failures.items():
        assert ours.pop(key) == attribute
    assert known_differences(name, ours, theirs) == []
    assert list(ours) == sorted(ours)  # F.2.2: ascending tag order


@pytest.mark.parametrize("name", INLINE)
def test_inline_binary_as_pydicom(name):
    """Without a bulk data handler every binary value is inline base64, pixel data included."""
    path = next(p for p in FILES if file_id(p) == name)
    reference = reference_for(path)
    with fastdcm.read(path) as ds:
        ours = ds.to_json_dict()
    theirs, failed = pydicom_json(reference)
    assert not failed
    assert known_differences(name, ours, as_standard(theirs)) == []
    assert '"InlineBinary"' in json.dumps(ours)


# -- the rules, one by one, on hand-made explicit VR little endian data sets -----------------

LONG_LENGTH_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"}


def element(tag: int, vr: str, value: bytes) -> bytes:
    head = struct.pack("<HH2s", tag >> 16, tag & 0xFFFF, vr.encode())
    if vr in LONG_LENGTH_VRS:
        return head + struct.pack("<HI", 0, len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def item(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(body)) + body


# A Part 10 header naming Explicit VR Little Endian, so that a data set may start with any group.
PART10_HEADER = b"\0" * 128 + b"DICM" + element(0x00020010, "UI", b"1.2.840.10008.1.2.1\0")


def to_json(*elements: bytes, **options) -> dict:
    with fastdcm.read(PART10_HEADER + b"".join(elements)) as ds:
        return ds.to_json_dict(**options)


def test_text_numbers_and_tags():
    result = to_json(
        element(0x00080008, "CS", b"ORIGINAL\\PRIMARY "),
        element(0x00100020, "LO", b"ID 1"),
        element(0x00200032, "DS", b"1.5\\-2\\3e1 "),
        element(0x00200013, "IS", b"12"),
        element(0x00280010, "US", struct.pack("<H", 512)),
        element(0x00281052, "FD", struct.pack("<d", -1024.5)),
        element(0x00289503, "SS", struct.pack("<hh", -1, 2)),
        element(0x00209165, "AT", struct.pack("<HHHH", 0x0010, 0x0010, 0x7FE0, 0x0010)),
    )
    assert result == {
        "00080008": {"vr": "CS", "Value": ["ORIGINAL", "PRIMARY"]},
        "00100020": {"vr": "LO", "Value": ["ID 1"]},
        "00200013": {"vr": "IS", "Value": [12]},
        "00200032": {"vr": "DS", "Value": [1.5, -2.0, 30.0]},
        "00209165": {"vr": "AT", "Value": ["00100010", "7FE00010"]},
        "00280010": {"vr": "US", "Value": [512]},
        "00281052": {"vr": "FD", "Value": [-1024.5]},
        "00289503": {"vr": "SS", "Value": [-1, 2]},
    }


def test_empty_values():
    """F.2.5: an empty element has no "Value"; an empty value among several is null."""
    result = to_json(
        element(0x00080000, "UL", struct.pack("<I", 99)),  # group length: left out (F.2.2)
        element(0x00080008, "CS", b"A\\\\B "),
        element(0x00080050, "SH", b""),
        element(0x00081110, "SQ", b""),
        element(0x00200032, "DS", b"1\\\\2 "),
        element(0x00280010, "US", b""),
        element(0x7FE00010, "OB", b""),
    )
    assert result == {
        "00080008": {"vr": "CS", "Value": ["A", None, "B"]},
        "00080050": {"vr": "SH"},
        "00081110": {"vr": "SQ"},
        "00200032": {"vr": "DS", "Value": [1.0, None, 2.0]},
        "00280010": {"vr": "US"},
        "7FE00010": {"vr": "OB"},
    }


def test_numbers_pydicom_cannot_write():
    """An IS that is not a whole number stays what it is (pydicom truncates it); a DS that
    is not a number at all is passed on as its text (pydicom raises)."""
    result = to_json(element(0x00180050, "DS", b"thin"), element(0x00200013, "IS", b"2.5 "))
    assert result == {"00180050": {"vr": "DS", "Value": ["thin"]},
                      "00200013": {"vr": "IS", "Value": [2.5]}}


def test_person_names():
    """Component groups by name, the empty ones left out; an empty name among several is null."""
    result = to_json(element(0x00100010, "PN", b"Doe^John==Dou^Jon\\\\Roe^Jane "))
    assert result["00100010"]["Value"] == [
        {"Alphabetic": "Doe^John", "Phonetic": "Dou^Jon"}, None, {"Alphabetic": "Roe^Jane"}]


def test_sequences():
    result = to_json(element(0x00081140, "SQ", item(
        element(0x00081150, "UI", b"1.2.3\x00"),
        element(0x00081160, "IS", b"1 "),
    ) + item()))
    assert result == {"00081140": {"vr": "SQ", "Value": [
        {"00081150": {"vr": "UI", "Value": ["1.2.3"]},
         "00081160": {"vr": "IS", "Value": [1]}},
        {},  # F.2.5: an empty item is an empty object
    ]}}


def test_keys_in_tag_order():
    result = to_json(element(0x00100020, "LO", b"B "), element(0x00080060, "CS", b"MR"))
    assert list(result) == ["00080060", "00100020"]


# Base64 turns 3 bytes into 4 characters: with the default threshold of 1024 characters,
# 768 bytes is the most that stays inline when a bulk data handler is given (as pydicom).
@pytest.mark.parametrize("size, inline", [(768, True), (769, False)])
def test_bulk_data_threshold(size, inline):
    data = bytes(range(256)) * 4
    elements = element(0x00091010, "LO", b"ACME"), element(0x00091011, "OB", data[:size])
    result = to_json(*elements, bulk_data_uri=lambda e: f"http://x/{e.tag:08X}")
    if inline:
        assert result["00091011"] == {"vr": "OB", "InlineBinary":
                                      base64.b64encode(data[:size]).decode()}
    else:
        assert result["00091011"] == {"vr": "OB", "BulkDataURI": "http://x/00091011"}
    # without a handler the threshold does not apply: everything is inline
    assert "InlineBinary" in to_json(*elements)["00091011"]
    assert "InlineBinary" in to_json(*elements, bulk_data_threshold=4)["00091011"]


def test_bulk_data_left_out():
    """A handler that returns None leaves the element out: one with only "vr" would claim
    the value is empty (F.2.5)."""
    elements = element(0x00280010, "US", struct.pack("<H", 2)), element(0x7FE00010, "OW", b"\0" * 8)
    result = to_json(*elements, bulk_data_threshold=8, bulk_data_uri=lambda e: None)
    assert result == {"00280010": {"vr": "US", "Value": [2]}}
    assert "7FE00010" in to_json(*elements, bulk_data_threshold=12, bulk_data_uri=lambda e: None)


def test_handler_is_given_the_element():
    seen = []
    to_json(element(0x7FE00010, "OB", b"\1" * 800),
            bulk_data_uri=lambda e: seen.append((e.tag, e.vr, bytes(e.raw))) or "u")
    assert seen == [(0x7FE00010, "OB", b"\1" * 800)]
