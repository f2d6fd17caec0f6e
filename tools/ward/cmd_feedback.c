/* cmd_feedback.c: `ward feedback export`: the doctors' feedback in the workbench's records as
 * training data. --format dpo writes preference pairs (prompt, chosen, rejected) as JSON lines:
 * picked answers over unpicked ones, up-voted over down-voted, signed discharge records over
 * the drafts the doctor changed (store.h, store_export_dpo). */
#include <stdio.h>
#include <string.h>

#include "app/store.h"
#include "cli.h"

int cmd_feedback(int argc, char **argv) {
    const char *db = "ward-workbench.db", *format = "dpo", *output = NULL;
    const cli_opt opts[] = {
        {"db", 0, CLI_STR, &db, "FILE", "the workbench's records (default ward-workbench.db here)", 0, 0},
        {"format", 'f', CLI_STR, &format, "NAME", "dpo: preference pairs, one JSON object per line (the only format)", 0, 0},
        {"output", 'o', CLI_STR, &output, "FILE", "write to FILE (default: standard output)", 0, 0},
    };
    const cli_cmd cmd = {
        "feedback", "export [--db FILE] [--format dpo] [-o FILE]",
        "Export the doctors' feedback recorded by the workbench as training data: with --format "
        "dpo, JSON lines {prompt, chosen, rejected, source, case_id, chosen_model, "
        "rejected_model, template}: a picked differential over an unpicked one of the same case "
        "and prompt (source pick), an up-voted answer over a down-voted one (vote), a signed "
        "discharge record over the draft the doctor changed (edit).",
        "The pairs hold case text: patient data. Keep the file inside the hospital.\n",
        opts, (int)(sizeof opts / sizeof opts[0]), 1};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (n_pos != 1 || strcmp(pos[0], "export") != 0)
        return cli_fail("feedback", "the action is 'export' (ward feedback export --help)"), 2;
    if (strcmp(format, "dpo") != 0)
        return cli_fail("feedback", "unknown format '%s' (dpo)", format), 2;
    store *s = NULL;
    store_error e = {0};
    if (store_open(db, &s, &e) != STORE_OK) return cli_fail("feedback", "%s", e.msg);
    FILE *f = output ? fopen(output, "w") : stdout;
    if (!f) {
        store_close(s);
        return cli_fail("feedback", "cannot write %s", output);
    }
    int n = 0;
    store_actor by;
    store_cli_actor(&by);
    const store_status st = store_export_dpo(s, &by, f, &n, &e);
    const bool closed = !output || fclose(f) == 0;
    store_close(s);
    if (st != STORE_OK || !closed)
        return cli_fail("feedback", "%s", st != STORE_OK ? e.msg : "writing the output failed");
    fprintf(stderr, "ward feedback: %d preference pairs\n", n);
    return 0;
}
