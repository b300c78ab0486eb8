/*
 * vec/vec.h: typed column batches, the unit of data that readers (Parquet)
 * produce and the vectorized executor consumes.
 *
 * A batch holds up to `cap` rows (VEC_BATCH_ROWS by default) of several
 * columns. Each column is one typed array:
 *
 *   kind            values                               validity
 *   fixed width     data[cap * vec_type_width(type)]     bitmap, bit i set = row i valid
 *   string/binary   offsets[cap + 1] into bytes[]        same
 *   dictionary      codes[cap] (uint32) into a vec_dict  same
 *
 * A list column (type.list) holds, per row, elements
 * elems[list_offsets[i] .. list_offsets[i+1]) of a child column `elems` of
 * the same type without the list flag; the row's own validity says whether
 * the list is null, the child's whether an element is. The child grows as
 * elements arrive, up to VEC_ROWS_MAX elements. Lists of lists
 * (type.list_inner > 0) have a child that is itself a list column, with
 * list_inner - 1 further levels, at most VEC_LIST_DEPTH_MAX levels in all.
 *
 * Strings may be stored either flat (offsets + bytes) or as dictionary codes
 * into a shared, reference-counted vec_dict. A reader keeps codes when the
 * source data was dictionary encoded: comparisons and group-by can then work
 * on the codes, and the dictionary is decoded once per column chunk rather
 * than once per row. vec_col_str() reads either form.
 *
 * The selection vector: `sel` lists, in ascending order, the row indexes of
 * the batch that are live (sel_count of them); sel == NULL means all rows
 * 0..len-1 are live. Filters narrow the selection instead of moving data.
 *
 * Invariants (checked by vec_col_check in debug builds):
 *  1. len <= cap <= VEC_ROWS_MAX.
 *  2. A flat string column has offsets[0] == 0, offsets non-decreasing,
 *     offsets[len] == bytes_len <= bytes_cap <= VEC_COL_BYTES_MAX.
 *  3. A dictionary column has dict != NULL and codes[i] < dict->count for
 *     every valid row i < len (invalid rows hold code 0 but are never read).
 *  4. validity == NULL means every row is valid; otherwise bits at and past
 *     len are unspecified.
 *  5. Values of invalid rows are unspecified but initialised (zeroes), so
 *     vectorized kernels may compute on them and discard the result.
 *
 * Ownership: a column owns its data, offsets, bytes, codes and validity; it
 * holds one reference on its dictionary. vec_batch owns its columns and its
 * selection vector.
 *
 * Threads: a batch belongs to one thread at a time, but may be handed to
 * another thread. The vec_dict reference count is atomic, so columns on
 * different threads may share (retain, release) one dictionary; its
 * contents are immutable once created.
 */
#ifndef TARN_VEC_VEC_H
#define TARN_VEC_VEC_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The default number of rows per batch: big enough to amortise per-batch
 * work, small enough that a few columns stay in L2 cache. */
#define VEC_BATCH_ROWS 2048
/* Hard limit on rows per batch (codes and offsets are uint32). */
#define VEC_ROWS_MAX (1u << 20)
/* Deepest nesting of lists (a list of lists of ... counts each level). */
#define VEC_LIST_DEPTH_MAX 8
/* Hard limit on string bytes held by one column of one batch. */
#define VEC_COL_BYTES_MAX ((size_t)1 << 31)

typedef enum vec_type {
    VEC_BOOL,       /* uint8_t, 0 or 1 */
    VEC_I8,         /* int8_t */
    VEC_I16,        /* int16_t */
    VEC_I32,        /* int32_t */
    VEC_I64,        /* int64_t */
    VEC_U8,         /* uint8_t */
    VEC_U16,        /* uint16_t */
    VEC_U32,        /* uint32_t */
    VEC_U64,        /* uint64_t */
    VEC_F32,        /* float */
    VEC_F64,        /* double */
    VEC_DATE,       /* int32_t days since 1970-01-01 */
    VEC_TIME,       /* int64_t since midnight, in `unit` */
    VEC_TIMESTAMP,  /* int64_t since 1970-01-01 00:00:00, in `unit` */
    VEC_DECIMAL64,  /* int64_t unscaled value; precision <= 18 */
    VEC_DECIMAL128, /* vec_i128 unscaled value; precision <= 38 */
    VEC_STRING,     /* UTF-8 text: offsets + bytes, or dictionary codes */
    VEC_BINARY,     /* bytes: offsets + bytes, or dictionary codes */
    VEC_TYPE_COUNT
} vec_type;

typedef enum vec_time_unit { VEC_UNIT_MILLIS, VEC_UNIT_MICROS, VEC_UNIT_NANOS } vec_time_unit;

/* A 128-bit two's complement integer as two 64-bit halves, so that no
 * compiler extension is needed; lo holds the low 64 bits. */
typedef struct vec_i128 {
    uint64_t lo;
    int64_t hi;
} vec_i128;

/* The full logical type of a column. */
typedef struct vec_type_info {
    vec_type id;
    vec_time_unit unit; /* VEC_TIME and VEC_TIMESTAMP */
    bool utc;           /* VEC_TIME, VEC_TIMESTAMP: adjusted to UTC */
    uint8_t precision;  /* decimals: total digits */
    uint8_t scale;      /* decimals: digits after the point */
    bool list;          /* each row is a list of values of this type */
    uint8_t list_inner; /* lists: levels of list below the first (0: a list of
                           values; 1: a list of lists of values; ...) */
} vec_type_info;

/* A shared dictionary of strings (or binaries). Created with one reference
 * owned by the caller. */
typedef struct vec_dict {
    uint32_t refs;     /* owners (atomic: __atomic builtins); freed at zero */
    uint32_t count;    /* entries */
    uint32_t *offsets; /* count + 1 entries, offsets[0] == 0 */
    uint8_t *bytes;    /* offsets[count] bytes */
} vec_dict;

typedef struct vec_col {
    vec_type_info type;
    uint32_t len;           /* rows in use */
    uint32_t cap;           /* rows allocated */
    uint8_t *validity;      /* (cap + 7) / 8 bytes, or NULL: all valid */
    void *data;             /* fixed width: cap * width bytes; NULL for strings */
    uint32_t *offsets;      /* flat strings: cap + 1 entries */
    uint8_t *bytes;         /* flat strings: bytes_cap bytes */
    size_t bytes_len;       /* flat strings: bytes used */
    size_t bytes_cap;       /* flat strings: bytes allocated */
    uint32_t *codes;        /* dictionary strings: cap entries, allocated lazily */
    vec_dict *dict;         /* dictionary strings: one reference held, or NULL */
    uint32_t *list_offsets; /* lists: cap + 1 entries into elems */
    struct vec_col *elems;  /* lists: the elements, a growable non-list column */
} vec_col;

typedef struct vec_batch {
    uint32_t ncols;
    uint32_t len;       /* rows in every column */
    uint32_t cap;       /* rows each column can hold */
    vec_col *cols;      /* ncols columns */
    uint32_t *sel;      /* cap entries when allocated; see the file comment */
    uint32_t sel_count; /* live rows when sel != NULL */
    bool sel_active;    /* sel applies; false means all rows are live */
} vec_batch;

/* Bytes per value of a fixed-width type; 0 for VEC_STRING and VEC_BINARY. */
size_t vec_type_width(vec_type t);
/* "i32", "timestamp", ... (static); "?" when out of range. */
const char *vec_type_name(vec_type t);
static inline bool vec_type_is_var(vec_type t)
{
    return t == VEC_STRING || t == VEC_BINARY;
}

/* Grows the column to hold at least `cap` rows (<= VEC_ROWS_MAX), keeping
 * its contents. TARN_ETOOBIG past the limit, TARN_ENOMEM. */
int vec_col_grow(vec_col *col, uint32_t cap);
/* Lists: ends row `len` with the elements appended to col->elems since the
 * previous row ended (none for an empty or null list). TARN_ERANGE when the
 * column is full. */
int vec_col_list_end(vec_col *col);

/* Prepares a column of `cap` rows (1..VEC_ROWS_MAX) of type `type`, empty.
 * Allocates the value array (and offsets for strings); validity is
 * allocated on the first null. Returns TARN_EINVAL for a bad cap,
 * TARN_ENOMEM; on error nothing is left to free. */
int vec_col_init(vec_col *col, vec_type_info type, uint32_t cap);
/* Frees everything the column holds and drops its dictionary reference.
 * Accepts a zeroed column. */
void vec_col_free(vec_col *col);
/* Empties the column (len 0, no nulls, no dictionary) and keeps its memory. */
void vec_col_reset(vec_col *col);
/* Bytes of memory the column holds (not counting a shared dictionary). */
size_t vec_col_mem_bytes(const vec_col *col);

/* Validity. vec_col_set_null allocates the bitmap on first use (all rows
 * valid) and may fail with TARN_ENOMEM. */
int vec_col_set_null(vec_col *col, uint32_t row);
static inline bool vec_col_is_valid(const vec_col *col, uint32_t row)
{
    return col->validity == NULL || ((col->validity[row >> 3] >> (row & 7)) & 1);
}
/* Nulls among rows [0, len). */
uint32_t vec_col_null_count(const vec_col *col);

/* Appends one flat string value (copied) to a string/binary column that is
 * not in dictionary form; len grows by one. TARN_ERANGE when the column is
 * full, TARN_ETOOBIG past VEC_COL_BYTES_MAX, TARN_ENOMEM. */
int vec_col_append_str(vec_col *col, const void *s, size_t len);
/* Makes room for `extra` more string bytes (one allocation for a page's
 * worth of values). Errors as vec_col_append_str. */
int vec_col_reserve_bytes(vec_col *col, size_t extra);

/* Switches an empty string/binary column to dictionary form over `dict`
 * (takes a reference) and allocates the codes. TARN_EINVAL when the column
 * is not an empty string/binary column, TARN_ENOMEM. */
int vec_col_use_dict(vec_col *col, vec_dict *dict);

/* The string at `row` of a string/binary column, flat or dictionary; the
 * pointer is borrowed and valid until the column changes. */
void vec_col_str(const vec_col *col, uint32_t row, const uint8_t **s, size_t *len);

/* Converts a dictionary column to flat form in place (for consumers that
 * do not handle codes). No-op on flat columns. TARN_ENOMEM, TARN_ETOOBIG. */
int vec_col_flatten(vec_col *col);

/* Compares row ra of a with row rb of b (same type id; both valid rows):
 * -1, 0 or 1 in the type's order (signed or unsigned integers, decimals
 * as numbers of the same scale, strings and binaries bytewise unsigned).
 * Floats order NaN after every number and equal to itself, as SQL engines
 * sort them. */
int vec_value_cmp(const vec_col *a, uint32_t ra, const vec_col *b, uint32_t rb);

/* Debug check of the invariants in the file comment; returns false and
 * never aborts, so tests can assert on it. */
bool vec_col_check(const vec_col *col);

/* Dictionary of `count` strings whose concatenation is `bytes` split at
 * `offsets` (count + 1 entries). Copies both. TARN_EINVAL for inconsistent
 * offsets, TARN_ETOOBIG past VEC_COL_BYTES_MAX, TARN_ENOMEM. */
int vec_dict_new(const uint32_t *offsets, const uint8_t *bytes, uint32_t count, vec_dict **out);
/* An empty dictionary to fill with vec_dict_take; the caller transfers
 * ownership of arrays allocated with tarn_malloc. */
int vec_dict_take(uint32_t *offsets, uint8_t *bytes, uint32_t count, vec_dict **out);
vec_dict *vec_dict_retain(vec_dict *d);
/* Drops one reference; frees at zero. Accepts NULL. */
void vec_dict_release(vec_dict *d);

/* A batch of `ncols` columns of `cap` rows each. TARN_EINVAL, TARN_ENOMEM;
 * on error nothing is left to free. */
int vec_batch_init(vec_batch *b, const vec_type_info *types, uint32_t ncols, uint32_t cap);
void vec_batch_free(vec_batch *b);
/* Empties every column and clears the selection; keeps memory. */
void vec_batch_reset(vec_batch *b);
/* Sets the selection to the given ascending rows (copied). TARN_EINVAL when
 * rows are not ascending or out of range, TARN_ENOMEM. */
int vec_batch_select(vec_batch *b, const uint32_t *rows, uint32_t count);
/* Live rows: sel_count when a selection is active, else len. */
uint32_t vec_batch_live_count(const vec_batch *b);

#endif
