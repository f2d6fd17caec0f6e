/* fuzz_api_request.c: libFuzzer target for the OpenAI request parser (src/server/api.c) and what
 * a parsed request reaches next.
 *
 * The first byte chooses the endpoint (even: chat completions, odd: completions); the rest is
 * the request body. An accepted request is rendered back through every response builder, so
 * ASan sees any string the parser let through; a chat request is also rendered by the chatml
 * and glm4 templates with its tools, calls and tool results (the engine's tool rendering), its
 * constraint compiled in both templates' tool syntax, and its last message read as if a model
 * had written it (the tool-call parser, toolcall.c). Built by CMake with -DWARD_FUZZ=ON.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/model.h"
#include "server/api.h"
#include "server/toolcall.h"

/* The request's constraint, prompt and a parse of its last message, in template `name`. */
static void chat_paths(const api_request *r, const char *name) {
    ward_model none;
    memset(&none, 0, sizeof none); /* templates by name do not look at the model */
    const ward_chat_template *t = NULL;
    ward_error err;
    if (ward_chat_template_for_model(&none, name, &t, &err)) return;
    ward_text_span *spans = NULL;
    size_t n = 0;
    if (!ward_chat_render_tools(t, r->messages, r->n_messages, r->tools ? r->tools_json : NULL,
                                true, &spans, &n, &err))
        ward_chat_spans_free(spans);
    const ward_chat_tool_syntax *syn = ward_chat_tool_syntax_of(t);
    jc_schema *s;
    api_error e;
    if (api_compile_format(r, syn, &s, &e)) jc_free(s);
    if (!r->tools) return;
    const char *names[API_MAX_TOOLS];
    const int n_names = api_tool_names(r, names);
    const char *text = r->messages[r->n_messages - 1].content;
    tc_parser p;
    tc_delta d = {0};
    cJSON *calls = NULL;
    tc_init(&p, syn, names, n_names, "call_");
    if (tc_feed(&p, text, strlen(text), &d) && tc_finish(&p, &d) && d.calls)
        tc_merge(&calls, d.calls);
    cJSON_Delete(calls);
    tc_delta_free(&d);
    tc_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    api_request r;
    api_error e;
    if (api_parse_request((const char *)data + 1, size - 1, data[0] % 2 == 0, NULL, NULL, &r,
                          &e)) {
        const api_usage u = {1, 2, 0};
        const char *text = r.chat ? r.messages[r.n_messages - 1].content : r.prompt;
        const api_choice c = {text, "stop", NULL, NULL};
        free(api_response_json(&r, "id", 0, r.model, &c, 1, &u));
        free(api_chunk_json(&r, "id", 0, r.model, 0, r.chat, &c));
        free(api_usage_chunk_json(&r, "id", 0, r.model, &u));
        jc_schema *s;
        if (api_compile_format(&r, NULL, &s, &e)) jc_free(s);
        if (r.chat) chat_paths(&r, "chatml"), chat_paths(&r, "glm4");
    } else {
        free(api_error_json(&e));
    }
    api_request_free(&r);
    return 0;
}
