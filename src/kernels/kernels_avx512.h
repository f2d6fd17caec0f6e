/* kernels_avx512.h: AVX-512 helpers for the *_avx512.c kernel files (compiled with the AVX-512
 * F/BW/DQ/VL/VNNI/BF16 flags; include from nowhere else). Adds to kernels_x86.h the 16-float
 * vector family used by KERN_FLOAT_CONVERT_X86 and a VNNI int8 dot for KERN_QBLOCK_VEC_DOT_X86.
 */
#ifndef WARD_KERNELS_AVX512_H
#define WARD_KERNELS_AVX512_H

#include "kernels/kernels_x86.h"

/* ---------------------------------------------------------------------------------------------
 * 16-float vectors and float-type conversions (twins of the f32x8 family)
 * ------------------------------------------------------------------------------------------- */

typedef __m512 f32x16;
static inline f32x16 f32x16_zero(void) { return _mm512_setzero_ps(); }
static inline f32x16 f32x16_add(f32x16 a, f32x16 b) { return _mm512_add_ps(a, b); }
static inline f32x16 f32x16_fmadd(f32x16 a, f32x16 b, f32x16 c) { return _mm512_fmadd_ps(a, b, c); }
static inline float f32x16_hsum(f32x16 v) {
    return hsum_f32x8(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
static inline f32x16 f32x16_loadu(const float *p) { return _mm512_loadu_ps(p); }
static inline void f32x16_storeu(float *p, f32x16 v) { _mm512_storeu_ps(p, v); }

static inline f32x16 f32x16_load_f32(const float *p) { return _mm512_loadu_ps(p); }
static inline void f32x16_store_f32(float *p, f32x16 v) { _mm512_storeu_ps(p, v); }

static inline f32x16 f32x16_load_f16(const uint16_t *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}
static inline void f32x16_store_f16(uint16_t *p, f32x16 v) {
    _mm256_storeu_si256((__m256i *)p,
                        _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

static inline f32x16 f32x16_load_bf16(const uint16_t *p) {
    const __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}
/* Integer rounding rather than VCVTNEPS2BF16, which flushes denormals and so would not match
 * fp32_to_bf16. */
static inline void f32x16_store_bf16(uint16_t *p, f32x16 v) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    const __m512i bias = _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd); /* ties to even */
    const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, bias), 16);
    const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(64));
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(
        _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
    const __m512i h = _mm512_mask_blend_epi32(nan, rounded, quiet);
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtepi32_epi16(h));
}

/* ---------------------------------------------------------------------------------------------
 * int8 dot for the quantized loop shape
 * ------------------------------------------------------------------------------------------- */

/* Same contract as dot_i8x32_avx2, but VPDPBUSD sums each group of four u8 x s8 products
 * straight into int32: one instruction instead of maddubs + madd, no int16 stage. */
static inline __m256i dot_i8x32_vnni(__m256i w, __m256i x) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w),
                               _mm256_sign_epi8(x, w));
}

#endif
