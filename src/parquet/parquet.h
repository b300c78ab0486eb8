/*
 * parquet/parquet.h: reading Parquet files into vec batches (pq_file,
 * pq_scan) and writing them from vec batches (pq_writer, further below).
 * Design note and format tables: parquet/README.md. The `tarn parquet`
 * command is parquet/tool.h.
 *
 * Reading:
 *
 *   pq_source src = {.read = my_read, .ctx = obj, .size = file_size, .name = "t/a.parquet"};
 *   pq_file *f;  pq_file_open(&src, &f, &err);
 *   pq_scan *s;  pq_scan_open(f, &(pq_scan_opts){.columns = idx, .ncols = 2}, &s, &err);
 *   vec_batch b; pq_scan_batch_init(s, &b);
 *   while ((rc = pq_scan_next(s, &b, &err)) == 0 && b.len > 0) { ...use b... }
 *   vec_batch_free(&b); pq_scan_close(s); pq_file_close(f);
 *
 * The file is read through a callback by byte range: the footer first, then
 * one range per projected column chunk per row group, so an object store
 * fetches only what a query needs.
 *
 * Untrusted input: a truncated, corrupt or hostile file gives TARN_ECORRUPT
 * with a message naming the file, row group, column and page; features we
 * do not implement give TARN_ENOTSUP. Sizes declared by the file are checked
 * against each other and against the scan's memory budget (TARN_ENOMEM_BUDGET)
 * before anything is allocated.
 *
 * Threads: a pq_file may be shared by scans on several threads once open
 * (its read callback must then be thread-safe); a pq_scan belongs to one
 * thread.
 */
#ifndef TARN_PARQUET_PARQUET_H
#define TARN_PARQUET_PARQUET_H

#include "base/error.h"
#include "parquet/meta.h"
#include "vec/vec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest footer we accept. */
#define PQ_FOOTER_MAX ((size_t)64 << 20)
/* Default scan memory budget when the caller gives none. */
#define PQ_SCAN_BUDGET_DEFAULT ((size_t)512 << 20)
/* Deepest schema nesting we accept. */
#define PQ_SCHEMA_DEPTH_MAX 64

/* Reads exactly `len` bytes at `offset` into `dst`. Returns 0 or a TARN_E*
 * code (with context in err). Called only with ranges inside [0, size). */
typedef int (*pq_read_fn)(void *ctx, uint64_t offset, size_t len, void *dst, tarn_err *err);

typedef struct pq_source {
    pq_read_fn read;
    void *ctx;        /* passed to read; borrowed for the file's lifetime */
    uint64_t size;    /* file size in bytes */
    const char *name; /* for error messages; copied */
} pq_source;

/* A leaf column of the file's schema. */
typedef struct pq_column_info {
    const char *name;      /* dotted path ("a.b"); owned by the file */
    uint32_t schema_index; /* into pq_meta.schema */
    int32_t physical;      /* enum pq_type */
    int32_t type_length;   /* FIXED_LEN_BYTE_ARRAY bytes */
    int16_t max_def;       /* definition levels: 0 when required all the way */
    int16_t max_rep;       /* repetition levels: 0 for flat columns, 1 for lists */
    int16_t list_def;      /* lists: definition level of a present but empty list */
    vec_type_info type;    /* what the scan produces */
    int unsupported;       /* 0, or TARN_ENOTSUP when we cannot read it yet */
} pq_column_info;

typedef struct pq_file pq_file;

/* Opens a file: reads and checks the magic numbers and the footer, and
 * resolves the schema into leaf columns. TARN_ECORRUPT, TARN_ENOMEM,
 * errors of the read callback. On error nothing is left to free. */
int pq_file_open(const pq_source *src, pq_file **out, tarn_err *err);
/* Same, over bytes in memory (borrowed until pq_file_close). Scans read
 * the column chunks in place, without copying them (an mmap of a file
 * makes a zero-copy scan). */
int pq_file_open_bytes(const void *data, size_t len, const char *name, pq_file **out,
                       tarn_err *err);
void pq_file_close(pq_file *f);

const pq_meta *pq_file_meta(const pq_file *f);
uint32_t pq_file_ncols(const pq_file *f);
const pq_column_info *pq_file_column(const pq_file *f, uint32_t i);
/* The leaf column with this dotted name, or -1. */
int pq_file_find_column(const pq_file *f, const char *name);

/* A simple predicate on one column, for skipping row groups by their
 * statistics. Comparisons take `value` (row 0 of a column of exactly the
 * leaf's vec type, valid); IS [NOT] NULL take none. */
typedef enum pq_op {
    PQ_OP_EQ,
    PQ_OP_LT,
    PQ_OP_LE,
    PQ_OP_GT,
    PQ_OP_GE,
    PQ_OP_IS_NULL,
    PQ_OP_IS_NOT_NULL,
} pq_op;

typedef struct pq_predicate {
    uint32_t column; /* leaf column index */
    pq_op op;
    const vec_col *value; /* borrowed for the scan's lifetime; NULL for IS [NOT] NULL */
} pq_predicate;

typedef struct pq_scan_opts {
    const uint32_t *columns; /* leaf column indexes, or NULL: all columns */
    uint32_t ncols;
    uint32_t batch_rows;     /* rows per batch; 0: VEC_BATCH_ROWS */
    size_t mem_budget_bytes; /* 0: PQ_SCAN_BUDGET_DEFAULT */
    bool keep_dict;          /* strings from dictionary pages stay as codes */
    /* Row groups whose statistics prove that no row satisfies all of these
     * (AND) are skipped without reading them. Rows of the row groups kept
     * are NOT filtered: that is the executor's job. Statistics are used only
     * where their order is the type's (not for floats, INT96, or legacy
     * min/max of unsigned, decimal byte-array and string columns). */
    const pq_predicate *preds;
    uint32_t npreds;
} pq_scan_opts;

typedef struct pq_scan pq_scan;

/* Starts a scan of all row groups. TARN_EINVAL for a bad column index,
 * TARN_ENOTSUP for a column we cannot read yet, TARN_ENOMEM. */
int pq_scan_open(pq_file *f, const pq_scan_opts *opts, pq_scan **out, tarn_err *err);
/* Prepares `b` with the scan's column types and batch size. */
int pq_scan_batch_init(const pq_scan *s, vec_batch *b);
/* Fills `b` (reset first) with the next rows; b->len == 0 at the end. A
 * batch never spans two row groups. After an error the scan is unusable
 * (TARN_ESTATE). */
int pq_scan_next(pq_scan *s, vec_batch *b, tarn_err *err);
void pq_scan_close(pq_scan *s);
/* Row groups skipped so far by the predicates. */
uint32_t pq_scan_skipped_row_groups(const pq_scan *s);

/*
 * Writing flat files from vec batches:
 *
 *   pq_write_col cols[] = {{"id", {.id = VEC_I64}, false}, {"name", {.id = VEC_STRING}, true}};
 *   pq_writer *w;
 *   pq_writer_open(&(pq_writer_opts){.cols = cols, .ncols = 2, .sink = put, .sink_ctx = obj},
 *                  &w, &err);
 *   pq_writer_write(w, &batch, &err);   ... as often as needed
 *   pq_writer_finish(w, &err);          writes the footer
 *   pq_writer_stats(w, 0)->null_count   statistics for the caller (Delta's `stats`)
 *   pq_writer_close(w);
 *
 * Each column chunk is dictionary encoded (RLE_DICTIONARY data pages after a
 * PLAIN dictionary page) until its dictionary passes dict_max_bytes, after
 * which the rest of the chunk is PLAIN (or, with page_v2, the DELTA and
 * BYTE_STREAM_SPLIT encodings). Levels are RLE; pages are data page v1
 * unless page_v2. A row group is buffered in memory until its encoded size reaches
 * row_group_bytes, so memory use is about row_group_bytes plus one page per
 * column. Bytes go out through the sink in order, never seeking back.
 *
 * After any error the writer refuses further work (TARN_ESTATE); the bytes
 * already given to the sink are not a valid file.
 */

/* Called with the file's bytes in order. Returns 0 or a TARN_E* code. */
typedef int (*pq_sink_fn)(void *ctx, const void *data, size_t len, tarn_err *err);

typedef struct pq_write_col {
    const char *name;   /* copied */
    vec_type_info type; /* the vec type of the batches' column; .list: a LIST
                           column (3 levels: name, list, element; elements
                           may be null) */
    bool nullable;      /* OPTIONAL (may hold nulls) or REQUIRED; for a list, the list */
} pq_write_col;

typedef enum pq_write_codec {
    PQ_WRITE_SNAPPY = 0, /* the default */
    PQ_WRITE_ZSTD,
    PQ_WRITE_UNCOMPRESSED,
} pq_write_codec;

#define PQ_WRITE_PAGE_BYTES_DEFAULT      ((size_t)1 << 20)
#define PQ_WRITE_ROW_GROUP_BYTES_DEFAULT ((size_t)128 << 20)
#define PQ_WRITE_DICT_BYTES_DEFAULT      ((size_t)1 << 20)

typedef struct pq_writer_opts {
    const pq_write_col *cols;
    uint32_t ncols;
    pq_sink_fn sink;
    void *sink_ctx; /* borrowed until pq_writer_close */
    pq_write_codec codec;
    size_t page_bytes;      /* target encoded page size; 0: default */
    size_t row_group_bytes; /* target encoded row group size; 0: default */
    size_t dict_max_bytes;  /* dictionary size before PLAIN fallback; 0: default */
    bool no_dict;           /* no dictionaries */
    /* Data page v2 (levels stored uncompressed ahead of the values), and
     * instead of PLAIN: DELTA_BINARY_PACKED for INT32/INT64,
     * DELTA_BYTE_ARRAY for byte arrays, BYTE_STREAM_SPLIT for FLOAT/DOUBLE. */
    bool page_v2;
    const char *name; /* for error messages; copied */
} pq_writer_opts;

/* Column statistics over the whole file. min/max are the PLAIN encoding of
 * the column's physical type (byte arrays without their length prefix),
 * as in the footer; absent when every value is null (or NaN). */
typedef struct pq_write_stats {
    int64_t null_count;
    bool has_min_max;
    const uint8_t *min, *max; /* owned by the writer */
    uint32_t min_len, max_len;
    int32_t physical; /* enum pq_type the column was written as */
} pq_write_stats;

typedef struct pq_writer pq_writer;

/* TARN_EINVAL for bad options or a column type we cannot write, TARN_ENOMEM. */
int pq_writer_open(const pq_writer_opts *opts, pq_writer **out, tarn_err *err);
/* Appends the batch's live rows (its selection, when active). The batch's
 * columns must match the writer's in number and type; STRING values must be
 * valid UTF-8 and required columns hold no nulls (else TARN_EINVAL).
 * TARN_ENOMEM, TARN_ETOOBIG, sink errors. */
int pq_writer_write(pq_writer *w, const vec_batch *b, tarn_err *err);
/* Flushes the last row group and writes the footer. */
int pq_writer_finish(pq_writer *w, tarn_err *err);
/* Rows written so far; statistics of column i once finished (else NULL). */
int64_t pq_writer_rows(const pq_writer *w);
const pq_write_stats *pq_writer_stats(const pq_writer *w, uint32_t i);
/* Frees the writer (finished or not). Accepts NULL. */
void pq_writer_close(pq_writer *w);

#endif
