/* generate.c: the ward C API in brief. Usage: generate MODEL.gguf "prompt" */
#include <stdio.h>
#include <string.h>
#include "ward.h"

int main(int argc, char **argv) {
    if (argc != 3) return fprintf(stderr, "usage: %s MODEL PROMPT\n", argv[0]), 2;
    ward_error err;
    ward_model *model = NULL;
    ward_context *ctx = NULL;
    ward_sampler *smp = NULL;
    ward_detok *dt = NULL;
    ward_context_params cp = ward_context_default_params();
    ward_sampler_params sp = ward_sampler_default_params();
    sp.temperature = 0; /* greedy */
    if (ward_model_open(argv[1], &model, &err) || ward_context_open(model, &cp, &ctx, &err) ||
        ward_sampler_open(&sp, ward_model_get_info(model)->n_vocab, &smp, &err) ||
        ward_detok_open(model, &dt))
        return fprintf(stderr, "%s\n", err.msg), 1;
    ward_token toks[512];
    size_t n;
    if (ward_tokenize(model, argv[2], strlen(argv[2]), WARD_TOKENIZE_ADD_BOS, toks, 512, &n))
        return fprintf(stderr, "prompt too long\n"), 1;
    ward_batch batch = {.n = (int32_t)n, .tokens = toks}; /* the whole prompt in one pass */
    const char *text;
    size_t len;
    for (int i = 0; i < 64; i++) {
        if (ward_decode(ctx, &batch)) return fprintf(stderr, "%s\n", ward_context_errmsg(ctx)), 1;
        toks[0] = ward_sampler_sample(smp, ward_context_logits(ctx, batch.n - 1));
        if (ward_token_is_eog(model, toks[0])) break;
        ward_detok_push(dt, toks[0], &text, &len);
        fwrite(text, 1, len, stdout);
        batch = (ward_batch){.n = 1, .tokens = toks}; /* then one token at a time */
    }
    ward_detok_flush(dt, &text, &len);
    printf("%.*s\n", (int)len, text);
    ward_detok_close(dt), ward_sampler_close(smp), ward_context_close(ctx), ward_model_close(model);
    return 0;
}
