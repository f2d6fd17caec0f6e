/* packed_q4_0_avx512.c: the packed Q4_0 kernel with AVX-512 VNNI (reference: packed_q4_0.c).
 *
 * One zmm lane per row of the group. Per block the four 64-byte nibble vectors unpack into eight
 * vectors of unsigned q, chunk c holding elements 4c..4c+3 of all 16 rows; VPDPBUSD against the
 * activation's four bytes of chunk c, broadcast, adds each row's four products to its lane. The
 * accumulator starts at -8 * sum(x), so the lane ends as the exact sum of (q - 8) * x. The
 * unpacked block is reused for every activation row of the call.
 */
#include <string.h>

#include "kernels/kernels_avx512.h"
#include "kernels/packed.h"

static inline __m512i bcast_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

static inline __attribute__((always_inline)) void gemm_tok(int64_t nb, float *restrict out,
                                                            size_t ldo,
                                                            const block_q4_0x16 *restrict w,
                                                            const uint8_t *restrict x, size_t xs,
                                                            const int n_tok) {
    const __m512i m4 = _mm512_set1_epi8(15);
    __m512 acc[KERN_PACK_MAX_TOK];
    for (int t = 0; t < n_tok; t++) acc[t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m512i q[8];
        for (int p = 0; p < 4; p++) {
            const __m512i v = _mm512_loadu_si512(w[i].qs[p]);
            q[p] = _mm512_and_si512(v, m4);
            q[p + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)w[i].d));
        for (int t = 0; t < n_tok; t++) {
            const block_q8_0s *b = (const block_q8_0s *)(x + (size_t)t * xs) + i;
            __m512i s0 = _mm512_set1_epi32(-8 * b->sum), s1 = _mm512_setzero_si512();
            for (int c = 0; c < 8; c += 2) {
                s0 = _mm512_dpbusd_epi32(s0, q[c], bcast_i32(b->qs + 4 * c));
                s1 = _mm512_dpbusd_epi32(s1, q[c + 1], bcast_i32(b->qs + 4 * c + 4));
            }
            const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(b->d));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), d, acc[t]);
        }
    }
    for (int t = 0; t < n_tok; t++) _mm512_storeu_ps(out + (size_t)t * ldo, acc[t]);
}

KERN_PACKED_GEMM_BY_TOK(packed_gemm_q4_0x16_avx512, gemm_tok)
