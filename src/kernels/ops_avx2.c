/* ops_avx2.c: AVX2 versions of the ops whose plain C form is slow (reference: ops.c), equal to
 * it bit for bit: the vector exp is exp_poly's operations lane by lane (the same fused
 * multiply-adds, the same special case for huge arguments, blended in), softmax sums its blocks
 * of 8 in kern_sum_lanes8's order, and the weighted sum of F16 rows multiplies then adds as
 * ops_axpy does. */
#include "kernels/kernels_x86.h"
#include "kernels/ops.h"

static inline __m256 set1(float f) { return _mm256_set1_ps(f); }
static inline __m256 from_bits(__m256i u) { return _mm256_castsi256_ps(u); }

static inline __m256 exp8(__m256 x) {
    const __m256 r = set1(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, set1(0x1.715476p+0f), r), n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, set1(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, set1(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = from_bits(_mm256_add_epi32(e, _mm256_castps_si256(set1(1.0f))));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(set1(0x1.0e4020p-7f), b, set1(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(set1(0x1.555e66p-3f), b, set1(0x1.fffdb6p-2f))),
        u, _mm256_mul_ps(set1(0x1.ffffecp-1f), b));
    const __m256 normal = _mm256_fmadd_ps(j, k, k);
    const __m256 abs_n = _mm256_andnot_ps(set1(-0.0f), n);
    const __m256 huge = _mm256_cmp_ps(abs_n, set1(126.0f), _CMP_GT_OQ);
    if (!_mm256_movemask_ps(huge)) return normal;
    /* |n| > 126: two scale factors, s1 = 2^(+-127), so the result under- or overflows cleanly */
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, set1(0.0f), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = from_bits(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = from_bits(_mm256_sub_epi32(e, g));
    const __m256 scaled = _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1);
    const __m256 over = _mm256_cmp_ps(abs_n, set1(192.0f), _CMP_GT_OQ);
    const __m256 special = _mm256_blendv_ps(scaled, _mm256_mul_ps(s1, s1), over);
    return _mm256_blendv_ps(normal, special, huge);
}

/* Mask of the first n (< 8) lanes. */
static inline __m256i first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

double ops_exp_shifted_avx2(float *x, int64_t n, float shift) {
    double sum = 0.0;
    const __m256 vshift = set1(shift);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vshift));
        _mm256_storeu_ps(x + i, e);
        sum += hsum_f32x8(e);
    }
    if (i < n) { /* the partial block: absent lanes are zeros, as in the reference */
        const __m256i m = first_lanes(n - i);
        const __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vshift)),
                                       _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(x + i, m, e);
        sum += hsum_f32x8(e);
    }
    return sum;
}

void ops_scale_avx2(float *x, int64_t n, float a) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), set1(a)));
    for (; i < n; i++) x[i] *= a;
}

void ops_swiglu_avx2(float *out, const float *gate, const float *up, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 s = _mm256_div_ps(g, _mm256_add_ps(set1(1.0f), exp8(_mm256_sub_ps(set1(0.0f), g))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void ops_axpy_f16_avx2(float *y, float a, const uint16_t *x, int64_t n) {
    const __m256 va = set1(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 p = _mm256_mul_ps(va, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), p));
    }
    for (; i < n; i++) y[i] += a * fp16_to_fp32(x[i]);
}

void ops_weighted_rows_f16_avx2(float *lanes, const float *p, const uint16_t *rows, size_t stride,
                                int64_t n_rows, int64_t n) {
    for (int64_t t = 0; t < n_rows; t++)
        ops_axpy_f16_avx2(lanes + (t % 8) * n, p[t], rows + (size_t)t * stride, n);
}

void ops_round_f16_avx2(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++) x[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}
