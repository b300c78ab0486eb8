/* Tests of node/: one voter in a temp directory. Proposals are applied and
 * their results reach the proposer; a restart replays and keeps every
 * acknowledged write (also after SIGKILL of a process in the middle of a
 * write loop); a full queue answers TARN_EBUSY at once; close fails the
 * waiting proposals with TARN_ECLOSED; reads after a read barrier see every
 * write acknowledged before it; out-of-memory over propose and read paths
 * never loses an acknowledged write. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "kv/kv.h"
#include "node/node.h"
#include "obs/obs.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static node *open_node(const char *dir, uint32_t election_ticks, size_t queue_max)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(kv_register(&reg), 0);
    node_opts o = {.data_dir = dir,
                   .election_ticks = election_ticks,
                   .heartbeat_ticks = 1,
                   .tick_ms = 5,
                   .queue_max = queue_max,
                   .durability = STORE_DURABLE_DATA};
    node *n = NULL;
    tarn_err err = TARN_ERR_INIT;
    int rc = node_open(&o, &reg, &n, &err);
    if (rc != 0)
        fail_msg("node_open: %s", tarn_err_msg(&err));
    return n;
}

/* A node that never leads: a single voter elects itself at open, so this
 * is member 1 of a two-member cluster whose peer never starts (no quorum).
 * Its proposals and reads stay queued until they time out. */
static node *open_leaderless(const char *dir, size_t queue_max)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(kv_register(&reg), 0);
    node_peer peers[2] = {{.id = 1}, {.id = 2}};
    for (int i = 0; i < 2; i++)
        snprintf(peers[i].addr, sizeof(peers[i].addr), "127.0.0.1:%d", tarn_test_free_port());
    node_opts o = {.data_dir = dir,
                   .id = 1,
                   .election_ticks = 1000,
                   .heartbeat_ticks = 1,
                   .tick_ms = 5,
                   .queue_max = queue_max,
                   .durability = STORE_DURABLE_DATA,
                   .members = peers,
                   .n_members = 2,
                   .cluster_name = "unit",
                   .http_url = "http://member-1"};
    node *n = NULL;
    tarn_err err = TARN_ERR_INIT;
    if (node_open(&o, &reg, &n, &err) != 0)
        fail_msg("node_open: %s", tarn_err_msg(&err));
    return n;
}

static node *open_leader(const char *dir)
{
    node *n = open_node(dir, 2, 0);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(node_wait_leader(n, 5000, &err), 0);
    return n;
}

/* Puts key=val through the node; returns the propose code, fills *r. */
static int put(node *n, const char *key, const char *val, const kv_compare *expect, kv_result *r,
               store_result *sr)
{
    tarn_buf b;
    tarn_buf_init(&b, KV_CMD_MAX_BYTES);
    assert_int_equal(kv_encode_put(&b, key, strlen(key), val, strlen(val), expect), 0);
    tarn_err err = TARN_ERR_INIT;
    memset(sr, 0, sizeof(*sr));
    int rc = node_propose(n, b.data, b.len, 5000, sr, &err);
    tarn_buf_free(&b);
    if (rc == 0)
        assert_int_equal(kv_result_decode(sr, r), 0);
    return rc;
}

/* Reads key into val (cap bytes); returns kv_get's code. */
static int get(node *n, const char *key, char *val, size_t cap, uint64_t *version)
{
    store_txn *txn = NULL;
    tarn_err err = TARN_ERR_INIT;
    int rc = store_read_begin(node_store(n), &txn, &err);
    if (rc != 0)
        return rc;
    kv_item it;
    rc = kv_get(txn, key, strlen(key), &it);
    if (rc == 0) {
        assert_true(it.value_len < cap);
        memcpy(val, it.value, it.value_len);
        val[it.value_len] = '\0';
        if (version)
            *version = it.version;
    }
    store_read_end(txn);
    return rc;
}

static void test_propose_apply_results(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node");
    node *n = open_leader(dir);
    kv_result r;
    store_result sr;
    assert_int_equal(put(n, "a", "one", NULL, &r, &sr), 0);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 1);
    uint64_t first_index = r.mod_index;
    store_result_free(&sr);
    assert_int_equal(put(n, "a", "two", NULL, &r, &sr), 0);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.mod_index, first_index + 1);
    store_result_free(&sr);
    /* A stale CAS is the state machine's answer, carried back to us. */
    kv_compare stale = {
        .kind = KV_CMP_VERSION, .key = (const uint8_t *)"a", .key_len = 1, .version = 1};
    assert_int_equal(put(n, "a", "three", &stale, &r, &sr), 0);
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.version, 2);
    store_result_free(&sr);
    tarn_err err = TARN_ERR_INIT;
    uint64_t ri = 0;
    assert_int_equal(node_read_barrier(n, 2000, &ri, &err), 0);
    assert_true(ri >= first_index + 1);
    char val[64];
    assert_int_equal(get(n, "a", val, sizeof(val), NULL), 0);
    assert_string_equal(val, "two");
    node_status st;
    node_get_status(n, &st);
    assert_true(st.is_leader);
    assert_int_equal(st.applied_index, st.commit_index);
    assert_int_equal(st.failed, 0);
    /* An empty command is refused before it reaches the queue. */
    assert_int_equal(node_propose(n, "", 0, 100, &sr, &err), TARN_EINVAL);
    node_close(n);
    tarn_test_rmdir(dir);
}

static void test_restart_replays(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node");
    node *n = open_leader(dir);
    char key[32], val[32], got[64];
    kv_result r;
    store_result sr;
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "k%02d", i);
        snprintf(val, sizeof(val), "v%d", i);
        assert_int_equal(put(n, key, val, NULL, &r, &sr), 0);
        store_result_free(&sr);
    }
    node_status before;
    node_get_status(n, &before);
    node_close(n);
    n = open_leader(dir);
    node_status after;
    node_get_status(n, &after);
    assert_true(after.term > before.term); /* a new election, a new no-op */
    assert_true(after.applied_index > before.applied_index);
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "k%02d", i);
        snprintf(val, sizeof(val), "v%d", i);
        assert_int_equal(get(n, key, got, sizeof(got), NULL), 0);
        assert_string_equal(got, val);
    }
    assert_int_equal(put(n, "k00", "again", NULL, &r, &sr), 0);
    assert_int_equal(r.version, 2);
    store_result_free(&sr);
    node_close(n);
    tarn_test_rmdir(dir);
}

/* The child proposes k<i> = i forever and writes i to the pipe after each
 * acknowledgement; the parent kills it with SIGKILL mid-stream. */
static void kill_child(const char *dir, int fd)
{
    node *n = open_leader(dir);
    for (uint32_t i = 0;; i++) {
        char key[32], val[32];
        snprintf(key, sizeof(key), "k%u", i);
        snprintf(val, sizeof(val), "%u", i);
        kv_result r;
        store_result sr;
        if (put(n, key, val, NULL, &r, &sr) != 0)
            _exit(3);
        store_result_free(&sr);
        if (write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i))
            _exit(4);
    }
}

static void test_sigkill_keeps_acknowledged(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node");
    for (int round = 0; round < 3; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            kill_child(dir, p[1]);
        }
        close(p[1]);
        uint32_t last = 0, got = 0, acked = 0;
        while (acked < 40u + 30u * (uint32_t)round &&
               read(p[0], &got, sizeof(got)) == (ssize_t)sizeof(got)) {
            last = got;
            acked++;
        }
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        close(p[0]);
        assert_true(acked > 0);
        node *n = open_leader(dir);
        for (uint32_t i = 0; i <= last; i++) {
            char key[32], want[32], val[64];
            snprintf(key, sizeof(key), "k%u", i);
            snprintf(want, sizeof(want), "%u", i);
            assert_int_equal(get(n, key, val, sizeof(val), NULL), 0);
            assert_string_equal(val, want);
        }
        node_close(n);
    }
    tarn_test_rmdir(dir);
}

typedef struct proposer {
    node *n;
    int rc;
} proposer;

static void *propose_thread(void *arg)
{
    proposer *p = arg;
    kv_result r;
    store_result sr;
    p->rc = put(p->n, "q", "v", NULL, &r, &sr);
    if (p->rc == 0)
        store_result_free(&sr);
    return NULL;
}

static void test_full_queue_busy_and_close_fails_pending(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node");
    /* No leader, so proposals stay in the queue. */
    node *n = open_leaderless(dir, 2);
    proposer ps[2] = {{.n = n, .rc = 1}, {.n = n, .rc = 1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, propose_thread, &ps[i]), 0);
    node_status st;
    for (int i = 0; i < 400; i++) {
        node_get_status(n, &st);
        if (st.queue_depth == 2)
            break;
        usleep(5000);
    }
    assert_int_equal(st.queue_depth, 2);
    assert_false(st.is_leader);
    kv_result r;
    store_result sr;
    assert_int_equal(put(n, "x", "y", NULL, &r, &sr), TARN_EBUSY);
    node_close(n);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ps[i].rc, TARN_ECLOSED);
    }
    tarn_test_rmdir(dir);
}

static void test_timeout_abandons(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node");
    node *n = open_leaderless(dir, 0);
    tarn_err err = TARN_ERR_INIT;
    store_result sr;
    uint8_t cmd[] = {KV_CMD_PUT, 1, 0, 0, 0, 0};
    assert_int_equal(node_propose(n, cmd, sizeof(cmd), 30, &sr, &err), TARN_ETIMEDOUT);
    assert_int_equal(node_read_barrier(n, 30, NULL, &err), TARN_ETIMEDOUT);
    assert_int_equal(node_wait_leader(n, 30, &err), TARN_ETIMEDOUT);
    node_close(n); /* frees the abandoned waiters (ASan checks) */
    tarn_test_rmdir(dir);
}

typedef struct lin {
    node *n;
    atomic_uint acked;
    atomic_int stop;
    int errors;
} lin;

static void *lin_writer(void *arg)
{
    lin *l = arg;
    for (unsigned i = 1; i <= 300; i++) {
        char val[32];
        snprintf(val, sizeof(val), "%u", i);
        kv_result r;
        store_result sr;
        if (put(l->n, "ctr", val, NULL, &r, &sr) != 0) {
            l->errors++;
            break;
        }
        store_result_free(&sr);
        atomic_store(&l->acked, i);
    }
    atomic_store(&l->stop, 1);
    return NULL;
}

static void test_read_after_write_linearizable(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node");
    lin l = {.n = open_leader(dir)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, lin_writer, &l), 0);
    int reads = 0;
    while (!atomic_load(&l.stop)) {
        unsigned before = atomic_load(&l.acked);
        tarn_err err = TARN_ERR_INIT;
        assert_int_equal(node_read_barrier(l.n, 2000, NULL, &err), 0);
        char val[32];
        if (before == 0)
            continue;
        assert_int_equal(get(l.n, "ctr", val, sizeof(val), NULL), 0);
        assert_true(strtoul(val, NULL, 10) >= before);
        reads++;
    }
    pthread_join(th, NULL);
    assert_int_equal(l.errors, 0);
    assert_true(reads > 0);
    node_close(l.n);
    tarn_test_rmdir(dir);
}

/* Out-of-memory at the nth allocation from a propose or a read barrier:
 * the call fails cleanly or succeeds; an injected failure inside the loop
 * fails the node (sticky), which is then reopened. Every acknowledged
 * write survives. */
static void test_oom_propose_and_read(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node");
    node *n = open_leader(dir);
    int acked[80] = {0}, failures = 0;
    for (int i = 0; i < 80; i++) {
        char key[32];
        snprintf(key, sizeof(key), "o%d", i);
        tarn_buf b;
        tarn_buf_init(&b, KV_CMD_MAX_BYTES);
        assert_int_equal(kv_encode_put(&b, key, strlen(key), "v", 1, NULL), 0);
        store_result sr;
        memset(&sr, 0, sizeof(sr));
        tarn_err err = TARN_ERR_INIT;
        tarn_alloc_fail_at((uint64_t)(i % 20) + 1, 0);
        int rc = node_propose(n, b.data, b.len, 5000, &sr, &err);
        int rrc = node_read_barrier(n, 2000, NULL, &err);
        tarn_alloc_fail_at(0, 0);
        tarn_buf_free(&b);
        if (rc == 0) {
            acked[i] = 1;
            store_result_free(&sr);
        } else {
            failures++;
        }
        node_status st;
        node_get_status(n, &st);
        if (st.failed || rrc == TARN_ESTATE || rc == TARN_ESTATE) {
            node_close(n);
            n = open_leader(dir);
        }
    }
    assert_true(failures > 0);
    node_close(n);
    n = open_leader(dir);
    for (int i = 0; i < 80; i++) {
        char key[32], val[16];
        snprintf(key, sizeof(key), "o%d", i);
        if (acked[i])
            assert_int_equal(get(n, key, val, sizeof(val), NULL), 0);
    }
    node_close(n);
    tarn_test_rmdir(dir);
}

/* A counter's value from a registry's text rendering (0 when absent). */
static uint64_t metric_value(obs_registry *reg, const char *name)
{
    tarn_buf b;
    tarn_buf_init(&b, 1u << 20);
    assert_int_equal(obs_registry_render(reg, &b), 0);
    assert_int_equal(tarn_buf_append(&b, "", 1), 0);
    const char *text = (const char *)b.data;
    size_t len = strlen(name);
    uint64_t v = 0;
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += len) {
        if ((p == text || p[-1] == '\n') && p[len] == ' ') {
            v = strtoull(p + len + 1, NULL, 10);
            break;
        }
    }
    tarn_buf_free(&b);
    return v;
}

/* A single voter leads as soon as it is open: with an election timeout of
 * at least 60 s of ticks, waiting out the timer would miss the 5 s bound;
 * and it keeps doing so after a restart (a new term, synced). */
static void test_single_voter_elects_at_open(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node-elect");
    for (int round = 0; round < 2; round++) {
        store_registry reg;
        memset(&reg, 0, sizeof(reg));
        assert_int_equal(kv_register(&reg), 0);
        node_opts o = {.data_dir = dir,
                       .election_ticks = 1200,
                       .heartbeat_ticks = 1,
                       .tick_ms = 50,
                       .durability = STORE_DURABLE_DATA};
        node *n = NULL;
        tarn_err err = TARN_ERR_INIT;
        assert_int_equal(node_open(&o, &reg, &n, &err), 0);
        assert_int_equal(node_wait_leader(n, 5000, &err), 0);
        node_status st;
        node_get_status(n, &st);
        assert_int_equal(st.term, (uint64_t)round + 1);
        kv_result r;
        store_result sr;
        assert_int_equal(put(n, "k", round ? "b" : "a", NULL, &r, &sr), 0);
        store_result_free(&sr);
        node_close(n);
    }
    tarn_test_rmdir(dir);
}

/* A Ready that changes only the commit index is written without an fsync:
 * sequential puts on the single voter cost one WAL fsync each (the entry),
 * not two (entry, then commit). Every acknowledged put survives a restart. */
static void test_commit_only_ready_not_synced(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node-commit-sync");
    obs_registry *metrics = NULL;
    assert_int_equal(obs_registry_new(&metrics), 0);
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(kv_register(&reg), 0);
    node_opts o = {.data_dir = dir,
                   .election_ticks = 2,
                   .heartbeat_ticks = 1,
                   .tick_ms = 5,
                   .metrics = metrics,
                   .durability = STORE_DURABLE_DATA};
    node *n = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(node_open(&o, &reg, &n, &err), 0);
    assert_int_equal(node_wait_leader(n, 5000, &err), 0);
    enum { PUTS = 30 };
    uint64_t before = metric_value(metrics, "tarn_wal_fsyncs_total");
    for (int i = 0; i < PUTS; i++) {
        char key[16];
        snprintf(key, sizeof(key), "c%d", i);
        kv_result r;
        store_result sr;
        assert_int_equal(put(n, key, "v", NULL, &r, &sr), 0);
        store_result_free(&sr);
    }
    uint64_t syncs = metric_value(metrics, "tarn_wal_fsyncs_total") - before;
    assert_true(syncs >= PUTS);     /* every entry was synced */
    assert_true(syncs <= PUTS + 3); /* was 2 * PUTS: one more per commit */
    node_close(n);
    n = open_leader(dir);
    for (int i = 0; i < PUTS; i++) {
        char key[16], val[8];
        snprintf(key, sizeof(key), "c%d", i);
        assert_int_equal(get(n, key, val, sizeof(val), NULL), 0);
    }
    node_close(n);
    obs_registry_free(metrics);
    tarn_test_rmdir(dir);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_propose_apply_results),
        cmocka_unit_test(test_restart_replays),
        cmocka_unit_test(test_sigkill_keeps_acknowledged),
        cmocka_unit_test(test_full_queue_busy_and_close_fails_pending),
        cmocka_unit_test(test_timeout_abandons),
        cmocka_unit_test(test_read_after_write_linearizable),
        cmocka_unit_test(test_oom_propose_and_read),
        cmocka_unit_test(test_single_voter_elects_at_open),
        cmocka_unit_test(test_commit_only_ready_not_synced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
