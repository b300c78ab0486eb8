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

static int check(const linz_op *ops, size_t n)
{
    char why[256];
    uint64_t steps;
    int rc = linz_check(ops, n, 0, why, sizeof(why), &steps);
    if (rc == LINZ_VIOLATION)
        print_message("  (checker: %s)\n", why);
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
    uint64_t steps = 0;
    assert_int_equal(linz_check(ops, n, 0, why, sizeof(why), &steps), LINZ_OK);
    assert_true(steps < 100 * n);
    ops[n] = (linz_op)R(t + 1, t + 2, 0, 1); /* long after write 2 returned */
    assert_int_equal(linz_check(ops, n + 1, 0, why, sizeof(why), &steps), LINZ_VIOLATION);
    free(ops);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
