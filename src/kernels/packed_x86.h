/* packed_x86.h: the loop shapes of the packed kernels (packed.h) for x86, one per ISA; a format
 * supplies how a block column unpacks into eight vectors of bytes (chunk c: elements 4c..4c+3 of
 * every row, one row per 32-bit lane) and how those bytes are offset. Include after
 * kernels_x86.h or kernels_avx512.h.
 *
 * Per activation row, chunk c's four bytes are broadcast to every lane and multiplied into it.
 * Chain order (kern_packed_ref): the block column unpacks once and serves every activation row
 * of the call; the lanes end as each row's exact int32 sum, and acc = fma((float)isum,
 * d_w * d_x, acc). Lanes8 order: each chunk has its own accumulator.
 */
#ifndef WARD_KERNELS_PACKED_X86_H
#define WARD_KERNELS_PACKED_X86_H

#include <string.h>

#include "kernels/packed.h"

static inline int32_t packed_load_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Eight lane accumulators reduced lane by lane as kern_sum_lanes8. */
static inline __m256 packed_reduce8_256(const __m256 a[8]) {
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6])),
                         _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7])));
}
#ifdef __AVX512F__
static inline __m512 packed_reduce8_512(const __m512 a[8]) {
    return _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[4]), _mm512_add_ps(a[2], a[6])),
                         _mm512_add_ps(_mm512_add_ps(a[1], a[5]), _mm512_add_ps(a[3], a[7])));
}
#endif

/* AVX-512 VNNI, 16 rows per zmm, chain order. unpack(const block_t *, __m512i q[8]) gives
 * unsigned bytes q + o, so VPDPBUSD takes them as they are and the accumulator starts at the
 * activation's bias = -o * sum(x). */
#define KERN_PACKED_GEMM_AVX512(name, block_t, unpack)                                          \
    static inline __attribute__((always_inline)) void name##_tok(                               \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w,                 \
        const uint8_t *restrict x, size_t xs, const int n_tok) {                                \
        __m512 acc[KERN_PACK_MAX_TOK];                                                          \
        for (int t = 0; t < n_tok; t++) acc[t] = _mm512_setzero_ps();                           \
        for (int64_t i = 0; i < nb; i++) {                                                      \
            __m512i q[8];                                                                       \
            for (size_t o = 0; o < sizeof(block_t); o += 64)                                    \
                _mm_prefetch((const char *)&w[i + (n_tok > 1 ? 4 : 8)] + o, _MM_HINT_T0);       \
            unpack(&w[i], q);                                                                   \
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)w[i].d));     \
            for (int t = 0; t < n_tok; t++) {                                                   \
                const block_q8_0s *b = (const block_q8_0s *)(x + (size_t)t * xs) + i;           \
                /* chains per block: enough to hide VPDPBUSD's latency (one row: 4) */          \
                const int nc = n_tok == 1 ? 4 : 2;                                              \
                __m512i s[4] = {_mm512_set1_epi32(b->bias), _mm512_setzero_si512(),             \
                                _mm512_setzero_si512(), _mm512_setzero_si512()};                \
                for (int c = 0; c < 8; c++)                                                     \
                    s[c % nc] = _mm512_dpbusd_epi32(s[c % nc], q[c],                            \
                                             _mm512_set1_epi32(packed_load_i32(b->qs + 4 * c))); \
                const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(b->d));                       \
                __m512i st = _mm512_add_epi32(s[0], s[1]);                                      \
                if (nc == 4) st = _mm512_add_epi32(st, _mm512_add_epi32(s[2], s[3]));           \
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(st), d, acc[t]);                    \
            }                                                                                   \
        }                                                                                       \
        for (int t = 0; t < n_tok; t++) _mm512_storeu_ps(out + (size_t)t * ldo, acc[t]);        \
    }                                                                                           \
    KERN_PACKED_GEMM_BY_TOK(name, name##_tok, 32)

/* AVX-512 VNNI, lanes8 order: each chunk's sum (from its own bias, cbias[c]) goes into its own
 * float accumulator, acc[c] (one lane per row), and the eight reduce as kern_sum_lanes8. One
 * activation row per pass over the group (the group stays in cache). */
#define KERN_PACKED_GEMM_LANES8_AVX512(name, block_t, unpack)                                   \
    static inline void name##_one(int64_t nb, float *restrict out, const block_t *restrict w,   \
                                  const block_q8_0s *restrict b) {                              \
        __m512 acc[8];                                                                          \
        for (int c = 0; c < 8; c++) acc[c] = _mm512_setzero_ps();                               \
        for (int64_t i = 0; i < nb; i++) {                                                      \
            __m512i q[8];                                                                       \
            unpack(&w[i], q);                                                                   \
            const __m512 d = _mm512_mul_ps(                                                     \
                _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)w[i].d)),                   \
                _mm512_set1_ps(b[i].d));                                                        \
            for (int c = 0; c < 8; c++) {                                                       \
                const __m512i s = _mm512_dpbusd_epi32(                                          \
                    _mm512_set1_epi32(b[i].cbias[c]), q[c],                                     \
                    _mm512_set1_epi32(packed_load_i32(b[i].qs + 4 * c)));                       \
                acc[c] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), acc[c]);                     \
            }                                                                                   \
        }                                                                                       \
        _mm512_storeu_ps(out, packed_reduce8_512(acc));                                         \
    }                                                                                           \
    static inline __attribute__((always_inline)) void name##_tok(                               \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w,                 \
        const uint8_t *restrict x, size_t xs, const int n_tok) {                                \
        for (int t = 0; t < n_tok; t++)                                                         \
            name##_one(nb, out + (size_t)t * ldo, w, (const block_q8_0s *)(x + (size_t)t * xs)); \
    }                                                                                           \
    KERN_PACKED_GEMM_BY_TOK(name, name##_tok, 32)

/* AVX2, lanes8 order: as above with two halves of 8 rows, signed bytes from
 * unpack(const block_t *, int half, __m256i q[8]) and the sign trick. */
#define KERN_PACKED_GEMM_LANES8_AVX2(name, block_t, unpack)                                     \
    static inline void name##_one(int64_t nb, float *restrict out, const block_t *restrict w,   \
                                  int h, const block_q8_0s *restrict b) {                       \
        __m256 acc[8];                                                                          \
        for (int c = 0; c < 8; c++) acc[c] = _mm256_setzero_ps();                               \
        for (int64_t i = 0; i < nb; i++) {                                                      \
            __m256i q[8];                                                                       \
            unpack(&w[i], h, q);                                                                \
            const __m256 d = _mm256_mul_ps(                                                     \
                _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)&w[i].d[8 * h])),              \
                _mm256_set1_ps(b[i].d));                                                        \
            for (int c = 0; c < 8; c++) {                                                       \
                const __m256i s = dot_i8x32_avx2(                                               \
                    q[c], _mm256_set1_epi32(packed_load_i32(b[i].qs + 4 * c)));                 \
                acc[c] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[c]);                     \
            }                                                                                   \
        }                                                                                       \
        _mm256_storeu_ps(out + 8 * h, packed_reduce8_256(acc));                                 \
    }                                                                                           \
    static inline __attribute__((always_inline)) void name##_tok(                               \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w,                 \
        const uint8_t *restrict x, size_t xs, const int n_tok) {                                \
        for (int t = 0; t < n_tok; t++)                                                         \
            for (int h = 0; h < 2; h++)                                                         \
                name##_one(nb, out + (size_t)t * ldo, w, h,                                     \
                           (const block_q8_0s *)(x + (size_t)t * xs));                          \
    }                                                                                           \
    KERN_PACKED_GEMM_BY_TOK(name, name##_tok, 32)

/* AVX2, two halves of 8 rows (one ymm lane per row), each a pass over the group's blocks (the
 * second finds them in cache). unpack(const block_t *, int half, __m256i q[8]) gives signed
 * bytes q, which dot_i8x32_avx2 multiplies with the sign trick. */
#define KERN_PACKED_GEMM_AVX2(name, block_t, unpack)                                            \
    static inline __attribute__((always_inline)) void name##_half(                              \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w, int h,          \
        const uint8_t *restrict x, size_t xs, const int n_tok) {                                \
        __m256 acc[KERN_PACK_MAX_TOK];                                                          \
        for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();                           \
        for (int64_t i = 0; i < nb; i++) {                                                      \
            __m256i q[8];                                                                       \
            unpack(&w[i], h, q);                                                                \
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)&w[i].d[8 * h])); \
            for (int t = 0; t < n_tok; t++) {                                                   \
                const block_q8_0s *b = (const block_q8_0s *)(x + (size_t)t * xs) + i;           \
                __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();               \
                for (int c = 0; c < 8; c += 2) {                                                \
                    s0 = _mm256_add_epi32(s0, dot_i8x32_avx2(q[c], _mm256_set1_epi32(          \
                                                  packed_load_i32(b->qs + 4 * c))));             \
                    s1 = _mm256_add_epi32(s1, dot_i8x32_avx2(q[c + 1], _mm256_set1_epi32(      \
                                                  packed_load_i32(b->qs + 4 * c + 4))));         \
                }                                                                               \
                const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(b->d));                       \
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(s0, s1)), d, acc[t]); \
            }                                                                                   \
        }                                                                                       \
        for (int t = 0; t < n_tok; t++) _mm256_storeu_ps(out + (size_t)t * ldo + 8 * h, acc[t]); \
    }                                                                                           \
    static inline __attribute__((always_inline)) void name##_tok(                               \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w,                 \
        const uint8_t *restrict x, size_t xs, const int n_tok) {                                \
        name##_half(nb, out, ldo, w, 0, x, xs, n_tok);                                          \
        name##_half(nb, out, ldo, w, 1, x, xs, n_tok);                                          \
    }                                                                                           \
    KERN_PACKED_GEMM_BY_TOK(name, name##_tok, 32)

/* F16 / BF16 (block_f16x16, block_bf16x16), the float dot's lanes8 order: column c of every row
 * into accumulator c % 8 (one lane per row), reduced as kern_sum_lanes8. pair(const block_t *,
 * j, half, &even, &odd) widens columns 2j and 2j + 1 of the block (AVX2: of one half of the
 * rows) to floats. AVX-512 takes three activation rows per pass over the group (24
 * accumulators), AVX2 one row and one half of the group (8 rows) per pass. */
#define KERN_PACKED_FLOAT16_AVX512(name, block_t, pair)                                         \
    static inline __attribute__((always_inline)) void name##_rows(                              \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w,                 \
        const float *const x[3], const int n) {                                                 \
        __m512 acc[3][8];                                                                       \
        for (int t = 0; t < n; t++)                                                             \
            for (int l = 0; l < 8; l++) acc[t][l] = _mm512_setzero_ps();                        \
        for (int64_t i = 0; i < nb; i++)                                                        \
            for (int j = 0; j < 4; j++) {                                                       \
                _mm_prefetch((const char *)&w[i + 8] + 64 * j, _MM_HINT_T0);                    \
                __m512 v[2];                                                                    \
                pair(&w[i], j, 0, &v[0], &v[1]);                                                \
                for (int k = 0; k < 2; k++)                                                     \
                    for (int t = 0; t < n; t++) {                                               \
                        const int l = 2 * j + k;                                                \
                        acc[t][l] = _mm512_fmadd_ps(v[k], _mm512_set1_ps(x[t][8 * i + l]), acc[t][l]); \
                    }                                                                           \
            }                                                                                   \
        for (int t = 0; t < n; t++) _mm512_storeu_ps(out + (size_t)t * ldo, packed_reduce8_512(acc[t])); \
    }                                                                                           \
    /* three activation rows per pass (24 accumulators): each widened weight vector serves    \
     * three multiply-adds */                                                                  \
    static inline __attribute__((always_inline)) void name##_tok(                               \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w,                 \
        const uint8_t *restrict x, size_t xs, const int n_tok) {                                \
        for (int t = 0; t < n_tok; t += 3) {                                                    \
            const float *xr[3] = {NULL, NULL, NULL};                                            \
            const int n = n_tok - t < 3 ? n_tok - t : 3;                                        \
            for (int k = 0; k < n; k++) xr[k] = (const float *)(x + (size_t)(t + k) * xs);      \
            if (n == 3) name##_rows(nb, out + (size_t)t * ldo, ldo, w, xr, 3);                  \
            else if (n == 2) name##_rows(nb, out + (size_t)t * ldo, ldo, w, xr, 2);             \
            else name##_rows(nb, out + (size_t)t * ldo, ldo, w, xr, 1);                         \
        }                                                                                       \
    }                                                                                           \
    KERN_PACKED_GEMM_BY_TOK(name, name##_tok, 8)

#define KERN_PACKED_FLOAT16_AVX2(name, block_t, pair)                                           \
    static inline void name##_half(int64_t nb, float *restrict out, const block_t *restrict w,  \
                                   int h, const float *restrict x) {                            \
        __m256 acc[8];                                                                          \
        for (int l = 0; l < 8; l++) acc[l] = _mm256_setzero_ps();                               \
        for (int64_t i = 0; i < nb; i++)                                                        \
            for (int j = 0; j < 4; j++) {                                                       \
                __m256 v[2];                                                                    \
                pair(&w[i], j, h, &v[0], &v[1]);                                                \
                for (int k = 0; k < 2; k++)                                                     \
                    acc[2 * j + k] = _mm256_fmadd_ps(v[k], _mm256_set1_ps(x[8 * i + 2 * j + k]), \
                                                     acc[2 * j + k]);                           \
            }                                                                                   \
        _mm256_storeu_ps(out + 8 * h, packed_reduce8_256(acc));                                 \
    }                                                                                           \
    static inline __attribute__((always_inline)) void name##_tok(                               \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w,                 \
        const uint8_t *restrict x, size_t xs, const int n_tok) {                                \
        for (int t = 0; t < n_tok; t++)                                                         \
            for (int h = 0; h < 2; h++)                                                         \
                name##_half(nb, out + (size_t)t * ldo, w, h, (const float *)(x + (size_t)t * xs)); \
    }                                                                                           \
    KERN_PACKED_GEMM_BY_TOK(name, name##_tok, 8)

#endif
