/*
 * Leadership transfer (Dissertation 3.10): the leader stops taking
 * proposals, brings the target up to date, sends TimeoutNow; the target
 * campaigns at once (no pre-vote) with votes that break leases; the
 * transfer is abandoned after an election timeout.
 */
#include "common/test_util.h"

#include "raft_test_util.h"

#include <stdlib.h>

static tnode *new_leader(void)
{
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, 1, 3);
    tn_open(t);
    tn_elect(t); /* term 1, no-op at index 1 */
    tn_clear_msgs(t);
    return t;
}

static void ack(tnode *t, uint64_t from, uint64_t index)
{
    raft_msg m = {.type = RAFT_MSG_APPEND_RESP, .from = from, .to = 1, .term = 1, .index = index};
    tn_step(t, &m);
}

static void test_transfer_to_caught_up_follower(void **state)
{
    (void)state;
    tnode *t = new_leader();
    ack(t, 2, 1);
    tn_clear_msgs(t);
    assert_int_equal(raft_transfer_leader(t->r, 2), 0);
    tn_ready(t, 1);
    const raft_msg *m = tn_find(t, RAFT_MSG_TIMEOUT_NOW, 2, 0); /* no fsync needed */
    assert_non_null(m);
    assert_int_equal(m->term, 1);
    assert_int_equal(tn_status(t).transferee, 2);
    assert_int_equal(raft_propose(t->r, "x", 1, NULL, NULL), TARN_EBUSY);
    assert_int_equal(raft_transfer_leader(t->r, 2), 0); /* already under way */
    tn_delete(t);
}

static void test_transfer_waits_for_target_to_catch_up(void **state)
{
    (void)state;
    tnode *t = new_leader();
    assert_int_equal(raft_transfer_leader(t->r, 3), 0);
    tn_ready(t, 1);
    assert_null(tn_find(t, RAFT_MSG_TIMEOUT_NOW, 3, 0));
    ack(t, 3, 1);
    assert_non_null(tn_find(t, RAFT_MSG_TIMEOUT_NOW, 3, 0));
    tn_delete(t);
}

static void test_transfer_abandoned_after_election_timeout(void **state)
{
    (void)state;
    tnode *t = new_leader();
    assert_int_equal(raft_transfer_leader(t->r, 3), 0);
    for (uint32_t i = 0; i < t->cfg.election_ticks; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
        tn_clear_msgs(t);
    }
    assert_int_equal(tn_status(t).state, RAFT_LEADER);
    assert_int_equal(tn_status(t).transferee, 0);
    assert_int_equal(raft_propose(t->r, "x", 1, NULL, NULL), 0);
    tn_delete(t);
}

static void test_transfer_bad_arguments(void **state)
{
    (void)state;
    tnode *t = new_leader();
    assert_int_equal(raft_transfer_leader(t->r, 1), TARN_EINVAL);
    assert_int_equal(raft_transfer_leader(t->r, 9), TARN_EINVAL);
    raft_msg hi = {.type = RAFT_MSG_HEARTBEAT, .from = 2, .to = 1, .term = 2};
    tn_step(t, &hi);
    assert_int_equal(raft_transfer_leader(t->r, 2), RAFT_ENOTLEADER);
    tn_delete(t);
}

/* The target campaigns at once, skipping pre-vote, and its votes carry the
 * transfer mark; a voter inside a leader's lease grants such a vote. */
static void test_timeout_now_campaign_breaks_lease(void **state)
{
    (void)state;
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, 2, 3);
    t->cfg.pre_vote = 1;
    t->cfg.check_quorum = 1;
    tn_open(t);
    raft_msg hb = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 1};
    tn_step(t, &hb);
    tn_clear_msgs(t);
    raft_msg tn = {.type = RAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 2, .term = 1};
    tn_step(t, &tn);
    assert_int_equal(tn_status(t).state, RAFT_CANDIDATE);
    assert_int_equal(tn_status(t).term, 2);
    const raft_msg *v = tn_find(t, RAFT_MSG_VOTE, 3, 1);
    assert_non_null(v);
    assert_int_equal(v->context, RAFT_VOTE_TRANSFER);

    tnode *voter = calloc(1, sizeof(*voter));
    assert_non_null(voter);
    tn_config(voter, 3, 3);
    voter->cfg.check_quorum = 1;
    tn_open(voter);
    hb.to = 3;
    tn_step(voter, &hb); /* in node 1's lease now */
    raft_msg plain = *v;
    plain.context = 0;
    tn_clear_msgs(voter);
    tn_step(voter, &plain);
    assert_int_equal(voter->n_now + voter->n_after, 0); /* ignored */
    tn_step(voter, v);
    const raft_msg *resp = tn_find(voter, RAFT_MSG_VOTE_RESP, 2, 1);
    assert_non_null(resp);
    assert_int_equal(resp->reject, 0);
    tn_close(voter);
    free(voter);
    tn_close(t);
    free(t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_to_caught_up_follower),
        cmocka_unit_test(test_transfer_waits_for_target_to_catch_up),
        cmocka_unit_test(test_transfer_abandoned_after_election_timeout),
        cmocka_unit_test(test_transfer_bad_arguments),
        cmocka_unit_test(test_timeout_now_campaign_breaks_lease),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
