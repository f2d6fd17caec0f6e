/* test_ops.c: the per-row operations of src/kernels/ops.c against direct double-precision
 * formulas: softmax (including the vector exp it uses, over the whole float range), SwiGLU on
 * rows whose length is and is not a multiple of 8, RMSNorm, and both rotary layouts (a rotation
 * keeps each pair's length; halves and pairs agree after permuting the dimensions). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "kernels/fp16.h"
#include "kernels/ops.h"

/* softmax of a row whose values span the exp range: every probability within a few ulp of the
 * double formula, the sum 1 within float rounding; -inf entries get exactly 0. */
static void test_softmax(ward_isa isa) {
    uint64_t rng = 11;
    for (int n = 1; n <= 70; n += 3) {
        float x[80];
        double ref[80], max = -INFINITY, sum = 0;
        for (int i = 0; i < n; i++) x[i] = 40.0f * test_rand_f32(&rng);
        if (n > 4) x[2] = -INFINITY;
        for (int i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
        /* the argument x - max is rounded to float as softmax computes it; exp is the part
         * under test */
        for (int i = 0; i < n; i++) sum += ref[i] = exp((double)(float)(x[i] - (float)max));
        ops_softmax(isa, x, n);
        double worst = 0, total = 0;
        for (int i = 0; i < n; i++) {
            const double want = ref[i] / sum;
            if (want > 1e-30) worst = fmax(worst, fabs(x[i] - want) / want);
            total += x[i];
        }
        /* exp within ~1 ulp, the sum and the 1/sum scale each round once: < 1e-6 relative */
        CHECK(worst < 1e-6, "softmax %s n=%d: worst relative error %g", cpu_isa_name(isa), n, worst);
        CHECK(fabs(total - 1.0) < 1e-5, "softmax n=%d sums to %.9f", n, total);
        if (n > 4) CHECK(x[2] == 0.0f, "softmax of -inf is 0");
    }
    float big[9] = {0, -100, -200, -300, 80, 88, -87, 1e-8f, -1e-8f};
    ops_softmax(isa, big, 9);
    CHECK(big[3] == 0.0f && big[2] == 0.0f && big[5] > 0.99f, "extreme inputs under/overflow cleanly");
}

static void test_swiglu(ward_isa isa) {
    uint64_t rng = 12;
    for (int n = 1; n <= 41; n += 4) { /* blocks of 8 and tails */
        float g[48], u[48], out[48];
        for (int i = 0; i < n; i++) g[i] = 12 * test_rand_f32(&rng), u[i] = test_rand_f32(&rng);
        ops_swiglu(isa, out, g, u, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            const double want = g[i] / (1.0 + exp(-(double)g[i])) * u[i];
            worst = fmax(worst, fabs(out[i] - want) / fmax(fabs(want), 1e-6));
        }
        CHECK(worst < 2e-6, "swiglu %s n=%d: worst relative error %g", cpu_isa_name(isa), n, worst);
    }
}

static void test_rmsnorm(void) {
    float x[37], w[37], out[37];
    uint64_t rng = 13;
    double ss = 0;
    for (int i = 0; i < 37; i++) x[i] = test_rand_f32(&rng), w[i] = 1 + test_rand_f32(&rng), ss += (double)x[i] * x[i];
    ops_rmsnorm(out, x, w, 37, 1e-5f);
    const double scale = 1 / sqrt(ss / 37 + 1e-5);
    double worst = 0;
    for (int i = 0; i < 37; i++) worst = fmax(worst, fabs(out[i] - x[i] * scale * w[i]));
    CHECK(worst < 1e-5, "rmsnorm: worst error %g", worst);
}

static void test_rope(void) {
    enum { HD = 16, ROT = 12, HEADS = 2 };
    float c[ROT / 2], s[ROT / 2], pairs[HEADS * HD], halves[HEADS * HD], orig[HEADS * HD];
    uint64_t rng = 14;
    for (int i = 0; i < HEADS * HD; i++) orig[i] = test_rand_f32(&rng);
    ops_rope_cache(c, s, 7, ROT, 10000.0f);
    /* halves layout = pairs layout with dimension i*2 <-> i and i*2+1 <-> i + ROT/2 */
    for (int h = 0; h < HEADS; h++)
        for (int i = 0; i < HD; i++) {
            const int j = i < ROT ? (i % 2 ? i / 2 + ROT / 2 : i / 2) : i;
            pairs[h * HD + i] = orig[h * HD + i];
            halves[h * HD + j] = orig[h * HD + i];
        }
    ops_rope_pairs(pairs, HEADS, HD, ROT, c, s);
    ops_rope_halves(halves, HEADS, HD, ROT, c, s);
    bool same = true, norm_kept = true;
    for (int h = 0; h < HEADS; h++)
        for (int i = 0; i < HD; i++) {
            const int j = i < ROT ? (i % 2 ? i / 2 + ROT / 2 : i / 2) : i;
            same &= pairs[h * HD + i] == halves[h * HD + j];
        }
    for (int h = 0; h < HEADS; h++)
        for (int i = 0; i < ROT; i += 2) {
            const float *a = orig + h * HD + i, *b = pairs + h * HD + i;
            norm_kept &= fabsf(hypotf(a[0], a[1]) - hypotf(b[0], b[1])) < 1e-6f;
        }
    for (int i = ROT; i < HD; i++) same &= pairs[i] == orig[i]; /* unrotated dims untouched */
    CHECK(same, "rope: halves and pairs layouts agree after permutation");
    CHECK(norm_kept, "rope: rotation keeps pair lengths");
    CHECK(fabsf(c[0] - cosf(7.0f)) < 1e-6f && fabsf(s[0] - sinf(7.0f)) < 1e-6f, "rope angle 0");
}

static void test_layernorm_gelu(void) {
    float x[45], w[45], b[45], out[45], g[45];
    uint64_t rng = 15;
    double sum = 0, var = 0;
    for (int i = 0; i < 45; i++) {
        x[i] = 3 + test_rand_f32(&rng), w[i] = 1 + test_rand_f32(&rng), b[i] = test_rand_f32(&rng);
        sum += x[i];
    }
    const double mean = sum / 45;
    for (int i = 0; i < 45; i++) var += (x[i] - mean) * (x[i] - mean);
    ops_layernorm(out, x, w, b, 45, 1e-5f);
    double worst = 0;
    for (int i = 0; i < 45; i++)
        worst = fmax(worst, fabs(out[i] - ((x[i] - mean) / sqrt(var / 45 + 1e-5) * w[i] + b[i])));
    CHECK(worst < 1e-5, "layernorm: worst error %g", worst);
    ops_gelu(g, x, 45);
    worst = 0;
    for (int i = 0; i < 45; i++) {
        const double v = x[i] - 3; /* around 0, where the curve bends */
        float fv = (float)v, gv;
        ops_gelu(&gv, &fv, 1);
        const double want = 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
        worst = fmax(worst, fabs(gv - want));
    }
    CHECK(worst < 1e-6, "gelu: worst error %g", worst);
    CHECK(g[0] > 0, "gelu of positive inputs is positive");
}

/* The SIMD ops give the reference's bits: SwiGLU over gates spanning the whole float range
 * (every branch of the vector exp: normal, |n| > 126, |n| > 192, infinities, NaN), softmax rows
 * of every tail length, and the F16 weighted sum. */
static void test_simd_equals_ref(ward_isa isa) {
    enum { N = 4096 };
    static float g[N], u[N], a[N], b[N];
    uint64_t rng = 14;
    for (int i = 0; i < N; i++) {
        g[i] = ldexpf(test_rand_f32(&rng), (int)(test_rand_u64(&rng) % 20) - 8); /* to +-2^11 */
        u[i] = test_rand_f32(&rng);
    }
    g[0] = INFINITY, g[1] = -INFINITY, g[2] = NAN, g[3] = 89.0f, g[4] = -104.0f, g[5] = 200.0f;
    g[6] = -200.0f, g[7] = 1e30f;
    ops_swiglu(WARD_ISA_REF, a, g, u, N - 3); /* a tail of 5 */
    ops_swiglu(isa, b, g, u, N - 3);
    CHECK(memcmp(a, b, (N - 3) * sizeof *a) == 0, "swiglu %s differs from ref", cpu_isa_name(isa));
    for (int n = 1; n <= 40; n++) {
        for (int i = 0; i < n; i++) a[i] = b[i] = g[i + 8] / 16;
        ops_softmax(WARD_ISA_REF, a, n);
        ops_softmax(isa, b, n);
        CHECK(memcmp(a, b, (size_t)n * sizeof *a) == 0, "softmax %s n=%d differs from ref",
              cpu_isa_name(isa), n);
    }
    uint16_t h[37];
    for (int i = 0; i < 37; i++) h[i] = fp32_to_fp16(g[i + 8]), a[i] = b[i] = u[i];
    ops_axpy_f16(WARD_ISA_REF, a, 0.37f, h, 37);
    ops_axpy_f16(isa, b, 0.37f, h, 37);
    CHECK(memcmp(a, b, 37 * sizeof *a) == 0, "axpy_f16 %s differs from ref", cpu_isa_name(isa));
    /* rounding to F16 (ties, overflow to infinity, denormals), and the weighted sum of 11 F16
     * rows of 24 (stride 29) into 8 lanes */
    for (int i = 0; i < 45; i++) a[i] = b[i] = g[i + 8] * (i % 5 == 0 ? 1e-6f : i % 7 == 0 ? 1e5f : 1.0f);
    ops_round_f16(WARD_ISA_REF, a, 45);
    ops_round_f16(isa, b, 45);
    CHECK(memcmp(a, b, 45 * sizeof *a) == 0, "round_f16 %s differs from ref", cpu_isa_name(isa));
    static uint16_t rows[11 * 29];
    float p[11], la[8 * 24] = {0}, lb[8 * 24] = {0};
    for (int i = 0; i < 11 * 29; i++) rows[i] = fp32_to_fp16(u[i]);
    for (int t = 0; t < 11; t++) p[t] = fp16_to_fp32(fp32_to_fp16(u[400 + t]));
    ops_weighted_rows_f16(WARD_ISA_REF, la, p, rows, 29, 11, 24);
    ops_weighted_rows_f16(isa, lb, p, rows, 29, 11, 24);
    CHECK(memcmp(la, lb, sizeof la) == 0, "weighted_rows_f16 %s differs from ref", cpu_isa_name(isa));
}

int main(void) {
    test_layernorm_gelu();
    const ward_isa isa_max = cpu_isa_detect();
    for (int isa = 0; isa <= (int)isa_max; isa++) {
        test_softmax((ward_isa)isa);
        test_swiglu((ward_isa)isa);
        test_simd_equals_ref((ward_isa)isa);
    }
    printf("ISA levels tested: up to %s\n", cpu_isa_name(isa_max));
    test_rmsnorm();
    test_rope();
    return test_summary();
}
