"""The 1 -> 2 worker scaling of fastdcm.bulk.scan beside what this host gives any two
processes, all interleaved round by round.

The suite's scaling group (test_bench_bulk.py) interleaves 1- and 2-worker scans too; on
a shared host even so its ratio swings by a tenth between runs. This tells how much of a
shortfall is the scan's and how much the machine's: each round also times the scan's own
file reads (``read_chunk`` on the listed paths) split in halves between this process and
one forked child, nothing handed back or put in order; and two processes spinning in a
Python loop. A scan scaling below these is the scan's cost; one at their level, the host's.

Usage: python benchmarks/bulk_scaling.py [FOLDER] [--rounds N] [--repeat K]
(FOLDER: the bulk benchmark's archive by default; --repeat lists it K times, for K times
the work on the same files, to see how much of the gap is the fixed cost of a run.)
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
from typing import Callable, Dict, List

from fastdcm import bulk
from fastdcm._bulk_columns import tag_columns
from fastdcm._bulk_read import Plan, read_chunk
from fastdcm._bulk_run import CHUNK_FILES, discover
from test_bench_bulk import BULK_DIR, seconds

SPIN_STEPS = 10_000_000  # ~0.3 s of a Python loop here, near a 1-worker scan


def scan(folders: List[str], workers: int) -> None:
    table = bulk.scan(folders, workers=workers)
    assert table["error"].null_count == table.num_rows


def read(plan: Plan, paths: List[str]) -> None:
    for start in range(0, len(paths), CHUNK_FILES):
        read_chunk(plan, paths[start:start + CHUNK_FILES])


def spin(steps: int) -> None:
    total = 0
    for step in range(steps):
        total += step


def forked_halves(work: Callable[[int], None]) -> None:
    """work(1) in a forked child while this process runs work(0); back when both are done."""
    gc.freeze()  # as bulk.scan does: no collection copies the pages the child shares
    child = os.fork()
    if child == 0:
        try:
            work(1)
        finally:
            os._exit(0)
    try:
        work(0)
    finally:
        os.waitpid(child, 0)
        gc.unfreeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(BULK_DIR / "ct"))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    folders = [args.folder] * args.repeat
    paths = list(discover(folders))
    plan = Plan(tag_columns(None))
    pairs: Dict[str, tuple] = {
        "bulk.scan": (lambda: scan(folders, 1), lambda: scan(folders, 2)),
        "its reads, bare fork": (
            lambda: read(plan, paths),
            lambda: forked_halves(lambda half: read(plan, paths[half::2]))),
        "Python loop": (lambda: spin(SPIN_STEPS),
                        lambda: forked_halves(lambda half: spin(SPIN_STEPS // 2))),
    }
    for one, two in pairs.values():  # warm the page cache and the imports
        one()
        two()
    times: Dict[str, tuple] = {name: ([], []) for name in pairs}
    for _ in range(args.rounds):
        for name, (one, two) in pairs.items():
            times[name][0].append(seconds(one))
            times[name][1].append(seconds(two))
    print(f"{len(paths):,} files, {args.rounds} rounds; 1 -> 2 processes, medians:")
    for name, (one, two) in times.items():
        ratios = [a / b for a, b in zip(one, two)]
        print(f"  {name:21s} {statistics.median(one) * 1e3:7.1f} -> "
              f"{statistics.median(two) * 1e3:7.1f} ms  "
              f"{statistics.median(one) / statistics.median(two):.2f}x  "
              f"(pairs {min(ratios):.2f}-{max(ratios):.2f}x, median "
              f"{statistics.median(ratios):.2f}x)")


if __name__ == "__main__":
    main()
