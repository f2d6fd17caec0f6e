/* test_model.c: loading models: good files load, bad ones give clear errors and never crash.
 *
 * Bad files are made from the real stories260K.gguf by copying it through the GGUF writer with
 * one edit (a key changed, a tensor dropped or retyped), so each case differs from a good file
 * in exactly the way it names. Truncations at many cut points and allocation failures at every
 * step complete the picture; run under ASan, a crash or leak fails the suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "harness.h"
#include "kernels/types.h"
#include "ward.h"

typedef struct edit {
    const char *key;       /* metadata key to change (NULL: none) */
    gguf_vtype type;       /* its new type: U32, F32 or STR */
    uint32_t u32;
    float f32;
    const char *str;
    const char *drop;      /* tensor to leave out */
    const char *retype;    /* tensor to declare as Q4_K (its bytes then no longer fit) */
    const char *expect;    /* substring the error message must contain */
    ward_status code;      /* expected status */
} edit;

static char *cstr(gguf_str s) {
    char *p = malloc(s.len + 1);
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

static void copy_kv(gguf_writer *w, const gguf_kv *kv, const char *key) {
    if (kv->type == GGUF_VT_STR) {
        char *v = cstr(kv->val.str);
        gguf_writer_set_str(w, key, v);
        free(v);
    } else if (kv->type == GGUF_VT_ARR && kv->val.arr.type == GGUF_VT_STR) {
        const uint64_t n = kv->val.arr.n;
        char **v = malloc(sizeof *v * n);
        for (uint64_t i = 0; i < n; i++) v[i] = cstr(kv->val.arr.strs[i]);
        gguf_writer_set_arr_str(w, key, (const char *const *)v, n);
        for (uint64_t i = 0; i < n; i++) free(v[i]);
        free(v);
    } else if (kv->type == GGUF_VT_ARR) {
        gguf_writer_set_arr(w, key, kv->val.arr.type, kv->val.arr.data, kv->val.arr.n);
    } else if (kv->type == GGUF_VT_F32) {
        gguf_writer_set_f32(w, key, (float)kv->val.f64);
    } else if (kv->type == GGUF_VT_U32) {
        gguf_writer_set_u32(w, key, (uint32_t)kv->val.u64);
    } else {
        CHECK(false, "copy: key %s has a type this test does not copy", key);
    }
}

/* Copy src to dst applying e. */
static bool write_edited(const char *src, const char *dst, const edit *e) {
    gguf_file *g;
    gguf_writer *w;
    ward_error err;
    if (gguf_open(src, &g, &err) || gguf_writer_open(dst, &w, &err)) return false;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        char *key = cstr(g->kv[i].key);
        if (!e->key || strcmp(key, e->key) != 0) copy_kv(w, &g->kv[i], key);
        free(key);
    }
    if (e->key && e->type == GGUF_VT_U32) gguf_writer_set_u32(w, e->key, e->u32);
    if (e->key && e->type == GGUF_VT_F32) gguf_writer_set_f32(w, e->key, e->f32);
    if (e->key && e->type == GGUF_VT_STR) gguf_writer_set_str(w, e->key, e->str);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        char *name = cstr(t->name);
        if (!e->drop || strcmp(name, e->drop) != 0) {
            bool re = e->retype && strcmp(name, e->retype) == 0;
            int64_t ne[4] = {re ? 256 : t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
            gguf_writer_add_tensor(w, name, re ? WARD_TYPE_Q4_K : t->type, t->n_dims, ne);
        }
        free(name);
    }
    bool ok = gguf_writer_write_header(w) == WARD_OK;
    for (uint64_t i = 0; ok && i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        char *name = cstr(t->name);
        if (!e->drop || strcmp(name, e->drop) != 0) {
            if (e->retype && strcmp(name, e->retype) == 0) {
                uint64_t nb;
                int64_t ne[4] = {256, t->ne[1], 1, 1};
                gguf_tensor_size(WARD_TYPE_Q4_K, t->n_dims, ne, &nb, NULL);
                void *zero = calloc(1, nb);
                ok = gguf_writer_write_tensor(w, zero, nb) == WARD_OK;
                free(zero);
            } else {
                ok = gguf_writer_write_tensor(w, t->data, t->nbytes) == WARD_OK;
            }
        }
        free(name);
    }
    ok = ok && gguf_writer_finish(w, &err) == WARD_OK;
    if (!ok) CHECK(false, "writing the edited copy failed");
    gguf_close(g);
    return ok;
}

static const edit edits[] = {
    {.drop = "blk.1.ffn_up.weight", .expect = "blk.1.ffn_up.weight", .code = WARD_EFORMAT},
    {.drop = "output_norm.weight", .expect = "output_norm.weight", .code = WARD_EFORMAT},
    {.key = "llama.embedding_length", .type = GGUF_VT_U32, .u32 = 65, .expect = "heads",
     .code = WARD_EFORMAT},
    {.key = "llama.embedding_length", .type = GGUF_VT_U32, .u32 = 128, .expect = "shape",
     .code = WARD_EFORMAT},
    {.key = "llama.block_count", .type = GGUF_VT_U32, .u32 = 1000000, .expect = "block_count",
     .code = WARD_EFORMAT},
    {.key = "llama.block_count", .type = GGUF_VT_U32, .u32 = 6, .expect = "blk.5",
     .code = WARD_EFORMAT},
    {.key = "llama.attention.head_count", .type = GGUF_VT_U32, .u32 = 0, .expect = "head_count",
     .code = WARD_EFORMAT},
    {.key = "llama.attention.head_count_kv", .type = GGUF_VT_U32, .u32 = 3, .expect = "KV heads",
     .code = WARD_EFORMAT},
    {.key = "llama.feed_forward_length", .type = GGUF_VT_U32, .u32 = 100, .expect = "ffn",
     .code = WARD_EFORMAT},
    {.key = "llama.rope.dimension_count", .type = GGUF_VT_U32, .u32 = 7,
     .expect = "dimension_count", .code = WARD_EFORMAT},
    {.key = "llama.attention.layer_norm_rms_epsilon", .type = GGUF_VT_F32, .f32 = -1.0f,
     .expect = "epsilon", .code = WARD_EFORMAT},
    {.key = "llama.embedding_length", .type = GGUF_VT_STR, .str = "64",
     .expect = "embedding_length", .code = WARD_EFORMAT},
    {.key = "general.architecture", .type = GGUF_VT_STR, .str = "gptj", .expect = "gptj",
     .code = WARD_EUNSUPPORTED},
    {.key = "tokenizer.ggml.model", .type = GGUF_VT_STR, .str = "bert", .expect = "bert",
     .code = WARD_EUNSUPPORTED},
    {.retype = "blk.0.attn_q.weight", .expect = "blk.0.attn_q.weight", .code = WARD_EFORMAT},
    {.key = "llama.rope.scaling.type", .type = GGUF_VT_STR, .str = "yarn", .expect = "yarn",
     .code = WARD_EUNSUPPORTED},
};

static void test_edits(const char *src) {
    const char *dst_tmp = test_tmp_path("edited.gguf");
    char dst[256];
    snprintf(dst, sizeof dst, "%s", dst_tmp);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const edit *e = &edits[i];
        if (!write_edited(src, dst, e)) continue;
        ward_model *m = NULL;
        ward_error err;
        ward_status st = ward_model_open(dst, &m, &err);
        CHECK(st == e->code && m == NULL, "edit %zu: status %d (%s), expected %d", i, (int)st,
              err.msg, (int)e->code);
        CHECK(st == WARD_OK || strstr(err.msg, e->expect) != NULL,
              "edit %zu: message \"%s\" should mention \"%s\"", i, err.msg, e->expect);
        CHECK(st == WARD_OK || strncmp(err.msg, dst, strlen(dst)) == 0,
              "edit %zu: message \"%s\" should start with the path", i, err.msg);
        ward_model_close(m);
    }
    remove(dst);
}

static void test_truncated(const char *src) {
    size_t size;
    char *data = read_file(src, &size);
    if (!data) return;
    char dst[256];
    snprintf(dst, sizeof dst, "%s", test_tmp_path("truncated.gguf"));
    int n_cuts = 0, n_errors = 0;
    for (size_t cut = 0; cut < size; cut += cut < 4096 ? 61 : size / 97) {
        FILE *f = fopen(dst, "wb");
        fwrite(data, 1, cut, f);
        fclose(f);
        ward_model *m = NULL;
        ward_error err;
        n_cuts++;
        n_errors += ward_model_open(dst, &m, &err) == WARD_EFORMAT && m == NULL;
        ward_model_close(m);
    }
    CHECK(n_errors == n_cuts, "truncated model: %d of %d cut points gave EFORMAT", n_errors,
          n_cuts);
    remove(dst);
    free(data);
}

/* One model open for test_oom_loop: a failed open must leave no model behind. */
static int open_and_close(void *path) {
    ward_model *m = NULL;
    ward_error err;
    ward_status st = ward_model_open(path, &m, &err);
    CHECK(st == WARD_OK || m == NULL, "a failed open leaves no model");
    ward_model_close(m);
    return st;
}

static void test_open_oom(const char *src) {
    const long n = test_oom_loop(open_and_close, (void *)src, 100000, "model open");
    CHECK(n > 1, "model open succeeds once allocations stop failing (%ld)", n);
}

/* The same for a Q4_0 model, whose matrices are repacked at load: every packed buffer's
 * allocation failing in turn gives ENOMEM and frees what was packed before it. */
static void test_open_oom_packed(void) {
    const char *p = shared_path("models/stories260K-ff192-Q4_0.gguf");
    if (!p) return;
    char src[4096];
    snprintf(src, sizeof src, "%s", p);
    ward_model *m = NULL;
    ward_error err;
    CHECK(ward_model_open(src, &m, &err) == WARD_OK && ward_model_get_info(m)->n_packed > 0,
          "the Q4_0 model is packed: %s", m ? "" : err.msg);
    ward_model_close(m);
    const long n = test_oom_loop(open_and_close, src, 100000, "packed model open");
    CHECK(n > 1, "packed model open succeeds once allocations stop failing (%ld)", n);
}

static void test_good(const char *src) {
    ward_model *m = NULL;
    ward_error err;
    CHECK(ward_model_open(src, &m, &err) == WARD_OK, "open: %s", err.msg);
    if (!m) return;
    const ward_model_info *in = ward_model_get_info(m);
    CHECK(strcmp(in->arch, "llama") == 0 && in->n_embd == 64 && in->n_layer == 5 &&
              in->n_head == 8 && in->n_head_kv == 4 && in->n_ff == 172 && in->n_vocab == 512,
          "stories260K hyper-parameters");
    CHECK(in->main_type == WARD_TYPE_F32, "stories260K is F32");
    ward_model_close(m);
    ward_error e2;
    CHECK(ward_model_open("/nonexistent/model.gguf", &m, &e2) == WARD_EIO && m == NULL &&
              strstr(e2.msg, "/nonexistent/model.gguf"),
          "missing file: EIO naming the path");
}

int main(void) {
    const char *p = shared_path("models/stories260K.gguf");
    if (p) {
        char src[4096];
        snprintf(src, sizeof src, "%s", p);
        test_good(src);
        test_edits(src);
        test_truncated(src);
        test_open_oom(src);
        test_open_oom_packed();
    }
    return test_summary();
}
