/* quantize.h: which type each tensor of a model gets when it is quantized (shared by
 * ward_quantize, GGUF to GGUF, and the HuggingFace conversion).
 *
 * A recipe (ward_ftype, llama.cpp's "file type") names a base type and whether the "_M" rules
 * apply: the output matrix (or the tied embedding) in Q6_K, and attn_v / ffn_down in Q6_K for
 * the first and last eighth of the layers and every third layer between. "pure" turns the rules
 * off: every quantizable tensor gets the base type. A K-quant whose rows do not divide into 256
 * falls back as llama.cpp's does (Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0, else F16).
 */
#ifndef WARD_MODELS_QUANTIZE_H
#define WARD_MODELS_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward.h"

struct ward_ftype {
    const char *name;   /* "q4_k_m" */
    uint32_t file_type; /* general.file_type */
    ward_type base;
    bool k_m_rules;
};

/* Counts the rules need, taken over the whole model before choosing. */
typedef struct quant_plan {
    const ward_ftype *ftype;
    bool pure;
    bool has_output;        /* an output.weight exists (else token_embd takes its rule) */
    int32_t n_attn_v, n_ffn_down; /* tensors of each kind */
} quant_plan;

/* llama.cpp's test: a name ending in "weight", at least 2 dimensions, not a norm or one of the
 * small tensors it keeps. */
bool quant_should_quantize(const char *name, size_t len, uint32_t n_dims);
/* Add a tensor to the plan's counts (call for every tensor before quant_tensor_type). */
void quant_plan_count(quant_plan *p, const char *name, size_t len);
/* The type tensor (name, ne0 values per row, of type src) gets. */
ward_type quant_tensor_type(const quant_plan *p, const char *name, size_t len, uint32_t n_dims,
                            int64_t ne0, ward_type src);

#endif
