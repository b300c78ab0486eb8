/* Tests of node_propose_async: the callback runs exactly once, never with
 * the node's lock held, with the applied result (one voter, many
 * proposals at once), TARN_ETIMEDOUT once the deadline passed (the loop
 * enforces it; a later completion of the same entry calls nothing), or
 * TARN_ECLOSED from node_close for everything still pending; a full queue
 * refuses at once without a callback; a follower of a 3-member cluster
 * forwards the proposal and the callback gets the leader's result. */
#include "common/test_util.h"

#include "base/buf.h"
#include "kv/kv.h"
#include "node/node.h"
#include "raft/raft.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One proposal's outcome as the callback saw it. */
typedef struct outcome {
    atomic_int calls;
    int rc;
    int has_res;
    kv_result r;
    node *n; /* to prove the lock is free: the callback reads the status */
} outcome;

static void on_done(void *ctx, int rc, const store_result *res)
{
    outcome *o = ctx;
    o->rc = rc;
    o->has_res = res != NULL;
    if (res) {
        assert_int_equal(kv_result_decode(res, &o->r), 0);
        o->r.value = NULL; /* borrowed from res: gone after the call */
    }
    if (o->n) {
        node_status st;
        node_get_status(o->n, &st); /* takes the node's mutex: deadlocks if held */
    }
    atomic_fetch_add(&o->calls, 1);
}

static int propose_put(node *n, const char *key, const char *val, int timeout_ms, outcome *o)
{
    tarn_buf b;
    tarn_buf_init(&b, KV_CMD_MAX_BYTES);
    assert_int_equal(kv_encode_put(&b, key, strlen(key), val, strlen(val), NULL), 0);
    tarn_err err = TARN_ERR_INIT;
    int rc = node_propose_async(n, b.data, b.len, timeout_ms, on_done, o, &err);
    tarn_buf_free(&b);
    return rc;
}

/* Waits up to 20 s until every outcome was called at least once. */
static void wait_called(outcome *o, size_t count)
{
    for (int t = 0; t < 2000; t++) {
        size_t done = 0;
        for (size_t i = 0; i < count; i++)
            done += atomic_load(&o[i].calls) > 0;
        if (done == count)
            return;
        usleep(10000);
    }
    fail_msg("callbacks not all called within 20 s");
}

static node *open_one(const char *dir, size_t queue_max, node_peer *peers, size_t n_peers)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(kv_register(&reg), 0);
    node_opts o = {.data_dir = dir,
                   .id = 1,
                   .election_ticks = n_peers ? 1000 : 2,
                   .heartbeat_ticks = 1,
                   .tick_ms = 5,
                   .queue_max = queue_max,
                   .durability = STORE_DURABLE_NONE,
                   .members = peers,
                   .n_members = n_peers,
                   .cluster_name = "unit",
                   .http_url = "http://member-1"};
    node *n = NULL;
    tarn_err err = TARN_ERR_INIT;
    if (node_open(&o, &reg, &n, &err) != 0)
        fail_msg("node_open: %s", tarn_err_msg(&err));
    return n;
}

/* Member 1 of two whose peer never starts: it never leads, so its
 * proposals stay queued. */
static node *open_leaderless(const char *dir, size_t queue_max, node_peer peers[2])
{
    for (int i = 0; i < 2; i++) {
        peers[i].id = (uint64_t)(i + 1);
        snprintf(peers[i].addr, sizeof(peers[i].addr), "127.0.0.1:%d", tarn_test_free_port());
    }
    return open_one(dir, queue_max, peers, 2);
}

static void test_success_exactly_once(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node_async");
    node *n = open_one(dir, 0, NULL, 0);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(node_wait_leader(n, 5000, &err), 0);
    enum { COUNT = 300 };
    outcome *o = calloc(COUNT, sizeof(*o));
    for (size_t i = 0; i < COUNT; i++) {
        o[i].n = n;
        char val[32];
        snprintf(val, sizeof(val), "v%zu", i);
        assert_int_equal(propose_put(n, "same", val, 10000, &o[i]), 0);
    }
    wait_called(o, COUNT);
    /* Every put of one key got its own version, 1..COUNT, in queue order. */
    for (size_t i = 0; i < COUNT; i++) {
        assert_int_equal(o[i].rc, 0);
        assert_true(o[i].has_res);
        assert_int_equal(o[i].r.code, 0);
        assert_int_equal(o[i].r.version, i + 1);
    }
    node_close(n);
    for (size_t i = 0; i < COUNT; i++)
        assert_int_equal(atomic_load(&o[i].calls), 1);
    free(o);
    tarn_test_rmdir(dir);
}

static void test_immediate_errors_call_nothing(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node_async");
    node *n = open_one(dir, 0, NULL, 0);
    outcome o = {0};
    tarn_err err = TARN_ERR_INIT;
    uint8_t own = 0x09; /* NODE_CMD_CONF */
    assert_int_equal(node_propose_async(n, &own, 1, 1000, on_done, &o, &err), TARN_EINVAL);
    assert_int_equal(node_propose_async(n, &own, 0, 1000, on_done, &o, &err), TARN_EINVAL);
    assert_int_equal(node_propose_async(n, "x", 1, 1000, NULL, &o, &err), TARN_EINVAL);
    size_t big = (size_t)RAFT_DEFAULT_MAX_ENTRY_SIZE + 1;
    uint8_t *huge = calloc(1, big);
    huge[0] = 1;
    assert_int_equal(node_propose_async(n, huge, big, 1000, on_done, &o, &err), TARN_ETOOBIG);
    free(huge);
    node_close(n);
    assert_int_equal(atomic_load(&o.calls), 0);
    tarn_test_rmdir(dir);
}

static void test_timeout_then_close(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node_async");
    node_peer peers[2];
    node *n = open_leaderless(dir, 0, peers);
    outcome o[3] = {{0}};
    for (int i = 0; i < 3; i++)
        o[i].n = n;
    assert_int_equal(propose_put(n, "a", "1", 50, &o[0]), 0);
    assert_int_equal(propose_put(n, "b", "2", 80, &o[1]), 0);
    assert_int_equal(propose_put(n, "c", "3", 60000, &o[2]), 0); /* outlives the test */
    wait_called(o, 2);
    assert_int_equal(o[0].rc, TARN_ETIMEDOUT);
    assert_int_equal(o[1].rc, TARN_ETIMEDOUT);
    assert_false(o[0].has_res);
    assert_int_equal(atomic_load(&o[2].calls), 0);
    usleep(50000); /* a few more ticks: no second call */
    assert_int_equal(atomic_load(&o[0].calls), 1);
    node_close(n); /* the timed-out waiters are freed; the third fails */
    assert_int_equal(atomic_load(&o[0].calls), 1);
    assert_int_equal(atomic_load(&o[1].calls), 1);
    assert_int_equal(atomic_load(&o[2].calls), 1);
    assert_int_equal(o[2].rc, TARN_ECLOSED);
    tarn_test_rmdir(dir);
}

static void test_full_queue_and_close_pending(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node_async");
    node_peer peers[2];
    node *n = open_leaderless(dir, 4, peers);
    outcome o[5] = {{0}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(propose_put(n, "k", "v", 60000, &o[i]), 0);
    assert_int_equal(propose_put(n, "k", "v", 60000, &o[4]), TARN_EBUSY); /* at once */
    node_status st;
    node_get_status(n, &st);
    assert_int_equal(st.queue_depth, 4);
    node_close(n);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(atomic_load(&o[i].calls), 1);
        assert_int_equal(o[i].rc, TARN_ECLOSED);
    }
    assert_int_equal(atomic_load(&o[4].calls), 0);
    tarn_test_rmdir(dir);
}

/* ---- a follower forwards ------------------------------------------------ */

#define MEMBERS 3

static void test_follower_forwards(void **state)
{
    (void)state;
    char *dirs[MEMBERS];
    node_peer peers[MEMBERS];
    node *ns[MEMBERS];
    for (int i = 0; i < MEMBERS; i++) {
        dirs[i] = tarn_test_mkdtemp("node_async");
        peers[i].id = (uint64_t)(i + 1);
        snprintf(peers[i].addr, sizeof(peers[i].addr), "127.0.0.1:%d", tarn_test_free_port());
    }
    for (int i = 0; i < MEMBERS; i++) {
        store_registry reg;
        memset(&reg, 0, sizeof(reg));
        assert_int_equal(kv_register(&reg), 0);
        char url[64];
        snprintf(url, sizeof(url), "http://member-%d", i + 1);
        node_opts o = {.data_dir = dirs[i],
                       .id = (uint64_t)(i + 1),
                       .election_ticks = 10,
                       .heartbeat_ticks = 2,
                       .tick_ms = 10,
                       .durability = STORE_DURABLE_NONE,
                       .members = peers,
                       .n_members = MEMBERS,
                       .cluster_name = "unit",
                       .http_url = url,
                       .rng_seed = tarn_test_seed() + (uint64_t)i};
        tarn_err err = TARN_ERR_INIT;
        if (node_open(&o, &reg, &ns[i], &err) != 0)
            fail_msg("node_open %d: %s", i + 1, tarn_err_msg(&err));
    }
    /* A follower that knows the leader. */
    int follower = -1;
    for (int t = 0; t < 2000 && follower < 0; t++) {
        for (int i = 0; i < MEMBERS && follower < 0; i++) {
            node_status st;
            node_get_status(ns[i], &st);
            if (!st.is_leader && st.leader != 0) {
                node_status ls;
                node_get_status(ns[st.leader - 1], &ls);
                if (ls.is_leader && ls.leader_ready_term == ls.term)
                    follower = i;
            }
        }
        if (follower < 0)
            usleep(10000);
    }
    assert_true(follower >= 0);
    enum { COUNT = 20 };
    outcome o[COUNT];
    memset(o, 0, sizeof(o));
    for (int i = 0; i < COUNT; i++) {
        o[i].n = ns[follower];
        assert_int_equal(propose_put(ns[follower], "fwd", "x", 10000, &o[i]), 0);
    }
    wait_called(o, COUNT);
    int ok = 0;
    for (int i = 0; i < COUNT; i++) {
        /* An election in between may refuse some (retry): never twice. */
        assert_true(o[i].rc == 0 || o[i].rc == TARN_EBUSY || o[i].rc == TARN_ETIMEDOUT);
        if (o[i].rc == 0) {
            assert_true(o[i].has_res);
            assert_int_equal(o[i].r.code, 0);
            assert_true(o[i].r.version >= 1 && o[i].r.version <= COUNT);
            ok++;
        }
    }
    assert_true(ok > 0);
    for (int i = 0; i < MEMBERS; i++) {
        node_close(ns[i]);
        tarn_test_rmdir(dirs[i]);
    }
    for (int i = 0; i < COUNT; i++)
        assert_int_equal(atomic_load(&o[i].calls), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_exactly_once),
        cmocka_unit_test(test_immediate_errors_call_nothing),
        cmocka_unit_test(test_timeout_then_close),
        cmocka_unit_test(test_full_queue_and_close_pending),
        cmocka_unit_test(test_follower_forwards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
