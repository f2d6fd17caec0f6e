/* fuzz_store.c: libFuzzer target for the workbench's record checks (src/app/store.c), which
 * take the JSON bodies of /api/ requests. The first byte chooses the action, the rest is its
 * body, applied to an in-memory store that holds one case, one generation and one discharge
 * record (made once; the fuzzer's actions pile up on them). Built with -DWARD_FUZZ=ON. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "app/store.h"

static const store_actor by = {.user_id = 1, .name = "fuzz", .role = "doctor"};

typedef struct fixture {
    store *s;
    int64_t case_id, gen_id, record_id;
} fixture;

static fixture *setup(void) {
    static fixture f;
    if (f.s) return &f;
    store_error e;
    if (store_open(":memory:", &f.s, &e) != STORE_OK) return NULL;
    cJSON *c = cJSON_Parse("{\"free_text\":\"seed\"}");
    cJSON *g = cJSON_Parse("{\"case_id\":1,\"task\":\"discharge\",\"model\":\"m\",\"template\":\"t@1\",\"prompt\":\"p\"}");
    cJSON *d = cJSON_Parse("{\"sections\":{\"discharge_diagnosis\":\"a\",\"admission_status\":\"b\","
                           "\"treatment_course\":\"c\",\"discharge_status\":\"d\",\"discharge_orders\":\"e\"}}");
    store_case_create(f.s, &by, c, &f.case_id, &e);
    store_generation_begin(f.s, &by, g, &f.gen_id, &e);
    store_discharge_create(f.s, &by, f.case_id, d, &f.record_id, &e);
    cJSON_Delete(c), cJSON_Delete(g), cJSON_Delete(d);
    return &f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fixture *f = setup();
    if (!f || size < 1) return 0;
    cJSON *in = cJSON_ParseWithLength((const char *)data + 1, size - 1), *out = NULL;
    store_error e;
    int64_t id;
    switch (data[0] % 9) {
    case 0: store_case_create(f->s, &by, in, &id, &e); break;
    case 1: store_case_update(f->s, &by, f->case_id, in, &e); break;
    case 2: store_generation_begin(f->s, &by, in, &id, &e); break;
    case 3: store_generation_finish(f->s, f->gen_id, in, &e); break;
    case 4: store_error_report(f->s, &by, f->gen_id, in, &id, &e); break;
    case 5: store_fill_back(f->s, &by, f->case_id, in, &e); break;
    case 6: store_discharge_create(f->s, &by, f->case_id, in, &id, &e); break;
    case 7: store_discharge_edit(f->s, &by, f->record_id, in, &e); break;
    case 8: /* a search query: the body's bytes as text */
        if (size < 4096) {
            char q[4096];
            memcpy(q, data + 1, size - 1);
            q[size - 1] = '\0';
            store_case_list(f->s, &by, q, 10, 0, &out, &e);
        }
        break;
    }
    cJSON_Delete(out);
    cJSON_Delete(in);
    return 0;
}
