/* packed_kquants_avx512.c: the packed Q4_K and Q6_K kernels with AVX-512 VNNI (reference:
 * packed_kquants.c; the order is the unpacked vec_dot's, kquants.h).
 *
 * One zmm lane per row of the group, one activation row per pass. Each 4-element chunk c of a
 * super-block adds scale * (its exact sum of products) into the row's int32 lane c % 8. Q4_K:
 * VPMADDUBSW of the chunk's nibbles with its four activation bytes broadcast gives two 16-bit
 * pair sums per row (at most 2 * 15 * 127), and VPDPWSSD with the scale in both 16-bit halves
 * adds scale * (p0 + p1). Q6_K: VPDPBUSD of q + 32 from the activation's -32 * sum of the chunk
 * gives the chunk sum D (|D| < 2^15), and VPDPWSSD with the scale in the low half only adds
 * D * scale. Per super-block the eight lanes
 * go into float accumulators by fused multiply-add with d_x * d, the Q4_K minimums into four
 * more (kq_side), and the lanes reduce as kern_sum_lanes8.
 */
#include <string.h>

#include "kernels/kernels_avx512.h"
#include "kernels/packed_x86.h"


static inline __m512i bcast_i32(const int8_t *p) { return _mm512_set1_epi32(packed_load_i32(p)); }

/* 16 rows' unsigned or signed bytes as int32 lanes with zero high halves. */
static inline __m512i scales_u8(const uint8_t *p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
}
/* 16 rows' unsigned bytes in both 16-bit halves of their lanes: VPDPWSSD of two 16-bit pair
 * sums (VPMADDUBSW) with it gives scale * (p0 + p1). */
static inline __m512i scales_pair(const uint8_t *p) {
    const __m512i s = scales_u8(p);
    return _mm512_or_si512(s, _mm512_slli_epi32(s, 16));
}
static inline __m512i scales_s8(const int8_t *p) {
    return _mm512_and_si512(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)),
                            _mm512_set1_epi32(0xffff));
}

static inline __m512 neg(__m512 v) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u)));
}

/* out[r] = kern_sum_lanes8(lanes) (+ ((m0 + m2) + (m1 + m3)) when m is given). */
static inline void store_rows(float *out, const __m512 f[8], const __m512 *m) {
    __m512 s = packed_reduce8_512(f);
    if (m) s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(m[0], m[2]), _mm512_add_ps(m[1], m[3])));
    _mm512_storeu_ps(out, s);
}

static void q4_K_one(int64_t nb, float *restrict out, const block_q4_Kx16 *restrict w,
                     const block_q8_Ks *restrict x) {
    const __m512i m4 = _mm512_set1_epi8(15), zero = _mm512_setzero_si512();
    __m512 f[8], mins[4];
    for (int k = 0; k < 8; k++) f[k] = _mm512_setzero_ps();
    for (int k = 0; k < 4; k++) mins[k] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const block_q4_Kx16 *b = &w[i];
        const block_q8_Ks *a = &x[i];
        const __m512 dx = _mm512_set1_ps(a->d);
        /* minimums first, so the block is read front to back: m[k] += -(d_x * dmin) *
         * (p[2k] + p[2k+1]), p[j] = mn[j] * (bsums[2j] + bsums[2j+1]) */
        const __m512 dmin = neg(_mm512_mul_ps(dx, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)b->dmin))));
        for (int k = 0; k < 4; k++) {
            __m512i p = zero;
            for (int j = 2 * k; j < 2 * k + 2; j++)
                p = _mm512_dpwssd_epi32(p, scales_u8(b->mn[j]),
                                        _mm512_set1_epi32(a->bsums[2 * j] + a->bsums[2 * j + 1]));
            mins[k] = _mm512_fmadd_ps(dmin, _mm512_cvtepi32_ps(p), mins[k]);
        }
        __m512i lane[8];
        for (int k = 0; k < 8; k++) lane[k] = zero;
#pragma GCC unroll 4
        for (int h = 0; h < 4; h++) {
            const __m512i s_lo = scales_pair(b->sc[2 * h]), s_hi = scales_pair(b->sc[2 * h + 1]);
            for (int m = 0; m < 8; m++) {
                const __m512i v = _mm512_loadu_si512(b->qs[h][m]);
                const __m512i p_lo = _mm512_maddubs_epi16(_mm512_and_si512(v, m4),
                                                          bcast_i32(a->qs + 4 * (16 * h + m)));
                const __m512i p_hi = _mm512_maddubs_epi16(
                    _mm512_and_si512(_mm512_srli_epi16(v, 4), m4),
                    bcast_i32(a->qs + 4 * (16 * h + 8 + m)));
                lane[m] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(lane[m], p_lo, s_lo), p_hi, s_hi);
            }
        }
        const __m512 d = _mm512_mul_ps(dx, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)b->d)));
        for (int k = 0; k < 8; k++) f[k] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(lane[k]), f[k]);
    }
    store_rows(out, f, mins);
}

/* the top two bits of chunk set s (bit pair 2s of each byte of v), moved to bits 4..5 */
static inline __m512i q6_high(__m512i v, int s) {
    const __m512i m = _mm512_set1_epi8(0x30);
    switch (s) {
    case 0: return _mm512_and_si512(_mm512_slli_epi16(v, 4), m);
    case 1: return _mm512_and_si512(_mm512_slli_epi16(v, 2), m);
    case 2: return _mm512_and_si512(v, m);
    default: return _mm512_and_si512(_mm512_srli_epi16(v, 2), m);
    }
}

static void q6_K_one(int64_t nb, float *restrict out, const block_q6_Kx16 *restrict w,
                     const block_q8_Ks *restrict x) {
    const __m512i m4 = _mm512_set1_epi8(15), zero = _mm512_setzero_si512();
    __m512 f[8];
    for (int k = 0; k < 8; k++) f[k] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const block_q6_Kx16 *b = &w[i];
        const block_q8_Ks *a = &x[i];
        __m512i lane[8];
        for (int k = 0; k < 8; k++) lane[k] = zero;
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++)
#pragma GCC unroll 2
            for (int half = 0; half < 2; half++) {
                /* chunks 32h + 8u + m (low nibbles) and 32h + 16 + 8u + m (high), m in this half
                 * of 8: groups 8h + 2u + half and 8h + 4 + 2u + half */
                __m512i s[2][2];
                for (int u = 0; u < 2; u++)
                    for (int k = 0; k < 2; k++) s[u][k] = scales_s8(b->sc[8 * h + 4 * k + 2 * u + half]);
#pragma GCC unroll 4
                for (int m = 4 * half; m < 4 * half + 4; m++) {
                    const __m512i hb = _mm512_loadu_si512(b->q[h][m].qh);
                    for (int u = 0; u < 2; u++) {
                        const __m512i v = _mm512_loadu_si512(b->q[h][m].ql[u]);
                        const __m512i q_lo = _mm512_or_si512(_mm512_and_si512(v, m4), q6_high(hb, u));
                        const __m512i q_hi = _mm512_or_si512(
                            _mm512_and_si512(_mm512_srli_epi16(v, 4), m4), q6_high(hb, u + 2));
                        const int cl = 32 * h + 8 * u + m, ch = cl + 16;
                        const __m512i d_lo = _mm512_dpbusd_epi32(_mm512_set1_epi32(a->cbias[cl]),
                                                                 q_lo, bcast_i32(a->qs + 4 * cl));
                        const __m512i d_hi = _mm512_dpbusd_epi32(_mm512_set1_epi32(a->cbias[ch]),
                                                                 q_hi, bcast_i32(a->qs + 4 * ch));
                        lane[m] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(lane[m], d_lo, s[u][0]),
                                                      d_hi, s[u][1]);
                    }
                }
            }
        const __m512 d = _mm512_mul_ps(_mm512_set1_ps(a->d),
                                       _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)b->d)));
        for (int k = 0; k < 8; k++) f[k] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(lane[k]), f[k]);
    }
    store_rows(out, f, NULL);
}

#define ONE_ROW_AT_A_TIME(name, one, block_t)                                                   \
    static inline __attribute__((always_inline)) void name##_tok(                               \
        int64_t nb, float *restrict out, size_t ldo, const block_t *restrict w,                 \
        const uint8_t *restrict x, size_t xs, const int n_tok) {                                \
        for (int t = 0; t < n_tok; t++)                                                         \
            one(nb, out + (size_t)t * ldo, w, (const block_q8_Ks *)(x + (size_t)t * xs));       \
    }                                                                                           \
    KERN_PACKED_GEMM_BY_TOK(name, name##_tok, QK_K)

ONE_ROW_AT_A_TIME(packed_gemm_q4_Kx16_avx512, q4_K_one, block_q4_Kx16)
ONE_ROW_AT_A_TIME(packed_gemm_q6_Kx16_avx512, q6_K_one, block_q6_Kx16)
