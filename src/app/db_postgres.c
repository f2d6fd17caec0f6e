/* db_postgres.c: the PostgreSQL backend (see db.h), through libpq: one connection per server,
 * parameters sent as text with their types (int8, float8, text), rows read back by column
 * type. Several `ward serve` replicas share the database: the schema version lives in a table
 * (ward_schema), and a migration holds an advisory lock so two replicas starting together
 * migrate once. A connection the server dropped is re-opened before the next statement. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/db.h"

/* type OIDs (pg_type.h) */
enum { BOOLOID = 16, INT8OID = 20, INT2OID = 21, INT4OID = 23, TEXTOID = 25, OIDOID = 26,
       FLOAT4OID = 700, FLOAT8OID = 701, NUMERICOID = 1700 };

static bool fail(db *d, const char *what) {
    snprintf(d->err, sizeof d->err, "database: %s%s", what ? what : "", PQerrorMessage(d->conn));
    d->err[strcspn(d->err, "\n")] = '\0';
    return false;
}

static void quiet(void *arg, const char *message) { (void)arg, (void)message; } /* NOTICEs */

static bool pg_open(db *d, const char *uri) {
    d->conn = PQconnectdb(uri);
    if (!d->conn) return snprintf(d->err, sizeof d->err, "out of memory"), false;
    if (PQstatus(d->conn) != CONNECTION_OK) return fail(d, "cannot connect to PostgreSQL: ");
    PQsetNoticeProcessor(d->conn, quiet, NULL);
    return true;
}

static void pg_close(db *d) { PQfinish(d->conn); }

/* A connection lost (a database restart) comes back before the next statement. */
static bool alive(db *d) {
    if (PQstatus(d->conn) == CONNECTION_OK) return true;
    PQreset(d->conn);
    return PQstatus(d->conn) == CONNECTION_OK || fail(d, "lost the connection: ");
}

static cJSON *value(db *d, const PGresult *r, int row, int col) {
    if (PQgetisnull(r, row, col)) return cJSON_CreateNull();
    const char *t = PQgetvalue(r, row, col);
    switch (PQftype(r, col)) {
    case INT8OID: case INT2OID: case INT4OID: case OIDOID:
        return cJSON_CreateNumber((double)strtoll(t, NULL, 10));
    case FLOAT4OID: case FLOAT8OID: case NUMERICOID: return cJSON_CreateNumber(strtod(t, NULL));
    case BOOLOID: return cJSON_CreateNumber(t[0] == 't');
    default: return db_text_value(d, PQfname(r, col), t);
    }
}

static cJSON *rows_of(db *d, const PGresult *r) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < PQntuples(r); i++) {
        cJSON *o = cJSON_CreateObject();
        for (int c = 0; o && c < PQnfields(r); c++)
            cJSON_AddItemToObject(o, PQfname(r, c), value(d, r, i, c));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

#define MAX_ARGS 16

static bool pg_run(db *d, const char *text, const db_arg *args, int n_args, cJSON **rows,
                   int64_t *changes) {
    if (n_args > MAX_ARGS) return snprintf(d->err, sizeof d->err, "too many arguments"), false;
    if (!alive(d)) return false;
    char *sql = db_rewrite(text, true), nums[MAX_ARGS][32];
    const char *values[MAX_ARGS];
    unsigned int types[MAX_ARGS]; /* Oid */
    for (int i = 0; i < n_args; i++) {
        const db_arg *a = &args[i];
        types[i] = a->type == 'i' ? INT8OID : a->type == 'd' ? FLOAT8OID : a->type == 't' ? TEXTOID : 0;
        if (a->type == 'i') snprintf(nums[i], sizeof nums[i], "%lld", (long long)a->i);
        if (a->type == 'd') snprintf(nums[i], sizeof nums[i], "%.17g", a->d);
        values[i] = a->type == 'i' || a->type == 'd' ? nums[i] : a->type == 't' ? a->t : NULL;
    }
    PGresult *r = sql ? PQexecParams(d->conn, sql, n_args, types, values, NULL, NULL, 0) : NULL;
    free(sql);
    const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    const bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) fail(d, NULL);
    if (ok && rows) *rows = rows_of(d, r);
    if (changes) *changes = ok ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    return ok;
}

static bool pg_exec(db *d, const char *script) {
    if (!alive(d)) return false;
    char *sql = db_rewrite(script, true);
    PGresult *r = sql ? PQexec(d->conn, sql) : NULL;
    free(sql);
    const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    PQclear(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || fail(d, NULL);
}

static int pg_schema_version(db *d) {
    cJSON *rows = NULL;
    if (!pg_exec(d, "CREATE TABLE IF NOT EXISTS ward_schema (version INTEGER NOT NULL)") ||
        !pg_run(d, "SELECT version FROM ward_schema", NULL, 0, &rows, NULL))
        return -1;
    const cJSON *row = cJSON_GetArrayItem(rows, 0);
    const int v = row ? (int)cJSON_GetObjectItem(row, "version")->valuedouble : 0;
    cJSON_Delete(rows);
    return v;
}

static bool pg_set_schema_version(db *d, int v) {
    const db_arg arg = {.type = 'i', .i = v};
    return pg_exec(d, "DELETE FROM ward_schema") &&
           pg_run(d, "INSERT INTO ward_schema (version) VALUES (?)", &arg, 1, NULL, NULL);
}

const db_ops db_postgres_ops = {
    .name = "postgresql", .open = pg_open, .close = pg_close, .run = pg_run, .exec = pg_exec,
    .begin_write = "BEGIN",
    .schema_version = pg_schema_version, .set_schema_version = pg_set_schema_version,
    .migration_lock = "SELECT pg_advisory_xact_lock(7150001)", /* "ward" schema changes */
};
