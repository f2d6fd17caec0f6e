/* blocks.c: forward-pass building blocks shared by several architecture families (see
 * blocks.h): token embedding, bias rows, KV cache writes, one head's attention.
 */
#include "models/blocks.h"

#include <math.h>
#include <string.h>

#include "kernels/fp16.h"
#include "kernels/ops.h"
#include "kernels/types.h"

void blocks_embed_tokens(const ward_model *m, model_exec *ex, const model_batch *b) {
    kern_to_float_fn to_float = kern_to_float(m->tok_embd.type, ex->isa);
    const size_t row_bytes = kern_row_bytes(m->tok_embd.type, m->hp.n_embd);
    for (int32_t i = 0; i < b->n; i++)
        to_float((const char *)m->tok_embd.data + (size_t)b->tokens[i] * row_bytes,
                 ex->s.x + (size_t)i * m->hp.n_embd, m->hp.n_embd);
}

typedef struct token_range_job {
    void (*step)(const void *ctx, int32_t i);
    const void *ctx;
    int32_t n;
} token_range_job;

static void token_range(void *arg, int ith, int nth) {
    const token_range_job *j = arg;
    for (int32_t i = (int32_t)((int64_t)j->n * ith / nth); i < (int64_t)j->n * (ith + 1) / nth; i++)
        j->step(j->ctx, i);
}

void blocks_for_each_token(model_exec *ex, int32_t n, void (*step)(const void *ctx, int32_t i),
                           const void *ctx) {
    token_range_job j = {step, ctx, n};
    if (n >= 8)
        tp_run(ex->pool, token_range, &j);
    else
        token_range(&j, 0, 1);
}

void blocks_add_bias_rows(float *y, const model_tensor *bias, int32_t n, int64_t dim) {
    if (!bias->data) return;
    for (int32_t i = 0; i < n; i++) ops_add(y + (size_t)i * dim, bias->data, dim);
}

void blocks_kv_store_token(model_exec *ex, const model_batch *b, int32_t layer, int32_t i) {
    const model_kv *kv = &ex->kv;
    kern_from_float_fn to_kv = kern_from_float(kv->type, ex->isa);
    const int32_t slot = kv->n_prefix + b->pos[i];
    to_kv(ex->s.k + (size_t)i * kv->kv_dim, model_kv_at(kv, kv->k, b->seq[i], layer, slot),
          kv->kv_dim);
    to_kv(ex->s.v + (size_t)i * kv->kv_dim, model_kv_at(kv, kv->v, b->seq[i], layer, slot),
          kv->kv_dim);
}

/* Weighted sum of value rows [0, n) from v0 (rows row_bytes apart): lanes[t % 8] += p[t] * row t,
 * each product rounded then added (ops_axpy's order); vrow widens a Q8_0 row. */
static void weigh_values(const model_exec *ex, float *lanes, const float *p, const char *v0,
                         size_t row_bytes, int32_t n, int32_t hd, float *vrow) {
    const model_kv *kv = &ex->kv;
    if (kv->type == WARD_TYPE_F16) {
        ops_weighted_rows_f16(ex->isa, lanes, p, (const uint16_t *)v0, row_bytes / 2, n, hd);
        return;
    }
    kern_to_float_fn from_kv = kern_to_float(kv->type, ex->isa);
    for (int32_t t = 0; t < n; t++) {
        from_kv(v0 + (size_t)t * row_bytes, vrow, hd);
        ops_axpy(lanes + (size_t)(t % 8) * hd, p[t], vrow, hd);
    }
}

/* scores[t] = q · K[t] for t < n (q in the cache's type), scaled, with the ALiBi term for keys
 * first + t of n_keys. */
static void score_keys(const model_exec *ex, int32_t hd, const void *qc, const char *k0,
                       size_t row_bytes, int32_t first, int32_t n, int32_t n_keys, float slope,
                       float *scores) {
    const model_kv *kv = &ex->kv;
    kern_vec_dot_fn dot = kern_vec_dot(kv->type, ex->isa);
    kern_tile_fn tile = kern_tile(kv->type, ex->isa, 1); /* 4 keys a call, each summed as dot does */
    const char *k = k0 + (size_t)first * row_bytes;
    int32_t t = 0;
    for (; tile && t + 4 <= n; t += 4)
        tile(hd, &scores[t], 1, k + (size_t)t * row_bytes, row_bytes, qc, 0);
    for (; t < n; t++) dot(hd, &scores[t], k + (size_t)t * row_bytes, qc);
    const float scale = 1.0f / sqrtf((float)hd);
    for (t = 0; t < n; t++) {
        scores[t] *= scale;
        /* ALiBi: a penalty growing with the distance to the query (fused, as the reference) */
        if (slope != 0.0f) scores[t] = fmaf(slope, -(float)(n_keys - 1 - (first + t)), scores[t]);
    }
}

/* The exact two-pass form, the reference engine's: the whole score row, softmax, probabilities
 * rounded to F16 (it weighs the values in F16), then the weighted sum. */
static void attend_exact(const model_exec *ex, int32_t hd, const float *q, const char *k0,
                         const char *v0, size_t row_bytes, int32_t n_keys, float slope,
                         float *work, float *out) {
    float *vrow = work, *lanes = vrow + hd, *scores = lanes + 8 * (size_t)hd;
    /* q in the cache's type (F16 as the reference engine rounds it; Q8_0 for a Q8_0 cache), so
     * the scores are that type's dot: q and k as F16 multiply exactly in float */
    void *qc = out; /* out is free until the end: borrow it for q in the cache's type */
    kern_from_float(ex->kv.type, ex->isa)(q, qc, hd);
    score_keys(ex, hd, qc, k0, row_bytes, 0, n_keys, n_keys, slope, scores);
    ops_softmax(ex->isa, scores, n_keys);
    ops_round_f16(ex->isa, scores, n_keys);
    memset(lanes, 0, 8 * (size_t)hd * sizeof *lanes);
    weigh_values(ex, lanes, scores, v0, row_bytes, n_keys, hd, vrow);
    ops_reduce_lanes8(out, lanes, hd);
}

/* Online softmax (one pass over the keys, tile by tile): per head the running maximum m, the
 * sum l of exp(score - m) and the value lanes weighted by exp(score - m); a tile raising m
 * rescales l and the lanes by exp(m_old - m_new). The group's heads take each tile in turn, so
 * its keys and values are read from memory once for all of them. */
static void attend_online(const model_exec *ex, int32_t hd, int32_t n_q, const float *q,
                          const char *k0, const char *v0, size_t row_bytes, int32_t n_keys,
                          const float *slopes, float *work, float *out) {
    float *vrow = work, *scores = vrow + hd, *heads = scores + BLOCKS_ATT_TILE;
    const size_t head_floats = 9 * (size_t)hd + 2; /* lanes, q in the cache's type, m and l */
    for (int32_t h = 0; h < n_q; h++) {
        float *hw = heads + h * head_floats;
        memset(hw, 0, 8 * (size_t)hd * sizeof *hw);
        kern_from_float(ex->kv.type, ex->isa)(q + (size_t)h * hd, hw + 8 * hd, hd);
        hw[9 * hd] = -INFINITY, hw[9 * hd + 1] = 0.0f;
    }
    for (int32_t t0 = 0; t0 < n_keys; t0 += BLOCKS_ATT_TILE) {
        const int32_t n = n_keys - t0 < BLOCKS_ATT_TILE ? n_keys - t0 : BLOCKS_ATT_TILE;
        for (int32_t h = 0; h < n_q; h++) {
            float *lanes = heads + h * head_floats, *m = lanes + 9 * hd, *l = m + 1;
            score_keys(ex, hd, lanes + 8 * hd, k0, row_bytes, t0, n, n_keys,
                       slopes ? slopes[h] : 0.0f, scores);
            const float tile_max = ops_max(scores, n);
            if (tile_max > *m) {
                const float c = expf(*m - tile_max); /* 0 for the first tile */
                *l *= c;
                ops_scale(ex->isa, lanes, 8 * (int64_t)hd, c);
                *m = tile_max;
            }
            *l += (float)ops_exp_shifted(ex->isa, scores, n, *m);
            weigh_values(ex, lanes, scores, v0 + (size_t)t0 * row_bytes, row_bytes, n, hd, vrow);
        }
    }
    for (int32_t h = 0; h < n_q; h++) {
        const float *lanes = heads + h * head_floats;
        ops_reduce_lanes8(out + (size_t)h * hd, lanes, hd);
        ops_scale(ex->isa, out + (size_t)h * hd, hd, 1.0f / lanes[9 * hd + 1]);
    }
}

size_t blocks_att_work_floats(int32_t n_slots, int32_t online_from, int32_t head_dim,
                              int32_t n_q) {
    const size_t exact_keys = (size_t)(n_slots < online_from - 1 ? n_slots : online_from - 1);
    const size_t row = exact_keys > BLOCKS_ATT_TILE ? exact_keys : BLOCKS_ATT_TILE;
    return row + (size_t)head_dim + (size_t)n_q * (9 * (size_t)head_dim + 2);
}

void blocks_attend(const model_exec *ex, int32_t head_dim, int32_t n_q, const float *q,
                   int32_t seq, int32_t layer, int32_t kv_off, int32_t n_keys,
                   const float *slopes, float *work, float *out) {
    const model_kv *kv = &ex->kv;
    const size_t row_bytes = kern_row_bytes(kv->type, kv->kv_dim);
    const size_t head_off = kern_row_bytes(kv->type, kv_off); /* kv_off: a multiple of the block */
    const char *k0 = (const char *)model_kv_at(kv, kv->k, seq, layer, 0) + head_off;
    const char *v0 = (const char *)model_kv_at(kv, kv->v, seq, layer, 0) + head_off;
    if (n_keys >= ex->att_online_from) {
        attend_online(ex, head_dim, n_q, q, k0, v0, row_bytes, n_keys, slopes, work, out);
        return;
    }
    for (int32_t h = 0; h < n_q; h++)
        attend_exact(ex, head_dim, q + (size_t)h * head_dim, k0, v0, row_bytes, n_keys,
                     slopes ? slopes[h] : 0.0f, work, out + (size_t)h * head_dim);
}
