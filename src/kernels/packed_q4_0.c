/* packed_q4_0.c: Q4_0 weights in 16-row groups (layout in packed.h): packing, and the plain C
 * kernel (the shared reference loop with this format's decoder) every SIMD variant must equal
 * bit for bit. ISA variants: packed_q4_0_avx2.c, packed_q4_0_avx512.c.
 */
#include <string.h>

#include "kernels/kernels_impl.h"
#include "kernels/packed.h"

#define G KERN_PACK_ROWS

void pack_q4_0x16(const void *w, int64_t n_rows, int64_t n_cols, int64_t g0, int64_t g1,
                  void *dst) {
    const int64_t nb = n_cols / QK4_0;
    const block_q4_0 *src = w;
    block_q4_0x16 *out = (block_q4_0x16 *)dst + g0 * nb;
    for (int64_t g = g0; g < g1; g++)
        for (int64_t i = 0; i < nb; i++, out++)
            for (int r = 0; r < G; r++) {
                const int64_t row = g * G + r;
                if (row >= n_rows) { /* padding: a zero scale makes the row's dots 0 */
                    out->d[r] = 0;
                    for (int p = 0; p < 4; p++) memset(out->qs[p][r], 0x88, 4);
                    continue;
                }
                const block_q4_0 *b = &src[row * nb + i];
                out->d[r] = b->d;
                for (int p = 0; p < 4; p++) memcpy(out->qs[p][r], &b->qs[4 * p], 4);
            }
}

static float decode_q4_0x16(const void *blk, int r, int8_t q[32]) {
    const block_q4_0x16 *b = blk;
    for (int p = 0; p < 4; p++)
        for (int k = 0; k < 4; k++) {
            q[4 * p + k] = (int8_t)((b->qs[p][r][k] & 15) - 8);
            q[16 + 4 * p + k] = (int8_t)((b->qs[p][r][k] >> 4) - 8);
        }
    return fp16_to_fp32(b->d[r]);
}

void packed_gemm_q4_0x16_ref(int64_t n_cols, float *restrict out, size_t ldo,
                             const void *restrict w, const void *restrict x, size_t xs,
                             int n_tok) {
    kern_packed_ref(n_cols, out, ldo, w, sizeof(block_q4_0x16), decode_q4_0x16, false, x, xs,
                    n_tok);
}
