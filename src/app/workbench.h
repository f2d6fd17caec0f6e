/* workbench.h: the clinical workbench mounted on `ward serve` (server.h, srv_app_fn): its JSON
 * API under /api/ (docs/workbench.md) and the web app's files at /.
 *
 * Cases, generations and feedback live in the store (store.h). A differential diagnosis runs the
 * case on up to three models at once, each answer constrained by the template's schema
 * (prompt.h) and streamed to the browser as server-sent events while a collector thread per
 * generation records it; a discharge draft is one generation whose five sections become a
 * discharge record when it ends. The workbench uses the models only through the scheduler
 * (sched.h) and the engine's public API.
 */
#ifndef WARD_APP_WORKBENCH_H
#define WARD_APP_WORKBENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "server/server.h"

typedef struct wb_config {
    const char *db_path;     /* the SQLite file */
    const char *prompts_dir; /* differential.txt, discharge.txt and their schemas */
    const char *web_dir;     /* the built web app (index.html, assets/); NULL: API only */
    const char *columns;     /* comma-separated model names for the differential; NULL: the
                              * first three served */
    bool cookie_secure;      /* mark the session cookie Secure (HTTPS, here or at a proxy) */
    int session_ttl_s;       /* how long a sign-in lasts; 0: 8 hours */
    const char *instance;    /* this server's name among replicas sharing the database (the
                              * generations it runs are its own); NULL: the host name */
} wb_config;

typedef struct workbench workbench;

/* Opens the store and loads the templates; false with err saying what is wrong. */
bool wb_open(const wb_config *cfg, workbench **out, char *err, size_t cap);
/* The served models, once loaded (until then the API answers 503). */
bool wb_set_models(workbench *wb, srv_model *const *models, int n_models, char *err, size_t cap);
/* Waits for running generations to be recorded (they end when the models stop), then frees. */
void wb_close(workbench *wb);
/* The srv_app_fn to mount (ctx: the workbench). */
bool wb_serve(void *ctx, const srv_request *req, srv_reply *out);

#endif
