/* gguf_write.c: writing GGUF version 3 files (see gguf.h).
 *
 * Byte layout written (little-endian; the host is assumed little-endian, i.e. x86-64):
 *   "GGUF" | u32 3 | u64 n_tensors | u64 n_kv
 *   n_kv      x { u64 len, key bytes | u32 value type | encoded value }
 *   n_tensors x { u64 len, name bytes | u32 n_dims | n_dims x u64 ne | u32 type | u64 offset }
 *   zeros up to a multiple of the alignment (= data_start)
 *   tensor data in declaration order, each at data_start + offset, with zeros between tensors to
 *   keep every offset a multiple of the alignment; the file ends with the last tensor's last byte.
 *
 * Design: each setter encodes its value once into the exact bytes that follow the type field, so
 * the header is one loop over (key, type, bytes). Offsets are assigned when the header is written
 * because general.alignment may be set after tensors are declared. The whole header is built in
 * memory and written at once; tensor data is streamed through stdio, so the writer never holds
 * the model. Data goes to "<path>.part", renamed over path only when gguf_writer_finish()
 * succeeds, so a failed write (full disk, a bad tensor) neither leaves a truncated model nor
 * destroys an older file of the same name; a path that exists and is not a regular file (a
 * pipe, /dev/null) is written directly. Every failure leaves its message in w->err (gguf_writer_errmsg()).
 * Memory sink (gguf_writer_open_memory): once the header is written every size is known, so the
 * whole file is allocated once at its exact final size (64-byte aligned); tensor data is copied
 * in, or produced in place through gguf_writer_next_tensor(), and gguf_writer_finish_memory()
 * hands the buffer over. Loading a converted model this way costs one model's worth of memory.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>

#include "base/error.h"
#include "formats/gguf.h"

/* ---------------------------------------------------------------------------------------------
 * Growable byte buffer: encoding values and the header
 * ------------------------------------------------------------------------------------------- */

typedef struct bytes {
    uint8_t *p; /* (len) of (cap) */
    size_t len, cap;
    bool oom; /* a put failed; later puts do nothing, the owner reports ENOMEM once */
} bytes;

static void put(bytes *b, const void *src, size_t n) {
    if (b->oom) return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return;
            }
            cap *= 2;
        }
        uint8_t *p = ward_realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_u32(bytes *b, uint32_t v) { put(b, &v, sizeof v); }
static void put_u64(bytes *b, uint64_t v) { put(b, &v, sizeof v); }

static void put_str(bytes *b, const char *s) {
    size_t len = strlen(s);
    put_u64(b, len);
    put(b, s, len);
}

/* Source of padding bytes, for the header and between tensors. */
static const uint8_t zeros[256];

static void put_zeros(bytes *b, size_t n) {
    for (size_t k; n > 0; n -= k) {
        k = n < sizeof zeros ? n : sizeof zeros;
        put(b, zeros, k);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The writer
 * ------------------------------------------------------------------------------------------- */

typedef struct wkv {
    char *key;
    gguf_vtype type;
    bytes val; /* the encoded value */
} wkv;

typedef struct wtensor {
    char *name;
    ward_type type;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    uint64_t offset, nbytes; /* offset assigned by gguf_writer_write_header() */
} wtensor;

struct gguf_writer {
    char *path;     /* the final name, used in messages */
    char *tmp_path; /* where the data goes until finish, or NULL when written directly */
    FILE *f;        /* NULL once closed */
    ward_error err;
    wkv *kv; /* (n_kv) of (cap_kv) */
    size_t n_kv, cap_kv;
    wtensor *tensors; /* (n_tensors) of (cap_tensors) */
    size_t n_tensors, cap_tensors;
    uint64_t alignment;
    bool header_written;
    uint64_t data_start;
    size_t next_tensor; /* the next tensor whose data is due */
    uint64_t pos;       /* bytes written to f (or mem) so far */
    bool memory;        /* a memory sink: no file; mem is allocated by write_header */
    uint8_t *mem;       /* (mem_size) the whole file, for a memory sink */
    uint64_t mem_size;
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = ward_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* arr (capacity *cap entries of elem bytes), moved if needed to hold n entries; NULL when out
 * of memory, arr then being untouched. */
static void *reserve(void *arr, size_t *cap, size_t n, size_t elem) {
    if (n <= *cap) return arr;
    size_t new_cap = *cap ? *cap * 2 : 16;
    void *p = new_cap <= SIZE_MAX / elem ? ward_realloc(arr, new_cap * elem) : NULL;
    if (p) *cap = new_cap;
    return p;
}

/* "<path>.part" for regular files and new paths; NULL (write directly) for anything else. */
static bool make_tmp_path(const char *path, char **tmp) {
    struct stat st;
    *tmp = NULL;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) return true;
    const size_t n = strlen(path);
    if (!(*tmp = ward_malloc(n + sizeof ".part"))) return false;
    memcpy(*tmp, path, n);
    memcpy(*tmp + n, ".part", sizeof ".part");
    return true;
}

ward_status gguf_writer_open(const char *path, gguf_writer **out, ward_error *err) {
    *out = NULL;
    gguf_writer *w = ward_calloc(1, sizeof *w);
    if (!w || !(w->path = dup_str(path)) || !make_tmp_path(path, &w->tmp_path)) {
        if (w) ward_free(w->path);
        ward_free(w);
        return WARD_FAIL(err, WARD_ENOMEM, "%s: no memory for a GGUF writer", path);
    }
    w->f = fopen(w->tmp_path ? w->tmp_path : path, "wb");
    if (!w->f) {
        ward_status s = WARD_FAIL(err, WARD_EIO, "%s: %s", w->tmp_path ? w->tmp_path : path,
                                  strerror(errno));
        ward_free(w->tmp_path);
        ward_free(w->path);
        ward_free(w);
        return s;
    }
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    *out = w;
    return WARD_OK;
}

ward_status gguf_writer_open_memory(const char *what, gguf_writer **out, ward_error *err) {
    *out = NULL;
    gguf_writer *w = ward_calloc(1, sizeof *w);
    if (!w || !(w->path = dup_str(what))) {
        ward_free(w);
        return WARD_FAIL(err, WARD_ENOMEM, "%s: no memory for a GGUF writer", what);
    }
    w->memory = true;
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
    *out = w;
    return WARD_OK;
}

static void writer_free(gguf_writer *w) {
    ward_free_aligned(w->mem);
    for (size_t i = 0; i < w->n_kv; i++) {
        ward_free(w->kv[i].key);
        ward_free(w->kv[i].val.p);
    }
    for (size_t i = 0; i < w->n_tensors; i++) ward_free(w->tensors[i].name);
    ward_free(w->kv);
    ward_free(w->tensors);
    ward_free(w->path);
    ward_free(w->tmp_path);
    ward_free(w);
}

void gguf_writer_close(gguf_writer *w) {
    if (!w) return;
    if (w->f) fclose(w->f);
    if (w->tmp_path) remove(w->tmp_path);
    writer_free(w);
}

const char *gguf_writer_errmsg(const gguf_writer *w) { return w->err.msg; }

/* ---------------------------------------------------------------------------------------------
 * Metadata
 * ------------------------------------------------------------------------------------------- */

/* general.alignment steers the data layout, so it is checked as it is set; *alignment gets the
 * new value, which the caller applies only once the key is stored. */
static ward_status check_alignment_kv(gguf_writer *w, gguf_vtype type, const bytes *val,
                                      uint64_t *alignment) {
    uint32_t v;
    if (type != GGUF_VT_U32)
        return WARD_FAIL(&w->err, WARD_EINVAL, "general.alignment must be u32, not %s",
                         gguf_vtype_name(type));
    memcpy(&v, val->p, sizeof v);
    if (!gguf_alignment_ok(v))
        return WARD_FAIL(&w->err, WARD_EINVAL,
                         "general.alignment %" PRIu32 " is not a nonzero power of two", v);
    *alignment = v;
    return WARD_OK;
}

/* Store key = (type, val), taking ownership of val->p on every path. */
static ward_status set_encoded(gguf_writer *w, const char *key, gguf_vtype type, bytes *val) {
    ward_status s = WARD_OK;
    size_t i = 0;
    uint64_t alignment = w->alignment;
    if (w->header_written)
        s = WARD_FAIL(&w->err, WARD_EINVAL, "key %s: set after the header was written", key);
    else if (val->oom)
        s = WARD_FAIL(&w->err, WARD_ENOMEM, "key %s: no memory for the value", key);
    else if (strcmp(key, "general.alignment") == 0)
        s = check_alignment_kv(w, type, val, &alignment);
    while (s == WARD_OK && i < w->n_kv && strcmp(w->kv[i].key, key) != 0) i++;
    if (s == WARD_OK && i == w->n_kv) { /* a new key */
        char *k = dup_str(key);
        wkv *kv = k ? reserve(w->kv, &w->cap_kv, w->n_kv + 1, sizeof *kv) : NULL;
        if (!kv) {
            ward_free(k);
            s = WARD_FAIL(&w->err, WARD_ENOMEM, "key %s: no memory", key);
        } else {
            w->kv = kv;
            w->kv[w->n_kv++] = (wkv){.key = k};
        }
    }
    if (s != WARD_OK) {
        ward_free(val->p);
        return s;
    }
    ward_free(w->kv[i].val.p);
    w->kv[i].type = type;
    w->kv[i].val = *val;
    w->alignment = alignment;
    return WARD_OK;
}

ward_status gguf_writer_set_scalar(gguf_writer *w, const char *key, gguf_vtype type,
                                   const void *v) {
    size_t size = gguf_vtype_size(type);
    if (size == 0)
        return WARD_FAIL(&w->err, WARD_EINVAL, "key %s: %s is not a numeric scalar type", key,
                         gguf_vtype_name(type));
    bytes b = {0};
    put(&b, v, size);
    return set_encoded(w, key, type, &b);
}

ward_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v) {
    return gguf_writer_set_scalar(w, key, GGUF_VT_U32, &v);
}

ward_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v) {
    return gguf_writer_set_scalar(w, key, GGUF_VT_I32, &v);
}

ward_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v) {
    return gguf_writer_set_scalar(w, key, GGUF_VT_F32, &v);
}

ward_status gguf_writer_set_bool(gguf_writer *w, const char *key, bool v) {
    uint8_t b = v;
    return gguf_writer_set_scalar(w, key, GGUF_VT_BOOL, &b);
}

ward_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *v) {
    bytes b = {0};
    put_str(&b, v);
    return set_encoded(w, key, GGUF_VT_STR, &b);
}

ward_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype elem,
                                const void *data, uint64_t n) {
    size_t size = gguf_vtype_size(elem);
    uint64_t nbytes;
    if (size == 0)
        return WARD_FAIL(&w->err, WARD_EINVAL, "key %s: %s is not a numeric element type", key,
                         gguf_vtype_name(elem));
    if (!ward_mul_u64(n, size, &nbytes) || nbytes > SIZE_MAX)
        return WARD_FAIL(&w->err, WARD_EINVAL, "key %s: array of %" PRIu64 " elements is too big",
                         key, n);
    bytes b = {0};
    put_u32(&b, elem);
    put_u64(&b, n);
    put(&b, data, (size_t)nbytes);
    return set_encoded(w, key, GGUF_VT_ARR, &b);
}

ward_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                                    uint64_t n) {
    bytes b = {0};
    put_u32(&b, GGUF_VT_STR);
    put_u64(&b, n);
    for (uint64_t i = 0; i < n; i++) put_str(&b, strs[i]);
    return set_encoded(w, key, GGUF_VT_ARR, &b);
}

ward_status gguf_writer_set_arr_strn(gguf_writer *w, const char *key, const char *const *strs,
                                     const uint32_t *lens, uint64_t n) {
    bytes b = {0};
    put_u32(&b, GGUF_VT_STR);
    put_u64(&b, n);
    for (uint64_t i = 0; i < n; i++) {
        put_u64(&b, lens[i]);
        put(&b, strs[i], lens[i]);
    }
    return set_encoded(w, key, GGUF_VT_ARR, &b);
}

static void put_gstr(bytes *b, gguf_str s) {
    put_u64(b, s.len);
    put(b, s.ptr, (size_t)s.len);
}

/* A scalar's little-endian bytes from the reader's widened value. */
static void put_scalar(bytes *b, const gguf_kv *kv) {
    const size_t size = gguf_vtype_size(kv->type);
    if (kv->type == GGUF_VT_F32) {
        const float f = (float)kv->val.f64; /* exact: it was a float */
        put(b, &f, sizeof f);
    } else if (kv->type == GGUF_VT_F64) {
        put(b, &kv->val.f64, sizeof kv->val.f64);
    } else { /* integers and bool: the low bytes of the (sign- or zero-) extended value */
        put(b, &kv->val.u64, size);
    }
}

ward_status gguf_writer_copy_kv(gguf_writer *w, const gguf_kv *kv) {
    char *key = ward_malloc((size_t)kv->key.len + 1);
    if (!key) return WARD_FAIL(&w->err, WARD_ENOMEM, "no memory for a key");
    memcpy(key, kv->key.ptr, (size_t)kv->key.len);
    key[kv->key.len] = '\0';
    bytes b = {0};
    if (kv->type == GGUF_VT_STR) {
        put_gstr(&b, kv->val.str);
    } else if (kv->type == GGUF_VT_ARR) {
        put_u32(&b, kv->val.arr.type);
        put_u64(&b, kv->val.arr.n);
        if (kv->val.arr.type == GGUF_VT_STR)
            for (uint64_t i = 0; i < kv->val.arr.n; i++) put_gstr(&b, kv->val.arr.strs[i]);
        else /* the reader checked n * size against the file */
            put(&b, kv->val.arr.data, (size_t)(kv->val.arr.n * gguf_vtype_size(kv->val.arr.type)));
    } else {
        put_scalar(&b, kv);
    }
    ward_status s = set_encoded(w, key, kv->type, &b);
    ward_free(key);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------------------------- */

ward_status gguf_writer_add_tensor(gguf_writer *w, const char *name, ward_type type,
                                   uint32_t n_dims, const int64_t *ne) {
    wtensor t = {.type = type, .n_dims = n_dims};
    if (w->header_written)
        return WARD_FAIL(&w->err, WARD_EINVAL, "tensor %s: added after the header was written",
                         name);
    if (gguf_tensor_size(type, n_dims, ne, &t.nbytes, &w->err) != WARD_OK) {
        ward_error_prefix(&w->err, name);
        return w->err.code = WARD_EINVAL; /* a bad argument here, not a bad file */
    }
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return WARD_FAIL(&w->err, WARD_EINVAL, "tensor %s: added twice", name);
    for (uint32_t i = 0; i < GGUF_MAX_DIMS; i++) t.ne[i] = i < n_dims ? ne[i] : 1;
    t.name = dup_str(name);
    wtensor *ts = t.name ? reserve(w->tensors, &w->cap_tensors, w->n_tensors + 1, sizeof t) : NULL;
    if (!ts) {
        ward_free(t.name);
        return WARD_FAIL(&w->err, WARD_ENOMEM, "tensor %s: no memory", name);
    }
    w->tensors = ts;
    w->tensors[w->n_tensors++] = t;
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Streaming the file
 * ------------------------------------------------------------------------------------------- */

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static ward_status write_bytes(gguf_writer *w, const void *p, size_t n) {
    if (w->memory) { /* write_header sized mem for everything that follows */
        assert(w->pos <= w->mem_size && n <= w->mem_size - w->pos);
        if (n) memcpy(w->mem + w->pos, p, n);
        w->pos += n;
        return WARD_OK;
    }
    if (n && fwrite(p, 1, n, w->f) != n)
        return WARD_FAIL(&w->err, WARD_EIO, "%s: write failed: %s", w->path, strerror(errno));
    w->pos += n;
    return WARD_OK;
}

/* Give every tensor its aligned offset; false if the data section would overflow 64 bits. */
static bool assign_offsets(gguf_writer *w) {
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        w->tensors[i].offset = align_up(off, w->alignment);
        if (!ward_add_u64(w->tensors[i].offset, w->tensors[i].nbytes, &off) ||
            off > UINT64_MAX - w->alignment)
            return false;
    }
    return true;
}

static void encode_header(const gguf_writer *w, bytes *h) {
    put(h, "GGUF", 4);
    put_u32(h, 3);
    put_u64(h, w->n_tensors);
    put_u64(h, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(h, w->kv[i].key);
        put_u32(h, w->kv[i].type);
        put(h, w->kv[i].val.p, w->kv[i].val.len);
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        put_str(h, t->name);
        put_u32(h, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(h, (uint64_t)t->ne[d]);
        put_u32(h, t->type);
        put_u64(h, t->offset);
    }
    put_zeros(h, align_up(h->len, w->alignment) - h->len);
}

/* The memory sink's one allocation: the header (header_len bytes, padded) and the data. */
static ward_status alloc_memory(gguf_writer *w, size_t header_len) {
    uint64_t size = header_len;
    if (w->n_tensors) {
        const wtensor *last = &w->tensors[w->n_tensors - 1];
        if (!ward_add_u64(size, last->offset + last->nbytes, &size) || size > SIZE_MAX)
            return WARD_FAIL(&w->err, WARD_ENOMEM, "%s: model too large for memory", w->path);
    }
    w->mem = ward_malloc_aligned((size_t)(size ? size : 1), 1);
    if (!w->mem)
        return WARD_FAIL(&w->err, WARD_ENOMEM, "%s: no memory for %" PRIu64 " bytes of model",
                         w->path, size);
    w->mem_size = size;
    return WARD_OK;
}

ward_status gguf_writer_write_header(gguf_writer *w) {
    if (w->header_written)
        return WARD_FAIL(&w->err, WARD_EINVAL, "%s: header written twice", w->path);
    if (!assign_offsets(w))
        return WARD_FAIL(&w->err, WARD_EINVAL, "%s: tensor data too large", w->path);
    bytes h = {0};
    encode_header(w, &h);
    ward_status s = h.oom ? WARD_FAIL(&w->err, WARD_ENOMEM, "%s: no memory for the header",
                                      w->path)
                          : WARD_OK;
    if (s == WARD_OK && w->memory) s = alloc_memory(w, h.len);
    if (s == WARD_OK) s = write_bytes(w, h.p, h.len);
    ward_free(h.p);
    if (s != WARD_OK) return s;
    w->data_start = w->pos;
    w->header_written = true;
    return WARD_OK;
}

/* Check that the next tensor is due with nbytes of data and pad up to its offset. */
static ward_status start_tensor(gguf_writer *w, size_t nbytes) {
    if (!w->header_written || w->next_tensor >= w->n_tensors)
        return WARD_FAIL(&w->err, WARD_EINVAL, "%s: no tensor data is due (%s)", w->path,
                         w->header_written ? "all written" : "header not written");
    const wtensor *t = &w->tensors[w->next_tensor];
    if (nbytes != t->nbytes)
        return WARD_FAIL(&w->err, WARD_EINVAL,
                         "tensor %s: got %zu bytes of data, its shape needs %" PRIu64, t->name,
                         nbytes, t->nbytes);
    /* pos <= target: the previous tensor ended at or before this aligned offset. */
    for (uint64_t pad = w->data_start + t->offset - w->pos, k; pad > 0; pad -= k) {
        k = pad < sizeof zeros ? pad : sizeof zeros;
        ward_status s = write_bytes(w, zeros, (size_t)k);
        if (s != WARD_OK) return s;
    }
    return WARD_OK;
}

ward_status gguf_writer_write_tensor(gguf_writer *w, const void *data, size_t nbytes) {
    ward_status s = start_tensor(w, nbytes);
    if (s == WARD_OK) s = write_bytes(w, data, nbytes);
    if (s == WARD_OK) w->next_tensor++;
    return s;
}

ward_status gguf_writer_next_tensor(gguf_writer *w, size_t nbytes, void **dst) {
    *dst = NULL;
    if (!w->memory)
        return WARD_FAIL(&w->err, WARD_EINVAL, "%s: tensor data can be produced in place only "
                         "in a memory writer", w->path);
    ward_status s = start_tensor(w, nbytes);
    if (s != WARD_OK) return s;
    *dst = w->mem + w->pos;
    w->pos += nbytes;
    w->next_tensor++;
    return WARD_OK;
}

bool gguf_writer_is_memory(const gguf_writer *w) { return w->memory; }

static ward_status check_finished(gguf_writer *w) {
    if (!w->header_written || w->next_tensor < w->n_tensors)
        return WARD_FAIL(&w->err, WARD_EINVAL, "%s: unfinished: %zu of %zu tensors written%s",
                         w->path, w->next_tensor, w->n_tensors,
                         w->header_written ? "" : ", header not written");
    return WARD_OK;
}

ward_status gguf_writer_finish_memory(gguf_writer *w, void **data, size_t *size,
                                      ward_error *err) {
    *data = NULL;
    *size = 0;
    ward_status s = w->memory ? check_finished(w)
                              : WARD_FAIL(&w->err, WARD_EINVAL, "%s: not a memory writer",
                                          w->path);
    if (s != WARD_OK) {
        if (err) *err = w->err;
        gguf_writer_close(w);
        return s;
    }
    *data = w->mem;
    *size = (size_t)w->mem_size;
    w->mem = NULL;
    writer_free(w);
    return WARD_OK;
}

ward_status gguf_writer_finish(gguf_writer *w, ward_error *err) {
    ward_status s = w->memory ? WARD_FAIL(&w->err, WARD_EINVAL, "%s: a memory writer ends with "
                                          "gguf_writer_finish_memory", w->path)
                              : check_finished(w);
    if (s == WARD_OK) {
        int rc = fclose(w->f); /* flushes: a full disk shows up here */
        w->f = NULL;
        if (rc != 0)
            s = WARD_FAIL(&w->err, WARD_EIO, "%s: close failed: %s", w->path, strerror(errno));
        else if (w->tmp_path && rename(w->tmp_path, w->path) != 0)
            s = WARD_FAIL(&w->err, WARD_EIO, "%s: rename from %s failed: %s", w->path,
                          w->tmp_path, strerror(errno));
    }
    if (s != WARD_OK) {
        if (err) *err = w->err;
        gguf_writer_close(w);
        return s;
    }
    writer_free(w);
    return WARD_OK;
}
