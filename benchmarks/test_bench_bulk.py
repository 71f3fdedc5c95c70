"""Bulk indexing of a generated archive, fastdcm.bulk.scan side by side with a pydicom-based
indexer that gives the same table (benchmarks/pydicom_indexer.py), in one run.

The archive: ARCHIVE_FILES realistic CT slices (545 KB each, made by make_corpus.make_ct:
20 patients, 5 studies each, 5 series per study), generated on first use into
benchmarks/corpus/bulk/ (gitignored, about 2.7 GB). Groups:

* ``bulk-1-process``: one process each; target 50x files/s (per core) over pydicom.
* ``bulk-all-cores``: a worker process per core for both.
* ``bulk-scaling``: fastdcm with 2 workers against itself with 1; target 1.8x.
* ``bulk-parquet``: fastdcm.bulk.index to a Parquet file (what ``fastdcm index`` runs).

Every scan benchmark also records, in ``extra_info``, files/s and the peak memory (parent
and largest worker) of the same work run once in a fresh process. Run and report:

    python -m pytest benchmarks/test_bench_bulk.py --benchmark-json=bulk.json
    python benchmarks/report.py bulk.json
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import pyarrow.parquet as pq
import pytest

import make_corpus
import pydicom_indexer
from fastdcm import bulk
from fastdcm._bulk_run import default_workers

ARCHIVE_FILES = 5000
ARCHIVE_DIR = make_corpus.DEFAULT_DIR / "bulk"
ARCHIVE_VERSION = 1  # bump when the archive's files change
CORES = default_workers()


@pytest.fixture(scope="session")
def archive() -> str:
    """The archive folder, generated when missing or stale."""
    stamp = ARCHIVE_DIR / "archive.json"
    wanted = {"version": ARCHIVE_VERSION, "files": ARCHIVE_FILES}
    try:
        if json.loads(stamp.read_text()) == wanted:
            return str(ARCHIVE_DIR / "ct")
    except (OSError, ValueError):
        pass
    shutil.rmtree(ARCHIVE_DIR, ignore_errors=True)
    make_corpus.make_ct(ARCHIVE_DIR / "ct", ARCHIVE_FILES, series=5, studies=5, patients=20)
    stamp.write_text(json.dumps(wanted))
    return str(ARCHIVE_DIR / "ct")


def fresh_process_run(archive: str, workers: int, fastdcm: bool) -> dict:
    """files/s and peak memory of one scan in a new interpreter (nothing else in memory)."""
    command = [sys.executable, str(Path(__file__).with_name("pydicom_indexer.py")), archive,
               "--workers", str(workers)] + (["--fastdcm"] if fastdcm else [])
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True)
                      .stdout)


def run(benchmark: Any, work: Callable[[], Any], reader: str, archive: str, workers: int,
        rounds: int, target: Optional[float] = None, fresh: bool = True) -> Any:
    benchmark.extra_info.update(reader=reader, workers=workers, files=ARCHIVE_FILES)
    if target is not None:
        benchmark.extra_info["target"] = target
    if fresh:
        once = fresh_process_run(archive, workers, reader.startswith("fastdcm"))
        benchmark.extra_info.update(
            fresh_files_per_second=round(once["files_per_second"]),
            peak_rss_mb=round(once["peak_rss_mb"]),
            peak_worker_rss_mb=round(once["peak_worker_rss_mb"]))
    table = benchmark.pedantic(work, rounds=rounds, warmup_rounds=1 if rounds > 1 else 0)
    assert table.num_rows == ARCHIVE_FILES and table["error"].null_count == ARCHIVE_FILES
    benchmark.extra_info["files_per_second"] = round(ARCHIVE_FILES / benchmark.stats["median"])
    return table


def test_same_table_as_pydicom(archive):
    """The competitor extracts exactly what fastdcm does, so the race is fair."""
    sample = sorted(Path(archive).iterdir())[:100]
    assert pydicom_indexer.scan_paths([str(p) for p in sample]).equals(
        bulk.scan(sample, workers=1))


@pytest.mark.benchmark(group="bulk-1-process")
def test_bulk_fastdcm_1_process(benchmark, archive):
    run(benchmark, lambda: bulk.scan(archive, workers=1), "fastdcm", archive, 1, rounds=7)


@pytest.mark.benchmark(group="bulk-1-process")
def test_bulk_pydicom_1_process(benchmark, archive):
    run(benchmark, lambda: pydicom_indexer.scan(archive, 1), "pydicom", archive, 1, rounds=1,
        target=50)


@pytest.mark.benchmark(group="bulk-all-cores")
def test_bulk_fastdcm_all_cores(benchmark, archive):
    run(benchmark, lambda: bulk.scan(archive, workers=CORES), "fastdcm", archive, CORES,
        rounds=7)


@pytest.mark.benchmark(group="bulk-all-cores")
def test_bulk_pydicom_all_cores(benchmark, archive):
    run(benchmark, lambda: pydicom_indexer.scan(archive, CORES), "pydicom", archive, CORES,
        rounds=1, target=50)


@pytest.mark.benchmark(group="bulk-scaling")
def test_bulk_fastdcm_2_workers(benchmark, archive):
    run(benchmark, lambda: bulk.scan(archive, workers=2), "fastdcm", archive, 2, rounds=7)


@pytest.mark.benchmark(group="bulk-scaling")
def test_bulk_fastdcm_1_worker(benchmark, archive):
    run(benchmark, lambda: bulk.scan(archive, workers=1), "fastdcm-1-worker", archive, 1,
        rounds=7, target=1.8)


@pytest.mark.benchmark(group="bulk-parquet")
def test_bulk_fastdcm_to_parquet(benchmark, archive, tmp_path):
    output = tmp_path / "index.parquet"

    def work() -> Any:
        bulk.index(archive, output, workers=CORES)
        return pq.read_table(output)

    run(benchmark, work, "fastdcm", archive, CORES, rounds=5, fresh=False)
