/*
 * tests/unit/exec/test_exec_parallel.c: morsel parallelism: the morsel
 * counter under threads; pipelines of source -> filter -> partial
 * aggregate on several threads merged by a final aggregate, equal to one
 * single-phase aggregate; dictionary batches shared across threads; an
 * error in one worker; the budget; bad arguments. Run under TSan by the
 * tsan preset.
 */
#include "base/alloc.h"
#include "base/rand.h"
#include "common/test_util.h"
#include "exec/exec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0 string key (dictionary codes, one dictionary shared by every batch),
 * 1 i64 value, 2 i64 divisor (0 in one row of the "bad" table). */
#define NC 3
static const vec_type_info ttypes[NC] = {{.id = VEC_STRING}, {.id = VEC_I64}, {.id = VEC_I64}};
#define NB   64
#define ROWS 700

typedef struct table {
    vec_batch b[NB];
    exec_morsels m;
} table;

static void make(table *t, tarn_rng *r, bool bad)
{
    static const char *const w[] = {"A", "N", "R", "longer key"};
    uint32_t offs[5] = {0};
    uint8_t bytes[32];
    for (int i = 0; i < 4; i++) {
        memcpy(bytes + offs[i], w[i], strlen(w[i]));
        offs[i + 1] = offs[i] + (uint32_t)strlen(w[i]);
    }
    vec_dict *d;
    assert_int_equal(vec_dict_new(offs, bytes, 4, &d), 0);
    for (int bi = 0; bi < NB; bi++) {
        vec_batch *b = &t->b[bi];
        assert_int_equal(vec_batch_init(b, ttypes, NC, ROWS), 0);
        assert_int_equal(vec_col_use_dict(&b->cols[0], d), 0);
        for (uint32_t i = 0; i < ROWS; i++) {
            b->cols[0].codes[i] = (uint32_t)tarn_rng_below(r, 4);
            ((int64_t *)b->cols[1].data)[i] = (int64_t)tarn_rng_below(r, 100);
            ((int64_t *)b->cols[2].data)[i] = bad && bi == 40 && i == 9 ? 0 : 1;
            if (tarn_rng_below(r, 20) == 0) {
                assert_int_equal(vec_col_set_null(&b->cols[0], i), 0);
                b->cols[0].codes[i] = 0;
            }
        }
        b->len = b->cols[0].len = b->cols[1].len = b->cols[2].len = ROWS;
    }
    vec_dict_release(d);
    exec_morsels_init(&t->m, NB);
}

static void unmake(table *t)
{
    for (int i = 0; i < NB; i++)
        vec_batch_free(&t->b[i]);
}

/* A source that takes batches of the table as morsels. */
static int morsel_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    (void)err;
    table *t = ctx;
    uint32_t i;
    *out = exec_morsels_take(&t->m, &i) ? &t->b[i] : NULL;
    return 0;
}

static const char *const pipeline_json =
    "{\"op\":\"aggregate\",\"phase\":\"%s\",\"keys\":[0],\"aggs\":[{\"fn\":\"count_star\"},"
    "{\"fn\":\"sum\",\"col\":3},{\"fn\":\"avg\",\"col\":1},{\"fn\":\"min\",\"col\":1}],\"input\":"
    "{\"op\":\"project\",\"exprs\":[{\"col\":0},{\"col\":1},{\"col\":2},{\"op\":\"/\",\"args\":["
    "{\"col\":1},{\"col\":2}]}],\"input\":"
    "{\"op\":\"filter\",\"pred\":{\"op\":\"<\",\"args\":[{\"col\":1},{\"const\":70,\"type\":"
    "\"i64\"}]},\"input\":{\"op\":\"source\",\"name\":\"t\"}}}}";

static int resolve(void *ctx, const char *name, exec_budget *bud, exec_op **out, tarn_err *err)
{
    (void)name;
    return exec_source_new(ttypes, NC, morsel_next, ctx, bud, out, err);
}

/* Runs the plan and returns its rows as sorted text lines (one string). */
static int run(const char *plan, table *t, exec_budget *bud, char *text, size_t cap, tarn_err *err)
{
    exec_op *root;
    exec_morsels_init(&t->m, NB);
    int rc = exec_plan_from_json(plan, resolve, t, bud, &root, err);
    if (rc != 0)
        return rc;
    rc = exec_op_open(root, err);
    const vec_batch *b;
    char lines[16][128];
    int n = 0;
    while (rc == 0 && (rc = exec_op_next(root, &b, err)) == 0 && b != NULL)
        for (uint32_t i = 0; i < b->len && n < 16; i++, n++) {
            const uint8_t *s = (const uint8_t *)"NULL";
            size_t l = 4;
            if (vec_col_is_valid(&b->cols[0], i))
                vec_col_str(&b->cols[0], i, &s, &l);
            snprintf(lines[n], sizeof(lines[n]), "%.*s %lld %lld %.9f %lld", (int)l,
                     (const char *)s, (long long)((const int64_t *)b->cols[1].data)[i],
                     (long long)((const int64_t *)b->cols[2].data)[i],
                     ((const double *)b->cols[3].data)[i],
                     (long long)((const int64_t *)b->cols[4].data)[i]);
        }
    exec_op_close(root);
    qsort(lines, (size_t)n, sizeof(lines[0]), (int (*)(const void *, const void *))strcmp);
    text[0] = 0;
    for (int i = 0; i < n; i++) {
        strncat(text, lines[i], cap - strlen(text) - 2);
        strcat(text, "\n");
    }
    return rc;
}

static void test_parallel_equals_single(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, tarn_test_seed());
    table t;
    make(&t, &r, false);
    exec_budget bud;
    exec_budget_init(&bud, 256 << 20);
    tarn_err err = TARN_ERR_INIT;
    char single[4096], par[4096], plan[4096], inner[2048];
    snprintf(plan, sizeof(plan), pipeline_json, "single");
    assert_int_equal(run(plan, &t, &bud, single, sizeof(single), &err), 0);
    assert_int_equal(bud.used_bytes, 0);
    snprintf(inner, sizeof(inner), pipeline_json, "partial");
    for (int workers = 1; workers <= 4; workers++) {
        snprintf(plan, sizeof(plan),
                 "{\"op\":\"aggregate\",\"phase\":\"final\",\"keys\":[0],\"aggs\":[{\"fn\":"
                 "\"count_star\"},{\"fn\":\"sum\"},{\"fn\":\"avg\"},{\"fn\":\"min\"}],\"input\":"
                 "{\"op\":\"parallel\",\"workers\":%d,\"input\":%s}}",
                 workers, inner);
        int rc = run(plan, &t, &bud, par, sizeof(par), &err);
        if (rc != 0)
            fail_msg("%d workers: %s", workers, tarn_err_msg(&err));
        assert_string_equal(par, single);
        assert_int_equal(bud.used_bytes, 0);
    }
    unmake(&t);
}

/* One worker meets a division by zero: the query fails with it, the
 * others stop, everything is freed. */
static void test_parallel_error_and_budget(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 8);
    table t;
    make(&t, &r, true);
    exec_budget bud;
    exec_budget_init(&bud, 256 << 20);
    tarn_err err = TARN_ERR_INIT;
    char out[4096], plan[4096], inner[2048];
    snprintf(inner, sizeof(inner), pipeline_json, "partial");
    snprintf(plan, sizeof(plan), "{\"op\":\"parallel\",\"workers\":3,\"input\":%s}", inner);
    int64_t live = tarn_alloc_live_count();
    assert_int_equal(run(plan, &t, &bud, out, sizeof(out), &err), TARN_ERANGE);
    assert_non_null(strstr(tarn_err_msg(&err), "division by zero"));
    assert_int_equal(bud.used_bytes, 0);
    assert_int_equal(tarn_alloc_live_count(), live);
    /* over budget */
    unmake(&t);
    make(&t, &r, false);
    exec_budget_init(&bud, 40 << 10);
    assert_int_equal(run(plan, &t, &bud, out, sizeof(out), &err), TARN_ENOMEM_BUDGET);
    assert_int_equal(bud.used_bytes, 0);
    assert_int_equal(tarn_alloc_live_count(), live);
    unmake(&t);
}

static int build_src(void *ctx, uint32_t worker, exec_budget *bud, exec_op **out, tarn_err *err)
{
    (void)worker;
    return exec_source_new(ttypes, NC, morsel_next, ctx, bud, out, err);
}

static void test_parallel_build_and_errors(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 9);
    table t;
    make(&t, &r, false);
    exec_budget bud;
    exec_budget_init(&bud, 256 << 20);
    tarn_err err = TARN_ERR_INIT;
    exec_op *p;
    /* a plain parallel scan: every row once, dictionary strings decoded */
    assert_int_equal(exec_parallel_build(build_src, &t, 2, &bud, &p, &err), 0);
    assert_int_equal(exec_op_open(p, &err), 0);
    const vec_batch *b;
    uint64_t rows = 0;
    while (exec_op_next(p, &b, &err) == 0 && b != NULL) {
        assert_null(b->cols[0].dict);
        rows += vec_batch_live_count(b);
    }
    assert_int_equal(rows, (uint64_t)NB * ROWS);
    exec_op_close(p);
    assert_int_equal(bud.used_bytes, 0);
    /* a consumer that stops early (LIMIT): close wakes the workers blocked
     * on the full exchange and joins them */
    for (int round = 0; round < 5; round++) {
        exec_morsels_init(&t.m, NB);
        exec_op *lim;
        assert_int_equal(exec_parallel_build(build_src, &t, 3, &bud, &p, &err), 0);
        assert_int_equal(exec_limit_new(p, 5, 0, &lim, &err), 0);
        assert_int_equal(exec_op_open(lim, &err), 0);
        rows = 0;
        while (exec_op_next(lim, &b, &err) == 0 && b != NULL)
            rows += vec_batch_live_count(b);
        assert_int_equal(rows, 5);
        exec_op_close(lim);
        assert_int_equal(bud.used_bytes, 0);
    }
    /* closed before it ever ran */
    exec_morsels_init(&t.m, NB);
    assert_int_equal(exec_parallel_build(build_src, &t, 2, &bud, &p, &err), 0);
    assert_int_equal(exec_op_open(p, &err), 0);
    exec_op_close(p);
    /* bad worker counts and schemas */
    assert_int_equal(exec_parallel_build(build_src, &t, 0, &bud, &p, &err), TARN_EINVAL);
    exec_op *two[2];
    vec_type_info other[1] = {{.id = VEC_I64}};
    assert_int_equal(exec_source_new(ttypes, NC, morsel_next, &t, &bud, &two[0], &err), 0);
    assert_int_equal(exec_source_new(other, 1, morsel_next, &t, &bud, &two[1], &err), 0);
    assert_int_equal(exec_parallel_new(two, 2, &p, &err), TARN_EINVAL);
    unmake(&t);
}

#define MORSEL_THREADS 4
#define MORSEL_COUNT   20000
static exec_morsels shared;
static uint8_t taken[MORSEL_COUNT];

static void *taker(void *arg)
{
    (void)arg;
    uint32_t i;
    while (exec_morsels_take(&shared, &i))
        __atomic_fetch_add(&taken[i], 1, __ATOMIC_RELAXED);
    return NULL;
}

static void test_morsels_each_once(void **state)
{
    (void)state;
    exec_morsels_init(&shared, MORSEL_COUNT);
    pthread_t th[MORSEL_THREADS];
    for (int i = 0; i < MORSEL_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, taker, NULL), 0);
    for (int i = 0; i < MORSEL_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < MORSEL_COUNT; i++)
        assert_int_equal(taken[i], 1);
    uint32_t x;
    assert_false(exec_morsels_take(&shared, &x));
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_morsels_each_once),
        cmocka_unit_test(test_parallel_equals_single),
        cmocka_unit_test(test_parallel_error_and_budget),
        cmocka_unit_test(test_parallel_build_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
