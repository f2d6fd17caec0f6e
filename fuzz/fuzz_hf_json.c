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

#include "fuzz_vocab.h"

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
    fuzz_use_vocab(v);
    tok_vocab_free(v);
    return 0;
}
