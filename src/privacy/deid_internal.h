/* deid_internal.h: what the de-identification files share (deid.c, deid_detect.c, deid_name.c,
 * deid_tables.c): the decoded text, the candidate list the detectors fill, the word tables, the
 * scanning helpers and the date parser that deid_apply reuses to shift a date.
 *
 * The text is decoded once into code points (char32_t); every detector scans that array, so
 * offsets are characters throughout. Detectors only add candidates; deid.c resolves overlaps.
 * Tables are const arrays of U"" literals: no state, safe from any thread.
 */
#ifndef WARD_PRIVACY_DEID_INTERNAL_H
#define WARD_PRIVACY_DEID_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uchar.h>

#include "privacy/deid.h"

typedef struct deid_words {
    const char32_t *const *w;
    size_t n;
} deid_words;

/* The decoded text: cp[0..n) code points, with one 0 after the end so a scanner may look one
 * past; and the config's extra words, decoded for this call. */
typedef struct deid_text {
    const char32_t *cp; /* (n + 1) */
    int64_t n;
    deid_words extra_names, extra_orgs;
} deid_text;

typedef struct deid_cands {
    deid_span *v; /* (cap) */
    size_t n, cap;
    bool oom;     /* an add failed; the caller reports DEID_NO_MEMORY */
} deid_cands;

void deid_cand_add(deid_cands *c, int64_t start, int64_t end, deid_type type);

/* One detector per type; each adds its candidates. */
void deid_detect_id(const deid_config *cfg, const deid_text *t, deid_cands *out);
void deid_detect_phone(const deid_config *cfg, const deid_text *t, deid_cands *out);
void deid_detect_record(const deid_config *cfg, const deid_text *t, deid_cands *out);
void deid_detect_date(const deid_config *cfg, const deid_text *t, deid_cands *out);
void deid_detect_age(const deid_config *cfg, const deid_text *t, deid_cands *out);
void deid_detect_org(const deid_config *cfg, const deid_text *t, deid_cands *out);
void deid_detect_address(const deid_config *cfg, const deid_text *t, deid_cands *out);
void deid_detect_name(const deid_config *cfg, const deid_text *t, deid_cands *out);

/* ---------------------------------------------------------------------------------------------
 * Dates
 * ------------------------------------------------------------------------------------------- */

/* One number field of a date as written: where, how many digits, full-width or not. */
typedef struct deid_date_field {
    int64_t start, end;
    int value;
    bool wide; /* full-width digits (０-９) */
} deid_date_field;

typedef struct deid_date {
    bool has_year;
    deid_date_field year, month, day;
    int64_t end; /* end of the match, a time after the date included */
} deid_date;

/* Parses an exact date starting at i (which must not follow a digit); false if there is none.
 * year_hint decides whether 2月29日 is valid for a date without a year (pass 2000 to allow). */
bool deid_date_at(const deid_text *t, int64_t i, int year_hint, deid_date *d);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t deid_days_from_civil(int y, int m, int d);
void deid_civil_from_days(int64_t z, int *y, int *m, int *d);
int deid_days_in_month(int y, int m);

/* ---------------------------------------------------------------------------------------------
 * Tables (deid_tables.c)
 * ------------------------------------------------------------------------------------------- */

/* Single-character surnames (a string of them); the common ones that may stand alone before a
 * title ("王医生"); compound surnames. */
extern const char32_t deid_surnames1[];
extern const char32_t deid_surnames_strong[];
extern const deid_words deid_surnames2;
/* Characters never (or hardly ever) in a given name: function words, body and disease words. */
extern const char32_t deid_non_name_chars[];
/* Characters common in given names (used where the context alone is weak). */
extern const char32_t deid_given_common[];
/* Characters that may follow a name in running text ("患者张三因…", "…张三于…"). */
extern const char32_t deid_name_followers[];
/* Cue words: before a name (strong: a name always follows; weak: a name may follow), after a
 * name (titles, relations), and titles that may follow a bare surname. */
extern const deid_words deid_name_cues_strong, deid_name_cues_weak, deid_name_cues_after,
    deid_name_titles;
/* Relations and roles in parentheses after a name: 张伟（儿子）, 李娜（护士）. */
extern const deid_words deid_name_paren_roles;
/* Words that start right after a name (送入, 陪同): not its last given-name character. */
extern const deid_words deid_name_after_words;
/* Verbs after a cue-less name at a clause start ("张伟诉…", "，王芳表示同意"). */
extern const deid_words deid_name_clause_verbs;
/* Table header cells over a column of names. */
extern const deid_words deid_name_table_labels;
/* Ordinary words that start with a surname character ("高血压", "平素", "常规"). */
extern const deid_words deid_name_stop_words;
/* Characters after which 某 is a determiner, not a pseudonym ("于某日"). */
extern const char32_t deid_mou_determined[];

extern const deid_words deid_record_labels, deid_phone_labels, deid_not_phone_labels;
extern const deid_words deid_age_labels;

extern const deid_words deid_org_suffixes, deid_org_suffixes_cued, deid_org_cues,
    deid_org_after, deid_org_not_values, deid_org_leads, deid_org_after_strict, deid_org_places;
extern const char32_t deid_org_stop_chars[];

extern const deid_words deid_addr_labels, deid_addr_places, deid_addr_place_suffixes,
    deid_addr_number_suffixes, deid_addr_not_suffix_words, deid_addr_hospital_words;
extern const char32_t deid_addr_stop_chars[], deid_addr_no_start_chars[];

/* ---------------------------------------------------------------------------------------------
 * Scanning helpers (deid_detect.c)
 * ------------------------------------------------------------------------------------------- */

bool deid_in(const char32_t *set, char32_t c);
/* The code point at i, or 0 outside the text. */
static inline char32_t deid_at(const deid_text *t, int64_t i) {
    return i >= 0 && i < t->n ? t->cp[i] : 0;
}
/* A space, a tab or a full-width space. */
static inline bool deid_is_space(char32_t c) { return c == ' ' || c == '\t' || c == 0x3000; }
/* A-Z, a-z, full-width too. */
bool deid_is_alpha(char32_t c);
/* Backs over spaces and colons before i (at most 4): where a label would end; *colon if one. */
int64_t deid_back_label_sep(const deid_text *t, int64_t i, bool *colon);
/* Whether a word of ws ends at i, spaces allowed between its CJK characters ("姓    名"). */
bool deid_word_before_spaced(const deid_words *ws, const deid_text *t, int64_t i);
/* Text tables: a header line without digits holding a cell that is a word of ws; the cell in the
 * same column of each following line with as many cells (cells split on spaces, tabs, '|'), or
 * the next line under a label alone on its line, is added as type when ok() accepts it. */
typedef bool (*deid_cell_value_fn)(const deid_text *t, int64_t start, int64_t end);
void deid_table_columns(const deid_text *t, const deid_words *ws, deid_cell_value_fn ok,
                        deid_type type, deid_cands *out);
/* Length of the longest word of ws that starts at i (0 if none). */
int64_t deid_word_at(const deid_words *ws, const deid_text *t, int64_t i);
/* Length of the longest word of ws that ends at i (0 if none). */
int64_t deid_word_before(const deid_words *ws, const deid_text *t, int64_t i);
/* Length of s (a NUL-terminated char32_t string) if it starts at i, else 0. */
int64_t deid_str_at(const char32_t *s, const deid_text *t, int64_t i);
bool deid_is_cjk(char32_t c);
/* 0-9 or full-width ０-９: the value, else -1. */
int deid_digit(char32_t c);

#endif
