"""Stored values -> modality values (Hounsfield units for CT), written into the caller's array.

The one place where Rescale Slope and Intercept are applied for loaders, volumes and
``ds.rescaled_array``: float outputs go through the one-pass kernel in ``fastdcm._convert``
(Bits Stored correction, conversion, slope and intercept together); other layouts and
integer outputs through numpy, with the same arithmetic.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from fastdcm import _convert
from fastdcm.pixels.native import correct_unused_bits


def rescale_into(out: np.ndarray, stored: np.ndarray, slope: Optional[float],
                 intercept: Optional[float], bits_stored: int = 0, stream: bool = False
                 ) -> None:
    """out = corrected(stored) * slope + intercept, computed in out's dtype, where
    corrected clears or sign-extends the bits above `bits_stored` as pydicom does (0: the
    values are already corrected). No rescale when slope or intercept is None.

    `stream` is for an `out` in memory that is reused, not read again soon, and holds
    more than the caches (the rows of a loader's batch slots): the kernel then writes it
    around the caches, which spares the memory reading each line before it is overwritten
    (two DataLoader workers filling batches of CT slices went from 0.46 to 0.27 s of user
    time per 2,500 slices each). Fresh memory has just been zeroed through the caches by
    the kernel: streaming into it is slower (a 300-slice volume: 80 against 67 ms).

    An integer `out` takes only integral slope and intercept: rounding modality values
    silently would change them."""
    if slope is None or intercept is None:
        slope, intercept = 1.0, 0.0
    elif out.dtype.kind in "iu" and not (float(slope).is_integer()
                                         and float(intercept).is_integer()):
        raise ValueError(f"Rescale Slope {slope} / Intercept {intercept} give fractional "
                         f"values: choose a floating dtype rather than {out.dtype}")
    if slope == 1 and intercept == 0 and not bits_stored:
        np.copyto(out, stored, casting="unsafe")  # a plain cast: numpy's is the fastest
        return
    if _convert.rescale(out, stored, slope, intercept, bits_stored, stream):
        return
    if 0 < bits_stored < stored.dtype.itemsize * 8 and stored.dtype.kind in "iu":
        checked = stored.view()
        checked.flags.writeable = False  # corrected into a copy, never in the caller's array
        stored = correct_unused_bits(checked, bits_stored)
    cast = out.dtype.type
    if slope == 1:
        np.add(stored, cast(intercept), out=out, dtype=out.dtype, casting="unsafe")
        return
    np.multiply(stored, cast(slope), out=out, dtype=out.dtype, casting="unsafe")
    if intercept:
        np.add(out, cast(intercept), out=out)
