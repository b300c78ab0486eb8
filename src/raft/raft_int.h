/*
 * raft/raft_int.h: the core's private state, shared by raft.c (protocol),
 * log.c (the in-memory log) and ready.c (the Ready batch and the message
 * queues). Design note: src/raft/README.md.
 */
#ifndef TARN_RAFT_RAFT_INT_H
#define TARN_RAFT_RAFT_INT_H

#include "base/rand.h"
#include "raft/raft.h"

#include <stdint.h>

/* What an entry costs on the wire besides its payload (term, index, type,
 * length), counted against max_msg_bytes so that empty entries (no-ops)
 * are not free. */
#define RAFT_ENTRY_OVERHEAD_BYTES 24

/*
 * The in-memory log: ents[k] has index offset + 1 + k. `offset` and
 * `offset_term` stand for the entry before the first one (0/0 until
 * snapshots exist).
 */
typedef struct raft_log {
    raft_entry *ents;
    size_t n;
    size_t cap;
    uint64_t offset;
    uint64_t offset_term;
    uint64_t stable; /* entries <= stable are durable (reported by advance) */
    uint64_t bytes;  /* payload bytes held */
} raft_log;

enum raft_progress_state {
    RAFT_PROGRESS_PROBE = 0,     /* one append at a time until a match is found */
    RAFT_PROGRESS_REPLICATE = 1, /* pipelined, bounded by max_inflight */
    RAFT_PROGRESS_SNAPSHOT = 2,  /* a snapshot is being streamed: send nothing else */
};

/* The leader's view of one peer (Dissertation 3.5, nextIndex/matchIndex). */
typedef struct raft_progress {
    uint64_t id;
    uint64_t match;
    uint64_t next;
    uint32_t state;
    int learner;               /* receives entries, never votes or counts */
    int probe_sent;            /* PROBE: an append is outstanding, wait */
    uint64_t pending_snapshot; /* SNAPSHOT: the index being sent */
    uint32_t snapshot_elapsed; /* SNAPSHOT: ticks since it was sent */
    uint64_t lease_ack;        /* newest heartbeat tick stamp it answered */
    int recent_active;         /* heard from since the last check-quorum round */
    uint64_t *inflight;        /* ring of the last index of each batch in flight */
    uint32_t inflight_start;
    uint32_t inflight_count;
} raft_progress;

/* A ReadIndex request waiting for its index and a quorum's heartbeat. */
typedef struct raft_read_pending {
    uint64_t ctx;
    uint64_t seq;   /* heartbeats carrying >= seq confirm it */
    uint64_t index; /* 0 until the leader committed in its term */
    uint32_t acks;  /* bit i: peers[i] confirmed (reset on a configuration change) */
} raft_read_pending;

typedef struct raft_msg_queue {
    raft_msg *msgs;
    size_t n;
    size_t cap;
} raft_msg_queue;

struct raft {
    raft_config cfg; /* cfg.voters is NOT retained; see peers */
    uint64_t id;
    raft_progress peers[RAFT_MAX_PEERS]; /* voters then learners, self included if a member */
    size_t n_peers;
    int8_t votes[RAFT_MAX_PEERS]; /* 1 granted, -1 denied, 0 unknown */
    uint64_t *rings;              /* RAFT_MAX_PEERS inflight rings of max_inflight slots */

    raft_conf_state conf;      /* in force: the latest in the log (Dissertation 4.1) */
    raft_conf_state snap_conf; /* in force at log.offset */
    uint64_t conf_index;       /* index of the latest conf entry, 0 if none in the log */
    int self_voter;            /* id is a voter in conf */

    uint64_t ticks;     /* ticks since open, from 1: lease stamps */
    int lease_broken;   /* a TimeoutNow left in this term: no lease until the next */
    uint32_t vote_hold; /* leases: ticks left before a restarted node may vote */

    uint32_t state;
    uint64_t term;
    uint64_t vote;
    uint64_t lead;
    uint64_t commit;
    uint64_t applied;
    raft_log log;

    uint64_t transferee;       /* leadership transfer under way to this voter */
    uint32_t transfer_elapsed; /* ticks since it started */
    uint32_t election_elapsed;
    uint32_t heartbeat_elapsed;
    uint32_t randomized_timeout;
    tarn_rng rng;

    raft_hard_state prev_hs; /* last hard state handed out in a Ready */
    raft_msg_queue out_now;
    raft_msg_queue out_after;
    uint64_t msg_bytes;

    raft_read_pending reads[RAFT_MAX_PENDING_READS]; /* FIFO by seq */
    size_t n_reads;
    uint64_t read_seq;
    raft_read_state ready_reads[RAFT_MAX_PENDING_READS]; /* released, for Ready */
    size_t n_ready_reads;

    int has_pending_snapshot; /* received, to hand out in the next Ready */
    raft_snapshot_meta pending_snapshot;

    int ready_pending;
    uint64_t ready_entries_last;   /* last index handed out for persisting */
    uint64_t ready_committed_last; /* last index handed out for applying */
    int failed;                    /* sticky TARN_E* code */
};

/* log.c */
uint64_t raft_log_last_index(const raft_log *l);
uint64_t raft_log_term_at(const raft_log *l, uint64_t index); /* 0 if unknown */
const raft_entry *raft_log_at(const raft_log *l, uint64_t index);
int raft_log_append_copy(raft_log *l, const raft_entry *e);
void raft_log_truncate_from(raft_log *l, uint64_t index);
void raft_log_free(raft_log *l);
void raft_log_compact(raft_log *l, uint64_t index);
void raft_log_restore(raft_log *l, uint64_t index, uint64_t term);
int raft_log_is_up_to_date(const raft_log *l, uint64_t last_index, uint64_t last_term);
uint64_t raft_log_find_conflict_by_term(const raft_log *l, uint64_t index, uint64_t term);
int raft_entry_copy(raft_entry *dst, const raft_entry *src);
void raft_entry_free(raft_entry *e);

/* conf.c */
int raft_conf_of_entry(const raft_entry *e, raft_conf_state *out);
void raft_conf_apply(raft *r, const raft_conf_state *c);
void raft_conf_recompute(raft *r);
void raft_conf_at(const raft *r, uint64_t index, raft_conf_state *out);
uint32_t raft_voter_mask(const raft *r);

/* ready.c */
int raft_send(raft *r, raft_msg *m); /* takes ownership of m->entries */
void raft_msg_queue_free(raft *r, raft_msg_queue *q);

/* raft.c, used by ready.c and read.c */
int raft_leader_maybe_commit_and_send(raft *r);
void raft_maybe_step_down_removed(raft *r);
int raft_lease_valid(const raft *r);
int raft_bcast_heartbeat(raft *r);
size_t raft_quorum_size(const raft *r);

/* read.c */
void raft_read_on_commit(raft *r);
void raft_read_on_heartbeat_resp(raft *r, size_t peer, uint64_t context);
void raft_read_reset(raft *r);

#endif
