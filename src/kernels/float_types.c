/* float_types.c: reference kernels for the plain float types F32, F16 and BF16.
 *
 * A row is a plain array of elements (block_elems = 1). Activations are converted to the weight's
 * own type (vec_dot_type F16 for F16 weights, BF16 for BF16), as llama.cpp does, so both
 * operands of a dot are rounded the same way. All three types share one macro; only the element
 * type and its scalar conversions differ. The dot sums in the fixed order every ISA shares
 * (kernels_impl.h: 8 lanes, or 4 x 8 lanes when n % 8 != 0), so SIMD variants must match it
 * bit for bit. ISA variants: float_types_avx2.c, float_types_avx512.c.
 */
#include <assert.h>
#include <math.h>

#include "kernels/kernels_impl.h"

#define FLOAT_TYPE_REF(name, elem_t, to_f32, from_f32)                                       \
    void to_float_##name##_ref(const void *restrict src, float *restrict dst, int64_t n) {   \
        const elem_t *s = src;                                                               \
        for (int64_t i = 0; i < n; i++) dst[i] = to_f32(s[i]);                               \
    }                                                                                        \
    void from_float_##name##_ref(const float *restrict src, void *restrict dst, int64_t n) { \
        elem_t *d = dst;                                                                     \
        for (int64_t i = 0; i < n; i++) d[i] = from_f32(src[i]);                             \
    }                                                                                        \
    void vec_dot_##name##_##name##_ref(int64_t n, float *restrict out,                       \
                                       const void *restrict w, const void *restrict x) {     \
        const elem_t *a = w, *b = x;                                                         \
        const int64_t step = n % 8 == 0 ? 8 : 32; /* the two orders of kernels_impl.h */     \
        float acc[32] = {0};                                                                 \
        int64_t i = 0;                                                                       \
        for (; i + step <= n; i += step)                                                     \
            for (int l = 0; l < step; l++)                                                   \
                acc[l] = fmaf(to_f32(a[i + l]), to_f32(b[i + l]), acc[l]);                   \
        float sum;                                                                           \
        if (step == 8) {                                                                     \
            sum = kern_sum_lanes8(acc);                                                      \
        } else {                                                                             \
            float lanes[8];                                                                  \
            for (int l = 0; l < 8; l++)                                                      \
                lanes[l] = (acc[l] + acc[16 + l]) + (acc[8 + l] + acc[24 + l]);              \
            sum = kern_sum_lanes8_pairs(lanes);                                              \
        }                                                                                    \
        for (; i < n; i++) sum = fmaf(to_f32(a[i]), to_f32(b[i]), sum);                      \
        *out = sum;                                                                          \
    }

static inline float f32_identity(float f) { return f; }

FLOAT_TYPE_REF(f32, float, f32_identity, f32_identity)
FLOAT_TYPE_REF(f16, uint16_t, fp16_to_fp32, fp32_to_fp16)
FLOAT_TYPE_REF(bf16, uint16_t, bf16_to_fp32, fp32_to_bf16)
