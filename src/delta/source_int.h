/*
 * delta/source_int.h: Parquet files read by range through the object
 * store (delta/source.c).
 */
#ifndef TARN_DELTA_SOURCE_INT_H
#define TARN_DELTA_SOURCE_INT_H

#include "objstore/objstore.h"
#include "parquet/parquet.h"

typedef struct delta_obj_src {
    objstore *os;
    char key[OBJSTORE_KEY_MAX + 1];
} delta_obj_src;

/* Opens `key` as a Parquet file. `src` must stay in place until the file
 * is closed (it is the read callback's context). When expect_size >= 0 the
 * object must have that size (TARN_ECORRUPT otherwise). Errors of
 * objstore_head (TARN_ENOENT for a missing file) and pq_file_open. */
int delta_obj_src_open(objstore *os, const char *key, int64_t expect_size, delta_obj_src *src,
                       pq_file **out, tarn_err *err);

#endif
