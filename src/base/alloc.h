/*
 * base/alloc.h: the one allocation wrapper. All Tarn code allocates through
 * it, so that tests can count live allocations and make the Nth allocation
 * fail (out-of-memory injection) to prove that running out of memory is an
 * error, never a leak or a crash.
 *
 * Threads: all functions are thread-safe (atomic counters). Injection is
 * process-wide; tests that inject run the code under test on one thread.
 */
#ifndef TARN_BASE_ALLOC_H
#define TARN_BASE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Like malloc/calloc/realloc/free/strdup, but counted and injectable.
 * tarn_malloc(0) returns a unique non-NULL pointer. tarn_realloc that fails
 * leaves the old block allocated and returns NULL. tarn_free(NULL) is a no-op. */
void *tarn_malloc(size_t size);
void *tarn_calloc(size_t count, size_t size);
void *tarn_realloc(void *ptr, size_t size);
void tarn_free(void *ptr);
char *tarn_strdup(const char *s);
char *tarn_strndup(const char *s, size_t n);

/* Allocates count*size bytes, failing (NULL) instead of overflowing. */
void *tarn_malloc_array(size_t count, size_t size);

/* For process-lifetime structures (the metrics registry, whose series are
 * created on first use and never freed): failure injection applies as to
 * tarn_malloc, but the block is not counted as live, so leak checks by
 * live count (tarn_test_oom_loop) do not mistake a new metric series for a
 * leak. Zeroed. Free with tarn_free_untracked. */
void *tarn_calloc_untracked(size_t count, size_t size);
void tarn_free_untracked(void *ptr);

/* Live allocations (successful allocations not yet freed). */
int64_t tarn_alloc_live_count(void);
/* Successful allocations since start (or the last reset). */
uint64_t tarn_alloc_total_count(void);

/* Makes the nth allocation from now fail (n = 1: the next one), and only
 * that one unless `sticky`, in which case every allocation from the nth on
 * fails. n = 0 disables injection. */
void tarn_alloc_fail_at(uint64_t n, int sticky);
/* Nonzero once an injected failure has fired since the last fail_at call. */
int tarn_alloc_fail_fired(void);

/* Routes jansson's allocations through this wrapper, so that JSON values
 * are counted as live allocations (leak checks see them). They are exempt
 * from failure injection: jansson 2.14 asserts, instead of failing, when
 * an allocation fails while it decodes an escaped string. Idempotent; call
 * before first use of jansson (the http router and main() do). */
void tarn_alloc_hook_jansson(void);

/* jansson reports some failed allocations as parse errors. Callers that
 * parse untrusted JSON reset this flag before json_loads and check it when
 * parsing failed: nonzero means an allocation failed on this thread since
 * the reset (answer out-of-memory, not "malformed"). */
void tarn_alloc_jansson_oom_reset(void);
int tarn_alloc_jansson_oom(void);

#endif
