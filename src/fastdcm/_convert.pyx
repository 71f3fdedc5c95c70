# cython: boundscheck=False, wraparound=False
"""Stored pixel values -> modality values (Hounsfield units for CT) in one pass.

numpy needs three passes and a temporary for ``arr.astype(float32) * slope + intercept``,
and a fourth when the bits above Bits Stored must first be cleared or sign-extended; on a
512 x 512 CT slice those passes cost more than reading the file. Here each sample is read
once, corrected, converted and scaled in registers, and written once (the loops are in
_convert_kernel.h, built for several instruction sets).

The arithmetic is numpy's, in the output's precision: ``float(v) * slope`` rounded, then
``+ intercept`` rounded, so results equal the numpy expression exactly. Bounds: every loop
runs over ``n = out.size``, checked equal to ``stored.size`` and both checked C-contiguous
(and distinct: a fresh output or the caller's) before any loop starts.
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


cdef extern from "_convert_kernel.h" nogil:
    # One loop per (stored type, output type): see _convert_kernel.h for why they are C.
    void fastdcm_u1_f4(const uint8_t*, float*, Py_ssize_t, float, float, int, int, int)
    void fastdcm_i1_f4(const int8_t*, float*, Py_ssize_t, float, float, int, int, int)
    void fastdcm_u2_f4(const uint16_t*, float*, Py_ssize_t, float, float, int, int, int)
    void fastdcm_i2_f4(const int16_t*, float*, Py_ssize_t, float, float, int, int, int)
    void fastdcm_u4_f4(const uint32_t*, float*, Py_ssize_t, float, float, int, int, int)
    void fastdcm_i4_f4(const int32_t*, float*, Py_ssize_t, float, float, int, int, int)
    void fastdcm_u1_f8(const uint8_t*, double*, Py_ssize_t, double, double, int, int, int)
    void fastdcm_i1_f8(const int8_t*, double*, Py_ssize_t, double, double, int, int, int)
    void fastdcm_u2_f8(const uint16_t*, double*, Py_ssize_t, double, double, int, int, int)
    void fastdcm_i2_f8(const int16_t*, double*, Py_ssize_t, double, double, int, int, int)
    void fastdcm_u4_f8(const uint32_t*, double*, Py_ssize_t, double, double, int, int, int)
    void fastdcm_i4_f8(const int32_t*, double*, Py_ssize_t, double, double, int, int, int)


cdef void _typed(const stored_t[::1] src, out_t[::1] dst, double slope, double intercept,
                 int shift) noexcept nogil:
    cdef Py_ssize_t n = dst.shape[0]
    cdef int scale = slope != 1, offset = intercept != 0
    # An empty array has no first element to point at; nothing to do then.
    if n == 0:
        return
    # Resolved when Cython specialises this function: one call per specialisation.
    if out_t is float:
        if stored_t is uint8_t:
            fastdcm_u1_f4(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        elif stored_t is int8_t:
            fastdcm_i1_f4(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        elif stored_t is uint16_t:
            fastdcm_u2_f4(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        elif stored_t is int16_t:
            fastdcm_i2_f4(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        elif stored_t is uint32_t:
            fastdcm_u4_f4(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        else:
            fastdcm_i4_f4(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
    else:
        if stored_t is uint8_t:
            fastdcm_u1_f8(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        elif stored_t is int8_t:
            fastdcm_i1_f8(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        elif stored_t is uint16_t:
            fastdcm_u2_f8(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        elif stored_t is int16_t:
            fastdcm_i2_f8(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        elif stored_t is uint32_t:
            fastdcm_u4_f8(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)
        else:
            fastdcm_i4_f8(&src[0], &dst[0], n, slope, intercept, scale, offset, shift)


def supports(out: np.ndarray, stored: np.ndarray) -> bool:
    """Whether `rescale` takes these arrays (else the caller uses numpy)."""
    return (out.dtype in (np.float32, np.float64) and out.dtype.isnative
            and stored.dtype in _STORED and stored.dtype.isnative
            and out.size == stored.size and out.flags.c_contiguous
            and out.flags.writeable and stored.flags.c_contiguous
            and not np.may_share_memory(out, stored))


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
