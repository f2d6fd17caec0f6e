/* store_internal.h: what store.c shares with the store's other files (store_stats.c): the
 * handle and the statement helpers. */
#ifndef WARD_APP_STORE_INTERNAL_H
#define WARD_APP_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "app/store.h"

struct store {
    sqlite3 *db;
    pthread_mutex_t mu; /* one connection: each call holds it */
};

/* Prepares sql and binds the arguments, described by types: 'i' int64_t, 't' text (NULL binds
 * NULL), 'd' double, 'n' NULL (its argument, an int64_t, is ignored: every type takes one, so
 * a call can choose 'i' or 'n' for the same argument); NULL (with e filled) on failure. */
sqlite3_stmt *store_prepare(store *s, store_error *e, const char *sql, const char *types, ...);
/* All rows of a statement (finalized) as an array of objects keyed by column (JSON columns as
 * values); NULL on failure. */
cJSON *store_rows(store *s, sqlite3_stmt *st, store_error *e);
/* e from SQLite's last error; returns STORE_FAILED. */
store_status store_db_fail(store *s, store_error *e);

#endif
