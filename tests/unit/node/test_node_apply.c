/* Tests of node/'s apply thread (apply.c) on one voter: committed entries
 * are applied exactly once and in order although the loop hands them over
 * and goes on (a process killed with entries still queued for apply
 * replays them at the next open, none twice, none skipped), and a read
 * barrier returns only once the store a reader then opens has applied the
 * barrier's read index. The store runs with STORE_DURABLE_FULL, two fsyncs
 * per LMDB commit, so that apply lags behind the WAL and the queue between
 * the threads is used. */
#include "common/test_util.h"

#include "base/buf.h"
#include "kv/kv.h"
#include "node/node.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { WRITERS = 6 };

static node *open_voter(const char *dir)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(kv_register(&reg), 0);
    node_opts o = {.data_dir = dir,
                   .election_ticks = 2,
                   .heartbeat_ticks = 1,
                   .tick_ms = 5,
                   .log_keep_entries = 64, /* compaction (a drain) now and then */
                   .durability = STORE_DURABLE_FULL};
    node *n = NULL;
    tarn_err err = TARN_ERR_INIT;
    if (node_open(&o, &reg, &n, &err) != 0)
        fail_msg("node_open: %s", tarn_err_msg(&err));
    if (node_wait_leader(n, 10000, &err) != 0)
        fail_msg("node_wait_leader: %s", tarn_err_msg(&err));
    return n;
}

static int put_u(node *n, const char *key, unsigned v)
{
    char val[16];
    snprintf(val, sizeof(val), "%u", v);
    tarn_buf b;
    tarn_buf_init(&b, KV_CMD_MAX_BYTES);
    assert_int_equal(kv_encode_put(&b, key, strlen(key), val, strlen(val), NULL), 0);
    store_result sr;
    memset(&sr, 0, sizeof(sr));
    tarn_err err = TARN_ERR_INIT;
    int rc = node_propose(n, b.data, b.len, 10000, &sr, &err);
    tarn_buf_free(&b);
    store_result_free(&sr);
    return rc;
}

/* Reads key: its value as a number and its version (0, 0 when absent). */
static void get_u(node *n, const char *key, unsigned *val, uint64_t *version)
{
    store_txn *txn = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(node_read_begin(n, &txn, &err), 0);
    kv_item it;
    int rc = kv_get(txn, key, strlen(key), &it);
    *val = 0;
    *version = 0;
    if (rc == 0) {
        char buf[16];
        assert_true(it.value_len < sizeof(buf));
        memcpy(buf, it.value, it.value_len);
        buf[it.value_len] = '\0';
        *val = (unsigned)strtoul(buf, NULL, 10);
        *version = it.version;
    } else {
        assert_int_equal(rc, TARN_ENOENT);
    }
    node_read_end(n, txn);
}

/* ---- exactly once across kills ---------------------------------------- */

typedef struct ack {
    uint32_t writer, value;
} ack;

typedef struct child_writer {
    node *n;
    int round, id, fd;
} child_writer;

/* Puts r<round>w<id> = 1, 2, 3 ... and reports each acknowledgement. */
static void *child_write(void *arg)
{
    child_writer *c = arg;
    char key[32];
    snprintf(key, sizeof(key), "r%dw%d", c->round, c->id);
    for (uint32_t i = 1;; i++) {
        if (put_u(c->n, key, i) != 0)
            _exit(3);
        ack a = {(uint32_t)c->id, i};
        if (write(c->fd, &a, sizeof(a)) != (ssize_t)sizeof(a)) /* atomic: < PIPE_BUF */
            _exit(4);
    }
    return NULL;
}

static void child_main(const char *dir, int round, int fd)
{
    node *n = open_voter(dir);
    child_writer cw[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        cw[i] = (child_writer){.n = n, .round = round, .id = i, .fd = fd};
        if (pthread_create(&th[i], NULL, child_write, &cw[i]) != 0)
            _exit(5);
    }
    for (;;)
        pause(); /* until SIGKILL */
}

/* Every key's version counts the times its puts were applied; put number
 * i sets value i, so version == value means each was applied exactly once
 * (a skipped one leaves version < value, a doubled one version > value),
 * and value >= the last acknowledged i means nothing acknowledged was
 * lost. */
static void check_round(node *n, int round, const uint32_t *last_acked)
{
    for (int w = 0; w < WRITERS; w++) {
        char key[32];
        snprintf(key, sizeof(key), "r%dw%d", round, w);
        unsigned val;
        uint64_t version;
        get_u(n, key, &val, &version);
        if (version != val || val < last_acked[w])
            fail_msg("round %d key %s: value %u version %llu, last acknowledged %u", round, key,
                     val, (unsigned long long)version, last_acked[w]);
    }
}

static void test_apply_exactly_once_across_kills(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node-apply-kill");
    enum { ROUNDS = 4 };
    uint32_t last[ROUNDS][WRITERS];
    memset(last, 0, sizeof(last));
    srand((unsigned)tarn_test_seed());
    for (int round = 0; round < ROUNDS; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child_main(dir, round, p[1]);
        }
        close(p[1]);
        unsigned want = 60u + (unsigned)(rand() % 240);
        ack a;
        for (unsigned got = 0; got < want && read(p[0], &a, sizeof(a)) == (ssize_t)sizeof(a);
             got++) {
            assert_true(a.writer < WRITERS);
            assert_true(a.value > last[round][a.writer]);
            last[round][a.writer] = a.value;
        }
        kill(pid, SIGKILL); /* with writes in the WAL, the apply queue, LMDB */
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        /* Acknowledgements still in the pipe count too. */
        while (read(p[0], &a, sizeof(a)) == (ssize_t)sizeof(a))
            last[round][a.writer] = a.value;
        close(p[0]);
        node *n = open_voter(dir);
        node_status st;
        node_get_status(n, &st);
        assert_int_equal(st.applied_index, st.commit_index); /* the no-op and all before it */
        for (int r = 0; r <= round; r++)
            check_round(n, r, last[r]);
        node_close(n);
    }
    tarn_test_rmdir(dir);
}

/* ---- read barriers wait for the apply thread ---------------------------- */

typedef struct load {
    node *n;
    int id;
    atomic_int *stop;
    int errors;
} load;

/* Puts load<id> = 1, 2, 3 ...; two puts in three are read back, after a
 * read barrier or after node_answered_barrier (a serializable read): an
 * acknowledged put is answered from the apply thread's open transaction,
 * before the store commits it (README "Deferred store commits"), so the
 * read must make either barrier wait for that commit. */
static void *load_write(void *arg)
{
    load *l = arg;
    char key[32];
    snprintf(key, sizeof(key), "load%d", l->id);
    for (unsigned i = 1; !atomic_load(l->stop); i++) {
        if (put_u(l->n, key, i) != 0) {
            l->errors++;
            continue;
        }
        if (i % 3 == 2)
            continue;
        tarn_err err = TARN_ERR_INIT;
        unsigned v = 0;
        uint64_t version = 0;
        /* Linearizable, or serializable (only what this member answered). */
        int rc = i % 3 == 0 ? node_read_barrier(l->n, 10000, NULL, &err)
                            : node_answered_barrier(l->n, 10000, &err);
        if (rc != 0) {
            l->errors++;
            continue;
        }
        get_u(l->n, key, &v, &version);
        if (v != i)
            l->errors++; /* its own acknowledged write is not visible */
    }
    return NULL;
}

/* What a reader opened after a barrier sees has applied the barrier's read
 * index (apply.c invariant 2), while writers keep the apply thread busy
 * and read their own writes back. */
static void test_read_barrier_waits_for_apply(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("node-apply-read");
    node *n = open_voter(dir);
    atomic_int stop = 0;
    load ls[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        ls[i] = (load){.n = n, .id = i, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, load_write, &ls[i]), 0);
    }
    uint64_t prev = 0;
    for (int i = 0; i < 300; i++) {
        uint64_t ri = 0;
        tarn_err err = TARN_ERR_INIT;
        assert_int_equal(node_read_barrier(n, 10000, &ri, &err), 0);
        store_txn *txn = NULL;
        assert_int_equal(node_read_begin(n, &txn, &err), 0);
        uint64_t applied = 0, term = 0;
        assert_int_equal(store_txn_applied(txn, &applied, &term), 0);
        node_read_end(n, txn);
        if (applied < ri)
            fail_msg("barrier %d: read index %llu, but a reader sees applied %llu", i,
                     (unsigned long long)ri, (unsigned long long)applied);
        assert_true(ri >= prev); /* read indexes never go back */
        prev = ri;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ls[i].errors, 0);
    }
    assert_true(prev > 0);
    node_close(n);
    tarn_test_rmdir(dir);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_exactly_once_across_kills),
        cmocka_unit_test(test_read_barrier_waits_for_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
