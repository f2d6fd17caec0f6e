/* special.c: the encode driver: special-token partition, BOS/EOS, and dispatch of the plain text
 * between special tokens to the vocab's algorithm (spm.c or bpe.c).
 *
 * Design (llama_vocab::impl::tokenize and tokenizer_st_partition at llama.cpp c392e50)
 *   1. The text is a list of spans, each allowed or not to contain control tokens (tok_encode is
 *      one span, allowed iff TOK_PARSE_SPECIAL). The spans are copied into one buffer.
 *   2. Partition: for each special token, longest text first, every raw fragment is split at each
 *      leftmost non-overlapping occurrence of its text. User-defined tokens are matched in every
 *      span; control and unknown tokens only in allowed spans. A fragment never crosses a span
 *      boundary, so a special token's text is only found whole inside one span. RSTRIP tokens
 *      (Phi-3) eat the whitespace that follows them.
 *   3. Adjacent raw fragments (from neighbouring spans) are joined: the ordinary text between
 *      two special tokens is encoded as one run whatever the span boundaries, as if concatenated.
 *   4. BOS if TOK_ADD_BOS and the vocab adds it; each fragment (a special token as is, a run via
 *      the algorithm; SPM puts a space before a run that starts the text or follows a special
 *      token when add_space_prefix); EOS likewise. A vocab with TOK_TEXT_GLM1 (ChatGLM-6B) encodes
 *      runs through its whitespace rules (spm.c) and treats user-defined tokens as part of the
 *      text around them, as SentencePiece does (no space prefix after them).
 * Scratch (the joined text, the fragment lists) is allocated per call; the vocab is only read.
 */
#include <assert.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/tok_internal.h"

typedef struct tok_frag {
    size_t off, len; /* raw text [off, off + len) when id < 0 */
    int32_t id;      /* a special token, or -1 */
    bool allow;      /* raw text from an allowed span: control tokens may be found in it */
} tok_frag;

typedef struct frag_list {
    tok_frag *a;
    size_t n, cap;
} frag_list;

static ward_status frag_push(frag_list *l, tok_frag f) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        tok_frag *a = ward_realloc(l->a, cap * sizeof *a);
        if (!a) return WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for fragments");
        l->a = a, l->cap = cap;
    }
    l->a[l->n++] = f;
    return WARD_OK;
}

static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); } /* C isspace */

/* out = in with every raw fragment that may hold token id split at each occurrence of it. */
static ward_status split_on(const tok_vocab *v, const char *text, int32_t id, bool control,
                            const frag_list *in, frag_list *out) {
    const tok_entry *e = &v->tokens[id];
    const char *needle = v->text + e->off;
    ward_status rc = WARD_OK;
    out->n = 0;
    for (size_t i = 0; i < in->n && rc == WARD_OK; i++) {
        tok_frag f = in->a[i];
        if (f.id >= 0 || (control && !f.allow)) {
            rc = frag_push(out, f);
            continue;
        }
        size_t off = f.off, len = f.len;
        while (rc == WARD_OK && len >= e->len) {
            const char *m = memmem(text + off, len, needle, e->len);
            if (!m) break;
            size_t pos = (size_t)(m - text), end = pos + e->len;
            if (pos > off) rc = frag_push(out, (tok_frag){off, pos - off, -1, f.allow});
            if (rc == WARD_OK) rc = frag_push(out, (tok_frag){0, 0, id, false});
            len = off + len - end;
            off = end;
            if (e->flags & TOK_F_RSTRIP)
                while (len > 0 && is_space(text[off])) off++, len--;
        }
        if (rc == WARD_OK && len > 0) rc = frag_push(out, (tok_frag){off, len, -1, f.allow});
    }
    return rc;
}

static ward_status encode_run(const tok_vocab *v, const char *text, size_t len, bool after_special,
                              tok_sink *sink) {
    if (v->algo == TOK_ALGO_BPE) return tok_bpe_encode_run(v, text, len, sink);
    bool prefix = v->add_space_prefix && after_special;
    if (v->text_rules == TOK_TEXT_GLM1) return tok_spm_encode_glm1_run(v, text, len, prefix, sink);
    return tok_spm_encode_run(v, text, len, prefix, sink);
}

/* TOK_TEXT_GLM1: SentencePiece matches user-defined pieces itself, inside the text it encodes,
 * so they do not restart the space prefix: it goes before the first one (a lone U+2581) when
 * it begins the text or follows a control token, and the text after it gets none. */
static bool glm1_in_text(const tok_vocab *v, int32_t id) {
    return v->text_rules == TOK_TEXT_GLM1 && v->tokens[id].type == TOK_TYPE_USER_DEFINED;
}

/* Encode text (the spans' concatenation) whose initial fragments are in frags. */
static ward_status encode_frags(const tok_vocab *v, const char *text, frag_list *frags,
                                unsigned flags, tok_sink *sink) {
    frag_list spare = {0};
    ward_status rc = WARD_OK;
    bool any_allow = false;
    for (size_t i = 0; i < frags->n; i++) any_allow |= frags->a[i].allow;
    for (int32_t i = 0; i < v->n_special && rc == WARD_OK && frags->n > 0; i++) {
        int32_t id = v->special[i];
        uint8_t t = v->tokens[id].type;
        bool control = t == TOK_TYPE_CONTROL || t == TOK_TYPE_UNKNOWN;
        if (control && !any_allow) continue;
        rc = split_on(v, text, id, control, frags, &spare);
        frag_list tmp = *frags;
        *frags = spare, spare = tmp;
    }
    ward_free(spare.a);
    if (rc != WARD_OK) return rc;

    /* join raw fragments that touch (they came from neighbouring spans) */
    size_t n = 0;
    for (size_t i = 0; i < frags->n; i++) {
        tok_frag f = frags->a[i];
        tok_frag *last = n > 0 ? &frags->a[n - 1] : NULL;
        if (f.id < 0 && last && last->id < 0 && last->off + last->len == f.off) last->len += f.len;
        else frags->a[n++] = f;
    }
    frags->n = n;

    bool add_special = flags & TOK_ADD_BOS;
    if (add_special && v->add_bos && v->bos >= 0) tok_sink_push(sink, v->bos);
    bool prev_special = true; /* the text start counts as "after a special token" */
    for (size_t i = 0; i < frags->n && rc == WARD_OK; i++) {
        const tok_frag *f = &frags->a[i];
        if (f->id >= 0 && glm1_in_text(v, f->id)) {
            if (prev_special && v->add_space_prefix) rc = tok_spm_encode_run(v, " ", 1, false, sink);
            tok_sink_push(sink, f->id);
            prev_special = false;
            continue;
        }
        if (f->id >= 0) {
            tok_sink_push(sink, f->id);
            prev_special = true;
            continue;
        }
        rc = encode_run(v, text + f->off, f->len, prev_special, sink);
        prev_special = false;
    }
    if (rc == WARD_OK && add_special && v->add_eos && v->eos >= 0) tok_sink_push(sink, v->eos);
    return rc;
}

static ward_status finish(ward_status rc, const tok_sink *sink, size_t *n_out) {
    if (rc != WARD_OK) return rc;
    *n_out = sink->n;
    return sink->n > sink->cap ? WARD_ERANGE : WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Public
 * ------------------------------------------------------------------------------------------- */

ward_status tok_encode(const tok_vocab *v, const char *text, size_t len, unsigned flags,
                       int32_t *out, size_t cap, size_t *n_out) {
    assert(v && n_out && (text || len == 0) && (out || cap == 0));
    *n_out = 0;
    tok_sink sink = {out, cap, 0};
    frag_list frags = {0};
    ward_status rc = WARD_OK;
    /* llama.cpp: empty text has no fragment, hence no space prefix either */
    if (len > 0) rc = frag_push(&frags, (tok_frag){0, len, -1, (flags & TOK_PARSE_SPECIAL) != 0});
    if (rc == WARD_OK) rc = encode_frags(v, text, &frags, flags, &sink);
    ward_free(frags.a);
    return finish(rc, &sink, n_out);
}

ward_status tok_encode_spans(const tok_vocab *v, const tok_span *spans, size_t n_spans,
                             unsigned flags, int32_t *out, size_t cap, size_t *n_out) {
    assert(v && n_out && (spans || n_spans == 0) && (out || cap == 0));
    *n_out = 0;
    tok_sink sink = {out, cap, 0};
    frag_list frags = {0};
    size_t total = 0;
    for (size_t i = 0; i < n_spans; i++) {
        if (!spans[i].text && spans[i].len > 0)
            return WARD_FAIL(NULL, WARD_EINVAL, "tokenizer: span %zu has no text", i);
        if (spans[i].len > SIZE_MAX / 2 - total)
            return WARD_FAIL(NULL, WARD_EINVAL, "tokenizer: text too long");
        total += spans[i].len;
    }
    char *text = ward_malloc(total ? total : 1);
    if (!text) return WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for %zu bytes", total);
    ward_status rc = WARD_OK;
    size_t off = 0;
    for (size_t i = 0; i < n_spans && rc == WARD_OK; i++) {
        if (spans[i].len == 0) continue;
        memcpy(text + off, spans[i].text, spans[i].len);
        rc = frag_push(&frags, (tok_frag){off, spans[i].len, -1, spans[i].allow_special});
        off += spans[i].len;
    }
    if (rc == WARD_OK) rc = encode_frags(v, text, &frags, flags & ~(unsigned)TOK_PARSE_SPECIAL,
                                         &sink);
    ward_free(frags.a);
    ward_free(text);
    return finish(rc, &sink, n_out);
}
