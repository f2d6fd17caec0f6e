/* test_threadpool.c: tp_open/tp_run/tp_close.
 *
 * Every ith runs exactly once per tp_run (per-ith atomic counters checked after every run, many
 * thousand runs for 1..4 threads to shake out races), writes made by workers are visible to the
 * caller when tp_run returns, the sleep/wake path works (pauses between runs let workers fall
 * asleep), open/close churn does not hang, and tp_open cleans up when an allocation or
 * pthread_create fails. pthread_create failure is injected by defining pthread_create here: the
 * library is linked statically into this program, so its calls land in the wrapper. It forwards to
 * the sanitizer's interceptor __interceptor_pthread_create when one is linked (ASan/TSan; gcc and
 * clang <= 16 name it so), else to libc's via dlsym(RTLD_NEXT). Newer clang sanitizer runtimes
 * renamed the interceptor, so there the wrapper is left out and that one test is skipped.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/threadpool.h"
#include "harness.h"

#if defined(__clang__) && __clang_major__ >= 17 && defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NO_CREATE_WRAPPER 1
#endif
#endif

enum { MAX_NTH = 4, N_DATA = 4096 };

/* ---------------------------------------------------------------------------------------------
 * pthread_create failure injection
 * ------------------------------------------------------------------------------------------- */

#ifndef NO_CREATE_WRAPPER
static _Atomic int create_fail_at; /* 0 = off; else the Nth call from now fails with EAGAIN */

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

extern int __interceptor_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                                        void *) __attribute__((weak));

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*start)(void *), void *arg) {
    static create_fn real;
    if (!real && __interceptor_pthread_create) real = __interceptor_pthread_create;
    if (!real) {
        void *sym = dlsym(RTLD_NEXT, "pthread_create");
        memcpy(&real, &sym, sizeof real);
    }
    int n = atomic_load(&create_fail_at);
    if (n > 0) {
        if (n == 1) return 11; /* EAGAIN; keeps failing until reset */
        atomic_store(&create_fail_at, n - 1);
    }
    return real(t, attr, start, arg);
}
#endif

/* ---------------------------------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------------------------------- */

typedef struct count_job {
    atomic_int calls[MAX_NTH]; /* times each ith was called */
    atomic_int bad_nth;        /* calls whose nth did not match the pool */
    int expect_nth;
    int run;                   /* value to write into data this run */
    int data[N_DATA];          /* plain ints: each ith writes its slice */
} count_job;

static void count_fn(void *arg, int ith, int nth) {
    count_job *job = arg;
    if (nth != job->expect_nth || ith < 0 || ith >= nth) {
        atomic_fetch_add(&job->bad_nth, 1);
        return;
    }
    atomic_fetch_add(&job->calls[ith], 1);
    int lo = N_DATA * ith / nth, hi = N_DATA * (ith + 1) / nth;
    for (int i = lo; i < hi; i++) job->data[i] = job->run;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Run n_runs jobs on pool; after each, every ith ran once and all data is new. */
static void check_runs_on(tp_pool *pool, int n_runs, int pause_every) {
    int nth = tp_n_threads(pool);
    static count_job job;
    memset(&job, 0, sizeof job);
    job.expect_nth = nth;
    int bad_calls = 0, bad_data = 0;
    for (int r = 1; r <= n_runs; r++) {
        job.run = r;
        tp_run(pool, count_fn, &job);
        for (int i = 0; i < nth; i++)
            if (atomic_load(&job.calls[i]) != r) bad_calls++;
        for (int i = 0; i < N_DATA; i++)
            if (job.data[i] != r) bad_data++;
        if (pause_every && r % pause_every == 0) sleep_ms(5); /* workers go to sleep */
    }
    CHECK(bad_calls == 0, "nth %d: %d wrong per-ith call counts over %d runs", nth, bad_calls,
          n_runs);
    CHECK(bad_data == 0, "nth %d: %d stale data words after tp_run", nth, bad_data);
    CHECK(atomic_load(&job.bad_nth) == 0, "nth %d: bad ith/nth in %d calls", nth,
          atomic_load(&job.bad_nth));
}

static void check_runs(int nth, int n_runs, int pause_every) {
    tp_pool *pool = NULL;
    ward_error err = {0};
    ward_status st = tp_open(nth, &pool, &err);
    CHECK(st == WARD_OK, "tp_open(%d): %s", nth, err.msg);
    if (st != WARD_OK) return;
    CHECK(tp_n_threads(pool) == nth, "tp_n_threads %d != %d", tp_n_threads(pool), nth);
    check_runs_on(pool, n_runs, pause_every);
    tp_close(pool);
}

/* ---------------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------------- */

static void test_runs(void) {
    for (int nth = 1; nth <= MAX_NTH; nth++) {
        check_runs(nth, 20000, 0); /* back to back: mostly the spin path */
        check_runs(nth, 40, 1);    /* a pause before each run: the sleep path */
    }
}

static void test_churn(void) {
    /* Close right after open (workers may not have reached their first wait) and after a run. */
    for (int i = 0; i < 200; i++) {
        tp_pool *pool = NULL;
        int nth = 1 + i % MAX_NTH;
        ward_status st = tp_open(nth, &pool, NULL);
        CHECK(st == WARD_OK, "churn open %d", i);
        if (st != WARD_OK) continue;
        if (i % 2) check_runs_on(pool, 3, 0);
        tp_close(pool);
    }
}

static void test_args(void) {
    tp_close(NULL);
    tp_pool *pool = (tp_pool *)&pool; /* must be overwritten with NULL */
    ward_error err = {0};
    CHECK(tp_open(0, &pool, &err) == WARD_EINVAL, "0 threads accepted");
    CHECK(pool == NULL, "out not cleared on failure");
    CHECK(err.code == WARD_EINVAL && err.msg[0], "no message for 0 threads");
    CHECK(tp_open(-3, &pool, NULL) == WARD_EINVAL, "-3 threads accepted");
    CHECK(tp_open(1 << 20, &pool, NULL) == WARD_EINVAL, "1M threads accepted");
    int n = tp_default_threads();
    CHECK(n >= 1, "tp_default_threads %d", n);
}

static void test_oom(void) {
    for (int nth = 1; nth <= MAX_NTH; nth += 3) {
        int ok_at = 0;
        for (long n = 1; n < 100 && !ok_at; n++) {
            tp_pool *pool = NULL;
            ward_error err = {0};
            ward_alloc_fail_after(n);
            ward_status st = tp_open(nth, &pool, &err);
            ward_alloc_fail_after(0);
            if (st == WARD_OK) {
                ok_at = (int)n;
                check_runs_on(pool, 10, 0);
                tp_close(pool);
                break;
            }
            CHECK(st == WARD_ENOMEM, "nth %d fail at %ld: status %d", nth, n, (int)st);
            CHECK(pool == NULL && err.msg[0], "nth %d fail at %ld: out or message", nth, n);
        }
        CHECK(ok_at > 1, "nth %d: tp_open never allocated or never succeeded (%d)", nth, ok_at);
    }
}

static void test_create_failure(void) {
#ifndef NO_CREATE_WRAPPER
    /* Fail the 1st, 2nd, 3rd pthread_create of a 4-thread pool; started workers must be joined. */
    for (int k = 1; k <= MAX_NTH - 1; k++) {
        tp_pool *pool = NULL;
        ward_error err = {0};
        atomic_store(&create_fail_at, k);
        ward_status st = tp_open(MAX_NTH, &pool, &err);
        atomic_store(&create_fail_at, 0);
        CHECK(st == WARD_ENOMEM, "create fails at %d: status %d", k, (int)st);
        CHECK(pool == NULL && strstr(err.msg, "cannot start thread"), "create fails at %d: %s", k,
              err.msg);
        if (pool) tp_close(pool);
    }
#else
    printf("pthread_create failure test skipped (unknown sanitizer interceptor name)\n");
#endif
}

int main(void) {
    test_args();
    test_runs();
    test_churn();
    test_oom();
    test_create_failure();
    return test_summary();
}
