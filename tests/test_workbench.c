/* test_workbench.c: the clinical workbench's JSON API on a real `ward serve` with three tiny
 * models (a random Qwen2, a random llama, stories260K), driven over HTTP.
 *
 * A shipped demo case goes in and is found by search; the differential runs on the three
 * columns at once, each answer streamed as events whose deltas add up to the recorded output,
 * which parses and has the schema's shape (1 to 5 diagnoses, each with a likelihood of 高/中/低
 * and bounded lists) even from random weights; picks fill the case's diagnosis; votes, error
 * reports and a re-run are recorded; a discharge draft becomes a record with all five sections,
 * is edited (the edit kept) and signed (then frozen). Bad input gets 400/404/405/409 with a
 * message. Killing the server (SIGKILL) right after an acknowledged action loses nothing, and a
 * generation cut by the kill is marked interrupted at the next start. Access: every refusal a
 * security review asks for (no or forged session, no CSRF token, the wrong role, expired,
 * revoked and out-of-scope API keys, throttled sign-ins, SQL injection, path traversal) and
 * the Content-Security-Policy that keeps injected markup inert.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "srvtest.h"

static char g_args[4096];
static char g_auth[512]; /* the signed-in doctor's cookie and CSRF token header lines */
#define PASSWORD "correct-horse-battery"

static cJSON *json_of(const http_reply *r) { return cJSON_Parse(r->body ? r->body : ""); }

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* POST/PATCH/GET and the JSON answer (NULL if not JSON); *status set. */
static cJSON *call(const char *method, const char *path, const char *body, int *status) {
    http_reply r = http(method, path, body, g_auth);
    cJSON *o = json_of(&r);
    *status = r.status;
    reply_free(&r);
    return o;
}

/* The shortest shipped demo case (the tests decode every byte of it). */
static char *demo_case(void) {
    FILE *f = fopen(WARD_SOURCE_DIR "/share/workbench/demo-cases.json", "rb");
    static char text[1 << 20];
    const size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    cJSON *root = cJSON_ParseWithLength(text, n), *best = NULL;
    size_t best_len = SIZE_MAX;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        char *s = cJSON_PrintUnformatted(c);
        if (s && strlen(s) < best_len) best_len = strlen(s), best = (cJSON *)c;
        free(s);
    }
    char *out = best ? cJSON_PrintUnformatted(best) : NULL;
    cJSON_Delete(root);
    return out;
}

/* Reads a generation's event stream: the deltas' text and the done event's generation. */
static cJSON *follow(int64_t id, char **deltas) {
    char path[96];
    snprintf(path, sizeof path, "/api/generations/%lld/events", (long long)id);
    http_reply r = http("GET", path, NULL, g_auth);
    size_t cap = (r.body ? strlen(r.body) : 0) + 1, n = 0;
    *deltas = calloc(1, cap);
    cJSON *done = NULL;
    for (const char *p = r.body; p && (p = strstr(p, "event: ")); p += 7) {
        const char *data = strstr(p, "\ndata: "), *end = data ? strstr(data, "\n\n") : NULL;
        if (!data || !end) break;
        cJSON *o = cJSON_ParseWithLength(data + 7, (size_t)(end - data - 7));
        if (!strncmp(p + 7, "delta", 5) && cJSON_IsString(cJSON_GetObjectItem(o, "text"))) {
            const char *t = cJSON_GetObjectItem(o, "text")->valuestring;
            memcpy(*deltas + n, t, strlen(t) + 1);
            n += strlen(t);
        } else if (!strncmp(p + 7, "done", 4)) {
            done = o, o = NULL;
        }
        cJSON_Delete(o);
    }
    CHECK(r.status == 200 && r.head && strstr(r.head, "text/event-stream"),
          "generation %lld's events are an event stream (%d)", (long long)id, r.status);
    reply_free(&r);
    return done;
}

/* The differential schema's shape, checked by hand (the browser test checks it too). */
static bool differential_shaped(const cJSON *o) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "diagnoses"), *d;
    const int n = cJSON_GetArraySize(list);
    if (!cJSON_IsArray(list) || n < 1 || n > 5) return false;
    cJSON_ArrayForEach(d, list) {
        const char *like = json_str(d, "likelihood", NULL), *name = json_str(d, "name", NULL);
        if (!name || !name[0] || !like || (strcmp(like, "高") && strcmp(like, "中") && strcmp(like, "低")) ||
            cJSON_GetArraySize(cJSON_GetObjectItem(d, "supporting")) > 4 ||
            cJSON_GetArraySize(cJSON_GetObjectItem(d, "opposing")) > 3 ||
            cJSON_GetArraySize(cJSON_GetObjectItem(d, "tests")) > 3)
            return false;
    }
    return true;
}

/* Follows a generation to its end: done, output = the deltas. Returns the parsed output. */
static cJSON *finished_output(int64_t id, cJSON **gen_out) {
    char *deltas = NULL;
    cJSON *gen = follow(id, &deltas);
    const char *status = json_str(gen, "status", NULL), *output = json_str(gen, "output", NULL);
    CHECK(status && !strcmp(status, "done") && output && deltas && !strcmp(output, deltas),
          "generation %lld: done, its deltas add up to its output (%s: %s)", (long long)id,
          status ? status : "?", json_str(gen, "error", NULL) ? json_str(gen, "error", NULL) : "");
    cJSON *parsed = output ? cJSON_Parse(output) : NULL;
    free(deltas);
    if (gen_out) *gen_out = gen;
    else cJSON_Delete(gen);
    return parsed;
}

static void test_differential(int64_t case_id, int64_t *gens) {
    char path[96];
    int st;
    snprintf(path, sizeof path, "/api/cases/%lld/differential", (long long)case_id);
    cJSON *o = call("POST", path, "{\"seed\":5}", &st);
    const cJSON *list = cJSON_GetObjectItem(o, "generations");
    CHECK(st == 202 && cJSON_GetArraySize(list) == 3, "the differential starts on 3 columns (%d)", st);
    for (int i = 0; i < 3 && i < cJSON_GetArraySize(list); i++)
        gens[i] = (int64_t)num(cJSON_GetArrayItem(list, i), "id");
    cJSON_Delete(o);
    char picks[2048] = "{\"picks\":[";
    for (int i = 0; i < 3; i++) {
        cJSON *answer = finished_output(gens[i], NULL);
        CHECK(differential_shaped(answer), "column %d's answer has the schema's shape", i);
        const char *name = json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(answer, "diagnoses"), 0),
                                    "name", NULL);
        if (name && i < 2) {
            cJSON *esc = cJSON_CreateString(name);
            char *q = cJSON_PrintUnformatted(esc);
            snprintf(picks + strlen(picks), sizeof picks - strlen(picks),
                     "%s{\"generation_id\":%lld,\"diagnosis\":%s,\"rank\":1}", i ? "," : "",
                     (long long)gens[i], q);
            free(q);
            cJSON_Delete(esc);
        }
        cJSON_Delete(answer);
    }
    strcat(picks, "]}");
    snprintf(path, sizeof path, "/api/cases/%lld/fill-back", (long long)case_id);
    o = call("POST", path, picks, &st);
    const char *dx = json_str(cJSON_GetObjectItem(o, "sections"), "diagnosis", NULL);
    CHECK(st == 200 && dx && strchr(dx, '\n'), "two picks filled back, one per line (%d)", st);
    cJSON_Delete(o);
}

static void test_feedback(int64_t *gens) {
    char path[96];
    int st;
    snprintf(path, sizeof path, "/api/generations/%lld/vote", (long long)gens[0]);
    cJSON *o = call("POST", path, "{\"value\":1}", &st);
    CHECK(st == 200 && num(o, "vote") == 1 && num(o, "picks") == 1, "vote up recorded (%d)", st);
    cJSON_Delete(o);
    snprintf(path, sizeof path, "/api/generations/%lld/errors", (long long)gens[1]);
    o = call("POST", path, "{\"category\":\"omission\",\"text\":\"未考虑肺栓塞\"}", &st);
    CHECK(st == 201 && num(o, "id") > 0, "error report recorded (%d)", st);
    cJSON_Delete(o);
    o = call("POST", path, "{\"category\":\"typo\"}", &st);
    CHECK(st == 400 && strstr(json_str(cJSON_GetObjectItem(o, "error"), "message", NULL), "category"),
          "an unknown error category: 400 naming it (%d)", st);
    cJSON_Delete(o);
    snprintf(path, sizeof path, "/api/generations/%lld/rerun", (long long)gens[2]);
    o = call("POST", path, "{\"seed\":9}", &st);
    const int64_t again = (int64_t)num(o, "id");
    cJSON_Delete(o);
    cJSON *gen = NULL;
    cJSON *answer = st == 202 ? finished_output(again, &gen) : NULL;
    CHECK(st == 202 && differential_shaped(answer) && num(gen, "rerun_of") == (double)gens[2],
          "a re-run of one column is recorded as such");
    cJSON_Delete(answer), cJSON_Delete(gen);
}

static void test_discharge(int64_t case_id) {
    char path[96];
    int st;
    snprintf(path, sizeof path, "/api/cases/%lld/discharge", (long long)case_id);
    cJSON *o = call("POST", path, "{\"model\":\"a\",\"seed\":3}", &st);
    const int64_t gid = (int64_t)num(o, "id");
    cJSON_Delete(o);
    cJSON *gen = NULL, *answer = st == 202 ? finished_output(gid, &gen) : NULL;
    const int64_t rid = (int64_t)num(gen, "discharge_record_id");
    CHECK(st == 202 && answer && cJSON_GetArraySize(answer) == 5 && rid > 0,
          "the discharge draft has the five sections and became record %lld", (long long)rid);
    cJSON_Delete(answer), cJSON_Delete(gen);
    snprintf(path, sizeof path, "/api/discharge/%lld", (long long)rid);
    o = call("PATCH", path, "{\"sections\":{\"discharge_orders\":\"出院后1周门诊复查\"}}", &st);
    CHECK(st == 200 && cJSON_GetArraySize(cJSON_GetObjectItem(o, "edits")) == 1 &&
              !strcmp(json_str(cJSON_GetObjectItem(o, "current"), "discharge_orders", NULL),
                      "出院后1周门诊复查"),
          "an edit is recorded (%d)", st);
    cJSON_Delete(o);
    snprintf(path, sizeof path, "/api/discharge/%lld/sign", (long long)rid);
    o = call("POST", path, "{}", &st);
    CHECK(st == 200 && !strcmp(json_str(o, "status", NULL), "signed") &&
              !strcmp(json_str(o, "signed_by", NULL), "doc 医生") &&
              cJSON_IsObject(cJSON_GetObjectItem(o, "final")) &&
              cJSON_IsObject(cJSON_GetObjectItem(o, "draft")),
          "signed by the signed-in doctor: final and draft both kept (%d)", st);
    cJSON_Delete(o);
    snprintf(path, sizeof path, "/api/discharge/%lld", (long long)rid);
    o = call("PATCH", path, "{\"sections\":{\"discharge_orders\":\"x\"}}", &st);
    CHECK(st == 409, "a signed record does not change: 409 (%d)", st);
    cJSON_Delete(o);
}

static void test_errors(void) {
    static const struct { const char *method, *path, *body; int status; } cases[] = {
        {"POST", "/api/cases", "not json", 400},
        {"POST", "/api/cases", "{\"sections\":{\"mood\":\"x\"}}", 400},
        {"GET", "/api/cases/999", NULL, 404},
        {"GET", "/api/cases/0", NULL, 404},
        {"DELETE", "/api/cases/1", NULL, 405},
        {"GET", "/api/nothing", NULL, 404},
        {"POST", "/api/cases/1/differential", "{\"models\":[\"zzz\"]}", 400},
        {"POST", "/api/cases/1/differential", "{\"temperature\":\"hot\"}", 400},
        {"GET", "/api/generations/12345/events", NULL, 404},
        {"POST", "/api/discharge/77/sign", "{\"signed_by\":\"x\"}", 404},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st;
        cJSON *o = call(cases[i].method, cases[i].path, cases[i].body, &st);
        CHECK(st == cases[i].status && json_str(cJSON_GetObjectItem(o, "error"), "message", NULL),
              "%s %s: %d with a message (got %d)", cases[i].method, cases[i].path,
              cases[i].status, st);
        cJSON_Delete(o);
    }
}

/* SIGKILL right after acknowledged actions: all there at the next start; a generation the kill
 * cut is marked interrupted. */
static void test_kill(void) {
    pid_t pid = start_server(g_args);
    CHECK(pid > 0, "server started for the kill test");
    if (pid <= 0) return;
    int st;
    cJSON *o = call("POST", "/api/cases", "{\"title\":\"杀进程\",\"free_text\":\"胸闷1天\"}", &st);
    const int64_t id = (int64_t)num(o, "id");
    cJSON_Delete(o);
    char path[96];
    snprintf(path, sizeof path, "/api/cases/%lld/differential", (long long)id);
    o = call("POST", path, "{\"seed\":1,\"models\":[\"a\"]}", &st);
    const int64_t gid = (int64_t)num(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "generations"), 0), "id");
    cJSON_Delete(o);
    /* killed once the answer has begun (its first delta), long before it can end: the
     * schema's answers run to hundreds of tokens */
    snprintf(path, sizeof path, "/api/generations/%lld/events", (long long)gid);
    const int fd = connect_server();
    send_request(fd, "GET", path, g_auth, NULL, 0);
    char seen[8192];
    size_t n = 0;
    for (ssize_t k; n < sizeof seen - 1 && (k = recv(fd, seen + n, sizeof seen - 1 - n, 0)) > 0;) {
        n += (size_t)k;
        seen[n] = '\0';
        if (strstr(seen, "event: delta")) break;
    }
    close(fd);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    pid = start_server(g_args);
    snprintf(path, sizeof path, "/api/cases/%lld", (long long)id);
    o = call("GET", path, NULL, &st);
    CHECK(st == 200 && !strcmp(json_str(o, "title", NULL), "杀进程"), "the acknowledged case survived SIGKILL");
    cJSON_Delete(o);
    snprintf(path, sizeof path, "/api/generations/%lld", (long long)gid);
    o = call("GET", path, NULL, &st);
    const char *status = json_str(o, "status", NULL);
    CHECK(st == 200 && status && !strcmp(status, "cancelled") &&
              strstr(json_str(o, "error", NULL), "interrupted"),
          "the generation the kill cut is marked interrupted: %s", status ? status : "?");
    cJSON_Delete(o);
    CHECK(pid > 0 && stop_server(pid) == 0, "restarted server stops cleanly");
}

/* One request as whoever headers say; the status, and the body into body (if not NULL). */
static int status_of(const char *method, const char *path, const char *body, const char *headers,
                     char *out, size_t cap) {
    http_reply r = http(method, path, body, headers);
    if (out) snprintf(out, cap, "%s", r.body ? r.body : "");
    const int st = r.status;
    reply_free(&r);
    return st;
}

/* Everything the security review asks to be refused is, each with its status. */
static void test_refusals(const char *doc, const char *auditor) {
    char body[8192], h[700];
    CHECK(status_of("GET", "/api/cases", NULL, NULL, NULL, 0) == 401, "no session: 401");
    CHECK(status_of("GET", "/api/cases", NULL, "Cookie: ward_session="
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n", NULL, 0) == 401,
          "a forged session cookie: 401");
    snprintf(h, sizeof h, "%.*s", (int)(strstr(doc, "X-CSRF") - doc), doc); /* cookie only */
    CHECK(status_of("POST", "/api/cases", "{\"free_text\":\"x\"}", h, NULL, 0) == 403,
          "a state change without the CSRF token: 403");
    snprintf(h + strlen(h), sizeof h - strlen(h), "X-CSRF-Token: %s\r\n",
             "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB");
    CHECK(status_of("POST", "/api/cases", "{\"free_text\":\"x\"}", h, NULL, 0) == 403,
          "a state change with another CSRF token: 403");
    CHECK(status_of("GET", "/api/audit", NULL, doc, body, sizeof body) == 403,
          "a doctor reading the audit trail: 403 (%s)", body);
    CHECK(status_of("GET", "/api/cases", NULL, auditor, NULL, 0) == 403,
          "an auditor reading cases: 403");
    CHECK(status_of("POST", "/api/login", "{\"name\":\"' OR '1'='1\",\"password\":\"' OR "
                    "'1'='1\"}", NULL, NULL, 0) == 401, "SQL injection in the sign-in: 401");
    /* injection text is data: stored and found literally, the tables intact */
    const char *evil = "{\"title\":\"x'); DROP TABLE cases; --\",\"free_text\":\"<script>"
                       "alert(1)</script><img src=x onerror=alert(2)>\"}";
    CHECK(status_of("POST", "/api/cases", evil, doc, NULL, 0) == 201, "an injection-laden case "
          "is stored");
    CHECK(status_of("GET", "/api/cases?q=%27%20OR%201%3D1%20--", NULL, doc, body, sizeof body)
              == 200 && strstr(body, "\"total\":0"), "a search for ' OR 1=1 -- matches nothing");
    CHECK(status_of("GET", "/api/cases?q=DROP%20TABLE", NULL, doc, body, sizeof body) == 200 &&
              strstr(body, "\"total\":1"), "the case with DROP TABLE in its title is found: the "
          "table is intact");
    static const char *const traversals[] = {"/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                             "/assets/../../CMakeLists.txt", "/..%2f..%2fREADME.md",
                                             "/assets/..%5c..%5cREADME.md", "/....//....//etc/passwd"};
    for (size_t i = 0; i < sizeof traversals / sizeof traversals[0]; i++) {
        const int st = status_of("GET", traversals[i], NULL, NULL, body, sizeof body);
        CHECK(st == 404 && !strstr(body, "root:") && !strstr(body, "cmake_minimum"),
              "path traversal %s: 404 (%d)", traversals[i], st);
    }
    http_reply r = http("GET", "/", NULL, NULL);
    CHECK(r.head && strstr(r.head, "Content-Security-Policy: default-src 'self'; script-src "
                           "'self';") && strstr(r.head, "X-Frame-Options: DENY"),
          "pages forbid inline script and framing (Content-Security-Policy, X-Frame-Options)");
    reply_free(&r);
}

/* Sign-in throttling, sign-out, API keys: expired, revoked, out of scope, in scope. */
static void test_sessions_and_keys(const char *db, const char *doc) {
    char h[512], body[4096];
    for (int i = 0; i < 5; i++) status_of("POST", "/api/login", "{\"name\":\"victim\",\"password\":"
                                          "\"guess-guess-guess\"}", NULL, NULL, 0);
    CHECK(status_of("POST", "/api/login", "{\"name\":\"victim\",\"password\":\"" PASSWORD "\"}",
                    NULL, body, sizeof body) == 429, "after 5 wrong passwords the right one is "
          "throttled: 429 (%s)", body);
    char other[512];
    CHECK(sign_in("doc", PASSWORD, other, sizeof other) &&
              status_of("POST", "/api/logout", "{}", other, NULL, 0) == 200 &&
              status_of("GET", "/api/cases", NULL, other, NULL, 0) == 401 &&
              status_of("GET", "/api/cases", NULL, doc, NULL, 0) == 200,
          "signing out ends that session only");
    static const struct { const char *name, *scopes, *expires; int want_get, want_post; } keys[] = {
        {"expired", "case:read,case:write", "2020-01-01", 401, 401},
        {"reader", "case:read", NULL, 200, 403},
        {"writer", "case:read,case:write", "2099-12-31", 200, 201},
        {"revoked", "case:read", NULL, 401, 401},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char cmd[1400], out[256] = "";
        snprintf(cmd, sizeof cmd, "%s apikey create %s --scopes %s %s%s --db %s 2>/dev/null",
                 WARD_BINARY, keys[i].name, keys[i].scopes, keys[i].expires ? "--expires " : "",
                 keys[i].expires ? keys[i].expires : "", db);
        run_cmd(cmd, out, sizeof out);
        out[strcspn(out, "\n")] = '\0';
        if (!strcmp(keys[i].name, "revoked")) {
            snprintf(cmd, sizeof cmd, "apikey revoke revoked --db %s", db);
            run_ward(cmd, NULL);
        }
        snprintf(h, sizeof h, "Authorization: Bearer %s\r\n", out);
        const int get = status_of("GET", "/api/cases", NULL, h, NULL, 0);
        const int post = status_of("POST", "/api/cases", "{\"free_text\":\"来自EMR\"}", h, body,
                                   sizeof body);
        CHECK(get == keys[i].want_get && post == keys[i].want_post,
              "API key '%s' (%s): GET %d, POST %d (%s)", keys[i].name, keys[i].scopes, get, post,
              body);
    }
}

/* A server of its own with a doctor, an auditor and keys. */
static void test_access(const char *models) {
    char db[512], args[4400], doc[512], auditor[512];
    const char *fresh = test_fresh_db("wb-access.db");
    if (!fresh) return;
    snprintf(db, sizeof db, "%s", fresh);
    CHECK(add_user(db, "doc", "doctor", PASSWORD) && add_user(db, "aud", "auditor", PASSWORD) &&
              add_user(db, "victim", "doctor", PASSWORD),
          "users added");
    snprintf(args, sizeof args, "%s --db %s", models, db);
    const pid_t pid = start_server(args);
    CHECK(pid > 0 && sign_in("doc", PASSWORD, doc, sizeof doc) &&
              sign_in("aud", PASSWORD, auditor, sizeof auditor),
          "server with accounts started; a doctor and an auditor signed in");
    if (pid <= 0) return;
    test_refusals(doc, auditor);
    test_sessions_and_keys(db, doc);
    char body[1 << 16];
    CHECK(status_of("GET", "/api/audit?action=user.login_failed", NULL, auditor, body,
                    sizeof body) == 200 && strstr(body, "\"actor\":\"victim\"") &&
              status_of("GET", "/api/audit/verify", NULL, auditor, body, sizeof body) == 200 &&
              strstr(body, "\"problems\":[]"),
          "the auditor finds the failed sign-ins, and the trail verifies (%.200s)", body);
    CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
    test_remove_db(db);
}

/* Two servers on one database (the replicas behind nginx): a generation started on one is
 * followed to its end from the other (its text arrives whole when it ends there), and the other
 * restarting meanwhile leaves it running: each marks only its own unfinished work interrupted. */
static void test_replicas(const char *models) {
    char db[512], args[4400], doc[512], path[96];
    const char *fresh = test_fresh_db("wb-replicas.db");
    if (!fresh) return;
    snprintf(db, sizeof db, "%s", fresh);
    CHECK(add_user(db, "doc", "doctor", PASSWORD), "a doctor");
    snprintf(args, sizeof args, "%s --db %s --instance a", models, db);
    const pid_t a = start_server(args);
    const int port_a = srvtest_port();
    snprintf(args, sizeof args, "%s --db %s --instance b", models, db);
    pid_t b = start_server(args);
    CHECK(a > 0 && b > 0 && sign_in("doc", PASSWORD, doc, sizeof doc), "two replicas, one sign-in");
    if (a <= 0 || b <= 0) return;
    srvtest_use_port(port_a);
    int st;
    snprintf(g_auth, sizeof g_auth, "%s", doc);
    cJSON *o = call("POST", "/api/cases", "{\"free_text\":\"胸痛2小时\"}", &st);
    snprintf(path, sizeof path, "/api/cases/%lld/differential", (long long)num(o, "id"));
    cJSON_Delete(o);
    o = call("POST", path, "{\"seed\":2,\"models\":[\"a\"]}", &st);
    const int64_t gid = (int64_t)num(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "generations"), 0), "id");
    cJSON_Delete(o);
    CHECK(st == 202 && gid > 0, "a generation runs on replica a");
    stop_server(b); /* replica b restarts while a's generation runs */
    b = start_server(args);
    char *deltas = NULL;
    cJSON *done = follow(gid, &deltas); /* on b, the server started last */
    const char *status = json_str(done, "status", NULL), *output = json_str(done, "output", NULL);
    CHECK(b > 0 && status && !strcmp(status, "done") && output && deltas &&
              !strcmp(deltas, output) && output[0],
          "followed from replica b: done, its whole text (%s, %zu bytes)", status ? status : "?",
          output ? strlen(output) : 0);
    free(deltas);
    cJSON_Delete(done);
    CHECK(stop_server(b) == 0 && stop_server(a) == 0, "both stop cleanly");
    snprintf(g_auth, sizeof g_auth, "%s", "");
    test_remove_db(db);
}

int main(void) {
    const char *qwen = shared_path("models/random-qwen2.gguf");
    const char *k256 = shared_path("models/random-k256-Q4_0.gguf");
    const char *stories = shared_path("models/stories260K.gguf");
    if (!qwen || !k256 || !stories) return test_summary();
    char models[3200];
    snprintf(models, sizeof models, "-m a=%s -m b=%s -m c=%s --ctx 8192 -t 2 --parallel 2", qwen,
             k256, stories);
    char db[512];
    const char *fresh = test_fresh_db("workbench.db");
    if (!fresh) return test_summary();
    snprintf(db, sizeof db, "%s", fresh);
    snprintf(g_args, sizeof g_args, "%s --db %s", models, db);
    CHECK(add_user(db, "doc", "doctor", PASSWORD), "ward user add: a doctor");
    pid_t pid = start_server(g_args);
    CHECK(pid > 0 && sign_in("doc", PASSWORD, g_auth, sizeof g_auth), "the doctor signs in");
    CHECK(pid > 0, "ward serve with the workbench started");
    if (pid > 0) {
        int st;
        cJSON *info = call("GET", "/api/info", NULL, &st);
        CHECK(st == 200 && cJSON_GetArraySize(cJSON_GetObjectItem(info, "columns")) == 3 &&
                  !strcmp(json_str(cJSON_GetObjectItem(info, "templates"), "differential", NULL),
                          "differential@1"),
              "info: three columns, the template versions (%d)", st);
        cJSON_Delete(info);
        char *demo = demo_case();
        cJSON *o = call("POST", "/api/cases", demo, &st);
        const int64_t case_id = (int64_t)num(o, "id");
        CHECK(st == 201 && case_id > 0, "a demo case is created (%d)", st);
        cJSON_Delete(o);
        cJSON *parsed = cJSON_Parse(demo);
        const char *title = json_str(parsed, "title", NULL);
        char q[128] = "/api/cases?q=";
        for (size_t i = 0; title && i < 6 && title[i]; i++) /* two characters, URL-encoded */
            snprintf(q + strlen(q), sizeof q - strlen(q), "%%%02X", (unsigned char)title[i]);
        o = call("GET", q, NULL, &st);
        CHECK(st == 200 && num(o, "total") == 1, "search by the title's first characters finds "
              "the case (%d, total %g)", st, num(o, "total"));
        cJSON_Delete(o), cJSON_Delete(parsed);
        free(demo);
        int64_t gens[3] = {0};
        test_differential(case_id, gens);
        test_feedback(gens);
        test_discharge(case_id);
        char path[64];
        snprintf(path, sizeof path, "/api/cases/%lld", (long long)case_id);
        o = call("GET", path, NULL, &st);
        CHECK(st == 200 && cJSON_GetArraySize(cJSON_GetObjectItem(o, "generations")) == 5 &&
                  cJSON_GetArraySize(cJSON_GetObjectItem(o, "discharge_records")) == 1,
              "the case holds its 5 generations and its discharge record");
        cJSON_Delete(o);
        test_errors();
        snprintf(path, sizeof path, "/api/cases/%lld", (long long)case_id);
        o = call("PATCH", path, "{\"sections\":{\"orders\":\"监测体温\"}}", &st);
        CHECK(st == 200 && !strcmp(json_str(cJSON_GetObjectItem(o, "sections"), "orders", NULL),
                                   "监测体温"),
              "PATCH changes a section and answers with the case (%d)", st);
        cJSON_Delete(o);
        o = call("PATCH", path, "{\"sections\":{\"mood\":\"x\"}}", &st);
        CHECK(st == 400, "PATCH with an unknown section: 400 (%d)", st);
        cJSON_Delete(o);
        o = call("POST", "/api/demo-cases", "{}", &st);
        const double first = num(o, "imported");
        cJSON_Delete(o);
        o = call("POST", "/api/demo-cases", "{}", &st);
        CHECK(first == 19 && num(o, "imported") == 0,
              "demo cases: the 19 not yet in (one was created above), then none (%g, %g)", first,
              num(o, "imported"));
        cJSON_Delete(o);
        cJSON *stats = call("GET", "/api/stats", NULL, &st);
        double picked = 0, up = 0;
        const cJSON *row;
        cJSON_ArrayForEach(row, cJSON_GetObjectItem(stats, "per_model"))
            picked += num(row, "picked"), up += num(row, "votes_up");
        CHECK(st == 200 && picked == 2 && up == 1 &&
                  num(cJSON_GetObjectItem(stats, "discharge"), "signed") == 1,
              "the dashboard counts 2 picked answers, 1 up-vote, 1 signed record (%d)", st);
        cJSON_Delete(stats);
        CHECK(stop_server(pid) == 0, "SIGTERM: exit status 0");
        /* two picked answers over the two unpicked ones (the third column and its re-run), and
         * the signed discharge record over its draft */
        char cmd[1400], out[1 << 16];
        snprintf(cmd, sizeof cmd, "%s feedback export --db %s 2>/dev/null", WARD_BINARY, db);
        const int rc = run_cmd(cmd, out, sizeof out);
        int lines = 0, bad = 0;
        for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
            cJSON *o = cJSON_Parse(l);
            lines++;
            bad += !json_str(o, "prompt", NULL) || !json_str(o, "chosen", NULL) ||
                   !json_str(o, "rejected", NULL);
            cJSON_Delete(o);
        }
        CHECK(rc == 0 && lines == 5 && bad == 0, "ward feedback export: 5 DPO pairs (%d, rc %d)",
              lines, rc);
    }
    test_kill();
    test_access(models);
    test_replicas(models);
    test_remove_db(db);
    return test_summary();
}
