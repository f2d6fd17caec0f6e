/* fp16.h: scalar conversions between float and IEEE half / bfloat16 (plain C, exact rounding:
 * round to nearest even, NaN preserved). The SIMD kernels use F16C / AVX-512 BF16 instead. */
#ifndef WARD_KERNELS_FP16_H
#define WARD_KERNELS_FP16_H

#include <stdint.h>
#include <string.h>

static inline float fp32_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t fp32_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f);

static inline float bf16_to_fp32(uint16_t h) { return fp32_from_bits((uint32_t)h << 16); }
static inline uint16_t fp32_to_bf16(float f) {
    uint32_t u = fp32_to_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 64); /* quiet NaN */
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

#endif
