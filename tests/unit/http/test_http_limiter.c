/* Tests of http/limiter: token buckets on a manual clock. */
#include "common/test_util.h"

#include "base/clock.h"
#include "http/http.h"

#include <stdio.h>

static tarn_manual_clock mc;

static int use_manual_clock(void **state)
{
    (void)state;
    mc.mono_ns = 1000000000;
    mc.wall_ms = 0;
    tarn_clock c = tarn_manual_clock_as_clock(&mc);
    tarn_clock_set(&c);
    return 0;
}

static int restore_clock(void **state)
{
    (void)state;
    tarn_clock_set(NULL);
    return 0;
}

static http_limiter *make(double read_rate, double read_burst)
{
    double rate[HTTP_ROLE_COUNT] = {0, read_rate, 0, 0};
    double burst[HTTP_ROLE_COUNT] = {0, read_burst, 0, 0};
    http_limiter *lim;
    assert_int_equal(http_limiter_new(rate, burst, &lim), 0);
    return lim;
}

static void test_burst_then_refused(void **state)
{
    (void)state;
    http_limiter *lim = make(10, 5);
    unsigned retry = 0;
    for (int i = 0; i < 5; i++)
        assert_int_equal(http_limiter_take(lim, "k1", HTTP_ROLE_READ, &retry), 0);
    assert_int_equal(http_limiter_take(lim, "k1", HTTP_ROLE_READ, &retry), TARN_ERATE);
    assert_int_equal(retry, 1);
    /* another key has its own bucket */
    assert_int_equal(http_limiter_take(lim, "k2", HTTP_ROLE_READ, &retry), 0);
    http_limiter_free(lim);
}

static void test_refill_over_time(void **state)
{
    (void)state;
    http_limiter *lim = make(10, 2);
    unsigned retry = 0;
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), 0);
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), 0);
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), TARN_ERATE);
    mc.mono_ns += 100 * 1000000; /* 100 ms at 10/s: one token */
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), 0);
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), TARN_ERATE);
    mc.mono_ns += 3600LL * 1000000000; /* an hour: capped at the burst */
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), 0);
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), 0);
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), TARN_ERATE);
    http_limiter_free(lim);
}

static void test_retry_after_rounds_up(void **state)
{
    (void)state;
    http_limiter *lim = make(0.4, 1); /* one token every 2.5 s */
    unsigned retry = 0;
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), 0);
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), TARN_ERATE);
    assert_int_equal(retry, 3);     /* 2.5 s rounds up to 3 */
    mc.mono_ns += 2000LL * 1000000; /* 0.8 token; 0.5 s to go */
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), TARN_ERATE);
    assert_int_equal(retry, 1);
    mc.mono_ns += 500LL * 1000000;
    assert_int_equal(http_limiter_take(lim, "k", HTTP_ROLE_READ, &retry), 0);
    http_limiter_free(lim);
}

static void test_zero_rate_is_unlimited(void **state)
{
    (void)state;
    http_limiter *lim = make(1, 1);
    unsigned retry = 0;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(http_limiter_take(lim, "adm", HTTP_ROLE_ADMIN, &retry), 0);
    http_limiter_free(lim);
}

static void test_bad_settings_refused(void **state)
{
    (void)state;
    double rate[HTTP_ROLE_COUNT] = {0, -1, 0, 0}, burst[HTTP_ROLE_COUNT] = {0};
    http_limiter *lim = NULL;
    assert_int_equal(http_limiter_new(rate, burst, &lim), TARN_EINVAL);
    rate[1] = 1.0 / 0.0;
    assert_int_equal(http_limiter_new(rate, burst, &lim), TARN_EINVAL);
    assert_null(lim);
}

/* More keys than the table holds: the least recently used slot is reused
 * and every key still gets its burst. */
static void test_table_full_reuses_slots(void **state)
{
    (void)state;
    http_limiter *lim = make(1, 1);
    unsigned retry = 0;
    char id[32];
    for (int i = 0; i < HTTP_LIMITER_KEYS_MAX + 100; i++) {
        snprintf(id, sizeof(id), "key%d", i);
        mc.mono_ns += 1;
        assert_int_equal(http_limiter_take(lim, id, HTTP_ROLE_READ, &retry), 0);
    }
    assert_int_equal(http_limiter_take(lim, id, HTTP_ROLE_READ, &retry), TARN_ERATE);
    http_limiter_free(lim);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_then_refused, use_manual_clock, restore_clock),
        cmocka_unit_test_setup_teardown(test_refill_over_time, use_manual_clock, restore_clock),
        cmocka_unit_test_setup_teardown(test_retry_after_rounds_up, use_manual_clock,
                                        restore_clock),
        cmocka_unit_test_setup_teardown(test_zero_rate_is_unlimited, use_manual_clock,
                                        restore_clock),
        cmocka_unit_test(test_bad_settings_refused),
        cmocka_unit_test_setup_teardown(test_table_full_reuses_slots, use_manual_clock,
                                        restore_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
