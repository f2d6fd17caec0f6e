/* pyjson.h: JSON written as Python's json.dumps writes it, which is what HuggingFace chat
 * templates' tojson filter produces (json.dumps(x, ensure_ascii=False, indent=indent)): models
 * were trained on tool definitions and call arguments in exactly this spacing.
 */
#ifndef WARD_RUNTIME_PYJSON_H
#define WARD_RUNTIME_PYJSON_H

#include <cjson/cJSON.h>

/* indent < 0: one line, ", " and ": " between items; indent >= 0: one item per line, indented
 * by that many spaces per level, "," and ": ". Non-ASCII text is written as is. Returns a
 * ward_malloc'ed string (ward_free), or NULL when out of memory. */
char *pyjson_dump(const cJSON *value, int indent);

#endif
