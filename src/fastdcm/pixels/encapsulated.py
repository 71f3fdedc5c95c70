"""Encapsulated pixel data (PS3.5 A.4): fragments, and which fragments make each frame.

The fragments are found by the scanner (``scan_items`` over the Pixel Data value). Frames are
then located, as pydicom does, by the Extended Offset Table (7FE0,0001)/(7FE0,0002) when
present, else by the Basic Offset Table, else one fragment per frame when the counts agree,
all fragments for a single frame, or JPEG end-of-image markers (FF D9 in the last 10 bytes
of a fragment) when there are more fragments than frames. Every offset is checked against
the fragments before use: a table pointing anywhere else is a DecodeError naming the frame.

A frame is a tuple of (start, end) source spans, one per fragment: a one-fragment frame is
handed to the decoder as a view of the file, several are joined.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import List, Optional, Sequence, Tuple

import numpy as np

from fastdcm import _scanner
from fastdcm.errors import DecodeError
from fastdcm.pixels.description import PixelDescription

Span = Tuple[int, int]
Frame = Tuple[Span, ...]

EXTENDED_OFFSET_TABLE = 0x7FE00001
EXTENDED_OFFSET_TABLE_LENGTHS = 0x7FE00002
EOI = b"\xff\xd9"


def locate_frames(view: memoryview, desc: PixelDescription,
                  extended: Optional[Tuple[bytes, bytes]]) -> List[Frame]:
    """The fragments of every frame; `extended` is the raw Extended Offset Table and its
    lengths when the data set has both."""
    items = _scanner.scan_items(view, desc.offset, desc.end, desc.little_endian, True)
    if not items:
        raise DecodeError("encapsulated pixel data without a Basic Offset Table item",
                          desc.offset, desc.tag)
    for start, _, _ in items:
        if int.from_bytes(view[start - 4:start], "little") == 0xFFFFFFFF:
            raise DecodeError("pixel data fragment of undefined length", start - 8, desc.tag)
    bot_start, bot_end, _ = items[0]
    fragments = [(start, end) for start, end, _ in items[1:]]
    base = bot_end  # offsets in both tables count from the first fragment's item tag
    if extended is not None and len(extended[0]) // 8 == len(extended[1]) // 8:
        return _by_extended_table(desc, fragments, base, extended)
    if (bot_end - bot_start) % 4:
        raise DecodeError("Basic Offset Table length is not a multiple of 4", bot_start,
                          desc.tag)
    if bot_end > bot_start:
        offsets = np.frombuffer(view[bot_start:bot_end], "<u4").tolist()
        return _by_basic_table(desc, fragments, base, offsets)
    return _without_table(view, desc, fragments)


def frame_bytes(view: memoryview, frame: Frame) -> memoryview:
    """The encoded frame: a view of the source for one fragment, else the fragments joined."""
    if len(frame) == 1:
        start, end = frame[0]
        return view[start:end]
    return memoryview(b"".join(view[start:end] for start, end in frame))


def _by_extended_table(desc: PixelDescription, fragments: Sequence[Span], base: int,
                       extended: Tuple[bytes, bytes]) -> List[Frame]:
    offsets = np.frombuffer(extended[0], "<u8", len(extended[0]) // 8).tolist()
    lengths = np.frombuffer(extended[1], "<u8", len(extended[1]) // 8).tolist()
    frames = []
    for index, (offset, length) in enumerate(zip(offsets, lengths)):
        start = base + offset + 8
        if start + length > desc.end:
            raise DecodeError(f"Extended Offset Table entry ({offset}, {length}) points past "
                              "the pixel data", desc.offset, desc.tag, frame=index)
        frames.append(((start, start + length),))
    return frames


def _by_basic_table(desc: PixelDescription, fragments: Sequence[Span], base: int,
                    offsets: List[int]) -> List[Frame]:
    """Frame i is the fragments whose item starts at or after entry i and before entry i + 1
    (as pydicom groups them for pixel_array, so an entry pointing inside a fragment starts
    the frame at the next one); an entry past the fragments, or one that leaves a frame with
    no fragment, is an error."""
    headers = [start - 8 - base for start, _ in fragments]  # item tag offsets, as the table
    total = fragments[-1][1] - base if fragments else 0
    firsts = [0]
    for index, offset in enumerate(offsets):
        if offset >= total:
            raise DecodeError(f"Basic Offset Table entry {offset} points past the fragments "
                              f"({total} bytes)", desc.offset, desc.tag, frame=index)
        if index:
            position = bisect_left(headers, offset)
            if position <= firsts[-1]:
                raise DecodeError(f"Basic Offset Table entry {offset} leaves frame "
                                  f"{index - 1} without a fragment", desc.offset, desc.tag,
                                  frame=index)
            firsts.append(position)
    firsts.append(len(fragments))
    return [tuple(fragments[firsts[i]:firsts[i + 1]]) for i in range(len(offsets))]


def _without_table(view: memoryview, desc: PixelDescription,
                   fragments: Sequence[Span]) -> List[Frame]:
    count = len(fragments)
    if count == 0:
        raise DecodeError("encapsulated pixel data without fragments", desc.offset, desc.tag,
                          frame=0)
    if count == 1 or count == desc.frames:
        return [(fragment,) for fragment in fragments]
    if desc.frames == 1:
        return [tuple(fragments)]
    if count < desc.frames:
        raise DecodeError(f"{count} fragments cannot hold {desc.frames} frames",
                          desc.offset, desc.tag, frame=count)
    frames: List[Frame] = []
    current: List[Span] = []
    for start, end in fragments:
        current.append((start, end))
        if EOI in bytes(view[max(start, end - 10):end]):
            frames.append(tuple(current))
            current = []
    if current:
        frames.append(tuple(current))
    return frames
