"""Whole reads of every file, whatever its size, started from a 4 KB prefix, as reads of
files over 256 KB are (see fastdcm._source): the scan may then end at a last value it has
not read, and the prefix grows or gives way to the whole file. For tests that run many
files through that path; the reader's memory of earlier files is kept out of it, so that
every file takes the path from the start."""
from __future__ import annotations

import contextlib
from typing import Iterator

from fastdcm import _source


@contextlib.contextmanager
def whole_reads_from_a_prefix() -> Iterator[None]:
    names = ("READ_WHOLE_LIMIT", "_first_prefix", "_prefix_first", "remember_header_size",
             "remember_whole_read")
    saved = [getattr(_source, name) for name in names]
    forced = (0, _source.MIN_PREFIX, True, lambda *args: None, lambda *args: None)
    for name, value in zip(names, forced):
        setattr(_source, name, value)
    try:
        yield
    finally:
        for name, value in zip(names, saved):
            setattr(_source, name, value)
