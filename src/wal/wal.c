/*
 * wal/wal.c: the WAL handle: open and close, appending records with
 * segment rollover, sync, suffix truncation, snapshot markers and prefix
 * compaction. Recovery is in recover.c, group commit in group.c, the byte
 * format in format.c, making segment files (zero-filled, the spare) in
 * segment.c. Design note: src/wal/README.md.
 *
 * Invariants (checked where cheap):
 *  1. Only the last segment is open for writing and only it can hold
 *     unsynced bytes: a rollover fdatasyncs the old segment before the new
 *     one exists under its final name.
 *  2. A segment file exists under its final name only with a durable
 *     header: it is written as <seq>.wal.tmp, synced, renamed, and the
 *     directory fsynced (segment.c).
 *  3. Each segment starts with the hard state and snapshot marker current
 *     at its creation, so removing older segments never loses them.
 *  4. w->st is what recovery would rebuild from the records written so
 *     far (minus payloads): every record is applied to it with the same
 *     state machine recovery uses.
 *  5. After a failed write, fsync or directory operation, w->failed is set
 *     and every call answers TARN_ESTATE (see wal.h on fsyncgate).
 */
#include "wal/wal_int.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bytes gathered before a write is issued inside one batch. */
#define WAL_WBUF_FLUSH_BYTES (1u << 20)

int wal_fail(wal *w, tarn_err *err, int code, const char *fmt, ...)
{
    w->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    char msg[256];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    TARN_LOGF(TARN_LOG_ERROR, "wal", "wal failed; handle unusable until reopened",
              TARN_F_STR("dir", w->dir), TARN_F_STR("op", msg), TARN_F_ERR(code));
    return tarn_err_set(err, code, "wal %s: %s: %s", w->dir, msg, tarn_strerror(code));
}

static int wal_refuse_failed(const wal *w, tarn_err *err)
{
    return tarn_err_set(err, TARN_ESTATE, "wal %s: unusable after an earlier failure", w->dir);
}

int wal_seg_path(const wal *w, uint64_t seq, int tmp, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%016" PRIx64 "%s", w->dir, seq,
                     tmp ? WAL_TMP_SUFFIX : WAL_SEG_SUFFIX);
    return (n < 0 || (size_t)n >= cap) ? TARN_ETOOBIG : 0;
}

void wal_metrics_init(wal *w, obs_registry *reg)
{
    static const double batch_buckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
    static const struct {
        obs_type type;
        const char *name, *help;
    } fams[] = {
        {OBS_COUNTER, "tarn_wal_bytes_written_total", "Bytes written to WAL segments."},
        {OBS_COUNTER, "tarn_wal_fsyncs_total", "fdatasync/fsync calls on WAL segments."},
        {OBS_HISTOGRAM, "tarn_wal_fsync_seconds", "Latency of WAL segment syncs."},
        {OBS_HISTOGRAM, "tarn_wal_batch_records", "Records written per WAL batch."},
        {OBS_COUNTER, "tarn_wal_truncated_tails_total",
         "Torn or corrupt tails cut off the last segment at recovery."},
    };
    obs_series_t **slots[] = {&w->m.bytes, &w->m.fsyncs, &w->m.fsync_s, &w->m.batch, &w->m.tails};
    for (size_t i = 0; i < TARN_ARRAY_LEN(fams); i++) {
        obs_family_opts o = {.type = fams[i].type, .name = fams[i].name, .help = fams[i].help};
        if (i == 3) {
            o.buckets = batch_buckets;
            o.bucket_count = TARN_ARRAY_LEN(batch_buckets);
        }
        obs_family *f = NULL;
        /* A metric that cannot be registered (out of memory) is dropped:
         * losing a sample is better than failing the WAL. */
        if (obs_family_register(reg, &o, &f) == 0)
            *slots[i] = obs_series(f, NULL);
    }
}

/* Writes the gathered bytes at the end of the last segment. */
int wal_flush(wal *w, tarn_err *err)
{
    if (w->wbuf.len == 0)
        return 0;
    TARN_ASSERT(w->cur_fd >= 0);
    TARN_ASSERT(w->cur_off + w->wbuf.len <= w->segs[w->seg_count - 1].size_bytes);
    int rc = w->direct_fd >= 0
                 ? wal_direct_write(w)
                 : w->vfs.pwrite(w->vfs.ctx, w->cur_fd, w->wbuf.data, w->wbuf.len, w->cur_off);
    if (rc != 0)
        return wal_fail(w, err, rc, "write %zu bytes at offset %" PRIu64 " of segment %" PRIu64,
                        w->wbuf.len, w->cur_off, w->segs[w->seg_count - 1].seq);
    w->stats.bytes_written += w->wbuf.len;
    w->stats.direct_writes += (uint64_t)(w->direct_fd >= 0);
    obs_counter_add(w->m.bytes, w->wbuf.len);
    w->cur_off += w->wbuf.len;
    w->dirty = 1;
    tarn_buf_reset(&w->wbuf);
    return 0;
}

int wal_sync_locked(wal *w, tarn_err *err)
{
    if (w->failed)
        return wal_refuse_failed(w, err);
    if (!w->dirty)
        return 0;
    int64_t t0 = tarn_mono_ns();
    int rc = w->vfs.fdatasync(w->vfs.ctx, w->cur_fd);
    w->stats.fsyncs++;
    obs_counter_add(w->m.fsyncs, 1);
    obs_histogram_observe(w->m.fsync_s, (double)(tarn_mono_ns() - t0) / 1e9);
    if (rc != 0)
        return wal_fail(w, err, rc, "fdatasync segment %" PRIu64, w->segs[w->seg_count - 1].seq);
    w->dirty = 0;
    w->synced_off = w->cur_off;
    return 0;
}

/* Where the write buffer will land in the last segment. */
static wal_rec_pos wal_pos(const wal *w)
{
    return (wal_rec_pos){.seq = w->segs[w->seg_count - 1].seq,
                         .base_off = w->cur_off,
                         .synced_off = (uint32_t)w->synced_off};
}

/* Closes the full segment (synced first: invariant 1) and starts the next. */
static int wal_roll(wal *w, size_t frame, tarn_err *err)
{
    int rc = wal_flush(w, err);
    if (rc == 0)
        rc = wal_sync_locked(w, err);
    if (rc != 0)
        return rc;
    /* The segment is synced, so a close error cannot lose its data. */
    wal_direct_detach(w);
    w->vfs.close(w->vfs.ctx, w->cur_fd);
    w->cur_fd = -1;
    return wal_seg_create(w, w->segs[w->seg_count - 1].seq + 1, frame, err);
}

/* Makes room for one frame in the last segment, rolling over if needed.
 * A last segment of an older format version (recovered from a directory
 * an older tarn wrote) is closed, not appended to: every segment holds
 * records of its header's version only, and an older tarn refuses the new
 * segments by their version instead of misreading them. */
static int wal_room(wal *w, size_t frame, tarn_err *err)
{
    const wal_segment *s = &w->segs[w->seg_count - 1];
    if (s->version != WAL_VERSION)
        return wal_roll(w, frame, err);
    if (w->cur_off + w->wbuf.len + frame <= s->size_bytes) {
        if (w->wbuf.len + frame > WAL_WBUF_FLUSH_BYTES)
            return wal_flush(w, err);
        return 0;
    }
    return wal_roll(w, frame, err);
}

/* Encodes one record (room already made); a failure here is out of memory
 * with earlier records of the batch possibly written, so it fails the
 * handle. */
static int wal_encoded(wal *w, int rc, tarn_err *err)
{
    if (rc != 0)
        return wal_fail(w, err, rc, "encode a record");
    return 0;
}

int wal_encode_batch(wal *w, const wal_entry *e, size_t n, const wal_hard_state *hs, tarn_err *err)
{
    const char *why = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t frame = wal_frame_size(WAL_ENTRY_BODY_FIXED + e[i].len);
        int rc = wal_room(w, frame, err);
        if (rc != 0)
            return rc;
        if ((rc = wal_encoded(w, wal_rec_encode_entry(&w->wbuf, wal_pos(w), &e[i]), err)) != 0)
            return rc;
        rc = wal_state_entry(&w->st, &e[i], &why);
        TARN_ASSERT(rc == 0); /* validated and reserved by the caller */
        wal_segment *s = &w->segs[w->seg_count - 1];
        if (e[i].index > s->max_index)
            s->max_index = e[i].index;
    }
    if (hs != NULL) {
        int rc = wal_room(w, wal_frame_size(WAL_HS_BODY_SIZE), err);
        if (rc != 0 || (rc = wal_encoded(w, wal_rec_encode_hs(&w->wbuf, wal_pos(w), hs), err)) != 0)
            return rc;
        wal_state_hard_state(&w->st, hs);
    }
    w->stats.records += n + (hs != NULL);
    return 0;
}

/* Validates an append and reserves what it needs, so that nothing can fail
 * for lack of memory once records are being written (for batches that fit
 * the write buffer). */
int wal_prepare_append(wal *w, const wal_entry *e, size_t n, tarn_err *err)
{
    if (n > WAL_APPEND_MAX)
        return tarn_err_set(err, TARN_EINVAL, "wal append: %zu entries (max %d)", n,
                            WAL_APPEND_MAX);
    const char *why = "";
    int rc = wal_state_check_append(&w->st, e, n, &why);
    if (rc != 0)
        return tarn_err_set(err, rc, "wal append at index %" PRIu64 ": %s", n ? e[0].index : 0,
                            why);
    if (w->st.count + n > w->st.cap) {
        size_t cap = w->st.cap ? w->st.cap : 64;
        while (cap < w->st.count + n)
            cap *= 2;
        wal_entry *ne = tarn_realloc(w->st.ents, cap * sizeof(*ne));
        if (ne == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "wal append: index of %zu entries", cap);
        w->st.ents = ne;
        w->st.cap = cap;
    }
    size_t total = wal_frame_size(WAL_HS_BODY_SIZE);
    for (size_t i = 0; i < n && total <= WAL_WBUF_FLUSH_BYTES; i++)
        total += wal_frame_size(WAL_ENTRY_BODY_FIXED + e[i].len);
    if (total <= WAL_WBUF_FLUSH_BYTES && (rc = tarn_buf_reserve(&w->wbuf, total)) != 0)
        return tarn_err_set(err, rc, "wal append: write buffer of %zu bytes", total);
    return 0;
}

int wal_append(wal *w, const wal_entry *entries, size_t n, const wal_hard_state *hs, tarn_err *err)
{
    TARN_ASSERT(w != NULL);
    TARN_ASSERT(n == 0 || entries != NULL);
    if (n == 0 && hs == NULL && !w->failed)
        return 0; /* nothing to write */
    pthread_mutex_lock(&w->io_mu);
    int rc = w->failed ? wal_refuse_failed(w, err) : wal_prepare_append(w, entries, n, err);
    if (rc == 0)
        rc = wal_encode_batch(w, entries, n, hs, err);
    if (rc == 0)
        rc = wal_flush(w, err);
    if (rc == 0) {
        w->stats.batches++;
        obs_histogram_observe(w->m.batch, (double)(n + (hs != NULL)));
    }
    pthread_mutex_unlock(&w->io_mu);
    return rc;
}

int wal_sync(wal *w, tarn_err *err)
{
    pthread_mutex_lock(&w->io_mu);
    int rc = wal_sync_locked(w, err);
    pthread_mutex_unlock(&w->io_mu);
    return rc;
}

/* Writes one small control record (truncate or marker) at the end. */
static int wal_write_control(wal *w, size_t body, int (*enc)(wal *, void *), void *arg,
                             tarn_err *err)
{
    int rc = wal_room(w, wal_frame_size(body), err);
    if (rc != 0)
        return rc;
    if ((rc = wal_encoded(w, enc(w, arg), err)) != 0)
        return rc;
    w->stats.batches++;
    w->stats.records++;
    obs_histogram_observe(w->m.batch, 1);
    return wal_flush(w, err);
}

static int enc_trunc(wal *w, void *arg)
{
    return wal_rec_encode_trunc(&w->wbuf, wal_pos(w), *(const uint64_t *)arg);
}

static int enc_snap(wal *w, void *arg)
{
    const uint64_t *it = arg;
    return wal_rec_encode_snap(&w->wbuf, wal_pos(w), it[0], it[1]);
}

int wal_truncate_suffix(wal *w, uint64_t from_index, tarn_err *err)
{
    pthread_mutex_lock(&w->io_mu);
    int rc = 0;
    if (w->failed) {
        rc = wal_refuse_failed(w, err);
    } else if (from_index <= w->st.snap_index || from_index > w->st.last_index + 1) {
        rc = tarn_err_set(err, TARN_EINVAL,
                          "wal truncate from %" PRIu64 ": outside (%" PRIu64 ", %" PRIu64 "]",
                          from_index, w->st.snap_index, w->st.last_index + 1);
    } else {
        rc = wal_write_control(w, WAL_TRUNC_BODY_SIZE, enc_trunc, &from_index, err);
        if (rc == 0) {
            const char *why = NULL;
            int st = wal_state_truncate(&w->st, from_index, &why);
            TARN_ASSERT(st == 0); /* validated above */
        }
    }
    pthread_mutex_unlock(&w->io_mu);
    return rc;
}

static int wal_check_marker(const wal *w, uint64_t index, uint64_t term, tarn_err *err)
{
    if (index == 0)
        return tarn_err_set(err, TARN_EINVAL, "wal snapshot marker at index 0");
    if (index < w->st.snap_index)
        return tarn_err_set(err, TARN_EINVAL,
                            "wal snapshot marker %" PRIu64 " below the current one %" PRIu64, index,
                            w->st.snap_index);
    uint64_t have;
    if (index > 0 && wal_term(w, index, &have) == 0 && have != term)
        return tarn_err_set(err, TARN_EINVAL,
                            "wal snapshot marker %" PRIu64 " term %" PRIu64
                            ": the log has term %" PRIu64 " there (truncate it first)",
                            index, term, have);
    return 0;
}

int wal_snapshot_marker(wal *w, uint64_t index, uint64_t term, tarn_err *err)
{
    pthread_mutex_lock(&w->io_mu);
    int rc = w->failed ? wal_refuse_failed(w, err) : wal_check_marker(w, index, term, err);
    if (rc == 0) {
        uint64_t it[2] = {index, term};
        rc = wal_write_control(w, WAL_SNAP_BODY_SIZE, enc_snap, it, err);
    }
    if (rc == 0) {
        const char *why = NULL;
        int st = wal_state_snapshot(&w->st, index, term, &why);
        TARN_ASSERT(st == 0); /* validated by wal_check_marker */
    }
    pthread_mutex_unlock(&w->io_mu);
    return rc;
}

/* Removes the oldest segment (never the last). Invariant 3 keeps its hard
 * state and marker alive in later segments; the directory fsync after each
 * removal keeps the removed set a prefix across a power cut. */
static int wal_remove_oldest(wal *w, tarn_err *err)
{
    TARN_ASSERT(w->seg_count > 1);
    char path[4096];
    if (wal_seg_path(w, w->segs[0].seq, 0, path, sizeof(path)) != 0)
        return tarn_err_set(err, TARN_ETOOBIG, "wal %s: path too long", w->dir);
    int rc = w->vfs.unlink(w->vfs.ctx, path);
    if (rc == 0)
        rc = w->vfs.fsync_dir(w->vfs.ctx, w->dir);
    if (rc != 0)
        return wal_fail(w, err, rc, "remove segment %" PRIu64, w->segs[0].seq);
    memmove(w->segs, w->segs + 1, (w->seg_count - 1) * sizeof(*w->segs));
    w->seg_count--;
    w->stats.segments_removed++;
    return 0;
}

int wal_compact(wal *w, uint64_t upto_index, tarn_err *err)
{
    pthread_mutex_lock(&w->io_mu);
    int rc = 0;
    if (w->failed)
        rc = wal_refuse_failed(w, err);
    else if (upto_index > w->st.snap_index)
        rc = tarn_err_set(err, TARN_EINVAL,
                          "wal compact up to %" PRIu64 ": beyond the snapshot marker %" PRIu64,
                          upto_index, w->st.snap_index);
    /* The marker that covers what we remove must be durable first. */
    if (rc == 0)
        rc = wal_sync_locked(w, err);
    while (rc == 0 && w->seg_count > 1 && w->segs[0].max_index <= upto_index)
        rc = wal_remove_oldest(w, err);
    pthread_mutex_unlock(&w->io_mu);
    return rc;
}

uint64_t wal_last_index(const wal *w)
{
    return w->st.last_index;
}

uint64_t wal_snap_index(const wal *w)
{
    return w->st.snap_index;
}

int wal_term(const wal *w, uint64_t index, uint64_t *term_out)
{
    if (index == w->st.snap_index) {
        *term_out = w->st.snap_term;
        return 0;
    }
    if (index < w->st.snap_index || index > w->st.last_index || w->st.count == 0)
        return TARN_ERANGE;
    uint64_t first = w->st.ents[0].index;
    if (index < first)
        return TARN_ERANGE;
    TARN_DASSERT(w->st.ents[index - first].index == index);
    *term_out = w->st.ents[index - first].term;
    return 0;
}

size_t wal_segment_count(const wal *w)
{
    return w->seg_count;
}

void wal_get_stats(const wal *w, wal_stats *out)
{
    *out = w->stats;
}
