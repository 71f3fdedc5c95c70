"""ML loaders side by side, one run: a CT series to a float32 HU volume, and a DataLoader.

* ``l1-series300``: 300 CT slices of 512 x 512 (one series, made by make_corpus.make_ct
  into benchmarks/corpus/series300/) to a (300, 512, 512) float32 Hounsfield-unit volume
  sorted along the slice normal. ``fastdcm.volume.load_series`` on the folder, and on rows
  of a bulk index (geometry and pixel locators known: no file is parsed), against
  pydicom-based loading: MONAI's PydicomReader itself, and the same steps written for
  float32 (dcmread every file, pixel_array, astype float32, slope and intercept, stack),
  a stricter baseline (target 10x for both); and SimpleITK (GetGDCMSeriesFileNames +
  ImageSeriesReader to float32; target 2x).
* ``l2-dataloader5000``: one pass of a torch DataLoader (2 worker processes, batches of
  32, persistent workers) over the 5,000 CT slices of the bulk benchmark's archive, float32
  HU tensors: fastdcm.torch.DicomDataset over the files and over the bulk index, each with
  the default collate and with ``DicomDataset.loader`` (batches filled in place), against
  a pydicom-based Dataset with the default collate (target 10x samples/s). A Dataset of
  constant samples shows the DataLoader's own share (fresh arrays, the collate copy into
  shared memory, sending): every reader pays it, which bounds the ratio.

    python -m pytest benchmarks/test_bench_loaders.py --benchmark-json=loaders.json
    python benchmarks/report.py loaders.json
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, List, Optional

import numpy as np
import pydicom
import pytest

import make_corpus
from fastdcm.volume import load_series
from test_bench_bulk import ARCHIVE_FILES, archive  # noqa: F401 (the 5,000-slice fixture)

bulk = pytest.importorskip("fastdcm.bulk")
sitk = pytest.importorskip("SimpleITK")
torch = pytest.importorskip("torch")
from fastdcm.torch import DicomDataset  # noqa: E402

SERIES_SLICES = 300
SERIES_DIR = make_corpus.DEFAULT_DIR / "series300"
WORKERS = 2
BATCH = 32


@pytest.fixture(scope="session")
def series() -> str:
    """One series of SERIES_SLICES CT slices, generated when missing."""
    if len(list(SERIES_DIR.glob("ct_*.dcm"))) != SERIES_SLICES:
        make_corpus.make_ct(SERIES_DIR, SERIES_SLICES, series=1)
    return str(SERIES_DIR)


def run(benchmark: Any, work: Callable[[], Any], reader: str, rounds: int,
        target: Optional[float] = None) -> Any:
    benchmark.extra_info["reader"] = reader
    if target is not None:
        benchmark.extra_info["target"] = target
    return benchmark.pedantic(work, rounds=rounds, warmup_rounds=1)


# -- l1: a series to a volume ---------------------------------------------------------------

def pydicom_volume(folder: str) -> np.ndarray:
    """MONAI's PydicomReader's steps (dcmread each file, pixel_array, rescale, stack) kept
    in float32, sorted by position along the normal as load_series and SimpleITK sort."""
    slices = [pydicom.dcmread(os.path.join(folder, name)) for name in os.listdir(folder)]
    normal = np.cross(*np.asarray(slices[0].ImageOrientationPatient, float).reshape(2, 3))
    slices.sort(key=lambda ds: float(normal @ np.asarray(ds.ImagePositionPatient, float)))
    return np.stack([ds.pixel_array.astype(np.float32) * np.float32(ds.RescaleSlope)
                     + np.float32(ds.RescaleIntercept) for ds in slices])


def simpleitk_volume(folder: str) -> np.ndarray:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder))
    reader.SetOutputPixelType(sitk.sitkFloat32)
    return sitk.GetArrayFromImage(reader.Execute())


@pytest.fixture(scope="session")
def expected_volume(series: str) -> np.ndarray:
    return simpleitk_volume(series)


@pytest.mark.benchmark(group="l1-series300")
def test_series_fastdcm(benchmark, series, expected_volume):
    volume = run(benchmark, lambda: load_series(series), "fastdcm", rounds=10)
    np.testing.assert_array_equal(volume.array, expected_volume)


@pytest.mark.benchmark(group="l1-series300")
def test_series_fastdcm_index(benchmark, series, expected_volume):
    table = bulk.scan(series, workers=1)
    volume = run(benchmark, lambda: load_series(table), "fastdcm", rounds=10)
    np.testing.assert_array_equal(volume.array, expected_volume)


@pytest.mark.benchmark(group="l1-series300")
def test_series_pydicom(benchmark, series, expected_volume):
    volume = run(benchmark, lambda: pydicom_volume(series), "pydicom", rounds=3, target=10)
    np.testing.assert_array_equal(volume, expected_volume)


@pytest.mark.benchmark(group="l1-series300")
def test_series_monai_pydicomreader(benchmark, series, expected_volume):
    """MONAI's own PydicomReader (float64, as its rescale by pydicom's DS values gives,
    slices by Instance Number, stacked last): the loading the target is set against."""
    monai_data = pytest.importorskip("monai.data")
    reader = monai_data.PydicomReader()
    array, _ = run(benchmark, lambda: reader.get_data(reader.read(series)),
                   "pydicom (MONAI)", rounds=3, target=10)
    np.testing.assert_array_equal(array.transpose(2, 1, 0), expected_volume)


@pytest.mark.benchmark(group="l1-series300")
def test_series_simpleitk(benchmark, series, expected_volume):
    volume = run(benchmark, lambda: simpleitk_volume(series), "SimpleITK", rounds=3,
                 target=2)
    np.testing.assert_array_equal(volume, expected_volume)


# -- l2: a DataLoader over 5,000 slices -----------------------------------------------------

class PydicomDataset(torch.utils.data.Dataset):
    """What a training script writes with pydicom: read, pixel_array, float32 HU."""

    def __init__(self, paths: List[str]):
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        ds = pydicom.dcmread(self.paths[index])
        return torch.from_numpy(ds.pixel_array.astype(np.float32) * np.float32(ds.RescaleSlope)
                                + np.float32(ds.RescaleIntercept))


def one_pass(loader: Any) -> Callable[[], int]:
    """A function running one epoch of `loader` (its workers stay up between epochs: their
    start is not what is measured)."""
    def work() -> int:
        count = 0
        for batch in loader:
            count += len(batch)
        assert count == ARCHIVE_FILES
        return count

    return work


def default_loader(dataset: Any) -> Any:
    return torch.utils.data.DataLoader(dataset, batch_size=BATCH, num_workers=WORKERS,
                                       persistent_workers=True)


def archive_paths(folder: str) -> List[str]:
    return sorted(str(p) for p in Path(folder).rglob("*.dcm"))


def samples_per_second(benchmark: Any) -> None:
    benchmark.extra_info["samples_per_second"] = round(ARCHIVE_FILES /
                                                       benchmark.stats["median"])


def fastdcm_pass(benchmark: Any, archive: str, index: bool, in_place: bool) -> None:
    data = DicomDataset(bulk.scan(archive, workers=WORKERS) if index
                        else archive_paths(archive))
    loader = data.loader(BATCH, num_workers=WORKERS, persistent_workers=True) if in_place \
        else default_loader(data)
    run(benchmark, one_pass(loader), "fastdcm", rounds=3)
    samples_per_second(benchmark)


@pytest.mark.benchmark(group="l2-dataloader5000")
def test_dataloader_fastdcm_files(benchmark, archive):  # noqa: F811
    fastdcm_pass(benchmark, archive, index=False, in_place=False)


@pytest.mark.benchmark(group="l2-dataloader5000")
def test_dataloader_fastdcm_files_in_place(benchmark, archive):  # noqa: F811
    fastdcm_pass(benchmark, archive, index=False, in_place=True)


@pytest.mark.benchmark(group="l2-dataloader5000")
def test_dataloader_fastdcm_index(benchmark, archive):  # noqa: F811
    fastdcm_pass(benchmark, archive, index=True, in_place=False)


@pytest.mark.benchmark(group="l2-dataloader5000")
def test_dataloader_fastdcm_index_in_place(benchmark, archive):  # noqa: F811
    fastdcm_pass(benchmark, archive, index=True, in_place=True)


class ConstantDataset(torch.utils.data.Dataset):
    """Samples that cost nothing to make: what is left is the DataLoader's own work (fresh
    sample arrays, the collate copy into shared memory, sending batches)."""

    def __len__(self) -> int:
        return ARCHIVE_FILES

    def __getitem__(self, index: int) -> Any:
        return torch.from_numpy(np.full((512, 512), -1024.0, np.float32))


@pytest.mark.benchmark(group="l2-dataloader5000")
def test_dataloader_transport_floor(benchmark):
    """Not a reader: the floor any Dataset used with the default collate stands on."""
    run(benchmark, one_pass(default_loader(ConstantDataset())), "no reading", rounds=3)
    samples_per_second(benchmark)


@pytest.mark.benchmark(group="l2-dataloader5000")
def test_dataloader_pydicom(benchmark, archive):  # noqa: F811
    loader = default_loader(PydicomDataset(archive_paths(archive)))
    run(benchmark, one_pass(loader), "pydicom", rounds=2, target=10)
    samples_per_second(benchmark)
