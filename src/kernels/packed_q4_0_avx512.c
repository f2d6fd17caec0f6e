/* packed_q4_0_avx512.c: the packed Q4_0 kernel with AVX-512 VNNI (reference: packed_q4_0.c;
 * loop shape: packed_x86.h). The four 64-byte nibble vectors of a block column unpack into the
 * eight chunks' unsigned q (offset 8 from q - 8). */
#include "kernels/kernels_avx512.h"
#include "kernels/packed_x86.h"

static inline void unpack_q4_0x16(const block_q4_0x16 *b, __m512i q[8]) {
    const __m512i m4 = _mm512_set1_epi8(15);
    for (int p = 0; p < 4; p++) {
        const __m512i v = _mm512_loadu_si512(b->qs[p]);
        q[p] = _mm512_and_si512(v, m4);
        q[p + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    }
}

KERN_PACKED_GEMM_AVX512(packed_gemm_q4_0x16_avx512, block_q4_0x16, unpack_q4_0x16)
