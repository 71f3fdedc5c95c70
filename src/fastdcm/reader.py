"""``fastdcm.read``: recognise the framing of a source (preamble, file meta, transfer syntax)
and hand the data set to the scanner, reading no more of a file than the caller needs."""
from __future__ import annotations

import os
import zlib
from typing import Iterable, Optional, Tuple, Union

from fastdcm import _scanner, _source
from fastdcm._source import Source, SourceLike, open_source
from fastdcm.dataset import Dataset, tag_of
from fastdcm.errors import InvalidDicomError
from fastdcm.uids import TransferSyntax
from fastdcm.uids import transfer_syntax as transfer_syntax_of

# pydicom's stop_before_pixels stops at the first of these: Float, Double Float, Pixel Data.
FIRST_PIXEL_TAG = 0x7FE00008
# A deflated data set may inflate to at most this many bytes (guards against deflate bombs);
# deflate's best ratio is about 1032:1, so this also bounds what a small input can allocate.
MAX_INFLATED_SIZE = 1 << 30
KNOWN_VRS = frozenset(
    "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL "
    "UN UR US UT UV".split())


def read(source: SourceLike, *, stop_before_pixels: bool = False,
         tags: Optional[Iterable[Union[int, Tuple[int, int], str]]] = None) -> Dataset:
    """Read a DICOM file or data set.

    Only element headers are walked; values are converted when asked for. With
    ``stop_before_pixels`` or ``tags`` (the top-level elements the caller needs), scanning
    stops as soon as nothing wanted can follow, and a file is read only that far.
    """
    stop_tag = 0xFFFFFFFF
    if tags is not None:
        wanted = [tag_of(t) for t in tags]
        # 0xFFFFFFFF, the scanner's "no stop", also covers a wanted (FFFF,FFFF)
        stop_tag = min(max(wanted) + 1, 0xFFFFFFFF) if wanted else 0x00080000
    if stop_before_pixels:
        stop_tag = min(stop_tag, FIRST_PIXEL_TAG)
    return _read_source(open_source(source, stop_tag != 0xFFFFFFFF), stop_tag)


def read_header(fd: int, path: str) -> Dataset:
    """``read(path, stop_before_pixels=True)`` of the file `path` open as `fd`, which is
    closed once its prefix is read: the bulk indexer opens each file once, for its size
    and time as well as its header, where a ``stat`` then an ``open`` walked its path
    twice."""
    try:
        src = _source.open_descriptor(fd, path, True)
    finally:
        os.close(fd)
    return _read_source(src, FIRST_PIXEL_TAG)


def _read_source(src: Source, stop_tag: int) -> Dataset:
    """The data set of `src` (closed on failure), the prefix grown as the scan needs."""
    try:
        while True:
            result, lacking_at = _try_read(src, stop_tag)
            if result is not None:
                return result
            src.load_more(lacking_at)  # the prefix ended inside something we need
    except BaseException:
        src.close()
        raise


def _meta_start(view: memoryview) -> Optional[int]:
    """Where group 0002 starts: after the preamble and DICM, at 0 for no preamble, or None."""
    if len(view) >= 132 and view[128:132] == b"DICM":
        return 132
    if len(view) >= 8 and view[0:2] == b"\x02\x00":
        return 0
    return None


def _looks_like_data_set(view: memoryview, start: int) -> bool:
    """A bare data set must start with a plausible element: a low group, in either byte order.

    Eight zero bytes are not one: that is a zero-filled file (or a preamble cut short), which
    would otherwise read as a run of empty (0000,0000) elements.
    """
    if len(view) - start < 8:
        return False
    b = view[start:start + 8]
    if not any(b):
        return False
    group_le = b[0] | (b[1] << 8)
    group_be = (b[0] << 8) | b[1]
    return min(group_le, group_be) <= 0x0010


def _try_read(src: Source, stop_tag: int) -> Tuple[Optional[Dataset], int]:
    """The data set, or None and where the scan ran out of bytes (0 when not known)."""
    view = src.view
    more = not src.complete
    meta_start = _meta_start(view)
    meta = None
    start = 0
    transfer_syntax = ""
    if meta_start is not None:
        table, status, start, _ = _scanner.scan(view, meta_start, len(view), True, False,
                                                more=more, stop_group=2)
        if status == _scanner.NEED_MORE:
            return None, 0
        meta = Dataset(src, table, True, False)
        transfer_syntax = _transfer_syntax(meta)
    if start >= len(view) and not more:
        # An empty source, or a file cut short after 'DICM' or the file meta: not a data set.
        if meta_start is None:
            raise InvalidDicomError("empty input", 0)
        raise InvalidDicomError("no data set after the file meta", start)
    if meta_start is None and not _looks_like_data_set(view, start):
        raise InvalidDicomError("not DICOM: no 'DICM' prefix and no data set at the start", 0)
    syntax = transfer_syntax_of(transfer_syntax)
    if syntax is not None and syntax.deflated:
        if more:
            return None, 0
        src = Source(memoryview(_inflate(view[start:], start)), True)
        view, start = src.view, 0
    little, implicit = _encoding_of(syntax, transfer_syntax, view, start)
    if syntax is None and transfer_syntax and not _starts_explicit(view, start):
        raise InvalidDicomError(f"unknown transfer syntax {transfer_syntax!r} and the data "
                                "set is not explicit VR little endian", start)
    table, status, stop_pos, implicit_used = _scanner.scan(
        view, start, len(view), little, implicit, more=more, total=src.size or 0,
        stop_tag=stop_tag)
    if status == _scanner.NEED_MORE:
        return None, stop_pos
    if status == _scanner.STOPPED and src.path is not None:
        _source.remember_header_size(stop_pos)
    elif src.path is not None and len(table):
        size = src.size or len(view)  # a prefix's file, or the whole file
        if size > _source.READ_WHOLE_LIMIT:
            last = table.row(len(table) - 1)
            _source.remember_whole_read(last[3], last[4], size)
    return Dataset(src, table, little, implicit_used, meta=meta,
                   transfer_syntax=transfer_syntax), 0


def _transfer_syntax(meta: Dataset) -> str:
    """(0002,0010) as a str ("" when absent or not text)."""
    try:
        uid = meta.TransferSyntaxUID
    except AttributeError:
        return ""
    return uid if isinstance(uid, str) else ""


def _encoding_of(syntax: Optional[TransferSyntax], transfer_syntax: str, view: memoryview,
                 start: int) -> Tuple[bool, bool]:
    """(little endian, implicit VR) for a transfer syntax (`syntax`, the known one named
    `transfer_syntax`); guessed as pydicom does without one.

    An unknown UID is read as explicit VR little endian, the encoding of every transfer
    syntax defined since 1993.
    """
    if syntax is not None:
        return syntax.little_endian, syntax.implicit_vr
    if transfer_syntax:
        return True, False
    if not _starts_explicit(view, start):
        return True, True
    return (view[start] | (view[start + 1] << 8)) < 1024, False


def _starts_explicit(view: memoryview, start: int) -> bool:
    """Whether the first element carries a VR (too few bytes for one count as explicit)."""
    if len(view) - start < 6:
        return True
    return bytes(view[start + 4:start + 6]).decode("latin-1") in KNOWN_VRS


def _inflate(compressed: memoryview, offset: int) -> bytes:
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        data = inflater.decompress(compressed, MAX_INFLATED_SIZE)
    except zlib.error as exc:
        raise InvalidDicomError(f"deflated data set does not inflate: {exc}", offset) from exc
    if inflater.unconsumed_tail or (len(data) >= MAX_INFLATED_SIZE and not inflater.eof):
        raise InvalidDicomError(
            f"deflated data set inflates past {MAX_INFLATED_SIZE} bytes", offset)
    if not inflater.eof:
        raise InvalidDicomError("deflated data set is cut short", offset)
    return data
