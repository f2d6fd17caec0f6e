/* test_sampler.c: ward_sampler (greedy, seeding, top-k/top-p/min-p/temperature, penalties,
 * parameter checks, OOM, no allocation while sampling).
 *
 * Distribution tests draw N = 20000 tokens and compare the counts with a reference computed here
 * in double precision by the spec order (top-k, temperature, softmax, top-p, min-p, renormalise).
 * Two checks: no token outside the reference support, ever; and Pearson's statistic
 * X2 = sum (O - N q)^2 / (N q) over the support, which for a correct sampler is approximately
 * chi-square with (support - 1) degrees of freedom (every N q here is >= 80, well above the
 * usual >= 5 rule). The bound is the chi-square 1 - 1e-6 quantile for that df, so a correct
 * sampler fails with probability < 1e-6 for any seed; the seed is fixed anyway, so the test is
 * deterministic. A real bug (temperature ignored, wrong cut, no renormalisation) moves some q by
 * several percentage points, which at N = 20000 gives X2 in the hundreds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "harness.h"
#include "ward.h"

enum { N_DRAWS = 20000, SMALL_V = 8 };

/* Chi-square upper 1e-6 quantiles, index = degrees of freedom (1..9). */
static const double chi2_q1e6[] = {0,     23.93, 27.63, 30.66, 33.38,
                                   35.89, 38.26, 40.52, 42.70, 44.81};

static const float small_logits[SMALL_V] = {0.5f, 2.0f, -1.0f, 1.2f, 0.0f, -2.5f, 1.6f, -0.3f};

static ward_sampler_params plain_params(float temperature, uint64_t seed) {
    ward_sampler_params p = ward_sampler_default_params();
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    return p;
}

static ward_sampler *open_or_fail(const ward_sampler_params *p, int32_t n_vocab) {
    ward_sampler *s = NULL;
    ward_error err = {0};
    ward_status st = ward_sampler_open(p, n_vocab, &s, &err);
    CHECK(st == WARD_OK, "ward_sampler_open: %s", err.msg);
    return s;
}

static ward_token ref_argmax(const float *l, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[best]) best = i;
    return best;
}

/* ---------------------------------------------------------------------------------------------
 * Reference distribution
 * ------------------------------------------------------------------------------------------- */

static const float *sort_logits;
static int by_logit_desc(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (sort_logits[i] != sort_logits[j]) return sort_logits[i] > sort_logits[j] ? -1 : 1;
    return i - j;
}

/* q[i] = probability of token i under p (no penalties); returns the support size. */
static int ref_dist(const float *l, int n, const ward_sampler_params *p, double *q) {
    int order[64];
    for (int i = 0; i < n; i++) order[i] = i, q[i] = 0;
    sort_logits = l;
    qsort(order, (size_t)n, sizeof order[0], by_logit_desc);
    int m = p->top_k > 0 && p->top_k < n ? p->top_k : n;
    double e[64], z = 0;
    for (int i = 0; i < m; i++) z += e[i] = exp((double)l[order[i]] / p->temperature);
    int keep = m;
    double cum = 0;
    for (int i = 0; i < m; i++) {
        cum += e[i] / z;
        if (cum >= p->top_p) {
            keep = i + 1;
            break;
        }
    }
    double total = 0;
    for (int i = 0; i < keep; i++)
        if (e[i] >= p->min_p * e[0]) total += e[i];
    int support = 0;
    for (int i = 0; i < keep; i++)
        if (e[i] >= p->min_p * e[0]) q[order[i]] = e[i] / total, support++;
    return support;
}

/* Draw N_DRAWS tokens; check the support and the chi-square bound against ref_dist. */
static void check_dist(const char *name, const ward_sampler_params *p, int expect_support) {
    double q[SMALL_V];
    int support = ref_dist(small_logits, SMALL_V, p, q);
    CHECK(support == expect_support, "%s: reference support %d, expected %d", name, support,
          expect_support);
    ward_sampler *s = open_or_fail(p, SMALL_V);
    if (!s) return;
    long counts[SMALL_V] = {0};
    int outside = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        ward_token t = ward_sampler_sample(s, small_logits);
        if (t < 0 || t >= SMALL_V || q[t] == 0)
            outside++;
        else
            counts[t]++;
    }
    ward_sampler_close(s);
    CHECK(outside == 0, "%s: %d draws outside the support", name, outside);
    double x2 = 0;
    for (int i = 0; i < SMALL_V; i++) {
        if (q[i] == 0) continue;
        double expect = N_DRAWS * q[i], d = (double)counts[i] - expect;
        x2 += d * d / expect;
    }
    int df = support - 1;
    if (df == 0) {
        CHECK(counts[ref_argmax(small_logits, SMALL_V)] == N_DRAWS, "%s: single token", name);
        return;
    }
    CHECK(df < (int)(sizeof chi2_q1e6 / sizeof chi2_q1e6[0]), "%s: df %d", name, df);
    CHECK(x2 < chi2_q1e6[df], "%s: chi-square %.2f >= %.2f (df %d)", name, x2, chi2_q1e6[df], df);
}

/* ---------------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------------- */

static void test_distributions(void) {
    ward_sampler_params p = plain_params(1.0f, 1);
    check_dist("full T=1", &p, 8);
    p = plain_params(2.0f, 2);
    check_dist("full T=2", &p, 8);
    p = plain_params(0.5f, 3);
    p.top_k = 3;
    check_dist("top_k=3 T=0.5", &p, 3);
    p = plain_params(1.0f, 4);
    p.top_p = 0.7f;
    check_dist("top_p=0.7", &p, 3);
    p = plain_params(1.0f, 5);
    p.min_p = 0.2f;
    check_dist("min_p=0.2", &p, 4);
    /* Spec order: top-p measured on the full softmax keeps 5 here; measuring it after min-p had
     * renormalised the survivors would keep 4. */
    p = plain_params(1.0f, 6);
    p.top_p = 0.93f;
    p.min_p = 0.12f;
    check_dist("top_p=0.93 min_p=0.12", &p, 5);
    p = plain_params(1.0f, 7);
    p.top_k = 1;
    check_dist("top_k=1", &p, 1);
}

/* Random 64-token logits on a 0.5 grid (many ties, also at the top-k and top-p boundaries) under
 * many parameter combinations: every draw inside the reference support, and every token the
 * reference gives q >= 0.01 seen in 3000 draws (missing one by chance: < 0.99^3000 = 1e-13). */
static void test_support_random(void) {
    enum { V = 64, DRAWS = 3000 };
    static const float temps[] = {0.5f, 1.0f, 1.7f}, top_ps[] = {1.0f, 0.5f, 0.9f},
                       min_ps[] = {0.0f, 0.05f, 0.3f};
    static const int top_ks[] = {0, 5, 20};
    float l[V];
    double q[V];
    uint64_t rs = 15;
    int outside = 0, missing = 0, combos = 0;
    for (int trial = 0; trial < 81; trial++) {
        for (int i = 0; i < V; i++) l[i] = roundf(test_rand_f32(&rs) * 8) * 0.5f;
        ward_sampler_params p = plain_params(temps[trial % 3], (uint64_t)trial);
        p.top_k = top_ks[trial / 3 % 3];
        p.top_p = top_ps[trial / 9 % 3];
        p.min_p = min_ps[trial / 27 % 3];
        ref_dist(l, V, &p, q);
        ward_sampler *s = open_or_fail(&p, V);
        if (!s) continue;
        combos++;
        int seen[V] = {0};
        for (int i = 0; i < DRAWS; i++) {
            ward_token t = ward_sampler_sample(s, l);
            if (t < 0 || t >= V || q[t] == 0)
                outside++;
            else
                seen[t] = 1;
        }
        for (int i = 0; i < V; i++) missing += q[i] >= 0.01 && !seen[i];
        ward_sampler_close(s);
    }
    CHECK(combos == 81, "only %d of 81 samplers opened", combos);
    CHECK(outside == 0, "%d draws outside the reference support", outside);
    CHECK(missing == 0, "%d likely tokens never drawn", missing);
}

static void test_greedy(void) {
    enum { V = 5000 };
    static float l[V];
    uint64_t rs = 11;
    ward_sampler_params p = ward_sampler_default_params();
    p.temperature = 0.0f;
    p.top_p = 0.0f; /* ignored when greedy */
    ward_sampler *s = open_or_fail(&p, V);
    if (!s) return;
    int bad = 0;
    for (int trial = 0; trial < 50; trial++) {
        for (int i = 0; i < V; i++) l[i] = test_rand_f32(&rs) * 10;
        if (ward_sampler_sample(s, l) != ref_argmax(l, V)) bad++;
    }
    CHECK(bad == 0, "greedy != argmax in %d of 50", bad);
    for (int i = 0; i < V; i++) l[i] = 1.0f;
    CHECK(ward_sampler_sample(s, l) == 0, "all equal: not token 0");
    l[3] = l[7] = 2.0f;
    CHECK(ward_sampler_sample(s, l) == 3, "tie: lowest index should win");
    ward_sampler_accept(s, 3); /* penalties do not apply to greedy */
    CHECK(ward_sampler_sample(s, l) == 3, "greedy changed by history");
    ward_sampler_close(s);
}

static void test_top_k_1_is_greedy(void) {
    enum { V = 3000 };
    static float l[V];
    uint64_t rs = 12;
    ward_sampler_params p = ward_sampler_default_params(); /* T 0.8, top_p 0.95, min_p 0.05 */
    p.top_k = 1;
    ward_sampler *s = open_or_fail(&p, V);
    if (!s) return;
    int bad = 0;
    for (int trial = 0; trial < 100; trial++) {
        for (int i = 0; i < V; i++) l[i] = test_rand_f32(&rs) * 5;
        if (trial % 3 == 0) l[trial % 97 + 200] = l[trial % 53 + 10] = 6.0f; /* tied maximum */
        if (ward_sampler_sample(s, l) != ref_argmax(l, V)) bad++;
    }
    CHECK(bad == 0, "top_k=1 != argmax in %d of 100", bad);
    ward_sampler_close(s);
}

static void sample_seq(ward_sampler *s, const float *l, ward_token *out, int n) {
    for (int i = 0; i < n; i++) out[i] = ward_sampler_sample(s, l);
}

static void test_seeds(void) {
    enum { V = 1000, N = 500 };
    static float l[V];
    static ward_token a[N], b[N], c[N], d[N];
    uint64_t rs = 13;
    for (int i = 0; i < V; i++) l[i] = test_rand_f32(&rs) * 3;
    ward_sampler_params p = plain_params(1.0f, 42);
    ward_sampler *s1 = open_or_fail(&p, V), *s2 = open_or_fail(&p, V);
    p.seed = 43;
    ward_sampler *s3 = open_or_fail(&p, V);
    if (s1 && s2 && s3) {
        sample_seq(s1, l, a, N);
        sample_seq(s2, l, b, N);
        sample_seq(s3, l, c, N);
        ward_sampler_reset(s1);
        sample_seq(s1, l, d, N);
        CHECK(memcmp(a, b, sizeof a) == 0, "same seed, different sequences");
        CHECK(memcmp(a, d, sizeof a) == 0, "reset did not restart the sequence");
        int differ = 0, distinct = 0;
        for (int i = 0; i < N; i++) differ += a[i] != c[i];
        for (int i = 1; i < N; i++) distinct += a[i] != a[0];
        CHECK(differ > N / 2, "seeds 42 and 43 agree on %d of %d draws", N - differ, N);
        CHECK(distinct > N / 2, "sequence is nearly constant");
    }
    ward_sampler_close(s1);
    ward_sampler_close(s2);
    ward_sampler_close(s3);
}

static void test_masked(void) {
    /* -inf and NaN logits are never drawn; all but one masked leaves just that one. */
    float l[SMALL_V];
    memcpy(l, small_logits, sizeof l);
    l[1] = -INFINITY;
    l[6] = NAN;
    ward_sampler_params p = plain_params(1.5f, 9);
    ward_sampler *s = open_or_fail(&p, SMALL_V);
    if (!s) return;
    int bad = 0;
    for (int i = 0; i < 5000; i++) {
        ward_token t = ward_sampler_sample(s, l);
        bad += t == 1 || t == 6 || t < 0 || t >= SMALL_V;
    }
    CHECK(bad == 0, "masked tokens drawn %d times", bad);
    for (int i = 0; i < SMALL_V; i++) l[i] = -INFINITY;
    l[5] = -30.0f;
    bad = 0;
    for (int i = 0; i < 100; i++) bad += ward_sampler_sample(s, l) != 5;
    CHECK(bad == 0, "only token 5 is unmasked, other drawn %d times", bad);
    ward_sampler_close(s);
}

/* A sampler that always takes the penalised argmax: top_k = 1, everything else off. */
static ward_sampler *penalty_sampler(float repeat, float presence, float frequency, int last_n,
                                     int32_t n_vocab) {
    ward_sampler_params p = plain_params(1.0f, 0);
    p.top_k = 1;
    p.repeat_penalty = repeat;
    p.presence_penalty = presence;
    p.frequency_penalty = frequency;
    p.penalty_last_n = last_n;
    return open_or_fail(&p, n_vocab);
}

static void test_penalties(void) {
    ward_sampler *s;

    /* Repeat, positive logit: 2.0 / 1.5 = 1.33 < 1.5. */
    const float pos[4] = {2.0f, 1.5f, -3.0f, -3.0f};
    if ((s = penalty_sampler(1.5f, 0, 0, 64, 4))) {
        CHECK(ward_sampler_sample(s, pos) == 0, "repeat: no history");
        ward_sampler_accept(s, 0);
        CHECK(ward_sampler_sample(s, pos) == 1, "repeat: positive logit not divided");
        ward_sampler_reset(s);
        CHECK(ward_sampler_sample(s, pos) == 0, "reset did not clear the history");
        ward_sampler_close(s);
    }
    /* Repeat, negative logit: -1.0 * 1.5 = -1.5 < -1.2 (dividing would keep token 0 ahead). */
    const float neg[3] = {-1.0f, -1.2f, -9.0f};
    if ((s = penalty_sampler(1.5f, 0, 0, 64, 3))) {
        ward_sampler_accept(s, 0);
        ward_sampler_accept(s, 0); /* applied once however often the token occurs */
        CHECK(ward_sampler_sample(s, neg) == 1, "repeat: negative logit not multiplied");
        ward_sampler_close(s);
    }
    /* Frequency scales with the count: 3.0 - 2 * 0.4 = 2.2 > 2.0, 3.0 - 3 * 0.4 = 1.8 < 2.0. */
    const float freq[5] = {3.0f, -5.0f, -5.0f, -5.0f, 2.0f};
    if ((s = penalty_sampler(1.0f, 0, 0.4f, 64, 5))) {
        ward_sampler_accept(s, 0);
        ward_sampler_accept(s, 0);
        CHECK(ward_sampler_sample(s, freq) == 0, "frequency: count 2 should keep token 0");
        ward_sampler_accept(s, 0);
        CHECK(ward_sampler_sample(s, freq) == 4, "frequency: count 3 should flip to token 4");
        ward_sampler_close(s);
    }
    /* Presence does not scale with the count: 3.0 - 0.9 = 2.1 > 2.0; 3.0 - 1.5 = 1.5 < 2.0. */
    if ((s = penalty_sampler(1.0f, 0.9f, 0, 64, 5))) {
        for (int i = 0; i < 3; i++) ward_sampler_accept(s, 0);
        CHECK(ward_sampler_sample(s, freq) == 0, "presence 0.9 multiplied by the count");
        ward_sampler_close(s);
    }
    if ((s = penalty_sampler(1.0f, 1.5f, 0, 64, 5))) {
        ward_sampler_accept(s, 0);
        CHECK(ward_sampler_sample(s, freq) == 4, "presence 1.5 not applied");
        ward_sampler_close(s);
    }
    /* Window of 4: {0,0,0,1} counts token 0 three times; one more token evicts one 0. */
    if ((s = penalty_sampler(1.0f, 0, 0.4f, 4, 5))) {
        ward_sampler_accept(s, 0);
        ward_sampler_accept(s, 0);
        ward_sampler_accept(s, 0);
        ward_sampler_accept(s, 1);
        CHECK(ward_sampler_sample(s, freq) == 4, "window: count 3 should flip to token 4");
        ward_sampler_accept(s, 2);
        CHECK(ward_sampler_sample(s, freq) == 0, "window: oldest 0 not evicted");
        /* Many wraps of the ring: token 4 wins exactly when 0 fills >= 3 of the last 4 slots. */
        ward_token last[4] = {0, 0, 1, 2}; /* the window, oldest first, then cyclically */
        uint64_t rs = 16;
        int bad = 0, flips = 0;
        for (int i = 0; i < 2000; i++) {
            ward_token t = (ward_token)(test_rand_u64(&rs) % 3 ? 0 : 1 + test_rand_u64(&rs) % 3);
            ward_sampler_accept(s, t);
            last[i % 4] = t;
            int zeros = (last[0] == 0) + (last[1] == 0) + (last[2] == 0) + (last[3] == 0);
            ward_token expect = zeros >= 3 ? 4 : 0;
            flips += expect == 4;
            bad += ward_sampler_sample(s, freq) != expect;
        }
        CHECK(bad == 0 && flips > 100 && flips < 1900, "window: %d wrong of 2000 (%d flips)", bad,
              flips);
        ward_token before = ward_sampler_sample(s, freq);
        ward_sampler_accept(s, 99); /* out of range: ignored */
        ward_sampler_accept(s, -1);
        CHECK(ward_sampler_sample(s, freq) == before, "out-of-range accept changed the history");
        ward_sampler_close(s);
    }
    /* penalty_last_n = 0 turns penalties off. */
    if ((s = penalty_sampler(1.0f, 5.0f, 5.0f, 0, 5))) {
        ward_sampler_accept(s, 0);
        CHECK(ward_sampler_sample(s, freq) == 0, "penalty_last_n 0 still penalises");
        ward_sampler_close(s);
    }
}

static void test_invalid(void) {
    struct {
        const char *name;
        ward_sampler_params p;
        int32_t n_vocab;
    } cases[32];
    int n = 0;
    ward_sampler_params d = ward_sampler_default_params();
#define BAD(field, value, nv)                                                                  \
    do {                                                                                       \
        cases[n].name = #field " = " #value;                                                   \
        cases[n].p = d;                                                                        \
        cases[n].p.field = value;                                                              \
        cases[n].n_vocab = nv;                                                                 \
        n++;                                                                                   \
    } while (0)
    BAD(seed, 0, 0);
    BAD(seed, 0, -5);
    BAD(temperature, NAN, 10);
    BAD(temperature, INFINITY, 10);
    BAD(temperature, -INFINITY, 10);
    BAD(top_k, -1, 10);
    BAD(top_p, 0.0f, 10);
    BAD(top_p, -0.5f, 10);
    BAD(top_p, 1.01f, 10);
    BAD(top_p, NAN, 10);
    BAD(min_p, -0.01f, 10);
    BAD(min_p, 1.5f, 10);
    BAD(min_p, NAN, 10);
    BAD(repeat_penalty, 0.0f, 10);
    BAD(repeat_penalty, -1.0f, 10);
    BAD(repeat_penalty, NAN, 10);
    BAD(repeat_penalty, INFINITY, 10);
    BAD(presence_penalty, NAN, 10);
    BAD(presence_penalty, -INFINITY, 10);
    BAD(frequency_penalty, INFINITY, 10);
    BAD(frequency_penalty, NAN, 10);
    BAD(penalty_last_n, -1, 10);
#undef BAD
    for (int i = 0; i < n; i++) {
        ward_sampler *s = (ward_sampler *)&s;
        ward_error err = {0};
        ward_status st = ward_sampler_open(&cases[i].p, cases[i].n_vocab, &s, &err);
        CHECK(st == WARD_EINVAL, "%s (n_vocab %d): status %d", cases[i].name, cases[i].n_vocab,
              (int)st);
        CHECK(s == NULL, "%s: out not cleared", cases[i].name);
        CHECK(err.code == WARD_EINVAL && err.msg[0], "%s: no message", cases[i].name);
        if (st == WARD_OK) ward_sampler_close(s);
    }
    /* Edges that are valid; NULL params means the defaults. */
    ward_sampler_params ok = d;
    ok.top_p = 1.0f;
    ok.min_p = 1.0f;
    ok.top_k = 1000;
    ok.presence_penalty = -2.0f;
    ward_sampler *s = open_or_fail(&ok, 1);
    if (s) CHECK(ward_sampler_sample(s, small_logits) == 0, "n_vocab 1 must give token 0");
    ward_sampler_close(s);
    s = NULL;
    CHECK(ward_sampler_open(NULL, 10, &s, NULL) == WARD_OK && s, "NULL params rejected");
    ward_sampler_close(s);
    ward_sampler_close(NULL);
}

static void test_oom_and_no_alloc(void) {
    enum { V = 32000 };
    ward_sampler_params p = ward_sampler_default_params();
    p.repeat_penalty = 1.1f;
    int ok_at = 0;
    for (long n = 1; n < 50 && !ok_at; n++) {
        ward_sampler *s = NULL;
        ward_error err = {0};
        ward_alloc_fail_after(n);
        ward_status st = ward_sampler_open(&p, V, &s, &err);
        ward_alloc_fail_after(0);
        if (st == WARD_OK) {
            ok_at = (int)n;
            ward_sampler_close(s);
            break;
        }
        CHECK(st == WARD_ENOMEM && s == NULL && err.msg[0], "fail at %ld: status %d", n, (int)st);
    }
    CHECK(ok_at > 1, "open never allocated or never succeeded (%d)", ok_at);

    /* sample/accept/reset allocate nothing. */
    static float l[V];
    uint64_t rs = 14;
    for (int i = 0; i < V; i++) l[i] = test_rand_f32(&rs) * 8;
    ward_sampler *s = open_or_fail(&p, V);
    if (!s) return;
    ward_alloc_fail_after(0);
    for (int i = 0; i < 200; i++) ward_sampler_accept(s, ward_sampler_sample(s, l));
    ward_sampler_reset(s);
    p.top_k = 0; /* also the full-vocabulary sort */
    ward_sampler_close(s);
    long n_alloc = ward_alloc_fail_after(0);
    CHECK(n_alloc == 0, "sampling allocated %ld times", n_alloc);
    s = open_or_fail(&p, V);
    if (!s) return;
    ward_alloc_fail_after(0);
    for (int i = 0; i < 20; i++) ward_sampler_accept(s, ward_sampler_sample(s, l));
    n_alloc = ward_alloc_fail_after(0);
    CHECK(n_alloc == 0, "sampling (top_k off) allocated %ld times", n_alloc);
    ward_sampler_close(s);
}

int main(void) {
    test_greedy();
    test_top_k_1_is_greedy();
    test_seeds();
    test_distributions();
    test_support_random();
    test_masked();
    test_penalties();
    test_invalid();
    test_oom_and_no_alloc();
    return test_summary();
}
