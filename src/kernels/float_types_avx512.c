/* float_types_avx512.c: AVX-512 kernels for F32, F16 and BF16 (reference: float_types.c).
 *
 * Conversions only, 16 floats at a time (kernels_avx512.h): the dots keep the 8-lane order every
 * ISA shares (kern_sum_lanes8), so the table falls back to the AVX2 dots. Multi-row kernels that
 * keep that order per row while using the full width belong to the GEMM work.
 */
#include "kernels/kernels_avx512.h"

static inline float f32_identity(float f) { return f; }

KERN_FLOAT_CONVERT_X86(avx512, f32, float, f32x16, 16, f32_identity, f32_identity)
KERN_FLOAT_CONVERT_X86(avx512, f16, uint16_t, f32x16, 16, fp16_to_fp32_x86, fp32_to_fp16_x86)
KERN_FLOAT_CONVERT_X86(avx512, bf16, uint16_t, f32x16, 16, bf16_to_fp32, fp32_to_bf16)
