/* Tests of node/ as a 3-member cluster in one process over loopback TCP:
 * a leader is elected; proposals on the leader and on followers (which
 * forward them) are applied everywhere with their results carried back,
 * compare failures included; a read barrier on a follower sees every
 * write acknowledged before it; after the leader is closed the other two
 * elect a new one and go on; the old leader, reopened from its data
 * directory, catches up; every acknowledged write is on every member. */
#include "common/test_util.h"

#include "base/buf.h"
#include "kv/kv.h"
#include "node/node.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEMBERS 3

static uint32_t keep_entries; /* node_opts.log_keep_entries of new members */

typedef struct cluster {
    char *dir[MEMBERS];
    node_peer peers[MEMBERS];
    node *n[MEMBERS];
} cluster;

static void member_open(cluster *c, int i)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(kv_register(&reg), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://member-%d", i + 1);
    node_opts o = {.data_dir = c->dir[i],
                   .id = (uint64_t)(i + 1),
                   .election_ticks = 10,
                   .heartbeat_ticks = 2,
                   .tick_ms = 10,
                   .durability = STORE_DURABLE_NONE,
                   .members = c->peers,
                   .n_members = MEMBERS,
                   .cluster_name = "unit",
                   .http_url = url,
                   .log_keep_entries = keep_entries,
                   .rng_seed = tarn_test_seed() + (uint64_t)i};
    tarn_err err = TARN_ERR_INIT;
    if (node_open(&o, &reg, &c->n[i], &err) != 0)
        fail_msg("node_open %d: %s", i + 1, tarn_err_msg(&err));
}

static void cluster_open(cluster *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < MEMBERS; i++) {
        c->dir[i] = tarn_test_mkdtemp("cluster");
        c->peers[i].id = (uint64_t)(i + 1);
        snprintf(c->peers[i].addr, sizeof(c->peers[i].addr), "127.0.0.1:%d", tarn_test_free_port());
    }
    for (int i = 0; i < MEMBERS; i++)
        member_open(c, i);
}

static void cluster_close(cluster *c)
{
    for (int i = 0; i < MEMBERS; i++) {
        node_close(c->n[i]);
        tarn_test_rmdir(c->dir[i]);
    }
}

/* Waits (up to 20 s) until one open member leads and has applied its
 * term's first entry; returns its index. */
static int wait_leader(cluster *c)
{
    for (int t = 0; t < 2000; t++) {
        for (int i = 0; i < MEMBERS; i++) {
            if (!c->n[i])
                continue;
            node_status st;
            node_get_status(c->n[i], &st);
            if (st.is_leader && st.leader_ready_term == st.term)
                return i;
        }
        usleep(10000);
    }
    fail_msg("no leader within 20 s");
    return -1;
}

/* Puts key=val through member i; retries while the cluster is busy
 * electing (TARN_EBUSY / TARN_ETIMEDOUT) for up to ~20 s. */
static void put_ok(node *n, const char *key, const char *val, const kv_compare *cmp, kv_result *r)
{
    tarn_buf b;
    tarn_buf_init(&b, KV_CMD_MAX_BYTES);
    assert_int_equal(kv_encode_put(&b, key, strlen(key), val, strlen(val), cmp), 0);
    int rc = TARN_EBUSY;
    for (int tries = 0; tries < 200 && rc != 0; tries++) {
        store_result sr;
        memset(&sr, 0, sizeof(sr));
        tarn_err err = TARN_ERR_INIT;
        rc = node_propose(n, b.data, b.len, 2000, &sr, &err);
        if (rc == 0) {
            assert_int_equal(kv_result_decode(&sr, r), 0);
            store_result_free(&sr);
        } else {
            assert_true(rc == TARN_EBUSY || rc == TARN_ETIMEDOUT);
            usleep(100000);
        }
    }
    tarn_buf_free(&b);
    assert_int_equal(rc, 0);
}

/* A linearizable read of key on member n (barrier, then the local store). */
static int read_key(node *n, const char *key, char *val, size_t cap)
{
    tarn_err err = TARN_ERR_INIT;
    int rc = TARN_EBUSY;
    for (int tries = 0; tries < 100 && rc != 0; tries++) {
        rc = node_read_barrier(n, 2000, NULL, &err);
        if (rc != 0)
            usleep(100000);
    }
    assert_int_equal(rc, 0);
    store_txn *txn = NULL;
    assert_int_equal(node_read_begin(n, &txn, &err), 0);
    kv_item it;
    rc = kv_get(txn, key, strlen(key), &it);
    if (rc == 0) {
        assert_true(it.value_len < cap);
        memcpy(val, it.value, it.value_len);
        val[it.value_len] = '\0';
    }
    node_read_end(n, txn);
    return rc;
}

static void test_cluster_replicates_and_forwards(void **state)
{
    (void)state;
    cluster c;
    cluster_open(&c);
    int l = wait_leader(&c);
    int f = (l + 1) % MEMBERS;
    kv_result r;
    put_ok(c.n[l], "on-leader", "1", NULL, &r);
    assert_int_equal(r.code, TARN_OK);
    put_ok(c.n[f], "on-follower", "2", NULL, &r); /* forwarded */
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 1);
    /* A failed compare comes back through the forward too. */
    kv_compare stale = {
        .kind = KV_CMP_VERSION, .key = (const uint8_t *)"on-follower", .key_len = 11, .version = 7};
    put_ok(c.n[f], "on-follower", "3", &stale, &r);
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.version, 1);
    char val[32];
    for (int i = 0; i < MEMBERS; i++) {
        assert_int_equal(read_key(c.n[i], "on-leader", val, sizeof(val)), 0);
        assert_string_equal(val, "1");
        assert_int_equal(read_key(c.n[i], "on-follower", val, sizeof(val)), 0);
        assert_string_equal(val, "2");
    }
    char url[64];
    assert_int_equal(node_leader_url(c.n[f], url, sizeof(url)), 0);
    char want[64];
    snprintf(want, sizeof(want), "http://member-%d", l + 1);
    assert_string_equal(url, want);
    assert_int_equal(node_member_count(c.n[f]), MEMBERS);
    /* Leadership moves to the follower on request, and writes go on. */
    tarn_err terr = TARN_ERR_INIT;
    assert_int_equal(node_transfer_leader(c.n[l], (uint64_t)(f + 1), 5000, &terr), 0);
    assert_int_equal(wait_leader(&c), f);
    assert_int_equal(node_transfer_leader(c.n[f], 99, 1000, NULL), TARN_EINVAL);
    put_ok(c.n[l], "after-transfer", "3", NULL, &r);
    assert_int_equal(r.code, TARN_OK);
    assert_true(node_peer_port(c.n[f]) > 0);
    cluster_close(&c);
}

static void test_leader_loss_and_catch_up(void **state)
{
    (void)state;
    cluster c;
    cluster_open(&c);
    int l = wait_leader(&c);
    kv_result r;
    char key[32];
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof(key), "before-%d", k);
        put_ok(c.n[(l + k) % MEMBERS], key, "x", NULL, &r);
    }
    node_close(c.n[l]);
    c.n[l] = NULL;
    int l2 = wait_leader(&c);
    assert_true(l2 != l);
    int f = 3 - l - l2; /* the third member */
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof(key), "after-%d", k);
        put_ok(c.n[k % 2 ? l2 : f], key, "y", NULL, &r);
    }
    member_open(&c, l); /* restarts from its WAL and catches up */
    char val[32];
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof(key), "before-%d", k);
        assert_int_equal(read_key(c.n[l], key, val, sizeof(val)), 0);
        snprintf(key, sizeof(key), "after-%d", k);
        assert_int_equal(read_key(c.n[l], key, val, sizeof(val)), 0);
        assert_string_equal(val, "y");
    }
    node_status st;
    node_get_status(c.n[l], &st);
    assert_true(st.applied_index >= 40);
    cluster_close(&c);
}

/* With a short log (16 entries kept), a follower that was down while 300
 * entries were written is behind the leader's compacted log: it gets the
 * leader's store as a snapshot stream, installs it and catches up; then
 * every member restarts from its compacted WAL and still has everything. */
static void test_snapshot_to_lagging_follower(void **state)
{
    (void)state;
    keep_entries = 16;
    cluster c;
    cluster_open(&c);
    int l = wait_leader(&c);
    int f = (l + 1) % MEMBERS;
    kv_result r;
    put_ok(c.n[l], "first", "1", NULL, &r);
    node_close(c.n[f]);
    c.n[f] = NULL;
    char key[32], val[32];
    for (int k = 0; k < 300; k++) {
        snprintf(key, sizeof(key), "lag-%d", k);
        put_ok(c.n[l], key, key, NULL, &r);
    }
    member_open(&c, f);
    for (int k = 0; k < 300; k += 7) {
        snprintf(key, sizeof(key), "lag-%d", k);
        assert_int_equal(read_key(c.n[f], key, val, sizeof(val)), 0);
        assert_string_equal(val, key);
    }
    put_ok(c.n[f], "after-snapshot", "2", NULL, &r); /* forwarded as usual */
    assert_int_equal(r.code, TARN_OK);
    for (int i = 0; i < MEMBERS; i++) { /* restart each from its compacted WAL */
        node_close(c.n[i]);
        c.n[i] = NULL;
        member_open(&c, i);
    }
    wait_leader(&c);
    for (int i = 0; i < MEMBERS; i++) {
        assert_int_equal(read_key(c.n[i], "first", val, sizeof(val)), 0);
        assert_int_equal(read_key(c.n[i], "lag-299", val, sizeof(val)), 0);
        assert_int_equal(read_key(c.n[i], "after-snapshot", val, sizeof(val)), 0);
    }
    cluster_close(&c);
    keep_entries = 0;
}

typedef struct writer {
    node *n;
    int id;
    atomic_int *stop;
} writer;

static void *write_loop(void *arg)
{
    writer *w = arg;
    char key[32];
    snprintf(key, sizeof(key), "w%d", w->id);
    kv_result r;
    while (!atomic_load(w->stop))
        put_ok(w->n, key, "v", NULL, &r);
    return NULL;
}

/* A follower's read barrier carries the leader's read index and returns
 * only once the follower's own store (its apply thread) has applied it:
 * a reader opened afterwards sees at least that index, under write load. */
static void test_follower_read_waits_for_own_apply(void **state)
{
    (void)state;
    cluster c;
    cluster_open(&c);
    int l = wait_leader(&c);
    atomic_int stop = 0;
    writer ws[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        ws[i] = (writer){.n = c.n[(l + i) % MEMBERS], .id = i, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, write_loop, &ws[i]), 0);
    }
    for (int i = 0; i < 200; i++) {
        node *f = c.n[(l + 1 + i % 2) % MEMBERS];
        uint64_t ri = 0, applied = 0, term = 0;
        tarn_err err = TARN_ERR_INIT;
        assert_int_equal(node_read_barrier(f, 5000, &ri, &err), 0);
        store_txn *txn = NULL;
        assert_int_equal(node_read_begin(f, &txn, &err), 0);
        assert_int_equal(store_txn_applied(txn, &applied, &term), 0);
        node_read_end(f, txn);
        if (applied < ri)
            fail_msg("follower read %d: read index %llu, its store applied %llu", i,
                     (unsigned long long)ri, (unsigned long long)applied);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    cluster_close(&c);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_replicates_and_forwards),
        cmocka_unit_test(test_leader_loss_and_catch_up),
        cmocka_unit_test(test_snapshot_to_lagging_follower),
        cmocka_unit_test(test_follower_read_waits_for_own_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
