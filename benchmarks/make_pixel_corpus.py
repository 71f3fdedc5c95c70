"""Generate the pixel benchmark corpus (benchmarks/test_bench_pixels.py).

* ``multiframe.dcm``: 500 frames of 512 x 512 x 16 bit (Bits Stored 16), native explicit VR
  little endian: 262 MB, the file of the frame-250 and all-frames benchmarks.
* ``ct12/`` and ``ct16/``: 20 CT slices each, 512 x 512 from pydicom's ``CT_small.dcm``
  header, each with its own UIDs and pixels: Bits Stored 12 unsigned with Rescale Intercept
  -1024 (pydicom clears the 4 high bits, so a reader has to look at them), and Bits Stored 16
  signed as in the template.
* ``rle.dcm``: 50 frames of 512 x 512 x 16 bit, RLE Lossless (a 12-bit signal, as CT and MR
  frames are, so the high-byte segment is mostly runs and the low byte mostly literals).
* ``jpeg_baseline.dcm`` (30 frames, 512 x 512 RGB as YBR_FULL_422), ``jpeg_lossless.dcm``
  (SV1), ``jpeg_ls.dcm``, ``j2k.dcm`` and ``htj2k.dcm`` (lossless, 12-bit CT-like frames):
  the JPEG-family benchmarks, encoded with imagecodecs (fastdcm.bench.encoders, shared with
  ``fastdcm bench``'s corpus) and decoded by pydicom with pylibjpeg.

Frames are smooth anatomy-like patterns plus noise (deterministic seeds), so the codecs see
realistic entropy. The corpus lives outside the repository (default: the system temp folder,
``$FASTDCM_PIXEL_CORPUS`` to choose) since it is large and another generator owns
benchmarks/corpus/; a manifest with the generator version decides when to regenerate.
pydicom and imagecodecs are used on purpose: they are bench dependencies, not fastdcm code.

Usage: python benchmarks/make_pixel_corpus.py [--out DIR] [--force]
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Dict, List

import harness

import numpy as np
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRLittleEndian, RLELossless, generate_uid

from fastdcm.bench import encoders

CORPUS_VERSION = 2
DEFAULT_DIR = Path(os.environ.get("FASTDCM_PIXEL_CORPUS",
                                  Path(tempfile.gettempdir()) / "fastdcm-pixel-corpus"))
SIZE = 512
MULTIFRAME_FRAMES = 500
CT_FILES = 20
RLE_FRAMES = 50
JPEG_FRAMES = {"jpeg_baseline": 30, "jpeg_lossless": 20, "jpeg_ls": 20, "j2k": 10, "htj2k": 10}


def _uid(*seed: object) -> str:
    return generate_uid(prefix=None, entropy_srcs=["fastdcm-pixel-bench", *map(str, seed)])


def _anatomy(rng: np.random.Generator, bits: int) -> np.ndarray:
    """A 512 x 512 frame: a few soft ellipses (body, organs) plus noise, within `bits`."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE - 0.5
    top = (1 << bits) - 1
    img = np.zeros((SIZE, SIZE), np.float32)
    for _ in range(6):
        cy, cx = rng.uniform(-0.25, 0.25, 2)
        ry, rx = rng.uniform(0.05, 0.4, 2)
        img += rng.uniform(0.1, 0.3) * top * (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 < 1)
    img += rng.normal(0, top * 0.01, img.shape)
    return np.clip(img, 0, top).astype(np.uint16)


def _image(sop_class: str, seed: object, syntax: str, frames: int, bits: int,
           samples: int = 1) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = _uid(seed)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID, ds.Modality = "Bench^Pixels", "PIX", "OT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = _uid(seed, "study"), _uid(seed, "series")
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = "MONOCHROME2" if samples == 1 else "YBR_FULL_422"
    if samples == 3:
        ds.PlanarConfiguration = 0
    ds.NumberOfFrames = frames
    ds.Rows = ds.Columns = SIZE
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, 0
    return ds


def _save(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def make_multiframe(out: Path) -> Path:
    ds = _image("1.2.840.10008.5.1.4.1.1.7.3", "multiframe", ExplicitVRLittleEndian,
                MULTIFRAME_FRAMES, 16)
    base = _anatomy(np.random.default_rng(1), 16)
    pixels = np.empty((MULTIFRAME_FRAMES, SIZE, SIZE), np.uint16)
    for index in range(MULTIFRAME_FRAMES):
        pixels[index] = np.roll(base, index, axis=0)  # every frame differs
    ds.PixelData = pixels.tobytes()
    return _save(ds, out / "multiframe.dcm")


def make_ct(out: Path, bits: int) -> List[Path]:
    template = dcmread(get_testdata_file("CT_small.dcm"))
    paths = []
    for index in range(CT_FILES):
        ds = template.copy()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = _uid("ct", bits, index)
        ds.InstanceNumber = index + 1
        ds.Rows = ds.Columns = SIZE
        pixels = _anatomy(np.random.default_rng(100 + index), 12)
        if bits == 12:
            ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, 0
            ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        else:
            ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 15, 1
            ds.RescaleIntercept, ds.RescaleSlope = 0, 1
            pixels = (pixels.astype(np.int16) - 1024)
        ds.PixelData = pixels.tobytes()
        paths.append(_save(ds, out / f"ct{bits}" / f"ct_{index:04d}.dcm"))
    return paths


def make_rle(out: Path) -> Path:
    ds = _image("1.2.840.10008.5.1.4.1.1.7.3", "rle", ExplicitVRLittleEndian, RLE_FRAMES, 16)
    rng = np.random.default_rng(2)
    frames = np.stack([_anatomy(rng, 12) for _ in range(RLE_FRAMES)])
    ds.compress(RLELossless, frames, encoding_plugin="pylibjpeg")
    return _save(ds, out / "rle.dcm")


def make_jpeg_family(out: Path) -> Dict[str, Path]:
    paths = {}
    for kind, count in JPEG_FRAMES.items():
        rng = np.random.default_rng(len(kind))
        colour = kind == "jpeg_baseline"
        ds = _image("1.2.840.10008.5.1.4.1.1.7.3", kind, encoders.KINDS[kind].syntax, count,
                    8 if colour else 12, samples=3 if colour else 1)
        frames = []
        for _ in range(count):
            mono = _anatomy(rng, 12)
            if colour:
                grey = (mono >> 4).astype(np.uint8)
                frame = np.stack([grey, np.roll(grey, 40, 1), np.roll(grey, 80, 0)], axis=-1)
            else:
                frame = mono
            frames.append(encoders.encode(kind, frame))
        ds.PixelData = encapsulate(frames)
        ds["PixelData"].VR = "OB"
        paths[kind] = _save(ds, out / f"{kind}.dcm")
    return paths


def generate(out: Path = DEFAULT_DIR) -> Dict[str, List[Path]]:
    harness.fresh_folder(out)
    corpus: Dict[str, List[Path]] = {"multiframe": [make_multiframe(out)],
                                     "ct12": make_ct(out, 12), "ct16": make_ct(out, 16),
                                     "rle": [make_rle(out)]}
    corpus.update({kind: [path] for kind, path in make_jpeg_family(out).items()})
    return harness.write_manifest(out, CORPUS_VERSION, corpus)


def ensure_corpus(out: Path = DEFAULT_DIR) -> Dict[str, List[Path]]:
    """Paths of an up-to-date corpus in `out` by kind, generating it when missing or stale."""
    return harness.ensure_corpus(out, CORPUS_VERSION, generate)


if __name__ == "__main__":
    harness.corpus_main(__doc__.split("\n\n")[0], DEFAULT_DIR, generate, ensure_corpus)
