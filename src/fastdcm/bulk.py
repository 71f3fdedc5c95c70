"""Bulk indexing: a folder tree of DICOM files -> one Arrow table or Parquet file, on all
cores, without reading pixel data (needs the ``bulk`` extra: pyarrow).

    table = fastdcm.bulk.scan("/archive")                    # pyarrow.Table
    fastdcm.bulk.index("/archive", "index.parquet", resume=True)

One row per file found, whatever it holds: ``path``, ``size``, ``mtime``, ``error`` (None
when the file read cleanly, else what went wrong), ``is_dicomdir``, ``transfer_syntax_uid``,
``sop_class_uid``, one typed column per tag (``DEFAULT_TAGS`` unless told otherwise), the
pixel locators (``pixel_offset``, ``pixel_length``, ``rows``, ``columns``,
``number_of_frames``, ``bits_allocated``, and for encapsulated data ``frame_offsets`` and
``frame_lengths``: absolute file offsets, so that frame i is one positioned read), and
with ``all_tags`` a ``dicom_json`` column holding every top-level element before the pixel
data as DICOM JSON. Column types: see fastdcm._bulk_columns.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import pyarrow as pa
import pyarrow.parquet as pq

from fastdcm._bulk_columns import DEFAULT_TAGS, TagSpec, arrow_text, tag_columns
from fastdcm._bulk_read import Plan, file_version
from fastdcm._bulk_run import Progress, batches, discover, worker_count
from fastdcm._bulk_store import Store, Version

__all__ = ["DEFAULT_TAGS", "scan", "index", "schema", "summarize", "Summary", "resolve_tags"]

PathLike = Union[str, "os.PathLike[str]"]
Paths = Union[PathLike, Iterable[PathLike]]
# Rows per row group of the output, and per part file of the journal while a run goes on:
# large enough for fast queries, small enough that a kill loses little work.
ROW_GROUP_ROWS = 16384


def resolve_tags(spec: Optional[str]) -> Optional[List[str]]:
    """Tags from command-line text: "A,B" replaces the default set, "+A,B" adds to it.

    Tags are keywords or hex (00100010, 0x00100010, (0010,0010), 0010_0010); None or ""
    keeps the default set.
    """
    if not spec:
        return None
    add = spec.startswith("+")
    names = [name.strip() for name in spec.lstrip("+").split(",") if name.strip()]
    return list(DEFAULT_TAGS) + names if add else names


def schema(tags: Optional[Iterable[TagSpec]] = None, all_tags: bool = False) -> pa.Schema:
    """The columns an index of `tags` has (what scan, index and fastdcm.spark give)."""
    return Plan(tag_columns(tags), all_tags).schema


def scan(paths_or_dirs: Paths, tags: Optional[Iterable[TagSpec]] = None, *,
         all_tags: bool = False, workers: Optional[int] = None,
         progress: bool = False) -> pa.Table:
    """Index the files under `paths_or_dirs` into one table, a row per file.

    `tags` are keywords or int tags (None: ``DEFAULT_TAGS``); `workers` processes read the
    files (None: every core). The table's columns are Arrow arrays: ``to_pandas()`` or
    ``polars.from_arrow`` take them as they are.
    """
    plan = Plan(tag_columns(tags), all_tags)
    found: Iterable[str] = discover(_as_list(paths_or_dirs))  # listed as it is read
    report = None
    if progress and sys.stderr.isatty():
        found = list(found)
        report = Progress(len(found))
    read = list(_reported(batches(plan, found, worker_count(workers)), report))
    return pa.Table.from_batches(read, schema=plan.schema)


def index(paths_or_dirs: Paths, output: PathLike, tags: Optional[Iterable[TagSpec]] = None,
          *, all_tags: bool = False, workers: Optional[int] = None, resume: bool = False,
          progress: bool = False, row_group_rows: int = ROW_GROUP_ROWS) -> None:
    """Index the files under `paths_or_dirs` into the Parquet file `output`.

    The output appears whole or not at all. With `resume`, rows already in `output` or
    left by an interrupted run are kept for files whose size and mtime have not changed;
    changed and new files are read, and files that are gone lose their rows. Memory stays
    bounded by `row_group_rows` rows (plus the list of known files when resuming).
    """
    if row_group_rows < 1:
        raise ValueError(f"row_group_rows must be at least 1, not {row_group_rows}")
    plan = Plan(tag_columns(tags), all_tags)
    with Store(output, plan.schema) as store:  # held, so locked, until the run ends
        known = store.start(resume)
        exclude = {(st.st_dev, st.st_ino) for st in _stats(Path(output))}
        keep: Dict[str, int] = {}
        report = None
        if progress and sys.stderr.isatty():  # a quick count first, for the ETA
            report = Progress(sum(1 for _ in discover(_as_list(paths_or_dirs), exclude)))

        to_read = discover(_as_list(paths_or_dirs), exclude)
        if known:
            to_read = _not_indexed(to_read, known, keep, report)
        pending: List[pa.RecordBatch] = []
        rows = 0
        for batch in _reported(batches(plan, to_read, worker_count(workers),
                                       row_group_rows), report):
            pending.append(batch)
            rows += batch.num_rows
            if rows >= row_group_rows:
                store.write_part(pa.Table.from_batches(pending))
                pending, rows = [], 0
        if pending:
            store.write_part(pa.Table.from_batches(pending))
        store.finish(keep)


@dataclass
class Summary:
    """What an index holds, for a person to read."""

    files: int = 0
    dicomdirs: int = 0
    errors: int = 0
    studies: int = 0
    series: int = 0
    modalities: Dict[str, int] = field(default_factory=dict)  # instances per modality

    def lines(self) -> List[str]:
        modalities = ", ".join(f"{name} {count}" for name, count in self.modalities.items())
        return [f"files       {self.files:,} ({self.dicomdirs:,} DICOMDIR)",
                f"studies     {self.studies:,}", f"series      {self.series:,}",
                f"modalities  {modalities or '-'}", f"errors      {self.errors:,}"]


def summarize(source: Union[pa.Table, PathLike]) -> Summary:
    """Count files, DICOMDIRs, errors, studies, series and instances per modality of an
    index (a table or a Parquet file; only the columns needed are read)."""
    wanted = ["error", "is_dicomdir", "StudyInstanceUID", "SeriesInstanceUID", "Modality"]
    if isinstance(source, pa.Table):
        table = source.select([n for n in wanted if n in source.column_names])
    else:
        names = pq.read_schema(source).names
        table = pq.read_table(source, columns=[n for n in wanted if n in names])
    summary = Summary(files=table.num_rows)
    summary.errors = table.num_rows - table["error"].null_count
    summary.dicomdirs = table["is_dicomdir"].to_pylist().count(True)
    for name, attribute in (("StudyInstanceUID", "studies"), ("SeriesInstanceUID", "series")):
        if name in table.column_names:
            setattr(summary, attribute, len(table[name].drop_null().unique()))
    if "Modality" in table.column_names:
        counts = table["Modality"].drop_null().value_counts().to_pylist()
        summary.modalities = {c["values"]: c["counts"] for c in
                              sorted(counts, key=lambda c: (-c["counts"], c["values"]))}
    return summary


def _as_list(paths: Paths) -> Sequence[PathLike]:
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def _stats(path: Path) -> List[os.stat_result]:
    try:
        return [path.stat()]
    except OSError:
        return []


def _not_indexed(paths: Iterable[str], known: Dict[str, Tuple[Version, int]],
                 keep: Dict[str, int], report: Optional[Progress]) -> Iterator[str]:
    """The `paths` that a resumed run reads: those `known` lacks or holds at another
    version. The others go into `keep` (their row's source) and count as done."""
    for path in paths:
        key = path if path in known else arrow_text(path)  # as the index holds it
        seen = known.get(key)
        if seen is not None and _same_version(path, seen[0]):
            keep[key] = seen[1]
            if report is not None:
                report.add(1, 0)
            continue
        yield path


def _same_version(path: str, version: tuple) -> bool:
    try:
        return file_version(path) == version
    except OSError:
        return False


def _reported(read: Iterator[pa.RecordBatch], report: Optional[Progress]
              ) -> Iterator[pa.RecordBatch]:
    """The batches, counted on the progress line (when there is one) as they pass."""
    try:
        for batch in read:
            if report is not None:
                report.add(batch.num_rows, batch.num_rows - batch["error"].null_count)
            yield batch
    finally:
        if report is not None:
            report.close()
