/*
 * objstore/objstore_int.h: the backend vtable behind objstore.h.
 *
 * objstore.c does what every backend shares (URL dispatch, key checks,
 * metrics, error context naming the key); a backend only moves bytes. Keys
 * reaching a backend have passed objstore_key_check; prefixes and
 * start_after have passed their checks too. A backend fills `err` with the
 * root cause only; objstore.c wraps it with the operation and key.
 *
 * Threads: every function but close may be called from many threads at
 * once on one backend instance.
 */
#ifndef TARN_OBJSTORE_INT_H
#define TARN_OBJSTORE_INT_H

#include "objstore/objstore.h"

typedef struct objstore_backend objstore_backend;

typedef enum objstore_put_mode {
    OBJSTORE_PUT_REPLACE,
    OBJSTORE_PUT_IF_ABSENT,
} objstore_put_mode;

typedef struct objstore_backend_ops {
    const char *name; /* metrics label: "file", later "s3" */
    void (*close)(objstore_backend *be);
    int (*put)(objstore_backend *be, const char *key, const void *data, size_t len,
               objstore_put_mode mode, tarn_err *err);
    /* Appends [offset, offset+len) clipped at the end; whole object when
     * whole != 0 (then len is the maximum and over it is TARN_ETOOBIG). */
    int (*read)(objstore_backend *be, const char *key, uint64_t offset, size_t len, int whole,
                tarn_buf *out, tarn_err *err);
    int (*head)(objstore_backend *be, const char *key, objstore_info *out, tarn_err *err);
    int (*del)(objstore_backend *be, const char *key, tarn_err *err);
    int (*list)(objstore_backend *be, const char *prefix, const char *start_after, size_t max_keys,
                objstore_list_page *out, tarn_err *err);
    int (*temp_sweep)(objstore_backend *be, int64_t older_than_s, size_t *removed, tarn_err *err);
} objstore_backend_ops;

/*
 * Opens the file backend rooted at `path` (absolute, borrowed), creating
 * it when missing. *be_out is owned by the caller (ops->close); *url_out is
 * the normalised URL, owned by the caller (tarn_free).
 */
int objstore_file_open(const char *path, const objstore_backend_ops **ops_out,
                       objstore_backend **be_out, char **url_out, tarn_err *err);

/* Whether `name` (a directory entry, `len` bytes) may be a key segment;
 * the file backend uses it to skip foreign files when listing. */
int objstore_segment_ok(const char *name, size_t len);

#endif
