/* test_audit.c: the audit trail (store_audit.c) and `ward audit verify`.
 *
 * Actions and views leave entries naming who, what and which record, never patient text; an
 * action that fails leaves none; a repeated idempotency key does the action once. Then the
 * database file is tampered with as someone with write access to it would (the triggers that
 * refuse UPDATE and DELETE dropped first): an altered entry, a removed entry in the middle, a
 * removed last entry, and a trail cut short and re-headed each make `ward audit verify` exit 1
 * and name the entry; the intact trail exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/db.h"
#include "app/store.h"
#include "harness.h"

static const store_actor doctor = {.user_id = 7, .name = "li", .display_name = "李医生",
                                   .role = "doctor", .ip = "10.0.0.8"};

/* The entries matching q, newest first. */
static cJSON *entries(store *s, const char *action) {
    store_audit_query q = {.action = action, .limit = 100};
    cJSON *o = NULL;
    store_error e = {0};
    store_actor auditor = {.name = "audit-test", .role = "auditor"};
    store_audit_search(s, &auditor, &q, &o, &e);
    cJSON *list = cJSON_DetachItemFromObject(o, "entries");
    cJSON_Delete(o);
    return list;
}

static void test_entries(store *s) {
    store_error e = {0};
    cJSON *in = cJSON_Parse("{\"title\":\"张三 胸痛\",\"free_text\":\"患者张三，胸痛2小时\"}");
    int64_t id = 0;
    CHECK(store_case_create(s, &doctor, in, &id, &e) == STORE_OK, "case created: %s", e.msg);
    cJSON *c = NULL;
    CHECK(store_case_get(s, &doctor, id, &c, &e) == STORE_OK, "case read");
    cJSON_Delete(c);
    cJSON *list = entries(s, "case.");
    const cJSON *view = cJSON_GetArrayItem(list, 0), *create = cJSON_GetArrayItem(list, 1);
    char *all = cJSON_PrintUnformatted(list);
    CHECK(cJSON_GetArraySize(list) == 2 &&
              !strcmp(cJSON_GetObjectItem(view, "action")->valuestring, "case.view") &&
              !strcmp(cJSON_GetObjectItem(create, "action")->valuestring, "case.create") &&
              !strcmp(cJSON_GetObjectItem(view, "actor")->valuestring, "li") &&
              !strcmp(cJSON_GetObjectItem(view, "ip")->valuestring, "10.0.0.8") &&
              cJSON_GetObjectItem(view, "object_id")->valuedouble == (double)id,
          "a create and a view, by li from 10.0.0.8, on the case");
    CHECK(all && !strstr(all, "张三") && !strstr(all, "胸痛"), "no patient text in the trail");
    free(all);
    cJSON_Delete(list);
    /* a failed action leaves no entry */
    cJSON *bad = cJSON_Parse("{\"sections\":{\"mood\":\"x\"}}");
    CHECK(store_case_update(s, &doctor, id, bad, &e) == STORE_INVALID, "a bad update fails");
    list = entries(s, "case.update");
    CHECK(cJSON_GetArraySize(list) == 0, "and leaves no entry");
    cJSON_Delete(list), cJSON_Delete(bad);
    /* the same idempotency key: one case */
    store_actor retry = doctor;
    snprintf(retry.idempotency_key, sizeof retry.idempotency_key, "k-1");
    int64_t a = 0, b = 0;
    CHECK(store_case_create(s, &retry, in, &a, &e) == STORE_OK &&
              store_case_create(s, &retry, in, &b, &e) == STORE_OK && a == b && a != id,
          "a repeated Idempotency-Key answers with the first record (%lld, %lld)", (long long)a,
          (long long)b);
    CHECK(store_vote(s, &retry, 1, 1, &e) == STORE_CONFLICT, "the key used for another action: "
          "conflict (%s)", e.msg);
    list = entries(s, "case.create");
    CHECK(cJSON_GetArraySize(list) == 2, "two creations recorded, not three (%d)",
          cJSON_GetArraySize(list));
    cJSON_Delete(list), cJSON_Delete(in);
    store_actor auditor = {.name = "aud", .role = "auditor"};
    store_audit_query q = {.limit = 0};
    cJSON *o = NULL;
    CHECK(store_audit_search(s, &auditor, &q, &o, &e) == STORE_INVALID, "limit 0: invalid");
}

/* Runs `ward audit verify --db DB [extra]`: its exit status, its output in out. */
static int verify(const char *db, const char *extra, char *out, size_t cap) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s audit verify --db %s %s 2>&1", WARD_BINARY, db, extra);
    return run_cmd(cmd, out, cap);
}

/* A fresh database whose trail holds 6 entries; its path in path. */
static bool six_entries(char *path, size_t cap) {
    const char *fresh = test_fresh_db("audit.db");
    if (!fresh) return false;
    snprintf(path, cap, "%s", fresh);
    store *s = NULL;
    store_error e = {0};
    CHECK(store_open(path, &s, &e) == STORE_OK, "opened %s", e.msg);
    cJSON *in = cJSON_Parse("{\"free_text\":\"腹痛\"}");
    for (int i = 0; s && i < 6; i++) {
        int64_t id;
        store_case_create(s, &doctor, in, &id, &e);
    }
    cJSON_Delete(in);
    store_close(s);
    return s != NULL;
}

/* SQL run on the database directly (not through the store). */
static bool direct(const char *path, const char *sql) {
    db *d = NULL;
    char err[256];
    const bool ok = db_open(path, NULL, &d, err, sizeof err) && db_exec(d, sql);
    db_close(d);
    return ok;
}

static void test_tampering(void) {
    char db[512], out[8192], head[160];
    CHECK(six_entries(db, sizeof db), "a trail of 6 entries");
    CHECK(!direct(db, "UPDATE audit SET actor = 'x' WHERE id = 2") &&
              !direct(db, "DELETE FROM audit WHERE id = 2"),
          "UPDATE and DELETE on the trail are refused");
    CHECK(verify(db, "", out, sizeof out) == 0 && strstr(out, "ok: 6 entries"),
          "the intact trail verifies: %s", out);
    /* tampering as someone who can write the database itself: the triggers go first */
    const char *untrigger = test_on_postgres()
        ? "DROP TRIGGER IF EXISTS audit_no_update ON audit; DROP TRIGGER IF EXISTS "
          "audit_no_delete ON audit; "
        : "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; ";
    static const struct { const char *sql, *says; } cases[] = {
        {"UPDATE audit SET actor = 'someone-else' WHERE id = 3", "entry 3 was altered"},
        {"UPDATE audit SET detail = '{\"x\":1}' WHERE id = 5", "entry 5 was altered"},
        {"DELETE FROM audit WHERE id = 4", "entry 4 was removed"},
        {"DELETE FROM audit WHERE id = 6", "entry 6 (the last) was removed"},
        {"DELETE FROM audit WHERE id = 6; UPDATE audit_head SET entries = 5, hash = (SELECT hash "
         "FROM audit WHERE id = 5)", "entries 6 to 6: removed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!six_entries(db, sizeof db)) return;
        verify(db, "", out, sizeof out);
        const char *hp = strstr(out, "head ");
        snprintf(head, sizeof head, "--expect %.*s", hp ? (int)strcspn(hp + 5, "\n") : 0,
                 hp ? hp + 5 : "");
        char sql[600];
        snprintf(sql, sizeof sql, "%s%s", untrigger, cases[i].sql);
        CHECK(direct(db, sql), "tampered: %s", cases[i].sql);
        const int rc = verify(db, head, out, sizeof out);
        CHECK(rc == 1 && strstr(out, cases[i].says) && strstr(out, "FAILED"),
              "verify names it: '%s' (rc %d): %s", cases[i].says, rc, out);
        test_remove_db(db);
    }
}

int main(void) {
    store *s = NULL;
    store_error e = {0};
    const char *db = test_fresh_db("entries.db");
    CHECK(db && store_open(db, &s, &e) == STORE_OK, "store opened: %s", e.msg);
    if (s) test_entries(s);
    store_close(s);
    test_tampering();
    return test_summary();
}
