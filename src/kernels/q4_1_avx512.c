/* q4_1_avx512.c: AVX-512 vec_dot for Q4_1 (reference: q4_1.c): the AVX2 loop shape with the VNNI
 * int8 dot (kernels_avx512.h); to_float and from_float fall back to the AVX2 versions. */
#include <assert.h>

#include "kernels/kernels_avx512.h"

KERN_QBLOCK_MIN_VEC_DOT_X86(avx512, q4_1, block_q4_1, decode_q4_1_x86, dot_i8x32_vnni)
