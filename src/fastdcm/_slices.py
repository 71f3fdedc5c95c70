"""The slices of a series, from files or index rows: geometry, rescale, and where the
pixels come from.

A single-frame image is one slice with its attributes at the top level; an enhanced
multi-frame image is one slice per frame, its attributes in the Per-frame Functional Groups
(falling back to the Shared Functional Groups, then the top level). An index row becomes a
slice without opening the file when it carries the geometry and a pixel locator; otherwise
its file is read. Either way the result is the same record, so sorting and stacking do not
care where a slice came from.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from fastdcm import _index
from fastdcm._frames import FrameSource
from fastdcm.dataset import Dataset
from fastdcm.errors import InvalidDicomError
from fastdcm.pixels.api import for_rescale
from fastdcm.pixels.luts import apply_modality_lut
from fastdcm.pixels.rescale import rescale_into
from fastdcm.reader import read

# An image without Image Orientation (Patient) (a lone radiograph, say) is placed as
# SimpleITK places it: rows along x, columns along y, at the origin.
DEFAULT_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
PER_FRAME = "PerFrameFunctionalGroupsSequence"
SHARED = "SharedFunctionalGroupsSequence"
PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)  # Float, Double Float, Pixel Data


@dataclass
class Slice:
    """One plane of a series and how to get its pixels."""

    path: str
    frame: int
    position: Optional[Sequence[float]]
    orientation: Optional[Sequence[float]]
    pixel_spacing: Optional[Sequence[float]]  # (between rows, between columns)
    shape: Tuple[int, ...]         # as a frame: (rows, columns[, samples])
    slope: Optional[float]
    intercept: Optional[float]
    series_uid: Optional[str]
    locator: Optional[FrameSource] = None   # the frame is one positioned read
    dataset: Optional[Dataset] = None   # else the open data set it comes from

    def stored(self, scratch: bool = False) -> np.ndarray:
        """The frame's stored values: a view of the file when it is open and native, else
        read (with `scratch`, into a buffer this thread reuses on its next read)."""
        if self.locator is not None:
            return self.locator.read(self.frame, 1, scratch=scratch)[0]
        assert self.dataset is not None
        return self.dataset.frame(self.frame)

    def load_into(self, out: np.ndarray, rescale: bool, stream: bool = False) -> None:
        """Write this slice's values into `out`, rescaled to modality values (the Modality
        LUT Sequence when the file has one, as pydicom's apply_modality_lut) or as stored;
        `stream` as rescale_into's."""
        if rescale and self.dataset is not None and \
                self.dataset.get_value("ModalityLUTSequence"):
            np.copyto(out, apply_modality_lut(self.stored(), self.dataset), casting="unsafe")
        elif self.locator is not None:
            stored, bits_stored = self.locator.for_rescale(self.frame, 1)
            rescale_into(out, stored[0], *self._rescale(rescale), bits_stored, stream)
        else:
            stored, bits_stored = for_rescale(self.dataset, self.frame)
            rescale_into(out, stored, *self._rescale(rescale), bits_stored, stream)

    def _rescale(self, rescale: bool) -> Tuple[Optional[float], Optional[float]]:
        return (self.slope, self.intercept) if rescale else (None, None)


def from_file(path: str, images_only: bool = False) -> List[Slice]:
    """The slices of one file (one per frame), its data set left open for the pixels.

    With `images_only`, a file that is not DICOM or holds no pixel data (a DICOMDIR, a
    report) gives no slices instead of an error."""
    try:
        ds = read(path)
    except InvalidDicomError:
        if images_only:
            return []
        raise
    if images_only and not any(tag in ds for tag in PIXEL_TAGS):
        ds.close()
        return []
    try:
        if PER_FRAME in ds:
            return _enhanced_slices(ds, path)
        frames = ds.num_frames
        # Attribute access is answered in C: the fast way to the few values needed.
        top = partial(getattr, ds)
        # Frames of a classic multi-frame image have no positions of their own.
        position = top("ImagePositionPatient", None) if frames == 1 else None
        return [Slice(path, index, position, top("ImageOrientationPatient", None),
                      top("PixelSpacing", None), _frame_shape(ds),
                      top("RescaleSlope", None), top("RescaleIntercept", None),
                      top("SeriesInstanceUID", None), dataset=ds)
                for index in range(frames)]
    except BaseException:
        ds.close()
        raise


def _enhanced_slices(ds: Dataset, path: str) -> List[Slice]:
    per_frame = ds.get_value(PER_FRAME) or []
    shared = ds.get_value(SHARED) or []
    frames = ds.num_frames
    if len(per_frame) < frames:
        raise ValueError(f"{path}: {frames} frames but {len(per_frame)} Per-frame "
                         "Functional Groups items")
    common = shared[0] if shared else None
    series_uid = ds.get_value("SeriesInstanceUID")
    shape = _frame_shape(ds)
    slices = []
    for index in range(frames):
        attribute = partial(_functional, per_frame[index], common, ds)
        slices.append(Slice(
            path, index, attribute("PlanePositionSequence", "ImagePositionPatient"),
            attribute("PlaneOrientationSequence", "ImageOrientationPatient"),
            attribute("PixelMeasuresSequence", "PixelSpacing"), shape,
            attribute("PixelValueTransformationSequence", "RescaleSlope"),
            attribute("PixelValueTransformationSequence", "RescaleIntercept"),
            series_uid, dataset=ds))
    return slices


def _frame_shape(ds: Dataset) -> Tuple[int, ...]:
    """(rows, columns), with samples per pixel last for colour, as ds.frame(i) shapes it."""
    samples = ds.get_value("SamplesPerPixel") or 1
    return (ds.Rows, ds.Columns) + ((samples,) if samples > 1 else ())


def _functional(frame: Dataset, common: Optional[Dataset], top: Dataset, sequence: str,
                keyword: str) -> Any:
    """`keyword` from the frame's functional group `sequence`, else the shared one's, else
    the top level's."""
    for groups in (frame, common):
        if groups is not None:
            found = groups.get_value(sequence)
            if found:
                value = found[0].get_value(keyword)
                if value is not None:
                    return value
    return top.get_value(keyword)


def from_row(row: Dict[str, Any]) -> List[Slice]:
    """The slice of an index row, read from the file when the row cannot say it all."""
    found = _index.locator(row)
    if found is None or found.frames != 1 or row["ImagePositionPatient"] is None:
        return from_file(row["path"])
    return [Slice(row["path"], 0, row["ImagePositionPatient"],
                  row["ImageOrientationPatient"], row["PixelSpacing"],
                  found.shape, row["RescaleSlope"], row["RescaleIntercept"],
                  row["SeriesInstanceUID"], locator=found)]


def close(slices: Sequence[Slice]) -> None:
    """Release the data sets the slices hold open."""
    for item in slices:
        if item.dataset is not None:
            item.dataset.close()
