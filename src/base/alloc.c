/* base/alloc.c: the counting, failure-injecting allocation wrapper (see
 * alloc.h). Injection uses one atomic countdown: each allocation attempt
 * decrements it, and the attempt that takes it from 1 to 0 fails. */
#include "base/alloc.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int64_t live_count;
static _Atomic uint64_t total_count;
static _Atomic uint64_t fail_countdown; /* 0: injection off */
static _Atomic int fail_sticky;
static _Atomic int fail_fired;

/* Returns nonzero when this allocation attempt must fail. */
static int should_fail(void)
{
    uint64_t c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    while (c != 0) {
        if (c == 1 && atomic_load(&fail_sticky)) {
            atomic_store(&fail_fired, 1);
            return 1;
        }
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1)) {
            if (c == 1) {
                atomic_store(&fail_fired, 1);
                return 1;
            }
            return 0;
        }
    }
    return 0;
}

static void *counted(void *p)
{
    if (p != NULL) {
        atomic_fetch_add_explicit(&live_count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&total_count, 1, memory_order_relaxed);
    }
    return p;
}

void *tarn_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    return counted(malloc(size ? size : 1));
}

void *tarn_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    if (count == 0 || size == 0)
        return counted(calloc(1, 1));
    return counted(calloc(count, size));
}

void *tarn_malloc_array(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    return tarn_malloc(count * size);
}

void *tarn_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return tarn_malloc(size);
    if (should_fail())
        return NULL;
    /* A successful realloc keeps the live count: one block in, one out. */
    return realloc(ptr, size ? size : 1);
}

void tarn_free(void *ptr)
{
    if (ptr == NULL)
        return;
    atomic_fetch_sub_explicit(&live_count, 1, memory_order_relaxed);
    free(ptr);
}

void *tarn_calloc_untracked(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    if (count == 0 || size == 0)
        return calloc(1, 1);
    return calloc(count, size);
}

void tarn_free_untracked(void *ptr)
{
    free(ptr);
}

char *tarn_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = tarn_malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *tarn_strdup(const char *s)
{
    return tarn_strndup(s, SIZE_MAX);
}

int64_t tarn_alloc_live_count(void)
{
    return atomic_load(&live_count);
}

uint64_t tarn_alloc_total_count(void)
{
    return atomic_load(&total_count);
}

void tarn_alloc_fail_at(uint64_t n, int sticky)
{
    atomic_store(&fail_fired, 0);
    atomic_store(&fail_sticky, sticky);
    atomic_store(&fail_countdown, n);
}

int tarn_alloc_fail_fired(void)
{
    return atomic_load(&fail_fired);
}

/* Set when an allocation for jansson failed on this thread: jansson
 * reports some allocation failures as syntax errors, and callers must not
 * answer "malformed JSON" for what was out-of-memory. */
static _Thread_local int jansson_oom;

/* Counted like tarn_malloc but never failed by injection: jansson 2.14
 * (Debian 12) asserts instead of failing when an allocation fails while it
 * decodes a string with escapes (load.c, lex_scan_string), so an injected
 * failure inside jansson would test jansson's abort, not our error path.
 * Our own allocations around every parse stay injectable. A real failure
 * of malloc still sets the flag below. */
static void *jansson_malloc(size_t size)
{
    void *p = counted(malloc(size ? size : 1));
    if (p == NULL)
        jansson_oom = 1;
    return p;
}

void tarn_alloc_hook_jansson(void)
{
    json_set_alloc_funcs(jansson_malloc, tarn_free);
}

void tarn_alloc_jansson_oom_reset(void)
{
    jansson_oom = 0;
}

int tarn_alloc_jansson_oom(void)
{
    return jansson_oom;
}
