/* packed_q8_0_avx2.c: the packed Q8_0 kernel with AVX2 (reference: packed_q8_0.c; loop shape:
 * packed_x86.h, lanes8: the unpacked Q8_0 vec_dot's order). The stored q + 128 goes back to signed q (VPMADDUBSW would saturate on it). */
#include "kernels/kernels_x86.h"
#include "kernels/packed_x86.h"

static inline void unpack_q8_0x16(const block_q8_0x16 *b, int h, __m256i q[8]) {
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    for (int c = 0; c < 8; c++)
        q[c] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b->qs[c][8 * h]), bias);
}

KERN_PACKED_GEMM_LANES8_AVX2(packed_gemm_q8_0x16_avx2, block_q8_0x16, unpack_q8_0x16)
