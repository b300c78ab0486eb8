/* The timestamp oracle: strictly increasing across many calls and batch
 * sizes, across clock steps backwards, across logical overflow, bounded
 * by the reserved window (EBUSY until a new window is applied), and across
 * simulated leader changes where the new leader starts from the window in
 * the replicated state (TSO reserve commands applied through store/). */
#include "kv_test_util.h"

#include "base/rand.h"

static uint64_t reserve(kvt *t, uint64_t upto_ms)
{
    tarn_buf b;
    tarn_buf_init(&b, 64);
    assert_int_equal(kv_encode_tso_reserve(&b, upto_ms), 0);
    kv_result r = kvt_apply(t, &b);
    tarn_buf_free(&b);
    assert_int_equal(r.code, TARN_OK);
    store_txn *rt;
    uint64_t stored;
    assert_int_equal(store_read_begin(t->st, &rt, NULL), 0);
    assert_int_equal(kv_tso_reserved(rt, &stored), 0);
    store_read_end(rt);
    assert_int_equal(stored, r.version);
    return r.version;
}

static void test_basic_and_limits(void **state)
{
    (void)state;
    kv_tso_state s = kv_tso_leader_start(0);
    uint64_t ts;
    assert_int_equal(kv_tso_next(&s, 1000, 1, &ts), TARN_EBUSY); /* nothing reserved */
    kv_tso_set_limit(&s, 4000);
    assert_int_equal(kv_tso_next(&s, 1000, 1, &ts), 0);
    assert_int_equal(ts, kv_tso_make(1000, 0));
    assert_int_equal(kv_tso_next(&s, 1000, 3, &ts), 0);
    assert_int_equal(ts, kv_tso_make(1000, 1));
    assert_int_equal(kv_tso_next(&s, 1000, 0, &ts), TARN_EINVAL);
    assert_int_equal(kv_tso_next(&s, 1000, KV_TSO_BATCH_MAX + 1, &ts), TARN_EINVAL);
    assert_int_equal(kv_tso_next(&s, -5, 1, &ts), TARN_ERANGE);
    uint64_t before = s.last_ts;
    assert_int_equal(kv_tso_next(&s, 4000, 1, &ts), TARN_EBUSY); /* at the window */
    assert_int_equal(s.last_ts, before);                         /* unchanged */
    kv_tso_set_limit(&s, 100);                                   /* never lowers */
    assert_int_equal(s.limit_ms, 4000);
    /* Logical overflow moves to the next ms rather than wrapping. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(kv_tso_next(&s, 2000, KV_TSO_BATCH_MAX, &ts), 0);
    assert_int_equal(kv_tso_next(&s, 2000, 1, &ts), 0);
    assert_int_equal(ts, kv_tso_make(2001, 0));
}

static void test_monotonic_random_clock(void **state)
{
    (void)state;
    uint64_t seed = tarn_test_seed();
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    kv_tso_state s = kv_tso_leader_start(0);
    kv_tso_set_limit(&s, 1u << 30);
    int64_t clock = 1000000;
    uint64_t last = 0;
    int steps_back = 0;
    for (int i = 0; i < 200000; i++) {
        uint64_t r = tarn_rng_below(&rng, 100);
        if (r < 3) {
            clock -= (int64_t)tarn_rng_below(&rng, 50); /* NTP steps back */
            clock = clock < 0 ? 0 : clock;
            steps_back++;
        } else if (r < 50) {
            clock += (int64_t)tarn_rng_below(&rng, 5);
        }
        uint32_t count =
            1 + (uint32_t)(tarn_rng_below(&rng, 10) == 0 ? tarn_rng_below(&rng, KV_TSO_BATCH_MAX)
                                                         : tarn_rng_below(&rng, 8));
        uint64_t first;
        assert_int_equal(kv_tso_next(&s, clock, count, &first), 0);
        if (first <= last)
            fail_msg("seed %llu step %d: %llu after %llu", (unsigned long long)seed, i,
                     (unsigned long long)first, (unsigned long long)last);
        last = first + count - 1;
        assert_int_equal(first >> KV_TSO_LOGICAL_BITS, last >> KV_TSO_LOGICAL_BITS);
    }
    assert_true(steps_back > 0);
}

static void test_leader_changes(void **state)
{
    (void)state;
    uint64_t seed = tarn_test_seed();
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    kvt t;
    kvt_open(&t);
    int64_t clock = 50000;
    uint64_t last = 0;
    for (int term = 0; term < 12; term++) {
        /* New leader: all committed entries applied; start from the store. */
        store_txn *rt;
        uint64_t reserved;
        assert_int_equal(store_read_begin(t.st, &rt, NULL), 0);
        assert_int_equal(kv_tso_reserved(rt, &reserved), 0);
        store_read_end(rt);
        kv_tso_state s = kv_tso_leader_start(reserved);
        /* Each leader has a different clock, some far behind. */
        clock += (int64_t)tarn_rng_below(&rng, 8000) - 6000;
        uint64_t first;
        assert_int_equal(kv_tso_next(&s, clock, 1, &first), TARN_EBUSY);
        uint64_t base = (uint64_t)clock > reserved ? (uint64_t)clock : reserved;
        kv_tso_set_limit(&s, reserve(&t, base + 3000));
        for (int i = 0; i < 500; i++) {
            clock += (int64_t)tarn_rng_below(&rng, 3);
            uint32_t count = 1 + (uint32_t)tarn_rng_below(&rng, 1000);
            int rc = kv_tso_next(&s, clock, count, &first);
            if (rc == TARN_EBUSY) {
                /* Extend the window through the log, then retry. */
                kv_tso_set_limit(&s, reserve(&t, s.limit_ms + 3000));
                rc = kv_tso_next(&s, clock, count, &first);
            }
            assert_int_equal(rc, 0);
            if (first <= last)
                fail_msg("seed %llu term %d: %llu after %llu", (unsigned long long)seed, term,
                         (unsigned long long)first, (unsigned long long)last);
            last = first + count - 1;
            assert_true((last >> KV_TSO_LOGICAL_BITS) < s.limit_ms);
        }
    }
    /* A late, smaller reservation does not shrink the window. */
    store_txn *rt;
    uint64_t before, after;
    assert_int_equal(store_read_begin(t.st, &rt, NULL), 0);
    assert_int_equal(kv_tso_reserved(rt, &before), 0);
    store_read_end(rt);
    after = reserve(&t, 1);
    assert_int_equal(after, before);
    kvt_close(&t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_and_limits),
        cmocka_unit_test(test_monotonic_random_clock),
        cmocka_unit_test(test_leader_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
