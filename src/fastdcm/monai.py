"""A MONAI ImageReader backed by fastdcm (``monai`` extra), so that a MONAI pipeline
switches readers with one line:

    from fastdcm.monai import FastDcmReader
    load = monai.transforms.LoadImage(reader=FastDcmReader(), image_only=False)
    image, meta = load("/data/CT/series1")        # a series folder, a file, or a list

It gives what MONAI's ITKReader gives for a DICOM series: the array in MONAI's (x, y, z)
= (column, row, slice) order, ``affine`` / ``original_affine`` in RAS (LPS with
``affine_lps_to_ras=False``), ``spatial_shape``, ``spacing``, ``space`` and
``original_channel_dim``; several inputs are stacked along a new first (channel) axis.
The slices are sorted and checked by ``fastdcm.volume.load_series``, rescaled into
`dtype` (float32 Hounsfield units for CT by default).
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from monai.data import ImageReader
from monai.utils import MetaKeys, SpaceKeys, ensure_tuple

from fastdcm.volume import Volume, load_series

__all__ = ["FastDcmReader"]

PathLike = Union[str, "os.PathLike[str]"]
SUFFIXES = (".dcm", ".dicom", ".dic")
# LPS and RAS differ in the sign of their first two axes.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


class FastDcmReader(ImageReader):
    """MONAI ImageReader for DICOM images and series.

    `channel_dim`: as MONAI's readers (None: no channel for a single input). `series_uid`
    picks a series from a folder holding several; `dtype`, and the other keyword arguments
    (``rescale``, ``spacing_tolerance``), go to ``load_series``.
    """

    def __init__(self, channel_dim: Optional[Union[str, int]] = None,
                 affine_lps_to_ras: bool = True, dtype: Any = np.float32,
                 series_uid: Optional[str] = None, **kwargs: Any):
        super().__init__()
        self.channel_dim = float("nan") if channel_dim == "no_channel" else channel_dim
        self.affine_lps_to_ras = affine_lps_to_ras
        self.kwargs = dict(kwargs, dtype=dtype, series_uid=series_uid)

    def verify_suffix(self, filename: Union[Sequence[PathLike], PathLike]) -> bool:
        """True for folders, DICOM suffixes and files that start like Part 10 files, so
        that LoadImage leaves NIfTI, PNG and the like to the other readers."""
        return all(_looks_like_dicom(os.fspath(name)) for name in ensure_tuple(filename))

    def read(self, data: Union[Sequence[PathLike], PathLike], **kwargs: Any
             ) -> Union[Volume, List[Volume]]:
        """One Volume per input (a series folder, a file, or a list of either)."""
        options = dict(self.kwargs, **kwargs)
        volumes = [load_series(os.fspath(name), **options) for name in ensure_tuple(data)]
        return volumes[0] if len(volumes) == 1 else volumes

    def get_data(self, img: Union[Volume, Sequence[Volume]]) -> Tuple[np.ndarray, Dict]:
        """The (x, y, z) array and its metadata; several volumes stacked as channels."""
        arrays, metas = [], []
        for volume in ensure_tuple(img):
            # (slice, row, column[, sample]) -> (column, row, slice[, sample])
            array = volume.array.transpose((2, 1, 0) + tuple(range(3, volume.array.ndim)))
            arrays.append(array)
            metas.append(self._meta(volume, array))
        first = metas[0]
        for meta in metas[1:]:
            if not np.allclose(meta[MetaKeys.AFFINE], first[MetaKeys.AFFINE]) or \
                    not np.array_equal(meta[MetaKeys.SPATIAL_SHAPE],
                                       first[MetaKeys.SPATIAL_SHAPE]):
                raise ValueError("images stacked as channels must share one grid")
        if len(arrays) == 1:
            return arrays[0], first
        first[MetaKeys.ORIGINAL_CHANNEL_DIM] = 0
        return np.stack(arrays), first

    def _meta(self, volume: Volume, array: np.ndarray) -> Dict[str, Any]:
        affine = LPS_TO_RAS @ volume.affine if self.affine_lps_to_ras else volume.affine
        channel = self.channel_dim
        if channel is None:  # colour samples come last, as MONAI's readers put them
            channel = float("nan") if array.ndim == 3 else -1
        return {MetaKeys.AFFINE: affine, MetaKeys.ORIGINAL_AFFINE: affine.copy(),
                MetaKeys.SPATIAL_SHAPE: np.asarray(array.shape[:3]),
                MetaKeys.SPACE: SpaceKeys.RAS if self.affine_lps_to_ras else SpaceKeys.LPS,
                MetaKeys.ORIGINAL_CHANNEL_DIM: channel,
                "spacing": np.asarray(volume.spacing)}


def _looks_like_dicom(name: str) -> bool:
    if os.path.isdir(name) or name.lower().endswith(SUFFIXES):
        return True
    try:
        with open(name, "rb") as file:
            return file.read(132)[128:] == b"DICM"
    except OSError:
        return False
