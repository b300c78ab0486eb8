/*
 * raft/raft.h: Tarn's consensus core, a pure Raft state machine in the
 * etcd-raft style. Design note: src/raft/README.md.
 *
 * The core does no I/O, reads no clock, starts no thread and allocates only
 * through base/alloc.h. The host drives it:
 *
 *   raft_step(r, msg)      a message from a peer arrived
 *   raft_tick(r)           one logical clock tick elapsed
 *   raft_propose(r, ...)   a client wants an entry appended (leader only);
 *   raft_propose_batch     several at once, one append per follower
 *   raft_read_index(r, c)  a linearizable read (ReadIndex, or a lease)
 *   raft_propose_conf_change(r, ...)  add a learner, promote, remove
 *   raft_transfer_leader(r, to), raft_compact(r, i),
 *   raft_report_snapshot(r, peer, ok)
 *   raft_ready(r, &rd)     what to persist, send and apply now
 *   raft_advance(r, &rd)   the host has carried out that Ready
 *
 * The Ready contract (README.md "Ready contract"), in this order:
 *   0. if rd.has_snapshot: install the snapshot that came with the
 *      RAFT_MSG_SNAPSHOT message (state machine replaced, durable log
 *      emptied after rd.snapshot.index), durably;
 *   1. send rd.msgs_now (they may leave before the local fsync);
 *   2. persist rd.entries (replacing the durable log from
 *      rd.entries[0].index on), then rd.hard_state when
 *      rd.hard_state_changed, and fsync; entries before hard state, so a
 *      torn write never leaves a commit index beyond the durable log;
 *   3. send rd.msgs_after_persist (votes and acknowledgements of entries:
 *      they promise durability, Dissertation 3.8 / 10.2.1);
 *   4. apply rd.committed to the state machine;
 *   5. raft_advance(r, &rd).
 * Between raft_ready and raft_advance the host must not call any other
 * function on the handle except the read-only accessors.
 *
 * Errors: functions return 0 or a negative TARN_E* code. After
 * TARN_ENOMEM inside raft_step/raft_tick/raft_advance the handle's state is
 * unknown and every later call returns TARN_ESTATE (sticky failure): the
 * host must close it and raft_open again from durable state. Bad input
 * (malformed messages) is TARN_EINVAL and changes nothing.
 *
 * Threads: a handle belongs to one thread at a time; no function here is
 * thread-safe for the same handle. Different handles are independent.
 */
#ifndef TARN_RAFT_RAFT_H
#define TARN_RAFT_RAFT_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct raft raft;

/* Node id 0 means "nobody" (no vote, no known leader). */
#define RAFT_NONE 0

/* Returned by raft_propose on a node that is not the leader. There is no
 * dedicated code in base/error.h's table yet. */
#define RAFT_ENOTLEADER TARN_ECONFLICT

/* Named maxima. */
#define RAFT_MAX_VOTERS             9
#define RAFT_MAX_LEARNERS           7
#define RAFT_MAX_PEERS              (RAFT_MAX_VOTERS + RAFT_MAX_LEARNERS)
#define RAFT_MAX_ENTRIES_PER_MSG    4096
#define RAFT_DEFAULT_MAX_ENTRY_SIZE (1u << 20)
#define RAFT_MAX_PENDING_READS      256
#define RAFT_VOTE_TRANSFER          1

enum raft_entry_type {
    RAFT_ENTRY_NORMAL = 0, /* client data */
    RAFT_ENTRY_NOOP = 1,   /* written by each new leader, Dissertation 3.6.2 / 6.4 */
    RAFT_ENTRY_CONF = 2,   /* a membership change, Dissertation 4.1; see raft_conf_decode */
};

/* Single-server membership changes (Dissertation 4.1, 4.2.1). */
enum raft_conf_change_type {
    RAFT_CONF_NONE = 0,        /* only in a snapshot's configuration record */
    RAFT_CONF_ADD_LEARNER = 1, /* receives entries, never votes or counts */
    RAFT_CONF_PROMOTE = 2,     /* a learner becomes a voter */
    RAFT_CONF_REMOVE = 3,      /* a voter or a learner leaves */
};

typedef struct raft_conf_change {
    uint32_t type; /* enum raft_conf_change_type */
    uint64_t node;
} raft_conf_change;

/* A configuration: who votes and who only learns. */
typedef struct raft_conf_state {
    uint64_t voters[RAFT_MAX_VOTERS];
    uint32_t n_voters;
    uint64_t learners[RAFT_MAX_LEARNERS];
    uint32_t n_learners;
} raft_conf_state;

/*
 * The payload of a RAFT_ENTRY_CONF entry (and of the configuration record a
 * RAFT_MSG_SNAPSHOT carries), little-endian:
 *
 *   offset  size       meaning
 *   0       1          format version, 1
 *   1       1          change type (enum raft_conf_change_type)
 *   2       1          n_voters (1..RAFT_MAX_VOTERS)
 *   3       1          n_learners (0..RAFT_MAX_LEARNERS)
 *   4       8          the node the change is about (0 for RAFT_CONF_NONE)
 *   12      8 * n_v    voter ids, nonzero, distinct
 *   ..      8 * n_l    learner ids, nonzero, distinct from every other id
 *
 * The entry carries the whole configuration after the change, so any
 * suffix of the log (or a snapshot) tells the configuration on its own.
 */
#define RAFT_CONF_HEADER_BYTES      12
#define RAFT_CONF_ENCODED_BYTES_MAX (RAFT_CONF_HEADER_BYTES + 8 * RAFT_MAX_PEERS)

/* A log entry. In the core's log and in messages the core produces, `data`
 * is owned by the core; in messages handed to raft_step and entries read
 * through a raft_log_view it is borrowed and copied. */
typedef struct raft_entry {
    uint64_t term;
    uint64_t index;
    uint32_t type; /* enum raft_entry_type */
    uint32_t len;  /* payload bytes, any value (no alignment) */
    uint8_t *data; /* NULL when len == 0 */
} raft_entry;

/* What must survive a crash besides the log (Dissertation Figure 3.1). */
typedef struct raft_hard_state {
    uint64_t term;
    uint64_t vote;   /* id voted for in `term`, RAFT_NONE if none */
    uint64_t commit; /* may lag; never beyond the durable log */
} raft_hard_state;

enum raft_msg_type {
    RAFT_MSG_APPEND = 1,      /* AppendEntries, Dissertation 3.5 */
    RAFT_MSG_APPEND_RESP = 2, /* index = last matching index, or the rejected prev */
    RAFT_MSG_VOTE = 3,        /* RequestVote, Dissertation 3.4 */
    RAFT_MSG_VOTE_RESP = 4,
    RAFT_MSG_PREVOTE = 5, /* Dissertation 9.6 */
    RAFT_MSG_PREVOTE_RESP = 6,
    RAFT_MSG_HEARTBEAT = 7, /* empty AppendEntries without log matching */
    RAFT_MSG_HEARTBEAT_RESP = 8,
    RAFT_MSG_TIMEOUT_NOW = 9, /* leadership transfer, Dissertation 3.10 */
    RAFT_MSG_SNAPSHOT = 10,   /* InstallSnapshot, Dissertation 5.1 */
    RAFT_MSG_TYPE_MAX = 10,
};

/*
 * One message. Field meaning by type:
 *   APPEND:       index/log_term = the entry before `entries`; commit =
 *                 leader's commit index.
 *   APPEND_RESP:  reject = 0: index = highest index known to match.
 *                 reject = 1: index = the rejected prev index, reject_hint
 *                 and log_term = the follower's guess of the last matching
 *                 index and its term (fast backtracking, Dissertation 5.3
 *                 "conflicting term" optimisation).
 *   VOTE/PREVOTE: index/log_term = candidate's last log index and term;
 *                 VOTE context = RAFT_VOTE_TRANSFER when the campaign follows
 *                 a TimeoutNow (it may then break a leader's lease).
 *   *_RESP:       reject = 1 when denied.
 *   SNAPSHOT:     index/log_term = the last index and term the leader's
 *                 snapshot covers; entries[0] (n_entries = 1) is a
 *                 RAFT_ENTRY_CONF record of the configuration at index
 *                 (change type RAFT_CONF_NONE). The host streams the
 *                 snapshot's data with it in chunks as it likes and steps the
 *                 message on the receiver only once every chunk arrived; the
 *                 sender's host then calls raft_report_snapshot. Answered by
 *                 APPEND_RESP.
 *   HEARTBEAT:    commit = min(leader commit, follower's match); context =
 *                 the newest pending ReadIndex sequence number (0: none),
 *                 echoed by HEARTBEAT_RESP; index = the leader's tick count
 *                 when sent, echoed by HEARTBEAT_RESP (leader leases).
 */
typedef struct raft_msg {
    uint32_t type; /* enum raft_msg_type */
    uint32_t reject;
    uint64_t from;
    uint64_t to;
    uint64_t term;
    uint64_t index;
    uint64_t log_term;
    uint64_t commit;
    uint64_t reject_hint;
    uint64_t context;
    raft_entry *entries; /* see raft_entry for ownership */
    size_t n_entries;
} raft_msg;

/* A deep copy of src (its entries and their payloads), for a host that
 * keeps a message past raft_advance: a send queue, a simulated network.
 * TARN_ENOMEM with nothing to free. Release with raft_msg_copy_free. */
int raft_msg_copy(raft_msg *dst, const raft_msg *src);
void raft_msg_copy_free(raft_msg *m);

/* A snapshot: the state machine after applying entries 1..index, and the
 * configuration in force at index (the host stores it with the snapshot
 * and hands it back through raft_log_view.snapshot_conf). */
typedef struct raft_snapshot_meta {
    uint64_t index;
    uint64_t term; /* term of the entry at index */
    raft_conf_state conf;
} raft_snapshot_meta;

/* A linearizable read that is now safe (Dissertation 6.4): once the state
 * machine has applied `index`, serve the read identified by `ctx`. */
typedef struct raft_read_state {
    uint64_t ctx;   /* the host's id from raft_read_index */
    uint64_t index; /* apply at least this far before reading */
} raft_read_state;

/* Everything the host does between raft_ready and raft_advance. All
 * pointers are owned by the core and valid until raft_advance. A plain
 * struct tag (no typedef), since raft_ready is also the function's name. */
struct raft_ready {
    int has_snapshot;            /* install the received snapshot first */
    raft_snapshot_meta snapshot; /* which one */
    int hard_state_changed;
    raft_hard_state hard_state;
    const raft_entry *entries; /* to persist, contiguous; may overwrite a suffix */
    size_t n_entries;
    const raft_msg *msgs_now; /* may be sent before the fsync */
    size_t n_msgs_now;
    const raft_msg *msgs_after_persist; /* only after the fsync */
    size_t n_msgs_after_persist;
    const raft_entry *committed; /* apply in order */
    size_t n_committed;
    const raft_read_state *read_states; /* in raft_read_index order */
    size_t n_read_states;
};

/*
 * The durable log as the host hands it to raft_open: a snapshot covering
 * 1..snapshot_index (0 when none) and entries [first_index, last_index]
 * (empty when last_index < first_index; else first_index = snapshot_index
 * + 1).
 * entry() fills *out with a borrowed view valid until the next call; it
 * returns 0 or a TARN_E* code. The WAL implements this view; the core
 * copies every entry into its in-memory log at open.
 */
typedef struct raft_log_view {
    void *ctx;
    uint64_t snapshot_index;
    uint64_t snapshot_term;
    uint64_t first_index;
    uint64_t last_index;
    int (*entry)(void *ctx, uint64_t index, raft_entry *out);
    /* The configuration at snapshot_index (from the Ready that installed
     * the snapshot, or the host's own record when it compacted); NULL:
     * the bootstrap configuration, raft_config.voters. */
    const raft_conf_state *snapshot_conf;
} raft_log_view;

typedef struct raft_config {
    uint64_t id; /* this node, != RAFT_NONE */
    /* The bootstrap configuration, the same on every node: in force until
     * the log or a snapshot says otherwise (Dissertation 4.1). A node that
     * joins later is opened with the same list, without itself: it is not a
     * member (never campaigns) until it receives the entry that adds it. */
    const uint64_t *voters;   /* borrowed during raft_open */
    size_t n_voters;          /* 1..RAFT_MAX_VOTERS */
    uint32_t election_ticks;  /* election timeout is random in [e, 2e) */
    uint32_t heartbeat_ticks; /* < election_ticks */
    int pre_vote;             /* Dissertation 9.6; default on */
    int check_quorum;         /* leader steps down without a live quorum, 6.2 */
    uint32_t max_inflight;    /* append batches in flight per follower */
    uint64_t max_msg_bytes;   /* bytes per append: payload + 24 per entry; >= 1 entry */
    uint32_t max_entry_bytes; /* largest accepted payload */
    uint64_t max_uncommitted; /* proposals beyond this many uncommitted entries: EBUSY */
    uint64_t applied;         /* index the state machine applied already (restart) */
    uint64_t rng_seed;        /* seeds the election-timeout randomness */
    /*
     * Leader leases (Dissertation 6.4.1): raft_read_index answers at once,
     * without a heartbeat round, while the leader holds a lease. CLOCK
     * ASSUMPTION: every node's tick rate stays within a bounded drift of
     * every other's. A follower that heard from the leader refuses votes for
     * election_ticks of its own ticks (check_quorum, required), and the
     * leader counts its lease from when it sent the heartbeat a quorum
     * answered, for election_ticks - 1 - lease_margin_ticks of its own
     * ticks. That is safe while no follower's clock runs faster than the
     * leader's by more than lease_margin_ticks per election timeout (a host
     * with a 10 % drift bound and election_ticks 10 sets 1). A clock that
     * jumps (a paused VM, a stalled process catching up with a burst of
     * ticks) breaks the assumption and can make a lease read stale; the
     * simulator shows this (README "Leases"). Off by default.
     */
    int lease_reads;
    uint32_t lease_margin_ticks; /* < election_ticks - 1 */
    /* A snapshot send neither reported (raft_report_snapshot) nor acked
     * within this many ticks counts as failed, so a host that never
     * reports still makes progress (it must then dedupe offers of a
     * snapshot it is still streaming). 0: 4 * election_ticks. */
    uint32_t snapshot_timeout_ticks;
} raft_config;

/* Fills defaults: election 10, heartbeat 1, pre_vote 1, check_quorum 1,
 * max_inflight 64, max_msg_bytes 1 MiB, max_entry_bytes 1 MiB,
 * max_uncommitted 4096. id/voters/rng_seed are left zero. */
void raft_config_init(raft_config *cfg);

/*
 * Opens a core from durable state: `hs` (NULL for a fresh node) and `log`
 * (NULL for an empty log). Everything is copied; nothing is retained.
 * TARN_EINVAL for a bad config, TARN_ECORRUPT when the durable state is
 * inconsistent (commit or applied beyond the log, entries out of order),
 * TARN_ENOMEM. On error *out is NULL and nothing needs freeing.
 */
int raft_open(const raft_config *cfg, const raft_hard_state *hs, const raft_log_view *log,
              raft **out, tarn_err *err);

/* Frees the handle and everything it owns, including an outstanding
 * Ready's memory. Accepts NULL. */
void raft_close(raft *r);

/* Feeds one message; `m` is borrowed. TARN_EINVAL for a malformed
 * message or one not addressed to this node, TARN_ECORRUPT when a peer
 * breaks the protocol (an ack of entries we never had, a second leader in
 * our term; the message is dropped, the handle stays usable), TARN_ENOMEM
 * (failed). */
int raft_step(raft *r, const raft_msg *m);

/* Advances the logical clock by one tick. TARN_ENOMEM (failed). */
int raft_tick(raft *r);

/* Appends `len` bytes (copied) as a new entry if this node is the leader.
 * On success *index_out and *term_out (may be NULL) identify the entry; it is
 * acknowledged once it appears at that index with that term in a Ready's
 * committed list. RAFT_ENOTLEADER, TARN_EBUSY (too many uncommitted),
 * TARN_ETOOBIG (len > max_entry_bytes), TARN_ENOMEM (no change). */
int raft_propose(raft *r, const void *data, uint32_t len, uint64_t *index_out, uint64_t *term_out);

/* One entry of raft_propose_batch: data/len in, the rest out. */
typedef struct raft_proposal {
    const void *data;
    uint32_t len;
    int rc;         /* raft_propose's code for this entry */
    uint64_t index; /* when rc == 0: as raft_propose's *index_out */
    uint64_t term;
} raft_proposal;

/* Proposes p[0..n) in order, each exactly as raft_propose would (p[i].rc
 * is its code; a refused entry does not stop the ones after it), but
 * sends the appends once for the whole batch: one message per follower
 * carries every accepted entry, where n calls of raft_propose send n
 * (each call sends what the follower lacks). Returns 0, or TARN_ESTATE /
 * TARN_ENOMEM when the core failed while sending. */
int raft_propose_batch(raft *r, raft_proposal *p, size_t n);

/*
 * Asks for a linearizable read without a log write (ReadIndex, Dissertation
 * 6.4). `ctx` is the host's id for the read (copied). The read comes back in
 * a later Ready's read_states once (1) the leader has committed an entry of
 * its current term, so its commit index covers everything committed before,
 * and (2) a quorum answered a heartbeat sent after this call, so it was
 * still the leader. If leadership is lost first the read is dropped
 * silently: the host times out and retries. RAFT_ENOTLEADER on other nodes
 * (no forwarding yet), TARN_EBUSY beyond RAFT_MAX_PENDING_READS,
 * TARN_ENOMEM (failed).
 */
int raft_read_index(raft *r, uint64_t ctx);

/*
 * Hands leadership to voter `to` (Dissertation 3.10): the leader stops
 * taking proposals (TARN_EBUSY), brings `to` up to date, then sends it
 * TimeoutNow so it campaigns at once. Abandoned if `to` has not taken over
 * within an election timeout. 0 also when a transfer to `to` is already
 * under way. RAFT_ENOTLEADER, TARN_EINVAL (`to` is not another voter),
 * TARN_ENOMEM (failed).
 */
int raft_transfer_leader(raft *r, uint64_t to);

/*
 * Tells the core that the host holds a durable snapshot of the state
 * machine covering 1..index (index <= applied and <= the durable log): the
 * core drops those entries from memory (the host may drop them from its
 * WAL once the snapshot is durable). Followers that need them later get
 * RAFT_MSG_SNAPSHOT instead. 0 also when index is already compacted;
 * TARN_EINVAL beyond applied or the durable log.
 */
int raft_compact(raft *r, uint64_t index);

/*
 * Proposes a single-server membership change (Dissertation 4.1-4.3) on the
 * leader: RAFT_CONF_ADD_LEARNER (a new node that receives entries but
 * neither votes nor counts toward any quorum), RAFT_CONF_PROMOTE (a learner
 * becomes a voter) or RAFT_CONF_REMOVE (a voter or learner). The
 * configuration takes effect on each node when the entry is appended to its
 * log, committed or not (4.1), and reverts if the entry is truncated. Only
 * one change at a time: TARN_EBUSY while an earlier change is uncommitted,
 * or while this leader has not yet committed an entry of its own term (the
 * single-server-change fix of Ongaro's 2015 raft-dev post). A leader that
 * removes itself keeps leading until the removal commits, without counting
 * itself, then steps down (4.2.2). *index_out and *term_out (may be NULL)
 * identify the entry as for raft_propose. RAFT_ENOTLEADER; TARN_EINVAL
 * (unknown type, node 0, adding a member, promoting a non-learner, removing
 * a non-member or the last voter); TARN_ERANGE (more than RAFT_MAX_VOTERS
 * voters or RAFT_MAX_LEARNERS learners); TARN_EBUSY (see above, or a
 * leadership transfer under way); TARN_ENOMEM (failed).
 */
int raft_propose_conf_change(raft *r, const raft_conf_change *cc, uint64_t *index_out,
                             uint64_t *term_out);

/* Decodes the payload of a RAFT_ENTRY_CONF entry (the format above) into
 * the change and the configuration after it (either may be NULL).
 * TARN_ECORRUPT for a malformed payload. For hosts that track the
 * configuration of what they applied, to store with their snapshots. */
int raft_conf_decode(const uint8_t *data, uint32_t len, raft_conf_change *cc,
                     raft_conf_state *conf);

/* Encodes *conf and the change that led to it (NULL: RAFT_CONF_NONE) in
 * the format above into out (RAFT_CONF_ENCODED_BYTES_MAX bytes); returns
 * the length. *conf must be valid (1..RAFT_MAX_VOTERS voters, at most
 * RAFT_MAX_LEARNERS learners; asserted). */
size_t raft_conf_encode(const raft_conf_state *conf, const raft_conf_change *cc, uint8_t *out);

/* The configuration in force on this node: the latest in its log,
 * committed or not. Never fails. */
void raft_get_conf(const raft *r, raft_conf_state *out);

/* Nonzero when `id` is a voter in *conf. */
int raft_conf_is_voter(const raft_conf_state *conf, uint64_t id);
/* Nonzero when `id` is a voter or learner in *conf. */
int raft_conf_is_member(const raft_conf_state *conf, uint64_t id);

/*
 * The leader's host reports how sending a snapshot to `peer` ended: ok = 1
 * when every chunk was delivered, 0 when streaming failed (connection lost,
 * timeout). While a snapshot is being sent the leader sends that peer no
 * appends and no second snapshot (progress state SNAPSHOT); on failure it
 * probes again (and sends the snapshot again if still needed), on success
 * it waits for the follower's acknowledgement. 0 also when this node is no
 * longer leader or the peer is not being sent a snapshot (a late report);
 * TARN_EINVAL for an unknown peer.
 */
int raft_report_snapshot(raft *r, uint64_t peer, int ok);

/* Nonzero when raft_ready would return something to do. */
int raft_has_ready(const raft *r);

/* Fills *rd (see the Ready contract above). TARN_EBUSY if the previous
 * Ready was not advanced yet. */
int raft_ready(raft *r, struct raft_ready *rd);

/* Tells the core that *rd (from the last raft_ready) was carried out. */
int raft_advance(raft *r, struct raft_ready *rd);

enum raft_state_type {
    RAFT_FOLLOWER = 0,
    RAFT_PRECANDIDATE = 1,
    RAFT_CANDIDATE = 2,
    RAFT_LEADER = 3,
};

typedef struct raft_status {
    uint64_t id;
    uint32_t state; /* enum raft_state_type */
    uint64_t term;
    uint64_t vote;
    uint64_t lead;
    uint64_t commit;
    uint64_t applied;
    uint64_t last_index;
    uint64_t stable_index;   /* last index the host reported durable */
    uint64_t snapshot_index; /* entries up to here are compacted away */
    uint64_t mem_bytes;      /* payload bytes held (log + queued messages) */
    uint64_t transferee;     /* leadership transfer target, RAFT_NONE if none */
    int is_voter;            /* this node votes in its configuration */
    int has_lease;           /* leader with a valid lease (lease_reads on) */
    int failed;              /* the sticky error, 0 when usable */
} raft_status;

/* Read-only snapshot of the node's state; never fails. */
void raft_get_status(const raft *r, raft_status *st);

/* Borrowed view of the entry at `index` in the in-memory log, valid until
 * the next mutating call; TARN_ENOENT outside the log. For the host's and
 * the simulator's checks. */
int raft_log_entry(const raft *r, uint64_t index, const raft_entry **out);

const char *raft_state_name(uint32_t state);
const char *raft_msg_type_name(uint32_t type);

#endif
