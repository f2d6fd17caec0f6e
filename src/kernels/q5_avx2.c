/* q5_avx2.c: AVX2 kernels for Q5_0 and Q5_1 (reference: q5.c). Both decode through
 * fifth_bits_x86 (the 32-bit mask spread to one byte per element); to_float and vec_dot are the
 * shared x86 loop shapes (kernels_x86.h): Q5_0 with Q8_0 activations, Q5_1 with Q8_1.
 * from_float is the reference's. */
#include <assert.h>

#include "kernels/kernels_x86.h"

KERN_QBLOCK_TO_FLOAT_X86(avx2, q5_0, block_q5_0, decode_q5_0_x86)
KERN_QBLOCK_VEC_DOT_X86(avx2, q5_0, block_q5_0, decode_q5_0_x86, dot_i8x32_avx2)
KERN_QBLOCK_TILES_X86(avx2, q5_0, block_q5_0, decode_q5_0_x86, dot_i8x32_avx2)

KERN_QBLOCK_MIN_TO_FLOAT_X86(avx2, q5_1, block_q5_1, decode_q5_1_x86)
KERN_QBLOCK_MIN_VEC_DOT_X86(avx2, q5_1, block_q5_1, decode_q5_1_x86, dot_i8x32_avx2)
