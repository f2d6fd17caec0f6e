/* tok.h: the tokenizer interface (vocabulary, encode, token bytes).
 *
 * One tok_vocab per model, read-only after loading, so many threads may encode at once. The
 * algorithm is chosen by tokenizer.ggml.model: "llama" = SentencePiece (scores, byte fallback).
 * Later issues add "gpt2" (byte-level BPE) and other sources (tokenizer.json, tiktoken) behind
 * this same interface; callers never see which algorithm runs.
 *
 * Special tokens: text is tokenized as plain text unless TOK_PARSE_SPECIAL is given, so text a
 * user typed can never produce control tokens.
 */
#ifndef WARD_TOKENIZER_TOK_H
#define WARD_TOKENIZER_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/gguf.h"
#include "ward.h"

/* tokenizer.ggml.token_type values */
typedef enum tok_attr {
    TOK_TYPE_UNDEFINED = 0,
    TOK_TYPE_NORMAL = 1,
    TOK_TYPE_UNKNOWN = 2,
    TOK_TYPE_CONTROL = 3,
    TOK_TYPE_USER_DEFINED = 4,
    TOK_TYPE_UNUSED = 5,
    TOK_TYPE_BYTE = 6,
} tok_attr;

typedef struct tok_vocab tok_vocab;

/* Build the vocabulary from a GGUF file's tokenizer.ggml.* keys. The vocab copies what it needs
 * (it does not point into g). */
ward_status tok_vocab_from_gguf(const gguf_file *g, tok_vocab **out, ward_error *err);
void tok_vocab_free(tok_vocab *v);

int32_t tok_n_vocab(const tok_vocab *v);
int32_t tok_bos(const tok_vocab *v);       /* -1 if none */
int32_t tok_eos(const tok_vocab *v);       /* -1 if none */
bool tok_add_bos(const tok_vocab *v);      /* tokenizer.ggml.add_bos_token (default true) */
bool tok_is_eog(const tok_vocab *v, int32_t id);
tok_attr tok_type(const tok_vocab *v, int32_t id);
/* Vocabulary text of id ("▁the"), NULL if out of range; length in *len. */
const char *tok_text(const tok_vocab *v, int32_t id, size_t *len);

enum { TOK_ADD_BOS = 1, TOK_PARSE_SPECIAL = 2 }; /* same bits as WARD_TOKENIZE_* */

/* Encode len bytes. Writes at most cap ids, sets *n_out to the total; WARD_ERANGE if > cap.
 * WARD_ENOMEM on allocation failure. */
ward_status tok_encode(const tok_vocab *v, const char *text, size_t len, unsigned flags,
                       int32_t *out, size_t cap, size_t *n_out);

/* Bytes of one token (see ward_token_to_bytes in ward.h). */
ward_status tok_token_bytes(const tok_vocab *v, int32_t id, bool render_special, char *out,
                            size_t cap, size_t *n_out);

#endif
