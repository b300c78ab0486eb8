/*
 * wal/wal_open.c: opening and closing a WAL handle. The reading of the
 * segments is in recover.c. Design note: src/wal/README.md.
 */
#include "wal/wal_int.h"

#include "base/alloc.h"

#include <stdlib.h>
#include <string.h>

#define WAL_SUBMIT_QUEUE_DEFAULT 1024
#define WAL_WBUF_MAX_BYTES       ((64u << 20) + (2u << 20))

static int wal_opts_check(const wal_opts *o, tarn_err *err)
{
    if (o->segment_size_bytes != 0 && (o->segment_size_bytes < WAL_SEGMENT_SIZE_MIN ||
                                       o->segment_size_bytes > WAL_SEGMENT_SIZE_MAX))
        return tarn_err_set(err, TARN_EINVAL, "wal: segment size %llu outside [%u, %u]",
                            (unsigned long long)o->segment_size_bytes, WAL_SEGMENT_SIZE_MIN,
                            WAL_SEGMENT_SIZE_MAX);
    if (o->prealloc != WAL_PREALLOC_ZERO_AHEAD && o->prealloc != WAL_PREALLOC_ZERO &&
        o->prealloc != WAL_PREALLOC_FALLOCATE)
        return tarn_err_set(err, TARN_EINVAL, "wal: unknown preallocation mode %d",
                            (int)o->prealloc);
    if (o->submit_queue_max > WAL_SUBMIT_QUEUE_MAX)
        return tarn_err_set(err, TARN_EINVAL, "wal: submit queue %zu above %d", o->submit_queue_max,
                            WAL_SUBMIT_QUEUE_MAX);
    return 0;
}

static void wal_free(wal *w)
{
    wal_spare_stop(w); /* first: the preparer thread reads the handle */
    wal_direct_detach(w);
    free(w->direct_buf); /* posix_memalign's (direct.c) */
    if (w->cur_fd >= 0)
        w->vfs.close(w->vfs.ctx, w->cur_fd); /* nothing more to do on error */
    if (w->lock_fd >= 0)
        w->vfs.close(w->vfs.ctx, w->lock_fd); /* releases the directory lock */
    wal_state_free(&w->st);
    tarn_buf_free(&w->wbuf);
    tarn_free(w->segs);
    tarn_free(w->q);
    tarn_free(w->dir);
    pthread_cond_destroy(&w->q_cv);
    pthread_mutex_destroy(&w->q_mu);
    pthread_mutex_destroy(&w->io_mu);
    tarn_free(w);
}

static int wal_new(const char *dir, const wal_opts *o, wal **out, tarn_err *err)
{
    wal *w = tarn_calloc(1, sizeof(*w));
    if (w == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "wal open %s", dir);
    w->cur_fd = -1;
    w->direct_fd = -1;
    w->lock_fd = -1;
    pthread_mutex_init(&w->io_mu, NULL);
    pthread_mutex_init(&w->q_mu, NULL);
    pthread_cond_init(&w->q_cv, NULL);
    tarn_buf_init(&w->wbuf, WAL_WBUF_MAX_BYTES);
    wal_state_init(&w->st, 0, 0);
    w->vfs = o->vfs ? *o->vfs : *wal_vfs_posix();
    w->segment_size_bytes =
        o->segment_size_bytes ? o->segment_size_bytes : WAL_SEGMENT_SIZE_DEFAULT;
    w->q_cap = o->submit_queue_max ? o->submit_queue_max : WAL_SUBMIT_QUEUE_DEFAULT;
    w->repair_torn_batch = o->repair_torn_batch;
    w->prealloc = o->prealloc;
    w->dir = tarn_strdup(dir);
    w->q = tarn_calloc(w->q_cap, sizeof(*w->q));
    if (wal_spare_init(w) != 0 || w->dir == NULL || w->q == NULL) {
        wal_free(w);
        return tarn_err_set(err, TARN_ENOMEM, "wal open %s", dir);
    }
    wal_metrics_init(w, o->metrics ? o->metrics : obs_global());
    *out = w;
    return 0;
}

int wal_open(const char *dir, const wal_opts *opts, wal **out, wal_recovered *recovered,
             tarn_err *err)
{
    TARN_ASSERT(dir != NULL);
    TARN_ASSERT(out != NULL);
    TARN_ASSERT(recovered != NULL);
    wal_opts o = opts ? *opts : (wal_opts){0};
    memset(recovered, 0, sizeof(*recovered));
    *out = NULL;
    int rc = wal_opts_check(&o, err);
    wal *w = NULL;
    if (rc == 0)
        rc = wal_new(dir, &o, &w, err);
    if (rc != 0)
        return rc;
    if (w->vfs.lock_dir != NULL) {
        rc = w->vfs.lock_dir(w->vfs.ctx, dir, &w->lock_fd);
        if (rc != 0) {
            wal_free(w);
            return tarn_err_set(err, rc, "wal open %s: %s", dir,
                                rc == TARN_EBUSY ? "in use by another process (LOCK is held)"
                                                 : "cannot lock the directory");
        }
    }
    rc = wal_recover(w, recovered, err);
    if (rc != 0) {
        wal_free(w);
        return rc;
    }
    TARN_ASSERT(w->cur_fd >= 0);
    TARN_ASSERT(w->seg_count > 0);
    TARN_ASSERT(w->st.last_index == recovered->last_index);
    TARN_ASSERT(w->st.count == recovered->entry_count);
    wal_spare_start(w);
    *out = w;
    return 0;
}

void wal_close(wal *w)
{
    if (w == NULL)
        return;
    TARN_ASSERT(w->q_len == 0);
    TARN_ASSERT(!w->q_leader);
    wal_free(w);
}

void wal_recovered_free(wal_recovered *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->entry_count; i++)
        tarn_free((void *)r->entries[i].data);
    tarn_free(r->entries);
    memset(r, 0, sizeof(*r));
}
