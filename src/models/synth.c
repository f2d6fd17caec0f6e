/* synth.c: random-weight models, for tests and benchmarks without downloads.
 *
 * ward_synth_write() writes a GGUF file with llama.cpp's tensor names and metadata keys, so the
 * same file runs in ward and in llama.cpp. Weights are uniform random with a scale of
 * 1/sqrt(n_cols) (so activations keep their size through the layers), norms near 1; the values
 * depend only on the seed and the tensor's name (a hash of both seeds each tensor's generator),
 * and quantization uses the plain C reference kernels, so a file is bit-for-bit reproducible on
 * any machine. The vocabulary is synthetic: <unk>, <s>, </s>, the 256 byte-fallback tokens,
 * then printable ASCII pieces with and without the SentencePiece space mark. Tensors are
 * generated and written one at a time.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "formats/gguf.h"
#include "kernels/types.h"
#include "ward.h"

ward_synth_params ward_synth_default_params(void) {
    return (ward_synth_params){.arch = "llama", .n_vocab = 512, .n_embd = 256, .n_layer = 2,
                               .n_head = 4, .n_head_kv = 2, .n_ff = 512, .n_ctx = 2048,
                               .type = WARD_TYPE_F32, .tied_output = false, .seed = 1};
}

/* --- deterministic values ------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t name_seed(uint64_t seed, const char *name) {
    uint64_t h = 1469598103934665603ull ^ seed; /* FNV-1a over the name */
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* n values uniform in [center - scale, center + scale). */
static void fill_uniform(float *x, int64_t n, uint64_t state, float center, float scale) {
    for (int64_t i = 0; i < n; i++) {
        const double u = (double)(splitmix64(&state) >> 11) * (1.0 / 9007199254740992.0);
        x[i] = center + scale * (float)(2.0 * u - 1.0);
    }
}

/* --- the synthetic vocabulary --------------------------------------------------------------- */

#define SYNTH_PIECE_MAX 16

typedef struct synth_vocab {
    char (*pieces)[SYNTH_PIECE_MAX]; /* (n) NUL-terminated */
    const char **ptrs;               /* (n) into pieces */
    float *scores;                   /* (n) */
    int32_t *types;                  /* (n) */
    int32_t n;
} synth_vocab;

static void vocab_free(synth_vocab *v) {
    ward_free(v->pieces);
    ward_free(v->ptrs);
    ward_free(v->scores);
    ward_free(v->types);
}

static ward_status vocab_build(synth_vocab *v, int32_t n, ward_error *err) {
    memset(v, 0, sizeof *v);
    v->n = n;
    v->pieces = ward_calloc((size_t)n, SYNTH_PIECE_MAX);
    v->ptrs = ward_calloc((size_t)n, sizeof *v->ptrs);
    v->scores = ward_calloc((size_t)n, sizeof *v->scores);
    v->types = ward_calloc((size_t)n, sizeof *v->types);
    if (!v->pieces || !v->ptrs || !v->scores || !v->types) {
        vocab_free(v);
        return WARD_FAIL(err, WARD_ENOMEM, "out of memory for the vocabulary");
    }
    static const char *const specials[3] = {"<unk>", "<s>", "</s>"};
    for (int32_t i = 0; i < n; i++) {
        char *p = v->pieces[i];
        if (i < 3) {
            strcpy(p, specials[i]);
            v->types[i] = i == 0 ? 2 : 3; /* unknown, control */
        } else if (i < 259) {
            snprintf(p, SYNTH_PIECE_MAX, "<0x%02X>", i - 3);
            v->types[i] = 6; /* byte */
        } else {
            /* printable ASCII, then the same after "▁" (U+2581), then "▁" + two letters */
            const int32_t k = i - 259;
            if (k < 94) {
                p[0] = (char)(33 + k);
            } else if (k < 188) {
                snprintf(p, SYNTH_PIECE_MAX, "\xe2\x96\x81%c", 33 + (k - 94));
            } else {
                const int32_t j = (k - 188) % (26 * 26);
                snprintf(p, SYNTH_PIECE_MAX, "\xe2\x96\x81%c%c", 'a' + j / 26, 'a' + j % 26);
                if (k - 188 >= 26 * 26) snprintf(p, SYNTH_PIECE_MAX, "#%d", (int)k);
            }
            v->types[i] = 1;
        }
        v->ptrs[i] = p;
        v->scores[i] = -(float)i;
    }
    return WARD_OK;
}

/* --- tensors -------------------------------------------------------------------------------- */

typedef struct synth_tensor {
    char name[64];
    int64_t n_cols, n_rows; /* n_rows == 1: a norm vector (F32, values near 1) */
    ward_type type;
} synth_tensor;

static int32_t list_tensors(const ward_synth_params *p, synth_tensor *out) {
    const int64_t hd = p->n_embd / p->n_head, kv = hd * p->n_head_kv;
    int32_t n = 0;
#define T(nm_fmt, l, c, r, ty)                                            \
    do {                                                                  \
        snprintf(out[n].name, sizeof out[n].name, nm_fmt, (int)(l));      \
        out[n].n_cols = (c), out[n].n_rows = (r), out[n].type = (ty);     \
        n++;                                                              \
    } while (0)
    T("token_embd.weight%.0d", 0, p->n_embd, p->n_vocab, p->type);
    T("output_norm.weight%.0d", 0, p->n_embd, 1, WARD_TYPE_F32);
    if (!p->tied_output) T("output.weight%.0d", 0, p->n_embd, p->n_vocab, p->type);
    for (int32_t l = 0; l < p->n_layer; l++) {
        T("blk.%d.attn_norm.weight", l, p->n_embd, 1, WARD_TYPE_F32);
        T("blk.%d.attn_q.weight", l, p->n_embd, p->n_embd, p->type);
        T("blk.%d.attn_k.weight", l, p->n_embd, kv, p->type);
        T("blk.%d.attn_v.weight", l, p->n_embd, kv, p->type);
        T("blk.%d.attn_output.weight", l, p->n_embd, p->n_embd, p->type);
        T("blk.%d.ffn_norm.weight", l, p->n_embd, 1, WARD_TYPE_F32);
        T("blk.%d.ffn_gate.weight", l, p->n_embd, p->n_ff, p->type);
        T("blk.%d.ffn_up.weight", l, p->n_embd, p->n_ff, p->type);
        T("blk.%d.ffn_down.weight", l, p->n_ff, p->n_embd, p->type);
    }
#undef T
    return n;
}

static ward_status check_params(const ward_synth_params *p, ward_error *err) {
    if (!p->arch || strcmp(p->arch, "llama") != 0)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "synth: architecture \"%s\" is not supported "
                         "(supported: llama)", p->arch ? p->arch : "(null)");
    if (p->n_vocab < 259 || p->n_vocab > (1 << 20))
        return WARD_FAIL(err, WARD_EINVAL, "synth: n_vocab %d must be in 259..1048576 (3 "
                         "special and 256 byte tokens come first)", p->n_vocab);
    if (p->n_embd <= 0 || p->n_layer <= 0 || p->n_head <= 0 || p->n_head_kv <= 0 ||
        p->n_ff <= 0 || p->n_ctx <= 0 || p->n_embd > (1 << 16) || p->n_ff > (1 << 18) ||
        p->n_layer > 512)
        return WARD_FAIL(err, WARD_EINVAL, "synth: dimensions must be positive (n_embd <= "
                         "65536, n_ff <= 262144, layers <= 512)");
    if (p->n_embd % p->n_head || p->n_head % p->n_head_kv || (p->n_embd / p->n_head) % 2)
        return WARD_FAIL(err, WARD_EINVAL, "synth: n_embd %d must split into %d heads of even "
                         "size, and the heads into %d KV groups", p->n_embd, p->n_head,
                         p->n_head_kv);
    if (!ward_type_is_computable(p->type))
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "synth: type %s is not supported",
                         ward_type_name(p->type) ? ward_type_name(p->type) : "?");
    const int64_t blk = kern_type(p->type)->block_elems;
    if (p->n_embd % blk || p->n_ff % blk)
        return WARD_FAIL(err, WARD_EINVAL, "synth: type %s needs n_embd and n_ff to be "
                         "multiples of %lld", ward_type_name(p->type), (long long)blk);
    return WARD_OK;
}

static ward_status write_metadata(gguf_writer *w, const ward_synth_params *p,
                                  const synth_vocab *v) {
    const uint32_t hd = (uint32_t)(p->n_embd / p->n_head);
    ward_status st;
    if ((st = gguf_writer_set_str(w, "general.architecture", "llama")) ||
        (st = gguf_writer_set_str(w, "general.name", "ward synth (random weights)")) ||
        (st = gguf_writer_set_u32(w, "llama.context_length", (uint32_t)p->n_ctx)) ||
        (st = gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)p->n_embd)) ||
        (st = gguf_writer_set_u32(w, "llama.block_count", (uint32_t)p->n_layer)) ||
        (st = gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)p->n_ff)) ||
        (st = gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)p->n_head)) ||
        (st = gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)p->n_head_kv)) ||
        (st = gguf_writer_set_u32(w, "llama.rope.dimension_count", hd)) ||
        (st = gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f)) ||
        (st = gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f)) ||
        (st = gguf_writer_set_str(w, "tokenizer.ggml.model", "llama")) ||
        (st = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", v->ptrs, (uint64_t)v->n)) ||
        (st = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_VT_F32, v->scores,
                                  (uint64_t)v->n)) ||
        (st = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_VT_I32, v->types,
                                  (uint64_t)v->n)) ||
        (st = gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1)) ||
        (st = gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2)) ||
        (st = gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0)))
        return st;
    return WARD_OK;
}

/* Generate one tensor into f (floats) and, when quantized, q; then write it. */
static ward_status write_tensor(gguf_writer *w, const synth_tensor *t, uint64_t seed, float *f,
                                void *q) {
    const int64_t n = t->n_cols * t->n_rows;
    if (t->n_rows == 1) fill_uniform(f, n, name_seed(seed, t->name), 1.0f, 0.2f);
    else fill_uniform(f, n, name_seed(seed, t->name), 0.0f, sqrtf(3.0f / (float)t->n_cols));
    if (t->type == WARD_TYPE_F32) return gguf_writer_write_tensor(w, f, (size_t)n * sizeof *f);
    const size_t row_bytes = kern_row_bytes(t->type, t->n_cols);
    kern_from_float_fn quant = kern_from_float(t->type, WARD_ISA_REF);
    for (int64_t r = 0; r < t->n_rows; r++)
        quant(f + r * t->n_cols, (char *)q + (size_t)r * row_bytes, t->n_cols);
    return gguf_writer_write_tensor(w, q, row_bytes * (size_t)t->n_rows);
}

ward_status ward_synth_write(const ward_synth_params *p, const char *path, ward_error *err) {
    ward_error_clear(err);
    ward_status st = check_params(p, err);
    if (st) return st;
    synth_vocab v;
    if ((st = vocab_build(&v, p->n_vocab, err))) return st;
    synth_tensor *ts = ward_calloc(3 + 9 * (size_t)p->n_layer, sizeof *ts);
    gguf_writer *w = NULL;
    float *f = NULL;
    void *q = NULL;
    if (!ts) {
        st = WARD_FAIL(err, WARD_ENOMEM, "out of memory");
        goto done;
    }
    const int32_t n_t = list_tensors(p, ts);
    int64_t max_elems = 0;
    for (int32_t i = 0; i < n_t; i++)
        if (ts[i].n_cols * ts[i].n_rows > max_elems) max_elems = ts[i].n_cols * ts[i].n_rows;
    f = ward_malloc((size_t)max_elems * sizeof *f);
    q = ward_malloc((size_t)max_elems * sizeof *f);
    if (!f || !q) {
        st = WARD_FAIL(err, WARD_ENOMEM, "out of memory for a tensor of %lld values",
                       (long long)max_elems);
        goto done;
    }
    if ((st = gguf_writer_open(path, &w, err))) goto done;
    if ((st = write_metadata(w, p, &v))) goto write_failed;
    for (int32_t i = 0; i < n_t; i++) {
        const int64_t ne[2] = {ts[i].n_cols, ts[i].n_rows};
        if ((st = gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].n_rows == 1 ? 1 : 2,
                                         ne)))
            goto write_failed;
    }
    if ((st = gguf_writer_write_header(w))) goto write_failed;
    for (int32_t i = 0; i < n_t; i++)
        if ((st = write_tensor(w, &ts[i], p->seed, f, q))) goto write_failed;
    st = gguf_writer_finish(w, err);
    w = NULL;
    goto done;
write_failed:
    WARD_FAIL(err, st, "%s: %s", path, gguf_writer_errmsg(w));
done:
    gguf_writer_close(w);
    ward_free(f);
    ward_free(q);
    ward_free(ts);
    vocab_free(&v);
    return st;
}
