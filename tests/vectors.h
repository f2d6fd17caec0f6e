/* vectors.h: llama.cpp's tokenizer test vectors (tokenizers/<vocab>.inp / .out), read once for
 * every test that checks an encoder against them.
 *
 * Read exactly as llama.cpp's test-tokenizer-0 does: the inputs are split on
 * "\n__ggml_vocab_test__\n"; the .out file holds one line of space-separated ids per input (no
 * BOS, no special parsing). A trailing empty line in .out is tolerated (the baichuan file has
 * one). Header-only (static inline) because each tests/test_*.c is built as its own executable
 * from one file.
 *
 * Usage:
 *     vector_set tv;
 *     if (vectors_read("tokenizers/ggml-vocab-llama-spm.gguf", &tv)) {
 *         for (size_t i = 0; i < tv.n; i++) ... tv.cases[i].text, .len, .ids, .n_ids ...
 *     }
 *     vectors_free(&tv);
 */
#ifndef WARD_TESTS_VECTORS_H
#define WARD_TESTS_VECTORS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define VECTORS_MAX_IDS 1024

typedef struct test_vector {
    const char *text; /* into vector_set.inp, not NUL-terminated */
    size_t len;
    int32_t ids[VECTORS_MAX_IDS];
    size_t n_ids;
} test_vector;

typedef struct vector_set {
    char *inp, *outs;    /* the two files (malloc'ed) */
    test_vector *cases;  /* (n) */
    size_t n;
} vector_set;

static inline void vectors_free(vector_set *tv) {
    free(tv->inp);
    free(tv->outs);
    free(tv->cases);
    memset(tv, 0, sizeof *tv);
}

/* Read <rel>.inp and <rel>.out under ../shared. On any problem records a failure (naming it),
 * leaves tv empty and returns false. */
static inline bool vectors_read(const char *rel, vector_set *tv) {
    memset(tv, 0, sizeof *tv);
    char path[512];
    size_t inp_len = 0, out_len = 0;
    snprintf(path, sizeof path, "%s.inp", rel);
    const char *p = shared_path(path);
    tv->inp = p ? read_file(p, &inp_len) : NULL;
    snprintf(path, sizeof path, "%s.out", rel);
    p = shared_path(path);
    tv->outs = p ? read_file(p, &out_len) : NULL;
    if (!tv->inp || !tv->outs) goto fail;

    const char *sep = "\n__ggml_vocab_test__\n";
    size_t sep_len = strlen(sep), pos = 0, cap = 0;
    char *line = tv->outs;
    while (pos < inp_len) {
        /* next input, as test-tokenizer-0's read_tests() */
        char *next = memmem(tv->inp + pos, inp_len - pos, sep, sep_len);
        size_t end = next ? (size_t)(next - tv->inp) : inp_len;
        if (tv->n == cap) {
            cap = cap ? 2 * cap : 64;
            test_vector *c = realloc(tv->cases, cap * sizeof *c);
            if (!c) goto fail;
            tv->cases = c;
        }
        test_vector *c = &tv->cases[tv->n];
        c->text = tv->inp + pos;
        c->len = end - pos;
        pos = next ? end + sep_len : inp_len;

        /* its line of expected ids */
        if (!line || !*line) {
            CHECK(false, "%s: more inputs than output lines", rel);
            goto fail;
        }
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        c->n_ids = 0;
        for (char *q = line, *e; c->n_ids < VECTORS_MAX_IDS; q = e) {
            long id = strtol(q, &e, 10);
            if (e == q) break;
            c->ids[c->n_ids++] = (int32_t)id;
        }
        line = nl ? nl + 1 : NULL;
        tv->n++;
    }
    /* the baichuan .out ends with an extra empty line (llama.cpp's reader would reject it) */
    while (line && (*line == '\n' || *line == ' ')) line++;
    if (line && *line) {
        CHECK(false, "%s: more output lines than inputs", rel);
        goto fail;
    }
    if (tv->n < 30) {
        CHECK(false, "%s: only %zu vectors read", rel, tv->n);
        goto fail;
    }
    return true;
fail:
    vectors_free(tv);
    return false;
}

#endif
