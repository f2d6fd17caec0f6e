/* ops.h: the element-wise and per-row operations of a transformer layer, on float rows.
 *
 * Plain C written so the compiler can vectorize it; these are a small share of the time next to
 * the matrix multiplications. Ops taking an isa have SIMD versions that give the same bits. Numerics follow the reference definitions the golden data was
 * made with (sums of squares and softmax denominators accumulated in double).
 */
#ifndef WARD_KERNELS_OPS_H
#define WARD_KERNELS_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "base/cpu.h"

/* out = x / sqrt(mean(x^2) + eps) * w; out may alias x. */
void ops_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps);
/* out = (x - mean) / sqrt(var + eps) * w + b (biased variance); out may alias x; b may be NULL. */
void ops_layernorm(float *out, const float *x, const float *w, const float *b, int64_t n, float eps);
/* out[i] = gelu(x[i]), the tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void ops_gelu(float *out, const float *x, int64_t n);

/* In-place softmax over n values (the attention row of one query): ops_max, ops_exp_shifted by
 * it, ops_scale by 1 / the sum. */
void ops_softmax(ward_isa isa, float *x, int64_t n);
/* The largest of n values (-inf for none). */
float ops_max(const float *x, int64_t n);
/* x[i] = exp(x[i] - shift) (the reference's vector exp, blocks of 8 from x); returns their sum,
 * each block summed as 8 lanes in kern_sum_lanes8's order and the blocks added in double. */
double ops_exp_shifted(ward_isa isa, float *x, int64_t n, float shift);
/* x[i] *= a */
void ops_scale(ward_isa isa, float *x, int64_t n, float a);
/* out[i] = silu(gate[i]) * up[i] over one row of n (the vector exp runs in blocks of 8 from the
 * row's start, as the reference's); out may alias gate. */
void ops_swiglu(ward_isa isa, float *out, const float *gate, const float *up, int64_t n);
/* y[i] += x[i] */
void ops_add(float *y, const float *x, int64_t n);
/* y[i] += a * x[i] */
void ops_axpy(float *y, float a, const float *x, int64_t n);
/* y[i] += a * x[i] with x in F16 (a product, then a sum: two roundings) */
void ops_axpy_f16(ward_isa isa, float *y, float a, const uint16_t *x, int64_t n);
/* Attention's weighted sum of F16 value rows into 8 lane accumulators (lanes is (8, n)): for
 * each row t < n_rows (rows stride elements apart), lanes[t % 8] += p[t] * row t, as
 * ops_axpy_f16 does it. */
void ops_weighted_rows_f16(ward_isa isa, float *lanes, const float *p, const uint16_t *rows,
                           size_t stride, int64_t n_rows, int64_t n);
/* x[i] = x[i] rounded to F16 and back (round to nearest even) */
void ops_round_f16(ward_isa isa, float *x, int64_t n);

/* out[d] = the sum of lanes[0..8)[d] in the order of the float dots (kern_sum_lanes8 in
 * kernels_impl.h); lanes is (8, n). With lane k holding the terms of positions k mod 8 this is
 * a weighted sum in the same order as a dot product, on every ISA. */
void ops_reduce_lanes8(float *out, const float *lanes, int64_t n);

/* Rotary embedding tables for one position: cos/sin of pos * base^(-2i/n_rot), i < n_rot/2. */
void ops_rope_cache(float *cos_out, float *sin_out, int32_t pos, int32_t n_rot, float freq_base);
/* Rotate the first n_rot dims of each of n_head heads (head_dim apart) in adjacent pairs
 * (x[2i], x[2i+1]): the GGUF "normal" layout used by llama. */
void ops_rope_pairs(float *x, int32_t n_head, int32_t head_dim, int32_t n_rot, const float *cos,
                    const float *sin);
/* The same rotation on the pairs (x[i], x[i + n_rot/2]): the "NeoX" layout of Qwen2 and GPT-NeoX
 * checkpoints, whose q/k rows are not permuted at conversion. */
void ops_rope_halves(float *x, int32_t n_head, int32_t head_dim, int32_t n_rot, const float *cos,
                     const float *sin);

#endif
