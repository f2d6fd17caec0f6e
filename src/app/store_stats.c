/* store_stats.c: what the store's records say about adoption (the dashboard) and preference
 * pairs for training (DPO export); see store.h.
 *
 * How much doctors edit a discharge draft is the edit distance (Levenshtein, on Unicode
 * characters) between each section's draft and final text, over the longer one's length (so
 * 0 to 1), averaged over the signed records' sections; and the share of sections changed.
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "app/store_internal.h"
#include "privacy/deid.h"

/* ---------------------------------------------------------------------------------------------
 * Edit distance
 * ------------------------------------------------------------------------------------------- */

#define MAX_CHARS 4000 /* longer sections are compared on their first MAX_CHARS characters */

/* UTF-8 to code points (invalid bytes count as one character each). */
static size_t code_points(const char *s, uint32_t *out, size_t cap) {
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && n < cap) {
        int len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                : (*p & 0xF8) == 0xF0 ? 4 : 1;
        uint32_t c = len == 1 ? *p : *p & (0x3Fu >> (len - 1));
        for (int k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80) {
                len = 1, c = *p;
                break;
            }
            c = c << 6 | (p[k] & 0x3Fu);
        }
        out[n++] = c;
        p += len;
    }
    return n;
}

/* Levenshtein distance between a and b, two rows of the table at a time; -1 out of memory. */
static long edit_distance(const char *a, const char *b) {
    uint32_t *x = malloc(sizeof *x * MAX_CHARS), *y = malloc(sizeof *y * MAX_CHARS);
    size_t *prev = malloc(sizeof *prev * (MAX_CHARS + 1)), *cur = malloc(sizeof *cur * (MAX_CHARS + 1));
    long d = -1;
    if (x && y && prev && cur) {
        const size_t n = code_points(a, x, MAX_CHARS), m = code_points(b, y, MAX_CHARS);
        for (size_t j = 0; j <= m; j++) prev[j] = j;
        for (size_t i = 1; i <= n; i++) {
            cur[0] = i;
            for (size_t j = 1; j <= m; j++) {
                const size_t sub = prev[j - 1] + (x[i - 1] != y[j - 1]);
                const size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
                cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            }
            size_t *t = prev;
            prev = cur, cur = t;
        }
        d = (long)prev[m];
    }
    free(x), free(y), free(prev), free(cur);
    return d;
}

static size_t char_count(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * The dashboard
 * ------------------------------------------------------------------------------------------- */

#define COUNT_IF(cond) "sum(CASE WHEN " cond " THEN 1 ELSE 0 END)"
#define LATEST_VOTE(g) "(SELECT value FROM votes v WHERE v.generation_id = " g ".id ORDER BY v.id DESC LIMIT 1)"

static const char *const per_day_sql =
    "SELECT substr(created_at, 1, 10) AS day, task, model, count(*) AS generations FROM "
    "generations WHERE created_at >= ? "
    "GROUP BY day, task, model ORDER BY day, task, model";

static const char *const per_model_sql =
    "SELECT model, task, count(*) AS generations, " COUNT_IF("status = 'done'") " AS done, "
    COUNT_IF("EXISTS (SELECT 1 FROM picks p WHERE p.generation_id = g.id)") " AS picked, "
    COUNT_IF(LATEST_VOTE("g") " = 1") " AS votes_up, " COUNT_IF(LATEST_VOTE("g") " = -1")
    " AS votes_down, coalesce(sum((SELECT count(*) FROM error_reports r WHERE r.generation_id = "
    "g.id)), 0) AS error_reports "
    "FROM generations g GROUP BY model, task ORDER BY model, task";

/* The signed records' share of sections changed and mean change per section. */
static store_status discharge_edits(store *s, cJSON *out, store_error *e) {
    cJSON *signed_recs = store_rows(s, store_prepare(s, e, "SELECT draft, final FROM "
                                                     "discharge_records WHERE status = 'signed'",
                                                     ""), e);
    cJSON *drafts = store_rows(s, store_prepare(s, e, "SELECT count(*) AS n FROM "
                                                "discharge_records", ""), e);
    if (!signed_recs || !drafts) {
        cJSON_Delete(signed_recs), cJSON_Delete(drafts);
        return e ? e->status : STORE_FAILED;
    }
    double sections = 0, edited = 0, change = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, signed_recs) {
        const cJSON *draft = cJSON_GetObjectItem(r, "draft"), *final = cJSON_GetObjectItem(r, "final");
        for (int k = 0; k < store_n_discharge_sections; k++) {
            const cJSON *a = cJSON_GetObjectItem(draft, store_discharge_sections[k].key);
            const cJSON *b = cJSON_GetObjectItem(final, store_discharge_sections[k].key);
            if (!cJSON_IsString(a) || !cJSON_IsString(b)) continue;
            const long d = edit_distance(a->valuestring, b->valuestring);
            if (d < 0) {
                cJSON_Delete(signed_recs), cJSON_Delete(drafts);
                if (e) e->status = STORE_FAILED, snprintf(e->msg, sizeof e->msg, "out of memory");
                return STORE_FAILED;
            }
            const size_t la = char_count(a->valuestring), lb = char_count(b->valuestring);
            const size_t longer = la > lb ? la : lb; /* the distance is at most this */
            sections++;
            edited += d > 0;
            change += longer ? (double)d / (double)longer : 0;
        }
    }
    cJSON *o = cJSON_AddObjectToObject(out, "discharge");
    cJSON_AddNumberToObject(o, "drafts", cJSON_GetObjectItem(cJSON_GetArrayItem(drafts, 0), "n")->valuedouble);
    cJSON_AddNumberToObject(o, "signed", cJSON_GetArraySize(signed_recs));
    cJSON_AddNumberToObject(o, "sections_edited", sections ? edited / sections : 0);
    cJSON_AddNumberToObject(o, "chars_changed", sections ? change / sections : 0);
    cJSON_Delete(signed_recs), cJSON_Delete(drafts);
    return STORE_OK;
}

static store_status stats(store *s, action *a, store_error *e) {
    cJSON *out = *a->out = cJSON_CreateObject();
    char since[32];
    store_time(-30 * 86400, since);
    cJSON *per_day = store_rows(s, store_prepare(s, e, per_day_sql, "t", since), e);
    cJSON *per_model = per_day ? store_rows(s, store_prepare(s, e, per_model_sql, ""), e) : NULL;
    cJSON_AddItemToObject(out, "per_day", per_day);
    cJSON_AddItemToObject(out, "per_model", per_model);
    return per_day && per_model ? discharge_edits(s, out, e) : (e ? e->status : STORE_FAILED);
}

store_status store_stats(store *s, const store_actor *by, cJSON **out, store_error *e) {
    *out = NULL;
    action a = {.name = "stats.view", .view = true, .out = out};
    const store_status st = store_transact(s, by, stats, &a, e);
    if (st != STORE_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Exports: DPO pairs and error reports, de-identified
 * ------------------------------------------------------------------------------------------- */

/* A query of an export: its rows' source label and SQL. */
typedef struct export_query {
    const char *source, *sql;
} export_query;

/* Each pair query yields prompt, chosen, rejected, case_id, chosen_model, rejected_model,
 * template; pairs share their prompt text, so chosen and rejected answered the same input. */
static const export_query pair_queries[] = {
    {"pick",
     "SELECT c.prompt, c.output AS chosen, r.output AS rejected, c.case_id, c.model AS "
     "chosen_model, r.model AS rejected_model, c.template FROM generations c JOIN generations r "
     "ON r.case_id = c.case_id AND r.task = 'differential' AND r.status = 'done' AND r.id <> c.id "
     "AND r.prompt = c.prompt WHERE c.task = 'differential' AND c.status = 'done' "
     "AND EXISTS (SELECT 1 FROM picks p WHERE p.generation_id = c.id) "
     "AND NOT EXISTS (SELECT 1 FROM picks p WHERE p.generation_id = r.id) ORDER BY c.id, r.id"},
    {"vote",
     "SELECT c.prompt, c.output AS chosen, r.output AS rejected, c.case_id, c.model AS "
     "chosen_model, r.model AS rejected_model, c.template FROM generations c JOIN generations r "
     "ON r.case_id = c.case_id AND r.task = c.task AND r.status = 'done' AND r.prompt = c.prompt "
     "WHERE c.status = 'done' AND " LATEST_VOTE("c") " = 1 AND " LATEST_VOTE("r") " = -1 "
     "ORDER BY c.id, r.id"},
    {"edit",
     "SELECT g.prompt, d.final AS chosen, d.draft AS rejected, d.case_id, 'doctor' AS "
     "chosen_model, g.model AS rejected_model, g.template FROM discharge_records d JOIN "
     "generations g ON g.id = d.generation_id WHERE d.status = 'signed' AND d.final <> d.draft "
     "ORDER BY d.id"},
};

/* Each error report with the answer it is about. */
static const export_query error_queries[] = {
    {"error",
     "SELECT r.category, r.text AS note, g.output, g.prompt, g.case_id, g.model, g.template, "
     "g.task, r.created_at FROM error_reports r JOIN generations g ON g.id = r.generation_id "
     "ORDER BY r.id"},
};

static const struct {
    const char *action;
    const export_query *queries;
    int n_queries;
    const char *const *texts; /* the fields holding case text, de-identified */
} exports[] = {
    [STORE_EXPORT_DPO] = {"export.dpo", pair_queries, 3,
                          (const char *const[]){"prompt", "chosen", "rejected", NULL}},
    [STORE_EXPORT_ERRORS] = {"export.errors", error_queries, 1,
                             (const char *const[]){"note", "output", "prompt", NULL}},
};

typedef struct export_args {
    store_export_kind kind;
    const deid_config *deid;
    FILE *f;
    int n;
} export_args;

/* The case's date shift for exports, drawn (1 to 365 days) and kept with the case the first
 * time it is needed: the same patient's dates move together in every export. */
static store_status case_shift(store *s, int64_t case_id, int32_t *days, store_error *e) {
    cJSON *row = NULL;
    store_status st = store_one_row(s, store_prepare(s, e, "SELECT deid_shift FROM cases WHERE "
                                                     "id = ?", "i", case_id), "case", case_id,
                                    &row, e);
    const cJSON *v = cJSON_GetObjectItem(row, "deid_shift");
    *days = cJSON_IsNumber(v) ? (int32_t)v->valuedouble : (int32_t)randombytes_uniform(365) + 1;
    if (st == STORE_OK && !cJSON_IsNumber(v))
        st = store_run(s, store_prepare(s, e, "UPDATE cases SET deid_shift = ? WHERE id = ?", "ii",
                                        (int64_t)*days, case_id), e);
    cJSON_Delete(row);
    return st;
}

/* The row's case text fields as text (discharge sections come back parsed). */
static char *field_text(const cJSON *row, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(row, k);
    return cJSON_IsString(v) ? strdup(v->valuestring) : cJSON_PrintUnformatted(v);
}

/* The names deid_find sees in text (where a cue shows them), added to names: the same name
 * elsewhere in the record, without a cue, is the same person. */
static void harvest_names(const deid_config *c, const char *text, char ***names, int *n) {
    deid_span *spans = NULL;
    size_t n_spans = 0;
    deid_error de = {0};
    if (!text || deid_find(c, text, strlen(text), &spans, &n_spans, &de) != DEID_OK) return;
    for (size_t i = 0; i < n_spans; i++) {
        if (spans[i].type != DEID_NAME) continue;
        const char *p = text;
        for (int64_t k = 0; k < spans[i].start; k++) /* characters to bytes */
            do p++; while (((unsigned char)*p & 0xC0) == 0x80);
        const char *q = p;
        for (int64_t k = spans[i].start; k < spans[i].end; k++)
            do q++; while (((unsigned char)*q & 0xC0) == 0x80);
        char **grown = realloc(*names, sizeof **names * (size_t)(*n + 1));
        if (!grown) break;
        *names = grown;
        if (((*names)[*n] = strndup(p, (size_t)(q - p)))) (*n)++;
    }
    free(spans);
}

/* The row's case text fields de-identified together: with the case's date shift, and the
 * names found in any of them (or in the case itself) replaced in all of them. */
static store_status deidentify_row(store *s, const export_args *x, cJSON *row, store_error *e) {
    const int64_t case_id = (int64_t)cJSON_GetObjectItem(row, "case_id")->valuedouble;
    deid_config c = *x->deid; /* a copy: its own shift and name list */
    cJSON *kase = NULL;
    store_status st = case_shift(s, case_id, &c.shift_days, e);
    if (st == STORE_OK)
        st = store_one_row(s, store_prepare(s, e, "SELECT title, free_text, sections AS "
                                            "sections_text FROM cases WHERE id = ?", "i", case_id),
                           "case", case_id, &kase, e);
    char **names = NULL;
    int n_names = 0;
    if (x->deid->n_names && (names = calloc((size_t)x->deid->n_names, sizeof *names)))
        for (int i = 0; i < x->deid->n_names; i++) /* the configured names first */
            if ((names[n_names] = strdup(x->deid->names[i]))) n_names++;
    static const char *const case_fields[] = {"title", "free_text", "sections_text"};
    for (size_t k = 0; st == STORE_OK && k < 3; k++)
        harvest_names(&c, cJSON_GetObjectItem(kase, case_fields[k])->valuestring, &names, &n_names);
    for (const char *const *k = exports[x->kind].texts; st == STORE_OK && *k; k++) {
        char *text = field_text(row, *k);
        harvest_names(&c, text, &names, &n_names);
        free(text);
    }
    c.names = names, c.n_names = n_names;
    for (const char *const *k = exports[x->kind].texts; st == STORE_OK && *k; k++) {
        char *text = field_text(row, *k), *clean = NULL;
        deid_error de = {0};
        if (!text || deid_redact(&c, text, strlen(text), &clean, &de) != DEID_OK)
            st = store_fail(e, STORE_FAILED, "de-identifying '%s': %s", *k,
                            text ? de.msg : "out of memory");
        else
            cJSON_ReplaceItemInObject(row, *k, cJSON_CreateString(clean));
        free(text), free(clean);
    }
    for (int i = 0; i < n_names; i++) free(names[i]);
    free(names);
    cJSON_Delete(kase);
    return st;
}

static store_status export_rows(store *s, action *a, store_error *e) {
    export_args *x = a->ctx;
    store_status st = STORE_OK;
    for (int q = 0; q < exports[x->kind].n_queries && st == STORE_OK; q++) {
        const export_query *eq = &exports[x->kind].queries[q];
        cJSON *rows = store_rows(s, store_prepare(s, e, eq->sql, ""), e), *row;
        if (!rows) st = e ? e->status : STORE_FAILED;
        cJSON_ArrayForEach(row, rows) {
            if ((st = deidentify_row(s, x, row, e)) != STORE_OK) break;
            cJSON_AddStringToObject(row, "source", eq->source);
            char *line = cJSON_PrintUnformatted(row);
            if (!line || fprintf(x->f, "%s\n", line) < 0)
                st = store_fail(e, STORE_FAILED, "writing the export failed");
            free(line);
            if (st != STORE_OK) break;
            x->n++;
        }
        cJSON_Delete(rows);
    }
    a->detail = cJSON_CreateObject();
    cJSON_AddNumberToObject(a->detail, "records", x->n);
    return st;
}

store_status store_export(store *s, const store_actor *by, store_export_kind kind,
                          const deid_config *deid, FILE *f, int *n, store_error *e) {
    export_args x = {kind, deid, f, 0};
    action a = {.name = exports[kind].action, .ctx = &x};
    const store_status st = store_transact(s, by, export_rows, &a, e);
    *n = st == STORE_OK ? x.n : 0;
    return st;
}
