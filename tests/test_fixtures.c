/* test_fixtures.c: chatglm.cpp's reference fixtures (../shared/fixtures/chatglm): the operator
 * files, and the one-layer ChatGLM2/3, GLM-4, Baichuan-7B/13B and InternLM models run through
 * ward's GGUF loader and forward pass against the hidden states PyTorch produced.
 *
 * Operators: linear.data through kern_matmul (F32 weights, and the weight converted to F16,
 * Q8_0, Q5_0, Q5_1, Q4_0, Q4_1 with the README's atol / rtol; no pool and a 3-thread pool) plus
 * the bias; layer_norm.data and rms_norm.data through ops_layernorm / ops_rmsnorm.
 *
 * Models: each fixture becomes a GGUF file as llama.cpp's converter would write it (its keys and
 * tensor names; Baichuan's W_pack split into attn_q/k/v and InternLM's qkv likewise, q and k rows
 * permuted from HF's rotate-half to GGUF's adjacent pairs with hf_permute_row). The fixtures
 * give the final normed hidden state, with no LM head, so the file's output matrix is the
 * identity: vocabulary = hidden size = 32 (token_embd padded with zero rows 5..31, a synthetic
 * 32-token SentencePiece vocabulary) and logits = hidden state exactly. The protocol is the
 * README's: prompt [0, 1, 2] in one batch (every row compared), then 3, then 4, each appended to
 * the KV cache (ward's default F16 cache); every element must be within atol 5e-4 and finite.
 * Every ISA this CPU has, with 1 and 3 threads.
 *
 * Baichuan's attention is chosen by ward's key baichuan.attention.max_alibi_bias (these models
 * have one layer, llama.cpp's layer-count rule would refuse them); a synthetic 40-head ALiBi
 * model checks the slopes of a non-power-of-two head count against the README's rule.
 *
 * ChatGLM-6B v1 (glm_model.data and its p-tuning file) is in test_glm1.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/error.h"
#include "base/threadpool.h"
#include "fixtures.h"
#include "formats/gguf.h"
#include "formats/hf_config.h"
#include "harness.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/types.h"
#include "ward.h"

#define MODEL_ATOL 5e-4

/* ---------------------------------------------------------------------------------------------
 * Operator fixtures
 * ------------------------------------------------------------------------------------------- */

static const struct {
    ward_type type;
    double atol, rtol;
} linear_types[] = {
    {WARD_TYPE_F32, 1e-5, 0},    {WARD_TYPE_F16, 1e-2, 5e-4}, {WARD_TYPE_Q8_0, 0.2, 5e-4},
    {WARD_TYPE_Q5_0, 1.5, 0.1},  {WARD_TYPE_Q5_1, 1.5, 0.1},  {WARD_TYPE_Q4_0, 2.0, 0.2},
    {WARD_TYPE_Q4_1, 2.0, 0.2},
};

/* y (n_tok, 32) = x (n_tok, 64) · Wᵀ + b with W already in its type. */
static void linear(tp_pool *pool, ward_isa isa, ward_type t, const void *w, const float *b,
                   const float *x, int64_t n_tok, float *y) {
    void *scratch = ward_malloc_aligned(kern_matmul_scratch_bytes(t, 64, n_tok) + 64, 1);
    kern_matmul(pool, isa, t, w, 32, 64, x, n_tok, y, scratch);
    for (int64_t i = 0; i < n_tok; i++) ops_add(y + i * 32, b, 32);
    ward_free_aligned(scratch);
}

static void test_linear(void) {
    fx_data d;
    if (!fx_load(&fx_linear, &d)) return;
    const float *W = fx_get(&d, "W", 32, 64), *b = fx_get(&d, "b", 1, 32);
    const float *X = fx_get(&d, "X", 2, 64), *Y = fx_get(&d, "Y", 2, 32);
    const float *x = fx_get(&d, "x", 1, 64), *y = fx_get(&d, "y", 1, 32);
    tp_pool *pool = NULL;
    ward_error err;
    CHECK(tp_open(3, &pool, &err) == WARD_OK, "thread pool: %s", err.msg);
    const ward_isa top = cpu_isa_detect();
    for (size_t ti = 0; W && b && X && Y && x && y && ti < sizeof linear_types / sizeof *linear_types;
         ti++) {
        const ward_type t = linear_types[ti].type;
        const size_t row_bytes = kern_row_bytes(t, 64);
        void *w = malloc(row_bytes * 32);
        if (t == WARD_TYPE_F32)
            memcpy(w, W, row_bytes * 32);
        else
            kern_type(t)->from_float[WARD_ISA_REF](W, w, 32 * 64); /* the weight quantizer */
        double max_m = 0, max_v = 0;
        for (int isa = WARD_ISA_REF; isa <= (int)top; isa++)
            for (int with_pool = 0; with_pool < 2; with_pool++) {
                float out_m[2 * 32], out_v[32];
                tp_pool *p = with_pool ? pool : NULL;
                linear(p, (ward_isa)isa, t, w, b, X, 2, out_m);
                linear(p, (ward_isa)isa, t, w, b, x, 1, out_v);
                const int64_t bad_m = fx_compare(Y, out_m, 2 * 32, linear_types[ti].atol,
                                                 linear_types[ti].rtol, &max_m);
                const int64_t bad_v = fx_compare(y, out_v, 32, linear_types[ti].atol,
                                                 linear_types[ti].rtol, &max_v);
                CHECK(bad_m == 0 && bad_v == 0,
                      "linear %s, ISA %s, %s: %lld + %lld elements out of tolerance",
                      ward_type_name(t), cpu_isa_name((ward_isa)isa),
                      with_pool ? "3 threads" : "no pool", (long long)bad_m, (long long)bad_v);
            }
        printf("linear.data %-5s max |error| matrix %.2e, vector %.2e (atol %g, rtol %g)\n",
               ward_type_name(t), max_m, max_v, linear_types[ti].atol, linear_types[ti].rtol);
        free(w);
    }
    tp_close(pool);
    fx_free(&d);
}

static void test_norms(void) {
    fx_data d;
    if (fx_load(&fx_layer_norm, &d)) {
        const float *w = fx_get(&d, "w", 1, 64), *b = fx_get(&d, "b", 1, 64);
        const float *X = fx_get(&d, "X", 3, 64), *Y = fx_get(&d, "Y", 3, 64);
        float out[3 * 64];
        double max_err = 0;
        for (int i = 0; w && b && X && Y && i < 3; i++)
            ops_layernorm(out + i * 64, X + i * 64, w, b, 64, 1e-5f);
        CHECK(w && b && X && Y && fx_compare(Y, out, 3 * 64, 1e-5, 0, &max_err) == 0,
              "layer_norm.data: max |error| %g", max_err);
        printf("layer_norm.data max |error| %.2e (atol 1e-5)\n", max_err);
        fx_free(&d);
    }
    if (fx_load(&fx_rms_norm, &d)) {
        const float *w = fx_get(&d, "w", 1, 64);
        const float *X = fx_get(&d, "X", 3, 64), *Y = fx_get(&d, "Y", 3, 64);
        float out[3 * 64];
        double max_err = 0;
        for (int i = 0; w && X && Y && i < 3; i++)
            ops_rmsnorm(out + i * 64, X + i * 64, w, 64, 1e-5f);
        CHECK(w && X && Y && fx_compare(Y, out, 3 * 64, 1e-5, 0, &max_err) == 0,
              "rms_norm.data: max |error| %g", max_err);
        printf("rms_norm.data   max |error| %.2e (atol 1e-5)\n", max_err);
        fx_free(&d);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Building GGUF models: F32 tensors collected, then written in one go
 * ------------------------------------------------------------------------------------------- */

#define GB_MAX_TENSORS 32

typedef struct gguf_build {
    gguf_writer *w;
    ward_status st; /* first failure */
    int n;
    struct {
        char name[64];
        int64_t rows, cols;
        float *data;
    } t[GB_MAX_TENSORS];
} gguf_build;

static void gb_check(gguf_build *b, ward_status st) {
    if (st && !b->st) {
        b->st = st;
        CHECK(false, "GGUF writer: %s", gguf_writer_errmsg(b->w));
    }
}

/* A zeroed rows x cols tensor (a vector: rows = 1) for the caller to fill. */
static float *gb_tensor(gguf_build *b, const char *name, int64_t rows, int64_t cols) {
    if (b->n == GB_MAX_TENSORS) {
        CHECK(false, "gguf_build: too many tensors");
        b->st = WARD_ERANGE;
        return NULL;
    }
    snprintf(b->t[b->n].name, sizeof b->t[b->n].name, "%s", name);
    b->t[b->n].rows = rows, b->t[b->n].cols = cols;
    return b->t[b->n++].data = calloc((size_t)(rows * cols), sizeof(float));
}

static void gb_copy(gguf_build *b, const char *name, const float *src, int64_t rows,
                    int64_t cols) {
    float *dst = gb_tensor(b, name, rows, cols);
    if (dst && src) memcpy(dst, src, (size_t)(rows * cols) * sizeof *dst);
}

/* rows x cols of src (an HF q or k weight; a bias is rows x 1, stored as a vector) with its rows
 * reordered from HF's rotate-half to GGUF's adjacent pairs over n_head heads, as llama.cpp's
 * converter does. */
static void gb_permuted(gguf_build *b, const char *name, const float *src, int64_t rows,
                        int64_t cols, int32_t n_head) {
    const bool vec = cols == 1;
    float *dst = vec ? gb_tensor(b, name, 1, rows) : gb_tensor(b, name, rows, cols);
    for (int64_t r = 0; dst && src && r < rows; r++)
        memcpy(dst + r * cols, src + hf_permute_row(r, rows, n_head) * cols,
               (size_t)cols * sizeof *dst);
}

/* token_embd: the fixture's rows, then zero rows up to n_vocab; output: the identity. */
static void gb_embd_identity(gguf_build *b, const float *embd, int64_t n_rows, int64_t n_embd) {
    float *e = gb_tensor(b, "token_embd.weight", n_embd, n_embd);
    if (e && embd) memcpy(e, embd, (size_t)(n_rows * n_embd) * sizeof *e);
    float *o = gb_tensor(b, "output.weight", n_embd, n_embd);
    for (int64_t i = 0; o && i < n_embd; i++) o[i * n_embd + i] = 1.0f;
}

/* The keys every model here has: architecture, shapes, and a synthetic SentencePiece
 * vocabulary of n_vocab tokens (<unk>, <s>, </s>, then t3, t4, ...). */
static void gb_begin(gguf_build *b, const char *path, const char *arch, int32_t n_vocab,
                     int32_t n_embd, int32_t n_ff, int32_t n_head, int32_t n_head_kv,
                     int32_t n_rot, float eps) {
    memset(b, 0, sizeof *b);
    ward_error err;
    if ((b->st = gguf_writer_open(path, &b->w, &err))) {
        CHECK(false, "%s", err.msg);
        return;
    }
    char key[128];
#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
    gb_check(b, gguf_writer_set_str(b->w, "general.architecture", arch));
    gb_check(b, gguf_writer_set_str(b->w, "general.name", "chatglm.cpp fixture"));
    gb_check(b, gguf_writer_set_u32(b->w, KEY("context_length"), 8));
    gb_check(b, gguf_writer_set_u32(b->w, KEY("embedding_length"), (uint32_t)n_embd));
    gb_check(b, gguf_writer_set_u32(b->w, KEY("block_count"), 1));
    gb_check(b, gguf_writer_set_u32(b->w, KEY("feed_forward_length"), (uint32_t)n_ff));
    gb_check(b, gguf_writer_set_u32(b->w, KEY("attention.head_count"), (uint32_t)n_head));
    gb_check(b, gguf_writer_set_u32(b->w, KEY("attention.head_count_kv"), (uint32_t)n_head_kv));
    gb_check(b, gguf_writer_set_u32(b->w, KEY("rope.dimension_count"), (uint32_t)n_rot));
    gb_check(b, gguf_writer_set_f32(b->w, KEY("rope.freq_base"), 10000.0f));
    gb_check(b, gguf_writer_set_f32(b->w, KEY("attention.layer_norm_rms_epsilon"), eps));
#undef KEY
    char texts[256][8];
    const char *tokens[256];
    float scores[256];
    int32_t types[256];
    for (int32_t i = 0; i < n_vocab && i < 256; i++) {
        if (i < 3)
            snprintf(texts[i], sizeof texts[i], "%s", i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>");
        else
            snprintf(texts[i], sizeof texts[i], "t%d", (int)i);
        tokens[i] = texts[i];
        scores[i] = -(float)i;
        types[i] = i == 0 ? 2 : i < 3 ? 3 : 1; /* unknown, control, normal */
    }
    gb_check(b, gguf_writer_set_str(b->w, "tokenizer.ggml.model", "llama"));
    gb_check(b, gguf_writer_set_arr_str(b->w, "tokenizer.ggml.tokens", tokens, (uint64_t)n_vocab));
    gb_check(b, gguf_writer_set_arr(b->w, "tokenizer.ggml.scores", GGUF_VT_F32, scores,
                                    (uint64_t)n_vocab));
    gb_check(b, gguf_writer_set_arr(b->w, "tokenizer.ggml.token_type", GGUF_VT_I32, types,
                                    (uint64_t)n_vocab));
    gb_check(b, gguf_writer_set_u32(b->w, "tokenizer.ggml.unknown_token_id", 0));
}

/* Write the collected tensors and close; frees everything. */
static bool gb_finish(gguf_build *b) {
    for (int i = 0; !b->st && i < b->n; i++) {
        const bool vec = b->t[i].rows == 1;
        const int64_t ne[2] = {b->t[i].cols, b->t[i].rows};
        gb_check(b, gguf_writer_add_tensor(b->w, b->t[i].name, WARD_TYPE_F32, vec ? 1 : 2, ne));
    }
    if (!b->st) gb_check(b, gguf_writer_write_header(b->w));
    for (int i = 0; !b->st && i < b->n; i++)
        gb_check(b, gguf_writer_write_tensor(b->w, b->t[i].data, (size_t)(b->t[i].rows *
                                                                          b->t[i].cols) * 4));
    ward_error err;
    if (!b->st) {
        if ((b->st = gguf_writer_finish(b->w, &err))) CHECK(false, "GGUF finish: %s", err.msg);
    } else {
        gguf_writer_close(b->w);
    }
    for (int i = 0; i < b->n; i++) free(b->t[i].data);
    return b->st == WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The fixtures as GGUF files
 * ------------------------------------------------------------------------------------------- */

/* ChatGLM2/3, GLM-4 as llama.cpp's "chatglm": fused attn_qkv with bias, ffn_up = gate rows then
 * up rows (2 n_ff), rotary on the first head_dim/2 dims of each head. */
static bool build_chatglm(const fx_data *d, const char *path) {
    const fx_spec *s = d->spec;
    const int64_t e = s->n_embd, hd = e / s->n_head, qkv = e + 2 * s->n_head_kv * hd;
    gguf_build b;
    gb_begin(&b, path, "chatglm", (int32_t)e, (int32_t)e, s->n_ff, s->n_head, s->n_head_kv,
             (int32_t)(hd / 2), s->norm_eps);
    gb_embd_identity(&b, fx_get(d, "word_embeddings", s->n_vocab, e), s->n_vocab, e);
    gb_copy(&b, "output_norm.weight", fx_get(d, "final_layernorm.weight", 1, e), 1, e);
    gb_copy(&b, "blk.0.attn_norm.weight", fx_get(d, "input_layernorm.weight", 1, e), 1, e);
    gb_copy(&b, "blk.0.attn_qkv.weight", fx_get(d, "query_key_value.weight", qkv, e), qkv, e);
    gb_copy(&b, "blk.0.attn_qkv.bias", fx_get(d, "query_key_value.bias", 1, qkv), 1, qkv);
    gb_copy(&b, "blk.0.attn_output.weight", fx_get(d, "dense.weight", e, e), e, e);
    gb_copy(&b, "blk.0.ffn_norm.weight", fx_get(d, "post_attention_layernorm.weight", 1, e), 1, e);
    float *up = gb_tensor(&b, "blk.0.ffn_up.weight", 2 * s->n_ff, e);
    const float *gate_rows = fx_get(d, "gate_proj", s->n_ff, e);
    const float *up_rows = fx_get(d, "up_proj", s->n_ff, e);
    if (up && gate_rows && up_rows) {
        memcpy(up, gate_rows, (size_t)(s->n_ff * e) * sizeof *up);
        memcpy(up + s->n_ff * e, up_rows, (size_t)(s->n_ff * e) * sizeof *up);
    }
    gb_copy(&b, "blk.0.ffn_down.weight", fx_get(d, "down_proj", e, s->n_ff), e, s->n_ff);
    if (d->prefix) { /* p-tuning v2: the virtual tokens' keys and values, rows of kv_dim */
        for (int kind = 0; kind < 2; kind++) {
            float *rows = fx_prefix_rows(d, kind);
            gb_copy(&b, kind ? "blk.0.prefix_v" : "blk.0.prefix_k", rows, s->n_virtual,
                    s->n_head_kv * (e / s->n_head));
            free(rows);
        }
    }
    return gb_finish(&b);
}

/* Baichuan-7B/13B and InternLM as llama-layout files: the fused HF q|k|v split into attn_q/k/v,
 * q and k rows permuted; InternLM adds the q/k/v and output biases. max_alibi_bias < 0: no
 * baichuan.attention.max_alibi_bias key. */
static bool build_llama_like(const fx_data *d, const char *path, const char *arch,
                             float max_alibi_bias) {
    const fx_spec *s = d->spec;
    const bool internlm = strcmp(arch, "internlm") == 0;
    const int64_t e = s->n_embd, kv = s->n_head_kv * (e / s->n_head);
    gguf_build b;
    gb_begin(&b, path, arch, (int32_t)e, (int32_t)e, s->n_ff, s->n_head, s->n_head_kv,
             (int32_t)(e / s->n_head), s->norm_eps);
    if (b.w && max_alibi_bias >= 0)
        gb_check(&b, gguf_writer_set_f32(b.w, "baichuan.attention.max_alibi_bias",
                                         max_alibi_bias));
    const float *qkv = fx_get(d, internlm ? "qkv" : "W_pack", e + 2 * kv, e);
    gb_embd_identity(&b, fx_get(d, "embed_tokens", s->n_vocab, e), s->n_vocab, e);
    gb_copy(&b, "output_norm.weight", fx_get(d, "norm", 1, e), 1, e);
    gb_copy(&b, "blk.0.attn_norm.weight", fx_get(d, "input_layernorm", 1, e), 1, e);
    gb_permuted(&b, "blk.0.attn_q.weight", qkv, e, e, s->n_head);
    gb_permuted(&b, "blk.0.attn_k.weight", qkv ? qkv + e * e : NULL, kv, e, s->n_head_kv);
    gb_copy(&b, "blk.0.attn_v.weight", qkv ? qkv + (e + kv) * e : NULL, kv, e);
    gb_copy(&b, "blk.0.attn_output.weight", fx_get(d, "o_proj", e, e), e, e);
    if (internlm) {
        const float *bias = fx_get(d, "qkv.bias", 1, e + 2 * kv);
        gb_permuted(&b, "blk.0.attn_q.bias", bias, e, 1, s->n_head);
        gb_permuted(&b, "blk.0.attn_k.bias", bias ? bias + e : NULL, kv, 1, s->n_head_kv);
        gb_copy(&b, "blk.0.attn_v.bias", bias ? bias + e + kv : NULL, 1, kv);
        gb_copy(&b, "blk.0.attn_output.bias", fx_get(d, "o_proj.bias", 1, e), 1, e);
    }
    gb_copy(&b, "blk.0.ffn_norm.weight", fx_get(d, "post_attention_layernorm", 1, e), 1, e);
    gb_copy(&b, "blk.0.ffn_gate.weight", fx_get(d, "gate_proj", s->n_ff, e), s->n_ff, e);
    gb_copy(&b, "blk.0.ffn_up.weight", fx_get(d, "up_proj", s->n_ff, e), s->n_ff, e);
    gb_copy(&b, "blk.0.ffn_down.weight", fx_get(d, "down_proj", e, s->n_ff), e, s->n_ff);
    return gb_finish(&b);
}

/* ---------------------------------------------------------------------------------------------
 * Running the README's protocol
 * ------------------------------------------------------------------------------------------- */

/* Decode n tokens (logits for all of them); false, with a failure, if it fails. */
static bool decode(ward_context *ctx, const char *what, const int32_t *toks, int32_t n) {
    bool want[FX_PROMPT] = {true, true, true};
    ward_batch batch = {.n = n, .tokens = toks, .want_logits = want};
    ward_status st = ward_decode(ctx, &batch);
    CHECK(st == WARD_OK, "%s: decode: %s", what, ward_context_errmsg(ctx));
    return st == WARD_OK;
}

/* Max |error| of each step over every ISA and thread count: [prompt, step 2, step 3]. */
static void run_protocol(const char *what, const char *path, const fx_io *io) {
    ward_model *m = NULL;
    ward_error err;
    if (ward_model_open(path, &m, &err)) {
        CHECK(false, "%s: open: %s", what, err.msg);
        return;
    }
    CHECK(ward_model_get_info(m)->n_vocab == FX_HIDDEN, "%s: vocabulary of %d", what,
          ward_model_get_info(m)->n_vocab);
    double max_err[3] = {0, 0, 0};
    int64_t bad[3] = {0, 0, 0};
    const ward_isa top = cpu_isa_detect();
    for (int isa = WARD_ISA_REF; isa <= (int)top; isa++) {
        setenv("WARD_ISA", cpu_isa_name((ward_isa)isa), 1); /* read when a context opens */
        for (int n_threads = 1; n_threads <= 3; n_threads += 2) {
            ward_context_params cp = ward_context_default_params();
            cp.n_ctx = 8; /* the fixtures' KV capacity */
            cp.n_batch = 8;
            cp.n_outputs = FX_PROMPT;
            cp.n_threads = n_threads;
            ward_context *ctx = NULL;
            if (ward_context_open(m, &cp, &ctx, &err)) {
                CHECK(false, "%s: context: %s", what, err.msg);
                continue;
            }
            if (decode(ctx, what, io->x1, FX_PROMPT))
                for (int i = 0; i < FX_PROMPT; i++)
                    bad[0] += fx_compare(io->y1[i], ward_context_logits(ctx, i), FX_HIDDEN,
                                         MODEL_ATOL, 0, &max_err[0]);
            if (decode(ctx, what, &io->x2, 1))
                bad[1] += fx_compare(io->y2, ward_context_logits(ctx, 0), FX_HIDDEN, MODEL_ATOL,
                                     0, &max_err[1]);
            if (decode(ctx, what, &io->x3, 1))
                bad[2] += fx_compare(io->y3, ward_context_logits(ctx, 0), FX_HIDDEN, MODEL_ATOL,
                                     0, &max_err[2]);
            ward_context_close(ctx);
        }
    }
    unsetenv("WARD_ISA");
    printf("%-24s max |error| prompt %.2e, step 2 %.2e, step 3 %.2e (atol 5e-4)\n", what,
           max_err[0], max_err[1], max_err[2]);
    static const char *const step[3] = {"prompt", "step 2 (token 3)", "step 3 (token 4)"};
    for (int s = 0; s < 3; s++)
        CHECK(bad[s] == 0, "%s: %s: %lld values off by up to %g (atol 5e-4)", what, step[s],
              (long long)bad[s], max_err[s]);
    ward_model_close(m);
}

static void test_model(const fx_spec *spec, const char *arch, float max_alibi_bias) {
    fx_data d;
    if (!fx_load(spec, &d)) return;
    char path[256];
    snprintf(path, sizeof path, "%s", test_tmp_path(spec->file));
    const bool built = strcmp(arch, "chatglm") == 0
                           ? build_chatglm(&d, path)
                           : build_llama_like(&d, path, arch, max_alibi_bias);
    if (built) run_protocol(spec->file, path, &d.io);
    remove(path);
    fx_free(&d);
}

/* ---------------------------------------------------------------------------------------------
 * Baichuan: the ALiBi key, and the slopes of a non-power-of-two head count
 * ------------------------------------------------------------------------------------------- */

/* One-layer baichuan files refused without the key (llama.cpp's rule) and with a bad value. */
static void test_alibi_key_errors(void) {
    fx_data d;
    if (!fx_load(&fx_baichuan7b, &d)) return;
    const struct {
        float bias;
        ward_status code;
        const char *expect;
    } cases[] = {
        {-1.0f, WARD_EUNSUPPORTED, "only 32"}, /* no key: depth 1 is neither 32 nor 40 */
        {0.0f, WARD_OK, NULL},                 /* present, 0: rotary */
    };
    char path[256];
    snprintf(path, sizeof path, "%s", test_tmp_path("alibi-key"));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!build_llama_like(&d, path, "baichuan", cases[i].bias)) continue;
        ward_model *m = NULL;
        ward_error err;
        ward_status st = ward_model_open(path, &m, &err);
        CHECK(st == cases[i].code && (!cases[i].expect || strstr(err.msg, cases[i].expect)),
              "baichuan max_alibi_bias %g: status %d (%s), expected %d", (double)cases[i].bias,
              st, st ? err.msg : "ok", cases[i].code);
        ward_model_close(m);
    }
    remove(path);
    fx_free(&d);

    /* a negative value in the file is refused */
    gguf_build b;
    gb_begin(&b, path, "baichuan", 32, 32, 32, 8, 8, 4, 1e-6f);
    if (b.w) gb_check(&b, gguf_writer_set_f32(b.w, "baichuan.attention.max_alibi_bias", -8.0f));
    if (gb_finish(&b)) {
        ward_model *m = NULL;
        ward_error err;
        ward_status st = ward_model_open(path, &m, &err);
        CHECK(st == WARD_EFORMAT && strstr(err.msg, "max_alibi_bias"),
              "negative max_alibi_bias: status %d (%s)", st, st ? err.msg : "ok");
        ward_model_close(m);
    }
    remove(path);
}

/* The README's rule: for H heads take the slopes 2^(-8(h+1)/p) of the nearest lower power of
 * two p, then the even-indexed slopes of the 2p series, 2^(-8(k+1)/(2p)) for k = 0, 2, 4, ... */
static double readme_slope(int32_t n_head, int32_t h) {
    int32_t p = 1;
    while (2 * p <= n_head) p *= 2;
    if (h < p) return pow(2.0, -8.0 * (h + 1) / p);
    const int32_t k = 2 * (h - p);
    return pow(2.0, -8.0 * (k + 1) / (2 * p));
}

/* A 40-head (head_dim 2) one-layer ALiBi model in which only the biases decide attention: q and
 * k are zero, so the token at position 1 weighs the two keys p1 = 1 / (1 + exp(-slope)) (key 0
 * is one step away) and p0 = 1 - p1. Token 3 embeds as zeros (so its v is 0), token 4 as ones
 * in dims 0..4 (normed to 4 there, n_embd 80); every head's v reads dim 0, and wo writes head
 * h's output to hidden dim 40 + h, FFN zero. The output after the final norm (identity output
 * matrix) is then r·(1 in dims 0..4, 4·p1(h) in dim 40 + h): p1(h) = out[40 + h] / (4 out[0]). */
static void test_alibi_slopes(void) {
    enum { E = 80, H = 40, HD = 2, FF = 32 };
    char path[256];
    snprintf(path, sizeof path, "%s", test_tmp_path("alibi40"));
    gguf_build b;
    gb_begin(&b, path, "baichuan", E, E, FF, H, H, HD, 1e-6f);
    if (b.w) gb_check(&b, gguf_writer_set_f32(b.w, "baichuan.attention.max_alibi_bias", 8.0f));
    float *embd = gb_tensor(&b, "token_embd.weight", E, E);
    for (int i = 0; embd && i < 5; i++) embd[4 * E + i] = 1.0f;
    float *out = gb_tensor(&b, "output.weight", E, E);
    for (int i = 0; out && i < E; i++) out[i * E + i] = 1.0f;
    float *norms[3] = {gb_tensor(&b, "output_norm.weight", 1, E),
                       gb_tensor(&b, "blk.0.attn_norm.weight", 1, E),
                       gb_tensor(&b, "blk.0.ffn_norm.weight", 1, E)};
    for (int n = 0; n < 3; n++)
        for (int i = 0; norms[n] && i < E; i++) norms[n][i] = 1.0f;
    gb_tensor(&b, "blk.0.attn_q.weight", E, E);
    gb_tensor(&b, "blk.0.attn_k.weight", E, E);
    float *wv = gb_tensor(&b, "blk.0.attn_v.weight", E, E);
    for (int h = 0; wv && h < H; h++) wv[(h * HD) * E + 0] = 1.0f;
    float *wo = gb_tensor(&b, "blk.0.attn_output.weight", E, E);
    for (int h = 0; wo && h < H; h++) wo[(40 + h) * E + h * HD] = 1.0f;
    gb_tensor(&b, "blk.0.ffn_gate.weight", FF, E);
    gb_tensor(&b, "blk.0.ffn_up.weight", FF, E);
    gb_tensor(&b, "blk.0.ffn_down.weight", E, FF);
    if (!gb_finish(&b)) return;

    ward_model *m = NULL;
    ward_context *ctx = NULL;
    ward_error err;
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = 8;
    if (ward_model_open(path, &m, &err) || ward_context_open(m, &cp, &ctx, &err)) {
        CHECK(false, "ALiBi 40 heads: %s", err.msg);
    } else {
        const int32_t toks[2] = {3, 4};
        ward_batch batch = {.n = 2, .tokens = toks};
        if (ward_decode(ctx, &batch) == WARD_OK) {
            const float *y = ward_context_logits(ctx, 1); /* the batch's last token */
            double max_err = 0;
            for (int h = 0; h < H; h++) {
                const double p1 = y[40 + h] / (4.0 * y[0]);
                const double want = 1.0 / (1.0 + exp(-readme_slope(H, h)));
                const double e = fabs(p1 - want);
                if (!(e <= max_err)) max_err = e;
                CHECK(e < 2e-3, "ALiBi 40 heads: head %d weighs the current key %.5f, the "
                      "README's slope %.5f gives %.5f", h, p1, readme_slope(H, h), want);
            }
            printf("ALiBi 40 heads: attention weights within %.1e of the README's slopes\n",
                   max_err);
        } else {
            CHECK(false, "ALiBi 40 heads: decode: %s", ward_context_errmsg(ctx));
        }
    }
    ward_context_close(ctx);
    ward_model_close(m);
    remove(path);
}

int main(void) {
    test_linear();
    test_norms();
    test_model(&fx_glm2, "chatglm", 0);
    test_model(&fx_glm3, "chatglm", 0);
    test_model(&fx_glm4, "chatglm", 0);
    test_model(&fx_glm3_ptuning, "chatglm", 0); /* prefix cache in front of the prompt */
    test_model(&fx_baichuan7b, "baichuan", 0.0f);   /* rotary */
    test_model(&fx_baichuan13b, "baichuan", 8.0f);  /* ALiBi, maximum bias 8 */
    test_model(&fx_internlm, "internlm", -1.0f);
    test_alibi_key_errors();
    test_alibi_slopes();
    return test_summary();
}
