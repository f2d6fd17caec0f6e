/* threadpool_sync.c: what one tp_run costs when the job does nothing: the publish, every
 * thread's wake-up and the barrier (src/base/threadpool.c). The forward pass calls tp_run a few
 * hundred times per token, so this is the floor under every step.
 *
 *   build/threadpool_sync [THREADS]     (default 2)
 *
 * Prints the mean and the best of 20 rounds of 20000 back-to-back calls, in microseconds:
 * back-to-back calls find the workers still spinning, as the matmuls of one layer do; a round
 * with a 2 ms pause before each call measures the wake-up from sleep too. Not run by the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/threadpool.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nothing(void *arg, int ith, int nth) { (void)arg, (void)ith, (void)nth; }

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    tp_pool *pool;
    ward_error err;
    if (threads < 1 || tp_open(threads, &pool, &err)) {
        fprintf(stderr, "threadpool_sync: cannot open a pool of %d threads\n", threads);
        return 1;
    }
    enum { ROUNDS = 20, CALLS = 20000, PAUSED = 200 };
    double best = 1e9, sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        const double t0 = now_s();
        for (int i = 0; i < CALLS; i++) tp_run(pool, nothing, NULL);
        const double us = (now_s() - t0) / CALLS * 1e6;
        sum += us;
        best = us < best ? us : best;
    }
    double paused = 0;
    for (int i = 0; i < PAUSED; i++) {
        const struct timespec pause = {0, 2 * 1000 * 1000};
        nanosleep(&pause, NULL);
        const double t0 = now_s();
        tp_run(pool, nothing, NULL);
        paused += (now_s() - t0) * 1e6;
    }
    printf("tp_run, %d threads, empty job: back to back %.2f us mean, %.2f us best; after a 2 ms "
           "pause %.1f us mean\n", threads, sum / ROUNDS, best, paused / PAUSED);
    tp_close(pool);
    return 0;
}
