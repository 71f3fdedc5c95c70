"""One adapter per DICOM reader, so that every task asks each library the same question in
the way its own users would write it.

A reader library is imported only when its adapter is made: an uninstalled one is skipped
with the ``pip install`` line that brings it. The registry :data:`READERS` is a plain dict
so that tests (and users comparing an in-house reader) can add an adapter of their own;
its factories run in a spawned process, so they are top-level functions of a module.

What each adapter returns is the answer the correctness check compares with pydicom's:
the SOP Instance UID for ``headers`` (proof the header was parsed), the 10 index values
for ``tags``, the stored pixel values for ``pixels`` and ``frames``.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

INDEX_KEYWORDS: Tuple[str, ...] = (
    "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "Modality",
    "StudyDate", "Rows", "Columns", "InstanceNumber", "ImagePositionPatient")
INDEX_TAGS: Tuple[int, ...] = (0x00100020, 0x0020000D, 0x0020000E, 0x00080018, 0x00080060,
                               0x00080020, 0x00280010, 0x00280011, 0x00200013, 0x00200032)


@dataclass(frozen=True)
class Reader:
    """The calls a task makes; None where the library has no way to do it."""
    name: str
    headers: Callable[[str], Any]
    tags: Callable[[str], Tuple[Any, ...]]
    pixels: Callable[[str], np.ndarray]
    frame: Optional[Callable[[str, int], np.ndarray]] = None
    index: Optional[Callable[[List[str]], Dict[str, Tuple[Any, ...]]]] = None
    # SimpleITK always applies Rescale Slope/Intercept: its pixels are checked against
    # pydicom's pixels with the modality LUT applied, not against stored values.
    rescales: bool = False


def _attributes(ds: Any) -> Tuple[Any, ...]:
    return tuple(getattr(ds, keyword, None) for keyword in INDEX_KEYWORDS)


# fastdcm.bulk gives Rows and Columns as its pixel locator columns, under these names
LOCATOR_COLUMNS = {"Rows": "rows", "Columns": "columns"}


def make_fastdcm() -> Reader:
    import fastdcm

    def index(paths: List[str]) -> Dict[str, Tuple[Any, ...]]:
        table = importlib.import_module("fastdcm.bulk").scan(paths, tags=INDEX_KEYWORDS,
                                                             workers=1)
        columns = [table.column(LOCATOR_COLUMNS.get(k, k)).to_pylist() for k in INDEX_KEYWORDS]
        return dict(zip(table.column("path").to_pylist(), zip(*columns)))

    has_bulk = importlib.util.find_spec("pyarrow") is not None
    return Reader(
        "fastdcm",
        headers=lambda p: fastdcm.read(p, stop_before_pixels=True).SOPInstanceUID,
        tags=lambda p: _attributes(fastdcm.read(p, tags=INDEX_KEYWORDS)),
        pixels=lambda p: fastdcm.read(p).pixel_array,
        frame=lambda p, i: fastdcm.read(p).frame(i),
        index=index if has_bulk else None)


def make_pydicom() -> Reader:
    import pydicom
    from pydicom.pixels import pixel_array

    def index(paths: List[str]) -> Dict[str, Tuple[Any, ...]]:
        return {p: _attributes(pydicom.dcmread(p, stop_before_pixels=True)) for p in paths}

    return Reader(
        "pydicom",
        headers=lambda p: pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID,
        tags=lambda p: _attributes(pydicom.dcmread(p, stop_before_pixels=True)),
        pixels=lambda p: pydicom.dcmread(p).pixel_array,
        frame=lambda p, i: pixel_array(p, index=i),
        index=index)


# dicomsdl's load_until is inclusive: stop just before (7FE0,0008) Float Pixel Data.
DICOMSDL_BEFORE_PIXELS = 0x7FE00007


def make_dicomsdl() -> Reader:
    import dicomsdl

    def pixels(path: str) -> np.ndarray:
        ds = dicomsdl.open(path)
        frames = int(ds.NumberOfFrames or 1)
        if frames == 1:
            return ds.pixelData(storedvalue=True)
        # pixelData() without an index gives frame 0 only: a user stacks the frames
        return np.stack([ds.pixelData(i, storedvalue=True) for i in range(frames)])

    def index(paths: List[str]) -> Dict[str, Tuple[Any, ...]]:
        return {p: _attributes(dicomsdl.open(p, DICOMSDL_BEFORE_PIXELS)) for p in paths}

    return Reader(
        "dicomsdl",
        headers=lambda p: dicomsdl.open(p, DICOMSDL_BEFORE_PIXELS).SOPInstanceUID,
        tags=lambda p: _attributes(dicomsdl.open(p, DICOMSDL_BEFORE_PIXELS)),
        pixels=pixels,
        frame=lambda p, i: dicomsdl.open(p).pixelData(i, storedvalue=True),
        index=index)


def _gdcm_key(tag: int) -> str:
    return f"{tag >> 16:04x}|{tag & 0xFFFF:04x}"


def make_simpleitk() -> Reader:
    import SimpleITK as sitk

    def header(path: str) -> Any:
        reader = sitk.ImageFileReader()
        reader.SetFileName(path)
        reader.ReadImageInformation()
        return reader

    def tags(path: str) -> Tuple[Any, ...]:
        reader = header(path)
        keys = [_gdcm_key(tag) for tag in INDEX_TAGS]
        return tuple(reader.GetMetaData(k) if reader.HasMetaDataKey(k) else None for k in keys)

    def pixels(path: str) -> np.ndarray:
        array = sitk.GetArrayFromImage(sitk.ReadImage(path))
        return array[0] if array.shape[0] == 1 else array  # a single frame comes as (1, r, c)

    return Reader(
        "simpleitk",
        headers=lambda p: header(p).GetMetaData(_gdcm_key(0x00080018)),
        tags=tags,
        pixels=pixels,
        frame=lambda p, i: sitk.GetArrayFromImage(sitk.ReadImage(p))[i],
        rescales=True)


def make_gdcm() -> Reader:
    import gdcm

    def read(path: str) -> Any:
        reader = gdcm.Reader()
        reader.SetFileName(path)
        if not reader.Read():
            raise ValueError(f"gdcm could not read {path}")
        return reader

    def tags(path: str) -> Tuple[Any, ...]:
        reader = read(path)  # must outlive the filter, which holds its File
        strings = gdcm.StringFilter()
        strings.SetFile(reader.GetFile())
        return tuple(strings.ToString(gdcm.Tag(tag >> 16, tag & 0xFFFF)) or None
                     for tag in INDEX_TAGS)

    def pixels(path: str) -> np.ndarray:
        reader = gdcm.ImageReader()
        reader.SetFileName(path)
        if not reader.Read():
            raise ValueError(f"gdcm could not read {path}")
        image = reader.GetImage()
        form = image.GetPixelFormat()
        kind = "i" if form.GetPixelRepresentation() else "u"
        dtype = np.dtype(f"<{kind}{form.GetBitsAllocated() // 8}")
        dims = [image.GetDimension(i) for i in range(image.GetNumberOfDimensions())]
        shape = tuple(reversed(dims)) + ((form.GetSamplesPerPixel(),)
                                         if form.GetSamplesPerPixel() > 1 else ())
        # the binding hands the buffer out as a str; these bytes are the pixels
        raw = image.GetBuffer().encode("utf-8", "surrogateescape")
        return np.frombuffer(raw, dtype).reshape(shape)

    return Reader("gdcm", headers=lambda p: tags(p)[3], tags=tags, pixels=pixels,
                  frame=lambda p, i: pixels(p)[i])


# name -> (pip package, adapter factory); factories raise ImportError when not installed
READERS: Dict[str, Tuple[str, Callable[[], Reader]]] = {
    "fastdcm": ("fastdcm", make_fastdcm),
    "pydicom": ("pydicom", make_pydicom),
    "gdcm": ("python-gdcm", make_gdcm),
    "dicomsdl": ("dicomsdl", make_dicomsdl),
    "simpleitk": ("SimpleITK", make_simpleitk),
}


def skipped(name: str) -> str:
    """What to tell a user whose ``name`` reader is not installed."""
    return f"{name}: not installed, skipped (pip install {READERS[name][0]})"


def load(names: Sequence[str]) -> Tuple[List[Reader], List[str]]:
    """The adapters of the installed readers among ``names`` made in this process, and a
    line per skipped one (``fastdcm bench`` makes each in a process of its own instead)."""
    readers, lines = [], []
    for name in names:
        if name not in READERS:
            raise ValueError(f"unknown reader {name!r}; known: {', '.join(READERS)}")
        try:
            readers.append(READERS[name][1]())
        except ImportError:
            lines.append(skipped(name))
    return readers, lines
