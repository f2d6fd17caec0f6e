/* kernels_impl.h: block layouts, every kernel's declaration, and the type-table rows built from
 * them. Only types.c, matmul.c and the kernel files include this; everything else goes through
 * types.h.
 *
 * Block layouts (GGUF / ggml, little-endian, no padding):
 *
 *   block_q8_0 (34 bytes, 32 elements)
 *     0   d       fp16 scale
 *     2   qs[32]  int8: x[j] = qs[j] * d
 *   block_q4_0 (18 bytes, 32 elements)
 *     0   d       fp16 scale
 *     2   qs[16]  nibbles: x[j] = ((qs[j] & 15) - 8) * d, x[j + 16] = ((qs[j] >> 4) - 8) * d
 *
 * F32, F16 and BF16 rows are plain arrays (block_elems = 1). Q4_0 and Q8_0 weights are dotted
 * with Q8_0 activations; float types with activations of their own type.
 *
 * Kernel names: op, weight type, activation type, ISA (vec_dot_q4_0_q8_0_avx2); _ref is the
 * plain C version every SIMD variant must match (to_float and from_float bit for bit, vec_dot
 * up to float summation order). Quantized kernels share one loop shape per operation: the
 * weight format only supplies a block decoder that unpacks 32 int8 values and a scale
 * (KERN_QBLOCK_REF here; SIMD shapes in kernels_x86.h, used with kernels_avx512.h's helpers).
 */
#ifndef WARD_KERNELS_IMPL_H
#define WARD_KERNELS_IMPL_H

#include <assert.h>
#include <stdint.h>

#include "kernels/fp16.h"
#include "kernels/types.h"

/* ---------------------------------------------------------------------------------------------
 * Block structs
 * ------------------------------------------------------------------------------------------- */

#define QK8_0 32
#define QK4_0 32

typedef struct block_q8_0 {
    uint16_t d;         /* fp16 */
    int8_t qs[QK8_0];   /* quantize_row_q8_0 writes [-127, 127]; SIMD dots assume no -128 */
} block_q8_0;
static_assert(sizeof(block_q8_0) == 2 + QK8_0, "block_q8_0 must be 34 bytes");

typedef struct block_q4_0 {
    uint16_t d;             /* fp16 */
    uint8_t qs[QK4_0 / 2];  /* element j in the low nibble of qs[j], j+16 in the high nibble */
} block_q4_0;
static_assert(sizeof(block_q4_0) == 2 + QK4_0 / 2, "block_q4_0 must be 18 bytes");

/* ---------------------------------------------------------------------------------------------
 * Summation order of the float-type dots, the same on every ISA. Attention rounds operands to
 * F16, which turns a last-bit difference in a score into a visible one, so a fixed order makes
 * logits reproducible across CPUs; these are also the orders of the reference engine's 8-lane
 * kernels, which keeps our logits within rounding of its golden data.
 *   n % 8 == 0: element i goes to lane i % 8 (fused multiply-add in index order); the lanes
 *     reduce as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
 *   otherwise: four 8-lane accumulators take 32 elements per step (accumulator j the elements
 *     8j..8j+7 of the step), combine as (a0+a2)+(a1+a3) lane by lane, reduce as
 *     ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)), and the n % 32 tail is added by fused
 *     multiply-add in index order.
 * ------------------------------------------------------------------------------------------- */
static inline float kern_sum_lanes8(const float l[8]) {
    return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}
static inline float kern_sum_lanes8_pairs(const float l[8]) {
    return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
}

/* ---------------------------------------------------------------------------------------------
 * Reference loop shape for "32-element int8-decodable blocks". The dot's order, the same on
 * every ISA: per block, eight exact int32 sums of four consecutive products (elements 4k..4k+3
 * in lane k, as maddubs+madd or VNNI produce them), each multiplied by d_w * d_x into float lane
 * k with a fused multiply-add, block after block; the lanes reduce as kern_sum_lanes8.: to_float and vec_dot with Q8_0
 * activations. decode(const block_t *, int8_t q[32]) unpacks the block and returns its scale.
 * ------------------------------------------------------------------------------------------- */

#define KERN_QBLOCK_REF(wname, block_t, decode)                                                \
    void to_float_##wname##_ref(const void *restrict src, float *restrict dst, int64_t n) {   \
        assert(n % 32 == 0);                                                                   \
        const block_t *b = src;                                                                \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            int8_t q[32];                                                                      \
            const float d = decode(&b[i], q);                                                  \
            for (int j = 0; j < 32; j++) dst[i * 32 + j] = (float)q[j] * d;                    \
        }                                                                                      \
    }                                                                                          \
    void vec_dot_##wname##_q8_0_ref(int64_t n, float *restrict out, const void *restrict w,   \
                                    const void *restrict x) {                                  \
        assert(n % 32 == 0);                                                                   \
        const block_t *bw = w;                                                                 \
        const block_q8_0 *bx = x;                                                              \
        float lanes[8] = {0};                                                                  \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            int8_t q[32];                                                                      \
            const float d = decode(&bw[i], q) * fp16_to_fp32(bx[i].d);                         \
            for (int k = 0; k < 8; k++) {                                                      \
                int32_t sumi = 0;                                                              \
                for (int j = 4 * k; j < 4 * k + 4; j++) sumi += (int32_t)q[j] * bx[i].qs[j];   \
                lanes[k] = fmaf(d, (float)sumi, lanes[k]);                                     \
            }                                                                                  \
        }                                                                                      \
        *out = kern_sum_lanes8(lanes);                                                         \
    }

/* ---------------------------------------------------------------------------------------------
 * Declarations: one set per type, ISA variants beside their _ref
 * ------------------------------------------------------------------------------------------- */

#define KERN_DECLARE_TO_FLOAT(wname, isa) \
    void to_float_##wname##_##isa(const void *restrict src, float *restrict dst, int64_t n);
#define KERN_DECLARE_FROM_FLOAT(wname, isa) \
    void from_float_##wname##_##isa(const float *restrict src, void *restrict dst, int64_t n);
#define KERN_DECLARE_VEC_DOT(wname, xname, isa)                                                 \
    void vec_dot_##wname##_##xname##_##isa(int64_t n, float *restrict out, const void *restrict w, \
                                           const void *restrict x);
#define KERN_DECLARE_ALL(wname, xname, isa) \
    KERN_DECLARE_TO_FLOAT(wname, isa) KERN_DECLARE_FROM_FLOAT(wname, isa) \
    KERN_DECLARE_VEC_DOT(wname, xname, isa)

/* float types: float_types.c, float_types_avx2.c, float_types_avx512.c */
#define KERN_DECLARE_CONVERT(wname, isa) KERN_DECLARE_TO_FLOAT(wname, isa) KERN_DECLARE_FROM_FLOAT(wname, isa)
KERN_DECLARE_ALL(f32, f32, ref) KERN_DECLARE_ALL(f32, f32, avx2) KERN_DECLARE_CONVERT(f32, avx512)
KERN_DECLARE_ALL(f16, f16, ref) KERN_DECLARE_ALL(f16, f16, avx2) KERN_DECLARE_CONVERT(f16, avx512)
KERN_DECLARE_ALL(bf16, bf16, ref) KERN_DECLARE_ALL(bf16, bf16, avx2)
KERN_DECLARE_CONVERT(bf16, avx512)
/* Q8_0: q8_0.c, q8_0_avx2.c, q8_0_avx512.c (vec_dot only) */
KERN_DECLARE_ALL(q8_0, q8_0, ref) KERN_DECLARE_ALL(q8_0, q8_0, avx2)
KERN_DECLARE_VEC_DOT(q8_0, q8_0, avx512)
/* Q4_0: q4_0.c, q4_0_avx2.c, q4_0_avx512.c (vec_dot only) */
KERN_DECLARE_ALL(q4_0, q8_0, ref) KERN_DECLARE_ALL(q4_0, q8_0, avx2)
KERN_DECLARE_VEC_DOT(q4_0, q8_0, avx512)

/* ---------------------------------------------------------------------------------------------
 * Table rows (used by types.c). A missing ISA slot falls back to the next lower level.
 * ------------------------------------------------------------------------------------------- */

#define KERN_ISAS_AVX512(fn) \
    {[WARD_ISA_REF] = fn##_ref, [WARD_ISA_AVX2] = fn##_avx2, [WARD_ISA_AVX512] = fn##_avx512}
#define KERN_ISAS_AVX2(fn) {[WARD_ISA_REF] = fn##_ref, [WARD_ISA_AVX2] = fn##_avx2}

#define KERN_ROWS_FLOAT                                                                         \
    KERN_ROW_FLOAT(WARD_TYPE_F32, "F32", float, f32),                                           \
    KERN_ROW_FLOAT(WARD_TYPE_F16, "F16", uint16_t, f16),                                        \
    KERN_ROW_FLOAT(WARD_TYPE_BF16, "BF16", uint16_t, bf16)
#define KERN_ROW_FLOAT(id, nm, elem_t, wname)                                                  \
    [id] = {.name = nm, .block_elems = 1, .block_bytes = sizeof(elem_t), .vec_dot_type = id,   \
            .to_float = KERN_ISAS_AVX512(to_float_##wname),                                    \
            .from_float = KERN_ISAS_AVX512(from_float_##wname),                                \
            .vec_dot = KERN_ISAS_AVX2(vec_dot_##wname##_##wname)}

/* Float rows: the dot's summation order is 8 lanes on every ISA (see kern_sum_lanes8), so
 * AVX-512 only brings its own conversions. Quantized rows: AVX-512 only has its own vec_dot
 * (VNNI; integer sums are exact in any order). */
#define KERN_ROW_QUANT(id, nm, block_t, wname)                                                 \
    [id] = {.name = nm, .block_elems = 32, .block_bytes = sizeof(block_t),                     \
            .vec_dot_type = WARD_TYPE_Q8_0,                                                    \
            .to_float = KERN_ISAS_AVX2(to_float_##wname),                                      \
            .from_float = KERN_ISAS_AVX2(from_float_##wname),                                  \
            .vec_dot = KERN_ISAS_AVX512(vec_dot_##wname##_q8_0)}
#define KERN_ROW_Q8_0 KERN_ROW_QUANT(WARD_TYPE_Q8_0, "Q8_0", block_q8_0, q8_0)
#define KERN_ROW_Q4_0 KERN_ROW_QUANT(WARD_TYPE_Q4_0, "Q4_0", block_q4_0, q4_0)

#endif
