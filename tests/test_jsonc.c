/* test_jsonc.c: the structured-output matcher (src/server/jsonc.c).
 *
 * - Schemas it cannot enforce are refused naming the keyword (never silently unconstrained).
 * - Canonical documents (properties in schema order, all present) are accepted byte by byte and
 *   complete; documents breaking the schema are refused.
 * - Random walks (each step a random byte among those the matcher accepts) always end within a
 *   bound set by the schema's limits, and what they write parses as JSON (cJSON, an independent
 *   parser) with the schema's shape; in json_object mode, an object.
 * - The token mask over a real vocabulary equals feeding every token's bytes one by one.
 * - Tool calls (jc_compile_tools) in Qwen2.5's and GLM-4's syntax: calls of the declared tools
 *   with valid arguments are accepted and may end after each call; other names, bad
 *   arguments and text where a call is required are refused; with text allowed, a reply that
 *   leaves every call's start is set free. Random walks through the required-call grammar,
 *   read back by the tool-call parser (toolcall.c), give 1 to 3 calls of the declared tools
 *   whose arguments cJSON parses with the declared shape.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "server/jsonc.h"
#include "server/toolcall.h"

static jc_schema *compile(const char *json, char *err, size_t cap) {
    cJSON *sch = json ? cJSON_Parse(json) : NULL;
    jc_schema *s = NULL;
    if (json && !sch) snprintf(err, cap, "test schema is not JSON");
    else if (!jc_compile(sch, &s, err, cap)) s = NULL;
    cJSON_Delete(sch);
    return s;
}

static void test_refusals(void) {
    static const struct { const char *schema, *named; } cases[] = {
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"x\"}}}", "pattern"},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"anyOf\":[]}}}", "anyOf"},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/x\"}}}", "$ref"},
        {"{\"type\":\"array\"}", "root"},
        {"{\"type\":\"object\",\"required\":[\"b\"],\"properties\":{\"a\":{\"type\":\"null\"}}}", "'b'"},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":[\"number\",\"integer\"]}}}", "start alike"},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}}}", "maxLength"},
        {"{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}", "additionalProperties"},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"date\"}}}", "date"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[300] = "";
        jc_schema *s = compile(cases[i].schema, err, sizeof err);
        CHECK(!s && strstr(err, cases[i].named), "refused naming %s: %s", cases[i].named, err);
        jc_free(s);
    }
}

static const char *k_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8},"
    "\"score\":{\"type\":\"number\"},\"count\":{\"type\":\"integer\"},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"ab\",1,true,null]},\"minItems\":1,\"maxItems\":3},"
    "\"ok\":{\"type\":\"boolean\"},\"kind\":{\"const\":\"dx\"},\"note\":{\"type\":[\"string\",\"null\"],\"maxLength\":4},"
    "\"inner\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"null\"}},\"required\":[\"x\"],\"additionalProperties\":false}"
    "},\"required\":[\"name\"],\"additionalProperties\":false}";

static bool accepts(const jc_schema *s, const char *doc) {
    jc_state st;
    jc_start(s, &st);
    return jc_feed_all(s, &st, doc, strlen(doc)) && st.done;
}

static void test_documents(void) {
    char err[300];
    jc_schema *s = compile(k_schema, err, sizeof err);
    CHECK(s != NULL, "the test schema compiles: %s", err);
    if (!s) return;
    static const char *good[] = {
        "{\"name\":\"Li\",\"score\":-0.5e+3,\"count\":0,\"tags\":[\"ab\",1,null],\"ok\":true,"
        "\"kind\":\"dx\",\"note\":null,\"inner\":{\"x\":null}}",
        "{ \"name\" : \"\\u00e9\\n\" ,\n\"score\":12,\"count\":-7,\"tags\":[ \"a\" ],\"ok\":false,"
        "\"kind\":\"dx\",\"note\":\"\xe5\x8c\xbb\xe7\x94\x9f\",\"inner\":{\"x\":null} }",
    };
    static const char *bad[] = {
        "{\"name\":\"\",\"score\":1,\"count\":1,\"tags\":[1],\"ok\":true,\"kind\":\"dx\",\"note\":null,\"inner\":{\"x\":null}}",
        "{\"name\":\"a\",\"score\":1,\"count\":1.5,\"tags\":[1],\"ok\":true,\"kind\":\"dx\",\"note\":null,\"inner\":{\"x\":null}}",
        "{\"name\":\"a\",\"score\":1,\"count\":1,\"tags\":[],\"ok\":true,\"kind\":\"dx\",\"note\":null,\"inner\":{\"x\":null}}",
        "{\"name\":\"a\",\"score\":1,\"count\":1,\"tags\":[1,1,1,1],\"ok\":true,\"kind\":\"dx\",\"note\":null,\"inner\":{\"x\":null}}",
        "{\"name\":\"a\",\"score\":01,\"count\":1,\"tags\":[1],\"ok\":true,\"kind\":\"dx\",\"note\":null,\"inner\":{\"x\":null}}",
        "{\"name\":\"a\",\"score\":1,\"count\":1,\"tags\":[\"b\"],\"ok\":true,\"kind\":\"dx\",\"note\":null,\"inner\":{\"x\":null}}",
        "{\"name\":\"a\",\"score\":1,\"count\":1,\"tags\":[1],\"ok\":true,\"kind\":\"dy\",\"note\":null,\"inner\":{\"x\":null}}",
        "{\"name\":\"a\",\"score\":1,\"count\":1,\"tags\":[1],\"ok\":true,\"kind\":\"dx\",\"note\":\"12345\",\"inner\":{\"x\":null}}",
        "{\"name\":\"a\",\"score\":1,\"count\":1,\"tags\":[1],\"ok\":true,\"kind\":\"dx\",\"note\":null,\"inner\":{\"x\":null},}",
        "{\"name\":\"\xc0\xaf\",\"score\":1,\"count\":1,\"tags\":[1],\"ok\":true,\"kind\":\"dx\",\"note\":null,\"inner\":{\"x\":null}}",
        "{\"name\":\"a\",     \"score\":1}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(accepts(s, good[i]), "accepted: %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!accepts(s, bad[i]), "refused: %s", bad[i]);
    jc_free(s);
}

/* A random byte the state accepts (its copy advanced), or -1 when none. */
static int random_step(const jc_schema *s, jc_state *st, uint64_t *rng) {
    int ok[256], n = 0;
    jc_state t;
    for (int c = 1; c < 256; c++) {
        jc_copy(&t, st);
        if (jc_feed(s, &t, (uint8_t)c)) ok[n++] = c;
    }
    if (!n) return -1;
    const int c = ok[test_rand_u64(rng) % (uint64_t)n];
    jc_feed(s, st, (uint8_t)c);
    return c;
}

static void test_random_walks(const char *schema_json, const char *what, size_t bound) {
    char err[300];
    jc_schema *s = compile(schema_json, err, sizeof err);
    CHECK(s != NULL, "%s compiles: %s", what, err);
    if (!s) return;
    uint64_t rng = 99;
    int finished = 0, parsed = 0, shaped = 0;
    for (int walk = 0; walk < 200; walk++) {
        jc_state st;
        jc_start(s, &st);
        char *doc = malloc(bound + 1);
        size_t n = 0;
        while (!st.done && n < bound) {
            const int c = random_step(s, &st, &rng);
            if (c < 0) break;
            doc[n++] = (char)c;
        }
        doc[n] = '\0';
        finished += st.done;
        cJSON *o = st.done ? cJSON_ParseWithLength(doc, n) : NULL;
        parsed += o != NULL;
        if (o && cJSON_IsObject(o)) {
            const cJSON *tags = cJSON_GetObjectItemCaseSensitive(o, "tags");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
            shaped += schema_json == k_schema
                          ? (cJSON_IsArray(tags) && cJSON_GetArraySize(tags) >= 1 &&
                             cJSON_GetArraySize(tags) <= 3 && cJSON_IsString(name) &&
                             cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "count")) &&
                             cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, "ok")))
                          : 1;
        }
        cJSON_Delete(o);
        free(doc);
    }
    CHECK(finished == 200 && parsed == 200 && shaped == 200,
          "%s: 200 random walks end within %zu bytes (%d), parse (%d), have the shape (%d)", what,
          bound, finished, parsed, shaped);
    jc_free(s);
}

/* The mask over stories260K's vocabulary equals feeding each token alone, at several points of
 * a document. */
static void test_vocab_mask(void) {
    const char *mp = shared_path("models/stories260K.gguf");
    ward_model *m = NULL;
    ward_error e;
    if (!mp || ward_model_open(mp, &m, &e)) return;
    char err[300];
    jc_schema *s = compile(k_schema, err, sizeof err);
    jc_vocab *v = jc_vocab_build(m);
    const int32_t n_vocab = ward_model_get_info(m)->n_vocab;
    bool *allowed = malloc((size_t)n_vocab);
    const char *prefix = "{\"name\":\"Li\",\"score\":-0.5e+3,\"count\":0,\"tags\":[\"ab\",1";
    jc_state st;
    jc_start(s, &st);
    int mismatches = 0, points = 0;
    for (size_t k = 0; k <= strlen(prefix); k += 7, points++) {
        jc_state at;
        jc_start(s, &at);
        jc_feed_all(s, &at, prefix, k);
        const int32_t n_ok = jc_allowed(v, s, &at, allowed);
        int32_t brute = 0;
        for (int32_t t = 0; t < n_vocab; t++) {
            char bytes[256];
            size_t n = 0;
            jc_state one;
            jc_copy(&one, &at);
            const bool ok = !ward_token_to_bytes(m, t, false, bytes, sizeof bytes, &n) && n > 0 &&
                            jc_feed_all(s, &one, bytes, n);
            brute += ok;
            mismatches += ok != allowed[t];
        }
        mismatches += brute != n_ok;
    }
    CHECK(mismatches == 0, "the trie's mask equals token-by-token feeding at %d points", points);
    free(allowed);
    jc_vocab_free(v);
    jc_free(s);
    ward_model_close(m);
}

/* \u escapes: surrogates only in pairs (strict parsers such as cJSON refuse a lone one). */
static void test_surrogates(void) {
    char err[300];
    jc_schema *s = compile(NULL, err, sizeof err);
    if (!s) return;
    CHECK(accepts(s, "{\"a\":\"\\ud83d\\ude00\\u00e9\\uFFFF\"}"), "a surrogate pair is accepted");
    static const char *bad[] = {"{\"a\":\"\\udc00", "{\"a\":\"\\ud83d\"", "{\"a\":\"\\ud83dx",
                                "{\"a\":\"\\ud83d\\u00e9", "{\"a\":\"\\ud83d\\ud83d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jc_state st;
        jc_start(s, &st);
        CHECK(!jc_feed_all(s, &st, bad[i], strlen(bad[i])), "lone surrogate refused: %s", bad[i]);
    }
    jc_free(s);
}

/* Qwen2.5's tool-call syntax (its chat template writes calls this way) and GLM-4's. */
static const ward_chat_tool_syntax k_chatml = {"<tool_call>\n{\"name\": \"", "\", \"arguments\": ",
                                               "}\n</tool_call>", "\n"};
static const ward_chat_tool_syntax k_glm4 = {"", "\n", "", NULL};

static jc_schema *compile_tools(const ward_chat_tool_syntax *syn, int max_calls, bool text,
                                char *err, size_t cap) {
    cJSON *weather = cJSON_Parse("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
                                 "\"string\",\"maxLength\":20},\"unit\":{\"enum\":[\"c\","
                                 "\"f\"]}},\"required\":[\"city\",\"unit\"]}");
    const jc_tool tools[] = {{"get_weather", weather}, {"get_time", NULL}};
    jc_schema *s = NULL;
    if (!jc_compile_tools(syn, tools, 2, max_calls, text, &s, err, cap)) s = NULL;
    cJSON_Delete(weather);
    return s;
}

/* Feeds doc; returns 1 if all taken and the reply may end there, 0 if taken but it may not,
 * -1 if refused. *free_out: the grammar set the reply free. */
static int feed_reply(const jc_schema *s, const char *doc, bool *free_out) {
    jc_state st;
    jc_start(s, &st);
    if (!jc_feed_all(s, &st, doc, strlen(doc))) return -1;
    if (free_out) *free_out = jc_is_free(s, &st);
    return jc_can_end(s, &st) ? 1 : 0;
}

static void test_tool_calls(void) {
    char err[300] = "";
    jc_schema *q = compile_tools(&k_chatml, 3, false, err, sizeof err);
    jc_schema *q1 = compile_tools(&k_chatml, 1, false, err, sizeof err);
    jc_schema *qa = compile_tools(&k_chatml, 3, true, err, sizeof err);
    jc_schema *g = compile_tools(&k_glm4, 3, true, err, sizeof err);
    CHECK(q && q1 && qa && g, "tool grammars compile: %s", err);
    if (q && q1 && qa && g) {
        const char *one = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                          "{\"city\": \"Oslo\", \"unit\": \"c\"}}\n</tool_call>";
        const char *two = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                          "{\"city\":\"Oslo\",\"unit\":\"f\"}}\n</tool_call>\n<tool_call>\n"
                          "{\"name\": \"get_time\", \"arguments\": {\"tz\": [1, {}]}}\n</tool_call>";
        CHECK(feed_reply(q, one, NULL) == 1 && feed_reply(q, two, NULL) == 1,
              "chatml: one call, and two, may end there");
        jc_state st;
        jc_start(q1, &st);
        CHECK(jc_feed_all(q1, &st, one, strlen(one)) && st.done && feed_reply(q1, two, NULL) < 0,
              "chatml, one call allowed: done after it, a second refused");
        CHECK(feed_reply(q, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                            "{\"city\": \"Oslo\"", NULL) == 0,
              "chatml: a call under way may not end");
        static const char *bad[] = {
            "<tool_call>\n{\"name\": \"get_date\"",                          /* unknown tool */
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"unit\"", /* order */
            ("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", "
             "\"unit\": \"k\""),                                               /* enum */
            "<tool_call>\n{\"name\": \"get_time\", \"arguments\": []",         /* not an object */
            "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>x",
            "Hello",                                                           /* text, required */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK(feed_reply(q, bad[i], NULL) < 0, "chatml refuses [%s]", bad[i]);
        bool set_free = false;
        CHECK(feed_reply(qa, "Hello", &set_free) == 0 && set_free, "chatml auto: text is free");
        CHECK(feed_reply(qa, "<tool_x", &set_free) == 0 && set_free,
              "chatml auto: a reply that leaves the call's start is free");
        CHECK(feed_reply(qa, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {",
                         &set_free) == 0 && !set_free, "chatml auto: a call is constrained");
        CHECK(feed_reply(g, "get_weather\n{\"city\": \"\u00e9\", \"unit\": \"f\"}", NULL) == 1 &&
                  feed_reply(g, "get_time\n{}", NULL) == 1 &&
                  feed_reply(g, "get_time\n{}get_time", NULL) < 0,
              "glm4: name, newline, arguments; one call");
        CHECK(feed_reply(g, "\nHi", &set_free) == 0 && set_free, "glm4 auto: text is free");
    }
    jc_free(q), jc_free(q1), jc_free(qa), jc_free(g);
    cJSON *arr = cJSON_Parse("{\"type\":\"array\"}");
    const jc_tool bad_params[] = {{"f", arr}};
    jc_schema *s = NULL;
    CHECK(!jc_compile_tools(&k_chatml, bad_params, 1, 1, false, &s, err, sizeof err) &&
              strstr(err, "tool 'f'") && strstr(err, "object"),
          "parameters that are not an object schema are refused naming the tool: %s", err);
    cJSON_Delete(arr);
}

/* One random reply under the required-call grammar: random accepted bytes, ending where it
 * may (by a coin flip) or must. Returns its length; 0 if it got stuck or ran past cap. */
static size_t random_reply(const jc_schema *s, uint64_t *rng, char *out, size_t cap) {
    jc_state st;
    jc_start(s, &st);
    size_t n = 0;
    while (!st.done && n < cap) {
        if (jc_can_end(s, &st) && test_rand_u64(rng) % 2) break;
        const int c = random_step(s, &st, rng);
        if (c < 0) return 0;
        out[n++] = (char)c;
    }
    return n < cap ? n : 0;
}

/* get_weather's arguments: {"city": string of at most 20 characters, "unit": "c" or "f"}. */
static bool weather_shaped(const cJSON *a) {
    const cJSON *city = cJSON_GetObjectItemCaseSensitive(a, "city");
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(a, "unit");
    return cJSON_IsString(city) && cJSON_IsString(unit) &&
           (!strcmp(unit->valuestring, "c") || !strcmp(unit->valuestring, "f"));
}

static void test_tool_walks(void) {
    char err[300] = "";
    jc_schema *s = compile_tools(&k_chatml, 3, false, err, sizeof err);
    if (!s) return;
    const char *names[] = {"get_weather", "get_time"};
    uint64_t rng = 7;
    int good = 0, calls = 0;
    char *reply = malloc(200000);
    for (int walk = 0; walk < 200; walk++) {
        const size_t n = random_reply(s, &rng, reply, 200000);
        tc_parser p;
        tc_delta d = {0};
        cJSON *merged = NULL;
        tc_init(&p, &k_chatml, names, 2, "call_");
        bool ok = n > 0 && tc_feed(&p, reply, n, &d) && tc_finish(&p, &d) && !d.content &&
                  d.calls && tc_merge(&merged, d.calls);
        const int k = cJSON_GetArraySize(merged);
        ok = ok && k >= 1 && k <= 3;
        for (int i = 0; ok && i < k; i++) {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(merged, i),
                                                               "function");
            const char *name = cJSON_GetObjectItemCaseSensitive(fn, "name")->valuestring;
            cJSON *args = cJSON_Parse(cJSON_GetObjectItemCaseSensitive(fn, "arguments")->valuestring);
            ok = cJSON_IsObject(args) && (strcmp(name, "get_time") == 0 || weather_shaped(args));
            cJSON_Delete(args);
        }
        good += ok;
        calls += k;
        cJSON_Delete(merged);
        tc_delta_free(&d);
        tc_free(&p);
    }
    CHECK(good == 200, "200 random replies under the call grammar read back as 1 to 3 valid calls "
          "(%d did; %d calls)", good, calls);
    free(reply);
    jc_free(s);
}

int main(void) {
    test_refusals();
    test_documents();
    /* bound: 8 properties, strings <= 8 chars (x6 bytes escaped), 3 tags, numbers <= 35 bytes,
     * whitespace <= 4 per gap: well under 1000 bytes */
    test_random_walks(k_schema, "the test schema", 1000);
    test_random_walks(NULL, "json_object mode", 200000);
    test_vocab_mask();
    test_surrogates();
    test_tool_calls();
    test_tool_walks();
    return test_summary();
}
