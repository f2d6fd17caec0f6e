/* gguf_read.c: parsing and validating a GGUF blob, and lookups on the result (see gguf.h).
 *
 * Byte layout (little-endian; the host is assumed little-endian too, i.e. x86-64):
 *   offset 0   u32 magic, the bytes "GGUF"
 *          4   u32 version: 2 or 3 (1 used u32 counts and is refused)
 *          8   u64 n_tensors
 *         16   u64 n_kv
 *         24   n_kv key/values, then n_tensors tensor infos (see gguf.h), then zero padding to
 *              the alignment: data_start. Tensor i lives at [data_start + offset, + nbytes).
 *
 * Design: one cursor walks the blob and every read goes through cur_take(), which checks the
 * byte count against what is left before forming a pointer, so nothing outside the blob is ever
 * touched. Counts are checked against their smallest possible encoding before anything is
 * allocated for them, so a header claiming 2^60 keys fails at once instead of asking for
 * exabytes. The parse runs as a list of steps (header, keys, key index, alignment, tensor infos,
 * tensor index, data placement); the first failure frees the half-built gguf_file with
 * gguf_close(), which copes with any prefix of the steps having run. Duplicate keys and names are
 * found by sorting an index (kept for O(log n) lookups), never by comparing all pairs.
 */
#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "kernels/types.h"

/* Smallest encodings, used to refuse counts that cannot fit in the bytes left. */
#define KV_MIN_BYTES 13     /* u64 key length + u32 type + a 1-byte value */
#define TENSOR_MIN_BYTES 32 /* u64 name length + u32 n_dims + one u64 ne + u32 type + u64 offset */
#define NAME_SHOW 96        /* longest name quoted in a message */

/* printf arguments for a gguf_str: "%.*s", SHOW(s). */
#define SHOW(s) (int)((s).len < NAME_SHOW ? (s).len : NAME_SHOW), (s).ptr

/* gguf_find() turns a pointer to the first member back into its entry. */
_Static_assert(offsetof(gguf_kv, key) == 0, "key must be the first member of gguf_kv");
_Static_assert(offsetof(gguf_tensor, name) == 0, "name must be the first member of gguf_tensor");

/* ---------------------------------------------------------------------------------------------
 * Value types
 * ------------------------------------------------------------------------------------------- */

typedef enum vkind { K_UINT, K_SINT, K_FLOAT, K_BOOL, K_VAR } vkind;

static const struct vtype_row {
    const char *name;
    uint8_t size; /* bytes of one scalar; 0 for variable-length types */
    vkind kind;
} vtypes[GGUF_VT_COUNT] = {
    [GGUF_VT_U8] = {"u8", 1, K_UINT},     [GGUF_VT_I8] = {"i8", 1, K_SINT},
    [GGUF_VT_U16] = {"u16", 2, K_UINT},   [GGUF_VT_I16] = {"i16", 2, K_SINT},
    [GGUF_VT_U32] = {"u32", 4, K_UINT},   [GGUF_VT_I32] = {"i32", 4, K_SINT},
    [GGUF_VT_F32] = {"f32", 4, K_FLOAT},  [GGUF_VT_BOOL] = {"bool", 1, K_BOOL},
    [GGUF_VT_STR] = {"str", 0, K_VAR},    [GGUF_VT_ARR] = {"arr", 0, K_VAR},
    [GGUF_VT_U64] = {"u64", 8, K_UINT},   [GGUF_VT_I64] = {"i64", 8, K_SINT},
    [GGUF_VT_F64] = {"f64", 8, K_FLOAT},
};

const char *gguf_vtype_name(gguf_vtype t) {
    return (unsigned)t < GGUF_VT_COUNT ? vtypes[t].name : "unknown";
}

size_t gguf_vtype_size(gguf_vtype t) { return (unsigned)t < GGUF_VT_COUNT ? vtypes[t].size : 0; }

/* Widen one little-endian scalar of numeric type t at p into kv->val (u64, i64 or f64). */
static void decode_scalar(gguf_vtype t, const uint8_t *p, gguf_kv *kv) {
    uint64_t raw = 0;
    memcpy(&raw, p, vtypes[t].size); /* little-endian host: the low bytes land first */
    if (vtypes[t].kind == K_SINT) {
        uint64_t sign = 1ull << (8 * vtypes[t].size - 1);
        kv->val.i64 = (int64_t)((raw ^ sign) - sign);
    } else if (vtypes[t].kind == K_FLOAT && vtypes[t].size == 4) {
        float f;
        memcpy(&f, p, sizeof f);
        kv->val.f64 = f;
    } else if (vtypes[t].kind == K_FLOAT) {
        memcpy(&kv->val.f64, p, sizeof kv->val.f64);
    } else {
        kv->val.u64 = raw;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Cursor: bounds-checked reads
 * ------------------------------------------------------------------------------------------- */

typedef struct cursor {
    const uint8_t *base; /* (size) */
    uint64_t size, pos;  /* pos <= size always */
    ward_error *err;
} cursor;

static uint64_t cur_left(const cursor *c) { return c->size - c->pos; }

/* Point *p at the next n bytes and step over them, or fail naming what was being read.
 * (Callers start *p at NULL only because gcc cannot see that a failure skips the use.) */
static ward_status cur_take(cursor *c, uint64_t n, const char *what, const uint8_t **p) {
    if (n > cur_left(c))
        return WARD_FAIL(c->err, WARD_EFORMAT,
                         "truncated: %s needs %" PRIu64 " bytes at offset %" PRIu64
                         ", file has %" PRIu64,
                         what, n, c->pos, c->size);
    *p = c->base + c->pos;
    c->pos += n;
    return WARD_OK;
}

static ward_status cur_u32(cursor *c, const char *what, uint32_t *v) {
    const uint8_t *p = NULL;
    ward_status s = cur_take(c, sizeof *v, what, &p);
    if (s == WARD_OK) memcpy(v, p, sizeof *v);
    return s;
}

static ward_status cur_u64(cursor *c, const char *what, uint64_t *v) {
    const uint8_t *p = NULL;
    ward_status s = cur_take(c, sizeof *v, what, &p);
    if (s == WARD_OK) memcpy(v, p, sizeof *v);
    return s;
}

static ward_status cur_str(cursor *c, const char *what, gguf_str *out) {
    uint64_t len;
    const uint8_t *p = NULL;
    ward_status s = cur_u64(c, what, &len);
    if (s == WARD_OK) s = cur_take(c, len, what, &p);
    if (s == WARD_OK) *out = (gguf_str){(const char *)p, len};
    return s;
}

/* Return the status of expr unless it is WARD_OK. */
#define TRY(expr)                             \
    do {                                      \
        ward_status try_s_ = (expr);          \
        if (try_s_ != WARD_OK) return try_s_; \
    } while (0)

/* Prefix the message with the entry being parsed: its name once known, else its number. */
static void prefix_entry(ward_error *err, const char *kind, uint64_t i, gguf_str name) {
    char buf[NAME_SHOW + 32];
    if (name.ptr)
        snprintf(buf, sizeof buf, "%s %.*s", kind, SHOW(name));
    else
        snprintf(buf, sizeof buf, "%s #%" PRIu64, kind, i);
    ward_error_prefix(err, buf);
}

/* ---------------------------------------------------------------------------------------------
 * Header and key/values
 * ------------------------------------------------------------------------------------------- */

static ward_status parse_header(cursor *c, gguf_file *g) {
    const uint8_t *magic = NULL;
    TRY(cur_take(c, 4, "magic", &magic));
    if (memcmp(magic, "GGUF", 4) != 0)
        return WARD_FAIL(c->err, WARD_EFORMAT, "not a GGUF file (magic %02x %02x %02x %02x)",
                         magic[0], magic[1], magic[2], magic[3]);
    TRY(cur_u32(c, "version", &g->version));
    if (g->version == 1)
        return WARD_FAIL(c->err, WARD_EUNSUPPORTED,
                         "GGUF version 1 is not supported (it predates 64-bit counts; "
                         "convert the file to version 3)");
    if (g->version != 2 && g->version != 3)
        return WARD_FAIL(c->err, WARD_EUNSUPPORTED,
                         "GGUF version %" PRIu32 " is not supported (ward reads 2 and 3)",
                         g->version);
    uint64_t n_tensors, n_kv;
    TRY(cur_u64(c, "n_tensors", &n_tensors));
    TRY(cur_u64(c, "n_kv", &n_kv));
    /* Division instead of multiplication: no overflow whatever the counts. */
    if (n_kv > cur_left(c) / KV_MIN_BYTES)
        return WARD_FAIL(c->err, WARD_EFORMAT,
                         "n_kv %" PRIu64 " cannot fit in the %" PRIu64 " bytes after the header",
                         n_kv, cur_left(c));
    if (n_tensors > (cur_left(c) - n_kv * KV_MIN_BYTES) / TENSOR_MIN_BYTES)
        return WARD_FAIL(c->err, WARD_EFORMAT,
                         "n_tensors %" PRIu64 " cannot fit in the %" PRIu64
                         " bytes after the header",
                         n_tensors, cur_left(c));
    g->n_tensors = n_tensors;
    g->n_kv = n_kv;
    return WARD_OK;
}

static ward_status parse_str_array(cursor *c, gguf_kv *kv) {
    uint64_t n = kv->val.arr.n;
    if (n > cur_left(c) / sizeof(uint64_t))
        return WARD_FAIL(c->err, WARD_EFORMAT,
                         "array of %" PRIu64 " strings cannot fit in the %" PRIu64 " bytes left",
                         n, cur_left(c));
    /* Stored before it is filled: gguf_close() frees it whatever happens next. */
    kv->val.arr.strs = ward_calloc(n, sizeof *kv->val.arr.strs);
    if (!kv->val.arr.strs)
        return WARD_FAIL(c->err, WARD_ENOMEM, "no memory for an array of %" PRIu64 " strings", n);
    for (uint64_t i = 0; i < n; i++) TRY(cur_str(c, "array string", &kv->val.arr.strs[i]));
    return WARD_OK;
}

static ward_status parse_array(cursor *c, gguf_kv *kv) {
    uint32_t elem;
    uint64_t n, bytes;
    const uint8_t *p = NULL;
    TRY(cur_u32(c, "array element type", &elem));
    if (elem >= GGUF_VT_COUNT || elem == GGUF_VT_ARR)
        return WARD_FAIL(c->err, WARD_EFORMAT,
                         "array element type %" PRIu32 " is not a scalar or string type", elem);
    TRY(cur_u64(c, "array length", &n));
    kv->val.arr.type = (gguf_vtype)elem;
    kv->val.arr.n = n;
    if (elem == GGUF_VT_STR) return parse_str_array(c, kv);
    if (!ward_mul_u64(n, vtypes[elem].size, &bytes))
        return WARD_FAIL(c->err, WARD_EFORMAT, "array of %" PRIu64 " %s overflows", n,
                         vtypes[elem].name);
    TRY(cur_take(c, bytes, "array data", &p));
    kv->val.arr.data = p;
    return WARD_OK;
}

static ward_status parse_kv(cursor *c, gguf_kv *kv) {
    uint32_t type;
    const uint8_t *p = NULL;
    TRY(cur_str(c, "key", &kv->key));
    TRY(cur_u32(c, "value type", &type));
    if (type >= GGUF_VT_COUNT)
        return WARD_FAIL(c->err, WARD_EFORMAT, "unknown value type %" PRIu32, type);
    kv->type = (gguf_vtype)type;
    if (type == GGUF_VT_STR) return cur_str(c, "string value", &kv->val.str);
    if (type == GGUF_VT_ARR) return parse_array(c, kv);
    TRY(cur_take(c, vtypes[type].size, "value", &p));
    decode_scalar(kv->type, p, kv);
    return WARD_OK;
}

static ward_status parse_kvs(cursor *c, gguf_file *g) {
    g->kv = ward_calloc(g->n_kv, sizeof *g->kv);
    if (!g->kv)
        return WARD_FAIL(c->err, WARD_ENOMEM, "no memory for %" PRIu64 " keys", g->n_kv);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        ward_status s = parse_kv(c, &g->kv[i]);
        if (s != WARD_OK) {
            prefix_entry(c->err, "key", i, g->kv[i].key);
            return s;
        }
    }
    return WARD_OK;
}

static ward_status read_alignment(cursor *c, gguf_file *g) {
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *kv = gguf_find(g, "general.alignment");
    if (!kv) return WARD_OK;
    if (kv->type != GGUF_VT_U32)
        return WARD_FAIL(c->err, WARD_EFORMAT, "general.alignment has type %s, expected u32",
                         vtypes[kv->type].name);
    if (!gguf_alignment_ok(kv->val.u64))
        return WARD_FAIL(c->err, WARD_EFORMAT,
                         "general.alignment %" PRIu64 " is not a nonzero power of two",
                         kv->val.u64);
    g->alignment = kv->val.u64;
    return WARD_OK;
}

bool gguf_alignment_ok(uint64_t alignment) {
    return alignment != 0 && (alignment & (alignment - 1)) == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Tensor infos
 * ------------------------------------------------------------------------------------------- */

ward_status gguf_tensor_size(ward_type type, uint32_t n_dims, const int64_t *ne, uint64_t *nbytes,
                             ward_error *err) {
    const kern_type_row *row = kern_type(type);
    if (!row) return WARD_FAIL(err, WARD_EFORMAT, "unknown type id %u", (unsigned)type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return WARD_FAIL(err, WARD_EFORMAT, "n_dims %" PRIu32 " not in 1..%d", n_dims,
                         GGUF_MAX_DIMS);
    uint64_t n = 1;
    for (uint32_t i = 0; i < n_dims; i++) {
        if (ne[i] <= 0)
            return WARD_FAIL(err, WARD_EFORMAT, "ne[%" PRIu32 "] = %" PRId64 " is not positive",
                             i, ne[i]);
        if (!ward_mul_u64(n, (uint64_t)ne[i], &n) || n > INT64_MAX)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "element count overflows at ne[%" PRIu32 "] = %" PRId64, i, ne[i]);
    }
    if (ne[0] % row->block_elems != 0)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "ne[0] = %" PRId64 " is not a multiple of the %s block size %" PRId64,
                         ne[0], row->name, row->block_elems);
    if (!ward_mul_u64(n / (uint64_t)row->block_elems, row->block_bytes, nbytes))
        return WARD_FAIL(err, WARD_EFORMAT, "byte size overflows");
    return WARD_OK;
}

static ward_status parse_tensor_info(cursor *c, gguf_tensor *t) {
    uint32_t n_dims, type;
    TRY(cur_str(c, "tensor name", &t->name));
    TRY(cur_u32(c, "n_dims", &n_dims));
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS) /* bounds the loop below */
        return WARD_FAIL(c->err, WARD_EFORMAT, "n_dims %" PRIu32 " not in 1..%d", n_dims,
                         GGUF_MAX_DIMS);
    t->n_dims = n_dims;
    for (uint32_t i = 0; i < GGUF_MAX_DIMS; i++) t->ne[i] = 1;
    for (uint32_t i = 0; i < n_dims; i++) {
        uint64_t ne;
        TRY(cur_u64(c, "dimension", &ne));
        t->ne[i] = (int64_t)ne; /* values past INT64_MAX turn negative: refused as not positive */
    }
    TRY(cur_u32(c, "tensor type", &type));
    TRY(cur_u64(c, "tensor offset", &t->offset));
    if (!kern_type((ward_type)type))
        return WARD_FAIL(c->err, WARD_EFORMAT, "unknown type id %" PRIu32, type);
    t->type = (ward_type)type;
    return gguf_tensor_size(t->type, n_dims, t->ne, &t->nbytes, c->err);
}

static ward_status parse_tensor_infos(cursor *c, gguf_file *g) {
    g->tensors = ward_calloc(g->n_tensors, sizeof *g->tensors);
    if (!g->tensors)
        return WARD_FAIL(c->err, WARD_ENOMEM, "no memory for %" PRIu64 " tensors", g->n_tensors);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        ward_status s = parse_tensor_info(c, &g->tensors[i]);
        if (s != WARD_OK) {
            prefix_entry(c->err, "tensor", i, g->tensors[i].name);
            return s;
        }
    }
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Sorted name indexes: duplicates and lookups
 * ------------------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
    const gguf_str *x = *(const gguf_str *const *)a, *y = *(const gguf_str *const *)b;
    uint64_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->ptr, y->ptr, n) : 0;
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Index the n names at first, first + stride, ... (each the first member of its entry). */
static ward_status build_index(cursor *c, const gguf_str ***out, const void *first,
                               size_t stride, uint64_t n, const char *kind) {
    const gguf_str **idx = ward_calloc(n, sizeof *idx);
    if (!idx) return WARD_FAIL(c->err, WARD_ENOMEM, "no memory for the %s index", kind);
    *out = idx;
    for (uint64_t i = 0; i < n; i++)
        idx[i] = (const gguf_str *)((const char *)first + i * stride);
    qsort(idx, n, sizeof *idx, cmp_str);
    for (uint64_t i = 1; i < n; i++)
        if (cmp_str(&idx[i - 1], &idx[i]) == 0)
            return WARD_FAIL(c->err, WARD_EFORMAT, "duplicate %s %.*s", kind, SHOW(*idx[i]));
    return WARD_OK;
}

static ward_status index_keys(cursor *c, gguf_file *g) {
    return build_index(c, &g->kv_index, g->kv, sizeof *g->kv, g->n_kv, "key");
}

static ward_status index_tensors(cursor *c, gguf_file *g) {
    return build_index(c, &g->tensor_index, g->tensors, sizeof *g->tensors, g->n_tensors,
                       "tensor name");
}

static const gguf_str *index_find(const gguf_str *const *idx, uint64_t n, const char *name) {
    if (n == 0) return NULL;
    gguf_str want = {name, strlen(name)};
    const gguf_str *key = &want;
    const gguf_str *const *hit = bsearch(&key, idx, n, sizeof *idx, cmp_str);
    return hit ? *hit : NULL;
}

const gguf_kv *gguf_find(const gguf_file *g, const char *key) {
    return (const gguf_kv *)index_find(g->kv_index, g->n_kv, key);
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
    return (const gguf_tensor *)index_find(g->tensor_index, g->n_tensors, name);
}

/* ---------------------------------------------------------------------------------------------
 * Data placement: alignment, bounds, overlap
 * ------------------------------------------------------------------------------------------- */

static uint64_t add_sat(uint64_t a, uint64_t b) {
    uint64_t r;
    return ward_add_u64(a, b, &r) ? r : UINT64_MAX;
}

static int cmp_offset(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Sort by offset; each tensor must end before the next begins. */
static ward_status check_overlap(cursor *c, gguf_file *g) {
    const gguf_tensor **order = ward_calloc(g->n_tensors, sizeof *order);
    if (!order) return WARD_FAIL(c->err, WARD_ENOMEM, "no memory to sort tensors by offset");
    for (uint64_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, g->n_tensors, sizeof *order, cmp_offset);
    ward_status s = WARD_OK;
    for (uint64_t i = 1; i < g->n_tensors && s == WARD_OK; i++) {
        const gguf_tensor *a = order[i - 1], *b = order[i];
        if (a->offset + a->nbytes > b->offset) /* no overflow: both ranges were bounds-checked */
            s = WARD_FAIL(c->err, WARD_EFORMAT,
                          "tensors %.*s [%" PRIu64 ", %" PRIu64 ") and %.*s [%" PRIu64
                          ", ...) overlap",
                          SHOW(a->name), a->offset, a->offset + a->nbytes, SHOW(b->name),
                          b->offset);
    }
    ward_free(order);
    return s;
}

static ward_status place_tensors(cursor *c, gguf_file *g) {
    /* pos <= size and alignment <= 2^31, so this cannot overflow. */
    g->data_start = (c->pos + g->alignment - 1) / g->alignment * g->alignment;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            return WARD_FAIL(c->err, WARD_EFORMAT,
                             "tensor %.*s: offset %" PRIu64 " is not a multiple of the alignment %"
                             PRIu64,
                             SHOW(t->name), t->offset, g->alignment);
        uint64_t start = add_sat(g->data_start, t->offset), end = add_sat(start, t->nbytes);
        if (end > c->size)
            return WARD_FAIL(c->err, WARD_EFORMAT,
                             "tensor %.*s: data [%" PRIu64 ", %" PRIu64
                             ") past end of file (size %" PRIu64 ")",
                             SHOW(t->name), start, end, c->size);
        t->data = c->base + start;
    }
    return check_overlap(c, g);
}

/* ---------------------------------------------------------------------------------------------
 * Open and close
 * ------------------------------------------------------------------------------------------- */

typedef ward_status (*parse_step)(cursor *c, gguf_file *g);

static const parse_step parse_steps[] = {
    parse_header,       parse_kvs,     index_keys,    read_alignment,
    parse_tensor_infos, index_tensors, place_tensors,
};

ward_status gguf_parse(const void *data, size_t size, gguf_file **out, ward_error *err) {
    *out = NULL;
    cursor c = {data, size, 0, err};
    gguf_file *g = ward_calloc(1, sizeof *g);
    if (!g) return WARD_FAIL(err, WARD_ENOMEM, "no memory for a gguf_file");
    for (size_t i = 0; i < sizeof parse_steps / sizeof parse_steps[0]; i++) {
        ward_status s = parse_steps[i](&c, g);
        if (s != WARD_OK) {
            gguf_close(g);
            return s;
        }
    }
    *out = g;
    return WARD_OK;
}

ward_status gguf_open(const char *path, gguf_file **out, ward_error *err) {
    ward_filemap map;
    *out = NULL;
    ward_status s = ward_filemap_open(path, &map, err); /* its messages name the path */
    if (s != WARD_OK) return s;
    s = gguf_parse(map.data, map.size, out, err);
    if (s != WARD_OK) {
        ward_filemap_close(&map);
        ward_error_prefix(err, path);
        return s;
    }
    (*out)->map = map;
    return WARD_OK;
}

void gguf_close(gguf_file *g) {
    if (!g) return;
    for (uint64_t i = 0; g->kv && i < g->n_kv; i++)
        if (g->kv[i].type == GGUF_VT_ARR && g->kv[i].val.arr.type == GGUF_VT_STR)
            ward_free(g->kv[i].val.arr.strs);
    ward_free(g->kv);
    ward_free(g->tensors);
    ward_free(g->kv_index);
    ward_free(g->tensor_index);
    ward_filemap_close(&g->map);
    ward_free(g);
}

/* ---------------------------------------------------------------------------------------------
 * Typed getters
 * ------------------------------------------------------------------------------------------- */

/* *kv = the entry, or NULL when absent and optional. */
static ward_status lookup(const gguf_file *g, const char *key, bool required, const gguf_kv **kv,
                          ward_error *err) {
    *kv = gguf_find(g, key);
    if (!*kv && required) return WARD_FAIL(err, WARD_EFORMAT, "key %s: missing", key);
    return WARD_OK;
}

static ward_status wrong_type(const char *key, const gguf_kv *kv, const char *want,
                              ward_error *err) {
    const char *elem = kv->type == GGUF_VT_ARR ? vtypes[kv->val.arr.type].name : "";
    return WARD_FAIL(err, WARD_EFORMAT, "key %s: type %s%s%s, expected %s", key,
                     vtypes[kv->type].name, *elem ? " of " : "", elem, want);
}

ward_status gguf_get_u32(const gguf_file *g, const char *key, bool required, uint32_t *out,
                         ward_error *err) {
    const gguf_kv *kv;
    TRY(lookup(g, key, required, &kv, err));
    if (!kv) return WARD_OK;
    vkind kind = vtypes[kv->type].kind;
    if (kind != K_UINT && kind != K_SINT) return wrong_type(key, kv, "an integer", err);
    bool fits = kind == K_UINT ? kv->val.u64 <= UINT32_MAX
                               : kv->val.i64 >= 0 && kv->val.i64 <= (int64_t)UINT32_MAX;
    if (!fits) return WARD_FAIL(err, WARD_EFORMAT, "key %s: value out of the u32 range", key);
    *out = (uint32_t)kv->val.u64; /* both union views agree for values in range */
    return WARD_OK;
}

ward_status gguf_get_f32(const gguf_file *g, const char *key, bool required, float *out,
                         ward_error *err) {
    const gguf_kv *kv;
    TRY(lookup(g, key, required, &kv, err));
    if (!kv) return WARD_OK;
    if (vtypes[kv->type].kind != K_FLOAT) return wrong_type(key, kv, "f32 or f64", err);
    *out = (float)kv->val.f64;
    return WARD_OK;
}

ward_status gguf_get_bool(const gguf_file *g, const char *key, bool required, bool *out,
                          ward_error *err) {
    const gguf_kv *kv;
    TRY(lookup(g, key, required, &kv, err));
    if (!kv) return WARD_OK;
    if (kv->type != GGUF_VT_BOOL) return wrong_type(key, kv, "bool", err);
    *out = kv->val.u64 != 0;
    return WARD_OK;
}

ward_status gguf_get_str(const gguf_file *g, const char *key, bool required, gguf_str *out,
                         ward_error *err) {
    const gguf_kv *kv;
    TRY(lookup(g, key, required, &kv, err));
    if (!kv) return WARD_OK;
    if (kv->type != GGUF_VT_STR) return wrong_type(key, kv, "str", err);
    *out = kv->val.str;
    return WARD_OK;
}

ward_status gguf_get_arr(const gguf_file *g, const char *key, gguf_vtype elem, bool required,
                         const gguf_kv **kv_out, ward_error *err) {
    const gguf_kv *kv;
    TRY(lookup(g, key, required, &kv, err));
    *kv_out = NULL;
    if (!kv) return WARD_OK;
    if (kv->type != GGUF_VT_ARR || (elem != GGUF_VT_COUNT && kv->val.arr.type != elem)) {
        char want[32];
        snprintf(want, sizeof want, "arr of %s",
                 elem == GGUF_VT_COUNT ? "anything" : gguf_vtype_name(elem));
        return wrong_type(key, kv, want, err);
    }
    *kv_out = kv;
    return WARD_OK;
}

/* Element i of a numeric array, widened like a scalar value. */
static gguf_kv arr_elem(const gguf_kv *kv, uint64_t i) {
    assert(kv->type == GGUF_VT_ARR && vtypes[kv->val.arr.type].size > 0 && i < kv->val.arr.n);
    gguf_kv e = {.type = kv->val.arr.type};
    decode_scalar(e.type, (const uint8_t *)kv->val.arr.data + i * vtypes[e.type].size, &e);
    return e;
}

float gguf_arr_f32(const gguf_kv *kv, uint64_t i) {
    gguf_kv e = arr_elem(kv, i);
    switch (vtypes[e.type].kind) {
    case K_FLOAT: return (float)e.val.f64;
    case K_SINT: return (float)e.val.i64;
    default: return (float)e.val.u64;
    }
}

int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i) {
    gguf_kv e = arr_elem(kv, i);
    assert(vtypes[e.type].kind != K_FLOAT);
    if (vtypes[e.type].kind == K_SINT) return e.val.i64;
    return e.val.u64 > INT64_MAX ? INT64_MAX : (int64_t)e.val.u64;
}
