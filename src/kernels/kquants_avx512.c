/* kquants_avx512.c: AVX-512 VNNI vec_dot of the K-quants with Q8_K activations (reference:
 * kquants.c; loop shape: kquants_x86.h). The only change from AVX2: VPDPWSSD scales the pair
 * sums and adds them in one instruction. The matmuls of Q4_K and Q6_K use the packed kernels;
 * these serve the other K-quants and any matrix left unpacked. */
#include "kernels/kquants.h"
#include "kernels/kernels_avx512.h"
#include "kernels/kquants_x86.h"

static inline __m256i acc_i8x32_scaled_vnni(__m256i acc, __m256i w, __m256i x, __m256i sc16) {
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_dpwssd_epi32(acc, p16, sc16);
}

KERN_KQUANT_VEC_DOT_X86(avx512, q2_K, block_q2_K, KQ_MINS_LANES8, acc_i8x32_scaled_vnni)
KERN_KQUANT_VEC_DOT_X86(avx512, q3_K, block_q3_K, KQ_MINS_NONE, acc_i8x32_scaled_vnni)
KERN_KQUANT_VEC_DOT_X86(avx512, q4_K, block_q4_K, KQ_MINS_LANES4, acc_i8x32_scaled_vnni)
KERN_KQUANT_VEC_DOT_X86(avx512, q5_K, block_q5_K, KQ_MINS_SCALAR, acc_i8x32_scaled_vnni)
KERN_KQUANT_VEC_DOT_X86(avx512, q6_K, block_q6_K, KQ_MINS_NONE, acc_i8x32_scaled_vnni)
