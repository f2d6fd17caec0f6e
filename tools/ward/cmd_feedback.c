/* cmd_feedback.c: `ward feedback export`: the doctors' feedback in the workbench's records as
 * data that may leave the clinical record, always de-identified (privacy/deid.h): --format dpo
 * writes preference pairs (prompt, chosen, rejected) as JSON lines: picked answers over
 * unpicked ones, up-voted over down-voted, signed discharge records over the drafts the doctor
 * changed; --format errors writes the error reports with the answers they are about (store.h,
 * store_export). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/store.h"
#include "cli.h"
#include "privacy/deid.h"

/* The de-identification settings: defaults, or a config file's. */
static bool load_deid(const char *path, deid_config *c) {
    deid_config_init(c);
    if (!path) return true;
    char *text = cli_read_file(path);
    deid_error e = {0};
    const bool ok = text && deid_config_parse(c, text, strlen(text), &e) == DEID_OK;
    if (!ok) cli_fail("feedback", "%s: %s", path, text ? e.msg : "cannot read it");
    free(text);
    return ok;
}

int cmd_feedback(int argc, char **argv) {
    const char *db = "ward-workbench.db", *format = "dpo", *output = NULL, *deid_path = NULL;
    const cli_opt opts[] = {
        {"db", 0, CLI_STR, &db, "FILE|URI", "the workbench's records: an SQLite file (default ward-workbench.db here) or postgresql://...", 0, 0},
        {"format", 'f', CLI_STR, &format, "NAME", "dpo: preference pairs; errors: error reports with their answers (default dpo)", 0, 0},
        {"output", 'o', CLI_STR, &output, "FILE", "write to FILE (default: standard output)", 0, 0},
        {"deid-config", 0, CLI_STR, &deid_path, "FILE", "de-identification settings (JSON, docs/deid.md): types, placeholders, extra names (default: every type)", 0, 0},
    };
    const cli_cmd cmd = {
        "feedback", "export [--format dpo|errors] [--db FILE|URI] [-o FILE] [--deid-config FILE]",
        "Export the doctors' feedback recorded by the workbench. --format dpo: JSON lines "
        "{prompt, chosen, rejected, source, case_id, chosen_model, rejected_model, template}: a "
        "picked differential over an unpicked one of the same case and prompt (source pick), an "
        "up-voted answer over a down-voted one (vote), a signed discharge record over the draft "
        "the doctor changed (edit). --format errors: JSON lines {category, note, output, prompt, "
        "case_id, model, template, task, created_at}.",
        "Every text field is de-identified: names, ID, phone and record numbers, addresses,\n"
        "employers, ages over 89 become typed placeholders ([姓名], ...) and each case's dates\n"
        "move by its own number of days, kept with the case. The export is an audit entry.\n",
        opts, (int)(sizeof opts / sizeof opts[0]), 1};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (n_pos != 1 || strcmp(pos[0], "export") != 0)
        return cli_fail("feedback", "the action is 'export' (ward feedback export --help)"), 2;
    const bool dpo = strcmp(format, "dpo") == 0;
    if (!dpo && strcmp(format, "errors") != 0)
        return cli_fail("feedback", "unknown format '%s' (dpo, errors)", format), 2;
    deid_config deid;
    if (!load_deid(deid_path, &deid)) return deid_config_free(&deid), 1;
    store *s = NULL;
    store_error e = {0};
    if (store_open(db, &s, &e) != STORE_OK) {
        deid_config_free(&deid);
        return cli_fail("feedback", "%s", e.msg);
    }
    FILE *f = output ? fopen(output, "w") : stdout;
    int n = 0;
    store_status st = STORE_FAILED;
    if (f) {
        store_actor by;
        store_cli_actor(&by);
        st = store_export(s, &by, dpo ? STORE_EXPORT_DPO : STORE_EXPORT_ERRORS, &deid, f, &n, &e);
    }
    const bool closed = f && (!output || fclose(f) == 0);
    store_close(s);
    deid_config_free(&deid);
    if (!f) return cli_fail("feedback", "cannot write %s", output);
    if (st != STORE_OK || !closed)
        return cli_fail("feedback", "%s", st != STORE_OK ? e.msg : "writing the output failed");
    fprintf(stderr, "ward feedback: %d %s, de-identified\n", n, dpo ? "preference pairs" : "error reports");
    return 0;
}
