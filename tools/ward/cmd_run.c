/* cmd_run.c: `ward run`: tokenize a prompt, evaluate it in one batch, generate and stream text.
 *
 * The prompt goes through ward_decode() in chunks of n_batch tokens (one chunk for ordinary
 * prompts); then one token per step. Text is streamed through the detokenizer so a character
 * split across tokens is never printed in halves. Timing of the two phases goes to stderr, the
 * text to stdout. --logits-out writes the logits after every prompt position as float32
 * [n_prompt][n_vocab], the layout of the golden reference files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ward.h"

typedef struct run_opts {
    const char *model, *prompt, *logits_out, *quant, *kv_name;
    int32_t n_predict, n_threads, n_ctx, n_batch;
    ward_type kv_type;
    bool no_bos, ignore_eos, special;
    ward_sampler_params sp;
} run_opts;

static int tokenize_prompt(const ward_model *m, const run_opts *o, ward_token **toks, size_t *n) {
    unsigned flags = (o->no_bos ? 0 : WARD_TOKENIZE_ADD_BOS) |
                     (o->special ? WARD_TOKENIZE_PARSE_SPECIAL : 0);
    size_t len = strlen(o->prompt), cap = len + 8;
    *toks = malloc(cap * sizeof **toks);
    if (!*toks) return cli_fail("run", "out of memory");
    ward_status st = ward_tokenize(m, o->prompt, len, flags, *toks, cap, n);
    if (st == WARD_ERANGE) {
        ward_token *p = realloc(*toks, *n * sizeof **toks);
        if (!p) return cli_fail("run", "out of memory");
        *toks = p;
        st = ward_tokenize(m, o->prompt, len, flags, *toks, *n, n);
    }
    if (st) return cli_fail("run", "tokenizing the prompt: %s", ward_status_str(st));
    if (*n == 0) return cli_fail("run", "the prompt is empty (and the model adds no BOS token)");
    return 0;
}

/* Evaluate the prompt in chunks; write every position's logits to lf if given. */
static int eval_prompt(ward_context *ctx, const ward_model *m, const ward_token *toks, size_t n,
                       int32_t n_batch, FILE *lf) {
    const int32_t n_vocab = ward_model_get_info(m)->n_vocab;
    bool *want = calloc((size_t)n_batch, sizeof *want);
    if (!want) return cli_fail("run", "out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += (size_t)n_batch) {
        const int32_t nb = (int32_t)(n - i < (size_t)n_batch ? n - i : (size_t)n_batch);
        for (int32_t j = 0; j < nb; j++) want[j] = lf != NULL || i + (size_t)j == n - 1;
        ward_batch b = {.n = nb, .tokens = toks + i, .want_logits = want};
        if (ward_decode(ctx, &b) != WARD_OK) {
            rc = cli_fail("run", "%s", ward_context_errmsg(ctx));
            break;
        }
        for (int32_t j = 0; lf && j < nb; j++)
            if (fwrite(ward_context_logits(ctx, j), sizeof(float), (size_t)n_vocab, lf) !=
                (size_t)n_vocab)
                rc = cli_fail("run", "writing logits failed");
    }
    free(want);
    return rc;
}

static const float *last_logits(const ward_context *ctx, int32_t n_in_batch) {
    return ward_context_logits(ctx, n_in_batch - 1);
}

/* Generate up to n_predict tokens after the prompt, streaming text to stdout. */
static int generate(ward_context *ctx, const ward_model *m, ward_sampler *smp, ward_detok *dt,
                    const run_opts *o, size_t n_prompt, int32_t *n_gen) {
    int32_t last_n = (int32_t)((n_prompt - 1) % (size_t)o->n_batch) + 1;
    const float *logits = last_logits(ctx, last_n);
    const char *text;
    size_t len;
    for (*n_gen = 0; *n_gen < o->n_predict;) {
        ward_token t = ward_sampler_sample(smp, logits);
        ward_sampler_accept(smp, t);
        ++*n_gen;
        if (!o->ignore_eos && ward_token_is_eog(m, t)) break;
        if (ward_detok_push(dt, t, &text, &len) != WARD_OK) return cli_fail("run", "out of memory");
        fwrite(text, 1, len, stdout);
        fflush(stdout);
        if (*n_gen == o->n_predict) break;
        if (ward_context_seq_len(ctx, 0) >= ward_context_n_ctx(ctx)) {
            fprintf(stderr, "\n[context full: %d tokens; use -c to allow more]\n",
                    ward_context_n_ctx(ctx));
            break;
        }
        ward_batch b = {.n = 1, .tokens = &t};
        if (ward_decode(ctx, &b) != WARD_OK) return cli_fail("run", "%s", ward_context_errmsg(ctx));
        logits = last_logits(ctx, 1);
    }
    ward_detok_flush(dt, &text, &len);
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout); /* before the timing line on stderr */
    return 0;
}

static int run(const run_opts *o) {
    ward_error err;
    ward_model *m = NULL;
    ward_context *ctx = NULL;
    ward_sampler *smp = NULL;
    ward_detok *dt = NULL;
    ward_token *toks = NULL;
    FILE *lf = NULL;
    size_t n_prompt = 0;
    int rc = 1;
    if ((rc = cli_open_model("run", o->model, o->quant, o->n_threads, &m))) goto done;
    rc = 1;
    if ((rc = tokenize_prompt(m, o, &toks, &n_prompt))) goto done;
    rc = 1;
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = o->n_ctx;
    cp.n_threads = o->n_threads;
    cp.n_batch = o->n_batch;
    cp.n_outputs = o->logits_out ? o->n_batch : 1;
    cp.kv_type = o->kv_type;
    if (ward_context_open(m, &cp, &ctx, &err) ||
        ward_sampler_open(&o->sp, ward_model_get_info(m)->n_vocab, &smp, &err)) {
        cli_fail("run", "%s", err.msg);
        goto done;
    }
    if (n_prompt > (size_t)ward_context_n_ctx(ctx)) {
        cli_fail("run", "the prompt has %zu tokens but the context holds %d (see -c)", n_prompt,
                 ward_context_n_ctx(ctx));
        goto done;
    }
    if (ward_detok_open(m, &dt)) {
        cli_fail("run", "out of memory");
        goto done;
    }
    if (o->logits_out && !(lf = fopen(o->logits_out, "wb"))) {
        cli_fail("run", "cannot write %s", o->logits_out);
        goto done;
    }
    for (size_t i = 0; i < n_prompt; i++) ward_sampler_accept(smp, toks[i]);
    fputs(o->prompt, stdout);
    fflush(stdout);
    double t0 = cli_now_s();
    if (eval_prompt(ctx, m, toks, n_prompt, o->n_batch, lf)) goto done;
    double t1 = cli_now_s();
    int32_t n_gen = 0;
    if (generate(ctx, m, smp, dt, o, n_prompt, &n_gen)) goto done;
    double t2 = cli_now_s();
    fprintf(stderr, "prompt: %zu tokens in %.3f s (%.1f tokens/s); generation: %d tokens in "
                    "%.3f s (%.1f tokens/s)\n", n_prompt, t1 - t0, (double)n_prompt / (t1 - t0),
            n_gen, t2 - t1, n_gen > 1 ? (double)(n_gen - 1) / (t2 - t1) : 0.0);
    rc = 0;
done:
    if (lf && fclose(lf) != 0 && rc == 0) rc = cli_fail("run", "writing %s failed", o->logits_out);
    free(toks);
    ward_detok_close(dt);
    ward_sampler_close(smp);
    ward_context_close(ctx);
    ward_model_close(m);
    return rc;
}

int cmd_run(int argc, char **argv) {
    run_opts o = {.prompt = "", .n_predict = 128, .n_batch = 512, .sp = ward_sampler_default_params()};
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &o.model, "FILE", "GGUF model or HuggingFace directory to run (required)", 0, 0},
        {"quant", 0, CLI_STR, &o.quant, "TYPE", "HuggingFace directory: convert the weights to TYPE while loading (q8_0, q4_0, ...)", 0, 0},
        {"prompt", 'p', CLI_STR, &o.prompt, "TEXT", "prompt text (default: empty, BOS only)", 0, 0},
        {"n-predict", 'n', CLI_INT, &o.n_predict, "N", "tokens to generate (default 128)", 0, 1 << 24},
        {"threads", 't', CLI_INT, &o.n_threads, "N", "threads (default: all cores)", 0, 512},
        {"kv-type", 0, CLI_STR, &o.kv_name, "TYPE", CLI_KV_TYPE_HELP, 0, 0},
        {"ctx-size", 'c', CLI_INT, &o.n_ctx, "N", "context length (default: the model's, at most 4096)", 0, 1 << 24},
        {"batch-size", 'b', CLI_INT, &o.n_batch, "N", "prompt tokens per forward pass (default 512)", 1, 65536},
        CLI_SAMPLING_OPTS(o.sp),
        {"no-bos", 0, CLI_FLAG, &o.no_bos, NULL, "do not add the BOS token", 0, 0},
        {"special", 0, CLI_FLAG, &o.special, NULL, "parse control-token text such as </s> in the prompt", 0, 0},
        {"ignore-eos", 0, CLI_FLAG, &o.ignore_eos, NULL, "keep generating after end-of-generation tokens", 0, 0},
        {"logits-out", 0, CLI_STR, &o.logits_out, "FILE", "write float32 logits [n_prompt][n_vocab] of every prompt position", 0, 0},
    };
    const cli_cmd cmd = {"run", "-m MODEL [-p PROMPT] [options]",
                         "Generate text from a prompt, streaming it to stdout; speeds go to stderr.",
                         "Greedy decoding: --temp 0. Environment: WARD_ISA=ref|avx2|avx512 lowers "
                         "the kernel instruction set.",
                         opts, (int)(sizeof opts / sizeof opts[0]), 0};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if ((rc = cli_kv_type("run", o.kv_name, &o.kv_type))) return rc;
    if (!o.model) {
        cli_fail("run", "no model given (-m FILE); see ward run --help");
        return 2;
    }
    return run(&o);
}
