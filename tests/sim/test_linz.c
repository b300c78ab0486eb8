/*
 * tests/sim/test_linz.c: the linearizability checker must accept
 * linearizable register histories, including concurrent and never-returned
 * operations, and must reject the classic non-linearizable ones: a stale
 * read, a new-old inversion between two reads, a read of a value nobody
 * wrote, a read of a write called after the read returned.
 */
#include "common/test_util.h"

#include "linz.h"

#include <stdlib.h>

#define W(c, r, k, v)                                                                              \
    {                                                                                              \
        .call = (c), .ret = (r), .is_write = 1, .key = (k), .value = (v)                           \
    }
#define R(c, r, k, v)                                                                              \
    {                                                                                              \
        .call = (c), .ret = (r), .is_write = 0, .key = (k), .value = (v)                           \
    }
#define P LINZ_PENDING

/* Both deciders must agree; returns their verdict. */
static int check(const linz_op *ops, size_t n)
{
    char why[256], why2[256];
    linz_opts search = {.method = LINZ_SEARCH}, zones = {.method = LINZ_ZONES};
    int rc = linz_check(ops, n, &search, why, sizeof(why), NULL);
    int rc2 = linz_check(ops, n, &zones, why2, sizeof(why2), NULL);
    if (rc == LINZ_VIOLATION)
        print_message("  (search: %s; zones: %s)\n", why, why2);
    assert_int_equal(rc, rc2);
    return rc;
}

static void test_sequential_history_ok(void **state)
{
    (void)state;
    linz_op ops[] = {R(1, 2, 0, 0), W(3, 4, 0, 7), R(5, 6, 0, 7), W(7, 8, 0, 9), R(9, 10, 0, 9)};
    assert_int_equal(check(ops, 5), LINZ_OK);
}

static void test_concurrent_reads_may_see_either(void **state)
{
    (void)state;
    /* A write overlaps two reads: one sees the old value, one the new. */
    linz_op ops[] = {W(1, 2, 0, 1), W(3, 10, 0, 2), R(4, 5, 0, 1), R(6, 7, 0, 2)};
    assert_int_equal(check(ops, 4), LINZ_OK);
}

static void test_stale_read_rejected(void **state)
{
    (void)state;
    /* Write 1 returned before the read was called: reading 0 is stale. */
    linz_op ops[] = {W(1, 2, 0, 1), R(3, 4, 0, 0)};
    assert_int_equal(check(ops, 2), LINZ_VIOLATION);
}

static void test_new_old_inversion_rejected(void **state)
{
    (void)state;
    /* Write 2 is concurrent with both reads, but once a read saw 2 a later
     * read (called after it returned) may not see 1 again. */
    linz_op ops[] = {W(1, 2, 0, 1), W(3, 20, 0, 2), R(4, 5, 0, 2), R(6, 7, 0, 1)};
    assert_int_equal(check(ops, 4), LINZ_VIOLATION);
}

static void test_read_of_unwritten_value_rejected(void **state)
{
    (void)state;
    linz_op ops[] = {W(1, 2, 0, 1), R(3, 4, 0, 5)};
    assert_int_equal(check(ops, 2), LINZ_VIOLATION);
}

static void test_read_from_the_future_rejected(void **state)
{
    (void)state;
    linz_op ops[] = {R(1, 2, 0, 3), W(5, 6, 0, 3)};
    assert_int_equal(check(ops, 2), LINZ_VIOLATION);
}

static void test_pending_writes(void **state)
{
    (void)state;
    /* A write that never returned but was seen took effect; one never seen
     * may have taken effect or not. */
    linz_op ok[] = {W(1, P, 0, 4), W(2, P, 0, 5), R(10, 11, 0, 4), R(12, 13, 0, 4)};
    assert_int_equal(check(ok, 4), LINZ_OK);
    /* Seen, then an older value again: still a violation. */
    linz_op bad[] = {W(1, 2, 0, 1), W(3, P, 0, 4), R(10, 11, 0, 4), R(12, 13, 0, 1)};
    assert_int_equal(check(bad, 4), LINZ_VIOLATION);
}

static void test_keys_are_independent(void **state)
{
    (void)state;
    linz_op ok[] = {W(1, 2, 0, 1), W(3, 4, 1, 2), R(5, 6, 0, 1), R(7, 8, 1, 2)};
    assert_int_equal(check(ok, 4), LINZ_OK);
    linz_op bad[] = {W(1, 2, 0, 1), W(3, 4, 1, 2), R(5, 6, 0, 1), R(7, 8, 1, 0)};
    assert_int_equal(check(bad, 4), LINZ_VIOLATION);
}

/* Many overlapping operations: memoization keeps the search short, and a
 * single stale read at the end is still found. */
static void test_large_concurrent_history(void **state)
{
    (void)state;
    size_t n = 4000;
    linz_op *ops = calloc(n + 1, sizeof(linz_op));
    assert_non_null(ops);
    uint64_t t = 1, last = 0;
    for (size_t i = 0; i < n; i += 4) {
        /* Two overlapping writes, then reads of the later one. */
        ops[i] = (linz_op)W(t, t + 3, 0, i + 1);
        ops[i + 1] = (linz_op)W(t + 1, t + 4, 0, i + 2);
        ops[i + 2] = (linz_op)R(t + 5, t + 6, 0, i + 2);
        ops[i + 3] = (linz_op)R(t + 2, t + 7, 0, last);
        last = i + 2;
        t += 8;
        if (i % 16 == 0)
            ops[i + 3].value = i + 2; /* concurrent with the write: fine either way */
    }
    char why[256];
    linz_stats st;
    linz_opts search = {.method = LINZ_SEARCH};
    assert_int_equal(linz_check(ops, n, &search, why, sizeof(why), &st), LINZ_OK);
    assert_true(st.steps < 100 * n);
    ops[n] = (linz_op)R(t + 1, t + 2, 0, 1); /* long after write 2 returned */
    assert_int_equal(check(ops, n + 1), LINZ_VIOLATION);
    free(ops);
}

/* Many writes all overlapping defeat the search's memoization (2^k subsets
 * of them): the search gives up within its budget, and LINZ_AUTO falls
 * back to the zone test, which still finds a stale read. */
static void test_search_budget_falls_back_to_zones(void **state)
{
    (void)state;
    enum { K = 40 };
    linz_op ops[K + 3];
    for (uint64_t i = 0; i < K; i++) /* all overlap [1, 1000) */
        ops[i] = (linz_op)W(1 + i, 1000 + i, 0, i + 1);
    ops[K] = (linz_op)R(2000, 2001, 0, 7);
    ops[K + 1] = (linz_op)R(2002, 2003, 0, 7);
    linz_opts search = {.method = LINZ_SEARCH, .key_budget_steps = 100000};
    char why[256];
    linz_stats st;
    int rc = linz_check(ops, K + 2, &search, why, sizeof(why), &st);
    assert_true(rc == LINZ_OK || rc == LINZ_GAVE_UP);
    linz_opts autom = {.key_budget_steps = 100000};
    assert_int_equal(linz_check(ops, K + 2, &autom, why, sizeof(why), &st), LINZ_OK);
    ops[K + 2] = (linz_op)R(2004, 2005, 0, 9); /* 7 was last; 9 is older: stale */
    assert_int_equal(linz_check(ops, K + 3, &autom, why, sizeof(why), &st), LINZ_VIOLATION);
}

/* The two deciders agree on thousands of small random histories, half of
 * them not linearizable. */
static void test_search_and_zones_agree_on_random_histories(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL;
    size_t violations = 0, total = 20000;
    for (size_t h = 0; h < total; h++) {
        linz_op ops[10];
        size_t n = 2 + (x % 9), writes = 0;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* Calls odd, returns even, both distinct by i: all times distinct. */
            uint64_t call = 1 + (x % 40) * 32 + 2 * i;
            uint64_t ret = call + 1 + ((x >> 8) % 200) * 32;
            int is_write = (x >> 20) % 2 == 0 || writes == 0;
            uint64_t value = is_write ? ++writes : ((x >> 24) % (writes + 1));
            if (is_write && (x >> 30) % 8 == 0)
                ret = LINZ_PENDING;
            ops[i] = (linz_op){.call = call, .ret = ret, .is_write = is_write, .value = value};
        }
        char why[256];
        linz_opts search = {.method = LINZ_SEARCH}, zones = {.method = LINZ_ZONES};
        int a = linz_check(ops, n, &search, why, sizeof(why), NULL);
        int b = linz_check(ops, n, &zones, why, sizeof(why), NULL);
        if (a != b) {
            for (size_t i = 0; i < n; i++)
                print_message("  %s(%llu, %llu) value %llu\n", ops[i].is_write ? "W" : "R",
                              (unsigned long long)ops[i].call, (unsigned long long)ops[i].ret,
                              (unsigned long long)ops[i].value);
            fail_msg("history %zu: search says %d, zones say %d", h, a, b);
        }
        violations += a == LINZ_VIOLATION;
    }
    assert_true(violations > total / 10);
    assert_true(violations < total - total / 10);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential_history_ok),
        cmocka_unit_test(test_concurrent_reads_may_see_either),
        cmocka_unit_test(test_stale_read_rejected),
        cmocka_unit_test(test_new_old_inversion_rejected),
        cmocka_unit_test(test_read_of_unwritten_value_rejected),
        cmocka_unit_test(test_read_from_the_future_rejected),
        cmocka_unit_test(test_pending_writes),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_large_concurrent_history),
        cmocka_unit_test(test_search_budget_falls_back_to_zones),
        cmocka_unit_test(test_search_and_zones_agree_on_random_histories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
