/* tok_helpers.h: encode/decode helpers shared by the tokenizer tests (header-only: each test is
 * one .c file). encode() also checks the WARD_ERANGE sizing protocol on every call. */
#ifndef WARD_TESTS_TOK_HELPERS_H
#define WARD_TESTS_TOK_HELPERS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tokenizer/tok.h"

/* Encode into a malloc'ed array (caller frees). */
static inline int32_t *encode(const tok_vocab *v, const char *s, size_t len, unsigned flags,
                              size_t *n) {
    size_t need = 0;
    ward_status rc = tok_encode(v, s, len, flags, NULL, 0, &need);
    CHECK(rc == (need ? WARD_ERANGE : WARD_OK), "sizing call: status %d, need %zu", rc, need);
    int32_t *ids = malloc((need + 1) * sizeof *ids);
    rc = tok_encode(v, s, len, flags, ids, need, n);
    CHECK(rc == WARD_OK && *n == need, "encode: status %d, %zu ids, expected %zu", rc, *n, need);
    return ids;
}

/* Concatenated token bytes (malloc'ed, NUL-terminated). */
static inline char *decode(const tok_vocab *v, const int32_t *ids, size_t n, bool special,
                           size_t *len) {
    size_t cap = 64, used = 0;
    char *out = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        ward_status rc = tok_token_bytes(v, ids[i], special, out + used, cap - used - 1, &k);
        if (rc == WARD_ERANGE) {
            while (cap - used - 1 < k) cap *= 2;
            out = realloc(out, cap);
            rc = tok_token_bytes(v, ids[i], special, out + used, cap - used - 1, &k);
        }
        CHECK(rc == WARD_OK, "token bytes of %d: status %d", ids[i], rc);
        if (rc == WARD_OK) used += k;
    }
    out[used] = '\0';
    *len = used;
    return out;
}

static inline bool same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static inline void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n && i < 64; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

#endif
