/*
 * Tests of raft_propose_batch: a batch is proposed exactly as the same
 * proposals one by one (indexes, terms, refusals, what commits), but each
 * follower gets one append carrying every accepted entry instead of one
 * per proposal. And a new commit index goes out on the next append or
 * heartbeat, never in an empty append of its own.
 */
#include "common/test_util.h"

#include "raft_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Leader 1 of voters 1..3 with its no-op (index 1) acknowledged by both
 * followers, so that both replicate (no probing). */
static tnode *leader3(void)
{
    tnode *t = tn_new(1, 3);
    tn_elect(t);
    tn_ack(t, 2, 1);
    tn_ack(t, 3, 1);
    assert_int_equal(tn_status(t).commit, 1);
    tn_clear_msgs(t);
    return t;
}

/* Entries of the appends to `to` kept from the last Readies. */
static size_t appended_to(const tnode *t, uint64_t to, size_t *messages)
{
    size_t entries = 0;
    *messages = 0;
    for (size_t i = 0; i < t->n_now; i++)
        if (t->now[i].type == RAFT_MSG_APPEND && t->now[i].to == to) {
            (*messages)++;
            entries += t->now[i].n_entries;
        }
    return entries;
}

static void test_batch_is_one_append_per_follower(void **state)
{
    (void)state;
    tnode *t = leader3();
    char data[5][16];
    raft_proposal p[5];
    for (int i = 0; i < 5; i++) {
        snprintf(data[i], sizeof(data[i]), "v%d", i);
        p[i] = (raft_proposal){.data = data[i], .len = (uint32_t)strlen(data[i])};
    }
    assert_int_equal(raft_propose_batch(t->r, p, 5), 0);
    tn_ready(t, 1);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(p[i].rc, 0);
        assert_int_equal(p[i].index, 2 + (uint64_t)i);
        assert_int_equal(p[i].term, tn_status(t).term);
    }
    for (uint64_t to = 2; to <= 3; to++) {
        size_t msgs = 0;
        assert_int_equal(appended_to(t, to, &msgs), 5);
        assert_int_equal(msgs, 1);
    }
    /* The same five one by one: five appends per follower. */
    tn_clear_msgs(t);
    for (int i = 0; i < 5; i++)
        assert_int_equal(raft_propose(t->r, data[i], (uint32_t)strlen(data[i]), NULL, NULL), 0);
    tn_ready(t, 1);
    size_t msgs = 0;
    assert_int_equal(appended_to(t, 2, &msgs), 5);
    assert_int_equal(msgs, 5);
    /* A quorum's acknowledgement commits the whole batch, in order. */
    tn_ack(t, 2, 11);
    assert_int_equal(tn_status(t).commit, 11);
    assert_int_equal(t->n_committed, 11);
    assert_int_equal(t->committed[1].len, 2);
    assert_memory_equal(t->committed[1].data, "v0", 2);
    assert_memory_equal(t->committed[5].data, "v4", 2);
    tn_delete(t);
}

/* A refused entry (too big) does not stop the ones after it; a batch on
 * a follower is refused whole, and nothing is sent. */
static void test_batch_refusals_are_per_entry(void **state)
{
    (void)state;
    tnode *t = leader3();
    uint32_t big = t->cfg.max_entry_bytes + 1;
    char *huge = calloc(1, big);
    raft_proposal p[3] = {
        {.data = "a", .len = 1}, {.data = huge, .len = big}, {.data = "c", .len = 1}};
    assert_int_equal(raft_propose_batch(t->r, p, 3), 0);
    tn_ready(t, 1);
    assert_int_equal(p[0].rc, 0);
    assert_int_equal(p[1].rc, TARN_ETOOBIG);
    assert_int_equal(p[2].rc, 0);
    assert_int_equal(p[0].index, 2);
    assert_int_equal(p[2].index, 3);
    size_t msgs = 0;
    assert_int_equal(appended_to(t, 3, &msgs), 2);
    assert_int_equal(msgs, 1);
    free(huge);
    tn_delete(t);

    tnode *f = tn_new(2, 3); /* a follower: never elected */
    raft_proposal q[2] = {{.data = "x", .len = 1}, {.data = "y", .len = 1}};
    assert_int_equal(raft_propose_batch(f->r, q, 2), 0);
    assert_int_equal(q[0].rc, RAFT_ENOTLEADER);
    assert_int_equal(q[1].rc, RAFT_ENOTLEADER);
    tn_ready(f, 1);
    assert_int_equal(tn_count(f, RAFT_MSG_APPEND, 0, 0), 0);
    tn_delete(f);
}

/* A commit with nothing left to send sends nothing; the next append
 * carries the index, and so does the next heartbeat (no further than the
 * follower's match). */
static void test_commit_rides_on_next_append_or_heartbeat(void **state)
{
    (void)state;
    tnode *t = leader3();
    assert_int_equal(raft_propose(t->r, "a", 1, NULL, NULL), 0);
    tn_ready(t, 1);
    tn_clear_msgs(t);
    tn_ack(t, 2, 2);
    assert_int_equal(tn_status(t).commit, 2);
    assert_int_equal(tn_count(t, RAFT_MSG_APPEND, 0, 0), 0);
    assert_int_equal(tn_count(t, RAFT_MSG_APPEND, 0, 1), 0);

    assert_int_equal(raft_propose(t->r, "b", 1, NULL, NULL), 0);
    tn_ready(t, 1);
    const raft_msg *m = tn_find(t, RAFT_MSG_APPEND, 2, 0);
    assert_non_null(m);
    assert_int_equal(m->commit, 2);
    tn_clear_msgs(t);

    for (uint32_t i = 0; i < t->cfg.heartbeat_ticks; i++)
        assert_int_equal(raft_tick(t->r), 0);
    tn_ready(t, 1);
    m = tn_find(t, RAFT_MSG_HEARTBEAT, 2, 0);
    assert_non_null(m);
    assert_int_equal(m->commit, 2);
    m = tn_find(t, RAFT_MSG_HEARTBEAT, 3, 0);
    assert_non_null(m);
    assert_int_equal(m->commit, 1); /* follower 3 acknowledged index 1 only */
    tn_delete(t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_is_one_append_per_follower),
        cmocka_unit_test(test_batch_refusals_are_per_entry),
        cmocka_unit_test(test_commit_rides_on_next_append_or_heartbeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
