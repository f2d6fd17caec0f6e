/* packed_float_avx512.c: the packed F16 and BF16 kernels with AVX-512 (reference:
 * packed_float.c; loop shape: packed_x86.h). BF16 widens by shifting into the high half, which
 * is exact (VDPBF16PS would sum pairs first: another order). */
#include "kernels/kernels_avx512.h"
#include "kernels/packed_x86.h"

static inline __m512 widen_f16(const uint16_t *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}
static inline __m512 widen_bf16(const uint16_t *p) {
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

KERN_PACKED_FLOAT16_AVX512(packed_gemm_f16x16_avx512, widen_f16)
KERN_PACKED_FLOAT16_AVX512(packed_gemm_bf16x16_avx512, widen_bf16)
