"""`fastdcm bench`'s tasks under pytest-benchmark, so the suite and the command never disagree.

For every task of fastdcm.bench.tasks (pixel tasks once per transfer syntax, as the
command's rows) and every reader of fastdcm.bench.readers that is installed, this times the
very callable the command times, ``measure.run_round`` over the task's jobs, on the
command's generated corpus, and checks the answers once against pydicom's with the
command's own ``measure.check``: a MISMATCH fails the test. What differs is only who times:
pytest-benchmark here, in this process; the command in one process per reader, with
interleaved rounds. Groups are the command's row labels; ``extra_info["reader"]`` lets
report.py print each reader against fastdcm.

The corpus (``corpus.generate`` defaults, about 75 MB) is kept in
``$FASTDCM_BENCH_CORPUS`` (default: the system temp folder) until its generator changes;
it is made when this module is collected, since the cases depend on the syntaxes in it.

    python -m pytest benchmarks/test_bench_product.py --benchmark-json=product.json
    python benchmarks/report.py product.json
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import harness
from fastdcm.bench import corpus, encoders, measure, readers, runner, tasks

CORPUS_DIR = Path(os.environ.get("FASTDCM_BENCH_CORPUS",
                                 Path(tempfile.gettempdir()) / "fastdcm-bench-corpus"))
# The corpus holds the JPEG kinds this install can encode: another set is another corpus
CORPUS_VERSION = f"{corpus.VERSION}:{','.join(encoders.available())}"

Case = Tuple[tasks.Task, str, List[str]]  # task, transfer syntax label, files


def _generate(out: Path) -> harness.Corpus:
    harness.fresh_folder(out)
    return harness.write_manifest(out, CORPUS_VERSION, {"all": corpus.generate(out)})


def cases() -> List[Case]:
    files = [str(p) for p in harness.ensure_corpus(CORPUS_DIR, CORPUS_VERSION, _generate)["all"]]
    return [(task, syntax, group) for task in tasks.TASKS.values()
            for syntax, group in tasks.groups(task, files)]


def _case_id(case: Case) -> str:
    return runner.label(case[0].name, case[1]).replace(" (", "-").rstrip(")").replace(" ", "_")


def pytest_generate_tests(metafunc: Any) -> None:
    if "case" in metafunc.fixturenames:
        found = cases()
        metafunc.parametrize("case", found, ids=[_case_id(c) for c in found])
        metafunc.parametrize("reader_name", list(readers.READERS))


@pytest.fixture(scope="module")
def adapter() -> Callable[[str], readers.Reader]:
    """The adapter of a reader, made once; a skip with the pip line when not installed."""
    made: Dict[str, Optional[readers.Reader]] = {}

    def get(name: str) -> readers.Reader:
        if name not in made:
            found, _ = readers.load([name])
            made[name] = found[0] if found else None
        if made[name] is None:
            pytest.skip(readers.skipped(name))
        return made[name]
    return get


@pytest.fixture(scope="module")
def pydicom_answers() -> Callable[[Case], Optional[Dict[str, Any]]]:
    """pydicom's answers for a case, computed once (None: pydicom is not installed)."""
    made: Dict[str, Optional[Dict[str, Any]]] = {}

    def get(case: Case) -> Optional[Dict[str, Any]]:
        key = _case_id(case)
        if key not in made:
            found, _ = readers.load(["pydicom"])
            task, _, files = case
            made[key] = (measure.answers(task, task.jobs(found[0], files) or [], keep_going=True)
                         if found else None)
        return made[key]
    return get


def test_task(benchmark, case, reader_name, adapter, pydicom_answers):
    task, syntax, files = case
    reader = adapter(reader_name)
    jobs = task.jobs(reader, files)
    if not jobs:
        pytest.skip(f"{reader_name} has no way to do '{task.name}' (n/a in the command)")
    try:
        found = measure.answers(task, jobs)
    except Exception as exc:
        if syntax in ("", tasks.NATIVE):
            raise
        pytest.skip(f"{reader_name}: unsupported ({type(exc).__name__})")
    verdict = measure.check(task, reader, found, pydicom_answers(case))
    assert not verdict.startswith("MISMATCH"), f"{reader_name} {task.name}: {verdict}"
    benchmark.group = runner.label(task.name, syntax)
    benchmark.name = f"{reader_name}[{_case_id(case)}]"  # report.py labels rows by name
    benchmark.extra_info.update(files=len(files) if task.name == "index" else len(jobs),
                                check=verdict)
    harness.run(benchmark, lambda: measure.run_round(jobs), reader_name)
