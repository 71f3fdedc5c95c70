"""The columns of a bulk index: which tags, under which names, with which Arrow types.

A column's type is fixed before any file is read, from the data dictionary, so that every
batch, part file and Spark partition has the same schema whatever its files hold: strings
as string, integer VRs as int64, decimal and float VRs as float64, binary VRs as binary,
and a list of those when the dictionary allows more than one value. Sequences, and tags
the dictionary cannot type (private or unknown ones), are kept as the DICOM JSON of the
element, so nothing is lost. A value that does not fit its column (a text where a number
belongs, a second value where the standard allows one) is normalised here, once per
batch and only for the columns that need it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import pyarrow as pa

from fastdcm import dictionary

TagSpec = Union[int, str]

# The default tag set: what Orthanc keeps as its main DICOM tags and the IDC index carries,
# by level. Rows, Columns, Bits Allocated and Number of Frames are pixel locator columns.
DEFAULT_TAGS: Tuple[str, ...] = (
    # patient
    "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "PatientAge",
    # study
    "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "StudyDescription",
    "AccessionNumber", "ReferringPhysicianName", "InstitutionName",
    # series
    "SeriesInstanceUID", "SeriesNumber", "SeriesDate", "SeriesTime", "Modality",
    "SeriesDescription", "BodyPartExamined", "ProtocolName", "FrameOfReferenceUID",
    # instance
    "SOPInstanceUID", "InstanceNumber", "AcquisitionNumber", "ImageType", "AcquisitionDate",
    "AcquisitionTime", "ContentDate", "ContentTime",
    # equipment
    "Manufacturer", "ManufacturerModelName", "StationName", "DeviceSerialNumber",
    "SoftwareVersions",
    # image geometry and pixel interpretation
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
    "SpacingBetweenSlices", "SliceLocation", "SamplesPerPixel", "PhotometricInterpretation",
    "BitsStored", "PixelRepresentation", "RescaleIntercept", "RescaleSlope", "WindowCenter",
    "WindowWidth",
)

# Columns every index has. The locators let a loader read pixel data (or frame i of
# encapsulated data) with one positioned read, without parsing the file again.
FILE_COLUMNS = (
    ("path", pa.string()), ("size", pa.int64()), ("mtime", pa.timestamp("us", tz="UTC")),
    ("error", pa.string()), ("is_dicomdir", pa.bool_()), ("transfer_syntax_uid", pa.string()),
    ("sop_class_uid", pa.string()))
LOCATOR_COLUMNS = (
    ("pixel_offset", pa.int64()), ("pixel_length", pa.int64()), ("rows", pa.int64()),
    ("columns", pa.int64()), ("number_of_frames", pa.int64()), ("bits_allocated", pa.int64()),
    ("frame_offsets", pa.list_(pa.int64())), ("frame_lengths", pa.list_(pa.int64())))
JSON_COLUMN = ("dicom_json", pa.string())
# Tags whose values are locator columns already; asked for by name they add nothing.
LOCATOR_TAGS = frozenset({0x00280010, 0x00280011, 0x00280100, 0x00280008})

_KINDS: Dict[str, str] = {}
for _vrs, _kind in (("AE AS CS DA DT LO LT PN SH ST TM UC UI UR UT", "str"),
                    ("IS US UL SS SL SV UV AT", "int"), ("DS FL FD", "float"),
                    ("OB OW OD OF OL OV UN", "bytes"), ("SQ", "json")):
    _KINDS.update(dict.fromkeys(_vrs.split(), _kind))
_KINDS.update({"US or SS": "int", "OB or OW": "bytes", "US or OW": "bytes",
               "US or SS or OW": "bytes"})
_ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(),
                "bytes": pa.binary(), "json": pa.string()}
_HEX_TAG = re.compile(r"^\(?(?:0x)?([0-9a-f]{4})[,_ ]?([0-9a-f]{4})\)?$", re.IGNORECASE)
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
# Decimal and Integer Strings as PS3.5 6.2 has them (float() and int() take more: "nan",
# "1_000", other digits than ASCII ones).
DS_TEXT = re.compile(r"^ *[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)? *\Z", re.ASCII)
IS_TEXT = re.compile(r"^ *[+-]?[0-9]+ *\Z", re.ASCII)
_LIST_OR_NONE = {list, type(None)}


@dataclass(frozen=True)
class TagColumn:
    """One requested tag: its column name, how its values are typed, and whether a list."""

    tag: int
    name: str
    kind: str   # "str", "int", "float", "bytes" or "json" (the element as DICOM JSON)
    multi: bool

    @property
    def arrow_type(self) -> pa.DataType:
        scalar = _ARROW_TYPES[self.kind]
        return pa.list_(scalar) if self.multi else scalar


def parse_tag(spec: TagSpec) -> int:
    """A tag from a keyword, an int, or hex text: 00100010, 0x00100010, (0010,0010), 0010_0010."""
    if isinstance(spec, int):
        if not 0 <= spec <= 0xFFFFFFFF:
            raise ValueError(f"tag {spec:#x} is out of range")
        return spec
    text = spec.strip()
    tag = dictionary.tag_for_keyword(text)
    if tag is not None:
        return tag
    match = _HEX_TAG.match(text)
    if match is None:
        raise ValueError(f"{spec!r} is neither a DICOM keyword nor a tag in hex")
    return int(match.group(1) + match.group(2), 16)


def tag_column(tag: int) -> TagColumn:
    """The column for `tag`, named by keyword (``gggg_eeee`` without one), typed by its VR."""
    entry = dictionary.dictionary_entry(tag)
    keyword = dictionary.keyword_for_tag(tag)
    name = keyword or f"{tag >> 16:04x}_{tag & 0xFFFF:04x}"
    if entry is None or not keyword:
        return TagColumn(tag, name, "json", False)
    kind = _KINDS.get(entry.vr, "json")
    return TagColumn(tag, name, kind, kind not in ("json", "bytes") and entry.vm != "1")


def tag_columns(tags: Optional[Iterable[TagSpec]]) -> Tuple[TagColumn, ...]:
    """The tag columns for `tags` (the default set when None), duplicates and locator tags
    dropped, in the order given."""
    seen = set(LOCATOR_TAGS)
    columns = []
    for spec in DEFAULT_TAGS if tags is None else tags:
        tag = parse_tag(spec)
        if tag not in seen:
            seen.add(tag)
            columns.append(tag_column(tag))
    return tuple(columns)


def schema(columns: Sequence[TagColumn], all_tags: bool) -> pa.Schema:
    """The Arrow schema of an index with these tag columns; the tags are recorded in the
    metadata so that a resumed run can tell whether an index was made with the same ones."""
    fields = [pa.field(name, kind) for name, kind in FILE_COLUMNS]
    fields += [pa.field(c.name, c.arrow_type) for c in columns]
    fields += [pa.field(name, kind) for name, kind in LOCATOR_COLUMNS]
    if all_tags:
        fields.append(pa.field(*JSON_COLUMN))
    meta = {"fastdcm.tags": json.dumps([f"{c.tag:08X}" for c in columns])}
    return pa.schema(fields, metadata=meta)


def to_array(values: List[Any], arrow_type: pa.DataType) -> pa.Array:
    """The values as one Arrow array: directly when they fit, else normalised one by one.

    A list column takes only lists directly: pyarrow would read a string as a list of
    its characters.
    """
    multi = isinstance(arrow_type, pa.ListType)
    if not multi or set(map(type, values)) <= _LIST_OR_NONE:
        try:
            return pa.array(values, arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            pass
    fit = _FITS[arrow_type.value_type if multi else arrow_type]
    if multi:
        return pa.array([None if v is None else [fit(x) for x in _as_list(v)]
                         for v in values], arrow_type)
    return pa.array([fit(v) for v in values], arrow_type)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def arrow_text(text: str) -> str:
    """`text` as an Arrow string, which must be UTF-8: the bytes of a file name that are
    not (an old archive's Latin-1, say, which Python holds as lone surrogates) become
    \\xNN escapes, so that such a name is a row with a readable path, not the end of the
    run."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file name decodes to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _fit_str(value: Any) -> Optional[str]:
    """Text that Arrow takes; several values joined by DICOM's own delimiter, the
    backslash."""
    if isinstance(value, str):
        return arrow_text(value)
    if value is None:
        return value
    if isinstance(value, list):
        return arrow_text("\\".join("" if v is None else str(v) for v in value))
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _fit_int(value: Any) -> Optional[int]:
    """An int64, or None; text that is an IS is read (see _fit_float)."""
    if isinstance(value, str) and IS_TEXT.match(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and \
            INT64_MIN <= value <= INT64_MAX:
        return value
    return None


def _fit_float(value: Any) -> Optional[float]:
    """A float64, or None. Text comes when a value of several did not convert: pydicom then
    keeps them all as text ('1\\0\\1C0'), and each that is a DS is still its number."""
    if isinstance(value, str) and DS_TEXT.match(value):
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _fit_bytes(value: Any) -> Optional[bytes]:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return None


_FITS: Dict[pa.DataType, Callable[[Any], Any]] = {
    pa.string(): _fit_str, pa.int64(): _fit_int, pa.float64(): _fit_float,
    pa.binary(): _fit_bytes}
