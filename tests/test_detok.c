/* test_detok.c: the streaming detokenizer never emits half a UTF-8 character.
 *
 * Chinese text in the Llama 2 vocabulary is partly spelled with byte-fallback tokens (<0xE6>
 * <0x82> <0xA3> for 患), so streaming it token by token exercises characters split across
 * tokens. Every chunk the detokenizer releases must be valid UTF-8 on its own, and the chunks
 * together must be the text (after the SentencePiece space prefix). Invalid bytes come out as
 * U+FFFD, an unfinished character at the end as one U+FFFD on flush.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "ward.h"

/* Strict UTF-8 validation (no overlongs, surrogates or code points above U+10FFFF). */
static bool valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], len, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000;
        else return false;
        if (i + len > n) return false;
        unsigned cp = c & (0xFF >> (len + 1));
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

/* Stream toks through a detokenizer; returns the concatenated text in out. */
static size_t stream(const ward_model *m, const ward_token *toks, size_t n, char *out, size_t cap,
                     bool *all_valid) {
    ward_detok *d = NULL;
    size_t total = 0;
    *all_valid = true;
    CHECK(ward_detok_open(m, &d) == WARD_OK, "detok open");
    if (!d) return 0;
    for (size_t i = 0; i <= n; i++) {
        const char *text;
        size_t len;
        if (i < n) CHECK(ward_detok_push(d, toks[i], &text, &len) == WARD_OK, "push");
        else ward_detok_flush(d, &text, &len);
        *all_valid &= valid_utf8((const unsigned char *)text, len);
        if (total + len < cap) memcpy(out + total, text, len);
        total += len;
    }
    ward_detok_close(d);
    return total < cap ? total : cap - 1;
}

static void test_chinese_stream(const ward_model *m) {
    static const char *const texts[] = {
        "患者发热三天，伴咳嗽。", "The patient: 体温 38.5°C, 心率 ✓ 🙂 ok", "ä ö ü — “quotes”"};
    for (size_t k = 0; k < 3; k++) {
        ward_token toks[256];
        size_t n = 0;
        CHECK(ward_tokenize(m, texts[k], strlen(texts[k]), 0, toks, 256, &n) == WARD_OK,
              "tokenize %zu", k);
        char out[1024];
        bool valid;
        size_t len = stream(m, toks, n, out, sizeof out, &valid);
        out[len] = '\0';
        char expect[1024];
        snprintf(expect, sizeof expect, " %s", texts[k]); /* SentencePiece's space prefix */
        CHECK(valid, "text %zu: every released chunk is valid UTF-8", k);
        CHECK(strcmp(out, expect) == 0, "text %zu round trip: '%s' vs '%s'", k, out, expect);
    }
}

/* Byte tokens in the Llama 2 vocabulary: <0x00> is id 3, so byte b is id 3 + b. */
static void test_invalid_bytes(const ward_model *m) {
    static const struct {
        unsigned char bytes[6];
        size_t n;
        const char *expect;
    } cases[] = {
        {{0xE6, 0x82}, 2, "\xEF\xBF\xBD"},                         /* unfinished at the end */
        {{0xFF, 'a'}, 2, "\xEF\xBF\xBD" "a"},                      /* never valid */
        {{0x80, 'b'}, 2, "\xEF\xBF\xBD" "b"},                      /* stray continuation */
        {{0xE6, 'c'}, 2, "\xEF\xBF\xBD" "c"},                      /* interrupted */
        {{0xC0, 0xAF}, 2, "\xEF\xBF\xBD\xEF\xBF\xBD"},             /* overlong */
        {{0xED, 0xA0, 0x80}, 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
        {{0xF0, 0x9F, 0x99, 0x82}, 4, "\xF0\x9F\x99\x82"},         /* 🙂 in four tokens */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ward_token toks[6];
        for (size_t i = 0; i < cases[k].n; i++) toks[i] = 3 + cases[k].bytes[i];
        char out[64];
        bool valid;
        size_t len = stream(m, toks, cases[k].n, out, sizeof out, &valid);
        out[len] = '\0';
        CHECK(valid, "case %zu: output is valid UTF-8", k);
        CHECK(strcmp(out, cases[k].expect) == 0, "case %zu: got %zu bytes", k, len);
    }
}

int main(void) {
    const char *p = shared_path("models/llama-2-tiny-random.gguf");
    ward_model *m = NULL;
    ward_error err;
    if (p) CHECK(ward_model_open(p, &m, &err) == WARD_OK, "open: %s", err.msg);
    if (m) {
        size_t len;
        const char *t = ward_token_text(m, 3, &len);
        CHECK(t && len == 6 && memcmp(t, "<0x00>", 6) == 0, "id 3 is the byte token <0x00>");
        test_chinese_stream(m);
        test_invalid_bytes(m);
    }
    ward_model_close(m);
    return test_summary();
}
