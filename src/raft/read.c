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
    while (k < r->n_reads && r->reads[k].index != 0 &&
           popcount32(r->reads[k].acks) >= raft_quorum_size(r)) {
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

static size_t raft_self_index(const raft *r)
{
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i].id == r->id)
            return i;
    TARN_ASSERT(0);
    return 0;
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
    raft_read_pending *p = &r->reads[r->n_reads++];
    p->ctx = ctx;
    p->seq = ++r->read_seq;
    p->index = raft_committed_in_term(r) ? r->commit : 0;
    p->acks = 1u << raft_self_index(r);
    raft_read_release(r); /* a single voter needs no heartbeat */
    if (r->n_reads == 0)
        return 0;
    int rc = raft_bcast_heartbeat(r);
    if (rc == TARN_ENOMEM)
        r->failed = rc;
    return rc;
}
