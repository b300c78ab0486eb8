/*
 * bench/common/bench_util.c: see bench_util.h.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double bench_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void bench_min_median(const double *ms, int runs, double *min, double *median)
{
    double *sorted = malloc(sizeof(double) * (size_t)runs);
    if (sorted == NULL) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    memcpy(sorted, ms, sizeof(double) * (size_t)runs);
    qsort(sorted, (size_t)runs, sizeof(double), cmp_double);
    *min = sorted[0];
    *median = sorted[runs / 2];
    free(sorted);
}

void bench_print_times(const double *ms, int runs)
{
    double min, median;
    bench_min_median(ms, runs, &min, &median);
    printf("time_ms,%.1f,%.1f", min, median);
    for (int i = 0; i < runs; i++)
        printf(",%.1f", ms[i]);
    printf("\n");
}
