/* fuzz_gguf.c: libFuzzer target for the GGUF reader (src/formats/gguf_read.c).
 *
 * Parses the input as a GGUF blob. When it is accepted, every pointer the parse produced is
 * dereferenced: each byte of every key, string value and string-array element, and the first and
 * last byte of every tensor's data, so ASan reports any range the validation let through that is
 * not inside the input. The getters run on every key too, with each result type. Built by CMake
 * with -DWARD_FUZZ=ON (clang, ASan+UBSan); run with fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>

#include "formats/gguf.h"

static unsigned touch(gguf_str s) {
    unsigned sum = 0;
    for (uint64_t i = 0; i < s.len; i++) sum += (uint8_t)s.ptr[i];
    return sum;
}

/* Exercise the getters on kv's key; they must agree with the parse and never crash. */
static unsigned get_all(const gguf_file *g, const gguf_kv *kv) {
    char key[256];
    if (kv->key.len >= sizeof key) return 0;
    for (uint64_t i = 0; i < kv->key.len; i++) key[i] = kv->key.ptr[i];
    key[kv->key.len] = '\0';
    uint32_t u = 0;
    float f = 0;
    bool b = false;
    gguf_str s = {0};
    const gguf_kv *arr;
    gguf_get_u32(g, key, true, &u, NULL);
    gguf_get_f32(g, key, true, &f, NULL);
    gguf_get_bool(g, key, true, &b, NULL);
    gguf_get_str(g, key, true, &s, NULL);
    if (gguf_get_arr(g, key, GGUF_VT_COUNT, true, &arr, NULL) == WARD_OK &&
        arr->val.arr.type != GGUF_VT_STR && arr->val.arr.n > 0)
        f += gguf_arr_f32(arr, arr->val.arr.n - 1);
    return u + (f != 0) + b + touch(s); /* no float-to-int cast: f may be NaN */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_file *g;
    if (gguf_parse(data, size, &g, NULL) != WARD_OK) return 0;
    volatile unsigned sum = 0;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kv[i];
        sum += touch(kv->key) + get_all(g, kv);
        if (kv->type == GGUF_VT_STR) sum += touch(kv->val.str);
        if (kv->type == GGUF_VT_ARR && kv->val.arr.type == GGUF_VT_STR)
            for (uint64_t j = 0; j < kv->val.arr.n; j++) sum += touch(kv->val.arr.strs[j]);
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        const uint8_t *d = t->data;
        sum += touch(t->name) + d[0] + d[t->nbytes - 1];
    }
    gguf_close(g);
    (void)sum;
    return 0;
}
