/* text.c: the public tokenizer calls and the streaming detokenizer (see ward.h).
 *
 * The detokenizer appends each token's bytes to a pending buffer and releases the longest prefix
 * made of complete UTF-8 characters. A byte that can never start or continue a valid character
 * (0xC0, 0xFF, a stray continuation byte, an overlong or surrogate lead) is released as U+FFFD at
 * once; an incomplete but so far valid sequence at the end is held until the next token
 * completes it or flush() gives up on it. Buffers grow only when a token is longer than any seen
 * before, so a generation loop does not allocate.
 */
#include <string.h>

#include "base/error.h"
#include "models/model.h"

ward_status ward_tokenize(const ward_model *m, const char *text, size_t len, unsigned flags,
                          ward_token *out, size_t cap, size_t *n_out) {
    return tok_encode(m->vocab, text, len, flags, out, cap, n_out);
}

ward_status ward_token_to_bytes(const ward_model *m, ward_token tok, bool render_special,
                                char *out, size_t cap, size_t *n_out) {
    return tok_token_bytes(m->vocab, tok, render_special, out, cap, n_out);
}

const char *ward_token_text(const ward_model *m, ward_token tok, size_t *len) {
    return tok_text(m->vocab, tok, len);
}

ward_token ward_token_bos(const ward_model *m) { return tok_bos(m->vocab); }
ward_token ward_token_eos(const ward_model *m) { return tok_eos(m->vocab); }
bool ward_token_is_eog(const ward_model *m, ward_token tok) { return tok_is_eog(m->vocab, tok); }

/* ---------------------------------------------------------------------------------------------
 * Streaming detokenizer
 * ------------------------------------------------------------------------------------------- */

struct ward_detok {
    const ward_model *model;
    char *pending; /* bytes not yet released: at most one incomplete character, then new bytes */
    size_t n_pending, cap_pending;
    char *out; /* released text of the last call */
    size_t cap_out;
};

static const char replacement[3] = {(char)0xEF, (char)0xBF, (char)0xBD}; /* U+FFFD */

/* Length of the UTF-8 character starting at s (n bytes available): > 0 complete and valid,
 * 0 valid so far but incomplete, -1 invalid lead or continuation (one byte to replace). */
static int utf8_char_len(const unsigned char *s, size_t n) {
    const unsigned char c = s[0];
    int len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;      /* no overlong forms */
        else if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else
        return -1;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n) return 0;
        const unsigned char b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return -1;
    }
    return len;
}

static bool grow(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    char *p = ward_realloc(*buf, n);
    if (!p) return false;
    *buf = p;
    *cap = n;
    return true;
}

ward_status ward_detok_open(const ward_model *model, ward_detok **out) {
    *out = NULL;
    ward_detok *d = ward_calloc(1, sizeof *d);
    if (!d) return WARD_ENOMEM;
    d->model = model;
    if (!grow(&d->pending, &d->cap_pending, 64) || !grow(&d->out, &d->cap_out, 3 * 64)) {
        ward_detok_close(d);
        return WARD_ENOMEM;
    }
    *out = d;
    return WARD_OK;
}

void ward_detok_close(ward_detok *d) {
    if (!d) return;
    ward_free(d->pending);
    ward_free(d->out);
    ward_free(d);
}

/* Move complete characters from pending to out; keep an incomplete tail unless final. */
static size_t release(ward_detok *d, bool final) {
    const unsigned char *s = (const unsigned char *)d->pending;
    size_t i = 0, o = 0;
    while (i < d->n_pending) {
        int len = utf8_char_len(s + i, d->n_pending - i);
        if (len == 0 && !final) break;
        if (len <= 0) {
            memcpy(d->out + o, replacement, 3);
            o += 3;
            i += len == 0 ? d->n_pending - i : 1; /* final: the incomplete tail is one U+FFFD */
        } else {
            memcpy(d->out + o, s + i, (size_t)len);
            o += (size_t)len;
            i += (size_t)len;
        }
    }
    memmove(d->pending, d->pending + i, d->n_pending - i);
    d->n_pending -= i;
    return o;
}

ward_status ward_detok_push(ward_detok *d, ward_token tok, const char **text, size_t *len) {
    *text = "";
    *len = 0;
    size_t n = 0;
    ward_status st = tok_token_bytes(d->model->vocab, tok, false, d->pending + d->n_pending, 0, &n);
    if (st != WARD_OK && st != WARD_ERANGE) return st;
    /* each pending byte becomes at most 3 output bytes (U+FFFD) */
    if (!grow(&d->pending, &d->cap_pending, d->n_pending + n) ||
        !grow(&d->out, &d->cap_out, 3 * (d->n_pending + n)))
        return WARD_ENOMEM;
    if ((st = tok_token_bytes(d->model->vocab, tok, false, d->pending + d->n_pending, n, &n)))
        return st;
    d->n_pending += n;
    *len = release(d, false);
    *text = d->out;
    return WARD_OK;
}

void ward_detok_flush(ward_detok *d, const char **text, size_t *len) {
    *len = release(d, true);
    *text = d->out;
}
