/* kquants.h: what the K-quant kernel files share: unpacking a super-block's scales and quants
 * into one common form, and the reference loop shapes built on it. Include only from
 * kquants*.c (layouts in kernels_impl.h).
 *
 * Every K-quant super-block (256 elements, 16 groups of 16) reads as
 *   x[e] = (d * sc[g]) * q[e] - dmin * mn[g],  g = e / 16,
 * with integer scales sc and mins mn (mn = 0, dmin = 0 for Q3_K and Q6_K, whose q is signed).
 * The dot with Q8_K activations (d_x, q_x, bsums = sums of 16 q_x) follows the reference
 * engine's AVX2 kernels on every ISA:
 *   - eight exact int32 lanes: lane k sums sc[g] * q[e] * q_x[e] over the elements with
 *     e % 32 in 4k..4k+3; then lane k += (d_x * d) * lane by fused multiply-add, per super-block;
 *   - the minimums, as exact integer sums p[k] = mn[2k] * bsums[2k] + mn[2k+1] * bsums[2k+1],
 *     scaled by dmin' = -(d_x * dmin) in one of three ways (kq_mins):
 *       KQ_MINS_LANES8 (Q2_K): lane k += dmin' * p[k] by fused multiply-add, before the above;
 *       KQ_MINS_LANES4 (Q4_K): four more lanes, m[k] += dmin' * (p[2k] + p[2k+1]), added as
 *         ((m0 + m2) + (m1 + m3)) after the eight lanes are reduced;
 *       KQ_MINS_SCALAR (Q5_K): one sum, s += dmin' * (sum of p), added after the reduction;
 *   - the eight lanes reduce as kern_sum_lanes8.
 * to_float rounds like the reference: d * sc and dmin * mn once each, then a multiply and a
 * subtraction (no fused multiply-add).
 */
#ifndef WARD_KERNELS_KQUANTS_H
#define WARD_KERNELS_KQUANTS_H

#include <math.h>

#include "kernels/kernels_impl.h"

typedef enum kq_mins { KQ_MINS_NONE, KQ_MINS_LANES8, KQ_MINS_LANES4, KQ_MINS_SCALAR } kq_mins;

typedef struct kq_scales {
    int16_t sc[16]; /* integer scale of each 16-element group */
    int16_t mn[16]; /* integer minimum of each group (0 without minimums) */
    float d, dmin;  /* super-block scales (dmin 0 without minimums) */
} kq_scales;

/* ---------------------------------------------------------------------------------------------
 * Scale unpacking, one per type (scalar: 16 values per 256 elements)
 * ------------------------------------------------------------------------------------------- */

static inline void kq_scales_q2_K(const void *blk, kq_scales *s) {
    const block_q2_K *b = blk;
    for (int g = 0; g < 16; g++) {
        s->sc[g] = b->scales[g] & 0x0f;
        s->mn[g] = b->scales[g] >> 4;
    }
    s->d = fp16_to_fp32(b->d);
    s->dmin = fp16_to_fp32(b->dmin);
}

/* 16 6-bit scales in 12 bytes: low nibbles in bytes 0..7 (groups 0..7 low, 8..15 high nibble),
 * the two high bits of group g in byte 8 + g % 4 at bit 2 * (g / 4); stored with offset 32. */
static inline void kq_scales_q3_K(const void *blk, kq_scales *s) {
    const block_q3_K *b = blk;
    for (int g = 0; g < 16; g++) {
        const int lo = g < 8 ? b->scales[g] & 0x0f : b->scales[g - 8] >> 4;
        const int hi = (b->scales[8 + g % 4] >> (2 * (g / 4))) & 3;
        s->sc[g] = (int16_t)((lo | hi << 4) - 32);
        s->mn[g] = 0;
    }
    s->d = fp16_to_fp32(b->d);
    s->dmin = 0.0f;
}

/* 8 6-bit scales and mins of Q4_K / Q5_K in 12 bytes: for j < 4 the low 6 bits of bytes j
 * (scale) and j + 4 (min); for j >= 4 the nibbles of byte j + 4 with the top two bits of bytes
 * j - 4 (scale) and j (min) above them. */
static inline void kq_scale_min_k4(const uint8_t q[12], int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0x0f) | (q[j - 4] >> 6) << 4;
        *mn = (q[j + 4] >> 4) | (q[j] >> 6) << 4;
    }
}

static inline void kq_scales_k4(const uint8_t scales[12], uint16_t d, uint16_t dmin, kq_scales *s) {
    for (int j = 0; j < 8; j++) {
        int sc, mn;
        kq_scale_min_k4(scales, j, &sc, &mn);
        s->sc[2 * j] = s->sc[2 * j + 1] = (int16_t)sc;
        s->mn[2 * j] = s->mn[2 * j + 1] = (int16_t)mn;
    }
    s->d = fp16_to_fp32(d);
    s->dmin = fp16_to_fp32(dmin);
}
static inline void kq_scales_q4_K(const void *blk, kq_scales *s) {
    const block_q4_K *b = blk;
    kq_scales_k4(b->scales, b->d, b->dmin, s);
}
static inline void kq_scales_q5_K(const void *blk, kq_scales *s) {
    const block_q5_K *b = blk;
    kq_scales_k4(b->scales, b->d, b->dmin, s);
}

static inline void kq_scales_q6_K(const void *blk, kq_scales *s) {
    const block_q6_K *b = blk;
    for (int g = 0; g < 16; g++) {
        s->sc[g] = b->scales[g];
        s->mn[g] = 0;
    }
    s->d = fp16_to_fp32(b->d);
    s->dmin = 0.0f;
}

/* ---------------------------------------------------------------------------------------------
 * Quant unpacking, one per type: 256 small integers in element order
 * ------------------------------------------------------------------------------------------- */

/* Q2_K: element 128h + 32s + l is bits 2s..2s+1 of qs[32h + l]; values 0..3. */
static inline void kq_quants_q2_K(const void *blk, int8_t q[QK_K]) {
    const block_q2_K *b = blk;
    for (int e = 0; e < QK_K; e++)
        q[e] = (int8_t)((b->qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3);
}

/* Q3_K: two low bits as Q2_K; bit (e / 32) of hmask[e % 32] clear means 4 below: -4..3. */
static inline void kq_quants_q3_K(const void *blk, int8_t q[QK_K]) {
    const block_q3_K *b = blk;
    for (int e = 0; e < QK_K; e++) {
        const int lo = (b->qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
        const int hi = (b->hmask[e % 32] >> (e / 32)) & 1;
        q[e] = (int8_t)(lo - (hi ? 0 : 4));
    }
}

/* Q4_K: element 64h + l is the low nibble of qs[32h + l], 64h + 32 + l the high one: 0..15. */
static inline void kq_quants_q4_K(const void *blk, int8_t q[QK_K]) {
    const block_q4_K *b = blk;
    for (int e = 0; e < QK_K; e++)
        q[e] = (int8_t)((b->qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) % 2))) & 0x0f);
}

/* Q5_K: as Q4_K, plus 16 when bit (e / 32) of qh[e % 32] is set: 0..31. */
static inline void kq_quants_q5_K(const void *blk, int8_t q[QK_K]) {
    const block_q5_K *b = blk;
    for (int e = 0; e < QK_K; e++) {
        const int lo = (b->qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) % 2))) & 0x0f;
        q[e] = (int8_t)(lo | ((b->qh[e % 32] >> (e / 32)) & 1) << 4);
    }
}

/* Q6_K: in each half h (128 elements), element 32s + l has its low nibble in
 * ql[64h + 32 (s % 2) + l] (high nibble when s >= 2) and its top two bits at bit 2s of
 * qh[32h + l]; stored with offset 32: -32..31. */
static inline void kq_quants_q6_K(const void *blk, int8_t q[QK_K]) {
    const block_q6_K *b = blk;
    for (int e = 0; e < QK_K; e++) {
        const int h = e / 128, s = (e / 32) % 4, l = e % 32;
        const int lo = (b->ql[64 * h + 32 * (s % 2) + l] >> (4 * (s / 2))) & 0x0f;
        const int hi = (b->qh[32 * h + l] >> (2 * s)) & 3;
        q[e] = (int8_t)((lo | hi << 4) - 32);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The minimums' share of a dot (shared by every ISA: integer, then the kq_mins order)
 * ------------------------------------------------------------------------------------------- */

/* p[k] = mn[2k] * bsums[2k] + mn[2k+1] * bsums[2k+1]: exact. */
static inline void kq_min_pairs(const kq_scales *s, const int16_t bsums[16], int32_t p[8]) {
    for (int k = 0; k < 8; k++)
        p[k] = (int32_t)s->mn[2 * k] * bsums[2 * k] + (int32_t)s->mn[2 * k + 1] * bsums[2 * k + 1];
}

/* The accumulators of KQ_MINS_LANES4 and KQ_MINS_SCALAR, kept apart from the eight lanes. */
typedef struct kq_side {
    float m[4];
    float s;
} kq_side;

static inline void kq_side_add(kq_side *side, kq_mins mode, float dmin, const int32_t p[8]) {
    if (mode == KQ_MINS_LANES4) {
        for (int k = 0; k < 4; k++) side->m[k] = fmaf(dmin, (float)(p[2 * k] + p[2 * k + 1]), side->m[k]);
    } else if (mode == KQ_MINS_SCALAR) {
        int32_t t = 0;
        for (int k = 0; k < 8; k++) t += p[k];
        side->s = fmaf(dmin, (float)t, side->s);
    }
}

static inline float kq_finish(float lanes_sum, const kq_side *side, kq_mins mode) {
    if (mode == KQ_MINS_LANES4) return lanes_sum + ((side->m[0] + side->m[2]) + (side->m[1] + side->m[3]));
    if (mode == KQ_MINS_SCALAR) return lanes_sum + side->s;
    return lanes_sum;
}

/* ---------------------------------------------------------------------------------------------
 * Reference loop shapes: scales(blk, kq_scales *) and quants(blk, int8_t q[256]) per type
 * ------------------------------------------------------------------------------------------- */

typedef void (*kq_scales_fn)(const void *blk, kq_scales *s);
typedef void (*kq_quants_fn)(const void *blk, int8_t q[QK_K]);

static inline void kq_to_float_ref(const uint8_t *src, size_t block_bytes, float *dst, int64_t n,
                                   kq_scales_fn scales, kq_quants_fn quants) {
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *blk = src + (size_t)i * block_bytes;
        kq_scales s;
        int8_t q[QK_K];
        scales(blk, &s);
        quants(blk, q);
        for (int g = 0; g < 16; g++) {
            const float dl = s.d * (float)s.sc[g], ml = s.dmin * (float)s.mn[g];
            for (int l = 0; l < 16; l++) {
                const float v = dl * (float)q[16 * g + l];
                dst[i * QK_K + 16 * g + l] = v - ml;
            }
        }
    }
}

/* One super-block's share of a dot, in the order above: the lanes and side accumulators carry
 * from block to block; kq_finish gives the dot after the last. */
static inline void kq_dot_block(const uint8_t *blk, const block_q8_K *x, kq_scales_fn scales,
                                kq_quants_fn quants, kq_mins mode, float lanes[8],
                                kq_side *side) {
    kq_scales s;
    int8_t q[QK_K];
    scales(blk, &s);
    quants(blk, q);
    if (mode != KQ_MINS_NONE) {
        const float dmin = -(x->d * s.dmin);
        int32_t p[8];
        kq_min_pairs(&s, x->bsums, p);
        if (mode == KQ_MINS_LANES8)
            for (int k = 0; k < 8; k++) lanes[k] = fmaf(dmin, (float)p[k], lanes[k]);
        kq_side_add(side, mode, dmin, p);
    }
    int32_t sumi[8] = {0};
    for (int e = 0; e < QK_K; e++) sumi[(e % 32) / 4] += (int32_t)s.sc[e / 16] * q[e] * x->qs[e];
    const float d = x->d * s.d;
    for (int k = 0; k < 8; k++) lanes[k] = fmaf(d, (float)sumi[k], lanes[k]);
}

static inline void kq_vec_dot_ref(int64_t n, float *out, const uint8_t *w, size_t block_bytes,
                                  const block_q8_K *x, kq_scales_fn scales, kq_quants_fn quants,
                                  kq_mins mode) {
    assert(n % QK_K == 0);
    float lanes[8] = {0};
    kq_side side = {{0}, 0};
    for (int64_t i = 0; i < n / QK_K; i++)
        kq_dot_block(w + (size_t)i * block_bytes, &x[i], scales, quants, mode, lanes, &side);
    *out = kq_finish(kern_sum_lanes8(lanes), &side, mode);
}

#define KERN_KQUANT_REF(wname, block_t, mins)                                                  \
    void to_float_##wname##_ref(const void *restrict src, float *restrict dst, int64_t n) {   \
        kq_to_float_ref(src, sizeof(block_t), dst, n, kq_scales_##wname, kq_quants_##wname);   \
    }                                                                                          \
    void vec_dot_##wname##_q8_K_ref(int64_t n, float *restrict out, const void *restrict w,   \
                                    const void *restrict x) {                                  \
        kq_vec_dot_ref(n, out, w, sizeof(block_t), x, kq_scales_##wname, kq_quants_##wname,    \
                       mins);                                                                  \
    }

#endif
