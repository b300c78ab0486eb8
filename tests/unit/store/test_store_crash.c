/* Crash and snapshot tests of store/: a child applying batches is killed
 * with SIGKILL at random moments and the applied index must always agree
 * exactly with the data; a snapshot streamed in random chunk sizes and
 * installed into a fresh directory equals the original key for key; an
 * install killed at random moments leaves the old state or the new one,
 * never a mix, and its leftover is removed at the next open; corrupt or
 * truncated snapshot streams are refused with the old state intact. */
#include "store_test_util.h"

#include "base/rand.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static store *open_store(const char *dir)
{
    store *st = NULL;
    tarn_err err = TARN_ERR_INIT;
    store_opts o = {.map_size_bytes = 64u << 20};
    if (store_open(dir, &o, &st, &err) != 0)
        fail_msg("store_open: %s", tarn_err_msg(&err));
    return st;
}

/* Applies batches of 1..32 ADD entries (entry i adds i to "c") forever.
 * Each batch starts up to 8 entries before the applied index, as a host
 * replaying its WAL after a restart would: those must be skipped. */
static _Noreturn void child_apply_forever(const char *dir, uint64_t seed)
{
    store_registry reg;
    st_registry(&reg);
    store *st = open_store(dir);
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    static uint8_t bufs[40][32];
    store_entry es[40];
    store_result rs[40];
    for (;;) {
        uint64_t applied = store_applied_index(st), back = tarn_rng_below(&rng, 9);
        uint64_t first = applied >= back ? applied + 1 - back : 1;
        size_t n = (size_t)(applied + 1 - first) + 1 + (size_t)tarn_rng_below(&rng, 32);
        for (size_t i = 0; i < n; i++)
            es[i] = (store_entry){first + i, 7, bufs[i], st_enc_add(bufs[i], "c", first + i)};
        if (store_apply(st, es, n, &reg, rs, NULL) != 0)
            _exit(3);
        for (size_t i = 0; i < n; i++) {
            if (rs[i].skipped != (es[i].index <= applied))
                _exit(4);
            store_result_free(&rs[i]);
        }
    }
}

/* Everything about the state must follow from the applied index alone. */
static void check_consistent(const char *dir, uint64_t *applied_out)
{
    store *st = open_store(dir);
    uint64_t a = store_applied_index(st);
    assert_int_equal(st_counter(st, "c"), a * (a + 1) / 2);
    assert_int_equal(st_table_count(st, ST_TABLE_SEEN), a);
    if (a > 0)
        assert_int_equal(store_applied_term(st), 7);
    store_close(st);
    *applied_out = a;
}

static void test_kill_during_apply(void **state)
{
    (void)state;
    uint64_t seed = tarn_test_seed();
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    char *dir = tarn_test_mkdtemp("store-crash");
    uint64_t prev = 0;
    for (int round = 0; round < 15; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_apply_forever(dir, seed + (uint64_t)round);
        struct timespec ts = {0, (long)(10 + tarn_rng_below(&rng, 140)) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status)); /* not an early exit */
        uint64_t a;
        check_consistent(dir, &a);
        assert_true(a >= prev); /* a committed batch never goes away */
        prev = a;
    }
    print_message("seed %llu: applied %llu entries across 15 kills\n", (unsigned long long)seed,
                  (unsigned long long)prev);
    tarn_test_rmdir(dir);
}

/* Fills a store with n counters (keys of varied lengths and values). */
static void fill(store *st, uint64_t first, size_t n, tarn_rng *rng)
{
    store_registry reg;
    st_registry(&reg);
    uint8_t(*bufs)[64] = calloc(n, 64);
    store_entry *es = calloc(n, sizeof(*es));
    store_result *rs = calloc(n, sizeof(*rs));
    for (size_t i = 0; i < n; i++) {
        char key[48];
        snprintf(key, sizeof(key), "k%0*llu", (int)(1 + tarn_rng_below(rng, 20)),
                 (unsigned long long)tarn_rng_below(rng, 5000));
        es[i] =
            (store_entry){first + i, 2, bufs[i], st_enc_add(bufs[i], key, tarn_rng_next(rng) >> 8)};
    }
    assert_int_equal(store_apply(st, es, n, &reg, rs, NULL), 0);
    for (size_t i = 0; i < n; i++)
        store_result_free(&rs[i]);
    free(rs);
    free(es);
    free(bufs);
}

/* Asserts two stores hold the same keys and values in every table. */
static void assert_same_state(store *a, store *b)
{
    assert_int_equal(store_applied_index(a), store_applied_index(b));
    assert_int_equal(store_applied_term(a), store_applied_term(b));
    for (int table = 1; table < 256; table++) {
        store_txn *ta, *tb;
        store_cursor *ca, *cb;
        assert_int_equal(store_read_begin(a, &ta, NULL), 0);
        assert_int_equal(store_read_begin(b, &tb, NULL), 0);
        assert_int_equal(store_cursor_open(ta, (uint8_t)table, &ca), 0);
        assert_int_equal(store_cursor_open(tb, (uint8_t)table, &cb), 0);
        const void *ka, *va, *kb, *vb;
        size_t kla, vla, klb, vlb;
        int ra = store_cursor_seek(ca, NULL, 0, &ka, &kla, &va, &vla);
        int rb = store_cursor_seek(cb, NULL, 0, &kb, &klb, &vb, &vlb);
        while (ra == 0 && rb == 0) {
            assert_int_equal(kla, klb);
            assert_memory_equal(ka, kb, kla);
            assert_int_equal(vla, vlb);
            if (vla > 0)
                assert_memory_equal(va, vb, vla);
            ra = store_cursor_next(ca, &ka, &kla, &va, &vla);
            rb = store_cursor_next(cb, &kb, &klb, &vb, &vlb);
        }
        assert_int_equal(ra, TARN_ENOENT);
        assert_int_equal(rb, TARN_ENOENT);
        store_cursor_close(ca);
        store_cursor_close(cb);
        store_read_end(ta);
        store_read_end(tb);
    }
}

/* Streams a snapshot of st into an install of dir in random chunks. */
static int stream(store *st, const char *dir, tarn_rng *rng, int corrupt_at, size_t cut_bytes,
                  tarn_err *err)
{
    store_snapshot *s;
    store_snapshot_info info;
    assert_int_equal(store_snapshot_open(st, &s, &info, err), 0);
    assert_int_equal(info.index, store_applied_index(st));
    store_install *in;
    assert_int_equal(store_install_begin(dir, &in, err), 0);
    uint8_t *buf = malloc(STORE_SNAPSHOT_CHUNK_MAX);
    uint64_t pos = 0;
    int rc = 0;
    for (;;) {
        size_t cap = 1 + (size_t)tarn_rng_below(rng, 70000), got;
        assert_int_equal(store_snapshot_read(s, buf, cap, &got, err), 0);
        if (got == 0)
            break;
        if (corrupt_at >= 0 && (uint64_t)corrupt_at >= pos && (uint64_t)corrupt_at < pos + got)
            buf[corrupt_at - (int)pos] ^= 0x10;
        pos += got;
        if (cut_bytes > 0 && pos > info.size_bytes - cut_bytes)
            got -= (size_t)(pos - (info.size_bytes - cut_bytes));
        if ((rc = store_install_write(in, buf, got, err)) != 0)
            break;
    }
    free(buf);
    store_snapshot_close(s);
    if (rc != 0) {
        store_install_abort(in);
        return rc;
    }
    assert_int_equal(pos, info.size_bytes);
    return store_install_finish(in, NULL, err);
}

static void test_snapshot_roundtrip(void **state)
{
    (void)state;
    uint64_t seed = tarn_test_seed();
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    char *src = tarn_test_mkdtemp("snap-src"), *dst = tarn_test_mkdtemp("snap-dst");
    store *a = open_store(src);
    fill(a, 1, 3000, &rng);
    tarn_err err = TARN_ERR_INIT;
    if (stream(a, dst, &rng, -1, 0, &err) != 0)
        fail_msg("seed %llu: install: %s", (unsigned long long)seed, tarn_err_msg(&err));
    store *b = open_store(dst);
    assert_int_equal(store_applied_index(b), 3000);
    assert_same_state(a, b);
    /* Both go on from there and stay equal. */
    tarn_rng r2 = rng;
    fill(a, 3001, 50, &rng);
    fill(b, 3001, 50, &r2);
    assert_same_state(a, b);
    store_close(b);
    store_close(a);
    tarn_test_rmdir(src);
    tarn_test_rmdir(dst);
}

/* Reads a whole snapshot stream of st into memory. */
static uint8_t *snapshot_bytes(store *st, size_t *len)
{
    store_snapshot *s;
    store_snapshot_info info;
    assert_int_equal(store_snapshot_open(st, &s, &info, NULL), 0);
    uint8_t *out = malloc((size_t)info.size_bytes);
    size_t pos = 0, got;
    do {
        assert_int_equal(store_snapshot_read(s, out + pos, 4096, &got, NULL), 0);
        pos += got;
    } while (got > 0);
    assert_int_equal(pos, info.size_bytes);
    store_snapshot_close(s);
    *len = pos;
    return out;
}

static int install_bytes(const char *dir, const uint8_t *p, size_t len, tarn_err *err)
{
    store_install *in;
    int rc = store_install_begin(dir, &in, err);
    if (rc != 0)
        return rc;
    for (size_t off = 0; off < len; off += 4096) {
        size_t n = len - off < 4096 ? len - off : 4096;
        if ((rc = store_install_write(in, p + off, n, err)) != 0) {
            store_install_abort(in);
            return rc;
        }
    }
    return store_install_finish(in, NULL, err);
}

static int leftover_exists(const char *dir)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/state.mdb.install", dir);
    return access(p, F_OK) == 0;
}

static void test_snapshot_bad_streams_refused(void **state)
{
    (void)state;
    uint64_t seed = tarn_test_seed();
    tarn_rng rng, r0;
    tarn_rng_seed(&rng, seed);
    char *src = tarn_test_mkdtemp("snapbad-src"), *dst = tarn_test_mkdtemp("snapbad-dst");
    char *ref = tarn_test_mkdtemp("snapbad-ref");
    store *a = open_store(src);
    fill(a, 1, 500, &rng);
    size_t len;
    uint8_t *snap = snapshot_bytes(a, &len);
    tarn_rng_seed(&r0, seed + 1);
    store *d = open_store(dst), *r = open_store(ref);
    tarn_rng r1 = r0;
    fill(d, 1, 40, &r0);
    fill(r, 1, 40, &r1);
    store_close(d);
    tarn_err err = TARN_ERR_INIT;
    size_t flips[] = {3, 20, 44, 48 + (size_t)tarn_rng_below(&rng, len - 48), len - 1};
    for (size_t i = 0; i < TARN_ARRAY_LEN(flips) + 2; i++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, snap, len);
        size_t n = len;
        if (i < TARN_ARRAY_LEN(flips))
            copy[flips[i]] ^= 0x01;
        else
            n = i == TARN_ARRAY_LEN(flips) ? len - 100 : 30; /* truncated */
        assert_int_equal(install_bytes(dst, copy, n, &err), TARN_ECORRUPT);
        free(copy);
        assert_false(leftover_exists(dst));
        d = open_store(dst);
        assert_same_state(d, r); /* the old state, untouched */
        store_close(d);
    }
    /* Trailing bytes beyond the stated length are refused too. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, snap, len);
    longer[len] = 0;
    assert_int_equal(install_bytes(dst, longer, len + 1, &err), TARN_ECORRUPT);
    free(longer);
    free(snap);
    store_close(r);
    store_close(a);
    tarn_test_rmdir(src);
    tarn_test_rmdir(dst);
    tarn_test_rmdir(ref);
}

static void test_kill_during_install(void **state)
{
    (void)state;
    uint64_t seed = tarn_test_seed();
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    char *src = tarn_test_mkdtemp("snapkill-src"), *ref = tarn_test_mkdtemp("snapkill-ref");
    store *a = open_store(src), *r = open_store(ref);
    fill(a, 1, 2000, &rng);
    size_t len;
    uint8_t *snap = snapshot_bytes(a, &len);
    tarn_rng old_rng;
    tarn_rng_seed(&old_rng, seed ^ 0x5555);
    tarn_rng keep = old_rng;
    fill(r, 1, 40, &old_rng);
    int saw_old = 0, saw_new = 0;
    for (int round = 0; round < 10; round++) {
        char *dst = tarn_test_mkdtemp("snapkill-dst");
        store *d = open_store(dst);
        old_rng = keep;
        fill(d, 1, 40, &old_rng);
        store_close(d);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            store_install *in;
            if (store_install_begin(dst, &in, NULL) != 0)
                _exit(2);
            for (size_t off = 0; off < len; off += 4096) {
                size_t n = len - off < 4096 ? len - off : 4096;
                if (store_install_write(in, snap + off, n, NULL) != 0)
                    _exit(3);
                usleep(100);
            }
            _exit(store_install_finish(in, NULL, NULL) == 0 ? 0 : 4);
        }
        struct timespec ts = {0, (long)tarn_rng_below(&rng, 20000) * 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) || WEXITSTATUS(status) == 0);
        d = open_store(dst);
        assert_false(leftover_exists(dst)); /* removed by open */
        if (store_applied_index(d) == 40) {
            assert_same_state(d, r);
            saw_old++;
        } else {
            assert_same_state(d, a);
            saw_new++;
        }
        store_close(d);
        tarn_test_rmdir(dst);
    }
    print_message("seed %llu: %d kills left the old state, %d the new\n", (unsigned long long)seed,
                  saw_old, saw_new);
    free(snap);
    store_close(r);
    store_close(a);
    tarn_test_rmdir(src);
    tarn_test_rmdir(ref);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_during_apply),
        cmocka_unit_test(test_snapshot_roundtrip),
        cmocka_unit_test(test_snapshot_bad_streams_refused),
        cmocka_unit_test(test_kill_during_install),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
