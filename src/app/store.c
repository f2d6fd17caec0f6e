/* store.c: the workbench's SQLite records (see store.h).
 *
 * Layout: migrations[] (the schema, one entry per version, never edited once shipped: a change
 * is a new entry), then the helpers that bind, step and turn rows into JSON (columns named in
 * json_columns[] hold JSON text and come out as values), then one section per record kind.
 * Every public function takes the mutex, and every one that writes runs in one
 * BEGIN IMMEDIATE ... COMMIT, rolled back on any failure.
 */
#include "app/store_internal.h"

#include <assert.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


const store_section store_case_sections[] = {
    {"chief_complaint", "主诉"},     {"present_illness", "现病史"},
    {"past_history", "既往史"},      {"physical_exam", "体格检查"},
    {"auxiliary_exams", "辅助检查"}, {"admission_record", "入院记录"},
    {"progress_notes", "病程记录"},  {"orders", "医嘱"},
    {"diagnosis", "诊断"},
};
const int store_n_case_sections = sizeof store_case_sections / sizeof store_case_sections[0];

const store_section store_discharge_sections[] = {
    {"discharge_diagnosis", "出院诊断"}, {"admission_status", "入院情况"},
    {"treatment_course", "诊疗经过"},    {"discharge_status", "出院情况"},
    {"discharge_orders", "出院医嘱"},
};
const int store_n_discharge_sections =
    sizeof store_discharge_sections / sizeof store_discharge_sections[0];

static const char *const error_categories[] = {"factual", "omission", "irrelevant", "unsafe",
                                               "format", "other", NULL};


/* ---------------------------------------------------------------------------------------------
 * Migrations: migrations[i] takes the schema from version i to i + 1
 * ------------------------------------------------------------------------------------------- */

static const char *const migrations[] = {
    "CREATE TABLE cases ("
    " id INTEGER PRIMARY KEY,"
    " created_at TEXT NOT NULL DEFAULT " STORE_NOW ", updated_at TEXT NOT NULL DEFAULT " STORE_NOW ","
    " title TEXT NOT NULL DEFAULT '', department TEXT NOT NULL DEFAULT '',"
    " patient TEXT NOT NULL DEFAULT '{}', sections TEXT NOT NULL DEFAULT '{}',"
    " free_text TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT 'api');"
    "CREATE TABLE generations ("
    " id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases(id),"
    " task TEXT NOT NULL CHECK (task IN ('differential', 'discharge')),"
    " model TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}', template TEXT NOT NULL,"
    " prompt TEXT NOT NULL, rerun_of INTEGER REFERENCES generations(id),"
    " status TEXT NOT NULL DEFAULT 'running'"
    "  CHECK (status IN ('running', 'done', 'error', 'cancelled')),"
    " output TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',"
    " ttft_ms REAL, total_ms REAL, prompt_tokens INTEGER, completion_tokens INTEGER,"
    " created_at TEXT NOT NULL DEFAULT " STORE_NOW ", finished_at TEXT);"
    "CREATE INDEX generations_case ON generations(case_id);"
    "CREATE TABLE votes ("
    " id INTEGER PRIMARY KEY, generation_id INTEGER NOT NULL REFERENCES generations(id),"
    " value INTEGER NOT NULL CHECK (value IN (-1, 1)), created_at TEXT NOT NULL DEFAULT " STORE_NOW ");"
    "CREATE INDEX votes_generation ON votes(generation_id);"
    "CREATE TABLE error_reports ("
    " id INTEGER PRIMARY KEY, generation_id INTEGER NOT NULL REFERENCES generations(id),"
    " category TEXT NOT NULL, text TEXT NOT NULL DEFAULT '',"
    " created_at TEXT NOT NULL DEFAULT " STORE_NOW ");"
    "CREATE INDEX error_reports_generation ON error_reports(generation_id);"
    "CREATE TABLE fill_backs ("
    " id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases(id),"
    " section TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT " STORE_NOW ");"
    "CREATE TABLE picks ("
    " id INTEGER PRIMARY KEY, fill_back_id INTEGER NOT NULL REFERENCES fill_backs(id),"
    " generation_id INTEGER NOT NULL REFERENCES generations(id), diagnosis TEXT NOT NULL,"
    " rank INTEGER, created_at TEXT NOT NULL DEFAULT " STORE_NOW ");"
    "CREATE INDEX picks_generation ON picks(generation_id);"
    "CREATE TABLE discharge_records ("
    " id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL REFERENCES cases(id),"
    " generation_id INTEGER REFERENCES generations(id),"
    " status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'signed')),"
    " draft TEXT NOT NULL, current TEXT NOT NULL, final TEXT, signed_by TEXT, signed_at TEXT,"
    " created_at TEXT NOT NULL DEFAULT " STORE_NOW ", updated_at TEXT NOT NULL DEFAULT " STORE_NOW ");"
    "CREATE TABLE discharge_edits ("
    " id INTEGER PRIMARY KEY, record_id INTEGER NOT NULL REFERENCES discharge_records(id),"
    " section TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL,"
    " created_at TEXT NOT NULL DEFAULT " STORE_NOW ");",
    /* 2: accounts, sessions, API keys, login attempts, the audit trail, idempotency keys */
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL DEFAULT '',"
    " role TEXT NOT NULL CHECK (role IN ('doctor', 'admin', 'auditor')),"
    " password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL DEFAULT " STORE_NOW ", updated_at TEXT NOT NULL DEFAULT " STORE_NOW ","
    " last_login TEXT);"
    "CREATE TABLE sessions ("
    " id INTEGER PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,"
    " user_id INTEGER NOT NULL REFERENCES users(id), csrf TEXT NOT NULL, ip TEXT NOT NULL,"
    " created_at TEXT NOT NULL DEFAULT " STORE_NOW ", expires_at TEXT NOT NULL);"
    "CREATE TABLE api_keys ("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, secret_hash TEXT NOT NULL UNIQUE,"
    " scopes TEXT NOT NULL, created_by TEXT NOT NULL, expires_at TEXT, revoked_at TEXT,"
    " created_at TEXT NOT NULL DEFAULT " STORE_NOW ");"
    "CREATE TABLE login_attempts ("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL, ip TEXT NOT NULL, ok INTEGER NOT NULL,"
    " at TEXT NOT NULL DEFAULT " STORE_NOW ");"
    "CREATE INDEX login_attempts_at ON login_attempts(at);"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,"
    " ip TEXT NOT NULL, action TEXT NOT NULL, object TEXT NOT NULL, object_id INTEGER NOT NULL,"
    " detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX audit_object ON audit(object, object_id);"
    "CREATE INDEX audit_actor ON audit(actor);"
    /* the chain's head: entries and last hash, one row updated with each entry (a removed
     * last entry leaves it pointing past the end) */
    "CREATE TABLE audit_head (one INTEGER PRIMARY KEY CHECK (one = 1), entries INTEGER NOT NULL,"
    " hash TEXT NOT NULL);"
    "INSERT INTO audit_head (one, entries, hash) VALUES (1, 0, '" AUDIT_GENESIS "');"
    /* append-only for the application; one who edits the file directly breaks the chain */
    "{append_only:audit}"
    "CREATE TABLE idempotency ("
    " actor TEXT NOT NULL, key TEXT NOT NULL, action TEXT NOT NULL, result_id INTEGER NOT NULL,"
    " at TEXT NOT NULL DEFAULT " STORE_NOW ", PRIMARY KEY (actor, key));",
    /* 3: the replica running a generation (several servers share one database); a case's
     * date shift for de-identified exports (days; the mapping stays with the case) */
    ("ALTER TABLE generations ADD COLUMN owner TEXT;"
     "ALTER TABLE cases ADD COLUMN deid_shift INTEGER;"),
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* Columns that hold JSON text: returned as JSON values. */
static const char *const json_columns[] = {"patient", "sections", "params", "draft", "current", "detail",
                                           "final", NULL};

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

store_status store_fail(store_error *e, store_status st, const char *fmt, ...) {
    if (e) {
        e->status = st;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

store_status store_db_fail(store *s, store_error *e) {
    return store_fail(e, STORE_FAILED, "%s", db_errmsg(s->db));
}

store_status store_exec(store *s, const char *sql, store_error *e) {
    return db_exec(s->db, sql) ? STORE_OK : store_db_fail(s, e);
}

const store_actor store_system = {.name = "system", .role = "system"};

/* Runs a in a transaction under the mutex: body's status decides COMMIT or ROLLBACK. The
 * audit entry and the idempotency record are written in the same transaction, so an action
 * that returned is on disk with both, and one that failed left neither. */
store_status store_transact(store *s, const store_actor *by, action_fn body, action *a,
                            store_error *e) {
    pthread_mutex_lock(&s->mu);
    store_status st = db_begin_write(s->db) ? STORE_OK : store_db_fail(s, e);
    if (st == STORE_OK) {
        if (!a->view) st = store_idempotency_replay(s, by, a->name, &a->id, &a->replayed, e);
        if (st == STORE_OK && !a->replayed) {
            st = body(s, a, e);
            if (st == STORE_OK)
                st = store_audit_append(s, by, a->name, NULL, a->id, a->detail, e);
            if (st == STORE_OK && !a->view) st = store_idempotency_record(s, by, a->name, a->id, e);
        }
        if (st == STORE_OK) st = store_exec(s, "COMMIT", e);
        if (st != STORE_OK) db_rollback(s->db);
    }
    pthread_mutex_unlock(&s->mu);
    cJSON_Delete(a->detail);
    a->detail = NULL;
    return st;
}

/* An action named name on record key (0 for a new one) with input in; a new record's id to
 * *id. */
static store_status act(store *s, const store_actor *by, const char *name, action_fn body,
                        int64_t key, const cJSON *in, int64_t *id, store_error *e) {
    action a = {.name = name, .id = key, .in = in};
    const store_status st = store_transact(s, by, body, &a, e);
    if (id) *id = st == STORE_OK ? a.id : 0;
    return st;
}

static store_status get_body(store *s, action *a, store_error *e) {
    return a->get(s, a->id, a->out, e);
}

/* A view of record id by get, audited as name. */
static store_status view(store *s, const store_actor *by, const char *name, getter_fn get,
                         int64_t id, cJSON **out, store_error *e) {
    *out = NULL;
    action a = {.name = name, .id = id, .view = true, .get = get, .out = out};
    const store_status st = store_transact(s, by, get_body, &a, e);
    if (st != STORE_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st;
}

void store_time(long offset_s, char out[32]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    const time_t t = ts.tv_sec + offset_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", day, (int)(ts.tv_nsec / 1000000));
}

char *store_like_pattern(const char *text, bool anywhere) {
    char *like = malloc(2 * strlen(text) + 3), *p = like;
    if (!like) return NULL;
    if (anywhere) *p++ = '%';
    for (; *text; text++) {
        if (*text == '%' || *text == '_' || *text == '\\') *p++ = '\\';
        *p++ = *text;
    }
    *p++ = '%', *p = '\0';
    return like;
}

store_stmt *store_prepare(store *s, store_error *e, const char *sql, const char *types, ...) {
    (void)s;
    assert(strlen(types) <= STORE_MAX_ARGS);
    store_stmt *st = calloc(1, sizeof *st);
    if (!st) {
        store_fail(e, STORE_FAILED, "out of memory");
        return NULL;
    }
    st->sql = sql;
    va_list ap;
    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        db_arg *a = &st->args[st->n_args++];
        a->type = types[i];
        if (types[i] == 'i' || types[i] == 'n') a->i = va_arg(ap, int64_t);
        else if (types[i] == 'd') a->d = va_arg(ap, double);
        else a->t = va_arg(ap, const char *);
    }
    va_end(ap);
    return st;
}

/* Runs st (freed), its rows to *rows when rows is not NULL. */
static store_status run_stmt(store *s, store_stmt *st, cJSON **rows, store_error *e) {
    if (!st) return e ? e->status : STORE_FAILED;
    const bool ok = db_run(s->db, st->sql, st->args, st->n_args, rows, &s->changes);
    free(st);
    return ok ? STORE_OK : store_db_fail(s, e);
}

store_status store_run(store *s, store_stmt *st, store_error *e) {
    return run_stmt(s, st, NULL, e);
}

cJSON *store_rows(store *s, store_stmt *st, store_error *e) {
    cJSON *rows = NULL;
    return run_stmt(s, st, &rows, e) == STORE_OK ? rows : NULL;
}

store_status store_insert(store *s, store_stmt *st, int64_t *id, store_error *e) {
    cJSON *rows = NULL;
    const store_status rc = run_stmt(s, st, &rows, e);
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "id");
    *id = rc == STORE_OK && cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
    cJSON_Delete(rows);
    return rc;
}

/* The one row of a statement, or NULL with STORE_NOT_FOUND naming what. */
store_status store_one_row(store *s, store_stmt *st, const char *what, int64_t id,
                            cJSON **out, store_error *e) {
    *out = NULL;
    cJSON *rows = store_rows(s, st, e);
    if (!rows) return e ? e->status : STORE_FAILED;
    if (cJSON_GetArraySize(rows) == 0) {
        cJSON_Delete(rows);
        return store_fail(e, STORE_NOT_FOUND, "%s %lld does not exist", what, (long long)id);
    }
    *out = cJSON_DetachItemFromArray(rows, 0);
    cJSON_Delete(rows);
    return STORE_OK;
}

static bool exists(store *s, const char *table, int64_t id) {
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT 1 AS one FROM %s WHERE id = ?", table);
    cJSON *rows = store_rows(s, store_prepare(s, NULL, sql, "i", id), NULL);
    const bool found = cJSON_GetArraySize(rows) > 0;
    cJSON_Delete(rows);
    return found;
}

/* A record id in JSON: a whole number from 1 to 2^53 (beyond, doubles skip integers; a
 * conversion out of int64_t's range would be undefined). 0 when it is not one. */
static int64_t as_id(const cJSON *v) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 9007199254740992.0) ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return 0;
    return (int64_t)v->valuedouble;
}

/* A count in JSON (tokens): a number from 0 to 2^31, else 0. */
static int64_t as_count(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 2147483648.0
               ? (int64_t)v->valuedouble
               : 0;
}

/* An optional string field: absent or null gives dflt; another type is invalid. */
static bool opt_string(const cJSON *o, const char *name, const char *dflt, const char **out,
                       store_error *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    *out = dflt;
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsString(v)) return store_fail(e, STORE_INVALID, "'%s' must be a string", name) == 0;
    *out = v->valuestring;
    return true;
}

/* An object whose members are all strings with keys from sections[]. */
static bool check_sections(const cJSON *o, const store_section *sections, int n,
                           const char *what, store_error *e) {
    if (!cJSON_IsObject(o)) return store_fail(e, STORE_INVALID, "'%s' must be an object", what) == 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, o) {
        bool known = false;
        for (int i = 0; i < n && !known; i++) known = strcmp(v->string, sections[i].key) == 0;
        if (!known) return store_fail(e, STORE_INVALID, "'%s' has no section '%s'", what, v->string) == 0;
        if (!cJSON_IsString(v))
            return store_fail(e, STORE_INVALID, "'%s.%s' must be a string", what, v->string) == 0;
    }
    return true;
}

static char *print_or(const cJSON *v, const char *dflt) {
    return v ? cJSON_PrintUnformatted(v) : strdup(dflt);
}

/* ---------------------------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------------------------- */

/* Each migration in its own transaction; on PostgreSQL under a lock, re-reading the version
 * inside it, so replicas starting together migrate once. */
static store_status migrate(store *s, store_error *e) {
    for (;;) {
        if (!db_begin_write(s->db) || !db_lock_migrations(s->db)) break;
        const int v = db_schema_version(s->db);
        if (v < 0) break;
        if (v > N_MIGRATIONS) {
            db_rollback(s->db);
            return store_fail(e, STORE_FAILED, "the database has schema version %d, newer than "
                              "this ward knows (%d)", v, N_MIGRATIONS);
        }
        if (v == N_MIGRATIONS) return store_exec(s, "COMMIT", e);
        if (!db_exec(s->db, migrations[v]) || !db_set_schema_version(s->db, v + 1) ||
            !db_commit(s->db))
            break;
    }
    const store_status st = store_db_fail(s, e);
    db_rollback(s->db);
    return st;
}

store_status store_open(const char *path, store **out, store_error *e) {
    *out = NULL;
    if (sodium_init() < 0) return store_fail(e, STORE_FAILED, "libsodium cannot start");
    store *s = calloc(1, sizeof *s);
    if (!s) return store_fail(e, STORE_FAILED, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    char err[512];
    if (!db_open(path, json_columns, &s->db, err, sizeof err)) {
        store_fail(e, STORE_FAILED, "%s", err);
        store_close(s);
        return STORE_FAILED;
    }
    const store_status st = migrate(s, e);
    if (st != STORE_OK) {
        store_close(s);
        return st;
    }
    *out = s;
    return STORE_OK;
}

void store_close(store *s) {
    if (!s) return;
    db_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int store_schema_version(store *s) {
    pthread_mutex_lock(&s->mu);
    const int v = db_schema_version(s->db);
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* ---------------------------------------------------------------------------------------------
 * Cases
 * ------------------------------------------------------------------------------------------- */

/* The case fields of in, checked; sections, patient as JSON text (malloc'ed). */
typedef struct case_fields {
    const char *title, *department, *free_text, *source;
    char *sections, *patient;
} case_fields;

static store_status read_case(const cJSON *in, bool creating, case_fields *f, store_error *e) {
    memset(f, 0, sizeof *f);
    if (!cJSON_IsObject(in)) return store_fail(e, STORE_INVALID, "a case must be a JSON object");
    const cJSON *sections = cJSON_GetObjectItemCaseSensitive(in, "sections");
    const cJSON *patient = cJSON_GetObjectItemCaseSensitive(in, "patient");
    if (!opt_string(in, "title", creating ? "" : NULL, &f->title, e) ||
        !opt_string(in, "department", creating ? "" : NULL, &f->department, e) ||
        !opt_string(in, "free_text", creating ? "" : NULL, &f->free_text, e) ||
        !opt_string(in, "source", creating ? "api" : NULL, &f->source, e) ||
        (sections && !check_sections(sections, store_case_sections, store_n_case_sections,
                                     "sections", e)))
        return e ? e->status : STORE_INVALID;
    if (patient && !cJSON_IsObject(patient))
        return store_fail(e, STORE_INVALID, "'patient' must be an object");
    bool text = f->free_text && f->free_text[0];
    const cJSON *v;
    cJSON_ArrayForEach(v, sections) text |= v->valuestring[0] != '\0';
    if (creating && !text)
        return store_fail(e, STORE_INVALID, "a case needs some text: a section or 'free_text'");
    f->sections = sections ? cJSON_PrintUnformatted(sections) : NULL;
    f->patient = patient ? cJSON_PrintUnformatted(patient) : NULL;
    if ((sections && !f->sections) || (patient && !f->patient))
        return store_fail(e, STORE_FAILED, "out of memory");
    return STORE_OK;
}

static store_status case_create(store *s, action *a, store_error *e) {
    case_fields f;
    store_status st = read_case(a->in, true, &f, e);
    if (st == STORE_OK)
        st = store_insert(s, store_prepare(s, e, "INSERT INTO cases (title, department, patient, "
                            "sections, free_text, source) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                            "tttttt", f.title, f.department, f.patient ? f.patient : "{}",
                            f.sections ? f.sections : "{}", f.free_text, f.source), &a->id, e);
    free(f.sections), free(f.patient);
    return st;
}

store_status store_case_create(store *s, const store_actor *by, const cJSON *in, int64_t *id,
                               store_error *e) {
    return act(s, by, "case.create", case_create, 0, in, id, e);
}

static store_status case_get(store *s, int64_t id, cJSON **out, store_error *e) {
    return store_one_row(s, store_prepare(s, e, "SELECT * FROM cases WHERE id = ?", "i", id), "case", id,
                   out, e);
}

store_status store_case_get(store *s, const store_actor *by, int64_t id, cJSON **out,
                            store_error *e) {
    return view(s, by, "case.view", case_get, id, out, e);
}

/* Sections merge: the patch's keys replace the case's. */
static store_status case_update(store *s, action *a, store_error *e) {
    cJSON *cur = NULL;
    case_fields f;
    store_status st = read_case(a->in, false, &f, e);
    if (st == STORE_OK) st = case_get(s, a->id, &cur, e);
    if (st == STORE_OK && f.sections) {
        cJSON *merged = cJSON_GetObjectItemCaseSensitive(cur, "sections");
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(a->in, "sections")) {
            cJSON_DeleteItemFromObjectCaseSensitive(merged, v->string);
            cJSON_AddItemToObject(merged, v->string, cJSON_CreateString(v->valuestring));
        }
        free(f.sections);
        f.sections = cJSON_PrintUnformatted(merged);
    }
    if (st == STORE_OK)
        st = store_run(s, store_prepare(s, e, "UPDATE cases SET title = coalesce(?, title), department = "
                            "coalesce(?, department), patient = coalesce(?, patient), sections = "
                            "coalesce(?, sections), free_text = coalesce(?, free_text), "
                            "updated_at = " STORE_NOW " WHERE id = ?", "ttttti", f.title,
                            f.department, f.patient, f.sections, f.free_text, a->id), e);
    free(f.sections), free(f.patient);
    cJSON_Delete(cur);
    return st;
}

store_status store_case_update(store *s, const store_actor *by, int64_t id, const cJSON *patch,
                               store_error *e) {
    return act(s, by, "case.update", case_update, id, patch, NULL, e);
}

/* A listed case's summary, in place of its sections and free text: the chief complaint (else
 * the free text), its first 80 characters. */
static void add_summary(cJSON *row) {
    const cJSON *cc = cJSON_GetObjectItem(cJSON_GetObjectItem(row, "sections"), "chief_complaint");
    const cJSON *ft = cJSON_GetObjectItem(row, "free_text");
    const char *text = cJSON_IsString(cc) ? cc->valuestring : cJSON_IsString(ft) ? ft->valuestring : "";
    size_t end = 0;
    for (int chars = 0; text[end] && chars < 80; chars++)
        do end++; while (((unsigned char)text[end] & 0xC0) == 0x80);
    cJSON_AddItemToObject(row, "summary", cJSON_CreateString(""));
    char *summary = strndup(text, end);
    if (summary) cJSON_SetValuestring(cJSON_GetObjectItem(row, "summary"), summary);
    free(summary);
    cJSON_DeleteItemFromObject(row, "sections");
    cJSON_DeleteItemFromObject(row, "free_text");
}

/* A search: like (a LIKE pattern, or NULL: all), limit and offset. */
typedef struct case_search {
    const char *like;
    int limit, offset;
} case_search;

static store_status case_list(store *s, action *a, store_error *e) {
    const case_search *q = a->ctx;
    static const char *const where =
        " WHERE ?1 IS NULL OR title LIKE ?1 ESCAPE '\\' OR department LIKE ?1 ESCAPE '\\' OR "
        "sections LIKE ?1 ESCAPE '\\' OR free_text LIKE ?1 ESCAPE '\\'";
    char list_sql[640], count_sql[512];
    snprintf(list_sql, sizeof list_sql, "SELECT id, title, department, updated_at, sections, "
             "free_text FROM cases%s ORDER BY updated_at DESC, id DESC LIMIT ?2 OFFSET ?3",
             where);
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) AS total FROM cases%s", where);
    cJSON *cases = store_rows(s, store_prepare(s, e, list_sql, "tii", q->like, (int64_t)q->limit,
                                               (int64_t)q->offset), e);
    cJSON *total = NULL;
    store_status st = cases ? store_one_row(s, store_prepare(s, e, count_sql, "t", q->like),
                                            "count", 0, &total, e)
                            : (e ? e->status : STORE_FAILED);
    cJSON *row, *listed = st == STORE_OK ? cases : NULL;
    cJSON_ArrayForEach(row, listed) add_summary(row);
    if (st == STORE_OK) {
        *a->out = cJSON_CreateObject();
        cJSON_AddItemToObject(*a->out, "cases", cases);
        cJSON_AddItemToObject(*a->out, "total",
                              cJSON_Duplicate(cJSON_GetObjectItem(total, "total"), true));
        /* the audit says a search happened and what it returned, not what was typed (a
         * name, perhaps) */
        a->detail = cJSON_CreateObject();
        cJSON_AddBoolToObject(a->detail, "query", q->like != NULL);
        cJSON *ids = cJSON_AddArrayToObject(a->detail, "cases");
        cJSON_ArrayForEach(row, cases)
            cJSON_AddItemToArray(ids, cJSON_Duplicate(cJSON_GetObjectItem(row, "id"), true));
        cases = NULL;
    }
    cJSON_Delete(cases);
    cJSON_Delete(total);
    return st;
}

store_status store_case_list(store *s, const store_actor *by, const char *query, int limit,
                             int offset, cJSON **out, store_error *e) {
    *out = NULL;
    if (limit < 1 || limit > 500 || offset < 0)
        return store_fail(e, STORE_INVALID, "limit must be 1 to 500 and offset at least 0");
    char *like = NULL;
    if (query && query[0] && !(like = store_like_pattern(query, true)))
        return store_fail(e, STORE_FAILED, "out of memory");
    case_search q = {like, limit, offset};
    action a = {.name = "case.search", .view = true, .ctx = &q, .out = out};
    const store_status st = store_transact(s, by, case_list, &a, e);
    if (st != STORE_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    free(like);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Generations
 * ------------------------------------------------------------------------------------------- */

static store_status generation_begin(store *s, action *a, store_error *e) {
    const cJSON *in = a->in, *case_id = cJSON_GetObjectItemCaseSensitive(in, "case_id");
    const cJSON *rerun = cJSON_GetObjectItemCaseSensitive(in, "rerun_of");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(in, "params");
    const char *task, *model, *tmpl, *prompt, *owner;
    const int64_t cid = as_id(case_id), rid = as_id(rerun);
    if (!cid) return store_fail(e, STORE_INVALID, "'case_id' must be a record id (a whole number >= 1)");
    if (!opt_string(in, "task", NULL, &task, e) || !opt_string(in, "model", NULL, &model, e) ||
        !opt_string(in, "template", NULL, &tmpl, e) ||
        !opt_string(in, "prompt", NULL, &prompt, e) || !opt_string(in, "owner", NULL, &owner, e))
        return e ? e->status : STORE_INVALID;
    if (!task || (strcmp(task, "differential") && strcmp(task, "discharge")) || !model || !tmpl ||
        !prompt)
        return store_fail(e, STORE_INVALID, "a generation needs task (differential or discharge), "
                    "model, template and prompt");
    if (params && !cJSON_IsObject(params))
        return store_fail(e, STORE_INVALID, "'params' must be an object");
    if (!exists(s, "cases", cid))
        return store_fail(e, STORE_NOT_FOUND, "case %lld does not exist", (long long)cid);
    if (rerun && !cJSON_IsNull(rerun) && (!rid || !exists(s, "generations", rid)))
        return store_fail(e, STORE_NOT_FOUND, "'rerun_of' names no generation");
    char *p = print_or(params, "{}");
    const store_status st =
        store_insert(s, store_prepare(s, e, "INSERT INTO generations (case_id, task, model, params, "
                       "template, prompt, rerun_of, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                       "RETURNING id", rid ? "itttttit" : "itttttnt", cid, task, model,
                       p ? p : "{}", tmpl, prompt, rid, owner),
            &a->id, e);
    free(p);
    return st;
}

store_status store_generation_begin(store *s, const store_actor *by, const cJSON *in,
                                    int64_t *id, store_error *e) {
    return act(s, by, "generation.start", generation_begin, 0, in, id, e);
}

static double num_or(const cJSON *o, const char *name, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static store_status generation_finish(store *s, action *a, store_error *e) {
    const char *status, *output, *error;
    if (!opt_string(a->in, "status", NULL, &status, e) ||
        !opt_string(a->in, "output", "", &output, e) || !opt_string(a->in, "error", "", &error, e))
        return e ? e->status : STORE_INVALID;
    if (!status || !strcmp(status, "running"))
        return store_fail(e, STORE_INVALID, "'status' must be done, error or cancelled");
    store_stmt *st = store_prepare(s, e, "UPDATE generations SET status = ?, output = ?, error = ?, "
                               "ttft_ms = ?, total_ms = ?, prompt_tokens = ?, completion_tokens "
                               "= ?, finished_at = " STORE_NOW " WHERE id = ? AND status = 'running'",
                               "tttddiii", status, output, error, num_or(a->in, "ttft_ms", 0),
                               num_or(a->in, "total_ms", 0),
                               as_count(a->in, "prompt_tokens"),
                               as_count(a->in, "completion_tokens"), a->id);
    store_status rc = store_run(s, st, e);
    if (rc == STORE_OK && s->changes == 0)
        return exists(s, "generations", a->id)
                   ? store_fail(e, STORE_CONFLICT, "generation %lld has already finished",
                          (long long)a->id)
                   : store_fail(e, STORE_NOT_FOUND, "generation %lld does not exist", (long long)a->id);
    return rc;
}

store_status store_generation_finish(store *s, int64_t id, const cJSON *in, store_error *e) {
    return act(s, &store_system, "generation.finish", generation_finish, id, in, NULL, e);
}

/* A generation with its latest vote, its error reports, its picks and (a discharge draft) the
 * record it became. */
#define GENERATION_SELECT                                                                       \
    "SELECT g.*, (SELECT value FROM votes v WHERE v.generation_id = g.id ORDER BY v.id DESC "   \
    "LIMIT 1) AS vote, (SELECT count(*) FROM error_reports r WHERE r.generation_id = g.id) AS " \
    "error_reports, (SELECT count(*) FROM picks p WHERE p.generation_id = g.id) AS picks, "     \
    "(SELECT min(id) FROM discharge_records d WHERE d.generation_id = g.id) AS "                \
    "discharge_record_id FROM generations g "

static store_status generation_get(store *s, int64_t id, cJSON **out, store_error *e) {
    return store_one_row(s, store_prepare(s, e, GENERATION_SELECT "WHERE g.id = ?", "i", id),
                   "generation", id, out, e);
}

store_status store_generation_get(store *s, const store_actor *by, int64_t id, cJSON **out,
                                  store_error *e) {
    return view(s, by, "generation.view", generation_get, id, out, e);
}

bool store_generation_running(store *s, int64_t id) {
    pthread_mutex_lock(&s->mu);
    cJSON *rows = store_rows(s, store_prepare(s, NULL, "SELECT 1 AS one FROM generations WHERE "
                                              "id = ? AND status = 'running'", "i", id), NULL);
    pthread_mutex_unlock(&s->mu);
    const bool running = cJSON_GetArraySize(rows) > 0;
    cJSON_Delete(rows);
    return running;
}

store_status store_generation_list(store *s, int64_t case_id, cJSON **out, store_error *e) {
    pthread_mutex_lock(&s->mu);
    store_status st = STORE_OK;
    *out = NULL;
    if (!exists(s, "cases", case_id))
        st = store_fail(e, STORE_NOT_FOUND, "case %lld does not exist", (long long)case_id);
    else if (!(*out = store_rows(s, store_prepare(s, e, GENERATION_SELECT "WHERE g.case_id = ? ORDER "
                                            "BY g.id", "i", case_id), e)))
        st = e ? e->status : STORE_FAILED;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Feedback: votes, error reports, picks filled back
 * ------------------------------------------------------------------------------------------- */

static store_status vote(store *s, action *a, store_error *e) {
    if (a->value != 1 && a->value != -1) return store_fail(e, STORE_INVALID, "a vote is 1 or -1");
    if (!exists(s, "generations", a->id))
        return store_fail(e, STORE_NOT_FOUND, "generation %lld does not exist", (long long)a->id);
    return store_run(s, store_prepare(s, e, "INSERT INTO votes (generation_id, value) VALUES (?, ?)", "ii",
                          a->id, (int64_t)a->value), e);
}

store_status store_vote(store *s, const store_actor *by, int64_t generation_id, int value,
                        store_error *e) {
    action a = {.name = "generation.vote", .id = generation_id, .value = value};
    return store_transact(s, by, vote, &a, e);
}

static store_status error_report(store *s, action *a, store_error *e) {
    const char *category, *text;
    if (!opt_string(a->in, "category", NULL, &category, e) ||
        !opt_string(a->in, "text", "", &text, e))
        return e ? e->status : STORE_INVALID;
    bool known = false;
    for (int i = 0; category && error_categories[i]; i++)
        known |= strcmp(category, error_categories[i]) == 0;
    if (!known)
        return store_fail(e, STORE_INVALID, "'category' must be one of factual, omission, irrelevant, "
                    "unsafe, format, other");
    if (!exists(s, "generations", a->id))
        return store_fail(e, STORE_NOT_FOUND, "generation %lld does not exist", (long long)a->id);
    return store_insert(s, store_prepare(s, e, "INSERT INTO error_reports (generation_id, "
                                         "category, text) VALUES (?, ?, ?) RETURNING id", "itt",
                                         a->id, category, text), &a->id, e);
}

store_status store_error_report(store *s, const store_actor *by, int64_t generation_id,
                                const cJSON *in, int64_t *id, store_error *e) {
    return act(s, by, "error_report.create", error_report, generation_id, in, id, e);
}

/* Each pick: a generation of this case and a diagnosis; returns the lines to append. */
static store_status check_picks(store *s, int64_t case_id, const cJSON *picks, char **lines,
                                store_error *e) {
    *lines = NULL;
    if (!cJSON_IsArray(picks) || cJSON_GetArraySize(picks) == 0)
        return store_fail(e, STORE_INVALID, "'picks' must be a non-empty array");
    size_t len = 1;
    const cJSON *p;
    cJSON_ArrayForEach(p, picks) {
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(p, "generation_id");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "diagnosis");
        if (!as_id(g) || !cJSON_IsString(d) || !d->valuestring[0])
            return store_fail(e, STORE_INVALID, "each pick needs a 'generation_id' and a 'diagnosis'");
        cJSON *rows = store_rows(s, store_prepare(s, e, "SELECT 1 AS one FROM generations WHERE "
                                                  "id = ? AND case_id = ?", "ii", as_id(g),
                                                  case_id), e);
        const bool ok = cJSON_GetArraySize(rows) > 0;
        cJSON_Delete(rows);
        if (!ok)
            return store_fail(e, STORE_NOT_FOUND, "generation %lld is not one of case %lld's",
                        (long long)as_id(g), (long long)case_id);
        len += strlen(d->valuestring) + 1;
    }
    if (!(*lines = calloc(1, len))) return store_fail(e, STORE_FAILED, "out of memory");
    cJSON_ArrayForEach(p, picks) {
        if ((*lines)[0]) strcat(*lines, "\n");
        strcat(*lines, cJSON_GetObjectItemCaseSensitive(p, "diagnosis")->valuestring);
    }
    return STORE_OK;
}

/* Appends lines to a case's section, on a line of their own if it has text already. */
static store_status append_to_section(store *s, int64_t case_id, const char *section,
                                      const char *lines, store_error *e) {
    cJSON *row = NULL;
    store_status st = store_one_row(s, store_prepare(s, e, "SELECT sections FROM cases WHERE "
                                                     "id = ?{for_update}", "i", case_id),
                                    "case", case_id, &row, e);
    cJSON *sections = st == STORE_OK ? cJSON_GetObjectItem(row, "sections") : NULL;
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(sections, section);
    const char *before = cJSON_IsString(old) ? old->valuestring : "";
    char *text = NULL, *json = NULL;
    if (st == STORE_OK && cJSON_IsObject(sections) &&
        asprintf(&text, "%s%s%s", before, before[0] ? "\n" : "", lines) >= 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(sections, section);
        cJSON_AddStringToObject(sections, section, text);
        json = cJSON_PrintUnformatted(sections);
    }
    if (st == STORE_OK)
        st = json ? store_run(s, store_prepare(s, e, "UPDATE cases SET sections = ?, updated_at = "
                                               STORE_NOW " WHERE id = ?", "ti", json, case_id), e)
                  : store_fail(e, STORE_FAILED, "out of memory");
    free(text), free(json);
    cJSON_Delete(row);
    return st;
}

static store_status fill_back(store *s, action *a, store_error *e) {
    const char *section;
    char *lines = NULL;
    if (!opt_string(a->in, "section", "diagnosis", &section, e))
        return e ? e->status : STORE_INVALID;
    bool known = false;
    for (int i = 0; i < store_n_case_sections; i++)
        known |= strcmp(section, store_case_sections[i].key) == 0;
    if (!known) return store_fail(e, STORE_INVALID, "'section' names no case section");
    if (!exists(s, "cases", a->id))
        return store_fail(e, STORE_NOT_FOUND, "case %lld does not exist", (long long)a->id);
    const cJSON *picks = cJSON_GetObjectItemCaseSensitive(a->in, "picks");
    store_status st = check_picks(s, a->id, picks, &lines, e);
    int64_t fill_back_id = 0;
    if (st == STORE_OK)
        st = store_insert(s, store_prepare(s, e, "INSERT INTO fill_backs (case_id, section, text) "
                                           "VALUES (?, ?, ?) RETURNING id", "itt", a->id, section,
                                           lines), &fill_back_id, e);
    const cJSON *p, *to_record = st == STORE_OK ? picks : NULL;
    cJSON_ArrayForEach(p, to_record) {
        const cJSON *rank = cJSON_GetObjectItemCaseSensitive(p, "rank");
        st = store_run(s, store_prepare(s, e, "INSERT INTO picks (fill_back_id, generation_id, diagnosis, "
                            "rank) VALUES (?, ?, ?, ?)", cJSON_IsNumber(rank) ? "iiti" : "iitn",
                            fill_back_id, as_id(cJSON_GetObjectItemCaseSensitive(p, "generation_id")),
                            cJSON_GetObjectItemCaseSensitive(p, "diagnosis")->valuestring,
                            cJSON_IsNumber(rank) ? as_count(p, "rank") : 0), e);
        if (st != STORE_OK) break;
    }
    if (st == STORE_OK) st = append_to_section(s, a->id, section, lines, e);
    free(lines);
    return st;
}

store_status store_fill_back(store *s, const store_actor *by, int64_t case_id, const cJSON *in,
                             store_error *e) {
    if (!cJSON_IsObject(in)) return store_fail(e, STORE_INVALID, "a fill-back must be a JSON object");
    return act(s, by, "case.fill_back", fill_back, case_id, in, NULL, e);
}

/* ---------------------------------------------------------------------------------------------
 * Discharge records
 * ------------------------------------------------------------------------------------------- */

/* All five sections, strings. */
static bool check_discharge(const cJSON *sections, store_error *e) {
    if (!check_sections(sections, store_discharge_sections, store_n_discharge_sections,
                        "sections", e))
        return false;
    for (int i = 0; i < store_n_discharge_sections; i++)
        if (!cJSON_GetObjectItemCaseSensitive(sections, store_discharge_sections[i].key))
            return store_fail(e, STORE_INVALID, "'sections' lacks '%s' (%s)",
                        store_discharge_sections[i].key, store_discharge_sections[i].label) == 0;
    return true;
}

static store_status discharge_create(store *s, action *a, store_error *e) {
    const cJSON *sections = cJSON_GetObjectItemCaseSensitive(a->in, "sections");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(a->in, "generation_id");
    if (!check_discharge(sections, e)) return e ? e->status : STORE_INVALID;
    if (!exists(s, "cases", a->id))
        return store_fail(e, STORE_NOT_FOUND, "case %lld does not exist", (long long)a->id);
    const int64_t gid = as_id(gen);
    if (gen && !cJSON_IsNull(gen) && (!gid || !exists(s, "generations", gid)))
        return store_fail(e, STORE_NOT_FOUND, "'generation_id' names no generation");
    char *text = cJSON_PrintUnformatted(sections);
    if (!text) return store_fail(e, STORE_FAILED, "out of memory");
    const store_status st =
        store_insert(s, store_prepare(s, e, "INSERT INTO discharge_records (case_id, generation_id, "
                       "draft, current) VALUES (?, ?, ?, ?) RETURNING id", gid ? "iitt" : "intt",
                       a->id, gid, text, text),
            &a->id, e);
    free(text);
    return st;
}

store_status store_discharge_create(store *s, const store_actor *by, int64_t case_id,
                                    const cJSON *in, int64_t *id, store_error *e) {
    if (!cJSON_IsObject(in)) return store_fail(e, STORE_INVALID, "a discharge draft must be an object");
    return act(s, by, "discharge.create", discharge_create, case_id, in, id, e);
}

static store_status discharge_get(store *s, int64_t id, cJSON **out, store_error *e) {
    store_status st = store_one_row(s, store_prepare(s, e, "SELECT * FROM discharge_records WHERE id = ?",
                                         "i", id), "discharge record", id, out, e);
    cJSON *edits = st == STORE_OK
                       ? store_rows(s, store_prepare(s, e, "SELECT section, before, after, created_at "
                                               "FROM discharge_edits WHERE record_id = ? ORDER BY "
                                               "id", "i", id), e)
                       : NULL;
    if (st == STORE_OK && !edits) st = e ? e->status : STORE_FAILED;
    if (st == STORE_OK) cJSON_AddItemToObject(*out, "edits", edits);
    return st;
}

store_status store_discharge_get(store *s, const store_actor *by, int64_t record_id, cJSON **out,
                                 store_error *e) {
    return view(s, by, "discharge.view", discharge_get, record_id, out, e);
}

/* Each changed section is one edit row; current takes the new text. */
static store_status discharge_edit(store *s, action *a, store_error *e) {
    cJSON *rec = NULL;
    if (!check_sections(a->in, store_discharge_sections, store_n_discharge_sections, "sections",
                        e))
        return e ? e->status : STORE_INVALID;
    store_status st = discharge_get(s, a->id, &rec, e);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(rec, "status");
    if (st == STORE_OK && strcmp(status->valuestring, "draft") != 0)
        st = store_fail(e, STORE_CONFLICT, "discharge record %lld is signed: it cannot change",
                  (long long)a->id);
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(rec, "current");
    const cJSON *v, *changes = st == STORE_OK ? a->in : NULL;
    cJSON_ArrayForEach(v, changes) {
        const cJSON *before = cJSON_GetObjectItemCaseSensitive(cur, v->string);
        const char *b = cJSON_IsString(before) ? before->valuestring : "";
        if (strcmp(b, v->valuestring) == 0) continue;
        st = store_run(s, store_prepare(s, e, "INSERT INTO discharge_edits (record_id, section, before, "
                            "after) VALUES (?, ?, ?, ?)", "ittt", a->id, v->string, b,
                            v->valuestring), e);
        if (st != STORE_OK) break;
        cJSON_ReplaceItemInObjectCaseSensitive(cur, v->string, cJSON_CreateString(v->valuestring));
    }
    char *text = st == STORE_OK ? cJSON_PrintUnformatted(cur) : NULL;
    if (st == STORE_OK)
        st = text ? store_run(s, store_prepare(s, e, "UPDATE discharge_records SET current = ?, updated_at = "
                                   STORE_NOW " WHERE id = ?", "ti", text, a->id), e)
                  : store_fail(e, STORE_FAILED, "out of memory");
    free(text);
    cJSON_Delete(rec);
    return st;
}

store_status store_discharge_edit(store *s, const store_actor *by, int64_t record_id,
                                  const cJSON *sections, store_error *e) {
    return act(s, by, "discharge.edit", discharge_edit, record_id, sections, NULL, e);
}

static store_status discharge_sign(store *s, action *a, store_error *e) {
    store_status st = store_run(s, store_prepare(s, e, "UPDATE discharge_records SET status = 'signed', "
                                     "final = current, signed_by = ?, signed_at = " STORE_NOW ", "
                                     "updated_at = " STORE_NOW " WHERE id = ? AND status = 'draft'",
                                     "ti", a->text, a->id), e);
    if (st == STORE_OK && s->changes == 0)
        st = exists(s, "discharge_records", a->id)
                 ? store_fail(e, STORE_CONFLICT, "discharge record %lld is already signed",
                        (long long)a->id)
                 : store_fail(e, STORE_NOT_FOUND, "discharge record %lld does not exist",
                        (long long)a->id);
    return st;
}

store_status store_discharge_sign(store *s, const store_actor *by, int64_t record_id,
                                  store_error *e) {
    action a = {.name = "discharge.sign", .id = record_id,
                .text = by->display_name[0] ? by->display_name : by->name};
    return store_transact(s, by, discharge_sign, &a, e);
}

store_status store_discharge_list(store *s, int64_t case_id, cJSON **out, store_error *e) {
    pthread_mutex_lock(&s->mu);
    store_status st = STORE_OK;
    *out = NULL;
    if (!exists(s, "cases", case_id))
        st = store_fail(e, STORE_NOT_FOUND, "case %lld does not exist", (long long)case_id);
    else if (!(*out = store_rows(s, store_prepare(s, e, "SELECT * FROM discharge_records WHERE "
                                            "case_id = ? ORDER BY id", "i", case_id), e)))
        st = e ? e->status : STORE_FAILED;
    pthread_mutex_unlock(&s->mu);
    return st;
}

int store_abandon_running(store *s, const char *owner) {
    pthread_mutex_lock(&s->mu);
    const store_status st = store_run(s, store_prepare(s, NULL, "UPDATE generations SET status = "
                                           "'cancelled', error = 'interrupted: the server "
                                           "stopped', finished_at = " STORE_NOW " WHERE status = "
                                           "'running' AND (owner = ? OR owner IS NULL)", "t",
                                           owner), NULL);
    const int n = st == STORE_OK ? (int)s->changes : -1;
    pthread_mutex_unlock(&s->mu);
    return n;
}
