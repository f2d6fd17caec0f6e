/* hf_json.c: HuggingFace tokenizer.json files (BPE models) into a tok_vocab.
 *
 * Design
 *   The JSON is parsed with cJSON (from a NUL-terminated copy; the parse end pointer comes from
 *   cJSON_ParseWithLengthOpts, never from the cJSON_GetErrorPtr global) and read in one pass per
 *   section into an hf_state that owns every array; the tok_desc points into it and into the
 *   cJSON tree, and tok_vocab_build() copies what it keeps. cJSON's own tree is allocated by
 *   cJSON's malloc (routing it through ward_malloc would need the global cJSON_InitHooks).
 *
 * What is read, and what it becomes
 *   model            type "BPE" (Unigram, WordPiece, WordLevel: unsupported); vocab {text: id};
 *                    merges as "a b" strings or [a, b] pairs; unk_token; byte_fallback;
 *                    ignore_merges. dropout, continuing_subword_prefix, end_of_word_suffix must
 *                    be unset.
 *   added_tokens     [{id, content, special}]: special -> control, else user-defined. An id
 *                    already in model.vocab must carry the same text.
 *   normalizer       NFC -> nfc; Prepend "▁" and Replace " " -> "▁" (SentencePiece style); in
 *                    Sequences. Anything else is unsupported, by name.
 *   pre_tokenizer    ByteLevel (use_regex adds GPT-2's regex) -> byte_level; Split (Regex or
 *                    String pattern, behavior Isolated) and Digits -> regexes in order;
 *                    Metaspace ("▁", split false) -> SentencePiece style; in Sequences.
 *   post_processor   TemplateProcessing: a special token before $A is BOS (add_bos), one after
 *                    it EOS (add_eos); ByteLevel ignored; in Sequences.
 *   tokenizer_config.json (optional, beside the file): bos/eos/unk/pad_token names and
 *                    add_bos_token / add_eos_token, which override the post-processor.
 *   Byte-level files become TOK_ALGO_BPE. "SentencePiece in BPE clothing" files (Llama, MiniCPM:
 *   spaces to "▁", a "▁" prefix, byte fallback, no pre-tokenizer) become TOK_ALGO_SPM, each
 *   token scored -(rank of the first merge that makes it), so merging by score is merging by
 *   rank; "<0xXX>" tokens become byte tokens when byte_fallback is set.
 *
 * Validation: file size (512 MB), JSON syntax (with the byte offset), every member's JSON type,
 * ids integral, in range, unique and without holes, texts non-empty and unique, merges made of
 * known tokens whose concatenation is a token (the message names the merge), special-token names.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "formats/hf_config.h"
#include "base/filemap.h"
#include "tokenizer/tok.h"

#define HF_MAX_FILE ((size_t)512 << 20)
#define HF_MAX_VOCAB (1 << 24)
#define HF_MAX_PRE 16  /* pre-tokenizer regexes */
#define HF_MAX_DEPTH 8 /* nested Sequences */
#define SP_MARK "\xe2\x96\x81" /* U+2581, SentencePiece's space */

/* The pre-tokenizer regex of GPT-2 (HF ByteLevel with use_regex). */
static const char gpt2_regex[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

typedef struct hf_state {
    /* tokens, by id */
    int32_t n_vocab;
    const char **texts; /* (n_vocab) into the cJSON tree */
    uint32_t *lens;     /* (n_vocab) */
    int32_t *types;     /* (n_vocab) tok_attr */
    float *scores;      /* (n_vocab) SentencePiece style only */
    int32_t *index;     /* (index_mask + 1) text hash -> id, -1 = empty slot */
    uint32_t index_mask;
    /* merges, as "left right" strings */
    uint64_t n_merges;
    const char **merges; /* (n_merges) into merge_buf */
    uint32_t *merge_lens;
    char *merge_buf;
    char *scratch; /* a merge's concatenation, for the lookup */
    size_t scratch_cap;
    /* normalizer, pre-tokenizer */
    int32_t n_pre;
    const char *pre[HF_MAX_PRE];
    char *pre_owned[HF_MAX_PRE]; /* escaped String patterns */
    bool byte_level, prepend, replace_space, nfc, metaspace;
    /* model options and special tokens */
    bool byte_fallback, ignore_merges;
    int32_t bos, eos, unk, pad;
    bool add_bos, add_eos;
} hf_state;

static void hf_state_free(hf_state *s) {
    ward_free(s->texts);
    ward_free(s->lens);
    ward_free(s->types);
    ward_free(s->scores);
    ward_free(s->index);
    ward_free(s->merges);
    ward_free(s->merge_lens);
    ward_free(s->merge_buf);
    ward_free(s->scratch);
    for (int i = 0; i < HF_MAX_PRE; i++) ward_free(s->pre_owned[i]);
}

/* ---------------------------------------------------------------------------------------------
 * JSON helpers
 * ------------------------------------------------------------------------------------------- */

/* Parsing and type names: hf_json_parse / hf_json_type (formats/hf_config.h), shared with
 * config.json. */

static const cJSON *member(const cJSON *obj, const char *key) {
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

static bool absent(const cJSON *j) { return !j || cJSON_IsNull(j); }

/* Optional boolean member: absent/null keeps *out. */
static ward_status get_bool(const cJSON *obj, const char *where, const char *key, bool *out,
                            ward_error *err) {
    const cJSON *j = member(obj, key);
    if (absent(j)) return WARD_OK;
    if (!cJSON_IsBool(j))
        return WARD_FAIL(err, WARD_EFORMAT, "%s.%s is %s, expected a boolean", where, key,
                         hf_json_type(j));
    *out = cJSON_IsTrue(j);
    return WARD_OK;
}

/* Optional string member: absent/null gives NULL. */
static ward_status get_str(const cJSON *obj, const char *where, const char *key,
                           const char **out, ward_error *err) {
    const cJSON *j = member(obj, key);
    *out = NULL;
    if (absent(j)) return WARD_OK;
    if (!cJSON_IsString(j))
        return WARD_FAIL(err, WARD_EFORMAT, "%s.%s is %s, expected a string", where, key,
                         hf_json_type(j));
    *out = j->valuestring;
    return WARD_OK;
}

/* The "type" of a component object, or an error naming where. */
static ward_status get_type(const cJSON *obj, const char *where, const char **out,
                            ward_error *err) {
    if (!cJSON_IsObject(obj))
        return WARD_FAIL(err, WARD_EFORMAT, "%s is %s, expected an object", where,
                         hf_json_type(obj));
    ward_status rc = get_str(obj, where, "type", out, err);
    if (rc == WARD_OK && !*out)
        rc = WARD_FAIL(err, WARD_EFORMAT, "%s has no \"type\"", where);
    return rc;
}

/* A token id: an integral number in [0, limit). */
static bool json_id(const cJSON *j, int32_t limit, int32_t *out) {
    if (!cJSON_IsNumber(j)) return false;
    double d = j->valuedouble;
    if (!(d >= 0 && d < (double)limit) || d != floor(d)) return false;
    *out = (int32_t)d;
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * Vocabulary: ids, texts, index
 * ------------------------------------------------------------------------------------------- */

static uint64_t text_hash(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h ^ (h >> 31);
}

static int32_t lookup(const hf_state *s, const char *t, size_t len) {
    for (uint32_t i = (uint32_t)text_hash(t, len) & s->index_mask;; i = (i + 1) & s->index_mask) {
        int32_t id = s->index[i];
        if (id < 0) return -1;
        if (s->lens[id] == len && memcmp(s->texts[id], t, len) == 0) return id;
    }
}

static int32_t lookup_cstr(const hf_state *s, const char *t) { return lookup(s, t, strlen(t)); }

/* Shortened text for messages. */
#define SHOW(t) (int)(strlen(t) > 48 ? 48 : strlen(t)), (t)

static ward_status set_token(hf_state *s, int32_t id, const char *text, int32_t type,
                             const char *where, ward_error *err) {
    if (!text[0]) return WARD_FAIL(err, WARD_EFORMAT, "%s: token %d has an empty text", where, id);
    if (s->texts[id]) {
        if (strcmp(s->texts[id], text) != 0)
            return WARD_FAIL(err, WARD_EFORMAT, "%s: id %d is both \"%.*s\" and \"%.*s\"", where,
                             id, SHOW(s->texts[id]), SHOW(text));
        if (type != TOK_TYPE_NORMAL) s->types[id] = type;
        return WARD_OK;
    }
    s->texts[id] = text;
    s->lens[id] = (uint32_t)strlen(text); /* < 512 MB */
    s->types[id] = type;
    return WARD_OK;
}

static ward_status read_vocab(hf_state *s, const cJSON *model, const cJSON *added,
                              ward_error *err) {
    const cJSON *vocab = member(model, "vocab");
    if (!cJSON_IsObject(vocab))
        return WARD_FAIL(err, WARD_EFORMAT, "model.vocab is %s, expected an object",
                         hf_json_type(vocab));
    if (!absent(added) && !cJSON_IsArray(added))
        return WARD_FAIL(err, WARD_EFORMAT, "added_tokens is %s, expected an array",
                         hf_json_type(added));
    /* ids must cover 0..n_vocab-1 without holes, so each is below the number of entries */
    uint64_t entries = (uint64_t)cJSON_GetArraySize(vocab) +
                       (absent(added) ? 0 : (uint64_t)cJSON_GetArraySize(added));
    if (entries == 0) return WARD_FAIL(err, WARD_EFORMAT, "model.vocab is empty");
    if (entries > HF_MAX_VOCAB)
        return WARD_FAIL(err, WARD_EFORMAT, "%llu tokens is too many",
                         (unsigned long long)entries);
    int32_t limit = (int32_t)entries, id = -1, max_id = -1;
    const cJSON *j;
    cJSON_ArrayForEach(j, vocab) {
        if (!json_id(j, limit, &id))
            return WARD_FAIL(err, WARD_EFORMAT,
                             "model.vocab \"%.*s\": id is not an integer in [0, %d)",
                             SHOW(j->string), limit);
        if (id > max_id) max_id = id;
    }
    int i = 0;
    if (!absent(added)) cJSON_ArrayForEach(j, added) {
        if (!json_id(member(j, "id"), limit, &id))
            return WARD_FAIL(err, WARD_EFORMAT, "added_tokens[%d]: id is not an integer in [0, %d)",
                             i, limit);
        if (id > max_id) max_id = id;
        i++;
    }
    s->n_vocab = max_id + 1;
    size_t n = (size_t)s->n_vocab;
    s->texts = ward_calloc(n, sizeof *s->texts);
    s->lens = ward_calloc(n, sizeof *s->lens);
    s->types = ward_calloc(n, sizeof *s->types);
    if (!s->texts || !s->lens || !s->types)
        return WARD_FAIL(err, WARD_ENOMEM, "no memory for %d tokens", s->n_vocab);

    ward_status rc;
    cJSON_ArrayForEach(j, vocab) {
        json_id(j, limit, &id);
        if ((rc = set_token(s, id, j->string, TOK_TYPE_NORMAL, "model.vocab", err)) != WARD_OK)
            return rc;
    }
    i = 0;
    if (!absent(added)) cJSON_ArrayForEach(j, added) {
        char where[48];
        snprintf(where, sizeof where, "added_tokens[%d]", i++);
        const char *content;
        bool special = false;
        if ((rc = get_str(j, where, "content", &content, err)) != WARD_OK ||
            (rc = get_bool(j, where, "special", &special, err)) != WARD_OK)
            return rc;
        if (!content) return WARD_FAIL(err, WARD_EFORMAT, "%s has no content", where);
        json_id(member(j, "id"), limit, &id);
        int32_t type = special ? TOK_TYPE_CONTROL : TOK_TYPE_USER_DEFINED;
        if ((rc = set_token(s, id, content, type, where, err)) != WARD_OK) return rc;
    }
    for (id = 0; id < s->n_vocab; id++)
        if (!s->texts[id])
            return WARD_FAIL(err, WARD_EFORMAT,
                             "token id %d is in neither model.vocab nor added_tokens", id);

    /* the index; a text seen twice is an error */
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)s->n_vocab) cap *= 2;
    s->index = ward_malloc((size_t)cap * sizeof *s->index);
    if (!s->index) return WARD_FAIL(err, WARD_ENOMEM, "no memory for the token index");
    memset(s->index, 0xff, (size_t)cap * sizeof *s->index);
    s->index_mask = (uint32_t)(cap - 1);
    for (id = 0; id < s->n_vocab; id++) {
        int32_t prev = lookup(s, s->texts[id], s->lens[id]);
        if (prev >= 0)
            return WARD_FAIL(err, WARD_EFORMAT, "tokens %d and %d have the same text \"%.*s\"",
                             prev, id, SHOW(s->texts[id]));
        uint32_t k = (uint32_t)text_hash(s->texts[id], s->lens[id]) & s->index_mask;
        while (s->index[k] >= 0) k = (k + 1) & s->index_mask;
        s->index[k] = id;
    }
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Merges
 * ------------------------------------------------------------------------------------------- */

/* Split merge i into its two tokens; for "a b" strings the space is the only one. */
static ward_status merge_parts(const cJSON *m, uint64_t i, const char **a, size_t *la,
                               const char **b, size_t *lb, ward_error *err) {
    if (cJSON_IsString(m)) {
        const char *t = m->valuestring, *sp = strchr(t, ' ');
        if (!sp || sp == t || !sp[1] || strchr(sp + 1, ' '))
            return WARD_FAIL(err, WARD_EFORMAT,
                             "model.merges[%llu] \"%.*s\": not two tokens separated by a space",
                             (unsigned long long)i, SHOW(t));
        *a = t, *la = (size_t)(sp - t), *b = sp + 1, *lb = strlen(sp + 1);
        return WARD_OK;
    }
    const cJSON *x = cJSON_IsArray(m) ? cJSON_GetArrayItem(m, 0) : NULL;
    const cJSON *y = cJSON_IsArray(m) ? cJSON_GetArrayItem(m, 1) : NULL;
    if (!cJSON_IsString(x) || !cJSON_IsString(y) || cJSON_GetArraySize(m) != 2)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "model.merges[%llu] is %s, expected \"a b\" or [\"a\", \"b\"]",
                         (unsigned long long)i, hf_json_type(m));
    *a = x->valuestring, *la = strlen(x->valuestring);
    *b = y->valuestring, *lb = strlen(y->valuestring);
    return WARD_OK;
}

/* Validate every merge; BPE: keep them as "a b" strings; SentencePiece style: score tokens. */
static ward_status read_merges(hf_state *s, const cJSON *model, bool spm, ward_error *err) {
    const cJSON *merges = member(model, "merges");
    if (absent(merges)) return WARD_OK;
    if (!cJSON_IsArray(merges))
        return WARD_FAIL(err, WARD_EFORMAT, "model.merges is %s, expected an array",
                         hf_json_type(merges));
    uint64_t n = (uint64_t)cJSON_GetArraySize(merges), total = 0, i = 0;
    const char *a, *b;
    size_t la, lb;
    ward_status rc;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        if ((rc = merge_parts(m, i++, &a, &la, &b, &lb, err)) != WARD_OK) return rc;
        total += la + lb + 2; /* bounded by the file size */
    }
    if (spm) {
        s->scores = ward_malloc((size_t)s->n_vocab * sizeof *s->scores);
        if (!s->scores) return WARD_FAIL(err, WARD_ENOMEM, "no memory for scores");
        for (int32_t id = 0; id < s->n_vocab; id++) s->scores[id] = 1.0f; /* unset */
    } else {
        s->merges = ward_malloc((size_t)(n ? n : 1) * sizeof *s->merges);
        s->merge_lens = ward_malloc((size_t)(n ? n : 1) * sizeof *s->merge_lens);
        s->merge_buf = ward_malloc((size_t)total + 1);
        if (!s->merges || !s->merge_lens || !s->merge_buf)
            return WARD_FAIL(err, WARD_ENOMEM, "no memory for %llu merges",
                             (unsigned long long)n);
    }

    size_t off = 0;
    i = 0;
    cJSON_ArrayForEach(m, merges) {
        merge_parts(m, i, &a, &la, &b, &lb, err);
        if (la + lb > s->scratch_cap) {
            size_t cap = 2 * (la + lb) + 64;
            char *p = ward_realloc(s->scratch, cap);
            if (!p) return WARD_FAIL(err, WARD_ENOMEM, "no memory for a merge");
            s->scratch = p, s->scratch_cap = cap;
        }
        memcpy(s->scratch, a, la);
        memcpy(s->scratch + la, b, lb);
        int32_t ia = lookup(s, a, la), ib = lookup(s, b, lb);
        int32_t ic = lookup(s, s->scratch, la + lb);
        if (ia < 0 || ib < 0 || ic < 0) {
            const char *what = ia < 0 ? a : ib < 0 ? b : s->scratch;
            size_t lw = ia < 0 ? la : ib < 0 ? lb : la + lb;
            return WARD_FAIL(err, WARD_EFORMAT,
                             "model.merges[%llu] \"%.*s %.*s\": \"%.*s\" is not in the vocabulary",
                             (unsigned long long)i, (int)(la > 48 ? 48 : la), a,
                             (int)(lb > 48 ? 48 : lb), b, (int)(lw > 48 ? 48 : lw), what);
        }
        if (spm) {
            if (s->scores[ic] > 0) s->scores[ic] = -(float)i;
        } else {
            if (memchr(a, ' ', la) || memchr(b, ' ', lb))
                return WARD_FAIL(err, WARD_EUNSUPPORTED,
                                 "model.merges[%llu]: tokens containing a space are not supported",
                                 (unsigned long long)i);
            s->merges[i] = s->merge_buf + off;
            s->merge_lens[i] = (uint32_t)(la + lb + 1);
            memcpy(s->merge_buf + off, a, la);
            s->merge_buf[off + la] = ' ';
            memcpy(s->merge_buf + off + la + 1, b, lb);
            s->merge_buf[off + la + 1 + lb] = '\0';
            off += la + lb + 2;
        }
        i++;
    }
    if (spm) { /* tokens no merge makes: below every merge */
        for (int32_t id = 0; id < s->n_vocab; id++)
            if (s->scores[id] > 0) s->scores[id] = -(float)n - 1.0f;
    } else {
        s->n_merges = n;
    }
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Normalizer and pre-tokenizer
 * ------------------------------------------------------------------------------------------- */

static ward_status push_regex(hf_state *s, const char *re, char *owned, ward_error *err) {
    if (s->n_pre == HF_MAX_PRE) {
        ward_free(owned);
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "pre_tokenizer: more than %d splits",
                         HF_MAX_PRE);
    }
    s->pre_owned[s->n_pre] = owned;
    s->pre[s->n_pre++] = re;
    return WARD_OK;
}

/* A literal string as a regex: every ASCII punctuation character escaped. */
static ward_status push_literal(hf_state *s, const char *lit, ward_error *err) {
    size_t n = strlen(lit);
    char *re = ward_malloc(2 * n + 1);
    if (!re) return WARD_FAIL(err, WARD_ENOMEM, "no memory for a pre-tokenizer pattern");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strchr("\\^$.|?*+()[]{}-#&~/ \t", lit[i])) re[k++] = '\\';
        re[k++] = lit[i];
    }
    re[k] = '\0';
    return push_regex(s, re, re, err);
}

static ward_status read_normalizer(hf_state *s, const cJSON *n, int depth, ward_error *err) {
    if (absent(n)) return WARD_OK;
    const char *type, *str;
    ward_status rc = get_type(n, "normalizer", &type, err);
    if (rc != WARD_OK) return rc;
    if (depth > HF_MAX_DEPTH)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "normalizer: Sequences nested too deeply");
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = member(n, "normalizers"), *j;
        if (!cJSON_IsArray(list))
            return WARD_FAIL(err, WARD_EFORMAT, "normalizer Sequence: normalizers is %s",
                             hf_json_type(list));
        cJSON_ArrayForEach(j, list) if ((rc = read_normalizer(s, j, depth + 1, err)) != WARD_OK)
            return rc;
        return WARD_OK;
    }
    if (strcmp(type, "NFC") == 0) {
        s->nfc = true;
        return WARD_OK;
    }
    if (strcmp(type, "Prepend") == 0) {
        if ((rc = get_str(n, "normalizer Prepend", "prepend", &str, err)) != WARD_OK) return rc;
        if (str && strcmp(str, SP_MARK) == 0) {
            s->prepend = true;
            return WARD_OK;
        }
    } else if (strcmp(type, "Replace") == 0) {
        const char *content;
        if ((rc = get_str(member(n, "pattern"), "normalizer Replace pattern", "String", &str,
                          err)) != WARD_OK ||
            (rc = get_str(n, "normalizer Replace", "content", &content, err)) != WARD_OK)
            return rc;
        if (str && content && strcmp(str, " ") == 0 && strcmp(content, SP_MARK) == 0) {
            s->replace_space = true;
            return WARD_OK;
        }
    }
    return WARD_FAIL(err, WARD_EUNSUPPORTED, "normalizer \"%.*s\" is not supported%s", SHOW(type),
                     strcmp(type, "Prepend") == 0 || strcmp(type, "Replace") == 0
                         ? " (only SentencePiece's \" \" -> \"\xe2\x96\x81\")" : "");
}

static ward_status read_pre(hf_state *s, const cJSON *p, int depth, ward_error *err) {
    if (absent(p)) return WARD_OK;
    const char *type;
    ward_status rc = get_type(p, "pre_tokenizer", &type, err);
    if (rc != WARD_OK) return rc;
    if (depth > HF_MAX_DEPTH)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "pre_tokenizer: Sequences nested too deeply");
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = member(p, "pretokenizers"), *j;
        if (!cJSON_IsArray(list))
            return WARD_FAIL(err, WARD_EFORMAT, "pre_tokenizer Sequence: pretokenizers is %s",
                             hf_json_type(list));
        cJSON_ArrayForEach(j, list) if ((rc = read_pre(s, j, depth + 1, err)) != WARD_OK)
            return rc;
        return WARD_OK;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        bool prefix = false, use_regex = true;
        if ((rc = get_bool(p, "pre_tokenizer ByteLevel", "add_prefix_space", &prefix, err)) ||
            (rc = get_bool(p, "pre_tokenizer ByteLevel", "use_regex", &use_regex, err)))
            return rc;
        if (prefix)
            return WARD_FAIL(err, WARD_EUNSUPPORTED,
                             "pre_tokenizer ByteLevel: add_prefix_space is not supported");
        s->byte_level = true;
        return use_regex ? push_regex(s, gpt2_regex, NULL, err) : WARD_OK;
    }
    if (strcmp(type, "Split") == 0) {
        const char *behavior, *re, *lit;
        bool invert = false;
        const cJSON *pat = member(p, "pattern");
        if ((rc = get_str(p, "pre_tokenizer Split", "behavior", &behavior, err)) ||
            (rc = get_bool(p, "pre_tokenizer Split", "invert", &invert, err)) ||
            (rc = get_str(pat, "pre_tokenizer Split pattern", "Regex", &re, err)) ||
            (rc = get_str(pat, "pre_tokenizer Split pattern", "String", &lit, err)))
            return rc;
        if (!re && !lit)
            return WARD_FAIL(err, WARD_EFORMAT, "pre_tokenizer Split: no Regex or String pattern");
        if (!behavior || strcmp(behavior, "Isolated") != 0 || invert)
            return WARD_FAIL(err, WARD_EUNSUPPORTED,
                             "pre_tokenizer Split: behavior \"%.*s\"%s is not supported (only "
                             "Isolated)", SHOW(behavior ? behavior : "(none)"),
                             invert ? " inverted" : "");
        return re ? push_regex(s, re, NULL, err) : push_literal(s, lit, err);
    }
    if (strcmp(type, "Digits") == 0) {
        bool single = false;
        if ((rc = get_bool(p, "pre_tokenizer Digits", "individual_digits", &single, err)))
            return rc;
        return push_regex(s, single ? "\\p{N}" : "\\p{N}+", NULL, err);
    }
    if (strcmp(type, "Metaspace") == 0) {
        const char *rep, *scheme;
        bool split = true, prefix = true;
        if ((rc = get_str(p, "pre_tokenizer Metaspace", "replacement", &rep, err)) ||
            (rc = get_str(p, "pre_tokenizer Metaspace", "prepend_scheme", &scheme, err)) ||
            (rc = get_bool(p, "pre_tokenizer Metaspace", "split", &split, err)) ||
            (rc = get_bool(p, "pre_tokenizer Metaspace", "add_prefix_space", &prefix, err)))
            return rc;
        if (scheme) prefix = strcmp(scheme, "never") != 0;
        bool known = !scheme || !strcmp(scheme, "first") || !strcmp(scheme, "always") ||
                     !strcmp(scheme, "never");
        if (!rep || strcmp(rep, SP_MARK) != 0 || split || !known)
            return WARD_FAIL(err, WARD_EUNSUPPORTED,
                             "pre_tokenizer Metaspace: only replacement \"\xe2\x96\x81\", split "
                             "false and prepend_scheme first/always/never are supported");
        s->metaspace = s->replace_space = true;
        s->prepend = s->prepend || prefix;
        return WARD_OK;
    }
    return WARD_FAIL(err, WARD_EUNSUPPORTED, "pre_tokenizer \"%.*s\" is not supported",
                     SHOW(type));
}

/* ---------------------------------------------------------------------------------------------
 * Post-processor and special tokens
 * ------------------------------------------------------------------------------------------- */

/* Id of special token `name` of a TemplateProcessing. */
static ward_status template_special(const hf_state *s, const cJSON *tp, const cJSON *item,
                                    int32_t *id, ward_error *err) {
    const char *name;
    ward_status rc = get_str(member(item, "SpecialToken"), "TemplateProcessing SpecialToken",
                             "id", &name, err);
    if (rc != WARD_OK) return rc;
    if (!name) return WARD_FAIL(err, WARD_EFORMAT, "TemplateProcessing: SpecialToken has no id");
    const cJSON *ids = member(member(member(tp, "special_tokens"), name), "ids");
    if (cJSON_IsArray(ids)) {
        if (cJSON_GetArraySize(ids) != 1 || !json_id(cJSON_GetArrayItem(ids, 0), s->n_vocab, id))
            return WARD_FAIL(err, WARD_EUNSUPPORTED,
                             "TemplateProcessing: special token \"%.*s\" is not one token id",
                             SHOW(name));
        return WARD_OK;
    }
    if ((*id = lookup_cstr(s, name)) < 0)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "TemplateProcessing: special token \"%.*s\" is not in the vocabulary",
                         SHOW(name));
    return WARD_OK;
}

static ward_status read_post(hf_state *s, const cJSON *p, int depth, ward_error *err) {
    if (absent(p)) return WARD_OK;
    const char *type;
    ward_status rc = get_type(p, "post_processor", &type, err);
    if (rc != WARD_OK) return rc;
    if (depth > HF_MAX_DEPTH)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "post_processor: Sequences nested too deeply");
    if (strcmp(type, "ByteLevel") == 0) return WARD_OK; /* offsets only */
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = member(p, "processors"), *j;
        if (!cJSON_IsArray(list))
            return WARD_FAIL(err, WARD_EFORMAT, "post_processor Sequence: processors is %s",
                             hf_json_type(list));
        cJSON_ArrayForEach(j, list) if ((rc = read_post(s, j, depth + 1, err)) != WARD_OK)
            return rc;
        return WARD_OK;
    }
    if (strcmp(type, "TemplateProcessing") != 0)
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "post_processor \"%.*s\" is not supported",
                         SHOW(type));
    const cJSON *single = member(p, "single"), *item;
    if (!cJSON_IsArray(single))
        return WARD_FAIL(err, WARD_EFORMAT, "TemplateProcessing: single is %s",
                         hf_json_type(single));
    int n_before = 0, n_after = 0;
    bool seen_seq = false;
    cJSON_ArrayForEach(item, single) {
        if (member(item, "Sequence")) {
            if (seen_seq)
                return WARD_FAIL(err, WARD_EUNSUPPORTED, "TemplateProcessing: two sequences");
            seen_seq = true;
            continue;
        }
        int32_t id = -1; /* set by template_special on success; gcc cannot tell */
        if ((rc = template_special(s, p, item, &id, err)) != WARD_OK) return rc;
        if (!seen_seq) s->bos = id, s->add_bos = true, n_before++;
        else s->eos = id, s->add_eos = true, n_after++;
    }
    if (!seen_seq || n_before > 1 || n_after > 1)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "TemplateProcessing: only [BOS] $A [EOS] templates are supported");
    return WARD_OK;
}

/* A *_token entry of tokenizer_config.json: "text", {"content": "text"} or null. */
static ward_status config_token(const hf_state *s, const cJSON *cfg, const char *key, int32_t *id,
                                ward_error *err) {
    const cJSON *j = member(cfg, key);
    if (absent(j)) return WARD_OK;
    if (cJSON_IsObject(j)) j = member(j, "content");
    if (!cJSON_IsString(j))
        return WARD_FAIL(err, WARD_EFORMAT, "tokenizer_config.json: %s is %s, expected a string",
                         key, hf_json_type(j));
    if ((*id = lookup_cstr(s, j->valuestring)) < 0)
        return WARD_FAIL(err, WARD_EFORMAT,
                         "tokenizer_config.json: %s \"%.*s\" is not in the vocabulary", key,
                         SHOW(j->valuestring));
    return WARD_OK;
}

static ward_status read_config(hf_state *s, const cJSON *cfg, ward_error *err) {
    if (!cJSON_IsObject(cfg))
        return WARD_FAIL(err, WARD_EFORMAT, "tokenizer_config.json is %s, expected an object",
                         hf_json_type(cfg));
    ward_status rc;
    if ((rc = config_token(s, cfg, "bos_token", &s->bos, err)) ||
        (rc = config_token(s, cfg, "eos_token", &s->eos, err)) ||
        (rc = config_token(s, cfg, "unk_token", &s->unk, err)) ||
        (rc = config_token(s, cfg, "pad_token", &s->pad, err)) ||
        (rc = get_bool(cfg, "tokenizer_config.json", "add_bos_token", &s->add_bos, err)) ||
        (rc = get_bool(cfg, "tokenizer_config.json", "add_eos_token", &s->add_eos, err)))
        return rc;
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The whole file
 * ------------------------------------------------------------------------------------------- */

static bool is_byte_text(const char *t, uint32_t len) {
    const char *hex = "0123456789ABCDEF";
    return len == 6 && memcmp(t, "<0x", 3) == 0 && t[5] == '>' && t[3] && t[4] &&
           strchr(hex, t[3]) && strchr(hex, t[4]);
}

static ward_status read_model(hf_state *s, const cJSON *root, const cJSON *cfg,
                              tok_desc_fn fn, void *user, ward_error *err) {
    if (!cJSON_IsObject(root))
        return WARD_FAIL(err, WARD_EFORMAT, "the top level is %s, expected an object",
                         hf_json_type(root));
    const cJSON *model = member(root, "model");
    if (!cJSON_IsObject(model))
        return WARD_FAIL(err, WARD_EFORMAT, "model is %s, expected an object", hf_json_type(model));
    const char *type, *unk_name, *str;
    ward_status rc = get_str(model, "model", "type", &type, err);
    if (rc != WARD_OK) return rc;
    if (type && strcmp(type, "BPE") != 0)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "model.type \"%.*s\" is not supported (only BPE)", SHOW(type));
    if (!type && !member(model, "merges"))
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "model has no type and no merges (only BPE is "
                         "supported)");

    /* model options */
    const cJSON *dropout = member(model, "dropout");
    if (!absent(dropout) && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "model.dropout is not supported");
    if ((rc = get_str(model, "model", "continuing_subword_prefix", &str, err))) return rc;
    if (str && str[0])
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "model.continuing_subword_prefix is not supported");
    if ((rc = get_str(model, "model", "end_of_word_suffix", &str, err))) return rc;
    if (str && str[0])
        return WARD_FAIL(err, WARD_EUNSUPPORTED, "model.end_of_word_suffix is not supported");
    if ((rc = get_bool(model, "model", "byte_fallback", &s->byte_fallback, err)) ||
        (rc = get_bool(model, "model", "ignore_merges", &s->ignore_merges, err)) ||
        (rc = get_str(model, "model", "unk_token", &unk_name, err)))
        return rc;

    /* text processing decides the algorithm */
    if ((rc = read_normalizer(s, member(root, "normalizer"), 0, err)) ||
        (rc = read_pre(s, member(root, "pre_tokenizer"), 0, err)))
        return rc;
    bool spm = !s->byte_level && s->replace_space;
    if (s->byte_level && (s->prepend || s->replace_space))
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "ByteLevel mixed with SentencePiece-style \"\xe2\x96\x81\" is not "
                         "supported");
    if (!s->byte_level && !spm)
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "BPE without a ByteLevel pre-tokenizer or SentencePiece-style "
                         "normalization is not supported");
    if (spm && (s->n_pre || s->nfc || s->ignore_merges))
        return WARD_FAIL(err, WARD_EUNSUPPORTED,
                         "SentencePiece-style BPE with %s is not supported",
                         s->n_pre ? "pre-tokenizer splits" : s->nfc ? "NFC" : "ignore_merges");

    /* tokens, merges, special tokens */
    if ((rc = read_vocab(s, model, member(root, "added_tokens"), err)) ||
        (rc = read_merges(s, model, spm, err)))
        return rc;
    s->bos = s->eos = s->unk = s->pad = -1;
    if (unk_name && (s->unk = lookup_cstr(s, unk_name)) < 0)
        return WARD_FAIL(err, WARD_EFORMAT, "model.unk_token \"%.*s\" is not in the vocabulary",
                         SHOW(unk_name));
    if ((rc = read_post(s, member(root, "post_processor"), 0, err))) return rc;
    if (cfg && (rc = read_config(s, cfg, err))) return rc;
    if (s->unk >= 0) s->types[s->unk] = TOK_TYPE_UNKNOWN;
    if (spm && s->byte_fallback)
        for (int32_t id = 0; id < s->n_vocab; id++)
            if (s->types[id] == TOK_TYPE_NORMAL && is_byte_text(s->texts[id], s->lens[id]))
                s->types[id] = TOK_TYPE_BYTE;

    tok_desc d = {
        .algo = spm ? TOK_ALGO_SPM : TOK_ALGO_BPE,
        .n_vocab = s->n_vocab,
        .texts = s->texts,
        .text_lens = s->lens,
        .byte_level = s->byte_level,
        .scores = s->scores,
        .types = s->types,
        .n_merges = s->n_merges,
        .merges = s->merges,
        .merge_lens = s->merge_lens,
        .n_pre = s->n_pre,
        .pre_regexes = s->pre,
        .ignore_merges = s->ignore_merges,
        .nfc = s->nfc,
        .bos = s->bos, .eos = s->eos, .unk = s->unk, .pad = s->pad, .eot = -1, .eom = -1,
        .add_bos = s->add_bos && s->bos >= 0,
        .add_eos = s->add_eos && s->eos >= 0,
        .add_space_prefix = spm && s->prepend,
        .name = "",
    };
    return fn(&d, user, err);
}

/* Messages without a file prefix; the public functions add one. */
static ward_status parse_all(const char *data, size_t len, const char *config, size_t config_len,
                             tok_desc_fn fn, void *user, ward_error *err) {
    if (len > HF_MAX_FILE || config_len > HF_MAX_FILE)
        return WARD_FAIL(err, WARD_EFORMAT, "%zu bytes is more than the %zu MB limit",
                         len > HF_MAX_FILE ? len : config_len, HF_MAX_FILE >> 20);
    cJSON *root = NULL, *cfg = NULL;
    hf_state s = {0};
    ward_status rc = hf_json_parse(data, len, "JSON", &root, err);
    if (rc == WARD_OK && config)
        rc = hf_json_parse(config, config_len, "tokenizer_config.json", &cfg, err);
    if (rc == WARD_OK) rc = read_model(&s, root, cfg, fn, user, err);
    hf_state_free(&s);
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Public
 * ------------------------------------------------------------------------------------------- */

static ward_status build(const tok_desc *d, void *out, ward_error *err) {
    return tok_vocab_build(d, out, err);
}

ward_status tok_parse_hf_json_desc(const char *data, size_t len, const char *config,
                                   size_t config_len, tok_desc_fn fn, void *user,
                                   ward_error *err) {
    ward_status rc = parse_all(data, len, config, config_len, fn, user, err);
    if (rc != WARD_OK) ward_error_prefix(err, "tokenizer.json");
    return rc;
}

ward_status tok_parse_hf_json(const char *data, size_t len, const char *config, size_t config_len,
                              tok_vocab **out, ward_error *err) {
    *out = NULL;
    ward_status rc = parse_all(data, len, config, config_len, build, out, err);
    if (rc != WARD_OK) ward_error_prefix(err, "tokenizer.json");
    return rc;
}

ward_status tok_load_hf_json(const char *path, tok_vocab **out, ward_error *err) {
    *out = NULL;
    ward_filemap map = {0}, cfg = {0};
    ward_status rc = ward_filemap_open(path, &map, err);
    if (rc != WARD_OK) return rc; /* the message names the path */

    /* tokenizer_config.json in the same directory, if there is one */
    size_t dir = strlen(path);
    while (dir > 0 && path[dir - 1] != '/') dir--;
    char *cfg_path = ward_malloc(dir + sizeof "tokenizer_config.json");
    if (!cfg_path) {
        rc = WARD_FAIL(err, WARD_ENOMEM, "%s: no memory", path);
        goto done;
    }
    memcpy(cfg_path, path, dir);
    memcpy(cfg_path + dir, "tokenizer_config.json", sizeof "tokenizer_config.json");
    struct stat st;
    bool have_cfg = stat(cfg_path, &st) == 0 || errno != ENOENT;
    if (have_cfg && (rc = ward_filemap_open(cfg_path, &cfg, err)) != WARD_OK) goto done;

    rc = parse_all(map.data, map.size, have_cfg ? (cfg.data ? cfg.data : "") : NULL, cfg.size,
                   build, out, err);
    if (rc != WARD_OK) ward_error_prefix(err, path);
done:
    ward_free(cfg_path);
    ward_filemap_close(&cfg);
    ward_filemap_close(&map);
    return rc;
}
