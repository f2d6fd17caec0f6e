/* sampler.c: ward_sampler, which turns one logit vector into a token (see ward.h).
 *
 * temperature <= 0 is greedy: argmax of the raw logits, lowest id on ties; nothing else applies.
 * Otherwise, on a copy of the logits (NaN read as -inf), in this order:
 *   penalties    tokens seen count > 0 times among the last penalty_last_n accepted: repeat as
 *                llama.cpp (logit > 0: /= p, else *= p), then -= count * freq + presence
 *   top-k        keep the k best by (logit desc, id asc): heap selection, O(n log k)
 *   temperature, softmax   p = exp(logit / T - max), Z = sum of p over the survivors
 *   min-p        drop p < min_p * p_max (p_max = 1 here)
 *   top-p        shortest prefix in (logit desc, id asc) order with sum(p) >= top_p * Z, popped
 *                from a heap (no full sort); then draw u in [0, kept sum) and walk the survivors
 * min-p runs before top-p only to shrink top-p's heap: both keep a prefix of the same order and
 * top-p measures against the full Z, so the kept set is the one the spec order gives.
 * History: a ring of the last penalty_last_n tokens plus counts[n_vocab] kept in step. Buffers
 * are allocated in open; sample() never allocates (heaps, not qsort, which may malloc).
 * RNG: xoshiro256** seeded by splitmix64, one draw per sample; reset() clears history, reseeds.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>

#include "base/error.h"
#include "ward.h"

typedef struct sampler_cand {
    float logit;
    float p; /* exp(logit - max), unnormalised */
    int32_t id;
} sampler_cand;

struct ward_sampler {
    ward_sampler_params params; /* validated; penalty_last_n forced to 0 when greedy */
    int32_t n_vocab;
    uint64_t rng[4];         /* xoshiro256** state */
    sampler_cand *cand;      /* (n_vocab) scratch for sample() */
    int32_t *counts;         /* (n_vocab) occurrences in history; negated briefly in sample() */
    ward_token *history;     /* (penalty_last_n) ring of accepted tokens */
    int32_t hist_len;        /* tokens in the ring, <= penalty_last_n */
    int32_t hist_head;       /* oldest entry once the ring is full */
};

/* ---------------------------------------------------------------------------------------------
 * RNG: splitmix64 for seeding, xoshiro256** for draws
 * ------------------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(uint64_t s[4], uint64_t seed) {
    for (int i = 0; i < 4; i++) s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t s[4]) {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t s[4]) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

/* ---------------------------------------------------------------------------------------------
 * Candidate ordering: binary heaps, worst on top (top-k) or best on top (top-p)
 * ------------------------------------------------------------------------------------------- */

/* a ranks before b: higher logit, lower id on ties. A total order (ids are distinct, no NaN). */
static bool ranks_before(const sampler_cand *a, const sampler_cand *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* a belongs above b in a heap with the best (best_top) or the worst candidate on top. */
static bool heap_above(const sampler_cand *a, const sampler_cand *b, bool best_top) {
    return best_top ? ranks_before(a, b) : ranks_before(b, a);
}

/* Restore the heap property below node i of c[0..n). */
static void sift_down(sampler_cand *c, int32_t n, int32_t i, bool best_top) {
    for (;;) {
        int32_t top = i, l = 2 * i + 1, r = l + 1;
        if (l < n && heap_above(&c[l], &c[top], best_top)) top = l;
        if (r < n && heap_above(&c[r], &c[top], best_top)) top = r;
        if (top == i) return;
        sampler_cand t = c[i];
        c[i] = c[top];
        c[top] = t;
        i = top;
    }
}

static void heapify(sampler_cand *c, int32_t n, bool best_top) {
    for (int32_t i = n / 2 - 1; i >= 0; i--) sift_down(c, n, i, best_top);
}

/* Move the k best of c[0..n) into c[0..k), in no particular order. O(n log k). */
static void select_top_k(sampler_cand *c, int32_t n, int32_t k) {
    heapify(c, k, false);
    for (int32_t i = k; i < n; i++) {
        if (ranks_before(&c[i], &c[0])) {
            c[0] = c[i];
            sift_down(c, k, 0, false);
        }
    }
}

/* Keep the shortest best-first prefix of c[0..n) whose p sum to >= target: pop the best from a
 * heap until the sum is reached, so the cost is O(n + kept * log n), not a full sort. The kept
 * candidates end up in c[first..n), best last; returns first. */
static int32_t top_p_prefix(sampler_cand *c, int32_t n, double target) {
    heapify(c, n, true);
    double cum = 0;
    int32_t h = n; /* the heap is c[0..h) */
    while (h > 0) {
        sampler_cand best = c[0];
        c[0] = c[--h];
        sift_down(c, h, 0, true);
        c[h] = best;
        cum += best.p;
        if (cum >= target) break;
    }
    return h;
}

/* ---------------------------------------------------------------------------------------------
 * Parameters
 * ------------------------------------------------------------------------------------------- */

ward_sampler_params ward_sampler_default_params(void) {
    return (ward_sampler_params){
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .presence_penalty = 0.0f,
        .frequency_penalty = 0.0f,
        .penalty_last_n = 64,
        .seed = 0,
    };
}

static ward_status check_params(const ward_sampler_params *p, int32_t n_vocab, ward_error *err) {
    if (n_vocab <= 0)
        return WARD_FAIL(err, WARD_EINVAL, "sampler: n_vocab %d must be > 0", n_vocab);
    if (!isfinite(p->temperature))
        return WARD_FAIL(err, WARD_EINVAL, "sampler: temperature %g is not finite",
                         (double)p->temperature);
    if (p->temperature <= 0) return WARD_OK; /* greedy: the rest is ignored */
    if (p->top_k < 0) return WARD_FAIL(err, WARD_EINVAL, "sampler: top_k %d < 0", p->top_k);
    if (!(p->top_p > 0 && p->top_p <= 1))
        return WARD_FAIL(err, WARD_EINVAL, "sampler: top_p %g not in (0, 1]", (double)p->top_p);
    if (!(p->min_p >= 0 && p->min_p <= 1))
        return WARD_FAIL(err, WARD_EINVAL, "sampler: min_p %g not in [0, 1]", (double)p->min_p);
    if (!(p->repeat_penalty > 0) || !isfinite(p->repeat_penalty))
        return WARD_FAIL(err, WARD_EINVAL, "sampler: repeat_penalty %g must be finite and > 0",
                         (double)p->repeat_penalty);
    if (!isfinite(p->presence_penalty))
        return WARD_FAIL(err, WARD_EINVAL, "sampler: presence_penalty %g is not finite",
                         (double)p->presence_penalty);
    if (!isfinite(p->frequency_penalty))
        return WARD_FAIL(err, WARD_EINVAL, "sampler: frequency_penalty %g is not finite",
                         (double)p->frequency_penalty);
    if (p->penalty_last_n < 0)
        return WARD_FAIL(err, WARD_EINVAL, "sampler: penalty_last_n %d < 0", p->penalty_last_n);
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Open, close, history
 * ------------------------------------------------------------------------------------------- */

ward_status ward_sampler_open(const ward_sampler_params *params, int32_t n_vocab,
                              ward_sampler **out, ward_error *err) {
    assert(out);
    *out = NULL;
    ward_error_clear(err);
    ward_sampler_params p = params ? *params : ward_sampler_default_params();
    ward_status st = check_params(&p, n_vocab, err);
    if (st != WARD_OK) return st;
    if (p.temperature <= 0) p.penalty_last_n = 0;

    ward_sampler *s = ward_calloc(1, sizeof *s);
    if (!s) goto oom;
    s->params = p;
    s->n_vocab = n_vocab;
    s->cand = ward_calloc((size_t)n_vocab, sizeof *s->cand);
    s->counts = ward_calloc((size_t)n_vocab, sizeof *s->counts);
    s->history = ward_calloc((size_t)p.penalty_last_n, sizeof *s->history);
    if (!s->cand || !s->counts || !s->history) goto oom;
    rng_seed(s->rng, p.seed);
    *out = s;
    return WARD_OK;
oom:
    ward_sampler_close(s);
    return WARD_FAIL(err, WARD_ENOMEM, "sampler: out of memory (n_vocab %d, penalty_last_n %d)",
                     n_vocab, p.penalty_last_n);
}

void ward_sampler_close(ward_sampler *s) {
    if (!s) return;
    ward_free(s->cand);
    ward_free(s->counts);
    ward_free(s->history);
    ward_free(s);
}

/* Tokens outside [0, n_vocab) are not recorded (they can never be sampled either). */
void ward_sampler_accept(ward_sampler *s, ward_token tok) {
    int32_t cap = s->params.penalty_last_n;
    if (cap == 0 || tok < 0 || tok >= s->n_vocab) return;
    if (s->hist_len < cap) {
        s->history[s->hist_len++] = tok;
    } else {
        s->counts[s->history[s->hist_head]]--;
        s->history[s->hist_head] = tok;
        s->hist_head = (s->hist_head + 1) % cap;
    }
    s->counts[tok]++;
}

void ward_sampler_reset(ward_sampler *s) {
    for (int32_t i = 0; i < s->hist_len; i++) s->counts[s->history[i]] = 0;
    s->hist_len = 0;
    s->hist_head = 0;
    rng_seed(s->rng, s->params.seed);
}

/* ---------------------------------------------------------------------------------------------
 * Sampling
 * ------------------------------------------------------------------------------------------- */

static ward_token argmax(const float *logits, int32_t n) {
    ward_token best = 0;
    float best_logit = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        if (logits[i] > best_logit) {
            best_logit = logits[i];
            best = i;
        }
    }
    return best;
}

/* Penalise each distinct history token once: counts are negated as they are used, then restored. */
static void apply_penalties(ward_sampler *s, sampler_cand *c) {
    const ward_sampler_params *p = &s->params;
    for (int32_t i = 0; i < s->hist_len; i++) {
        ward_token t = s->history[i];
        int32_t n = s->counts[t];
        if (n <= 0) continue;
        float l = c[t].logit;
        l = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty;
        c[t].logit = l - ((float)n * p->frequency_penalty + p->presence_penalty);
        s->counts[t] = -n;
    }
    for (int32_t i = 0; i < s->hist_len; i++) {
        ward_token t = s->history[i];
        if (s->counts[t] < 0) s->counts[t] = -s->counts[t];
    }
}

ward_token ward_sampler_sample(ward_sampler *s, const float *logits) {
    const ward_sampler_params *p = &s->params;
    if (p->temperature <= 0) return argmax(logits, s->n_vocab);

    /* Copy, penalties, top-k. */
    sampler_cand *c = s->cand;
    int32_t n = s->n_vocab;
    for (int32_t i = 0; i < n; i++) {
        c[i].logit = isnan(logits[i]) ? -INFINITY : logits[i];
        c[i].id = i;
    }
    apply_penalties(s, c);
    if (p->top_k > 0 && p->top_k < n) {
        select_top_k(c, n, p->top_k);
        n = p->top_k;
    }

    /* Temperature and softmax (unnormalised; l == max also covers +inf and all -inf). */
    float max = -INFINITY;
    for (int32_t i = 0; i < n; i++) {
        c[i].logit /= p->temperature;
        if (c[i].logit > max) max = c[i].logit;
    }
    double z = 0;
    for (int32_t i = 0; i < n; i++) {
        c[i].p = c[i].logit == max ? 1.0f : expf(c[i].logit - max);
        z += c[i].p;
    }

    /* min-p: p_max is 1, so the threshold is min_p itself. The maximum always survives. */
    if (p->min_p > 0) {
        int32_t kept = 0;
        for (int32_t i = 0; i < n; i++)
            if (c[i].p >= p->min_p) c[kept++] = c[i];
        n = kept;
    }

    /* top-p, measured against the whole softmax. */
    int32_t first = 0;
    if (p->top_p < 1) first = top_p_prefix(c, n, (double)p->top_p * z);

    /* Draw from c[first..n). */
    double total = 0;
    for (int32_t i = first; i < n; i++) total += c[i].p;
    double u = rng_unit(s->rng) * total, acc = 0;
    for (int32_t i = first; i < n; i++) {
        acc += c[i].p;
        if (u < acc) return c[i].id;
    }
    return c[n - 1].id;
}
