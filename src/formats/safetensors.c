/* safetensors.c: parsing and validating .safetensors files and sharded checkpoints (see
 * safetensors.h for the layout).
 *
 * Design: each file is parsed by one list of steps (header length, UTF-8, JSON, tensor infos,
 * tiling of the data section) into an st_file; a reader is one or more st_files plus an index of
 * every tensor sorted by name (duplicates across files are found there, lookups use it). The
 * header JSON tree stays alive in the st_file: tensor names and metadata strings point into it.
 * cJSON allocates that tree with its own malloc (routing it through ward_malloc would need the
 * global cJSON_InitHooks); everything else goes through ward_malloc, and any failure frees the
 * half-built reader with st_close(). Numbers in the JSON are doubles: sizes and offsets must be
 * integral and at most 2^53, so none is rounded. Sharded checkpoints are opened from the index:
 * its weight_map names the shards (plain file names beside the index), each shard is parsed like
 * a single file, and then every weight_map entry must be found in the shard it names and every
 * tensor of the shards must be in the weight_map.
 */
#include "formats/safetensors.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "formats/hf_config.h"

#define NAME_SHOW 96 /* longest name quoted in a message */

/* Return the status of expr unless it is WARD_OK. */
#define TRY(expr)                             \
    do {                                      \
        ward_status try_s_ = (expr);          \
        if (try_s_ != WARD_OK) return try_s_; \
    } while (0)

/* ---------------------------------------------------------------------------------------------
 * Dtypes
 * ------------------------------------------------------------------------------------------- */

static const struct dtype_row {
    const char *name;
    uint8_t size;
    bool supported; /* ward computes with it or converts from it */
    int ward;       /* ward_type with the same encoding, or -1 */
} dtypes[ST_DTYPE_COUNT] = {
    [ST_BOOL] = {"BOOL", 1, false, -1},
    [ST_U8] = {"U8", 1, false, -1},
    [ST_I8] = {"I8", 1, false, WARD_TYPE_I8},
    [ST_F8_E5M2] = {"F8_E5M2", 1, false, -1},
    [ST_F8_E4M3] = {"F8_E4M3", 1, false, -1},
    [ST_F8_E8M0] = {"F8_E8M0", 1, false, -1},
    [ST_I16] = {"I16", 2, false, WARD_TYPE_I16},
    [ST_U16] = {"U16", 2, false, -1},
    [ST_F16] = {"F16", 2, true, WARD_TYPE_F16},
    [ST_BF16] = {"BF16", 2, true, WARD_TYPE_BF16},
    [ST_I32] = {"I32", 4, false, WARD_TYPE_I32},
    [ST_U32] = {"U32", 4, false, -1},
    [ST_F32] = {"F32", 4, true, WARD_TYPE_F32},
    [ST_I64] = {"I64", 8, false, WARD_TYPE_I64},
    [ST_U64] = {"U64", 8, false, -1},
    [ST_F64] = {"F64", 8, false, WARD_TYPE_F64},
};

/* Format dtypes with elements smaller than a byte: named, but not readable here. */
static const char *const subbyte_dtypes[] = {"F4", "F6_E2M3", "F6_E3M2"};

const char *st_dtype_name(st_dtype t) {
    return (unsigned)t < ST_DTYPE_COUNT ? dtypes[t].name : "unknown";
}

size_t st_dtype_size(st_dtype t) { return (unsigned)t < ST_DTYPE_COUNT ? dtypes[t].size : 0; }

bool st_dtype_supported(st_dtype t) {
    return (unsigned)t < ST_DTYPE_COUNT && dtypes[t].supported;
}

bool st_dtype_ward_type(st_dtype t, ward_type *out) {
    if ((unsigned)t >= ST_DTYPE_COUNT || dtypes[t].ward < 0) return false;
    *out = (ward_type)dtypes[t].ward;
    return true;
}

static ward_status parse_dtype(const cJSON *j, st_dtype *out, ward_error *err) {
    if (!cJSON_IsString(j))
        return WARD_FAIL(err, WARD_EFORMAT, "dtype: expected a string, found %s",
                         hf_json_type(j));
    for (int t = 0; t < ST_DTYPE_COUNT; t++)
        if (strcmp(j->valuestring, dtypes[t].name) == 0) {
            *out = (st_dtype)t;
            return WARD_OK;
        }
    for (size_t i = 0; i < sizeof subbyte_dtypes / sizeof subbyte_dtypes[0]; i++)
        if (strcmp(j->valuestring, subbyte_dtypes[i]) == 0)
            return WARD_FAIL(err, WARD_EUNSUPPORTED, "dtype %s (sub-byte elements) is not supported",
                             j->valuestring);
    return WARD_FAIL(err, WARD_EFORMAT, "unknown dtype \"%.*s\"", NAME_SHOW, j->valuestring);
}

/* ---------------------------------------------------------------------------------------------
 * Header: length, UTF-8, JSON
 * ------------------------------------------------------------------------------------------- */

/* Offset of the first byte of p[0..n) that breaks UTF-8 (overlong forms, surrogates and code
 * points past U+10FFFF included), or n when it is all valid. */
static uint64_t utf8_check(const uint8_t *p, uint64_t n) {
    uint64_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        uint64_t len;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07, min = 0x10000;
        else return i;
        if (len > n - i) return i;
        for (uint64_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += len;
    }
    return n;
}

/* Bytes 0..8 give the header length; set f's data section and parse the JSON into f->header. */
static ward_status parse_header(st_file *f, const uint8_t *blob, uint64_t size, ward_error *err) {
    uint64_t n;
    if (size < sizeof n)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "truncated: %" PRIu64 " bytes, the header length alone needs 8", size);
    memcpy(&n, blob, sizeof n); /* little-endian host */
    if (n > ST_MAX_HEADER)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "header length %" PRIu64 " exceeds the cap of %" PRIu64 " bytes", n,
                         ST_MAX_HEADER);
    if (n > size - sizeof n)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "header length %" PRIu64 " runs past the end of the file (size %" PRIu64
                         ")",
                         n, size);
    if (n < 2)
        return WARD_FAIL(err, WARD_EFORMAT, "header length %" PRIu64 " cannot hold a JSON object",
                         n);
    const uint8_t *json = blob + sizeof n;
    uint64_t bad = utf8_check(json, n);
    if (bad < n)
        return WARD_FAIL(err, WARD_EFORMAT, "header: invalid UTF-8 at byte %" PRIu64 " of the file",
                         bad + sizeof n);
    TRY(hf_json_parse((const char *)json, n, "header", &f->header, err));
    if (!cJSON_IsObject(f->header))
        return WARD_FAIL(err, WARD_EFORMAT, "header: expected a JSON object, found %s",
                         hf_json_type(f->header));
    f->data = json + n;
    f->data_size = size - sizeof n - n;
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Tensor infos
 * ------------------------------------------------------------------------------------------- */

static ward_status parse_metadata(st_file *f, const cJSON *j, ward_error *err) {
    if (f->metadata)
        return WARD_FAIL(err, WARD_EFORMAT, "__metadata__: given twice");
    if (!cJSON_IsObject(j))
        return WARD_FAIL(err, WARD_EFORMAT, "__metadata__: expected an object, found %s",
                         hf_json_type(j));
    for (const cJSON *m = j->child; m; m = m->next)
        if (!cJSON_IsString(m))
            return WARD_FAIL(err, WARD_EFORMAT,
                             "__metadata__: %.*s: expected a string, found %s", NAME_SHOW,
                             m->string, hf_json_type(m));
    f->metadata = j;
    return WARD_OK;
}

static ward_status parse_shape(const cJSON *j, st_tensor *t, ward_error *err) {
    if (!cJSON_IsArray(j))
        return WARD_FAIL(err, WARD_EFORMAT, "shape: expected an array, found %s",
                         hf_json_type(j));
    uint64_t n_elems = 1;
    uint32_t n_dims = 0;
    for (int i = 0; i < ST_MAX_DIMS; i++) t->shape[i] = 1;
    for (const cJSON *d = j->child; d; d = d->next) {
        if (n_dims == ST_MAX_DIMS)
            return WARD_FAIL(err, WARD_EUNSUPPORTED, "shape: more than %d dimensions",
                             ST_MAX_DIMS);
        int64_t v = 0; /* set on success; gcc -O3 cannot see that */
        char key[16];
        snprintf(key, sizeof key, "shape[%" PRIu32 "]", n_dims);
        TRY(hf_json_int(d, NULL, key, 0, HF_JSON_MAX_INT, &v, err));
        if (!ward_mul_u64(n_elems, (uint64_t)v, &n_elems) || n_elems > INT64_MAX)
            return WARD_FAIL(err, WARD_EFORMAT, "shape: element count overflows at %s = %" PRId64,
                             key, v);
        t->shape[n_dims++] = v;
    }
    t->n_dims = n_dims;
    t->n_elems = n_elems;
    if (!ward_mul_u64(n_elems, dtypes[t->dtype].size, &t->nbytes))
        return WARD_FAIL(err, WARD_EFORMAT, "shape: byte size overflows");
    return WARD_OK;
}

static ward_status parse_offsets(const st_file *f, const cJSON *j, st_tensor *t,
                                 ward_error *err) {
    if (!cJSON_IsArray(j))
        return WARD_FAIL(err, WARD_EFORMAT, "data_offsets: expected an array, found %s",
                         hf_json_type(j));
    const cJSON *b = j->child, *e = b ? b->next : NULL;
    if (!b || !e || e->next)
        return WARD_FAIL(err, WARD_EFORMAT, "data_offsets: expected [begin, end]");
    int64_t begin = 0, end = 0;
    TRY(hf_json_int(b, NULL, "data_offsets[0]", 0, HF_JSON_MAX_INT, &begin, err));
    TRY(hf_json_int(e, NULL, "data_offsets[1]", 0, HF_JSON_MAX_INT, &end, err));
    if (begin > end)
        return WARD_FAIL(err, WARD_EFORMAT, "data_offsets [%" PRId64 ", %" PRId64 ") end before begin",
                         begin, end);
    if ((uint64_t)end > f->data_size)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "data_offsets [%" PRId64 ", %" PRId64
                         ") past the end of the data section (%" PRIu64 " bytes)",
                         begin, end, f->data_size);
    if ((uint64_t)(end - begin) != t->nbytes)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "data_offsets [%" PRId64 ", %" PRId64 ") hold %" PRId64
                         " bytes, but %s shape needs %" PRIu64,
                         begin, end, end - begin, dtypes[t->dtype].name, t->nbytes);
    t->offset = (uint64_t)begin;
    t->data = f->data + begin;
    return WARD_OK;
}

static ward_status parse_tensor(const st_file *f, const cJSON *j, st_tensor *t, ward_error *err) {
    t->name = j->string;
    if (!t->name[0]) return WARD_FAIL(err, WARD_EFORMAT, "empty tensor name");
    if (!cJSON_IsObject(j))
        return WARD_FAIL(err, WARD_EFORMAT, "expected an object, found %s", hf_json_type(j));
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *m = j->child; m; m = m->next) {
        const cJSON **slot = strcmp(m->string, "dtype") == 0          ? &dtype
                             : strcmp(m->string, "shape") == 0        ? &shape
                             : strcmp(m->string, "data_offsets") == 0 ? &offsets
                                                                      : NULL;
        if (!slot)
            return WARD_FAIL(err, WARD_EFORMAT, "unexpected key \"%.*s\"", NAME_SHOW, m->string);
        if (*slot) return WARD_FAIL(err, WARD_EFORMAT, "%s: given twice", m->string);
        *slot = m;
    }
    if (!dtype) return WARD_FAIL(err, WARD_EFORMAT, "dtype: missing");
    if (!shape) return WARD_FAIL(err, WARD_EFORMAT, "shape: missing");
    if (!offsets) return WARD_FAIL(err, WARD_EFORMAT, "data_offsets: missing");
    TRY(parse_dtype(dtype, &t->dtype, err));
    TRY(parse_shape(shape, t, err));
    return parse_offsets(f, offsets, t, err);
}

static ward_status parse_tensors(st_file *f, uint32_t file_index, ward_error *err) {
    uint64_t n = 0;
    for (const cJSON *m = f->header->child; m; m = m->next)
        n += strcmp(m->string, "__metadata__") != 0;
    f->tensors = ward_calloc(n ? n : 1, sizeof *f->tensors);
    if (!f->tensors)
        return WARD_FAIL(err, WARD_ENOMEM, "no memory for %" PRIu64 " tensors", n);
    for (const cJSON *m = f->header->child; m; m = m->next) {
        if (strcmp(m->string, "__metadata__") == 0) {
            TRY(parse_metadata(f, m, err));
            continue;
        }
        st_tensor *t = &f->tensors[f->n_tensors++];
        t->file = file_index;
        ward_status s = parse_tensor(f, m, t, err);
        if (s != WARD_OK) {
            char buf[NAME_SHOW + 16];
            snprintf(buf, sizeof buf, "tensor %.*s", NAME_SHOW, m->string);
            ward_error_prefix(err, buf);
            return s;
        }
    }
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Data placement: the tensors must tile the data section
 * ------------------------------------------------------------------------------------------- */

static int cmp_offset(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->offset != y->offset) return (x->offset > y->offset) - (x->offset < y->offset);
    return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

/* Sorted by (begin, end), each tensor must begin where the previous one ended and the last one
 * end at the end of the data section. */
static ward_status check_tiling(st_file *f, ward_error *err) {
    if (f->n_tensors == 0) {
        if (f->data_size != 0)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "no tensors, but the data section holds %" PRIu64 " bytes",
                             f->data_size);
        return WARD_OK;
    }
    const st_tensor **order = ward_calloc(f->n_tensors, sizeof *order);
    if (!order) return WARD_FAIL(err, WARD_ENOMEM, "no memory to sort tensors by offset");
    for (uint64_t i = 0; i < f->n_tensors; i++) order[i] = &f->tensors[i];
    qsort(order, f->n_tensors, sizeof *order, cmp_offset);
    ward_status s = WARD_OK;
    uint64_t pos = 0;
    for (uint64_t i = 0; i < f->n_tensors && s == WARD_OK; i++) {
        const st_tensor *t = order[i];
        if (t->offset < pos)
            s = WARD_FAIL(err, WARD_EFORMAT,
                          "tensors %.*s and %.*s overlap (bytes [%" PRIu64 ", %" PRIu64
                          ") of the data section)",
                          NAME_SHOW, order[i - 1]->name, NAME_SHOW, t->name, t->offset, pos);
        else if (t->offset > pos)
            s = WARD_FAIL(err, WARD_EFORMAT,
                          "bytes [%" PRIu64 ", %" PRIu64
                          ") of the data section belong to no tensor (before %.*s)",
                          pos, t->offset, NAME_SHOW, t->name);
        pos = t->offset + t->nbytes; /* both bounds-checked against data_size */
    }
    if (s == WARD_OK && pos != f->data_size)
        s = WARD_FAIL(err, WARD_EFORMAT,
                      "bytes [%" PRIu64 ", %" PRIu64
                      ") at the end of the data section belong to no tensor",
                      pos, f->data_size);
    ward_free(order);
    return s;
}

/* Parse size bytes at blob into files[file_index]; messages are prefixed with its path. */
static ward_status parse_file(st_reader *r, uint32_t file_index, const uint8_t *blob,
                              uint64_t size, ward_error *err) {
    st_file *f = &r->files[file_index];
    ward_status s = parse_header(f, blob, size, err);
    if (s == WARD_OK) s = parse_tensors(f, file_index, err);
    if (s == WARD_OK) s = check_tiling(f, err);
    if (s != WARD_OK) ward_error_prefix(err, f->path);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Name index: duplicates and lookups
 * ------------------------------------------------------------------------------------------- */

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

static ward_status build_index(st_reader *r, ward_error *err) {
    uint64_t n = 0;
    for (uint32_t i = 0; i < r->n_files; i++) n += r->files[i].n_tensors;
    r->by_name = ward_calloc(n ? n : 1, sizeof *r->by_name);
    if (!r->by_name) return WARD_FAIL(err, WARD_ENOMEM, "no memory for the tensor index");
    uint64_t k = 0;
    for (uint32_t i = 0; i < r->n_files; i++)
        for (uint64_t j = 0; j < r->files[i].n_tensors; j++) r->by_name[k++] = &r->files[i].tensors[j];
    r->n_tensors = n;
    qsort(r->by_name, n, sizeof *r->by_name, cmp_name);
    for (uint64_t i = 1; i < n; i++) {
        const st_tensor *a = r->by_name[i - 1], *b = r->by_name[i];
        if (strcmp(a->name, b->name) != 0) continue;
        if (a->file == b->file)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: tensor %.*s: duplicate name",
                             r->files[a->file].path, NAME_SHOW, a->name);
        return WARD_FAIL(err, WARD_EFORMAT, "tensor %.*s: in both %s and %s", NAME_SHOW, a->name,
                         r->files[a->file].path, r->files[b->file].path);
    }
    return WARD_OK;
}

const st_tensor *st_find(const st_reader *r, const char *name) {
    st_tensor key = {.name = name};
    const st_tensor *pkey = &key;
    const st_tensor *const *hit =
        r->n_tensors ? bsearch(&pkey, r->by_name, r->n_tensors, sizeof *r->by_name, cmp_name)
                     : NULL;
    return hit ? *hit : NULL;
}

const st_tensor *st_tensor_at(const st_reader *r, uint64_t i) {
    assert(i < r->n_tensors);
    return r->by_name[i];
}

const char *st_metadata(const st_reader *r, uint32_t file, const char *key) {
    if (file >= r->n_files || !r->files[file].metadata) return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->files[file].metadata, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Open and close
 * ------------------------------------------------------------------------------------------- */

static char *str_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = ward_malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* A reader with n_files empty file slots. */
static ward_status reader_new(uint32_t n_files, st_reader **out, ward_error *err) {
    st_reader *r = ward_calloc(1, sizeof *r);
    if (r) r->files = ward_calloc(n_files, sizeof *r->files);
    if (!r || !r->files) {
        ward_free(r);
        return WARD_FAIL(err, WARD_ENOMEM, "no memory for a safetensors reader");
    }
    r->n_files = n_files;
    *out = r;
    return WARD_OK;
}

/* Name files[i] with path (copied); name = its last component. */
static ward_status set_path(st_file *f, const char *path, ward_error *err) {
    f->path = str_dup(path);
    if (!f->path) return WARD_FAIL(err, WARD_ENOMEM, "no memory for a path");
    const char *slash = strrchr(f->path, '/');
    f->name = slash ? slash + 1 : f->path;
    return WARD_OK;
}

ward_status st_parse(const void *data, size_t size, const char *what, st_reader **out,
                     ward_error *err) {
    st_reader *r = NULL;
    *out = NULL;
    ward_status s = reader_new(1, &r, err);
    if (s == WARD_OK) s = set_path(&r->files[0], what, err);
    if (s == WARD_OK) s = parse_file(r, 0, data, size, err);
    if (s == WARD_OK) s = build_index(r, err);
    if (s != WARD_OK) {
        st_close(r);
        return s;
    }
    *out = r;
    return WARD_OK;
}

/* Map and parse the file at path into files[i]. */
static ward_status open_file(st_reader *r, uint32_t i, const char *path, ward_error *err) {
    st_file *f = &r->files[i];
    TRY(set_path(f, path, err));
    TRY(ward_filemap_open(path, &f->map, err)); /* its messages name the path */
    return parse_file(r, i, f->map.data, f->map.size, err);
}

static ward_status open_single(const char *path, st_reader **out, ward_error *err) {
    st_reader *r = NULL;
    ward_status s = reader_new(1, &r, err);
    if (s == WARD_OK) s = open_file(r, 0, path, err);
    if (s == WARD_OK) s = build_index(r, err);
    if (s != WARD_OK) {
        st_close(r);
        return s;
    }
    *out = r;
    return WARD_OK;
}

/* --- sharded checkpoints -------------------------------------------------------------------- */

/* The parsed index file: weight_map keys and values, each also sorted for lookups. */
typedef struct st_index {
    const char *path;
    cJSON *root;
    uint64_t n;               /* weight_map entries */
    const cJSON **by_key;     /* (n) entries sorted by tensor name */
    const char **shards;      /* (n_shards) distinct file names, sorted */
    uint32_t n_shards;
} st_index;

static int cmp_entry(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A shard must be a plain file name in the index's directory. */
static bool shard_name_ok(const char *s) {
    return s[0] && !strchr(s, '/') && !strchr(s, '\\') && !strstr(s, "..") && strcmp(s, ".");
}

static ward_status read_index(st_index *ix, ward_error *err) {
    ward_filemap map;
    TRY(ward_filemap_open(ix->path, &map, err));
    ward_status s = map.size > HF_MAX_JSON_FILE
                        ? WARD_FAIL(err, WARD_EFORMAT, "%s: %zu bytes, more than the %zu accepted",
                                    ix->path, map.size, HF_MAX_JSON_FILE)
                        : hf_json_parse(map.data, map.size, ix->path, &ix->root, err);
    ward_filemap_close(&map);
    TRY(s);
    if (!cJSON_IsObject(ix->root))
        return WARD_FAIL(err, WARD_EFORMAT, "%s: expected a JSON object, found %s", ix->path,
                         hf_json_type(ix->root));
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(ix->root, "metadata");
    if (meta && !cJSON_IsObject(meta) && !cJSON_IsNull(meta))
        return WARD_FAIL(err, WARD_EFORMAT, "%s: metadata: expected an object, found %s",
                         ix->path, hf_json_type(meta));
    const cJSON *map_j = cJSON_GetObjectItemCaseSensitive(ix->root, "weight_map");
    if (!cJSON_IsObject(map_j))
        return WARD_FAIL(err, WARD_EFORMAT, "%s: weight_map: expected an object, found %s",
                         ix->path, hf_json_type(map_j));
    for (const cJSON *e = map_j->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return WARD_FAIL(err, WARD_EFORMAT,
                             "%s: weight_map: tensor %.*s: expected a file name, found %s",
                             ix->path, NAME_SHOW, e->string, hf_json_type(e));
        if (!shard_name_ok(e->valuestring))
            return WARD_FAIL(err, WARD_EFORMAT,
                             "%s: weight_map: tensor %.*s: shard \"%.*s\" is not a plain file "
                             "name (no path separators, no \"..\")",
                             ix->path, NAME_SHOW, e->string, NAME_SHOW, e->valuestring);
        ix->n++;
    }
    if (ix->n == 0) return WARD_FAIL(err, WARD_EFORMAT, "%s: weight_map is empty", ix->path);
    ix->by_key = ward_calloc(ix->n, sizeof *ix->by_key);
    ix->shards = ward_calloc(ix->n, sizeof *ix->shards);
    if (!ix->by_key || !ix->shards)
        return WARD_FAIL(err, WARD_ENOMEM, "%s: no memory for the weight_map", ix->path);
    uint64_t k = 0;
    for (const cJSON *e = map_j->child; e; e = e->next, k++) {
        ix->by_key[k] = e;
        ix->shards[k] = e->valuestring;
    }
    qsort(ix->by_key, ix->n, sizeof *ix->by_key, cmp_entry);
    for (uint64_t i = 1; i < ix->n; i++)
        if (strcmp(ix->by_key[i - 1]->string, ix->by_key[i]->string) == 0)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: weight_map: tensor %.*s listed twice",
                             ix->path, NAME_SHOW, ix->by_key[i]->string);
    qsort(ix->shards, ix->n, sizeof *ix->shards, cmp_cstr);
    uint64_t n_shards = 0;
    for (uint64_t i = 0; i < ix->n; i++)
        if (i == 0 || strcmp(ix->shards[i - 1], ix->shards[i]) != 0)
            ix->shards[n_shards++] = ix->shards[i];
    if (n_shards > UINT32_MAX)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "%s: %" PRIu64 " shards", ix->path, n_shards);
    ix->n_shards = (uint32_t)n_shards;
    return WARD_OK;
}

/* Every weight_map entry is in the shard it names; every shard tensor is in the weight_map. */
static ward_status check_weight_map(const st_index *ix, const st_reader *r, ward_error *err) {
    for (uint64_t i = 0; i < ix->n; i++) {
        const cJSON *e = ix->by_key[i];
        const st_tensor *t = st_find(r, e->string);
        if (!t)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: tensor %.*s: not found in its shard %s",
                             ix->path, NAME_SHOW, e->string, e->valuestring);
        if (strcmp(r->files[t->file].name, e->valuestring) != 0)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "%s: tensor %.*s: the weight_map says %s, but it is in %s",
                             ix->path, NAME_SHOW, e->string, e->valuestring,
                             r->files[t->file].name);
    }
    for (uint64_t i = 0; i < r->n_tensors && r->n_tensors != ix->n; i++) {
        cJSON key = {.string = (char *)r->by_name[i]->name};
        const cJSON *pkey = &key;
        if (!bsearch(&pkey, ix->by_key, ix->n, sizeof *ix->by_key, cmp_entry))
            return WARD_FAIL(err, WARD_EFORMAT, "%s: tensor %.*s: not in the weight_map of %s",
                             r->files[r->by_name[i]->file].path, NAME_SHOW, r->by_name[i]->name,
                             ix->path);
    }
    return WARD_OK;
}

static ward_status open_shards(st_index *ix, st_reader **out, ward_error *err) {
    TRY(read_index(ix, err));
    TRY(reader_new(ix->n_shards, out, err));
    st_reader *r = *out;
    const char *slash = strrchr(ix->path, '/');
    int dir_len = slash ? (int)(slash - ix->path) : 1;
    const char *dir = slash ? ix->path : ".";
    for (uint32_t i = 0; i < ix->n_shards; i++) {
        size_t len = (size_t)dir_len + 1 + strlen(ix->shards[i]) + 1;
        char *path = ward_malloc(len);
        if (!path) return WARD_FAIL(err, WARD_ENOMEM, "no memory for a path");
        snprintf(path, len, "%.*s/%s", dir_len, dir, ix->shards[i]);
        ward_status s = open_file(r, i, path, err);
        ward_free(path);
        if (s != WARD_OK) {
            if (s == WARD_EIO) { /* the shard itself: say who referenced it */
                char buf[NAME_SHOW + 64];
                snprintf(buf, sizeof buf, "shard %.*s listed in %s", NAME_SHOW, ix->shards[i],
                         ST_INDEX_NAME);
                ward_error_prefix(err, buf);
            }
            return s;
        }
    }
    TRY(build_index(r, err));
    return check_weight_map(ix, r, err);
}

static ward_status open_index(const char *path, st_reader **out, ward_error *err) {
    st_index ix = {.path = path};
    ward_status s = open_shards(&ix, out, err);
    cJSON_Delete(ix.root);
    ward_free(ix.by_key);
    ward_free(ix.shards);
    if (s != WARD_OK) {
        st_close(*out);
        *out = NULL;
    }
    return s;
}

static bool is_regular(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

ward_status st_open(const char *path, st_reader **out, ward_error *err) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return WARD_FAIL(err, WARD_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return ends_with(path, ".json") ? open_index(path, out, err)
                                        : open_single(path, out, err);
    size_t len = strlen(path) + 1 + sizeof ST_INDEX_NAME;
    char *sub = ward_malloc(len);
    if (!sub) return WARD_FAIL(err, WARD_ENOMEM, "no memory for a path");
    ward_status s;
    snprintf(sub, len, "%s/%s", path, ST_SINGLE_NAME);
    if (is_regular(sub)) {
        s = open_single(sub, out, err);
    } else {
        snprintf(sub, len, "%s/%s", path, ST_INDEX_NAME);
        s = is_regular(sub) ? open_index(sub, out, err)
                            : WARD_FAIL(err, WARD_EIO, "%s: neither %s nor %s found", path,
                                        ST_SINGLE_NAME, ST_INDEX_NAME);
    }
    ward_free(sub);
    return s;
}

void st_close(st_reader *r) {
    if (!r) return;
    for (uint32_t i = 0; r->files && i < r->n_files; i++) {
        st_file *f = &r->files[i];
        ward_free(f->path);
        ward_filemap_close(&f->map);
        cJSON_Delete(f->header);
        ward_free(f->tensors);
    }
    ward_free(r->files);
    ward_free(r->by_name);
    ward_free(r);
}
