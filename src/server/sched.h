/* sched.h: one served model and its generation worker (continuous batching).
 *
 * A served model owns the engine's model, one context whose sequences are the slots, and a
 * worker thread. Requests come in as jobs: a tokenized prompt plus sampling settings. The
 * worker admits queued jobs into free slots, and every step runs one forward pass holding one
 * token of each generating slot and the next chunk of each prompt (so a long prompt never
 * stalls the streams already running), samples, and appends each job's new text. A new job
 * goes to the free slot whose cached tokens share the longest prefix with its prompt; a longer
 * prefix held by another slot, busy or not, is copied into it (ward_context_seq_copy); only the
 * rest of the prompt is evaluated. This is the prefix cache: the slots' KV caches are its
 * memory, so --kv-budget caps it.
 *
 * Jobs are reference-counted between the HTTP side (which reads their text as it grows, and
 * cancels them when the client goes away) and the worker; each side releases its reference.
 * Per-sequence results do not depend on what else is in the batch (the engine's kernels sum
 * each row in a fixed order whatever the batch), so a seeded request gives the same answer
 * under any load.
 */
#ifndef WARD_SERVER_SCHED_H
#define WARD_SERVER_SCHED_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/jsonc.h"
#include "ward.h"

/* Turns at the cores: models take forward passes in the order they asked (a ticket lock), so
 * several busy models share the machine fairly instead of oversubscribing it. */
typedef struct srv_turns {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long next, serving;
} srv_turns;
void srv_turns_init(srv_turns *t);
void srv_turns_destroy(srv_turns *t);

typedef struct srv_model_config {
    const char *name;          /* the model id clients use */
    const char *path;          /* GGUF file */
    int32_t n_parallel;        /* slots: sequences generating together; 0 = 4 */
    int32_t n_ctx;             /* positions per slot; 0 = the model's, at most 4096, within
                                * kv_budget_mib */
    int32_t kv_budget_mib;     /* the slots' KV cache must fit in this (0: no limit) */
    int32_t n_batch;           /* tokens per forward pass (prompt chunks fill it); 0 = 256 */
    int32_t n_threads;         /* 0 = all cores */
    int32_t max_queue;         /* jobs waiting for a slot before submissions are refused; 0 = 64 */
    const char *chat_template; /* NULL: the model's own */
    const char *quant;         /* HuggingFace directories: convert to this type while loading */
    srv_turns *turns;          /* shared by the server's models; NULL: none */
    const cJSON *defaults;     /* request fields used when a request leaves them out (copied) */
} srv_model_config;

typedef struct srv_model srv_model;

/* Loads the model and starts its worker. */
ward_status srv_model_open(const srv_model_config *cfg, srv_model **out, ward_error *err);
/* Stops the worker: running and queued jobs end as cancelled, new ones are refused; the model
 * stays readable (name, statistics) until srv_model_close. */
void srv_model_stop(srv_model *m);
/* Stops the worker if it runs, and frees everything. */
void srv_model_close(srv_model *m);

const char *srv_model_name(const srv_model *m);
const ward_model *srv_model_engine(const srv_model *m);
const ward_chat_template *srv_model_template(const srv_model *m);
int32_t srv_model_n_ctx(const srv_model *m);
/* The model's default request fields (an object, or NULL). */
const cJSON *srv_model_defaults(const srv_model *m);

/* The tokens of spans (n_spans; flags as ward_tokenize_spans) in *toks (malloc'ed; the
 * caller frees) and *n_toks. */
ward_status srv_tokenize(srv_model *m, const ward_text_span *spans, size_t n_spans,
                         unsigned flags, ward_token **toks, int32_t *n_toks);

typedef struct srv_model_stats {
    int32_t n_slots, n_active, n_queued;
    uint64_t n_jobs, n_prompt_tokens, n_cached_tokens, n_gen_tokens;
    double ttft_sum_s; /* sum over finished prompts of the time to their first token */
    uint64_t ttft_count;
    double busy_s; /* time spent in forward passes */
    int64_t kv_used, kv_total; /* positions held in the slots' caches (the prefix cache too) */
} srv_model_stats;
void srv_model_get_stats(srv_model *m, srv_model_stats *out);

typedef enum srv_finish {
    SRV_RUNNING = 0,
    SRV_FINISH_STOP,      /* end-of-generation token or a stop string */
    SRV_FINISH_LENGTH,    /* max_tokens or the context's end */
    SRV_FINISH_CANCELLED, /* released by the client, or the server stopping */
    SRV_FINISH_ERROR,
} srv_finish;

#define SRV_MAX_STOP 4
#define SRV_MAX_TOP_LOGPROBS 20

typedef struct srv_gen_params {
    ward_sampler_params sampling;
    int32_t max_tokens; /* > 0 */
    int n_stop;
    const char *stop[SRV_MAX_STOP]; /* copied at submission; never appear in the text */
    int top_logprobs;               /* -1: no log-probabilities; else 0..20 alternatives */
    jc_schema *schema;              /* structured output (NULL: free text); srv_submit takes it
                                     * whatever it returns */
} srv_gen_params;

/* Log-probability of a generated token under the model (log-softmax of its logits, before
 * temperature and truncation), with the most likely alternatives. */
typedef struct srv_logprob {
    ward_token token;
    float logprob;
    int n_top;
    ward_token top[SRV_MAX_TOP_LOGPROBS];
    float top_logprob[SRV_MAX_TOP_LOGPROBS];
    size_t text_end; /* the job's text length once this token's text was in */
} srv_logprob;

/* Wakes whoever follows several jobs (a request with n choices) when any of them changes. */
typedef struct srv_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long changes;
} srv_waiter;
void srv_waiter_init(srv_waiter *w);
void srv_waiter_destroy(srv_waiter *w);
/* Waits up to timeout_ms for the change count to differ from seen; returns the count. */
unsigned long srv_waiter_wait(srv_waiter *w, unsigned long seen, int timeout_ms);
unsigned long srv_waiter_changes(srv_waiter *w);

typedef struct srv_job srv_job;

typedef enum srv_submit_status {
    SRV_SUBMITTED,
    SRV_QUEUE_FULL, /* every slot busy and max_queue jobs waiting: try again later */
    SRV_INVALID,    /* bad settings (message in err) */
    SRV_NO_MEMORY,
} srv_submit_status;

/* Queues n generations of prompt (n_prompt tokens, copied; 1 <= n_prompt < n_ctx), job i with
 * settings ps[i], all in one go (so choices of one request are admitted together and share the
 * prompt through the prefix cache), or none of them. waiter (may be NULL) is told of every
 * change of the jobs until they are released. Takes every ps[i].schema whatever happens. */
srv_submit_status srv_submit(srv_model *m, const ward_token *prompt, int32_t n_prompt,
                             const srv_gen_params *ps, int n, srv_waiter *waiter,
                             srv_job **out, ward_error *err);

typedef struct srv_progress {
    char *text;  /* the job's text from `from` on (malloc'ed, NUL-terminated; caller frees) */
    size_t len;
    srv_logprob *logprobs; /* entries from `from_lp` on whose text is visible (malloc'ed) */
    int n_logprobs;
    srv_finish finish;
    int32_t n_prompt_tokens, n_cached_tokens, n_completion_tokens;
    char error[128];
} srv_progress;

/* The job's state now: its text from `from` bytes on (whole UTF-8 characters, with any possible
 * start of a stop string held back until it is decided), log-probability entries from `from_lp`
 * on, and whether it ended. To wait for changes, use the waiter given to srv_submit. */
void srv_job_next(srv_job *j, size_t from, int from_lp, srv_progress *out);
void srv_progress_free(srv_progress *p);
/* The HTTP side is done with the job: cancels it if still running, drops the reference. */
void srv_job_release(srv_job *j);

#endif
