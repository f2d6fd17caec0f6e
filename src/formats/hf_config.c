/* hf_config.c: config.json / generation_config.json, HF -> GGUF name tables and the llama q/k
 * permutation (see hf_config.h).
 *
 * Keys read from config.json (absent or null = the default, where one exists; "a | b": the
 * first one present, so ChatGLM's and Baichuan's spellings land in the same fields):
 *   architectures [str, ...]       arch = [0]         model_type str
 *   padded_vocab_size | vocab_size, hidden_size, num_hidden_layers | num_layers,
 *   num_attention_heads, intermediate_size | ffn_hidden_size | inner_hidden_size: int >= 1
 *   (inner_hidden_size marks ChatGLM-6B v1: glm_v1, hidden_act default "gelu")
 *   num_key_value_heads | multi_query_group_num (the latter only when multi_query_attention is
 *   not false) int >= 1 dividing num_attention_heads (default num_attention_heads)
 *   head_dim | kv_channels int >= 1 (default hidden_size / num_attention_heads, which must
 *   divide evenly)
 *   max_sequence_length | max_position_embeddings | seq_length | model_max_length int >= 1
 *   rms_norm_eps | layernorm_epsilon number > 0   rope_theta | rotary.base number > 0
 *   rope_ratio number > 0 (ChatGLM/GLM-4: rope base 10000 * rope_ratio)
 *   partial_rotary_factor number in (0, 1]
 *   tie_word_embeddings bool   use_sliding_window bool   hidden_act str   torch_dtype|dtype str
 *   rope_scaling object (its rope_type / type reported)   bos_token_id, eos_token_id: id or [id]
 *   rmsnorm, post_layer_norm (must not be false), add_bias_linear,
 *   apply_residual_connection_post_layernorm (must not be true), position_encoding_2d (v1, must
 *   not be false): ChatGLM options ward cannot run otherwise, reported in unsupported.
 *   pre_seq_len int >= 1 (or null), prefix_projection bool: ChatGLM's p-tuning v2 prefix.
 * Every other key is ignored. Integers must be integral JSON numbers within int32.
 */
#include "formats/hf_config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/filemap.h"

#define CONFIG "config.json"
#define GENERATION "generation_config.json"

/* Return the status of expr unless it is WARD_OK. */
#define TRY(expr)                             \
    do {                                      \
        ward_status try_s_ = (expr);          \
        if (try_s_ != WARD_OK) return try_s_; \
    } while (0)

/* ---------------------------------------------------------------------------------------------
 * JSON helpers
 * ------------------------------------------------------------------------------------------- */

ward_status hf_json_parse(const char *data, size_t len, const char *what, cJSON **out,
                          ward_error *err) {
    *out = NULL;
    if (len >= SIZE_MAX) return WARD_FAIL(err, WARD_EINVAL, "%s: too large", what);
    char *buf = ward_malloc(len + 1); /* cJSON reads one byte past the length when it can */
    if (!buf) return WARD_FAIL(err, WARD_ENOMEM, "%s: no memory for a copy", what);
    if (len) memcpy(buf, data, len);
    buf[len] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
    size_t at = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : 0;
    ward_status s = WARD_OK;
    if (!root) { /* also what cJSON's own allocation failures look like */
        size_t line = 1, col = 1;
        for (size_t i = 0; i < at; i++) {
            if (buf[i] == '\n') line++, col = 1;
            else col++;
        }
        s = WARD_FAIL(err, WARD_EFORMAT, "%s: malformed JSON at byte %zu (line %zu, column %zu)",
                      what, at, line, col);
    } else {
        while (at < len && (buf[at] == ' ' || buf[at] == '\t' || buf[at] == '\n' ||
                            buf[at] == '\r'))
            at++;
        if (at < len) {
            s = WARD_FAIL(err, WARD_EFORMAT, "%s: data after the JSON value at byte %zu", what,
                          at);
            cJSON_Delete(root);
            root = NULL;
        }
    }
    ward_free(buf);
    *out = root;
    return s;
}

const char *hf_json_type(const cJSON *j) {
    if (!j) return "missing";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsObject(j)) return "an object";
    return "an invalid value";
}

/* "what: key" or "key" into buf, for messages. */
static const char *where(char *buf, size_t cap, const char *what, const char *key) {
    snprintf(buf, cap, "%s%s%s", what ? what : "", what ? ": " : "", key);
    return buf;
}

ward_status hf_json_int(const cJSON *j, const char *what, const char *key, int64_t min,
                        int64_t max, int64_t *out, ward_error *err) {
    char w[160];
    if (!cJSON_IsNumber(j))
        return WARD_FAIL(err, WARD_EFORMAT, "%s: expected an integer, found %s",
                         where(w, sizeof w, what, key), hf_json_type(j));
    double v = j->valuedouble; /* finite or +-inf (cJSON parses no NaN) */
    if (!(v >= (double)min && v <= (double)max)) {
        if (min == 1 && v < 1)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: %g is not positive",
                             where(w, sizeof w, what, key), v);
        if (min == 0 && v < 0)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: %g is negative",
                             where(w, sizeof w, what, key), v);
        return WARD_FAIL(err, WARD_EFORMAT, "%s: %g is not in [%" PRId64 ", %" PRId64 "]",
                         where(w, sizeof w, what, key), v, min, max);
    }
    if (v != trunc(v))
        return WARD_FAIL(err, WARD_EFORMAT, "%s: %g is not an integer",
                         where(w, sizeof w, what, key), v);
    *out = (int64_t)v;
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * config.json
 * ------------------------------------------------------------------------------------------- */

/* The value of key in obj, or NULL when absent or null. */
static const cJSON *member(const cJSON *obj, const char *key) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(j) ? NULL : j;
}

static ward_status get_int(const cJSON *root, const char *key, bool required, int64_t min,
                           int32_t *out, ward_error *err) {
    const cJSON *j = member(root, key);
    if (!j) {
        if (required) return WARD_FAIL(err, WARD_EFORMAT, CONFIG ": %s: missing", key);
        return WARD_OK;
    }
    int64_t v = 0; /* set on success; gcc -O3 cannot see that */
    TRY(hf_json_int(j, CONFIG, key, min, INT32_MAX, &v, err));
    *out = (int32_t)v;
    return WARD_OK;
}

/* The first of keys (NULL-terminated) present in root, as get_int() reads it; *out untouched
 * when none is; required names the first key. */
static ward_status get_int_any(const cJSON *root, const char *const *keys, bool required,
                               int64_t min, int32_t *out, ward_error *err) {
    for (const char *const *k = keys; *k; k++)
        if (member(root, *k)) return get_int(root, *k, false, min, out, err);
    return get_int(root, keys[0], required, min, out, err);
}

/* A finite number > 0; *out untouched when absent. */
static ward_status get_positive(const cJSON *root, const char *key, float *out,
                                ward_error *err) {
    const cJSON *j = member(root, key);
    if (!j) return WARD_OK;
    if (!cJSON_IsNumber(j))
        return WARD_FAIL(err, WARD_EFORMAT, CONFIG ": %s: expected a number, found %s", key,
                         hf_json_type(j));
    float v = (float)j->valuedouble;
    if (!(v > 0 && isfinite(v)))
        return WARD_FAIL(err, WARD_EFORMAT, CONFIG ": %s: %g is not a positive float", key,
                         j->valuedouble);
    *out = v;
    return WARD_OK;
}

static ward_status get_bool(const cJSON *root, const char *key, bool *out, ward_error *err) {
    const cJSON *j = member(root, key);
    if (!j) return WARD_OK;
    if (!cJSON_IsBool(j))
        return WARD_FAIL(err, WARD_EFORMAT, CONFIG ": %s: expected a boolean, found %s", key,
                         hf_json_type(j));
    *out = cJSON_IsTrue(j);
    return WARD_OK;
}

/* Copy a string member into out (cap bytes); untouched when absent. */
static ward_status copy_str(const cJSON *j, const char *what, const char *key, char *out,
                            size_t cap, ward_error *err) {
    if (!j) return WARD_OK;
    if (!cJSON_IsString(j))
        return WARD_FAIL(err, WARD_EFORMAT, "%s: %s: expected a string, found %s", what, key,
                         hf_json_type(j));
    size_t n = strlen(j->valuestring);
    if (n >= cap)
        return WARD_FAIL(err, WARD_EFORMAT, "%s: %s: \"%.40s...\" is longer than %zu bytes",
                         what, key, j->valuestring, cap - 1);
    memcpy(out, j->valuestring, n + 1);
    return WARD_OK;
}

/* A token id or a list of them, each in [0, n_vocab). *n = 0 for an empty list. */
static ward_status get_ids(const cJSON *root, const char *what, const char *key, int32_t n_vocab,
                           int32_t *ids, int32_t *n, bool *present, ward_error *err) {
    const cJSON *j = member(root, key);
    *present = j != NULL;
    if (!j) return WARD_OK;
    int32_t k = 0;
    const cJSON *one = cJSON_IsArray(j) ? j->child : j;
    for (; one; one = cJSON_IsArray(j) ? one->next : NULL) {
        if (k == HF_MAX_TOKEN_IDS)
            return WARD_FAIL(err, WARD_EUNSUPPORTED, "%s: %s: more than %d ids", what, key,
                             HF_MAX_TOKEN_IDS);
        int64_t v = 0; /* set on success; gcc -O3 cannot see that */
        TRY(hf_json_int(one, what, key, 0, (int64_t)n_vocab - 1, &v, err));
        ids[k++] = (int32_t)v;
    }
    *n = k;
    return WARD_OK;
}

static ward_status read_arch(const cJSON *root, hf_config *c, ward_error *err) {
    const cJSON *archs = member(root, "architectures");
    if (archs) {
        if (!cJSON_IsArray(archs) || !archs->child)
            return WARD_FAIL(err, WARD_EFORMAT,
                             CONFIG ": architectures: expected a non-empty array, found %s",
                             cJSON_IsArray(archs) ? "an empty one" : hf_json_type(archs));
        TRY(copy_str(archs->child, CONFIG, "architectures[0]", c->arch, sizeof c->arch, err));
    }
    TRY(copy_str(member(root, "model_type"), CONFIG, "model_type", c->model_type,
                 sizeof c->model_type, err));
    if (!c->arch[0] && !c->model_type[0])
        return WARD_FAIL(err, WARD_EFORMAT, CONFIG ": neither architectures nor model_type given");
    return WARD_OK;
}

#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

static ward_status read_sizes(const cJSON *root, hf_config *c, ward_error *err) {
    TRY(get_int_any(root, KEYS("padded_vocab_size", "vocab_size"), true, 1, &c->n_vocab, err));
    TRY(get_int(root, "hidden_size", true, 1, &c->n_embd, err));
    TRY(get_int_any(root, KEYS("num_hidden_layers", "num_layers"), true, 1, &c->n_layer, err));
    TRY(get_int(root, "num_attention_heads", true, 1, &c->n_head, err));
    c->glm_v1 = member(root, "inner_hidden_size") != NULL;
    TRY(get_int_any(root, KEYS("intermediate_size", "ffn_hidden_size", "inner_hidden_size"), true,
                    1, &c->n_ff, err));
    TRY(get_int(root, "pre_seq_len", false, 1, &c->n_prefix, err));
    TRY(get_int_any(root, KEYS("max_sequence_length", "max_position_embeddings", "seq_length",
                               "model_max_length"),
                    false, 1, &c->n_ctx_train, err));
    c->n_head_kv = c->n_head;
    bool mqa = true;
    TRY(get_bool(root, "multi_query_attention", &mqa, err));
    TRY(get_int_any(root, mqa ? KEYS("num_key_value_heads", "multi_query_group_num")
                              : KEYS("num_key_value_heads"),
                    false, 1, &c->n_head_kv, err));
    if (c->n_head_kv > c->n_head || c->n_head % c->n_head_kv != 0)
        return WARD_FAIL(err, WARD_EFORMAT,
                         CONFIG ": num_key_value_heads %" PRId32
                         " does not divide num_attention_heads %" PRId32,
                         c->n_head_kv, c->n_head);
    c->head_dim = 0;
    TRY(get_int_any(root, KEYS("head_dim", "kv_channels"), false, 1, &c->head_dim, err));
    c->head_dim_set = c->head_dim != 0;
    if (!c->head_dim_set) {
        if (c->n_embd % c->n_head != 0)
            return WARD_FAIL(err, WARD_EFORMAT,
                             CONFIG ": num_attention_heads %" PRId32
                             " does not divide hidden_size %" PRId32 " (and no head_dim given)",
                             c->n_head, c->n_embd);
        c->head_dim = c->n_embd / c->n_head;
    }
    return WARD_OK;
}

/* Boolean options ward runs only with one value (ChatGLM's); the other is reported. */
static const struct {
    const char *key;
    bool runs;
} fixed_options[] = {
    {"rmsnorm", true},
    {"post_layer_norm", true},
    {"add_bias_linear", false},
    {"apply_residual_connection_post_layernorm", false},
    {"position_encoding_2d", true},
};

static ward_status read_fixed_options(const cJSON *root, hf_config *c, ward_error *err) {
    for (size_t i = 0; i < sizeof fixed_options / sizeof fixed_options[0]; i++) {
        bool v = fixed_options[i].runs;
        TRY(get_bool(root, fixed_options[i].key, &v, err));
        if (v != fixed_options[i].runs && !c->unsupported[0])
            snprintf(c->unsupported, sizeof c->unsupported, "%s %s", fixed_options[i].key,
                     v ? "true" : "false");
    }
    return WARD_OK;
}

static ward_status read_options(const cJSON *root, hf_config *c, ward_error *err) {
    c->norm_eps = 1e-6f;
    c->rope_freq_base = 10000.0f;
    TRY(get_positive(root, member(root, "rms_norm_eps") ? "rms_norm_eps" : "layernorm_epsilon",
                     &c->norm_eps, err));
    TRY(get_positive(root, "rope_theta", &c->rope_freq_base, err));
    const cJSON *rotary = member(root, "rotary"); /* InternLM: {"base": 10000, "type": ...} */
    if (cJSON_IsObject(rotary) && !member(root, "rope_theta")) {
        float base = c->rope_freq_base;
        TRY(get_positive(rotary, "base", &base, err));
        c->rope_freq_base = base;
    }
    float ratio = 0.0f;
    TRY(get_positive(root, "rope_ratio", &ratio, err));
    if (ratio > 0.0f) c->rope_freq_base = (float)(10000.0 * (double)ratio);
    TRY(get_positive(root, "partial_rotary_factor", &c->partial_rotary, err));
    if (c->partial_rotary > 1.0f)
        return WARD_FAIL(err, WARD_EFORMAT, CONFIG ": partial_rotary_factor: %g is above 1",
                         (double)c->partial_rotary);
    TRY(read_fixed_options(root, c, err));
    TRY(get_bool(root, "tie_word_embeddings", &c->tie_word_embeddings, err));
    TRY(get_bool(root, "use_sliding_window", &c->sliding_window, err));
    TRY(get_bool(root, "prefix_projection", &c->prefix_projection, err));
    /* ChatGLM-6B's config has no hidden_act: its GLU is GELU in the modelling code */
    snprintf(c->hidden_act, sizeof c->hidden_act, "%s", c->glm_v1 ? "gelu" : "silu");
    TRY(copy_str(member(root, "hidden_act"), CONFIG, "hidden_act", c->hidden_act,
                 sizeof c->hidden_act, err));
    const char *dtype_key = member(root, "torch_dtype") ? "torch_dtype" : "dtype";
    TRY(copy_str(member(root, dtype_key), CONFIG, dtype_key, c->torch_dtype,
                 sizeof c->torch_dtype, err));
    const cJSON *rs = member(root, "rope_scaling");
    if (rs) {
        if (!cJSON_IsObject(rs))
            return WARD_FAIL(err, WARD_EFORMAT,
                             CONFIG ": rope_scaling: expected an object or null, found %s",
                             hf_json_type(rs));
        c->rope_scaling = true;
        const char *type_key = member(rs, "rope_type") ? "rope_type" : "type";
        TRY(copy_str(member(rs, type_key), CONFIG ": rope_scaling", type_key,
                     c->rope_scaling_type, sizeof c->rope_scaling_type, err));
    }
    return WARD_OK;
}

ward_status hf_config_parse(const char *json, size_t len, hf_config *out, ward_error *err) {
    cJSON *root;
    memset(out, 0, sizeof *out);
    TRY(hf_json_parse(json, len, CONFIG, &root, err));
    ward_status s = cJSON_IsObject(root)
                        ? WARD_OK
                        : WARD_FAIL(err, WARD_EFORMAT, CONFIG ": expected a JSON object, found %s",
                                    hf_json_type(root));
    bool present;
    if (s == WARD_OK) s = read_arch(root, out, err);
    if (s == WARD_OK) s = read_sizes(root, out, err);
    if (s == WARD_OK) s = read_options(root, out, err);
    if (s == WARD_OK)
        s = get_ids(root, CONFIG, "bos_token_id", out->n_vocab, out->bos, &out->n_bos, &present,
                    err);
    if (s == WARD_OK)
        s = get_ids(root, CONFIG, "eos_token_id", out->n_vocab, out->eos, &out->n_eos, &present,
                    err);
    cJSON_Delete(root);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * generation_config.json
 * ------------------------------------------------------------------------------------------- */

ward_status hf_generation_parse(const char *json, size_t len, hf_config *cfg, ward_error *err) {
    cJSON *root;
    TRY(hf_json_parse(json, len, GENERATION, &root, err));
    hf_config c = *cfg;
    bool has_bos = false, has_eos = false;
    ward_status s = cJSON_IsObject(root)
                        ? WARD_OK
                        : WARD_FAIL(err, WARD_EFORMAT,
                                    GENERATION ": expected a JSON object, found %s",
                                    hf_json_type(root));
    if (s == WARD_OK)
        s = get_ids(root, GENERATION, "bos_token_id", c.n_vocab, c.bos, &c.n_bos, &has_bos, err);
    if (s == WARD_OK)
        s = get_ids(root, GENERATION, "eos_token_id", c.n_vocab, c.eos, &c.n_eos, &has_eos, err);
    cJSON_Delete(root);
    if (s == WARD_OK) *cfg = c;
    return s;
}

/* Map dir/name and hand it to parse; an absent optional file is skipped. */
static ward_status load_json(const char *dir, const char *name, bool required, hf_config *cfg,
                             ward_status (*parse)(const char *, size_t, hf_config *, ward_error *),
                             ward_error *err) {
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *path = ward_malloc(len);
    if (!path) return WARD_FAIL(err, WARD_ENOMEM, "no memory for a path");
    snprintf(path, len, "%s/%s", dir, name);
    struct stat st;
    ward_status s = WARD_OK;
    ward_filemap map = {0};
    if (!required && stat(path, &st) != 0 && errno == ENOENT) goto done;
    s = ward_filemap_open(path, &map, err);
    if (s != WARD_OK) goto done;
    if (map.size > HF_MAX_JSON_FILE)
        s = WARD_FAIL(err, WARD_EFORMAT, "%s: %zu bytes, more than the %zu accepted", name,
                      map.size, HF_MAX_JSON_FILE);
    else
        s = parse(map.data, map.size, cfg, err); /* its messages start with the file name */
    if (s != WARD_OK) ward_error_prefix(err, dir);
    ward_filemap_close(&map);
done:
    ward_free(path);
    return s;
}

ward_status hf_config_load(const char *dir, hf_config *out, ward_error *err) {
    TRY(load_json(dir, CONFIG, true, out, hf_config_parse, err));
    return load_json(dir, GENERATION, false, out, hf_generation_parse, err);
}

/* ---------------------------------------------------------------------------------------------
 * Name tables
 * ------------------------------------------------------------------------------------------- */

#define ROW(hf, gguf, perm) {hf, gguf, perm, 0, 0}
#define LAYER(hf, gguf, perm) ROW("model.layers.%d." hf, "blk.%d." gguf, perm)
#define GLM(hf, gguf) ROW("transformer.encoder.layers.%d." hf, "blk.%d." gguf, HF_PERM_NONE)
#define PART(hf, gguf, perm, part) {"model.layers.%d." hf, "blk.%d." gguf, perm, part, 3}

static const hf_name_row llama_names[] = {
    ROW("model.embed_tokens.weight", "token_embd.weight", HF_PERM_NONE),
    ROW("model.norm.weight", "output_norm.weight", HF_PERM_NONE),
    ROW("lm_head.weight", "output.weight", HF_PERM_NONE),
    LAYER("input_layernorm.weight", "attn_norm.weight", HF_PERM_NONE),
    LAYER("self_attn.q_proj.weight", "attn_q.weight", HF_PERM_Q),
    LAYER("self_attn.k_proj.weight", "attn_k.weight", HF_PERM_K),
    LAYER("self_attn.v_proj.weight", "attn_v.weight", HF_PERM_NONE),
    LAYER("self_attn.o_proj.weight", "attn_output.weight", HF_PERM_NONE),
    LAYER("self_attn.q_proj.bias", "attn_q.bias", HF_PERM_Q), /* attention_bias / InternLM */
    LAYER("self_attn.k_proj.bias", "attn_k.bias", HF_PERM_K),
    LAYER("self_attn.v_proj.bias", "attn_v.bias", HF_PERM_NONE),
    LAYER("self_attn.o_proj.bias", "attn_output.bias", HF_PERM_NONE),
    LAYER("post_attention_layernorm.weight", "ffn_norm.weight", HF_PERM_NONE),
    LAYER("mlp.gate_proj.weight", "ffn_gate.weight", HF_PERM_NONE),
    LAYER("mlp.up_proj.weight", "ffn_up.weight", HF_PERM_NONE),
    LAYER("mlp.down_proj.weight", "ffn_down.weight", HF_PERM_NONE),
    ROW("model.layers.%d.self_attn.rotary_emb.inv_freq", NULL, HF_PERM_NONE), /* recomputed */
};

static const hf_name_row qwen2_names[] = {
    ROW("model.embed_tokens.weight", "token_embd.weight", HF_PERM_NONE),
    ROW("model.norm.weight", "output_norm.weight", HF_PERM_NONE),
    ROW("lm_head.weight", "output.weight", HF_PERM_NONE),
    LAYER("input_layernorm.weight", "attn_norm.weight", HF_PERM_NONE),
    LAYER("self_attn.q_proj.weight", "attn_q.weight", HF_PERM_NONE),
    LAYER("self_attn.k_proj.weight", "attn_k.weight", HF_PERM_NONE),
    LAYER("self_attn.v_proj.weight", "attn_v.weight", HF_PERM_NONE),
    LAYER("self_attn.o_proj.weight", "attn_output.weight", HF_PERM_NONE),
    LAYER("self_attn.q_proj.bias", "attn_q.bias", HF_PERM_NONE),
    LAYER("self_attn.k_proj.bias", "attn_k.bias", HF_PERM_NONE),
    LAYER("self_attn.v_proj.bias", "attn_v.bias", HF_PERM_NONE),
    LAYER("post_attention_layernorm.weight", "ffn_norm.weight", HF_PERM_NONE),
    LAYER("mlp.gate_proj.weight", "ffn_gate.weight", HF_PERM_NONE),
    LAYER("mlp.up_proj.weight", "ffn_up.weight", HF_PERM_NONE),
    LAYER("mlp.down_proj.weight", "ffn_down.weight", HF_PERM_NONE),
    ROW("model.layers.%d.self_attn.rotary_emb.inv_freq", NULL, HF_PERM_NONE),
};

/* ChatGLM2/3 and GLM-4 (llama.cpp's "chatglm"): q|k|v stays fused with its bias, gate|up
 * (dense_h_to_4h) stays fused in ffn_up; the rotary pairs are already adjacent. */
static const hf_name_row chatglm_names[] = {
    ROW("transformer.embedding.word_embeddings.weight", "token_embd.weight", HF_PERM_NONE),
    ROW("transformer.encoder.final_layernorm.weight", "output_norm.weight", HF_PERM_NONE),
    ROW("transformer.output_layer.weight", "output.weight", HF_PERM_NONE),
    GLM("input_layernorm.weight", "attn_norm.weight"),
    GLM("self_attention.query_key_value.weight", "attn_qkv.weight"),
    GLM("self_attention.query_key_value.bias", "attn_qkv.bias"),
    GLM("self_attention.dense.weight", "attn_output.weight"),
    GLM("post_attention_layernorm.weight", "ffn_norm.weight"),
    GLM("mlp.dense_h_to_4h.weight", "ffn_up.weight"),
    GLM("mlp.dense_4h_to_h.weight", "ffn_down.weight"),
    ROW("transformer.rotary_pos_emb.inv_freq", NULL, HF_PERM_NONE), /* recomputed */
};

/* ChatGLM-6B (v1), ward's "chatglm1": LayerNorms and every linear layer with biases, q|k|v
 * fused and interleaved per head (kept so: glm1.c splits it), one GELU MLP matrix each way; the
 * rotary inv_freq buffer of every layer is recomputed. */
#define GLM1(hf, gguf) ROW("transformer.layers.%d." hf, "blk.%d." gguf, HF_PERM_NONE)
static const hf_name_row chatglm1_names[] = {
    ROW("transformer.word_embeddings.weight", "token_embd.weight", HF_PERM_NONE),
    ROW("transformer.final_layernorm.weight", "output_norm.weight", HF_PERM_NONE),
    ROW("transformer.final_layernorm.bias", "output_norm.bias", HF_PERM_NONE),
    ROW("lm_head.weight", "output.weight", HF_PERM_NONE),
    GLM1("input_layernorm.weight", "attn_norm.weight"),
    GLM1("input_layernorm.bias", "attn_norm.bias"),
    GLM1("attention.query_key_value.weight", "attn_qkv.weight"),
    GLM1("attention.query_key_value.bias", "attn_qkv.bias"),
    GLM1("attention.dense.weight", "attn_output.weight"),
    GLM1("attention.dense.bias", "attn_output.bias"),
    GLM1("post_attention_layernorm.weight", "ffn_norm.weight"),
    GLM1("post_attention_layernorm.bias", "ffn_norm.bias"),
    GLM1("mlp.dense_h_to_4h.weight", "ffn_up.weight"),
    GLM1("mlp.dense_h_to_4h.bias", "ffn_up.bias"),
    GLM1("mlp.dense_4h_to_h.weight", "ffn_down.weight"),
    GLM1("mlp.dense_4h_to_h.bias", "ffn_down.bias"),
    ROW("transformer.layers.%d.attention.rotary_emb.inv_freq", NULL, HF_PERM_NONE),
};

/* Baichuan-7B / 13B, Baichuan2: W_pack (q | k | v) split into three, q and k permuted as
 * llama's (llama.cpp does it for the ALiBi models too: the same permutation of q and k leaves
 * their dot products unchanged). */
static const hf_name_row baichuan_names[] = {
    ROW("model.embed_tokens.weight", "token_embd.weight", HF_PERM_NONE),
    ROW("model.norm.weight", "output_norm.weight", HF_PERM_NONE),
    ROW("lm_head.weight", "output.weight", HF_PERM_NONE),
    LAYER("input_layernorm.weight", "attn_norm.weight", HF_PERM_NONE),
    PART("self_attn.W_pack.weight", "attn_q.weight", HF_PERM_Q, 0),
    PART("self_attn.W_pack.weight", "attn_k.weight", HF_PERM_K, 1),
    PART("self_attn.W_pack.weight", "attn_v.weight", HF_PERM_NONE, 2),
    LAYER("self_attn.o_proj.weight", "attn_output.weight", HF_PERM_NONE),
    LAYER("post_attention_layernorm.weight", "ffn_norm.weight", HF_PERM_NONE),
    LAYER("mlp.gate_proj.weight", "ffn_gate.weight", HF_PERM_NONE),
    LAYER("mlp.up_proj.weight", "ffn_up.weight", HF_PERM_NONE),
    LAYER("mlp.down_proj.weight", "ffn_down.weight", HF_PERM_NONE),
    ROW("model.layers.%d.self_attn.rotary_emb.inv_freq", NULL, HF_PERM_NONE),
};

#define N_ROWS(t) (sizeof t / sizeof t[0])

/* InternLM (v1) is llama with q/k/v/o biases: llama's table, ward's "internlm" architecture. */
static const hf_arch archs[] = {
    {false, "LlamaForCausalLM", NULL, "llama", "llama", llama_names, N_ROWS(llama_names)},
    {false, "Qwen2ForCausalLM", NULL, "qwen2", "qwen2", qwen2_names, N_ROWS(qwen2_names)},
    {false, "ChatGLMModel", "ChatGLMForConditionalGeneration", "chatglm", "chatglm",
     chatglm_names, N_ROWS(chatglm_names)},
    /* ChatGLM-6B says ChatGLMModel / chatglm as well; its config has inner_hidden_size */
    {true, "ChatGLMModel", "ChatGLMForConditionalGeneration", "chatglm", "chatglm1",
     chatglm1_names, N_ROWS(chatglm1_names)},
    {false, "BaichuanForCausalLM", "BaiChuanForCausalLM", "baichuan", "baichuan", baichuan_names,
     N_ROWS(baichuan_names)},
    {false, "InternLMForCausalLM", NULL, "internlm", "internlm", llama_names,
     N_ROWS(llama_names)},
};

const hf_arch *hf_arch_find(const hf_config *cfg) {
    for (size_t i = 0; i < N_ROWS(archs); i++) {
        const hf_arch *a = &archs[i];
        const bool named = cfg->arch[0] ? strcmp(cfg->arch, a->hf_class) == 0 ||
                                              (a->hf_class2 && strcmp(cfg->arch, a->hf_class2) == 0)
                                        : strcmp(cfg->model_type, a->model_type) == 0;
        if (named && a->glm_v1 == cfg->glm_v1) return a;
    }
    return NULL;
}

/* Does name match pattern? A "%d" in pattern matches a plain decimal number (no sign, no leading
 * zero, at most INT32_MAX) stored in *layer, else *layer = -1. */
static bool match(const char *pattern, const char *name, int64_t *layer) {
    const char *hole = strstr(pattern, "%d");
    *layer = -1;
    if (!hole) return strcmp(pattern, name) == 0;
    size_t pre = (size_t)(hole - pattern);
    if (strncmp(pattern, name, pre) != 0) return false;
    const char *p = name + pre;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9')) return false;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > INT32_MAX) return false;
    }
    if (strcmp(hole + 2, p) != 0) return false;
    *layer = v;
    return true;
}

ward_status hf_map_name(const hf_arch *a, const char *hf_name, int32_t n_layer, char *out,
                        size_t cap, const hf_name_row **row, ward_error *err) {
    for (size_t i = 0; i < a->n_names; i++) {
        int64_t layer;
        if (!match(a->names[i].hf, hf_name, &layer)) continue;
        if (layer >= n_layer)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "tensor %.96s: layer %" PRId64 " out of range (num_hidden_layers %"
                             PRId32 ")",
                             hf_name, layer, n_layer);
        *row = &a->names[i];
        return hf_row_name(*row, hf_name, out, cap, err);
    }
    return WARD_FAIL(err, WARD_EUNSUPPORTED, "tensor %.96s: no %s tensor of this name", hf_name,
                     a->gguf_arch);
}

ward_status hf_row_name(const hf_name_row *row, const char *hf_name, char *out, size_t cap,
                        ward_error *err) {
    int64_t layer = -1;
    match(row->hf, hf_name, &layer);
    const char *g = row->gguf ? row->gguf : "";
    const char *hole = strstr(g, "%d");
    int n = hole ? snprintf(out, cap, "%.*s%" PRId64 "%s", (int)(hole - g), g, layer, hole + 2)
                 : snprintf(out, cap, "%s", g);
    if (n < 0 || (size_t)n >= cap)
        return WARD_FAIL(err, WARD_ERANGE, "tensor %.96s: GGUF name longer than %zu bytes",
                         hf_name, cap);
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * q/k permutation
 * ------------------------------------------------------------------------------------------- */

int32_t hf_permute_heads(const hf_config *cfg, hf_permute p) {
    return p == HF_PERM_Q ? cfg->n_head : p == HF_PERM_K ? cfg->n_head_kv : 0;
}

ward_status hf_permute_check(int64_t n_rows, int32_t n_head, ward_error *err) {
    if (n_head < 1 || n_rows < 1 || n_rows % n_head != 0 || (n_rows / n_head) % 2 != 0)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "%" PRId64 " rows do not split into %" PRId32 " heads of an even size",
                         n_rows, n_head);
    return WARD_OK;
}

int64_t hf_permute_row(int64_t r, int64_t n_rows, int32_t n_head) {
    int64_t d = n_rows / n_head, h = r / d, i = r % d;
    return h * d + (i % 2) * (d / 2) + i / 2;
}
