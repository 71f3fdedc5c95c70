"""Mutation fuzzing of the reader: real files (pydicom's test files, pydicom-data and
testdata/valid) with bytes flipped, inserted and deleted, lengths and tags overwritten with
hostile values, and tails cut off, read whole and header-only and then touched everywhere.
Whatever the damage, only InvalidDicomError may escape (and nothing may crash or hang).

The run is bounded and derandomized, so CI sees the same examples every time; set
FASTDCM_FUZZ_EXAMPLES to run longer locally (every failure hypothesis finds shrinks to a
small reproducer: keep it as a regression file in testdata/malformed).
"""
from __future__ import annotations

import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastdcm
from fastdcm import InvalidDicomError, Sequence

EXAMPLES = int(os.environ.get("FASTDCM_FUZZ_EXAMPLES", "400"))
MAX_FILE_SIZE = 256 * 1024  # larger files make slow examples and find nothing new
VALID = Path(__file__).resolve().parent.parent / "testdata" / "valid"

# Values that a length field must survive: undefined, the largest, the largest odd, the
# sign bit, past any file, and small odd ones.
HOSTILE_32 = [0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFF0, 0x80000000, 0x7FFFFFFF, 0x10000000, 0, 1, 3]
HOSTILE_16 = [0xFFFF, 0xFFFE, 0x8000, 0, 1, 3]
ITEM_TAGS = [0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD]
DEFLATED = b"1.2.840.10008.1.2.1.99"


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    little: bool
    lengths: Tuple[Tuple[int, int], ...]   # (position, width) of length fields
    headers: Tuple[int, ...]               # positions of element and item tags


def touch(ds: fastdcm.Dataset) -> None:
    for element in ds:
        element.vr, element.keyword, element.name, element.VM, bytes(element.raw)
        value = element.value
        if isinstance(value, Sequence):
            for item in value:
                touch(item)


def _structure(ds: fastdcm.Dataset, data: bytes, lengths: list, headers: list) -> None:
    """Where the length fields and tags of every element are, found through the public API:
    a 4-byte length sits just before the value, else a 2-byte one."""
    order = "<" if ds.is_little_endian else ">"
    for element in ds:
        offset = element.offset
        if offset >= 8 and struct.unpack_from(order + "I", data, offset - 4)[0] == element.length:
            lengths.append((offset - 4, 4))
            headers.append(offset - 8 if element.tag >> 16 == 0xFFFE else offset - 12)
        elif offset >= 8:
            lengths.append((offset - 2, 2))
            headers.append(offset - 8)
        value = element.value
        if isinstance(value, Sequence):
            for item in value:
                _structure(item, data, lengths, headers)


def _items(data: bytes, little: bool) -> List[int]:
    """Positions of item tags, by their bytes (good enough to aim mutations at)."""
    pattern = struct.pack("<HH" if little else ">HH", 0xFFFE, 0xE000)
    found, start = [], data.find(pattern)
    while start >= 0 and len(found) < 1000:
        found.append(start)
        start = data.find(pattern, start + 1)
    return found


@lru_cache(maxsize=None)
def corpus() -> Tuple[Sample, ...]:
    paths = sorted(VALID.glob("*.dcm"))
    try:
        from reference_files import reference_files

        paths += reference_files()
    except ImportError:  # pydicom is a test dependency; without it, fuzz the valid files
        pass
    samples = []
    for path in paths:
        if path.stat().st_size > MAX_FILE_SIZE:
            continue
        data = path.read_bytes()
        lengths: list = []
        headers: list = []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with fastdcm.read(data) as ds:
                    little = ds.is_little_endian
                    if not ds.transfer_syntax_uid.endswith(".99"):  # not positions in the file
                        _structure(ds.file_meta, data, lengths, headers)
                        _structure(ds, data, lengths, headers)
        except InvalidDicomError:
            continue
        items = _items(data, little)
        lengths += [(p + 4, 4) for p in items]
        headers += items
        samples.append(Sample(f"{path.parent.name}/{path.name}", data, little,
                              tuple(lengths), tuple(headers)))
    return tuple(samples)


@st.composite
def mutated(draw) -> Tuple[str, bytes]:
    """A corpus file with one to four mutations."""
    samples = corpus()
    sample = samples[draw(st.integers(0, len(samples) - 1))]
    data = bytearray(sample.data)
    order = "<" if sample.little else ">"
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "length", "tag", "truncate"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[position:position + draw(st.integers(1, 16))]
        elif kind == "length" and sample.lengths:
            where, width = draw(st.sampled_from(sample.lengths))
            hostile = HOSTILE_32 if width == 4 else HOSTILE_16
            old = int.from_bytes(data[where:where + width], "little" if sample.little else "big")
            value = draw(st.sampled_from(hostile + [old + 1, max(old - 1, 0), old + 2]))
            value &= (1 << (8 * width)) - 1
            data[where:where + width] = value.to_bytes(width, "little" if sample.little else "big")
        elif kind == "tag" and sample.headers:
            where = draw(st.sampled_from(sample.headers))
            data[where:where + 4] = struct.pack(order + "HH", *divmod(draw(st.sampled_from(ITEM_TAGS)), 0x10000))
        elif kind == "truncate":
            del data[position:]
    return sample.name, bytes(data)


_folder = tempfile.TemporaryDirectory(prefix="fastdcm-fuzz-")


def read_and_touch(data: bytes, how: str) -> None:
    """Read one way and touch everything; InvalidDicomError is the one allowed failure."""
    if how.startswith("path"):
        path = os.path.join(_folder.name, "mutated.dcm")
        with open(path, "wb") as f:
            f.write(data)
        source = path  # a header-only read of a path reads a 32 KiB prefix first
    else:
        source = data
    options = {"stop_before_pixels": "header" in how}
    if "tags" in how:
        options = {"tags": ["PatientID", 0x00200013, "RequestAttributesSequence"]}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fastdcm.read(source, **options) as ds:
                touch(ds.file_meta)
                touch(ds)
    except InvalidDicomError as error:
        assert error.offset is None or error.offset >= 0
        if DEFLATED not in data:  # offsets in a deflated data set are in the inflated bytes
            assert error.offset is None or error.offset <= len(data)


HOW = ["bytes", "bytes header", "path", "path header", "path tags"]


def test_corpus_is_there():
    assert len(corpus()) >= 5


@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated(), st.sampled_from(HOW))
def test_mutated_files_raise_only_invalid_dicom_error(case, how):
    name, data = case
    read_and_touch(data, how)


@pytest.mark.parametrize("how", HOW)
def test_every_prefix_of_a_valid_file(how):
    """Cutting a file anywhere: every length from 0 to the whole file, one way of reading each."""
    data = (VALID / "ct_explicit_le.dcm").read_bytes()
    for end in range(HOW.index(how), len(data), len(HOW)):
        read_and_touch(data[:end], how)
