/* cmd_serve.c: `ward serve`: load models, serve them over the OpenAI API until SIGTERM/SIGINT,
 * then stop accepting (and close idle connections), let requests in flight finish for up to
 * --drain-timeout, and exit 0. */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <limits.h>
#include <unistd.h>

#include "app/workbench.h"
#include <sodium.h>

#include "cli.h"
#include "server/server.h"

typedef struct serve_opts {
    cli_list models, trusted_proxies;
    const char *host, *api_key_file, *chat_template, *quant, *config, *cors_origin;
    int32_t port, parallel, n_ctx, n_batch, n_threads, queue, max_body_kib, max_tokens, kv_mib;
    int32_t drain_s, ping_s;
    bool log_content;
    const char *db, *prompts, *web, *columns; /* the workbench */
    bool no_workbench, cookie_secure;
    int32_t session_hours;
    const char *tls_cert, *tls_key;
    const char *instance;
} serve_opts;

/* The models to load: -m options, then a config file's "models" (see docs/serve.md). */
typedef struct model_spec {
    char name[128];
    const char *path, *chat_template, *quant;
    int32_t parallel, n_ctx, n_batch, n_threads, queue, kv_mib;
    const cJSON *defaults;
} model_spec;

static bool spec_int(const cJSON *o, const char *key, int32_t lo, int32_t hi, int32_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return true;
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
        v->valuedouble != (int32_t)v->valuedouble) {
        cli_fail("serve", "config: '%s' must be an integer in [%d, %d]", key, (int)lo, (int)hi);
        return false;
    }
    *out = (int32_t)v->valuedouble;
    return true;
}

static bool spec_str(const cJSON *o, const char *key, const char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsString(v)) {
        cli_fail("serve", "config: '%s' must be a string", key);
        return false;
    }
    *out = v->valuestring;
    return true;
}

/* A model's settings as the command line gives them for every model. */
static model_spec spec_from_options(const serve_opts *o) {
    return (model_spec){.chat_template = o->chat_template, .quant = o->quant,
                        .parallel = o->parallel, .n_ctx = o->n_ctx, .n_batch = o->n_batch,
                        .n_threads = o->n_threads, .queue = o->queue, .kv_mib = o->kv_mib};
}

/* One entry of the config's "models" array over the command line's settings. */
static bool config_model(const cJSON *e, const serve_opts *o, model_spec *m) {
    static const char *const keys[] = {"name", "path", "parallel", "ctx", "batch", "threads",
                                       "queue", "chat_template", "quant", "defaults",
                                       "kv_budget_mib"};
    const cJSON *k;
    cJSON_ArrayForEach(k, e) {
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) known |= strcmp(k->string, keys[i]) == 0;
        if (!known) return cli_fail("serve", "config: unknown model setting '%s'", k->string) == 0;
    }
    const char *name = NULL;
    *m = spec_from_options(o);
    if (!spec_str(e, "name", &name) || !spec_str(e, "path", &m->path) ||
        !spec_str(e, "chat_template", &m->chat_template) || !spec_str(e, "quant", &m->quant) ||
        !spec_int(e, "parallel", 1, 256, &m->parallel) || !spec_int(e, "ctx", 0, 1 << 20, &m->n_ctx) ||
        !spec_int(e, "batch", 0, 65536, &m->n_batch) || !spec_int(e, "threads", 0, 512, &m->n_threads) ||
        !spec_int(e, "queue", 0, 100000, &m->queue) ||
        !spec_int(e, "kv_budget_mib", 0, 1 << 24, &m->kv_mib))
        return false;
    if (!name || !m->path) return cli_fail("serve", "config: every model needs a 'name' and a 'path'") == 0;
    snprintf(m->name, sizeof m->name, "%s", name);
    m->defaults = cJSON_GetObjectItemCaseSensitive(e, "defaults");
    if (m->defaults && !cJSON_IsObject(m->defaults))
        return cli_fail("serve", "config: 'defaults' of '%s' must be an object of request fields", name) == 0;
    return true;
}

/* "NAME=PATH", or a path alone (named after its file, without .gguf or a trailing /). */
static void split_model(const char *spec, const serve_opts *o, model_spec *m) {
    *m = spec_from_options(o);
    const char *eq = strchr(spec, '=');
    if (eq && eq != spec) {
        snprintf(m->name, sizeof m->name, "%.*s", (int)(eq - spec), spec);
        m->path = eq + 1;
        return;
    }
    size_t n = strlen(spec);
    while (n > 1 && spec[n - 1] == '/') n--;
    const char *base = spec;
    for (size_t i = 0; i < n; i++)
        if (spec[i] == '/') base = spec + i + 1;
    n -= (size_t)(base - spec);
    if (n > 5 && strncmp(base + n - 5, ".gguf", 5) == 0) n -= 5;
    snprintf(m->name, sizeof m->name, "%.*s", (int)n, base);
    m->path = spec;
}

static int load_models(const model_spec *specs, int n, srv_turns *turns, srv_model **models) {
    for (int i = 0; i < n; i++) {
        const model_spec *sp = &specs[i];
        for (int k = 0; k < i; k++)
            if (strcmp(specs[k].name, sp->name) == 0)
                return cli_fail("serve", "two models are named '%s'", sp->name);
        const srv_model_config mc = {.name = sp->name, .path = sp->path, .n_parallel = sp->parallel,
                                     .n_ctx = sp->n_ctx, .n_batch = sp->n_batch,
                                     .n_threads = sp->n_threads, .max_queue = sp->queue,
                                     .chat_template = sp->chat_template, .quant = sp->quant,
                                     .turns = turns, .defaults = sp->defaults,
                                     .kv_budget_mib = sp->kv_mib};
        ward_error err;
        const double t0 = cli_now_s();
        if (srv_model_open(&mc, &models[i], &err))
            return cli_fail("serve", "model '%s' (%s): %s", sp->name, sp->path, err.msg);
        fprintf(stderr, "ward serve: model '%s' loaded from %s in %.1f s (%d slots of %d "
                "positions)\n", sp->name, sp->path, cli_now_s() - t0, sp->parallel ? sp->parallel : 4,
                srv_model_n_ctx(models[i]));
    }
    return 0;
}

/* The config's "trusted_proxies" (an array of addresses) after any --trusted-proxy. */
static bool config_proxies(const cJSON *root, cli_list *to) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "trusted_proxies"), *e;
    bool ok = !list || cJSON_IsArray(list);
    cJSON_ArrayForEach(e, list) ok &= cJSON_IsString(e);
    if (!ok) return cli_fail("serve", "config: 'trusted_proxies' must be an array of strings") == 0;
    cJSON_ArrayForEach(e, list) {
        if (to->n == CLI_LIST_MAX)
            return cli_fail("serve", "at most %d trusted proxy entries", CLI_LIST_MAX) == 0;
        to->v[to->n++] = e->valuestring;
    }
    return true;
}

/* Server settings and models of a config file (JSON; docs/serve.md). */
static int read_config(serve_opts *o, cJSON **root, model_spec *specs, int *n_specs) {
    FILE *f = fopen(o->config, "rb");
    if (!f) return cli_fail("serve", "cannot read the config file %s", o->config);
    static char text[1 << 20];
    const size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    if (!(*root = cJSON_Parse(text)) || !cJSON_IsObject(*root))
        return cli_fail("serve", "the config file %s is not a JSON object", o->config);
    static const char *const keys[] = {"host", "port", "api_key_file", "max_body_kib",
                                       "max_tokens", "log_content", "drain_timeout", "models",
                                       "cors_origin", "trusted_proxies"};
    const cJSON *k;
    cJSON_ArrayForEach(k, *root) {
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) known |= strcmp(k->string, keys[i]) == 0;
        if (!known) return cli_fail("serve", "config: unknown setting '%s'", k->string);
    }
    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(*root, "log_content");
    if (lc && !cJSON_IsBool(lc)) return cli_fail("serve", "config: 'log_content' must be a boolean");
    if (lc) o->log_content = cJSON_IsTrue(lc);
    if (!spec_str(*root, "host", &o->host) || !spec_str(*root, "api_key_file", &o->api_key_file) ||
        !spec_str(*root, "cors_origin", &o->cors_origin) ||
        !spec_int(*root, "port", 0, 65535, &o->port) ||
        !spec_int(*root, "max_body_kib", 1, 1 << 20, &o->max_body_kib) ||
        !spec_int(*root, "max_tokens", 0, 1 << 24, &o->max_tokens) ||
        !spec_int(*root, "drain_timeout", 0, 86400, &o->drain_s))
        return 2;
    if (!config_proxies(*root, &o->trusted_proxies)) return 2;
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(*root, "models"), *e;
    if (models && !cJSON_IsArray(models)) return cli_fail("serve", "config: 'models' must be an array");
    cJSON_ArrayForEach(e, models) {
        if (*n_specs == CLI_LIST_MAX) return cli_fail("serve", "at most %d models", CLI_LIST_MAX);
        if (!cJSON_IsObject(e) || !config_model(e, o, &specs[(*n_specs)++])) return 2;
    }
    return 0;
}

/* A directory shipped with ward: rel beside the executable's directory (an installed prefix:
 * bin/../share/...), else in the source tree it was built from; NULL if neither has it. */
static const char *shipped_dir(const char *rel, char *buf, size_t cap) {
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = '\0';
        snprintf(buf, cap, "%s/../%s", exe, rel);
        if (access(buf, R_OK) == 0) return buf;
    }
    snprintf(buf, cap, "%s/%s", WARD_SOURCE_DIR, rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

/* This server's name among replicas sharing a database: --instance, else HOST:PORT. */
static const char *instance_name(const serve_opts *o, char *buf, size_t cap) {
    if (o->instance) return o->instance;
    char host[96] = "ward";
    gethostname(host, sizeof host - 1);
    snprintf(buf, cap, "%s:%d", host, (int)o->port);
    return buf;
}

/* The workbench, unless --no-workbench: its records, templates and web app. */
static int open_workbench(const serve_opts *o, workbench **wb) {
    char prompts[PATH_MAX + 64], web[PATH_MAX + 64], err[512], instance[160];
    *wb = NULL;
    if (o->no_workbench) return 0;
    const wb_config cfg = {
        .db_path = o->db ? o->db : "ward-workbench.db",
        .prompts_dir = o->prompts ? o->prompts
                                  : shipped_dir("share/workbench/prompts", prompts, sizeof prompts),
        .web_dir = o->web ? o->web : shipped_dir("web/dist", web, sizeof web),
        .columns = o->columns, .cookie_secure = o->cookie_secure || o->tls_cert,
        .session_ttl_s = o->session_hours * 3600, .instance = instance_name(o, instance,
                                                                            sizeof instance)};
    if (!cfg.prompts_dir)
        return cli_fail("serve", "workbench: the prompt templates were not found next to the "
                        "ward binary; give --prompts DIR (or --no-workbench)");
    if (!wb_open(&cfg, wb, err, sizeof err)) return cli_fail("serve", "workbench: %s", err);
    fprintf(stderr, "ward serve: workbench records in %s; templates from %s%s\n", cfg.db_path,
            cfg.prompts_dir, cfg.web_dir ? "" : "; no web app found (API only)");
    return 0;
}

static int serve(const serve_opts *o, const model_spec *specs, int n_specs) {
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread started below inherits it */
    signal(SIGPIPE, SIG_IGN);

    srv_config sc = {.host = o->host, .port = (uint16_t)o->port,
                           .api_key_file = o->api_key_file,
                           .max_body = (size_t)o->max_body_kib * 1024, .max_tokens = o->max_tokens,
                           .log_content = o->log_content, .ping_s = o->ping_s,
                           .cors_origin = o->cors_origin,
                           .trusted_proxies = o->trusted_proxies.v,
                           .n_trusted_proxies = o->trusted_proxies.n};
    char *cert = NULL, *key = NULL;
    if (!o->tls_cert != !o->tls_key)
        return cli_fail("serve", "--tls-cert and --tls-key go together");
    if (o->tls_cert && (!(cert = cli_read_file(o->tls_cert)) || !(key = cli_read_file(o->tls_key)))) {
        free(cert);
        return cli_fail("serve", "cannot read %s", cert ? o->tls_key : o->tls_cert);
    }
    sc.tls_cert = cert, sc.tls_key = key;
    workbench *wb = NULL;
    if (open_workbench(o, &wb)) {
        free(cert), free(key);
        return 1;
    }
    sc.app = wb ? wb_serve : NULL;
    sc.app_ctx = wb;
    srv_server *srv;
    ward_error err;
    const ward_status started = srv_start(&sc, &srv, &err);
    if (key) sodium_memzero(key, strlen(key)); /* GnuTLS holds its own copy now */
    free(cert), free(key);
    if (started) {
        wb_close(wb);
        return cli_fail("serve", "%s", err.msg);
    }
    printf("ward serve: listening on http%s://%s:%u\n", o->tls_cert ? "s" : "",
           o->host ? o->host : "127.0.0.1", (unsigned)srv_port(srv));
    fflush(stdout);
    if (o->log_content)
        fprintf(stderr, "ward serve: --log-content: prompts and completions (patient data) go "
                "to the log, de-identified\n");

    srv_model *models[CLI_LIST_MAX] = {0};
    srv_turns turns;
    srv_turns_init(&turns);
    int rc = load_models(specs, n_specs, &turns, models);
    char wb_err[256];
    if (rc == 0 && wb && !wb_set_models(wb, models, n_specs, wb_err, sizeof wb_err))
        rc = cli_fail("serve", "%s", wb_err);
    if (rc == 0) {
        srv_set_models(srv, models, n_specs);
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
    for (int i = 0; i < n_specs; i++) srv_model_stop(models[i]); /* ends what still runs */
    srv_stop(srv);
    wb_close(wb); /* after its generations, ended above, are recorded */
    for (int i = 0; i < n_specs; i++) srv_model_close(models[i]);
    srv_turns_destroy(&turns);
    if (rc == 0) fprintf(stderr, "ward serve: stopped\n");
    return rc;
}

int cmd_serve(int argc, char **argv) {
    serve_opts o = {.port = 8080, .max_body_kib = 1024, .drain_s = 30, .ping_s = 10,
                    .session_hours = 8};
    const cli_opt opts[] = {
        {"model", 'm', CLI_LIST, &o.models, "NAME=PATH", "a GGUF file or HuggingFace directory to serve as NAME (repeatable; PATH alone: named after it)", 0, 0},
        {"host", 0, CLI_STR, &o.host, "ADDR", "IPv4 address to listen on (default 127.0.0.1: this machine only)", 0, 0},
        {"port", 0, CLI_INT, &o.port, "N", "TCP port (default 8080; 0 = any free port, printed at start)", 0, 65535},
        {"parallel", 0, CLI_INT, &o.parallel, "N", "sequences each model decodes together (default 4)", 1, 256},
        {"ctx", 'c', CLI_INT, &o.n_ctx, "N", "positions per sequence (default: the model's, at most 4096)", 0, 1 << 20},
        {"batch", 'b', CLI_INT, &o.n_batch, "N", "tokens per forward pass; long prompts go in chunks of it (default 256)", 0, 65536},
        {"threads", 't', CLI_INT, &o.n_threads, "N", "threads per model (default: all cores)", 0, 512},
        {"kv-budget", 0, CLI_INT, &o.kv_mib, "MIB", "each model's slots must fit their KV cache in MIB; without --ctx, positions per slot are chosen to fit", 0, 1 << 24},
        {"queue", 0, CLI_INT, &o.queue, "N", "requests waiting for a slot before the server answers 429 (default 64)", 0, 100000},
        {"chat-template", 0, CLI_STR, &o.chat_template, "NAME", "chat template for every model (default: each model's own)", 0, 0},
        {"quant", 0, CLI_STR, &o.quant, "TYPE", "HuggingFace directories: convert the weights to TYPE while loading (q8_0, q4_0, ...)", 0, 0},
        {"config", 0, CLI_STR, &o.config, "FILE", "a JSON config file: server settings and models with their own settings and default request fields (docs/serve.md)", 0, 0},
        {"api-key-file", 0, CLI_STR, &o.api_key_file, "FILE", "require 'Authorization: Bearer KEY' with a key from FILE (one per line, # comments; 'KEY N' limits it to N requests a minute)", 0, 0},
        {"trusted-proxy", 0, CLI_LIST, &o.trusted_proxies, "ADDR", "a reverse proxy (IPv4; repeatable or comma-separated) whose X-Forwarded-For and X-Forwarded-Proto say who the client is and whether it used HTTPS (default: none; from others they are ignored)", 0, 0},
        {"cors-origin", 0, CLI_STR, &o.cors_origin, "ORIGIN", "allow browsers on ORIGIN (e.g. https://emr.hospital.local) to call the API (default: no cross-origin access)", 0, 0},
        {"max-body", 0, CLI_INT, &o.max_body_kib, "KIB", "largest request body in KiB (default 1024); larger: 413", 1, 1 << 20},
        {"max-tokens", 0, CLI_INT, &o.max_tokens, "N", "cap on a request's max_tokens (default: the context)", 0, 1 << 24},
        {"log-content", 0, CLI_FLAG, &o.log_content, NULL, "also log prompts and completions, de-identified (ward deid) since they are patient data; off by default", 0, 0},
        {"drain-timeout", 0, CLI_INT, &o.drain_s, "S", "on SIGTERM, seconds requests in flight may take to finish (default 30)", 0, 86400},
        {"ping", 0, CLI_INT, &o.ping_s, "S", "seconds between keep-alives while a response waits (default 10)", 1, 3600},
        {"db", 0, CLI_STR, &o.db, "FILE|URI", "workbench: its records (cases, answers, feedback, accounts, the audit trail): an SQLite file (default ward-workbench.db here) or postgresql://user@host/db, which several replicas may share", 0, 0},
        {"prompts", 0, CLI_STR, &o.prompts, "DIR", "workbench: the prompt templates (default: share/workbench/prompts shipped with ward)", 0, 0},
        {"web", 0, CLI_STR, &o.web, "DIR", "workbench: the built web app (default: web/dist shipped with ward)", 0, 0},
        {"columns", 0, CLI_STR, &o.columns, "NAMES", "workbench: the differential's models, comma-separated (default: the first three served)", 0, 0},
        {"no-workbench", 0, CLI_FLAG, &o.no_workbench, NULL, "serve the OpenAI API only: no clinical workbench at / and /api/", 0, 0},
        {"session-hours", 0, CLI_INT, &o.session_hours, "H", "workbench: how long a sign-in lasts (default 8)", 1, 24 * 30},
        {"cookie-secure", 0, CLI_FLAG, &o.cookie_secure, NULL, "workbench: send the session cookie over HTTPS only (on with --tls-cert; use it behind a TLS proxy)", 0, 0},
        {"instance", 0, CLI_STR, &o.instance, "NAME", "workbench: this server's name among replicas sharing one database; at start it marks only its own unfinished generations interrupted (default HOST:PORT)", 0, 0},
        {"tls-cert", 0, CLI_STR, &o.tls_cert, "FILE", "serve HTTPS with this PEM certificate (chain); needs --tls-key", 0, 0},
        {"tls-key", 0, CLI_STR, &o.tls_key, "FILE", "the certificate's PEM private key", 0, 0},
    };
    const cli_cmd cmd = {
        "serve", "(-m NAME=PATH [-m NAME=PATH ...] | --config FILE) [options]",
        "Serve models over an OpenAI-compatible HTTP API: GET /v1/models, POST "
        "/v1/chat/completions, POST /v1/completions (streaming or not), GET /health, GET /metrics; "
        "and the clinical workbench: its web app at / and its JSON API under /api/.",
        "Nothing leaves the machine: the server binds 127.0.0.1 unless --host says otherwise,\n"
        "and logs carry no prompt or completion text unless --log-content. docs/serve.md has\n"
        "curl examples; docs/workbench.md describes the workbench and its API.\n",
        opts, (int)(sizeof opts / sizeof opts[0]), 0};
    const char *pos[1];
    int n_pos, rc = cli_parse(&cmd, argc, argv, pos, &n_pos);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    static model_spec specs[2 * CLI_LIST_MAX];
    int n_specs = 0;
    cJSON *config = NULL;
    if (o.config && (rc = read_config(&o, &config, specs, &n_specs))) {
        cJSON_Delete(config);
        return rc == 2 ? 2 : 1;
    }
    for (int i = 0; i < o.models.n; i++) split_model(o.models.v[i], &o, &specs[n_specs++]);
    if (n_specs == 0) {
        cli_fail("serve", "no model given (-m NAME=PATH or --config FILE); see ward serve --help");
        cJSON_Delete(config);
        return 2;
    }
    rc = serve(&o, specs, n_specs);
    cJSON_Delete(config);
    return rc;
}
