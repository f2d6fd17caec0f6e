/* float_types_avx512.c: AVX-512 kernels for F32, F16 and BF16 (reference: float_types.c).
 *
 * The same KERN_FLOAT_X86 loop shape as the AVX2 file over 16-float vectors (kernels_avx512.h).
 * The BF16 dot converts to fp32 and uses FMA rather than VDPBF16PS, whose denormal flushing
 * would make it disagree with the reference on tiny values.
 */
#include "kernels/kernels_avx512.h"

static inline float f32_identity(float f) { return f; }

KERN_FLOAT_X86(avx512, f32, float, f32x16, 16, f32_identity, f32_identity)
KERN_FLOAT_X86(avx512, f16, uint16_t, f32x16, 16, fp16_to_fp32_x86, fp32_to_fp16_x86)
KERN_FLOAT_X86(avx512, bf16, uint16_t, f32x16, 16, bf16_to_fp32, fp32_to_bf16)
