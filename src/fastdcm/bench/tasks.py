"""The benchmark tasks: what users do with a reader, and how their answers are compared.

A task turns (reader, files) into jobs, each a call that returns the reader's answer for
one file (or for all files: ``index``). The runner times rounds of jobs; the answers are
compared once with pydicom's, so a fast wrong reader is reported, never praised.
Answers are compared in a plain form (values canonical: numbers as rounded floats,
multi-values as tuples, padding stripped; pixels as arrays) because each library has its
own types for the same value (pydicom's DSfloat, dicomsdl's floats, SimpleITK's and gdcm's
strings), and because answers travel between processes: a plain form pickles without the
library that made it.

Pixel tasks run once per transfer syntax in the files (:func:`groups`): decoders differ
by codec far more than by reader, and a reader that has no decoder for one syntax is then
'unsupported' on that row alone.
"""
from __future__ import annotations

import os
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import fastdcm
from fastdcm.bench.readers import Reader
from fastdcm.pixels.codecs import REGISTRY
from fastdcm.uids import TRANSFER_SYNTAXES

Job = Tuple[str, Callable[[], Any]]  # (key: the file, or "all"), call giving the answer


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    jobs: Callable[[Reader, Sequence[str]], Optional[List[Job]]]  # None: reader can't
    plain: Callable[[Any], Any]  # an answer in a form that compares and pickles
    same: Callable[[Any, Any, str, Reader], bool]  # (plain answer, pydicom's, key, reader)
    by_syntax: bool = False  # one run per transfer syntax in the files


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


def _equal(answer: Any, expected: Any, key: str, reader: Reader) -> bool:
    return answer == expected


def _modality_lut(path: str) -> Tuple[float, float]:
    ds = fastdcm.read(path, tags=["RescaleSlope", "RescaleIntercept"])
    return getattr(ds, "RescaleSlope", None) or 1.0, getattr(ds, "RescaleIntercept", None) or 0.0


def _lossy(path: str) -> bool:
    codec = REGISTRY.get(fastdcm.read(path, stop_before_pixels=True).transfer_syntax_uid)
    return codec is not None and codec.lossy


def _same_pixels(answer: Any, expected: Any, key: str, reader: Reader) -> bool:
    """Equal values; for lossy syntaxes, a mean absolute difference under one stored unit:
    decoders of one lossy codestream (libjpeg-turbo, IJG, OpenJPEG builds) may round a
    few samples differently, but not every sample."""
    answer, expected = np.asarray(answer), np.asarray(expected)
    if answer.shape != expected.shape:
        return False
    unit = 1.0
    if reader.rescales:
        slope, intercept = _modality_lut(key)
        expected, unit = expected * slope + intercept, abs(slope)
    if _lossy(key):
        difference = np.abs(answer.astype(np.float64) - expected.astype(np.float64))
        return bool(difference.mean() < unit)
    if reader.rescales:
        return bool(np.allclose(answer, expected))
    return bool(np.array_equal(answer, expected))


def _plain_index(rows: Dict[str, Any]) -> Dict[str, Any]:
    return {os.path.abspath(path): canonical(values) for path, values in rows.items()}


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
         _per_file(lambda r: r.headers), canonical, _equal),
    Task("tags", "header + the 10 values an indexer keeps",
         _per_file(lambda r: r.tags), canonical, _equal),
    Task("pixels", "the whole pixel array (all frames)",
         _per_file(lambda r: r.pixels), np.asarray, _same_pixels, by_syntax=True),
    Task("frames", "the middle frame of each multi-frame file",
         _frame_jobs, np.asarray, _same_pixels, by_syntax=True),
    Task("index", "the 10 index values of every file, one bulk call (fastdcm.bulk)",
         _index_jobs, _plain_index, _equal),
)}

NATIVE = "native"
# Row labels of the transfer syntaxes of encapsulated pixels; others go by their full name
SHORT_NAMES: Dict[str, str] = {
    "1.2.840.10008.1.2.5": "RLE",
    "1.2.840.10008.1.2.4.50": "JPEG baseline",
    "1.2.840.10008.1.2.4.51": "JPEG extended",
    "1.2.840.10008.1.2.4.57": "JPEG lossless",
    "1.2.840.10008.1.2.4.70": "JPEG lossless SV1",
    "1.2.840.10008.1.2.4.80": "JPEG-LS",
    "1.2.840.10008.1.2.4.81": "JPEG-LS near-lossless",
    "1.2.840.10008.1.2.4.90": "JPEG 2000 lossless",
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
    "1.2.840.10008.1.2.4.201": "HTJ2K lossless",
    "1.2.840.10008.1.2.4.202": "HTJ2K lossless RPCL",
    "1.2.840.10008.1.2.4.203": "HTJ2K",
}


def syntax_label(path: str) -> str:
    """'native' for pixels stored as they are, else a short name of the codec."""
    uid = fastdcm.read(path, stop_before_pixels=True).transfer_syntax_uid
    syntax = TRANSFER_SYNTAXES.get(uid)
    if syntax is not None and not syntax.encapsulated:
        return NATIVE
    return SHORT_NAMES.get(uid) or (syntax.name if syntax else uid)


def groups(task: Task, files: Sequence[str]) -> List[Tuple[str, List[str]]]:
    """(label, files) runs of ``task``: one with every file ("" label), or for a pixel task
    one per transfer syntax, native first, then codecs in :data:`SHORT_NAMES` order."""
    if not task.by_syntax:
        return [("", list(files))]
    found: Dict[str, List[str]] = {}
    for path in files:
        found.setdefault(syntax_label(path), []).append(path)
    order = [NATIVE, *SHORT_NAMES.values()]
    return sorted(found.items(),
                  key=lambda item: (order.index(item[0]) if item[0] in order else len(order),
                                    item[0]))
