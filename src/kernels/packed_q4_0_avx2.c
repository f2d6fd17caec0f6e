/* packed_q4_0_avx2.c: the packed Q4_0 kernel with AVX2 (reference: packed_q4_0.c; loop shape:
 * packed_x86.h). A half's four 32-byte nibble vectors unpack into the eight chunks' q - 8. */
#include "kernels/kernels_x86.h"
#include "kernels/packed_x86.h"

static inline void unpack_q4_0x16(const block_q4_0x16 *b, int h, __m256i q[8]) {
    const __m256i m4 = _mm256_set1_epi8(15), eight = _mm256_set1_epi8(8);
    for (int p = 0; p < 4; p++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)b->qs[p][8 * h]);
        q[p] = _mm256_sub_epi8(_mm256_and_si256(v, m4), eight);
        q[p + 4] = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), eight);
    }
}

KERN_PACKED_GEMM_AVX2(packed_gemm_q4_0x16_avx2, block_q4_0x16, unpack_q4_0x16)
