/*
 * Leader leases (Dissertation 6.4.1, raft_config.lease_reads): a leader
 * whose heartbeat a quorum answered serves reads at once until the lease
 * runs out; a TimeoutNow voids it; a restarted node refuses votes for an
 * election timeout. And what breaking the clock assumption does: followers
 * whose clocks jump elect a new leader while the old one still believes in
 * its lease, and the old one's lease read misses an acknowledged write.
 */
#include "common/test_util.h"

#include "raft_test_util.h"

#include <stdlib.h>

static tnode *lease_node(uint64_t id)
{
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, id, 3);
    t->cfg.check_quorum = 1;
    t->cfg.lease_reads = 1;
    t->cfg.lease_margin_ticks = 1;
    tn_open(t);
    return t;
}

/* Ticks the leader once and answers its heartbeat from `from`. */
static void heartbeat_round(tnode *t, uint64_t from)
{
    tn_clear_msgs(t);
    assert_int_equal(raft_tick(t->r), 0);
    tn_ready(t, 1);
    const raft_msg *hb = tn_find(t, RAFT_MSG_HEARTBEAT, from, 0);
    assert_non_null(hb);
    raft_msg r = {.type = RAFT_MSG_HEARTBEAT_RESP, .from = from, .to = t->cfg.id};
    r.term = hb->term;
    r.index = hb->index;
    tn_step(t, &r);
}

static size_t take_reads(tnode *t, uint64_t *index)
{
    size_t n = 0;
    while (raft_has_ready(t->r)) {
        struct raft_ready rd;
        assert_int_equal(raft_ready(t->r, &rd), 0);
        for (size_t i = 0; i < rd.n_read_states; i++, n++)
            *index = rd.read_states[i].index;
        assert_int_equal(raft_advance(t->r, &rd), 0);
    }
    return n;
}

static tnode *lease_leader(void)
{
    tnode *t = lease_node(1);
    for (int i = 0; i < 10; i++) /* the startup vote hold */
        assert_int_equal(raft_tick(t->r), 0);
    tn_elect(t);
    tn_ack(t, 2, 1);
    return t;
}

static void test_lease_read_needs_no_heartbeat_round(void **state)
{
    (void)state;
    tnode *t = lease_leader();
    assert_false(tn_status(t).has_lease); /* nobody answered a heartbeat yet */
    heartbeat_round(t, 2);
    assert_true(tn_status(t).has_lease);
    tn_clear_msgs(t);
    uint64_t index = 0;
    assert_int_equal(raft_read_index(t->r, 7), 0);
    assert_int_equal(take_reads(t, &index), 1); /* at once */
    assert_int_equal(index, 1);
    /* The lease runs out after election_ticks - 1 - margin ticks. */
    for (int i = 0; i < 8; i++) {
        assert_true(tn_status(t).has_lease);
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_false(tn_status(t).has_lease);
    tn_clear_msgs(t);
    assert_int_equal(raft_read_index(t->r, 8), 0);
    assert_int_equal(take_reads(t, &index), 0); /* back to ReadIndex */
    tn_delete(t);
}

static void test_timeout_now_voids_lease(void **state)
{
    (void)state;
    tnode *t = lease_leader();
    heartbeat_round(t, 2);
    assert_true(tn_status(t).has_lease);
    assert_int_equal(raft_transfer_leader(t->r, 2), 0); /* 2 is caught up: TimeoutNow */
    tn_ready(t, 1);
    assert_false(tn_status(t).has_lease);
    tn_delete(t);
}

static void test_restarted_node_holds_its_vote(void **state)
{
    (void)state;
    tnode *t = lease_node(3);
    raft_msg v = {.type = RAFT_MSG_VOTE, .from = 2, .to = 3, .term = 5};
    tn_step(t, &v);
    assert_null(tn_find(t, RAFT_MSG_VOTE_RESP, 2, 1)); /* ignored: it may be in a lease */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    v.term = tn_status(t).term + 1;
    tn_step(t, &v);
    const raft_msg *resp = tn_find(t, RAFT_MSG_VOTE_RESP, 2, 1);
    assert_non_null(resp);
    assert_int_equal(resp->reject, 0);
    tn_delete(t);
}

static void deliver(tnode *from, tnode *to, uint32_t type)
{
    const raft_msg *m = tn_find(from, type, to->cfg.id, 0);
    if (m == NULL)
        m = tn_find(from, type, to->cfg.id, 1);
    assert_non_null(m);
    tn_step(to, m);
}

/* Breaking the clock assumption: 1 holds a lease; 2 and 3 get a burst of
 * ticks (their clocks jumped), 2 is elected, commits a write; 1, cut off,
 * still has its lease and serves a read that misses that write. With the
 * assumption kept (3 ticked normally) 3 refuses the vote. */
static void test_clock_jump_breaks_lease(void **state)
{
    (void)state;
    tnode *t1 = lease_leader(), *t2 = lease_node(2), *t3 = lease_node(3);
    deliver(t1, t2, RAFT_MSG_APPEND); /* the no-op and commit reach both */
    deliver(t1, t3, RAFT_MSG_APPEND);
    heartbeat_round(t1, 2);
    tn_clear_msgs(t1);
    assert_int_equal(raft_tick(t1->r), 0); /* a heartbeat, delivered to 3 */
    tn_ready(t1, 1);
    deliver(t1, t3, RAFT_MSG_HEARTBEAT);
    assert_true(tn_status(t1).has_lease);
    /* Now 1 is cut off. 2's clock jumps by 25 ticks: it campaigns. */
    for (int i = 0; i < 25 && tn_status(t2).state == RAFT_FOLLOWER; i++) {
        assert_int_equal(raft_tick(t2->r), 0);
        tn_ready(t2, 1);
    }
    assert_int_equal(tn_status(t2).state, RAFT_CANDIDATE);
    tn_clear_msgs(t3);
    deliver(t2, t3, RAFT_MSG_VOTE);
    assert_null(tn_find(t3, RAFT_MSG_VOTE_RESP, 2, 1)); /* assumption kept: refused */
    for (int i = 0; i < 10; i++)                        /* 3's clock jumps too */
        assert_int_equal(raft_tick(t3->r), 0);
    tn_ready(t3, 1);
    /* 3 may campaign itself on the jump and split the vote; 2 retries. */
    for (int round = 0; round < 5 && tn_status(t2).state != RAFT_LEADER; round++) {
        tn_clear_msgs(t3);
        deliver(t2, t3, RAFT_MSG_VOTE);
        const raft_msg *resp = tn_find(t3, RAFT_MSG_VOTE_RESP, 2, 1);
        if (resp != NULL && !resp->reject) {
            tn_step(t2, resp);
            break;
        }
        uint64_t term = tn_status(t2).term;
        tn_clear_msgs(t2);
        for (int i = 0; i < 40 && tn_status(t2).term == term; i++) {
            assert_int_equal(raft_tick(t2->r), 0);
            tn_ready(t2, 1);
        }
    }
    assert_int_equal(tn_status(t2).state, RAFT_LEADER);
    tn_clear_msgs(t3);
    deliver(t2, t3, RAFT_MSG_APPEND); /* the new no-op */
    deliver(t3, t2, RAFT_MSG_APPEND_RESP);
    uint64_t w = 0;
    assert_int_equal(raft_propose(t2->r, "x", 1, &w, NULL), 0);
    tn_clear_msgs(t2);
    tn_ready(t2, 1);
    tn_clear_msgs(t3);
    deliver(t2, t3, RAFT_MSG_APPEND);
    deliver(t3, t2, RAFT_MSG_APPEND_RESP);
    assert_true(tn_status(t2).commit >= w); /* the write is acknowledged */
    /* The old leader still believes in its lease: a stale read. */
    assert_int_equal(tn_status(t1).state, RAFT_LEADER);
    assert_true(tn_status(t1).has_lease);
    uint64_t index = 0;
    tn_clear_msgs(t1);
    assert_int_equal(raft_read_index(t1->r, 1), 0);
    assert_int_equal(take_reads(t1, &index), 1);
    assert_true(index < w);
    tn_delete(t1);
    tn_delete(t2);
    tn_delete(t3);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_read_needs_no_heartbeat_round),
        cmocka_unit_test(test_timeout_now_voids_lease),
        cmocka_unit_test(test_restarted_node_holds_its_vote),
        cmocka_unit_test(test_clock_jump_breaks_lease),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
