/* test_store.c: the workbench's SQLite records (src/app/store.c).
 *
 * Every record kind round-trips; bad input is refused naming the field, with nothing written
 * (each action is one transaction: a fill-back whose second pick is bad leaves no first pick,
 * no fill-back row and the case unchanged); state rules hold (a finished generation and a
 * signed record do not change); votes keep the latest; search matches Chinese text and treats
 * % and _ literally; a database reopened has everything, at the same schema version, and one
 * from a newer ward is refused. (Killing a live server mid-action: test_workbench.)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/db.h"
#include "app/store.h"
#include "privacy/deid.h"
#include "harness.h"

/* The doctor every action here is by (the audit trail's own tests: test_audit.c). */
static const store_actor D = {.user_id = 1, .name = "zhang", .display_name = "张医生",
                              .role = "doctor"};

static cJSON *json(const char *text) {
    cJSON *v = cJSON_Parse(text);
    CHECK(v != NULL, "test JSON parses: %s", text);
    return v;
}

static int64_t new_case(store *s, const char *text) {
    cJSON *in = json(text);
    int64_t id = 0;
    store_error e = {0};
    CHECK(store_case_create(s, &D, in, &id, &e) == STORE_OK && id > 0, "case created: %s", e.msg);
    cJSON_Delete(in);
    return id;
}

static void expect_refused(store_status got, store_status want, const store_error *e,
                           const char *says, const char *what) {
    CHECK(got == want && strstr(e->msg, says), "%s: status %d (want %d), message [%s] names %s",
          what, got, want, e->msg, says);
}

static const char *section(const cJSON *c, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "sections"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_cases(store *s) {
    store_error e = {0};
    int64_t id = 0;
    static const struct { const char *in, *says; } bad[] = {
        {"{\"title\":\"x\"}", "some text"},
        {"{\"sections\":{\"mood\":\"ok\"}}", "mood"},
        {"{\"sections\":{\"chief_complaint\":1}}", "chief_complaint"},
        {"{\"title\":7,\"free_text\":\"x\"}", "title"},
        {"{\"patient\":\"m\",\"free_text\":\"x\"}", "patient"},
        {"[]", "object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *in = json(bad[i].in);
        expect_refused(store_case_create(s, &D, in, &id, &e), STORE_INVALID, &e, bad[i].says, bad[i].in);
        cJSON_Delete(in);
    }
    const int64_t a = new_case(s, "{\"title\":\"发热待查\",\"department\":\"呼吸内科\",\"patient\":"
                                  "{\"sex\":\"男\",\"age\":45},\"sections\":{\"chief_complaint\":"
                                  "\"发热3天，咳嗽\",\"present_illness\":\"患者3天前受凉后发热\"}}");
    const int64_t b = new_case(s, "{\"title\":\"100% 胸痛_急\",\"free_text\":\"胸痛2小时\"}");
    cJSON *c = NULL;
    CHECK(store_case_get(s, &D, a, &c, &e) == STORE_OK && strcmp(section(c, "chief_complaint"),
                                                             "发热3天，咳嗽") == 0,
          "a case reads back: %s", e.msg);
    cJSON_Delete(c);
    usleep(2000); /* updated_at has millisecond resolution: the update is visibly newer */
    cJSON *patch = json("{\"sections\":{\"physical_exam\":\"T 38.5℃\"},\"title\":\"肺炎?\"}");
    CHECK(store_case_update(s, &D, a, patch, &e) == STORE_OK && store_case_get(s, &D, a, &c, &e) == STORE_OK &&
              strcmp(section(c, "physical_exam"), "T 38.5℃") == 0 &&
              strcmp(section(c, "chief_complaint"), "发热3天，咳嗽") == 0 &&
              strcmp(cJSON_GetObjectItem(c, "title")->valuestring, "肺炎?") == 0,
          "an update merges sections and changes the title: %s", e.msg);
    cJSON_Delete(c);
    cJSON_Delete(patch);
    expect_refused(store_case_get(s, &D, 999, &c, &e), STORE_NOT_FOUND, &e, "999", "a missing case");
    static const struct { const char *q; int total; } searches[] = {
        {"咳嗽", 1}, {"呼吸", 1}, {"", 2}, {"%", 1}, {"_急", 1}, {"心悸", 0}};
    for (size_t i = 0; i < sizeof searches / sizeof searches[0]; i++) {
        cJSON *list = NULL;
        CHECK(store_case_list(s, &D, searches[i].q, 50, 0, &list, &e) == STORE_OK &&
                  cJSON_GetObjectItem(list, "total")->valueint == searches[i].total &&
                  cJSON_GetArraySize(cJSON_GetObjectItem(list, "cases")) == searches[i].total,
              "search [%s] finds %d", searches[i].q, searches[i].total);
        cJSON_Delete(list);
    }
    cJSON *list = NULL;
    CHECK(store_case_list(s, &D, NULL, 1, 0, &list, &e) == STORE_OK &&
              cJSON_GetArrayItem(cJSON_GetObjectItem(list, "cases"), 0) &&
              cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(list, "cases"), 0), "id")
                      ->valueint == a,
          "newest (most recently updated) first, limit 1");
    cJSON_Delete(list);
    expect_refused(store_case_list(s, &D, NULL, 0, 0, &list, &e), STORE_INVALID, &e, "limit", "limit 0");
    (void)b;
}

static int64_t new_generation(store *s, int64_t case_id, const char *task) {
    char text[512];
    snprintf(text, sizeof text, "{\"case_id\":%lld,\"task\":\"%s\",\"model\":\"m1\",\"params\":"
             "{\"seed\":1},\"template\":\"%s@1\",\"prompt\":\"P\"}", (long long)case_id, task, task);
    cJSON *in = json(text);
    int64_t id = 0;
    store_error e = {0};
    CHECK(store_generation_begin(s, &D, in, &id, &e) == STORE_OK && id > 0, "generation begun: %s",
          e.msg);
    cJSON_Delete(in);
    return id;
}

static void test_generations_and_feedback(store *s) {
    store_error e = {0};
    const int64_t c1 = new_case(s, "{\"free_text\":\"腹痛\"}"), c2 = new_case(s, "{\"free_text\":\"头痛\"}");
    int64_t id;
    cJSON *in = json("{\"case_id\":424242,\"task\":\"differential\",\"model\":\"m\",\"template\":\"t@1\",\"prompt\":\"p\"}");
    expect_refused(store_generation_begin(s, &D, in, &id, &e), STORE_NOT_FOUND, &e, "424242", "no such case");
    cJSON_Delete(in);
    in = json("{\"case_id\":1e300,\"task\":\"differential\",\"model\":\"m\",\"template\":\"t@1\",\"prompt\":\"p\"}");
    expect_refused(store_generation_begin(s, &D, in, &id, &e), STORE_INVALID, &e, "case_id",
                   "an id beyond 2^53 (found by fuzz_store: the conversion was undefined)");
    cJSON_Delete(in);
    in = json("{\"case_id\":1,\"task\":\"poem\",\"model\":\"m\",\"template\":\"t@1\",\"prompt\":\"p\"}");
    expect_refused(store_generation_begin(s, &D, in, &id, &e), STORE_INVALID, &e, "task", "unknown task");
    cJSON_Delete(in);
    const int64_t g1 = new_generation(s, c1, "differential"), g2 = new_generation(s, c2, "differential");
    cJSON *fin = json("{\"status\":\"done\",\"output\":\"{\\\"diagnoses\\\":[]}\",\"ttft_ms\":12.5,"
                      "\"total_ms\":300,\"prompt_tokens\":50,\"completion_tokens\":20}");
    CHECK(store_generation_finish(s, g1, fin, &e) == STORE_OK, "finished: %s", e.msg);
    expect_refused(store_generation_finish(s, g1, fin, &e), STORE_CONFLICT, &e, "already",
                   "finishing twice");
    expect_refused(store_generation_finish(s, 9999, fin, &e), STORE_NOT_FOUND, &e, "9999",
                   "finishing a missing generation");
    cJSON_Delete(fin);
    CHECK(store_vote(s, &D, g1, 1, &e) == STORE_OK && store_vote(s, &D, g1, -1, &e) == STORE_OK,
          "votes: %s", e.msg);
    expect_refused(store_vote(s, &D, g1, 2, &e), STORE_INVALID, &e, "vote", "a vote of 2");
    cJSON *report = json("{\"category\":\"omission\",\"text\":\"漏掉了阑尾炎\"}");
    CHECK(store_error_report(s, &D, g1, report, &id, &e) == STORE_OK && id > 0, "report: %s", e.msg);
    cJSON_Delete(report);
    report = json("{\"category\":\"style\"}");
    expect_refused(store_error_report(s, &D, g1, report, &id, &e), STORE_INVALID, &e, "category",
                   "an unknown category");
    cJSON_Delete(report);
    cJSON *g = NULL;
    CHECK(store_generation_get(s, &D, g1, &g, &e) == STORE_OK &&
              cJSON_GetObjectItem(g, "vote")->valueint == -1 &&
              cJSON_GetObjectItem(g, "error_reports")->valueint == 1 &&
              !strcmp(cJSON_GetObjectItem(g, "status")->valuestring, "done") &&
              cJSON_GetObjectItem(cJSON_GetObjectItem(g, "params"), "seed")->valueint == 1 &&
              cJSON_GetObjectItem(g, "completion_tokens")->valueint == 20,
          "the generation reads back with its latest vote and reports");
    cJSON_Delete(g);

    /* a fill-back whose second pick belongs to another case: nothing of it is kept */
    char text[512];
    snprintf(text, sizeof text, "{\"picks\":[{\"generation_id\":%lld,\"diagnosis\":\"急性阑尾炎\","
             "\"rank\":1},{\"generation_id\":%lld,\"diagnosis\":\"偏头痛\"}]}", (long long)g1,
             (long long)g2);
    cJSON *fb = json(text);
    expect_refused(store_fill_back(s, &D, c1, fb, &e), STORE_NOT_FOUND, &e, "not one of",
                   "a pick from another case");
    cJSON_Delete(fb);
    cJSON *c = NULL;
    CHECK(store_case_get(s, &D, c1, &c, &e) == STORE_OK && section(c, "diagnosis") == NULL &&
              store_generation_get(s, &D, g1, &g, &e) == STORE_OK &&
              cJSON_GetObjectItem(g, "picks")->valueint == 0,
          "the refused fill-back left no pick and no diagnosis");
    cJSON_Delete(c), cJSON_Delete(g);
    snprintf(text, sizeof text, "{\"picks\":[{\"generation_id\":%lld,\"diagnosis\":\"急性阑尾炎\","
             "\"rank\":1},{\"generation_id\":%lld,\"diagnosis\":\"肠系膜淋巴结炎\"}]}",
             (long long)g1, (long long)g1);
    fb = json(text);
    CHECK(store_fill_back(s, &D, c1, fb, &e) == STORE_OK && store_fill_back(s, &D, c1, fb, &e) == STORE_OK,
          "fill-backs: %s", e.msg);
    cJSON_Delete(fb);
    CHECK(store_case_get(s, &D, c1, &c, &e) == STORE_OK &&
              !strcmp(section(c, "diagnosis"), "急性阑尾炎\n肠系膜淋巴结炎\n急性阑尾炎\n肠系膜淋巴结炎") &&
              store_generation_get(s, &D, g1, &g, &e) == STORE_OK &&
              cJSON_GetObjectItem(g, "picks")->valueint == 4,
          "picked diagnoses appended to the case, one per line, picks counted");
    cJSON_Delete(c), cJSON_Delete(g);
    cJSON *list = NULL;
    CHECK(store_generation_list(s, c1, &list, &e) == STORE_OK && cJSON_GetArraySize(list) == 1,
          "a case's generations");
    cJSON_Delete(list);
}

static void test_discharge(store *s) {
    store_error e = {0};
    const int64_t c = new_case(s, "{\"free_text\":\"社区获得性肺炎，住院7天\"}");
    const int64_t g = new_generation(s, c, "discharge");
    int64_t id = 0;
    cJSON *partial = json("{\"sections\":{\"discharge_diagnosis\":\"肺炎\"}}");
    expect_refused(store_discharge_create(s, &D, c, partial, &id, &e), STORE_INVALID, &e,
                   "admission_status", "a draft without every section");
    cJSON_Delete(partial);
    char text[1024];
    snprintf(text, sizeof text, "{\"generation_id\":%lld,\"sections\":{\"discharge_diagnosis\":"
             "\"社区获得性肺炎\",\"admission_status\":\"发热咳嗽\",\"treatment_course\":\"头孢曲松\","
             "\"discharge_status\":\"体温正常\",\"discharge_orders\":\"口服药3天\"}}", (long long)g);
    cJSON *draft = json(text);
    CHECK(store_discharge_create(s, &D, c, draft, &id, &e) == STORE_OK && id > 0, "draft: %s", e.msg);
    cJSON_Delete(draft);
    /* a draft written by hand, without a generation (the NULL generation_id binds right) */
    char by_hand[1024];
    snprintf(by_hand, sizeof by_hand, "%s", strstr(text, "\"sections\""));
    memmove(by_hand + 1, by_hand, strlen(by_hand) + 1), by_hand[0] = '{';
    cJSON *manual = json(by_hand), *m = NULL;
    int64_t mid = 0;
    CHECK(store_discharge_create(s, &D, c, manual, &mid, &e) == STORE_OK &&
              store_discharge_get(s, &D, mid, &m, &e) == STORE_OK &&
              cJSON_IsNull(cJSON_GetObjectItem(m, "generation_id")) &&
              !strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "draft"), "treatment_course")->valuestring, "头孢曲松"),
          "a draft without a generation: %s", e.msg);
    cJSON_Delete(manual), cJSON_Delete(m);
    cJSON *edit = json("{\"treatment_course\":\"头孢曲松2g qd×7天\",\"discharge_orders\":\"口服药3天\"}");
    CHECK(store_discharge_edit(s, &D, id, edit, &e) == STORE_OK, "edit: %s", e.msg);
    CHECK(store_discharge_sign(s, &D, id, &e) == STORE_OK, "signed: %s", e.msg);
    expect_refused(store_discharge_edit(s, &D, id, edit, &e), STORE_CONFLICT, &e, "signed",
                   "editing a signed record");
    expect_refused(store_discharge_sign(s, &D, id, &e), STORE_CONFLICT, &e, "already",
                   "signing twice");
    cJSON_Delete(edit);
    cJSON *r = NULL;
    CHECK(store_discharge_get(s, &D, id, &r, &e) == STORE_OK, "read back: %s", e.msg);
    const cJSON *edits = cJSON_GetObjectItem(r, "edits");
    const cJSON *final = cJSON_GetObjectItem(r, "final"), *drf = cJSON_GetObjectItem(r, "draft");
    CHECK(r && !strcmp(cJSON_GetObjectItem(r, "status")->valuestring, "signed") &&
              cJSON_GetArraySize(edits) == 1 &&
              !strcmp(cJSON_GetObjectItem(final, "treatment_course")->valuestring, "头孢曲松2g qd×7天") &&
              !strcmp(cJSON_GetObjectItem(drf, "treatment_course")->valuestring, "头孢曲松") &&
              !strcmp(cJSON_GetObjectItem(r, "signed_by")->valuestring, "张医生"),
          "draft and final both kept, one edit (the unchanged section is none), signer");
    cJSON_Delete(r);
}

static void finish(store *s, int64_t g, const char *output) {
    cJSON *fin = cJSON_CreateObject();
    cJSON_AddStringToObject(fin, "status", "done");
    cJSON_AddStringToObject(fin, "output", output);
    store_error e = {0};
    CHECK(store_generation_finish(s, g, fin, &e) == STORE_OK, "finished: %s", e.msg);
    cJSON_Delete(fin);
}

static double stat_of(const cJSON *rows, const char *model, const char *task, const char *k) {
    const cJSON *r;
    cJSON_ArrayForEach(r, rows)
        if (!strcmp(cJSON_GetObjectItem(r, "model")->valuestring, model) &&
            !strcmp(cJSON_GetObjectItem(r, "task")->valuestring, task))
            return cJSON_GetObjectItem(r, k)->valuedouble;
    return -1;
}

/* The dashboard's numbers and the DPO pairs from a small history whose answers are known:
 * two differentials of one case (the first picked and up-voted, the second down-voted) and a
 * discharge draft whose treatment course the doctor lengthened from 4 characters to 6. */
static void test_stats_and_dpo(void) {
    store *s = NULL;
    store_error e = {0};
    const char *db = test_fresh_db("stats.db");
    if (!db || store_open(db, &s, &e) != STORE_OK) return;
    const int64_t c = new_case(s, "{\"free_text\":\"发热\"}");
    const int64_t g1 = new_generation(s, c, "differential"), g2 = new_generation(s, c, "differential");
    finish(s, g1, "{\"diagnoses\":[{\"name\":\"肺炎\"}]}");
    finish(s, g2, "{\"diagnoses\":[{\"name\":\"感冒\"}]}");
    char text[512];
    snprintf(text, sizeof text, "{\"picks\":[{\"generation_id\":%lld,\"diagnosis\":\"肺炎\"}]}",
             (long long)g1);
    cJSON *fb = json(text);
    store_fill_back(s, &D, c, fb, &e);
    cJSON_Delete(fb);
    store_vote(s, &D, g1, 1, &e), store_vote(s, &D, g2, 1, &e), store_vote(s, &D, g2, -1, &e);
    const int64_t g3 = new_generation(s, c, "discharge");
    const char *sections = "{\"discharge_diagnosis\":\"肺炎\",\"admission_status\":\"发热\","
                           "\"treatment_course\":\"头孢曲松\",\"discharge_status\":\"好转\","
                           "\"discharge_orders\":\"复查\"}";
    finish(s, g3, sections);
    snprintf(text, sizeof text, "{\"generation_id\":%lld,\"sections\":%s}", (long long)g3, sections);
    cJSON *draft = json(text), *edit = json("{\"treatment_course\":\"头孢曲松2g\"}");
    int64_t rid = 0;
    store_discharge_create(s, &D, c, draft, &rid, &e);
    store_discharge_edit(s, &D, rid, edit, &e);
    store_discharge_sign(s, &D, rid, &e);
    cJSON_Delete(draft), cJSON_Delete(edit);

    cJSON *st = NULL;
    CHECK(store_stats(s, &D, &st, &e) == STORE_OK, "stats: %s", e.msg);
    const cJSON *pm = cJSON_GetObjectItem(st, "per_model"), *d = cJSON_GetObjectItem(st, "discharge");
    CHECK(stat_of(pm, "m1", "differential", "generations") == 2 &&
              stat_of(pm, "m1", "differential", "picked") == 1 &&
              stat_of(pm, "m1", "differential", "votes_up") == 1 &&
              stat_of(pm, "m1", "differential", "votes_down") == 1 &&
              stat_of(pm, "m1", "discharge", "done") == 1,
          "per model and task: 2 differentials, 1 picked, 1 up (latest), 1 down, 1 discharge");
    /* one section of five changed: 2 insertions, the final text 6 characters: (2 / 6) / 5 */
    CHECK(d && cJSON_GetObjectItem(d, "drafts")->valuedouble == 1 &&
              cJSON_GetObjectItem(d, "signed")->valuedouble == 1 &&
              cJSON_GetObjectItem(d, "sections_edited")->valuedouble == 0.2 &&
              fabs(cJSON_GetObjectItem(d, "chars_changed")->valuedouble - 2.0 / 6 / 5) < 1e-12,
          "discharge edits: 1 of 5 sections, a third of that one's characters");
    const cJSON *day = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "per_day"), 0);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(st, "per_day")) == 2 &&
              cJSON_GetObjectItem(day, "generations")->valuedouble == 2 &&
              !strcmp(cJSON_GetObjectItem(day, "model")->valuestring, "m1"),
          "per day, task and model: today's differentials by m1 (2), then its discharge draft");
    cJSON_Delete(st);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int n = 0;
    deid_config deid;
    deid_config_init(&deid);
    CHECK(store_export(s, &D, STORE_EXPORT_DPO, &deid, f, &n, &e) == STORE_OK && n == 3,
          "3 DPO pairs (%d): %s", n, e.msg);
    fclose(f);
    int pick = 0, vote = 0, edits = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *o = cJSON_Parse(line);
        const char *src = cJSON_GetObjectItem(o, "source")->valuestring;
        const char *chosen = cJSON_GetObjectItem(o, "chosen")->valuestring;
        const char *rejected = cJSON_GetObjectItem(o, "rejected")->valuestring;
        pick += !strcmp(src, "pick") && strstr(chosen, "肺炎") && strstr(rejected, "感冒");
        vote += !strcmp(src, "vote") && strstr(chosen, "肺炎") && strstr(rejected, "感冒");
        edits += !strcmp(src, "edit") && strstr(chosen, "头孢曲松2g") && !strstr(rejected, "2g") &&
                 !strcmp(cJSON_GetObjectItem(o, "prompt")->valuestring, "P");
        cJSON_Delete(o);
    }
    CHECK(pick == 1 && vote == 1 && edits == 1, "pairs: picked over unpicked, up over down, "
          "signed over draft, each with its prompt");
    free(buf);
    store_close(s);
}

/* An export of one fictional patient's case with an error report: identifiers become
 * placeholders in the prompt, the answer and the doctor's note; the dates move by the case's
 * own shift, the same in every export; the original stays in the case record. */
static void export_text(store *s, store_export_kind kind, char **out) {
    size_t len = 0;
    FILE *f = open_memstream(out, &len);
    int n = 0;
    store_error e = {0};
    deid_config deid;
    deid_config_init(&deid);
    CHECK(store_export(s, &D, kind, &deid, f, &n, &e) == STORE_OK && n == 1, "one record (%d): %s",
          n, e.msg);
    fclose(f);
}

static void test_export_deid(void) {
    store *s = NULL;
    store_error e = {0};
    const char *db = test_fresh_db("deid.db");
    if (!db || store_open(db, &s, &e) != STORE_OK) return;
    static const char phi[] = "患者张伟，男，身份证号11010519491231002X，电话13812345678，"
                              "2023年3月5日入院。";
    char text[512];
    snprintf(text, sizeof text, "{\"free_text\":\"%s\"}", phi);
    const int64_t c = new_case(s, text);
    snprintf(text, sizeof text, "{\"case_id\":%lld,\"task\":\"differential\",\"model\":\"m1\","
             "\"template\":\"differential@1\",\"prompt\":\"病历：%s\"}", (long long)c, phi);
    cJSON *in = cJSON_Parse(text);
    int64_t g = 0;
    CHECK(store_generation_begin(s, &D, in, &g, &e) == STORE_OK, "the case's prompt");
    cJSON_Delete(in);
    finish(s, g, "{\"diagnoses\":[{\"name\":\"肺炎\",\"evidence\":\"张伟 2023年3月5日发热\"}]}");
    snprintf(text, sizeof text, "{\"category\":\"omission\",\"text\":\"张伟的电话13812345678\"}");
    cJSON *report = cJSON_Parse(text);
    int64_t rid;
    CHECK(store_error_report(s, &D, g, report, &rid, &e) == STORE_OK, "error report: %s", e.msg);
    cJSON_Delete(report);
    char *first = NULL, *second = NULL;
    export_text(s, STORE_EXPORT_ERRORS, &first);
    export_text(s, STORE_EXPORT_ERRORS, &second);
    CHECK(first && !strstr(first, "张伟") && !strstr(first, "13812345678") &&
              !strstr(first, "11010519491231002X") && !strstr(first, "2023年3月5日") &&
              strstr(first, "[姓名]") && strstr(first, "[电话]") && strstr(first, "[身份证号]") &&
              strstr(first, "入院"), "the export holds placeholders, not identifiers: %s", first);
    CHECK(first && second && !strcmp(first, second), "the case's dates move by the same days in "
          "every export");
    cJSON *kept = NULL;
    CHECK(store_case_get(s, &D, c, &kept, &e) == STORE_OK &&
              strstr(cJSON_GetObjectItem(kept, "free_text")->valuestring, "张伟"),
          "the case record itself keeps the original");
    cJSON_Delete(kept);
    free(first), free(second);
    store_close(s);
    test_remove_db(db);
}

/* A database keeps everything across reopening; one from a newer ward is refused; one that
 * cannot be opened says why. */
static void test_reopen(void) {
    char path[512];
    const char *fresh = test_fresh_db("store.db");
    if (!fresh) return;
    snprintf(path, sizeof path, "%s", fresh);
    store *s = NULL;
    store_error e = {0};
    CHECK(store_open(path, &s, &e) == STORE_OK && store_schema_version(s) == 3, "opened: %s", e.msg);
    if (!s) return;
    const int64_t id = new_case(s, "{\"free_text\":\"持久化\"}");
    store_close(s);
    CHECK(store_open(path, &s, &e) == STORE_OK && store_schema_version(s) == 3, "reopened");
    cJSON *c = NULL;
    CHECK(s && store_case_get(s, &D, id, &c, &e) == STORE_OK, "the case is still there");
    cJSON_Delete(c);
    store_close(s);
    db *d = NULL;
    char err[256];
    CHECK(db_open(path, NULL, &d, err, sizeof err) && db_set_schema_version(d, 99), "version 99");
    db_close(d);
    expect_refused(store_open(path, &s, &e), STORE_FAILED, &e, "newer", "a newer schema");
    CHECK(s == NULL, "nothing opened");
    test_remove_db(path);
    expect_refused(store_open("/nonexistent-dir/x.db", &s, &e), STORE_FAILED, &e, "cannot open",
                   "an unwritable path");
    expect_refused(store_open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", &s, &e),
                   STORE_FAILED, &e, "cannot connect", "no PostgreSQL server there");
}

int main(void) {
    store *s = NULL;
    store_error e = {0};
    const char *db = test_fresh_db("cases.db");
    CHECK(db && store_open(db, &s, &e) == STORE_OK, "store opened (%s): %s",
          test_on_postgres() ? "PostgreSQL" : "SQLite", e.msg);
    if (s) {
        test_cases(s);
        test_generations_and_feedback(s);
        test_discharge(s);
        store_close(s);
    }
    test_stats_and_dpo();
    test_export_deid();
    test_reopen();
    return test_summary();
}
