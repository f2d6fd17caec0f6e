/* q5.c: reference kernels for Q5_0 and Q5_1 (block layouts in kernels_impl.h): 32 5-bit values
 * per block, the low nibbles packed as in Q4_0 and the fifth bits in a 32-bit mask (bit j for
 * element j). Q5_0: value = (q - 16) * d, dotted with Q8_0 activations; Q5_1: value = q * d + m,
 * dotted with Q8_1 activations.
 *
 * from_float is llama.cpp's quantize_row_q5_0_ref / quantize_row_q5_1_ref: Q5_0 maps the element
 * of largest magnitude (first on ties, sign kept) to -16 (d = max / -16,
 * q = min(31, (int8_t)(x / d + 16.5))); Q5_1 spans [min, max] with d = (max - min) / 31 and
 * q = (uint8_t)((x - min) / d + 0.5). Divisions are multiplications by 1/d, as there. to_float
 * and vec_dot come from the shared loop shapes KERN_QBLOCK_REF / KERN_QBLOCK_MIN_REF. ISA
 * variants: q5_avx2.c.
 */
#include <assert.h>
#include <math.h>

#include "kernels/kernels_impl.h"

/* ---------------------------------------------------------------------------------------------
 * The fifth bit, shared by both formats
 * ------------------------------------------------------------------------------------------- */

static inline void q5_unpack(const uint8_t qh[4], const uint8_t qs[16], int8_t q[32]) {
    const uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 |
                       (uint32_t)qh[3] << 24;
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((qs[j] & 0x0f) | ((h >> j) & 1) << 4);
        q[j + 16] = (int8_t)((qs[j] >> 4) | ((h >> (j + 16)) & 1) << 4);
    }
}

/* Packs 32 values in 0..31 into nibbles and the fifth-bit mask. */
static inline void q5_pack(const int q[32], uint8_t qh[4], uint8_t qs[16]) {
    uint32_t h = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4);
        h |= (uint32_t)(q[j] >> 4 & 1) << j | (uint32_t)(q[j + 16] >> 4 & 1) << (j + 16);
    }
    for (int k = 0; k < 4; k++) qh[k] = (uint8_t)(h >> (8 * k));
}

/* Truncation of v into [0, 31]; NaN (a non-finite row) goes to 0 instead of an undefined
 * float-to-int conversion. */
static inline int q5_clamp(float v) {
    return v >= 0.0f ? (v < 31.0f ? (int)v : 31) : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Q5_0
 * ------------------------------------------------------------------------------------------- */

static inline float decode_q5_0(const block_q5_0 *b, int8_t q[32]) {
    q5_unpack(b->qh, b->qs, q);
    for (int j = 0; j < 32; j++) q[j] = (int8_t)(q[j] - 16);
    return fp16_to_fp32(b->d);
}

KERN_QBLOCK_REF(q5_0, block_q5_0, decode_q5_0)

void from_float_q5_0_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % 32 == 0);
    block_q5_0 *y = dst;
    for (int64_t i = 0; i < n / 32; i++) {
        const float *x = src + i * 32;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int q[32];
        for (int j = 0; j < 32; j++) {
            const float v = x[j] * id; /* separate from the add: never fused */
            q[j] = q5_clamp(v + 16.5f);
        }
        q5_pack(q, y[i].qh, y[i].qs);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Q5_1
 * ------------------------------------------------------------------------------------------- */

static inline float decode_q5_1(const block_q5_1 *b, int8_t q[32], float *m) {
    q5_unpack(b->qh, b->qs, q);
    *m = fp16_to_fp32(b->m);
    return fp16_to_fp32(b->d);
}

KERN_QBLOCK_MIN_REF(q5_1, block_q5_1, decode_q5_1)

void from_float_q5_1_ref(const float *restrict src, void *restrict dst, int64_t n) {
    assert(n % 32 == 0);
    block_q5_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++) {
        const float *x = src + i * 32;
        float min;
        const float id = kern_block_min_scale(x, 31.0f, &y[i].d, &y[i].m, &min);
        int q[32];
        for (int j = 0; j < 32; j++) {
            const float v = (x[j] - min) * id;
            q[j] = q5_clamp(v + 0.5f);
        }
        q5_pack(q, y[i].qh, y[i].qs);
    }
}
