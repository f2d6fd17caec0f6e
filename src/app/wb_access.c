/* wb_access.c: who is asking and what they may do (see wb_internal.h): sign-in, sessions,
 * CSRF, API keys, roles, and the auditor's and admin's read endpoints.
 *
 * A browser signs in with POST /api/login and gets a session cookie (HttpOnly, SameSite=Strict,
 * Secure over HTTPS) and a CSRF token, which every state-changing request sends back in
 * X-CSRF-Token (SameSite already stops cross-site sends in current browsers; the token also
 * covers older ones and same-site subdomains). A machine client (an EMR) sends
 * "Authorization: Bearer wk_..." with a key made by `ward apikey create`; keys carry scopes
 * and no CSRF token (no cookie is involved). Roles map to permissions in role_permissions[];
 * a key's scopes are permissions of the same names.
 */
#include "app/wb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_COOKIE "ward_session"

/* What each role may do (comma-separated permissions). Doctors work on cases; admins manage
 * accounts and see adoption numbers, not patients; auditors read the audit trail only. */
static const struct {
    const char *role, *permissions;
} role_permissions[] = {
    {"doctor", "case:read,case:write,generate,feedback,sign,stats,demo"},
    {"admin", "users,keys,stats,demo"},
    {"auditor", "audit"},
};

bool wb_allowed(const store_actor *by, const char *perm) {
    const char *list = NULL;
    if (strcmp(by->role, "key") == 0) list = by->scopes;
    for (size_t i = 0; !list && i < sizeof role_permissions / sizeof role_permissions[0]; i++)
        if (strcmp(by->role, role_permissions[i].role) == 0) list = role_permissions[i].permissions;
    const size_t n = strlen(perm);
    for (const char *p = list; p && *p; p += strcspn(p, ","), p += *p == ',')
        if (strncmp(p, perm, n) == 0 && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

/* Answers status with msg; false: the request goes no further. */
static bool refuse(call *c, int status, const char *msg) {
    wb_error(c->out, status, "%s", msg);
    return false;
}

bool wb_authenticate(call *c, store_actor *by) {
    const char *auth = srv_request_header(c->req, "Authorization");
    const char *cookie = srv_request_cookie(c->req, SESSION_COOKIE);
    store_error e = {0};
    store_status st;
    if (auth) {
        if (strncmp(auth, "Bearer ", 7) != 0)
            return refuse(c, 401, "Authorization must be 'Bearer KEY'");
        st = store_key_check(c->wb->db, auth + 7, by, &e);
    } else if (cookie) {
        st = store_session(c->wb->db, cookie, by, &e);
    } else {
        return refuse(c, 401, "not signed in");
    }
    if (st != STORE_OK) return refuse(c, st == STORE_DENIED ? 401 : 500, e.msg);
    snprintf(by->ip, sizeof by->ip, "%s", c->req->client_ip);
    return true;
}

bool wb_csrf_ok(call *c) {
    if (strcmp(c->req->method, "GET") == 0 || strcmp(c->by->role, "key") == 0) return true;
    const char *token = srv_request_header(c->req, "X-CSRF-Token");
    const size_t n = strlen(c->by->csrf);
    bool same = token && strlen(token) == n && n > 0;
    unsigned char diff = 0;
    for (size_t i = 0; same && i < n; i++) diff |= (unsigned char)(token[i] ^ c->by->csrf[i]);
    return (same && diff == 0) ||
           refuse(c, 403, "the request lacks this session's CSRF token (X-CSRF-Token)");
}

/* {"user": {"name", "display_name", "role"}, "csrf", "permissions": [...]} */
static cJSON *session_json(const store_actor *by) {
    cJSON *o = cJSON_CreateObject(), *u = cJSON_AddObjectToObject(o, "user");
    cJSON_AddStringToObject(u, "name", by->name);
    cJSON_AddStringToObject(u, "display_name", by->display_name);
    cJSON_AddStringToObject(u, "role", by->role);
    cJSON_AddStringToObject(o, "csrf", by->csrf);
    cJSON *perms = cJSON_AddArrayToObject(o, "permissions");
    static const char *const all[] = {"case:read", "case:write", "generate", "feedback", "sign",
                                      "stats", "demo", "users", "keys", "audit"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (wb_allowed(by, all[i])) cJSON_AddItemToArray(perms, cJSON_CreateString(all[i]));
    return o;
}

static char *cookie(const workbench *wb, const char *value, int max_age, bool tls) {
    char buf[256];
    snprintf(buf, sizeof buf, SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; "
             "Max-Age=%d%s", value, max_age, wb->cookie_secure || tls ? "; Secure" : "");
    return strdup(buf);
}

bool wb_login(call *c) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(c->body, "name");
    const cJSON *password = cJSON_GetObjectItemCaseSensitive(c->body, "password");
    if (!cJSON_IsString(name) || !cJSON_IsString(password))
        return wb_error(c->out, 400, "sign in with {\"name\", \"password\"}");
    store_actor by;
    store_error e = {0};
    char token[64];
    const store_status st = store_login(c->wb->db, name->valuestring, password->valuestring,
                                        c->req->client_ip, c->wb->session_ttl_s, token, &by, &e);
    if (st == STORE_LIMITED) {
        wb_error(c->out, 429, "%s", e.msg);
        c->out->retry_after = e.retry_s;
        return true;
    }
    if (st != STORE_OK) return wb_error(c->out, st == STORE_DENIED ? 401 : 500, "%s", e.msg);
    wb_json(c->out, 200, session_json(&by));
    c->out->set_cookie = cookie(c->wb, token, c->wb->session_ttl_s, c->req->tls);
    return true;
}

bool wb_logout(call *c) {
    store_error e = {0};
    if (store_logout(c->wb->db, c->by, srv_request_cookie(c->req, SESSION_COOKIE), &e) != STORE_OK)
        return wb_store_error(c->out, &e);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "signed_out", true);
    wb_json(c->out, 200, o);
    c->out->set_cookie = cookie(c->wb, "", 0, c->req->tls);
    return true;
}

bool wb_session_info(call *c) { return wb_json(c->out, 200, session_json(c->by)); }

/* ---------------------------------------------------------------------------------------------
 * The auditor's and the admin's read endpoints
 * ------------------------------------------------------------------------------------------- */

static const char *arg_or_null(call *c, const char *name) {
    const char *v = srv_request_arg(c->req, name);
    return v && v[0] ? v : NULL;
}

bool wb_audit_search(call *c) {
    const char *limit = arg_or_null(c, "limit"), *offset = arg_or_null(c, "offset");
    const char *object_id = arg_or_null(c, "object_id");
    const store_audit_query q = {arg_or_null(c, "actor"), arg_or_null(c, "action"),
                                 arg_or_null(c, "object"), arg_or_null(c, "from"),
                                 arg_or_null(c, "to"), object_id ? atoll(object_id) : 0,
                                 limit ? atoi(limit) : 100, offset ? atoi(offset) : 0};
    cJSON *o = NULL;
    store_error e = {0};
    const store_status st = store_audit_search(c->wb->db, c->by, &q, &o, &e);
    return st == STORE_OK ? wb_json(c->out, 200, o) : wb_store_error(c->out, &e);
}

bool wb_audit_verify(call *c) {
    cJSON *o = NULL;
    store_error e = {0};
    const store_status st = store_audit_verify(c->wb->db, &o, &e);
    return st == STORE_OK ? wb_json(c->out, 200, o) : wb_store_error(c->out, &e);
}

bool wb_list_users(call *c) {
    cJSON *o = NULL;
    store_error e = {0};
    const store_status st = store_user_list(c->wb->db, c->by, &o, &e);
    return st == STORE_OK ? wb_json(c->out, 200, o) : wb_store_error(c->out, &e);
}

bool wb_list_keys(call *c) {
    cJSON *o = NULL;
    store_error e = {0};
    const store_status st = store_key_list(c->wb->db, c->by, &o, &e);
    return st == STORE_OK ? wb_json(c->out, 200, o) : wb_store_error(c->out, &e);
}
