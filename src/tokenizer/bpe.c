/* bpe.c: byte-level BPE ("gpt2" vocabularies, tiktoken ranks): pre-tokenizer, merges, encoding.
 *
 * Encoding one run of plain text (tok_bpe_encode_run; special tokens were split off before, in
 * special.c), as llama.cpp's llm_tokenizer_bpe_session (c392e50):
 *   1. Clean the UTF-8 as llama.cpp's unicode_cpts_from_utf8 does: a byte that does not start a
 *      well-formed sequence (lead byte length, continuation bytes) becomes U+FFFD; overlong forms
 *      are re-encoded short. Surrogates and code points past U+10FFFF, which llama.cpp keeps or
 *      throws on, also become U+FFFD (PCRE2 needs valid UTF-8). Then NFC if the vocab asks.
 *   2. Pre-tokenize: each PCRE2 pattern (UTF, UCP) splits every piece the previous one made into
 *      its matches and the gaps between them (unicode_regex_split). Patterns match inside one
 *      piece only: lookaheads and `$` see the piece's end, not the text's.
 *   3. Each piece: with ignore_merges a piece that is a token is emitted whole. Otherwise one
 *      symbol per byte (GPT-2's alphabet has one character per byte), a min-heap of adjacent
 *      pairs that merge, lowest rank first, ties to the leftmost; pop, skip stale pairs (a
 *      symbol merged away or grown), merge, push the new neighbours' pairs. A final symbol is
 *      its token, else the one-byte tokens of its bytes (bytes without one are dropped, as
 *      llama.cpp does).
 * Ranks: with merges, the merge's index, looked up by (left id, right id) in a hash table
 * whose values also give the merged token; without merges (tiktoken), the id of the token the
 * pair's bytes form. Tokens carrying TOK_F_LITERAL (control, user-defined, ...) are never
 * produced here: only special.c emits them, so plain text can never become a control token.
 *
 * Memory: the compiled patterns and merge table belong to the vocab (read-only, shared by
 * threads; PCRE2 allocates through ward_malloc). Each call allocates its own cleaned text,
 * match data and symbol/heap scratch, grown to the longest piece, freed before returning.
 */
#include <assert.h>
#include <string.h>
#include <utf8proc.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "base/error.h"
#include "tokenizer/tok_internal.h"

/* Runs longer than this would overflow 32-bit offsets after cleaning (one byte -> three). */
#define BPE_MAX_RUN ((size_t)(INT32_MAX / 4))

struct tok_bpe {
    pcre2_general_context *gctx;
    int32_t n_pre;
    pcre2_code **pre;    /* (n_pre) */
    bool ignore_merges, nfc;
    bool has_merges;     /* false: rank = id of the pair's bytes (tiktoken) */
    uint64_t *pair_key;  /* (pair_mask + 1) (left << 32 | right) | PAIR_USED, 0 = empty */
    int32_t *pair_rank;  /* (pair_mask + 1) */
    int32_t *pair_id;    /* (pair_mask + 1) the merged token */
    uint64_t pair_mask;
};

#define PAIR_USED (1ull << 63)

/* ---------------------------------------------------------------------------------------------
 * GPT-2's byte-to-unicode alphabet: printable bytes stand for themselves, the 68 others (0x00-
 * 0x20, 0x7F-0xA0, 0xAD) for U+0100.. in byte order.
 * ------------------------------------------------------------------------------------------- */

static bool byte_is_printable(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/* Byte of code point c, or -1 if c is not in the alphabet. */
static int alphabet_byte(uint32_t c) {
    if (c < 256) return byte_is_printable(c) ? (int)c : -1;
    if (c >= 256 + 68) return -1;
    uint32_t n = c - 256;
    for (unsigned b = 0; b < 256; b++)
        if (!byte_is_printable(b) && n-- == 0) return (int)b;
    return -1;
}

int64_t tok_byte_level_decode(const char *s, size_t len, char *out) {
    const uint8_t *u = (const uint8_t *)s;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        if (u[i] < 0x80) {
            c = u[i], i += 1;
        } else if ((u[i] & 0xE0) == 0xC0 && i + 1 < len && (u[i + 1] & 0xC0) == 0x80) {
            c = (uint32_t)(u[i] & 0x1F) << 6 | (u[i + 1] & 0x3F), i += 2;
            if (c < 0x80) return -1;
        } else {
            return -1; /* the alphabet lies below U+0800: two bytes at most */
        }
        int b = alphabet_byte(c);
        if (b < 0) return -1;
        out[n++] = (char)b;
    }
    return (int64_t)n;
}

/* ---------------------------------------------------------------------------------------------
 * Pre-tokenizers: llama.cpp's regex lists (llm_tokenizer_bpe, c392e50), by tokenizer.ggml.pre.
 * Case-insensitive contractions are spelled out ('[sS]) as llama.cpp adapted them, so that
 * Unicode case folding cannot widen them.
 * ------------------------------------------------------------------------------------------- */

#define GPT2_RE "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define LLAMA3_RE                                                                              \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"  \
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2_RE                                                                               \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"  \
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static const char *const re_default[] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2_RE, "\\p{N}+",
                                          "[0-9][0-9][0-9]", NULL};
static const char *const re_gpt2[] = {GPT2_RE, NULL};
static const char *const re_llama3[] = {LLAMA3_RE, NULL};
static const char *const re_qwen2[] = {QWEN2_RE, NULL};
static const char *const re_starcoder[] = {"\\p{N}", GPT2_RE, NULL};
static const char *const re_falcon[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|`]+",
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    "[0-9][0-9][0-9]", NULL};
static const char *const re_deepseek_llm[] = {
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
    NULL};
static const char *const re_deepseek_coder[] = {
    "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}", NULL};
static const char *const re_deepseek3[] = {
    "\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
    "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_poro[] = {" ?[^(\\s|.,!?…。，、।۔،)]+", NULL};
static const char *const re_viking[] = {" ?[^(\\s|.,!?…。，、।۔،)]+", "\\p{N}", NULL};

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const tok_pre pre_table[] = {
    {NAMES("default"), re_default, false, false, false},
    {NAMES("llama3", "llama-v3", "llama-bpe", "falcon3"), re_llama3, true, true, false},
    {NAMES("dbrx", "smaug-bpe"), re_llama3, false, false, false},
    {NAMES("chatglm-bpe"), re_llama3, false, false, true},
    {NAMES("deepseek-llm"), re_deepseek_llm, false, false, false},
    {NAMES("deepseek-coder"), re_deepseek_coder, false, false, false},
    {NAMES("deepseek-v3"), re_deepseek3, false, false, false},
    {NAMES("falcon"), re_falcon, false, false, false},
    {NAMES("starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"),
     re_starcoder, false, false, false},
    {NAMES("gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es",
           "jina-v2-de", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais"),
     re_gpt2, false, false, false},
    {NAMES("qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"), re_qwen2, false, false, false},
    {NAMES("poro-chat", "bloom", "gpt3-finnish"), re_poro, false, false, false},
    {NAMES("viking"), re_viking, false, false, false},
};

const tok_pre *tok_pre_find(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof pre_table / sizeof pre_table[0]; i++)
        for (const char *const *n = pre_table[i].names; *n; n++)
            if (strlen(*n) == len && memcmp(*n, name, len) == 0) return &pre_table[i];
    return NULL;
}

int32_t tok_pre_count(const tok_pre *p) {
    int32_t n = 0;
    while (p->regexes[n]) n++;
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * Building: patterns and merge table
 * ------------------------------------------------------------------------------------------- */

static void *pcre_alloc(PCRE2_SIZE size, void *data) {
    (void)data;
    return ward_malloc(size);
}

static void pcre_free(void *p, void *data) {
    (void)data;
    ward_free(p);
}

static uint64_t pair_hash(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    return key ^ (key >> 33);
}

/* Slot of key, or of the empty slot where it would go. */
static uint64_t pair_slot(const tok_bpe *b, uint64_t key) {
    uint64_t i = pair_hash(key) & b->pair_mask;
    while (b->pair_key[i] && b->pair_key[i] != key) i = (i + 1) & b->pair_mask;
    return i;
}

/* Id of the non-literal token with these bytes, or -1. */
static int32_t lookup_plain(const tok_vocab *v, const char *s, size_t len) {
    int32_t id = tok_lookup(v, s, len);
    return id >= 0 && !(v->tokens[id].flags & TOK_F_LITERAL) ? id : -1;
}

static ward_status compile_patterns(tok_bpe *b, const tok_desc *d, ward_error *err) {
    if (d->n_pre < 0 || d->n_pre > 64 || (d->n_pre > 0 && !d->pre_regexes))
        return WARD_FAIL(err, WARD_EINVAL, "tokenizer: %d pre-tokenizer patterns", d->n_pre);
    b->gctx = pcre2_general_context_create(pcre_alloc, pcre_free, NULL);
    pcre2_compile_context *cctx = b->gctx ? pcre2_compile_context_create(b->gctx) : NULL;
    b->pre = ward_calloc((size_t)(d->n_pre ? d->n_pre : 1), sizeof *b->pre);
    if (!cctx || !b->pre) {
        pcre2_compile_context_free(cctx);
        return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for the pre-tokenizer");
    }
    ward_status rc = WARD_OK;
    for (int32_t i = 0; i < d->n_pre && rc == WARD_OK; i++) {
        int code;
        PCRE2_SIZE at;
        const char *re = d->pre_regexes[i];
        b->pre[i] = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &code, &at, cctx);
        if (!b->pre[i]) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(code, msg, sizeof msg);
            rc = code == PCRE2_ERROR_HEAPLIMIT || strstr((char *)msg, "memory")
                     ? WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for a pattern")
                     : WARD_FAIL(err, WARD_EFORMAT,
                                 "tokenizer: pre-tokenizer pattern %d: %s at offset %zu", i,
                                 (char *)msg, (size_t)at);
            break;
        }
        b->n_pre = i + 1;
        pcre2_jit_compile(b->pre[i], PCRE2_JIT_COMPLETE); /* optional: the interpreter remains */
    }
    pcre2_compile_context_free(cctx);
    return rc;
}

/* Index "left right" merges by (left id, right id); the merged bytes must be a token too. */
static ward_status index_merges(tok_bpe *b, const tok_vocab *v, const tok_desc *d,
                                ward_error *err) {
    if (d->n_merges > INT32_MAX)
        return WARD_FAIL(err, WARD_EFORMAT, "tokenizer: %llu merges is too many",
                         (unsigned long long)d->n_merges);
    uint64_t cap = 16;
    while (cap < 2 * d->n_merges) cap *= 2;
    b->pair_key = ward_calloc(cap, sizeof *b->pair_key);
    b->pair_rank = ward_malloc(cap * sizeof *b->pair_rank);
    b->pair_id = ward_malloc(cap * sizeof *b->pair_id);
    char *buf = ward_malloc((size_t)v->max_token_len * 4 + 8);
    ward_status rc = WARD_OK;
    if (!b->pair_key || !b->pair_rank || !b->pair_id || !buf) {
        rc = WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory for %llu merges",
                       (unsigned long long)d->n_merges);
        goto done;
    }
    b->pair_mask = cap - 1;
    b->has_merges = true;
    for (uint64_t i = 0; i < d->n_merges; i++) {
        const char *m = d->merges[i];
        size_t len = d->merge_lens[i];
        int shown = len > 60 ? 60 : (int)len;
        const char *sp = len > 1 ? memchr(m + 1, ' ', len - 1) : NULL;
        if (!sp) {
            rc = WARD_FAIL(err, WARD_EFORMAT, "tokenizer: merge %llu \"%.*s\" is not \"left right\"",
                           (unsigned long long)i, shown, m);
            goto done;
        }
        size_t nl = (size_t)(sp - m), nr = len - nl - 1, max = v->max_token_len;
        int64_t dl = -1, dr = -1; /* decoded lengths; a part longer than 2 * max is no token */
        if (nl <= 2 * max && nr <= 2 * max) {
            if (d->byte_level) {
                dl = tok_byte_level_decode(m, nl, buf);
                dr = dl >= 0 ? tok_byte_level_decode(sp + 1, nr, buf + dl) : -1;
            } else {
                memcpy(buf, m, nl), memcpy(buf + nl, sp + 1, nr);
                dl = (int64_t)nl, dr = (int64_t)nr;
            }
        }
        int32_t l = dl > 0 ? lookup_plain(v, buf, (size_t)dl) : -1;
        int32_t r = dr > 0 && l >= 0 ? lookup_plain(v, buf + dl, (size_t)dr) : -1;
        int32_t id = r >= 0 ? lookup_plain(v, buf, (size_t)(dl + dr)) : -1;
        if (id < 0) {
            rc = WARD_FAIL(err, WARD_EFORMAT, "tokenizer: merge %llu \"%.*s\": %s is not a token",
                           (unsigned long long)i, shown, m,
                           l < 0 ? "its left part" : r < 0 ? "its right part" : "the result");
            goto done;
        }
        uint64_t key = (uint64_t)l << 32 | (uint32_t)r | PAIR_USED;
        uint64_t slot = pair_slot(b, key);
        if (b->pair_key[slot]) continue; /* a repeated pair keeps its first rank (llama.cpp) */
        b->pair_key[slot] = key;
        b->pair_rank[slot] = (int32_t)i;
        b->pair_id[slot] = id;
    }
done:
    ward_free(buf);
    return rc;
}

ward_status tok_bpe_init(tok_vocab *v, const tok_desc *d, ward_error *err) {
    tok_bpe *b = ward_calloc(1, sizeof *b);
    if (!b) return WARD_FAIL(err, WARD_ENOMEM, "tokenizer: no memory");
    v->bpe = b;
    b->ignore_merges = d->ignore_merges;
    b->nfc = d->nfc;
    ward_status rc = compile_patterns(b, d, err);
    if (rc == WARD_OK && d->n_merges > 0) {
        if (!d->merges || !d->merge_lens)
            return WARD_FAIL(err, WARD_EINVAL, "tokenizer: merges missing");
        rc = index_merges(b, v, d, err);
    }
    return rc;
}

void tok_bpe_free(tok_bpe *b) {
    if (!b) return;
    for (int32_t i = 0; i < b->n_pre; i++) pcre2_code_free(b->pre[i]);
    ward_free(b->pre);
    pcre2_general_context_free(b->gctx);
    ward_free(b->pair_key);
    ward_free(b->pair_rank);
    ward_free(b->pair_id);
    ward_free(b);
}

/* ---------------------------------------------------------------------------------------------
 * Encoding: cleaning and normalization
 * ------------------------------------------------------------------------------------------- */

/* One code point as llama.cpp's unicode_cpt_from_utf8 reads it: *adv bytes, or -1 (then
 * *adv == 1) for a byte that starts no well-formed sequence. */
static int32_t read_cpt(const uint8_t *s, size_t len, size_t *adv) {
    uint8_t c = s[0];
    *adv = 1;
    if (c < 0x80) return c;
    if (!(c & 0x40)) return -1;
    size_t n = !(c & 0x20) ? 2 : !(c & 0x10) ? 3 : !(c & 0x08) ? 4 : 0;
    if (n == 0 || n > len) return -1;
    uint32_t cpt = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return -1;
        cpt = cpt << 6 | (s[i] & 0x3F);
    }
    *adv = n;
    return (int32_t)cpt;
}

static size_t put_utf8(uint32_t c, uint8_t *out) {
    if (c < 0x80) return out[0] = (uint8_t)c, 1;
    if (c < 0x800) return out[0] = (uint8_t)(0xC0 | c >> 6), out[1] = (uint8_t)(0x80 | (c & 0x3F)), 2;
    if (c < 0x10000) {
        out[0] = (uint8_t)(0xE0 | c >> 12), out[1] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | c >> 18), out[1] = (uint8_t)(0x80 | (c >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (c >> 6 & 0x3F)), out[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

/* Clean s into out (room for 3 * len bytes), or with out == NULL only say whether anything
 * would change. Returns the cleaned length; *ascii tells whether every byte is < 0x80. */
static size_t clean_utf8(const uint8_t *s, size_t len, uint8_t *out, bool *changed, bool *ascii) {
    size_t n = 0;
    *changed = false, *ascii = true;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) {
            if (out) out[n] = s[i];
            n++, i++;
            continue;
        }
        *ascii = false;
        size_t adv;
        int32_t c = read_cpt(s + i, len - i, &adv);
        if (c < 0 || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) c = 0xFFFD;
        uint8_t tmp[4];
        size_t k = put_utf8((uint32_t)c, tmp);
        if (k != adv || memcmp(tmp, s + i, k) != 0) *changed = true;
        if (out) memcpy(out + n, tmp, k);
        n += k, i += adv;
    }
    return n;
}

/* NFC of valid UTF-8 into a new buffer (*out, caller frees with ward_free). */
static ward_status nfc(const char *s, size_t len, char **out, size_t *out_len) {
    const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    utf8proc_ssize_t n = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len,
                                            NULL, 0, opt);
    if (n < 0) return WARD_FAIL(NULL, WARD_EINVAL, "tokenizer: NFC: %s", utf8proc_errmsg(n));
    utf8proc_int32_t *buf = ward_malloc(((size_t)n + 1) * sizeof *buf);
    if (!buf) return WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for NFC");
    n = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, buf, n, opt);
    if (n >= 0) n = utf8proc_reencode(buf, n, opt);
    if (n < 0) {
        ward_free(buf);
        return WARD_FAIL(NULL, WARD_EINVAL, "tokenizer: NFC: %s", utf8proc_errmsg(n));
    }
    *out = (char *)buf;
    *out_len = (size_t)n;
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Encoding: merges within one piece
 * ------------------------------------------------------------------------------------------- */

typedef struct bpe_sym {
    int32_t prev, next; /* neighbours in the piece, -1 at the ends */
    int32_t id;         /* the token these bytes are, or -1 */
    uint32_t off, n;    /* bytes [off, off + n) of the text; n == 0 once merged away */
} bpe_sym;

typedef struct bpe_pair {
    int32_t left, right, rank, id;
    uint32_t size; /* bytes of the pair when pushed: a pair whose symbols changed is stale */
} bpe_pair;

typedef struct bpe_run {
    const tok_vocab *v;
    const tok_bpe *b;
    const char *text;
    tok_sink *sink;
    pcre2_match_data *md;
    bpe_sym *sym;
    size_t cap_sym;
    bpe_pair *heap;
    size_t n_heap, cap_heap;
} bpe_run;

/* True when a should be popped after b (llama.cpp's llm_bigram_bpe::comparator). */
static bool pair_after(const bpe_pair *a, const bpe_pair *b) {
    return a->rank > b->rank || (a->rank == b->rank && a->left > b->left);
}

static void heap_push(bpe_run *r, bpe_pair p) {
    assert(r->n_heap < r->cap_heap);
    size_t i = r->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!pair_after(&r->heap[parent], &p)) break;
        r->heap[i] = r->heap[parent];
        i = parent;
    }
    r->heap[i] = p;
}

static bpe_pair heap_pop(bpe_run *r) {
    bpe_pair top = r->heap[0], last = r->heap[--r->n_heap];
    size_t i = 0, n = r->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_after(&r->heap[c], &r->heap[c + 1])) c++;
        if (!pair_after(&last, &r->heap[c])) break;
        r->heap[i] = r->heap[c];
        i = c;
    }
    if (n > 0) r->heap[i] = last;
    return top;
}

/* Queue (left, right) if the pair merges. */
static void try_pair(bpe_run *r, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const bpe_sym *a = &r->sym[left], *c = &r->sym[right];
    const tok_bpe *b = r->b;
    int32_t rank, id;
    if (b->has_merges) {
        if (a->id < 0 || c->id < 0) return;
        uint64_t slot = pair_slot(b, (uint64_t)a->id << 32 | (uint32_t)c->id | PAIR_USED);
        if (!b->pair_key[slot]) return;
        rank = b->pair_rank[slot], id = b->pair_id[slot];
    } else {
        id = lookup_plain(r->v, r->text + a->off, (size_t)a->n + c->n);
        if (id < 0) return;
        rank = id;
    }
    heap_push(r, (bpe_pair){left, right, rank, id, a->n + c->n});
}

static ward_status bpe_piece(bpe_run *r, size_t start, size_t end) {
    const tok_vocab *v = r->v;
    size_t n = end - start;
    if (n == 0) return WARD_OK;
    const uint8_t *s = (const uint8_t *)r->text + start;
    if (n == 1) {
        if (v->byte_token[s[0]] >= 0) tok_sink_push(r->sink, v->byte_token[s[0]]);
        return WARD_OK;
    }
    if (r->b->ignore_merges) {
        int32_t id = lookup_plain(v, (const char *)s, n);
        if (id >= 0) {
            tok_sink_push(r->sink, id);
            return WARD_OK;
        }
    }
    if (n > r->cap_sym) { /* each merge pushes at most two pairs: 3n bounds the heap */
        size_t cap = n > 2 * r->cap_sym ? n : 2 * r->cap_sym;
        bpe_sym *sym = ward_realloc(r->sym, cap * sizeof *sym);
        if (sym) r->sym = sym;
        bpe_pair *heap = sym ? ward_realloc(r->heap, 3 * cap * sizeof *heap) : NULL;
        if (!heap) return WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for merges");
        r->heap = heap, r->cap_sym = cap, r->cap_heap = 3 * cap;
    }
    for (size_t i = 0; i < n; i++)
        r->sym[i] = (bpe_sym){(int32_t)i - 1, i + 1 == n ? -1 : (int32_t)i + 1,
                              v->byte_token[s[i]], (uint32_t)(start + i), 1};
    r->n_heap = 0;
    for (size_t i = 1; i < n; i++) try_pair(r, (int32_t)i - 1, (int32_t)i);
    while (r->n_heap > 0) {
        bpe_pair p = heap_pop(r);
        bpe_sym *left = &r->sym[p.left], *right = &r->sym[p.right];
        if (left->n == 0 || right->n == 0 || left->n + right->n != p.size) continue;
        left->n += right->n;
        left->id = p.id;
        right->n = 0;
        left->next = right->next;
        if (right->next >= 0) r->sym[right->next].prev = p.left;
        try_pair(r, left->prev, p.left);
        try_pair(r, p.left, left->next);
    }
    for (int32_t i = 0; i != -1; i = r->sym[i].next) {
        const bpe_sym *sym = &r->sym[i];
        int32_t id = sym->id >= 0 ? sym->id : lookup_plain(v, r->text + sym->off, sym->n);
        if (id >= 0) {
            tok_sink_push(r->sink, id);
            continue;
        }
        for (uint32_t j = 0; j < sym->n; j++) {
            int32_t bt = v->byte_token[(uint8_t)r->text[sym->off + j]];
            if (bt >= 0) tok_sink_push(r->sink, bt);
        }
    }
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Encoding: pre-tokenizer
 * ------------------------------------------------------------------------------------------- */

static size_t utf8_char_len(uint8_t c) {
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Split text[start, end) with pattern `level` and hand matches and gaps to the next level. */
static ward_status split(bpe_run *r, int32_t level, size_t start, size_t end) {
    if (level == r->b->n_pre) return bpe_piece(r, start, end);
    const pcre2_code *re = r->b->pre[level];
    PCRE2_SPTR subject = (PCRE2_SPTR)r->text + start;
    size_t len = end - start, off = 0, prev = 0;
    ward_status rc = WARD_OK;
    while (off < len && rc == WARD_OK) {
        int m = pcre2_match(re, subject, len, off, PCRE2_NO_UTF_CHECK, r->md, NULL);
        if (m == PCRE2_ERROR_JIT_STACKLIMIT)
            m = pcre2_match(re, subject, len, off, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, r->md, NULL);
        if (m == PCRE2_ERROR_NOMATCH) break;
        if (m == PCRE2_ERROR_NOMEMORY || m == PCRE2_ERROR_HEAPLIMIT)
            return WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for the pre-tokenizer");
        if (m < 0)
            return WARD_FAIL(NULL, WARD_EUNSUPPORTED, "tokenizer: pre-tokenizer failed (PCRE2 %d)",
                             m);
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        size_t m0 = ov[0], m1 = ov[1];
        if (m1 <= m0) { /* an empty match splits nothing: try again one character on */
            off = m0 + utf8_char_len(subject[m0]);
            continue;
        }
        if (m0 > prev) rc = split(r, level + 1, start + prev, start + m0);
        if (rc == WARD_OK) rc = split(r, level + 1, start + m0, start + m1);
        prev = off = m1;
    }
    if (rc == WARD_OK && prev < len) rc = split(r, level + 1, start + prev, end);
    return rc;
}

ward_status tok_bpe_encode_run(const tok_vocab *v, const char *text, size_t len,
                               tok_sink *sink) {
    assert(v->bpe && len > 0);
    if (len > BPE_MAX_RUN) return WARD_FAIL(NULL, WARD_EINVAL, "tokenizer: text too long");
    const tok_bpe *b = v->bpe;
    bpe_run r = {.v = v, .b = b, .text = text, .sink = sink};
    char *clean = NULL, *normal = NULL;
    ward_status rc = WARD_OK;

    bool changed, ascii;
    size_t n = clean_utf8((const uint8_t *)text, len, NULL, &changed, &ascii);
    if (changed) {
        clean = ward_malloc(n);
        if (!clean) {
            rc = WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for %zu bytes of text", len);
            goto done;
        }
        clean_utf8((const uint8_t *)text, len, (uint8_t *)clean, &changed, &ascii);
        r.text = clean, len = n;
    }
    if (b->nfc && !ascii) {
        if ((rc = nfc(r.text, len, &normal, &len)) != WARD_OK) goto done;
        r.text = normal;
    }
    if (b->n_pre > 0) {
        r.md = pcre2_match_data_create(1, b->gctx);
        if (!r.md) {
            rc = WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for the pre-tokenizer");
            goto done;
        }
    }
    rc = split(&r, 0, 0, len);
done:
    pcre2_match_data_free(r.md);
    ward_free(r.sym);
    ward_free(r.heap);
    ward_free(clean);
    ward_free(normal);
    return rc;
}
