/*
 * tests/unit/delta/delta_test_util.h: helpers shared by the delta tests:
 * the canonical typed text of rows (for multiset comparison) and building
 * small Delta logs in a temp directory through the object store.
 */
#ifndef TARN_TEST_DELTA_UTIL_H
#define TARN_TEST_DELTA_UTIL_H

#include "delta/delta.h"
#include "objstore/objstore.h"
#include "vec/vec.h"

#include <stddef.h>

/* A growable list of malloc'd strings. */
typedef struct dt_rows {
    char **rows;
    size_t n, cap;
} dt_rows;

void dt_rows_free(dt_rows *r);
void dt_rows_sort(dt_rows *r);
/* Appends one canonical line per row of b: "name=value|..." over the
 * columns in name order, values tagged with their type ("i64:3",
 * "string:\"a\"", "binary:68656c6c6f", "date:0", "null"). */
void dt_rows_add_batch(dt_rows *r, const vec_batch *b, const char *const *names);
/* Asserts that two sorted row lists are equal, printing the first
 * difference. `what` names the comparison. */
void dt_rows_assert_equal(const dt_rows *got, const dt_rows *want, const char *what);

/* Rows of a whole Parquet file on disk (all columns). */
void dt_parquet_rows(const char *path, dt_rows *out);
/* Rows of a snapshot through delta_scan (all columns). Returns the scan's
 * result code; on error `err` tells why. */
int dt_snapshot_rows(delta_table *t, const delta_snapshot *s, dt_rows *out, tarn_err *err);

/* Writes `text` as `<root>/_delta_log/<20-digit version>.json`. */
void dt_put_commit(objstore *os, const char *root, long long version, const char *text);

#endif
