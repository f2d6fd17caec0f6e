/* float_types.c: reference kernels for the plain float types F32, F16 and BF16.
 *
 * A row is a plain array of elements (block_elems = 1). Activations are converted to the weight's
 * own type (vec_dot_type F16 for F16 weights, BF16 for BF16), as llama.cpp does, so both
 * operands of a dot are rounded the same way. All three types share one macro; only the element
 * type and its scalar conversions differ. The reference dot accumulates in double (like ggml's
 * generic ggml_vec_dot_f16), which makes it the accurate side that SIMD variants, summing in
 * float, are checked against. ISA variants: float_types_avx2.c, float_types_avx512.c.
 */
#include <assert.h>

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
        double sum = 0.0;                                                                    \
        for (int64_t i = 0; i < n; i++) sum += (double)to_f32(a[i]) * (double)to_f32(b[i]); \
        *out = (float)sum;                                                                   \
    }

static inline float f32_identity(float f) { return f; }

FLOAT_TYPE_REF(f32, float, f32_identity, f32_identity)
FLOAT_TYPE_REF(f16, uint16_t, fp16_to_fp32, fp32_to_fp16)
FLOAT_TYPE_REF(bf16, uint16_t, bf16_to_fp32, fp32_to_bf16)
