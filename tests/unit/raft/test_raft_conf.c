/*
 * Single-server membership changes (Dissertation 4.1-4.3): a learner gets
 * entries but neither votes nor counts; promote and remove change the
 * quorum the moment the entry is appended; one change at a time, and none
 * before the leader committed in its term; a leader that removes itself
 * steps down once the removal commits; a truncated change reverts; the
 * configuration survives restart (log and snapshot); bad changes and bad
 * configuration records are refused.
 */
#include "common/test_util.h"

#include "raft_test_util.h"

#include <stdlib.h>
#include <string.h>

/* Leader 1 of voters 1..n with its no-op (index 1) committed. */
static tnode *leader(size_t n_voters)
{
    tnode *t = tn_new(1, n_voters);
    tn_elect(t);
    tn_ack(t, 2, 1);
    assert_int_equal(tn_status(t).commit, 1);
    tn_clear_msgs(t);
    return t;
}

static int change(tnode *t, uint32_t type, uint64_t node, uint64_t *index)
{
    raft_conf_change cc = {.type = type, .node = node};
    int rc = raft_propose_conf_change(t->r, &cc, index, NULL);
    if (rc == 0)
        tn_ready(t, 1);
    return rc;
}

static raft_conf_state conf_of(const tnode *t)
{
    raft_conf_state c;
    raft_get_conf(t->r, &c);
    return c;
}

/* A RAFT_ENTRY_CONF entry at (index, term): voters 1..n_voters plus the
 * given learner (0: none). */
static raft_entry conf_entry(uint64_t index, uint64_t term, uint32_t n_voters, uint64_t learner,
                             uint8_t *buf)
{
    raft_conf_state c;
    memset(&c, 0, sizeof(c));
    for (uint32_t i = 0; i < n_voters; i++)
        c.voters[c.n_voters++] = i + 1;
    if (learner)
        c.learners[c.n_learners++] = learner;
    raft_conf_change cc = {.type = learner ? RAFT_CONF_ADD_LEARNER : RAFT_CONF_PROMOTE};
    cc.node = learner ? learner : n_voters;
    raft_entry e = {.term = term, .index = index, .type = RAFT_ENTRY_CONF, .data = buf};
    e.len = (uint32_t)raft_conf_encode(&c, &cc, buf);
    return e;
}

static void test_learner_gets_entries_but_never_counts(void **state)
{
    (void)state;
    tnode *t = leader(3);
    uint64_t idx = 0;
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 4, &idx), 0);
    assert_int_equal(idx, 2);
    /* In force as soon as it is in the leader's log, before it commits. */
    raft_conf_state c = conf_of(t);
    assert_int_equal(c.n_voters, 3);
    assert_int_equal(c.n_learners, 1);
    assert_int_equal(c.learners[0], 4);
    assert_int_equal(tn_status(t).commit, 1);
    const raft_msg *app = tn_find(t, RAFT_MSG_APPEND, 4, 0);
    assert_non_null(app); /* the learner is probed with the entry that adds it */
    assert_int_equal(app->n_entries, 1);
    assert_int_equal(app->entries[0].type, RAFT_ENTRY_CONF);
    tn_ack(t, 4, 2);
    assert_int_equal(tn_status(t).commit, 1); /* a learner's ack does not count */
    tn_ack(t, 3, 2);
    assert_int_equal(tn_status(t).commit, 2);
    /* Heartbeats reach it; its answers confirm no read. */
    assert_int_equal(raft_transfer_leader(t->r, 4), TARN_EINVAL); /* not a voter */
    tn_delete(t);
}

static void test_one_change_at_a_time(void **state)
{
    (void)state;
    tnode *t = leader(3);
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 4, NULL), 0);
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 5, NULL), TARN_EBUSY);
    assert_int_equal(change(t, RAFT_CONF_PROMOTE, 4, NULL), TARN_EBUSY);
    tn_ack(t, 2, 2);
    assert_int_equal(change(t, RAFT_CONF_PROMOTE, 4, NULL), 0);
    tn_delete(t);
}

/* The 2015 fix: a new leader may hold an uncommitted change of an earlier
 * term; it must commit in its own term before proposing one. */
static void test_no_change_before_leader_commits_in_term(void **state)
{
    (void)state;
    tnode *t = tn_new(1, 3);
    tn_elect(t);
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 4, NULL), TARN_EBUSY);
    tn_ack(t, 2, 1);
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 4, NULL), 0);
    tn_delete(t);
}

static void test_promote_changes_quorum_when_appended(void **state)
{
    (void)state;
    tnode *t = leader(3);
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 4, NULL), 0);
    tn_ack(t, 2, 2);
    uint64_t idx = 0;
    assert_int_equal(change(t, RAFT_CONF_PROMOTE, 4, &idx), 0);
    assert_int_equal(idx, 3);
    raft_conf_state c = conf_of(t);
    assert_int_equal(c.n_voters, 4);
    assert_int_equal(c.n_learners, 0);
    tn_ack(t, 2, 3); /* leader + 2 = 2 of 4: not a majority any more */
    assert_int_equal(tn_status(t).commit, 2);
    tn_ack(t, 4, 3); /* the promoted node counts at once */
    assert_int_equal(tn_status(t).commit, 3);
    tn_delete(t);
}

static void test_removed_leader_steps_down_after_commit(void **state)
{
    (void)state;
    tnode *t = leader(3);
    assert_int_equal(change(t, RAFT_CONF_REMOVE, 1, NULL), 0);
    raft_status st = tn_status(t);
    assert_int_equal(st.state, RAFT_LEADER); /* still manages the change (4.2.2) */
    assert_false(st.is_voter);
    tn_ack(t, 2, 2); /* the leader does not count itself: 1 of {2, 3} */
    assert_int_equal(tn_status(t).commit, 1);
    assert_int_equal(tn_status(t).state, RAFT_LEADER);
    tn_ack(t, 3, 2);
    st = tn_status(t);
    assert_int_equal(st.commit, 2);
    assert_int_equal(st.state, RAFT_FOLLOWER);
    /* A non-member never campaigns. */
    tn_clear_msgs(t);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_int_equal(tn_count(t, RAFT_MSG_VOTE, 0, 1) + tn_count(t, RAFT_MSG_PREVOTE, 0, 0), 0);
    assert_int_equal(tn_status(t).state, RAFT_FOLLOWER);
    tn_delete(t);
}

/* A node opened with the bootstrap list but not in it (joining) accepts its
 * leader, becomes a learner with the entry that adds it, never campaigns as
 * one, and campaigns once promoted. */
static void test_joining_node_learns_then_votes(void **state)
{
    (void)state;
    tnode *t = tn_new(4, 3);
    for (int i = 0; i < 50; i++)
        assert_int_equal(raft_tick(t->r), 0);
    assert_false(raft_has_ready(t->r)); /* not a member: silent */
    uint8_t b1[RAFT_CONF_ENCODED_BYTES_MAX], b2[RAFT_CONF_ENCODED_BYTES_MAX];
    raft_entry e[3] = {{.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
                       conf_entry(2, 1, 3, 4, b1)};
    raft_msg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 4, .term = 1, .entries = e};
    m.n_entries = 2;
    m.commit = 2;
    tn_step(t, &m);
    assert_non_null(tn_find(t, RAFT_MSG_APPEND_RESP, 1, 1));
    raft_conf_state c = conf_of(t);
    assert_int_equal(c.n_learners, 1);
    assert_false(tn_status(t).is_voter);
    tn_clear_msgs(t);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_int_equal(tn_status(t).state, RAFT_FOLLOWER);
    e[2] = conf_entry(3, 1, 4, 0, b2); /* promoted: voters 1..4 */
    m.entries = &e[2];
    m.n_entries = 1;
    m.index = 2;
    m.log_term = 1;
    tn_step(t, &m);
    assert_true(tn_status(t).is_voter);
    for (int i = 0; i < 50 && tn_status(t).state == RAFT_FOLLOWER; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_int_equal(tn_status(t).state, RAFT_CANDIDATE);
    assert_int_equal(tn_count(t, RAFT_MSG_VOTE, 0, 1), 3); /* to the three other voters */
    tn_delete(t);
}

/* Dissertation 4.1: a configuration entry that is overwritten takes its
 * configuration with it. */
static void test_truncated_change_reverts(void **state)
{
    (void)state;
    tnode *t = tn_new(2, 3);
    uint8_t buf[RAFT_CONF_ENCODED_BYTES_MAX];
    raft_entry e[2] = {{.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
                       conf_entry(2, 1, 3, 4, buf)};
    raft_msg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1, .entries = e};
    m.n_entries = 2;
    tn_step(t, &m);
    assert_int_equal(conf_of(t).n_learners, 1);
    raft_entry f = {.term = 2, .index = 2, .type = RAFT_ENTRY_NOOP};
    raft_msg m2 = {.type = RAFT_MSG_APPEND, .from = 3, .to = 2, .term = 2, .index = 1};
    m2.log_term = 1;
    m2.entries = &f;
    m2.n_entries = 1;
    tn_step(t, &m2);
    assert_int_equal(tn_status(t).last_index, 2);
    assert_int_equal(conf_of(t).n_learners, 0);
    tn_delete(t);
}

static void test_conf_survives_restart(void **state)
{
    (void)state;
    tnode *t = leader(3);
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 4, NULL), 0);
    tn_ack(t, 2, 2);
    assert_int_equal(change(t, RAFT_CONF_PROMOTE, 4, NULL), 0);
    tn_restart(t); /* from the durable log */
    raft_conf_state c = conf_of(t);
    assert_int_equal(c.n_voters, 4);
    assert_int_equal(c.voters[3], 4);
    tn_delete(t);

    /* From a snapshot: its configuration rules until the log says more. */
    raft_conf_state snap;
    memset(&snap, 0, sizeof(snap));
    snap.voters[0] = 1;
    snap.voters[1] = 2;
    snap.voters[2] = 5;
    snap.n_voters = 3;
    snap.learners[0] = 7;
    snap.n_learners = 1;
    uint64_t boot[] = {1, 2, 3};
    raft_config cfg;
    raft_config_init(&cfg);
    cfg.id = 5;
    cfg.voters = boot;
    cfg.n_voters = 3;
    cfg.applied = 9;
    raft_log_view view = {.snapshot_index = 9, .snapshot_term = 2, .first_index = 10};
    view.last_index = 9;
    view.snapshot_conf = &snap;
    raft_hard_state hs = {.term = 2, .commit = 9};
    raft *r = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(raft_open(&cfg, &hs, &view, &r, &err), 0);
    raft_get_conf(r, &c);
    assert_memory_equal(&c, &snap, sizeof(c));
    raft_status st;
    raft_get_status(r, &st);
    assert_true(st.is_voter);
    raft_close(r);
    snap.learners[0] = 2; /* a voter and a learner at once */
    assert_int_equal(raft_open(&cfg, &hs, &view, &r, &err), TARN_ECORRUPT);
}

static int bad_conf_entry(void *ctx, uint64_t index, raft_entry *out)
{
    static uint8_t junk[5] = {1, 2, 3, 4, 5};
    (void)ctx;
    *out = (raft_entry){.term = 1, .index = index, .type = RAFT_ENTRY_CONF, .len = 5};
    out->data = junk;
    return 0;
}

static void test_bad_changes_refused(void **state)
{
    (void)state;
    tnode *t = leader(3);
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 2, NULL), TARN_EINVAL); /* a voter */
    assert_int_equal(change(t, RAFT_CONF_PROMOTE, 4, NULL), TARN_EINVAL);     /* not a learner */
    assert_int_equal(change(t, RAFT_CONF_REMOVE, 9, NULL), TARN_EINVAL);      /* not a member */
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 0, NULL), TARN_EINVAL); /* nobody */
    assert_int_equal(change(t, 77, 4, NULL), TARN_EINVAL);
    tn_delete(t);
    t = tn_new(1, 1);
    while (tn_status(t).state != RAFT_LEADER) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_int_equal(change(t, RAFT_CONF_REMOVE, 1, NULL), TARN_EINVAL); /* the last voter */
    tn_delete(t);
    t = tn_new(2, 3);
    assert_int_equal(change(t, RAFT_CONF_ADD_LEARNER, 4, NULL), RAFT_ENOTLEADER);
    /* A malformed configuration record from a peer or the disk. */
    uint8_t junk[5] = {1, 0, 3, 0, 0};
    raft_entry e = {.term = 1, .index = 1, .type = RAFT_ENTRY_CONF, .len = 5, .data = junk};
    raft_msg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1, .entries = &e};
    m.n_entries = 1;
    assert_int_equal(raft_step(t->r, &m), TARN_EINVAL);
    assert_int_equal(raft_conf_decode(junk, 5, NULL, NULL), TARN_ECORRUPT);
    tn_delete(t);
    uint64_t boot[] = {1, 2, 3};
    raft_config cfg;
    raft_config_init(&cfg);
    cfg.id = 1;
    cfg.voters = boot;
    cfg.n_voters = 3;
    raft_log_view view = {.first_index = 1, .last_index = 1, .entry = bad_conf_entry};
    raft *r = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(raft_open(&cfg, NULL, &view, &r, &err), TARN_ECORRUPT);
    assert_null(r);
}

/* Found by the simulator (raft_sim --lease-unsafe --seed 30): leader 4
 * appended its own removal and lost leadership before committing it; its
 * log is the only one the old configuration's majority can elect. It must
 * campaign (counting votes of the new configuration, not its own), finish
 * the change, and step down; before the fix it stayed silent and the
 * cluster had no electable node while a majority of both configurations
 * was up. Once it knows the removal committed it never campaigns. */
static void test_removed_node_finishes_uncommitted_removal(void **state)
{
    (void)state;
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, 4, 4);
    uint8_t buf[RAFT_CONF_ENCODED_BYTES_MAX];
    raft_entry e[2] = {{.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
                       conf_entry(2, 1, 3, 0, buf)}; /* voters 1..3: 4 removed */
    raft_msg m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 4, .term = 1, .entries = e};
    m.n_entries = 2;
    m.commit = 1;
    tn_open(t);
    tn_step(t, &m);
    assert_false(tn_status(t).is_voter);
    tn_clear_msgs(t);
    for (int i = 0; i < 100 && tn_status(t).state == RAFT_FOLLOWER; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_int_equal(tn_status(t).state, RAFT_CANDIDATE);
    assert_int_equal(tn_count(t, RAFT_MSG_VOTE, 0, 1), 3);
    uint64_t term = tn_status(t).term;
    raft_msg g = {.type = RAFT_MSG_VOTE_RESP, .from = 2, .to = 4, .term = term};
    tn_step(t, &g);
    assert_int_equal(tn_status(t).state, RAFT_CANDIDATE); /* its own vote does not count */
    g.from = 3;
    tn_step(t, &g);
    assert_int_equal(tn_status(t).state, RAFT_LEADER);
    tn_ack(t, 2, 3);
    tn_ack(t, 3, 3);
    raft_status st = tn_status(t);
    assert_int_equal(st.commit, 3);
    assert_int_equal(st.state, RAFT_FOLLOWER); /* done: steps down for good */
    tn_clear_msgs(t);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
    }
    assert_int_equal(tn_count(t, RAFT_MSG_VOTE, 0, 1), 0);
    tn_delete(t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learner_gets_entries_but_never_counts),
        cmocka_unit_test(test_one_change_at_a_time),
        cmocka_unit_test(test_no_change_before_leader_commits_in_term),
        cmocka_unit_test(test_promote_changes_quorum_when_appended),
        cmocka_unit_test(test_removed_leader_steps_down_after_commit),
        cmocka_unit_test(test_joining_node_learns_then_votes),
        cmocka_unit_test(test_truncated_change_reverts),
        cmocka_unit_test(test_conf_survives_restart),
        cmocka_unit_test(test_bad_changes_refused),
        cmocka_unit_test(test_removed_node_finishes_uncommitted_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
