/*
 * wal/segment.c: making segment files: preallocation with written zeros,
 * the spare (the next segment file prepared ahead of the rollover that
 * needs it), and publishing a segment. Design note: src/wal/README.md
 * ("Preallocation").
 *
 * Why zeros. On ext4 and XFS, fallocate leaves unwritten extents: every
 * write into them converts extents when its I/O completes, so each
 * fdatasync after an append also writes inode and extent metadata, a
 * second serial I/O per sync (measured on ext4: about 12% of the sync
 * path's samples in ext4_write_inode). Zeros written once at creation
 * make the blocks written ones; an fdatasync then flushes data only. The
 * all-zero tail already means "end of records", so the format is the same.
 *
 * Why a spare. Writing and syncing 16 MiB of zeros takes tens of
 * milliseconds; on the rollover path every queued append would wait for
 * it. So the file for segment seq+1 is prepared as <seq+1>.wal.tmp while
 * seq is being written, and the rollover only writes the prologue into
 * it, syncs, renames, syncs the directory.
 *
 * Life of a spare (w->spare.state, under spare.mu):
 *
 *   NONE --spare_ask--> BUSY --spare_prepare ok--> READY --spare_take--> NONE
 *                         \--fails--> FAILED --spare_take (falls back)--> NONE
 *
 * spare_prepare runs on the preparer thread when the vfs is thread_safe,
 * else inline in spare_ask (right after a rollover, and at open), so a
 * simulated disk sees its write points in a fixed order and the crash
 * tests cover the same file operations.
 *
 * Invariants:
 *  1. A spare exists only under a .wal.tmp name: recovery removes it, so
 *     a power cut at any point of its life loses nothing.
 *  2. A segment exists under its final name only with a durable header
 *     (wal.c invariant 2): prologue write, fdatasync, rename, directory
 *     fsync. The spare's zeros and size were synced when it was prepared,
 *     so the rollover's fdatasync flushes one block.
 *  3. Only the thread that owns the handle's I/O (io_mu) turns a spare
 *     into a segment; the preparer touches only its own file.
 */
#include "wal/wal_int.h"

#include "base/alloc.h"
#include "base/log.h"

#include <inttypes.h>
#include <string.h>

/* Encodes the header and the restated hard state and marker into wbuf. */
static int wal_seg_prologue(wal *w, uint64_t seq, uint64_t size_bytes)
{
    int rc = tarn_buf_reserve(&w->wbuf, WAL_SEG_HDR_SIZE);
    if (rc != 0)
        return rc;
    wal_seg_hdr h = {.seq = seq, .first_index = w->st.last_index + 1, .size_bytes = size_bytes};
    wal_seg_hdr_encode(w->wbuf.data, &h);
    w->wbuf.len = WAL_SEG_HDR_SIZE;
    wal_rec_pos pos = {.seq = seq, .base_off = 0, .synced_off = 0};
    if (w->st.has_hs && (rc = wal_rec_encode_hs(&w->wbuf, pos, &w->st.hs)) != 0)
        return rc;
    if (w->st.snap_index > 0 &&
        (rc = wal_rec_encode_snap(&w->wbuf, pos, w->st.snap_index, w->st.snap_term)) != 0)
        return rc;
    return 0;
}

static uint64_t wal_seg_size_for(const wal *w, uint64_t min_bytes)
{
    /* prologue: header, hard state, marker */
    uint64_t need = WAL_SEG_HDR_SIZE + wal_frame_size(WAL_HS_BODY_SIZE) +
                    wal_frame_size(WAL_SNAP_BODY_SIZE) + min_bytes;
    uint64_t size = w->segment_size_bytes > need ? w->segment_size_bytes : need;
    return (size + 4095) & ~(uint64_t)4095;
}

static int spare_stopping(wal_spare *sp)
{
    return __atomic_load_n(&sp->stop, __ATOMIC_ACQUIRE);
}

/*
 * Creates <seq>.wal.tmp of size_bytes: fallocate (reserves the space, so a
 * full disk shows here and not on an append), then, unless the mode is
 * WAL_PREALLOC_FALLOCATE, zeros written over all of it, synced chunk by
 * chunk when `sync` (a spare: the rollover's own fdatasync then flushes
 * one block). Spares exist in the zero modes only.
 * On success *fd_out is open; on failure nothing is left open and *op
 * names the step. Touches no handle state but the zero buffer (read) and
 * the spare's stop flag, so the preparer thread may run it.
 */
static int spare_prepare(wal *w, uint64_t seq, uint64_t size_bytes, int sync, int *fd_out,
                         uint64_t *zeroed, const char **op)
{
    char tmp[4096];
    *fd_out = -1;
    *zeroed = 0;
    *op = "name";
    if (wal_seg_path(w, seq, 1, tmp, sizeof(tmp)) != 0)
        return TARN_ETOOBIG;
    int fd = -1;
    *op = "create";
    int rc = w->vfs.open(w->vfs.ctx, tmp, WAL_VFS_CREATE | WAL_VFS_TRUNC, &fd);
    if (rc == 0)
        *op = "preallocate", rc = w->vfs.fallocate(w->vfs.ctx, fd, 0, size_bytes);
    for (uint64_t off = 0; rc == 0 && w->prealloc != WAL_PREALLOC_FALLOCATE && off < size_bytes;
         off += w->spare.zeros_len) {
        if (spare_stopping(&w->spare)) {
            rc = TARN_ECLOSED;
            break;
        }
        uint64_t n = size_bytes - off < w->spare.zeros_len ? size_bytes - off : w->spare.zeros_len;
        *op = "zero-fill";
        rc = w->vfs.pwrite(w->vfs.ctx, fd, w->spare.zeros, (size_t)n, off);
        if (rc == 0)
            *zeroed += n;
        /* A spare is synced chunk by chunk: a sync of the segment being
         * appended to waits for the device's queue, so never more than one
         * chunk of zeros should be in it. */
        if (rc == 0 && sync)
            *op = "sync", rc = w->vfs.fdatasync(w->vfs.ctx, fd);
    }
    if (rc != 0) {
        if (fd >= 0)
            w->vfs.close(w->vfs.ctx, fd); /* a half-made tmp file: recovery removes it */
        return rc;
    }
    *fd_out = fd;
    return 0;
}

/* Runs spare_prepare for the spare asked for and records the outcome.
 * Called without spare.mu. */
static void spare_run(wal *w)
{
    wal_spare *sp = &w->spare;
    pthread_mutex_lock(&sp->mu);
    uint64_t seq = sp->seq, size = sp->size_bytes;
    pthread_mutex_unlock(&sp->mu);
    int fd = -1;
    uint64_t zeroed = 0;
    const char *op = "";
    int rc = spare_prepare(w, seq, size, 1, &fd, &zeroed, &op);
    if (rc != 0 && rc != TARN_ECLOSED)
        TARN_LOGF(TARN_LOG_WARN, "wal",
                  "preparing the next segment failed; the rollover will make it itself",
                  TARN_F_STR("dir", w->dir), TARN_F_UINT("segment", seq), TARN_F_STR("op", op),
                  TARN_F_ERR(rc));
    pthread_mutex_lock(&sp->mu);
    TARN_ASSERT(sp->state == WAL_SPARE_BUSY);
    sp->bytes_zeroed += zeroed;
    sp->state = rc == 0 ? WAL_SPARE_READY : WAL_SPARE_FAILED;
    sp->fd = fd;
    sp->rc = rc;
    pthread_cond_broadcast(&sp->cv);
    pthread_mutex_unlock(&sp->mu);
}

/* The preparer thread: prepares each spare asked for, until stop. */
static void *spare_main(void *arg)
{
    wal *w = arg;
    wal_spare *sp = &w->spare;
    pthread_mutex_lock(&sp->mu);
    for (;;) {
        while (!sp->stop && sp->state != WAL_SPARE_BUSY)
            pthread_cond_wait(&sp->cv, &sp->mu);
        if (sp->stop && sp->state != WAL_SPARE_BUSY)
            break;
        pthread_mutex_unlock(&sp->mu);
        spare_run(w); /* a stop cancels it between chunks */
        pthread_mutex_lock(&sp->mu);
    }
    pthread_mutex_unlock(&sp->mu);
    return NULL;
}

/* Asks for the spare of segment seq (the one after the last). */
static void spare_ask(wal *w, uint64_t seq)
{
    wal_spare *sp = &w->spare;
    if (!sp->started || w->prealloc != WAL_PREALLOC_ZERO_AHEAD)
        return;
    pthread_mutex_lock(&sp->mu);
    TARN_ASSERT(sp->state == WAL_SPARE_NONE); /* the last one was taken */
    sp->seq = seq;
    sp->size_bytes = wal_seg_size_for(w, 0);
    sp->state = WAL_SPARE_BUSY;
    pthread_cond_broadcast(&sp->cv);
    pthread_mutex_unlock(&sp->mu);
    if (!sp->threaded)
        spare_run(w);
}

/* Takes the spare for segment seq when it is ready and of the size wanted
 * (waiting while it is being prepared); 1 with *fd_out open, else 0 (the
 * caller makes the file itself: no spare, it failed, or a record larger
 * than a segment needs a larger file). */
static int spare_take(wal *w, uint64_t seq, uint64_t size_bytes, int *fd_out)
{
    wal_spare *sp = &w->spare;
    pthread_mutex_lock(&sp->mu);
    if (sp->state == WAL_SPARE_BUSY)
        w->stats.spare_waits++;
    while (sp->state == WAL_SPARE_BUSY)
        pthread_cond_wait(&sp->cv, &sp->mu);
    w->stats.bytes_zeroed += sp->bytes_zeroed;
    sp->bytes_zeroed = 0;
    int took = 0;
    if (sp->state == WAL_SPARE_READY) {
        TARN_ASSERT(sp->seq == seq); /* asked for right after the previous rollover */
        if (sp->size_bytes == size_bytes) {
            *fd_out = sp->fd;
            took = 1;
        } else {
            w->vfs.close(w->vfs.ctx, sp->fd); /* re-created larger under the same name */
        }
    }
    sp->state = WAL_SPARE_NONE;
    sp->fd = -1;
    pthread_mutex_unlock(&sp->mu);
    return took;
}

int wal_spare_init(wal *w)
{
    wal_spare *sp = &w->spare;
    sp->fd = -1;
    pthread_mutex_init(&sp->mu, NULL);
    pthread_cond_init(&sp->cv, NULL);
    sp->inited = 1;
    /* No larger than a segment: tests open many small WALs. */
    sp->zeros_len = w->segment_size_bytes < WAL_ZERO_CHUNK_BYTES ? (size_t)w->segment_size_bytes
                                                                 : WAL_ZERO_CHUNK_BYTES;
    sp->zeros = tarn_calloc(1, sp->zeros_len);
    return sp->zeros == NULL ? TARN_ENOMEM : 0;
}

void wal_spare_start(wal *w)
{
    wal_spare *sp = &w->spare;
    TARN_ASSERT(!sp->started);
    if (w->prealloc != WAL_PREALLOC_ZERO_AHEAD)
        return;
    sp->started = 1;
    if (w->vfs.thread_safe) {
        int prc = pthread_create(&sp->thread, NULL, spare_main, w);
        /* Without the thread, spares are prepared inline: slower
         * rollovers, nothing else lost. */
        sp->threaded = prc == 0;
    }
    spare_ask(w, w->segs[w->seg_count - 1].seq + 1);
}

void wal_spare_stop(wal *w)
{
    wal_spare *sp = &w->spare;
    if (!sp->inited)
        return; /* wal_new failed before wal_spare_init */
    if (sp->threaded) {
        pthread_mutex_lock(&sp->mu);
        __atomic_store_n(&sp->stop, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&sp->cv);
        pthread_mutex_unlock(&sp->mu);
        pthread_join(sp->thread, NULL);
        sp->threaded = 0;
    }
    if (sp->state == WAL_SPARE_READY)
        w->vfs.close(w->vfs.ctx, sp->fd); /* its .wal.tmp stays until the next open */
    sp->state = WAL_SPARE_NONE;
    sp->fd = -1;
    tarn_free(sp->zeros);
    sp->zeros = NULL;
    pthread_cond_destroy(&sp->cv);
    pthread_mutex_destroy(&sp->mu);
}

/* Writes the prologue (in wbuf) into the prepared file fd and publishes it
 * as segment seq (invariant 2). */
static int wal_seg_publish(wal *w, int fd, uint64_t seq, const char **op)
{
    char tmp[4096], fin[4096];
    if (wal_seg_path(w, seq, 1, tmp, sizeof(tmp)) != 0 ||
        wal_seg_path(w, seq, 0, fin, sizeof(fin)) != 0)
        return *op = "name", TARN_ETOOBIG;
    int rc;
    /* fdatasync is enough: the size and the blocks' allocation are what a
     * read needs, and fdatasync makes them durable (and they already are,
     * for a spare). */
    if ((*op = "write the header of",
         rc = w->vfs.pwrite(w->vfs.ctx, fd, w->wbuf.data, w->wbuf.len, 0)) == 0 &&
        (*op = "sync", rc = w->vfs.fdatasync(w->vfs.ctx, fd)) == 0 &&
        (*op = "rename", rc = w->vfs.rename(w->vfs.ctx, tmp, fin)) == 0)
        *op = "fsync the directory after creating", rc = w->vfs.fsync_dir(w->vfs.ctx, w->dir);
    return rc;
}

int wal_seg_create(wal *w, uint64_t seq, uint64_t min_bytes, tarn_err *err)
{
    TARN_ASSERT(w->cur_fd < 0);
    TARN_ASSERT(w->wbuf.len == 0);
    if (w->seg_count == w->seg_cap) {
        size_t cap = w->seg_cap ? w->seg_cap * 2 : 16;
        wal_segment *n = tarn_realloc(w->segs, cap * sizeof(*n));
        if (n == NULL)
            return wal_fail(w, err, TARN_ENOMEM, "grow the segment list");
        w->segs = n;
        w->seg_cap = cap;
    }
    uint64_t size = wal_seg_size_for(w, min_bytes);
    int rc = wal_seg_prologue(w, seq, size);
    if (rc != 0) {
        tarn_buf_reset(&w->wbuf);
        return wal_fail(w, err, rc, "encode the header of segment %" PRIu64, seq);
    }
    int fd = -1;
    const char *op = "";
    int from_spare = spare_take(w, seq, size, &fd);
    if (!from_spare) {
        uint64_t zeroed = 0;
        rc = spare_prepare(w, seq, size, 0, &fd, &zeroed, &op); /* synced by publish */
        w->stats.bytes_zeroed += zeroed;
    }
    if (rc == 0)
        rc = wal_seg_publish(w, fd, seq, &op);
    if (rc != 0) {
        if (fd >= 0)
            w->vfs.close(w->vfs.ctx, fd); /* the handle is failed either way */
        tarn_buf_reset(&w->wbuf);
        return wal_fail(w, err, rc, "%s segment %" PRIu64, op, seq);
    }
    w->stats.bytes_written += w->wbuf.len;
    w->stats.segments_created++;
    w->stats.spares_used += (uint64_t)from_spare;
    obs_counter_add(w->m.bytes, w->wbuf.len);
    w->segs[w->seg_count++] =
        (wal_segment){.seq = seq, .size_bytes = size, .max_index = 0, .version = WAL_VERSION};
    w->cur_fd = fd;
    w->cur_off = w->wbuf.len;
    w->synced_off = w->cur_off; /* the prologue was synced */
    w->dirty = 0;
    tarn_buf_reset(&w->wbuf);
    wal_direct_attach(w);
    spare_ask(w, seq + 1);
    return 0;
}
