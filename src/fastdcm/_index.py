"""Rows of a bulk index (``fastdcm index`` / fastdcm.bulk) as loaders consume them.

Loaders accept an index as a pyarrow Table, a Parquet file, a pandas DataFrame or any
sequence of mappings with the index's column names, so that a user who filtered the index
with their tool of choice hands over the result as it is. Only the columns a loader needs
are read (a Parquet index may hold hundreds). A row whose pixel locators describe native,
single-sample data yields a ``Locator``, one with encapsulated frames of one fragment each
(``frame_offsets``) an ``Encoded``: its frames are then one positioned read each, with no
parsing of the file.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Dict, Iterable, List, Optional

from fastdcm._frames import Encoded, FrameSource, Locator
from fastdcm.pixels.codecs import REGISTRY
from fastdcm.pixels.description import (PHOTOMETRIC_INTERPRETATIONS, PIXEL_DATA,
                                        PixelDescription)
from fastdcm.uids import transfer_syntax

# What the loaders read from an index row (columns absent from an index are None).
COLUMNS = ("path", "error", "transfer_syntax_uid", "pixel_offset", "pixel_length", "rows",
           "columns", "number_of_frames", "bits_allocated", "frame_offsets", "frame_lengths",
           "PhotometricInterpretation", "PixelRepresentation", "BitsStored", "SamplesPerPixel", "RescaleSlope",
           "RescaleIntercept", "ImagePositionPatient", "ImageOrientationPatient",
           "PixelSpacing", "SeriesInstanceUID")


def is_index(source: Any) -> bool:
    """Whether `source` is an index (table, Parquet path, data frame, rows) rather than
    file paths or a folder."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source).endswith(".parquet")
    if hasattr(source, "column_names") or hasattr(source, "to_dict"):
        return True  # a pyarrow Table / RecordBatch, or a pandas DataFrame
    if isinstance(source, (list, tuple)) and source:
        return isinstance(source[0], Mapping)
    return False


def index_rows(source: Any, extra: Iterable[str] = ()) -> List[Dict[str, Any]]:
    """The rows of an index as dicts holding ``COLUMNS`` plus the `extra` columns."""
    wanted = list(dict.fromkeys(list(COLUMNS) + list(extra)))
    if isinstance(source, (str, os.PathLike)):
        import pyarrow.parquet as pq

        names = set(pq.read_schema(source).names)
        source = pq.read_table(source, columns=[n for n in wanted if n in names])
    if hasattr(source, "to_dict") and not hasattr(source, "column_names"):
        import pyarrow as pa

        # Through Arrow, where pandas' NaN for a missing value becomes None again.
        source = pa.Table.from_pandas(source[[n for n in wanted if n in source.columns]],
                                      preserve_index=False)
    if hasattr(source, "column_names"):
        present = [n for n in wanted if n in source.column_names]
        rows = source.select(present).to_pylist()
    else:
        rows = [dict(row) for row in source]
    for row in rows:
        for name in wanted:
            row.setdefault(name, None)
        if row["path"] is None:
            raise ValueError("an index row has no path")
    return rows


def locator(row: Dict[str, Any]) -> Optional[FrameSource]:
    """Where the row's frames lie, when one positioned read gives each: native
    single-sample integers (a Locator) or encapsulated frames of one fragment each, in a
    transfer syntax with a decoder (an Encoded). None when the file must be read
    (deflated, float pixel data, frames in several fragments, attributes the index lacks
    or that describe no valid image: reading the file reports those as pixel_array would).
    """
    syntax = transfer_syntax(row["transfer_syntax_uid"] or "")
    bits = row["bits_allocated"]
    representation = row["PixelRepresentation"]
    needed = (row["pixel_offset"], row["pixel_length"], row["rows"], row["columns"],
              row["BitsStored"], row["number_of_frames"])
    if (syntax is None or syntax.deflated or row["error"] or bits not in (8, 16, 32)
            or representation not in (0, 1) or any(v is None for v in needed)
            or not 1 <= row["BitsStored"] <= bits):
        return None
    if syntax.encapsulated:
        return _encoded(row)
    if row["frame_offsets"] is not None or row["SamplesPerPixel"] != 1:
        return None
    # int(): a column with missing values reaches pandas, and so here, as floats.
    found = Locator(path=row["path"], offset=int(row["pixel_offset"]),
                    frames=max(1, int(row["number_of_frames"])), rows=int(row["rows"]),
                    columns=int(row["columns"]),
                    dtype=f"{'<' if syntax.little_endian else '>'}"
                          f"{'i' if representation else 'u'}{int(bits) // 8}",
                    bits_stored=int(row["BitsStored"]))
    if found.frame_bytes * found.frames > row["pixel_length"]:
        return None  # too short: reading the file reports it as pixel_array would
    return found


def _encoded(row: Dict[str, Any]) -> Optional[Encoded]:
    offsets, lengths = row["frame_offsets"], row["frame_lengths"]
    frames = max(1, int(row["number_of_frames"]))
    samples = row["SamplesPerPixel"]
    # A frame count other than Number of Frames is for the file to report (or to return
    # the extra frames, as pixel_array does).
    if (row["transfer_syntax_uid"] not in REGISTRY or offsets is None or lengths is None
            or not len(offsets) == len(lengths) == frames or samples not in (1, 3)
            or row["PhotometricInterpretation"] not in PHOTOMETRIC_INTERPRETATIONS
            or not (0 < row["rows"] <= 0xFFFF and 0 < row["columns"] <= 0xFFFF)):
        return None
    offset = int(row["pixel_offset"])
    description = PixelDescription(
        tag=PIXEL_DATA, vr="OB", offset=offset, end=offset + int(row["pixel_length"]),
        encapsulated=True, transfer_syntax=row["transfer_syntax_uid"], little_endian=True,
        rows=int(row["rows"]), columns=int(row["columns"]), samples=int(samples),
        bits_allocated=int(row["bits_allocated"]), bits_stored=int(row["BitsStored"]),
        signed=row["PixelRepresentation"] == 1, photometric=row["PhotometricInterpretation"],
        planar=0,  # decoders of encapsulated frames take the layout from the codestream
        frames=frames)
    return Encoded(row["path"], tuple(int(v) for v in offsets),
                   tuple(int(v) for v in lengths), description)
