/* tok.h: the tokenizer interface (vocabulary, encode, token bytes).
 *
 * One tok_vocab per model, read-only after loading, so many threads may encode at once. Two
 * algorithms: SentencePiece (tokenizer.ggml.model "llama": scores, byte fallback; spm.c) and
 * byte-level BPE ("gpt2", tiktoken files, byte-level tokenizer.json: pre-tokenizer regexes,
 * merge ranks; bpe.c). Every source fills a tok_desc for tok_vocab_build(); special.c splits
 * off special tokens and drives both algorithms; callers never see which algorithm runs.
 *
 * Special tokens: text is tokenized as plain text unless TOK_PARSE_SPECIAL is given, so text a
 * user typed can never produce control tokens. As in llama.cpp, user-defined tokens (type 4) are
 * matched in the text either way; control and unknown tokens only with TOK_PARSE_SPECIAL.
 *
 * Exactness: encode and token bytes reproduce llama.cpp (commit c392e50) id for id, including
 * its loading quirks (empty texts renamed "[EMPTY_<id>]", "control-looking" tokens such as
 * "<|im_end|>" forced to control, EOT/EOM/FIM detection by text, the Phi-3 rstrip rule). Where
 * llama.cpp would crash or silently misread a hostile file, loading fails with WARD_EFORMAT:
 * array lengths differ, a special token id is out of range (the value 0xFFFFFFFF / -1 means
 * "unset" and keeps the default, as real files use it), duplicate texts, NaN scores, byte-typed
 * tokens whose text is not "<0xXX>". Token texts need not be valid UTF-8 (llama.cpp does not
 * require it and matching works on bytes).
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

/* ---------------------------------------------------------------------------------------------
 * A tokenizer described independently of the file it came from. Each loader (GGUF, tiktoken,
 * tokenizer.json, SentencePiece .model) fills a tok_desc; tok_vocab_build() validates it and
 * builds the indexed, immutable tok_vocab every encoder uses. Pointers are borrowed for the
 * duration of the build call only.
 * ------------------------------------------------------------------------------------------- */

typedef enum tok_algo {
    TOK_ALGO_SPM = 0, /* SentencePiece: merge by score, byte fallback */
    TOK_ALGO_BPE = 1, /* byte-level BPE: pre-tokenizer regexes, merge by rank */
} tok_algo;

/* Text rules a family's tokenizer code applies around SentencePiece (see tok_desc). */
typedef enum tok_text_rules {
    TOK_TEXT_PLAIN = 0,
    /* ChatGLM-6B (v1): before encoding, "\n" -> "<n>", "\t" -> "<|tab|>", each run of 2..80
     * spaces -> "<|blank_N|>" (longer runs: 80 at a time, a last single space stays a space);
     * token bytes give the whitespace back. SPM only. */
    TOK_TEXT_GLM1 = 1,
} tok_text_rules;

typedef struct tok_desc {
    tok_algo algo;
    int32_t n_vocab;
    const char *const *texts;  /* (n_vocab) token texts as the source stores them */
    const uint32_t *text_lens; /* (n_vocab) */
    /* BPE: normal tokens' texts use GPT-2's byte-to-unicode alphabet ("Ġthe") and decode to
     * raw bytes; false: texts are the raw bytes already (tiktoken). */
    bool byte_level;
    const float *scores;  /* (n_vocab) SPM scores; NULL for BPE */
    const int32_t *types; /* (n_vocab) tok_attr values; NULL = all normal */
    /* BPE merges in priority order ("left right", in the texts' alphabet), or n_merges == 0:
     * the rank of a pair is the id of the token it makes (tiktoken). */
    uint64_t n_merges;
    const char *const *merges;
    const uint32_t *merge_lens;
    /* BPE pre-tokenizer: PCRE2 patterns (UTF, UCP) applied in turn, each splitting the pieces
     * the previous one made; n_pre == 0: the whole text is one piece. */
    int32_t n_pre;
    const char *const *pre_regexes;
    bool ignore_merges; /* a piece that is itself a token is emitted whole (Llama 3) */
    bool nfc;           /* normalize input to Unicode NFC first (Qwen2's tokenizer.json) */
    int32_t bos, eos, unk, pad, eot, eom; /* -1 = none */
    bool add_bos, add_eos, add_space_prefix;
    const char *name; /* general.name or "" (a few vocab rules depend on it) */
    /* GGUF fill-in-the-middle ids (pre, suf, mid, pad, rep, sep; -1 = unset), or NULL: unset
     * ids are found by text as llama.cpp does; pad/rep/sep end generation. */
    const int32_t *fim;
    tok_text_rules text_rules; /* TOK_TEXT_PLAIN unless a family says otherwise */
    /* Further texts that end generation when in the vocabulary (forced to control), NULL =
     * none; NULL-terminated (a family's own stop tokens, e.g. ChatGLM3's <|observation|>). */
    const char *const *extra_eog;
} tok_desc;

ward_status tok_vocab_build(const tok_desc *d, tok_vocab **out, ward_error *err);

/* What a loader does with the tok_desc it filled (borrowed for the call only): the plain
 * loaders build a vocab; vocab_export.c writes GGUF keys from it. */
typedef ward_status (*tok_desc_fn)(const tok_desc *d, void *user, ward_error *err);

/* Loaders for the files models ship besides GGUF; each fills a tok_desc and builds. Messages
 * start with the path. */
/* tiktoken rank file ("base64 rank" lines). pre: pre-tokenizer name ("qwen2", "llama-bpe"),
 * NULL = recognise the file (Qwen's 151643 ranks, Llama 3's 128000); the model family's special
 * tokens are appended after the ranks. */
ward_status tok_load_tiktoken(const char *path, const char *pre, tok_vocab **out,
                              ward_error *err);
/* HuggingFace tokenizer.json (BPE model; ByteLevel / Split pre-tokenizers; NFC normalizer;
 * added tokens). */
ward_status tok_load_hf_json(const char *path, tok_vocab **out, ward_error *err);
/* SentencePiece tokenizer.model (protobuf ModelProto). The family (below) comes from the
 * tokenizer_config.json beside the file, if any: tok_load_spm_model_family(path, NULL, ...). */
ward_status tok_load_spm_model(const char *path, tok_vocab **out, ward_error *err);

/* ---------------------------------------------------------------------------------------------
 * Model families whose tokenizer needs more than its file says (family.c): special tokens the
 * family's tokenizer code appends after the SentencePiece pieces, texts that must be control
 * tokens, BOS/EOS/end-of-turn choices. All lists are NULL-terminated; NULL = none.
 * ------------------------------------------------------------------------------------------- */

typedef struct tok_family {
    const char *name;                /* "chatglm", "chatglm2", "chatglm3", "glm4", "baichuan",
                                      * "internlm" */
    const char *const *classes;      /* tokenizer_config.json "tokenizer_class" values */
    const char *const *appended;     /* control tokens appended after the pieces, in id order */
    const char *const *control;      /* texts already in the vocabulary, forced to control */
    const char *bos, *eos;           /* by text; NULL = as the file says */
    const char *eot, *eom;           /* further end-of-generation tokens by text, or NULL */
    bool no_add_bos;                 /* the chat template writes the prefix; never add BOS */
    tok_text_rules text_rules;       /* copied into the tok_desc (TOK_TEXT_GLM1: ChatGLM-6B) */
} tok_family;

/* The family called name, or NULL. */
const tok_family *tok_family_find(const char *name);
/* The family a tokenizer_config.json (len bytes, need not be NUL-terminated) names, or *out NULL
 * for none. has_gmask: the vocabulary itself holds "[gMASK]" (ChatGLM-6B rather than 2/3).
 * WARD_EFORMAT for malformed JSON, WARD_EUNSUPPORTED for settings ward cannot reproduce. */
ward_status tok_family_from_config(const char *config, size_t len, bool has_gmask,
                                   const tok_family **out, ward_error *err);
/* tokenizer.model with a family: family NULL = from the tokenizer_config.json beside path (no
 * such file: none); a name from tok_family_find() otherwise (unknown: WARD_EINVAL). A "family"
 * of "none" loads the protobuf alone. */
ward_status tok_load_spm_model_family(const char *path, const char *family, tok_vocab **out,
                                      ward_error *err);
/* The same from memory with a family row (NULL = none). */
ward_status tok_parse_spm_model_family(const void *data, size_t len, const tok_family *fam,
                                       tok_vocab **out, ward_error *err);

/* Pieces of text with their own permission to match special tokens (ward_text_span). */
typedef struct tok_span {
    const char *text;
    size_t len;
    bool allow_special;
} tok_span;
/* tok_encode over the concatenation of spans; TOK_PARSE_SPECIAL is ignored (spans say). */
ward_status tok_encode_spans(const tok_vocab *v, const tok_span *spans, size_t n_spans,
                             unsigned flags, int32_t *out, size_t cap, size_t *n_out);

/* The public ward_tokenizer (ward.h): a vocab, owned (ward_tokenizer_open) or a model's. */
struct ward_tokenizer {
    tok_vocab *vocab;
    bool owned;
};

/* Build the vocabulary from a GGUF file's tokenizer.ggml.* keys ("llama": SentencePiece,
 * "gpt2": byte-level BPE with tokenizer.ggml.merges and tokenizer.ggml.pre; vocab_gguf.c). The
 * vocab copies what it needs (it does not point into g). */
ward_status tok_vocab_from_gguf(const gguf_file *g, tok_vocab **out, ward_error *err);
void tok_vocab_free(tok_vocab *v);

int32_t tok_n_vocab(const tok_vocab *v);
int32_t tok_bos(const tok_vocab *v);       /* -1 if none */
int32_t tok_eos(const tok_vocab *v);       /* -1 if none */
int32_t tok_unk(const tok_vocab *v);       /* -1 if none */
bool tok_add_bos(const tok_vocab *v);      /* tokenizer.ggml.add_bos_token (default true) */
bool tok_add_eos(const tok_vocab *v);      /* tokenizer.ggml.add_eos_token (default false) */
/* tokenizer.ggml.add_space_prefix (default true): encoding puts a space before the text at the
 * start and after each special token, so a detokenizer may drop the first leading space. */
bool tok_add_space_prefix(const tok_vocab *v);
bool tok_is_eog(const tok_vocab *v, int32_t id);
tok_attr tok_type(const tok_vocab *v, int32_t id);
/* Id of the token whose text is exactly text[0..len), or -1. */
int32_t tok_find(const tok_vocab *v, const char *text, size_t len);
/* Vocabulary text of id ("▁the"), NULL if out of range; length in *len. */
const char *tok_text(const tok_vocab *v, int32_t id, size_t *len);

enum { TOK_ADD_BOS = 1, TOK_PARSE_SPECIAL = 2 }; /* same bits as WARD_TOKENIZE_* */

/* Encode len bytes (any bytes; invalid UTF-8 goes through byte fallback). TOK_ADD_BOS is
 * llama.cpp's add_special: BOS first if tok_add_bos(), EOS last if tok_add_eos(). Writes at
 * most cap ids to out (out may be NULL when cap is 0), sets *n_out to the total and returns
 * WARD_ERANGE if that is > cap. WARD_ENOMEM on allocation failure, WARD_EINVAL for a text too
 * long for 32-bit indices (about 700 MB); *n_out is 0 after those. Thread-safe: v is only read. */
ward_status tok_encode(const tok_vocab *v, const char *text, size_t len, unsigned flags,
                       int32_t *out, size_t cap, size_t *n_out);

/* Bytes of one token, as llama.cpp's token_to_piece: normal tokens give their text with U+2581
 * turned into spaces, byte tokens "<0xXX>" their byte, user-defined tokens their text as is,
 * control and unknown tokens "" unless render_special (then their text), unused and undefined
 * tokens "". Writes at most cap bytes, sets *n_out to the full length, WARD_ERANGE if it does
 * not fit, WARD_EINVAL for an id out of range. */
ward_status tok_token_bytes(const tok_vocab *v, int32_t id, bool render_special, char *out,
                            size_t cap, size_t *n_out);

/* The two loaders above from memory (fuzzing, files already read): data need not be
 * NUL-terminated and is only borrowed for the call. Messages start with "tokenizer.json" /
 * "tokenizer.model" instead of a path. config (NULL when config_len is 0) is the text of the
 * tokenizer_config.json that sits beside a tokenizer.json, if any. */
ward_status tok_parse_hf_json(const char *data, size_t len, const char *config, size_t config_len,
                              tok_vocab **out, ward_error *err);
ward_status tok_parse_spm_model(const void *data, size_t len, tok_vocab **out, ward_error *err);
/* The same two parses handing their tok_desc to fn instead of building (messages as above). */
ward_status tok_parse_hf_json_desc(const char *data, size_t len, const char *config,
                                   size_t config_len, tok_desc_fn fn, void *user,
                                   ward_error *err);
ward_status tok_parse_spm_model_desc(const void *data, size_t len, tok_desc_fn fn, void *user,
                                     ward_error *err);
/* tokenizer.model with the family its tokenizer_config.json text (config, config_len; NULL = no
 * such file, no family) names, as tok_load_spm_model_family() picks it: the desc has the family's
 * appended specials, control types and BOS/EOS/EOT (HF conversion of ChatGLM2/3 and the rest). */
ward_status tok_parse_spm_model_desc_config(const void *data, size_t len, const char *config,
                                            size_t config_len, tok_desc_fn fn, void *user,
                                            ward_error *err);

/* ---------------------------------------------------------------------------------------------
 * Export: a tokenizer as GGUF tokenizer.ggml.* keys, as llama.cpp's HF converter writes them
 * (vocab_export.c)
 * ------------------------------------------------------------------------------------------- */

typedef struct tok_export_opts {
    int32_t n_vocab;       /* pad with "[PAD<id>]" unused tokens up to this many; 0 = as is */
    int32_t bos, eos;      /* override the tokenizer's own ids when >= 0 (config.json) */
    const char *pre_hint;  /* BPE: pre-tokenizer name tried first ("qwen2"), or NULL */
    bool prefer_spm;       /* a directory with both: tokenizer.model before tokenizer.json */
} tok_export_opts;

/* Write the keys of d into w. SentencePiece descs become model "llama" (texts, scores, types);
 * byte-level BPE ones "gpt2" with merges and the tokenizer.ggml.pre name whose pre-tokenizer
 * encodes a probe text as d's own does. tiktoken-style descs (raw-byte texts, ranks for
 * merges) are WARD_EUNSUPPORTED. */
ward_status tok_export_desc(const tok_desc *d, const tok_export_opts *o, gguf_writer *w,
                            ward_error *err);
/* The tokenizer files of a HuggingFace directory (tokenizer.model or tokenizer.json, with
 * tokenizer_config.json: add_bos_token, add_eos_token, chat_template) into w. Messages name the
 * file. */
ward_status tok_export_dir(const char *dir, const tok_export_opts *o, gguf_writer *w,
                           ward_error *err);

#endif
