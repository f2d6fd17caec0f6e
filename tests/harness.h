/* harness.h: the tiny test framework every tests/test_*.c uses.
 *
 * CHECK(cond, fmt, ...) records a failure with file:line and a message and carries on;
 * a test program's main returns test_summary(), which prints "N passed, N failed" and exits
 * non-zero if anything failed. shared_path("models/x.gguf") gives the path into ../shared and
 * fails loudly (counts a failure, says which path) when the file is missing, so a test never
 * passes silently because its data was not there.
 */
#ifndef WARD_TESTS_HARNESS_H
#define WARD_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void test_check(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define CHECK(cond, ...) test_check((cond), __FILE__, __LINE__, __VA_ARGS__)
/* Returns the process exit code. */
int test_summary(void);
/* Path of a file under the shared reference directory, in a static buffer (one at a time is
 * enough for tests; copy it if you need two). Returns NULL and records a failure if missing. */
const char *shared_path(const char *rel);
/* Read a whole file into a malloc'ed buffer (caller frees); NULL + recorded failure on error. */
void *read_file(const char *path, size_t *size);
/* Deterministic pseudo-random numbers for tests. */
uint64_t test_rand_u64(uint64_t *state);
float test_rand_f32(uint64_t *state); /* uniform in [-1, 1) */
/* Run a shell command; capture up to cap - 1 bytes of its stdout into out (NUL-terminated) and
 * return its exit status (-1 if it did not exit normally). */
int run_cmd(const char *cmd, char *out, size_t cap);
/* Allocation-failure loop: calls attempt(ctx) with allocation n failing, for n = 1, 2, ...
 * until it succeeds (at most max_n), checking every failed attempt returned WARD_ENOMEM
 * (attempt returns a ward_status as int, and frees what it made on success). Returns the
 * number of allocations the successful attempt needed, or -1 after a recorded failure. */
long test_oom_loop(int (*attempt)(void *ctx), void *ctx, long max_n, const char *label);
/* Temporary file path unique to this process: "/tmp/ward-test-<pid>-<tag>". Static buffer. */
const char *test_tmp_path(const char *tag);
/* Removes an SQLite database file and its -wal and -shm companions (a PostgreSQL URI: none). */
void test_remove_db(const char *path);
/* A fresh, empty workbench database for a test: with WARD_TEST_PG_DIR set (a cluster started
 * by tests/scaleout/pg.sh; its "uri" file), that PostgreSQL database with its schema dropped
 * and made again; else the SQLite file test_tmp_path(tag), removed first. Static buffer; NULL
 * (a recorded failure) if the cluster cannot be reached. */
const char *test_fresh_db(const char *tag);
/* Is WARD_TEST_PG_DIR set (the tests run on PostgreSQL)? */
bool test_on_postgres(void);

#endif
