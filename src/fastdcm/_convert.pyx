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
import numpy as np

cdef extern from "_convert_kernel.h" nogil:
    int fastdcm_rescale(const void* src, int code, void* dst, int is_double, Py_ssize_t n,
                        double slope, double intercept, int shift, int stream)

# Stored types by the code _convert_kernel.h knows them by (FASTDCM_STORED_TYPES).
_CODES = {np.dtype(t): code for code, t in enumerate((np.uint8, np.int8, np.uint16, np.int16,
                                                      np.uint32, np.int32))}


def rescale(out: np.ndarray, stored: np.ndarray, double slope=1, double intercept=0,
            int bits_stored=0, bint stream=False) -> bool:
    """out[...] = corrected(stored) * slope + intercept, where corrected clears (unsigned)
    or sign-extends (signed) the bits above `bits_stored` (0: none to correct). With
    `stream`, `out` is written with non-temporal stores (see _convert_kernel.h).

    Takes `out` float32 or float64, C-contiguous, aligned, writable; `stored` native 8-32
    bit integers, C-contiguous, aligned, as many samples, not overlapping `out`. Returns
    False, writing nothing, for any other arrays (the caller then uses numpy)."""
    if not (out.dtype in (np.float32, np.float64) and out.dtype.isnative
            and stored.dtype in _CODES and stored.dtype.isnative
            and out.size == stored.size and out.flags.c_contiguous
            and out.flags.writeable and stored.flags.c_contiguous
            and out.flags.aligned and stored.flags.aligned
            and not np.may_share_memory(out, stored)):
        return False
    cdef int width = stored.dtype.itemsize * 8
    cdef int shift = width - bits_stored if 0 < bits_stored < width else 0
    cdef int code = _CODES[stored.dtype]
    cdef int is_double = out.dtype == np.float64
    cdef const unsigned char[::1] src = stored.reshape(-1).view(np.uint8)
    cdef unsigned char[::1] dst = out.reshape(-1).view(np.uint8)
    cdef Py_ssize_t n = out.size
    if n == 0:  # an empty array has no first byte to point at
        return True
    with nogil:
        fastdcm_rescale(&src[0], code, &dst[0], is_double, n, slope, intercept, shift,
                        stream)
    return True
