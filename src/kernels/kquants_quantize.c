/* kquants_quantize.c: from_float of Q4_K, Q5_K and Q6_K (layouts in kernels_impl.h), with the
 * semantics of llama.cpp's quantize_row_{q4,q5,q6}_K_ref (no importance matrix): the same
 * searches, the same float operations in the same order, so rows quantize to the same bytes.
 *
 * Q4_K and Q5_K (x = d * sc * q - dmin * mn per 32 elements) share everything but the number of
 * levels (15 / 31), the search grid and the bit packing:
 *   1. per 32 elements, kq_fit_scale_min searches a scale and minimum (weighted least squares
 *      over 20 / 15 trial scales around (max - min) / nmax, weights |x| + rms of the group);
 *   2. the 8 scales and 8 minimums are quantized to 6 bits against the largest of each (d, dmin
 *      in fp16), kq_pack_scale_min packs them;
 *   3. the quants are recomputed against the quantized scales and packed.
 * Q6_K (x = d * sc * q, 16 groups of 16, q in -32..31) fits each group with kq_fit_symmetric (a
 * weighted search over 19 trial scales around max / -32), then quantizes the 16 scales to int8.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "kernels/kquants.h"

#define GROUP_MAX_EPS 1e-15f

/* ---------------------------------------------------------------------------------------------
 * Scale and minimum of one group (Q4_K, Q5_K)
 * ------------------------------------------------------------------------------------------- */

/* Levels 0..nmax of x at the trial inverse scale: l = nearest((x - min) * iscale), clamped. */
static void kq_levels(int n, int nmax, const float *x, float min, float iscale, uint8_t *L) {
    for (int i = 0; i < n; i++) {
        const int l = kern_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
    }
}

/* Weighted squared error of x ~ scale * L + min (the reference's operation order). */
static float kq_weighted_err(int n, const float *x, const float *w, const uint8_t *L, float scale,
                             float min) {
    float err = 0;
    for (int i = 0; i < n; i++) {
        const float diff = scale * L[i] + min - x[i];
        err += w[i] * (diff * diff);
    }
    return err;
}

/* Returns the scale; *neg_min = -min (>= 0). L receives the levels of the best fit. */
static float kq_fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L,
                              float *neg_min, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *neg_min = -min;
        return 0.0f;
    }
    float iscale = nmax / (max - min), scale = 1 / iscale;
    kq_levels(n, nmax, x, min, iscale, L);
    float best = kq_weighted_err(n, x, w, L, scale, min);
    uint8_t Laux[32];
    assert(n <= 32);
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        kq_levels(n, nmax, x, min, iscale, Laux);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            const float l = Laux[i];
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (!(D > 0)) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        const float err = kq_weighted_err(n, x, w, Laux, this_scale, this_min);
        if (err < best) {
            memcpy(L, Laux, (size_t)n);
            best = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *neg_min = -min;
    return scale;
}

/* ---------------------------------------------------------------------------------------------
 * Q4_K and Q5_K
 * ------------------------------------------------------------------------------------------- */

/* 6-bit scale ls and min lm of group j into the 12-byte layout kq_scale_min_k4 reads (bytes
 * must start zeroed; groups 4..7 or their top bits into bytes 0..7). */
static void kq_pack_scale_min(uint8_t s[12], int j, int ls, int lm) {
    if (j < 4) {
        s[j] |= (uint8_t)ls;
        s[j + 4] |= (uint8_t)lm;
    } else {
        s[j + 4] = (uint8_t)((ls & 0x0f) | (lm & 0x0f) << 4);
        s[j - 4] |= (uint8_t)((ls >> 4) << 6);
        s[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

static int kq_min63(int v) { return (uint8_t)v > 63 ? 63 : (uint8_t)v; }

/* Steps 1-3 of the header for one super-block: fills scales[12], *d, *dmin and L[256]. */
static void kq_quantize_k4(const float *x, int nmax, float rmin, int nstep, uint8_t scales[12],
                           uint16_t *d, uint16_t *dmin, uint8_t L[QK_K]) {
    float sc[8], mn[8], w[32], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *g = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += g[l] * g[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(g[l]);
        sc[j] = kq_fit_scale_min(32, nmax, g, w, L + 32 * j, &mn[j], rmin, 0.1f, nstep);
        if (sc[j] > max_scale) max_scale = sc[j];
        if (mn[j] > max_min) max_min = mn[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(scales, 0, 12);
    for (int j = 0; j < 8; j++)
        kq_pack_scale_min(scales, j, kq_min63(kern_nearest_int(inv_scale * sc[j])),
                          kq_min63(kern_nearest_int(inv_min * mn[j])));
    *d = fp32_to_fp16(max_scale / 63.f);
    *dmin = fp32_to_fp16(max_min / 63.f);
    for (int j = 0; j < 8; j++) {
        int ls, lm;
        kq_scale_min_k4(scales, j, &ls, &lm);
        const float dl = fp16_to_fp32(*d) * ls;
        if (!dl) continue; /* keep the levels of the search */
        const float dm = fp16_to_fp32(*dmin) * lm;
        for (int l = 0; l < 32; l++) {
            const int q = kern_nearest_int((x[32 * j + l] + dm) / dl);
            L[32 * j + l] = (uint8_t)(q < 0 ? 0 : q > nmax ? nmax : q);
        }
    }
}

void from_float_q4_K_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % QK_K == 0);
    block_q4_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t L[QK_K];
        kq_quantize_k4(src + i * QK_K, 15, -1.0f, 20, y[i].scales, &y[i].d, &y[i].dmin, L);
        for (int h = 0; h < 4; h++)
            for (int l = 0; l < 32; l++)
                y[i].qs[32 * h + l] = (uint8_t)(L[64 * h + l] | L[64 * h + 32 + l] << 4);
    }
}

void from_float_q5_K_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % QK_K == 0);
    block_q5_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t L[QK_K];
        kq_quantize_k4(src + i * QK_K, 31, -0.5f, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (int h = 0; h < 4; h++)
            for (int l = 0; l < 32; l++) {
                const int l1 = L[64 * h + l], l2 = L[64 * h + 32 + l];
                y[i].qs[32 * h + l] = (uint8_t)((l1 & 0x0f) | (l2 & 0x0f) << 4);
                y[i].qh[l] |= (uint8_t)((l1 >> 4) << (2 * h) | (l2 >> 4) << (2 * h + 1));
            }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Q6_K
 * ------------------------------------------------------------------------------------------- */

static int kq_clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Sums of w * x * l and w * l * l for levels at iscale, weights x^2. */
static void kq_symmetric_sums(int n, int nmax, const float *x, float iscale, float *sumlx,
                              float *suml2) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = kq_clamp_int(kern_nearest_int(iscale * x[i]), -nmax, nmax - 1);
        const float w = x[i] * x[i];
        *sumlx += w * x[i] * l;
        *suml2 += w * l * l;
    }
}

static void kq_symmetric_levels(int n, int nmax, const float *x, float iscale, int8_t *L) {
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(nmax + kq_clamp_int(kern_nearest_int(iscale * x[i]), -nmax, nmax - 1));
}

/* Scale of a group for levels -nmax..nmax-1 (stored + nmax in L), weights x^2: the best of 19
 * trial scales (nmax + 0.1 k) / -max by weighted least squares. */
static float kq_fit_symmetric(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = -nmax / max, sumlx, suml2;
    kq_symmetric_levels(n, nmax, x, iscale, L);
    kq_symmetric_sums(n, nmax, x, iscale, &sumlx, &suml2);
    float scale = suml2 ? sumlx / suml2 : 0.0f, best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        kq_symmetric_sums(n, nmax, x, iscale, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            kq_symmetric_levels(n, nmax, x, iscale, L);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

static void kq_pack_q6_K(const int8_t L[QK_K], block_q6_K *y) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const int8_t *g = L + 128 * h + l;
            y->ql[64 * h + l] = (uint8_t)((g[0] & 0x0f) | (g[64] & 0x0f) << 4);
            y->ql[64 * h + 32 + l] = (uint8_t)((g[32] & 0x0f) | (g[96] & 0x0f) << 4);
            y->qh[32 * h + l] = (uint8_t)((g[0] >> 4) | (g[32] >> 4) << 2 | (g[64] >> 4) << 4 |
                                          (g[96] >> 4) << 6);
        }
}

void from_float_q6_K_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % QK_K == 0);
    block_q6_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        int8_t L[QK_K];
        float sc[16], max_scale = 0, max_abs_scale = 0;
        for (int g = 0; g < 16; g++) {
            sc[g] = kq_fit_symmetric(16, 32, x + 16 * g, L + 16 * g);
            if (fabsf(sc[g]) > max_abs_scale) {
                max_abs_scale = fabsf(sc[g]);
                max_scale = sc[g];
            }
        }
        memset(&y[i], 0, sizeof y[i]);
        if (!(max_abs_scale >= GROUP_MAX_EPS)) continue; /* all zero (or NaN) */
        const float iscale = -128.f / max_scale;
        y[i].d = fp32_to_fp16(1 / iscale);
        for (int g = 0; g < 16; g++)
            y[i].scales[g] = (int8_t)(kern_nearest_int(iscale * sc[g]) < 127
                                          ? kern_nearest_int(iscale * sc[g]) : 127);
        for (int g = 0; g < 16; g++) {
            const float d = fp16_to_fp32(y[i].d) * y[i].scales[g];
            if (!d) continue;
            for (int l = 0; l < 16; l++)
                L[16 * g + l] = (int8_t)(kq_clamp_int(kern_nearest_int(x[16 * g + l] / d), -32, 31) + 32);
        }
        kq_pack_q6_K(L, y + i);
    }
}
