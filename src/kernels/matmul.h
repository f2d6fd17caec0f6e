/* matmul.h: y = x · Wᵀ for a batch of activation rows, split across a thread pool.
 *
 * W is (n_rows, n_cols) of any computable type, rows contiguous (GGUF layout: ne[0] = n_cols).
 * x is (n_tok, n_cols) float, y is (n_tok, n_rows) float. The activations are first converted
 * once to W's vec_dot_type (e.g. Q8_0 blocks for Q4_0 weights), then each thread takes a slice
 * of W's rows and computes them against every activation row, so each weight row is read from
 * memory once per call however many tokens the batch has.
 */
#ifndef WARD_KERNELS_MATMUL_H
#define WARD_KERNELS_MATMUL_H

#include <stdint.h>

#include "base/threadpool.h"
#include "kernels/types.h"

/* Bytes of scratch kern_matmul needs for activations of this shape (64-byte aligned buffer). */
size_t kern_matmul_scratch_bytes(ward_type wtype, int64_t n_cols, int64_t n_tok);

void kern_matmul(tp_pool *pool, ward_isa isa, ward_type wtype, const void *w, int64_t n_rows,
                 int64_t n_cols, const float *x, int64_t n_tok, float *y, void *scratch);

/* The same product with W packed by kern_pack (packed.h); scratch as kern_matmul_scratch_bytes
 * gives for wtype (which covers both layouts). */
void kern_matmul_packed(tp_pool *pool, ward_isa isa, ward_type wtype, const void *packed,
                        int64_t n_rows, int64_t n_cols, const float *x, int64_t n_tok, float *y,
                        void *scratch);

/* Several packed matrices of one type and width times the same activations (q, k and v; gate
 * and up): the activations are converted once, and one parallel job covers all the rows. */
#define KERN_MATMUL_MAX_MANY 4
typedef struct kern_packed_mat {
    const void *packed;
    int64_t n_rows;
    float *y; /* (n_tok, n_rows) */
} kern_packed_mat;
void kern_matmul_packed_many(tp_pool *pool, ward_isa isa, ward_type wtype,
                             const kern_packed_mat *mats, int n_mats, int64_t n_cols,
                             const float *x, int64_t n_tok, void *scratch);

/* Gate and up (packed alike, the same number of rows) times the same activations with SwiGLU
 * fused: each chunk of row groups computes both and then up->y = silu(gate->y) * up->y on
 * those rows (ops_swiglu), while they are in cache; gate->y keeps the gate. */
void kern_matmul_packed_swiglu(tp_pool *pool, ward_isa isa, ward_type wtype,
                               const kern_packed_mat *gate, const kern_packed_mat *up,
                               int64_t n_cols, const float *x, int64_t n_tok, void *scratch);

#endif
