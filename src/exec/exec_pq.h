/*
 * exec/exec_pq.h: a source operator over a Parquet scan (parquet/parquet.h),
 * kept apart from exec.h so that users of the executor alone do not pull in
 * the Parquet reader.
 *
 * Threads: as exec.h (one thread per operator tree).
 */
#ifndef TARN_EXEC_EXEC_PQ_H
#define TARN_EXEC_EXEC_PQ_H

#include "exec/exec.h"
#include "parquet/parquet.h"

/* Batches of `scan` (borrowed; it must outlive the operator; the caller
 * closes it after exec_op_close). The batch memory is accounted against
 * `budget` at open. Errors of pq_scan_next pass through with context. */
int exec_pq_source_new(pq_scan *scan, exec_budget *budget, exec_op **out, tarn_err *err);

#endif
