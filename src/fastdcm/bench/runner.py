"""Time every (task, reader) pair fairly, and check its answers once against pydicom's.

Fairness: each reader first runs the task once (the answers checked) plus ``warmup``
untimed rounds, so imports, caches and the page cache are warm for all; then the timed
rounds are interleaved (round r runs every reader, the order turning by one each round),
so a machine that slows down mid-run slows everyone alike. Only one reader works at a
time, each in its own process (fastdcm.bench.worker), timing its own rounds. The median
per file is what is reported, with the interquartile range as the spread: a shared machine
adds the odd slow round, which a mean would let through.

Peak memory is measured in one more round under tracemalloc: what Python's allocators and
numpy hand out (arrays included), not memory a C++ library takes behind them (gdcm,
SimpleITK), which the report says.

A reader that dies is reported as ``crashed (signal N)`` on that row, one that raises as
``error: ...`` (or ``unsupported (...)`` on a row of compressed pixels: it has no decoder
for that syntax); the other rows go on.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from fastdcm.bench.tasks import NATIVE, Task
from fastdcm.bench.worker import Crashed, ReaderError, Worker

FAILURES = ("MISMATCH", "error", "crashed")  # checks that make the exit status 1


def label(task: str, syntax: str) -> str:
    """A row's task as shown: "pixels (RLE)" for a pixel task run on one syntax."""
    return f"{task} ({syntax})" if syntax else task


@dataclass
class Result:
    """One row of the report: a reader doing a task over the files."""
    task: str
    reader: str
    syntax: str = ""  # the transfer syntax of the files, for pixel tasks
    files: int = 0
    times: List[float] = field(default_factory=list)  # seconds per file, one per round
    peak_bytes: int = 0
    # ok | MISMATCH k/n | unchecked (...) | error: ... | unsupported (...) | crashed (...) | n/a
    check: str = "n/a"

    @property
    def label(self) -> str:
        return label(self.task, self.syntax)

    @property
    def failed(self) -> bool:
        return self.check.startswith(FAILURES)

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


def _failure(exc: Exception, syntax: str) -> str:
    if isinstance(exc, Crashed):
        return str(exc)
    if syntax not in ("", NATIVE):  # the exception's type says enough, a decoder is missing
        return f"unsupported ({str(exc).split(':', 1)[0]})"
    return f"error: {exc}"[:120]


def _reference(task: Task, files: Sequence[str],
               reference: Optional[Worker]) -> Optional[Dict[str, Any]]:
    """pydicom's answers: None when it is not installed, {} when it could not answer."""
    if reference is None:
        return None
    try:
        return reference.call("answers") if reference.call("prepare", task.name, files) else {}
    except (Crashed, ReaderError):
        return {}


def run_task(task: Task, workers: Sequence[Worker], files: Sequence[str],
             reference: Optional[Worker], rounds: int = 5, warmup: int = 1,
             syntax: str = "", log: Callable[[str], None] = print) -> List[Result]:
    """Benchmark one task with every reader; a row per reader, in the workers' order.
    ``reference`` is pydicom's worker (it may be one of ``workers``), None without pydicom."""
    results = {w.name: Result(task.name, w.name, syntax) for w in workers}
    expected = _reference(task, files, reference)
    active: List[Worker] = []
    for worker in workers:
        result = results[worker.name]
        try:
            count = worker.call("prepare", task.name, list(files))
            if not count:
                continue  # the reader cannot do it, or no file calls for it: "n/a"
            result.check = worker.call("check", expected)
            worker.call("rounds", warmup)
        except (Crashed, ReaderError) as exc:
            result.check = _failure(exc, syntax)
            continue
        result.files = len(files) if task.name == "index" else count
        active.append(worker)
    for number in range(rounds):
        turn = number % len(active) if active else 0
        for worker in active[turn:] + active[:turn]:
            result = results[worker.name]
            try:
                result.times += [t / result.files for t in worker.call("rounds", 1)]
            except (Crashed, ReaderError) as exc:  # no half-measured row: times dropped
                result.check, result.times = _failure(exc, syntax), []
                active.remove(worker)
    for worker in active:
        result = results[worker.name]
        try:
            result.peak_bytes = worker.call("peak")
        except (Crashed, ReaderError) as exc:
            result.check, result.times = _failure(exc, syntax), []
    log(f"  {label(task.name, syntax)}: done")
    return list(results.values())
