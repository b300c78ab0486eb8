/*
 * Snapshots (Dissertation 5.1): compaction, the leader sending a snapshot
 * to a follower that needs compacted entries, the follower installing it
 * (or only moving its commit index when it already holds that point), and
 * reopening from a snapshot plus a log suffix.
 */
#include "common/test_util.h"

#include "raft_test_util.h"

#include <stdlib.h>

static tnode *tn_from_disk(uint64_t id, const uint64_t *terms, size_t n, raft_hard_state hs)
{
    tnode *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tn_config(t, id, 3);
    tn_durable_terms(t, terms, n);
    t->hs = hs;
    t->has_hs = 1;
    t->applied = hs.commit;
    tn_open(t);
    return t;
}

static void test_leader_sends_snapshot_when_entries_compacted(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 1, 1, 1};
    tnode *t = tn_from_disk(1, terms, 5, (raft_hard_state){.term = 1, .commit = 5});
    tn_elect(t);                                          /* term 2, no-op at 6 */
    assert_int_equal(raft_compact(t->r, 6), TARN_EINVAL); /* not applied yet */
    assert_int_equal(raft_compact(t->r, 5), 0);
    assert_int_equal(tn_status(t).snapshot_index, 5);
    tn_clear_msgs(t);
    /* Follower 2 has nothing: it rejects prev 5 with hint 0. */
    raft_msg rej = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2, .reject = 1};
    rej.index = 5;
    tn_step(t, &rej);
    const raft_msg *sn = tn_find(t, RAFT_MSG_SNAPSHOT, 2, 0);
    assert_non_null(sn);
    assert_int_equal(sn->index, 5);
    assert_int_equal(sn->log_term, 1);
    /* Once installed and acked, replication continues after it. */
    tn_clear_msgs(t);
    raft_msg ack = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2, .index = 5};
    tn_step(t, &ack);
    const raft_msg *app = tn_find(t, RAFT_MSG_APPEND, 2, 0);
    assert_non_null(app);
    assert_int_equal(app->index, 5);
    assert_int_equal(app->log_term, 1);
    assert_int_equal(app->n_entries, 1);
    tn_delete(t);
}

static void test_follower_installs_snapshot(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1};
    tnode *t = tn_from_disk(2, terms, 2, (raft_hard_state){.term = 2});
    raft_entry ce;
    uint8_t cbuf[RAFT_CONF_ENCODED_BYTES_MAX];
    raft_msg sn = tn_snapshot_msg(1, 2, 2, 5, 2, 3, &ce, cbuf);
    assert_int_equal(raft_step(t->r, &sn), 0);
    struct raft_ready rd;
    assert_int_equal(raft_ready(t->r, &rd), 0);
    assert_true(rd.has_snapshot);
    assert_int_equal(rd.snapshot.index, 5);
    assert_int_equal(rd.snapshot.term, 2);
    assert_int_equal(rd.n_entries, 0);
    assert_int_equal(rd.n_committed, 0); /* the snapshot applies 1..5 */
    assert_int_equal(rd.hard_state.commit, 5);
    assert_int_equal(rd.n_msgs_now, 0);
    assert_int_equal(rd.n_msgs_after_persist, 1); /* the ack waits */
    assert_int_equal(rd.msgs_after_persist[0].index, 5);
    assert_int_equal(raft_advance(t->r, &rd), 0);
    raft_status st = tn_status(t);
    assert_int_equal(st.last_index, 5);
    assert_int_equal(st.snapshot_index, 5);
    assert_int_equal(st.applied, 5);
    /* The log continues right after the snapshot. */
    raft_entry e = {.term = 2, .index = 6};
    raft_msg app = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 2, .index = 5};
    app.log_term = 2;
    app.entries = &e;
    app.n_entries = 1;
    app.commit = 6;
    assert_int_equal(raft_step(t->r, &app), 0);
    assert_int_equal(raft_ready(t->r, &rd), 0);
    assert_false(rd.has_snapshot);
    assert_int_equal(rd.n_entries, 1);
    assert_int_equal(rd.n_committed, 1);
    assert_int_equal(rd.committed[0].index, 6);
    assert_int_equal(raft_advance(t->r, &rd), 0);
    tn_delete(t);
}

/* A snapshot at a point our log already matches only moves the commit
 * index: nothing is dropped, nothing to install. */
static void test_snapshot_already_held_moves_commit_only(void **state)
{
    (void)state;
    uint64_t terms[] = {1, 1, 1};
    tnode *t = tn_from_disk(2, terms, 3, (raft_hard_state){.term = 1});
    raft_entry ce;
    uint8_t cbuf[RAFT_CONF_ENCODED_BYTES_MAX];
    raft_msg sn = tn_snapshot_msg(1, 2, 1, 2, 1, 3, &ce, cbuf);
    assert_int_equal(raft_step(t->r, &sn), 0);
    struct raft_ready rd;
    assert_int_equal(raft_ready(t->r, &rd), 0);
    assert_false(rd.has_snapshot);
    assert_int_equal(rd.n_committed, 2);
    assert_int_equal(raft_advance(t->r, &rd), 0);
    assert_int_equal(tn_status(t).last_index, 3);
    assert_int_equal(tn_status(t).commit, 2);
    /* And a snapshot below the commit index is just acknowledged. */
    sn.index = 1;
    tn_step(t, &sn);
    assert_int_equal(tn_find(t, RAFT_MSG_APPEND_RESP, 1, 1)->index, 2);
    tn_delete(t);
}

static int entry_at(void *ctx, uint64_t index, raft_entry *out)
{
    (void)ctx;
    *out = (raft_entry){.term = 3, .index = index};
    return 0;
}

static void test_open_from_snapshot_and_suffix(void **state)
{
    (void)state;
    uint64_t voters[] = {1, 2, 3};
    raft_config cfg;
    raft_config_init(&cfg);
    cfg.id = 1;
    cfg.voters = voters;
    cfg.n_voters = 3;
    raft_log_view view = {.snapshot_index = 3,
                          .snapshot_term = 2,
                          .first_index = 4,
                          .last_index = 5,
                          .entry = entry_at};
    raft_hard_state hs = {.term = 3, .commit = 4};
    raft *r = NULL;
    assert_int_equal(raft_open(&cfg, &hs, &view, &r, NULL), 0);
    raft_status st;
    raft_get_status(r, &st);
    assert_int_equal(st.snapshot_index, 3);
    assert_int_equal(st.applied, 3); /* the snapshot is the applied state */
    assert_int_equal(st.last_index, 5);
    const raft_entry *e;
    assert_int_equal(raft_log_entry(r, 3, &e), TARN_ENOENT);
    assert_int_equal(raft_log_entry(r, 4, &e), 0);
    struct raft_ready rd;
    assert_int_equal(raft_ready(r, &rd), 0);
    assert_int_equal(rd.n_committed, 1); /* 4, after the snapshot */
    assert_int_equal(rd.committed[0].index, 4);
    assert_int_equal(raft_advance(r, &rd), 0);
    raft_close(r);
    view.first_index = 5; /* a gap after the snapshot */
    assert_int_equal(raft_open(&cfg, &hs, &view, &r, NULL), TARN_ECORRUPT);
    view.first_index = 4;
    view.snapshot_term = 0;
    assert_int_equal(raft_open(&cfg, &hs, &view, &r, NULL), TARN_ECORRUPT);
}

/* Leader 1 (term 2) with its log compacted to 5 and follower 2 just sent
 * a snapshot (progress SNAPSHOT). */
static tnode *leader_sending_snapshot(void)
{
    uint64_t terms[] = {1, 1, 1, 1, 1};
    tnode *t = tn_from_disk(1, terms, 5, (raft_hard_state){.term = 1, .commit = 5});
    tn_elect(t);
    assert_int_equal(raft_compact(t->r, 5), 0);
    tn_clear_msgs(t);
    raft_msg rej = {.type = RAFT_MSG_APPEND_RESP, .from = 2, .to = 1, .term = 2, .reject = 1};
    rej.index = 5;
    tn_step(t, &rej);
    const raft_msg *sn = tn_find(t, RAFT_MSG_SNAPSHOT, 2, 0);
    assert_non_null(sn);
    /* The configuration at the snapshot's index rides along. */
    assert_int_equal(sn->n_entries, 1);
    raft_conf_state c;
    assert_int_equal(raft_conf_decode(sn->entries[0].data, sn->entries[0].len, NULL, &c), 0);
    assert_int_equal(c.n_voters, 3);
    tn_clear_msgs(t);
    return t;
}

static void hb_resp_from_2(tnode *t)
{
    raft_msg hb = {.type = RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 2};
    tn_step(t, &hb);
}

/* While the host streams a snapshot the leader sends that follower nothing
 * else (no second offer per heartbeat answer); a failed send makes it offer
 * again, a finished one makes it wait for the follower's ack. */
static void test_snapshot_send_waits_for_report(void **state)
{
    (void)state;
    tnode *t = leader_sending_snapshot();
    hb_resp_from_2(t);
    hb_resp_from_2(t);
    assert_int_equal(tn_count(t, RAFT_MSG_SNAPSHOT, 2, 0), 0);
    assert_int_equal(tn_count(t, RAFT_MSG_APPEND, 2, 0), 0);
    assert_int_equal(raft_report_snapshot(t->r, 2, 0), 0); /* the stream broke */
    hb_resp_from_2(t);
    assert_int_equal(tn_count(t, RAFT_MSG_SNAPSHOT, 2, 0), 1); /* offered again */
    tn_clear_msgs(t);
    assert_int_equal(raft_report_snapshot(t->r, 2, 1), 0); /* delivered this time */
    tn_ready(t, 1);
    assert_int_equal(tn_count(t, RAFT_MSG_SNAPSHOT, 2, 0), 0);
    hb_resp_from_2(t); /* its ack got lost: probe after the snapshot */
    const raft_msg *app = tn_find(t, RAFT_MSG_APPEND, 2, 0);
    assert_non_null(app);
    assert_int_equal(app->index, 5);
    assert_int_equal(raft_report_snapshot(t->r, 2, 1), 0); /* late: ignored */
    assert_int_equal(raft_report_snapshot(t->r, 9, 1), TARN_EINVAL);
    tn_delete(t);
}

/* A host that never reports: the send counts as failed after
 * snapshot_timeout_ticks (4 election timeouts by default). */
static void test_unreported_snapshot_send_times_out(void **state)
{
    (void)state;
    tnode *t = leader_sending_snapshot();
    for (uint32_t i = 0; i < 4 * t->cfg.election_ticks; i++) {
        assert_int_equal(raft_tick(t->r), 0);
        tn_ready(t, 1);
        hb_resp_from_2(t);
        if (i + 1 < 4 * t->cfg.election_ticks)
            assert_int_equal(tn_count(t, RAFT_MSG_SNAPSHOT, 2, 0), 0);
    }
    assert_int_equal(tn_count(t, RAFT_MSG_SNAPSHOT, 2, 0), 1);
    tn_delete(t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_sends_snapshot_when_entries_compacted),
        cmocka_unit_test(test_follower_installs_snapshot),
        cmocka_unit_test(test_snapshot_already_held_moves_commit_only),
        cmocka_unit_test(test_open_from_snapshot_and_suffix),
        cmocka_unit_test(test_snapshot_send_waits_for_report),
        cmocka_unit_test(test_unreported_snapshot_send_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
