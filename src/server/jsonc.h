/* jsonc.h: JSON constraints for structured output: a JSON Schema (the subset OpenAI's strict
 * mode uses) compiled into a byte-level matcher, and the set of a model's tokens the matcher
 * accepts next, so generation can only produce JSON that parses and validates.
 *
 * Supported: type (object, array, string, number, integer, boolean, null, or a list of types
 * whose texts start differently, e.g. ["string", "null"]), properties, required,
 * additionalProperties (false, or absent: only the declared properties are generated, which the
 * schema allows either way), items, minItems, maxItems, enum, const, minLength, maxLength, and
 * the annotations title, description, $schema, default, examples. Anything else is refused,
 * naming the keyword: an unsupported schema is never silently unconstrained.
 *
 * Generation order and bounds, so that even a random-weight model finishes: an object's
 * properties come in the schema's order, all of them; at most JC_MAX_WS whitespace characters
 * between tokens; strings at most maxLength characters (JC_DEFAULT_MAX_LEN without one); arrays
 * at most maxItems items (JC_DEFAULT_MAX_ITEMS without one); numbers at most 15 digits before
 * and after the point and 3 in the exponent. "json_object" mode (no schema) takes any object,
 * nested at most JC_ANY_DEPTH deep, with at most JC_DEFAULT_MAX_ITEMS members per container.
 */
#ifndef WARD_SERVER_JSONC_H
#define WARD_SERVER_JSONC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward.h"

#define JC_MAX_WS 4
#define JC_DEFAULT_MAX_LEN 256
#define JC_DEFAULT_MAX_ITEMS 16
#define JC_ANY_DEPTH 3
#define JC_MAX_DEPTH 32

typedef struct jc_schema jc_schema;

/* Compiles a schema (NULL: any JSON object). The root must be an object. On failure returns
 * false with a message naming the offending keyword or path in err. */
bool jc_compile(const cJSON *schema, jc_schema **out, char *err, size_t cap);
void jc_free(jc_schema *s);

typedef struct jc_frame {
    uint16_t node;
    uint8_t phase;
    uint8_t ws;     /* whitespace characters in the current gap */
    uint16_t count; /* properties, items, characters, digits or literal offset so far */
    uint16_t aux;   /* the number's state, pending UTF-8 bytes, hex digits to come */
    uint64_t cand;  /* literals still possible; the next UTF-8 byte's range */
} jc_frame;

typedef struct jc_state {
    int depth; /* frames in use */
    bool done; /* the root value is complete: nothing more is accepted */
    jc_frame f[JC_MAX_DEPTH];
} jc_state;

void jc_start(const jc_schema *s, jc_state *st);
/* Feeds one byte: true and st advanced if the JSON so far can still become a valid value;
 * false (st unspecified) if not. */
bool jc_feed(const jc_schema *s, jc_state *st, uint8_t c);
/* Feeds n bytes; false if any is refused. */
bool jc_feed_all(const jc_schema *s, jc_state *st, const char *bytes, size_t n);
void jc_copy(jc_state *dst, const jc_state *src);

/* Tool calls: the replies a tool-calling model may write in its template's syntax (ward.h,
 * ward_chat_tool_syntax): 1 to max_calls calls (more than one only where the syntax has a
 * separator), each of one of the tools with arguments valid under its parameters (a schema
 * with "type": "object", as above; NULL: any object), or, when text_allowed, a reply that
 * leaves the start of every call (then jc_is_free: the rest is unconstrained). At most 64
 * tools; names must not contain the syntax's name_close. */
typedef struct jc_tool {
    const char *name;
    const cJSON *parameters;
} jc_tool;
bool jc_compile_tools(const ward_chat_tool_syntax *syn, const jc_tool *tools, int n_tools,
                      int max_calls, bool text_allowed, jc_schema **out, char *err, size_t cap);
/* The reply left the tool calls' start: nothing constrains it any more. */
bool jc_is_free(const jc_schema *s, const jc_state *st);
/* The text so far is complete: generation may end here (or, with calls that may repeat, go
 * on). True whenever st->done. */
bool jc_can_end(const jc_schema *s, const jc_state *st);

/* A model's tokens as a byte trie, for finding the ones a state accepts. */
typedef struct jc_vocab jc_vocab;
jc_vocab *jc_vocab_build(const ward_model *m);
void jc_vocab_free(jc_vocab *v);
/* allowed[t] = whether token t's bytes are all accepted from st (tokens without bytes, the
 * control tokens, never are). allowed has the model's n_vocab entries. Returns how many. */
int32_t jc_allowed(const jc_vocab *v, const jc_schema *s, const jc_state *st, bool *allowed);

#endif
