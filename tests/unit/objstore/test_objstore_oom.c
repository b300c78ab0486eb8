/* Out-of-memory injection over every objstore operation: each injected
 * allocation failure is an error that leaks nothing and never crashes; an
 * operation that allocates nothing is shown to succeed with every
 * allocation failing. */
#include "objstore_fixture.h"

typedef struct oom_ctx {
    fx *f;
    objstore *os;            /* open: the handle opened */
    tarn_buf buf;            /* get / get_range: the output */
    objstore_list_page page; /* list: the page */
} oom_ctx;

static int op_open(void *arg)
{
    oom_ctx *c = arg;
    char url[4200];
    snprintf(url, sizeof(url), "file://%s/sub/root", c->f->dir);
    tarn_err err = TARN_ERR_INIT;
    int rc = objstore_open(url, &c->os, &err);
    if (rc == 0)
        return 0;
    assert_null(c->os);
    assert_int_equal(rc, TARN_ENOMEM);
    return rc;
}

static void cleanup_open(void *arg)
{
    oom_ctx *c = arg;
    objstore_close(c->os);
    c->os = NULL;
}

static int op_get(void *arg)
{
    oom_ctx *c = arg;
    tarn_buf_init(&c->buf, 1 << 20);
    tarn_err err = TARN_ERR_INIT;
    int rc = objstore_get(c->f->os, "t/x/data", 1 << 20, &c->buf, &err);
    if (rc != 0) {
        assert_int_equal(rc, TARN_ENOMEM);
        assert_null(c->buf.data); /* the buffer is left as it was */
    }
    return rc;
}

static int op_get_range(void *arg)
{
    oom_ctx *c = arg;
    tarn_buf_init(&c->buf, 1 << 20);
    tarn_err err = TARN_ERR_INIT;
    int rc = objstore_get_range(c->f->os, "t/x/data", 3, 4, &c->buf, &err);
    if (rc != 0)
        assert_int_equal(rc, TARN_ENOMEM);
    else
        assert_memory_equal(c->buf.data, "3456", 4);
    return rc;
}

static void cleanup_buf(void *arg)
{
    oom_ctx *c = arg;
    tarn_buf_free(&c->buf);
}

static int op_list(void *arg)
{
    oom_ctx *c = arg;
    tarn_err err = TARN_ERR_INIT;
    int rc = objstore_list(c->f->os, "t/", NULL, 3, &c->page, &err);
    if (rc != 0) {
        assert_int_equal(rc, TARN_ENOMEM);
        assert_int_equal(c->page.count, 0);
        assert_null(c->page.entries);
    } else {
        assert_int_equal(c->page.count, 3);
        assert_true(c->page.truncated);
    }
    return rc;
}

static void cleanup_list(void *arg)
{
    oom_ctx *c = arg;
    objstore_list_page_free(&c->page);
}

static void seed_store(objstore *os)
{
    put_str(os, "t/x/data", "0123456789");
    put_str(os, "t/a", "a");
    put_str(os, "t/b/c", "c");
    put_str(os, "t/y/z/w", "w");
}

static void test_oom_open(void **state)
{
    oom_ctx c = {.f = *state};
    /* The first open registers the metric families: process-lifetime
     * memory that is not an op's to free, so do it before counting. */
    assert_int_equal(op_open(&c), 0);
    cleanup_open(&c);
    assert_true(tarn_test_oom_loop(op_open, cleanup_open, &c, 200) >= 2);
}

static void test_oom_get_and_range(void **state)
{
    oom_ctx c = {.f = *state};
    seed_store(c.f->os);
    assert_true(tarn_test_oom_loop(op_get, cleanup_buf, &c, 100) >= 1);
    assert_true(tarn_test_oom_loop(op_get_range, cleanup_buf, &c, 100) >= 1);
}

static void test_oom_list(void **state)
{
    oom_ctx c = {.f = *state};
    seed_store(c.f->os);
    /* Directory arenas, name arrays, the walk stack, the page, each key. */
    assert_true(tarn_test_oom_loop(op_list, cleanup_list, &c, 500) >= 8);
}

/* put, put_if_absent, head and del allocate nothing: with every allocation
 * failing they still succeed, and the allocation counters do not move. */
static void test_oom_allocation_free_ops(void **state)
{
    fx *f = *state;
    seed_store(f->os);
    uint64_t total = tarn_alloc_total_count();
    int64_t live = tarn_alloc_live_count();
    tarn_alloc_fail_at(1, 1);
    tarn_err err = TARN_ERR_INIT;
    objstore_info info;
    int rc_put = objstore_put(f->os, "n/e/w", "new", 3, &err);
    int rc_pia = objstore_put_if_absent(f->os, "n/e/w2", "new2", 4, &err);
    int rc_pia2 = objstore_put_if_absent(f->os, "n/e/w2", "x", 1, &err);
    int rc_head = objstore_head(f->os, "n/e/w", &info, &err);
    int rc_del = objstore_del(f->os, "t/a", &err);
    int fired = tarn_alloc_fail_fired();
    tarn_alloc_fail_at(0, 0);
    assert_int_equal(rc_put, 0);
    assert_int_equal(rc_pia, 0);
    assert_int_equal(rc_pia2, TARN_EEXIST);
    assert_int_equal(rc_head, 0);
    assert_int_equal(info.size_bytes, 3);
    assert_int_equal(rc_del, 0);
    assert_false(fired);
    assert_int_equal(tarn_alloc_total_count(), total);
    assert_int_equal(tarn_alloc_live_count(), live);
    expect_get(f->os, "n/e/w", "new");
    expect_get(f->os, "n/e/w2", "new2");
    expect_get(f->os, "t/a", NULL);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oom_open, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_oom_get_and_range, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_oom_list, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_oom_allocation_free_ops, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
