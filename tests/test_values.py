"""fastdcm.values against pydicom 3.0.2, which is the reference for every converted value.

Three layers: every element of every pydicom test file (with the VR and encodings pydicom used
for it), hand-picked raw values that pin down pydicom's quirks, and random raw values per VR.
Expected values are normalised to the plain types fastdcm returns (pydicom's DSfloat, IS, UID,
PersonName, BaseTag and MultiValue become float, int, str, str, int and list), and types must
match exactly, so a DS component that pydicom keeps as '' is not passed off as a float.
"""
from __future__ import annotations

import math
import os
import struct
import warnings

import pytest

pydicom = pytest.importorskip("pydicom")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from pydicom.data import get_charset_files, get_testdata_files  # noqa: E402
from pydicom.dataelem import RawDataElement, convert_raw_data_element  # noqa: E402
from pydicom.errors import BytesLengthException  # noqa: E402
from pydicom.hooks import raw_element_vr  # noqa: E402
from pydicom.multival import MultiValue  # noqa: E402
from pydicom.tag import BaseTag  # noqa: E402
from pydicom.valuerep import PersonName  # noqa: E402

from fastdcm.errors import InvalidDicomError  # noqa: E402
from fastdcm.values import convert_value, value_multiplicity  # noqa: E402

PIXEL_DATA = 0x7FE00010
DEFAULT = ["iso8859"]


def normalise(value):
    """pydicom's value as the plain Python types fastdcm uses."""
    if isinstance(value, (list, MultiValue)):
        return [normalise(v) for v in value]
    if isinstance(value, PersonName):
        return str(value)
    for plain in (bool, int, float, str, bytes):
        if isinstance(value, plain):
            return plain(value)
    return value


def same(ours, theirs) -> bool:
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, list):
        return len(ours) == len(theirs) and all(map(same, ours, theirs))
    if isinstance(ours, float) and math.isnan(ours):
        return math.isnan(theirs)
    return ours == theirs


def pydicom_value(vr: str, raw: bytes, little_endian: bool = True, encodings=DEFAULT):
    """What pydicom gives for these bytes read with explicit VR `vr` (an exception type if it
    raises), via the same path dcmread takes when an element is accessed."""
    elem = RawDataElement(BaseTag(0x00191010), vr, len(raw), raw, 0, False, little_endian)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return normalise(convert_raw_data_element(elem, encoding=encodings).value)
        except (BytesLengthException, OverflowError) as exc:
            return type(exc)


def ours_value(vr: str, raw: bytes, little_endian: bool = True, encodings=DEFAULT):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return convert_value(vr, raw, little_endian, encodings)
        except InvalidDicomError as exc:
            return type(exc)


def assert_matches(vr, raw, little_endian=True, encodings=DEFAULT):
    theirs = pydicom_value(vr, raw, little_endian, encodings)
    ours = ours_value(vr, raw, little_endian, encodings)
    if isinstance(theirs, type):  # pydicom raised: we raise our one exception type instead
        assert ours is InvalidDicomError, (vr, raw, theirs, ours)
    else:
        assert same(ours, theirs), (vr, raw, little_endian, encodings, ours, theirs)


# --- every element of pydicom's test files -------------------------------------------------

def _test_files():
    paths = [p for p in get_testdata_files() + get_charset_files() if os.path.isfile(p)]
    return sorted(p for p in paths if not p.endswith((".txt", ".json", ".dump", ".gz", ".icc")))


def _encodings(ds, tag):
    if tag == 0x00080005:
        return DEFAULT
    charset = ds.original_character_set or ds._character_set
    return [charset] if isinstance(charset, str) else list(charset)


def _mismatches(ds, where=""):
    """Compare every non-SQ element of `ds` and its items; yield a line per difference."""
    for tag in list(ds.keys()):
        if tag == PIXEL_DATA:
            continue
        raw = ds.get_item(tag)  # still raw unless something already read it
        label = f"{where}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        try:
            elem = ds[tag]
        except BytesLengthException:
            data = {}
            raw_element_vr(raw, data, ds=ds)
            got = ours_value(data["VR"], raw.value, raw.is_little_endian, _encodings(ds, tag))
            if got is not InvalidDicomError:
                yield f"{label} {data['VR']}: pydicom raises on the length, ours gave {got!r}"
            continue
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                yield from _mismatches(item, f"{label}[{i}]")
            continue
        if not isinstance(raw, RawDataElement) or raw.value is None or raw.length == 0xFFFFFFFF:
            continue
        theirs = normalise(elem.value)
        ours = ours_value(elem.VR, raw.value, raw.is_little_endian, _encodings(ds, tag))
        if not same(ours, theirs):
            yield f"{label} {elem.VR} {raw.value[:60]!r}: ours {ours!r} pydicom {theirs!r}"
        elif value_multiplicity(ours) != elem.VM:
            yield f"{label} {elem.VR}: VM ours {value_multiplicity(ours)} pydicom {elem.VM}"


@pytest.mark.parametrize("path", _test_files(), ids=os.path.basename)
def test_every_element_of_pydicom_test_files(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
        except Exception as exc:  # not a file pydicom reads: nothing to compare against
            pytest.skip(f"pydicom cannot read it: {exc}")
        found = list(_mismatches(ds.file_meta, "meta")) + list(_mismatches(ds))
    assert not found, "\n".join(found)


# --- pydicom's quirks, pinned ----------------------------------------------------------------

QUIRKS = [
    # padding: each VR strips differently
    ("AE", b"  STORESCP \\ PACS  "),
    ("AE", b"AE\x00"),
    ("CS", b" ORIGINAL \\PRIMARY \x00"),
    ("CS", b"A\\"),
    ("CS", b"\\"),
    ("DA", b"20240101 "),
    ("TM", b"101010.5\x00"),
    ("DT", b"20240101101010 \\ 2024"),
    ("AS", b"045Y"),
    ("UI", b"1.2.3\x00"),
    ("UI", b" 1.2 \\ 1.3\x00\\1.4\x00 \x00"),
    ("UI", b"1.2\t\n"),
    ("UR", b"http://a\\b  \x00"),
    ("UR", b"http://a  \n"),
    ("SH", b" A \\ B \x00"),
    ("LO", b"text\x00\x00"),
    ("UC", b"x\\y\\"),
    ("ST", b"line\\with backslash  "),
    ("LT", b"  lead kept\r\n  \x00"),
    ("UT", b"\x00 \x00"),
    ("PN", b"Doe^John"),
    ("PN", b"Doe^John==\\A=B=\\=C \x00"),
    ("PN", b"==="),
    ("PN", b"   "),
    # DS: float, blanks kept as they are, junk read as SH text
    ("DS", b" 1.5 "),
    ("DS", b"1\\ \\2\\"),
    ("DS", b"  "),
    ("DS", b"1e3\\-0.0\\+.5\\5."),
    ("DS", b"nan\\inf\\-Infinity"),
    ("DS", b"1_000"),
    ("DS", b"1,5"),
    ("DS", b"1.5\\abc "),
    ("DS", b"1.5\x00"),
    ("DS", b"1.5\x00\\2"),
    # IS: int, non-integral -> float, int too big for float -> float, junk -> text
    ("IS", b"12 "),
    ("IS", b" -3\\+4\\ "),
    ("IS", b"1.0"),
    ("IS", b"1.5"),
    ("IS", b"1e3"),
    ("IS", b"9007199254740993"),
    ("IS", b"123456789012345"),
    ("IS", b"abc"),
    ("IS", b"nan"),
    ("IS", b"inf"),
    ("IS", b"1\\x"),
    ("IS", b"\xb2"),  # superscript two: a digit to str.isdigit, not to int()
    # binary numbers, both byte orders, VM 1 and more, wrong lengths
    ("US", b"\x01\x02"),
    ("US", b"\x01\x02\x03\x04"),
    ("US", b"\x01\x02\x03"),
    ("SS", b"\xff\xfe"),
    ("UL", b"\xff\xff\xff\xff\x00\x00\x00\x01"),
    ("SL", b"\x00\x00\x00\x80"),
    ("UV", b"\xff" * 8),
    ("SV", b"\x00" * 7 + b"\x80"),
    ("FL", struct.pack("<f", 0.1)),
    ("FL", struct.pack("<2f", math.inf, -1.5)),
    ("FD", struct.pack("<d", math.pi)),
    ("FD", b"\x00" * 12),
    ("AT", b"\x10\x00\x20\x00"),
    ("AT", b"\x10\x00\x20\x00\x28\x00\x10\x00"),
    ("AT", b"\x10\x00\x20\x00\x28"),
    ("AT", b"\x10\x00"),
    # bytes as stored, ambiguous VRs before resolution included
    ("OB", b"\x00\x01\\\x02"),
    ("OW", b"\x01\x02\x03\x04"),
    ("OF", b"\x00" * 4),
    ("OD", b"\x00" * 8),
    ("OL", b"\x00" * 4),
    ("OV", b"\x00" * 8),
    ("UN", b"abc\\def"),
    ("US or SS", b"\x01\x00"),
    ("OB or OW", b"\x01\x00"),
    ("US or OW", b"\x01\x00"),
    ("US or SS or OW", b"\x01\x00"),
]


@pytest.mark.parametrize("little_endian", [True, False], ids=["LE", "BE"])
@pytest.mark.parametrize("vr,raw", QUIRKS, ids=[f"{vr}-{raw!r}" for vr, raw in QUIRKS])
def test_quirks_match_pydicom(vr, raw, little_endian):
    assert_matches(vr, raw, little_endian)


ALL_VRS = sorted({vr for vr, _ in QUIRKS})


@pytest.mark.parametrize("vr", ALL_VRS)
def test_empty_values_match_pydicom(vr):
    assert_matches(vr, b"")


TEXT_SAMPLES = [
    (["latin_1"], "Äb\\ç  ".encode("latin_1")),
    # the second byte of 表 is 0x5C: the text must be decoded before it is split
    (["shift_jis"], "山田^表\\x ".encode("shift_jis")),
    (["UTF8"], "Ωmega\\x ".encode("utf8")),
    (["GB18030"], "王^小东=\\x ".encode("gb18030")),
    (["iso8859", "iso2022_jp"], b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B="),
]


@pytest.mark.parametrize("vr", ["SH", "LO", "UC", "PN", "LT", "ST", "UT"])
@pytest.mark.parametrize("encodings,raw", TEXT_SAMPLES, ids=[e[-1] for e, _ in TEXT_SAMPLES])
def test_text_is_decoded_with_the_encodings(vr, encodings, raw):
    assert_matches(vr, raw, True, encodings)


def test_memoryview_input_gives_the_same_values():
    for vr, raw in QUIRKS:
        assert same(ours_value(vr, memoryview(raw)), ours_value(vr, raw)), vr


def test_unknown_vr_raises():
    with pytest.raises(InvalidDicomError):
        convert_value("XX", b"1", True, DEFAULT)
    with pytest.raises(InvalidDicomError):
        convert_value("SQ", b"", True, DEFAULT)


@pytest.mark.parametrize("value,vm", [
    (None, 0), ("", 0), (b"", 0), ("A", 1), (b"\x00", 1), (0, 1), (1.5, 1), ([], 0), ([1, 2], 2),
])
def test_value_multiplicity(value, vm):
    assert value_multiplicity(value) == vm


# --- random raw values ----------------------------------------------------------------------

# Bytes that make string VRs interesting: digits, signs, separators, padding, letters float()
# knows, and a few 8-bit ones.
_TEXTY = st.binary(max_size=24).map(
    lambda b: bytes(b"0123456789.+-eE \\\x00=^aInf\t\xb2\xe9"[x % 24] for x in b))


@settings(max_examples=400, deadline=None)
@given(vr=st.sampled_from(["AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH",
                           "ST", "TM", "UC", "UI", "UR", "UT"]),
       raw=_TEXTY)
def test_random_strings_match_pydicom(vr, raw):
    assert_matches(vr, raw)


@settings(max_examples=400, deadline=None)
@given(vr=st.sampled_from(["US", "SS", "UL", "SL", "UV", "SV", "FL", "FD", "AT", "OB", "OW"]),
       raw=st.binary(max_size=40), little_endian=st.booleans())
def test_random_binary_matches_pydicom(vr, raw, little_endian):
    assert_matches(vr, raw, little_endian)
