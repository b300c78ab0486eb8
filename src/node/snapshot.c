/*
 * node/snapshot.c: store snapshots shipped to followers that are too far
 * behind, their installation, and log compaction below a durable store
 * state. Design note: src/node/README.md ("Snapshots and compaction").
 *
 * Leader: when the core wants a RAFT_MSG_SNAPSHOT sent (the follower needs
 * entries the leader compacted), node_snap_offer opens a consistent copy
 * of the store (store_snapshot_open, on the loop thread) and a sender
 * thread streams it as SNAP_CHUNK frames, then sends the Raft message
 * itself over the same connection, so it arrives after the data. One
 * stream per follower at a time; when it ends, node_snap_reap tells the
 * core (raft_report_snapshot), which waits for the follower's
 * acknowledgement or, after a failure, probes and offers again.
 *
 * Follower: chunks go into a store_install beside the live store, in
 * order (a gap or another stream's chunk aborts it). The Raft message is
 * stepped only once a complete stream covering its index is there
 * (node_snap_ready_for); otherwise it is dropped and the leader offers
 * again. The core's next Ready then has has_snapshot, and
 * node_snap_install swaps the store: readers are held off by swap_lock,
 * the store closed, the stream verified and renamed over it
 * (store_install_finish), the store reopened; then the WAL drops its log
 * and records a snapshot marker at the Raft snapshot's index, and syncs.
 * The store may be ahead of that index (it was copied from the leader's
 * applied state, which is committed); the entries in between are applied
 * as no-ops (store_apply skips what it has).
 *
 * Compaction (every member): once the applied index is 2 * keep entries
 * past the WAL's snapshot marker, the store is synced, a marker is written
 * at applied - keep, the WAL drops the segments below it and the core
 * drops those entries from memory.
 */
#include "node/node_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NODE_SNAP_CHUNK_BYTES  (256u << 10)
#define NODE_SNAP_REOFFER_MS   3000
#define NODE_SNAP_SEND_WAIT_MS 30000 /* a queue that stays full this long aborts the stream */

struct node_snap_send {
    node *n;
    uint64_t to;
    uint64_t id;
    store_snapshot *snap;
    store_snapshot_info info;
    raft_msg msg;    /* entries point at conf below */
    raft_entry conf; /* the configuration record the message carries */
    uint8_t conf_data[RAFT_CONF_ENCODED_BYTES_MAX];
    pthread_t thread;
    atomic_int done;
    atomic_int cancel;
    atomic_int ok; /* every chunk and the message were queued */
};

/* The stream slot of follower id: its own, or a free one (members come
 * and go, so slots are not the bootstrap list's). -1 when all are taken. */
static int snap_slot(node *n, uint64_t id)
{
    int free_slot = -1;
    for (int i = 0; i < NODE_TP_PEERS_MAX; i++) {
        if (n->snd_to[i] == id)
            return i;
        if (free_slot < 0 && !n->snd_to[i] && !n->snd[i] && !n->snd_failed[i])
            free_slot = i;
    }
    if (free_slot >= 0)
        n->snd_to[free_slot] = id;
    return free_slot;
}

/* Sends one frame, waiting while the peer's queue is full. */
static int snap_send_frame(node_snap_send *s, const tarn_buf *b)
{
    int64_t deadline = tarn_mono_ns() + (int64_t)NODE_SNAP_SEND_WAIT_MS * 1000000;
    for (;;) {
        int rc = node_tp_send(s->n->tp, s->to, b->data, b->len);
        if (rc != TARN_EBUSY || atomic_load(&s->cancel) || tarn_mono_ns() > deadline)
            return rc;
        usleep(2000);
    }
}

static void *snap_send_main(void *arg)
{
    node_snap_send *s = arg;
    uint8_t *buf = tarn_malloc(NODE_SNAP_CHUNK_BYTES);
    tarn_buf b;
    tarn_buf_init(&b, NODE_TP_FRAME_MAX);
    uint64_t off = 0;
    int rc = buf ? 0 : TARN_ENOMEM;
    while (rc == 0 && !atomic_load(&s->cancel)) {
        size_t len = 0;
        rc = store_snapshot_read(s->snap, buf, NODE_SNAP_CHUNK_BYTES, &len, NULL);
        if (rc != 0 || len == 0)
            break;
        rc = node_wire_encode_chunk(&b, s->id, off, s->info.size_bytes, buf, len);
        if (rc == 0)
            rc = snap_send_frame(s, &b);
        off += len;
    }
    if (rc == 0 && off == s->info.size_bytes && !atomic_load(&s->cancel)) {
        rc = node_wire_encode_raft(&b, &s->msg);
        if (rc == 0)
            rc = snap_send_frame(s, &b);
    }
    TARN_LOGF(rc == 0 ? TARN_LOG_INFO : TARN_LOG_WARN, "node",
              rc == 0 ? "snapshot sent" : "snapshot not sent", TARN_F_UINT("to", s->to),
              TARN_F_UINT("raft_index", s->msg.index), TARN_F_UINT("store_index", s->info.index),
              TARN_F_UINT("bytes", off), TARN_F_ERR(rc));
    tarn_buf_free(&b);
    tarn_free(buf);
    atomic_store(&s->ok, rc == 0 && off == s->info.size_bytes);
    atomic_store(&s->done, 1);
    return NULL;
}

static void snap_send_free_report(node_snap_send *s, int *ok)
{
    pthread_join(s->thread, NULL);
    *ok = atomic_load(&s->ok);
    store_snapshot_close(s->snap);
    tarn_free(s);
}

static void snap_send_free(node_snap_send *s)
{
    int ok;
    snap_send_free_report(s, &ok);
}

/* Copies the Raft message and its configuration record (entries[0]). */
static int snap_msg_copy(node_snap_send *s, const raft_msg *m)
{
    s->msg = *m;
    s->msg.entries = NULL;
    s->msg.n_entries = 0;
    if (m->n_entries == 0)
        return 0;
    if (m->n_entries != 1 || m->entries[0].len > sizeof(s->conf_data))
        return TARN_EINVAL;
    s->conf = m->entries[0];
    if (s->conf.len)
        memcpy(s->conf_data, m->entries[0].data, s->conf.len);
    s->conf.data = s->conf.len ? s->conf_data : NULL;
    s->msg.entries = &s->conf;
    s->msg.n_entries = 1;
    return 0;
}

/* Called while a Ready is being carried out, so it must not call into the
 * core: a finished stream's report waits for node_snap_reap. The core sends
 * no second offer while one is under way (progress state SNAPSHOT); one
 * that comes anyway (the follower acknowledged, then fell behind again)
 * replaces a finished stream and is ignored while one runs. */
void node_snap_offer(node *n, const raft_msg *m)
{
    int slot = snap_slot(n, m->to);
    if (slot < 0 || !n->tp)
        return;
    node_snap_send *s = n->snd[slot];
    if (s && !atomic_load(&s->done))
        return;
    if (s) {
        snap_send_free(s);
        n->snd[slot] = NULL;
    }
    n->snd_failed[slot] = 1; /* until the stream is under way */
    s = tarn_calloc(1, sizeof(*s));
    if (!s || snap_msg_copy(s, m) != 0) {
        tarn_free(s);
        return;
    }
    tarn_err err = TARN_ERR_INIT;
    /* The copy records the store's applied index: nothing may apply while
     * it is taken (apply.c invariant 3). A failed apply thread fails the
     * loop at its next hand-over. */
    if (node_apply_drain(n, &err) != 0) {
        tarn_free(s);
        return;
    }
    if (store_snapshot_open(n->st, &s->snap, &s->info, &err) != 0) {
        TARN_LOGF(TARN_LOG_WARN, "node", "cannot open a store snapshot", TARN_F_UINT("to", m->to),
                  TARN_F_STR("detail", tarn_err_msg(&err)));
        tarn_free(s);
        return;
    }
    s->n = n;
    s->to = m->to;
    s->id = ++n->snap_seq;
    TARN_LOGF(TARN_LOG_INFO, "node", "sending snapshot", TARN_F_UINT("to", m->to),
              TARN_F_UINT("raft_index", m->index), TARN_F_UINT("store_index", s->info.index),
              TARN_F_UINT("bytes", s->info.size_bytes));
    obs_counter_add(n->m_snapshots_sent, 1);
    if (pthread_create(&s->thread, NULL, snap_send_main, s) != 0) {
        store_snapshot_close(s->snap);
        tarn_free(s);
        return;
    }
    n->snd[slot] = s;
    n->snd_failed[slot] = 0;
}

/* Between Readies: reports finished streams to the core
 * (raft_report_snapshot: ok, or failed so that it probes and offers again)
 * and frees them; with all, cancels and frees every stream first. */
void node_snap_reap(node *n, int all)
{
    for (size_t i = 0; i < NODE_TP_PEERS_MAX; i++) {
        node_snap_send *s = n->snd[i];
        if (n->snd_failed[i] && !all)
            (void)raft_report_snapshot(n->r, n->snd_to[i], 0);
        n->snd_failed[i] = 0;
        if (!s) {
            n->snd_to[i] = 0; /* free for another follower */
            continue;
        }
        if (all)
            atomic_store(&s->cancel, 1);
        else if (!atomic_load(&s->done))
            continue;
        int ok = 0;
        snap_send_free_report(s, &ok);
        if (!all)
            (void)raft_report_snapshot(n->r, n->snd_to[i], ok); /* late reports are no-ops */
        n->snd[i] = NULL;
        n->snd_to[i] = 0;
    }
}

static void snap_install_abort(node *n)
{
    store_install_abort(n->inst);
    n->inst = NULL;
    n->inst_complete = 0;
}

static uint64_t snap_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void node_snap_chunk(node *n, const node_inmsg *m)
{
    tarn_err err = TARN_ERR_INIT;
    char dir[NODE_PATH_MAX + 16];
    if (m->index == 0) {
        snap_install_abort(n);
        snprintf(dir, sizeof(dir), "%s/state", n->data_dir);
        if (m->len < 48 || memcmp(m->data, "TARNSNP1", 8) != 0 ||
            store_install_begin(dir, &n->inst, &err) != 0) {
            TARN_LOGF(TARN_LOG_WARN, "node", "snapshot stream refused",
                      TARN_F_UINT("from", m->from),
                      TARN_F_STR("detail", err.code ? tarn_err_msg(&err) : "bad header"));
            n->inst = NULL;
            return;
        }
        n->inst_id = m->req_id;
        n->inst_off = 0;
        n->inst_total = m->total;
        n->inst_info = (store_snapshot_info){.index = snap_le64(m->data + 16),
                                             .term = snap_le64(m->data + 24),
                                             .size_bytes = m->total};
    }
    if (!n->inst || m->req_id != n->inst_id || m->index != n->inst_off ||
        m->total != n->inst_total || m->len > n->inst_total - n->inst_off) {
        if (n->inst)
            TARN_LOGF(TARN_LOG_WARN, "node", "snapshot stream out of order; dropped",
                      TARN_F_UINT("from", m->from), TARN_F_UINT("offset", m->index));
        snap_install_abort(n);
        return;
    }
    if (store_install_write(n->inst, m->data, m->len, &err) != 0) {
        TARN_LOGF(TARN_LOG_WARN, "node", "snapshot stream refused", TARN_F_UINT("from", m->from),
                  TARN_F_STR("detail", tarn_err_msg(&err)));
        snap_install_abort(n);
        return;
    }
    n->inst_off += m->len;
    n->inst_complete = n->inst_off == n->inst_total;
}

int node_snap_ready_for(node *n, const raft_msg *m)
{
    return n->inst && n->inst_complete && n->inst_info.index >= m->index;
}

/* Replaces the WAL's log by a snapshot marker at (index, term). */
static int snap_wal_reset(node *n, uint64_t index, uint64_t term, tarn_err *err)
{
    if (index <= wal_snap_index(n->w))
        return 0;
    int rc = 0;
    if (wal_last_index(n->w) > wal_snap_index(n->w))
        rc = wal_truncate_suffix(n->w, wal_snap_index(n->w) + 1, err);
    if (rc == 0)
        rc = wal_snapshot_marker(n->w, index, term, err);
    if (rc == 0)
        rc = wal_sync(n->w, err);
    return rc;
}

int node_snap_install(node *n, const struct raft_ready *rd, tarn_err *err)
{
    if (!node_snap_ready_for(n, &(raft_msg){.index = rd->snapshot.index}))
        return tarn_err_set(err, TARN_ESTATE, "snapshot %llu to install, but no data for it",
                            (unsigned long long)rd->snapshot.index);
    int rc = node_apply_drain(n, err); /* nor apply to it (apply.c invariant 3) */
    if (rc != 0)
        return rc;
    node_snap_reap(n, 1); /* nothing may read the old store any more */
    char dir[NODE_PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/state", n->data_dir);
    store_opts so = {.durability = n->opts.durability, .map_size_bytes = n->opts.map_size_bytes};
    pthread_rwlock_wrlock(&n->swap_lock);
    store_close(n->st);
    n->st = NULL;
    store_snapshot_info info;
    rc = store_install_finish(n->inst, &info, err);
    n->inst = NULL;
    n->inst_complete = 0;
    tarn_err oerr = TARN_ERR_INIT;
    int orc = store_open(dir, &so, &n->st, &oerr);
    pthread_rwlock_unlock(&n->swap_lock);
    if (orc != 0)
        return tarn_err_set(err, orc, "reopen store after snapshot: %s", tarn_err_msg(&oerr));
    if (rc != 0)
        return tarn_err_wrap(err, rc, "install snapshot %llu",
                             (unsigned long long)rd->snapshot.index);
    rc = snap_wal_reset(n, rd->snapshot.index, rd->snapshot.term, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "WAL after snapshot %llu",
                             (unsigned long long)rd->snapshot.index);
    n->synced_last = wal_last_index(n->w);
    node_applied_reset(n);
    raft_conf_state kept;
    int has_kept = 0;
    rc = node_members_load(n, &kept, &has_kept, err); /* the addresses the snapshot knows */
    if (rc != 0)
        return rc;
    obs_counter_add(n->m_snapshots_installed, 1);
    TARN_LOGF(TARN_LOG_INFO, "node", "snapshot installed", TARN_F_UINT("member", n->opts.id),
              TARN_F_UINT("raft_index", rd->snapshot.index), TARN_F_UINT("store_index", info.index),
              TARN_F_UINT("bytes", info.size_bytes));
    return 0;
}

int node_maybe_compact(node *n, tarn_err *err)
{
    uint64_t keep = n->opts.log_keep_entries;
    raft_status rs;
    raft_get_status(n->r, &rs);
    uint64_t base = wal_snap_index(n->w);
    if (rs.applied < base + 2 * keep)
        return 0;
    /* rs.applied counts what the apply thread was handed; once it drained,
     * the store has all of it and is idle (apply.c invariant 3). */
    int rc = node_apply_drain(n, err);
    if (rc != 0)
        return rc;
    uint64_t upto = rs.applied - keep, term = 0;
    TARN_ASSERT(node_applied_index(n) >= rs.applied);
    rc = store_sync(n->st, err); /* the marker promises a durable store up to upto */
    if (rc == 0)
        rc = wal_term(n->w, upto, &term) == 0 ? 0 : tarn_err_set(err, TARN_ESTATE, "no term");
    if (rc == 0)
        rc = wal_snapshot_marker(n->w, upto, term, err);
    if (rc == 0)
        rc = wal_compact(n->w, upto, err); /* syncs the marker first */
    if (rc == 0 && (rc = raft_compact(n->r, upto)) != 0)
        tarn_err_set(err, rc, "raft_compact %llu", (unsigned long long)upto);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "compact the log to %llu", (unsigned long long)upto);
    obs_counter_add(n->m_compactions, 1);
    TARN_LOGF(TARN_LOG_DEBUG, "node", "log compacted", TARN_F_UINT("upto", upto),
              TARN_F_UINT("wal_segments", wal_segment_count(n->w)));
    return 0;
}

void node_snap_free(node *n)
{
    node_snap_reap(n, 1);
    snap_install_abort(n);
}
