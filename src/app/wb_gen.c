/* wb_gen.c: the workbench's generations: starting one (record, prompt, constraint, queue), the
 * collector thread that follows its job and records the answer, and the event streams that
 * show it growing (see wb_internal.h).
 *
 * A running generation is a live_gen on the workbench's list, shared by its collector and the
 * event streams reading it (reference-counted under its own mutex; the list is under wb->mu,
 * taken first). The collector records the end in the store before it leaves the list, so a
 * stream that sees the generation finished finds it recorded; after leaving the list it
 * touches only the live_gen. The answer is recorded whatever happens to the browser: a doctor
 * who closes the tab finds it when the case is reopened.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "app/wb_internal.h"
#include "server/jsonc.h"

struct live_gen {
    int64_t id, case_id;
    bool discharge;
    srv_job *job;
    srv_waiter waiter;
    double t0, ttft_ms;
    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;  /* the text grew, or the generation ended */
    char *text;
    size_t len;
    bool finished;
    int refs;          /* the collector and each event stream */
    live_gen *next;    /* on wb->live, under wb->mu */
};

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void live_release(live_gen *g) {
    pthread_mutex_lock(&g->mu);
    const bool last = --g->refs == 0;
    pthread_mutex_unlock(&g->mu);
    if (!last) return;
    srv_waiter_destroy(&g->waiter);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g->text);
    free(g);
}

/* ---------------------------------------------------------------------------------------------
 * The collector
 * ------------------------------------------------------------------------------------------- */

/* The end as the store records it; a discharge draft's sections become its record. */
static void record_end(workbench *wb, live_gen *g, const srv_progress *p) {
    static const char *const status[] = {[SRV_FINISH_STOP] = "done", [SRV_FINISH_LENGTH] = "error",
                                         [SRV_FINISH_CANCELLED] = "cancelled",
                                         [SRV_FINISH_ERROR] = "error"};
    const char *error = p->finish == SRV_FINISH_LENGTH ? "the answer was cut at the context's end"
                        : p->finish == SRV_FINISH_ERROR ? p->error
                                                        : "";
    cJSON *fin = cJSON_CreateObject();
    pthread_mutex_lock(&g->mu);
    cJSON_AddStringToObject(fin, "output", g->text ? g->text : "");
    pthread_mutex_unlock(&g->mu);
    cJSON_AddStringToObject(fin, "status", status[p->finish]);
    cJSON_AddStringToObject(fin, "error", error);
    cJSON_AddNumberToObject(fin, "ttft_ms", g->ttft_ms);
    cJSON_AddNumberToObject(fin, "total_ms", now_ms() - g->t0);
    cJSON_AddNumberToObject(fin, "prompt_tokens", p->n_prompt_tokens);
    cJSON_AddNumberToObject(fin, "completion_tokens", p->n_completion_tokens);
    store_error e = {0};
    if (store_generation_finish(wb->db, g->id, fin, &e) != STORE_OK)
        fprintf(stderr, "ward serve: workbench: generation %lld: %s\n", (long long)g->id, e.msg);
    if (g->discharge && p->finish == SRV_FINISH_STOP) {
        cJSON *draft = cJSON_CreateObject();
        cJSON_AddNumberToObject(draft, "generation_id", (double)g->id);
        cJSON_AddItemToObject(draft, "sections",
                              cJSON_Parse(cJSON_GetObjectItem(fin, "output")->valuestring));
        int64_t rid = 0;
        if (store_discharge_create(wb->db, &store_system, g->case_id, draft, &rid, &e) != STORE_OK)
            fprintf(stderr, "ward serve: workbench: discharge draft of generation %lld: %s\n",
                    (long long)g->id, e.msg);
        cJSON_Delete(draft);
    }
    cJSON_Delete(fin);
}

static bool append_text(live_gen *g, const char *s, size_t n) {
    pthread_mutex_lock(&g->mu);
    char *grown = realloc(g->text, g->len + n + 1);
    if (grown) {
        memcpy(grown + g->len, s, n);
        g->text = grown;
        g->len += n;
        grown[g->len] = '\0';
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
    return grown != NULL;
}

typedef struct collector_arg {
    workbench *wb;
    live_gen *g;
} collector_arg;

static void *collect(void *arg) {
    workbench *wb = ((collector_arg *)arg)->wb;
    live_gen *g = ((collector_arg *)arg)->g;
    free(arg);
    size_t from = 0;
    srv_progress p;
    for (;;) {
        const unsigned long seen = srv_waiter_changes(&g->waiter);
        srv_job_next(g->job, from, 0, &p);
        if (p.len && g->ttft_ms == 0) g->ttft_ms = now_ms() - g->t0;
        if (p.len && !append_text(g, p.text, p.len)) srv_job_release(g->job), g->job = NULL;
        from += p.len;
        if (p.finish != SRV_RUNNING || !g->job) break;
        srv_progress_free(&p);
        srv_waiter_wait(&g->waiter, seen, 1000);
    }
    if (!g->job) p.finish = SRV_FINISH_ERROR, snprintf(p.error, sizeof p.error, "out of memory");
    record_end(wb, g, &p);
    srv_progress_free(&p);
    if (g->job) srv_job_release(g->job);
    pthread_mutex_lock(&wb->mu);
    for (live_gen **at = &wb->live; *at; at = &(*at)->next)
        if (*at == g) {
            *at = g->next;
            break;
        }
    pthread_cond_broadcast(&wb->cv);
    pthread_mutex_unlock(&wb->mu);
    pthread_mutex_lock(&g->mu);
    g->finished = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    live_release(g);
    return NULL;
}

void wb_wait_idle(workbench *wb) {
    pthread_mutex_lock(&wb->mu);
    while (wb->live) pthread_cond_wait(&wb->cv, &wb->mu);
    pthread_mutex_unlock(&wb->mu);
}

/* ---------------------------------------------------------------------------------------------
 * Starting
 * ------------------------------------------------------------------------------------------- */

/* The prompt's tokens for model m: the template's two messages in m's chat format. */
static bool prompt_tokens(const prompt_template *t, const cJSON *c, srv_model *m, char **text,
                          ward_token **toks, int32_t *n, srv_reply *out) {
    const ward_chat_template *tmpl = srv_model_template(m);
    if (!tmpl)
        return !wb_error(out, 400, "model '%s' has no chat template", srv_model_name(m));
    char *sys = prompt_fill(t, t->system, c), *user = prompt_fill(t, t->user, c);
    const ward_chat_message msgs[] = {{"system", sys, NULL, 0}, {"user", user, NULL, 0}};
    const size_t skip = sys && sys[0] ? 0 : 1;
    ward_text_span *spans = NULL;
    size_t n_spans = 0;
    bool ok = sys && user && (*text = malloc(strlen(sys) + strlen(user) + 3));
    if (ok) sprintf(*text, "%s%s%s", sys, sys[0] ? "\n\n" : "", user);
    if (ok && ward_chat_render(tmpl, msgs + skip, 2 - skip, true, &spans, &n_spans))
        ok = !wb_error(out, 400, "the prompt cannot be rendered in model '%s''s chat format",
                       srv_model_name(m));
    else if (ok && srv_tokenize(m, spans, n_spans, 0, toks, n))
        ok = !wb_error(out, 500, "tokenizing the prompt failed");
    else if (!ok)
        wb_error(out, 500, "out of memory");
    if (ok && *n >= srv_model_n_ctx(m))
        ok = !wb_error(out, 400, "the case is too long for model '%s': %d tokens, its context "
                       "holds %d", srv_model_name(m), *n, srv_model_n_ctx(m));
    ward_chat_spans_free(spans);
    free(sys), free(user);
    return ok;
}

/* Sampling from the request's options: temperature (default 0.7) and seed (default: random). */
static bool sampling(const cJSON *options, int32_t max_tokens, srv_gen_params *gp, cJSON **params,
                     srv_reply *out) {
    const cJSON *temp = cJSON_GetObjectItemCaseSensitive(options, "temperature");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(options, "seed");
    if ((temp && (!cJSON_IsNumber(temp) || temp->valuedouble < 0 || temp->valuedouble > 2)) ||
        (seed && (!cJSON_IsNumber(seed) || seed->valuedouble < 0 ||
                  seed->valuedouble > 9007199254740992.0 ||
                  seed->valuedouble != floor(seed->valuedouble))))
        return !wb_error(out, 400, "'temperature' must be 0 to 2 and 'seed' a whole number "
                         "from 0 to 2^53");
    memset(gp, 0, sizeof *gp);
    gp->sampling = ward_sampler_default_params();
    gp->sampling.temperature = temp ? (float)temp->valuedouble : 0.7f;
    gp->sampling.seed = seed ? (uint64_t)seed->valuedouble
                             : (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)now_ms();
    gp->max_tokens = max_tokens;
    gp->top_logprobs = -1;
    *params = cJSON_CreateObject();
    cJSON_AddNumberToObject(*params, "temperature", gp->sampling.temperature);
    cJSON_AddNumberToObject(*params, "seed", (double)gp->sampling.seed);
    cJSON_AddNumberToObject(*params, "max_tokens", max_tokens);
    return true;
}

/* Queues the job and starts the collector; on failure records the generation as an error. */
static int64_t launch(workbench *wb, live_gen *g, srv_model *m, const ward_token *toks,
                      int32_t n_toks, srv_gen_params *gp, srv_reply *out) {
    ward_error err;
    const srv_submit_status st = srv_submit(m, toks, n_toks, gp, 1, &g->waiter, &g->job, &err);
    pthread_t thread;
    collector_arg *arg = st == SRV_SUBMITTED ? malloc(sizeof *arg) : NULL;
    if (arg) {
        *arg = (collector_arg){wb, g};
        pthread_mutex_lock(&wb->mu);
        g->next = wb->live, wb->live = g;
        pthread_mutex_unlock(&wb->mu);
        if (pthread_create(&thread, NULL, collect, arg) == 0) {
            pthread_detach(thread);
            return g->id;
        }
        pthread_mutex_lock(&wb->mu);
        wb->live = g->next;
        pthread_mutex_unlock(&wb->mu);
        free(arg);
    }
    if (st == SRV_SUBMITTED) srv_job_release(g->job);
    cJSON *fin = cJSON_CreateObject();
    cJSON_AddStringToObject(fin, "status", "error");
    cJSON_AddStringToObject(fin, "error", st == SRV_QUEUE_FULL ? "the server was busy"
                                          : st == SRV_INVALID ? err.msg : "out of resources");
    store_error e = {0};
    store_generation_finish(wb->db, g->id, fin, &e);
    cJSON_Delete(fin);
    if (st == SRV_QUEUE_FULL)
        wb_error(out, 429, "model '%s' is busy: every slot is taken and its queue is full; try "
                 "again shortly", srv_model_name(m));
    else
        wb_error(out, 500, "the generation could not start: %s",
                 st == SRV_INVALID ? err.msg : "out of resources");
    return 0;
}

int64_t wb_generate(workbench *wb, const store_actor *by, int64_t case_id, const char *task,
                    srv_model *m, int64_t rerun_of, const cJSON *options, srv_reply *out) {
    const prompt_template *t = strcmp(task, "discharge") == 0 ? wb->discharge : wb->differential;
    cJSON *c = NULL, *params = NULL, *rec = NULL;
    store_error e = {0};
    char *prompt = NULL;
    ward_token *toks = NULL;
    int32_t n_toks = 0;
    srv_gen_params gp;
    int64_t id = 0;
    live_gen *g = NULL;
    if (store_case_get(wb->db, by, case_id, &c, &e) != STORE_OK) {
        wb_store_error(out, &e);
        goto done;
    }
    if (!prompt_tokens(t, c, m, &prompt, &toks, &n_toks, out) ||
        !sampling(options, srv_model_n_ctx(m) - n_toks, &gp, &params, out))
        goto done;
    char msg[256];
    if (!jc_compile(t->schema, &gp.schema, msg, sizeof msg)) {
        wb_error(out, 500, "template %s: %s", t->id, msg);
        goto done;
    }
    rec = cJSON_CreateObject();
    cJSON_AddNumberToObject(rec, "case_id", (double)case_id);
    cJSON_AddStringToObject(rec, "task", task);
    cJSON_AddStringToObject(rec, "model", srv_model_name(m));
    cJSON_AddItemToObject(rec, "params", params);
    params = NULL;
    cJSON_AddStringToObject(rec, "template", t->id);
    cJSON_AddStringToObject(rec, "prompt", prompt);
    if (rerun_of) cJSON_AddNumberToObject(rec, "rerun_of", (double)rerun_of);
    cJSON_AddStringToObject(rec, "owner", wb->instance);
    g = calloc(1, sizeof *g);
    if (!g) {
        jc_free(gp.schema);
        wb_error(out, 500, "out of memory");
        goto done;
    }
    if (store_generation_begin(wb->db, by, rec, &g->id, &e) != STORE_OK) {
        jc_free(gp.schema);
        wb_store_error(out, &e);
        free(g);
        goto done;
    }
    g->case_id = case_id;
    g->discharge = t == wb->discharge;
    g->refs = 1; /* the collector's */
    g->t0 = now_ms();
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    srv_waiter_init(&g->waiter);
    id = launch(wb, g, m, toks, n_toks, &gp, out); /* takes gp.schema */
    if (!id) live_release(g);
done:
    cJSON_Delete(c), cJSON_Delete(params), cJSON_Delete(rec);
    free(prompt), free(toks);
    return id;
}

/* ---------------------------------------------------------------------------------------------
 * Event streams
 * ------------------------------------------------------------------------------------------- */

typedef struct event_reader {
    workbench *wb;
    store_actor by; /* who reads: the final record's view is theirs */
    live_gen *g; /* NULL once the generation had ended when the stream began */
    int64_t id;
    size_t sent; /* bytes of the text already sent */
    bool sent_stored; /* an ended generation's recorded text was sent */
    bool ended;  /* the done event was made */
    char *buf;   /* the event being written */
    size_t len, pos;
} event_reader;

/* "event: NAME\ndata: JSON\n\n" (takes data). */
static void make_event(event_reader *r, const char *name, cJSON *data) {
    char *json = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    const size_t n = json ? strlen(json) + strlen(name) + 20 : 0;
    if (json && (r->buf = malloc(n))) r->len = (size_t)snprintf(r->buf, n, "event: %s\ndata: %s\n\n", name, json);
    free(json);
}

/* A ping, as a stream sends while it waits. */
static void ping(event_reader *r) {
    r->buf = strdup(": ping\n\n");
    r->len = r->buf ? strlen(r->buf) : 0;
}

/* The next event: new text, a ping after 15 s of none, or the recorded end (for a generation
 * that had ended before the stream began: its recorded text first). A generation running on
 * another replica (the database is shared) is waited for, pinging each second, and then sent
 * whole: its text grows only in that replica's memory. */
static void next_event(event_reader *r) {
    if (!r->g && store_generation_running(r->wb->db, r->id)) {
        sleep(1);
        return ping(r);
    }
    if (r->g) {
        live_gen *g = r->g;
        pthread_mutex_lock(&g->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 15;
        int rc = 0;
        while (g->len == r->sent && !g->finished && rc == 0)
            rc = pthread_cond_timedwait(&g->cv, &g->mu, &until);
        if (g->len > r->sent) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "text", g->text + r->sent); /* whole UTF-8 characters */
            r->sent = g->len;
            pthread_mutex_unlock(&g->mu);
            return make_event(r, "delta", d);
        }
        const bool finished = g->finished;
        pthread_mutex_unlock(&g->mu);
        if (!finished) return ping(r);
    }
    cJSON *gen = NULL;
    store_error e = {0};
    if (store_generation_get(r->wb->db, &r->by, r->id, &gen, &e) != STORE_OK) {
        r->ended = true;
        return;
    }
    const char *output = cJSON_GetObjectItem(gen, "output")->valuestring;
    if (!r->g && !r->sent_stored && output[0]) { /* it had ended: its whole text, then done */
        r->sent_stored = true;
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "text", output);
        cJSON_Delete(gen);
        return make_event(r, "delta", d);
    }
    r->ended = true;
    make_event(r, "done", gen); /* with its discharge_record_id, for a draft */
}

static long read_events(void *cls, char *buf, size_t max) {
    event_reader *r = cls;
    while (r->pos == r->len) {
        free(r->buf);
        r->buf = NULL;
        r->len = r->pos = 0;
        if (r->ended) return -1;
        next_event(r);
    }
    const size_t n = r->len - r->pos < max ? r->len - r->pos : max;
    memcpy(buf, r->buf + r->pos, n);
    r->pos += n;
    return (long)n;
}

static void close_events(void *cls) {
    event_reader *r = cls;
    if (r->g) live_release(r->g);
    free(r->buf);
    free(r);
}

bool wb_events(workbench *wb, const store_actor *by, int64_t id, srv_reply *out) {
    cJSON *gen = NULL;
    store_error e = {0};
    if (store_generation_get(wb->db, by, id, &gen, &e) != STORE_OK) return wb_store_error(out, &e);
    cJSON_Delete(gen);
    event_reader *r = calloc(1, sizeof *r);
    if (!r) return wb_error(out, 500, "out of memory");
    r->wb = wb, r->id = id, r->by = *by;
    pthread_mutex_lock(&wb->mu);
    for (live_gen *g = wb->live; g; g = g->next)
        if (g->id == id) {
            pthread_mutex_lock(&g->mu);
            g->refs++;
            pthread_mutex_unlock(&g->mu);
            r->g = g;
        }
    pthread_mutex_unlock(&wb->mu);
    *out = (srv_reply){.status = 200, .content_type = "text/event-stream; charset=utf-8",
                       .read = read_events, .done = close_events, .cls = r};
    return true;
}
