/*
 * base/clock.h: the clock seam. Code that needs time asks here, never the
 * OS directly, so that tests (and the deterministic simulator) can replace
 * time with their own.
 *
 * Threads: reading is thread-safe. tarn_clock_set is meant for test set-up,
 * before threads that read the clock start.
 */
#ifndef TARN_BASE_CLOCK_H
#define TARN_BASE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef struct tarn_clock {
    int64_t (*wall_ms)(void *ctx); /* ms since the Unix epoch, UTC; may jump */
    int64_t (*mono_ns)(void *ctx); /* monotonic ns, arbitrary origin; never decreases */
    void *ctx;
} tarn_clock;

/* Replaces the process clock; NULL restores the system clock. The struct
 * is copied. */
void tarn_clock_set(const tarn_clock *clock);

int64_t tarn_wall_ms(void);
int64_t tarn_mono_ns(void);
static inline int64_t tarn_mono_ms(void)
{
    return tarn_mono_ns() / 1000000;
}

/* Formats wall-clock ms as RFC 3339 UTC with milliseconds
 * ("2026-11-22T10:00:00.123Z") into out (at least 25 bytes). Returns the
 * length. */
size_t tarn_time_format_rfc3339(int64_t wall_ms, char *out, size_t cap);

/* A manual clock for tests: both readings move only when told. */
typedef struct tarn_manual_clock {
    int64_t wall_ms;
    int64_t mono_ns;
} tarn_manual_clock;

/* Returns a tarn_clock reading `m` (borrowed; must outlive its use). */
tarn_clock tarn_manual_clock_as_clock(tarn_manual_clock *m);

#endif
