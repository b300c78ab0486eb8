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
/* A pq_read_fn over a local file: ctx points at an open file descriptor
 * (int). A short file is TARN_ECORRUPT, a failed read its errno's code. */
int pq_fd_read(void *ctx, uint64_t offset, size_t len, void *dst, tarn_err *err);

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
    int16_t max_rep;       /* repetition levels: 0 for flat columns, k for k nested lists */
    int16_t list_def;      /* lists: definition level of a present but empty list */
    /* Lists of lists: list_defs[i] is list_def of the list at depth i (the
     * outermost at 0; list_defs[0] == list_def), for i < max_rep. */
    int16_t list_defs[VEC_LIST_DEPTH_MAX];
    vec_type_info type; /* what the scan produces (list depth max_rep) */
    int unsupported;    /* 0, or TARN_ENOTSUP when we cannot read it yet */
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

/* Row groups, from the footer (no I/O): how many, and rows in each (0 for
 * rg out of range). A parallel scan gives each thread its own pq_scan over
 * a range of row groups (pq_scan_opts.rg_first / rg_count). */
uint32_t pq_file_nrow_groups(const pq_file *f);
int64_t pq_file_row_group_rows(const pq_file *f, uint32_t rg);

/* Statistics of leaf `leaf` in row group `rg`, from the footer (no I/O).
 * null_count is -1 when the file has none. min and max, when min_max is
 * true, are appended to `min_out` / `max_out` (both columns of exactly the
 * leaf's vec type without the list flag: statistics of a list are over its
 * elements) as one more row each; they are given only where the file has
 * both and their order is the type's (not for floats, INT96, or legacy
 * min/max of unsigned, string and byte-array decimal columns).
 * TARN_EINVAL for a bad rg, leaf or output column, TARN_ECORRUPT when the
 * bytes do not fit the type, TARN_ERANGE when an output is full,
 * TARN_ENOMEM. */
typedef struct pq_rg_stats {
    int64_t null_count; /* -1: unknown */
    int64_t num_values; /* levels in the chunk (rows, for a flat column) */
    bool min_max;       /* a row was appended to min_out and max_out */
} pq_rg_stats;
int pq_file_column_stats(const pq_file *f, uint32_t rg, uint32_t leaf, vec_col *min_out,
                         vec_col *max_out, pq_rg_stats *out);

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
    /* Within the row groups kept, rows of data pages whose own statistics
     * (page header min/max/null count) prove that no row satisfies the
     * predicates are not returned either, in any column; the rows returned
     * are still NOT filtered (a batch may be shorter than batch_rows: it
     * ends where skipped rows start). Only when every projected column is
     * flat, and for predicates on projected columns. no_page_skip turns
     * this off (row groups are still skipped). */
    bool no_page_skip;
    /* Only row groups [rg_first, rg_first + rg_count) are scanned (a
     * morsel of a parallel scan); rg_count 0 means up to the last one.
     * TARN_EINVAL when the range is not inside the file. */
    uint32_t rg_first;
    uint32_t rg_count;
} pq_scan_opts;

typedef struct pq_scan pq_scan;

/* Starts a scan of the row groups in range (all by default). TARN_EINVAL
 * for a bad column index or row group range,
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
/* Data pages (of any projected column) passed over without decoding, and
 * rows not returned, because of page statistics (pq_scan_opts.preds). */
uint64_t pq_scan_skipped_pages(const pq_scan *s);
uint64_t pq_scan_skipped_rows(const pq_scan *s);

/*
 * Writing files from vec batches (flat here; nested schemas further below):
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

/*
 * Nested schemas (structs, lists, maps, any mix; Delta checkpoints): give
 * pq_writer_opts.nodes instead of .cols. The schema is a forest of nodes in
 * pre-order (each node followed by its children's subtrees), the top-level
 * nodes being the file's columns:
 *
 *   kind            nchildren  Parquet written
 *   PQ_NODE_LEAF    0          a primitive of `type` (type.list clear)
 *   PQ_NODE_STRUCT  >= 1       a group
 *   PQ_NODE_LIST    1          `name` (LIST) { repeated group list { element } }
 *   PQ_NODE_MAP     2          `name` (MAP) { repeated group key_value { key; value } }
 *
 * The child of a list is the element, the children of a map the key (a
 * required leaf) and the value; any node may be a struct, list or map. A
 * Delta checkpoint's `add` column, for example:
 *
 *   {"add", PQ_NODE_STRUCT, .nullable = true, .nchildren = 3},
 *     {"path", PQ_NODE_LEAF, {.id = VEC_STRING}, false},
 *     {"partitionValues", PQ_NODE_MAP, .nullable = true, .nchildren = 2},
 *       {"key", PQ_NODE_LEAF, {.id = VEC_STRING}, false},
 *       {"value", PQ_NODE_LEAF, {.id = VEC_STRING}, true},
 *     {"size", PQ_NODE_LEAF, {.id = VEC_I64}, false},
 *
 * The batches then carry, in the same pre-order, one column per leaf and
 * one per nullable struct:
 *  - a leaf's column holds its values; under k lists or maps (counting
 *    every list or map above it) it is a list column of depth k (type.list
 *    set and type.list_inner = k - 1, elements of the leaf's type), the
 *    same shape the reader returns: "add.partitionValues.key_value.key" is
 *    a list of strings, one list per row;
 *  - a nullable struct's column is VEC_BOOL (at the same depth as the
 *    struct: a list of booleans for a struct inside a list) whose validity
 *    says whether the struct is present; its values are ignored. Where a
 *    struct is null, the columns of its fields are not read at that row;
 *  - a list or map has no column of its own: it is null, empty or holds
 *    n elements as its leaves' columns say, which must therefore agree
 *    (same list offsets and same list validity at its level) for every
 *    column below it: TARN_EINVAL otherwise.
 * Statistics (pq_writer_stats) are per leaf, in pre-order; a null list,
 * map or struct counts as a null of each leaf below it.
 */
typedef enum pq_node_kind { PQ_NODE_LEAF, PQ_NODE_STRUCT, PQ_NODE_LIST, PQ_NODE_MAP } pq_node_kind;

typedef struct pq_write_node {
    const char *name; /* copied; NULL for a list element or a map key/value takes the
                         standard name ("element", "key", "value") */
    pq_node_kind kind;
    vec_type_info type; /* leaves: the value type, list flag clear */
    bool nullable;      /* OPTIONAL or REQUIRED (map keys must be REQUIRED) */
    uint32_t nchildren; /* see the table above */
} pq_write_node;

/* Deepest path of nodes from a top-level node to a leaf, and most nodes. */
#define PQ_WRITE_DEPTH_MAX 16
#define PQ_WRITE_NODES_MAX 4096

typedef enum pq_write_codec {
    PQ_WRITE_SNAPPY = 0, /* the default */
    PQ_WRITE_ZSTD,
    PQ_WRITE_UNCOMPRESSED,
} pq_write_codec;

#define PQ_WRITE_PAGE_BYTES_DEFAULT      ((size_t)1 << 20)
#define PQ_WRITE_ROW_GROUP_BYTES_DEFAULT ((size_t)128 << 20)
#define PQ_WRITE_DICT_BYTES_DEFAULT      ((size_t)1 << 20)

typedef struct pq_writer_opts {
    const pq_write_col *cols; /* a flat schema (lists one level deep), or: */
    uint32_t ncols;
    const pq_write_node *nodes; /* a nested schema (see above); cols must be NULL */
    uint32_t nnodes;
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

/* TARN_EINVAL for bad options, a malformed node tree, or a column type we
 * cannot write, TARN_ENOMEM. */
int pq_writer_open(const pq_writer_opts *opts, pq_writer **out, tarn_err *err);
/* Appends the batch's live rows (its selection, when active). The batch's
 * columns must match the writer's in number and type; STRING values must be
 * valid UTF-8, required columns and fields hold no nulls, and columns under
 * the same list or map agree on its shape (else TARN_EINVAL).
 * TARN_ENOMEM, TARN_ETOOBIG, sink errors. */
int pq_writer_write(pq_writer *w, const vec_batch *b, tarn_err *err);
/* Flushes the last row group and writes the footer. */
int pq_writer_finish(pq_writer *w, tarn_err *err);
/* Rows written so far; statistics of leaf i once finished (else NULL).
 * With a flat schema the leaves are the columns. */
int64_t pq_writer_rows(const pq_writer *w);
const pq_write_stats *pq_writer_stats(const pq_writer *w, uint32_t i);
/* Leaves of the schema; leaf i's dotted path as the reader names it
 * ("add.partitionValues.key_value.key"), owned by the writer. */
uint32_t pq_writer_nleaves(const pq_writer *w);
const char *pq_writer_leaf_name(const pq_writer *w, uint32_t i);
/* Columns a batch must have: one per leaf and per nullable struct. */
uint32_t pq_writer_batch_ncols(const pq_writer *w);
/* Frees the writer (finished or not). Accepts NULL. */
void pq_writer_close(pq_writer *w);

#endif
