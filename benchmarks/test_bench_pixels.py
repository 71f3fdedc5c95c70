"""Pixel data side by side with pydicom (and dicomsdl, pylibjpeg-rle, imagecodecs), one run.

Groups (``extra_info["target"]`` on a competitor is the speed-up fastdcm should reach against
it; benchmarks/report.py prints and checks the ratios):

* ``p1-frame250``: frame 250 of a 500-frame 512 x 512 x 16-bit native file, from the path
  (read + frame). pydicom's ``pixels.pixel_array(path, index=250)`` (20x) and
  ``dcmread(path).pixel_array[250]`` (1000x).
* ``p2-ct-bits12`` / ``p2-ct-bits16``: a 512 x 512 CT slice read and every pixel turned into
  float32 Hounsfield units (stored value x slope + intercept; dicomsdl's ``pixelData()``
  does exactly this): fastdcm's ``rescaled_array()`` (one pass from the file's bytes), and,
  for comparison, its pixel_array through the numpy steps pydicom's row uses. pydicom 10x,
  dicomsdl 4x. Bits Stored 12 makes the bits above it be cleared as pydicom does.
* ``p3-all-frames``: all 500 frames materialised. ``fastdcm_view`` is the zero-copy array
  with every page made resident (one sample read per 4 KB page); ``fastdcm_copy`` a private
  writable copy, like pydicom's (``copy_pixels()``: positioned reads into the array).
  pydicom 3x; a plain ``read_bytes`` of the file: fastdcm
  within 1.5x of it (target 0.67).
* ``p4-rle``: 50 RLE frames of 512 x 512 x 16 bit decoded. pylibjpeg-rle and imagecodecs
  (PackBits per segment, then interleaved), each given the encoded frames already in memory,
  1.5x; pydicom's pixel_array.
* ``p5-<codec>``: every frame of a JPEG baseline, JPEG lossless SV1, JPEG-LS, JPEG 2000 and
  HTJ2K file: no slower than pydicom with pylibjpeg (1x).

    python -m pytest benchmarks/test_bench_pixels.py --benchmark-json=pixels.json
    python benchmarks/report.py pixels.json
"""
from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List

import numpy as np
import pydicom
import pytest
from pydicom.encaps import generate_frames
from pydicom.pixels import pixel_array as pydicom_pixel_array

import fastdcm
from harness import run
import make_pixel_corpus

try:
    import dicomsdl
except ImportError:
    dicomsdl = None
try:
    import imagecodecs
except ImportError:
    imagecodecs = None
try:
    from rle.utils import decode_frame as pylibjpeg_rle_decode
except ImportError:
    pylibjpeg_rle_decode = None

PAGE_SAMPLES = 2048  # 16-bit samples per 4 KB page
JPEG_KINDS = ("jpeg_baseline", "jpeg_lossless", "jpeg_ls", "j2k", "htj2k")


@pytest.fixture(scope="session")
def pixel_corpus() -> Dict[str, List[str]]:
    return {kind: [str(p) for p in paths]
            for kind, paths in make_pixel_corpus.ensure_corpus().items()}


def rotate(paths: Iterable[str]) -> Callable[[], str]:
    return itertools.cycle(list(paths)).__next__


# -- p1: one frame of a large multi-frame file ----------------------------------------------

@pytest.mark.benchmark(group="p1-frame250")
def test_frame250_fastdcm(benchmark, pixel_corpus):
    path = pixel_corpus["multiframe"][0]
    frame = run(benchmark, lambda: fastdcm.read(path).frame(250), "fastdcm")
    assert frame.shape == (512, 512)


@pytest.mark.benchmark(group="p1-frame250")
def test_frame250_pydicom_index(benchmark, pixel_corpus):
    path = pixel_corpus["multiframe"][0]
    frame = run(benchmark, lambda: pydicom_pixel_array(path, index=250), "pydicom", target=20)
    assert frame.shape == (512, 512)


@pytest.mark.benchmark(group="p1-frame250")
def test_frame250_pydicom_dcmread(benchmark, pixel_corpus):
    path = pixel_corpus["multiframe"][0]
    frame = run(benchmark, lambda: pydicom.dcmread(path).pixel_array[250], "pydicom",
                target=1000)
    assert frame.shape == (512, 512)


# -- p2: CT slice to float32 ----------------------------------------------------------------

def hounsfield(ds: Any) -> np.ndarray:
    """Stored values -> float32 HU, the same arithmetic for fastdcm and pydicom datasets."""
    out = ds.pixel_array.astype(np.float32)
    slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
    if slope != 1:
        out *= slope
    if intercept:
        out += intercept
    return out


@pytest.mark.parametrize("bits", [12, 16])
def test_ct_fastdcm(benchmark, pixel_corpus, bits):
    benchmark.group = f"p2-ct-bits{bits}"
    next_path = rotate(pixel_corpus[f"ct{bits}"])
    assert run(benchmark, lambda: fastdcm.read(next_path()).rescaled_array(),
               "fastdcm").dtype == np.float32


@pytest.mark.parametrize("bits", [12, 16])
def test_ct_fastdcm_pixel_array_numpy(benchmark, pixel_corpus, bits):
    """Not a target: fastdcm's pixel_array through the same numpy steps as pydicom's, to
    show what the one-pass rescaled_array saves."""
    benchmark.group = f"p2-ct-bits{bits}"
    next_path = rotate(pixel_corpus[f"ct{bits}"])
    assert run(benchmark, lambda: hounsfield(fastdcm.read(next_path())),
               "fastdcm pixel_array + numpy").dtype == np.float32


@pytest.mark.parametrize("bits", [12, 16])
def test_ct_pydicom(benchmark, pixel_corpus, bits):
    benchmark.group = f"p2-ct-bits{bits}"
    next_path = rotate(pixel_corpus[f"ct{bits}"])
    assert run(benchmark, lambda: hounsfield(pydicom.dcmread(next_path())), "pydicom",
               target=10).dtype == np.float32


@pytest.mark.skipif(dicomsdl is None, reason="dicomsdl is not installed")
@pytest.mark.parametrize("bits", [12, 16])
def test_ct_dicomsdl(benchmark, pixel_corpus, bits):
    benchmark.group = f"p2-ct-bits{bits}"
    next_path = rotate(pixel_corpus[f"ct{bits}"])
    assert run(benchmark, lambda: dicomsdl.open(next_path()).pixelData(), "dicomsdl",
               target=4).dtype == np.float32


# -- p3: every frame of the multi-frame file ------------------------------------------------

@pytest.mark.benchmark(group="p3-all-frames")
def test_all_frames_fastdcm_view(benchmark, pixel_corpus):
    path = pixel_corpus["multiframe"][0]

    def work() -> np.ndarray:
        pixels = fastdcm.read(path).pixel_array
        pixels.reshape(-1)[::PAGE_SAMPLES].max()  # every page resident and mapped
        return pixels

    assert run(benchmark, work, "fastdcm").shape == (500, 512, 512)


@pytest.mark.benchmark(group="p3-all-frames")
def test_all_frames_fastdcm_copy(benchmark, pixel_corpus):
    path = pixel_corpus["multiframe"][0]
    assert run(benchmark, lambda: fastdcm.read(path).copy_pixels(),
               "fastdcm").shape == (500, 512, 512)


@pytest.mark.benchmark(group="p3-all-frames")
def test_all_frames_pydicom(benchmark, pixel_corpus):
    path = pixel_corpus["multiframe"][0]
    assert run(benchmark, lambda: pydicom.dcmread(path).pixel_array, "pydicom",
               target=3).shape == (500, 512, 512)


@pytest.mark.benchmark(group="p3-all-frames")
def test_all_frames_plain_read(benchmark, pixel_corpus):
    path = Path(pixel_corpus["multiframe"][0])
    assert len(run(benchmark, path.read_bytes, "plain read", target=0.67)) > 500 * 512 * 512


# -- p4: RLE --------------------------------------------------------------------------------

def encoded_frames(path: str) -> List[bytes]:
    ds = pydicom.dcmread(path)
    return list(generate_frames(ds.PixelData, number_of_frames=ds.NumberOfFrames))


@pytest.mark.benchmark(group="p4-rle")
def test_rle_fastdcm(benchmark, pixel_corpus):
    path = pixel_corpus["rle"][0]
    assert run(benchmark, lambda: fastdcm.read(path).pixel_array,
               "fastdcm").shape == (50, 512, 512)


@pytest.mark.benchmark(group="p4-rle")
def test_rle_pydicom(benchmark, pixel_corpus):
    path = pixel_corpus["rle"][0]
    assert run(benchmark, lambda: pydicom.dcmread(path).pixel_array,
               "pydicom").shape == (50, 512, 512)


@pytest.mark.skipif(pylibjpeg_rle_decode is None, reason="pylibjpeg-rle is not installed")
@pytest.mark.benchmark(group="p4-rle")
def test_rle_pylibjpeg_rle(benchmark, pixel_corpus):
    frames = encoded_frames(pixel_corpus["rle"][0])

    def work() -> np.ndarray:
        out = np.empty((len(frames), 512, 512), np.uint16)
        for index, frame in enumerate(frames):
            out[index] = np.frombuffer(pylibjpeg_rle_decode(frame, 512 * 512, 16, "<"),
                                       "<u2").reshape(512, 512)
        return out

    assert run(benchmark, work, "pylibjpeg-rle", target=1.5).shape == (50, 512, 512)


def imagecodecs_rle(frame: bytes) -> np.ndarray:
    """A DICOM RLE frame through imagecodecs' PackBits: header, segments, interleave."""
    count = int.from_bytes(frame[:4], "little")
    offsets = [int.from_bytes(frame[4 + 4 * k:8 + 4 * k], "little") for k in range(count)]
    offsets.append(len(frame))
    out = np.empty(512 * 512, "<u2")
    planes = out.view(np.uint8)
    for k, byte in enumerate((1, 0)):  # most significant byte first
        segment = imagecodecs.packbits_decode(frame[offsets[k]:offsets[k + 1]])
        planes[byte::2] = np.frombuffer(segment, np.uint8, 512 * 512)
    return out.reshape(512, 512)


@pytest.mark.skipif(imagecodecs is None, reason="imagecodecs is not installed")
@pytest.mark.benchmark(group="p4-rle")
def test_rle_imagecodecs(benchmark, pixel_corpus):
    frames = encoded_frames(pixel_corpus["rle"][0])
    work = lambda: np.stack([imagecodecs_rle(frame) for frame in frames])  # noqa: E731
    assert run(benchmark, work, "imagecodecs", target=1.5).shape == (50, 512, 512)


# -- p5: the JPEG family --------------------------------------------------------------------

@pytest.mark.skipif(imagecodecs is None, reason="the jpeg extra is not installed")
@pytest.mark.parametrize("kind", JPEG_KINDS)
def test_jpeg_fastdcm(benchmark, pixel_corpus, kind):
    benchmark.group = f"p5-{kind}"
    path = pixel_corpus[kind][0]
    assert run(benchmark, lambda: fastdcm.read(path).pixel_array, "fastdcm").ndim >= 3


@pytest.mark.parametrize("kind", JPEG_KINDS)
def test_jpeg_pydicom(benchmark, pixel_corpus, kind):
    benchmark.group = f"p5-{kind}"
    path = pixel_corpus[kind][0]

    def work() -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path).pixel_array

    assert run(benchmark, work, "pydicom", target=1).ndim >= 3
