"""The ``fastdcm`` command.

Each subcommand is an entry in :data:`COMMANDS` (made with :func:`command`): a function that
adds its arguments to its parser and a function that runs it and returns the exit status.
``main`` only builds the parser from the registry and dispatches, so adding a command means
adding one decorated function and nothing else.

``fastdcm dump FILE...`` prints one line per element in the layout of DCMTK's dcmdump, so
that people (and diff) can read the two side by side; ``--json`` prints the DICOM JSON Model.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy

from fastdcm import _bulk_cli, _scanner, dictionary
from fastdcm.bench import command as bench_command
from fastdcm.dataset import Dataset, Element
from fastdcm.errors import InvalidDicomError
from fastdcm.reader import read


AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: AddArguments
    run: Run


COMMANDS: Dict[str, Command] = {}


def command(name: str, help: str, add_arguments: AddArguments) -> Callable[[Run], Run]:
    """Register the decorated function as subcommand ``name``."""
    def register(run: Run) -> Run:
        COMMANDS[name] = Command(help, add_arguments, run)
        return run
    return register


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``fastdcm`` command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="fastdcm", description="Fast DICOM reading tools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        sub = subparsers.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(sub)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    _tolerate_unencodable_output()
    try:
        return COMMANDS[args.command].run(args)
    except BrokenPipeError:
        # The reader went away (`fastdcm dump x | head`): stop quietly, as a filter should.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _tolerate_unencodable_output() -> None:
    """Names in Japanese on a Latin-1 terminal print as escapes rather than stop the dump."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


def report_error(path: str, exc: BaseException) -> None:
    """One line on stderr per file that could not be read: ``fastdcm: FILE: message``."""
    message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    print(f"fastdcm: {path}: {message}", file=sys.stderr)


# -- dump -----------------------------------------------------------------------------------

def _dump_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="DICOM files to print")
    parser.add_argument("--json", action="store_true",
                        help="print the DICOM JSON Model (PS3.18 Annex F) instead; several "
                             "files give a JSON array")
    parser.add_argument("--stop-before-pixels", action="store_true",
                        help="read nothing from Pixel Data (7FE0,0010) on")


@command("dump", "Print the elements of DICOM files, like DCMTK's dcmdump.", _dump_arguments)
def dump(args: argparse.Namespace) -> int:
    status = 0
    documents: List[dict] = []
    out = sys.stdout
    for number, path in enumerate(args.files, 1):
        if len(args.files) > 1 and not args.json:
            out.write(f"# fastdcm dump ({number}/{len(args.files)}): {path}\n")
        try:
            with read(path, stop_before_pixels=args.stop_before_pixels) as ds:
                if args.json:
                    documents.append(ds.to_json_dict())
                    continue
                for line in dump_lines(ds):
                    out.write(line + "\n")
        except BrokenPipeError:
            raise  # an OSError of the output, not of this file: main deals with it
        except (InvalidDicomError, OSError) as exc:
            out.flush()  # what was printed of the file comes before the error
            report_error(path, exc)
            status = 1
    if args.json and (documents or len(args.files) > 1):
        result = documents[0] if len(args.files) == 1 else documents
        out.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return status


# dcmdump's columns: the value is shortened to fit PRINT_WIDTH characters, and the "#" of the
# length/VM/name part stands in column VALUE_COLUMN + 1 when the value leaves room.
PRINT_WIDTH = 70
VALUE_COLUMN = 55
ITEM_TAG = "(fffe,e000)"


def dump_lines(ds: Dataset) -> Iterator[str]:
    """The dcmdump-style listing of a file: file meta, then the data set."""
    meta = ds.file_meta
    yield ""
    yield "# Dicom-File-Format"
    yield ""
    yield "# Dicom-Meta-Information-Header"
    yield "# Used TransferSyntax: " + ("Little Endian Explicit" if len(meta)
                                        else "Unknown Transfer Syntax")
    yield from _element_lines(meta, "")
    yield ""
    yield "# Dicom-Data-Set"
    syntax = ds.transfer_syntax_uid
    yield f"# Used TransferSyntax: {_encoding(ds)}" + (f" ({syntax})" if syntax else "")
    yield from _element_lines(ds, "")


def _encoding(ds: Dataset) -> str:
    order = "Little Endian" if ds.is_little_endian else "Big Endian"
    return f"{order} {'Implicit' if ds.is_implicit_vr else 'Explicit'}"


def _line(indent: str, tag: str, vr: str, text: str, length: int, vm: int, name: str) -> str:
    head = f"{indent}{tag} {vr} {text}"
    size = "u/l" if length == 0xFFFFFFFF else str(length)
    return f"{head:<{VALUE_COLUMN + len(indent)}} # {size:>3},{vm:>2} {name}"


def _element_lines(ds: Dataset, indent: str) -> Iterator[str]:
    for element in ds:
        tag = f"({element.tag >> 16:04x},{element.tag & 0xFFFF:04x})"
        vr = element.vr
        name = _name(element)
        if vr == "SQ":
            items = element.value
            kind = "undefined" if element.is_undefined_length else "explicit"
            yield _line(indent, tag, vr, f"(Sequence with {kind} length #={len(items)})",
                        element.length, 1, name)
            for item in items:
                yield _line(indent + "  ", ITEM_TAG, "na", f"(Item #={len(item)})", 0, 1, "Item")
                yield from _element_lines(item, indent + "    ")
        elif element.is_undefined_length:
            yield from _fragment_lines(element, ds.is_little_endian, indent, tag, name)
        elif element.length == 0:
            yield _line(indent, tag, vr, "(no value available)", 0, 0, name)
        elif vr in BINARY_FORMATS:
            text = _binary_text(element.raw, vr, ds.is_little_endian)
            yield _line(indent, tag, vr, text, element.length, 1, name)
        else:
            yield _line(indent, tag, vr, _value_text(element), element.length, element.VM, name)


def _fragment_lines(element: Element, little_endian: bool, indent: str, tag: str, name: str
                    ) -> Iterator[str]:
    """Encapsulated Pixel Data: the value is a sequence of fragments (items of bytes)."""
    raw = element.raw
    fragments = _scanner.scan_items(raw, 0, len(raw), little_endian, False)
    yield _line(indent, tag, element.vr, f"(PixelSequence #={len(fragments)})",
                element.length, 1, name)
    for start, end, _ in fragments:
        text = _binary_text(raw[start:end], "OB", True) if end > start else "(no value available)"
        yield _line(indent + "  ", ITEM_TAG, "pi", text, end - start, 1, "Item")


def _name(element: Element) -> str:
    """dcmdump's name column: keyword, RETIRED_ keyword, or the private dictionary's name."""
    keyword = element.keyword
    if keyword:
        entry = dictionary.dictionary_entry(element.tag)
        return f"RETIRED_{keyword}" if entry is not None and entry.retired else keyword
    low = element.tag & 0xFFFF
    private = (element.tag >> 16) & 1
    if low == 0:
        return "PrivateGroupLength" if private else "GenericGroupLength"
    if private:
        if 0x10 <= low <= 0xFF:
            return "PrivateCreator"
        creator = element.private_creator
        if creator:
            return dictionary.private_name(creator, element.tag) or "Unknown Tag & Data"
    return "Unknown Tag & Data"


# Binary VRs: numpy dtype of one value (file byte order applied) and its printed form.
BINARY_FORMATS: Dict[str, Tuple[str, str]] = {
    "OB": ("u1", "{:02x}"), "UN": ("u1", "{:02x}"), "OW": ("u2", "{:04x}"),
    "OL": ("u4", "{:08x}"), "OV": ("u8", "{:016x}"), "OF": ("f4", "{}"), "OD": ("f8", "{}"),
}


def _binary_text(raw: memoryview, vr: str, little_endian: bool) -> str:
    """The first values of a binary element, backslash-separated, "..." when there is more."""
    code, form = BINARY_FORMATS[vr]
    dtype = numpy.dtype(code).newbyteorder("<" if little_endian else ">")
    count = min(len(raw) // dtype.itemsize, PRINT_WIDTH)  # no more values can fit a line
    values = numpy.frombuffer(raw, dtype=dtype, count=count).tolist()
    return _shorten_values([form.format(v) for v in values], count < len(raw) // dtype.itemsize)


def _shorten_values(parts: List[str], more: bool) -> str:
    """As many whole values as fit PRINT_WIDTH with a trailing "...", as dcmdump does."""
    text = "\\".join(parts)
    if not more and len(text) <= PRINT_WIDTH:
        return text
    kept: List[str] = []
    width = -1
    for part in parts:
        if width + 1 + len(part) + 3 > PRINT_WIDTH:
            break
        kept.append(part)
        width += 1 + len(part)
    return "\\".join(kept) + "..."


STRING_VRS = frozenset("AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT".split())
# C0 controls (CR LF in LT/UT, NULs) would break the one-line-per-element layout.
_CONTROLS = {code: "." for code in range(0x20)}


def _value_text(element: Element) -> str:
    """A value as dcmdump shows it: strings in [brackets], numbers bare, AT as (gggg,eeee)."""
    vr = element.vr
    if vr in ("DS", "IS"):
        # the text as written: the numbers would lose their formatting
        text = str(element.raw, "latin-1").strip(" \x00")
    else:
        value = element.value
        values = value if isinstance(value, list) else [value]
        more = len(values) > PRINT_WIDTH  # no more values can fit a line
        if vr == "AT":
            return _shorten_values(
                [f"({v >> 16:04x},{v & 0xFFFF:04x})" for v in values[:PRINT_WIDTH]], more)
        if vr not in STRING_VRS:
            return _shorten_values([_number(v, vr) for v in values[:PRINT_WIDTH]], more)
        text = "\\".join(values)
    text = text.translate(_CONTROLS)
    if len(text) + 2 > PRINT_WIDTH:
        return "[" + text[:PRINT_WIDTH - 4] + "..."
    return f"[{text}]"


def _number(value: object, vr: str) -> str:
    """Integers as they are; floats as the shortest text that reads back as the same FL or FD,
    without a ".0" (dcmdump prints 0 and -1, not 0.0 and -1.0)."""
    if vr == "FL":
        value = numpy.float32(value)
    text = str(value)
    return text[:-2] if text.endswith(".0") else text


# -- index (fastdcm/_bulk_cli.py: the bulk indexer's options and summary) -------------------

command("index", _bulk_cli.HELP, _bulk_cli.add_arguments)(_bulk_cli.run)


# -- bench (fastdcm/bench/: readers side by side on the user's files) ----------------------

command("bench", bench_command.HELP, bench_command.add_arguments)(bench_command.run)
