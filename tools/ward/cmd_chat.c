/* cmd_chat.c: `ward chat`: an interactive conversation with a model, kept in the KV cache.
 *
 * Each turn adds the user's line, renders the whole conversation (ward_chat_render), tokenizes
 * it (ward_tokenize_spans: markers may become control tokens, message text never does), cuts
 * sequence 0's KV cache to the prefix it shares with those tokens (ward_context_seq_truncate)
 * and evaluates only the rest. The answer streams through the detokenizer until an
 * end-of-generation token, the template's end marker, -n tokens, a full context or Ctrl-C, and
 * joins the conversation. The end marker is learnt from the template (the first non-blank
 * marker after an assistant message: "<|im_end|>", "</s>", GLM's "<|user|>") and matched as a
 * token's vocabulary text and in the streamed text, holding back what may be its start.
 * Ctrl-C: the SIGINT handler (no SA_RESTART) sets `interrupted`, the command's one global (a
 * handler reaches nothing else); answers check it per token, the prompt's wait for input
 * (ppoll, SIGINT unblocked only inside it) returns and the program exits. The prompt "> " is
 * printed only when stdin is a terminal, so scripts can pipe lines in; answers go to stdout,
 * status lines ("[...]") to stderr.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ward.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct chat_opts {
    const char *model, *system, *tmpl_name, *quant, *kv_name;
    int32_t n_predict, n_threads, n_ctx, n_batch;
    ward_type kv_type;
    bool verbose, ignore_eos;
    ward_sampler_params sp;
} chat_opts;

typedef struct chat_state {
    const chat_opts *o;
    ward_model *m;
    ward_context *ctx;
    ward_sampler *smp;
    ward_detok *dt;
    const ward_chat_template *tmpl;
    ward_chat_message *msgs; /* (n_msgs) contents malloc'ed, roles static */
    size_t n_msgs, cap_msgs;
    size_t n_fixed;          /* messages /reset keeps: the --system message */
    ward_token *cached;      /* (n_ctx) the tokens in sequence 0's KV cache, in order */
    int32_t n_cached;
    ward_token *toks;        /* (cap_toks) the rendered conversation's tokens */
    size_t cap_toks;
    char *marker;            /* the template's end marker, or NULL */
    char *answer;            /* (cap_answer) the answer so far, NUL-terminated */
    size_t n_answer, cap_answer;
} chat_state;

typedef enum turn_end { END_DONE, END_INTERRUPTED, END_FULL } turn_end;

/* ---------------------------------------------------------------------------------------------
 * The conversation
 * ------------------------------------------------------------------------------------------- */

static int push_msg(chat_state *st, const char *role, const char *text, size_t len) {
    if (st->n_msgs == st->cap_msgs) {
        size_t cap = st->cap_msgs ? 2 * st->cap_msgs : 16;
        ward_chat_message *p = realloc(st->msgs, cap * sizeof *p);
        if (!p) return cli_fail("chat", "out of memory");
        st->msgs = p;
        st->cap_msgs = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return cli_fail("chat", "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    st->msgs[st->n_msgs++] = (ward_chat_message){role, copy, NULL, 0};
    return 0;
}

static void pop_msg(chat_state *st) { free((char *)st->msgs[--st->n_msgs].content); }

/* Render the conversation plus the opening of the reply and tokenize it into st->toks. */
static int tokenize_conversation(chat_state *st, size_t *n) {
    ward_text_span *spans;
    size_t n_spans;
    ward_status s = ward_chat_render(st->tmpl, st->msgs, st->n_msgs, true, &spans, &n_spans);
    if (s) return cli_fail("chat", "rendering the conversation: %s", ward_status_str(s));
    s = ward_tokenize_spans(st->m, spans, n_spans, 0, st->toks, st->cap_toks, n);
    if (s == WARD_ERANGE) {
        ward_token *p = realloc(st->toks, *n * sizeof *p);
        if (p) {
            st->toks = p;
            st->cap_toks = *n;
            s = ward_tokenize_spans(st->m, spans, n_spans, 0, st->toks, st->cap_toks, n);
        } else {
            s = WARD_ENOMEM;
        }
    }
    ward_chat_spans_free(spans);
    if (s) return cli_fail("chat", "tokenizing the conversation: %s", ward_status_str(s));
    if (*n == 0) return cli_fail("chat", "the conversation renders to no tokens");
    return 0;
}

/* The template's end marker: the first non-blank marker text after an assistant message, up to
 * the first blank ("<|im_end|>\n" gives "<|im_end|>"). NULL when content follows directly. */
static int learn_marker(chat_state *st) {
    const ward_chat_message probe[] = {{"user", "U", NULL, 0}, {"assistant", "A", NULL, 0}, {"user", "U", NULL, 0}};
    ward_text_span *spans;
    size_t n;
    ward_status s = ward_chat_render(st->tmpl, probe, 3, false, &spans, &n);
    if (s) return cli_fail("chat", "rendering the template: %s", ward_status_str(s));
    size_t i = 0;
    while (i < n && !(!spans[i].allow_special && spans[i].len == 1 && spans[i].text[0] == 'A'))
        i++;
    for (i++; i < n && spans[i].allow_special && !st->marker; i++) {
        const char *t = spans[i].text, *end = t + spans[i].len;
        while (t < end && (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r')) t++;
        const char *e = t;
        while (e < end && !(*e == ' ' || *e == '\n' || *e == '\t' || *e == '\r')) e++;
        if (e > t && !(st->marker = strndup(t, (size_t)(e - t)))) {
            ward_chat_spans_free(spans);
            return cli_fail("chat", "out of memory");
        }
    }
    ward_chat_spans_free(spans);
    return 0;
}

static void reset_conversation(chat_state *st) {
    while (st->n_msgs > st->n_fixed) pop_msg(st);
    ward_context_seq_clear(st->ctx, 0);
    st->n_cached = 0;
    ward_sampler_reset(st->smp);
}

/* ---------------------------------------------------------------------------------------------
 * Evaluating the prompt
 * ------------------------------------------------------------------------------------------- */

/* Make the KV cache hold toks[0..n): keep the common prefix, evaluate the rest. The logits of
 * toks[n-1] are then those of batch index *last. */
static int eval_prompt(chat_state *st, size_t n, int32_t *last, turn_end *end) {
    size_t p = 0;
    while (p < (size_t)st->n_cached && p < n && st->cached[p] == st->toks[p]) p++;
    if (p == n) p = n - 1; /* evaluate at least one token, for its logits */
    if (ward_context_seq_truncate(st->ctx, 0, (int32_t)p) != WARD_OK)
        return cli_fail("chat", "%s", ward_context_errmsg(st->ctx));
    st->n_cached = (int32_t)p;
    if (st->o->verbose)
        fprintf(stderr, "[prompt: %zu new tokens, %zu cached]\n", n - p, p);
    for (size_t i = p; i < n; i += (size_t)st->o->n_batch) {
        if (interrupted) return *end = END_INTERRUPTED, 0;
        const size_t nb = n - i < (size_t)st->o->n_batch ? n - i : (size_t)st->o->n_batch;
        ward_batch b = {.n = (int32_t)nb, .tokens = st->toks + i};
        if (ward_decode(st->ctx, &b) != WARD_OK)
            return cli_fail("chat", "%s", ward_context_errmsg(st->ctx));
        memcpy(st->cached + st->n_cached, st->toks + i, nb * sizeof *st->toks);
        st->n_cached += (int32_t)nb;
        *last = (int32_t)nb - 1;
    }
    for (size_t i = p; i < n; i++) ward_sampler_accept(st->smp, st->toks[i]);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Generating the answer
 * ------------------------------------------------------------------------------------------- */

static int append_answer(chat_state *st, const char *text, size_t len) {
    if (st->n_answer + len + 1 > st->cap_answer) {
        size_t cap = 2 * (st->n_answer + len + 1);
        char *p = realloc(st->answer, cap);
        if (!p) return cli_fail("chat", "out of memory");
        st->answer = p;
        st->cap_answer = cap;
    }
    memcpy(st->answer + st->n_answer, text, len);
    st->n_answer += len;
    st->answer[st->n_answer] = '\0';
    return 0;
}

/* Cut the answer at the end marker if the new text (from byte `from`) completed it; else
 * return how many trailing bytes may still be its start and must not be printed yet. */
static size_t check_marker(chat_state *st, size_t from, bool *found) {
    *found = false;
    if (!st->marker) return 0;
    const size_t ml = strlen(st->marker);
    const size_t start = from >= ml ? from - ml + 1 : 0;
    const char *hit = memmem(st->answer + start, st->n_answer - start, st->marker, ml);
    if (hit) {
        st->n_answer = (size_t)(hit - st->answer);
        st->answer[st->n_answer] = '\0';
        *found = true;
        return 0;
    }
    for (size_t k = ml - 1; k > 0; k--)
        if (k <= st->n_answer && memcmp(st->answer + st->n_answer - k, st->marker, k) == 0)
            return k;
    return 0;
}

static bool is_marker_token(const chat_state *st, ward_token t) {
    size_t len;
    const char *text = st->marker ? ward_token_text(st->m, t, &len) : NULL;
    return text && len == strlen(st->marker) && memcmp(text, st->marker, len) == 0;
}

/* Sample, stream and evaluate answer tokens, starting from the logits of batch index last. */
static int generate(chat_state *st, int32_t last, turn_end *end, int32_t *n_gen) {
    const chat_opts *o = st->o;
    const float *logits = ward_context_logits(st->ctx, last);
    const char *text;
    size_t len, printed = 0;
    bool stop = false;
    st->n_answer = 0;
    if (append_answer(st, "", 0)) return 1;
    for (*n_gen = 0; *n_gen < o->n_predict && !stop;) {
        if (interrupted) {
            *end = END_INTERRUPTED;
            break;
        }
        ward_token t = ward_sampler_sample(st->smp, logits);
        ward_sampler_accept(st->smp, t);
        ++*n_gen;
        if (!o->ignore_eos && (ward_token_is_eog(st->m, t) || is_marker_token(st, t))) break;
        if (ward_detok_push(st->dt, t, &text, &len) != WARD_OK)
            return cli_fail("chat", "out of memory");
        const size_t from = st->n_answer;
        if (append_answer(st, text, len)) return 1;
        const size_t hold = o->ignore_eos ? 0 : check_marker(st, from, &stop);
        if (st->n_answer - hold > printed) {
            fwrite(st->answer + printed, 1, st->n_answer - hold - printed, stdout);
            fflush(stdout);
            printed = st->n_answer - hold;
        }
        if (stop || *n_gen == o->n_predict) break;
        if (st->n_cached >= ward_context_n_ctx(st->ctx)) {
            *end = END_FULL;
            break;
        }
        ward_batch b = {.n = 1, .tokens = &t};
        if (ward_decode(st->ctx, &b) != WARD_OK)
            return cli_fail("chat", "%s", ward_context_errmsg(st->ctx));
        st->cached[st->n_cached++] = t;
        logits = ward_context_logits(st->ctx, 0);
    }
    ward_detok_flush(st->dt, &text, &len); /* also readies the detokenizer for the next answer */
    if (!stop && append_answer(st, text, len)) return 1;
    fwrite(st->answer + printed, 1, st->n_answer - printed, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Turns and the read loop
 * ------------------------------------------------------------------------------------------- */

static void say_full(const chat_state *st, const char *what) {
    fprintf(stderr, "[context full: %s the %d-token context; type /reset to start a new "
                    "conversation, or restart with a larger -c]\n", what,
            ward_context_n_ctx(st->ctx));
}

static int turn(chat_state *st, const char *line, size_t len) {
    if (push_msg(st, "user", line, len)) return 1;
    size_t n;
    if (tokenize_conversation(st, &n)) return 1;
    if (n >= (size_t)ward_context_n_ctx(st->ctx)) {
        char what[96];
        snprintf(what, sizeof what, "the conversation (%zu tokens) does not fit", n);
        say_full(st, what);
        pop_msg(st);
        return 0;
    }
    turn_end end = END_DONE;
    int32_t last = 0, n_gen = 0;
    const double t0 = cli_now_s();
    if (eval_prompt(st, n, &last, &end)) return 1;
    if (end == END_INTERRUPTED) {
        fprintf(stderr, "[interrupted]\n");
        pop_msg(st);
        return 0;
    }
    const double t1 = cli_now_s();
    if (generate(st, last, &end, &n_gen)) return 1;
    if (end == END_INTERRUPTED) fprintf(stderr, "[interrupted]\n");
    if (end == END_FULL) say_full(st, "the answer filled");
    if (st->o->verbose)
        fprintf(stderr, "[answer: %d tokens; prompt %.3f s, generation %.3f s]\n", n_gen,
                t1 - t0, cli_now_s() - t1);
    return push_msg(st, "assistant", st->answer, st->n_answer);
}

static void chomp(char *line, size_t *len) {
    while (*len && (line[*len - 1] == '\n' || line[*len - 1] == '\r')) line[--*len] = '\0';
}

/* Wait until stdin has input; false if Ctrl-C came first. SIGINT is blocked except inside
 * ppoll(), so a Ctrl-C arriving just before the wait is not lost (a plain blocking read would
 * start after the handler ran and wait for a line). stdin is unbuffered, so no input hides in a
 * stdio buffer that poll cannot see. */
static bool wait_input(void) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!interrupted) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int r = ppoll(&pfd, 1, NULL, &old);
        if (r > 0 || (r < 0 && errno != EINTR)) break; /* readable, EOF, or let read() fail */
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return !interrupted;
}

static int read_loop(chat_state *st) {
    const bool tty = isatty(STDIN_FILENO);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    setvbuf(stdin, NULL, _IONBF, 0);
    for (;;) {
        interrupted = 0;
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        ssize_t got = wait_input() ? getline(&line, &cap, stdin) : -1;
        if (got < 0) {
            if (interrupted || tty) fputc('\n', stdout); /* end the prompt line */
            break; /* EOF, or Ctrl-C at the prompt */
        }
        size_t len = (size_t)got;
        chomp(line, &len);
        if (len == 0) continue;
        if (strcmp(line, "/exit") == 0 || strcmp(line, "/quit") == 0) break;
        if (strcmp(line, "/reset") == 0) {
            reset_conversation(st);
            fprintf(stderr, "[conversation cleared]\n");
            continue;
        }
        if (strcmp(line, "/help") == 0) {
            fprintf(stderr, "[/reset: start a new conversation; /exit: quit; Ctrl-C: stop an "
                            "answer, or quit at the prompt]\n");
            continue;
        }
        if ((rc = turn(st, line, len))) break;
    }
    free(line);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Setup
 * ------------------------------------------------------------------------------------------- */

static int chat(const chat_opts *o) {
    chat_state st = {.o = o};
    ward_error err;
    int rc = 1;
    if ((rc = cli_open_model("chat", o->model, o->quant, o->n_threads, &st.m))) goto done;
    rc = 1;
    if (ward_chat_template_for_model(st.m, o->tmpl_name, &st.tmpl, &err)) {
        cli_fail("chat", "%s (see --chat-template)", err.msg);
        goto done;
    }
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = o->n_ctx;
    cp.n_threads = o->n_threads;
    cp.n_batch = o->n_batch;
    cp.n_outputs = 1;
    cp.kv_type = o->kv_type;
    if (ward_context_open(st.m, &cp, &st.ctx, &err) ||
        ward_sampler_open(&o->sp, ward_model_get_info(st.m)->n_vocab, &st.smp, &err)) {
        cli_fail("chat", "%s", err.msg);
        goto done;
    }
    st.cap_toks = (size_t)ward_context_n_ctx(st.ctx) + 64;
    st.cached = malloc((size_t)ward_context_n_ctx(st.ctx) * sizeof *st.cached);
    st.toks = malloc(st.cap_toks * sizeof *st.toks);
    if (!st.cached || !st.toks || ward_detok_open(st.m, &st.dt)) {
        cli_fail("chat", "out of memory");
        goto done;
    }
    if (learn_marker(&st)) goto done;
    if (o->system && push_msg(&st, "system", o->system, strlen(o->system))) goto done;
    st.n_fixed = st.n_msgs;
    if (o->verbose)
        fprintf(stderr, "[chat template %s, end marker %s, context %d tokens]\n",
                ward_chat_template_name(st.tmpl), st.marker ? st.marker : "(none)",
                ward_context_n_ctx(st.ctx));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: Ctrl-C interrupts a read at the prompt */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    rc = read_loop(&st);
    signal(SIGINT, SIG_DFL);
done:
    while (st.n_msgs) pop_msg(&st);
    free(st.msgs);
    free(st.cached);
    free(st.toks);
    free(st.marker);
    free(st.answer);
    ward_detok_close(st.dt);
    ward_sampler_close(st.smp);
    ward_context_close(st.ctx);
    ward_model_close(st.m);
    return rc;
}

static bool known_template(const char *name) {
    for (const char *const *n = ward_chat_template_names(); *n; n++)
        if (strcmp(*n, name) == 0) return true;
    return false;
}

int cmd_chat(int argc, char **argv) {
    chat_opts o = {.n_predict = 512, .n_batch = 512, .sp = ward_sampler_default_params()};
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &o.model, "FILE", "GGUF model or HuggingFace directory to chat with (required)", 0, 0},
        {"quant", 0, CLI_STR, &o.quant, "TYPE", "HuggingFace directory: convert the weights to TYPE while loading (q8_0, q4_0, ...)", 0, 0},
        {"system", 0, CLI_STR, &o.system, "TEXT", "system message opening the conversation (kept by /reset)", 0, 0},
        {"chat-template", 0, CLI_STR, &o.tmpl_name, "NAME", "chat template (default: the model's; see below)", 0, 0},
        {"n-predict", 'n', CLI_INT, &o.n_predict, "N", "most tokens per answer (default 512)", 1, 1 << 24},
        {"ctx-size", 'c', CLI_INT, &o.n_ctx, "N", "context length: the whole conversation (default: the model's, at most 4096)", 0, 1 << 24},
        {"threads", 't', CLI_INT, &o.n_threads, "N", "threads (default: all cores)", 0, 512},
        {"kv-type", 0, CLI_STR, &o.kv_name, "TYPE", CLI_KV_TYPE_HELP, 0, 0},
        {"batch-size", 'b', CLI_INT, &o.n_batch, "N", "prompt tokens per forward pass (default 512)", 1, 65536},
        CLI_SAMPLING_OPTS(o.sp),
        {"ignore-eos", 0, CLI_FLAG, &o.ignore_eos, NULL, "answers run to -n tokens, past end-of-generation tokens and end markers", 0, 0},
        {"verbose", 'v', CLI_FLAG, &o.verbose, NULL, "report on stderr how many prompt tokens each turn evaluates and reuses", 0, 0},
    };
    char names[256] = "", details[2048];
    for (const char *const *n = ward_chat_template_names(); *n; n++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                 n == ward_chat_template_names() ? "" : ", ", *n);
    snprintf(details, sizeof details,
             "Type a message and press Enter; the answer streams back. Commands: /reset starts a\n"
             "new conversation (keeping --system), /exit quits, as does the end of input. Ctrl-C\n"
             "stops an answer; at the prompt it quits.\n\n"
             "The conversation stays in the KV cache: a turn evaluates only the tokens the cache\n"
             "does not hold yet. When the context is full, /reset or restart with a larger -c.\n\n"
             "Chat templates: %s.\n"
             "Without --chat-template the model's tokenizer.chat_template decides, else its\n"
             "architecture.\n\n"
             "When stdin is not a terminal there is no prompt, so a script can pipe lines in;\n"
             "answers go to stdout, each ending with a newline, status lines to stderr.",
             names);
    const cli_cmd cmd = {"chat", "-m MODEL [options]",
                         "Chat with a model: interactive, streaming, keeps the conversation.",
                         details, opts, (int)(sizeof opts / sizeof opts[0]), 0};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if ((rc = cli_kv_type("chat", o.kv_name, &o.kv_type))) return rc;
    if (!o.model) {
        cli_fail("chat", "no model given (-m FILE); see ward chat --help");
        return 2;
    }
    if (o.tmpl_name && !known_template(o.tmpl_name)) {
        cli_fail("chat", "unknown chat template '%s' (built in: %s)", o.tmpl_name, names);
        return 2;
    }
    return chat(&o);
}
