/*
 * bench/common/bench_util.h: what the C benchmarks share: a clock in
 * milliseconds and the summary of repeated runs.
 */
#ifndef TARN_BENCH_UTIL_H
#define TARN_BENCH_UTIL_H

#include <time.h>

/* The clock `id` (CLOCK_MONOTONIC for wall time, CLOCK_PROCESS_CPUTIME_ID
 * for CPU time) in milliseconds. */
double bench_clock_ms(clockid_t id);

/* The minimum and the median (the upper one for an even count) of ms[0..runs),
 * runs >= 1; ms keeps its order. Exits on an allocation failure. */
void bench_min_median(const double *ms, int runs, double *min, double *median);

/* Prints "time_ms,MIN,MEDIAN,run1,run2,...\n", the line the benches'
 * run.sh scripts and DuckDB's side (bench/tpch/duck.js) both print. */
void bench_print_times(const double *ms, int runs);

#endif
