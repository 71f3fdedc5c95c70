/* Stored pixel values -> modality values in one pass: the loops of fastdcm._convert.
 *
 * Written in C rather than Cython for one reason: function multiversioning. A wheel is
 * built for the x86-64 baseline (SSE2), where the int -> float conversion runs four lanes
 * wide; numpy's own casts pick AVX2/AVX-512 at run time and were faster than this loop
 * built for SSE2 alone. target_clones builds each loop for AVX-512, AVX2 and the baseline,
 * and the loader picks the widest the CPU has (GCC on x86-64 Linux; elsewhere one build).
 *
 * Each loop reads every sample once, corrects the bits above Bits Stored (clears them when
 * unsigned, sign-extends them when signed, as pydicom does), converts, scales and offsets
 * in registers, and writes once. Arithmetic in the output's precision, multiply then add,
 * each rounded (setup.py passes -ffp-contract=off: no fused multiply-add), as numpy does.
 * Callers guarantee n samples at src and at dst, and non-overlapping arrays.
 */
#ifndef FASTDCM_CONVERT_KERNEL_H
#define FASTDCM_CONVERT_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define FASTDCM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FASTDCM_CLONES
#endif

/* Unsigned: mask the stored bits. Signed: mask them, then sign-extend from the top stored
 * bit by (x ^ sign) - sign, in 32 bits (the result lies within +-2**30 whatever the width):
 * the vectoriser handles this form, where a shift left and back would not vectorise. */
#define FASTDCM_FIX_UNSIGNED(IN, UIN, v) ((IN)((v) & mask))
#define FASTDCM_FIX_SIGNED(IN, UIN, v) \
    ((int32_t)((uint32_t)((UIN)(v) & mask) ^ sign) - (int32_t)sign)

/* The stored types, one X(kind, code, IN, UIN, FIX) each; code is what the caller passes. */
#define FASTDCM_STORED_TYPES(X)                               \
    X(u1, 0, uint8_t, uint8_t, FASTDCM_FIX_UNSIGNED)          \
    X(i1, 1, int8_t, uint8_t, FASTDCM_FIX_SIGNED)             \
    X(u2, 2, uint16_t, uint16_t, FASTDCM_FIX_UNSIGNED)        \
    X(i2, 3, int16_t, uint16_t, FASTDCM_FIX_SIGNED)           \
    X(u4, 4, uint32_t, uint32_t, FASTDCM_FIX_UNSIGNED)        \
    X(i4, 5, int32_t, uint32_t, FASTDCM_FIX_SIGNED)

#define FASTDCM_LOOPS(NAME, IN, UIN, OUT, FIX)                                             \
    static FASTDCM_CLONES void NAME(const IN *restrict src, OUT *restrict dst, ptrdiff_t n, \
                                    OUT slope, OUT intercept, int scale, int offset,       \
                                    int shift) {                                           \
        const UIN mask = (UIN)((1ULL << (sizeof(IN) * 8 - shift)) - 1);                    \
        const uint32_t sign = (uint32_t)(mask >> 1) + 1; /* the top stored bit */          \
        ptrdiff_t i;                                                                       \
        (void)mask;                                                                        \
        (void)sign;                                                                        \
        if (shift) {                                                                       \
            if (scale && offset)                                                           \
                for (i = 0; i < n; i++) dst[i] = (OUT)FIX(IN, UIN, src[i]) * slope + intercept; \
            else if (scale)                                                                \
                for (i = 0; i < n; i++) dst[i] = (OUT)FIX(IN, UIN, src[i]) * slope;        \
            else if (offset)                                                               \
                for (i = 0; i < n; i++) dst[i] = (OUT)FIX(IN, UIN, src[i]) + intercept;    \
            else                                                                           \
                for (i = 0; i < n; i++) dst[i] = (OUT)FIX(IN, UIN, src[i]);                \
        } else if (scale && offset) {                                                      \
            for (i = 0; i < n; i++) dst[i] = (OUT)src[i] * slope + intercept;              \
        } else if (scale) {                                                                \
            for (i = 0; i < n; i++) dst[i] = (OUT)src[i] * slope;                          \
        } else if (offset) {                                                               \
            for (i = 0; i < n; i++) dst[i] = (OUT)src[i] + intercept;                      \
        } else {                                                                           \
            for (i = 0; i < n; i++) dst[i] = (OUT)src[i];                                  \
        }                                                                                  \
    }

#define FASTDCM_DEFINE(kind, code, IN, UIN, FIX)                        \
    FASTDCM_LOOPS(fastdcm_##kind##_f4, IN, UIN, float, FIX)             \
    FASTDCM_LOOPS(fastdcm_##kind##_f8, IN, UIN, double, FIX)
FASTDCM_STORED_TYPES(FASTDCM_DEFINE)

#define FASTDCM_CASE(kind, code, IN, UIN, FIX)                                               \
    case code:                                                                               \
        if (is_double)                                                                       \
            fastdcm_##kind##_f8((const IN *)src, (double *)dst, n, slope, intercept, scale,  \
                                offset, shift);                                              \
        else                                                                                 \
            fastdcm_##kind##_f4((const IN *)src, (float *)dst, n, (float)slope,              \
                                (float)intercept, scale, offset, shift);                     \
        return 0;

/* n samples of stored type `code` (see FASTDCM_STORED_TYPES) at src -> n floats (doubles
 * when is_double) at dst, the bits above Bits Stored corrected when shift (= bits
 * allocated - bits stored) is not 0. Returns -1 for an unknown code. */
static int fastdcm_convert(const void *src, int code, void *dst, int is_double, ptrdiff_t n,
                           double slope, double intercept, int shift) {
    const int scale = slope != 1, offset = intercept != 0;
    switch (code) {
        FASTDCM_STORED_TYPES(FASTDCM_CASE)
    }
    return -1;
}

/* Stored sizes by code, in FASTDCM_STORED_TYPES's order. */
#define FASTDCM_SIZE(kind, code, IN, UIN, FIX) sizeof(IN),
static const size_t fastdcm_stored_size[] = {FASTDCM_STORED_TYPES(FASTDCM_SIZE)};

/* Streamed results are computed a block at a time into a buffer small enough to stay in
 * the L1 cache, then copied out with non-temporal stores: the loops above stay the
 * vectorised ones, and SSE2's 16-byte streaming store (in every x86-64) does the writing. */
#define FASTDCM_STREAM_BLOCK 8192 /* bytes */
#define FASTDCM_CODES (sizeof(fastdcm_stored_size) / sizeof(fastdcm_stored_size[0]))

/* As fastdcm_convert, but dst is written with non-temporal stores, around the caches:
 * for outputs that are not read again soon (the rows of a batch a loader fills), this
 * spares the memory the read of each destination line before it is written, a third of
 * the traffic of an int16 -> float32 conversion. An output that is used at once is better
 * written through the caches (stream 0). Without SSE2, always fastdcm_convert. */
static int fastdcm_rescale(const void *src, int code, void *dst, int is_double, ptrdiff_t n,
                           double slope, double intercept, int shift, int stream) {
#if defined(__SSE2__)
    const size_t in_size =
        code >= 0 && (size_t)code < FASTDCM_CODES ? fastdcm_stored_size[code] : 0;
    const size_t out_size = is_double ? 8 : 4;
    const ptrdiff_t block = FASTDCM_STREAM_BLOCK / out_size;
    __m128i buffer[FASTDCM_STREAM_BLOCK / 16];
    const char *in = (const char *)src;
    char *out = (char *)dst;
    ptrdiff_t head, done, count, k;
    if (!stream || in_size == 0)
        return fastdcm_convert(src, code, dst, is_double, n, slope, intercept, shift);
    /* Up to the first 16-byte boundary of dst with plain stores. */
    head = (ptrdiff_t)(((16 - ((uintptr_t)out & 15)) & 15) / out_size);
    if (head > n || ((uintptr_t)out & (out_size - 1))) head = n;
    fastdcm_convert(in, code, out, is_double, head, slope, intercept, shift);
    for (done = head; done < n; done += count) {
        count = n - done < block ? n - done : block;
        fastdcm_convert(in + done * in_size, code, buffer, is_double, count, slope,
                        intercept, shift);
        for (k = 0; k < (ptrdiff_t)(count * out_size / 16); k++)
            _mm_stream_si128((__m128i *)(out + done * out_size) + k, buffer[k]);
        memcpy(out + done * out_size + k * 16, (char *)buffer + k * 16,
               count * out_size - k * 16);
    }
    _mm_sfence();
    return 0;
#else
    (void)stream;
    return fastdcm_convert(src, code, dst, is_double, n, slope, intercept, shift);
#endif
}

#endif
