/* fuzz_vocab.h: what the tokenizer-file fuzz targets do with a vocabulary their loader
 * accepted: read every token's text and bytes and encode a short mixed text, so ASan sees any
 * range the loader's validation let through. Include from fuzz targets only. */
#ifndef WARD_FUZZ_VOCAB_H
#define WARD_FUZZ_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tok.h"

static void fuzz_use_vocab(const tok_vocab *v) {
    volatile unsigned sum = 0;
    char buf[64];
    for (int32_t id = 0; id < tok_n_vocab(v); id++) {
        size_t n;
        const char *t = tok_text(v, id, &n);
        for (size_t i = 0; i < n; i++) sum += (uint8_t)t[i];
        if (tok_token_bytes(v, id, true, buf, sizeof buf, &n) == WARD_OK) sum += (unsigned)n;
    }
    static const char text[] = "Hello world \xe4\xbd\xa0\xe5\xa5\xbd <s> \xf0\x9f\x98\x80 12";
    int32_t ids[128];
    size_t n_ids;
    tok_encode(v, text, sizeof text - 1, TOK_ADD_BOS | TOK_PARSE_SPECIAL, ids, 128, &n_ids);
    (void)sum;
}

#endif
