/* packed_kquants.c: Q4_K and Q6_K weights in 16-row groups (layouts in kernels_impl.h):
 * packing, the Q8_K activation format of their kernels, and the plain C kernels. The order is
 * the unpacked K-quant vec_dot's (kquants.h), so packing changes no result: the reference here
 * is kq_dot_block itself, fed one row of the group through decoders of the packed layout.
 * ISA variants: packed_kquants_avx512.c.
 */
#include <assert.h>
#include <string.h>

#include "kernels/kquants.h"
#include "kernels/packed.h"

#define G KERN_PACK_ROWS

/* --- Q4_K ----------------------------------------------------------------------------------- */

void pack_q4_Kx16(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,
                  void *dst) {
    const int64_t nb = n_cols / QK_K;
    const block_q4_K *src = w;
    block_q4_Kx16 *out = (block_q4_Kx16 *)dst + g0 * nb;
    static const block_q4_K zero; /* padding rows: zero scales, so their dots are 0 */
    for (int64_t g = g0; g < g1; g++)
        for (int64_t i = 0; i < nb; i++, out++)
            for (int r = 0; r < G; r++) {
                const int64_t row = g * G + r;
                const block_q4_K *b = row < n_rows ? &src[row * nb + i] : &zero;
                out->d[r] = b->d, out->dmin[r] = b->dmin;
                for (int j = 0; j < 8; j++) {
                    int sc, mn;
                    kq_scale_min_k4(b->scales, j, &sc, &mn);
                    out->sc[j][r] = (uint8_t)sc, out->mn[j][r] = (uint8_t)mn;
                }
                for (int h = 0; h < 4; h++)
                    for (int m = 0; m < 8; m++) memcpy(out->qs[h][m][r], &b->qs[32 * h + 4 * m], 4);
            }
}

/* One row of a packed block column, as the kquants.h decoders take it. */
typedef struct packed_row_ref {
    const void *blk;
    int r;
} packed_row_ref;

static void scales_q4_Kx16(const void *p, kq_scales *s) {
    const packed_row_ref *pr = p;
    const block_q4_Kx16 *b = pr->blk;
    for (int j = 0; j < 8; j++) {
        s->sc[2 * j] = s->sc[2 * j + 1] = b->sc[j][pr->r];
        s->mn[2 * j] = s->mn[2 * j + 1] = b->mn[j][pr->r];
    }
    s->d = fp16_to_fp32(b->d[pr->r]);
    s->dmin = fp16_to_fp32(b->dmin[pr->r]);
}

static void quants_q4_Kx16(const void *p, int8_t q[QK_K]) {
    const packed_row_ref *pr = p;
    const block_q4_Kx16 *b = pr->blk;
    block_q4_K row;
    for (int h = 0; h < 4; h++)
        for (int m = 0; m < 8; m++) memcpy(&row.qs[32 * h + 4 * m], b->qs[h][m][pr->r], 4);
    kq_quants_q4_K(&row, q);
}

/* --- Q6_K ----------------------------------------------------------------------------------- */

void pack_q6_Kx16(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,
                  void *dst) {
    const int64_t nb = n_cols / QK_K;
    const block_q6_K *src = w;
    block_q6_Kx16 *out = (block_q6_Kx16 *)dst + g0 * nb;
    static const block_q6_K zero;
    for (int64_t g = g0; g < g1; g++)
        for (int64_t i = 0; i < nb; i++, out++)
            for (int r = 0; r < G; r++) {
                const int64_t row = g * G + r;
                const block_q6_K *b = row < n_rows ? &src[row * nb + i] : &zero;
                out->d[r] = b->d;
                for (int k = 0; k < 16; k++) out->sc[k][r] = b->scales[k];
                for (int h = 0; h < 2; h++)
                    for (int m = 0; m < 8; m++) {
                        for (int u = 0; u < 2; u++)
                            memcpy(out->q[h][m].ql[u][r], &b->ql[64 * h + 32 * u + 4 * m], 4);
                        memcpy(out->q[h][m].qh[r], &b->qh[32 * h + 4 * m], 4);
                    }
            }
}

static void scales_q6_Kx16(const void *p, kq_scales *s) {
    const packed_row_ref *pr = p;
    const block_q6_Kx16 *b = pr->blk;
    for (int k = 0; k < 16; k++) s->sc[k] = b->sc[k][pr->r], s->mn[k] = 0;
    s->d = fp16_to_fp32(b->d[pr->r]);
    s->dmin = 0.0f;
}

static void quants_q6_Kx16(const void *p, int8_t q[QK_K]) {
    const packed_row_ref *pr = p;
    const block_q6_Kx16 *b = pr->blk;
    block_q6_K row;
    for (int h = 0; h < 2; h++)
        for (int m = 0; m < 8; m++) {
            for (int u = 0; u < 2; u++)
                memcpy(&row.ql[64 * h + 32 * u + 4 * m], b->q[h][m].ql[u][pr->r], 4);
            memcpy(&row.qh[32 * h + 4 * m], b->q[h][m].qh[pr->r], 4);
        }
    kq_quants_q6_K(&row, q);
}

/* --- activations and the reference loop ------------------------------------------------------ */

void act_q8_Ks(ward_type t, ward_isa isa, int32_t o, const float *x, void *dst, int64_t n_cols) {
    const kern_from_float_fn quantize = kern_act_from_float(t, isa);
    block_q8_Ks *out = dst;
    for (int64_t i = 0; i < n_cols / QK_K; i++) {
        block_q8_K q;
        quantize(x + i * QK_K, &q, QK_K);
        out[i].d = q.d;
        memcpy(out[i].bsums, q.bsums, sizeof q.bsums);
        memcpy(out[i].qs, q.qs, QK_K);
        for (int c = 0; c < 64; c++)
            out[i].cbias[c] = -o * (q.qs[4 * c] + q.qs[4 * c + 1] + q.qs[4 * c + 2] + q.qs[4 * c + 3]);
    }
}

static void packed_k_ref(int64_t n_cols, float *restrict out, size_t ldo, const void *restrict w,
                         size_t block_bytes, kq_scales_fn scales, kq_quants_fn quants,
                         kq_mins mode, const void *restrict x, size_t xs, int n_tok) {
    assert(n_cols % QK_K == 0 && n_tok >= 1 && n_tok <= KERN_PACK_MAX_TOK);
    for (int t = 0; t < n_tok; t++) {
        const block_q8_Ks *bx = (const block_q8_Ks *)((const uint8_t *)x + (size_t)t * xs);
        for (int r = 0; r < G; r++) {
            float lanes[8] = {0};
            kq_side side = {{0}, 0};
            for (int64_t i = 0; i < n_cols / QK_K; i++) {
                block_q8_K xk = {.d = bx[i].d};
                memcpy(xk.qs, bx[i].qs, QK_K);
                memcpy(xk.bsums, bx[i].bsums, sizeof xk.bsums);
                const packed_row_ref pr = {(const uint8_t *)w + (size_t)i * block_bytes, r};
                kq_dot_block((const uint8_t *)&pr, &xk, scales, quants, mode, lanes, &side);
            }
            out[(size_t)t * ldo + r] = kq_finish(kern_sum_lanes8(lanes), &side, mode);
        }
    }
}

void packed_gemm_q4_Kx16_ref(int64_t n_cols, float *restrict out, size_t ldo,
                             const void *restrict w, const void *restrict x, size_t xs,
                             int n_tok) {
    packed_k_ref(n_cols, out, ldo, w, sizeof(block_q4_Kx16), scales_q4_Kx16, quants_q4_Kx16,
                 KQ_MINS_LANES4, x, xs, n_tok);
}

void packed_gemm_q6_Kx16_ref(int64_t n_cols, float *restrict out, size_t ldo,
                             const void *restrict w, const void *restrict x, size_t xs,
                             int n_tok) {
    packed_k_ref(n_cols, out, ldo, w, sizeof(block_q6_Kx16), scales_q6_Kx16, quants_q6_Kx16,
                 KQ_MINS_NONE, x, xs, n_tok);
}
