/*
 * delta/source.c: a Parquet byte source over the object store, so that
 * data files and checkpoints are read by range (footer, then the column
 * chunks a scan needs) rather than whole.
 */
#include "delta/source_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

static int obj_read(void *ctx, uint64_t offset, size_t len, void *dst, tarn_err *err)
{
    delta_obj_src *s = ctx;
    tarn_buf b;
    tarn_buf_init(&b, len + 1);
    int rc = objstore_get_range(s->os, s->key, offset, len, &b, err);
    if (rc == 0 && b.len != len)
        rc = tarn_err_set(err, TARN_ECORRUPT, "%s: short read: %zu of %zu bytes at %llu", s->key,
                          b.len, len, (unsigned long long)offset);
    if (rc == 0)
        memcpy(dst, b.data, len);
    tarn_buf_free(&b);
    return rc;
}

int delta_obj_src_open(objstore *os, const char *key, int64_t expect_size, delta_obj_src *src,
                       pq_file **out, tarn_err *err)
{
    *out = NULL;
    snprintf(src->key, sizeof(src->key), "%s", key);
    src->os = os;
    objstore_info info;
    int rc = objstore_head(os, key, &info, err);
    if (rc != 0)
        return rc;
    /* The add action's size must be the object's: a different size means
     * the file was replaced behind the log's back. */
    if (expect_size >= 0 && (uint64_t)expect_size != info.size_bytes)
        return tarn_err_set(err, TARN_ECORRUPT, "%s: the log says %lld bytes, the object has %llu",
                            key, (long long)expect_size, (unsigned long long)info.size_bytes);
    pq_source ps = {.read = obj_read, .ctx = src, .size = info.size_bytes, .name = key};
    return pq_file_open(&ps, out, err);
}
