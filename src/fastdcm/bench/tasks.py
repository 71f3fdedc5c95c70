"""The benchmark tasks: what users do with a reader, and how their answers are compared.

A task turns (reader, files) into jobs, each a call that returns the reader's answer for
one file (or for all files: ``index``). The runner times rounds of jobs; the answers are
compared once with pydicom's, so a fast wrong reader is reported, never praised.
Values are compared in a canonical form (numbers as rounded floats, multi-values as
tuples, padding stripped) because each library has its own types for the same value:
pydicom's DSfloat, dicomsdl's floats, SimpleITK's and gdcm's strings.
"""
from __future__ import annotations

import os
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import fastdcm
from fastdcm.bench.readers import Reader

Job = Tuple[str, Callable[[], Any]]  # (key: the file, or "all"), call giving the answer


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    jobs: Callable[[Reader, Sequence[str]], Optional[List[Job]]]  # None: reader can't
    same: Callable[[Any, Any, str, Reader], bool]  # (answer, pydicom's, key, reader)


def canonical(value: Any) -> Any:
    """One spelling for a value whatever the library: None for absent or empty."""
    if value is None:
        return None
    if isinstance(value, SequenceABC) and not isinstance(value, (str, bytes)):
        items = tuple(canonical(v) for v in value)
        return items[0] if len(items) == 1 else (items or None)
    text = str(value).strip(" \0")
    if "\\" in text:
        return canonical(text.split("\\"))
    if not text:
        return None
    try:
        return round(float(text), 6)
    except ValueError:
        return text


def _same_values(answer: Any, expected: Any, key: str, reader: Reader) -> bool:
    return canonical(answer) == canonical(expected)


def _modality_lut(path: str) -> Tuple[float, float]:
    ds = fastdcm.read(path, tags=["RescaleSlope", "RescaleIntercept"])
    return getattr(ds, "RescaleSlope", None) or 1.0, getattr(ds, "RescaleIntercept", None) or 0.0


def _same_pixels(answer: Any, expected: Any, key: str, reader: Reader) -> bool:
    answer, expected = np.asarray(answer), np.asarray(expected)
    if answer.shape != expected.shape:
        return False
    if reader.rescales:
        slope, intercept = _modality_lut(key)
        return bool(np.allclose(answer, expected * slope + intercept))
    return bool(np.array_equal(answer, expected))


def _same_index(answer: Dict[str, Any], expected: Dict[str, Any], key: str,
                reader: Reader) -> bool:
    def keyed(rows: Dict[str, Any]) -> Dict[str, Any]:
        return {os.path.abspath(path): canonical(values) for path, values in rows.items()}
    return keyed(answer) == keyed(expected)


def number_of_frames(path: str) -> int:
    return int(getattr(fastdcm.read(path, tags=["NumberOfFrames"]), "NumberOfFrames", None) or 1)


def _per_file(call: Optional[Callable[[str], Any]]) -> Callable[[Reader, Sequence[str]],
                                                                 Optional[List[Job]]]:
    def jobs(reader: Reader, files: Sequence[str]) -> Optional[List[Job]]:
        method = call(reader) if call else None
        if method is None:
            return None
        return [(path, lambda path=path: method(path)) for path in files]
    return jobs


def _frame_jobs(reader: Reader, files: Sequence[str]) -> Optional[List[Job]]:
    """The middle frame of each multi-frame file (none in the files: no jobs)."""
    if reader.frame is None:
        return None
    frame = reader.frame
    return [(path, lambda path=path, i=count // 2: frame(path, i))
            for path, count in ((p, number_of_frames(p)) for p in files) if count > 1]


def _index_jobs(reader: Reader, files: Sequence[str]) -> Optional[List[Job]]:
    if reader.index is None:
        return None
    index, paths = reader.index, list(files)
    return [("all", lambda: index(paths))]


TASKS: Dict[str, Task] = {task.name: task for task in (
    Task("headers", "parse the header, stop before the pixels",
         _per_file(lambda r: r.headers), _same_values),
    Task("tags", "header + the 10 values an indexer keeps",
         _per_file(lambda r: r.tags), _same_values),
    Task("pixels", "the whole pixel array (all frames)",
         _per_file(lambda r: r.pixels), _same_pixels),
    Task("frames", "the middle frame of each multi-frame file",
         _frame_jobs, _same_pixels),
    Task("index", "the 10 index values of every file, one bulk call (fastdcm.bulk)",
         _index_jobs, _same_index),
)}
