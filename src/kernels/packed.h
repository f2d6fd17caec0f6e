/* packed.h: weight matrices repacked at load into row groups, for the matmul.
 *
 * A plain weight row is read by one dot product at a time, one float chain per row; the chain's
 * latency and the instructions spent per byte keep a core well below the memory's speed. A packed
 * matrix interleaves KERN_PACK_ROWS rows block by block, so one vector instruction works on all
 * of them (one row per 32-bit lane): 16 rows advance together, a block of activations is
 * broadcast once for all of them, and the weights stream in one sequential pass. The last group
 * is padded with zero-scale rows.
 *
 * Layouts (kernels_impl.h has the structs):
 *   Q4_0 -> block_q4_0x16 (288 bytes per 16 rows x 32 columns): the 16 fp16 scales, then for
 *     p = 0..3 each row's qs[4p..4p+3] (low nibbles: elements 4p..4p+3, high nibbles: elements
 *     16+4p..16+4p+3), rows one after another. Dotted with block_q8_0s activations.
 *
 *   Q8_0 -> block_q8_0x16, Q4_K -> block_q4_Kx16, Q6_K -> block_q6_Kx16, F16 -> block_f16x16,
 *     BF16 -> block_bf16x16 (kernels_impl.h): the same idea; Q8_0 stores q + 128, the K-quants
 *     keep their quant bytes (Q6_K's in reading order) and unpack the scales, the float types
 *     go column by column (BF16 by pairs of columns). Their dots keep the unpacked vec_dot's
 *     order exactly, except BF16 on the avx512bf16 level (VDPBF16PS; kern_packed_gemm_twin).
 *
 * docs/kernels.md describes the levels, the layouts and the orders together.
 *
 * Summation order of a packed Q4_0 dot, the same on every ISA: per block one exact int32 sum of
 * the 32 products, then acc = fma((float)isum, d_w * d_x, acc), block after block. It is the
 * order of the reference engine's repacked Q4_0 kernels (its golden data is made by them), and
 * differs from the unpacked Q4_0 vec_dot's 8-lane order only by rounding.
 */
#ifndef WARD_KERNELS_PACKED_H
#define WARD_KERNELS_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/types.h"

#define KERN_PACK_ROWS 16
#define KERN_PACK_MAX_TOK 8 /* activation rows one kernel call takes */

/* out[t * ldo + r] = dot(row r of the group, activation row t) for r < 16, t < n_tok
 * (1 <= n_tok <= KERN_PACK_MAX_TOK); the group's n_cols / 32 blocks at w, activation rows xs
 * bytes apart. */
typedef void (*kern_packed_gemm_fn)(int64_t n_cols, float *restrict out, size_t ldo,
                                    const void *restrict w, const void *restrict x, size_t xs,
                                    int n_tok);

/* Defines the kern_packed_gemm_fn `name` from tok_fn(nb, out, ldo, w, x, xs, n_tok), an
 * always-inline body called with a constant n_tok, so its accumulators stay in registers; nb
 * is the number of block columns of block_elems columns. */
#define KERN_PACKED_GEMM_BY_TOK(name, tok_fn, block_elems)                                     \
    void name(int64_t n_cols, float *restrict out, size_t ldo, const void *restrict w,         \
              const void *restrict x, size_t xs, int n_tok) {                                  \
        const int64_t nb = n_cols / (block_elems);                                             \
        switch (n_tok) {                                                                       \
        case 1: tok_fn(nb, out, ldo, w, x, xs, 1); break;                                      \
        case 2: tok_fn(nb, out, ldo, w, x, xs, 2); break;                                      \
        case 3: tok_fn(nb, out, ldo, w, x, xs, 3); break;                                      \
        case 4: tok_fn(nb, out, ldo, w, x, xs, 4); break;                                      \
        case 5: tok_fn(nb, out, ldo, w, x, xs, 5); break;                                      \
        case 6: tok_fn(nb, out, ldo, w, x, xs, 6); break;                                      \
        case 7: tok_fn(nb, out, ldo, w, x, xs, 7); break;                                      \
        default: tok_fn(nb, out, ldo, w, x, xs, 8); break;                                     \
        }                                                                                      \
    }

/* Whether weights of type t are packed for a machine at level isa (n_cols must also be a
 * multiple of its block). */
bool kern_packable(ward_type t, ward_isa isa);
/* The multiple of which n_cols must be for type t to be packed. */
int64_t kern_packed_block_cols(ward_type t);
/* Bytes of the packed matrix (groups rounded up to KERN_PACK_ROWS rows). */
size_t kern_packed_bytes(ward_type t, int64_t n_rows, int64_t n_cols);
/* Bytes of one row group (n_cols columns). */
size_t kern_packed_group_bytes(ward_type t, int64_t n_cols);
/* Packs row groups [g0, g1) of w (n_rows, n_cols) into dst, which holds the whole packed matrix. */
void kern_pack(ward_type t, const void *w, int64_t n_rows, int64_t n_cols, int64_t g0,
               int64_t g1, void *dst);
/* Bytes of one activation row in the packed kernels' format. */
size_t kern_packed_act_row_bytes(ward_type t, int64_t n_cols);
/* Converts one activation row x (n_cols floats) to that format. */
void kern_packed_act(ward_type t, ward_isa isa, const float *x, void *dst, int64_t n_cols);
kern_packed_gemm_fn kern_packed_gemm(ward_type t, ward_isa isa);
/* The plain C kernel that sums exactly as kern_packed_gemm(t, isa) does: the reference one,
 * except where an instruction fixes another order (BF16 with VDPBF16PS). */
kern_packed_gemm_fn kern_packed_gemm_twin(ward_type t, ward_isa isa);

#endif
