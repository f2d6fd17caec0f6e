/* harness.c: see harness.h. */
#include "harness.h"

#include "app/db.h"

#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int n_passed, n_failed;

void test_check(bool ok, const char *file, int line, const char *fmt, ...) {
    if (ok) {
        n_passed++;
        return;
    }
    n_failed++;
    if (n_failed > 50) return; /* keep the log readable; the count still says how many */
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int test_summary(void) {
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}

const char *shared_path(const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", WARD_SHARED_DIR, rel);
    if (access(buf, R_OK) != 0) {
        test_check(false, __FILE__, __LINE__, "reference file missing: %s", buf);
        return NULL;
    }
    return buf;
}

void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        test_check(false, __FILE__, __LINE__, "cannot open %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) {
        test_check(false, __FILE__, __LINE__, "cannot read %s", path);
        return NULL;
    }
    buf[n] = '\0';
    *size = (size_t)n;
    return buf;
}

uint64_t test_rand_u64(uint64_t *s) {
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float test_rand_f32(uint64_t *s) {
    return (float)((double)(test_rand_u64(s) >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

long test_oom_loop(int (*attempt)(void *ctx), void *ctx, long max_n, const char *label) {
    for (long n = 1; n <= max_n; n++) {
        ward_alloc_fail_after(n);
        const int st = attempt(ctx);
        ward_alloc_fail_after(0);
        if (st == WARD_OK) return n;
        if (st != WARD_ENOMEM) {
            test_check(false, __FILE__, __LINE__, "%s: allocation %ld failing gives status %d",
                       label, n, st);
            return -1;
        }
    }
    test_check(false, __FILE__, __LINE__, "%s: still failing after %ld allocations", label, max_n);
    return -1;
}

int run_cmd(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *test_tmp_path(const char *tag) {
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/ward-test-%d-%s", (int)getpid(), tag);
    return buf;
}

void test_remove_db(const char *path) {
    if (strstr(path, "://")) return;
    char side[1100];
    remove(path);
    snprintf(side, sizeof side, "%s-wal", path), remove(side);
    snprintf(side, sizeof side, "%s-shm", path), remove(side);
}

bool test_on_postgres(void) {
    const char *dir = getenv("WARD_TEST_PG_DIR");
    return dir && dir[0];
}

const char *test_fresh_db(const char *tag) {
    static char uri[512];
    if (!test_on_postgres()) {
        snprintf(uri, sizeof uri, "%s", test_tmp_path(tag));
        test_remove_db(uri);
        return uri;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/uri", getenv("WARD_TEST_PG_DIR"));
    FILE *f = fopen(path, "r");
    const bool read = f && fgets(uri, sizeof uri, f);
    if (f) fclose(f);
    uri[strcspn(uri, "\n")] = '\0';
    db *d = NULL;
    char err[512] = "";
    const bool ok = read && db_open(uri, NULL, &d, err, sizeof err) &&
                    db_exec(d, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    test_check(ok, __FILE__, __LINE__, "a fresh PostgreSQL database at %s: %s", path,
               d ? db_errmsg(d) : err);
    db_close(d);
    return ok ? uri : NULL;
}
