"""Element-by-element comparison of a fastdcm Dataset with a pydicom Dataset.

Returns a list of differences (empty when equal) rather than asserting, so a test can check
that a file's known differences are exactly the listed ones.
"""
from __future__ import annotations

import math
from typing import Any, List

from fastdcm.dictionary import tag_for_keyword


def _plain(value: Any) -> Any:
    """pydicom's value types (MultiValue, PersonName, DSfloat, IS, BaseTag) as plain Python."""
    from pydicom.multival import MultiValue
    from pydicom.valuerep import PersonName

    if isinstance(value, (MultiValue, list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b or (isinstance(a, float) and isinstance(b, float) and a == b)


def compare(ours, theirs, where: str = "", by_keyword: bool = False) -> List[str]:
    """Differences between two data sets; ``by_keyword`` takes values as ``ds.Keyword``
    (fastdcm answers that on a path of its own) wherever the element has a keyword."""
    diffs: List[str] = []
    our_tags = [e.tag for e in ours]
    their_tags = [int(e.tag) for e in theirs]
    if our_tags != their_tags:
        missing = sorted(set(their_tags) - set(our_tags))
        extra = sorted(set(our_tags) - set(their_tags))
        diffs.append(f"{where}: tags differ (missing {[hex(t) for t in missing][:5]}, "
                     f"extra {[hex(t) for t in extra][:5]}, order same set: "
                     f"{set(our_tags) == set(their_tags)})")
    for tag in [t for t in their_tags if t in set(our_tags)]:
        mine = ours[tag]
        ref = theirs[tag]
        here = f"{where}({tag >> 16:04X},{tag & 0xFFFF:04X})"
        if mine.vr != ref.VR:
            diffs.append(f"{here}: VR {mine.vr} != {ref.VR}")
            continue
        keyword = mine.keyword
        # Repeating-group keywords (OverlayRows) name no single tag: as in pydicom, no attribute.
        if by_keyword and keyword and tag_for_keyword(keyword) == tag:
            value = getattr(ours, keyword)
        else:
            value = mine.value
        if ref.VR == "SQ":
            if len(value) != len(ref.value):
                diffs.append(f"{here}: {len(value)} items != {len(ref.value)}")
                continue
            for i, (a, b) in enumerate(zip(value, ref.value)):
                diffs += compare(a, b, f"{here}[{i}]", by_keyword)
            continue
        a, b = _plain(value), _plain(ref.value)
        if not _equal(a, b):
            diffs.append(f"{here}: value {a!r:.80} != {b!r:.80}")
    return diffs
