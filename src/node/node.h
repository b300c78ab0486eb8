/*
 * node/node.h: the metadata service's replication host. It joins the Raft
 * core (raft/), the durable log (wal/) and the LMDB state machine (store/)
 * and runs the Ready loop on one thread of its own. Design note (the loop
 * order and why, threads, crash points): src/node/README.md.
 *
 * It runs as ONE voter in-process (the embedded default of `tarn local`)
 * or as a member of a cluster (`tarn meta`): with node_opts.members the
 * loop sends Raft messages to its peers over the transport (transport.h)
 * and a follower forwards proposals and linearizable reads to the leader
 * (README "Cluster"), so callers use the same calls on every member.
 * Members join and leave a running cluster through node_member_add,
 * node_member_promote and node_member_remove on the leader (README
 * "Membership"); a joining member is opened with node_opts.join.
 *
 * Data directory layout:
 *   DATA/wal/    the WAL segments (wal/README.md)
 *   DATA/state/  the LMDB environment (store/README.md)
 *
 * Commands are opaque bytes whose first byte is the command type that the
 * store registry dispatches on (store.h): node/ knows nothing about kv or
 * catalog. A Raft entry with no payload is a leader's no-op; proposals
 * must therefore be at least one byte long.
 *
 * Threads: node_open and node_close run on one thread and must not race
 * with anything else on the handle. Every other function may be called
 * from any number of threads at once (HTTP server threads); they block the
 * caller, never the loop, except node_propose_async, which returns at once
 * and reports through a callback (README "Asynchronous proposals"). The loop thread owns the raft,
 * wal and store write handles; callers only use store read transactions.
 */
#ifndef TARN_NODE_NODE_H
#define TARN_NODE_NODE_H

#include "base/error.h"
#include "node/transport.h"
#include "obs/obs.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct node node;

/* Limits and defaults. */
#define NODE_QUEUE_MAX_DEFAULT       1024 /* proposals waiting for the loop */
#define NODE_READS_MAX_DEFAULT       1024 /* read barriers waiting for the loop */
#define NODE_PROPOSE_BATCH_MAX       256  /* proposals taken per loop turn */
#define NODE_TICK_MS_DEFAULT         10
#define NODE_ELECTION_TICKS_DEFAULT  10
#define NODE_HEARTBEAT_TICKS_DEFAULT 1
#define NODE_LOG_KEEP_DEFAULT        4096 /* entries kept behind a compaction point */
#define NODE_PATH_MAX                4096

/* Command types and the store table node/ keeps for itself (README
 * "Membership"): faces must not register these command types. */
#define NODE_CMD_MEMBER_ADDR 0x08 /* a member's peer address, replicated */
#define NODE_CMD_CONF        0x09 /* a membership change, as node/ applies it */
#define NODE_TABLE_MEMBERS   0x08 /* "conf" -> configuration; 'a' + id (BE) -> address */

typedef struct node_opts {
    const char *data_dir;        /* must exist; copied */
    uint64_t id;                 /* this voter's id; 0: 1 */
    uint32_t election_ticks;     /* 0: NODE_ELECTION_TICKS_DEFAULT */
    uint32_t heartbeat_ticks;    /* 0: NODE_HEARTBEAT_TICKS_DEFAULT */
    uint32_t tick_ms;            /* 0: NODE_TICK_MS_DEFAULT */
    size_t queue_max;            /* 0: NODE_QUEUE_MAX_DEFAULT */
    size_t reads_max;            /* 0: NODE_READS_MAX_DEFAULT */
    store_durability durability; /* of the LMDB commits (store.h); default FULL */
    size_t map_size_bytes;       /* LMDB map; 0: store's default */
    obs_registry *metrics;       /* NULL: obs_global(); borrowed */
    uint64_t rng_seed;           /* election randomness; 0: from the clock */
    /* Compaction: once the applied index is 2 * log_keep_entries past the
     * last snapshot marker, the store is synced and the log (WAL and
     * memory) dropped up to applied - log_keep_entries. A follower further
     * behind gets a store snapshot. 0: NODE_LOG_KEEP_DEFAULT. */
    uint32_t log_keep_entries;
    /* Cluster (README "Cluster"). n_members <= 1: a single voter, no
     * transport. Otherwise every voter with its peer address, this one
     * included; every member must be given the same list. */
    const node_peer *members; /* copied */
    size_t n_members;         /* <= NODE_TP_PEERS_MAX */
    const char *peer_listen;  /* NULL: this member's address in members; copied */
    const char *cluster_name; /* NULL: "tarn"; members of one cluster must agree */
    const char *http_url;     /* this member's HTTP URL, told to peers; copied */
    /* A member joining a running cluster: `members` are the current
     * members (this one not among them; at least one), peer_listen is
     * required. It starts as a non-member, gets the log (or a snapshot)
     * from the leader once node_member_add on the leader made it a
     * learner, and follows the configuration from then on. */
    int join;
} node_opts;

/*
 * Opens DATA/wal and DATA/state (creating them), recovers the WAL, applies
 * the entries that the durable commit index covers but the store had not
 * applied yet (a crash between the WAL fsync and the LMDB commit), opens
 * the Raft core from the recovered log and starts the loop thread. The
 * single voter elects itself after one election timeout (node_wait_leader).
 * `reg` is copied. Errors: TARN_EINVAL (bad options), TARN_EIO,
 * TARN_ECORRUPT (WAL or store damage, or a store behind a compacted WAL),
 * TARN_ENOMEM. On error nothing is left to free.
 */
int node_open(const node_opts *opts, const store_registry *reg, node **out, tarn_err *err);

/*
 * Stops the loop (after the Ready it is carrying out, if any), fails every
 * proposal and read barrier still waiting with TARN_ECLOSED, then closes
 * the WAL and the store. Callers blocked in node_* return before it frees;
 * no call may start after it began. Accepts NULL.
 */
void node_close(node *n);

/*
 * Proposes `len` bytes (copied; data[0] is the command type, len >= 1) and
 * blocks until the entry is applied, then hands over the state machine's
 * result (*res, owned by the caller: store_result_free). Errors:
 * TARN_EINVAL (len 0), TARN_ETOOBIG (len beyond the Raft entry limit),
 * TARN_EBUSY (the proposal queue or Raft's uncommitted window is full:
 * nothing was proposed, retry later), TARN_ETIMEDOUT (not applied within
 * timeout_ms: the entry MAY still be committed and applied later, so a
 * client retrying must make its command idempotent or compare-guarded),
 * TARN_ECLOSED (node_close ran; same caveat), TARN_ESTATE (the node failed
 * on an I/O or memory error and must be reopened; same caveat),
 * TARN_ENOMEM (nothing proposed). res is untouched on error.
 */
int node_propose(node *n, const void *data, size_t len, int timeout_ms, store_result *res,
                 tarn_err *err);

/*
 * The outcome of an asynchronous proposal: rc 0 with the state machine's
 * result (borrowed for the call: copy what you keep), or rc one of
 * node_propose's errors that come late: TARN_ETIMEDOUT (not applied within
 * timeout_ms), TARN_EBUSY (leadership lost before the entry committed, or
 * the leader it was forwarded to refused it), TARN_ECLOSED (node_close),
 * TARN_ESTATE (the node failed), TARN_ENOMEM, with res NULL. The same
 * caveat holds: after an error the entry MAY still be applied.
 *
 * It runs on a node thread (the apply thread, the loop, or the thread in
 * node_close), never with a node lock held, so it may take its own locks
 * (an HTTP server's). It must be short and must not block on the node:
 * calling node_propose, node_read_barrier or node_close from it would wait
 * for the thread it runs on.
 */
typedef void (*node_done_fn)(void *ctx, int rc, const store_result *res);

/*
 * node_propose without a waiting thread: queues the proposal exactly as
 * node_propose does and returns 0 at once; cb(ctx, ...) is then called
 * EXACTLY ONCE with the outcome (node_done_fn), at the latest about
 * timeout_ms (plus one loop tick) later or in node_close. What fails at
 * once returns the error and never calls cb: TARN_EINVAL (len 0, node/'s
 * own command types), TARN_ETOOBIG, TARN_EBUSY (the proposal queue is
 * full: nothing proposed, retry later; an HTTP edge answers 503),
 * TARN_ECLOSED (node_close began), TARN_ESTATE, TARN_ENOMEM. The callback
 * may run before this returns (on another thread), so ctx must be ready
 * before the call. node_close runs every outstanding callback before it
 * returns.
 */
int node_propose_async(node *n, const void *data, size_t len, int timeout_ms, node_done_fn cb,
                       void *ctx, tarn_err *err);

/*
 * A linearizable read barrier (ReadIndex, Raft dissertation 6.4): returns
 * once the state machine has applied everything committed at the time of
 * the call, including the current leader's first entry of its term. Then a
 * store read transaction (node_store) sees every write acknowledged before
 * the call. *index_out (may be NULL) receives the read index. Errors:
 * TARN_ETIMEDOUT, TARN_EBUSY (too many barriers waiting), TARN_ECLOSED,
 * TARN_ESTATE, TARN_ENOMEM.
 */
int node_read_barrier(node *n, int timeout_ms, uint64_t *index_out, tarn_err *err);

/*
 * Waits until the store (what node_read_begin sees) holds every proposal
 * this member answered so far: the apply thread answers proposals before
 * it commits them to the store (README "Deferred store commits"), so a
 * serializable read, which skips node_read_barrier, calls this first to
 * keep "a member's reads see the writes it acknowledged". Cheap when
 * nothing answered is uncommitted; otherwise it asks for the commit.
 * Errors: TARN_ETIMEDOUT, TARN_ECLOSED, TARN_ESTATE.
 */
int node_answered_barrier(node *n, int timeout_ms, tarn_err *err);

/* Blocks until this node is the leader and has applied its term's first
 * entry (so reads and proposals are served without waiting for an
 * election). TARN_ETIMEDOUT, TARN_ECLOSED, TARN_ESTATE. */
int node_wait_leader(node *n, int timeout_ms, tarn_err *err);

/* The state machine. Borrowed; valid until node_close, EXCEPT that a
 * cluster follower replaces it when it installs a snapshot: callers that
 * may run concurrently with the loop read through node_read_begin/end. */
store *node_store(node *n);

/* A read transaction on the current store (store_read_begin), held off
 * while a snapshot is being installed. End it with node_read_end on the
 * same thread. Errors as store_read_begin. */
int node_read_begin(node *n, store_txn **out, tarn_err *err);
void node_read_end(node *n, store_txn *txn);

typedef struct node_status {
    uint64_t id;
    int is_leader;
    uint32_t state; /* enum raft_state_type (raft.h): follower, (pre)candidate, leader */
    uint64_t term;
    uint64_t leader; /* RAFT_NONE (0) when unknown */
    uint64_t commit_index;
    uint64_t applied_index;
    uint64_t leader_ready_term; /* term whose first entry this leader applied; 0: none */
    size_t queue_depth;         /* proposals waiting for the loop */
    int failed;                 /* the sticky error, 0 when healthy */
    uint32_t voters;            /* in the configuration in force */
    uint32_t learners;
    int is_voter; /* this member votes (0: a learner, removed, or joining) */
} node_status;

/* A consistent copy of the loop's last published state. Never fails. */
void node_get_status(node *n, node_status *st);

/* The HTTP URL of the current leader (this member's own http_url when it
 * leads, else what the leader announced in its transport handshake).
 * TARN_ENOENT when no leader is known or it announced none, TARN_ERANGE
 * when cap is too small. Thread-safe. */
int node_leader_url(node *n, char *buf, size_t cap);

/*
 * Hands leadership to member `to` (raft_transfer_leader, Dissertation
 * 3.10) and waits until this node sees `to` lead, or timeout_ms. Only on
 * the leader. Errors: TARN_EINVAL (to is not another member),
 * TARN_EBUSY (this node is not the leader, or proposals are paused by
 * another transfer), TARN_ETIMEDOUT (the transfer did not finish in time;
 * the core abandons it after an election timeout), TARN_ECLOSED,
 * TARN_ESTATE. Thread-safe.
 */
int node_transfer_leader(node *n, uint64_t to, int timeout_ms, tarn_err *err);

/* ---- membership (README "Membership") ---- */

typedef struct node_member {
    uint64_t id;
    int is_voter;                /* else a learner */
    char addr[NODE_TP_ADDR_MAX]; /* its peer address; "" when unknown */
} node_member;

/* The configuration in force (the latest in this member's log, committed
 * or not): up to cap members into out, voters first. Returns how many
 * there are. Thread-safe. */
size_t node_members_list(node *n, node_member *out, size_t cap);

/*
 * On the leader: makes member `id`, reachable for peers at `addr`
 * (host:port of its peer listener), a learner. First the address is
 * replicated (a command of node/'s own, so every member, and every
 * snapshot, knows how to reach it), then the core's ADD_LEARNER change is
 * proposed; returns once that is applied here. The new member receives
 * entries but does not vote until node_member_promote. 0 also when it is a
 * learner already. Errors: TARN_EINVAL (id 0, a bad address, or a single
 * voter), TARN_EEXIST (a voter already), TARN_EBUSY (not the leader,
 * another change under way, the leader has not committed in its term yet:
 * retry), TARN_ERANGE (too many members), TARN_ETIMEDOUT, TARN_ECLOSED,
 * TARN_ESTATE. Thread-safe.
 */
int node_member_add(node *n, uint64_t id, const char *addr, int timeout_ms, tarn_err *err);

/* On the leader: learner `id` becomes a voter (catch it up first: see
 * README "Membership"). 0 when it is a voter already. Errors as
 * node_member_add, TARN_ENOENT when it is no member. */
int node_member_promote(node *n, uint64_t id, int timeout_ms, tarn_err *err);

/* On the leader: member `id` (a voter, a learner, or the leader itself,
 * which then steps down once the change commits) leaves. 0 when it is no
 * member. Errors as node_member_add; TARN_EINVAL for the last voter. */
int node_member_remove(node *n, uint64_t id, int timeout_ms, tarn_err *err);

/* The bound peer port (0 for a single voter). */
uint16_t node_peer_port(node *n);

/* Number of voters in the configuration in force (1 for the embedded
 * single voter). */
size_t node_member_count(node *n);

#endif
