/* hf_model.c: the HuggingFace -> GGUF conversion plan, used to write a GGUF file (ward_convert)
 * and to open a checkpoint directory as a model in memory (hf_model_open).
 *
 * The plan (llama.cpp's convert_hf_to_gguf.py at c392e50 is the reference):
 *   1. config.json (+ generation_config.json) -> hf_config; the architecture row (llama, qwen2,
 *      chatglm for ChatGLM2/3 and GLM-4, ward's chatglm1 for ChatGLM-6B, baichuan, internlm:
 *      conv_archs[] says what each needs)
 *      and what ward can run are checked first: rope_scaling, sliding windows, activations
 *      other than SiLU, an explicit head_dim other than n_embd / n_head, ChatGLM options other
 *      than the released models' are refused.
 *   2. Every safetensors tensor, shard by shard and by name within a shard (the converter's
 *      order), is mapped to its GGUF name (hf_map_name), its dtype (F32/F16/BF16) and shape are
 *      checked against the config, and its output type is chosen: 1-D tensors F32, matrices by
 *      the recipe exactly as ward_quantize chooses (quantize.h). A tensor whose name has
 *      several rows (Baichuan's W_pack) becomes one GGUF tensor per row, each a block of its
 *      rows. ChatGLM's p-tuning v2 prefix encoder (HF_PREFIX_TENSOR, hf_config.h) becomes
 *      blk.N.prefix_k / prefix_v, each a block of its columns. Missing tensors are named.
 *   3. Metadata in the converter's order (general.*, the architecture's keys in its
 *      converter class's order, tokenizer keys from vocab_export.c, general.quantization_version
 *      for block types), then the tensor table with ne = the HF shape reversed.
 *   4. Data, one tensor at a time: each GGUF row r comes from HF row row0 + r, or row0 +
 *      hf_permute_row(r) for llama's q/k (weights and biases), columns from col0 on; rows are
 *      converted to float and
 *      to the output type
 *      (a straight copy when the types agree and nothing is permuted), split over a thread
 *      pool. A memory writer gets the rows in place (gguf_writer_next_tensor); a file writer
 *      through one scratch buffer of the largest output tensor.
 * The model opened from memory owns the GGUF image (ward_model.blob).
 */
#include "models/hf_model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/threadpool.h"
#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "kernels/types.h"
#include "models/model.h"
#include "models/quantize.h"
#include "tokenizer/tok.h"

#define GGUF_NAME_MAX 96

/* ---------------------------------------------------------------------------------------------
 * The plan
 * ------------------------------------------------------------------------------------------- */

typedef struct hf_tensor {
    const st_tensor *src;
    char name[GGUF_NAME_MAX]; /* GGUF name */
    int32_t perm_heads;       /* > 0: rows permuted over this many heads */
    int64_t row0;             /* first HF row (a part of a packed tensor), else 0 */
    int64_t col0, src_cols;   /* first HF column (a prefix block, else 0); HF row length */
    ward_type src_type, type;
    uint32_t n_dims;          /* 1 or 2 */
    int64_t ne[2];            /* GGUF order: ne[0] = HF's last dimension */
} hf_tensor;

/* Hyper-parameter keys, "<arch>." + name, in the order a converter class writes them. */
typedef enum hp_key {
    HK_END, HK_BLOCKS, HK_CTX, HK_EMBD, HK_FF, HK_HEADS, HK_HEADS_KV, HK_BASE, HK_EPS, HK_FTYPE,
    HK_VOCAB, HK_ROT, HK_LAYOUT, HK_LN_EPS, HK_ALPHA,
} hp_key;

/* What the conversion of one GGUF architecture needs beyond the name table. */
typedef struct conv_arch {
    const char *gguf_arch;
    bool biases;       /* the table's bias rows are all required (else any bias is refused) */
    bool fused_ffn;    /* ffn_up holds gate|up: 2 n_ff rows */
    float rotary;      /* rope.dimension_count = head_dim * rotary (or partial_rotary_factor) */
    bool no_add_bos;   /* tokenizer.ggml.add_bos_token false, whatever the tokenizer says */
    const char *vocab_pre; /* byte-level BPE pre-tokenizer tried first */
    const char *act;   /* the one hidden_act the architecture runs */
    bool prefix;       /* a p-tuning v2 prefix encoder (HF_PREFIX_TENSOR) is accepted */
    hp_key keys[13];
} conv_arch;

#define LLAMA_KEYS \
    {HK_BLOCKS, HK_CTX, HK_EMBD, HK_FF, HK_HEADS, HK_HEADS_KV, HK_BASE, HK_EPS, HK_FTYPE, \
     HK_VOCAB, HK_ROT}

static const conv_arch conv_archs[] = {
    {"llama", false, false, 1.0f, false, "llama-bpe", "silu", false, LLAMA_KEYS},
    {"qwen2", true, false, 1.0f, false, "qwen2", "silu", false, LLAMA_KEYS},
    /* ward's own, llama's keys */
    {"internlm", true, false, 1.0f, false, "llama-bpe", "silu", false, LLAMA_KEYS},
    /* convert_hf_to_gguf.py ChatGLMModel: rotary on half of each head, no BOS */
    {"chatglm", true, true, 0.5f, true, "chatglm-bpe", "silu", true,
     {HK_CTX, HK_EMBD, HK_FF, HK_BLOCKS, HK_HEADS, HK_HEADS_KV, HK_EPS, HK_FTYPE, HK_ROT,
      HK_BASE}},
    /* ward's ChatGLM-6B (docs/gguf-keys-chatglm1.md): 2-D rotary over the whole head, GELU */
    {"chatglm1", true, false, 1.0f, true, "chatglm-bpe", "gelu", true,
     {HK_CTX, HK_EMBD, HK_BLOCKS, HK_FF, HK_HEADS, HK_HEADS_KV, HK_LN_EPS, HK_ALPHA, HK_BASE,
      HK_ROT, HK_FTYPE}},
    /* BaichuanModel: "Meta AI original pth" layout, no rope base (the default 10000) */
    {"baichuan", false, false, 1.0f, false, "llama-bpe", "silu", false,
     {HK_LAYOUT, HK_CTX, HK_EMBD, HK_BLOCKS, HK_FF, HK_ROT, HK_HEADS, HK_HEADS_KV, HK_EPS,
      HK_FTYPE}},
};

/* ChatGLM-6B's residual scale: its modelling code computes alpha = (2 * num_layers) ** 0.5 in
 * GLMBlock, but ChatGLMModel builds every block without passing num_layers, so the block's
 * default of 28 (the released depth) is used whatever config.json's num_layers says. */
#define GLM1_RESIDUAL_ALPHA 7.483314773547883 /* sqrt(2 * 28) */

static const conv_arch *conv_arch_find(const char *gguf_arch) {
    for (size_t i = 0; i < sizeof conv_archs / sizeof conv_archs[0]; i++)
        if (strcmp(conv_archs[i].gguf_arch, gguf_arch) == 0) return &conv_archs[i];
    return NULL;
}

typedef struct hf_conv {
    const char *dir;
    hf_config cfg;
    const hf_arch *arch;
    const conv_arch *conv;
    const ward_ftype *ftype;
    st_reader *st;
    hf_tensor *t; /* (n) in output order */
    size_t n;
    tp_pool *pool;
    float *rows;  /* (n_threads, widest row) */
    uint8_t *buf; /* the largest output tensor (file writers) */
} hf_conv;

static void conv_free(hf_conv *c) {
    st_close(c->st);
    ward_free(c->t);
    tp_close(c->pool);
    ward_free_aligned(c->rows);
    ward_free(c->buf);
}

bool hf_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool has_config(const char *dir) {
    struct stat st;
    char cfg[4096];
    int n = snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    return n > 0 && (size_t)n < sizeof cfg && stat(cfg, &st) == 0;
}

/* What ward runs of an HF config; refuse the rest by name. */
static ward_status check_config(hf_conv *c, ward_error *err) {
    const hf_config *cfg = &c->cfg;
    if (!(c->arch = hf_arch_find(cfg)) || !(c->conv = conv_arch_find(c->arch->gguf_arch)))
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "config.json: architecture \"%s\" (model_type \"%s\") is not supported; "
                         "ward converts LlamaForCausalLM, Qwen2ForCausalLM, ChatGLMModel "
                         "(ChatGLM-6B, ChatGLM2/3, GLM-4), BaichuanForCausalLM and "
                         "InternLMForCausalLM",
                         cfg->arch, cfg->model_type);
    if (cfg->unsupported[0])
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "config.json: %s is not supported",
                         cfg->unsupported);
    if (cfg->partial_rotary > 0.0f && cfg->partial_rotary != c->conv->rotary)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "config.json: partial_rotary_factor %g is not supported for %s",
                         (double)cfg->partial_rotary, c->arch->gguf_arch);
    if (cfg->rope_scaling)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "config.json: rope_scaling (%s) is not supported yet",
                         cfg->rope_scaling_type[0] ? cfg->rope_scaling_type : "no type given");
    if (cfg->sliding_window)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "config.json: use_sliding_window is not supported");
    if (strcmp(cfg->hidden_act, c->conv->act) != 0)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "config.json: hidden_act \"%s\" is not supported (only %s for %s)",
                         cfg->hidden_act, c->conv->act, c->arch->gguf_arch);
    if (cfg->n_prefix > 0 && !c->conv->prefix)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "config.json: pre_seq_len (a p-tuning prefix) is not supported for %s",
                         c->arch->gguf_arch);
    if (cfg->n_prefix > 0 && cfg->prefix_projection)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "config.json: prefix_projection true (a p-tuning v2 prefix computed by "
                         "an MLP) is not supported; only the plain prefix embedding "
                         "(prefix_projection false)");
    if ((int64_t)cfg->head_dim * cfg->n_head != cfg->n_embd)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "config.json: head_dim %d x %d heads != hidden_size %d is not supported",
                         cfg->head_dim, cfg->n_head, cfg->n_embd);
    return WARD_OK;
}

/* The HF shape (rows, cols; cols == 0 for a vector) config.json implies for a GGUF name. */
static bool expected_shape(const hf_conv *c, const char *name, int64_t *rows, int64_t *cols) {
    const hf_config *cfg = &c->cfg;
    const int64_t e = cfg->n_embd, q = (int64_t)cfg->n_head * cfg->head_dim;
    const int64_t kv = (int64_t)cfg->n_head_kv * cfg->head_dim, ff = cfg->n_ff;
    const char *s = name;
    if (strncmp(s, "blk.", 4) == 0 && (s = strchr(s + 4, '.'))) s++;
    else s = name;
    static const struct { const char *suffix; int r, c; } shapes[] = {
        /* r, c: 0 none, 1 n_embd, 2 q_dim, 3 kv_dim, 4 n_ff (2 n_ff fused), 5 n_vocab,
         * 6 q_dim + 2 kv_dim */
        {"token_embd.weight", 5, 1}, {"output.weight", 5, 1}, {"output_norm.weight", 1, 0},
        {"attn_norm.weight", 1, 0},  {"ffn_norm.weight", 1, 0}, {"attn_q.weight", 2, 1},
        {"attn_k.weight", 3, 1},     {"attn_v.weight", 3, 1},  {"attn_output.weight", 1, 2},
        {"attn_q.bias", 2, 0},       {"attn_k.bias", 3, 0},    {"attn_v.bias", 3, 0},
        {"attn_output.bias", 1, 0},  {"ffn_gate.weight", 4, 1}, {"ffn_up.weight", 4, 1},
        {"ffn_down.weight", 1, 4},   {"attn_qkv.weight", 6, 1}, {"attn_qkv.bias", 6, 0},
        {"attn_norm.bias", 1, 0},    {"ffn_norm.bias", 1, 0},  {"output_norm.bias", 1, 0},
        {"ffn_up.bias", 4, 0},       {"ffn_down.bias", 1, 0},
    };
    const int64_t dims[] = {0, e, q, kv, ff, cfg->n_vocab, q + 2 * kv};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        if (strcmp(s, shapes[i].suffix) == 0) {
            *rows = dims[shapes[i].r];
            *cols = dims[shapes[i].c];
            if (c->conv->fused_ffn && strcmp(s, "ffn_up.weight") == 0) *rows = 2 * ff;
            return true;
        }
    return false;
}

static void shape_str(const st_tensor *t, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (uint32_t d = 0; d < t->n_dims && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* Check and type one source tensor, or part of it, into *out: the GGUF tensor of name row
 * row. */
static ward_status plan_tensor(const hf_conv *c, const st_tensor *src, const hf_name_row *row,
                               hf_tensor *out, ward_error *err) {
    ward_status st = hf_row_name(row, src->name, out->name, sizeof out->name, err);
    if (st != WARD_OK) return st;
    if (!st_dtype_supported(src->dtype) || !st_dtype_ward_type(src->dtype, &out->src_type))
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "tensor %s: dtype %s is not supported (only F32, F16 and BF16)",
                         src->name, st_dtype_name(src->dtype));
    if (!c->conv->biases && strstr(out->name, ".bias"))
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "tensor %s: attention biases in a %s model are not supported",
                         src->name, c->conv->gguf_arch);
    int64_t rows = 0, cols = 0;
    if (!expected_shape(c, out->name, &rows, &cols))
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "tensor %s: %s is not supported", src->name,
                         out->name);
    const bool vector = cols == 0;
    const int64_t n_parts = row->n_parts > 1 ? row->n_parts : 1;
    if (src->n_dims != (vector ? 1u : 2u) || src->shape[0] != rows * n_parts ||
        (!vector && src->shape[1] != cols)) {
        char have[96], want[64];
        shape_str(src, have, sizeof have);
        if (vector) snprintf(want, sizeof want, "[%" PRId64 "]", rows * n_parts);
        else snprintf(want, sizeof want, "[%" PRId64 ", %" PRId64 "]", rows * n_parts, cols);
        return WARD_FAIL(err, WARD_EFORMAT, "tensor %s has shape %s, config.json implies %s",
                         src->name, have, want);
    }
    out->src = src;
    out->row0 = rows * row->part;
    out->col0 = 0;
    out->src_cols = vector ? rows : cols;
    out->n_dims = vector ? 1 : 2;
    out->ne[0] = vector ? rows : cols;
    out->ne[1] = vector ? 1 : rows;
    out->perm_heads = hf_permute_heads(&c->cfg, row->permute);
    if (out->perm_heads > 0 && (st = hf_permute_check(rows, out->perm_heads, err))) {
        ward_error_prefix(err, src->name);
        return st;
    }
    return WARD_OK;
}

/* The p-tuning v2 prefix encoder as blk.l.prefix_k and blk.l.prefix_v of every layer at
 * c->t[c->n...]: column blocks 2l and 2l + 1 of kv_dim columns (HF_PREFIX_TENSOR). */
static ward_status plan_prefix(hf_conv *c, const st_tensor *src, ward_error *err) {
    const hf_config *cfg = &c->cfg;
    const int64_t kv_dim = (int64_t)cfg->n_head_kv * cfg->head_dim;
    if (!c->conv->prefix)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "tensor %s: a p-tuning prefix in a %s model is "
                         "not supported", src->name, c->conv->gguf_arch);
    if (cfg->n_prefix < 1)
        return WARD_FAIL(err, WARD_EFORMAT, "tensor %s: config.json gives no pre_seq_len",
                         src->name);
    if (!st_dtype_supported(src->dtype) || !st_dtype_ward_type(src->dtype, &c->t[c->n].src_type))
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "tensor %s: dtype %s is not supported (only F32, F16 and BF16)",
                         src->name, st_dtype_name(src->dtype));
    const int64_t cols = 2 * (int64_t)cfg->n_layer * kv_dim;
    if (src->n_dims != 2 || src->shape[0] != cfg->n_prefix || src->shape[1] != cols) {
        char have[96];
        shape_str(src, have, sizeof have);
        return WARD_FAIL(err, WARD_EFORMAT, "tensor %s has shape %s, config.json implies [%" PRId32
                         ", %" PRId64 "] (pre_seq_len, num_layers x 2 x kv_dim)", src->name, have,
                         cfg->n_prefix, cols);
    }
    const ward_type src_type = c->t[c->n].src_type;
    for (int32_t l = 0; l < cfg->n_layer; l++)
        for (int kind = 0; kind < 2; kind++) {
            hf_tensor *t = &c->t[c->n++];
            snprintf(t->name, sizeof t->name, "blk.%d.prefix_%c", (int)l, kind ? 'v' : 'k');
            t->src = src;
            t->src_type = src_type;
            t->n_dims = 2;
            t->ne[0] = kv_dim;
            t->ne[1] = cfg->n_prefix;
            t->col0 = (2 * (int64_t)l + kind) * kv_dim;
            t->src_cols = cols;
        }
    return WARD_OK;
}

/* Plan every GGUF tensor of one source tensor (none when the converter drops it, several for a
 * packed one) at c->t[c->n...]. */
static ward_status plan_source(hf_conv *c, const st_tensor *src, ward_error *err) {
    const hf_name_row *row = NULL;
    char name[GGUF_NAME_MAX];
    if (strcmp(src->name, HF_PREFIX_TENSOR) == 0) return plan_prefix(c, src, err);
    ward_status st = hf_map_name(c->arch, src->name, c->cfg.n_layer, name, sizeof name, &row,
                                 err);
    if (st != WARD_OK || !row->gguf) return st;
    const hf_name_row *end = c->arch->names + c->arch->n_names;
    for (const hf_name_row *r = row; r < end && strcmp(r->hf, row->hf) == 0; r++) {
        if ((st = plan_tensor(c, src, r, &c->t[c->n], err))) return st;
        c->n++;
    }
    return WARD_OK;
}

/* "model.layers.%d.x" with layer l, into buf. */
static void hf_name_of(const char *pattern, int32_t l, char *buf, size_t cap) {
    const char *hole = strstr(pattern, "%d");
    if (hole) snprintf(buf, cap, "%.*s%d%s", (int)(hole - pattern), pattern, (int)l, hole + 2);
    else snprintf(buf, cap, "%s", pattern);
}

static bool planned(const hf_conv *c, const char *gguf_name) {
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->t[i].name, gguf_name) == 0) return true;
    return false;
}

/* Every tensor the architecture needs is there: weights, and the biases of those with any. */
static ward_status check_complete(const hf_conv *c, ward_error *err) {
    for (size_t i = 0; i < c->arch->n_names; i++) {
        const hf_name_row *row = &c->arch->names[i];
        if (!row->gguf || (!c->conv->biases && strstr(row->gguf, ".bias")) ||
            (c->cfg.tie_word_embeddings && strcmp(row->gguf, "output.weight") == 0))
            continue;
        const int32_t n_layers = strstr(row->gguf, "%d") ? c->cfg.n_layer : 1;
        for (int32_t l = 0; l < n_layers; l++) {
            char g[GGUF_NAME_MAX], h[160];
            hf_name_of(row->gguf, l, g, sizeof g);
            if (planned(c, g)) continue;
            hf_name_of(row->hf, l, h, sizeof h);
            return WARD_FAIL(err, WARD_EFORMAT, "tensor %s (%s) is missing", h, g);
        }
    }
    if (c->cfg.n_prefix > 0 && !planned(c, "blk.0.prefix_k"))
        return WARD_FAIL(err, WARD_EFORMAT, "tensor " HF_PREFIX_TENSOR " (the p-tuning prefix "
                         "of config.json's pre_seq_len %" PRId32 ") is missing", c->cfg.n_prefix);
    return WARD_OK;
}

/* Source tensors in the converter's order: shard by shard, by name within a shard. */
static int cmp_source(const void *pa, const void *pb) {
    const st_tensor *a = *(const st_tensor *const *)pa, *b = *(const st_tensor *const *)pb;
    if (a->file != b->file) return a->file < b->file ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The checkpoint's own float type: that of most matrix bytes. */
static const ward_ftype *auto_ftype(const hf_conv *c) {
    uint64_t bytes[3] = {0}; /* F32, F16, BF16 */
    for (size_t i = 0; i < c->n; i++) {
        const ward_type t = c->t[i].src_type;
        if (c->t[i].n_dims == 2 && c->t[i].src_cols == c->t[i].ne[0]) /* not prefix blocks */
            bytes[t == WARD_TYPE_F16 ? 1 : t == WARD_TYPE_BF16 ? 2 : 0] += c->t[i].src->nbytes;
    }
    const int k = bytes[1] > bytes[0] && bytes[1] >= bytes[2] ? 1 : bytes[2] > bytes[0] ? 2 : 0;
    return ward_ftype_from_name(k == 1 ? "f16" : k == 2 ? "bf16" : "f32");
}

/* Output type of each tensor, as ward_quantize chooses it; vectors F32. */
static ward_status choose_types(hf_conv *c, const ward_convert_params *p, ward_error *err) {
    c->ftype = p->ftype ? p->ftype : auto_ftype(c);
    quant_plan qp = {.ftype = c->ftype, .pure = p->pure};
    for (size_t i = 0; i < c->n; i++) quant_plan_count(&qp, c->t[i].name, strlen(c->t[i].name));
    for (size_t i = 0; i < c->n; i++) {
        hf_tensor *t = &c->t[i];
        const size_t len = strlen(t->name);
        t->type = quant_should_quantize(t->name, len, t->n_dims)
                      ? quant_tensor_type(&qp, t->name, len, t->n_dims, t->ne[0], t->src_type)
                      : WARD_TYPE_F32;
        const kern_type_row *row = kern_type(t->type);
        if (!row || !kern_from_float(t->type, WARD_ISA_REF))
            return WARD_FAIL(err, WARD_EUNSUPPORTED, "tensor %s: ward cannot write %s", t->name,
                             row ? row->name : "this type");
        if (t->ne[0] % row->block_elems != 0)
            return WARD_FAIL(err, WARD_EUNSUPPORTED,
                             "tensor %s: rows of %" PRId64 " values do not divide into %s "
                             "blocks of %" PRId64, t->src->name, t->ne[0], row->name,
                             row->block_elems);
    }
    return WARD_OK;
}

static ward_status make_plan(hf_conv *c, const ward_convert_params *p, ward_error *err) {
    ward_status st = hf_config_load(c->dir, &c->cfg, err);
    if (st != WARD_OK) return st;
    if ((st = check_config(c, err)) || (st = st_open(c->dir, &c->st, err))) return st;
    const uint64_t n = c->st->n_tensors;
    const st_tensor **order = ward_calloc(n ? n : 1, sizeof *order);
    size_t max_parts = 1;
    for (size_t i = 0; i < c->arch->n_names; i++)
        if (c->arch->names[i].n_parts > max_parts) max_parts = c->arch->names[i].n_parts;
    /* room for every part, and the prefix's 2 tensors per layer */
    const size_t extra = 2 * (size_t)c->cfg.n_layer;
    c->t = n <= (SIZE_MAX / sizeof *c->t - extra) / max_parts
               ? ward_calloc(n * max_parts + extra, sizeof *c->t)
               : NULL;
    if (!order || !c->t) {
        ward_free(order);
        return WARD_FAIL(err, WARD_ENOMEM, "no memory for %" PRIu64 " tensors", n);
    }
    for (uint64_t i = 0; i < n; i++) order[i] = st_tensor_at(c->st, i);
    qsort(order, n, sizeof *order, cmp_source);
    for (uint64_t i = 0; i < n && st == WARD_OK; i++) st = plan_source(c, order[i], err);
    ward_free(order);
    if (st == WARD_OK) st = check_complete(c, err);
    if (st == WARD_OK) st = choose_types(c, p, err);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Metadata and tensor table
 * ------------------------------------------------------------------------------------------- */

static const char *base_name(const char *dir, char *buf, size_t cap) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/') b--;
    snprintf(buf, cap, "%.*s", (int)(n - b), dir + b);
    return buf;
}

static ward_status write_hparam(const hf_conv *c, gguf_writer *w, hp_key k) {
    const hf_config *cfg = &c->cfg;
    char key[96];
    static const char *const suffix[HK_ALPHA + 1] = {
        [HK_BLOCKS] = "block_count", [HK_CTX] = "context_length",
        [HK_EMBD] = "embedding_length", [HK_FF] = "feed_forward_length",
        [HK_HEADS] = "attention.head_count", [HK_HEADS_KV] = "attention.head_count_kv",
        [HK_BASE] = "rope.freq_base", [HK_EPS] = "attention.layer_norm_rms_epsilon",
        [HK_VOCAB] = "vocab_size", [HK_ROT] = "rope.dimension_count",
        [HK_LN_EPS] = "attention.layer_norm_epsilon", [HK_ALPHA] = "residual_alpha",
    };
    if (suffix[k]) snprintf(key, sizeof key, "%s.%s", c->arch->gguf_arch, suffix[k]);
    const float rotary = cfg->partial_rotary > 0.0f ? cfg->partial_rotary : c->conv->rotary;
    switch (k) {
    case HK_BLOCKS: return gguf_writer_set_u32(w, key, (uint32_t)cfg->n_layer);
    case HK_CTX:
        return cfg->n_ctx_train > 0 ? gguf_writer_set_u32(w, key, (uint32_t)cfg->n_ctx_train)
                                    : WARD_OK;
    case HK_EMBD: return gguf_writer_set_u32(w, key, (uint32_t)cfg->n_embd);
    case HK_FF: return gguf_writer_set_u32(w, key, (uint32_t)cfg->n_ff);
    case HK_HEADS: return gguf_writer_set_u32(w, key, (uint32_t)cfg->n_head);
    case HK_HEADS_KV: return gguf_writer_set_u32(w, key, (uint32_t)cfg->n_head_kv);
    case HK_BASE: return gguf_writer_set_f32(w, key, cfg->rope_freq_base);
    case HK_EPS:
    case HK_LN_EPS: return gguf_writer_set_f32(w, key, cfg->norm_eps);
    case HK_ALPHA: return gguf_writer_set_f32(w, key, (float)GLM1_RESIDUAL_ALPHA);
    case HK_VOCAB: return gguf_writer_set_u32(w, key, (uint32_t)cfg->n_vocab);
    case HK_ROT: /* the converter's int(head_dim * factor) */
        return gguf_writer_set_u32(w, key, (uint32_t)((double)cfg->head_dim * (double)rotary));
    case HK_FTYPE: return gguf_writer_set_u32(w, "general.file_type", c->ftype->file_type);
    case HK_LAYOUT:
        return gguf_writer_set_str(w, "general.tensor_data_layout", "Meta AI original pth");
    case HK_END: break;
    }
    return WARD_OK;
}

static ward_status write_hparams(const hf_conv *c, gguf_writer *w) {
    char name[256];
    ward_status st;
    if ((st = gguf_writer_set_str(w, "general.architecture", c->arch->gguf_arch)) ||
        (st = gguf_writer_set_str(w, "general.type", "model")) ||
        (st = gguf_writer_set_str(w, "general.name", base_name(c->dir, name, sizeof name))))
        return st;
    const size_t n_keys = sizeof c->conv->keys / sizeof c->conv->keys[0];
    for (size_t i = 0; i < n_keys && c->conv->keys[i] != HK_END; i++)
        if ((st = write_hparam(c, w, c->conv->keys[i]))) return st;
    return WARD_OK;
}

static ward_status write_metadata(const hf_conv *c, gguf_writer *w, ward_error *err) {
    ward_status st = write_hparams(c, w);
    if (st != WARD_OK) return WARD_FAIL(err, st, "%s", gguf_writer_errmsg(w));
    const bool qwen2 = strcmp(c->arch->gguf_arch, "qwen2") == 0;
    tok_export_opts o = {
        .n_vocab = c->cfg.n_vocab,
        .bos = c->cfg.n_bos > 0 ? c->cfg.bos[0] : -1,
        .eos = c->cfg.n_eos > 0 ? c->cfg.eos[0] : -1,
        .pre_hint = c->conv->vocab_pre,
        .prefer_spm = !qwen2,
    };
    if ((st = tok_export_dir(c->dir, &o, w, err))) return st;
    if (c->conv->no_add_bos && (st = gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false)))
        return WARD_FAIL(err, st, "%s", gguf_writer_errmsg(w));
    if (kern_type(c->ftype->base)->block_elems > 1 &&
        (st = gguf_writer_set_u32(w, "general.quantization_version", 2)))
        return WARD_FAIL(err, st, "%s", gguf_writer_errmsg(w));
    for (size_t i = 0; i < c->n; i++)
        if ((st = gguf_writer_add_tensor(w, c->t[i].name, c->t[i].type, c->t[i].n_dims,
                                         c->t[i].ne)))
            return WARD_FAIL(err, st, "%s", gguf_writer_errmsg(w));
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Tensor data
 * ------------------------------------------------------------------------------------------- */

typedef struct convert_job {
    const hf_tensor *t;
    ward_isa isa;
    uint8_t *dst;
    float *rows; /* (n_threads, ne[0]) */
} convert_job;

static void convert_rows(void *arg, int ith, int nth) {
    const convert_job *j = arg;
    const hf_tensor *t = j->t;
    const int64_t n_cols = t->ne[0], n_rows = t->ne[1];
    const size_t src_row = kern_row_bytes(t->src_type, t->src_cols);
    const size_t src_col0 = kern_row_bytes(t->src_type, t->col0); /* float types: no blocks */
    const size_t copy_bytes = kern_row_bytes(t->src_type, n_cols);
    const size_t dst_row = kern_row_bytes(t->type, n_cols);
    const bool copy = t->src_type == t->type;
    kern_to_float_fn to_float = kern_to_float(t->src_type, j->isa);
    kern_from_float_fn from_float = kern_from_float(t->type, j->isa);
    float *row = j->rows + (size_t)ith * (size_t)n_cols;
    /* a permuted vector (a q/k bias) is one row of n_cols values, permuted as rows */
    const bool perm_vector = t->perm_heads > 0 && t->n_dims == 1;
    if (perm_vector) {
        if (ith != 0) return;
        const uint8_t *s = t->src->data;
        const size_t el = kern_row_bytes(t->src_type, 1);
        float v;
        for (int64_t r = 0; r < n_cols; r++) {
            to_float(s + (size_t)(t->row0 + hf_permute_row(r, n_cols, t->perm_heads)) * el, &v,
                     1);
            ((float *)(void *)j->dst)[r] = v; /* vectors are F32 */
        }
        return;
    }
    for (int64_t r = n_rows * ith / nth; r < n_rows * (ith + 1) / nth; r++) {
        const int64_t from =
            t->row0 + (t->perm_heads > 0 ? hf_permute_row(r, n_rows, t->perm_heads) : r);
        const uint8_t *s = (const uint8_t *)t->src->data + (size_t)from * src_row + src_col0;
        uint8_t *d = j->dst + (size_t)r * dst_row;
        if (copy) {
            memcpy(d, s, copy_bytes);
        } else {
            to_float(s, row, n_cols);
            from_float(row, d, n_cols);
        }
    }
}

static size_t out_bytes(const hf_tensor *t) {
    return kern_row_bytes(t->type, t->ne[0]) * (size_t)t->ne[1];
}

static ward_status alloc_scratch(hf_conv *c, const ward_convert_params *p, bool memory,
                                 ward_error *err) {
    ward_status st = tp_open(p->n_threads > 0 ? p->n_threads : tp_default_threads(), &c->pool,
                             err);
    if (st != WARD_OK) return st;
    size_t buf = 1, cols = 1;
    for (size_t i = 0; i < c->n; i++) {
        const size_t b = out_bytes(&c->t[i]);
        buf = b > buf ? b : buf;
        cols = (size_t)c->t[i].ne[0] > cols ? (size_t)c->t[i].ne[0] : cols;
    }
    c->rows = ward_malloc_aligned((size_t)tp_n_threads(c->pool) * cols, sizeof(float));
    if (!memory) c->buf = ward_malloc(buf);
    if (!c->rows || (!memory && !c->buf))
        return WARD_FAIL(err, WARD_ENOMEM, "no memory for conversion scratch");
    return WARD_OK;
}

static ward_status write_data(hf_conv *c, gguf_writer *w, const ward_convert_params *p,
                              ward_error *err) {
    const bool memory = gguf_writer_is_memory(w);
    ward_status st = alloc_scratch(c, p, memory, err);
    if (st != WARD_OK) return st;
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < c->n; i++) total += c->t[i].src->nbytes;
    const ward_isa isa = cpu_isa_select();
    for (size_t i = 0; i < c->n; i++) {
        const hf_tensor *t = &c->t[i];
        const size_t nbytes = out_bytes(t);
        void *dst = c->buf;
        if (memory && (st = gguf_writer_next_tensor(w, nbytes, &dst)))
            return WARD_FAIL(err, st, "%s", gguf_writer_errmsg(w));
        convert_job job = {.t = t, .isa = isa, .dst = dst, .rows = c->rows};
        tp_run(c->pool, convert_rows, &job);
        if (!memory && (st = gguf_writer_write_tensor(w, dst, nbytes)))
            return WARD_FAIL(err, st, "%s", gguf_writer_errmsg(w));
        done += t->src->nbytes;
        if (p->progress) p->progress(p->user, (int64_t)done, (int64_t)total);
    }
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Public
 * ------------------------------------------------------------------------------------------- */

ward_status hf_convert(const char *dir, gguf_writer *w, const ward_convert_params *p,
                       ward_error *err) {
    const ward_convert_params defaults = ward_convert_default_params();
    if (!p) p = &defaults;
    hf_conv c = {.dir = dir};
    ward_status st = make_plan(&c, p, err);
    if (st == WARD_OK) st = write_metadata(&c, w, err);
    if (st == WARD_OK && (st = gguf_writer_write_header(w)))
        st = WARD_FAIL(err, st, "%s", gguf_writer_errmsg(w));
    if (st == WARD_OK) st = write_data(&c, w, p, err);
    conv_free(&c);
    return st;
}

ward_convert_params ward_convert_default_params(void) { return (ward_convert_params){0}; }

static ward_status check_dir(const char *dir, ward_error *err) {
    if (!hf_is_dir(dir)) return WARD_FAIL(err, WARD_EIO, "%s: not a directory", dir);
    if (!has_config(dir))
        return WARD_FAIL(err, WARD_EINVAL,
                         "%s: no config.json (not a HuggingFace checkpoint directory)", dir);
    return WARD_OK;
}

ward_status ward_convert(const char *hf_dir, const char *out, const ward_convert_params *p,
                         ward_error *err) {
    ward_error_clear(err);
    gguf_writer *w = NULL;
    ward_status st = check_dir(hf_dir, err);
    if (st == WARD_OK) st = gguf_writer_open(out, &w, err);
    if (st != WARD_OK) return st;
    if ((st = hf_convert(hf_dir, w, p, err))) {
        gguf_writer_close(w);
        ward_error_prefix(err, hf_dir);
        return st;
    }
    return gguf_writer_finish(w, err);
}

ward_status hf_model_open(const char *dir, const ward_convert_params *p, bool repack,
                          ward_model **out, ward_error *err) {
    *out = NULL;
    ward_error_clear(err);
    gguf_writer *w = NULL;
    void *blob = NULL;
    size_t size = 0;
    gguf_file *g = NULL;
    ward_status st = check_dir(dir, err);
    if (st == WARD_OK) st = gguf_writer_open_memory(dir, &w, err);
    if (st != WARD_OK) return st;
    if ((st = hf_convert(dir, w, p, err))) {
        gguf_writer_close(w);
        ward_error_prefix(err, dir);
        return st;
    }
    if ((st = gguf_writer_finish_memory(w, &blob, &size, err))) return st;
    if ((st = gguf_parse(blob, size, &g, err)) || (st = model_open_gguf(g, repack, out, err))) {
        ward_free_aligned(blob); /* model_open_gguf closed g */
        ward_error_prefix(err, dir);
        return st;
    }
    (*out)->blob = blob;
    model_release_packed_sources(*out, blob, size); /* the image's copies of packed matrices */
    return WARD_OK;
}
