/* tok_internal.h: the tok_vocab layout, shared by the vocabulary builder (tok_vocab.c), the
 * encode driver (special.c) and the algorithms (spm.c, bpe.c). Nothing outside src/tokenizer/
 * includes this.
 *
 * Layout
 *   tokens[id]  text (offset into one buffer, NUL-terminated there), score, effective type and
 *               flags. Empty texts were renamed "[EMPTY_<id>]" as llama.cpp does, so every text
 *               is non-empty and, after the duplicate check, unique.
 *   index       open-addressing hash table text -> id (linear probing, power-of-two size, at
 *               most half full). Each slot packs (hash << 32) | (id + 1); 0 is an empty slot.
 *   special     ids llama.cpp partitions text on (control, user-defined, unknown), longest
 *               text first, ties by id.
 *   byte_token  SPM: what byte fallback emits for each byte: "<0xXX>", else the one-byte token,
 *               else unk. BPE: the token whose bytes are that one byte, else -1.
 *   bpe         BPE only: merge ranks and the compiled pre-tokenizer (private to bpe.c).
 * BPE texts are raw bytes: normal tokens were decoded from GPT-2's byte alphabet at build time;
 * control, user-defined and unknown tokens (and texts outside that alphabet) keep the source's
 * text and carry TOK_F_LITERAL. The index prefers decoded tokens: a literal token whose bytes
 * equal a decoded token's is reachable only through the special list.
 * The vocab is immutable after tok_vocab_build(): encoders only read it.
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
    TOK_F_LITERAL = 1 << 2, /* BPE: text as the source wrote it, never produced by merging */
    TOK_F_GLM1_WS = 1 << 3, /* TOK_TEXT_GLM1: <n>, <|tab|> or <|blank_N|>, bytes are whitespace */
};

#define TOK_GLM1_MAX_BLANK 80 /* longest <|blank_N|> (SPTokenizer's max_blank_length) */

typedef struct tok_entry {
    size_t off;    /* text at vocab->text + off */
    uint32_t len;  /* > 0 */
    float score;   /* never NaN */
    uint8_t type;  /* tok_attr, after llama.cpp's "control-looking token" overrides */
    uint8_t flags; /* TOK_F_* */
} tok_entry;

typedef struct tok_bpe tok_bpe;

struct tok_vocab {
    tok_algo algo;
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
    tok_text_rules text_rules;
    /* TOK_TEXT_GLM1: [0] "<n>", [1] "<|tab|>", [N] "<|blank_N|>" for N in 2..80; -1 = not in
     * the vocabulary (the text is then encoded as text) */
    int32_t glm1_piece[TOK_GLM1_MAX_BLANK + 1];
    tok_bpe *bpe;           /* BPE only */
};

/* Id of the token whose text is exactly s[0..len), or -1. */
int32_t tok_lookup(const tok_vocab *v, const char *s, size_t len);

/* Where encoded ids go: the first cap to out, n counts them all. */
typedef struct tok_sink {
    int32_t *out;
    size_t cap;
    size_t n;
} tok_sink;

static inline void tok_sink_push(tok_sink *s, int32_t id) {
    if (s->n < s->cap) s->out[s->n] = id;
    s->n++;
}

/* spm.c: one run of plain text (no special tokens in it), with an optional leading space. */
ward_status tok_spm_encode_run(const tok_vocab *v, const char *text, size_t len,
                               bool space_prefix, tok_sink *sink);

/* spm.c: the same run under TOK_TEXT_GLM1: whitespace becomes the <n> / <|tab|> / <|blank_N|>
 * pieces, the text between them is encoded as above (the space prefix only before the first). */
ward_status tok_spm_encode_glm1_run(const tok_vocab *v, const char *text, size_t len,
                                    bool space_prefix, tok_sink *sink);

/* bpe.c */
/* Decode GPT-2's byte-to-unicode alphabet: writes at most len bytes to out (which may alias
 * s) and returns their number, or -1 if s is not valid UTF-8 made of alphabet characters. */
int64_t tok_byte_level_decode(const char *s, size_t len, char *out);
/* Pre-tokenizer and merges from d; v's tokens, index and flags are built already. */
ward_status tok_bpe_init(tok_vocab *v, const tok_desc *d, ward_error *err);
void tok_bpe_free(tok_bpe *b);
/* One run of plain text: normalize (optional NFC), pre-tokenize, merge. */
ward_status tok_bpe_encode_run(const tok_vocab *v, const char *text, size_t len,
                               tok_sink *sink);

/* Pre-tokenizer by tokenizer.ggml.pre name ("qwen2", "llama-bpe", ...), or NULL if unknown. */
typedef struct tok_pre {
    const char *const *names; /* NULL-terminated */
    const char *const *regexes; /* NULL-terminated */
    bool ignore_merges;
    bool add_bos;  /* llama.cpp turns add_bos on for this pre-tokenizer */
    bool no_bos;   /* llama.cpp unsets BOS for this pre-tokenizer (chatglm-bpe) */
} tok_pre;
const tok_pre *tok_pre_find(const char *name, size_t len);
int32_t tok_pre_count(const tok_pre *p);

#endif
