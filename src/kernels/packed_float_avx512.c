/* packed_float_avx512.c: the packed F16 and BF16 kernels with AVX-512, the float dot's order
 * (reference: packed_float.c; loop shape: packed_x86.h). A bf16 in the high half of a 32-bit
 * word is its float; the low one is shifted up. */
#include "kernels/kernels_avx512.h"
#include "kernels/packed_x86.h"

static inline void pair_f16(const block_f16x16 *b, int j, int h, __m512 *even, __m512 *odd) {
    (void)h;
    *even = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)b->v[2 * j]));
    *odd = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)b->v[2 * j + 1]));
}
static inline void pair_bf16(const block_bf16x16 *b, int j, int h, __m512 *even, __m512 *odd) {
    (void)h;
    const __m512i v = _mm512_loadu_si512(b->v[j]);
    *even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    *odd = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int)0xffff0000u)));
}

KERN_PACKED_FLOAT16_AVX512(packed_gemm_f16x16_avx512, block_f16x16, pair_f16)
KERN_PACKED_FLOAT16_AVX512(packed_gemm_bf16x16_avx512, block_bf16x16, pair_bf16)
