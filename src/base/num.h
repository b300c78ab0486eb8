/*
 * base/num.h: small number helpers more than one module needs: the powers
 * of ten that fit an int64 (decimal scales) and proleptic Gregorian
 * calendar conversions for day counts since 1970-01-01 (DATE values in
 * Parquet, Delta, SQL). The calendar functions are Howard Hinnant's
 * days_from_civil / civil_from_days algorithms (public domain description,
 * "chrono-Compatible Low-Level Date Algorithms"), exact for every int64
 * day count whose year fits an int64.
 *
 * Threads: all functions are pure and thread-safe.
 */
#ifndef TARN_BASE_NUM_H
#define TARN_BASE_NUM_H

#include <stdint.h>

/* 10^0 .. 10^18. */
extern const int64_t tarn_pow10_i64[19];

/* Days since 1970-01-01 of year y, month m (1..12), day d (1..31; not
 * checked against the month: callers validate). */
int64_t tarn_days_from_civil(int64_t y, int m, int d);

/* The inverse: the civil date of `days` since 1970-01-01. */
void tarn_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif
