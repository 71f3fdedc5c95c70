# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""RLE Lossless (PS3.5 Annex G) frame decoder, without the GIL.

Every run is clipped to what is left of its segment and of the output before it is copied,
which is why bounds checking is off for the module: no index can leave the buffers by
construction. Segments are PackBits-decoded with memcpy/memset into one plane each, then the
planes (most significant byte first, per sample) are interleaved into little-endian samples,
colour-by-pixel, in the caller's array. Decoding follows pydicom: a literal run cut short by
the end of its segment yields what is there, bytes past a full segment are ignored, and a
segment that decodes to fewer bytes than the frame has pixels is an error.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

cdef enum:
    HEADER = 64
    MAX_SEGMENTS = 15


cdef inline uint32_t u32le(const uint8_t* p) noexcept nogil:
    return p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef Py_ssize_t unpack_segment(const uint8_t* src, Py_ssize_t n, uint8_t* dst,
                               Py_ssize_t size) noexcept nogil:
    """PackBits-decode src[:n] into dst[:size]; the number of bytes written.

    Runs are at most 128 bytes, so while 128 bytes are left on both sides a run is copied or
    filled as a fixed 128-byte block (a few vector moves, no call) and the position advanced
    by the run's real length; near the ends the exact, clipped length is used instead.
    """
    cdef Py_ssize_t i = 0, o = 0, count
    cdef uint8_t h
    while i < n and o < size:
        h = src[i]
        i += 1
        if h < 128:  # literal run of h + 1 bytes
            count = h + 1
            if n - i >= 128 and size - o >= 128:
                memcpy(dst + o, src + i, 128)
            else:
                if count > n - i:
                    count = n - i
                if count > size - o:
                    count = size - o
                memcpy(dst + o, src + i, count)
            i += count
            o += count
        elif h > 128:  # the next byte repeated 257 - h times
            if i >= n:
                break
            count = 257 - h
            if size - o >= 128:
                memset(dst + o, src[i], 128)
            else:
                if count > size - o:
                    count = size - o
                memset(dst + o, src[i], count)
            i += 1
            o += count
        # h == 128 is a no-op
    return o


cdef void interleave(const uint8_t* planes, uint8_t* out, Py_ssize_t pixels, int samples,
                     int width) noexcept nogil:
    """Planes (sample-major, most significant byte first) -> little-endian samples,
    colour-by-pixel."""
    cdef Py_ssize_t p
    cdef int s, b
    cdef const uint8_t* hi
    cdef const uint8_t* lo
    cdef const uint8_t* plane
    cdef uint16_t* out16
    if samples == 1 and width == 2:
        hi = planes
        lo = planes + pixels
        out16 = <uint16_t*>out
        for p in range(pixels):
            out16[p] = (<uint16_t>hi[p] << 8) | lo[p]
        return
    for s in range(samples):
        for b in range(width):
            plane = planes + (s * width + b) * pixels
            for p in range(pixels):
                out[(p * samples + s) * width + (width - 1 - b)] = plane[p]


def decode_frame(const uint8_t[::1] src, uint8_t[::1] out, Py_ssize_t pixels, int samples,
                 int width):
    """Decode one RLE frame into `out` (pixels x samples x width bytes, little endian,
    colour-by-pixel). Raises ValueError saying what is wrong with the frame."""
    cdef Py_ssize_t n = src.shape[0]
    cdef Py_ssize_t start, stop, written = 0
    cdef uint32_t count
    cdef uint32_t offsets[MAX_SEGMENTS + 1]
    cdef int k, bad = -1, expected = samples * width
    cdef uint8_t* planes
    cdef bint direct
    if out.shape[0] != pixels * expected:
        raise ValueError("output buffer does not fit the frame")
    if n < HEADER:
        raise ValueError(f"RLE header cut short: {n} of 64 bytes")
    count = u32le(&src[0])
    if count != <uint32_t>expected or count > MAX_SEGMENTS:
        raise ValueError(f"RLE header lists {count} segments, {expected} expected")
    for k in range(expected):
        offsets[k] = u32le(&src[4 + 4 * k])
    offsets[expected] = <uint32_t>n if n < 0xFFFFFFFF else 0xFFFFFFFF
    for k in range(expected):
        if offsets[k] < HEADER or offsets[k] > n or offsets[k + 1] < offsets[k]:
            raise ValueError(f"RLE segment {k} offset {offsets[k]} is outside the frame "
                             f"({n} bytes) or overlaps the header or the next segment")
    direct = expected == 1
    planes = &out[0] if direct else <uint8_t*>malloc(expected * pixels)
    if planes == NULL:
        raise MemoryError()
    try:
        with nogil:
            for k in range(expected):
                start = offsets[k]
                stop = offsets[k + 1]
                written = unpack_segment(&src[0] + start, stop - start, planes + k * pixels,
                                         pixels)
                if written < pixels:
                    bad = k
                    break
            if bad < 0 and not direct:
                interleave(planes, &out[0], pixels, samples, width)
        if bad >= 0:
            raise ValueError(f"RLE segment {bad} decodes to {written} bytes, "
                             f"{pixels} expected")
    finally:
        if not direct:
            free(planes)
