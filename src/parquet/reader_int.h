/*
 * parquet/reader_int.h: the pq_file struct, shared by reader.c (open,
 * schema) and scan.c (pages, batches). Not for other modules.
 */
#ifndef TARN_PARQUET_READER_INT_H
#define TARN_PARQUET_READER_INT_H

#include "parquet/parquet.h"

struct pq_file {
    pq_source src;        /* name points at `name` */
    char *name;           /* owned copy of the source's name */
    pq_meta meta;         /* decoded footer */
    pq_column_info *cols; /* ncols leaf columns, in schema order */
    uint32_t ncols;
    char **col_names;     /* owned dotted names */
    const uint8_t *bytes; /* the whole file when opened from memory, else NULL */
};

/* Appends one PLAIN-encoded value (a statistics min or max: byte arrays
 * without their length prefix) of leaf `ci` to `out`, converted to the
 * column's vec type (`out` has that type without the list flag: statistics
 * are of the elements). TARN_ECORRUPT when the bytes do not fit the type,
 * TARN_EINVAL for a wrong `out`, TARN_ERANGE when `out` is full, TARN_ENOMEM. */
int pq_stat_to_vec(const pq_column_info *ci, const uint8_t *p, uint32_t len, vec_col *out);

#endif
