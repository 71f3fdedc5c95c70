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

One run at a time writes an output: it holds a lock on the journal folder (flock, which
the system lets go of when the process dies, kill -9 included). A second run would write
parts under the same names and clear the first one's journal, ending it with a missing
part or leaving it with the other archive's rows.
"""
from __future__ import annotations

import errno
import glob
import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

try:
    import fcntl
except ImportError:  # Windows: no flock, and one run at a time is the user's to keep
    fcntl = None  # type: ignore[assignment]

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
        self._journal_taken = False
        self._lock: Optional[int] = None  # descriptor of the journal folder, locked

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        """Let go of the journal, and remove it if the run ended before writing a part."""
        if self._journal_taken:
            self._journal_taken = False
            try:
                self.parts.rmdir()
            except OSError:
                pass  # parts for --resume (or finish removed it already)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

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
        self._take_journal()
        # What a run killed while it wrote the output left, perhaps a whole index's size:
        # only the journal's holder writes one, so none of these is being written now.
        for stale in self.output.parent.glob(glob.escape(f".{self.output.name}.tmp-") + "*"):
            stale.unlink(missing_ok=True)
        if not resume:
            for part in self.parts.iterdir():
                part.unlink()
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

    def _take_journal(self) -> None:
        """Make the journal folder and lock it for this run, or fail if another holds it."""
        self.parts.mkdir(exist_ok=True)
        if fcntl is not None:
            self._lock = os.open(self.parts, os.O_RDONLY)
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._lock)
                self._lock = None
                raise BlockingIOError(errno.EAGAIN, "another run is writing this index",
                                      str(self.output)) from None
        self._journal_taken = True

    def write_part(self, table: pa.Table) -> None:
        """Add rows to the journal: a part file that is whole once it has its name."""
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
