/* fuzz_api_request.c: libFuzzer target for the OpenAI request parser (src/server/api.c).
 *
 * The first byte chooses the endpoint (even: chat completions, odd: completions); the rest is
 * the request body. An accepted request is rendered back through every response builder, so
 * ASan sees any string the parser let through. Built by CMake with -DWARD_FUZZ=ON.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "server/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    api_request r;
    api_error e;
    if (api_parse_request((const char *)data + 1, size - 1, data[0] % 2 == 0, NULL, NULL, &r,
                          &e)) {
        const api_usage u = {1, 2, 0};
        const char *text = r.chat ? r.messages[r.n_messages - 1].content : r.prompt;
        const api_choice c = {text, "stop", NULL};
        free(api_response_json(&r, "id", 0, r.model, &c, 1, &u));
        free(api_chunk_json(&r, "id", 0, r.model, 0, r.chat, &c));
        free(api_usage_chunk_json(&r, "id", 0, r.model, &u));
        jc_schema *s;
        if (api_compile_format(&r, &s, &e)) jc_free(s);
    } else {
        free(api_error_json(&e));
    }
    api_request_free(&r);
    return 0;
}
