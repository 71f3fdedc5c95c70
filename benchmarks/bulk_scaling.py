"""The 1 -> 2 worker scaling of fastdcm.bulk.scan, with 1- and 2-worker scans interleaved
round by round.

pytest-benchmark runs each benchmark's rounds in one block, and on a shared host a block
can fall in a slow phase (seconds long, up to a third slower) that the other misses: the
scaling group then measures the host as much as the scan. Here each round runs both, so
both sides see the same phases; the pairs' ratios show how much a single pair can tell.

Usage: python benchmarks/bulk_scaling.py [FOLDER] [--rounds N] [--repeat K]
(FOLDER: the bulk benchmark's archive by default; --repeat lists it K times, for K times
the work on the same files, to see how much of the gap is the fixed cost of a run.)
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time

from fastdcm import bulk
from test_bench_bulk import BULK_DIR


def scan_seconds(folders: list, workers: int) -> float:
    gc.collect()
    start = time.perf_counter()
    table = bulk.scan(folders, workers=workers)
    seconds = time.perf_counter() - start
    assert table["error"].null_count == table.num_rows
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(BULK_DIR / "ct"))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    folders = [args.folder] * args.repeat
    scan_seconds(folders, 2)  # warm the page cache and the imports
    one, two = [], []
    for _ in range(args.rounds):
        one.append(scan_seconds(folders, 1))
        two.append(scan_seconds(folders, 2))
    print(f"1 worker  median {statistics.median(one) * 1e3:7.1f} ms  min {min(one) * 1e3:7.1f}")
    print(f"2 workers median {statistics.median(two) * 1e3:7.1f} ms  min {min(two) * 1e3:7.1f}")
    pairs = [a / b for a, b in zip(one, two)]
    print(f"scaling: {statistics.median(one) / statistics.median(two):.2f}x of the medians, "
          f"pairs {min(pairs):.2f}-{max(pairs):.2f}x (median {statistics.median(pairs):.2f}x)")


if __name__ == "__main__":
    main()
