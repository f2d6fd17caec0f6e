/* q8_k.c: Q8_K, the activation type of the K-quants (block layout in kernels_impl.h): 256 int8
 * with a float scale and the sums of each 16 quants (bsums), which let a dot with a weight's
 * minimums use 16 products instead of 256.
 *
 * from_float is llama.cpp's quantize_row_q8_K_ref, which its AVX2 build also uses: the element
 * of largest magnitude (first on ties, sign kept) maps to -127, iscale = -127 / max,
 * q = min(127, nearest_int(iscale * x)) (ties to even), d = 1 / iscale; an all-zero block is all
 * zero. to_float is d * q. No vec_dot: Q8_K is never a weight type.
 */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_impl.h"

/* Finite rows give |v| <= 127 (plus rounding); NaN and infinity (hostile rows) clamp to
 * -127 / 127 before the integer conversion, so no value is -128. */
static inline int8_t q8_k_clamp(float v) {
    const float c = v >= -127.0f ? (v <= 127.0f ? v : 127.0f) : -127.0f;
    return (int8_t)kern_nearest_int(c);
}

void from_float_q8_K_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % QK_K == 0);
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        memset(&y[i], 0, sizeof y[i]);
        if (amax == 0.0f) continue;
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) y[i].qs[j] = q8_k_clamp(iscale * x[j]);
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[i].qs[16 * g + l];
            y[i].bsums[g] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

void to_float_q8_K_ref(const void *restrict src, float *restrict dst, int64_t n) {
    assert(n % QK_K == 0);
    const block_q8_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++)
        for (int j = 0; j < QK_K; j++) dst[i * QK_K + j] = b[i].d * (float)b[i].qs[j];
}
