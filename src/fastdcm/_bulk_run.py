"""Finding the files of an archive and reading them on all cores, as a stream of batches.

Workers are processes, not threads: a CT slice costs about 25 microseconds, of which the
GIL-free scan is about 4, so threads wait on each other for the rest (measured: 2 threads
index no faster than 1; see README, "Bulk indexing"). The parent lists directories and
hands out chunks of paths, and reads chunks itself; each worker opens, reads and converts
its chunk into an Arrow record batch, which comes back in Arrow's IPC format. Once every
chunk is handed out, the parent reads what the workers have not yet claimed of theirs
(see _bulk_claims), so that all finish together. At most a few chunks per worker are in
flight, so memory stays bounded however many files there are, and batches come back in
the order of the paths.
"""
from __future__ import annotations

import ctypes
import gc
import mmap
import multiprocessing
import os
import pickle
import signal
import stat
import sys
import tempfile
import time
import traceback
from itertools import chain, islice
from multiprocessing import reduction
from multiprocessing.connection import Connection, wait
from typing import Dict, Iterable, Iterator, List, Optional, Set, TextIO, Tuple

import pyarrow as pa

from fastdcm._bulk_claims import Claims
from fastdcm._bulk_read import Plan, read_chunk
from fastdcm._listing import FILE, FOLDER, list_folder

# Files per task: ~25 ms of work, against ~0.7 ms for a worker to hand its batch over
# (serialize, spool, send) and ~0.15 ms for this process to map it. The smaller chunks at
# the end (see _chunks) keep a worker from idling while this process reads a large one;
# the other way round, this process takes back what a worker has not begun (see
# _bulk_claims). 20,000 CT slices on 2 processes take 6% less CPU in all than with
# 256-file chunks, and no less with 2,048 (whose rows then crowd the caches).
CHUNK_FILES = 1024
# The smallest chunk handed out at the end of a run (see _chunks).
TAIL_CHUNK_FILES = 64
# Chunks queued per worker: two, so that one is there when the other is done; more would
# be pickled and sent only for this process to take them back at the end.
TASKS_PER_WORKER = 2
# Chunks read but not yet handed back in order, per process: a few, so that memory stays
# bounded, but enough that the small chunks at the end (see _chunks) need not wait for
# an older one to come back.
WINDOW_PER_PROCESS = 6
PR_SET_PDEATHSIG = 1
# A worker's answer for a chunk the parent read instead.
SKIPPED = "skipped"


class WorkerDied(RuntimeError):
    """A worker process ended while it had chunks to read (killed: by the kernel's
    out-of-memory killer, say). The scan cannot complete, but an index's journal holds what
    was written: ``--resume`` goes on from there."""

    def __init__(self) -> None:
        super().__init__("a bulk worker process died")


def discover(paths: Iterable[str], exclude: Set[Tuple[int, int]] = frozenset()
             ) -> Iterator[str]:
    """Every file under `paths` (files named directly are taken as they are), in name order.

    Names starting with "." are skipped, as are symbolic links to directories (they could
    loop) and files whose (device, inode) is in `exclude` (the index being written). What
    a file is, DICOM, DICOMDIR or not DICOM at all, is for its reader to say, not its name;
    a folder that cannot be listed comes as a path of its own, for its row to say why.
    """
    # Runs of paths chained in C: a generator per path would cost as much as the listing.
    return chain.from_iterable(_runs(paths, exclude))


def _runs(paths: Iterable[str], exclude: Set[Tuple[int, int]]) -> Iterator[List[str]]:
    named = [os.fspath(path) for path in paths]
    # FileNotFoundError for a wrong name, before any file is read
    folders = [stat.S_ISDIR(os.stat(path).st_mode) for path in named]
    for path, folder in zip(named, _once(named, folders)):
        if folder is None:
            continue
        yield from _walk(path, exclude) if folder else [[path]]


def _once(named: List[str], folders: List[bool]) -> List[Optional[bool]]:
    """`folders`, with None for a path named before or inside a folder that is named too
    (`index A A/sub`): a file is one row however many times it was named. Told by the
    paths' text, made absolute only when a folder is named (a list of a million files
    alone is checked in a third of a second, not three), and without following links."""
    if len(named) < 2:
        return list(folders)
    tops = {os.path.abspath(path) for path, folder in zip(named, folders) if folder}
    seen: Set[str] = set()
    once: List[Optional[bool]] = []
    for path, folder in zip(named, folders):
        key = os.path.abspath(path) if tops else path
        once.append(None if key in seen or _under(key, tops) else folder)
        seen.add(key)
    return once


def _under(path: str, folders: Set[str]) -> bool:
    """Whether a folder above `path` is one of `folders`."""
    while folders:
        parent = os.path.dirname(path)
        if parent == path:
            return False
        if parent in folders:
            return True
        path = parent
    return False


def _walk(top: str, exclude: Set[Tuple[int, int]]) -> Iterator[List[str]]:
    """The files under `top`, in runs of paths: a folder's own paths, when it holds no
    folder, as list_folder gives them (no copy), else those between its subfolders.

    Depth first over a stack of listings, not by recursion: a tree can be deeper than
    Python's recursion limit (1,200 levels fit in PATH_MAX)."""
    inodes = {inode for _, inode in exclude}
    run: List[str] = []
    stack = [iter([(top, FOLDER)])]
    while stack:
        for path, kind in stack[-1]:
            if kind != FOLDER:
                if kind == FILE or _identity(path) not in exclude:  # inodes are not unique
                    run.append(path)
                continue
            try:
                paths, kinds = list_folder(path, inodes)
            except OSError:  # its row says why (see _bulk_values.file_version)
                run.append(path)
                continue
            if kinds.count(FILE) == len(kinds):
                yield run
                yield paths
                run = []
                continue
            stack.append(zip(paths, kinds))
            break
        else:
            stack.pop()
    yield run


def _identity(path: str) -> Tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return st.st_dev, st.st_ino


def batches(plan: Plan, paths: Iterable[str], workers: int,
            most_files: Optional[int] = None) -> Iterator[pa.RecordBatch]:
    """Record batches of ``plan.schema`` for `paths` (at most `most_files` rows each), read
    by `workers` processes (this one and workers - 1 forked from it), in path order."""
    size = min(CHUNK_FILES, most_files or CHUNK_FILES)
    if workers <= 1:
        for chunk in iter(lambda it=iter(paths): list(islice(it, size)), []):
            yield read_chunk(plan, chunk)
        return
    chunks = _chunks(paths, size, workers)
    # The first paths are listed before the fork: a worker has nothing to read until then,
    # and after it this process would copy every page of its heap the listing writes on
    # (20,000 CT slices, 1 -> 2 processes: 1.62x listing after the fork, 1.66-1.70x before).
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if second is None:  # one chunk (a few dozen files): a worker would cost more than it saves
        yield read_chunk(plan, first)
        return
    with _Workers(plan, workers - 1) as pool:
        yield from pool.map(chain((first, second), chunks))


def _chunks(paths: Iterable[str], size: int, workers: int) -> Iterator[List[str]]:
    """Chunks of `size` paths, and smaller ones once the end is in sight, so that the
    processes finish together: the files left are shared out in chunks of a
    2 x `workers`-th of them (at least TAIL_CHUNK_FILES), rather than one process reading
    a whole last chunk while the others wait for it."""
    found = iter(paths)
    ahead = size * workers * (TASKS_PER_WORKER + 1)  # paths looked at before handing out
    waiting = list(islice(found, ahead))
    while waiting:
        if len(waiting) < ahead:
            waiting += islice(found, ahead - len(waiting))
        count = size
        if len(waiting) < ahead:  # no more paths to come
            count = min(size, max(TAIL_CHUNK_FILES, -(-len(waiting) // (2 * workers))))
        yield waiting[:count]
        del waiting[:count]


class _Workers:
    """Worker processes, each fed chunks of paths through its own pipe, and this process
    reading chunks too whenever none of theirs is ready: it has no fork to pay for, its
    caches are warm, and otherwise it would sit idle on a core that ``workers`` counts.
    Once every chunk is handed out, it takes back, last chunk first, what workers have
    not claimed of theirs, so that no process waits while another has files to read.

    multiprocessing.Pool costs the parent about a millisecond of CPU per task in its
    helper threads, a fifth of what the task itself is worth; a pipe per worker and a
    select over them cost a tenth of that. A batch comes back in Arrow's IPC format in a
    nameless file in memory (its descriptor passed over the pipe), mapped by the parent
    without a copy: read from the pipe, its bytes cost the parent ~0.4 ms a batch (the
    pipe holds 64 KB at a time); a named file would outlive a parent killed by kill -9.
    Batches are put back in order, at most WINDOW_PER_PROCESS chunks per process ahead.
    """

    def __init__(self, plan: Plan, count: int):
        context = _context()
        self.pipes: List[Connection] = []
        self.processes = []
        self.plan = plan
        self.claims = Claims(WINDOW_PER_PROCESS * (count + 1), context.Lock())
        # pyarrow imports pandas (when installed) on its first array, a sixth of a second:
        # done here, once, every worker inherits it. Objects the workers inherit are kept
        # out of garbage collections, theirs and this process's, while the workers live: a
        # collection would touch, so copy, every page of the heap they share.
        pa.array([], pa.null())
        gc.freeze()
        _release_free_memory()
        try:
            for _ in range(count):
                ours, theirs = context.Pipe()
                process = context.Process(target=_serve, args=(theirs, plan, self.claims),
                                          daemon=True)
                process.start()
                theirs.close()
                self.pipes.append(ours)
                self.processes.append(process)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise

    def map(self, chunks: Iterator[List[str]]) -> Iterator[pa.RecordBatch]:
        window = self.claims.slots
        busy = {pipe: 0 for pipe in self.pipes}
        queued: Dict[int, List[str]] = {}  # sent to a worker that has not answered yet
        parts: Dict[int, List[Tuple[int, pa.RecordBatch]]] = {}  # (first row, batch)
        missing: Dict[int, int] = {}  # rows of a chunk not back yet
        sent = wanted = 0
        chunk: Optional[List[str]] = next(chunks, None)
        while chunk is not None or wanted < sent:
            for pipe in self.pipes:
                while chunk is not None and busy[pipe] < TASKS_PER_WORKER and \
                        sent < wanted + window:
                    _send(pipe, (sent, chunk))
                    queued[sent], parts[sent], missing[sent] = chunk, [], len(chunk)
                    busy[pipe] += 1
                    sent += 1
                    chunk = next(chunks, None)
            working = [pipe for pipe in self.pipes if busy[pipe]]
            ready = wait(working, timeout=0)
            if not ready and chunk is not None and sent < wanted + window:
                parts[sent], missing[sent] = [(0, read_chunk(self.plan, chunk))], 0
                sent += 1
                chunk = next(chunks, None)
            elif working and (ready or chunk is not None
                              or not self._take_back(queued, parts, missing)):
                for pipe in ready or wait(working):
                    number, batch = _receive(pipe, self.plan.schema)
                    busy[pipe] -= 1
                    del queued[number]
                    if batch is not None:
                        parts[number].append((0, batch))
                        missing[number] -= batch.num_rows
            while wanted < sent and not missing[wanted]:
                del missing[wanted]
                for _, batch in sorted(parts.pop(wanted), key=lambda part: part[0]):
                    yield batch
                wanted += 1

    def _take_back(self, queued: Dict[int, List[str]],
                   parts: Dict[int, List[Tuple[int, pa.RecordBatch]]],
                   missing: Dict[int, int]) -> bool:
        """Read files of the last chunk sent to a worker that it has not claimed (see
        _bulk_claims), if there are any: once every chunk is handed out, rather than
        wait for a worker, this process works through its chunks from the other end."""
        for number in sorted(queued, reverse=True):
            taken = self.claims.take_back(number, len(queued[number]))
            if taken is not None:
                start, end = taken
                parts[number].append((start, read_chunk(self.plan,
                                                        queued[number][start:end])))
                missing[number] -= end - start
                return True
        return False

    def __enter__(self) -> "_Workers":
        return self

    def __exit__(self, *exc: object) -> None:
        """Tell the workers to stop (None: a closed pipe alone may not reach a worker whose
        pipe a later fork inherited), without waiting the 2 ms each takes to exit
        (multiprocessing reaps them later). After an error, busy workers are terminated."""
        for pipe in self.pipes:
            try:
                pipe.send_bytes(pickle.dumps(None))
            except OSError:
                pass  # that worker is gone already
            pipe.close()
        gc.unfreeze()
        if exc[0] is not None:
            for process in self.processes:
                process.terminate()
                process.join()


def _release_free_memory() -> None:
    """Hand memory freed before the fork (by an earlier scan, say) back to the system:
    reused after it, each of its pages would first be copied, the parent's and the
    child's alike. 20,000 CT slices on 2 processes, a scan after another: 5,700 -> 3,100
    page faults in the parent, for 0.2-0.6 ms here."""
    pa.default_memory_pool().release_unused()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc's; others lack it
    if trim is not None:
        trim(0)


def _spool(data: pa.Buffer) -> int:
    """A nameless file in memory holding `data`, open for the parent to map: a memfd
    where there is one (a 1 MB batch in 0.3 ms, against 0.75 ms for a TemporaryFile in
    /dev/shm), else a temporary file (in /dev/shm when writable: never on a disk)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("fastdcm-batch", os.MFD_CLOEXEC)
    else:
        folder = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        with tempfile.TemporaryFile(dir=folder) as spool:
            fd = os.dup(spool.fileno())
    view, written = memoryview(data), 0
    try:
        while written < len(view):
            written += os.write(fd, view[written:])
    except BaseException:
        os.close(fd)
        raise
    return fd


def _send(pipe: Connection, task: Tuple[int, List[str]]) -> None:
    try:
        pipe.send_bytes(pickle.dumps(task))
    except ConnectionError:  # broken or reset: the worker is gone
        raise WorkerDied() from None


def _receive(pipe: Connection, schema: pa.Schema
             ) -> Tuple[int, Optional[pa.RecordBatch]]:
    """A worker's next batch, mapped from the file whose descriptor follows its number;
    None for a chunk it left to the parent (see _bulk_claims)."""
    try:
        number, outcome = pickle.loads(pipe.recv_bytes())
        if outcome == SKIPPED:
            return number, None
        if outcome is not None:
            raise RuntimeError(f"a bulk worker failed:\n{outcome}")
        descriptor = reduction.recv_handle(pipe)
    except (EOFError, ConnectionError):  # reset: killed with our last task unread
        raise WorkerDied() from None
    try:
        memory = mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(descriptor)
    return number, pa.ipc.read_record_batch(pa.py_buffer(memory), schema)


def _context() -> multiprocessing.context.BaseContext:
    """fork where there is one: a worker starts in milliseconds with the parent's imports,
    where a fresh interpreter takes a third of a second to import numpy and pyarrow."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _serve(pipe: Connection, plan: Plan, claims: Claims) -> None:
    """A worker: read the chunks it is sent, what the parent has not taken back of them
    (see _bulk_claims), until told to stop (None) or orphaned.

    Ctrl-C is the parent's to handle; a worker dies with its parent, even by kill -9.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        _work(pipe, plan, claims)
    except BrokenPipeError:
        pass  # the parent is done: it needs no word about chunks it read itself


def _work(pipe: Connection, plan: Plan, claims: Claims) -> None:
    while True:
        try:
            task = pickle.loads(pipe.recv_bytes())
        except EOFError:
            return
        if task is None:
            return
        number, chunk = task
        try:
            batch = read_chunk(plan, _claimed(claims, number, chunk))
            if not batch.num_rows:  # the parent read the chunk
                pipe.send_bytes(pickle.dumps((number, SKIPPED)))
                continue
            data = batch.serialize()
        except Exception:  # a bug, not a file's fault: the parent reports it
            pipe.send_bytes(pickle.dumps((number, traceback.format_exc())))
            continue
        spool = _spool(data)
        try:
            pipe.send_bytes(pickle.dumps((number, None)))
            reduction.send_handle(pipe, spool, os.getppid())
        finally:
            os.close(spool)


def _claimed(claims: Claims, number: int, chunk: List[str]) -> Iterator[str]:
    """The paths of chunk `number` that its worker claims, piece by piece."""
    start = 0
    while True:
        end = claims.next_piece(number, start, len(chunk))
        if end == start:
            return
        yield from chunk[start:end]
        start = end


def worker_count(workers: Optional[int]) -> int:
    """How many processes read, for a `workers` argument: every core for None."""
    if workers is None:
        return default_workers()
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (None: every core), not {workers}")
    return workers


def default_workers() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Progress:
    """A one-line progress report (files, files/s, errors, ETA), redrawn at most 5 times a
    second on `stream`: for a terminal (callers make one only when stderr is a tty)."""

    def __init__(self, total: Optional[int], stream: TextIO = sys.stderr):
        self.total = total
        self.stream = stream
        self.done = self.errors = 0
        self.start = self.shown = time.monotonic()

    def add(self, files: int, errors: int) -> None:
        self.done += files
        self.errors += errors
        now = time.monotonic()
        if now - self.shown >= 0.2:
            self.shown = now
            self._draw(now)

    def close(self) -> None:
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self.start, 1e-9)
        line = f"{self.done:,} files  {rate:,.0f} files/s  {self.errors:,} errors"
        if self.total:
            left = max(self.total - self.done, 0)
            line = (f"{self.done:,}/{self.total:,} files  {rate:,.0f} files/s  "
                    f"{self.errors:,} errors  ETA {left / rate if rate else 0:,.0f} s")
        self.stream.write("\r" + line.ljust(78))
        self.stream.flush()
