/*
 * tests/unit/raft/raft_test_util.h: a hand-driven host for one consensus
 * core: a durable log and hard state in memory, the Ready loop done on
 * request (with or without the fsync), and the messages it produced kept
 * for the test to inspect or deliver.
 */
#ifndef TARN_TESTS_RAFT_TEST_UTIL_H
#define TARN_TESTS_RAFT_TEST_UTIL_H

#include "raft/raft.h"

#include <stddef.h>
#include <stdint.h>

#define TN_MAX_LOG  512
#define TN_MAX_MSGS 256

typedef struct tnode {
    raft *r;
    raft_config cfg;
    uint64_t voters[RAFT_MAX_VOTERS];
    /* durable state */
    raft_entry log[TN_MAX_LOG]; /* log[i] is index i + 1; data owned */
    size_t n_log;
    raft_hard_state hs;
    int has_hs;
    uint64_t applied;
    /* what the last Readies produced (deep copies) */
    raft_msg now[TN_MAX_MSGS];
    size_t n_now;
    raft_msg after[TN_MAX_MSGS];
    size_t n_after;
    raft_entry committed[TN_MAX_LOG]; /* everything applied, in order */
    size_t n_committed;
} tnode;

/* Opens node `id` of voters 1..n_voters, from its durable fields (fresh
 * when empty). pre_vote and check_quorum off unless the test sets them in
 * t->cfg before tn_open (tn_config fills defaults). */
void tn_config(tnode *t, uint64_t id, size_t n_voters);
void tn_open(tnode *t);
/* Crash: drops the core (and everything not durable), reopens. */
void tn_restart(tnode *t);
void tn_close(tnode *t);

/* Seeds the durable log with entries of the given terms (payload = index
 * as 1 byte). */
void tn_durable_terms(tnode *t, const uint64_t *terms, size_t n);

/* Runs Ready loops until none is left. With persist = 0 the first Ready's
 * fsync "never happens": only msgs_now are kept and the node should then be
 * restarted. */
void tn_ready(tnode *t, int persist);
void tn_clear_msgs(tnode *t);

/* The first kept message of `type` to `to` (0: anyone) in now (after = 0)
 * or after-persist (after = 1), or NULL. */
const raft_msg *tn_find(const tnode *t, uint32_t type, uint64_t to, int after);
size_t tn_count(const tnode *t, uint32_t type, uint64_t to, int after);

/* Steps a message, asserting success, then runs the Ready loop. */
void tn_step(tnode *t, const raft_msg *m);
/* Makes t leader of the next term by ticking to a campaign and feeding
 * granted votes from enough peers. */
void tn_elect(tnode *t);

raft_status tn_status(const tnode *t);

/* A calloc'ed node `id` of voters 1..n_voters, opened fresh. */
tnode *tn_new(uint64_t id, size_t n_voters);
/* tn_close, then free(t) (a tnode the test calloc'ed). */
void tn_delete(tnode *t);
/* Steps an APPEND_RESP from `from` acknowledging `index` in t's term. */
void tn_ack(tnode *t, uint64_t from, uint64_t index);

/* A RAFT_MSG_SNAPSHOT from `from` to `to` covering 1..index (term
 * log_term) whose configuration record (written into *conf_entry and buf,
 * RAFT_CONF_ENCODED_BYTES_MAX bytes) names voters 1..n_voters. */
raft_msg tn_snapshot_msg(uint64_t from, uint64_t to, uint64_t term, uint64_t index,
                         uint64_t log_term, size_t n_voters, raft_entry *conf_entry, uint8_t *buf);

#endif
