"""``fastdcm dump``: dcmdump's layout, nesting, --json, and errors that name the file."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

import fastdcm
from fastdcm.cli import main

pydicom_data = pytest.importorskip("pydicom.data")


def data_file(name: str) -> str:
    return pydicom_data.get_testdata_file(name)


def run(capsys, *argv: str):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def test_dump_lines(capsys):
    status, lines, err = run(capsys, "dump", data_file("CT_small.dcm"))
    assert (status, err) == (0, "")
    assert lines[:5] == ["", "# Dicom-File-Format", "", "# Dicom-Meta-Information-Header",
                         "# Used TransferSyntax: Little Endian Explicit"]
    assert ("# Used TransferSyntax: Little Endian Explicit (1.2.840.10008.1.2.1)"
            in lines)
    for line in [
        "(0002,0000) UL 192                                      #   4, 1 "
        "FileMetaInformationGroupLength",
        "(0002,0001) OB 00\\01                                    #   2, 1 "
        "FileMetaInformationVersion",
        "(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]                 #  22, 3 ImageType",
        "(0008,0050) SH (no value available)                     #   0, 0 AccessionNumber",
        "(0010,0010) PN [CompressedSamples^CT1]                  #  22, 1 PatientName",
        "(0010,1030) DS [0.000000]                               #   8, 1 PatientWeight",
        "(0009,0010) LO [GEMS_IDEN_01]                           #  12, 1 PrivateCreator",
        "(0043,102b) SS 4\\4\\0\\0                                  #   8, 4 "
        "PrivateScanOptions",
        # binary values: as many whole values as fit, then "..."
        "(0043,1029) OB 00\\00\\00\\01\\43\\cf\\52\\14\\02\\d7\\00\\00\\08\\e6\\00\\00"
        "\\00\\00\\00\\00\\00\\00... # 2068, 1 HistogramTables",
        "(7fe0,0010) OW 00af\\00b4\\00a6\\008f\\008b\\0098\\00a7\\00bb\\00d4\\00ec\\00e5"
        "\\00d5\\00cb... # 32768, 1 PixelData",
    ]:
        assert line in lines


def test_sequences_are_indented(capsys):
    _, lines, _ = run(capsys, "dump", data_file("CT_small.dcm"))
    start = next(i for i, line in enumerate(lines) if line.startswith("(0010,1002)"))
    assert lines[start] == ("(0010,1002) SQ (Sequence with explicit length #=2)      #  72, 1 "
                            "OtherPatientIDsSequence")
    assert lines[start + 1].startswith("  (fffe,e000) na (Item #=2) ")
    assert lines[start + 2] == ("    (0010,0020) LO [ABCD1234]                               "
                                "#   8, 1 PatientID")
    assert lines[start + 4].startswith("  (fffe,e000) na (Item #=2) ")
    assert lines[start + 7].startswith("(0010,1010) AS [000Y]")


def test_deep_nesting(capsys):
    _, lines, _ = run(capsys, "dump", data_file("rtplan.dcm"))
    assert ("        (300a,0084) DS [1.02754010000000]                       #  16, 1 BeamDose"
            in lines)


def test_long_text_is_shortened(capsys):
    _, lines, _ = run(capsys, "dump", data_file("rtstruct.dcm"))
    contour = next(line for line in lines if "(3006,0050)" in line)
    assert contour.strip().startswith(
        "(3006,0050) DS [-200.0\\150.0\\-200.0\\-200.0\\-150.0\\-200.0\\200.0\\-150.0\\-200.0"
        "\\200.0... # 100,15 ContourData")


def test_encapsulated_pixel_data(capsys):
    _, lines, _ = run(capsys, "dump", data_file("JPEG2000.dcm"))
    start = lines.index("(7fe0,0010) OB (PixelSequence #=2)                      # u/l, 1 "
                        "PixelData")
    assert lines[start + 1] == ("  (fffe,e000) pi (no value available)                     "
                                "#   0, 1 Item")
    assert lines[start + 2].startswith("  (fffe,e000) pi ff\\4f\\ff\\51\\")


def test_stop_before_pixels(capsys):
    status, lines, _ = run(capsys, "dump", "--stop-before-pixels", data_file("CT_small.dcm"))
    assert status == 0
    assert not any(line.startswith("(7fe0,") for line in lines)
    assert lines[-1].startswith("(0043,104e) FL ")


def test_json(capsys):
    path = data_file("CT_small.dcm")
    status, lines, _ = run(capsys, "dump", "--json", path)
    assert status == 0
    with fastdcm.read(path) as ds:
        assert json.loads("\n".join(lines)) == json.loads(json.dumps(ds.to_json_dict()))


def test_json_of_several_files_is_an_array(capsys):
    paths = [data_file("CT_small.dcm"), data_file("rtplan.dcm")]
    status, lines, _ = run(capsys, "dump", "--json", "--stop-before-pixels", *paths)
    documents = json.loads("\n".join(lines))
    assert status == 0 and len(documents) == 2
    assert "7FE00010" not in documents[0]
    assert documents[1]["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Last^First^mid^pre"}]}


def test_errors_name_the_file_and_the_rest_go_on(capsys, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a DICOM file, just some words\n" * 4)
    missing = tmp_path / "missing.dcm"
    status, lines, err = run(capsys, "dump", str(text), str(missing), data_file("rtplan.dcm"))
    assert status == 1
    assert err.splitlines() == [
        f"fastdcm: {text}: not DICOM: no 'DICM' prefix and no data set at the start [offset 0]",
        f"fastdcm: {missing}: No such file or directory",
    ]
    assert lines[0] == f"# fastdcm dump (1/3): {text}"
    assert f"# fastdcm dump (3/3): {data_file('rtplan.dcm')}" in lines
    assert any(line.startswith("(300a,0002) SH [Plan1]") for line in lines)


def test_cut_short_file_prints_what_it_can(capsys):
    status, lines, err = run(capsys, "dump", data_file("rtplan_truncated.dcm"))
    assert status == 1
    assert err.startswith(f"fastdcm: {data_file('rtplan_truncated.dcm')}: ")
    assert "past the end" in err


def test_no_command_shows_help(capsys):
    assert main([]) == 2
    assert "dump" in capsys.readouterr().err


def test_python_dash_m(capsys):
    path = data_file("rtplan.dcm")
    result = subprocess.run([sys.executable, "-m", "fastdcm", "dump", path],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    main(["dump", path])
    assert result.stdout == capsys.readouterr().out
    result = subprocess.run([sys.executable, "-m", "fastdcm", "dump", path + ".nope"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr == f"fastdcm: {path}.nope: No such file or directory\n"


def test_reader_going_away_is_not_an_error_of_the_file():
    """`fastdcm dump ... | head`: no traceback and no file blamed when the pipe closes."""
    paths = [data_file("waveform_ecg.dcm")] * 20  # far more than a pipe buffer holds
    process = subprocess.Popen([sys.executable, "-m", "fastdcm", "dump", *paths],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=60) == 1
    assert process.stderr.read() == b""
    process.stderr.close()


# -- side by side with DCMTK's dcmdump ----------------------------------------------------------

DCMDUMP = shutil.which("dcmdump")
# What fastdcm shows differently, on purpose or for want of data:
# - UI: dcmdump prints a known UID by name (=CTImageStorage); fastdcm has no UID names yet.
# - FL FD: dcmdump prints its own number of digits; fastdcm the shortest exact decimal.
# - items: dcmdump gives each item's length and adds the item and sequence delimiters
#   ("for re-encoding" where the file has none); fastdcm lists the items' elements only.
# - text outside ASCII: dcmdump prints the bytes undecoded; fastdcm decodes them.
# - LT ST UT: dcmdump prints line breaks as they are; fastdcm keeps one line ("." for them).
SKIP_VRS = {"UI", "FL", "FD", "LT", "ST", "UT"}
DCMDUMP_FILES = ["CT_small.dcm", "rtplan.dcm", "rtstruct.dcm", "rtdose.dcm",
                 "MR_small_bigendian.dcm", "JPEG2000.dcm", "test-SR.dcm", "waveform_ecg.dcm",
                 "ExplVR_BigEnd.dcm"]
# Names that differ for reasons outside fastdcm: which attributes are retired depends on the
# edition of PS3.6 each dictionary was made from, and DCMTK's private.dic (which fastdcm's
# private dictionary is generated from) has a space that the dictionary built into dcmdump lacks.
NAME_SPELLINGS = {"RETIRED_": "", "End NumberForBaseline": "EndNumberForBaseline"}


def comparable(lines):
    """Element lines of the kinds both tools print alike, names spelt one way."""
    for line in lines:
        parts = line.split()
        if (line.lstrip().startswith("(") and not line.lstrip().startswith("(fffe,")
                and parts[1] not in SKIP_VRS and line.isascii()):
            for spelling, common in NAME_SPELLINGS.items():
                line = line.replace(spelling, common)
            yield line


@pytest.mark.skipif(DCMDUMP is None, reason="DCMTK's dcmdump is not installed")
@pytest.mark.parametrize("name", DCMDUMP_FILES)
def test_same_lines_as_dcmdump(capsys, name):
    path = data_file(name)
    theirs = subprocess.run([DCMDUMP, path], capture_output=True, check=True).stdout
    their_lines = set(comparable(theirs.decode("latin-1").splitlines()))
    _, lines, _ = run(capsys, "dump", path)
    ours = list(comparable(lines))
    assert len(ours) > 10
    assert [line for line in ours if line not in their_lines] == []
