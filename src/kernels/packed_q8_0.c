/* packed_q8_0.c: Q8_0 weights in 16-row groups (layout in packed.h): packing, and the plain C
 * kernel (the shared reference loop with this format's decoder) every SIMD variant must equal
 * bit for bit. ISA variants: packed_q8_0_avx2.c, packed_q8_0_avx512.c.
 */
#include "kernels/kernels_impl.h"
#include "kernels/packed.h"

#define G KERN_PACK_ROWS

void pack_q8_0x16(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,
                  void *dst) {
    const int64_t nb = n_cols / QK8_0;
    const block_q8_0 *src = w;
    block_q8_0x16 *out = (block_q8_0x16 *)dst + g0 * nb;
    for (int64_t g = g0; g < g1; g++)
        for (int64_t i = 0; i < nb; i++, out++)
            for (int r = 0; r < G; r++) {
                const int64_t row = g * G + r;
                const block_q8_0 *b = row < n_rows ? &src[row * nb + i] : NULL;
                out->d[r] = b ? b->d : 0; /* padding: a zero scale makes the row's dots 0 */
                for (int j = 0; j < 32; j++)
                    out->qs[j / 4][r][j % 4] = (uint8_t)((b ? b->qs[j] : 0) ^ 0x80);
            }
}

static float decode_q8_0x16(const void *blk, int r, int8_t q[32]) {
    const block_q8_0x16 *b = blk;
    for (int j = 0; j < 32; j++) q[j] = (int8_t)(b->qs[j / 4][r][j % 4] ^ 0x80);
    return fp16_to_fp32(b->d[r]);
}

void packed_gemm_q8_0x16_ref(int64_t n_cols, float *restrict out, size_t ldo,
                             const void *restrict w, const void *restrict x, size_t xs,
                             int n_tok) {
    kern_packed_ref(n_cols, out, ldo, w, sizeof(block_q8_0x16), decode_q8_0x16, true, x, xs,
                    n_tok);
}
