"""The core reader side by side with pydicom (and dicomsdl) on the same files, in one run.

Groups (pytest-benchmark ``group``), each with one or more fastdcm variants and the
other readers doing the same work:

* ``a-header``: parse the header of a 512 x 512 CT slice, stopping before the pixels.
* ``b-index``: that, plus the values of the 10 tags an indexer typically keeps.
* ``c-enhanced-<lengths>``: the header of an Enhanced CT with 2000 per-frame functional
  group items, walking every item's ImagePositionPatient so that lazily parsed sequences
  are really parsed; once with undefined-length sequences and items, once with defined.

Every call reads a different file (the callables rotate over the corpus), so no reader is
timed on one file's warm objects. A competitor's ``extra_info["target"]`` is the speed-up
fastdcm should reach against it (competitor time / fastdcm time); benchmarks/report.py
prints the ratios and checks them:

    python -m pytest benchmarks --benchmark-json=bench.json
    python benchmarks/report.py bench.json
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Iterable, List

import pydicom
import pytest

import fastdcm
from harness import run

try:
    import dicomsdl
except ImportError:  # an optional competitor: its benchmarks are skipped without it
    dicomsdl = None

needs_dicomsdl = pytest.mark.skipif(dicomsdl is None, reason="dicomsdl is not installed")

INDEX_KEYWORDS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
                  "Modality", "StudyDate", "Rows", "Columns", "InstanceNumber",
                  "ImagePositionPatient")
# dicomsdl's load_until is inclusive; pydicom's stop_before_pixels stops before the first
# of (7FE0,0008) Float Pixel Data, (7FE0,0009), (7FE0,0010).
DICOMSDL_BEFORE_PIXELS = 0x7FE00007
ENCODINGS = ("undefined", "defined")


def rotate(paths: Iterable[str]) -> Callable[[], str]:
    """A callable giving the next path on every call, round and round."""
    return itertools.cycle(list(paths)).__next__


def index_values(ds: Any) -> tuple:
    """The 10 index values, by attribute as a user writes them (all three readers agree)."""
    return (ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID,
            ds.Modality, ds.StudyDate, ds.Rows, ds.Columns, ds.InstanceNumber,
            ds.ImagePositionPatient)


# -- (a) header parse -----------------------------------------------------------------------

@pytest.mark.benchmark(group="a-header")
def test_header_fastdcm(benchmark, corpus):
    next_path = rotate(corpus["ct"])
    assert run(benchmark, lambda: len(fastdcm.read(next_path(), stop_before_pixels=True)),
               "fastdcm") > 250


@pytest.mark.benchmark(group="a-header")
def test_header_pydicom(benchmark, corpus):
    next_path = rotate(corpus["ct"])
    assert run(benchmark, lambda: len(pydicom.dcmread(next_path(), stop_before_pixels=True)),
               "pydicom") > 250


@needs_dicomsdl
@pytest.mark.benchmark(group="a-header")
def test_header_dicomsdl(benchmark, corpus):
    next_path = rotate(corpus["ct"])
    assert run(benchmark, lambda: dicomsdl.open(next_path(), DICOMSDL_BEFORE_PIXELS),
               "dicomsdl") is not None


# -- (b) header + 10 index values -----------------------------------------------------------

def check_index(values: tuple) -> None:
    assert values[4] == "CT" and values[6] == 512 and len(values[9]) == 3


@pytest.mark.benchmark(group="b-index")
def test_index_fastdcm_stop_before_pixels(benchmark, corpus):
    next_path = rotate(corpus["ct"])
    check_index(run(benchmark, lambda: index_values(
        fastdcm.read(next_path(), stop_before_pixels=True)), "fastdcm"))


@pytest.mark.benchmark(group="b-index")
def test_index_fastdcm_tags(benchmark, corpus):
    next_path = rotate(corpus["ct"])
    check_index(run(benchmark, lambda: index_values(
        fastdcm.read(next_path(), tags=INDEX_KEYWORDS)), "fastdcm"))


@pytest.mark.benchmark(group="b-index")
def test_index_pydicom(benchmark, corpus):
    next_path = rotate(corpus["ct"])
    check_index(run(benchmark, lambda: index_values(
        pydicom.dcmread(next_path(), stop_before_pixels=True)), "pydicom", target=60))


@pytest.mark.benchmark(group="b-index")
def test_index_pydicom_specific_tags(benchmark, corpus):
    """pydicom's own way to read only some tags (it still walks every header)."""
    next_path = rotate(corpus["ct"])
    check_index(run(benchmark, lambda: index_values(pydicom.dcmread(
        next_path(), stop_before_pixels=True, specific_tags=list(INDEX_KEYWORDS))),
        "pydicom"))


@needs_dicomsdl
@pytest.mark.benchmark(group="b-index")
def test_index_dicomsdl(benchmark, corpus):
    next_path = rotate(corpus["ct"])
    check_index(run(benchmark, lambda: index_values(
        dicomsdl.open(next_path(), DICOMSDL_BEFORE_PIXELS)), "dicomsdl", target=6))


# -- (c) enhanced multi-frame header --------------------------------------------------------

def positions_of(items: Iterable[Any]) -> List[Any]:
    return [item.PlanePositionSequence[0].ImagePositionPatient for item in items]


def dicomsdl_items(sequence: Any) -> Iterable[Any]:
    """dicomsdl's Sequence has no len or iterator: items are fetched until None."""
    for index in itertools.count():
        item = sequence.getDataSet(index)
        if item is None:
            return
        yield item


# The slow readers take 0.1-1 s a call here: ask for enough rounds that a median means something.
enhanced = pytest.mark.benchmark(min_rounds=10)


@enhanced
@pytest.mark.parametrize("lengths", ENCODINGS)
def test_enhanced_fastdcm(benchmark, corpus, lengths):
    benchmark.group = f"c-enhanced-{lengths}"
    next_path = rotate(corpus[f"enhanced_{lengths}"])
    positions = run(benchmark, lambda: positions_of(fastdcm.read(
        next_path(), stop_before_pixels=True).PerFrameFunctionalGroupsSequence), "fastdcm")
    assert len(positions) == 2000


@enhanced
@pytest.mark.parametrize("lengths", ENCODINGS)
def test_enhanced_pydicom(benchmark, corpus, lengths):
    benchmark.group = f"c-enhanced-{lengths}"
    next_path = rotate(corpus[f"enhanced_{lengths}"])
    positions = run(benchmark, lambda: positions_of(pydicom.dcmread(
        next_path(), stop_before_pixels=True).PerFrameFunctionalGroupsSequence), "pydicom",
        target=20)
    assert len(positions) == 2000


@needs_dicomsdl
@enhanced
@pytest.mark.parametrize("lengths", ENCODINGS)
def test_enhanced_dicomsdl(benchmark, corpus, lengths):
    benchmark.group = f"c-enhanced-{lengths}"
    next_path = rotate(corpus[f"enhanced_{lengths}"])

    def work() -> List[Any]:
        ds = dicomsdl.open(next_path(), DICOMSDL_BEFORE_PIXELS)
        return [item.PlanePositionSequence.getDataSet(0).ImagePositionPatient
                for item in dicomsdl_items(ds.PerFrameFunctionalGroupsSequence)]

    assert len(run(benchmark, work, "dicomsdl")) == 2000
