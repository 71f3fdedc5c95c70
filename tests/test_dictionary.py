"""The data dictionary: standard tags, repeating groups, group lengths, private tags, and
agreement with pydicom 3.0.2's dictionary (the reference for the VRs fastdcm reports)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fastdcm import _dictionary_data, dictionary
from fastdcm.dictionary import (
    DictEntry,
    dictionary_entry,
    dictionary_vr,
    implicit_vr,
    keyword_for_tag,
    private_name,
    private_vr,
    tag_for_keyword,
)

pydicom_datadict = pytest.importorskip("pydicom.datadict")
from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "dicom-standard"

# Our tables come from PS3.6 2024b; pydicom 3.0.2 ships a newer edition. These tags are
# in one and not the other (the only differences in the tag sets).
ONLY_OURS = {0x00060001}  # Current Frame Functional Groups Sequence, dropped later
ONLY_PYDICOM = {0x00102161, 0x300A0054, 0x300A079F, 0x300A07A0, 0x300A07A1}  # added later

# VM differences: PS3.6 says "1-n or 1" (1 when the LUT data is in OW), pydicom "1-n".
VM_DIFFERENCES = {0x00281200, 0x00283006}
# Name differences: PS3.6 writes the micro sign, pydicom "u"; PS3.6 gives three retired
# tags no name at all, pydicom calls them "Retired-blank".
NAME_DIFFERENCES = {0x00181153, 0x00188150, 0x00188151, 0x00080202, 0x00189445, 0x00280020}

# Creators that occur in pydicom's test files and that both private dictionaries know.
SHARED_TEST_FILE_CREATORS = [
    "GEMS_ACQU_01", "GEMS_GENIE_1", "GEMS_IDEN_01", "GEMS_IMAG_01", "GEMS_IMPS_01",
    "GEMS_PARM_01", "GEMS_PATI_01", "GEMS_RELA_01", "GEMS_SERS_01", "GEMS_STDY_01",
    "Philips Imaging DD 001", "SIEMENS MEDCOM HEADER", "SIEMENS MEDCOM OOG",
]
# Where DCMTK's private dictionary (ours) and GDCM's (pydicom's) disagree for those
# creators: tag -> (ours, pydicom). Neither is authoritative; vendors' statements differ.
PRIVATE_DIFFERENCES = {
    ("GEMS_GENIE_1", 0x00091040): ("LO", "PN"),
    ("GEMS_GENIE_1", 0x00111037): ("LO", "LT"),
    ("GEMS_GENIE_1", 0x00131012): ("SL", "UL"),
    ("GEMS_GENIE_1", 0x0013101C): ("FD", "SL"),
    ("GEMS_GENIE_1", 0x0013101D): ("FD", "SL"),
    ("GEMS_IDEN_01", 0x0009102F): ("LT", "SH"),
    ("GEMS_IDEN_01", 0x000910E8): ("UL", "SH"),
}


def pydicom_private_vr(creator: str, tag: int) -> str | None:
    try:
        return pydicom_datadict.private_dictionary_VR(tag, creator)
    except KeyError:
        return None


def pydicom_vr(tag: int) -> str | None:
    try:
        return pydicom_datadict.dictionary_VR(tag)
    except KeyError:
        return None


# --- standard tags -------------------------------------------------------------------

def test_common_tags():
    assert dictionary_vr(0x00100010) == "PN"
    assert keyword_for_tag(0x00100010) == "PatientName"
    assert tag_for_keyword("PatientName") == 0x00100010
    expected = DictEntry("PN", "1", "Patient's Name", "PatientName", False)
    assert dictionary_entry(0x00100010) == expected
    assert dictionary_entry(0x00080001).retired is True  # Length to End


def test_keyword_tag_round_trip_for_every_tag():
    for tag in dictionary._TAGS:
        keyword = keyword_for_tag(tag)
        if keyword:
            assert tag_for_keyword(keyword) == tag
    assert all(keyword_for_tag(tag) == keyword for keyword, tag in dictionary._TAG.items())


def test_unknown_keywords_and_tags():
    assert tag_for_keyword("NoSuchKeyword") is None
    assert tag_for_keyword("") is None
    assert keyword_for_tag(0x00081234) == ""
    assert dictionary_vr(0x00081234) is None
    assert dictionary_entry(0x00081234) is None


def test_ambiguous_vrs_spelled_as_pydicom():
    assert dictionary_vr(0x7FE00010) == "OB or OW"  # Pixel Data
    assert dictionary_vr(0x00280106) == "US or SS"  # Smallest Image Pixel Value
    assert dictionary_vr(0x00281200) == "US or SS or OW"  # Gray Lookup Table Data
    assert dictionary_vr(0x00283006) == "US or OW"  # LUT Data


def test_items_and_delimiters_have_no_vr():
    for tag, keyword in [(0xFFFEE000, "Item"), (0xFFFEE00D, "ItemDelimitationItem"),
                         (0xFFFEE0DD, "SequenceDelimitationItem")]:
        assert dictionary_vr(tag) == "NONE"
        assert keyword_for_tag(tag) == keyword


def test_command_group_elements():
    assert dictionary_vr(0x00000000) == "UL"
    assert keyword_for_tag(0x00000002) == "AffectedSOPClassUID"
    assert dictionary_vr(0x00000901) == "AT"


# --- repeating groups ------------------------------------------------------------------

@pytest.mark.parametrize("tag, vr, keyword", [
    (0x60003000, "OB or OW", "OverlayData"),
    (0x601E3000, "OB or OW", "OverlayData"),
    (0x60000010, "US", "OverlayRows"),
    (0x50000010, "US", "NumberOfPoints"),
    (0x50020010, "US", "NumberOfPoints"),
    (0x00280410, "US", "RowsForNthOrderCoefficients"),
    (0x00280420, "US", "RowsForNthOrderCoefficients"),
    (0x00280411, "US", "ColumnsForNthOrderCoefficients"),
    (0x002031FF, "CS", "SourceImageIDs"),
    (0x10000011, "US", "RunLengthTriplet"),
    (0x10101234, "US", "ZonalMap"),
    (0x7F100010, "OB or OW", "VariablePixelData"),
    (0x7FE00010, "OB or OW", "PixelData"),  # the exact entry wins over (7Fxx,0010)
])
def test_repeaters(tag, vr, keyword):
    assert dictionary_vr(tag) == vr
    assert keyword_for_tag(tag) == keyword
    assert dictionary_entry(tag).keyword == keyword
    assert pydicom_vr(tag) == vr


def test_repeaters_skip_odd_groups():
    """(6001,3000) is private, not an overlay, in pydicom as in the standard."""
    assert dictionary_vr(0x60013000) is None
    assert keyword_for_tag(0x60013000) == ""
    assert implicit_vr(0x60013000, None) == "UN"


def test_repeater_keywords_have_no_single_tag():
    assert tag_for_keyword("OverlayData") is None
    assert pydicom_datadict.tag_for_keyword("OverlayData") is None


def test_every_pydicom_repeater_pattern_matches():
    for pattern, (vr, vm, _name, _retired, keyword) in RepeatersDictionary.items():
        for fill in "02":
            tag = int(pattern.replace("x", fill), 16)
            if tag in DicomDictionary:  # (0028,0400) is Transform Label, not (0028,04x0)
                continue
            entry = dictionary_entry(tag)
            assert entry is not None, pattern
            assert (entry.vr, entry.vm, entry.keyword) == (vr, vm, keyword), pattern


# --- group length ------------------------------------------------------------------------

def test_group_length():
    assert dictionary_vr(0x00080000) == "UL"
    assert dictionary_vr(0x7FE00000) == "UL"
    assert keyword_for_tag(0x00080000) == ""
    assert dictionary_entry(0x00080000) == DictEntry("UL", "1", "Group Length", "", False)
    assert keyword_for_tag(0x00020000) == "FileMetaInformationGroupLength"
    assert implicit_vr(0x00080000) == "UL"


def test_repeater_beats_group_length_like_pydicom():
    """(1010,0000) matches (1010,xxxx) Zonal Map before the group length rule applies."""
    assert dictionary_vr(0x10100000) == "US"
    assert pydicom_vr(0x10100000) == "US"


def test_private_group_length_is_unknown_like_pydicom():
    assert dictionary_vr(0x00090000) is None
    assert implicit_vr(0x00090000, None) == "UN"


# --- private tags --------------------------------------------------------------------------

def test_private_creator_elements_are_lo():
    assert implicit_vr(0x00090010, None) == "LO"
    assert implicit_vr(0x001900FF, None) == "LO"
    assert implicit_vr(0x00290011, "SIEMENS CSA HEADER") == "LO"


def test_private_tags_from_dcmtk():
    assert private_vr("GEMS_ACQU_01", 0x00191002) == "SL"
    assert private_vr("GEMS_ACQU_01", 0x00191102) == "SL"  # any block of the creator
    assert private_name("GEMS_ACQU_01", 0x00191002) == "NumberOfCellsInDetector"
    assert private_vr("ACUSON", 0x00091002) == "UN"
    assert implicit_vr(0x00091010, "ACUSON") == "IS"


def test_private_fixed_elements():
    """DCMTK's four-digit elements hold only in that exact block."""
    assert private_vr("PHILIPS MR/PART", 0x00191000) == "DS"
    assert private_vr("PHILIPS MR/PART", 0x00191100) == "IS"
    assert private_vr("PHILIPS MR/PART", 0x00191200) is None


def test_private_odd_group_ranges():
    """(6001-o-60ff,"PAPYRUS 3.0",10): every odd group 6001..60FF."""
    assert private_vr("PAPYRUS 3.0", 0x60011010) == "US"
    assert private_vr("PAPYRUS 3.0", 0x60FF1110) == "US"
    assert private_name("PAPYRUS 3.0", 0x60031010) == "OverlayRows"
    assert private_vr("PAPYRUS 3.0", 0x61011010) is None


def test_private_unknowns():
    assert private_vr("NO SUCH CREATOR", 0x00091010) is None
    assert private_name("NO SUCH CREATOR", 0x00091010) is None
    assert private_vr("GEMS_ACQU_01", 0x00191007) is None
    assert implicit_vr(0x00091010, None) == "UN"
    assert implicit_vr(0x00091010, "") == "UN"
    assert implicit_vr(0x00091010, "NO SUCH CREATOR") == "UN"
    assert implicit_vr(0x00191007, "GEMS_ACQU_01") == "UN"


@pytest.mark.parametrize("creator", SHARED_TEST_FILE_CREATORS)
def test_private_vr_agrees_with_pydicom(creator):
    table = dictionary._private_tables()[creator]
    for key, (vr, _vm, _name) in table.items():
        tag = key if key & 0xFF00 else key | 0x1000
        theirs = pydicom_private_vr(creator, tag)
        if theirs is None:
            continue
        expected = PRIVATE_DIFFERENCES.get((creator, tag), (theirs, theirs))
        assert (vr, theirs) == expected, f"{creator} {tag:08X}"


# --- agreement with pydicom's standard dictionary -------------------------------------------

def test_same_tags_as_pydicom_up_to_edition():
    ours = set(dictionary._TAGS)
    theirs = set(DicomDictionary)
    assert ours - theirs == ONLY_OURS
    assert theirs - ours == ONLY_PYDICOM


def test_vr_keyword_vm_name_agree_with_pydicom():
    for tag in set(dictionary._TAGS) & set(DicomDictionary):
        vr, vm, name, retired, keyword = DicomDictionary[tag]
        entry = dictionary_entry(tag)
        assert entry.vr == vr, f"{tag:08X}"
        assert entry.keyword == keyword, f"{tag:08X}"
        assert entry.retired == (retired == "Retired"), f"{tag:08X}"
        assert (entry.vm == vm) != (tag in VM_DIFFERENCES), f"{tag:08X}"
        assert (entry.name == name) != (tag in NAME_DIFFERENCES), f"{tag:08X}"


def test_implicit_vr_matches_pydicom_for_standard_tags():
    for tag in dictionary._TAGS:
        if tag in DicomDictionary:
            assert implicit_vr(tag, None) == pydicom_vr(tag)


# --- the generated module ---------------------------------------------------------------------

@pytest.mark.skipif(not SHARED.is_dir(), reason="the standard's source files are not here")
def test_generated_module_is_up_to_date(tmp_path):
    out = tmp_path / "data.py"
    subprocess.run([sys.executable, str(REPO / "tools" / "gen_dictionary.py"), str(SHARED),
                    "--output", str(out)], check=True, capture_output=True)
    committed = Path(_dictionary_data.__file__).read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed
