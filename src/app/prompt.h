/* prompt.h: the workbench's prompt templates, in versioned text files a hospital can edit
 * (share/workbench/prompts/NAME.txt), each with the JSON Schema that fixes its answer's shape
 * (NAME.schema.json).
 *
 * A template file: lines starting with '#' are comments; "name: NAME" and "version: N" (a
 * positive integer, raised with every edit) head it; "---- system" and "---- user" start the two
 * messages. Placeholders {{patient}}, {{department}} and {{case}} are filled from the case; any
 * other {{...}} is refused when the file loads, as is a schema ward cannot enforce, so a bad
 * edit stops the server at start-up instead of producing unconstrained answers.
 */
#ifndef WARD_APP_PROMPT_H
#define WARD_APP_PROMPT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct prompt_template {
    char id[96];   /* "name@version", recorded with every generation */
    char *system;  /* the system message's text, placeholders unfilled (may be empty) */
    char *user;
    cJSON *schema; /* the answer's JSON Schema */
    bool with_diagnosis; /* {{case}} includes the case's diagnosis section (not for the
                          * differential, which must not see the answer) */
} prompt_template;

/* Loads dir/name.txt and dir/name.schema.json; false with err naming the file and problem. */
bool prompt_load(const char *dir, const char *name, prompt_template **out, char *err, size_t cap);
void prompt_free(prompt_template *t);

/* The two messages for a case (a store case record); malloc'ed, NULL when out of memory. */
char *prompt_fill(const prompt_template *t, const char *text, const cJSON *case_record);

#endif
