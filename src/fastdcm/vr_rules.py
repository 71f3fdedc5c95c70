"""Which VR an element is read with, when the file does not say or says UN or an ambiguous VR.

These are the choices pydicom 3 makes (implicit VR from the dictionaries, UN replaced by a
known VR, PS3.5 6.2.2 for UN of undefined length, and its ambiguous-VR correction), kept in
one place so that fastdcm and pydicom give each element the same VR and so the same value.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from fastdcm import dictionary

if TYPE_CHECKING:
    from fastdcm.dataset import Dataset

PIXEL_DATA = 0x7FE00010
LUT_DATA = 0x00283006
AMBIGUOUS = frozenset({"US or SS", "US or OW", "US or SS or OW", "OB or OW"})


def is_private(tag: int) -> bool:
    return bool((tag >> 16) & 1)


def private_element_vr(ds: "Dataset", tag: int) -> str:
    """PS3.5 6.2.2: creators are LO; known private elements by creator; else UN."""
    element = tag & 0xFFFF
    if 0x0010 <= element <= 0x00FF:
        return "LO"
    creator = ds.private_creator(tag)
    if creator:
        vr = dictionary.private_vr(creator, tag)
        if vr:
            return vr
    return "UN"


def element_vr(ds: "Dataset", tag: int, written: Optional[str], length: int,
               has_items: bool) -> str:
    """The VR of an element as pydicom reads it, before ambiguity is resolved."""
    undefined = length == 0xFFFFFFFF
    if written is None:
        vr = dictionary.dictionary_vr(tag)
        if vr is not None and not is_private(tag):
            return vr
        if undefined and has_items:
            return "SQ"
        if is_private(tag):
            return private_element_vr(ds, tag)
        return "UL" if tag & 0xFFFF == 0 else "UN"
    if written == "UN":
        if undefined:
            return "SQ" if has_items else "UN"
        if is_private(tag):
            return private_element_vr(ds, tag)
        if length < 0xFFFF:  # pydicom leaves long UN values alone
            return dictionary.dictionary_vr(tag) or "UN"
        return "UN"
    return written


def resolve_ambiguous(ds: "Dataset", tag: int, vr: str, undefined: bool) -> str:
    """pydicom's ambiguous-VR correction, looking up context in this data set and its parents."""
    if tag == PIXEL_DATA:
        if undefined:
            return "OB"
        if ds.is_implicit_vr:
            return "OW"
        bits = ds.get_value("BitsAllocated")
        return "OW" if bits is not None and bits > 8 else "OB"
    if vr == "US or SS" or (vr == "US or SS or OW" and tag != LUT_DATA):
        representation = ds.inherited_value("PixelRepresentation")
        if representation is None:
            representation = 0 if ("PixelData" not in ds) else 1
        return "US" if representation == 0 else "SS"
    if tag == LUT_DATA:
        descriptor = ds.get_value("LUTDescriptor")
        first = descriptor[0] if isinstance(descriptor, list) and descriptor else descriptor
        return "US" if first == 1 else "OW"
    if (tag >> 16) & 0xFF00 == 0x6000:
        return "OW"
    if vr == "OB or OW":
        if ds.is_implicit_vr:
            return "OW"
        bits = ds.get_value("WaveformBitsAllocated")
        return "OW" if bits is not None and bits > 8 else "OB"
    return vr
