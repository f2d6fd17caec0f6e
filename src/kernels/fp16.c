/* fp16.c: exact scalar conversions between float and IEEE 754 binary16 (see fp16.h).
 *
 * Both directions are pure integer bit manipulation, so they give the same answer on every
 * compiler and rounding mode, and match the F16C instructions (VCVTPH2PS, and VCVTPS2PH with
 * round-to-nearest-even) bit for bit, NaNs included: a NaN comes out quiet with its sign and the
 * top bits of its payload kept. The SIMD kernels use F16C; the tests compare the two over all
 * 65536 halves.
 */
#include "kernels/fp16.h"

float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    if (exp == 0x1f) /* inf, or NaN made quiet */
        return fp32_from_bits(sign | 0x7f800000 | (mant << 13) | (mant ? 0x400000 : 0));
    if (exp == 0) { /* zero or subnormal: mant * 2^-24 is exact in float */
        const float mag = (float)mant * 0x1p-24f;
        return fp32_from_bits(sign | fp32_to_bits(mag));
    }
    return fp32_from_bits(sign | ((exp + 112) << 23) | (mant << 13)); /* rebias 15 -> 127 */
}

uint16_t fp32_to_fp16(float f) {
    const uint32_t x = fp32_to_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    const uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) /* NaN: quiet, keep the top 9 payload bits */
        return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff));
    if (ax >= 0x477ff000) /* >= 65520 = 65504 + half an ulp: ties to even, i.e. to inf */
        return (uint16_t)(sign | 0x7c00);
    if (ax < 0x38800000) { /* below 2^-14: a subnormal half, counted in units of 2^-24 */
        const uint32_t e = ax >> 23;
        if (e < 102) return sign; /* below 2^-25: rounds to zero */
        const uint32_t m = (ax & 0x7fffff) | 0x800000; /* value = m * 2^(e-150) */
        const uint32_t shift = 126 - e;                 /* 14..24 */
        uint32_t q = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++; /* may carry into the smallest normal */
        return (uint16_t)(sign | q);
    }
    /* normal: rebias the exponent, then round the 13 dropped mantissa bits to nearest even; a
     * carry out of the mantissa correctly bumps the exponent */
    const uint32_t v = ax - 0x38000000;
    return (uint16_t)(sign | ((v + 0x0fff + ((v >> 13) & 1)) >> 13));
}
