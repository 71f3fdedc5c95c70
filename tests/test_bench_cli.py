"""`fastdcm bench` end to end on a tiny generated corpus (32 x 32 frames, 2 rounds).

What matters to a user: the report files appear, every (task, reader) pair has its row
(pixel tasks: one per transfer syntax), a reader that gives wrong answers is flagged
rather than shown as fast, and one that crashes its process is reported without ending
the run.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from fastdcm import cli
from fastdcm.bench import corpus, encoders, readers

pydicom = pytest.importorskip("pydicom")

TASKS = ["headers", "tags", "pixels", "frames"]
# The pixel rows of the tiny corpus: one per transfer syntax
JPEG_LABELS = {"jpeg_baseline": "JPEG baseline", "jpeg_lossless": "JPEG lossless SV1",
               "jpeg_ls": "JPEG-LS", "j2k": "JPEG 2000 lossless", "htj2k": "HTJ2K lossless"}
SYNTAXES = ["native", "RLE"] + [JPEG_LABELS[kind] for kind in encoders.available()]
LABELS = ["headers", "tags"] + [f"{task} ({syntax})" for task in ("pixels", "frames")
                                for syntax in SYNTAXES]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    corpus.generate(folder, slices=1, size=32, frames=3, jpeg_frames=2)
    return folder


def make_wrong() -> readers.Reader:
    """fastdcm with every answer wrong: fast, and wrong. Pixels are off by 8, beyond what
    decoders of one lossy codestream may differ by (pydicom's decoder depends on the
    plugins installed)."""
    right = readers.make_fastdcm()
    return dataclasses.replace(
        right, name="wrong",
        headers=lambda p: right.headers(p) + ".9",
        tags=lambda p: (None,) + right.tags(p)[1:],
        pixels=lambda p: right.pixels(p) + 8,
        frame=lambda p, i: right.frame(p, i + 1 if i == 0 else i - 1),
        index=None)


def make_crashing() -> readers.Reader:
    """fastdcm that aborts the interpreter on the RLE file's pixels, as dicomsdl 0.109 does
    on an empty Basic Offset Table."""
    right = readers.make_fastdcm()
    return dataclasses.replace(
        right, name="crashing",
        pixels=lambda p: os.abort() if "rle" in p else right.pixels(p))


def make_missing() -> readers.Reader:
    raise ImportError("no such library")


def bench(capsys, *args: str) -> tuple:
    status = cli.main(["bench", *args, "--rounds", "2", "--warmup", "0"])
    return status, capsys.readouterr().out


def table_rows(out: str) -> dict:
    """(task label, reader) -> the rest of the row, from the printed table."""
    rows = {}
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 3 and cells[0].split(" ")[0] in TASKS + ["index"]:
            rows[cells[0], cells[1]] = cells[2:]
    return rows


def test_generated_files_read_alike(tiny):
    """The generator's own pixels come back from pydicom, RLE and lossless JPEG included."""
    rle = pydicom.dcmread(tiny / "rle_multiframe.dcm")
    assert np.array_equal(rle.pixel_array, corpus.anatomy(200, 32, 3))
    enhanced = pydicom.dcmread(tiny / "enhanced_ct.dcm")
    assert enhanced.PerFrameFunctionalGroupsSequence[2].PlanePositionSequence[0] \
        .ImagePositionPatient[2] == -2.5
    for kind in set(encoders.available()) - {"jpeg_baseline"}:
        pixels = pydicom.dcmread(tiny / f"{kind}.dcm").pixel_array
        assert np.array_equal(pixels, corpus.anatomy(300, 32, 2)), kind


def test_report_and_rows(tiny, tmp_path, capsys):
    out_dir = tmp_path / "report"
    status, out = bench(capsys, str(tiny), "--readers", "fastdcm,pydicom",
                        "--tasks", ",".join(TASKS), "--out", str(out_dir))
    assert status == 0, out
    rows = table_rows(out)
    assert set(rows) == {(t, r) for t in LABELS for r in ("fastdcm", "pydicom")}
    assert all(row[-1] == "ok" for row in rows.values()), out
    assert rows["frames (native)", "fastdcm"][0] == "1"  # the Enhanced CT
    assert rows["pixels (native)", "fastdcm"][0] == "2"  # and the CT slice
    assert (out_dir / "report.md").read_text().count("| fastdcm |") == len(LABELS)
    results = json.loads((out_dir / "results.json").read_text())["results"]
    assert len(results) == 2 * len(LABELS) and all(len(r["times"]) == 2 for r in results)
    if importlib.util.find_spec("matplotlib"):
        assert (out_dir / "bench.png").stat().st_size > 0
    else:
        assert "matplotlib is not installed" in out


def test_wrong_reader_is_flagged(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(readers.READERS, "wrong", ("wrong-reader", make_wrong))
    status, out = bench(capsys, str(tiny), "--readers", "pydicom,wrong",
                        "--tasks", ",".join(TASKS), "--out", str(tmp_path))
    assert status == 1
    rows = table_rows(out)
    for label in LABELS:
        assert rows[label, "wrong"][-1].startswith("MISMATCH"), out
        assert rows[label, "pydicom"][-1] == "ok"
    assert rows["frames (RLE)", "wrong"][-1] == "MISMATCH 1/1"


def test_crashing_reader_does_not_end_the_run(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(readers.READERS, "crashing", ("crashing-reader", make_crashing))
    status, out = bench(capsys, str(tiny), "--readers", "pydicom,crashing",
                        "--tasks", "headers,pixels,frames", "--out", str(tmp_path))
    assert status == 1
    rows = table_rows(out)
    assert rows["pixels (RLE)", "crashing"][-1] == "crashed (signal 6 SIGABRT)", out
    assert rows["pixels (RLE)", "crashing"][2] == "-"  # no time for a crashed row
    others = [label for label in LABELS if label != "pixels (RLE)" and "tags" not in label]
    for label in others:  # before the crash, and after it in a fresh process
        assert rows[label, "crashing"][-1] == "ok", out
    assert all(rows[label, "pydicom"][-1] == "ok" for label in others + ["pixels (RLE)"])
    assert "crashed (signal 6" in (tmp_path / "report.md").read_text()


def test_missing_reader_says_how_to_install(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(readers.READERS, "absent", ("absent-dicom", make_missing))
    status, out = bench(capsys, str(tiny), "--readers", "fastdcm,absent", "--tasks", "tags",
                        "--out", str(tmp_path))
    assert status == 0
    assert "absent: not installed, skipped (pip install absent-dicom)" in out
    assert set(table_rows(out)) == {("tags", "fastdcm")}


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="needs pyarrow")
def test_index_task(tiny, tmp_path, capsys):
    status, out = bench(capsys, str(tiny), "--readers", "fastdcm,pydicom", "--tasks", "index",
                        "--out", str(tmp_path))
    assert status == 0, out
    assert table_rows(out)["index", "fastdcm"][-1] == "ok"


def test_without_dir_generates_and_removes_corpus(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(corpus, "generate", functools.partial(
        corpus.generate, slices=2, size=16, frames=2, jpeg_frames=1))
    status, out = bench(capsys, "--readers", "fastdcm", "--tasks", "headers",
                        "--out", str(tmp_path))
    assert status == 0, out
    folder = re.search(r"generating a corpus in (\S+)", out).group(1)
    assert not Path(folder).exists()
    assert f"{4 + len(encoders.available())} files" in out


def test_without_imagecodecs_no_jpeg_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(encoders, "available", lambda: [])
    monkeypatch.setattr(corpus, "generate", functools.partial(
        corpus.generate, slices=1, size=16, frames=2))
    status, out = bench(capsys, "--readers", "fastdcm", "--tasks", "pixels",
                        "--out", str(tmp_path))
    assert status == 0, out
    assert "imagecodecs is not installed: the corpus has no JPEG-family files" in out
    assert set(table_rows(out)) == {("pixels (native)", "fastdcm"), ("pixels (RLE)", "fastdcm")}
