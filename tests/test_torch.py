"""fastdcm.torch.DicomDataset: every sample once through a DataLoader with worker processes,
equal to pydicom's pixel_array with the modality LUT applied; pickling; index rows read
without parsing (native and encapsulated); files opened per process."""
from __future__ import annotations

import os
import pickle
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Tuple

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
from pydicom.uid import JPEGLSLossless, RLELossless

from fastdcm import _samples, _slices, reader
from series_maker import SAGITTAL, Series, oblique, write_enhanced, write_slices

torch = pytest.importorskip("torch")
from fastdcm.torch import DicomDataset  # noqa: E402
from fastdcm.volume import load_series  # noqa: E402

ENHANCED = Series(seed=3, shape=(4, 12, 10), orientation=oblique(), slope=2.0, intercept=-3.0)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two single-frame series and an enhanced multi-frame file, in sub-folders."""
    top = tmp_path_factory.mktemp("archive")
    write_slices(top / "a", Series(seed=1, shape=(7, 12, 10)))
    write_slices(top / "b", Series(seed=2, orientation=SAGITTAL, slope=2.0, intercept=-5.0,
                                   signed=True, bits_stored=16))
    write_enhanced(top / "c" / "multi.dcm", ENHANCED)
    return top


def reference(path: str, frame: int) -> np.ndarray:
    """pydicom's pixels in modality units (the enhanced file's rescale is per frame in its
    functional groups, which pydicom's apply_modality_lut does not read: known values)."""
    ds = pydicom.dcmread(path)
    if "PerFrameFunctionalGroupsSequence" in ds:
        pixels = ds.pixel_array.astype(np.float64) * ENHANCED.slope + ENHANCED.intercept
    else:
        pixels = apply_modality_lut(ds.pixel_array, ds)
    return (pixels if frame < 0 else pixels[frame]).astype(np.float32)


def collect(data: DicomDataset, context: str = "fork") -> Dict[Tuple[str, int], Any]:
    loader = torch.utils.data.DataLoader(data, batch_size=3, num_workers=2,
                                         collate_fn=list, multiprocessing_context=context)
    seen = Counter()
    samples = {}
    for batch in loader:
        for tensor, meta in batch:
            key = (meta["path"], meta["frame"])
            seen[key] += 1
            samples[key] = tensor
    assert set(seen.values()) == {1}, "every sample exactly once"
    return samples


def test_dataloader_images_from_folder(archive: Path) -> None:
    data = DicomDataset(archive, metadata=["path", "frame"])
    data[len(data) - 1]  # files opened in the parent stay the parent's
    samples = collect(data)
    assert len(samples) == 7 + 6 + 1
    for (path, frame), tensor in samples.items():
        assert tensor.dtype == torch.float32
        np.testing.assert_array_equal(tensor.numpy(), reference(path, frame))


def test_dataloader_frames_from_index(archive: Path) -> None:
    """Workers started with spawn: the Dataset reaches them pickled."""
    bulk = pytest.importorskip("fastdcm.bulk")
    data = DicomDataset(bulk.scan(archive, workers=1), unit="frame", metadata=["path", "frame"])
    samples = collect(data, "spawn")
    assert len(samples) == 7 + 6 + 4
    for (path, frame), tensor in samples.items():
        whole = reference(path, -1)
        np.testing.assert_array_equal(tensor.numpy(), whole[frame] if whole.ndim == 3
                                      else whole)


def test_loader_fills_batches_in_place(archive: Path) -> None:
    bulk = pytest.importorskip("fastdcm.bulk")
    data = DicomDataset(bulk.scan(archive, workers=1), unit="frame", metadata=["path", "frame"])
    seen = Counter()
    for batch, meta in data.loader(4, shuffle=True, num_workers=2):
        assert batch.shape[1:] == (12, 10) and 1 <= batch.shape[0] <= 4
        for tensor, path, frame in zip(batch, meta["path"], meta["frame"]):
            seen[(path, frame)] += 1
            whole = reference(path, -1)
            np.testing.assert_array_equal(tensor.numpy(), whole[frame] if whole.ndim == 3
                                          else whole)
    assert len(seen) == 7 + 6 + 4 and set(seen.values()) == {1}


def test_loader_reuses_batch_memory_only_once_released(archive: Path) -> None:
    """A worker writes a batch into memory it used before only when the main process
    holds no tensor (nor view) of it: batches kept stay intact, batches dropped free
    their memory for the next ones."""
    bulk = pytest.importorskip("fastdcm.bulk")
    data = DicomDataset(bulk.scan(archive, workers=1), unit="frame", metadata=["path", "frame"])
    loader = data.loader(2, num_workers=1, persistent_workers=True,
                         multiprocessing_context="fork")
    batches = (len(data) + 1) // 2
    slots = loader.dataset.slots

    def hand_outs() -> int:  # a token's low bits count the worker's slot hand-outs
        return int((slots.states.numpy() & 0xFFFFFF).max())

    kept = [(batch[:], meta) for batch, meta in loader]  # views kept: nothing reusable
    assert hand_outs() == slots.states.shape[1] < batches
    for view, meta in kept:
        for tensor, path, frame in zip(view, meta["path"], meta["frame"]):
            whole = reference(path, -1)
            np.testing.assert_array_equal(tensor.numpy(), whole[frame] if whole.ndim == 3
                                          else whole)
    del kept, view, tensor
    before = hand_outs()
    for batch, meta in loader:  # each dropped before the next arrives
        for tensor, path, frame in zip(batch, meta["path"], meta["frame"]):
            whole = reference(path, -1)
            np.testing.assert_array_equal(tensor.numpy(), whole[frame] if whole.ndim == 3
                                          else whole)
    del batch, tensor
    assert hand_outs() - before == batches  # every batch in reused memory


def test_loader_batches_cross_by_where_they_are(archive: Path, monkeypatch: Any) -> None:
    """Batches in slots reach the main process as their place (mapped there once per
    slot), not as tensors; with a transform (its output need not be the slot's tensor) or
    pin_memory (pinned before the main process sees the batch) they come as tensors. Every
    way gives the same samples."""
    from fastdcm import _torch_batches

    bulk = pytest.importorskip("fastdcm.bulk")
    data = DicomDataset(bulk.scan(archive, workers=1), unit="frame", metadata=["path", "frame"])
    placed = []
    received = _torch_batches.Slots.received

    def watch(self: Any, item: Any) -> Any:
        placed.append(isinstance(item, _torch_batches.Placed))
        return received(self, item)

    monkeypatch.setattr(_torch_batches.Slots, "received", watch)

    def samples(dataset: DicomDataset, **options: Any) -> dict:
        found = {}
        for batch, meta in dataset.loader(3, num_workers=2, **options):
            for tensor, path, frame in zip(batch, meta["path"], meta["frame"]):
                found[(path, int(frame))] = tensor.numpy().copy()
        return found

    expected = samples(data)
    assert placed and all(placed)
    alone = DicomDataset(bulk.scan(archive, workers=1), unit="frame")
    batches = list(alone.loader(3, num_workers=2))
    assert all(isinstance(batch, torch.Tensor) for batch in batches)
    assert sum(len(batch) for batch in batches) == len(expected)
    placed.clear()
    pinned = samples(data, pin_memory=True)
    assert not any(placed) and pinned.keys() == expected.keys()
    assert all(np.array_equal(pinned[key], value) for key, value in expected.items())
    doubled = DicomDataset(bulk.scan(archive, workers=1), unit="frame",
                           metadata=["path", "frame"], transform=lambda t: t * 2)
    placed.clear()
    got = samples(doubled)
    assert not any(placed)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value * 2)


def test_batches_need_one_shape(archive: Path) -> None:
    data = DicomDataset(archive, metadata=["path"])
    multi = next(i for i in range(len(data)) if data[i][1]["path"].endswith("multi.dcm"))
    batch, meta = data[[multi, multi]]
    assert tuple(batch.shape) == (2, 4, 12, 10) and meta["path"][0].endswith("multi.dcm")
    with pytest.raises(ValueError, match="samples of one batch differ"):
        data[[multi, (multi + 1) % len(data)]]


def test_series_samples(archive: Path) -> None:
    data = DicomDataset(archive, unit="series", metadata=["affine", "SeriesInstanceUID"])
    assert len(data) == 3
    for tensor, meta in data:
        volume = load_series(sorted(archive.rglob("*.dcm")),
                             series_uid=meta["SeriesInstanceUID"])
        np.testing.assert_array_equal(tensor.numpy(), volume.array)
        np.testing.assert_allclose(meta["affine"], volume.affine)


def test_stored_values_without_rescale(archive: Path) -> None:
    data = DicomDataset(sorted((archive / "b").glob("*.dcm")), dtype=None, metadata=["path"])
    for tensor, meta in data:
        pixels = pydicom.dcmread(meta["path"]).pixel_array
        assert tensor.dtype == torch.int16
        np.testing.assert_array_equal(tensor.numpy(), pixels)


def test_tensors_are_writable_and_made_without_warnings(archive: Path) -> None:
    """torch.from_numpy warns for a read-only array: each sample owns a fresh one."""
    bulk = pytest.importorskip("fastdcm.bulk")
    table = bulk.scan(archive, workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for data in (DicomDataset(archive, dtype=None), DicomDataset(table, dtype=None),
                     DicomDataset(archive), DicomDataset(table, unit="frame")):
            for tensor in data:
                assert tensor.numpy().flags.writeable


def test_index_rows_are_read_without_parsing(tmp_path: Path) -> None:
    bulk = pytest.importorskip("fastdcm.bulk")
    series = Series(seed=5)
    paths = write_slices(tmp_path, series)
    data = DicomDataset(bulk.scan(tmp_path, workers=1), metadata=["path"])
    for path in paths:  # break every header: a parse would fail now
        with open(path, "r+b") as file:
            file.write(b"\0" * 132)
    got = {meta["path"]: tensor for tensor, meta in data}
    for k, path in enumerate(paths):
        np.testing.assert_array_equal(got[str(path)].numpy(),
                                      series.stored[k].astype(np.float32) - 1024)


def test_pickle_round_trip(archive: Path) -> None:
    data = DicomDataset(archive / "c", unit="frame", metadata=["path", "frame", "Rows"])
    first = data[0]  # opens the file in this process
    copy = pickle.loads(pickle.dumps(data))
    assert len(copy) == len(data) == 4
    for index in range(len(data)):
        tensor, meta = copy[index]
        assert torch.equal(tensor, data[index][0])
        assert meta == data[index][1]
    assert torch.equal(first[0], copy[0][0])
    data.close()


def test_open_files_are_not_shared_after_fork(archive: Path, monkeypatch: Any) -> None:
    files = _samples.OpenFiles()
    path = str(archive / "c" / "multi.dcm")
    parents = files.slices(path)
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as a forked worker sees itself
    mine = files.slices(path)
    assert mine is not parents and mine[0].dataset is not parents[0].dataset
    files.close()  # closes what this "worker" opened, not the parent's
    assert mine[0].dataset._source.closed and not parents[0].dataset._source.closed
    monkeypatch.undo()
    _slices.close(parents)


def test_bad_unit(archive: Path) -> None:
    with pytest.raises(ValueError, match="unit"):
        DicomDataset(archive, unit="volume")


# -- encapsulated index rows ------------------------------------------------------------------

# pydicom's compressed test files, one fragment per frame: RLE (grey 16-bit, RGB), JPEG 2000,
# JPEG-LS, and lossy JPEG in RGB, YBR_FULL and YBR_FULL_422 (converted to RGB as
# ds.frame(i) and pydicom convert it).
ENCAPSULATED = ("emri_small_RLE.dcm", "SC_rgb_rle_2frame.dcm",
                "emri_small_jpeg_2k_lossless.dcm", "emri_small_jpeg_ls_lossless.dcm",
                "JPEG2000.dcm", "SC_rgb_jpeg_gdcm.dcm", "SC_rgb_small_odd_jpeg.dcm",
                "SC_rgb_dcmtk_+eb+cy+np.dcm")
LOSSY = ("JPEG2000.dcm", "SC_rgb_jpeg_gdcm.dcm", "SC_rgb_small_odd_jpeg.dcm",
         "SC_rgb_dcmtk_+eb+cy+np.dcm")
SLOPE, INTERCEPT = 2.0, -3.0


def no_parsing(monkeypatch: Any, paths: Any) -> None:
    """Break every header and make every way to parse a file fail."""
    for path in paths:
        with open(path, "r+b") as file:
            file.write(b"\0" * 132)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a file was parsed")

    for module in (reader, _samples, _slices):
        monkeypatch.setattr(module, "read", refuse)


@pytest.fixture
def encapsulated(tmp_path: Path) -> Tuple[Any, Dict[Tuple[str, int], np.ndarray]]:
    """An index of the compressed files (Rescale Slope and Intercept added, so that the
    index says all there is to say), and pydicom's frames in modality units."""
    bulk = pytest.importorskip("fastdcm.bulk")
    pytest.importorskip("imagecodecs")
    expected = {}
    for name in ENCAPSULATED:
        ds = pydicom.dcmread(get_testdata_file(name))
        ds.RescaleSlope, ds.RescaleIntercept = SLOPE, INTERCEPT
        path = tmp_path / name
        ds.save_as(path)
        frames = ds.pixel_array if ds.get("NumberOfFrames", 1) > 1 else ds.pixel_array[None]
        for k, frame in enumerate(frames):
            expected[(str(path), k)] = frame
    return bulk.scan(tmp_path, workers=1), expected


def test_encapsulated_index_rows_are_decoded_without_parsing(encapsulated: Any,
                                                             monkeypatch: Any) -> None:
    table, expected = encapsulated
    data = DicomDataset(table, unit="frame", metadata=["path", "frame"])
    stored = DicomDataset(table, unit="frame", dtype=None, metadata=["path", "frame"])
    assert all(isinstance(s, _samples.RowSample) for s in data._samples)
    no_parsing(monkeypatch, {path for path, _ in expected})
    for tensor, meta in data:
        frame = expected[(meta["path"], meta["frame"])]
        wanted = frame.astype(np.float32) * SLOPE + INTERCEPT
        if meta["path"].endswith(LOSSY):  # decoders of a lossy codestream may round apart
            assert np.abs(tensor.numpy() - wanted).mean() <= SLOPE
        else:
            np.testing.assert_array_equal(tensor.numpy(), wanted)
    for tensor, meta in stored:
        frame = expected[(meta["path"], meta["frame"])]
        assert tensor.numpy().dtype == frame.dtype
        if meta["path"].endswith(LOSSY):
            assert np.abs(tensor.numpy().astype(float) - frame).mean() <= 1
        else:
            np.testing.assert_array_equal(tensor.numpy(), frame)


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless])
def test_encapsulated_series_through_workers(tmp_path: Path, monkeypatch: Any,
                                             syntax: str) -> None:
    """Frames of a compressed series and of a multi-frame file, batched in place by two
    worker processes, each decoded from one read at the index's frame offset."""
    bulk = pytest.importorskip("fastdcm.bulk")
    pytest.importorskip("imagecodecs")
    series = Series(seed=6, signed=True, bits_stored=16, slope=0.5, intercept=3.0)
    paths = write_slices(tmp_path / "slices", series, syntax=syntax)
    whole = pydicom.dcmread(get_testdata_file("emri_small_RLE.dcm"))
    whole.RescaleSlope, whole.RescaleIntercept = SLOPE, INTERCEPT
    whole.save_as(tmp_path / "multi.dcm")
    expected = {str(path): apply_modality_lut(pydicom.dcmread(path).pixel_array,
                                              pydicom.dcmread(path)) for path in paths}
    table = bulk.scan(tmp_path / "slices", workers=1)
    multi = bulk.scan(tmp_path / "multi.dcm", workers=1)
    frames = whole.pixel_array.astype(np.float32) * SLOPE + INTERCEPT
    no_parsing(monkeypatch, paths + [tmp_path / "multi.dcm"])
    seen = Counter()
    for data, batch_size in ((DicomDataset(table, metadata=["path"]), 4),
                             (DicomDataset(multi, unit="frame", metadata=["frame"]), 3)):
        for batch, meta in data.loader(batch_size, shuffle=True, num_workers=2,
                                       multiprocessing_context="fork"):
            for tensor, key in zip(batch, meta.get("path", meta.get("frame"))):
                seen[key] += 1
                reference = expected[key] if isinstance(key, str) else frames[key]
                np.testing.assert_array_equal(tensor.numpy(), reference.astype(np.float32))
    assert len(seen) == len(paths) + len(frames) and set(seen.values()) == {1}
