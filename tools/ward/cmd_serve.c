/* cmd_serve.c: `ward serve`: load models, serve them over the OpenAI API until SIGTERM/SIGINT,
 * then stop accepting, let requests in flight finish for up to --drain-timeout, and exit 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "server/server.h"

typedef struct serve_opts {
    cli_list models;
    const char *host, *api_key_file, *chat_template;
    int32_t port, parallel, n_ctx, n_batch, n_threads, queue, max_body_kib, max_tokens;
    int32_t drain_s, ping_s;
    bool log_content;
} serve_opts;

/* "NAME=PATH", or a path alone (named after its file, without .gguf). */
static void split_model(const char *spec, char *name, size_t cap, const char **path) {
    const char *eq = strchr(spec, '=');
    if (eq && eq != spec) {
        snprintf(name, cap, "%.*s", (int)(eq - spec), spec);
        *path = eq + 1;
        return;
    }
    const char *base = strrchr(spec, '/');
    base = base ? base + 1 : spec;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".gguf") == 0) n -= 5;
    snprintf(name, cap, "%.*s", (int)n, base);
    *path = spec;
}

static int load_models(const serve_opts *o, srv_model **models) {
    for (int i = 0; i < o->models.n; i++) {
        char name[128];
        const char *path;
        split_model(o->models.v[i], name, sizeof name, &path);
        for (int k = 0; k < i; k++)
            if (strcmp(srv_model_name(models[k]), name) == 0)
                return cli_fail("serve", "two models are named '%s'", name);
        const srv_model_config mc = {.name = name, .path = path, .n_parallel = o->parallel,
                                     .n_ctx = o->n_ctx, .n_batch = o->n_batch,
                                     .n_threads = o->n_threads, .max_queue = o->queue,
                                     .chat_template = o->chat_template};
        ward_error err;
        const double t0 = cli_now_s();
        if (srv_model_open(&mc, &models[i], &err))
            return cli_fail("serve", "model '%s' (%s): %s", name, path, err.msg);
        fprintf(stderr, "ward serve: model '%s' loaded from %s in %.1f s (%d slots of %d "
                "positions)\n", name, path, cli_now_s() - t0, o->parallel ? o->parallel : 4,
                srv_model_n_ctx(models[i]));
    }
    return 0;
}

static int serve(const serve_opts *o) {
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread started below inherits it */
    signal(SIGPIPE, SIG_IGN);

    const srv_config sc = {.host = o->host, .port = (uint16_t)o->port,
                           .api_key_file = o->api_key_file,
                           .max_body = (size_t)o->max_body_kib * 1024, .max_tokens = o->max_tokens,
                           .log_content = o->log_content, .ping_s = o->ping_s};
    srv_server *srv;
    ward_error err;
    if (srv_start(&sc, &srv, &err)) return cli_fail("serve", "%s", err.msg);
    printf("ward serve: listening on http://%s:%u\n", o->host ? o->host : "127.0.0.1",
           (unsigned)srv_port(srv));
    fflush(stdout);
    if (o->log_content)
        fprintf(stderr, "ward serve: --log-content: prompts and completions (patient data) go "
                "to the log\n");

    srv_model *models[CLI_LIST_MAX] = {0};
    int rc = load_models(o, models);
    if (rc == 0) {
        srv_set_models(srv, models, o->models.n);
        fprintf(stderr, "ward serve: ready\n");
        int sig = 0;
        sigwait(&sigs, &sig);
        fprintf(stderr, "ward serve: %s: no new connections; draining for up to %d s\n",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", (int)o->drain_s);
        srv_quiesce(srv);
        const double until = cli_now_s() + o->drain_s;
        while (srv_in_flight(srv) > 0 && cli_now_s() < until) {
            const struct timespec tick = {0, 50 * 1000 * 1000};
            nanosleep(&tick, NULL);
        }
        if (srv_in_flight(srv) > 0)
            fprintf(stderr, "ward serve: %d requests cut at the drain timeout\n",
                    srv_in_flight(srv));
    }
    for (int i = 0; i < o->models.n; i++) srv_model_stop(models[i]); /* ends what still runs */
    srv_stop(srv);
    for (int i = 0; i < o->models.n; i++) srv_model_close(models[i]);
    if (rc == 0) fprintf(stderr, "ward serve: stopped\n");
    return rc;
}

int cmd_serve(int argc, char **argv) {
    serve_opts o = {.port = 8080, .max_body_kib = 1024, .drain_s = 30, .ping_s = 10};
    const cli_opt opts[] = {
        {"model", 'm', CLI_LIST, &o.models, "NAME=PATH", "a GGUF model to serve as NAME (repeatable; PATH alone: named after the file)", 0, 0},
        {"host", 0, CLI_STR, &o.host, "ADDR", "IPv4 address to listen on (default 127.0.0.1: this machine only)", 0, 0},
        {"port", 0, CLI_INT, &o.port, "N", "TCP port (default 8080; 0 = any free port, printed at start)", 0, 65535},
        {"parallel", 0, CLI_INT, &o.parallel, "N", "sequences each model decodes together (default 4)", 1, 256},
        {"ctx", 'c', CLI_INT, &o.n_ctx, "N", "positions per sequence (default: the model's, at most 4096)", 0, 1 << 20},
        {"batch", 'b', CLI_INT, &o.n_batch, "N", "tokens per forward pass; long prompts go in chunks of it (default 256)", 0, 65536},
        {"threads", 't', CLI_INT, &o.n_threads, "N", "threads per model (default: all cores)", 0, 512},
        {"queue", 0, CLI_INT, &o.queue, "N", "requests waiting for a slot before the server answers 429 (default 64)", 0, 100000},
        {"chat-template", 0, CLI_STR, &o.chat_template, "NAME", "chat template for every model (default: each model's own)", 0, 0},
        {"api-key-file", 0, CLI_STR, &o.api_key_file, "FILE", "require 'Authorization: Bearer KEY' with a key from FILE (one per line, # comments)", 0, 0},
        {"max-body", 0, CLI_INT, &o.max_body_kib, "KIB", "largest request body in KiB (default 1024); larger: 413", 1, 1 << 20},
        {"max-tokens", 0, CLI_INT, &o.max_tokens, "N", "cap on a request's max_tokens (default: the context)", 0, 1 << 24},
        {"log-content", 0, CLI_FLAG, &o.log_content, NULL, "also log prompts and completions (they are patient data: off by default)", 0, 0},
        {"drain-timeout", 0, CLI_INT, &o.drain_s, "S", "on SIGTERM, seconds requests in flight may take to finish (default 30)", 0, 86400},
        {"ping", 0, CLI_INT, &o.ping_s, "S", "seconds between keep-alives while a response waits (default 10)", 1, 3600},
    };
    const cli_cmd cmd = {
        "serve", "-m NAME=PATH [-m NAME=PATH ...] [options]",
        "Serve models over an OpenAI-compatible HTTP API: GET /v1/models, POST "
        "/v1/chat/completions, POST /v1/completions (streaming or not), GET /health, GET /metrics.",
        "Nothing leaves the machine: the server binds 127.0.0.1 unless --host says otherwise,\n"
        "and logs carry no prompt or completion text unless --log-content. docs/serve.md has\n"
        "curl examples.\n",
        opts, (int)(sizeof opts / sizeof opts[0]), 0};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    if (o.models.n == 0) {
        cli_fail("serve", "no model given (-m NAME=PATH); see ward serve --help");
        return 2;
    }
    return serve(&o);
}
