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

/* One block of 32: d = amax / 127 and q = round(x * id). The weight rule (llama.cpp's
 * quantize_row_q8_0_ref): id = 1 / d, ties away from zero. The activation rule (its matmuls'
 * vector quantizer): id = 127 / amax, ties to even. Returns d; sum of q in *sum. */
float kern_q8_block_ref(const float *x, int8_t q[32], bool act, int32_t *sum) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = act ? (amax != 0.0f ? 127.0f / amax : 0.0f) : (d != 0.0f ? 1.0f / d : 0.0f);
    *sum = 0;
    for (int j = 0; j < 32; j++) {
        q[j] = q8_clamp(act ? rintf(x[j] * id) : roundf(x[j] * id));
        *sum += q[j];
    }
    return d;
}

static void quantize_q8_0(const float *restrict src, void *restrict dst, int64_t n, bool act) {
    assert(n % QK8_0 == 0);
    block_q8_0 *y = dst;
    int32_t sum;
    for (int64_t i = 0; i < n / QK8_0; i++)
        y[i].d = fp32_to_fp16(kern_q8_block_ref(src + i * QK8_0, y[i].qs, act, &sum));
}

void from_float_q8_0_ref(const float *restrict src, void *restrict dst, int64_t n) {
    quantize_q8_0(src, dst, n, false);
}

void act_from_float_q8_0_ref(const float *restrict src, void *restrict dst, int64_t n) {
    quantize_q8_0(src, dst, n, true);
}
