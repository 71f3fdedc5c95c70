"""Reading a chunk of files into one Arrow record batch: the work of one bulk worker.

Each file is read header-only (the pixel data is never read), its values go straight into
the chunk's column builders (see _bulk_builders), which become Arrow arrays once per
chunk, its own columns (path, size, locators) into lists. Whatever goes wrong
with a file (not DICOM, cut short, unreadable, a value that does not convert) becomes its
``error`` text: a row is always written, and the run never stops for a file.

Pixel locators come from the header read too: the scan stopped at the pixel element's
tag, whose 8 or 12 header bytes are already in memory (see _bulk_values.pixel_header),
so its value offset and length cost nothing more. Only encapsulated data (undefined
length) needs the file mapped, to find its fragments and offset table the way
fastdcm.pixels does.
"""
from __future__ import annotations

import gc
import json
import warnings
from collections import deque
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import pyarrow as pa

from fastdcm import json_model
from fastdcm._bulk_builders import ColumnBuilder
from fastdcm._bulk_columns import TagColumn, schema, to_array
from fastdcm._bulk_values import append_values, file_version, open_version, pixel_header
from fastdcm.errors import DecodeError, InvalidDicomError
from fastdcm.reader import read, read_header
from fastdcm.uids import TRANSFER_SYNTAXES

UNDEFINED_LENGTH = 0xFFFFFFFF
PIXEL_TAGS = (0x7FE00008, 0x7FE00009, 0x7FE00010)  # Float, Double Float, Pixel Data
EXTENDED_OFFSET_TABLE = (0x7FE00001, 0x7FE00002)
# Read with the values of the wanted tags, into these columns (SOP Class UID, then the
# attributes of the pixel locators); the other columns describe the file.
FILE_TAGS = (0x00080016, 0x00280010, 0x00280011, 0x00280008, 0x00280100)
VALUE_COLUMNS = ("sop_class_uid", "rows", "columns", "number_of_frames", "bits_allocated")
ROW_COLUMNS = ("path", "size", "mtime", "error", "is_dicomdir", "transfer_syntax_uid",
               "pixel_offset", "pixel_length", "frame_offsets", "frame_lengths")
MEDIA_STORAGE_SOP_CLASS_UID = 0x00020002
DIRECTORY_RECORD_SEQUENCE = 0x00041220
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
DEFLATED_SYNTAXES = frozenset(uid for uid, syntax in TRANSFER_SYNTAXES.items()
                              if syntax.deflated)


class Plan:
    """What to extract from every file: the tag columns and whether to keep all of them
    as DICOM JSON. Sent once to each worker process (and to Spark executors)."""

    def __init__(self, columns: Sequence[TagColumn], all_tags: bool = False):
        self.columns = tuple(columns)
        self.all_tags = all_tags
        self.schema = schema(self.columns, all_tags)
        self.json_indexes = tuple(i for i, c in enumerate(self.columns) if c.kind == "json")
        self.value_indexes = tuple(i for i, c in enumerate(self.columns) if c.kind != "json")
        self.value_tags = FILE_TAGS + tuple(self.columns[i].tag for i in self.value_indexes)


class _Rows:
    """The columns of one chunk; every file adds exactly one value to each.

    The values of the wanted tags go into builders (see _bulk_builders) by
    ``append_values``; the JSON columns are lists, appended as they are made; ``add``
    then appends the file's own columns, in ROW_COLUMNS order (and ``dicom_json`` last).
    """

    def __init__(self, plan: Plan):
        self.plan = plan
        built = set(VALUE_COLUMNS).union(c.name for c in plan.columns if c.kind != "json")
        self.columns: Dict[str, Any] = {
            field.name: ColumnBuilder(field.type) if field.name in built else []
            for field in plan.schema}
        tag_columns = [self.columns[c.name] for c in plan.columns]
        self.json_lists = [tag_columns[i] for i in plan.json_indexes]
        self.value_columns = [self.columns[name] for name in VALUE_COLUMNS]
        self.value_columns += [tag_columns[i] for i in plan.value_indexes]
        names = ROW_COLUMNS + (("dicom_json",) if plan.all_tags else ())
        self.row_lists = [self.columns[name] for name in names]
        self.paths = self.columns["path"]
        self.sop_classes = self.columns["sop_class_uid"]
        self.frame_counts = self.columns["number_of_frames"]

    def add(self, row: Sequence[Any]) -> None:
        deque(map(list.append, self.row_lists, row), 0)  # the loop in C, not Python

    def add_error(self, path: str, size: Optional[int], mtime: Optional[int],
                  error: str) -> None:
        """A row of only the file's name, size, time and error, whatever was appended."""
        count = len(self.paths)
        for column in self.value_columns:
            column.truncate(count)
            column.add_object(None)
        for column in self.json_lists:
            del column[count:]
            column.append(None)
        self.add((path, size, mtime, error) + (None,) * (len(self.row_lists) - 4))

    def batch(self) -> pa.RecordBatch:
        arrays = [column.array() if isinstance(column, ColumnBuilder)
                  else to_array(column, field.type)
                  for field, column in zip(self.plan.schema, self.columns.values())]
        return pa.RecordBatch.from_arrays(arrays, schema=self.plan.schema)


def read_chunk(plan: Plan, paths: Iterable[str]) -> pa.RecordBatch:
    """One row per file, in order, as a record batch of ``plan.schema``.

    Warnings about values decoded as pydicom would (an unknown character set, say) are
    not shown: an index records what it read, and a run over millions of files would
    drown its summary in them.
    """
    collecting = gc.isenabled()
    # A chunk makes thousands of short-lived objects and no cycles: the collector would
    # walk every object of the process for nothing. They are all freed before it is
    # enabled again, so that they do not count towards its next collection either.
    gc.disable()
    try:
        rows = _Rows(plan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for path in paths:
                size = mtime = None
                try:
                    try:
                        fd, size, mtime = open_version(path)
                    except OSError:  # not to be read: its row still has its size and time
                        size, mtime = file_version(path)
                        raise
                    _read_file(plan, rows, fd, path, size, mtime)
                except Exception as exc:  # whatever it is, it is this file's, not the run's
                    rows.add_error(path, size, mtime, error_text(exc))
        batch = rows.batch()
        del rows
    finally:
        if collecting:
            gc.enable()
    return batch


def error_text(exc: BaseException) -> str:
    """The error column's text: fastdcm's message as it is, other failures with their type."""
    if isinstance(exc, (InvalidDicomError, OSError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _read_file(plan: Plan, rows: _Rows, fd: int, path: str, size: int, mtime: int
               ) -> None:
    """Append the row of the file `path`, open as `fd` (closed once its header is read)."""
    with read_header(fd, path) as ds:
        first = append_values(ds, plan.value_tags, rows.value_columns)
        errors: List[str] = [] if first is None else [first]
        if plan.json_indexes:
            for index, column in zip(plan.json_indexes, rows.json_lists):
                column.append(_element_json(ds, plan.columns[index].tag, errors))
        sop_class = rows.sop_classes.last()
        if sop_class is None:
            sop_class = ds.file_meta.get_value(MEDIA_STORAGE_SOP_CLASS_UID)
            rows.sop_classes.replace_last(sop_class)
            dicomdir = sop_class == DICOMDIR_SOP_CLASS or DIRECTORY_RECORD_SEQUENCE in ds
        else:
            dicomdir = sop_class == DICOMDIR_SOP_CLASS
        syntax = ds.transfer_syntax_uid
        locator = _locate(ds, syntax, path, size, errors)
        if locator is None:
            locator = NO_LOCATOR
        elif not rows.frame_counts.last():
            rows.frame_counts.replace_last(1)  # absent, empty or 0: one frame, as pydicom
        if plan.all_tags:
            locator += (_guarded(lambda: json.dumps(ds.to_json_dict()), errors),)
        rows.add((path, size, mtime, errors[0] if errors else None, dicomdir,
                  syntax or None) + locator)


def _guarded(make: Any, errors: List[str]) -> Any:
    """make(), or None with its InvalidDicomError noted: one bad value costs one cell."""
    try:
        return make()
    except InvalidDicomError as exc:
        errors.append(str(exc))
        return None


def _element_json(ds: Any, tag: int, errors: List[str]) -> Optional[str]:
    element = ds.get(tag)
    if element is None:
        return None
    return _guarded(lambda: json.dumps(json_model._attribute(element, None, None)), errors)


Locator = Tuple[int, int, Optional[List[int]], Optional[List[int]]]
NO_LOCATOR = (None, None, None, None)


def _locate(ds: Any, syntax: Optional[str], path: str, size: int, errors: List[str]
            ) -> Optional[Locator]:
    """(value offset, value length, frame offsets, frame lengths) of the pixel element in
    the file, or None without one (or when the data set was deflated: its offsets are not
    file offsets)."""
    if syntax in DEFLATED_SYNTAXES:
        return None
    header = pixel_header(ds)
    if header is None:
        return None
    tag, position, offset, length = header
    if length == UNDEFINED_LENGTH:
        return _guarded(lambda: _locate_in_file(path), errors)
    if offset + length > size:  # as the scanner says it when it reads the whole file
        errors.append(str(InvalidDicomError("value length past the end of the data",
                                            position, tag)))
        return None
    return offset, length, None, None


def _locate_in_file(path: str) -> Optional[Locator]:
    """The locator from the whole file (mapped: only the headers' pages are touched)."""
    from fastdcm.pixels.description import describe
    from fastdcm.pixels.encapsulated import locate_frames

    with read(path) as ds:
        element = next((ds[tag] for tag in PIXEL_TAGS if tag in ds), None)
        if element is None:
            return None
        offset, end = element.offset, element._end
        if not element.is_undefined_length:
            return offset, end - offset, None, None
        try:
            frames = locate_frames(ds._source_view(), describe(ds), _extended_table(ds))
        except DecodeError:
            return offset, end - offset, None, None
        if any(len(frame) != 1 for frame in frames):
            # A frame in several fragments takes more than one read: encoded_frame(i) it is.
            return offset, end - offset, None, None
        return (offset, end - offset, [frame[0][0] for frame in frames],
                [frame[0][1] - frame[0][0] for frame in frames])


def _extended_table(ds: Any) -> Optional[Tuple[bytes, bytes]]:
    """The Extended Offset Table and its lengths, when the data set has both."""
    if all(tag in ds for tag in EXTENDED_OFFSET_TABLE):
        return tuple(bytes(ds[tag].raw) for tag in EXTENDED_OFFSET_TABLE)  # type: ignore
    return None
