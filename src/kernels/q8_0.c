/* q8_0.c: reference kernels for Q8_0 (block layout in kernels_impl.h): 32 int8 and one fp16
 * scale per block. Q8_0 is also the activation type of Q4_0 and Q8_0 weights.
 *
 * from_float is llama.cpp's quantize_row_q8_0_ref exactly: d = amax / 127, q = roundf(x / d)
 * (computed as x * (1/d)), so activations quantize to the same bytes as in llama.cpp. to_float
 * and vec_dot come from the shared KERN_QBLOCK_REF loop shape with the decoder below. ISA
 * variants: q8_0_avx2.c, q8_0_avx512.c.
 */
#include <assert.h>
#include <math.h>

#include "kernels/kernels_impl.h"

static inline float decode_q8_0(const block_q8_0 *b, int8_t q[32]) {
    for (int j = 0; j < 32; j++) q[j] = b->qs[j];
    return fp16_to_fp32(b->d);
}

KERN_QBLOCK_REF(q8_0, block_q8_0, decode_q8_0)

/* Finite inputs give |v| <= 127 already; a NaN or infinite row (hostile weights) must not
 * reach an out-of-range float-to-int conversion (undefined), nor make -128, which the SIMD
 * dots exclude. NaN goes to -127, as the SIMD clamp (max with -127 first) does. */
static inline int8_t q8_clamp(float v) {
    return (int8_t)(v >= -127.0f ? (v <= 127.0f ? v : 127.0f) : -127.0f);
}

void from_float_q8_0_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % QK8_0 == 0);
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        const float *x = src + i * QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = q8_clamp(roundf(x[j] * id));
    }
}
