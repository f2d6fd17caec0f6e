/* test_hf_config.c: config.json / generation_config.json parsing, the HF -> GGUF name tables and
 * the q/k permutation (src/formats/hf_config.c).
 *
 * Sections: stories260K's real config; a Qwen2-like config with defaults, rope_scaling and eos
 * lists; one bad value per check (negative sizes, heads not dividing, wrong JSON types, ids out
 * of the vocabulary), each expecting the key in the message; truncation at every byte; names of
 * both tables (layers, biases, dropped tensors, refusals); the permutation against llama.cpp's
 * reshape/swapaxes written out as loops; out of memory at every allocation. (The permutation on
 * real data, against llama.cpp's converted GGUF, is in test_safetensors.c.)
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "formats/hf_config.h"
#include "harness.h"

static ward_status parse(const char *json, hf_config *c, ward_error *err) {
    size_t n = strlen(json);
    char *copy = malloc(n ? n : 1); /* exact size, no NUL: ASan sees any overread */
    memcpy(copy, json, n);
    ward_status s = hf_config_parse(copy, n, c, err);
    free(copy);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Good configs
 * ------------------------------------------------------------------------------------------- */

static void test_stories(void) {
    const char *dir = shared_path("models/hf/stories260K");
    if (!dir) return;
    hf_config c;
    ward_error err;
    ward_status s = hf_config_load(dir, &c, &err);
    CHECK(s == WARD_OK, "%s: %s", dir, err.msg);
    if (s != WARD_OK) return;
    CHECK(strcmp(c.arch, "LlamaForCausalLM") == 0 && strcmp(c.model_type, "llama") == 0, "arch");
    CHECK(c.n_vocab == 512 && c.n_embd == 64 && c.n_layer == 5 && c.n_head == 8 &&
              c.n_head_kv == 4 && c.n_ff == 172 && c.n_ctx_train == 2048 && c.head_dim == 8 &&
              !c.head_dim_set,
          "sizes");
    CHECK(fabsf(c.norm_eps - 1e-5f) < 1e-9f && c.rope_freq_base == 10000.0f, "eps, theta");
    CHECK(!c.tie_word_embeddings && !c.rope_scaling && !c.sliding_window, "flags");
    CHECK(strcmp(c.torch_dtype, "float32") == 0 && strcmp(c.hidden_act, "silu") == 0, "strings");
    CHECK(c.n_bos == 1 && c.bos[0] == 1 && c.n_eos == 1 && c.eos[0] == 2, "bos/eos");
    const hf_arch *a = hf_arch_find(&c);
    CHECK(a && strcmp(a->gguf_arch, "llama") == 0, "arch row");
    const char *d16 = shared_path("models/hf/stories260K-bf16");
    if (d16 && hf_config_load(d16, &c, &err) == WARD_OK)
        CHECK(strcmp(c.torch_dtype, "bfloat16") == 0, "bf16 torch_dtype");
    CHECK(hf_config_load("/nonexistent", &c, &err) == WARD_EIO &&
              strstr(err.msg, "/nonexistent/config.json"),
          "missing dir: %s", err.msg);
}

static const char qwen_json[] =
    "{\"architectures\":[\"Qwen2ForCausalLM\"],\"model_type\":\"qwen2\",\"hidden_size\":896,"
    "\"intermediate_size\":4864,\"num_hidden_layers\":24,\"num_attention_heads\":14,"
    "\"num_key_value_heads\":2,\"vocab_size\":151936,\"max_position_embeddings\":32768,"
    "\"rms_norm_eps\":1e-06,\"rope_theta\":1000000.0,\"tie_word_embeddings\":true,"
    "\"torch_dtype\":\"bfloat16\",\"use_sliding_window\":false,\"sliding_window\":32768,"
    "\"rope_scaling\":null,\"bos_token_id\":151643,\"eos_token_id\":151645,\"hidden_act\":\"silu\","
    "\"attention_dropout\":0.0,\"transformers_version\":\"4.43.1\"}";

static void test_qwen_like(void) {
    hf_config c;
    ward_error err;
    CHECK(parse(qwen_json, &c, &err) == WARD_OK, "qwen: %s", err.msg);
    CHECK(c.n_embd == 896 && c.n_head == 14 && c.n_head_kv == 2 && c.head_dim == 64 &&
              c.n_vocab == 151936 && c.tie_word_embeddings && !c.rope_scaling &&
              c.rope_freq_base == 1e6f && c.eos[0] == 151645,
          "qwen values");
    const hf_arch *a = hf_arch_find(&c);
    CHECK(a && strcmp(a->gguf_arch, "qwen2") == 0, "qwen2 row");
    /* generation_config.json: an eos list replaces config.json's; absent bos keeps it */
    const char gen[] = "{\"eos_token_id\":[151645,151643],\"do_sample\":true,\"top_p\":0.8}";
    CHECK(hf_generation_parse(gen, sizeof gen - 1, &c, &err) == WARD_OK, "gen: %s", err.msg);
    CHECK(c.n_eos == 2 && c.eos[0] == 151645 && c.eos[1] == 151643 && c.n_bos == 1 &&
              c.bos[0] == 151643,
          "generation ids");
    hf_config before = c;
    const char bad_gen[] = "{\"bos_token_id\":1,\"eos_token_id\":[1,999999]}";
    CHECK(hf_generation_parse(bad_gen, sizeof bad_gen - 1, &c, &err) == WARD_EFORMAT &&
              strstr(err.msg, "generation_config.json: eos_token_id: 999999 is not in") &&
              memcmp(&before, &c, sizeof c) == 0,
          "bad generation config leaves cfg: %s", err.msg);
    CHECK(hf_generation_parse("[]", 2, &c, &err) == WARD_EFORMAT, "gen not an object");

    /* minimal config: defaults; model_type alone picks the row */
    const char min_json[] = "{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":"
                            "128,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"vocab_size\":"
                            "100,\"num_key_value_heads\":null,\"head_dim\":null}";
    CHECK(parse(min_json, &c, &err) == WARD_OK, "minimal: %s", err.msg);
    CHECK(c.n_head_kv == 4 && c.head_dim == 16 && c.norm_eps == 1e-6f &&
              c.rope_freq_base == 10000.0f && c.n_ctx_train == 0 && c.n_bos == 0 && c.n_eos == 0 &&
              !c.arch[0] && !c.torch_dtype[0] && strcmp(c.hidden_act, "silu") == 0,
          "defaults");
    a = hf_arch_find(&c);
    CHECK(a && strcmp(a->gguf_arch, "llama") == 0, "llama by model_type");
    /* explicit head_dim need not divide hidden_size; rope_scaling reported; newer "dtype" key */
    const char hd_json[] = "{\"architectures\":[\"MistralForCausalLM\"],\"hidden_size\":100,"
                           "\"intermediate_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":"
                           "3,\"head_dim\":32,\"vocab_size\":10,\"rope_scaling\":{\"rope_type\":"
                           "\"llama3\",\"factor\":8.0},\"dtype\":\"float16\",\"eos_token_id\":[]}";
    CHECK(parse(hd_json, &c, &err) == WARD_OK, "head_dim: %s", err.msg);
    CHECK(c.head_dim == 32 && c.head_dim_set && c.rope_scaling &&
              strcmp(c.rope_scaling_type, "llama3") == 0 && strcmp(c.torch_dtype, "float16") == 0 &&
              c.n_eos == 0,
          "head_dim, rope_scaling, dtype");
    CHECK(hf_arch_find(&c) == NULL, "Mistral has no row");
    const char rs_json[] = "{\"model_type\":\"x\",\"hidden_size\":8,\"intermediate_size\":8,"
                           "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"vocab_size\":4,"
                           "\"rope_scaling\":{\"type\":\"linear\",\"factor\":2}}";
    CHECK(parse(rs_json, &c, &err) == WARD_OK && c.rope_scaling &&
              strcmp(c.rope_scaling_type, "linear") == 0,
          "rope_scaling type: %s", err.msg);
}

/* ---------------------------------------------------------------------------------------------
 * Bad configs
 * ------------------------------------------------------------------------------------------- */

/* qwen_json with the first occurrence of `from` replaced by `to`. */
static char *edit(const char *from, const char *to) {
    const char *p = strstr(qwen_json, from);
    CHECK(p != NULL, "edit: %s not in the base config", from);
    size_t n = strlen(qwen_json) + strlen(to) + 1;
    char *out = malloc(n);
    if (!p) {
        snprintf(out, n, "%s", qwen_json);
        return out;
    }
    snprintf(out, n, "%.*s%s%s", (int)(p - qwen_json), qwen_json, to, p + strlen(from));
    return out;
}

static void expect_bad(const char *from, const char *to, ward_status code, const char *phrase) {
    char *json = edit(from, to);
    hf_config c;
    ward_error err = {0};
    ward_status s = parse(json, &c, &err);
    CHECK(s == code && strstr(err.msg, phrase) && strstr(err.msg, "config.json"),
          "%s -> %s: got %s \"%s\", want \"%s\"", from, to, ward_status_str(s), err.msg, phrase);
    free(json);
}

static void test_bad(void) {
    expect_bad("\"hidden_size\":896", "\"hidden_size\":-896", WARD_EFORMAT,
               "hidden_size: -896 is not positive");
    expect_bad("\"hidden_size\":896", "\"hidden_size\":0", WARD_EFORMAT, "hidden_size: 0 is not positive");
    expect_bad("\"hidden_size\":896", "\"hidden_size\":\"896\"", WARD_EFORMAT,
               "hidden_size: expected an integer, found a string");
    expect_bad("\"hidden_size\":896", "\"hidden_size\":896.5", WARD_EFORMAT,
               "hidden_size: 896.5 is not an integer");
    expect_bad("\"hidden_size\":896", "\"hidden_size\":4294967296", WARD_EFORMAT,
               "hidden_size: 4.29497e+09 is not in");
    expect_bad("\"hidden_size\":896", "\"hidden_size\":null", WARD_EFORMAT, "hidden_size: missing");
    expect_bad("\"hidden_size\":896", "\"hidden_sizes\":896", WARD_EFORMAT, "hidden_size: missing");
    expect_bad("\"hidden_size\":896", "\"hidden_size\":895", WARD_EFORMAT,
               "num_attention_heads 14 does not divide hidden_size 895");
    expect_bad("\"num_key_value_heads\":2", "\"num_key_value_heads\":3", WARD_EFORMAT,
               "num_key_value_heads 3 does not divide num_attention_heads 14");
    expect_bad("\"num_key_value_heads\":2", "\"num_key_value_heads\":28", WARD_EFORMAT,
               "num_key_value_heads 28 does not divide");
    expect_bad("\"num_key_value_heads\":2", "\"num_key_value_heads\":-2", WARD_EFORMAT,
               "num_key_value_heads: -2 is not positive");
    expect_bad("\"num_hidden_layers\":24", "\"num_hidden_layers\":true", WARD_EFORMAT,
               "num_hidden_layers: expected an integer, found a boolean");
    expect_bad("\"intermediate_size\":4864", "\"intermediate_size\":[4864]", WARD_EFORMAT,
               "intermediate_size: expected an integer, found an array");
    expect_bad("\"vocab_size\":151936", "\"vocab_size\":-1", WARD_EFORMAT, "vocab_size: -1 is not positive");
    expect_bad("\"max_position_embeddings\":32768", "\"max_position_embeddings\":0", WARD_EFORMAT,
               "max_position_embeddings: 0 is not positive");
    expect_bad("\"rms_norm_eps\":1e-06", "\"rms_norm_eps\":0", WARD_EFORMAT,
               "rms_norm_eps: 0 is not a positive float");
    expect_bad("\"rms_norm_eps\":1e-06", "\"rms_norm_eps\":\"1e-6\"", WARD_EFORMAT,
               "rms_norm_eps: expected a number, found a string");
    expect_bad("\"rope_theta\":1000000.0", "\"rope_theta\":-1", WARD_EFORMAT, "rope_theta: -1 is not");
    expect_bad("\"rope_theta\":1000000.0", "\"rope_theta\":1e300", WARD_EFORMAT,
               "rope_theta: 1e+300 is not a positive float");
    expect_bad("\"tie_word_embeddings\":true", "\"tie_word_embeddings\":1", WARD_EFORMAT,
               "tie_word_embeddings: expected a boolean, found a number");
    expect_bad("\"torch_dtype\":\"bfloat16\"", "\"torch_dtype\":16", WARD_EFORMAT,
               "torch_dtype: expected a string, found a number");
    expect_bad("\"torch_dtype\":\"bfloat16\"", "\"torch_dtype\":\"a-very-long-dtype-name\"",
               WARD_EFORMAT, "torch_dtype: \"a-very-long-dtype-name...\" is longer than 15 bytes");
    expect_bad("\"rope_scaling\":null", "\"rope_scaling\":\"yarn\"", WARD_EFORMAT,
               "rope_scaling: expected an object or null, found a string");
    expect_bad("\"rope_scaling\":null", "\"rope_scaling\":{\"type\":4}", WARD_EFORMAT,
               "rope_scaling: type: expected a string");
    expect_bad("\"architectures\":[\"Qwen2ForCausalLM\"]", "\"architectures\":[]", WARD_EFORMAT,
               "architectures: expected a non-empty array, found an empty one");
    expect_bad("\"architectures\":[\"Qwen2ForCausalLM\"]", "\"architectures\":\"Qwen2\"",
               WARD_EFORMAT, "architectures: expected a non-empty array, found a string");
    expect_bad("\"architectures\":[\"Qwen2ForCausalLM\"]", "\"architectures\":[7]", WARD_EFORMAT,
               "architectures[0]: expected a string");
    expect_bad("\"architectures\":[\"Qwen2ForCausalLM\"],\"model_type\":\"qwen2\",", "",
               WARD_EFORMAT, "neither architectures nor model_type");
    expect_bad("\"eos_token_id\":151645", "\"eos_token_id\":151936", WARD_EFORMAT,
               "eos_token_id: 151936 is not in [0, 151935]");
    expect_bad("\"eos_token_id\":151645", "\"eos_token_id\":-1", WARD_EFORMAT,
               "eos_token_id: -1 is negative");
    expect_bad("\"eos_token_id\":151645", "\"eos_token_id\":[1,2,3,4,5,6,7,8,9]",
               WARD_EUNSUPPORTED, "eos_token_id: more than 8 ids");
    expect_bad("\"eos_token_id\":151645", "\"eos_token_id\":[1,\"2\"]", WARD_EFORMAT,
               "eos_token_id: expected an integer, found a string");
    expect_bad("\"bos_token_id\":151643", "\"bos_token_id\":{}", WARD_EFORMAT,
               "bos_token_id: expected an integer, found an object");
    expect_bad("{", "[", WARD_EFORMAT, "config.json: malformed JSON at byte");
    expect_bad("\"transformers_version\":\"4.43.1\"}", "\"x\":1} {}", WARD_EFORMAT,
               "data after the JSON value");
    hf_config c;
    ward_error err;
    CHECK(parse("[]", &c, &err) == WARD_EFORMAT && strstr(err.msg, "expected a JSON object"),
          "array config: %s", err.msg);
    CHECK(parse("", &c, &err) == WARD_EFORMAT && strstr(err.msg, "malformed JSON at byte 0"),
          "empty config: %s", err.msg);
    /* every truncation */
    int bad = 0;
    size_t n = strlen(qwen_json);
    for (size_t cut = 0; cut < n; cut++) {
        char *p = malloc(cut ? cut : 1);
        memcpy(p, qwen_json, cut);
        ward_error e = {0};
        bad += hf_config_parse(p, cut, &c, &e) != WARD_EFORMAT || !e.msg[0];
        free(p);
    }
    CHECK(bad == 0, "%d truncated configs not refused", bad);
}

/* ---------------------------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------------------------- */

static void expect_name(const hf_arch *a, const char *hf, const char *gguf, hf_permute perm) {
    char out[128];
    const hf_name_row *row = NULL;
    ward_error err = {0};
    ward_status s = hf_map_name(a, hf, 24, out, sizeof out, &row, &err);
    CHECK(s == WARD_OK && strcmp(out, gguf) == 0 && row && row->permute == perm,
          "%s %s -> \"%s\" (%s), want %s", a->gguf_arch, hf, s == WARD_OK ? out : "", err.msg,
          gguf);
}

static void expect_refused(const hf_arch *a, const char *hf, ward_status code, const char *phrase) {
    char out[128];
    const hf_name_row *row = NULL;
    ward_error err = {0};
    ward_status s = hf_map_name(a, hf, 24, out, sizeof out, &row, &err);
    CHECK(s == code && strstr(err.msg, phrase), "%s: got %s \"%s\"", hf, ward_status_str(s),
          err.msg);
}

static void test_names(void) {
    hf_config c = {.arch = "LlamaForCausalLM"};
    const hf_arch *llama = hf_arch_find(&c);
    snprintf(c.arch, sizeof c.arch, "Qwen2ForCausalLM");
    const hf_arch *qwen = hf_arch_find(&c);
    CHECK(llama && qwen, "rows");
    if (!llama || !qwen) return;
    const hf_arch *both[] = {llama, qwen};
    for (int k = 0; k < 2; k++) {
        const hf_arch *a = both[k];
        bool l = a == llama;
        expect_name(a, "model.embed_tokens.weight", "token_embd.weight", HF_PERM_NONE);
        expect_name(a, "model.norm.weight", "output_norm.weight", HF_PERM_NONE);
        expect_name(a, "lm_head.weight", "output.weight", HF_PERM_NONE);
        expect_name(a, "model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight",
                    HF_PERM_NONE);
        expect_name(a, "model.layers.23.self_attn.q_proj.weight", "blk.23.attn_q.weight",
                    l ? HF_PERM_Q : HF_PERM_NONE);
        expect_name(a, "model.layers.10.self_attn.k_proj.weight", "blk.10.attn_k.weight",
                    l ? HF_PERM_K : HF_PERM_NONE);
        expect_name(a, "model.layers.3.self_attn.v_proj.weight", "blk.3.attn_v.weight",
                    HF_PERM_NONE);
        expect_name(a, "model.layers.3.self_attn.o_proj.weight", "blk.3.attn_output.weight",
                    HF_PERM_NONE);
        expect_name(a, "model.layers.3.self_attn.q_proj.bias", "blk.3.attn_q.bias",
                    l ? HF_PERM_Q : HF_PERM_NONE);
        expect_name(a, "model.layers.3.self_attn.k_proj.bias", "blk.3.attn_k.bias",
                    l ? HF_PERM_K : HF_PERM_NONE);
        expect_name(a, "model.layers.3.self_attn.v_proj.bias", "blk.3.attn_v.bias", HF_PERM_NONE);
        expect_name(a, "model.layers.4.post_attention_layernorm.weight", "blk.4.ffn_norm.weight",
                    HF_PERM_NONE);
        expect_name(a, "model.layers.4.mlp.gate_proj.weight", "blk.4.ffn_gate.weight",
                    HF_PERM_NONE);
        expect_name(a, "model.layers.4.mlp.up_proj.weight", "blk.4.ffn_up.weight", HF_PERM_NONE);
        expect_name(a, "model.layers.4.mlp.down_proj.weight", "blk.4.ffn_down.weight",
                    HF_PERM_NONE);
        expect_name(a, "model.layers.4.self_attn.rotary_emb.inv_freq", "", HF_PERM_NONE);
        expect_refused(a, "model.layers.24.mlp.up_proj.weight", WARD_EFORMAT,
                       "layer 24 out of range (num_hidden_layers 24)");
        expect_refused(a, "model.layers.01.mlp.up_proj.weight", WARD_EUNSUPPORTED, "no ");
        expect_refused(a, "model.layers.-1.mlp.up_proj.weight", WARD_EUNSUPPORTED, "no ");
        expect_refused(a, "model.layers..mlp.up_proj.weight", WARD_EUNSUPPORTED, "no ");
        expect_refused(a, "model.layers.99999999999.mlp.up_proj.weight", WARD_EUNSUPPORTED, "no ");
        expect_refused(a, "model.layers.1.mlp.up_proj.weightx", WARD_EUNSUPPORTED,
                       "tensor model.layers.1.mlp.up_proj.weightx: no");
        expect_refused(a, "model.embed_tokens", WARD_EUNSUPPORTED, "no");
        expect_refused(a, "", WARD_EUNSUPPORTED, "no");
    }
    expect_refused(qwen, "model.layers.3.self_attn.o_proj.bias", WARD_EUNSUPPORTED,
                   "no qwen2 tensor");
    expect_name(llama, "model.layers.3.self_attn.o_proj.bias", "blk.3.attn_output.bias",
                HF_PERM_NONE);
    /* a buffer too small */
    char small[8];
    const hf_name_row *row;
    ward_error err;
    CHECK(hf_map_name(llama, "model.layers.3.mlp.up_proj.weight", 24, small, sizeof small, &row,
                      &err) == WARD_ERANGE,
          "small buffer");
    /* every row's two patterns hold the same number of "%d" (0 or 1) */
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < both[k]->n_names; i++) {
            const hf_name_row *r = &both[k]->names[i];
            const char *h = strstr(r->hf, "%d");
            CHECK(!h || !strstr(h + 2, "%d"), "%s: two holes", r->hf);
            CHECK(!r->gguf || (h != NULL) == (strstr(r->gguf, "%d") != NULL), "%s: holes differ",
                  r->hf);
        }
}

/* ---------------------------------------------------------------------------------------------
 * Permutation
 * ------------------------------------------------------------------------------------------- */

/* llama.cpp: w.reshape(n_head, 2, d/2, cols).swapaxes(1, 2).reshape(w.shape), as loops over the
 * output index (h, j, t) which reads input (h, t, j); returns the input row of output row r. */
static int64_t numpy_permute(int64_t r, int64_t n_rows, int32_t n_head) {
    int64_t half = n_rows / n_head / 2;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t j = 0; j < half; j++)
            for (int64_t t = 0; t < 2; t++) {
                int64_t out = (h * half + j) * 2 + t, in = (h * 2 + t) * half + j;
                if (out == r) return in;
            }
    return -1;
}

static void test_permutation(void) {
    /* one head of 4 rows: GGUF rows 0 1 2 3 are HF rows 0 2 1 3 */
    const int64_t want4[] = {0, 2, 1, 3};
    for (int r = 0; r < 4; r++)
        CHECK(hf_permute_row(r, 4, 1) == want4[r], "d=4 row %d", r);
    /* two heads of 6 rows */
    const int64_t want12[] = {0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11};
    for (int r = 0; r < 12; r++)
        CHECK(hf_permute_row(r, 12, 2) == want12[r], "2x6 row %d", r);
    const struct {
        int64_t n_rows;
        int32_t n_head;
    } cases[] = {{64, 8}, {32, 4}, {896, 14}, {128, 2}, {2, 1}, {256, 32}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int64_t n = cases[k].n_rows;
        CHECK(hf_permute_check(n, cases[k].n_head, NULL) == WARD_OK, "check %" PRId64, n);
        char *seen = calloc((size_t)n, 1);
        int bad = 0;
        for (int64_t r = 0; r < n; r++) {
            int64_t h = hf_permute_row(r, n, cases[k].n_head);
            bad += h != numpy_permute(r, n, cases[k].n_head) || h < 0 || h >= n || seen[h];
            if (h >= 0 && h < n) seen[h] = 1;
        }
        CHECK(bad == 0, "%" PRId64 " rows, %d heads: %d rows differ from numpy", n,
              cases[k].n_head, bad);
        free(seen);
    }
    ward_error err;
    CHECK(hf_permute_check(12, 4, &err) == WARD_EFORMAT && strstr(err.msg, "even"), "odd heads");
    CHECK(hf_permute_check(10, 4, &err) == WARD_EFORMAT, "not divisible");
    CHECK(hf_permute_check(8, 0, &err) == WARD_EFORMAT, "zero heads");
    CHECK(hf_permute_check(0, 2, &err) == WARD_EFORMAT, "zero rows");
    hf_config c = {.n_head = 8, .n_head_kv = 2};
    CHECK(hf_permute_heads(&c, HF_PERM_Q) == 8 && hf_permute_heads(&c, HF_PERM_K) == 2 &&
              hf_permute_heads(&c, HF_PERM_NONE) == 0,
          "heads");
}

/* ---------------------------------------------------------------------------------------------
 * Out of memory
 * ------------------------------------------------------------------------------------------- */

static void test_oom(void) {
    const char *dir = shared_path("models/hf/stories260K");
    if (!dir) return;
    ward_status s = WARD_ENOMEM;
    long n;
    for (n = 1; n < 100 && s != WARD_OK; n++) {
        hf_config c;
        ward_error err;
        ward_alloc_fail_after(n);
        s = hf_config_load(dir, &c, &err);
        ward_alloc_fail_after(0);
        CHECK(s == WARD_OK || s == WARD_ENOMEM, "load, allocation %ld: %s", n, err.msg);
    }
    CHECK(s == WARD_OK && n > 3, "hf_config_load succeeded after %ld failures", n - 1);
}

int main(void) {
    test_stories();
    test_qwen_like();
    test_bad();
    test_names();
    test_permutation();
    test_oom();
    return test_summary();
}
