/* vocab_gguf.c: a GGUF file's tokenizer.ggml.* keys into a tok_desc, then tok_vocab_build().
 *
 * Keys read (llama_vocab::impl::load at llama.cpp c392e50):
 *   tokenizer.ggml.model       "llama" (SentencePiece) or "gpt2" (byte-level BPE)
 *   tokenizer.ggml.tokens      [str] texts; scores [f32/f64] and token_type [int] parallel,
 *                              optional (0 and normal)
 *   tokenizer.ggml.merges      [str] "left right" (gpt2, required)
 *   tokenizer.ggml.pre         pre-tokenizer name (gpt2; missing = "default", unknown refused)
 *   tokenizer.ggml.*_token_id  bos, eos, eot, eom, unk, sep, pad, mask, fim_* (and the deprecated
 *                              prefix/suffix/middle ids, which come last and win). Absent or
 *                              0xFFFFFFFF / -1: the default stays; out of range: refused (llama.cpp
 *                              warns and keeps the default).
 *   tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix (bool)
 *   general.name               (the Phi-3 rule)
 * Defaults: "llama": bos 1, eos 2, unk 0, add_bos, add_space_prefix; "gpt2": bos = eos = 11 (sic,
 * llama.cpp's), no unk, no space prefix, add_bos only for pre-tokenizers that turn it on
 * (llama3); "chatglm-bpe" has no BOS. Texts are borrowed from the mapping for the build call.
 * Families (family.c) by tokenizer.ggml.pre or general.architecture (ChatGLM3, GLM-4, Baichuan,
 * InternLM): their special texts present in the vocabulary become control tokens, so user text
 * can never produce them whatever type the file gave, and unset EOT / EOM come from their
 * end-of-turn texts (ChatGLM3 <|user|> / <|observation|>, InternLM <eoa>).
 */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/tok_internal.h"

#define GGUF_MAX_VOCAB (1 << 28)

static bool is_int_vtype(gguf_vtype t) {
    return t == GGUF_VT_U8 || t == GGUF_VT_I8 || t == GGUF_VT_U16 || t == GGUF_VT_I16 ||
           t == GGUF_VT_U32 || t == GGUF_VT_I32 || t == GGUF_VT_U64 || t == GGUF_VT_I64;
}

/* Optional numeric array parallel to the tokens: absent -> *kv_out NULL. */
static ward_status parallel_array(const gguf_file *g, const char *key, bool want_float,
                                  uint64_t n, const gguf_kv **kv_out, ward_error *err) {
    ward_status rc = gguf_get_arr(g, key, GGUF_VT_COUNT, false, kv_out, err);
    if (rc != WARD_OK || !*kv_out) return rc;
    gguf_vtype et = (*kv_out)->val.arr.type;
    bool ok = want_float ? (et == GGUF_VT_F32 || et == GGUF_VT_F64) : is_int_vtype(et);
    if (!ok)
        return WARD_FAIL(err, WARD_EFORMAT, "%s: array of %s, expected %s", key,
                         gguf_vtype_name(et), want_float ? "f32" : "integers");
    if ((*kv_out)->val.arr.n != n)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "%s: %llu entries, but tokenizer.ggml.tokens has %llu", key,
                         (unsigned long long)(*kv_out)->val.arr.n, (unsigned long long)n);
    return WARD_OK;
}

enum { S_BOS, S_EOS, S_EOT, S_EOM, S_UNK, S_SEP, S_PAD, S_MASK,
       S_FIM_PRE, S_FIM_SUF, S_FIM_MID, S_FIM_PAD, S_FIM_REP, S_FIM_SEP, S_COUNT };

/* In llama.cpp's order: the deprecated FIM keys come last and win. */
static const struct { const char *key; int slot; } special_keys[] = {
    {"tokenizer.ggml.bos_token_id", S_BOS},
    {"tokenizer.ggml.eos_token_id", S_EOS},
    {"tokenizer.ggml.eot_token_id", S_EOT},
    {"tokenizer.ggml.eom_token_id", S_EOM},
    {"tokenizer.ggml.unknown_token_id", S_UNK},
    {"tokenizer.ggml.seperator_token_id", S_SEP}, /* sic: llama.cpp's spelling */
    {"tokenizer.ggml.padding_token_id", S_PAD},
    {"tokenizer.ggml.mask_token_id", S_MASK},
    {"tokenizer.ggml.fim_pre_token_id", S_FIM_PRE},
    {"tokenizer.ggml.fim_suf_token_id", S_FIM_SUF},
    {"tokenizer.ggml.fim_mid_token_id", S_FIM_MID},
    {"tokenizer.ggml.fim_pad_token_id", S_FIM_PAD},
    {"tokenizer.ggml.fim_rep_token_id", S_FIM_REP},
    {"tokenizer.ggml.fim_sep_token_id", S_FIM_SEP},
    {"tokenizer.ggml.prefix_token_id", S_FIM_PRE},
    {"tokenizer.ggml.suffix_token_id", S_FIM_SUF},
    {"tokenizer.ggml.middle_token_id", S_FIM_MID},
};

/* One *_token_id key: absent or "unset" (0xFFFFFFFF, -1) keeps *id; out of range is an error. */
static ward_status read_special_id(const gguf_file *g, const char *key, int32_t n_vocab,
                                   int32_t *id, ward_error *err) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv) return WARD_OK;
    bool is_unsigned = kv->type == GGUF_VT_U8 || kv->type == GGUF_VT_U16 ||
                       kv->type == GGUF_VT_U32 || kv->type == GGUF_VT_U64;
    if (!is_int_vtype(kv->type))
        return WARD_FAIL(err, WARD_EFORMAT, "%s: type %s, expected an integer", key,
                         gguf_vtype_name(kv->type));
    if (is_unsigned ? (kv->val.u64 == UINT32_MAX || kv->val.u64 == UINT64_MAX)
                    : kv->val.i64 == -1)
        return WARD_OK;
    bool in_range = is_unsigned ? kv->val.u64 < (uint64_t)n_vocab
                                : kv->val.i64 >= 0 && kv->val.i64 < n_vocab;
    if (!in_range) {
        char val[32];
        if (is_unsigned) snprintf(val, sizeof val, "%llu", (unsigned long long)kv->val.u64);
        else snprintf(val, sizeof val, "%lld", (long long)kv->val.i64);
        return WARD_FAIL(err, WARD_EFORMAT, "%s = %s: not a token id (the vocabulary has %d)",
                         key, val, n_vocab);
    }
    *id = (int32_t)kv->val.i64;
    return WARD_OK;
}

/* Everything the desc borrows or owns while it is built. */
typedef struct gguf_vocab {
    const char **texts;
    uint32_t *lens;
    float *scores;
    int32_t *types;
    const char **merges;
    uint32_t *merge_lens;
    char *name;
} gguf_vocab;

static void gguf_vocab_free(gguf_vocab *s) {
    ward_free(s->texts);
    ward_free(s->lens);
    ward_free(s->scores);
    ward_free(s->types);
    ward_free(s->merges);
    ward_free(s->merge_lens);
    ward_free(s->name);
}

/* A [str] array as pointers and lengths (each < 4 GiB). */
static ward_status str_array(const gguf_kv *kv, const char *key, const char ***ptrs,
                             uint32_t **lens, ward_error *err) {
    uint64_t n = kv->val.arr.n;
    *ptrs = ward_malloc((size_t)(n ? n : 1) * sizeof **ptrs);
    *lens = ward_malloc((size_t)(n ? n : 1) * sizeof **lens);
    if (!*ptrs || !*lens)
        return WARD_FAIL(err, WARD_ENOMEM, "%s: no memory for %llu strings", key,
                         (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        gguf_str s = kv->val.arr.strs[i];
        if (s.len > UINT32_MAX)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: entry %llu too long", key,
                             (unsigned long long)i);
        (*ptrs)[i] = s.ptr;
        (*lens)[i] = (uint32_t)s.len;
    }
    return WARD_OK;
}

/* The family whose control tokens a GGUF vocabulary must respect: by tokenizer.ggml.pre
 * ("chatglm-spm": ChatGLM3 as llama.cpp's converter writes it, "chatglm-bpe": GLM-4), else by
 * general.architecture ("chatglm": ChatGLM3 for SentencePiece vocabs, "baichuan", "internlm",
 * "chatglm1": ChatGLM-6B, whose text rules the vocab then carries). */
static const tok_family *gguf_family(const gguf_file *g, bool spm) {
    gguf_str pre = {"", 0}, arch = {"", 0};
    const gguf_kv *kv = gguf_find(g, "tokenizer.ggml.pre");
    if (kv && kv->type == GGUF_VT_STR) pre = kv->val.str;
    kv = gguf_find(g, "general.architecture");
    if (kv && kv->type == GGUF_VT_STR) arch = kv->val.str;
    static const struct { const char *key; bool is_pre, spm_only; const char *family; } map[] = {
        {"chatglm-spm", true, false, "chatglm3"}, {"chatglm-bpe", true, false, "glm4"},
        {"chatglm", false, true, "chatglm3"},     {"baichuan", false, false, "baichuan"},
        {"internlm", false, false, "internlm"},   {"chatglm1", false, true, "chatglm"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        gguf_str v = map[i].is_pre ? pre : arch;
        if (map[i].spm_only && !spm) continue;
        if (v.len == strlen(map[i].key) && memcmp(v.ptr, map[i].key, (size_t)v.len) == 0)
            return tok_family_find(map[i].family);
    }
    return NULL;
}

static int32_t find_text(const gguf_vocab *s, int32_t n, const char *t) {
    size_t len = strlen(t);
    for (int32_t i = 0; i < n; i++)
        if (s->lens[i] == len && memcmp(s->texts[i], t, len) == 0) return i;
    return -1;
}

/* Force the family's special texts present in the vocabulary to control type; unset EOT / EOM
 * from the family's texts. */
static ward_status apply_family(const tok_family *fam, gguf_vocab *s, tok_desc *d,
                                ward_error *err) {
    int32_t n = d->n_vocab;
    if (!s->types) {
        if (!(s->types = ward_malloc((size_t)n * sizeof *s->types)))
            return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for token types");
        for (int32_t i = 0; i < n; i++) s->types[i] = TOK_TYPE_NORMAL;
        d->types = s->types;
    }
    const char *const *lists[2] = {fam->appended, fam->control};
    for (int l = 0; l < 2; l++)
        for (const char *const *t = lists[l]; t && *t; t++) {
            int32_t id = find_text(s, n, *t);
            if (id >= 0) s->types[id] = TOK_TYPE_CONTROL;
        }
    int32_t id;
    if (d->eot < 0 && fam->eot && (id = find_text(s, n, fam->eot)) >= 0) d->eot = id;
    if (d->eom < 0 && fam->eom && (id = find_text(s, n, fam->eom)) >= 0) d->eom = id;
    d->text_rules = fam->text_rules;
    return WARD_OK;
}

static ward_status read_gguf(const gguf_file *g, gguf_vocab *s, tok_desc *d, int32_t *fim,
                             ward_error *err) {
    gguf_str model;
    ward_status rc = gguf_get_str(g, "tokenizer.ggml.model", true, &model, err);
    if (rc != WARD_OK) return rc;
    bool spm = model.len == 5 && memcmp(model.ptr, "llama", 5) == 0;
    bool bpe = model.len == 4 && memcmp(model.ptr, "gpt2", 4) == 0;
    if (!spm && !bpe) {
        int shown = model.len > 64 ? 64 : (int)model.len;
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "tokenizer.ggml.model \"%.*s\" is not supported (only \"llama\" and "
                         "\"gpt2\")", shown, model.ptr);
    }
    d->algo = spm ? TOK_ALGO_SPM : TOK_ALGO_BPE;

    const gguf_kv *toks, *scores, *types;
    rc = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_VT_STR, true, &toks, err);
    if (rc != WARD_OK) return rc;
    uint64_t n = toks->val.arr.n;
    if (n == 0) return WARD_FAIL(err, WARD_EFORMAT, "tokenizer.ggml.tokens: empty");
    if (n > GGUF_MAX_VOCAB)
        return WARD_FAIL(err, WARD_EFORMAT, "tokenizer.ggml.tokens: %llu tokens is too many",
                         (unsigned long long)n);
    rc = parallel_array(g, "tokenizer.ggml.scores", true, n, &scores, err);
    if (rc == WARD_OK) rc = parallel_array(g, "tokenizer.ggml.token_type", false, n, &types, err);
    if (rc == WARD_OK) rc = str_array(toks, "tokenizer.ggml.tokens", &s->texts, &s->lens, err);
    if (rc != WARD_OK) return rc;
    d->n_vocab = (int32_t)n;
    d->texts = s->texts, d->text_lens = s->lens;
    if (scores) {
        if (!(s->scores = ward_malloc((size_t)n * sizeof *s->scores)))
            return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for scores");
        for (uint64_t i = 0; i < n; i++) s->scores[i] = gguf_arr_f32(scores, i);
        d->scores = s->scores;
    }
    if (types) {
        if (!(s->types = ward_malloc((size_t)n * sizeof *s->types)))
            return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for token types");
        for (uint64_t i = 0; i < n; i++) {
            int64_t t = gguf_arr_i64(types, i);
            s->types[i] = t >= 0 && t <= TOK_TYPE_BYTE ? (int32_t)t : TOK_TYPE_UNDEFINED;
        }
        d->types = s->types;
    }

    const tok_pre *pre = NULL;
    if (bpe) {
        const gguf_kv *merges;
        rc = gguf_get_arr(g, "tokenizer.ggml.merges", GGUF_VT_STR, true, &merges, err);
        if (rc == WARD_OK)
            rc = str_array(merges, "tokenizer.ggml.merges", &s->merges, &s->merge_lens, err);
        if (rc != WARD_OK) return rc;
        d->n_merges = merges->val.arr.n;
        d->merges = s->merges, d->merge_lens = s->merge_lens;
        d->byte_level = true;
        gguf_str pname = {"default", 7};
        const gguf_kv *kv = gguf_find(g, "tokenizer.ggml.pre");
        if (kv && (rc = gguf_get_str(g, "tokenizer.ggml.pre", true, &pname, err))) return rc;
        if (pname.len == 0) pname = (gguf_str){"default", 7};
        pre = tok_pre_find(pname.ptr, (size_t)pname.len);
        if (!pre) {
            int shown = pname.len > 64 ? 64 : (int)pname.len;
            return WARD_FAIL(err, WARD_EUNSUPPORTED,
                             "tokenizer.ggml.pre \"%.*s\": unknown pre-tokenizer", shown,
                             pname.ptr);
        }
        d->n_pre = tok_pre_count(pre);
        d->pre_regexes = pre->regexes;
        d->ignore_merges = pre->ignore_merges;
    }

    /* special ids: defaults, then keys */
    int32_t id[S_COUNT];
    for (int k = 0; k < S_COUNT; k++) id[k] = -1;
    if (spm) id[S_BOS] = 1, id[S_EOS] = 2, id[S_UNK] = 0;
    else id[S_BOS] = pre->no_bos ? -1 : 11, id[S_EOS] = 11;
    for (int k = 0; k < S_COUNT; k++)
        if (id[k] >= (int32_t)n) id[k] = -1;
    for (size_t k = 0; k < sizeof special_keys / sizeof special_keys[0]; k++) {
        rc = read_special_id(g, special_keys[k].key, (int32_t)n, &id[special_keys[k].slot], err);
        if (rc != WARD_OK) return rc;
    }
    d->bos = id[S_BOS], d->eos = id[S_EOS], d->unk = id[S_UNK], d->pad = id[S_PAD];
    d->eot = id[S_EOT], d->eom = id[S_EOM];
    for (int k = 0; k < 6; k++) fim[k] = id[S_FIM_PRE + k];
    d->fim = fim;

    d->add_bos = spm || pre->add_bos, d->add_eos = false, d->add_space_prefix = spm;
    rc = gguf_get_bool(g, "tokenizer.ggml.add_bos_token", false, &d->add_bos, err);
    if (rc == WARD_OK)
        rc = gguf_get_bool(g, "tokenizer.ggml.add_eos_token", false, &d->add_eos, err);
    if (rc == WARD_OK)
        rc = gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", false, &d->add_space_prefix, err);
    if (rc != WARD_OK) return rc;

    const gguf_kv *name = gguf_find(g, "general.name");
    if (name && name->type == GGUF_VT_STR) {
        size_t len = (size_t)name->val.str.len;
        if (!(s->name = ward_malloc(len + 1)))
            return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory");
        memcpy(s->name, name->val.str.ptr, len);
        s->name[len] = '\0'; /* an embedded NUL only shortens it */
    }
    d->name = s->name ? s->name : "";
    const tok_family *fam = gguf_family(g, spm);
    return fam ? apply_family(fam, s, d, err) : WARD_OK;
}

ward_status tok_vocab_from_gguf(const gguf_file *g, tok_vocab **out, ward_error *err) {
    *out = NULL;
    gguf_vocab s = {0};
    tok_desc d = {0};
    int32_t fim[6];
    ward_status rc = read_gguf(g, &s, &d, fim, err);
    if (rc == WARD_OK) rc = tok_vocab_build(&d, out, err);
    gguf_vocab_free(&s);
    return rc;
}
