/* ward.h: the public C API of libward, a CPU inference engine for LLMs.
 *
 * Design
 *   A ward_model is a read-only, memory-mapped model (weights, hyper-parameters, tokenizer); it
 *   may be shared by many contexts. A ward_context owns everything that changes while running:
 *   one KV cache per sequence (allocated once, sized by n_ctx), scratch buffers and a thread
 *   pool. ward_decode() evaluates a batch of tokens in one forward pass; the tokens may belong to
 *   different sequences (the server decodes many conversations at once). A ward_sampler turns
 *   logits into a token and keeps its own RNG state. A ward_detok turns a token stream into text
 *   without ever emitting half a UTF-8 character.
 *
 * Errors
 *   Functions that can fail return ward_status (WARD_OK == 0). Constructors write a message into
 *   a caller-supplied ward_error; a context keeps the message of its last failure, read with
 *   ward_context_errmsg(). The library never prints, exits or aborts.
 *
 * Ownership
 *   Every _open has a _close; _close(NULL) is a no-op. Borrowed pointers say how long they live.
 *
 * Threads
 *   A model may be used by several contexts on several threads. One context, sampler or detok
 *   must not be used by two threads at once.
 */
#ifndef WARD_H
#define WARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------------- */

typedef enum ward_status {
    WARD_OK = 0,
    WARD_ENOMEM,       /* an allocation failed */
    WARD_EIO,          /* the operating system refused a read, write, open or mmap */
    WARD_EFORMAT,      /* a file or blob is malformed, truncated or inconsistent */
    WARD_EINVAL,       /* an argument is out of its documented range */
    WARD_EUNSUPPORTED, /* well-formed, but not something ward can do (yet) */
    WARD_ECANCELLED,   /* a callback asked to stop */
    WARD_ERANGE,       /* a buffer or the context is too small for the request */
} ward_status;

#define WARD_ERROR_MSG_MAX 512

typedef struct ward_error {
    ward_status code;
    char msg[WARD_ERROR_MSG_MAX]; /* NUL-terminated, "" when code == WARD_OK */
} ward_error;

/* Short name of a status code ("out of memory", "bad format", ...). Static storage. */
const char *ward_status_str(ward_status s);

/* ---------------------------------------------------------------------------------------------
 * Tensor types: the values are GGUF type ids.
 * ------------------------------------------------------------------------------------------- */

typedef enum ward_type {
    WARD_TYPE_F32 = 0,
    WARD_TYPE_F16 = 1,
    WARD_TYPE_Q4_0 = 2,
    WARD_TYPE_Q4_1 = 3,
    WARD_TYPE_Q5_0 = 6,
    WARD_TYPE_Q5_1 = 7,
    WARD_TYPE_Q8_0 = 8,
    WARD_TYPE_Q8_1 = 9,
    WARD_TYPE_Q2_K = 10,
    WARD_TYPE_Q3_K = 11,
    WARD_TYPE_Q4_K = 12,
    WARD_TYPE_Q5_K = 13,
    WARD_TYPE_Q6_K = 14,
    WARD_TYPE_Q8_K = 15,
    WARD_TYPE_IQ2_XXS = 16,
    WARD_TYPE_IQ2_XS = 17,
    WARD_TYPE_IQ3_XXS = 18,
    WARD_TYPE_IQ1_S = 19,
    WARD_TYPE_IQ4_NL = 20,
    WARD_TYPE_IQ3_S = 21,
    WARD_TYPE_IQ2_S = 22,
    WARD_TYPE_IQ4_XS = 23,
    WARD_TYPE_I8 = 24,
    WARD_TYPE_I16 = 25,
    WARD_TYPE_I32 = 26,
    WARD_TYPE_I64 = 27,
    WARD_TYPE_F64 = 28,
    WARD_TYPE_IQ1_M = 29,
    WARD_TYPE_BF16 = 30,
    WARD_TYPE_TQ1_0 = 34,
    WARD_TYPE_TQ2_0 = 35,
    WARD_TYPE_COUNT = 36,
} ward_type;

/* Name of a type ("Q4_0"), or NULL for an id ward does not know. Static storage. */
const char *ward_type_name(ward_type t);
/* Parse a type name, case-insensitive ("q8_0", "F16"). Returns false if unknown. */
bool ward_type_from_name(const char *name, ward_type *out);
/* True when ward can compute with weights of this type. */
bool ward_type_is_computable(ward_type t);

/* ---------------------------------------------------------------------------------------------
 * Model
 * ------------------------------------------------------------------------------------------- */

typedef struct ward_model ward_model;

typedef struct ward_model_info {
    const char *arch;   /* general.architecture, e.g. "llama"; valid while the model is open */
    const char *name;   /* general.name or "" */
    int32_t n_vocab;
    int32_t n_ctx_train;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t n_ff;
    uint64_t n_params;  /* number of weights */
    uint64_t n_bytes;   /* bytes of weight data */
    ward_type main_type; /* type of most weight bytes */
    int32_t n_packed;    /* weight matrices repacked at load for the matmul kernels */
    uint64_t n_packed_bytes; /* bytes of those repacked copies */
} ward_model_info;

/* Open a model: a GGUF file (memory-mapped and validated), or a HuggingFace checkpoint
 * directory (config.json, *.safetensors, tokenizer.model or tokenizer.json), converted in
 * memory with its weights in the checkpoint's own float type. On failure *out is NULL and err
 * (if non-NULL) says why. Close with ward_model_close(). */
ward_status ward_model_open(const char *path, ward_model **out, ward_error *err);

typedef struct ward_ftype ward_ftype; /* a quantization recipe, see "Quantization" below */

typedef struct ward_model_params {
    /* HuggingFace directories: the recipe the weights are converted to while loading (e.g.
     * ward_ftype_from_name("q4_0")), tensor by tensor, so memory stays near the final model
     * size; NULL = the checkpoint's own float type. Must be NULL for GGUF files. */
    const ward_ftype *ftype;
    bool pure;         /* as in ward_quantize_params */
    int32_t n_threads; /* for the conversion; 0 = all cores */
    void (*progress)(void *user, int64_t done, int64_t total); /* bytes read; may be NULL */
    void *user;
    /* Keep every weight as the file stores it. By default the matrices of types with packed
     * kernels (Q4_0) are copied at load into an interleaved layout that the matmul reads
     * faster, and the file's pages of those matrices are released. */
    bool no_repack;
} ward_model_params;

ward_model_params ward_model_default_params(void); /* all zero: no conversion recipe */
/* ward_model_open with parameters (NULL = the defaults). */
ward_status ward_model_open_ex(const char *path, const ward_model_params *params,
                               ward_model **out, ward_error *err);
void ward_model_close(ward_model *model);
/* Pointer valid while the model is open. */
const ward_model_info *ward_model_get_info(const ward_model *model);

/* ---------------------------------------------------------------------------------------------
 * Tokenizer (the model's own)
 * ------------------------------------------------------------------------------------------- */

typedef int32_t ward_token;

enum {
    WARD_TOKENIZE_ADD_BOS = 1 << 0,       /* prepend BOS if the model uses one */
    WARD_TOKENIZE_PARSE_SPECIAL = 1 << 1, /* turn control-token text such as "</s>" into control
                                           * tokens; off for any text a user typed */
};

/* Tokenize len bytes of UTF-8 text. Writes at most cap ids to out and sets *n_out to the number
 * of tokens the text needs; returns WARD_ERANGE when that exceeds cap (call again with a larger
 * buffer). Invalid UTF-8 is tokenized byte by byte through byte-fallback tokens. */
ward_status ward_tokenize(const ward_model *model, const char *text, size_t len, unsigned flags,
                          ward_token *out, size_t cap, size_t *n_out);

/* The bytes a token stands for ("▁the" gives " the", "<0x0A>" gives "\n"); control tokens give
 * "" unless render_special. Writes at most cap bytes, sets *n_out to the full length and returns
 * WARD_ERANGE when it does not fit. Bytes need not be valid UTF-8 on their own. */
ward_status ward_token_to_bytes(const ward_model *model, ward_token tok, bool render_special,
                                char *out, size_t cap, size_t *n_out);

/* The token's text as stored in the vocabulary (e.g. "▁the"), or NULL if out of range.
 * Valid while the model is open; not NUL-terminated, length in *len. */
const char *ward_token_text(const ward_model *model, ward_token tok, size_t *len);

ward_token ward_token_bos(const ward_model *model); /* -1 if none */
ward_token ward_token_eos(const ward_model *model); /* -1 if none */
/* True for tokens that end generation (EOS, EOT, ...). */
bool ward_token_is_eog(const ward_model *model, ward_token tok);

/* Text in pieces, each saying whether control-token text in it may become control tokens.
 * Chat templates produce these: the template's own markers allow special tokens, the user's
 * content never does. Pieces are tokenized as if concatenated (no boundary effects). */
typedef struct ward_text_span {
    const char *text;
    size_t len;
    bool allow_special;
} ward_text_span;

/* Like ward_tokenize over the concatenation of spans; WARD_TOKENIZE_PARSE_SPECIAL is ignored
 * (each span says). */
ward_status ward_tokenize_spans(const ward_model *model, const ward_text_span *spans,
                                size_t n_spans, unsigned flags, ward_token *out, size_t cap,
                                size_t *n_out);

/* ---------------------------------------------------------------------------------------------
 * Standalone tokenizers: the files models ship besides GGUF
 * ------------------------------------------------------------------------------------------- */

typedef struct ward_tokenizer ward_tokenizer;

/* Open a tokenizer from a GGUF file (model or vocab-only), a HuggingFace tokenizer.json, a
 * SentencePiece tokenizer.model, a tiktoken rank file (*.tiktoken), or a directory holding one
 * of these (tokenizer.json preferred). */
ward_status ward_tokenizer_open(const char *path, ward_tokenizer **out, ward_error *err);
void ward_tokenizer_close(ward_tokenizer *t);
/* The tokenizer of a model; valid while the model is open. */
const ward_tokenizer *ward_model_tokenizer(const ward_model *model);
int32_t ward_tokenizer_n_vocab(const ward_tokenizer *t);
/* Same contracts as ward_tokenize / ward_tokenize_spans / ward_token_to_bytes above. */
ward_status ward_tokenizer_encode(const ward_tokenizer *t, const char *text, size_t len,
                                  unsigned flags, ward_token *out, size_t cap, size_t *n_out);
ward_status ward_tokenizer_encode_spans(const ward_tokenizer *t, const ward_text_span *spans,
                                        size_t n_spans, unsigned flags, ward_token *out,
                                        size_t cap, size_t *n_out);
ward_status ward_tokenizer_token_bytes(const ward_tokenizer *t, ward_token tok,
                                       bool render_special, char *out, size_t cap,
                                       size_t *n_out);
/* As ward_token_text: the vocabulary entry ("▁the"; byte-level BPE entries as raw bytes). */
const char *ward_tokenizer_token_text(const ward_tokenizer *t, ward_token tok, size_t *len);

/* Streaming detokenizer: feed tokens, get back only complete UTF-8 characters. */
typedef struct ward_detok ward_detok;
ward_status ward_detok_open(const ward_model *model, ward_detok **out);
void ward_detok_close(ward_detok *d);
/* Append the text of tok. *text points at the newly complete characters (*len bytes), valid
 * until the next call on d. Bytes that can never form valid UTF-8 come out as U+FFFD. */
ward_status ward_detok_push(ward_detok *d, ward_token tok, const char **text, size_t *len);
/* Whatever is still held back (an incomplete character at the end), as U+FFFD. */
void ward_detok_flush(ward_detok *d, const char **text, size_t *len);

/* ---------------------------------------------------------------------------------------------
 * Context: KV caches, scratch and threads for evaluating a model
 * ------------------------------------------------------------------------------------------- */

typedef struct ward_context ward_context;

typedef struct ward_context_params {
    int32_t n_ctx;     /* positions per sequence; 0 = the model's training context (max 4096) */
    int32_t n_seq;     /* sequences (KV caches) the context holds; 0 = 1 */
    int32_t n_batch;   /* most tokens one ward_decode() call takes; 0 = 512 */
    int32_t n_threads; /* 0 = number of online CPUs */
    int32_t n_outputs; /* most tokens of one batch that may want logits; 0 = n_seq */
    ward_type kv_type; /* KV cache: WARD_TYPE_F16 (also 0, the default) or WARD_TYPE_Q8_0 (about
                        * half the memory; keys and values rounded to 8 bits per element, so
                        * logits move by roughly that rounding; needs a head size that is a
                        * multiple of 32) */
    int32_t attn_online_from; /* attention over this many keys or more runs in one pass with
                               * online softmax (memory and reads independent of the context's
                               * length); below, the exact two-pass form of the reference
                               * engine. 0 = WARD_ATTN_ONLINE_FROM; 1 = always online */
} ward_context_params;

#define WARD_ATTN_ONLINE_FROM 512

ward_context_params ward_context_default_params(void);
/* Bytes of KV cache one position of one sequence takes (keys and values of every layer) in a
 * cache of kv_type (0 = F16), for sizing contexts to a memory budget. */
uint64_t ward_kv_bytes_per_position(const ward_model *model, ward_type kv_type);

/* Allocate a context for model (which must outlive it). */
ward_status ward_context_open(const ward_model *model, const ward_context_params *params,
                              ward_context **out, ward_error *err);
void ward_context_close(ward_context *ctx);
/* Message of the context's last failure. Valid until the next call on ctx. */
const char *ward_context_errmsg(const ward_context *ctx);
int32_t ward_context_n_ctx(const ward_context *ctx);
/* Number of positions already in sequence seq's KV cache. */
int32_t ward_context_seq_len(const ward_context *ctx, int32_t seq);
/* Forget sequence seq (its next token is position 0). */
ward_status ward_context_seq_clear(ward_context *ctx, int32_t seq);
/* Keep only the first n positions of sequence seq (n <= its length): the next token continues
 * at position n. Lets a chat reuse the cached part of a conversation. */
ward_status ward_context_seq_truncate(ward_context *ctx, int32_t seq, int32_t n);
/* Sequence dst becomes a copy of the first n positions of sequence src (n <= its length; dst's
 * own positions are dropped), so a shared prefix is computed once: dst continues at position n
 * exactly as src would have. */
ward_status ward_context_seq_copy(ward_context *ctx, int32_t src, int32_t dst, int32_t n);

/* A batch: n tokens, each with the sequence it belongs to. Within one sequence, tokens must be in
 * order and continue that sequence: the first has position ward_context_seq_len(seq). */
typedef struct ward_batch {
    int32_t n;
    const ward_token *tokens; /* (n) */
    const int32_t *seq;       /* (n) sequence ids in [0, n_seq); NULL = all 0 */
    const bool *want_logits;  /* (n) NULL = only the last token of the batch */
} ward_batch;

/* Evaluate a batch: appends to the KV caches and computes logits where wanted. On error the
 * caches are unchanged. */
ward_status ward_decode(ward_context *ctx, const ward_batch *batch);
/* Logits (n_vocab floats) of batch token i of the last successful ward_decode(), or NULL if
 * that token did not want logits, i is outside that batch, or the last decode failed. Valid
 * until the next ward_decode() on ctx. */
const float *ward_context_logits(const ward_context *ctx, int32_t i);

/* ---------------------------------------------------------------------------------------------
 * Sampling
 * ------------------------------------------------------------------------------------------- */

typedef struct ward_sampler ward_sampler;

typedef struct ward_sampler_params {
    float temperature;       /* <= 0: greedy (argmax), the other fields are then ignored */
    int32_t top_k;           /* 0 = off */
    float top_p;             /* 1.0 = off */
    float min_p;             /* 0.0 = off */
    float repeat_penalty;    /* 1.0 = off; divides positive logits, multiplies negative ones */
    float presence_penalty;  /* 0.0 = off */
    float frequency_penalty; /* 0.0 = off */
    int32_t penalty_last_n;  /* how many recent tokens the penalties look at; 0 = off */
    uint64_t seed;           /* same seed, same params, same logits: same tokens */
} ward_sampler_params;

/* temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, penalties off (repeat 1, presence and
 * frequency 0) over the last 64 tokens, seed 0. */
ward_sampler_params ward_sampler_default_params(void);
/* n_vocab: the size of the logit vectors that will be passed; params NULL = the defaults.
 * Out-of-range parameters give WARD_EINVAL (with temperature <= 0 the rest are not checked).
 * All buffers are allocated here: sampling never allocates. */
ward_status ward_sampler_open(const ward_sampler_params *params, int32_t n_vocab,
                              ward_sampler **out, ward_error *err);
void ward_sampler_close(ward_sampler *s);
/* Choose a token from logits (n_vocab floats, not modified; NaN counts as -infinity). */
ward_token ward_sampler_sample(ward_sampler *s, const float *logits);
/* Record a token in the penalty history (prompt tokens and each sampled token); ids outside
 * [0, n_vocab) are ignored. */
void ward_sampler_accept(ward_sampler *s, ward_token tok);
/* Forget the history and reseed: a reset sampler repeats its sequence. */
void ward_sampler_reset(ward_sampler *s);

/* ---------------------------------------------------------------------------------------------
 * Chat templates
 * ------------------------------------------------------------------------------------------- */

/* A call the assistant made to a tool (a function). */
typedef struct ward_chat_tool_call {
    const char *name;
    const char *arguments; /* the arguments: a JSON object, as text */
} ward_chat_tool_call;

typedef struct ward_chat_message {
    const char *role;    /* "system", "user", "assistant", or "tool" (a tool's result) */
    const char *content; /* UTF-8; never parsed for control tokens. NULL only for an
                          * assistant message with tool calls */
    const ward_chat_tool_call *tool_calls; /* (n_tool_calls) an assistant message's calls */
    size_t n_tool_calls;
} ward_chat_message;

typedef struct ward_chat_template ward_chat_template; /* built in, static storage */

/* Names of the built-in templates, NULL-terminated: "chatml", "llama2", "llama3", "chatglm3",
 * "glm4", "baichuan2". */
const char *const *ward_chat_template_names(void);
/* The template for a model: by name if name is non-NULL, else recognised from the GGUF
 * tokenizer.chat_template text, else from the architecture. WARD_EUNSUPPORTED (naming the
 * choices) if none fits. */
ward_status ward_chat_template_for_model(const ward_model *model, const char *name,
                                         const ward_chat_template **out, ward_error *err);
const char *ward_chat_template_name(const ward_chat_template *tmpl);
/* Render messages (and, if add_assistant, the opening of the assistant's reply) as spans:
 * the template's markers allow special tokens, message contents do not. *spans (n_spans) and
 * the text they point into are valid until ward_chat_spans_free(). */
ward_status ward_chat_render(const ward_chat_template *tmpl, const ward_chat_message *msgs,
                             size_t n_msgs, bool add_assistant, ward_text_span **spans,
                             size_t *n_spans);

/* How a template's model writes tool calls in its reply: each call is
 * open + name + name_close + arguments (one JSON object) + close, and calls after the first
 * follow sep (NULL: one call per reply). A reply that starts otherwise is text. */
typedef struct ward_chat_tool_syntax {
    const char *open, *name_close, *close, *sep;
} ward_chat_tool_syntax;
/* The template's tool-call syntax, or NULL if its models were not trained to call tools
 * ("chatml" as Qwen2/2.5 write it; "glm4"). */
const ward_chat_tool_syntax *ward_chat_tool_syntax_of(const ward_chat_template *tmpl);
/* ward_chat_render with tools the assistant may call, described in the template's own way:
 * tools_json is OpenAI's "tools" array as JSON text ([{"type": "function", "function":
 * {"name", "description", "parameters"}}]), or NULL. Messages may then include tool calls and
 * "tool" results. WARD_EUNSUPPORTED (in err) when tools, tool calls or tool results reach a
 * template without tool syntax; WARD_EINVAL for malformed tools or call arguments. */
ward_status ward_chat_render_tools(const ward_chat_template *tmpl, const ward_chat_message *msgs,
                                   size_t n_msgs, const char *tools_json, bool add_assistant,
                                   ward_text_span **spans, size_t *n_spans, ward_error *err);
void ward_chat_spans_free(ward_text_span *spans);

/* ---------------------------------------------------------------------------------------------
 * Quantization of a GGUF model
 * ------------------------------------------------------------------------------------------- */

/* A quantization recipe, named as llama.cpp's file types: "f32", "f16", "bf16", "q8_0",
 * "q4_0", "q4_1", "q5_0", "q5_1", "q4_k_m", "q5_k_m", "q6_k". Static storage. */
typedef struct ward_ftype ward_ftype;
const ward_ftype *ward_ftype_from_name(const char *name); /* case-insensitive; NULL if unknown */
const char *ward_ftype_name(const ward_ftype *ftype);
const char *const *ward_ftype_names(void);               /* NULL-terminated */

typedef struct ward_quantize_params {
    const ward_ftype *ftype; /* the recipe */
    bool pure;         /* every weight matrix in the recipe's base type (llama.cpp's --pure);
                        * else the output matrix gets Q6_K and the _M recipes raise some
                        * attn_v / ffn_down layers, as llama.cpp does */
    int32_t n_threads; /* 0 = all cores */
    /* called after each tensor with bytes of input done and in all; may be NULL */
    void (*progress)(void *user, int64_t done, int64_t total);
    void *user;
} ward_quantize_params;

ward_quantize_params ward_quantize_default_params(void); /* q8_0, not pure */
/* Read the GGUF model at in (F32/F16/BF16 weights) and write it to out quantized by the
 * recipe, as llama.cpp's quantizer does. out appears only when complete. */
ward_status ward_quantize(const char *in, const char *out, const ward_quantize_params *params,
                          ward_error *err);

/* ---------------------------------------------------------------------------------------------
 * Conversion of a HuggingFace checkpoint to GGUF
 * ------------------------------------------------------------------------------------------- */

typedef struct ward_convert_params {
    const ward_ftype *ftype; /* NULL = the checkpoint's own float type (F32, F16 or BF16) */
    bool pure;               /* as in ward_quantize_params */
    int32_t n_threads;       /* 0 = all cores */
    /* called after each tensor with bytes of input done and in all; may be NULL */
    void (*progress)(void *user, int64_t done, int64_t total);
    void *user;
} ward_convert_params;

ward_convert_params ward_convert_default_params(void); /* checkpoint's type, all cores */
/* Convert the HuggingFace checkpoint in directory hf_dir (LlamaForCausalLM, Qwen2ForCausalLM,
 * ChatGLMModel / ChatGLMForConditionalGeneration (ChatGLM2/3, GLM-4), BaichuanForCausalLM,
 * InternLMForCausalLM: config.json, model.safetensors or a sharded index with F32/F16/BF16
 * tensors, tokenizer.model or tokenizer.json) into the GGUF file out, with the metadata,
 * tensor names and layout llama.cpp's convert_hf_to_gguf.py writes, matrices in the recipe's
 * types (as ward_quantize chooses them). Streams tensor by tensor; out appears only when
 * complete. */
ward_status ward_convert(const char *hf_dir, const char *out, const ward_convert_params *params,
                         ward_error *err);

/* ---------------------------------------------------------------------------------------------
 * Random-weight models, for tests and benchmarks without downloads
 * ------------------------------------------------------------------------------------------- */

typedef struct ward_synth_params {
    const char *arch;  /* "llama", "qwen2", "chatglm" (ChatGLM2/3, GLM-4), "baichuan",
                        * "internlm": llama.cpp's tensor names and keys for each; "chatglm1"
                        * (ChatGLM-6B, ward's names: n_head_kv must equal n_head) */
    int32_t n_vocab;   /* a synthetic byte-fallback vocabulary of this size (>= 259) */
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    ward_type type;    /* type of the 2-D weight matrices; norms stay F32 */
    const ward_ftype *ftype; /* non-NULL: a recipe that chooses each matrix's type as ward
                              * quantize would (e.g. q4_k_m), instead of type */
    bool tied_output;  /* no output.weight: logits use the embedding matrix */
    uint64_t seed;
    float alibi_max_bias; /* baichuan: 0 = by depth (32 layers rotary, 40 ALiBi); > 0 = ALiBi
                           * with this maximum bias (key baichuan.attention.max_alibi_bias) */
} ward_synth_params;

ward_synth_params ward_synth_default_params(void);
/* Set arch, dimensions, vocabulary size, context and tied output to those of a real model:
 * "tinyllama-1.1b", "llama2-7b", "qwen2-1.5b", "qwen2-7b", "chatglm3-6b", "baichuan2-7b"
 * (their published configs). False if the name is unknown. */
bool ward_synth_shape(const char *name, ward_synth_params *p);
const char *const *ward_synth_shape_names(void); /* NULL-terminated */
ward_status ward_synth_write(const ward_synth_params *params, const char *path, ward_error *err);

#ifdef __cplusplus
}
#endif
#endif /* WARD_H */
