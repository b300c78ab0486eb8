/* tests/unit/sql/sql_test_util.h: helpers shared by the sql tests. */
#ifndef TARN_TEST_SQL_UTIL_H
#define TARN_TEST_SQL_UTIL_H

#include "sql/sql.h"

/* Parses sql (one or more statements) and returns the canonical forms of
 * its statements joined by "\n" (tarn_free), failing the test with the
 * rendered error when it does not parse. */
char *sqlt_sexpr(const char *sql);
/* Asserts that sql parses to exactly `want`. */
void sqlt_expect(const char *sql, const char *want);
/* Asserts that parsing fails with `code`, at line:col, with the formatted
 * one-line message `want` (sql_error_format). */
void sqlt_expect_error(const char *sql, int code, unsigned line, unsigned col, const char *want);

#endif
