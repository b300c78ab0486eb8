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
 */
#ifndef TARN_NODE_NODE_INT_H
#define TARN_NODE_NODE_INT_H

#include "node/node.h"
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
    store_result res; /* proposal: the state machine's answer */
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
    pthread_cond_t wake_loop; /* new work or stop, CLOCK_MONOTONIC */
    pthread_cond_t wake_done; /* some waiter completed or the status changed */
    /* Guarded by mu. */
    int stop;
    int failed;         /* sticky: TARN_ESTATE-worthy failure code, 0 healthy */
    node_list queue;    /* proposals not yet handed to raft_propose */
    node_list reads;    /* read barriers not yet asked for */
    node_status status; /* published after every loop turn */
    size_t callers;     /* threads inside node_* calls (node_close waits) */
    int completed;      /* a waiter completed since the last broadcast */

    /* Owned by the loop thread. */
    node_list inflight;  /* proposed, in index order, waiting for apply */
    node_list read_wait; /* asked for; waiting for their read state/apply */
    uint64_t read_seq;   /* last ctx handed to raft_read_index */
    int64_t next_tick_ns;
    uint64_t applied;
    wal_entry *scratch_wal; /* Ready entries converted for the WAL */
    size_t scratch_wal_cap;
    store_entry *scratch_st;
    store_result *scratch_res;
    size_t scratch_st_cap;

    /* Metrics (borrowed series; NULL-safe). */
    obs_series_t *m_proposals_ok, *m_proposals_err, *m_latency, *m_queue, *m_applied, *m_term,
        *m_leader, *m_commit, *m_fsync, *m_msgs_dropped;
};

/* The loop thread's body (loop.c). */
void *node_loop_main(void *arg);

/* Completes a waiter with rc (under mu). Frees it when abandoned. */
void node_waiter_complete(node *n, node_waiter *w, int rc);
void node_waiter_free(node_waiter *w);

/* Fails every waiter (queue, reads, inflight, read_wait) with rc; under mu. */
void node_fail_all(node *n, int rc);

#endif
