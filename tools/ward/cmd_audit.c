/* cmd_audit.c: `ward audit verify|list`: the workbench's audit trail. verify recomputes the
 * hash chain (store_audit_verify) and names every altered, removed or out-of-place entry,
 * exiting 1 when there is any; --expect N:HASH also checks the head against a copy kept
 * elsewhere (an earlier verify's output), which catches a trail cut short and re-chained. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/store.h"
#include "cli.h"

static int verify(store *s, const char *expect) {
    cJSON *o = NULL;
    store_error e = {0};
    if (store_audit_verify(s, &o, &e) != STORE_OK) return cli_fail("audit", "%s", e.msg);
    const cJSON *problems = cJSON_GetObjectItem(o, "problems"), *p;
    const long long n = (long long)cJSON_GetObjectItem(o, "entries")->valuedouble;
    const char *head = cJSON_GetObjectItem(o, "head")->valuestring;
    int bad = cJSON_GetArraySize(problems);
    cJSON_ArrayForEach(p, problems)
        printf("entry %lld: %s\n", (long long)cJSON_GetObjectItem(p, "entry")->valuedouble,
               cJSON_GetObjectItem(p, "problem")->valuestring);
    if (expect) {
        char *colon = strchr(expect, ':');
        const long long want = colon ? strtoll(expect, NULL, 10) : -1;
        if (!colon || want < 0) {
            cJSON_Delete(o);
            return cli_fail("audit", "--expect is N:HASH (from an earlier verify)"), 2;
        }
        if (want > n) {
            printf("entries %lld to %lld: removed (the trail ends before the expected head)\n",
                   n + 1, want);
            bad++;
        } else if (want == n && strcmp(colon + 1, head) != 0) {
            printf("entry %lld: the head differs from the expected one (the trail was rewritten)\n", n);
            bad++;
        }
    }
    printf("%s: %lld entries, head %lld:%s\n", bad ? "FAILED" : "ok", n, n, head);
    cJSON_Delete(o);
    return bad ? 1 : 0;
}

static int list(store *s, const store_audit_query *q) {
    store_actor by;
    store_cli_actor(&by);
    cJSON *o = NULL;
    store_error e = {0};
    if (store_audit_search(s, &by, q, &o, &e) != STORE_OK) return cli_fail("audit", "%s", e.msg);
    const cJSON *en;
    cJSON_ArrayForEach(en, cJSON_GetObjectItem(o, "entries")) {
        char *detail = cJSON_PrintUnformatted(cJSON_GetObjectItem(en, "detail"));
        printf("%lld\t%s\t%s\t%s\t%s\t%s %lld\t%s\n",
               (long long)cJSON_GetObjectItem(en, "id")->valuedouble,
               cJSON_GetObjectItem(en, "at")->valuestring,
               cJSON_GetObjectItem(en, "actor")->valuestring,
               cJSON_GetObjectItem(en, "role")->valuestring,
               cJSON_GetObjectItem(en, "action")->valuestring,
               cJSON_GetObjectItem(en, "object")->valuestring,
               (long long)cJSON_GetObjectItem(en, "object_id")->valuedouble,
               detail ? detail : "");
        free(detail);
    }
    cJSON_Delete(o);
    return 0;
}

int cmd_audit(int argc, char **argv) {
    const char *db = "ward-workbench.db", *expect = NULL;
    store_audit_query q = {.limit = 100};
    const cli_opt opts[] = {
        {"db", 0, CLI_STR, &db, "FILE|URI", "the workbench's records: an SQLite file (default ward-workbench.db here) or postgresql://...", 0, 0},
        {"expect", 0, CLI_STR, &expect, "N:HASH", "verify: the head an earlier verify printed; a trail with fewer entries, or another hash at N, fails", 0, 0},
        {"actor", 0, CLI_STR, &q.actor, "NAME", "list: only this actor's entries", 0, 0},
        {"action", 0, CLI_STR, &q.action, "PREFIX", "list: only actions starting so (case.view, discharge., user.login_failed)", 0, 0},
        {"object", 0, CLI_STR, &q.object, "KIND", "list: only entries on this kind of record (case, generation, discharge, user, key)", 0, 0},
        {"from", 0, CLI_STR, &q.from, "TIME", "list: entries at or after TIME (ISO 8601 UTC, e.g. 2026-11-01)", 0, 0},
        {"to", 0, CLI_STR, &q.to, "TIME", "list: entries at or before TIME", 0, 0},
        {"limit", 'n', CLI_INT, &q.limit, "N", "list: at most N entries, newest first (default 100)", 1, 1000},
    };
    const cli_cmd cmd = {
        "audit", "(verify [--expect N:HASH] | list [filters]) [--db FILE|URI]",
        "The audit trail: every view and change of a patient's record, generation, export, "
        "sign-in and account change, with who, when and from where, each entry chained to the "
        "one before by SHA-256. verify checks every entry and link and prints the head "
        "(N:HASH); keep that line somewhere else (a ticket, another machine) and pass it to a "
        "later verify with --expect. Exit status: 0 intact, 1 tampered (each problem named), "
        "2 usage.",
        "list prints tab-separated: id, time, actor, role, action, record, detail. Listing is "
        "itself recorded.\n",
        opts, (int)(sizeof opts / sizeof opts[0]), 1};
    const char *pos[1] = {0};
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    const char *action = n_pos ? pos[0] : "";
    if (strcmp(action, "verify") != 0 && strcmp(action, "list") != 0)
        return cli_fail("audit", "an action: verify or list"), 2;
    store *s = NULL;
    store_error e = {0};
    if (store_open(db, &s, &e) != STORE_OK) return cli_fail("audit", "%s", e.msg);
    rc = strcmp(action, "verify") == 0 ? verify(s, expect) : list(s, &q);
    store_close(s);
    return rc;
}
