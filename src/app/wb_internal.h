/* wb_internal.h: what the workbench's files share (workbench.c: set-up and the JSON API;
 * wb_gen.c: generations and their event streams; wb_files.c: the web app's files). */
#ifndef WARD_APP_WB_INTERNAL_H
#define WARD_APP_WB_INTERNAL_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>

#include "app/prompt.h"
#include "app/store.h"
#include "app/workbench.h"

#define WB_MAX_COLUMNS 3
#define WB_MAX_MODELS 16

typedef struct live_gen live_gen;

struct workbench {
    store *db;
    prompt_template *differential, *discharge;
    char web_dir[1024]; /* "" when there is no web app */
    char prompts_dir[1024];
    char columns_spec[512];
    char instance[128]; /* this replica's name: owner of the generations it runs */
    bool cookie_secure; /* sessions' cookies only over HTTPS */
    int session_ttl_s;
    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;  /* a live generation was recorded */
    srv_model *models[WB_MAX_MODELS];
    int n_models;
    srv_model *columns[WB_MAX_COLUMNS]; /* the differential's models */
    int n_columns;
    live_gen *live; /* generations running now */
};

/* A request being answered: the ids parsed from its path, its parsed body (NULL if none),
 * who sent it. */
typedef struct call {
    workbench *wb;
    const srv_request *req;
    int64_t id;
    cJSON *body;
    srv_reply *out;
    store_actor *by;
} call;

/* wb_access.c: who is asking (a session cookie or an API key), what they may do, and the
 * account endpoints. authenticate fills by, or answers 401 and returns false. */
bool wb_authenticate(call *c, store_actor *by);
/* Has the actor permission perm (role's permissions, or a key's scopes)? */
bool wb_allowed(const store_actor *by, const char *perm);
/* A state-changing request from a browser session carries its CSRF token (X-CSRF-Token);
 * false with the 403 answered when it does not. */
bool wb_csrf_ok(call *c);
bool wb_login(call *c);
bool wb_logout(call *c);
bool wb_session_info(call *c);
bool wb_audit_search(call *c);
bool wb_audit_verify(call *c);
bool wb_list_users(call *c);
bool wb_list_keys(call *c);

/* Replies: JSON (takes body), errors as {"error": {"message"}}, a store error's status. */
bool wb_json(srv_reply *out, int status, cJSON *body);
bool wb_error(srv_reply *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool wb_store_error(srv_reply *out, const store_error *e);

/* A served model by name (NULL: none). Under wb->mu. */
srv_model *wb_model(workbench *wb, const char *name);

/* Starts a generation of task ("differential" or "discharge") for a case on model m: records
 * it, queues it and starts its collector. rerun_of: 0 or the generation it repeats. Returns
 * the new id, or 0 with the reply filled with the error. */
int64_t wb_generate(workbench *wb, const store_actor *by, int64_t case_id, const char *task,
                    srv_model *m, int64_t rerun_of, const cJSON *options, srv_reply *err_out);
/* GET /api/generations/{id}/events: the answer's text as it grows ("delta" events), then
 * "done" with the recorded generation (and, for a discharge draft, its record's id). */
bool wb_events(workbench *wb, const store_actor *by, int64_t id, srv_reply *out);
/* Waits until no generation is running. */
void wb_wait_idle(workbench *wb);

/* GET of a web app file (/ is index.html); false if there is none. */
bool wb_file(workbench *wb, const char *url, srv_reply *out);

#endif
