/* fuzz_hf_json.c: libFuzzer target for the tokenizer.json loader (src/tokenizer/hf_json.c).
 *
 * The input is a tokenizer.json blob; when it has a NUL byte, the part after the first NUL is
 * also given as tokenizer_config.json. When the file is accepted, every token's text and bytes
 * are read and a short mixed text is encoded, so ASan sees any range the validation let
 * through. Built by CMake with -DWARD_FUZZ=ON (clang, ASan+UBSan); run with fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tokenizer/tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *json = (const char *)data, *cfg = NULL;
    size_t len = size, cfg_len = 0;
    const char *nul = memchr(json, '\0', size);
    if (nul) {
        len = (size_t)(nul - json);
        cfg = nul + 1;
        cfg_len = size - len - 1;
    }
    tok_vocab *v = NULL;
    if (tok_parse_hf_json(json, len, cfg, cfg_len, &v, NULL) != WARD_OK) return 0;
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
