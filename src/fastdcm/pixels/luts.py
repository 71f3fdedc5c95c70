"""Modality LUT, VOI LUT / windowing and palette colour lookup, vectorised with numpy.

Each function gives the same array as pydicom 3's function of the same name
(pydicom.pixels.apply_modality_lut, apply_voi_lut, apply_color_lut) for the same pixels and
attributes, including pydicom's choices where the standard leaves room: the Modality LUT
Sequence wins over Rescale Slope/Intercept, a VOI LUT Sequence over windowing unless
``prefer_lut`` is False, OW LUT data is read in the data set's byte order, palette LUT data
as stored. Attributes come from a fastdcm Dataset (``ds``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import numpy as np

if TYPE_CHECKING:
    from fastdcm.dataset import Dataset

_LUT_DATA = 0x00283006


def apply_modality_lut(arr: np.ndarray, ds: "Dataset") -> np.ndarray:
    """Stored values -> modality values (e.g. Hounsfield units): the first Modality LUT
    Sequence item's table when present, else ``arr * RescaleSlope + RescaleIntercept`` as
    float64 when both are present, else `arr` unchanged."""
    items = ds.get_value("ModalityLUTSequence")
    if items:
        item = items[0]
        entries, first_map, depth = _descriptor(item.get_value("LUTDescriptor"))
        table = np.asarray(_lut_values(item, ds, entries), dtype=f"uint{depth}")
        index = np.zeros(arr.shape, dtype=arr.dtype)
        mapped = arr >= first_map
        index[mapped] = arr[mapped] - first_map
        np.clip(index, 0, entries - 1, out=index)
        return table[index]
    rescale = rescale_parameters(ds)
    if rescale is not None:
        out = arr.astype(np.float64) * rescale[0]
        out += rescale[1]
        return out
    return arr


def rescale_parameters(ds: "Dataset") -> Optional[Tuple[float, float]]:
    """(Rescale Slope, Rescale Intercept) when both are present, as pydicom requires for
    applying them; None otherwise."""
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        # Attribute access decodes DS values in C: several microseconds less than get_value.
        return ds.RescaleSlope, ds.RescaleIntercept
    return None


def apply_voi_lut(arr: np.ndarray, ds: "Dataset", index: int = 0,
                  prefer_lut: bool = True) -> np.ndarray:
    """Modality values -> display values: the VOI LUT Sequence item `index` or the window
    (Window Center/Width `index`, VOI LUT Function), whichever the data set has; with both,
    the LUT unless ``prefer_lut`` is False. `arr` unchanged when it has neither."""
    items = ds.get_value("VOILUTSequence")
    has_lut = bool(items) and items[0].get_value("LUTDescriptor") is not None and \
        items[0].get_value("LUTData") is not None
    has_window = ds.get_value("WindowCenter") is not None and \
        ds.get_value("WindowWidth") is not None
    if has_lut and (prefer_lut or not has_window):
        return _apply_voi_table(arr, ds, items[index])
    if has_window:
        return _apply_window(arr, ds, index)
    return arr


def apply_color_lut(arr: np.ndarray, ds: "Dataset") -> np.ndarray:
    """PALETTE COLOR stored values -> RGB (or RGBA with an alpha table), shaped
    arr.shape + (3,), from the Palette Color Lookup Table Module (plain or segmented)."""
    if ds.get_value("PixelPresentation") in ("MIXED", "COLOR"):
        raise ValueError("the Supplemental Palette Color Lookup Table Module is not supported")
    descriptor = ds.get_value("RedPaletteColorLookupTableDescriptor")
    if descriptor is None:
        raise ValueError("no Palette Color Lookup Table Module in the data set")
    entries, first_map, depth = _descriptor(descriptor)
    dtype = np.dtype(f"uint{depth}")
    colours = ("Red", "Green", "Blue", "Alpha")
    if "RedPaletteColorLookupTableData" in ds:
        raw = [ds.get_value(f"{c}PaletteColorLookupTableData") for c in colours]
        actual = len(raw[0]) / entries * 8
        if actual not in (8, 16):
            raise ValueError(f"palette LUT entries of {actual:.1f} bits (8 or 16 expected)")
        dtype = np.dtype(f"uint{actual:.0f}")
        tables = [np.frombuffer(data, dtype) for data in raw if data]
    elif "SegmentedRedPaletteColorLookupTableData" in ds:
        if depth not in (8, 16):
            raise ValueError(f"palette LUT entries of {depth} bits (8 or 16 expected)")
        words = f"{'<' if _little_endian(ds) else '>'}u{depth // 8}"
        tables = []
        for colour in colours:
            data = ds.get_value(f"Segmented{colour}PaletteColorLookupTableData")
            if data:
                segments = np.frombuffer(data, words, len(data) // (depth // 8)).tolist()
                tables.append(np.asarray(expand_segmented_lut(segments, depth == 8,
                                                              _little_endian(ds)), dtype))
    else:
        raise ValueError("no Palette Color Lookup Table Module in the data set")
    if any(len(t) != len(tables[0]) for t in tables):
        raise ValueError("palette LUTs of different lengths")
    index = np.zeros(arr.shape, dtype=dtype)
    mapped = arr >= first_map
    index[mapped] = arr[mapped] - np.int32(first_map)
    np.clip(index, 0, entries - 1, out=index)
    out = np.empty(arr.shape + (len(tables),), dtype=dtype)
    for channel, table in enumerate(tables):
        out[..., channel] = table[index]
    return out


def expand_segmented_lut(data: List[int], byte_words: bool, little_endian: bool,
                         count: Optional[int] = None, last: Optional[int] = None) -> List[int]:
    """A segmented palette LUT (PS3.3 C.7.9.2) expanded to its entries: discrete (opcode 0),
    linear (1, rounded as numpy rounds) and indirect (2) segments."""
    lut: List[int] = []
    pos = 0
    done = 0
    while pos + 1 < len(data):
        opcode, length = data[pos], data[pos + 1]
        pos += 2
        if opcode == 0:
            lut.extend(data[pos:pos + length])
            pos += length
        elif opcode == 1:
            start = lut[-1] if lut else last
            if not start and not lut:
                raise ValueError("a segmented LUT cannot start with a linear segment")
            end = data[pos]
            pos += 1
            if start == end:
                lut.extend([end] * length)
            else:
                step = (end - start) / length
                lut.extend(int(v) for v in np.around(np.linspace(start + step, end, length)))
        elif opcode == 2:
            if not lut:
                raise ValueError("a segmented LUT cannot start with an indirect segment")
            if byte_words:
                order = [3, 2, 1, 0] if little_endian else [2, 3, 0, 1]
                b = [data[pos + i] for i in order]
                offset = (((b[0] << 8) | b[1]) << 16) | ((b[2] << 8) | b[3])
                pos += 4
            else:
                offset = (data[pos + 1] << 16) | data[pos]
                pos += 2
            lut.extend(expand_segmented_lut(data[offset:], byte_words, little_endian,
                                            length, lut[-1]))
        else:
            raise ValueError(f"unknown segmented LUT opcode {opcode}")
        done += 1
        if done == count:
            break
    return lut


def _apply_voi_table(arr: np.ndarray, ds: "Dataset", item: "Dataset") -> np.ndarray:
    entries, first_map, depth = _descriptor(item.get_value("LUTDescriptor"))
    if 10 <= depth <= 16:
        dtype = np.dtype(np.uint16)
    elif depth == 8:
        dtype = np.dtype(np.uint8)
    else:
        raise NotImplementedError(f"VOI LUT entries of {depth} bits are not supported")
    table = np.asarray(_lut_values(item, ds, entries), dtype=dtype)
    index = np.zeros(arr.shape, dtype=dtype)
    mapped = arr >= first_map
    index[mapped] = arr[mapped] - first_map
    np.clip(index, 0, entries - 1, out=index)
    return table[index]


def _apply_window(arr: np.ndarray, ds: "Dataset", index: int) -> np.ndarray:
    if ds.get_value("PhotometricInterpretation") not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError("windowing needs Photometric Interpretation MONOCHROME1 or 2")
    function = (ds.get_value("VOILUTFunction") or "LINEAR").upper()
    center = _pick(ds.get_value("WindowCenter"), index)
    width = _pick(ds.get_value("WindowWidth"), index)
    bits = ds.get_value("BitsStored")
    modality_items = ds.get_value("ModalityLUTSequence")
    if modality_items:
        low, high = 0.0, 2 ** _descriptor(modality_items[0].get_value("LUTDescriptor"))[2] - 1
    elif ds.get_value("PixelRepresentation") == 0:
        low, high = 0, 2 ** bits - 1
    else:
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    slope = ds.get_value("RescaleSlope")
    intercept = ds.get_value("RescaleIntercept")
    if slope is not None and intercept is not None:
        low = low * slope + intercept
        high = high * slope + intercept
    span = high - low
    out = arr.astype(np.float64)
    if function in ("LINEAR", "LINEAR_EXACT"):
        if function == "LINEAR":
            if width < 1:
                raise ValueError("Window Width must be at least 1 for LINEAR windowing")
            center -= 0.5
            width -= 1
        elif width <= 0:
            raise ValueError("Window Width must be positive for LINEAR_EXACT windowing")
        below = out <= center - width / 2
        above = out > center + width / 2
        between = ~below & ~above
        out[below] = low
        out[above] = high
        if between.any():
            out[between] = ((out[between] - center) / width + 0.5) * span + low
        return out
    if function == "SIGMOID":
        if width <= 0:
            raise ValueError("Window Width must be positive for SIGMOID windowing")
        return span / (1 + np.exp(-4 * (out - center) / width)) + low
    raise ValueError(f"unsupported VOI LUT Function {function!r}")


def _pick(value: Any, index: int) -> float:
    return value[index] if isinstance(value, list) else value


def _descriptor(value: Any) -> tuple:
    """(entries, first mapped value, bits per entry) from a LUT Descriptor."""
    entries, first_map, depth = value[0], value[1], value[2]
    return entries or 2 ** 16, first_map, depth


def _lut_values(item: "Dataset", ds: "Dataset", entries: int) -> Any:
    """LUT Data as integers: OW bytes in the data set's byte order, else the US values."""
    element = item[_LUT_DATA]
    if element.vr == "OW":
        order = "<" if _little_endian(ds) else ">"
        return np.frombuffer(element.value, f"{order}u2", entries).tolist()
    return element.value


def _little_endian(ds: "Dataset") -> bool:
    return bool(ds.is_little_endian)


__all__ = ["apply_modality_lut", "apply_voi_lut", "apply_color_lut", "expand_segmented_lut"]
