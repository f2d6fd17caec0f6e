/* packed_float_avx2.c: the packed F16 and BF16 kernels with AVX2 (reference: packed_float.c;
 * loop shape: packed_x86.h). */
#include "kernels/kernels_x86.h"
#include "kernels/packed_x86.h"

static inline __m256 widen_f16(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
static inline __m256 widen_bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

KERN_PACKED_FLOAT16_AVX2(packed_gemm_f16x16_avx2, widen_f16)
KERN_PACKED_FLOAT16_AVX2(packed_gemm_bf16x16_avx2, widen_bf16)
