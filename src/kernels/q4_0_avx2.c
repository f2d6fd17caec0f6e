/* q4_0_avx2.c: AVX2 kernels for Q4_0 (reference: q4_0.c).
 *
 * to_float and vec_dot are the shared x86 loop shapes (kernels_x86.h) with the Q4_0 decoder
 * (nibbles to signed bytes). from_float reproduces quantize_row_q4_0_ref bit for bit: the
 * largest magnitude is found with a vector max, then the first element holding it (the
 * reference's strict '<' keeps the first on ties) is located with a compare mask, so its sign is
 * the reference's; the scale is computed in scalar code as the reference does, and
 * (int8_t)(x * id + 8.5f) is a separate multiply and add followed by truncation.
 */
#include <assert.h>

#include "kernels/kernels_x86.h"

KERN_QBLOCK_TO_FLOAT_X86(avx2, q4_0, block_q4_0, decode_q4_0_x86)
KERN_QBLOCK_VEC_DOT_X86(avx2, q4_0, block_q4_0, decode_q4_0_x86, dot_i8x32_avx2)
KERN_QBLOCK_TILES_X86(avx2, q4_0, block_q4_0, decode_q4_0_x86, dot_i8x32_avx2)

void from_float_q4_0_avx2(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % QK4_0 == 0);
    block_q4_0 *y = dst;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float *x = src + i * QK4_0;
        __m256 v[4];
        for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + k * 8);
        const __m256 m = _mm256_max_ps(_mm256_max_ps(abs_f32x8(v[0]), abs_f32x8(v[1])),
                                       _mm256_max_ps(abs_f32x8(v[2]), abs_f32x8(v[3])));
        const float amax = hmax_f32x8(m);
        float max = 0.0f; /* the reference keeps +0 when every element is zero */
        if (amax > 0.0f) {
            uint32_t hit = 0;
            for (int k = 0; k < 4; k++)
                hit |= (uint32_t)_mm256_movemask_ps(
                           _mm256_cmp_ps(abs_f32x8(v[k]), _mm256_set1_ps(amax), _CMP_EQ_OQ))
                       << (8 * k);
            max = x[__builtin_ctz(hit)];
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16_x86(d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++)
            q[k] = _mm256_cvttps_epi32(_mm256_min_ps(   /* [0, 15] as q4_clamp; NaN -> 0 */
                _mm256_max_ps(_mm256_add_ps(_mm256_mul_ps(v[k], vid), _mm256_set1_ps(8.5f)),
                              _mm256_setzero_ps()),
                _mm256_set1_ps(15.0f)));
        /* byte j = q[j] | q[j + 16] << 4: elements 0..7 pair with 16..23, 8..15 with 24..31 */
        const __m256i c0 = _mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4));
        const __m256i c1 = _mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4));
        /* packus works within 128-bit lanes; the qword permute puts c0's halves first */
        const __m256i p16 = _mm256_permute4x64_epi64(_mm256_packus_epi32(c0, c1), 0xd8);
        const __m128i p8 = _mm_packus_epi16(_mm256_castsi256_si128(p16),
                                            _mm256_extracti128_si256(p16, 1));
        _mm_storeu_si128((__m128i *)y[i].qs, p8);
    }
}
