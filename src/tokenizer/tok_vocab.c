/* tok_vocab.c: the tokenizer vocabulary: loading it from GGUF, validating it, looking texts up.
 *
 * Design
 *   tok_vocab_from_gguf() reads the tokenizer.ggml.* keys once, checks everything a hostile file
 *   could get wrong (array types and lengths, ids in range, duplicates, NaN scores, byte-token
 *   texts) and copies what it keeps, so the vocab does not borrow from the gguf_file. Then it
 *   applies llama.cpp's loading rules in llama.cpp's order (llama_vocab::impl::load at c392e50):
 *     1. defaults for "llama": bos 1, eos 2, unk 0, add_bos, add_space_prefix, no add_eos;
 *     2. *_token_id keys (0xFFFFFFFF / -1 = unset: the default stays, as stories260K needs);
 *     3. EOT / EOM / FIM tokens found by text when no key named them, each forced to control;
 *     4. end-of-generation set: FIM pad/rep/sep, the EOG texts (forced to control), eos/eot/eom;
 *     5. the special list (control, user-defined, unknown; longest first) for partitioning;
 *     6. the Phi-3 rule (general.name contains "phi-3"/"phi3"): special tokens strip the
 *        whitespace that follows them, except <unk>, <s>, <|endoftext|>.
 *   Lookups go through an open-addressing hash table (see tok_internal.h); the encoder's inner
 *   loop calls tok_lookup() once per candidate pair, without copying the text.
 * Encoding itself lives in spm.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/tok_internal.h"

#define TOK_MAX_VOCAB (1 << 28) /* keeps ids and hash slots comfortably inside 32 bits */

/* ---------------------------------------------------------------------------------------------
 * Hash index
 * ------------------------------------------------------------------------------------------- */

static uint64_t tok_hash(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix for the slot bits */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

int32_t tok_lookup(const tok_vocab *v, const char *s, size_t len) {
    if (len == 0 || len > v->max_token_len) return -1;
    uint64_t h = tok_hash(s, len);
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & v->index_mask;; i = (i + 1) & v->index_mask) {
        uint64_t slot = v->index[i];
        if (slot == 0) return -1;
        if ((uint32_t)(slot >> 32) != tag) continue;
        int32_t id = (int32_t)(uint32_t)slot - 1;
        const tok_entry *e = &v->tokens[id];
        if (e->len == len && memcmp(v->text + e->off, s, len) == 0) return id;
    }
}

static int32_t lookup_cstr(const tok_vocab *v, const char *s) {
    return tok_lookup(v, s, strlen(s));
}

/* Insert every token; a text seen twice is a format error (llama.cpp asserts on it). */
static ward_status build_index(tok_vocab *v, ward_error *err) {
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)v->n_vocab) cap *= 2;
    v->index = ward_calloc(cap, sizeof *v->index);
    if (!v->index) return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for the index");
    v->index_mask = (uint32_t)(cap - 1);
    for (int32_t id = 0; id < v->n_vocab; id++) {
        const tok_entry *e = &v->tokens[id];
        const char *s = v->text + e->off;
        int32_t prev = tok_lookup(v, s, e->len);
        if (prev >= 0)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "tokenizer.ggml.tokens: token %d repeats the text of token %d", id,
                             prev);
        uint64_t h = tok_hash(s, e->len);
        uint32_t i = (uint32_t)h & v->index_mask;
        while (v->index[i]) i = (i + 1) & v->index_mask;
        v->index[i] = (h >> 32 << 32) | (uint64_t)(id + 1);
    }
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Loading: token texts, scores, types
 * ------------------------------------------------------------------------------------------- */

static bool is_int_vtype(gguf_vtype t) {
    return t == GGUF_VT_U8 || t == GGUF_VT_I8 || t == GGUF_VT_U16 || t == GGUF_VT_I16 ||
           t == GGUF_VT_U32 || t == GGUF_VT_I32 || t == GGUF_VT_U64 || t == GGUF_VT_I64;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Byte value of a "<0xXX>" text, or -1. */
static int byte_token_value(const char *s, size_t len) {
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int hi = hex_digit(s[3]), lo = hex_digit(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
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

/* Texts into one buffer (empty ones renamed as llama.cpp does), scores and types. */
static ward_status load_tokens(tok_vocab *v, const gguf_file *g, ward_error *err) {
    const gguf_kv *toks, *scores, *types;
    ward_status rc = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_VT_STR, true, &toks, err);
    if (rc != WARD_OK) return rc;
    uint64_t n = toks->val.arr.n;
    if (n == 0) return WARD_FAIL(err, WARD_EFORMAT, "tokenizer.ggml.tokens: empty");
    if (n > TOK_MAX_VOCAB)
        return WARD_FAIL(err, WARD_EFORMAT, "tokenizer.ggml.tokens: %llu tokens is too many",
                         (unsigned long long)n);
    rc = parallel_array(g, "tokenizer.ggml.scores", true, n, &scores, err);
    if (rc == WARD_OK) rc = parallel_array(g, "tokenizer.ggml.token_type", false, n, &types, err);
    if (rc != WARD_OK) return rc;

    v->n_vocab = (int32_t)n;
    v->tokens = ward_calloc(n, sizeof *v->tokens);
    if (!v->tokens) return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for %llu tokens",
                                     (unsigned long long)n);
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = toks->val.arr.strs[i].len;
        if (len > UINT32_MAX)
            return WARD_FAIL(err, WARD_EFORMAT, "tokenizer.ggml.tokens: token %llu too long",
                             (unsigned long long)i);
        if (len == 0) len = 32; /* room for "[EMPTY_<id>]" */
        total += len + 1;       /* n and len are bounded: no overflow */
    }
    v->text = ward_malloc((size_t)total);
    if (!v->text) return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for token texts");

    size_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        tok_entry *e = &v->tokens[i];
        gguf_str s = toks->val.arr.strs[i];
        e->off = off;
        if (s.len == 0) {
            e->len = (uint32_t)snprintf(v->text + off, 32, "[EMPTY_%llu]", (unsigned long long)i);
        } else {
            memcpy(v->text + off, s.ptr, (size_t)s.len);
            v->text[off + s.len] = '\0';
            e->len = (uint32_t)s.len;
        }
        off += e->len + 1;
        if (e->len > v->max_token_len) v->max_token_len = e->len;

        e->score = scores ? gguf_arr_f32(scores, i) : 0.0f;
        if (e->score != e->score)
            return WARD_FAIL(err, WARD_EFORMAT, "tokenizer.ggml.scores: token %llu is NaN",
                             (unsigned long long)i);
        int64_t t = types ? gguf_arr_i64(types, i) : TOK_TYPE_NORMAL;
        e->type = t >= TOK_TYPE_UNDEFINED && t <= TOK_TYPE_BYTE ? (uint8_t)t : TOK_TYPE_UNDEFINED;
        if (e->type == TOK_TYPE_BYTE && byte_token_value(v->text + e->off, e->len) < 0)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "tokenizer.ggml.tokens: token %llu has type byte but its text is "
                             "not <0xXX>", (unsigned long long)i);
    }
    return build_index(v, err);
}

/* ---------------------------------------------------------------------------------------------
 * Loading: special tokens (llama.cpp's rules, see the file header)
 * ------------------------------------------------------------------------------------------- */

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

/* U+FF5C FULLWIDTH VERTICAL LINE and U+2581, as DeepSeek spells its tokens. */
#define FW_BAR "\xef\xbd\x9c"
#define SP_MARK "\xe2\x96\x81"

/* Tokens found by text when no key named them; each is forced to control type. */
static const struct { int slot; const char *texts[8]; } detected[] = {
    {S_EOT, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
             "<" FW_BAR "end" SP_MARK "of" SP_MARK "sentence" FW_BAR ">"}},
    {S_EOM, {"<|eom_id|>"}},
    {S_FIM_PRE, {"<|fim_prefix|>", "<fim-prefix>", "<" FW_BAR "fim" SP_MARK "begin" FW_BAR ">",
                 "<PRE>"}},
    {S_FIM_SUF, {"<|fim_suffix|>", "<fim-suffix>", "<" FW_BAR "fim" SP_MARK "hole" FW_BAR ">",
                 "<SUF>"}},
    {S_FIM_MID, {"<|fim_middle|>", "<fim-middle>", "<" FW_BAR "fim" SP_MARK "end" FW_BAR ">",
                 "<MID>"}},
    {S_FIM_PAD, {"<|fim_pad|>", "<fim-pad>", "<PAD>"}},
    {S_FIM_REP, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"}},
    {S_FIM_SEP, {"<|file_sep|>"}},
};

/* Texts that end generation wherever they are (forced to control type too). */
static const char *const eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                        "<|endoftext|>", "<|eom_id|>", "<EOT>"};

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

static void force_control(tok_vocab *v, int32_t id) {
    if (v->tokens[id].type != TOK_TYPE_CONTROL) v->tokens[id].type = TOK_TYPE_CONTROL;
}

static ward_status load_specials(tok_vocab *v, const gguf_file *g, ward_error *err) {
    int32_t id[S_COUNT];
    for (int s = 0; s < S_COUNT; s++) id[s] = -1;
    id[S_BOS] = 1, id[S_EOS] = 2, id[S_UNK] = 0; /* llama.cpp's defaults for "llama" */
    for (int s = 0; s < S_COUNT; s++)
        if (id[s] >= v->n_vocab) id[s] = -1;
    for (size_t k = 0; k < sizeof special_keys / sizeof special_keys[0]; k++) {
        ward_status rc = read_special_id(g, special_keys[k].key, v->n_vocab,
                                         &id[special_keys[k].slot], err);
        if (rc != WARD_OK) return rc;
    }

    v->add_bos = true, v->add_eos = false, v->add_space_prefix = true;
    ward_status rc = gguf_get_bool(g, "tokenizer.ggml.add_bos_token", false, &v->add_bos, err);
    if (rc == WARD_OK)
        rc = gguf_get_bool(g, "tokenizer.ggml.add_eos_token", false, &v->add_eos, err);
    if (rc == WARD_OK)
        rc = gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", false, &v->add_space_prefix, err);
    if (rc != WARD_OK) return rc;

    /* llama.cpp walks its hash map; we take the lowest id among the candidate texts. */
    for (size_t d = 0; d < sizeof detected / sizeof detected[0]; d++) {
        int slot = detected[d].slot;
        if (id[slot] >= 0) continue;
        for (int t = 0; t < 8 && detected[d].texts[t]; t++) {
            int32_t found = lookup_cstr(v, detected[d].texts[t]);
            if (found >= 0 && (id[slot] < 0 || found < id[slot])) id[slot] = found;
        }
        if (id[slot] >= 0) force_control(v, id[slot]);
    }

    const int eog_slots[] = {S_FIM_PAD, S_FIM_REP, S_FIM_SEP, S_EOS, S_EOT, S_EOM};
    for (size_t i = 0; i < sizeof eog_slots / sizeof eog_slots[0]; i++)
        if (id[eog_slots[i]] >= 0) v->tokens[id[eog_slots[i]]].flags |= TOK_F_EOG;
    for (size_t i = 0; i < sizeof eog_texts / sizeof eog_texts[0]; i++) {
        int32_t found = lookup_cstr(v, eog_texts[i]);
        if (found < 0) continue;
        v->tokens[found].flags |= TOK_F_EOG;
        force_control(v, found);
    }

    v->bos = id[S_BOS], v->eos = id[S_EOS], v->unk = id[S_UNK];
    v->pad = id[S_PAD], v->eot = id[S_EOT], v->eom = id[S_EOM];
    return WARD_OK;
}

/* Byte fallback targets: "<0xXX>", else the one-byte token, else unk (llama.cpp throws). */
static void build_byte_tokens(tok_vocab *v) {
    for (int b = 0; b < 256; b++) {
        char hex[7], raw = (char)b;
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        int32_t id = lookup_cstr(v, hex);
        if (id < 0) id = tok_lookup(v, &raw, 1);
        if (id < 0) id = v->unk >= 0 ? v->unk : 0;
        v->byte_token[b] = id;
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Control, user-defined and unknown tokens, longest text first (ties: lower id first). */
static ward_status build_special_list(tok_vocab *v, ward_error *err) {
    int32_t n = 0;
    for (int32_t i = 0; i < v->n_vocab; i++) {
        uint8_t t = v->tokens[i].type;
        n += t == TOK_TYPE_CONTROL || t == TOK_TYPE_USER_DEFINED || t == TOK_TYPE_UNKNOWN;
    }
    uint64_t *keys = ward_malloc((size_t)(n ? n : 1) * sizeof *keys);
    v->special = ward_malloc((size_t)(n ? n : 1) * sizeof *v->special);
    if (!keys || !v->special) {
        ward_free(keys);
        return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for the special tokens");
    }
    int32_t k = 0;
    for (int32_t i = 0; i < v->n_vocab; i++) {
        uint8_t t = v->tokens[i].type;
        if (t == TOK_TYPE_CONTROL || t == TOK_TYPE_USER_DEFINED || t == TOK_TYPE_UNKNOWN)
            keys[k++] = (uint64_t)(UINT32_MAX - v->tokens[i].len) << 32 | (uint32_t)i;
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_u64);
    for (int32_t i = 0; i < n; i++) v->special[i] = (int32_t)(uint32_t)keys[i];
    v->n_special = n;
    ward_free(keys);
    return WARD_OK;
}

static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* Does s[0..len) contain needle (lowercase), ignoring ASCII case? */
static bool contains_ci(const char *s, size_t len, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= len; i++) {
        size_t j = 0;
        while (j < m && ascii_lower(s[i + j]) == needle[j]) j++;
        if (j == m) return true;
    }
    return false;
}

/* llama.cpp sets per-token attributes by model name; for SPM vocabs only Phi-3 is affected. */
static void apply_name_rules(tok_vocab *v, const gguf_file *g) {
    const gguf_kv *name = gguf_find(g, "general.name");
    if (!name || name->type != GGUF_VT_STR) return;
    const char *s = name->val.str.ptr;
    size_t len = (size_t)name->val.str.len;
    if (!contains_ci(s, len, "phi-3") && !contains_ci(s, len, "phi3")) return;
    for (int32_t i = 0; i < v->n_special; i++) v->tokens[v->special[i]].flags |= TOK_F_RSTRIP;
    int32_t id = lookup_cstr(v, "</s>");
    if (id >= 0) v->tokens[id].flags |= TOK_F_RSTRIP;
    const char *keep[] = {"<unk>", "<s>", "<|endoftext|>"};
    for (size_t i = 0; i < 3; i++)
        if ((id = lookup_cstr(v, keep[i])) >= 0) v->tokens[id].flags &= (uint8_t)~TOK_F_RSTRIP;
}

/* ---------------------------------------------------------------------------------------------
 * Public: construction
 * ------------------------------------------------------------------------------------------- */

ward_status tok_vocab_from_gguf(const gguf_file *g, tok_vocab **out, ward_error *err) {
    *out = NULL;
    gguf_str model;
    ward_status rc = gguf_get_str(g, "tokenizer.ggml.model", true, &model, err);
    if (rc != WARD_OK) return rc;
    if (model.len != 5 || memcmp(model.ptr, "llama", 5) != 0) {
        int shown = model.len > 64 ? 64 : (int)model.len;
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "tokenizer.ggml.model \"%.*s\" is not supported (only \"llama\")", shown,
                         model.ptr);
    }
    tok_vocab *v = ward_calloc(1, sizeof *v);
    if (!v) return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory");
    if ((rc = load_tokens(v, g, err)) != WARD_OK) goto fail;
    if ((rc = load_specials(v, g, err)) != WARD_OK) goto fail;
    build_byte_tokens(v);
    if ((rc = build_special_list(v, err)) != WARD_OK) goto fail;
    apply_name_rules(v, g);
    *out = v;
    return WARD_OK;
fail:
    tok_vocab_free(v);
    return rc;
}

void tok_vocab_free(tok_vocab *v) {
    if (!v) return;
    ward_free(v->tokens);
    ward_free(v->text);
    ward_free(v->index);
    ward_free(v->special);
    ward_free(v);
}

/* ---------------------------------------------------------------------------------------------
 * Public: accessors
 * ------------------------------------------------------------------------------------------- */

int32_t tok_n_vocab(const tok_vocab *v) { return v->n_vocab; }
int32_t tok_bos(const tok_vocab *v) { return v->bos; }
int32_t tok_eos(const tok_vocab *v) { return v->eos; }
int32_t tok_unk(const tok_vocab *v) { return v->unk; }
bool tok_add_bos(const tok_vocab *v) { return v->add_bos; }
bool tok_add_eos(const tok_vocab *v) { return v->add_eos; }
bool tok_add_space_prefix(const tok_vocab *v) { return v->add_space_prefix; }

bool tok_is_eog(const tok_vocab *v, int32_t id) {
    return id >= 0 && id < v->n_vocab && (v->tokens[id].flags & TOK_F_EOG);
}

tok_attr tok_type(const tok_vocab *v, int32_t id) {
    return id >= 0 && id < v->n_vocab ? (tok_attr)v->tokens[id].type : TOK_TYPE_UNDEFINED;
}

const char *tok_text(const tok_vocab *v, int32_t id, size_t *len) {
    if (id < 0 || id >= v->n_vocab) return NULL;
    *len = v->tokens[id].len;
    return v->text + v->tokens[id].off;
}
