/* test_prompt.c: the workbench's prompt templates (src/app/prompt.c) and the shipped demo cases.
 *
 * The shipped templates load with their schemas and fill a case as the file says (labels,
 * patient line, department; the differential never sees the case's diagnosis, the discharge
 * record does); broken edits are refused naming the file and the problem (no version, a wrong
 * name, an unknown placeholder, no user part, a schema keyword ward cannot enforce, bad JSON);
 * every shipped demo case is a valid case for the store and fills both templates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/prompt.h"
#include "app/store.h"
#include "harness.h"

#define PROMPTS WARD_SOURCE_DIR "/share/workbench/prompts"

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

static void test_shipped(void) {
    prompt_template *d = NULL, *r = NULL;
    char err[512] = "";
    CHECK(prompt_load(PROMPTS, "differential", &d, err, sizeof err) &&
              !strcmp(d->id, "differential@1"),
          "the differential template loads: %s", err);
    CHECK(prompt_load(PROMPTS, "discharge", &r, err, sizeof err) && !strcmp(r->id, "discharge@1"),
          "the discharge template loads: %s", err);
    if (!d || !r) return;
    cJSON *c = cJSON_Parse("{\"department\":\"心内科\",\"patient\":{\"sex\":\"女\",\"age\":63},"
                           "\"sections\":{\"chief_complaint\":\"胸痛1天\",\"diagnosis\":\"心梗\"},"
                           "\"free_text\":\"补充\"}");
    char *du = prompt_fill(d, d->user, c), *ru = prompt_fill(r, r->user, c);
    CHECK(du && strstr(du, "患者：女，63岁\n科室：心内科") && strstr(du, "【主诉】胸痛1天\n【病历原文】补充") &&
              !strstr(du, "心梗") && !strstr(du, "{{"),
          "the differential is filled without the diagnosis: %s", du ? du : "(null)");
    CHECK(ru && strstr(ru, "【诊断】心梗"), "the discharge record sees the diagnosis");
    free(du), free(ru);
    cJSON_Delete(c);
    c = cJSON_Parse("{\"free_text\":\"x\"}");
    du = prompt_fill(d, d->user, c);
    CHECK(du && strstr(du, "患者：未注明\n科室：未注明"), "missing patient and department say so");
    free(du);
    cJSON_Delete(c);
    prompt_free(d), prompt_free(r);
}

static void test_broken_edits(void) {
    const char *dir = test_tmp_path("prompts");
    char path[1024], schema[1024];
    snprintf(path, sizeof path, "mkdir -p %s", dir);
    CHECK(system(path) == 0, "temp dir");
    snprintf(path, sizeof path, "%s/differential.txt", dir);
    snprintf(schema, sizeof schema, "%s/differential.schema.json", dir);
    static const struct { const char *text, *schema, *says; } cases[] = {
        {"name: differential\n---- user\nx\n", "{\"type\":\"object\"}", "version"},
        {"name: discharge\nversion: 2\n---- user\nx\n", "{\"type\":\"object\"}", "name: differential"},
        {"name: differential\nversion: 2\n---- user\n{{patient}} {{name}}\n", "{\"type\":\"object\"}", "{{name}}"},
        {"name: differential\nversion: 2\n---- system\nx\n", "{\"type\":\"object\"}", "---- user"},
        {"name: differential\nversion: 2\n---- user\nx\n", "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"x\"}}}", "pattern"},
        {"name: differential\nversion: 2\n---- user\nx\n", "{not json", "not valid JSON"},
        {"name: differential\nversion: 2\nauthor: me\n---- user\nx\n", "{\"type\":\"object\"}", "author"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, cases[i].text);
        write_file(schema, cases[i].schema);
        prompt_template *t = NULL;
        char err[512] = "";
        CHECK(!prompt_load(dir, "differential", &t, err, sizeof err) && !t &&
                  strstr(err, cases[i].says),
              "broken template %zu refused naming %s: %s", i, cases[i].says, err);
    }
    write_file(path, "# a comment\nname: differential\nversion: 7\n---- user\n{{case}}\n");
    write_file(schema, "{\"type\":\"object\"}");
    prompt_template *t = NULL;
    char err[512] = "";
    CHECK(prompt_load(dir, "differential", &t, err, sizeof err) && !strcmp(t->id, "differential@7") &&
              !strcmp(t->system, "") && !strcmp(t->user, "{{case}}"),
          "a minimal template (no system part) loads: %s", err);
    prompt_free(t);
    CHECK(!prompt_load("/nonexistent", "differential", &t, err, sizeof err) &&
              strstr(err, "cannot be read"), "a missing file: %s", err);
}

/* Every demo case can be stored and fills both templates with all its sections. */
static void test_demo_cases(void) {
    FILE *f = fopen(WARD_SOURCE_DIR "/share/workbench/demo-cases.json", "rb");
    char *text = calloc(1, 1 << 20);
    const size_t n = f && text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    if (f) fclose(f);
    cJSON *root = cJSON_ParseWithLength(text, n);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    store *s = NULL;
    store_error e = {0};
    prompt_template *d = NULL;
    char err[256];
    store_open(":memory:", &s, &e);
    prompt_load(PROMPTS, "differential", &d, err, sizeof err);
    int stored = 0, filled = 0, departments = 0;
    char seen[2048] = "";
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        int64_t id = 0;
        stored += s && store_case_create(s, &store_system, c, &id, &e) == STORE_OK;
        char *u = d ? prompt_fill(d, d->user, c) : NULL;
        filled += u && strstr(u, "【主诉】") && strstr(u, "【医嘱】") && strstr(u, "岁");
        free(u);
        const char *dept = cJSON_GetObjectItemCaseSensitive(c, "department")->valuestring;
        if (!strstr(seen, dept)) departments++, strncat(seen, dept, sizeof seen - strlen(seen) - 1);
    }
    const int total = cJSON_GetArraySize(cases);
    CHECK(total >= 20 && stored == total && filled == total && departments >= 15,
          "%d demo cases, %d stored, %d filled, %d departments", total, stored, filled, departments);
    prompt_free(d);
    store_close(s);
    cJSON_Delete(root);
    free(text);
}

int main(void) {
    test_shipped();
    test_broken_edits();
    test_demo_cases();
    return test_summary();
}
