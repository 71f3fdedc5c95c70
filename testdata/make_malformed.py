"""Write the small test files under ``testdata/valid`` and ``testdata/malformed``.

Why a script and not files copied from elsewhere: every byte of these files is made here with
plain ``struct`` packing, so each malformed file is a good file with one defect placed at a
known spot, and anyone can see (and regenerate) exactly what that defect is. Nothing but the
standard library is needed, and the output is the same on every run.

    python testdata/make_malformed.py          # rewrites both folders

``valid/`` holds one small CT-like data set (sequences of defined and undefined length, a
private block, native pixel data) in each of the four uncompressed transfer syntaxes, plus
the same data set bare (no preamble, no file meta). ``malformed/`` holds files named after
what they pin down; ``tests/test_malformed.py`` says, for each, the error, byte offset and tag
that fastdcm must report. Regression files for bugs found by fuzzing are named after the bug.
"""
from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple, Union

HERE = Path(__file__).resolve().parent

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
# UUID-derived UIDs (PS3.5 B.2): no organisation root is needed for test data.
UID_ROOT = "2.25.31415926535897932384626433832795"
IMPLEMENTATION_UID = "2.25.27182818284590452353602874713526"

ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
NUMBER_FORMATS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}


@dataclass(frozen=True)
class Encoding:
    little: bool = True
    explicit: bool = True

    @property
    def order(self) -> str:
        return "<" if self.little else ">"


LE = Encoding()
IMPLICIT = Encoding(explicit=False)
BE = Encoding(little=False)

# -- encoding primitives ------------------------------------------------------------------

Value = Union[str, bytes, int, float, List[int], List[float]]


def value_bytes(vr: str, value: Value, enc: Encoding) -> bytes:
    """A value encoded for its VR and padded to even length (UI with NUL, text with space)."""
    if isinstance(value, bytes):
        data = value
    elif vr in NUMBER_FORMATS:
        numbers = value if isinstance(value, list) else [value]
        data = struct.pack(f"{enc.order}{len(numbers)}{NUMBER_FORMATS[vr]}", *numbers)
    else:
        data = str(value).encode("latin-1")
    if len(data) % 2:
        data += b"\0" if vr in ("UI", "OB", "UN") else b" "
    return data


def header(tag: int, vr: str, length: int, enc: Encoding) -> bytes:
    """An element header; item tags and implicit VR have no VR field (PS3.5 7.1)."""
    o = enc.order
    group_element = struct.pack(f"{o}HH", tag >> 16, tag & 0xFFFF)
    if not enc.explicit or tag >> 16 == 0xFFFE:
        return group_element + struct.pack(f"{o}I", length)
    if vr in LONG_VRS:
        return group_element + vr.encode() + b"\0\0" + struct.pack(f"{o}I", length)
    return group_element + vr.encode() + struct.pack(f"{o}H", length)


def element(tag: int, vr: str, value: Value, enc: Encoding = LE) -> bytes:
    data = value_bytes(vr, value, enc)
    return header(tag, vr, len(data), enc) + data


def item(content: bytes, enc: Encoding = LE, undefined: bool = False) -> bytes:
    if undefined:
        return header(ITEM, "", UNDEFINED, enc) + content + header(ITEM_DELIMITER, "", 0, enc)
    return header(ITEM, "", len(content), enc) + content


def sequence(tag: int, items: Sequence[bytes], enc: Encoding = LE,
             undefined: bool = False) -> bytes:
    """An SQ element around already encoded items."""
    body = b"".join(items)
    if undefined:
        return header(tag, "SQ", UNDEFINED, enc) + body + header(SEQUENCE_DELIMITER, "", 0, enc)
    return header(tag, "SQ", len(body), enc) + body


def file_meta(transfer_syntax: str, sop_instance: str) -> bytes:
    """Preamble, 'DICM' and group 0002 (always explicit VR little endian)."""
    body = b"".join([
        element(0x00020001, "OB", b"\0\1"),
        element(0x00020002, "UI", CT_IMAGE_STORAGE),
        element(0x00020003, "UI", sop_instance),
        element(0x00020010, "UI", transfer_syntax),
        element(0x00020012, "UI", IMPLEMENTATION_UID),
        element(0x00020013, "SH", "FASTDCM_TESTDATA"),
    ])
    return bytes(128) + b"DICM" + element(0x00020000, "UL", len(body)) + body


# -- the valid data set -------------------------------------------------------------------

ROWS = COLUMNS = 4
PIXELS = [(7 * i * i + 3 * i) % 4096 for i in range(ROWS * COLUMNS)]  # 12 bits stored


def ct_elements(enc: Encoding) -> List[Tuple[int, bytes]]:
    """(tag, encoded element) of a small CT slice, in tag order.

    Chosen to cover what the reader must get right: Latin-1 text under ISO_IR 100, multi-valued
    CS and DS, a defined-length sequence of defined-length items, an undefined-length sequence
    of undefined-length items with a nested sequence, a private creator with one known-VR and
    one UN element, and native 16-bit pixel data.
    """
    uid = f"{UID_ROOT}.1"
    referenced = [
        item(element(0x00081150, "UI", CT_IMAGE_STORAGE, enc)
             + element(0x00081155, "UI", f"{UID_ROOT}.{n}", enc), enc)
        for n in (2, 3)
    ]
    code = item(element(0x00080100, "SH", "CODE1", enc) + element(0x00080102, "SH", "99LOCAL", enc)
                + element(0x00080104, "LO", "Local code", enc), enc, undefined=True)
    request = item(sequence(0x00400008, [code], enc, undefined=True)
                   + element(0x00401001, "SH", "RP1", enc), enc, undefined=True)
    pixel_data = struct.pack(f"{enc.order}{len(PIXELS)}H", *PIXELS)
    pairs = [
        (0x00080005, element(0x00080005, "CS", "ISO_IR 100", enc)),
        (0x00080008, element(0x00080008, "CS", "ORIGINAL\\PRIMARY\\AXIAL", enc)),
        (0x00080016, element(0x00080016, "UI", CT_IMAGE_STORAGE, enc)),
        (0x00080018, element(0x00080018, "UI", uid, enc)),
        (0x00080020, element(0x00080020, "DA", "20240102", enc)),
        (0x00080060, element(0x00080060, "CS", "CT", enc)),
        (0x00081140, sequence(0x00081140, referenced, enc)),
        (0x00090010, element(0x00090010, "LO", "FASTDCM PRIVATE", enc)),
        (0x00091001, element(0x00091001, "LO", "private text", enc)),
        (0x00091002, element(0x00091002, "UN", b"\1\2\3\4", enc)),
        (0x00100010, element(0x00100010, "PN", "M\xfcller^Anna", enc)),
        (0x00100020, element(0x00100020, "LO", "ID0001", enc)),
        (0x00100030, element(0x00100030, "DA", "19700101", enc)),
        (0x00100040, element(0x00100040, "CS", "F", enc)),
        (0x00180050, element(0x00180050, "DS", "1.25", enc)),
        (0x0020000D, element(0x0020000D, "UI", f"{UID_ROOT}.4", enc)),
        (0x0020000E, element(0x0020000E, "UI", f"{UID_ROOT}.5", enc)),
        (0x00200013, element(0x00200013, "IS", "7", enc)),
        (0x00200032, element(0x00200032, "DS", "-125.0\\-125.0\\-50.5", enc)),
        (0x00200037, element(0x00200037, "DS", "1\\0\\0\\0\\1\\0", enc)),
        (0x00280002, element(0x00280002, "US", 1, enc)),
        (0x00280004, element(0x00280004, "CS", "MONOCHROME2", enc)),
        (0x00280010, element(0x00280010, "US", ROWS, enc)),
        (0x00280011, element(0x00280011, "US", COLUMNS, enc)),
        (0x00280030, element(0x00280030, "DS", "0.5\\0.5", enc)),
        (0x00280100, element(0x00280100, "US", 16, enc)),
        (0x00280101, element(0x00280101, "US", 12, enc)),
        (0x00280102, element(0x00280102, "US", 11, enc)),
        (0x00280103, element(0x00280103, "US", 0, enc)),
        (0x00281050, element(0x00281050, "DS", "40", enc)),
        (0x00281051, element(0x00281051, "DS", "400", enc)),
        (0x00400275, sequence(0x00400275, [request], enc, undefined=True)),
        (0x7FE00010, element(0x7FE00010, "OW", pixel_data, enc)),
    ]
    return pairs


def ct_data_set(enc: Encoding) -> bytes:
    return b"".join(data for _, data in ct_elements(enc))


def part10(transfer_syntax: str, data_set: bytes) -> bytes:
    return file_meta(transfer_syntax, f"{UID_ROOT}.1") + data_set


def deflate(data: bytes) -> bytes:
    """Raw deflate (no zlib header), as the Deflated transfer syntax requires (PS3.5 A.5)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def valid_files() -> Dict[str, bytes]:
    return {
        "ct_explicit_le.dcm": part10(EXPLICIT_LE, ct_data_set(LE)),
        "ct_implicit_le.dcm": part10(IMPLICIT_LE, ct_data_set(IMPLICIT)),
        "ct_explicit_be.dcm": part10(EXPLICIT_BE, ct_data_set(BE)),
        "ct_deflated.dcm": part10(DEFLATED_LE, deflate(ct_data_set(LE))),
        "ct_bare_implicit_le.dcm": ct_data_set(IMPLICIT),
    }


# -- malformed files: the valid file with one defect --------------------------------------

class Splice:
    """The CT file cut at an element, so a defect can go in its place.

    ``before`` is everything up to the element with ``tag`` (its header starts at
    ``len(before)``), ``after`` everything from the element following it.
    """

    def __init__(self, tag: int, enc: Encoding = LE, transfer_syntax: str = EXPLICIT_LE):
        pairs = ct_elements(enc)
        index = [t for t, _ in pairs].index(tag)
        self.before = part10(transfer_syntax, b"".join(d for _, d in pairs[:index]))
        self.element = pairs[index][1]
        self.after = b"".join(d for _, d in pairs[index + 1:])

    def replaced(self, *parts: bytes) -> bytes:
        """The file with this element replaced by `parts`."""
        return self.before + b"".join(parts) + self.after

    def cut(self, *parts: bytes) -> bytes:
        """The file ending with `parts` in place of this element."""
        return self.before + b"".join(parts)


def delimiter(tag: int) -> bytes:
    return header(tag, "", 0, LE)


def nested(levels: int, undefined: bool) -> bytes:
    """`levels` Request Attributes Sequences, each the only element of the item around it."""
    inner = element(0x00401001, "SH", "DEEP")
    for _ in range(levels):
        inner = sequence(0x00400275, [item(inner, undefined=undefined)], undefined=undefined)
    return inner


def cut_short() -> Dict[str, bytes]:
    """Files that end early: in the preamble, after 'DICM', in the file meta, in a header (with
    8 or more bytes of it, and with fewer), in a value."""
    base = part10(EXPLICIT_LE, ct_data_set(LE))
    pixel = Splice(0x7FE00010)
    return {
        "empty.dcm": b"",
        "truncated_preamble.dcm": base[:100],
        "truncated_after_dicm.dcm": base[:132],
        "truncated_file_meta.dcm": base[:170],  # inside the value of (0002,0002)
        "truncated_header.dcm": pixel.cut(pixel.element[:10]),
        "truncated_header_short_tail.dcm": pixel.cut(pixel.element[:4]),
        "truncated_value.dcm": pixel.cut(pixel.element[:20]),
    }


def bad_lengths() -> Dict[str, bytes]:
    """Lengths that run past the end of the file, the sequence or the item; absurd ones in
    each byte order and VR encoding; an odd one that throws the next header off by a byte."""
    patient_id, private = Splice(0x00100020), Splice(0x00091002)
    big, implicit = Splice(0x00091002, BE, EXPLICIT_BE), Splice(0x00091002, IMPLICIT, IMPLICIT_LE)
    sop, request = Splice(0x00081140), Splice(0x00400275)
    referenced = sop.element[12:]  # the two items
    first_item = referenced[:8 + struct.unpack("<I", referenced[4:8])[0]]
    overlong = (header(ITEM, "", len(referenced) + 8, LE) + first_item[8:]
                + referenced[len(first_item):])
    too_long_uid = (element(0x00081150, "UI", CT_IMAGE_STORAGE) + header(0x00081155, "UI", 64, LE)
                    + b"1.2")
    return {
        "length_past_end.dcm": patient_id.replaced(header(0x00100020, "LO", 0x2000, LE), b"ID0001"),
        "huge_length.dcm": private.replaced(header(0x00091002, "UN", 0xFFFFFFF0, LE), b"\1\2\3\4"),
        "huge_length_big_endian.dcm": big.replaced(header(0x00091002, "UN", 0xFFFFFFF0, BE),
                                                   b"\1\2\3\4"),
        "huge_length_implicit.dcm": implicit.replaced(
            header(0x00091002, "UN", 0xFFFFFFF0, IMPLICIT), b"\1\2\3\4"),
        # The value is 6 bytes but says 7: the next header is read one byte late, as
        # (3000,4400) with a VR of 'A\x08' (not a VR, so implicit) and a length from the
        # bytes after it.
        "odd_length_header_misaligned.dcm": patient_id.replaced(header(0x00100020, "LO", 7, LE),
                                                                b"ID0001"),
        "sequence_length_past_end.dcm": sop.replaced(header(0x00081140, "SQ", 0x10000, LE),
                                                     referenced),
        "item_length_past_sequence.dcm": sop.replaced(header(0x00081140, "SQ", len(overlong), LE),
                                                      overlong),
        "length_past_item.dcm": sop.replaced(sequence(0x00081140, [item(too_long_uid)])),
        "huge_length_in_item.dcm": request.replaced(
            header(0x00400275, "SQ", UNDEFINED, LE), header(ITEM, "", UNDEFINED, LE),
            element(0x00401001, "SH", "RP1"), header(0x00400009, "UN", 0xFFFFFFF0, LE),
            bytes(16), delimiter(ITEM_DELIMITER), delimiter(SEQUENCE_DELIMITER)),
        "item_length_past_end.dcm": request.cut(header(0x00400275, "SQ", UNDEFINED, LE),
                                                header(ITEM, "", 0x100000, LE),
                                                element(0x00401001, "SH", "RP1")),
    }


def misplaced_delimiters() -> Dict[str, bytes]:
    """Items and delimiters where they do not belong, and delimiters that never come."""
    birth, request, pixel = Splice(0x00100030), Splice(0x00400275), Splice(0x7FE00010)
    rp1 = element(0x00401001, "SH", "RP1")
    open_sequence = header(0x00400275, "SQ", UNDEFINED, LE)
    open_item = header(ITEM, "", UNDEFINED, LE)
    return {
        "item_delimiter_at_top_level.dcm": birth.replaced(delimiter(ITEM_DELIMITER),
                                                          birth.element),
        "sequence_delimiter_at_top_level.dcm": birth.replaced(delimiter(SEQUENCE_DELIMITER),
                                                              birth.element),
        "item_at_top_level.dcm": birth.replaced(item(birth.element)),
        "sequence_delimiter_in_item.dcm": request.replaced(
            open_sequence, open_item, rp1, delimiter(SEQUENCE_DELIMITER),
            delimiter(ITEM_DELIMITER), delimiter(SEQUENCE_DELIMITER)),
        "item_in_item.dcm": request.replaced(open_sequence, open_item, rp1, item(rp1),
                                             delimiter(ITEM_DELIMITER),
                                             delimiter(SEQUENCE_DELIMITER)),
        "item_delimiter_in_sequence.dcm": request.replaced(
            open_sequence, item(rp1, undefined=True), delimiter(ITEM_DELIMITER),
            delimiter(SEQUENCE_DELIMITER)),
        "element_in_undefined_sequence.dcm": request.replaced(open_sequence, rp1,
                                                              delimiter(SEQUENCE_DELIMITER)),
        "element_in_defined_sequence.dcm": request.replaced(
            header(0x00400275, "SQ", len(rp1), LE), rp1),
        "sequence_delimiter_in_defined_item.dcm": request.replaced(
            sequence(0x00400275, [item(rp1 + delimiter(SEQUENCE_DELIMITER))])),
        "unterminated_sequence.dcm": request.cut(open_sequence, item(rp1, undefined=True)),
        "unterminated_item.dcm": request.cut(open_sequence, open_item, rp1),
        "undefined_length_without_delimiter.dcm": pixel.cut(
            header(0x7FE00010, "OB", UNDEFINED, LE), bytes(range(64))),
    }


def deep_nesting() -> Dict[str, bytes]:
    """Thousands of levels, of undefined length (caught by the scanner) and of defined length
    (caught when the facade descends into the sequences)."""
    request = Splice(0x00400275)
    return {
        "deep_nesting_undefined.dcm": request.cut(nested(2000, undefined=True)),
        "deep_nesting_defined.dcm": request.cut(nested(1000, undefined=False)),
    }


def not_dicom_or_not_deflate() -> Dict[str, bytes]:
    """Junk in place of the preamble and 'DICM'; a deflated data set that is not deflate, one
    cut short, and a bomb. The bomb's data set is one 32 MiB run of zeros in a private OB
    element: about 32 KiB deflated, near deflate's best ratio (~1030:1), so a small file makes
    a large allocation unless the inflated size is bounded."""
    rng = random.Random(20240102)
    base = part10(EXPLICIT_LE, ct_data_set(LE))
    junk = b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(120)) + b"DICX"
    not_deflate = bytes(rng.randrange(256) for _ in range(200))
    bomb = (element(0x00080005, "CS", "ISO_IR 100") + element(0x00090010, "LO", "FASTDCM PRIVATE")
            + header(0x00091003, "OB", 32 << 20, LE) + bytes(32 << 20))
    return {
        "garbage_preamble.dcm": junk + base[132:],
        "corrupt_deflate.dcm": part10(DEFLATED_LE, not_deflate),
        "truncated_deflate.dcm": part10(DEFLATED_LE, deflate(ct_data_set(LE))[:-40]),
        "deflate_bomb.dcm": part10(DEFLATED_LE, deflate(bomb)),
    }


def bad_values() -> Dict[str, bytes]:
    """Values that cannot be converted (pydicom raises for them too), and junk text and
    numbers that pydicom reads without an error (it warns, or keeps the text)."""
    number, rows = Splice(0x00200013), Splice(0x00280010)
    return {
        "infinite_integer_string.dcm": number.replaced(element(0x00200013, "IS", "1e999")),
        "odd_length_number.dcm": rows.replaced(header(0x00280010, "US", 3, LE), b"\4\0\0"),
        "garbage_text_values.dcm": part10(EXPLICIT_LE, b"".join([
            element(0x00080005, "CS", "ISO_IR 192"),
            element(0x00080016, "UI", b"\xff\xfe1.2\x00"),
            element(0x00080020, "DA", "not a date"),
            element(0x00081030, "LO", b"\x1b$)C\xff\xff\\\xc3("),
            element(0x00100010, "PN", b"\xc3(^\xff=\xfe\\\x1b$B"),
            element(0x00101010, "AS", b"\x80\x81"),
            element(0x00181030, "LO", b"\xed\xa0\x80"),
            element(0x00200013, "IS", "nan"),
            element(0x00200032, "DS", "abc\\1..2\\"),
            element(0x00200037, "DS", "1\\0\\0\\0\\1C0\\0"),  # one bad value of six
            element(0x00209165, "AT", b"\1\2\3"),
            element(0x00280030, "DS", "1e999\\-inf"),
        ])),
        "garbage_charset.dcm": part10(EXPLICIT_LE, element(0x00080005, "CS", "ISO_IR 999\\\xff")
                                      + element(0x00100010, "PN", b"M\xfcller^\xe9")),
    }


def rle_image(rows: int, columns: int) -> bytes:
    """A 16-bit one-frame RLE Lossless image whose one segment decodes to 128 bytes."""
    segment = b"\x81\0"  # PackBits: the next byte 128 times
    fragment = struct.pack("<16I", 1, 64, *[0] * 14) + segment
    pixel_data = (header(0x7FE00010, "OB", UNDEFINED, LE) + item(b"") + item(fragment)
                  + delimiter(SEQUENCE_DELIMITER))
    return b"".join([
        element(0x00280002, "US", 1),
        element(0x00280004, "CS", "MONOCHROME2"),
        element(0x00280008, "IS", "1"),
        element(0x00280010, "US", rows),
        element(0x00280011, "US", columns),
        element(0x00280100, "US", 16),
        element(0x00280101, "US", 16),
        element(0x00280102, "US", 15),
        element(0x00280103, "US", 0),
        pixel_data,
    ])


def regressions() -> Dict[str, bytes]:
    """Bugs found by fuzzing, each file named after its bug.

    A Specific Character Set whose value holds a NUL (a codec lookup raised ValueError) or
    whose VR is not text (US made the value an int and the charset code raised TypeError):
    both read with the default repertoire, with a warning. And 540 bytes of RLE whose Rows
    and Columns (65535 each) ask for an 8 GiB frame: the pixel code allocated the array from
    the attributes before looking at the data, so a tiny file raised MemoryError.
    """
    name = element(0x00100010, "PN", b"M\xfcller^Anna")
    return {
        "charset_value_with_nul.dcm": part10(
            EXPLICIT_LE, element(0x00080005, "CS", b"ISO_IR\x00100") + name),
        "charset_with_number_vr.dcm": part10(EXPLICIT_LE, element(0x00080005, "US", 100) + name),
        "pixel_dimensions_past_compressed_data.dcm": part10(RLE_LOSSLESS,
                                                            rle_image(0xFFFF, 0xFFFF)),
    }


def malformed_files() -> Dict[str, bytes]:
    files: Dict[str, bytes] = {}
    for group in (cut_short, bad_lengths, misplaced_delimiters, deep_nesting,
                  not_dicom_or_not_deflate, bad_values, regressions):
        files.update(group())
    return files


def write(folder: Path, files: Dict[str, bytes], log: Callable[[str], None]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.dcm"):
        if stale.name not in files:
            stale.unlink()
    for name, data in sorted(files.items()):
        (folder / name).write_bytes(data)
        log(f"{folder.name}/{name}: {len(data)} bytes")


def main() -> None:
    write(HERE / "valid", valid_files(), print)
    write(HERE / "malformed", malformed_files(), print)


if __name__ == "__main__":
    main()
