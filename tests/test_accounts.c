/* test_accounts.c: users, sessions, API keys and sign-in throttling in the store
 * (store_auth.c).
 *
 * Passwords are stored as Argon2id hashes (the column holds "$argon2id$", never the password);
 * a wrong password and an unknown name give the same answer; 5 failures for a name throttle it
 * (the right password too) while other names still sign in; a password change or disabling
 * ends the user's sessions; keys: bad scopes and expiries refused, unknown/revoked/expired
 * keys denied with a message saying which, a good key's scopes come back.
 */
#include <stdio.h>
#include <string.h>

#include "app/db.h"
#include "app/store.h"
#include "harness.h"

static store_actor admin;

static void test_users(store *s) {
    store_error e = {0};
    CHECK(store_user_add(s, &admin, "wang.li", "王丽", "doctor", "long-enough-pw", &e) == STORE_OK,
          "a doctor added: %s", e.msg);
    static const struct { const char *name, *role, *password, *says; store_status want; } bad[] = {
        {"wang.li", "doctor", "long-enough-pw", "exists", STORE_CONFLICT},
        {"Wang", "doctor", "long-enough-pw", "user name", STORE_INVALID},
        {"x", "doctor", "long-enough-pw", "user name", STORE_INVALID},
        {"zhao", "nurse", "long-enough-pw", "role", STORE_INVALID},
        {"zhao", "doctor", "short", "password", STORE_INVALID},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const store_status st = store_user_add(s, &admin, bad[i].name, "", bad[i].role,
                                               bad[i].password, &e);
        CHECK(st == bad[i].want && strstr(e.msg, bad[i].says), "refused %s/%s/%s: %s",
              bad[i].name, bad[i].role, bad[i].password, e.msg);
    }
    cJSON *o = NULL;
    CHECK(store_user_list(s, &admin, &o, &e) == STORE_OK &&
              cJSON_GetArraySize(cJSON_GetObjectItem(o, "users")) == 1, "one user listed");
    char *text = cJSON_PrintUnformatted(o);
    CHECK(text && !strstr(text, "argon2") && !strstr(text, "long-enough"),
          "the list carries no password or hash");
    cJSON_free(text);
    cJSON_Delete(o);
}

static void test_sessions(store *s) {
    store_error e = {0};
    store_actor who;
    char token[64];
    CHECK(store_login(s, "wang.li", "long-enough-pw", "10.1.1.1", 60, token, &who, &e) == STORE_OK &&
              strlen(token) == 43 && !strcmp(who.role, "doctor") &&
              !strcmp(who.display_name, "王丽") && strlen(who.csrf) == 43,
          "sign-in: a 43-character token, the user and a CSRF token: %s", e.msg);
    store_actor again;
    CHECK(store_session(s, token, &again, &e) == STORE_OK && !strcmp(again.csrf, who.csrf) &&
              again.user_id == who.user_id, "the token finds the session");
    char forged[64];
    snprintf(forged, sizeof forged, "%s", token);
    forged[0] = forged[0] == 'A' ? 'B' : 'A';
    CHECK(store_session(s, forged, &again, &e) == STORE_DENIED, "a changed token: denied");
    char t2[64];
    CHECK(store_login(s, "wang.li", "wrong-password", "10.1.1.1", 60, t2, &again, &e) == STORE_DENIED &&
              !t2[0], "a wrong password: denied, no token: %s", e.msg);
    char msg_known[256];
    snprintf(msg_known, sizeof msg_known, "%s", e.msg);
    CHECK(store_login(s, "nobody", "wrong-password", "10.1.1.1", 60, t2, &again, &e) == STORE_DENIED &&
              !strcmp(e.msg, msg_known), "an unknown name: the same answer");
    CHECK(store_user_passwd(s, &admin, "wang.li", "another-long-pw", &e) == STORE_OK &&
              store_session(s, token, &again, &e) == STORE_DENIED,
          "a password change ends the sessions");
    CHECK(store_login(s, "wang.li", "another-long-pw", "10.1.1.1", 60, token, &who, &e) == STORE_OK &&
              store_user_set_disabled(s, &admin, "wang.li", true, &e) == STORE_OK &&
              store_session(s, token, &again, &e) == STORE_DENIED &&
              store_login(s, "wang.li", "another-long-pw", "10.1.1.1", 60, t2, &again, &e) ==
                  STORE_DENIED,
          "disabling ends the sessions and stops sign-in");
    CHECK(store_user_set_disabled(s, &admin, "wang.li", false, &e) == STORE_OK &&
              store_login(s, "wang.li", "another-long-pw", "10.1.1.1", 60, token, &who, &e) == STORE_OK &&
              store_logout(s, &who, token, &e) == STORE_OK &&
              store_session(s, token, &again, &e) == STORE_DENIED,
          "enabled again, signed in, signed out: the token is dead");
    CHECK(store_login(s, "wang.li", "another-long-pw", "10.1.1.1", -1, token, &who, &e) == STORE_OK &&
              store_session(s, token, &again, &e) == STORE_DENIED, "an expired session: denied");
}

static void test_throttle(store *s) {
    store_error e = {0};
    store_actor who;
    char token[64];
    CHECK(store_user_add(s, &admin, "zhou", "", "doctor", "zhou-password", &e) == STORE_OK, "zhou");
    for (int i = 0; i < 5; i++) store_login(s, "zhou", "guess-guess", "10.9.9.9", 60, token, &who, &e);
    CHECK(store_login(s, "zhou", "zhou-password", "10.2.2.2", 60, token, &who, &e) == STORE_LIMITED &&
              e.retry_s > 0 && e.retry_s <= 900,
          "after 5 failures the name is throttled, from any address (retry in %d s)", e.retry_s);
    CHECK(store_login(s, "wang.li", "another-long-pw", "10.1.1.1", 60, token, &who, &e) == STORE_OK,
          "another name still signs in");
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof name, "spray%d", i);
        store_login(s, name, "guess-guess", "10.7.7.7", 60, token, &who, &e);
    }
    CHECK(store_login(s, "wang.li", "another-long-pw", "10.7.7.7", 60, token, &who, &e) == STORE_LIMITED,
          "20 failures from one address throttle the address");
}

static void test_keys(store *s) {
    store_error e = {0};
    char secret[64];
    static const struct { const char *scopes, *expires, *says; } bad[] = {
        {"case:read,sign", NULL, "scopes"}, {"", NULL, "scopes"}, {"case:read,", NULL, "scopes"},
        {"case:read", "tomorrow", "expiry"}, {"case:read", "2026-13-45", "expiry"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(store_key_create(s, &admin, "kk", bad[i].scopes, bad[i].expires, secret, &e) ==
                  STORE_INVALID && strstr(e.msg, bad[i].says) && !secret[0],
              "key refused (%s, %s): %s", bad[i].scopes, bad[i].expires ? bad[i].expires : "-", e.msg);
    char good[64], old[64], gone[64];
    CHECK(store_key_create(s, &admin, "emr", "case:read,generate", "2099-01-01", good, &e) == STORE_OK &&
              store_key_create(s, &admin, "old", "case:read", "2001-01-01T00:00:00Z", old, &e) == STORE_OK &&
              store_key_create(s, &admin, "gone", "stats", NULL, gone, &e) == STORE_OK &&
              store_key_revoke(s, &admin, "gone", &e) == STORE_OK,
          "keys made: %s", e.msg);
    CHECK(store_key_revoke(s, &admin, "gone", &e) == STORE_NOT_FOUND, "revoking twice: not found");
    store_actor k;
    CHECK(store_key_check(s, good, &k, &e) == STORE_OK && !strcmp(k.scopes, "case:read,generate") &&
              !strcmp(k.role, "key") && !strcmp(k.name, "key:emr"), "a good key: its scopes");
    CHECK(store_key_check(s, old, &k, &e) == STORE_DENIED && strstr(e.msg, "expired"),
          "an expired key: %s", e.msg);
    CHECK(store_key_check(s, gone, &k, &e) == STORE_DENIED && strstr(e.msg, "revoked"),
          "a revoked key: %s", e.msg);
    good[10] ^= 1;
    CHECK(store_key_check(s, good, &k, &e) == STORE_DENIED && strstr(e.msg, "unknown"),
          "a changed key: unknown");
}

int main(void) {
    char path[512];
    const char *fresh = test_fresh_db("accounts.db");
    if (!fresh) return test_summary();
    snprintf(path, sizeof path, "%s", fresh);
    store *s = NULL;
    store_error e = {0};
    store_cli_actor(&admin);
    CHECK(store_open(path, &s, &e) == STORE_OK, "store opened: %s", e.msg);
    if (!s) return test_summary();
    test_users(s);
    test_sessions(s);
    test_throttle(s);
    test_keys(s);
    store_close(s);
    /* what is in the database itself */
    db *d = NULL;
    cJSON *rows = NULL;
    char err[256];
    const bool read = db_open(path, NULL, &d, err, sizeof err) &&
                      db_run(d, "SELECT password_hash FROM users WHERE name = 'wang.li'", NULL, 0,
                             &rows, NULL);
    const cJSON *hash = cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "password_hash");
    CHECK(read && cJSON_IsString(hash) && !strncmp(hash->valuestring, "$argon2id$", 10) &&
              !strstr(hash->valuestring, "long-pw"),
          "the password is stored as an Argon2id hash");
    cJSON_Delete(rows);
    db_close(d);
    test_remove_db(path);
    return test_summary();
}
