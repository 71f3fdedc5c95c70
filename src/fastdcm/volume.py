"""A series of images as one volume: voxels in modality units plus the grid they lie on.

    vol = fastdcm.volume.load_series("/data/CT/series1")   # a folder, paths, a file, index rows
    vol.array          # (slices, rows, columns) float32 Hounsfield units
    vol.spacing, vol.origin, vol.direction, vol.affine        # LPS, as SimpleITK gives them

Slices are sorted along the normal of their orientation (not by Instance Number, which
scanners do not always write in space order) and checked to form one regular grid: mixed
orientations or sizes, two slices at one position and non-uniform spacing raise
``GeometryError`` rather than give a volume whose affine lies. The geometry is SimpleITK's
ImageSeriesReader's (see fastdcm._geometry), so results can be swapped one for the other;
``array`` is indexed [slice, row, column] like ``SimpleITK.GetArrayFromImage``, while
``spacing``, ``origin``, ``direction`` and ``affine`` use ITK's (x, y, z) = (column, row,
slice) order.

Enhanced multi-frame files (one frame per slice, geometry in the functional groups) give
the same volume as the equivalent single-frame series. Index rows from ``fastdcm index``
are loaded without parsing the files when they carry geometry and pixel locators.
"""
from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from fastdcm import _index, _slices
from fastdcm._geometry import GeometryError, affine, arrange

__all__ = ["Volume", "load_series", "GeometryError"]

PathLike = Union[str, "os.PathLike[str]"]
# Largest relative difference between two slices' pixel spacings that counts as equal.
PIXEL_SPACING_TOLERANCE = 1e-3
# Fewer slices than this per thread are not worth a thread.
MIN_SLICES_PER_THREAD = 8


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class Volume:
    """Voxels and the grid they lie on (LPS millimetres, ITK axis order)."""

    array: np.ndarray                       # (slices, rows, columns)
    spacing: Tuple[float, float, float]     # between columns, between rows, between slices
    origin: Tuple[float, float, float]      # centre of voxel [0, 0, 0]
    direction: np.ndarray                   # (3, 3): columns are the x, y, z axes
    positions: np.ndarray                   # (slices, 3) Image Position of each slice
    sources: Tuple[Tuple[str, int], ...]    # (path, frame) of each slice
    gantry_tilt: float = 0.0                # degrees between slice step and normal

    @property
    def affine(self) -> np.ndarray:
        """4x4: (x, y, z, 1) voxel index -> LPS mm (x = column, y = row, z = slice)."""
        return affine(self.origin, self.direction, self.spacing)


def load_series(source: Union[PathLike, Iterable[PathLike], Any],
                dtype: Any = np.float32, *, rescale: bool = True,
                series_uid: Optional[str] = None, spacing_tolerance: float = 0.01,
                threads: Optional[int] = None) -> Volume:
    """Load one series as a Volume.

    `source`: a folder (its files, not sub-folders), one file (an enhanced multi-frame
    file is a whole volume), a list of paths, or bulk-index rows (a pyarrow Table, a
    Parquet file, a DataFrame or mappings with the index's columns). Files in a folder and
    rows that are not DICOM images are skipped. With several series in `source`,
    `series_uid` picks one.
    `rescale` applies the Modality LUT (Rescale Slope/Intercept) as pydicom's
    apply_modality_lut does, computed in `dtype`. `spacing_tolerance`: the largest
    deviation of a slice gap from the mean, relative to it, before the series counts as
    having missing slices. `threads` convert the pixels (default: the cores this process
    may use, at most 4; a DataLoader worker had best pass 1).
    """
    if threads is None:
        threads = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1)
    slices = _collect(source, series_uid)
    try:
        return _stack(slices, np.dtype(dtype), rescale, spacing_tolerance, threads)
    finally:
        _slices.close(slices)


def _collect(source: Any, series_uid: Optional[str]) -> List[_slices.Slice]:
    if _index.is_index(source):
        # Rows without an image (files that are not DICOM, DICOMDIRs, reports) are left
        # out, as a folder's are.
        rows = [row for row in _index.index_rows(source) if row["rows"] is not None]
        if series_uid is not None:
            rows = [row for row in rows if row["SeriesInstanceUID"] in (series_uid, None)]
        found = [s for row in rows for s in _slices.from_row(row)]
    elif isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        found = _from_folder(os.fspath(source))
    elif isinstance(source, (str, os.PathLike)):
        found = _slices.from_file(os.fspath(source))
    else:
        found = []
        try:
            for path in source:
                found += _slices.from_file(os.fspath(path))
        except BaseException:
            _slices.close(found)
            raise
    return _one_series(found, series_uid)


def _from_folder(folder: str) -> List[_slices.Slice]:
    found: List[_slices.Slice] = []
    try:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_file():
                continue
            found += _slices.from_file(entry.path, images_only=True)
    except BaseException:
        _slices.close(found)
        raise
    if not found:
        raise FileNotFoundError(f"no DICOM images in {folder}")
    return found


def _one_series(found: List[_slices.Slice], series_uid: Optional[str]
                ) -> List[_slices.Slice]:
    """The slices of the one series asked for (or present); an error names the choices."""
    if series_uid is not None:
        keep = [s for s in found if s.series_uid == series_uid]
        _slices.close([s for s in found if s.series_uid != series_uid])
        if not keep:
            raise ValueError(f"no slices of series {series_uid}")
        return keep
    counts = Counter(s.series_uid for s in found)
    if len(counts) > 1:
        _slices.close(found)
        listing = ", ".join(f"{uid} ({n} slices)" for uid, n in counts.most_common())
        raise ValueError(f"{len(counts)} series found: {listing}; pass series_uid= to "
                         "choose one")
    return found


def _stack(slices: List[_slices.Slice], dtype: np.dtype, rescale: bool,
           spacing_tolerance: float, threads: int) -> Volume:
    if not slices:
        raise ValueError("no slices")
    _same(slices, "shape", lambda s: s.shape, exact=True)
    _same(slices, "pixel spacing", _pixel_spacing, exact=False)
    positions, orientations = _placement(slices)
    grid = arrange(positions, orientations, spacing_tolerance)
    ordered = [slices[i] for i in grid.order]
    out = np.empty((len(ordered),) + ordered[0].shape, dtype)
    _fill(out, ordered, rescale, threads)
    row_spacing, column_spacing = (float(v) for v in _pixel_spacing(ordered[0]))
    return Volume(
        array=out, spacing=(column_spacing, row_spacing, grid.slice_spacing),
        origin=tuple(float(v) for v in grid.origin), direction=grid.direction,
        positions=np.asarray(positions, dtype=np.float64)[grid.order],
        sources=tuple((s.path, s.frame) for s in ordered), gantry_tilt=grid.gantry_tilt)


def _fill(out: np.ndarray, ordered: List[_slices.Slice], rescale: bool, threads: int
          ) -> None:
    """Convert the slices into `out`, in `threads` threads each taking a run of slices.

    Threads pay here: the conversion and the first touch of each output page (the kernel
    zeroes it) run in numpy and the kernel without the GIL, and on this kind of machine one
    core cannot use all of the memory bandwidth.
    """
    def convert(indexes: range) -> None:
        for index in indexes:
            ordered[index].load_into(out[index], rescale)

    count = len(ordered)
    threads = max(1, min(threads, count // MIN_SLICES_PER_THREAD))
    if threads == 1:
        return convert(range(count))
    bounds = np.linspace(0, count, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        for done in [pool.submit(convert, range(a, b)) for a, b in zip(bounds, bounds[1:])]:
            done.result()


def _pixel_spacing(item: _slices.Slice) -> Sequence[float]:
    """(between rows, between columns); 1 mm without Pixel Spacing, as SimpleITK says."""
    return item.pixel_spacing or (1.0, 1.0)


def _placement(slices: List[_slices.Slice]) -> Tuple[list, list]:
    """Positions and orientations; a lone slice without them sits at the origin."""
    if len(slices) == 1 and slices[0].position is None:
        return [(0.0, 0.0, 0.0)], [slices[0].orientation or _slices.DEFAULT_ORIENTATION]
    missing = [s for s in slices if s.position is None or s.orientation is None]
    if missing:
        raise GeometryError(f"{missing[0].path} (frame {missing[0].frame}) has no Image "
                            "Position or Orientation (Patient) of its own: the slices "
                            "cannot be placed")
    return [s.position for s in slices], [s.orientation for s in slices]


def _same(slices: List[_slices.Slice], what: str, key: Any, exact: bool) -> None:
    first = key(slices[0])
    for item in slices[1:]:
        value = key(item)
        equal = value == first if exact else np.allclose(
            value, first, rtol=PIXEL_SPACING_TOLERANCE, atol=0)
        if not equal:
            raise GeometryError(f"mixed {what}: {item.path} (frame {item.frame}) has "
                                f"{tuple(value)}, {slices[0].path} has {tuple(first)}")
