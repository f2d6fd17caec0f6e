/* loader.c: opening a model: GGUF file, hyper-parameters, tokenizer, architecture row.
 *
 * A directory is a HuggingFace checkpoint: hf_model.c converts it into an in-memory GGUF image
 * (quantized by ward_model_params.ftype if given), which then loads exactly like a file.
 *
 * ward_model_open() parses the file (gguf_open validates its structure), reads the
 * hyper-parameters under the architecture's key prefix ("llama.embedding_length"), checks them
 * against each other and against sane limits, builds the tokenizer and lets the architecture's
 * load() find its tensors with model_get_tensor(), which checks every shape and type. A model
 * that passes is safe to run: the forward pass does no further checks on the file.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "kernels/matmul.h"
#include "kernels/packed.h"
#include "kernels/types.h"
#include "models/hf_model.h"
#include "models/model.h"

/* The architecture table: one row per general.architecture ward runs. */
static const model_arch arch_table[] = {
    {.name = "llama", .load = llama_load, .forward = llama_forward},
    {.name = "qwen2", .load = qwen2_load, .forward = llama_forward},
    {.name = "chatglm", .load = chatglm_load, .forward = llama_forward},
    {.name = "baichuan", .load = baichuan_load, .forward = llama_forward},
    {.name = "internlm", .load = internlm_load, .forward = llama_forward},
    {.name = "chatglm1", .load = glm1_load, .forward = glm1_forward},
};

const model_arch *model_arch_find(const char *name) {
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (strcmp(arch_table[i].name, name) == 0) return &arch_table[i];
    return NULL;
}

/* Hyper-parameter limits: far above any real model, low enough that sizes cannot overflow. */
#define HP_MAX_EMBD (1 << 17)
#define HP_MAX_LAYER 1024
#define HP_MAX_HEAD 1024
#define HP_MAX_FF (1 << 20)
#define HP_MAX_VOCAB (1 << 22)
#define HP_MAX_CTX (1 << 24)

static ward_status get_hp(const gguf_file *g, const char *arch, const char *suffix, bool required,
                          int32_t max, int32_t *out, ward_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint32_t v = (uint32_t)*out;
    ward_status st = gguf_get_u32(g, key, required, &v, err);
    if (st) return st;
    if (v == 0 || v > (uint32_t)max)
        return WARD_FAIL(err, WARD_EFORMAT, "%s = %u is out of range (1..%d)", key, v, max);
    *out = (int32_t)v;
    return WARD_OK;
}

static ward_status get_hp_f32(const gguf_file *g, const char *arch, const char *suffix,
                              float *out, ward_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    ward_status st = gguf_get_f32(g, key, false, out, err);
    if (st) return st;
    if (!isfinite(*out) || *out <= 0)
        return WARD_FAIL(err, WARD_EFORMAT, "%s = %g must be finite and positive", key,
                         (double)*out);
    return WARD_OK;
}

static ward_status read_hparams(ward_model *m, ward_error *err) {
    const gguf_file *g = m->gguf;
    const char *a = m->arch_name;
    model_hparams *hp = &m->hp;
    ward_status st;
    hp->n_ctx_train = 2048;
    if ((st = get_hp(g, a, "context_length", false, HP_MAX_CTX, &hp->n_ctx_train, err)) ||
        (st = get_hp(g, a, "embedding_length", true, HP_MAX_EMBD, &hp->n_embd, err)) ||
        (st = get_hp(g, a, "block_count", true, HP_MAX_LAYER, &hp->n_layer, err)) ||
        (st = get_hp(g, a, "feed_forward_length", true, HP_MAX_FF, &hp->n_ff, err)) ||
        (st = get_hp(g, a, "attention.head_count", true, HP_MAX_HEAD, &hp->n_head, err)))
        return st;
    hp->n_head_kv = hp->n_head;
    if ((st = get_hp(g, a, "attention.head_count_kv", false, HP_MAX_HEAD, &hp->n_head_kv, err)))
        return st;
    if (hp->n_embd % hp->n_head != 0)
        return WARD_FAIL(err, WARD_EFORMAT, "embedding length %d is not a multiple of %d heads",
                         hp->n_embd, hp->n_head);
    if (hp->n_head % hp->n_head_kv != 0)
        return WARD_FAIL(err, WARD_EFORMAT, "%d heads do not divide into %d KV heads",
                         hp->n_head, hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    hp->n_rot = hp->head_dim;
    if ((st = get_hp(g, a, "rope.dimension_count", false, HP_MAX_EMBD, &hp->n_rot, err))) return st;
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "rope.dimension_count %d must be even and at most the head size %d",
                         hp->n_rot, hp->head_dim);
    hp->rope_freq_base = 10000.0f;
    hp->norm_eps = 1e-5f;
    if ((st = get_hp_f32(g, a, "rope.freq_base", &hp->rope_freq_base, err)) ||
        (st = get_hp_f32(g, a, "attention.layer_norm_rms_epsilon", &hp->norm_eps, err)))
        return st;
    /* context extension (linear, YaRN, Llama 3.1 frequency factors) changes the rotary angles:
     * refuse it rather than run the model wrong */
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a);
    gguf_str scaling = {0};
    if ((st = gguf_get_str(g, key, false, &scaling, err))) return st;
    if ((scaling.len && !(scaling.len == 4 && memcmp(scaling.ptr, "none", 4) == 0)) ||
        gguf_find_tensor(g, "rope_freqs.weight"))
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "RoPE scaling (%.*s) is not supported yet",
                         scaling.len ? (int)(scaling.len < 32 ? scaling.len : 32) : 14,
                         scaling.len ? scaling.ptr : "rope_freqs.weight");
    hp->n_vocab = tok_n_vocab(m->vocab);
    if (hp->n_vocab > HP_MAX_VOCAB)
        return WARD_FAIL(err, WARD_EFORMAT, "vocabulary of %d tokens is too large", hp->n_vocab);
    return WARD_OK;
}

ward_status model_get_tensor(const ward_model *m, const char *name, int64_t n_cols,
                             int64_t n_rows, bool required, model_tensor *out, ward_error *err) {
    memset(out, 0, sizeof *out);
    const gguf_tensor *t = gguf_find_tensor(m->gguf, name);
    if (!t) {
        if (!required) return WARD_OK;
        return WARD_FAIL(err, WARD_EFORMAT, "tensor %s is missing", name);
    }
    const bool is_vector = n_rows == 1;
    const uint32_t want_dims = is_vector ? 1 : 2;
    if (t->n_dims != want_dims || t->ne[0] != n_cols || t->ne[1] != n_rows)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "tensor %s has shape [%lld, %lld] (%u dims), expected [%lld, %lld]",
                         name, (long long)t->ne[0], (long long)t->ne[1], t->n_dims,
                         (long long)n_cols, (long long)n_rows);
    if (is_vector && t->type != WARD_TYPE_F32)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "tensor %s: type %s, vectors must be F32", name,
                         ward_type_name(t->type));
    if (!ward_type_is_computable(t->type))
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "tensor %s: type %s is not supported yet", name,
                         ward_type_name(t->type));
    out->data = t->data;
    out->type = t->type;
    out->n_cols = n_cols;
    out->n_rows = n_rows;
    return WARD_OK;
}

/* The p-tuning v2 prefix, if the file has one: blk.N.prefix_k and blk.N.prefix_v of
 * (n_prefix, kv_dim) values (F32 or F16) in every layer; the virtual tokens' keys (unrotated)
 * and values, placed before each sequence's positions (docs/gguf-keys.md). */
#define MAX_PREFIX 4096
static ward_status load_prefix(ward_model *m, ward_error *err) {
    const gguf_tensor *t0 = gguf_find_tensor(m->gguf, "blk.0.prefix_k");
    model_hparams *hp = &m->hp;
    if (!t0) return WARD_OK;
    if (t0->n_dims != 2 || t0->ne[1] < 1 || t0->ne[1] > MAX_PREFIX)
        return WARD_FAIL(err, WARD_EFORMAT, "tensor blk.0.prefix_k must have 1..%d rows",
                         MAX_PREFIX);
    hp->n_prefix = (int32_t)t0->ne[1];
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    for (int32_t l = 0; l < hp->n_layer; l++) {
        model_layer *L = &m->layers[l];
        char name[64];
        ward_status st;
        snprintf(name, sizeof name, "blk.%d.prefix_k", (int)l);
        if ((st = model_get_tensor(m, name, kv_dim, hp->n_prefix, true, &L->prefix_k, err)))
            return st;
        snprintf(name, sizeof name, "blk.%d.prefix_v", (int)l);
        if ((st = model_get_tensor(m, name, kv_dim, hp->n_prefix, true, &L->prefix_v, err)))
            return st;
        if (L->prefix_k.type != WARD_TYPE_F32 && L->prefix_k.type != WARD_TYPE_F16)
            return WARD_FAIL(err, WARD_EUNSUPPORTED, "blk.%d.prefix_k: F32 or F16 expected", l);
        if (L->prefix_v.type != WARD_TYPE_F32 && L->prefix_v.type != WARD_TYPE_F16)
            return WARD_FAIL(err, WARD_EUNSUPPORTED, "blk.%d.prefix_v: F32 or F16 expected", l);
    }
    return WARD_OK;
}

static void fill_info(ward_model *m) {
    ward_model_info *in = &m->info;
    const model_hparams *hp = &m->hp;
    in->arch = m->arch_name;
    in->name = m->name;
    in->n_vocab = hp->n_vocab;
    in->n_ctx_train = hp->n_ctx_train;
    in->n_embd = hp->n_embd;
    in->n_layer = hp->n_layer;
    in->n_head = hp->n_head;
    in->n_head_kv = hp->n_head_kv;
    in->n_ff = hp->n_ff;
    uint64_t type_bytes[WARD_TYPE_COUNT] = {0};
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) {
        const gguf_tensor *t = &m->gguf->tensors[i];
        in->n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        in->n_bytes += t->nbytes;
        type_bytes[t->type] += t->nbytes;
    }
    in->main_type = WARD_TYPE_F32;
    for (int t = 0; t < WARD_TYPE_COUNT; t++)
        if (type_bytes[t] > type_bytes[in->main_type]) in->main_type = (ward_type)t;
}

static void copy_str(char *dst, size_t cap, gguf_str s) {
    size_t n = s.len < cap - 1 ? (size_t)s.len : cap - 1;
    if (n) memcpy(dst, s.ptr, n); /* an absent key has ptr == NULL */
    dst[n] = '\0';
}

static ward_status model_load(ward_model *m, ward_error *err) {
    gguf_str s = {0};
    ward_status st = gguf_get_str(m->gguf, "general.architecture", true, &s, err);
    if (st) return st;
    if (s.len >= sizeof m->arch_name || memchr(s.ptr, '\0', (size_t)s.len))
        return WARD_FAIL(err, WARD_EFORMAT, "general.architecture is not a valid name");
    copy_str(m->arch_name, sizeof m->arch_name, s);
    m->arch = model_arch_find(m->arch_name);
    if (!m->arch)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "architecture \"%s\" is not supported",
                         m->arch_name);
    gguf_str name = {0};
    if ((st = gguf_get_str(m->gguf, "general.name", false, &name, err))) return st;
    copy_str(m->name, sizeof m->name, name);
    if ((st = tok_vocab_from_gguf(m->gguf, &m->vocab, err))) return st;
    m->tokenizer = (ward_tokenizer){m->vocab, false};
    if ((st = read_hparams(m, err))) return st;
    if ((st = m->arch->load(m, err)) || (st = load_prefix(m, err))) return st;
    fill_info(m);
    return WARD_OK;
}

ward_status model_open_gguf(gguf_file *g, bool repack, ward_model **out, ward_error *err) {
    *out = NULL;
    ward_model *m = ward_calloc(1, sizeof *m);
    if (!m) {
        gguf_close(g);
        return WARD_FAIL(err, WARD_ENOMEM, "out of memory");
    }
    m->gguf = g;
    ward_status st = model_load(m, err);
    if (!st && repack) st = model_pack_weights(m, err);
    if (st) {
        ward_model_close(m);
        return st;
    }
    *out = m;
    return WARD_OK;
}

ward_model_params ward_model_default_params(void) { return (ward_model_params){0}; }

ward_status ward_model_open_ex(const char *path, const ward_model_params *params,
                               ward_model **out, ward_error *err) {
    *out = NULL;
    ward_error_clear(err);
    const ward_model_params p = params ? *params : ward_model_default_params();
    if (hf_is_dir(path)) {
        const ward_convert_params cp = {.ftype = p.ftype, .pure = p.pure,
                                        .n_threads = p.n_threads, .progress = p.progress,
                                        .user = p.user};
        return hf_model_open(path, &cp, !p.no_repack, out, err);
    }
    if (p.ftype)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "%s: load-time quantization needs a "
                         "HuggingFace checkpoint directory (quantize a GGUF file with ward "
                         "quantize)", path);
    gguf_file *g;
    ward_status st = gguf_open(path, &g, err);
    if (st) return st;
    if ((st = model_open_gguf(g, !p.no_repack, out, err))) ward_error_prefix(err, path);
    return st;
}

ward_status ward_model_open(const char *path, ward_model **out, ward_error *err) {
    return ward_model_open_ex(path, NULL, out, err);
}

void model_each_matmul_weight(ward_model *m, void (*fn)(model_tensor *w, void *user),
                              void *user) {
    fn(&m->output, user);
    for (int32_t l = 0; m->layers && l < m->hp.n_layer; l++) {
        model_layer *L = &m->layers[l];
        model_tensor *lw[] = {&L->wq, &L->wk, &L->wv, &L->wqkv, &L->wo,
                              &L->ffn_gate, &L->ffn_up, &L->ffn_down};
        for (size_t i = 0; i < sizeof lw / sizeof lw[0]; i++) fn(lw[i], user);
    }
}

typedef struct release_state {
    const ward_model *m;
    const void *base;
    size_t size;
} release_state;

static void release_one(model_tensor *w, void *user) {
    const release_state *rs = user;
    if (w->packed && w->data != rs->m->tok_embd.data)
        ward_pages_release(rs->base, rs->size, w->data,
                           kern_row_bytes(w->type, w->n_cols) * (size_t)w->n_rows);
}

typedef struct pack_state {
    ward_model *m;
    ward_isa isa; /* the level the contexts will run at (cpu_isa_select) */
    ward_status st;
    ward_error *err;
} pack_state;

/* Packs one matrix (when its type and width allow) into its own buffer. */
static void pack_one(model_tensor *w, void *user) {
    pack_state *ps = user;
    if (ps->st || !w->data || w->packed || !kern_packable(w->type, ps->isa) ||
        w->n_cols % kern_packed_block_cols(w->type))
        return;
    const size_t bytes = kern_packed_bytes(w->type, w->n_rows, w->n_cols);
    w->packed = ward_malloc_large(bytes);
    if (!w->packed) {
        ps->st = WARD_FAIL(ps->err, WARD_ENOMEM, "out of memory repacking weights (%zu bytes)",
                           bytes);
        return;
    }
    const int64_t n_groups = (w->n_rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
    kern_pack(w->type, w->data, w->n_rows, w->n_cols, 0, n_groups, w->packed);
    ps->m->info.n_packed++;
    ps->m->info.n_packed_bytes += bytes;
    /* release the file's pages of it now, not after the last matrix: the peak stays near the
     * file's size */
    const release_state rs = {ps->m, ps->m->gguf->map.data, ps->m->gguf->map.size};
    release_one(w, (void *)&rs);
}

ward_status model_pack_weights(ward_model *m, ward_error *err) {
    pack_state ps = {m, cpu_isa_select(), WARD_OK, err};
    model_each_matmul_weight(m, pack_one, &ps);
    return ps.st;
}

void model_release_packed_sources(ward_model *m, const void *base, size_t size) {
    release_state rs = {m, base, size};
    model_each_matmul_weight(m, release_one, &rs);
}

static void free_packed(model_tensor *w, void *user) {
    (void)user;
    ward_free_aligned(w->packed);
    w->packed = NULL;
}

void ward_model_close(ward_model *m) {
    if (!m) return;
    model_each_matmul_weight(m, free_packed, NULL);
    ward_free(m->layers);
    tok_vocab_free(m->vocab);
    gguf_close(m->gguf);
    ward_free_aligned(m->blob);
    ward_free(m);
}

const ward_model_info *ward_model_get_info(const ward_model *m) { return &m->info; }

void model_matmul_many(model_exec *ex, const model_tensor *const *ws, int n, const float *x,
                       int32_t n_tok, float *const *ys) {
    bool together = n <= KERN_MATMUL_MAX_MANY;
    for (int i = 0; i < n && together; i++)
        together = ws[i]->packed && ws[i]->type == ws[0]->type && ws[i]->n_cols == ws[0]->n_cols;
    if (!together) {
        for (int i = 0; i < n; i++) model_matmul(ex, ws[i], x, n_tok, ys[i]);
        return;
    }
    kern_packed_mat mats[KERN_MATMUL_MAX_MANY];
    for (int i = 0; i < n; i++) mats[i] = (kern_packed_mat){ws[i]->packed, ws[i]->n_rows, ys[i]};
    kern_matmul_packed_many(ex->pool, ex->isa, ws[0]->type, mats, n, ws[0]->n_cols, x, n_tok,
                            ex->s.act);
}

void model_matmul(model_exec *ex, const model_tensor *w, const float *x, int32_t n_tok,
                  float *y) {
    if (w->packed)
        kern_matmul_packed(ex->pool, ex->isa, w->type, w->packed, w->n_rows, w->n_cols, x, n_tok,
                           y, ex->s.act);
    else
        kern_matmul(ex->pool, ex->isa, w->type, w->data, w->n_rows, w->n_cols, x, n_tok, y,
                    ex->s.act);
}

bool model_matmul_swiglu(model_exec *ex, const model_tensor *gate, const model_tensor *up,
                         const float *x, int32_t n_tok, float *y_gate, float *y_up) {
    if (!gate->packed || !up->packed || gate->type != up->type || gate->n_cols != up->n_cols ||
        gate->n_rows != up->n_rows)
        return false;
    const kern_packed_mat g = {gate->packed, gate->n_rows, y_gate};
    const kern_packed_mat u = {up->packed, up->n_rows, y_up};
    kern_matmul_packed_swiglu(ex->pool, ex->isa, gate->type, &g, &u, gate->n_cols, x, n_tok,
                              ex->s.act);
    return true;
}

bool model_tensor_split_packed(const model_tensor *w, int64_t n_top, model_tensor *top,
                               model_tensor *rest) {
    if (!w->packed || n_top % KERN_PACK_ROWS != 0 || n_top <= 0 || n_top >= w->n_rows)
        return false;
    *top = *rest = *w;
    top->n_rows = n_top;
    rest->n_rows = w->n_rows - n_top;
    top->data = rest->data = NULL; /* the packed rows are the only copy views keep */
    rest->packed = (char *)w->packed + kern_packed_bytes(w->type, n_top, w->n_cols);
    return true;
}
