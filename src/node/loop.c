/*
 * node/loop.c: the Ready loop, on the node's own thread. One turn: wait for
 * work or the next tick; tick; hand queued proposals and read barriers to
 * the Raft core; then carry out every Ready in the order of the Ready
 * contract (raft.h, src/raft/README.md): send msgs_now; append and fsync
 * to the WAL; send msgs_after_persist; apply the committed entries to the
 * store in one LMDB transaction per batch; complete the proposals and read
 * barriers those entries answer; raft_advance. Why this order and what a
 * crash at each step leaves: src/node/README.md.
 *
 * In a cluster each turn first steps the frames peers sent (Raft messages,
 * and proposals/reads a follower forwarded), and a follower forwards its
 * callers' proposals and reads to the leader (README "Cluster").
 *
 * Failure: an error of the WAL, the store or the core (I/O, out of memory
 * inside a Ready) leaves the durable or in-memory state unknown, so the
 * loop marks the node failed (sticky), fails every waiter with the code and
 * exits; callers get TARN_ESTATE until the node is closed and reopened,
 * which recovers from disk.
 */
#define _GNU_SOURCE /* ppoll: node_loop_sleep waits with sub-millisecond deadlines */
#include "node/node_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Hands Raft messages to the transport. A message that cannot be queued
 * (no transport, peer queue full) is dropped and counted: Raft tolerates
 * loss and retransmits. */
static void node_send_msgs(node *n, const raft_msg *msgs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (msgs[i].type == RAFT_MSG_SNAPSHOT) {
            node_snap_offer(n, &msgs[i]); /* the data first, then this message */
            continue;
        }
        int rc = n->tp ? node_wire_encode_raft(&n->sendbuf, &msgs[i]) : TARN_ENOENT;
        if (rc == 0)
            rc = node_tp_send(n->tp, msgs[i].to, n->sendbuf.data, n->sendbuf.len);
        if (rc != 0)
            obs_counter_add(n->m_msgs_dropped, 1);
    }
}

static int node_scratch(node *n, size_t want_wal)
{
    if (want_wal > n->scratch_wal_cap) {
        wal_entry *p = tarn_realloc(n->scratch_wal, want_wal * sizeof(*p));
        if (!p)
            return TARN_ENOMEM;
        n->scratch_wal = p;
        n->scratch_wal_cap = want_wal;
    }
    return 0;
}

/*
 * Whether this Ready's persist needs an fsync. Entries always do (acks and
 * the leader's own quorum count promise them durable), and so do term and
 * vote (a vote granted twice in one term after a restart breaks election
 * safety). The commit index alone does not: Raft keeps it volatile
 * (dissertation Figure 3.1; raft README, hard state "may lag") and a
 * restarted node learns it again (from the leader, or the single voter by
 * committing its new term's no-op). Writing it unsynced can lose it in a
 * machine crash only, leaving an older durable commit index that never
 * exceeds the durable log, since the entries it covers were synced by an
 * earlier Ready (contract invariant 4); the store's applied index may then
 * be ahead of it, which raft_open accepts (commit = max(commit, applied)).
 * The next synced write makes the record durable with it. Half of all WAL
 * fsyncs were such commit-only Readies (one per turn on the single voter).
 */
static int node_persist_needs_sync(const node *n, const struct raft_ready *rd)
{
    if (rd->n_entries > 0)
        return 1;
    return rd->hard_state.term != n->synced_term || rd->hard_state.vote != n->synced_vote;
}

/* Step 2 of the contract: entries, then the hard state, then one fsync
 * (unless only the commit index changed: node_persist_needs_sync). */
static int node_persist(node *n, const struct raft_ready *rd, tarn_err *err)
{
    if (rd->n_entries == 0 && !rd->hard_state_changed)
        return 0;
    int sync = node_persist_needs_sync(n, rd);
    int64_t t0 = tarn_mono_ns();
    int rc = node_scratch(n, rd->n_entries);
    if (rc != 0)
        return tarn_err_set(err, rc, "persist: scratch for %zu entries", rd->n_entries);
    for (size_t i = 0; i < rd->n_entries; i++) {
        const raft_entry *e = &rd->entries[i];
        /* The WAL keeps Raft's entry type (README "Entry types"). */
        n->scratch_wal[i] = (wal_entry){.index = e->index,
                                        .term = e->term,
                                        .data = e->data,
                                        .len = e->len,
                                        .type = (uint8_t)e->type};
    }
    wal_hard_state hs = {
        .term = rd->hard_state.term, .vote = rd->hard_state.vote, .commit = rd->hard_state.commit};
    rc = wal_append(n->w, n->scratch_wal, rd->n_entries, rd->hard_state_changed ? &hs : NULL, err);
    if (rc == 0 && sync)
        rc = wal_sync(n->w, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "persist %zu entries", rd->n_entries);
    if (sync && rd->hard_state_changed) {
        n->synced_term = rd->hard_state.term;
        n->synced_vote = rd->hard_state.vote;
    }
    if (sync)
        n->synced_last = wal_last_index(n->w);
    obs_histogram_observe(n->m_fsync, (double)(tarn_mono_ns() - t0) / 1e9);
    return 0;
}

/*
 * Step 4, handing over: the committed entries go to the apply thread
 * (apply.c), which applies them and completes their waiters while the loop
 * goes on. Those the WAL already holds durably (index <= synced_last, and
 * below this Ready's own entries, which may replace a suffix) are handed
 * over before this Ready's fsync, so that their LMDB commit overlaps it;
 * committed entries are never replaced (raft invariant 5), so applying
 * them early is exactly as safe as applying them after. The rest (a
 * follower may learn that entries of this very Ready are committed) go
 * after the fsync, as the Ready contract orders. Returns how many go
 * before.
 */
static size_t node_apply_durable_count(const node *n, const struct raft_ready *rd)
{
    uint64_t durable = n->synced_last;
    if (rd->n_entries > 0 && rd->entries[0].index - 1 < durable)
        durable = rd->entries[0].index - 1;
    size_t k = 0;
    while (k < rd->n_committed && rd->committed[k].index <= durable)
        k++;
    return k;
}

/* Completes (under mu) the read barriers whose read index is known and
 * applied here; a barrier a peer forwarded is answered as soon as its
 * index is known (the peer waits for its own apply). A barrier whose index
 * is unknown on a node that no longer leads was dropped by the core: it is
 * failed with TARN_EBUSY (retry), so nothing waits forever. */
void node_complete_reads(node *n, int is_leader)
{
    node_list keep = {0};
    node_waiter *w;
    int need_commit = 0;
    while ((w = node_list_pop(&n->read_wait)) != NULL) {
        if (w->term && (w->origin || w->index <= n->applied))
            node_waiter_complete(n, w, 0);
        else if (!w->term && !is_leader)
            node_waiter_complete(n, w, TARN_EBUSY);
        else {
            need_commit |= w->term != 0;
            node_list_push(&keep, w);
        }
    }
    n->read_wait = keep;
    /* A barrier waits for entries that may sit in the apply thread's open
     * transaction: ask it to commit (apply.c, deferred commits). */
    if (need_commit)
        pthread_cond_signal(&n->wake_apply);
}

/* Gives read barriers their read index from rd's read states, then
 * completes those that are ready. */
static void node_serve_reads(node *n, const struct raft_ready *rd)
{
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < rd->n_read_states; i++)
        for (node_waiter *w = n->read_wait.head; w; w = w->next)
            if (!w->term && w->group == rd->read_states[i].ctx) {
                w->index = rd->read_states[i].index;
                w->term = 1; /* marks "index known" */
            }
    node_complete_reads(n, 1);
    pthread_mutex_unlock(&n->mu);
}

static int node_handle_ready(node *n, tarn_err *err)
{
    struct raft_ready rd;
    int rc = raft_ready(n->r, &rd);
    if (rc != 0)
        return tarn_err_set(err, rc, "raft_ready");
    if (rd.has_snapshot)
        rc = node_snap_install(n, &rd, err); /* step 0 of the contract */
    /* A configuration is in force once appended (the core's log has these
     * entries already): a new member becomes a peer before the messages
     * of this Ready go out. It also reverts when entries overwrite a
     * change, and a snapshot brings one: node_members_changed catches all. */
    if (rc == 0 && node_members_changed(n))
        node_members_sync(n);
    size_t early = 0;
    if (rc == 0) {
        /* The apply thread first: it answers the proposals these entries
         * settle while this thread sends (on a leader, the appends that
         * carry the new commit index cost a syscall each). */
        early = node_apply_durable_count(n, &rd);
        rc = node_apply_enqueue(n, rd.committed, early, err);
    }
    if (rc == 0)
        node_send_msgs(n, rd.msgs_now, rd.n_msgs_now);
    if (rc == 0)
        rc = node_persist(n, &rd, err);
    if (rc == 0) {
        node_send_msgs(n, rd.msgs_after_persist, rd.n_msgs_after_persist);
        rc = node_apply_enqueue(n, rd.committed + early, rd.n_committed - early, err);
    }
    /* Addresses and membership changes the committed entries carry: read
     * from the entries themselves, so the transport follows at once, while
     * the apply thread records them in the store. */
    if (rc == 0 && rd.n_committed > 0)
        node_members_applied(n, rd.committed, rd.n_committed);
    if (rc == 0)
        node_serve_reads(n, &rd);
    if (rc == 0 && (rc = raft_advance(n->r, &rd)) != 0)
        tarn_err_set(err, rc, "raft_advance");
    return rc;
}

/* Sends w to the leader (a follower's own caller's proposal or read) and
 * parks it in `forwarded` until the leader's FWD_REPLY. A frame that
 * cannot be queued fails w with TARN_EBUSY. */
static void node_forward(node *n, node_waiter *w, uint64_t leader)
{
    w->req_id = ++n->fwd_seq;
    w->fwd_ns = tarn_mono_ns();
    w->fwd_to = leader;
    w->fwd_gen = 0;
    (void)node_tp_peer_gen(n->tp, leader, &w->fwd_gen); /* ENOENT: the send fails below */
    uint8_t kind = w->is_read ? NODE_WIRE_FWD_READ : NODE_WIRE_FWD_PROPOSE;
    int rc = node_wire_encode_fwd(&n->sendbuf, kind, w->req_id, w->is_read ? NULL : w->data,
                                  w->is_read ? 0 : w->len);
    if (rc == 0)
        rc = node_tp_send(n->tp, leader, n->sendbuf.data, n->sendbuf.len);
    pthread_mutex_lock(&n->mu);
    if (rc == 0)
        node_list_push(&n->forwarded, w);
    else
        node_waiter_complete(n, w, TARN_EBUSY);
    pthread_mutex_unlock(&n->mu);
    if (rc == 0)
        obs_counter_add(n->m_forwarded, 1);
}

/* Whether w should go to another member: this one does not lead but knows
 * who does. Work a peer forwarded to us is never forwarded again. */
static uint64_t node_forward_target(node *n, const node_waiter *w)
{
    raft_status rs;
    raft_get_status(n->r, &rs);
    if (rs.state == RAFT_LEADER || !n->tp || w->origin || rs.lead == RAFT_NONE ||
        rs.lead == n->opts.id)
        return RAFT_NONE;
    return rs.lead;
}

/* Proposals handed to the core per raft_propose_batch call. */
#define NODE_PROPOSE_CHUNK 64

/* Hands a chunk of proposals to the core in one raft_propose_batch, so
 * that each follower gets one append for all of them (one frame, one
 * acknowledgement) rather than one per proposal. Each waiter is pushed on
 * accepted or refused (its code carried in w->index). */
static void node_propose_chunk(node *n, node_waiter **ws, size_t count, node_list *accepted,
                               node_list *refused)
{
    raft_proposal p[NODE_PROPOSE_CHUNK];
    for (size_t i = 0; i < count; i++)
        p[i] = (raft_proposal){.data = ws[i]->data, .len = (uint32_t)ws[i]->len};
    int fatal = raft_propose_batch(n->r, p, count);
    for (size_t i = 0; i < count; i++) {
        node_waiter *w = ws[i];
        int rc = fatal ? fatal : p[i].rc;
        if (rc == RAFT_ENOTLEADER)
            rc = TARN_EBUSY; /* RAFT_ENOTLEADER aliases ECONFLICT, which means 409 */
        if (rc == 0) {
            w->index = p[i].index;
            w->term = p[i].term;
            node_list_push(accepted, w);
        } else {
            w->index = (uint64_t)rc; /* carried to the completion below */
            node_list_push(refused, w);
        }
    }
}

/* Hands proposals to the core (or forwards them). A refused one (not
 * leader, too many uncommitted, too big, out of memory) is completed with
 * the code. Accepted ones join `inflight` (under mu: the apply thread
 * completes them) before this turn's Readies can hand their entries over. */
static void node_propose_batch(node *n, node_list *props)
{
    node_waiter *w;
    node_list refused = {0}, accepted = {0};
    node_waiter *chunk[NODE_PROPOSE_CHUNK];
    size_t k = 0;
    while ((w = node_list_pop(props)) != NULL) {
        uint64_t to = node_forward_target(n, w);
        if (to != RAFT_NONE) {
            node_forward(n, w, to);
            continue;
        }
        chunk[k++] = w;
        if (k == NODE_PROPOSE_CHUNK) {
            node_propose_chunk(n, chunk, k, &accepted, &refused);
            k = 0;
        }
    }
    if (k > 0)
        node_propose_chunk(n, chunk, k, &accepted, &refused);
    if (refused.count == 0 && accepted.count == 0)
        return;
    pthread_mutex_lock(&n->mu);
    while ((w = node_list_pop(&accepted)) != NULL)
        node_list_push(&n->inflight, w);
    while ((w = node_list_pop(&refused)) != NULL) {
        int rc = (int)(int64_t)w->index;
        w->index = 0;
        node_waiter_complete(n, w, rc);
    }
    node_unlock(n);
}

/* Asks the core for one ReadIndex shared by every barrier in reads that
 * stays here; a follower forwards its callers' barriers to the leader. */
static void node_read_batch(node *n, node_list *reads)
{
    node_list local = {0};
    node_waiter *w;
    while ((w = node_list_pop(reads)) != NULL) {
        uint64_t to = node_forward_target(n, w);
        if (to != RAFT_NONE)
            node_forward(n, w, to);
        else
            node_list_push(&local, w);
    }
    if (local.count == 0)
        return;
    uint64_t ctx = ++n->read_seq;
    int rc = raft_read_index(n->r, ctx);
    if (rc == RAFT_ENOTLEADER)
        rc = TARN_EBUSY;
    pthread_mutex_lock(&n->mu);
    while ((w = node_list_pop(&local)) != NULL) {
        if (rc != 0) {
            node_waiter_complete(n, w, rc);
            continue;
        }
        w->group = ctx;
        node_list_push(&n->read_wait, w);
    }
    pthread_mutex_unlock(&n->mu);
}

/* The leader answered one of our forwarded waiters. Under mu. */
static void node_forward_done(node *n, const node_inmsg *m)
{
    node_waiter *w = NULL;
    node_list keep = {0};
    node_waiter *x;
    while ((x = node_list_pop(&n->forwarded)) != NULL) {
        if (!w && x->req_id == m->req_id)
            w = x;
        else
            node_list_push(&keep, x);
    }
    n->forwarded = keep;
    if (!w)
        return; /* expired already */
    if (m->rc != 0 || !w->is_read) {
        if (m->rc == 0 && m->len) {
            w->res.data = tarn_malloc(m->len);
            if (!w->res.data) {
                node_waiter_complete(n, w, TARN_ENOMEM);
                return;
            }
            memcpy(w->res.data, m->data, m->len);
            w->res.len = m->len;
        }
        w->res.code = m->code;
        w->index = m->index;
        node_waiter_complete(n, w, m->rc);
        return;
    }
    w->index = m->index; /* a read: wait until applied here */
    w->term = 1;
    node_list_push(&n->read_wait, w);
}

/* A waiter for work a peer forwarded to us; NULL on out of memory. */
static node_waiter *node_remote_waiter(const node_inmsg *m)
{
    size_t len = m->kind == NODE_WIRE_FWD_PROPOSE ? m->len : 0;
    node_waiter *w = tarn_calloc(1, sizeof(*w) + len);
    if (!w)
        return NULL;
    w->origin = m->from;
    w->req_id = m->req_id;
    w->is_read = m->kind == NODE_WIRE_FWD_READ;
    w->start_ns = tarn_mono_ns();
    w->len = len;
    if (len)
        memcpy(w->data, m->data, len);
    return w;
}

/* Steps every frame peers sent; forwarded work joins props/reads. Only an
 * out-of-memory or failed core is an error (the node then fails). */
static int node_step_inbox(node *n, node_inmsg *m, node_list *props, node_list *reads,
                           tarn_err *err)
{
    int rc = 0;
    while (m) {
        node_inmsg *next = m->next;
        if (rc == 0 && m->kind == NODE_WIRE_SNAP_CHUNK) {
            node_snap_chunk(n, m);
        } else if (rc == 0 && m->kind == NODE_WIRE_RAFT && m->msg.type == RAFT_MSG_SNAPSHOT &&
                   !node_snap_ready_for(n, &m->msg)) {
            /* Its data did not arrive whole: the leader offers again. */
        } else if (rc == 0 && m->kind == NODE_WIRE_RAFT) {
            int s = raft_step(n->r, &m->msg);
            if (s == TARN_ENOMEM || s == TARN_ESTATE)
                rc = tarn_err_set(err, s, "raft_step %s from %llu", raft_msg_type_name(m->msg.type),
                                  (unsigned long long)m->from);
        } else if (rc == 0 && m->kind == NODE_WIRE_FWD_REPLY) {
            pthread_mutex_lock(&n->mu);
            node_forward_done(n, m);
            pthread_mutex_unlock(&n->mu);
        } else if (rc == 0) {
            node_waiter *w = node_remote_waiter(m);
            if (w)
                node_list_push(w->is_read ? reads : props, w);
        }
        tarn_free(m);
        m = next;
    }
    return rc;
}

static void node_inbox_free(node_inmsg *m)
{
    while (m) {
        node_inmsg *next = m->next;
        tarn_free(m);
        m = next;
    }
}

/* Fails forwarded waiters whose answer was lost: at once when the member
 * they went to no longer leads as far as we know (it died and an election
 * started, or another member leads) or our link to it broke since (its
 * node_tp_peer_gen moved), so callers get a 503 to retry instead of
 * waiting out their whole timeout; after NODE_FORWARD_TTL_MS otherwise.
 * TARN_ETIMEDOUT: the leader may still have applied it. Under mu. */
static void node_expire_forwarded(node *n, uint64_t leader)
{
    if (!n->forwarded.head)
        return;
    int64_t now = tarn_mono_ns();
    uint64_t gen = 0;
    int linked = leader != RAFT_NONE && node_tp_peer_gen(n->tp, leader, &gen) == 0;
    node_list keep = {0};
    node_waiter *w;
    while ((w = node_list_pop(&n->forwarded)) != NULL) {
        int lost = w->fwd_to != leader || !linked || gen != w->fwd_gen;
        if (lost || now - w->fwd_ns > (int64_t)NODE_FORWARD_TTL_MS * 1000000) {
            w->fwd_lost = 1;
            node_waiter_complete(n, w, TARN_ETIMEDOUT);
        } else {
            node_list_push(&keep, w);
        }
    }
    n->forwarded = keep;
}

static int node_tick_due(node *n, tarn_err *err)
{
    int64_t now = tarn_mono_ns();
    int64_t step = (int64_t)n->opts.tick_ms * 1000000;
    if (now < n->next_tick_ns)
        return 0;
    /* One tick per turn; a loop that fell far behind (a stalled fsync)
     * restarts the schedule rather than firing a burst of ticks, which
     * would expire election timers for no reason. */
    n->next_tick_ns = n->next_tick_ns + step > now ? n->next_tick_ns + step : now + step;
    int rc = raft_tick(n->r);
    return rc ? tarn_err_set(err, rc, "raft_tick") : 0;
}

/* Publishes the status (under mu) and wakes waiters when it changed. */
static void node_publish(node *n)
{
    raft_status rs;
    raft_get_status(n->r, &rs);
    node_status s = n->status;
    if (rs.term != s.term || rs.lead != s.leader) {
        obs_counter_add(n->m_elections, rs.lead != s.leader);
        if (n->tp)
            TARN_LOGF(TARN_LOG_INFO, "raft", rs.lead == RAFT_NONE ? "no leader" : "leader elected",
                      TARN_F_UINT("member", n->opts.id), TARN_F_UINT("term", rs.term),
                      TARN_F_UINT("leader", rs.lead), TARN_F_STR("role", raft_state_name(rs.state)),
                      TARN_F_UINT("commit", rs.commit), TARN_F_UINT("applied", n->applied));
    }
    s.is_leader = rs.state == RAFT_LEADER;
    s.state = rs.state;
    s.term = rs.term;
    s.leader = rs.lead;
    s.commit_index = rs.commit;
    s.applied_index = n->applied;
    if (s.is_leader && n->applied_term == rs.term)
        s.leader_ready_term = rs.term; /* its term's no-op (or later) is applied */
    else if (!s.is_leader)
        s.leader_ready_term = 0;
    int changed = memcmp(&s, &n->status, sizeof(s)) != 0;
    n->status = s;
    obs_gauge_set(n->m_term, (double)s.term);
    obs_gauge_set(n->m_leader, s.is_leader);
    obs_gauge_set(n->m_applied, (double)s.applied_index);
    obs_gauge_set(n->m_commit, (double)s.commit_index);
    obs_gauge_set(n->m_queue, (double)n->queue.count);
    /* Proposals and reads have their own condition (node_waiter_complete);
     * wake_done is for node_wait_leader and node_transfer_leader only. */
    if (changed || n->completed)
        pthread_cond_broadcast(&n->wake_done);
    n->completed = 0;
}

/* The apply thread moved the applied index (under mu): published at once
 * rather than at the loop's next turn, so that node_wait_leader returns as
 * soon as the leader's no-op is applied. */
void node_status_applied(node *n)
{
    n->status.applied_index = n->applied;
    obs_gauge_set(n->m_applied, (double)n->applied);
    if (n->status.is_leader && n->applied_term == n->status.term &&
        n->status.leader_ready_term != n->status.term) {
        n->status.leader_ready_term = n->status.term;
        pthread_cond_broadcast(&n->wake_done);
    }
}

/* Whether the loop may take callers' work now: as leader, or as a cluster
 * follower that knows the leader to forward to. */
static int node_can_take(const node *n)
{
    return n->status.is_leader || (n->tp && n->status.leader != RAFT_NONE);
}

/* Reads what peers sent meanwhile (under mu, dropped meanwhile), on the
 * loop's own thread: node_tp_pump calls node_on_frame, so a frame is in
 * the inbox for this very turn without a hand-off between threads. A
 * busy loop sleeps seldom, and must still hear acknowledgements. */
static void node_loop_pump(node *n)
{
    if (!n->tp)
        return;
    pthread_mutex_unlock(&n->mu);
    node_tp_pump(n->tp);
    pthread_mutex_lock(&n->mu);
}

/* Sleeps (under mu, dropped meanwhile) until node_wake_loop, bytes from a
 * peer, or until_ns, but a tick at most (with a test's manual clock the
 * deadline is only a bound). The loop stops counting as asleep before it
 * reads its peers, so the frames it queues itself write no eventfd. */
static void node_loop_sleep(node *n, int64_t until_ns)
{
    int64_t left = until_ns - tarn_mono_ns();
    int64_t tick = (int64_t)n->opts.tick_ms * 1000000;
    left = left < 0 ? 0 : left > tick ? tick : left;
    n->loop_sleeping = 1;
    pthread_mutex_unlock(&n->mu);
    struct pollfd pfd[2] = {{.fd = n->wake_fd, .events = POLLIN},
                            {.fd = n->tp ? node_tp_inbound_fd(n->tp) : -1, .events = POLLIN}};
    struct timespec ts = {.tv_sec = (time_t)(left / 1000000000),
                          .tv_nsec = (long)(left % 1000000000)};
    int ready = ppoll(pfd, 2, &ts, NULL);
    uint64_t count;
    if (ready > 0 && (pfd[0].revents & POLLIN) && read(n->wake_fd, &count, sizeof(count)) < 0) {
        /* EAGAIN: another read took it; nothing is lost */
    }
    pthread_mutex_lock(&n->mu);
    n->loop_sleeping = 0;
    if (ready > 0 && (pfd[1].revents & POLLIN))
        node_loop_pump(n);
}

/*
 * Group commit window (under mu). A leader under load, with many
 * proposals in flight but only a few new ones queued, waits up to
 * NODE_GROUP_WINDOW_US for more before it starts the turn that persists
 * them: one WAL write and fsync, one append per follower, one LMDB batch
 * then carry more entries. On this kind of machine every fsync and every
 * thread wake-up costs CPU (and in a VM an exit to the hypervisor), and a
 * loop that cycles on one or two proposals spends it per proposal; the
 * window traded about 1 ms of latency at 64 clients for a third fewer CPU
 * seconds per put (README "Performance"). A lone client never waits: with
 * fewer than NODE_GROUP_INFLIGHT_MIN proposals in flight there is nothing
 * to wait for. Frames from peers (acknowledgements) end the wait at once.
 */
static void node_group_window(node *n)
{
    if (!n->status.is_leader || n->queue.count == 0 || n->queue.count >= NODE_GROUP_PROPOSALS ||
        n->inflight.count < NODE_GROUP_INFLIGHT_MIN)
        return;
    int64_t until = tarn_mono_ns() + (int64_t)NODE_GROUP_WINDOW_US * 1000;
    while (n->queue.count < NODE_GROUP_PROPOSALS && !n->inbox_count && !n->stop && !n->failed) {
        if (tarn_mono_ns() >= until)
            break;
        node_loop_sleep(n, until);
    }
}

/* Waits (under mu) for queued work, peer frames or the next tick; moves
 * what the loop may take now into inbox/props/reads. 0 to go on, 1 to
 * stop. */
static int node_take_work(node *n, node_inmsg **inbox, node_list *props, node_list *reads)
{
    node_loop_pump(n);
    for (;;) {
        if (n->stop || n->failed)
            return 1; /* failed: the apply thread failed the node (apply.c) */
        if (n->inbox_count || n->transfer_to || n->confs.count)
            break;
        if (raft_has_ready(n->r))
            break; /* the single voter's election at open (node.c) */
        if (node_can_take(n) && (n->queue.count || n->reads.count))
            break;
        if (tarn_mono_ns() >= n->next_tick_ns)
            break;
        if (n->to_call.head) { /* async callbacks another thread left to us */
            node_unlock(n);
            pthread_mutex_lock(&n->mu);
            continue;
        }
        node_loop_sleep(n, n->next_tick_ns);
    }
    if (!n->inbox_count)
        node_group_window(n);
    *inbox = n->inbox_head;
    n->inbox_head = n->inbox_tail = NULL;
    n->inbox_count = 0;
    if (!node_can_take(n))
        return 0; /* proposals wait in the queue for a leader (or time out) */
    node_waiter *w;
    while (props->count < NODE_PROPOSE_BATCH_MAX && (w = node_list_pop(&n->queue)) != NULL)
        node_list_push(props, w);
    while ((w = node_list_pop(&n->reads)) != NULL)
        node_list_push(reads, w);
    return 0;
}

/* Hands an asked-for leadership transfer to the core (between Readies). */
static void node_transfer_step(node *n)
{
    pthread_mutex_lock(&n->mu);
    uint64_t to = n->transfer_to;
    n->transfer_to = 0;
    pthread_mutex_unlock(&n->mu);
    if (!to)
        return;
    int rc = raft_transfer_leader(n->r, to);
    if (rc == RAFT_ENOTLEADER)
        rc = TARN_EBUSY;
    TARN_LOGF(TARN_LOG_INFO, "raft", "leadership transfer", TARN_F_UINT("member", n->opts.id),
              TARN_F_UINT("to", to), TARN_F_ERR(rc));
    pthread_mutex_lock(&n->mu);
    n->transfer_rc = rc;
    n->transfer_done = n->transfer_seq;
    n->completed = 1;
    pthread_mutex_unlock(&n->mu);
}

static int node_turn(node *n, node_inmsg *inbox, node_list *props, node_list *reads, tarn_err *err)
{
    node_transfer_step(n);
    node_conf_step(n);
    int rc = node_tick_due(n, err);
    if (rc != 0) {
        node_inbox_free(inbox);
        return rc;
    }
    rc = node_step_inbox(n, inbox, props, reads, err);
    if (rc != 0)
        return rc;
    node_propose_batch(n, props);
    node_read_batch(n, reads);
    while (rc == 0 && raft_has_ready(n->r))
        rc = node_handle_ready(n, err);
    if (rc == 0)
        rc = node_maybe_compact(n, err);
    node_snap_reap(n, 0);
    raft_status rs;
    raft_get_status(n->r, &rs);
    node_expired expired[64];
    pthread_mutex_lock(&n->mu);
    node_expire_forwarded(n, rs.lead);
    node_complete_reads(n, rs.state == RAFT_LEADER);
    node_publish(n);
    size_t n_expired = node_take_expired(n, tarn_mono_ns(), expired, TARN_ARRAY_LEN(expired));
    node_unlock(n); /* callbacks of async proposals this turn completed */
    node_call_expired(n, expired, n_expired);
    return rc;
}

void *node_loop_main(void *arg)
{
    node *n = arg;
    tarn_err err = TARN_ERR_INIT;
    for (;;) {
        node_list props = {0}, reads = {0};
        node_inmsg *inbox = NULL;
        pthread_mutex_lock(&n->mu);
        int stop = node_take_work(n, &inbox, &props, &reads);
        n->status.queue_depth = n->queue.count;
        node_unlock(n); /* also those another thread completed without running them */
        if (stop) {
            node_inbox_free(inbox);
            break;
        }
        int rc = node_turn(n, inbox, &props, &reads, &err);
        if (rc == 0)
            continue;
        TARN_LOGF(TARN_LOG_ERROR, "node", "loop failed; the node must be reopened", TARN_F_ERR(rc),
                  TARN_F_STR("detail", tarn_err_msg(&err)));
        pthread_mutex_lock(&n->mu);
        node_waiter *w;
        while ((w = node_list_pop(&props)) != NULL) /* not handed to the core */
            node_list_push(&n->queue, w);
        while ((w = node_list_pop(&reads)) != NULL)
            node_list_push(&n->reads, w);
        n->failed = rc;
        n->status.failed = rc;
        node_fail_all(n, TARN_ESTATE);
        node_unlock(n);
        break;
    }
    return NULL;
}
