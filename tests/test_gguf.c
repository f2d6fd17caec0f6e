/* test_gguf.c: the GGUF reader and writer (src/formats/gguf_read.c, gguf_write.c).
 *
 * Sections: real files from ../shared (every model and vocab parses; known facts hold), writer
 * round trips (every value type, arrays, tensors, alignment), hand-built files (a valid v2 file
 * and one bad file per check the reader makes: a spec with one field changed), damaged files
 * (truncated at every byte, every header byte flipped) and out-of-memory at every allocation.
 * Hand-built files come from a small byte builder here, independent of the writer under test.
 * Buffers handed to gguf_parse are malloc'ed at their exact size so ASan sees any overread.
 */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "harness.h"

static bool str_is(gguf_str s, const char *want) {
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* Touch every string byte and the first and last byte of every tensor; returns a checksum so
 * the reads are not optimized away (ASan reports any that fall outside the blob). */
static unsigned walk(const gguf_file *g) {
    unsigned sum = 0;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kv[i];
        for (uint64_t j = 0; j < kv->key.len; j++) sum += (uint8_t)kv->key.ptr[j];
        if (kv->type == GGUF_VT_STR)
            for (uint64_t j = 0; j < kv->val.str.len; j++) sum += (uint8_t)kv->val.str.ptr[j];
        if (kv->type == GGUF_VT_ARR && kv->val.arr.type == GGUF_VT_STR)
            for (uint64_t k = 0; k < kv->val.arr.n; k++)
                for (uint64_t j = 0; j < kv->val.arr.strs[k].len; j++)
                    sum += (uint8_t)kv->val.arr.strs[k].ptr[j];
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const uint8_t *d = g->tensors[i].data;
        sum += d[0] + d[g->tensors[i].nbytes - 1];
    }
    return sum;
}

/* ---------------------------------------------------------------------------------------------
 * Real files
 * ------------------------------------------------------------------------------------------- */

/* Open every *.gguf in shared/<dir>; returns how many opened cleanly. */
static int open_all_in(const char *dir) {
    const char *root = shared_path(dir);
    if (!root) return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s", root);
    DIR *d = opendir(path);
    CHECK(d != NULL, "cannot list %s", path);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".gguf") != 0) continue;
        char file[4400];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        gguf_file *g;
        ward_error err;
        ward_status s = gguf_open(file, &g, &err);
        CHECK(s == WARD_OK, "%s: %s", file, s ? err.msg : "");
        if (s != WARD_OK) continue;
        CHECK(g->version == 3 && g->alignment == 32, "%s: version %u alignment %" PRIu64, file,
              g->version, g->alignment);
        for (uint64_t i = 0; i < g->n_tensors; i++)
            CHECK((g->data_start + g->tensors[i].offset) % g->alignment == 0, "%s: tensor %" PRIu64
                  " misaligned", file, i);
        walk(g);
        gguf_close(g);
        n++;
    }
    closedir(d);
    return n;
}

static void test_real_files(void) {
    CHECK(open_all_in("models") >= 30, "expected 30+ models in shared/models");
    CHECK(open_all_in("tokenizers") == 3, "expected 3 vocab files in shared/tokenizers");
}

static void test_stories_facts(void) {
    const char *path = shared_path("models/stories260K.gguf");
    gguf_file *g;
    ward_error err;
    if (!path) return;
    ward_status s = gguf_open(path, &g, &err);
    CHECK(s == WARD_OK, "stories260K: %s", s ? err.msg : "");
    if (s) return;
    gguf_str arch = {0};
    uint32_t n_embd = 0, absent = 7;
    float eps = 0;
    CHECK(gguf_get_str(g, "general.architecture", true, &arch, &err) == WARD_OK &&
              str_is(arch, "llama"), "general.architecture");
    CHECK(gguf_get_u32(g, "llama.embedding_length", true, &n_embd, &err) == WARD_OK &&
              n_embd == 64, "llama.embedding_length = %u", n_embd);
    CHECK(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", true, &eps, &err) ==
              WARD_OK && eps > 0 && eps < 1e-3f, "rms epsilon %g", eps);
    CHECK(gguf_get_u32(g, "no.such.key", false, &absent, &err) == WARD_OK && absent == 7,
          "optional absent key leaves the value");
    CHECK(gguf_get_u32(g, "no.such.key", true, &absent, &err) == WARD_EFORMAT &&
              strstr(err.msg, "key no.such.key: missing"), "required absent key: %s", err.msg);
    CHECK(gguf_get_u32(g, "general.architecture", true, &n_embd, &err) == WARD_EFORMAT &&
              strstr(err.msg, "type str, expected an integer"), "wrong type: %s", err.msg);

    const gguf_kv *tokens, *scores;
    CHECK(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_VT_STR, true, &tokens, &err) == WARD_OK &&
              tokens->val.arr.n == 512 && str_is(tokens->val.arr.strs[1], "<s>"),
          "tokenizer.ggml.tokens: 512 strings, token 1 = <s>");
    CHECK(gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_VT_F32, true, &scores, &err) == WARD_OK &&
              scores->val.arr.n == 512 && isfinite(gguf_arr_f32(scores, 511)),
          "tokenizer.ggml.scores: 512 floats");
    CHECK(gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_VT_I32, true, &scores, &err) ==
              WARD_EFORMAT && strstr(err.msg, "type arr of f32, expected arr of i32"),
          "array of the wrong type: %s", err.msg);

    const gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
    CHECK(t && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512 && t->type == WARD_TYPE_F32 &&
              t->nbytes == 64 * 512 * 4, "token_embd.weight {64, 512} F32");
    CHECK(gguf_find_tensor(g, "blk.4.ffn_down.weight") &&
              !gguf_find_tensor(g, "blk.5.attn_q.weight"), "tensor lookup by name");
    gguf_close(g);
}

static void test_q4_0_facts(void) {
    const char *path = shared_path("models/random-k256-Q4_0.gguf");
    gguf_file *g;
    ward_error err;
    if (!path || gguf_open(path, &g, &err) != WARD_OK) {
        CHECK(false, "random-k256-Q4_0.gguf does not open");
        return;
    }
    int n_q4 = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) n_q4 += g->tensors[i].type == WARD_TYPE_Q4_0;
    const gguf_tensor *t = gguf_find_tensor(g, "blk.0.ffn_up.weight");
    CHECK(n_q4 >= 14, "Q4_0 tensors: %d", n_q4);
    CHECK(t && t->type == WARD_TYPE_Q4_0 && t->ne[0] == 256 && t->ne[1] == 512 &&
              t->nbytes == 512 * 8 * 18, "blk.0.ffn_up.weight is Q4_0 {256, 512}");
    gguf_close(g);
}

/* ---------------------------------------------------------------------------------------------
 * Writer round trip
 * ------------------------------------------------------------------------------------------- */

/* One scalar of each numeric type, at an extreme of its range. */
static const struct scalar_case {
    const char *key;
    gguf_vtype type;
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
            float f32; uint64_t u64; int64_t i64; double f64; } v;
} scalars[] = {
    {"t.u8", GGUF_VT_U8, {.u8 = 255}},          {"t.i8", GGUF_VT_I8, {.i8 = -128}},
    {"t.u16", GGUF_VT_U16, {.u16 = 65535}},     {"t.i16", GGUF_VT_I16, {.i16 = -32768}},
    {"t.u32", GGUF_VT_U32, {.u32 = 4000000000u}}, {"t.i32", GGUF_VT_I32, {.i32 = INT32_MIN}},
    {"t.f32", GGUF_VT_F32, {.f32 = -1.5f}},     {"t.bool", GGUF_VT_BOOL, {.u8 = 1}},
    {"t.u64", GGUF_VT_U64, {.u64 = UINT64_MAX}}, {"t.i64", GGUF_VT_I64, {.i64 = INT64_MIN}},
    {"t.f64", GGUF_VT_F64, {.f64 = 3.141592653589793}},
};
#define N_SCALARS (sizeof scalars / sizeof scalars[0])

/* The value a scalar case should read back as, in the reader's widened form. */
static bool scalar_matches(const struct scalar_case *c, const gguf_kv *kv) {
    if (kv->type != c->type) return false;
    switch (c->type) {
    case GGUF_VT_U8: case GGUF_VT_BOOL: return kv->val.u64 == c->v.u8;
    case GGUF_VT_I8: return kv->val.i64 == c->v.i8;
    case GGUF_VT_U16: return kv->val.u64 == c->v.u16;
    case GGUF_VT_I16: return kv->val.i64 == c->v.i16;
    case GGUF_VT_U32: return kv->val.u64 == c->v.u32;
    case GGUF_VT_I32: return kv->val.i64 == c->v.i32;
    case GGUF_VT_F32: return kv->val.f64 == c->v.f32;
    case GGUF_VT_U64: return kv->val.u64 == c->v.u64;
    case GGUF_VT_I64: return kv->val.i64 == c->v.i64;
    default: return kv->val.f64 == c->v.f64;
    }
}

static const struct tensor_case {
    const char *name;
    ward_type type;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
} rt_tensors[] = {
    {"f32.odd", WARD_TYPE_F32, 2, {5, 3}}, /* 60 bytes: the next tensor needs padding */
    {"q4_0", WARD_TYPE_Q4_0, 2, {64, 2}},
    {"f16.4d", WARD_TYPE_F16, 4, {3, 1, 2, 1}},
    {"q8_0", WARD_TYPE_Q8_0, 1, {32}},
};
#define N_RT_TENSORS (sizeof rt_tensors / sizeof rt_tensors[0])

static uint8_t pattern(size_t tensor, size_t i) { return (uint8_t)(tensor * 31 + i * 7 + 1); }

static const char *const rt_strs[] = {"alpha", "", "\xe2\x96\x81the"};

/* Each step runs only if all before it succeeded; the first failure closes the writer (which
 * removes the file). alignment 0 = leave general.alignment unset. */
static ward_status write_round_trip(const char *path, uint32_t alignment) {
    gguf_writer *w;
    ward_status s = gguf_writer_open(path, &w, NULL);
    if (s != WARD_OK) return s;
    for (size_t i = 0; i < N_SCALARS && s == WARD_OK; i++)
        s = gguf_writer_set_scalar(w, scalars[i].key, scalars[i].type, &scalars[i].v);
    if (s == WARD_OK) s = gguf_writer_set_str(w, "t.str", "hello");
    if (s == WARD_OK) s = gguf_writer_set_str(w, "t.empty", "");
    if (s == WARD_OK) s = gguf_writer_set_u32(w, "t.replaced", 1);
    if (s == WARD_OK) s = gguf_writer_set_f32(w, "t.replaced", 2.5f); /* replaces, new type */
    for (size_t i = 0; i < N_SCALARS && s == WARD_OK; i++) { /* arrays of 3 of every type */
        uint8_t data[3 * 8];
        for (int k = 0; k < 3; k++)
            memcpy(data + k * gguf_vtype_size(scalars[i].type), &scalars[i].v,
                   gguf_vtype_size(scalars[i].type));
        char key[32];
        snprintf(key, sizeof key, "a.%s", scalars[i].key + 2);
        s = gguf_writer_set_arr(w, key, scalars[i].type, data, 3);
    }
    if (s == WARD_OK) s = gguf_writer_set_arr(w, "a.empty", GGUF_VT_I32, NULL, 0);
    if (s == WARD_OK) s = gguf_writer_set_arr_str(w, "a.str", rt_strs, 3);
    if (s == WARD_OK && alignment) s = gguf_writer_set_u32(w, "general.alignment", alignment);
    for (size_t i = 0; i < N_RT_TENSORS && s == WARD_OK; i++)
        s = gguf_writer_add_tensor(w, rt_tensors[i].name, rt_tensors[i].type,
                                   rt_tensors[i].n_dims, rt_tensors[i].ne);
    if (s == WARD_OK) s = gguf_writer_write_header(w);
    for (size_t i = 0; i < N_RT_TENSORS && s == WARD_OK; i++) {
        uint64_t nbytes;
        gguf_tensor_size(rt_tensors[i].type, rt_tensors[i].n_dims, rt_tensors[i].ne, &nbytes,
                         NULL);
        uint8_t data[512];
        for (size_t k = 0; k < nbytes; k++) data[k] = pattern(i, k);
        s = gguf_writer_write_tensor(w, data, nbytes);
    }
    if (s != WARD_OK) {
        gguf_writer_close(w);
        return s;
    }
    return gguf_writer_finish(w, NULL);
}

static void check_round_trip_kvs(const gguf_file *g) {
    for (size_t i = 0; i < N_SCALARS; i++) {
        const gguf_kv *kv = gguf_find(g, scalars[i].key);
        CHECK(kv && scalar_matches(&scalars[i], kv), "scalar %s", scalars[i].key);
        char key[32];
        snprintf(key, sizeof key, "a.%s", scalars[i].key + 2);
        kv = gguf_find(g, key);
        CHECK(kv && kv->type == GGUF_VT_ARR && kv->val.arr.type == scalars[i].type &&
                  kv->val.arr.n == 3, "array %s", key);
        if (kv && scalars[i].type == GGUF_VT_I32)
            CHECK(gguf_arr_i64(kv, 2) == INT32_MIN && gguf_arr_f32(kv, 0) == (float)INT32_MIN,
                  "i32 array elements");
        if (kv && scalars[i].type == GGUF_VT_F64)
            CHECK(gguf_arr_f32(kv, 1) == (float)3.141592653589793, "f64 array element");
        if (kv && scalars[i].type == GGUF_VT_U64)
            CHECK(gguf_arr_i64(kv, 0) == INT64_MAX, "u64 array element saturates");
    }
    gguf_str str;
    float f = 0;
    const gguf_kv *arr;
    uint32_t u = 0;
    CHECK(gguf_get_str(g, "t.str", true, &str, NULL) == WARD_OK && str_is(str, "hello"), "t.str");
    CHECK(gguf_get_str(g, "t.empty", true, &str, NULL) == WARD_OK && str.len == 0, "t.empty");
    CHECK(gguf_get_f32(g, "t.replaced", true, &f, NULL) == WARD_OK && f == 2.5f, "t.replaced");
    CHECK(gguf_get_u32(g, "t.u16", true, &u, NULL) == WARD_OK && u == 65535, "u32 from u16");
    CHECK(gguf_get_u32(g, "t.i32", true, &u, NULL) == WARD_EFORMAT, "negative i32 is not a u32");
    CHECK(gguf_get_u32(g, "t.u64", true, &u, NULL) == WARD_EFORMAT, "u64 max is not a u32");
    CHECK(gguf_get_arr(g, "a.empty", GGUF_VT_I32, true, &arr, NULL) == WARD_OK &&
              arr->val.arr.n == 0, "empty array");
    CHECK(gguf_get_arr(g, "a.str", GGUF_VT_COUNT, true, &arr, NULL) == WARD_OK &&
              arr->val.arr.n == 3 && str_is(arr->val.arr.strs[0], rt_strs[0]) &&
              str_is(arr->val.arr.strs[1], "") && str_is(arr->val.arr.strs[2], rt_strs[2]),
          "string array");
}

static void check_round_trip_tensors(const gguf_file *g) {
    CHECK(g->n_tensors == N_RT_TENSORS, "tensor count");
    for (size_t i = 0; i < N_RT_TENSORS && i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        const struct tensor_case *c = &rt_tensors[i];
        CHECK(str_is(t->name, c->name) && t->type == c->type && t->n_dims == c->n_dims &&
                  memcmp(t->ne, c->ne, c->n_dims * sizeof t->ne[0]) == 0,
              "tensor %s info", c->name);
        CHECK(t->offset % g->alignment == 0, "tensor %s offset %" PRIu64, c->name, t->offset);
        const uint8_t *data = t->data;
        bool same = true;
        for (size_t k = 0; k < t->nbytes; k++) same &= data[k] == pattern(i, k);
        CHECK(same, "tensor %s data", c->name);
    }
}

static void test_round_trip(uint32_t alignment) {
    const char *path = test_tmp_path("rt.gguf");
    ward_status s = write_round_trip(path, alignment);
    CHECK(s == WARD_OK, "writing %s", path);
    gguf_file *g;
    ward_error err;
    s = gguf_open(path, &g, &err);
    CHECK(s == WARD_OK, "reading back: %s", s ? err.msg : "");
    if (s != WARD_OK) return;
    uint64_t want_align = alignment ? alignment : GGUF_DEFAULT_ALIGNMENT;
    CHECK(g->version == 3 && g->alignment == want_align && g->data_start % want_align == 0,
          "version 3, alignment %" PRIu64, g->alignment);
    CHECK((gguf_find(g, "general.alignment") != NULL) == (alignment != 0),
          "general.alignment written only when set");
    check_round_trip_kvs(g);
    check_round_trip_tensors(g);
    gguf_close(g);
    unlink(path);
}

static void test_writer_misuse(void) {
    const char *path = test_tmp_path("misuse.gguf");
    gguf_writer *w;
    ward_error err;
    CHECK(gguf_writer_open("/nonexistent-dir/x.gguf", &w, &err) == WARD_EIO && !w,
          "unwritable path");
    if (gguf_writer_open(path, &w, &err) != WARD_OK) {
        CHECK(false, "open %s: %s", path, err.msg);
        return;
    }
    int64_t ne[2] = {33, 2};
    CHECK(gguf_writer_add_tensor(w, "bad", WARD_TYPE_Q4_0, 2, ne) == WARD_EINVAL &&
              strstr(gguf_writer_errmsg(w), "bad: ne[0] = 33 is not a multiple"),
          "Q4_0 row of 33: %s", gguf_writer_errmsg(w));
    CHECK(gguf_writer_add_tensor(w, "bad", (ward_type)99, 2, ne) == WARD_EINVAL, "type 99");
    CHECK(gguf_writer_set_u32(w, "general.alignment", 3) == WARD_EINVAL, "alignment 3");
    CHECK(gguf_writer_set_scalar(w, "k", GGUF_VT_STR, "x") == WARD_EINVAL, "str as scalar");
    CHECK(gguf_writer_add_tensor(w, "t", WARD_TYPE_F32, 2, ne) == WARD_OK, "add t");
    CHECK(gguf_writer_add_tensor(w, "t", WARD_TYPE_F32, 2, ne) == WARD_EINVAL, "add t twice");
    CHECK(gguf_writer_write_tensor(w, ne, 8) == WARD_EINVAL, "data before the header");
    CHECK(gguf_writer_write_header(w) == WARD_OK, "header");
    CHECK(gguf_writer_set_u32(w, "late", 1) == WARD_EINVAL, "set after the header");
    CHECK(gguf_writer_write_tensor(w, ne, 8) == WARD_EINVAL &&
              strstr(gguf_writer_errmsg(w), "got 8 bytes of data, its shape needs 264"),
          "wrong data size: %s", gguf_writer_errmsg(w));
    CHECK(gguf_writer_finish(w, &err) == WARD_EINVAL && strstr(err.msg, "0 of 1 tensors"),
          "finish with a tensor missing: %s", err.msg);
    CHECK(access(path, F_OK) != 0, "no partial file left behind");
}

/* ---------------------------------------------------------------------------------------------
 * Hand-built files
 * ------------------------------------------------------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void b_put(buf *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort(); /* test code: no recovery needed */
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void b_u32(buf *b, uint32_t v) { b_put(b, &v, 4); }
static void b_u64(buf *b, uint64_t v) { b_put(b, &v, 8); }
static void b_str(buf *b, const char *s) {
    b_u64(b, strlen(s));
    b_put(b, s, strlen(s));
}
static void b_key(buf *b, const char *key, uint32_t vtype) {
    b_str(b, key);
    b_u32(b, vtype);
}

typedef struct tinfo {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[5];
    uint32_t type;
    uint64_t offset;
} tinfo;

/* A file that is valid when every field is zero; each bad case sets one field. */
typedef struct spec {
    const char *magic;        /* NULL: "GGUF" */
    uint32_t version;         /* 0: 3 */
    uint64_t n_kv_claim;      /* 0: the real count */
    uint64_t n_tensors_claim; /* 0: the real count */
    uint32_t align_type;      /* 0: no general.alignment; else its value type */
    uint64_t align;
    bool dup_key;
    uint64_t str_len_claim;   /* 0: none; else a string kv claiming this length */
    uint32_t bad_vtype;       /* 0: none; else a kv of this value type */
    uint32_t arr_elem;        /* 0: none; else an array kv with this element type */
    const tinfo *tensors;     /* NULL: valid_tensors */
    int n_tensors;
    uint64_t data_len;        /* 0: 96 bytes, enough for valid_tensors */
} spec;

/* a: F32 {8, 2} = 64 bytes at 0; b: Q4_0 {32} = 18 bytes at 64. */
static const tinfo valid_tensors[] = {
    {"a", 2, {8, 2}, WARD_TYPE_F32, 0},
    {"b", 1, {32}, WARD_TYPE_Q4_0, 64},
};

static buf build(const spec *sp) {
    buf b = {0};
    const tinfo *ts = sp->tensors ? sp->tensors : valid_tensors;
    int n_t = sp->tensors ? sp->n_tensors : 2;
    uint64_t n_kv = 1 + (sp->align_type != 0) + sp->dup_key + (sp->str_len_claim != 0) +
                    (sp->bad_vtype != 0) + (sp->arr_elem != 0);
    b_put(&b, sp->magic ? sp->magic : "GGUF", 4);
    b_u32(&b, sp->version ? sp->version : 3);
    b_u64(&b, sp->n_tensors_claim ? sp->n_tensors_claim : (uint64_t)n_t);
    b_u64(&b, sp->n_kv_claim ? sp->n_kv_claim : n_kv);
    b_key(&b, "general.architecture", GGUF_VT_STR);
    b_str(&b, "test");
    if (sp->dup_key) {
        b_key(&b, "general.architecture", GGUF_VT_U8);
        b_put(&b, "x", 1);
    }
    if (sp->align_type) b_key(&b, "general.alignment", sp->align_type);
    if (sp->align_type == GGUF_VT_U32) b_u32(&b, (uint32_t)sp->align);
    if (sp->align_type == GGUF_VT_U64) b_u64(&b, sp->align);
    if (sp->bad_vtype) {
        b_key(&b, "bad.type", sp->bad_vtype);
        b_u32(&b, 0);
    }
    if (sp->arr_elem) { /* one element of 4 zero bytes */
        b_key(&b, "bad.arr", GGUF_VT_ARR);
        b_u32(&b, sp->arr_elem);
        b_u64(&b, 1);
        b_u32(&b, 0);
    }
    if (sp->str_len_claim) { /* the length field only: the bytes are missing */
        b_key(&b, "general.name", GGUF_VT_STR);
        b_u64(&b, sp->str_len_claim);
    }
    for (int i = 0; i < n_t; i++) {
        b_str(&b, ts[i].name);
        b_u32(&b, ts[i].n_dims);
        for (uint32_t d = 0; d < ts[i].n_dims; d++) b_u64(&b, ts[i].ne[d]);
        b_u32(&b, ts[i].type);
        b_u64(&b, ts[i].offset);
    }
    uint64_t align = sp->align_type && gguf_alignment_ok(sp->align) ? sp->align : 32;
    while (b.len % align) b_put(&b, "", 1);
    for (uint64_t i = 0, n = sp->data_len ? sp->data_len : 96; i < n; i++) {
        uint8_t byte = (uint8_t)i;
        b_put(&b, &byte, 1);
    }
    return b;
}

/* Parse a copy of exactly len bytes (so ASan catches any overread). */
static ward_status parse_copy(const uint8_t *data, size_t len, ward_error *err, unsigned *sum) {
    uint8_t *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, data, len);
    gguf_file *g;
    ward_status s = gguf_parse(copy, len, &g, err);
    if (s == WARD_OK) {
        *sum += walk(g);
        gguf_close(g);
    }
    free(copy);
    return s;
}

static void test_valid_hand_built(void) {
    spec v2 = {.version = 2}, a64 = {.align_type = GGUF_VT_U32, .align = 64};
    buf b = build(&v2);
    gguf_file *g;
    ward_error err;
    ward_status s = gguf_parse(b.p, b.len, &g, &err);
    CHECK(s == WARD_OK, "hand-built v2 file: %s", s ? err.msg : "");
    if (s == WARD_OK) {
        const gguf_tensor *t = gguf_find_tensor(g, "b");
        gguf_str arch;
        CHECK(g->version == 2 && g->n_kv == 1 && g->n_tensors == 2 && g->data_start == 160,
              "v2 header: data_start %" PRIu64, g->data_start);
        CHECK(gguf_get_str(g, "general.architecture", true, &arch, NULL) == WARD_OK &&
                  str_is(arch, "test"), "v2 string value");
        CHECK(t && t->nbytes == 18 && t->data == b.p + 160 + 64 && ((uint8_t *)t->data)[0] == 64,
              "v2 tensor b placed at data_start + 64");
        gguf_close(g);
    }
    free(b.p);
    b = build(&a64);
    s = gguf_parse(b.p, b.len, &g, &err);
    CHECK(s == WARD_OK && g->alignment == 64 && g->data_start % 64 == 0, "alignment 64");
    if (s == WARD_OK) gguf_close(g);
    free(b.p);
}

static const struct bad_case {
    const char *what;
    spec sp;
    ward_status code;
    const char *msg; /* must appear in the message */
} bad_cases[] = {
    {"bad magic", {.magic = "GGUG"}, WARD_EFORMAT, "not a GGUF file"},
    {"version 1", {.version = 1}, WARD_EUNSUPPORTED, "GGUF version 1 is not supported"},
    {"version 4", {.version = 4}, WARD_EUNSUPPORTED, "GGUF version 4 is not supported"},
    {"n_kv 2^60", {.n_kv_claim = 1ull << 60}, WARD_EFORMAT, "n_kv 1152921504606846976 cannot fit"},
    {"n_tensors 2^62", {.n_tensors_claim = 1ull << 62}, WARD_EFORMAT,
     "n_tensors 4611686018427387904 cannot fit"},
    {"string length 2^63", {.str_len_claim = 1ull << 63}, WARD_EFORMAT,
     "key general.name: truncated: string value needs 9223372036854775808 bytes"},
    {"duplicate key", {.dup_key = true}, WARD_EFORMAT, "duplicate key general.architecture"},
    {"value type 13", {.bad_vtype = 13}, WARD_EFORMAT, "key bad.type: unknown value type 13"},
    {"array of arrays", {.arr_elem = GGUF_VT_ARR}, WARD_EFORMAT,
     "key bad.arr: array element type 9 is not a scalar or string type"},
    {"alignment 0", {.align_type = GGUF_VT_U32, .align = 0}, WARD_EFORMAT,
     "general.alignment 0 is not a nonzero power of two"},
    {"alignment 3", {.align_type = GGUF_VT_U32, .align = 3}, WARD_EFORMAT,
     "general.alignment 3 is not a nonzero power of two"},
    {"alignment as u64", {.align_type = GGUF_VT_U64, .align = 32}, WARD_EFORMAT,
     "general.alignment has type u64, expected u32"},
    {"n_dims 5", {.tensors = (const tinfo[]){{"a", 5, {8, 1, 1, 1, 1}, 0, 0}}, .n_tensors = 1},
     WARD_EFORMAT, "tensor a: n_dims 5 not in 1..4"},
    {"ne overflow", {.tensors = (const tinfo[]){{"a", 3, {1ull << 32, 1ull << 32, 1ull << 32}, 0,
                                                  0}}, .n_tensors = 1},
     WARD_EFORMAT, "tensor a: element count overflows at ne[1] = 4294967296"},
    {"ne 0", {.tensors = (const tinfo[]){{"a", 2, {8, 0}, 0, 0}}, .n_tensors = 1}, WARD_EFORMAT,
     "tensor a: ne[1] = 0 is not positive"},
    {"ne 2^63", {.tensors = (const tinfo[]){{"a", 2, {8, 1ull << 63}, 0, 0}}, .n_tensors = 1},
     WARD_EFORMAT, "tensor a: ne[1] = -9223372036854775808 is not positive"},
    {"Q4_0 row of 33", {.tensors = (const tinfo[]){{"a", 1, {33}, WARD_TYPE_Q4_0, 0}},
                        .n_tensors = 1},
     WARD_EFORMAT, "tensor a: ne[0] = 33 is not a multiple of the Q4_0 block size 32"},
    {"type 99", {.tensors = (const tinfo[]){{"a", 1, {8}, 99, 0}}, .n_tensors = 1}, WARD_EFORMAT,
     "tensor a: unknown type id 99"},
    {"misaligned offset", {.tensors = (const tinfo[]){{"a", 1, {8}, 0, 4}}, .n_tensors = 1},
     WARD_EFORMAT, "tensor a: offset 4 is not a multiple of the alignment 32"},
    {"data past end", {.data_len = 70}, WARD_EFORMAT,
     "tensor b: data [224, 242) past end of file (size 230)"},
    {"offset past 2^64", {.tensors = (const tinfo[]){{"a", 1, {8}, 0, UINT64_MAX - 31}},
                          .n_tensors = 1},
     WARD_EFORMAT, "past end of file"},
    {"overlap", {.tensors = (const tinfo[]){{"a", 2, {8, 2}, 0, 0}, {"b", 1, {8}, 0, 32}},
                 .n_tensors = 2},
     WARD_EFORMAT, "tensors a [0, 64) and b [32, ...) overlap"},
    {"duplicate tensor", {.tensors = (const tinfo[]){{"a", 1, {8}, 0, 0}, {"a", 1, {8}, 0, 32}},
                          .n_tensors = 2},
     WARD_EFORMAT, "duplicate tensor name a"},
};

static void test_bad_hand_built(void) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        buf b = build(&c->sp);
        ward_error err = {0};
        unsigned sum = 0;
        ward_status s = parse_copy(b.p, b.len, &err, &sum);
        CHECK(s == c->code && strstr(err.msg, c->msg), "%s: got %s \"%s\", want \"%s\"", c->what,
              ward_status_str(s), err.msg, c->msg);
        free(b.p);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Damaged files and out of memory
 * ------------------------------------------------------------------------------------------- */

static void test_truncated_and_flipped(void) {
    const char *path = test_tmp_path("small.gguf");
    size_t size = 0;
    uint8_t *data = NULL;
    if (write_round_trip(path, 0) != WARD_OK || !(data = read_file(path, &size))) {
        CHECK(false, "cannot make %s", path);
        return;
    }
    unlink(path);
    unsigned sum = 0;
    int n_ok = 0, n_err = 0;
    /* The file ends with tensor data, so every proper prefix lacks some. */
    for (size_t len = 0; len < size; len++) {
        ward_error err;
        ward_status s = parse_copy(data, len, &err, &sum);
        CHECK(s == WARD_EFORMAT, "truncated to %zu of %zu bytes: %s", len, size,
              ward_status_str(s));
    }
    gguf_file *g;
    uint64_t header_len = gguf_parse(data, size, &g, NULL) == WARD_OK ? g->data_start : 0;
    if (header_len) gguf_close(g);
    CHECK(header_len > 0, "the small file parses");
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < header_len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            data[i] ^= masks[m];
            if (parse_copy(data, size, NULL, &sum) == WARD_OK)
                n_ok++;
            else
                n_err++;
            data[i] ^= masks[m];
        }
    CHECK(n_err > 0 && n_ok > 0, "flipped header bytes: %d parse, %d refused", n_ok, n_err);
    free(data);
}

static void test_open_errors(void) {
    const char *path = test_tmp_path("trunc.gguf");
    gguf_file *g;
    ward_error err;
    FILE *f = fopen(path, "wb");
    fwrite("GGUF\3\0\0\0", 1, 8, f);
    fclose(f);
    CHECK(gguf_open(path, &g, &err) == WARD_EFORMAT && !g &&
              strncmp(err.msg, path, strlen(path)) == 0 && strstr(err.msg, "truncated: n_tensors"),
          "message starts with the path: %s", err.msg);
    unlink(path);
    CHECK(gguf_open(path, &g, &err) == WARD_EIO && !g, "missing file: EIO");
    f = fopen(path, "wb");
    fclose(f);
    CHECK(gguf_open(path, &g, &err) == WARD_EFORMAT, "empty file: %s", err.msg);
    unlink(path);
}

/* Fail allocation n = 1, 2, ... until the operation succeeds; each failure must be ENOMEM and
 * leak nothing (ASan's leak checker runs at exit). */
static void test_oom(void) {
    const char *model = shared_path("models/stories260K.gguf");
    if (!model) return;
    char path[256];
    snprintf(path, sizeof path, "%s", test_tmp_path("oom.gguf"));
    long n;
    ward_status s = WARD_ENOMEM;
    for (n = 1; n < 1000 && s != WARD_OK; n++) {
        gguf_file *g;
        ward_error err;
        ward_alloc_fail_after(n);
        s = gguf_open(model, &g, &err);
        ward_alloc_fail_after(0);
        CHECK(s == WARD_OK || (s == WARD_ENOMEM && !g), "open, allocation %ld fails: %s", n,
              ward_status_str(s));
        if (s == WARD_OK) gguf_close(g);
    }
    CHECK(s == WARD_OK && n > 3, "gguf_open succeeded after %ld failures", n - 1);
    s = WARD_ENOMEM;
    for (n = 1; n < 1000 && s != WARD_OK; n++) {
        ward_alloc_fail_after(n);
        s = write_round_trip(path, 64);
        ward_alloc_fail_after(0);
        CHECK(s == WARD_OK || (s == WARD_ENOMEM && access(path, F_OK) != 0),
              "write, allocation %ld fails: %s", n, ward_status_str(s));
    }
    CHECK(s == WARD_OK && n > 10, "writer succeeded after %ld failures", n - 1);
    unlink(path);
}

/* An abandoned write keeps the old file and leaves no "<path>.part"; a finished one replaces it. */
static void test_writer_replaces_atomically(void) {
    char path[256], part[300];
    snprintf(path, sizeof path, "%s", test_tmp_path("atomic.gguf"));
    snprintf(part, sizeof part, "%s.part", path);
    FILE *f = fopen(path, "wb");
    fputs("old", f);
    fclose(f);
    gguf_writer *w = NULL;
    ward_error err;
    CHECK(gguf_writer_open(path, &w, &err) == WARD_OK, "open over an existing file");
    gguf_writer_set_u32(w, "a", 1);
    gguf_writer_close(w); /* abandon */
    size_t n = 0;
    char *old = read_file(path, &n);
    CHECK(old && n == 3 && memcmp(old, "old", 3) == 0, "abandoned write keeps the old file");
    free(old);
    CHECK(access(part, F_OK) != 0, "abandoned write leaves no .part file");
    CHECK(gguf_writer_open(path, &w, &err) == WARD_OK, "open again");
    gguf_writer_set_u32(w, "a", 1);
    CHECK(gguf_writer_write_header(w) == WARD_OK && gguf_writer_finish(w, &err) == WARD_OK,
          "finish");
    gguf_file *g = NULL;
    CHECK(gguf_open(path, &g, &err) == WARD_OK && gguf_find(g, "a"), "finished file replaced it");
    gguf_close(g);
    CHECK(access(part, F_OK) != 0, "no .part file after finish");
    remove(path);
}

int main(void) {
    test_writer_replaces_atomically();
    test_real_files();
    test_stories_facts();
    test_q4_0_facts();
    test_round_trip(0);
    test_round_trip(64);
    test_writer_misuse();
    test_valid_hand_built();
    test_bad_hand_built();
    test_truncated_and_flipped();
    test_open_errors();
    test_oom();
    return test_summary();
}
