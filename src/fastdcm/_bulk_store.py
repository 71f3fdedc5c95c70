"""Where an index is written: a journal of part files while it runs, then one Parquet file.

A run writes its rows as small Parquet files ("parts") in a hidden folder beside the
output, each one made under a temporary name and renamed, so a part is whole or absent
whatever kills the run. At the end the parts (and the rows kept from an earlier index)
are copied, row group by row group, into a temporary file that is then renamed over the
output: readers see the old index or the new one, never half of one.

A resumed run (``--resume`` after a kill, ``--update`` on a finished index) first reads
which files the output and the parts already hold, with their size and mtime; a file
seen again unchanged keeps its row, and each path keeps only its newest row, so the
result has exactly one row per file even when a run was killed between renaming the
output and removing its parts.
"""
from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PART_PREFIX = "part-"
Version = Tuple[int, int]  # size, mtime in microseconds


class Store:
    """The output Parquet file of an index and the journal of the run writing it."""

    def __init__(self, output: "os.PathLike[str] | str", schema: pa.Schema):
        self.output = Path(output)
        self.schema = schema
        self.parts = self.output.with_name(f".{self.output.name}.parts")
        self.sources: List[Path] = []  # earlier rows: the output, then parts of a killed run
        self.new_parts: List[Path] = []

    def start(self, resume: bool) -> Dict[str, Tuple[Version, int]]:
        """Begin a run; with `resume`, return what is indexed already: path -> ((size,
        mtime), index of the source holding its newest row).

        An output that is a folder, or that has no folder to go in, fails here, under its
        own name: later, the error would name the journal, and leave one behind."""
        if self.output.is_dir():
            raise IsADirectoryError(errno.EISDIR, "the output is a folder", str(self.output))
        if not self.output.parent.is_dir():
            raise FileNotFoundError(errno.ENOENT, "no such folder for the output",
                                    str(self.output.parent))
        if not resume:
            shutil.rmtree(self.parts, ignore_errors=True)
            return {}
        if self.output.exists():
            self.sources.append(self.output)
        if self.parts.is_dir():
            self.sources += sorted(self.parts.glob(PART_PREFIX + "*.parquet"))
        known: Dict[str, Tuple[Version, int]] = {}
        for index, source in enumerate(self.sources):
            found = pq.read_schema(source)
            if not found.equals(self.schema) or found.metadata != self.schema.metadata:
                raise ValueError(f"{source} holds other columns than this run would write: "
                                 "index again without resuming")
            table = pq.read_table(source, columns=["path", "size", "mtime"])
            mtimes = pc.cast(table["mtime"], pa.int64()).to_pylist()
            for path, size, mtime in zip(table["path"].to_pylist(),
                                         table["size"].to_pylist(), mtimes):
                known[path] = ((size, mtime), index)
        return known

    def write_part(self, table: pa.Table) -> None:
        """Add rows to the journal: a part file that is whole once it has its name."""
        self.parts.mkdir(exist_ok=True)
        numbers = [int(p.stem[len(PART_PREFIX):]) for p in self.sources + self.new_parts
                   if p.parent == self.parts]
        name = self.parts / f"{PART_PREFIX}{max(numbers, default=0) + 1:06d}.parquet"
        temporary = name.with_suffix(".tmp")
        pq.write_table(table, temporary)
        os.replace(temporary, name)
        self.new_parts.append(name)

    def finish(self, keep: Dict[str, int]) -> None:
        """Write the output: the earlier rows in `keep` (path -> index of the source whose
        row is kept), then every new row; replace the output at once; drop the journal."""
        temporary = self.output.with_name(f".{self.output.name}.tmp-{os.getpid()}")
        try:
            with pq.ParquetWriter(temporary, self.schema) as writer:
                for index, source in enumerate(self.sources):
                    _copy_kept(pq.ParquetFile(source), index, keep, writer)
                for part in self.new_parts:
                    writer.write_table(pq.read_table(part, schema=self.schema))
            os.replace(temporary, self.output)
        finally:
            if temporary.exists():
                temporary.unlink()
        shutil.rmtree(self.parts, ignore_errors=True)


def _copy_kept(source: pq.ParquetFile, index: int, keep: Dict[str, int],
               writer: pq.ParquetWriter) -> None:
    """Copy the rows of `source` that `keep` assigns to it, one row group at a time."""
    for group in range(source.num_row_groups):
        table = source.read_row_group(group)
        mask = [keep.get(path) == index for path in table["path"].to_pylist()]
        if any(mask):
            writer.write_table(table.filter(pa.array(mask)))
