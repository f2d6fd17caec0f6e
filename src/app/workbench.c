/* workbench.c: setting up the workbench and its JSON API (see workbench.h; the endpoints are
 * listed in docs/workbench.md and in routes[] below, one row each).
 *
 * Each handler parses its body (400 naming what is wrong), makes one store call (one
 * transaction) and answers with the record as the store returns it. Store errors map to HTTP:
 * invalid 400, not found 404, conflict 409, failure 500.
 */
#include "app/wb_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------------------------------- */

bool wb_json(srv_reply *out, int status, cJSON *body) {
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        text = strdup("{\"error\":{\"message\":\"out of memory\"}}");
        status = 500;
    }
    *out = (srv_reply){.status = status, .content_type = "application/json; charset=utf-8",
                       .body = text, .len = text ? strlen(text) : 0};
    return true;
}

bool wb_error(srv_reply *out, int status, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "error"), "message", msg);
    return wb_json(out, status, o);
}

bool wb_store_error(srv_reply *out, const store_error *e) {
    static const int http[] = {[STORE_OK] = 200, [STORE_INVALID] = 400, [STORE_NOT_FOUND] = 404,
                               [STORE_CONFLICT] = 409, [STORE_FAILED] = 500};
    return wb_error(out, http[e->status], "%s", e->msg);
}

/* A store call's record as the reply (200), or its error. */
static bool reply_record(srv_reply *out, store_status st, cJSON *record, const store_error *e) {
    return st == STORE_OK ? wb_json(out, 200, record) : wb_store_error(out, e);
}

static bool reply_id(srv_reply *out, store_status st, int64_t id, const store_error *e) {
    if (st != STORE_OK) return wb_store_error(out, e);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    return wb_json(out, 201, o);
}

/* ---------------------------------------------------------------------------------------------
 * Set-up
 * ------------------------------------------------------------------------------------------- */

bool wb_open(const wb_config *cfg, workbench **out, char *err, size_t cap) {
    *out = NULL;
    workbench *wb = calloc(1, sizeof *wb);
    if (!wb) return snprintf(err, cap, "out of memory"), false;
    pthread_mutex_init(&wb->mu, NULL);
    pthread_cond_init(&wb->cv, NULL);
    snprintf(wb->web_dir, sizeof wb->web_dir, "%s", cfg->web_dir ? cfg->web_dir : "");
    snprintf(wb->prompts_dir, sizeof wb->prompts_dir, "%s", cfg->prompts_dir);
    snprintf(wb->columns_spec, sizeof wb->columns_spec, "%s", cfg->columns ? cfg->columns : "");
    wb->cookie_secure = cfg->cookie_secure;
    if (cfg->instance) snprintf(wb->instance, sizeof wb->instance, "%s", cfg->instance);
    else if (gethostname(wb->instance, sizeof wb->instance - 1) != 0) snprintf(wb->instance, sizeof wb->instance, "ward");
    wb->session_ttl_s = cfg->session_ttl_s > 0 ? cfg->session_ttl_s : 8 * 3600;
    store_error e = {0};
    bool ok = prompt_load(cfg->prompts_dir, "differential", &wb->differential, err, cap) &&
              prompt_load(cfg->prompts_dir, "discharge", &wb->discharge, err, cap);
    if (ok && store_open(cfg->db_path, &wb->db, &e) != STORE_OK) {
        snprintf(err, cap, "workbench database: %s", e.msg);
        ok = false;
    }
    if (ok && store_abandon_running(wb->db, wb->instance) < 0) {
        snprintf(err, cap, "workbench database: cannot mark interrupted generations");
        ok = false;
    }
    if (!ok) {
        wb_close(wb);
        return false;
    }
    *out = wb;
    return true;
}

bool wb_set_models(workbench *wb, srv_model *const *models, int n_models, char *err,
                   size_t cap) {
    pthread_mutex_lock(&wb->mu);
    wb->n_models = n_models < WB_MAX_MODELS ? n_models : WB_MAX_MODELS;
    memcpy(wb->models, models, sizeof *models * (size_t)wb->n_models);
    wb->n_columns = 0;
    bool ok = true;
    if (!wb->columns_spec[0]) {
        for (int i = 0; i < wb->n_models && i < WB_MAX_COLUMNS; i++)
            wb->columns[wb->n_columns++] = wb->models[i];
    } else {
        char spec[512];
        snprintf(spec, sizeof spec, "%s", wb->columns_spec);
        char *save = NULL;
        for (char *name = strtok_r(spec, ",", &save); name && ok; name = strtok_r(NULL, ",", &save)) {
            srv_model *m = wb_model(wb, name);
            if (!m) {
                snprintf(err, cap, "workbench column '%s' is not a served model", name);
                ok = false;
            } else if (wb->n_columns == WB_MAX_COLUMNS) {
                snprintf(err, cap, "at most %d workbench columns", WB_MAX_COLUMNS);
                ok = false;
            } else {
                wb->columns[wb->n_columns++] = m;
            }
        }
    }
    pthread_mutex_unlock(&wb->mu);
    return ok;
}

void wb_close(workbench *wb) {
    if (!wb) return;
    wb_wait_idle(wb);
    store_close(wb->db);
    prompt_free(wb->differential);
    prompt_free(wb->discharge);
    pthread_mutex_destroy(&wb->mu);
    pthread_cond_destroy(&wb->cv);
    free(wb);
}

srv_model *wb_model(workbench *wb, const char *name) {
    for (int i = 0; i < wb->n_models; i++)
        if (strcmp(srv_model_name(wb->models[i]), name) == 0) return wb->models[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Handlers: each gets the ids parsed from the path and the parsed body (NULL if none)
 * ------------------------------------------------------------------------------------------- */

static const char *body_string(const call *c, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool get_info(call *c) {
    cJSON *o = cJSON_CreateObject(), *models = cJSON_AddArrayToObject(o, "models");
    cJSON *columns = cJSON_AddArrayToObject(o, "columns");
    pthread_mutex_lock(&c->wb->mu);
    for (int i = 0; i < c->wb->n_models; i++)
        cJSON_AddItemToArray(models, cJSON_CreateString(srv_model_name(c->wb->models[i])));
    for (int i = 0; i < c->wb->n_columns; i++)
        cJSON_AddItemToArray(columns, cJSON_CreateString(srv_model_name(c->wb->columns[i])));
    pthread_mutex_unlock(&c->wb->mu);
    const struct { const char *name; const store_section *s; int n; } lists[] = {
        {"case_sections", store_case_sections, store_n_case_sections},
        {"discharge_sections", store_discharge_sections, store_n_discharge_sections},
    };
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
        cJSON *arr = cJSON_AddArrayToObject(o, lists[k].name);
        for (int i = 0; i < lists[k].n; i++) {
            cJSON *sec = cJSON_CreateObject();
            cJSON_AddStringToObject(sec, "key", lists[k].s[i].key);
            cJSON_AddStringToObject(sec, "label", lists[k].s[i].label);
            cJSON_AddItemToArray(arr, sec);
        }
    }
    cJSON *t = cJSON_AddObjectToObject(o, "templates");
    cJSON_AddStringToObject(t, "differential", c->wb->differential->id);
    cJSON_AddStringToObject(t, "discharge", c->wb->discharge->id);
    return wb_json(c->out, 200, o);
}

static bool list_cases(call *c) {
    const char *q = srv_request_arg(c->req, "q"), *lim = srv_request_arg(c->req, "limit");
    const char *off = srv_request_arg(c->req, "offset");
    cJSON *list = NULL;
    store_error e = {0};
    const store_status st = store_case_list(c->wb->db, c->by, q, lim ? atoi(lim) : 50,
                                            off ? atoi(off) : 0, &list, &e);
    return reply_record(c->out, st, list, &e);
}

static bool create_case(call *c) {
    int64_t id = 0;
    store_error e = {0};
    const store_status st = store_case_create(c->wb->db, c->by, c->body, &id, &e);
    return reply_id(c->out, st, id, &e);
}

/* The case with its generations and discharge records. */
static bool get_case(call *c) {
    cJSON *rec = NULL, *gens = NULL, *records = NULL;
    store_error e = {0};
    store_status st = store_case_get(c->wb->db, c->by, c->id, &rec, &e);
    if (st == STORE_OK) st = store_generation_list(c->wb->db, c->id, &gens, &e);
    if (st == STORE_OK) st = store_discharge_list(c->wb->db, c->id, &records, &e);
    if (st == STORE_OK) {
        cJSON_AddItemToObject(rec, "generations", gens);
        cJSON_AddItemToObject(rec, "discharge_records", records);
        return wb_json(c->out, 200, rec);
    }
    cJSON_Delete(rec), cJSON_Delete(gens), cJSON_Delete(records);
    return wb_store_error(c->out, &e);
}

static bool update_case(call *c) {
    store_error e = {0};
    const store_status st = store_case_update(c->wb->db, c->by, c->id, c->body, &e);
    return st == STORE_OK ? get_case(c) : wb_store_error(c->out, &e);
}

static bool fill_back(call *c) {
    store_error e = {0};
    const store_status st = store_fill_back(c->wb->db, c->by, c->id, c->body, &e);
    return st == STORE_OK ? get_case(c) : wb_store_error(c->out, &e);
}

/* Starts the differential on the columns (or the models named in "models"). */
static bool run_differential(call *c) {
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(c->body, "models");
    srv_model *ms[WB_MAX_COLUMNS];
    int n = 0;
    pthread_mutex_lock(&c->wb->mu);
    if (cJSON_IsArray(names)) {
        const cJSON *v;
        cJSON_ArrayForEach(v, names) {
            srv_model *m = cJSON_IsString(v) ? wb_model(c->wb, v->valuestring) : NULL;
            if (!m || n == WB_MAX_COLUMNS) {
                pthread_mutex_unlock(&c->wb->mu);
                return wb_error(c->out, 400, "'models' must name 1 to %d served models",
                                WB_MAX_COLUMNS);
            }
            ms[n++] = m;
        }
    } else {
        for (; n < c->wb->n_columns; n++) ms[n] = c->wb->columns[n];
    }
    pthread_mutex_unlock(&c->wb->mu);
    if (n == 0) return wb_error(c->out, 400, "no model to run: 'models' is empty");
    cJSON *o = cJSON_CreateObject(), *gens = cJSON_AddArrayToObject(o, "generations");
    for (int i = 0; i < n; i++) {
        const int64_t id = wb_generate(c->wb, c->by, c->id, "differential", ms[i], 0, c->body, c->out);
        if (!id) { /* c->out holds the error; the ones started go on and are recorded */
            cJSON_Delete(o);
            return true;
        }
        cJSON *g = cJSON_CreateObject();
        cJSON_AddNumberToObject(g, "id", (double)id);
        cJSON_AddStringToObject(g, "model", srv_model_name(ms[i]));
        cJSON_AddItemToArray(gens, g);
    }
    return wb_json(c->out, 202, o);
}

static bool run_discharge(call *c) {
    const char *name = body_string(c, "model");
    pthread_mutex_lock(&c->wb->mu);
    srv_model *m = name ? wb_model(c->wb, name) : c->wb->n_columns ? c->wb->columns[0] : NULL;
    pthread_mutex_unlock(&c->wb->mu);
    if (!m) return wb_error(c->out, 400, "'model' must name a served model");
    const int64_t id = wb_generate(c->wb, c->by, c->id, "discharge", m, 0, c->body, c->out);
    if (!id) return true;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "model", srv_model_name(m));
    return wb_json(c->out, 202, o);
}

static bool get_generation(call *c) {
    cJSON *g = NULL;
    store_error e = {0};
    const store_status st = store_generation_get(c->wb->db, c->by, c->id, &g, &e);
    return reply_record(c->out, st, g, &e);
}

/* The same task, case and model again, recorded as a re-run of this generation. */
static bool rerun(call *c) {
    cJSON *g = NULL;
    store_error e = {0};
    if (store_generation_get(c->wb->db, c->by, c->id, &g, &e) != STORE_OK)
        return wb_store_error(c->out, &e);
    char model[256]; /* outlives g */
    snprintf(model, sizeof model, "%s", cJSON_GetObjectItem(g, "model")->valuestring);
    pthread_mutex_lock(&c->wb->mu);
    srv_model *m = wb_model(c->wb, model);
    pthread_mutex_unlock(&c->wb->mu);
    int64_t id = 0;
    if (!m) wb_error(c->out, 409, "model '%s' is not served now", model);
    else id = wb_generate(c->wb, c->by, (int64_t)cJSON_GetObjectItem(g, "case_id")->valuedouble,
                          cJSON_GetObjectItem(g, "task")->valuestring, m, c->id, c->body, c->out);
    cJSON_Delete(g);
    if (!id) return true;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "model", model);
    return wb_json(c->out, 202, o);
}

static bool events(call *c) { return wb_events(c->wb, c->by, c->id, c->out); }

static bool vote(call *c) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, "value");
    store_error e = {0};
    if (!cJSON_IsNumber(v) || (v->valuedouble != 1 && v->valuedouble != -1))
        return wb_error(c->out, 400, "'value' must be 1 or -1");
    const store_status st = store_vote(c->wb->db, c->by, c->id, (int)v->valuedouble, &e);
    return st == STORE_OK ? get_generation(c) : wb_store_error(c->out, &e);
}

static bool report_error(call *c) {
    int64_t id = 0;
    store_error e = {0};
    const store_status st = store_error_report(c->wb->db, c->by, c->id, c->body, &id, &e);
    return reply_id(c->out, st, id, &e);
}

static bool get_discharge(call *c) {
    cJSON *r = NULL;
    store_error e = {0};
    const store_status st = store_discharge_get(c->wb->db, c->by, c->id, &r, &e);
    return reply_record(c->out, st, r, &e);
}

static bool edit_discharge(call *c) {
    store_error e = {0};
    const cJSON *sections = cJSON_GetObjectItemCaseSensitive(c->body, "sections");
    const store_status st = store_discharge_edit(c->wb->db, c->by, c->id, sections, &e);
    return st == STORE_OK ? get_discharge(c) : wb_store_error(c->out, &e);
}

static bool sign_discharge(call *c) {
    store_error e = {0};
    const store_status st = store_discharge_sign(c->wb->db, c->by, c->id, &e);
    return st == STORE_OK ? get_discharge(c) : wb_store_error(c->out, &e);
}

static bool get_stats(call *c) {
    cJSON *o = NULL;
    store_error e = {0};
    const store_status st = store_stats(c->wb->db, c->by, &o, &e);
    return reply_record(c->out, st, o, &e);
}

/* Adds the shipped demo cases (demo-cases.json beside the prompts directory) that are not in
 * the store yet (by title, source "demo"). */
static bool import_demo(call *c) {
    char path[1200];
    snprintf(path, sizeof path, "%s/../demo-cases.json", c->wb->prompts_dir);
    FILE *f = fopen(path, "rb");
    char *text = f ? malloc(1 << 20) : NULL;
    const size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    if (f) fclose(f);
    cJSON *root = text ? cJSON_ParseWithLength(text, n) : NULL;
    free(text);
    if (!root) return wb_error(c->out, 404, "no demo cases are installed (%s)", path);
    cJSON *list = NULL;
    store_error e = {0};
    int added = 0;
    store_status st = store_case_list(c->wb->db, c->by, NULL, 500, 0, &list, &e);
    cJSON *cs, *cases = st == STORE_OK ? cJSON_GetObjectItem(root, "cases") : NULL;
    cJSON_ArrayForEach(cs, cases) {
        const cJSON *title = cJSON_GetObjectItem(cs, "title");
        bool have = false;
        const cJSON *row;
        cJSON_ArrayForEach(row, cJSON_GetObjectItem(list, "cases"))
            have |= cJSON_IsString(title) &&
                    !strcmp(cJSON_GetObjectItem(row, "title")->valuestring, title->valuestring);
        if (have) continue;
        cJSON_DeleteItemFromObject(cs, "source");
        cJSON_AddStringToObject(cs, "source", "demo");
        int64_t id;
        if ((st = store_case_create(c->wb->db, c->by, cs, &id, &e)) != STORE_OK) break;
        added++;
    }
    cJSON_Delete(root), cJSON_Delete(list);
    if (st != STORE_OK) return wb_store_error(c->out, &e);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "imported", added);
    return wb_json(c->out, 200, o);
}

/* ---------------------------------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------------------------------- */

typedef bool (*handler_fn)(call *c);

/* path: the URL after "/api/", with "#" for a numeric id. body: the handler reads a JSON
 * object body. perm: the permission it needs (wb_access.c), NULL: anyone signed in, "open":
 * anyone (signing in). */
static const struct route {
    const char *method, *path;
    bool body;
    const char *perm;
    handler_fn fn;
} routes[] = {
    {"POST", "login", true, "open", wb_login},
    {"POST", "logout", true, NULL, wb_logout},
    {"GET", "session", false, NULL, wb_session_info},
    {"GET", "info", false, NULL, get_info},
    {"GET", "stats", false, "stats", get_stats},
    {"POST", "demo-cases", true, "demo", import_demo},
    {"GET", "cases", false, "case:read", list_cases},
    {"POST", "cases", true, "case:write", create_case},
    {"GET", "cases/#", false, "case:read", get_case},
    {"PATCH", "cases/#", true, "case:write", update_case},
    {"POST", "cases/#/differential", true, "generate", run_differential},
    {"POST", "cases/#/discharge", true, "generate", run_discharge},
    {"POST", "cases/#/fill-back", true, "case:write", fill_back},
    {"GET", "generations/#", false, "case:read", get_generation},
    {"GET", "generations/#/events", false, "case:read", events},
    {"POST", "generations/#/rerun", true, "generate", rerun},
    {"POST", "generations/#/vote", true, "feedback", vote},
    {"POST", "generations/#/errors", true, "feedback", report_error},
    {"GET", "discharge/#", false, "case:read", get_discharge},
    {"PATCH", "discharge/#", true, "case:write", edit_discharge},
    {"POST", "discharge/#/sign", true, "sign", sign_discharge},
    {"GET", "audit", false, "audit", wb_audit_search},
    {"GET", "audit/verify", false, "audit", wb_audit_verify},
    {"GET", "users", false, "users", wb_list_users},
    {"GET", "keys", false, "keys", wb_list_keys},
};

/* Does path match pattern ('#' = a positive decimal id, stored in *id)? */
static bool match(const char *pattern, const char *path, int64_t *id) {
    while (*pattern) {
        if (*pattern == '#') {
            char *end;
            if (*path < '1' || *path > '9') return false;
            const long long v = strtoll(path, &end, 10);
            if (v <= 0 || end - path > 15) return false;
            *id = v;
            path = end, pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *path == '\0';
}

/* The route of the request (405 or false when there is none). */
static const struct route *find_route(const srv_request *req, int64_t *id, bool *path_known) {
    *path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].path, req->url + 5, id)) continue;
        *path_known = true;
        if (strcmp(routes[i].method, req->method) == 0) return &routes[i];
    }
    return NULL;
}

/* A client's Idempotency-Key: up to 127 printable ASCII characters. Generations are not
 * idempotent (a repeat is a new run, recorded as such); feedback and edits are. */
static bool idempotency_key(call *c, const struct route *r) {
    const char *k = srv_request_header(c->req, "Idempotency-Key");
    if (!k || strcmp(r->perm ? r->perm : "", "generate") == 0 || strcmp(c->req->method, "GET") == 0)
        return true;
    bool ok = strlen(k) > 0 && strlen(k) < sizeof c->by->idempotency_key;
    for (const char *p = k; ok && *p; p++) ok = *p > ' ' && *p < 127;
    if (!ok) {
        wb_error(c->out, 400, "Idempotency-Key must be 1 to 127 printable ASCII characters");
        return false;
    }
    snprintf(c->by->idempotency_key, sizeof c->by->idempotency_key, "%s", k);
    return true;
}

/* A JSON body: the request says so (a cross-site form cannot send this type without asking
 * first) and it parses to an object. */
static bool read_body(call *c) {
    const char *type = srv_request_header(c->req, "Content-Type");
    if (c->req->len && (!type || strncmp(type, "application/json", 16) != 0)) {
        wb_error(c->out, 415, "the body must be JSON (Content-Type: application/json)");
        return false;
    }
    c->body = c->req->len ? cJSON_ParseWithLength(c->req->body, c->req->len) : cJSON_CreateObject();
    if (cJSON_IsObject(c->body)) return true;
    cJSON_Delete(c->body);
    c->body = NULL;
    wb_error(c->out, 400, "the body must be a JSON object");
    return false;
}

bool wb_serve(void *ctx, const srv_request *req, srv_reply *out) {
    workbench *wb = ctx;
    if (strncmp(req->url, "/api/", 5) != 0)
        return strcmp(req->method, "GET") == 0 && wb_file(wb, req->url, out);
    store_actor by = {0};
    call c = {wb, req, 0, NULL, out, &by};
    bool path_known;
    const struct route *found = find_route(req, &c.id, &path_known);
    if (!path_known) return false;
    if (!found) return wb_error(out, 405, "%s is not allowed on %s", req->method, req->url);
    const bool open = found->perm && strcmp(found->perm, "open") == 0;
    if (!open && !wb_authenticate(&c, &by)) return true;
    if (!open && found->perm && !wb_allowed(&by, found->perm))
        return wb_error(out, 403, "%s may not do this (it needs '%s')", by.name, found->perm);
    if (!open && !wb_csrf_ok(&c)) return true;
    if (!idempotency_key(&c, found)) return true;
    pthread_mutex_lock(&wb->mu);
    const bool loaded = wb->n_models > 0;
    pthread_mutex_unlock(&wb->mu);
    if (!loaded) return wb_error(out, 503, "the models are still loading");
    if (found->body && !read_body(&c)) return true;
    const bool ok = found->fn(&c);
    cJSON_Delete(c.body);
    return ok;
}
