/* store.h: the clinical workbench's records in SQLite: cases, every generation, doctors' picks
 * and fill-backs, votes, error reports, discharge records with their edits and sign-off.
 *
 * One database file, opened in WAL mode with foreign keys on and synchronous=FULL, so a
 * transaction that returned is on disk: killing the process at any moment loses nothing that
 * was acknowledged. Each store_* call that changes something is one transaction (one user
 * action). The schema is built by numbered migrations (store.c), applied in order at open, each
 * in its own transaction, recorded in PRAGMA user_version.
 *
 * Records go in and out as cJSON objects shaped as the JSON API serves them (docs/workbench.md),
 * so the HTTP layer only moves them. Threads: one connection guarded by a mutex; calls may come
 * from any thread. Errors: a status and a message naming what was wrong.
 */
#ifndef WARD_APP_STORE_H
#define WARD_APP_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum store_status {
    STORE_OK = 0,
    STORE_INVALID,   /* the input is malformed (message names the field) */
    STORE_NOT_FOUND, /* no such record */
    STORE_CONFLICT,  /* the action does not fit the record's state (e.g. editing a signed one) */
    STORE_FAILED,    /* SQLite or out of memory */
} store_status;

typedef struct store_error {
    store_status status;
    char msg[256];
} store_error;

typedef struct store store;

/* Opens (creating if needed) and migrates the database at path (":memory:" for tests). */
store_status store_open(const char *path, store **out, store_error *err);
void store_close(store *s);
/* The schema version after migrations. */
int store_schema_version(store *s);

/* The case sections, in display order: JSON keys and the labels doctors know them by. */
typedef struct store_section {
    const char *key, *label;
} store_section;
extern const store_section store_case_sections[];
extern const int store_n_case_sections;

/* Cases: {"title", "department", "patient": {"sex", "age"}, "sections": {key: text},
 * "free_text", "source"}; every field optional but a case needs some text (a section or
 * free_text). Returns the new id. */
store_status store_case_create(store *s, const cJSON *in, int64_t *id, store_error *err);
/* {"id", "created_at", "updated_at", ...the fields above} */
store_status store_case_get(store *s, int64_t id, cJSON **out, store_error *err);
/* Changes the given fields (sections merge key by key). */
store_status store_case_update(store *s, int64_t id, const cJSON *patch, store_error *err);
/* Newest first; query (NULL/"": all) matches title, department, sections and free text.
 * {"cases": [{"id", "title", "department", "updated_at", "summary"}], "total"} */
store_status store_case_list(store *s, const char *query, int limit, int offset, cJSON **out,
                             store_error *err);

/* Generations: a model's answer for a case. begin takes {"case_id", "task" ("differential" or
 * "discharge"), "model", "params" (object), "template" (name@version), "prompt", "rerun_of"}. */
store_status store_generation_begin(store *s, const cJSON *in, int64_t *id, store_error *err);
/* finish takes {"status" ("done", "error", "cancelled"), "output", "error", "ttft_ms",
 * "total_ms", "prompt_tokens", "completion_tokens"}. */
store_status store_generation_finish(store *s, int64_t id, const cJSON *in, store_error *err);
store_status store_generation_get(store *s, int64_t id, cJSON **out, store_error *err);
/* A case's generations, oldest first, with their latest vote and error reports. */
store_status store_generation_list(store *s, int64_t case_id, cJSON **out, store_error *err);

/* Feedback on a generation: a vote (+1 or -1; a later vote replaces the earlier), an error
 * report {"category", "text"}. */
store_status store_vote(store *s, int64_t generation_id, int value, store_error *err);
store_status store_error_report(store *s, int64_t generation_id, const cJSON *in, int64_t *id,
                                store_error *err);
/* The doctor's picks filled back into the case in one action: {"section" (default
 * "diagnosis"), "picks": [{"generation_id", "diagnosis", "rank"}]}: each pick is recorded and
 * the picked diagnoses are appended to the section, one per line. */
store_status store_fill_back(store *s, int64_t case_id, const cJSON *in, store_error *err);

/* Discharge records: five sections (store_discharge_sections). A draft {"generation_id",
 * "sections": {...}} becomes a record; edits change sections (each change is kept); signing
 * freezes it as final. Draft and final are both kept. */
extern const store_section store_discharge_sections[];
extern const int store_n_discharge_sections;
store_status store_discharge_create(store *s, int64_t case_id, const cJSON *in, int64_t *id,
                                    store_error *err);
store_status store_discharge_edit(store *s, int64_t record_id, const cJSON *sections,
                                  store_error *err);
store_status store_discharge_sign(store *s, int64_t record_id, const char *signed_by,
                                  store_error *err);
/* {"id", "case_id", "generation_id", "status", "draft", "final", "edits": [...], ...} */
store_status store_discharge_get(store *s, int64_t record_id, cJSON **out, store_error *err);
/* A case's discharge records, oldest first (without their edits). */
store_status store_discharge_list(store *s, int64_t case_id, cJSON **out, store_error *err);

/* Generations left running by a server that stopped become "cancelled" ("interrupted");
 * called when the workbench starts. Returns how many, or -1. */
int store_abandon_running(store *s);

/* The adoption dashboard's numbers: {"per_day": [{"day", "task", "model", "generations"}]
 * (the last 30 days), "per_model": [{"model", "task", "generations", "done", "picked" (differentials
 * with a pick), "votes_up", "votes_down", "error_reports"}], "discharge": {"drafts", "signed",
 * "sections_edited" (share of the signed records' sections changed), "chars_changed" (edit
 * distance between draft and final over the longer one's length, averaged: 0 to 1)}}. */
store_status store_stats(store *s, cJSON **out, store_error *e);

/* Preference pairs for DPO training, one JSON object per line to f: {"prompt", "chosen",
 * "rejected", "source", "case_id", "chosen_model", "rejected_model", "template"}: a picked
 * differential over an unpicked one of the same case; an up-voted generation over a down-voted
 * one of the same case and task; a signed discharge record's final text over its generated
 * draft when the doctor changed it. Writes *n_pairs. */
store_status store_export_dpo(store *s, FILE *f, int *n_pairs, store_error *e);

#endif
