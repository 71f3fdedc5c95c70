"""Time every (task, reader) pair fairly, and check its answers once against pydicom's.

Fairness: each reader first runs the task once (the answers checked) plus ``warmup``
untimed rounds, so imports, caches and the page cache are warm for all; then the timed
rounds are interleaved (round r runs every reader, the order turning by one each round),
so a machine that slows down mid-run slows everyone alike. The median per file is what is
reported, with the interquartile range as the spread: a shared machine adds the odd slow
round, which a mean would let through.

Peak memory is measured in one more round under tracemalloc: what Python's allocators and
numpy hand out (arrays included), not memory a C++ library takes behind them (gdcm,
SimpleITK), which the report says.
"""
from __future__ import annotations

import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from fastdcm.bench.readers import Reader
from fastdcm.bench.tasks import Job, Task


@dataclass
class Result:
    """One row of the report: a reader doing a task over the files."""
    task: str
    reader: str
    files: int = 0
    times: List[float] = field(default_factory=list)  # seconds per file, one per round
    peak_bytes: int = 0
    check: str = "n/a"  # ok | MISMATCH k/n | unchecked (...) | error: ... | n/a

    @property
    def median(self) -> Optional[float]:
        return float(np.median(self.times)) if self.times else None

    @property
    def iqr(self) -> Optional[float]:
        if not self.times:
            return None
        q1, q3 = np.percentile(self.times, [25, 75])
        return float(q3 - q1)

    def as_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "median": self.median, "iqr": self.iqr}


def _round(jobs: List[Job]) -> None:
    for _, call in jobs:
        call()


def _peak(jobs: List[Job]) -> int:
    tracemalloc.start()
    try:
        _round(jobs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _check(task: Task, reader: Reader, answers: Dict[str, Any],
           reference: Optional[Dict[str, Any]]) -> str:
    if reference is None:
        return "unchecked (pydicom not installed)"
    compared = [key for key in answers if key in reference]
    if not compared:
        return "unchecked (pydicom failed)"
    wrong = [k for k in compared if not task.same(answers[k], reference[k], k, reader)]
    return f"MISMATCH {len(wrong)}/{len(compared)}" if wrong else "ok"


def run_task(task: Task, readers: Sequence[Reader], files: Sequence[str],
             reference: Optional[Reader], rounds: int = 5, warmup: int = 1,
             log: Callable[[str], None] = print) -> List[Result]:
    """Benchmark one task with every reader; a row per reader, in the readers' order."""
    results = {r.name: Result(task.name, r.name) for r in readers}
    work: Dict[str, List[Job]] = {}
    units: Dict[str, int] = {}
    expected = None
    if reference is not None:
        ref_jobs = task.jobs(reference, files) or []
        expected = {}
        for key, call in ref_jobs:
            try:
                expected[key] = call()
            except Exception:  # pydicom cannot read this file: nothing to compare with
                pass
    for reader in readers:
        jobs = task.jobs(reader, files)
        if not jobs:
            continue  # the reader cannot do it, or no file calls for it: "n/a"
        try:
            answers = {key: call() for key, call in jobs}
        except Exception as exc:  # a reader failing on a file is a finding, not a crash
            results[reader.name].check = f"error: {type(exc).__name__}: {exc}"[:120]
            continue
        results[reader.name].check = _check(task, reader, answers, expected)
        for _ in range(warmup):
            _round(jobs)
        work[reader.name] = jobs
        units[reader.name] = len(files) if task.name == "index" else len(jobs)
    names = list(work)
    for number in range(rounds):
        turn = number % len(names) if names else 0
        for name in names[turn:] + names[:turn]:
            start = time.perf_counter()
            _round(work[name])
            results[name].times.append((time.perf_counter() - start) / units[name])
    for name in names:
        results[name].files = units[name]
        results[name].peak_bytes = _peak(work[name])
    log(f"  {task.name}: done")
    return list(results.values())
