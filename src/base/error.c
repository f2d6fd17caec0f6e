/* error.c: status strings, error records and the allocation wrappers (see error.h). */
#include "base/error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

const char *ward_status_str(ward_status s) {
    switch (s) {
    case WARD_OK: return "ok";
    case WARD_ENOMEM: return "out of memory";
    case WARD_EIO: return "I/O error";
    case WARD_EFORMAT: return "bad format";
    case WARD_EINVAL: return "invalid argument";
    case WARD_EUNSUPPORTED: return "unsupported";
    case WARD_ECANCELLED: return "cancelled";
    case WARD_ERANGE: return "out of range";
    }
    return "unknown status";
}

ward_status ward_fail(ward_error *err, ward_status code, const char *file, int line,
                      const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
#ifndef NDEBUG
    if (n >= 0 && (size_t)n < sizeof err->msg) {
        const char *base = strrchr(file, '/');
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, " [%s:%d]", base ? base + 1 : file,
                 line);
    }
#else
    (void)n, (void)file, (void)line;
#endif
    return code;
}

void ward_error_clear(ward_error *err) {
    if (!err) return;
    err->code = WARD_OK;
    err->msg[0] = '\0';
}

void ward_error_prefix(ward_error *err, const char *prefix) {
    if (!err) return;
    char tmp[WARD_ERROR_MSG_MAX];
    size_t plen = strlen(prefix);
    if (plen > sizeof tmp - 3) plen = sizeof tmp - 3;
    memcpy(tmp, prefix, plen);
    memcpy(tmp + plen, ": ", 2);
    size_t room = sizeof tmp - plen - 3, mlen = strnlen(err->msg, sizeof err->msg);
    if (mlen > room) mlen = room;
    memcpy(tmp + plen + 2, err->msg, mlen);
    tmp[plen + 2 + mlen] = '\0';
    memcpy(err->msg, tmp, sizeof tmp);
}

/* Countdown for failure injection: 0 = off; otherwise allocations left before failing. */
static _Atomic long alloc_countdown;
static _Atomic long alloc_count;

static bool alloc_should_fail(void) {
    atomic_fetch_add(&alloc_count, 1);
    long left = atomic_load(&alloc_countdown);
    if (left == 0) return false;
    if (left == 1) return true; /* stays at 1: every later allocation fails too */
    atomic_fetch_sub(&alloc_countdown, 1);
    return false;
}

long ward_alloc_fail_after(long n) {
    atomic_store(&alloc_countdown, n < 0 ? 0 : n);
    return atomic_exchange(&alloc_count, 0);
}

void *ward_malloc(size_t size) {
    if (alloc_should_fail()) return NULL;
    return malloc(size ? size : 1);
}

void *ward_calloc(size_t n, size_t size) {
    if (alloc_should_fail()) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *ward_realloc(void *p, size_t size) {
    if (alloc_should_fail()) return NULL;
    return realloc(p, size ? size : 1);
}

void ward_free(void *p) { free(p); }

void *ward_malloc_aligned(size_t n, size_t size) {
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes) || bytes > SIZE_MAX - 63) return NULL;
    if (alloc_should_fail()) return NULL;
    bytes = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes ? bytes : 64);
}

void *ward_malloc_large(size_t bytes) {
    if (bytes < ((size_t)2 << 20)) return ward_malloc_aligned(bytes, 1);
    if (alloc_should_fail()) return NULL;
    const size_t huge = (size_t)2 << 20;
    if (bytes > SIZE_MAX - 63) return NULL;
    bytes = (bytes + 63) & ~(size_t)63; /* not rounded to 2 MiB: a huge page is resident whole */
    void *p = NULL;
    if (posix_memalign(&p, huge, bytes) != 0) return NULL;
    madvise(p, bytes, MADV_HUGEPAGE); /* a hint: fewer page faults and TLB misses if granted */
    return p;
}

void ward_free_aligned(void *p) { free(p); }
