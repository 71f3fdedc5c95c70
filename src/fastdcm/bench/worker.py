"""Each reader in a process of its own, so that a reader that aborts the interpreter (dicomsdl
0.109 on an empty Basic Offset Table, python-gdcm on some enhanced files) ends only its
process, and the run goes on.

The parent keeps the schedule (fastdcm.bench.runner) and sends commands; the child holds
the reader and the current task's jobs, times its own rounds (so the pipe is never in the
time) and sends back seconds, answers and peaks. A child that dies raises :class:`Crashed`
in the parent; the next command starts a fresh one. Children are spawned, not forked: a
fresh interpreter imports only its own library, and nothing of the parent's threads or
state (pytest's, pyarrow's) is copied into it. So reader factories must be picklable:
functions defined at the top level of a module.
"""
from __future__ import annotations

import multiprocessing
import signal
from typing import Any, Callable, Dict, List, Optional

from fastdcm.bench import measure
from fastdcm.bench.readers import Reader
from fastdcm.bench.tasks import TASKS, Job, Task


class Crashed(Exception):
    """The reader's process died (a signal, or an exit without answering)."""

    def __init__(self, exitcode: Optional[int]) -> None:
        if exitcode is not None and exitcode < 0:
            try:
                name = f" {signal.Signals(-exitcode).name}"
            except ValueError:
                name = ""
            text = f"crashed (signal {-exitcode}{name})"
        else:
            text = f"crashed (exit {exitcode})"
        super().__init__(text)


class ReaderError(Exception):
    """The reader raised: the text is the exception's type and message."""


class Missing(Exception):
    """The reader's library is not installed."""


class _Session:
    """The child's side: one reader, the jobs of the task at hand."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.task: Optional[Task] = None
        self.jobs: List[Job] = []

    def prepare(self, task: str, files: List[str]) -> int:
        """The number of jobs for ``task`` on ``files`` (0: the reader cannot, or no file
        calls for it)."""
        self.task = TASKS[task]
        self.jobs = self.task.jobs(self.reader, files) or []
        return len(self.jobs)

    def answers(self) -> Dict[str, Any]:
        return measure.answers(self.task, self.jobs, keep_going=True)

    def check(self, expected: Optional[Dict[str, Any]]) -> str:
        return measure.check(self.task, self.reader, measure.answers(self.task, self.jobs),
                             expected)

    def rounds(self, count: int) -> List[float]:
        return [measure.timed_round(self.jobs) for _ in range(count)]

    def peak(self) -> int:
        return measure.peak(self.jobs)


def _serve(conn: Any, make: Callable[[], Reader]) -> None:
    """The child's loop: (method, args) in, ("ok" | "error", value) out, None to stop."""
    try:
        session = _Session(make())
    except ImportError as exc:
        conn.send(("missing", str(exc)))
        return
    conn.send(("ok", None))
    while True:
        message = conn.recv()
        if message is None:
            return
        method, args = message
        try:
            reply = ("ok", getattr(session, method)(*args))
        except Exception as exc:  # the reader failing is a finding to report, not a stop
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


class Worker:
    """The parent's handle on one reader's process."""

    def __init__(self, name: str, make: Callable[[], Reader]) -> None:
        self.name = name
        self._make = make
        self._process: Optional[multiprocessing.process.BaseProcess] = None
        self._conn: Any = None
        self._started = False  # start() called, its first answer not yet read

    def start(self) -> None:
        """Spawn the process and return at once: readers import their libraries side by
        side. The first :meth:`call` (or :meth:`wait_ready`) waits for it."""
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, self._make),
                                        name=f"fastdcm-bench-{self.name}", daemon=True)
        self._process.start()
        child.close()  # else the pipe stays open after the child dies, and recv() waits
        self._started = True

    def wait_ready(self) -> None:
        """Raises Missing when the library is not installed, Crashed when importing it
        killed the process."""
        if self._conn is None:
            self.start()
        if self._started:
            self._started = False
            self._receive()

    def call(self, method: str, *args: Any) -> Any:
        """Run ``method`` of the child's session; a dead child is replaced first."""
        self.wait_ready()
        try:
            self._conn.send((method, args))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self._died()
        return self._receive()

    def _receive(self) -> Any:
        try:
            kind, value = self._conn.recv()
        except (EOFError, ConnectionResetError, OSError):
            self._died()
        if kind == "missing":
            self.close()
            raise Missing(value)
        if kind == "error":
            raise ReaderError(value)
        return value

    def _died(self) -> None:
        process = self._process
        self._conn.close()
        self._conn = self._process = None
        process.join()
        raise Crashed(process.exitcode)

    def close(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.send(None)
        except OSError:
            pass
        self._conn.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn = self._process = None
        self._started = False
