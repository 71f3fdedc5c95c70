"""``fastdcm index ARCHIVE_DIR -o index.parquet``: the options of fastdcm.bulk.index, and a
summary a person can read (files, studies, series, modalities, errors) when it is done.

Kept apart from cli.py so that the command list there stays one line per command, and
imported without pyarrow: only running the command needs it.
"""
from __future__ import annotations

import argparse
import sys
import time

HELP = "Index DICOM files into a Parquet table, a row per file (needs fastdcm[bulk])."


def _at_least_one(text: str) -> int:
    """A count option's value: a whole number from 1 (0 or -1 are not "all cores")."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archives", nargs="+", metavar="ARCHIVE_DIR",
                        help="folders (searched recursively) or files to index")
    parser.add_argument("-o", "--output", required=True, help="the Parquet file to write")
    parser.add_argument("--tags", help="comma-separated keywords or hex tags: replace the "
                        "default set, or add to it with a leading '+' (+PatientWeight,00181030)")
    parser.add_argument("--all-tags", action="store_true",
                        help="also keep every top-level element as DICOM JSON (dicom_json)")
    parser.add_argument("--workers", type=_at_least_one,
                        help="processes to read with (default: all cores)")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="go on with an interrupted run: "
                       "files already indexed with the same size and mtime are not read again")
    again.add_argument("--update", action="store_true", help="bring a finished index up to "
                       "date: re-read changed and new files, drop rows of files that are gone")
    parser.add_argument("--row-group-rows", type=_at_least_one, default=16384,
                        help="rows per Parquet row group, and per journal part (what a kill "
                        "can lose)")


def _resume(args: argparse.Namespace) -> str:
    return f"`fastdcm index ... -o {args.output} --resume` goes on from where it stopped"


def run(args: argparse.Namespace) -> int:
    """Index, then print the summary; 1 when the run could not be made."""
    try:
        from fastdcm import bulk
        from fastdcm._bulk_run import WorkerDied
    except ImportError as exc:
        print(f"fastdcm index needs pyarrow (pip install 'fastdcm[bulk]'): {exc}",
              file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        bulk.index(args.archives, args.output, bulk.resolve_tags(args.tags),
                   all_tags=args.all_tags, workers=args.workers,
                   resume=args.resume or args.update, progress=True,
                   row_group_rows=args.row_group_rows)
    except (OSError, ValueError) as exc:  # a missing folder, an unknown tag, a foreign index
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"fastdcm: {getattr(exc, 'filename', None) or args.output}: {message}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: the parts written so far are kept, for --resume
        print(f"fastdcm: interrupted: {_resume(args)}", file=sys.stderr)
        return 130  # as a shell reports a process that SIGINT ended
    except WorkerDied as exc:
        print(f"fastdcm: {exc} (out of memory?): {_resume(args)}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    summary = bulk.summarize(args.output)
    for line in summary.lines():
        print(line)
    print(f"wrote {args.output} in {seconds:.2f} s ({summary.files / seconds:,.0f} files/s)")
    return 0
