/* fuzz_spm_model.c: libFuzzer target for the tokenizer.model loader (src/tokenizer/spm_model.c).
 *
 * The input is a SentencePiece ModelProto blob. When it is accepted, every token's text and
 * bytes are read and a short mixed text is encoded, so ASan sees any range the protobuf reader
 * let through. Built by CMake with -DWARD_FUZZ=ON (clang, ASan+UBSan); run with fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_vocab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tok_vocab *v = NULL;
    if (tok_parse_spm_model(data, size, &v, NULL) != WARD_OK) return 0;
    fuzz_use_vocab(v);
    tok_vocab_free(v);
    return 0;
}
