/* api.h: the OpenAI API's shapes: requests parsed from JSON into generation settings, and the
 * JSON of responses, stream chunks and errors, as OpenAI sends them.
 *
 * Parsing is strict about types (a wrong type is a 400 naming the field) and lenient about
 * unknown fields (ignored). Features this server does not have yet are refused by name, never
 * silently ignored.
 */
#ifndef WARD_SERVER_API_H
#define WARD_SERVER_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/jsonc.h"
#include "server/sched.h"
#include "ward.h"

typedef struct api_error {
    int status;        /* HTTP status */
    const char *type;  /* "invalid_request_error", "authentication_error", ... */
    const char *code;  /* NULL or e.g. "model_not_found", "context_length_exceeded" */
    char param[64];    /* the offending field, "" for none */
    char message[512];
} api_error;

/* Fills e and returns false (for `return api_fail(...)`). */
bool api_fail(api_error *e, int status, const char *type, const char *code, const char *param,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));

typedef struct api_request {
    bool chat;   /* /v1/chat/completions (messages) or /v1/completions (prompt) */
    bool stream, include_usage;
    const char *model;
    ward_chat_message *messages; /* (n_messages) chat */
    size_t n_messages;
    const char *prompt; /* completions */
    srv_gen_params gen; /* max_tokens 0 = up to the context's end */
    bool seeded;
    int n;              /* choices */
    enum { API_TEXT, API_JSON_OBJECT, API_JSON_SCHEMA } format; /* response_format */
    const cJSON *schema; /* API_JSON_SCHEMA's schema (in root) */
    /* function calling: the tools the reply may call (NULL: none, or tool_choice "none") */
    const cJSON *tools;
    char *tools_json;         /* tools as text, for the chat template */
    const char *forced_tool;  /* tool_choice naming a function: only it may be called */
    bool tool_required;       /* tool_choice "required" or named: the reply must call */
    bool parallel_tool_calls; /* up to API_MAX_TOOL_CALLS calls (else one) */
    cJSON *root;        /* owns the strings above */
    void **owned;       /* contents joined from parts, messages' tool calls */
    size_t n_owned;
} api_request;

#define API_MAX_TOOLS 64
#define API_MAX_TOOL_CALLS 8

/* The tools' names (n tools), in the order of r->tools. */
int api_tool_names(const api_request *r, const char **names);

/* The request's constraint for one choice: its structured output, or its tool calls in the
 * model's syntax (syn; NULL if the model has none), or NULL for free text; false with e filled
 * (400 naming the schema keyword) when it cannot be compiled. */
bool api_compile_format(const api_request *r, const ward_chat_tool_syntax *syn, jc_schema **out,
                        api_error *e);

/* A served model's default request fields (an object), or NULL. */
typedef const cJSON *(*api_defaults_fn)(void *ctx, const char *model);

/* Parses a request body; fields it leaves out (or sets to null) are taken from defaults(ctx,
 * model) when given. On failure fills e (400) and returns false; r is freed either way by
 * api_request_free. */
bool api_parse_request(const char *body, size_t len, bool chat, api_defaults_fn defaults,
                       void *ctx, api_request *r, api_error *e);
void api_request_free(api_request *r);

/* {"error": {...}} */
char *api_error_json(const api_error *e);

typedef struct api_usage {
    int32_t prompt_tokens, completion_tokens, cached_tokens;
} api_usage;

/* The OpenAI finish_reason of a job's end ("stop", "length"), or NULL while running. */
const char *api_finish_reason(srv_finish f);

/* One choice of a response: its text, finish reason (NULL while running) and log-probabilities
 * (NULL: none asked; else the "logprobs" object, which the builders copy). */
typedef struct api_choice {
    const char *text;
    const char *finish;
    const cJSON *logprobs;
    const cJSON *tool_calls; /* NULL, or the calls (whole responses) / delta entries (chunks) */
} api_choice;

/* A whole (non-streamed) response. id like "chatcmpl-..." / "cmpl-...". */
char *api_response_json(const api_request *r, const char *id, long created, const char *model,
                        const api_choice *choices, int n_choices, const api_usage *u);
/* One streamed chunk's JSON (without the "data: " framing) for choice `index`: role_only for
 * the first chat chunk (role, empty content), else the text and tool-call deltas, with
 * finish_reason when c->finish is non-NULL. */
char *api_chunk_json(const api_request *r, const char *id, long created, const char *model,
                     int index, bool role_only, const api_choice *c);
/* The final usage chunk of stream_options.include_usage (choices empty). */
char *api_usage_chunk_json(const api_request *r, const char *id, long created, const char *model,
                           const api_usage *u);

#endif
