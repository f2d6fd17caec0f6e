/* test_deid_heldout.c: de-identification measured on the held-out labelled set
 * (tests/data/deid/eval.jsonl: 84 fictional records, 567 spans, written apart from the detector
 * by someone who never saw its code; eval_README.md). Nobody tunes on it: when a number here
 * moves, it is because the detector changed for reasons found elsewhere.
 *
 * Recall counts a gold span as found when a span of the same type overlaps it (the text
 * under it is replaced either way). Bars: issue 10's targets where they are met (ID, phone:
 * 100%; address: >= 95%); for names and record numbers, whose targets (>= 95%, 100%) are NOT
 * met yet, the bar is the measured recall, so a change that loses ground fails while the gap
 * stays visible in the printed table. Measured 2026-11-26: names 71.7% and record numbers 86.5%
 * with the first detector; 87.9% and 88.5% after rules written from a second development set
 * (tests/data/deid/dev2.jsonl) by someone who never saw this set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "privacy/deid.h"

static const struct {
    const char *type;
    double min_recall;
} bars[] = {
    {"id_number", 1.0}, {"phone", 1.0}, {"address", 0.95},
    {"record_number", 46.0 / 52}, /* target 1.0: short (46 of 52 found) */
    {"name", 196.0 / 223},        /* target 0.95: short (196 of 223 found) */
};

int main(void) {
    FILE *f = fopen(WARD_SOURCE_DIR "/tests/data/deid/eval.jsonl", "rb");
    CHECK(f != NULL, "the held-out set is there");
    if (!f) return test_summary();
    deid_config c;
    deid_config_init(&c);
    deid_score score = {0};
    char *line = NULL;
    size_t cap = 0;
    int records = 0, bad = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *j = cJSON_Parse(line);
        const char *text = NULL;
        deid_span *gold = NULL, *found = NULL;
        size_t n_gold = 0, n_found = 0;
        deid_error e = {0};
        if (!j || deid_gold_from_json(j, &text, &gold, &n_gold, &e) != DEID_OK ||
            deid_find(&c, text, strlen(text), &found, &n_found, &e) != DEID_OK)
            bad++;
        else
            deid_score_add(&score, gold, n_gold, found, n_found);
        records++;
        free(gold), free(found);
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    CHECK(records == 84 && bad == 0, "84 records read and scanned (%d, %d bad)", records, bad);
    printf("%-14s %6s %6s %8s %9s\n", "type", "gold", "found", "recall", "precision");
    for (int t = 0; t < DEID_N_TYPES; t++)
        printf("%-14s %6lld %6lld %7.1f%% %8.1f%%\n", deid_type_name((deid_type)t),
               (long long)score.gold[t], (long long)score.found[t],
               score.gold[t] ? 100.0 * (double)score.gold_hit[t] / (double)score.gold[t] : 0,
               score.found[t] ? 100.0 * (double)score.found_hit[t] / (double)score.found[t] : 0);
    for (size_t i = 0; i < sizeof bars / sizeof bars[0]; i++) {
        deid_type t;
        const bool known = deid_type_from_name(bars[i].type, &t);
        const double r = known && score.gold[t] ? (double)score.gold_hit[t] / (double)score.gold[t] : 0;
        CHECK(known && r + 1e-9 >= bars[i].min_recall, "%s recall %.1f%% >= %.1f%%", bars[i].type,
              100 * r, 100 * bars[i].min_recall);
    }
    deid_config_free(&c);
    return test_summary();
}
