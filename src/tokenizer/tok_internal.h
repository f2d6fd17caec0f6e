/* tok_internal.h: the tok_vocab layout, shared by the vocabulary loader (tok_vocab.c) and the
 * encoding algorithms (spm.c; later bpe.c). Nothing outside src/tokenizer/ includes this.
 *
 * Layout
 *   tokens[id]  text (offset into one buffer, NUL-terminated there), score, effective type and
 *               flags. Empty texts were renamed "[EMPTY_<id>]" as llama.cpp does, so every text
 *               is non-empty and, after the duplicate check, unique.
 *   index       open-addressing hash table text -> id (linear probing, power-of-two size, at
 *               most half full). Each slot packs (hash << 32) | (id + 1); 0 is an empty slot.
 *   special     ids llama.cpp partitions text on (control, user-defined, unknown), longest
 *               text first, ties by id.
 *   byte_token  what byte fallback emits for each byte: "<0xXX>", else the one-byte token,
 *               else unk.
 * The vocab is immutable after tok_vocab_from_gguf(): encoders only read it.
 */
#ifndef WARD_TOKENIZER_TOK_INTERNAL_H
#define WARD_TOKENIZER_TOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tok.h"

enum {
    TOK_F_EOG = 1 << 0,    /* ends generation */
    TOK_F_RSTRIP = 1 << 1, /* partitioning eats whitespace after it (llama.cpp, Phi-3 only) */
};

typedef struct tok_entry {
    size_t off;    /* text at vocab->text + off */
    uint32_t len;  /* > 0 */
    float score;   /* never NaN */
    uint8_t type;  /* tok_attr, after llama.cpp's "control-looking token" overrides */
    uint8_t flags; /* TOK_F_* */
} tok_entry;

struct tok_vocab {
    int32_t n_vocab;        /* >= 1 */
    tok_entry *tokens;      /* (n_vocab) */
    char *text;             /* every token's text followed by a NUL */
    uint64_t *index;        /* (index_mask + 1) slots, see above */
    uint32_t index_mask;
    uint32_t max_token_len; /* longest text in bytes: longer strings are not looked up */
    int32_t *special;       /* (n_special) */
    int32_t n_special;
    int32_t byte_token[256];
    int32_t bos, eos, unk, pad, eot, eom; /* -1 = none */
    bool add_bos, add_eos, add_space_prefix;
};

/* Id of the token whose text is exactly s[0..len), or -1. */
int32_t tok_lookup(const tok_vocab *v, const char *s, size_t len);

#endif
