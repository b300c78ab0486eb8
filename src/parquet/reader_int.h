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
    char **col_names; /* owned dotted names */
};

#endif
