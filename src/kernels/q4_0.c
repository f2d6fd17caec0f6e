/* q4_0.c: reference kernels for Q4_0 (block layout in kernels_impl.h): 32 4-bit values and one
 * fp16 scale per block, value = (q - 8) * d. Q4_0 weights are dotted with Q8_0 activations.
 *
 * from_float is llama.cpp's quantize_row_q4_0_ref exactly: the element of largest magnitude
 * (the first one on ties, sign kept) maps to -8, so d = max / -8 and
 * q = min(15, (int8_t)(x / d + 8.5)) (computed as x * (1/d)). to_float and vec_dot come from the
 * shared KERN_QBLOCK_REF loop shape with the decoder below. ISA variants: q4_0_avx2.c,
 * q4_0_avx512.c.
 */
#include <assert.h>
#include <math.h>

#include "kernels/kernels_impl.h"

static inline float decode_q4_0(const block_q4_0 *b, int8_t q[32]) {
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((b->qs[j] & 0x0f) - 8);
        q[j + 16] = (int8_t)((b->qs[j] >> 4) - 8);
    }
    return fp16_to_fp32(b->d);
}

KERN_QBLOCK_REF(q4_0, block_q4_0, decode_q4_0)

/* Truncation of v into [0, 15]. Finite inputs give v in [0.5, 16.5]; NaN (from a hostile,
 * non-finite row) goes to 0 like the SIMD version's max with 0, instead of an undefined
 * float-to-int conversion. */
static inline int q4_clamp(float v) {
    return v >= 0.0f ? (v < 15.0f ? (int)v : 15) : 0;
}

void from_float_q4_0_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % QK4_0 == 0);
    block_q4_0 *y = dst;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        const float *x = src + i * QK4_0;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK4_0; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            const float x0 = x[j] * id, x1 = x[j + 16] * id; /* separate: never fused */
            y[i].qs[j] = (uint8_t)(q4_clamp(x0 + 8.5f) | q4_clamp(x1 + 8.5f) << 4);
        }
    }
}
