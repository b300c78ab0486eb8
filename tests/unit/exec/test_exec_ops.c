/*
 * tests/unit/exec/test_exec_ops.c: operators against naive references:
 * hash aggregate (single phase, and partial + final over split input),
 * sort and top-N with NULL ordering, limit/offset, filter + project, the
 * memory budget, and out-of-memory injection over a whole pipeline.
 */
#include "base/alloc.h"
#include "base/rand.h"
#include "common/test_util.h"
#include "exec/exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 0 i64 key, 1 string key, 2 i64, 3 f64, 4 decimal64(10,2), 5 i32 */
#define NC 6
static const vec_type_info types[NC] = {{.id = VEC_I64},
                                        {.id = VEC_STRING},
                                        {.id = VEC_I64},
                                        {.id = VEC_F64},
                                        {.id = VEC_DECIMAL64, .precision = 10, .scale = 2},
                                        {.id = VEC_I32}};

typedef struct table {
    vec_batch *b;
    uint32_t nb;
    uint32_t pos; /* source cursor */
    uint32_t from, to;
} table;

/* Rewrites the flat string column 1 of b in dictionary form (entries in
 * order of first appearance, nulls kept), as a Parquet scan hands it over. */
static void to_dict(vec_batch *b)
{
    vec_col *c = &b->cols[1], d;
    uint32_t *offs = calloc(b->len + 1, sizeof(uint32_t)), count = 0;
    uint8_t *bytes = malloc(c->bytes_len + 1);
    uint32_t *codes = calloc(b->len, sizeof(uint32_t));
    for (uint32_t i = 0; i < b->len; i++) {
        const uint8_t *s;
        size_t l;
        vec_col_str(c, i, &s, &l);
        uint32_t e = 0;
        while (e < count && !(offs[e + 1] - offs[e] == l && memcmp(bytes + offs[e], s, l) == 0))
            e++;
        if (e == count) {
            memcpy(bytes + offs[count], s, l);
            offs[count + 1] = offs[count] + (uint32_t)l;
            count++;
        }
        codes[i] = vec_col_is_valid(c, i) ? e : 0;
    }
    vec_dict *dict;
    assert_int_equal(vec_dict_new(offs, bytes, count, &dict), 0);
    assert_int_equal(vec_col_init(&d, c->type, b->cap), 0);
    assert_int_equal(vec_col_use_dict(&d, dict), 0);
    vec_dict_release(dict);
    memcpy(d.codes, codes, b->len * sizeof(uint32_t));
    for (uint32_t i = 0; i < b->len; i++)
        if (!vec_col_is_valid(c, i))
            assert_int_equal(vec_col_set_null(&d, i), 0);
    d.len = b->len;
    vec_col_free(c);
    *c = d;
    free(offs);
    free(bytes);
    free(codes);
}

static void make_table(table *t, tarn_rng *r, uint32_t nbatches, uint32_t keys, uint32_t nstr)
{
    t->b = calloc(nbatches, sizeof(vec_batch));
    t->nb = nbatches;
    t->from = 0;
    t->to = nbatches;
    for (uint32_t bi = 0; bi < nbatches; bi++) {
        vec_batch *b = &t->b[bi];
        uint32_t len = 1 + (uint32_t)tarn_rng_below(r, 1000);
        assert_int_equal(vec_batch_init(b, types, NC, len), 0);
        for (uint32_t i = 0; i < len; i++) {
            char s[32];
            int sl = snprintf(s, sizeof(s), "k%u", (unsigned)tarn_rng_below(r, nstr));
            assert_int_equal(vec_col_append_str(&b->cols[1], s, (size_t)sl), 0);
            ((int64_t *)b->cols[0].data)[i] = (int64_t)tarn_rng_below(r, keys);
            ((int64_t *)b->cols[2].data)[i] = (int64_t)tarn_rng_below(r, 2001) - 1000;
            ((double *)b->cols[3].data)[i] = (double)((int64_t)tarn_rng_below(r, 2001) - 1000) / 8;
            ((int64_t *)b->cols[4].data)[i] = (int64_t)tarn_rng_below(r, 100000);
            ((int32_t *)b->cols[5].data)[i] = (int32_t)tarn_rng_below(r, 1000000) - 500000;
            for (int c = 0; c < NC; c++)
                if (tarn_rng_below(r, 12) == 0)
                    assert_int_equal(vec_col_set_null(&b->cols[c], i), 0);
        }
        for (int c = 0; c < NC; c++)
            if (c != 1)
                b->cols[c].len = len;
        b->len = len;
        if (tarn_rng_below(r, 2) == 0)
            to_dict(b);
        if (tarn_rng_below(r, 3) == 0) {
            uint32_t *sel = malloc(len * sizeof(uint32_t)), n = 0;
            for (uint32_t i = 0; i < len; i++)
                if (tarn_rng_below(r, 2))
                    sel[n++] = i;
            assert_int_equal(vec_batch_select(b, sel, n), 0);
            free(sel);
        }
    }
}

static void free_table(table *t)
{
    for (uint32_t i = 0; i < t->nb; i++)
        vec_batch_free(&t->b[i]);
    free(t->b);
}

static int table_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    table *t = ctx;
    *out = t->pos < t->to ? &t->b[t->pos++] : NULL;
    return 0;
}

static exec_op *source(table *t, uint32_t from, uint32_t to, exec_budget *bud)
{
    exec_op *op;
    tarn_err err = TARN_ERR_INIT;
    t->pos = from;
    t->from = from;
    t->to = to;
    assert_int_equal(exec_source_new(types, NC, table_next, t, bud, &op, &err), 0);
    return op;
}

/* ---- reference aggregate ---- */

typedef struct ref_group {
    bool k0_null, k1_null;
    int64_t k0;
    char k1[32];
    int64_t cnt_star, cnt2, sum2, sum4, n2, n3, n4, n5;
    double sum3, max3;
    int32_t min5;
} ref_group;

static ref_group *ref_find(ref_group *g, uint32_t *ng, bool n0, int64_t k0, bool n1, const char *k1)
{
    for (uint32_t i = 0; i < *ng; i++)
        if (g[i].k0_null == n0 && g[i].k1_null == n1 && (n0 || g[i].k0 == k0) &&
            (n1 || strcmp(g[i].k1, k1) == 0))
            return &g[i];
    ref_group *x = &g[(*ng)++];
    memset(x, 0, sizeof(*x));
    x->k0_null = n0;
    x->k1_null = n1;
    x->k0 = n0 ? 0 : k0;
    if (!n1)
        snprintf(x->k1, sizeof(x->k1), "%s", k1);
    return x;
}

static uint32_t ref_agg(const table *t, ref_group *g)
{
    uint32_t ng = 0;
    for (uint32_t bi = 0; bi < t->nb; bi++) {
        const vec_batch *b = &t->b[bi];
        for (uint32_t k = 0; k < vec_batch_live_count(b); k++) {
            uint32_t i = b->sel_active ? b->sel[k] : k;
            const uint8_t *s;
            size_t sl;
            vec_col_str(&b->cols[1], i, &s, &sl);
            char k1[32];
            snprintf(k1, sizeof(k1), "%.*s", (int)sl, (const char *)s);
            ref_group *x = ref_find(g, &ng, !vec_col_is_valid(&b->cols[0], i),
                                    ((const int64_t *)b->cols[0].data)[i],
                                    !vec_col_is_valid(&b->cols[1], i), k1);
            x->cnt_star++;
            if (vec_col_is_valid(&b->cols[2], i)) {
                x->cnt2++;
                x->n2++;
                x->sum2 += ((const int64_t *)b->cols[2].data)[i];
            }
            if (vec_col_is_valid(&b->cols[3], i)) {
                double v = ((const double *)b->cols[3].data)[i];
                x->sum3 += v;
                x->max3 = x->n3++ == 0 || v > x->max3 ? v : x->max3;
            }
            if (vec_col_is_valid(&b->cols[4], i)) {
                x->n4++;
                x->sum4 += ((const int64_t *)b->cols[4].data)[i];
            }
            if (vec_col_is_valid(&b->cols[5], i)) {
                int32_t v = ((const int32_t *)b->cols[5].data)[i];
                x->min5 = x->n5++ == 0 || v < x->min5 ? v : x->min5;
            }
        }
    }
    return ng;
}

static const exec_agg_spec specs[] = {
    {EXEC_AGG_COUNT_STAR, 0, false}, {EXEC_AGG_COUNT, 2, false}, {EXEC_AGG_SUM, 2, false},
    {EXEC_AGG_SUM, 3, false},        {EXEC_AGG_SUM, 4, false},   {EXEC_AGG_MIN, 5, false},
    {EXEC_AGG_MAX, 3, false},        {EXEC_AGG_AVG, 2, false},   {EXEC_AGG_AVG, 4, false},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))
static const uint32_t agg_keys[2] = {0, 1};

static bool close_to(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fmax(fabs(a), fabs(b)));
}

/* Drains an aggregate with the specs' output layout and compares it with
 * the reference groups as a multiset. */
static void check_agg(exec_op *op, ref_group *g, uint32_t ng)
{
    tarn_err err = TARN_ERR_INIT;
    const vec_batch *b;
    uint32_t rows = 0;
    bool *seen = calloc(ng + 1, 1);
    int rc;
    while ((rc = exec_op_next(op, &b, &err)) == 0 && b != NULL) {
        assert_int_equal(b->ncols, 2 + NSPECS);
        for (uint32_t k = 0; k < vec_batch_live_count(b); k++, rows++) {
            uint32_t i = b->sel_active ? b->sel[k] : k;
            const uint8_t *s;
            size_t sl;
            vec_col_str(&b->cols[1], i, &s, &sl);
            char k1[32];
            snprintf(k1, sizeof(k1), "%.*s", (int)sl, (const char *)s);
            uint32_t before = ng;
            ref_group *x = ref_find(g, &ng, !vec_col_is_valid(&b->cols[0], i),
                                    ((const int64_t *)b->cols[0].data)[i],
                                    !vec_col_is_valid(&b->cols[1], i), k1);
            if (ng != before)
                fail_msg("output group (%lld, %s) not in the reference",
                         (long long)((const int64_t *)b->cols[0].data)[i], k1);
            uint32_t gi = (uint32_t)(x - g);
            assert_false(seen[gi]);
            seen[gi] = true;
            const vec_col *c = b->cols;
            assert_int_equal(((const int64_t *)c[2].data)[i], x->cnt_star);
            assert_int_equal(((const int64_t *)c[3].data)[i], x->cnt2);
            assert_int_equal(vec_col_is_valid(&c[4], i), x->n2 > 0);
            if (x->n2)
                assert_int_equal(((const int64_t *)c[4].data)[i], x->sum2);
            assert_int_equal(vec_col_is_valid(&c[5], i), x->n3 > 0);
            if (x->n3) {
                assert_true(close_to(((const double *)c[5].data)[i], x->sum3));
                assert_true(((const double *)c[8].data)[i] == x->max3);
            }
            assert_int_equal(vec_col_is_valid(&c[6], i), x->n4 > 0);
            assert_int_equal(c[6].type.scale, 2);
            if (x->n4) {
                assert_int_equal(((const int64_t *)c[6].data)[i], x->sum4);
                assert_true(close_to(((const double *)c[10].data)[i],
                                     (double)x->sum4 / 100 / (double)x->n4));
            }
            assert_int_equal(vec_col_is_valid(&c[7], i), x->n5 > 0);
            if (x->n5)
                assert_int_equal(((const int32_t *)c[7].data)[i], x->min5);
            if (x->n2)
                assert_true(
                    close_to(((const double *)c[9].data)[i], (double)x->sum2 / (double)x->n2));
            else
                assert_false(vec_col_is_valid(&c[9], i));
        }
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rows, ng);
    free(seen);
}

static exec_op *agg(exec_op *child, exec_agg_phase phase)
{
    exec_op *op;
    tarn_err err = TARN_ERR_INIT;
    exec_agg_opts o = {agg_keys, 2, specs, NSPECS, phase};
    int rc = exec_agg_new(child, &o, &op, &err);
    if (rc != 0)
        fail_msg("agg: %s", tarn_err_msg(&err));
    return op;
}

typedef struct two_ops {
    exec_op *a, *b;
} two_ops;

/* The exchange between stages, in memory: partial outputs one after another. */
static int two_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    two_ops *t = ctx;
    int rc = exec_op_next(t->a, out, err);
    if (rc != 0 || *out != NULL)
        return rc;
    return exec_op_next(t->b, out, err);
}

static void test_agg_random(void **state)
{
    tarn_rng r;
    tarn_rng_seed(&r, tarn_test_seed());
    static const uint32_t shapes[][2] = {{5, 3}, {3000, 7}, {40, 200}}; /* keys, strings */
    for (size_t s = 0; s < 3; s++) {
        table t;
        make_table(&t, &r, 24, shapes[s][0], shapes[s][1]);
        ref_group *g = calloc(24 * 1000 + 1, sizeof(ref_group));
        uint32_t ng = ref_agg(&t, g);
        exec_budget bud;
        exec_budget_init(&bud, 256 << 20);
        tarn_err err = TARN_ERR_INIT;
        /* one phase */
        exec_op *op = agg(source(&t, 0, t.nb, &bud), EXEC_AGG_SINGLE);
        assert_int_equal(exec_op_open(op, &err), 0);
        check_agg(op, g, ng);
        exec_op_close(op);
        assert_int_equal(bud.used_bytes, 0);
        /* two partials over halves, merged by a final */
        table t2 = t;
        two_ops two = {agg(source(&t, 0, t.nb / 3, &bud), EXEC_AGG_PARTIAL),
                       agg(source(&t2, t.nb / 3, t.nb, &bud), EXEC_AGG_PARTIAL)};
        assert_int_equal(exec_op_open(two.a, &err), 0);
        assert_int_equal(exec_op_open(two.b, &err), 0);
        exec_op *src;
        assert_int_equal(exec_source_new(exec_op_types(two.a), exec_op_ncols(two.a), two_next, &two,
                                         &bud, &src, &err),
                         0);
        exec_op *fin = agg(src, EXEC_AGG_FINAL);
        assert_int_equal(exec_op_open(fin, &err), 0);
        check_agg(fin, g, ng);
        exec_op_close(fin);
        exec_op_close(two.a);
        exec_op_close(two.b);
        assert_int_equal(bud.used_bytes, 0);
        free(g);
        free_table(&t);
    }
}

typedef struct twice {
    table *t;
    uint32_t step;
} twice;

/* Every batch twice in a row: the second time its dictionary is the cached
 * one, so the aggregate's direct map is hit. */
static int twice_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    twice *w = ctx;
    *out = w->step / 2 < w->t->nb ? &w->t->b[w->step++ / 2] : NULL;
    return 0;
}

/* Group by a string key alone: dictionary batches (with NULLs, a new
 * dictionary each batch, each seen twice) take the direct map of code
 * combinations, flat batches the hash table; all must land in the same
 * groups. */
static void test_agg_dict_keys(void **state)
{
    tarn_rng r;
    tarn_rng_seed(&r, tarn_test_seed());
    table t;
    make_table(&t, &r, 30, 10, 9);
    /* reference: count(*) and sum(c2) per string ("" slot 9 for NULL) */
    int64_t cnt[10] = {0}, sum[10] = {0};
    for (uint32_t bi = 0; bi < t.nb; bi++) {
        const vec_batch *b = &t.b[bi];
        for (uint32_t k = 0; k < vec_batch_live_count(b); k++) {
            uint32_t i = b->sel_active ? b->sel[k] : k;
            const uint8_t *s;
            size_t l;
            vec_col_str(&b->cols[1], i, &s, &l);
            int g = vec_col_is_valid(&b->cols[1], i) ? s[1] - '0' : 9;
            cnt[g] += 2;
            if (vec_col_is_valid(&b->cols[2], i))
                sum[g] += 2 * ((const int64_t *)b->cols[2].data)[i];
        }
    }
    exec_budget bud;
    exec_budget_init(&bud, 16 << 20);
    tarn_err err = TARN_ERR_INIT;
    static const uint32_t key = 1;
    static const exec_agg_spec aggs[2] = {{EXEC_AGG_COUNT_STAR, 0, false},
                                          {EXEC_AGG_SUM, 2, false}};
    exec_agg_opts o = {&key, 1, aggs, 2, EXEC_AGG_SINGLE};
    exec_op *op, *src;
    twice w = {&t, 0};
    assert_int_equal(exec_source_new(types, NC, twice_next, &w, &bud, &src, &err), 0);
    assert_int_equal(exec_agg_new(src, &o, &op, &err), 0);
    assert_int_equal(exec_op_open(op, &err), 0);
    const vec_batch *b;
    int groups = 0;
    while (exec_op_next(op, &b, &err) == 0 && b != NULL) {
        for (uint32_t i = 0; i < b->len; i++, groups++) {
            const uint8_t *s;
            size_t l;
            vec_col_str(&b->cols[0], i, &s, &l);
            int g = vec_col_is_valid(&b->cols[0], i) ? s[1] - '0' : 9;
            assert_int_equal(((const int64_t *)b->cols[1].data)[i], cnt[g]);
            assert_int_equal(((const int64_t *)b->cols[2].data)[i], sum[g]);
            cnt[g] = -1; /* each group once */
        }
    }
    for (int g = 0; g < 10; g++)
        assert_true(cnt[g] == -1 || cnt[g] == 0);
    assert_true(groups >= 9);
    exec_op_close(op);
    assert_int_equal(bud.used_bytes, 0);
    free_table(&t);
}

static void test_agg_no_keys_empty(void **state)
{
    table t = {0};
    exec_budget bud;
    exec_budget_init(&bud, 1 << 20);
    exec_op *op;
    tarn_err err = TARN_ERR_INIT;
    exec_agg_opts o = {NULL, 0, specs, NSPECS, EXEC_AGG_SINGLE};
    assert_int_equal(exec_agg_new(source(&t, 0, 0, &bud), &o, &op, &err), 0);
    assert_int_equal(exec_op_open(op, &err), 0);
    const vec_batch *b;
    assert_int_equal(exec_op_next(op, &b, &err), 0);
    assert_non_null(b);
    assert_int_equal(b->len, 1);
    assert_int_equal(((const int64_t *)b->cols[0].data)[0], 0); /* count(*) */
    assert_false(vec_col_is_valid(&b->cols[2], 0));             /* sum: NULL */
    assert_int_equal(exec_op_next(op, &b, &err), 0);
    assert_null(b);
    exec_op_close(op);
}

static void test_agg_sum_overflow(void **state)
{
    static const vec_type_info ti[1] = {{.id = VEC_I64}};
    vec_batch b;
    assert_int_equal(vec_batch_init(&b, ti, 1, 2), 0);
    ((int64_t *)b.cols[0].data)[0] = INT64_MAX;
    ((int64_t *)b.cols[0].data)[1] = 1;
    b.len = b.cols[0].len = 2;
    table t = {&b, 1, 0, 0, 1};
    exec_budget bud;
    exec_budget_init(&bud, 1 << 20);
    exec_op *src, *op;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(exec_source_new(ti, 1, table_next, &t, &bud, &src, &err), 0);
    exec_agg_spec sum = {EXEC_AGG_SUM, 0, false};
    exec_agg_opts o = {NULL, 0, &sum, 1, EXEC_AGG_SINGLE};
    assert_int_equal(exec_agg_new(src, &o, &op, &err), 0);
    assert_int_equal(exec_op_open(op, &err), 0);
    const vec_batch *out;
    assert_int_equal(exec_op_next(op, &out, &err), TARN_ERANGE);
    assert_non_null(strstr(tarn_err_msg(&err), "integer overflow"));
    assert_int_equal(exec_op_next(op, &out, &err), TARN_ESTATE);
    exec_op_close(op);
    vec_batch_free(&b);
    assert_int_equal(bud.used_bytes, 0);
}

/* ---- sort ---- */

typedef struct ref_row {
    bool n0, n1, n2, n3;
    int64_t k0, c2;
    double c3;
    char k1[32];
    uint32_t seq;
} ref_row;

static const exec_sort_key sort_keys[3] = {{1, false, true}, {0, true, false}, {3, false, false}};

static int nulls_cmp(bool na, bool nb, bool first)
{
    if (na == nb)
        return 0;
    return (na == first) ? -1 : 1;
}

static int ref_row_cmp(const void *pa, const void *pb)
{
    const ref_row *a = pa, *b = pb;
    int c = nulls_cmp(a->n1, b->n1, true);
    if (c == 0 && !a->n1)
        c = strcmp(a->k1, b->k1);
    if (c == 0)
        c = nulls_cmp(a->n0, b->n0, false);
    if (c == 0 && !a->n0)
        c = a->k0 < b->k0 ? 1 : a->k0 > b->k0 ? -1 : 0; /* DESC */
    if (c == 0)
        c = nulls_cmp(a->n3, b->n3, false);
    if (c == 0 && !a->n3)
        c = a->c3 < b->c3 ? -1 : a->c3 > b->c3;
    if (c == 0)
        c = a->seq < b->seq ? -1 : a->seq > b->seq;
    return c;
}

static ref_row row_of(const vec_batch *b, uint32_t i, uint32_t seq)
{
    ref_row r = {.seq = seq};
    const uint8_t *s;
    size_t sl;
    r.n0 = !vec_col_is_valid(&b->cols[0], i);
    r.n1 = !vec_col_is_valid(&b->cols[1], i);
    r.n2 = !vec_col_is_valid(&b->cols[2], i);
    r.n3 = !vec_col_is_valid(&b->cols[3], i);
    r.k0 = r.n0 ? 0 : ((const int64_t *)b->cols[0].data)[i];
    r.c2 = r.n2 ? 0 : ((const int64_t *)b->cols[2].data)[i];
    r.c3 = r.n3 ? 0 : ((const double *)b->cols[3].data)[i];
    if (!r.n1) {
        vec_col_str(&b->cols[1], i, &s, &sl);
        snprintf(r.k1, sizeof(r.k1), "%.*s", (int)sl, (const char *)s);
    }
    return r;
}

static void test_sort_and_topn(void **state)
{
    tarn_rng r;
    tarn_rng_seed(&r, tarn_test_seed());
    table t;
    make_table(&t, &r, 40, 20, 6);
    ref_row *ref = calloc(40 * 1000, sizeof(ref_row));
    uint32_t n = 0;
    for (uint32_t bi = 0; bi < t.nb; bi++)
        for (uint32_t k = 0; k < vec_batch_live_count(&t.b[bi]); k++, n++)
            ref[n] = row_of(&t.b[bi], t.b[bi].sel_active ? t.b[bi].sel[k] : k, n);
    qsort(ref, n, sizeof(ref_row), ref_row_cmp);
    static const uint64_t limits[] = {UINT64_MAX, 0, 1, 37, 5000};
    for (size_t li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
        exec_budget bud;
        exec_budget_init(&bud, 256 << 20);
        exec_op *op;
        tarn_err err = TARN_ERR_INIT;
        assert_int_equal(
            exec_sort_new(source(&t, 0, t.nb, &bud), sort_keys, 3, limits[li], &op, &err), 0);
        assert_int_equal(exec_op_open(op, &err), 0);
        const vec_batch *b;
        uint32_t got = 0;
        while (exec_op_next(op, &b, &err) == 0 && b != NULL) {
            for (uint32_t i = 0; i < b->len; i++, got++) {
                ref_row x = row_of(b, i, ref[got].seq);
                assert_true(got < n);
                if (ref_row_cmp(&x, &ref[got]) != 0 || x.n2 != ref[got].n2 || x.c2 != ref[got].c2)
                    fail_msg("limit %llu: row %u differs", (unsigned long long)limits[li], got);
            }
        }
        uint64_t want = limits[li] < n ? limits[li] : n;
        assert_int_equal(got, want);
        if (limits[li] == 37)
            assert_true(bud.peak_bytes < (size_t)4 << 20); /* top-N stays small */
        exec_op_close(op);
        assert_int_equal(bud.used_bytes, 0);
    }
    free(ref);
    free_table(&t);
}

static void test_limit_filter_project(void **state)
{
    tarn_rng r;
    tarn_rng_seed(&r, tarn_test_seed());
    table t;
    make_table(&t, &r, 10, 20, 6);
    exec_budget bud;
    exec_budget_init(&bud, 16 << 20);
    tarn_err err = TARN_ERR_INIT;
    exec_expr *pred, *proj[2];
    assert_int_equal(exec_expr_from_json("{\"op\":\">\",\"args\":[{\"col\":2},{\"const\":0,"
                                         "\"type\":\"i64\"}]}",
                                         types, NC, &bud, &pred, &err),
                     0);
    assert_int_equal(exec_expr_from_json("{\"op\":\"*\",\"args\":[{\"col\":2},{\"const\":3,"
                                         "\"type\":\"i64\"}]}",
                                         types, NC, &bud, &proj[0], &err),
                     0);
    assert_int_equal(exec_expr_from_json("{\"col\":1}", types, NC, &bud, &proj[1], &err), 0);
    exec_op *f, *p, *l;
    assert_int_equal(exec_filter_new(source(&t, 0, t.nb, &bud), pred, &f, &err), 0);
    assert_int_equal(exec_project_new(f, proj, 2, &p, &err), 0);
    assert_int_equal(exec_limit_new(p, 700, 333, &l, &err), 0);
    assert_int_equal(exec_op_open(l, &err), 0);
    /* reference: the c2 > 0 rows in order, skip 333, take 700 */
    uint64_t seen = 0, out = 0;
    const vec_batch *b;
    uint32_t bi = 0, k = 0;
    while (exec_op_next(l, &b, &err) == 0 && b != NULL) {
        assert_int_equal(b->ncols, 2);
        for (uint32_t q = 0; q < vec_batch_live_count(b); q++) {
            uint32_t i = b->sel_active ? b->sel[q] : q;
            /* advance the reference cursor to the next qualifying row past the offset */
            for (;;) {
                const vec_batch *tb = &t.b[bi];
                if (k >= vec_batch_live_count(tb)) {
                    bi++;
                    k = 0;
                    continue;
                }
                uint32_t ti = tb->sel_active ? tb->sel[k] : k;
                k++;
                if (!vec_col_is_valid(&tb->cols[2], ti) ||
                    ((const int64_t *)tb->cols[2].data)[ti] <= 0)
                    continue;
                if (seen++ < 333)
                    continue;
                assert_int_equal(((const int64_t *)b->cols[0].data)[i],
                                 3 * ((const int64_t *)tb->cols[2].data)[ti]);
                break;
            }
            out++;
        }
    }
    assert_true(out <= 700);
    assert_true(out == 700 || bi == t.nb - 1 || bi == t.nb);
    exec_op_close(l);
    assert_int_equal(bud.used_bytes, 0);
    free_table(&t);
}

/* Builds filter -> hash aggregate -> sort over t and drains it. */
static int run_pipeline(table *t, exec_budget *bud, tarn_err *err)
{
    exec_expr *pred;
    int rc = exec_expr_from_json("{\"op\":\"is_not_null\",\"args\":[{\"col\":2}]}", types, NC, bud,
                                 &pred, err);
    if (rc != 0)
        return rc;
    exec_op *src, *f, *a, *s;
    rc = exec_source_new(types, NC, table_next, t, bud, &src, err);
    t->pos = 0;
    if (rc != 0) {
        exec_expr_free(pred);
        return rc;
    }
    if ((rc = exec_filter_new(src, pred, &f, err)) != 0)
        return rc;
    exec_agg_opts o = {agg_keys, 2, specs, NSPECS, EXEC_AGG_SINGLE};
    if ((rc = exec_agg_new(f, &o, &a, err)) != 0)
        return rc;
    exec_sort_key key = {2, true, false};
    if ((rc = exec_sort_new(a, &key, 1, 10, &s, err)) != 0)
        return rc;
    rc = exec_op_open(s, err);
    const vec_batch *b = NULL;
    while (rc == 0 && (rc = exec_op_next(s, &b, err)) == 0 && b != NULL)
        ;
    exec_op_close(s);
    return rc;
}

static void test_budget_exceeded(void **state)
{
    tarn_rng r;
    tarn_rng_seed(&r, 7);
    table t;
    make_table(&t, &r, 30, 1000000, 1000);
    exec_budget bud;
    exec_budget_init(&bud, 512 << 10);
    tarn_err err = TARN_ERR_INIT;
    int64_t live = tarn_alloc_live_count();
    assert_int_equal(run_pipeline(&t, &bud, &err), TARN_ENOMEM_BUDGET);
    assert_non_null(strstr(tarn_err_msg(&err), "budget"));
    assert_int_equal(bud.used_bytes, 0);
    assert_int_equal(tarn_alloc_live_count(), live);
    /* the next query, with room, runs */
    exec_budget_init(&bud, 256 << 20);
    assert_int_equal(run_pipeline(&t, &bud, &err), 0);
    assert_int_equal(bud.used_bytes, 0);
    free_table(&t);
}

static table *oom_table;

static int oom_op(void *ctx)
{
    exec_budget bud;
    exec_budget_init(&bud, 256 << 20);
    tarn_err err = TARN_ERR_INIT;
    int rc = run_pipeline(oom_table, &bud, &err);
    assert_int_equal(bud.used_bytes, 0);
    return rc;
}

static void test_oom_pipeline(void **state)
{
    tarn_rng r;
    tarn_rng_seed(&r, 9);
    table t;
    make_table(&t, &r, 4, 50, 5);
    oom_table = &t;
    tarn_test_oom_loop(oom_op, NULL, NULL, 500);
    free_table(&t);
}

/* Regression: the per-dictionary caches (aggregate code -> string id map,
 * a predicate's result per entry) were keyed by the dictionary's address
 * only, so a freed dictionary whose address came back for a new one hit a
 * stale cache (Q1 grouped wrongly). They now hold a reference, which keeps
 * the address from being reused while cached: checked here by the count. */
static void test_dict_cache_holds_reference(void **state)
{
    static const vec_type_info ts[1] = {{.id = VEC_STRING}};
    vec_batch b;
    assert_int_equal(vec_batch_init(&b, ts, 1, 8), 0);
    uint32_t offs[3] = {0, 1, 2};
    vec_dict *dict;
    assert_int_equal(vec_dict_new(offs, (const uint8_t *)"xy", 2, &dict), 0);
    assert_int_equal(vec_col_use_dict(&b.cols[0], dict), 0);
    for (uint32_t i = 0; i < 8; i++)
        b.cols[0].codes[i] = i % 2;
    b.cols[0].len = b.len = 8;
    table t = {&b, 1, 0, 0, 1};
    exec_budget bud;
    exec_budget_init(&bud, 1 << 20);
    tarn_err err = TARN_ERR_INIT;
    exec_op *src, *f, *a;
    exec_expr *p;
    assert_int_equal(exec_source_new(ts, 1, table_next, &t, &bud, &src, &err), 0);
    assert_int_equal(exec_expr_from_json("{\"op\":\"=\",\"args\":[{\"col\":0},{\"const\":\"y\","
                                         "\"type\":\"string\"}]}",
                                         ts, 1, &bud, &p, &err),
                     0);
    assert_int_equal(exec_filter_new(src, p, &f, &err), 0);
    static const uint32_t key = 0;
    static const exec_agg_spec cnt = {EXEC_AGG_COUNT_STAR, 0, false};
    exec_agg_opts o = {&key, 1, &cnt, 1, EXEC_AGG_SINGLE};
    assert_int_equal(exec_agg_new(f, &o, &a, &err), 0);
    assert_int_equal(exec_op_open(a, &err), 0);
    assert_int_equal(dict->refs, 2); /* ours and the column's */
    const vec_batch *out;
    assert_int_equal(exec_op_next(a, &out, &err), 0);
    assert_int_equal(out->len, 1);
    assert_int_equal(((const int64_t *)out->cols[1].data)[0], 4);
    assert_int_equal(dict->refs, 4); /* + the filter's cache + the aggregate's */
    exec_op_close(a);
    assert_int_equal(dict->refs, 2);
    vec_dict_release(dict);
    vec_batch_free(&b);
}

static int resolve_table(void *ctx, const char *name, exec_budget *bud, exec_op **out,
                         tarn_err *err)
{
    if (strcmp(name, "t") != 0)
        return tarn_err_set(err, TARN_ENOENT, "no table %s", name);
    *out = source(ctx, 0, ((table *)ctx)->nb, bud);
    return 0;
}

/* A plan from JSON gives what the hand-built tree gives; bad plans fail
 * with EINVAL (or the resolver's error) and leave nothing behind. */
static void test_plan_json(void **state)
{
    tarn_rng r;
    tarn_rng_seed(&r, tarn_test_seed());
    table t;
    make_table(&t, &r, 12, 30, 4);
    ref_group *g = calloc(12 * 1000 + 1, sizeof(ref_group));
    uint32_t ng = ref_agg(&t, g);
    exec_budget bud;
    exec_budget_init(&bud, 64 << 20);
    tarn_err err = TARN_ERR_INIT;
    exec_op *op;
    const char *plan =
        "{\"op\":\"aggregate\",\"phase\":\"final\",\"keys\":[0,1],\"aggs\":[{\"fn\":"
        "\"count_star\"},{\"fn\":\"count\"},{\"fn\":\"sum\"},{\"fn\":\"sum\"},{\"fn\":\"sum\"},"
        "{\"fn\":\"min\"},{\"fn\":\"max\"},{\"fn\":\"avg\"},{\"fn\":\"avg\"}],\"input\":"
        "{\"op\":\"aggregate\",\"phase\":\"partial\",\"keys\":[0,1],\"aggs\":[{\"fn\":"
        "\"count_star\"},{\"fn\":\"count\",\"col\":2},{\"fn\":\"sum\",\"col\":2},{\"fn\":"
        "\"sum\",\"col\":3},{\"fn\":\"sum\",\"col\":4},{\"fn\":\"min\",\"col\":5},{\"fn\":"
        "\"max\",\"col\":3},{\"fn\":\"avg\",\"col\":2},{\"fn\":\"avg\",\"col\":4}],\"input\":"
        "{\"op\":\"limit\",\"input\":{\"op\":\"source\",\"name\":\"t\"}}}}";
    if (exec_plan_from_json(plan, resolve_table, &t, &bud, &op, &err) != 0)
        fail_msg("plan: %s", tarn_err_msg(&err));
    assert_int_equal(exec_op_open(op, &err), 0);
    check_agg(op, g, ng);
    exec_op_close(op);
    static const char *bad[] = {
        "{\"op\":\"frob\",\"input\":{\"op\":\"source\",\"name\":\"t\"}}",
        "{\"op\":\"source\",\"name\":\"nope\"}",
        "{\"op\":\"sort\",\"keys\":[],\"input\":{\"op\":\"source\",\"name\":\"t\"}}",
        "{\"op\":\"sort\",\"keys\":[{\"col\":99}],\"input\":{\"op\":\"source\",\"name\":\"t\"}}",
        "{\"op\":\"aggregate\",\"keys\":[0],\"aggs\":[{\"fn\":\"median\",\"col\":2}],"
        "\"input\":{\"op\":\"source\",\"name\":\"t\"}}",
        "{\"op\":\"filter\",\"pred\":{\"col\":0},\"input\":{\"op\":\"source\",\"name\":\"t\"}}",
        "{\"op\":\"project\",\"exprs\":[{\"col\":0},{\"col\":77}],\"input\":{\"op\":\"source\","
        "\"name\":\"t\"}}",
        "{\"op\":\"limit\",\"limit\":-1,\"input\":{\"op\":\"source\",\"name\":\"t\"}}",
        "{\"op\":\"limit\"}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = exec_plan_from_json(bad[i], resolve_table, &t, &bud, &op, &err);
        if (rc != TARN_EINVAL && rc != TARN_ENOENT)
            fail_msg("plan %zu: rc %d", i, rc);
        assert_null(op);
    }
    assert_int_equal(bud.used_bytes, 0);
    free(g);
    free_table(&t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agg_random),
        cmocka_unit_test(test_agg_no_keys_empty),
        cmocka_unit_test(test_agg_sum_overflow),
        cmocka_unit_test(test_sort_and_topn),
        cmocka_unit_test(test_limit_filter_project),
        cmocka_unit_test(test_budget_exceeded),
        cmocka_unit_test(test_oom_pipeline),
        cmocka_unit_test(test_plan_json),
        cmocka_unit_test(test_agg_dict_keys),
        cmocka_unit_test(test_dict_cache_holds_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
