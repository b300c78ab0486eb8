/*
 * wal/recover.c: reading a WAL directory back at open. Design note:
 * src/wal/README.md ("Recovery").
 *
 *   list the directory -> remove *.wal.tmp (never published) ->
 *   check that segment numbers are contiguous -> replay each segment's
 *   records into a wal_state (keeping payloads) -> at the first non-record
 *   of a segment decide: clean end, torn tail (last segment only: cut off),
 *   or corruption (refuse) -> final check of the log's shape -> reopen the
 *   last segment for appending at its clean end.
 *
 * Rules for the end of a segment's records (offset X):
 *  - an all-zero header at X and only zeros after: the clean end.
 *  - a valid record anywhere after X (8-byte aligned): refuse
 *    (TARN_ECORRUPT): something in the middle was lost or damaged, and
 *    cutting there could lose acknowledged records.
 *  - otherwise, in the last segment: a torn write; the bytes from X on are
 *    zeroed and synced, counted and logged. In any earlier segment:
 *    refuse, because earlier segments were synced before the next one was
 *    created (invariant 1 of wal.c) and cannot hold a torn write.
 */
#include "wal/wal_int.h"

#include "base/alloc.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct seg_list {
    wal *w;
    uint64_t *seqs;
    size_t count, cap;
    int tmp_removed;
} seg_list;

/* Parses "<16 hex>.wal" (kind 0) or "<16 hex>.wal.tmp" (kind 1); -1 else. */
static int parse_name(const char *name, uint64_t *seq)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = (v << 4) | (uint64_t)d;
    }
    *seq = v;
    if (strcmp(name + 16, WAL_SEG_SUFFIX) == 0)
        return 0;
    if (strcmp(name + 16, WAL_TMP_SUFFIX) == 0)
        return 1;
    return -1;
}

static int list_one(void *arg, const char *name)
{
    seg_list *l = arg;
    uint64_t seq;
    int kind = parse_name(name, &seq);
    if (kind < 0)
        return 0; /* not ours (lost+found, a lock file): leave it */
    if (kind == 1) {
        /* A segment that never got its final name: its creation did not
         * finish, so nothing in it was ever acknowledged. */
        char path[4096];
        if (wal_seg_path(l->w, seq, 1, path, sizeof(path)) != 0)
            return TARN_ETOOBIG;
        l->tmp_removed = 1;
        return l->w->vfs.unlink(l->w->vfs.ctx, path);
    }
    if (l->count == WAL_SEGMENTS_MAX)
        return TARN_ETOOBIG;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint64_t *n = tarn_realloc(l->seqs, cap * sizeof(*n));
        if (n == NULL)
            return TARN_ENOMEM;
        l->seqs = n;
        l->cap = cap;
    }
    l->seqs[l->count++] = seq;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_segments(wal *w, seg_list *l, tarn_err *err)
{
    memset(l, 0, sizeof(*l));
    l->w = w;
    int rc = w->vfs.list(w->vfs.ctx, w->dir, list_one, l);
    if (rc == 0 && l->tmp_removed)
        rc = w->vfs.fsync_dir(w->vfs.ctx, w->dir);
    if (rc != 0)
        return tarn_err_set(err, rc, "wal open %s: list segments: %s", w->dir, tarn_strerror(rc));
    if (l->count > 1)
        qsort(l->seqs, l->count, sizeof(*l->seqs), cmp_u64);
    for (size_t i = 1; i < l->count; i++)
        if (l->seqs[i] != l->seqs[i - 1] + 1)
            return tarn_err_set(err, TARN_ECORRUPT,
                                "wal open %s: segment %016" PRIx64 ".wal is followed by %016" PRIx64
                                ".wal: segments missing between them",
                                w->dir, l->seqs[i - 1], l->seqs[i]);
    return 0;
}

/* One segment read into memory. */
typedef struct seg_read {
    uint64_t seq;
    int fd;
    uint8_t *buf;
    size_t size;
    char path[4096];
    wal_seg_hdr hdr;
    size_t end;                /* offset after the last valid record */
    size_t garbage_end;        /* end of non-zero bytes after `end` */
    size_t later_valid;        /* offset of a valid record after `end`, 0: none */
    uint32_t later_synced_max; /* highest synced_off of those records */
    uint64_t max_index;
} seg_read;

static int read_segment(wal *w, seg_read *s, tarn_err *err)
{
    if (wal_seg_path(w, s->seq, 0, s->path, sizeof(s->path)) != 0)
        return tarn_err_set(err, TARN_ETOOBIG, "wal %s: path too long", w->dir);
    uint64_t size = 0;
    size_t got = 0;
    int rc = w->vfs.open(w->vfs.ctx, s->path, 0, &s->fd);
    if (rc == 0)
        rc = w->vfs.size(w->vfs.ctx, s->fd, &size);
    if (rc != 0)
        return tarn_err_set(err, rc, "wal segment %s: open: %s", s->path, tarn_strerror(rc));
    if (size < WAL_SEG_HDR_SIZE || size > WAL_SEGMENT_SIZE_MAX)
        return tarn_err_set(err, TARN_ECORRUPT, "wal segment %s: size %" PRIu64 " out of range",
                            s->path, size);
    s->buf = tarn_malloc((size_t)size);
    if (s->buf == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "wal segment %s: %" PRIu64 " bytes", s->path, size);
    s->size = (size_t)size;
    rc = w->vfs.pread(w->vfs.ctx, s->fd, s->buf, s->size, 0, &got);
    if (rc == 0 && got != s->size)
        rc = TARN_EIO;
    if (rc != 0)
        return tarn_err_set(err, rc, "wal segment %s: read: %s", s->path, tarn_strerror(rc));
    const char *why = "";
    if (wal_seg_hdr_decode(s->buf, &s->hdr, &why) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "wal segment %s offset 0: %s", s->path, why);
    /* Segments are created at full size and never shrink: a shorter file
     * lost its end (and maybe acknowledged records) to damage. */
    if (s->hdr.size_bytes > s->size)
        return tarn_err_set(err, TARN_ECORRUPT,
                            "wal segment %s: %zu bytes, shorter than its preallocated %" PRIu64,
                            s->path, s->size, s->hdr.size_bytes);
    if (s->hdr.seq != s->seq)
        return tarn_err_set(err, TARN_ECORRUPT,
                            "wal segment %s offset 0: header says segment %" PRIu64, s->path,
                            s->hdr.seq);
    return 0;
}

/* Applies one decoded record to the replay state. */
static int replay_record(wal_state *st, const wal_rec *r, const char **why)
{
    switch (r->type) {
    case WAL_REC_ENTRY: {
        wal_entry e = {.index = r->a,
                       .term = r->b,
                       .data = r->payload,
                       .len = r->payload_len,
                       .type = r->entry_type};
        return wal_state_entry(st, &e, why);
    }
    case WAL_REC_HARD_STATE:
        wal_state_hard_state(st, &(wal_hard_state){.term = r->a, .vote = r->b, .commit = r->c});
        return 0;
    case WAL_REC_SNAPSHOT:
        if (r->a == 0)
            return *why = "snapshot marker at index 0", TARN_EINVAL;
        return wal_state_snapshot(st, r->a, r->b, why);
    case WAL_REC_TRUNCATE:
        return wal_state_truncate(st, r->a, why);
    default:
        TARN_ASSERT(0 && "decoder returned an unknown type");
        return TARN_EINTERNAL;
    }
}

/* After the records end at s->end: finds the valid records further on (the
 * first one's offset, and the highest synced_off any of them claims) and
 * where the non-zero bytes end. */
static void scan_after_end(seg_read *s)
{
    s->garbage_end = s->end;
    s->later_valid = 0;
    s->later_synced_max = 0;
    for (size_t off = s->end; off < s->size; off += WAL_ALIGN) {
        size_t n = s->size - off < WAL_ALIGN ? s->size - off : WAL_ALIGN;
        for (size_t i = 0; i < n; i++)
            if (s->buf[off + i] != 0)
                s->garbage_end = off + n;
        wal_rec r;
        const char *why;
        if (off > s->end && wal_rec_decode(s->buf + off, s->size - off, s->seq, s->hdr.version, off,
                                           &r, &why) == WAL_DEC_OK) {
            if (s->later_valid == 0)
                s->later_valid = off;
            if (r.synced_off > s->later_synced_max)
                s->later_synced_max = r.synced_off;
        }
    }
}

/* Replays the records of one segment into st, up to the first non-record. */
static int replay_segment(wal_state *st, seg_read *s, int first, const char **end_why,
                          tarn_err *err)
{
    if (first)
        st->last_index = s->hdr.first_index - 1; /* earlier segments may be compacted away */
    else if (s->hdr.first_index != st->last_index + 1)
        return tarn_err_set(err, TARN_ECORRUPT,
                            "wal segment %s offset 0: starts at index %" PRIu64
                            " but the log before it ends at %" PRIu64,
                            s->path, s->hdr.first_index, st->last_index);
    size_t off = WAL_SEG_HDR_SIZE;
    for (;;) {
        wal_rec r;
        const char *why = "";
        int dec =
            wal_rec_decode(s->buf + off, s->size - off, s->seq, s->hdr.version, off, &r, &why);
        if (dec != WAL_DEC_OK) {
            *end_why = dec == WAL_DEC_END ? "zero record header" : why;
            break;
        }
        int rc = replay_record(st, &r, &why);
        if (rc == TARN_ENOMEM)
            return tarn_err_set(err, rc, "wal segment %s offset %zu: replay", s->path, off);
        if (rc != 0)
            return tarn_err_set(err, TARN_ECORRUPT, "wal segment %s offset %zu: %s", s->path, off,
                                why);
        if (r.type == WAL_REC_ENTRY && r.a > s->max_index)
            s->max_index = r.a;
        off += r.frame_bytes;
    }
    s->end = off;
    return 0;
}

/* Zeroes [end, garbage_end) of the last segment and syncs it. */
static int cut_tail(wal *w, seg_read *s, tarn_err *err)
{
    static const uint8_t zeros[4096];
    for (size_t off = s->end; off < s->garbage_end; off += sizeof(zeros)) {
        size_t n = s->garbage_end - off < sizeof(zeros) ? s->garbage_end - off : sizeof(zeros);
        int rc = w->vfs.pwrite(w->vfs.ctx, s->fd, zeros, n, off);
        if (rc != 0)
            return tarn_err_set(err, rc, "wal segment %s offset %zu: cut torn tail: %s", s->path,
                                off, tarn_strerror(rc));
    }
    return 0; /* made durable by recover_make_durable */
}

/* Decides what the bytes after the last record of a segment mean. */
/* A valid record after the damage at s->end: refused, unless the damage
 * is in the last segment, no later record proves it was synced (their
 * synced_off is at most s->end), and the caller opted in to cutting such
 * torn batches (out-of-order writeback of an unsynced batch leaves exactly
 * this). Returns 0 when the tail may be cut. */
static int later_valid_record(wal *w, const seg_read *s, int last, const char *why, tarn_err *err)
{
    int synced = s->later_synced_max > s->end;
    if (last && !synced && w->repair_torn_batch)
        return 0;
    const char *what = !last    ? "in a segment that is not the last"
                       : synced ? "the damaged bytes had been synced: damage inside the log"
                                : "maybe an unsynced batch torn by out-of-order writeback; "
                                  "wal_opts.repair_torn_batch would cut it";
    return tarn_err_set(err, TARN_ECORRUPT,
                        "wal segment %s offset %zu: %s, yet a valid record follows at offset %zu "
                        "(%s)",
                        s->path, s->end, why, s->later_valid, what);
}

/* Decides what the bytes after the last record of a segment mean. */
static int end_of_segment(wal *w, seg_read *s, int last, const char *why, uint64_t *cut,
                          tarn_err *err)
{
    scan_after_end(s);
    if (s->later_valid != 0) {
        int rc = later_valid_record(w, s, last, why, err);
        if (rc != 0)
            return rc;
        why = "torn unsynced batch (valid unsynced records after the damage dropped)";
    }
    if (s->garbage_end == s->end)
        return 0;
    if (!last)
        return tarn_err_set(err, TARN_ECORRUPT,
                            "wal segment %s offset %zu: %s (in a segment that is not the last)",
                            s->path, s->end, why);
    TARN_LOGF(TARN_LOG_WARN, "wal", "cutting a torn tail off the last segment",
              TARN_F_STR("file", s->path), TARN_F_UINT("offset", s->end),
              TARN_F_UINT("bytes", s->garbage_end - s->end), TARN_F_STR("reason", why));
    int rc = cut_tail(w, s, err);
    if (rc != 0)
        return rc;
    *cut = s->garbage_end - s->end;
    obs_counter_add(w->m.tails, 1);
    return 0;
}

static int push_segment(wal *w, const seg_read *s, tarn_err *err)
{
    if (w->seg_count == w->seg_cap) {
        size_t cap = w->seg_cap ? w->seg_cap * 2 : 16;
        wal_segment *n = tarn_realloc(w->segs, cap * sizeof(*n));
        if (n == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "wal open %s: segment list", w->dir);
        w->segs = n;
        w->seg_cap = cap;
    }
    w->segs[w->seg_count++] = (wal_segment){
        .seq = s->seq, .size_bytes = s->size, .max_index = s->max_index, .version = s->hdr.version};
    return 0;
}

/* Reads, replays and closes (or, the last one, keeps open) one segment. */
static int recover_segment(wal *w, wal_state *st, uint64_t seq, int first, int last, uint64_t *cut,
                           tarn_err *err)
{
    seg_read *s = tarn_calloc(1, sizeof(*s));
    if (s == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "wal open %s", w->dir);
    s->seq = seq;
    s->fd = -1;
    const char *why = "";
    int rc = read_segment(w, s, err);
    if (rc == 0)
        rc = replay_segment(st, s, first, &why, err);
    if (rc == 0)
        rc = end_of_segment(w, s, last, why, cut, err);
    if (rc == 0)
        rc = push_segment(w, s, err);
    if (rc == 0 && last) {
        w->cur_fd = s->fd;
        w->cur_off = s->end;
        w->synced_off = s->end; /* recover_make_durable syncs it before use */
        s->fd = -1;
        wal_direct_attach(w); /* its torn tail, if any, was zeroed above */
    }
    if (s->fd >= 0)
        w->vfs.close(w->vfs.ctx, s->fd); /* read-only use: nothing to lose */
    tarn_free(s->buf);
    tarn_free(s);
    return rc;
}

/* What recovery read may exist only in the page cache: an earlier process
 * may have written it and died before its fsync. Before we hand it out as
 * the log (Raft will treat it as persisted) and before new records are
 * appended behind it, it is made durable: the last segment's data (with a
 * cut tail's zeros) and the directory (a segment renamed into place just
 * before that death). Earlier segments were synced before their successor
 * was created (invariant 1 of wal.c). */
static int recover_make_durable(wal *w, tarn_err *err)
{
    int rc = w->vfs.fdatasync(w->vfs.ctx, w->cur_fd);
    w->stats.fsyncs++;
    obs_counter_add(w->m.fsyncs, 1);
    if (rc == 0)
        rc = w->vfs.fsync_dir(w->vfs.ctx, w->dir);
    if (rc != 0)
        return tarn_err_set(err, rc, "wal open %s: sync what was recovered: %s", w->dir,
                            tarn_strerror(rc));
    return 0;
}

/* Hands the replayed log to the caller and a payload-free copy to w->st. */
static int recover_finish(wal *w, wal_state *st, wal_recovered *out, tarn_err *err)
{
    const char *why = "";
    if (wal_state_check_final(st, &why) != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "wal %s: %s", w->dir, why);
    wal_state_free(&w->st);
    wal_state_init(&w->st, st->last_index, 0);
    if (st->count > 0) {
        w->st.ents = tarn_malloc_array(st->count, sizeof(*w->st.ents));
        if (w->st.ents == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "wal open %s: index", w->dir);
        for (size_t i = 0; i < st->count; i++)
            w->st.ents[i] = (wal_entry){.index = st->ents[i].index,
                                        .term = st->ents[i].term,
                                        .len = st->ents[i].len,
                                        .type = st->ents[i].type};
        w->st.count = w->st.cap = st->count;
    }
    w->st.snap_index = st->snap_index;
    w->st.snap_term = st->snap_term;
    w->st.has_hs = st->has_hs;
    w->st.hs = st->hs;
    out->has_hard_state = st->has_hs;
    out->hard_state = st->hs;
    out->snap_index = st->snap_index;
    out->snap_term = st->snap_term;
    out->last_index = st->last_index;
    out->entries = st->ents;
    out->entry_count = st->count;
    memset(st, 0, sizeof(*st)); /* ownership moved to out */
    return 0;
}

int wal_recover(wal *w, wal_recovered *out, tarn_err *err)
{
    seg_list l;
    int rc = list_segments(w, &l, err);
    if (rc == 0 && l.count == 0) {
        tarn_free(l.seqs);
        return wal_seg_create(w, 1, 0, err);
    }
    wal_state st;
    wal_state_init(&st, 0, 1);
    uint64_t cut = 0;
    for (size_t i = 0; rc == 0 && i < l.count; i++)
        rc = recover_segment(w, &st, l.seqs[i], i == 0, i + 1 == l.count, &cut, err);
    if (rc == 0)
        rc = recover_make_durable(w, err);
    if (rc == 0)
        rc = recover_finish(w, &st, out, err);
    out->truncated_tail_bytes = cut;
    wal_state_free(&st);
    tarn_free(l.seqs);
    return rc;
}
