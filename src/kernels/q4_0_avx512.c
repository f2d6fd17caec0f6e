/* q4_0_avx512.c: AVX-512 kernels for Q4_0 (reference: q4_0.c). Only vec_dot gains from VNNI;
 * to_float and from_float fall back to the AVX2 versions through the type table. */
#include <assert.h>

#include "kernels/kernels_avx512.h"

KERN_QBLOCK_VEC_DOT_X86(avx512, q4_0, block_q4_0, decode_q4_0_x86, dot_i8x32_vnni)
KERN_QBLOCK_TILES_X86(avx512, q4_0, block_q4_0, decode_q4_0_x86, dot_i8x32_vnni)
