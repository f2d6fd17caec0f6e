/* kquants.c: reference to_float and vec_dot (with Q8_K activations) of the K-quants Q2_K, Q3_K,
 * Q4_K, Q5_K and Q6_K (layouts in kernels_impl.h). Each type's quants and scales unpack in
 * kquants.h, and the loop shapes (KERN_KQUANT_REF, with the summation order of every ISA) are
 * there too. Quantizers:
 * kquants_quantize.c; SIMD: kquants_avx2.c, kquants_avx512.c (shape in kquants_x86.h).
 */
#include <assert.h>

#include "kernels/kquants.h"

KERN_KQUANT_REF(q2_K, block_q2_K, KQ_MINS_LANES8)
KERN_KQUANT_REF(q3_K, block_q3_K, KQ_MINS_NONE)
KERN_KQUANT_REF(q4_K, block_q4_K, KQ_MINS_LANES4)
KERN_KQUANT_REF(q5_K, block_q5_K, KQ_MINS_SCALAR)
KERN_KQUANT_REF(q6_K, block_q6_K, KQ_MINS_NONE)
