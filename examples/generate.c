/* generate.c: greedy generation with the ward C API. Usage: generate MODEL.gguf "prompt" */
#include <stdio.h>
#include <string.h>
#include "ward.h"

int main(int argc, char **argv) {
    if (argc != 3) return fprintf(stderr, "usage: %s MODEL PROMPT\n", argv[0]), 2;
    ward_error err;
    ward_model *model;
    ward_context *ctx;
    if (ward_model_open(argv[1], &model, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    ward_context_params cp = ward_context_default_params();
    if (ward_context_open(model, &cp, &ctx, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    ward_token toks[512];
    size_t n;
    if (ward_tokenize(model, argv[2], strlen(argv[2]), WARD_TOKENIZE_ADD_BOS, toks, 512, &n))
        return fprintf(stderr, "prompt too long\n"), 1;
    ward_detok *dt;
    if (ward_detok_open(model, &dt)) return 1;
    ward_batch batch = {.n = (int32_t)n, .tokens = toks}; /* whole prompt in one pass */
    for (int i = 0; i < 64 && ward_decode(ctx, &batch) == WARD_OK; i++) {
        const float *logits = ward_context_logits(ctx, batch.n - 1);
        ward_token best = 0; /* greedy: the most likely next token */
        for (int v = 1; v < ward_model_get_info(model)->n_vocab; v++)
            if (logits[v] > logits[best]) best = v;
        if (ward_token_is_eog(model, best)) break;
        const char *text;
        size_t len;
        ward_detok_push(dt, best, &text, &len);
        fwrite(text, 1, len, stdout);
        toks[0] = best, batch = (ward_batch){.n = 1, .tokens = toks};
    }
    puts("");
    ward_detok_close(dt), ward_context_close(ctx), ward_model_close(model);
    return 0;
}
