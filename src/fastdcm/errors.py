"""The one exception type that malformed input may raise, so callers catch exactly one thing."""
from __future__ import annotations

from typing import Optional


class InvalidDicomError(ValueError):
    """Malformed or unsupported DICOM input.

    ``offset`` is the byte offset in the source where reading failed and ``tag`` the element
    being read there (``None`` when no element was involved, e.g. a bad preamble), so that a
    bulk indexer can log something a person can act on.
    """

    def __init__(self, message: str, offset: Optional[int] = None, tag: Optional[int] = None):
        self.offset = offset
        self.tag = tag
        where = []
        if offset is not None:
            where.append(f"offset {offset}")
        if tag is not None:
            where.append(f"tag ({tag >> 16:04X},{tag & 0xFFFF:04X})")
        super().__init__(f"{message} [{', '.join(where)}]" if where else message)


class DecodeError(InvalidDicomError):
    """Pixel data that cannot be turned into an array: inconsistent image attributes, a
    pixel data length that does not fit them, offset tables or RLE headers pointing outside
    the data, or a codec that fails. ``frame`` is the frame index when one frame was at fault.
    """

    def __init__(self, message: str, offset: Optional[int] = None, tag: Optional[int] = None,
                 frame: Optional[int] = None):
        self.frame = frame
        if frame is not None:
            message = f"frame {frame}: {message}"
        super().__init__(message, offset, tag)
