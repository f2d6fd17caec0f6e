/* error.h: raising ward_status codes with a message, and the allocation wrappers.
 *
 * Every failing path goes through WARD_FAIL(err, code, fmt, ...): it writes the message into
 * the caller's ward_error (which may be NULL) and evaluates to code, so the idiom is
 *     return WARD_FAIL(err, WARD_EFORMAT, "tensor %s: data past end of file", name);
 * Debug builds append " [file.c:123]" to the message: one place to set a breakpoint
 * (ward_fail) and a record of which check fired.
 *
 * All library allocation goes through ward_malloc/ward_calloc/ward_realloc/ward_free so that a
 * test can make the Nth allocation fail (ward_alloc_fail_after) and check that every error path
 * cleans up. That countdown is the library's only mutable global and exists for tests alone.
 */
#ifndef WARD_BASE_ERROR_H
#define WARD_BASE_ERROR_H

#include <stddef.h>

#include "ward.h"

#if defined(__GNUC__)
#define WARD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WARD_PRINTF(a, b)
#endif

ward_status ward_fail(ward_error *err, ward_status code, const char *file, int line,
                      const char *fmt, ...) WARD_PRINTF(5, 6);

#define WARD_FAIL(err, code, ...) ward_fail((err), (code), __FILE__, __LINE__, __VA_ARGS__)

/* Clear an error record (err may be NULL). */
void ward_error_clear(ward_error *err);

/* Prefix err->msg with "prefix: " (for adding context as an error travels up). */
void ward_error_prefix(ward_error *err, const char *prefix);

void *ward_malloc(size_t size);
void *ward_calloc(size_t n, size_t size); /* zeroed; NULL on overflow of n * size */
void *ward_realloc(void *p, size_t size);
void ward_free(void *p);
/* Allocate n * size bytes aligned to 64 (cache line / AVX-512); free with ward_free_aligned. */
void *ward_malloc_aligned(size_t n, size_t size);
void ward_free_aligned(void *p);
/* bytes for a large, long-lived buffer (packed weights): from 2 MiB up aligned to 2 MiB and
 * offered transparent huge pages; free with ward_free_aligned. */
void *ward_malloc_large(size_t bytes);

/* Test hook: allocation number n (1-based, counted from this call) and all after it fail;
 * n = 0 turns failure injection off. Returns the number of allocations since the last call. */
long ward_alloc_fail_after(long n);

/* Overflow-checked arithmetic on sizes read from untrusted input. Return false on overflow. */
static inline bool ward_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool ward_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

#endif
