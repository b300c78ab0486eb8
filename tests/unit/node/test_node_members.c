/* Tests of node/ membership changes, in one process over loopback TCP:
 * a fourth member joins a 3-member cluster as a learner (past a compacted
 * log, so it gets a store snapshot), catches up, is promoted, takes the
 * leadership, and the old leader is removed; every acknowledged write is
 * on every remaining member; a member reopened alone from its compacted
 * WAL and store knows the new configuration and every member's address
 * (the configuration kept with the state); bad requests are refused. */
#include "common/test_util.h"

#include "base/buf.h"
#include "kv/kv.h"
#include "node/node.h"
#include "raft/raft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 4
#define KEEP  16 /* log_keep_entries: compaction after 32 entries */

typedef struct cluster {
    char *dir[SLOTS];
    node_peer peers[SLOTS];
    node *n[SLOTS];
} cluster;

/* Opens member i (id i + 1); members 0..2 are the bootstrap list, member
 * 3 joins. */
static int member_open(cluster *c, int i, tarn_err *err)
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
                   .n_members = 3,
                   .peer_listen = c->peers[i].addr,
                   .join = i == 3,
                   .cluster_name = "unit",
                   .http_url = url,
                   .log_keep_entries = KEEP,
                   .rng_seed = tarn_test_seed() + (uint64_t)i};
    return node_open(&o, &reg, &c->n[i], err);
}

static void member_open_ok(cluster *c, int i)
{
    tarn_err err = TARN_ERR_INIT;
    if (member_open(c, i, &err) != 0)
        fail_msg("node_open %d: %s", i + 1, tarn_err_msg(&err));
}

static void cluster_open(cluster *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < SLOTS; i++) {
        c->dir[i] = tarn_test_mkdtemp("members");
        c->peers[i].id = (uint64_t)(i + 1);
        snprintf(c->peers[i].addr, sizeof(c->peers[i].addr), "127.0.0.1:%d", tarn_test_free_port());
    }
    for (int i = 0; i < 3; i++)
        member_open_ok(c, i);
}

static void cluster_close(cluster *c)
{
    for (int i = 0; i < SLOTS; i++) {
        node_close(c->n[i]);
        tarn_test_rmdir(c->dir[i]);
    }
}

static int wait_leader(cluster *c)
{
    for (int t = 0; t < 2000; t++) {
        for (int i = 0; i < SLOTS; i++) {
            node_status st;
            if (!c->n[i])
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

static void put_ok(node *n, const char *key, const char *val)
{
    tarn_buf b;
    tarn_buf_init(&b, KV_CMD_MAX_BYTES);
    assert_int_equal(kv_encode_put(&b, key, strlen(key), val, strlen(val), NULL), 0);
    int rc = TARN_EBUSY;
    for (int tries = 0; tries < 200 && rc != 0; tries++) {
        store_result sr;
        memset(&sr, 0, sizeof(sr));
        tarn_err err = TARN_ERR_INIT;
        rc = node_propose(n, b.data, b.len, 2000, &sr, &err);
        if (rc == 0)
            store_result_free(&sr);
        else
            usleep(50000);
    }
    tarn_buf_free(&b);
    assert_int_equal(rc, 0);
}

/* Serializable reads of key on n until it is there with val (a member
 * applies what the leader acknowledged a little later), up to 20 s. */
static void expect_key(node *n, const char *key, const char *val)
{
    int rc = TARN_ENOENT;
    for (int t = 0; t < 2000 && rc != 0; t++) {
        tarn_err err = TARN_ERR_INIT;
        store_txn *txn = NULL;
        assert_int_equal(node_read_begin(n, &txn, &err), 0);
        kv_item it;
        rc = kv_get(txn, key, strlen(key), &it);
        if (rc == 0) {
            assert_int_equal(it.value_len, strlen(val));
            assert_memory_equal(it.value, val, it.value_len);
        }
        node_read_end(n, txn);
        if (rc != 0)
            usleep(10000);
    }
    if (rc != 0) {
        node_status st;
        node_get_status(n, &st);
        fail_msg("%s missing on member %llu (applied %llu)", key, (unsigned long long)st.id,
                 (unsigned long long)st.applied_index);
    }
}

/* Retries a membership call while the leader is busy (its previous change
 * or its term's first entry not committed yet, or leadership moving) or it
 * timed out on a loaded machine: every call here is idempotent (adding a
 * learner again, promoting a voter, removing a non-member are no-ops). */
#define RETRY_BUSY(call)                                                                           \
    do {                                                                                           \
        int rc_ = TARN_EBUSY;                                                                      \
        for (int t_ = 0; t_ < 200 && (rc_ == TARN_EBUSY || rc_ == TARN_ETIMEDOUT); t_++) {         \
            tarn_err err_ = TARN_ERR_INIT;                                                         \
            tarn_err *err = &err_;                                                                 \
            rc_ = (call);                                                                          \
            if (rc_ == TARN_EBUSY || rc_ == TARN_ETIMEDOUT)                                        \
                usleep(50000);                                                                     \
            else if (rc_ != 0)                                                                     \
                fail_msg("%s: %s", #call, tarn_err_msg(err));                                      \
        }                                                                                          \
        assert_int_equal(rc_, 0);                                                                  \
    } while (0)

static int find_member(const node_member *m, size_t count, uint64_t id)
{
    for (size_t i = 0; i < count; i++)
        if (m[i].id == id)
            return (int)i;
    return -1;
}

static void test_add_promote_transfer_remove(void **state)
{
    (void)state;
    cluster c;
    cluster_open(&c);
    int l = wait_leader(&c);
    char key[32], val[32];
    for (int i = 0; i < 60; i++) { /* past two compactions: the joiner needs a snapshot */
        snprintf(key, sizeof(key), "k%03d", i);
        snprintf(val, sizeof(val), "v%d", i);
        put_ok(c.n[i % 3], key, val);
    }
    /* Member 4 joins: a non-member until the leader adds it. */
    member_open_ok(&c, 3);
    node_status st;
    node_get_status(c.n[3], &st);
    assert_false(st.is_voter);
    /* Each call goes to whoever leads now (a loaded machine may re-elect). */
    RETRY_BUSY(node_member_add(c.n[wait_leader(&c)], 4, c.peers[3].addr, 5000, err));
    l = wait_leader(&c);
    node_member ms[8];
    size_t count = node_members_list(c.n[l], ms, 8);
    assert_int_equal(count, 4);
    int at = find_member(ms, count, 4);
    assert_true(at >= 0);
    assert_false(ms[at].is_voter);
    assert_string_equal(ms[at].addr, c.peers[3].addr);
    /* It catches up (through a store snapshot: the log was compacted). */
    expect_key(c.n[3], "k059", "v59");
    RETRY_BUSY(node_member_promote(c.n[wait_leader(&c)], 4, 5000, err));
    l = wait_leader(&c);
    assert_int_equal(node_member_count(c.n[l]), 4);
    put_ok(c.n[3], "via-4", "forwarded by the new member");
    /* Leadership to the new member, then the old leader leaves. */
    for (int t = 0; t < 20 && wait_leader(&c) != 3; t++) {
        tarn_err err = TARN_ERR_INIT;
        int ld = wait_leader(&c);
        if (ld == 3)
            break;
        int rc = node_transfer_leader(c.n[ld], 4, 5000, &err);
        if (rc != 0 && rc != TARN_EBUSY && rc != TARN_ETIMEDOUT)
            fail_msg("transfer: %s", tarn_err_msg(&err));
    }
    assert_int_equal(wait_leader(&c), 3);
    RETRY_BUSY(node_member_remove(c.n[wait_leader(&c)], (uint64_t)l + 1, 5000, err));
    /* Whoever led applied it; member 4 has it in its log a little later. */
    for (int t = 0; t < 2000 && node_member_count(c.n[3]) != 3; t++)
        usleep(10000);
    assert_int_equal(node_member_count(c.n[3]), 3);
    for (int i = 60; i < 120; i++) {
        snprintf(key, sizeof(key), "k%03d", i);
        snprintf(val, sizeof(val), "v%d", i);
        put_ok(c.n[3], key, val);
    }
    for (int m = 0; m < SLOTS; m++) {
        if (m == l)
            continue;
        for (int i = 0; i < 120; i += 7) {
            snprintf(key, sizeof(key), "k%03d", i);
            snprintf(val, sizeof(val), "v%d", i);
            expect_key(c.n[m], key, val);
        }
        expect_key(c.n[m], "via-4", "forwarded by the new member");
    }
    /* Every member that stays, and the new one (restored from a snapshot),
     * knows every member's address. */
    for (int m = 0; m < SLOTS; m++) {
        if (m == l)
            continue;
        count = node_members_list(c.n[m], ms, 8);
        assert_int_equal(count, 3);
        for (size_t i = 0; i < count; i++) {
            assert_true(ms[i].is_voter);
            assert_string_equal(ms[i].addr, c.peers[ms[i].id - 1].addr);
        }
        assert_int_equal(find_member(ms, count, (uint64_t)l + 1), -1);
    }
    /* Everyone down; one remaining follower reopened alone from its
     * compacted WAL and store must know the configuration and the
     * addresses without hearing from anyone. */
    for (int m = 0; m < SLOTS; m++) {
        node_close(c.n[m]);
        c.n[m] = NULL;
    }
    int f = l == 0 ? 1 : 0;
    member_open_ok(&c, f);
    count = node_members_list(c.n[f], ms, 8);
    assert_int_equal(count, 3);
    assert_true(find_member(ms, count, 4) >= 0);
    assert_int_equal(find_member(ms, count, (uint64_t)l + 1), -1);
    assert_string_equal(ms[find_member(ms, count, 4)].addr, c.peers[3].addr);
    node_get_status(c.n[f], &st);
    assert_int_equal(st.voters, 3);
    assert_true(st.is_voter);
    cluster_close(&c);
}

static void test_bad_membership_requests(void **state)
{
    (void)state;
    cluster c;
    cluster_open(&c);
    int l = wait_leader(&c);
    int f = (l + 1) % 3;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(node_member_add(c.n[l], 4, "no-port", 1000, &err), TARN_EINVAL);
    assert_int_equal(node_member_add(c.n[l], 4, "bad addr:1", 1000, &err), TARN_EINVAL);
    assert_int_equal(node_member_add(c.n[l], 0, "127.0.0.1:1", 1000, &err), TARN_EINVAL);
    assert_int_equal(node_member_add(c.n[l], 2, "127.0.0.1:1", 1000, &err), TARN_EEXIST);
    assert_int_equal(node_member_promote(c.n[l], 9, 1000, &err), TARN_ENOENT);
    assert_int_equal(node_member_remove(c.n[l], 9, 1000, &err), 0); /* not a member: done */
    /* A follower does not change the configuration. */
    assert_int_equal(node_member_promote(c.n[f], (uint64_t)l + 1, 1000, &err), 0); /* a voter */
    assert_int_equal(node_member_remove(c.n[f], (uint64_t)l + 1, 2000, &err), TARN_EBUSY);
    /* Node/'s own command types cannot be proposed by callers. */
    uint8_t cmd[] = {NODE_CMD_CONF, 1, 0, 1, 0};
    store_result sr;
    memset(&sr, 0, sizeof(sr));
    assert_int_equal(node_propose(c.n[l], cmd, sizeof(cmd), 1000, &sr, &err), TARN_EINVAL);
    cmd[0] = NODE_CMD_MEMBER_ADDR;
    assert_int_equal(node_propose(c.n[l], cmd, sizeof(cmd), 1000, &sr, &err), TARN_EINVAL);
    /* A joining member must not be in the member list. */
    node_close(c.n[f]);
    c.n[f] = NULL;
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    node_opts o = {.data_dir = c.dir[3],
                   .id = (uint64_t)f + 1,
                   .members = c.peers,
                   .n_members = 3,
                   .peer_listen = c.peers[3].addr,
                   .join = 1};
    node *bad = NULL;
    assert_int_equal(node_open(&o, &reg, &bad, &err), TARN_EINVAL);
    cluster_close(&c);
}

/* A follower forwards a write to a leader that then dies: the caller gets
 * an answer once the follower sees the leader gone (the link breaks, or a
 * new election), not when its own long timeout runs out. Each round kills
 * the leader and at once proposes through a follower that still believes
 * in it; the proposal is either re-routed to the next leader (0) or fails
 * as lost with the leader (TARN_ETIMEDOUT, "went away"), never by the
 * caller's 20 s timeout. */
static void test_forward_fails_fast_when_leader_dies(void **state)
{
    (void)state;
    cluster c;
    cluster_open(&c);
    int lost = 0;
    for (int round = 0; round < 3; round++) {
        int l = wait_leader(&c);
        int f = (l + 1) % 3;
        put_ok(c.n[f], "warm", "the follower knows the leader");
        node_close(c.n[l]);
        c.n[l] = NULL;
        tarn_buf b;
        tarn_buf_init(&b, KV_CMD_MAX_BYTES);
        assert_int_equal(kv_encode_put(&b, "after", 5, "x", 1, NULL), 0);
        store_result sr;
        memset(&sr, 0, sizeof(sr));
        tarn_err err = TARN_ERR_INIT;
        int rc = node_propose(c.n[f], b.data, b.len, 20000, &sr, &err);
        tarn_buf_free(&b);
        if (rc == 0) {
            store_result_free(&sr);
        } else {
            assert_int_equal(rc, TARN_ETIMEDOUT);
            if (!strstr(tarn_err_msg(&err), "went away"))
                fail_msg("round %d: %s", round, tarn_err_msg(&err));
            lost++;
        }
        member_open_ok(&c, l);
    }
    print_message("# %d of 3 forwarded proposals failed fast with their leader\n", lost);
    cluster_close(&c);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_promote_transfer_remove),
        cmocka_unit_test(test_bad_membership_requests),
        cmocka_unit_test(test_forward_fails_fast_when_leader_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
