/*
 * Unit tests of each message handler of the consensus core: AppendEntries
 * (log matching, conflict truncation, commit), RequestVote (up-to-date
 * check, one vote per term), pre-vote, heartbeats, the leader's handling of
 * acks and rejections (fast backtracking, flow control), check-quorum,
 * message validation, and raft_open's checks of durable state.
 */
#include "common/test_util.h"

#include "raft_test_util.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

static tnode *follower(uint64_t id, const uint64_t *terms, size_t n, uint64_t term)
{
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, id, 3);
    tn_durable_terms(t, terms, n);
    if (term) {
        t->hs = (raft_hard_state){.term = term};
        t->has_hs = 1;
    }
    tn_open(t);
    return t;
}

static raft_msg append_msg(uint64_t term, uint64_t prev, uint64_t prev_term, raft_entry *e,
                           size_t n, uint64_t commit)
{
    raft_msg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = term, .index = prev};
    m.log_term = prev_term;
    m.entries = e;
    m.n_entries = n;
    m.commit = commit;
    return m;
}

static void test_append_rejects_mismatch_with_hint(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 2};
    tnode *t = follower(2, terms, 3, 3);
    /* prev beyond our log: hint is our last index with term <= 3. */
    raft_msg m = append_msg(3, 5, 3, NULL, 0, 0);
    tn_step(t, &m);
    const raft_msg *r = tn_find(t, RAFT_MSG_APPEND_RESP, 1, 1);
    assert_non_null(r);
    assert_int_equal(r->reject, 1);
    assert_int_equal(r->index, 5);
    assert_int_equal(r->reject_hint, 3);
    assert_int_equal(r->log_term, 2);
    /* prev (3, term 1) conflicts with our (3, term 2): skip all of term 2. */
    tn_clear_msgs(t);
    m = append_msg(3, 3, 1, NULL, 0, 0);
    tn_step(t, &m);
    r = tn_find(t, RAFT_MSG_APPEND_RESP, 1, 1);
    assert_int_equal(r->reject, 1);
    assert_int_equal(r->reject_hint, 2);
    assert_int_equal(r->log_term, 1);
    assert_int_equal(tn_status(t).last_index, 3); /* a reject changes nothing */
    tn_delete(t);
}

static void test_append_truncates_only_from_conflict(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 1, 1};
    tnode *t = follower(2, terms, 4, 2);
    raft_entry e[2] = {{.term = 1, .index = 2}, {.term = 2, .index = 3}};
    raft_msg m = append_msg(2, 1, 1, e, 2, 0);
    tn_step(t, &m);
    assert_int_equal(tn_status(t).last_index, 3);
    assert_int_equal(t->n_log, 3);
    assert_int_equal(t->log[1].term, 1);
    assert_int_equal(t->log[1].len, 1); /* index 2 kept, not rewritten */
    assert_int_equal(t->log[2].term, 2);
    const raft_msg *r = tn_find(t, RAFT_MSG_APPEND_RESP, 1, 1);
    assert_int_equal(r->reject, 0);
    assert_int_equal(r->index, 3);
    tn_delete(t);
}

/* A delayed duplicate of an old append must not cut newer entries. */
static void test_stale_append_keeps_newer_entries(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 1};
    tnode *t = follower(2, terms, 3, 1);
    raft_entry e = {.term = 1, .index = 2};
    raft_msg m = append_msg(1, 1, 1, &e, 1, 0);
    tn_step(t, &m);
    assert_int_equal(tn_status(t).last_index, 3);
    assert_int_equal(tn_find(t, RAFT_MSG_APPEND_RESP, 1, 1)->index, 2);
    tn_delete(t);
}

/* The follower commits min(leader commit, last entry of this append): its
 * entries beyond that may be stale ones of another term. */
static void test_append_commit_capped_by_last_new(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 1};
    tnode *t = follower(2, terms, 3, 1);
    raft_msg m = append_msg(2, 1, 1, NULL, 0, 3);
    tn_step(t, &m);
    assert_int_equal(tn_status(t).commit, 1);
    assert_int_equal(t->hs.commit, 1);
    raft_entry e = {.term = 1, .index = 2};
    m = append_msg(2, 1, 1, &e, 1, 3);
    tn_step(t, &m);
    assert_int_equal(tn_status(t).commit, 2);
    tn_delete(t);
}

/* An append whose prev index is below our commit index is a delayed
 * duplicate: acknowledged at the commit index, and it changes nothing (its
 * entries could only conflict with committed ones if a leader were wrong). */
static void test_append_below_commit_changes_nothing(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 1};
    tnode *t = follower(2, terms, 3, 1);
    raft_msg m = append_msg(1, 3, 1, NULL, 0, 2);
    tn_step(t, &m);
    assert_int_equal(tn_status(t).commit, 2);
    tn_clear_msgs(t);
    raft_entry e = {.term = 2, .index = 2};
    m = append_msg(2, 1, 1, &e, 1, 2);
    tn_step(t, &m);
    assert_int_equal(tn_status(t).last_index, 3);
    assert_int_equal(t->log[1].term, 1);
    const raft_msg *r = tn_find(t, RAFT_MSG_APPEND_RESP, 1, 1);
    assert_int_equal(r->reject, 0);
    assert_int_equal(r->index, 2);
    tn_delete(t);
}

static void test_vote_up_to_date_check(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 2, 2};
    tnode *t = follower(2, terms, 3, 2);
    /* Same last term, shorter log: denied. */
    raft_msg v = {.type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 3, .index = 2};
    v.log_term = 2;
    tn_step(t, &v);
    assert_int_equal(tn_find(t, RAFT_MSG_VOTE_RESP, 1, 1)->reject, 1);
    assert_int_equal(tn_status(t).term, 3); /* the term is adopted anyway */
    assert_int_equal(tn_status(t).vote, 0);
    /* Higher last term, even shorter: granted. */
    v = (raft_msg){.type = RAFT_MSG_VOTE, .from = 3, .to = 2, .term = 3, .index = 1};
    v.log_term = 3;
    tn_step(t, &v);
    assert_int_equal(tn_find(t, RAFT_MSG_VOTE_RESP, 3, 1)->reject, 0);
    assert_int_equal(t->hs.vote, 3);
    tn_delete(t);
}

static void test_one_vote_per_term(void **state)
{
    (void)state;
    tnode *t = follower(2, NULL, 0, 0);
    raft_msg v = {.type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 1};
    tn_step(t, &v);
    v.from = 3;
    tn_step(t, &v);
    assert_int_equal(tn_find(t, RAFT_MSG_VOTE_RESP, 1, 1)->reject, 0);
    assert_int_equal(tn_find(t, RAFT_MSG_VOTE_RESP, 3, 1)->reject, 1);
    /* Asking again (a duplicate) gets the same answer. */
    v.from = 1;
    tn_clear_msgs(t);
    tn_step(t, &v);
    assert_int_equal(tn_find(t, RAFT_MSG_VOTE_RESP, 1, 1)->reject, 0);
    tn_delete(t);
}

/* Pre-vote (Dissertation 9.6) never changes the voter's term or vote, and
 * a node that hears from a leader ignores it (with check-quorum). */
static void test_prevote_changes_nothing_and_respects_lease(void **state)
{
    (void)state;
    tnode *t = follower(2, NULL, 0, 1);
    raft_msg pv = {.type = RAFT_MSG_PREVOTE, .from = 3, .to = 2, .term = 2};
    tn_step(t, &pv);
    const raft_msg *r = tn_find(t, RAFT_MSG_PREVOTE_RESP, 3, 0); /* no fsync needed */
    assert_non_null(r);
    assert_int_equal(r->reject, 0);
    assert_int_equal(r->term, 2);
    assert_int_equal(tn_status(t).term, 1);
    assert_int_equal(tn_status(t).vote, 0);
    tn_delete(t);

    t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, 2, 3);
    t->cfg.check_quorum = 1;
    t->hs = (raft_hard_state){.term = 1};
    t->has_hs = 1;
    tn_open(t);
    raft_msg hb = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 1};
    tn_step(t, &hb);
    tn_clear_msgs(t);
    tn_step(t, &pv);
    raft_msg v = {.type = RAFT_MSG_VOTE, .from = 3, .to = 2, .term = 2};
    tn_step(t, &v);
    assert_int_equal(t->n_now + t->n_after, 0); /* both ignored in the lease */
    assert_int_equal(tn_status(t).term, 1);
    tn_delete(t);
}

static void test_heartbeat_commit_capped_by_log(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1};
    tnode *t = follower(2, terms, 2, 1);
    raft_msg hb = {.type = RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 1, .commit = 9};
    tn_step(t, &hb);
    assert_int_equal(tn_status(t).commit, 2);
    assert_int_equal(tn_status(t).lead, 1);
    assert_non_null(tn_find(t, RAFT_MSG_HEARTBEAT_RESP, 1, 1));
    tn_delete(t);
}

static tnode *leader_with_log(const uint64_t *terms, size_t n, uint64_t term)
{
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, 1, 3);
    tn_durable_terms(t, terms, n);
    t->hs = (raft_hard_state){.term = term};
    t->has_hs = 1;
    t->cfg.max_inflight = 2;
    t->cfg.max_msg_bytes = 1; /* one entry per append */
    tn_open(t);
    tn_elect(t);
    tn_clear_msgs(t);
    return t;
}

/* Fast backtracking: the follower's (hint, term) lets the leader skip a
 * whole term of mismatching entries in one round trip. */
static void test_reject_backtracks_by_conflict_term(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 2, 2, 2, 4, 4};
    tnode *t = leader_with_log(terms, 7, 4); /* leads term 5, no-op at 8 */
    /* Follower 2 has 1..6 all of term 3 after index 2: its hint is (6, 3). */
    raft_msg rej = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 5, .reject = 1};
    rej.index = 7;
    rej.reject_hint = 6;
    rej.log_term = 3;
    tn_step(t, &rej);
    const raft_msg *app = tn_find(t, RAFT_MSG_APPEND, 2, 0);
    assert_non_null(app);
    assert_int_equal(app->index, 5); /* our last entry of term <= 3 */
    assert_int_equal(app->log_term, 2);
    /* A duplicate of the same rejection is stale now and ignored. */
    tn_clear_msgs(t);
    tn_step(t, &rej);
    assert_null(tn_find(t, RAFT_MSG_APPEND, 2, 0));
    tn_delete(t);
}

/* Flow control: in replicate state at most max_inflight batches go out
 * until acks come back; an ack frees room for more. */
static void test_inflight_batches_bounded(void **state)
{
    (void)state;
    uint64_t terms[] = {1};
    tnode *t = leader_with_log(terms, 1, 1); /* leads term 2, no-op at 2 */
    raft_msg ack = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2, .index = 2};
    tn_step(t, &ack); /* probe -> replicate */
    tn_clear_msgs(t);
    uint8_t b = 7;
    for (int i = 0; i < 5; i++)
        assert_int_equal(raft_propose(t->r, &b, 1, NULL, NULL), 0);
    tn_ready(t, 1);
    assert_int_equal(tn_count(t, RAFT_MSG_APPEND, 2, 0), 2);
    tn_clear_msgs(t);
    ack.index = 3;
    tn_step(t, &ack);
    assert_int_equal(tn_count(t, RAFT_MSG_APPEND, 2, 0), 1);
    assert_int_equal(tn_find(t, RAFT_MSG_APPEND, 2, 0)->index, 4);
    /* Node 3 is still probing: one append outstanding at a time. */
    assert_int_equal(tn_count(t, RAFT_MSG_APPEND, 3, 0), 0);
    tn_delete(t);
}

/* A full pipeline whose appends were all lost must not stall: a heartbeat
 * answer frees one slot, the next append is rejected, and the leader falls
 * back to probing from the follower's hint. */
static void test_lost_appends_do_not_stall_pipeline(void **state)
{
    (void)state;
    uint64_t terms[] = {1};
    tnode *t = leader_with_log(terms, 1, 1); /* term 2, no-op at 2, max_inflight 2 */
    raft_msg ack = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2, .index = 2};
    tn_step(t, &ack); /* replicate */
    uint8_t b = 1;
    for (int i = 0; i < 4; i++)
        assert_int_equal(raft_propose(t->r, &b, 1, NULL, NULL), 0);
    tn_ready(t, 1);
    tn_clear_msgs(t); /* the two appends in flight are lost */
    raft_msg hb = {.type = RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 2};
    tn_step(t, &hb);
    const raft_msg *app = tn_find(t, RAFT_MSG_APPEND, 2, 0);
    assert_non_null(app);
    assert_int_equal(app->index, 4); /* the third batch */
    raft_msg rej = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2, .reject = 1};
    rej.index = 4;
    rej.reject_hint = 2;
    rej.log_term = 2;
    tn_clear_msgs(t);
    tn_step(t, &rej);
    app = tn_find(t, RAFT_MSG_APPEND, 2, 0);
    assert_non_null(app);
    assert_int_equal(app->index, 2); /* resend from after the match */
    tn_delete(t);
}

static void test_leader_commits_with_quorum_and_steps_down_on_higher_term(void **state)
{
    (void)state;
    tnode *t = leader_with_log(NULL, 0, 0); /* term 1, no-op at 1 */
    raft_msg ack = {.type = RAFT_MSG_APPEND_RESP, .from = 3, .to = 1, .term = 1, .index = 1};
    tn_step(t, &ack);
    assert_int_equal(tn_status(t).commit, 1);
    assert_int_equal(t->n_committed, 1);
    /* An ack of entries we never had breaks the protocol: dropped. */
    ack.index = 5;
    assert_int_equal(raft_step(t->r, &ack), TARN_ECORRUPT);
    assert_int_equal(tn_status(t).failed, 0);
    raft_msg two = {.type = RAFT_MSG_HEARTBEAT, .from = 2, .to = 1, .term = 1};
    assert_int_equal(raft_step(t->r, &two), TARN_ECORRUPT); /* a second leader */
    assert_int_equal(tn_status(t).state, RAFT_LEADER);
    raft_msg hi = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 7};
    tn_step(t, &hi);
    assert_int_equal(tn_status(t).state, RAFT_FOLLOWER);
    assert_int_equal(tn_status(t).term, 7);
    assert_int_equal(t->hs.term, 7);
    tn_delete(t);
}

/* Dissertation 6.2: a leader cut off from its quorum steps down after an
 * election timeout, so clients stop waiting on it. */
static void test_check_quorum_steps_down(void **state)
{
    (void)state;
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, 1, 3);
    t->cfg.check_quorum = 1;
    tn_open(t);
    tn_elect(t);
    for (uint32_t i = 0; i < t->cfg.election_ticks; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_int_equal(tn_status(t).state, RAFT_FOLLOWER);
    tn_delete(t);
}

static void test_malformed_messages_rejected(void **state)
{
    (void)state;
    tnode *t = follower(2, NULL, 0, 0);
    raft_msg m = append_msg(1, 0, 0, NULL, 0, 0);
    m.to = 3;
    assert_int_equal(raft_step(t->r, &m), TARN_EINVAL); /* not for us */
    m = append_msg(1, 0, 0, NULL, 0, 0);
    m.from = 0;
    assert_int_equal(raft_step(t->r, &m), TARN_EINVAL); /* nobody */
    m.from = 2;
    assert_int_equal(raft_step(t->r, &m), TARN_EINVAL); /* ourselves */
    raft_entry e[2] = {{.term = 1, .index = 1}, {.term = 1, .index = 3}};
    m = append_msg(1, 0, 0, e, 2, 0);
    assert_int_equal(raft_step(t->r, &m), TARN_EINVAL); /* not contiguous */
    e[1].index = 2;
    e[1].term = 2;
    assert_int_equal(raft_step(t->r, &m), TARN_EINVAL); /* entry term > msg term */
    e[1].term = 1;
    e[1].len = 4;
    assert_int_equal(raft_step(t->r, &m), TARN_EINVAL); /* len without data */
    m = append_msg(0, 0, 0, NULL, 0, 0);
    assert_int_equal(raft_step(t->r, &m), TARN_EINVAL); /* term 0 */
    m.type = 99;
    m.term = 1;
    assert_int_equal(raft_step(t->r, &m), TARN_EINVAL);
    raft_status st = tn_status(t);
    assert_int_equal(st.term, 0);
    assert_int_equal(st.failed, 0);
    tn_delete(t);
}

static int empty_entry(void *ctx, uint64_t index, raft_entry *out)
{
    (void)ctx;
    *out = (raft_entry){.term = 1, .index = index};
    return 0;
}

static void test_open_rejects_inconsistent_state(void **state)
{
    (void)state;
    uint64_t voters[] = {1, 2, 3};
    raft_config cfg;
    raft_config_init(&cfg);
    cfg.id = 1;
    cfg.voters = voters;
    cfg.n_voters = 3;
    raft_log_view view = {.first_index = 1, .last_index = 2, .entry = empty_entry};
    raft_hard_state hs = {.term = 1, .commit = 3};
    raft *r = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(raft_open(&cfg, &hs, &view, &r, &err), TARN_ECORRUPT);
    assert_null(r);
    hs.commit = 2;
    cfg.applied = 5;
    assert_int_equal(raft_open(&cfg, &hs, &view, &r, &err), TARN_ECORRUPT);
    cfg.applied = 0;
    voters[2] = 1;
    assert_int_equal(raft_open(&cfg, &hs, &view, &r, &err), TARN_EINVAL); /* duplicate voter */
    voters[2] = 3;
    assert_int_equal(raft_open(&cfg, &hs, &view, &r, &err), 0);
    raft_close(r);
}

typedef struct oom_ctx {
    raft *r;
} oom_ctx;

/* A crash between persisting a Ready's entries and its hard state: the log
 * has entries of a term the hard state never reached. The node takes that
 * term with no vote (simulator seed 51 found this). */
static void test_open_after_entries_without_hard_state(void **state)
{
    (void)state;
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, 2, 3);
    uint64_t terms[] = {1, 3};
    tn_durable_terms(t, terms, 2);
    t->hs = (raft_hard_state){.term = 2, .vote = 3, .commit = 1};
    t->has_hs = 1;
    tn_open(t);
    raft_status st = tn_status(t);
    assert_int_equal(st.term, 3);
    assert_int_equal(st.vote, 0);
    assert_int_equal(st.commit, 1);
    /* It may now vote in term 3 (its earlier vote there never left). */
    raft_msg v = {.type = RAFT_MSG_VOTE, .from = 1, .to = 2, .term = 3, .index = 2, .log_term = 3};
    tn_step(t, &v);
    assert_int_equal(tn_find(t, RAFT_MSG_VOTE_RESP, 1, 1)->reject, 0);
    assert_int_equal(t->hs.term, 3);
    assert_int_equal(t->hs.vote, 1);
    tn_close(t);
    free(t);
}

static int oom_open_and_elect(void *arg)
{
    oom_ctx *c = arg;
    uint64_t voters[] = {1};
    raft_config cfg;
    raft_config_init(&cfg);
    cfg.id = 1;
    cfg.voters = voters;
    cfg.n_voters = 1;
    raft_log_view view = {.first_index = 1, .last_index = 3, .entry = empty_entry};
    int rc = raft_open(&cfg, NULL, &view, &c->r, NULL);
    for (int i = 0; rc == 0 && i < 30; i++)
        rc = raft_tick(c->r);
    if (rc == 0 && raft_propose(c->r, "abc", 3, NULL, NULL) != 0)
        rc = TARN_ENOMEM;
    if (rc != 0) {
        raft_close(c->r);
        c->r = NULL;
    }
    return rc;
}

static void oom_cleanup(void *arg)
{
    oom_ctx *c = arg;
    raft_close(c->r);
    c->r = NULL;
}

/* Out of memory anywhere in open, campaign or propose is an error and
 * leaks nothing (raft_close frees a failed handle). */
static void test_oom_is_an_error(void **state)
{
    (void)state;
    oom_ctx c = {0};
    assert_true(tarn_test_oom_loop(oom_open_and_elect, oom_cleanup, &c, 200) >= 3);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_rejects_mismatch_with_hint),
        cmocka_unit_test(test_append_truncates_only_from_conflict),
        cmocka_unit_test(test_stale_append_keeps_newer_entries),
        cmocka_unit_test(test_append_commit_capped_by_last_new),
        cmocka_unit_test(test_append_below_commit_changes_nothing),
        cmocka_unit_test(test_vote_up_to_date_check),
        cmocka_unit_test(test_one_vote_per_term),
        cmocka_unit_test(test_prevote_changes_nothing_and_respects_lease),
        cmocka_unit_test(test_heartbeat_commit_capped_by_log),
        cmocka_unit_test(test_reject_backtracks_by_conflict_term),
        cmocka_unit_test(test_inflight_batches_bounded),
        cmocka_unit_test(test_lost_appends_do_not_stall_pipeline),
        cmocka_unit_test(test_leader_commits_with_quorum_and_steps_down_on_higher_term),
        cmocka_unit_test(test_check_quorum_steps_down),
        cmocka_unit_test(test_malformed_messages_rejected),
        cmocka_unit_test(test_open_rejects_inconsistent_state),
        cmocka_unit_test(test_open_after_entries_without_hard_state),
        cmocka_unit_test(test_oom_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
