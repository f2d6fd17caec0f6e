/* test_safetensors.c: the safetensors reader (src/formats/safetensors.c) on real and damaged
 * checkpoints, and the HF -> GGUF name mapping and q/k permutation against llama.cpp's output.
 *
 * Sections: stories260K as HF checkpoint (F32 and BF16: names, shapes, dtypes from config.json);
 * the F32 checkpoint mapped tensor by tensor onto llama.cpp's own conversion of it
 * (stories260K.gguf): every byte equal once q/k rows are permuted; BF16 = F32 rounded to nearest
 * even; a sharded copy written here (two shards + index) reads the same; hand-built bad files
 * (one per check, each expecting a code and a phrase of the message), truncation at every byte,
 * bad indexes (paths, missing shard, duplicates across shards); out of memory at every
 * allocation. Blobs handed to st_parse are malloc'ed at their exact size so ASan sees overreads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "harness.h"

#define HF_F32 "models/hf/stories260K"
#define HF_BF16 "models/hf/stories260K-bf16"

static char *dup_path(const char *p) { return p ? strdup(p) : NULL; }

/* ---------------------------------------------------------------------------------------------
 * Real checkpoints: names, shapes and dtypes from config.json
 * ------------------------------------------------------------------------------------------- */

static bool shape_is(const st_tensor *t, int64_t d0, int64_t d1) {
    if (d1 == 0) return t->n_dims == 1 && t->shape[0] == d0;
    return t->n_dims == 2 && t->shape[0] == d0 && t->shape[1] == d1;
}

/* Every tensor a llama checkpoint of cfg must hold, with its shape; count must match too. */
static void check_llama_layout(const st_reader *r, const hf_config *c, st_dtype dtype,
                               const char *what) {
    int64_t q_rows = (int64_t)c->n_head * c->head_dim, kv_rows = (int64_t)c->n_head_kv * c->head_dim;
    struct {
        const char *name;
        int64_t d0, d1;
    } want[64];
    char names[64][96];
    int n = 0;
#define WANT(d0_, d1_, ...)                                            \
    do {                                                               \
        snprintf(names[n], sizeof names[n], __VA_ARGS__);              \
        want[n].name = names[n], want[n].d0 = d0_, want[n].d1 = d1_;   \
        n++;                                                           \
    } while (0)
    WANT(c->n_vocab, c->n_embd, "model.embed_tokens.weight");
    WANT(c->n_vocab, c->n_embd, "lm_head.weight");
    WANT(c->n_embd, 0, "model.norm.weight");
    for (int l = 0; l < c->n_layer; l++) {
        WANT(c->n_embd, 0, "model.layers.%d.input_layernorm.weight", l);
        WANT(c->n_embd, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        WANT(q_rows, c->n_embd, "model.layers.%d.self_attn.q_proj.weight", l);
        WANT(kv_rows, c->n_embd, "model.layers.%d.self_attn.k_proj.weight", l);
        WANT(kv_rows, c->n_embd, "model.layers.%d.self_attn.v_proj.weight", l);
        WANT(c->n_embd, q_rows, "model.layers.%d.self_attn.o_proj.weight", l);
        WANT(c->n_ff, c->n_embd, "model.layers.%d.mlp.gate_proj.weight", l);
        WANT(c->n_ff, c->n_embd, "model.layers.%d.mlp.up_proj.weight", l);
        WANT(c->n_embd, c->n_ff, "model.layers.%d.mlp.down_proj.weight", l);
    }
#undef WANT
    CHECK(r->n_tensors == (uint64_t)n, "%s: %" PRIu64 " tensors, want %d", what, r->n_tensors, n);
    for (int i = 0; i < n; i++) {
        const st_tensor *t = st_find(r, want[i].name);
        CHECK(t != NULL, "%s: %s missing", what, want[i].name);
        if (!t) continue;
        CHECK(t->dtype == dtype, "%s: %s dtype %s", what, t->name, st_dtype_name(t->dtype));
        CHECK(shape_is(t, want[i].d0, want[i].d1), "%s: %s shape [%" PRId64 ", %" PRId64 "]",
              what, t->name, t->shape[0], t->shape[1]);
        CHECK(t->nbytes == t->n_elems * st_dtype_size(dtype), "%s: %s nbytes", what, t->name);
    }
    /* name order, and st_tensor_at agrees with st_find */
    for (uint64_t i = 0; i < r->n_tensors; i++) {
        const st_tensor *t = st_tensor_at(r, i);
        CHECK(st_find(r, t->name) == t, "%s: st_find(%s)", what, t->name);
        if (i) CHECK(strcmp(st_tensor_at(r, i - 1)->name, t->name) < 0, "%s: order", what);
    }
    CHECK(st_find(r, "model.layers.5.mlp.up_proj.weight") == NULL, "%s: layer 5 found", what);
    CHECK(st_find(r, "") == NULL, "%s: empty name found", what);
}

static void test_real_checkpoints(void) {
    const char *dirs[] = {HF_F32, HF_BF16};
    const st_dtype dtypes[] = {ST_F32, ST_BF16};
    for (int k = 0; k < 2; k++) {
        char *dir = dup_path(shared_path(dirs[k]));
        if (!dir) continue;
        hf_config cfg;
        ward_error err;
        ward_status s = hf_config_load(dir, &cfg, &err);
        CHECK(s == WARD_OK, "%s: config: %s", dir, err.msg);
        st_reader *r = NULL;
        s = st_open(dir, &r, &err);
        CHECK(s == WARD_OK, "%s: %s", dir, err.msg);
        if (r && s == WARD_OK) {
            check_llama_layout(r, &cfg, dtypes[k], dir);
            CHECK(r->n_files == 1 && strcmp(r->files[0].name, "model.safetensors") == 0,
                  "%s: files", dir);
            const char *fmt = st_metadata(r, 0, "format");
            CHECK(fmt && strcmp(fmt, "pt") == 0, "%s: __metadata__ format", dir);
            CHECK(st_metadata(r, 0, "nope") == NULL && st_metadata(r, 1, "format") == NULL,
                  "%s: absent metadata", dir);
        }
        st_close(r);
        /* the file itself opens the same way */
        char path[4200];
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        s = st_open(path, &r, &err);
        CHECK(s == WARD_OK && r->n_tensors == 48, "%s: %s", path, err.msg);
        st_close(r);
        free(dir);
    }
    st_close(NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Against llama.cpp's conversion: names, shapes, permutation, bytes
 * ------------------------------------------------------------------------------------------- */

static void test_matches_gguf(void) {
    char *dir = dup_path(shared_path(HF_F32));
    char *gpath = dup_path(shared_path("models/stories260K.gguf"));
    if (!dir || !gpath) goto out;
    hf_config cfg;
    ward_error err;
    st_reader *r = NULL;
    gguf_file *g = NULL;
    CHECK(hf_config_load(dir, &cfg, &err) == WARD_OK, "config: %s", err.msg);
    CHECK(st_open(dir, &r, &err) == WARD_OK, "%s: %s", dir, err.msg);
    CHECK(gguf_open(gpath, &g, &err) == WARD_OK, "%s: %s", gpath, err.msg);
    const hf_arch *a = hf_arch_find(&cfg);
    CHECK(a && strcmp(a->gguf_arch, "llama") == 0, "arch row for %s", cfg.arch);
    if (!r || !g || !a) goto close;
    uint64_t mapped = 0, permuted = 0, differs_unpermuted = 0;
    for (uint64_t i = 0; i < r->n_tensors; i++) {
        const st_tensor *t = st_tensor_at(r, i);
        char gname[128];
        const hf_name_row *row;
        ward_status s = hf_map_name(a, t->name, cfg.n_layer, gname, sizeof gname, &row, &err);
        CHECK(s == WARD_OK && gname[0], "map %s: %s", t->name, err.msg);
        if (s != WARD_OK || !gname[0]) continue;
        const gguf_tensor *gt = gguf_find_tensor(g, gname);
        CHECK(gt != NULL, "%s -> %s: not in the GGUF", t->name, gname);
        if (!gt) continue;
        mapped++;
        /* HF shape (d0 outermost) is GGUF ne reversed */
        bool shape_ok = gt->n_dims == t->n_dims && gt->type == WARD_TYPE_F32;
        for (uint32_t d = 0; shape_ok && d < t->n_dims; d++)
            shape_ok = gt->ne[d] == t->shape[t->n_dims - 1 - d];
        CHECK(shape_ok && gt->nbytes == t->nbytes, "%s -> %s: shape or type differs", t->name,
              gname);
        if (!shape_ok || gt->nbytes != t->nbytes) continue;
        int64_t n_rows = t->shape[0], row_bytes = (int64_t)(t->nbytes / (uint64_t)n_rows);
        int32_t heads = hf_permute_heads(&cfg, row->permute);
        bool equal = true;
        if (row->permute == HF_PERM_NONE) {
            equal = memcmp(gt->data, t->data, t->nbytes) == 0;
        } else {
            permuted++;
            CHECK(hf_permute_check(n_rows, heads, &err) == WARD_OK, "%s: %s", t->name, err.msg);
            for (int64_t gr = 0; gr < n_rows && equal; gr++) {
                int64_t hr = hf_permute_row(gr, n_rows, heads);
                equal = memcmp((const char *)gt->data + gr * row_bytes,
                               (const char *)t->data + hr * row_bytes, (size_t)row_bytes) == 0;
            }
            differs_unpermuted += memcmp(gt->data, t->data, t->nbytes) != 0;
        }
        CHECK(equal, "%s -> %s: data differs", t->name, gname);
    }
    CHECK(mapped == g->n_tensors && mapped == r->n_tensors,
          "mapped %" PRIu64 " of %" PRIu64 " HF tensors onto %" PRIu64 " GGUF tensors", mapped,
          r->n_tensors, g->n_tensors);
    CHECK(permuted == 2u * (uint64_t)cfg.n_layer && differs_unpermuted == permuted,
          "permuted %" PRIu64 " tensors, %" PRIu64 " differ without the permutation", permuted,
          differs_unpermuted);
close:
    st_close(r);
    gguf_close(g);
out:
    free(dir);
    free(gpath);
}

/* Round to nearest even, as the BF16 checkpoint was made (an independent implementation). */
static uint16_t bf16_rne(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static void test_bf16_rounds_f32(void) {
    char *d32 = dup_path(shared_path(HF_F32)), *d16 = dup_path(shared_path(HF_BF16));
    st_reader *a = NULL, *b = NULL;
    ward_error err;
    if (!d32 || !d16) goto out;
    CHECK(st_open(d32, &a, &err) == WARD_OK, "%s", err.msg);
    CHECK(st_open(d16, &b, &err) == WARD_OK, "%s", err.msg);
    if (!a || !b) goto out;
    CHECK(a->n_tensors == b->n_tensors, "tensor counts differ");
    uint64_t n_elems = 0, n_inexact = 0;
    for (uint64_t i = 0; i < a->n_tensors; i++) {
        const st_tensor *t = st_tensor_at(a, i), *h = st_find(b, t->name);
        CHECK(h && h->n_elems == t->n_elems && h->n_dims == t->n_dims, "%s: BF16 twin", t->name);
        if (!h || h->n_elems != t->n_elems) continue;
        uint64_t bad = 0;
        for (uint64_t e = 0; e < t->n_elems; e++) {
            float f;
            uint32_t bits;
            uint16_t want, got;
            memcpy(&f, (const char *)t->data + 4 * e, 4);
            memcpy(&bits, &f, 4);
            memcpy(&got, (const char *)h->data + 2 * e, 2);
            want = bf16_rne(f);
            bad += got != want;
            n_inexact += (uint32_t)want << 16 != bits;
        }
        n_elems += t->n_elems;
        CHECK(bad == 0, "%s: %" PRIu64 " BF16 values are not F32 rounded to nearest even",
              t->name, bad);
    }
    CHECK(n_elems > 200000 && n_inexact > n_elems / 2, "%" PRIu64 " elements, %" PRIu64 " rounded",
          n_elems, n_inexact);
out:
    st_close(a);
    st_close(b);
    free(d32);
    free(d16);
}

/* ---------------------------------------------------------------------------------------------
 * Writing test files: a minimal writer independent of the reader
 * ------------------------------------------------------------------------------------------- */

/* Header JSON for n tensors laid out contiguously in the given order; malloc'ed. */
static char *header_json(const st_tensor *const *ts, size_t n, const char *extra) {
    size_t cap = 256 + n * 256, len = 0;
    char *j = malloc(cap);
    len += (size_t)snprintf(j + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}%s", extra);
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = ts[i];
        len += (size_t)snprintf(j + len, cap - len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t->name,
                                st_dtype_name(t->dtype));
        for (uint32_t d = 0; d < t->n_dims; d++)
            len += (size_t)snprintf(j + len, cap - len, "%s%" PRId64, d ? "," : "", t->shape[d]);
        len += (size_t)snprintf(j + len, cap - len, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}",
                                off, off + t->nbytes);
        off += t->nbytes;
    }
    snprintf(j + len, cap - len, "}");
    return j;
}

/* Write a .safetensors file of ts (header padded with spaces to a multiple of 8). */
static bool write_st(const char *path, const st_tensor *const *ts, size_t n) {
    char *j = header_json(ts, n, "");
    uint64_t hl = strlen(j);
    uint64_t padded = (hl + 7) / 8 * 8;
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL;
    if (ok) {
        ok = fwrite(&padded, 8, 1, f) == 1 && fwrite(j, 1, hl, f) == hl;
        for (uint64_t i = hl; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
        for (size_t i = 0; ok && i < n; i++)
            ok = ts[i]->nbytes == 0 || fwrite(ts[i]->data, 1, ts[i]->nbytes, f) == ts[i]->nbytes;
        ok = fclose(f) == 0 && ok;
    }
    free(j);
    return ok;
}

static bool write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* weight_map JSON: tensor i goes to shard names[shard_of[i]]. malloc'ed. */
static char *index_json(const st_reader *r, const char *const *names, const int *shard_of) {
    size_t cap = 256 + r->n_tensors * 256, len = 0;
    char *j = malloc(cap);
    len += (size_t)snprintf(j + len, cap - len, "{\"metadata\":{\"total_size\":1},\"weight_map\":{");
    for (uint64_t i = 0; i < r->n_tensors; i++)
        len += (size_t)snprintf(j + len, cap - len, "%s\"%s\":\"%s\"", i ? "," : "",
                                st_tensor_at(r, i)->name, names[shard_of[i]]);
    snprintf(j + len, cap - len, "}}\n");
    return j;
}

/* ---------------------------------------------------------------------------------------------
 * Sharded checkpoints
 * ------------------------------------------------------------------------------------------- */

typedef struct shard_dir {
    char dir[256], index[320], a[320], b[320];
} shard_dir;

/* Split orig into dir/a.safetensors (even tensors) and dir/b.safetensors (odd). */
static bool make_shards(const st_reader *orig, shard_dir *sd, int **shard_of_out) {
    snprintf(sd->dir, sizeof sd->dir, "%s", test_tmp_path("shards"));
    mkdir(sd->dir, 0700);
    snprintf(sd->index, sizeof sd->index, "%s/" ST_INDEX_NAME, sd->dir);
    snprintf(sd->a, sizeof sd->a, "%s/a.safetensors", sd->dir);
    snprintf(sd->b, sizeof sd->b, "%s/b.safetensors", sd->dir);
    size_t n = orig->n_tensors;
    const st_tensor **ta = calloc(n, sizeof *ta), **tb = calloc(n, sizeof *tb);
    int *shard_of = calloc(n, sizeof *shard_of);
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        shard_of[i] = (int)(i % 2);
        if (i % 2) tb[nb++] = st_tensor_at(orig, i);
        else ta[na++] = st_tensor_at(orig, i);
    }
    bool ok = write_st(sd->a, ta, na) && write_st(sd->b, tb, nb);
    const char *names[] = {"a.safetensors", "b.safetensors"};
    char *ij = index_json(orig, names, shard_of);
    ok = ok && write_text(sd->index, ij);
    free(ij);
    free(ta);
    free(tb);
    *shard_of_out = shard_of;
    return ok;
}

static void remove_shards(const shard_dir *sd) {
    unlink(sd->index);
    unlink(sd->a);
    unlink(sd->b);
    char p[320];
    snprintf(p, sizeof p, "%s/c.safetensors", sd->dir);
    unlink(p);
    rmdir(sd->dir);
}

static void check_same(const st_reader *x, const st_reader *y, const char *what) {
    CHECK(x->n_tensors == y->n_tensors, "%s: %" PRIu64 " vs %" PRIu64 " tensors", what,
          x->n_tensors, y->n_tensors);
    for (uint64_t i = 0; i < x->n_tensors; i++) {
        const st_tensor *t = st_tensor_at(x, i), *u = st_find(y, t->name);
        bool same = u && u->dtype == t->dtype && u->n_dims == t->n_dims &&
                    memcmp(u->shape, t->shape, sizeof t->shape) == 0 && u->nbytes == t->nbytes &&
                    memcmp(u->data, t->data, t->nbytes) == 0;
        CHECK(same, "%s: %s differs", what, t->name);
    }
}

/* Write index text to sd->index, open it and expect code with phrase in the message. */
static void expect_index(const shard_dir *sd, const char *text, ward_status code,
                         const char *phrase) {
    CHECK(write_text(sd->index, text), "write %s", sd->index);
    st_reader *r = (st_reader *)1;
    ward_error err = {0};
    ward_status s = st_open(sd->dir, &r, &err);
    CHECK(s == code && r == NULL && strstr(err.msg, phrase),
          "index %.60s...: got %s \"%s\", want %s \"%s\"", text, ward_status_str(s), err.msg,
          ward_status_str(code), phrase);
    if (s == WARD_OK) st_close(r);
}

static void test_sharded(void) {
    char *dir = dup_path(shared_path(HF_F32));
    if (!dir) return;
    st_reader *orig = NULL, *r = NULL;
    ward_error err;
    int *shard_of = NULL;
    shard_dir sd;
    CHECK(st_open(dir, &orig, &err) == WARD_OK, "%s", err.msg);
    if (!orig) goto out;
    CHECK(make_shards(orig, &sd, &shard_of), "writing shards in %s", sd.dir);
    /* the directory (no model.safetensors there) and the index itself */
    const char *paths[] = {sd.dir, sd.index};
    for (int k = 0; k < 2; k++) {
        ward_status s = st_open(paths[k], &r, &err);
        CHECK(s == WARD_OK, "%s: %s", paths[k], err.msg);
        if (s != WARD_OK) continue;
        CHECK(r->n_files == 2 && strcmp(r->files[0].name, "a.safetensors") == 0 &&
                  strcmp(r->files[1].name, "b.safetensors") == 0,
              "shard files");
        check_same(orig, r, paths[k]);
        for (uint64_t i = 0; i < r->n_tensors; i++)
            CHECK(st_tensor_at(r, i)->file == (uint32_t)shard_of[i], "%s: shard of tensor %" PRIu64,
                  paths[k], i);
        st_close(r);
        r = NULL;
    }

    /* OOM at every allocation of a sharded open */
    ward_status s = WARD_ENOMEM;
    long n;
    for (n = 1; n < 1000 && s != WARD_OK; n++) {
        ward_alloc_fail_after(n);
        s = st_open(sd.dir, &r, &err);
        ward_alloc_fail_after(0);
        CHECK(s == WARD_OK || (s == WARD_ENOMEM && r == NULL), "sharded open, allocation %ld: %s",
              n, err.msg);
        if (s == WARD_OK) st_close(r);
        r = NULL;
    }
    CHECK(s == WARD_OK && n > 8, "sharded open succeeded after %ld failures", n - 1);

    /* bad indexes */
    char *good = NULL;
    {
        const char *names[] = {"a.safetensors", "b.safetensors"};
        good = index_json(orig, names, shard_of);
    }
    const char *names_up[] = {"../a.safetensors", "b.safetensors"};
    const char *names_sub[] = {"a.safetensors", "sub/b.safetensors"};
    const char *names_bs[] = {"a.safetensors", "b\\\\x.safetensors"}; /* JSON "b\\x" */
    const char *names_missing[] = {"a.safetensors", "c.safetensors"};
    const char *names_swapped[] = {"b.safetensors", "a.safetensors"};
    struct {
        const char *const *names;
        ward_status code;
        const char *phrase;
    } bad_names[] = {
        {names_up, WARD_EFORMAT, "is not a plain file name"},
        {names_sub, WARD_EFORMAT, "is not a plain file name"},
        {names_bs, WARD_EFORMAT, "is not a plain file name"},
        {names_missing, WARD_EIO, "shard c.safetensors listed in"},
        {names_swapped, WARD_EFORMAT, "the weight_map says"},
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char *j = index_json(orig, bad_names[i].names, shard_of);
        expect_index(&sd, j, bad_names[i].code, bad_names[i].phrase);
        free(j);
    }
    expect_index(&sd, "{\"weight_map\":{}}", WARD_EFORMAT, "weight_map is empty");
    expect_index(&sd, "{\"weight_map\":[]}", WARD_EFORMAT, "weight_map: expected an object");
    expect_index(&sd, "{\"metadata\":{}}", WARD_EFORMAT, "weight_map: expected an object, found missing");
    expect_index(&sd, "{\"weight_map\":{\"x\":\"..\"}}", WARD_EFORMAT, "not a plain file name");
    expect_index(&sd, "{\"weight_map\":{\"x\":\"\"}}", WARD_EFORMAT, "not a plain file name");
    expect_index(&sd, "{\"weight_map\":{\"x\":3}}", WARD_EFORMAT, "expected a file name");
    expect_index(&sd, "{\"weight_map\":{\"lm_head.weight\":\"a.safetensors\",\"lm_head.weight\":"
                      "\"a.safetensors\"}}",
                 WARD_EFORMAT, "listed twice");
    expect_index(&sd, "{\"weight_map\":{\"lm_head.weight\":\"a.safetensors\"}", WARD_EFORMAT,
                 "malformed JSON");
    expect_index(&sd, "[1]", WARD_EFORMAT, "expected a JSON object");
    /* a tensor absent from the weight_map; one the weight_map places in a shard without it */
    {
        char *j = strdup(good);
        char *p = strstr(j, "\"lm_head.weight\":\"a.safetensors\",");
        CHECK(p != NULL, "index text");
        if (p) memmove(p, p + strlen("\"lm_head.weight\":\"a.safetensors\","),
                       strlen(p + strlen("\"lm_head.weight\":\"a.safetensors\",")) + 1);
        expect_index(&sd, j, WARD_EFORMAT, "lm_head.weight: not in the weight_map");
        free(j);
        size_t len = strlen(good);
        j = malloc(len + 64);
        snprintf(j, len + 64, "%.*s,\"extra.weight\":\"a.safetensors\"}}", (int)(len - 3), good);
        expect_index(&sd, j, WARD_EFORMAT, "extra.weight: not found in its shard a.safetensors");
        free(j);
    }
    /* a duplicate name across shards: c.safetensors holds a copy of a tensor of a */
    {
        char cpath[320];
        snprintf(cpath, sizeof cpath, "%s/c.safetensors", sd.dir);
        const st_tensor *t0 = st_tensor_at(orig, 0);
        CHECK(write_st(cpath, &t0, 1), "write %s", cpath);
        size_t len = strlen(good);
        char *j = malloc(len + 64);
        snprintf(j, len + 64, "%.*s,\"zz\":\"c.safetensors\"}}", (int)(len - 3), good);
        expect_index(&sd, j, WARD_EFORMAT, "in both");
        free(j);
    }
    /* a damaged shard: the message names the shard file */
    {
        CHECK(write_text(sd.index, good), "restore index");
        FILE *f = fopen(sd.b, "r+b");
        if (f) {
            uint64_t huge = 1ull << 40;
            fwrite(&huge, 8, 1, f);
            fclose(f);
        }
        ward_error e2 = {0};
        ward_status s2 = st_open(sd.dir, &r, &e2);
        CHECK(s2 == WARD_EFORMAT && strstr(e2.msg, "b.safetensors: header length"),
              "damaged shard: %s", e2.msg);
        st_close(r);
        r = NULL;
    }
    free(good);
    remove_shards(&sd);
out:
    free(shard_of);
    st_close(orig);
    free(dir);
}

/* ---------------------------------------------------------------------------------------------
 * Hand-built bad files
 * ------------------------------------------------------------------------------------------- */

/* A blob: u64 header length (hl, or strlen(json) when hl == UINT64_MAX), the JSON, data_size
 * bytes of data. Malloc'ed at its exact size. */
static uint8_t *make_blob(const char *json, size_t json_len, uint64_t hl, size_t data_size,
                          size_t *size) {
    *size = 8 + json_len + data_size;
    uint8_t *b = malloc(*size);
    if (hl == UINT64_MAX) hl = json_len;
    memcpy(b, &hl, 8);
    memcpy(b + 8, json, json_len);
    for (size_t i = 0; i < data_size; i++) b[8 + json_len + i] = (uint8_t)(i * 7 + 1);
    return b;
}

static ward_status parse_text(const char *json, uint64_t hl, size_t data_size, ward_error *err) {
    size_t size;
    uint8_t *b = make_blob(json, strlen(json), hl, data_size, &size);
    st_reader *r = (st_reader *)1;
    ward_status s = st_parse(b, size, "t.safetensors", &r, err);
    CHECK((s == WARD_OK) == (r != NULL), "st_parse result and *out disagree");
    if (r) {
        /* touch every tensor's bytes: ASan reports a range outside the blob */
        volatile unsigned sum = 0;
        for (uint64_t i = 0; i < r->n_tensors; i++) {
            const st_tensor *t = st_tensor_at(r, i);
            for (uint64_t k = 0; k < t->nbytes; k++) sum += ((const uint8_t *)t->data)[k];
        }
        (void)sum;
    }
    st_close(r);
    free(b);
    return s;
}

static void expect_bad(const char *json, uint64_t hl, size_t data_size, ward_status code,
                       const char *phrase) {
    ward_error err = {0};
    ward_status s = parse_text(json, hl, data_size, &err);
    CHECK(s == code && strstr(err.msg, phrase) && strstr(err.msg, "t.safetensors"),
          "%.70s: got %s \"%s\", want %s \"%s\"", json, ward_status_str(s), err.msg,
          ward_status_str(code), phrase);
}

#define ANY UINT64_MAX /* header length = the JSON's length */
#define T(name, dtype, shape, b, e) \
    "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

/* A valid file with every feature: F32 matrix, BF16 scalar, empty tensor, U8, metadata. */
static const char valid_json[] =
    "{" T("a", "F32", "[2,3]", 0, 24) ",\"__metadata__\":{\"k\":\"v\"}," T("b", "BF16", "[]", 24, 26)
    "," T("e", "F16", "[0,4]", 26, 26) "," T("u", "U8", "[3]", 26, 29) "}  ";
#define VALID_DATA 29

static void test_valid_hand_built(void) {
    size_t size;
    uint8_t *b = make_blob(valid_json, strlen(valid_json), ANY, VALID_DATA, &size);
    st_reader *r = NULL;
    ward_error err;
    ward_status s = st_parse(b, size, "t.safetensors", &r, &err);
    CHECK(s == WARD_OK, "valid file: %s", err.msg);
    if (s == WARD_OK) {
        const st_tensor *a = st_find(r, "a"), *sc = st_find(r, "b"), *e = st_find(r, "e"),
                        *u = st_find(r, "u");
        const uint8_t *data = b + 8 + strlen(valid_json);
        CHECK(r->n_tensors == 4 && a && sc && e && u, "4 tensors");
        if (a && sc && e && u) {
            CHECK(a->dtype == ST_F32 && shape_is(a, 2, 3) && a->n_elems == 6 && a->nbytes == 24 &&
                      a->data == data,
                  "a");
            CHECK(sc->dtype == ST_BF16 && sc->n_dims == 0 && sc->n_elems == 1 &&
                      sc->nbytes == 2 && sc->data == data + 24,
                  "scalar b");
            CHECK(e->n_dims == 2 && e->n_elems == 0 && e->nbytes == 0 && e->offset == 26,
                  "empty e");
            CHECK(u->dtype == ST_U8 && !st_dtype_supported(u->dtype) && u->data == data + 26,
                  "u8 u");
        }
        const char *v = st_metadata(r, 0, "k");
        CHECK(v && strcmp(v, "v") == 0, "metadata k");
    }
    st_close(r);
    free(b);
    /* no tensors at all */
    CHECK(parse_text("{}", ANY, 0, &err) == WARD_OK, "{}: %s", err.msg);
    CHECK(parse_text("{\"__metadata__\":{}}", ANY, 0, &err) == WARD_OK, "metadata only");
    /* the dtype table */
    ward_type wt;
    CHECK(st_dtype_supported(ST_F32) && st_dtype_supported(ST_F16) &&
              st_dtype_supported(ST_BF16) && !st_dtype_supported(ST_I64) &&
              !st_dtype_supported(ST_F64) && !st_dtype_supported(ST_DTYPE_COUNT),
          "supported dtypes");
    CHECK(st_dtype_ward_type(ST_BF16, &wt) && wt == WARD_TYPE_BF16 &&
              st_dtype_ward_type(ST_I64, &wt) && wt == WARD_TYPE_I64 &&
              !st_dtype_ward_type(ST_U8, &wt),
          "ward types");
    for (int t = 0; t < ST_DTYPE_COUNT; t++)
        CHECK(st_dtype_size((st_dtype)t) >= 1 && strcmp(st_dtype_name((st_dtype)t), "unknown"),
              "dtype %d row", t);
}

static void test_bad_hand_built(void) {
    /* header length */
    expect_bad("{}", 0, 0, WARD_EFORMAT, "cannot hold a JSON object");
    expect_bad("{}", 3, 0, WARD_EFORMAT, "past the end of the file");
    expect_bad("{}", 1ull << 40, 0, WARD_EFORMAT, "exceeds the cap");
    expect_bad("{}", ST_MAX_HEADER + 1, 0, WARD_EFORMAT, "exceeds the cap");
    expect_bad("{}", UINT64_MAX - 1, 0, WARD_EFORMAT, "exceeds the cap");
    {
        ward_error err = {0};
        st_reader *r = (st_reader *)1;
        uint8_t *b = malloc(5);
        memset(b, 0, 5);
        CHECK(st_parse(b, 5, "t.safetensors", &r, &err) == WARD_EFORMAT && !r &&
                  strstr(err.msg, "truncated"),
              "5-byte file: %s", err.msg);
        CHECK(st_parse(NULL, 0, "t.safetensors", &r, &err) == WARD_EFORMAT, "empty file");
        free(b);
    }
    /* JSON and UTF-8 */
    expect_bad("{\"a\":", ANY, 0, WARD_EFORMAT, "header: malformed JSON at byte");
    expect_bad("[1, 2]", ANY, 0, WARD_EFORMAT, "expected a JSON object, found an array");
    expect_bad("{} x", ANY, 0, WARD_EFORMAT, "data after the JSON value");
    expect_bad("{\"\xff\":1}", ANY, 0, WARD_EFORMAT, "invalid UTF-8 at byte 10");
    expect_bad("{\"\xc0\x80\":1}", ANY, 0, WARD_EFORMAT, "invalid UTF-8");     /* overlong */
    expect_bad("{\"\xed\xa0\x80\":1}", ANY, 0, WARD_EFORMAT, "invalid UTF-8"); /* surrogate */
    expect_bad("{\"\xe2\x82\":1}", ANY, 0, WARD_EFORMAT, "invalid UTF-8");     /* cut short */
    /* tensor info members */
    expect_bad("{\"a\":1}", ANY, 0, WARD_EFORMAT, "tensor a: expected an object, found a number");
    expect_bad("{\"\":{}}", ANY, 0, WARD_EFORMAT, "empty tensor name");
    expect_bad("{\"a\":{\"shape\":[],\"data_offsets\":[0,4]}}", ANY, 4, WARD_EFORMAT,
               "tensor a: dtype: missing");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", ANY, 4, WARD_EFORMAT,
               "shape: missing");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", ANY, 4, WARD_EFORMAT,
               "data_offsets: missing");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}",
               ANY, 4, WARD_EFORMAT, "dtype: given twice");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":1}}", ANY, 4,
               WARD_EFORMAT, "unexpected key \"x\"");
    expect_bad("{" T("a", "Q4_0", "[32]", 0, 18) "}", ANY, 18, WARD_EFORMAT,
               "tensor a: unknown dtype \"Q4_0\"");
    expect_bad("{" T("a", "f32", "[1]", 0, 4) "}", ANY, 4, WARD_EFORMAT, "unknown dtype");
    expect_bad("{" T("a", "F4", "[2]", 0, 1) "}", ANY, 1, WARD_EUNSUPPORTED, "sub-byte");
    expect_bad("{\"a\":{\"dtype\":5,\"shape\":[],\"data_offsets\":[0,4]}}", ANY, 4, WARD_EFORMAT,
               "dtype: expected a string, found a number");
    /* shapes */
    expect_bad("{" T("a", "F32", "[-1]", 0, 4) "}", ANY, 4, WARD_EFORMAT, "shape[0]: -1 is negative");
    expect_bad("{" T("a", "F32", "[2.5]", 0, 10) "}", ANY, 10, WARD_EFORMAT, "not an integer");
    expect_bad("{" T("a", "F32", "[\"2\"]", 0, 8) "}", ANY, 8, WARD_EFORMAT,
               "shape[0]: expected an integer, found a string");
    expect_bad("{" T("a", "F32", "{}", 0, 8) "}", ANY, 8, WARD_EFORMAT, "shape: expected an array");
    expect_bad("{" T("a", "F32", "[1e300]", 0, 8) "}", ANY, 8, WARD_EFORMAT, "shape[0]");
    expect_bad("{" T("a", "F32", "[9007199254740993]", 0, 8) "}", ANY, 8, WARD_EFORMAT, "shape[0]");
    expect_bad("{" T("a", "F32", "[4194304,4194304,4194304]", 0, 8) "}", ANY, 8, WARD_EFORMAT,
               "element count overflows at shape[2]");
    expect_bad("{" T("a", "F64", "[2147483648,2147483648]", 0, 8) "}", ANY, 8, WARD_EFORMAT,
               "byte size overflows");
    expect_bad("{" T("a", "U8", "[1,1,1,1,1,1,1,1,1]", 0, 1) "}", ANY, 1, WARD_EUNSUPPORTED,
               "more than 8 dimensions");
    /* offsets */
    expect_bad("{" T("a", "F32", "[2]", 0, 4) "}", ANY, 4, WARD_EFORMAT,
               "hold 4 bytes, but F32 shape needs 8");
    expect_bad("{" T("a", "F32", "[2]", 0, 8) "}", ANY, 4, WARD_EFORMAT,
               "tensor a: data_offsets [0, 8) past the end of the data section (4 bytes)");
    expect_bad("{" T("a", "F32", "[0]", 8, 4) "}", ANY, 8, WARD_EFORMAT, "end before begin");
    expect_bad("{" T("a", "F32", "[1]", 18446744073709551612, 18446744073709551616) "}", ANY, 4,
               WARD_EFORMAT, "data_offsets[0]");
    expect_bad("{" T("a", "F32", "[1]", -4, 0) "}", ANY, 4, WARD_EFORMAT, "data_offsets[0]: -4 is negative");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", ANY, 4,
               WARD_EFORMAT, "expected [begin, end]");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", ANY, 8,
               WARD_EFORMAT, "expected [begin, end]");
    /* tiling */
    expect_bad("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 4, 12) "}", ANY, 12,
               WARD_EFORMAT, "tensors a and b overlap");
    expect_bad("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 0, 8) "}", ANY, 8,
               WARD_EFORMAT, "overlap");
    expect_bad("{" T("a", "F32", "[1]", 0, 4) "," T("b", "F32", "[1]", 8, 12) "}", ANY, 12,
               WARD_EFORMAT, "bytes [4, 8) of the data section belong to no tensor (before b)");
    expect_bad("{" T("a", "F32", "[1]", 0, 4) "}", ANY, 6, WARD_EFORMAT,
               "bytes [4, 6) at the end of the data section belong to no tensor");
    expect_bad("{}", ANY, 3, WARD_EFORMAT, "no tensors, but the data section holds 3 bytes");
    /* names and metadata */
    expect_bad("{" T("a", "F32", "[1]", 0, 4) "," T("a", "F32", "[1]", 4, 8) "}", ANY, 8,
               WARD_EFORMAT, "tensor a: duplicate name");
    expect_bad("{\"__metadata__\":{\"k\":1}}", ANY, 0, WARD_EFORMAT,
               "__metadata__: k: expected a string");
    expect_bad("{\"__metadata__\":[]}", ANY, 0, WARD_EFORMAT, "__metadata__: expected an object");
    expect_bad("{\"__metadata__\":{},\"__metadata__\":{}}", ANY, 0, WARD_EFORMAT, "given twice");
    /* deep nesting: cJSON's limit, not the stack */
    char deep[4200];
    size_t k = 0;
    deep[k++] = '{';
    memcpy(deep + k, "\"a\":", 4), k += 4;
    for (int i = 0; i < 2000; i++) deep[k++] = '[';
    deep[k] = '\0';
    expect_bad(deep, ANY, 0, WARD_EFORMAT, "malformed JSON");
    /* opening what is not there */
    st_reader *r = (st_reader *)1;
    ward_error err;
    CHECK(st_open("/nonexistent/x.safetensors", &r, &err) == WARD_EIO && !r &&
              strstr(err.msg, "/nonexistent/x.safetensors"),
          "missing file: %s", err.msg);
    CHECK(st_open("/", &r, &err) == WARD_EIO && !r && strstr(err.msg, "neither"),
          "directory without a checkpoint: %s", err.msg);
}

/* Every truncation of the valid blob, and every cut of its JSON with a matching length, fails
 * cleanly; so does every single-byte change of the header length. */
static void test_truncated(void) {
    size_t jl = strlen(valid_json), size;
    uint8_t *full = make_blob(valid_json, jl, ANY, VALID_DATA, &size);
    int bad = 0;
    for (size_t cut = 0; cut < size; cut++) {
        uint8_t *b = malloc(cut ? cut : 1);
        memcpy(b, full, cut);
        st_reader *r = NULL;
        ward_error err = {0};
        ward_status s = st_parse(cut ? b : NULL, cut, "t.safetensors", &r, &err);
        bad += s != WARD_EFORMAT || r != NULL || !err.msg[0];
        st_close(r);
        free(b);
    }
    CHECK(bad == 0, "%d truncated files were not refused as bad format", bad);
    bad = 0;
    for (size_t cut = 0; cut < jl - 2; cut++) { /* the last 2 bytes are padding */
        ward_error err = {0};
        char *j = strndup(valid_json, cut);
        bad += parse_text(j, ANY, VALID_DATA, &err) != WARD_EFORMAT;
        free(j);
    }
    CHECK(bad == 0, "%d cut JSON headers were not refused", bad);
    bad = 0;
    for (int byte = 0; byte < 8; byte++)
        for (int v = 0; v < 256; v++) {
            uint8_t *b = malloc(size);
            memcpy(b, full, size);
            if (b[byte] == v) {
                free(b);
                continue;
            }
            b[byte] = (uint8_t)v;
            st_reader *r = NULL;
            ward_status s = st_parse(b, size, "t.safetensors", &r, NULL);
            bad += s == WARD_OK;
            st_close(r);
            free(b);
        }
    CHECK(bad == 0, "%d changed header lengths were accepted", bad);
    free(full);
}

/* ---------------------------------------------------------------------------------------------
 * Out of memory
 * ------------------------------------------------------------------------------------------- */

static void test_oom(void) {
    char *dir = dup_path(shared_path(HF_F32));
    if (!dir) return;
    ward_status s = WARD_ENOMEM;
    long n;
    for (n = 1; n < 1000 && s != WARD_OK; n++) {
        st_reader *r = (st_reader *)1;
        ward_error err;
        ward_alloc_fail_after(n);
        s = st_open(dir, &r, &err);
        ward_alloc_fail_after(0);
        CHECK(s == WARD_OK || (s == WARD_ENOMEM && r == NULL), "open, allocation %ld: %s", n,
              err.msg);
        if (s == WARD_OK) st_close(r);
    }
    CHECK(s == WARD_OK && n > 4, "st_open succeeded after %ld failures", n - 1);
    s = WARD_ENOMEM;
    size_t size;
    uint8_t *b = make_blob(valid_json, strlen(valid_json), ANY, VALID_DATA, &size);
    for (n = 1; n < 1000 && s != WARD_OK; n++) {
        st_reader *r = NULL;
        ward_alloc_fail_after(n);
        s = st_parse(b, size, "t", &r, NULL);
        ward_alloc_fail_after(0);
        CHECK(s == WARD_OK || (s == WARD_ENOMEM && r == NULL), "parse, allocation %ld", n);
        st_close(r);
    }
    CHECK(s == WARD_OK && n > 4, "st_parse succeeded after %ld failures", n - 1);
    free(b);
    free(dir);
}

int main(void) {
    test_real_checkpoints();
    test_matches_gguf();
    test_bf16_rounds_f32();
    test_sharded();
    test_valid_hand_built();
    test_bad_hand_built();
    test_truncated();
    test_oom();
    return test_summary();
}
