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

void blocks_add_bias_rows(float *y, const model_tensor *bias, int32_t n, int64_t dim) {
    if (!bias->data) return;
    for (int32_t i = 0; i < n; i++) ops_add(y + (size_t)i * dim, bias->data, dim);
}

void blocks_kv_store(model_exec *ex, const model_batch *b, int32_t layer) {
    const model_kv *kv = &ex->kv;
    kern_from_float_fn to_kv = kern_from_float(kv->type, ex->isa);
    for (int32_t i = 0; i < b->n; i++) {
        const int32_t slot = kv->n_prefix + b->pos[i];
        to_kv(ex->s.k + (size_t)i * kv->kv_dim, model_kv_at(kv, kv->k, b->seq[i], layer, slot),
              kv->kv_dim);
        to_kv(ex->s.v + (size_t)i * kv->kv_dim, model_kv_at(kv, kv->v, b->seq[i], layer, slot),
              kv->kv_dim);
    }
}

void blocks_attend_head(const model_exec *ex, int32_t head_dim, const float *q_in, int32_t seq,
                        int32_t layer, int32_t kv_off, int32_t n_keys, float slope, float *work,
                        float *out) {
    const model_kv *kv = &ex->kv;
    const int32_t hd = head_dim;
    /* q in the cache's type (F16 as the reference engine rounds it; Q8_0 for a Q8_0 cache), so
     * the scores are that type's dot: q and k as F16 multiply exactly in float, so the F16 dot
     * equals the float dot of the widened rows */
    kern_from_float_fn to_kv = kern_from_float(kv->type, ex->isa);
    kern_vec_dot_fn dot = kern_vec_dot(kv->type, ex->isa);
    kern_tile_fn tile = kern_tile(kv->type, ex->isa, 1); /* 4 keys a call, each summed as dot does */
    const size_t row_bytes = kern_row_bytes(kv->type, kv->kv_dim);
    const size_t head_off = kern_row_bytes(kv->type, kv_off); /* kv_off: a multiple of the block */
    const char *k0 = (const char *)model_kv_at(kv, kv->k, seq, layer, 0) + head_off;
    const char *v0 = (const char *)model_kv_at(kv, kv->v, seq, layer, 0) + head_off;

    float *scores = work, *lanes = work + kv->n_slots, *vrow = lanes + 8 * (size_t)hd;
    void *qc = out; /* out is free until the end: borrow it for q in the cache's type */
    to_kv(q_in, qc, hd);

    int32_t t = 0;
    for (; tile && t + 4 <= n_keys; t += 4)
        tile(hd, &scores[t], 1, k0 + (size_t)t * row_bytes, row_bytes, qc, 0);
    for (; t < n_keys; t++) dot(hd, &scores[t], k0 + (size_t)t * row_bytes, qc);
    const float scale = 1.0f / sqrtf((float)hd);
    for (t = 0; t < n_keys; t++) {
        scores[t] *= scale;
        /* ALiBi: a penalty growing with the distance to the query (fused, as the reference) */
        if (slope != 0.0f) scores[t] = fmaf(slope, -(float)(n_keys - 1 - t), scores[t]);
    }
    ops_softmax(ex->isa, scores, n_keys);
    ops_round_f16(ex->isa, scores, n_keys); /* the reference weighs the values in F16 */

    memset(lanes, 0, 8 * (size_t)hd * sizeof *lanes);
    if (kv->type == WARD_TYPE_F16) {
        ops_weighted_rows_f16(ex->isa, lanes, scores, (const uint16_t *)v0, row_bytes / 2, n_keys,
                              hd);
    } else {
        kern_to_float_fn from_kv = kern_to_float(kv->type, ex->isa);
        for (t = 0; t < n_keys; t++) {
            from_kv(v0 + (size_t)t * row_bytes, vrow, hd);
            ops_axpy(lanes + (size_t)(t % 8) * hd, scores[t], vrow, hd);
        }
    }
    ops_reduce_lanes8(out, lanes, hd);
}
