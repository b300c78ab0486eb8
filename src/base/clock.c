/* base/clock.c: the clock seam (see clock.h). */
#include "base/clock.h"

#include <stdio.h>
#include <time.h>

static int64_t system_wall_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t system_mono_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static tarn_clock current = {system_wall_ms, system_mono_ns, NULL};

void tarn_clock_set(const tarn_clock *clock)
{
    if (clock == NULL) {
        current = (tarn_clock){system_wall_ms, system_mono_ns, NULL};
        return;
    }
    current = *clock;
}

int64_t tarn_wall_ms(void)
{
    return current.wall_ms(current.ctx);
}

int64_t tarn_mono_ns(void)
{
    return current.mono_ns(current.ctx);
}

size_t tarn_time_format_rfc3339(int64_t wall_ms, char *out, size_t cap)
{
    int64_t secs = wall_ms / 1000;
    int64_t ms = wall_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

static int64_t manual_wall_ms(void *ctx)
{
    return ((tarn_manual_clock *)ctx)->wall_ms;
}

static int64_t manual_mono_ns(void *ctx)
{
    return ((tarn_manual_clock *)ctx)->mono_ns;
}

tarn_clock tarn_manual_clock_as_clock(tarn_manual_clock *m)
{
    return (tarn_clock){manual_wall_ms, manual_mono_ns, m};
}
