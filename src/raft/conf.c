/*
 * raft/conf.c: single-server membership changes (Dissertation 4.1-4.3).
 * A RAFT_ENTRY_CONF entry carries the whole configuration after its change
 * (format table in raft.h); the configuration in force on a node is the one
 * of the latest such entry in its log, committed or not (4.1), else the one
 * of its snapshot, else the bootstrap list (raft_config.voters). Design
 * note: README.md "Membership".
 */
#include "raft/raft_int.h"

#include "base/assert.h"

#include <string.h>

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

int raft_conf_is_voter(const raft_conf_state *c, uint64_t id)
{
    for (uint32_t i = 0; i < c->n_voters; i++)
        if (c->voters[i] == id)
            return 1;
    return 0;
}

int raft_conf_is_member(const raft_conf_state *c, uint64_t id)
{
    if (raft_conf_is_voter(c, id))
        return 1;
    for (uint32_t i = 0; i < c->n_learners; i++)
        if (c->learners[i] == id)
            return 1;
    return 0;
}

size_t raft_conf_encode(const raft_conf_state *c, const raft_conf_change *cc, uint8_t *out)
{
    TARN_ASSERT(c->n_voters >= 1 && c->n_voters <= RAFT_MAX_VOTERS);
    TARN_ASSERT(c->n_learners <= RAFT_MAX_LEARNERS);
    memset(out, 0, RAFT_CONF_ENCODED_BYTES_MAX);
    out[0] = 1;
    out[1] = (uint8_t)(cc ? cc->type : RAFT_CONF_NONE);
    out[2] = (uint8_t)c->n_voters;
    out[3] = (uint8_t)c->n_learners;
    put_u64(out + 4, cc ? cc->node : 0);
    uint8_t *p = out + RAFT_CONF_HEADER_BYTES;
    for (uint32_t i = 0; i < c->n_voters; i++, p += 8)
        put_u64(p, c->voters[i]);
    for (uint32_t i = 0; i < c->n_learners; i++, p += 8)
        put_u64(p, c->learners[i]);
    return (size_t)(p - out);
}

/* Ids must be nonzero and distinct across voters and learners. */
static int conf_ids_valid(const raft_conf_state *c)
{
    uint64_t ids[RAFT_MAX_PEERS];
    size_t n = 0;
    for (uint32_t i = 0; i < c->n_voters; i++)
        ids[n++] = c->voters[i];
    for (uint32_t i = 0; i < c->n_learners; i++)
        ids[n++] = c->learners[i];
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == RAFT_NONE)
            return 0;
        for (size_t j = 0; j < i; j++)
            if (ids[j] == ids[i])
                return 0;
    }
    return 1;
}

int raft_conf_decode(const uint8_t *data, uint32_t len, raft_conf_change *cc, raft_conf_state *conf)
{
    if (len < RAFT_CONF_HEADER_BYTES || data == NULL || data[0] != 1 || data[1] > RAFT_CONF_REMOVE)
        return TARN_ECORRUPT;
    raft_conf_state c;
    memset(&c, 0, sizeof(c));
    c.n_voters = data[2];
    c.n_learners = data[3];
    if (c.n_voters == 0 || c.n_voters > RAFT_MAX_VOTERS || c.n_learners > RAFT_MAX_LEARNERS)
        return TARN_ECORRUPT;
    if (len != RAFT_CONF_HEADER_BYTES + 8 * (c.n_voters + c.n_learners))
        return TARN_ECORRUPT;
    const uint8_t *p = data + RAFT_CONF_HEADER_BYTES;
    for (uint32_t i = 0; i < c.n_voters; i++, p += 8)
        c.voters[i] = get_u64(p);
    for (uint32_t i = 0; i < c.n_learners; i++, p += 8)
        c.learners[i] = get_u64(p);
    if (!conf_ids_valid(&c))
        return TARN_ECORRUPT;
    if (cc) {
        cc->type = data[1];
        cc->node = get_u64(data + 4);
    }
    if (conf)
        *conf = c;
    return 0;
}

int raft_conf_of_entry(const raft_entry *e, raft_conf_state *out)
{
    TARN_ASSERT(e->type == RAFT_ENTRY_CONF);
    return raft_conf_decode(e->data, e->len, NULL, out);
}

uint32_t raft_voter_mask(const raft *r)
{
    uint32_t mask = 0;
    for (size_t i = 0; i < r->n_peers; i++)
        if (!r->peers[i].learner)
            mask |= 1u << i;
    return mask;
}

/* A ring not used by any of peers[0..n). */
static uint64_t *raft_free_ring(raft *r, size_t n)
{
    for (size_t k = 0; k < RAFT_MAX_PEERS; k++) {
        uint64_t *ring = r->rings + k * r->cfg.max_inflight;
        int used = 0;
        for (size_t i = 0; i < n && !used; i++)
            used = r->peers[i].inflight == ring;
        if (!used)
            return ring;
    }
    TARN_ASSERT(0); /* RAFT_MAX_PEERS rings for at most RAFT_MAX_PEERS peers */
    return NULL;
}

static void raft_conf_add_peer(raft *r, const raft_progress *old, size_t n_old, uint64_t id,
                               int learner)
{
    raft_progress p;
    memset(&p, 0, sizeof(p));
    for (size_t i = 0; i < n_old; i++)
        if (old[i].id == id)
            p = old[i];
    if (p.id == RAFT_NONE) {
        /* A new member (4.2.1): probe from the end of our log, backtracking
         * as for any follower. */
        uint64_t last = raft_log_last_index(&r->log);
        p.id = id;
        p.next = last > r->log.offset ? last : last + 1; /* the probe carries the conf entry */
        p.match = id == r->id ? r->log.stable : 0;
        p.recent_active = 1; /* give it an election timeout to answer */
        p.inflight = NULL;
    }
    p.learner = learner;
    r->peers[r->n_peers++] = p;
}

/*
 * Puts configuration *c in force: the progress of members that stay is
 * kept, new members start probing, removed ones are dropped. Pending
 * ReadIndex confirmations are reset, since peer slots move (the next
 * heartbeat confirms them again under the new configuration). Cannot fail:
 * the inflight rings were allocated at open.
 */
void raft_conf_apply(raft *r, const raft_conf_state *c)
{
    raft_progress old[RAFT_MAX_PEERS];
    size_t n_old = r->n_peers;
    memcpy(old, r->peers, n_old * sizeof(old[0]));
    r->conf = *c;
    r->n_peers = 0;
    for (uint32_t i = 0; i < c->n_voters; i++)
        raft_conf_add_peer(r, old, n_old, c->voters[i], 0);
    for (uint32_t i = 0; i < c->n_learners; i++)
        raft_conf_add_peer(r, old, n_old, c->learners[i], 1);
    for (size_t i = 0; i < r->n_peers; i++) {
        raft_progress *pr = &r->peers[i];
        if (pr->inflight != NULL)
            continue;
        pr->inflight = raft_free_ring(r, r->n_peers);
        pr->inflight_start = 0;
        pr->inflight_count = 0;
    }
    r->self_voter = raft_conf_is_voter(c, r->id);
    memset(r->votes, 0, sizeof(r->votes)); /* only candidates vote; they never change conf */
    size_t self = r->n_peers;
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i].id == r->id)
            self = i;
    for (size_t i = 0; i < r->n_reads; i++)
        r->reads[i].acks = self < r->n_peers ? 1u << self : 0;
}

/* The configuration at `index` (offset <= index <= last): of the latest
 * conf entry at or before it, else the snapshot's. */
void raft_conf_at(const raft *r, uint64_t index, raft_conf_state *out)
{
    for (uint64_t i = index; i > r->log.offset; i--) {
        const raft_entry *e = raft_log_at(&r->log, i);
        if (e->type == RAFT_ENTRY_CONF && raft_conf_of_entry(e, out) == 0)
            return; /* entries were validated when they entered the log */
    }
    *out = r->snap_conf;
}

/* After the log changed other than by appending one conf entry (a
 * truncation, a snapshot, open): the latest conf entry rules again. */
void raft_conf_recompute(raft *r)
{
    raft_conf_state c;
    uint64_t last = raft_log_last_index(&r->log);
    r->conf_index = 0;
    for (uint64_t i = last; i > r->log.offset; i--)
        if (raft_log_at(&r->log, i)->type == RAFT_ENTRY_CONF) {
            r->conf_index = i;
            break;
        }
    raft_conf_at(r, last, &c);
    raft_conf_apply(r, &c);
}
