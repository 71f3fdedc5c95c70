"""Generate the benchmark corpus from real DICOM templates that ship with pydicom.

The suite needs files shaped like the ones users index, not toy files:

* ``ct/``: CT slices made from pydicom's ``CT_small.dcm`` (a GE CT slice with nine GE
  private groups), with pixels enlarged to 512 x 512 x 16 bit, Siemens-like private blocks
  (CSA and MedCom headers with their binary blobs, a private sequence) and the standard
  sequences a CT from a RIS-driven worklist carries. Explicit VR little endian, about 270
  top-level elements before the pixels, a 21 KB header before 512 KB of pixels. Each file
  has its own UIDs, instance number and position, so a benchmark that rotates over them
  never reads one file twice in a row.
* ``enhanced/``: Enhanced CT Image Storage from pydicom-data's ``eCT_Supplemental.dcm``,
  with thousands of per-frame functional group items (frame content, plane position and
  orientation, pixel measures, VOI LUT, rescale, frame type, exposure), in two encodings:
  undefined-length sequences and items as in the template (a reader has to walk every
  item to find the end) and defined lengths (a reader can skip). Frames are 16 x 16 so the
  files stay small; the benchmarks read the header only.

The corpus is written deterministically (UIDs derive from fixed seeds) and a manifest
records the generator version; ``ensure_corpus`` regenerates only when that is stale.
pydicom is used here on purpose: it is a bench dependency, and this is not fastdcm code.

Usage: python benchmarks/make_corpus.py [--out DIR] [--force]
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import harness

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

# Bump when the files this writes change, so stale corpora are regenerated.
CORPUS_VERSION = 1
DEFAULT_DIR = Path(__file__).resolve().parent / "corpus"
CT_FILES = 200
CT_SERIES = 4
ENHANCED_FRAMES = 2000
ENHANCED_COPIES = 3
ENHANCED_SIZE = 16  # rows and columns of each frame


def _uid(*seed: object) -> str:
    """A UID derived from `seed` (pydicom ignores the entropy sources without a prefix and
    returns a random UID, so the default prefix is needed for the same seed, same UID)."""
    return generate_uid(entropy_srcs=["fastdcm-bench", *map(str, seed)])


def _template(name: str) -> Dataset:
    path = get_testdata_file(name)
    if path is None:
        raise FileNotFoundError(f"{name} not found: install pydicom and pydicom-data")
    return dcmread(path)


def _item(**values: object) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    return _item(CodeValue=value, CodingSchemeDesignator=scheme, CodeMeaning=meaning)


def _private_block(ds: Dataset, group: int, block: int, creator: str,
                   elements: List[tuple]) -> None:
    """Reserve block `block` of private `group` for `creator` and add (element, VR, value)."""
    ds.add_new((group << 16) | block, "LO", creator)
    for element, vr, value in elements:
        ds.add_new((group << 16) | (block << 8) | element, vr, value)


def _csa_like_blob(size: int, seed: int) -> bytes:
    """Binary vendor header of `size` bytes: an 'SV10' magic then name/value records, so
    it looks and compresses like a Siemens CSA header without being one."""
    rng = np.random.default_rng(seed)
    out = bytearray(b"SV10\x04\x03\x02\x01")
    while len(out) < size:
        name = f"Param{int(rng.integers(1000)):03d}".encode().ljust(64, b"\x00")
        value = f"{rng.normal():.6f}".encode().ljust(16, b" ")
        out += name + b"\x01\x00\x00\x00FD\x00\x00" + value
    return bytes(out[:size])


def _decorate_ct(ds: Dataset) -> None:
    """Turn CT_small into a 512 x 512 slice with the sequences and vendor blocks of a real one."""
    del ds[0xFFFCFFFC]  # trailing padding after the pixels: not part of a typical file
    pixels = np.kron(ds.pixel_array, np.ones((4, 4), dtype=ds.pixel_array.dtype))
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelSpacing = [0.661468 / 4, 0.661468 / 4]
    ds.PixelData = pixels.astype("<i2").tobytes()
    ds["PixelData"].VR = "OW"

    ds.ReferencedStudySequence = Sequence([_item(
        ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.1", ReferencedSOPInstanceUID=_uid("rs"))])
    ds.ProcedureCodeSequence = Sequence([_code("CTHEADWO", "L", "CT HEAD W/O CONTRAST")])
    ds.RequestAttributesSequence = Sequence([_item(
        RequestedProcedureID="RP0001", ScheduledProcedureStepID="SPS0001",
        ScheduledProtocolCodeSequence=Sequence([_code("P1", "99LOCAL", "Routine head")]))])
    ds.AnatomicRegionSequence = Sequence([_code("T-D1100", "SRT", "Head")])

    _private_block(ds, 0x0029, 0x11, "SIEMENS CSA HEADER", [
        (0x08, "CS", "IMAGE NUM 4"), (0x09, "LO", "20040119"),
        (0x10, "OB", _csa_like_blob(5120, 1)),
        (0x18, "CS", "SERIES NUM 4"), (0x19, "LO", "20040119"),
        (0x20, "OB", _csa_like_blob(7168, 2))])
    application_headers = Sequence([Dataset(), Dataset()])
    _private_block(ds, 0x0029, 0x12, "SIEMENS MEDCOM HEADER", [
        (0x08, "CS", "MEDCOM 1"), (0x09, "LO", "20040119"),
        (0x10, "OB", _csa_like_blob(1024, 3)),
        (0x40, "SQ", application_headers),
        (0x50, "LO", "WF_AUTO_ARCHIVE")])
    for number, item in enumerate(application_headers):
        _private_block(item, 0x0029, 0x12, "SIEMENS MEDCOM HEADER", [
            (0x41, "CS", "SOM 5 TPOS"), (0x42, "LO", f"SOM 5 TPOS {number}"),
            (0x43, "LO", "V1.0"), (0x44, "OB", _csa_like_blob(256, 10 + number))])


def make_ct(out: Path, count: int = CT_FILES, series: int = CT_SERIES, studies: int = 1,
            patients: int = 1) -> List[Path]:
    """Write `count` CT slices into `out`, spread evenly over `patients` x `studies` x
    `series` (series per study); return their paths in a stable order."""
    out.mkdir(parents=True, exist_ok=True)
    ds = _template("CT_small.dcm")
    _decorate_ct(ds)
    per_series = max(1, count // (patients * studies * series))
    x, y, z = (float(v) for v in ds.ImagePositionPatient)
    paths = []
    for index in range(count):
        series_index, number = divmod(index, per_series)
        study = series_index // series
        ds.PatientID = f"BENCH-CT-{study // studies + 1:04d}"
        ds.StudyInstanceUID = _uid("ct-study", study)
        ds.SeriesInstanceUID = _uid("ct-series", series_index)
        ds.SeriesNumber = series_index % series + 1
        ds.SOPInstanceUID = _uid("ct-instance", index)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = number + 1
        ds.ImagePositionPatient = [x, y, round(z + 1.25 * number, 4)]
        ds.SliceLocation = round(z + 1.25 * number, 4)
        path = out / f"ct_{index:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _per_frame_item(index: int, shared: Dataset, undefined: bool) -> Dataset:
    """The functional groups of frame `index`: what varies per frame, and what a vendor
    writes per frame even when it does not vary."""
    stack_position = index + 1
    item = Dataset()
    item.CTImageFrameTypeSequence = shared.CTImageFrameTypeSequence
    item.FrameContentSequence = Sequence([_item(
        FrameAcquisitionNumber=1 + index // 100,
        FrameReferenceDateTime=f"20061219110930.{index % 1000:03d}",
        FrameAcquisitionDateTime=f"20061219110930.{index % 1000:03d}",
        FrameAcquisitionDuration=500.0,
        StackID="1", InStackPositionNumber=stack_position,
        DimensionIndexValues=[1, stack_position])])
    item.PlanePositionSequence = Sequence([_item(
        ImagePositionPatient=[99.5, -301.5, round(-159.0 + 0.625 * index, 4)])])
    item.PlaneOrientationSequence = shared.PlaneOrientationSequence
    item.PixelMeasuresSequence = shared.PixelMeasuresSequence
    item.FrameVOILUTSequence = shared.FrameVOILUTSequence
    item.PixelValueTransformationSequence = shared.PixelValueTransformationSequence
    item.CTExposureSequence = Sequence([_item(
        ExposureTimeInms=500.0, XRayTubeCurrentInmA=float(200 + index % 50),
        ExposureInmAs=float(100 + index % 25), CTDIvol=42.5)])
    _set_length_encoding(item, undefined)
    return item


def _set_length_encoding(ds: Dataset, undefined: bool) -> None:
    """Undefined (delimited) or defined lengths for every sequence and item below `ds`."""
    for element in ds:
        if element.VR == "SQ":
            element.is_undefined_length = undefined
            for item in element.value:
                item.is_undefined_length_sequence_item = undefined
                _set_length_encoding(item, undefined)


def make_enhanced(out: Path, frames: int = ENHANCED_FRAMES, copies: int = ENHANCED_COPIES,
                  undefined: bool = True) -> List[Path]:
    """Write `copies` Enhanced CT files of `frames` frames; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    ds = _template("eCT_Supplemental.dcm")
    shared = ds.SharedFunctionalGroupsSequence[0]
    # The per-frame copies below share these item objects; pydicom writes each one out.
    shared_only = Dataset()
    for keyword in ("CTImageFrameTypeSequence", "PlaneOrientationSequence",
                    "PixelMeasuresSequence", "FrameVOILUTSequence",
                    "PixelValueTransformationSequence"):
        setattr(shared_only, keyword, shared[keyword].value)
        del shared[keyword]
    ds.PerFrameFunctionalGroupsSequence = Sequence(
        [_per_frame_item(i, shared_only, undefined) for i in range(frames)])
    ds.NumberOfFrames = frames
    ds.Rows = ds.Columns = ENHANCED_SIZE
    ramp = np.arange(frames * ENHANCED_SIZE * ENHANCED_SIZE, dtype="<u2") % 4096
    ds.PixelData = ramp.tobytes()
    _set_length_encoding(ds, undefined)
    kind = "undefined" if undefined else "defined"
    paths = []
    for copy in range(copies):
        ds.SOPInstanceUID = _uid("enhanced", kind, copy)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.SeriesInstanceUID = _uid("enhanced-series", kind, copy)
        path = out / f"enhanced_{kind}_{copy}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def generate(out: Path) -> Dict[str, List[Path]]:
    """Write the whole corpus into `out` (emptied first) and its manifest."""
    harness.fresh_folder(out)
    corpus = {
        "ct": make_ct(out / "ct"),
        "enhanced_undefined": make_enhanced(out / "enhanced", undefined=True),
        "enhanced_defined": make_enhanced(out / "enhanced", undefined=False),
    }
    return harness.write_manifest(out, CORPUS_VERSION, corpus)


def ensure_corpus(out: Path = DEFAULT_DIR) -> Dict[str, List[Path]]:
    """Paths of an up-to-date corpus in `out` by kind, generating it when missing or stale."""
    return harness.ensure_corpus(out, CORPUS_VERSION, generate)


if __name__ == "__main__":
    harness.corpus_main(__doc__.split("\n\n")[0], DEFAULT_DIR, generate, ensure_corpus)
