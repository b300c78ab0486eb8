/* Tests of store/: batches applied in one transaction, the applied index
 * across reopen, deferred commits (visibility, crash, rollback), replayed
 * prefixes skipped, gaps refused, handler results
 * rolled back, fatal errors sticky, table isolation in cursors, metrics,
 * out-of-memory over open/apply/read. */
#include "store_test_util.h"

#include "base/rand.h"
#include "obs/obs.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

typedef struct fixture {
    char *dir;
    store *st;
    store_registry reg;
} fixture;

static void reopen(fixture *f)
{
    store_close(f->st);
    f->st = NULL;
    tarn_err err = TARN_ERR_INIT;
    store_opts o = {.map_size_bytes = 64u << 20, .durability = STORE_DURABLE_NONE};
    if (store_open(f->dir, &o, &f->st, &err) != 0)
        fail_msg("store_open: %s", tarn_err_msg(&err));
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("store");
    st_registry(&f->reg);
    reopen(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* Applies ADD(key, index) for entries first..last in one batch; with
 * `open`, into the open transaction (store_apply_open), and *last_result
 * (may be NULL) gets the counter the last entry left. */
static int apply_range_mode(fixture *f, uint64_t first, uint64_t last, const char *key, int open,
                            uint64_t *last_result, tarn_err *err)
{
    size_t n = (size_t)(last - first + 1);
    store_entry *es = calloc(n, sizeof(*es));
    uint8_t(*bufs)[64] = calloc(n, 64);
    store_result *rs = calloc(n, sizeof(*rs));
    for (size_t i = 0; i < n; i++) {
        es[i].index = first + i;
        es[i].term = 1 + (first + i) / 100;
        es[i].len = st_enc_add(bufs[i], key, first + i);
        es[i].data = bufs[i];
    }
    int rc = open ? store_apply_open(f->st, es, n, &f->reg, rs, err)
                  : store_apply(f->st, es, n, &f->reg, rs, err);
    if (rc == 0 && last_result != NULL)
        *last_result = rs[n - 1].data ? st_get_u64(rs[n - 1].data) : 0;
    for (size_t i = 0; i < n; i++)
        store_result_free(&rs[i]);
    free(rs);
    free(bufs);
    free(es);
    return rc;
}

static int apply_range(fixture *f, uint64_t first, uint64_t last, const char *key, tarn_err *err)
{
    return apply_range_mode(f, first, last, key, 0, NULL, err);
}

static uint64_t tri(uint64_t n)
{
    return n * (n + 1) / 2;
}

static void test_apply_and_reopen(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_applied_index(f->st), 0);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(apply_range(f, 1, 10, "c", &err), 0);
    assert_int_equal(apply_range(f, 11, 250, "c", &err), 0);
    assert_int_equal(store_applied_index(f->st), 250);
    assert_int_equal(store_applied_term(f->st), 3);
    assert_int_equal(st_counter(f->st, "c"), tri(250));
    assert_int_equal(store_sync(f->st, &err), 0);
    reopen(f);
    assert_int_equal(store_applied_index(f->st), 250);
    assert_int_equal(store_applied_term(f->st), 3);
    assert_int_equal(st_counter(f->st, "c"), tri(250));
    assert_int_equal(st_table_count(f->st, ST_TABLE_SEEN), 250);
}

static void test_results_carry_handler_data(void **state)
{
    fixture *f = *state;
    uint8_t b[3][32];
    store_entry es[3] = {{1, 1, b[0], st_enc_add(b[0], "a", 5)},
                         {2, 1, NULL, 0},
                         {3, 1, b[2], st_enc_add(b[2], "a", 7)}};
    store_result rs[3];
    assert_int_equal(store_apply(f->st, es, 3, &f->reg, rs, NULL), 0);
    assert_int_equal(rs[0].code, TARN_OK);
    assert_int_equal(rs[0].len, 8);
    assert_int_equal(st_get_u64(rs[0].data), 5);
    assert_int_equal(rs[1].code, TARN_OK); /* empty entry: only the index */
    assert_null(rs[1].data);
    assert_int_equal(st_get_u64(rs[2].data), 12);
    for (int i = 0; i < 3; i++)
        store_result_free(&rs[i]);
    assert_int_equal(store_applied_index(f->st), 3);
}

static void test_replay_prefix_changes_nothing(void **state)
{
    fixture *f = *state;
    assert_int_equal(apply_range(f, 1, 10, "c", NULL), 0);
    /* A replay of 1..10 after a restart: all skipped. */
    assert_int_equal(apply_range(f, 1, 10, "c", NULL), 0);
    assert_int_equal(st_counter(f->st, "c"), tri(10));
    /* Overlapping: 5..10 skipped, 11..12 applied. */
    uint8_t b[8][32];
    store_entry es[8];
    store_result rs[8];
    for (int i = 0; i < 8; i++)
        es[i] = (store_entry){5 + (uint64_t)i, 1, b[i], st_enc_add(b[i], "c", 5 + (uint64_t)i)};
    assert_int_equal(store_apply(f->st, es, 8, &f->reg, rs, NULL), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(rs[i].skipped, i < 6);
        store_result_free(&rs[i]);
    }
    assert_int_equal(store_applied_index(f->st), 12);
    assert_int_equal(st_counter(f->st, "c"), tri(12));
}

static void test_gap_refused(void **state)
{
    fixture *f = *state;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(apply_range(f, 1, 3, "c", NULL), 0);
    assert_int_equal(apply_range(f, 5, 6, "c", &err), TARN_EINVAL);
    assert_non_null(strstr(err.msg, "gap"));
    uint8_t b[2][32];
    store_entry es[2] = {{4, 1, b[0], st_enc_add(b[0], "c", 4)},
                         {6, 1, b[1], st_enc_add(b[1], "c", 6)}};
    store_result rs[2];
    assert_int_equal(store_apply(f->st, es, 2, &f->reg, rs, NULL), TARN_EINVAL);
    es[0].index = 0;
    assert_int_equal(store_apply(f->st, es, 1, &f->reg, rs, NULL), TARN_EINVAL);
    assert_int_equal(store_applied_index(f->st), 3);
    assert_int_equal(st_counter(f->st, "c"), tri(3));
    assert_int_equal(apply_range(f, 4, 6, "c", NULL), 0); /* still usable */
    assert_int_equal(st_counter(f->st, "c"), tri(6));
}

static void test_deterministic_failure_is_a_result(void **state)
{
    fixture *f = *state;
    uint8_t b0[32], b2[32];
    uint8_t conflict = ST_CMD_CONFLICT, unknown = 0xEE;
    store_entry es[4] = {{1, 1, b0, st_enc_add(b0, "c", 1)},
                         {2, 1, &conflict, 1},
                         {3, 1, &unknown, 1},
                         {4, 1, b2, st_enc_add(b2, "c", 4)}};
    store_result rs[4];
    assert_int_equal(store_apply(f->st, es, 4, &f->reg, rs, NULL), 0);
    assert_int_equal(rs[0].code, TARN_OK);
    assert_int_equal(rs[1].code, TARN_ECONFLICT);
    assert_int_equal(rs[2].code, TARN_ENOTSUP);
    assert_int_equal(rs[3].code, TARN_OK);
    for (int i = 0; i < 4; i++)
        store_result_free(&rs[i]);
    assert_int_equal(store_applied_index(f->st), 4);
    assert_int_equal(st_counter(f->st, "c"), 5);
    assert_int_equal(st_counter(f->st, "partial"), 0); /* rolled back */
}

static void test_enomem_aborts_batch_not_handle(void **state)
{
    fixture *f = *state;
    uint8_t b0[32], fail[2] = {ST_CMD_FAIL, (uint8_t)-TARN_ENOMEM};
    store_entry es[2] = {{1, 1, b0, st_enc_add(b0, "c", 1)}, {2, 1, fail, 2}};
    store_result rs[2];
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(store_apply(f->st, es, 2, &f->reg, rs, &err), TARN_ENOMEM);
    assert_null(rs[0].data); /* released on error */
    assert_int_equal(store_applied_index(f->st), 0);
    assert_int_equal(st_counter(f->st, "c"), 0);
    assert_int_equal(apply_range(f, 1, 2, "c", NULL), 0);
    assert_int_equal(st_counter(f->st, "c"), 3);
}

static void test_io_error_is_sticky(void **state)
{
    fixture *f = *state;
    assert_int_equal(apply_range(f, 1, 2, "c", NULL), 0);
    uint8_t fail[2] = {ST_CMD_FAIL, (uint8_t)-TARN_EIO};
    store_entry e = {3, 1, fail, 2};
    store_result r;
    assert_int_equal(store_apply(f->st, &e, 1, &f->reg, &r, NULL), TARN_EIO);
    assert_int_equal(apply_range(f, 3, 3, "c", NULL), TARN_ESTATE);
    store_txn *t;
    assert_int_equal(store_read_begin(f->st, &t, NULL), TARN_ESTATE);
    reopen(f); /* reopening clears it; nothing of the failed batch is in */
    assert_int_equal(store_applied_index(f->st), 2);
    assert_int_equal(st_counter(f->st, "partial"), 0);
    assert_int_equal(apply_range(f, 3, 3, "c", NULL), 0);
}

/* Deferred commit: calls build on each other's uncommitted effects,
 * readers see none of them until store_commit, and sync and snapshots
 * wait for the commit. */
static void test_deferred_commit_visibility(void **state)
{
    fixture *f = *state;
    tarn_err err = TARN_ERR_INIT;
    uint64_t r = 0;
    assert_int_equal(apply_range_mode(f, 1, 10, "c", 1, &r, &err), 0);
    assert_int_equal(r, tri(10));
    assert_int_equal(apply_range_mode(f, 11, 20, "c", 1, &r, &err), 0);
    assert_int_equal(r, tri(20)); /* entry 20 saw 1..19, uncommitted */
    assert_int_equal(store_open_index(f->st), 20);
    assert_int_equal(store_open_entries(f->st), 20);
    assert_int_equal(store_applied_index(f->st), 0);
    assert_int_equal(st_counter(f->st, "c"), 0); /* a reader sees the committed state */
    assert_int_equal(store_sync(f->st, &err), TARN_EINVAL);
    store_snapshot *snap = NULL;
    store_snapshot_info info;
    assert_int_equal(store_snapshot_open(f->st, &snap, &info, &err), TARN_EINVAL);
    assert_null(snap);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(store_applied_index(f->st), 20);
    assert_int_equal(store_applied_term(f->st), 1);
    assert_int_equal(store_open_entries(f->st), 0);
    assert_int_equal(st_counter(f->st, "c"), tri(20));
    assert_int_equal(st_table_count(f->st, ST_TABLE_SEEN), 20);
    assert_int_equal(store_commit(f->st, &err), 0); /* nothing open: a no-op */
    assert_int_equal(store_sync(f->st, &err), 0);
}

/* A close (a crash, for the store) before the commit loses exactly the
 * uncommitted calls; replaying them gives the same results. */
static void test_deferred_crash_replays_same_results(void **state)
{
    fixture *f = *state;
    tarn_err err = TARN_ERR_INIT;
    uint64_t before = 0, after = 0;
    assert_int_equal(apply_range_mode(f, 1, 5, "c", 1, NULL, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(apply_range_mode(f, 6, 9, "c", 1, &before, &err), 0);
    reopen(f);
    assert_int_equal(store_applied_index(f->st), 5);
    assert_int_equal(store_open_index(f->st), 5);
    assert_int_equal(st_counter(f->st, "c"), tri(5));
    /* The host replays from an earlier index: 1..5 skipped. */
    assert_int_equal(apply_range_mode(f, 1, 9, "c", 1, &after, &err), 0);
    assert_int_equal(after, before);
    assert_int_equal(store_open_entries(f->st), 4);
    /* A rollback drops the open transaction, and the next call must again
     * follow the committed index. */
    store_rollback(f->st);
    assert_int_equal(store_open_index(f->st), 5);
    assert_int_equal(apply_range_mode(f, 7, 7, "c", 1, NULL, &err), TARN_EINVAL);
    assert_int_equal(apply_range_mode(f, 6, 9, "c", 1, &after, &err), 0);
    assert_int_equal(after, before);
    assert_int_equal(store_commit(f->st, &err), 0);
    reopen(f);
    assert_int_equal(store_applied_index(f->st), 9);
    assert_int_equal(st_counter(f->st, "c"), tri(9));
}

/* An error in a later call rolls back the earlier uncommitted calls too;
 * the handle stays usable (out of memory is not fatal). */
static void test_deferred_error_rolls_back_everything_open(void **state)
{
    fixture *f = *state;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(apply_range_mode(f, 1, 3, "c", 1, NULL, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(apply_range_mode(f, 4, 6, "c", 1, NULL, &err), 0);
    uint8_t b0[32], fail[2] = {ST_CMD_FAIL, (uint8_t)-TARN_ENOMEM};
    store_entry es[2] = {{7, 1, b0, st_enc_add(b0, "c", 7)}, {8, 1, fail, 2}};
    store_result rs[2];
    assert_int_equal(store_apply_open(f->st, es, 2, &f->reg, rs, &err), TARN_ENOMEM);
    assert_null(rs[0].data);
    assert_int_equal(store_open_index(f->st), 3); /* 4..6 went too */
    assert_int_equal(store_open_entries(f->st), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(store_applied_index(f->st), 3);
    assert_int_equal(st_counter(f->st, "c"), tri(3));
    assert_int_equal(apply_range_mode(f, 4, 8, "c", 1, NULL, &err), 0);
    assert_int_equal(store_commit(f->st, &err), 0);
    assert_int_equal(st_counter(f->st, "c"), tri(8));
}

static void test_registry_and_keys(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_registry_set(&f->reg, ST_CMD_ADD, st_add, NULL), TARN_EEXIST);
    assert_int_equal(store_registry_set(&f->reg, 0, st_add, NULL), TARN_EINVAL);
    store_txn *t;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    char big[STORE_KEY_MAX_BYTES + 1];
    memset(big, 'k', sizeof(big));
    const void *v;
    size_t vl;
    assert_int_equal(store_txn_get(t, 1, big, sizeof(big), &v, &vl), TARN_EINVAL);
    assert_int_equal(store_txn_get(t, 1, big, 0, &v, &vl), TARN_EINVAL);
    assert_int_equal(store_txn_get(t, 1, big, STORE_KEY_MAX_BYTES, &v, &vl), TARN_ENOENT);
    assert_int_equal(store_txn_put(t, 1, "a", 1, "b", 1), TARN_EINVAL); /* read-only */
    assert_int_equal(store_txn_index(t), 0);
    /* The meta table is not visible through another table's cursor. */
    store_cursor *c;
    assert_int_equal(store_cursor_open(t, ST_TABLE_CTR, &c), 0);
    const void *k;
    size_t kl;
    assert_int_equal(store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl), TARN_ENOENT);
    store_cursor_close(c);
    store_read_end(t);
}

static void test_cursor_order_and_bounds(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"b", "a", "c", "ab", "\xff"};
    uint8_t b[5][32];
    store_entry es[5];
    store_result rs[5];
    for (int i = 0; i < 5; i++)
        es[i] = (store_entry){1 + (uint64_t)i, 1, b[i], st_enc_add(b[i], keys[i], 1)};
    assert_int_equal(store_apply(f->st, es, 5, &f->reg, rs, NULL), 0);
    for (int i = 0; i < 5; i++)
        store_result_free(&rs[i]);
    store_txn *t;
    store_cursor *c;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(store_cursor_open(t, ST_TABLE_CTR, &c), 0);
    const void *k, *v;
    size_t kl, vl;
    assert_int_equal(store_cursor_seek(c, "aa", 2, &k, &kl, &v, &vl), 0);
    assert_memory_equal(k, "ab", 2);
    const char *want[] = {"b", "c", "\xff"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_cursor_next(c, &k, &kl, &v, &vl), 0);
        assert_int_equal(kl, strlen(want[i]));
        assert_memory_equal(k, want[i], kl);
    }
    /* The next table (seen-markers) is not part of this one. */
    assert_int_equal(store_cursor_next(c, &k, &kl, &v, &vl), TARN_ENOENT);
    store_cursor_close(c);
    store_read_end(t);
}

/* Readers on other threads see whole batches: in every view the counter
 * equals the sum over exactly the applied entries the view reports. */
typedef struct reader_ctx {
    store *st;
    atomic_int stop;
    atomic_long views; /* both readers count here */
    atomic_int bad;
} reader_ctx;

static void *reader_main(void *p)
{
    reader_ctx *c = p;
    while (!atomic_load(&c->stop)) {
        store_txn *t;
        if (store_read_begin(c->st, &t, NULL) != 0) {
            c->bad = 1;
            break;
        }
        uint64_t idx, term, cur = 0;
        const void *v;
        size_t vl;
        if (store_txn_applied(t, &idx, &term) != 0)
            c->bad = 1;
        if (store_txn_get(t, ST_TABLE_CTR, "c", 1, &v, &vl) == 0)
            cur = st_get_u64(v);
        if (cur != tri(idx))
            c->bad = 1;
        store_read_end(t);
        c->views++;
        sched_yield(); /* two cores: leave the writer room */
    }
    return NULL;
}

static void test_concurrent_readers_see_whole_batches(void **state)
{
    fixture *f = *state;
    reader_ctx c = {.st = f->st};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &c), 0);
    for (uint64_t i = 1; i <= 1000; i += 20)
        assert_int_equal(apply_range(f, i, i + 19, "c", NULL), 0);
    atomic_store(&c.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(c.bad, 0);
    assert_true(c.views > 0);
}

static void test_metrics(void **state)
{
    fixture *f = *state;
    assert_int_equal(apply_range(f, 1, 7, "c", NULL), 0);
    tarn_buf out;
    tarn_buf_init(&out, TARN_BUF_UNBOUNDED);
    assert_int_equal(obs_registry_render(obs_global(), &out), 0);
    assert_non_null(strstr(tarn_buf_cstr(&out), "tarn_store_applied_index 7"));
    assert_non_null(strstr(tarn_buf_cstr(&out), "tarn_store_apply_batch_entries_count"));
    assert_non_null(strstr(tarn_buf_cstr(&out), "tarn_store_apply_duration_seconds_bucket"));
    tarn_buf_free(&out);
}

static void test_bad_dir_and_foreign_file(void **state)
{
    fixture *f = *state;
    store *st = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_not_equal(store_open("/nonexistent/dir/x", NULL, &st, &err), 0);
    assert_null(st);
    char *d = tarn_test_mkdtemp("store-foreign");
    char path[512];
    snprintf(path, sizeof(path), "%s/state.mdb", d);
    char junk[8192];
    memset(junk, 0x5a, sizeof(junk));
    tarn_test_write_file(path, junk, sizeof(junk));
    assert_int_equal(store_open(d, NULL, &st, &err), TARN_ECORRUPT);
    assert_null(st);
    tarn_test_rmdir(d);
    (void)f;
}

/* ---- out of memory ---- */

typedef struct oom_ctx {
    char *dir;
    store_registry reg;
    uint64_t next;
} oom_ctx;

static int oom_op(void *p)
{
    oom_ctx *c = p;
    store *st = NULL;
    store_opts o = {.map_size_bytes = 16u << 20, .durability = STORE_DURABLE_NONE};
    int rc = store_open(c->dir, &o, &st, NULL);
    if (rc != 0)
        return rc;
    uint8_t b[2][32];
    uint64_t i = store_applied_index(st) + 1;
    store_entry es[2] = {{i, 1, b[0], st_enc_add(b[0], "c", i)},
                         {i + 1, 1, b[1], st_enc_add(b[1], "c", i + 1)}};
    store_result rs[2];
    rc = store_apply(st, es, 2, &c->reg, rs, NULL);
    store_result_free(&rs[0]);
    store_result_free(&rs[1]);
    store_txn *t = NULL;
    if (rc == 0)
        rc = store_read_begin(st, &t, NULL);
    if (rc == 0) {
        const void *v;
        size_t vl;
        rc = store_txn_get(t, ST_TABLE_CTR, "c", 1, &v, &vl);
        if (rc == 0 && st_get_u64(v) != tri(i + 1))
            rc = TARN_EINTERNAL;
        store_read_end(t);
    }
    store_close(st);
    return rc;
}

static void test_oom_open_apply_read(void **state)
{
    (void)state;
    oom_ctx c = {.dir = tarn_test_mkdtemp("store-oom")};
    st_registry(&c.reg);
    int n = tarn_test_oom_loop(oom_op, NULL, &c, 200);
    assert_true(n >= 4);
    tarn_test_rmdir(c.dir);
}

/* Snapshot out of one store and install into another, failing each
 * allocation in turn: an error, no leak, and the target stays openable. */
typedef struct snap_oom_ctx {
    store *src;
    char *dst;
} snap_oom_ctx;

static int snap_oom_op(void *p)
{
    snap_oom_ctx *c = p;
    store_snapshot *s = NULL;
    store_install *in = NULL;
    store_snapshot_info info;
    uint8_t buf[8192];
    size_t got;
    int rc = store_snapshot_open(c->src, &s, &info, NULL);
    if (rc == 0)
        rc = store_install_begin(c->dst, &in, NULL);
    while (rc == 0) {
        if ((rc = store_snapshot_read(s, buf, sizeof(buf), &got, NULL)) != 0 || got == 0)
            break;
        rc = store_install_write(in, buf, got, NULL);
    }
    if (rc == 0) {
        rc = store_install_finish(in, NULL, NULL);
        in = NULL;
    }
    store_install_abort(in);
    store_snapshot_close(s);
    return rc;
}

static void test_oom_snapshot_install(void **state)
{
    fixture *f = *state;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(apply_range(f, 1, 300, "c", &err), 0);
    snap_oom_ctx c = {.src = f->st, .dst = tarn_test_mkdtemp("store-oom-snap")};
    assert_true(tarn_test_oom_loop(snap_oom_op, NULL, &c, 100) >= 3);
    store *st = NULL;
    assert_int_equal(store_open(c.dst, NULL, &st, &err), 0);
    assert_int_equal(store_applied_index(st), 300);
    assert_int_equal(st_counter(st, "c"), tri(300));
    store_close(st);
    tarn_test_rmdir(c.dst);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apply_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_carry_handler_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_prefix_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deterministic_failure_is_a_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enomem_aborts_batch_not_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_io_error_is_sticky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_commit_visibility, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_crash_replays_same_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_error_rolls_back_everything_open, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_registry_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_order_and_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers_see_whole_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_dir_and_foreign_file, setup, teardown),
        cmocka_unit_test(test_oom_open_apply_read),
        cmocka_unit_test_setup_teardown(test_oom_snapshot_install, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
