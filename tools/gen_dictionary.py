"""Generate ``src/fastdcm/_dictionary_data.py`` from the DICOM standard's data dictionary.

The generated module is committed so that building and importing fastdcm never needs the
source files. Run again when the standard edition or the private dictionary changes::

    python tools/gen_dictionary.py [SHARED_DIR] [--output PATH]

SHARED_DIR holds ``attributes.json`` (PS3.6 as JSON) and ``dcmtk-private.dic`` (DCMTK's
private tag dictionary); it defaults to ``../shared/dicom-standard`` next to the repository.

Layout of the output, chosen so that the module is cheap both to import from its .pyc and
to compile when there is none (a literal tuple or dict of thousands of items is slow at
both; long strings are fast), so the standard tags are stored as string columns that
dictionary.py decodes:

- ``TAGS``: every fully specified tag, sorted, as hex separated by spaces. ``VRS``,
  ``VMS`` and ``RETIRED`` hold one character per tag in the same order: codes decoded
  through ``VR_BY_CODE`` / ``VM_BY_CODE``, and "R" for retired. ``KEYWORDS`` and ``NAMES``
  hold one line per tag.
- ``REPEATERS``: {and_mask: {masked_tag: (vr, vm, name, keyword, retired)}} for tags with
  "x" digits such as (60xx,3000) or (0028,04x0): a tag matches when ``tag & and_mask`` is
  a key. No tag can match two patterns (checked here), so the order masks are tried in
  does not matter.
- ``PRIVATE``: one line per private tag, "creator<TAB>key<TAB>VR<TAB>VM<TAB>name", key in
  hex being ``group << 16 | element``: element is the low byte for entries valid in any
  reserved block, the full element number for DCMTK's fixed-element entries
  (eeee >= 0x1000), and group is ``gg00`` (even, so it cannot clash with a real private
  group) for entries valid in every odd group gg01-ggff. It is parsed on first use.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = REPO.parent / "shared" / "dicom-standard"
DEFAULT_OUTPUT = REPO / "src" / "fastdcm" / "_dictionary_data.py"

# PS3.6 gives no VR for items and delimiters ("See Note 2"); "NONE" is how pydicom spells
# that, so our answer for them is the same. Three retired tags have no VR at all; their
# value can only be kept as raw bytes, and "OB" is the VR pydicom reports for them.
VR_REPLACEMENTS = {"See Note 2": "NONE", "": "OB"}
VM_REPLACEMENTS = {"": "1"}  # the same three tags have no VM either

# Command elements (group 0000) live in PS3.7 Table E.1-1 (and E.2-1 for the retired
# ones), not in PS3.6, so attributes.json lacks them. Old files sometimes carry them in
# implicit VR, where their VR must come from a dictionary.
# (element, VR, VM, name, keyword, retired)
COMMAND_ELEMENTS = [
    (0x0000, "UL", "1", "Command Group Length", "CommandGroupLength", False),
    (0x0001, "UL", "1", "Command Length to End", "CommandLengthToEnd", True),
    (0x0002, "UI", "1", "Affected SOP Class UID", "AffectedSOPClassUID", False),
    (0x0003, "UI", "1", "Requested SOP Class UID", "RequestedSOPClassUID", False),
    (0x0010, "SH", "1", "Command Recognition Code", "CommandRecognitionCode", True),
    (0x0100, "US", "1", "Command Field", "CommandField", False),
    (0x0110, "US", "1", "Message ID", "MessageID", False),
    (0x0120, "US", "1", "Message ID Being Responded To", "MessageIDBeingRespondedTo", False),
    (0x0200, "AE", "1", "Initiator", "Initiator", True),
    (0x0300, "AE", "1", "Receiver", "Receiver", True),
    (0x0400, "AE", "1", "Find Location", "FindLocation", True),
    (0x0600, "AE", "1", "Move Destination", "MoveDestination", False),
    (0x0700, "US", "1", "Priority", "Priority", False),
    (0x0800, "US", "1", "Command Data Set Type", "CommandDataSetType", False),
    (0x0850, "US", "1", "Number of Matches", "NumberOfMatches", True),
    (0x0860, "US", "1", "Response Sequence Number", "ResponseSequenceNumber", True),
    (0x0900, "US", "1", "Status", "Status", False),
    (0x0901, "AT", "1-n", "Offending Element", "OffendingElement", False),
    (0x0902, "LO", "1", "Error Comment", "ErrorComment", False),
    (0x0903, "US", "1", "Error ID", "ErrorID", False),
    (0x1000, "UI", "1", "Affected SOP Instance UID", "AffectedSOPInstanceUID", False),
    (0x1001, "UI", "1", "Requested SOP Instance UID", "RequestedSOPInstanceUID", False),
    (0x1002, "US", "1", "Event Type ID", "EventTypeID", False),
    (0x1005, "AT", "1-n", "Attribute Identifier List", "AttributeIdentifierList", False),
    (0x1008, "US", "1", "Action Type ID", "ActionTypeID", False),
    (0x1020, "US", "1", "Number of Remaining Sub-operations",
     "NumberOfRemainingSuboperations", False),
    (0x1021, "US", "1", "Number of Completed Sub-operations",
     "NumberOfCompletedSuboperations", False),
    (0x1022, "US", "1", "Number of Failed Sub-operations",
     "NumberOfFailedSuboperations", False),
    (0x1023, "US", "1", "Number of Warning Sub-operations",
     "NumberOfWarningSuboperations", False),
    (0x1030, "AE", "1", "Move Originator Application Entity Title",
     "MoveOriginatorApplicationEntityTitle", False),
    (0x1031, "US", "1", "Move Originator Message ID", "MoveOriginatorMessageID", False),
    (0x4000, "LT", "1", "Dialog Receiver", "DialogReceiver", True),
    (0x4010, "LT", "1", "Terminal Type", "TerminalType", True),
    (0x5010, "SH", "1", "Message Set ID", "MessageSetID", True),
    (0x5020, "SH", "1", "End Message ID", "EndMessageID", True),
    (0x5110, "LT", "1", "Display Format", "DisplayFormat", True),
    (0x5120, "LT", "1", "Page Position ID", "PagePositionID", True),
    (0x5130, "CS", "1", "Text Format ID", "TextFormatID", True),
    (0x5140, "CS", "1", "Normal/Reverse", "NormalReverse", True),
    (0x5150, "CS", "1", "Add Gray Scale", "AddGrayScale", True),
    (0x5160, "CS", "1", "Borders", "Borders", True),
    (0x5170, "IS", "1", "Copies", "Copies", True),
    (0x5180, "CS", "1", "Command Magnification Type", "CommandMagnificationType", True),
    (0x5190, "CS", "1", "Erase", "Erase", True),
    (0x51A0, "CS", "1", "Print", "Print", True),
    (0x51B0, "US", "1-n", "Overlays", "Overlays", True),
]

# DCMTK's internal VR names for "one of several VRs", spelled as PS3.6 spells them.
DCMTK_VRS = {"ox": "OB or OW", "px": "OB or OW", "xs": "US or SS", "lt": "US or SS or OW"}

TAG_RE = re.compile(r"^\(([0-9A-Fx]{4}),([0-9A-Fx]{4})\)$")
PRIVATE_RE = re.compile(
    r'^\((?P<group>[0-9a-fA-F]{4})(?:-o-(?P<last>[0-9a-fA-F]{4}))?,'
    r'"(?P<creator>[^"]*)",(?P<elem>[0-9a-fA-F]{2}|[0-9a-fA-F]{4})\)$'
)


def parse_masked_tag(text: str) -> tuple[int, int]:
    """Return (value, and_mask) for "(gggg,eeee)"; each "x" digit is 0 in both."""
    match = TAG_RE.match(text.replace("X", "x"))
    if not match:
        raise ValueError(f"unexpected tag {text!r}")
    digits = match.group(1) + match.group(2)
    value = int(digits.replace("x", "0"), 16)
    mask = int("".join("0" if c == "x" else "F" for c in digits), 16)
    return value, mask


def load_standard(path: Path) -> tuple[dict, dict]:
    """Read PS3.6 plus the PS3.7 command elements: ({tag: entry}, {and_mask: {tag: entry}})."""
    standard: dict[int, tuple] = {}
    repeaters: dict[int, dict[int, tuple]] = {}
    for element, *entry in COMMAND_ELEMENTS:
        standard[element] = tuple(entry)
    for item in json.loads(path.read_text(encoding="utf-8")):
        value, mask = parse_masked_tag(item["tag"])
        vr = item["valueRepresentation"]
        vr = VR_REPLACEMENTS.get(vr, vr)
        vm = item["valueMultiplicity"]
        vm = VM_REPLACEMENTS.get(vm, vm)
        entry = (vr, vm, item["name"], item["keyword"], item["retired"] == "Y")
        table = standard if mask == 0xFFFFFFFF else repeaters.setdefault(mask, {})
        if value in table:
            raise ValueError(f"duplicate tag {item['tag']}")
        table[value] = entry
    check_repeaters_disjoint(repeaters)
    return standard, repeaters


def check_repeaters_disjoint(repeaters: dict[int, dict[int, tuple]]) -> None:
    """Fail if one tag could match two repeating-group patterns (lookup order would matter)."""
    patterns = [(value, mask) for mask, table in repeaters.items() for value in table]
    for i, (v1, m1) in enumerate(patterns):
        for v2, m2 in patterns[i + 1:]:
            common = m1 & m2
            if (v1 & common) == (v2 & common):
                raise ValueError(f"overlapping patterns {v1:08X}/{m1:08X} and {v2:08X}/{m2:08X}")


def load_private(path: Path) -> dict[str, dict[int, tuple]]:
    """Read DCMTK's private.dic; later lines override earlier ones, as DCMTK does."""
    private: dict[str, dict[int, tuple]] = {}
    for number, line in enumerate(path.read_text(encoding="latin-1").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        match = PRIVATE_RE.match(fields[0])
        if not match or len(fields) < 4:
            raise ValueError(f"line {number}: cannot parse {line!r}")
        group = int(match["group"], 16)
        if match["last"]:
            last = int(match["last"], 16)
            if group & 0xFF != 0x01 or last != group | 0xFF:
                raise ValueError(f"line {number}: unsupported group range")
            group &= 0xFF00
        element = int(match["elem"], 16)
        vr, name, vm = fields[1], fields[2], fields[3]
        vr = DCMTK_VRS.get(vr, vr)
        if not re.fullmatch(r"[A-Z]{2}( or [A-Z]{2})*", vr):
            raise ValueError(f"line {number}: unknown VR {vr!r}")
        private.setdefault(match["creator"], {})[group << 16 | element] = (vr, vm, name)
    return private


CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def string_lines(name: str, rows: list[str]) -> list[str]:
    """Render a newline-joined string literal, one row a source line (Python folds them)."""
    return [f"{name} = (", *(f"    {row + chr(10)!r}" for row in rows), ")"]


def wrapped(name: str, text: str, width: int) -> list[str]:
    """Render one long string literal as `width`-character source lines (Python folds them)."""
    return [f"{name} = (", *(f"    {text[i:i + width]!r}" for i in range(0, len(text), width)), ")"]


def coded(name: str, table_name: str, values: list[str]) -> list[str]:
    """Render a column as one character per row, plus the table decoding the characters."""
    distinct = sorted(set(values))
    if len(distinct) > len(CODE_CHARS):
        raise ValueError(f"too many distinct values for {name}")
    codes = dict(zip(distinct, CODE_CHARS))
    return [
        f"{table_name} = {{",
        *(f"    {char!r}: {value!r}," for value, char in codes.items()),
        "}",
        *wrapped(name, "".join(codes[value] for value in values), 88),
    ]


def render(standard: dict, repeaters: dict, private: dict, sources: str) -> str:
    """Return the text of the generated module (sorted, so that regenerating gives stable diffs).

    The standard tags are stored as columns (see the module docstring for why).
    """
    tags = sorted(standard)
    entries = [standard[tag] for tag in tags]
    out = [
        '"""DICOM data dictionary tables generated by tools/gen_dictionary.py: do not edit.',
        "",
        f"Sources: {sources}.",
        "The layout is described in the generator.",
        '"""',
        "",
        *wrapped("TAGS", "".join(f"{tag:08X} " for tag in tags), 90),  # 10 tags a line
        *coded("VRS", "VR_BY_CODE", [e[0] for e in entries]),
        *coded("VMS", "VM_BY_CODE", [e[1] for e in entries]),
        *wrapped("RETIRED", "".join("R" if e[4] else "-" for e in entries), 88),
        *string_lines("KEYWORDS", [e[3] for e in entries]),
        *string_lines("NAMES", [e[2] for e in entries]),
        "",
        "REPEATERS = {",
    ]
    for mask in sorted(repeaters):
        out.append(f"    0x{mask:08X}: {{")
        table = repeaters[mask]
        out += [f"        0x{tag:08X}: {table[tag]!r}," for tag in sorted(table)]
        out.append("    },")
    out += ["}", ""]
    rows = [
        f"{creator}\t{key:08X}\t{vr}\t{vm}\t{name}"
        for creator in sorted(private)
        for key, (vr, vm, name) in sorted(private[creator].items())
    ]
    out += string_lines("PRIVATE", rows)
    out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared", nargs="?", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    standard, repeaters = load_standard(args.shared / "attributes.json")
    private = load_private(args.shared / "dcmtk-private.dic")
    sources = "PS3.6 (attributes.json), PS3.7 command elements, DCMTK's private.dic"
    args.output.write_text(render(standard, repeaters, private, sources), encoding="utf-8")
    counts = (len(standard), sum(map(len, repeaters.values())), sum(map(len, private.values())))
    print(f"wrote {args.output}: {counts[0]} tags, {counts[1]} repeaters, {counts[2]} private")


if __name__ == "__main__":
    main()
