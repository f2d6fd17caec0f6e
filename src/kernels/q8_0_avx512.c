/* q8_0_avx512.c: AVX-512 kernels for Q8_0 (reference: q8_0.c). Only vec_dot gains from VNNI;
 * to_float and from_float fall back to the AVX2 versions through the type table. */
#include <assert.h>

#include "kernels/kernels_avx512.h"

KERN_QBLOCK_VEC_DOT_X86(avx512, q8_0, block_q8_0, decode_q8_0_x86, dot_i8x32_vnni)
KERN_QBLOCK_TILES_X86(avx512, q8_0, block_q8_0, decode_q8_0_x86, dot_i8x32_vnni)
