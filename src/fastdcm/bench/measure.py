"""What is done with one reader's jobs, in whichever process holds the reader: the checked
run, a timed round, the peak memory of a round.

``fastdcm bench`` calls these inside each reader's own process (fastdcm.bench.worker), and
benchmarks/test_bench_product.py calls the same ones in-process under pytest-benchmark, so
that the two time the very same callable and judge answers by the very same check.
"""
from __future__ import annotations

import time
import tracemalloc
from typing import Any, Dict, List, Optional

from fastdcm.bench.readers import Reader
from fastdcm.bench.tasks import Job, Task


def answers(task: Task, jobs: List[Job], keep_going: bool = False) -> Dict[str, Any]:
    """Every job's answer in the task's plain form (picklable, library types gone).
    ``keep_going``: skip the files that fail (pydicom's answers: where it cannot read a
    file there is nothing to compare with) instead of raising."""
    found = {}
    for key, call in jobs:
        try:
            found[key] = task.plain(call())
        except Exception:
            if not keep_going:
                raise
    return found


def check(task: Task, reader: Reader, found: Dict[str, Any],
          expected: Optional[Dict[str, Any]]) -> str:
    """ok | MISMATCH k/n | unchecked (why): the reader's answers against pydicom's."""
    if expected is None:
        return "unchecked (pydicom not installed)"
    compared = [key for key in found if key in expected]
    if not compared:
        return "unchecked (pydicom failed)"
    wrong = [k for k in compared if not task.same(found[k], expected[k], k, reader)]
    return f"MISMATCH {len(wrong)}/{len(compared)}" if wrong else "ok"


def run_round(jobs: List[Job]) -> None:
    """One round: what is timed, by the runner and by pytest-benchmark alike."""
    for _, call in jobs:
        call()


def timed_round(jobs: List[Job]) -> float:
    start = time.perf_counter()
    run_round(jobs)
    return time.perf_counter() - start


def peak(jobs: List[Job]) -> int:
    """Peak bytes Python and numpy allocate during one round (tracemalloc: memory that a
    C++ library allocates behind them is not seen)."""
    tracemalloc.start()
    try:
        run_round(jobs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
