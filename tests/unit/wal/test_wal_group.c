/* Tests of wal_submit (group commit): many threads, every acknowledged
 * record present byte for byte after reopen, far fewer syncs than
 * records; a full queue answers TARN_EBUSY at once; bad indexes are
 * refused without harming the others. */
#include "fault_vfs.h"
#include "wal_test_util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>

#define THREADS     8
#define PER_THREAD  150
#define PAYLOAD_MAX 64

typedef struct acked {
    uint64_t index;
    char payload[PAYLOAD_MAX];
    size_t len;
} acked;

typedef struct worker {
    wal *w;
    int id;
    acked acks[PER_THREAD];
    int count;
    int errors;
} worker;

static void *worker_main(void *arg)
{
    worker *k = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        acked *a = &k->acks[k->count];
        int n = snprintf(a->payload, sizeof(a->payload), "thread %d record %d%.*s", k->id, i,
                         i % 13, "xxxxxxxxxxxxx");
        a->len = (size_t)n;
        wal_entry e = {.index = 0, .term = 1, .data = (const uint8_t *)a->payload, .len = a->len};
        tarn_err err = TARN_ERR_INIT;
        int rc = wal_submit(k->w, &e, 1, NULL, &err);
        if (rc != 0) {
            k->errors++;
            continue;
        }
        a->index = e.index;
        k->count++;
    }
    return NULL;
}

static void test_group_commit_threads(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("walg");
    fault_vfs fv;
    fault_vfs_init(&fv);
    fv.sync_delay_us = 1000; /* a disk-like sync, so batches form */
    wal_opts o = {.vfs = &fv.vfs, .segment_size_bytes = 64 * 1024, .submit_queue_max = 64};
    wal *w;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_open(dir, &o, &w, &r, &err), 0);
    wal_recovered_free(&r);
    static worker ws[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ws[i] = (worker){.w = w, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &ws[i]), 0);
    }
    size_t records = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ws[i].errors, 0);
        records += (size_t)ws[i].count;
    }
    wal_stats st;
    wal_get_stats(w, &st);
    printf("# %zu records, %" PRIu64 " fsyncs, %" PRIu64 " batches\n", records, st.fsyncs,
           st.batches);
    assert_int_equal(records, THREADS * PER_THREAD);
    assert_true(st.fsyncs * 2 <= records); /* group commit shares syncs */
    wal_close(w);
    o.vfs = NULL;
    assert_int_equal(wal_open(dir, &o, &w, &r, &err), 0);
    assert_int_equal(r.last_index, records);
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < ws[i].count; j++) {
            const acked *a = &ws[i].acks[j];
            const wal_entry *e = &r.entries[a->index - 1];
            assert_int_equal(e->index, a->index);
            assert_int_equal(e->len, a->len);
            assert_memory_equal(e->data, a->payload, a->len);
        }
    wal_recovered_free(&r);
    wal_close(w);
    fault_vfs_destroy(&fv);
    tarn_test_rmdir(dir);
}

typedef struct one_submit {
    wal *w;
    int rc;
} one_submit;

static void *submit_one(void *arg)
{
    one_submit *s = arg;
    wal_entry e = {.index = 0, .term = 1, .data = (const uint8_t *)"held", .len = 4};
    wal_hard_state hs = {.term = 1, .vote = 3, .commit = 1};
    tarn_err err = TARN_ERR_INIT;
    s->rc = wal_submit(s->w, &e, 1, &hs, &err);
    return NULL;
}

static void test_full_queue_is_busy(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("walb");
    fault_vfs fv;
    fault_vfs_init(&fv);
    wal_opts o = {.vfs = &fv.vfs, .submit_queue_max = 1};
    wal *w;
    wal_recovered r;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(wal_open(dir, &o, &w, &r, &err), 0);
    wal_recovered_free(&r);
    fv.hold_syncs = 1;
    one_submit s = {.w = w, .rc = -100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, submit_one, &s), 0);
    fault_vfs_wait_held(&fv, 1); /* the first request is being synced */
    wal_entry e = {.index = 0, .term = 1};
    assert_int_equal(wal_submit(w, &e, 1, NULL, &err), TARN_EBUSY);
    assert_int_equal(err.code, TARN_EBUSY);
    fault_vfs_release(&fv);
    pthread_join(th, NULL);
    assert_int_equal(s.rc, 0);
    /* Now there is room; an index that leaves a gap is refused alone. */
    wal_entry gap = {.index = 5, .term = 1};
    assert_int_equal(wal_submit(w, &gap, 1, NULL, &err), TARN_EINVAL);
    e.index = 0;
    assert_int_equal(wal_submit(w, &e, 1, NULL, &err), 0);
    assert_int_equal(e.index, 2);
    wal_close(w);
    o.vfs = NULL;
    assert_int_equal(wal_open(dir, &o, &w, &r, &err), 0);
    assert_int_equal(r.last_index, 2);
    assert_int_equal(r.entries[0].len, 4);
    assert_memory_equal(r.entries[0].data, "held", 4);
    assert_true(r.has_hard_state);
    assert_int_equal(r.hard_state.vote, 3);
    wal_recovered_free(&r);
    wal_close(w);
    fault_vfs_destroy(&fv);
    tarn_test_rmdir(dir);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_commit_threads),
        cmocka_unit_test(test_full_queue_is_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
