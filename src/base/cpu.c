/* cpu.c: CPUID-based detection of the kernel ISA level (see cpu.h).
 *
 * A level needs both the instructions (CPUID leaf 1 and 7) and the operating system's support
 * for saving the registers they use (XCR0 via XGETBV): AVX2 needs YMM state, AVX-512 also the
 * opmask and ZMM state. The AVX-512 level asks for F/BW/DQ/VL and VNNI (the int8 dots use
 * it); the level above it adds AVX512_BF16 (CPUID leaf 7, subleaf 1), for the BF16 dots. Detection is pure: callers keep the
 * result (a context reads it once when it opens). */
#include "base/cpu.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

ward_isa cpu_isa_detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return WARD_ISA_REF;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(fma && osxsave && avx && f16c)) return WARD_ISA_REF;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return WARD_ISA_REF; /* OS saves XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return WARD_ISA_REF;
    if (!((b >> 5) & 1)) return WARD_ISA_REF; /* AVX2 */
    int avx512f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    int vnni = (c >> 11) & 1;
    int os512 = (xcr0 & 0xe6) == 0xe6; /* opmask, ZMM_Hi256, Hi16_ZMM */
    if (!(avx512f && dq && bw && vl && vnni && os512)) return WARD_ISA_AVX2;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1)) return WARD_ISA_AVX512BF16;
    return WARD_ISA_AVX512;
}
#else
ward_isa cpu_isa_detect(void) { return WARD_ISA_REF; }
#endif

static const char *const isa_names[WARD_ISA_COUNT] = {"ref", "avx2", "avx512", "avx512bf16"};

const char *cpu_isa_name(ward_isa isa) {
    return (unsigned)isa < WARD_ISA_COUNT ? isa_names[isa] : "?";
}

int cpu_isa_from_name(const char *name) {
    for (int i = 0; i < WARD_ISA_COUNT; i++)
        if (strcmp(name, isa_names[i]) == 0) return i;
    return -1;
}

ward_isa cpu_isa_select(void) {
    ward_isa isa = cpu_isa_detect();
    const char *env = getenv("WARD_ISA");
    int want = env ? cpu_isa_from_name(env) : -1;
    if (want >= 0 && (ward_isa)want < isa) isa = (ward_isa)want;
    return isa;
}
