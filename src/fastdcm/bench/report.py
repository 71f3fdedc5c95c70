"""The report of a ``fastdcm bench`` run: a table on stdout, report.md, results.json and a
bar chart (bench.png, when matplotlib is installed).

The ratio column is pydicom's median divided by the reader's: how many times faster than
pydicom, the question users come with. A reader whose answers differ from pydicom's keeps
its times, but its check column says MISMATCH so its speed is not read as a win.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from fastdcm.bench.runner import Result

HEADER = ("task", "reader", "files", "median / file", "IQR", "vs pydicom", "peak memory", "check")


def _time(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def _ratio(result: Result, results: Sequence[Result]) -> str:
    base = next((r.median for r in results
                 if r.label == result.label and r.reader == "pydicom"), None)
    if base is None or result.median is None:
        return "-"
    ratio = base / result.median
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2g}x"


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB"


def rows(results: Sequence[Result]) -> List[List[str]]:
    return [[r.label, r.reader, str(r.files or "-"), _time(r.median), _time(r.iqr),
             _ratio(r, results), _size(r.peak_bytes) if r.times else "-", r.check]
            for r in results]


def text_table(results: Sequence[Result]) -> str:
    table = [list(HEADER)] + rows(results)
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in table)


def markdown_table(results: Sequence[Result]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    return "\n".join(lines)


def chart(results: Sequence[Result], path: Path) -> bool:
    """Median time per file, a group of bars per task (log scale: readers differ by orders
    of magnitude). False when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    tasks = list(dict.fromkeys(r.label for r in results))
    readers = list(dict.fromkeys(r.reader for r in results))
    width = 0.8 / max(len(readers), 1)
    figure, axes = plt.subplots(figsize=(3 + 0.9 * len(tasks), 5))
    for n, reader in enumerate(readers):
        found = {r.label: r for r in results if r.reader == reader and r.median}
        xs = [i + n * width for i, t in enumerate(tasks) if t in found]
        heights = [found[t].median * 1e3 for t in tasks if t in found]
        label = reader + ("" if all(found[t].check in ("ok", "unchecked (pydicom not installed)")
                                    for t in found) else " (MISMATCH)")
        axes.bar(xs, heights, width, label=label)
    axes.set_xticks([i + width * (len(readers) - 1) / 2 for i in range(len(tasks))], tasks,
                    rotation=30, ha="right")
    axes.set_yscale("log")
    axes.set_ylabel("median time per file (ms, log)")
    axes.set_title("fastdcm bench: lower is faster")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def write(results: Sequence[Result], out: Path, context: Dict[str, Any]) -> List[str]:
    """Write report.md, results.json and bench.png into ``out``; return what to tell the
    user about the files."""
    out.mkdir(parents=True, exist_ok=True)
    notes = []
    has_chart = chart(results, out / "bench.png")
    if not has_chart:
        notes.append("matplotlib is not installed: no chart (pip install matplotlib)")
    (out / "results.json").write_text(json.dumps(
        {"context": context, "results": [r.as_dict() for r in results]}, indent=2))
    lines = ["# fastdcm bench", "", f"Command: `{context['command']}`", "",
             f"Machine: {context['machine']}", "", f"Files: {context['files']}", "",
             markdown_table(results), "",
             "Median time per file over interleaved rounds, IQR as the spread; 'vs pydicom' "
             "is pydicom's median / the reader's. Peak memory: Python and numpy allocations "
             "(tracemalloc) during one round; memory held inside C++ libraries is not seen. "
             "check: the answers compared once with pydicom's on every file; each reader "
             "runs in a process of its own, so one that crashes is reported as such on "
             "that row and the run goes on. Pixel tasks have a row per transfer syntax; "
             "'unsupported' is a reader without a decoder for it."]
    if has_chart:
        lines += ["", "![median time per file](bench.png)"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return notes + [f"wrote {out / 'report.md'}, {out / 'results.json'}"
                    + (f", {out / 'bench.png'}" if has_chart else "")]
