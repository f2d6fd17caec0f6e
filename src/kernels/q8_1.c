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

/* The Q8_0 block quantizer (q8_0.c) with the weight or activation rule, plus s. */
static void quantize_q8_1(const float *restrict src, void *restrict dst, int64_t n, bool act) {
    assert(n % 32 == 0);
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++) {
        int32_t sum;
        const float d = kern_q8_block_ref(src + i * 32, y[i].qs, act, &sum);
        y[i].d = fp32_to_fp16(d);
        y[i].s = fp32_to_fp16((float)sum * d);
    }
}

void from_float_q8_1_ref(const float *restrict src, void *restrict dst, int64_t n) {
    quantize_q8_1(src, dst, n, false);
}

void act_from_float_q8_1_ref(const float *restrict src, void *restrict dst, int64_t n) {
    quantize_q8_1(src, dst, n, true);
}

void to_float_q8_1_ref(const void *restrict src, float *restrict dst, int64_t n) {
    assert(n % 32 == 0);
    const block_q8_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 32; j++) dst[i * 32 + j] = (float)b[i].qs[j] * d;
    }
}
