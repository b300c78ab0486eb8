/*
 * node/node_int.h: the node's private state, shared by node.c (the
 * caller-facing API and open/close) and loop.c (the Ready loop thread).
 * Design note: src/node/README.md.
 *
 * Ownership of a waiter (a proposal or a read barrier): it is allocated by
 * the calling thread and linked into the node's lists under `mu`. Exactly
 * one side frees it:
 *   - the caller, when it sees `done` set (it takes the result);
 *   - the loop, when it completes a waiter the caller already `abandoned`
 *     (timed out), freeing the result with it.
 * Both decisions happen under `mu`, so a waiter is never freed twice or
 * touched after it was freed.
 *
 * An asynchronous proposal (node_propose_async) has `cb` set and no
 * caller thread. node_waiter_complete moves it onto n->to_call (under
 * mu); the thread that completed it runs the callback after it let go of
 * mu (node_unlock) and frees it. When its deadline passes first, the loop
 * takes the callback out (cb = NULL, abandoned = 1), calls it with
 * TARN_ETIMEDOUT, and the waiter stays where it is until its completion
 * frees it like any abandoned waiter. So the callback runs exactly once,
 * never under mu.
 */
#ifndef TARN_NODE_NODE_INT_H
#define TARN_NODE_NODE_INT_H

#include "base/buf.h"
#include "node/node.h"
#include "node/transport.h"
#include "raft/raft.h"
#include "wal/wal.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct node_waiter node_waiter;
struct node_waiter {
    node_waiter *next;
    int done;       /* completed: rc and res are final */
    int abandoned;  /* the caller gave up (timeout); the loop frees it */
    int rc;         /* 0 or a TARN_E* code, valid once done */
    uint64_t index; /* proposal: its log index; read: the read index */
    uint64_t term;  /* proposal: the term it was appended in */
    uint64_t group; /* read: the ctx of the raft_read_index it rides on */
    int64_t start_ns;
    int is_read;        /* a read barrier (else a proposal) */
    uint32_t conf_type; /* a membership change (enum raft_conf_change_type), else 0 */
    uint64_t conf_node; /* the member it is about */
    uint64_t origin;    /* the peer that forwarded it here (0: a local caller) */
    uint64_t req_id;    /* origin's id for it, or ours when we forwarded it */
    int64_t fwd_ns;     /* when we forwarded it to the leader (tarn_mono_ns) */
    uint64_t fwd_to;    /* the leader we forwarded it to */
    uint64_t fwd_gen;   /* node_tp_peer_gen of that link when we did */
    int fwd_lost;       /* failed because the leader's answer cannot come any more */
    store_result res;   /* proposal: the state machine's answer */
    /* A local caller sleeps on its own condition (signalled by
     * node_waiter_complete), so a turn that completes one waiter wakes one
     * thread, not every caller. Forwarded-in waiters have none. */
    pthread_cond_t done_cv;
    int has_cv;
    /* An asynchronous proposal: cb(cb_ctx, rc, result) once, never under
     * mu; deadline_ns (tarn_mono_ns) is enforced by the loop. */
    node_done_fn cb;
    void *cb_ctx;
    int64_t deadline_ns;
    size_t len;
    uint8_t data[]; /* proposal payload (copied) */
};

/* A FIFO of waiters. */
typedef struct node_list {
    node_waiter *head, *tail;
    size_t count;
} node_list;

void node_list_push(node_list *l, node_waiter *w);
node_waiter *node_list_pop(node_list *l);

/* Frame kinds of node/wire.c (1 is the transport's HELLO). */
#define NODE_WIRE_RAFT        2
#define NODE_WIRE_FWD_PROPOSE 3
#define NODE_WIRE_FWD_READ    4
#define NODE_WIRE_FWD_REPLY   5
#define NODE_WIRE_SNAP_CHUNK  6

/* A decoded frame from a peer, waiting in the inbox for the loop. One
 * allocation holds it, its entry array and a copy of the body that the
 * entries and data point into. */
typedef struct node_inmsg node_inmsg;
struct node_inmsg {
    node_inmsg *next;
    uint8_t kind;
    uint64_t from;
    raft_msg msg; /* RAFT */
    raft_entry *ents;
    uint64_t req_id; /* FWD_* */
    int32_t rc, code;
    uint64_t index;
    uint64_t total; /* SNAP_CHUNK: stream length */
    const uint8_t *data;
    size_t len;
};

/* Addresses of members the node remembers (bootstrap list and the
 * replicated address records); more are ignored with a log line. */
#define NODE_ADDRS_MAX 64
/* Membership changes waiting for the loop (one is in flight at a time in
 * the core anyway). */
#define NODE_CONFS_MAX 4
/* Committed entries handed to the apply thread (apply.c). */
typedef struct node_apply_batch node_apply_batch;

/* A store snapshot streaming to one follower (snapshot.c). */
typedef struct node_snap_send node_snap_send;

/* Group commit window (loop.c node_group_window): a leader with at least
 * NODE_GROUP_INFLIGHT_MIN proposals in flight and fewer than
 * NODE_GROUP_PROPOSALS queued waits up to NODE_GROUP_WINDOW_US for more. */
#define NODE_GROUP_WINDOW_US    1000
#define NODE_GROUP_PROPOSALS    16
#define NODE_GROUP_INFLIGHT_MIN 8

/* Frames from peers waiting for the loop, beyond which they are dropped
 * (Raft treats it as message loss). */
#define NODE_INBOX_MAX 8192
/* A forwarded proposal or read with no answer from the leader after this
 * long is failed (the answer was lost with a connection). */
#define NODE_FORWARD_TTL_MS 30000

int node_wire_encode_raft(tarn_buf *b, const raft_msg *m);
int node_wire_encode_fwd(tarn_buf *b, uint8_t kind, uint64_t req_id, const void *data, size_t len);
int node_wire_encode_reply(tarn_buf *b, uint64_t req_id, int rc_out, int code, uint64_t index,
                           const void *data, size_t len);
int node_wire_encode_chunk(tarn_buf *b, uint64_t snap_id, uint64_t offset, uint64_t total,
                           const void *data, size_t len);
/* TARN_EINVAL for a malformed body, TARN_ENOMEM. *out: tarn_free. */
int node_wire_decode(uint64_t from, const uint8_t *body, size_t len, node_inmsg **out);

struct node {
    node_opts opts;
    char data_dir[NODE_PATH_MAX];
    store_registry reg;
    wal *w;
    store *st;
    raft *r;
    pthread_t thread;
    int thread_started;

    pthread_mutex_t mu;
    int wake_fd;                /* eventfd: new work or stop (node_wake_loop) */
    pthread_cond_t wake_done;   /* the status changed, a transfer ended, or a caller left */
    pthread_condattr_t wait_ca; /* CLOCK_MONOTONIC, for each waiter's done_cv */
    /* Guarded by mu. */
    int stop;
    int loop_sleeping;        /* the loop waits in node_loop_sleep: wake it through wake_fd */
    int failed;               /* sticky: TARN_ESTATE-worthy failure code, 0 healthy */
    node_list queue;          /* proposals not yet handed to raft_propose */
    node_list reads;          /* read barriers not yet asked for */
    node_list confs;          /* membership changes not yet handed to the core */
    node_list to_call;        /* completed async proposals whose callback is due (node_unlock) */
    raft_conf_state conf_pub; /* the configuration in force (latest in the log) */
    node_member members_pub[RAFT_MAX_PEERS]; /* conf_pub with addresses, voters first */
    size_t n_members_pub;
    node_status status;                  /* published after every loop turn */
    node_inmsg *inbox_head, *inbox_tail; /* frames from peers */
    size_t inbox_count;
    size_t callers;         /* threads inside node_* calls (node_close waits) */
    int completed;          /* a transfer finished since the last broadcast */
    uint64_t transfer_to;   /* a leadership transfer asked for, not yet handed to the core */
    int transfer_rc;        /* the core's answer to the last one handed over */
    uint64_t transfer_seq;  /* transfers asked for */
    uint64_t transfer_done; /* transfers answered */

    /* The apply thread (apply.c). Guarded by mu. */
    node_list inflight;    /* proposed, in index order, waiting for apply */
    node_list read_wait;   /* asked for; waiting for their read state/apply */
    uint64_t applied;      /* the store's committed applied index (apply.c invariant 2) */
    uint64_t applied_term; /* and the term of that entry */
    node_apply_batch *apply_head, *apply_tail; /* committed entries handed over, in order */
    size_t apply_entries;                      /* entries queued */
    size_t apply_bytes;                        /* their payload bytes */
    int apply_busy;                            /* applying a run it took off the queue */
    int apply_open;            /* the store has a write transaction open (deferred commit) */
    int apply_flush;           /* node_apply_drain asks for a commit */
    uint64_t answered;         /* highest index whose proposal the apply thread answered */
    size_t answered_waiters;   /* callers in node_answered_barrier: commit now */
    int apply_stop;            /* node_close asks it to end */
    pthread_cond_t wake_apply; /* entries queued, or stop */
    pthread_cond_t apply_done; /* a run applied (room, drained) or failed */
    pthread_t apply_thread;
    int apply_started;

    /* Owned by the loop thread. */
    uint64_t read_seq;      /* last ctx handed to raft_read_index */
    node_list forwarded;    /* sent to the leader, waiting for its FWD_REPLY */
    uint64_t fwd_seq;       /* last req_id we gave a forwarded waiter */
    tarn_buf sendbuf;       /* encoding of outgoing frames */
    int64_t expire_scan_ns; /* next look for async proposals past their deadline */

    /* Snapshots and compaction (snapshot.c). */
    pthread_rwlock_t swap_lock; /* node_read_begin holds it shared; an install exclusively */
    node_snap_send *snd[NODE_TP_PEERS_MAX]; /* by slot; loop-owned */
    uint64_t snd_to[NODE_TP_PEERS_MAX];     /* the follower a slot serves, 0: free */
    uint8_t snd_failed[NODE_TP_PEERS_MAX];  /* a stream that could not start: report it */
    store_install *inst;                    /* follower: stream being received */
    uint64_t inst_id, inst_off, inst_total; /* its id, bytes so far, length */
    int inst_complete;                      /* every byte received and verified */
    store_snapshot_info inst_info;
    uint64_t snap_seq; /* ids of streams we send */

    /* Cluster. members/n_members: the bootstrap list (immutable after
     * open); the configuration in force is the core's (raft_get_conf). */
    node_transport *tp; /* NULL for a single voter */
    int clustered;      /* has peers (members, or join) */
    node_peer members[NODE_TP_PEERS_MAX];
    size_t n_members;
    /* Membership (members.c), loop-owned after open. */
    node_peer addrs[NODE_ADDRS_MAX]; /* every member address known: bootstrap + records */
    size_t n_addrs;
    uint64_t tp_ids[NODE_TP_PEERS_MAX]; /* the transport's peers now */
    size_t n_tp_ids;
    uint8_t conf_cmd[1 + RAFT_CONF_ENCODED_BYTES_MAX]; /* a conf entry as a store command */
    char http_url[NODE_TP_URL_MAX];
    int64_t next_tick_ns;
    uint64_t synced_last; /* last log index the WAL has synced (loop.c node_persist) */
    /* Term and vote of the last hard state the WAL has synced: a Ready
     * whose hard state differs from them only in the commit index is
     * appended without an fsync (loop.c node_persist). */
    uint64_t synced_term, synced_vote;
    wal_entry *scratch_wal; /* Ready entries converted for the WAL */
    size_t scratch_wal_cap;

    /* Metrics (borrowed series; NULL-safe). */
    obs_series_t *m_proposals_ok, *m_proposals_err, *m_latency, *m_queue, *m_applied, *m_term,
        *m_leader, *m_commit, *m_fsync, *m_msgs_dropped, *m_inbox_dropped, *m_forwarded,
        *m_apply_latency, *m_elections, *m_snapshots_sent, *m_snapshots_installed, *m_compactions,
        *m_voters, *m_learners, *m_conf_changes;
};

/* snapshot.c: shipping and installing store snapshots, log compaction. */
void node_snap_offer(node *n, const raft_msg *m);
void node_snap_reap(node *n, int all);
void node_snap_chunk(node *n, const node_inmsg *m);
int node_snap_ready_for(node *n, const raft_msg *m);
int node_snap_install(node *n, const struct raft_ready *rd, tarn_err *err);
int node_maybe_compact(node *n, tarn_err *err);
void node_snap_free(node *n);

/* members.c: membership changes, the member address records, the
 * configuration kept in the store (README "Membership"). */
int node_members_register(node *n, tarn_err *err);
int node_members_load(node *n, raft_conf_state *conf, int *has_conf, tarn_err *err);
void node_members_sync(node *n);
size_t node_batch_len(const raft_entry *e, size_t n);
void node_store_entry_of(node *n, const raft_entry *e, store_entry *out);
void node_members_applied(node *n, const raft_entry *e, size_t count);
void node_conf_step(node *n);
/* Whether the core's configuration differs from the published one (an
 * appended change, one reverted by overwritten entries, a snapshot). */
int node_members_changed(node *n);

/* The loop thread's body (loop.c). */
void *node_loop_main(void *arg);
/* Completes (under mu) the read barriers applied far enough; with
 * is_leader 0 also fails those the core dropped (loop.c). */
void node_complete_reads(node *n, int is_leader);
/* Publishes a new applied index (under mu; loop.c). */
void node_status_applied(node *n);

/* The apply thread (apply.c): committed entries handed over by the loop,
 * at most this many entries and payload bytes queued (the loop waits
 * beyond them; a single batch larger than the bytes bound still goes when
 * the queue is empty). */
#define NODE_APPLY_QUEUE_ENTRIES_MAX (4 * STORE_BATCH_MAX)
#define NODE_APPLY_QUEUE_BYTES_MAX   (64u << 20)
/* Deferred store commits (apply.c, README "Deferred store commits"): the
 * apply thread answers proposals from its open LMDB transaction and
 * commits it when a read barrier waits for an index in it, when it is
 * NODE_APPLY_COMMIT_MS old or holds NODE_APPLY_COMMIT_ENTRIES entries or
 * NODE_APPLY_COMMIT_BYTES,
 * when nothing new came for NODE_APPLY_IDLE_US, and on drain or stop. */
#define NODE_APPLY_COMMIT_MS      50
#define NODE_APPLY_COMMIT_ENTRIES (2 * STORE_BATCH_MAX)
#define NODE_APPLY_COMMIT_BYTES   (16u << 20) /* payload bytes in the open transaction */
#define NODE_APPLY_IDLE_US        10000
/* Starts / stops (joins) the thread; stop drops what is still queued
 * (the WAL replays it at the next open). */
int node_apply_start(node *n, tarn_err *err);
void node_apply_stop(node *n);
/* Loop thread: copies ents[0..count) onto the queue, waiting for room.
 * TARN_ENOMEM; TARN_ESTATE once the apply thread failed. */
int node_apply_enqueue(node *n, const raft_entry *ents, size_t count, tarn_err *err);
/* Loop thread: waits until everything queued is applied and committed and
 * the thread is idle, so the loop may use the store's write side.
 * TARN_ESTATE once the apply thread failed. */
int node_apply_drain(node *n, tarn_err *err);
/* n->applied, read under mu. */
uint64_t node_applied_index(node *n);
/* Sets applied and applied_term from the store (after a snapshot was
 * installed; the thread is idle). */
void node_applied_reset(node *n);

/* Completes a waiter with rc (under mu). Frees it when abandoned. */
void node_waiter_complete(node *n, node_waiter *w, int rc);
void node_waiter_free(node_waiter *w);

/* Fails every waiter (queue, reads, inflight, read_wait) with rc; under mu. */
void node_fail_all(node *n, int rc);

/* Releases mu, then runs the callbacks of the async proposals completed
 * meanwhile (n->to_call) on this thread. Every thread that completes
 * waiters unlocks with it, or their callbacks wait for the loop's next
 * turn (which runs them too). */
void node_unlock(node *n);

/* Under mu: tells the loop there is work (or a stop). Writes wake_fd only
 * when the loop sleeps, once per sleep. */
void node_wake_loop(node *n);
/* The loop (under mu): takes the callbacks of async proposals past their
 * deadline out of the queue, inflight and forwarded lists (at most cap),
 * marking those waiters abandoned. Returns how many; run them with
 * node_call_expired after unlocking. */
typedef struct node_expired {
    node_done_fn cb;
    void *ctx;
} node_expired;
size_t node_take_expired(node *n, int64_t now, node_expired *out, size_t cap);
void node_call_expired(node *n, const node_expired *e, size_t count);

#endif
