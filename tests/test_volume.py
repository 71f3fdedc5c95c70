"""fastdcm.volume.load_series against SimpleITK's ImageSeriesReader on generated series.

Each geometry (axial, axial written top to bottom, sagittal, coronal, oblique, gantry tilt,
enhanced multi-frame) must give SimpleITK's voxels, spacing, origin and direction; every
inconsistent series must raise rather than give a volume whose affine lies.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pydicom
import pytest

import fastdcm
from fastdcm.volume import GeometryError, load_series
from series_maker import (CORONAL, SAGITTAL, Series, oblique, tilted, write_enhanced,
                          write_slices)

try:
    import SimpleITK as sitk
except ImportError:  # the tests that need no reference still run
    sitk = None
needs_sitk = pytest.mark.skipif(sitk is None, reason="SimpleITK is not installed")

GEOMETRIES = {
    "axial": Series(),
    "axial_descending": Series(step=-2.5),
    "sagittal": Series(orientation=SAGITTAL, pixel_spacing=(0.5, 0.7), step=1.2),
    "coronal": Series(orientation=CORONAL, step=3.0),
    "oblique": Series(orientation=oblique(), slope=2.0, intercept=-7.0),
    "gantry_tilt": Series(orientation=tilted(15.0), step=0.0, drift=(0.0, 0.0, 2.5)),
    "signed_16bit": Series(signed=True, bits_stored=16, slope=0.5, intercept=3.0),
}


def sitk_series(folder: Path) -> Any:
    names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(names)
    reader.SetOutputPixelType(sitk.sitkFloat32)
    return reader.Execute()


def assert_like_sitk(volume: Any, image: Any) -> None:
    np.testing.assert_array_equal(volume.array, sitk.GetArrayFromImage(image))
    np.testing.assert_allclose(volume.spacing, image.GetSpacing(), rtol=1e-6)
    np.testing.assert_allclose(volume.origin, image.GetOrigin(), atol=1e-6)
    np.testing.assert_allclose(volume.direction,
                               np.reshape(image.GetDirection(), (3, 3)), atol=1e-6)
    corner = [s - 1 for s in image.GetSize()]
    point = volume.affine @ np.array(corner + [1], dtype=float)
    np.testing.assert_allclose(point[:3], image.TransformIndexToPhysicalPoint(corner),
                               atol=1e-5)


@needs_sitk
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_series_like_simpleitk(tmp_path: Path, name: str) -> None:
    series = GEOMETRIES[name]
    write_slices(tmp_path, series)
    volume = load_series(tmp_path)
    assert volume.array.dtype == np.float32
    assert_like_sitk(volume, sitk_series(tmp_path))
    assert volume.gantry_tilt == pytest.approx(15.0 if name == "gantry_tilt" else 0.0,
                                               abs=1e-3)


@needs_sitk
@pytest.mark.parametrize("name", ["axial", "oblique"])
def test_enhanced_multiframe_like_simpleitk(tmp_path: Path, name: str) -> None:
    series = GEOMETRIES[name]
    path = write_enhanced(tmp_path / "enhanced.dcm", series)
    volume = load_series(path)
    assert_like_sitk(volume, sitk.ReadImage(str(path), sitk.sitkFloat32))
    assert volume.sources == tuple((str(path), k) for k in range(series.shape[0]))


def test_enhanced_frames_out_of_order_are_sorted(tmp_path: Path) -> None:
    """Frames are placed by their positions: any storage order gives the series' volume."""
    series = Series(orientation=oblique(), seed=4)
    write_slices(tmp_path / "slices", series)
    path = write_enhanced(tmp_path / "enhanced.dcm", series, frame_order=[3, 0, 5, 1, 4, 2])
    expected = load_series(tmp_path / "slices")
    volume = load_series(path)
    np.testing.assert_array_equal(volume.array, expected.array)
    np.testing.assert_allclose(volume.affine, expected.affine, atol=1e-9)
    assert [frame for _, frame in volume.sources] == [1, 3, 5, 0, 4, 2]


def test_paths_in_any_order_and_voxels(tmp_path: Path) -> None:
    series = Series(slope=2.0, intercept=-1000.0)
    paths = write_slices(tmp_path, series)
    volume = load_series(list(reversed(paths)))
    expected = series.stored.astype(np.float64) * 2.0 - 1000.0
    np.testing.assert_array_equal(volume.array, expected.astype(np.float32))
    assert volume.sources == tuple((str(p), 0) for p in paths)
    np.testing.assert_allclose(volume.positions, series.positions(), atol=1e-6)


def test_dtype_and_rescale_choices(tmp_path: Path) -> None:
    series = Series()
    write_slices(tmp_path, series)
    stored = load_series(tmp_path, np.uint16, rescale=False)
    np.testing.assert_array_equal(stored.array, series.stored)
    as_int = load_series(tmp_path, np.int16)
    np.testing.assert_array_equal(as_int.array, series.stored.astype(np.int16) - 1024)
    assert load_series(tmp_path, np.float64).array.dtype == np.float64


def test_fractional_rescale_into_integers_is_refused(tmp_path: Path) -> None:
    write_slices(tmp_path, Series(slope=0.5))
    with pytest.raises(ValueError, match="floating dtype"):
        load_series(tmp_path, np.int32)


@needs_sitk
def test_single_slice(tmp_path: Path) -> None:
    """One slice: slice spacing 1, as SimpleITK reports it."""
    path = write_slices(tmp_path, Series(shape=(1, 12, 10)))[0]
    volume = load_series(path)
    assert volume.array.shape == (1, 12, 10)
    assert_like_sitk(volume, sitk.ReadImage(str(path), sitk.sitkFloat32))


def test_folder_skips_files_that_are_not_images(tmp_path: Path) -> None:
    series = Series()
    write_slices(tmp_path, series)
    (tmp_path / "notes.txt").write_text("not DICOM")
    (tmp_path / ".hidden").write_bytes(b"\0" * 10)
    header_only = pydicom.dcmread(next(tmp_path.glob("*.dcm")))
    del header_only.PixelData  # DICOM, same series, but no image: like a DICOMDIR or report
    header_only.save_as(tmp_path / "DICOMDIR")
    assert load_series(tmp_path).array.shape == series.shape


# -- inconsistent series --------------------------------------------------------------------

def test_missing_slice_is_an_error(tmp_path: Path) -> None:
    paths = write_slices(tmp_path, Series())
    os.unlink(paths[2])
    with pytest.raises(GeometryError, match="non-uniform slice spacing"):
        load_series(tmp_path)
    loose = load_series(tmp_path, spacing_tolerance=1.5)  # the caller accepts the gap
    assert loose.spacing[2] == pytest.approx(2.5 * 5 / 4)  # SimpleITK's: first to last / 4


def test_duplicate_positions_are_an_error(tmp_path: Path) -> None:
    """Two stacks in one series (echoes, time points) at the same positions."""
    uid = "1.2.826.0.1.3680043.8.498.76"
    write_slices(tmp_path, Series(seed=1, series_uid=uid))
    write_slices(tmp_path, Series(seed=2, series_uid=uid))
    with pytest.raises(GeometryError, match="duplicate positions"):
        load_series(tmp_path)


def test_mixed_orientations_are_an_error(tmp_path: Path) -> None:
    uid = "1.2.826.0.1.3680043.8.498.77"
    a = write_slices(tmp_path, Series(series_uid=uid, shape=(3, 12, 10)), shuffle=False)
    b = write_slices(tmp_path / "b", Series(series_uid=uid, shape=(3, 12, 10),
                                            orientation=oblique(), origin=(0, 0, 50)))
    with pytest.raises(GeometryError, match="mixed orientations"):
        load_series(a + b)


def test_mixed_sizes_are_an_error(tmp_path: Path) -> None:
    uid = "1.2.826.0.1.3680043.8.498.78"
    a = write_slices(tmp_path / "a", Series(series_uid=uid, shape=(3, 12, 10)))
    b = write_slices(tmp_path / "b", Series(series_uid=uid, shape=(3, 12, 12),
                                            origin=(-40.0, 25.5, 107.5)))
    with pytest.raises(GeometryError, match="mixed shape"):
        load_series(a + b)


def test_several_series_need_a_choice(tmp_path: Path) -> None:
    first = Series(seed=1)
    second = Series(seed=2, orientation=SAGITTAL)
    write_slices(tmp_path, first)
    write_slices(tmp_path, second)
    with pytest.raises(ValueError, match="2 series found.*series_uid"):
        load_series(tmp_path)
    chosen = load_series(tmp_path, series_uid=second.series_uid)
    np.testing.assert_array_equal(chosen.array, second.stored.astype(np.float32) - 1024)


# -- index rows -----------------------------------------------------------------------------

def fastdcm_rows(paths: List[Path]) -> List[Dict[str, Any]]:
    """Index rows made with fastdcm alone, as ``fastdcm index`` writes them."""
    rows = []
    for path in paths:
        with fastdcm.read(path) as ds:
            pixels = ds["PixelData"]
            row = {name: ds.get_value(name) for name in (
                "SeriesInstanceUID", "ImagePositionPatient", "ImageOrientationPatient",
                "PixelSpacing", "RescaleSlope", "RescaleIntercept", "PixelRepresentation",
                "BitsStored", "SamplesPerPixel")}
            row.update(path=str(path), error=None, transfer_syntax_uid=ds.transfer_syntax_uid,
                       pixel_offset=pixels.offset, pixel_length=pixels.length,
                       rows=ds.Rows, columns=ds.Columns, number_of_frames=1,
                       bits_allocated=ds.BitsAllocated, frame_offsets=None)
        rows.append(row)
    return rows


def test_index_rows_give_the_same_volume(tmp_path: Path) -> None:
    series = Series(orientation=oblique(), slope=2.0, intercept=-7.0)
    paths = write_slices(tmp_path, series)
    expected = load_series(tmp_path)
    volume = load_series(fastdcm_rows(paths))
    np.testing.assert_array_equal(volume.array, expected.array)
    np.testing.assert_allclose(volume.affine, expected.affine)


def test_index_rows_are_not_parsed(tmp_path: Path) -> None:
    """Rows with geometry and pixel locators need only the pixel bytes of their files."""
    series = Series()
    paths = write_slices(tmp_path, series)
    rows = fastdcm_rows(paths)
    for path in paths:  # break every header: a parse would fail now
        with open(path, "r+b") as file:
            file.write(b"\0" * 132)
    volume = load_series(rows)
    np.testing.assert_array_equal(volume.array, series.stored.astype(np.float32) - 1024)


@needs_sitk
def test_bulk_index_table(tmp_path: Path) -> None:
    bulk = pytest.importorskip("fastdcm.bulk")
    first, second = Series(seed=1), Series(seed=2, orientation=SAGITTAL)
    write_slices(tmp_path / "a", first)
    write_slices(tmp_path / "b", second)
    write_enhanced(tmp_path / "c" / "multi.dcm", Series(seed=3, orientation=oblique()))
    table = bulk.scan(tmp_path, workers=1)
    volume = load_series(table, series_uid=second.series_uid)
    assert_like_sitk(volume, sitk_series(tmp_path / "b"))
    enhanced = table.filter(table["path"].to_numpy() == str(tmp_path / "c" / "multi.dcm"))
    assert_like_sitk(load_series(enhanced),
                     sitk.ReadImage(str(tmp_path / "c" / "multi.dcm"), sitk.sitkFloat32))


def test_bulk_index_as_dataframe_and_parquet(tmp_path: Path) -> None:
    """A filtered index handed over as pandas gives it (missing values as NaN, integer
    columns as floats) or as the Parquet file."""
    bulk = pytest.importorskip("fastdcm.bulk")
    pytest.importorskip("pandas")
    parquet = pytest.importorskip("pyarrow.parquet")
    series = Series(slope=2.0, intercept=-7.0)
    write_slices(tmp_path / "archive", series)
    (tmp_path / "archive" / "notes.txt").write_text("not DICOM: a row with an error")
    bulk.index(tmp_path / "archive", tmp_path / "index.parquet", workers=1)
    frame = parquet.read_table(tmp_path / "index.parquet").to_pandas()
    images = frame[frame["error"].isna()]
    assert frame["pixel_offset"].dtype.kind == "f"  # NaN in the error row made it float
    expected = series.stored.astype(np.float32) * 2 - 7
    np.testing.assert_array_equal(load_series(images).array, expected)
    np.testing.assert_array_equal(load_series(tmp_path / "index.parquet",
                                              series_uid=series.series_uid).array, expected)


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.80"])
def test_compressed_index_rows_are_decoded_without_parsing(tmp_path: Path, monkeypatch: Any,
                                                           syntax: str) -> None:
    """RLE and JPEG-LS slices from a bulk index: each frame one read at its frame offset,
    decoded; the same volume as pydicom's pixel_array with the rescale."""
    bulk = pytest.importorskip("fastdcm.bulk")
    pytest.importorskip("imagecodecs")
    series = Series(orientation=oblique(), slope=2.0, intercept=-7.0)
    paths = write_slices(tmp_path, series, syntax=syntax)
    table = bulk.scan(tmp_path, workers=1)
    expected = {str(p): pydicom.dcmread(p).pixel_array * 2.0 - 7.0 for p in paths}
    for path in paths:  # break every header, and refuse every parse
        with open(path, "r+b") as file:
            file.write(b"\0" * 132)
    monkeypatch.setattr(fastdcm._slices, "read", lambda *a, **k: pytest.fail("parsed"))
    volume = load_series(table)
    np.testing.assert_array_equal(
        volume.array, np.stack([expected[path] for path, _ in volume.sources]))
    np.testing.assert_array_equal(volume.array, series.stored.astype(np.float32) * 2 - 7)
