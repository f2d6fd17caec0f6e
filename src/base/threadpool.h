/* threadpool.h: a fixed set of worker threads that run one parallel job at a time.
 *
 * tp_run(pool, fn, arg) calls fn(arg, ith, nth) once for every ith in [0, nth), nth being the
 * pool's thread count; the calling thread does ith = 0 itself, and tp_run returns when all have
 * finished (a full barrier: writes made by any ith are visible to the caller afterwards). Jobs
 * split work by ith themselves (e.g. rows [ith*n/nth, (ith+1)*n/nth)). Workers wait between jobs;
 * the pool is created once per context, never per operation. One caller at a time.
 */
#ifndef WARD_BASE_THREADPOOL_H
#define WARD_BASE_THREADPOOL_H

#include "ward.h"

typedef struct tp_pool tp_pool;
typedef void (*tp_job_fn)(void *arg, int ith, int nth);

/* n_threads >= 1 (1 = no worker threads, tp_run calls fn directly). */
ward_status tp_open(int n_threads, tp_pool **out, ward_error *err);
void tp_close(tp_pool *pool);
int tp_n_threads(const tp_pool *pool);
void tp_run(tp_pool *pool, tp_job_fn fn, void *arg);
/* Number of online CPUs (at least 1). */
int tp_default_threads(void);

#endif
