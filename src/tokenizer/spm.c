/* spm.c: SentencePiece ("llama") encoding of one run of plain text, id for id as llama.cpp
 * (c392e50). The special-token partition, BOS/EOS and the space-prefix decision are special.c's.
 *
 * Encoding (tok_spm_encode_run), as llama_vocab::impl::tokenize for LLAMA_VOCAB_TYPE_SPM:
 *   1. The run gets a space in front when the caller says so; its spaces become U+2581.
 *   2. SPM on the run (llm_tokenizer_spm_session): split into UTF-8 characters (the length
 *      comes from the lead byte alone, so invalid UTF-8 makes odd but deterministic symbols);
 *      a max-heap of adjacent pairs whose concatenation is a vocab token, highest score first,
 *      ties to the leftmost; pop, skip stale pairs, merge, push the two new neighbours' pairs.
 *      Each final symbol is its token, or byte-fallback tokens for each of its bytes.
 *      (llama.cpp's rev_merge re-segmentation never fires: a merged symbol is always a token.)
 * Every pair's text is contiguous in the escaped run, so lookups never copy. Scratch memory is
 * allocated per run and freed before returning; the vocab is only read (thread-safe).
 *
 * ChatGLM-6B's text rules (TOK_TEXT_GLM1, tok_spm_encode_glm1_run; SPTokenizer._preprocess in
 * THUDM/chatglm-6b tokenization_chatglm.py, linebreak and whitespaces on, as _tokenize calls it):
 * "\n" -> "<n>", then "\t" -> "<|tab|>", then for N = 80 down to 2 every leftmost run of N
 * spaces -> "<|blank_N|>". So a run of k spaces gives k / 80 <|blank_80|>, then <|blank_{k%80}|>
 * if k % 80 >= 2, or one plain space if k % 80 == 1 (it joins the text after it); a single space
 * stays a space. SentencePiece then sees those pieces as user-defined symbols: atomic, never
 * merged with their neighbours, and its dummy prefix goes once before the whole text (a lone
 * U+2581 when the text starts with one of them). A piece missing from the vocabulary stays text
 * ("<n>" is then encoded like any text, with its neighbours).
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/tok_internal.h"

/* Runs longer than this would overflow 32-bit symbol offsets after escaping (x3 + prefix). */
#define SPM_MAX_RUN ((size_t)(INT32_MAX - 3) / 3)

/* ---------------------------------------------------------------------------------------------
 * SPM on one run of plain text
 * ------------------------------------------------------------------------------------------- */

typedef struct spm_symbol {
    int32_t prev, next; /* neighbours in the chain, -1 at the ends */
    uint32_t off, n;    /* bytes [off, off + n) of the escaped run; n == 0 once merged away */
} spm_symbol;

typedef struct spm_bigram {
    int32_t left, right;
    float score;
    uint32_t size; /* bytes of the pair when pushed: a pair whose symbols changed is stale */
} spm_bigram;

typedef struct spm_run {
    const tok_vocab *v;
    const char *buf;    /* the escaped run */
    spm_symbol *sym;    /* (n_sym) */
    spm_bigram *heap;   /* (cap_heap) max-heap under bigram_before */
    size_t n_heap, cap_heap;
} spm_run;

/* True when a should be popped after b (llama.cpp's llm_bigram_spm::comparator). */
static bool bigram_before(const spm_bigram *a, const spm_bigram *b) {
    return a->score < b->score || (a->score == b->score && a->left > b->left);
}

static ward_status heap_push(spm_run *r, spm_bigram b) {
    if (r->n_heap == r->cap_heap) {
        size_t cap = r->cap_heap * 2;
        spm_bigram *h = ward_realloc(r->heap, cap * sizeof *h);
        if (!h) return WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for merges");
        r->heap = h, r->cap_heap = cap;
    }
    size_t i = r->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!bigram_before(&r->heap[parent], &b)) break;
        r->heap[i] = r->heap[parent];
        i = parent;
    }
    r->heap[i] = b;
    return WARD_OK;
}

static spm_bigram heap_pop(spm_run *r) {
    spm_bigram top = r->heap[0], last = r->heap[--r->n_heap];
    size_t i = 0, n = r->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && bigram_before(&r->heap[c], &r->heap[c + 1])) c++;
        if (!bigram_before(&last, &r->heap[c])) break;
        r->heap[i] = r->heap[c];
        i = c;
    }
    if (n > 0) r->heap[i] = last;
    return top;
}

/* Queue the pair (left, right) if its concatenation is a token. */
static ward_status try_add_bigram(spm_run *r, int32_t left, int32_t right) {
    if (left < 0 || right < 0) return WARD_OK;
    uint32_t size = r->sym[left].n + r->sym[right].n;
    int32_t id = tok_lookup(r->v, r->buf + r->sym[left].off, size);
    if (id < 0) return WARD_OK;
    return heap_push(r, (spm_bigram){left, right, r->v->tokens[id].score, size});
}

/* Bytes of the UTF-8 sequence a lead byte announces (unicode_len_utf8 in llama.cpp). */
static uint32_t utf8_len(uint8_t c) {
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[c >> 4];
}

ward_status tok_spm_encode_run(const tok_vocab *v, const char *text, size_t len,
                               bool space_prefix, tok_sink *sink) {
    assert(len > 0);
    if (len > SPM_MAX_RUN) return WARD_FAIL(NULL, WARD_EINVAL, "tokenizer: text too long");

    /* escape: optional leading U+2581, every ' ' -> U+2581 */
    size_t n_space = 0;
    for (size_t i = 0; i < len; i++) n_space += text[i] == ' ';
    size_t n_buf = len + 2 * n_space + (space_prefix ? 3 : 0);
    spm_run r = {.v = v, .cap_heap = n_buf};
    char *buf = ward_malloc(n_buf);
    r.sym = ward_malloc(n_buf * sizeof *r.sym);
    r.heap = ward_malloc(r.cap_heap * sizeof *r.heap);
    ward_status rc = WARD_OK;
    if (!buf || !r.sym || !r.heap) {
        rc = WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for %zu bytes of text", len);
        goto done;
    }
    char *p = buf;
    if (space_prefix) memcpy(p, "\xe2\x96\x81", 3), p += 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(p, "\xe2\x96\x81", 3), p += 3;
        else *p++ = text[i];
    }
    r.buf = buf;

    /* one symbol per UTF-8 character */
    int32_t n_sym = 0;
    for (uint32_t off = 0; off < n_buf;) {
        uint32_t n = utf8_len((uint8_t)buf[off]);
        if (n > n_buf - off) n = (uint32_t)(n_buf - off);
        r.sym[n_sym] = (spm_symbol){n_sym - 1, off + n == n_buf ? -1 : n_sym + 1, off, n};
        off += n;
        n_sym++;
    }

    /* merge the best-scoring adjacent pair until none is a token */
    for (int32_t i = 1; i < n_sym && rc == WARD_OK; i++) rc = try_add_bigram(&r, i - 1, i);
    while (rc == WARD_OK && r.n_heap > 0) {
        spm_bigram b = heap_pop(&r);
        spm_symbol *left = &r.sym[b.left], *right = &r.sym[b.right];
        if (left->n == 0 || right->n == 0 || left->n + right->n != b.size) continue;
        left->n += right->n;
        right->n = 0;
        left->next = right->next;
        if (right->next >= 0) r.sym[right->next].prev = b.left;
        rc = try_add_bigram(&r, left->prev, b.left);
        if (rc == WARD_OK) rc = try_add_bigram(&r, b.left, left->next);
    }
    if (rc != WARD_OK) goto done;

    /* each symbol is a token, or falls back to its bytes */
    for (int32_t i = 0; i != -1; i = r.sym[i].next) {
        const spm_symbol *s = &r.sym[i];
        int32_t id = tok_lookup(v, buf + s->off, s->n);
        if (id >= 0) {
            tok_sink_push(sink, id);
            continue;
        }
        for (uint32_t j = 0; j < s->n; j++)
            tok_sink_push(sink, v->byte_token[(uint8_t)buf[s->off + j]]);
    }
done:
    ward_free(buf);
    ward_free(r.sym);
    ward_free(r.heap);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * ChatGLM-6B's whitespace pieces (TOK_TEXT_GLM1, see the header)
 * ------------------------------------------------------------------------------------------- */

/* Text between two pieces, gathered in a buffer (a missing piece's text joins it). */
typedef struct glm1_seg {
    char *buf;
    size_t n, cap;
    bool prefix; /* the run's space prefix is still owed */
} glm1_seg;

static ward_status seg_put(glm1_seg *g, const char *s, size_t n) {
    if (n > g->cap - g->n) {
        size_t cap = g->cap;
        while (n > cap - g->n) {
            if (cap > SIZE_MAX / 4) return WARD_FAIL(NULL, WARD_EINVAL, "tokenizer: text too long");
            cap *= 2;
        }
        char *b = ward_realloc(g->buf, cap);
        if (!b) return WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for %zu bytes", cap);
        g->buf = b, g->cap = cap;
    }
    memcpy(g->buf + g->n, s, n);
    g->n += n;
    return WARD_OK;
}

/* Encode the gathered text (with the prefix if still owed: alone, it is a lone U+2581). */
static ward_status seg_flush(const tok_vocab *v, glm1_seg *g, tok_sink *sink) {
    ward_status rc = WARD_OK;
    if (g->n > 0) rc = tok_spm_encode_run(v, g->buf, g->n, g->prefix, sink);
    else if (g->prefix) rc = tok_spm_encode_run(v, " ", 1, false, sink);
    g->n = 0;
    g->prefix = false;
    return rc;
}

/* Piece k (0 "<n>", 1 "<|tab|>", N "<|blank_N|>"): its id, or its text when missing. */
static ward_status put_piece(const tok_vocab *v, glm1_seg *g, int k, tok_sink *sink) {
    int32_t id = v->glm1_piece[k];
    if (id >= 0) {
        ward_status rc = seg_flush(v, g, sink);
        if (rc == WARD_OK) tok_sink_push(sink, id);
        return rc;
    }
    char t[24];
    int n = k == 0 ? snprintf(t, sizeof t, "<n>")
          : k == 1 ? snprintf(t, sizeof t, "<|tab|>") : snprintf(t, sizeof t, "<|blank_%d|>", k);
    return seg_put(g, t, (size_t)n);
}

ward_status tok_spm_encode_glm1_run(const tok_vocab *v, const char *text, size_t len,
                                    bool space_prefix, tok_sink *sink) {
    assert(len > 0 && v->text_rules == TOK_TEXT_GLM1);
    if (len > SPM_MAX_RUN) return WARD_FAIL(NULL, WARD_EINVAL, "tokenizer: text too long");
    glm1_seg g = {.cap = len + 16, .prefix = space_prefix};
    if (!(g.buf = ward_malloc(g.cap)))
        return WARD_FAIL(NULL, WARD_ENOMEM, "tokenizer: no memory for %zu bytes of text", len);
    ward_status rc = WARD_OK;
    size_t plain = 0; /* text[plain, i) is ordinary text not yet gathered */
    for (size_t i = 0; i < len && rc == WARD_OK;) {
        size_t k = 1;
        if (text[i] == ' ')
            while (i + k < len && text[i + k] == ' ') k++;
        if (text[i] != '\n' && text[i] != '\t' && k < 2) {
            i++;
            continue;
        }
        rc = seg_put(&g, text + plain, i - plain);
        if (text[i] == '\n' || text[i] == '\t') {
            if (rc == WARD_OK) rc = put_piece(v, &g, text[i] == '\n' ? 0 : 1, sink);
            plain = ++i;
            continue;
        }
        /* k >= 2 spaces: blanks of 80, then the rest (a lone space stays text) */
        size_t rest = k % TOK_GLM1_MAX_BLANK;
        for (size_t b = 0; b < k / TOK_GLM1_MAX_BLANK && rc == WARD_OK; b++)
            rc = put_piece(v, &g, TOK_GLM1_MAX_BLANK, sink);
        if (rc == WARD_OK && rest >= 2) rc = put_piece(v, &g, (int)rest, sink);
        i += k;
        plain = rest == 1 ? i - 1 : i;
    }
    if (rc == WARD_OK) rc = seg_put(&g, text + plain, len - plain);
    if (rc == WARD_OK) rc = seg_flush(v, &g, sink);
    ward_free(g.buf);
    return rc;
}
