"""Slice geometry: the order of a stack of planes along their normal and the grid they form.

Pure arithmetic on Image Position / Orientation (Patient) values, kept apart from any file
reading so that files, enhanced multi-frame headers and bulk-index rows all go through the
same rules. The grid follows SimpleITK's ImageSeriesReader (ITK with GDCM): slices sorted
by their distance along the normal of the first slice's orientation; origin = position of
the first slice; direction = (row cosines, column cosines, their cross product); slice
spacing = distance from the first to the last position / (slices - 1), or 1 for a single
slice. For a gantry-tilted stack that spacing is the distance between origins, not the
distance between planes, and the direction stays orthogonal: that is what SimpleITK gives,
and ``gantry_tilt`` reports the angle so a caller can resample.

Where SimpleITK warns and goes on, this module refuses: a stack with mixed orientations,
two slices at one position, or non-uniform spacing (a missing slice) would give a volume
whose voxels are not where its affine says, so ``GeometryError`` names the problem.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

# Largest difference between two slices' direction cosines that still counts as the same
# orientation (values are decimal strings of limited precision).
ORIENTATION_TOLERANCE = 1e-3
# Two positions closer than this along the normal (mm) are the same position.
DUPLICATE_TOLERANCE = 1e-3


class GeometryError(ValueError):
    """The slices do not form one regular volume."""


@dataclass(frozen=True)
class Grid:
    """Where the slices go and the grid they span, in ITK's (x, y, z) axis order."""

    order: np.ndarray        # indices of the given slices, sorted along the normal
    origin: np.ndarray       # (3,) LPS position of voxel (0, 0, 0)
    direction: np.ndarray    # (3, 3) columns: row direction, column direction, normal
    slice_spacing: float
    gantry_tilt: float       # degrees between the slice-to-slice step and the normal


def arrange(positions: Sequence[Sequence[float]], orientations: Sequence[Sequence[float]],
            spacing_tolerance: float = 0.01) -> Grid:
    """Sort slices along their normal and check that they form a regular grid.

    `positions` are Image Position (Patient) values, `orientations` Image Orientation
    (Patient) values, one per slice. `spacing_tolerance` is the largest deviation of a
    slice gap from the mean gap allowed, relative to that mean.
    """
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    ori = np.asarray(orientations, dtype=np.float64).reshape(-1, 6)
    if not len(pos):
        raise GeometryError("no slices")
    if not (np.isfinite(pos).all() and np.isfinite(ori).all()):
        raise GeometryError("Image Position or Orientation (Patient) is not finite")
    deviation = np.abs(ori - ori[0]).max(axis=1)
    if deviation.max() > ORIENTATION_TOLERANCE:
        other = int(np.argmax(deviation))
        raise GeometryError(f"mixed orientations: slice {other} has {ori[other].tolist()}, "
                            f"slice 0 has {ori[0].tolist()}")
    row, col = ori[0, :3], ori[0, 3:]
    normal = np.cross(row, col)
    length = np.linalg.norm(normal)
    if length < 1e-6:
        raise GeometryError(f"Image Orientation (Patient) {ori[0].tolist()} has parallel "
                            "row and column directions")
    normal /= length
    distance = pos @ normal
    order = np.argsort(distance, kind="stable")
    sorted_pos = pos[order]
    direction = np.column_stack([row, col, normal])
    if len(pos) == 1:
        return Grid(order, sorted_pos[0], direction, 1.0, 0.0)
    _check_gaps(np.diff(distance[order]), order, spacing_tolerance)
    step = sorted_pos[-1] - sorted_pos[0]
    spacing = float(np.linalg.norm(step)) / (len(pos) - 1)
    cosine = float(np.clip(abs(step @ normal) / np.linalg.norm(step), 0.0, 1.0))
    return Grid(order, sorted_pos[0], direction, spacing, float(np.degrees(np.arccos(cosine))))


def _check_gaps(gaps: np.ndarray, order: np.ndarray, tolerance: float) -> None:
    duplicates = np.flatnonzero(gaps < DUPLICATE_TOLERANCE)
    if len(duplicates):
        first = int(duplicates[0])
        raise GeometryError(
            f"duplicate positions: slices {int(order[first])} and {int(order[first + 1])} "
            f"lie at the same place ({len(duplicates)} such pair(s)); the series holds more "
            "than one stack (acquisitions, echoes, time points): load them separately")
    mean = float(gaps.mean())
    worst = int(np.argmax(np.abs(gaps - mean)))
    if abs(gaps[worst] - mean) > tolerance * mean:
        raise GeometryError(
            f"non-uniform slice spacing: gap {gaps[worst]:.4g} mm between slices "
            f"{int(order[worst])} and {int(order[worst + 1])}, mean {mean:.4g} mm "
            "(missing slices?)")


def affine(origin: Sequence[float], direction: np.ndarray, spacing: Sequence[float]
           ) -> np.ndarray:
    """The 4x4 matrix taking (x, y, z, 1) voxel indices to LPS millimetres, as ITK's
    origin + direction @ diag(spacing) @ index."""
    out = np.eye(4)
    out[:3, :3] = np.asarray(direction) @ np.diag(np.asarray(spacing, dtype=np.float64))
    out[:3, 3] = origin
    return out
