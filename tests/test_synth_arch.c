/* test_synth_arch.c: `ward synth` for every architecture: each file loads and runs, is the same
 * bytes for the same seed, and has the layout of llama.cpp's files of that architecture.
 *
 * 1. Every architecture x a few types: synth -> ward_model_open -> a 4-token prompt and two
 *    single-token steps -> finite, non-constant logits; the loaded hyper-parameters and layer
 *    slots are those of the family (fused q|k|v for chatglm, biases for qwen2 / internlm,
 *    ALiBi for 40-layer baichuan, rotary on half the head for chatglm; for chatglm1 fused q|k|v,
 *    LayerNorm and MLP biases, no gate, residual alpha sqrt(56), as many KV heads as heads).
 * 2. Determinism: the same seed gives the same bytes, another seed other bytes.
 * 3. A ChatGLM3-shaped synth file (n_embd 256, n_ff 512, 2 layers, 4 heads, 2 KV heads) has the
 *    tensor table and chatglm.* keys of llama.cpp's ../shared/models/random-chatglm-s11.gguf and
 *    loads into the same architecture row, hyper-parameters and layer slots.
 * 4. Parameters a family cannot have are refused with a message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf.h"
#include "harness.h"
#include "models/model.h"
#include "ward.h"

static bool arch_built(const char *name) { return model_arch_find(name) != NULL; }

/* Decode a prompt and two single tokens; every logit of every step must be finite and the
 * logits not all equal. */
static void run_model(const ward_model *m, const char *label) {
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = 16;
    cp.n_threads = 2;
    ward_context *ctx = NULL;
    ward_error err = {0};
    if (ward_context_open(m, &cp, &ctx, &err) != WARD_OK) {
        CHECK(false, "%s: context: %s", label, err.msg);
        return;
    }
    const int32_t n_vocab = ward_model_get_info(m)->n_vocab;
    const ward_token prompt[4] = {1, 300 % n_vocab, 260, 261}, steps[2] = {262, 3};
    for (int step = 0; step < 3; step++) {
        ward_batch b = {.n = step == 0 ? 4 : 1, .tokens = step == 0 ? prompt : &steps[step - 1]};
        if (ward_decode(ctx, &b) != WARD_OK) {
            CHECK(false, "%s: decode step %d: %s", label, step, ward_context_errmsg(ctx));
            break;
        }
        const float *lg = ward_context_logits(ctx, b.n - 1);
        bool finite = lg != NULL, varied = false;
        for (int32_t i = 0; lg && i < n_vocab; i++) {
            finite = finite && isfinite(lg[i]);
            varied = varied || lg[i] != lg[0];
        }
        CHECK(finite && varied, "%s: step %d: logits finite (%d) and not constant (%d)", label,
              step, finite, varied);
    }
    ward_context_close(ctx);
}

/* ---------------------------------------------------------------------------------------------
 * 1. Every architecture loads and runs
 * ------------------------------------------------------------------------------------------- */

typedef struct arch_case {
    const char *arch;
    int32_t n_layer;
    float alibi;
    bool fused_qkv, qkv_bias, o_bias, ffn_fused, alibi_on;
    int32_t rot_div; /* n_rot = head_dim / rot_div */
    bool glm1;       /* LayerNorm and MLP biases, no gate, residual alpha, n_head_kv = n_head */
} arch_case;

static const arch_case cases[] = {
    {"llama", 2, 0, false, false, false, false, false, 1, false},
    {"qwen2", 2, 0, false, true, false, false, false, 1, false},
    {"chatglm", 2, 0, true, true, false, true, false, 2, false},
    {"baichuan", 32, 0, false, false, false, false, false, 1, false},
    {"baichuan", 40, 0, false, false, false, false, true, 1, false},
    {"baichuan", 2, 8, false, false, false, false, true, 1, false}, /* ward's max_alibi_bias key */
    {"internlm", 2, 0, false, true, true, false, false, 1, false},
    {"chatglm1", 2, 0, true, true, true, false, false, 1, true},
};

static ward_synth_params small_params(const arch_case *c, ward_type type) {
    ward_synth_params p = ward_synth_default_params();
    p.arch = c->arch;
    p.n_vocab = 300;
    p.n_embd = 64;
    p.n_ff = 96;
    p.n_head = 4;
    p.n_head_kv = c->glm1 ? p.n_head : 2;
    p.n_layer = c->n_layer;
    p.n_ctx = 64;
    p.type = type;
    p.alibi_max_bias = c->alibi;
    p.seed = 11;
    return p;
}

static void check_layout(const ward_model *m, const arch_case *c, const char *label) {
    const model_hparams *hp = &m->hp;
    const model_layer *L = &m->layers[hp->n_layer - 1];
    CHECK(strcmp(m->arch->name, c->arch) == 0, "%s: architecture row %s", label, m->arch->name);
    CHECK(hp->n_rot == hp->head_dim / c->rot_div, "%s: n_rot %d, head_dim %d", label, hp->n_rot,
          hp->head_dim);
    CHECK((L->wqkv.data != NULL) == c->fused_qkv && (L->wq.data == NULL) == c->fused_qkv,
          "%s: fused q|k|v %d", label, L->wqkv.data != NULL);
    CHECK(((c->fused_qkv ? L->bqkv.data : L->bq.data) != NULL) == c->qkv_bias,
          "%s: q/k/v biases", label);
    CHECK((L->bo.data != NULL) == c->o_bias, "%s: output bias", label);
    CHECK(hp->ffn_fused == c->ffn_fused &&
              (L->ffn_gate.data == NULL) == (c->ffn_fused || c->glm1),
          "%s: fused gate|up %d", label, hp->ffn_fused);
    CHECK((L->attn_norm_b.data && L->ffn_norm_b.data && L->ffn_up_b.data && L->ffn_down_b.data &&
           m->output_norm_b.data) == c->glm1 &&
              (!c->glm1 || (fabsf(hp->residual_alpha - 7.4833148f) < 1e-5f &&
                            hp->n_head_kv == hp->n_head)),
          "%s: LayerNorm and MLP biases, residual alpha %g", label, hp->residual_alpha);
    CHECK((hp->alibi_max_bias > 0) == c->alibi_on && hp->no_rope == c->alibi_on,
          "%s: ALiBi %g", label, hp->alibi_max_bias);
}

static void test_every_arch(void) {
    static const ward_type types[] = {WARD_TYPE_F32, WARD_TYPE_F16, WARD_TYPE_Q8_0,
                                      WARD_TYPE_Q4_0};
    const char *path = test_tmp_path("synth-arch.gguf");
    for (size_t a = 0; a < sizeof cases / sizeof cases[0]; a++) {
        if (!arch_built(cases[a].arch)) {
            CHECK(false, "architecture %s is not in this build's table", cases[a].arch);
            continue;
        }
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            char label[96];
            snprintf(label, sizeof label, "%s/%d layers/%s", cases[a].arch, cases[a].n_layer,
                     ward_type_name(types[t]));
            ward_synth_params p = small_params(&cases[a], types[t]);
            ward_error err = {0};
            ward_model *m = NULL;
            if (ward_synth_write(&p, path, &err) != WARD_OK ||
                ward_model_open(path, &m, &err) != WARD_OK) {
                CHECK(false, "%s: %s", label, err.msg);
                continue;
            }
            check_layout(m, &cases[a], label);
            run_model(m, label);
            ward_model_close(m);
        }
    }
    remove(path);
}

/* ---------------------------------------------------------------------------------------------
 * 2. Deterministic bytes
 * ------------------------------------------------------------------------------------------- */

static bool same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    void *da = read_file(a, &na), *db = read_file(b, &nb);
    const bool same = da && db && na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return same;
}

static void test_deterministic(void) {
    char a[256], b[256];
    snprintf(a, sizeof a, "%s", test_tmp_path("synth-det-a.gguf"));
    snprintf(b, sizeof b, "%s", test_tmp_path("synth-det-b.gguf"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ward_synth_params p = small_params(&cases[i], WARD_TYPE_Q4_0);
        ward_error err = {0};
        bool ok = ward_synth_write(&p, a, &err) == WARD_OK && ward_synth_write(&p, b, &err) == 0;
        CHECK(ok && same_file(a, b), "%s: same seed, same bytes (%s)", cases[i].arch, err.msg);
        p.seed++;
        ok = ward_synth_write(&p, b, &err) == WARD_OK;
        CHECK(ok && !same_file(a, b), "%s: another seed, other bytes", cases[i].arch);
    }
    remove(a);
    remove(b);
}

/* ---------------------------------------------------------------------------------------------
 * 3. A ChatGLM3-shaped file is llama.cpp's chatglm layout
 * ------------------------------------------------------------------------------------------- */

static bool str_eq(gguf_str s, const char *c) {
    return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* Tensor tables equal as sets of (name, type, shape); every chatglm.* key of ref in g with the
 * same type, and the same value for the shape keys. */
static void compare_files(const gguf_file *ref, const gguf_file *g) {
    CHECK(ref->n_tensors == g->n_tensors, "tensor count %llu vs llama.cpp's %llu",
          (unsigned long long)g->n_tensors, (unsigned long long)ref->n_tensors);
    for (uint64_t i = 0; i < ref->n_tensors; i++) {
        const gguf_tensor *r = &ref->tensors[i];
        char name[96];
        snprintf(name, sizeof name, "%.*s", (int)r->name.len, r->name.ptr);
        const gguf_tensor *t = gguf_find_tensor(g, name);
        CHECK(t && t->type == r->type && t->n_dims == r->n_dims &&
                  memcmp(t->ne, r->ne, sizeof t->ne) == 0,
              "tensor %s: same type and shape as llama.cpp's", name);
    }
    static const char *const same_value[] = {
        "chatglm.embedding_length", "chatglm.block_count", "chatglm.feed_forward_length",
        "chatglm.attention.head_count", "chatglm.attention.head_count_kv",
        "chatglm.rope.dimension_count", "general.architecture"};
    for (uint64_t i = 0; i < ref->n_kv; i++) {
        const gguf_kv *r = &ref->kv[i];
        if (r->key.len < 8 || memcmp(r->key.ptr, "chatglm.", 8) != 0) continue;
        char key[96];
        snprintf(key, sizeof key, "%.*s", (int)r->key.len, r->key.ptr);
        const gguf_kv *k = gguf_find(g, key);
        CHECK(k && k->type == r->type, "key %s present with llama.cpp's type", key);
        for (size_t j = 0; k && j < sizeof same_value / sizeof *same_value; j++)
            if (strcmp(key, same_value[j]) == 0)
                CHECK(k->val.u64 == r->val.u64, "key %s: %llu vs llama.cpp's %llu", key,
                      (unsigned long long)k->val.u64, (unsigned long long)r->val.u64);
    }
    const gguf_kv *a = gguf_find(g, "general.architecture");
    CHECK(a && a->type == GGUF_VT_STR && str_eq(a->val.str, "chatglm"), "architecture chatglm");
}

/* Which layer slots a model fills: one bit per slot. */
static unsigned slot_mask(const model_layer *L) {
    const model_tensor *slots[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->bq,
                                   &L->bk, &L->bv, &L->wqkv, &L->bqkv, &L->bo, &L->attn_norm_b,
                                   &L->ffn_norm_b, &L->ffn_up_b, &L->ffn_down_b, &L->ffn_norm,
                                   &L->ffn_gate, &L->ffn_up, &L->ffn_down};
    unsigned mask = 0;
    for (size_t i = 0; i < sizeof slots / sizeof *slots; i++)
        if (slots[i]->data) mask |= 1u << i;
    return mask;
}

static void test_chatglm3_layout(void) {
    const char *rel = shared_path("models/random-chatglm-s11.gguf");
    if (!rel) return;
    char ref_path[1024];
    snprintf(ref_path, sizeof ref_path, "%s", rel);
    const char *path = test_tmp_path("synth-glm3.gguf");
    ward_synth_params p = ward_synth_default_params();
    p.arch = "chatglm"; /* the defaults are the shared file's shape */
    ward_error err = {0};
    gguf_file *ref = NULL, *g = NULL;
    ward_model *mr = NULL, *ms = NULL;
    if (ward_synth_write(&p, path, &err) || gguf_open(ref_path, &ref, &err) ||
        gguf_open(path, &g, &err) || ward_model_open(ref_path, &mr, &err) ||
        ward_model_open(path, &ms, &err)) {
        CHECK(false, "chatglm3 layout: %s", err.msg);
        goto done;
    }
    compare_files(ref, g);
    CHECK(mr->arch == ms->arch, "same architecture row");
    model_hparams a = mr->hp, b = ms->hp;
    a.n_ctx_train = b.n_ctx_train = 0; /* 512 there, 2048 here */
    a.rope_freq_base = b.rope_freq_base = 0; /* absent there (default 10000), written here */
    CHECK(memcmp(&a, &b, sizeof a) == 0, "same hyper-parameters once loaded");
    CHECK(mr->hp.n_rot == 32 && ms->hp.rope_freq_base == mr->hp.rope_freq_base,
          "rotary: 32 dims, base %g", ms->hp.rope_freq_base);
    for (int32_t l = 0; l < mr->hp.n_layer; l++)
        CHECK(slot_mask(&mr->layers[l]) == slot_mask(&ms->layers[l]),
              "layer %d: same slots filled (%x vs %x)", l, slot_mask(&ms->layers[l]),
              slot_mask(&mr->layers[l]));
    CHECK((mr->output.data != mr->tok_embd.data) == (ms->output.data != ms->tok_embd.data),
          "both have an output matrix");
    run_model(ms, "chatglm3-shaped synth");
done:
    ward_model_close(mr);
    ward_model_close(ms);
    gguf_close(ref);
    gguf_close(g);
    remove(path);
}

/* ---------------------------------------------------------------------------------------------
 * 4. Refused parameters
 * ------------------------------------------------------------------------------------------- */

static void expect_refused(const ward_synth_params *p, ward_status want, const char *needle,
                           const char *label) {
    ward_error err = {0};
    const char *path = test_tmp_path("synth-bad.gguf");
    ward_status st = ward_synth_write(p, path, &err);
    CHECK(st == want && strstr(err.msg, needle), "%s: status %d (%s)", label, st, err.msg);
    remove(path);
}

static void test_refused(void) {
    ward_synth_params p = ward_synth_default_params();
    p.arch = "gpt2";
    expect_refused(&p, WARD_EUNSUPPORTED, "gpt2", "unknown architecture");
    p.arch = "chatglm";
    p.n_embd = 24; /* heads of 6: rotary on 3 dims is no pairs */
    p.n_ff = 32;
    expect_refused(&p, WARD_EINVAL, "multiple of 4", "chatglm head size");
    p = ward_synth_default_params();
    p.arch = "chatglm1"; /* the defaults have 2 KV heads for 4 heads */
    expect_refused(&p, WARD_EINVAL, "no grouped-query", "chatglm1 KV heads");
    p.n_head_kv = p.n_head;
    p.n_embd = 24; /* heads of 6: 2-D rotary needs a multiple of 4 */
    p.n_ff = 32;
    expect_refused(&p, WARD_EINVAL, "multiple of 4", "chatglm1 head size");
    p = ward_synth_default_params();
    p.arch = "baichuan";
    expect_refused(&p, WARD_EINVAL, "32 layers", "baichuan depth");
    p.arch = "llama";
    p.alibi_max_bias = 8;
    expect_refused(&p, WARD_EINVAL, "ALiBi", "ALiBi on llama");
}

int main(void) {
    test_every_arch();
    test_deterministic();
    test_chatglm3_layout();
    test_refused();
    return test_summary();
}
