/* q8_0_avx2.c: AVX2 kernels for Q8_0 (reference: q8_0.c).
 *
 * to_float and vec_dot are the shared x86 loop shapes (kernels_x86.h) with the Q8_0 decoder, a
 * plain 32-byte load. The quantizer has the two rules of kern_q8_block_ref: for weights it
 * reproduces quantize_row_q8_0_ref bit for bit (id = 1 / d, and roundf's ties-away-from-zero
 * rebuilt from truncation); for activations id = 127 / amax and ties go to even.
 */
#include <assert.h>

#include "kernels/kernels_x86.h"

KERN_QBLOCK_TO_FLOAT_X86(avx2, q8_0, block_q8_0, decode_q8_0_x86)
KERN_QBLOCK_VEC_DOT_X86(avx2, q8_0, block_q8_0, decode_q8_0_x86, dot_i8x32_avx2)
KERN_QBLOCK_TILES_X86(avx2, q8_0, block_q8_0, decode_q8_0_x86, dot_i8x32_avx2)

/* roundf per lane: truncate, then step one away from zero when the dropped part (v - trunc(v),
 * exact) is at least one half. */
static inline __m256 roundf_avx2(__m256 v) {
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = abs_f32x8(_mm256_sub_ps(v, t));
    const __m256 one = _mm256_or_ps(_mm256_and_ps(v, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

/* The weight rule (act false) or the activation rule (act true) of kern_q8_block_ref. */
static inline void quantize_q8_0_avx2(const float *restrict src, void *restrict dst, int64_t n,
                                      bool act) {
    assert(n % QK8_0 == 0);
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        __m256 v[4];
        for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(src + i * QK8_0 + k * 8);
        const __m256 m = _mm256_max_ps(_mm256_max_ps(abs_f32x8(v[0]), abs_f32x8(v[1])),
                                       _mm256_max_ps(abs_f32x8(v[2]), abs_f32x8(v[3])));
        const float amax = hmax_f32x8(m);
        const float d = amax / 127.0f;
        const float id = act ? (amax != 0.0f ? 127.0f / amax : 0.0f) : (d != 0.0f ? 1.0f / d : 0.0f);
        y[i].d = fp32_to_fp16_x86(d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            const __m256 x = _mm256_mul_ps(v[k], vid);
            const __m256 r = act ? _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
                                 : roundf_avx2(x);
            q[k] = _mm256_cvtps_epi32(_mm256_min_ps( /* [-127, 127] as q8_clamp; NaN -> -127 */
                _mm256_max_ps(r, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f)));
        }
        /* packs work within 128-bit lanes: the bytes come out as 4-element groups in the order
         * 0 2 4 6 1 3 5 7 (group g = elements 4g..4g+3); one dword permute restores it */
        const __m256i p16 = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]),
                                               _mm256_packs_epi32(q[2], q[3]));
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        const __m256i p8 = _mm256_permutevar8x32_epi32(p16, order);
        _mm256_storeu_si256((__m256i *)y[i].qs, p8);
    }
}

void from_float_q8_0_avx2(const float *restrict src, void *restrict dst, int64_t n) {
    quantize_q8_0_avx2(src, dst, n, false);
}

void act_from_float_q8_0_avx2(const float *restrict src, void *restrict dst, int64_t n) {
    quantize_q8_0_avx2(src, dst, n, true);
}
