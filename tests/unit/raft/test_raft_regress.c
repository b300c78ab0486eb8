/*
 * Named regression tests for the bugs of Debian's libraft 0.15 that made
 * Tarn write its own core (issue 5): committing an earlier term's entry by
 * counting replicas (Raft paper Figure 8, Dissertation 3.6.2), no no-op
 * entry on election, votes and acks sent before the state they promise is
 * durable, and payloads whose length is not a multiple of 8 lost across a
 * crash and restart.
 */
#include "common/test_util.h"

#include "raft_test_util.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

/* Configured, not opened: the test seeds its durable state first. */
static tnode *tn_configured(uint64_t id, size_t n_voters)
{
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, id, n_voters);
    return t;
}

/*
 * Figure 8 (c), Dissertation 3.6.2, on three servers. S1 led term 2 and
 * wrote index 2; now it leads term 4. It brings S3 up to index 2, so index
 * 2 is on a majority (S1, S3), but it is of term 2: counting replicas must
 * not commit it, because a candidate whose last entry is of term 3 can
 * still win S3's vote and overwrite index 2. Only once an entry of term 4
 * (the no-op) is on a majority does index 2 commit, with it.
 */
static void test_figure8_earlier_term_not_committed_by_counting(void **state)
{
    (void)state;
    tnode *s1 = tn_configured(1, 3);
    uint64_t terms[] = {1, 2};
    tn_durable_terms(s1, terms, 2);
    s1->hs = (raft_hard_state){.term = 3, .vote = 0, .commit = 1};
    s1->has_hs = 1;
    s1->applied = 1;
    s1->cfg.max_msg_bytes = 1; /* one entry per append, as after a loss */
    tn_open(s1);
    tn_elect(s1);
    assert_int_equal(tn_status(s1).term, 4);
    assert_int_equal(tn_status(s1).last_index, 3); /* + the no-op */

    /* S3 holds only index 1: it rejects prev (2, term 2) with its hint. */
    raft_msg rej = {.type = RAFT_MSG_APPEND_RESP, .from = 3, .to = 1, .term = 4, .reject = 1};
    rej.index = 2;
    rej.reject_hint = 1;
    rej.log_term = 1;
    tn_clear_msgs(s1);
    tn_step(s1, &rej);
    const raft_msg *app = tn_find(s1, RAFT_MSG_APPEND, 3, 0);
    assert_non_null(app);
    assert_int_equal(app->index, 1);
    assert_int_equal(app->n_entries, 1);
    assert_int_equal(app->entries[0].term, 2);

    /* S3 stores index 2 (term 2) and acks it: on S1 and S3 now. */
    raft_msg ack = {.type = RAFT_MSG_APPEND_RESP, .from = 3, .to = 1, .term = 4, .index = 2};
    tn_step(s1, &ack);
    assert_int_equal(tn_status(s1).commit, 1); /* the bug committed 2 here */

    /* Why: S3 would give its vote to a term-3 log ending in (2, term 3). */
    tnode *s3 = tn_configured(3, 3);
    tn_durable_terms(s3, terms, 2);
    s3->hs = (raft_hard_state){.term = 4, .vote = 1, .commit = 1};
    s3->has_hs = 1;
    tn_open(s3);
    raft_msg vote = {.type = RAFT_MSG_VOTE, .from = 2, .to = 3, .term = 5, .index = 2};
    vote.log_term = 3;
    tn_step(s3, &vote);
    const raft_msg *granted = tn_find(s3, RAFT_MSG_VOTE_RESP, 2, 1);
    assert_non_null(granted);
    assert_int_equal(granted->reject, 0);

    /* Once the term-4 no-op is on a majority, 2 and 3 commit together. */
    ack.index = 3;
    tn_step(s1, &ack);
    assert_int_equal(tn_status(s1).commit, 3);
    assert_int_equal(s1->n_committed, 2);
    assert_int_equal(s1->committed[0].index, 2);
    assert_int_equal(s1->committed[1].type, RAFT_ENTRY_NOOP);
    tn_delete(s3);
    tn_delete(s1);
}

/* Dissertation 3.6.2 / 6.4: the first entry of every term is a no-op,
 * written by the new leader before any client entry, and persisted. */
static void test_election_appends_noop(void **state)
{
    (void)state;
    tnode *t = tn_configured(1, 3);
    uint64_t terms[] = {1, 1, 2};
    tn_durable_terms(t, terms, 3);
    t->hs = (raft_hard_state){.term = 2, .vote = 0, .commit = 0};
    t->has_hs = 1;
    tn_open(t);
    tn_elect(t);
    raft_status st = tn_status(t);
    assert_int_equal(st.term, 3);
    assert_int_equal(st.last_index, 4);
    assert_int_equal(t->n_log, 4); /* durable too */
    assert_int_equal(t->log[3].type, RAFT_ENTRY_NOOP);
    assert_int_equal(t->log[3].term, 3);
    assert_int_equal(t->log[3].len, 0);
    /* The no-op is replicated at once, before any proposal. */
    const raft_msg *app = tn_find(t, RAFT_MSG_APPEND, 2, 0);
    assert_non_null(app);
    assert_int_equal(app->n_entries, 1);
    assert_int_equal(app->entries[0].type, RAFT_ENTRY_NOOP);
    tn_delete(t);
}

/* A vote (and the request for votes) promises a durable vote: it must wait
 * for the fsync. A crash before the fsync leaves no trace, so a later vote
 * for someone else in that term is legitimate. */
static void test_vote_waits_for_durable_state(void **state)
{
    (void)state;
    tnode *t = tn_configured(2, 3);
    tn_open(t);
    raft_msg vote = {.type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 1};
    assert_int_equal(raft_step(t->r, &vote), 0);
    struct raft_ready rd;
    assert_int_equal(raft_ready(t->r, &rd), 0);
    assert_true(rd.hard_state_changed);
    assert_int_equal(rd.hard_state.term, 1);
    assert_int_equal(rd.hard_state.vote, 1);
    assert_int_equal(rd.n_msgs_now, 0);
    assert_int_equal(rd.n_msgs_after_persist, 1);
    assert_int_equal(rd.msgs_after_persist[0].type, RAFT_MSG_VOTE_RESP);
    assert_int_equal(rd.msgs_after_persist[0].reject, 0);
    /* Crash before the fsync: nothing was sent, nothing is durable. */
    tn_restart(t);
    assert_int_equal(tn_status(t).vote, 0);
    raft_msg other = vote;
    other.from = 3;
    tn_step(t, &other);
    const raft_msg *resp = tn_find(t, RAFT_MSG_VOTE_RESP, 3, 1);
    assert_non_null(resp);
    assert_int_equal(resp->reject, 0);
    assert_int_equal(t->hs.vote, 3);

    /* A candidate's own vote requests also wait for its term and vote. */
    tnode *c = tn_configured(1, 3);
    tn_open(c);
    while (tn_status(c).state != RAFT_CANDIDATE)
        assert_int_equal(raft_tick(c->r), 0);
    assert_int_equal(raft_ready(c->r, &rd), 0);
    assert_int_equal(rd.hard_state.vote, 1);
    assert_int_equal(rd.n_msgs_now, 0);
    assert_int_equal(rd.n_msgs_after_persist, 2);
    assert_int_equal(raft_advance(c->r, &rd), 0);
    tn_delete(c);
    tn_delete(t);
}

/* An ack of entries promises they are on disk: it waits for the fsync,
 * and the entries are in the same Ready. */
static void test_append_ack_waits_for_durable_entries(void **state)
{
    (void)state;
    tnode *t = tn_configured(2, 3);
    tn_open(t);
    uint8_t d[3] = {1, 2, 3};
    raft_entry e[2] = {{.term = 1, .index = 1, .len = 3, .data = d}, {.term = 1, .index = 2}};
    raft_msg app = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1, .commit = 0};
    app.entries = e;
    app.n_entries = 2;
    assert_int_equal(raft_step(t->r, &app), 0);
    struct raft_ready rd;
    assert_int_equal(raft_ready(t->r, &rd), 0);
    assert_int_equal(rd.n_entries, 2);
    assert_int_equal(rd.n_msgs_now, 0);
    assert_int_equal(rd.n_msgs_after_persist, 1);
    assert_int_equal(rd.msgs_after_persist[0].type, RAFT_MSG_APPEND_RESP);
    assert_int_equal(rd.msgs_after_persist[0].index, 2);
    /* Crash before the fsync: the ack never left and the entries are gone;
     * the restarted node asks for them again instead of claiming them. */
    tn_restart(t);
    assert_int_equal(tn_status(t).last_index, 0);
    app.index = 2;
    app.log_term = 1;
    app.n_entries = 0;
    tn_step(t, &app);
    const raft_msg *resp = tn_find(t, RAFT_MSG_APPEND_RESP, 1, 1);
    assert_non_null(resp);
    assert_int_equal(resp->reject, 1);
    assert_int_equal(resp->reject_hint, 0);
    tn_delete(t);
}

static void fill(uint8_t *p, uint32_t len, uint32_t salt)
{
    for (uint32_t k = 0; k < len; k++)
        p[k] = (uint8_t)(salt * 37 + k * 11 + 1);
}

static void tick_to_leader(tnode *t)
{
    for (int i = 0; i < 100 && tn_status(t).state != RAFT_LEADER; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_int_equal(tn_status(t).state, RAFT_LEADER);
}

static void check_payloads(const raft_entry *e, size_t n, const uint32_t *lens, size_t n_lens)
{
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].type != RAFT_ENTRY_NORMAL)
            continue;
        assert_true(seen < n_lens);
        uint8_t want[64];
        fill(want, lens[seen], (uint32_t)seen);
        assert_int_equal(e[i].len, lens[seen]);
        assert_memory_equal(e[i].data, want, lens[seen]);
        seen++;
    }
    assert_int_equal(seen, n_lens);
}

/* libraft 0.15 lost acknowledged entries whose payload length was not a
 * multiple of 8 after kill -9. Here: odd lengths, committed (acknowledged),
 * a crash that also loses an unsynced tail, a restart, and every
 * acknowledged payload comes back byte-exact, applied again from 0. */
static void test_odd_length_payloads_survive_restart(void **state)
{
    (void)state;
    static const uint32_t lens[] = {1, 3, 5, 7, 9, 13, 17, 23, 31, 63};
    tnode *t = tn_configured(1, 1);
    tn_open(t);
    tick_to_leader(t);
    uint8_t buf[64];
    for (size_t i = 0; i < TARN_ARRAY_LEN(lens); i++) {
        fill(buf, lens[i], (uint32_t)i);
        assert_int_equal(raft_propose(t->r, buf, lens[i], NULL, NULL), 0);
    }
    tn_ready(t, 1);
    check_payloads(t->committed, t->n_committed, lens, TARN_ARRAY_LEN(lens));
    /* One more proposal whose fsync never happens. */
    assert_int_equal(raft_propose(t->r, buf, 5, NULL, NULL), 0);
    tn_ready(t, 0);
    for (size_t i = 0; i < t->n_committed; i++)
        tarn_free(t->committed[i].data);
    t->n_committed = 0;
    t->applied = 0; /* a state machine rebuilt from the log */
    tn_restart(t);
    raft_status st = tn_status(t);
    assert_int_equal(st.last_index, TARN_ARRAY_LEN(lens) + 1); /* no-op + acked */
    tn_ready(t, 1);
    check_payloads(t->committed, t->n_committed, lens, TARN_ARRAY_LEN(lens));
    tn_delete(t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_figure8_earlier_term_not_committed_by_counting),
        cmocka_unit_test(test_election_appends_noop),
        cmocka_unit_test(test_vote_waits_for_durable_state),
        cmocka_unit_test(test_append_ack_waits_for_durable_entries),
        cmocka_unit_test(test_odd_length_payloads_survive_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
