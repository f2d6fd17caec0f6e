/* types.h: the tensor type table and the kernel function signatures.
 *
 * One const row per ward_type (= GGUF type id): its name, block geometry, and, for the types
 * ward computes with, the kernels: to_float (dequantize a row), from_float (quantize a row of
 * activations or weights), vec_dot (dot product of a weight row with an activation row already
 * converted to vec_dot_type). Each kernel slot holds one pointer per ISA level; a NULL entry falls
 * back to the next lower level and finally to the plain C _ref version, which every computable
 * type has. Types ward only reads (IQ*, TQ*, integers) have geometry but no kernels, so the GGUF
 * reader can size every tensor and `ward inspect` can name it.
 *
 * Kernels take raw blocks and element counts; they know nothing of models, files or threads.
 * n must be a multiple of the type's block_elems (asserted).
 */
#ifndef WARD_KERNELS_TYPES_H
#define WARD_KERNELS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "base/cpu.h"
#include "ward.h"

typedef void (*kern_to_float_fn)(const void *restrict src, float *restrict dst, int64_t n);
typedef void (*kern_from_float_fn)(const float *restrict src, void *restrict dst, int64_t n);
/* *out = sum over i < n of w[i] * x[i]; w of the row's type, x of its vec_dot_type. */
typedef void (*kern_vec_dot_fn)(int64_t n, float *restrict out, const void *restrict w,
                                const void *restrict x);

/* A tile of dots: out[t * ldo + r] = dot(weight row r, activation row t) for r < 4 and t < T
 * (T = 1 or 2 by the slot), weight rows ws bytes apart, activation rows xs bytes apart. Each dot
 * is summed in exactly the order of the type's vec_dot, so a tile equals 4 x T vec_dot calls bit
 * for bit; it only keeps the chains interleaved (latency) and reuses each loaded block. */
typedef void (*kern_tile_fn)(int64_t n, float *restrict out, size_t ldo, const void *restrict w,
                             size_t ws, const void *restrict x, size_t xs);
#define KERN_TILE_ROWS 4

typedef struct kern_type_row {
    const char *name;       /* "Q4_0"; NULL for ids that GGUF does not define */
    int64_t block_elems;    /* elements per block (1 for plain floats) */
    size_t block_bytes;     /* bytes per block */
    ward_type vec_dot_type; /* activations are converted to this type before vec_dot */
    kern_to_float_fn to_float[WARD_ISA_COUNT];
    kern_from_float_fn from_float[WARD_ISA_COUNT];
    /* how a matmul with weights of this type quantizes its activations (into vec_dot_type),
     * when that differs from vec_dot_type's from_float (the weight quantizer, which must match
     * llama.cpp's reference quantizer byte for byte): the reference engine's matmuls for
     * Q8_0, Q5_0, Q4_1 and Q5_1 weights scale activations by 127/amax and round half to even;
     * its repacked Q4_0 and K-quant paths use the reference rule */
    kern_from_float_fn act_from_float[WARD_ISA_COUNT];
    kern_vec_dot_fn vec_dot[WARD_ISA_COUNT];
    kern_tile_fn tile_4x1[WARD_ISA_COUNT], tile_4x2[WARD_ISA_COUNT]; /* NULL: use vec_dot */
} kern_type_row;

/* Row of type t, or NULL for an id with no name (unknown / removed GGUF ids). */
const kern_type_row *kern_type(ward_type t);
/* Bytes of a row of n elements; n % block_elems must be 0 (asserted). */
size_t kern_row_bytes(ward_type t, int64_t n);
/* The kernel for isa with fallback to lower levels; NULL if the type has no such kernel. */
kern_to_float_fn kern_to_float(ward_type t, ward_isa isa);
kern_from_float_fn kern_from_float(ward_type t, ward_isa isa);
/* The activation quantizer of a matmul with weights of type t: its act_from_float, else its
 * vec_dot_type's from_float. */
kern_from_float_fn kern_act_from_float(ward_type t, ward_isa isa);
kern_vec_dot_fn kern_vec_dot(ward_type t, ward_isa isa);
/* The 4 x n_tok tile kernel (n_tok 1 or 2) for isa with fallback; NULL if none. */
kern_tile_fn kern_tile(ward_type t, ward_isa isa, int n_tok);

#endif
