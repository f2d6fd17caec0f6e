/* q5_avx512.c: AVX-512 kernels for Q5_0 and Q5_1 (reference: q5.c): the AVX2 loop shapes with the
 * VNNI int8 dot (kernels_avx512.h); to_float and from_float fall back to the AVX2 versions. */
#include <assert.h>

#include "kernels/kernels_avx512.h"

KERN_QBLOCK_VEC_DOT_X86(avx512, q5_0, block_q5_0, decode_q5_0_x86, dot_i8x32_vnni)
KERN_QBLOCK_TILES_X86(avx512, q5_0, block_q5_0, decode_q5_0_x86, dot_i8x32_vnni)
KERN_QBLOCK_MIN_VEC_DOT_X86(avx512, q5_1, block_q5_1, decode_q5_1_x86, dot_i8x32_vnni)
