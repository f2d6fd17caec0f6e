/* float_types_avx2.c: AVX2 kernels for F32, F16 and BF16 (reference: float_types.c).
 *
 * All three are the shared KERN_FLOAT_CONVERT_X86 and KERN_FLOAT_DOT_X86 loop shapes over 8-float vectors; the types differ only
 * in their load/store conversions (kernels_x86.h): F16 through F16C, BF16 through integer
 * shifts. Conversions and dots match the reference bit for bit (dots: the order of kern_sum_lanes8).
 */
#include "kernels/kernels_x86.h"

static inline float f32_identity(float f) { return f; }

KERN_FLOAT_CONVERT_X86(avx2, f32, float, f32x8, 8, f32_identity, f32_identity)
KERN_FLOAT_CONVERT_X86(avx2, f16, uint16_t, f32x8, 8, fp16_to_fp32_x86, fp32_to_fp16_x86)
KERN_FLOAT_CONVERT_X86(avx2, bf16, uint16_t, f32x8, 8, bf16_to_fp32, fp32_to_bf16)
KERN_FLOAT_DOT_X86(avx2, f32, float, f32_identity)
KERN_FLOAT_DOT_X86(avx2, f16, uint16_t, fp16_to_fp32_x86)
KERN_FLOAT_DOT_X86(avx2, bf16, uint16_t, bf16_to_fp32)
KERN_FLOAT_TILES_X86(avx2, f32, float)
KERN_FLOAT_TILES_X86(avx2, f16, uint16_t)
KERN_FLOAT_TILES_X86(avx2, bf16, uint16_t)
