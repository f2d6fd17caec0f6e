/* quantize.c: rewrite a GGUF model with its weight matrices in another tensor type.
 *
 * The output is what llama.cpp's quantizer writes for the same request, byte for byte (our
 * quantizers are its reference ones): all metadata copied in order, then
 * general.quantization_version and general.file_type moved to the end with their new values;
 * tensors ordered by layer, then by name (non-layer tensors first); data aligned as the source.
 * Which tensors are quantized follows the same rule: names ending in "weight" with at least two
 * dimensions, except norms and the small or position-like tensors listed below; which type each
 * gets follows the recipe (quantize.h). Everything else is copied unchanged.
 *
 * Tensors are converted one at a time (dequantize a row to float, quantize it), rows split over
 * a thread pool, so memory stays at one tensor's worth; progress is reported per tensor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/threadpool.h"
#include "formats/gguf.h"
#include "kernels/types.h"
#include "models/quantize.h"
#include "ward.h"

/* 2-D weights that stay as they are: small or precision-critical (same list as llama.cpp). */
static const char *const keep_substrings[] = {
    "_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight", "time_mix_first.weight",
    "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight",
};
static const char *const keep_names[] = {"position_embd.weight", "token_types.weight"};

/* The recipes, named and numbered as llama.cpp's file types. */
static const ward_ftype ftypes[] = {
    {"f32", 0, WARD_TYPE_F32, false},     {"f16", 1, WARD_TYPE_F16, false},
    {"bf16", 32, WARD_TYPE_BF16, false},  {"q8_0", 7, WARD_TYPE_Q8_0, false},
    {"q4_0", 2, WARD_TYPE_Q4_0, false},   {"q4_1", 3, WARD_TYPE_Q4_1, false},
    {"q5_0", 8, WARD_TYPE_Q5_0, false},   {"q5_1", 9, WARD_TYPE_Q5_1, false},
    {"q4_k_m", 15, WARD_TYPE_Q4_K, true}, {"q5_k_m", 17, WARD_TYPE_Q5_K, true},
    {"q6_k", 18, WARD_TYPE_Q6_K, false},
};
#define N_FTYPES (sizeof ftypes / sizeof ftypes[0])

const ward_ftype *ward_ftype_from_name(const char *name) {
    for (size_t i = 0; i < N_FTYPES; i++) {
        size_t k = 0;
        while (ftypes[i].name[k] && (ftypes[i].name[k] | 0x20) == (name[k] | 0x20)) k++;
        if (!ftypes[i].name[k] && !name[k]) return &ftypes[i];
    }
    return NULL;
}

const char *ward_ftype_name(const ward_ftype *f) { return f->name; }

const char *const *ward_ftype_names(void) {
    static const char *const names[N_FTYPES + 1] = {
        "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k_m", "q5_k_m", "q6_k",
        NULL};
    return names;
}

ward_quantize_params ward_quantize_default_params(void) {
    return (ward_quantize_params){.ftype = &ftypes[3]}; /* q8_0 */
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
    const size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static bool contains(const char *s, size_t n, const char *needle) {
    const size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0) return true;
    return false;
}

bool quant_should_quantize(const char *name, size_t n, uint32_t n_dims) {
    if (!ends_with(name, n, "weight") || n_dims < 2) return false;
    for (size_t i = 0; i < sizeof keep_substrings / sizeof *keep_substrings; i++)
        if (contains(name, n, keep_substrings[i])) return false;
    for (size_t i = 0; i < sizeof keep_names / sizeof *keep_names; i++)
        if (n == strlen(keep_names[i]) && memcmp(name, keep_names[i], n) == 0) return false;
    return true;
}

/* --- the _M rules --------------------------------------------------------------------------- */

static bool name_is(const char *name, size_t len, const char *s) {
    return len == strlen(s) && memcmp(name, s, len) == 0;
}

/* Layer number of "blk.N. ..." or -1. */
static long name_layer(const char *name, size_t len);

void quant_plan_count(quant_plan *p, const char *name, size_t len) {
    p->has_output |= name_is(name, len, "output.weight");
    p->n_attn_v += contains(name, len, "attn_v.weight");
    p->n_ffn_down += contains(name, len, "ffn_down");
}

/* The first and last eighth of the layers, and every third between. */
static bool use_more_bits(long i, long n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The output matrix (the embedding when it is tied) gets Q6_K, or Q8_0 when the base type is
 * Q8_0 or does not fit its rows. The _M recipes also raise attn_v and ffn_down of some layers. */
static ward_type rules(const quant_plan *p, const char *name, size_t len, int64_t ne0) {
    const ward_type base = p->ftype->base;
    if (name_is(name, len, "output.weight") ||
        (!p->has_output && name_is(name, len, "token_embd.weight"))) {
        if (ne0 % kern_type(base)->block_elems != 0 || base == WARD_TYPE_Q8_0)
            return WARD_TYPE_Q8_0;
        return WARD_TYPE_Q6_K;
    }
    if (!p->ftype->k_m_rules) return base;
    const long layer = name_layer(name, len);
    if ((contains(name, len, "attn_v.weight") && use_more_bits(layer, p->n_attn_v)) ||
        (contains(name, len, "ffn_down") && use_more_bits(layer, p->n_ffn_down)))
        return WARD_TYPE_Q6_K;
    return base;
}

/* A K-quant needs rows in multiples of 256; llama.cpp's replacements otherwise. */
static ward_type fallback(ward_type t, int64_t ne0) {
    static const struct { ward_type from, to; } subst[] = {
        {WARD_TYPE_Q4_K, WARD_TYPE_Q5_0}, {WARD_TYPE_Q5_K, WARD_TYPE_Q5_1},
        {WARD_TYPE_Q6_K, WARD_TYPE_Q8_0},
    };
    if (ne0 % kern_type(t)->block_elems == 0) return t;
    for (size_t i = 0; i < sizeof subst / sizeof *subst; i++)
        if (subst[i].from == t) t = subst[i].to;
    return ne0 % kern_type(t)->block_elems == 0 ? t : WARD_TYPE_F16;
}

ward_type quant_tensor_type(const quant_plan *p, const char *name, size_t len, uint32_t n_dims,
                            int64_t ne0, ward_type src) {
    if (!quant_should_quantize(name, len, n_dims)) return src;
    const ward_type base = p->ftype->base;
    if (p->pure || kern_type(base)->block_elems == 1) return base; /* float recipes: as is */
    return fallback(rules(p, name, len, ne0), ne0);
}

/* --- order: by layer ("blk.N."; -1 for the rest), then by name ------------------------------ */

static long name_layer(const char *name, size_t len) {
    if (len < 5 || memcmp(name, "blk.", 4) != 0) return -1;
    long layer = 0;
    size_t i = 4;
    for (; i < len && name[i] >= '0' && name[i] <= '9' && layer < 1000000; i++)
        layer = layer * 10 + (name[i] - '0');
    return i > 4 && i < len && name[i] == '.' ? layer : -1;
}

static long tensor_layer(gguf_str name) { return name_layer(name.ptr, (size_t)name.len); }

static int cmp_tensors(const void *pa, const void *pb) {
    const gguf_tensor *a = *(const gguf_tensor *const *)pa, *b = *(const gguf_tensor *const *)pb;
    const long la = tensor_layer(a->name), lb = tensor_layer(b->name);
    if (la != lb) return la < lb ? -1 : 1;
    const size_t n = a->name.len < b->name.len ? (size_t)a->name.len : (size_t)b->name.len;
    const int c = memcmp(a->name.ptr, b->name.ptr, n);
    return c ? c : (a->name.len > b->name.len) - (a->name.len < b->name.len);
}

/* --- conversion of one tensor, rows split over threads --------------------------------------- */

typedef struct convert_job {
    const gguf_tensor *src;
    ward_type type;
    ward_isa isa;
    uint8_t *dst;
    float *rows; /* (n_threads, ne[0]) float scratch */
} convert_job;

static void convert_rows(void *arg, int ith, int nth) {
    const convert_job *j = arg;
    const int64_t n_cols = j->src->ne[0];
    const int64_t n_rows = j->src->ne[1] * j->src->ne[2] * j->src->ne[3];
    const size_t src_row = kern_row_bytes(j->src->type, n_cols), dst_row = kern_row_bytes(j->type, n_cols);
    kern_to_float_fn to_float = kern_to_float(j->src->type, j->isa);
    kern_from_float_fn from_float = kern_from_float(j->type, j->isa);
    float *row = j->rows + (size_t)ith * (size_t)n_cols;
    for (int64_t r = n_rows * ith / nth; r < n_rows * (ith + 1) / nth; r++) {
        to_float((const uint8_t *)j->src->data + (size_t)r * src_row, row, n_cols);
        from_float(row, j->dst + (size_t)r * dst_row, n_cols);
    }
}

/* Decide t's type in the output (*to) and check that it can be converted. */
static ward_status plan_tensor(const quant_plan *plan, const gguf_tensor *t, ward_type *to,
                               ward_error *err) {
    const ward_type type = quant_tensor_type(plan, t->name.ptr, (size_t)t->name.len, t->n_dims,
                                             t->ne[0], t->type);
    *to = t->type;
    if (type == t->type) return WARD_OK;
    const kern_type_row *row = kern_type(type);
    if (!kern_from_float(type, WARD_ISA_REF))
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "tensor %.*s: ward cannot write %s yet",
                         (int)t->name.len, t->name.ptr, row->name);
    if (t->ne[0] % row->block_elems != 0)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "tensor %.*s: rows of %lld values do not divide "
                         "into %s blocks of %lld", (int)t->name.len, t->name.ptr,
                         (long long)t->ne[0], row->name, (long long)row->block_elems);
    if (t->type != WARD_TYPE_F32 && t->type != WARD_TYPE_F16 && t->type != WARD_TYPE_BF16)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "tensor %.*s is %s: quantize from an F32, F16 "
                         "or BF16 model (re-quantizing loses quality)", (int)t->name.len,
                         t->name.ptr, ward_type_name(t->type));
    *to = type;
    return WARD_OK;
}

/* --- the whole file ------------------------------------------------------------------------- */

typedef struct quant_state {
    gguf_file *in;
    gguf_writer *w;
    const gguf_tensor **order; /* (n_tensors) */
    ward_type *to;             /* (n_tensors) output type, in order */
    tp_pool *pool;
    float *rows;
    uint8_t *buf;              /* the largest converted tensor */
} quant_state;

/* A writer failure with the writer's own message. */
static ward_status writer_failed(const quant_state *q, ward_status st, ward_error *err) {
    return WARD_FAIL(err, st, "%s", gguf_writer_errmsg(q->w));
}

static ward_status write_metadata(quant_state *q, uint32_t file_type, ward_error *err) {
    ward_status st;
    for (uint64_t i = 0; i < q->in->n_kv; i++) {
        const gguf_kv *kv = &q->in->kv[i];
        const gguf_str k = kv->key;
        if ((k.len == 28 && memcmp(k.ptr, "general.quantization_version", 28) == 0) ||
            (k.len == 17 && memcmp(k.ptr, "general.file_type", 17) == 0))
            continue; /* set again below, at the end */
        if ((st = gguf_writer_copy_kv(q->w, kv))) return writer_failed(q, st, err);
    }
    if ((st = gguf_writer_set_u32(q->w, "general.quantization_version", 2)) ||
        (st = gguf_writer_set_u32(q->w, "general.file_type", file_type)))
        return writer_failed(q, st, err);
    return WARD_OK;
}

static ward_status write_tensors(quant_state *q, const ward_quantize_params *p,
                                 ward_error *err) {
    const uint64_t n = q->in->n_tensors;
    uint64_t total = 0, done = 0;
    for (uint64_t i = 0; i < n; i++) total += q->order[i]->nbytes;
    for (uint64_t i = 0; i < n; i++) {
        const gguf_tensor *t = q->order[i];
        const void *data = t->data;
        size_t nbytes = (size_t)t->nbytes;
        if (q->to[i] != t->type) {
            const int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
            convert_job job = {.src = t, .type = q->to[i], .isa = cpu_isa_select(),
                               .dst = q->buf, .rows = q->rows};
            tp_run(q->pool, convert_rows, &job);
            data = q->buf;
            nbytes = kern_row_bytes(q->to[i], t->ne[0]) * (size_t)rows;
        }
        ward_status st = gguf_writer_write_tensor(q->w, data, nbytes);
        if (st) return writer_failed(q, st, err);
        done += t->nbytes;
        if (p->progress) p->progress(p->user, (int64_t)done, (int64_t)total);
    }
    return WARD_OK;
}

/* Order the tensors, decide each one's type, declare them; sizes the scratch buffers. */
static ward_status plan(quant_state *q, const ward_quantize_params *p, ward_error *err) {
    const uint64_t n = q->in->n_tensors;
    q->order = ward_calloc(n ? n : 1, sizeof *q->order);
    q->to = ward_calloc(n ? n : 1, sizeof *q->to);
    if (!q->order || !q->to) return WARD_FAIL(err, WARD_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < n; i++) q->order[i] = &q->in->tensors[i];
    qsort(q->order, n, sizeof *q->order, cmp_tensors);
    quant_plan qp = {.ftype = p->ftype, .pure = p->pure};
    for (uint64_t i = 0; i < n; i++)
        quant_plan_count(&qp, q->order[i]->name.ptr, (size_t)q->order[i]->name.len);
    size_t buf_bytes = 0, row_floats = 0;
    for (uint64_t i = 0; i < n; i++) {
        const gguf_tensor *t = q->order[i];
        ward_status st = plan_tensor(&qp, t, &q->to[i], err);
        if (st) return st;
        const int64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(t->name.len < 255 ? t->name.len : 255),
                 t->name.ptr);
        if ((st = gguf_writer_add_tensor(q->w, name, q->to[i], t->n_dims, ne)))
            return writer_failed(q, st, err);
        if (q->to[i] != t->type) {
            const size_t b = kern_row_bytes(q->to[i], t->ne[0]) * (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
            buf_bytes = b > buf_bytes ? b : buf_bytes;
            row_floats = (size_t)t->ne[0] > row_floats ? (size_t)t->ne[0] : row_floats;
        }
    }
    q->buf = ward_malloc(buf_bytes ? buf_bytes : 1);
    q->rows = ward_malloc_aligned((size_t)tp_n_threads(q->pool) * (row_floats ? row_floats : 1),
                                  sizeof(float));
    if (!q->buf || !q->rows) return WARD_FAIL(err, WARD_ENOMEM, "out of memory for a tensor");
    return WARD_OK;
}

static ward_status quantize(quant_state *q, const char *out, const ward_quantize_params *p,
                            uint32_t file_type, ward_error *err) {
    ward_status st;
    if ((st = tp_open(p->n_threads > 0 ? p->n_threads : tp_default_threads(), &q->pool, err)) ||
        (st = gguf_writer_open(out, &q->w, err)))
        return st;
    if ((st = write_metadata(q, file_type, err)) || (st = plan(q, p, err))) return st;
    if ((st = gguf_writer_write_header(q->w))) return writer_failed(q, st, err);
    if ((st = write_tensors(q, p, err))) return st;
    st = gguf_writer_finish(q->w, err);
    q->w = NULL;
    return st;
}

ward_status ward_quantize(const char *in, const char *out, const ward_quantize_params *p,
                          ward_error *err) {
    ward_error_clear(err);
    if (!p->ftype) return WARD_FAIL(err, WARD_EINVAL, "quantize: no recipe given");
    quant_state q = {0};
    ward_status st = gguf_open(in, &q.in, err);
    if (st) return st;
    if ((st = quantize(&q, out, p, p->ftype->file_type, err))) ward_error_prefix(err, in);
    gguf_writer_close(q.w);
    ward_free(q.order);
    ward_free(q.to);
    ward_free(q.buf);
    ward_free_aligned(q.rows);
    tp_close(q.pool);
    gguf_close(q.in);
    return st;
}
