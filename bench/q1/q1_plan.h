/*
 * bench/q1/q1_plan.h: TPC-H Q1 as a hand-built exec plan over a Parquet
 * scan of lineitem (what a planner will produce from the SQL):
 *
 *   SELECT l_returnflag, l_linestatus, sum(l_quantity), sum(l_extendedprice),
 *          sum(l_extendedprice * (1 - l_discount)),
 *          sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)),
 *          avg(l_quantity), avg(l_extendedprice), avg(l_discount), count(*)
 *   FROM lineitem WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL 90 DAY
 *   GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus
 *
 * Shared by the benchmark (q1_bench.c) and the suite's pipeline test.
 */
#ifndef TARN_BENCH_Q1_PLAN_H
#define TARN_BENCH_Q1_PLAN_H

#include "exec/exec_pq.h"

#include <stdio.h>

#define Q1_NCOLS 10

/* Opens a scan of `f` (lineitem columns found by name) and builds the plan
 * on it. On success the caller closes *root, then *scan. */
int q1_plan_build(pq_file *f, exec_budget *bud, pq_scan **scan, exec_op **root, tarn_err *err);
/* The same plan over `threads` threads (morsel parallelism: each worker
 * scans row groups handed out by p->m, filters, projects and
 * pre-aggregates; a final aggregate merges). *p holds what the plan's
 * sources borrow: keep it until *root is closed. */
typedef struct q1_par {
    pq_file *f;
    uint32_t idx[7];
    pq_scan_opts so;
    exec_morsels m;
} q1_par;
int q1_plan_build_parallel(pq_file *f, exec_budget *bud, uint32_t threads, q1_par *p,
                           exec_op **root, tarn_err *err);
/* Runs the plan to the end, printing result rows as CSV (no header) to
 * `out` when it is not NULL. Returns the row count or a negative error. */
int q1_plan_run(exec_op *root, FILE *out, tarn_err *err);

#endif
