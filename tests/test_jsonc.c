/* test_jsonc.c: the structured-output matcher (src/server/jsonc.c).
 *
 * - Schemas it cannot enforce are refused naming the keyword (never silently unconstrained).
 * - Canonical documents (properties in schema order, all present) are accepted byte by byte and
 *   complete; documents breaking the schema are refused.
 * - Random walks (each step a random byte among those the matcher accepts) always end within a
 *   bound set by the schema's limits, and what they write parses as JSON (cJSON, an independent
 *   parser) with the schema's shape; in json_object mode, an object.
 * - The token mask over a real vocabulary equals feeding every token's bytes one by one.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "server/jsonc.h"

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

int main(void) {
    test_refusals();
    test_documents();
    /* bound: 8 properties, strings <= 8 chars (x6 bytes escaped), 3 tags, numbers <= 35 bytes,
     * whitespace <= 4 per gap: well under 1000 bytes */
    test_random_walks(k_schema, "the test schema", 1000);
    test_random_walks(NULL, "json_object mode", 200000);
    test_vocab_mask();
    return test_summary();
}
