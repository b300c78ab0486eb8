/* sql/literal.h: parsing the values of literals (literal.c). Each returns
 * 0, or -1 when the text is not a valid value of its kind. */
#ifndef TARN_SQL_LITERAL_H
#define TARN_SQL_LITERAL_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits only; -1 on anything else or a value over INT64_MAX. */
int sql_lit_parse_int64(const char *s, size_t n, int64_t *out);
/* 'YYYY-MM-DD' (years 0001..9999) to days since 1970-01-01. */
int sql_lit_parse_date(const char *s, size_t n, int64_t *days);
/* 'YYYY-MM-DD[( |T)HH:MM:SS[.f..f]]' (up to 6 fraction digits) to
 * microseconds since 1970-01-01 00:00:00. */
int sql_lit_parse_timestamp(const char *s, size_t n, int64_t *micros);
/* days (since 1970-01-01) + months (the day clamped to the month's last,
 * as DuckDB) + ndays; -1 when the result leaves years 0001..9999. */
int sql_lit_date_add(int64_t days, int64_t months, int64_t ndays, int64_t *out);
/* '[-]digits' with optional blanks around. */
int sql_lit_parse_interval_count(const char *s, size_t n, int64_t *out);

#endif
