/*
 * gen/gen.h: deterministic data generators for demos, tests and
 * benchmarks. Today one table: a TPC-H-like `lineitem` with the value
 * distributions of ../shared/tools/lineitem-gen.sql (the DuckDB script the
 * benchmarks started from). Design note: gen/README.md.
 *
 *   gen_lineitem_opts o = {.rows = 6000000, .seed = 1};
 *   gen_lineitem_write_parquet(&o, sink, ctx, NULL, &err);     a Parquet file
 *   gen_lineitem_fill(&o, first_row, n, &batch, &err);           any row range
 *
 * Row i is a pure function of (seed, i): a file, a table written in chunks
 * and a batch filled out of order all hold the same values, and the same
 * options give the same bytes on every run and machine.
 *
 * Threads: every function is reentrant; nothing is shared.
 */
#ifndef TARN_GEN_GEN_H
#define TARN_GEN_GEN_H

#include "base/error.h"
#include "delta/delta.h"
#include "parquet/parquet.h"
#include "vec/vec.h"

#include <stdbool.h>
#include <stdint.h>

/* Most rows one run generates (1000 times TPC-H scale factor 1). */
#define GEN_ROWS_MAX ((int64_t)6000000000)
/* Rows per TPC-H scale factor (dbgen's lineitem has about 6,001,215). */
#define GEN_LINEITEM_ROWS_PER_SF 6000000
/* Rows per batch the writers generate and hand on. */
#define GEN_BATCH_ROWS 65536
/* Encoded bytes per Parquet row group (before compression): about a
 * million lineitem rows, so a scale-factor-1 file has several row groups
 * for parallel scans and row-group pruning. */
#define GEN_ROW_GROUP_BYTES ((size_t)16 << 20)
/* Rows per data file (and per commit) when writing into a table. */
#define GEN_TABLE_FILE_ROWS 1048576

/* The columns, in order. */
enum {
    GEN_L_ORDERKEY,      /* BIGINT: dbgen-style sparse order keys, 4 lines per order */
    GEN_L_QUANTITY,      /* DECIMAL(15,2) (or DOUBLE): 1..50 */
    GEN_L_EXTENDEDPRICE, /* DECIMAL(15,2) (or DOUBLE): quantity * part retail price */
    GEN_L_DISCOUNT,      /* DECIMAL(15,2) (or DOUBLE): 0.00..0.10 */
    GEN_L_TAX,           /* DECIMAL(15,2) (or DOUBLE): 0.00..0.08 */
    GEN_L_RETURNFLAG,    /* VARCHAR: 'R', 'A' (received by 1995-06-17) or 'N' */
    GEN_L_LINESTATUS,    /* VARCHAR: 'O' (shipped after 1995-06-17) or 'F' */
    GEN_L_SHIPDATE,      /* DATE: 1992-01-02 .. 1998-12-01 */
    GEN_LINEITEM_NCOLS
};

typedef struct gen_lineitem_opts {
    int64_t rows;  /* 0..GEN_ROWS_MAX */
    uint64_t seed; /* any value; 0 is a seed like the others */
    /* The four money and quantity columns as DOUBLE (what lineitem-gen.sql
     * writes) instead of DECIMAL(15,2) (what TPC-H specifies). */
    bool doubles;
    /* Tables: rows per data file and commit; 0: GEN_TABLE_FILE_ROWS. */
    int64_t table_file_rows;
} gen_lineitem_opts;

/* Column names (static strings) and types for the options. */
const char *gen_lineitem_col_name(uint32_t col);
vec_type_info gen_lineitem_col_type(const gen_lineitem_opts *o, uint32_t col);

/* Prepares `b` with the lineitem columns and room for `cap` rows.
 * TARN_EINVAL (cap), TARN_ENOMEM; on error nothing is left to free. */
int gen_lineitem_batch_init(const gen_lineitem_opts *o, vec_batch *b, uint32_t cap);

/* Resets `b` (from gen_lineitem_batch_init with the same options) and fills
 * it with rows first_row .. first_row + n - 1. TARN_EINVAL when the range
 * leaves [0, o->rows) or n exceeds the batch's capacity, TARN_ENOMEM. */
int gen_lineitem_fill(const gen_lineitem_opts *o, int64_t first_row, uint32_t n, vec_batch *b,
                      tarn_err *err);

/* Progress callback: rows done so far. May be NULL. */
typedef void (*gen_progress_fn)(void *ctx, int64_t rows_done);

/*
 * Writes the whole table as one Parquet file through `sink` (snappy pages,
 * row groups of GEN_ROW_GROUP_BYTES encoded bytes, statistics in the footer).
 * TARN_EINVAL (options), TARN_ENOMEM, writer and sink errors.
 */
int gen_lineitem_write_parquet(const gen_lineitem_opts *o, pq_sink_fn sink, void *sink_ctx,
                               gen_progress_fn progress, void *progress_ctx, tarn_err *err);

/*
 * Creates Delta table `name` in `os` through committer `c` (both borrowed)
 * when it does not exist (an existing table must have exactly the lineitem
 * schema of these options, else TARN_EINVAL), then appends the rows in
 * files of o->table_file_rows rows, one commit each. *version_out (may be
 * NULL) is the last version written. TARN_EINVAL, TARN_ENOMEM, committer,
 * Delta, Parquet and store errors (rows committed before an error stay).
 */
int gen_lineitem_write_table(const gen_lineitem_opts *o, delta_committer *c, objstore *os,
                             const char *name, gen_progress_fn progress, void *progress_ctx,
                             int64_t *version_out, tarn_err *err);

#endif
