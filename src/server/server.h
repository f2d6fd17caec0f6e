/* server.h: `ward serve`: the OpenAI-compatible HTTP server (libmicrohttpd) over the served
 * models (sched.h).
 *
 * Endpoints: GET /health, GET /metrics, GET /v1/models, POST /v1/chat/completions,
 * POST /v1/completions. Each connection has a thread of its own (connections are few: clinical
 * applications and pipelines, not the public); a streamed response's thread waits on its job's
 * text and writes each piece as an SSE event, so a client that goes away is noticed at the next
 * write and its job cancelled. Logs carry the client's address, method, path, status, model,
 * token counts and times, never prompt or completion text unless log_content is set (it is
 * patient data).
 */
#ifndef WARD_SERVER_SERVER_H
#define WARD_SERVER_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "server/sched.h"

/* An application mounted on the server (the clinical workbench): it answers every URL the
 * server does not. It authenticates its own URLs (its accounts, sessions and keys): the
 * server's bearer keys guard only the OpenAI endpoints and /metrics. Every answer of the
 * application carries the security headers (a Content-Security-Policy that allows no inline
 * script, no framing, no sniffing, no referrer). */
typedef struct srv_request {
    const char *method, *url;
    const char *body;      /* (len) NUL-terminated; "" when there is none */
    size_t len;
    const char *client_ip; /* the client's address: the peer's, or behind a trusted proxy the
                            * last X-Forwarded-For entry ("" if unknown) */
    bool tls;              /* the client connected over HTTPS (behind a trusted proxy: its
                            * X-Forwarded-Proto, when it sends one) */
    void *conn;            /* for srv_request_arg and srv_request_header */
} srv_request;
/* A query-string argument of the request, or NULL. */
const char *srv_request_arg(const srv_request *r, const char *name);
/* A request header (name case-insensitive), or NULL. */
const char *srv_request_header(const srv_request *r, const char *name);
/* A cookie of the request, or NULL. */
const char *srv_request_cookie(const srv_request *r, const char *name);

/* The application's answer: a whole body, or a stream read until it ends. */
typedef struct srv_reply {
    int status;
    const char *content_type; /* static storage */
    const char *cache;        /* Cache-Control value, or NULL for "no-store" */
    char *body;               /* malloc'ed, freed by the server; NULL when streaming */
    size_t len;
    /* streaming: copies up to max bytes into buf and returns how many (waiting until there
     * are some), or -1 at the end; done(cls) frees cls once the response is over (also when
     * the client went away) */
    long (*read)(void *cls, char *buf, size_t max);
    void (*done)(void *cls);
    void *cls;
    char *set_cookie;         /* a Set-Cookie value (malloc'ed, freed by the server), or NULL */
    int retry_after;          /* seconds, sent as Retry-After when > 0 */
} srv_reply;
/* Fills out and returns true, or returns false if the URL is not the application's (404). */
typedef bool (*srv_app_fn)(void *ctx, const srv_request *req, srv_reply *out);

typedef struct srv_config {
    const char *host;        /* address to bind; default 127.0.0.1 */
    uint16_t port;           /* 0 = any free port (srv_port() tells which) */
    const char *api_key_file; /* NULL: no authentication; else one bearer key per line, with
                               * an optional request quota per minute after a space */
    size_t max_body;         /* bytes; larger requests get 413 */
    int32_t max_tokens;      /* cap on max_tokens per request (0 = the context) */
    bool log_content;        /* log prompts and completions (patient data!) */
    int ping_s;              /* seconds between SSE keep-alive comments while waiting */
    int32_t max_connections;
    const char *cors_origin; /* NULL: no cross-origin access (the default) */
    const char *tls_cert;    /* PEM text of the certificate chain and of its key: both or */
    const char *tls_key;     /* neither (NULL: plain HTTP) */
    /* (n_trusted_proxies) IPv4 addresses of reverse proxies, each entry one or several
     * comma-separated: only from these are X-Forwarded-For and -Proto believed */
    const char *const *trusted_proxies;
    int n_trusted_proxies;
    srv_app_fn app;          /* NULL: none */
    void *app_ctx;
} srv_config;

typedef struct srv_server srv_server;

/* Starts listening; /health answers 503 until srv_set_models() has been called, and again
 * from srv_quiesce() on. */
ward_status srv_start(const srv_config *cfg, srv_server **out, ward_error *err);
/* The models (loaded and owned by the caller, which closes them after srv_stop). */
void srv_set_models(srv_server *s, srv_model *const *models, int n_models);
uint16_t srv_port(const srv_server *s);
/* Stops accepting connections (new ones are refused) and closes the idle ones; requests in
 * flight continue, and every answer from now on closes its connection. */
void srv_quiesce(srv_server *s);
/* Requests in flight: their headers have arrived, their answers are not all sent. */
int srv_in_flight(const srv_server *s);
/* Stops the server (in-flight requests are cut) and frees it. */
void srv_stop(srv_server *s);

#endif
