"""fastdcm.charset against pydicom 3.0.2: the charset corpus, defined terms, and edge cases.

pydicom is the reference: every decoded string must equal what pydicom gives for the same bytes
and Specific Character Set. Where fastdcm deliberately differs, the test says so and why.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pydicom.data
import pytest
from hypothesis import given, settings, strategies as st
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.data import get_charset_files
from pydicom.dataelem import RawDataElement
from pydicom.valuerep import TEXT_VR_DELIMS, PersonName
from pydicom.values import convert_PN, convert_single_string, convert_text

from fastdcm.charset import TEXT_DELIMITERS, decode_person_name, decode_text, python_encodings

MULTI_VALUED_TEXT = {"SH", "LO", "UC"}
SINGLE_VALUED_TEXT = {"ST", "LT", "UT"}

DEFINED_TERMS = [
    "ISO_IR 6", "ISO_IR 13", "ISO_IR 100", "ISO_IR 101", "ISO_IR 109", "ISO_IR 110",
    "ISO_IR 126", "ISO_IR 127", "ISO_IR 138", "ISO_IR 144", "ISO_IR 148", "ISO_IR 166",
    "ISO_IR 192", "GB18030", "GBK",
    "ISO 2022 IR 6", "ISO 2022 IR 13", "ISO 2022 IR 58", "ISO 2022 IR 87", "ISO 2022 IR 100",
    "ISO 2022 IR 101", "ISO 2022 IR 109", "ISO 2022 IR 110", "ISO 2022 IR 126",
    "ISO 2022 IR 127", "ISO 2022 IR 138", "ISO 2022 IR 144", "ISO 2022 IR 148",
    "ISO 2022 IR 149", "ISO 2022 IR 159", "ISO 2022 IR 166",
]


def quiet(function, *args):
    """Call `function`, hiding the fallback warnings both libraries issue."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args)


def pydicom_pn_strings(raw: bytes, encodings: list[str]) -> list[str]:
    """str() of each PersonName pydicom makes when it reads `raw` from a file."""
    return as_strings(quiet(convert_PN, raw, encodings))


def our_values(vr: str, raw: bytes, encodings: list[str]) -> list[str]:
    """What values.py will build from our functions, following the module docstring."""
    if vr == "PN":
        return quiet(decode_person_name, raw, encodings).split("\\")
    text = quiet(decode_text, raw, encodings)
    if vr in MULTI_VALUED_TEXT:
        return [value.rstrip("\0 ") for value in text.split("\\")]
    return [text.rstrip("\0 ")]


def as_strings(value) -> list[str]:
    """pydicom's element value as a list of str (one entry per value)."""
    if isinstance(value, (str, PersonName)):
        return [str(value)]
    return [str(v) for v in value]


# --- the corpus ---------------------------------------------------------------------------


def text_elements(ds, encodings: list[str], path: str = ""):
    """Yield (where, vr, raw bytes, our encodings, pydicom value) for every text element.

    Raw bytes are taken with get_item before the element is converted; items inherit the
    encodings of their parent unless they carry their own (0008,0005).
    """
    if 0x00080005 in ds:
        encodings = python_encodings(ds[0x00080005].value)
    read_by_pydicom = ds.original_character_set  # a str when nothing was declared
    if isinstance(read_by_pydicom, str):
        read_by_pydicom = [read_by_pydicom]
    assert encodings == read_by_pydicom, path
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        elem = ds[tag]
        where = f"{path}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value):
                yield from text_elements(item, encodings, f"{where}[{index}]")
        elif elem.VR in MULTI_VALUED_TEXT | SINGLE_VALUED_TEXT | {"PN"}:
            if isinstance(raw, RawDataElement) and raw.value:
                yield where, elem.VR, raw.value, encodings, elem.value
            else:  # pydicom converts only empty values while reading; they never reach decoding
                assert elem.is_empty, where


def file_cases(name: str) -> list[tuple]:
    """The text elements of one file, read by pydicom; [] if pydicom finds no Part 10 file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(name, stop_before_pixels=True)
        except pydicom.errors.InvalidDicomError:
            return []
        return list(text_elements(ds, python_encodings(None)))


def check_file(name: str) -> list[tuple]:
    cases = file_cases(name)
    for where, vr, raw, encodings, value in cases:
        assert our_values(vr, raw, encodings) == as_strings(value), (where, raw, encodings)
    return cases


@pytest.mark.parametrize("name", sorted(get_charset_files("*.dcm")), ids=lambda n: Path(n).name)
def test_charset_files_match_pydicom(name):
    assert check_file(name)


def test_charset_files_cover_extensions_and_item_charsets():
    cases = [case for name in get_charset_files("*.dcm") for case in file_cases(name)]
    assert len(cases) > 100
    assert sum(b"\x1b" in raw for _, _, raw, _, _ in cases) >= 10
    # chrSQEncoding: UTF-8 data set whose sequence item declares Japanese for itself
    item_case = get_charset_files("chrSQEncoding.dcm")[0]
    by_place = {where: encodings for where, _, _, encodings, _ in file_cases(item_case)}
    assert by_place["(0032,1032)"] == ["UTF8"]
    assert by_place["(0032,1064)[0](0010,0010)"] == ["shift_jis", "iso2022_jp"]


def test_pydicom_test_files_match():
    """Every text element of pydicom's own test files (mostly ASCII, Latin-1 and UTF-8)."""
    bundled = Path(pydicom.data.__file__).parent / "test_files"  # no pydicom-data downloads
    assert sum(len(check_file(str(name))) for name in sorted(bundled.glob("*.dcm"))) > 500


# --- python_encodings ---------------------------------------------------------------------


@pytest.mark.parametrize("term", DEFINED_TERMS + ["", "ISO 2022 GBK", "ISO 2022 58"])
def test_each_defined_term(term):
    assert python_encodings(term) == convert_encodings(term)
    assert python_encodings([term]) == convert_encodings([term])


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        ["", "ISO 2022 IR 87"],
        ["ISO 2022 IR 6", "ISO 2022 IR 87", "ISO 2022 IR 159"],
        ["ISO 2022 IR 13", "ISO 2022 IR 87"],
        ["ISO 2022 IR 100", "ISO 2022 IR 149"],
        ["ISO 2022 IR 6", "ISO 2022 IR 58"],
        ["ISO 2022 IR 100", ""],
        ["latin_1", "utf-8"],  # Python codec names are taken as they are
    ],
)
def test_multi_valued_terms(value):
    assert python_encodings(value) == convert_encodings(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("ISO IR 100", ["latin_1"]),
        ("ISO-IR 144", ["iso_ir_144"]),
        ("ISO_2022_IR_87", ["iso2022_jp"]),
        ("ISO-2022-IR-149", ["euc_kr"]),
        ("ISO IR 999", ["iso8859"]),  # corrected spelling, still unknown
        ("ISO_IR 999", ["iso8859"]),
        ("Klingon", ["iso8859"]),
        (["ISO_IR 192", "ISO 2022 IR 87"], ["UTF8"]),  # stand-alone first: the rest goes
        (["ISO 2022 IR 6", "GBK", "ISO 2022 IR 87", "GB18030"], ["iso8859", "iso2022_jp"]),
    ],
)
def test_terms_pydicom_warns_about(value, expected):
    with pytest.warns(UserWarning):
        assert python_encodings(value) == expected
    assert quiet(convert_encodings, value) == expected


def test_misspelled_stand_alone_term_is_kept_like_pydicom():
    # Only exact stand-alone terms are dropped; a misspelled one is corrected and then kept.
    value = ["ISO 2022 IR 6", "ISO IR 192"]
    assert quiet(python_encodings, value) == quiet(convert_encodings, value) == ["iso8859", "UTF8"]


def test_term_with_a_nul_is_unknown():
    """Deliberate difference: pydicom raises ValueError (embedded null character)."""
    with pytest.warns(UserWarning):
        assert python_encodings(["ISO_IR\x00100"]) == ["iso8859"]
    with pytest.raises(ValueError):
        quiet(convert_encodings, ["ISO_IR\x00100"])


@pytest.mark.parametrize("name", ["rot13", "hex", "zlib", "idna", "undefined"])
def test_codecs_that_cannot_decode_text_count_as_unknown(name):
    """Deliberate difference: pydicom keeps these names, then falls back or raises."""
    with pytest.warns(UserWarning):
        encodings = python_encodings(name)
    assert encodings == ["iso8859"]
    assert decode_text(b"Caf\xe9", encodings) == "Café"
    assert decode_text(b"x\x1b(BCaf\xe9", encodings) == "xCafé"
    if name in ("rot13", "hex", "zlib"):  # without an escape, pydicom falls back to the same
        assert quiet(decode_bytes, b"Caf\xe9", [name], TEXT_VR_DELIMS) == "Café"
        with pytest.raises(LookupError):
            quiet(decode_bytes, b"x\x1b(BCaf\xe9", [name], TEXT_VR_DELIMS)


# --- decode_text --------------------------------------------------------------------------


def test_default_delimiters_are_pydicoms():
    assert TEXT_DELIMITERS == frozenset(TEXT_VR_DELIMS) == {0x0D, 0x0A, 0x09, 0x0C}


@pytest.mark.parametrize("term", DEFINED_TERMS)
def test_ascii_fast_path_equals_the_codec(term):
    """Pure ASCII (no ESC) may be decoded as ASCII only because every codec agrees on it."""
    encodings = python_encodings(term)
    ascii_bytes = bytes(b for b in range(128) if b != 0x1B)
    expected = ascii_bytes.decode(encodings[0])
    assert decode_text(ascii_bytes, encodings) == expected
    assert decode_bytes(ascii_bytes, encodings, TEXT_VR_DELIMS) == expected


@pytest.mark.parametrize(
    "term, raw, expected",
    [
        ("ISO_IR 100", b"Buc^J\xe9r\xf4me", "Buc^Jérôme"),
        ("ISO_IR 101", b"Dvo\xf8\xe1k", "Dvořák"),
        ("ISO_IR 109", b"\xbbu", "ğu"),
        ("ISO_IR 110", b"\xea", "ę"),
        ("ISO_IR 126", b"\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", "Διονυσιος"),
        ("ISO_IR 127", b"\xe2\xc8\xc7\xe6\xea", "قباني"),
        ("ISO_IR 138", b"\xf9\xf8\xe5\xef", "שרון"),
        ("ISO_IR 144", b"\xbb\xee\xdace\xdc\xd1yp\xd3", "Люкceмбypг"),
        ("ISO_IR 148", b"\xdd\xfe", "İş"),
        ("ISO_IR 166", b"\xc1\xd2", "มา"),
        ("ISO_IR 13", b"\xd4\xcf\xc0\xde", "ﾔﾏﾀﾞ"),
        ("ISO_IR 192", "王^小東".encode(), "王^小東"),
        ("GB18030", b"\xcd\xf5^\xd0\xa1\xb6\xab", "王^小东"),
        ("GBK", b"\xcd\xf5", "王"),
    ],
)
def test_single_byte_and_stand_alone_samples(term, raw, expected):
    encodings = python_encodings(term)
    assert decode_text(raw, encodings) == expected
    assert decode_bytes(raw, encodings, TEXT_VR_DELIMS) == expected


@pytest.mark.parametrize(
    "terms, raw, expected",
    [
        # Japanese, JIS X 0208 in the middle of ASCII (chrH31)
        (
            ["", "ISO 2022 IR 87"],
            b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B",
            "Yamada^Tarou=山田^太郎",
        ),
        # Japanese, half-width katakana first, back with ESC ( J (chrH32)
        (
            ["ISO 2022 IR 13", "ISO 2022 IR 87"],
            b"\xd4\xcf\xc0\xde=\x1b$B;3ED\x1b(J^x",
            "ﾔﾏﾀﾞ=山田^x",
        ),
        # Japanese supplementary kanji, JIS X 0212
        (["", "ISO 2022 IR 87", "ISO 2022 IR 159"], b"\x1b$(D\x30\x21\x1b(B", "丂"),
        # Korean: ESC $ ) C, text in G1 (chrI2)
        (
            ["", "ISO 2022 IR 149"],
            b"Hong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7",
            "Hong=洪^吉洞",
        ),
        # Simplified Chinese GB2312: pydicom leaves the escape sequence in the text
        (["", "ISO 2022 IR 58"], b"Wang=\x1b$)A\xcd\xf5", "Wang=\x1b$)A王"),
        # Cyrillic extension ended by a CR: the rest is read with the first encoding again
        (["ISO 2022 IR 100", "ISO 2022 IR 144"], b"\x1b-L\xbb\xee\r\xbb", "Лю\r»"),
        # '^' does not end an extension in text (nor in PN read from a file)
        (["ISO 2022 IR 100", "ISO 2022 IR 144"], b"\x1b-L\xbb^\xbb", "Л^Л"),
        # ESC ( B always returns to ASCII, even if ISO 2022 IR 6 is not listed
        (["ISO 2022 IR 100", "ISO 2022 IR 144"], b"\x1b-L\xbb\x1b(B\xbb", "Л»"),
        # the first value may itself start with an escape sequence
        (["ISO 2022 IR 6", "ISO 2022 IR 144"], b"\x1b-L\xbb\\\x1b-L\xbb", "Л\\Л"),
    ],
)
def test_code_extensions(terms, raw, expected):
    encodings = python_encodings(terms)
    assert decode_text(raw, encodings) == expected
    assert decode_bytes(raw, encodings, TEXT_VR_DELIMS) == expected


def test_backslash_inside_a_multibyte_character_is_not_a_separator():
    raw = "表\\ソ".encode("shift_jis")  # 0x95 0x5C and 0x83 0x5C: each ends with a backslash byte
    assert raw.count(b"\\") == 3
    encodings = python_encodings("ISO_IR 13")
    assert decode_text(raw, encodings).split("\\") == ["表", "ソ"]
    assert as_strings(quiet(convert_text, raw, encodings, "LO")) == ["表", "ソ"]


def test_undecodable_byte_without_escape_is_replaced():
    encodings = python_encodings("ISO_IR 192")
    with pytest.warns(UserWarning):
        assert decode_text(b"Caf\xe9 ok", encodings) == "Caf\ufffd ok"
    assert quiet(decode_bytes, b"Caf\xe9 ok", encodings, TEXT_VR_DELIMS) == "Caf\ufffd ok"


def test_undecodable_piece_after_escape_keeps_the_escape_bytes():
    """A failed piece is decoded whole with the first encoding, escape sequence included."""
    encodings = python_encodings(["", "ISO 2022 IR 149"])
    raw = b"Kim=\x1b$)C\xff\xfe"
    expected = "Kim=\x1b$)C\xff\xfe"  # first encoding is Latin-1, which decodes every byte
    with pytest.warns(UserWarning):
        assert decode_text(raw, encodings) == expected
    assert quiet(decode_bytes, raw, encodings, TEXT_VR_DELIMS) == expected

    encodings = python_encodings(["ISO 2022 IR 87", "ISO 2022 IR 149"])
    expected = "Kim=\ufffd\ufffd\ufffd"  # ISO 2022 JP reads ESC $ ) as a bad escape: one U+FFFD
    assert quiet(decode_text, raw, encodings) == expected
    assert quiet(decode_bytes, raw, encodings, TEXT_VR_DELIMS) == expected


def test_escape_for_an_undeclared_charset_is_not_honoured():
    encodings = python_encodings("ISO_IR 100")  # Korean not declared
    raw = b"A\x1b$)C\xb1\xe8"
    with pytest.warns(UserWarning):
        assert decode_text(raw, encodings) == "A\x1b$)C±è"
    assert quiet(decode_bytes, raw, encodings, TEXT_VR_DELIMS) == "A\x1b$)C±è"


def test_unknown_escape_sequence():
    encodings = python_encodings(["", "ISO 2022 IR 100"])
    for raw in (b"x\x1b(Zy", b"x\x1b", b"x\x1b\x1b-A\xe9"):
        expected = quiet(decode_bytes, raw, encodings, TEXT_VR_DELIMS)
        with pytest.warns(UserWarning):
            assert decode_text(raw, encodings) == expected


def test_unknown_term_decodes_as_default():
    with pytest.warns(UserWarning):
        encodings = python_encodings("ISO_IR 999")
    assert decode_text(b"Caf\xe9", encodings) == "Café"


def test_custom_delimiters():
    encodings = python_encodings(["", "ISO 2022 IR 144"])
    raw = b"\x1b-L\xbb^\xbb"
    assert decode_text(raw, encodings, frozenset({0x5E})) == "Л^»"
    assert decode_bytes(raw, encodings, {0x5E}) == "Л^»"


# --- decode_person_name -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"Doe^John", ["Doe^John"]),
        (b"Doe^John== \x00", ["Doe^John"]),
        (b"Doe^John=\\=Smith=\\\\ ", ["Doe^John", "=Smith", "", ""]),
        (b"==", [""]),
        (b"^^^^", ["^^^^"]),
    ],
)
def test_person_name_groups_and_values(raw, expected):
    encodings = python_encodings(None)
    assert decode_person_name(raw, encodings).split("\\") == expected
    assert pydicom_pn_strings(raw, encodings) == expected


def test_person_name_follows_pydicoms_file_reading_path():
    """dcmread decodes a PN like text ('^' does not end an extension); PersonName(bytes) does not.

    We match dcmread, because that is the value a user compares with.
    """
    encodings = python_encodings(["ISO 2022 IR 100", "ISO 2022 IR 144"])
    raw = b"\x1b-L\xbb^\xbb"
    assert decode_person_name(raw, encodings) == "Л^Л"
    assert pydicom_pn_strings(raw, encodings) == ["Л^Л"]
    assert str(PersonName(raw, encodings)) == "Л^»"


def test_empty_name_part_with_iso_2022_jp_first():
    """Deliberate difference: pydicom raises IndexError here, we return the name.

    When reading a PN, pydicom re-encodes the decoded name to keep the original bytes, and its
    JIS X 0208 encoder indexes the first character of each name part, so an empty part ('^^')
    fails when ISO 2022 IR 87 (or 159) is the first value of Specific Character Set.
    """
    encodings = python_encodings("ISO 2022 IR 87")
    assert decode_person_name(b"Doe^^Jr", encodings) == "Doe^^Jr"
    with pytest.raises(IndexError):
        quiet(convert_PN, b"Doe^^Jr", encodings)


# --- differential fuzzing against pydicom -------------------------------------------------

PIECES = [
    b"A", b"z", b" ", b"\x00", b"\\", b"^", b"=", b"\r", b"\n", b"\t", b"\x0c", b"\x80",
    b"\xb1", b"\xe8", b"\xff", b"\xd4", b"\xcf", b";3", b"ED", b"$d", b"\x95\\",
    b"\x1b(B", b"\x1b(J", b"\x1b)I", b"\x1b$B", b"\x1b$(D", b"\x1b$)C", b"\x1b$)A",
    b"\x1b-A", b"\x1b-F", b"\x1b-L", b"\x1b-T", b"\x1b(Z", b"\x1b",
    "王".encode("gb2312"), "김".encode("euc_kr"), "é".encode(),
]
PIECE_OR_JUNK = st.sampled_from(PIECES) | st.binary(max_size=3)
TERM_LISTS = st.one_of(
    st.sampled_from(DEFINED_TERMS + ["", "ISO IR 100", "Klingon", "utf_16"]),
    st.lists(st.sampled_from(DEFINED_TERMS + [""]), min_size=1, max_size=4),
)


@settings(max_examples=3000, deadline=None)
@given(terms=TERM_LISTS, parts=st.lists(PIECE_OR_JUNK, max_size=12))
def test_matches_pydicom_on_random_input(terms, parts):
    raw = b"".join(parts)
    encodings = quiet(python_encodings, terms)
    assert encodings == quiet(convert_encodings, terms)
    assert quiet(decode_text, raw, encodings) == quiet(decode_bytes, raw, encodings, TEXT_VR_DELIMS)
    if raw:  # pydicom's converters are never called on empty values
        expected_lo = as_strings(quiet(convert_text, raw, encodings, "LO"))
        assert our_values("LO", raw, encodings) == expected_lo
        expected_lt = quiet(convert_single_string, raw, encodings, "LT")
        assert our_values("LT", raw, encodings) == [expected_lt]
        try:
            expected = pydicom_pn_strings(raw, encodings)
        except IndexError:  # pydicom's bug, see test_empty_name_part_with_iso_2022_jp_first
            assert encodings[0] in ("iso2022_jp", "iso2022_jp_2")
        else:
            assert our_values("PN", raw, encodings) == expected
