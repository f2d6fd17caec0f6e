/* fuzz_safetensors.c: libFuzzer target for the safetensors reader (src/formats/safetensors.c).
 *
 * Parses the input as a whole .safetensors blob with st_parse(). When it is accepted, every
 * pointer the parse produced is dereferenced: each byte of every tensor name and metadata value,
 * and the first and last byte of every tensor's data, so ASan reports any range the validation
 * let through that is not inside the input; every name must be found again by st_find(), and
 * the derived sizes must agree. Built by CMake with -DWARD_FUZZ=ON (clang, ASan+UBSan); run
 * with fuzz/run.sh. Seeds in fuzz/fuzz_safetensors/ are small hand-made files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors.h"

static unsigned touch(const char *s) {
    unsigned sum = 0;
    for (; s && *s; s++) sum += (uint8_t)*s;
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_reader *r;
    if (st_parse(data, size, "fuzz", &r, NULL) != WARD_OK) return 0;
    volatile unsigned sum = 0;
    for (uint64_t i = 0; i < r->n_tensors; i++) {
        const st_tensor *t = st_tensor_at(r, i);
        const uint8_t *d = t->data;
        sum += touch(t->name) + st_dtype_supported(t->dtype);
        if (t->nbytes) sum += d[0] + d[t->nbytes - 1];
        if (st_find(r, t->name) != t) abort();
        uint64_t n = 1;
        for (uint32_t k = 0; k < t->n_dims; k++) n *= (uint64_t)t->shape[k];
        if (t->n_dims > ST_MAX_DIMS || n != t->n_elems ||
            t->nbytes != n * st_dtype_size(t->dtype) || d < data || d + t->nbytes > data + size)
            abort();
    }
    sum += touch(st_metadata(r, 0, "format"));
    st_close(r);
    (void)sum;
    return 0;
}
