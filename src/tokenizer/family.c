/* family.c: model families whose tokenizer needs more than its file says: special tokens the
 * family's own tokenizer code appends after a SentencePiece vocabulary, texts that must be
 * control tokens (never matched in user text), and the family's BOS/EOS/end-of-turn choices.
 *
 * Design
 *   One const row per family (tok_family, tok.h). Three callers:
 *     spm_model.c  appends row->appended after the protobuf's pieces (control type, ids from
 *                  n_pieces on), forces row->control to control type, sets BOS/EOS/EOT/EOM by
 *                  text and add_bos;
 *     vocab_gguf.c forces row->appended and row->control texts present in a GGUF vocabulary to
 *                  control type and fills unset EOT/EOM (llama.cpp's converter already writes
 *                  most of them as control; older or hand-made files may not);
 *     tiktoken.c   keeps its own rows (ranks + specials) but GLM-4's specials are listed here too
 *                  so the GGUF path knows them.
 *   A family is chosen by name (a caller's hint) or from tokenizer_config.json beside the
 *   tokenizer.model: "tokenizer_class", else the class in "auto_map"."AutoTokenizer".
 *   ChatGLM-6B, ChatGLM2 and ChatGLM3 all say "ChatGLMTokenizer": v1's protobuf holds "[gMASK]"
 *   itself; ChatGLM3 is told from ChatGLM2 by "chatglm3" in "name_or_path" or "<|assistant|>"
 *   in "chat_template" (ChatGLM2's config has neither).
 *
 * Sources (facts only; the code is ours):
 *   ChatGLM-6B   THUDM/chatglm-6b tokenization_chatglm.py (SPTokenizer.special_tokens, bos "<sop>",
 *                eos "<eop>"; build_inputs_with_special_tokens appends [gMASK] <sop>), config.json
 *                (mask 130000, gmask 130001, bos 130004, eos 130005: in ice_text.model itself,
 *                num_image_tokens 0); SPTokenizer._preprocess / postprocess: the whitespace pieces
 *                of TOK_TEXT_GLM1 (tok.h, spm.c).
 *   ChatGLM2-6B  THUDM/chatglm2-6b tokenization_chatglm.py: [MASK] [gMASK] [sMASK] sop eop appended
 *                at sp_model.vocab_size() (64789 on); prefix tokens [gMASK] sop.
 *   ChatGLM3-6B  THUDM/chatglm3-6b tokenization_chatglm.py: the same five then <|system|>
 *                <|user|> <|assistant|> <|observation|> (64789 .. 64797); chat() stops at eos,
 *                <|user|> and <|observation|>. llama.cpp's convert_hf_to_gguf.py
 *                (set_vocab_chatglm3) writes the nine as control tokens.
 *   GLM-4        THUDM/glm-4-9b-chat tokenizer_config.json added_tokens_decoder (151329 ..
 *                151342), generation_config eos [151329, 151336, 151338].
 *   Baichuan2    baichuan-inc/Baichuan2-7B-Chat generation_config user_token_id 195
 *                ("<reserved_106>"), assistant_token_id 196 ("<reserved_107>").
 *   InternLM     internlm/internlm-chat-7b: <eoh> 103027, <eoa> 103028; generation stops at
 *                </s> 2 and <eoa>.
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/tok.h"

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

static const tok_family families[] = {
    {.name = "chatglm",
     .classes = LIST("ChatGLMTokenizer"),
     .control = LIST("[MASK]", "[gMASK]", "[sMASK]", "<unused_0>", "<sop>", "<eop>", "<ENC>",
                     "<dBLOCK>"),
     .bos = "<sop>", .eos = "<eop>", .no_add_bos = true, .text_rules = TOK_TEXT_GLM1},
    {.name = "chatglm2",
     .classes = LIST("ChatGLMTokenizer"),
     .appended = LIST("[MASK]", "[gMASK]", "[sMASK]", "sop", "eop"),
     .no_add_bos = true},
    {.name = "chatglm3",
     .classes = LIST("ChatGLMTokenizer"),
     .appended = LIST("[MASK]", "[gMASK]", "[sMASK]", "sop", "eop", "<|system|>", "<|user|>",
                      "<|assistant|>", "<|observation|>"),
     .eot = "<|user|>", .eom = "<|observation|>", .no_add_bos = true},
    {.name = "glm4",
     .classes = LIST("ChatGLM4Tokenizer"),
     .control = LIST("<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>",
                     "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>",
                     "<|begin_of_image|>", "<|end_of_image|>", "<|begin_of_video|>",
                     "<|end_of_video|>"),
     .eot = "<|user|>", .eom = "<|observation|>", .no_add_bos = true},
    {.name = "baichuan",
     .classes = LIST("BaichuanTokenizer", "BaiChuanTokenizer"),
     .control = LIST("<reserved_106>", "<reserved_107>")},
    {.name = "internlm",
     .classes = LIST("InternLMTokenizer"),
     .control = LIST("<eoh>", "<eoa>"),
     .eot = "<eoa>"},
};
#define N_FAMILIES (sizeof families / sizeof families[0])

const tok_family *tok_family_find(const char *name) {
    for (size_t i = 0; name && i < N_FAMILIES; i++)
        if (strcmp(families[i].name, name) == 0) return &families[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * tokenizer_config.json
 * ------------------------------------------------------------------------------------------- */

static const char *str_item(const cJSON *obj, const char *key) {
    const cJSON *j = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* "tokenizer_class", else the class after the last '.' of auto_map.AutoTokenizer[0]. */
static const char *class_of(const cJSON *cfg) {
    const char *c = str_item(cfg, "tokenizer_class");
    if (c) return c;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(cfg, "auto_map");
    const cJSON *at = cJSON_IsObject(map) ? cJSON_GetObjectItemCaseSensitive(map, "AutoTokenizer")
                                          : NULL;
    const cJSON *first = cJSON_IsArray(at) ? cJSON_GetArrayItem(at, 0) : at;
    if (!cJSON_IsString(first)) return NULL;
    const char *dot = strrchr(first->valuestring, '.');
    return dot ? dot + 1 : first->valuestring;
}

ward_status tok_family_from_config(const char *config, size_t len, bool has_gmask,
                                   const tok_family **out, ward_error *err) {
    *out = NULL;
    cJSON *cfg = cJSON_ParseWithLength(config, len);
    if (!cfg) {
        /* out of memory looks like malformed JSON here; either way the file is not usable */
        return WARD_FAIL(err, WARD_EFORMAT, "tokenizer_config.json: malformed JSON");
    }
    ward_status rc = WARD_OK;
    const char *cls = class_of(cfg);
    for (size_t i = 0; cls && i < N_FAMILIES && !*out; i++)
        for (const char *const *c = families[i].classes; *c; c++)
            if (strcmp(*c, cls) == 0) *out = &families[i];
    if (*out && strcmp((*out)->name, "chatglm") == 0 && !has_gmask) {
        const char *name = str_item(cfg, "name_or_path");
        const char *tmpl = str_item(cfg, "chat_template");
        bool v3 = (name && strstr(name, "chatglm3")) || (tmpl && strstr(tmpl, "<|assistant|>"));
        *out = tok_family_find(v3 ? "chatglm3" : "chatglm2");
    }
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(cfg, "num_image_tokens");
    if (*out && strcmp((*out)->name, "chatglm") == 0 && cJSON_IsNumber(images) &&
        images->valuedouble != 0) {
        rc = WARD_FAIL(err, WARD_EUNSUPPORTED,
                       "tokenizer_config.json: num_image_tokens %g is not supported (ChatGLM-6B's "
                       "ids would be shifted by it; only 0, the released vocabulary)",
                       images->valuedouble);
        *out = NULL;
    }
    cJSON_Delete(cfg);
    return rc;
}
