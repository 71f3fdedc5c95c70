"""The ``fastdcm bench`` subcommand: arguments, the files to read, and the run.

Without a folder it generates the corpus of fastdcm.bench.corpus into a temporary folder
and removes it afterwards, so that the command answers "how fast" on a fresh install.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shlex
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from fastdcm.bench import corpus, encoders, readers, report, runner, tasks
from fastdcm.bench.worker import Crashed, Missing, Worker
from fastdcm.errors import InvalidDicomError
from fastdcm.reader import read

HELP = "Time fastdcm against other DICOM readers on your files (or a generated corpus)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="*", metavar="DIR",
                        help="folders (or files) to read; none: a generated corpus")
    parser.add_argument("--readers", default=",".join(readers.READERS),
                        help="comma-separated readers (default: %(default)s)")
    parser.add_argument("--tasks", default=",".join(tasks.TASKS),
                        help="comma-separated tasks (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("report"),
                        help="folder for report.md, results.json, bench.png")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per reader")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")


def machine() -> str:
    """Cores and CPU model: what a reader of the report needs to compare with their own."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(line.split(":", 1)[1].strip() for line in info
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, "
            f"{platform.system()}")


def dicom_files(targets: Sequence[str]) -> List[str]:
    """Every file under the targets that fastdcm recognises as DICOM, sorted."""
    found = []
    for target in targets:
        if os.path.isfile(target):
            found.append(target)
        for root, _, names in os.walk(target):
            found += [os.path.join(root, name) for name in names]
    readable = []
    for path in sorted(found):
        try:
            read(path, stop_before_pixels=True).close()
            readable.append(path)
        except (InvalidDicomError, OSError):
            continue
    return readable


def _names(text: str, known: Sequence[str], kind: str) -> List[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"fastdcm bench: unknown {kind}: {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")
    return names


def _workers(names: Sequence[str]) -> Tuple[List[Worker], Optional[Worker]]:
    """Started workers of the installed readers among ``names`` (a line printed for each
    missing one), and pydicom's, which judges every answer even when not benchmarked."""
    wanted = list(names) + ([] if "pydicom" in names else ["pydicom"])
    started = [Worker(name, readers.READERS[name][1]) for name in wanted]
    for worker in started:  # imports run side by side
        worker.start()
    ready = []
    for worker in started:
        try:
            worker.wait_ready()
            ready.append(worker)
        except Missing:
            if worker.name in names:
                print(readers.skipped(worker.name))
        except Crashed as exc:
            print(f"{worker.name}: {exc} on start, skipped")
    reference = next((w for w in ready if w.name == "pydicom"), None)
    if reference is None:
        print("pydicom is not installed: answers are not checked (pip install pydicom)")
    return [w for w in ready if w.name in names], reference


def bench(files: Sequence[str], reader_names: Sequence[str], task_names: Sequence[str],
          out: Path, rounds: int, warmup: int, command: str) -> int:
    """Run the tasks, print the table, write the report; the exit status."""
    if "index" in task_names and importlib.util.find_spec("pyarrow") is None:
        print("index: fastdcm.bulk needs pyarrow, task skipped (pip install 'fastdcm[bulk]')")
        task_names = [t for t in task_names if t != "index"]
    chosen, reference = _workers(reader_names)
    try:
        print(f"{len(files)} files, readers: {', '.join(w.name for w in chosen)}")
        results = []
        for name in task_names:
            task = tasks.TASKS[name]
            for syntax, group in tasks.groups(task, files):
                results += runner.run_task(task, chosen, group, reference, rounds, warmup,
                                           syntax)
    finally:
        for worker in {*chosen, reference} - {None}:
            worker.close()
    print()
    print(report.text_table(results))
    context = {"command": command, "machine": machine(), "files": len(files)}
    for line in report.write(results, out, context):
        print(line)
    return 1 if any(r.failed for r in results) else 0


def run(args: argparse.Namespace) -> int:
    reader_names = _names(args.readers, list(readers.READERS), "reader")
    task_names = _names(args.tasks, list(tasks.TASKS), "task")
    command = " ".join(["fastdcm bench", *map(shlex.quote, args.dirs),
                        f"--readers {','.join(reader_names)}", f"--tasks {','.join(task_names)}",
                        f"--rounds {args.rounds}", f"--out {shlex.quote(str(args.out))}"])
    if args.dirs:
        files = dicom_files(args.dirs)
        if not files:
            print("fastdcm bench: no DICOM files found", file=sys.stderr)
            return 2
        return bench(files, reader_names, task_names, args.out, args.rounds, args.warmup,
                     command)
    with tempfile.TemporaryDirectory(prefix="fastdcm-bench-") as folder:
        print(f"no DIR given: generating a corpus in {folder} (removed afterwards)")
        if not encoders.available():
            print("imagecodecs is not installed: the corpus has no JPEG-family files "
                  "(pip install 'fastdcm[jpeg]')")
        files = [str(p) for p in corpus.generate(Path(folder))]
        return bench(files, reader_names, task_names, args.out, args.rounds, args.warmup,
                     command)
