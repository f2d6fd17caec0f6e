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
    STORE_DENIED,    /* wrong credentials, an expired or revoked key, a disabled account */
    STORE_LIMITED,   /* too many failed logins: try again later (store_error.retry_s) */
} store_status;

typedef struct store_error {
    store_status status;
    char msg[256];
    int retry_s; /* STORE_LIMITED: seconds until a login may be tried again */
} store_error;

typedef struct store store;

/* Who acts: a signed-in person (user_id), a machine client's API key (key_id), or the command
 * line / the server itself (both 0). Every change and every view of a patient's record is
 * written to the audit trail (store_audit.c) in the same transaction as the action, naming
 * the actor; an action that carries an idempotency key is done once per actor and key (a
 * repeat answers as the first did: the record's id, nothing written twice). */
typedef struct store_actor {
    int64_t user_id, key_id;
    char name[72];             /* the user's or key's name; "cli:LOGIN"; "system" */
    char display_name[128];    /* a user's full name (signs discharge records) */
    char role[16];             /* doctor, admin, auditor; "key" for API keys; cli; system */
    char scopes[256];          /* an API key's scopes, comma-separated */
    char csrf[72];             /* a browser session's CSRF token */
    char ip[64];               /* the client's address ("" when local) */
    char idempotency_key[128]; /* "" when none */
} store_actor;
/* The server's own actions (generations ending, drafts written when they end). */
extern const store_actor store_system;
/* The command line's actor: "cli:" and the login name, role "cli". */
void store_cli_actor(store_actor *out);

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
store_status store_case_create(store *s, const store_actor *by, const cJSON *in, int64_t *id, store_error *err);
/* {"id", "created_at", "updated_at", ...the fields above} */
store_status store_case_get(store *s, const store_actor *by, int64_t id, cJSON **out, store_error *err);
/* Changes the given fields (sections merge key by key). */
store_status store_case_update(store *s, const store_actor *by, int64_t id, const cJSON *patch, store_error *err);
/* Newest first; query (NULL/"": all) matches title, department, sections and free text.
 * {"cases": [{"id", "title", "department", "updated_at", "summary"}], "total"} */
store_status store_case_list(store *s, const store_actor *by, const char *query, int limit, int offset, cJSON **out,
                             store_error *err);

/* Generations: a model's answer for a case. begin takes {"case_id", "task" ("differential" or
 * "discharge"), "model", "params" (object), "template" (name@version), "prompt", "rerun_of", "owner" (the
 * server running it)}. */
store_status store_generation_begin(store *s, const store_actor *by, const cJSON *in, int64_t *id, store_error *err);
/* finish takes {"status" ("done", "error", "cancelled"), "output", "error", "ttft_ms",
 * "total_ms", "prompt_tokens", "completion_tokens"}. */
store_status store_generation_finish(store *s, int64_t id, const cJSON *in, store_error *err);
store_status store_generation_get(store *s, const store_actor *by, int64_t id, cJSON **out, store_error *err);
/* A case's generations, oldest first, with their latest vote and error reports. */
store_status store_generation_list(store *s, int64_t case_id, cJSON **out, store_error *err);

/* Feedback on a generation: a vote (+1 or -1; a later vote replaces the earlier), an error
 * report {"category", "text"}. */
store_status store_vote(store *s, const store_actor *by, int64_t generation_id, int value, store_error *err);
store_status store_error_report(store *s, const store_actor *by, int64_t generation_id, const cJSON *in, int64_t *id,
                                store_error *err);
/* The doctor's picks filled back into the case in one action: {"section" (default
 * "diagnosis"), "picks": [{"generation_id", "diagnosis", "rank"}]}: each pick is recorded and
 * the picked diagnoses are appended to the section, one per line. */
store_status store_fill_back(store *s, const store_actor *by, int64_t case_id, const cJSON *in, store_error *err);

/* Discharge records: five sections (store_discharge_sections). A draft {"generation_id",
 * "sections": {...}} becomes a record; edits change sections (each change is kept); signing
 * freezes it as final, signed by the actor (display name, else name). Draft and final are
 * both kept. */
extern const store_section store_discharge_sections[];
extern const int store_n_discharge_sections;
store_status store_discharge_create(store *s, const store_actor *by, int64_t case_id, const cJSON *in, int64_t *id,
                                    store_error *err);
store_status store_discharge_edit(store *s, const store_actor *by, int64_t record_id, const cJSON *sections,
                                  store_error *err);
store_status store_discharge_sign(store *s, const store_actor *by, int64_t record_id,
                                  store_error *err);
/* {"id", "case_id", "generation_id", "status", "draft", "final", "edits": [...], ...} */
store_status store_discharge_get(store *s, const store_actor *by, int64_t record_id, cJSON **out, store_error *err);
/* A case's discharge records, oldest first (without their edits). */
store_status store_discharge_list(store *s, int64_t case_id, cJSON **out, store_error *err);

/* Generations this server (owner: its instance name) left running when it stopped become
 * "cancelled" ("interrupted"), and so do ones of no recorded owner; other replicas' running
 * generations are theirs. Called when the workbench starts. Returns how many, or -1. */
int store_abandon_running(store *s, const char *owner);
/* Is the generation still running (on this server or another)? Not audited: no patient data. */
bool store_generation_running(store *s, int64_t id);

/* The adoption dashboard's numbers: {"per_day": [{"day", "task", "model", "generations"}]
 * (the last 30 days), "per_model": [{"model", "task", "generations", "done", "picked" (differentials
 * with a pick), "votes_up", "votes_down", "error_reports"}], "discharge": {"drafts", "signed",
 * "sections_edited" (share of the signed records' sections changed), "chars_changed" (edit
 * distance between draft and final over the longer one's length, averaged: 0 to 1)}}. */
store_status store_stats(store *s, const store_actor *by, cJSON **out, store_error *e);

/* Exports for training and for the model's makers, one JSON object per line to f, every field
 * of case text de-identified with deid (privacy/deid.h), each case's dates shifted by its own
 * number of days (drawn once and kept with the case: the mapping never leaves the record).
 * STORE_EXPORT_DPO: preference pairs {"prompt", "chosen", "rejected", "source", "case_id",
 * "chosen_model", "rejected_model", "template"}: a picked differential over an unpicked one of
 * the same case; an up-voted generation over a down-voted one of the same case and task; a
 * signed discharge record's final text over its generated draft when the doctor changed it.
 * STORE_EXPORT_ERRORS: error reports {"category", "note", "output", "prompt", "case_id",
 * "model", "template", "task", "created_at", "source"}. Writes *n (records written). */
typedef enum store_export_kind { STORE_EXPORT_DPO, STORE_EXPORT_ERRORS } store_export_kind;
struct deid_config;
store_status store_export(store *s, const store_actor *by, store_export_kind kind,
                          const struct deid_config *deid, FILE *f, int *n, store_error *e);

/* ---------------------------------------------------------------------------------------------
 * Accounts (store_auth.c): users with roles, browser sessions, API keys, login throttling
 * ------------------------------------------------------------------------------------------- */

/* Roles: "doctor", "admin", "auditor". Names: 2 to 64 of [a-z0-9._-]. Passwords: at least 10
 * bytes, hashed with Argon2id (libsodium crypto_pwhash_str, interactive limits). */
store_status store_user_add(store *s, const store_actor *by, const char *name,
                            const char *display_name, const char *role, const char *password,
                            store_error *e);
store_status store_user_passwd(store *s, const store_actor *by, const char *name,
                               const char *password, store_error *e);
/* Disabling ends the user's sessions; enabling lets them sign in again. */
store_status store_user_set_disabled(store *s, const store_actor *by, const char *name,
                                     bool disabled, store_error *e);
/* {"users": [{"id", "name", "display_name", "role", "disabled", "created_at", "last_login"}]} */
store_status store_user_list(store *s, const store_actor *by, cJSON **out, store_error *e);

/* Signs in: checks the password (a wrong one and an unknown name take the same time and give
 * the same STORE_DENIED), throttles (5 failures for a name or 20 from an address within 15
 * minutes: STORE_LIMITED with retry_s), and opens a session lasting ttl_s seconds. token (the
 * cookie, 43 characters of base64url) is stored only as its SHA-256; out gets the user and
 * the session's CSRF token. Both attempts and sign-ins are audited. */
store_status store_login(store *s, const char *name, const char *password, const char *ip,
                         int ttl_s, char token[64], store_actor *out, store_error *e);
/* The session of a cookie token: out gets its user and CSRF token; STORE_DENIED when it is
 * unknown, expired, or its user is disabled. */
store_status store_session(store *s, const char *token, store_actor *out, store_error *e);
store_status store_logout(store *s, const store_actor *by, const char *token, store_error *e);

/* API keys for machine clients: a name, scopes (comma-separated: case:read, case:write,
 * generate, feedback, stats, audit), an optional expiry (an ISO 8601 UTC time; NULL: none).
 * The secret ("wk_" and 43 characters, written to secret) is shown once; only its SHA-256 is
 * kept. */
store_status store_key_create(store *s, const store_actor *by, const char *name,
                              const char *scopes, const char *expires_at, char secret[64],
                              store_error *e);
/* The key of a bearer secret: out gets its name and scopes; STORE_DENIED (saying which) when
 * unknown, revoked or expired. */
store_status store_key_check(store *s, const char *secret, store_actor *out, store_error *e);
store_status store_key_revoke(store *s, const store_actor *by, const char *name, store_error *e);
/* {"keys": [{"id", "name", "scopes", "created_at", "expires_at", "revoked_at", "created_by"}]} */
store_status store_key_list(store *s, const store_actor *by, cJSON **out, store_error *e);

/* ---------------------------------------------------------------------------------------------
 * The audit trail (store_audit.c): append-only, each entry chained to the one before by hash
 * ------------------------------------------------------------------------------------------- */

/* Each entry: {"id", "at", "actor", "role", "ip", "action" (e.g. "case.view"), "object",
 * "object_id", "detail" (ids, field names, counts: never patient text), "prev_hash",
 * "hash"}, hash = SHA-256 over the entry's fields and prev_hash. Search: any of actor, action
 * (a prefix: "case." matches every case action), object, object_id, from/to (ISO times) may
 * be NULL/0; newest first. {"entries": [...], "total"}. */
typedef struct store_audit_query {
    const char *actor, *action, *object, *from, *to;
    int64_t object_id;
    int limit, offset;
} store_audit_query;
store_status store_audit_search(store *s, const store_actor *by, const store_audit_query *q,
                                cJSON **out, store_error *e);
/* Checks the whole chain: every entry's hash, every link, no id missing, the head (the count
 * and last hash kept beside the entries) matching the last entry. *out: {"entries": N,
 * "head": "HASH", "problems": [{"entry": ID, "problem": "..."}]}; the call succeeds whether or
 * not there are problems (the caller reads them); it fails only if the records cannot be read. */
store_status store_audit_verify(store *s, cJSON **out, store_error *e);
/* Appends an entry outside any record action (e.g. the command line exporting data). */
store_status store_audit_note(store *s, const store_actor *by, const char *action,
                              const char *object, int64_t object_id, const cJSON *detail,
                              store_error *e);

#endif
