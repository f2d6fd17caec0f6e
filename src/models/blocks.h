/* blocks.h: forward-pass building blocks shared by architecture families whose layers differ
 * but whose token embedding, KV cache writes and per-head attention are the same (llama.c,
 * glm1.c).
 *
 * Each block reads and writes the scratch and KV cache of a model_exec (model.h) and never
 * allocates. Attention numerics are the reference engine's: F16 cache, q and probabilities
 * rounded to F16, fixed 8-lane summation orders (see blocks_attend_head()).
 */
#ifndef WARD_MODELS_BLOCKS_H
#define WARD_MODELS_BLOCKS_H

#include "models/model.h"

/* Rows of token_embd for every token of the batch into the residual stream ex->s.x. */
void blocks_embed_tokens(const ward_model *m, model_exec *ex, const model_batch *b);

/* step(ctx, i) for each token i < n of a batch: the steps between the matrix products work
 * token by token, so a prompt's tokens (8 or more) are shared among ex's threads (each token's
 * result is what it would be alone); fewer run on the calling thread. */
void blocks_for_each_token(model_exec *ex, int32_t n, void (*step)(const void *ctx, int32_t i),
                           const void *ctx);

/* y (n, dim) += bias (dim) on every row; nothing when the bias is absent (data == NULL). */
void blocks_add_bias_rows(float *y, const model_tensor *bias, int32_t n, int64_t dim);

/* Write the batch's token i's k and v rows (ex->s.k, ex->s.v) into its sequence at its
 * position's slot (after the p-tuning prefix), in the cache's type. */
void blocks_kv_store_token(model_exec *ex, const model_batch *b, int32_t layer, int32_t i);

/* Keys per tile of the online attention. */
#define BLOCKS_ATT_TILE 64

/* Floats of one thread's blocks_attend() work area for caches of n_slots rows, online attention
 * from online_from keys, heads of head_dim and up to n_q query heads per call. */
size_t blocks_att_work_floats(int32_t n_slots, int32_t online_from, int32_t head_dim,
                              int32_t n_q);

/* Attention of n_q query heads that share one KV head: for each h < n_q, out[h] (head_dim) =
 * softmax(q[h] · K[0..n_keys) / sqrt(head_dim) + alibi) · V[0..n_keys) over cache slots
 * [0, n_keys) of (seq, layer) (the prefix first, then positions), at column kv_off of each
 * row. The ALiBi term is slopes[h] · -(n_keys - 1 - t) (none when slopes is NULL).
 *
 * Below ex->att_online_from keys, the reference engine's exact two-pass form: q and the
 * probabilities are rounded to F16 like the cached K and V, so every product is exact in float
 * and only the summation rounds, in the float dots' fixed 8-lane order (the same on every CPU).
 * From att_online_from keys, one pass with online softmax (no score row of the context's
 * length), which differs from it by rounding: the probabilities stay in float and are
 * normalised at the end.
 * work is one thread's blocks_att_work_floats(); out must not alias q. */
void blocks_attend(const model_exec *ex, int32_t head_dim, int32_t n_q, const float *q,
                   int32_t seq, int32_t layer, int32_t kv_off, int32_t n_keys,
                   const float *slopes, float *work, float *out);

#endif
