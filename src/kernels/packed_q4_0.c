/* packed_q4_0.c: Q4_0 weights in 16-row groups (packed.h): packing, the activation format, the
 * plain C kernel every SIMD variant must equal bit for bit, and the packed-type table.
 * ISA variants: packed_q4_0_avx2.c, packed_q4_0_avx512.c.
 */
#include "kernels/packed.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels_impl.h"

#define G KERN_PACK_ROWS

static int64_t n_groups(int64_t n_rows) { return (n_rows + G - 1) / G; }

static void pack_q4_0x16(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,
                         void *dst) {
    const int64_t nb = n_cols / QK4_0;
    const block_q4_0 *src = w;
    block_q4_0x16 *out = (block_q4_0x16 *)dst + g0 * nb;
    for (int64_t g = g0; g < g1; g++)
        for (int64_t i = 0; i < nb; i++, out++)
            for (int r = 0; r < G; r++) {
                const int64_t row = g * G + r;
                if (row >= n_rows) { /* padding: a zero scale makes the row's dots 0 */
                    out->d[r] = 0;
                    for (int p = 0; p < 4; p++) memset(out->qs[p][r], 0x88, 4);
                    continue;
                }
                const block_q4_0 *b = &src[row * nb + i];
                out->d[r] = b->d;
                for (int p = 0; p < 4; p++) memcpy(out->qs[p][r], &b->qs[4 * p], 4);
            }
}

/* Activations: the Q8_0 bytes of the weight type's activation quantizer (the reference rule for
 * Q4_0, as the reference engine's repacked path uses), with d widened and the sum of qs. */
static void act_q8_0s(kern_from_float_fn quantize, const float *x, void *dst, int64_t n_cols) {
    block_q8_0s *out = dst;
    for (int64_t i = 0; i < n_cols / QK8_0; i++) {
        block_q8_0 q;
        quantize(x + i * QK8_0, &q, QK8_0);
        out[i].d = fp16_to_fp32(q.d);
        out[i].sum = 0;
        for (int j = 0; j < QK8_0; j++) out[i].sum += q.qs[j];
        memcpy(out[i].qs, q.qs, QK8_0);
    }
}

void packed_gemm_q4_0x16_ref(int64_t n_cols, float *restrict out, size_t ldo,
                             const void *restrict w, const void *restrict x, size_t xs,
                             int n_tok) {
    assert(n_cols % QK4_0 == 0 && n_tok >= 1 && n_tok <= KERN_PACK_MAX_TOK);
    const block_q4_0x16 *bw = w;
    for (int t = 0; t < n_tok; t++) {
        const block_q8_0s *bx = (const block_q8_0s *)((const uint8_t *)x + (size_t)t * xs);
        float acc[G] = {0};
        for (int64_t i = 0; i < n_cols / QK4_0; i++)
            for (int r = 0; r < G; r++) {
                int32_t isum = 0;
                for (int p = 0; p < 4; p++)
                    for (int k = 0; k < 4; k++) {
                        const uint8_t v = bw[i].qs[p][r][k];
                        isum += ((v & 15) - 8) * bx[i].qs[4 * p + k] +
                                ((v >> 4) - 8) * bx[i].qs[16 + 4 * p + k];
                    }
                const float d = fp16_to_fp32(bw[i].d[r]) * bx[i].d;
                acc[r] = fmaf((float)isum, d, acc[r]);
            }
        for (int r = 0; r < G; r++) out[(size_t)t * ldo + r] = acc[r];
    }
}

/* ---------------------------------------------------------------------------------------------
 * The packed-type table
 * ------------------------------------------------------------------------------------------- */

typedef struct packed_row {
    ward_type type;
    size_t group_block_bytes; /* one block column of a group */
    size_t act_block_bytes;
    void (*pack)(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,
                 void *dst);
    kern_packed_gemm_fn gemm[WARD_ISA_COUNT];
} packed_row;

static const packed_row packed_rows[] = {
    {WARD_TYPE_Q4_0, sizeof(block_q4_0x16), sizeof(block_q8_0s), pack_q4_0x16,
     KERN_ISAS_AVX512(packed_gemm_q4_0x16)},
};

static const packed_row *find(ward_type t) {
    for (size_t i = 0; i < sizeof packed_rows / sizeof packed_rows[0]; i++)
        if (packed_rows[i].type == t) return &packed_rows[i];
    return NULL;
}

bool kern_packable(ward_type t) { return find(t) != NULL; }

size_t kern_packed_group_bytes(ward_type t, int64_t n_cols) {
    const packed_row *p = find(t);
    assert(p && n_cols % 32 == 0);
    return (size_t)(n_cols / 32) * p->group_block_bytes;
}

size_t kern_packed_bytes(ward_type t, int64_t n_rows, int64_t n_cols) {
    return (size_t)n_groups(n_rows) * kern_packed_group_bytes(t, n_cols);
}

void kern_pack(ward_type t, const void *w, int64_t n_rows, int64_t n_cols, int64_t g0,
               int64_t g1, void *dst) {
    const packed_row *p = find(t);
    assert(p && n_cols % 32 == 0 && 0 <= g0 && g0 <= g1 && g1 <= n_groups(n_rows));
    p->pack(w, n_rows, n_cols, g0, g1, dst);
}

size_t kern_packed_act_row_bytes(ward_type t, int64_t n_cols) {
    const packed_row *p = find(t);
    assert(p && n_cols % 32 == 0);
    return (size_t)(n_cols / 32) * p->act_block_bytes;
}

void kern_packed_act(ward_type t, ward_isa isa, const float *x, void *dst, int64_t n_cols) {
    assert(find(t));
    act_q8_0s(kern_act_from_float(t, isa), x, dst, n_cols);
}

kern_packed_gemm_fn kern_packed_gemm(ward_type t, ward_isa isa) {
    const packed_row *p = find(t);
    if (!p) return NULL;
    for (int i = isa < WARD_ISA_COUNT ? (int)isa : WARD_ISA_COUNT - 1; i >= 0; i--)
        if (p->gemm[i]) return p->gemm[i];
    return NULL;
}
