/* kernels_x86.h: 256-bit helpers and loop shapes shared by the x86 kernel files (*_avx2.c and
 * *_avx512.c, all compiled with at least -mavx2 -mfma -mf16c). Include from nowhere else.
 *
 * Quantized kernels use one loop shape per operation, parameterized by a block decoder that
 * turns a weight block into 32 signed bytes in element order (decode_q8_0_x86,
 * decode_q4_0_x86) and, for vec_dot, by the int8 dot product the ISA offers (maddubs on AVX2,
 * VNNI on AVX-512). The fp16 scale is read with F16C, which converts exactly like fp16.c.
 */
#ifndef WARD_KERNELS_X86_H
#define WARD_KERNELS_X86_H

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_impl.h"

/* ---------------------------------------------------------------------------------------------
 * Horizontal reductions
 * ------------------------------------------------------------------------------------------- */

static inline float hsum_f32x8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The other reduction order of kernels_impl.h: ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)). */
static inline float hsum_pairs_f32x8(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 h = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(_mm_hadd_ps(h, h));
}

static inline float hmax_f32x8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline __m256 abs_f32x8(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

static inline float fp16_to_fp32_x86(uint16_t h) { return _cvtsh_ss(h); }
static inline uint16_t fp32_to_fp16_x86(float f) {
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* ---------------------------------------------------------------------------------------------
 * 8-float vectors, and loads/stores that convert each float type (F16 via F16C, round to
 * nearest even like fp32_to_fp16; BF16 by shifting, and rounding like fp32_to_bf16 with
 * integer ops, quiet NaNs included). The AVX-512 twins (f32x16_*) are in kernels_avx512.h.
 * ------------------------------------------------------------------------------------------- */

typedef __m256 f32x8;
static inline f32x8 f32x8_zero(void) { return _mm256_setzero_ps(); }
static inline f32x8 f32x8_add(f32x8 a, f32x8 b) { return _mm256_add_ps(a, b); }
static inline f32x8 f32x8_fmadd(f32x8 a, f32x8 b, f32x8 c) { return _mm256_fmadd_ps(a, b, c); }
static inline float f32x8_hsum(f32x8 v) { return hsum_f32x8(v); }
static inline f32x8 f32x8_loadu(const float *p) { return _mm256_loadu_ps(p); }
static inline void f32x8_storeu(float *p, f32x8 v) { _mm256_storeu_ps(p, v); }

static inline f32x8 f32x8_load_f32(const float *p) { return _mm256_loadu_ps(p); }
static inline void f32x8_store_f32(float *p, f32x8 v) { _mm256_storeu_ps(p, v); }

static inline f32x8 f32x8_load_f16(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
static inline void f32x8_store_f16(uint16_t *p, f32x8 v) {
    const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128((__m128i *)p, h);
}

static inline f32x8 f32x8_load_bf16(const uint16_t *p) {
    const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
static inline void f32x8_store_bf16(uint16_t *p, f32x8 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i bias = _mm256_add_epi32(_mm256_set1_epi32(0x7fff), odd); /* ties to even */
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, bias), 16);
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                           _mm256_set1_epi32(0x7f800000));
    const __m256i h = _mm256_blendv_epi8(rounded, quiet, nan); /* 8 x u16 in 32-bit lanes */
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(h, h), 0x08);
    _mm_storeu_si128((__m128i *)p, _mm256_castsi256_si128(packed));
}

/* ---------------------------------------------------------------------------------------------
 * Loop shapes for the float types (the _ref twin is FLOAT_TYPE_REF in float_types.c).
 * Conversions go W elements at a time (vec = f32x8 or f32x16) with a scalar tail. The dot
 * follows the fixed orders of kernels_impl.h on every ISA: one 8-float FMA accumulator
 * (hsum_f32x8 reduces as kern_sum_lanes8), or four of them when n % 8 != 0 (hsum_pairs_f32x8
 * reduces as kern_sum_lanes8_pairs).
 * ------------------------------------------------------------------------------------------- */

#define KERN_FLOAT_CONVERT_X86(isa, name, elem_t, vec, W, to_f32, from_f32)                    \
    void to_float_##name##_##isa(const void *restrict src, float *restrict dst, int64_t n) {   \
        const elem_t *s = src;                                                                 \
        int64_t i = 0;                                                                         \
        for (; i + W <= n; i += W) vec##_storeu(dst + i, vec##_load_##name(s + i));            \
        for (; i < n; i++) dst[i] = to_f32(s[i]);                                              \
    }                                                                                          \
    void from_float_##name##_##isa(const float *restrict src, void *restrict dst, int64_t n) { \
        elem_t *d = dst;                                                                       \
        int64_t i = 0;                                                                         \
        for (; i + W <= n; i += W) vec##_store_##name(d + i, vec##_loadu(src + i));            \
        for (; i < n; i++) d[i] = from_f32(src[i]);                                            \
    }

#define KERN_FLOAT_DOT_X86(isa, name, elem_t, to_f32)                                          \
    void vec_dot_##name##_##name##_##isa(int64_t n, float *restrict out,                       \
                                         const void *restrict w, const void *restrict x) {     \
        const elem_t *a = w, *b = x;                                                           \
        int64_t i = 0;                                                                         \
        float sum;                                                                             \
        if (n % 8 == 0) {                                                                      \
            f32x8 acc = f32x8_zero();                                                          \
            for (; i < n; i += 8)                                                              \
                acc = f32x8_fmadd(f32x8_load_##name(a + i), f32x8_load_##name(b + i), acc);    \
            sum = f32x8_hsum(acc);                                                             \
        } else {                                                                               \
            f32x8 acc[4] = {f32x8_zero(), f32x8_zero(), f32x8_zero(), f32x8_zero()};           \
            for (; i + 32 <= n; i += 32)                                                       \
                for (int k = 0; k < 4; k++)                                                    \
                    acc[k] = f32x8_fmadd(f32x8_load_##name(a + i + 8 * k),                     \
                                         f32x8_load_##name(b + i + 8 * k), acc[k]);            \
            sum = hsum_pairs_f32x8(                                                            \
                f32x8_add(f32x8_add(acc[0], acc[2]), f32x8_add(acc[1], acc[3])));              \
        }                                                                                      \
        for (; i < n; i++) sum = fmaf(to_f32(a[i]), to_f32(b[i]), sum);                        \
        *out = sum;                                                                            \
    }

/* Tiles of the float dot (4 weight rows x T activation rows): for n % 8 == 0 each dot is one
 * 8-float chain exactly as above, interleaved; other lengths go dot by dot. */
#define KERN_FLOAT_TILE_X86(isa, name, elem_t, T)                                              \
    void tile4x##T##_##name##_##name##_##isa(int64_t n, float *restrict out, size_t ldo,       \
                                             const void *restrict w, size_t ws,               \
                                             const void *restrict x, size_t xs) {             \
        if (n % 8 != 0) {                                                                      \
            for (int t = 0; t < T; t++)                                                        \
                for (int r = 0; r < 4; r++)                                                    \
                    vec_dot_##name##_##name##_##isa(n, &out[(size_t)t * ldo + (size_t)r],      \
                                                    (const uint8_t *)w + (size_t)r * ws,      \
                                                    (const uint8_t *)x + (size_t)t * xs);     \
            return;                                                                            \
        }                                                                                      \
        f32x8 acc[4][T];                                                                       \
        for (int r = 0; r < 4; r++)                                                            \
            for (int t = 0; t < T; t++) acc[r][t] = f32x8_zero();                              \
        for (int64_t i = 0; i < n; i += 8) {                                                   \
            f32x8 xv[T];                                                                       \
            for (int t = 0; t < T; t++)                                                        \
                xv[t] = f32x8_load_##name((const elem_t *)((const uint8_t *)x + (size_t)t * xs) + i); \
            for (int r = 0; r < 4; r++) {                                                      \
                const f32x8 wv =                                                               \
                    f32x8_load_##name((const elem_t *)((const uint8_t *)w + (size_t)r * ws) + i); \
                for (int t = 0; t < T; t++) acc[r][t] = f32x8_fmadd(wv, xv[t], acc[r][t]);     \
            }                                                                                  \
        }                                                                                      \
        for (int r = 0; r < 4; r++)                                                            \
            for (int t = 0; t < T; t++) out[(size_t)t * ldo + (size_t)r] = f32x8_hsum(acc[r][t]); \
    }
#define KERN_FLOAT_TILES_X86(isa, name, elem_t)                                                \
    KERN_FLOAT_TILE_X86(isa, name, elem_t, 1) KERN_FLOAT_TILE_X86(isa, name, elem_t, 2)

/* ---------------------------------------------------------------------------------------------
 * Block decoders: 32 signed bytes in element order
 * ------------------------------------------------------------------------------------------- */

static inline __m256i decode_q8_0_x86(const block_q8_0 *b) {
    return _mm256_loadu_si256((const __m256i *)b->qs);
}

/* Low nibbles are elements 0..15, high nibbles 16..31: mask, shift, then put the halves side by
 * side (values 0..15). */
static inline __m256i nibbles_x86(const uint8_t qs[16]) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m4 = _mm_set1_epi8(0x0f);
    const __m128i lo = _mm_and_si128(raw, m4), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
    return _mm256_set_m128i(hi, lo);
}

/* Fifth bits of Q5_0/Q5_1 as 0x10 in byte j when bit j of the little-endian mask is set: each
 * byte gets its mask byte (j / 8) by a shuffle within both 128-bit halves, then tests bit j % 8. */
static inline __m256i fifth_bits_x86(const uint8_t qh[4]) {
    uint32_t h;
    memcpy(&h, qh, 4);
    const __m256i sel = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                         2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    const __m256i rep = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), sel);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(rep, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

static inline __m256i decode_q4_0_x86(const block_q4_0 *b) {
    return _mm256_sub_epi8(nibbles_x86(b->qs), _mm256_set1_epi8(8));
}
static inline __m256i decode_q4_1_x86(const block_q4_1 *b) { return nibbles_x86(b->qs); }
static inline __m256i decode_q5_0_x86(const block_q5_0 *b) {
    const __m256i q = _mm256_or_si256(nibbles_x86(b->qs), fifth_bits_x86(b->qh));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(16));
}
static inline __m256i decode_q5_1_x86(const block_q5_1 *b) {
    return _mm256_or_si256(nibbles_x86(b->qs), fifth_bits_x86(b->qh));
}

/* 8 partial sums of w[i] * x[i] over 32 signed bytes, as int32. maddubs multiplies unsigned by
 * signed bytes, so w's sign moves onto x: |w| * (x * sign(w)). Exact as long as x has no -128
 * (quantize_row_q8_0 writes [-127, 127]), so no pair sum overflows int16. */
static inline __m256i dot_i8x32_avx2(__m256i w, __m256i x) {
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

/* ---------------------------------------------------------------------------------------------
 * Loop shapes for int8-decodable 32-element blocks (the _ref twin is KERN_QBLOCK_REF)
 * ------------------------------------------------------------------------------------------- */

/* 32 signed bytes as four vectors of 8 floats, in element order. */
static inline void i8x32_to_f32_x86(__m256i q, __m256 f[4]) {
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    const __m128i part[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int k = 0; k < 4; k++) f[k] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part[k]));
}

/* Dequantize: q * d per element (plus m for blocks with a minimum: MIN_EXPR is 0 or 1), the same
 * roundings as the reference: a multiply, then an add, never fused. */
#define KERN_QBLOCK_TO_FLOAT_X86_(isa, wname, block_t, decode, HAS_MIN, min_of)                \
    void to_float_##wname##_##isa(const void *restrict src, float *restrict dst, int64_t n) { \
        assert(n % 32 == 0);                                                                  \
        const block_t *b = src;                                                               \
        for (int64_t i = 0; i < n / 32; i++) {                                                \
            __m256 f[4];                                                                      \
            i8x32_to_f32_x86(decode(&b[i]), f);                                               \
            const __m256 d = _mm256_set1_ps(fp16_to_fp32_x86(b[i].d));                        \
            const __m256 m = _mm256_set1_ps(HAS_MIN ? fp16_to_fp32_x86(min_of(&b[i])) : 0.0f); \
            for (int k = 0; k < 4; k++) {                                                     \
                __m256 v = _mm256_mul_ps(f[k], d);                                            \
                if (HAS_MIN) v = _mm256_add_ps(v, m);                                         \
                _mm256_storeu_ps(dst + i * 32 + k * 8, v);                                    \
            }                                                                                 \
        }                                                                                     \
    }
#define KERN_QBLOCK_NO_MIN(b) 0
#define KERN_QBLOCK_MIN_FIELD(b) ((b)->m)
#define KERN_QBLOCK_TO_FLOAT_X86(isa, wname, block_t, decode) \
    KERN_QBLOCK_TO_FLOAT_X86_(isa, wname, block_t, decode, 0, KERN_QBLOCK_NO_MIN)
#define KERN_QBLOCK_MIN_TO_FLOAT_X86(isa, wname, block_t, decode) \
    KERN_QBLOCK_TO_FLOAT_X86_(isa, wname, block_t, decode, 1, KERN_QBLOCK_MIN_FIELD)

/* Dot with Q8_0 activations in the order of kernels_impl.h: per block the exact int32 lane
 * sums, scaled by d_w * d_x into one float accumulator (a single chain keeps the order fixed;
 * the GEMM work will interleave rows for latency instead). */
#define KERN_QBLOCK_VEC_DOT_X86(isa, wname, block_t, decode, dot)                              \
    void vec_dot_##wname##_q8_0_##isa(int64_t n, float *restrict out, const void *restrict w,  \
                                      const void *restrict x) {                                \
        assert(n % 32 == 0);                                                                   \
        const block_t *bw = w;                                                                 \
        const block_q8_0 *bx = x;                                                              \
        __m256 acc = _mm256_setzero_ps();                                                      \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            const __m256 d = _mm256_set1_ps(fp16_to_fp32_x86(bw[i].d) * fp16_to_fp32_x86(bx[i].d)); \
            const __m256i p = dot(decode(&bw[i]), _mm256_loadu_si256((const __m256i *)bx[i].qs)); \
            acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);                              \
        }                                                                                      \
        *out = hsum_f32x8(acc);                                                                \
    }

/* Dot with Q8_1 activations for blocks with a minimum, in the order of KERN_QBLOCK_MIN_REF: the
 * lanes as above, and m * s summed by a scalar fused multiply-add. */
#define KERN_QBLOCK_MIN_VEC_DOT_X86(isa, wname, block_t, decode, dot)                          \
    void vec_dot_##wname##_q8_1_##isa(int64_t n, float *restrict out, const void *restrict w,  \
                                      const void *restrict x) {                                \
        assert(n % 32 == 0);                                                                   \
        const block_t *bw = w;                                                                 \
        const block_q8_1 *bx = x;                                                              \
        __m256 acc = _mm256_setzero_ps();                                                      \
        float summs = 0.0f;                                                                    \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            summs = fmaf(fp16_to_fp32_x86(bw[i].m), fp16_to_fp32_x86(bx[i].s), summs);         \
            const __m256 d = _mm256_set1_ps(fp16_to_fp32_x86(bw[i].d) * fp16_to_fp32_x86(bx[i].d)); \
            const __m256i p = dot(decode(&bw[i]), _mm256_loadu_si256((const __m256i *)bx[i].qs)); \
            acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc);                              \
        }                                                                                      \
        *out = hsum_f32x8(acc) + summs;                                                        \
    }

/* Tiles of the same dot: 4 weight rows x T activation rows, each chain exactly as above (the
 * block's scale product, the int32 lanes, one fused multiply-add per block), interleaved. */
#define KERN_QBLOCK_TILE_X86(isa, wname, block_t, decode, dot, T)                             \
    void tile4x##T##_##wname##_q8_0_##isa(int64_t n, float *restrict out, size_t ldo,          \
                                          const void *restrict w, size_t ws,                  \
                                          const void *restrict x, size_t xs) {                \
        assert(n % 32 == 0);                                                                   \
        __m256 acc[4][T];                                                                      \
        for (int r = 0; r < 4; r++)                                                            \
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();                       \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            __m256i wq[4];                                                                     \
            float wd[4];                                                                       \
            for (int r = 0; r < 4; r++) {                                                      \
                const block_t *b = (const block_t *)((const uint8_t *)w + (size_t)r * ws) + i; \
                wq[r] = decode(b);                                                             \
                wd[r] = fp16_to_fp32_x86(b->d);                                                \
            }                                                                                  \
            for (int t = 0; t < T; t++) {                                                      \
                const block_q8_0 *bx = (const block_q8_0 *)((const uint8_t *)x + (size_t)t * xs) + i; \
                const __m256i xq = _mm256_loadu_si256((const __m256i *)bx->qs);                \
                const float xd = fp16_to_fp32_x86(bx->d);                                      \
                for (int r = 0; r < 4; r++)                                                    \
                    acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(wd[r] * xd),                    \
                                                _mm256_cvtepi32_ps(dot(wq[r], xq)), acc[r][t]); \
            }                                                                                  \
        }                                                                                      \
        for (int r = 0; r < 4; r++)                                                            \
            for (int t = 0; t < T; t++) out[(size_t)t * ldo + (size_t)r] = hsum_f32x8(acc[r][t]); \
    }

/* Both tile shapes of a type. */
#define KERN_QBLOCK_TILES_X86(isa, wname, block_t, decode, dot)                                \
    KERN_QBLOCK_TILE_X86(isa, wname, block_t, decode, dot, 1)                                  \
    KERN_QBLOCK_TILE_X86(isa, wname, block_t, decode, dot, 2)

#endif
