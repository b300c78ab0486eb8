/* Tests of base/rand and base/clock: determinism from a seed, bounds, and
 * that the seams can be replaced. */
#include "common/test_util.h"

#include "base/clock.h"
#include "base/error.h"
#include "base/rand.h"

#include <string.h>

static void test_same_seed_same_sequence(void **state)
{
    (void)state;
    tarn_rng a, b, c;
    tarn_rng_seed(&a, 42);
    tarn_rng_seed(&b, 42);
    tarn_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = tarn_rng_next(&a);
        assert_int_equal(x, tarn_rng_next(&b));
        differ |= x != tarn_rng_next(&c);
    }
    assert_true(differ);
    /* Seed 0 is a valid seed, not a stuck generator. */
    tarn_rng z;
    tarn_rng_seed(&z, 0);
    assert_int_not_equal(tarn_rng_next(&z), tarn_rng_next(&z));
}

static void test_below_and_double_in_range(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, tarn_test_seed());
    int seen[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t v = tarn_rng_below(&r, 7);
        assert_true(v < 7);
        seen[v]++;
        double d = tarn_rng_double(&r);
        assert_true(d >= 0.0 && d < 1.0);
    }
    for (int i = 0; i < 7; i++)
        assert_true(seen[i] > 700); /* ~1000 expected; 700 is > 9 sigma off */
}

static int fixed_entropy(void *ctx, void *buf, size_t len)
{
    memset(buf, *(int *)ctx, len);
    return 0;
}

static void test_entropy_seam(void **state)
{
    (void)state;
    uint8_t a[16], b[16];
    assert_int_equal(tarn_entropy_bytes(a, sizeof(a)), 0);
    assert_int_equal(tarn_entropy_bytes(b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    int fill = 0xAB;
    tarn_entropy_set(fixed_entropy, &fill);
    assert_int_equal(tarn_entropy_bytes(a, sizeof(a)), 0);
    tarn_entropy_set(NULL, NULL);
    for (size_t i = 0; i < sizeof(a); i++)
        assert_int_equal(a[i], 0xAB);
}

static void test_clock_seam(void **state)
{
    (void)state;
    int64_t t0 = tarn_mono_ns();
    assert_true(tarn_mono_ns() >= t0);
    assert_true(tarn_wall_ms() > 1700000000000LL);
    tarn_manual_clock m = {.wall_ms = 1000, .mono_ns = 5};
    tarn_clock c = tarn_manual_clock_as_clock(&m);
    tarn_clock_set(&c);
    assert_int_equal(tarn_wall_ms(), 1000);
    assert_int_equal(tarn_mono_ns(), 5);
    m.wall_ms = -1; /* a clock step backwards before the epoch */
    assert_int_equal(tarn_wall_ms(), -1);
    tarn_clock_set(NULL);
    assert_true(tarn_wall_ms() > 1700000000000LL);
}

static void test_rfc3339(void **state)
{
    (void)state;
    char s[40];
    tarn_time_format_rfc3339(0, s, sizeof(s));
    assert_string_equal(s, "1970-01-01T00:00:00.000Z");
    tarn_time_format_rfc3339(-1, s, sizeof(s));
    assert_string_equal(s, "1969-12-31T23:59:59.999Z");
    tarn_time_format_rfc3339(951782400001LL, s, sizeof(s));
    assert_string_equal(s, "2000-02-29T00:00:00.001Z");
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_sequence),
        cmocka_unit_test(test_below_and_double_in_range),
        cmocka_unit_test(test_entropy_seam),
        cmocka_unit_test(test_clock_seam),
        cmocka_unit_test(test_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
