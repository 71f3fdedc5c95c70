"""Print fastdcm's speed-ups from a pytest-benchmark JSON file, group by group.

For every group, each fastdcm variant is compared with every other reader's benchmark in
the same run: ratio = other reader's median time / fastdcm's median time (medians, because
a shared machine adds the odd slow round). Where the competitor's benchmark names a
target (``extra_info["target"]``, set in test_bench_core.py), the ratio is checked
against it. A benchmark that timed its own baseline, interleaved with its rounds, carries
the ratio itself (``extra_info["ratio"]`` against ``extra_info["baseline"]``, as the bulk
scaling does), checked against its own target.

Usage:
    python -m pytest benchmarks --benchmark-json=bench.json
    python benchmarks/report.py bench.json [--check]

``--check`` exits with status 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List


def _label(bench: dict) -> str:
    name = bench["name"].removeprefix("test_")
    return name.split("[")[0]


def _time(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:9.2f} ms"
    return f"{seconds * 1e6:9.1f} us"


def _ratio(ratio: float) -> str:
    """Two decimals below 10x: a 1.76x speed-up printed as 1.8x would seem to meet 1.8x."""
    return f"{ratio:.2f}" if ratio < 10 else f"{ratio:.1f}"


def report(data: dict) -> List[str]:
    """Print the table; return the missed targets, one line each."""
    groups: Dict[str, List[dict]] = defaultdict(list)
    for bench in data["benchmarks"]:
        groups[bench["group"] or "(none)"].append(bench)
    machine = data.get("machine_info", {})
    print(f"{machine.get('cpu', {}).get('brand_raw', '?')}, "
          f"Python {machine.get('python_version', '?')}, {data.get('datetime', '')}")
    missed = []
    for group in sorted(groups):
        benches = groups[group]
        ours = [b for b in benches if b["extra_info"].get("reader") == "fastdcm"]
        others = [b for b in benches if b["extra_info"].get("reader") != "fastdcm"]
        print(f"\n{group}")
        for bench in sorted(benches, key=lambda b: b["stats"]["median"]):
            stats = bench["stats"]
            print(f"  {_label(bench):40s} median {_time(stats['median'])}  "
                  f"min {_time(stats['min'])}  rounds {stats['rounds']}")
        comparisons = []  # (baseline's label, fastdcm's benchmark, ratio, target)
        for mine in ours:
            info = mine["extra_info"]
            if "ratio" in info:  # timed its own baseline, interleaved with its rounds
                comparisons.append((f"{info['baseline']} (median "
                                    f"{_time(info['baseline_median']).strip()})",
                                    mine, info["ratio"], info.get("target")))
                continue
            comparisons += [(_label(other), mine,
                             other["stats"]["median"] / mine["stats"]["median"],
                             other["extra_info"].get("target")) for other in others]
        for baseline, mine, ratio, target in comparisons:
            verdict = ""
            if target is not None:
                verdict = f"  target {target}x: {'met' if ratio >= target else 'MISSED'}"
                if ratio < target:
                    missed.append(f"{group}: {baseline} / {_label(mine)} = "
                                  f"{_ratio(ratio)}x < {target}x")
            print(f"  {baseline} / {_label(mine)}: {_ratio(ratio):>6s}x{verdict}")
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json_file", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 when a target is missed")
    args = parser.parse_args()
    missed = report(json.loads(args.json_file.read_text()))
    if missed:
        print("\nmissed targets:\n  " + "\n  ".join(missed))
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
