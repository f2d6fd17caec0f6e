/* store_auth.c: accounts (see store.h): users and their roles, browser sessions, API keys for
 * machine clients, and login throttling.
 *
 * Secrets are never stored: passwords as Argon2id hashes (libsodium's crypto_pwhash_str, which
 * embeds its salt and limits), session tokens and API keys as SHA-256 (they are 256 random
 * bits, so a fast hash suffices). A password is checked outside the store's mutex (it takes
 * ~50 ms by design) between a throttle check and the transaction that records the attempt;
 * an unknown name is checked against a fixed hash so it costs the same time as a known one.
 * Every account change, sign-in, failed sign-in and sign-out is an audit entry.
 */
#include "app/store_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THROTTLE_WINDOW_S (15 * 60)
#define MAX_FAILS_PER_NAME 5
#define MAX_FAILS_PER_IP 20

static const char *const roles[] = {"doctor", "admin", "auditor", NULL};
static const char *const key_scopes[] = {"case:read", "case:write", "generate", "feedback",
                                         "stats", "audit", NULL};

/* An Argon2id hash of a password nobody has: what an unknown name is checked against. */
/* (sized as libsodium declares a hash string: it may read that many bytes) */
static const char dummy_hash[crypto_pwhash_STRBYTES] = "$argon2id$v=19$m=65536,t=2,p=1$4VPFNxta6tw5OQAXRITJfA$"
                                 "K0NjqZUDGzXNj+LRpOKYk/V1Sd3PBw6Lx7FDMXFBp3E";

void store_cli_actor(store_actor *out) {
    *out = (store_actor){.role = "cli"};
    const char *login = getenv("USER");
    if (!login || !login[0]) login = getenv("LOGNAME");
    if (login && login[0]) snprintf(out->name, sizeof out->name, "cli:%.60s", login);
    else snprintf(out->name, sizeof out->name, "cli:uid%u", (unsigned)getuid());
}

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static bool in_list(const char *v, const char *const *list) {
    for (int i = 0; v && list[i]; i++)
        if (strcmp(v, list[i]) == 0) return true;
    return false;
}

static bool valid_name(const char *name) {
    const size_t n = name ? strlen(name) : 0;
    if (n < 2 || n > 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789._-", name[i])) return false;
    return true;
}

/* 32 random bytes as base64url without padding (43 characters) after prefix. */
static void random_token(const char *prefix, char out[64]) {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    const size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    sodium_bin2base64(out + n, 64 - n, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void sha256_hex(const char *text, char hex[65]) {
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, (const unsigned char *)text, strlen(text));
    sodium_bin2hex(hex, 65, d, sizeof d);
}

static store_status hash_password(const char *password, char out[crypto_pwhash_STRBYTES],
                                  store_error *e) {
    if (!password || strlen(password) < 10 || strlen(password) > 1024)
        return store_fail(e, STORE_INVALID, "a password is 10 to 1024 bytes");
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return store_fail(e, STORE_FAILED, "out of memory hashing the password");
    return STORE_OK;
}

/* The rows of a query run under the mutex outside any action. */
#define LOCKED_ROWS(s, e, ...)                                                                     \
    ({                                                                                             \
        pthread_mutex_lock(&(s)->mu);                                                              \
        cJSON *rows_ = store_rows((s), store_prepare((s), (e), __VA_ARGS__), (e));                 \
        pthread_mutex_unlock(&(s)->mu);                                                            \
        rows_;                                                                                     \
    })

static store_status changed_one(store *s, const char *what, const char *name, store_error *e) {
    return s->changes == 1
               ? STORE_OK
               : store_fail(e, STORE_NOT_FOUND, "no %s named '%s'", what, name);
}

/* ---------------------------------------------------------------------------------------------
 * Users
 * ------------------------------------------------------------------------------------------- */

typedef struct user_args {
    const char *name, *display_name, *role, *hash;
    bool disabled;
} user_args;

static cJSON *name_detail(const char *name) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "name", name);
    return d;
}

/* Runs an INSERT ... ON CONFLICT (name) DO NOTHING RETURNING id of a named record (what: its
 * kind): the new id to a->id, the name to the audit detail; a taken name is a conflict. */
static store_status insert_named(store *s, store_stmt *st, action *a, const char *what,
                                 const char *name, store_error *e) {
    const store_status rc = store_insert(s, st, &a->id, e);
    if (rc == STORE_OK && a->id == 0)
        return store_fail(e, STORE_CONFLICT, "a %s named '%s' exists", what, name);
    a->detail = name_detail(name);
    return rc;
}

static store_status user_add(store *s, action *a, store_error *e) {
    const user_args *u = a->ctx;
    const store_status st =
        insert_named(s, store_prepare(s, e, "INSERT INTO users (name, display_name, role, "
                                      "password_hash) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO "
                                      "NOTHING RETURNING id", "tttt", u->name, u->display_name,
                                      u->role, u->hash), a, "user", u->name, e);
    if (st == STORE_OK) cJSON_AddStringToObject(a->detail, "role", u->role);
    return st;
}

store_status store_user_add(store *s, const store_actor *by, const char *name,
                            const char *display_name, const char *role, const char *password,
                            store_error *e) {
    if (!valid_name(name))
        return store_fail(e, STORE_INVALID, "a user name is 2 to 64 of a-z 0-9 . _ -");
    if (!in_list(role, roles))
        return store_fail(e, STORE_INVALID, "the role is doctor, admin or auditor");
    char hash[crypto_pwhash_STRBYTES];
    const store_status st = hash_password(password, hash, e);
    if (st != STORE_OK) return st;
    user_args u = {name, display_name ? display_name : "", role, hash, false};
    action a = {.name = "user.add", .ctx = &u};
    return store_transact(s, by, user_add, &a, e);
}

/* A password change or (dis)abling ends the user's sessions. */
static store_status end_sessions(store *s, int64_t user_id, store_error *e) {
    return store_run(s, store_prepare(s, e, "DELETE FROM sessions WHERE user_id = ?", "i",
                                      user_id), e);
}

static store_status user_id_of(store *s, const char *name, int64_t *id, store_error *e) {
    cJSON *row = NULL;
    store_status st = store_one_row(s, store_prepare(s, e, "SELECT id FROM users WHERE name = ?",
                                                     "t", name), "user", 0, &row, e);
    if (st == STORE_NOT_FOUND) st = store_fail(e, STORE_NOT_FOUND, "no user named '%s'", name);
    *id = st == STORE_OK ? (int64_t)cJSON_GetObjectItem(row, "id")->valuedouble : 0;
    cJSON_Delete(row);
    return st;
}

static store_status user_update(store *s, action *a, store_error *e) {
    const user_args *u = a->ctx;
    store_status st = user_id_of(s, u->name, &a->id, e);
    if (st == STORE_OK && u->hash)
        st = store_run(s, store_prepare(s, e, "UPDATE users SET password_hash = ?, updated_at = "
                                        STORE_NOW " WHERE id = ?", "ti", u->hash, a->id), e);
    else if (st == STORE_OK)
        st = store_run(s, store_prepare(s, e, "UPDATE users SET disabled = ?, updated_at = "
                                        STORE_NOW " WHERE id = ?", "ii", (int64_t)u->disabled,
                                        a->id), e);
    if (st == STORE_OK) st = end_sessions(s, a->id, e);
    a->detail = name_detail(u->name);
    return st;
}

store_status store_user_passwd(store *s, const store_actor *by, const char *name,
                               const char *password, store_error *e) {
    char hash[crypto_pwhash_STRBYTES];
    const store_status st = hash_password(password, hash, e);
    if (st != STORE_OK) return st;
    user_args u = {.name = name, .hash = hash};
    action a = {.name = "user.passwd", .ctx = &u};
    return store_transact(s, by, user_update, &a, e);
}

store_status store_user_set_disabled(store *s, const store_actor *by, const char *name,
                                     bool disabled, store_error *e) {
    user_args u = {.name = name, .disabled = disabled};
    action a = {.name = disabled ? "user.disable" : "user.enable", .ctx = &u};
    return store_transact(s, by, user_update, &a, e);
}

static store_status list_rows(store *s, action *a, store_error *e) {
    const char *const *q = a->ctx; /* {key, sql} */
    cJSON *rows = store_rows(s, store_prepare(s, e, q[1], ""), e);
    if (!rows) return e ? e->status : STORE_FAILED;
    *a->out = cJSON_CreateObject();
    cJSON_AddItemToObject(*a->out, q[0], rows);
    return STORE_OK;
}

store_status store_user_list(store *s, const store_actor *by, cJSON **out, store_error *e) {
    static const char *const q[] = {"users", "SELECT id, name, display_name, role, disabled, "
                                    "created_at, last_login FROM users ORDER BY name"};
    *out = NULL;
    action a = {.name = "user.list", .view = true, .ctx = (void *)q, .out = out};
    return store_transact(s, by, list_rows, &a, e);
}

/* ---------------------------------------------------------------------------------------------
 * Sessions
 * ------------------------------------------------------------------------------------------- */

/* Seconds until a throttled name or address may try again (0: it may now). */
static store_status throttled(store *s, const char *name, const char *ip, int *retry_s,
                              store_error *e) {
    char since[32];
    store_time(-THROTTLE_WINDOW_S, since);
    /* failures since the name's last success, and all failures from the address, in the
     * window; the oldest counted failure leaves the window first */
    cJSON *rows = LOCKED_ROWS(s, e,
        "SELECT (SELECT count(*) FROM login_attempts WHERE name = ?1 AND ok = 0 AND at > ?3 AND "
        "id > coalesce((SELECT max(id) FROM login_attempts WHERE name = ?1 AND ok = 1), 0)) AS "
        "by_name, (SELECT count(*) FROM login_attempts WHERE ip = ?2 AND ok = 0 AND at > ?3) AS "
        "by_ip, (SELECT min(at) FROM login_attempts WHERE (name = ?1 OR ip = ?2) AND ok = 0 AND "
        "at > ?3) AS oldest", "ttt", name, ip, since);
    if (!rows) return e ? e->status : STORE_FAILED;
    const cJSON *r = cJSON_GetArrayItem(rows, 0);
    const bool limited = cJSON_GetObjectItem(r, "by_name")->valuedouble >= MAX_FAILS_PER_NAME ||
                         cJSON_GetObjectItem(r, "by_ip")->valuedouble >= MAX_FAILS_PER_IP;
    *retry_s = 0;
    const cJSON *oldest = cJSON_GetObjectItem(r, "oldest");
    if (limited && cJSON_IsString(oldest)) {
        struct tm tm = {0};
        strptime(oldest->valuestring, "%Y-%m-%dT%H:%M:%S", &tm);
        const long left = (long)(timegm(&tm) + THROTTLE_WINDOW_S - time(NULL));
        *retry_s = left > 1 ? (int)left : 1;
    }
    cJSON_Delete(rows);
    return STORE_OK;
}

typedef struct login_args {
    const char *name, *ip, *user_json; /* the user's row, or NULL when the check failed */
    int64_t user_id;
    int ttl_s;
    char *token, *csrf;
} login_args;

/* Records the attempt; opens the session when it succeeded. */
static store_status login(store *s, action *a, store_error *e) {
    login_args *l = a->ctx;
    char day_ago[32];
    store_time(-86400, day_ago);
    store_status st = store_run(s, store_prepare(s, e, "DELETE FROM login_attempts WHERE at < ?",
                                                 "t", day_ago), e);
    if (st == STORE_OK)
        st = store_run(s, store_prepare(s, e, "INSERT INTO login_attempts (name, ip, ok) VALUES "
                                        "(?, ?, ?)", "tti", l->name, l->ip,
                                        (int64_t)(l->user_id > 0)), e);
    a->id = l->user_id;
    a->detail = name_detail(l->name);
    if (st != STORE_OK || l->user_id == 0) return st;
    char hash[65], expires[32];
    sha256_hex(l->token, hash);
    store_time(l->ttl_s, expires);
    st = store_run(s, store_prepare(s, e, "INSERT INTO sessions (token_hash, user_id, csrf, ip, "
                                    "expires_at) VALUES (?, ?, ?, ?, ?)", "tittt", hash,
                                    l->user_id, l->csrf, l->ip, expires), e);
    if (st == STORE_OK)
        st = store_run(s, store_prepare(s, e, "UPDATE users SET last_login = " STORE_NOW
                                        " WHERE id = ?", "i", l->user_id), e);
    return st;
}

static void fill_user(const cJSON *u, store_actor *out) {
    out->user_id = (int64_t)cJSON_GetObjectItem(u, "id")->valuedouble;
    snprintf(out->name, sizeof out->name, "%s", cJSON_GetObjectItem(u, "name")->valuestring);
    snprintf(out->display_name, sizeof out->display_name, "%s",
             cJSON_GetObjectItem(u, "display_name")->valuestring);
    snprintf(out->role, sizeof out->role, "%s", cJSON_GetObjectItem(u, "role")->valuestring);
}

store_status store_login(store *s, const char *name, const char *password, const char *ip,
                         int ttl_s, char token[64], store_actor *out, store_error *e) {
    *out = (store_actor){0};
    token[0] = '\0';
    if (!name || !password || strlen(name) > 64 || strlen(password) > 1024)
        return store_fail(e, STORE_DENIED, "wrong user name or password");
    int retry_s = 0;
    store_status st = throttled(s, name, ip, &retry_s, e);
    if (st != STORE_OK) return st;
    if (retry_s) {
        if (e) e->retry_s = retry_s;
        return store_fail(e, STORE_LIMITED, "too many failed sign-ins; try again in %d s",
                          retry_s);
    }
    cJSON *rows = LOCKED_ROWS(s, e, "SELECT id, name, display_name, role, password_hash, "
                              "disabled FROM users WHERE name = ?", "t", name);
    if (!rows) return e ? e->status : STORE_FAILED;
    const cJSON *u = cJSON_GetArrayItem(rows, 0);
    const char *hash = u ? cJSON_GetObjectItem(u, "password_hash")->valuestring : dummy_hash;
    const bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 && u &&
                    cJSON_GetObjectItem(u, "disabled")->valuedouble == 0;
    char csrf[64];
    random_token("", token);
    random_token("", csrf);
    login_args l = {name, ip, NULL, ok ? (int64_t)cJSON_GetObjectItem(u, "id")->valuedouble : 0,
                    ttl_s, token, csrf};
    store_actor who = {.role = "anonymous"};
    snprintf(who.name, sizeof who.name, "%s", name);
    snprintf(who.ip, sizeof who.ip, "%s", ip);
    if (ok) snprintf(who.role, sizeof who.role, "%s", cJSON_GetObjectItem(u, "role")->valuestring);
    action a = {.name = ok ? "user.login" : "user.login_failed", .ctx = &l};
    st = store_transact(s, &who, login, &a, e);
    if (st == STORE_OK && ok) {
        fill_user(u, out);
        snprintf(out->csrf, sizeof out->csrf, "%s", csrf);
        snprintf(out->ip, sizeof out->ip, "%s", ip);
    }
    cJSON_Delete(rows);
    if (st == STORE_OK && !ok) {
        token[0] = '\0';
        return store_fail(e, STORE_DENIED, "wrong user name or password");
    }
    if (st != STORE_OK) token[0] = '\0';
    return st;
}

store_status store_session(store *s, const char *token, store_actor *out, store_error *e) {
    *out = (store_actor){0};
    if (!token || strlen(token) != 43) return store_fail(e, STORE_DENIED, "not signed in");
    char hash[65], now[32];
    sha256_hex(token, hash);
    store_time(0, now);
    cJSON *rows = LOCKED_ROWS(s, e, "SELECT u.id, u.name, u.display_name, u.role, s.csrf FROM "
                              "sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? "
                              "AND s.expires_at > ? AND u.disabled = 0", "tt", hash, now);
    if (!rows) return e ? e->status : STORE_FAILED;
    const cJSON *u = cJSON_GetArrayItem(rows, 0);
    if (u) {
        fill_user(u, out);
        snprintf(out->csrf, sizeof out->csrf, "%s", cJSON_GetObjectItem(u, "csrf")->valuestring);
    }
    cJSON_Delete(rows);
    return u ? STORE_OK : store_fail(e, STORE_DENIED, "the session has ended: sign in again");
}

static store_status logout(store *s, action *a, store_error *e) {
    char hash[65];
    sha256_hex(a->text, hash);
    a->id = 0;
    return store_run(s, store_prepare(s, e, "DELETE FROM sessions WHERE token_hash = ?", "t", hash),
                     e);
}

store_status store_logout(store *s, const store_actor *by, const char *token, store_error *e) {
    action a = {.name = "user.logout", .text = token ? token : ""};
    return store_transact(s, by, logout, &a, e);
}

/* ---------------------------------------------------------------------------------------------
 * API keys
 * ------------------------------------------------------------------------------------------- */

/* Each comma-separated scope a known one. */
static bool valid_scopes(const char *scopes) {
    char buf[256];
    if (!scopes || !scopes[0] || strlen(scopes) >= sizeof buf) return false;
    snprintf(buf, sizeof buf, "%s", scopes);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!in_list(t, key_scopes)) return false;
    return scopes[strlen(scopes) - 1] != ',' && scopes[0] != ',' && !strstr(scopes, ",,");
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" to the store's form; false if it is neither. */
static bool parse_expiry(const char *in, char out[32]) {
    struct tm tm = {0};
    const char *end = strptime(in, "%Y-%m-%d", &tm);
    if (end && *end == 'T') end = strptime(end, "T%H:%M:%SZ", &tm);
    if (!end || *end) return false;
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    return true;
}

typedef struct key_args {
    const char *name, *scopes, *expires, *hash;
} key_args;

static store_status key_create(store *s, action *a, store_error *e) {
    const key_args *k = a->ctx;
    const store_status st =
        insert_named(s, store_prepare(s, e, "INSERT INTO api_keys (name, secret_hash, scopes, "
                                      "created_by, expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                                      "(name) DO NOTHING RETURNING id", "ttttt", k->name, k->hash,
                                      k->scopes, a->text, k->expires), a, "key", k->name, e);
    if (st == STORE_OK) cJSON_AddStringToObject(a->detail, "scopes", k->scopes);
    return st;
}

store_status store_key_create(store *s, const store_actor *by, const char *name,
                              const char *scopes, const char *expires_at, char secret[64],
                              store_error *e) {
    secret[0] = '\0';
    char expires[32], hash[65];
    if (!valid_name(name))
        return store_fail(e, STORE_INVALID, "a key name is 2 to 64 of a-z 0-9 . _ -");
    if (!valid_scopes(scopes))
        return store_fail(e, STORE_INVALID, "scopes are a comma-separated list of case:read, "
                          "case:write, generate, feedback, stats, audit");
    if (expires_at && !parse_expiry(expires_at, expires))
        return store_fail(e, STORE_INVALID, "the expiry is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ "
                          "(UTC)");
    random_token("wk_", secret);
    sha256_hex(secret, hash);
    key_args k = {name, scopes, expires_at ? expires : NULL, hash};
    action a = {.name = "key.create", .ctx = &k, .text = by->name};
    const store_status st = store_transact(s, by, key_create, &a, e);
    if (st != STORE_OK) secret[0] = '\0';
    return st;
}

store_status store_key_check(store *s, const char *secret, store_actor *out, store_error *e) {
    *out = (store_actor){0};
    if (!secret || strlen(secret) != 46 || strncmp(secret, "wk_", 3) != 0)
        return store_fail(e, STORE_DENIED, "unknown API key");
    char hash[65], now[32];
    sha256_hex(secret, hash);
    store_time(0, now);
    cJSON *rows = LOCKED_ROWS(s, e, "SELECT id, name, scopes, expires_at, revoked_at, CASE WHEN "
                              "expires_at <= ? THEN 1 ELSE 0 END AS expired FROM api_keys WHERE "
                              "secret_hash = ?", "tt", now, hash);
    if (!rows) return e ? e->status : STORE_FAILED;
    const cJSON *k = cJSON_GetArrayItem(rows, 0);
    store_status st = STORE_OK;
    if (!k) st = store_fail(e, STORE_DENIED, "unknown API key");
    else if (!cJSON_IsNull(cJSON_GetObjectItem(k, "revoked_at")))
        st = store_fail(e, STORE_DENIED, "this API key was revoked");
    else if (cJSON_GetObjectItem(k, "expired")->valuedouble != 0)
        st = store_fail(e, STORE_DENIED, "this API key expired at %s",
                        cJSON_GetObjectItem(k, "expires_at")->valuestring);
    if (st == STORE_OK) {
        out->key_id = (int64_t)cJSON_GetObjectItem(k, "id")->valuedouble;
        snprintf(out->name, sizeof out->name, "key:%s", cJSON_GetObjectItem(k, "name")->valuestring);
        snprintf(out->role, sizeof out->role, "key");
        snprintf(out->scopes, sizeof out->scopes, "%s",
                 cJSON_GetObjectItem(k, "scopes")->valuestring);
    }
    cJSON_Delete(rows);
    return st;
}

static store_status key_revoke(store *s, action *a, store_error *e) {
    store_status st = store_run(s, store_prepare(s, e, "UPDATE api_keys SET revoked_at = "
                                                 STORE_NOW " WHERE name = ? AND revoked_at IS "
                                                 "NULL", "t", a->text), e);
    if (st == STORE_OK) st = changed_one(s, "unrevoked key", a->text, e);
    a->detail = name_detail(a->text);
    return st;
}

store_status store_key_revoke(store *s, const store_actor *by, const char *name, store_error *e) {
    action a = {.name = "key.revoke", .text = name ? name : ""};
    return store_transact(s, by, key_revoke, &a, e);
}

store_status store_key_list(store *s, const store_actor *by, cJSON **out, store_error *e) {
    static const char *const q[] = {"keys", "SELECT id, name, scopes, created_at, expires_at, "
                                    "revoked_at, created_by FROM api_keys ORDER BY name"};
    *out = NULL;
    action a = {.name = "key.list", .view = true, .ctx = (void *)q, .out = out};
    return store_transact(s, by, list_rows, &a, e);
}
