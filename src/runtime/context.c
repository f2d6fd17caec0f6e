/* context.c: ward_context, the mutable side of running a model (see ward.h).
 *
 * A context owns a model_exec (thread pool, KV caches for n_seq sequences, scratch), the length
 * of each sequence, and the logits of the last batch. ward_decode() validates a whole batch
 * before touching any cache (tokens in range, sequence ids valid, room left in each sequence,
 * logit rows available), assigns positions, and hands the architecture's forward() a
 * model_batch; if validation fails nothing has changed. Logits are kept for at most n_out_max
 * tokens per batch, allocated here once.
 */
#include <string.h>

#include "base/error.h"
#include "models/model.h"

struct ward_context {
    const ward_model *model;
    model_exec ex;
    int32_t n_ctx, n_seq, n_batch, n_out_max;
    int32_t *seq_len;  /* (n_seq) positions filled in each sequence */
    int32_t *seq_next; /* (n_seq) next free position while a batch is being prepared */
    int32_t *pos;      /* (n_batch) positions of the current batch */
    int32_t *seq;      /* (n_batch) sequence of each token of the current batch */
    int32_t *out_idx;  /* (n_out_max) batch indices that want logits */
    int32_t *out_row;  /* (n_batch) logits row of each batch index, or -1 */
    float *logits;     /* (n_out_max, n_vocab) */
    int32_t n_last;    /* tokens of the last successful batch (0 after a failed one) */
    ward_error err;
};

ward_context_params ward_context_default_params(void) {
    return (ward_context_params){.n_ctx = 0, .n_seq = 1, .n_batch = 512, .n_threads = 0,
                                 .n_outputs = 0, .attn_online_from = WARD_ATTN_ONLINE_FROM};
}

uint64_t ward_kv_bytes_per_position(const ward_model *m, ward_type kv_type) {
    return model_kv_bytes_per_pos(&m->hp, kv_type == WARD_TYPE_F32 ? WARD_TYPE_F16 : kv_type);
}

static ward_status check_params(const ward_model *m, const ward_context_params *p,
                                ward_context_params *out, ward_error *err) {
    *out = *p;
    if (p->n_ctx < 0 || p->n_seq < 0 || p->n_batch < 0 || p->n_threads < 0 || p->n_outputs < 0 ||
        p->attn_online_from < 0)
        return WARD_FAIL(err, WARD_EINVAL, "context parameters must not be negative");
    if (!out->n_ctx) out->n_ctx = m->hp.n_ctx_train < 4096 ? m->hp.n_ctx_train : 4096;
    if (!out->n_seq) out->n_seq = 1;
    if (!out->n_batch) out->n_batch = 512;
    if (!out->n_threads) out->n_threads = tp_default_threads() < 512 ? tp_default_threads() : 512;
    if (!out->n_outputs) out->n_outputs = out->n_seq;
    if (!out->attn_online_from) out->attn_online_from = WARD_ATTN_ONLINE_FROM;
    if (out->n_outputs > out->n_batch) out->n_outputs = out->n_batch;
    if (out->n_ctx > (1 << 24) || out->n_seq > 4096 || out->n_batch > (1 << 16) ||
        out->n_threads > 512)
        return WARD_FAIL(err, WARD_EINVAL,
                         "context too large: n_ctx %d (max 16M), n_seq %d (max 4096), n_batch %d "
                         "(max 65536), threads %d (max 512)",
                         out->n_ctx, out->n_seq, out->n_batch, out->n_threads);
    if (out->kv_type == WARD_TYPE_F32) out->kv_type = WARD_TYPE_F16; /* 0: the default */
    if (out->kv_type != WARD_TYPE_F16 && out->kv_type != WARD_TYPE_Q8_0)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "KV cache type %s is not supported (F16 or Q8_0)",
                         ward_type_name(out->kv_type) ? ward_type_name(out->kv_type) : "?");
    if (out->kv_type == WARD_TYPE_Q8_0 && m->hp.head_dim % 32 != 0)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "a Q8_0 KV cache needs a head size that is a "
                         "multiple of 32 (this model's is %d)", m->hp.head_dim);
    uint64_t bytes;
    if (!model_exec_bytes(m, out, &bytes))
        return WARD_FAIL(err, WARD_EINVAL, "context too large: KV cache and scratch for %d "
                         "sequences of %d positions do not fit in 64 bits", out->n_seq,
                         out->n_ctx);
    return WARD_OK;
}

ward_status ward_context_open(const ward_model *model, const ward_context_params *params,
                              ward_context **out, ward_error *err) {
    *out = NULL;
    ward_error_clear(err);
    ward_context_params p;
    ward_status st = check_params(model, params, &p, err);
    if (st) return st;
    ward_context *c = ward_calloc(1, sizeof *c);
    if (!c) return WARD_FAIL(err, WARD_ENOMEM, "out of memory");
    c->model = model;
    c->n_ctx = p.n_ctx;
    c->n_seq = p.n_seq;
    c->n_batch = p.n_batch;
    c->n_out_max = p.n_outputs;
    if ((st = model_exec_init(&c->ex, model, &p, err)))
        goto fail;
    c->seq_len = ward_calloc((size_t)p.n_seq, sizeof *c->seq_len);
    c->seq_next = ward_calloc((size_t)p.n_seq, sizeof *c->seq_next);
    c->pos = ward_calloc((size_t)p.n_batch, sizeof *c->pos);
    c->seq = ward_calloc((size_t)p.n_batch, sizeof *c->seq);
    c->out_idx = ward_calloc((size_t)p.n_outputs, sizeof *c->out_idx);
    c->out_row = ward_calloc((size_t)p.n_batch, sizeof *c->out_row);
    c->logits = ward_malloc_aligned((size_t)p.n_outputs * (size_t)model->hp.n_vocab, sizeof(float));
    if (!c->seq_len || !c->seq_next || !c->pos || !c->seq || !c->out_idx || !c->out_row || !c->logits) {
        st = WARD_FAIL(err, WARD_ENOMEM, "out of memory for context buffers");
        goto fail;
    }
    for (int32_t i = 0; i < p.n_batch; i++) c->out_row[i] = -1;
    *out = c;
    return WARD_OK;
fail:
    ward_context_close(c);
    return st;
}

void ward_context_close(ward_context *c) {
    if (!c) return;
    model_exec_free(&c->ex);
    ward_free(c->seq_len);
    ward_free(c->seq_next);
    ward_free(c->pos);
    ward_free(c->seq);
    ward_free(c->out_idx);
    ward_free(c->out_row);
    ward_free_aligned(c->logits);
    ward_free(c);
}

const char *ward_context_errmsg(const ward_context *c) { return c->err.msg; }
int32_t ward_context_n_ctx(const ward_context *c) { return c->n_ctx; }

int32_t ward_context_seq_len(const ward_context *c, int32_t seq) {
    return seq >= 0 && seq < c->n_seq ? c->seq_len[seq] : -1;
}

ward_status ward_context_seq_clear(ward_context *c, int32_t seq) {
    ward_error_clear(&c->err);
    if (seq < 0 || seq >= c->n_seq)
        return WARD_FAIL(&c->err, WARD_EINVAL, "sequence %d out of range (0..%d)", seq,
                         c->n_seq - 1);
    c->seq_len[seq] = 0;
    return WARD_OK;
}

ward_status ward_context_seq_truncate(ward_context *c, int32_t seq, int32_t n) {
    ward_error_clear(&c->err);
    if (seq < 0 || seq >= c->n_seq)
        return WARD_FAIL(&c->err, WARD_EINVAL, "sequence %d out of range (0..%d)", seq,
                         c->n_seq - 1);
    if (n < 0 || n > c->seq_len[seq])
        return WARD_FAIL(&c->err, WARD_EINVAL, "cannot keep %d positions of sequence %d, which "
                         "has %d", n, seq, c->seq_len[seq]);
    c->seq_len[seq] = n; /* positions >= n are overwritten by the next tokens */
    return WARD_OK;
}

ward_status ward_context_seq_copy(ward_context *c, int32_t src, int32_t dst, int32_t n) {
    ward_error_clear(&c->err);
    if (src < 0 || src >= c->n_seq || dst < 0 || dst >= c->n_seq)
        return WARD_FAIL(&c->err, WARD_EINVAL, "sequences %d, %d: out of range (0..%d)", src,
                         dst, c->n_seq - 1);
    if (n < 0 || n > c->seq_len[src])
        return WARD_FAIL(&c->err, WARD_EINVAL, "cannot copy %d positions of sequence %d, which "
                         "has %d", n, src, c->seq_len[src]);
    if (src != dst) model_kv_copy(&c->ex, src, dst, n);
    c->seq_len[dst] = n;
    return WARD_OK;
}

/* Check every token of the batch and assign positions; changes nothing outside the batch
 * arrays, so a rejected batch leaves the caches as they were. */
static ward_status prepare_batch(ward_context *c, const ward_batch *b, model_batch *mb) {
    if (b->n <= 0 || !b->tokens)
        return WARD_FAIL(&c->err, WARD_EINVAL, "empty batch");
    if (b->n > c->n_batch)
        return WARD_FAIL(&c->err, WARD_ERANGE, "batch of %d tokens exceeds n_batch %d", b->n,
                         c->n_batch);
    const int32_t n_vocab = c->model->hp.n_vocab;
    int32_t n_out = 0;
    for (int32_t i = 0; i < b->n; i++) {
        const int32_t s = b->seq ? b->seq[i] : 0;
        if (b->tokens[i] < 0 || b->tokens[i] >= n_vocab)
            return WARD_FAIL(&c->err, WARD_EINVAL, "token %d at batch index %d is not in the "
                             "vocabulary (0..%d)", b->tokens[i], i, n_vocab - 1);
        if (s < 0 || s >= c->n_seq)
            return WARD_FAIL(&c->err, WARD_EINVAL, "sequence %d at batch index %d out of range "
                             "(0..%d)", s, i, c->n_seq - 1);
        c->seq[i] = s;
        c->out_row[i] = -1;
        if (b->want_logits ? b->want_logits[i] : i == b->n - 1) {
            if (n_out == c->n_out_max)
                return WARD_FAIL(&c->err, WARD_ERANGE, "batch wants logits for more than %d "
                                 "tokens (n_outputs)", c->n_out_max);
            c->out_row[i] = n_out;
            c->out_idx[n_out++] = i;
        }
    }
    /* positions continue each sequence; a full context is caught before any cache changes */
    memcpy(c->seq_next, c->seq_len, (size_t)c->n_seq * sizeof *c->seq_next);
    for (int32_t i = 0; i < b->n; i++) {
        c->pos[i] = c->seq_next[c->seq[i]]++;
        if (c->pos[i] >= c->n_ctx)
            return WARD_FAIL(&c->err, WARD_ERANGE, "context full: sequence %d has %d of %d "
                             "positions", c->seq[i], c->seq_len[c->seq[i]], c->n_ctx);
    }
    *mb = (model_batch){.n = b->n, .tokens = b->tokens, .seq = c->seq, .pos = c->pos,
                        .n_out = n_out, .out_idx = c->out_idx, .logits = c->logits};
    return WARD_OK;
}

ward_status ward_decode(ward_context *c, const ward_batch *b) {
    ward_error_clear(&c->err);
    c->n_last = 0; /* the previous batch's logits are gone whatever happens */
    model_batch mb;
    ward_status st = prepare_batch(c, b, &mb);
    if (st) return st;
    if ((st = c->model->arch->forward(c->model, &c->ex, &mb))) return st;
    memcpy(c->seq_len, c->seq_next, (size_t)c->n_seq * sizeof *c->seq_len);
    c->n_last = b->n;
    return WARD_OK;
}

const float *ward_context_logits(const ward_context *c, int32_t i) {
    if (i < 0 || i >= c->n_last || c->out_row[i] < 0) return NULL;
    return c->logits + (size_t)c->out_row[i] * c->model->hp.n_vocab;
}
