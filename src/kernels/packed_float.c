/* packed_float.c: F16 and BF16 weights in 16-row groups (block_f16x16: eight columns, each the
 * sixteen rows' values side by side; block_bf16x16: the same by pairs of columns), the
 * activation format of their kernels (the row rounded to the weight type, as the unpacked dot
 * does, then widened to float), and the plain C kernels.
 * The order is the unpacked float dot's for n % 8 == 0 (kernels_impl.h: column c into lane c % 8
 * by fused multiply-add, lanes reduced as kern_sum_lanes8); only such widths are packed.
 * ISA variants: packed_float_avx2.c, packed_float_avx512.c, and for BF16 on machines with
 * AVX512_BF16 packed_bf16_avx512bf16.c, whose VDPBF16PS sums another order (its twin here:
 * packed_gemm_bf16x16_pairs_ref).
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_impl.h"
#include "kernels/packed.h"

#define G KERN_PACK_ROWS

void pack_f16x16(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,
                 void *dst) {
    const uint16_t *src = w;
    block_f16x16 *out = (block_f16x16 *)dst + g0 * (n_cols / 8);
    for (int64_t g = g0; g < g1; g++)
        for (int64_t i = 0; i < n_cols / 8; i++, out++)
            for (int l = 0; l < 8; l++)
                for (int r = 0; r < G; r++) { /* padding rows are zeros: their dots are 0 */
                    const int64_t row = g * G + r;
                    out->v[l][r] = row < n_rows ? src[row * n_cols + 8 * i + l] : 0;
                }
}

void pack_bf16x16(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,
                  void *dst) {
    const uint16_t *src = w;
    block_bf16x16 *out = (block_bf16x16 *)dst + g0 * (n_cols / 8);
    for (int64_t g = g0; g < g1; g++)
        for (int64_t i = 0; i < n_cols / 8; i++, out++)
            for (int j = 0; j < 4; j++)
                for (int r = 0; r < G; r++) {
                    const int64_t row = g * G + r;
                    const uint16_t *p = &src[row * n_cols + 8 * i + 2 * j];
                    out->v[j][r] = row < n_rows ? (uint32_t)p[0] | (uint32_t)p[1] << 16 : 0;
                }
}

void act_float16(ward_type t, ward_isa isa, int32_t o, const float *x, void *dst, int64_t n_cols) {
    (void)o;
    float *out = dst;
    uint16_t h[256];
    for (int64_t i = 0; i < n_cols; i += 256) {
        const int64_t n = n_cols - i < 256 ? n_cols - i : 256;
        kern_from_float(t, isa)(x + i, h, n);
        kern_to_float(t, isa)(h, out + i, n);
        if (t == WARD_TYPE_BF16) /* and as bf16 pairs after the floats (VDPBF16PS's operand) */
            memcpy((uint16_t *)(out + n_cols) + i, h, (size_t)n * sizeof *h);
    }
}

/* Row r's element l of a packed block column, as a float. */
static float f16_at(const void *blk, int l, int r) {
    return fp16_to_fp32(((const block_f16x16 *)blk)->v[l][r]);
}
static float bf16_at(const void *blk, int l, int r) {
    const uint32_t v = ((const block_bf16x16 *)blk)->v[l / 2][r];
    return bf16_to_fp32((uint16_t)(l % 2 ? v >> 16 : v));
}

static void float16_ref(int64_t n_cols, float *restrict out, size_t ldo, const void *restrict w,
                        float (*at)(const void *, int, int), const void *restrict x, size_t xs,
                        int n_tok) {
    assert(n_cols % 8 == 0 && n_tok >= 1 && n_tok <= KERN_PACK_MAX_TOK);
    for (int t = 0; t < n_tok; t++) {
        const float *a = (const float *)((const uint8_t *)x + (size_t)t * xs);
        for (int r = 0; r < G; r++) {
            float lanes[8] = {0};
            for (int64_t i = 0; i < n_cols / 8; i++)
                for (int l = 0; l < 8; l++)
                    lanes[l] = fmaf(at((const uint8_t *)w + (size_t)i * 256, l, r), a[8 * i + l],
                                    lanes[l]);
            out[(size_t)t * ldo + r] = kern_sum_lanes8(lanes);
        }
    }
}

void packed_gemm_f16x16_ref(int64_t n_cols, float *restrict out, size_t ldo,
                            const void *restrict w, const void *restrict x, size_t xs, int n_tok) {
    float16_ref(n_cols, out, ldo, w, f16_at, x, xs, n_tok);
}

void packed_gemm_bf16x16_ref(int64_t n_cols, float *restrict out, size_t ldo,
                             const void *restrict w, const void *restrict x, size_t xs,
                             int n_tok) {
    float16_ref(n_cols, out, ldo, w, bf16_at, x, xs, n_tok);
}

/* VDPBF16PS's arithmetic: a fused multiply-add whose inputs and result treat denormals as
 * zero (it ignores MXCSR; products of two bf16 are exact in float). */
static float flush(float v) { return fpclassify(v) == FP_SUBNORMAL ? copysignf(0.0f, v) : v; }
static float fma_bf16(float a, float b, float acc) { return flush(fmaf(flush(a), flush(b), acc)); }

/* The order of the VDPBF16PS kernel: column pair p (2p, 2p + 1) into accumulator p % 2, the
 * odd column first; the result is acc0 + acc1. */
void packed_gemm_bf16x16_pairs_ref(int64_t n_cols, float *restrict out, size_t ldo,
                                   const void *restrict w, const void *restrict x, size_t xs,
                                   int n_tok) {
    assert(n_cols % 8 == 0 && n_tok >= 1 && n_tok <= KERN_PACK_MAX_TOK);
    for (int t = 0; t < n_tok; t++) {
        const float *a = (const float *)((const uint8_t *)x + (size_t)t * xs);
        for (int r = 0; r < G; r++) {
            float acc[2] = {0};
            for (int64_t p = 0; p < n_cols / 2; p++) {
                const uint8_t *blk = (const uint8_t *)w + (size_t)(p / 4) * 256;
                const int l = (int)(2 * p % 8);
                acc[p % 2] = fma_bf16(bf16_at(blk, l + 1, r), a[2 * p + 1], acc[p % 2]);
                acc[p % 2] = fma_bf16(bf16_at(blk, l, r), a[2 * p], acc[p % 2]);
            }
            out[(size_t)t * ldo + r] = acc[0] + acc[1];
        }
    }
}
