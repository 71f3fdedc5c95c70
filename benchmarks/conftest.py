"""Fixtures of the benchmark suite: the generated corpus, made on first use.

The corpus lives in benchmarks/corpus/ (gitignored). It is generated from pydicom's
templates the first time a session needs it and reused while its manifest is current, so
the first run pays a few seconds and later runs nothing.
"""
from __future__ import annotations

from typing import Dict, List

import pytest

import make_corpus


@pytest.fixture(scope="session")
def corpus() -> Dict[str, List[str]]:
    """Paths of the corpus files by kind ("ct", "enhanced_undefined", "enhanced_defined")."""
    return {kind: [str(p) for p in paths]
            for kind, paths in make_corpus.ensure_corpus().items()}
