/* db.h: the store's database connection, SQLite or PostgreSQL, behind one small interface.
 *
 * The store writes its SQL once, in the subset both speak (RETURNING, ON CONFLICT, CASE, LIKE
 * ... ESCAPE), with "?" or "?N" parameters and a few tokens the backend fills in:
 *   {now}            the current time as the store writes every time (ISO 8601 UTC, ms)
 *   {for_update}     " FOR UPDATE" on PostgreSQL (row locks across replicas), "" on SQLite
 *   {append_only:T}  triggers that refuse UPDATE and DELETE on table T
 * and, in schema statements on PostgreSQL, INTEGER PRIMARY KEY becomes an identity column,
 * INTEGER BIGINT and REAL DOUBLE PRECISION. Rows come back as cJSON objects keyed by column,
 * numbers as numbers, NULL as null, and the columns named in json_columns parsed as JSON.
 *
 * A connection is used by one thread at a time (the store's mutex). Backends: db_sqlite.c,
 * db_postgres.c, each filling the same db_ops table (as Redis's ae_*.c backends do).
 */
#ifndef WARD_APP_DB_H
#define WARD_APP_DB_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An argument: type 'i' (i), 'd' (d), 't' (t; NULL binds NULL) or 'n' (NULL). */
typedef struct db_arg {
    char type;
    int64_t i;
    double d;
    const char *t;
} db_arg;

typedef struct db db;

/* What a backend provides; errors go to its message (db_errmsg). */
typedef struct db_ops {
    const char *name;
    bool (*open)(db *d, const char *uri);
    void (*close)(db *d);
    /* one statement, its rows into *rows when rows is not NULL, rows changed to *changes */
    bool (*run)(db *d, const char *sql, const db_arg *args, int n_args, cJSON **rows,
                int64_t *changes);
    bool (*exec)(db *d, const char *script); /* statements without arguments */
    const char *begin_write;                 /* starts a transaction that will write */
    int (*schema_version)(db *d);
    bool (*set_schema_version)(db *d, int v);
    const char *migration_lock;              /* run first in each migration's transaction */
} db_ops;

struct db {
    const db_ops *ops;
    void *conn;
    const char *const *json_columns;
    char err[512];
};

/* "postgresql://..." or "postgres://..." (a libpq URI): PostgreSQL; anything else: an SQLite
 * file (":memory:" too). false with err saying why. */
bool db_open(const char *uri, const char *const *json_columns, db **out, char *err, size_t cap);
void db_close(db *d);
bool db_is_postgres(const db *d);
const char *db_errmsg(const db *d);

bool db_run(db *d, const char *sql, const db_arg *args, int n_args, cJSON **rows,
            int64_t *changes);
bool db_exec(db *d, const char *script);
bool db_begin_write(db *d);
bool db_commit(db *d);
void db_rollback(db *d);
int db_schema_version(db *d);
bool db_set_schema_version(db *d, int v);
bool db_lock_migrations(db *d);

/* For the backends: sql with the tokens filled in for PostgreSQL (pg) or SQLite, and for
 * PostgreSQL "?"/"?N" as "$N" (malloc'ed; NULL out of memory). */
char *db_rewrite(const char *sql, bool pg);
/* A row's column value as the store wants it (json_columns parsed; text otherwise). */
cJSON *db_text_value(const db *d, const char *column, const char *text);

extern const db_ops db_sqlite_ops, db_postgres_ops;

#endif
