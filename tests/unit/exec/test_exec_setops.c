/*
 * tests/unit/exec/test_exec_setops.c: count/sum/avg(DISTINCT) in the hash
 * aggregate (against a brute-force reference, with NULLs, strings in both
 * forms, -0.0 and NaN), DISTINCT as an aggregate without aggregates, UNION
 * ALL and VALUES (operators and plan JSON).
 */
#include "base/alloc.h"
#include "base/rand.h"
#include "common/test_util.h"
#include "exec/exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Table: 0 i64 group key (0..4), 1 i64 value (0..9), 2 string value (one
 * of 4 words, dictionary codes in odd batches), 3 f64 value. */
#define NC 4
static const vec_type_info ttypes[NC] = {
    {.id = VEC_I64}, {.id = VEC_I64}, {.id = VEC_STRING}, {.id = VEC_F64}};
static const char *const words[] = {"x", "yy", "", "z\xc3\xa9"};
static const double fvals[] = {0.0, -0.0, 1.5, NAN, 2.5};
#define NB   6
#define ROWS 500

typedef struct table {
    vec_batch b[NB];
    uint32_t pos, n;
} table;

static void make(table *t, tarn_rng *r)
{
    t->pos = 0;
    t->n = NB;
    for (int bi = 0; bi < NB; bi++) {
        vec_batch *b = &t->b[bi];
        assert_int_equal(vec_batch_init(b, ttypes, NC, ROWS), 0);
        bool dict = bi % 2 == 1;
        if (dict) {
            uint32_t offs[5] = {0};
            uint8_t bytes[16];
            for (int w = 0; w < 4; w++) {
                memcpy(bytes + offs[w], words[w], strlen(words[w]));
                offs[w + 1] = offs[w] + (uint32_t)strlen(words[w]);
            }
            vec_dict *d;
            assert_int_equal(vec_dict_new(offs, bytes, 4, &d), 0);
            assert_int_equal(vec_col_use_dict(&b->cols[2], d), 0);
            vec_dict_release(d);
        }
        for (uint32_t i = 0; i < ROWS; i++) {
            ((int64_t *)b->cols[0].data)[i] = (int64_t)tarn_rng_below(r, 5);
            ((int64_t *)b->cols[1].data)[i] = (int64_t)tarn_rng_below(r, 10);
            uint32_t w = (uint32_t)tarn_rng_below(r, 4);
            if (dict)
                b->cols[2].codes[i] = w;
            else
                assert_int_equal(vec_col_append_str(&b->cols[2], words[w], strlen(words[w])), 0);
            ((double *)b->cols[3].data)[i] = fvals[tarn_rng_below(r, 5)];
            for (int c = 0; c < NC; c++)
                if (tarn_rng_below(r, 9) == 0) {
                    assert_int_equal(vec_col_set_null(&b->cols[c], i), 0);
                    if (c == 2 && dict)
                        b->cols[2].codes[i] = 0;
                }
        }
        b->len = b->cols[0].len = b->cols[1].len = b->cols[3].len = ROWS;
        if (dict)
            b->cols[2].len = ROWS;
    }
}

static void unmake(table *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        vec_batch_free(&t->b[i]);
}

static int table_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    (void)err;
    table *t = ctx;
    *out = t->pos < t->n ? &t->b[t->pos++] : NULL;
    return 0;
}

/* Group key (6 = NULL) -> seen values, brute force. Without keys
 * (by_key false) every row is group 0. */
typedef struct ref {
    bool ival[7][10], sval[7][4], fval[7][4]; /* f: 0.0 (both zeroes), 1.5, NaN, 2.5 */
    bool group[7];
    int64_t rows[7], ivals[7], isum[7]; /* count(*), count(x), sum(x) of column 1 */
} ref;

static int word_index(const uint8_t *s, size_t l)
{
    for (int w = 0; w < 4; w++)
        if (strlen(words[w]) == l && memcmp(words[w], s, l) == 0)
            return w;
    return -1;
}

static int f_index(double d)
{
    return d == 0 ? 0 : d == 1.5 ? 1 : d != d ? 2 : 3;
}

static int group_of(const vec_col *c, uint32_t i, bool by_key)
{
    if (!by_key)
        return 0;
    return vec_col_is_valid(c, i) ? (int)((const int64_t *)c->data)[i] : 6;
}

static void reference(table *t, ref *x, bool by_key)
{
    memset(x, 0, sizeof(*x));
    x->group[0] = !by_key; /* no keys: one row even over no input */
    for (uint32_t bi = 0; bi < t->n; bi++) {
        const vec_batch *b = &t->b[bi];
        for (uint32_t i = 0; i < b->len; i++) {
            int g = group_of(&b->cols[0], i, by_key);
            x->group[g] = true;
            x->rows[g]++;
            if (vec_col_is_valid(&b->cols[1], i)) {
                int64_t v = ((const int64_t *)b->cols[1].data)[i];
                x->ival[g][v] = true;
                x->ivals[g]++;
                x->isum[g] += v;
            }
            if (vec_col_is_valid(&b->cols[2], i)) {
                const uint8_t *s;
                size_t l;
                vec_col_str(&b->cols[2], i, &s, &l);
                x->sval[g][word_index(s, l)] = true;
            }
            if (vec_col_is_valid(&b->cols[3], i))
                x->fval[g][f_index(((const double *)b->cols[3].data)[i])] = true;
        }
    }
}

/* Batches first, first + step, ... of a table (one partial's share). */
typedef struct slice {
    table *t;
    uint32_t pos, step;
} slice;

static int slice_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    (void)err;
    slice *s = ctx;
    *out = s->pos < s->t->n ? &s->t->b[s->pos] : NULL;
    s->pos += s->step;
    return 0;
}

/* DISTINCT aggregates mixed with ordinary ones (count(*), count, avg, max
 * of strings), in one phase (parts 0) or as `parts` partials over slices
 * of the table whose outputs a FINAL merges: the partials see the same
 * values, which must count once. */
#define NSPEC 10
static const exec_agg_spec dspecs[NSPEC] = {
    {EXEC_AGG_COUNT, 1, true},  {EXEC_AGG_SUM, 1, true},         {EXEC_AGG_AVG, 1, true},
    {EXEC_AGG_COUNT, 2, true},  {EXEC_AGG_COUNT, 3, true},       {EXEC_AGG_SUM, 3, true},
    {EXEC_AGG_COUNT, 1, false}, {EXEC_AGG_COUNT_STAR, 0, false}, {EXEC_AGG_AVG, 1, false},
    {EXEC_AGG_MAX, 2, false}};

static exec_op *distinct_plan(table *t, slice *sl, uint32_t parts, uint32_t nkeys, exec_budget *bud)
{
    tarn_err err = TARN_ERR_INIT;
    uint32_t key = 0, key0 = 0;
    exec_op *src[3], *a;
    if (parts == 0) {
        t->pos = 0;
        assert_int_equal(exec_source_new(ttypes, NC, table_next, t, bud, &src[0], &err), 0);
        exec_agg_opts o = {&key, nkeys, dspecs, NSPEC, EXEC_AGG_SINGLE};
        assert_int_equal(exec_agg_new(src[0], &o, &a, &err), 0);
        return a;
    }
    for (uint32_t p = 0; p < parts; p++) {
        sl[p] = (slice){t, p, parts};
        exec_op *s;
        assert_int_equal(exec_source_new(ttypes, NC, slice_next, &sl[p], bud, &s, &err), 0);
        exec_agg_opts o = {&key, nkeys, dspecs, NSPEC, EXEC_AGG_PARTIAL};
        assert_int_equal(exec_agg_new(s, &o, &src[p], &err), 0);
    }
    exec_op *u;
    assert_int_equal(exec_union_all_new(src, parts, &u, &err), 0);
    exec_agg_opts f = {&key0, nkeys, dspecs, NSPEC, EXEC_AGG_FINAL};
    assert_int_equal(exec_agg_new(u, &f, &a, &err), 0);
    return a;
}

static void check_distinct_row(const vec_batch *b, uint32_t i, uint32_t nkeys, const ref *x)
{
    int g = group_of(&b->cols[0], i, nkeys > 0);
    const vec_col *c = b->cols + nkeys;
    int64_t cnt = 0, sum = 0, scnt = 0, fcnt = 0;
    double fsum = 0;
    for (int v = 0; v < 10; v++)
        if (x->ival[g][v]) {
            cnt++;
            sum += v;
        }
    for (int w = 0; w < 4; w++)
        scnt += x->sval[g][w];
    static const double fv[4] = {0.0, 1.5, NAN, 2.5};
    for (int w = 0; w < 4; w++)
        if (x->fval[g][w]) {
            fcnt++;
            fsum += fv[w];
        }
    assert_int_equal(((const int64_t *)c[0].data)[i], cnt);
    assert_int_equal(((const int64_t *)c[1].data)[i], sum);
    assert_true(fabs(((const double *)c[2].data)[i] - (double)sum / (double)cnt) < 1e-12);
    assert_int_equal(((const int64_t *)c[3].data)[i], scnt);
    assert_int_equal(((const int64_t *)c[4].data)[i], fcnt);
    double got = ((const double *)c[5].data)[i];
    assert_true(isnan(fsum) ? isnan(got) : got == fsum);
    assert_int_equal(((const int64_t *)c[6].data)[i], x->ivals[g]);
    assert_int_equal(((const int64_t *)c[7].data)[i], x->rows[g]);
    assert_true(fabs(((const double *)c[8].data)[i] - (double)x->isum[g] / (double)x->ivals[g]) <
                1e-12);
    const uint8_t *s;
    size_t l;
    vec_col_str(&c[9], i, &s, &l);
    int best = -1;
    for (int w = 0; w < 4; w++)
        if (x->sval[g][w] && (best < 0 || strcmp(words[w], words[best]) > 0))
            best = w;
    assert_true(best >= 0);
    assert_int_equal(l, strlen(words[best]));
    assert_memory_equal(s, words[best], l);
}

static void test_count_distinct(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, tarn_test_seed());
    table t;
    make(&t, &r);
    exec_budget bud;
    exec_budget_init(&bud, 64 << 20);
    tarn_err err = TARN_ERR_INIT;
    static const uint32_t parts[] = {0, 1, 3};
    for (uint32_t nkeys = 0; nkeys < 2; nkeys++) {
        ref x;
        reference(&t, &x, nkeys > 0);
        for (size_t pi = 0; pi < sizeof(parts) / sizeof(parts[0]); pi++) {
            slice sl[3];
            exec_op *a = distinct_plan(&t, sl, parts[pi], nkeys, &bud);
            assert_int_equal(exec_op_ncols(a), nkeys + NSPEC);
            assert_int_equal(exec_op_open(a, &err), 0);
            const vec_batch *b;
            int groups = 0;
            while (exec_op_next(a, &b, &err) == 0 && b != NULL)
                for (uint32_t i = 0; i < b->len; i++, groups++)
                    check_distinct_row(b, i, nkeys, &x);
            int want_groups = 0;
            for (int g = 0; g < 7; g++)
                want_groups += x.group[g];
            assert_int_equal(groups, want_groups);
            exec_op_close(a);
            assert_int_equal(bud.used_bytes, 0);
        }
    }
    unmake(&t);
}

/* A PARTIAL's output with DISTINCT aggregates: one row per group with NULL
 * in the value column, then one row per distinct (group, value) pair with
 * empty states in the other columns; its column types. */
static void test_partial_distinct_layout(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 5);
    table t;
    make(&t, &r);
    ref x;
    reference(&t, &x, true);
    exec_budget bud;
    exec_budget_init(&bud, 64 << 20);
    tarn_err err = TARN_ERR_INIT;
    exec_op *src, *a;
    assert_int_equal(exec_source_new(ttypes, NC, table_next, &t, &bud, &src, &err), 0);
    uint32_t key = 0;
    exec_agg_spec specs[] = {
        {EXEC_AGG_AVG, 1, true}, {EXEC_AGG_COUNT_STAR, 0, false}, {EXEC_AGG_COUNT, 2, true}};
    exec_agg_opts o = {&key, 1, specs, 3, EXEC_AGG_PARTIAL};
    assert_int_equal(exec_agg_new(src, &o, &a, &err), 0);
    assert_int_equal(exec_op_ncols(a), 4);
    assert_int_equal(exec_op_types(a)[1].id, VEC_I64);    /* avg(DISTINCT i64): the values */
    assert_int_equal(exec_op_types(a)[3].id, VEC_STRING); /* count(DISTINCT string) */
    assert_int_equal(exec_op_open(a, &err), 0);
    const vec_batch *b;
    int state_rows = 0, ivalue_rows = 0, svalue_rows = 0;
    int64_t rows = 0;
    while (exec_op_next(a, &b, &err) == 0 && b != NULL)
        for (uint32_t i = 0; i < b->len; i++) {
            bool iv = vec_col_is_valid(&b->cols[1], i), sv = vec_col_is_valid(&b->cols[3], i);
            int64_t cnt = ((const int64_t *)b->cols[2].data)[i];
            assert_false(iv && sv);
            if (iv || sv) {
                assert_int_equal(cnt, 0);
                assert_true(state_rows > 0);
            } else {
                assert_int_equal(ivalue_rows + svalue_rows, 0); /* groups come first */
                state_rows++;
                rows += cnt;
            }
            ivalue_rows += iv;
            svalue_rows += sv;
        }
    int want_groups = 0, want_i = 0, want_s = 0;
    for (int g = 0; g < 7; g++) {
        want_groups += x.group[g];
        for (int v = 0; v < 10; v++)
            want_i += x.ival[g][v];
        for (int w = 0; w < 4; w++)
            want_s += x.sval[g][w];
    }
    assert_int_equal(state_rows, want_groups);
    assert_int_equal(ivalue_rows, want_i);
    assert_int_equal(svalue_rows, want_s);
    assert_int_equal(rows, NB * ROWS);
    exec_op_close(a);
    assert_int_equal(bud.used_bytes, 0);
    /* sum(DISTINCT string) is refused in a partial as in a single phase */
    t.pos = 0;
    assert_int_equal(exec_source_new(ttypes, NC, table_next, &t, &bud, &src, &err), 0);
    exec_agg_spec bad = {EXEC_AGG_SUM, 2, true};
    exec_agg_opts ob = {&key, 1, &bad, 1, EXEC_AGG_PARTIAL};
    assert_int_equal(exec_agg_new(src, &ob, &a, &err), TARN_EINVAL);
    unmake(&t);
}

/* min/max of strings, single phase and partial -> final, with NULLs and a
 * group whose strings are all NULL. */
static void test_minmax_strings(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 17);
    table t;
    make(&t, &r);
    /* group 3: only NULL strings */
    for (uint32_t bi = 0; bi < t.n; bi++)
        for (uint32_t i = 0; i < ROWS; i++)
            if (vec_col_is_valid(&t.b[bi].cols[0], i) &&
                ((const int64_t *)t.b[bi].cols[0].data)[i] == 3) {
                assert_int_equal(vec_col_set_null(&t.b[bi].cols[2], i), 0);
                if (t.b[bi].cols[2].dict)
                    t.b[bi].cols[2].codes[i] = 0;
            }
    exec_budget bud;
    exec_budget_init(&bud, 64 << 20);
    tarn_err err = TARN_ERR_INIT;
    for (int split = 0; split < 2; split++) {
        t.pos = 0;
        exec_op *src, *a;
        assert_int_equal(exec_source_new(ttypes, NC, table_next, &t, &bud, &src, &err), 0);
        uint32_t key = 0, key0 = 0;
        exec_agg_spec specs[] = {{EXEC_AGG_MIN, 2, false}, {EXEC_AGG_MAX, 2, false}};
        exec_agg_opts o = {&key, 1, specs, 2, split ? EXEC_AGG_PARTIAL : EXEC_AGG_SINGLE};
        assert_int_equal(exec_agg_new(src, &o, &a, &err), 0);
        if (split) {
            exec_agg_opts f = {&key0, 1, specs, 2, EXEC_AGG_FINAL};
            assert_int_equal(exec_agg_new(a, &f, &a, &err), 0);
        }
        assert_int_equal(exec_op_open(a, &err), 0);
        const vec_batch *b;
        int groups = 0;
        while (exec_op_next(a, &b, &err) == 0 && b != NULL)
            for (uint32_t i = 0; i < b->len; i++, groups++) {
                bool null_key = !vec_col_is_valid(&b->cols[0], i);
                int64_t g = ((const int64_t *)b->cols[0].data)[i];
                if (!null_key && g == 3) {
                    assert_false(vec_col_is_valid(&b->cols[1], i));
                    assert_false(vec_col_is_valid(&b->cols[2], i));
                    continue;
                }
                const uint8_t *s;
                size_t l;
                vec_col_str(&b->cols[1], i, &s, &l);
                assert_int_equal(l, 0); /* "" is the least word, present in every group */
                vec_col_str(&b->cols[2], i, &s, &l);
                assert_int_equal(l, strlen("z\xc3\xa9")); /* "zé" the greatest */
                assert_memory_equal(s, "z\xc3\xa9", l);
            }
        assert_int_equal(groups, 6);
        exec_op_close(a);
        assert_int_equal(bud.used_bytes, 0);
    }
    unmake(&t);
}

/* SELECT DISTINCT a, b: an aggregate with keys and no aggregates. */
static void test_select_distinct(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 2);
    table t;
    make(&t, &r);
    exec_budget bud;
    exec_budget_init(&bud, 64 << 20);
    tarn_err err = TARN_ERR_INIT;
    exec_op *src, *a;
    assert_int_equal(exec_source_new(ttypes, NC, table_next, &t, &bud, &src, &err), 0);
    uint32_t keys[2] = {0, 2};
    exec_agg_opts o = {keys, 2, NULL, 0, EXEC_AGG_SINGLE};
    assert_int_equal(exec_agg_new(src, &o, &a, &err), 0);
    assert_int_equal(exec_op_ncols(a), 2);
    assert_int_equal(exec_op_open(a, &err), 0);
    const vec_batch *b;
    uint32_t n = 0;
    while (exec_op_next(a, &b, &err) == 0 && b != NULL)
        n += b->len;
    /* 6 group values (with NULL) x 5 string values (with NULL), all present */
    assert_int_equal(n, 30);
    exec_op_close(a);
    assert_int_equal(bud.used_bytes, 0);
    unmake(&t);
}

static void test_union_all(void **state)
{
    (void)state;
    tarn_rng r;
    tarn_rng_seed(&r, 3);
    table t1, t2, t3;
    make(&t1, &r);
    make(&t2, &r);
    make(&t3, &r);
    t2.n = 0; /* an empty input in the middle */
    exec_budget bud;
    exec_budget_init(&bud, 64 << 20);
    tarn_err err = TARN_ERR_INIT;
    exec_op *c[3], *u;
    table *ts[3] = {&t1, &t2, &t3};
    for (int i = 0; i < 3; i++)
        assert_int_equal(exec_source_new(ttypes, NC, table_next, ts[i], &bud, &c[i], &err), 0);
    assert_int_equal(exec_union_all_new(c, 3, &u, &err), 0);
    assert_int_equal(exec_op_open(u, &err), 0);
    const vec_batch *b;
    uint32_t n = 0, nb = 0;
    while (exec_op_next(u, &b, &err) == 0 && b != NULL) {
        assert_ptr_equal(b, nb < NB ? &t1.b[nb] : &t3.b[nb - NB]); /* passed through */
        n += b->len;
        nb++;
    }
    assert_int_equal(n, 2 * NB * ROWS);
    exec_op_close(u);
    /* different schemas */
    vec_type_info other[NC] = {{.id = VEC_I64}, {.id = VEC_I64}, {.id = VEC_I64}, {.id = VEC_F64}};
    assert_int_equal(exec_source_new(ttypes, NC, table_next, &t1, &bud, &c[0], &err), 0);
    assert_int_equal(exec_source_new(other, NC, table_next, &t3, &bud, &c[1], &err), 0);
    int64_t live = tarn_alloc_live_count();
    assert_int_equal(exec_union_all_new(c, 2, &u, &err), TARN_EINVAL);
    assert_true(tarn_alloc_live_count() < live);
    assert_int_equal(bud.used_bytes, 0);
    t2.n = NB;
    unmake(&t1);
    unmake(&t2);
    unmake(&t3);
}

static int no_source(void *ctx, const char *name, exec_budget *bud, exec_op **out, tarn_err *err)
{
    (void)ctx;
    (void)bud;
    *out = NULL;
    return tarn_err_set(err, TARN_ENOENT, "no table %s", name);
}

static void test_values(void **state)
{
    (void)state;
    exec_budget bud;
    exec_budget_init(&bud, 64 << 20);
    tarn_err err = TARN_ERR_INIT;
    exec_op *v;
    /* three rows: an int, a string (NULL in row 2), a decimal, a date from text */
    const char *plan =
        "{\"op\":\"union_all\",\"inputs\":[{\"op\":\"values\",\"rows\":["
        "[{\"const\":1,\"type\":\"i64\"},{\"const\":\"a\",\"type\":\"string\"},"
        "{\"const\":125,\"type\":\"decimal64\",\"precision\":5,\"scale\":2},"
        "{\"op\":\"cast\",\"type\":\"date\",\"args\":[{\"const\":\"2024-02-29\",\"type\":"
        "\"string\"}]}],"
        "[{\"op\":\"+\",\"args\":[{\"const\":2,\"type\":\"i64\"},{\"const\":3,\"type\":\"i64\"}]},"
        "{\"const\":null,\"type\":\"string\"},"
        "{\"const\":-5,\"type\":\"decimal64\",\"precision\":5,\"scale\":2},"
        "{\"const\":0,\"type\":\"date\"}]]},"
        "{\"op\":\"values\",\"rows\":[[{\"const\":7,\"type\":\"i64\"},{\"const\":\"\\u00e9\","
        "\"type\":\"string\"},{\"const\":0,\"type\":\"decimal64\",\"precision\":5,\"scale\":2},"
        "{\"const\":\"1970-01-02\",\"type\":\"date\"}]]}]}";
    assert_int_equal(exec_plan_from_json(plan, no_source, NULL, &bud, &v, &err), 0);
    assert_int_equal(exec_op_ncols(v), 4);
    assert_int_equal(exec_op_open(v, &err), 0);
    const vec_batch *b;
    int64_t ints[3];
    uint32_t n = 0;
    while (exec_op_next(v, &b, &err) == 0 && b != NULL)
        for (uint32_t i = 0; i < b->len; i++, n++) {
            ints[n] = ((const int64_t *)b->cols[0].data)[i];
            if (n == 1)
                assert_false(vec_col_is_valid(&b->cols[1], i));
            if (n == 0)
                assert_int_equal(((const int32_t *)b->cols[3].data)[i], 19782);
        }
    assert_int_equal(n, 3);
    assert_int_equal(ints[0], 1);
    assert_int_equal(ints[1], 5);
    assert_int_equal(ints[2], 7);
    exec_op_close(v);
    /* a bad cast fails at open, cleanly */
    assert_int_equal(
        exec_plan_from_json("{\"op\":\"values\",\"rows\":[[{\"op\":\"cast\",\"type\":\"i32\","
                            "\"args\":[{\"const\":\"abc\",\"type\":\"string\"}]}]]}",
                            no_source, NULL, &bud, &v, &err),
        0);
    assert_int_equal(exec_op_open(v, &err), TARN_EINVAL);
    assert_non_null(strstr(tarn_err_msg(&err), "could not convert string 'abc'"));
    exec_op_close(v);
    /* rows of unequal types */
    assert_int_equal(exec_plan_from_json("{\"op\":\"values\",\"rows\":[[{\"const\":1,\"type\":"
                                         "\"i64\"}],[{\"const\":1,\"type\":\"i32\"}]]}",
                                         no_source, NULL, &bud, &v, &err),
                     TARN_EINVAL);
    /* SELECT 1 + 1: one row of no columns, projected */
    assert_int_equal(
        exec_plan_from_json("{\"op\":\"project\",\"exprs\":[{\"op\":\"+\",\"args\":[{\"const\":1,"
                            "\"type\":\"i64\"},{\"const\":1,\"type\":\"i64\"}]}],\"input\":"
                            "{\"op\":\"values\",\"rows\":[[]]}}",
                            no_source, NULL, &bud, &v, &err),
        0);
    assert_int_equal(exec_op_open(v, &err), 0);
    assert_int_equal(exec_op_next(v, &b, &err), 0);
    assert_non_null(b);
    assert_int_equal(b->len, 1);
    assert_int_equal(((const int64_t *)b->cols[0].data)[0], 2);
    assert_int_equal(exec_op_next(v, &b, &err), 0);
    assert_null(b);
    exec_op_close(v);
    assert_int_equal(bud.used_bytes, 0);
    /* many rows span batches */
    size_t nr = 5000;
    exec_expr **ex = calloc(nr, sizeof(*ex));
    vec_type_info i64 = {.id = VEC_I64};
    for (size_t i = 0; i < nr; i++) {
        char j[64];
        snprintf(j, sizeof(j), "{\"const\":%zu,\"type\":\"i64\"}", i);
        assert_int_equal(exec_expr_from_json(j, NULL, 0, &bud, &ex[i], &err), 0);
    }
    assert_int_equal(exec_values_new(&i64, 1, ex, (uint32_t)nr, &bud, &v, &err), 0);
    free(ex);
    assert_int_equal(exec_op_open(v, &err), 0);
    n = 0;
    int64_t sum = 0;
    while (exec_op_next(v, &b, &err) == 0 && b != NULL)
        for (uint32_t i = 0; i < b->len; i++, n++)
            sum += ((const int64_t *)b->cols[0].data)[i];
    assert_int_equal(n, nr);
    assert_int_equal(sum, (int64_t)(nr * (nr - 1) / 2));
    exec_op_close(v);
    assert_int_equal(bud.used_bytes, 0);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_distinct),  cmocka_unit_test(test_partial_distinct_layout),
        cmocka_unit_test(test_select_distinct), cmocka_unit_test(test_minmax_strings),
        cmocka_unit_test(test_union_all),       cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
