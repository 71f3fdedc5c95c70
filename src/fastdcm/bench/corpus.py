"""A small, realistic corpus for ``fastdcm bench`` when the user names no folder.

The files are written byte by byte (explicit VR little endian, Part 10) rather than with
pydicom, so that the command works on an install with no other DICOM library and so that
the corpus does not depend on the reader it is used to judge. What it holds mirrors what
archives are made of: a CT series (one slice per file, 12 bits stored, rescaled to HU), an
Enhanced CT (one file, per-frame functional groups), an RLE Lossless multi-frame file and,
when imagecodecs is installed, one multi-frame file per JPEG-family syntax it can encode
(fastdcm.bench.encoders). Frames are soft ellipses plus noise from fixed seeds, so codecs
see realistic entropy and runs are repeatable.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple, Union

import numpy as np

from fastdcm.bench import encoders

EXPLICIT_LE = "1.2.840.10008.1.2.1"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
MULTIFRAME_BYTE_SC = "1.2.840.10008.5.1.4.1.1.7.2"
MULTIFRAME_WORD_SC = "1.2.840.10008.5.1.4.1.1.7.3"
# Bump when the files written change: a cached copy (benchmarks/test_bench_product.py) is
# then generated anew.
VERSION = 2
UID_ROOT = "1.2.826.0.1.3680043.10.1190"  # fastdcm's demo root, never a real patient's
LONG_LENGTH_VRS = frozenset(("OB", "OW", "OF", "SQ", "UT", "UN"))
UNDEFINED = 0xFFFFFFFF

Value = Union[str, int, float, bytes, Sequence[float]]
Element = Tuple[int, str, bytes]


def _encode(vr: str, value: Value) -> bytes:
    """The value field of one element, padded to even length as the standard asks."""
    if vr in ("US", "UL"):
        data = struct.pack("<H" if vr == "US" else "<I", value)
    elif isinstance(value, bytes):
        data = value
    else:
        items = value if isinstance(value, (list, tuple)) else [value]
        data = "\\".join(str(v) for v in items).encode("ascii")
    if len(data) % 2:
        data += b"\0" if vr in ("UI", "OB") else b" "
    return data


def element(tag: int, vr: str, value: Value) -> Element:
    return tag, vr, _encode(vr, value)


def _header(tag: int, vr: str, length: int) -> bytes:
    head = struct.pack("<HH2s", tag >> 16, tag & 0xFFFF, vr.encode("ascii"))
    if vr in LONG_LENGTH_VRS:
        return head + struct.pack("<HI", 0, length)
    return head + struct.pack("<H", length)


def data_set(elements: Iterable[Element]) -> bytes:
    return b"".join(_header(tag, vr, len(data)) + data for tag, vr, data in sorted(elements))


def sequence(tag: int, items: Iterable[Iterable[Element]]) -> Element:
    """A sequence of defined length: items are (FFFE,E000) + length + data set."""
    body = b"".join(struct.pack("<HHI", 0xFFFE, 0xE000, len(b)) + b
                    for b in (data_set(item) for item in items))
    return tag, "SQ", body


def part10(sop_class: str, sop_instance: str, syntax: str, body: bytes) -> bytes:
    meta = data_set([element(0x00020001, "OB", b"\0\1"), element(0x00020002, "UI", sop_class),
                     element(0x00020003, "UI", sop_instance), element(0x00020010, "UI", syntax),
                     element(0x00020012, "UI", UID_ROOT + ".1")])
    group_length = data_set([element(0x00020000, "UL", len(meta))])
    return b"\0" * 128 + b"DICM" + group_length + meta + body


def anatomy(seed: int, size: int, frames: int) -> np.ndarray:
    """``frames`` frames of 12-bit CT-like pixels (uint16): a body with organs, plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    out = np.empty((frames, size, size), np.uint16)
    shapes = rng.uniform((-0.2, -0.2, 0.05, 0.05, 150), (0.2, 0.2, 0.35, 0.35, 900), (6, 5))
    for index in range(frames):
        img = np.full((size, size), 24.0, np.float32)
        for cy, cx, ry, rx, level in shapes:
            img += level * (((y - cy - index / 400) / ry) ** 2 + ((x - cx) / rx) ** 2 < 1)
        img += rng.normal(0, 20, img.shape)
        out[index] = np.clip(img, 0, 4095)
    return out


def _image_elements(uid: str, sop_class: str, size: int, frames: int,
                    bits: int = 12) -> List[Element]:
    elements = [
        element(0x00080016, "UI", sop_class), element(0x00080018, "UI", uid),
        element(0x00080020, "DA", "20240102"), element(0x00080060, "CS", "CT"),
        element(0x00100010, "PN", "Bench^Corpus"), element(0x00100020, "LO", "BENCH01"),
        element(0x0020000D, "UI", UID_ROOT + ".2"), element(0x0020000E, "UI", uid + ".0"),
        element(0x00280002, "US", 1), element(0x00280004, "CS", "MONOCHROME2"),
        element(0x00280010, "US", size), element(0x00280011, "US", size),
        element(0x00280100, "US", 8 if bits <= 8 else 16), element(0x00280101, "US", bits),
        element(0x00280102, "US", bits - 1), element(0x00280103, "US", 0),
        element(0x00281052, "DS", "-1024"), element(0x00281053, "DS", "1"),
    ]
    if frames > 1:
        elements.append(element(0x00280008, "IS", str(frames)))
    return elements


def ct_slice(index: int, size: int) -> bytes:
    uid = f"{UID_ROOT}.3.{index + 1}"
    elements = _image_elements(uid, CT_IMAGE, size, 1) + [
        element(0x0020000E, "UI", UID_ROOT + ".3"),
        element(0x00200013, "IS", str(index + 1)),
        element(0x00200032, "DS", ["-125.0", "-125.0", f"{-2.5 * index:.1f}"]),
        element(0x00200037, "DS", ["1", "0", "0", "0", "1", "0"]),
        element(0x00280030, "DS", ["0.48828125", "0.48828125"]),
        element(0x7FE00010, "OW", anatomy(index, size, 1).tobytes()),
    ]
    return part10(CT_IMAGE, uid, EXPLICIT_LE, data_set(_unique(elements)))


def _unique(elements: List[Element]) -> List[Element]:
    """The last of several elements with one tag wins (a slice overrides the series UID)."""
    return list({tag: (tag, vr, data) for tag, vr, data in elements}.values())


def enhanced_ct(size: int, frames: int) -> bytes:
    uid = f"{UID_ROOT}.4"
    per_frame = [[sequence(0x00209113, [[element(0x00200032, "DS",
                                                 ["-125.0", "-125.0", f"{-1.25 * i:.2f}"])]])]
                 for i in range(frames)]
    shared = [[sequence(0x00289110, [[element(0x00280030, "DS", ["0.5", "0.5"]),
                                      element(0x00180050, "DS", "1.25")]]),
               sequence(0x00209116, [[element(0x00200037, "DS", ["1", "0", "0", "0", "1", "0"])]]),
               sequence(0x00289145, [[element(0x00281052, "DS", "-1024"),
                                      element(0x00281053, "DS", "1"),
                                      element(0x00281054, "LO", "HU")]])]]
    elements = _image_elements(uid, ENHANCED_CT, size, frames) + [
        sequence(0x52009229, shared), sequence(0x52009230, per_frame),
        element(0x7FE00010, "OW", anatomy(100, size, frames).tobytes()),
    ]
    return part10(ENHANCED_CT, uid, EXPLICIT_LE, data_set(elements))


def _literal(out: bytearray, data: np.ndarray) -> None:
    for start in range(0, len(data), 128):
        chunk = data[start:start + 128]
        out.append(len(chunk) - 1)
        out += chunk.tobytes()


def packbits(row: np.ndarray) -> bytes:
    """DICOM RLE (PS3.5 Annex G) of one row of one segment: runs of 2 or more equal bytes
    are replicate packets, the rest literal packets, at most 128 bytes each. Runs are found
    with numpy, so Python loops once per packet, not once per byte."""
    out = bytearray()
    breaks = np.flatnonzero(np.diff(row)) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(row)]))
    runs = (ends - starts) >= 2
    done = 0
    for start, end in zip(starts[runs].tolist(), ends[runs].tolist()):
        _literal(out, row[done:start])
        while end - start >= 2:
            count = min(128, end - start)
            out += bytes((257 - count, row[start]))
            start += count
        done = start  # a lone last byte of the run goes with the next literal
    _literal(out, row[done:])
    return bytes(out)


def rle_frame(frame: np.ndarray) -> bytes:
    """One 16-bit frame: two segments (high bytes, then low bytes), each row by row."""
    planes = frame.astype("<u2").view(np.uint8).reshape(frame.shape + (2,))
    segments = [b"".join(packbits(row) for row in planes[..., byte])
                for byte in (1, 0)]
    header = struct.pack("<16I", 2, 64, 64 + len(segments[0]), *([0] * 13))
    return header + b"".join(segments)


def _item(data: bytes) -> bytes:
    return struct.pack("<HHI", 0xFFFE, 0xE000, len(data)) + data


def _encapsulated(fragments: Sequence[bytes]) -> bytes:
    """Pixel Data of undefined length: the Basic Offset Table, then a fragment per frame.
    The table is filled in, as most writers do (dicomsdl 0.109 aborts on multi-frame files
    whose table is empty, which the standard allows)."""
    items = [_item(f + b"\0" * (len(f) % 2)) for f in fragments]
    offsets = np.cumsum([0] + [len(i) for i in items[:-1]], dtype=np.uint32)
    return (_header(0x7FE00010, "OB", UNDEFINED) + _item(offsets.astype("<u4").tobytes())
            + b"".join(items) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))


def rle_multiframe(size: int, frames: int) -> bytes:
    uid = f"{UID_ROOT}.5"
    pixel_data = _encapsulated([rle_frame(f) for f in anatomy(200, size, frames)])
    body = data_set(_image_elements(uid, MULTIFRAME_WORD_SC, size, frames)) + pixel_data
    return part10(MULTIFRAME_WORD_SC, uid, RLE_LOSSLESS, body)


def jpeg_multiframe(kind: str, size: int, frames: int) -> bytes:
    """A multi-frame file of ``kind`` (fastdcm.bench.encoders.KINDS): 12-bit monochrome
    frames, or 8-bit for JPEG baseline, whose frames are lossy."""
    spec = encoders.KINDS[kind]
    uid = f"{UID_ROOT}.6.{list(encoders.KINDS).index(kind) + 1}"
    pixels = anatomy(300, size, frames)
    if spec.bits <= 8:
        pixels = (pixels >> (12 - spec.bits)).astype(np.uint8)
    sop_class = MULTIFRAME_BYTE_SC if spec.bits <= 8 else MULTIFRAME_WORD_SC
    body = (data_set(_image_elements(uid, sop_class, size, frames, spec.bits))
            + _encapsulated([encoders.encode(kind, f) for f in pixels]))
    return part10(sop_class, uid, spec.syntax, body)


def generate(folder: Path, *, slices: int = 20, size: int = 512, frames: int = 40,
             jpeg_frames: int = 10) -> List[Path]:
    """Write the corpus into ``folder``; return the paths written.

    Defaults give a CT series of 20 slices of 512 x 512 (10 MB), an Enhanced CT and an RLE
    file of 40 frames each, and a file of 10 frames per JPEG-family kind that imagecodecs
    can encode (fewer frames: JPEG 2000 decodes ten times slower than RLE, and readers
    without frame access decode the whole file for one frame): seconds to make, enough for
    stable medians.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"ct/slice{i:03d}.dcm": ct_slice(i, size) for i in range(slices)}
    files["enhanced_ct.dcm"] = enhanced_ct(size, frames)
    files["rle_multiframe.dcm"] = rle_multiframe(size, frames)
    for kind in encoders.available():
        files[f"{kind}.dcm"] = jpeg_multiframe(kind, size, jpeg_frames)
    paths = []
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths
