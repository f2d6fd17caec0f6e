/* fuzz_model.c: libFuzzer target for model loading and a first forward pass.
 *
 * The blob is parsed as GGUF and handed to the model loader (hyper-parameters, tokenizer,
 * every tensor's shape and type); whatever loads is then run: a small context, the prompt
 * "hi" tokenized, decoded in one batch, and one more token. Hostile hyper-parameters that pass
 * the loader must not make the forward pass read outside a tensor or the KV cache (ASan), and
 * nothing may crash, whatever the weights (NaN and infinities included).
 */
#include <stddef.h>
#include <stdint.h>

#include "formats/gguf.h"
#include "models/model.h"
#include "ward.h"

static void run_model(ward_model *m) {
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = 8;
    cp.n_batch = 4;
    cp.n_threads = 1;
    ward_context *ctx = NULL;
    if (ward_context_open(m, &cp, &ctx, NULL) != WARD_OK) return;
    ward_token toks[4];
    size_t n = 0;
    if (ward_tokenize(m, "hi", 2, WARD_TOKENIZE_ADD_BOS, toks, 4, &n) == WARD_OK && n > 0) {
        ward_batch b = {.n = (int32_t)n, .tokens = toks};
        if (ward_decode(ctx, &b) == WARD_OK) {
            const float *logits = ward_context_logits(ctx, b.n - 1);
            volatile float sink = logits[0] + logits[ward_model_get_info(m)->n_vocab - 1];
            (void)sink;
            ward_batch one = {.n = 1, .tokens = toks};
            ward_decode(ctx, &one);
        }
    }
    ward_context_close(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_file *g = NULL;
    if (gguf_parse(data, size, &g, NULL) != WARD_OK) return 0;
    ward_model *m = NULL;
    if (model_open_gguf(g, true, &m, NULL) == WARD_OK) run_model(m);
    ward_model_close(m);
    return 0;
}
