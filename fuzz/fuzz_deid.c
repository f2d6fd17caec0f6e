/* fuzz_deid.c: libFuzzer target for de-identification (src/privacy/deid.c, deid_detect.c). The first
 * byte chooses what the rest is: text to redact (with every type on and a date shift from the
 * byte), text whose spans are found and then applied one by one, or a JSON config to parse and
 * then use on a fixed text. Text goes in without a terminating NUL, so a scanner that reads past
 * the end is caught by ASan. Inputs over 64 KiB are skipped: the scanners are O(n x table). Built
 * with -DWARD_FUZZ=ON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/deid.h"

static const char fixed[] = "患者张三，男，92岁，电话13812345678，2024年2月29日入院，家住杭州市西湖区文三路1号。";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 65536) return 0;
    const char *body = (const char *)data + 1;
    const size_t len = size - 1;
    char *copy = malloc(len ? len : 1); /* exactly len bytes: no NUL after */
    if (!copy) return 0;
    memcpy(copy, body, len);
    deid_config c;
    deid_config_init(&c);
    deid_error e;
    char *out = NULL;
    deid_span *spans = NULL;
    size_t n = 0;
    switch (data[0] % 3) {
    case 0:
        c.shift_days = (int32_t)(data[0]) * 97 - 12000;
        deid_redact(&c, copy, len, &out, &e);
        break;
    case 1:
        if (deid_find(&c, copy, len, &spans, &n, &e) == DEID_OK) {
            for (size_t k = 0; k < n; k++) {
                free(out), out = NULL;
                deid_apply(&c, copy, len, spans + k, 1, &out, &e);
            }
        }
        break;
    case 2:
        if (deid_config_parse(&c, copy, len, &e) == DEID_OK)
            deid_redact(&c, fixed, sizeof fixed - 1, &out, &e);
        break;
    }
    free(out);
    free(spans);
    deid_config_free(&c);
    free(copy);
    return 0;
}
