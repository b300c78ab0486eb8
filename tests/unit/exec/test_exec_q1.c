/*
 * tests/unit/exec/test_exec_q1.c: the TPC-H Q1 pipeline of the benchmark
 * (Parquet scan -> filter -> project -> hash aggregate -> sort, plan in
 * bench/q1/q1_plan.c) over a small lineitem-like file written by our
 * Parquet writer, checked against a naive computation of the same rows.
 * Sums of doubles are compared to 1e-9 relative (addition order differs).
 */
#include "base/alloc.h"
#include "base/rand.h"
#include "common/test_util.h"
#include "q1_plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct membuf {
    uint8_t *p;
    size_t len, cap;
} membuf;

static int sink(void *ctx, const void *data, size_t len, tarn_err *err)
{
    membuf *m = ctx;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->p = realloc(m->p, m->cap);
        assert_non_null(m->p);
    }
    memcpy(m->p + m->len, data, len);
    m->len += len;
    return 0;
}

typedef struct ref {
    char rf, ls;
    double sq, sp, sd, sc, sdisc;
    long long n;
} ref;

static const pq_write_col cols[8] = {
    {"l_orderkey", {.id = VEC_I64}, false},      {"l_quantity", {.id = VEC_F64}, false},
    {"l_extendedprice", {.id = VEC_F64}, false}, {"l_discount", {.id = VEC_F64}, false},
    {"l_tax", {.id = VEC_F64}, false},           {"l_returnflag", {.id = VEC_STRING}, false},
    {"l_linestatus", {.id = VEC_STRING}, false}, {"l_shipdate", {.id = VEC_DATE}, false},
};

/* Writes `rows` lineitem-like rows and accumulates the Q1 reference. */
static void gen(membuf *m, uint32_t rows, tarn_rng *r, ref *refs, int *nref)
{
    vec_type_info t[8];
    for (int i = 0; i < 8; i++)
        t[i] = cols[i].type;
    pq_writer *w;
    tarn_err err = TARN_ERR_INIT;
    pq_writer_opts o = {.cols = cols,
                        .ncols = 8,
                        .sink = sink,
                        .sink_ctx = m,
                        .row_group_bytes = 64 << 10,
                        .name = "lineitem"};
    assert_int_equal(pq_writer_open(&o, &w, &err), 0);
    vec_batch b;
    assert_int_equal(vec_batch_init(&b, t, 8, 1000), 0);
    for (uint32_t done = 0; done < rows;) {
        vec_batch_reset(&b);
        uint32_t n = rows - done < 1000 ? rows - done : 1000;
        for (uint32_t i = 0; i < n; i++) {
            double q = (double)(1 + tarn_rng_below(r, 50)),
                   p = q * (double)(900 + tarn_rng_below(r, 1000));
            double d = (double)tarn_rng_below(r, 11) / 100, x = (double)tarn_rng_below(r, 9) / 100;
            int32_t ship = 8035 + (int32_t)tarn_rng_below(r, 2526); /* 1992-01-02 .. 1998-12-01 */
            char rf = "RAN"[tarn_rng_below(r, 3)], ls = ship > 9298 ? 'O' : 'F';
            ((int64_t *)b.cols[0].data)[i] = done + i;
            ((double *)b.cols[1].data)[i] = q;
            ((double *)b.cols[2].data)[i] = p;
            ((double *)b.cols[3].data)[i] = d;
            ((double *)b.cols[4].data)[i] = x;
            assert_int_equal(vec_col_append_str(&b.cols[5], &rf, 1), 0);
            assert_int_equal(vec_col_append_str(&b.cols[6], &ls, 1), 0);
            ((int32_t *)b.cols[7].data)[i] = ship;
            if (ship > 10471) /* after 1998-09-02: filtered out */
                continue;
            int g = 0;
            while (g < *nref && !(refs[g].rf == rf && refs[g].ls == ls))
                g++;
            if (g == *nref)
                refs[(*nref)++] = (ref){.rf = rf, .ls = ls};
            refs[g].sq += q;
            refs[g].sp += p;
            refs[g].sd += p * (1 - d);
            refs[g].sc += p * (1 - d) * (1 + x);
            refs[g].sdisc += d;
            refs[g].n++;
        }
        for (int c = 0; c < 8; c++)
            if (c != 5 && c != 6)
                b.cols[c].len = n;
        b.len = n;
        assert_int_equal(pq_writer_write(w, &b, &err), 0);
        done += n;
    }
    assert_int_equal(pq_writer_finish(w, &err), 0);
    pq_writer_close(w);
    vec_batch_free(&b);
}

static bool near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1, fmax(fabs(a), fabs(b)));
}

static int ref_order(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    return x->rf != y->rf ? x->rf - y->rf : x->ls - y->ls;
}

static void check_rows(exec_op *root, const ref *refs, int nref);

/* Q1 serially and on 1, 2 and 3 threads (morsels of row groups), each
 * against the naive computation. */
static void test_q1_pipeline(void **state)
{
    tarn_rng r;
    tarn_rng_seed(&r, tarn_test_seed());
    membuf m = {0};
    ref refs[9];
    int nref = 0;
    gen(&m, 30000, &r, refs, &nref);
    qsort(refs, (size_t)nref, sizeof(ref), ref_order);
    pq_file *f;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(pq_file_open_bytes(m.p, m.len, "lineitem", &f, &err), 0);
    exec_budget bud;
    exec_budget_init(&bud, 64 << 20);
    for (uint32_t threads = 0; threads <= 3; threads++) {
        pq_scan *scan = NULL;
        exec_op *root;
        q1_par par;
        if (threads == 0)
            assert_int_equal(q1_plan_build(f, &bud, &scan, &root, &err), 0);
        else
            assert_int_equal(q1_plan_build_parallel(f, &bud, threads, &par, &root, &err), 0);
        check_rows(root, refs, nref);
        exec_op_close(root);
        pq_scan_close(scan);
        assert_int_equal(bud.used_bytes, 0);
    }
    assert_true(pq_file_nrow_groups(f) > 3); /* the parallel runs had morsels to share */
    pq_file_close(f);
    free(m.p);
}

static void check_rows(exec_op *root, const ref *refs, int nref)
{
    tarn_err err = TARN_ERR_INIT;
    char *text = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&text, &tlen);
    int rows = q1_plan_run(root, out, &err);
    fclose(out);
    if (rows < 0)
        fail_msg("q1: %s", tarn_err_msg(&err));
    assert_int_equal(rows, nref);
    char *line = text;
    for (int g = 0; g < nref; g++) {
        char rf, ls;
        double v[7];
        long long n;
        assert_int_equal(sscanf(line, "%c,%c,%lf,%lf,%lf,%lf,%lf,%lf,%lf,%lld", &rf, &ls, &v[0],
                                &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &n),
                         10);
        const ref *x = &refs[g];
        assert_int_equal(rf, x->rf);
        assert_int_equal(ls, x->ls);
        assert_int_equal(n, x->n);
        assert_true(near(v[0], x->sq) && near(v[1], x->sp) && near(v[2], x->sd));
        assert_true(near(v[3], x->sc) && near(v[4], x->sq / (double)n));
        assert_true(near(v[5], x->sp / (double)n) && near(v[6], x->sdisc / (double)n));
        line = strchr(line, '\n') + 1;
    }
    free(text);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_q1_pipeline)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
