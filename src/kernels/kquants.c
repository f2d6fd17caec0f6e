/* kquants.c: reference to_float and vec_dot (with Q8_K activations) of the K-quants Q2_K, Q3_K,
 * Q4_K, Q5_K and Q6_K (layouts in kernels_impl.h). Each type only supplies how its quants
 * unpack into 256 small integers in element order; its scales unpack in kquants.h, and the loop
 * shapes (KERN_KQUANT_REF, with the summation order of every ISA) are there too. Quantizers:
 * kquants_quantize.c; AVX2: kquants_avx2.c.
 */
#include <assert.h>

#include "kernels/kquants.h"

/* Q2_K: element 128h + 32s + l is bits 2s..2s+1 of qs[32h + l]; values 0..3. */
static void kq_quants_q2_K(const void *blk, int8_t q[QK_K]) {
    const block_q2_K *b = blk;
    for (int e = 0; e < QK_K; e++)
        q[e] = (int8_t)((b->qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3);
}

/* Q3_K: two low bits as Q2_K; bit (e / 32) of hmask[e % 32] clear means 4 below: -4..3. */
static void kq_quants_q3_K(const void *blk, int8_t q[QK_K]) {
    const block_q3_K *b = blk;
    for (int e = 0; e < QK_K; e++) {
        const int lo = (b->qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
        const int hi = (b->hmask[e % 32] >> (e / 32)) & 1;
        q[e] = (int8_t)(lo - (hi ? 0 : 4));
    }
}

/* Q4_K: element 64h + l is the low nibble of qs[32h + l], 64h + 32 + l the high one: 0..15. */
static void kq_quants_q4_K(const void *blk, int8_t q[QK_K]) {
    const block_q4_K *b = blk;
    for (int e = 0; e < QK_K; e++)
        q[e] = (int8_t)((b->qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) % 2))) & 0x0f);
}

/* Q5_K: as Q4_K, plus 16 when bit (e / 32) of qh[e % 32] is set: 0..31. */
static void kq_quants_q5_K(const void *blk, int8_t q[QK_K]) {
    const block_q5_K *b = blk;
    for (int e = 0; e < QK_K; e++) {
        const int lo = (b->qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) % 2))) & 0x0f;
        q[e] = (int8_t)(lo | ((b->qh[e % 32] >> (e / 32)) & 1) << 4);
    }
}

/* Q6_K: in each half h (128 elements), element 32s + l has its low nibble in
 * ql[64h + 32 (s % 2) + l] (high nibble when s >= 2) and its top two bits at bit 2s of
 * qh[32h + l]; stored with offset 32: -32..31. */
static void kq_quants_q6_K(const void *blk, int8_t q[QK_K]) {
    const block_q6_K *b = blk;
    for (int e = 0; e < QK_K; e++) {
        const int h = e / 128, s = (e / 32) % 4, l = e % 32;
        const int lo = (b->ql[64 * h + 32 * (s % 2) + l] >> (4 * (s / 2))) & 0x0f;
        const int hi = (b->qh[32 * h + l] >> (2 * s)) & 3;
        q[e] = (int8_t)((lo | hi << 4) - 32);
    }
}

KERN_KQUANT_REF(q2_K, block_q2_K, KQ_MINS_LANES8)
KERN_KQUANT_REF(q3_K, block_q3_K, KQ_MINS_NONE)
KERN_KQUANT_REF(q4_K, block_q4_K, KQ_MINS_LANES4)
KERN_KQUANT_REF(q5_K, block_q5_K, KQ_MINS_SCALAR)
KERN_KQUANT_REF(q6_K, block_q6_K, KQ_MINS_NONE)
