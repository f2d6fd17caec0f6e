/* q8_1.c: Q8_1, the activation type of Q4_1 and Q5_1 weights (block layout in kernels_impl.h):
 * 32 int8 and an fp16 scale like Q8_0, plus s = fp16(d * sum(qs)), which lets a dot with a
 * weight block's minimum m add m * s instead of m times each activation.
 *
 * from_float is llama.cpp's quantize_row_q8_1_ref: d = amax / 127, q = roundf(x * (1/d)),
 * s = fp16(sum * d). to_float is q * d (s is not needed to recover the values). No vec_dot: Q8_1
 * is never a weight type here.
 */
#include <assert.h>
#include <math.h>

#include "kernels/kernels_impl.h"

/* As q8_0.c: finite inputs are in [-127, 127] already; NaN goes to -127, never -128. */
static inline int8_t q8_1_clamp(float v) {
    return (int8_t)(v >= -127.0f ? (v <= 127.0f ? v : 127.0f) : -127.0f);
}

void from_float_q8_1_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % 32 == 0);
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++) {
        const float *x = src + i * 32;
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            y[i].qs[j] = q8_1_clamp(roundf(x[j] * id));
            sum += y[i].qs[j];
        }
        y[i].s = fp32_to_fp16((float)sum * d);
    }
}

void to_float_q8_1_ref(const void *restrict src, float *restrict dst, int64_t n) {
    assert(n % 32 == 0);
    const block_q8_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 32; j++) dst[i * 32 + j] = (float)b[i].qs[j] * d;
    }
}
