"""Mutation fuzzing of the reader: real files (pydicom's test files, pydicom-data and
testdata/valid) with bytes flipped, inserted and deleted, lengths and tags overwritten with
hostile values, values replaced by junk, and tails cut off, read whole and header-only from
bytes and from paths, then touched everywhere (every value, every sequence item, the pixel
data). Whatever the damage, only InvalidDicomError may escape: no other exception, no crash,
no hang, and no allocation far beyond the input (the address space is capped on Linux). The
bulk indexer, which decodes values itself, reads them too.

The run is bounded and derandomized, so CI sees the same examples every time; set
FASTDCM_FUZZ_EXAMPLES to run longer locally (every failure hypothesis finds shrinks to a
small reproducer: keep it as a regression file in testdata/malformed).
"""
from __future__ import annotations

import contextlib
import os
import re
import struct
import sys
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
from prefix_reads import whole_reads_from_a_prefix

EXAMPLES = int(os.environ.get("FASTDCM_FUZZ_EXAMPLES", "8000"))
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
    values: Tuple[Tuple[int, int], ...]    # (offset, length) of values other than sequences


def touch(ds: fastdcm.Dataset) -> None:
    for element in ds:
        element.vr, element.keyword, element.name, element.VM, bytes(element.raw)
        value = element.value
        if isinstance(value, Sequence):
            for item in value:
                touch(item)


def _structure(ds: fastdcm.Dataset, data: bytes, lengths: list, headers: list,
               values: list) -> None:
    """Where the length fields and tags of every element are, found through the public API:
    a 4-byte length sits just before the value, else a 2-byte one."""
    order = "<" if ds.is_little_endian else ">"
    for element in ds:
        offset = element.offset
        if offset >= 8 and struct.unpack_from(order + "I", data, offset - 4)[0] == element.length:
            lengths.append((offset - 4, 4))
            headers.append(offset - (8 if ds.is_implicit_vr else 12))
        elif offset >= 8:
            lengths.append((offset - 2, 2))
            headers.append(offset - 8)
        value = element.value
        if isinstance(value, Sequence):
            for item in value:
                _structure(item, data, lengths, headers, values)
        elif 0 < element.length < 0xFFFFFFFF:
            values.append((offset, element.length))


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
        values: list = []
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with fastdcm.read(data) as ds:
                    little = ds.is_little_endian
                    if not ds.transfer_syntax_uid.endswith(".99"):  # not positions in the file
                        _structure(ds.file_meta, data, lengths, headers, values)
                        _structure(ds, data, lengths, headers, values)
        except InvalidDicomError:
            continue
        items = _items(data, little)
        lengths += [(p + 4, 4) for p in items]
        headers += items
        samples.append(Sample(f"{path.parent.name}/{path.name}", data, little,
                              tuple(lengths), tuple(headers), tuple(values)))
    return tuple(samples)


# Junk for values that leaves the structure whole, so that value conversion and pixel
# decoding see it: binary junk, the extreme numbers of a US or UL (Rows, Bits Allocated...),
# and long runs of digits for IS and DS (Number of Frames).
VALUE_JUNK = [b"\xff\xff\xff\xff", b"\0\0\0\0", b"\0\x80\0\x80", b"\x01\0\0\0", b"99999999",
              b"-1", b"1e999", b"nan", b"\\\\", b"\x1b$B", b"\xc3("]


@st.composite
def mutated(draw) -> Tuple[str, bytes]:
    """A corpus file with one to four mutations."""
    samples = corpus()
    sample = samples[draw(st.integers(0, len(samples) - 1))]
    data = bytearray(sample.data)
    order = "<" if sample.little else ">"
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "length", "tag", "truncate",
                                     "value", "value"]))
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
            tag = draw(st.sampled_from(ITEM_TAGS))
            data[where:where + 4] = struct.pack(order + "HH", tag >> 16, tag & 0xFFFF)
        elif kind == "truncate":
            del data[position:]
        elif kind == "value" and sample.values:
            where, size = draw(st.sampled_from(sample.values))
            junk = draw(st.sampled_from(VALUE_JUNK) | st.binary(min_size=1, max_size=8))
            junk = junk[:size]
            data[where:where + len(junk)] = junk
    return sample.name, bytes(data)


_folder = tempfile.TemporaryDirectory(prefix="fastdcm-fuzz-")


def prefix_reads(how: str) -> contextlib.AbstractContextManager:
    """"path prefix": a whole read from a 4 KB prefix, the scan perhaps ending at a last
    value it has not read (see prefix_reads)."""
    return whole_reads_from_a_prefix() if "prefix" in how else contextlib.nullcontext()


def read_and_touch(data: bytes, how: str) -> None:
    """Read one way and touch everything; InvalidDicomError is the one allowed failure."""
    if how.startswith("path"):
        path = os.path.join(_folder.name, "mutated.dcm")
        with open(path, "wb") as f:
            f.write(data)
        source = path  # a header-only read of a path reads a prefix, then more if needed
    else:
        source = data
    options = {"stop_before_pixels": "header" in how}
    if "tags" in how:
        options = {"tags": ["PatientID", 0x00200013, "RequestAttributesSequence"]}
    try:
        with warnings.catch_warnings(), prefix_reads(how):
            warnings.simplefilter("ignore")
            with fastdcm.read(source, **options) as ds:
                touch(ds.file_meta)
                touch(ds)
                if not options and "PixelData" in ds:
                    ds.num_frames, ds.pixel_array, ds.copy_pixels(), ds.rescaled_array()
    except InvalidDicomError as error:
        assert error.offset is None or error.offset >= 0
        if DEFLATED not in data:  # offsets in a deflated data set are in the inflated bytes
            assert error.offset is None or error.offset <= len(data)


HOW = ["bytes", "bytes header", "path", "path prefix", "path header", "path tags"]


@pytest.fixture(scope="module", autouse=True)
def bounded_memory():
    """An allocation far larger than any corpus file (a few hundred KiB) becomes a
    MemoryError, which fails the test, rather than a machine swapping (Linux only)."""
    if not sys.platform.startswith("linux"):
        yield
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (used + (2 << 30), hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_corpus_is_there():
    assert len(corpus()) >= 5


@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated(), st.sampled_from(HOW))
def test_mutated_files_raise_only_invalid_dicom_error(case, how):
    name, data = case
    read_and_touch(data, how)


@settings(max_examples=EXAMPLES // 8, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_files_in_the_bulk_index(case):
    """The indexer decodes the commonest values itself, from the header bytes (see
    _bulk_values): whatever the damage, a row has the values the facade gives, or an
    error that is an InvalidDicomError's, never a Python exception's."""
    bulk_read = pytest.importorskip("fastdcm._bulk_read")
    from fastdcm._bulk_columns import tag_columns, to_array

    plan = bulk_read.Plan(tag_columns(None))
    path = os.path.join(_folder.name, "indexed.dcm")
    with open(path, "wb") as f:
        f.write(case[1])
    batch = bulk_read.read_chunk(plan, [path])
    batch.validate(full=True)  # the buffers made in C (see _bulk_builders) are well formed
    row = batch.to_pylist()[0]
    if row["error"] is not None:
        assert not re.match(r"\w+(Error|Exception|Warning): ", row["error"]), row["error"]
        return
    with warnings.catch_warnings(), fastdcm.read(path, stop_before_pixels=True) as ds:
        warnings.simplefilter("ignore")
        for column in plan.columns:
            if column.kind != "json":
                wanted = to_array([ds.get_value(column.tag)], plan.schema.field(column.name).type)
                assert [row[column.name]] == wanted.to_pylist() or \
                    repr(row[column.name]) == repr(wanted[0].as_py()), column.name  # nan


@pytest.mark.parametrize("how", HOW)
def test_every_prefix_of_a_valid_file(how):
    """Cutting a file anywhere: every length from 0 to the whole file, one way of reading each."""
    data = (VALID / "ct_explicit_le.dcm").read_bytes()
    for end in range(HOW.index(how), len(data), len(HOW)):
        read_and_touch(data[:end], how)
