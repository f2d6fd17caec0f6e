/* tok_vocab.c: the tokenizer vocabulary: building it from a tok_desc, validating it, looking
 * texts up, token bytes.
 *
 * Design
 *   tok_vocab_build() is the one constructor; each source (GGUF: vocab_gguf.c, tiktoken,
 *   tokenizer.json, SentencePiece .model) fills a tok_desc. It checks what a hostile source could
 *   get wrong (counts, ids in range, duplicate texts, NaN scores, byte-token texts), copies what
 *   it keeps, then applies llama.cpp's loading rules in llama.cpp's order
 *   (llama_vocab::impl::load at c392e50):
 *     1. BPE texts become raw bytes: normal (and unused, undefined, byte) tokens are decoded from
 *        GPT-2's alphabet when desc->byte_level; control, user-defined and unknown tokens, and
 *        texts outside the alphabet, stay literal (TOK_F_LITERAL, see tok_internal.h);
 *     2. EOT / EOM / FIM tokens found by text when the source named none, each forced to control;
 *     3. end-of-generation set: FIM pad/rep/sep, the EOG texts and the desc's extra_eog (forced
 *        to control), eos/eot/eom;
 *     4. the special list (control, user-defined, unknown; longest first) for partitioning;
 *     5. the Phi-3 rule (name contains "phi-3"/"phi3"): special tokens strip the whitespace that
 *        follows them, except <unk>, <s>, <|endoftext|>;
 *     6. BPE: the pre-tokenizer and merge table (bpe.c);
 *     7. text rules (ChatGLM-6B's TOK_TEXT_GLM1): the ids of its whitespace pieces, which then
 *        decode to "\n", "\t" and N spaces (when normal or user-defined, as SentencePiece
 *        gives their text and SPTokenizer.postprocess replaces it).
 *   Lookups go through an open-addressing hash table (see tok_internal.h); the encoders' inner
 *   loops call tok_lookup() once per candidate pair, without copying the text.
 * Encoding lives in special.c (driver), spm.c and bpe.c (algorithms).
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

/* Insert the tokens with (flags & TOK_F_LITERAL) == literal. A text seen twice is a format
 * error (llama.cpp asserts on it), except that a literal token whose bytes equal a decoded
 * token's is left out of the index (the two texts differ in the source). */
static ward_status index_tokens(tok_vocab *v, bool literal, ward_error *err) {
    for (int32_t id = 0; id < v->n_vocab; id++) {
        const tok_entry *e = &v->tokens[id];
        if (((e->flags & TOK_F_LITERAL) != 0) != literal) continue;
        const char *s = v->text + e->off;
        int32_t prev = tok_lookup(v, s, e->len);
        if (prev >= 0 && literal && !(v->tokens[prev].flags & TOK_F_LITERAL)) continue;
        if (prev >= 0)
            return WARD_FAIL(err, WARD_EFORMAT, "tokenizer: token %d repeats the text of token %d",
                             id, prev);
        uint64_t h = tok_hash(s, e->len);
        uint32_t i = (uint32_t)h & v->index_mask;
        while (v->index[i]) i = (i + 1) & v->index_mask;
        v->index[i] = (h >> 32 << 32) | (uint64_t)(id + 1);
    }
    return WARD_OK;
}

static ward_status build_index(tok_vocab *v, ward_error *err) {
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)v->n_vocab) cap *= 2;
    v->index = ward_calloc(cap, sizeof *v->index);
    if (!v->index) return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for the index");
    v->index_mask = (uint32_t)(cap - 1);
    ward_status rc = index_tokens(v, false, err);
    return rc == WARD_OK ? index_tokens(v, true, err) : rc;
}

/* ---------------------------------------------------------------------------------------------
 * Building: token texts, scores, types
 * ------------------------------------------------------------------------------------------- */

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

static bool is_special_type(uint8_t t) {
    return t == TOK_TYPE_CONTROL || t == TOK_TYPE_USER_DEFINED || t == TOK_TYPE_UNKNOWN;
}

/* Texts into one buffer (empty ones renamed as llama.cpp does), scores and types. */
static ward_status load_tokens(tok_vocab *v, const tok_desc *d, ward_error *err) {
    uint64_t n = (uint64_t)d->n_vocab;
    v->tokens = ward_calloc(n, sizeof *v->tokens);
    if (!v->tokens) return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for %llu tokens",
                                     (unsigned long long)n);
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = d->text_lens[i];
        if (len > 0 && !d->texts[i])
            return WARD_FAIL(err, WARD_EINVAL, "tokenizer: token %llu has no text",
                             (unsigned long long)i);
        if (len == 0) len = 32; /* room for "[EMPTY_<id>]" */
        total += len + 1;       /* n and len are bounded: no overflow */
    }
    v->text = ward_malloc((size_t)total);
    if (!v->text) return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for token texts");

    bool decode = d->algo == TOK_ALGO_BPE && d->byte_level;
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        tok_entry *e = &v->tokens[i];
        const char *s = d->texts[i];
        uint32_t len = d->text_lens[i];
        int64_t t = d->types ? d->types[i] : TOK_TYPE_NORMAL;
        e->type = t >= TOK_TYPE_UNDEFINED && t <= TOK_TYPE_BYTE ? (uint8_t)t : TOK_TYPE_UNDEFINED;
        e->off = off;
        char *dst = v->text + off;
        bool special = is_special_type(e->type);
        bool literal = d->algo == TOK_ALGO_BPE && special;
        int64_t dec;
        if (len == 0) {
            e->len = (uint32_t)snprintf(dst, 32, "[EMPTY_%llu]", (unsigned long long)i);
        } else if (decode && !special && (dec = tok_byte_level_decode(s, len, dst)) > 0) {
            e->len = (uint32_t)dec;
        } else {
            memcpy(dst, s, len);
            e->len = len;
            literal |= decode; /* not in the byte alphabet: kept as written */
        }
        dst[e->len] = '\0';
        if (literal) e->flags |= TOK_F_LITERAL;
        off += e->len + 1;
        if (e->len > v->max_token_len) v->max_token_len = e->len;

        e->score = d->scores ? d->scores[i] : 0.0f;
        if (e->score != e->score)
            return WARD_FAIL(err, WARD_EFORMAT, "tokenizer: the score of token %llu is NaN",
                             (unsigned long long)i);
        if (d->algo == TOK_ALGO_SPM && e->type == TOK_TYPE_BYTE &&
            byte_token_value(v->text + e->off, e->len) < 0)
            return WARD_FAIL(err, WARD_EFORMAT,
                             "tokenizer: token %llu has type byte but its text is not <0xXX>",
                             (unsigned long long)i);
    }
    return build_index(v, err);
}

/* ---------------------------------------------------------------------------------------------
 * Building: special tokens (llama.cpp's rules, see the file header)
 * ------------------------------------------------------------------------------------------- */

enum { S_EOT, S_EOM, S_FIM_PRE, S_FIM_SUF, S_FIM_MID, S_FIM_PAD, S_FIM_REP, S_FIM_SEP, S_COUNT };

/* U+FF5C FULLWIDTH VERTICAL LINE and U+2581, as DeepSeek spells its tokens. */
#define FW_BAR "\xef\xbd\x9c"
#define SP_MARK "\xe2\x96\x81"

/* Tokens found by text when the source named none; each is forced to control type. */
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

static void force_control(tok_vocab *v, int32_t id) { v->tokens[id].type = TOK_TYPE_CONTROL; }

static ward_status check_id(const tok_vocab *v, const char *what, int32_t id, ward_error *err) {
    if (id >= -1 && id < v->n_vocab) return WARD_OK;
    return WARD_FAIL(err, WARD_EFORMAT, "tokenizer: %s id %d is not a token (the vocabulary has %d)",
                     what, id, v->n_vocab);
}

static ward_status load_specials(tok_vocab *v, const tok_desc *d, ward_error *err) {
    int32_t id[S_COUNT];
    for (int s = 0; s < S_COUNT; s++) id[s] = -1;
    id[S_EOT] = d->eot, id[S_EOM] = d->eom;
    if (d->fim)
        for (int s = 0; s < 6; s++) id[S_FIM_PRE + s] = d->fim[s];
    const char *names[S_COUNT] = {"eot", "eom", "fim_pre", "fim_suf", "fim_mid", "fim_pad",
                                  "fim_rep", "fim_sep"};
    ward_status rc = WARD_OK;
    for (int s = 0; s < S_COUNT && rc == WARD_OK; s++) rc = check_id(v, names[s], id[s], err);
    if (rc == WARD_OK) rc = check_id(v, "bos", d->bos, err);
    if (rc == WARD_OK) rc = check_id(v, "eos", d->eos, err);
    if (rc == WARD_OK) rc = check_id(v, "unk", d->unk, err);
    if (rc == WARD_OK) rc = check_id(v, "pad", d->pad, err);
    if (rc != WARD_OK) return rc;
    v->add_bos = d->add_bos, v->add_eos = d->add_eos, v->add_space_prefix = d->add_space_prefix;

    /* llama.cpp walks its hash map; we take the lowest id among the candidate texts. */
    for (size_t k = 0; k < sizeof detected / sizeof detected[0]; k++) {
        int slot = detected[k].slot;
        if (id[slot] >= 0) continue;
        for (int t = 0; t < 8 && detected[k].texts[t]; t++) {
            int32_t found = lookup_cstr(v, detected[k].texts[t]);
            if (found >= 0 && (id[slot] < 0 || found < id[slot])) id[slot] = found;
        }
        if (id[slot] >= 0) force_control(v, id[slot]);
    }

    const int32_t eog_ids[] = {id[S_FIM_PAD], id[S_FIM_REP], id[S_FIM_SEP], d->eos, id[S_EOT],
                               id[S_EOM]};
    for (size_t i = 0; i < sizeof eog_ids / sizeof eog_ids[0]; i++)
        if (eog_ids[i] >= 0) v->tokens[eog_ids[i]].flags |= TOK_F_EOG;
    for (size_t i = 0; i < sizeof eog_texts / sizeof eog_texts[0]; i++) {
        int32_t found = lookup_cstr(v, eog_texts[i]);
        if (found < 0) continue;
        v->tokens[found].flags |= TOK_F_EOG;
        force_control(v, found);
    }
    for (const char *const *t = d->extra_eog; t && *t; t++) {
        int32_t found = lookup_cstr(v, *t);
        if (found < 0) continue;
        v->tokens[found].flags |= TOK_F_EOG;
        force_control(v, found);
    }

    v->bos = d->bos, v->eos = d->eos, v->unk = d->unk;
    v->pad = d->pad, v->eot = id[S_EOT], v->eom = id[S_EOM];
    return WARD_OK;
}

/* SPM byte fallback targets: "<0xXX>", else the one-byte token, else unk (llama.cpp throws).
 * BPE: the decoded one-byte token, else -1 (llama.cpp drops the byte). */
static void build_byte_tokens(tok_vocab *v) {
    for (int b = 0; b < 256; b++) {
        char hex[7], raw = (char)b;
        int32_t id = -1;
        if (v->algo == TOK_ALGO_SPM) {
            snprintf(hex, sizeof hex, "<0x%02X>", b);
            id = lookup_cstr(v, hex);
            if (id < 0) id = tok_lookup(v, &raw, 1);
            if (id < 0) id = v->unk >= 0 ? v->unk : 0;
        } else {
            id = tok_lookup(v, &raw, 1);
            if (id >= 0 && (v->tokens[id].flags & TOK_F_LITERAL)) id = -1;
        }
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
    for (int32_t i = 0; i < v->n_vocab; i++) n += is_special_type(v->tokens[i].type);
    uint64_t *keys = ward_malloc((size_t)(n ? n : 1) * sizeof *keys);
    v->special = ward_malloc((size_t)(n ? n : 1) * sizeof *v->special);
    if (!keys || !v->special) {
        ward_free(keys);
        return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for the special tokens");
    }
    int32_t k = 0;
    for (int32_t i = 0; i < v->n_vocab; i++)
        if (is_special_type(v->tokens[i].type))
            keys[k++] = (uint64_t)(UINT32_MAX - v->tokens[i].len) << 32 | (uint32_t)i;
    qsort(keys, (size_t)n, sizeof *keys, cmp_u64);
    for (int32_t i = 0; i < n; i++) v->special[i] = (int32_t)(uint32_t)keys[i];
    v->n_special = n;
    ward_free(keys);
    return WARD_OK;
}

static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* Does s contain needle (lowercase), ignoring ASCII case? */
static bool contains_ci(const char *s, const char *needle) {
    size_t len = strlen(s), m = strlen(needle);
    for (size_t i = 0; i + m <= len; i++) {
        size_t j = 0;
        while (j < m && ascii_lower(s[i + j]) == needle[j]) j++;
        if (j == m) return true;
    }
    return false;
}

/* llama.cpp sets per-token attributes by model name; of its rules only Phi-3's is kept. */
static void apply_name_rules(tok_vocab *v, const char *name) {
    if (!name || (!contains_ci(name, "phi-3") && !contains_ci(name, "phi3"))) return;
    for (int32_t i = 0; i < v->n_special; i++) v->tokens[v->special[i]].flags |= TOK_F_RSTRIP;
    int32_t id = lookup_cstr(v, "</s>");
    if (id >= 0) v->tokens[id].flags |= TOK_F_RSTRIP;
    const char *keep[] = {"<unk>", "<s>", "<|endoftext|>"};
    for (size_t i = 0; i < 3; i++)
        if ((id = lookup_cstr(v, keep[i])) >= 0) v->tokens[id].flags &= (uint8_t)~TOK_F_RSTRIP;
}

/* TOK_TEXT_GLM1: find "<n>", "<|tab|>", "<|blank_2|>" .. "<|blank_80|>" (-1 when absent) and
 * mark those that give their text as bytes. */
static void load_glm1_pieces(tok_vocab *v) {
    for (int k = 0; k <= TOK_GLM1_MAX_BLANK; k++) {
        char t[24];
        if (k == 0) snprintf(t, sizeof t, "<n>");
        else if (k == 1) snprintf(t, sizeof t, "<|tab|>");
        else snprintf(t, sizeof t, "<|blank_%d|>", k);
        int32_t id = lookup_cstr(v, t);
        v->glm1_piece[k] = id;
        if (id >= 0 && (v->tokens[id].type == TOK_TYPE_NORMAL ||
                        v->tokens[id].type == TOK_TYPE_USER_DEFINED))
            v->tokens[id].flags |= TOK_F_GLM1_WS;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Public: construction
 * ------------------------------------------------------------------------------------------- */

ward_status tok_vocab_build(const tok_desc *d, tok_vocab **out, ward_error *err) {
    *out = NULL;
    if (d->algo != TOK_ALGO_SPM && d->algo != TOK_ALGO_BPE)
        return WARD_FAIL(err, WARD_EINVAL, "tokenizer: unknown algorithm %d", (int)d->algo);
    if (d->n_vocab <= 0) return WARD_FAIL(err, WARD_EFORMAT, "tokenizer: no tokens");
    if (d->n_vocab > TOK_MAX_VOCAB)
        return WARD_FAIL(err, WARD_EFORMAT, "tokenizer: %d tokens is too many", d->n_vocab);
    if (!d->texts || !d->text_lens)
        return WARD_FAIL(err, WARD_EINVAL, "tokenizer: no token texts");
    if (d->text_rules != TOK_TEXT_PLAIN &&
        (d->text_rules != TOK_TEXT_GLM1 || d->algo != TOK_ALGO_SPM))
        return WARD_FAIL(err, WARD_EINVAL, "tokenizer: text rules %d need a SentencePiece vocab",
                         (int)d->text_rules);
    tok_vocab *v = ward_calloc(1, sizeof *v);
    if (!v) return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory");
    v->algo = d->algo;
    v->n_vocab = d->n_vocab;
    ward_status rc;
    if ((rc = load_tokens(v, d, err)) != WARD_OK) goto fail;
    if ((rc = load_specials(v, d, err)) != WARD_OK) goto fail;
    build_byte_tokens(v);
    if ((rc = build_special_list(v, err)) != WARD_OK) goto fail;
    apply_name_rules(v, d->name);
    v->text_rules = d->text_rules;
    if (v->text_rules == TOK_TEXT_GLM1) load_glm1_pieces(v);
    if (v->algo == TOK_ALGO_BPE && (rc = tok_bpe_init(v, d, err)) != WARD_OK) goto fail;
    *out = v;
    return WARD_OK;
fail:
    tok_vocab_free(v);
    return rc;
}

void tok_vocab_free(tok_vocab *v) {
    if (!v) return;
    tok_bpe_free(v->bpe);
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

int32_t tok_find(const tok_vocab *v, const char *text, size_t len) {
    return tok_lookup(v, text, len);
}

const char *tok_text(const tok_vocab *v, int32_t id, size_t *len) {
    if (id < 0 || id >= v->n_vocab) return NULL;
    *len = v->tokens[id].len;
    return v->text + v->tokens[id].off;
}

static ward_status bytes_out(const char *s, size_t n, char *out, size_t cap, size_t *n_out) {
    if (cap > 0) memcpy(out, s, n < cap ? n : cap);
    *n_out = n;
    return n > cap ? WARD_ERANGE : WARD_OK;
}

ward_status tok_token_bytes(const tok_vocab *v, int32_t id, bool render_special, char *out,
                            size_t cap, size_t *n_out) {
    *n_out = 0;
    if (id < 0 || id >= v->n_vocab) return WARD_FAIL(NULL, WARD_EINVAL, "no token %d", id);
    const tok_entry *e = &v->tokens[id];
    const char *s = v->text + e->off;
    bool bpe = v->algo == TOK_ALGO_BPE;
    if (e->flags & TOK_F_GLM1_WS) { /* "<n>", "<|tab|>", "<|blank_N|>" (N checked at build) */
        if (id == v->glm1_piece[0]) return bytes_out("\n", 1, out, cap, n_out);
        if (id == v->glm1_piece[1]) return bytes_out("\t", 1, out, cap, n_out);
        size_t n = (size_t)strtoul(s + 8, NULL, 10);
        if (cap > 0) memset(out, ' ', n < cap ? n : cap);
        *n_out = n;
        return n > cap ? WARD_ERANGE : WARD_OK;
    }
    switch ((tok_attr)e->type) {
    case TOK_TYPE_CONTROL:
    case TOK_TYPE_UNKNOWN:
        return render_special ? bytes_out(s, e->len, out, cap, n_out) : WARD_OK;
    case TOK_TYPE_USER_DEFINED:
        return bytes_out(s, e->len, out, cap, n_out);
    case TOK_TYPE_BYTE: { /* SPM: text validated as "<0xXX>" at build; BPE: nothing */
        if (bpe) return WARD_OK;
        char byte = (char)byte_token_value(s, e->len);
        return bytes_out(&byte, 1, out, cap, n_out);
    }
    case TOK_TYPE_NORMAL: { /* BPE: the bytes; SPM: U+2581 -> ' ' */
        if (bpe) return bytes_out(s, e->len, out, cap, n_out);
        size_t n = 0;
        for (uint32_t i = 0; i < e->len; n++) {
            bool mark = i + 3 <= e->len && memcmp(s + i, "\xe2\x96\x81", 3) == 0;
            if (n < cap) out[n] = mark ? ' ' : s[i];
            i += mark ? 3 : 1;
        }
        *n_out = n;
        return n > cap ? WARD_ERANGE : WARD_OK;
    }
    case TOK_TYPE_UNDEFINED:
    case TOK_TYPE_UNUSED:
        break;
    }
    return WARD_OK;
}
