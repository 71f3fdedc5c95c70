"""fastdcm: a fast DICOM reader that gives the same answers as pydicom."""
from typing import Any

from fastdcm.dataset import Dataset, Element, Sequence
from fastdcm.errors import DecodeError, InvalidDicomError
from fastdcm.reader import read

__all__ = ["read", "Dataset", "Element", "Sequence", "InvalidDicomError", "DecodeError",
           "apply_modality_lut", "apply_voi_lut", "apply_color_lut"]
__version__ = "0.1.0"

_LUT_HELPERS = frozenset({"apply_modality_lut", "apply_voi_lut", "apply_color_lut"})


def __getattr__(name: str) -> Any:
    """The LUT helpers, imported on first use so that ``import fastdcm`` needs no numpy."""
    if name in _LUT_HELPERS:
        from fastdcm.pixels import luts

        return getattr(luts, name)
    raise AttributeError(f"module 'fastdcm' has no attribute {name!r}")
