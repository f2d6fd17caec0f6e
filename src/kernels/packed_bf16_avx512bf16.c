/* packed_bf16_avx512bf16.c: the packed BF16 kernel with AVX512_BF16 (twin in plain C:
 * packed_gemm_bf16x16_pairs_ref in packed_float.c).
 *
 * VDPBF16PS multiplies a pair of columns of all 16 rows by the activation's pair and adds both
 * products, 32 multiply-adds per instruction where a float FMA does 16: the order is its own
 * (pairs, odd column first, denormals flushed), not the float dot's. Column pair p goes into
 * accumulator p % 8; two activation rows per pass over the group. The activations are floats
 * that are already bf16 values, so their top halves are their bf16 bits.
 */
#include "kernels/kernels_avx512.h"
#include "kernels/packed.h"

static inline __attribute__((always_inline)) void pairs_rows(
    int64_t nb, float *restrict out, size_t ldo, const block_bf16x16 *restrict w,
    const float *const x[2], const int n) {
    __m512 acc[2][8];
    for (int t = 0; t < n; t++)
        for (int k = 0; k < 8; k++) acc[t][k] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        uint32_t xp[2][4]; /* this block's 4 activation pairs, bf16 bits */
        for (int t = 0; t < n; t++) {
            const __m256i u = _mm256_srli_epi32(_mm256_castps_si256(_mm256_loadu_ps(x[t] + 8 * i)), 16);
            _mm_storeu_si128((__m128i *)xp[t], _mm256_cvtepi32_epi16(u));
        }
        for (int j = 0; j < 4; j++) {
            _mm_prefetch((const char *)&w[i + 8] + 64 * j, _MM_HINT_T0);
            const __m512i v = _mm512_loadu_si512(w[i].v[j]);
            const int k = (int)(i % 2) * 4 + j;
            for (int t = 0; t < n; t++)
                acc[t][k] = _mm512_dpbf16_ps(acc[t][k], (__m512bh)v,
                                             (__m512bh)_mm512_set1_epi32((int)xp[t][j]));
        }
    }
    for (int t = 0; t < n; t++) {
        const __m512 *a = acc[t];
        const __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[4]), _mm512_add_ps(a[2], a[6])),
                                       _mm512_add_ps(_mm512_add_ps(a[1], a[5]), _mm512_add_ps(a[3], a[7])));
        _mm512_storeu_ps(out + (size_t)t * ldo, s);
    }
}

static inline __attribute__((always_inline)) void pairs_tok(int64_t nb, float *restrict out,
                                                             size_t ldo,
                                                             const block_bf16x16 *restrict w,
                                                             const uint8_t *restrict x, size_t xs,
                                                             const int n_tok) {
    int t = 0;
    for (; t + 2 <= n_tok; t += 2) {
        const float *xr[2] = {(const float *)(x + (size_t)t * xs),
                              (const float *)(x + (size_t)(t + 1) * xs)};
        pairs_rows(nb, out + (size_t)t * ldo, ldo, w, xr, 2);
    }
    if (t < n_tok) {
        const float *xr[2] = {(const float *)(x + (size_t)t * xs), NULL};
        pairs_rows(nb, out + (size_t)t * ldo, ldo, w, xr, 1);
    }
}

KERN_PACKED_GEMM_BY_TOK(packed_gemm_bf16x16_avx512bf16, pairs_tok, 8)
