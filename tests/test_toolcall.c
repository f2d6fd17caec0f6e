/* test_toolcall.c: reading tool calls out of streamed replies (src/server/toolcall.c).
 *
 * The expected calls are the replies' own substrings, written by hand in Qwen2.5's syntax (as
 * its chat template renders calls) and GLM-4's (name, newline, arguments). Every reply is fed
 * whole and in every chunk size from 1 to 9 bytes: the merged calls and the content must not
 * depend on where the chunks fall, and no byte of the call syntax may leak into the content.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "server/toolcall.h"

static const ward_chat_tool_syntax k_chatml = {"<tool_call>\n{\"name\": \"", "\", \"arguments\": ",
                                               "}\n</tool_call>", "\n"};
static const ward_chat_tool_syntax k_glm4 = {"", "\n", "", NULL};
static const char *const k_names[] = {"get_weather", "get_time"};

typedef struct expect {
    const char *content;   /* NULL: none */
    int n_calls;
    const char *name[2], *args[2];
} expect;

/* Feeds reply in chunks of `chunk` bytes (0: whole); compares with e. */
static bool parse_matches(const ward_chat_tool_syntax *syn, const char *reply, size_t chunk,
                          const expect *e) {
    tc_parser p;
    tc_init(&p, syn, k_names, 2, "call_t_");
    char *content = NULL;
    cJSON *calls = NULL;
    bool ok = true;
    const size_t n = strlen(reply), step = chunk ? chunk : n;
    for (size_t at = 0; ok && at <= n; at += step) {
        tc_delta d = {0};
        const size_t k = n - at < step ? n - at : step;
        ok = tc_feed(&p, reply + at, k, &d) && (at + step <= n || tc_finish(&p, &d)) &&
             (!d.calls || tc_merge(&calls, d.calls));
        if (d.content) {
            const size_t had = content ? strlen(content) : 0;
            content = realloc(content, had + strlen(d.content) + 1);
            strcpy(content + had, d.content);
        }
        tc_delta_free(&d);
    }
    ok = ok && (e->content ? content && strcmp(content, e->content) == 0 : content == NULL);
    ok = ok && cJSON_GetArraySize(calls) == e->n_calls && p.n_calls == e->n_calls;
    for (int i = 0; ok && i < e->n_calls; i++) {
        const cJSON *c = cJSON_GetArrayItem(calls, i);
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        char id[32];
        snprintf(id, sizeof id, "call_t_%d", i);
        ok = !strcmp(cJSON_GetObjectItemCaseSensitive(c, "id")->valuestring, id) &&
             !strcmp(cJSON_GetObjectItemCaseSensitive(c, "type")->valuestring, "function") &&
             !strcmp(cJSON_GetObjectItemCaseSensitive(fn, "name")->valuestring, e->name[i]) &&
             !strcmp(cJSON_GetObjectItemCaseSensitive(fn, "arguments")->valuestring, e->args[i]) &&
             !cJSON_GetObjectItemCaseSensitive(c, "index");
    }
    free(content);
    cJSON_Delete(calls);
    tc_free(&p);
    return ok;
}

static void expect_parse(const ward_chat_tool_syntax *syn, const char *reply, const expect *e) {
    for (size_t chunk = 0; chunk <= 9; chunk++)
        CHECK(parse_matches(syn, reply, chunk, e), "[%s] in chunks of %zu", reply, chunk);
}

int main(void) {
    const expect two = {NULL, 2, {"get_weather", "get_time"},
                        {"{\"city\": \"}{\\\"\", \"unit\": \"c\"}", "{\"tz\": [1, {}]}"}};
    expect_parse(&k_chatml,
                 "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"}{\\\"\", "
                 "\"unit\": \"c\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", "
                 "\"arguments\": {\"tz\": [1, {}]}}\n</tool_call>", &two);
    const expect text = {"Hello <tool_call> is how I call", 0, {NULL}, {NULL}};
    expect_parse(&k_chatml, "Hello <tool_call> is how I call", &text);
    const expect held = {"<tool_call>\n{\"name\": \"get_", 0, {NULL}, {NULL}};
    expect_parse(&k_chatml, "<tool_call>\n{\"name\": \"get_", &held); /* cut short: text */
    const expect glm = {NULL, 1, {"get_time"}, {"{\"q\": \"a\\\\\"}"}};
    expect_parse(&k_glm4, "get_time\n{\"q\": \"a\\\\\"}", &glm);
    const expect glm_text = {"\nget_time is a tool", 0, {NULL}, {NULL}};
    expect_parse(&k_glm4, "\nget_time is a tool", &glm_text);
    const expect glm_word = {"get_timely", 0, {NULL}, {NULL}};
    expect_parse(&k_glm4, "get_timely", &glm_word);
    return test_summary();
}
