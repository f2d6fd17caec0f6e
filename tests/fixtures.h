/* fixtures.h: reading chatglm.cpp's reference fixture files (../shared/fixtures/chatglm), for any
 * test that runs them (header-only: each test is one .c file).
 *
 * Layout (../shared/fixtures/chatglm/README.md has the full story): no header; little-endian
 * arrays concatenated with no padding: an optional float16 p-tuning prefix, then float32 arrays
 * in PyTorch order (a linear weight is [out, in] row-major, y = x·Wᵀ + b), then, for model
 * files, the 660-byte I/O tail:
 *   offset 0    x1 int32 [3]      the prompt 0, 1, 2
 *   offset 12   y1 f32 [3][32]    final normed hidden state after each prompt token
 *   offset 396  x2 int32 [1]      3, the first decode step (n_past 3)
 *   offset 400  y2 f32 [32]
 *   offset 528  x3 int32 [1]      4, the second decode step (n_past 4)
 *   offset 532  y3 f32 [32]
 *
 * Each file has a const fx_spec below: its exact size, configuration and arrays in file order
 * (names as the README gives them). fx_load() reads it, checks that the file has exactly that
 * size and that the spec adds up to it, and sets one pointer per array; fx_get() finds an array
 * by name and checks its shape. A missing or mis-sized file records a failure naming it (tests
 * must fail loudly, never skip). fx_compare() applies the README's element rule
 * (|ref - out| < atol + rtol·|out|, every value finite) and reports the largest |error|.
 * Arrays are views into the loaded buffer (valid until fx_free()); the buffer comes from
 * malloc, every float offset is a multiple of 4, so the float views are aligned.
 */
#ifndef WARD_TESTS_FIXTURES_H
#define WARD_TESTS_FIXTURES_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/fp16.h"

#define FX_DIR "fixtures/chatglm/"
#define FX_TAIL_BYTES 660
#define FX_PROMPT 3  /* prompt tokens in the I/O tail */
#define FX_HIDDEN 32 /* hidden size of every model fixture (= the length of each y row) */
#define FX_MAX_ARRAYS 16

/* ---------------------------------------------------------------------------------------------
 * File specifications
 * ------------------------------------------------------------------------------------------- */

/* One array of a file: rows x cols floats, row-major; a vector is rows = 1, cols = n (so cols is
 * a linear weight's input size, GGUF's ne[0], and rows its output size). */
typedef struct fx_array {
    const char *name;
    int64_t rows, cols;
} fx_array;

typedef struct fx_spec {
    const char *file;     /* under fixtures/chatglm/ */
    size_t size;          /* exact file size in bytes */
    size_t prefix_bytes;  /* float16 p-tuning prefix before the arrays (0 if none) */
    bool io_tail;         /* ends with the 660-byte I/O tail (model files) */
    /* model configuration (0 for operator files) */
    int32_t n_vocab, n_embd, n_head, n_head_kv, n_ff, n_virtual;
    float norm_eps;
    fx_array arrays[FX_MAX_ARRAYS]; /* in file order, ended by a NULL name */
} fx_spec;

#define FX_VEC(name, n) {name, 1, n}

/* ChatGLM-6B (v1): LayerNorm, GELU, interleaved per-head q|k|v, 2-D rotary. */
#define FX_GLM1_ARRAYS                                                                          \
    {{"word_embeddings", 5, 32}, FX_VEC("input_layernorm.weight", 32),                          \
     FX_VEC("input_layernorm.bias", 32), {"query_key_value.weight", 96, 32},                    \
     FX_VEC("query_key_value.bias", 96), {"dense.weight", 32, 32}, FX_VEC("dense.bias", 32),    \
     FX_VEC("post_attention_layernorm.weight", 32), FX_VEC("post_attention_layernorm.bias", 32), \
     {"dense_h_to_4h.weight", 128, 32}, FX_VEC("dense_h_to_4h.bias", 128),                      \
     {"dense_4h_to_h.weight", 32, 128}, FX_VEC("dense_4h_to_h.bias", 32),                       \
     FX_VEC("final_layernorm.weight", 32), FX_VEC("final_layernorm.bias", 32), {NULL, 0, 0}}

/* ChatGLM2/3, GLM-4: RMSNorm, q|k|v with bias (2 KV heads), gate_proj and up_proj are the two
 * halves of dense_h_to_4h (gate first). */
#define FX_GLM2_ARRAYS                                                                          \
    {{"word_embeddings", 5, 32}, FX_VEC("input_layernorm.weight", 32),                          \
     {"query_key_value.weight", 48, 32}, FX_VEC("query_key_value.bias", 48),                    \
     {"dense.weight", 32, 32}, FX_VEC("post_attention_layernorm.weight", 32),                   \
     {"gate_proj", 48, 32}, {"up_proj", 48, 32}, {"down_proj", 32, 48},                         \
     FX_VEC("final_layernorm.weight", 32), {NULL, 0, 0}}

/* Baichuan-7B / 13B: W_pack = q | k | v rows in HF layout; MLP order gate, down, up. */
#define FX_BAICHUAN_ARRAYS                                                                      \
    {{"embed_tokens", 5, 32}, FX_VEC("input_layernorm", 32), {"W_pack", 96, 32},                \
     {"o_proj", 32, 32}, FX_VEC("post_attention_layernorm", 32), {"gate_proj", 96, 32},         \
     {"down_proj", 32, 96}, {"up_proj", 96, 32}, FX_VEC("norm", 32), {NULL, 0, 0}}

#define FX_MODEL(file_, size_, prefix_, kv_, ff_, virt_, eps_, arrays_)                         \
    {.file = file_, .size = size_, .prefix_bytes = prefix_, .io_tail = true, .n_vocab = 5,      \
     .n_embd = 32, .n_head = 8, .n_head_kv = kv_, .n_ff = ff_, .n_virtual = virt_,              \
     .norm_eps = eps_, .arrays = arrays_}

static const fx_spec fx_glm = FX_MODEL("glm_model.data", 52372, 0, 8, 128, 0, 1e-5f,
                                       FX_GLM1_ARRAYS);
/* prefix: float16 [2·layers, kv_heads, 5, head_dim] = [2, 8, 5, 4] */
static const fx_spec fx_glm_ptuning = FX_MODEL("glm_ptuning_v2_model.data", 53012, 640, 8, 128,
                                               5, 1e-5f, FX_GLM1_ARRAYS);
static const fx_spec fx_glm2 = FX_MODEL("glm2_model.data", 30548, 0, 2, 48, 0, 1e-5f,
                                        FX_GLM2_ARRAYS);
static const fx_spec fx_glm3 = FX_MODEL("glm3_model.data", 30548, 0, 2, 48, 0, 1e-5f,
                                        FX_GLM2_ARRAYS);
/* prefix: float16 [2, 2, 5, 4] = [2·layers, kv_heads, virtual, head_dim] */
static const fx_spec fx_glm3_ptuning = FX_MODEL("glm3_ptuning_v2_model.data", 30708, 160, 2, 48,
                                                5, 1e-5f, FX_GLM2_ARRAYS);
static const fx_spec fx_glm4 = FX_MODEL("glm4_model.data", 30548, 0, 2, 48, 0, 1.5625e-7f,
                                        FX_GLM2_ARRAYS);
static const fx_spec fx_baichuan7b = FX_MODEL("baichuan7b_model.data", 54932, 0, 8, 96, 0, 1e-6f,
                                              FX_BAICHUAN_ARRAYS);
static const fx_spec fx_baichuan13b = FX_MODEL("baichuan13b_model.data", 54932, 0, 8, 96, 0,
                                               1e-6f, FX_BAICHUAN_ARRAYS);
/* InternLM v1: qkv = q_proj | k_proj | v_proj rows (HF layout) with bias; MLP gate, up, down. */
#define FX_INTERNLM_ARRAYS                                                                      \
    {{"embed_tokens", 5, 32}, FX_VEC("input_layernorm", 32), {"qkv", 96, 32},                   \
     FX_VEC("qkv.bias", 96), {"o_proj", 32, 32}, FX_VEC("o_proj.bias", 32),                     \
     FX_VEC("post_attention_layernorm", 32), {"gate_proj", 96, 32}, {"up_proj", 96, 32},        \
     {"down_proj", 32, 96}, FX_VEC("norm", 32), {NULL, 0, 0}}
static const fx_spec fx_internlm = FX_MODEL("internlm_model.data", 55444, 0, 8, 96, 0, 1e-6f,
                                            FX_INTERNLM_ARRAYS);

/* Operator files: no I/O tail. */
static const fx_spec fx_linear = {
    .file = "linear.data", .size = 9472,
    .arrays = {{"W", 32, 64}, FX_VEC("b", 32), {"X", 2, 64}, {"Y", 2, 32}, FX_VEC("x", 64),
               FX_VEC("y", 32), {NULL, 0, 0}}};
static const fx_spec fx_layer_norm = {
    .file = "layer_norm.data", .size = 2048,
    .arrays = {FX_VEC("w", 64), FX_VEC("b", 64), {"X", 3, 64}, {"Y", 3, 64}, {NULL, 0, 0}}};
static const fx_spec fx_rms_norm = {
    .file = "rms_norm.data", .size = 1792,
    .arrays = {FX_VEC("w", 64), {"X", 3, 64}, {"Y", 3, 64}, {NULL, 0, 0}}};

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */

/* The I/O tail, copied out of the file. */
typedef struct fx_io {
    int32_t x1[FX_PROMPT];
    float y1[FX_PROMPT][FX_HIDDEN];
    int32_t x2;
    float y2[FX_HIDDEN];
    int32_t x3;
    float y3[FX_HIDDEN];
} fx_io;

typedef struct fx_data {
    const fx_spec *spec;
    unsigned char *buf; /* the whole file (malloc) */
    size_t size;
    const uint16_t *prefix;               /* (prefix_bytes / 2) float16, or NULL */
    const float *arrays[FX_MAX_ARRAYS];   /* one view per spec array */
    fx_io io;                             /* model files only */
} fx_data;

/* Layer 0's p-tuning prefix (float16 [2·layers, kv_heads, virtual, head_dim]: keys at index
 * 0, values at 1) as a (virtual, kv_heads·head_dim) float matrix, the layout of ward's
 * blk.N.prefix_k / prefix_v. kind 0 = keys, 1 = values. malloc'ed; NULL without a prefix. */
static inline float *fx_prefix_rows(const struct fx_data *d, int kind);

static inline void fx_free(fx_data *d) {
    free(d->buf);
    memset(d, 0, sizeof *d);
}

/* Floats in the spec's arrays. */
static inline int64_t fx_spec_floats(const fx_spec *s) {
    int64_t n = 0;
    for (const fx_array *a = s->arrays; a->name; a++) n += a->rows * a->cols;
    return n;
}

/* Read spec's file. Returns false, with a failure recorded that names the file, when it is
 * missing, of another size than the spec's, or its I/O tail does not hold the prompt 0, 1, 2
 * and the steps 3 and 4. */
static inline bool fx_load(const fx_spec *spec, fx_data *d) {
    memset(d, 0, sizeof *d);
    d->spec = spec;
    const size_t want = spec->prefix_bytes + (size_t)fx_spec_floats(spec) * sizeof(float) +
                        (spec->io_tail ? FX_TAIL_BYTES : 0);
    CHECK(want == spec->size, "%s: the spec adds up to %zu bytes, not %zu", spec->file, want,
          spec->size);
    if (want != spec->size) return false;
    char rel[256];
    snprintf(rel, sizeof rel, FX_DIR "%s", spec->file);
    const char *path = shared_path(rel); /* records the failure if missing */
    if (!path) return false;
    if (!(d->buf = read_file(path, &d->size))) return false;
    if (d->size != spec->size) {
        CHECK(false, "%s: %zu bytes, expected %zu", path, d->size, spec->size);
        fx_free(d);
        return false;
    }
    size_t off = 0;
    if (spec->prefix_bytes) d->prefix = (const uint16_t *)(const void *)d->buf;
    off += spec->prefix_bytes;
    for (int i = 0; spec->arrays[i].name; i++) {
        d->arrays[i] = (const float *)(const void *)(d->buf + off);
        off += (size_t)(spec->arrays[i].rows * spec->arrays[i].cols) * sizeof(float);
    }
    if (!spec->io_tail) return true;
    const unsigned char *t = d->buf + off;
    memcpy(d->io.x1, t + 0, sizeof d->io.x1);
    memcpy(d->io.y1, t + 12, sizeof d->io.y1);
    memcpy(&d->io.x2, t + 396, sizeof d->io.x2);
    memcpy(d->io.y2, t + 400, sizeof d->io.y2);
    memcpy(&d->io.x3, t + 528, sizeof d->io.x3);
    memcpy(d->io.y3, t + 532, sizeof d->io.y3);
    const bool io_ok = d->io.x1[0] == 0 && d->io.x1[1] == 1 && d->io.x1[2] == 2 &&
                       d->io.x2 == 3 && d->io.x3 == 4;
    CHECK(io_ok, "%s: I/O tail inputs are %d %d %d, %d, %d (expected 0 1 2, 3, 4)", path,
          d->io.x1[0], d->io.x1[1], d->io.x1[2], d->io.x2, d->io.x3);
    if (!io_ok) fx_free(d);
    return io_ok;
}

/* The array called name, which must have rows x cols floats; NULL and a failure otherwise. */
static inline const float *fx_get(const fx_data *d, const char *name, int64_t rows,
                                  int64_t cols) {
    for (int i = 0; d->spec->arrays[i].name; i++) {
        const fx_array *a = &d->spec->arrays[i];
        if (strcmp(a->name, name) != 0) continue;
        CHECK(a->rows == rows && a->cols == cols, "%s: %s is [%lld, %lld], not [%lld, %lld]",
              d->spec->file, name, (long long)a->rows, (long long)a->cols, (long long)rows,
              (long long)cols);
        return a->rows == rows && a->cols == cols ? d->arrays[i] : NULL;
    }
    CHECK(false, "%s: no array %s", d->spec->file, name);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Comparing
 * ------------------------------------------------------------------------------------------- */

/* Elements of out (n) that fail the README's rule against ref: non-finite, or
 * |ref - out| >= atol + rtol·|out|. *max_err (if non-NULL) is raised to the largest |ref - out|
 * (infinity for a non-finite out). */
static inline int64_t fx_compare(const float *ref, const float *out, int64_t n, double atol,
                                 double rtol, double *max_err) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const double e = isfinite(out[i]) ? fabs((double)ref[i] - (double)out[i]) : INFINITY;
        if (max_err && !(e <= *max_err)) *max_err = e;
        if (!(e < atol + rtol * fabs((double)out[i]))) bad++;
    }
    return bad;
}

static inline float *fx_prefix_rows(const fx_data *d, int kind) {
    const fx_spec *s = d->spec;
    if (!d->prefix) return NULL;
    const int32_t kvh = s->n_head_kv, hd = s->n_embd / s->n_head, nv = s->n_virtual;
    float *out = malloc((size_t)nv * kvh * hd * sizeof *out);
    for (int32_t h = 0; out && h < kvh; h++)
        for (int32_t t = 0; t < nv; t++)
            for (int32_t i = 0; i < hd; i++)
                out[(size_t)t * kvh * hd + h * hd + i] =
                    fp16_to_fp32(d->prefix[(((size_t)kind * kvh + h) * nv + t) * hd + i]);
    return out;
}

#endif
