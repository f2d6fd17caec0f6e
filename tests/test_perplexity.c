/* test_perplexity.c: `ward perplexity` against a perplexity computed here from llama.cpp's
 * golden logits, and --kl-base on a model against itself (KL exactly 0) and against its Q8_0
 * version (small, positive). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Run cmd; return the number after "PPL = " (or NAN) and copy stdout to out. */
static double run_ppl(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return NAN;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    if (pclose(p) != 0) return NAN;
    const char *at = strstr(out, "PPL = ");
    return at ? strtod(at + 6, NULL) : NAN;
}

/* stories260K-lily: 9 prompt tokens. With -c 8 the one chunk is tokens 0..7 and positions 4..6
 * are scored (the second half, the last position predicting nothing inside the chunk); the
 * reference logits at those positions give the expected perplexity. */
static double expected_from_golden(void) {
    const char *jp = shared_path("golden/stories260K-lily.json");
    size_t size;
    char *text = jp ? read_file(jp, &size) : NULL;
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    const char *lp = shared_path("golden/stories260K-lily.logits.f32");
    float *logits = lp && j ? read_file(lp, &size) : NULL;
    double nll = 0;
    if (logits) {
        const cJSON *toks = cJSON_GetObjectItem(j, "prompt_tokens");
        const int n_vocab = cJSON_GetObjectItem(j, "n_vocab")->valueint;
        for (int pos = 4; pos < 7; pos++) {
            const float *row = logits + (size_t)pos * n_vocab;
            double sum = 0, max = row[0];
            for (int v = 1; v < n_vocab; v++) max = row[v] > max ? row[v] : max;
            for (int v = 0; v < n_vocab; v++) sum += exp(row[v] - max);
            nll -= row[cJSON_GetArrayItem(toks, pos + 1)->valueint] - max - log(sum);
        }
    }
    free(logits);
    cJSON_Delete(j);
    return exp(nll / 3);
}

int main(void) {
    char model[512], q8[512], cmd[4096], out[8192];
    const char *p = shared_path("models/stories260K.gguf");
    if (!p) return test_summary();
    snprintf(model, sizeof model, "%s", p);
    const char *text = test_tmp_path("lily.txt");
    FILE *f = fopen(text, "w");
    fputs("Lily and Tom went to the", f);
    fclose(f);

    const double want = expected_from_golden();
    snprintf(cmd, sizeof cmd, "%s perplexity -m %s -f %s -c 8 2>/dev/null", WARD_BINARY, model,
             text);
    const double got = run_ppl(cmd, out, sizeof out);
    /* the logits agree to ~2e-5 (test_golden), so the perplexity to ~1e-4 relative */
    CHECK(fabs(got - want) <= 1e-3 * want, "perplexity %.6f, from the reference logits %.6f",
          got, want);

    snprintf(cmd, sizeof cmd, "%s perplexity -m %s -f %s -c 8 --kl-base %s 2>/dev/null",
             WARD_BINARY, model, text, model);
    run_ppl(cmd, out, sizeof out);
    CHECK(strstr(out, "KL divergence from the base: 0.000000; same top token: 100.00%") != NULL,
          "a model against itself: KL 0, same top token: %s", out);

    if ((p = shared_path("models/stories260K-ff192-Q8_0.gguf"))) {
        snprintf(q8, sizeof q8, "%s", p);
        if ((p = shared_path("models/stories260K-ff192.gguf"))) {
            snprintf(model, sizeof model, "%s", p);
            snprintf(cmd, sizeof cmd, "%s perplexity -m %s -f %s -c 8 --kl-base %s 2>/dev/null",
                     WARD_BINARY, q8, text, model);
            run_ppl(cmd, out, sizeof out);
            const char *at = strstr(out, "base: ");
            const double kl = at ? strtod(at + 6, NULL) : -1;
            CHECK(kl > 0 && kl < 0.01, "Q8_0 against F32: small positive KL (%g)", kl);
        }
    }
    snprintf(cmd, sizeof cmd, "%s perplexity -m %s -f /nonexistent 2>/dev/null", WARD_BINARY,
             model);
    CHECK(run_ppl(cmd, out, sizeof out) != run_ppl(cmd, out, sizeof out), "missing text fails");
    remove(text);
    return test_summary();
}
