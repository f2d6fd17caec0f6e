/* fuzz_spm_model.c: libFuzzer target for the tokenizer.model loader (src/tokenizer/spm_model.c).
 *
 * The input is a SentencePiece ModelProto blob. When it is accepted, every token's text and
 * bytes are read and a short mixed text is encoded, so ASan sees any range the protobuf reader
 * let through. Built by CMake with -DWARD_FUZZ=ON (clang, ASan+UBSan); run with fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tok_vocab *v = NULL;
    if (tok_parse_spm_model(data, size, &v, NULL) != WARD_OK) return 0;
    volatile unsigned sum = 0;
    char buf[64];
    for (int32_t id = 0; id < tok_n_vocab(v); id++) {
        size_t n;
        const char *t = tok_text(v, id, &n);
        for (size_t i = 0; i < n; i++) sum += (uint8_t)t[i];
        if (tok_token_bytes(v, id, true, buf, sizeof buf, &n) == WARD_OK) sum += (unsigned)n;
    }
    static const char text[] = "Hello world \xe4\xbd\xa0\xe5\xa5\xbd <s> \xf0\x9f\x98\x80 12";
    int32_t ids[128];
    size_t n_ids;
    tok_encode(v, text, sizeof text - 1, TOK_ADD_BOS | TOK_PARSE_SPECIAL, ids, 128, &n_ids);
    tok_vocab_free(v);
    (void)sum;
    return 0;
}
