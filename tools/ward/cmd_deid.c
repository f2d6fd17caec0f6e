/* cmd_deid.c: `ward deid`: de-identify Chinese clinical text (src/privacy/deid.h). Prints each input
 * with placeholders and shifted dates; --json prints the spans found instead; --eval measures the
 * detector against labelled JSON lines (recall and precision per type, overlap and exact).
 *
 * The date shift is one whole number of days for the whole run (all files are taken as one
 * patient's): --shift-days, else the config's shift_days, else a random shift from 1 to 365
 * days drawn from the system's random source and never printed (so the output cannot be shifted
 * back by reading the log). Exit codes: 0 done, 1 a failure (unreadable file, invalid UTF-8, bad
 * JSON), 2 a usage error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "privacy/deid.h"
#include "cli.h"

#define MAX_INPUT ((size_t)256 << 20) /* one input at most 256 MiB */

/* Reads a whole file (path "-" or NULL: standard input) into a malloc'ed, NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len, char *why, size_t cap) {
    FILE *f = path && strcmp(path, "-") != 0 ? fopen(path, "rb") : stdin;
    if (!f) {
        snprintf(why, cap, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, size = 0, got;
    do {
        if (n + 65536 + 1 > size) {
            size = size ? 2 * size : 65536 * 2;
            char *grown = size <= MAX_INPUT ? realloc(buf, size) : NULL;
            if (!grown) {
                snprintf(why, cap, "%s: too large (over %zu MiB) or out of memory",
                         path ? path : "stdin", MAX_INPUT >> 20);
                free(buf);
                if (f != stdin) fclose(f);
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + n, 1, 65536, f);
        n += got;
    } while (got > 0);
    const bool bad = ferror(f);
    if (f != stdin) fclose(f);
    if (bad) {
        snprintf(why, cap, "%s: read error", path ? path : "stdin");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int32_t random_shift(void) {
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16) ^ (uint32_t)clock();
    return (int32_t)(r % 365) + 1;
}

/* --json: {"file", "spans": [{"start", "end", "type", "text"?}]} on one line. */
static int print_spans(const char *file, const char *text, size_t len, const deid_span *s,
                       size_t n, bool with_text) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", file);
    cJSON *arr = cJSON_AddArrayToObject(o, "spans");
    /* character -> byte offsets for the span texts */
    size_t byte = 0;
    int64_t ch = 0;
    for (size_t k = 0; k < n && arr; k++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "start", (double)s[k].start);
        cJSON_AddNumberToObject(j, "end", (double)s[k].end);
        cJSON_AddStringToObject(j, "type", deid_type_name(s[k].type));
        if (with_text) {
            for (; ch < s[k].start && byte < len; ch++)
                do byte++; while (byte < len && ((unsigned char)text[byte] & 0xC0) == 0x80);
            size_t b = byte;
            for (int64_t c = ch; c < s[k].end && b < len; c++)
                do b++; while (b < len && ((unsigned char)text[b] & 0xC0) == 0x80);
            char *piece = strndup(text + byte, b - byte);
            if (piece) cJSON_AddStringToObject(j, "text", piece);
            free(piece);
        }
        cJSON_AddItemToArray(arr, j);
    }
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line) return cli_fail("deid", "out of memory");
    puts(line);
    free(line);
    return 0;
}

static double ratio(int64_t a, int64_t b) { return b ? (double)a / (double)b : 1.0; }

static int run_eval(const deid_config *c, const char *path) {
    char why[512];
    size_t len = 0;
    char *all = slurp(path, &len, why, sizeof why);
    if (!all) return cli_fail("deid", "%s", why);
    deid_score score = {0};
    int records = 0, line_no = 0, rc = 0;
    for (char *line = all, *next; line && *line && rc == 0; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        line_no++;
        if (strspn(line, " \t\r") == strlen(line)) continue;
        cJSON *json = cJSON_Parse(line);
        const char *text = NULL;
        deid_span *gold = NULL, *found = NULL;
        size_t n_gold = 0, n_found = 0;
        deid_error e = {0};
        if (!json) {
            rc = cli_fail("deid", "%s:%d: not valid JSON", path, line_no);
        } else if (deid_gold_from_json(json, &text, &gold, &n_gold, &e) != DEID_OK ||
                   deid_find(c, text, strlen(text), &found, &n_found, &e) != DEID_OK) {
            rc = cli_fail("deid", "%s:%d: %s", path, line_no, e.msg);
        } else {
            deid_score_add(&score, gold, n_gold, found, n_found);
            records++;
        }
        free(gold), free(found);
        cJSON_Delete(json);
    }
    free(all);
    if (rc) return rc;
    printf("%d records from %s\n", records, path);
    printf("%-14s %6s %6s %6s %8s %9s %7s %9s\n", "type", "gold", "found", "hit", "recall",
           "precision", "exact", "exact_p");
    int64_t tg = 0, tf = 0, th = 0, tfh = 0, te = 0, tfe = 0;
    for (int k = 0; k < DEID_N_TYPES; k++) {
        printf("%-14s %6lld %6lld %6lld %7.1f%% %8.1f%% %6.1f%% %8.1f%%\n", deid_type_name((deid_type)k),
               (long long)score.gold[k], (long long)score.found[k], (long long)score.gold_hit[k],
               100 * ratio(score.gold_hit[k], score.gold[k]),
               100 * ratio(score.found_hit[k], score.found[k]),
               100 * ratio(score.gold_exact[k], score.gold[k]),
               100 * ratio(score.found_exact[k], score.found[k]));
        tg += score.gold[k], tf += score.found[k], th += score.gold_hit[k];
        tfh += score.found_hit[k], te += score.gold_exact[k], tfe += score.found_exact[k];
    }
    printf("%-14s %6lld %6lld %6lld %7.1f%% %8.1f%% %6.1f%% %8.1f%%\n", "all", (long long)tg,
           (long long)tf, (long long)th, 100 * ratio(th, tg), 100 * ratio(tfh, tf),
           100 * ratio(te, tg), 100 * ratio(tfe, tf));
    return 0;
}

int cmd_deid(int argc, char **argv) {
    bool json = false, with_text = false;
    const char *types = NULL, *config = NULL, *eval = NULL;
    int32_t shift = INT32_MIN;
    const cli_opt opts[] = {
        {"json", 0, CLI_FLAG, &json, NULL, "print the spans found (one JSON object per input) instead of the text", 0, 0},
        {"with-text", 0, CLI_FLAG, &with_text, NULL, "with --json: add each span's original text (that is PHI: for local checking only)", 0, 0},
        {"types", 't', CLI_STR, &types, "LIST", "comma-separated types to look for (default all): name, id_number, phone, address, record_number, date, age, org", 0, 0},
        {"shift-days", 0, CLI_INT, &shift, "N", "move every exact date by N days (default: the config's shift_days, else random from 1 to 365, not printed)", -DEID_SHIFT_MAX, DEID_SHIFT_MAX},
        {"config", 'c', CLI_STR, &config, "FILE", "JSON config: {types, placeholders, shift_days, names, org_words} (docs/deid.md)", 0, 0},
        {"eval", 0, CLI_STR, &eval, "FILE", "measure against labelled JSON lines {text, spans: [{start, end, type}]} and print recall and precision per type", 0, 0},
    };
    const cli_cmd cmd = {
        "deid", "[options] [FILE...]",
        "Replace protected health information in Chinese clinical text: names [姓名], resident ID "
        "numbers [身份证号], phones [电话], addresses [地址], record and insurance numbers "
        "[病案号], ages over 89 [年龄], employers and schools [单位]; exact dates are shifted by "
        "a number of days instead, keeping their format. Reads the files (standard input when "
        "none) and prints each with the replacements.",
        "Offsets in --json are characters (Unicode code points), not bytes. One date shift is "
        "used for all inputs of a run; give --shift-days (or the config's shift_days) to shift "
        "several runs of the same patient alike. --eval counts a gold span as found when a "
        "predicted span of the same type overlaps it (\"hit\", recall) or matches it exactly "
        "(\"exact\"); precision counts predictions overlapping (or equal to) a gold span of their "
        "type. Hospitals treating the patient and bed numbers are not replaced. The detector is "
        "rule-based: check its output before text leaves the hospital (docs/deid.md).\n",
        opts, (int)(sizeof opts / sizeof opts[0]), 64};
    const char *pos[64];
    int n_pos = 0, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (with_text && !json) return cli_fail("deid", "--with-text needs --json"), 2;
    if (eval && (n_pos || json)) return cli_fail("deid", "--eval takes no input files and no --json"), 2;

    deid_config c;
    deid_config_init(&c);
    deid_error e = {0};
    if (config) {
        char why[512];
        size_t len = 0;
        char *text = slurp(config, &len, why, sizeof why);
        if (!text) return cli_fail("deid", "%s", why);
        const deid_status st = deid_config_parse(&c, text, len, &e);
        free(text);
        if (st != DEID_OK) {
            deid_config_free(&c);
            return cli_fail("deid", "%s: %s", config, e.msg);
        }
    }
    if (types && deid_config_set_types(&c, types, &e) != DEID_OK) {
        deid_config_free(&c);
        return cli_fail("deid", "--types: %s", e.msg), 2;
    }
    if (shift != INT32_MIN) c.shift_days = shift;
    else if (!c.shift_days_set) c.shift_days = random_shift();

    if (eval) {
        rc = run_eval(&c, eval);
        deid_config_free(&c);
        return rc;
    }
    const char *stdin_only[1] = {"-"};
    const char **files = n_pos ? pos : stdin_only;
    const int n_files = n_pos ? n_pos : 1;
    for (int k = 0; k < n_files && rc == 0; k++) {
        const char *name = strcmp(files[k], "-") == 0 ? "-" : files[k];
        char why[512];
        size_t len = 0;
        char *text = slurp(name, &len, why, sizeof why);
        if (!text) {
            rc = cli_fail("deid", "%s", why);
            break;
        }
        deid_span *spans = NULL;
        size_t n = 0;
        char *out = NULL;
        deid_status st = deid_find(&c, text, len, &spans, &n, &e);
        if (st == DEID_OK && json) rc = print_spans(name, text, len, spans, n, with_text);
        else if (st == DEID_OK && (st = deid_apply(&c, text, len, spans, n, &out, &e)) == DEID_OK)
            fputs(out, stdout);
        if (st != DEID_OK) rc = cli_fail("deid", "%s: %s", strcmp(name, "-") ? name : "stdin", e.msg);
        free(out), free(spans), free(text);
    }
    deid_config_free(&c);
    if (fflush(stdout) != 0 && rc == 0) rc = cli_fail("deid", "writing the output failed");
    return rc;
}
