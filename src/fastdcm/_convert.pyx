# cython: boundscheck=False, wraparound=False, cdivision=True
"""Stored pixel values -> modality values (Hounsfield units for CT) in one pass.

numpy needs three passes and a temporary for ``arr.astype(float32) * slope + intercept``,
and a fourth when the bits above Bits Stored must first be cleared or sign-extended; on a
512 x 512 CT slice those passes cost more than reading the file. Here each sample is read
once, corrected, converted and scaled in registers, and written once; the loops vectorise.

The arithmetic is numpy's, in the output's precision: ``float(v) * slope`` rounded, then
``+ intercept`` rounded (setup.py compiles with -ffp-contract=off so that no fused
multiply-add changes the last bit), so results equal the numpy expression exactly.
Bounds: every loop runs over ``n = out.size``, checked equal to ``stored.size`` and both
checked C-contiguous before any loop starts.
"""
from libc.stdint cimport int8_t, int16_t, int32_t, uint8_t, uint16_t, uint32_t

import numpy as np

ctypedef fused stored_t:
    uint8_t
    int8_t
    uint16_t
    int16_t
    uint32_t
    int32_t

ctypedef fused out_t:
    float
    double

_STORED = frozenset(np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.uint32,
                                          np.int32))


cdef inline stored_t _corrected(stored_t v, int shift, stored_t mask) noexcept nogil:
    # Unsigned: clear the bits above Bits Stored. Signed: shift the sign bit of Bits Stored
    # to the top and back (arithmetic shift), which sign-extends it, as pydicom does.
    if stored_t is uint8_t or stored_t is uint16_t or stored_t is uint32_t:
        return v & mask
    elif stored_t is int8_t:
        return <int8_t>(<uint8_t>v << shift) >> shift
    elif stored_t is int16_t:
        return <int16_t>(<uint16_t>v << shift) >> shift
    else:
        return <int32_t>(<uint32_t>v << shift) >> shift


cdef void _kernel(const stored_t* src, out_t* dst, Py_ssize_t n, out_t slope, out_t intercept,
                  bint scale, bint offset, int shift) noexcept nogil:
    cdef Py_ssize_t i
    cdef stored_t mask = <stored_t>((<unsigned long long>1 << (sizeof(stored_t) * 8 - shift))
                                    - 1)
    # One loop per case, the branches outside: each inner loop is a straight vectorisable
    # convert (+ mask) (* slope) (+ intercept).
    if shift:
        if scale and offset:
            for i in range(n):
                dst[i] = <out_t>_corrected(src[i], shift, mask) * slope + intercept
        elif scale:
            for i in range(n):
                dst[i] = <out_t>_corrected(src[i], shift, mask) * slope
        elif offset:
            for i in range(n):
                dst[i] = <out_t>_corrected(src[i], shift, mask) + intercept
        else:
            for i in range(n):
                dst[i] = <out_t>_corrected(src[i], shift, mask)
    elif scale and offset:
        for i in range(n):
            dst[i] = <out_t>src[i] * slope + intercept
    elif scale:
        for i in range(n):
            dst[i] = <out_t>src[i] * slope
    elif offset:
        for i in range(n):
            dst[i] = <out_t>src[i] + intercept
    else:
        for i in range(n):
            dst[i] = <out_t>src[i]


cdef void _typed(const stored_t[::1] src, out_t[::1] dst, double slope, double intercept,
                 int shift) noexcept nogil:
    # An empty array has no first element to point at; nothing to do then.
    if dst.shape[0] == 0:
        return
    _kernel(&src[0], &dst[0], dst.shape[0], <out_t>slope, <out_t>intercept, slope != 1,
            intercept != 0, shift)


def supports(out: np.ndarray, stored: np.ndarray) -> bool:
    """Whether `rescale` takes these arrays (else the caller uses numpy)."""
    return (out.dtype in (np.float32, np.float64) and out.dtype.isnative
            and stored.dtype in _STORED and stored.dtype.isnative
            and out.size == stored.size and out.flags.c_contiguous
            and out.flags.writeable and stored.flags.c_contiguous)


def rescale(out: np.ndarray, stored: np.ndarray, double slope=1, double intercept=0,
            int bits_stored=0) -> None:
    """out[...] = corrected(stored) * slope + intercept, where corrected clears (unsigned)
    or sign-extends (signed) the bits above `bits_stored` (0: none to correct).

    `out`: float32 or float64, C-contiguous, writable; `stored`: native 8/16/32-bit
    integers, C-contiguous, as many samples (see `supports`)."""
    if not supports(out, stored):
        raise ValueError("rescale needs C-contiguous native arrays of the same size: float "
                         f"output, 8-32 bit integer input (got {out.dtype}, {stored.dtype})")
    cdef int width = stored.dtype.itemsize * 8
    cdef int shift = width - bits_stored if 0 < bits_stored < width else 0
    _run(stored.reshape(-1), out.reshape(-1), slope, intercept, shift)


def _run(const stored_t[::1] src, out_t[::1] dst, double slope, double intercept, int shift):
    # Cython picks the specialisation from the buffers' types (one of 12).
    with nogil:
        _typed(src, dst, slope, intercept, shift)
