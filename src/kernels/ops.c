/* ops.c: the per-row operations of a transformer layer (see ops.h).
 *
 * Plain C, vectorized by the compiler; called by the models' forward passes, one row at a time.
 * The exp-based ops and the F16 weighted sum have AVX2 twins (ops_avx2.c), chosen by the isa
 * argument, that give the same bits.
 * Numerics follow the reference engine where its rounding is visible downstream: sums of
 * squares and softmax denominators in double, rotary angles by repeated multiplication, and
 * explicit fused multiply-adds where it contracts them (C11 mode does not contract for us). */
#include "kernels/ops.h"

#include <math.h>

#include "kernels/kernels_impl.h"

static inline uint32_t fp_bits(float f) { return fp32_to_bits(f); }
static inline float fp_from_bits(uint32_t u) { return fp32_from_bits(u); }

void ops_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]); /* float squares, double sum */
    const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

void ops_layernorm(float *out, const float *x, const float *w, const float *b, int64_t n,
                   float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    const float mean = (float)(sum / (double)n);
    double var = 0.0;
    for (int64_t i = 0; i < n; i++) var += (double)((x[i] - mean) * (x[i] - mean));
    const float scale = 1.0f / sqrtf((float)(var / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) out[i] = (x[i] - mean) * scale * w[i] + (b ? b[i] : 0.0f);
}

void ops_gelu(float *out, const float *x, int64_t n) {
    const float c = 0.7978845608028654f; /* sqrt(2 / pi) */
    for (int64_t i = 0; i < n; i++)
        out[i] = 0.5f * x[i] * (1.0f + tanhf(c * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

/* e^x by range reduction (x = n ln2 + b, |b| <= ln2/2, n rounded with the 1.5 * 2^23 trick) and
 * a degree-5 polynomial, within about 1 ulp; huge |n| goes through two scale factors so the
 * result under- or overflows cleanly. This is the formulation (constants and operation order)
 * of the reference engine's 8-wide vector exp, used by its softmax and SiLU; computing it the
 * same way here, with explicit fused multiply-adds, makes those results identical to its own. */
static float exp_poly(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r), n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const uint32_t e = fp_bits(z) << 23;
    const float k = fp_from_bits(e + fp_bits(1.0f));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                              fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, 0x1.ffffecp-1f * b);
    if (!(fabsf(n) > 126.0f)) return fmaf(j, k, k);
    const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
    const float s1 = fp_from_bits(g + 0x7f000000u), s2 = fp_from_bits(e - g);
    if (fabsf(n) > 192.0f) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

/* The reference computes softmax and SiLU 8 elements at a time with exp_poly and finishes a row
 * with libm's expf; we follow the same split (blocks aligned to the row's start). */
double ops_exp_shifted(ward_isa isa, float *x, int64_t n, float shift) {
    if (isa >= WARD_ISA_AVX2) return ops_exp_shifted_avx2(x, n, shift);
    /* each full or partial block of 8 is summed as one 8-lane vector (the reference's masked
     * tail is zeros, which add nothing), blocks added in double */
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += 8) {
        float lanes[8] = {0};
        for (int64_t k = 0; k < 8 && i + k < n; k++) lanes[k] = x[i + k] = exp_poly(x[i + k] - shift);
        sum += kern_sum_lanes8(lanes);
    }
    return sum;
}

void ops_scale(ward_isa isa, float *x, int64_t n, float a) {
    if (isa >= WARD_ISA_AVX2) {
        ops_scale_avx2(x, n, a);
        return;
    }
    for (int64_t i = 0; i < n; i++) x[i] *= a;
}

float ops_max(const float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    return max;
}

void ops_softmax(ward_isa isa, float *x, int64_t n) {
    const double sum = ops_exp_shifted(isa, x, n, ops_max(x, n));
    ops_scale(isa, x, n, (float)(1.0 / sum));
}

void ops_swiglu(ward_isa isa, float *out, const float *gate, const float *up, int64_t n) {
    if (isa >= WARD_ISA_AVX2) {
        ops_swiglu_avx2(out, gate, up, n);
        return;
    }
    const int64_t n8 = n - n % 8; /* whole blocks of 8 */
    for (int64_t i = 0; i < n8; i++) out[i] = gate[i] / (1.0f + exp_poly(0.0f - gate[i])) * up[i];
    for (int64_t i = n8; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void ops_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void ops_axpy(float *y, float a, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void ops_axpy_f16(ward_isa isa, float *y, float a, const uint16_t *x, int64_t n) {
    if (isa >= WARD_ISA_AVX2) {
        ops_axpy_f16_avx2(y, a, x, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) y[i] += a * fp16_to_fp32(x[i]);
}

void ops_weighted_rows_f16(ward_isa isa, float *lanes, const float *p, const uint16_t *rows,
                           size_t stride, int64_t n_rows, int64_t n) {
    if (isa >= WARD_ISA_AVX2) {
        ops_weighted_rows_f16_avx2(lanes, p, rows, stride, n_rows, n);
        return;
    }
    for (int64_t t = 0; t < n_rows; t++)
        ops_axpy_f16(isa, lanes + (t % 8) * n, p[t], rows + (size_t)t * stride, n);
}

void ops_round_f16(ward_isa isa, float *x, int64_t n) {
    if (isa >= WARD_ISA_AVX2) {
        ops_round_f16_avx2(x, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) x[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}

void ops_rope_cache(float *cos_out, float *sin_out, int32_t pos, int32_t n_rot, float freq_base) {
    /* theta_i = pos * base^(-2i/n_rot), built by repeated multiplication as the reference does,
     * so the rounding of the angles matches it. */
    const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int32_t i = 0; i < n_rot / 2; i++) {
        cos_out[i] = cosf(theta);
        sin_out[i] = sinf(theta);
        theta *= theta_scale;
    }
}

/* Rotate pairs (v[i * step], v[i * step + gap]) of every head by the angles of pair i. */
static void rope_rotate(float *x, int32_t n_head, int32_t head_dim, int32_t n_rot, int32_t step,
                        int32_t gap, const float *cos, const float *sin) {
    for (int32_t h = 0; h < n_head; h++) {
        float *v = x + (int64_t)h * head_dim;
        for (int32_t i = 0; i < n_rot / 2; i++) {
            float *a = &v[i * step], *b = a + gap;
            const float x0 = *a, x1 = *b;
            /* one fused multiply-add each, in the reference engine's order: the rotated
             * values are bit-identical to its own, so attention's F16 roundings agree */
            *a = fmaf(x0, cos[i], -(x1 * sin[i]));
            *b = fmaf(x0, sin[i], x1 * cos[i]);
        }
    }
}

void ops_rope_pairs(float *x, int32_t n_head, int32_t head_dim, int32_t n_rot, const float *cos,
                    const float *sin) {
    rope_rotate(x, n_head, head_dim, n_rot, 2, 1, cos, sin);
}

void ops_rope_halves(float *x, int32_t n_head, int32_t head_dim, int32_t n_rot, const float *cos,
                     const float *sin) {
    rope_rotate(x, n_head, head_dim, n_rot, 1, n_rot / 2, cos, sin);
}

void ops_reduce_lanes8(float *out, const float *lanes, int64_t n) {
    for (int64_t d = 0; d < n; d++) {
        float l[8];
        for (int k = 0; k < 8; k++) l[k] = lanes[k * n + d];
        out[d] = kern_sum_lanes8(l);
    }
}
