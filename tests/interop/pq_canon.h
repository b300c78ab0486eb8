/*
 * tests/interop/pq_canon.h: the canonical typed text form of a vec value
 * that pq_dump and pq_write_matrix print and pqcompare.js builds from
 * DuckDB's and hyparquet's values (the table is in pq_dump.c).
 */
#ifndef TARN_TEST_PQ_CANON_H
#define TARN_TEST_PQ_CANON_H

#include "base/buf.h"
#include "vec/vec.h"

/* Appends row r of c (a valid row) in canonical form. */
void pq_canon_value(tarn_buf *b, const vec_col *c, uint32_t r);
/* Appends row r of batch b as one JSON object line, keys `names`. */
void pq_canon_row(tarn_buf *b, const vec_batch *batch, uint32_t r, const char *const *names);

#endif
