/*
 * tests/unit/delta/test_delta_scan.c: reading rows of small tables whose
 * data files our Parquet writer produced: typed partition values (null,
 * empty, __HIVE_DEFAULT_PARTITION__, dates, timestamps, decimals),
 * columns missing from older files, integer widening, projection, and the
 * errors of hostile logs (missing file, path escaping the root, wrong
 * size, bad partition value); the scan options: dictionary codes kept,
 * predicates skipping row groups, morsels shared by two threads.
 */
#include "common/test_util.h"
#include "delta_test_util.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "delta/delta.h"
#include "parquet/parquet.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx {
    char *dir;
    objstore *os;
    delta_table *t;
    delta_snapshot *s;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("delta-scan");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_open(f->dir, &f->os, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    delta_snapshot_free(f->s);
    delta_table_close(f->t);
    objstore_close(f->os);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

static int buf_sink(void *ctx, const void *data, size_t len, tarn_err *err)
{
    (void)err;
    return tarn_buf_append(ctx, data, len);
}

/* Writes a data file of `rows` rows: column "x" (i32 or i64: x0 + row),
 * "s" (row 0 "a"+row, row 1 null), and "y" (f64 row / 2) when with_y. */
static size_t put_data(fx *f, const char *key, bool x_i32, bool with_y, int64_t x0, uint32_t rows)
{
    vec_type_info types[3] = {
        {.id = x_i32 ? VEC_I32 : VEC_I64}, {.id = VEC_STRING}, {.id = VEC_F64}};
    pq_write_col cols[3] = {{"x", types[0], false}, {"s", types[1], true}, {"y", types[2], true}};
    vec_batch b;
    uint32_t ncols = with_y ? 3 : 2;
    assert_int_equal(vec_batch_init(&b, types, ncols, rows), 0);
    for (uint32_t r = 0; r < rows; r++) {
        if (x_i32)
            ((int32_t *)b.cols[0].data)[r] = (int32_t)(x0 + r);
        else
            ((int64_t *)b.cols[0].data)[r] = x0 + r;
        char s[2] = {(char)('a' + x0 % 20 + r), 0};
        assert_int_equal(vec_col_append_str(&b.cols[1], s, r == 1 ? 0 : 1), 0);
        if (r == 1)
            assert_int_equal(vec_col_set_null(&b.cols[1], r), 0);
        if (with_y)
            ((double *)b.cols[2].data)[r] = r / 2.0;
    }
    for (uint32_t c = 0; c < ncols; c++)
        b.cols[c].len = rows;
    b.len = rows;
    tarn_buf out;
    tarn_buf_init(&out, TARN_BUF_UNBOUNDED);
    tarn_err err = TARN_ERR_INIT;
    pq_writer *w = NULL;
    pq_writer_opts o = {.cols = cols, .ncols = ncols, .sink = buf_sink, .sink_ctx = &out};
    assert_int_equal(pq_writer_open(&o, &w, &err), 0);
    assert_int_equal(pq_writer_write(w, &b, &err), 0);
    assert_int_equal(pq_writer_finish(w, &err), 0);
    pq_writer_close(w);
    vec_batch_free(&b);
    assert_int_equal(objstore_put(f->os, key, out.data, out.len, &err), 0);
    size_t len = out.len;
    tarn_buf_free(&out);
    return len;
}

#define SCHEMA                                                                                     \
    "{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":["                                                \
    "{\\\"name\\\":\\\"x\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}" \
    ","                                                                                            \
    "{\\\"name\\\":\\\"s\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{" \
    "}},"                                                                                          \
    "{\\\"name\\\":\\\"y\\\",\\\"type\\\":\\\"double\\\",\\\"nullable\\\":true,\\\"metadata\\\":{" \
    "}},"                                                                                          \
    "{\\\"name\\\":\\\"pi\\\",\\\"type\\\":\\\"integer\\\",\\\"nullable\\\":true,"                 \
    "\\\"metadata\\\":{}},"                                                                        \
    "{\\\"name\\\":\\\"pd\\\",\\\"type\\\":\\\"date\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}" \
    "},"                                                                                           \
    "{\\\"name\\\":\\\"pt\\\",\\\"type\\\":\\\"timestamp\\\",\\\"nullable\\\":true,"               \
    "\\\"metadata\\\":{}},"                                                                        \
    "{\\\"name\\\":\\\"pb\\\",\\\"type\\\":\\\"boolean\\\",\\\"nullable\\\":true,"                 \
    "\\\"metadata\\\":{}},"                                                                        \
    "{\\\"name\\\":\\\"pdec\\\",\\\"type\\\":\\\"decimal(5,2)\\\",\\\"nullable\\\":true,"          \
    "\\\"metadata\\\":{}},"                                                                        \
    "{\\\"name\\\":\\\"ps\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":" \
    "{}}]}"

static void put_log(fx *f, const char *pv_b, size_t size_a, size_t size_b, const char *path_b)
{
    char text[8192];
    snprintf(text, sizeof(text),
             "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
             "{\"metaData\":{\"id\":\"t\",\"schemaString\":\"" SCHEMA "\",\"partitionColumns\":"
             "[\"pi\",\"pd\",\"pt\",\"pb\",\"pdec\",\"ps\"],\"configuration\":{}}}\n"
             "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{\"pi\":\"7\",\"pd\":"
             "\"2020-02-29\",\"pt\":\"2020-01-01 00:00:01.5\",\"pb\":\"true\",\"pdec\":\"-1.25\","
             "\"ps\":null},\"size\":%zu,\"modificationTime\":1,\"dataChange\":true}}\n"
             "{\"add\":{\"path\":\"%s\",\"partitionValues\":{%s},\"size\":%zu,"
             "\"modificationTime\":1,\"dataChange\":true}}\n",
             size_a, path_b, pv_b, size_b);
    dt_put_commit(f->os, "t", 0, text);
}

#define PV_B                                                                                       \
    "\"pi\":\"__HIVE_DEFAULT_PARTITION__\",\"pd\":\"\",\"pt\":\"1970-01-01T00:00:00Z\","           \
    "\"pb\":\"false\",\"pdec\":\"3\",\"ps\":\"z/%\""

/* Opens the table and scans all columns; returns the scan's code. */
static int scan_all(fx *f, dt_rows *rows, tarn_err *err)
{
    if (f->t == NULL)
        assert_int_equal(delta_table_open(f->os, "t", &f->t, err), 0);
    delta_snapshot_free(f->s);
    f->s = NULL;
    assert_int_equal(delta_snapshot_latest(f->t, &f->s, err), 0);
    return dt_snapshot_rows(f->t, f->s, rows, err);
}

static void test_partition_values_and_missing_columns(void **state)
{
    fx *f = *state;
    size_t a = put_data(f, "t/a.parquet", true, false, 1, 2);
    size_t b = put_data(f, "t/p/b.parquet", false, true, 10, 1);
    put_log(f, PV_B, a, b, "p/b.parquet");
    dt_rows got = {0};
    tarn_err err = TARN_ERR_INIT;
    int rc = scan_all(f, &got, &err);
    if (rc != 0)
        print_error("%s\n", tarn_err_msg(&err));
    assert_int_equal(rc, 0);
    dt_rows want = {0};
    const char *w[] = {
        "pb=bool:1|pd=date:18321|pdec=decimal(5,2):-125|pi=i32:7|ps=null|"
        "pt=timestamp:1577836801500000|s=string:62|x=i64:1|y=null",
        "pb=bool:1|pd=date:18321|pdec=decimal(5,2):-125|pi=i32:7|ps=null|"
        "pt=timestamp:1577836801500000|s=null|x=i64:2|y=null",
        "pb=bool:0|pd=null|pdec=decimal(5,2):300|pi=null|ps=string:7a2f25|pt=timestamp:0|"
        "s=string:6b|x=i64:10|y=f64:0",
    };
    for (int i = 0; i < 3; i++) {
        dt_rows one = {.rows = malloc(sizeof(char *)), .n = 1, .cap = 1};
        one.rows[0] = strdup(w[i]);
        want.rows = realloc(want.rows, (want.n + 1) * sizeof(char *));
        want.rows[want.n++] = one.rows[0];
        free(one.rows);
    }
    dt_rows_sort(&got);
    dt_rows_sort(&want);
    dt_rows_assert_equal(&got, &want, "scan");
    dt_rows_free(&got);
    dt_rows_free(&want);
}

/* A projection, and one of partition columns only (no file column read:
 * the row count comes from the footer). */
static void test_projection(void **state)
{
    fx *f = *state;
    size_t a = put_data(f, "t/a.parquet", false, true, 1, 3);
    size_t b = put_data(f, "t/b.parquet", false, true, 5, 2);
    put_log(f, PV_B, a, b, "b.parquet");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open(f->os, "t", &f->t, &err), 0);
    assert_int_equal(delta_snapshot_latest(f->t, &f->s, &err), 0);
    const char *cols[] = {"PI"};
    delta_scan *sc = NULL;
    delta_scan_opts o = {.columns = cols, .ncols = 1, .batch_rows = 2};
    assert_int_equal(delta_scan_open(f->t, f->s, &o, &sc, &err), 0);
    vec_batch bt;
    assert_int_equal(delta_scan_batch_init(sc, &bt), 0);
    uint32_t rows = 0, nulls = 0;
    int rc;
    while ((rc = delta_scan_next(sc, &bt, &err)) == 0 && bt.len > 0) {
        rows += bt.len;
        nulls += vec_col_null_count(&bt.cols[0]);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rows, 5);
    assert_int_equal(nulls, 2);
    vec_batch_free(&bt);
    delta_scan_close(sc);
    const char *bad[] = {"nope"};
    o.columns = bad;
    assert_int_equal(delta_scan_open(f->t, f->s, &o, &sc, &err), TARN_EINVAL);
    assert_null(sc);
}

/* Scans a log whose second add is hostile; expects `code` and `needle`. */
static void expect_scan_error(fx *f, const char *pv_b, size_t size_b, const char *path_b, int code,
                              const char *needle)
{
    size_t a = put_data(f, "t/a.parquet", false, true, 1, 2);
    put_data(f, "t/b.parquet", false, true, 1, 2);
    put_log(f, pv_b, a, size_b, path_b);
    dt_rows got = {0};
    tarn_err err = TARN_ERR_INIT;
    int rc = scan_all(f, &got, &err);
    if (rc != code || strstr(tarn_err_msg(&err), needle) == NULL)
        print_error("want %d naming %s, got %d: %s\n", code, needle, rc, tarn_err_msg(&err));
    assert_int_equal(rc, code);
    assert_non_null(strstr(tarn_err_msg(&err), needle));
    dt_rows_free(&got);
}

static void test_hostile_files(void **state)
{
    fx *f = *state;
    expect_scan_error(f, PV_B, 10, "gone.parquet", TARN_ENOENT, "data file gone.parquet");
    expect_scan_error(f, PV_B, 10, "../escape.parquet", TARN_EINVAL, "data file ../escape");
    expect_scan_error(f, PV_B, 12345, "b.parquet", TARN_ECORRUPT, "the log says 12345 bytes");
    size_t b = put_data(f, "t/b.parquet", false, true, 1, 2);
    expect_scan_error(f,
                      "\"pi\":\"abc\",\"pd\":\"\",\"pt\":\"\",\"pb\":\"\",\"pdec\":\"\","
                      "\"ps\":\"\"",
                      b, "b.parquet", TARN_ECORRUPT, "\"abc\" is not a valid integer");
    expect_scan_error(f,
                      "\"pi\":\"1\",\"pd\":\"2020-13-01\",\"pt\":\"\",\"pb\":\"\",\"pdec\":\"\","
                      "\"ps\":\"\"",
                      b, "b.parquet", TARN_ECORRUPT, "not a valid date");
    expect_scan_error(f,
                      "\"pi\":\"1\",\"pd\":\"\",\"pt\":\"\",\"pb\":\"\",\"pdec\":\"1.234\","
                      "\"ps\":\"\"",
                      b, "b.parquet", TARN_ECORRUPT, "not a valid decimal");
    /* A partition value missing from an add is corrupt at snapshot time. */
    put_log(f, "\"pi\":\"1\"", b, b, "b.parquet");
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot_free(f->s);
    f->s = NULL;
    assert_int_equal(delta_snapshot_latest(f->t, &f->s, &err), TARN_ECORRUPT);
    assert_non_null(strstr(tarn_err_msg(&err), "no partition value for column \"pd\""));
}

/* ---- options: dictionary codes, predicates, morsels ---- */

#define OPT_SCHEMA                                                                                 \
    "{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":["                                                \
    "{\\\"name\\\":\\\"x\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}" \
    ",{\\\"name\\\":\\\"s\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,"                  \
    "\\\"metadata\\\":{}}]}"

/* A file of `rows` rows, x = x0 + row, s = one of 5 keys (row 3 of each 7
 * null), written in batches of 100 with small row groups. */
static size_t put_opt_file(fx *f, const char *key, int64_t x0, uint32_t rows)
{
    vec_type_info types[2] = {{.id = VEC_I64}, {.id = VEC_STRING}};
    pq_write_col cols[2] = {{"x", types[0], true}, {"s", types[1], true}};
    tarn_buf out;
    tarn_buf_init(&out, TARN_BUF_UNBOUNDED);
    tarn_err err = TARN_ERR_INIT;
    pq_writer *w = NULL;
    pq_writer_opts o = {
        .cols = cols, .ncols = 2, .sink = buf_sink, .sink_ctx = &out, .row_group_bytes = 512};
    assert_int_equal(pq_writer_open(&o, &w, &err), 0);
    for (uint32_t done = 0; done < rows; done += 100) {
        vec_batch b;
        uint32_t n = rows - done < 100 ? rows - done : 100;
        assert_int_equal(vec_batch_init(&b, types, 2, n), 0);
        for (uint32_t r = 0; r < n; r++) {
            int64_t x = x0 + done + r;
            ((int64_t *)b.cols[0].data)[r] = x;
            char k[4] = {'k', (char)('0' + x % 5), 0, 0};
            assert_int_equal(vec_col_append_str(&b.cols[1], k, 2), 0);
            if (x % 7 == 3)
                assert_int_equal(vec_col_set_null(&b.cols[1], r), 0);
        }
        b.cols[0].len = b.cols[1].len = n;
        b.len = n;
        assert_int_equal(pq_writer_write(w, &b, &err), 0);
        vec_batch_free(&b);
    }
    assert_int_equal(pq_writer_finish(w, &err), 0);
    pq_writer_close(w);
    assert_int_equal(objstore_put(f->os, key, out.data, out.len, &err), 0);
    size_t len = out.len;
    tarn_buf_free(&out);
    return len;
}

/* A table of `nfiles` files of `rows` rows each, x from 0 up. */
static void put_opt_table(fx *f, uint32_t nfiles, uint32_t rows)
{
    tarn_buf log;
    tarn_buf_init(&log, TARN_BUF_UNBOUNDED);
    assert_int_equal(
        tarn_buf_printf(&log, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
                              "{\"metaData\":{\"id\":\"t\",\"schemaString\":\"" OPT_SCHEMA
                              "\",\"partitionColumns\":[],\"configuration\":{}}}\n"),
        0);
    for (uint32_t i = 0; i < nfiles; i++) {
        char key[64], path[32];
        snprintf(path, sizeof(path), "f%u.parquet", i);
        snprintf(key, sizeof(key), "t/%s", path);
        size_t len = put_opt_file(f, key, (int64_t)i * rows, rows);
        assert_int_equal(
            tarn_buf_printf(&log,
                            "{\"add\":{\"path\":\"%s\",\"partitionValues\":{},"
                            "\"size\":%zu,\"modificationTime\":1,\"dataChange\":true}}\n",
                            path, len),
            0);
    }
    assert_int_equal(tarn_buf_append_byte(&log, '\0'), 0);
    dt_put_commit(f->os, "t", 0, (const char *)log.data);
    tarn_buf_free(&log);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open(f->os, "t", &f->t, &err), 0);
    assert_int_equal(delta_snapshot_latest(f->t, &f->s, &err), 0);
}

typedef struct scan_run {
    fx *f;
    delta_scan_opts o;
    dt_rows rows;
    uint32_t dict_batches; /* batches whose string column came as codes */
    int rc;
} scan_run;

static void *scan_run_fn(void *p)
{
    scan_run *sr = p;
    static const char *const names[] = {"s", "x"};
    tarn_err err = TARN_ERR_INIT;
    delta_scan *sc = NULL;
    sr->rc = delta_scan_open(sr->f->t, sr->f->s, &sr->o, &sc, &err);
    vec_batch b = {0};
    if (sr->rc == 0)
        sr->rc = delta_scan_batch_init(sc, &b);
    while (sr->rc == 0 && (sr->rc = delta_scan_next(sc, &b, &err)) == 0 && b.len > 0) {
        sr->dict_batches += b.cols[0].dict != NULL;
        dt_rows_add_batch(&sr->rows, &b, names);
    }
    vec_batch_free(&b);
    delta_scan_close(sc);
    return NULL;
}

static void scan_with(fx *f, const delta_scan_opts *o, scan_run *out)
{
    *out = (scan_run){.f = f, .o = *o};
    scan_run_fn(out);
    assert_int_equal(out->rc, 0);
    dt_rows_sort(&out->rows);
}

static const char *const opt_cols[] = {"s", "x"};

/* keep_dict: the same rows, strings as codes. */
static void test_keep_dict(void **state)
{
    fx *f = *state;
    put_opt_table(f, 3, 700);
    delta_scan_opts plain = {.columns = opt_cols, .ncols = 2};
    delta_scan_opts codes = plain;
    codes.keep_dict = true;
    scan_run a, b;
    scan_with(f, &plain, &a);
    scan_with(f, &codes, &b);
    assert_int_equal(a.rows.n, 2100);
    assert_int_equal(a.dict_batches, 0);
    assert_true(b.dict_batches > 0);
    dt_rows_assert_equal(&b.rows, &a.rows, "keep_dict");
    dt_rows_free(&a.rows);
    dt_rows_free(&b.rows);
}

/* A predicate skips row groups: what comes back is a subset that still
 * holds every matching row, and fewer rows than all. */
static void test_predicate(void **state)
{
    fx *f = *state;
    put_opt_table(f, 3, 700);
    vec_col v;
    assert_int_equal(vec_col_init(&v, (vec_type_info){.id = VEC_I64}, 1), 0);
    ((int64_t *)v.data)[0] = 1900;
    v.len = 1;
    delta_scan_pred p = {.column = 1, .op = PQ_OP_GE, .value = &v};
    delta_scan_opts all = {.columns = opt_cols, .ncols = 2};
    delta_scan_opts some = all;
    some.preds = &p;
    some.npreds = 1;
    scan_run a, b;
    scan_with(f, &all, &a);
    scan_with(f, &some, &b);
    assert_true(b.rows.n < a.rows.n);
    size_t matching = 0, found = 0;
    for (size_t i = 0; i < a.rows.n; i++) {
        long long x = atoll(strstr(a.rows.rows[i], "x=i64:") + 6);
        if (x < 1900)
            continue;
        matching++;
        for (size_t k = 0; k < b.rows.n; k++)
            found += strcmp(b.rows.rows[k], a.rows.rows[i]) == 0;
    }
    assert_int_equal(matching, 200);
    assert_int_equal(found, matching);
    /* a bad predicate column is an error */
    p.column = 2;
    delta_scan *sc = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_scan_open(f->t, f->s, &some, &sc, &err), TARN_EINVAL);
    vec_col_free(&v);
    dt_rows_free(&a.rows);
    dt_rows_free(&b.rows);
}

/* Two threads on shared morsels read every row once, whether the units
 * are row groups (few files) or files (many). */
static void check_morsels(fx *f, uint32_t want_units_min)
{
    tarn_err err = TARN_ERR_INIT;
    delta_morsels *m = NULL;
    assert_int_equal(delta_morsels_open(f->t, f->s, 2, &m, &err), 0);
    assert_true(delta_morsels_count(m) >= want_units_min);
    delta_scan_opts o = {.columns = opt_cols, .ncols = 2, .keep_dict = true, .morsels = m};
    scan_run w[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        w[i] = (scan_run){.f = f, .o = o};
        assert_int_equal(pthread_create(&th[i], NULL, scan_run_fn, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    dt_rows both = {0};
    for (int i = 0; i < 2; i++) {
        both.rows = realloc(both.rows, (both.n + w[i].rows.n + 1) * sizeof(char *));
        assert_non_null(both.rows);
        if (w[i].rows.n > 0) /* a worker may find every unit taken */
            memcpy(both.rows + both.n, w[i].rows.rows, w[i].rows.n * sizeof(char *));
        both.n += w[i].rows.n;
        both.cap = both.n;
        free(w[i].rows.rows); /* the strings moved to `both` */
    }
    dt_rows_sort(&both);
    delta_scan_opts serial = {.columns = opt_cols, .ncols = 2};
    scan_run s;
    scan_with(f, &serial, &s);
    dt_rows_assert_equal(&both, &s.rows, "morsels");
    dt_rows_free(&both);
    dt_rows_free(&s.rows);
    delta_morsels_close(m);
}

static void test_morsels_row_groups(void **state)
{
    fx *f = *state;
    put_opt_table(f, 2, 900);
    check_morsels(f, 4); /* 2 files of several row groups each */
}

static void test_morsels_files(void **state)
{
    fx *f = *state;
    put_opt_table(f, 9, 50);
    check_morsels(f, 9); /* one unit per file */
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_partition_values_and_missing_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_projection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_dict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_predicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_morsels_row_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_morsels_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
