/* sched.c: a served model's worker: job queue, slots, continuous batching (see sched.h).
 *
 * Locks: m->mu guards the queue, the stopping flag and the statistics; each job's mu guards its
 * text and end state. The worker never holds m->mu during a forward pass, so submissions and
 * statistics do not wait for one. The slots, the context and the jobs' samplers belong to the
 * worker thread alone.
 */
#include "server/sched.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct srv_job {
    pthread_mutex_t mu;
    atomic_int refs;
    atomic_bool cancel;
    /* the request, fixed at submission */
    ward_token *prompt;
    int32_t n_prompt;
    srv_gen_params p;
    char *stop_copy[SRV_MAX_STOP];
    double t_submit;
    /* the worker's */
    ward_sampler *smp;
    ward_detok *detok;
    srv_job *next; /* queue link, under the model's mu */
    /* under mu: the text so far (visible bytes, then any held-back possible stop start) */
    char *text;
    size_t len, cap, visible;
    srv_logprob *lps; /* one per generated token when asked for */
    int n_lps, cap_lps;
    srv_waiter *waiter; /* told of changes; NULL once the HTTP side released the job */
    jc_state json;      /* the worker's: where the structured output stands */
    srv_finish finish;
    char error[128];
    int32_t n_cached, n_completion;
};

typedef struct srv_slot {
    srv_job *job;     /* NULL when free */
    ward_token *hist; /* (n_ctx) the tokens in this sequence's cache */
    int32_t n_hist;
    int32_t n_fed;    /* prompt tokens in the cache (the job's prompt[0..n_fed)) */
    bool generating;  /* the prompt is done; `last` is the token to feed next */
    ward_token last;
} srv_slot;

struct srv_model {
    char *name, *path;
    cJSON *defaults;
    srv_model_config cfg;
    ward_model *model;
    ward_context *ctx;
    const ward_chat_template *tmpl;
    int32_t n_ctx, n_vocab;
    srv_slot *slots;
    jc_vocab *vocab;   /* the token trie for structured output, built at its first use */
    bool *allowed;     /* (n_vocab) tokens the structured output allows now */
    float *masked;     /* (n_vocab) logits with the others at -infinity */
    ward_token *b_tok; /* (n_batch) the step's batch */
    int32_t *b_seq;
    bool *b_want;
    pthread_t worker;
    bool worker_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_job *queue_head, *queue_tail;
    int32_t n_queued, n_active;
    bool stopping;
    srv_model_stats stats;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------------------------------------
 * Waiters and jobs
 * ------------------------------------------------------------------------------------------- */

void srv_waiter_init(srv_waiter *w) {
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->changes = 0;
}

void srv_waiter_destroy(srv_waiter *w) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

unsigned long srv_waiter_changes(srv_waiter *w) {
    pthread_mutex_lock(&w->mu);
    const unsigned long n = w->changes;
    pthread_mutex_unlock(&w->mu);
    return n;
}

static struct timespec deadline(int timeout_ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    return until;
}

unsigned long srv_waiter_wait(srv_waiter *w, unsigned long seen, int timeout_ms) {
    const struct timespec until = deadline(timeout_ms);
    pthread_mutex_lock(&w->mu);
    while (w->changes == seen)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0) break;
    const unsigned long n = w->changes;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void srv_turns_init(srv_turns *t) {
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->next = t->serving = 0;
}

void srv_turns_destroy(srv_turns *t) {
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
}

static void turn_take(srv_turns *t) {
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    const unsigned long mine = t->next++;
    while (t->serving != mine) pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

static void turn_give(srv_turns *t) {
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->serving++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* A change of job j (under its mu), told to the request's waiter. */
static void job_changed(srv_job *j) {
    if (!j->waiter) return;
    pthread_mutex_lock(&j->waiter->mu);
    j->waiter->changes++;
    pthread_cond_broadcast(&j->waiter->cv);
    pthread_mutex_unlock(&j->waiter->mu);
}

static void job_unref(srv_job *j) {
    if (atomic_fetch_sub(&j->refs, 1) != 1) return;
    ward_sampler_close(j->smp);
    ward_detok_close(j->detok);
    for (int i = 0; i < SRV_MAX_STOP; i++) free(j->stop_copy[i]);
    free(j->prompt);
    free(j->text);
    free(j->lps);
    jc_free(j->p.schema);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void srv_job_release(srv_job *j) {
    if (!j) return;
    pthread_mutex_lock(&j->mu);
    j->waiter = NULL; /* the request's waiter goes away with it */
    pthread_mutex_unlock(&j->mu);
    atomic_store(&j->cancel, true);
    job_unref(j);
}

/* Ends the job (under its mu) unless it already ended; the held-back text becomes visible
 * unless a stop string was found (then it was cut there already). */
static void job_end_locked(srv_job *j, srv_finish f, const char *error) {
    if (j->finish != SRV_RUNNING) return;
    j->finish = f;
    j->visible = j->len;
    if (error) snprintf(j->error, sizeof j->error, "%s", error);
    job_changed(j);
}

static void job_end(srv_job *j, srv_finish f, const char *error) {
    pthread_mutex_lock(&j->mu);
    job_end_locked(j, f, error);
    pthread_mutex_unlock(&j->mu);
}

/* The newest log-probability entry's text ends here (under mu). */
static void close_logprob_locked(srv_job *j) {
    if (j->n_lps && j->lps[j->n_lps - 1].text_end == SIZE_MAX) j->lps[j->n_lps - 1].text_end = j->len;
}

/* Length of the longest suffix of text[0..len) that is a proper prefix of a stop string. */
static size_t held_back(const srv_job *j) {
    size_t best = 0;
    for (int i = 0; i < j->p.n_stop; i++) {
        const size_t sl = strlen(j->p.stop[i]);
        for (size_t k = sl - 1 < j->len ? sl - 1 : j->len; k > best; k--)
            if (memcmp(j->text + j->len - k, j->p.stop[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

/* Appends newly decoded text; a complete stop string ends the job there. Returns false when
 * out of memory (the job is then ended with an error). */
static bool job_append(srv_job *j, const char *piece, size_t n) {
    pthread_mutex_lock(&j->mu);
    if (j->len + n + 1 > j->cap) {
        const size_t cap = (j->len + n + 1) * 2;
        char *t = realloc(j->text, cap);
        if (!t) {
            job_end_locked(j, SRV_FINISH_ERROR, "out of memory");
            pthread_mutex_unlock(&j->mu);
            return false;
        }
        j->text = t, j->cap = cap;
    }
    memcpy(j->text + j->len, piece, n);
    j->len += n;
    j->text[j->len] = '\0';
    close_logprob_locked(j);
    for (int i = 0; i < j->p.n_stop; i++) {
        /* visible text holds no complete stop string: search only where a new one can end */
        const size_t sl = strlen(j->p.stop[i]);
        const size_t from = j->visible >= sl ? j->visible - sl + 1 : 0;
        const char *hit = strstr(j->text + from, j->p.stop[i]);
        if (hit) {
            j->len = (size_t)(hit - j->text);
            j->text[j->len] = '\0';
            if (j->n_lps) j->lps[j->n_lps - 1].text_end = j->len;
            job_end_locked(j, SRV_FINISH_STOP, NULL);
            pthread_mutex_unlock(&j->mu);
            return true;
        }
    }
    j->visible = j->len - held_back(j);
    job_changed(j);
    pthread_mutex_unlock(&j->mu);
    return true;
}

/* Log-probability entries whose text is visible (all up to the cut once the job ended). */
static int visible_lps(const srv_job *j) {
    int k = j->n_lps;
    while (k > 0 && j->lps[k - 1].text_end > j->visible) k--;
    return k;
}

void srv_job_next(srv_job *j, size_t from, int from_lp, srv_progress *out) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&j->mu);
    const size_t n = j->visible > from ? j->visible - from : 0;
    const int k = visible_lps(j) - from_lp;
    out->text = malloc(n + 1);
    out->logprobs = k > 0 ? malloc(sizeof *out->logprobs * (size_t)k) : NULL;
    const bool ok = out->text && (k <= 0 || out->logprobs);
    if (ok) {
        if (n) memcpy(out->text, j->text + from, n);
        out->text[n] = '\0';
        out->len = n;
        if (k > 0) memcpy(out->logprobs, j->lps + from_lp, sizeof *j->lps * (size_t)k);
        out->n_logprobs = k > 0 ? k : 0;
    }
    out->finish = ok ? j->finish : SRV_FINISH_ERROR;
    out->n_prompt_tokens = j->n_prompt;
    out->n_cached_tokens = j->n_cached;
    out->n_completion_tokens = j->n_completion;
    snprintf(out->error, sizeof out->error, "%s", ok ? j->error : "out of memory");
    pthread_mutex_unlock(&j->mu);
}

void srv_progress_free(srv_progress *p) {
    free(p->text);
    free(p->logprobs);
    memset(p, 0, sizeof *p);
}

/* A job for prompt with settings p (validated; takes p->schema whatever happens). */
static srv_submit_status job_create(srv_model *m, const ward_token *prompt, int32_t n_prompt,
                                    const srv_gen_params *p, srv_waiter *waiter, srv_job **out,
                                    ward_error *err) {
    *out = NULL;
    if (n_prompt < 1 || n_prompt >= m->n_ctx || p->max_tokens < 1 || p->n_stop < 0 ||
        p->n_stop > SRV_MAX_STOP || p->top_logprobs > SRV_MAX_TOP_LOGPROBS) {
        snprintf(err->msg, sizeof err->msg, "prompt of %d tokens, max_tokens %d, %d stop "
                 "strings: out of range", n_prompt, p->max_tokens, p->n_stop);
        jc_free(p->schema);
        return SRV_INVALID;
    }
    ward_sampler *probe;
    if (ward_sampler_open(&p->sampling, m->n_vocab, &probe, err)) {
        jc_free(p->schema);
        return SRV_INVALID;
    }
    ward_sampler_close(probe);
    srv_job *j = calloc(1, sizeof *j);
    if (!j || !(j->prompt = malloc(sizeof *j->prompt * (size_t)n_prompt))) {
        free(j);
        jc_free(p->schema);
        return SRV_NO_MEMORY;
    }
    memcpy(j->prompt, prompt, sizeof *prompt * (size_t)n_prompt);
    j->n_prompt = n_prompt;
    j->p = *p;
    j->waiter = waiter;
    pthread_mutex_init(&j->mu, NULL);
    atomic_init(&j->refs, 2); /* the caller's and the worker's */
    atomic_init(&j->cancel, false);
    j->t_submit = now_s();
    for (int i = 0; i < p->n_stop; i++) {
        if (!(j->stop_copy[i] = strdup(p->stop[i]))) {
            job_unref(j), job_unref(j);
            return SRV_NO_MEMORY;
        }
        j->p.stop[i] = j->stop_copy[i];
    }
    *out = j;
    return SRV_SUBMITTED;
}

srv_submit_status srv_submit(srv_model *m, const ward_token *prompt, int32_t n_prompt,
                             const srv_gen_params *ps, int n, srv_waiter *waiter,
                             srv_job **out, ward_error *err) {
    srv_submit_status st = SRV_SUBMITTED;
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        if (st == SRV_SUBMITTED) st = job_create(m, prompt, n_prompt, &ps[i], waiter, &out[i], err);
        else jc_free(ps[i].schema);
    }
    pthread_mutex_lock(&m->mu);
    if (st == SRV_SUBMITTED && (m->n_queued + n > m->cfg.max_queue || m->stopping))
        st = SRV_QUEUE_FULL;
    for (int i = 0; st == SRV_SUBMITTED && i < n; i++) { /* all or none, in one go */
        if (m->queue_tail) m->queue_tail->next = out[i];
        else m->queue_head = out[i];
        m->queue_tail = out[i];
        m->n_queued++;
        m->stats.n_jobs++;
    }
    if (st == SRV_SUBMITTED) pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; st != SRV_SUBMITTED && i < n; i++) {
        if (out[i]) job_unref(out[i]), job_unref(out[i]);
        out[i] = NULL;
    }
    return st;
}

/* ---------------------------------------------------------------------------------------------
 * The worker
 * ------------------------------------------------------------------------------------------- */

/* The slot's job is over: the worker's reference goes; the slot keeps its cached tokens for
 * the prefix cache. */
static void slot_finish(srv_model *m, srv_slot *s, srv_finish f, const char *error) {
    job_end(s->job, f, error);
    job_unref(s->job);
    s->job = NULL;
    pthread_mutex_lock(&m->mu);
    m->n_active--;
    pthread_mutex_unlock(&m->mu);
}

static int32_t common_prefix(const ward_token *a, int32_t na, const ward_token *b, int32_t nb) {
    int32_t n = 0;
    while (n < na && n < nb && a[n] == b[n]) n++;
    return n;
}

/* Puts job j into a free slot: the one whose cache shares the longest prefix with its prompt;
 * when another slot (busy or not) shares a longer one, that prefix is copied over instead of
 * computed again (the prefix cache). At least one prompt token is always evaluated, for its
 * logits. Under m->mu. */
static void admit_one(srv_model *m, srv_job *j) {
    int best = -1, src = -1;
    int32_t best_cp = -1, src_cp = -1;
    for (int i = 0; i < m->cfg.n_parallel; i++) {
        const srv_slot *s = &m->slots[i];
        const int32_t cp = common_prefix(s->hist, s->n_hist, j->prompt, j->n_prompt - 1);
        if (cp > src_cp) src = i, src_cp = cp;
        if (!s->job && cp > best_cp) best = i, best_cp = cp;
    }
    srv_slot *s = &m->slots[best];
    if (src_cp > best_cp && ward_context_seq_copy(m->ctx, src, best, src_cp) == WARD_OK) {
        memcpy(s->hist, m->slots[src].hist, sizeof *s->hist * (size_t)src_cp);
        best_cp = src_cp;
    } else {
        ward_context_seq_truncate(m->ctx, best, best_cp); /* best_cp <= n_hist: cannot fail */
    }
    s->n_hist = best_cp;
    s->n_fed = best_cp;
    s->generating = false;
    s->job = j;
    m->n_active++;
    m->stats.n_prompt_tokens += (uint64_t)j->n_prompt;
    m->stats.n_cached_tokens += (uint64_t)best_cp;
    pthread_mutex_lock(&j->mu);
    j->n_cached = best_cp;
    pthread_mutex_unlock(&j->mu);
}

/* Whether job j should wait for a slot still computing a prompt that shares a longer prefix
 * with j's (by 32 tokens or more) than any cache holds now: once that prompt is in, j copies it
 * instead of computing it again (the n choices of one request; identical requests arriving
 * together). Under m->mu. */
static bool worth_waiting(const srv_model *m, const srv_job *j) {
    int32_t have = 0, coming = 0;
    for (int i = 0; i < m->cfg.n_parallel; i++) {
        const srv_slot *s = &m->slots[i];
        const int32_t cp = common_prefix(s->hist, s->n_hist, j->prompt, j->n_prompt - 1);
        if (cp > have) have = cp;
        if (s->job && !s->generating) {
            const int32_t soon = common_prefix(s->job->prompt, s->job->n_prompt, j->prompt,
                                               j->n_prompt - 1);
            if (soon > coming) coming = soon;
        }
    }
    return coming >= have + 32;
}

/* Queued jobs into free slots, in order, skipping those cancelled while waiting and leaving
 * those worth_waiting() for a later step. Under m->mu. */
static void admit(srv_model *m) {
    srv_job **link = &m->queue_head, *prev = NULL;
    while (*link && m->n_active < m->cfg.n_parallel) {
        srv_job *j = *link;
        const bool cancelled = atomic_load(&j->cancel);
        if (!cancelled && worth_waiting(m, j)) {
            prev = j;
            link = &j->next;
            continue;
        }
        *link = j->next;
        if (m->queue_tail == j) m->queue_tail = prev;
        m->n_queued--;
        if (cancelled) {
            job_end(j, SRV_FINISH_CANCELLED, NULL);
            job_unref(j);
            continue;
        }
        j->next = NULL;
        admit_one(m, j);
    }
}

/* Sampler and detokenizer of a newly admitted job, and its prompt in the penalty history. */
static bool slot_prepare(srv_model *m, srv_slot *s) {
    srv_job *j = s->job;
    ward_error err;
    if (ward_sampler_open(&j->p.sampling, m->n_vocab, &j->smp, &err) ||
        ward_detok_open(m->model, &j->detok)) {
        slot_finish(m, s, SRV_FINISH_ERROR, "out of memory");
        return false;
    }
    for (int32_t i = 0; i < j->n_prompt; i++) ward_sampler_accept(j->smp, j->prompt[i]);
    if (!j->p.schema) return true;
    if (!m->vocab && !(m->vocab = jc_vocab_build(m->model))) {
        slot_finish(m, s, SRV_FINISH_ERROR, "out of memory");
        return false;
    }
    jc_start(j->p.schema, &j->json);
    return true;
}

/* Logits restricted to the tokens that keep the structured output valid, and the end of
 * generation where the output may end (NULL and the job ended when nothing is allowed, which
 * a well-formed schema never allows); unrestricted once a tool-call grammar set the reply
 * free. */
static const float *constrain(srv_model *m, srv_slot *s, const float *logits) {
    srv_job *j = s->job;
    if (!j->p.schema || jc_is_free(j->p.schema, &j->json)) return logits;
    const bool can_end = jc_can_end(j->p.schema, &j->json); /* e.g. after a tool call */
    if (jc_allowed(m->vocab, j->p.schema, &j->json, m->allowed) == 0 && !can_end) {
        slot_finish(m, s, SRV_FINISH_ERROR, "no token can continue the JSON");
        return NULL;
    }
    for (int32_t t = 0; can_end && t < m->n_vocab; t++)
        if (ward_token_is_eog(m->model, t)) m->allowed[t] = true;
    for (int32_t t = 0; t < m->n_vocab; t++) m->masked[t] = m->allowed[t] ? logits[t] : -INFINITY;
    return m->masked;
}

/* The structured output takes the sampled token's bytes; true once the JSON is complete. */
static bool json_complete(srv_model *m, srv_job *j, ward_token tok) {
    if (!j->p.schema) return false;
    char bytes[512];
    size_t n = 0;
    ward_token_to_bytes(m->model, tok, false, bytes, sizeof bytes, &n);
    jc_feed_all(j->p.schema, &j->json, bytes, n < sizeof bytes ? n : sizeof bytes);
    return j->json.done;
}

/* The log-softmax of logits at tok and the n_top most likely tokens (OpenAI's logprobs). */
static void token_logprobs(const float *logits, int32_t n_vocab, ward_token tok, int n_top,
                           srv_logprob *out) {
    float max = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++) max = logits[i] > max ? logits[i] : max;
    double sum = 0;
    for (int32_t i = 0; i < n_vocab; i++) sum += exp((double)logits[i] - max);
    const float log_z = max + (float)log(sum);
    out->token = tok;
    out->logprob = logits[tok] - log_z;
    out->n_top = 0;
    out->text_end = SIZE_MAX; /* not visible until its text is in (close_logprob) */
    for (int32_t i = 0; i < n_vocab; i++) { /* insertion into the sorted top list */
        const float lp = logits[i] - log_z;
        if (out->n_top == n_top && (n_top == 0 || lp <= out->top_logprob[n_top - 1])) continue;
        int k = out->n_top < n_top ? out->n_top++ : n_top - 1;
        for (; k > 0 && lp > out->top_logprob[k - 1]; k--) {
            out->top[k] = out->top[k - 1];
            out->top_logprob[k] = out->top_logprob[k - 1];
        }
        out->top[k] = i;
        out->top_logprob[k] = lp;
    }
}

/* Records token tok's log-probabilities (when the job asked) before its text is appended. */
static bool record_logprob(srv_model *m, srv_job *j, const float *logits, ward_token tok) {
    if (j->p.top_logprobs < 0) return true;
    srv_logprob lp;
    token_logprobs(logits, m->n_vocab, tok, j->p.top_logprobs, &lp);
    pthread_mutex_lock(&j->mu);
    if (j->n_lps == j->cap_lps) {
        const int cap = j->cap_lps ? 2 * j->cap_lps : 64;
        srv_logprob *grown = realloc(j->lps, sizeof *grown * (size_t)cap);
        if (!grown) {
            pthread_mutex_unlock(&j->mu);
            return false;
        }
        j->lps = grown, j->cap_lps = cap;
    }
    j->lps[j->n_lps++] = lp;
    pthread_mutex_unlock(&j->mu);
    return true;
}

/* A token whose text is still held (part of a UTF-8 character): its entry ends where the text
 * is now. */
static void close_logprob(srv_job *j) {
    pthread_mutex_lock(&j->mu);
    if (j->n_lps && j->lps[j->n_lps - 1].text_end == SIZE_MAX) {
        close_logprob_locked(j);
        job_changed(j);
    }
    pthread_mutex_unlock(&j->mu);
}

/* The slot's job ends with finish, after the characters the detokenizer still holds (an append
 * that fails has already ended the job with an error, which then stands). */
static void slot_end(srv_model *m, srv_slot *s, srv_finish finish) {
    const char *rest;
    size_t n;
    ward_detok_flush(s->job->detok, &rest, &n);
    if (n) job_append(s->job, rest, n);
    slot_finish(m, s, finish, NULL);
}

/* One token sampled for slot s from logits: appended to its text, or the end of its job. */
static void slot_sample(srv_model *m, srv_slot *s, const float *logits) {
    srv_job *j = s->job;
    if (!s->generating) {
        s->generating = true;
        pthread_mutex_lock(&m->mu);
        m->stats.ttft_sum_s += now_s() - j->t_submit;
        m->stats.ttft_count++;
        pthread_mutex_unlock(&m->mu);
    }
    const float *choose_from = constrain(m, s, logits);
    if (!choose_from) return;
    const ward_token tok = ward_sampler_sample(j->smp, choose_from);
    ward_sampler_accept(j->smp, tok);
    pthread_mutex_lock(&j->mu);
    j->n_completion++;
    const int32_t n_done = j->n_completion;
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_lock(&m->mu);
    m->stats.n_gen_tokens++;
    pthread_mutex_unlock(&m->mu);
    if (ward_token_is_eog(m->model, tok)) {
        slot_end(m, s, SRV_FINISH_STOP);
        return;
    }
    const char *piece;
    size_t n;
    if (!record_logprob(m, j, logits, tok) || ward_detok_push(j->detok, tok, &piece, &n) ||
        (n && !job_append(j, piece, n))) {
        slot_finish(m, s, SRV_FINISH_ERROR, "out of memory");
        return;
    }
    if (!n) close_logprob(j);
    pthread_mutex_lock(&j->mu);
    const bool stopped = j->finish != SRV_RUNNING;
    pthread_mutex_unlock(&j->mu);
    if (stopped) {
        slot_finish(m, s, SRV_FINISH_STOP, NULL);
    } else if (json_complete(m, j, tok)) {
        slot_end(m, s, SRV_FINISH_STOP);
    } else if (n_done >= j->p.max_tokens || s->n_hist + 1 >= m->n_ctx) {
        slot_end(m, s, SRV_FINISH_LENGTH);
    } else {
        s->last = tok;
    }
}

/* The step's batch: one token of each generating slot, then prompt chunks in slot order while
 * the batch has room. Slot i has taken[i] tokens from batch index first[i]. Returns its size. */
static int32_t build_batch(srv_model *m, int32_t *first, int32_t *taken) {
    int32_t n = 0;
    for (int i = 0; i < m->cfg.n_parallel; i++) {
        srv_slot *s = &m->slots[i];
        taken[i] = 0;
        if (!s->job || !s->generating) continue;
        m->b_tok[n] = s->last, m->b_seq[n] = i, m->b_want[n] = true;
        first[i] = n;
        taken[i] = 1;
        n++;
    }
    for (int i = 0; i < m->cfg.n_parallel && n < m->cfg.n_batch; i++) {
        srv_slot *s = &m->slots[i];
        if (!s->job || s->generating) continue;
        const int32_t left = s->job->n_prompt - s->n_fed, room = m->cfg.n_batch - n;
        const int32_t k = left < room ? left : room;
        for (int32_t t = 0; t < k; t++) {
            m->b_tok[n + t] = s->job->prompt[s->n_fed + t];
            m->b_seq[n + t] = i;
            m->b_want[n + t] = s->n_fed + t == s->job->n_prompt - 1;
        }
        first[i] = n;
        taken[i] = k;
        n += k;
    }
    return n;
}

static void worker_step(srv_model *m) {
    for (int i = 0; i < m->cfg.n_parallel; i++) { /* cancelled jobs free their slots */
        srv_slot *s = &m->slots[i];
        if (!s->job) continue;
        if (atomic_load(&s->job->cancel)) slot_finish(m, s, SRV_FINISH_CANCELLED, NULL);
        else if (!s->job->smp) slot_prepare(m, s);
    }
    int32_t first[m->cfg.n_parallel], taken[m->cfg.n_parallel];
    const int32_t n = build_batch(m, first, taken);
    if (n == 0) return;
    const double t0 = now_s();
    const ward_batch b = {.n = n, .tokens = m->b_tok, .seq = m->b_seq, .want_logits = m->b_want};
    turn_take(m->cfg.turns);
    const ward_status st = ward_decode(m->ctx, &b);
    turn_give(m->cfg.turns);
    pthread_mutex_lock(&m->mu);
    m->stats.busy_s += now_s() - t0;
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < m->cfg.n_parallel; i++) {
        srv_slot *s = &m->slots[i];
        if (!taken[i]) continue;
        if (st) {
            slot_finish(m, s, SRV_FINISH_ERROR, ward_context_errmsg(m->ctx));
            continue;
        }
        memcpy(s->hist + s->n_hist, m->b_tok + first[i], sizeof *m->b_tok * (size_t)taken[i]);
        s->n_hist += taken[i];
        if (!s->generating) s->n_fed += taken[i];
        const int32_t last = first[i] + taken[i] - 1;
        if (m->b_want[last]) slot_sample(m, s, ward_context_logits(m->ctx, last));
    }
    int64_t kv_used = 0;
    for (int i = 0; i < m->cfg.n_parallel; i++) kv_used += m->slots[i].n_hist;
    pthread_mutex_lock(&m->mu);
    m->stats.kv_used = kv_used;
    pthread_mutex_unlock(&m->mu);
}

static void *worker_main(void *arg) {
    srv_model *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        if (!m->stopping) admit(m);
        while (!m->stopping && m->n_active == 0 && !m->queue_head) pthread_cond_wait(&m->cv, &m->mu);
        const bool stop = m->stopping;
        const bool idle = m->n_active == 0;
        pthread_mutex_unlock(&m->mu);
        if (stop) break;
        if (!idle) worker_step(m);
    }
    for (int i = 0; i < m->cfg.n_parallel; i++)
        if (m->slots[i].job) slot_finish(m, &m->slots[i], SRV_FINISH_CANCELLED, NULL);
    pthread_mutex_lock(&m->mu);
    while (m->queue_head) {
        srv_job *j = m->queue_head;
        m->queue_head = j->next;
        job_end(j, SRV_FINISH_CANCELLED, NULL);
        job_unref(j);
    }
    m->queue_tail = NULL;
    m->n_queued = 0;
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Opening and closing
 * ------------------------------------------------------------------------------------------- */

static ward_status fail(ward_error *err, ward_status st, const char *msg) {
    err->code = st;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return st;
}

/* The positions per slot that keep n_parallel slots' F16 KV cache within the budget: the
 * configured number if it fits (else an error saying why), or the most that fit up to the
 * default (the model's context, at most 4096). */
static ward_status fit_kv_budget(const srv_model *m, const srv_model_config *cfg, int32_t *n_ctx,
                                 ward_error *err) {
    if (cfg->kv_budget_mib <= 0) return WARD_OK;
    const ward_model_info *in = ward_model_get_info(m->model);
    const double per_pos = (double)ward_kv_bytes_per_position(m->model, WARD_TYPE_F16);
    const double budget = (double)cfg->kv_budget_mib * 1048576.0;
    const double fits = budget / (per_pos * m->cfg.n_parallel);
    const int32_t dflt = in->n_ctx_train < 4096 ? in->n_ctx_train : 4096;
    if (*n_ctx > 0 && *n_ctx > fits) {
        err->code = WARD_EINVAL;
        snprintf(err->msg, sizeof err->msg, "%d slots of %d positions need %.0f MiB of KV cache, "
                 "over the budget of %d MiB", m->cfg.n_parallel, *n_ctx,
                 per_pos * m->cfg.n_parallel * *n_ctx / 1048576.0, cfg->kv_budget_mib);
        return WARD_EINVAL;
    }
    if (*n_ctx == 0) *n_ctx = fits < dflt ? (int32_t)fits : dflt;
    if (*n_ctx < 16) {
        err->code = WARD_EINVAL;
        snprintf(err->msg, sizeof err->msg, "a KV budget of %d MiB leaves %d positions for each "
                 "of %d slots: too few", cfg->kv_budget_mib, *n_ctx, m->cfg.n_parallel);
        return WARD_EINVAL;
    }
    return WARD_OK;
}

ward_status srv_model_open(const srv_model_config *cfg, srv_model **out, ward_error *err) {
    *out = NULL;
    srv_model *m = calloc(1, sizeof *m);
    if (!m) return fail(err, WARD_ENOMEM, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->cfg = *cfg;
    m->name = strdup(cfg->name);
    m->path = strdup(cfg->path);
    if (!m->name || !m->path) goto oom;
    m->cfg.name = m->name, m->cfg.path = m->path;
    m->cfg.chat_template = m->cfg.quant = NULL; /* used only here, not kept */
    m->cfg.defaults = NULL;
    if (cfg->defaults && !(m->defaults = cJSON_Duplicate(cfg->defaults, true))) goto oom;
    ward_status st;
    if (!m->cfg.n_parallel) m->cfg.n_parallel = 4;
    if (!m->cfg.n_batch) m->cfg.n_batch = 256;
    if (!m->cfg.max_queue) m->cfg.max_queue = 64;
    if (m->cfg.n_batch < m->cfg.n_parallel) m->cfg.n_batch = m->cfg.n_parallel;
    ward_model_params mp = ward_model_default_params();
    if (cfg->quant && !(mp.ftype = ward_ftype_from_name(cfg->quant))) {
        st = fail(err, WARD_EINVAL, "unknown --quant type (see ward quantize --help)");
        goto failed;
    }
    mp.n_threads = cfg->n_threads;
    if ((st = ward_model_open_ex(m->path, &mp, &m->model, err))) goto failed;
    if ((st = ward_chat_template_for_model(m->model, cfg->chat_template, &m->tmpl, err))) {
        if (cfg->chat_template) goto failed;
        m->tmpl = NULL; /* completions still work; chat requests will be refused */
    }
    ward_context_params cp = ward_context_default_params();
    cp.n_ctx = cfg->n_ctx;
    if ((st = fit_kv_budget(m, cfg, &cp.n_ctx, err))) goto failed;
    cp.n_seq = m->cfg.n_parallel;
    cp.n_batch = m->cfg.n_batch;
    cp.n_outputs = m->cfg.n_parallel;
    cp.n_threads = cfg->n_threads;
    if ((st = ward_context_open(m->model, &cp, &m->ctx, err))) goto failed;
    m->n_ctx = ward_context_n_ctx(m->ctx);
    m->n_vocab = ward_model_get_info(m->model)->n_vocab;
    m->slots = calloc((size_t)m->cfg.n_parallel, sizeof *m->slots);
    m->b_tok = malloc(sizeof *m->b_tok * (size_t)m->cfg.n_batch);
    m->b_seq = malloc(sizeof *m->b_seq * (size_t)m->cfg.n_batch);
    m->b_want = malloc(sizeof *m->b_want * (size_t)m->cfg.n_batch);
    m->allowed = malloc(sizeof *m->allowed * (size_t)m->n_vocab);
    m->masked = malloc(sizeof *m->masked * (size_t)m->n_vocab);
    if (!m->slots || !m->b_tok || !m->b_seq || !m->b_want || !m->allowed || !m->masked) goto oom;
    for (int i = 0; i < m->cfg.n_parallel; i++)
        if (!(m->slots[i].hist = malloc(sizeof(ward_token) * (size_t)m->n_ctx))) goto oom;
    if (pthread_create(&m->worker, NULL, worker_main, m) != 0) {
        st = fail(err, WARD_ENOMEM, "cannot start the model's worker thread");
        goto failed;
    }
    m->worker_started = true;
    *out = m;
    return WARD_OK;
oom:
    st = fail(err, WARD_ENOMEM, "out of memory");
failed:
    srv_model_close(m);
    return st;
}

void srv_model_stop(srv_model *m) {
    if (!m || !m->worker_started) return;
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->worker, NULL);
    m->worker_started = false;
}

void srv_model_close(srv_model *m) {
    if (!m) return;
    srv_model_stop(m);
    for (int i = 0; m->slots && i < m->cfg.n_parallel; i++) free(m->slots[i].hist);
    free(m->slots);
    free(m->b_tok), free(m->b_seq), free(m->b_want);
    free(m->allowed), free(m->masked);
    jc_vocab_free(m->vocab);
    ward_context_close(m->ctx);
    ward_model_close(m->model);
    free(m->name), free(m->path);
    cJSON_Delete(m->defaults);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}

const char *srv_model_name(const srv_model *m) { return m->name; }
const ward_model *srv_model_engine(const srv_model *m) { return m->model; }
const ward_chat_template *srv_model_template(const srv_model *m) { return m->tmpl; }
int32_t srv_model_n_ctx(const srv_model *m) { return m->n_ctx; }
const cJSON *srv_model_defaults(const srv_model *m) { return m->defaults; }

ward_status srv_tokenize(srv_model *m, const ward_text_span *spans, size_t n_spans,
                         unsigned flags, ward_token **toks, int32_t *n_toks) {
    size_t cap = 256, need = 0;
    ward_status st = WARD_ERANGE;
    *toks = NULL;
    *n_toks = 0;
    while (st == WARD_ERANGE) {
        ward_token *grown = realloc(*toks, sizeof **toks * cap);
        if (!grown) {
            st = WARD_ENOMEM;
            break;
        }
        *toks = grown;
        st = ward_tokenize_spans(m->model, spans, n_spans, flags, *toks, cap, &need);
        if (st == WARD_ERANGE) cap = need;
    }
    if (st || need > INT32_MAX) {
        free(*toks);
        *toks = NULL;
        return st ? st : WARD_ERANGE;
    }
    *n_toks = (int32_t)need;
    return WARD_OK;
}

void srv_model_get_stats(srv_model *m, srv_model_stats *out) {
    pthread_mutex_lock(&m->mu);
    *out = m->stats;
    out->n_slots = m->cfg.n_parallel;
    out->n_active = m->n_active;
    out->n_queued = m->n_queued;
    out->kv_total = (int64_t)m->n_ctx * m->cfg.n_parallel;
    pthread_mutex_unlock(&m->mu);
}
