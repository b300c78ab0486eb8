/*
 * exec/exec_pq.h: a source operator over a Parquet scan (parquet/parquet.h),
 * kept apart from exec.h so that users of the executor alone do not pull in
 * the Parquet reader.
 *
 * Threads: as exec.h (one thread per operator tree); the morsel sources of
 * one scan may run on different threads (a pq_file is shareable once open,
 * if its read callback is thread-safe).
 */
#ifndef TARN_EXEC_EXEC_PQ_H
#define TARN_EXEC_EXEC_PQ_H

#include "exec/exec.h"
#include "parquet/parquet.h"

/* Batches of `scan` (borrowed; it must outlive the operator; the caller
 * closes it after exec_op_close). The batch memory is accounted against
 * `budget` at open. Errors of pq_scan_next pass through with context. */
int exec_pq_source_new(pq_scan *scan, exec_budget *budget, exec_op **out, tarn_err *err);

/* A source over morsels of `f`: whenever its scan ends it takes the next
 * row group index from `m` (shared by the sources of a parallel scan, one
 * per worker, each taking row groups until none are left) and scans that
 * row group with `opts` (rg_first/rg_count replaced; opts->columns and
 * opts->preds are borrowed, as are f and m: they must outlive the
 * operator). exec_morsels_init(m, pq_file_nrow_groups(f)) first. Errors of
 * pq_scan_open / pq_scan_next pass through with context. */
int exec_pq_morsel_source_new(pq_file *f, const pq_scan_opts *opts, exec_morsels *m,
                              exec_budget *budget, exec_op **out, tarn_err *err);

#endif
