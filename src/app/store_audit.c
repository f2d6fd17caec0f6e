/* store_audit.c: the audit trail (see store.h): who viewed, generated, edited and exported
 * what, and when; plus the idempotency keys that make a repeated request one action.
 *
 * Entries are appended inside the transaction of the action they record (store_transact), so
 * an action and its entry land or vanish together. Each entry's hash is SHA-256 over its
 * fields, each written as "<length>:<bytes>" so no two entries hash the same text, and over
 * the previous entry's hash; audit_head keeps the count and the last hash, updated with every
 * entry. Triggers refuse UPDATE and DELETE through SQL; someone who edits the database file
 * itself can change rows but not make the chain agree again without recomputing every later
 * hash and the head, which store_audit_verify() catches when the head's hash is kept
 * elsewhere too (docs/security.md: anchoring the head).
 */
#include "app/store_internal.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Hashing
 * ------------------------------------------------------------------------------------------- */

static void hash_field(crypto_hash_sha256_state *h, const char *v) {
    char len[24];
    const size_t n = strlen(v);
    snprintf(len, sizeof len, "%zu:", n);
    crypto_hash_sha256_update(h, (const unsigned char *)len, strlen(len));
    crypto_hash_sha256_update(h, (const unsigned char *)v, n);
}

/* The fields of an entry in hashing order. */
typedef struct entry {
    int64_t id, object_id;
    const char *at, *actor, *role, *ip, *action, *object, *detail, *prev_hash;
} entry;

static void entry_hash(const entry *en, char hex[65]) {
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    char id[24], object_id[24];
    snprintf(id, sizeof id, "%" PRId64, en->id);
    snprintf(object_id, sizeof object_id, "%" PRId64, en->object_id);
    const char *fields[] = {id,         en->at,     en->actor,  en->role,   en->ip,
                            en->action, en->object, object_id,  en->detail, en->prev_hash};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) hash_field(&h, fields[i]);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&h, digest);
    sodium_bin2hex(hex, 65, digest, sizeof digest);
}

/* ---------------------------------------------------------------------------------------------
 * Appending
 * ------------------------------------------------------------------------------------------- */

store_status store_audit_append(store *s, const store_actor *by, const char *action_name,
                                const char *object, int64_t object_id, const cJSON *detail,
                                store_error *e) {
    char obj[64];
    if (!object) { /* "case.view" -> "case" */
        snprintf(obj, sizeof obj, "%.*s", (int)strcspn(action_name, "."), action_name);
        object = obj;
    }
    cJSON *head = NULL;
    /* the head row, locked: appends from several replicas take their turns */
    store_status st = store_one_row(s, store_prepare(s, e, "SELECT entries, hash FROM audit_head"
                                                     "{for_update}", ""), "audit head", 1, &head, e);
    if (st != STORE_OK) return st;
    char *detail_text = detail ? cJSON_PrintUnformatted(detail) : strdup("{}");
    char at[32], hash[65];
    store_time(0, at);
    const cJSON *prev = cJSON_GetObjectItem(head, "hash");
    entry en = {(int64_t)cJSON_GetObjectItem(head, "entries")->valuedouble + 1, object_id, at,
                by->name, by->role, by->ip, action_name, object, detail_text ? detail_text : "{}",
                cJSON_IsString(prev) ? prev->valuestring : ""};
    entry_hash(&en, hash);
    st = store_run(s, store_prepare(s, e, "INSERT INTO audit (id, at, actor, role, ip, action, "
                                    "object, object_id, detail, prev_hash, hash) VALUES (?, ?, "
                                    "?, ?, ?, ?, ?, ?, ?, ?, ?)", "ittttttittt",
                                    en.id, en.at, en.actor, en.role, en.ip, en.action, en.object,
                                    en.object_id, en.detail, en.prev_hash, hash), e);
    if (st == STORE_OK)
        st = store_run(s, store_prepare(s, e, "UPDATE audit_head SET entries = ?, hash = ?", "it",
                                        en.id, hash), e);
    free(detail_text);
    cJSON_Delete(head);
    return st;
}

store_status store_audit_note(store *s, const store_actor *by, const char *action_name,
                              const char *object, int64_t object_id, const cJSON *detail,
                              store_error *e) {
    pthread_mutex_lock(&s->mu);
    store_status st = db_begin_write(s->db) ? STORE_OK : store_db_fail(s, e);
    if (st == STORE_OK) {
        st = store_audit_append(s, by, action_name, object, object_id, detail, e);
        if (st == STORE_OK) st = store_exec(s, "COMMIT", e);
        if (st != STORE_OK) db_rollback(s->db);
    }
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * Idempotency keys: (actor, key) -> the action and the record it made
 * ------------------------------------------------------------------------------------------- */

store_status store_idempotency_replay(store *s, const store_actor *by, const char *action_name,
                                      int64_t *id, bool *replayed, store_error *e) {
    *replayed = false;
    if (!by->idempotency_key[0]) return STORE_OK;
    cJSON *rows = store_rows(s, store_prepare(s, e, "SELECT action, result_id FROM idempotency "
                                              "WHERE actor = ? AND key = ?", "tt", by->name,
                                              by->idempotency_key), e);
    if (!rows) return e ? e->status : STORE_FAILED;
    const cJSON *row = cJSON_GetArrayItem(rows, 0);
    store_status st = STORE_OK;
    if (row && strcmp(cJSON_GetObjectItem(row, "action")->valuestring, action_name) != 0) {
        st = store_fail(e, STORE_CONFLICT, "the Idempotency-Key was used for another request "
                        "(%s)", cJSON_GetObjectItem(row, "action")->valuestring);
    } else if (row) {
        *id = (int64_t)cJSON_GetObjectItem(row, "result_id")->valuedouble;
        *replayed = true;
    }
    cJSON_Delete(rows);
    return st;
}

store_status store_idempotency_record(store *s, const store_actor *by, const char *action_name,
                                      int64_t id, store_error *e) {
    if (!by->idempotency_key[0]) return STORE_OK;
    return store_run(s, store_prepare(s, e, "INSERT INTO idempotency (actor, key, action, "
                                      "result_id) VALUES (?, ?, ?, ?)", "ttti", by->name,
                                      by->idempotency_key, action_name, id), e);
}

/* ---------------------------------------------------------------------------------------------
 * Searching and verifying
 * ------------------------------------------------------------------------------------------- */

typedef struct audit_search_args {
    const store_audit_query *q;
    char *action_like;
} audit_search_args;

static store_status audit_search(store *s, action *a, store_error *e) {
    const audit_search_args *x = a->ctx;
    const store_audit_query *q = x->q;
    static const char *const where =
        " WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action LIKE ?2 ESCAPE '\\') AND"
        " (?3 IS NULL OR object = ?3) AND (?4 = 0 OR object_id = ?4) AND (?5 IS NULL OR at >= ?5)"
        " AND (?6 IS NULL OR at <= ?6)";
    char list_sql[512], count_sql[400];
    snprintf(list_sql, sizeof list_sql, "SELECT * FROM audit%s ORDER BY id DESC LIMIT ?7 "
             "OFFSET ?8", where);
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) AS total FROM audit%s", where);
#define AUDIT_ARGS q->actor, x->action_like, q->object, q->object_id, q->from, q->to
    cJSON *entries = store_rows(s, store_prepare(s, e, list_sql, "tttittii",
                                                 AUDIT_ARGS, (int64_t)q->limit,
                                                 (int64_t)q->offset), e);
    cJSON *total = NULL;
    store_status st = entries ? store_one_row(s, store_prepare(s, e, count_sql, "tttitt",
                                                               AUDIT_ARGS), "count", 0, &total, e)
                              : (e ? e->status : STORE_FAILED);
#undef AUDIT_ARGS
    if (st == STORE_OK) {
        *a->out = cJSON_CreateObject();
        cJSON_AddItemToObject(*a->out, "entries", entries);
        cJSON_AddItemToObject(*a->out, "total",
                              cJSON_Duplicate(cJSON_GetObjectItem(total, "total"), true));
        entries = NULL;
    }
    cJSON_Delete(entries);
    cJSON_Delete(total);
    return st;
}

store_status store_audit_search(store *s, const store_actor *by, const store_audit_query *q,
                                cJSON **out, store_error *e) {
    *out = NULL;
    if (q->limit < 1 || q->limit > 1000 || q->offset < 0)
        return store_fail(e, STORE_INVALID, "limit must be 1 to 1000 and offset at least 0");
    audit_search_args x = {q, NULL};
    if (q->action && q->action[0] && !(x.action_like = store_like_pattern(q->action, false)))
        return store_fail(e, STORE_FAILED, "out of memory"); /* a prefix, taken literally */
    action a = {.name = "audit.search", .view = true, .ctx = &x, .out = out};
    const store_status st = store_transact(s, by, audit_search, &a, e);
    if (st != STORE_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    free(x.action_like);
    return st;
}

static void problem(cJSON *problems, int64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(cJSON *problems, int64_t id, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "entry", (double)id);
    cJSON_AddStringToObject(p, "problem", msg);
    cJSON_AddItemToArray(problems, p);
}

static const char *text_of(const cJSON *row, const char *name) {
    const cJSON *v = cJSON_GetObjectItem(row, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int64_t int_of(const cJSON *row, const char *name) {
    const cJSON *v = cJSON_GetObjectItem(row, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* Checks one entry against the one before it (last_id, last: its id and hash). */
static void verify_entry(const cJSON *row, cJSON *problems, int64_t *last_id, char last[65]) {
    const entry en = {int_of(row, "id"), int_of(row, "object_id"), text_of(row, "at"),
                      text_of(row, "actor"), text_of(row, "role"), text_of(row, "ip"),
                      text_of(row, "action"), text_of(row, "object"), text_of(row, "detail_text"),
                      text_of(row, "prev_hash")};
    char hash[65];
    entry_hash(&en, hash);
    if (en.id > *last_id + 1)
        problem(problems, *last_id + 1, en.id == *last_id + 2 ? "entry %" PRId64 " was removed"
                : "entries %" PRId64 " to %" PRId64 " were removed", *last_id + 1, en.id - 1);
    else if (strcmp(en.prev_hash, last) != 0)
        problem(problems, en.id, "entry %" PRId64 " does not follow the entry before it (its "
                "previous hash differs)", en.id);
    if (strcmp(hash, text_of(row, "hash")) != 0)
        problem(problems, en.id, "entry %" PRId64 " was altered (its content does not match its "
                "hash)", en.id);
    *last_id = en.id;
    snprintf(last, 65, "%s", text_of(row, "hash"));
}

/* Walks the entries in id order, a page at a time (the trail can be long); the detail as
 * stored (the text that was hashed), not parsed. */
static store_status verify_entries(store *s, cJSON *problems, int64_t *last_id, char last[65],
                                   store_error *e) {
    *last_id = 0;
    snprintf(last, 65, "%s", AUDIT_GENESIS);
    for (int64_t after = 0;;) {
        cJSON *rows = store_rows(s, store_prepare(s, e, "SELECT id, at, actor, role, ip, action, "
                                                  "object, object_id, detail AS detail_text, "
                                                  "prev_hash, hash FROM audit WHERE id > ? ORDER "
                                                  "BY id LIMIT 1000", "i", after), e);
        if (!rows) return e ? e->status : STORE_FAILED;
        const cJSON *row;
        cJSON_ArrayForEach(row, rows) verify_entry(row, problems, last_id, last);
        const int n = cJSON_GetArraySize(rows);
        cJSON_Delete(rows);
        if (n < 1000) return STORE_OK;
        after = *last_id;
    }
}

store_status store_audit_verify(store *s, cJSON **out, store_error *e) {
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *problems = cJSON_AddArrayToObject(o, "problems");
    cJSON *head = NULL;
    int64_t last_id = 0;
    char last[65] = "";
    pthread_mutex_lock(&s->mu);
    /* one snapshot of the entries and the head */
    store_status st = store_exec(s, db_is_postgres(s->db) ? "BEGIN ISOLATION LEVEL REPEATABLE "
                                 "READ" : "BEGIN", e);
    if (st == STORE_OK) st = verify_entries(s, problems, &last_id, last, e);
    if (st == STORE_OK)
        st = store_one_row(s, store_prepare(s, e, "SELECT entries, hash FROM audit_head", ""),
                           "audit head", 1, &head, e);
    db_rollback(s->db); /* read only */
    pthread_mutex_unlock(&s->mu);
    if (st != STORE_OK) {
        cJSON_Delete(o);
        return st;
    }
    const int64_t n = (int64_t)cJSON_GetObjectItem(head, "entries")->valuedouble;
    const cJSON *head_hash = cJSON_GetObjectItem(head, "hash");
    if (n > last_id)
        problem(problems, last_id + 1, n == last_id + 1 ? "entry %" PRId64 " (the last) was removed"
                : "entries %" PRId64 " to %" PRId64 " (the last) were removed", last_id + 1, n);
    else if (n < last_id || !cJSON_IsString(head_hash) || strcmp(head_hash->valuestring, last))
        problem(problems, last_id, "the head (%" PRId64 " entries) does not match the last entry "
                "(%" PRId64 ")", n, last_id);
    cJSON_AddNumberToObject(o, "entries", (double)n);
    cJSON_AddStringToObject(o, "head", cJSON_IsString(head_hash) ? head_hash->valuestring : "");
    cJSON_Delete(head);
    *out = o;
    return STORE_OK;
}
