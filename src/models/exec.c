/* exec.c: allocation of the per-context forward-pass state: KV cache and scratch.
 *
 * Everything a forward pass touches besides the weights is allocated here once, sized by the
 * context's n_seq, n_ctx and n_batch, so the decode loop never allocates. The context checks
 * model_exec_bytes() (64-bit, overflow-checked: n_ctx and n_batch come from the user) before
 * anything is allocated here.
 */
#include <string.h>

#include "base/error.h"
#include "kernels/matmul.h"
#include "kernels/types.h"
#include "models/blocks.h"
#include "models/model.h"

typedef struct act_need {
    int32_t n_batch;
    size_t bytes;
} act_need;

static void max_act_bytes(model_tensor *w, void *user) {
    act_need *need = user;
    if (!w->data) return;
    const size_t b = kern_matmul_scratch_bytes(w->type, w->n_cols, need->n_batch);
    if (b > need->bytes) need->bytes = b;
}

/* Largest activation-conversion scratch any weight of the model needs for n_batch rows. */
static size_t act_scratch_bytes(const ward_model *m, int32_t n_batch) {
    act_need need = {n_batch, 0};
    model_each_matmul_weight((ward_model *)m, max_act_bytes, &need); /* reads only */
    return need.bytes;
}

/* Float counts of each scratch array, in the order of the arrays list in model_exec_init(). */
#define N_SCRATCH 12
static void scratch_sizes(const model_hparams *hp, const ward_context_params *p, int32_t n_slots,
                          uint64_t sizes[N_SCRATCH]) {
    const uint64_t nb = (uint64_t)p->n_batch, q_dim = (uint64_t)hp->n_head * hp->head_dim;
    const uint64_t kv_dim = (uint64_t)hp->n_head_kv * hp->head_dim;
    sizes[0] = nb * hp->n_embd;   /* x */
    sizes[1] = nb * hp->n_embd;   /* xb */
    sizes[2] = nb * q_dim;        /* q */
    sizes[3] = nb * kv_dim;       /* k */
    sizes[4] = nb * kv_dim;       /* v */
    sizes[5] = nb * q_dim;        /* att */
    sizes[6] = nb * hp->n_embd;   /* proj */
    sizes[7] = nb * 2 * (uint64_t)hp->n_ff; /* ffn_a: gate|up when fused */
    sizes[8] = nb * hp->n_ff;     /* ffn_b */
    sizes[9] = nb * (hp->n_rot / 2) * 2; /* rope cos + sin */
    sizes[10] = (uint64_t)p->n_threads * blocks_att_work_floats(n_slots, p->attn_online_from,
                                                                hp->head_dim,
                                                                hp->n_head / hp->n_head_kv);
    sizes[11] = nb * (q_dim + 2 * kv_dim); /* qkv */
}

static uint64_t kv_elems(const model_hparams *hp, int32_t n_seq, int32_t n_ctx) {
    return (uint64_t)n_seq * hp->n_layer * n_ctx * hp->n_head_kv * hp->head_dim;
}

uint64_t model_kv_bytes_per_pos(const model_hparams *hp, ward_type kv_type) {
    return (uint64_t)hp->n_layer * 2 * kern_row_bytes(kv_type, (int64_t)hp->n_head_kv * hp->head_dim);
}

bool model_exec_bytes(const ward_model *m, const ward_context_params *p, uint64_t *bytes) {
    const int32_t n_slots = p->n_ctx + m->hp.n_prefix; /* both are bounded far below 2^31 */
    /* each factor is bounded by the loader's and the context's limits; only products can
     * overflow, so multiply with checks */
    const model_hparams *hp = &m->hp;
    uint64_t kv = 1, total, sizes[N_SCRATCH];
    const uint64_t kv_factors[] = {(uint64_t)p->n_seq, (uint64_t)n_slots,
                                   model_kv_bytes_per_pos(hp, p->kv_type)};
    for (size_t i = 0; i < sizeof kv_factors / sizeof kv_factors[0]; i++)
        if (!ward_mul_u64(kv, kv_factors[i], &kv)) return false;
    total = kv;
    scratch_sizes(hp, p, n_slots, sizes);
    for (int i = 0; i < N_SCRATCH; i++)
        if (!ward_add_u64(total, sizes[i] * sizeof(float), &total)) return false;
    return ward_add_u64(total, act_scratch_bytes(m, p->n_batch), bytes);
}

/* The p-tuning prefix into slots [0, n_prefix) of every sequence's cache, rounded to the cache's
 * type like every cached key and value. Positions never reach these slots, so clearing or truncating a
 * sequence keeps them. */
static void fill_prefix(model_exec *ex, const ward_model *m) {
    const model_kv *kv = &ex->kv;
    float *row = ex->s.k; /* scratch (n_batch, kv_dim) is free here; one row is enough */
    kern_from_float_fn to_kv = kern_from_float(kv->type, ex->isa);
    for (int32_t l = 0; l < kv->n_layer && kv->n_prefix; l++) {
        const model_layer *L = &m->layers[l];
        const model_tensor *src[2] = {&L->prefix_k, &L->prefix_v};
        void *dst[2] = {kv->k, kv->v};
        for (int kind = 0; kind < 2; kind++) {
            kern_to_float_fn to_float = kern_to_float(src[kind]->type, ex->isa);
            const size_t row_bytes = kern_row_bytes(src[kind]->type, kv->kv_dim);
            for (int32_t t = 0; t < kv->n_prefix; t++) {
                to_float((const char *)src[kind]->data + (size_t)t * row_bytes, row, kv->kv_dim);
                for (int32_t s = 0; s < kv->n_seq; s++)
                    to_kv(row, model_kv_at(kv, dst[kind], s, l, t), kv->kv_dim);
            }
        }
    }
}

ward_status model_exec_init(model_exec *ex, const ward_model *m, const ward_context_params *p,
                            ward_error *err) {
    memset(ex, 0, sizeof *ex);
    const model_hparams *hp = &m->hp;
    const int32_t n_seq = p->n_seq, n_ctx = p->n_ctx, n_batch = p->n_batch;
    ex->isa = cpu_isa_select();
    ex->att_online_from = p->attn_online_from;
    ward_status st = tp_open(p->n_threads, &ex->pool, err);
    if (st) return st;

    model_kv *kv = &ex->kv;
    kv->type = p->kv_type;
    kv->n_seq = n_seq;
    kv->n_ctx = n_ctx;
    kv->n_prefix = hp->n_prefix;
    kv->n_slots = n_ctx + hp->n_prefix;
    kv->n_layer = hp->n_layer;
    kv->kv_dim = hp->n_head_kv * hp->head_dim;
    const uint64_t kv_rows = kv_elems(hp, n_seq, kv->n_slots) / (uint64_t)kv->kv_dim;
    kv->k = ward_malloc_aligned(kv_rows, kern_row_bytes(kv->type, kv->kv_dim));
    kv->v = ward_malloc_aligned(kv_rows, kern_row_bytes(kv->type, kv->kv_dim));
    if (!kv->k || !kv->v) goto oom;

    model_scratch *s = &ex->s;
    s->n_batch = n_batch;
    uint64_t sizes[N_SCRATCH];
    scratch_sizes(hp, p, kv->n_slots, sizes);
    float **arrays[N_SCRATCH] = {&s->x, &s->xb, &s->q, &s->k, &s->v, &s->att,
                          &s->proj, &s->ffn_a, &s->ffn_b, &s->rope_cos, &s->att_work, &s->qkv};
    s->att_work_floats = sizes[10] / (uint64_t)p->n_threads;
    for (int i = 0; i < N_SCRATCH; i++)
        if (!(*arrays[i] = ward_malloc_aligned(sizes[i], sizeof(float)))) goto oom;
    s->rope_sin = s->rope_cos + (size_t)n_batch * (hp->n_rot / 2);
    s->act_bytes = act_scratch_bytes(m, n_batch);
    if (!(s->act = ward_malloc_aligned(s->act_bytes, 1))) goto oom;
    if (!(ex->seq_prompt_len = ward_calloc((size_t)n_seq, sizeof *ex->seq_prompt_len))) goto oom;
    fill_prefix(ex, m);
    return WARD_OK;
oom:
    model_exec_free(ex);
    uint64_t bytes = 0;
    model_exec_bytes(m, p, &bytes);
    return WARD_FAIL(err, WARD_ENOMEM, "out of memory for KV cache and scratch (%llu bytes)",
                     (unsigned long long)bytes);
}

void model_exec_free(model_exec *ex) {
    model_scratch *s = &ex->s;
    float *arrays[] = {s->x, s->xb, s->q, s->k, s->v, s->att,
                       s->proj, s->ffn_a, s->ffn_b, s->rope_cos, s->att_work, s->qkv};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) ward_free_aligned(arrays[i]);
    ward_free_aligned(s->act);
    ward_free(ex->seq_prompt_len);
    ward_free_aligned(ex->kv.k);
    ward_free_aligned(ex->kv.v);
    tp_close(ex->pool);
    memset(ex, 0, sizeof *ex);
}

void *model_kv_at(const model_kv *kv, void *base, int32_t seq, int32_t layer, int32_t slot) {
    const size_t row = ((size_t)seq * kv->n_layer + layer) * kv->n_slots + slot;
    return (char *)base + row * kern_row_bytes(kv->type, kv->kv_dim);
}

void model_kv_copy(model_exec *ex, int32_t src, int32_t dst, int32_t n) {
    const model_kv *kv = &ex->kv;
    const size_t bytes = (size_t)(kv->n_prefix + n) * kern_row_bytes(kv->type, kv->kv_dim);
    for (int32_t l = 0; l < kv->n_layer; l++) {
        memcpy(model_kv_at(kv, kv->k, dst, l, 0), model_kv_at(kv, kv->k, src, l, 0), bytes);
        memcpy(model_kv_at(kv, kv->v, dst, l, 0), model_kv_at(kv, kv->v, src, l, 0), bytes);
    }
    ex->seq_prompt_len[dst] = ex->seq_prompt_len[src];
}
