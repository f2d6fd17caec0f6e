/* ops.c: the per-row operations of a transformer layer (see ops.h).
 *
 * Plain C, vectorized by the compiler; called by the models' forward passes, one row at a time.
 * Numerics follow the reference engine where its rounding is visible downstream: sums of
 * squares and softmax denominators in double, rotary angles by repeated multiplication, and
 * explicit fused multiply-adds where it contracts them (C11 mode does not contract for us). */
#include "kernels/ops.h"

#include <math.h>

#include "kernels/kernels_impl.h"

void ops_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

void ops_softmax(float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void ops_swiglu(float *out, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void ops_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void ops_axpy(float *y, float a, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
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
