/*
 * ReadIndex (Dissertation 6.4): a read is released only after the leader
 * committed an entry of its own term and a quorum answered a heartbeat sent
 * after the read was asked for; reads die with the leadership.
 */
#include "common/test_util.h"

#include "raft_test_util.h"

#include <stdlib.h>

static tnode *new_leader(size_t n_voters)
{
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, 1, n_voters);
    tn_open(t);
    if (n_voters == 1) {
        while (tn_status(t).state != RAFT_LEADER) {
            assert_int_equal(raft_tick(t->r), 0);
            tn_ready(t, 1);
        }
    } else {
        tn_elect(t);
    }
    tn_clear_msgs(t);
    return t;
}

/* Runs the Ready loop and returns how many read states it released; the
 * last one's ctx and index in *ctx and *index. */
static size_t take_reads(tnode *t, uint64_t *ctx, uint64_t *index)
{
    size_t n = 0;
    while (raft_has_ready(t->r)) {
        struct raft_ready rd;
        assert_int_equal(raft_ready(t->r, &rd), 0);
        for (size_t i = 0; i < rd.n_read_states; i++) {
            *ctx = rd.read_states[i].ctx;
            *index = rd.read_states[i].index;
            n++;
        }
        assert_int_equal(raft_advance(t->r, &rd), 0);
    }
    return n;
}

static raft_msg hb_resp(uint64_t from, uint64_t term, uint64_t context)
{
    raft_msg m = {.type = RAFT_MSG_HEARTBEAT_RESP, .from = from, .to = 1, .term = term};
    m.context = context;
    return m;
}

static void test_read_waits_for_current_term_commit(void **state)
{
    (void)state;
    tnode *t = new_leader(3); /* term 1, no-op at 1 not yet committed */
    uint64_t ctx = 0, index = 0;
    assert_int_equal(raft_read_index(t->r, 42), 0);
    const raft_msg *hb = NULL;
    struct raft_ready rd;
    assert_int_equal(raft_ready(t->r, &rd), 0);
    for (size_t i = 0; i < rd.n_msgs_now; i++)
        if (rd.msgs_now[i].type == RAFT_MSG_HEARTBEAT)
            hb = &rd.msgs_now[i];
    assert_non_null(hb);
    uint64_t seq = hb->context;
    assert_true(seq > 0);
    assert_int_equal(raft_advance(t->r, &rd), 0);
    /* A quorum confirms the leadership, but nothing of term 1 is committed. */
    raft_msg r2 = hb_resp(2, 1, seq);
    assert_int_equal(raft_step(t->r, &r2), 0);
    assert_int_equal(take_reads(t, &ctx, &index), 0);
    /* The no-op commits: now the read goes, at the commit index. */
    raft_msg ack = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 1, .index = 1};
    assert_int_equal(raft_step(t->r, &ack), 0);
    assert_int_equal(take_reads(t, &ctx, &index), 1);
    assert_int_equal(ctx, 42);
    assert_int_equal(index, 1);
    tn_delete(t);
}

static void test_read_needs_heartbeat_quorum_after_request(void **state)
{
    (void)state;
    tnode *t = new_leader(5);
    uint64_t ctx = 0, index = 0;
    for (uint64_t p = 2; p <= 3; p++) {
        raft_msg ack = {.type = RAFT_MSG_APPEND_RESP, .from = p, .to = 1, .term = 1, .index = 1};
        assert_int_equal(raft_step(t->r, &ack), 0);
    }
    assert_int_equal(take_reads(t, &ctx, &index), 0);
    assert_int_equal(tn_status(t).commit, 1);
    assert_int_equal(raft_read_index(t->r, 7), 0);
    assert_int_equal(raft_read_index(t->r, 8), 0);
    assert_int_equal(take_reads(t, &ctx, &index), 0);
    /* Heartbeat answers from before read 7 (context 0) confirm nothing. */
    raft_msg old = hb_resp(2, 1, 0);
    assert_int_equal(raft_step(t->r, &old), 0);
    old.from = 3;
    assert_int_equal(raft_step(t->r, &old), 0);
    assert_int_equal(take_reads(t, &ctx, &index), 0);
    /* Two answers for read 7 (seq 1): with the leader, 3 of 5. */
    raft_msg r = hb_resp(2, 1, 1);
    assert_int_equal(raft_step(t->r, &r), 0);
    assert_int_equal(take_reads(t, &ctx, &index), 0);
    r.from = 4;
    assert_int_equal(raft_step(t->r, &r), 0);
    assert_int_equal(take_reads(t, &ctx, &index), 1);
    assert_int_equal(ctx, 7);
    /* Read 8 needs answers to its own heartbeat (seq 2). */
    r = hb_resp(3, 1, 2);
    assert_int_equal(raft_step(t->r, &r), 0);
    r.from = 5;
    assert_int_equal(raft_step(t->r, &r), 0);
    assert_int_equal(take_reads(t, &ctx, &index), 1);
    assert_int_equal(ctx, 8);
    assert_int_equal(index, 1);
    tn_delete(t);
}

static void test_read_dropped_with_leadership_and_refused_on_followers(void **state)
{
    (void)state;
    tnode *t = new_leader(3);
    uint64_t ctx = 0, index = 0;
    assert_int_equal(raft_read_index(t->r, 9), 0);
    take_reads(t, &ctx, &index);
    raft_msg higher = {.type = RAFT_MSG_HEARTBEAT, .from = 2, .to = 1, .term = 5};
    assert_int_equal(raft_step(t->r, &higher), 0);
    assert_int_equal(tn_status(t).state, RAFT_FOLLOWER);
    assert_int_equal(take_reads(t, &ctx, &index), 0);
    assert_int_equal(raft_read_index(t->r, 10), RAFT_ENOTLEADER);
    tn_delete(t);
}

static void test_read_single_voter_immediate(void **state)
{
    (void)state;
    tnode *t = new_leader(1);
    uint64_t ctx = 0, index = 0;
    assert_int_equal(raft_read_index(t->r, 3), 0);
    assert_int_equal(take_reads(t, &ctx, &index), 1);
    assert_int_equal(ctx, 3);
    assert_int_equal(index, tn_status(t).commit);
    tn_delete(t);
}

static void test_read_pending_bounded(void **state)
{
    (void)state;
    tnode *t = new_leader(3);
    for (uint64_t i = 0; i < RAFT_MAX_PENDING_READS; i++) {
        assert_int_equal(raft_read_index(t->r, i + 1), 0);
        tn_ready(t, 1);
        tn_clear_msgs(t);
    }
    assert_int_equal(raft_read_index(t->r, 999), TARN_EBUSY);
    tn_delete(t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_waits_for_current_term_commit),
        cmocka_unit_test(test_read_needs_heartbeat_quorum_after_request),
        cmocka_unit_test(test_read_dropped_with_leadership_and_refused_on_followers),
        cmocka_unit_test(test_read_single_voter_immediate),
        cmocka_unit_test(test_read_pending_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
