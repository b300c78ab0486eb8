/*
 * tests/unit/wal/fault_vfs.h: a wal_vfs over the real disk that can fail
 * the nth write or sync, slow syncs down, or hold syncs until released,
 * for the sticky-failure and group-commit tests.
 */
#ifndef TARN_TEST_WAL_FAULT_VFS_H
#define TARN_TEST_WAL_FAULT_VFS_H

#include "base/error.h"
#include "wal/vfs.h"

#include <pthread.h>
#include <time.h>

typedef struct fault_vfs {
    wal_vfs vfs; /* the one to hand to wal_open */
    const wal_vfs *base;
    int pwrites, syncs;               /* calls so far */
    int fail_pwrite_at, fail_sync_at; /* 1-based call number to fail; 0: never */
    long sync_delay_us;
    int hold_syncs; /* while set, fdatasync waits */
    int held;       /* syncs waiting now */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} fault_vfs;

static inline fault_vfs *fv_of(void *ctx)
{
    return (fault_vfs *)ctx;
}

static inline int fv_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    fault_vfs *f = fv_of(ctx);
    pthread_mutex_lock(&f->mu);
    int n = ++f->pwrites;
    pthread_mutex_unlock(&f->mu);
    if (n == f->fail_pwrite_at)
        return TARN_EIO;
    return f->base->pwrite(f->base->ctx, fd, buf, len, off);
}

static inline int fv_fdatasync(void *ctx, int fd)
{
    fault_vfs *f = fv_of(ctx);
    pthread_mutex_lock(&f->mu);
    int n = ++f->syncs;
    f->held++;
    pthread_cond_broadcast(&f->cv);
    while (f->hold_syncs)
        pthread_cond_wait(&f->cv, &f->mu);
    f->held--;
    pthread_mutex_unlock(&f->mu);
    if (f->sync_delay_us > 0) {
        struct timespec ts = {0, f->sync_delay_us * 1000};
        nanosleep(&ts, NULL);
    }
    if (n == f->fail_sync_at)
        return TARN_EIO;
    return f->base->fdatasync(f->base->ctx, fd);
}

static inline void fault_vfs_init(fault_vfs *f)
{
    *f = (fault_vfs){0};
    f->base = wal_vfs_posix();
    f->vfs = *f->base;
    f->vfs.ctx = f;
    f->vfs.pwrite = fv_pwrite;
    f->vfs.fdatasync = fv_fdatasync;
    /* Calls are counted to fail the nth one: keep them in one thread's
     * order (the next segment is then prepared inline). */
    f->vfs.thread_safe = 0;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
}

static inline void fault_vfs_release(fault_vfs *f)
{
    pthread_mutex_lock(&f->mu);
    f->hold_syncs = 0;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* Waits until at least n syncs are held. */
static inline void fault_vfs_wait_held(fault_vfs *f, int n)
{
    pthread_mutex_lock(&f->mu);
    while (f->held < n)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static inline void fault_vfs_destroy(fault_vfs *f)
{
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
}

#endif
