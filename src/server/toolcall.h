/* toolcall.h: reading tool calls out of a reply as it streams, in the chat template's syntax
 * (ward.h, ward_chat_tool_syntax), into OpenAI's shapes.
 *
 * The reply was generated under jc_compile_tools' grammar, so it is either text (it left the
 * start of every call) or calls: open + name + name_close + arguments + close, joined by sep.
 * The parser holds back bytes while they could still be the start of a call (or the bytes
 * between two calls), streams each call's arguments as they come (the JSON text as generated;
 * OpenAI's "arguments" is a string), and drops the syntax around them.
 */
#ifndef WARD_SERVER_TOOLCALL_H
#define WARD_SERVER_TOOLCALL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "ward.h"

typedef struct tc_parser {
    const ward_chat_tool_syntax *syn;
    const char *const *names; /* (n_names) the tools' names */
    int n_names;
    int mode;          /* where the reply stands (toolcall.c) */
    char *held;        /* (held_len) bytes not yet decided */
    size_t held_len;
    int depth;         /* the arguments' JSON nesting, and whether in a string / after '\' */
    bool in_string, escaped;
    int n_calls;       /* calls started so far */
    char id_prefix[48]; /* call ids are id_prefix + the call's number */
} tc_parser;

/* What the new text added: content text and tool-call delta entries, as OpenAI streams them:
 * {"index", "id", "type": "function", "function": {"name", "arguments": ""}} when a call
 * starts, then {"index", "function": {"arguments": "..."}} for its arguments. */
typedef struct tc_delta {
    char *content;    /* malloc'ed, or NULL: none */
    cJSON *calls;     /* array of entries, or NULL: none */
} tc_delta;

void tc_init(tc_parser *p, const ward_chat_tool_syntax *syn, const char *const *names,
             int n_names, const char *id_prefix);
void tc_free(tc_parser *p);
/* Takes the reply's next n bytes; false when out of memory. */
bool tc_feed(tc_parser *p, const char *text, size_t n, tc_delta *d);
/* The reply ended: held bytes that were not a call's start are content. */
bool tc_finish(tc_parser *p, tc_delta *d);
void tc_delta_free(tc_delta *d);
/* Whole-response form: the deltas' entries merged into complete calls [{"id", "type",
 * "function": {"name", "arguments"}}] in *calls (created on demand). */
bool tc_merge(cJSON **calls, const cJSON *delta_calls);

#endif
