/* q4_1_avx2.c: AVX2 kernels for Q4_1 (reference: q4_1.c). to_float and vec_dot (with Q8_1
 * activations) are the shared x86 loop shapes for blocks with a minimum (kernels_x86.h) with the
 * nibble decoder; the values 0..15 need no offset. from_float is the reference's. */
#include <assert.h>

#include "kernels/kernels_x86.h"

KERN_QBLOCK_MIN_TO_FLOAT_X86(avx2, q4_1, block_q4_1, decode_q4_1_x86)
KERN_QBLOCK_MIN_VEC_DOT_X86(avx2, q4_1, block_q4_1, decode_q4_1_x86, dot_i8x32_avx2)
