/* packed_q8_0_avx512.c: the packed Q8_0 kernel with AVX-512 VNNI (reference: packed_q8_0.c;
 * loop shape: packed_x86.h, lanes8: the unpacked Q8_0 vec_dot's order). The stored bytes are
 * already q + 128. */
#include "kernels/kernels_avx512.h"
#include "kernels/packed_x86.h"

static inline void unpack_q8_0x16(const block_q8_0x16 *b, __m512i q[8]) {
    for (int c = 0; c < 8; c++) q[c] = _mm512_loadu_si512(b->qs[c]);
}

KERN_PACKED_GEMM_LANES8_AVX512(packed_gemm_q8_0x16_avx512, block_q8_0x16, unpack_q8_0x16)
