/* store_internal.h: what store.c shares with the store's other files (store_stats.c): the
 * handle and the statement helpers. */
#ifndef WARD_APP_STORE_INTERNAL_H
#define WARD_APP_STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "app/db.h"

#include "app/store.h"

struct store {
    db *db;
    pthread_mutex_t mu; /* one connection: each call holds it */
    int64_t changes;    /* rows the last store_run changed */
};

/* A statement and its arguments, made by store_prepare and consumed (freed) by the call that
 * runs it: store_run, store_insert, store_rows, store_one_row. */
#define STORE_MAX_ARGS 16
typedef struct store_stmt {
    const char *sql;
    db_arg args[STORE_MAX_ARGS];
    int n_args;
} store_stmt;

/* SQL for now, as every time in the store is written: ISO 8601 UTC with milliseconds (db.h). */
#define STORE_NOW "{now}"

/* The hash before the first audit entry. */
#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* A record's reader: the row of id as JSON (*out), or an error. */
typedef store_status (*getter_fn)(store *s, int64_t id, cJSON **out, store_error *e);

/* One action of a user, run by transact() in a transaction with its audit entry. */
typedef struct action {
    const char *name;  /* the audit entry's action, "object.verb" (e.g. "case.update") */
    int64_t id;        /* in: the record acted on; out: a new record's id */
    const cJSON *in;   /* the request's fields */
    int value;         /* a vote */
    const char *text;  /* a signer's name */
    cJSON *detail;     /* what the audit entry adds (ids, field names; never patient text);
                        * the body may set it; transact frees it */
    bool view;         /* a read: audited, not idempotent */
    bool replayed;     /* out: an earlier action with the same idempotency key answered */
    getter_fn get;     /* a view's reader and its result */
    cJSON **out;
    void *ctx;         /* a body's own arguments */
} action;
typedef store_status (*action_fn)(store *s, action *a, store_error *e);

/* Runs body in BEGIN IMMEDIATE ... COMMIT under the mutex, with a's audit entry and (unless a
 * view) its idempotency record; ROLLBACK on any failure. */
store_status store_transact(store *s, const store_actor *by, action_fn body, action *a,
                            store_error *e);

/* store_audit.c, inside a transaction: appends an entry (object: the action's part before
 * the '.' when NULL); looks up / records the actor's idempotency key for action. */
store_status store_audit_append(store *s, const store_actor *by, const char *action_name,
                                const char *object, int64_t object_id, const cJSON *detail,
                                store_error *e);
store_status store_idempotency_replay(store *s, const store_actor *by, const char *action_name,
                                      int64_t *id, bool *replayed, store_error *e);
store_status store_idempotency_record(store *s, const store_actor *by, const char *action_name,
                                      int64_t id, store_error *e);

/* now + offset_s as every time in the store is written: ISO 8601 UTC with milliseconds. */
void store_time(long offset_s, char out[32]);
/* text as a LIKE pattern (ESCAPE '\\') matching it literally: as a prefix, or anywhere in the
 * value when anywhere; malloc'ed, NULL out of memory. */
char *store_like_pattern(const char *text, bool anywhere);

/* Shared helpers of store.c: a failure with a message; a statement stepped to its end and
 * finalized; the one row of a statement; a SQL statement run once. */
store_status store_fail(store_error *e, store_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
store_status store_run(store *s, store_stmt *st, store_error *e);
store_status store_one_row(store *s, store_stmt *st, const char *what, int64_t id, cJSON **out,
                           store_error *e);
/* Runs an INSERT ... RETURNING id: the new record's id to *id. */
store_status store_insert(store *s, store_stmt *st, int64_t *id, store_error *e);
store_status store_exec(store *s, const char *sql, store_error *e);

/* sql (db.h's dialect) with its arguments, described by types: 'i' int64_t, 't' text (NULL
 * binds NULL), 'd' double, 'n' NULL (its argument, an int64_t, is ignored: every type takes
 * one, so a call can choose 'i' or 'n' for the same argument); NULL (with e filled) out of
 * memory. Text arguments are borrowed: the statement runs in the same expression. */
store_stmt *store_prepare(store *s, store_error *e, const char *sql, const char *types, ...);
/* All rows of a statement as an array of objects keyed by column (JSON columns as values);
 * NULL on failure. */
cJSON *store_rows(store *s, store_stmt *st, store_error *e);
/* e from SQLite's last error; returns STORE_FAILED. */
store_status store_db_fail(store *s, store_error *e);

#endif
