/* cmd_perplexity.c: `ward perplexity`: how well a model predicts a text, and how far a
 * quantized model's predictions are from a higher-precision one's.
 *
 * The method is llama.cpp's, so numbers compare: the text is tokenized once (with BOS), cut into
 * chunks of n_ctx tokens, each chunk evaluated from an empty context with its first token
 * replaced by BOS, and only the second half of each chunk scored (those tokens see at least
 * n_ctx/2 tokens of context). Perplexity = exp(mean negative log-likelihood), with the standard
 * error of the mean carried through. With --kl-base, a second model evaluates the same chunks;
 * for every scored position the mean KL divergence KL(base || model) and how often both models'
 * most likely tokens agree are reported too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ward.h"

typedef struct ppl_opts {
    const char *model, *file, *kl_base, *kv_name;
    int32_t n_ctx, n_threads, max_chunks;
    ward_type kv_type;
} ppl_opts;

typedef struct ppl_model {
    ward_model *model;
    ward_context *ctx;
} ppl_model;

typedef struct ppl_stats {
    double nll, nll2; /* sums of -log p and its square */
    double kl;        /* sum of KL(base || model) */
    int64_t n, top1_same;
} ppl_stats;

static int open_model(const char *path, int32_t n_ctx, int32_t n_threads, ward_type kv_type,
                      ppl_model *pm) {
    ward_error err;
    if (ward_model_open(path, &pm->model, &err)) return cli_fail("perplexity", "%s", err.msg);
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_ctx;
    cp.n_outputs = n_ctx;
    cp.n_threads = n_threads;
    cp.kv_type = kv_type;
    if (ward_context_open(pm->model, &cp, &pm->ctx, &err))
        return cli_fail("perplexity", "%s", err.msg);
    return 0;
}

static void close_model(ppl_model *pm) {
    ward_context_close(pm->ctx);
    ward_model_close(pm->model);
}

/* log-softmax of logits into out (n values), in double for the sum. */
static void log_softmax(const float *logits, int32_t n, double *out) {
    float max = logits[0];
    for (int32_t i = 1; i < n; i++) max = logits[i] > max ? logits[i] : max;
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) sum += exp((double)logits[i] - max);
    const double log_sum = log(sum) + max;
    for (int32_t i = 0; i < n; i++) out[i] = (double)logits[i] - log_sum;
}

static int32_t argmax_d(const double *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Evaluate one chunk (all positions want logits) on a fresh sequence. */
static int eval_chunk(ppl_model *pm, const ward_token *toks, int32_t n, bool *want) {
    if (ward_context_seq_clear(pm->ctx, 0)) return cli_fail("perplexity", "clear failed");
    ward_batch b = {.n = n, .tokens = toks, .want_logits = want};
    if (ward_decode(pm->ctx, &b)) return cli_fail("perplexity", "%s", ward_context_errmsg(pm->ctx));
    return 0;
}

/* Score positions [n/2, n-1) of the chunk just evaluated (and the base's, if any). */
static void score_chunk(const ppl_model *pm, const ppl_model *base, const ward_token *toks,
                        int32_t n, int32_t n_vocab, double *lp, double *lp_base, ppl_stats *s) {
    for (int32_t j = n / 2; j < n - 1; j++) {
        log_softmax(ward_context_logits(pm->ctx, j), n_vocab, lp);
        const double nll = -lp[toks[j + 1]];
        s->nll += nll;
        s->nll2 += nll * nll;
        s->n++;
        if (!base) continue;
        log_softmax(ward_context_logits(base->ctx, j), n_vocab, lp_base);
        double kl = 0.0;
        for (int32_t v = 0; v < n_vocab; v++) kl += exp(lp_base[v]) * (lp_base[v] - lp[v]);
        s->kl += kl;
        s->top1_same += argmax_d(lp, n_vocab) == argmax_d(lp_base, n_vocab);
    }
}

static void print_result(const ppl_stats *s, bool kl) {
    const double mean = s->nll / (double)s->n;
    const double var = s->n > 1 ? (s->nll2 / (double)s->n - mean * mean) / (double)(s->n - 1) : 0;
    const double ppl = exp(mean), err = ppl * sqrt(var > 0 ? var : 0);
    printf("\nFinal estimate: PPL = %.4f +/- %.5f over %lld tokens\n", ppl, err, (long long)s->n);
    if (kl)
        printf("Mean KL divergence from the base: %.6f; same top token: %.2f%%\n",
               s->kl / (double)s->n, 100.0 * (double)s->top1_same / (double)s->n);
}

static int read_tokens(const ppl_opts *o, const ward_model *m, ward_token **toks, size_t *n) {
    FILE *f = fopen(o->file, "rb");
    if (!f) return cli_fail("perplexity", "cannot open %s", o->file);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!text || got != (size_t)size) {
        free(text);
        return cli_fail("perplexity", "cannot read %s", o->file);
    }
    size_t cap = (size_t)size + 2;
    *toks = malloc(cap * sizeof **toks);
    ward_status st = *toks ? ward_tokenize(m, text, (size_t)size, WARD_TOKENIZE_ADD_BOS, *toks,
                                           cap, n)
                           : WARD_ENOMEM;
    free(text);
    if (st) return cli_fail("perplexity", "tokenizing %s: %s", o->file, ward_status_str(st));
    return 0;
}

static int run(const ppl_opts *o) {
    ppl_model pm = {0}, base = {0};
    ward_token *toks = NULL;
    bool *want = NULL;
    double *lp = NULL, *lp_base = NULL;
    size_t n_toks = 0;
    int rc = 1;
    if (open_model(o->model, o->n_ctx, o->n_threads, o->kv_type, &pm) ||
        (o->kl_base && open_model(o->kl_base, o->n_ctx, o->n_threads, o->kv_type, &base)) ||
        read_tokens(o, pm.model, &toks, &n_toks))
        goto done;
    const int32_t n_vocab = ward_model_get_info(pm.model)->n_vocab;
    if (o->kl_base && ward_model_get_info(base.model)->n_vocab != n_vocab) {
        cli_fail("perplexity", "the base model's vocabulary differs (%d vs %d tokens)",
                 ward_model_get_info(base.model)->n_vocab, n_vocab);
        goto done;
    }
    const int32_t n_ctx = ward_context_n_ctx(pm.ctx);
    size_t n_chunks = n_toks / (size_t)n_ctx;
    if (o->max_chunks > 0 && n_chunks > (size_t)o->max_chunks) n_chunks = (size_t)o->max_chunks;
    if (n_chunks == 0) {
        cli_fail("perplexity", "%s has %zu tokens: at least one chunk of %d is needed (see -c)",
                 o->file, n_toks, n_ctx);
        goto done;
    }
    want = malloc((size_t)n_ctx * sizeof *want);
    lp = malloc((size_t)n_vocab * sizeof *lp);
    lp_base = malloc((size_t)n_vocab * sizeof *lp_base);
    if (!want || !lp || !lp_base) {
        cli_fail("perplexity", "out of memory");
        goto done;
    }
    for (int32_t j = 0; j < n_ctx; j++) want[j] = true;
    const ward_token bos = ward_token_bos(pm.model);
    ppl_stats s = {0};
    fprintf(stderr, "%zu tokens, %zu chunks of %d\n", n_toks, n_chunks, n_ctx);
    for (size_t c = 0; c < n_chunks; c++) {
        ward_token *chunk = toks + c * (size_t)n_ctx;
        if (bos >= 0) chunk[0] = bos;
        if (eval_chunk(&pm, chunk, n_ctx, want) || (o->kl_base && eval_chunk(&base, chunk, n_ctx, want)))
            goto done;
        score_chunk(&pm, o->kl_base ? &base : NULL, chunk, n_ctx, n_vocab, lp, lp_base, &s);
        printf("[%zu]%.4f%s", c + 1, exp(s.nll / (double)s.n), c + 1 < n_chunks ? "," : "");
        fflush(stdout);
    }
    print_result(&s, o->kl_base != NULL);
    rc = 0;
done:
    free(toks), free(want), free(lp), free(lp_base);
    close_model(&pm);
    close_model(&base);
    return rc;
}

int cmd_perplexity(int argc, char **argv) {
    ppl_opts o = {.n_ctx = 512};
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &o.model, "FILE", "GGUF model (required)", 0, 0},
        {"file", 'f', CLI_STR, &o.file, "FILE", "text to score (required)", 0, 0},
        {"ctx-size", 'c', CLI_INT, &o.n_ctx, "N", "tokens per chunk (default 512)", 4, 1 << 20},
        {"threads", 't', CLI_INT, &o.n_threads, "N", "threads (default: all cores)", 0, 512},
        {"kv-type", 0, CLI_STR, &o.kv_name, "TYPE", CLI_KV_TYPE_HELP, 0, 0},
        {"chunks", 0, CLI_INT, &o.max_chunks, "N", "score at most N chunks (default: all)", 0, 1 << 30},
        {"kl-base", 0, CLI_STR, &o.kl_base, "FILE", "also compare with this (higher-precision) model: mean KL divergence and top-token agreement", 0, 0},
    };
    const cli_cmd cmd = {"perplexity", "-m MODEL -f TEXT [-c N] [--kl-base MODEL]",
                         "Perplexity of MODEL on a text, computed as llama.cpp's perplexity tool "
                         "does: chunks of N tokens starting with BOS, the second half of each "
                         "scored. Prints the running value per chunk and a final estimate.",
                         NULL, opts, (int)(sizeof opts / sizeof opts[0]), 0};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if ((rc = cli_kv_type("perplexity", o.kv_name, &o.kv_type))) return rc;
    if (!o.model || !o.file) {
        cli_fail("perplexity", "expected -m MODEL and -f TEXT; see ward perplexity --help");
        return 2;
    }
    return run(&o);
}
