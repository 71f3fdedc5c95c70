"""The competitor of fastdcm.bulk in the benchmarks: an indexer built on pydicom the way a
user would write one, giving the same table (columns, types, values) for the same files.

Each file is read with ``defer_size`` so that pydicom parses every header but seeks past
the pixel data, whose file offset (``value_tell``) and length are the pixel locators.
Several processes share the files as fastdcm's do (fork, chunks of paths, results in
order), so the two are compared on equal terms with one process and with all cores.

Usage (prints files/s and peak memory as JSON, for a fresh-process measurement):
    python benchmarks/pydicom_indexer.py ARCHIVE_DIR [--workers N] [--fastdcm]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import time
import warnings
from typing import Any, Dict, List

import pyarrow as pa
import pydicom
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from fastdcm import bulk

SCHEMA = bulk.schema()
CHUNK = 256
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"


def _plain(value: Any) -> Any:
    if isinstance(value, (MultiValue, list)):
        return [_plain(v) for v in value]
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return value


def _row(path: str) -> Dict[str, Any]:
    st = os.stat(path)
    row: Dict[str, Any] = {"path": path, "size": st.st_size, "mtime": st.st_mtime_ns // 1000}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, defer_size=1024)
            meta = ds.file_meta
            sop_class = ds.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID")
            row.update(is_dicomdir=sop_class == DICOMDIR_SOP_CLASS,
                       transfer_syntax_uid=meta.get("TransferSyntaxUID"),
                       sop_class_uid=sop_class, rows=ds.get("Rows"), columns=ds.get("Columns"),
                       bits_allocated=ds.get("BitsAllocated"))
            for field in SCHEMA:
                if field.name in bulk.DEFAULT_TAGS:
                    value = _plain(ds.get(field.name))
                    multi = pa.types.is_list(field.type)
                    row[field.name] = [value] if multi and value is not None and \
                        not isinstance(value, list) else value
            if 0x7FE00010 in ds:
                pixels = ds.get_item(0x7FE00010, keep_deferred=True)
                row.update(pixel_offset=pixels.value_tell, pixel_length=pixels.length,
                           number_of_frames=int(ds.get("NumberOfFrames") or 1))
    except Exception as exc:
        row = {"path": path, "size": st.st_size, "mtime": row["mtime"], "error": str(exc)}
    return row


def _chunk_table(paths: List[str]) -> pa.Table:
    rows = [_row(path) for path in paths]
    return pa.table({field.name: pa.array([row.get(field.name) for row in rows], field.type)
                     for field in SCHEMA}, schema=SCHEMA)


def scan(folder: str, workers: int = 1) -> pa.Table:
    """The index of every file under `folder`, read by `workers` processes."""
    return scan_paths(sorted(os.path.join(top, name) for top, _, names in os.walk(folder)
                             for name in names if not name.startswith(".")), workers)


def scan_paths(paths: List[str], workers: int = 1) -> pa.Table:
    """The index of these files, in this order."""
    chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
    if workers <= 1:
        tables = [_chunk_table(chunk) for chunk in chunks]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            tables = pool.map(_chunk_table, chunks)
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--fastdcm", action="store_true", help="time fastdcm.bulk.scan instead")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.fastdcm:
        table = bulk.scan(args.folder, workers=args.workers)
    else:
        table = scan(args.folder, args.workers)
    seconds = time.perf_counter() - start
    for child in multiprocessing.active_children():  # fastdcm's workers exit unwaited for
        child.join()
    peaks = [resource.getrusage(who).ru_maxrss / 1024
             for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    print(json.dumps({"files": table.num_rows, "seconds": seconds,
                      "files_per_second": table.num_rows / seconds,
                      "peak_rss_mb": peaks[0], "peak_worker_rss_mb": peaks[1]}))


if __name__ == "__main__":
    main()
