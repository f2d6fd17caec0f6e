/* packed.c: the packed-weight API (packed.h): the table of packable types, the activation
 * format, and the reference loop every packed kernel's plain C version shares. The formats
 * live in packed_<type>.c with their ISA variants beside them.
 */
#include "kernels/packed.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_impl.h"

/* Activations: the Q8_0 bytes of the weight type's activation quantizer, with d widened and
 * the corrections for weights stored with offset o (block_q8_0s). */
static void act_q8_0s(ward_type t, ward_isa isa, int32_t o, const float *x, void *dst,
                      int64_t n_cols) {
    const kern_from_float_fn quantize = kern_act_from_float(t, isa);
    block_q8_0s *out = dst;
    for (int64_t i = 0; i < n_cols / QK8_0; i++) {
        block_q8_0 q;
        quantize(x + i * QK8_0, &q, QK8_0);
        out[i].d = fp16_to_fp32(q.d);
        out[i].bias = 0;
        for (int c = 0; c < 8; c++) {
            const int32_t s = q.qs[4 * c] + q.qs[4 * c + 1] + q.qs[4 * c + 2] + q.qs[4 * c + 3];
            out[i].cbias[c] = -o * s;
            out[i].bias += -o * s;
        }
        memcpy(out[i].qs, q.qs, QK8_0);
    }
}

void kern_packed_ref(int64_t n_cols, float *restrict out, size_t ldo, const void *restrict w,
                     size_t block_bytes, kern_packed_decode_fn decode, bool lanes8,
                     const void *restrict x, size_t xs, int n_tok) {
    assert(n_cols % 32 == 0 && n_tok >= 1 && n_tok <= KERN_PACK_MAX_TOK);
    for (int t = 0; t < n_tok; t++) {
        const block_q8_0s *bx = (const block_q8_0s *)((const uint8_t *)x + (size_t)t * xs);
        float acc[KERN_PACK_ROWS][8] = {{0}};
        for (int64_t i = 0; i < n_cols / 32; i++) {
            const uint8_t *blk = (const uint8_t *)w + (size_t)i * block_bytes;
            for (int r = 0; r < KERN_PACK_ROWS; r++) {
                int8_t q[32];
                const float d = decode(blk, r, q) * bx[i].d;
                if (lanes8) {
                    kern_block_lanes8(acc[r], d, q, bx[i].qs);
                    continue;
                }
                int32_t isum[8], s = 0;
                kern_block_isums(q, bx[i].qs, isum);
                for (int k = 0; k < 8; k++) s += isum[k];
                acc[r][0] = fmaf((float)s, d, acc[r][0]);
            }
        }
        for (int r = 0; r < KERN_PACK_ROWS; r++)
            out[(size_t)t * ldo + r] = lanes8 ? kern_sum_lanes8(acc[r]) : acc[r][0];
    }
}

/* ---------------------------------------------------------------------------------------------
 * The packed-type table
 * ------------------------------------------------------------------------------------------- */

typedef struct packed_row {
    ward_type type;
    int64_t block_elems;      /* columns of one block column: 32, or 256 for the K-quants */
    size_t group_block_bytes; /* one block column of a group */
    size_t act_block_bytes;   /* one activation block */
    int32_t offset;           /* the weights' stored offset (activation corrections) */
    /* activation row x (n floats) to the kernels' format, for weights of type t */
    void (*act)(ward_type t, ward_isa isa, int32_t o, const float *x, void *dst, int64_t n);
    void (*pack)(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,
                 void *dst);
    kern_packed_gemm_fn gemm[WARD_ISA_COUNT];
    /* the plain C kernel summing in the same order as gemm[level], where that is not gemm[REF] */
    kern_packed_gemm_fn twin[WARD_ISA_COUNT];
} packed_row;

static const packed_row packed_rows[] = {
    {WARD_TYPE_Q4_0, 32, sizeof(block_q4_0x16), sizeof(block_q8_0s), 8, act_q8_0s, pack_q4_0x16,
     KERN_ISAS_AVX512(packed_gemm_q4_0x16), {NULL}},
    {WARD_TYPE_Q8_0, 32, sizeof(block_q8_0x16), sizeof(block_q8_0s), 128, act_q8_0s,
     pack_q8_0x16, KERN_ISAS_AVX512(packed_gemm_q8_0x16), {NULL}},
    {WARD_TYPE_Q4_K, QK_K, sizeof(block_q4_Kx16), sizeof(block_q8_Ks), 0, act_q8_Ks,
     pack_q4_Kx16,
     KERN_ISAS_AVX512(packed_gemm_q4_Kx16),
     {NULL}},
    {WARD_TYPE_Q6_K, QK_K, sizeof(block_q6_Kx16), sizeof(block_q8_Ks), 32, act_q8_Ks,
     pack_q6_Kx16,
     KERN_ISAS_AVX512(packed_gemm_q6_Kx16),
     {NULL}},
    {WARD_TYPE_F16, 8, sizeof(block_f16x16), 8 * sizeof(float), 0, act_float16, pack_f16x16,
     KERN_ISAS_AVX512(packed_gemm_f16x16), {NULL}},
    {WARD_TYPE_BF16, 8, sizeof(block_bf16x16), 8 * (sizeof(float) + sizeof(uint16_t)), 0,
     act_float16, pack_bf16x16,
     {[WARD_ISA_REF] = packed_gemm_bf16x16_ref, [WARD_ISA_AVX2] = packed_gemm_bf16x16_avx2,
      [WARD_ISA_AVX512] = packed_gemm_bf16x16_avx512,
      [WARD_ISA_AVX512BF16] = packed_gemm_bf16x16_avx512bf16},
     {[WARD_ISA_AVX512BF16] = packed_gemm_bf16x16_pairs_ref}},
};

static const packed_row *find(ward_type t) {
    for (size_t i = 0; i < sizeof packed_rows / sizeof packed_rows[0]; i++)
        if (packed_rows[i].type == t) return &packed_rows[i];
    return NULL;
}

static int64_t n_groups(int64_t n_rows) { return (n_rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS; }

/* Packed when isa has a SIMD kernel for the type (or is the reference level, for tests): a
 * machine whose level only has the plain C one keeps the file's layout and its vec_dot. */
/* The highest level at most isa with a kernel (0, the plain C one, always has one). */
static int gemm_level(const packed_row *p, ward_isa isa) {
    int i = isa < WARD_ISA_COUNT ? (int)isa : WARD_ISA_COUNT - 1;
    while (i > 0 && !p->gemm[i]) i--;
    return i;
}

bool kern_packable(ward_type t, ward_isa isa) {
    const packed_row *p = find(t);
    return p && (gemm_level(p, isa) > 0 || isa == WARD_ISA_REF);
}

int64_t kern_packed_block_cols(ward_type t) {
    const packed_row *p = find(t);
    assert(p);
    return p->block_elems;
}

size_t kern_packed_group_bytes(ward_type t, int64_t n_cols) {
    const packed_row *p = find(t);
    assert(p && n_cols % p->block_elems == 0);
    return (size_t)(n_cols / p->block_elems) * p->group_block_bytes;
}

size_t kern_packed_bytes(ward_type t, int64_t n_rows, int64_t n_cols) {
    return (size_t)n_groups(n_rows) * kern_packed_group_bytes(t, n_cols);
}

void kern_pack(ward_type t, const void *w, int64_t n_rows, int64_t n_cols, int64_t g0,
               int64_t g1, void *dst) {
    const packed_row *p = find(t);
    assert(p && n_cols % p->block_elems == 0 && 0 <= g0 && g0 <= g1 && g1 <= n_groups(n_rows));
    p->pack(w, n_rows, n_cols, g0, g1, dst);
}

size_t kern_packed_act_row_bytes(ward_type t, int64_t n_cols) {
    const packed_row *p = find(t);
    assert(p && n_cols % p->block_elems == 0);
    return (size_t)(n_cols / p->block_elems) * p->act_block_bytes;
}

void kern_packed_act(ward_type t, ward_isa isa, const float *x, void *dst, int64_t n_cols) {
    const packed_row *p = find(t);
    assert(p);
    p->act(t, isa, p->offset, x, dst, n_cols);
}

kern_packed_gemm_fn kern_packed_gemm_twin(ward_type t, ward_isa isa) {
    const packed_row *p = find(t);
    if (!p) return NULL;
    const int i = gemm_level(p, isa);
    return p->twin[i] ? p->twin[i] : p->gemm[WARD_ISA_REF];
}

kern_packed_gemm_fn kern_packed_gemm(ward_type t, ward_isa isa) {
    const packed_row *p = find(t);
    return p ? p->gemm[gemm_level(p, isa)] : NULL;
}
