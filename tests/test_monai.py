"""fastdcm.monai.FastDcmReader inside MONAI's LoadImage: SimpleITK's voxels and geometry in
MONAI's conventions, and the same image in space as MONAI's own PydicomReader gives."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from series_maker import SAGITTAL, Series, oblique, write_enhanced, write_slices

monai = pytest.importorskip("monai")
try:
    import SimpleITK as sitk
except ImportError:
    sitk = None
from monai.data import PydicomReader  # noqa: E402
from monai.transforms import LoadImage  # noqa: E402

from fastdcm.monai import FastDcmReader  # noqa: E402

# LoadImage registers every MONAI reader; the GPU one says it has no GPU decoder.
pytestmark = pytest.mark.filterwarnings("ignore:NvImgCodecPydicomReader")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def sitk_affine(image: object) -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = np.reshape(image.GetDirection(), (3, 3)) @ np.diag(image.GetSpacing())
    affine[:3, 3] = image.GetOrigin()
    return affine


@pytest.mark.skipif(sitk is None, reason="SimpleITK is not installed")
@pytest.mark.parametrize("orientation", [SAGITTAL, oblique()], ids=["sagittal", "oblique"])
def test_load_image_like_simpleitk(tmp_path: Path, orientation: tuple) -> None:
    write_slices(tmp_path, Series(orientation=orientation, slope=2.0, intercept=-5.0))
    image, meta = LoadImage(reader=FastDcmReader(), image_only=False)(str(tmp_path))
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(tmp_path)))
    reader.SetOutputPixelType(sitk.sitkFloat32)
    expected = reader.Execute()
    np.testing.assert_array_equal(image.numpy(), sitk.GetArrayFromImage(expected).T)
    np.testing.assert_allclose(meta["affine"], LPS_TO_RAS @ sitk_affine(expected), atol=1e-6)
    np.testing.assert_allclose(image.affine.numpy(), meta["affine"], atol=1e-6)
    assert list(meta["spatial_shape"]) == list(expected.GetSize())
    np.testing.assert_allclose(meta["spacing"], expected.GetSpacing())
    assert meta["space"] == "RAS" and np.isnan(meta["original_channel_dim"])


def test_same_image_in_space_as_pydicom_reader(tmp_path: Path) -> None:
    """PydicomReader stacks by Instance Number (here against the positions): the voxels
    come in the other slice order, with an affine that puts each one at the same place."""
    write_slices(tmp_path, Series(orientation=oblique(), slope=2.0, intercept=-5.0))
    ours, our_meta = LoadImage(reader=FastDcmReader(), image_only=False)(str(tmp_path))
    theirs, their_meta = LoadImage(reader=PydicomReader(), image_only=False)(str(tmp_path))
    count = ours.shape[2]
    flip = np.eye(4)
    flip[2, 2], flip[2, 3] = -1.0, count - 1
    np.testing.assert_allclose(theirs.numpy(), ours.numpy()[:, :, ::-1])
    np.testing.assert_allclose(np.asarray(their_meta["affine"]),
                               np.asarray(our_meta["affine"]) @ flip, atol=1e-4)


def test_channels_lps_and_enhanced(tmp_path: Path) -> None:
    one = write_enhanced(tmp_path / "one.dcm", Series(seed=1))
    two = write_enhanced(tmp_path / "two.dcm", Series(seed=2))
    image, meta = LoadImage(reader=FastDcmReader(affine_lps_to_ras=False),
                            image_only=False)([str(one), str(two)])
    assert tuple(image.shape) == (2, 10, 12, 6)
    assert meta["space"] == "LPS" and meta["original_channel_dim"] == 0
    np.testing.assert_allclose(meta["affine"][:3, 3], Series().origin)


def test_verify_suffix(tmp_path: Path) -> None:
    path = write_slices(tmp_path, Series(shape=(1, 4, 4)))[0]
    renamed = path.rename(tmp_path / "slice")
    (tmp_path / "image.nii.gz").write_bytes(b"\0" * 200)
    reader = FastDcmReader()
    assert reader.verify_suffix(str(tmp_path)) and reader.verify_suffix(str(renamed))
    assert reader.verify_suffix(["a.dcm", str(renamed)])
    assert not reader.verify_suffix(str(tmp_path / "image.nii.gz"))
