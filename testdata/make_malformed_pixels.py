"""Write the pixel data test files under ``testdata/malformed_pixels``.

Each file is a small explicit VR little endian Part 10 file made here with ``struct``, so the
one defect it carries sits at a known spot. Names say what a file pins down:

* ``bad_*``: damage fastdcm must report as ``fastdcm.DecodeError`` (naming the frame when one
  frame is at fault) rather than crash, read outside the data or return garbage: pixel data
  too short, impossible Image Pixel attributes, Basic/Extended Offset Tables pointing outside
  the fragments, RLE headers whose segments are out of range, codestreams that do not decode.
  Among them, image attributes that ask for far more memory than the data could fill
  (``*_huge``, ``bad_jpeg_frames_without_header``, ``bad_j2k_components``): Rows and Columns
  of 65535 or Number of Frames of 2**31 - 1 over a few bytes, codestreams that do not state
  the size the data set gives. fastdcm must refuse them before allocating the array.
* ``tolerated_*``: damage pydicom accepts (a missing pad byte, trailing padding, whole extra
  frames, RLE segments longer than the frame): fastdcm gives the same array as pydicom.

``tests/test_pixels.py`` holds what each file must give. Standard library only; the output is
the same on every run.

    python testdata/make_malformed_pixels.py
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
OUT = HERE / "malformed_pixels"

EXPLICIT_LE = "1.2.840.10008.1.2.1"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_2000 = "1.2.840.10008.1.2.4.91"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
UID_ROOT = "2.25.16180339887498948482045868343656"
LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UN", "UT"}
ITEM = 0xFFFEE000
SEQUENCE_DELIMITER = 0xFFFEE0DD


def element(tag: int, vr: str, value: bytes) -> bytes:
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    if vr in LONG_VRS:
        return head + struct.pack("<HI", 0, len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def text(value: str, pad: bytes = b" ") -> bytes:
    raw = value.encode()
    return raw + pad if len(raw) % 2 else raw


def us(value: int) -> bytes:
    return struct.pack("<H", value)


def item(value: bytes) -> bytes:
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(value)) + value


def encapsulated(fragments: Sequence[bytes], offsets: Sequence[int] = (),
                 bot_raw: Optional[bytes] = None) -> bytes:
    """Pixel Data of undefined length: a Basic Offset Table item, fragments, delimiter."""
    bot = bot_raw if bot_raw is not None else b"".join(struct.pack("<I", o) for o in offsets)
    body = item(bot) + b"".join(item(f) for f in fragments)
    head = struct.pack("<HH", 0x7FE0, 0x0010) + b"OB" + struct.pack("<HI", 0, 0xFFFFFFFF)
    return head + body + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def part10(name: str, syntax: str, attributes: Dict[int, Tuple[str, bytes]],
           pixel_element: bytes) -> bytes:
    instance = f"{UID_ROOT}.{sum(name.encode())}.{len(name)}"
    meta_body = (element(0x00020001, "OB", b"\x00\x01")
                 + element(0x00020002, "UI", text(SECONDARY_CAPTURE, b"\x00"))
                 + element(0x00020003, "UI", text(instance, b"\x00"))
                 + element(0x00020010, "UI", text(syntax, b"\x00")))
    meta = element(0x00020000, "UL", struct.pack("<I", len(meta_body))) + meta_body
    data = element(0x00080016, "UI", text(SECONDARY_CAPTURE, b"\x00"))
    data += element(0x00080018, "UI", text(instance, b"\x00"))
    for tag in sorted(attributes):
        vr, value = attributes[tag]
        data += element(tag, vr, value)
    return b"\x00" * 128 + b"DICM" + meta + data + pixel_element


def image(rows: int, columns: int, bits: int = 16, frames: Optional[int] = None,
          samples: int = 1, stored: Optional[int] = None, signed: bool = False,
          photometric: str = "MONOCHROME2") -> Dict[int, Tuple[str, bytes]]:
    attributes = {
        0x00280002: ("US", us(samples)),
        0x00280004: ("CS", text(photometric)),
        0x00280010: ("US", us(rows)),
        0x00280011: ("US", us(columns)),
        0x00280100: ("US", us(bits)),
        0x00280101: ("US", us(stored if stored is not None else bits)),
        0x00280102: ("US", us((stored if stored is not None else bits) - 1)),
        0x00280103: ("US", us(1 if signed else 0)),
    }
    if samples == 3:
        attributes[0x00280006] = ("US", us(0))
    if frames is not None:
        attributes[0x00280008] = ("IS", text(str(frames)))
    return attributes


def ramp(count: int, width: int, start: int = 0) -> bytes:
    """`count` little-endian samples of `width` bytes: start, start + 1, ..."""
    fmt = {1: "B", 2: "H"}[width]
    mask = (1 << (8 * width)) - 1
    return b"".join(struct.pack("<" + fmt, (start + i) & mask) for i in range(count))


def packbits(data: bytes) -> bytes:
    """PackBits: runs of 3+ equal bytes as replicate runs, the rest as literal runs."""
    out = bytearray()
    i = 0
    while i < len(data):
        run = 1
        while i + run < len(data) and run < 128 and data[i + run] == data[i]:
            run += 1
        if run >= 3:
            out += bytes([257 - run, data[i]])
            i += run
            continue
        start = i
        while i < len(data) and i - start < 128 and not (
                i + 2 < len(data) and data[i] == data[i + 1] == data[i + 2]):
            i += 1
        out += bytes([i - start - 1]) + data[start:i]
    return bytes(out)


def rle_frame(samples16: Sequence[int], header_offsets: Optional[List[int]] = None,
              count: Optional[int] = None, extra: bytes = b"") -> bytes:
    """An RLE frame of 16-bit samples: high-byte segment, then low-byte segment."""
    high = packbits(bytes((s >> 8) & 0xFF for s in samples16) + extra)
    low = packbits(bytes(s & 0xFF for s in samples16) + extra)
    offsets = header_offsets if header_offsets is not None else [64, 64 + len(high)]
    header = struct.pack("<I", 2 if count is None else count)
    header += b"".join(struct.pack("<I", o) for o in offsets)
    header += b"\x00" * (64 - len(header))
    return header + high + low


def jpeg_header(rows: int, columns: int, components: int = 1) -> bytes:
    """A JPEG baseline codestream cut to its frame header: SOI, SOF0, EOI."""
    sof = struct.pack(">BHHB", 8, rows, columns, components)
    sof += b"".join(bytes([i + 1, 0x11, 0]) for i in range(components))
    return b"\xff\xd8\xff\xc0" + struct.pack(">H", 2 + len(sof)) + sof + b"\xff\xd9"


def j2k_header(rows: int, columns: int, components: int = 1) -> bytes:
    """A JPEG 2000 codestream cut to its SIZ marker segment (8-bit unsigned components,
    one tile), then EOC."""
    siz = struct.pack(">HIIIIIIIIH", 0, columns, rows, 0, 0, columns, rows, 0, 0, components)
    siz += bytes([7, 1, 1]) * components
    return b"\xff\x4f\xff\x51" + struct.pack(">H", 2 + len(siz)) + siz + b"\xff\xd9"


def native(name: str, attributes: Dict[int, Tuple[str, bytes]], pixels: bytes,
           vr: str = "OW") -> bytes:
    return part10(name, EXPLICIT_LE, attributes, element(0x7FE00010, vr, pixels))


def files() -> Dict[str, bytes]:
    """Every file by name."""
    out: Dict[str, bytes] = {}
    frame16 = ramp(16, 2)  # one 4 x 4 16-bit frame
    rle_ok = rle_frame(list(range(16)))

    # -- native ----------------------------------------------------------------------------
    out["bad_native_too_short.dcm"] = native(
        "short", image(4, 4, frames=3), ramp(40, 2))  # 2.5 of 3 frames
    out["bad_bits_allocated_12.dcm"] = native("ba12", image(4, 4, bits=12), frame16)
    out["bad_bits_stored_over_allocated.dcm"] = native(
        "bs17", image(4, 4, stored=17), frame16)
    out["bad_samples_per_pixel_2.dcm"] = native("spp2", image(4, 4, samples=2), frame16 * 2)
    out["bad_photometric_unknown.dcm"] = native(
        "pi", image(4, 4, photometric="GREEN"), frame16)
    out["bad_rows_missing.dcm"] = native(
        "rows", {k: v for k, v in image(4, 4).items() if k != 0x00280010}, frame16)
    out["tolerated_native_odd_no_pad.dcm"] = native(
        "odd", image(3, 3, bits=8), ramp(9, 1), vr="OB")
    out["tolerated_native_trailing_padding.dcm"] = native(
        "padding", image(4, 4, frames=2), ramp(32, 2) + b"\x00" * 6)
    out["tolerated_native_excess_frame.dcm"] = native(
        "excess", image(4, 4, frames=2), ramp(48, 2))

    # -- encapsulated: tables --------------------------------------------------------------
    two_rle = image(4, 4, frames=2)
    fragment_size = 8 + len(rle_ok)
    out["bad_bot_past_fragments.dcm"] = part10(
        "botpast", RLE_LOSSLESS, two_rle, encapsulated([rle_ok, rle_ok], [0, 10 * fragment_size]))
    out["tolerated_bot_inside_fragment.dcm"] = part10(
        "botinside", RLE_LOSSLESS, two_rle, encapsulated([rle_ok, rle_ok], [0, 12]))
    out["bad_bot_not_increasing.dcm"] = part10(
        "botorder", RLE_LOSSLESS, two_rle,
        encapsulated([rle_ok, rle_ok], [fragment_size, 0]))
    out["bad_bot_length_not_multiple_of_4.dcm"] = part10(
        "botlen", RLE_LOSSLESS, two_rle, encapsulated([rle_ok, rle_ok], bot_raw=b"\x00" * 6))
    eot = dict(two_rle)
    eot[0x7FE00001] = ("OV", struct.pack("<QQ", 0, 1000))
    eot[0x7FE00002] = ("OV", struct.pack("<QQ", len(rle_ok), len(rle_ok)))
    out["bad_eot_past_end.dcm"] = part10(
        "eotpast", RLE_LOSSLESS, eot, encapsulated([rle_ok, rle_ok]))
    out["bad_fewer_fragments_than_frames.dcm"] = part10(
        "fewer", RLE_LOSSLESS, image(4, 4, frames=3), encapsulated([rle_ok, rle_ok]))
    out["bad_no_fragments.dcm"] = part10("nofrag", RLE_LOSSLESS, image(4, 4), encapsulated([]))

    # -- RLE: the second of two frames is damaged ------------------------------------------
    def rle_file(name: str, damaged: bytes) -> bytes:
        return part10(name, RLE_LOSSLESS, two_rle, encapsulated([rle_ok, damaged]))

    high_len = len(packbits(bytes(16)))
    out["bad_rle_segment_offset_past_frame.dcm"] = rle_file(
        "rlepast", rle_frame(list(range(16)), header_offsets=[64, 5000]))
    out["bad_rle_segment_offset_in_header.dcm"] = rle_file(
        "rlehead", rle_frame(list(range(16)), header_offsets=[8, 64 + high_len]))
    out["bad_rle_segment_offsets_decreasing.dcm"] = rle_file(
        "rleorder", rle_frame(list(range(16)), header_offsets=[64 + high_len, 64]))
    out["bad_rle_segment_count.dcm"] = rle_file(
        "rlecount", rle_frame(list(range(16)), count=3,
                              header_offsets=[64, 64 + high_len, 64 + high_len]))
    out["bad_rle_huge_segment_count.dcm"] = rle_file(
        "rlehuge", rle_frame(list(range(16)), count=0xFFFFFFFF))
    out["bad_rle_segment_short.dcm"] = rle_file(
        "rleshort", rle_frame(list(range(10))))  # 10 of 16 samples
    out["bad_rle_header_cut_short.dcm"] = rle_file("rlecut", rle_ok[:20])
    out["tolerated_rle_segment_padding.dcm"] = rle_file(
        "rlepad", rle_frame(list(range(16)), extra=b"\x07" * 5))

    # -- codestreams that do not decode (need the jpeg extra to reach the codec) -----------
    out["bad_jpeg_garbage.dcm"] = part10(
        "jpeg", JPEG_BASELINE, image(4, 4, bits=8, frames=2),
        encapsulated([b"\xff\xd8\xff\xdb" + bytes(range(60)) + b"\xff\xd9",
                      b"\xff\xd8\xff\xc0\x00\x0b\x08\x00\x04\x00\x04\x01\x01\x11\x00"
                      b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x55" * 30 + b"\xff\xd9"]))
    out["bad_j2k_garbage.dcm"] = part10(
        "j2k", JPEG_2000, image(4, 4, frames=1),
        encapsulated([b"\xff\x4f\xff\x51\x00\x29" + bytes(range(40)) + b"\xff\xd9"]))

    # -- attributes asking for far more memory than the data can fill ---------------------
    out["bad_native_rows_columns_huge.dcm"] = native(
        "nativehuge", image(0xFFFF, 0xFFFF, frames=2), ramp(32, 2))  # 16 GiB from 32 bytes
    out["bad_rle_rows_columns_huge.dcm"] = part10(  # 16 GiB from two 4 x 4 RLE frames
        "rlehuge2", RLE_LOSSLESS, image(0xFFFF, 0xFFFF, frames=2),
        encapsulated([rle_ok, rle_ok]))
    out["bad_rle_number_of_frames_huge.dcm"] = part10(  # 64 GiB: 2**31 - 1 frames of 4 x 4
        "rleframes", RLE_LOSSLESS, image(4, 4, frames=0x7FFFFFFF),
        encapsulated([rle_ok, rle_ok], [0, fragment_size]))
    out["bad_jpeg_rows_columns_huge.dcm"] = part10(  # 8 GiB: the codestreams say 4 x 4
        "jpeghuge", JPEG_BASELINE, image(0xFFFF, 0xFFFF, bits=8, frames=2),
        encapsulated([jpeg_header(4, 4), jpeg_header(4, 4)]))
    # 1000 frames of 16384 x 16384 (250 GiB): the first codestream says so, the other 999
    # fragments hold no frame header at all.
    out["bad_jpeg_frames_without_header.dcm"] = part10(
        "jpegframes", JPEG_BASELINE, image(16384, 16384, bits=8, frames=1000),
        encapsulated([jpeg_header(16384, 16384)] + [b"\xff\xd8\xff\xd9"] * 999))
    # 16384 x 16384 as the data set says, but 3 components where it has 1 sample: the
    # library would allocate three times the frame (and SIZ allows 16384 components).
    out["bad_j2k_components.dcm"] = part10(
        "j2kcomp", JPEG_2000, image(16384, 16384, bits=8),
        encapsulated([j2k_header(16384, 16384, 3)]))
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, data in files().items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(files())} files to {OUT}")


if __name__ == "__main__":
    main()
