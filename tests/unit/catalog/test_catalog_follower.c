/*
 * tests/unit/catalog/test_catalog_follower.c: the catalog's committer over
 * a node (delta_committer_node) on a follower of a 3-member cluster in one
 * process: commits proposed on the follower are forwarded and answered
 * with the catalog's result (a stale plain commit is a conflict naming the
 * latest, a retried txn_id its first version), and reads on a follower
 * that was down while the leader compacted its log past it (so it catches
 * up by installing a store snapshot) answer every version with its
 * actions once it has caught up, and nothing but "not yet" before.
 * The reads go through node_read_begin, which holds a read off while a
 * snapshot swaps the store; this test does not provoke that overlap (the
 * read barrier itself waits for the install), it covers the committer on
 * a follower around an install.
 */
#include "common/test_util.h"

#include "catalog/catalog.h"
#include "delta/delta.h"
#include "node/node.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEMBERS  3
#define VERSIONS 200

typedef struct cluster {
    char *dir[MEMBERS];
    node_peer peers[MEMBERS];
    node *n[MEMBERS];
} cluster;

static void member_open(cluster *c, int i)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(catalog_register(&reg), 0);
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
                   .log_keep_entries = 16,
                   .rng_seed = tarn_test_seed() + (uint64_t)i};
    tarn_err err = TARN_ERR_INIT;
    if (node_open(&o, &reg, &c->n[i], &err) != 0)
        fail_msg("node_open %d: %s", i + 1, tarn_err_msg(&err));
}

static int wait_leader(cluster *c)
{
    for (int t = 0; t < 2000; t++) {
        for (int i = 0; i < MEMBERS; i++) {
            node_status st;
            if (c->n[i] == NULL)
                continue;
            node_get_status(c->n[i], &st);
            if (st.is_leader && st.leader_ready_term == st.term)
                return i;
        }
        usleep(10000);
    }
    fail_msg("no leader within 20 s");
    return -1;
}

typedef struct reader {
    delta_committer *c;
    atomic_int stop;
    int reads_ok, reads_busy;
    char bad[512]; /* the first unexpected answer ("" when none) */
} reader;

/* Reads the table on the follower in a loop while it catches up. */
static void *read_loop(void *p)
{
    reader *r = p;
    while (!atomic_load(&r->stop)) {
        delta_pending *v = NULL;
        size_t n = 0;
        int64_t latest = -1;
        tarn_err err = TARN_ERR_INIT;
        int rc = r->c->read(r->c->ctx, "t", 0, -1, &v, &n, &latest, &err);
        /* Catching up: barriers may time out, the table may not be there
         * yet; never anything else (assertions stay on the main thread). */
        if (rc == 0 && (n < 1 || v[0].version != 0) && !r->bad[0])
            snprintf(r->bad, sizeof(r->bad), "read gave %zu versions from %lld", n,
                     n ? (long long)v[0].version : -1LL);
        else if (rc != 0 && rc != TARN_ETIMEDOUT && rc != TARN_EBUSY && rc != TARN_ENOENT &&
                 !r->bad[0])
            snprintf(r->bad, sizeof(r->bad), "read on the follower: %s", tarn_err_msg(&err));
        if (rc == 0)
            r->reads_ok++;
        else
            r->reads_busy++;
        delta_pending_free(v, n);
    }
    return NULL;
}

#define ADD "{\"add\":{\"path\":\"f.parquet\"}}\n"

static void test_follower_commits_and_reads(void **state)
{
    (void)state;
    cluster c;
    memset(&c, 0, sizeof(c));
    for (int i = 0; i < MEMBERS; i++) {
        c.dir[i] = tarn_test_mkdtemp("catalog-follower");
        c.peers[i].id = (uint64_t)(i + 1);
        snprintf(c.peers[i].addr, sizeof(c.peers[i].addr), "127.0.0.1:%d", tarn_test_free_port());
    }
    for (int i = 0; i < MEMBERS; i++)
        member_open(&c, i);
    int l = wait_leader(&c), f = (l + 1) % MEMBERS;
    delta_committer cl, cf;
    assert_int_equal(delta_committer_node(c.n[l], 10000, &cl), 0);
    tarn_err err = TARN_ERR_INIT;
    uint64_t id = 0;
    if (cl.create(cl.ctx, "t", "{\"type\":\"struct\",\"fields\":[]}", NULL, 0, &id, &err) != 0)
        fail_msg("create: %s", tarn_err_msg(&err));
    /* The follower goes down; the leader commits (blind appends, all on
     * base 0) far past what its log keeps. */
    node_close(c.n[f]);
    c.n[f] = NULL;
    for (int v = 1; v <= VERSIONS; v++) {
        char txn[32];
        snprintf(txn, sizeof(txn), "txn-%d", v);
        int64_t got = -1;
        bool dup = false;
        if (cl.commit_blind(cl.ctx, "t", 0, txn, ADD, strlen(ADD), &got, &dup, &err) != 0)
            fail_msg("commit %d: %s", v, tarn_err_msg(&err));
        assert_int_equal(got, v);
    }
    /* Back up: it installs a store snapshot while a reader reads on it. */
    member_open(&c, f);
    assert_int_equal(delta_committer_node(c.n[f], 2000, &cf), 0);
    reader r = {.c = &cf};
    pthread_t th;
    pthread_create(&th, NULL, read_loop, &r);
    int64_t latest = -1;
    for (int t = 0; t < 300 && latest < VERSIONS; t++) {
        delta_pending *v = NULL;
        size_t n = 0;
        tarn_err e2 = TARN_ERR_INIT;
        if (cf.read(cf.ctx, "t", VERSIONS, VERSIONS, &v, &n, &latest, &e2) == 0) {
            assert_int_equal(n, 1);
            assert_string_equal(v[0].actions, ADD);
        }
        delta_pending_free(v, n);
        usleep(50000);
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    if (r.bad[0])
        fail_msg("%s", r.bad);
    assert_int_equal(latest, VERSIONS);
    /* A commit on the follower is forwarded; a stale plain commit is a
     * conflict naming the latest, a retried txn_id its first version. */
    int64_t got = -1;
    bool dup = false;
    if (cf.commit(cf.ctx, "t", VERSIONS, "on-follower", ADD, strlen(ADD), &got, &dup, &err) != 0)
        fail_msg("commit on the follower: %s", tarn_err_msg(&err));
    assert_int_equal(got, VERSIONS + 1);
    assert_int_equal(cf.commit(cf.ctx, "t", 3, "stale", ADD, strlen(ADD), &got, &dup, &err),
                     TARN_ECONFLICT);
    assert_int_equal(got, VERSIONS + 1);
    assert_int_equal(cf.commit(cf.ctx, "t", 3, "txn-7", ADD, strlen(ADD), &got, &dup, &err), 0);
    assert_int_equal(got, 7);
    assert_true(dup);
    print_message("follower: %d reads answered, %d refused while catching up\n", r.reads_ok,
                  r.reads_busy);
    delta_committer_close(&cl);
    delta_committer_close(&cf);
    for (int i = 0; i < MEMBERS; i++) {
        node_close(c.n[i]);
        tarn_test_rmdir(c.dir[i]);
    }
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follower_commits_and_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
