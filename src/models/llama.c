/* llama.c: the llama architecture (RMSNorm, rotary attention with grouped-query heads, SwiGLU),
 * and qwen2, which adds q/k/v biases and rotates (x[i], x[i + n_rot/2]) pairs; chatglm,
 * baichuan and internlm (q/k/v and output biases) share the forward pass.
 *
 * llama_load() finds the tensors under llama.cpp's names (token_embd, blk.N.attn_q, ...);
 * output.weight is optional (tied to token_embd when absent). llama_forward() runs a batch of
 * tokens that may belong to different sequences: all matrix multiplications take the whole batch
 * (each weight row read once per batch), attention is per token against its own sequence's KV
 * cache, which already holds this batch's keys and values up to the token's position.
 *
 * Numerics follow the reference engine the golden logits came from: the KV cache is F16, and
 * attention rounds queries and probabilities to F16 before its dot products, as a matrix
 * multiplication with F16 operands does.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "kernels/ops.h"
#include "kernels/types.h"
#include "models/blocks.h"
#include "models/model.h"

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */

/* blk.<l>.<suffix>.<kind>, kind "weight" or "bias" */
static ward_status get_layer_tensor(const ward_model *m, int32_t l, const char *suffix,
                                    const char *kind, int64_t n_cols, int64_t n_rows,
                                    model_tensor *out, ward_error *err) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s.%s", (int)l, suffix, kind);
    return model_get_tensor(m, name, n_cols, n_rows, true, out, err);
}

static ward_status load_qkv_biases(ward_model *m, ward_error *err) {
    const model_hparams *hp = &m->hp;
    const int64_t q_dim = (int64_t)hp->n_head * hp->head_dim;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    ward_status st;
    for (int32_t l = 0; l < hp->n_layer; l++) {
        model_layer *L = &m->layers[l];
        if ((st = get_layer_tensor(m, l, "attn_q", "bias", q_dim, 1, &L->bq, err)) ||
            (st = get_layer_tensor(m, l, "attn_k", "bias", kv_dim, 1, &L->bk, err)) ||
            (st = get_layer_tensor(m, l, "attn_v", "bias", kv_dim, 1, &L->bv, err)))
            return st;
    }
    return WARD_OK;
}

/* Embeddings, the final norm and the output matrix (tied to the embeddings when absent). */
static ward_status load_common(ward_model *m, ward_error *err) {
    const model_hparams *hp = &m->hp;
    ward_status st;
    if ((st = model_get_tensor(m, "token_embd.weight", hp->n_embd, hp->n_vocab, true,
                               &m->tok_embd, err)) ||
        (st = model_get_tensor(m, "output_norm.weight", hp->n_embd, 1, true, &m->output_norm,
                               err)) ||
        (st = model_get_tensor(m, "output.weight", hp->n_embd, hp->n_vocab, false, &m->output,
                               err)))
        return st;
    if (!m->output.data) m->output = m->tok_embd; /* tied embeddings */
    m->layers = ward_calloc((size_t)hp->n_layer, sizeof *m->layers);
    return m->layers ? WARD_OK : WARD_FAIL(err, WARD_ENOMEM, "out of memory");
}

/* Attention: separate q, k, v or one fused q|k|v with its bias; then the output projection. */
static ward_status load_attention(const ward_model *m, int32_t l, bool fused, model_layer *L,
                                  ward_error *err) {
    const model_hparams *hp = &m->hp;
    const int64_t q_dim = (int64_t)hp->n_head * hp->head_dim;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    ward_status st;
    if ((st = get_layer_tensor(m, l, "attn_norm", "weight", hp->n_embd, 1, &L->attn_norm, err)) ||
        (st = get_layer_tensor(m, l, "attn_output", "weight", q_dim, hp->n_embd, &L->wo, err)))
        return st;
    if (fused)
        return (st = get_layer_tensor(m, l, "attn_qkv", "weight", hp->n_embd, q_dim + 2 * kv_dim,
                                      &L->wqkv, err))
                   ? st
                   : get_layer_tensor(m, l, "attn_qkv", "bias", q_dim + 2 * kv_dim, 1, &L->bqkv,
                                      err);
    if ((st = get_layer_tensor(m, l, "attn_q", "weight", hp->n_embd, q_dim, &L->wq, err)) ||
        (st = get_layer_tensor(m, l, "attn_k", "weight", hp->n_embd, kv_dim, &L->wk, err)) ||
        (st = get_layer_tensor(m, l, "attn_v", "weight", hp->n_embd, kv_dim, &L->wv, err)))
        return st;
    return WARD_OK;
}

/* Feed-forward: gate and up (or both in ffn_up when hp->ffn_fused), down. */
static ward_status load_ffn(const ward_model *m, int32_t l, model_layer *L, ward_error *err) {
    const model_hparams *hp = &m->hp;
    ward_status st;
    if ((st = get_layer_tensor(m, l, "ffn_norm", "weight", hp->n_embd, 1, &L->ffn_norm, err)) ||
        (st = get_layer_tensor(m, l, "ffn_down", "weight", hp->n_ff, hp->n_embd, &L->ffn_down,
                               err)))
        return st;
    if (hp->ffn_fused)
        return get_layer_tensor(m, l, "ffn_up", "weight", hp->n_embd, 2 * (int64_t)hp->n_ff,
                                &L->ffn_up, err);
    if ((st = get_layer_tensor(m, l, "ffn_gate", "weight", hp->n_embd, hp->n_ff, &L->ffn_gate,
                               err)) ||
        (st = get_layer_tensor(m, l, "ffn_up", "weight", hp->n_embd, hp->n_ff, &L->ffn_up, err)))
        return st;
    return WARD_OK;
}

static ward_status load_layers(ward_model *m, bool fused_qkv, ward_error *err) {
    ward_status st = load_common(m, err);
    for (int32_t l = 0; !st && l < m->hp.n_layer; l++)
        if (!(st = load_attention(m, l, fused_qkv, &m->layers[l], err)))
            st = load_ffn(m, l, &m->layers[l], err);
    return st;
}

ward_status llama_load(ward_model *m, ward_error *err) { return load_layers(m, false, err); }

ward_status qwen2_load(ward_model *m, ward_error *err) {
    m->hp.rope_halves = true;
    ward_status st = load_layers(m, false, err);
    return st ? st : load_qkv_biases(m, err);
}

ward_status chatglm_load(ward_model *m, ward_error *err) {
    m->hp.ffn_fused = true;
    return load_layers(m, true, err);
}

/* llama.cpp tells the two Baichuan generations apart by depth: 32 layers is Baichuan-7B
 * (rotary), 40 is Baichuan-13B (ALiBi, maximum bias 8); files of other depths are refused
 * there. ward's own key baichuan.attention.max_alibi_bias (docs/gguf-keys.md) says it for any
 * depth: > 0 is ALiBi with that maximum bias, 0 is rotary; without it the depth rule applies,
 * and other depths are refused rather than guessed. */
ward_status baichuan_load(ward_model *m, ward_error *err) {
    static const char key[] = "baichuan.attention.max_alibi_bias";
    if (gguf_find(m->gguf, key)) {
        float max_bias = 0.0f;
        ward_status st = gguf_get_f32(m->gguf, key, true, &max_bias, err);
        if (st) return st;
        if (!isfinite(max_bias) || max_bias < 0.0f)
            return WARD_FAIL(err, WARD_EFORMAT, "%s = %g must be finite and not negative", key,
                             (double)max_bias);
        m->hp.no_rope = max_bias > 0.0f;
        m->hp.alibi_max_bias = max_bias;
    } else if (m->hp.n_layer == 40) {
        m->hp.no_rope = true;
        m->hp.alibi_max_bias = 8.0f;
    } else if (m->hp.n_layer != 32) {
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "baichuan with %d layers: only 32 (Baichuan-7B, "
                         "rotary) and 40 (Baichuan-13B, ALiBi) are defined, unless %s says",
                         m->hp.n_layer, key);
    }
    return load_layers(m, false, err);
}

/* InternLM (v1): llama with biases on q, k, v and the output projection. llama.cpp has no GGUF
 * naming for it; ward's "internlm" uses llama's keys and tensor names plus blk.N.attn_q/k/v.bias
 * and blk.N.attn_output.bias (docs/gguf-keys.md), q/k rows permuted to adjacent pairs as llama's. */
ward_status internlm_load(ward_model *m, ward_error *err) {
    ward_status st = load_layers(m, false, err);
    if (!st) st = load_qkv_biases(m, err);
    for (int32_t l = 0; !st && l < m->hp.n_layer; l++)
        st = get_layer_tensor(m, l, "attn_output", "bias", m->hp.n_embd, 1, &m->layers[l].bo,
                              err);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Attention: one task per (token, KV head), spread over the thread pool
 * ------------------------------------------------------------------------------------------- */

typedef struct attn_job {
    const ward_model *m;
    model_exec *ex;
    const model_batch *b;
    int32_t layer;
} attn_job;

/* ALiBi slope of head h (Press et al.): a geometric sequence over the heads, with a second,
 * interleaved one when the head count is not a power of two. 0 when the model has no ALiBi. */
static float alibi_slope(const model_hparams *hp, int32_t h) {
    if (hp->alibi_max_bias <= 0.0f) return 0.0f;
    const int32_t n_pow2 = 1 << (int32_t)floorf(log2f((float)hp->n_head));
    const float m0 = powf(2.0f, -hp->alibi_max_bias / (float)n_pow2);
    const float m1 = powf(2.0f, -(hp->alibi_max_bias / 2.0f) / (float)n_pow2);
    return h < n_pow2 ? powf(m0, (float)(h + 1)) : powf(m1, (float)(2 * (h - n_pow2) + 1));
}

/* Rotary embedding of n_head heads at x (head_dim apart) for the batch's token i, in the
 * model's pair layout. */
static void rope_heads(const model_hparams *hp, const model_scratch *s, float *x, int32_t n_head,
                       int32_t i) {
    const size_t half_rot = (size_t)hp->n_rot / 2;
    (hp->rope_halves ? ops_rope_halves : ops_rope_pairs)(x, n_head, hp->head_dim, hp->n_rot,
                                                         s->rope_cos + i * half_rot,
                                                         s->rope_sin + i * half_rot);
}

/* Token i's query heads that share KV head g: rotary on them (fused here: the task owns them),
 * then attention over the token's sequence's cache, the p-tuning prefix and the positions up to
 * its own. */
static void attend_group(const attn_job *j, float *work, int32_t i, int32_t g) {
    const model_hparams *hp = &j->m->hp;
    const int32_t hd = hp->head_dim, n_q = hp->n_head / hp->n_head_kv;
    const int32_t n_keys = j->ex->kv.n_prefix + j->b->pos[i] + 1;
    const size_t q_off = (size_t)i * hp->n_head * hd + (size_t)g * n_q * hd;
    float *q = j->ex->s.q + q_off, slopes[n_q];
    if (!hp->no_rope) rope_heads(hp, &j->ex->s, q, n_q, i);
    for (int32_t h = 0; h < n_q; h++) slopes[h] = alibi_slope(hp, g * n_q + h);
    blocks_attend(j->ex, hd, n_q, q, j->b->seq[i], j->layer, g * hd, n_keys,
                  hp->alibi_max_bias > 0.0f ? slopes : NULL, work, j->ex->s.att + q_off);
}

static void attention_job(void *arg, int ith, int nth) {
    const attn_job *j = arg;
    const model_hparams *hp = &j->m->hp;
    float *work = j->ex->s.att_work + (size_t)ith * j->ex->s.att_work_floats;
    const int32_t n_tasks = j->b->n * hp->n_head_kv;
    for (int32_t task = ith; task < n_tasks; task += nth)
        attend_group(j, work, task / hp->n_head_kv, task % hp->n_head_kv);
}

/* ---------------------------------------------------------------------------------------------
 * The forward pass
 * ------------------------------------------------------------------------------------------- */

/* The steps between the matmuls work token by token (blocks_for_each_token), each fused with its
 * neighbour: the residual add with the next norm, rotary with the cache write. */
typedef struct token_job {
    model_exec *ex;
    const model_hparams *hp;
    void (*step)(const struct token_job *j, int32_t i);
    int32_t n;
    bool add;                        /* residual_step's: add proj (+ bias) to x, */
    const model_tensor *bias, *norm; /* NULL or absent when there is none */
    const model_batch *b;            /* cache_kv_step's batch and layer */
    int32_t layer;
} token_job;

static void token_step(const void *ctx, int32_t i) {
    const token_job *j = ctx;
    j->step(j, i);
}

static void for_each_token(token_job *j) { blocks_for_each_token(j->ex, j->n, token_step, j); }

/* Token i: x += proj (+ bias), then xb = RMSNorm(x) while the row is in cache. */
static void residual_step(const token_job *j, int32_t i) {
    const size_t dim = (size_t)j->hp->n_embd;
    float *x = j->ex->s.x + i * dim, *proj = j->ex->s.proj + i * dim;
    if (j->bias && j->bias->data) ops_add(proj, j->bias->data, (int64_t)dim);
    if (j->add) ops_add(x, proj, (int64_t)dim);
    if (j->norm) ops_rmsnorm(j->ex->s.xb + i * dim, x, j->norm->data, (int64_t)dim, j->hp->norm_eps);
}

/* x += proj + bias if add (bias may be NULL or absent); then xb = RMSNorm(x) with norm (unless
 * NULL). */
static void add_residual(model_exec *ex, const model_hparams *hp, bool add,
                         const model_tensor *bias, const model_tensor *norm, int32_t n) {
    token_job j = {.ex = ex, .hp = hp, .step = residual_step, .n = n, .add = add, .bias = bias,
                   .norm = norm};
    for_each_token(&j);
}

/* q, k and v of every token: three projections, or one fused q|k|v projection whose rows are
 * split (q first, then k, then v); biases where the layer has them. */
static void project_qkv(model_exec *ex, const model_hparams *hp, const model_layer *L,
                        int32_t n) {
    model_scratch *s = &ex->s;
    const int32_t q_dim = hp->n_head * hp->head_dim, kv_dim = hp->n_head_kv * hp->head_dim;
    if (L->wqkv.data) {
        const int32_t qkv_dim = q_dim + 2 * kv_dim;
        model_matmul(ex, &L->wqkv, s->xb, n, s->qkv);
        blocks_add_bias_rows(s->qkv, &L->bqkv, n, qkv_dim);
        for (int32_t i = 0; i < n; i++) {
            const float *row = s->qkv + (size_t)i * qkv_dim;
            memcpy(s->q + (size_t)i * q_dim, row, (size_t)q_dim * sizeof *row);
            memcpy(s->k + (size_t)i * kv_dim, row + q_dim, (size_t)kv_dim * sizeof *row);
            memcpy(s->v + (size_t)i * kv_dim, row + q_dim + kv_dim, (size_t)kv_dim * sizeof *row);
        }
        return;
    }
    const model_tensor *ws[] = {&L->wq, &L->wk, &L->wv};
    float *const ys[] = {s->q, s->k, s->v};
    model_matmul_many(ex, ws, 3, s->xb, n, ys);
    blocks_add_bias_rows(s->q, &L->bq, n, q_dim);
    blocks_add_bias_rows(s->k, &L->bk, n, kv_dim);
    blocks_add_bias_rows(s->v, &L->bv, n, kv_dim);
}

/* Token i's keys rotated (RoPE fused into the cache write), then its keys and values cached. */
static void cache_kv_step(const token_job *j, int32_t i) {
    const size_t kv_dim = (size_t)j->hp->n_head_kv * j->hp->head_dim;
    if (!j->hp->no_rope) rope_heads(j->hp, &j->ex->s, j->ex->s.k + i * kv_dim, j->hp->n_head_kv, i);
    blocks_kv_store_token(j->ex, j->b, j->layer, i);
}

static void cache_kv(model_exec *ex, const model_hparams *hp, const model_batch *b, int32_t l) {
    token_job j = {.ex = ex, .hp = hp, .step = cache_kv_step, .n = b->n, .b = b, .layer = l};
    for_each_token(&j);
}

/* silu(gate) * up of token i into ffn_b: gate and up from two matrices (ffn_a, ffn_b), or the
 * two halves of one fused matrix's row (ffn_a). */
static void swiglu_step(const token_job *j, int32_t i) {
    const model_scratch *s = &j->ex->s;
    const size_t n_ff = (size_t)j->hp->n_ff;
    const float *gate = j->hp->ffn_fused ? s->ffn_a + 2 * i * n_ff : s->ffn_a + i * n_ff;
    const float *up = j->hp->ffn_fused ? gate + n_ff : s->ffn_b + i * n_ff;
    ops_swiglu(j->ex->isa, s->ffn_b + i * n_ff, gate, up, (int64_t)n_ff);
}

/* SwiGLU feed-forward of the normed rows in xb into proj: silu(gate) * up, then down. The gate
 * and up rows come from two matrices, or from the two halves of one fused matrix. Packed, the
 * SwiGLU runs inside the gate/up product; else as a step of its own. */
static void feed_forward(model_exec *ex, const model_hparams *hp, const model_layer *L,
                         int32_t n) {
    model_scratch *s = &ex->s;
    model_tensor gate = L->ffn_gate, up = L->ffn_up;
    const bool split = !hp->ffn_fused || model_tensor_split_packed(&L->ffn_up, hp->n_ff, &gate, &up);
    if (!split || !model_matmul_swiglu(ex, &gate, &up, s->xb, n, s->ffn_a, s->ffn_b)) {
        if (hp->ffn_fused) {
            model_matmul(ex, &L->ffn_up, s->xb, n, s->ffn_a); /* rows of gate|up, 2 n_ff */
        } else {
            const model_tensor *ws[] = {&L->ffn_gate, &L->ffn_up};
            float *const ys[] = {s->ffn_a, s->ffn_b};
            model_matmul_many(ex, ws, 2, s->xb, n, ys);
        }
        token_job j = {.ex = ex, .hp = hp, .step = swiglu_step, .n = n};
        for_each_token(&j);
    }
    model_matmul(ex, &L->ffn_down, s->ffn_b, n, s->proj);
}

ward_status llama_forward(const ward_model *m, model_exec *ex, const model_batch *b) {
    const model_hparams *hp = &m->hp;
    model_scratch *s = &ex->s;
    const int32_t n = b->n, dim = hp->n_embd, half_rot = hp->n_rot / 2;

    /* token embeddings into the residual stream; rotary angles for each token's position */
    blocks_embed_tokens(m, ex, b);
    for (int32_t i = 0; !hp->no_rope && i < n; i++)
        ops_rope_cache(s->rope_cos + (size_t)i * half_rot, s->rope_sin + (size_t)i * half_rot,
                       b->pos[i], hp->n_rot, hp->rope_freq_base);

    add_residual(ex, hp, false, NULL, &m->layers[0].attn_norm, n); /* the first norm alone */
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const model_layer *L = &m->layers[l];

        /* attention: q/k/v projections of the normed rows, rotary k into the cache (q's rotary
         * is in the attention tasks) */
        project_qkv(ex, hp, L, n);
        cache_kv(ex, hp, b, l);

        /* each token attends over its sequence's cache, then the output projection, the
         * residual and the feed-forward's norm */
        attn_job job = {.m = m, .ex = ex, .b = b, .layer = l};
        tp_run(ex->pool, attention_job, &job);
        model_matmul(ex, &L->wo, s->att, n, s->proj);
        add_residual(ex, hp, true, &L->bo, &L->ffn_norm, n);

        /* feed-forward: SwiGLU, down projection, the residual and the next layer's norm */
        feed_forward(ex, hp, L, n);
        add_residual(ex, hp, true, NULL, l + 1 < hp->n_layer ? &m->layers[l + 1].attn_norm : NULL, n);
    }

    /* final norm of the tokens that want logits, then the output matrix */
    for (int32_t j = 0; j < b->n_out; j++)
        ops_rmsnorm(s->xb + (size_t)j * dim, s->x + (size_t)b->out_idx[j] * dim,
                    m->output_norm.data, dim, hp->norm_eps);
    model_matmul(ex, &m->output, s->xb, b->n_out, b->logits);
    return WARD_OK;
}
