"""The real files the conformance tests run over: pydicom's own test and charset files and
the pydicom-data package, found through the installed packages (test dependencies)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import List

SKIP_SUFFIXES = {".py", ".pyc", ".json", ".txt", ".dump", ".gz", ".icc", ".md", ".bz2", ".zip"}


def _files_under(folder: Path) -> List[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() not in SKIP_SUFFIXES and "__pycache__" not in p.parts
    )


def reference_files() -> List[Path]:
    """Every candidate file; pydicom decides which of them are DICOM."""
    import pydicom.data

    base = Path(pydicom.data.__file__).parent
    files = _files_under(base / "test_files") + _files_under(base / "charset_files")
    try:
        import data_store  # pydicom-data

        files += _files_under(Path(data_store.__file__).parent / "data")
    except ImportError:
        pass
    return files


def file_id(path: Path) -> str:
    parts = path.parts
    return os.path.join(*parts[-2:])
