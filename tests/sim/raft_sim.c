/*
 * tests/sim/raft_sim.c: drives 3 or 5 consensus cores through a simulated
 * network (loss, duplication, reordering, delay, symmetric and one-way
 * partitions), simulated disks (crash losing what was not fsynced, torn last
 * write, restart from what is durable), clock jumps and clients, all from
 * one seed. Safety is checked after every step (sim_check.c); at the end,
 * after healing, every acknowledged proposal must be applied exactly once on
 * every node and a leader must commit within a bound (liveness).
 *
 *   raft_sim --seed N [--nodes 3|5] [--steps MS] [--seeds K] [-v]
 *   raft_sim --lease-unsafe --expect-stale --seeds K
 *                             leases with jumping clocks: exits 0 only if the
 *                             checker caught a stale read (and nothing else)
 *   raft_sim --suite          300 fixed seeds + 60 fresh ones, 20 s of faults
 *                             each; TARN_LONG_TESTS=1: 10,000 seeds
 *
 * Exit status 0 when every seed passed, 1 on any violation (each failing
 * seed prints the command that replays it).
 */
#include "linz.h"
#include "sim.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_TICK_MS        10    /* one raft tick per 10 simulated ms */
#define SIM_QUIET_LIMIT_MS 40000 /* liveness bound after healing */
#define SIM_PAYLOAD_MAX    40
#define SIM_MAX_IN_FLIGHT  50000
#define SIM_SUITE_STEPS    20000 /* ms of faults per seed in --suite */
#define SIM_KEYS           8     /* registers: proposal id goes to key id % 8 */
#define SIM_SNAP_CHUNK_IDS 64    /* state-machine ids per snapshot chunk */

typedef struct sim_opts {
    uint64_t seed;
    uint64_t steps; /* simulated ms of faults */
    int nodes;
    int verbose;
    int lease_unsafe; /* leases on with clock jumps beyond the margin */
} sim_opts;

/* A snapshot of a node's state machine (durable, like an LMDB copy). */
typedef struct sim_snap {
    uint64_t index;
    uint64_t term;
    uint64_t chain;         /* prefix hash at index, for the checker */
    sim_u64s ids;           /* the state machine: proposal id -> times applied */
    uint64_t reg[SIM_KEYS]; /* the registers: last proposal id per key */
    raft_conf_state conf;   /* the configuration at index */
} sim_snap;

typedef struct sim_node {
    uint64_t id;
    raft *r;
    int up;
    uint64_t incarnation;
    uint64_t restart_at;
    uint32_t tick_phase;
    sim_disk disk;
    sim_mirror mirror;
    uint64_t sm_applied;      /* durable with the state machine, like LMDB */
    sim_u64s id_count;        /* proposal id -> times applied */
    uint64_t reg[SIM_KEYS];   /* register values (durable with id_count) */
    raft_conf_state sm_conf;  /* configuration as of sm_applied */
    sim_snap snap;            /* latest snapshot (durable); index 0: none */
    const sim_snap *incoming; /* data of the snapshot message being stepped */
} sim_node;

typedef struct sim_proposal {
    uint64_t node;
    uint64_t incarnation;
    uint64_t index;
    uint64_t term;
    uint32_t len;
    int acked;
    uint64_t read_floor; /* highest index a read had seen when this was asked */
    size_t op;           /* its write in the client history */
} sim_proposal;

typedef struct sim_packet {
    uint64_t at;
    uint64_t seq;
    raft_msg m;     /* deep copy owned by the network */
    sim_snap *snap; /* the data sent with a RAFT_MSG_SNAPSHOT, owned */
    int lost;       /* a snapshot chunk was lost: the stream fails */
} sim_packet;

typedef struct sim {
    sim_opts o;
    tarn_rng rng;
    uint64_t now;
    uint64_t seq;
    sim_node nodes[SIM_MAX_NODES];
    int n;      /* nodes, the spare included */
    int n_boot; /* bootstrap voters 1..n_boot */
    sim_packet *net;
    size_t n_net;
    size_t cap_net;
    uint8_t blocked[SIM_MAX_NODES][SIM_MAX_NODES];
    int faults_on;
    double p_loss, p_dup, p_crash, p_crash_mid, p_partition, p_heal, p_propose, p_jump;
    uint32_t max_delay;
    uint32_t max_inflight; /* the core's flow-control knobs, per seed */
    uint64_t max_msg_bytes;
    sim_proposal *props; /* props[id - 1] */
    size_t n_props;
    size_t cap_props;
    uint64_t final_id;          /* the liveness probe proposal */
    raft_conf_state final_conf; /* the leader's when the cluster converged */
    uint64_t linz_steps;
    uint64_t acked;
    uint64_t max_acked_index; /* highest index of an acknowledged proposal */
    sim_u64s read_min_index;  /* read id -> max_acked_index when it was asked */
    uint64_t n_reads;
    uint64_t reads_served;
    double p_read;
    double p_transfer;
    double p_compact; /* chance per Ready that a node snapshots and compacts */
    uint64_t snapshots_installed;
    double p_oom; /* chance that a core call meets a failed allocation */
    uint64_t ooms;
    uint64_t max_read_index; /* highest index a completed read observed */
    uint64_t transfers;
    int pre_vote;
    int check_quorum;
    int lease;     /* lease_reads on in this seed */
    double p_conf; /* chance per ms of a membership change */
    uint64_t conf_changes;
    uint64_t snap_reports;
    int no_snap_reports;  /* a host that never calls raft_report_snapshot */
    uint64_t lease_reads; /* reads asked while the leader held a lease */
    linz_op *hist;        /* the client history */
    size_t n_hist, cap_hist;
    uint64_t clock; /* history time: one tick per client event */
    uint64_t last_acked_id;
    sim_u64s read_op; /* read id -> history index + 1 */
    sim_u64s read_key;
    uint64_t crashes;
    uint64_t msgs;
    sim_check chk;
} sim;

static int sim_chance(sim *s, double p)
{
    return tarn_rng_double(&s->rng) < p;
}

/* ------------------------------------------------------------ the network */

/* The network keeps messages past raft_advance: deep copies. */
static void msg_copy(raft_msg *dst, const raft_msg *src)
{
    TARN_ASSERT(raft_msg_copy(dst, src) == 0);
}

static void u64s_copy(sim_u64s *dst, const sim_u64s *src)
{
    sim_u64s_free(dst);
    for (size_t i = 0; i < src->n; i++)
        sim_u64s_set(dst, i, src->v[i]);
}

static void snap_free(sim_snap *sn)
{
    sim_u64s_free(&sn->ids);
    memset(sn, 0, sizeof(*sn));
}

static void net_push(sim *s, const raft_msg *m, const sim_snap *snap)
{
    /* A message storm is a bug (amplification), not a slow test. */
    if (s->n_net >= SIM_MAX_IN_FLIGHT) {
        sim_check_fail(&s->chk, "network: more than %d messages in flight", SIM_MAX_IN_FLIGHT);
        return;
    }
    if (s->n_net == s->cap_net) {
        s->cap_net = s->cap_net ? s->cap_net * 2 : 256;
        s->net = tarn_realloc(s->net, s->cap_net * sizeof(sim_packet));
        TARN_ASSERT(s->net != NULL);
    }
    sim_packet *p = &s->net[s->n_net++];
    p->at = s->now + 1 + tarn_rng_below(&s->rng, s->max_delay);
    p->seq = s->seq++;
    msg_copy(&p->m, m);
    p->snap = NULL;
    p->lost = 0;
    if (m->type == RAFT_MSG_SNAPSHOT) {
        TARN_ASSERT(snap != NULL && snap->index == m->index && snap->term == m->log_term);
        p->snap = tarn_calloc(1, sizeof(sim_snap));
        TARN_ASSERT(p->snap != NULL);
        *p->snap = *snap;
        memset(&p->snap->ids, 0, sizeof(p->snap->ids));
        u64s_copy(&p->snap->ids, &snap->ids);
    }
}

static void packet_free(sim_packet *p)
{
    raft_msg_copy_free(&p->m);
    if (p->snap)
        snap_free(p->snap);
    tarn_free(p->snap);
}

/* A snapshot is streamed in chunks (SIM_SNAP_CHUNK_IDS ids each); losing
 * any of them fails the stream, which the sender's host learns when the
 * transfer would have ended (raft_report_snapshot). */
static void net_push_snapshot(sim *s, const raft_msg *m, const sim_snap *snap)
{
    size_t chunks = 1 + snap->ids.n / SIM_SNAP_CHUNK_IDS;
    int lost = 0;
    for (size_t c = 0; c < chunks && s->faults_on; c++)
        lost |= sim_chance(s, s->p_loss);
    net_push(s, m, snap);
    if (s->n_net > 0 && s->net[s->n_net - 1].m.type == RAFT_MSG_SNAPSHOT)
        s->net[s->n_net - 1].lost = lost;
}

static void net_send(sim *s, const sim_snap *snap, const raft_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s->msgs++;
        if (msgs[i].type == RAFT_MSG_SNAPSHOT) {
            net_push_snapshot(s, &msgs[i], snap);
            continue;
        }
        if (s->faults_on && sim_chance(s, s->p_loss))
            continue;
        net_push(s, &msgs[i], snap);
        if (s->faults_on && sim_chance(s, s->p_dup))
            net_push(s, &msgs[i], snap);
    }
}

/* ------------------------------------------------------------ history */

static size_t hist_add(sim *s, int is_write, uint64_t key, uint64_t value)
{
    if (s->n_hist == s->cap_hist) {
        s->cap_hist = s->cap_hist ? s->cap_hist * 2 : 1024;
        s->hist = tarn_realloc(s->hist, s->cap_hist * sizeof(linz_op));
        TARN_ASSERT(s->hist != NULL);
    }
    linz_op *op = &s->hist[s->n_hist];
    *op = (linz_op){.call = ++s->clock, .ret = LINZ_PENDING, .is_write = is_write};
    op->key = key;
    op->value = value;
    return s->n_hist++;
}

/* ------------------------------------------------------------ the nodes */

static void node_crash(sim *s, sim_node *nd)
{
    raft_close(nd->r);
    nd->r = NULL;
    nd->up = 0;
    nd->restart_at = s->now + 20 + tarn_rng_below(&s->rng, 1500);
    s->crashes++;
    if (s->o.verbose)
        printf("%8" PRIu64 " node %" PRIu64 " crashes\n", s->now, nd->id);
}

/* Persists a Ready in the contract's order: entries, then hard state. May
 * crash midway (tearing the record being written). Returns 0 if crashed. */
static int node_persist(sim *s, sim_node *nd, const struct raft_ready *rd)
{
    size_t ops = rd->n_entries + (rd->hard_state_changed ? 1 : 0);
    size_t crash_at = SIZE_MAX;
    if (s->faults_on && ops > 0 && sim_chance(s, s->p_crash_mid))
        crash_at = (size_t)tarn_rng_below(&s->rng, ops);
    if (rd->n_entries > 0)
        sim_disk_truncate(&nd->disk, rd->entries[0].index);
    for (size_t k = 0; k < rd->n_entries; k++) {
        size_t size = sim_disk_record_size(&rd->entries[k]);
        size_t torn = k == crash_at ? (size_t)tarn_rng_below(&s->rng, size) : size;
        sim_disk_append(&nd->disk, &rd->entries[k], torn);
        if (k == crash_at)
            return 0;
    }
    if (crash_at != SIZE_MAX)
        return 0; /* the hard-state write was torn: the old one stays */
    if (rd->hard_state_changed) {
        nd->disk.hs = rd->hard_state;
        nd->disk.has_hs = 1;
    }
    return 1;
}

static void payload_fill(uint8_t *p, uint64_t id, uint32_t len)
{
    for (uint32_t k = 0; k < len; k++)
        p[k] = k < 8 ? (uint8_t)(id >> (8 * k)) : (uint8_t)(id * 131 + k * 7);
}

/* Applies committed entries to the node's (durable) state machine. */
static void node_apply(sim *s, sim_node *nd, const raft_entry *e, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (e[k].index != nd->sm_applied + 1) {
            sim_check_fail(&s->chk, "node %" PRIu64 " applies %" PRIu64 " after %" PRIu64, nd->id,
                           e[k].index, nd->sm_applied);
            return;
        }
        sim_check_apply(&s->chk, &nd->mirror, nd->id, e[k].index);
        nd->sm_applied = e[k].index;
        if (e[k].type == RAFT_ENTRY_CONF &&
            raft_conf_decode(e[k].data, e[k].len, NULL, &nd->sm_conf) != 0)
            sim_check_fail(&s->chk, "node %" PRIu64 " applies a bad configuration at %" PRIu64,
                           nd->id, e[k].index);
        if (e[k].type != RAFT_ENTRY_NORMAL)
            continue;
        uint64_t id = 0;
        for (int b = 0; b < 8 && b < (int)e[k].len; b++)
            id |= (uint64_t)e[k].data[b] << (8 * b);
        uint8_t want[SIM_PAYLOAD_MAX];
        sim_proposal *p = id >= 1 && id <= s->n_props ? &s->props[id - 1] : NULL;
        if (p)
            payload_fill(want, id, p->len);
        if (!p || e[k].len != p->len || memcmp(want, e[k].data, p->len) != 0) {
            sim_check_fail(&s->chk, "node %" PRIu64 " applies a damaged payload at %" PRIu64,
                           nd->id, e[k].index);
            return;
        }
        sim_u64s_set(&nd->id_count, id, sim_u64s_get(&nd->id_count, id) + 1);
        nd->reg[id % SIM_KEYS] = id;
        if (sim_u64s_get(&nd->id_count, id) > 1)
            sim_check_fail(&s->chk, "node %" PRIu64 " applies proposal %" PRIu64 " twice", nd->id,
                           id);
        if (p->node == nd->id && p->incarnation == nd->incarnation && p->index == e[k].index &&
            p->term == e[k].term && !p->acked) {
            p->acked = 1;
            s->acked++;
            s->hist[p->op].ret = ++s->clock;
            s->last_acked_id = id;
            if (p->index > s->max_acked_index)
                s->max_acked_index = p->index;
            /* A write asked for after a read completed must take effect
             * after what that read saw (a stale leader may accept it at a
             * lower index, but then it never commits). */
            if (p->index <= p->read_floor)
                sim_check_fail(&s->chk,
                               "write %" PRIu64 " acknowledged at %" PRIu64
                               " inside what an earlier read saw (%" PRIu64 ")",
                               id, p->index, p->read_floor);
        }
    }
}

/* ReadIndex linearizability: a read must see every write acknowledged, and
 * everything any read saw, before it was asked for (real-time order). */
static void node_check_reads(sim *s, sim_node *nd, const raft_read_state *rs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t need = sim_u64s_get(&s->read_min_index, rs[i].ctx);
        /* With --lease-unsafe the history checker alone must find it. */
        if (rs[i].ctx == 0 || rs[i].ctx > s->n_reads || (rs[i].index < need && !s->o.lease_unsafe))
            sim_check_fail(&s->chk,
                           "stale read: node %" PRIu64 " read %" PRIu64 " at index %" PRIu64
                           " but index %" PRIu64 " was acknowledged before it was asked",
                           nd->id, rs[i].ctx, rs[i].index, need);
        s->reads_served++;
        size_t op = (size_t)sim_u64s_get(&s->read_op, rs[i].ctx);
        if (op > 0 && s->hist[op - 1].ret == LINZ_PENDING) {
            /* The host serves the read now: applied covers rs.index. */
            if (nd->sm_applied < rs[i].index)
                sim_check_fail(&s->chk,
                               "read %" PRIu64 " released before index %" PRIu64 " was applied",
                               rs[i].ctx, rs[i].index);
            s->hist[op - 1].value = nd->reg[s->hist[op - 1].key];
            s->hist[op - 1].ret = ++s->clock;
        }
        if (rs[i].index > s->max_read_index)
            s->max_read_index = rs[i].index;
    }
}

/* Checks that follow every change of a node: commit and leadership. */
static void node_check(sim *s, sim_node *nd)
{
    raft_status st;
    raft_get_status(nd->r, &st);
    if (st.last_index != nd->mirror.last)
        sim_check_fail(&s->chk, "node %" PRIu64 ": log ends at %" PRIu64 ", Readies say %" PRIu64,
                       nd->id, st.last_index, nd->mirror.last);
    sim_check_commit(&s->chk, &nd->mirror, nd->id, st.commit, st.term);
    if (st.state == RAFT_LEADER)
        sim_check_leader(&s->chk, &nd->mirror, nd->id, st.term);
}

/* Ready contract step 0: the snapshot that came with the message replaces
 * the state machine and the log, durably. */
static void node_install_snapshot(sim *s, sim_node *nd, const raft_snapshot_meta *meta)
{
    const sim_snap *in = nd->incoming;
    if (in == NULL || in->index != meta->index || in->term != meta->term) {
        sim_check_fail(&s->chk, "node %" PRIu64 ": Ready asks for a snapshot it never got", nd->id);
        return;
    }
    sim_check_snapshot(&s->chk, nd->id, in->index, in->chain);
    snap_free(&nd->snap);
    nd->snap = *in;
    memset(&nd->snap.ids, 0, sizeof(nd->snap.ids));
    u64s_copy(&nd->snap.ids, &in->ids);
    u64s_copy(&nd->id_count, &in->ids);
    memcpy(nd->reg, in->reg, sizeof(nd->reg));
    nd->sm_conf = in->conf;
    if (memcmp(&meta->conf, &in->conf, sizeof(in->conf)) != 0)
        sim_check_fail(&s->chk,
                       "node %" PRIu64 ": snapshot %" PRIu64
                       " configuration differs from its sender's",
                       nd->id, in->index);
    nd->sm_applied = in->index;
    sim_disk_reset(&nd->disk, in->index, in->term);
    sim_mirror_reset(&nd->mirror, in->index, in->term, in->chain);
    s->snapshots_installed++;
}

/* The host snapshots its state machine and lets the core drop the log
 * prefix (and drops it from its own disk). */
static void node_compact(sim *s, sim_node *nd)
{
    raft_status st;
    raft_get_status(nd->r, &st);
    uint64_t index = nd->sm_applied;
    if (index <= nd->disk.base || index > st.stable_index)
        return;
    snap_free(&nd->snap);
    nd->snap.index = index;
    nd->snap.term = sim_u64s_get(&nd->mirror.term, index);
    nd->snap.chain = sim_u64s_get(&nd->mirror.chain, index);
    u64s_copy(&nd->snap.ids, &nd->id_count);
    memcpy(nd->snap.reg, nd->reg, sizeof(nd->reg));
    nd->snap.conf = nd->sm_conf;
    sim_check_snapshot(&s->chk, nd->id, index, nd->snap.chain);
    sim_disk_compact(&nd->disk, index, nd->snap.term);
    nd->mirror.offset = index;
    int rc = raft_compact(nd->r, index);
    if (rc != 0)
        sim_check_fail(&s->chk, "node %" PRIu64 ": compact %" PRIu64 ": %s", nd->id, index,
                       tarn_strerror(rc));
}

/* The host's Ready loop (src/raft/raft.h): send early messages, persist,
 * send the rest, apply, advance. */
static void node_process(sim *s, sim_node *nd)
{
    while (nd->up && raft_has_ready(nd->r)) {
        struct raft_ready rd;
        int rc = raft_ready(nd->r, &rd);
        TARN_ASSERT(rc == 0);
        if (rd.has_snapshot)
            node_install_snapshot(s, nd, &rd.snapshot);
        sim_check_entries(&s->chk, &nd->mirror, nd->id, rd.entries, rd.n_entries);
        node_check(s, nd);
        net_send(s, &nd->snap, rd.msgs_now, rd.n_msgs_now);
        if (!node_persist(s, nd, &rd)) {
            node_crash(s, nd);
            return;
        }
        net_send(s, &nd->snap, rd.msgs_after_persist, rd.n_msgs_after_persist);
        node_apply(s, nd, rd.committed, rd.n_committed);
        node_check_reads(s, nd, rd.read_states, rd.n_read_states);
        rc = raft_advance(nd->r, &rd);
        if (rc != 0)
            sim_check_fail(&s->chk, "node %" PRIu64 ": advance: %s", nd->id, tarn_strerror(rc));
        if (nd->up && s->faults_on && sim_chance(s, s->p_compact))
            node_compact(s, nd);
    }
    if (nd->up)
        node_check(s, nd);
}

/* Opens the core from what the disk holds, as a restarted process would. */
static void node_start(sim *s, sim_node *nd)
{
    sim_disk_recover(&nd->disk);
    raft_config cfg;
    raft_config_init(&cfg);
    uint64_t voters[SIM_MAX_NODES];
    for (int i = 0; i < s->n_boot; i++)
        voters[i] = (uint64_t)i + 1;
    cfg.id = nd->id;
    cfg.voters = voters; /* the spare is not among them: it joins later */
    cfg.n_voters = (size_t)s->n_boot;
    cfg.lease_reads = s->lease;
    cfg.lease_margin_ticks = 1;
    cfg.applied = nd->sm_applied;
    cfg.pre_vote = s->pre_vote;
    cfg.check_quorum = s->check_quorum;
    cfg.max_inflight = s->max_inflight;
    cfg.max_msg_bytes = s->max_msg_bytes;
    cfg.rng_seed = s->o.seed * 1000003 + nd->id * 7919 + nd->incarnation;
    raft_log_view view = {.ctx = &nd->disk, .entry = sim_disk_entry};
    view.snapshot_index = nd->disk.base;
    view.snapshot_term = nd->disk.base_term;
    view.first_index = nd->disk.base + 1;
    view.last_index = sim_disk_last_index(&nd->disk);
    view.snapshot_conf = nd->disk.base > 0 ? &nd->snap.conf : NULL;
    tarn_err err = TARN_ERR_INIT;
    int rc = raft_open(&cfg, nd->disk.has_hs ? &nd->disk.hs : NULL, &view, &nd->r, &err);
    if (rc != 0) {
        sim_check_fail(&s->chk, "node %" PRIu64 " cannot restart: %s", nd->id, tarn_err_msg(&err));
        return;
    }
    nd->up = 1;
    nd->incarnation++;
    /* The mirror restarts from the durable log; log matching is checked
     * again for every recovered entry. */
    sim_u64s_free(&nd->mirror.term);
    sim_u64s_free(&nd->mirror.chain);
    memset(&nd->mirror, 0, sizeof(nd->mirror));
    if (nd->disk.base > 0)
        sim_mirror_reset(&nd->mirror, nd->snap.index, nd->snap.term, nd->snap.chain);
    nd->mirror.seen_commit = 0;
    for (uint64_t i = nd->disk.base + 1; i <= sim_disk_last_index(&nd->disk); i++) {
        raft_entry e;
        sim_disk_entry(&nd->disk, i, &e);
        sim_check_entries(&s->chk, &nd->mirror, nd->id, &e, 1);
    }
    if (s->o.verbose && nd->incarnation > 1)
        printf("%8" PRIu64 " node %" PRIu64 " restarts with %" PRIu64 " entries\n", s->now, nd->id,
               sim_disk_last_index(&nd->disk));
    node_check(s, nd);
}

/* Out-of-memory injection: makes one of the next few allocations of the
 * coming core call fail. Disarmed right after the call, so the simulator's
 * own allocations never fail. */
static void oom_arm(sim *s)
{
    if (s->faults_on && s->p_oom > 0 && sim_chance(s, s->p_oom))
        tarn_alloc_fail_at(1 + tarn_rng_below(&s->rng, 6), 0);
}

/* After a core call: an allocation failure that failed the handle makes
 * the host restart the node from its disk, as the contract says. Returns 1
 * when the node went down. */
static int oom_after(sim *s, sim_node *nd, int rc, const char *what)
{
    tarn_alloc_fail_at(0, 0);
    if (rc == 0)
        return 0;
    if (rc == TARN_ENOMEM) {
        raft_status st;
        raft_get_status(nd->r, &st);
        s->ooms++;
        if (st.failed) {
            node_crash(s, nd);
            return 1;
        }
        return 0; /* refused without a change (a proposal's copy) */
    }
    sim_check_fail(&s->chk, "node %" PRIu64 ": %s: %s", nd->id, what, tarn_strerror(rc));
    return 0;
}

static void node_step(sim *s, sim_node *nd, const raft_msg *m, const sim_snap *snap)
{
    oom_arm(s);
    int rc = raft_step(nd->r, m);
    if (oom_after(s, nd, rc, raft_msg_type_name(m->type)))
        return;
    nd->incoming = snap;
    node_process(s, nd);
    nd->incoming = NULL;
}

/* The sender's host learns how streaming a snapshot ended. */
static void snapshot_report(sim *s, const raft_msg *m, int ok)
{
    sim_node *from = &s->nodes[m->from - 1];
    if (!from->up || s->no_snap_reports)
        return; /* then the leader's snapshot_timeout_ticks takes over */
    int rc = raft_report_snapshot(from->r, m->to, ok);
    if (rc != 0 && rc != TARN_EINVAL) /* EINVAL: the peer was removed since */
        sim_check_fail(&s->chk, "node %" PRIu64 ": report snapshot: %s", from->id,
                       tarn_strerror(rc));
    s->snap_reports++;
    node_process(s, from);
}

static int packet_cmp(const void *a, const void *b)
{
    const sim_packet *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Delivers every packet due now, in (time, send order); random delays make
 * this a reordering network. */
static void net_deliver(sim *s)
{
    size_t n_due = 0;
    for (size_t i = 0; i < s->n_net; i++)
        n_due += s->net[i].at <= s->now;
    if (n_due == 0)
        return;
    sim_packet *due = tarn_malloc_array(n_due, sizeof(sim_packet));
    TARN_ASSERT(due != NULL);
    size_t d = 0, keep = 0;
    for (size_t i = 0; i < s->n_net; i++) {
        if (s->net[i].at <= s->now)
            due[d++] = s->net[i];
        else
            s->net[keep++] = s->net[i];
    }
    s->n_net = keep;
    qsort(due, n_due, sizeof(sim_packet), packet_cmp);
    for (size_t i = 0; i < n_due; i++) {
        raft_msg *m = &due[i].m;
        sim_node *to = &s->nodes[m->to - 1];
        int reaches = to->up && !s->blocked[m->from - 1][m->to - 1];
        if (m->type == RAFT_MSG_SNAPSHOT && !sim_check_failed(&s->chk))
            snapshot_report(s, m, reaches && !due[i].lost);
        if (m->type == RAFT_MSG_SNAPSHOT && due[i].lost)
            reaches = 0;
        if (reaches && !sim_check_failed(&s->chk))
            node_step(s, to, m, due[i].snap);
        packet_free(&due[i]);
    }
    tarn_free(due);
}

static void node_tick(sim *s, sim_node *nd)
{
    if ((s->now + nd->tick_phase) % SIM_TICK_MS != 0)
        return;
    /* A clock jump: several ticks at once, as after a stalled process. */
    int ticks = s->faults_on && sim_chance(s, s->p_jump) ? 2 + (int)tarn_rng_below(&s->rng, 4) : 1;
    if (ticks > 1 && s->o.lease_unsafe) {
        /* Followers' clocks run fast (a burst of ticks), the leader's not. */
        raft_status st;
        raft_get_status(nd->r, &st);
        ticks = st.state == RAFT_LEADER ? 1 : 2 + (int)tarn_rng_below(&s->rng, 20);
    }
    for (int t = 0; t < ticks && nd->up; t++) {
        oom_arm(s);
        int rc = raft_tick(nd->r);
        if (oom_after(s, nd, rc, "tick"))
            return;
        node_process(s, nd);
    }
}

static sim_node *sim_leader(sim *s)
{
    sim_node *best = NULL;
    uint64_t best_term = 0;
    for (int i = 0; i < s->n; i++) {
        raft_status st;
        if (!s->nodes[i].up)
            continue;
        raft_get_status(s->nodes[i].r, &st);
        if (st.state == RAFT_LEADER && st.term >= best_term) {
            best = &s->nodes[i];
            best_term = st.term;
        }
    }
    return best;
}

/* A client proposes at node nd; payload lengths are deliberately not
 * multiples of 8 (the libraft 0.15 loss). Returns the proposal id or 0. */
static uint64_t sim_propose(sim *s, sim_node *nd)
{
    if (s->n_props == s->cap_props) {
        s->cap_props = s->cap_props ? s->cap_props * 2 : 256;
        s->props = tarn_realloc(s->props, s->cap_props * sizeof(sim_proposal));
        TARN_ASSERT(s->props != NULL);
    }
    uint64_t id = s->n_props + 1;
    uint32_t len = 8 + (uint32_t)tarn_rng_below(&s->rng, SIM_PAYLOAD_MAX - 8 + 1);
    uint8_t data[SIM_PAYLOAD_MAX];
    payload_fill(data, id, len);
    sim_proposal p = {.node = nd->id, .incarnation = nd->incarnation, .len = len};
    oom_arm(s);
    int rc = raft_propose(nd->r, data, len, &p.index, &p.term);
    if (rc == RAFT_ENOTLEADER || rc == TARN_EBUSY) {
        tarn_alloc_fail_at(0, 0);
        return 0;
    }
    if (rc != 0) {
        oom_after(s, nd, rc, "propose");
        return 0;
    }
    tarn_alloc_fail_at(0, 0);
    p.read_floor = s->max_read_index;
    p.op = hist_add(s, 1, id % SIM_KEYS, id);
    s->props[s->n_props++] = p;
    node_process(s, nd);
    return id;
}

/* Clients propose k entries at node nd in one raft_propose_batch (the
 * node/ host hands a turn's proposals over this way). Each gets its id as
 * sim_propose gives one; a refused one keeps its id (its payload carries
 * it) with index 0, never in any log, and no client op. */
static void sim_propose_batch(sim *s, sim_node *nd, size_t k)
{
    enum { BATCH_MAX = 4 };
    TARN_ASSERT(k <= BATCH_MAX);
    uint8_t data[BATCH_MAX][SIM_PAYLOAD_MAX];
    raft_proposal rp[BATCH_MAX];
    while (s->n_props + k > s->cap_props) {
        s->cap_props = s->cap_props ? s->cap_props * 2 : 256;
        s->props = tarn_realloc(s->props, s->cap_props * sizeof(sim_proposal));
        TARN_ASSERT(s->props != NULL);
    }
    for (size_t i = 0; i < k; i++) {
        uint32_t len = 8 + (uint32_t)tarn_rng_below(&s->rng, SIM_PAYLOAD_MAX - 8 + 1);
        payload_fill(data[i], s->n_props + 1 + i, len);
        rp[i] = (raft_proposal){.data = data[i], .len = len};
    }
    oom_arm(s);
    int rc = raft_propose_batch(nd->r, rp, k);
    for (size_t i = 0; rc == 0 && i < k; i++)
        if (rp[i].rc != 0 && rp[i].rc != RAFT_ENOTLEADER && rp[i].rc != TARN_EBUSY)
            rc = rp[i].rc; /* out of memory copying one: maybe failed */
    int down = oom_after(s, nd, rc, "propose batch");
    for (size_t i = 0; i < k; i++) {
        uint64_t id = s->n_props + 1;
        sim_proposal p = {.node = nd->id, .incarnation = nd->incarnation, .len = rp[i].len};
        p.op = (size_t)-1;
        if (!down && rp[i].rc == 0) {
            p.index = rp[i].index;
            p.term = rp[i].term;
            p.read_floor = s->max_read_index;
            p.op = hist_add(s, 1, id % SIM_KEYS, id);
        }
        s->props[s->n_props++] = p;
    }
    if (!down)
        node_process(s, nd);
}

/* A client asks node nd for a linearizable read. */
static void sim_read(sim *s, sim_node *nd)
{
    uint64_t id = s->n_reads + 1;
    /* Half the reads look at the register written last, where a stale read
     * shows; the others at any. */
    uint64_t key =
        sim_chance(s, 0.5) ? s->last_acked_id % SIM_KEYS : tarn_rng_below(&s->rng, SIM_KEYS);
    size_t op = hist_add(s, 0, key, 0); /* called now, even if refused */
    oom_arm(s);
    int rc = raft_read_index(nd->r, id);
    if (rc == RAFT_ENOTLEADER || rc == TARN_EBUSY) {
        tarn_alloc_fail_at(0, 0);
        return;
    }
    if (rc != 0) {
        oom_after(s, nd, rc, "read_index");
        return;
    }
    tarn_alloc_fail_at(0, 0);
    s->n_reads = id;
    sim_u64s_set(&s->read_op, id, op + 1);
    raft_status st;
    raft_get_status(nd->r, &st);
    s->lease_reads += st.has_lease != 0;
    uint64_t need = s->max_acked_index > s->max_read_index ? s->max_acked_index : s->max_read_index;
    sim_u64s_set(&s->read_min_index, id, need);
    node_process(s, nd);
}

/* An operator hands leadership to a random other node (maybe a dead one). */
static void sim_transfer(sim *s)
{
    sim_node *ld = sim_leader(s);
    if (ld == NULL)
        return;
    uint64_t to = 1 + tarn_rng_below(&s->rng, (uint64_t)s->n);
    raft_conf_state c;
    raft_get_conf(ld->r, &c);
    int rc = raft_transfer_leader(ld->r, to);
    if (rc == TARN_EINVAL && (to == ld->id || !raft_conf_is_voter(&c, to)))
        return;
    if (rc != 0) {
        sim_check_fail(&s->chk, "node %" PRIu64 ": transfer to %" PRIu64 ": %s", ld->id, to,
                       tarn_strerror(rc));
        return;
    }
    s->transfers++;
    node_process(s, ld);
}

/* An operator changes the membership at the leader, keeping between
 * n_boot and n_boot + 1 voters: add the node that is not a member as a
 * learner, promote it, remove a voter (maybe the leader itself), and
 * sometimes remove a learner instead of promoting it. */
static void sim_conf_change(sim *s)
{
    sim_node *ld = sim_leader(s);
    if (ld == NULL)
        return;
    raft_conf_state c;
    raft_get_conf(ld->r, &c);
    raft_conf_change cc = {.type = RAFT_CONF_NONE};
    if (c.n_learners > 0) {
        cc.node = c.learners[tarn_rng_below(&s->rng, c.n_learners)];
        int promote = (int)c.n_voters == s->n_boot && !sim_chance(s, 0.1);
        cc.type = promote ? RAFT_CONF_PROMOTE : RAFT_CONF_REMOVE;
    } else if ((int)c.n_voters > s->n_boot) {
        cc.type = RAFT_CONF_REMOVE;
        cc.node = c.voters[tarn_rng_below(&s->rng, c.n_voters)];
    } else {
        for (int i = 0; i < s->n && cc.type == RAFT_CONF_NONE; i++)
            if (!raft_conf_is_member(&c, s->nodes[i].id)) {
                cc.type = RAFT_CONF_ADD_LEARNER;
                cc.node = s->nodes[i].id;
            }
    }
    if (cc.type == RAFT_CONF_NONE)
        return;
    oom_arm(s);
    int rc = raft_propose_conf_change(ld->r, &cc, NULL, NULL);
    if (rc == TARN_EBUSY) {
        tarn_alloc_fail_at(0, 0);
        return;
    }
    if (rc != 0) {
        oom_after(s, ld, rc, "conf change"); /* anything but ENOMEM is a violation */
        return;
    }
    tarn_alloc_fail_at(0, 0);
    s->conf_changes++;
    if (s->o.verbose)
        printf("%8" PRIu64 " node %" PRIu64 " proposes conf change %u of %" PRIu64 "\n", s->now,
               ld->id, cc.type, cc.node);
    node_process(s, ld);
}

/* ------------------------------------------------------------ faults */

static void sim_partition(sim *s)
{
    memset(s->blocked, 0, sizeof(s->blocked));
    if (sim_chance(s, 0.5)) {
        /* Symmetric: a random side A; no traffic between A and the rest. */
        uint32_t side = (uint32_t)tarn_rng_below(&s->rng, 1u << s->n);
        for (int a = 0; a < s->n; a++)
            for (int b = 0; b < s->n; b++)
                s->blocked[a][b] = ((side >> a) & 1) != ((side >> b) & 1);
    } else {
        /* One-way: a few links drop traffic in one direction only. */
        int links = 1 + (int)tarn_rng_below(&s->rng, (uint64_t)s->n);
        for (int k = 0; k < links; k++) {
            int a = (int)tarn_rng_below(&s->rng, (uint64_t)s->n);
            int b = (int)tarn_rng_below(&s->rng, (uint64_t)s->n);
            s->blocked[a][b] = a != b;
        }
    }
    if (s->o.verbose)
        printf("%8" PRIu64 " partition\n", s->now);
}

static void sim_faults(sim *s)
{
    if (sim_chance(s, s->p_crash)) {
        sim_node *nd = &s->nodes[tarn_rng_below(&s->rng, (uint64_t)s->n)];
        if (nd->up)
            node_crash(s, nd);
    }
    if (sim_chance(s, s->p_partition))
        sim_partition(s);
    else if (sim_chance(s, s->p_heal))
        memset(s->blocked, 0, sizeof(s->blocked));
    if (sim_chance(s, s->p_propose)) {
        sim_node *nd = &s->nodes[tarn_rng_below(&s->rng, (uint64_t)s->n)];
        /* A quarter of the time several clients' proposals at once. */
        size_t k = sim_chance(s, 0.25) ? 2 + (size_t)tarn_rng_below(&s->rng, 3) : 1;
        if (nd->up && k == 1)
            sim_propose(s, nd);
        else if (nd->up)
            sim_propose_batch(s, nd, k);
    }
    if (sim_chance(s, s->p_transfer))
        sim_transfer(s);
    if (sim_chance(s, s->p_conf))
        sim_conf_change(s);
    if (sim_chance(s, s->p_read)) {
        sim_node *nd = &s->nodes[tarn_rng_below(&s->rng, (uint64_t)s->n)];
        if (nd->up)
            sim_read(s, nd);
    }
}

/* One simulated millisecond. */
static void sim_step(sim *s)
{
    s->now++;
    for (int i = 0; i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        if (!nd->up && nd->restart_at <= s->now)
            node_start(s, nd);
    }
    if (s->faults_on)
        sim_faults(s);
    net_deliver(s);
    for (int i = 0; i < s->n && !sim_check_failed(&s->chk); i++)
        if (s->nodes[i].up)
            node_tick(s, &s->nodes[i]);
}

/* ------------------------------------------------------------ the run */

static void sim_init(sim *s, const sim_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->o = *o;
    s->n_boot = o->nodes;
    s->n = o->nodes + 1;
    tarn_rng_seed(&s->rng, o->seed);
    /* Each seed draws its own fault mix, from calm to hostile. */
    s->p_loss = tarn_rng_double(&s->rng) * 0.2;
    s->p_dup = tarn_rng_double(&s->rng) * 0.1;
    s->max_delay = 1 + (uint32_t)tarn_rng_below(&s->rng, 40);
    s->p_crash = tarn_rng_double(&s->rng) * 0.002;
    s->p_crash_mid = tarn_rng_double(&s->rng) * 0.01;
    s->p_partition = tarn_rng_double(&s->rng) * 0.002;
    s->p_heal = tarn_rng_double(&s->rng) * 0.004;
    s->p_propose = 0.02 + tarn_rng_double(&s->rng) * 0.2;
    s->p_jump = tarn_rng_double(&s->rng) * 0.02;
    s->p_read = tarn_rng_double(&s->rng) * 0.1;
    s->p_transfer = tarn_rng_double(&s->rng) * 0.002;
    s->p_oom = sim_chance(s, 0.3) ? 0.01 : 0;
    s->p_compact = sim_chance(s, 0.5) ? 0.02 : 0;
    /* Mostly the defaults (both on), sometimes the bare protocol. */
    s->pre_vote = !sim_chance(s, 0.25);
    s->check_quorum = !sim_chance(s, 0.25);
    static const uint32_t inflight[] = {1, 2, 4, 64};
    static const uint64_t msg_bytes[] = {1, 64, 256, 1u << 20};
    s->max_inflight = inflight[tarn_rng_below(&s->rng, 4)];
    s->max_msg_bytes = msg_bytes[tarn_rng_below(&s->rng, 4)];
    /* Membership changes in half the seeds. Not with both pre-vote and
     * check-quorum off: a removed server that never learns of its removal
     * then disrupts the cluster forever (Dissertation 4.2.3), which is why
     * they are on by default. */
    s->p_conf = sim_chance(s, 0.5) && (s->pre_vote || s->check_quorum) ? 0.002 : 0;
    /* Leases (they need check-quorum) in a third of the seeds that allow
     * them, with the clock assumption kept: no clock jumps. --lease-unsafe
     * breaks it on purpose. */
    s->lease = s->check_quorum && (o->lease_unsafe || sim_chance(s, 0.33));
    if (s->lease)
        s->p_jump = o->lease_unsafe ? 0.3 : 0;
    if (o->lease_unsafe) { /* make the window a stale lease read needs likely */
        s->p_partition = 0.004;
        s->p_read = 0.1;
        s->p_propose = 0.2;
        s->max_delay = 1 + s->max_delay / 8;
    }
    s->no_snap_reports = sim_chance(s, 0.2);
    s->faults_on = 1;
    for (int i = 0; i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        nd->sm_conf.n_voters = (uint32_t)s->n_boot;
        for (int v = 0; v < s->n_boot; v++)
            nd->sm_conf.voters[v] = (uint64_t)v + 1;
        s->nodes[i].id = (uint64_t)i + 1;
        s->nodes[i].tick_phase = (uint32_t)tarn_rng_below(&s->rng, SIM_TICK_MS);
        node_start(s, &s->nodes[i]);
    }
}

static void sim_free(sim *s)
{
    for (int i = 0; i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        raft_close(nd->r);
        sim_disk_free(&nd->disk);
        sim_u64s_free(&nd->mirror.term);
        sim_u64s_free(&nd->mirror.chain);
        sim_u64s_free(&nd->id_count);
        snap_free(&nd->snap);
    }
    for (size_t i = 0; i < s->n_net; i++)
        packet_free(&s->net[i]);
    tarn_free(s->net);
    tarn_free(s->props);
    tarn_free(s->hist);
    sim_u64s_free(&s->read_op);
    sim_u64s_free(&s->read_min_index);
    sim_check_free(&s->chk);
}

/* Converged: the liveness probe is acknowledged and every node applied
 * everything any node committed. */
static int sim_converged(sim *s)
{
    if (s->final_id == 0 || !s->props[s->final_id - 1].acked)
        return 0;
    sim_node *ld = sim_leader(s);
    if (ld == NULL)
        return 0;
    /* The probe committed after any change the leader appended, so its
     * configuration is committed: its members must all catch up. */
    raft_conf_state c;
    raft_get_conf(ld->r, &c);
    uint64_t max_commit = 0;
    for (int i = 0; i < s->n; i++) {
        raft_status st;
        if (!s->nodes[i].up) {
            if (s->nodes[i].restart_at != UINT64_MAX)
                return 0; /* still to come back */
            continue;
        }
        raft_get_status(s->nodes[i].r, &st);
        max_commit = st.commit > max_commit ? st.commit : max_commit;
    }
    for (int i = 0; i < s->n; i++)
        if (s->nodes[i].up && raft_conf_is_member(&c, s->nodes[i].id) &&
            s->nodes[i].sm_applied < max_commit)
            return 0;
    s->final_conf = c;
    return 1;
}

/* Every node's view, for a failing seed replayed with -v. */
static void sim_dump(sim *s)
{
    for (int i = 0; s->o.verbose && i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        if (!nd->up) {
            printf("  node %" PRIu64 ": down\n", nd->id);
            continue;
        }
        raft_status st;
        raft_conf_state c;
        raft_get_status(nd->r, &st);
        raft_get_conf(nd->r, &c);
        printf("  node %" PRIu64 ": %s term %" PRIu64 " lead %" PRIu64 " commit %" PRIu64
               " last %" PRIu64 " applied %" PRIu64 " voters",
               nd->id, raft_state_name(st.state), st.term, st.lead, st.commit, st.last_index,
               nd->sm_applied);
        for (uint32_t v = 0; v < c.n_voters; v++)
            printf(" %" PRIu64, c.voters[v]);
        printf(" learners");
        for (uint32_t v = 0; v < c.n_learners; v++)
            printf(" %" PRIu64, c.learners[v]);
        printf("\n");
    }
}

/* The voters of the configuration of the up node with the highest commit
 * index (committed, or one change away from it). */
static void sim_latest_conf(sim *s, raft_conf_state *c)
{
    uint64_t best = 0;
    c->n_voters = (uint32_t)s->n_boot;
    c->n_learners = 0;
    for (int v = 0; v < s->n_boot; v++)
        c->voters[v] = (uint64_t)v + 1;
    for (int i = 0; i < s->n; i++) {
        raft_status st;
        if (!s->nodes[i].up)
            continue;
        raft_get_status(s->nodes[i].r, &st);
        if (st.commit >= best) {
            best = st.commit;
            raft_get_conf(s->nodes[i].r, c);
        }
    }
}

/* After the faults stop: heal the network, restart every node but the first
 * `keep_down`, and require a leader that commits a fresh proposal on every
 * live node within the bound (liveness with a stable majority). */
static void sim_quiet(sim *s, int keep_down, uint64_t *heal_ms)
{
    s->faults_on = 0;
    s->final_id = 0;
    memset(s->blocked, 0, sizeof(s->blocked));
    /* Keep down the first keep_down voters (of the latest configuration:
     * with one change at a time and n_boot..n_boot + 1 voters, a majority
     * of whichever configuration wins stays up). */
    raft_conf_state c;
    sim_latest_conf(s, &c);
    int down[SIM_MAX_NODES] = {0};
    int k = keep_down ? (int)(c.n_voters - 1) / 2 : 0;
    for (uint32_t v = 0; v < c.n_voters && (int)v < k; v++)
        down[c.voters[v] - 1] = 1;
    for (int i = 0; i < s->n; i++) {
        if (down[i] && s->nodes[i].up)
            node_crash(s, &s->nodes[i]);
        if (!s->nodes[i].up)
            s->nodes[i].restart_at = down[i] ? UINT64_MAX : s->now;
    }
    uint64_t healed = s->now;
    while (!sim_check_failed(&s->chk) && !sim_converged(s)) {
        if (s->now - healed > SIM_QUIET_LIMIT_MS) {
            sim_check_fail(&s->chk, "liveness: not converged %d ms after healing",
                           SIM_QUIET_LIMIT_MS);
            sim_dump(s);
            break;
        }
        sim_step(s);
        sim_node *ld = sim_leader(s);
        if (ld == NULL)
            continue;
        raft_status st;
        raft_get_status(ld->r, &st);
        sim_proposal *f = s->final_id ? &s->props[s->final_id - 1] : NULL;
        if (f == NULL || (!f->acked && (f->node != ld->id || f->term != st.term))) {
            uint64_t id = sim_propose(s, ld);
            if (id)
                s->final_id = id;
        }
    }
    *heal_ms = s->now - healed;
}

static void sim_final_checks(sim *s)
{
    for (size_t id = 1; id <= s->n_props && !sim_check_failed(&s->chk); id++) {
        if (!s->props[id - 1].acked)
            continue;
        for (int i = 0; i < s->n; i++)
            if (raft_conf_is_member(&s->final_conf, s->nodes[i].id) &&
                sim_u64s_get(&s->nodes[i].id_count, id) != 1)
                sim_check_fail(&s->chk,
                               "acknowledged proposal %zu applied %" PRIu64 " times on node %d", id,
                               sim_u64s_get(&s->nodes[i].id_count, id), i + 1);
    }
}

/* Totals over every seed run, for the summary line. */
static struct {
    uint64_t seeds, ms, proposals, reads, conf_changes, lease_seeds, ops, snapshots, crashes;
    uint64_t linz_failures, lease_reads, keys_by_zones;
} g_totals;

/* The client history (writes of unique ids to SIM_KEYS registers, reads
 * served by ReadIndex or a lease) must be linearizable. */
static void sim_check_history(sim *s)
{
    char why[300];
    linz_stats st;
    int rc = linz_check(s->hist, s->n_hist, NULL, why, sizeof(why), &st);
    s->linz_steps = st.steps;
    uint64_t steps = st.steps;
    g_totals.keys_by_zones += st.keys_by_zones;
    if (rc == LINZ_VIOLATION)
        sim_check_fail(&s->chk, "history of %zu operations not linearizable: %s", s->n_hist, why);
    else if (rc == LINZ_GAVE_UP)
        sim_check_fail(&s->chk, "linearizability checker gave up after %" PRIu64 " steps", steps);
}

/* Runs one seed; returns 0 when every check held. *max_heal_ms keeps the
 * longest time from healing to convergence seen. */
static int sim_run(const sim_opts *o, uint64_t *max_heal_ms)
{
    sim s;
    sim_init(&s, o);
    while (s.now < o->steps && !sim_check_failed(&s.chk))
        sim_step(&s);
    /* Half the seeds first check liveness with only a bare majority up. */
    uint64_t heal_ms = 0, minority_ms = 0;
    int keep_down = sim_chance(&s, 0.5); /* a minority of the voters */
    if (!sim_check_failed(&s.chk) && keep_down > 0)
        sim_quiet(&s, keep_down, &minority_ms);
    if (!sim_check_failed(&s.chk))
        sim_quiet(&s, 0, &heal_ms);
    heal_ms = heal_ms > minority_ms ? heal_ms : minority_ms;
    if (!sim_check_failed(&s.chk))
        sim_final_checks(&s);
    if (!sim_check_failed(&s.chk))
        sim_check_history(&s);
    int failed = sim_check_failed(&s.chk);
    if (!failed && heal_ms > *max_heal_ms)
        *max_heal_ms = heal_ms;
    if (failed || o->verbose)
        printf("%s seed %" PRIu64 " nodes %d%s: %" PRIu64 " ms, %zu proposals, %" PRIu64
               " acked, %" PRIu64 " reads, %" PRIu64 " conf changes, %" PRIu64
               " snapshots installed, %" PRIu64 " crashes (%" PRIu64 " OOM), %" PRIu64
               " msgs, %zu ops checked in %" PRIu64 " steps, converged %" PRIu64
               " ms after healing%s%s\n",
               failed ? "FAIL" : "ok", o->seed, o->nodes, s.lease ? " lease" : "", s.now, s.n_props,
               s.acked, s.reads_served, s.conf_changes, s.snapshots_installed, s.crashes, s.ooms,
               s.msgs, s.n_hist, s.linz_steps, heal_ms, failed ? ": " : "", s.chk.violation);
    if (failed)
        printf("  replay: raft_sim --seed %" PRIu64 " --nodes %d --steps %" PRIu64 "%s -v\n",
               o->seed, o->nodes, o->steps, o->lease_unsafe ? " --lease-unsafe" : "");
    g_totals.seeds++;
    g_totals.ms += s.now;
    g_totals.proposals += s.n_props;
    g_totals.reads += s.reads_served;
    g_totals.lease_reads += s.lease_reads;
    g_totals.conf_changes += s.conf_changes;
    g_totals.lease_seeds += s.lease != 0;
    g_totals.ops += s.n_hist;
    g_totals.snapshots += s.snapshots_installed;
    g_totals.crashes += s.crashes;
    if (failed && (strstr(s.chk.violation, "linearizable") || strstr(s.chk.violation, "read")))
        g_totals.linz_failures++;
    sim_free(&s);
    return failed;
}

static int sim_run_range(sim_opts o, uint64_t count, uint64_t *ran, uint64_t *max_heal_ms)
{
    int failures = 0;
    uint64_t first = o.seed;
    for (uint64_t k = 0; k < count; k++, (*ran)++) {
        o.seed = first + k;
        failures += sim_run(&o, max_heal_ms);
    }
    return failures;
}

static void print_totals(void)
{
    printf("# totals: %" PRIu64 " seeds, %" PRIu64 " simulated ms (%" PRIu64
           " ticks per node), %" PRIu64 " proposals, %" PRIu64 " reads served (%" PRIu64
           " by lease), %" PRIu64 " membership changes, %" PRIu64 " snapshots installed, %" PRIu64
           " crashes, %" PRIu64 " seeds with leases, %" PRIu64
           " history operations checked for linearizability (%" PRIu64
           " registers decided by the zone test)\n",
           g_totals.seeds, g_totals.ms, g_totals.ms / SIM_TICK_MS, g_totals.proposals,
           g_totals.reads, g_totals.lease_reads, g_totals.conf_changes, g_totals.snapshots,
           g_totals.crashes, g_totals.lease_seeds, g_totals.ops, g_totals.keys_by_zones);
}

/* The default suite: fixed seeds (the regression set) plus fresh ones, so
 * that every run also explores; TARN_LONG_TESTS=1 runs 10,000 seeds. */
static int sim_suite(const sim_opts *base)
{
    const char *lt = getenv("TARN_LONG_TESTS");
    int is_long = lt != NULL && strcmp(lt, "1") == 0;
    uint64_t fixed = is_long ? 4000 : 150, fresh = is_long ? 1000 : 30;
    uint64_t ran = 0, max_heal_ms = 0;
    int failures = 0;
    clock_t t0 = clock();
    for (int nodes = 3; nodes <= 5; nodes += 2) {
        sim_opts o = *base;
        o.nodes = nodes;
        o.steps = SIM_SUITE_STEPS;
        o.seed = 1;
        failures += sim_run_range(o, fixed, &ran, &max_heal_ms);
        o.seed = tarn_entropy_seed() % 1000000000000ULL;
        printf("# fresh seeds %" PRIu64 "..%" PRIu64 " (nodes %d)\n", o.seed, o.seed + fresh - 1,
               nodes);
        failures += sim_run_range(o, fresh, &ran, &max_heal_ms);
    }
    printf("# %" PRIu64 " seeds x %d ms of faults, %d failed, %.1f s CPU; slowest "
           "convergence after healing: %" PRIu64 " ms (bound %d)\n",
           ran, SIM_SUITE_STEPS, failures, (double)(clock() - t0) / CLOCKS_PER_SEC, max_heal_ms,
           SIM_QUIET_LIMIT_MS);
    print_totals();
    return failures != 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: raft_sim [--seed N] [--nodes 3|5] [--steps MS] [--seeds K] [-v]\n"
                    "                [--lease-unsafe [--expect-stale]]\n"
                    "       raft_sim --suite\n");
    exit(2);
}

int main(int argc, char **argv)
{
    sim_opts o = {.seed = 1, .steps = 3000, .nodes = 3};
    uint64_t seeds = 1;
    int suite = 0, expect_stale = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--suite") == 0)
            suite = 1;
        else if (strcmp(a, "-v") == 0)
            o.verbose = 1;
        else if (v && strcmp(a, "--seed") == 0 && ++i)
            o.seed = strtoull(v, NULL, 0);
        else if (v && strcmp(a, "--steps") == 0 && ++i)
            o.steps = strtoull(v, NULL, 0);
        else if (v && strcmp(a, "--nodes") == 0 && ++i)
            o.nodes = atoi(v);
        else if (strcmp(a, "--lease-unsafe") == 0)
            o.lease_unsafe = 1;
        else if (strcmp(a, "--expect-stale") == 0)
            expect_stale = 1;
        else if (v && strcmp(a, "--seeds") == 0 && ++i)
            seeds = strtoull(v, NULL, 0);
        else
            usage();
    }
    if (o.nodes != 3 && o.nodes != 5)
        usage();
    setvbuf(stdout, NULL, _IONBF, 0);
    if (suite)
        return sim_suite(&o);
    uint64_t ran = 0, max_heal_ms = 0;
    int failures = sim_run_range(o, seeds, &ran, &max_heal_ms);
    if (seeds > 1)
        print_totals();
    if (expect_stale) {
        /* Leases with clocks that jump: the checker must catch a stale read
         * in some seed, or the lease test could not fail. */
        printf("# %" PRIu64 " of %" PRIu64 " seeds with the clock assumption broken failed "
               "linearizability\n",
               g_totals.linz_failures, ran);
        return g_totals.linz_failures > 0 && (uint64_t)failures == g_totals.linz_failures ? 0 : 1;
    }
    return failures != 0;
}
