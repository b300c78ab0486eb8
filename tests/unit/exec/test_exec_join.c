/*
 * tests/unit/exec/test_exec_join.c: the hash join (inner, left, cross,
 * residual predicates) against a nested-loop reference over random tables
 * with NULL keys, duplicates, string keys in flat and dictionary form,
 * several build chunks and outputs spanning batches; empty inputs; the
 * budget; bad plans.
 */
#include "base/alloc.h"
#include "base/rand.h"
#include "common/test_util.h"
#include "exec/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tables: 0 i64 key, 1 string key, 2 i64 value. */
#define NC 3
static const vec_type_info ttypes[NC] = {{.id = VEC_I64}, {.id = VEC_STRING}, {.id = VEC_I64}};
static const char *const keywords[] = {"a", "bb", "", "c\xc3\xa9", "dd", "e"};
#define NKW 6

typedef struct table {
    vec_batch *b;
    uint32_t n, pos;
} table;

static void make_table(table *t, tarn_rng *r, uint32_t rows, uint32_t keys, bool dict)
{
    uint32_t per = 1000;
    t->n = (rows + per - 1) / per;
    t->pos = 0;
    t->b = calloc(t->n ? t->n : 1, sizeof(vec_batch));
    for (uint32_t bi = 0; bi < t->n; bi++) {
        vec_batch *b = &t->b[bi];
        uint32_t len = rows - bi * per < per ? rows - bi * per : per;
        assert_int_equal(vec_batch_init(b, ttypes, NC, per), 0);
        if (dict) {
            uint32_t offs[NKW + 1] = {0};
            uint8_t bytes[64];
            for (int w = 0; w < NKW; w++) {
                memcpy(bytes + offs[w], keywords[w], strlen(keywords[w]));
                offs[w + 1] = offs[w] + (uint32_t)strlen(keywords[w]);
            }
            vec_dict *d;
            assert_int_equal(vec_dict_new(offs, bytes, NKW, &d), 0);
            assert_int_equal(vec_col_use_dict(&b->cols[1], d), 0);
            vec_dict_release(d);
        }
        for (uint32_t i = 0; i < len; i++) {
            ((int64_t *)b->cols[0].data)[i] = (int64_t)tarn_rng_below(r, keys);
            uint32_t w = (uint32_t)tarn_rng_below(r, NKW);
            if (dict)
                b->cols[1].codes[i] = w;
            else
                assert_int_equal(vec_col_append_str(&b->cols[1], keywords[w], strlen(keywords[w])),
                                 0);
            ((int64_t *)b->cols[2].data)[i] = (int64_t)tarn_rng_below(r, 100);
            for (int c = 0; c < 2; c++)
                if (tarn_rng_below(r, 12) == 0) {
                    assert_int_equal(vec_col_set_null(&b->cols[c], i), 0);
                    if (c == 1 && dict)
                        b->cols[1].codes[i] = 0;
                }
        }
        b->len = b->cols[0].len = b->cols[2].len = len;
        if (dict)
            b->cols[1].len = len;
        if (tarn_rng_below(r, 2)) { /* a selection over some batches */
            uint32_t *sel = malloc(len * sizeof(uint32_t)), n = 0;
            for (uint32_t i = 0; i < len; i++)
                if (tarn_rng_below(r, 4) != 0)
                    sel[n++] = i;
            assert_int_equal(vec_batch_select(b, sel, n), 0);
            free(sel);
        }
    }
}

static void free_table(table *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        vec_batch_free(&t->b[i]);
    free(t->b);
}

static int table_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    (void)err;
    table *t = ctx;
    *out = t->pos < t->n ? &t->b[t->pos++] : NULL;
    return 0;
}

/* Row text: "k|s|v" with N for NULL; *valid says whether both keys are. */
static void row_text(const vec_col *cols, uint32_t i, char *out, size_t cap)
{
    char k[32] = "N", s[32] = "N";
    if (vec_col_is_valid(&cols[0], i))
        snprintf(k, sizeof(k), "%lld", (long long)((const int64_t *)cols[0].data)[i]);
    if (vec_col_is_valid(&cols[1], i)) {
        const uint8_t *p;
        size_t l;
        vec_col_str(&cols[1], i, &p, &l);
        snprintf(s, sizeof(s), "'%.*s'", (int)l, (const char *)p);
    }
    char v[32] = "N";
    if (vec_col_is_valid(&cols[2], i))
        snprintf(v, sizeof(v), "%lld", (long long)((const int64_t *)cols[2].data)[i]);
    snprintf(out, cap, "%s|%s|%s", k, s, v);
}

typedef struct rows {
    char **r;
    size_t n, cap;
} rows;

static void rows_add(rows *x, const char *s)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 1024;
        x->r = realloc(x->r, x->cap * sizeof(char *));
    }
    x->r[x->n++] = strdup(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rows_free(rows *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->r[i]);
    free(x->r);
}

/* Keys: 0 = the i64, 1 = the string, 2 = both; residual: l.v < r.v. */
typedef struct jcase {
    exec_join_type type;
    int keys; /* 0: i64, 1: string, 2: both, 3: none (cross) */
    bool residual;
} jcase;

static bool key_match(const vec_col *l, uint32_t li, const vec_col *r, uint32_t ri, int keys)
{
    for (int c = 0; c < 2; c++) {
        if ((keys == 0 && c == 1) || (keys == 1 && c == 0) || keys == 3)
            continue;
        if (!vec_col_is_valid(&l[c], li) || !vec_col_is_valid(&r[c], ri))
            return false;
        if (vec_value_cmp(&l[c], li, &r[c], ri) != 0)
            return false;
    }
    return true;
}

/* The reference buckets right rows by key (so it stays fast on big
 * tables) and compares every pair in a bucket with vec_value_cmp. */
#define NBUCKET 4099
typedef struct rref {
    uint32_t batch, row;
} rref;

static int bucket_of(const vec_col *cols, uint32_t i, int keys)
{
    if (keys == 3)
        return 0;
    if (keys != 1 && !vec_col_is_valid(&cols[0], i))
        return -1;
    if (keys != 0 && !vec_col_is_valid(&cols[1], i))
        return -1;
    if (keys == 1) {
        const uint8_t *p;
        size_t l;
        vec_col_str(&cols[1], i, &p, &l);
        return (int)(l % NBUCKET);
    }
    return (int)((uint64_t)((const int64_t *)cols[0].data)[i] % NBUCKET);
}

static void reference(table *l, table *r, jcase jc, rows *out)
{
    rref **bk = calloc(NBUCKET, sizeof(rref *));
    uint32_t *bn = calloc(NBUCKET, sizeof(uint32_t)), *bc = calloc(NBUCKET, sizeof(uint32_t));
    for (uint32_t rb = 0; rb < r->n; rb++) {
        const vec_batch *b = &r->b[rb];
        for (uint32_t rk = 0; rk < vec_batch_live_count(b); rk++) {
            uint32_t ri = b->sel_active ? b->sel[rk] : rk;
            int h = bucket_of(b->cols, ri, jc.keys);
            if (h < 0)
                continue;
            if (bn[h] == bc[h]) {
                bc[h] = bc[h] ? bc[h] * 2 : 8;
                bk[h] = realloc(bk[h], bc[h] * sizeof(rref));
            }
            bk[h][bn[h]++] = (rref){rb, ri};
        }
    }
    for (uint32_t lb = 0; lb < l->n; lb++) {
        const vec_batch *a = &l->b[lb];
        for (uint32_t lk = 0; lk < vec_batch_live_count(a); lk++) {
            uint32_t li = a->sel_active ? a->sel[lk] : lk;
            char lt[128];
            row_text(a->cols, li, lt, sizeof(lt));
            bool any = false;
            int h = bucket_of(a->cols, li, jc.keys);
            for (uint32_t x = 0; h >= 0 && x < bn[h]; x++) {
                const vec_batch *b = &r->b[bk[h][x].batch];
                uint32_t ri = bk[h][x].row;
                if (!key_match(a->cols, li, b->cols, ri, jc.keys))
                    continue;
                if (jc.residual &&
                    !(vec_col_is_valid(&a->cols[2], li) && vec_col_is_valid(&b->cols[2], ri) &&
                      ((const int64_t *)a->cols[2].data)[li] <
                          ((const int64_t *)b->cols[2].data)[ri]))
                    continue;
                char rt[128], both[300];
                row_text(b->cols, ri, rt, sizeof(rt));
                snprintf(both, sizeof(both), "%s#%s", lt, rt);
                rows_add(out, both);
                any = true;
            }
            if (!any && jc.type == EXEC_JOIN_LEFT) {
                char both[300];
                snprintf(both, sizeof(both), "%s#N|N|N", lt);
                rows_add(out, both);
            }
        }
    }
    for (int h = 0; h < NBUCKET; h++)
        free(bk[h]);
    free(bk);
    free(bn);
    free(bc);
}

static int run_join(table *l, table *r, jcase jc, exec_budget *bud, rows *out, tarn_err *err)
{
    exec_op *ls, *rs, *j;
    l->pos = r->pos = 0;
    int rc = exec_source_new(ttypes, NC, table_next, l, bud, &ls, err);
    if (rc != 0)
        return rc;
    rc = exec_source_new(ttypes, NC, table_next, r, bud, &rs, err);
    if (rc != 0) {
        exec_op_close(ls);
        return rc;
    }
    static const uint32_t k0[] = {0}, k1[] = {1}, k2[] = {0, 1};
    exec_join_opts o = {.type = jc.type};
    o.left_keys = o.right_keys = jc.keys == 0 ? k0 : jc.keys == 1 ? k1 : k2;
    o.nkeys = jc.keys == 2 ? 2 : jc.keys == 3 ? 0 : 1;
    if (jc.residual) {
        vec_type_info six[6];
        memcpy(six, ttypes, sizeof(ttypes));
        memcpy(six + 3, ttypes, sizeof(ttypes));
        rc = exec_expr_from_json("{\"op\":\"<\",\"args\":[{\"col\":2},{\"col\":5}]}", six, 6, bud,
                                 &o.residual, err);
        if (rc != 0) { /* out-of-memory injection */
            exec_op_close(ls);
            exec_op_close(rs);
            return rc;
        }
    }
    rc = exec_join_new(ls, rs, &o, &j, err);
    if (rc != 0)
        return rc;
    rc = exec_op_open(j, err);
    const vec_batch *b;
    while (rc == 0 && (rc = exec_op_next(j, &b, err)) == 0 && b != NULL) {
        assert_int_equal(b->ncols, 6);
        for (uint32_t k = 0; k < vec_batch_live_count(b) && out; k++) {
            uint32_t i = b->sel_active ? b->sel[k] : k;
            char lt[128], rt[128], both[300];
            row_text(b->cols, i, lt, sizeof(lt));
            row_text(b->cols + 3, i, rt, sizeof(rt));
            snprintf(both, sizeof(both), "%s#%s", lt, rt);
            rows_add(out, both);
        }
    }
    exec_op_close(j);
    return rc;
}

static void check_case(table *l, table *r, jcase jc)
{
    rows want = {0}, got = {0};
    reference(l, r, jc, &want);
    exec_budget bud;
    exec_budget_init(&bud, 256 << 20);
    tarn_err err = TARN_ERR_INIT;
    int rc = run_join(l, r, jc, &bud, &got, &err);
    if (rc != 0)
        fail_msg("join: %s", tarn_err_msg(&err));
    assert_int_equal(bud.used_bytes, 0);
    if (want.n > 0)
        qsort(want.r, want.n, sizeof(char *), cmp_str);
    if (got.n > 0)
        qsort(got.r, got.n, sizeof(char *), cmp_str);
    if (want.n != got.n && getenv("JOIN_DEBUG")) {
        FILE *f = fopen("/tmp/join_want.txt", "w"), *g = fopen("/tmp/join_got.txt", "w");
        for (size_t i = 0; i < want.n; i++)
            fprintf(f, "%s\n", want.r[i]);
        for (size_t i = 0; i < got.n; i++)
            fprintf(g, "%s\n", got.r[i]);
        fclose(f);
        fclose(g);
    }
    if (want.n != got.n)
        fail_msg("type %d keys %d residual %d: %zu rows, want %zu", jc.type, jc.keys, jc.residual,
                 got.n, want.n);
    for (size_t i = 0; i < want.n; i++)
        if (strcmp(want.r[i], got.r[i]) != 0)
            fail_msg("row %zu: %s, want %s", i, got.r[i], want.r[i]);
    rows_free(&want);
    rows_free(&got);
}

static void test_join_random(void **state)
{
    (void)state;
    uint64_t seed = tarn_test_seed();
    tarn_rng r;
    tarn_rng_seed(&r, seed);
    for (int round = 0; round < 3; round++) {
        table l, rt;
        make_table(&l, &r, 400 + (uint32_t)tarn_rng_below(&r, 800), 40, round == 1);
        make_table(&rt, &r, 200 + (uint32_t)tarn_rng_below(&r, 400), 60, round != 1);
        for (int type = 0; type < 2; type++)
            for (int keys = 0; keys < 3; keys++)
                for (int res = 0; res < 2; res++)
                    check_case(&l, &rt, (jcase){(exec_join_type)type, keys, res});
        free_table(&l);
        free_table(&rt);
    }
}

static void test_cross_and_empty(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 5);
    table l, rt, none;
    make_table(&l, &r, 70, 5, false);
    make_table(&rt, &r, 40, 5, true);
    make_table(&none, &r, 0, 5, false);
    for (int type = 0; type < 2; type++)
        for (int res = 0; res < 2; res++) {
            check_case(&l, &rt, (jcase){(exec_join_type)type, 3, res});
            check_case(&l, &none, (jcase){(exec_join_type)type, 0, res});
            check_case(&none, &rt, (jcase){(exec_join_type)type, 2, res});
            check_case(&l, &none, (jcase){(exec_join_type)type, 3, res});
        }
    free_table(&l);
    free_table(&rt);
    free_table(&none);
}

/* A build side over several chunks (65536 rows each) and matches that
 * fill many output batches. */
static void test_join_large(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 11);
    table l, rt;
    make_table(&l, &r, 8000, 150000, false);
    make_table(&rt, &r, 140000, 150000, false);
    check_case(&l, &rt, (jcase){EXEC_JOIN_INNER, 0, false});
    check_case(&l, &rt, (jcase){EXEC_JOIN_LEFT, 0, true});
    free_table(&l);
    free_table(&rt);
    /* few keys: each left row meets hundreds of build rows */
    make_table(&l, &r, 200, 3, false);
    make_table(&rt, &r, 3000, 3, false);
    check_case(&l, &rt, (jcase){EXEC_JOIN_INNER, 0, false});
    free_table(&l);
    free_table(&rt);
}

static void test_join_budget_and_errors(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 3);
    table l, rt;
    make_table(&l, &r, 2000, 100, false);
    make_table(&rt, &r, 20000, 100, false);
    exec_budget bud;
    exec_budget_init(&bud, 256 << 10);
    tarn_err err = TARN_ERR_INIT;
    int64_t live = tarn_alloc_live_count();
    assert_int_equal(run_join(&l, &rt, (jcase){EXEC_JOIN_INNER, 2, false}, &bud, NULL, &err),
                     TARN_ENOMEM_BUDGET);
    assert_non_null(strstr(tarn_err_msg(&err), "budget"));
    assert_int_equal(bud.used_bytes, 0);
    assert_int_equal(tarn_alloc_live_count(), live);
    exec_budget_init(&bud, 256 << 20);
    assert_int_equal(run_join(&l, &rt, (jcase){EXEC_JOIN_INNER, 2, false}, &bud, NULL, &err), 0);
    assert_int_equal(bud.used_bytes, 0);
    /* keys of different types, and out of range */
    exec_op *ls, *rs, *j;
    assert_int_equal(exec_source_new(ttypes, NC, table_next, &l, &bud, &ls, &err), 0);
    assert_int_equal(exec_source_new(ttypes, NC, table_next, &rt, &bud, &rs, &err), 0);
    uint32_t lk = 0, rk = 1;
    exec_join_opts o = {EXEC_JOIN_INNER, &lk, &rk, 1, NULL};
    assert_int_equal(exec_join_new(ls, rs, &o, &j, &err), TARN_EINVAL);
    assert_non_null(strstr(tarn_err_msg(&err), "cast first"));
    assert_int_equal(exec_source_new(ttypes, NC, table_next, &l, &bud, &ls, &err), 0);
    assert_int_equal(exec_source_new(ttypes, NC, table_next, &rt, &bud, &rs, &err), 0);
    rk = 7;
    assert_int_equal(exec_join_new(ls, rs, &o, &j, &err), TARN_EINVAL);
    assert_int_equal(tarn_alloc_live_count(), live);
    free_table(&l);
    free_table(&rt);
}

static table *oom_l, *oom_r;

static int oom_op(void *ctx)
{
    (void)ctx;
    exec_budget bud;
    exec_budget_init(&bud, 256 << 20);
    tarn_err err = TARN_ERR_INIT;
    int rc = run_join(oom_l, oom_r, (jcase){EXEC_JOIN_LEFT, 1, true}, &bud, NULL, &err);
    assert_int_equal(bud.used_bytes, 0);
    return rc;
}

static void test_join_oom(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 4);
    table l, rt;
    make_table(&l, &r, 30, 5, true);
    make_table(&rt, &r, 20, 5, false);
    oom_l = &l;
    oom_r = &rt;
    tarn_test_oom_loop(oom_op, NULL, NULL, 500);
    free_table(&l);
    free_table(&rt);
}

static table *plan_tables[2];

static int resolve(void *ctx, const char *name, exec_budget *bud, exec_op **out, tarn_err *err)
{
    (void)ctx;
    table *t = plan_tables[name[0] == 'r'];
    t->pos = 0;
    return exec_source_new(ttypes, NC, table_next, t, bud, out, err);
}

/* The plan JSON form of a join (with a residual) gives the reference's rows. */
static void test_join_plan_json(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 21);
    table l, rt;
    make_table(&l, &r, 900, 30, true);
    make_table(&rt, &r, 500, 30, false);
    plan_tables[0] = &l;
    plan_tables[1] = &rt;
    rows want = {0};
    reference(&l, &rt, (jcase){EXEC_JOIN_LEFT, 2, true}, &want);
    exec_budget bud;
    exec_budget_init(&bud, 64 << 20);
    tarn_err err = TARN_ERR_INIT;
    exec_op *root;
    const char *plan =
        "{\"op\":\"join\",\"type\":\"left\",\"left_keys\":[0,1],\"right_keys\":[0,1],"
        "\"residual\":{\"op\":\"<\",\"args\":[{\"col\":2},{\"col\":5}]},"
        "\"left\":{\"op\":\"source\",\"name\":\"l\"},"
        "\"right\":{\"op\":\"source\",\"name\":\"r\"}}";
    assert_int_equal(exec_plan_from_json(plan, resolve, NULL, &bud, &root, &err), 0);
    assert_int_equal(exec_op_ncols(root), 6);
    assert_int_equal(exec_op_open(root, &err), 0);
    const vec_batch *b;
    size_t n = 0;
    int rc;
    while ((rc = exec_op_next(root, &b, &err)) == 0 && b != NULL)
        n += vec_batch_live_count(b);
    assert_int_equal(rc, 0);
    assert_int_equal(n, want.n);
    exec_op_close(root);
    assert_int_equal(bud.used_bytes, 0);
    /* bad: unequal key lists */
    assert_int_equal(exec_plan_from_json("{\"op\":\"join\",\"left_keys\":[0],\"right_keys\":[],"
                                         "\"left\":{\"op\":\"source\",\"name\":\"l\"},"
                                         "\"right\":{\"op\":\"source\",\"name\":\"r\"}}",
                                         resolve, NULL, &bud, &root, &err),
                     TARN_EINVAL);
    rows_free(&want);
    free_table(&l);
    free_table(&rt);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_random), cmocka_unit_test(test_cross_and_empty),
        cmocka_unit_test(test_join_large),  cmocka_unit_test(test_join_budget_and_errors),
        cmocka_unit_test(test_join_oom),    cmocka_unit_test(test_join_plan_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
