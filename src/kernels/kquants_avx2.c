/* kquants_avx2.c: AVX2 vec_dot of the K-quants with Q8_K activations (reference: kquants.c, the
 * order in kquants.h; the loop shape and chunk decoders: kquants_x86.h). to_float and from_float
 * are the reference's. */
#include "kernels/kquants.h"
#include "kernels/kernels_x86.h"
#include "kernels/kquants_x86.h"

/* acc + 8 int32 lanes of w[i] * x[i] * scale: the int16 pair sums of maddubs (|w| <= 32 and
 * |x| <= 127 keep them below 2^15) multiplied by their group scales in madd. */
static inline __m256i acc_i8x32_scaled_avx2(__m256i acc, __m256i w, __m256i x, __m256i sc16) {
    const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p16, sc16));
}

KERN_KQUANT_VEC_DOT_X86(avx2, q2_K, block_q2_K, KQ_MINS_LANES8, acc_i8x32_scaled_avx2)
KERN_KQUANT_VEC_DOT_X86(avx2, q3_K, block_q3_K, KQ_MINS_NONE, acc_i8x32_scaled_avx2)
KERN_KQUANT_VEC_DOT_X86(avx2, q4_K, block_q4_K, KQ_MINS_LANES4, acc_i8x32_scaled_avx2)
KERN_KQUANT_VEC_DOT_X86(avx2, q5_K, block_q5_K, KQ_MINS_SCALAR, acc_i8x32_scaled_avx2)
KERN_KQUANT_VEC_DOT_X86(avx2, q6_K, block_q6_K, KQ_MINS_NONE, acc_i8x32_scaled_avx2)
