/* packed_kquants_avx2.c: the packed Q4_K and Q6_K kernels with AVX2 (reference:
 * packed_kquants.c; the order is the unpacked vec_dot's, kquants.h). The shape of
 * packed_kquants_avx512.c on 8 rows at a time (two passes per group, one activation row each):
 * VPMADDUBSW gives each row's two 16-bit pair sums of a 4-element chunk, VPMADDWD with the scale
 * in both 16-bit halves makes them scale * (p0 + p1), added into the row's int32 lane c % 8.
 * Q6_K goes through signed q - 32 and the sign trick (|q| * x with q's sign, pair sums at most
 * 2 * 32 * 127).
 */
#include <string.h>

#include "kernels/kernels_x86.h"
#include "kernels/packed_x86.h"


static inline __m256i bcast_i32(const int8_t *p) { return _mm256_set1_epi32(packed_load_i32(p)); }

/* 8 rows' bytes (from row 8h) as int32 lanes: the value in the low 16 bits only (_lo), or in
 * both halves (_pair). */
static inline __m256i u8_lo(const uint8_t *p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}
static inline __m256i u8_pair(const uint8_t *p) {
    const __m256i s = u8_lo(p);
    return _mm256_or_si256(s, _mm256_slli_epi32(s, 16));
}
static inline __m256i s8_pair(const int8_t *p) {
    const __m256i s = _mm256_and_si256(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)),
                                       _mm256_set1_epi32(0xffff));
    return _mm256_or_si256(s, _mm256_slli_epi32(s, 16));
}

static inline __m256 neg(__m256 v) { return _mm256_xor_ps(v, _mm256_set1_ps(-0.0f)); }

static inline void store_rows(float *out, const __m256 f[8], const __m256 *m) {
    __m256 s = packed_reduce8_256(f);
    if (m) s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(m[0], m[2]), _mm256_add_ps(m[1], m[3])));
    _mm256_storeu_ps(out, s);
}

static void q4_K_half(int64_t nb, float *restrict out, const block_q4_Kx16 *restrict w, int hf,
                      const block_q8_Ks *restrict x) {
    const __m256i m4 = _mm256_set1_epi8(15), zero = _mm256_setzero_si256();
    __m256 f[8], mins[4];
    for (int k = 0; k < 8; k++) f[k] = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) mins[k] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const block_q4_Kx16 *b = &w[i];
        const block_q8_Ks *a = &x[i];
        const __m256 dx = _mm256_set1_ps(a->d);
        const __m256 dmin = neg(_mm256_mul_ps(dx, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)&b->dmin[8 * hf]))));
        for (int k = 0; k < 4; k++) {
            __m256i p = zero;
            for (int j = 2 * k; j < 2 * k + 2; j++)
                p = _mm256_add_epi32(p, _mm256_madd_epi16(u8_lo(&b->mn[j][8 * hf]),
                                                          _mm256_set1_epi32(a->bsums[2 * j] + a->bsums[2 * j + 1])));
            mins[k] = _mm256_fmadd_ps(dmin, _mm256_cvtepi32_ps(p), mins[k]);
        }
        __m256i lane[8];
        for (int k = 0; k < 8; k++) lane[k] = zero;
#pragma GCC unroll 4
        for (int h = 0; h < 4; h++) {
            const __m256i s_lo = u8_pair(&b->sc[2 * h][8 * hf]), s_hi = u8_pair(&b->sc[2 * h + 1][8 * hf]);
            for (int m = 0; m < 8; m++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)b->qs[h][m][8 * hf]);
                const __m256i p_lo = _mm256_maddubs_epi16(_mm256_and_si256(v, m4),
                                                          bcast_i32(a->qs + 4 * (16 * h + m)));
                const __m256i p_hi = _mm256_maddubs_epi16(
                    _mm256_and_si256(_mm256_srli_epi16(v, 4), m4), bcast_i32(a->qs + 4 * (16 * h + 8 + m)));
                lane[m] = _mm256_add_epi32(lane[m], _mm256_add_epi32(_mm256_madd_epi16(p_lo, s_lo),
                                                                     _mm256_madd_epi16(p_hi, s_hi)));
            }
        }
        const __m256 d = _mm256_mul_ps(dx, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)&b->d[8 * hf])));
        for (int k = 0; k < 8; k++) f[k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(lane[k]), f[k]);
    }
    store_rows(out + 8 * hf, f, mins);
}

/* the top two bits of chunk set s (bit pair 2s of each byte of v), moved to bits 4..5 */
static inline __m256i q6_high(__m256i v, int s) {
    const __m256i m = _mm256_set1_epi8(0x30);
    switch (s) {
    case 0: return _mm256_and_si256(_mm256_slli_epi16(v, 4), m);
    case 1: return _mm256_and_si256(_mm256_slli_epi16(v, 2), m);
    case 2: return _mm256_and_si256(v, m);
    default: return _mm256_and_si256(_mm256_srli_epi16(v, 2), m);
    }
}

/* scale * (sum of the chunk's (q - 32) * x) per row, from unsigned q */
static inline __m256i q6_chunk(__m256i q, const int8_t *x4, __m256i scale) {
    const __m256i qs = _mm256_sub_epi8(q, _mm256_set1_epi8(32));
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(qs, qs), _mm256_sign_epi8(bcast_i32(x4), qs));
    return _mm256_madd_epi16(p, scale);
}

static void q6_K_half(int64_t nb, float *restrict out, const block_q6_Kx16 *restrict w, int hf,
                      const block_q8_Ks *restrict x) {
    const __m256i m4 = _mm256_set1_epi8(15);
    __m256 f[8];
    for (int k = 0; k < 8; k++) f[k] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const block_q6_Kx16 *b = &w[i];
        const block_q8_Ks *a = &x[i];
        __m256i lane[8];
        for (int k = 0; k < 8; k++) lane[k] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++)
            for (int half = 0; half < 2; half++) {
                __m256i s[2][2];
                for (int u = 0; u < 2; u++)
                    for (int k = 0; k < 2; k++)
                        s[u][k] = s8_pair(&b->sc[8 * h + 4 * k + 2 * u + half][8 * hf]);
                for (int m = 4 * half; m < 4 * half + 4; m++) {
                    const __m256i hb = _mm256_loadu_si256((const __m256i *)b->q[h][m].qh[8 * hf]);
                    for (int u = 0; u < 2; u++) {
                        const __m256i v = _mm256_loadu_si256((const __m256i *)b->q[h][m].ql[u][8 * hf]);
                        const __m256i q_lo = _mm256_or_si256(_mm256_and_si256(v, m4), q6_high(hb, u));
                        const __m256i q_hi = _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16(v, 4), m4), q6_high(hb, u + 2));
                        const int cl = 32 * h + 8 * u + m, ch = cl + 16;
                        lane[m] = _mm256_add_epi32(lane[m],
                                                   _mm256_add_epi32(q6_chunk(q_lo, a->qs + 4 * cl, s[u][0]),
                                                                    q6_chunk(q_hi, a->qs + 4 * ch, s[u][1])));
                    }
                }
            }
        const __m256 d = _mm256_mul_ps(_mm256_set1_ps(a->d),
                                       _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)&b->d[8 * hf])));
        for (int k = 0; k < 8; k++) f[k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(lane[k]), f[k]);
    }
    store_rows(out + 8 * hf, f, NULL);
}

#define BY_HALVES(name, half_fn, block_t)                                                       \
    static inline __attribute__((always_inline)) void name##_tok(                               \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w,                 \
        const uint8_t *restrict x, size_t xs, const int n_tok) {                                \
        for (int t = 0; t < n_tok; t++)                                                         \
            for (int hf = 0; hf < 2; hf++)                                                      \
                half_fn(nb, out + (size_t)t * ldo, w, hf, (const block_q8_Ks *)(x + (size_t)t * xs)); \
    }                                                                                           \
    KERN_PACKED_GEMM_BY_TOK(name, name##_tok, QK_K)

BY_HALVES(packed_gemm_q4_Kx16_avx2, q4_K_half, block_q4_Kx16)
BY_HALVES(packed_gemm_q6_Kx16_avx2, q6_K_half, block_q6_Kx16)
