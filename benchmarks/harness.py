"""What every benchmark module shares: the warm-up-then-measure call labelled for report.py,
and the manifest that lets a generated corpus be reused until its generator changes."""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

MANIFEST = "manifest.json"
Corpus = Dict[str, List[Path]]


def run(benchmark: Any, work: Callable[[], Any], reader: str, target: Optional[float] = None,
        warm_seconds: float = 0.2) -> Any:
    """Warm `work` up (imports, caches, page cache), then benchmark it, labelled for report.py."""
    end = time.perf_counter() + warm_seconds
    work()
    while time.perf_counter() < end:
        work()
    benchmark.extra_info["reader"] = reader
    if target is not None:
        benchmark.extra_info["target"] = target
    return benchmark(work)


def fresh_folder(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)


def write_manifest(out: Path, version: int, corpus: Corpus) -> Corpus:
    names = {kind: [str(p.relative_to(out)) for p in paths] for kind, paths in corpus.items()}
    (out / MANIFEST).write_text(json.dumps({"version": version, "files": names}, indent=1))
    return corpus


def ensure_corpus(out: Path, version: int, generate: Callable[[Path], Corpus]) -> Corpus:
    """Paths of an up-to-date corpus in `out` by kind, generating it when missing or stale."""
    try:
        manifest = json.loads((out / MANIFEST).read_text())
        corpus = {kind: [out / name for name in names]
                  for kind, names in manifest["files"].items()}
        if (manifest["version"] == version
                and all(p.is_file() for paths in corpus.values() for p in paths)):
            return corpus
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return generate(out)


def corpus_main(description: str, default_dir: Path, generate: Callable[[Path], Corpus],
                ensure: Callable[[Path], Corpus]) -> None:
    """The command line of a corpus generator: print what is there, make it when needed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=default_dir)
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = parser.parse_args()
    corpus = generate(args.out) if args.force else ensure(args.out)
    for kind, paths in corpus.items():
        print(f"{kind}: {len(paths)} file(s), e.g. {paths[0]}")
