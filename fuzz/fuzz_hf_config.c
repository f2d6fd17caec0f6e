/* fuzz_hf_config.c: libFuzzer target for HuggingFace config.json parsing and the tensor name
 * tables (src/formats/hf_config.c).
 *
 * The first byte picks what the rest is: 'g' a generation_config.json laid over a fixed valid
 * config, 'n' a tensor name mapped through every architecture's table, anything else a
 * config.json (whose accepted values are then checked for the promised invariants and used to
 * find an architecture row and map a few names). Built by CMake with -DWARD_FUZZ=ON (clang,
 * ASan+UBSan); run with fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/hf_config.h"

static const char base_config[] =
    "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"intermediate_size\":172,"
    "\"num_hidden_layers\":5,\"num_attention_heads\":8,\"num_key_value_heads\":4,"
    "\"vocab_size\":512}";

static const char *const some_names[] = {
    "model.layers.0.self_attn.q_proj.weight", "model.layers.4.mlp.down_proj.weight",
    "lm_head.weight", "model.layers.7.self_attn.k_proj.bias",
};

static void map_all(const hf_arch *a, const char *name, int32_t n_layer) {
    char out[64];
    const hf_name_row *row;
    if (hf_map_name(a, name, n_layer, out, sizeof out, &row, NULL) != WARD_OK) return;
    if (!row || strlen(out) >= sizeof out || (row->gguf == NULL) != (out[0] == '\0')) abort();
}

static void check_config(const hf_config *c) {
    if (c->n_vocab < 1 || c->n_embd < 1 || c->n_layer < 1 || c->n_head < 1 || c->n_ff < 1 ||
        c->n_head_kv < 1 || c->n_head % c->n_head_kv != 0 || c->head_dim < 1 ||
        (!c->head_dim_set && c->head_dim * c->n_head != c->n_embd) || !(c->norm_eps > 0) ||
        !(c->rope_freq_base > 0) || c->n_bos < 0 || c->n_bos > HF_MAX_TOKEN_IDS ||
        c->n_eos < 0 || c->n_eos > HF_MAX_TOKEN_IDS)
        abort();
    for (int32_t i = 0; i < c->n_eos; i++)
        if (c->eos[i] < 0 || c->eos[i] >= c->n_vocab) abort();
    if (strnlen(c->arch, sizeof c->arch) == sizeof c->arch ||
        strnlen(c->torch_dtype, sizeof c->torch_dtype) == sizeof c->torch_dtype)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const char *rest = (const char *)data + 1;
    size_t len = size - 1;
    hf_config c;
    if (data[0] == 'g') {
        if (hf_config_parse(base_config, sizeof base_config - 1, &c, NULL) != WARD_OK) abort();
        if (hf_generation_parse(rest, len, &c, NULL) == WARD_OK) check_config(&c);
        return 0;
    }
    if (data[0] == 'n') {
        char *name = malloc(len + 1);
        if (!name) return 0;
        memcpy(name, rest, len);
        name[len] = '\0';
        const char *types[] = {"llama", "qwen2"};
        for (int k = 0; k < 2; k++) {
            hf_config t = {.model_type = ""};
            strcpy(t.model_type, types[k]);
            const hf_arch *a = hf_arch_find(&t);
            if (!a) abort();
            map_all(a, name, 1000);
        }
        free(name);
        return 0;
    }
    if (hf_config_parse((const char *)data, size, &c, NULL) != WARD_OK) return 0;
    check_config(&c);
    const hf_arch *a = hf_arch_find(&c);
    for (size_t i = 0; a && i < sizeof some_names / sizeof some_names[0]; i++)
        map_all(a, some_names[i], c.n_layer);
    return 0;
}
