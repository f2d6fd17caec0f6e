/* http.c: the HTTP side of `ward serve` (see server.h): routing, limits, authentication, and
 * the generation endpoints' responses, whole or streamed as server-sent events.
 *
 * Stopping behind a proxy (srv_quiesce): the listening socket is shut down, so new connections
 * are refused and a proxy passes them to another replica; every connection with no request
 * under way gets a FIN at once (and every one whose request ends while stopping), so a proxy's
 * keep-alive pool drops it instead of sending it a request that could only be refused; every
 * answer sent while stopping says "Connection: close". A request is under way (and counted in
 * srv_in_flight) from its headers' arrival until its answer has been handed to the socket.
 */
#include <microhttpd.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "privacy/deid.h"
#include "server/api.h"
#include "server/server.h"
#include "server/toolcall.h"

#define MAX_KEYS 256
#define MAX_PROXIES 16

/* A bearer key and its optional request-rate quota (a token bucket refilled at per_minute / 60
 * per second, holding at most per_minute). */
typedef struct api_key {
    char *secret;
    double per_minute; /* 0: no quota */
    double bucket, last;
} api_key;

/* An open connection (MHD's socket context), listed so that srv_quiesce can close it. */
typedef struct srv_conn {
    int fd;
    bool busy; /* a request is under way on it */
    struct srv_conn *prev, *next;
} srv_conn;

/* A request's state (MHD's request context): made when its headers have arrived, freed when
 * its answer has been sent. */
typedef struct req_state {
    const char *method, *url;       /* MHD's, valid until the request completes */
    char client[INET6_ADDRSTRLEN]; /* the client's address, as srv_request.client_ip */
    bool tls;                      /* as srv_request.tls */
    char *data;                    /* (len) the body so far, NUL-terminated; NULL: none */
    size_t len, cap;
    bool too_big;
} req_state;

struct srv_server {
    srv_config cfg;
    struct MHD_Daemon *daemon;
    int listen_fd; /* the listening socket once quiesced (closed by srv_stop), else -1 */
    srv_model **models;
    int n_models;
    atomic_bool ready, stopping;
    api_key keys[MAX_KEYS];
    int n_keys;
    struct in_addr proxies[MAX_PROXIES]; /* (n_proxies) trusted reverse proxies */
    int n_proxies;
    atomic_int in_flight;
    atomic_ullong n_requests, n_errors[3]; /* errors by class: 4xx except 429, 429, 5xx */
    atomic_ullong id_counter;
    pthread_mutex_t mu; /* guards the log lines, the keys' quota buckets and the connections */
    srv_conn *conns;
    deid_config deid; /* --log-content: what is logged is de-identified first */
};

enum { ERR_4XX, ERR_429, ERR_5XX };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One line per request on stderr; never the request's text unless log_content. */
static void log_line(srv_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(srv_server *s, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    pthread_mutex_lock(&s->mu);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02dZ %s\n", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, line);
    pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------------------------------------
 * Plain responses
 * ------------------------------------------------------------------------------------------- */

/* Request or answer text for the log (--log-content only): de-identified first, as everything
 * that leaves the clinical record is (privacy/deid.h). */
static void log_text(srv_server *s, const char *label, const char *text) {
    char *clean = NULL;
    deid_error e = {0};
    if (deid_redact(&s->deid, text, strlen(text), &clean, &e) == DEID_OK)
        log_line(s, "%s: %s", label, clean);
    else
        log_line(s, "%s: (not logged: %s)", label, e.msg);
    free(clean);
}

static void count_status(srv_server *s, int status) {
    if (status == 429) atomic_fetch_add(&s->n_errors[ERR_429], 1);
    else if (status >= 500) atomic_fetch_add(&s->n_errors[ERR_5XX], 1);
    else if (status >= 400) atomic_fetch_add(&s->n_errors[ERR_4XX], 1);
}

/* Cross-origin access, only for the origin configured (none by default). */
static void add_cors(const srv_server *s, struct MHD_Response *r) {
    if (!s->cfg.cors_origin) return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", s->cfg.cors_origin);
    MHD_add_response_header(r, "Vary", "Origin");
}

/* For streamed answers: nginx (and proxies that honour it) must pass each event on as it comes,
 * whatever their own buffering settings. */
static void no_proxy_buffering(struct MHD_Response *r) {
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
}

/* Queues r and releases it. While stopping, the answer says "Connection: close": a client that
 * sent another request on this connection would only be refused. */
static enum MHD_Result queue(srv_server *s, struct MHD_Connection *c, int status,
                             struct MHD_Response *r) {
    if (atomic_load(&s->stopping)) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    const enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Sends body (freed) with status; a 429 says when to retry (retry_s, at least 1). */
static enum MHD_Result send_text_retry(srv_server *s, struct MHD_Connection *c, int status,
                                       char *body, const char *type, int retry_s) {
    if (!body) {
        status = 500;
        body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\","
                      "\"param\":null,\"code\":null}}");
        if (!body) return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
                                                             MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    add_cors(s, r);
    char retry[16];
    snprintf(retry, sizeof retry, "%d", retry_s > 1 ? retry_s : 1);
    if (status == 429) MHD_add_response_header(r, "Retry-After", retry);
    if (status == 401) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return queue(s, c, status, r);
}

static enum MHD_Result send_text(srv_server *s, struct MHD_Connection *c, int status,
                                 char *body, const char *type) {
    return send_text_retry(s, c, status, body, type, 1);
}

static enum MHD_Result send_error_retry(srv_server *s, struct MHD_Connection *c,
                                        const api_error *e, const req_state *q, int retry_s) {
    count_status(s, e->status);
    log_line(s, "%s %s %s %d %s", q->client, q->method, q->url, e->status, e->message);
    return send_text_retry(s, c, e->status, api_error_json(e), "application/json", retry_s);
}

static enum MHD_Result send_error(srv_server *s, struct MHD_Connection *c, const api_error *e,
                                  const req_state *q) {
    return send_error_retry(s, c, e, q, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Authentication: bearer keys, compared in constant time
 * ------------------------------------------------------------------------------------------- */

static bool same_secret(const char *a, const char *b) {
    const size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

/* The request's key (every key compared, so the time says nothing of which matched), or NULL;
 * *open when the server has no keys. */
static api_key *find_key(srv_server *s, struct MHD_Connection *c, bool *open) {
    *open = s->n_keys == 0;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (*open || !h || strncmp(h, "Bearer ", 7) != 0) return NULL;
    api_key *found = NULL;
    for (int i = 0; i < s->n_keys; i++)
        if (same_secret(h + 7, s->keys[i].secret)) found = &s->keys[i];
    return found;
}

/* Takes one request from the key's quota; false (and the seconds until one is back) when it
 * is used up. */
static bool within_quota(srv_server *s, api_key *k, int *retry_s) {
    if (!k || k->per_minute <= 0) return true;
    pthread_mutex_lock(&s->mu);
    const double now = now_s(), rate = k->per_minute / 60.0;
    k->bucket = k->bucket + (now - k->last) * rate;
    if (k->bucket > k->per_minute) k->bucket = k->per_minute;
    k->last = now;
    const bool ok = k->bucket >= 1.0;
    if (ok) k->bucket -= 1.0;
    *retry_s = ok ? 0 : (int)((1.0 - k->bucket) / rate) + 1;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static ward_status load_keys(srv_server *s, const char *path, ward_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        err->code = WARD_EIO;
        snprintf(err->msg, sizeof err->msg, "cannot read the API key file %s", path);
        return WARD_EIO;
    }
    char line[512];
    ward_status st = WARD_OK;
    for (int lineno = 1; st == WARD_OK && fgets(line, sizeof line, f); lineno++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#') continue;
        char *rate = strchr(line, ' ');
        double per_minute = 0;
        if (rate) {
            *rate++ = '\0';
            char *end;
            per_minute = strtod(rate, &end);
            if (end == rate || *end || !(per_minute > 0 && per_minute < 1e9)) {
                err->code = st = WARD_EINVAL;
                snprintf(err->msg, sizeof err->msg, "%s line %d: after the key, a request rate "
                         "per minute (a positive number) or nothing", path, lineno);
                break;
            }
        }
        api_key *k = &s->keys[s->n_keys];
        if (s->n_keys == MAX_KEYS || !(k->secret = strdup(line))) break;
        k->per_minute = k->bucket = per_minute;
        k->last = now_s();
        s->n_keys++;
    }
    fclose(f);
    if (st) return st;
    if (s->n_keys == 0) {
        err->code = WARD_EINVAL;
        snprintf(err->msg, sizeof err->msg, "the API key file %s holds no key", path);
        return WARD_EINVAL;
    }
    return WARD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * GET endpoints
 * ------------------------------------------------------------------------------------------- */

/* 200 only while the server takes requests: a health checker (or a proxy) keeps away from a
 * server that is loading or draining. */
static enum MHD_Result get_health(srv_server *s, struct MHD_Connection *c) {
    const char *status = atomic_load(&s->stopping) ? "stopping"
                         : atomic_load(&s->ready)  ? "ok"
                                                   : "loading";
    char body[32];
    snprintf(body, sizeof body, "{\"status\":\"%s\"}", status);
    return send_text(s, c, strcmp(status, "ok") == 0 ? 200 : 503, strdup(body), "application/json");
}

static enum MHD_Result get_models(srv_server *s, struct MHD_Connection *c) {
    cJSON *o = cJSON_CreateObject(), *data;
    cJSON_AddStringToObject(o, "object", "list");
    data = cJSON_AddArrayToObject(o, "data");
    for (int i = 0; atomic_load(&s->ready) && i < s->n_models; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", srv_model_name(s->models[i]));
        cJSON_AddStringToObject(m, "object", "model");
        cJSON_AddNumberToObject(m, "created", 0);
        cJSON_AddStringToObject(m, "owned_by", "ward");
        cJSON_AddItemToArray(data, m);
    }
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return send_text(s, c, 200, body, "application/json");
}

/* Prometheus text format, per model where it is per model. */
static enum MHD_Result get_metrics(srv_server *s, struct MHD_Connection *c) {
    size_t cap = 4096 + (size_t)s->n_models * 2048, len = 0;
    char *b = malloc(cap);
    if (!b) return send_text(s, c, 500, NULL, "");
#define OUT(...) len += (size_t)snprintf(b + len, cap - len, __VA_ARGS__)
    OUT("# HELP ward_requests_total HTTP requests received.\n# TYPE ward_requests_total counter\n");
    OUT("ward_requests_total %llu\n", (unsigned long long)atomic_load(&s->n_requests));
    OUT("# HELP ward_request_errors_total Requests answered with an error, by class.\n"
        "# TYPE ward_request_errors_total counter\n");
    static const char *classes[] = {"4xx", "429", "5xx"};
    for (int k = 0; k < 3; k++)
        OUT("ward_request_errors_total{class=\"%s\"} %llu\n", classes[k],
            (unsigned long long)atomic_load(&s->n_errors[k]));
    static const char *help[][3] = {
        {"ward_generation_requests_total", "counter", "Generations submitted."},
        {"ward_prompt_tokens_total", "counter", "Prompt tokens of admitted generations."},
        {"ward_prompt_cached_tokens_total", "counter", "Prompt tokens reused from a slot's cache."},
        {"ward_generated_tokens_total", "counter", "Tokens generated."},
        {"ward_busy_seconds_total", "counter", "Time spent in forward passes."},
        {"ward_time_to_first_token_seconds_sum", "counter", "Sum of times to the first token."},
        {"ward_time_to_first_token_seconds_count", "counter", "Generations that got a first token."},
        {"ward_slots", "gauge", "Sequences a model decodes together."},
        {"ward_slots_active", "gauge", "Slots generating now."},
        {"ward_queue_depth", "gauge", "Generations waiting for a slot."},
        {"ward_kv_positions_used", "gauge", "KV cache positions held (prefix cache included)."},
        {"ward_kv_positions_total", "gauge", "KV cache positions of all slots."},
    };
    for (size_t k = 0; k < sizeof help / sizeof help[0]; k++) {
        OUT("# HELP %s %s\n# TYPE %s %s\n", help[k][0], help[k][2], help[k][0], help[k][1]);
        for (int i = 0; atomic_load(&s->ready) && i < s->n_models; i++) {
            srv_model_stats st;
            srv_model_get_stats(s->models[i], &st);
            const double v[] = {(double)st.n_jobs, (double)st.n_prompt_tokens,
                                (double)st.n_cached_tokens, (double)st.n_gen_tokens, st.busy_s,
                                st.ttft_sum_s, (double)st.ttft_count, st.n_slots, st.n_active,
                                st.n_queued, (double)st.kv_used, (double)st.kv_total};
            OUT("%s{model=\"%s\"} %.17g\n", help[k][0], srv_model_name(s->models[i]), v[k]);
        }
    }
#undef OUT
    return send_text(s, c, 200, b, "text/plain; version=0.0.4");
}

/* ---------------------------------------------------------------------------------------------
 * Generation
 * ------------------------------------------------------------------------------------------- */

typedef struct gen_choice {
    srv_job *job;
    size_t from;    /* bytes of the job's text consumed */
    int from_lp;    /* log-probability entries consumed */
    char *text;     /* a whole response's text so far */
    size_t text_len;
    cJSON *lps;     /* a whole response's log-probability entries so far (when asked) */
    srv_finish finish;
    bool done;      /* its end was seen (and, streaming, its finish chunk sent) */
    int32_t n_completion;
    tc_parser tc;   /* the reply's tool calls, when the request has tools */
} gen_choice;

typedef struct gen_stream {
    srv_server *srv;
    srv_model *model;
    char model_name[128]; /* for the log line, which may come after the model closed */
    char client[INET6_ADDRSTRLEN]; /* for the log line, which comes after the request's end */
    api_request req;
    char id[48];
    long created;
    srv_waiter waiter; /* woken by any of the choices' jobs */
    int n_choices;
    gen_choice *choices;
    char *out; /* bytes to write next */
    size_t out_len, out_pos;
    enum { ST_FIRST, ST_RUNNING, ST_DONE } phase;
    api_usage usage;
    char error[128];
    double t0;
    double last_out; /* when bytes were last handed to the connection */
    const char *tool_names[API_MAX_TOOLS]; /* (n_tools) the request's tools */
    int n_tools;
} gen_stream;

static srv_model *find_model(srv_server *s, const char *name) {
    for (int i = 0; i < s->n_models; i++)
        if (strcmp(srv_model_name(s->models[i]), name) == 0) return s->models[i];
    return NULL;
}

static const cJSON *model_defaults(void *ctx, const char *name) {
    srv_model *m = find_model(ctx, name);
    return m ? srv_model_defaults(m) : NULL;
}

/* The prompt's tokens: the chat template's rendering of the messages, or the completion
 * prompt after BOS. */
static bool tokenize_prompt(srv_model *m, const api_request *r, ward_token **toks, int32_t *n,
                            api_error *e) {
    ward_text_span *spans = NULL, one = {r->prompt, r->prompt ? strlen(r->prompt) : 0, false};
    size_t n_spans = 1;
    if (r->chat) {
        if (!srv_model_template(m))
            return api_fail(e, 400, "invalid_request_error", NULL, "model", "model '%s' has no "
                            "chat template; use /v1/completions", r->model);
        const ward_chat_template *t = srv_model_template(m);
        ward_error err;
        if (r->tools && !ward_chat_tool_syntax_of(t))
            return api_fail(e, 400, "invalid_request_error", NULL, "tools", "model '%s' has no "
                            "tool calls: its chat template '%s' has none (chatml and glm4 "
                            "have)", r->model, ward_chat_template_name(t));
        if (ward_chat_render_tools(t, r->messages, r->n_messages, r->tools ? r->tools_json : NULL,
                                   true, &spans, &n_spans, &err))
            return api_fail(e, 400, "invalid_request_error", NULL, "messages",
                            "the messages cannot be rendered with the model's chat template: %s",
                            err.msg);
    }
    const ward_status st = srv_tokenize(m, r->chat ? spans : &one, n_spans,
                                        r->chat ? 0 : WARD_TOKENIZE_ADD_BOS, toks, n);
    if (r->chat) ward_chat_spans_free(spans);
    if (st)
        return api_fail(e, 500, "server_error", NULL, NULL, "tokenizing the prompt failed: %s",
                        ward_status_str(st));
    return true;
}

static void stream_free(void *cls) {
    gen_stream *g = cls;
    int32_t n_completion = 0;
    const char *finish = "cancelled";
    for (int i = 0; i < g->n_choices; i++) {
        gen_choice *c = &g->choices[i];
        srv_job_release(c->job);
        n_completion += c->n_completion;
        if (api_finish_reason(c->finish)) finish = api_finish_reason(c->finish);
        if (g->srv->cfg.log_content && c->text) log_text(g->srv, "completion", c->text);
        free(c->text);
        cJSON_Delete(c->lps);
        tc_free(&c->tc);
    }
    log_line(g->srv, "%s POST /v1/%s 200 model=%s n=%d prompt_tokens=%d completion_tokens=%d "
             "finish=%s %.3fs%s", g->client, g->req.chat ? "chat/completions" : "completions",
             g->model_name, g->n_choices, g->usage.prompt_tokens, n_completion, finish,
             now_s() - g->t0, g->phase != ST_DONE ? " (client went away)" : "");
    srv_waiter_destroy(&g->waiter);
    api_request_free(&g->req);
    free(g->choices);
    free(g->out);
    free(g);
}

/* Appends "data: JSON\n\n" (frees json) to the pending output. */
static bool emit_event(gen_stream *g, char *json) {
    if (!json) return false;
    const size_t n = strlen(json);
    char *out = realloc(g->out, g->out_len + n + 8);
    if (!out) {
        free(json);
        return false;
    }
    g->out = out;
    memcpy(g->out + g->out_len, "data: ", 6);
    memcpy(g->out + g->out_len + 6, json, n);
    memcpy(g->out + g->out_len + 6 + n, "\n\n", 2);
    g->out_len += n + 8;
    free(json);
    return true;
}

static bool emit_raw(gen_stream *g, const char *s) {
    const size_t n = strlen(s);
    char *out = realloc(g->out, g->out_len + n);
    if (!out) return false;
    g->out = out;
    memcpy(g->out + g->out_len, s, n);
    g->out_len += n;
    return true;
}

/* A token's bytes as a JSON string (invalid UTF-8 replaced by U+FFFD) and as "bytes". */
static void add_token(cJSON *o, const ward_model *m, ward_token tok, float logprob) {
    char bytes[256], text[768];
    size_t n = 0, t = 0;
    if (ward_token_to_bytes(m, tok, true, bytes, sizeof bytes, &n)) n = n > sizeof bytes ? 0 : n;
    for (size_t i = 0; i < n;) { /* copy whole UTF-8 sequences, else U+FFFD */
        const unsigned char c = (unsigned char)bytes[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) ok = ((unsigned char)bytes[i + k] >> 6) == 2;
        if (ok) {
            memcpy(text + t, bytes + i, len);
            t += len, i += len;
        } else {
            memcpy(text + t, "\xEF\xBF\xBD", 3);
            t += 3, i++;
        }
    }
    text[t] = '\0';
    cJSON_AddStringToObject(o, "token", text);
    cJSON_AddNumberToObject(o, "logprob", logprob);
    cJSON *arr = cJSON_AddArrayToObject(o, "bytes");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber((unsigned char)bytes[i]));
}

/* Log-probability entries in chat's form ({"token", "logprob", "bytes", "top_logprobs"}). */
static void chat_logprobs(cJSON *content, const ward_model *m, const srv_logprob *lps, int n) {
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        add_token(e, m, lps[i].token, lps[i].logprob);
        cJSON *top = cJSON_AddArrayToObject(e, "top_logprobs");
        for (int k = 0; k < lps[i].n_top; k++) {
            cJSON *t = cJSON_CreateObject();
            add_token(t, m, lps[i].top[k], lps[i].top_logprob[k]);
            cJSON_AddItemToArray(top, t);
        }
        cJSON_AddItemToArray(content, e);
    }
}

/* The "logprobs" object of new entries: chat {"content": [...], "refusal": null}; completions
 * the legacy {"tokens", "token_logprobs", "top_logprobs", "text_offset"} (offsets from
 * text_base). NULL when the request did not ask. */
static cJSON *logprobs_json(const gen_stream *g, const srv_logprob *lps, int n, size_t text_base) {
    if (g->req.gen.top_logprobs < 0) return NULL;
    const ward_model *m = srv_model_engine(g->model);
    cJSON *o = cJSON_CreateObject();
    if (g->req.chat) {
        chat_logprobs(cJSON_AddArrayToObject(o, "content"), m, lps, n);
        cJSON_AddNullToObject(o, "refusal");
        return o;
    }
    cJSON *toks = cJSON_AddArrayToObject(o, "tokens"), *lp = cJSON_AddArrayToObject(o, "token_logprobs");
    cJSON *top = cJSON_AddArrayToObject(o, "top_logprobs"), *off = cJSON_AddArrayToObject(o, "text_offset");
    size_t prev_end = text_base;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        add_token(e, m, lps[i].token, lps[i].logprob);
        cJSON_AddItemToArray(toks, cJSON_CreateString(cJSON_GetObjectItem(e, "token")->valuestring));
        cJSON_AddItemToArray(lp, cJSON_CreateNumber(lps[i].logprob));
        cJSON *alts = cJSON_CreateObject();
        for (int k = 0; k < lps[i].n_top; k++) {
            cJSON *t = cJSON_CreateObject();
            add_token(t, m, lps[i].top[k], lps[i].top_logprob[k]);
            cJSON_AddNumberToObject(alts, cJSON_GetObjectItem(t, "token")->valuestring,
                                    lps[i].top_logprob[k]);
            cJSON_Delete(t);
        }
        cJSON_AddItemToArray(top, alts);
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)prev_end));
        prev_end = lps[i].text_end;
        cJSON_Delete(e);
    }
    return o;
}

/* OpenAI's finish_reason: "tool_calls" when the reply called tools. */
static const char *choice_finish(const gen_choice *c, srv_finish f) {
    return f == SRV_FINISH_STOP && c->tc.n_calls > 0 ? "tool_calls" : api_finish_reason(f);
}

/* New text and entries of every choice (without waiting): appended to a whole response's
 * choices, or sent as chunks (with finish chunks); returns whether anything happened. */
static bool poll_choices(gen_stream *g, bool *ok) {
    bool any = false;
    const char *model = g->model_name;
    for (int i = 0; i < g->n_choices && *ok; i++) {
        gen_choice *c = &g->choices[i];
        if (c->done) continue;
        srv_progress p;
        srv_job_next(c->job, c->from, c->from_lp, &p);
        const bool fresh = p.len || p.n_logprobs || p.finish != SRV_RUNNING;
        cJSON *lps = logprobs_json(g, p.logprobs, p.n_logprobs, c->from);
        c->from += p.len;
        c->from_lp += p.n_logprobs;
        c->finish = p.finish;
        c->n_completion = p.n_completion_tokens;
        g->usage.prompt_tokens = p.n_prompt_tokens;
        if (i == 0) g->usage.cached_tokens = p.n_cached_tokens;
        if (p.finish == SRV_FINISH_ERROR) snprintf(g->error, sizeof g->error, "%s", p.error);
        if (g->req.stream && (p.len || p.n_logprobs || p.finish != SRV_RUNNING)) {
            tc_delta d = {0};
            if (g->n_tools)
                *ok = tc_feed(&c->tc, p.text, p.len, &d) &&
                      (p.finish == SRV_RUNNING || tc_finish(&c->tc, &d));
            const api_choice ch = {g->n_tools ? d.content : p.text, choice_finish(c, p.finish),
                                   lps, d.calls};
            const bool empty = !(ch.text && *ch.text) && !ch.tool_calls && !lps && !ch.finish;
            *ok = *ok && (p.finish == SRV_FINISH_ERROR || empty || /* e.g. call syntax held */
                          emit_event(g, api_chunk_json(&g->req, g->id, g->created, model, i,
                                                       false, &ch)));
            tc_delta_free(&d);
        } else if (!g->req.stream && p.len) {
            char *t = realloc(c->text, c->text_len + p.len + 1);
            if (t) memcpy(t + c->text_len, p.text, p.len + 1), c->text = t, c->text_len += p.len;
            *ok = t != NULL;
        }
        if (!g->req.stream && lps) {
            if (!c->lps) c->lps = cJSON_Duplicate(lps, true);
            else { /* the new entries join the earlier ones */
                const char *keys[] = {"content", "tokens", "token_logprobs", "top_logprobs",
                                      "text_offset"};
                for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                    cJSON *from = cJSON_GetObjectItem(lps, keys[k]), *to = cJSON_GetObjectItem(c->lps, keys[k]);
                    while (from && to && cJSON_GetArraySize(from) > 0)
                        cJSON_AddItemToArray(to, cJSON_DetachItemFromArray(from, 0));
                }
            }
        }
        cJSON_Delete(lps);
        c->done = p.finish != SRV_RUNNING;
        any |= fresh;
        srv_progress_free(&p);
    }
    return any;
}

static bool all_done(const gen_stream *g) {
    for (int i = 0; i < g->n_choices; i++)
        if (!g->choices[i].done) return false;
    return true;
}

/* The end of the response: the usage and [DONE] (streams), or the whole JSON; an error if a
 * choice failed. */
static bool finish_response(gen_stream *g) {
    g->phase = ST_DONE;
    g->usage.completion_tokens = 0;
    for (int i = 0; i < g->n_choices; i++) g->usage.completion_tokens += g->choices[i].n_completion;
    if (g->error[0]) {
        api_error e;
        api_fail(&e, 500, "server_error", NULL, NULL, "generation failed: %s", g->error);
        if (g->req.stream) return emit_event(g, api_error_json(&e)) && emit_raw(g, "data: [DONE]\n\n");
        char *json = api_error_json(&e);
        const bool ok = json && emit_raw(g, json);
        free(json);
        return ok;
    }
    if (g->req.stream)
        return (!g->req.include_usage ||
                emit_event(g, api_usage_chunk_json(&g->req, g->id, g->created, g->model_name,
                                                   &g->usage))) &&
               emit_raw(g, "data: [DONE]\n\n");
    api_choice *ch = calloc((size_t)g->n_choices, sizeof *ch);
    tc_delta *d = calloc((size_t)g->n_choices, sizeof *d);
    cJSON **calls = calloc((size_t)g->n_choices, sizeof *calls);
    bool ok = ch && d && calls;
    for (int i = 0; ok && i < g->n_choices; i++) {
        gen_choice *c = &g->choices[i];
        const char *text = c->text ? c->text : "";
        if (g->n_tools) { /* the whole reply through the parser: text and complete calls */
            ok = tc_feed(&c->tc, text, c->text_len, &d[i]) && tc_finish(&c->tc, &d[i]) &&
                 (!d[i].calls || tc_merge(&calls[i], d[i].calls));
            text = d[i].content ? d[i].content : "";
        }
        ch[i] = (api_choice){text, choice_finish(c, c->finish), c->lps, calls[i]};
    }
    char *json = ok ? api_response_json(&g->req, g->id, g->created, g->model_name, ch,
                                        g->n_choices, &g->usage)
                    : NULL;
    for (int i = 0; d && calls && i < g->n_choices; i++)
        tc_delta_free(&d[i]), cJSON_Delete(calls[i]);
    free(ch), free(d), free(calls);
    ok = json && emit_raw(g, json);
    free(json);
    return ok;
}

/* The next bytes of the response. Streams: the role chunks, then deltas as they come, finish
 * chunks, usage, [DONE]; an SSE comment when nothing came within the ping interval. Whole
 * responses: the JSON at the end, and until then a space every ping interval (JSON allows
 * leading whitespace), which keeps proxies patient and shows whether the client is still there. */
static bool produce(gen_stream *g) {
    if (g->phase == ST_FIRST && g->req.stream && g->req.chat) {
        g->phase = ST_RUNNING;
        bool ok = true;
        for (int i = 0; i < g->n_choices && ok; i++)
            ok = emit_event(g, api_chunk_json(&g->req, g->id, g->created, g->model_name, i, true,
                                              NULL));
        return ok;
    }
    g->phase = ST_RUNNING;
    /* a whole response writes nothing until it ends: a long one keeps the connection alive
     * even while tokens keep coming */
    if (!g->req.stream && now_s() - g->last_out >= g->srv->cfg.ping_s) return emit_raw(g, " ");
    const unsigned long seen = srv_waiter_changes(&g->waiter);
    bool ok = true;
    if (poll_choices(g, &ok) || !ok) return ok && (!all_done(g) || finish_response(g));
    if (all_done(g)) return finish_response(g);
    if (srv_waiter_wait(&g->waiter, seen, g->srv->cfg.ping_s * 1000) == seen)
        return emit_raw(g, g->req.stream ? ": ping\n\n" : " ");
    return true; /* something changed: the caller comes back for it */
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    gen_stream *g = cls;
    while (g->out_pos == g->out_len) {
        free(g->out);
        g->out = NULL;
        g->out_len = g->out_pos = 0;
        if (g->phase == ST_DONE) return MHD_CONTENT_READER_END_OF_STREAM;
        if (!produce(g)) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    const size_t n = g->out_len - g->out_pos < max ? g->out_len - g->out_pos : max;
    memcpy(buf, g->out + g->out_pos, n);
    g->out_pos += n;
    g->last_out = now_s();
    return (ssize_t)n;
}

/* Submits the request's n choices together (seeds seed, seed + 1, ...); fills e on refusal. */
static bool submit_choices(gen_stream *g, const ward_token *toks, api_error *e) {
    srv_gen_params ps[16];
    srv_job *jobs[16];
    for (int i = 0; i < g->n_choices; i++) {
        ps[i] = g->req.gen;
        ps[i].sampling.seed = g->req.gen.sampling.seed + (uint64_t)i;
        const ward_chat_tool_syntax *syn = ward_chat_tool_syntax_of(srv_model_template(g->model));
        if (!api_compile_format(&g->req, syn, &ps[i].schema, e)) { /* each job owns one */
            for (int k = 0; k < i; k++) jc_free(ps[k].schema);
            return false;
        }
    }
    ward_error err;
    switch (srv_submit(g->model, toks, g->usage.prompt_tokens, ps, g->n_choices, &g->waiter,
                       jobs, &err)) {
    case SRV_SUBMITTED:
        for (int i = 0; i < g->n_choices; i++) g->choices[i].job = jobs[i];
        return true;
    case SRV_QUEUE_FULL:
        return api_fail(e, 429, "rate_limit_error", "server_busy", NULL, "The server is busy: "
                        "every slot of '%s' is taken and its queue is full; retry shortly",
                        g->req.model);
    case SRV_INVALID:
        return api_fail(e, 400, "invalid_request_error", NULL, NULL, "%s", err.msg);
    case SRV_NO_MEMORY: break;
    }
    return api_fail(e, 500, "server_error", NULL, NULL, "out of memory");
}

static enum MHD_Result post_generate(srv_server *s, struct MHD_Connection *c,
                                     const req_state *q) {
    api_error e;
    const bool chat = strcmp(q->url, "/v1/chat/completions") == 0;
    const char *body = q->data ? q->data : "";
    gen_stream *g = calloc(1, sizeof *g);
    if (!g) return send_text(s, c, 500, NULL, "");
    g->srv = s;
    snprintf(g->client, sizeof g->client, "%s", q->client);
    g->t0 = g->last_out = now_s();
    srv_waiter_init(&g->waiter);
    ward_token *toks = NULL;
    int32_t n_prompt = 0;
    if (!api_parse_request(body, q->len, chat, model_defaults, s, &g->req, &e)) goto refused;
    if (!(g->model = find_model(s, g->req.model))) {
        api_fail(&e, 404, "invalid_request_error", "model_not_found", "model",
                 "The model '%s' does not exist", g->req.model);
        goto refused;
    }
    snprintf(g->model_name, sizeof g->model_name, "%s", srv_model_name(g->model));
    if (!tokenize_prompt(g->model, &g->req, &toks, &n_prompt, &e)) goto refused;
    const int32_t n_ctx = srv_model_n_ctx(g->model);
    if (n_prompt >= n_ctx) {
        api_fail(&e, 400, "invalid_request_error", "context_length_exceeded",
                 chat ? "messages" : "prompt", "This model's maximum context length is %d "
                 "tokens. However, your %s resulted in %d tokens.", n_ctx,
                 chat ? "messages" : "prompt", n_prompt);
        goto refused;
    }
    srv_gen_params *gp = &g->req.gen;
    int32_t room = n_ctx - n_prompt;
    if (s->cfg.max_tokens > 0 && s->cfg.max_tokens < room) room = s->cfg.max_tokens;
    if (gp->max_tokens == 0 || gp->max_tokens > room) gp->max_tokens = room;
    if (!g->req.seeded) gp->sampling.seed = (uint64_t)time(NULL) * 7919u ^ atomic_fetch_add(&s->id_counter, 1);
    g->usage.prompt_tokens = n_prompt;
    g->n_choices = g->req.n;
    if (!(g->choices = calloc((size_t)g->n_choices, sizeof *g->choices))) {
        api_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
        goto refused;
    }
    if (!submit_choices(g, toks, &e)) goto refused;
    free(toks);
    if (s->cfg.log_content) log_text(s, "prompt", chat ? "(messages)" : g->req.prompt);
    snprintf(g->id, sizeof g->id, "%s-%llx%llx", chat ? "chatcmpl" : "cmpl",
             (unsigned long long)time(NULL), (unsigned long long)atomic_fetch_add(&s->id_counter, 1));
    if (g->req.tools) {
        g->n_tools = api_tool_names(&g->req, g->tool_names);
        for (int i = 0; i < g->n_choices; i++) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "call_%s_%d_", g->id + 9, i); /* after "chatcmpl-" */
            tc_init(&g->choices[i].tc,
                    ward_chat_tool_syntax_of(srv_model_template(g->model)), g->tool_names,
                    g->n_tools, prefix);
        }
    }
    g->created = (long)time(NULL);
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                                                               read_stream, g, stream_free);
    if (!r) {
        stream_free(g);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            g->req.stream ? "text/event-stream" : "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (g->req.stream) no_proxy_buffering(r);
    add_cors(s, r);
    return queue(s, c, MHD_HTTP_OK, r);
refused:
    free(toks);
    for (int i = 0; g->choices && i < g->n_choices; i++) srv_job_release(g->choices[i].job);
    free(g->choices);
    srv_waiter_destroy(&g->waiter);
    api_request_free(&g->req);
    free(g);
    return send_error(s, c, &e, q);
}

/* ---------------------------------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------------------------------- */

/* A browser's CORS preflight, for the configured origin. */
static enum MHD_Result preflight(srv_server *s, struct MHD_Connection *c) {
    struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    add_cors(s, r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    return queue(s, c, 204, r);
}

static bool is_post_route(const char *url) {
    return strcmp(url, "/v1/chat/completions") == 0 || strcmp(url, "/v1/completions") == 0;
}

/* ---------------------------------------------------------------------------------------------
 * The mounted application
 * ------------------------------------------------------------------------------------------- */

const char *srv_request_arg(const srv_request *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *srv_request_header(const srv_request *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *srv_request_cookie(const srv_request *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

/* ---------------------------------------------------------------------------------------------
 * Where a request comes from: the peer, or the client behind a trusted proxy
 * ------------------------------------------------------------------------------------------- */

/* The address in p[0, n) (spaces and tabs around it allowed) in af's binary form, into bin. */
static bool parse_address(const char *p, size_t n, int af, void *bin) {
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    char text[INET6_ADDRSTRLEN];
    if (n == 0 || n >= sizeof text) return false;
    memcpy(text, p, n);
    text[n] = '\0';
    return inet_pton(af, text, bin) == 1;
}

/* The trusted proxies: list entries of one or several comma-separated IPv4 addresses. */
static ward_status parse_proxies(srv_server *s, const char *const *list, int n, ward_error *err) {
    for (int i = 0; i < n; i++) {
        for (const char *p = list[i];; p++) {
            const size_t len = strcspn(p, ",");
            if (s->n_proxies == MAX_PROXIES ||
                !parse_address(p, len, AF_INET, &s->proxies[s->n_proxies])) {
                err->code = WARD_EINVAL;
                if (s->n_proxies == MAX_PROXIES)
                    snprintf(err->msg, sizeof err->msg, "more than %d trusted proxies", MAX_PROXIES);
                else
                    snprintf(err->msg, sizeof err->msg, "trusted proxy '%.*s': not an IPv4 address",
                             (int)(len < 64 ? len : 64), p);
                return WARD_EINVAL;
            }
            s->n_proxies++;
            if (!p[len]) break;
            p += len;
        }
    }
    return WARD_OK;
}

/* The last entry of an X-Forwarded-For list, canonical, into out; false if it is not one IPv4 or
 * IPv6 address. The last: that is the one our proxy appended (the address it saw); everything
 * before it came from the client, which can write anything there. */
static bool last_forwarded(const char *xff, char *out, size_t cap) {
    if (!xff) return false;
    const char *last = strrchr(xff, ',') ? strrchr(xff, ',') + 1 : xff;
    const int af = strchr(last, ':') ? AF_INET6 : AF_INET;
    unsigned char bin[sizeof(struct in6_addr)];
    return parse_address(last, strlen(last), af, bin) && inet_ntop(af, bin, out, (socklen_t)cap);
}

/* The request's client address and scheme: the peer's; from a trusted proxy, what its
 * X-Forwarded-For and X-Forwarded-Proto say (from anyone else they are ignored: forgeable). */
static void request_origin(const srv_server *s, struct MHD_Connection *c, req_state *q) {
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    q->client[0] = '\0';
    q->tls = s->cfg.tls_cert != NULL;
    if (!i || !i->client_addr || i->client_addr->sa_family != AF_INET) return; /* listens on IPv4 */
    const struct in_addr peer = ((const struct sockaddr_in *)(const void *)i->client_addr)->sin_addr;
    inet_ntop(AF_INET, &peer, q->client, sizeof q->client);
    bool trusted = false;
    for (int k = 0; k < s->n_proxies; k++) trusted |= s->proxies[k].s_addr == peer.s_addr;
    if (!trusted) return;
    last_forwarded(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For"), q->client,
                   sizeof q->client);
    const char *proto = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-Proto");
    if (proto) q->tls = strcasecmp(proto, "https") == 0;
}

/* What every answer of the application carries: its pages run only their own scripts and
 * styles (no inline script, so injected markup cannot run), are never framed, and leak no
 * address through Referer. */
static void add_security_headers(struct MHD_Response *r, bool tls) {
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (tls) MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
}

/* An application's streamed reply (a malloc'ed copy of its srv_reply). */
static ssize_t read_app(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    srv_reply *a = cls;
    const long n = a->read(a->cls, buf, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void free_app(void *cls) {
    srv_reply *a = cls;
    if (a->done) a->done(a->cls);
    free(a);
}

static enum MHD_Result app_route(srv_server *s, struct MHD_Connection *c, const req_state *q) {
    const srv_request req = {q->method, q->url, q->data ? q->data : "", q->len, q->client, q->tls,
                             c};
    srv_reply out = {0};
    api_error e;
    if (q->too_big) {
        api_fail(&e, 413, "invalid_request_error", "request_too_large", NULL,
                 "The request body is larger than this server accepts (%zu bytes)",
                 s->cfg.max_body);
        return send_error(s, c, &e, q);
    }
    if (!s->cfg.app(s->cfg.app_ctx, &req, &out)) {
        api_fail(&e, 404, "invalid_request_error", "unknown_url", NULL, "Unknown request URL: "
                 "%s %s", q->method, q->url);
        return send_error(s, c, &e, q);
    }
    struct MHD_Response *r;
    if (out.read) {
        srv_reply *a = malloc(sizeof *a);
        if (!a) {
            if (out.done) out.done(out.cls);
            return MHD_NO;
        }
        *a = out;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_app, a, free_app);
        if (!r) free_app(a);
        else no_proxy_buffering(r);
    } else {
        r = MHD_create_response_from_buffer(out.len, out.body ? out.body : (char *)"",
                                            out.body ? MHD_RESPMEM_MUST_FREE
                                                     : MHD_RESPMEM_PERSISTENT);
        if (!r) free(out.body);
    }
    if (!r) {
        free(out.set_cookie);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, out.content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, out.cache ? out.cache : "no-store");
    add_security_headers(r, req.tls);
    if (out.set_cookie) MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, out.set_cookie);
    free(out.set_cookie);
    char retry[24];
    snprintf(retry, sizeof retry, "%d", out.retry_after);
    if (out.retry_after > 0) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    log_line(s, "%s %s %s %d", q->client, q->method, q->url, out.status);
    count_status(s, out.status);
    return queue(s, c, out.status, r);
}

static enum MHD_Result route(srv_server *s, struct MHD_Connection *c, const req_state *q) {
    const char *method = q->method, *url = q->url;
    api_error e;
    const bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/health") == 0 && get) return get_health(s, c);
    const bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/v1/models") == 0 ||
                       is_post_route(url);
    if (!known && s->cfg.app) return app_route(s, c, q); /* its own access rules */
    if (!known) {
        api_fail(&e, 404, "invalid_request_error", "unknown_url", NULL, "Unknown request URL: "
                 "%s %s", method, url);
        return send_error(s, c, &e, q);
    }
    if (strcmp(method, "OPTIONS") == 0 && s->cfg.cors_origin) return preflight(s, c);
    bool open;
    api_key *key = find_key(s, c, &open);
    if (!key && !open) {
        api_fail(&e, 401, "authentication_error", "invalid_api_key", NULL, "Incorrect or "
                 "missing API key (Authorization: Bearer KEY)");
        return send_error(s, c, &e, q);
    }
    int retry_s;
    if (!within_quota(s, key, &retry_s)) {
        api_fail(&e, 429, "rate_limit_error", "rate_limit_exceeded", NULL, "This key's request "
                 "quota (%g per minute) is used up; retry in %d s", key->per_minute, retry_s);
        return send_error_retry(s, c, &e, q, retry_s);
    }
    if (is_post_route(url) ? !post : !get) {
        api_fail(&e, 405, "invalid_request_error", "method_not_allowed", NULL, "%s is not "
                 "allowed on %s", method, url);
        return send_error(s, c, &e, q);
    }
    if (atomic_load(&s->stopping)) {
        api_fail(&e, 503, "server_error", "shutting_down", NULL, "The server is shutting down");
        return send_error(s, c, &e, q);
    }
    if (!atomic_load(&s->ready) && strcmp(url, "/metrics") != 0) {
        api_fail(&e, 503, "server_error", "loading", NULL, "The models are still loading");
        return send_error(s, c, &e, q);
    }
    if (strcmp(url, "/metrics") == 0) return get_metrics(s, c);
    if (strcmp(url, "/v1/models") == 0) return get_models(s, c);
    if (q->too_big) {
        api_fail(&e, 413, "invalid_request_error", "request_too_large", NULL,
                 "The request body is larger than this server accepts (%zu bytes)",
                 s->cfg.max_body);
        return send_error(s, c, &e, q);
    }
    return post_generate(s, c, q);
}

/* ---------------------------------------------------------------------------------------------
 * Connections: which are idle, so that stopping can close them
 * ------------------------------------------------------------------------------------------- */

/* MHD's connection notifications: lists the connection while it is open. MHD closes the
 * socket only after the CLOSED notification, so a listed fd is never a reused number. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    srv_server *s = cls;
    srv_conn *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!i || !(k = calloc(1, sizeof *k))) return; /* unlisted: closed by the idle timeout */
        k->fd = i->connect_fd;
        pthread_mutex_lock(&s->mu);
        if ((k->next = s->conns)) k->next->prev = k;
        s->conns = k;
        pthread_mutex_unlock(&s->mu);
        *socket_context = k;
    } else if (k) {
        pthread_mutex_lock(&s->mu);
        if (k->prev) k->prev->next = k->next;
        else s->conns = k->next;
        if (k->next) k->next->prev = k->prev;
        pthread_mutex_unlock(&s->mu);
        free(k);
        *socket_context = NULL;
    }
}

/* Marks c's connection busy (a request began) or idle (its answer was sent). Idle while
 * stopping: closed. A FIN, not a reset: the answer just sent still arrives whole. */
static void set_busy(srv_server *s, struct MHD_Connection *c, bool busy) {
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    srv_conn *k = i ? i->socket_context : NULL;
    if (!k) return;
    pthread_mutex_lock(&s->mu);
    k->busy = busy;
    if (!busy && atomic_load(&s->stopping)) shutdown(k->fd, SHUT_WR);
    pthread_mutex_unlock(&s->mu);
}

/* Closes the idle connections (a FIN: the client, often a proxy's keep-alive pool, sees it at
 * once). A request already on its way on one is lost, as with any idle close; the window is the
 * time its headers take to arrive. */
static void close_idle(srv_server *s) {
    pthread_mutex_lock(&s->mu);
    for (srv_conn *k = s->conns; k; k = k->next)
        if (!k->busy) shutdown(k->fd, SHUT_WR);
    pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------------------------------------
 * MHD's request callbacks
 * ------------------------------------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **state) {
    (void)version;
    srv_server *s = cls;
    req_state *q = *state;
    if (!q) { /* first call: headers only */
        if (!(q = calloc(1, sizeof *q))) return MHD_NO;
        q->method = method, q->url = url;
        request_origin(s, c, q);
        *state = q;
        atomic_fetch_add(&s->n_requests, 1);
        atomic_fetch_add(&s->in_flight, 1);
        set_busy(s, c, true);
        return MHD_YES;
    }
    if (*upload_size) {
        if (q->len + *upload_size > s->cfg.max_body) {
            q->too_big = true; /* read and dropped: the answer is 413 */
        } else {
            if (q->len + *upload_size + 1 > q->cap) {
                const size_t cap = (q->len + *upload_size + 1) * 2;
                char *d = realloc(q->data, cap < s->cfg.max_body + 1 ? cap : s->cfg.max_body + 1);
                if (!d) return MHD_NO;
                q->data = d;
                q->cap = cap < s->cfg.max_body + 1 ? cap : s->cfg.max_body + 1;
            }
            memcpy(q->data + q->len, upload_data, *upload_size);
            q->len += *upload_size;
            q->data[q->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return route(s, c, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode code) {
    (void)code;
    srv_server *s = cls;
    req_state *q = *state;
    if (!q) return;
    free(q->data);
    free(q);
    *state = NULL;
    set_busy(s, c, false);
    atomic_fetch_sub(&s->in_flight, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Start and stop
 * ------------------------------------------------------------------------------------------- */

ward_status srv_start(const srv_config *cfg, srv_server **out, ward_error *err) {
    *out = NULL;
    srv_server *s = calloc(1, sizeof *s);
    if (!s) {
        err->code = WARD_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return WARD_ENOMEM;
    }
    s->cfg = *cfg;
    s->listen_fd = -1;
    if (!s->cfg.host) s->cfg.host = "127.0.0.1";
    if (!s->cfg.max_body) s->cfg.max_body = 1 << 20;
    if (s->cfg.ping_s <= 0) s->cfg.ping_s = 10;
    if (s->cfg.max_connections <= 0) s->cfg.max_connections = 256;
    pthread_mutex_init(&s->mu, NULL);
    deid_config_init(&s->deid);
    uint16_t shift = 0; /* the log's dates move by one random number of days per run */
    if (getrandom(&shift, sizeof shift, 0) != (ssize_t)sizeof shift) shift = (uint16_t)time(NULL);
    s->deid.shift_days = 1 + shift % 365;
    ward_status st;
    if ((cfg->api_key_file && (st = load_keys(s, cfg->api_key_file, err))) ||
        (st = parse_proxies(s, cfg->trusted_proxies, cfg->n_trusted_proxies, err))) {
        srv_stop(s);
        return st;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(cfg->port)};
    if (inet_pton(AF_INET, s->cfg.host, &addr.sin_addr) != 1) {
        err->code = WARD_EINVAL;
        snprintf(err->msg, sizeof err->msg, "--host %s is not an IPv4 address", s->cfg.host);
        srv_stop(s);
        return WARD_EINVAL;
    }
    const bool tls = cfg->tls_cert && cfg->tls_key;
    if (!tls != !(cfg->tls_cert || cfg->tls_key)) {
        err->code = WARD_EINVAL;
        snprintf(err->msg, sizeof err->msg, "TLS needs both a certificate and its key");
        srv_stop(s);
        return WARD_EINVAL;
    }
    /* GnuTLS reads the PEM texts when the daemon starts; a bad pair fails MHD_start_daemon */
    struct MHD_OptionItem tls_opts[] = {
        {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cfg->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    s->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
            MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0),
        0,
        NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg.max_connections,
        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!s->daemon) {
        err->code = WARD_EIO;
        snprintf(err->msg, sizeof err->msg, tls ? "cannot listen on %s:%u with TLS (in use, "
                 "not allowed, or the certificate and key are not a valid PEM pair)"
                 : "cannot listen on %s:%u (in use, or not allowed)",
                 s->cfg.host, (unsigned)cfg->port);
        srv_stop(s);
        return WARD_EIO;
    }
    *out = s;
    return WARD_OK;
}

void srv_set_models(srv_server *s, srv_model *const *models, int n_models) {
    s->models = malloc(sizeof *s->models * (size_t)(n_models > 0 ? n_models : 1));
    if (s->models) {
        memcpy(s->models, models, sizeof *models * (size_t)n_models);
        s->n_models = n_models;
    }
    atomic_store(&s->ready, s->models != NULL);
}

uint16_t srv_port(const srv_server *s) {
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void srv_quiesce(srv_server *s) {
    atomic_store(&s->stopping, true); /* before close_idle: see set_busy */
    if (!s->daemon) return;
    /* MHD stops accepting but leaves the socket listening: the kernel would still complete
     * handshakes that nobody accepts, and those clients would hang. Shut down, it refuses them
     * (MHD's threads may still look at it until srv_stop, which closes it). */
    if (s->listen_fd < 0 && (s->listen_fd = MHD_quiesce_daemon(s->daemon)) >= 0)
        shutdown(s->listen_fd, SHUT_RDWR);
    close_idle(s);
}

int srv_in_flight(const srv_server *s) { return atomic_load(&s->in_flight); }

void srv_stop(srv_server *s) {
    if (!s) return;
    if (s->daemon) MHD_stop_daemon(s->daemon);
    if (s->listen_fd >= 0) close(s->listen_fd);
    for (int i = 0; i < s->n_keys; i++) free(s->keys[i].secret);
    free(s->models);
    deid_config_free(&s->deid);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
