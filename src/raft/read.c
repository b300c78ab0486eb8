/*
 * raft/read.c: ReadIndex, linearizable reads without a log write
 * (Dissertation 6.4). A read is released to the host with the leader's
 * commit index once (1) that index covers an entry of the leader's current
 * term (so it covers everything committed by earlier leaders) and (2) a
 * quorum answered a heartbeat sent after the read was asked for (so no newer
 * leader can have committed anything this one has not seen). Design note:
 * README.md.
 */
#include "raft/raft_int.h"

#include "base/assert.h"

#include <string.h>

static int raft_committed_in_term(const raft *r)
{
    return raft_log_term_at(&r->log, r->commit) == r->term;
}

static size_t popcount32(uint32_t x)
{
    size_t n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* Hands every read that is ready, in order, to the next Ready. A read
 * confirmed by a later heartbeat was confirmed for all earlier ones too. */
static void raft_read_release(raft *r)
{
    size_t k = 0;
    uint32_t voters = raft_voter_mask(r); /* learners' answers never count */
    while (k < r->n_reads && r->reads[k].index != 0 &&
           popcount32(r->reads[k].acks & voters) >= raft_quorum_size(r)) {
        TARN_ASSERT(r->n_ready_reads < RAFT_MAX_PENDING_READS);
        raft_read_state *rs = &r->ready_reads[r->n_ready_reads++];
        rs->ctx = r->reads[k].ctx;
        rs->index = r->reads[k].index;
        k++;
    }
    if (k == 0)
        return;
    memmove(r->reads, r->reads + k, (r->n_reads - k) * sizeof(r->reads[0]));
    r->n_reads -= k;
}

void raft_read_on_commit(raft *r)
{
    if (r->state != RAFT_LEADER || !raft_committed_in_term(r))
        return;
    for (size_t i = 0; i < r->n_reads; i++)
        if (r->reads[i].index == 0)
            r->reads[i].index = r->commit;
    raft_read_release(r);
}

void raft_read_on_heartbeat_resp(raft *r, size_t peer, uint64_t context)
{
    TARN_ASSERT(peer < r->n_peers);
    for (size_t i = 0; i < r->n_reads && r->reads[i].seq <= context; i++)
        r->reads[i].acks |= 1u << peer;
    raft_read_release(r);
}

void raft_read_reset(raft *r)
{
    r->n_reads = 0;
}

/* The bit of this node in a read's acks; 0 when it is not a member (a
 * leader that removed itself, until the removal commits). */
static uint32_t raft_self_bit(const raft *r)
{
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i].id == r->id)
            return 1u << i;
    return 0;
}

/*
 * Leader leases (Dissertation 6.4.1; the clock assumption is stated at
 * raft_config.lease_reads). A voter that answered the heartbeat stamped s
 * (our tick count when we sent it) received it after our tick s, and from
 * then on refuses votes for election_ticks of its own ticks; with equal tick
 * rates that covers our ticks below s + election_ticks - 1 (tick phases
 * differ by less than one tick). A quorum of such voters, ourselves
 * included, means no other leader can be elected before then. The margin
 * absorbs bounded drift. A TimeoutNow sent in this term voids the lease:
 * its campaign is allowed to break leases.
 */
int raft_lease_valid(const raft *r)
{
    if (!r->cfg.lease_reads || r->state != RAFT_LEADER || r->lease_broken)
        return 0;
    uint64_t acks[RAFT_MAX_VOTERS];
    size_t n = 0;
    for (size_t i = 0; i < r->n_peers; i++)
        if (!r->peers[i].learner)
            acks[n++] = r->peers[i].id == r->id ? r->ticks : r->peers[i].lease_ack;
    for (size_t i = 1; i < n; i++) /* insertion sort, descending; n <= 9 */
        for (size_t j = i; j > 0 && acks[j - 1] < acks[j]; j--) {
            uint64_t t = acks[j];
            acks[j] = acks[j - 1];
            acks[j - 1] = t;
        }
    uint64_t s = acks[raft_quorum_size(r) - 1];
    if (s == 0)
        return 0;
    return r->ticks + 1 + r->cfg.lease_margin_ticks < s + r->cfg.election_ticks;
}

int raft_read_index(raft *r, uint64_t ctx)
{
    if (r->failed)
        return TARN_ESTATE;
    TARN_ASSERT(!r->ready_pending);
    if (r->state != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    /* Released reads wait in ready_reads too: bound both together. */
    if (r->n_reads + r->n_ready_reads >= RAFT_MAX_PENDING_READS)
        return TARN_EBUSY;
    if (raft_committed_in_term(r) && raft_lease_valid(r)) {
        /* The lease stands for the heartbeat round. */
        raft_read_state *rs = &r->ready_reads[r->n_ready_reads++];
        rs->ctx = ctx;
        rs->index = r->commit;
        return 0;
    }
    raft_read_pending *p = &r->reads[r->n_reads++];
    p->ctx = ctx;
    p->seq = ++r->read_seq;
    p->index = raft_committed_in_term(r) ? r->commit : 0;
    p->acks = raft_self_bit(r);
    raft_read_release(r); /* a single voter needs no heartbeat */
    if (r->n_reads == 0)
        return 0;
    int rc = raft_bcast_heartbeat(r);
    if (rc == TARN_ENOMEM)
        r->failed = rc;
    return rc;
}
