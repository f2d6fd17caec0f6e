/* model.h: what a loaded model is inside, and the forward-pass interface every architecture
 * implements.
 *
 * A ward_model holds the parsed GGUF file (which owns the mapping), the tokenizer, the
 * hyper-parameters (GGUF names: n_embd, n_head, ...) and model_tensor views into the mapping.
 * Architectures are rows of a table keyed by general.architecture: load() finds and checks the
 * tensors, forward() runs a batch. forward() gets everything that changes in a model_exec owned
 * by the runtime context: thread pool, ISA level, KV cache and scratch, all allocated when the
 * context was created, so a forward pass never allocates.
 *
 * KV cache layout: k and v are (n_seq, n_layer, n_slots, kv_dim) in kv_type (F16 by default, as
 * the reference engine keeps it), written in place at each token's position. A model with a
 * p-tuning v2 prefix (blk.N.prefix_k / prefix_v) keeps it in the first n_prefix slots of every
 * sequence, filled once when the context is made: unrotated, always visible, and not counted
 * in positions.
 */
#ifndef WARD_MODELS_MODEL_H
#define WARD_MODELS_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/cpu.h"
#include "base/threadpool.h"
#include "formats/gguf.h"
#include "tokenizer/tok.h"
#include "ward.h"

/* A weight: a (n_rows, n_cols) matrix or a vector (n_rows == 1), rows contiguous. */
typedef struct model_tensor {
    const void *data; /* into the mapping */
    void *packed;     /* the matrix repacked at load for the matmul (packed.h), owned by the
                       * model; NULL when its type has no packed kernels or repacking is off */
    ward_type type;
    int64_t n_cols, n_rows;
} model_tensor;

typedef struct model_hparams {
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, n_ff;
    int32_t head_dim; /* n_embd / n_head */
    int32_t n_prefix; /* p-tuning v2 virtual tokens (blk.N.prefix_k rows), 0 without */
    int32_t n_rot;    /* rotary dimensions per head (rope.dimension_count) */
    float rope_freq_base;
    float norm_eps;
    bool rope_halves; /* rotate (x[i], x[i + n_rot/2]) instead of adjacent pairs */
    bool no_rope;     /* positions come from ALiBi instead */
    float alibi_max_bias; /* > 0: ALiBi attention biases with this maximum (Baichuan-13B) */
    bool ffn_fused;   /* ffn_up holds gate and up rows (2 n_ff): SwiGLU of its two halves */
    float residual_alpha; /* ChatGLM-6B: the residual carries the normed input times this */
} model_hparams;

typedef struct model_layer {
    model_tensor attn_norm, wq, wk, wv, wo;
    model_tensor bq, bk, bv; /* biases, or data == NULL */
    model_tensor wqkv, bqkv; /* fused q|k|v projection (ChatGLM2/3), instead of wq, wk, wv */
    model_tensor bo;         /* output projection bias (InternLM, ChatGLM-6B) */
    model_tensor prefix_k, prefix_v; /* (n_prefix, kv_dim) p-tuning v2 keys and values */
    model_tensor attn_norm_b, ffn_norm_b; /* LayerNorm biases (ChatGLM-6B) */
    model_tensor ffn_up_b, ffn_down_b;    /* MLP biases (ChatGLM-6B) */
    model_tensor ffn_norm, ffn_gate, ffn_up, ffn_down;
} model_layer;

typedef struct model_arch model_arch;

struct ward_model {
    gguf_file *gguf;
    tok_vocab *vocab;
    ward_tokenizer tokenizer; /* wraps vocab (not owned): ward_model_tokenizer() */
    const model_arch *arch;
    model_hparams hp;
    model_tensor tok_embd, output_norm, output;
    model_tensor output_norm_b; /* LayerNorm bias of the final norm (ChatGLM-6B), or absent */
    model_layer *layers; /* (n_layer) */
    ward_model_info info;
    char name[128]; /* general.name, NUL-terminated copy */
    void *blob;     /* the GGUF image gguf points into when built in memory (HF directories;
                     * ward_free_aligned), else NULL: the gguf_file owns its mapping */
    char arch_name[32];
};

typedef struct model_kv {
    ward_type type; /* F16 or Q8_0 (ward_context_params.kv_type) */
    int32_t n_seq, n_ctx, kv_dim, n_layer;
    int32_t n_prefix; /* p-tuning v2 virtual tokens in slots [0, n_prefix) of every sequence */
    int32_t n_slots;  /* n_prefix + n_ctx rows per (seq, layer); position p is slot n_prefix + p */
    void *k, *v; /* (n_seq, n_layer, n_slots, kv_dim) */
} model_kv;

/* Scratch for one forward pass of up to n_batch tokens. */
typedef struct model_scratch {
    int32_t n_batch;
    float *x;       /* (n_batch, n_embd) residual stream */
    float *xb;      /* (n_batch, n_embd) normed input / attention output */
    float *q;       /* (n_batch, n_head * head_dim) */
    float *k, *v;   /* (n_batch, kv_dim) this batch's keys and values before caching */
    float *att;     /* (n_batch, n_head * head_dim) attention output */
    float *proj;    /* (n_batch, n_embd) output of wo / ffn_down */
    float *ffn_a;   /* (n_batch, 2 n_ff): gate, or gate|up when fused */
    float *ffn_b;   /* (n_batch, n_ff) */
    float *qkv;     /* (n_batch, q_dim + 2 kv_dim) fused projection output */
    float *rope_cos, *rope_sin; /* (n_batch, n_rot / 2) */
    float *att_work; /* (n_threads, att_work_floats) per-thread attention scratch */
    size_t att_work_floats; /* blocks_att_work_floats() */
    void *act;      /* kern_matmul activation scratch (64-byte aligned) */
    size_t act_bytes;
} model_scratch;

typedef struct model_exec {
    tp_pool *pool;
    ward_isa isa;
    model_kv kv;
    model_scratch s;
    int32_t att_online_from; /* keys from which attention is online (blocks_attend) */
    int32_t *seq_prompt_len; /* (n_seq) length of each sequence's first batch, for
                              * architectures whose positions depend on it (ChatGLM-6B) */
} model_exec;

/* One validated batch: tokens with their sequence and position; n_out of them want logits. */
typedef struct model_batch {
    int32_t n;
    const int32_t *tokens, *seq, *pos; /* (n) */
    int32_t n_out;
    const int32_t *out_idx; /* (n_out) batch indices, ascending */
    float *logits;          /* (n_out, n_vocab) written by forward */
} model_batch;

struct model_arch {
    const char *name; /* general.architecture */
    ward_status (*load)(ward_model *m, ward_error *err);
    /* Never fails on a validated batch; returns a status for future backends. */
    ward_status (*forward)(const ward_model *m, model_exec *ex, const model_batch *b);
};

/* Make a model of a parsed GGUF file, which it takes over (closed on failure too), and repack
 * its matrices (model_pack_weights) if asked. What ward_model_open() does after mapping the
 * file; fuzzers call it on a blob. */
ward_status model_open_gguf(gguf_file *g, bool repack, ward_model **out, ward_error *err);

/* Architecture row for general.architecture, or NULL if unsupported. */
const model_arch *model_arch_find(const char *name);

/* Find a weight by name and check its shape (n_rows == 1 for vectors: a 1-D tensor). Vectors
 * must be F32; matrices must be of a computable type. Errors name the tensor. */
ward_status model_get_tensor(const ward_model *m, const char *name, int64_t n_cols,
                             int64_t n_rows, bool required, model_tensor *out, ward_error *err);

/* Calls fn on every matrix the forward pass multiplies by (output and each layer's
 * projections), absent ones (data == NULL) included. */
void model_each_matmul_weight(ward_model *m, void (*fn)(model_tensor *w, void *user),
                              void *user);

/* Repacks the matrices whose type has packed kernels (model_tensor.packed), releasing the
 * file's pages of each as it goes (as model_release_packed_sources does), so the resident size
 * stays near the file's. */
ward_status model_pack_weights(ward_model *m, ward_error *err);
/* Drops from memory the original bytes of every packed matrix that lie in [base, base + size)
 * (a file mapping, or a converted image in memory), except the token embedding's, which is read
 * row by row. Nothing reads them afterwards. */
void model_release_packed_sources(ward_model *m, const void *base, size_t size);

/* y (n_tok, W.n_rows) = x (n_tok, W.n_cols) · Wᵀ, threaded. */
void model_matmul(model_exec *ex, const model_tensor *w, const float *x, int32_t n_tok,
                  float *y);
/* y_up = silu(x · gateᵀ) * (x · upᵀ) (y_gate gets x · gateᵀ) in one parallel job with the
 * SwiGLU fused in (kern_matmul_packed_swiglu), when both are packed alike; false (nothing done)
 * otherwise. */
bool model_matmul_swiglu(model_exec *ex, const model_tensor *gate, const model_tensor *up,
                         const float *x, int32_t n_tok, float *y_gate, float *y_up);
/* Views of a packed matrix's first n_top rows and the rest (n_top a multiple of the packed
 * row group); false when w is not packed or n_top does not fall on a group. */
bool model_tensor_split_packed(const model_tensor *w, int64_t n_top, model_tensor *top,
                               model_tensor *rest);
/* ys[i] = x · ws[i]ᵀ for n matrices of one width: as one parallel job when they are packed and
 * of one type (the activations converted once), else one after another. */
void model_matmul_many(model_exec *ex, const model_tensor *const *ws, int n, const float *x,
                       int32_t n_tok, float *const *ys);

/* Bytes of KV cache of one position of one sequence: keys and values of every layer. */
uint64_t model_kv_bytes_per_pos(const model_hparams *hp, ward_type kv_type);

/* Bytes of KV cache and scratch a context of parameters p (every default resolved: n_seq,
 * n_ctx, n_batch, n_threads, kv_type, attn_online_from) needs; false if that overflows 64 bits. */
bool model_exec_bytes(const ward_model *m, const ward_context_params *p, uint64_t *bytes);
ward_status model_exec_init(model_exec *ex, const ward_model *m, const ward_context_params *p,
                            ward_error *err);
void model_exec_free(model_exec *ex);

/* Pointer to cache row slot of (seq, layer) in a KV cache array (k or v); position p of a
 * sequence is slot n_prefix + p. */
void *model_kv_at(const model_kv *kv, void *base, int32_t seq, int32_t layer, int32_t slot);
/* Cache slots [0, n_prefix + n) of sequence src into dst, every layer (and src's prompt length,
 * which some architectures' positions depend on). */
void model_kv_copy(model_exec *ex, int32_t src, int32_t dst, int32_t n);

/* The llama architecture's forward pass, shared by families that only differ in loading:
 * llama; qwen2 (q/k/v biases, NeoX rotary, usually tied embeddings); chatglm, llama.cpp's
 * ChatGLM2/3 and GLM-4 layout (fused q|k|v with bias, rotary on half of each head, fused
 * gate|up); baichuan (rotary for Baichuan-7B, ALiBi for Baichuan-13B); internlm (InternLM v1:
 * llama with q/k/v and output-projection biases). */
ward_status llama_forward(const ward_model *m, model_exec *ex, const model_batch *b);
ward_status llama_load(ward_model *m, ward_error *err);
ward_status qwen2_load(ward_model *m, ward_error *err);
ward_status chatglm_load(ward_model *m, ward_error *err);
ward_status baichuan_load(ward_model *m, ward_error *err);
ward_status internlm_load(ward_model *m, ward_error *err);

/* ChatGLM-6B (v1), "chatglm1" (glm1.c): LayerNorm, GELU MLP with biases, 2-D rotary, positions
 * and mask from each sequence's prompt length (model_exec.seq_prompt_len), alpha-scaled
 * residuals. */
ward_status glm1_load(ward_model *m, ward_error *err);
ward_status glm1_forward(const ward_model *m, model_exec *ex, const model_batch *b);

#endif
