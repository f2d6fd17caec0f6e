/* synth.c: random-weight models, for tests and benchmarks without downloads.
 *
 * ward_synth_write() writes a GGUF file with llama.cpp's tensor names and metadata keys, so the
 * same file runs in ward and in llama.cpp. Weights are uniform random with a scale of
 * 1/sqrt(n_cols) (so activations keep their size through the layers), norms near 1, biases
 * small; the values depend only on the seed and the tensor's name (a hash of both seeds each
 * tensor's generator), and quantization uses the plain C reference kernels, so a file is
 * bit-for-bit reproducible on any machine. The vocabulary is synthetic: <unk>, <s>, </s>, the 256
 * byte-fallback tokens, then printable ASCII pieces with and without the SentencePiece space
 * mark. Tensors are generated and written one at a time.
 *
 * Architectures are rows of synth_archs[]: the features a family adds to llama (q/k/v biases,
 * an output bias, fused q|k|v, fused gate|up, rotary on part of the head, depth rules; for
 * ChatGLM-6B's chatglm1 LayerNorm and MLP biases, no gate, its residual alpha), and
 * layer_tensors[] lists every per-layer tensor once with the feature it needs or excludes, so
 * a new family is one row. Tensor order: token_embd, output_norm, output, then layer by layer.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "kernels/types.h"
#include "models/quantize.h"
#include "ward.h"

/* Real shapes, from each model's published config.json (hidden_size, num_hidden_layers,
 * num_attention_heads, num_key_value_heads or multi_query_group_num, intermediate_size or
 * ffn_hidden_size, vocab_size or padded_vocab_size, max_position_embeddings or seq_length,
 * tie_word_embeddings). */
typedef struct synth_shape {
    const char *name, *arch;
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    bool tied;
} synth_shape;

static const synth_shape synth_shapes[] = {
    {"tinyllama-1.1b", "llama", 2048, 22, 32, 4, 5632, 32000, 2048, false},
    {"llama2-7b", "llama", 4096, 32, 32, 32, 11008, 32000, 4096, false},
    {"qwen2-1.5b", "qwen2", 1536, 28, 12, 2, 8960, 151936, 32768, true},
    {"qwen2-7b", "qwen2", 3584, 28, 28, 4, 18944, 152064, 32768, false},
    {"chatglm3-6b", "chatglm", 4096, 28, 32, 2, 13696, 65024, 8192, false},
    {"baichuan2-7b", "baichuan", 4096, 32, 32, 32, 11008, 125696, 4096, false},
};
#define N_SYNTH_SHAPES (sizeof synth_shapes / sizeof synth_shapes[0])

bool ward_synth_shape(const char *name, ward_synth_params *p) {
    for (size_t i = 0; name && i < N_SYNTH_SHAPES; i++) {
        const synth_shape *s = &synth_shapes[i];
        if (strcmp(s->name, name) != 0) continue;
        p->arch = s->arch;
        p->n_embd = s->n_embd, p->n_layer = s->n_layer, p->n_head = s->n_head;
        p->n_head_kv = s->n_head_kv, p->n_ff = s->n_ff, p->n_vocab = s->n_vocab;
        p->n_ctx = s->n_ctx, p->tied_output = s->tied;
        return true;
    }
    return false;
}

const char *const *ward_synth_shape_names(void) {
    static const char *names[N_SYNTH_SHAPES + 1];
    for (size_t i = 0; i < N_SYNTH_SHAPES; i++) names[i] = synth_shapes[i].name;
    return names;
}

ward_synth_params ward_synth_default_params(void) {
    return (ward_synth_params){.arch = "llama", .n_vocab = 512, .n_embd = 256, .n_layer = 2,
                               .n_head = 4, .n_head_kv = 2, .n_ff = 512, .n_ctx = 2048,
                               .type = WARD_TYPE_F32, .tied_output = false, .seed = 1,
                               .alibi_max_bias = 0.0f};
}

/* --- deterministic values ------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t name_seed(uint64_t seed, const char *name) {
    uint64_t h = 1469598103934665603ull ^ seed; /* FNV-1a over the name */
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* n values uniform in [center - scale, center + scale). */
static void fill_uniform(float *x, int64_t n, uint64_t state, float center, float scale) {
    for (int64_t i = 0; i < n; i++) {
        const double u = (double)(splitmix64(&state) >> 11) * (1.0 / 9007199254740992.0);
        x[i] = center + scale * (float)(2.0 * u - 1.0);
    }
}

/* --- the synthetic vocabulary --------------------------------------------------------------- */

#define SYNTH_PIECE_MAX 16

typedef struct synth_vocab {
    char (*pieces)[SYNTH_PIECE_MAX]; /* (n) NUL-terminated */
    const char **ptrs;               /* (n) into pieces */
    float *scores;                   /* (n) */
    int32_t *types;                  /* (n) */
    int32_t n;
} synth_vocab;

static void vocab_free(synth_vocab *v) {
    ward_free(v->pieces);
    ward_free(v->ptrs);
    ward_free(v->scores);
    ward_free(v->types);
}

static ward_status vocab_build(synth_vocab *v, int32_t n, ward_error *err) {
    memset(v, 0, sizeof *v);
    v->n = n;
    v->pieces = ward_calloc((size_t)n, SYNTH_PIECE_MAX);
    v->ptrs = ward_calloc((size_t)n, sizeof *v->ptrs);
    v->scores = ward_calloc((size_t)n, sizeof *v->scores);
    v->types = ward_calloc((size_t)n, sizeof *v->types);
    if (!v->pieces || !v->ptrs || !v->scores || !v->types) {
        vocab_free(v);
        return WARD_FAIL(err, WARD_ENOMEM, "out of memory for the vocabulary");
    }
    static const char *const specials[3] = {"<unk>", "<s>", "</s>"};
    for (int32_t i = 0; i < n; i++) {
        char *p = v->pieces[i];
        if (i < 3) {
            strcpy(p, specials[i]);
            v->types[i] = i == 0 ? 2 : 3; /* unknown, control */
        } else if (i < 259) {
            snprintf(p, SYNTH_PIECE_MAX, "<0x%02X>", i - 3);
            v->types[i] = 6; /* byte */
        } else {
            /* printable ASCII, then the same after "▁" (U+2581), then "▁" + two letters */
            const int32_t k = i - 259;
            if (k < 94) {
                p[0] = (char)(33 + k);
            } else if (k < 188) {
                snprintf(p, SYNTH_PIECE_MAX, "\xe2\x96\x81%c", 33 + (k - 94));
            } else {
                const int32_t j = (k - 188) % (26 * 26);
                snprintf(p, SYNTH_PIECE_MAX, "\xe2\x96\x81%c%c", 'a' + j / 26, 'a' + j % 26);
                if (k - 188 >= 26 * 26) snprintf(p, SYNTH_PIECE_MAX, "#%d", (int)k);
            }
            v->types[i] = 1;
        }
        v->ptrs[i] = p;
        v->scores[i] = -(float)i;
    }
    return WARD_OK;
}

/* --- architectures ------------------------------------------------------------------------- */

enum {
    SYN_QKV_BIAS = 1 << 0,   /* blk.N.attn_{q,k,v}.bias (or attn_qkv.bias when fused) */
    SYN_O_BIAS = 1 << 1,     /* blk.N.attn_output.bias */
    SYN_FUSED_QKV = 1 << 2,  /* one blk.N.attn_qkv of q|k|v rows instead of attn_q/k/v */
    SYN_FUSED_FFN = 1 << 3,  /* blk.N.ffn_up holds gate|up (2 n_ff rows); no ffn_gate */
    SYN_BY_DEPTH = 1 << 4,   /* depth picks the attention (Baichuan: 32 rotary, 40 ALiBi) */
    SYN_LAYERNORM = 1 << 5,  /* LayerNorms: attn/ffn/output_norm.bias, layer_norm_epsilon */
    SYN_FFN_BIAS = 1 << 6,   /* blk.N.ffn_up.bias and ffn_down.bias */
    SYN_NO_GATE = 1 << 7,    /* a plain MLP: no ffn_gate */
    SYN_GLM1 = 1 << 8,       /* chatglm1: residual_alpha key, no grouped-query attention, 2-D
                              * rotary (head size a multiple of 4) */
};

typedef struct synth_arch {
    const char *name;  /* general.architecture */
    unsigned features; /* SYN_* */
    int32_t rope_div;  /* rope.dimension_count = head_dim / rope_div */
} synth_arch;

static const synth_arch synth_archs[] = {
    {"llama", 0, 1},
    {"qwen2", SYN_QKV_BIAS, 1},
    {"chatglm", SYN_FUSED_QKV | SYN_QKV_BIAS | SYN_FUSED_FFN, 2}, /* ChatGLM2/3, GLM-4 */
    {"baichuan", SYN_BY_DEPTH, 1},
    {"internlm", SYN_QKV_BIAS | SYN_O_BIAS, 1},
    {"chatglm1", SYN_FUSED_QKV | SYN_QKV_BIAS | SYN_O_BIAS | SYN_LAYERNORM | SYN_FFN_BIAS |
                     SYN_NO_GATE | SYN_GLM1, 1}, /* ChatGLM-6B (docs/gguf-keys-chatglm1.md) */
};
#define N_SYNTH_ARCHS (sizeof synth_archs / sizeof synth_archs[0])

static const synth_arch *arch_find(const char *name) {
    for (size_t i = 0; name && i < N_SYNTH_ARCHS; i++)
        if (strcmp(synth_archs[i].name, name) == 0) return &synth_archs[i];
    return NULL;
}

/* --- tensors -------------------------------------------------------------------------------- */

typedef enum synth_dim { DIM_EMBD, DIM_KV, DIM_QKV, DIM_FF, DIM_FF2, DIM_VOCAB } synth_dim;
typedef enum synth_kind { KIND_MATRIX, KIND_NORM, KIND_BIAS } synth_kind;

/* One per-layer tensor: "blk.N." + suffix, (n_rows, n_cols) (vectors: n_rows values), and the
 * features it needs (all of them) and excludes (any of them). */
typedef struct synth_layer_row {
    const char *suffix;
    synth_kind kind;
    synth_dim rows, cols; /* cols unused for vectors */
    unsigned needs, excludes;
} synth_layer_row;

static const synth_layer_row layer_tensors[] = {
    {"attn_norm.weight", KIND_NORM, DIM_EMBD, 0, 0, 0},
    {"attn_norm.bias", KIND_BIAS, DIM_EMBD, 0, SYN_LAYERNORM, 0},
    {"attn_q.weight", KIND_MATRIX, DIM_EMBD, DIM_EMBD, 0, SYN_FUSED_QKV},
    {"attn_k.weight", KIND_MATRIX, DIM_KV, DIM_EMBD, 0, SYN_FUSED_QKV},
    {"attn_v.weight", KIND_MATRIX, DIM_KV, DIM_EMBD, 0, SYN_FUSED_QKV},
    {"attn_q.bias", KIND_BIAS, DIM_EMBD, 0, SYN_QKV_BIAS, SYN_FUSED_QKV},
    {"attn_k.bias", KIND_BIAS, DIM_KV, 0, SYN_QKV_BIAS, SYN_FUSED_QKV},
    {"attn_v.bias", KIND_BIAS, DIM_KV, 0, SYN_QKV_BIAS, SYN_FUSED_QKV},
    {"attn_qkv.weight", KIND_MATRIX, DIM_QKV, DIM_EMBD, SYN_FUSED_QKV, 0},
    {"attn_qkv.bias", KIND_BIAS, DIM_QKV, 0, SYN_FUSED_QKV | SYN_QKV_BIAS, 0},
    {"attn_output.weight", KIND_MATRIX, DIM_EMBD, DIM_EMBD, 0, 0},
    {"attn_output.bias", KIND_BIAS, DIM_EMBD, 0, SYN_O_BIAS, 0},
    {"ffn_norm.weight", KIND_NORM, DIM_EMBD, 0, 0, 0},
    {"ffn_norm.bias", KIND_BIAS, DIM_EMBD, 0, SYN_LAYERNORM, 0},
    {"ffn_gate.weight", KIND_MATRIX, DIM_FF, DIM_EMBD, 0, SYN_FUSED_FFN | SYN_NO_GATE},
    {"ffn_up.weight", KIND_MATRIX, DIM_FF, DIM_EMBD, 0, SYN_FUSED_FFN},
    {"ffn_up.weight", KIND_MATRIX, DIM_FF2, DIM_EMBD, SYN_FUSED_FFN, 0},
    {"ffn_up.bias", KIND_BIAS, DIM_FF, 0, SYN_FFN_BIAS, 0},
    {"ffn_down.weight", KIND_MATRIX, DIM_EMBD, DIM_FF, 0, 0},
    {"ffn_down.bias", KIND_BIAS, DIM_EMBD, 0, SYN_FFN_BIAS, 0},
};
#define N_LAYER_ROWS (sizeof layer_tensors / sizeof layer_tensors[0])

typedef struct synth_tensor {
    char name[64];
    int64_t n_cols, n_rows; /* vectors: n_rows == 1 */
    synth_kind kind;
    ward_type type;
} synth_tensor;

static int64_t dim_of(const ward_synth_params *p, synth_dim d) {
    const int64_t kv = (int64_t)(p->n_embd / p->n_head) * p->n_head_kv;
    switch (d) {
    case DIM_EMBD: return p->n_embd;
    case DIM_KV: return kv;
    case DIM_QKV: return p->n_embd + 2 * kv;
    case DIM_FF: return p->n_ff;
    case DIM_FF2: return 2 * (int64_t)p->n_ff;
    case DIM_VOCAB: return p->n_vocab;
    }
    return 0;
}

static void add_tensor(synth_tensor *t, const char *name, synth_kind kind, int64_t n_rows,
                       int64_t n_cols) {
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->n_rows = kind == KIND_MATRIX ? n_rows : 1;
    t->n_cols = kind == KIND_MATRIX ? n_cols : n_rows;
}

/* Each matrix gets p->type, or what the recipe gives it (the counts its rules need are taken
 * over all tensors first, as ward quantize does); vectors stay F32. */
static void choose_types(const ward_synth_params *p, synth_tensor *ts, int32_t n) {
    quant_plan plan = {.ftype = p->ftype};
    for (int32_t i = 0; p->ftype && i < n; i++)
        quant_plan_count(&plan, ts[i].name, strlen(ts[i].name));
    for (int32_t i = 0; i < n; i++) {
        synth_tensor *t = &ts[i];
        t->type = t->kind != KIND_MATRIX ? WARD_TYPE_F32
                  : p->ftype ? quant_tensor_type(&plan, t->name, strlen(t->name), 2, t->n_cols,
                                                 WARD_TYPE_F32)
                             : p->type;
    }
}

/* Every tensor of the model, in file order, into out (NULL: only count them). */
static int32_t list_tensors(const ward_synth_params *p, const synth_arch *a, synth_tensor *out) {
    int32_t n = 0;
    const int64_t e = p->n_embd, v = p->n_vocab;
#define ADD(name, kind, rows, cols) \
    do {                            \
        if (out) add_tensor(&out[n], name, kind, rows, cols); \
        n++;                        \
    } while (0)
    ADD("token_embd.weight", KIND_MATRIX, v, e);
    ADD("output_norm.weight", KIND_NORM, e, 0);
    if (a->features & SYN_LAYERNORM) ADD("output_norm.bias", KIND_BIAS, e, 0);
    if (!p->tied_output) ADD("output.weight", KIND_MATRIX, v, e);
    for (int32_t l = 0; l < p->n_layer; l++)
        for (size_t i = 0; i < N_LAYER_ROWS; i++) {
            const synth_layer_row *r = &layer_tensors[i];
            if ((a->features & r->needs) != r->needs || (a->features & r->excludes)) continue;
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s", (int)l, r->suffix);
            ADD(name, r->kind, dim_of(p, r->rows), dim_of(p, r->cols));
        }
#undef ADD
    return n;
}

static ward_status check_params(const ward_synth_params *p, const synth_arch **arch,
                                ward_error *err) {
    if (!(*arch = arch_find(p->arch)))
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "synth: architecture \"%s\" is not supported "
                         "(supported: llama qwen2 chatglm chatglm1 baichuan internlm)",
                         p->arch ? p->arch : "(null)");
    const synth_arch *a = *arch;
    if (p->n_vocab < 259 || p->n_vocab > (1 << 20))
        return WARD_FAIL(err, WARD_EINVAL, "synth: n_vocab %d must be in 259..1048576 (3 "
                         "special and 256 byte tokens come first)", p->n_vocab);
    if (p->n_embd <= 0 || p->n_layer <= 0 || p->n_head <= 0 || p->n_head_kv <= 0 ||
        p->n_ff <= 0 || p->n_ctx <= 0 || p->n_embd > (1 << 16) || p->n_ff > (1 << 18) ||
        p->n_layer > 512)
        return WARD_FAIL(err, WARD_EINVAL, "synth: dimensions must be positive (n_embd <= "
                         "65536, n_ff <= 262144, layers <= 512)");
    if (p->n_embd % p->n_head || p->n_head % p->n_head_kv ||
        (p->n_embd / p->n_head) % (2 * a->rope_div))
        return WARD_FAIL(err, WARD_EINVAL, "synth: n_embd %d must split into %d heads whose "
                         "size is a multiple of %d, and the heads into %d KV groups", p->n_embd,
                         p->n_head, 2 * a->rope_div, p->n_head_kv);
    if ((a->features & SYN_GLM1) &&
        (p->n_head_kv != p->n_head || (p->n_embd / p->n_head) % 4 != 0))
        return WARD_FAIL(err, WARD_EINVAL, "synth: %s has no grouped-query attention (n_head_kv "
                         "%d must equal n_head %d) and its 2-D rotary needs a head size that is a "
                         "multiple of 4", a->name, p->n_head_kv, p->n_head);
    if (!(p->alibi_max_bias >= 0.0f && p->alibi_max_bias <= 1e4f))
        return WARD_FAIL(err, WARD_EINVAL, "synth: alibi_max_bias must be in [0, 10000]");
    if (p->alibi_max_bias > 0.0f && !(a->features & SYN_BY_DEPTH))
        return WARD_FAIL(err, WARD_EINVAL, "synth: ALiBi is a baichuan option, not %s's",
                         a->name);
    if ((a->features & SYN_BY_DEPTH) && p->alibi_max_bias == 0.0f && p->n_layer != 32 &&
        p->n_layer != 40)
        return WARD_FAIL(err, WARD_EINVAL, "synth: %s picks its attention by depth: 32 layers "
                         "(rotary) or 40 (ALiBi), not %d; or give an ALiBi maximum bias",
                         a->name, p->n_layer);
    const ward_type type = p->ftype ? p->ftype->base : p->type;
    if (!ward_type_is_computable(type) || !kern_type(type)->from_float[WARD_ISA_REF])
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "synth: type %s is not supported",
                         ward_type_name(type) ? ward_type_name(type) : "?");
    /* K-quant recipes fall back to other types (finally F16) for rows that do not divide into
     * their blocks; every other type needs whole blocks */
    const int64_t be = kern_type(type)->block_elems, blk = p->ftype && be == 256 ? 1 : be;
    if (p->n_embd % blk || p->n_ff % blk)
        return WARD_FAIL(err, WARD_EINVAL, "synth: type %s needs n_embd and n_ff to be "
                         "multiples of %lld", ward_type_name(type), (long long)blk);
    return WARD_OK;
}

static ward_status write_metadata(gguf_writer *w, const ward_synth_params *p,
                                  const synth_arch *a, const synth_vocab *v) {
    const uint32_t hd = (uint32_t)(p->n_embd / p->n_head);
    char key[96];
    ward_status st;
#define KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, a->name), key)
    if ((st = gguf_writer_set_str(w, "general.architecture", a->name)) ||
        (st = gguf_writer_set_str(w, "general.name", "ward synth (random weights)")) ||
        (st = gguf_writer_set_u32(w, KEY("context_length"), (uint32_t)p->n_ctx)) ||
        (st = gguf_writer_set_u32(w, KEY("embedding_length"), (uint32_t)p->n_embd)) ||
        (st = gguf_writer_set_u32(w, KEY("block_count"), (uint32_t)p->n_layer)) ||
        (st = gguf_writer_set_u32(w, KEY("feed_forward_length"), (uint32_t)p->n_ff)) ||
        (st = gguf_writer_set_u32(w, KEY("attention.head_count"), (uint32_t)p->n_head)) ||
        (st = gguf_writer_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)p->n_head_kv)) ||
        (st = gguf_writer_set_u32(w, KEY("rope.dimension_count"), hd / (uint32_t)a->rope_div)) ||
        (st = gguf_writer_set_f32(w, KEY("rope.freq_base"), 10000.0f)) ||
        (st = gguf_writer_set_f32(w, (a->features & SYN_LAYERNORM)
                                         ? KEY("attention.layer_norm_epsilon")
                                         : KEY("attention.layer_norm_rms_epsilon"),
                                  1e-5f)) ||
        ((a->features & SYN_GLM1) && /* sqrt(2 * 28): ChatGLM-6B's, whatever the depth */
         (st = gguf_writer_set_f32(w, KEY("residual_alpha"), 7.483314773547883f))) ||
        (p->alibi_max_bias > 0.0f &&
         (st = gguf_writer_set_f32(w, KEY("attention.max_alibi_bias"), p->alibi_max_bias))) ||
        (st = gguf_writer_set_str(w, "tokenizer.ggml.model", "llama")) ||
        (st = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", v->ptrs, (uint64_t)v->n)) ||
        (st = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, v->scores,
                                  (uint64_t)v->n)) ||
        (st = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, v->types,
                                  (uint64_t)v->n)) ||
        (st = gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1)) ||
        (st = gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2)) ||
        (st = gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0)))
        return st;
#undef KEY
    return WARD_OK;
}

/* Generate one tensor into f (floats) and, when quantized, q; then write it. */
static ward_status write_tensor(gguf_writer *w, const synth_tensor *t, uint64_t seed, float *f,
                                void *q) {
    const int64_t n = t->n_cols * t->n_rows;
    const uint64_t state = name_seed(seed, t->name);
    if (t->kind == KIND_NORM) fill_uniform(f, n, state, 1.0f, 0.2f);
    else if (t->kind == KIND_BIAS) fill_uniform(f, n, state, 0.0f, 0.1f);
    else fill_uniform(f, n, state, 0.0f, sqrtf(3.0f / (float)t->n_cols));
    if (t->type == WARD_TYPE_F32) return gguf_writer_write_tensor(w, f, (size_t)n * sizeof *f);
    const size_t row_bytes = kern_row_bytes(t->type, t->n_cols);
    kern_from_float_fn quant = kern_from_float(t->type, WARD_ISA_REF);
    for (int64_t r = 0; r < t->n_rows; r++)
        quant(f + r * t->n_cols, (char *)q + (size_t)r * row_bytes, t->n_cols);
    return gguf_writer_write_tensor(w, q, row_bytes * (size_t)t->n_rows);
}

ward_status ward_synth_write(const ward_synth_params *p, const char *path, ward_error *err) {
    ward_error_clear(err);
    const synth_arch *a = NULL;
    ward_status st = check_params(p, &a, err);
    if (st) return st;
    synth_vocab v;
    if ((st = vocab_build(&v, p->n_vocab, err))) return st;
    synth_tensor *ts = ward_calloc((size_t)list_tensors(p, a, NULL), sizeof *ts);
    gguf_writer *w = NULL;
    float *f = NULL;
    void *q = NULL;
    if (!ts) {
        st = WARD_FAIL(err, WARD_ENOMEM, "out of memory");
        goto done;
    }
    const int32_t n_t = list_tensors(p, a, ts);
    choose_types(p, ts, n_t);
    int64_t max_elems = 0;
    for (int32_t i = 0; i < n_t; i++)
        if (ts[i].n_cols * ts[i].n_rows > max_elems) max_elems = ts[i].n_cols * ts[i].n_rows;
    f = ward_malloc((size_t)max_elems * sizeof *f);
    q = ward_malloc((size_t)max_elems * sizeof *f);
    if (!f || !q) {
        st = WARD_FAIL(err, WARD_ENOMEM, "out of memory for a tensor of %lld values",
                       (long long)max_elems);
        goto done;
    }
    if ((st = gguf_writer_open(path, &w, err))) goto done;
    if ((st = write_metadata(w, p, a, &v))) goto write_failed;
    for (int32_t i = 0; i < n_t; i++) {
        const int64_t ne[2] = {ts[i].n_cols, ts[i].n_rows};
        if ((st = gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].kind == KIND_MATRIX ? 2 : 1,
                                         ne)))
            goto write_failed;
    }
    if ((st = gguf_writer_write_header(w))) goto write_failed;
    for (int32_t i = 0; i < n_t; i++)
        if ((st = write_tensor(w, &ts[i], p->seed, f, q))) goto write_failed;
    st = gguf_writer_finish(w, err);
    w = NULL;
    goto done;
write_failed:
    WARD_FAIL(err, st, "%s: %s", path, gguf_writer_errmsg(w));
done:
    gguf_writer_close(w);
    ward_free(f);
    ward_free(q);
    ward_free(ts);
    vocab_free(&v);
    return st;
}
