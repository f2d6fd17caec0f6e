/* q4_1.c: reference kernels for Q4_1 (block layout in kernels_impl.h): 32 4-bit values, an fp16
 * scale and an fp16 minimum per block, value = q * d + m. Q4_1 weights are dotted with Q8_1
 * activations (q8_1.c), whose s field carries the minimum's share of the dot.
 *
 * from_float is llama.cpp's quantize_row_q4_1_ref: min and max of the block, d = (max - min) / 15,
 * q = min(15, (int8_t)((x - min) * (1/d) + 0.5)). to_float and vec_dot come from the shared
 * KERN_QBLOCK_MIN_REF loop shape. ISA variants: q4_1_avx2.c.
 */
#include <assert.h>
#include <math.h>

#include "kernels/kernels_impl.h"

static inline float decode_q4_1(const block_q4_1 *b, int8_t q[32], float *m) {
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)(b->qs[j] & 0x0f);
        q[j + 16] = (int8_t)(b->qs[j] >> 4);
    }
    *m = fp16_to_fp32(b->m);
    return fp16_to_fp32(b->d);
}

KERN_QBLOCK_MIN_REF(q4_1, block_q4_1, decode_q4_1)

/* Truncation of v into [0, 15]; NaN (a non-finite row) goes to 0 instead of an undefined
 * float-to-int conversion. */
static inline int q4_1_clamp(float v) {
    return v >= 0.0f ? (v < 15.0f ? (int)v : 15) : 0;
}

void from_float_q4_1_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % 32 == 0);
    block_q4_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++) {
        const float *x = src + i * 32;
        float min;
        const float id = kern_block_min_scale(x, 15.0f, &y[i].d, &y[i].m, &min);
        for (int j = 0; j < 16; j++) {
            const float x0 = (x[j] - min) * id, x1 = (x[j + 16] - min) * id;
            y[i].qs[j] = (uint8_t)(q4_1_clamp(x0 + 0.5f) | q4_1_clamp(x1 + 0.5f) << 4);
        }
    }
}
