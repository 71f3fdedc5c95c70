"""Small generated image series for the loader tests: slices (or one enhanced multi-frame
file) with known geometry, rescale and stored values, written with pydicom.

The files are small (a few KB) and made per test in a temporary folder, so every geometry
the tests need (axial, sagittal, oblique, gantry tilt, multi-frame) costs nothing to keep.
They can be written compressed (RLE Lossless, JPEG-LS Lossless), one fragment per frame.
File names are shuffled and Instance Numbers run against the slice order, so a loader that
sorts by name or by Instance Number instead of by position along the normal is caught.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (ExplicitVRLittleEndian, JPEGLSLossless, RLELossless,
                         generate_uid)

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2.1"

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)


def oblique(degrees_a: float = 20.0, degrees_b: float = 35.0) -> Tuple[float, ...]:
    """Orientation of a plane rotated about two axes: nothing aligned with the patient."""
    a, b = np.radians(degrees_a), np.radians(degrees_b)
    rot_z = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    m = rot_x @ rot_z
    return tuple(float(v) for v in np.concatenate([m[:, 0], m[:, 1]]))


def tilted(degrees: float = 15.0) -> Tuple[float, ...]:
    """Axial orientation tilted about the patient's x axis, as a tilted gantry gives."""
    t = np.radians(degrees)
    return (1.0, 0.0, 0.0, 0.0, float(np.cos(t)), float(np.sin(t)))


@dataclass
class Series:
    """What to write, and (after writing) the stored values in slice order."""

    orientation: Sequence[float] = AXIAL
    shape: Tuple[int, int, int] = (6, 12, 10)   # slices, rows, columns
    pixel_spacing: Tuple[float, float] = (0.8, 0.6)  # between rows, between columns
    step: float = 2.5                            # along the normal
    # Added to each slice's position after the step along the normal (gantry tilt: the
    # table moves along z while the planes are tilted).
    drift: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    origin: Tuple[float, float, float] = (-40.0, 25.5, 100.0)
    slope: float = 1.0
    intercept: float = -1024.0
    bits_stored: int = 12
    signed: bool = False
    seed: int = 0
    series_uid: str = field(default_factory=generate_uid)
    stored: Optional[np.ndarray] = None

    def normal(self) -> np.ndarray:
        row, col = np.array(self.orientation[:3]), np.array(self.orientation[3:])
        return np.cross(row, col)

    def positions(self) -> List[List[float]]:
        normal = self.normal()
        return [list(np.array(self.origin) + k * self.step * normal + k * np.array(self.drift))
                for k in range(self.shape[0])]

    def make_stored(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        if self.signed:
            low, high = -(1 << (self.bits_stored - 1)), 1 << (self.bits_stored - 1)
        else:
            low, high = 0, 1 << self.bits_stored
        self.stored = rng.integers(low, high, self.shape).astype(
            np.int16 if self.signed else np.uint16)
        return self.stored


def _base(series: Series, sop_class: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.Modality = "CT"
    ds.PatientID = "LOADER-TEST"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = series.series_uid
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.2"
    ds.SeriesNumber = 1
    ds.Rows, ds.Columns = series.shape[1], series.shape[2]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = series.bits_stored
    ds.HighBit = series.bits_stored - 1
    ds.PixelRepresentation = int(series.signed)
    return ds


def _save(ds: Dataset, path: Path, syntax: Optional[str] = None) -> None:
    """Write `ds`, its pixel data first compressed in `syntax` when given."""
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if syntax == RLELossless:
        ds.compress(RLELossless)
    elif syntax == JPEGLSLossless:
        import imagecodecs

        # Signed samples are encoded as their bit patterns (CharLS takes unsigned ones).
        frames = np.frombuffer(ds.PixelData, np.uint16).reshape(-1, ds.Rows, ds.Columns)
        ds.PixelData = encapsulate([imagecodecs.jpegls_encode(f) for f in frames])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    elif syntax is not None:
        raise ValueError(f"no encoder here for {syntax}")
    ds.save_as(path, enforce_file_format=True)


def write_slices(folder: Path, series: Series, shuffle: bool = True,
                 syntax: Optional[str] = None) -> List[Path]:
    """One single-frame CT file per slice (compressed in `syntax` when given); returns the
    paths in slice order."""
    folder.mkdir(parents=True, exist_ok=True)
    stored = series.make_stored()
    count = series.shape[0]
    names = np.random.default_rng(series.seed + 1).permutation(count) if shuffle \
        else np.arange(count)
    paths = []
    for k, position in enumerate(series.positions()):
        ds = _base(series, CT_IMAGE)
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = count - k
        ds.ImagePositionPatient = [round(v, 6) for v in position]
        ds.ImageOrientationPatient = [round(v, 8) for v in series.orientation]
        ds.PixelSpacing = list(series.pixel_spacing)
        ds.SliceThickness = series.step
        ds.RescaleSlope = series.slope
        ds.RescaleIntercept = series.intercept
        ds.RescaleType = "HU"
        ds.PixelData = stored[k].tobytes()
        path = folder / f"{series.series_uid[-6:]}_{series.seed}_{int(names[k]):04d}.dcm"
        _save(ds, path, syntax)
        paths.append(path)
    return paths


def _item(**values: object) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def write_enhanced(path: Path, series: Series, frame_order: Optional[Sequence[int]] = None,
                   syntax: Optional[str] = None) -> Path:
    """One Enhanced CT file holding every slice as a frame: orientation, pixel measures and
    rescale in the shared functional groups, positions per frame. `frame_order` lists the
    slice stored in each frame (default: slice order); `syntax` compresses it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = series.make_stored()
    order = list(range(series.shape[0])) if frame_order is None else list(frame_order)
    positions = series.positions()
    ds = _base(series, ENHANCED_CT_IMAGE)
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceNumber = 1
    ds.NumberOfFrames = len(order)
    ds.SharedFunctionalGroupsSequence = DicomSequence([_item(
        PlaneOrientationSequence=DicomSequence([_item(
            ImageOrientationPatient=[round(v, 8) for v in series.orientation])]),
        PixelMeasuresSequence=DicomSequence([_item(
            PixelSpacing=list(series.pixel_spacing), SliceThickness=series.step,
            SpacingBetweenSlices=series.step)]),
        PixelValueTransformationSequence=DicomSequence([_item(
            RescaleSlope=series.slope, RescaleIntercept=series.intercept,
            RescaleType="HU")]))])
    ds.PerFrameFunctionalGroupsSequence = DicomSequence([_item(
        FrameContentSequence=DicomSequence([_item(InStackPositionNumber=k + 1)]),
        PlanePositionSequence=DicomSequence([_item(
            ImagePositionPatient=[round(v, 6) for v in positions[k]])]))
        for k in order])
    ds.PixelData = stored[order].tobytes()
    _save(ds, path, syntax)
    return path
