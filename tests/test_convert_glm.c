/* test_convert_glm.c: HuggingFace checkpoints of the GLM family (ChatGLM-6B v1, ChatGLM2/3,
 * GLM-4, p-tuning v2 fine-tunes of v1 and ChatGLM3), Baichuan and InternLM through ward_convert
 * and direct loading, checked against chatglm.cpp's PyTorch fixtures.
 *
 * Each case writes a checkpoint directory in the family's own HF layout (config.json with its
 * own key spellings, model.safetensors in F32, a tiny SentencePiece-style tokenizer.json) from
 * the weights of one ../shared/fixtures/chatglm file (read with tests/fixtures.h). The fixtures
 * give the hidden state after the final norm and have no LM head, so the checkpoint gets an
 * identity output matrix with vocab = hidden = 32 (embedding rows past the fixture's 5 are
 * zero): the logits are then the hidden state. Baichuan's GGUF architecture is picked by depth
 * (32 layers rotary, 40 ALiBi), so its one fixture layer is followed by 31 or 39 layers whose
 * output projections are zero, which add nothing to the residual stream.
 * The p-tuning fixtures' prefix (the keys and values of the virtual tokens) becomes the prefix
 * encoder's embedding the modelling code's get_prompt() turns into exactly that prefix: row t
 * holds, per layer l, the keys of token t (kv_dim values) at column block 2l, the values at 2l+1.
 * Every case: convert -> open the GGUF -> prompt 0 1 2, then 3, then 4 -> compare every logit
 * with y1, y2, y3 (atol 5e-4, the fixtures' tolerance); the same opened from the directory;
 * and the GGUF's names and keys are llama.cpp's (the ChatGLM3 file has the tensor names of
 * ../shared/models/random-chatglm-s11.gguf).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "formats/gguf.h"
#include "harness.h"
#include "pb_writer.h"
#include "ward.h"

#define HID FX_HIDDEN

/* ---------------------------------------------------------------------------------------------
 * Writing a checkpoint
 * ------------------------------------------------------------------------------------------- */

#define MAX_ENTRIES 512

typedef struct st_entry {
    char name[128];
    int64_t rows, cols; /* cols 0: a vector of rows values */
    float *data;        /* owned */
} st_entry;

typedef struct ckpt {
    st_entry e[MAX_ENTRIES];
    int n;
} ckpt;

/* Add a tensor: a copy of src (rows x cols), or zeros, or all `fill` when src is NULL. */
static float *add(ckpt *c, const char *name, int64_t rows, int64_t cols, const float *src,
                  float fill) {
    if (c->n == MAX_ENTRIES) return NULL;
    st_entry *e = &c->e[c->n++];
    const int64_t n = rows * (cols ? cols : 1);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->rows = rows;
    e->cols = cols;
    e->data = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) e->data[i] = src ? src[i] : fill;
    return e->data;
}

static void ckpt_free(ckpt *c) {
    for (int i = 0; i < c->n; i++) free(c->e[i].data);
    c->n = 0;
}

static bool write_text(const char *dir, const char *file, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    bool ok = f && fputs(text, f) >= 0;
    if (f) ok = fclose(f) == 0 && ok;
    return ok;
}

static bool write_safetensors(const char *dir, const ckpt *c) {
    size_t cap = 1 << 17, len = 0, off = 0;
    char *h = malloc(cap), path[512];
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < c->n; i++) {
        const st_entry *e = &c->e[i];
        const size_t nbytes = (size_t)(e->rows * (e->cols ? e->cols : 1)) * sizeof(float);
        if (e->cols)
            len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"F32\",\"shape\":"
                                    "[%lld,%lld],\"data_offsets\":[%zu,%zu]}", e->name,
                                    (long long)e->rows, (long long)e->cols, off, off + nbytes);
        else
            len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"F32\",\"shape\":"
                                    "[%lld],\"data_offsets\":[%zu,%zu]}", e->name,
                                    (long long)e->rows, off, off + nbytes);
        off += nbytes;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8) h[len++] = ' ';
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "wb");
    uint64_t hl = len;
    bool ok = f && fwrite(&hl, 8, 1, f) == 1 && fwrite(h, 1, len, f) == len;
    for (int i = 0; ok && i < c->n; i++) {
        const size_t n = (size_t)(c->e[i].rows * (c->e[i].cols ? c->e[i].cols : 1));
        ok = fwrite(c->e[i].data, sizeof(float), n, f) == n;
    }
    if (f) ok = fclose(f) == 0 && ok;
    free(h);
    return ok;
}

/* A SentencePiece-style BPE tokenizer.json of 6 tokens (padded to 32 by the converter). */
static const char tokenizer_json[] =
    "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},"
    "{\"id\":1,\"content\":\"<s>\",\"special\":true},{\"id\":2,\"content\":\"</s>\","
    "\"special\":true}],\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":"
    "\"Prepend\",\"prepend\":\"\xe2\x96\x81\"},{\"type\":\"Replace\",\"pattern\":{\"String\":"
    "\" \"},\"content\":\"\xe2\x96\x81\"}]},\"pre_tokenizer\":null,\"post_processor\":null,"
    "\"decoder\":null,\"model\":{\"type\":\"BPE\",\"vocab\":{\"<unk>\":0,\"<s>\":1,\"</s>\":2,"
    "\"\xe2\x96\x81\":3,\"a\":4,\"\xe2\x96\x81" "a\":5},\"merges\":[\"\xe2\x96\x81 a\"],"
    "\"byte_fallback\":false,\"unk_token\":\"<unk>\"}}";

static bool write_dir(const char *dir, const char *config, const ckpt *c) {
    mkdir(dir, 0755);
    return write_text(dir, "config.json", config) &&
           write_text(dir, "tokenizer.json", tokenizer_json) && write_safetensors(dir, c);
}

static void remove_dir(const char *dir) {
    static const char *const files[] = {"config.json", "tokenizer.json", "model.safetensors",
                                        "tokenizer.model", "tokenizer_config.json"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
}

/* Embeddings (32 rows, the fixture's first) and an identity output matrix. */
static void add_embd_output(ckpt *c, const char *embd_name, const char *out_name,
                            const float *embd) {
    float *e = add(c, embd_name, HID, HID, NULL, 0.0f);
    memcpy(e, embd, 5 * HID * sizeof(float));
    float *o = add(c, out_name, HID, HID, NULL, 0.0f);
    for (int i = 0; i < HID; i++) o[i * HID + i] = 1.0f;
}

/* ---------------------------------------------------------------------------------------------
 * Running a model against a fixture
 * ------------------------------------------------------------------------------------------- */

static void run_fixture(const ward_model *m, const fx_data *d, const char *label) {
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = 8;
    cp.n_threads = 1;
    cp.n_outputs = FX_PROMPT;
    ward_context *ctx = NULL;
    ward_error err = {0};
    if (ward_context_open(m, &cp, &ctx, &err) != WARD_OK) {
        CHECK(false, "%s: context: %s", label, err.msg);
        return;
    }
    CHECK(ward_model_get_info(m)->n_vocab == HID, "%s: vocabulary of %d", label,
          ward_model_get_info(m)->n_vocab);
    const bool all[FX_PROMPT] = {true, true, true};
    const ward_batch prompt = {.n = FX_PROMPT, .tokens = d->io.x1, .want_logits = all};
    const ward_batch s2 = {.n = 1, .tokens = &d->io.x2}, s3 = {.n = 1, .tokens = &d->io.x3};
    double max_err = 0;
    int64_t bad = 0;
    bool ran = ward_decode(ctx, &prompt) == WARD_OK;
    for (int i = 0; ran && i < FX_PROMPT; i++)
        bad += fx_compare(d->io.y1[i], ward_context_logits(ctx, i), HID, 5e-4, 0, &max_err);
    ran = ran && ward_decode(ctx, &s2) == WARD_OK;
    if (ran) bad += fx_compare(d->io.y2, ward_context_logits(ctx, 0), HID, 5e-4, 0, &max_err);
    ran = ran && ward_decode(ctx, &s3) == WARD_OK;
    if (ran) bad += fx_compare(d->io.y3, ward_context_logits(ctx, 0), HID, 5e-4, 0, &max_err);
    CHECK(ran, "%s: decode: %s", label, ward_context_errmsg(ctx));
    CHECK(ran && bad == 0, "%s: %lld hidden values off by more than 5e-4 (max %.3g)", label,
          (long long)bad, max_err);
    printf("%s: max |error| %.3g\n", label, max_err);
    ward_context_close(ctx);
}

/* Convert dir, run the GGUF and the directory itself; check keys with check_gguf. */
static void convert_and_run(const char *dir, const fx_data *d, const char *label,
                            void (*check_gguf)(const gguf_file *g, const char *label)) {
    char out[512], l2[160];
    snprintf(out, sizeof out, "%s.gguf", dir);
    ward_error err = {0};
    ward_model *m = NULL;
    if (ward_convert(dir, out, NULL, &err) != WARD_OK) {
        CHECK(false, "%s: convert: %s", label, err.msg);
        return;
    }
    gguf_file *g = NULL;
    if (gguf_open(out, &g, &err) == WARD_OK) {
        if (check_gguf) check_gguf(g, label);
        gguf_close(g);
    } else {
        CHECK(false, "%s: %s", label, err.msg);
    }
    if (ward_model_open(out, &m, &err) == WARD_OK) {
        snprintf(l2, sizeof l2, "%s (converted)", label);
        run_fixture(m, d, l2);
        ward_model_close(m);
    } else {
        CHECK(false, "%s: open converted: %s", label, err.msg);
    }
    if (ward_model_open(dir, &m, &err) == WARD_OK) {
        snprintf(l2, sizeof l2, "%s (directory)", label);
        run_fixture(m, d, l2);
        ward_model_close(m);
    } else {
        CHECK(false, "%s: open directory: %s", label, err.msg);
    }
    remove(out);
}

static uint32_t key_u32(const gguf_file *g, const char *key) {
    const gguf_kv *kv = gguf_find(g, key);
    return kv && kv->type == GGUF_VT_U32 ? (uint32_t)kv->val.u64 : 0xffffffffu;
}

/* ---------------------------------------------------------------------------------------------
 * ChatGLM2 / ChatGLM3 / GLM-4
 * ------------------------------------------------------------------------------------------- */

/* The p-tuning prefix tensors of a one-layer GGUF: [kv_dim, 5] each, or none. */
static bool prefix_ok(const gguf_file *g, int64_t kv_dim, bool want) {
    const gguf_tensor *k = gguf_find_tensor(g, "blk.0.prefix_k");
    const gguf_tensor *v = gguf_find_tensor(g, "blk.0.prefix_v");
    if (!want) return !k && !v;
    return k && v && k->n_dims == 2 && k->ne[0] == kv_dim && k->ne[1] == 5 &&
           v->ne[0] == kv_dim && v->ne[1] == 5 && k->type == WARD_TYPE_F32;
}

static void check_chatglm_common(const gguf_file *g, const char *label, bool ptuning) {
    CHECK(key_u32(g, "chatglm.rope.dimension_count") == 2 &&
              key_u32(g, "chatglm.context_length") == 8192 &&
              key_u32(g, "chatglm.attention.head_count_kv") == 2 &&
              key_u32(g, "chatglm.feed_forward_length") == 48 &&
              key_u32(g, "chatglm.block_count") == 1 && !gguf_find(g, "chatglm.vocab_size"),
          "%s: chatglm keys as llama.cpp's converter writes them", label);
    const gguf_kv *bos = gguf_find(g, "tokenizer.ggml.add_bos_token");
    CHECK(bos && bos->type == GGUF_VT_BOOL && bos->val.u64 == 0, "%s: add_bos_token false",
          label);
    const gguf_tensor *up = gguf_find_tensor(g, "blk.0.ffn_up.weight");
    CHECK(up && up->ne[0] == HID && up->ne[1] == 96 && gguf_find_tensor(g, "blk.0.attn_qkv.bias") &&
              !gguf_find_tensor(g, "blk.0.ffn_gate.weight") &&
              g->n_tensors == (ptuning ? 12u : 10u),
          "%s: fused q|k|v and gate|up, no rotary inv_freq", label);
    CHECK(prefix_ok(g, 8, ptuning), "%s: p-tuning prefix tensors %d", label, ptuning);
    /* the same tensor names as llama.cpp's chatglm file, layer 0 and the rest */
    const char *ref_path = shared_path("models/random-chatglm-s11.gguf");
    gguf_file *ref = NULL;
    ward_error err = {0};
    if (!ref_path || gguf_open(ref_path, &ref, &err) != WARD_OK) {
        CHECK(false, "%s: %s", label, err.msg);
        return;
    }
    size_t n_ref = 0, found = 0;
    for (uint64_t i = 0; i < ref->n_tensors; i++) {
        const gguf_tensor *t = &ref->tensors[i];
        if (t->name.len > 4 && !memcmp(t->name.ptr, "blk.", 4) && t->name.ptr[4] != '0') continue;
        char name[96];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        n_ref++;
        found += gguf_find_tensor(g, name) != NULL;
    }
    CHECK(n_ref == 10 && found == n_ref, "%s: %zu of llama.cpp's %zu tensor names", label, found,
          n_ref);
    gguf_close(ref);
}

static void check_chatglm_gguf(const gguf_file *g, const char *label) {
    check_chatglm_common(g, label, false);
}

static void check_chatglm_ptuning_gguf(const gguf_file *g, const char *label) {
    check_chatglm_common(g, label, true);
}

/* ChatGLM3's tokenizer.model, in small: pieces <unk> <s> </s> and a few normal ones (the real
 * file has 64789); its tokenizer code appends [MASK] [gMASK] [sMASK] sop eop <|system|>
 * <|user|> <|assistant|> <|observation|> at the piece count. */
static const char *const glm3_pieces[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "h", "i",
                                          "hi", "\xe2\x96\x81hi"};
#define GLM3_N_PIECES 8
static const char *const glm3_appended[] = {"[MASK]", "[gMASK]", "[sMASK]", "sop", "eop",
                                            "<|system|>", "<|user|>", "<|assistant|>",
                                            "<|observation|>"};

static bool write_glm3_tokenizer(const char *dir) {
    pb_buf b = {0}, t = {0}, n = {0};
    for (int i = 0; i < GLM3_N_PIECES; i++)
        pb_piece(&b, glm3_pieces[i], i < 3 ? 0.0f : -(float)i, i == 0 ? 2 : i < 3 ? 3 : 1);
    pb_uint(&t, 3, 2); /* BPE */
    pb_uint(&n, 3, 1); /* add_dummy_prefix */
    pb_bytes(&b, 3, n.data, n.len);
    pb_bytes(&b, 2, t.data, t.len);
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;
    if (f) ok = fclose(f) == 0 && ok;
    free(b.data), free(t.data), free(n.data);
    return ok && write_text(dir, "tokenizer_config.json",
                            "{\"name_or_path\":\"THUDM/chatglm3-6b\",\"auto_map\":{"
                            "\"AutoTokenizer\":[\"tokenization_chatglm.ChatGLMTokenizer\",null]},"
                            "\"padding_side\":\"left\",\"remove_space\":false}");
}

/* The converted ChatGLM3 vocabulary: the pieces, the nine appended specials as control tokens
 * at ids 8..16, then [PAD<id>] up to padded_vocab_size. */
static void check_chatglm3_gguf(const gguf_file *g, const char *label) {
    check_chatglm_common(g, label, false);
    const gguf_kv *tokens = gguf_find(g, "tokenizer.ggml.tokens");
    const gguf_kv *types = gguf_find(g, "tokenizer.ggml.token_type");
    const gguf_kv *model = gguf_find(g, "tokenizer.ggml.model");
    bool ok = tokens && types && model && tokens->val.arr.strs && tokens->val.arr.n == HID &&
              types->val.arr.n == HID &&
              model->val.str.len == 5 && !memcmp(model->val.str.ptr, "llama", 5);
    for (int i = 0; ok && i < 9; i++) {
        const gguf_str t = tokens->val.arr.strs[GLM3_N_PIECES + i];
        ok = t.len == strlen(glm3_appended[i]) && !memcmp(t.ptr, glm3_appended[i], t.len) &&
             gguf_arr_f32(types, (uint64_t)(GLM3_N_PIECES + i)) == 3.0f; /* control */
    }
    const gguf_str pad = ok ? tokens->val.arr.strs[GLM3_N_PIECES + 9] : (gguf_str){0};
    CHECK(ok && pad.len == 7 && !memcmp(pad.ptr, "[PAD17]", 7),
          "%s: tokenizer.model exported with ChatGLM3's appended specials (control)", label);
}

/* The prefix encoder's embedding (virtual tokens x 2 kv_dim: keys, then values, of the one
 * layer) whose get_prompt() is the fixture's prefix. */
static void add_prefix_encoder(ckpt *c, const fx_data *d) {
    const int64_t kv_dim = (int64_t)d->spec->n_head_kv * (HID / d->spec->n_head);
    const int64_t nv = d->spec->n_virtual;
    float *rows[2] = {fx_prefix_rows(d, 0), fx_prefix_rows(d, 1)};
    float *e = add(c, "transformer.prefix_encoder.embedding.weight", nv, 2 * kv_dim, NULL, 0);
    for (int64_t t = 0; e && rows[0] && rows[1] && t < nv; t++)
        for (int kind = 0; kind < 2; kind++)
            memcpy(e + (t * 2 + kind) * kv_dim, rows[kind] + t * kv_dim,
                   (size_t)kv_dim * sizeof(float));
    CHECK(rows[0] && rows[1], "%s: prefix", d->spec->file);
    free(rows[0]);
    free(rows[1]);
}

static void test_chatglm(const fx_spec *spec, const char *hf_class, const char *label) {
    fx_data d;
    if (!fx_load(spec, &d)) return;
    ckpt c = {0};
    const float *gate = fx_get(&d, "gate_proj", 48, HID), *up = fx_get(&d, "up_proj", 48, HID);
    if (!gate || !up) goto done;
    add_embd_output(&c, "transformer.embedding.word_embeddings.weight",
                    "transformer.output_layer.weight", fx_get(&d, "word_embeddings", 5, HID));
#define L0 "transformer.encoder.layers.0."
    add(&c, L0 "input_layernorm.weight", HID, 0, fx_get(&d, "input_layernorm.weight", 1, HID), 0);
    add(&c, L0 "self_attention.query_key_value.weight", 48, HID,
        fx_get(&d, "query_key_value.weight", 48, HID), 0);
    add(&c, L0 "self_attention.query_key_value.bias", 48, 0,
        fx_get(&d, "query_key_value.bias", 1, 48), 0);
    add(&c, L0 "self_attention.dense.weight", HID, HID, fx_get(&d, "dense.weight", HID, HID), 0);
    add(&c, L0 "post_attention_layernorm.weight", HID, 0,
        fx_get(&d, "post_attention_layernorm.weight", 1, HID), 0);
    float *h4h = add(&c, L0 "mlp.dense_h_to_4h.weight", 96, HID, NULL, 0);
    memcpy(h4h, gate, 48 * HID * sizeof(float)); /* gate rows first, then up */
    memcpy(h4h + 48 * HID, up, 48 * HID * sizeof(float));
    add(&c, L0 "mlp.dense_4h_to_h.weight", HID, 48, fx_get(&d, "down_proj", HID, 48), 0);
#undef L0
    add(&c, "transformer.encoder.final_layernorm.weight", HID, 0,
        fx_get(&d, "final_layernorm.weight", 1, HID), 0);
    add(&c, "transformer.rotary_pos_emb.inv_freq", 2, 0, NULL, 1.0f); /* dropped */
    const bool ptuning = spec->n_virtual > 0;
    if (ptuning) add_prefix_encoder(&c, &d);
    char config[2048];
    snprintf(config, sizeof config,
             "{\"_name_or_path\":\"THUDM/%s\",\"architectures\":[\"%s\"],"
             "\"model_type\":\"chatglm\",\"add_bias_linear\":false,\"add_qkv_bias\":true,"
             "\"apply_residual_connection_post_layernorm\":false,\"ffn_hidden_size\":48,"
             "\"hidden_size\":32,\"kv_channels\":4,\"layernorm_epsilon\":%.9g,"
             "\"multi_query_attention\":true,\"multi_query_group_num\":2,"
             "\"num_attention_heads\":8,\"num_layers\":1,\"original_rope\":true,"
             "\"padded_vocab_size\":32,\"post_layer_norm\":true,\"rmsnorm\":true,%s"
             "\"seq_length\":8192,\"torch_dtype\":\"float32\",\"eos_token_id\":2,"
             "\"pad_token_id\":0,\"classifier_dropout\":null,\"pre_seq_len\":%s,"
             "\"prefix_projection\":false}",
             label, hf_class, (double)spec->norm_eps,
             strcmp(label, "glm-4") == 0 ? "\"rope_ratio\":1," : "", ptuning ? "5" : "null");
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmp_path(label));
    /* ChatGLM3's directory gets its own tokenizer.model, read before tokenizer.json */
    const bool glm3 = strcmp(label, "chatglm3-6b") == 0;
    if (!write_dir(dir, config, &c) || (glm3 && !write_glm3_tokenizer(dir)))
        CHECK(false, "%s: cannot write %s", label, dir);
    else
        convert_and_run(dir, &d, label, ptuning ? check_chatglm_ptuning_gguf
                                        : glm3  ? check_chatglm3_gguf
                                                : check_chatglm_gguf);
    remove_dir(dir);
done:
    ckpt_free(&c);
    fx_free(&d);
}

/* ---------------------------------------------------------------------------------------------
 * ChatGLM-6B (v1): ward's chatglm1
 * ------------------------------------------------------------------------------------------- */

static float key_f32(const gguf_file *g, const char *key) {
    const gguf_kv *kv = gguf_find(g, key);
    return kv && kv->type == GGUF_VT_F32 ? (float)kv->val.f64 : -1.0f;
}

static void check_chatglm1_common(const gguf_file *g, const char *label, bool ptuning) {
    const gguf_kv *arch = gguf_find(g, "general.architecture");
    CHECK(arch && arch->type == GGUF_VT_STR && arch->val.str.len == 8 &&
              !memcmp(arch->val.str.ptr, "chatglm1", 8),
          "%s: architecture chatglm1", label);
    CHECK(fabsf(key_f32(g, "chatglm1.residual_alpha") - 7.4833148f) < 1e-5f &&
              fabsf(key_f32(g, "chatglm1.attention.layer_norm_epsilon") - 1e-5f) < 1e-9f &&
              key_u32(g, "chatglm1.rope.dimension_count") == 4 &&
              key_u32(g, "chatglm1.feed_forward_length") == 128 &&
              key_u32(g, "chatglm1.context_length") == 2048 &&
              key_u32(g, "chatglm1.block_count") == 1,
          "%s: chatglm1 keys (alpha sqrt(56) for one layer)", label);
    const gguf_tensor *qkv = gguf_find_tensor(g, "blk.0.attn_qkv.weight");
    CHECK(qkv && qkv->ne[0] == HID && qkv->ne[1] == 96 && gguf_find_tensor(g, "blk.0.ffn_up.bias") &&
              gguf_find_tensor(g, "output_norm.bias") &&
              g->n_tensors == (ptuning ? 18u : 16u),
          "%s: fused interleaved q|k|v, every bias, no rotary inv_freq", label);
    CHECK(prefix_ok(g, HID, ptuning), "%s: p-tuning prefix tensors %d", label, ptuning);
}

static void check_chatglm1_gguf(const gguf_file *g, const char *label) {
    check_chatglm1_common(g, label, false);
}

static void check_chatglm1_ptuning_gguf(const gguf_file *g, const char *label) {
    check_chatglm1_common(g, label, true);
}

static void test_chatglm1(const fx_spec *spec, const char *label) {
    fx_data d;
    if (!fx_load(spec, &d)) return;
    ckpt c = {0};
    add_embd_output(&c, "transformer.word_embeddings.weight", "lm_head.weight",
                    fx_get(&d, "word_embeddings", 5, HID));
    static const struct { const char *hf, *fx; int64_t rows, cols; } layer[] = {
        {"input_layernorm.weight", "input_layernorm.weight", HID, 0},
        {"input_layernorm.bias", "input_layernorm.bias", HID, 0},
        {"attention.query_key_value.weight", "query_key_value.weight", 96, HID},
        {"attention.query_key_value.bias", "query_key_value.bias", 96, 0},
        {"attention.dense.weight", "dense.weight", HID, HID},
        {"attention.dense.bias", "dense.bias", HID, 0},
        {"post_attention_layernorm.weight", "post_attention_layernorm.weight", HID, 0},
        {"post_attention_layernorm.bias", "post_attention_layernorm.bias", HID, 0},
        {"mlp.dense_h_to_4h.weight", "dense_h_to_4h.weight", 128, HID},
        {"mlp.dense_h_to_4h.bias", "dense_h_to_4h.bias", 128, 0},
        {"mlp.dense_4h_to_h.weight", "dense_4h_to_h.weight", HID, 128},
        {"mlp.dense_4h_to_h.bias", "dense_4h_to_h.bias", HID, 0},
    };
    for (size_t i = 0; i < sizeof layer / sizeof *layer; i++) {
        char n[128];
        snprintf(n, sizeof n, "transformer.layers.0.%s", layer[i].hf);
        const bool vec = layer[i].cols == 0;
        add(&c, n, layer[i].rows, layer[i].cols,
            fx_get(&d, layer[i].fx, vec ? 1 : layer[i].rows, vec ? layer[i].rows : layer[i].cols),
            0);
    }
    add(&c, "transformer.layers.0.attention.rotary_emb.inv_freq", 1, 0, NULL, 1.0f); /* dropped */
    add(&c, "transformer.final_layernorm.weight", HID, 0,
        fx_get(&d, "final_layernorm.weight", 1, HID), 0);
    add(&c, "transformer.final_layernorm.bias", HID, 0, fx_get(&d, "final_layernorm.bias", 1, HID),
        0);
    const bool ptuning = spec->n_virtual > 0;
    if (ptuning) add_prefix_encoder(&c, &d);
    /* THUDM/chatglm-6b's config.json keys (token ids left out: they are past this vocabulary) */
    char config[1024];
    snprintf(config, sizeof config,
             "{\"_name_or_path\":\"THUDM/chatglm-6b\",\"architectures\":[\"ChatGLMModel\"],"
             "\"model_type\":\"chatglm\",\"hidden_size\":32,\"inner_hidden_size\":128,"
             "\"layernorm_epsilon\":1e-05,\"max_sequence_length\":2048,"
             "\"num_attention_heads\":8,\"num_layers\":1,\"position_encoding_2d\":true,"
             "\"torch_dtype\":\"float32\",\"use_cache\":true,\"vocab_size\":32,"
             "\"pre_seq_len\":%s,\"prefix_projection\":false}",
             ptuning ? "5" : "null");
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmp_path(label));
    if (!write_dir(dir, config, &c)) CHECK(false, "%s: cannot write %s", label, dir);
    else convert_and_run(dir, &d, label, ptuning ? check_chatglm1_ptuning_gguf
                                                 : check_chatglm1_gguf);
    remove_dir(dir);
    ckpt_free(&c);
    fx_free(&d);
}

/* ---------------------------------------------------------------------------------------------
 * Baichuan-7B (32 layers, rotary) and Baichuan-13B (40 layers, ALiBi)
 * ------------------------------------------------------------------------------------------- */

static void check_baichuan_gguf(const gguf_file *g, const char *label) {
    const gguf_kv *layout = gguf_find(g, "general.tensor_data_layout");
    CHECK(layout && key_u32(g, "baichuan.rope.dimension_count") == 4 &&
              !gguf_find(g, "baichuan.rope.freq_base") && gguf_find_tensor(g, "blk.0.attn_q.weight") &&
              gguf_find_tensor(g, "blk.0.attn_k.weight") &&
              gguf_find_tensor(g, "blk.0.attn_v.weight"),
          "%s: W_pack split into attn_q/k/v; llama.cpp's baichuan keys", label);
}

static void test_baichuan(const fx_spec *spec, int n_layer, const char *hf_class,
                          const char *label) {
    fx_data d;
    if (!fx_load(spec, &d)) return;
    ckpt c = {0};
    add_embd_output(&c, "model.embed_tokens.weight", "lm_head.weight",
                    fx_get(&d, "embed_tokens", 5, HID));
    add(&c, "model.norm.weight", HID, 0, fx_get(&d, "norm", 1, HID), 0);
    for (int l = 0; l < n_layer; l++) {
        const bool fx = l == 0; /* later layers: zero projections, they add nothing */
        char n[128];
#define NAME(s) (snprintf(n, sizeof n, "model.layers.%d." s, l), n)
        add(&c, NAME("input_layernorm.weight"), HID, 0,
            fx ? fx_get(&d, "input_layernorm", 1, HID) : NULL, 1.0f);
        add(&c, NAME("self_attn.W_pack.weight"), 96, HID, fx ? fx_get(&d, "W_pack", 96, HID) : NULL,
            0.0f);
        add(&c, NAME("self_attn.o_proj.weight"), HID, HID,
            fx ? fx_get(&d, "o_proj", HID, HID) : NULL, 0.0f);
        add(&c, NAME("post_attention_layernorm.weight"), HID, 0,
            fx ? fx_get(&d, "post_attention_layernorm", 1, HID) : NULL, 1.0f);
        add(&c, NAME("mlp.gate_proj.weight"), 96, HID, fx ? fx_get(&d, "gate_proj", 96, HID) : NULL,
            0.0f);
        add(&c, NAME("mlp.up_proj.weight"), 96, HID, fx ? fx_get(&d, "up_proj", 96, HID) : NULL,
            0.0f);
        add(&c, NAME("mlp.down_proj.weight"), HID, 96, fx ? fx_get(&d, "down_proj", HID, 96) : NULL,
            0.0f);
#undef NAME
    }
    char config[1024];
    snprintf(config, sizeof config,
             "{\"architectures\":[\"%s\"],\"model_type\":\"baichuan\",\"vocab_size\":32,"
             "\"hidden_size\":32,\"intermediate_size\":96,\"num_hidden_layers\":%d,"
             "\"num_attention_heads\":8,\"rms_norm_eps\":1e-6,\"hidden_act\":\"silu\","
             "\"model_max_length\":4096,\"tie_word_embeddings\":false,\"torch_dtype\":"
             "\"float32\",\"bos_token_id\":1,\"eos_token_id\":2}",
             hf_class, n_layer);
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmp_path(label));
    if (!write_dir(dir, config, &c)) CHECK(false, "%s: cannot write %s", label, dir);
    else convert_and_run(dir, &d, label, check_baichuan_gguf);
    remove_dir(dir);
    ckpt_free(&c);
    fx_free(&d);
}

/* ---------------------------------------------------------------------------------------------
 * InternLM (v1): llama names with q/k/v/o biases
 * ------------------------------------------------------------------------------------------- */

static void check_internlm_gguf(const gguf_file *g, const char *label) {
    CHECK(gguf_find_tensor(g, "blk.0.attn_q.bias") && gguf_find_tensor(g, "blk.0.attn_k.bias") &&
              gguf_find_tensor(g, "blk.0.attn_v.bias") &&
              gguf_find_tensor(g, "blk.0.attn_output.bias") &&
              key_u32(g, "internlm.rope.dimension_count") == 4,
          "%s: internlm biases and keys", label);
}

static void test_internlm(void) {
    fx_data d;
    if (!fx_load(&fx_internlm, &d)) return;
    ckpt c = {0};
    const float *qkv = fx_get(&d, "qkv", 96, HID), *qkv_b = fx_get(&d, "qkv.bias", 1, 96);
    if (!qkv || !qkv_b) goto done;
    add_embd_output(&c, "model.embed_tokens.weight", "lm_head.weight",
                    fx_get(&d, "embed_tokens", 5, HID));
    add(&c, "model.norm.weight", HID, 0, fx_get(&d, "norm", 1, HID), 0);
#define L0 "model.layers.0."
    add(&c, L0 "input_layernorm.weight", HID, 0, fx_get(&d, "input_layernorm", 1, HID), 0);
    static const char *const qkv_names[3] = {"q_proj", "k_proj", "v_proj"};
    for (int p = 0; p < 3; p++) {
        char n[128];
        snprintf(n, sizeof n, L0 "self_attn.%s.weight", qkv_names[p]);
        add(&c, n, HID, HID, qkv + p * HID * HID, 0);
        snprintf(n, sizeof n, L0 "self_attn.%s.bias", qkv_names[p]);
        add(&c, n, HID, 0, qkv_b + p * HID, 0);
    }
    add(&c, L0 "self_attn.o_proj.weight", HID, HID, fx_get(&d, "o_proj", HID, HID), 0);
    add(&c, L0 "self_attn.o_proj.bias", HID, 0, fx_get(&d, "o_proj.bias", 1, HID), 0);
    add(&c, L0 "post_attention_layernorm.weight", HID, 0,
        fx_get(&d, "post_attention_layernorm", 1, HID), 0);
    add(&c, L0 "mlp.gate_proj.weight", 96, HID, fx_get(&d, "gate_proj", 96, HID), 0);
    add(&c, L0 "mlp.up_proj.weight", 96, HID, fx_get(&d, "up_proj", 96, HID), 0);
    add(&c, L0 "mlp.down_proj.weight", HID, 96, fx_get(&d, "down_proj", HID, 96), 0);
    add(&c, L0 "self_attn.rotary_emb.inv_freq", 2, 0, NULL, 1.0f); /* dropped */
#undef L0
    const char *config =
        "{\"architectures\":[\"InternLMForCausalLM\"],\"model_type\":\"internlm\",\"bias\":true,"
        "\"vocab_size\":32,\"hidden_size\":32,\"intermediate_size\":96,\"num_hidden_layers\":1,"
        "\"num_attention_heads\":8,\"rms_norm_eps\":1e-6,\"hidden_act\":\"silu\","
        "\"max_position_embeddings\":2048,\"rotary\":{\"base\":10000,\"type\":\"dynamic\"},"
        "\"tie_word_embeddings\":false,\"torch_dtype\":\"float32\",\"bos_token_id\":1,"
        "\"eos_token_id\":2}";
    char dir[256];
    snprintf(dir, sizeof dir, "%s", test_tmp_path("internlm"));
    if (!write_dir(dir, config, &c)) CHECK(false, "internlm: cannot write %s", dir);
    else convert_and_run(dir, &d, "internlm", check_internlm_gguf);
    remove_dir(dir);
done:
    ckpt_free(&c);
    fx_free(&d);
}

/* ---------------------------------------------------------------------------------------------
 * Refused ChatGLM options
 * ------------------------------------------------------------------------------------------- */

static void test_refused_options(void) {
    static const struct { const char *opt, *needle; } cases[] = {
        {"\"rmsnorm\":false,", "rmsnorm false"},
        {"\"add_bias_linear\":true,", "add_bias_linear true"},
        {"\"apply_residual_connection_post_layernorm\":true,", "apply_residual"},
        {"\"partial_rotary_factor\":1.0,", "partial_rotary_factor"},
        {"\"pre_seq_len\":4,\"prefix_projection\":true,", "prefix_projection true"},
        {"\"inner_hidden_size\":48,\"position_encoding_2d\":false,", "position_encoding_2d"},
        {"\"inner_hidden_size\":48,\"hidden_act\":\"silu\",", "only gelu"},
    };
    ckpt c = {0};
    add(&c, "transformer.encoder.final_layernorm.weight", HID, 0, NULL, 1.0f);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char config[1024], dir[256], out[300];
        snprintf(config, sizeof config,
                 "{\"architectures\":[\"ChatGLMModel\"],%s\"hidden_size\":32,"
                 "\"ffn_hidden_size\":48,\"num_attention_heads\":8,\"num_layers\":1,"
                 "\"padded_vocab_size\":32,\"multi_query_group_num\":2}",
                 cases[i].opt);
        snprintf(dir, sizeof dir, "%s", test_tmp_path("glm-bad"));
        snprintf(out, sizeof out, "%s.gguf", dir);
        ward_error err = {0};
        ward_status st = write_dir(dir, config, &c) ? ward_convert(dir, out, NULL, &err) : WARD_EIO;
        CHECK(st == WARD_EUNSUPPORTED && strstr(err.msg, cases[i].needle),
              "refused %s: status %d (%s)", cases[i].opt, st, err.msg);
        remove_dir(dir);
        remove(out);
    }
    ckpt_free(&c);
}

int main(void) {
    test_chatglm(&fx_glm2, "ChatGLMModel", "chatglm2-6b");
    test_chatglm(&fx_glm3, "ChatGLMModel", "chatglm3-6b");
    test_chatglm(&fx_glm4, "ChatGLMForConditionalGeneration", "glm-4");
    test_chatglm(&fx_glm3_ptuning, "ChatGLMModel", "chatglm3-6b-ptuning");
    test_chatglm1(&fx_glm, "chatglm-6b");
    test_chatglm1(&fx_glm_ptuning, "chatglm-6b-ptuning");
    test_baichuan(&fx_baichuan7b, 32, "BaiChuanForCausalLM", "baichuan-7b");
    test_baichuan(&fx_baichuan13b, 40, "BaichuanForCausalLM", "baichuan-13b");
    test_internlm();
    test_refused_options();
    return test_summary();
}
