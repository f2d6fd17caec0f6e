/* packed_q4_0_avx2.c: the packed Q4_0 kernel with AVX2 (reference: packed_q4_0.c).
 *
 * One ymm lane per row, so a group is two halves of eight rows, each a pass over the group's
 * blocks (the second pass finds them in cache). Per block and activation row, VPMADDUBSW of the
 * unsigned q of chunk c (elements 4c..4c+3 of eight rows) with the activation's four bytes of
 * chunk c, broadcast, gives two 16-bit sums per row; the eight chunks are added in 16 bits (at
 * most 16 * 15 * 127 = 30480, no overflow; activations never hold -128), widened once by VPMADDWD,
 * and offset by -8 * sum(x): the exact sum of (q - 8) * x.
 */
#include <string.h>

#include "kernels/kernels_x86.h"
#include "kernels/packed.h"

static inline __m256i bcast_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

static inline __attribute__((always_inline)) void gemm_half(int64_t nb, float *restrict out,
                                                             size_t ldo,
                                                             const block_q4_0x16 *restrict w,
                                                             int h, const uint8_t *restrict x,
                                                             size_t xs, const int n_tok) {
    const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    __m256 acc[KERN_PACK_MAX_TOK];
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i q[8];
        for (int p = 0; p < 4; p++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)w[i].qs[p][8 * h]);
            q[p] = _mm256_and_si256(v, m4);
            q[p + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)&w[i].d[8 * h]));
        for (int t = 0; t < n_tok; t++) {
            const block_q8_0s *b = (const block_q8_0s *)(x + (size_t)t * xs) + i;
            __m256i a0 = _mm256_maddubs_epi16(q[0], bcast_i32(b->qs));
            __m256i a1 = _mm256_maddubs_epi16(q[1], bcast_i32(b->qs + 4));
            for (int c = 2; c < 8; c += 2) {
                a0 = _mm256_add_epi16(a0, _mm256_maddubs_epi16(q[c], bcast_i32(b->qs + 4 * c)));
                a1 = _mm256_add_epi16(a1,
                                      _mm256_maddubs_epi16(q[c + 1], bcast_i32(b->qs + 4 * c + 4)));
            }
            const __m256i isum = _mm256_add_epi32(_mm256_madd_epi16(_mm256_add_epi16(a0, a1), ones),
                                                  _mm256_set1_epi32(-8 * b->sum));
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(b->d));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc[t]);
        }
    }
    for (int t = 0; t < n_tok; t++) _mm256_storeu_ps(out + (size_t)t * ldo + 8 * h, acc[t]);
}

static inline __attribute__((always_inline)) void gemm_tok(int64_t nb, float *restrict out,
                                                            size_t ldo, const void *restrict w,
                                                            const void *restrict x, size_t xs,
                                                            const int n_tok) {
    gemm_half(nb, out, ldo, w, 0, x, xs, n_tok);
    gemm_half(nb, out, ldo, w, 1, x, xs, n_tok);
}

KERN_PACKED_GEMM_BY_TOK(packed_gemm_q4_0x16_avx2, gemm_tok)
