/* packed_float_avx2.c: the packed F16 and BF16 kernels with AVX2, the float dot's order
 * (reference: packed_float.c; loop shape: packed_x86.h). */
#include "kernels/kernels_x86.h"
#include "kernels/packed_x86.h"

static inline void pair_f16(const block_f16x16 *b, int j, int h, __m256 *even, __m256 *odd) {
    *even = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)&b->v[2 * j][8 * h]));
    *odd = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)&b->v[2 * j + 1][8 * h]));
}
static inline void pair_bf16(const block_bf16x16 *b, int j, int h, __m256 *even, __m256 *odd) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)&b->v[j][8 * h]);
    *even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    *odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000u)));
}

KERN_PACKED_FLOAT16_AVX2(packed_gemm_f16x16_avx2, block_f16x16, pair_f16)
KERN_PACKED_FLOAT16_AVX2(packed_gemm_bf16x16_avx2, block_bf16x16, pair_bf16)
