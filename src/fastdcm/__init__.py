"""fastdcm: a fast DICOM reader that gives the same answers as pydicom."""
from fastdcm.dataset import Dataset, Element, Sequence
from fastdcm.errors import InvalidDicomError
from fastdcm.reader import read

__all__ = ["read", "Dataset", "Element", "Sequence", "InvalidDicomError"]
__version__ = "0.1.0"
