/*
 * tests/unit/gen/test_gen_lineitem.c: the lineitem generator (gen/gen.h):
 * determinism (rows are a function of seed and index, whatever the
 * batching; the same options give the same file bytes), the value ranges
 * and relations of lineitem-gen.sql, the Parquet file read back, writing
 * into a table in several commits, and bad input.
 */
#include "gen/gen.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "common/test_util.h"

#include <stdio.h>
#include <string.h>

#define DAY_1992_01_02 8036
#define DAY_1995_06_17 9298
#define DAY_1998_12_01 10561

static void must(int rc, const tarn_err *err)
{
    if (rc != 0)
        print_error("error: %s\n", tarn_err_msg(err));
    assert_int_equal(rc, 0);
}

static void fill(const gen_lineitem_opts *o, int64_t first, uint32_t n, vec_batch *b)
{
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(gen_lineitem_batch_init(o, b, n > 0 ? n : 1), 0);
    must(gen_lineitem_fill(o, first, n, b, &err), &err);
}

/* Row r of a and row s of b hold the same values in every column. */
static void assert_same_row(const vec_batch *a, uint32_t r, const vec_batch *b, uint32_t s)
{
    for (uint32_t c = 0; c < GEN_LINEITEM_NCOLS; c++)
        if (vec_value_cmp(&a->cols[c], r, &b->cols[c], s) != 0) {
            print_error("column %s differs at rows %u / %u\n", gen_lineitem_col_name(c), r, s);
            fail();
        }
}

static void test_rows_independent_of_batching(void **state)
{
    (void)state;
    gen_lineitem_opts o = {.rows = 10000, .seed = 42};
    vec_batch whole, part;
    fill(&o, 0, 10000, &whole);
    for (int64_t first = 0; first < 10000; first += 3333) {
        uint32_t n = first + 3333 > 10000 ? (uint32_t)(10000 - first) : 3333;
        fill(&o, first, n, &part);
        for (uint32_t i = 0; i < n; i++)
            assert_same_row(&whole, (uint32_t)first + i, &part, i);
        vec_batch_free(&part);
    }
    /* Another seed gives other values (all four keys of an order share it). */
    gen_lineitem_opts o2 = {.rows = 10000, .seed = 43};
    fill(&o2, 0, 10000, &part);
    uint32_t same_qty = 0;
    for (uint32_t i = 0; i < 10000; i++)
        same_qty +=
            vec_value_cmp(&whole.cols[GEN_L_QUANTITY], i, &part.cols[GEN_L_QUANTITY], i) == 0;
    assert_true(same_qty < 10000 / 50 * 2); /* about 1 in 50 by chance */
    vec_batch_free(&part);
    vec_batch_free(&whole);
}

static void test_value_ranges(void **state)
{
    (void)state;
    gen_lineitem_opts o = {.rows = 40000, .seed = 7};
    vec_batch b;
    fill(&o, 0, 40000, &b);
    int64_t prev_key = 0, counts[3] = {0};
    for (uint32_t i = 0; i < b.len; i++) {
        int64_t key = ((int64_t *)b.cols[GEN_L_ORDERKEY].data)[i];
        int64_t o_idx = i / 4;
        assert_int_equal(key, (o_idx / 8) * 32 + o_idx % 8 + 1);
        assert_true(key >= prev_key);
        prev_key = key;
        int64_t qty = ((int64_t *)b.cols[GEN_L_QUANTITY].data)[i];
        int64_t price = ((int64_t *)b.cols[GEN_L_EXTENDEDPRICE].data)[i];
        int64_t disc = ((int64_t *)b.cols[GEN_L_DISCOUNT].data)[i];
        int64_t tax = ((int64_t *)b.cols[GEN_L_TAX].data)[i];
        int32_t ship = ((int32_t *)b.cols[GEN_L_SHIPDATE].data)[i];
        assert_true(qty >= 100 && qty <= 5000 && qty % 100 == 0);
        /* Retail prices are 900.00 .. 2098.99 per unit. */
        assert_true(price >= qty / 100 * 90000 && price <= qty / 100 * 209899);
        assert_true(disc >= 0 && disc <= 10);
        assert_true(tax >= 0 && tax <= 8);
        assert_true(ship >= DAY_1992_01_02 && ship <= DAY_1998_12_01);
        const uint8_t *f, *s;
        size_t fl, sl;
        vec_col_str(&b.cols[GEN_L_RETURNFLAG], i, &f, &fl);
        vec_col_str(&b.cols[GEN_L_LINESTATUS], i, &s, &sl);
        assert_int_equal(fl, 1);
        assert_int_equal(sl, 1);
        assert_true(s[0] == (ship > DAY_1995_06_17 ? 'O' : 'F'));
        /* Shipped after the cutoff means received after it: not returned. */
        if (s[0] == 'O')
            assert_int_equal(f[0], 'N');
        assert_true(f[0] == 'R' || f[0] == 'A' || f[0] == 'N');
        counts[f[0] == 'R' ? 0 : f[0] == 'A' ? 1 : 2]++;
    }
    /* R and A split the returned rows evenly (binomial, 5 sigma). */
    int64_t ra = counts[0] + counts[1];
    assert_true(ra > 10000);
    int64_t diff = counts[0] - counts[1];
    assert_true(diff * diff < 25 * ra);
    vec_batch_free(&b);
}

static void test_doubles_equal_decimals(void **state)
{
    (void)state;
    gen_lineitem_opts od = {.rows = 5000, .seed = 3},
                      of = {.rows = 5000, .seed = 3, .doubles = true};
    vec_batch d, f;
    fill(&od, 0, 5000, &d);
    fill(&of, 0, 5000, &f);
    assert_int_equal(f.cols[GEN_L_TAX].type.id, VEC_F64);
    assert_int_equal(d.cols[GEN_L_TAX].type.id, VEC_DECIMAL64);
    assert_int_equal(d.cols[GEN_L_TAX].type.precision, 15);
    assert_int_equal(d.cols[GEN_L_TAX].type.scale, 2);
    for (uint32_t i = 0; i < 5000; i++)
        for (uint32_t c = GEN_L_QUANTITY; c <= GEN_L_TAX; c++)
            assert_true(((double *)f.cols[c].data)[i] ==
                        (double)((int64_t *)d.cols[c].data)[i] / 100);
    vec_batch_free(&d);
    vec_batch_free(&f);
}

static int buf_sink(void *ctx, const void *data, size_t len, tarn_err *err)
{
    (void)err;
    return tarn_buf_append(ctx, data, len);
}

static void write_file(const gen_lineitem_opts *o, tarn_buf *out)
{
    tarn_err err = TARN_ERR_INIT;
    tarn_buf_init(out, TARN_BUF_UNBOUNDED);
    must(gen_lineitem_write_parquet(o, buf_sink, out, NULL, NULL, &err), &err);
}

static void test_parquet_file(void **state)
{
    (void)state;
    gen_lineitem_opts o = {.rows = 150000, .seed = 9};
    tarn_buf a, b;
    write_file(&o, &a);
    write_file(&o, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    tarn_buf_free(&b);

    tarn_err err = TARN_ERR_INIT;
    pq_file *f;
    must(pq_file_open_bytes(a.data, a.len, "lineitem", &f, &err), &err);
    assert_int_equal(pq_file_ncols(f), GEN_LINEITEM_NCOLS);
    for (uint32_t c = 0; c < GEN_LINEITEM_NCOLS; c++) {
        assert_string_equal(pq_file_column(f, c)->name, gen_lineitem_col_name(c));
        assert_int_equal(pq_file_column(f, c)->type.id, gen_lineitem_col_type(&o, c).id);
    }
    pq_scan *s;
    must(pq_scan_open(f, &(pq_scan_opts){0}, &s, &err), &err);
    vec_batch got, want;
    assert_int_equal(pq_scan_batch_init(s, &got), 0);
    assert_int_equal(gen_lineitem_batch_init(&o, &want, VEC_BATCH_ROWS), 0);
    int64_t row = 0;
    int rc;
    while ((rc = pq_scan_next(s, &got, &err)) == 0 && got.len > 0) {
        must(gen_lineitem_fill(&o, row, got.len, &want, &err), &err);
        for (uint32_t i = 0; i < got.len; i++)
            assert_same_row(&got, i, &want, i);
        row += got.len;
    }
    must(rc, &err);
    assert_int_equal(row, o.rows);
    vec_batch_free(&got);
    vec_batch_free(&want);
    pq_scan_close(s);
    pq_file_close(f);
    tarn_buf_free(&a);
}

static void test_empty_file(void **state)
{
    (void)state;
    gen_lineitem_opts o = {.rows = 0};
    tarn_buf a;
    write_file(&o, &a);
    tarn_err err = TARN_ERR_INIT;
    pq_file *f;
    must(pq_file_open_bytes(a.data, a.len, "empty", &f, &err), &err);
    assert_int_equal(pq_file_meta(f)->num_rows, 0);
    pq_file_close(f);
    tarn_buf_free(&a);
}

/* Scans the latest snapshot of tables/<name> and compares with the rows. */
static void check_table(objstore *os, const char *name, const gen_lineitem_opts *o,
                        int64_t want_version)
{
    tarn_err err = TARN_ERR_INIT;
    char root[64];
    snprintf(root, sizeof(root), "tables/%s", name);
    delta_table *t;
    delta_snapshot *s;
    delta_scan *sc;
    must(delta_table_open(os, root, &t, &err), &err);
    must(delta_snapshot_latest(t, &s, &err), &err);
    assert_int_equal(s->version, want_version);
    must(delta_scan_open(t, s, NULL, &sc, &err), &err);
    vec_batch got, want;
    assert_int_equal(delta_scan_batch_init(sc, &got), 0);
    assert_int_equal(gen_lineitem_batch_init(o, &want, VEC_BATCH_ROWS), 0);
    /* Files are in path order (random names), so count rows per order key
     * instead: every generated row must be there once. */
    int64_t rows = 0, key_sum = 0;
    int rc;
    while ((rc = delta_scan_next(sc, &got, &err)) == 0 && got.len > 0) {
        for (uint32_t i = 0; i < got.len; i++)
            key_sum += ((int64_t *)got.cols[GEN_L_ORDERKEY].data)[i];
        rows += got.len;
    }
    must(rc, &err);
    int64_t want_sum = 0;
    for (int64_t r = 0; r < o->rows; r += VEC_BATCH_ROWS) {
        uint32_t n = o->rows - r < VEC_BATCH_ROWS ? (uint32_t)(o->rows - r) : VEC_BATCH_ROWS;
        must(gen_lineitem_fill(o, r, n, &want, &err), &err);
        for (uint32_t i = 0; i < n; i++)
            want_sum += ((int64_t *)want.cols[GEN_L_ORDERKEY].data)[i];
    }
    assert_int_equal(rows, o->rows);
    assert_int_equal(key_sum, want_sum);
    vec_batch_free(&got);
    vec_batch_free(&want);
    delta_scan_close(sc);
    delta_snapshot_free(s);
    delta_table_close(t);
}

static void test_write_table(void **state)
{
    (void)state;
    char *dir = tarn_test_mkdtemp("gen");
    tarn_err err = TARN_ERR_INIT;
    objstore *os;
    must(objstore_open(dir, &os, &err), &err);
    delta_committer c;
    assert_int_equal(delta_committer_mem(&c), 0);
    gen_lineitem_opts o = {.rows = 10000, .seed = 5, .table_file_rows = 3000};
    int64_t v = -1;
    must(gen_lineitem_write_table(&o, &c, os, "li", NULL, NULL, &v, &err), &err);
    assert_int_equal(v, 4); /* version 0 creates, then 4 files of <= 3000 rows */
    check_table(os, "li", &o, 4);

    /* Appending again to the same table adds another copy of the rows. */
    gen_lineitem_opts more = {.rows = 2000, .seed = 6};
    must(gen_lineitem_write_table(&more, &c, os, "li", NULL, NULL, &v, &err), &err);
    assert_int_equal(v, 5);

    /* A table of another shape is refused, and nothing is appended. */
    gen_lineitem_opts dbl = {.rows = 10, .doubles = true};
    assert_int_equal(gen_lineitem_write_table(&dbl, &c, os, "li", NULL, NULL, &v, &err),
                     TARN_EINVAL);
    assert_non_null(strstr(tarn_err_msg(&err), "l_quantity"));
    assert_int_equal(gen_lineitem_write_table(&o, &c, os, "bad name", NULL, NULL, &v, &err),
                     TARN_EINVAL);
    delta_committer_close(&c);
    objstore_close(os);
    tarn_test_rmdir(dir);
}

static void test_bad_input(void **state)
{
    (void)state;
    tarn_err err = TARN_ERR_INIT;
    gen_lineitem_opts o = {.rows = 100};
    vec_batch b;
    assert_int_equal(gen_lineitem_batch_init(&o, &b, 50), 0);
    assert_int_equal(gen_lineitem_fill(&o, 90, 20, &b, &err), TARN_EINVAL);
    assert_int_equal(gen_lineitem_fill(&o, -1, 2, &b, &err), TARN_EINVAL);
    assert_int_equal(gen_lineitem_fill(&o, 0, 60, &b, &err), TARN_EINVAL);
    must(gen_lineitem_fill(&o, 50, 50, &b, &err), &err);
    vec_batch_free(&b);
    gen_lineitem_opts bad = {.rows = -5};
    tarn_buf out;
    tarn_buf_init(&out, TARN_BUF_UNBOUNDED);
    assert_int_equal(gen_lineitem_write_parquet(&bad, buf_sink, &out, NULL, NULL, &err),
                     TARN_EINVAL);
    bad.rows = GEN_ROWS_MAX + 1;
    assert_int_equal(gen_lineitem_write_parquet(&bad, buf_sink, &out, NULL, NULL, &err),
                     TARN_EINVAL);
    tarn_buf_free(&out);
}

static int oom_op(void *ctx)
{
    (void)ctx;
    tarn_buf out;
    tarn_buf_init(&out, TARN_BUF_UNBOUNDED);
    tarn_err err = TARN_ERR_INIT;
    gen_lineitem_opts o = {.rows = 3000, .seed = 1};
    int rc = gen_lineitem_write_parquet(&o, buf_sink, &out, NULL, NULL, &err);
    tarn_buf_free(&out);
    return rc;
}

static void test_oom(void **state)
{
    (void)state;
    tarn_test_oom_loop(oom_op, NULL, NULL, 2000);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_independent_of_batching),
        cmocka_unit_test(test_value_ranges),
        cmocka_unit_test(test_doubles_equal_decimals),
        cmocka_unit_test(test_parquet_file),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_write_table),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
