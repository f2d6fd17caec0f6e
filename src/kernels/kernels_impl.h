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
 *   block_q4_1 (20 bytes): 0 d, 2 m (fp16), 4 qs[16] nibbles as Q4_0: x = q * d + m, q in 0..15
 *   block_q5_0 (22 bytes): 0 d, 2 qh[4] (bit j = 5th bit of element j), 6 qs[16] low nibbles as
 *     Q4_0: x = (q - 16) * d, q in 0..31
 *   block_q5_1 (24 bytes): 0 d, 2 m, 4 qh[4], 8 qs[16]: x = q * d + m
 *   block_q8_1 (36 bytes): 0 d, 2 s = fp16(d * sum(qs)), 4 qs[32] int8: x = qs * d
 *
 * K-quants: super-blocks of 256 elements in 16 groups of 16 (Q4_K/Q5_K scales cover two groups).
 * x = d * sc[g] * q - dmin * mn[g] for the element's group g (kquants.h unpacks sc, mn, q):
 *   block_q2_K (84 bytes):  0 scales[16] (low nibble sc, high nibble mn), 16 qs[64] (2 bits:
 *     element 128h + 32s + l in bits 2s of qs[32h + l]), 80 d, 82 dmin
 *   block_q3_K (110 bytes): 0 hmask[32] (bit c of hmask[l]: element 32c + l has q >= 0), 32
 *     qs[64] (2 low bits as Q2_K), 96 scales[12] (16 x 6 bits, sc = v - 32), 108 d; q in -4..3
 *   block_q4_K (144 bytes): 0 d, 2 dmin, 4 scales[12] (8 x 6-bit sc and mn), 16 qs[128] (element
 *     64h + l low nibble of qs[32h + l], 64h + 32 + l high nibble)
 *   block_q5_K (176 bytes): as Q4_K, then 16 qh[32] (bit c of qh[l]: 5th bit of 32c + l), 48 qs
 *   block_q6_K (210 bytes): 0 ql[128], 128 qh[64], 192 scales[16] (int8), 208 d; q in -32..31
 *   block_q8_K (292 bytes): 0 d (float), 4 qs[256] int8, 260 bsums[16] (int16 sums of 16 qs)
 *
 * F32, F16 and BF16 rows are plain arrays (block_elems = 1). Q4_0, Q5_0 and Q8_0 weights are
 * dotted with Q8_0 activations, Q4_1 and Q5_1 with Q8_1, K-quants with Q8_K (the reference
 * engine's pairs); float types with activations of their own type.
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
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

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

typedef struct block_q4_1 {
    uint16_t d, m;      /* fp16 scale and minimum */
    uint8_t qs[16];     /* as block_q4_0 */
} block_q4_1;
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 must be 20 bytes");

typedef struct block_q5_0 {
    uint16_t d;
    uint8_t qh[4];      /* little-endian uint32: bit j is bit 4 of element j */
    uint8_t qs[16];     /* low nibbles, as block_q4_0 */
} block_q5_0;
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 must be 22 bytes");

typedef struct block_q5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[16];
} block_q5_1;
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 must be 24 bytes");

typedef struct block_q8_1 {
    uint16_t d, s;      /* fp16 scale, fp16 of d * sum(qs) */
    int8_t qs[32];      /* [-127, 127] */
} block_q8_1;
static_assert(sizeof(block_q8_1) == 36, "block_q8_1 must be 36 bytes");

#define QK_K 256

typedef struct block_q2_K {
    uint8_t scales[16]; /* low nibble: scale, high nibble: min, per 16 elements */
    uint8_t qs[64];
    uint16_t d, dmin;
} block_q2_K;
static_assert(sizeof(block_q2_K) == 84, "block_q2_K must be 84 bytes");

typedef struct block_q3_K {
    uint8_t hmask[32];
    uint8_t qs[64];
    uint8_t scales[12];
    uint16_t d;
} block_q3_K;
static_assert(sizeof(block_q3_K) == 110, "block_q3_K must be 110 bytes");

typedef struct block_q4_K {
    uint16_t d, dmin;
    uint8_t scales[12]; /* 6-bit scale and min of each 32 elements (kq_scale_min_k4) */
    uint8_t qs[128];
} block_q4_K;
static_assert(sizeof(block_q4_K) == 144, "block_q4_K must be 144 bytes");

typedef struct block_q5_K {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[32];
    uint8_t qs[128];
} block_q5_K;
static_assert(sizeof(block_q5_K) == 176, "block_q5_K must be 176 bytes");

typedef struct block_q6_K {
    uint8_t ql[128];
    uint8_t qh[64];
    int8_t scales[16];
    uint16_t d;
} block_q6_K;
static_assert(sizeof(block_q6_K) == 210, "block_q6_K must be 210 bytes");

typedef struct block_q8_K {
    float d;
    int8_t qs[QK_K];    /* [-127, 127] */
    int16_t bsums[16];
} block_q8_K;
static_assert(sizeof(block_q8_K) == 292, "block_q8_K must be 292 bytes");

/* Packed row groups (packed.h): 16 Q4_0 rows, one block column. */
typedef struct block_q4_0x16 {
    uint16_t d[16];         /* fp16 scale of each row */
    uint8_t qs[4][16][4];   /* qs[p][r] = row r's qs[4p..4p+3] */
} block_q4_0x16;
static_assert(sizeof(block_q4_0x16) == 288, "block_q4_0x16 must be 288 bytes");

/* Packed row groups: 16 Q8_0 rows, one block column. */
typedef struct block_q8_0x16 {
    uint16_t d[16];        /* fp16 scale of each row */
    uint8_t qs[8][16][4];  /* qs[c][r] = row r's qs[4c..4c+3] + 128 (unsigned, for VPDPBUSD) */
} block_q8_0x16;
static_assert(sizeof(block_q8_0x16) == 544, "block_q8_0x16 must be 544 bytes");

/* Packed row groups of the K-quants: 16 rows, one super-block column (256 elements). The quant
 * bytes keep their file layout, four bytes per row side by side (so each 64-byte vector holds one
 * 4-element chunk of every row in its low nibbles, another in its high nibbles); the scales are
 * unpacked to one byte each. */
typedef struct block_q4_Kx16 {
    uint16_t d[16], dmin[16];
    uint8_t sc[8][16], mn[8][16]; /* 6-bit scale and minimum of 32-element sub-block j, per row */
    uint8_t qs[4][8][16][4];      /* qs[h][m][r] = row r's qs[32h + 4m .. 32h + 4m + 3] */
} block_q4_Kx16;
static_assert(sizeof(block_q4_Kx16) == 2368, "block_q4_Kx16 must be 2368 bytes");

typedef struct block_q6_Kx16 {
    uint16_t d[16];
    int8_t sc[16][16];            /* scale of 16-element group g, per row */
    struct {                      /* in the order the kernel reads them (one sequential stream) */
        uint8_t qh[16][4];        /* row r's qh[32h + 4m ..] */
        uint8_t ql[2][16][4];     /* row r's ql[64h + 32u + 4m ..], u = 0, 1 */
    } q[2][8];                    /* q[h][m] */
} block_q6_Kx16;
static_assert(sizeof(block_q6_Kx16) == 3360, "block_q6_Kx16 must be 3360 bytes");

/* A Q8_K activation block prepared for the packed K-quant kernels: as block_q8_K, plus each
 * 4-element chunk's correction for weights stored with offset o (cbias[c] = -o * sum). */
typedef struct block_q8_Ks {
    float d;
    int16_t bsums[16];
    int32_t cbias[64];
    int8_t qs[QK_K];
} block_q8_Ks;
static_assert(sizeof(block_q8_Ks) == 548, "block_q8_Ks must be 548 bytes");

/* Packed row groups of F16: 16 rows, 8 columns, column by column. */
typedef struct block_f16x16 {
    uint16_t v[8][16]; /* v[l][r] = row r's element l of the 8 */
} block_f16x16;
static_assert(sizeof(block_f16x16) == 256, "block_f16x16 must be 256 bytes");

/* BF16: 16 rows, 8 columns, by pairs of columns, as VDPBF16PS takes them (and a bf16 in the high
 * half of a 32-bit word is already a float; the low one is a shift away). */
typedef struct block_bf16x16 {
    uint32_t v[4][16]; /* v[j][r] = row r's element 2j (low half) and 2j + 1 (high half) */
} block_bf16x16;
static_assert(sizeof(block_bf16x16) == 256, "block_bf16x16 must be 256 bytes");

/* A Q8_0 activation block prepared for the packed kernels: the scale already widened from
 * fp16, and the corrections for weights stored with an offset o (q + o, unsigned, as VPDPBUSD
 * wants them): bias = -o * sum(qs) for a whole-block sum, cbias[c] = -o * (qs[4c] + ... +
 * qs[4c+3]) for each chunk of four's own sum. */
typedef struct block_q8_0s {
    float d;
    int32_t bias;
    int32_t cbias[8];
    int8_t qs[32];
} block_q8_0s;
static_assert(sizeof(block_q8_0s) == 72, "block_q8_0s must be 72 bytes");

/* Round to nearest, ties to even, as the reference engine's quantizers do (adding 1.5 * 2^23
 * moves the integer part into the mantissa); |f| < 2^22, else garbage but no undefined
 * behaviour. */
static inline int kern_nearest_int(float f) {
    const float v = f + 12582912.0f;
    uint32_t u;
    memcpy(&u, &v, 4);
    return (int)(u & 0x007fffff) - 0x00400000;
}

/* Scale and minimum of a 32-element block quantized as (x - min) / d onto 0..levels (Q4_1,
 * Q5_1): stores d and min as fp16, returns min through *min and 1/d (0 for a flat block). */
static inline float kern_block_min_scale(const float x[32], float levels, uint16_t *d16,
                                         uint16_t *m16, float *min) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < 32; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    const float d = (hi - lo) / levels;
    *d16 = fp32_to_fp16(d);
    *m16 = fp32_to_fp16(lo);
    *min = lo;
    return d != 0.0f ? 1.0f / d : 0.0f;
}

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

/* One block's share of the lanes8 order: lane k += d * (the exact int32 sum of products 4k..4k+3),
 * by fused multiply-add. Shared by every 32-element reference dot (here and packed.c). */
static inline void kern_block_isums(const int8_t q[32], const int8_t x[32], int32_t isum[8]) {
    for (int k = 0; k < 8; k++) {
        isum[k] = 0;
        for (int j = 4 * k; j < 4 * k + 4; j++) isum[k] += (int32_t)q[j] * x[j];
    }
}
static inline void kern_block_lanes8(float lanes[8], float d, const int8_t q[32],
                                     const int8_t x[32]) {
    int32_t isum[8];
    kern_block_isums(q, x, isum);
    for (int k = 0; k < 8; k++) lanes[k] = fmaf(d, (float)isum[k], lanes[k]);
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
            kern_block_lanes8(lanes, d, q, bx[i].qs);                                          \
        }                                                                                      \
        *out = kern_sum_lanes8(lanes);                                                         \
    }

/* The same shape for blocks with a minimum (x = q * d + m; Q4_1, Q5_1), dotted with Q8_1
 * activations, whose s = fp16(d_x * sum(q_x)) carries the minimum's share: per block the lanes
 * as above, and a scalar m * s summed by fused multiply-add; the result is
 * kern_sum_lanes8(lanes) + that sum. decode(const block_t *, int8_t q[32], float *m) returns d;
 * to_float is q * d + m, rounded twice like the reference (no fused multiply-add). */
#define KERN_QBLOCK_MIN_REF(wname, block_t, decode)                                            \
    void to_float_##wname##_ref(const void *restrict src, float *restrict dst, int64_t n) {   \
        assert(n % 32 == 0);                                                                   \
        const block_t *b = src;                                                                \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            int8_t q[32];                                                                      \
            float m;                                                                           \
            const float d = decode(&b[i], q, &m);                                              \
            for (int j = 0; j < 32; j++) {                                                     \
                const float qd = (float)q[j] * d;                                              \
                dst[i * 32 + j] = qd + m;                                                      \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    void vec_dot_##wname##_q8_1_ref(int64_t n, float *restrict out, const void *restrict w,   \
                                    const void *restrict x) {                                  \
        assert(n % 32 == 0);                                                                   \
        const block_t *bw = w;                                                                 \
        const block_q8_1 *bx = x;                                                              \
        float lanes[8] = {0}, summs = 0.0f;                                                    \
        for (int64_t i = 0; i < n / 32; i++) {                                                 \
            int8_t q[32];                                                                      \
            float m;                                                                           \
            const float d = decode(&bw[i], q, &m) * fp16_to_fp32(bx[i].d);                     \
            summs = fmaf(m, fp16_to_fp32(bx[i].s), summs);                                     \
            kern_block_lanes8(lanes, d, q, bx[i].qs);                                          \
        }                                                                                      \
        *out = kern_sum_lanes8(lanes) + summs;                                                 \
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
/* The Q8 block quantizer shared by Q8_0 and Q8_1 (q8_0.c): weight or activation rule. */
float kern_q8_block_ref(const float *x, int8_t q[32], bool act, int32_t *sum);
void act_from_float_q8_0_ref(const float *restrict src, void *restrict dst, int64_t n);
void act_from_float_q8_0_avx2(const float *restrict src, void *restrict dst, int64_t n);
void act_from_float_q8_1_ref(const float *restrict src, void *restrict dst, int64_t n);
#define KERN_DECLARE_TILES(wname, xname, isa)                                                  \
    void tile4x1_##wname##_##xname##_##isa(int64_t n, float *restrict out, size_t ldo,         \
                                           const void *restrict w, size_t ws,                 \
                                           const void *restrict x, size_t xs);                \
    void tile4x2_##wname##_##xname##_##isa(int64_t n, float *restrict out, size_t ldo,         \
                                           const void *restrict w, size_t ws,                 \
                                           const void *restrict x, size_t xs);
KERN_DECLARE_TILES(q8_0, q8_0, avx2) KERN_DECLARE_TILES(q8_0, q8_0, avx512)
KERN_DECLARE_TILES(q4_0, q8_0, avx2) KERN_DECLARE_TILES(q4_0, q8_0, avx512)
KERN_DECLARE_TILES(q5_0, q8_0, avx2) KERN_DECLARE_TILES(q5_0, q8_0, avx512)
KERN_DECLARE_TILES(f32, f32, avx2) KERN_DECLARE_TILES(f16, f16, avx2)
KERN_DECLARE_TILES(bf16, bf16, avx2)
#define KERN_TILES_AVX512(wname) \
    .tile_4x1 = {[WARD_ISA_AVX2] = tile4x1_##wname##_q8_0_avx2, [WARD_ISA_AVX512] = tile4x1_##wname##_q8_0_avx512}, \
    .tile_4x2 = {[WARD_ISA_AVX2] = tile4x2_##wname##_q8_0_avx2, [WARD_ISA_AVX512] = tile4x2_##wname##_q8_0_avx512}
/* Q8_0: q8_0.c, q8_0_avx2.c, q8_0_avx512.c (vec_dot only) */
KERN_DECLARE_ALL(q8_0, q8_0, ref) KERN_DECLARE_ALL(q8_0, q8_0, avx2)
KERN_DECLARE_VEC_DOT(q8_0, q8_0, avx512)
/* Q4_0: q4_0.c, q4_0_avx2.c, q4_0_avx512.c (vec_dot only) */
KERN_DECLARE_ALL(q4_0, q8_0, ref) KERN_DECLARE_ALL(q4_0, q8_0, avx2)
KERN_DECLARE_VEC_DOT(q4_0, q8_0, avx512)
/* Q4_1: q4_1.c, q4_1_avx2.c; Q5_0, Q5_1: q5.c, q5_avx2.c; Q8_1 (activations only): q8_1.c */
KERN_DECLARE_ALL(q4_1, q8_1, ref) KERN_DECLARE_TO_FLOAT(q4_1, avx2)
KERN_DECLARE_VEC_DOT(q4_1, q8_1, avx2) KERN_DECLARE_VEC_DOT(q4_1, q8_1, avx512)
KERN_DECLARE_ALL(q5_0, q8_0, ref) KERN_DECLARE_TO_FLOAT(q5_0, avx2)
KERN_DECLARE_VEC_DOT(q5_0, q8_0, avx2) KERN_DECLARE_VEC_DOT(q5_0, q8_0, avx512)
KERN_DECLARE_ALL(q5_1, q8_1, ref) KERN_DECLARE_TO_FLOAT(q5_1, avx2)
KERN_DECLARE_VEC_DOT(q5_1, q8_1, avx2) KERN_DECLARE_VEC_DOT(q5_1, q8_1, avx512)
KERN_DECLARE_CONVERT(q8_1, ref)
/* K-quants: kquants.c (to_float, vec_dot), kquants_quantize.c (from_float of Q4_K, Q5_K, Q6_K),
 * kquants_avx2.c and kquants_avx512.c (vec_dot); Q8_K (activations only): q8_k.c */
#define KERN_DECLARE_KQUANT(wname) \
    KERN_DECLARE_TO_FLOAT(wname, ref) KERN_DECLARE_VEC_DOT(wname, q8_K, ref) \
    KERN_DECLARE_VEC_DOT(wname, q8_K, avx2) KERN_DECLARE_VEC_DOT(wname, q8_K, avx512)
KERN_DECLARE_KQUANT(q2_K) KERN_DECLARE_KQUANT(q3_K) KERN_DECLARE_KQUANT(q4_K)
KERN_DECLARE_KQUANT(q5_K) KERN_DECLARE_KQUANT(q6_K)
KERN_DECLARE_FROM_FLOAT(q4_K, ref) KERN_DECLARE_FROM_FLOAT(q5_K, ref)
KERN_DECLARE_FROM_FLOAT(q6_K, ref)
KERN_DECLARE_CONVERT(q8_K, ref)

/* Packed weights (packed.h): packed.c, packed_<type>.c, packed_<type>_avx2.c, _avx512.c */
#define KERN_DECLARE_PACKED_GEMM(wname, isa)                                                   \
    void packed_gemm_##wname##_##isa(int64_t n_cols, float *restrict out, size_t ldo,          \
                                     const void *restrict w, const void *restrict x, size_t xs, \
                                     int n_tok);
#define KERN_DECLARE_PACKED(wname)                                                            \
    void pack_##wname(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,  \
                      void *dst);                                                              \
    KERN_DECLARE_PACKED_GEMM(wname, ref) KERN_DECLARE_PACKED_GEMM(wname, avx2)                \
    KERN_DECLARE_PACKED_GEMM(wname, avx512)
KERN_DECLARE_PACKED(q4_0x16) KERN_DECLARE_PACKED(q8_0x16)
KERN_DECLARE_PACKED(q4_Kx16) KERN_DECLARE_PACKED(q6_Kx16)
void act_q8_Ks(ward_type t, ward_isa isa, int32_t o, const float *x, void *dst, int64_t n_cols);
/* Packed F16 and BF16 (packed_float.c). The BF16 kernel with VDPBF16PS has its own order (pairs
 * of columns, fused multiply-adds with denormals flushed: packed_gemm_bf16x16_pairs_ref). */
void pack_f16x16(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1, void *dst);
void pack_bf16x16(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1, void *dst);
KERN_DECLARE_PACKED_GEMM(bf16x16_pairs, ref) KERN_DECLARE_PACKED_GEMM(bf16x16, avx512bf16)
void act_float16(ward_type t, ward_isa isa, int32_t o, const float *x, void *dst, int64_t n_cols);
KERN_DECLARE_PACKED_GEMM(f16x16, ref) KERN_DECLARE_PACKED_GEMM(f16x16, avx2)
KERN_DECLARE_PACKED_GEMM(f16x16, avx512) KERN_DECLARE_PACKED_GEMM(bf16x16, ref)
KERN_DECLARE_PACKED_GEMM(bf16x16, avx2) KERN_DECLARE_PACKED_GEMM(bf16x16, avx512)
/* The reference loop of the packed kernels (packed.c): decode(block column, row, q) unpacks
 * row r's 32 values of one block column and returns its scale. In the chain order, per block
 * one exact int32 sum, then acc = fma(isum, d_w * d_x, acc); in the lanes8 order, the unpacked
 * type's vec_dot order (KERN_QBLOCK_REF: eight chunk sums into eight lanes, kern_sum_lanes8). */
typedef float (*kern_packed_decode_fn)(const void *blk, int r, int8_t q[32]);
void kern_packed_ref(int64_t n_cols, float *restrict out, size_t ldo, const void *restrict w,
                     size_t block_bytes, kern_packed_decode_fn decode, bool lanes8,
                     const void *restrict x, size_t xs, int n_tok);

/* AVX2 ops (ops.h dispatches to them): ops_avx2.c */
double ops_exp_shifted_avx2(float *x, int64_t n, float shift);
void ops_scale_avx2(float *x, int64_t n, float a);
void ops_swiglu_avx2(float *out, const float *gate, const float *up, int64_t n);
void ops_axpy_f16_avx2(float *y, float a, const uint16_t *x, int64_t n);
void ops_weighted_rows_f16_avx2(float *lanes, const float *p, const uint16_t *rows, size_t stride,
                                int64_t n_rows, int64_t n);
void ops_round_f16_avx2(float *x, int64_t n);

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
            .vec_dot = KERN_ISAS_AVX2(vec_dot_##wname##_##wname),                              \
            .tile_4x1 = {[WARD_ISA_AVX2] = tile4x1_##wname##_##wname##_avx2},                   \
            .tile_4x2 = {[WARD_ISA_AVX2] = tile4x2_##wname##_##wname##_avx2}}

/* Float rows: the dot's summation order is 8 lanes on every ISA (see kern_sum_lanes8), so
 * AVX-512 only brings its own conversions. Quantized rows: AVX-512 only has its own vec_dot
 * (VNNI; integer sums are exact in any order). */
#define KERN_ROW_QUANT(id, nm, block_t, wname)                                                 \
    [id] = {.name = nm, .block_elems = 32, .block_bytes = sizeof(block_t),                     \
            .vec_dot_type = WARD_TYPE_Q8_0,                                                    \
            .to_float = KERN_ISAS_AVX2(to_float_##wname),                                      \
            .from_float = KERN_ISAS_AVX2(from_float_##wname),                                  \
            .vec_dot = KERN_ISAS_AVX512(vec_dot_##wname##_q8_0), KERN_TILES_AVX512(wname)}
#define KERN_ROW_Q8_0                                                                          \
    [WARD_TYPE_Q8_0] = {.name = "Q8_0", .block_elems = 32, .block_bytes = sizeof(block_q8_0),  \
                        .vec_dot_type = WARD_TYPE_Q8_0,                                        \
                        .to_float = KERN_ISAS_AVX2(to_float_q8_0),                             \
                        .from_float = KERN_ISAS_AVX2(from_float_q8_0),                         \
                        .act_from_float = KERN_ISAS_AVX2(act_from_float_q8_0),                 \
                        .vec_dot = KERN_ISAS_AVX512(vec_dot_q8_0_q8_0), KERN_TILES_AVX512(q8_0)}
#define KERN_ROW_Q4_0 KERN_ROW_QUANT(WARD_TYPE_Q4_0, "Q4_0", block_q4_0, q4_0)

/* Rows whose from_float is plain C only (weight quantizers, run once per model; activation
 * types whose quantization is a small share of a matmul); their vec_dot has AVX2 and AVX-512. */
#define KERN_ROW_QBLOCK(id, nm, block_t, wname, xid, xname, act, tiles)                        \
    [id] = {.name = nm, .block_elems = 32, .block_bytes = sizeof(block_t), .vec_dot_type = xid, \
            .to_float = KERN_ISAS_AVX2(to_float_##wname),                                      \
            .from_float = {[WARD_ISA_REF] = from_float_##wname##_ref},                         \
            .act_from_float = act,                                                             \
            .vec_dot = KERN_ISAS_AVX512(vec_dot_##wname##_##xname), tiles}
#define KERN_NO_TILES .tile_4x1 = {NULL}
#define KERN_ACT_Q8_0 KERN_ISAS_AVX2(act_from_float_q8_0)
#define KERN_ACT_Q8_1 {[WARD_ISA_REF] = act_from_float_q8_1_ref}
#define KERN_ROW_Q4_1 KERN_ROW_QBLOCK(WARD_TYPE_Q4_1, "Q4_1", block_q4_1, q4_1, WARD_TYPE_Q8_1, q8_1, \
                              KERN_ACT_Q8_1, KERN_NO_TILES)
#define KERN_ROW_Q5_0 KERN_ROW_QBLOCK(WARD_TYPE_Q5_0, "Q5_0", block_q5_0, q5_0, WARD_TYPE_Q8_0, q8_0, \
                              KERN_ACT_Q8_0, KERN_TILES_AVX512(q5_0))
#define KERN_ROW_Q5_1 KERN_ROW_QBLOCK(WARD_TYPE_Q5_1, "Q5_1", block_q5_1, q5_1, WARD_TYPE_Q8_1, q8_1, \
                              KERN_ACT_Q8_1, KERN_NO_TILES)

/* Activation-only rows: no vec_dot of their own (not computable as weights). */
#define KERN_ROW_ACT(id, nm, elems, block_t, wname)                                            \
    [id] = {.name = nm, .block_elems = elems, .block_bytes = sizeof(block_t), .vec_dot_type = id, \
            .to_float = {[WARD_ISA_REF] = to_float_##wname##_ref},                             \
            .from_float = {[WARD_ISA_REF] = from_float_##wname##_ref}}
#define KERN_ROW_Q8_1 KERN_ROW_ACT(WARD_TYPE_Q8_1, "Q8_1", 32, block_q8_1, q8_1)
#define KERN_ROW_Q8_K KERN_ROW_ACT(WARD_TYPE_Q8_K, "Q8_K", QK_K, block_q8_K, q8_K)

/* K-quant rows; from_float is NULL for Q2_K and Q3_K (ward reads and computes them but does
 * not make them). */
#define KERN_ROW_KQUANT(id, nm, block_t, wname, from)                                          \
    [id] = {.name = nm, .block_elems = QK_K, .block_bytes = sizeof(block_t),                   \
            .vec_dot_type = WARD_TYPE_Q8_K, .to_float = {[WARD_ISA_REF] = to_float_##wname##_ref}, \
            .from_float = {[WARD_ISA_REF] = from},                                             \
            .vec_dot = KERN_ISAS_AVX512(vec_dot_##wname##_q8_K)}
#define KERN_ROWS_KQUANT                                                                        \
    KERN_ROW_KQUANT(WARD_TYPE_Q2_K, "Q2_K", block_q2_K, q2_K, NULL),                            \
    KERN_ROW_KQUANT(WARD_TYPE_Q3_K, "Q3_K", block_q3_K, q3_K, NULL),                            \
    KERN_ROW_KQUANT(WARD_TYPE_Q4_K, "Q4_K", block_q4_K, q4_K, from_float_q4_K_ref),             \
    KERN_ROW_KQUANT(WARD_TYPE_Q5_K, "Q5_K", block_q5_K, q5_K, from_float_q5_K_ref),             \
    KERN_ROW_KQUANT(WARD_TYPE_Q6_K, "Q6_K", block_q6_K, q6_K, from_float_q6_K_ref)

#endif
