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

static void check_identical(const char *src_rel, const char *ref_rel, const char *ftype) {
    char src[512], ref[512];
    const char *p = shared_path(src_rel);
    if (!p) return;
    snprintf(src, sizeof src, "%s", p);
    if (!(p = shared_path(ref_rel))) return;
    snprintf(ref, sizeof ref, "%s", p);
    const char *out = test_tmp_path("quantized.gguf");
    ward_quantize_params qp = ward_quantize_default_params();
    qp.ftype = ward_ftype_from_name(ftype);
    qp.pure = true; /* the reference files were made with --pure */
    qp.n_threads = 2;
    ward_error err;
    CHECK(ward_quantize(src, out, &qp, &err) == WARD_OK, "quantize %s: %s", src_rel, err.msg);
    size_t n_out = 0, n_ref = 0;
    char *a = read_file(out, &n_out), *b = read_file(ref, &n_ref);
    size_t first = 0;
    while (a && b && first < n_out && first < n_ref && a[first] == b[first]) first++;
    CHECK(a && b && n_out == n_ref && first == n_ref,
          "%s as %s: %zu bytes vs llama.cpp's %zu, first difference at byte %zu", src_rel,
          ftype, n_out, n_ref, first);
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
    CHECK(ward_ftype_from_name("iq2_xs") == NULL && ward_ftype_from_name("Q4_K_M") != NULL,
          "recipe names");
    qp.ftype = NULL;
    CHECK(ward_quantize(src, q8, &qp, &err) == WARD_EINVAL, "no recipe refused");
    qp.ftype = ward_ftype_from_name("q8_0");
    CHECK(ward_quantize(src, q8, &qp, &err) == WARD_OK, "quantize to Q8_0: %s", err.msg);
    const char *again = test_tmp_path("q4-from-q8.gguf");
    qp.ftype = ward_ftype_from_name("q4_0");
    qp.pure = true;
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

/* The _M rules on a 16-layer shape: output Q6_K, attn_v / ffn_down Q6_K in layers 0, 1, 4,
 * 7, 10, 13, 14, 15 (first and last eighth, every third between), the rest Q4_K; without
 * --pure a Q4_0 model still gets a Q6_K output. The layer list is llama.cpp's use_more_bits
 * worked out by hand for n = 16: i < 2, i >= 14, (i - 2) % 3 == 2. */
static void test_mix_rules(void) {
    char src[256], out[256];
    snprintf(src, sizeof src, "%s", test_tmp_path("mix-src.gguf"));
    snprintf(out, sizeof out, "%s", test_tmp_path("mix-out.gguf"));
    ward_synth_params sp = ward_synth_default_params();
    sp.n_layer = 16, sp.n_embd = 256, sp.n_ff = 256, sp.n_vocab = 300;
    ward_error err;
    CHECK(ward_synth_write(&sp, src, &err) == WARD_OK, "synth: %s", err.msg);
    ward_quantize_params qp = ward_quantize_default_params();
    qp.ftype = ward_ftype_from_name("q4_k_m");
    CHECK(ward_quantize(src, out, &qp, &err) == WARD_OK, "q4_k_m: %s", err.msg);
    ward_model *m = NULL;
    CHECK(ward_model_open(out, &m, &err) == WARD_OK, "open q4_k_m: %s", err.msg);
    ward_model_close(m);
    char cmd[1024], text[65536];
    snprintf(cmd, sizeof cmd, "%s inspect %s", WARD_BINARY, out);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(text, 1, sizeof text - 1, p) : 0;
    text[n] = '\0';
    if (p) pclose(p);
    static const int more[] = {1, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1};
    for (int l = 0; l < 16; l++)
        for (int k = 0; k < 2; k++) {
            char needle[64];
            snprintf(needle, sizeof needle, "blk.%d.%s.weight", l, k ? "ffn_down" : "attn_v");
            const char *at = strstr(text, needle);
            const char *want = more[l] ? "Q6_K" : "Q4_K";
            CHECK(at && strncmp(at + 33, want, 4) == 0, "%s should be %s", needle, want);
        }
    const char *o = strstr(text, "  output.weight");
    CHECK(o && strncmp(o + 35, "Q6_K", 4) == 0, "output.weight should be Q6_K");
    const char *q = strstr(text, "blk.3.attn_q.weight");
    CHECK(q && strncmp(q + 33, "Q4_K", 4) == 0, "attn_q stays Q4_K");
    remove(src), remove(out);
}

int main(void) {
    check_identical("models/random-k256.gguf", "models/random-k256-Q8_0.gguf", "q8_0");
    check_identical("models/random-k256.gguf", "models/random-k256-Q4_0.gguf", "q4_0");
    check_identical("models/stories260K-ff192.gguf", "models/stories260K-ff192-Q8_0.gguf", "q8_0");
    check_identical("models/stories260K-ff192.gguf", "models/stories260K-ff192-Q4_0.gguf", "q4_0");
    check_identical("models/stories260K-ff192.gguf", "models/stories260K-ff192-Q4_1.gguf", "q4_1");
    check_identical("models/stories260K-ff192.gguf", "models/stories260K-ff192-Q5_0.gguf", "q5_0");
    check_identical("models/stories260K-ff192.gguf", "models/stories260K-ff192-Q5_1.gguf", "q5_1");
    check_identical("models/random-k256.gguf", "models/random-k256-F16.gguf", "f16");
    check_identical("models/random-k256.gguf", "models/random-k256-BF16.gguf", "bf16");
    check_identical("models/random-k256.gguf", "models/random-k256-Q4_K_M.gguf", "q4_k_m");
    check_identical("models/random-k256.gguf", "models/random-k256-Q5_K_M.gguf", "q5_k_m");
    check_identical("models/random-k256.gguf", "models/random-k256-Q6_K.gguf", "q6_k");
    test_mix_rules();
    test_errors();
    return test_summary();
}
