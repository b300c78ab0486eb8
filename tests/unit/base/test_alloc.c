/* Tests of base/alloc: counting and failure injection. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

static void test_counts_live_allocations(void **state)
{
    (void)state;
    int64_t live = tarn_alloc_live_count();
    void *a = tarn_malloc(10);
    char *s = tarn_strdup("hello");
    assert_non_null(a);
    assert_string_equal(s, "hello");
    assert_int_equal(tarn_alloc_live_count(), live + 2);
    void *b = tarn_realloc(a, 1000);
    assert_non_null(b);
    assert_int_equal(tarn_alloc_live_count(), live + 2);
    tarn_free(b);
    tarn_free(s);
    tarn_free(NULL);
    assert_int_equal(tarn_alloc_live_count(), live);
}

static void test_fail_nth_only(void **state)
{
    (void)state;
    tarn_alloc_fail_at(3, 0);
    void *a = tarn_malloc(8);
    void *b = tarn_calloc(2, 8);
    void *c = tarn_malloc(8);
    void *d = tarn_malloc(8);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_non_null(d);
    assert_true(tarn_alloc_fail_fired());
    tarn_free(a);
    tarn_free(b);
    tarn_free(d);
    tarn_alloc_fail_at(0, 0);
    assert_false(tarn_alloc_fail_fired());
}

static void test_fail_sticky(void **state)
{
    (void)state;
    tarn_alloc_fail_at(2, 1);
    void *a = tarn_malloc(8);
    assert_non_null(a);
    for (int i = 0; i < 5; i++)
        assert_null(tarn_malloc(8));
    tarn_alloc_fail_at(0, 0);
    void *b = tarn_malloc(8);
    assert_non_null(b);
    tarn_free(a);
    tarn_free(b);
}

static void test_failed_realloc_keeps_block(void **state)
{
    (void)state;
    char *a = tarn_malloc(4);
    memcpy(a, "abc", 4);
    tarn_alloc_fail_at(1, 0);
    assert_null(tarn_realloc(a, 4096));
    tarn_alloc_fail_at(0, 0);
    assert_string_equal(a, "abc");
    tarn_free(a);
}

static void test_array_overflow_refused(void **state)
{
    (void)state;
    assert_null(tarn_malloc_array(SIZE_MAX / 2, 4));
    void *p = tarn_malloc_array(4, 4);
    assert_non_null(p);
    tarn_free(p);
}

static void test_jansson_routed_through_wrapper(void **state)
{
    (void)state;
    tarn_alloc_hook_jansson();
    int64_t live = tarn_alloc_live_count();
    json_t *j = json_loads("{\"a\": [1, 2, 3]}", 0, NULL);
    assert_non_null(j);
    assert_true(tarn_alloc_live_count() > live);
    json_decref(j);
    assert_int_equal(tarn_alloc_live_count(), live);
}

/* The OOM loop helper itself: a buffer build fails cleanly at every point. */
static int build_buffer(void *ctx)
{
    tarn_buf *b = ctx;
    tarn_buf_init(b, 1 << 20);
    for (int i = 0; i < 200; i++) {
        int rc = tarn_buf_printf(b, "line %d of some text\n", i);
        if (rc != 0) {
            tarn_buf_free(b);
            return rc;
        }
    }
    return 0;
}

static void free_buffer(void *ctx)
{
    tarn_buf_free(ctx);
}

static void test_oom_loop_over_buffer(void **state)
{
    (void)state;
    tarn_buf b;
    int points = tarn_test_oom_loop(build_buffer, free_buffer, &b, 1000);
    assert_true(points >= 5);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_live_allocations),
        cmocka_unit_test(test_fail_nth_only),
        cmocka_unit_test(test_fail_sticky),
        cmocka_unit_test(test_failed_realloc_keeps_block),
        cmocka_unit_test(test_array_overflow_refused),
        cmocka_unit_test(test_jansson_routed_through_wrapper),
        cmocka_unit_test(test_oom_loop_over_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
