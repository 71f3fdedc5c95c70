"""A Dataset as the DICOM JSON Model (PS3.18 Annex F), the form DICOMweb speaks.

pydicom's ``Dataset.to_json_dict`` is the reference, and its choices are kept where the
standard leaves room: binary values go inline as base64 unless a bulk data handler is given
and the base64 text would pass the threshold; DS and IS are JSON numbers; AT values are
"GGGGEEEE" strings. Where pydicom departs from what PS3.18 requires, the standard wins:

* group length elements (gggg,0000) are left out (F.2.2);
* an empty sequence has no "Value", like every other empty element (F.2.5);
* an empty value among several is ``null`` (F.2.5), and a person name lists only its
  non-empty component groups (F.2.2);
* a DS or IS value with a blank component, or an IS that is not a whole number, is written
  as the number (or ``null``) it is, where pydicom raises or truncates.

A DS or IS value that is not a number at all is passed on as the text it holds. Floats that
are NaN or infinite stay Python floats; JSON has no spelling for them.
"""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

if TYPE_CHECKING:
    from fastdcm.dataset import Dataset, Element

BulkDataURI = Callable[["Element"], Optional[str]]

# VRs whose value is a byte string: InlineBinary or BulkDataURI, never "Value" (F.2.2).
# An ambiguous VR that the reader could not resolve leaves the value as bytes, so it goes too.
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN",
                        "OB or OW", "US or OW", "US or SS", "US or SS or OW"})
NUMBER_VRS = frozenset({"DS", "FD", "FL", "IS", "SL", "SS", "SV", "UL", "US", "UV"})


def to_json_dict(ds: "Dataset", *, bulk_data_threshold: int = 1024,
                 bulk_data_uri: Optional[BulkDataURI] = None) -> Dict[str, Any]:
    """The data set as a DICOM JSON Model object: ``{"GGGGEEEE": {"vr": ..., ...}}``.

    Keys come in ascending order, as F.2.2 asks. A binary value (OB OD OF OL OV OW UN)
    becomes "InlineBinary" base64 text. When ``bulk_data_uri`` is given and the base64 text
    of a value would be longer than ``bulk_data_threshold`` characters, the value is not
    encoded: ``bulk_data_uri(element)`` names it ("BulkDataURI"), or, if it returns None,
    the element is left out altogether (an element without a value would read as empty).
    Without ``bulk_data_uri`` every value is inline, as in pydicom.
    """
    # pydicom compares the raw length with threshold // 4 * 3: base64 makes 4 chars of 3 bytes.
    max_inline = (bulk_data_threshold // 4) * 3 if bulk_data_uri is not None else None
    return _data_set(ds, max_inline, bulk_data_uri)


def _data_set(ds: "Dataset", max_inline: Optional[int],
              bulk_data_uri: Optional[BulkDataURI]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for element in sorted(ds, key=_tag):
        if element.tag & 0xFFFF == 0:
            continue
        attribute = _attribute(element, max_inline, bulk_data_uri)
        if attribute is not None:
            out[f"{element.tag:08X}"] = attribute
    return out


def _tag(element: "Element") -> int:
    return element.tag


def _attribute(element: "Element", max_inline: Optional[int],
               bulk_data_uri: Optional[BulkDataURI]) -> Optional[Dict[str, Any]]:
    vr = element.vr
    attribute: Dict[str, Any] = {"vr": vr}
    if vr in BINARY_VRS:
        raw = element.raw  # the value bytes without a copy; base64 reads them directly
        if not raw:
            return attribute
        if max_inline is not None and len(raw) > max_inline:
            uri = bulk_data_uri(element)  # type: ignore[misc]
            if uri is None:
                return None
            attribute["BulkDataURI"] = uri
        else:
            attribute["InlineBinary"] = base64.b64encode(raw).decode("ascii")
        return attribute
    if vr == "SQ":
        items = element.value
        if items:
            attribute["Value"] = [_data_set(item, max_inline, bulk_data_uri) for item in items]
        return attribute
    value = element.value
    values: List[Any] = value if isinstance(value, list) else [value]
    if value is None or value == "" or not values:
        return attribute
    if vr == "PN":
        attribute["Value"] = [_person_name(v) for v in values]
    elif vr == "AT":
        attribute["Value"] = [f"{v:08X}" for v in values]
    elif vr in NUMBER_VRS:
        attribute["Value"] = [None if isinstance(v, str) and not v.strip() else v
                              for v in values]
    else:
        attribute["Value"] = [v if v != "" else None for v in values]
    return attribute


def _person_name(name: str) -> Optional[Dict[str, str]]:
    """One PN value as its component groups (alphabetic, ideographic, phonetic)."""
    if not name:
        return None
    groups = name.split("=")
    return {key: group for key, group in zip(("Alphabetic", "Ideographic", "Phonetic"), groups)
            if group}
