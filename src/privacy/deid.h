/* deid.h: de-identification of Chinese clinical text: finding the protected health information
 * (PHI) in a UTF-8 text and writing the text again with placeholders and shifted dates.
 *
 * Two steps, so a caller can look at (or correct) what was found before anything is rewritten:
 * deid_find() returns spans (start and end in characters, i.e. Unicode code points, and a type);
 * deid_apply() writes the text with each span replaced: by the type's placeholder ("[姓名]"), or
 * for dates by the same date moved by config->shift_days days, written the same way. deid_redact()
 * does both. Which types are looked for, the placeholders, the shift and extra names/org words are
 * a deid_config, which can be read from JSON (`ward deid --config`, the server).
 *
 * The detectors are hand-written scanners over the decoded code points with const tables of
 * surnames, cue words and address/organisation suffixes (deid_detect.c, deid_tables.c); what each
 * finds and why is in docs/deid.md. Overlapping detections: the longest span wins; between spans
 * of the same length the more specific type wins, in the order of deid_type below.
 *
 * Threads: no global mutable state; a const deid_config may be shared by any number of threads.
 * Errors: a status and a message (deid_error); nothing here prints or exits.
 */
#ifndef WARD_PRIVACY_DEID_H
#define WARD_PRIVACY_DEID_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum deid_status {
    DEID_OK = 0,
    DEID_INVALID,   /* bad input: invalid UTF-8, a malformed config or span list (message says) */
    DEID_NO_MEMORY, /* an allocation failed */
} deid_status;

typedef struct deid_error {
    deid_status status;
    char msg[256];
} deid_error;

/* The PHI types, in tie-break order (a lower value wins between equally long spans). The JSON
 * names are "id_number", "record_number", "phone", "date", "age", "org", "address", "name". */
typedef enum deid_type {
    DEID_ID_NUMBER,     /* 18-digit resident ID, checksum-valid (GB 11643)       -> [身份证号] */
    DEID_RECORD_NUMBER, /* labelled record / admission / insurance card numbers -> [病案号] */
    DEID_PHONE,         /* mobile and landline numbers                         -> [电话] */
    DEID_DATE,          /* exact dates, shifted (not replaced)                 -> (shifted) */
    DEID_AGE,           /* ages over 89                                        -> [年龄] */
    DEID_ORG,           /* employers and schools                               -> [单位] */
    DEID_ADDRESS,       /* addresses below province level                      -> [地址] */
    DEID_NAME,          /* personal names                                      -> [姓名] */
    DEID_N_TYPES
} deid_type;

/* "name", "id_number", ...; NULL for an out-of-range value. */
const char *deid_type_name(deid_type t);
/* The type called name; false if there is none. */
bool deid_type_from_name(const char *name, deid_type *out);

#define DEID_PLACEHOLDER_MAX 64 /* bytes, with the terminating NUL */
#define DEID_SHIFT_MAX 36500    /* |shift_days| at most this (100 years) */

typedef struct deid_config {
    bool enabled[DEID_N_TYPES];                          /* default: all */
    char placeholder[DEID_N_TYPES][DEID_PLACEHOLDER_MAX]; /* UTF-8; for DEID_DATE used only
                                                            when a date span cannot be parsed */
    int32_t shift_days;   /* added to every exact date; default 0 (dates unchanged) */
    bool shift_days_set;  /* true when a config file gave shift_days (the CLI then uses it) */
    char **names;         /* (n_names) extra names, UTF-8, found wherever they occur; owned */
    int n_names;
    char **org_words;     /* (n_org_words) extra organisation suffixes ("合作社"); owned */
    int n_org_words;
} deid_config;

/* All types on, the default placeholders, shift 0, no extra words. */
void deid_config_init(deid_config *c);
/* Frees the extra word lists (NULL and an initialised config are fine); c can be reused after
 * deid_config_init. */
void deid_config_free(deid_config *c);
/* Applies a JSON object to an initialised config:
 *   {"types": ["name", "phone", ...] (exactly these on),
 *    "placeholders": {"name": "[NAME]", ...}, "shift_days": N,
 *    "names": ["张三", ...], "org_words": ["合作社", ...]}
 * every key optional; an unknown key, type or wrong JSON type is DEID_INVALID naming it. */
deid_status deid_config_from_json(deid_config *c, const cJSON *json, deid_error *e);
/* The same from JSON text (len bytes). */
deid_status deid_config_parse(deid_config *c, const char *text, size_t len, deid_error *e);
/* Turns on exactly the comma-separated types in list ("name,phone"); DEID_INVALID names an
 * unknown one. */
deid_status deid_config_set_types(deid_config *c, const char *list, deid_error *e);

/* A detection: characters [start, end) of the text, in code points. */
typedef struct deid_span {
    int64_t start, end;
    deid_type type;
} deid_span;

/* Finds the PHI of the enabled types in text (len bytes of UTF-8; need not be NUL-terminated).
 * *spans (malloc'ed, caller frees; NULL when none) holds *n_spans sorted, non-overlapping
 * spans. Invalid UTF-8 (overlong forms, surrogates, > U+10FFFF, truncated sequences) and NUL
 * bytes are DEID_INVALID with the byte offset in the message. */
deid_status deid_find(const deid_config *c, const char *text, size_t len, deid_span **spans,
                      size_t *n_spans, deid_error *e);
/* Writes text with the spans replaced into *out (malloc'ed, NUL-terminated, caller frees). The
 * spans must be sorted, non-overlapping and inside the text (else DEID_INVALID); they need not
 * come from deid_find (e.g. corrected by hand). A date span is shifted by c->shift_days, keeping
 * its format (separators, zero padding, full-width digits, a time after it); a date without a
 * year ("3月5日") takes the year of the nearest full date before it, else 2000 (a leap year). */
deid_status deid_apply(const deid_config *c, const char *text, size_t len, const deid_span *spans,
                       size_t n_spans, char **out, deid_error *e);
/* deid_find, then deid_apply. */
deid_status deid_redact(const deid_config *c, const char *text, size_t len, char **out,
                        deid_error *e);

/* True when id holds 17 digits and a check character (digit, 'X' or 'x') that agrees with
 * ISO 7064 MOD 11-2 as GB 11643 uses it. Exposed for tests. */
bool deid_id_checksum_ok(const char *id);

/* The number of code points in len bytes of valid UTF-8 (or -1 if it is not valid). */
int64_t deid_utf8_chars(const char *text, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Measuring against labelled text (`ward deid --eval`, tests)
 * ------------------------------------------------------------------------------------------- */

/* Per type: gold spans, predicted spans, gold spans overlapped by a prediction of the same type
 * (recall), exactly matched (strict recall), predictions overlapping a gold span of the same type
 * (precision) and exactly matching one (strict precision). */
typedef struct deid_score {
    int64_t gold[DEID_N_TYPES], found[DEID_N_TYPES];
    int64_t gold_hit[DEID_N_TYPES], gold_exact[DEID_N_TYPES];
    int64_t found_hit[DEID_N_TYPES], found_exact[DEID_N_TYPES];
} deid_score;

void deid_score_add(deid_score *s, const deid_span *gold, size_t n_gold, const deid_span *found,
                    size_t n_found);
/* A labelled record {"text": "...", "spans": [{"start", "end", "type"}, ...]}: *text borrows
 * the record's string (valid while json lives), *gold is malloc'ed (caller frees). Spans must lie
 * inside the text and name a known type; DEID_INVALID says which is wrong. */
deid_status deid_gold_from_json(const cJSON *json, const char **text, deid_span **gold,
                                size_t *n_gold, deid_error *e);

#endif
