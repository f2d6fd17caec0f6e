/* packed_bf16_avx512bf16.c: the packed BF16 kernel with AVX512_BF16 (twin in plain C:
 * packed_gemm_bf16x16_pairs_ref in packed_float.c).
 *
 * VDPBF16PS multiplies a pair of columns of all 16 rows by the activation's pair and adds both
 * products, 32 multiply-adds per instruction where a float FMA does 16; its order is its own
 * (pairs, odd column first, denormals flushed), not the float dot's. Column pair p goes into
 * accumulator p % 2, so eight activation rows fit in the registers at once and every weight
 * vector loaded serves all of them. The activations' bf16 pairs follow their floats in the
 * prepared row (act_float16).
 */
#include <string.h>

#include "kernels/kernels_avx512.h"
#include "kernels/packed.h"

static inline __attribute__((always_inline)) void pairs_tok(int64_t nb, float *restrict out,
                                                             size_t ldo,
                                                             const block_bf16x16 *restrict w,
                                                             const uint8_t *restrict x, size_t xs,
                                                             const int n_tok) {
    const int64_t n_cols = 8 * nb;
    const uint32_t *xp[KERN_PACK_MAX_TOK]; /* each row's bf16 pairs */
    __m512 acc[KERN_PACK_MAX_TOK][2];
    for (int t = 0; t < n_tok; t++) {
        xp[t] = (const uint32_t *)((const float *)(x + (size_t)t * xs) + n_cols);
        acc[t][0] = acc[t][1] = _mm512_setzero_ps();
    }
    for (int64_t i = 0; i < nb; i++)
        for (int j = 0; j < 4; j++) {
            _mm_prefetch((const char *)&w[i + 8] + 64 * j, _MM_HINT_T0);
            const __m512bh v = (__m512bh)_mm512_loadu_si512(w[i].v[j]);
            for (int t = 0; t < n_tok; t++)
                acc[t][j % 2] = _mm512_dpbf16_ps(acc[t][j % 2], v,
                                                 (__m512bh)_mm512_set1_epi32((int)xp[t][4 * i + j]));
        }
    for (int t = 0; t < n_tok; t++)
        _mm512_storeu_ps(out + (size_t)t * ldo, _mm512_add_ps(acc[t][0], acc[t][1]));
}

KERN_PACKED_GEMM_BY_TOK(packed_gemm_bf16x16_avx512bf16, pairs_tok, 8)
