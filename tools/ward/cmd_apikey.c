/* cmd_apikey.c: `ward apikey create|list|revoke`: keys for machine clients (an EMR calling the
 * workbench's API). A key has scopes and may expire; its secret is printed once, at creation,
 * and only its SHA-256 is kept. Each change is an audit entry by "cli:LOGIN". */
#include <stdio.h>
#include <string.h>

#include "app/store.h"
#include "cli.h"

static int print_keys(store *s, const store_actor *by) {
    cJSON *o = NULL;
    store_error e = {0};
    if (store_key_list(s, by, &o, &e) != STORE_OK) return cli_fail("apikey", "%s", e.msg);
    printf("%-20s %-9s %-25s %s\n", "NAME", "STATE", "EXPIRES", "SCOPES");
    const cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItem(o, "keys")) {
        const cJSON *exp = cJSON_GetObjectItem(k, "expires_at");
        printf("%-20s %-9s %-25s %s\n", cJSON_GetObjectItem(k, "name")->valuestring,
               cJSON_IsNull(cJSON_GetObjectItem(k, "revoked_at")) ? "active" : "revoked",
               cJSON_IsString(exp) ? exp->valuestring : "never",
               cJSON_GetObjectItem(k, "scopes")->valuestring);
    }
    cJSON_Delete(o);
    return 0;
}

int cmd_apikey(int argc, char **argv) {
    const char *db = "ward-workbench.db", *scopes = NULL, *expires = NULL;
    const cli_opt opts[] = {
        {"db", 0, CLI_STR, &db, "FILE|URI", "the workbench's records: an SQLite file (default ward-workbench.db here) or postgresql://...", 0, 0},
        {"scopes", 0, CLI_STR, &scopes, "LIST", "create: comma-separated: case:read, case:write, generate, feedback, stats, audit", 0, 0},
        {"expires", 0, CLI_STR, &expires, "WHEN", "create: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); after it the key is refused (default: never)", 0, 0},
    };
    const cli_cmd cmd = {
        "apikey", "(create NAME --scopes LIST [--expires WHEN] | list | revoke NAME) [--db FILE|URI]",
        "Manage API keys for machine clients of the workbench's API (docs/security.md). A client "
        "sends 'Authorization: Bearer KEY'; it may do what its scopes allow and nothing else "
        "(signing discharge records is a doctor's act: no key may). create prints the key once.",
        "Example:\n  ward apikey create emr --scopes case:read,case:write,generate --expires 2027-06-30\n",
        opts, (int)(sizeof opts / sizeof opts[0]), 2};
    const char *pos[2] = {0};
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    const char *action = n_pos ? pos[0] : "", *name = n_pos > 1 ? pos[1] : NULL;
    const bool list = strcmp(action, "list") == 0, create = strcmp(action, "create") == 0;
    if (!list && !create && strcmp(action, "revoke") != 0)
        return cli_fail("apikey", "an action: create, list or revoke"), 2;
    if (!list && !name) return cli_fail("apikey", "'%s' needs a key name", action), 2;
    if (create && !scopes) return cli_fail("apikey", "create needs --scopes"), 2;
    store *s = NULL;
    store_error e = {0};
    if (store_open(db, &s, &e) != STORE_OK) return cli_fail("apikey", "%s", e.msg);
    store_actor by;
    store_cli_actor(&by);
    char secret[64];
    store_status st = STORE_OK;
    if (list) rc = print_keys(s, &by);
    else if (create) st = store_key_create(s, &by, name, scopes, expires, secret, &e);
    else st = store_key_revoke(s, &by, name, &e);
    store_close(s);
    if (st != STORE_OK) return cli_fail("apikey", "%s", e.msg);
    if (create) {
        printf("%s\n", secret);
        fprintf(stderr, "ward apikey: key '%s' created; it is shown only this once\n", name);
    }
    return rc;
}
