/* db_sqlite.c: the SQLite backend (see db.h): one file opened in WAL mode with foreign keys
 * on and synchronous=FULL, so a transaction that returned is on disk. The schema version is
 * PRAGMA user_version. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "app/db.h"

static bool fail(db *d) {
    snprintf(d->err, sizeof d->err, "database: %s", sqlite3_errmsg(d->conn));
    return false;
}

static bool sq_exec(db *d, const char *script) {
    char *sql = db_rewrite(script, false);
    const bool ok = sql && sqlite3_exec(d->conn, sql, NULL, NULL, NULL) == SQLITE_OK;
    free(sql);
    return ok || fail(d);
}

static bool sq_open(db *d, const char *path) {
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(d->err, sizeof d->err, "cannot open the database %s: %s", path,
                 h ? sqlite3_errmsg(h) : "out of memory");
        sqlite3_close(h);
        return false;
    }
    d->conn = h;
    sqlite3_busy_timeout(h, 5000);
    return sq_exec(d, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                      "PRAGMA foreign_keys = ON;");
}

static void sq_close(db *d) { sqlite3_close(d->conn); }

static bool bind(sqlite3_stmt *st, const db_arg *args, int n) {
    int rc = SQLITE_OK;
    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        const db_arg *a = &args[i];
        rc = a->type == 'i'   ? sqlite3_bind_int64(st, i + 1, a->i)
             : a->type == 'd' ? sqlite3_bind_double(st, i + 1, a->d)
             : a->type == 't' && a->t ? sqlite3_bind_text(st, i + 1, a->t, -1, SQLITE_TRANSIENT)
                                      : sqlite3_bind_null(st, i + 1);
    }
    return rc == SQLITE_OK;
}

static cJSON *row_object(db *d, sqlite3_stmt *st) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        cJSON *v;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER: v = cJSON_CreateNumber((double)sqlite3_column_int64(st, i)); break;
        case SQLITE_FLOAT: v = cJSON_CreateNumber(sqlite3_column_double(st, i)); break;
        case SQLITE_NULL: v = cJSON_CreateNull(); break;
        default: v = db_text_value(d, name, (const char *)sqlite3_column_text(st, i));
        }
        cJSON_AddItemToObject(o, name, v);
    }
    return o;
}

static bool sq_run(db *d, const char *text, const db_arg *args, int n_args, cJSON **rows,
                   int64_t *changes) {
    char *sql = db_rewrite(text, false);
    sqlite3_stmt *st = NULL;
    if (!sql || sqlite3_prepare_v2(d->conn, sql, -1, &st, NULL) != SQLITE_OK) {
        free(sql);
        return fail(d);
    }
    free(sql);
    bool ok = sqlite3_bind_parameter_count(st) == n_args && bind(st, args, n_args);
    cJSON *arr = rows ? cJSON_CreateArray() : NULL;
    int rc = SQLITE_ERROR;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (arr) cJSON_AddItemToArray(arr, row_object(d, st));
    ok = ok && rc == SQLITE_DONE;
    if (!ok) {
        fail(d);
        cJSON_Delete(arr);
        arr = NULL;
    }
    sqlite3_finalize(st);
    if (rows) *rows = arr;
    if (changes) *changes = ok ? sqlite3_changes(d->conn) : 0;
    return ok;
}

static int sq_schema_version(db *d) {
    cJSON *rows = NULL;
    if (!sq_run(d, "PRAGMA user_version", NULL, 0, &rows, NULL)) return -1;
    const int v = (int)cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "user_version")->valuedouble;
    cJSON_Delete(rows);
    return v;
}

static bool sq_set_schema_version(db *d, int v) {
    char sql[48];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    return sq_exec(d, sql);
}

const db_ops db_sqlite_ops = {
    .name = "sqlite", .open = sq_open, .close = sq_close, .run = sq_run, .exec = sq_exec,
    .begin_write = "BEGIN IMMEDIATE", /* the write lock at once: no upgrade deadlock */
    .schema_version = sq_schema_version, .set_schema_version = sq_set_schema_version,
    .migration_lock = "", /* BEGIN IMMEDIATE already excludes other writers */
};
