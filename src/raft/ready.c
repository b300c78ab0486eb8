/*
 * raft/ready.c: the outgoing message queues and the Ready batch that hands
 * the host what to persist, send and apply (README.md "Ready contract").
 */
#include "raft/raft_int.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <string.h>

/*
 * Which messages must wait for the local fsync. A vote (granted or asked
 * for) promises that the vote/term is on disk, and an append ack promises
 * the entries are: both must survive a crash, or a restarted node could vote
 * twice in a term or a leader could count a replica that no longer exists
 * (Dissertation 3.8, and the libraft bug this core exists to avoid). A
 * leader's appends and heartbeats may go before its own fsync, since the
 * leader counts itself only once its entries are durable (Dissertation
 * 10.2.1). Pre-votes change no state and go at once.
 */
static int raft_msg_needs_persist(uint32_t type)
{
    switch (type) {
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_PREVOTE:
    case RAFT_MSG_PREVOTE_RESP:
    case RAFT_MSG_TIMEOUT_NOW:
    case RAFT_MSG_SNAPSHOT:
        return 0;
    default:
        return 1;
    }
}

static void raft_msg_free_entries(raft *r, raft_msg *m)
{
    for (size_t i = 0; i < m->n_entries; i++) {
        r->msg_bytes -= m->entries[i].len;
        raft_entry_free(&m->entries[i]);
    }
    tarn_free(m->entries);
    m->entries = NULL;
    m->n_entries = 0;
}

int raft_send(raft *r, raft_msg *m)
{
    TARN_ASSERT(m->to != r->id);
    TARN_ASSERT(m->from == r->id);
    TARN_ASSERT(!r->ready_pending);
    raft_msg_queue *q = raft_msg_needs_persist(m->type) ? &r->out_after : &r->out_now;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        raft_msg *msgs = tarn_realloc(q->msgs, cap * sizeof(*msgs));
        if (msgs == NULL) {
            raft_msg_free_entries(r, m);
            return TARN_ENOMEM;
        }
        q->msgs = msgs;
        q->cap = cap;
    }
    q->msgs[q->n++] = *m;
    return 0;
}

void raft_msg_queue_free(raft *r, raft_msg_queue *q)
{
    for (size_t i = 0; i < q->n; i++)
        raft_msg_free_entries(r, &q->msgs[i]);
    tarn_free(q->msgs);
    memset(q, 0, sizeof(*q));
}

static void raft_msg_queue_clear(raft *r, raft_msg_queue *q)
{
    for (size_t i = 0; i < q->n; i++)
        raft_msg_free_entries(r, &q->msgs[i]);
    q->n = 0;
}

static raft_hard_state raft_hard_state_now(const raft *r)
{
    raft_hard_state hs = {r->term, r->vote, r->commit};
    return hs;
}

static int raft_hard_state_equal(const raft_hard_state *a, const raft_hard_state *b)
{
    return a->term == b->term && a->vote == b->vote && a->commit == b->commit;
}

int raft_has_ready(const raft *r)
{
    if (r->failed || r->ready_pending)
        return 0;
    raft_hard_state hs = raft_hard_state_now(r);
    return !raft_hard_state_equal(&hs, &r->prev_hs) ||
           raft_log_last_index(&r->log) > r->log.stable || r->out_now.n > 0 || r->out_after.n > 0 ||
           r->commit > r->applied || r->n_ready_reads > 0 || r->has_pending_snapshot;
}

int raft_ready(raft *r, struct raft_ready *rd)
{
    memset(rd, 0, sizeof(*rd));
    if (r->failed)
        return TARN_ESTATE;
    if (r->ready_pending)
        return TARN_EBUSY;
    raft_hard_state hs = raft_hard_state_now(r);
    rd->hard_state = hs;
    rd->hard_state_changed = !raft_hard_state_equal(&hs, &r->prev_hs);
    uint64_t last = raft_log_last_index(&r->log);
    if (last > r->log.stable) {
        rd->entries = raft_log_at(&r->log, r->log.stable + 1);
        rd->n_entries = (size_t)(last - r->log.stable);
    }
    rd->msgs_now = r->out_now.msgs;
    rd->n_msgs_now = r->out_now.n;
    rd->msgs_after_persist = r->out_after.msgs;
    rd->n_msgs_after_persist = r->out_after.n;
    /* The commit index never passes the in-memory log (invariant 4). */
    TARN_ASSERT(r->commit <= last);
    uint64_t applied = r->applied;
    if (r->has_pending_snapshot) {
        rd->has_snapshot = 1;
        rd->snapshot = r->pending_snapshot;
        applied = r->pending_snapshot.index; /* the snapshot applies these */
    }
    TARN_ASSERT(applied >= r->log.offset);
    if (r->commit > applied) {
        rd->committed = raft_log_at(&r->log, applied + 1);
        rd->n_committed = (size_t)(r->commit - applied);
    }
    rd->read_states = r->ready_reads;
    rd->n_read_states = r->n_ready_reads;
    r->ready_pending = 1;
    r->ready_entries_last = last;
    r->ready_committed_last = r->commit;
    return 0;
}

int raft_advance(raft *r, struct raft_ready *rd)
{
    if (r->failed)
        return TARN_ESTATE;
    if (!r->ready_pending)
        return TARN_EINVAL;
    r->ready_pending = 0;
    r->prev_hs = rd->hard_state;
    if (rd->n_entries > 0)
        r->log.stable = r->ready_entries_last;
    r->applied = r->ready_committed_last;
    r->n_ready_reads = 0;
    if (rd->has_snapshot)
        r->has_pending_snapshot = 0;
    raft_msg_queue_clear(r, &r->out_now);
    raft_msg_queue_clear(r, &r->out_after);
    memset(rd, 0, sizeof(*rd));
    if (r->state != RAFT_LEADER)
        return 0;
    /* The leader's own entries count towards a quorum only now that they
     * are durable (Dissertation 10.2.1). */
    int rc = raft_leader_maybe_commit_and_send(r);
    if (rc != 0)
        r->failed = rc;
    raft_maybe_step_down_removed(r);
    return rc;
}
