/* test_kernels.c: the compute kernels of every computable type at every ISA level this CPU
 * has, against the plain C _ref versions; fp16/bf16 conversions; quantization error; matmul.
 *
 * Sections (in order): helpers, fp16/bf16 conversions (exhaustive over all 65536 halves, tricky
 * roundings, random floats against a nearest-value oracle), per type x ISA kernel checks
 * (to_float, from_float, vec_dot on odd lengths), quantization error bounds, special
 * quantization blocks (ties, all zero, sign of the largest element), and kern_matmul against a
 * double-precision reference with 1 and 2 threads.
 *
 * Tolerances: to_float and from_float must match _ref bit for bit at every ISA (the SIMD
 * versions do the same single roundings), and so must every vec_dot (one fixed summation
 * order per type family, kernels_impl.h). vec_dot_tolerance() bounds the reference's own error
 * against an exact double dot.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/threadpool.h"
#include "harness.h"
#include "kernels/fp16.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/packed.h"
#include "kernels/types.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static const double U = 0x1p-24; /* float unit roundoff */

/* One row per computable type: how far dequant(quant(x)) may be from x, as
 * rel * |x| + abs + of_amax * (largest magnitude in x's block), and where raw random weight
 * blocks keep their fp16 scales (byte offsets, -1: none), so they can be set to sane values.
 * min_off: offset of the fp16 minimum of types dotted with Q8_1 (see vec_dot_tolerance).
 *   F16 / BF16: half an ulp, 2^-11 / 2^-8 relative; F16 subnormals are 2^-24 apart (2^-25).
 *   Q8_0: step d = amax / 127; rounding errs by d / 2, and storing d as fp16 (relative error
 *         2^-11) moves q * d by up to 127 * 2^-11 * d more: 0.57 d.
 *   Q4_0, Q5_0: step d = amax / 8 (16); rounding errs by d / 2, except that +8 d (+16 d) clamps
 *         to 7 d (15 d), error up to d; fp16 d adds 8 (16) * 2^-11 * d: 1.005 d (1.008 d).
 *   Q4_1, Q5_1: step d = (max - min) / 15 (31) <= 2 amax / 15 (31); error d / 2, fp16 d adds
 *         15 (31) * 2^-11 d, fp16 m adds 2^-11 amax: 0.069 amax (0.034 amax).
 *   Q4_K, Q5_K, Q6_K (amax of the 256-element super-block): each element is requantized against
 *         its quantized group scale dl <= (63.5 / 63) * largest fitted scale, which the searches
 *         keep near 2 amax / (nmax - 1) (Q4_K, Q5_K) or amax / 31.5 (Q6_K); the error is
 *         dl / 2 plus the minimum's 6-bit rounding (<= dmin / 2 <= amax / 126), and a clamp at
 *         the top level can add one more step. Bounds: one full step, 2 amax / 14 (Q4_K),
 *         2 amax / 30 (Q5_K), amax / 31 (Q6_K); measured worst cases are printed.
 *   Q2_K, Q3_K: no quantizer here (weights only come from files). */
static const struct type_case {
    ward_type t;
    double rel, abs, of_amax;
    int f16_off[2], min_off;
} type_cases[] = {
    {WARD_TYPE_F32, 0.0, 0.0, 0.0, {-1, -1}, -1},
    {WARD_TYPE_F16, 0x1p-11, 0x1p-25, 0.0, {-1, -1}, -1},
    {WARD_TYPE_BF16, 0x1p-8, 0.0, 0.0, {-1, -1}, -1},
    {WARD_TYPE_Q8_0, 0.0, 0.0, 0.57 / 127, {0, -1}, -1},
    {WARD_TYPE_Q4_0, 0.0, 0.0, 1.005 / 8, {0, -1}, -1},
    {WARD_TYPE_Q4_1, 0.0, 0.0, 0.069, {0, 2}, 2},
    {WARD_TYPE_Q5_0, 0.0, 0.0, 1.008 / 16, {0, -1}, -1},
    {WARD_TYPE_Q5_1, 0.0, 0.0, 0.034, {0, 2}, 2},
    {WARD_TYPE_Q2_K, 0.0, 0.0, 0.0, {80, 82}, -1},
    {WARD_TYPE_Q3_K, 0.0, 0.0, 0.0, {108, -1}, -1},
    {WARD_TYPE_Q4_K, 0.0, 0.0, 2.0 / 14, {0, 2}, -1},
    {WARD_TYPE_Q5_K, 0.0, 0.0, 2.0 / 30, {0, 2}, -1},
    {WARD_TYPE_Q6_K, 0.0, 0.0, 1.0 / 31, {208, -1}, -1},
};
#define N_TYPE_CASES (sizeof type_cases / sizeof type_cases[0])

static const struct type_case *find_case(ward_type t);

/* Lengths in blocks that are not multiples of any vector width (8, 16, 32 floats or 2 blocks):
 * 32, 96, 160, 4128 elements for 32-element blocks, 256, 768, 1280, 33024 for K-quants; plus,
 * for float types, lengths that leave scalar tails. */
static const int64_t block_counts[] = {1, 3, 5, 129};
static const int64_t float_lengths[] = {1, 7, 32, 33, 96, 160, 1000, 4096 + 32};

static bool is_float_type(ward_type t) { return kern_type(t)->block_elems == 1; }

/* Random floats with magnitudes spread over 2^-6 .. 2^6 and the occasional exact zero, so
 * quantization sees blocks with outliers and blocks of similar values. */
static void fill_random(float *x, int64_t n, uint64_t *rng) {
    for (int64_t i = 0; i < n; i++) {
        const uint64_t r = test_rand_u64(rng);
        const int e = (int)(r % 13) - 6;
        x[i] = (r >> 8) % 97 == 0 ? 0.0f : ldexpf(test_rand_f32(rng), e);
    }
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* Index of the first differing byte, or -1. */
static int64_t first_diff(const void *a, const void *b, size_t n) {
    const uint8_t *p = a, *q = b;
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i]) return (int64_t)i;
    return -1;
}

/* Sum of |w[i] * x[i]| over the dequantized rows, in double: the scale of the rounding error. */
static double abs_dot(const float *w, const float *x, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += fabs((double)w[i] * x[i]);
    return s;
}

/* How far a SIMD vec_dot may be from _ref. Every product is exact or rounded once, and only
 * the summation order differs. Float types: _ref sums in double (error below 1 ulp of the
 * result); SIMD keeps 4 x 8 (or 16) float lanes, so each lane sums at most ceil(n / 8) terms,
 * then at most ~16 more additions merge lanes and the scalar tail. Recursive summation of k
 * terms errs by at most (k - 1) u sum|terms|, hence (n / 8 + 16) u S with S = sum |w x|.
 * Quantized types: each block's integer dot is exact on both sides and d_w * d_x is rounded
 * identically; _ref then rounds the product and the running sum once each per block (2 u S per
 * block), SIMD at most once per block per lane plus the lane merge: (2 nb + 16) u S. */
static double vec_dot_tolerance(ward_type t, int64_t n, double s_abs) {
    const double k = is_float_type(t) ? (double)n / 8 + 16 : 2.0 * ((double)n / 32) + 16;
    return k * U * s_abs + 1e-30;
}

static const struct type_case *find_case(ward_type t) {
    for (size_t i = 0; i < N_TYPE_CASES; i++)
        if (type_cases[i].t == t) return &type_cases[i];
    return NULL;
}

/* Q8_1 activations bring an error of their own: s = fp16(d * sum(q)) replaces the exact sum in
 * m * s, off by up to 2^-11 |s| <= 2^-11 sum |x| per block (plus a float rounding). Returns
 * sum over blocks of |m| * sum |x| * 2^-10 (0 for other types). */
static double min_tolerance(ward_type t, const void *w, const float *xf, int64_t n) {
    const struct type_case *tc = find_case(t);
    if (!tc || tc->min_off < 0) return 0.0;
    const kern_type_row *row = kern_type(t);
    double tol = 0.0;
    for (int64_t b = 0; b < n / row->block_elems; b++) {
        uint16_t m;
        memcpy(&m, (const uint8_t *)w + (size_t)b * row->block_bytes + tc->min_off, 2);
        double sx = 0.0;
        for (int64_t j = 0; j < row->block_elems; j++) sx += fabs(xf[b * row->block_elems + j]);
        tol += fabs(fp16_to_fp32(m)) * sx * 0x1p-10;
    }
    return tol;
}

/* A row of type t from random floats, converted by the reference (so every ISA sees the same
 * bytes). For quantized weight rows, random raw quant bytes are used instead, with a random
 * finite scale: that covers every nibble / byte value, including -128 in Q8_0 weights. */
static void make_row(ward_type t, int64_t n, void *dst, bool raw_quant, uint64_t *rng) {
    const kern_type_row *row = kern_type(t);
    if (row->from_float[WARD_ISA_REF]) {
        float *tmp = xmalloc((size_t)n * sizeof(float));
        fill_random(tmp, n, rng);
        row->from_float[WARD_ISA_REF](tmp, dst, n);
        free(tmp);
        if (!raw_quant || row->block_elems == 1) return;
    }
    /* raw blocks (always for types without a quantizer); the minimum gets a random sign */
    const struct type_case *tc = find_case(t);
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / row->block_elems; i++) {
        uint8_t *blk = b + (size_t)i * row->block_bytes;
        for (size_t j = 0; j < row->block_bytes; j++) blk[j] = (uint8_t)test_rand_u64(rng);
        for (int k = 0; k < 2; k++) {
            if (tc->f16_off[k] < 0) continue;
            const float v = ldexpf(fabsf(test_rand_f32(rng)) + 0.01f, -7);
            const uint16_t h = fp32_to_fp16(k == 1 && (test_rand_u64(rng) & 1) ? -v : v);
            memcpy(blk + tc->f16_off[k], &h, 2);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * fp16 / bf16 conversions
 * ------------------------------------------------------------------------------------------- */

/* The value a half stands for, computed independently with ldexp. */
static double fp16_value(uint16_t h) {
    const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    const double mag = e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
    return (h & 0x8000) ? -mag : mag;
}

static void test_fp16_exhaustive(void) {
    int bad_value = 0, bad_trip = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = fp16_to_fp32((uint16_t)h);
        const uint16_t back = fp32_to_fp16(f);
        const bool nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
        const bool inf = ((h >> 10) & 0x1f) == 0x1f && !(h & 0x3ff);
        if (nan) {
            /* NaN comes back quiet (bit 9 set) with sign and payload kept */
            bad_value += !(isnan(f) && !!signbit(f) == !!(h & 0x8000));
            bad_trip += back != (h | 0x200);
        } else {
            const double inf_val = (h & 0x8000) ? -INFINITY : INFINITY;
            const double want = inf ? inf_val : fp16_value((uint16_t)h);
            bad_value += !((double)f == want && !!signbit(f) == !!(h & 0x8000));
            bad_trip += back != h;
        }
    }
    CHECK(bad_value == 0, "fp16_to_fp32: %d of 65536 halves convert to the wrong float", bad_value);
    CHECK(bad_trip == 0, "fp32_to_fp16(fp16_to_fp32(h)) != h for %d halves", bad_trip);

    int bad_bf = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = bf16_to_fp32((uint16_t)h);
        const bool nan = ((h >> 7) & 0xff) == 0xff && (h & 0x7f);
        bad_bf += fp32_to_bf16(f) != (nan ? (h | 0x40) : h);
    }
    CHECK(bad_bf == 0, "bf16 round trip fails for %d of 65536 values", bad_bf);
}

/* Oracle for float -> half: the result must be a nearest half, and even on a tie. Beyond the
 * largest half (65504) the next step would be 65536, so >= 65520 must give inf. */
static bool fp16_rounding_ok(float f) {
    const uint16_t h = fp32_to_fp16(f);
    const uint16_t mag = h & 0x7fff;
    if (!!(h & 0x8000) != !!signbit(f)) return false;
    const double af = fabs((double)f);
    if (af >= 65520.0) return mag == 0x7c00;
    if (mag >= 0x7c00) return false;
    const double err = fabs(af - fp16_value(mag));
    const double up = mag + 1 < 0x7c00 ? fp16_value((uint16_t)(mag + 1)) : 65536.0;
    const double e_up = fabs(af - up);
    const double e_dn = mag > 0 ? fabs(af - fp16_value((uint16_t)(mag - 1))) : INFINITY;
    if (err > e_up || err > e_dn) return false;
    if (err == e_up || err == e_dn) return (mag & 1) == 0;
    return true;
}

static void test_fp16_rounding(void) {
    static const struct {
        float f;
        uint16_t h;
    } cases[] = {
        {1.0f, 0x3c00},
        {1.0f + 0x1p-11f, 0x3c00},              /* tie, even stays */
        {1.0f + 3 * 0x1p-11f, 0x3c02},          /* tie, odd rounds up */
        {1.0f + 0x1p-11f + 0x1p-23f, 0x3c01},   /* just above the tie */
        {65504.0f, 0x7bff},                     /* largest half */
        {65519.99f, 0x7bff},                    /* below half an ulp over it */
        {65520.0f, 0x7c00},                     /* tie with "65536": to inf */
        {1e10f, 0x7c00},
        {-65520.0f, 0xfc00},
        {0x1p-24f, 0x0001},                     /* smallest subnormal */
        {0x1p-25f, 0x0000},                     /* tie between 0 and 2^-24: even = 0 */
        {0x1p-25f * 1.0000001f, 0x0001},        /* just above: up */
        {3 * 0x1p-25f, 0x0002},                 /* 1.5 units: tie to even 2 */
        {0x1p-14f - 0x1p-25f, 0x0400},          /* tie between largest subnormal and 2^-14 */
        {0x1p-14f, 0x0400},                     /* smallest normal */
        {1e-10f, 0x0000},
        {-1e-10f, 0x8000},
        {-0.0f, 0x8000},
        {0x1p-149f, 0x0000},                    /* float subnormal */
        {INFINITY, 0x7c00},
        {-INFINITY, 0xfc00},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint16_t h = fp32_to_fp16(cases[i].f);
        CHECK(h == cases[i].h, "fp32_to_fp16(%a) = 0x%04x, want 0x%04x", cases[i].f, h, cases[i].h);
    }
    CHECK((fp32_to_fp16(NAN) & 0x7e00) == 0x7e00,
          "fp32_to_fp16(NaN) is not a quiet NaN");

    static const struct {
        float f;
        uint16_t h;
    } bcases[] = {
        {1.0f, 0x3f80},
        {1.0f + 0x1p-8f, 0x3f80},               /* tie, even */
        {1.0f + 3 * 0x1p-8f, 0x3f82},           /* tie, odd: up */
        {1.0f + 0x1p-8f + 0x1p-20f, 0x3f81},
        {3.4028235e38f, 0x7f80},                /* FLT_MAX rounds up to inf */
        {-0.0f, 0x8000},
        {0x1p-149f, 0x0000},                    /* tie between 0 and the smallest: even */
        {0x1p-133f, 0x0001},                    /* smallest bf16 subnormal */
    };
    for (size_t i = 0; i < sizeof bcases / sizeof bcases[0]; i++) {
        const uint16_t h = fp32_to_bf16(bcases[i].f);
        CHECK(h == bcases[i].h, "fp32_to_bf16(%a) = 0x%04x, want 0x%04x", bcases[i].f, h,
              bcases[i].h);
    }

    /* random floats around the half range against the nearest-value oracle */
    uint64_t rng = 7;
    int bad = 0;
    for (int i = 0; i < 1000000; i++) {
        const uint32_t r = (uint32_t)test_rand_u64(&rng);
        const uint32_t exp = 95 + (r >> 8) % 52; /* 2^-32 .. 2^19: zero, subnormal, normal, inf */
        const float f = fp32_from_bits((r & 0x807fffff) | exp << 23);
        bad += !fp16_rounding_ok(f);
    }
    CHECK(bad == 0, "fp32_to_fp16 is not round-to-nearest-even for %d of 1e6 random floats", bad);
}

/* Every ISA's F16/BF16 to_float over all 65536 values, and from_float over those floats, the
 * tricky cases and random bit patterns: bit-identical to _ref (NaNs included). */
static void test_float_conversions_simd(ward_isa isa) {
    const int64_t n = 65536 + 1000003 + 7;
    uint16_t *h = xmalloc((size_t)n * 2), *a = xmalloc((size_t)n * 2), *b = xmalloc((size_t)n * 2);
    float *fa = xmalloc((size_t)n * 4), *fb = xmalloc((size_t)n * 4);
    const ward_type types[] = {WARD_TYPE_F16, WARD_TYPE_BF16};
    for (size_t ti = 0; ti < 2; ti++) {
        const kern_type_row *row = kern_type(types[ti]);
        for (int64_t i = 0; i < 65536; i++) h[i] = (uint16_t)i;
        row->to_float[WARD_ISA_REF](h, fa, 65536);
        kern_to_float(types[ti], isa)(h, fb, 65536);
        int64_t d = first_diff(fa, fb, 65536 * 4);
        CHECK(d < 0, "%s to_float %s: all-halves differs at element %lld", row->name,
              cpu_isa_name(isa), (long long)(d / 4));
        /* floats: every half's value, then random bit patterns (NaN, inf, subnormal included) */
        uint64_t rng = 11 + ti;
        for (int64_t i = 65536; i < n; i++) fa[i] = fp32_from_bits((uint32_t)test_rand_u64(&rng));
        row->from_float[WARD_ISA_REF](fa, a, n);
        kern_from_float(types[ti], isa)(fa, b, n);
        d = first_diff(a, b, (size_t)n * 2);
        CHECK(d < 0, "%s from_float %s differs at element %lld (input %a)", row->name,
              cpu_isa_name(isa), (long long)(d / 2), d >= 0 ? fa[d / 2] : 0.0);
    }
    free(h), free(a), free(b), free(fa), free(fb);
}

/* ---------------------------------------------------------------------------------------------
 * Kernels against _ref, per type and ISA
 * ------------------------------------------------------------------------------------------- */

static void test_type_isa(ward_type t, ward_isa isa) {
    const kern_type_row *row = kern_type(t);
    const kern_type_row *xrow = kern_type(row->vec_dot_type);
    const bool flt = is_float_type(t);
    const size_t n_lens = flt ? sizeof float_lengths / sizeof float_lengths[0]
                              : sizeof block_counts / sizeof block_counts[0];
    uint64_t rng = 1000 + (uint64_t)t;
    for (size_t li = 0; li < n_lens; li++) {
        const int64_t n = flt ? float_lengths[li] : block_counts[li] * row->block_elems;
        const size_t wb = kern_row_bytes(t, n), xb = kern_row_bytes(row->vec_dot_type, n);
        void *w = xmalloc(wb), *x = xmalloc(xb), *qa = xmalloc(wb), *qb = xmalloc(wb);
        float *src = xmalloc((size_t)n * 4), *xf = xmalloc((size_t)n * 4);
        float *fa = xmalloc((size_t)n * 4), *fb = xmalloc((size_t)n * 4);

        /* to_float: raw random blocks */
        make_row(t, n, w, true, &rng);
        row->to_float[WARD_ISA_REF](w, fa, n);
        kern_to_float(t, isa)(w, fb, n);
        int64_t d = first_diff(fa, fb, (size_t)n * 4);
        CHECK(d < 0, "%s to_float %s n=%lld: element %lld is %g, ref %g", row->name,
              cpu_isa_name(isa), (long long)n, (long long)(d / 4), d >= 0 ? fb[d / 4] : 0.0,
              d >= 0 ? fa[d / 4] : 0.0);

        /* from_float: the same bytes as the reference */
        fill_random(src, n, &rng);
        if (row->from_float[WARD_ISA_REF]) {
            row->from_float[WARD_ISA_REF](src, qa, n);
            kern_from_float(t, isa)(src, qb, n);
            d = first_diff(qa, qb, wb);
            CHECK(d < 0, "%s from_float %s n=%lld: byte %lld differs", row->name,
                  cpu_isa_name(isa), (long long)n, (long long)d);
        }

        /* vec_dot: raw weights, activations as the runtime makes them */
        fill_random(src, n, &rng);
        xrow->from_float[WARD_ISA_REF](src, x, n);
        xrow->to_float[WARD_ISA_REF](x, xf, n);
        float ref = 0.0f, got = 0.0f;
        row->vec_dot[WARD_ISA_REF](n, &ref, w, x);
        kern_vec_dot(t, isa)(n, &got, w, x);
        const double s_abs = abs_dot(fa, xf, n);
        const double tol = vec_dot_tolerance(t, n, s_abs) + min_tolerance(t, w, xf, n);
        /* every type sums in one fixed order on every ISA (kernels_impl.h): bit for bit */
        CHECK(got == ref, "%s vec_dot %s n=%lld: %.9g, ref %.9g: the summation order differs",
              row->name, cpu_isa_name(isa), (long long)n, got, ref);
        /* and the reference itself against a double dot of the dequantized rows */
        double exact = 0.0;
        for (int64_t i = 0; i < n; i++) exact += (double)fa[i] * xf[i];
        CHECK(fabs(ref - exact) <= tol, "%s vec_dot ref n=%lld: %.9g vs exact %.9g", row->name,
              (long long)n, ref, exact);

        free(w), free(x), free(qa), free(qb), free(src), free(fa), free(fb), free(xf);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Quantization error against the original floats
 * ------------------------------------------------------------------------------------------- */

/* ---------------------------------------------------------------------------------------------
 * Quantization error against the original floats, and blocks that test the rounding rules
 * ------------------------------------------------------------------------------------------- */

static void test_quant_error(const struct type_case *tc) {
    const kern_type_row *row = kern_type(tc->t);
    if (!row->from_float[WARD_ISA_REF]) return;
    const int64_t be = row->block_elems > 1 ? row->block_elems : 32, n = 129 * be;
    float *x = xmalloc((size_t)n * 4), *y = xmalloc((size_t)n * 4);
    void *q = xmalloc(kern_row_bytes(tc->t, n));
    uint64_t rng = 77;
    fill_random(x, n, &rng);
    row->from_float[WARD_ISA_REF](x, q, n);
    row->to_float[WARD_ISA_REF](q, y, n);
    int bad = 0;
    double worst = 0.0;
    for (int64_t b = 0; b < n / be; b++) {
        float amax = 0.0f;
        for (int64_t j = 0; j < be; j++) amax = fmaxf(amax, fabsf(x[b * be + j]));
        for (int64_t j = 0; j < be; j++) {
            const int64_t i = b * be + j;
            const double err = fabs((double)x[i] - y[i]);
            const double bound = tc->rel * fabs(x[i]) + tc->abs + tc->of_amax * amax;
            bad += err > bound;
            if (bound > 0 && err / bound > worst) worst = err / bound;
        }
    }
    CHECK(bad == 0, "%s: %d elements dequantize outside the error bound", row->name, bad);
    printf("  %-4s quantization error: worst %.2f of the bound\n", row->name, worst);
    free(x), free(y), free(q);
}

/* Blocks where the reference's exact rules matter; every ISA must produce the same bytes, and
 * the bytes must be what llama.cpp writes. */
static void test_quant_special(ward_isa isa) {
    enum { N = 4 * 32 };
    float x[N];
    /* block 0: amax 127 gives d = 1, so x * id lands on exact halves: roundf rounds them away
     * from zero (2.5 -> 3, -2.5 -> -3), not to even */
    x[0] = 127.0f;
    for (int j = 1; j < 32; j++) x[j] = (j & 1 ? -1.0f : 1.0f) * ((float)(j % 9) + 0.5f);
    /* block 1: all zero (d = 0, id = 0) */
    for (int j = 32; j < 64; j++) x[j] = 0.0f;
    /* block 2: +4 and -4 tie for the largest magnitude; Q4_0 keeps the first (+4: d = -0.5) */
    for (int j = 64; j < 96; j++) x[j] = 0.25f * (float)((j % 7) - 3);
    x[70] = 4.0f, x[80] = -4.0f;
    /* block 3: the same with the negative one first (d = +0.5), and values that hit q = 16 */
    for (int j = 96; j < 128; j++) x[j] = 0.5f * (float)((j % 17) - 8);
    x[97] = -4.0f, x[99] = 4.0f;

    const kern_type_row *q8 = kern_type(WARD_TYPE_Q8_0), *q4 = kern_type(WARD_TYPE_Q4_0);
    uint8_t a[4 * 34], b[4 * 34];
    q8->from_float[WARD_ISA_REF](x, a, N);
    kern_from_float(WARD_TYPE_Q8_0, isa)(x, b, N);
    CHECK(memcmp(a, b, sizeof a) == 0, "Q8_0 from_float %s differs on the special blocks",
          cpu_isa_name(isa));
    CHECK(a[0] == 0x00 && a[1] == 0x3c, "Q8_0 block 0: d should be 1.0 (0x3c00)");
    /* x[1] = -1.5 -> -2, x[2] = 2.5 -> 3, x[3] = -3.5 -> -4 */
    CHECK((int8_t)a[3] == -2 && (int8_t)a[4] == 3 && (int8_t)a[5] == -4,
          "Q8_0: halves must round away from zero (got %d %d %d)", (int8_t)a[3], (int8_t)a[4],
          (int8_t)a[5]);
    CHECK(a[34] == 0 && a[35] == 0, "Q8_0 all-zero block: d should be +0");

    q4->from_float[WARD_ISA_REF](x, a, N);
    kern_from_float(WARD_TYPE_Q4_0, isa)(x, b, N);
    CHECK(memcmp(a, b, 4 * 18) == 0, "Q4_0 from_float %s differs on the special blocks",
          cpu_isa_name(isa));
    uint16_t d;
    memcpy(&d, a + 18, 2);
    CHECK(d == 0x8000, "Q4_0 all-zero block: d = 0/-8 = -0 (0x8000), got 0x%04x", d);
    memcpy(&d, a + 36, 2);
    CHECK(d == fp32_to_fp16(-0.5f), "Q4_0 tie: first largest (+4) wins, d = -0.5, got 0x%04x", d);
    memcpy(&d, a + 54, 2);
    CHECK(d == fp32_to_fp16(0.5f), "Q4_0 tie: first largest (-4) wins, d = 0.5, got 0x%04x", d);
    float y[N];
    q4->to_float[WARD_ISA_REF](a, y, N);
    CHECK(y[97] == -4.0f && y[99] == 3.5f, "Q4_0: -4 -> -8 d exactly, +4 clamps to 7 d (got %g %g)",
          y[97], y[99]);
}

/* ---------------------------------------------------------------------------------------------
 * Matmul against a double-precision reference
 * ------------------------------------------------------------------------------------------- */

/* Non-finite rows (a hostile model, or activations that overflowed) quantize without undefined
 * conversions (UBSan would stop here), identically on every ISA, and never to -128. */
static void test_quant_nonfinite(ward_type t, ward_isa isa) {
    const kern_type_row *row = kern_type(t);
    if (row->block_elems == 1 || !row->from_float[WARD_ISA_REF]) return;
    const int64_t be = row->block_elems, n = 2 * be;
    float *x = xmalloc((size_t)n * 4);
    uint64_t rng = 7;
    fill_random(x, n, &rng);
    x[3] = NAN, x[17] = INFINITY, x[be + 8] = -INFINITY, x[be + 18] = NAN; /* both blocks */
    const size_t nb = kern_row_bytes(t, n);
    uint8_t *a = xmalloc(nb), *b = xmalloc(nb);
    memset(a, 0, nb), memset(b, 0, nb);
    row->from_float[WARD_ISA_REF](x, a, n);
    kern_from_float(t, isa)(x, b, n);
    CHECK(memcmp(a, b, nb) == 0, "%s from_float %s: non-finite rows differ", row->name,
          cpu_isa_name(isa));
    if (t == WARD_TYPE_Q8_0)
        for (int blk = 0; blk < 2; blk++)
            for (int j = 0; j < 32; j++)
                CHECK((int8_t)a[blk * row->block_bytes + 2 + j] != -128, "Q8_0 non-finite: -128");
    free(x), free(a), free(b);
}

/* The activation types Q8_1 and Q8_K (plain C only): their extra fields (s, bsums), scale
 * rules, and no -128 even for non-finite rows. */
static void test_activation_types(void) {
    enum { N = 2 * 256 };
    float x[N];
    uint64_t rng = 99;
    fill_random(x, N, &rng);
    x[5] = -3.0f; /* the largest magnitude of the first Q8_K block, negative */
    for (int j = 0; j < 256; j++)
        if (j != 5 && fabsf(x[j]) >= 3.0f) x[j] = 1.0f;
    x[256 + 7] = NAN, x[256 + 9] = INFINITY;

    static uint8_t q1[N / 32 * 36], qk[2 * 292];
    kern_type(WARD_TYPE_Q8_1)->from_float[WARD_ISA_REF](x, q1, N);
    int bad_s = 0, bad_128 = 0;
    for (int b = 0; b < N / 32; b++) {
        const uint8_t *blk = q1 + b * 36;
        uint16_t d, s;
        memcpy(&d, blk, 2), memcpy(&s, blk + 2, 2);
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += (int8_t)blk[4 + j], bad_128 += (int8_t)blk[4 + j] == -128;
        /* s rounds sum * d with the float d, which the block keeps only as fp16 */
        const double want = sum * (double)fp16_to_fp32(d), got = fp16_to_fp32(s);
        bad_s += isfinite(want) && !(fabs(got - want) <= 0x1p-10 * fabs(want));
    }
    CHECK(bad_s == 0, "Q8_1: s != d * sum(q) in %d blocks", bad_s);
    CHECK(bad_128 == 0, "Q8_1: -128 in the quants");

    kern_type(WARD_TYPE_Q8_K)->from_float[WARD_ISA_REF](x, qk, N);
    float d;
    memcpy(&d, qk, 4);
    CHECK(d == 1.0f / (-127.0f / -3.0f), "Q8_K: d = 1 / (-127 / max), got %g", d);
    CHECK((int8_t)qk[4 + 5] == -127, "Q8_K: the largest magnitude maps to -127");
    for (int b = 0; b < 2; b++) {
        const uint8_t *blk = qk + b * 292;
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) {
                sum += (int8_t)blk[4 + 16 * g + l];
                bad_128 += (int8_t)blk[4 + 16 * g + l] == -128;
            }
            int16_t bs;
            memcpy(&bs, blk + 260 + 2 * g, 2);
            CHECK(bs == sum, "Q8_K block %d: bsums[%d] = %d, want %d", b, g, bs, sum);
        }
    }
    CHECK(bad_128 == 0, "Q8_K: -128 in the quants");
}

/* The activation quantizers: same bytes on every ISA; the rule differs from the weight rule
 * exactly on ties (x * 127/amax landing on k + 0.5 rounds to even, not away from zero). */
static void test_act_quantizers(ward_isa isa) {
    static const ward_type wtypes[] = {WARD_TYPE_Q8_0, WARD_TYPE_Q5_0, WARD_TYPE_Q4_1};
    for (size_t i = 0; i < sizeof wtypes / sizeof *wtypes; i++) {
        const ward_type xt = kern_type(wtypes[i])->vec_dot_type;
        float x[64];
        uint64_t rng = 900 + i;
        fill_random(x, 64, &rng);
        x[0] = 127.0f, x[1] = 2.5f, x[2] = -0.5f; /* amax 127: id 1, ties at 2.5 and -0.5 */
        uint8_t a[2 * 64], b[2 * 64], w[2 * 64];
        const size_t bytes = kern_row_bytes(xt, 64);
        kern_act_from_float(wtypes[i], WARD_ISA_REF)(x, a, 64);
        kern_act_from_float(wtypes[i], isa)(x, b, 64);
        kern_from_float(xt, WARD_ISA_REF)(x, w, 64);
        CHECK(memcmp(a, b, bytes) == 0, "%s activations %s: bytes differ from ref",
              ward_type_name(wtypes[i]), cpu_isa_name(isa));
        const int8_t *qa = (const int8_t *)(a + 2), *qw = (const int8_t *)(w + 2);
        if (xt == WARD_TYPE_Q8_1) qa += 2, qw += 2; /* after d and s */
        CHECK(qa[1] == 2 && qw[1] == 3 && qa[2] == 0 && qw[2] == -1,
              "%s: ties to even for activations (%d, %d), away from zero for weights (%d, %d)",
              ward_type_name(wtypes[i]), qa[1], qa[2], qw[1], qw[2]);
    }
}

/* Tile kernels equal four-by-T vec_dot calls bit for bit (the summation order is the dot's). */
static void test_tiles_n(ward_type t, ward_isa isa, int64_t n) {
    const kern_type_row *row = kern_type(t), *xrow = kern_type(row->vec_dot_type);
    const size_t wrb = kern_row_bytes(t, n), xrb = kern_row_bytes(row->vec_dot_type, n);
    uint8_t *w = xmalloc(4 * wrb), *x = xmalloc(2 * xrb);
    float *src = xmalloc((size_t)n * 4);
    uint64_t rng = 77 + (uint64_t)t;
    for (int r = 0; r < 4; r++) make_row(t, n, w + (size_t)r * wrb, true, &rng);
    for (int k = 0; k < 2; k++) {
        fill_random(src, n, &rng);
        xrow->from_float[WARD_ISA_REF](src, x + (size_t)k * xrb, n);
    }
    for (int T = 1; T <= 2; T++) {
        float out[8], ref;
        kern_tile(t, isa, T)(n, out, 4, w, wrb, x, xrb);
        bool same = true;
        for (int k = 0; k < T; k++)
            for (int r = 0; r < 4; r++) {
                row->vec_dot[WARD_ISA_REF](n, &ref, w + (size_t)r * wrb, x + (size_t)k * xrb);
                same &= out[k * 4 + r] == ref;
            }
        CHECK(same, "%s tile 4x%d %s n=%lld differs from vec_dot", row->name, T,
              cpu_isa_name(isa), (long long)n);
    }
    free(w), free(x), free(src);
}

/* Lengths of 7 and 40 blocks: for the float types one is not a multiple of the 8-lane vector
 * (the tile falls back to dots), the other is (the interleaved chains). */
static void test_tiles(ward_type t, ward_isa isa) {
    if (!kern_tile(t, isa, 1)) return;
    test_tiles_n(t, isa, 7 * kern_type(t)->block_elems);
    test_tiles_n(t, isa, 40 * kern_type(t)->block_elems);
}

static void test_matmul(ward_type t, ward_isa isa, tp_pool *pools[2]) {
    const kern_type_row *row = kern_type(t), *xrow = kern_type(row->vec_dot_type);
    const int64_t be = row->block_elems > 1 ? row->block_elems : 32;
    const int64_t shapes[][2] = {{37, 3 * be}, {5, 129 * be}}; /* n_rows, n_cols */
    static const int64_t n_toks[] = {1, 3, 17};
    uint64_t rng = 500 + (uint64_t)t;
    for (size_t si = 0; si < 2; si++) {
        const int64_t n_rows = shapes[si][0], n_cols = shapes[si][1];
        const size_t wrb = kern_row_bytes(t, n_cols);
        const size_t xrb = kern_row_bytes(row->vec_dot_type, n_cols);
        uint8_t *w = xmalloc(wrb * (size_t)n_rows);
        float *wf = xmalloc((size_t)(n_rows * n_cols) * 4);
        for (int64_t r = 0; r < n_rows; r++) {
            make_row(t, n_cols, w + (size_t)r * wrb, false, &rng);
            row->to_float[WARD_ISA_REF](w + (size_t)r * wrb, wf + r * n_cols, n_cols);
        }
        for (size_t ki = 0; ki < 3; ki++) {
            const int64_t n_tok = n_toks[ki];
            float *x = xmalloc((size_t)(n_tok * n_cols) * 4);
            float *xf = xmalloc((size_t)(n_tok * n_cols) * 4);
            float *y = xmalloc((size_t)(n_tok * n_rows) * 4);
            uint8_t *xq = xmalloc(xrb);
            fill_random(x, n_tok * n_cols, &rng);
            /* what the activations become after conversion to vec_dot_type (by this weight
             * type's activation quantizer) */
            for (int64_t k = 0; k < n_tok; k++) {
                kern_act_from_float(t, WARD_ISA_REF)(x + k * n_cols, xq, n_cols);
                xrow->to_float[WARD_ISA_REF](xq, xf + k * n_cols, n_cols);
            }
            const size_t sb = kern_matmul_scratch_bytes(t, n_cols, n_tok);
            void *scratch = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
            for (int pi = 0; pi < 2; pi++) {
                memset(y, 0xff, (size_t)(n_tok * n_rows) * 4); /* NaN: catches unwritten outputs */
                kern_matmul(pools[pi], isa, t, w, n_rows, n_cols, x, n_tok, y, scratch);
                int bad = 0;
                for (int64_t k = 0; k < n_tok; k++)
                    for (int64_t r = 0; r < n_rows; r++) {
                        double want = 0.0;
                        for (int64_t c = 0; c < n_cols; c++)
                            want += (double)wf[r * n_cols + c] * xf[k * n_cols + c];
                        const double s_abs = abs_dot(wf + r * n_cols, xf + k * n_cols, n_cols);
                        const double tol = vec_dot_tolerance(t, n_cols, s_abs) +
                                           min_tolerance(t, w + (size_t)r * wrb, xf + k * n_cols, n_cols);
                        const float got = y[k * n_rows + r];
                        if (!(fabs(got - want) <= tol)) {
                            if (!bad)
                                fprintf(stderr, "  y[%lld][%lld] = %.9g, want %.9g (tol %.3g)\n",
                                        (long long)k, (long long)r, got, want, tol);
                            bad++;
                        }
                    }
                CHECK(bad == 0, "matmul %s %s %lldx%lld n_tok=%lld threads=%d: %d wrong outputs",
                      row->name, cpu_isa_name(isa), (long long)n_rows, (long long)n_cols,
                      (long long)n_tok, tp_n_threads(pools[pi]), bad);
            }
            free(scratch), free(x), free(xf), free(y), free(xq);
        }
        free(w), free(wf);
    }
}

/* Packed weights (packed.h): kern_matmul_packed on a repacked matrix equals, bit for bit on
 * every ISA, the documented order computed from the unpacked bytes: for Q4_0 (here) per block
 * the exact sum of q_w * q_x, then acc = fma(isum, d_w * d_x, acc); for Q8_0 and the K-quants
 * the unpacked vec_dot's own order (its reference kernel). 37 rows leave a partial last group;
 * 1, 4, 6, 9 and 17 tokens cover full and partial token tiles of the kernel (17: activations
 * prepared in parallel). */
static float packed_expect(ward_type t, const uint8_t *w, const uint8_t *xq, int64_t n_cols) {
    const size_t bb = kern_type(t)->block_bytes;
    float acc = 0.0f;
    if (t != WARD_TYPE_Q4_0) {
        kern_type(t)->vec_dot[WARD_ISA_REF](n_cols, &acc, w, xq);
        return acc;
    }
    for (int64_t i = 0; i < n_cols / 32; i++) {
        const uint8_t *bw = w + (size_t)i * bb, *bx = xq + i * 34;
        uint16_t dw, dx;
        memcpy(&dw, bw, 2), memcpy(&dx, bx, 2);
        int32_t isum = 0;
        for (int j = 0; j < 32; j++) {
            const int q = j < 16 ? (bw[2 + j] & 15) - 8 : (bw[2 + j - 16] >> 4) - 8;
            isum += q * (int8_t)bx[2 + j];
        }
        acc = fmaf((float)isum, fp16_to_fp32(dw) * fp16_to_fp32(dx), acc);
    }
    return acc;
}

static void test_packed(ward_type t, ward_isa isa, tp_pool *pools[2]) {
    const int64_t be = kern_packed_block_cols(t), n_rows = 37;
    const int64_t cols[] = {be < 256 ? 7 * be : be, be < 256 ? 40 * be : 3 * be};
    const ward_type xt = kern_type(t)->vec_dot_type;
    static const int64_t n_toks[] = {1, 4, 6, 9, 17};
    uint64_t rng = 900 + (uint64_t)t;
    for (size_t ci = 0; ci < 2; ci++) {
        const int64_t n_cols = cols[ci];
        const size_t wrb = kern_row_bytes(t, n_cols), xrb = kern_row_bytes(xt, n_cols);
        uint8_t *w = xmalloc(wrb * (size_t)n_rows);
        for (int64_t r = 0; r < n_rows; r++) make_row(t, n_cols, w + (size_t)r * wrb, true, &rng);
        uint8_t *packed = xmalloc(kern_packed_bytes(t, n_rows, n_cols));
        const int64_t n_groups = (n_rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
        kern_pack(t, w, n_rows, n_cols, 0, 1, packed); /* in two calls, as threads would */
        kern_pack(t, w, n_rows, n_cols, 1, n_groups, packed);
        for (size_t ki = 0; ki < 5; ki++) {
            const int64_t n_tok = n_toks[ki];
            float *x = xmalloc((size_t)(n_tok * n_cols) * 4), *y = xmalloc((size_t)(n_tok * n_rows) * 4);
            uint8_t *xq = xmalloc(xrb * (size_t)n_tok);
            fill_random(x, n_tok * n_cols, &rng);
            for (int64_t k = 0; k < n_tok; k++)
                kern_act_from_float(t, WARD_ISA_REF)(x + k * n_cols, xq + (size_t)k * xrb, n_cols);
            void *scratch = xmalloc(kern_matmul_scratch_bytes(t, n_cols, n_tok));
            /* a kernel with an order of its own (BF16 with VDPBF16PS) is held to its plain C twin,
             * run here on the same packed data and prepared activations */
            const kern_packed_gemm_fn twin = kern_packed_gemm_twin(t, isa);
            const bool own_order = twin != kern_packed_gemm_twin(t, WARD_ISA_REF);
            float *twin_out = xmalloc((size_t)(n_tok * n_groups * KERN_PACK_ROWS) * 4);
            if (own_order) {
                const size_t arb = kern_packed_act_row_bytes(t, n_cols);
                uint8_t *act = xmalloc(arb);
                for (int64_t k = 0; k < n_tok; k++) {
                    kern_packed_act(t, isa, x + k * n_cols, act, n_cols);
                    for (int64_t g = 0; g < n_groups; g++)
                        twin(n_cols, twin_out + (k * n_groups + g) * KERN_PACK_ROWS, KERN_PACK_ROWS,
                             packed + (size_t)g * kern_packed_group_bytes(t, n_cols), act, arb, 1);
                }
                free(act);
            }
            for (int pi = 0; pi < 2; pi++) {
                memset(y, 0xff, (size_t)(n_tok * n_rows) * 4);
                kern_matmul_packed(pools[pi], isa, t, packed, n_rows, n_cols, x, n_tok, y, scratch);
                int bad = 0;
                for (int64_t k = 0; k < n_tok; k++)
                    for (int64_t r = 0; r < n_rows; r++) {
                        const float want = own_order ? twin_out[k * n_groups * KERN_PACK_ROWS + r]
                                                     : packed_expect(t, w + (size_t)r * wrb, xq + (size_t)k * xrb, n_cols);
                        const float got = y[k * n_rows + r];
                        if (memcmp(&got, &want, 4) != 0 && !bad++)
                            fprintf(stderr, "  y[%lld][%lld] = %.9g, want %.9g\n", (long long)k,
                                    (long long)r, got, want);
                    }
                CHECK(bad == 0, "packed %s %s %lldx%lld n_tok=%lld threads=%d: %d outputs differ",
                      ward_type_name(t), cpu_isa_name(isa), (long long)n_rows, (long long)n_cols, (long long)n_tok,
                      tp_n_threads(pools[pi]), bad);
            }
            free(x), free(y), free(xq), free(scratch), free(twin_out);
        }
        free(w), free(packed);
    }
}

/* VDPBF16PS treats denormal inputs and results as zero: its twin must too. Weights that are
 * bf16 denormals (and normal ones whose products underflow) against activations of 1 and of
 * 2^-120. */
static void test_bf16_denormals(ward_isa isa, tp_pool *pool) {
    enum { R = 16, C = 16 };
    uint16_t w[R * C];
    float x[2 * C], y[2 * R], want[2 * R];
    for (int i = 0; i < R * C; i++) w[i] = (uint16_t)(i % 3 == 0 ? 0x0001 + i : 0x0080 + i);
    for (int c = 0; c < C; c++) x[c] = 1.0f, x[C + c] = ldexpf(1.0f, -120);
    uint8_t *packed = xmalloc(kern_packed_bytes(WARD_TYPE_BF16, R, C));
    kern_pack(WARD_TYPE_BF16, w, R, C, 0, 1, packed);
    void *scratch = xmalloc(kern_matmul_scratch_bytes(WARD_TYPE_BF16, C, 2));
    kern_matmul_packed(pool, isa, WARD_TYPE_BF16, packed, R, C, x, 2, y, scratch);
    const size_t arb = kern_packed_act_row_bytes(WARD_TYPE_BF16, C);
    uint8_t *act = xmalloc(2 * arb);
    for (int k = 0; k < 2; k++) kern_packed_act(WARD_TYPE_BF16, isa, x + k * C, act + k * arb, C);
    kern_packed_gemm_twin(WARD_TYPE_BF16, isa)(C, want, R, packed, act, arb, 2);
    CHECK(memcmp(y, want, sizeof y) == 0, "BF16 %s with denormals differs from its twin",
          cpu_isa_name(isa));
    free(packed), free(scratch), free(act);
}

/* ---------------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------------- */

/* kern_matmul_packed_swiglu equals the two products followed by ops_swiglu on whole rows, bit
 * for bit: 150 rows are 10 groups, so chunks of 8 (one token) and of 4 (nine tokens) end inside
 * a row and at a partial last group. */
static void test_packed_swiglu(ward_type t, ward_isa isa, tp_pool *pool) {
    const int64_t n_rows = 150, n_cols = 2 * kern_packed_block_cols(t), n_toks[] = {1, 9};
    const size_t wrb = kern_row_bytes(t, n_cols), pb = kern_packed_bytes(t, n_rows, n_cols);
    const int64_t n_groups = (n_rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
    uint64_t rng = 77;
    uint8_t *w[2], *packed[2];
    for (int m = 0; m < 2; m++) {
        w[m] = xmalloc(wrb * (size_t)n_rows);
        for (int64_t r = 0; r < n_rows; r++) make_row(t, n_cols, w[m] + (size_t)r * wrb, true, &rng);
        packed[m] = xmalloc(pb);
        kern_pack(t, w[m], n_rows, n_cols, 0, n_groups, packed[m]);
    }
    for (int ki = 0; ki < 2; ki++) {
        const int64_t n_tok = n_toks[ki], n_out = n_tok * n_rows;
        float *x = xmalloc((size_t)(n_tok * n_cols) * 4), *y[2], *fused[2];
        for (int m = 0; m < 2; m++) {
            y[m] = xmalloc((size_t)n_out * 4);
            fused[m] = xmalloc((size_t)n_out * 4);
            memset(fused[m], 0xff, (size_t)n_out * 4);
        }
        fill_random(x, n_tok * n_cols, &rng);
        void *scratch = xmalloc(kern_matmul_scratch_bytes(t, n_cols, n_tok));
        for (int m = 0; m < 2; m++)
            kern_matmul_packed(pool, isa, t, packed[m], n_rows, n_cols, x, n_tok, y[m], scratch);
        for (int64_t k = 0; k < n_tok; k++)
            ops_swiglu(isa, y[1] + k * n_rows, y[0] + k * n_rows, y[1] + k * n_rows, n_rows);
        const kern_packed_mat gate = {packed[0], n_rows, fused[0]}, up = {packed[1], n_rows, fused[1]};
        kern_matmul_packed_swiglu(pool, isa, t, &gate, &up, n_cols, x, n_tok, scratch);
        CHECK(memcmp(fused[0], y[0], (size_t)n_out * 4) == 0 &&
                  memcmp(fused[1], y[1], (size_t)n_out * 4) == 0,
              "packed SwiGLU %s %s n_tok=%lld: equals the products then ops_swiglu",
              ward_type_name(t), cpu_isa_name(isa), (long long)n_tok);
        free(x), free(scratch);
        for (int m = 0; m < 2; m++) free(y[m]), free(fused[m]);
    }
    for (int m = 0; m < 2; m++) free(w[m]), free(packed[m]);
}

int main(void) {
    const ward_isa isa_max = cpu_isa_detect();
    printf("ISA levels tested: ");
    for (int i = 0; i <= (int)isa_max; i++) printf("%s ", cpu_isa_name((ward_isa)i));
    printf("\nISA levels skipped (this CPU lacks them): ");
    if (isa_max + 1 == WARD_ISA_COUNT) printf("none");
    for (int i = (int)isa_max + 1; i < WARD_ISA_COUNT; i++)
        printf("%s ", cpu_isa_name((ward_isa)i));
    printf("\n");

    for (size_t ti = 0; ti < N_TYPE_CASES; ti++)
        CHECK(ward_type_is_computable(type_cases[ti].t), "%s should be computable",
              ward_type_name(type_cases[ti].t));

    test_fp16_exhaustive();
    test_fp16_rounding();
    test_activation_types();
    for (size_t ti = 0; ti < N_TYPE_CASES; ti++) test_quant_error(&type_cases[ti]);

    tp_pool *pools[2] = {NULL, NULL};
    ward_error err;
    for (int i = 0; i < 2; i++)
        CHECK(tp_open(i + 1, &pools[i], &err) == WARD_OK, "tp_open(%d): %s", i + 1, err.msg);

    for (int isa = 0; isa <= (int)isa_max; isa++) {
        test_float_conversions_simd((ward_isa)isa);
        test_quant_special((ward_isa)isa);
        test_act_quantizers((ward_isa)isa);
        for (size_t ti = 0; ti < N_TYPE_CASES; ti++) {
            test_type_isa(type_cases[ti].t, (ward_isa)isa);
            test_quant_nonfinite(type_cases[ti].t, (ward_isa)isa);
            test_tiles(type_cases[ti].t, (ward_isa)isa);
            if (pools[0] && pools[1]) test_matmul(type_cases[ti].t, (ward_isa)isa, pools);
        }
        for (int t = 0; pools[0] && pools[1] && t < WARD_TYPE_COUNT; t++)
            if (kern_packable((ward_type)t, (ward_isa)isa))
                test_packed((ward_type)t, (ward_isa)isa, pools);
        if (pools[1]) test_packed_swiglu(WARD_TYPE_Q4_0, (ward_isa)isa, pools[1]);
        if (pools[1]) test_packed_swiglu(WARD_TYPE_F16, (ward_isa)isa, pools[1]);
        if (pools[0]) test_bf16_denormals((ward_isa)isa, pools[0]);
    }
    for (int i = 0; i < 2; i++) tp_close(pools[i]);
    return test_summary();
}
