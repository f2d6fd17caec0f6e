/* test_quantize.c: ward_quantize against llama.cpp's quantizer (its files in ../shared/models,
 * made with --pure): Q8_0 and Q4_0 of random-k256 and stories260K-ff192 must be the same file,
 * byte for byte (metadata order, tensor order, alignment and every quantized block). Plus bad
 * requests: unknown or unwritable types, re-quantizing, rows that do not divide into blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "harness.h"
#include "ward.h"

static void check_identical(const char *src_rel, const char *ref_rel, ward_type type) {
    char src[512], ref[512];
    const char *p = shared_path(src_rel);
    if (!p) return;
    snprintf(src, sizeof src, "%s", p);
    if (!(p = shared_path(ref_rel))) return;
    snprintf(ref, sizeof ref, "%s", p);
    const char *out = test_tmp_path("quantized.gguf");
    ward_quantize_params qp = ward_quantize_default_params();
    qp.type = type;
    qp.n_threads = 2;
    ward_error err;
    CHECK(ward_quantize(src, out, &qp, &err) == WARD_OK, "quantize %s: %s", src_rel, err.msg);
    size_t n_out = 0, n_ref = 0;
    char *a = read_file(out, &n_out), *b = read_file(ref, &n_ref);
    size_t first = 0;
    while (a && b && first < n_out && first < n_ref && a[first] == b[first]) first++;
    CHECK(a && b && n_out == n_ref && first == n_ref,
          "%s as %s: %zu bytes vs llama.cpp's %zu, first difference at byte %zu", src_rel,
          ward_type_name(type), n_out, n_ref, first);
    free(a);
    free(b);
    remove(out);
}

static void test_errors(void) {
    const char *p = shared_path("models/random-k256.gguf");
    char src[512], q8[512];
    if (!p) return;
    snprintf(src, sizeof src, "%s", p);
    snprintf(q8, sizeof q8, "%s", test_tmp_path("q8.gguf"));
    ward_quantize_params qp = ward_quantize_default_params();
    ward_error err;
    qp.type = WARD_TYPE_IQ2_XS;
    CHECK(ward_quantize(src, q8, &qp, &err) == WARD_EUNSUPPORTED, "unwritable type refused");
    qp.type = WARD_TYPE_Q8_0;
    CHECK(ward_quantize(src, q8, &qp, &err) == WARD_OK, "quantize to Q8_0: %s", err.msg);
    const char *again = test_tmp_path("q4-from-q8.gguf");
    qp.type = WARD_TYPE_Q4_0;
    CHECK(ward_quantize(q8, again, &qp, &err) == WARD_EUNSUPPORTED && strstr(err.msg, "Q8_0"),
          "re-quantizing refused: %s", err.msg);
    FILE *f = fopen(again, "rb");
    CHECK(f == NULL, "no output file after a refused request");
    if (f) fclose(f);
    CHECK(ward_quantize("/nonexistent.gguf", again, &qp, &err) == WARD_EIO, "missing input");
    const char *odd = test_tmp_path("odd.gguf");
    ward_synth_params sp = ward_synth_default_params();
    sp.n_embd = 48, sp.n_ff = 80, sp.n_head = 4, sp.n_head_kv = 2, sp.n_vocab = 300;
    CHECK(ward_synth_write(&sp, odd, &err) == WARD_OK, "synth: %s", err.msg);
    CHECK(ward_quantize(odd, again, &qp, &err) == WARD_EUNSUPPORTED && strstr(err.msg, "blocks"),
          "rows of 48 do not divide into Q4_0 blocks of 32: %s", err.msg);
    for (long n = 1; n < 10000; n++) { /* every allocation failure is reported, nothing leaks */
        ward_alloc_fail_after(n);
        ward_status st = ward_quantize(src, again, &qp, &err);
        ward_alloc_fail_after(0);
        if (st == WARD_OK) break;
        if (st != WARD_ENOMEM) {
            CHECK(false, "allocation %ld failing gives %d: %s", n, (int)st, err.msg);
            break;
        }
    }
    remove(q8), remove(again), remove(odd);
}

int main(void) {
    check_identical("models/random-k256.gguf", "models/random-k256-Q8_0.gguf", WARD_TYPE_Q8_0);
    check_identical("models/random-k256.gguf", "models/random-k256-Q4_0.gguf", WARD_TYPE_Q4_0);
    check_identical("models/stories260K-ff192.gguf", "models/stories260K-ff192-Q8_0.gguf",
                    WARD_TYPE_Q8_0);
    check_identical("models/stories260K-ff192.gguf", "models/stories260K-ff192-Q4_0.gguf",
                    WARD_TYPE_Q4_0);
    check_identical("models/random-k256.gguf", "models/random-k256-F16.gguf", WARD_TYPE_F16);
    check_identical("models/random-k256.gguf", "models/random-k256-BF16.gguf", WARD_TYPE_BF16);
    test_errors();
    return test_summary();
}
