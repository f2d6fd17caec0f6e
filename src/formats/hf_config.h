/* hf_config.h: a HuggingFace checkpoint's config.json and generation_config.json as neutral
 * hyper-parameters, the HF -> GGUF tensor name tables, and llama's q/k row permutation.
 *
 * Design
 *   hf_config_parse() reads config.json into an hf_config whose fields keep GGUF names (n_embd
 *   is hidden_size, ...) and say which HF key they come from; hf_generation_parse() lays
 *   generation_config.json's bos/eos ids over it. Every key is checked for its JSON type and
 *   range, and the message names the key ("config.json: hidden_size: -64 is not positive").
 *   Nothing here builds a model: a converter or loader takes the hf_config, hf_arch_find()'s
 *   row and the safetensors reader (formats/safetensors.h) and decides what it supports (it
 *   must refuse rope_scaling, sliding windows, non-silu activations).
 *
 *   Name tables: one hf_name_row per HF name pattern ("model.layers.%d.self_attn.q_proj.weight"
 *   -> "blk.%d.attn_q.weight"), one table per architecture, matched by hf_map_name().
 *
 *   Permutation: HF llama checkpoints rotate each head's halves (x[i], x[i + d/2]); GGUF llama
 *   rotates adjacent pairs (x[2j], x[2j+1]). llama.cpp's converter therefore reorders the rows
 *   of q_proj (over n_head heads) and k_proj (over n_head_kv heads), weights and biases:
 *   within each head of d rows, GGUF row 2j + t is HF row t * d/2 + j (t = 0, 1). Qwen2 keeps
 *   HF's rotation in GGUF (NEOX style), so nothing is permuted there.
 *
 *   The JSON helpers (hf_json_*) are shared with the safetensors reader: one parse with the
 *   error offset (never cJSON's global), one integer check.
 */
#ifndef WARD_FORMATS_HF_CONFIG_H
#define WARD_FORMATS_HF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward.h"

#define HF_MAX_JSON_FILE ((size_t)64 << 20) /* config / index files larger than this are refused */
#define HF_MAX_TOKEN_IDS 8                  /* bos / eos ids kept (eos may be a list) */
#define HF_JSON_MAX_INT (((int64_t)1 << 53) - 1) /* above this, a double may be a rounded integer */

/* ---------------------------------------------------------------------------------------------
 * JSON helpers
 * ------------------------------------------------------------------------------------------- */

struct cJSON;

/* Parse len bytes (any bytes; no NUL needed) as one JSON value followed by nothing but white
 * space. The caller frees *out with cJSON_Delete(). Messages start with what. */
ward_status hf_json_parse(const char *data, size_t len, const char *what, struct cJSON **out,
                          ward_error *err);
/* "a string", "null", "missing", ... for messages. Static storage. */
const char *hf_json_type(const struct cJSON *j);
/* j must be an integral number in [min, max] (both within +-HF_JSON_MAX_INT). Otherwise
 * WARD_EFORMAT "what: key: ...". */
ward_status hf_json_int(const struct cJSON *j, const char *what, const char *key, int64_t min,
                        int64_t max, int64_t *out, ward_error *err);

/* ---------------------------------------------------------------------------------------------
 * config.json and generation_config.json
 * ------------------------------------------------------------------------------------------- */

typedef struct hf_config {
    char arch[64];       /* architectures[0], e.g. "LlamaForCausalLM"; "" if absent */
    char model_type[32]; /* model_type, e.g. "llama"; "" if absent (one of the two required) */
    int32_t n_vocab;     /* padded_vocab_size (ChatGLM) or vocab_size */
    int32_t n_ctx_train; /* max_position_embeddings (or Baichuan's, ChatGLM's spelling); 0 if
                          * absent */
    int32_t n_embd;      /* hidden_size */
    int32_t n_layer;     /* num_hidden_layers | num_layers */
    int32_t n_head;      /* num_attention_heads */
    int32_t n_head_kv;   /* num_key_value_heads | multi_query_group_num; default n_head;
                          * divides n_head */
    int32_t n_ff;        /* intermediate_size | ffn_hidden_size | inner_hidden_size */
    int32_t head_dim;    /* head_dim | kv_channels; default n_embd / n_head (which must then
                          * divide evenly) */
    bool head_dim_set;   /* head_dim was given explicitly */
    float norm_eps;      /* rms_norm_eps | layernorm_epsilon; default 1e-6 (LlamaConfig) */
    float rope_freq_base; /* rope_theta, rotary.base, or 10000 * rope_ratio; default 10000 */
    float partial_rotary; /* partial_rotary_factor; 0 if absent (the architecture's default) */
    bool tie_word_embeddings; /* default false (LlamaConfig, Qwen2Config) */
    char torch_dtype[16]; /* torch_dtype (or the newer "dtype"): "float32", "bfloat16", ...; ""
                           * if absent */
    char hidden_act[32];  /* hidden_act; default "silu" */
    bool rope_scaling;    /* rope_scaling present and not null */
    char rope_scaling_type[32]; /* its "rope_type" or "type", "" if neither */
    bool sliding_window;  /* use_sliding_window true (Qwen2) */
    int32_t n_bos, bos[HF_MAX_TOKEN_IDS]; /* bos_token_id: a number or a list; 0 ids if absent */
    int32_t n_eos, eos[HF_MAX_TOKEN_IDS]; /* eos_token_id likewise */
    char unsupported[64]; /* "rmsnorm false": an option ward cannot run, "" if none */
    bool glm_v1;          /* inner_hidden_size given: ChatGLM-6B (v1), whose architectures and
                           * model_type are ChatGLM2's; its hidden_act defaults to "gelu" */
    int32_t n_prefix;     /* pre_seq_len: p-tuning v2 virtual tokens (ChatGLM); 0 if absent */
    bool prefix_projection; /* prefix_projection: the prefix goes through an MLP (refused) */
} hf_config;

/* Parse config.json text (len bytes; no NUL needed). Every id is checked against n_vocab. On
 * failure *out holds whatever was read before the bad key; do not use it. */
ward_status hf_config_parse(const char *json, size_t len, hf_config *out, ward_error *err);
/* Lay generation_config.json over cfg: bos_token_id / eos_token_id, when present and not null,
 * replace cfg's. Other keys (sampling defaults) are ignored. cfg must come from
 * hf_config_parse(); on failure it is unchanged. */
ward_status hf_generation_parse(const char *json, size_t len, hf_config *cfg, ward_error *err);
/* Read dir/config.json and, if present, dir/generation_config.json. Messages name the file. */
ward_status hf_config_load(const char *dir, hf_config *out, ward_error *err);

/* ---------------------------------------------------------------------------------------------
 * Tensor names and the q/k permutation
 * ------------------------------------------------------------------------------------------- */

typedef enum hf_permute {
    HF_PERM_NONE,
    HF_PERM_Q, /* llama q_proj: permute over n_head heads */
    HF_PERM_K, /* llama k_proj: permute over n_head_kv heads */
} hf_permute;

typedef struct hf_name_row {
    const char *hf;   /* HF name; "%d" (at most once) stands for the layer number */
    const char *gguf; /* GGUF name with the same "%d", or NULL: the converter drops the tensor */
    hf_permute permute;
    /* n_parts > 1: the HF tensor's rows split into n_parts equal blocks and this GGUF tensor is
     * block part (Baichuan's W_pack = q | k | v). The rows of one HF name are consecutive in
     * the table, part 0 first. */
    uint8_t part, n_parts;
} hf_name_row;

typedef struct hf_arch {
    bool glm_v1;            /* the row matches only configs with (true) or without glm_v1 */
    const char *hf_class;   /* architectures[0] */
    const char *hf_class2;  /* another spelling of it, or NULL */
    const char *model_type; /* model_type */
    const char *gguf_arch;  /* general.architecture */
    const hf_name_row *names;
    size_t n_names;
} hf_arch;

/* Row for cfg's architectures[0], else its model_type (and cfg->glm_v1); NULL when ward has
 * none. */
const hf_arch *hf_arch_find(const hf_config *cfg);

/* The GGUF name of row (one of a's rows that hf_name matches, e.g. a later part of the row
 * hf_map_name() returned) into out (cap bytes); WARD_ERANGE when it does not fit. */
ward_status hf_row_name(const hf_name_row *row, const char *hf_name, char *out, size_t cap,
                        ward_error *err);

/* Map an HF tensor name. On WARD_OK *row is the matching row and out holds the GGUF name, or
 * "" when row->gguf is NULL (drop the tensor). The layer number must be plain decimal in
 * [0, n_layer). WARD_EUNSUPPORTED when no row matches, WARD_EFORMAT for a layer out of range,
 * WARD_ERANGE when out (cap bytes) is too small; messages name the tensor. */
ward_status hf_map_name(const hf_arch *a, const char *hf_name, int32_t n_layer, char *out,
                        size_t cap, const hf_name_row **row, ward_error *err);

/* The p-tuning v2 prefix encoder of ChatGLM-6B, ChatGLM2/3 (prefix_projection false): an
 * embedding of [pre_seq_len, n_layer * 2 * kv_dim]. The modelling code's get_prompt() views it as
 * [pre_seq_len, n_layer * 2, n_head_kv, head_dim], permutes to [n_layer * 2, pre_seq_len, ...] and
 * splits it in twos: index 2l holds the keys and 2l + 1 the values of layer l. So the keys of
 * layer l are columns [2l * kv_dim, (2l + 1) * kv_dim) of every row (row t: virtual token t), the
 * values the next kv_dim columns: GGUF blk.l.prefix_k / prefix_v ([kv_dim, pre_seq_len]). */
#define HF_PREFIX_TENSOR "transformer.prefix_encoder.embedding.weight"

/* Number of heads a permutation runs over: n_head for Q, n_head_kv for K, 0 for NONE. */
int32_t hf_permute_heads(const hf_config *cfg, hf_permute p);
/* Check that n_rows rows (of a weight or a bias) split into n_head heads of an even size. */
ward_status hf_permute_check(int64_t n_rows, int32_t n_head, ward_error *err);
/* The HF row that becomes GGUF row r (0 <= r < n_rows), for a tensor hf_permute_check()
 * accepted: with d = n_rows / n_head, head h = r / d, i = r % d, it is h*d + (i%2)*(d/2) + i/2. */
int64_t hf_permute_row(int64_t r, int64_t n_rows, int32_t n_head);

#endif
