/* test_convert.c: HuggingFace checkpoints to GGUF (ward_convert) and loaded directly
 * (ward_model_open on a directory, ward_model_open_ex with a load-time recipe).
 *
 *   - hf/stories260K loaded directly reproduces golden stories260K-once (prompt tokens, logits
 *     within 1e-3, the whole greedy continuation); hf/stories260K-bf16 reproduces
 *     stories260K-hf-bf16-once ("BF16 weights, computed in F32": loaded with the f32 recipe).
 *   - Converted to F32, hf/stories260K is tensor for tensor (names, types, shapes, bytes)
 *     stories260K.gguf, and its tokenizer keys give the same vocabulary.
 *   - An HF checkpoint written here from stories260K-ff192.gguf (rows divide into 32-blocks;
 *     q/k rows un-permuted, names mapped back) converts back to that file's tensors in F32, and
 *     to what ward_quantize makes of it in q8_0 and q4_0; loading it with the q8_0 recipe gives
 *     the logits of the quantized GGUF.
 *   - Bad checkpoints fail with messages naming the problem; every allocation of a direct load
 *     may fail (OOM loop).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "formats/hf_config.h"
#include "harness.h"
#include "tokenizer/tok.h"
#include "ward.h"

/* ---------------------------------------------------------------------------------------------
 * Golden cases through a directory
 * ------------------------------------------------------------------------------------------- */

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static int32_t *json_ints(const cJSON *arr, int *n) {
    *n = cJSON_GetArraySize(arr);
    int32_t *v = malloc(sizeof *v * (size_t)(*n > 0 ? *n : 1));
    for (int i = 0; i < *n; i++) v[i] = (int32_t)cJSON_GetArrayItem(arr, i)->valueint;
    return v;
}

/* Prompt tokens, all-position logits within tol, and the full greedy continuation. */
static void golden_dir(const char *dir_rel, const char *recipe, const char *golden, float tol) {
    char rel[256], dir[1024];
    snprintf(rel, sizeof rel, "models/%s", dir_rel);
    const char *p = shared_path(rel);
    if (!p) return;
    snprintf(dir, sizeof dir, "%s", p);
    snprintf(rel, sizeof rel, "golden/%s.json", golden);
    if (!(p = shared_path(rel))) return;
    size_t size;
    char *text = read_file(p, &size);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!j) return;
    snprintf(rel, sizeof rel, "golden/%s", cJSON_GetObjectItem(j, "logits_file")->valuestring);
    float *ref = (p = shared_path(rel)) ? read_file(p, &size) : NULL;
    int n_prompt, n_greedy;
    int32_t *prompt = json_ints(cJSON_GetObjectItem(j, "prompt_tokens"), &n_prompt);
    int32_t *greedy = json_ints(cJSON_GetObjectItem(j, "greedy_tokens"), &n_greedy);
    const int n_vocab = cJSON_GetObjectItem(j, "n_vocab")->valueint;
    const char *text_in = cJSON_GetObjectItem(j, "prompt")->valuestring;

    ward_model_params mp = ward_model_default_params();
    mp.ftype = recipe ? ward_ftype_from_name(recipe) : NULL;
    ward_model *m = NULL;
    ward_context *ctx = NULL;
    ward_error err;
    if (!ref) goto done;
    if (ward_model_open_ex(dir, &mp, &m, &err)) {
        CHECK(false, "%s: open: %s", dir_rel, err.msg);
        goto done;
    }
    ward_token toks[512];
    size_t n = 0;
    bool same = ward_tokenize(m, text_in, strlen(text_in), WARD_TOKENIZE_ADD_BOS, toks, 512,
                              &n) == WARD_OK && n == (size_t)n_prompt;
    for (size_t i = 0; same && i < n; i++) same = toks[i] == prompt[i];
    CHECK(same, "%s: prompt tokens differ from %s", dir_rel, golden);
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = 512;
    cp.n_outputs = 512;
    if (!same || ward_context_open(m, &cp, &ctx, &err)) goto done;
    bool want[512];
    for (int i = 0; i < n_prompt; i++) want[i] = true;
    ward_batch b = {.n = n_prompt, .tokens = toks, .want_logits = want};
    if (ward_decode(ctx, &b)) {
        CHECK(false, "%s: decode: %s", dir_rel, ward_context_errmsg(ctx));
        goto done;
    }
    float max_diff = 0;
    for (int i = 0; i < n_prompt; i++) {
        const float *ours = ward_context_logits(ctx, i);
        for (int v = 0; v < n_vocab; v++) {
            float d = fabsf(ours[v] - ref[(size_t)i * n_vocab + v]);
            if (!(d <= max_diff)) max_diff = d;
        }
    }
    printf("%-22s %-5s vs %-26s max |logit diff| %.2e\n", dir_rel, recipe ? recipe : "auto",
           golden, (double)max_diff);
    CHECK(max_diff <= tol, "%s: logits differ from %s by %g", dir_rel, golden, (double)max_diff);
    const float *logits = ward_context_logits(ctx, n_prompt - 1);
    int i = 0;
    for (; i < n_greedy; i++) {
        ward_token t = argmax(logits, n_vocab);
        if (t != greedy[i]) break;
        if (ward_token_is_eog(m, t) || i == n_greedy - 1) {
            i++;
            break;
        }
        ward_batch one = {.n = 1, .tokens = &t};
        if (ward_decode(ctx, &one)) break;
        logits = ward_context_logits(ctx, 0);
    }
    CHECK(i == n_greedy, "%s: greedy continuation differs at token %d of %d", dir_rel, i,
          n_greedy);
done:
    ward_context_close(ctx);
    ward_model_close(m);
    free(ref);
    free(prompt);
    free(greedy);
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------------------------------------
 * Comparing GGUF files
 * ------------------------------------------------------------------------------------------- */

/* Same tensor set with the same types, shapes and bytes (order may differ). */
static void same_tensors(const char *what, const char *a_path, const char *b_path) {
    gguf_file *a = NULL, *b = NULL;
    ward_error err;
    if (gguf_open(a_path, &a, &err) || gguf_open(b_path, &b, &err)) {
        CHECK(false, "%s: %s", what, err.msg);
        goto done;
    }
    CHECK(a->n_tensors == b->n_tensors, "%s: %llu vs %llu tensors", what,
          (unsigned long long)a->n_tensors, (unsigned long long)b->n_tensors);
    int bad = 0;
    for (uint64_t i = 0; i < a->n_tensors; i++) {
        const gguf_tensor *t = &a->tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        const gguf_tensor *u = gguf_find_tensor(b, name);
        bool ok = u && u->type == t->type && u->n_dims == t->n_dims &&
                  memcmp(u->ne, t->ne, sizeof t->ne) == 0 && u->nbytes == t->nbytes &&
                  memcmp(u->data, t->data, t->nbytes) == 0;
        if (!ok && bad++ < 5)
            CHECK(false, "%s: tensor %s differs (%s vs %s)", what, name,
                  ward_type_name(t->type), u ? ward_type_name(u->type) : "missing");
    }
    CHECK(bad == 0, "%s: %d tensors differ", what, bad);
done:
    gguf_close(a);
    gguf_close(b);
}

static bool same_kv(const gguf_file *a, const gguf_file *b, const char *key) {
    const gguf_kv *x = gguf_find(a, key), *y = gguf_find(b, key);
    if (!x || !y || x->type != y->type) return false;
    if (x->type == GGUF_VT_STR)
        return x->val.str.len == y->val.str.len &&
               memcmp(x->val.str.ptr, y->val.str.ptr, x->val.str.len) == 0;
    if (x->type != GGUF_VT_ARR) return x->val.u64 == y->val.u64;
    if (x->val.arr.type != y->val.arr.type || x->val.arr.n != y->val.arr.n) return false;
    for (uint64_t i = 0; i < x->val.arr.n; i++) {
        if (x->val.arr.type == GGUF_VT_STR) {
            if (x->val.arr.strs[i].len != y->val.arr.strs[i].len ||
                memcmp(x->val.arr.strs[i].ptr, y->val.arr.strs[i].ptr, x->val.arr.strs[i].len))
                return false;
        } else if (gguf_arr_f32(x, i) != gguf_arr_f32(y, i)) {
            return false;
        }
    }
    return true;
}

static void test_convert_f32(void) {
    char ref[1024], dir[1024];
    const char *p = shared_path("models/stories260K.gguf");
    if (!p) return;
    snprintf(ref, sizeof ref, "%s", p);
    if (!(p = shared_path("models/hf/stories260K"))) return;
    snprintf(dir, sizeof dir, "%s", p);
    char out[256];
    snprintf(out, sizeof out, "%s", test_tmp_path("s260-f32.gguf"));
    ward_convert_params cp = ward_convert_default_params();
    cp.ftype = ward_ftype_from_name("f32");
    ward_error err;
    if (ward_convert(dir, out, &cp, &err)) {
        CHECK(false, "convert stories260K: %s", err.msg);
        return;
    }
    same_tensors("stories260K f32", out, ref);
    gguf_file *a = NULL, *b = NULL;
    if (!gguf_open(out, &a, &err) && !gguf_open(ref, &b, &err)) {
        static const char *const keys[] = {
            "tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
            "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id",
            "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
            "general.architecture", "llama.embedding_length", "llama.block_count",
            "llama.attention.head_count", "llama.attention.head_count_kv",
            "llama.feed_forward_length", "llama.context_length", "llama.rope.dimension_count",
            "llama.attention.layer_norm_rms_epsilon"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
            CHECK(same_kv(a, b, keys[i]), "stories260K f32: %s differs", keys[i]);
        const gguf_kv *ft = gguf_find(a, "general.file_type");
        CHECK(ft && ft->val.u64 == 0, "general.file_type 0 (all F32)");
        CHECK(!gguf_find(a, "general.quantization_version"), "no quantization_version for F32");
    }
    gguf_close(a);
    gguf_close(b);
    /* and the vocabulary built from the keys */
    ward_tokenizer *ta = NULL, *tb = NULL;
    if (!ward_tokenizer_open(out, &ta, &err) && !ward_tokenizer_open(ref, &tb, &err)) {
        const char *s = "Once upon a time, Lily saw a big red ball. \"Hi!\" 123 \xc3\xa9\xe2\x82\xac";
        ward_token x[256], y[256];
        size_t nx = 0, ny = 0;
        ward_tokenizer_encode(ta, s, strlen(s), WARD_TOKENIZE_ADD_BOS, x, 256, &nx);
        ward_tokenizer_encode(tb, s, strlen(s), WARD_TOKENIZE_ADD_BOS, y, 256, &ny);
        CHECK(nx == ny && memcmp(x, y, nx * sizeof *x) == 0, "exported vocab encodes the same");
    } else {
        CHECK(false, "tokenizer: %s", err.msg);
    }
    ward_tokenizer_close(ta);
    ward_tokenizer_close(tb);
    remove(out);
}

/* ---------------------------------------------------------------------------------------------
 * Writing HF checkpoints from a GGUF model (names mapped back, llama's q/k rows un-permuted)
 * ------------------------------------------------------------------------------------------- */

typedef struct hf_mutation {
    const char *drop;      /* HF tensor left out */
    const char *bad_shape; /* HF tensor written with one row fewer */
    const char *bad_dtype; /* HF tensor written as I32 */
    const char *config_extra; /* text added to config.json's object */
    const char *arch;      /* architectures[0] instead of LlamaForCausalLM */
    const char *act;       /* hidden_act instead of silu */
} hf_mutation;

typedef struct st_entry {
    char name[128];
    const char *dtype;
    int64_t shape[2];
    int n_dims;
    uint8_t *data;
    size_t nbytes;
} st_entry;

static bool write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, n, f) == n;
    if (f) ok = fclose(f) == 0 && ok;
    return ok;
}

static bool write_safetensors(const char *path, st_entry *e, int n) {
    size_t cap = 65536, len = 0, off = 0;
    char *h = malloc(cap);
    len += (size_t)snprintf(h + len, cap - len, "{");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(h + len, cap - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                                i ? "," : "", e[i].name, e[i].dtype);
        for (int d = 0; d < e[i].n_dims; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "",
                                    (long long)e[i].shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%zu,%zu]}", off,
                                off + e[i].nbytes);
        off += e[i].nbytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8) h[len++] = ' ';
    FILE *f = fopen(path, "wb");
    uint64_t hl = len;
    bool ok = f && fwrite(&hl, 8, 1, f) == 1 && fwrite(h, 1, len, f) == len;
    for (int i = 0; ok && i < n; i++) ok = fwrite(e[i].data, 1, e[i].nbytes, f) == e[i].nbytes;
    if (f) ok = fclose(f) == 0 && ok;
    free(h);
    return ok;
}

/* dir/ from the llama GGUF at src (F32), its tokenizer.model taken from tok_dir. */
static bool make_hf_dir(const char *src, const char *tok_dir, const char *dir,
                        const hf_mutation *mu) {
    gguf_file *g = NULL;
    ward_error err;
    mkdir(dir, 0755);
    if (gguf_open(src, &g, &err)) {
        CHECK(false, "%s", err.msg);
        return false;
    }
    uint32_t n_embd = 0, n_ff = 0, n_layer = 0, n_head = 0, n_head_kv = 0;
    gguf_get_u32(g, "llama.embedding_length", true, &n_embd, &err);
    gguf_get_u32(g, "llama.feed_forward_length", true, &n_ff, &err);
    gguf_get_u32(g, "llama.block_count", true, &n_layer, &err);
    gguf_get_u32(g, "llama.attention.head_count", true, &n_head, &err);
    gguf_get_u32(g, "llama.attention.head_count_kv", true, &n_head_kv, &err);
    const gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
    char path[1024], cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\": [\"%s\"], \"model_type\": \"llama\", \"hidden_size\": %u, "
             "\"intermediate_size\": %u, \"num_hidden_layers\": %u, \"num_attention_heads\": %u,"
             " \"num_key_value_heads\": %u, \"vocab_size\": %lld, \"max_position_embeddings\": "
             "2048, \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"hidden_act\": \"%s\", "
             "\"tie_word_embeddings\": false, \"bos_token_id\": 1, \"eos_token_id\": 2%s}",
             mu && mu->arch ? mu->arch : "LlamaForCausalLM", n_embd, n_ff, n_layer, n_head,
             n_head_kv, (long long)emb->ne[1], mu && mu->act ? mu->act : "silu",
             mu && mu->config_extra ? mu->config_extra : "");
    snprintf(path, sizeof path, "%s/config.json", dir);
    bool ok = write_file(path, cfg, strlen(cfg));
    size_t tsize;
    snprintf(path, sizeof path, "%s/tokenizer.model", tok_dir);
    void *tok = read_file(path, &tsize);
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    ok = ok && tok && write_file(path, tok, tsize);
    free(tok);

    hf_config hc = {.n_head = (int32_t)n_head, .n_head_kv = (int32_t)n_head_kv};
    snprintf(hc.arch, sizeof hc.arch, "LlamaForCausalLM");
    const hf_arch *a = hf_arch_find(&hc);
    st_entry *e = calloc(g->n_tensors, sizeof *e);
    int n = 0;
    for (size_t r = 0; r < a->n_names; r++) {
        const hf_name_row *row = &a->names[r];
        if (!row->gguf) continue;
        const bool layered = strstr(row->gguf, "%d") != NULL;
        for (uint32_t l = 0; l < (layered ? n_layer : 1); l++) {
            char gname[128], hname[128];
            const char *gh = strstr(row->gguf, "%d"), *hh = strstr(row->hf, "%d");
            if (gh) snprintf(gname, sizeof gname, "%.*s%u%s", (int)(gh - row->gguf), row->gguf, l, gh + 2);
            else snprintf(gname, sizeof gname, "%s", row->gguf);
            if (hh) snprintf(hname, sizeof hname, "%.*s%u%s", (int)(hh - row->hf), row->hf, l, hh + 2);
            else snprintf(hname, sizeof hname, "%s", row->hf);
            const gguf_tensor *t = gguf_find_tensor(g, gname);
            if (!t || (mu && mu->drop && strcmp(mu->drop, hname) == 0)) continue;
            st_entry *x = &e[n++];
            snprintf(x->name, sizeof x->name, "%s", hname);
            x->dtype = mu && mu->bad_dtype && strcmp(mu->bad_dtype, hname) == 0 ? "I32" : "F32";
            x->n_dims = (int)t->n_dims;
            const int64_t rows = t->ne[1], cols = t->ne[0];
            x->shape[0] = t->n_dims == 1 ? cols : rows;
            x->shape[1] = cols;
            const int32_t heads = hf_permute_heads(&hc, row->permute);
            const size_t row_bytes = (size_t)cols * 4;
            x->nbytes = t->nbytes;
            x->data = malloc(t->nbytes);
            for (int64_t i = 0; i < (t->n_dims == 1 ? 1 : rows); i++) {
                /* GGUF row i came from HF row hf_permute_row(i) */
                const int64_t hr = heads > 0 ? hf_permute_row(i, rows, heads) : i;
                memcpy(x->data + (size_t)hr * row_bytes, (const uint8_t *)t->data + i * row_bytes,
                       row_bytes);
            }
            if (mu && mu->bad_shape && strcmp(mu->bad_shape, hname) == 0) {
                x->shape[0]--;
                x->nbytes -= row_bytes;
            }
        }
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ok = ok && write_safetensors(path, e, n);
    for (int i = 0; i < n; i++) free(e[i].data);
    free(e);
    gguf_close(g);
    CHECK(ok, "writing the HF checkpoint %s", dir);
    return ok;
}

static void remove_hf_dir(const char *dir) {
    static const char *const files[] = {"config.json", "tokenizer.model", "model.safetensors"};
    char path[1024];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
}

/* Logits of the prompt's last position. */
static bool last_logits(const ward_model *m, float *out, int n_vocab) {
    ward_context *ctx = NULL;
    ward_error err;
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = 64;
    if (ward_context_open(m, &cp, &ctx, &err)) return false;
    const ward_token toks[] = {1, 403, 407, 261, 378, 432, 383};
    ward_batch b = {.n = 7, .tokens = toks};
    bool ok = ward_decode(ctx, &b) == WARD_OK;
    if (ok) memcpy(out, ward_context_logits(ctx, 6), (size_t)n_vocab * sizeof *out);
    ward_context_close(ctx);
    return ok;
}

static void test_roundtrip_and_quantized(void) {
    char src[1024], tok_dir[1024], dir[256];
    const char *p = shared_path("models/stories260K-ff192.gguf");
    if (!p) return;
    snprintf(src, sizeof src, "%s", p);
    if (!(p = shared_path("models/hf/stories260K"))) return;
    snprintf(tok_dir, sizeof tok_dir, "%s", p);
    snprintf(dir, sizeof dir, "%s", test_tmp_path("hf-ff192"));
    if (!make_hf_dir(src, tok_dir, dir, NULL)) return;
    ward_error err;
    static const char *const recipes[] = {"f32", "q8_0", "q4_0"};
    for (size_t r = 0; r < sizeof recipes / sizeof *recipes; r++) {
        char conv[256], quant[256], what[64];
        snprintf(conv, sizeof conv, "%s", test_tmp_path("conv.gguf"));
        snprintf(quant, sizeof quant, "%s", test_tmp_path("quant.gguf"));
        ward_convert_params cp = ward_convert_default_params();
        cp.ftype = ward_ftype_from_name(recipes[r]);
        if (ward_convert(dir, conv, &cp, &err)) {
            CHECK(false, "convert %s: %s", recipes[r], err.msg);
            continue;
        }
        snprintf(what, sizeof what, "ff192 %s", recipes[r]);
        if (r == 0) {
            same_tensors(what, conv, src);
        } else {
            ward_quantize_params qp = ward_quantize_default_params();
            qp.ftype = cp.ftype;
            if (ward_quantize(src, quant, &qp, &err)) {
                CHECK(false, "quantize %s: %s", recipes[r], err.msg);
                continue;
            }
            same_tensors(what, conv, quant);
            gguf_file *g = NULL;
            if (!gguf_open(conv, &g, &err)) {
                const gguf_kv *qv = gguf_find(g, "general.quantization_version");
                CHECK(qv && qv->val.u64 == 2, "%s: general.quantization_version 2", what);
            }
            gguf_close(g);
        }
        if (r == 1) { /* load-time q8_0 == the quantized GGUF */
            ward_model *a = NULL, *b = NULL;
            ward_model_params mp = ward_model_default_params();
            mp.ftype = cp.ftype;
            float la[512], lb[512];
            if (ward_model_open_ex(dir, &mp, &a, &err) || ward_model_open(quant, &b, &err)) {
                CHECK(false, "load q8_0: %s", err.msg);
            } else {
                CHECK(ward_model_get_info(a)->main_type == WARD_TYPE_Q8_0, "loaded as Q8_0");
                bool ok = last_logits(a, la, 512) && last_logits(b, lb, 512);
                CHECK(ok && memcmp(la, lb, sizeof la) == 0,
                      "--quant q8_0 gives the logits of the quantized GGUF");
            }
            ward_model_close(a);
            ward_model_close(b);
        }
        remove(conv);
        remove(quant);
    }
    /* a GGUF file cannot take a load-time recipe */
    ward_model *m = NULL;
    ward_model_params mp = ward_model_default_params();
    mp.ftype = ward_ftype_from_name("q8_0");
    CHECK(ward_model_open_ex(src, &mp, &m, &err) == WARD_EUNSUPPORTED && !m,
          "load-time recipe on a GGUF file is refused");
    /* rows that do not divide into blocks (stories260K's n_ff 172) fall back to F16, as in
     * ward_quantize and llama.cpp */
    if ((p = shared_path("models/hf/stories260K"))) {
        CHECK(ward_model_open_ex(p, &mp, &m, &err) == WARD_OK &&
                  ward_model_get_info(m)->main_type == WARD_TYPE_Q8_0,
              "stories260K in q8_0: %s", err.msg);
        ward_model_close(m);
    }
    remove_hf_dir(dir);
}

/* ---------------------------------------------------------------------------------------------
 * Bad checkpoints
 * ------------------------------------------------------------------------------------------- */

static void expect_fail(const char *src, const char *tok_dir, const hf_mutation *mu,
                        ward_status code, const char *needle1, const char *needle2) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmp_path("hf-bad"));
    if (!make_hf_dir(src, tok_dir, dir, mu)) return;
    ward_model *m = NULL;
    ward_error err;
    ward_status st = ward_model_open(dir, &m, &err);
    CHECK(st == code && !m && strstr(err.msg, needle1) && (!needle2 || strstr(err.msg, needle2)),
          "expected %s naming \"%s\": got %s: %s", ward_status_str(code), needle1,
          ward_status_str(st), err.msg);
    char out[256];
    snprintf(out, sizeof out, "%s", test_tmp_path("bad.gguf"));
    st = ward_convert(dir, out, NULL, &err);
    CHECK(st == code && strstr(err.msg, needle1) && access(out, F_OK) != 0,
          "convert: expected %s naming \"%s\": got %s", ward_status_str(code), needle1, err.msg);
    ward_model_close(m);
    remove_hf_dir(dir);
}

static void test_bad_inputs(void) {
    char src[1024], tok_dir[1024];
    const char *p = shared_path("models/stories260K-ff192.gguf");
    if (!p) return;
    snprintf(src, sizeof src, "%s", p);
    if (!(p = shared_path("models/hf/stories260K"))) return;
    snprintf(tok_dir, sizeof tok_dir, "%s", p);

    /* no config.json: an empty directory */
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmp_path("hf-empty"));
    mkdir(dir, 0755);
    ward_model *m = NULL;
    ward_error err;
    CHECK(ward_model_open(dir, &m, &err) == WARD_EINVAL && strstr(err.msg, "config.json"),
          "missing config.json: %s", err.msg);
    CHECK(ward_convert(dir, test_tmp_path("x.gguf"), NULL, &err) == WARD_EINVAL &&
              strstr(err.msg, "config.json"),
          "convert, missing config.json: %s", err.msg);
    rmdir(dir);

    expect_fail(src, tok_dir,
                &(hf_mutation){.config_extra = ", \"rope_scaling\": {\"type\": \"linear\", "
                                               "\"factor\": 2.0}"},
                WARD_EUNSUPPORTED, "rope_scaling", "linear");
    expect_fail(src, tok_dir, &(hf_mutation){.drop = "model.layers.3.mlp.up_proj.weight"},
                WARD_EFORMAT, "model.layers.3.mlp.up_proj.weight", "missing");
    expect_fail(src, tok_dir, &(hf_mutation){.bad_shape = "model.layers.1.self_attn.k_proj.weight"},
                WARD_EFORMAT, "model.layers.1.self_attn.k_proj.weight", "shape");
    expect_fail(src, tok_dir, &(hf_mutation){.bad_dtype = "model.norm.weight"},
                WARD_EUNSUPPORTED, "model.norm.weight", "I32");
    expect_fail(src, tok_dir, &(hf_mutation){.arch = "GPT2LMHeadModel"}, WARD_EUNSUPPORTED,
                "GPT2LMHeadModel", "not supported");
    expect_fail(src, tok_dir, &(hf_mutation){.act = "gelu"},
                WARD_EUNSUPPORTED, "hidden_act", "gelu");
}

/* ---------------------------------------------------------------------------------------------
 * tokenizer.json export: the GGUF keys give a vocabulary that encodes as the file does
 * ------------------------------------------------------------------------------------------- */

static void test_export_json(const char *rel, const char *want_model, const char *want_pre) {
    const char *p = shared_path(rel);
    if (!p) return;
    char dir[1024], json[1100];
    snprintf(dir, sizeof dir, "%s", p);
    snprintf(json, sizeof json, "%s/tokenizer.json", dir);
    gguf_writer *w = NULL;
    gguf_file *g = NULL;
    tok_vocab *a = NULL, *b = NULL;
    void *blob = NULL;
    size_t size = 0;
    ward_error err;
    tok_export_opts o = {.bos = -1, .eos = -1};
    if (gguf_writer_open_memory("vocab", &w, &err) || tok_export_dir(dir, &o, w, &err) ||
        gguf_writer_write_header(w) || gguf_writer_finish_memory(w, &blob, &size, &err) ||
        gguf_parse(blob, size, &g, &err) || tok_vocab_from_gguf(g, &a, &err) ||
        tok_load_hf_json(json, &b, &err)) {
        CHECK(false, "%s: %s", rel, w ? gguf_writer_errmsg(w) : err.msg);
        if (!blob) gguf_writer_close(w);
        goto done;
    }
    gguf_str model = {0}, pre = {0};
    gguf_get_str(g, "tokenizer.ggml.model", true, &model, &err);
    gguf_get_str(g, "tokenizer.ggml.pre", true, &pre, &err);
    CHECK(model.len == strlen(want_model) && !memcmp(model.ptr, want_model, model.len) &&
              pre.len == strlen(want_pre) && !memcmp(pre.ptr, want_pre, pre.len),
          "%s: model \"%.*s\" pre \"%.*s\"", rel, (int)model.len, model.ptr, (int)pre.len,
          pre.ptr);
    static const char *const texts[] = {
        "Hello world! It's 2024, isn't it?  Spaces   and\ttabs\n\nnew lines.",
        ("\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\xe3\x80\x82"
         "\xe4\xbb\x8a\xe5\xa4\xa9\xe5\xa4\xa9\xe6\xb0\x94\xe5\xbe\x88\xe5\xa5\xbd 123456"),
        "code: for (int i = 0; i < n; i++) { x += y[i]; } // done \xf0\x9f\x9a\x80",
    };
    CHECK(tok_n_vocab(a) == tok_n_vocab(b), "%s: vocabulary size", rel);
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        int32_t x[512], y[512];
        size_t nx = 0, ny = 0;
        tok_encode(a, texts[i], strlen(texts[i]), TOK_ADD_BOS, x, 512, &nx);
        tok_encode(b, texts[i], strlen(texts[i]), TOK_ADD_BOS, y, 512, &ny);
        CHECK(nx == ny && !memcmp(x, y, nx * sizeof *x), "%s: text %zu encodes differently",
              rel, i);
    }
done:
    tok_vocab_free(a);
    tok_vocab_free(b);
    gguf_close(g);
    ward_free_aligned(blob);
}

/* ---------------------------------------------------------------------------------------------
 * The ward command: convert, run --quant
 * ------------------------------------------------------------------------------------------- */

static void test_cli(void) {
    const char *p = shared_path("models/hf/stories260K");
    if (!p) return;
    char dir[1024], cmd[4096], out[8192], gguf[256];
    snprintf(dir, sizeof dir, "%s", p);
    snprintf(gguf, sizeof gguf, "%s", test_tmp_path("cli.gguf"));
    snprintf(cmd, sizeof cmd, "%s convert %s -o %s --type f16 -t 2 2>&1", WARD_BINARY, dir, gguf);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 && strstr(out, "100%") && access(gguf, F_OK) == 0,
          "ward convert: %s", out);
    remove(gguf);
    snprintf(cmd, sizeof cmd, "%s run -m %s --quant f16 -p 'Once upon a time' -n 12 --temp 0 "
             "2>/dev/null", WARD_BINARY, dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 0 &&
              strstr(out, "Once upon a time, there was a little girl named Lily."),
          "ward run --quant f16 on a directory: %s", out);
    snprintf(cmd, sizeof cmd, "%s run -m %s --quant q9_9 -p x 2>&1", WARD_BINARY, dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 2 && strstr(out, "q9_9"), "unknown --quant: %s", out);
    snprintf(cmd, sizeof cmd, "%s convert %s 2>&1", WARD_BINARY, dir);
    CHECK(run_cmd(cmd, out, sizeof out) == 2, "convert without -o: %s", out);
    snprintf(cmd, sizeof cmd, "%s convert /nonexistent-dir -o %s 2>&1", WARD_BINARY, gguf);
    CHECK(run_cmd(cmd, out, sizeof out) == 1 && strstr(out, "/nonexistent-dir"),
          "convert of a missing directory: %s", out);
}

/* ---------------------------------------------------------------------------------------------
 * OOM
 * ------------------------------------------------------------------------------------------- */

/* One directory load for test_oom_loop: a failed load must leave no model behind. */
static int open_and_close(void *path) {
    ward_model *m = NULL;
    ward_error err;
    ward_status st = ward_model_open(path, &m, &err);
    CHECK(st == WARD_OK || m == NULL, "a failed load leaves no model");
    ward_model_close(m);
    return st;
}

static void test_oom(void) {
    const char *p = shared_path("models/hf/stories260K");
    if (!p) return;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", p);
    const long n = test_oom_loop(open_and_close, dir, 100000, "direct load");
    CHECK(n > 1, "direct load succeeds once allocations stop failing (%ld)", n);
    printf("OOM loop: %ld allocations\n", n);
}

int main(void) {
    golden_dir("hf/stories260K", NULL, "stories260K-once", 1e-3f);
    golden_dir("hf/stories260K-bf16", "f32", "stories260K-hf-bf16-once", 1e-3f);
    test_convert_f32();
    test_roundtrip_and_quantized();
    test_bad_inputs();
    test_export_json("tokenizers/minimind", "gpt2", "gpt-2");
    test_export_json("tokenizers/minicpm3", "llama", "default");
    test_cli();
    test_oom();
    return test_summary();
}
