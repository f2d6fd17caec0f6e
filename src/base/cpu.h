/* cpu.h: which instruction-set level the kernels may use.
 *
 * Levels are ordered: a kernel for level L runs on any CPU of level >= L. Kernel tables hold one
 * function pointer per level; NULL falls back to the next lower level and finally to the plain C
 * reference (WARD_ISA_REF). The level is detected with CPUID (and XGETBV for OS support of the
 * wide registers) and may be lowered, never raised, with the environment variable
 * WARD_ISA=ref|avx2|avx512, so tests can run every variant the CPU supports.
 */
#ifndef WARD_BASE_CPU_H
#define WARD_BASE_CPU_H

typedef enum ward_isa {
    WARD_ISA_REF = 0,   /* plain C */
    WARD_ISA_AVX2 = 1,  /* AVX2 + FMA + F16C */
    WARD_ISA_AVX512 = 2, /* AVX-512 F/BW/DQ/VL + VNNI */
    WARD_ISA_AVX512BF16 = 3, /* and AVX512_BF16 (VDPBF16PS) */
    WARD_ISA_COUNT
} ward_isa;

/* Highest level this CPU and OS support. */
ward_isa cpu_isa_detect(void);
/* cpu_isa_detect(), lowered by WARD_ISA if set. Unknown values of WARD_ISA are ignored. */
ward_isa cpu_isa_select(void);
const char *cpu_isa_name(ward_isa isa);
/* Parse "ref", "avx2", "avx512", "avx512bf16"; returns -1 if unknown. */
int cpu_isa_from_name(const char *name);

#endif
