"""Samples of a training data set: what one item is (an image, a frame or a series), and
how to turn it into a writable numpy array plus the metadata asked for.

Kept free of torch so that the torch Dataset (fastdcm.torch) is a thin wrapper, and so that
everything a sample holds is plain picklable data: a DataLoader sends the sample list to
its workers, and each worker opens files itself, when it first needs them.

Every array handed out is fresh and writable, made by exactly one copy of the stored
values (the positioned read, or the conversion to the requested dtype), so that
``torch.from_numpy`` can take it as it is; given an ``out`` (a row of a batch), a sample
is written there instead.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from fastdcm import _index, _slices
from fastdcm._frames import FrameSource
from fastdcm.pixels.rescale import rescale_into
from fastdcm.reader import read
from fastdcm.volume import Volume, load_series

UNITS = ("image", "frame", "series")
# Metadata names a series sample answers from its Volume rather than from a header.
VOLUME_FIELDS = ("affine", "spacing", "origin", "direction", "gantry_tilt")
# Open files kept per worker process, for samples that share a file (frames of one
# multi-frame file): enough for a few files in flight, few enough to hold little memory.
OPEN_FILES = 8


class OpenFiles:
    """The files a process has open, as slices with their data sets; opened on first use.

    It knows the process that opened them: after a fork, the child starts with none of its
    own and leaves the parent's alone, so no mapping is ever shared between workers.
    """

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._open: "OrderedDict[str, List[_slices.Slice]]" = OrderedDict()

    def slices(self, path: str) -> List[_slices.Slice]:
        if self._pid != os.getpid():
            self._pid, self._open = os.getpid(), OrderedDict()
        found = self._open.pop(path, None)
        if found is None:
            found = _slices.from_file(path)
            while len(self._open) >= OPEN_FILES:
                _slices.close(self._open.popitem(last=False)[1])
        self._open[path] = found
        return found

    def close(self) -> None:
        if self._pid == os.getpid():
            for found in self._open.values():
                _slices.close(found)
        self._open = OrderedDict()


@dataclass(frozen=True)
class FileSample:
    """A file's image (all frames) or one frame of it, read through the file."""

    path: str
    frame: Optional[int] = None

    def load(self, dtype: Optional[np.dtype], files: OpenFiles, names: Sequence[str],
             out: Optional[np.ndarray] = None, stream: bool = False
             ) -> Tuple[np.ndarray, Dict[str, Any]]:
        """The sample's values (written into `out` when given, around the caches with
        `stream`: see rescale_into) and its metadata."""
        slices = files.slices(self.path)
        chosen = slices if self.frame is None else [slices[self.frame]]
        plane = chosen[0].shape
        stored = [s.stored() for s in chosen] if dtype is None else None
        target = _target(out, plane if len(chosen) == 1 else (len(chosen),) + plane,
                         stored[0].dtype if stored is not None else dtype)
        planes = target.reshape((len(chosen),) + plane)
        for index, item in enumerate(chosen):
            if stored is not None:
                np.copyto(planes[index], stored[index])
            else:
                item.load_into(planes[index], rescale=True, stream=stream)
        dataset = slices[0].dataset
        meta = {name: _special(name, self.path, self.frame, lambda n: dataset.get_value(n))
                for name in names}
        return target, meta


@dataclass(frozen=True)
class RowSample:
    """An index row's image or frame, one positioned read per frame at its pixel locator
    (decoded when encapsulated)."""

    locator: FrameSource
    frame: Optional[int]
    slope: Optional[float]
    intercept: Optional[float]
    values: Tuple[Tuple[str, Any], ...]  # the metadata asked for, from the index

    def load(self, dtype: Optional[np.dtype], files: OpenFiles, names: Sequence[str],
             out: Optional[np.ndarray] = None, stream: bool = False
             ) -> Tuple[np.ndarray, Dict[str, Any]]:
        """The sample's values (written into `out` when given, around the caches with
        `stream`: see rescale_into) and its metadata."""
        first, count = (0, self.locator.frames) if self.frame is None else (self.frame, 1)
        plane = self.locator.shape
        shape = plane if count == 1 else (count,) + plane
        if dtype is None:
            stored = self.locator.read(first, count, scratch=out is not None)
            if out is None:
                return stored.reshape(shape), dict(self.values)  # fresh: the read was the copy
            target = _target(out, shape, stored.dtype)
            np.copyto(target.reshape(stored.shape), stored)
            return target, dict(self.values)
        stored, bits_stored = self.locator.for_rescale(first, count)
        target = _target(out, shape, dtype)
        rescale_into(target.reshape(stored.shape), stored, self.slope, self.intercept,
                     bits_stored, stream)
        return target, dict(self.values)


@dataclass(frozen=True)
class SeriesSample:
    """One series as a volume, from its files or its index rows."""

    sources: Tuple[Any, ...]   # paths, or index rows (dicts)

    def load(self, dtype: Optional[np.dtype], files: OpenFiles, names: Sequence[str],
             out: Optional[np.ndarray] = None, stream: bool = False
             ) -> Tuple[np.ndarray, Dict[str, Any]]:
        """The volume (copied into `out` when given) and its metadata."""
        if dtype is None:
            raise ValueError("a series is stacked into one dtype: choose one")
        # A DataLoader's parallelism is its worker processes: one thread each.
        volume = load_series(list(self.sources), dtype, threads=1)
        first = self.sources[0]
        if isinstance(first, dict):
            meta = _volume_meta(volume, names, first.get)
        else:
            with read(first, stop_before_pixels=True) as header:
                meta = _volume_meta(volume, names, header.get_value)
        if out is None:
            return volume.array, meta
        target = _target(out, volume.array.shape, volume.array.dtype)
        np.copyto(target, volume.array)
        return target, meta


def _target(out: Optional[np.ndarray], shape: Tuple[int, ...], dtype: np.dtype
            ) -> np.ndarray:
    """`out` when it fits the sample, a fresh array when there is none."""
    if out is None:
        return np.empty(shape, dtype)
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(f"samples of one batch differ: {shape} {dtype} after "
                         f"{out.shape} {out.dtype}")
    return out


Sample = Union[FileSample, RowSample, SeriesSample]


def _volume_meta(volume: Volume, names: Sequence[str], lookup: Any) -> Dict[str, Any]:
    """Volume fields (as float64 arrays) and header values of the first slice."""
    meta = {}
    for name in names:
        if name in VOLUME_FIELDS:
            value = getattr(volume, name)
            meta[name] = value if isinstance(value, float) else np.asarray(value, np.float64)
        else:
            meta[name] = _special(name, volume.sources[0][0], None, lookup)
    return meta


def _special(name: str, path: str, frame: Optional[int], lookup: Any) -> Any:
    """"path" and "frame", else the value of keyword `name` (numbers lists as arrays, so
    that a DataLoader batches them into tensors)."""
    if name == "path":
        return path
    if name == "frame":
        return -1 if frame is None else frame
    value = lookup(name)
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return np.asarray(value, dtype=np.float64)
    return value


def build(source: Any, unit: str, names: Sequence[str]) -> List[Sample]:
    """The samples of `source` (a folder, paths or an index) for `unit`."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
    if _index.is_index(source):
        return _from_rows(_index.index_rows(source, [n for n in names if n not in
                                                     ("path", "frame")]), unit, names)
    paths = _list_paths(source)
    if unit == "image":
        return [FileSample(path) for path in paths]
    headers = [_header(path) for path in paths]
    headers = [h for h in headers if h is not None]
    if unit == "frame":
        return [FileSample(path, frame) for path, _, frames in headers
                for frame in range(frames)]
    return _series([(uid, path) for path, uid, _ in headers])


def _list_paths(source: Any) -> List[str]:
    if isinstance(source, (str, os.PathLike)):
        top = os.fspath(source)
        if not os.path.isdir(top):
            return [top]
        found = []
        for folder, subfolders, files in os.walk(top):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            found += [os.path.join(folder, f) for f in sorted(files) if not f.startswith(".")]
        return found
    return [os.fspath(path) for path in source]


def _header(path: str) -> Optional[Tuple[str, Optional[str], int]]:
    """(path, Series Instance UID, frames) of an image file; None for other files."""
    try:
        with read(path, stop_before_pixels=True) as ds:
            frames = ds.get_value("NumberOfFrames")
            if ds.get_value("Rows") is None:
                return None
            return path, ds.get_value("SeriesInstanceUID"), int(frames or 1)
    except (ValueError, TypeError):  # not DICOM, or a Number of Frames that is not one
        return None


def _from_rows(rows: List[Dict[str, Any]], unit: str, names: Sequence[str]) -> List[Sample]:
    rows = [row for row in rows if row["error"] is None and row["rows"] is not None]
    if unit == "series":
        return _series([(row["SeriesInstanceUID"], row) for row in rows])
    samples: List[Sample] = []
    for row in rows:
        found = _index.locator(row)
        if found is not None and (row["RescaleSlope"] is None or
                                  row["RescaleIntercept"] is None):
            # Missing from the index may mean no rescale, or a rescale in the functional
            # groups: only the file can tell.
            found = None
        frames = range(max(1, row["number_of_frames"] or 1)) if unit == "frame" else [None]
        for frame in frames:
            if found is None:
                samples.append(FileSample(row["path"], frame))
                continue
            values = tuple((n, _special(n, row["path"], frame, row.get)) for n in names)
            samples.append(RowSample(found, frame, row["RescaleSlope"],
                                     row["RescaleIntercept"], values))
    return samples


def _series(members: List[Tuple[Optional[str], Any]]) -> List[Sample]:
    """One sample per Series Instance UID, in order of first appearance."""
    groups: "OrderedDict[Optional[str], list]" = OrderedDict()
    for uid, source in members:
        groups.setdefault(uid, []).append(source)
    return [SeriesSample(tuple(sources)) for sources in groups.values()]
