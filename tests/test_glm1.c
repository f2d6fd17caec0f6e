/* test_glm1.c: the ChatGLM-6B (v1) architecture, "chatglm1" (src/models/glm1.c).
 *
 * 1. chatglm.cpp's glm_model.data (../shared/fixtures/chatglm, read with fixtures.h): the
 *    random one-layer model goes into a GGUF written here, with a synthetic 32-token vocabulary
 *    and token_embd padded with zero rows to 32 x 32, and an identity output matrix, so the
 *    logits are the final normed hidden state the file's goldens hold. Prompt 0 1 2, then 3,
 *    then 4; every element within atol 5e-4 (the README's rule), largest error printed.
 * 2. Several sequences in one batch: each gets its own prompt length, positions and mask. The
 *    fixture's prompt beside a 4-token prompt, tokens interleaved, must give the fixture's
 *    values and exactly what the 4-token prompt gives alone; a naive float reference of the GLM
 *    math (written here from the README) checks prompt lengths 1, 2 and 4 that the fixture does
 *    not cover.
 * 3. Bad files: the chatglm1 keys missing or out of range, a missing bias, grouped-query heads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "formats/gguf.h"
#include "harness.h"
#include "ward.h"

#define N_VOCAB 32 /* = hidden: the identity output matrix makes logits the hidden state */
#define DIM 32
#define N_HEAD 8
#define HEAD_DIM 4
#define N_FF 128
#define ALPHA 7.483314773547883f /* sqrt(2 * 28) */
#define ATOL 5e-4

/* ---------------------------------------------------------------------------------------------
 * Building the GGUF
 * ------------------------------------------------------------------------------------------- */

/* What to break in a written file. */
typedef struct glm1_edit {
    bool no_alpha;          /* leave chatglm1.residual_alpha out */
    float alpha;            /* when nonzero, write this alpha instead */
    float eps;              /* when nonzero, write this layer_norm_epsilon */
    uint32_t head_count_kv; /* when nonzero, write attention.head_count_kv */
    const char *skip;       /* leave this tensor out */
} glm1_edit;

typedef struct glm1_tensor {
    const char *name;
    int64_t cols, rows; /* rows == 1: a vector */
    const float *data;
} glm1_tensor;

static ward_status write_vocab(gguf_writer *w) {
    const char *texts[N_VOCAB];
    char pieces[N_VOCAB][8];
    float scores[N_VOCAB];
    int32_t types[N_VOCAB];
    for (int i = 0; i < N_VOCAB; i++) {
        snprintf(pieces[i], sizeof pieces[i], "t%d", i);
        texts[i] = pieces[i];
        scores[i] = -(float)i;
        types[i] = 1; /* normal */
    }
    texts[0] = "<unk>", texts[1] = "<s>", texts[2] = "</s>";
    types[0] = 2, types[1] = 3, types[2] = 3;
    ward_status st;
    if ((st = gguf_writer_set_str(w, "tokenizer.ggml.model", "llama")) ||
        (st = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", texts, N_VOCAB)) ||
        (st = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, scores, N_VOCAB)) ||
        (st = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, types, N_VOCAB)))
        return st;
    return WARD_OK;
}

/* The fixture's model as a chatglm1 GGUF at path, with edit applied. */
static bool write_glm1(const fx_data *d, const glm1_edit *e, const char *path) {
    float *embd = calloc((size_t)N_VOCAB * DIM, sizeof *embd);
    float *eye = calloc((size_t)N_VOCAB * DIM, sizeof *eye);
    if (!embd || !eye) {
        free(embd), free(eye);
        CHECK(false, "out of memory");
        return false;
    }
    memcpy(embd, fx_get(d, "word_embeddings", 5, DIM), 5 * DIM * sizeof *embd);
    for (int i = 0; i < DIM; i++) eye[i * DIM + i] = 1.0f;
    glm1_tensor ts[18] = {
        {"token_embd.weight", DIM, N_VOCAB, embd},
        {"blk.0.attn_norm.weight", DIM, 1, fx_get(d, "input_layernorm.weight", 1, DIM)},
        {"blk.0.attn_norm.bias", DIM, 1, fx_get(d, "input_layernorm.bias", 1, DIM)},
        {"blk.0.attn_qkv.weight", DIM, 3 * DIM, fx_get(d, "query_key_value.weight", 96, DIM)},
        {"blk.0.attn_qkv.bias", 3 * DIM, 1, fx_get(d, "query_key_value.bias", 1, 96)},
        {"blk.0.attn_output.weight", DIM, DIM, fx_get(d, "dense.weight", DIM, DIM)},
        {"blk.0.attn_output.bias", DIM, 1, fx_get(d, "dense.bias", 1, DIM)},
        {"blk.0.ffn_norm.weight", DIM, 1, fx_get(d, "post_attention_layernorm.weight", 1, DIM)},
        {"blk.0.ffn_norm.bias", DIM, 1, fx_get(d, "post_attention_layernorm.bias", 1, DIM)},
        {"blk.0.ffn_up.weight", DIM, N_FF, fx_get(d, "dense_h_to_4h.weight", N_FF, DIM)},
        {"blk.0.ffn_up.bias", N_FF, 1, fx_get(d, "dense_h_to_4h.bias", 1, N_FF)},
        {"blk.0.ffn_down.weight", N_FF, DIM, fx_get(d, "dense_4h_to_h.weight", DIM, N_FF)},
        {"blk.0.ffn_down.bias", DIM, 1, fx_get(d, "dense_4h_to_h.bias", 1, DIM)},
        {"output_norm.weight", DIM, 1, fx_get(d, "final_layernorm.weight", 1, DIM)},
        {"output_norm.bias", DIM, 1, fx_get(d, "final_layernorm.bias", 1, DIM)},
        {"output.weight", DIM, N_VOCAB, eye},
    };
    size_t n_ts = 16;
    /* p-tuning v2: the virtual tokens' keys and values as rows of kv_dim (= DIM here) */
    float *prefix[2] = {fx_prefix_rows(d, 0), fx_prefix_rows(d, 1)};
    if (prefix[0] && prefix[1]) {
        ts[n_ts++] = (glm1_tensor){"blk.0.prefix_k", DIM, d->spec->n_virtual, prefix[0]};
        ts[n_ts++] = (glm1_tensor){"blk.0.prefix_v", DIM, d->spec->n_virtual, prefix[1]};
    }
    gguf_writer *w = NULL;
    ward_error err = {0};
    ward_status st = gguf_writer_open(path, &w, &err);
    CHECK(st == WARD_OK, "%s: %s", path, err.msg);
    if (st) goto done;
    if (!(st = gguf_writer_set_str(w, "general.architecture", "chatglm1")) &&
        !(st = gguf_writer_set_str(w, "general.name", "glm_model.data")) &&
        !(st = gguf_writer_set_u32(w, "chatglm1.context_length", 8)) &&
        !(st = gguf_writer_set_u32(w, "chatglm1.embedding_length", DIM)) &&
        !(st = gguf_writer_set_u32(w, "chatglm1.block_count", 1)) &&
        !(st = gguf_writer_set_u32(w, "chatglm1.feed_forward_length", N_FF)) &&
        !(st = gguf_writer_set_u32(w, "chatglm1.attention.head_count", N_HEAD)) &&
        !(st = gguf_writer_set_f32(w, "chatglm1.attention.layer_norm_epsilon",
                                   e->eps != 0.0f ? e->eps : 1e-5f)) &&
        !(st = e->no_alpha ? WARD_OK
                           : gguf_writer_set_f32(w, "chatglm1.residual_alpha",
                                                 e->alpha != 0.0f ? e->alpha : ALPHA)) &&
        !(st = e->head_count_kv ? gguf_writer_set_u32(w, "chatglm1.attention.head_count_kv",
                                                      e->head_count_kv)
                                : WARD_OK))
        st = write_vocab(w);
    for (size_t i = 0; !st && i < n_ts; i++) {
        if (e->skip && strcmp(e->skip, ts[i].name) == 0) continue;
        const int64_t ne[2] = {ts[i].cols, ts[i].rows};
        st = gguf_writer_add_tensor(w, ts[i].name, WARD_TYPE_F32, ts[i].rows == 1 ? 1 : 2, ne);
    }
    if (!st) st = gguf_writer_write_header(w);
    for (size_t i = 0; !st && i < n_ts; i++) {
        if (e->skip && strcmp(e->skip, ts[i].name) == 0) continue;
        st = gguf_writer_write_tensor(w, ts[i].data,
                                      (size_t)(ts[i].cols * ts[i].rows) * sizeof(float));
    }
    CHECK(st == WARD_OK, "building %s: %s", path, st ? gguf_writer_errmsg(w) : "");
    if (st) gguf_writer_close(w);
    else {
        st = gguf_writer_finish(w, &err);
        CHECK(st == WARD_OK, "finishing %s: %s", path, err.msg);
    }
done:
    free(embd);
    free(eye);
    free(prefix[0]);
    free(prefix[1]);
    return st == WARD_OK;
}

static ward_model *open_glm1(const fx_data *d, const glm1_edit *e) {
    const char *path = test_tmp_path("glm1.gguf");
    if (!write_glm1(d, e, path)) return NULL;
    ward_model *m = NULL;
    ward_error err = {0};
    ward_status st = ward_model_open(path, &m, &err);
    CHECK(st == WARD_OK, "opening the chatglm1 GGUF: %s", err.msg);
    remove(path);
    return m;
}

static ward_context *open_ctx(const ward_model *m, int32_t n_seq, int32_t n_threads) {
    ward_context_params p = ward_context_default_params();
    p.n_ctx = 8, p.n_seq = n_seq, p.n_threads = n_threads, p.n_outputs = 16;
    ward_context *c = NULL;
    ward_error err = {0};
    ward_status st = ward_context_open(m, &p, &c, &err);
    CHECK(st == WARD_OK, "context: %s", err.msg);
    return c;
}

/* Decode n tokens of the given sequences (NULL: all 0), logits for all; false on failure. */
static bool decode(ward_context *c, const int32_t *tokens, const int32_t *seq, int32_t n) {
    bool want[16];
    for (int32_t i = 0; i < n; i++) want[i] = true;
    const ward_batch b = {.n = n, .tokens = tokens, .seq = seq, .want_logits = want};
    ward_status st = ward_decode(c, &b);
    CHECK(st == WARD_OK, "decode of %d tokens: %s", n, ward_context_errmsg(c));
    return st == WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * 1. The fixture
 * ------------------------------------------------------------------------------------------- */

/* Compare logits of batch index i against ref (DIM); returns its largest error. */
static double expect_row(ward_context *c, int32_t i, const float *ref, const char *what) {
    const float *out = ward_context_logits(c, i);
    CHECK(out != NULL, "%s: no logits", what);
    if (!out) return INFINITY;
    double max_err = 0.0;
    const int64_t bad = fx_compare(ref, out, DIM, ATOL, 0.0, &max_err);
    CHECK(bad == 0, "%s: %lld of %d values off by >= %g (max error %.3g)", what, (long long)bad,
          DIM, ATOL, max_err);
    return max_err;
}

static void test_fixture(const fx_data *d, int32_t n_threads) {
    ward_model *m = open_glm1(d, &(glm1_edit){0});
    ward_context *c = m ? open_ctx(m, 1, n_threads) : NULL;
    if (!c) goto done;
    const ward_model_info *info = ward_model_get_info(m);
    CHECK(strcmp(info->arch, "chatglm1") == 0 && info->n_layer == 1 && info->n_ff == N_FF,
          "model info: %s, %d layers, ffn %d", info->arch, info->n_layer, info->n_ff);
    double e1 = 0, e2 = 0, e3 = 0;
    if (decode(c, d->io.x1, NULL, FX_PROMPT))
        for (int32_t i = 0; i < FX_PROMPT; i++) {
            const double e = expect_row(c, i, d->io.y1[i], "prompt");
            e1 = e > e1 ? e : e1;
        }
    if (decode(c, &d->io.x2, NULL, 1)) e2 = expect_row(c, 0, d->io.y2, "decode step 1");
    if (decode(c, &d->io.x3, NULL, 1)) e3 = expect_row(c, 0, d->io.y3, "decode step 2");
    printf("%s (%d threads): max |error| prompt %.3g, step 1 %.3g, step 2 %.3g (atol %g)\n",
           d->spec->file, n_threads, e1, e2, e3, ATOL);
done:
    ward_context_close(c);
    ward_model_close(m);
}

/* ---------------------------------------------------------------------------------------------
 * 2. Several sequences; a naive reference for other prompt lengths
 * ------------------------------------------------------------------------------------------- */

static void layernorm(float *out, const float *x, const float *w, const float *b, int n) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    const double inv = 1.0 / sqrt(var / n + 1e-5);
    for (int i = 0; i < n; i++) out[i] = (float)((x[i] - mean) * inv * w[i] + b[i]);
}

/* y (rows) = W (rows x cols) x + b */
static void linear(float *y, const float *w, const float *b, const float *x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        double s = b[r];
        for (int k = 0; k < cols; k++) s += (double)w[r * cols + k] * x[k];
        y[r] = (float)s;
    }
}

/* Rotate the pair (v[0], v[gap]) by angle. */
static void rotate(float *v, int gap, double angle) {
    const double a = v[0], b = v[gap];
    v[0] = (float)(a * cos(angle) - b * sin(angle));
    v[gap] = (float)(a * sin(angle) + b * cos(angle));
}

#define REF_MAX 8
/* The README's GLM math in double, no F16 anywhere: a whole sequence of n tokens of which the
 * first n_prompt are the prompt (later ones as decode steps), final normed states into y. */
static void reference(const fx_data *d, const int32_t *tokens, int n, int n_prompt,
                      float y[][DIM]) {
    static float a[REF_MAX][DIM], q[REF_MAX][DIM], k[REF_MAX][DIM], v[REF_MAX][DIM];
    float qkv[3 * DIM], h[DIM], mm[DIM], up[N_FF], att[DIM], proj[DIM], out[DIM];
    const float *emb = fx_get(d, "word_embeddings", 5, DIM);
    const int g = n_prompt >= 2 ? n_prompt - 2 : 0;
    for (int p = 0; p < n; p++) {
        layernorm(a[p], emb + tokens[p] * DIM, fx_get(d, "input_layernorm.weight", 1, DIM),
                  fx_get(d, "input_layernorm.bias", 1, DIM), DIM);
        linear(qkv, fx_get(d, "query_key_value.weight", 96, DIM),
               fx_get(d, "query_key_value.bias", 1, 96), a[p], 3 * DIM, DIM);
        const int pos = p < g ? p : g, block = p > g ? p - g : 0;
        for (int hh = 0; hh < N_HEAD; hh++) {
            for (int j = 0; j < HEAD_DIM; j++) {
                q[p][hh * HEAD_DIM + j] = qkv[hh * 3 * HEAD_DIM + j];
                k[p][hh * HEAD_DIM + j] = qkv[hh * 3 * HEAD_DIM + HEAD_DIM + j];
                v[p][hh * HEAD_DIM + j] = qkv[hh * 3 * HEAD_DIM + 2 * HEAD_DIM + j];
            }
            /* head_dim 4: one pair per half, angle = id */
            rotate(&q[p][hh * HEAD_DIM], 1, pos), rotate(&k[p][hh * HEAD_DIM], 1, pos);
            rotate(&q[p][hh * HEAD_DIM + 2], 1, block), rotate(&k[p][hh * HEAD_DIM + 2], 1, block);
        }
    }
    for (int p = 0; p < n; p++) {
        for (int hh = 0; hh < N_HEAD; hh++) {
            double s[REF_MAX], max = -INFINITY, sum = 0;
            int n_keys = 0;
            for (int t = 0; t < n; t++) {
                /* the mask: prompt rows before the last see the prompt but its last token */
                const bool visible = p < n_prompt - 1 ? t < n_prompt - 1 : t <= p;
                if (!visible) continue;
                n_keys = t + 1;
                s[t] = 0;
                for (int j = 0; j < HEAD_DIM; j++)
                    s[t] += (double)q[p][hh * HEAD_DIM + j] * k[t][hh * HEAD_DIM + j];
                s[t] /= sqrt(HEAD_DIM);
                max = s[t] > max ? s[t] : max;
            }
            for (int t = 0; t < n_keys; t++) sum += s[t] = exp(s[t] - max);
            for (int j = 0; j < HEAD_DIM; j++) {
                double o = 0;
                for (int t = 0; t < n_keys; t++) o += s[t] / sum * v[t][hh * HEAD_DIM + j];
                att[hh * HEAD_DIM + j] = (float)o;
            }
        }
        linear(proj, fx_get(d, "dense.weight", DIM, DIM), fx_get(d, "dense.bias", 1, DIM), att,
               DIM, DIM);
        for (int i = 0; i < DIM; i++) h[i] = a[p][i] * ALPHA + proj[i];
        layernorm(mm, h, fx_get(d, "post_attention_layernorm.weight", 1, DIM),
                  fx_get(d, "post_attention_layernorm.bias", 1, DIM), DIM);
        linear(up, fx_get(d, "dense_h_to_4h.weight", N_FF, DIM),
               fx_get(d, "dense_h_to_4h.bias", 1, N_FF), mm, N_FF, DIM);
        for (int i = 0; i < N_FF; i++)
            up[i] = (float)(0.5 * up[i] *
                            (1 + tanh(0.7978845608 * (up[i] + 0.044715 * up[i] * up[i] * up[i]))));
        linear(proj, fx_get(d, "dense_4h_to_h.weight", DIM, N_FF),
               fx_get(d, "dense_4h_to_h.bias", 1, DIM), up, DIM, N_FF);
        for (int i = 0; i < DIM; i++) out[i] = mm[i] * ALPHA + proj[i];
        layernorm(y[p], out, fx_get(d, "final_layernorm.weight", 1, DIM),
                  fx_get(d, "final_layernorm.bias", 1, DIM), DIM);
    }
}

/* The reference agrees with the fixture, so it can stand for other prompt lengths. */
static void test_reference_matches_fixture(const fx_data *d) {
    const int32_t toks[5] = {0, 1, 2, 3, 4};
    float y[5][DIM];
    reference(d, toks, 5, 3, y);
    double max_err = 0;
    int64_t bad = 0;
    for (int p = 0; p < 3; p++) bad += fx_compare(d->io.y1[p], y[p], DIM, 1e-5, 0, &max_err);
    bad += fx_compare(d->io.y2, y[3], DIM, 1e-5, 0, &max_err);
    bad += fx_compare(d->io.y3, y[4], DIM, 1e-5, 0, &max_err);
    CHECK(bad == 0, "the test's float reference is off the fixture by %.3g", max_err);
}

/* One sequence of n tokens, prompt n_prompt then one-token steps, against the reference. */
static void test_prompt_length(const fx_data *d, const ward_model *m, int n_prompt, int n) {
    const int32_t toks[6] = {4, 0, 3, 1, 2, 0};
    float y[6][DIM];
    reference(d, toks, n, n_prompt, y);
    ward_context *c = open_ctx(m, 1, 2);
    if (!c) return;
    double max_err = 0;
    char what[64];
    snprintf(what, sizeof what, "prompt of %d", n_prompt);
    if (decode(c, toks, NULL, n_prompt))
        for (int p = 0; p < n_prompt; p++) {
            const double e = expect_row(c, p, y[p], what);
            max_err = e > max_err ? e : max_err;
        }
    for (int p = n_prompt; p < n; p++) {
        snprintf(what, sizeof what, "prompt of %d, step %d", n_prompt, p - n_prompt + 1);
        if (decode(c, &toks[p], NULL, 1)) {
            const double e = expect_row(c, 0, y[p], what);
            max_err = e > max_err ? e : max_err;
        }
    }
    printf("prompt of %d, %d steps: max |error| against the float reference %.3g\n", n_prompt,
           n - n_prompt, max_err);
    ward_context_close(c);
}

static bool same_row(ward_context *a, int32_t ia, ward_context *b, int32_t ib) {
    const float *x = ward_context_logits(a, ia), *y = ward_context_logits(b, ib);
    return x && y && memcmp(x, y, DIM * sizeof *x) == 0;
}

/* Sequence 0 gets the fixture's prompt, sequence 1 a 4-token prompt, interleaved in one batch;
 * then one step of each in a second batch. */
static void test_two_sequences(const fx_data *d, const ward_model *m) {
    const int32_t toks[7] = {0, 4, 1, 0, 2, 3, 1}, seq[7] = {0, 1, 0, 1, 0, 1, 1};
    const int32_t solo[4] = {4, 0, 3, 1};
    ward_context *c = open_ctx(m, 2, 3), *alone = open_ctx(m, 1, 3);
    if (!c || !alone) goto done;
    if (decode(c, toks, seq, 7) && decode(alone, solo, NULL, 4)) {
        const int32_t seq0_idx[3] = {0, 2, 4}, seq1_idx[4] = {1, 3, 5, 6};
        for (int32_t p = 0; p < 3; p++) expect_row(c, seq0_idx[p], d->io.y1[p], "seq 0 prompt");
        for (int32_t p = 0; p < 4; p++)
            CHECK(same_row(c, seq1_idx[p], alone, p),
                  "seq 1 prompt token %d differs from the same prompt alone", p);
    }
    const int32_t step[2] = {3, 2}, step_seq[2] = {0, 1};
    if (decode(c, step, step_seq, 2) && decode(alone, &step[1], NULL, 1)) {
        expect_row(c, 0, d->io.y2, "seq 0 step");
        CHECK(same_row(c, 1, alone, 0), "seq 1 step differs from the same sequence alone");
    }
    /* clearing a sequence starts a new prompt with its own length */
    ward_context_seq_clear(c, 0);
    if (decode(c, d->io.x1, NULL, FX_PROMPT))
        for (int32_t p = 0; p < FX_PROMPT; p++) expect_row(c, p, d->io.y1[p], "cleared seq 0");
done:
    ward_context_close(c);
    ward_context_close(alone);
}

/* ---------------------------------------------------------------------------------------------
 * 3. Bad files
 * ------------------------------------------------------------------------------------------- */

static void expect_refused(const fx_data *d, const glm1_edit *e, ward_status want,
                           const char *needle, const char *what) {
    const char *path = test_tmp_path("glm1-bad.gguf");
    if (!write_glm1(d, e, path)) return;
    ward_model *m = NULL;
    ward_error err = {0};
    ward_status st = ward_model_open(path, &m, &err);
    CHECK(st == want && m == NULL && strstr(err.msg, needle),
          "%s: status %d (want %d), message \"%s\" (want \"%s\")", what, st, want, err.msg,
          needle);
    ward_model_close(m);
    remove(path);
}

static void test_bad_files(const fx_data *d) {
    expect_refused(d, &(glm1_edit){.no_alpha = true}, WARD_EFORMAT, "chatglm1.residual_alpha",
                   "no residual alpha");
    expect_refused(d, &(glm1_edit){.alpha = -1.0f}, WARD_EFORMAT, "chatglm1.residual_alpha",
                   "negative alpha");
    expect_refused(d, &(glm1_edit){.alpha = NAN}, WARD_EFORMAT, "chatglm1.residual_alpha",
                   "NaN alpha");
    expect_refused(d, &(glm1_edit){.eps = -1e-5f}, WARD_EFORMAT,
                   "chatglm1.attention.layer_norm_epsilon", "negative epsilon");
    expect_refused(d, &(glm1_edit){.head_count_kv = 2}, WARD_EFORMAT, "KV heads",
                   "grouped-query heads");
    const char *required[] = {"blk.0.attn_norm.bias", "blk.0.attn_qkv.bias",
                              "blk.0.attn_output.bias", "blk.0.ffn_norm.bias",
                              "blk.0.ffn_up.bias", "blk.0.ffn_down.bias", "output_norm.bias",
                              "blk.0.attn_qkv.weight"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        expect_refused(d, &(glm1_edit){.skip = required[i]}, WARD_EFORMAT, required[i],
                       required[i]);
    /* output.weight is optional: tied to the embeddings */
    const char *path = test_tmp_path("glm1-tied.gguf");
    if (write_glm1(d, &(glm1_edit){.skip = "output.weight"}, path)) {
        ward_model *m = NULL;
        ward_error err = {0};
        CHECK(ward_model_open(path, &m, &err) == WARD_OK, "tied output: %s", err.msg);
        ward_model_close(m);
        remove(path);
    }
}

int main(void) {
    fx_data d;
    if (!fx_load(&fx_glm, &d)) return test_summary();
    test_fixture(&d, 1);
    test_fixture(&d, 4);
    test_reference_matches_fixture(&d);
    ward_model *m = open_glm1(&d, &(glm1_edit){0});
    if (m) {
        test_prompt_length(&d, m, 1, 3);
        test_prompt_length(&d, m, 2, 4);
        test_prompt_length(&d, m, 4, 6);
        test_two_sequences(&d, m);
    }
    ward_model_close(m);
    test_bad_files(&d);
    fx_free(&d);
    /* p-tuning v2: a prefix cache in front of the prompt (the same math, other weights) */
    if (fx_load(&fx_glm_ptuning, &d)) {
        test_fixture(&d, 2);
        expect_refused(&d, &(glm1_edit){.skip = "blk.0.prefix_v"}, WARD_EFORMAT,
                       "blk.0.prefix_v", "prefix keys without values");
        fx_free(&d);
    }
    return test_summary();
}
