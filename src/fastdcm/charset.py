"""Text decoding under Specific Character Set (0008,0005), giving the strings pydicom 3.0.2 gives.

Why this module mirrors pydicom closely instead of following PS3.5 alone: fastdcm promises values
that compare one to one with pydicom, so every quirk that changes a decoded string is kept (which
delimiters end a code extension, which bytes survive a failed decode, how misspelled terms are
read). Warnings are issued where pydicom warns; their wording is ours.

How callers use it:

* ``python_encodings(value of (0008,0005))`` once per data set (items without their own
  (0008,0005) inherit the list of their parent).
* SH, LO, UC: ``decode_text(raw)``, then split on ``"\\"`` and strip ``"\\0 "`` from the right of
  each value. ST, LT, UT: ``decode_text(raw)`` and strip ``"\\0 "`` from the right. The text is
  decoded as a whole before splitting because a 0x5C byte can be half of a multi-byte character.
* PN: ``decode_person_name(raw)``, then split on ``"\\"``; nothing else to strip.
"""
from __future__ import annotations

import codecs
import re
import warnings
from typing import Callable, Optional, Sequence, Union

__all__ = [
    "DEFAULT_ENCODING",
    "TEXT_DELIMITERS",
    "python_encodings",
    "decode_text",
    "decode_person_name",
]

#: Python codec for the default repertoire (ISO-IR 6). pydicom reads it as Latin-1 so that the
#: many files with undeclared 8-bit text still decode.
DEFAULT_ENCODING = "iso8859"

#: Byte values that end a single-byte code extension (CR, LF, TAB, FF): text after them is read
#: with the first encoding again. pydicom uses these for every text VR and also for PN values
#: read from a file, so '^' and '=' do not end an extension.
TEXT_DELIMITERS = frozenset((0x0D, 0x0A, 0x09, 0x0C))

_ESC = 0x1B

# Defined terms of (0008,0005) -> Python codec, with the few non-standard spellings pydicom accepts.
_CODEC_FOR_TERM = {
    "": DEFAULT_ENCODING,
    "ISO_IR 6": DEFAULT_ENCODING,
    "ISO_IR 13": "shift_jis",
    "ISO_IR 100": "latin_1",
    "ISO_IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3",
    "ISO_IR 110": "iso8859_4",
    "ISO_IR 126": "iso_ir_126",
    "ISO_IR 127": "iso_ir_127",
    "ISO_IR 138": "iso_ir_138",
    "ISO_IR 144": "iso_ir_144",
    "ISO_IR 148": "iso_ir_148",
    "ISO_IR 166": "iso_ir_166",
    "ISO_IR 192": "UTF8",
    "GB18030": "GB18030",
    "GBK": "GBK",
    "ISO 2022 IR 6": DEFAULT_ENCODING,
    "ISO 2022 IR 13": "shift_jis",
    "ISO 2022 IR 58": "iso_ir_58",
    "ISO 2022 IR 87": "iso2022_jp",
    "ISO 2022 IR 100": "latin_1",
    "ISO 2022 IR 101": "iso8859_2",
    "ISO 2022 IR 109": "iso8859_3",
    "ISO 2022 IR 110": "iso8859_4",
    "ISO 2022 IR 126": "iso_ir_126",
    "ISO 2022 IR 127": "iso_ir_127",
    "ISO 2022 IR 138": "iso_ir_138",
    "ISO 2022 IR 144": "iso_ir_144",
    "ISO 2022 IR 148": "iso_ir_148",
    "ISO 2022 IR 149": "euc_kr",
    "ISO 2022 IR 159": "iso2022_jp_2",
    "ISO 2022 IR 166": "iso_ir_166",
    "ISO 2022 GBK": "GBK",
    "ISO 2022 58": "GB2312",
}

# Terms that forbid code extensions (PS3.3 C.12.1.1.2): first -> the rest is ignored;
# later -> that term is dropped.
_STAND_ALONE_TERMS = frozenset(("ISO_IR 192", "GBK", "GB18030"))

# Escape sequence, without its leading ESC (PS3.3 tables C.12-3 and C.12-4) -> codec that
# decodes what follows it.
_CODEC_FOR_ESCAPE = {
    b"(B": DEFAULT_ENCODING,
    b"(J": "shift_jis",
    b")I": "shift_jis",
    b"-A": "latin_1",
    b"-B": "iso8859_2",
    b"-C": "iso8859_3",
    b"-D": "iso8859_4",
    b"-F": "iso_ir_126",
    b"-G": "iso_ir_127",
    b"-H": "iso_ir_138",
    b"-L": "iso_ir_144",
    b"-M": "iso_ir_148",
    b"-T": "iso_ir_166",
    b"$B": "iso2022_jp",
    b"$(D": "iso2022_jp_2",
    b"$)A": "iso_ir_58",
    b"$)C": "euc_kr",
}

# Codecs handed the fragment with its escape sequence still in front. The two ISO 2022 codecs
# consume it; GB2312 does not, so pydicom's output for ISO 2022 IR 58 keeps a literal
# "\x1b$)A" before the Chinese text, and so does ours.
_FED_WITH_ESCAPE = frozenset(("iso2022_jp", "iso2022_jp_2", "iso_ir_58"))

# Codecs that python_encodings can return for a defined term and that read bytes 0x00-0x7F
# (ESC aside) as ASCII, so pure-ASCII text can take the fastest decoder in CPython.
_ASCII_SUPERSETS = frozenset(_CODEC_FOR_TERM.values())

_MISSPELLED_PLAIN = re.compile("ISO[^_]IR")
_MISSPELLED_EXTENDED = re.compile("(?=ISO.2022.IR.)(?!ISO 2022 IR )")


def python_encodings(specific_character_set: Union[str, Sequence[str], None]) -> list[str]:
    """Python codec names for a value of Specific Character Set (0008,0005).

    Accepts the element's value as read (a str, a list of str, or None/empty for the default
    repertoire) and returns one codec per term, as pydicom's ``convert_encodings`` does:
    misspellings such as ``"ISO IR 100"`` or ``"ISO_2022_IR_87"`` are corrected, a Python codec
    name is used as given, anything else becomes the default (each with a warning), and
    stand-alone terms (ISO_IR 192, GBK, GB18030) drop the code extensions that cannot go with them.

    One deliberate difference: a name Python knows but cannot use to decode text with
    replacement (``"hex"``, ``"rot13"``, ``"idna"``) is treated as unknown. pydicom keeps it and
    later falls back to the default for plain text, or raises ``LookupError`` when the text holds
    an escape sequence; treating it as unknown gives the same strings without the error. A term
    with a NUL character in it, on which pydicom raises ValueError, is unknown here too.
    """
    if not specific_character_set:
        terms: Sequence[str] = ("",)
    elif isinstance(specific_character_set, str):
        terms = (specific_character_set,)
    else:
        terms = specific_character_set
    result = list(map(_codec_for_term, terms))  # map adds no frame, so warning stacklevels hold
    if len(terms) > 1:
        if terms[0] in _STAND_ALONE_TERMS:
            warnings.warn(
                f"Specific Character Set {terms[0]!r} allows no code extensions; "
                f"ignoring {', '.join(terms[1:])}",
                stacklevel=2,
            )
            return result[:1]
        for index in range(len(terms) - 1, 0, -1):
            if terms[index] in _STAND_ALONE_TERMS:
                warnings.warn(
                    f"Specific Character Set {terms[index]!r} cannot be a code extension; "
                    "ignoring it",
                    stacklevel=2,
                )
                del result[index]
    return result


def _codec_for_term(term: str) -> str:
    """One term of (0008,0005) -> codec, correcting the spelling mistakes pydicom corrects."""
    codec = _CODEC_FOR_TERM.get(term)
    if codec is not None:
        return codec
    if _MISSPELLED_PLAIN.match(term):
        corrected: Optional[str] = "ISO_IR" + term[6:]
    elif _MISSPELLED_EXTENDED.match(term):
        corrected = "ISO 2022 IR " + term[12:]
    else:
        corrected = None
    if corrected is not None:
        codec = _CODEC_FOR_TERM.get(corrected)
        if codec is not None:
            warnings.warn(
                f"Specific Character Set {term!r} is misspelled; reading it as {corrected!r}",
                stacklevel=3,
            )
            return codec
    elif _is_usable_codec(term):
        return term
    warnings.warn(
        f"Unknown Specific Character Set {term!r}; using the default repertoire",
        stacklevel=3,
    )
    return DEFAULT_ENCODING


def _is_usable_codec(name: str) -> bool:
    """True if bytes.decode accepts `name` with errors="replace" (so fallbacks cannot fail).

    ValueError covers UnicodeError and the "embedded null character" of a name with a NUL in it.
    """
    try:
        b"\x80 ".decode(name, "replace")
    except (LookupError, ValueError):
        return False
    return True


def decode_text(
    raw: bytes, encodings: Sequence[str], delimiters: frozenset[int] = TEXT_DELIMITERS
) -> str:
    """Decode a whole text value (all of its values, backslashes included), as pydicom does.

    `encodings` comes from :func:`python_encodings`. Without an ESC byte the value is decoded
    with the first encoding. With one, the value is cut before every ESC; each piece is decoded
    with the codec its escape sequence names (if that codec is among `encodings`, or is ASCII),
    and a single-byte extension ends at the first byte in `delimiters`. A piece that fails to
    decode, or that starts with an unknown escape sequence, is decoded whole (escape bytes
    included) with the first encoding and U+FFFD for bad bytes, with a warning. No padding is
    removed. `raw` must be bytes: a memoryview has neither ``decode`` nor a memchr-fast ``in``.
    """
    if _ESC not in raw:
        first = encodings[0]
        if first in _ASCII_SUPERSETS and raw.isascii():
            return raw.decode("ascii")
        return _decode_or_replace(raw, first, encodings)
    pieces = raw.split(b"\x1b")
    text = [_decode_or_replace(pieces[0], encodings[0], encodings)] if pieces[0] else []
    for piece in pieces[1:]:
        text.append(_decode_escaped(piece, encodings, delimiters))
    return "".join(text)


def _decode(raw: bytes, codec: str) -> str:
    """bytes.decode without the codec registry lookup, which costs 200-300 ns a call for all
    names but the few spellings of Latin-1 and UTF-8 that CPython decodes directly."""
    builtin = _BUILTIN_SPELLING.get(codec)
    if builtin is not None:
        return raw.decode(builtin)
    decoder = _DECODERS.get(codec)
    if decoder is None:
        decoder = _DECODERS[codec] = codecs.getdecoder(codec)
    return decoder(raw)[0]


_BUILTIN_SPELLING = {DEFAULT_ENCODING: "latin-1", "latin_1": "latin-1", "UTF8": "utf-8"}
_DECODERS: dict[str, Callable[[bytes], tuple[str, int]]] = {}


def _decode_or_replace(raw: bytes, codec: str, encodings: Sequence[str]) -> str:
    """Decode with `codec`; on failure warn and decode with the first encoding, replacing."""
    try:
        return _decode(raw, codec)
    except UnicodeError:
        return _replaced(raw, encodings)


def _replaced(raw: bytes, encodings: Sequence[str]) -> str:
    warnings.warn(
        f"Text is not valid in {', '.join(encodings)}; undecodable bytes became U+FFFD",
        stacklevel=4,
    )
    return raw.decode(encodings[0], "replace")


def _decode_escaped(piece: bytes, encodings: Sequence[str], delimiters: frozenset[int]) -> str:
    """Decode the bytes after one ESC, up to the next ESC or the end."""
    size = 3 if piece[:2] in (b"$(", b"$)") else 2
    codec = _CODEC_FOR_ESCAPE.get(piece[:size])
    if codec is None or (codec not in encodings and codec != DEFAULT_ENCODING):
        warnings.warn(
            f"Escape sequence ESC {piece[:size]!r} names none of {', '.join(encodings)}; "
            f"decoding with {encodings[0]}",
            stacklevel=3,
        )
        return (b"\x1b" + piece).decode(encodings[0], "replace")
    try:
        if codec in _FED_WITH_ESCAPE:
            return _decode(b"\x1b" + piece, codec)
        found = _delimiter_pattern(delimiters).search(piece, size)
        if found is None:
            return _decode(piece[size:], codec)
        cut = found.start()
        return _decode(piece[size:cut], codec) + _decode(piece[cut:], encodings[0])
    except UnicodeError:
        return _replaced(b"\x1b" + piece, encodings)


def _delimiter_pattern(delimiters: frozenset[int]) -> re.Pattern[bytes]:
    """A compiled character class for `delimiters`: one search beats a find per delimiter."""
    pattern = _DELIMITER_PATTERNS.get(delimiters)
    if pattern is None:
        members = b"".join(re.escape(bytes((code,))) for code in sorted(delimiters))
        pattern = re.compile(b"[" + members + b"]" if members else b"(?!)")
        _DELIMITER_PATTERNS[delimiters] = pattern
    return pattern


_DELIMITER_PATTERNS: dict[frozenset[int], re.Pattern[bytes]] = {}


def decode_person_name(raw: bytes, encodings: Sequence[str]) -> str:
    """Decode a PN value (all of its values) to what ``str()`` of pydicom's PersonName gives.

    This follows pydicom's path when it reads a file: trailing NUL and space bytes are removed,
    the whole value is decoded like other text (CR LF TAB FF end an extension; '^' and '=' do
    not), and in each backslash-separated value trailing empty component groups ('=' at the end)
    are dropped. The caller splits the result on backslash to get the values.
    """
    text = decode_text(raw.rstrip(b"\x00 "), encodings)
    if "=" in text and (text.endswith("=") or "=\\" in text):  # "=" in: memchr-fast
        return "\\".join([value.rstrip("=") for value in text.split("\\")])
    return text
