"""Raw element bytes + VR -> the Python value pydicom 3.0.2 gives as ``DataElement.value``.

fastdcm promises values that compare one to one with pydicom's defaults, so this module keeps
pydicom's quirks on purpose rather than following PS3.5 alone:

* each string VR strips its padding in its own way (AE strips both ends of every value, UI
  strips whitespace around every value, UR only trailing whitespace, the rest only trailing
  spaces and NULs);
* DS and IS come back as plain ``float``/``int`` (not pydicom's subclasses), but an empty
  component stays the string it was, an IS like "1.5" becomes a float, and a DS or IS that does
  not parse at all is returned as the text an SH element would give, as pydicom's retry does;
* a single value is a scalar or ``str``, several are a ``list``; empty values are ``""`` for
  text VRs and ``None`` otherwise.

Conversion is on the hot path of reading a few header values per file, so :func:`convert_value`
is one table lookup and one call: the binary numbers are decoded in ``_values`` (Cython) and
text uses ``str`` methods, with the character-set work left to :mod:`fastdcm.charset`.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence, Union

from fastdcm._values import (
    decode_AT,
    decode_FD,
    decode_FL,
    decode_SL,
    decode_SS,
    decode_SV,
    decode_UL,
    decode_US,
    decode_UV,
)
from fastdcm.charset import DEFAULT_ENCODING, decode_person_name, decode_text
from fastdcm.errors import InvalidDicomError

__all__ = ["convert_value", "value_multiplicity"]

Raw = Union[bytes, memoryview]
_Text = Union[str, list[str]]
_DEFAULT_ENCODINGS = [DEFAULT_ENCODING]


def _as_bytes(raw: Raw) -> bytes:
    return raw if type(raw) is bytes else bytes(raw)


def _split(text: str) -> _Text:
    return text.split("\\") if "\\" in text else text


# Text in the default repertoire (AE AS CS DA DT IS DS TM UI UR) is read as Latin-1 whatever
# (0008,0005) says, as pydicom does; str(raw, codec) accepts bytes and memoryviews alike.

def _code_string(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> _Text:
    """AS CS DA DT TM: trailing spaces and NULs of the whole value go; inner padding stays."""
    return _split(str(raw, "latin-1").rstrip(" \x00"))


def _application_entity(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> _Text:
    """AE: leading and trailing spaces are insignificant in every value (NULs are kept)."""
    text = str(raw, "latin-1")
    if "\\" in text:
        return [value.strip() for value in text.split("\\")]
    return text.strip()


def _uid(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> _Text:
    """UI: trailing NULs/spaces of the whole value, then whitespace around every value."""
    text = str(raw, "latin-1").rstrip("\x00 ")
    if "\\" in text:
        return [value.strip() for value in text.split("\\")]
    return text.strip()


def _uri(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> str:
    """UR: one value (backslashes are data); only trailing whitespace is insignificant."""
    return str(raw, "latin-1").rstrip()


def _decimal_string(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> Any:
    """DS -> float (list of floats); blank components stay strings; unparsable -> text."""
    text = str(raw, "latin-1").strip().rstrip(" \x00")
    try:
        if "\\" in text:
            return [value if not value.strip() else float(value) for value in text.split("\\")]
        return text if not text.strip() else float(text)
    except ValueError:
        return _short_text(raw, little_endian, encodings)


def _integer(text: str) -> Union[int, float]:
    """One non-blank IS value: an int, or a float where the text is a non-integral number
    (or an integer too large to survive a round trip through float, as pydicom checks)."""
    if text.isdecimal() and len(text) < 16:  # plain digits (Latin-1 has no other decimals)
        return int(text)
    try:
        number = int(text)
    except ValueError:
        number = int(float(text))  # ValueError for junk and NaN, OverflowError for infinity
    as_float = float(text)
    return as_float if number != as_float else number


def _integer_string(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> Any:
    """IS -> int (list of ints); blank components stay strings; unparsable -> text."""
    text = str(raw, "latin-1").rstrip(" \x00")
    try:
        if "\\" in text:
            return [value if not value.strip() else _integer(value) for value in text.split("\\")]
        return text if not text.strip() else _integer(text)
    except ValueError:
        return _short_text(raw, little_endian, encodings)
    except OverflowError:
        # pydicom lets this OverflowError escape when the value is read; ours is the one
        # exception type malformed input may raise.
        raise InvalidDicomError(f"IS value {text!r} is infinite") from None


# Text VRs whose repertoire (0008,0005) can extend.

def _short_text(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> _Text:
    """SH LO UC: decoded as a whole, then split; trailing NULs and spaces of each value go."""
    text = decode_text(_as_bytes(raw), encodings or _DEFAULT_ENCODINGS)
    if "\\" in text:
        return [value.rstrip("\x00 ") for value in text.split("\\")]
    return text.rstrip("\x00 ")


def _long_text(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> str:
    """ST LT UT: one value (backslashes are data); trailing NULs and spaces go."""
    return decode_text(_as_bytes(raw), encodings or _DEFAULT_ENCODINGS).rstrip("\x00 ")


def _person_name(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> _Text:
    """PN: str() of pydicom's PersonName for each value."""
    return _split(decode_person_name(_as_bytes(raw), encodings or _DEFAULT_ENCODINGS))


def _binary(raw: Raw, little_endian: bool, encodings: Sequence[str]) -> bytes:
    """OB OD OF OL OV OW UN and the ambiguous VRs before they are resolved: the bytes as
    stored (no byte swapping)."""
    return bytes(raw)


_Converter = Callable[[Raw, bool, Sequence[str]], Any]

_CONVERTERS: dict[str, _Converter] = {
    "AE": _application_entity,
    "AS": _code_string,
    "AT": decode_AT,
    "CS": _code_string,
    "DA": _code_string,
    "DS": _decimal_string,
    "DT": _code_string,
    "FD": decode_FD,
    "FL": decode_FL,
    "IS": _integer_string,
    "LO": _short_text,
    "LT": _long_text,
    "OB": _binary,
    "OD": _binary,
    "OF": _binary,
    "OL": _binary,
    "OV": _binary,
    "OW": _binary,
    "PN": _person_name,
    "SH": _short_text,
    "SL": decode_SL,
    "SS": decode_SS,
    "ST": _long_text,
    "SV": decode_SV,
    "TM": _code_string,
    "UC": _short_text,
    "UI": _uid,
    "UL": decode_UL,
    "UN": _binary,
    "UR": _uri,
    "US": decode_US,
    "UT": _long_text,
    "UV": decode_UV,
    "OB or OW": _binary,
    "US or SS": _binary,
    "US or OW": _binary,
    "US or SS or OW": _binary,
}

# pydicom's empty_value_for_VR: "" for the text VRs (DS and IS excepted), None for the rest.
_EMPTY: dict[str, Any] = dict.fromkeys(_CONVERTERS)
_EMPTY.update(dict.fromkeys(
    ("AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"),
    "",
))


def convert_value(vr: str, raw: Raw, little_endian: bool, encodings: Sequence[str]) -> Any:
    """The value of an element of VR `vr` whose value bytes are `raw`, as pydicom gives it.

    `little_endian` matters for the binary numbers and AT only; `encodings` (from
    :func:`fastdcm.charset.python_encodings`) for SH LO ST LT UC UT PN only. SQ is not a
    value to convert here. A VR outside PS3.5 or a binary number value whose length is not a
    whole number of items raises :class:`~fastdcm.errors.InvalidDicomError`.
    """
    converter = _CONVERTERS.get(vr)
    if converter is None:
        raise InvalidDicomError(f"cannot convert a value of VR {vr!r}")
    if not raw:
        return _EMPTY[vr]
    return converter(raw, little_endian, encodings)


def value_multiplicity(value: Any) -> int:
    """Number of values in a converted value, as pydicom's ``DataElement.VM`` counts them:
    0 for None and for empty text or bytes, the length of a list, else 1. (An SQ element has
    VM 1 whatever its item count; that is the caller's case to handle.)"""
    kind = type(value)  # exact-type checks first: they are what convert_value returns
    if kind is str or kind is bytes:
        return 1 if value else 0
    if kind is int or kind is float:
        return 1
    if kind is list:
        return len(value)
    if value is None:
        return 0
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return 1 if value else 0
    if isinstance(value, (list, tuple)):
        return len(value)
    return 1
