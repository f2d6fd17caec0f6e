/* kquants_x86.h: the x86 loop shape of the K-quant vec_dots (with Q8_K activations; order in
 * kquants.h) and the chunk decoders it uses, shared by kquants_avx2.c and kquants_avx512.c.
 *
 * Per super-block the scales unpack in scalar code (kquants.h), then each of the 8 chunks of 32
 * elements decodes to 32 signed bytes in element order, and acc_scaled adds the 8 int32 lanes of
 * that chunk, already multiplied by the group scales: lane k holds elements 4k..4k+3, exactly the
 * reference's lanes. Integer sums are exact, so only the float steps (one fused multiply-add
 * per lane per super-block, the minimums by kq_mins) fix the result, and they match kquants.h.
 * Include after kernels_x86.h (or kernels_avx512.h) and kquants.h.
 */
#ifndef WARD_KERNELS_KQUANTS_X86_H
#define WARD_KERNELS_KQUANTS_X86_H

#include <assert.h>

/* ---------------------------------------------------------------------------------------------
 * Chunk decoders: chunk c (elements 32c..32c+31) as 32 signed bytes
 * ------------------------------------------------------------------------------------------- */

static inline __m256i load32(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* bits (shift .. shift + width - 1) of each byte */
static inline __m256i bits_x86(__m256i v, int shift, int mask) {
    return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8((char)mask));
}

static inline __m256i kq_chunk_q2_K(const void *blk, int c) {
    const block_q2_K *b = blk;
    return bits_x86(load32(b->qs + 32 * (c / 4)), 2 * (c % 4), 3);
}

static inline __m256i kq_chunk_q3_K(const void *blk, int c) {
    const block_q3_K *b = blk;
    const __m256i lo = bits_x86(load32(b->qs + 32 * (c / 4)), 2 * (c % 4), 3);
    const __m256i hi = _mm256_slli_epi16(bits_x86(load32(b->hmask), c, 1), 2);
    return _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(4));
}

static inline __m256i kq_chunk_q4_K(const void *blk, int c) {
    const block_q4_K *b = blk;
    return bits_x86(load32(b->qs + 32 * (c / 2)), 4 * (c % 2), 0x0f);
}

static inline __m256i kq_chunk_q5_K(const void *blk, int c) {
    const block_q5_K *b = blk;
    const __m256i lo = bits_x86(load32(b->qs + 32 * (c / 2)), 4 * (c % 2), 0x0f);
    return _mm256_or_si256(lo, _mm256_slli_epi16(bits_x86(load32(b->qh), c, 1), 4));
}

static inline __m256i kq_chunk_q6_K(const void *blk, int c) {
    const block_q6_K *b = blk;
    const int h = c / 4, s = c % 4;
    const __m256i lo = bits_x86(load32(b->ql + 64 * h + 32 * (s % 2)), 4 * (s / 2), 0x0f);
    const __m256i hi = _mm256_slli_epi16(bits_x86(load32(b->qh + 32 * h), 2 * s, 3), 4);
    return _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(32));
}

/* ---------------------------------------------------------------------------------------------
 * The loop shape
 * ------------------------------------------------------------------------------------------- */


#define KERN_KQUANT_VEC_DOT_X86(isa, wname, block_t, mode, acc_scaled)                         \
    void vec_dot_##wname##_q8_K_##isa(int64_t n, float *restrict out, const void *restrict w,  \
                                      const void *restrict x) {                                \
        assert(n % QK_K == 0);                                                                 \
        const block_t *bw = w;                                                                 \
        const block_q8_K *bx = x;                                                              \
        __m256 acc = _mm256_setzero_ps();                                                      \
        kq_side side = {{0}, 0};                                                               \
        for (int64_t i = 0; i < n / QK_K; i++) {                                               \
            kq_scales s;                                                                       \
            kq_scales_##wname(&bw[i], &s);                                                     \
            if (mode != KQ_MINS_NONE) {                                                        \
                const float dmin = -(bx[i].d * s.dmin);                                        \
                int32_t p[8];                                                                  \
                kq_min_pairs(&s, bx[i].bsums, p);                                              \
                if (mode == KQ_MINS_LANES8)                                                    \
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin),                                \
                                          _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)p)), acc); \
                kq_side_add(&side, mode, dmin, p);                                             \
            }                                                                                  \
            __m256i sumi = _mm256_setzero_si256();                                             \
            for (int c = 0; c < 8; c++) {                                                      \
                const __m256i sc = _mm256_set_m128i(_mm_set1_epi16(s.sc[2 * c + 1]),           \
                                                    _mm_set1_epi16(s.sc[2 * c]));              \
                const __m256i q8 = _mm256_loadu_si256((const __m256i *)(bx[i].qs + 32 * c));   \
                sumi = acc_scaled(sumi, kq_chunk_##wname(&bw[i], c), q8, sc);                  \
            }                                                                                  \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(bx[i].d * s.d), _mm256_cvtepi32_ps(sumi), acc); \
        }                                                                                      \
        *out = kq_finish(hsum_f32x8(acc), &side, mode);                                        \
    }

#endif
