/* fuzz_jsonc.c: libFuzzer target for the structured-output compiler and matcher
 * (src/server/jsonc.c).
 *
 * The input is a JSON Schema (empty: json_object mode), then a NUL, then bytes to feed. An accepted schema's matcher
 * takes the bytes one by one (stopping at the first refused one), and at every step a copy is
 * checked to refuse nothing once complete, so ASan and UBSan see every state the bytes reach.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "server/jsonc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, '\0', size);
    const size_t schema_len = nul ? (size_t)(nul - data) : size;
    cJSON *sch = schema_len ? cJSON_ParseWithLength((const char *)data, schema_len) : NULL;
    jc_schema *s = NULL;
    char err[256];
    if ((sch || !schema_len) && jc_compile(sch, &s, err, sizeof err)) {
        jc_state st;
        jc_start(s, &st);
        for (size_t i = schema_len + 1; nul && i < size; i++) {
            if (!jc_feed(s, &st, data[i])) break;
            if (st.done) {
                jc_state after;
                jc_copy(&after, &st);
                if (jc_feed(s, &after, ' ')) __builtin_trap(); /* nothing after the end */
            }
        }
        jc_free(s);
    }
    cJSON_Delete(sch);
    return 0;
}
