/* cmd_bench.c: `ward bench`: prompt-processing and generation speed, llama-bench style.
 *
 * After one warm-up run of each test, every repetition starts from empty sequences: ppN
 * evaluates N prompt tokens in one batch; tgN evaluates one BOS token, then N single-token steps
 * (timed); with --batch B, B sequences advance together, one token each per step, and the
 * aggregate tokens/s is reported. Tokens are fixed pseudo-random ids, so no tokenizer time is
 * measured. Results are mean ± standard deviation over the repetitions, as a Markdown table.
 * --membw also measures the machine's read bandwidth (all threads summing a 1 GiB buffer with
 * AVX2 loads, which every machine ward runs on has; best of several passes, just before and
 * just after the generation test) and reports generation efficiency = tokens/s x bytes of
 * weights read per token / bandwidth; the bytes per token are every tensor but the token embeddings (one row of
 * them is read per token), or all of them when the output matrix is the embedding matrix.
 * --peak measures the FP32 multiply-add peak (all threads, independent FMA chains, AVX2 and
 * AVX-512 where present, the better) and reports for F32/F16/BF16 models the prompt tests'
 * GFLOP/s (2 x the multiplied weights per token) against it; for BF16 with VDPBF16PS the peak
 * is twice the FP32 one (two products per lane per instruction). -d N first fills each
 * sequence with N tokens (not timed), so ppN@dM / tgN@dM measure at a long context.
 */
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpu.h"
#include "base/threadpool.h"
#include "cli.h"
#include "formats/gguf.h"
#include "ward.h"

typedef struct bench_opts {
    const char *model;
    int32_t n_prompt, n_gen, n_threads, reps, batch, depth, online_from;
    bool membw, no_repack, peak;
    const char *kv_name;
    ward_type kv_type;
} bench_opts;

typedef struct bench_stats {
    double mean, sd;
} bench_stats;

static bench_stats stats(const double *v, int n) {
    double m = 0, s = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    return (bench_stats){m, n > 1 ? sqrt(s / (n - 1)) : 0.0};
}

/* Pseudo-random token ids in [3, n_vocab): skips the usual control ids 0..2. */
static void fill_tokens(ward_token *t, int32_t n, int32_t n_vocab, uint64_t seed) {
    for (int32_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        t[i] = 3 + (ward_token)((seed >> 33) % (uint64_t)(n_vocab - 3));
    }
}

/* Every sequence back to its first depth tokens (the context filled by fill_depth). */
static int clear_all(ward_context *ctx, int32_t n_seq, int32_t depth) {
    for (int32_t s = 0; s < n_seq; s++)
        if (ward_context_seq_truncate(ctx, s, depth)) return -1;
    return 0;
}

/* Fills every sequence with the same depth tokens, in batches of at most n_batch (not timed);
 * seqs is n_batch ids of scratch. */
static int fill_depth(ward_context *ctx, const ward_token *toks, int32_t depth, int32_t n_seq,
                      int32_t n_batch, int32_t *seqs) {
    for (int32_t s = 0; s < n_seq; s++) {
        if (ward_context_seq_clear(ctx, s)) return -1;
        for (int32_t i = 0; i < depth; i += n_batch) {
            const int32_t n = depth - i < n_batch ? depth - i : n_batch;
            for (int32_t k = 0; k < n; k++) seqs[k] = s;
            ward_batch b = {.n = n, .tokens = toks + i, .seq = seqs};
            if (ward_decode(ctx, &b)) return -1;
        }
    }
    return 0;
}

/* Tokens per second of one prompt of n tokens in one batch (sequence 0). */
static double run_pp(ward_context *ctx, const ward_token *toks, int32_t n, int32_t n_seq,
                     int32_t depth) {
    if (clear_all(ctx, n_seq, depth)) return -1;
    const double t0 = cli_now_s();
    ward_batch b = {.n = n, .tokens = toks};
    if (ward_decode(ctx, &b)) return -1;
    return n / (cli_now_s() - t0);
}

/* Aggregate tokens per second of n steps of n_seq sequences (one token each per step). */
static double run_tg(ward_context *ctx, const ward_token *toks, int32_t n, int32_t n_seq,
                     int32_t depth, const ward_token *bos, const int32_t *seqs) {
    if (clear_all(ctx, n_seq, depth)) return -1;
    ward_batch first = {.n = n_seq, .tokens = bos, .seq = seqs};
    if (ward_decode(ctx, &first)) return -1;
    const double t0 = cli_now_s();
    for (int32_t i = 0; i < n; i++) {
        ward_batch b = {.n = n_seq, .tokens = toks + (size_t)i * n_seq, .seq = seqs};
        if (ward_decode(ctx, &b)) return -1;
    }
    return (double)n * n_seq / (cli_now_s() - t0);
}

/* --- memory bandwidth ----------------------------------------------------------------------- */

typedef struct membw_job {
    const uint64_t *buf;
    size_t n;
    bool avx2;
    uint64_t sums[64];
} membw_job;

/* Four independent 256-bit accumulators: the loop must be limited by memory, not by the
 * latency of its own additions (a scalar version measures about 40% less on Zen 4). */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint64_t *p, size_t n) {
    __m256i s[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256()};
    for (size_t i = 0; i + 16 <= n; i += 16) {
        /* software prefetch, 2 KiB ahead, as the kernels do: without it this loop reads ~30%
         * slower than a decoding matmul on Zen 4, which would overstate efficiency */
        _mm_prefetch((const char *)(p + i) + 2048, _MM_HINT_T0);
        _mm_prefetch((const char *)(p + i) + 2048 + 64, _MM_HINT_T0);
        for (int k = 0; k < 4; k++)
            s[k] = _mm256_add_epi64(s[k], _mm256_loadu_si256((const __m256i *)(p + i + 4 * k)));
    }
    const __m256i t = _mm256_add_epi64(_mm256_add_epi64(s[0], s[1]), _mm256_add_epi64(s[2], s[3]));
    return (uint64_t)_mm256_extract_epi64(t, 0) + (uint64_t)_mm256_extract_epi64(t, 3);
}

static void membw_read(void *arg, int ith, int nth) {
    membw_job *j = arg;
    const size_t i0 = j->n * (size_t)ith / (size_t)nth, i1 = j->n * (size_t)(ith + 1) / (size_t)nth;
    uint64_t sum = 0;
    if (j->avx2)
        sum = sum_avx2(j->buf + i0, i1 - i0);
    else
        for (size_t i = i0; i < i1; i++) sum += j->buf[i];
    j->sums[ith % 64] = sum;
}

/* Best read bandwidth in GB/s over 5 passes of a 1 GiB buffer (0 when it cannot allocate). */
static double measure_membw(int32_t n_threads) {
    const size_t bytes = (size_t)1 << 30;
    uint64_t *buf = malloc(bytes);
    tp_pool *pool = NULL;
    ward_error err;
    if (!buf || tp_open(n_threads, &pool, &err)) {
        free(buf);
        return 0;
    }
    memset(buf, 1, bytes); /* touch every page before timing */
    membw_job job = {.buf = buf, .n = bytes / sizeof *buf,
                     .avx2 = cpu_isa_detect() >= WARD_ISA_AVX2};
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
        const double t0 = cli_now_s();
        tp_run(pool, membw_read, &job);
        const double gbs = (double)bytes / 1e9 / (cli_now_s() - t0);
        best = gbs > best ? gbs : best;
    }
    volatile uint64_t sink = job.sums[0];
    (void)sink;
    tp_close(pool);
    free(buf);
    return best;
}

/* --- arithmetic peak ------------------------------------------------------------------------ */

#define PEAK_CHAINS 12 /* independent accumulators: more than FMA latency x FMA units */
#define PEAK_ITERS 4000000L

typedef struct peak_job {
    bool avx512;
    double sums[64];
} peak_job;

#define PEAK_LOOP(vec, set1, fmadd, add, store, lanes)                                         \
    vec a[PEAK_CHAINS];                                                                        \
    const vec m = set1(0.999999f), c = set1(1e-6f);                                            \
    for (int k = 0; k < PEAK_CHAINS; k++) a[k] = set1((float)k);                               \
    for (long i = 0; i < PEAK_ITERS; i++)                                                      \
        for (int k = 0; k < PEAK_CHAINS; k++) a[k] = fmadd(a[k], m, c);                        \
    for (int k = 1; k < PEAK_CHAINS; k++) a[0] = add(a[0], a[k]);                              \
    float out[lanes];                                                                          \
    store(out, a[0]);                                                                          \
    return out[0];

__attribute__((target("avx2,fma"))) static float peak_avx2(void) {
    PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_storeu_ps, 8)
}
__attribute__((target("avx512f"))) static float peak_avx512(void) {
    PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps, 16)
}

static void peak_run(void *arg, int ith, int nth) {
    (void)nth;
    peak_job *j = arg;
    j->sums[ith % 64] = j->avx512 ? peak_avx512() : peak_avx2();
}

/* Best FP32 multiply-add rate in GFLOP/s of all threads (two flops per lane per FMA). */
static double measure_peak(int32_t n_threads) {
    tp_pool *pool = NULL;
    ward_error err;
    if (cpu_isa_detect() < WARD_ISA_AVX2 || tp_open(n_threads, &pool, &err)) return 0;
    double best = 0;
    for (int wide = 0; wide < (cpu_isa_detect() >= WARD_ISA_AVX512 ? 2 : 1); wide++)
        for (int pass = 0; pass < 3; pass++) {
            peak_job job = {.avx512 = wide};
            const double t0 = cli_now_s();
            tp_run(pool, peak_run, &job);
            const double flops = 2.0 * PEAK_ITERS * PEAK_CHAINS * (wide ? 16 : 8) * n_threads;
            const double g = flops / 1e9 / (cli_now_s() - t0);
            best = g > best ? g : best;
        }
    tp_close(pool);
    return best;
}

/* What one token reads and multiplies: bytes and elements of every tensor but the token
 * embeddings (one row of them is read per token), or of all of them when the output matrix is
 * the embedding matrix. Zeros if not a GGUF file. */
typedef struct token_work {
    double bytes, elems;
} token_work;

static token_work work_per_token(const char *path) {
    gguf_file *g;
    ward_error err;
    token_work w = {0, 0};
    if (gguf_open(path, &g, &err)) return w;
    const gguf_tensor *embd = gguf_find_tensor(g, "token_embd.weight");
    const bool tied = !gguf_find_tensor(g, "output.weight");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        if (t == embd && !tied) continue;
        double n = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) n *= (double)t->ne[d];
        w.bytes += (double)t->nbytes;
        w.elems += n;
    }
    gguf_close(g);
    return w;
}

/* --- the run -------------------------------------------------------------------------------- */

static void print_row(const bench_opts *o, const ward_model_info *in, const char *test,
                      bench_stats s, const char *extra) {
    printf("| %-10s | %-6s | %8.2f MiB | %6.2f M | %7d | %5d | %-12s | %9.2f ± %-6.2f |%s\n",
           in->arch, ward_type_name(in->main_type), (double)in->n_bytes / 1048576.0,
           (double)in->n_params / 1e6, o->n_threads, o->batch, test, s.mean, s.sd, extra);
}

/* --peak on a float model: the prompt's GFLOP/s against the multiply-add peak (see the file
 * comment); nothing otherwise. */
static void prompt_efficiency(const bench_opts *o, const ward_model_info *in, double tps,
                              char *extra, size_t cap) {
    const ward_type t = in->main_type;
    if (!o->peak || (t != WARD_TYPE_F32 && t != WARD_TYPE_F16 && t != WARD_TYPE_BF16)) return;
    const bool pairs = t == WARD_TYPE_BF16 && cpu_isa_select() >= WARD_ISA_AVX512BF16;
    const double peak = measure_peak(o->n_threads) * (pairs ? 2 : 1);
    const double gflops = tps * 2.0 * work_per_token(o->model).elems / 1e9;
    if (peak > 0 && gflops > 0)
        snprintf(extra, cap, " %.0f GFLOP/s; %s peak %.0f GFLOP/s; efficiency %.0f%%", gflops,
                 pairs ? "BF16 pair-dot (2x FP32 FMA)" : "FP32 FMA", peak, 100.0 * gflops / peak);
}

/* "pp128", or "pp128@d4096" after a context of depth tokens (llama-bench's naming). */
static void test_name(char *out, size_t cap, const char *kind, int32_t n, int32_t depth) {
    if (depth > 0)
        snprintf(out, cap, "%s%d@d%d", kind, (int)n, (int)depth);
    else
        snprintf(out, cap, "%s%d", kind, (int)n);
}

static int bench(const bench_opts *o) {
    ward_error err;
    ward_model *m = NULL;
    ward_context *ctx = NULL;
    int rc = 1;
    ward_model_params mp = ward_model_default_params();
    mp.no_repack = o->no_repack;
    if (ward_model_open_ex(o->model, &mp, &m, &err)) return cli_fail("bench", "%s", err.msg);
    const ward_model_info *in = ward_model_get_info(m);
    if (in->n_vocab < 4) {
        cli_fail("bench", "a vocabulary of %d tokens is too small to benchmark", in->n_vocab);
        ward_model_close(m);
        return 1;
    }
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = o->depth + (o->n_prompt > o->n_gen + 1 ? o->n_prompt : o->n_gen + 1) + 8;
    cp.n_seq = o->batch;
    cp.n_batch = o->n_prompt > o->batch ? o->n_prompt : o->batch;
    if (cp.n_batch < 512 && o->depth > cp.n_batch) cp.n_batch = 512; /* for filling the depth */
    cp.attn_online_from = o->online_from;
    cp.n_outputs = o->batch;
    cp.n_threads = o->n_threads;
    cp.kv_type = o->kv_type;
    const size_t n_toks = (size_t)(o->n_prompt + (size_t)o->n_gen * o->batch + o->batch) +
                          (size_t)o->depth;
    ward_token *toks = malloc(n_toks * sizeof *toks);
    int32_t *seqs = malloc((size_t)(cp.n_batch > o->batch ? cp.n_batch : o->batch) * sizeof *seqs);
    double *v = malloc((size_t)o->reps * sizeof *v);
    if (!toks || !seqs || !v) {
        cli_fail("bench", "out of memory");
        goto done;
    }
    if (ward_context_open(m, &cp, &ctx, &err)) {
        cli_fail("bench", "%s", err.msg);
        goto done;
    }
    fill_tokens(toks, (int32_t)n_toks, in->n_vocab, 42);
    const ward_token *bos = toks + o->n_prompt + (size_t)o->n_gen * o->batch;
    if (o->depth > 0 && fill_depth(ctx, bos + o->batch, o->depth, o->batch, cp.n_batch, seqs))
        goto decode_failed;
    for (int32_t s = 0; s < o->batch; s++) seqs[s] = s;
    printf("kernels: %s; %d weight matrices repacked (%.1f MiB); KV cache %s\n\n",
           cpu_isa_name(cpu_isa_select()), (int)in->n_packed, (double)in->n_packed_bytes / 1048576.0,
           ward_type_name(cp.kv_type ? cp.kv_type : WARD_TYPE_F16));
    printf("| %-10s | %-6s | %12s | %8s | %7s | %5s | %-12s | %18s |\n", "arch", "type", "size",
           "params", "threads", "batch", "test", "t/s");
    printf("|------------|--------|--------------|----------|---------|-------|--------------|--------------------|\n");
    char name[32];
    if (o->n_prompt > 0 && o->batch == 1) {
        run_pp(ctx, toks, o->n_prompt, o->batch, o->depth); /* warm-up */
        for (int r = 0; r < o->reps; r++)
            if ((v[r] = run_pp(ctx, toks, o->n_prompt, o->batch, o->depth)) < 0) goto decode_failed;
        test_name(name, sizeof name, "pp", o->n_prompt, o->depth);
        char extra[160] = "";
        prompt_efficiency(o, in, stats(v, o->reps).mean, extra, sizeof extra);
        print_row(o, in, name, stats(v, o->reps), extra);
    }
    if (o->n_gen > 0) {
        const ward_token *gen = toks + o->n_prompt;
        /* the machine's bandwidth varies from minute to minute (shared hosts): probe it just
         * before and just after the test and keep the better */
        const double bw_before = o->membw ? measure_membw(o->n_threads) : 0;
        run_tg(ctx, gen, o->n_gen < 8 ? o->n_gen : 8, o->batch, o->depth, bos, seqs); /* warm-up */
        for (int r = 0; r < o->reps; r++)
            if ((v[r] = run_tg(ctx, gen, o->n_gen, o->batch, o->depth, bos, seqs)) < 0)
                goto decode_failed;
        test_name(name, sizeof name, "tg", o->n_gen, o->depth);
        bench_stats st = stats(v, o->reps);
        char extra[160] = "";
        if (o->membw) {
            const double bw_after = measure_membw(o->n_threads);
            const double bpt = work_per_token(o->model).bytes;
            const double bw = bw_after > bw_before ? bw_after : bw_before;
            if (bw > 0 && bpt > 0)
                snprintf(extra, sizeof extra, " read bandwidth %.1f GB/s; %.1f MB per token; "
                         "efficiency %.0f%%", bw, bpt / 1e6, 100.0 * st.mean / o->batch * bpt / 1e9 / bw);
        }
        print_row(o, in, name, st, extra);
    }
    rc = 0;
    goto done;
decode_failed:
    cli_fail("bench", "%s", ward_context_errmsg(ctx));
done:
    free(toks), free(seqs), free(v);
    ward_context_close(ctx);
    ward_model_close(m);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    bench_opts o = {.n_prompt = 128, .n_gen = 64, .reps = 5, .batch = 1};
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &o.model, "FILE", "GGUF model (required)", 0, 0},
        {"n-prompt", 'p', CLI_INT, &o.n_prompt, "N", "prompt tokens per pp test; 0 = none (default 128)", 0, 65536},
        {"n-gen", 'n', CLI_INT, &o.n_gen, "N", "generated tokens per tg test; 0 = none (default 64)", 0, 1 << 20},
        {"threads", 't', CLI_INT, &o.n_threads, "N", "threads (default: all cores)", 0, 512},
        {"kv-type", 0, CLI_STR, &o.kv_name, "TYPE", CLI_KV_TYPE_HELP, 0, 0},
        {"repetitions", 'r', CLI_INT, &o.reps, "N", "repetitions after the warm-up (default 5)", 1, 1000},
        {"batch", 0, CLI_INT, &o.batch, "B", "sequences generating together (default 1); tg reports their aggregate t/s", 1, 4096},
        {"depth", 'd', CLI_INT, &o.depth, "N", "tokens already in each sequence's context before every test (default 0): measures speed at long contexts", 0, 1 << 20},
        {"attn-online-from", 0, CLI_INT, &o.online_from, "N", "keys from which attention runs in one pass with online softmax (default 512; 1 = always)", 0, 1 << 24},
        {"membw", 0, CLI_FLAG, &o.membw, NULL, "also measure read bandwidth and generation efficiency", 0, 0},
        {"peak", 0, CLI_FLAG, &o.peak, NULL, "also measure the multiply-add peak and report the prompt tests' GFLOP/s against it (F32, F16, BF16 models)", 0, 0},
        {"no-repack", 0, CLI_FLAG, &o.no_repack, NULL, "keep weights in the file's layout (no load-time repacking), to measure what repacking gains", 0, 0},
    };
    const cli_cmd cmd = {"bench", "-m MODEL [-p N] [-n N] [-d N] [-t N] [-r N] [--batch B] [--membw] [--peak] [--no-repack] [--kv-type TYPE] [--attn-online-from N]",
                         "Measure prompt processing (ppN: N tokens in one batch) and generation "
                         "(tgN: N single-token steps) in tokens/s, mean ± sd over repetitions "
                         "after a warm-up, as a Markdown table.",
                         NULL, opts, (int)(sizeof opts / sizeof opts[0]), 0};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if ((rc = cli_kv_type("bench", o.kv_name, &o.kv_type))) return rc;
    if (!o.model) {
        cli_fail("bench", "no model given (-m FILE); see ward bench --help");
        return 2;
    }
    if (!o.n_threads) o.n_threads = tp_default_threads();
    return bench(&o);
}
