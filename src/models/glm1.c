/* glm1.c: the ChatGLM-6B (v1) architecture, GGUF general.architecture "chatglm1".
 *
 * A GLM block is pre-LayerNorm (weight and bias) with a twist in the residuals: the normed input,
 * scaled by alpha = sqrt(2 · 28) (the original model's depth, read from
 * chatglm1.residual_alpha), replaces the raw input: a = LN1(x); h = a·alpha + Attn(a);
 * m = LN2(h); out = m·alpha + MLP(m). The MLP is GELU (tanh) with biases; the final norm is a
 * LayerNorm. Keys and tensor names are in docs/gguf-keys-chatglm1.md.
 *
 * Positions depend on the prompt length n of the sequence (the size of its first batch, which
 * is taken as [context..., gMASK, BOS] with gMASK at g = n - 2): position p has position id
 * min(p, g) and block position id max(p - g, 0). Rotary is 2-D: the first half of each head
 * rotates by the position id, the second half by the block id, each half in (i, i + half/2)
 * pairs. The prompt's first n - 1 tokens attend to each other bidirectionally; the last prompt
 * token, and every later one, sees everything up to itself. So token p attends to cache
 * positions [0, max(p + 1, n - 1)).
 *
 * The fused QKV projection keeps the Hugging Face row order, interleaved per head: rows
 * [3hd·h, 3hd·(h+1)) are q, k, v (hd rows each) of head h. KV cache, attention numerics and the
 * per-(token, head) attention jobs are llama.c's (blocks.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "kernels/ops.h"
#include "models/blocks.h"
#include "models/model.h"

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */

/* blk.<l>.<suffix>.weight (a matrix of n_rows x n_cols, or a vector when n_rows == 1) and,
 * when bias is given, blk.<l>.<suffix>.bias (n_rows). */
static ward_status get_layer_pair(const ward_model *m, int32_t l, const char *suffix,
                                  int64_t n_cols, int64_t n_rows, model_tensor *w,
                                  model_tensor *bias, ward_error *err) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s.weight", (int)l, suffix);
    ward_status st = model_get_tensor(m, name, n_cols, n_rows, true, w, err);
    if (st) return st;
    snprintf(name, sizeof name, "blk.%d.%s.bias", (int)l, suffix);
    return model_get_tensor(m, name, n_rows == 1 ? n_cols : n_rows, 1, true, bias, err);
}

/* A positive finite float under the architecture's prefix; absent: *out is kept, or an error
 * when required. */
static ward_status get_positive_f32(const ward_model *m, const char *suffix, bool required,
                                    float *out, ward_error *err) {
    char key[96];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    ward_status st = gguf_get_f32(m->gguf, key, required, out, err);
    if (st) return st;
    if (!isfinite(*out) || *out <= 0.0f)
        return WARD_FAIL(err, WARD_EFORMAT, "%s = %g must be finite and positive", key,
                         (double)*out);
    return WARD_OK;
}

/* Hyper-parameters of v1 beyond the common ones: LayerNorm epsilon, residual alpha (required:
 * it comes from the original model's depth, which the file does not otherwise record), and
 * the head layout 2-D rotary needs. */
static ward_status glm1_hparams(ward_model *m, ward_error *err) {
    model_hparams *hp = &m->hp;
    ward_status st;
    hp->norm_eps = 1e-5f;
    if ((st = get_positive_f32(m, "attention.layer_norm_epsilon", false, &hp->norm_eps, err)) ||
        (st = get_positive_f32(m, "residual_alpha", true, &hp->residual_alpha, err)))
        return st;
    if (hp->n_head_kv != hp->n_head)
        return WARD_FAIL(err, WARD_EFORMAT, "chatglm1 has no grouped-query attention: %d heads, "
                         "%d KV heads", hp->n_head, hp->n_head_kv);
    if (hp->head_dim % 4 != 0 || hp->n_rot != hp->head_dim)
        return WARD_FAIL(err, WARD_EFORMAT, "chatglm1 2-D rotary needs the whole head (%d, "
                         "rotary %d) in a multiple of 4 dimensions", hp->head_dim, hp->n_rot);
    return WARD_OK;
}

ward_status glm1_load(ward_model *m, ward_error *err) {
    const model_hparams *hp = &m->hp;
    const int64_t dim = hp->n_embd, n_ff = hp->n_ff;
    ward_status st;
    if ((st = glm1_hparams(m, err)) ||
        (st = model_get_tensor(m, "token_embd.weight", dim, hp->n_vocab, true, &m->tok_embd,
                               err)) ||
        (st = model_get_tensor(m, "output_norm.weight", dim, 1, true, &m->output_norm, err)) ||
        (st = model_get_tensor(m, "output_norm.bias", dim, 1, true, &m->output_norm_b, err)) ||
        (st = model_get_tensor(m, "output.weight", dim, hp->n_vocab, false, &m->output, err)))
        return st;
    if (!m->output.data) m->output = m->tok_embd; /* tied embeddings */
    if (!(m->layers = ward_calloc((size_t)hp->n_layer, sizeof *m->layers)))
        return WARD_FAIL(err, WARD_ENOMEM, "out of memory");
    for (int32_t l = 0; l < hp->n_layer; l++) {
        model_layer *L = &m->layers[l];
        if ((st = get_layer_pair(m, l, "attn_norm", dim, 1, &L->attn_norm, &L->attn_norm_b, err)) ||
            (st = get_layer_pair(m, l, "attn_qkv", dim, 3 * dim, &L->wqkv, &L->bqkv, err)) ||
            (st = get_layer_pair(m, l, "attn_output", dim, dim, &L->wo, &L->bo, err)) ||
            (st = get_layer_pair(m, l, "ffn_norm", dim, 1, &L->ffn_norm, &L->ffn_norm_b, err)) ||
            (st = get_layer_pair(m, l, "ffn_up", dim, n_ff, &L->ffn_up, &L->ffn_up_b, err)) ||
            (st = get_layer_pair(m, l, "ffn_down", n_ff, dim, &L->ffn_down, &L->ffn_down_b, err)))
            return st;
    }
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Positions and the mask, from the prompt length
 * ------------------------------------------------------------------------------------------- */

/* The gMASK position of a prompt of n tokens: n - 2 (0 for a one-token prompt). */
static int32_t gmask_pos(int32_t n_prompt) { return n_prompt >= 2 ? n_prompt - 2 : 0; }

/* Position id and block position id of absolute position p. */
static void glm1_position_ids(int32_t n_prompt, int32_t p, int32_t *pos_id, int32_t *block_id) {
    const int32_t g = gmask_pos(n_prompt);
    *pos_id = p < g ? p : g;
    *block_id = p > g ? p - g : 0;
}

/* Cache positions [0, result) position p attends to: the first n - 1 prompt tokens see each
 * other (not the last prompt token); from the last prompt token on, everything up to p. */
static int32_t glm1_visible_keys(int32_t n_prompt, int32_t p) {
    return p + 1 > n_prompt - 1 ? p + 1 : n_prompt - 1;
}

/* A sequence that starts in this batch (has its position 0 here) has as prompt all of its
 * tokens in this batch; their positions are 0..k-1, so the prompt length is its largest
 * position + 1. Three passes, no extra memory: mark the starting sequences with -1, keep
 * -(largest position + 1) while scanning, then flip the sign. */
static void record_prompt_lengths(model_exec *ex, const model_batch *b) {
    int32_t *len = ex->seq_prompt_len;
    for (int32_t i = 0; i < b->n; i++)
        if (b->pos[i] == 0) len[b->seq[i]] = -1;
    for (int32_t i = 0; i < b->n; i++)
        if (len[b->seq[i]] < 0 && -(b->pos[i] + 1) < len[b->seq[i]])
            len[b->seq[i]] = -(b->pos[i] + 1);
    for (int32_t i = 0; i < b->n; i++)
        if (b->pos[i] == 0) len[b->seq[i]] = -len[b->seq[i]];
}

/* ---------------------------------------------------------------------------------------------
 * Attention: one job per (token, head), under the GLM mask
 * ------------------------------------------------------------------------------------------- */

typedef struct glm1_attn_job {
    const ward_model *m;
    model_exec *ex;
    const model_batch *b;
    int32_t layer;
} glm1_attn_job;

static void glm1_attention_job(void *arg, int ith, int nth) {
    const glm1_attn_job *j = arg;
    const model_hparams *hp = &j->m->hp;
    const int32_t hd = hp->head_dim, n_tasks = j->b->n * hp->n_head;
    float *work = j->ex->s.att_work + (size_t)ith * j->ex->s.att_work_floats;
    for (int32_t task = ith; task < n_tasks; task += nth) {
        const int32_t i = task / hp->n_head, h = task % hp->n_head, seq = j->b->seq[i];
        const int32_t n_keys = j->ex->kv.n_prefix +
                               glm1_visible_keys(j->ex->seq_prompt_len[seq], j->b->pos[i]);
        const size_t off = (size_t)i * hp->n_head * hd + (size_t)h * hd;
        blocks_attend(j->ex, hd, 1, j->ex->s.q + off, seq, j->layer, h * hd, n_keys, NULL, work,
                      j->ex->s.att + off);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The forward pass
 * ------------------------------------------------------------------------------------------- */

static void layernorm_rows(float *out, const float *x, const model_tensor *w,
                           const model_tensor *b, int32_t n, int32_t dim, float eps) {
    for (int32_t i = 0; i < n; i++)
        ops_layernorm(out + (size_t)i * dim, x + (size_t)i * dim, w->data, b->data, dim, eps);
}

/* cos/sin tables of each token: the first head_dim/4 angles by its position id, the next
 * head_dim/4 by its block position id (each a rotary of head_dim/2 dimensions). */
static void rope_tables_2d(model_exec *ex, const model_hparams *hp, const model_batch *b) {
    const int32_t half = hp->head_dim / 2, quarter = hp->head_dim / 4;
    for (int32_t i = 0; i < b->n; i++) {
        int32_t pos_id, block_id;
        glm1_position_ids(ex->seq_prompt_len[b->seq[i]], b->pos[i], &pos_id, &block_id);
        float *c = ex->s.rope_cos + (size_t)i * half, *s = ex->s.rope_sin + (size_t)i * half;
        ops_rope_cache(c, s, pos_id, half, hp->rope_freq_base);
        ops_rope_cache(c + quarter, s + quarter, block_id, half, hp->rope_freq_base);
    }
}

/* q, k, v of every token from the fused projection (with bias), whose rows are interleaved per
 * head: q, k, v of head 0, then of head 1, ... */
static void project_qkv_interleaved(model_exec *ex, const model_hparams *hp,
                                    const model_layer *L, int32_t n) {
    model_scratch *s = &ex->s;
    const int32_t dim = hp->n_embd, hd = hp->head_dim;
    const size_t bytes = (size_t)hd * sizeof(float);
    model_matmul(ex, &L->wqkv, s->xb, n, s->qkv);
    blocks_add_bias_rows(s->qkv, &L->bqkv, n, 3 * (int64_t)dim);
    for (int32_t i = 0; i < n; i++)
        for (int32_t h = 0; h < hp->n_head; h++) {
            const float *src = s->qkv + (size_t)i * 3 * dim + (size_t)h * 3 * hd;
            const size_t dst = (size_t)i * dim + (size_t)h * hd;
            memcpy(s->q + dst, src, bytes);
            memcpy(s->k + dst, src + hd, bytes);
            memcpy(s->v + dst, src + 2 * hd, bytes);
        }
}

/* The per-token steps between the matrix products (blocks_for_each_token). */
typedef struct glm1_steps {
    model_exec *ex;
    const model_hparams *hp;
    const model_batch *b;
    const model_layer *L;
    int32_t layer;
    const model_tensor *norm, *norm_b; /* residual_step's next LayerNorm, or NULL */
} glm1_steps;

/* Token i: 2-D rotary of q and k (the first half of each head by the position id, the second
 * by the block position id, each in (i, i + half/2) pairs), then k and v into the cache. */
static void rotate_cache_step(const void *ctx, int32_t i) {
    const glm1_steps *j = ctx;
    const model_scratch *s = &j->ex->s;
    const int32_t dim = j->hp->n_embd, hd = j->hp->head_dim, half = hd / 2, quarter = hd / 4;
    const float *c = s->rope_cos + (size_t)i * half, *sn = s->rope_sin + (size_t)i * half;
    float *q = s->q + (size_t)i * dim, *k = s->k + (size_t)i * dim;
    ops_rope_halves(q, j->hp->n_head, hd, half, c, sn);
    ops_rope_halves(k, j->hp->n_head, hd, half, c, sn);
    ops_rope_halves(q + half, j->hp->n_head, hd, half, c + quarter, sn + quarter);
    ops_rope_halves(k + half, j->hp->n_head, hd, half, c + quarter, sn + quarter);
    blocks_kv_store_token(j->ex, j->b, j->layer, i);
}

/* Token i: GLM's residual x = normed · alpha + proj (the residual carries the normed input),
 * then the next LayerNorm of x into xb while the row is in cache (none when norm is NULL). */
static void residual_step(const void *ctx, int32_t i) {
    const glm1_steps *j = ctx;
    const model_scratch *s = &j->ex->s;
    const size_t dim = (size_t)j->hp->n_embd;
    float *x = s->x + i * dim;
    const float *normed = s->xb + i * dim, *proj = s->proj + i * dim;
    for (size_t d = 0; d < dim; d++) x[d] = normed[d] * j->hp->residual_alpha + proj[d];
    if (j->norm)
        ops_layernorm(s->xb + i * dim, x, j->norm->data, j->norm_b->data, (int64_t)dim,
                      j->hp->norm_eps);
}

/* Token i of the MLP's hidden rows: bias, then GELU. */
static void gelu_step(const void *ctx, int32_t i) {
    const glm1_steps *j = ctx;
    float *h = j->ex->s.ffn_a + (size_t)i * j->hp->n_ff;
    if (j->L->ffn_up_b.data) ops_add(h, j->L->ffn_up_b.data, j->hp->n_ff);
    ops_gelu(h, h, j->hp->n_ff);
}

/* GELU MLP of the normed rows in xb into proj: W2 · gelu(W1 · m + b1) + b2. */
static void mlp_gelu(model_exec *ex, const glm1_steps *j, int32_t n) {
    model_scratch *s = &ex->s;
    model_matmul(ex, &j->L->ffn_up, s->xb, n, s->ffn_a);
    blocks_for_each_token(ex, n, gelu_step, j);
    model_matmul(ex, &j->L->ffn_down, s->ffn_a, n, s->proj);
    blocks_add_bias_rows(s->proj, &j->L->ffn_down_b, n, j->hp->n_embd);
}

ward_status glm1_forward(const ward_model *m, model_exec *ex, const model_batch *b) {
    const model_hparams *hp = &m->hp;
    model_scratch *s = &ex->s;
    const int32_t n = b->n, dim = hp->n_embd;

    /* sequences starting here: their prompt is this batch; it fixes positions and the mask */
    record_prompt_lengths(ex, b);

    /* token embeddings into the residual stream; 2-D rotary angles of each token */
    blocks_embed_tokens(m, ex, b);
    rope_tables_2d(ex, hp, b);

    /* a = LN1(x) of the first layer; the later ones come with the residual before them */
    layernorm_rows(s->xb, s->x, &m->layers[0].attn_norm, &m->layers[0].attn_norm_b, n, dim,
                   hp->norm_eps);
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const model_layer *L = &m->layers[l], *next = l + 1 < hp->n_layer ? L + 1 : NULL;
        glm1_steps j = {.ex = ex, .hp = hp, .b = b, .L = L, .layer = l};

        /* attention: fused q|k|v of a, 2-D rotary on q and k with the cache write */
        project_qkv_interleaved(ex, hp, L, n);
        blocks_for_each_token(ex, n, rotate_cache_step, &j);

        /* each token attends over its sequence's cache under the GLM mask; output projection */
        glm1_attn_job job = {.m = m, .ex = ex, .b = b, .layer = l};
        tp_run(ex->pool, glm1_attention_job, &job);
        model_matmul(ex, &L->wo, s->att, n, s->proj);
        blocks_add_bias_rows(s->proj, &L->bo, n, dim);

        /* residual h = a · alpha + Attn(a), with m = LN2(h) */
        j.norm = &L->ffn_norm, j.norm_b = &L->ffn_norm_b;
        blocks_for_each_token(ex, n, residual_step, &j);

        /* MLP: out = m · alpha + MLP(m), with the next layer's a = LN1(out) */
        mlp_gelu(ex, &j, n);
        j.norm = next ? &next->attn_norm : NULL, j.norm_b = next ? &next->attn_norm_b : NULL;
        blocks_for_each_token(ex, n, residual_step, &j);
    }

    /* final LayerNorm of the tokens that want logits, then the output matrix */
    for (int32_t j = 0; j < b->n_out; j++)
        ops_layernorm(s->xb + (size_t)j * dim, s->x + (size_t)b->out_idx[j] * dim,
                      m->output_norm.data, m->output_norm_b.data, dim, hp->norm_eps);
    model_matmul(ex, &m->output, s->xb, b->n_out, b->logits);
    return WARD_OK;
}
