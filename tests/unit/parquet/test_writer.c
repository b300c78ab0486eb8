/* Tests of the Parquet writer: round trips through Tarn's reader, size
 * targets, statistics (edge cases), failure handling (required nulls, sink
 * errors, out of memory) and an empty file. Interop with DuckDB and
 * hyparquet is in tests/interop/writer_matrix.js. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "parquet/parquet.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct mem_sink {
    tarn_buf buf;
    int fail_after; /* fail the nth call (1-based); 0: never */
    int calls;
} mem_sink;

static int mem_put(void *ctx, const void *p, size_t n, tarn_err *err)
{
    mem_sink *m = ctx;
    if (m->fail_after && ++m->calls >= m->fail_after)
        return tarn_err_set(err, TARN_EIO, "disk full");
    return tarn_buf_append(&m->buf, p, n);
}

static const pq_write_col COLS[] = {
    {"id", {.id = VEC_I64}, false},
    {"score", {.id = VEC_F64}, true},
    {"name", {.id = VEC_STRING}, true},
    {"small", {.id = VEC_I16}, true},
};

/* Row r: id r, score r/2 (null when r%5==0), name "n<r%13>" (null when
 * r%4==1), small -r%700. */
static int fill(vec_batch *b, uint32_t base, uint32_t n)
{
    int rc = 0;
    vec_batch_reset(b);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t r = base + k;
        ((int64_t *)b->cols[0].data)[k] = r;
        ((double *)b->cols[1].data)[k] = r / 2.0;
        if (r % 5 == 0 && rc == 0)
            rc = vec_col_set_null(&b->cols[1], k);
        char s[16];
        snprintf(s, sizeof(s), "n%u", r % 13);
        /* Errors only under injected allocation failures; passed up. */
        if (r % 4 == 1) {
            rc = rc ? rc : vec_col_set_null(&b->cols[2], k);
            rc = rc ? rc : vec_col_append_str(&b->cols[2], "", 0);
        } else {
            rc = rc ? rc : vec_col_append_str(&b->cols[2], s, strlen(s));
        }
        ((int16_t *)b->cols[3].data)[k] = (int16_t)(-(int)(r % 700));
    }
    for (uint32_t c = 0; c < 4; c++)
        if (c != 2)
            b->cols[c].len = n;
    b->len = n;
    return rc;
}

static int write_rows(mem_sink *m, pq_writer_opts o, uint32_t rows, tarn_err *err, pq_writer **out)
{
    o.cols = COLS;
    o.ncols = 4;
    o.sink = mem_put;
    o.sink_ctx = m;
    vec_type_info types[4];
    for (int i = 0; i < 4; i++)
        types[i] = COLS[i].type;
    pq_writer *w;
    int rc = pq_writer_open(&o, &w, err);
    if (rc != 0)
        return rc;
    vec_batch b;
    rc = vec_batch_init(&b, types, 4, 1000);
    if (rc != 0) {
        pq_writer_close(w);
        return rc;
    }
    for (uint32_t base = 0; rc == 0 && base < rows; base += 1000) {
        rc = fill(&b, base, rows - base < 1000 ? rows - base : 1000);
        if (rc == 0)
            rc = pq_writer_write(w, &b, err);
    }
    if (rc == 0)
        rc = pq_writer_finish(w, err);
    vec_batch_free(&b);
    if (rc != 0 || out == NULL)
        pq_writer_close(w);
    else
        *out = w;
    return rc;
}

/* Reads the file back and checks every value against fill(). */
static void check_file(const tarn_buf *file, uint32_t rows)
{
    pq_file *f;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(pq_file_open_bytes(file->data, file->len, "w", &f, &err), 0);
    assert_int_equal(pq_file_meta(f)->num_rows, rows);
    assert_string_equal(pq_file_meta(f)->created_by, "tarn version " TARN_VERSION);
    pq_scan *s;
    assert_int_equal(pq_scan_open(f, &(pq_scan_opts){.keep_dict = true}, &s, &err), 0);
    vec_batch b;
    assert_int_equal(pq_scan_batch_init(s, &b), 0);
    uint32_t r = 0;
    while (pq_scan_next(s, &b, &err) == 0 && b.len > 0) {
        for (uint32_t k = 0; k < b.len; k++, r++) {
            assert_int_equal(((int64_t *)b.cols[0].data)[k], r);
            assert_int_equal(vec_col_is_valid(&b.cols[1], k), r % 5 != 0);
            if (r % 5)
                assert_true(((double *)b.cols[1].data)[k] == r / 2.0);
            assert_int_equal(vec_col_is_valid(&b.cols[2], k), r % 4 != 1);
            if (r % 4 != 1) {
                const uint8_t *str;
                size_t n;
                char want[16];
                snprintf(want, sizeof(want), "n%u", r % 13);
                vec_col_str(&b.cols[2], k, &str, &n);
                assert_int_equal(n, strlen(want));
                assert_memory_equal(str, want, n);
            }
            assert_int_equal(((int16_t *)b.cols[3].data)[k], -(int)(r % 700));
        }
    }
    assert_int_equal(err.code, 0);
    assert_int_equal(r, rows);
    vec_batch_free(&b);
    pq_scan_close(s);
    pq_file_close(f);
}

static void test_round_trip_codecs(void **state)
{
    (void)state;
    for (int codec = 0; codec <= PQ_WRITE_UNCOMPRESSED; codec++) {
        for (int variant = 0; variant < 4; variant++) {
            mem_sink m = {.fail_after = 0};
            tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
            /* 0, 1: v1 pages with and without dictionaries; 2, 3: v2 pages. */
            pq_writer_opts o = {.codec = (pq_write_codec)codec,
                                .no_dict = variant & 1,
                                .page_v2 = variant >= 2,
                                .page_bytes = 2048};
            assert_int_equal(write_rows(&m, o, 4321, NULL, NULL), 0);
            check_file(&m.buf, 4321);
            tarn_buf_free(&m.buf);
        }
    }
}

static void test_size_targets(void **state)
{
    (void)state;
    mem_sink m = {0};
    tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
    pq_writer_opts o = {.page_bytes = 512, .row_group_bytes = 16 << 10, .dict_max_bytes = 256};
    assert_int_equal(write_rows(&m, o, 20000, NULL, NULL), 0);
    check_file(&m.buf, 20000);
    pq_file *f;
    assert_int_equal(pq_file_open_bytes(m.buf.data, m.buf.len, "w", &f, NULL), 0);
    const pq_meta *meta = pq_file_meta(f);
    assert_true(meta->nrow_groups > 3);
    int64_t total = 0;
    for (uint32_t g = 0; g < meta->nrow_groups; g++) {
        total += meta->row_groups[g].num_rows;
        /* Each row group stays near its target: one slice of rows past it at most. */
        assert_true(meta->row_groups[g].total_compressed_size < 40 << 10);
        /* Pages are small: a chunk holds several (its size over the page target). */
        assert_true(meta->row_groups[g].columns[0].meta.total_uncompressed > 2 * 512);
    }
    assert_int_equal(total, 20000);
    /* id has too many distinct values for a 256-byte dictionary: PLAIN. */
    assert_true(meta->row_groups[0].columns[0].meta.encodings_mask & (1u << PQ_ENC_PLAIN));
    /* name has 13 values: dictionary encoded. */
    assert_true(meta->row_groups[0].columns[2].meta.encodings_mask & (1u << PQ_ENC_RLE_DICTIONARY));
    pq_file_close(f);
    tarn_buf_free(&m.buf);
}

/* Scanning row group ranges (morsels of a parallel scan): each range gives
 * exactly its row groups' rows, in order, and the ranges together give
 * the file; the footer accessors agree with what the scans return. */
static void test_row_group_ranges(void **state)
{
    (void)state;
    mem_sink m = {0};
    tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
    pq_writer_opts o = {.page_bytes = 512, .row_group_bytes = 16 << 10};
    assert_int_equal(write_rows(&m, o, 20000, NULL, NULL), 0);
    pq_file *f;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(pq_file_open_bytes(m.buf.data, m.buf.len, "w", &f, &err), 0);
    uint32_t nrg = pq_file_nrow_groups(f);
    assert_true(nrg > 3);
    assert_int_equal(pq_file_row_group_rows(f, nrg), 0);
    vec_col mins, maxs;
    assert_int_equal(vec_col_init(&mins, (vec_type_info){.id = VEC_I64}, nrg), 0);
    assert_int_equal(vec_col_init(&maxs, (vec_type_info){.id = VEC_I64}, nrg), 0);
    int64_t next = 0; /* id of the next row expected: ids are 0, 1, ... */
    for (uint32_t first = 0; first < nrg; first += 2) {
        uint32_t count = nrg - first < 2 ? nrg - first : 2;
        pq_scan *s;
        pq_scan_opts so = {.rg_first = first, .rg_count = count, .batch_rows = 777};
        assert_int_equal(pq_scan_open(f, &so, &s, &err), 0);
        vec_batch b;
        assert_int_equal(pq_scan_batch_init(s, &b), 0);
        int64_t rows = 0, want = 0;
        for (uint32_t g = first; g < first + count; g++) {
            want += pq_file_row_group_rows(f, g);
            pq_rg_stats st;
            assert_int_equal(pq_file_column_stats(f, g, 0, &mins, &maxs, &st), 0);
            assert_true(st.min_max);
            assert_int_equal(st.null_count, 0);
            assert_int_equal(st.num_values, pq_file_row_group_rows(f, g));
        }
        while (pq_scan_next(s, &b, &err) == 0 && b.len > 0)
            for (uint32_t k = 0; k < b.len; k++, rows++)
                assert_int_equal(((int64_t *)b.cols[0].data)[k], next + rows);
        assert_int_equal(err.code, 0);
        assert_int_equal(rows, want);
        next += rows;
        vec_batch_free(&b);
        pq_scan_close(s);
    }
    assert_int_equal(next, 20000);
    /* The statistics of consecutive row groups: min of one = max of the
     * previous + 1, as ids ascend. */
    assert_int_equal(mins.len, nrg);
    assert_int_equal(((int64_t *)mins.data)[0], 0);
    for (uint32_t g = 1; g < nrg; g++)
        assert_int_equal(((int64_t *)mins.data)[g], ((int64_t *)maxs.data)[g - 1] + 1);
    /* Statistics of a nullable string column; a full output; bad input. */
    pq_rg_stats st;
    assert_int_equal(pq_file_column_stats(f, 0, 0, &mins, &maxs, &st), TARN_ERANGE);
    assert_int_equal(pq_file_column_stats(f, nrg, 0, &mins, &maxs, &st), TARN_EINVAL);
    assert_int_equal(pq_file_column_stats(f, 0, 9, &mins, &maxs, &st), TARN_EINVAL);
    vec_col smin, smax;
    assert_int_equal(vec_col_init(&smin, (vec_type_info){.id = VEC_STRING}, 1), 0);
    assert_int_equal(vec_col_init(&smax, (vec_type_info){.id = VEC_STRING}, 1), 0);
    assert_int_equal(pq_file_column_stats(f, 1, 2, &smin, &smax, &st), 0);
    assert_true(st.min_max && st.null_count > 0);
    const uint8_t *p;
    size_t n;
    vec_col_str(&smin, 0, &p, &n);
    assert_true(n == 2 && memcmp(p, "n0", 2) == 0);
    vec_col_str(&smax, 0, &p, &n);
    assert_true(n == 2 && memcmp(p, "n9", 2) == 0);
    /* Ranges outside the file; an empty range at the end is allowed. */
    pq_scan *s;
    assert_int_equal(pq_scan_open(f, &(pq_scan_opts){.rg_first = nrg + 1}, &s, &err), TARN_EINVAL);
    assert_int_equal(pq_scan_open(f, &(pq_scan_opts){.rg_first = 1, .rg_count = nrg}, &s, &err),
                     TARN_EINVAL);
    assert_int_equal(pq_scan_open(f, &(pq_scan_opts){.rg_first = nrg}, &s, &err), 0);
    vec_batch b;
    assert_int_equal(pq_scan_batch_init(s, &b), 0);
    assert_int_equal(pq_scan_next(s, &b, &err), 0);
    assert_int_equal(b.len, 0);
    vec_batch_free(&b);
    pq_scan_close(s);
    vec_col_free(&smin);
    vec_col_free(&smax);
    vec_col_free(&mins);
    vec_col_free(&maxs);
    pq_file_close(f);
    tarn_buf_free(&m.buf);
}

static int64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static void test_statistics(void **state)
{
    (void)state;
    mem_sink m = {0};
    tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
    pq_writer *w;
    assert_int_equal(write_rows(&m, (pq_writer_opts){0}, 3000, NULL, &w), 0);
    const pq_write_stats *id = pq_writer_stats(w, 0);
    assert_true(id->has_min_max);
    assert_int_equal(id->null_count, 0);
    assert_int_equal(le64(id->min), 0);
    assert_int_equal(le64(id->max), 2999);
    const pq_write_stats *name = pq_writer_stats(w, 2);
    assert_int_equal(name->null_count, 750);
    assert_int_equal(name->min_len, 2);
    assert_memory_equal(name->min, "n0", 2);
    assert_int_equal(name->max_len, 2);
    assert_memory_equal(name->max, "n9", 2); /* bytewise: "n9" > "n12" */
    const pq_write_stats *small = pq_writer_stats(w, 3);
    assert_int_equal(small->min_len, 4); /* INT16 is written as INT32 */
    assert_int_equal((int32_t)(small->min[0] | small->min[1] << 8 | small->min[2] << 16 |
                               (uint32_t)small->min[3] << 24),
                     -699);
    assert_null(pq_writer_stats(w, 4));
    pq_writer_close(w);
    tarn_buf_free(&m.buf);
}

/* NaN is left out of min/max; an all-null column has none. */
static void test_statistics_nan_and_all_null(void **state)
{
    (void)state;
    pq_write_col cols[] = {{"f", {.id = VEC_F64}, true}, {"z", {.id = VEC_I32}, true}};
    vec_type_info types[] = {cols[0].type, cols[1].type};
    mem_sink m = {0};
    tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
    pq_writer *w;
    assert_int_equal(
        pq_writer_open(&(pq_writer_opts){.cols = cols, .ncols = 2, .sink = mem_put, .sink_ctx = &m},
                       &w, NULL),
        0);
    vec_batch b;
    assert_int_equal(vec_batch_init(&b, types, 2, 4), 0);
    double vals[] = {NAN, 2.5, -1.0, NAN};
    memcpy(b.cols[0].data, vals, sizeof(vals));
    for (uint32_t k = 0; k < 4; k++)
        assert_int_equal(vec_col_set_null(&b.cols[1], k), 0);
    b.cols[0].len = b.cols[1].len = b.len = 4;
    assert_int_equal(pq_writer_write(w, &b, NULL), 0);
    assert_int_equal(pq_writer_finish(w, NULL), 0);
    const pq_write_stats *f = pq_writer_stats(w, 0);
    double mn, mx;
    memcpy(&mn, f->min, 8);
    memcpy(&mx, f->max, 8);
    assert_true(mn == -1.0);
    assert_true(mx == 2.5);
    assert_false(pq_writer_stats(w, 1)->has_min_max);
    assert_int_equal(pq_writer_stats(w, 1)->null_count, 4);
    vec_batch_free(&b);
    pq_writer_close(w);
    tarn_buf_free(&m.buf);
}

static void test_required_null_and_sink_failure(void **state)
{
    (void)state;
    pq_write_col cols[] = {{"x", {.id = VEC_I32}, false}};
    mem_sink m = {0};
    tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
    pq_writer *w;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(
        pq_writer_open(
            &(pq_writer_opts){
                .cols = cols, .ncols = 1, .sink = mem_put, .sink_ctx = &m, .name = "t.parquet"},
            &w, &err),
        0);
    vec_batch b;
    assert_int_equal(vec_batch_init(&b, &cols[0].type, 1, 2), 0);
    assert_int_equal(vec_col_set_null(&b.cols[0], 1), 0);
    b.cols[0].len = b.len = 2;
    assert_int_equal(pq_writer_write(w, &b, &err), TARN_EINVAL);
    assert_non_null(strstr(err.msg, "t.parquet"));
    assert_non_null(strstr(err.msg, "required column 'x'"));
    assert_int_equal(pq_writer_finish(w, NULL), TARN_ESTATE);
    pq_writer_close(w);
    vec_batch_free(&b);
    /* A STRING value that is not UTF-8 is refused. */
    pq_write_col scol[] = {{"s", {.id = VEC_STRING}, false}};
    assert_int_equal(
        pq_writer_open(&(pq_writer_opts){.cols = scol, .ncols = 1, .sink = mem_put, .sink_ctx = &m},
                       &w, &err),
        0);
    assert_int_equal(vec_batch_init(&b, &scol[0].type, 1, 2), 0);
    assert_int_equal(vec_col_append_str(&b.cols[0], "ok", 2), 0);
    assert_int_equal(vec_col_append_str(&b.cols[0], "\xc3(", 2), 0);
    b.len = 2;
    tarn_err_clear(&err);
    assert_int_equal(pq_writer_write(w, &b, &err), TARN_EINVAL);
    assert_non_null(strstr(err.msg, "column 's'"));
    pq_writer_close(w);
    vec_batch_free(&b);
    /* The sink fails on its 3rd call (magic, then the first chunk...). */
    tarn_buf_reset(&m.buf);
    m.fail_after = 3;
    tarn_err_clear(&err);
    assert_int_equal(write_rows(&m, (pq_writer_opts){.name = "u.parquet"}, 100, &err, NULL),
                     TARN_EIO);
    assert_non_null(strstr(err.msg, "disk full"));
    tarn_buf_free(&m.buf);
}

static void test_empty_file(void **state)
{
    (void)state;
    mem_sink m = {0};
    tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
    assert_int_equal(write_rows(&m, (pq_writer_opts){0}, 0, NULL, NULL), 0);
    check_file(&m.buf, 0);
    tarn_buf_free(&m.buf);
}

static int oom_write(void *ctx)
{
    mem_sink *m = ctx;
    tarn_buf_free(&m->buf);
    int rc = write_rows(m, (pq_writer_opts){.page_bytes = 2048, .row_group_bytes = 8192}, 1500,
                        NULL, NULL);
    if (rc != 0)
        tarn_buf_free(&m->buf); /* the sink's bytes are the test's, not a leak */
    return rc;
}

static void oom_cleanup(void *ctx)
{
    tarn_buf_free(&((mem_sink *)ctx)->buf);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    mem_sink m = {0};
    tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
    assert_true(tarn_test_oom_loop(oom_write, oom_cleanup, &m, 5000) > 20);
    assert_int_equal(oom_write(&m), 0);
    check_file(&m.buf, 1500);
    tarn_buf_free(&m.buf);
}

/* Scans with one predicate; returns rows read and the ids seen in *lo..*hi. */
static uint64_t scan_pred(const tarn_buf *file, pq_predicate p, uint32_t *skipped, int64_t *lo,
                          int64_t *hi, uint64_t *match)
{
    pq_file *f;
    assert_int_equal(pq_file_open_bytes(file->data, file->len, "w", &f, NULL), 0);
    pq_scan *s;
    uint32_t col = 0;
    assert_int_equal(
        pq_scan_open(f, &(pq_scan_opts){.columns = &col, .ncols = 1, .preds = &p, .npreds = 1}, &s,
                     NULL),
        0);
    vec_batch b;
    assert_int_equal(pq_scan_batch_init(s, &b), 0);
    uint64_t rows = 0;
    *lo = INT64_MAX;
    *hi = INT64_MIN;
    *match = 0;
    while (pq_scan_next(s, &b, NULL) == 0 && b.len > 0) {
        for (uint32_t k = 0; k < b.len; k++) {
            int64_t id = ((int64_t *)b.cols[0].data)[k];
            *lo = id < *lo ? id : *lo;
            *hi = id > *hi ? id : *hi;
            *match += p.op == PQ_OP_GE && p.value && id >= ((int64_t *)p.value->data)[0];
        }
        rows += b.len;
    }
    *skipped = pq_scan_skipped_row_groups(s);
    vec_batch_free(&b);
    pq_scan_close(s);
    pq_file_close(f);
    return rows;
}

static void test_predicate_skipping(void **state)
{
    (void)state;
    mem_sink m = {0};
    tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
    pq_writer_opts o = {.page_bytes = 4096, .row_group_bytes = 16 << 10};
    assert_int_equal(write_rows(&m, o, 20000, NULL, NULL), 0);
    vec_col v;
    assert_int_equal(vec_col_init(&v, (vec_type_info){.id = VEC_I64}, 1), 0);
    v.len = 1;
    uint32_t skipped;
    int64_t lo, hi;
    uint64_t match;
    /* id >= 15000: the row groups before it are skipped, none it needs. */
    ((int64_t *)v.data)[0] = 15000;
    uint64_t rows = scan_pred(&m.buf, (pq_predicate){0, PQ_OP_GE, &v}, &skipped, &lo, &hi, &match);
    assert_true(skipped > 0);
    assert_true(rows < 10000);
    assert_int_equal(match, 5000);
    assert_int_equal(hi, 19999);
    assert_true(lo <= 15000);
    /* id == 12345: exactly the one row group holding it. */
    ((int64_t *)v.data)[0] = 12345;
    rows = scan_pred(&m.buf, (pq_predicate){0, PQ_OP_EQ, &v}, &skipped, &lo, &hi, &match);
    assert_true(lo <= 12345 && hi >= 12345);
    assert_true(rows < 5000);
    /* id < 0 and id IS NULL: nothing can match. */
    ((int64_t *)v.data)[0] = 0;
    assert_int_equal(scan_pred(&m.buf, (pq_predicate){0, PQ_OP_LT, &v}, &skipped, &lo, &hi, &match),
                     0);
    assert_int_equal(
        scan_pred(&m.buf, (pq_predicate){0, PQ_OP_IS_NULL, NULL}, &skipped, &lo, &hi, &match), 0);
    /* id <= 0 keeps only the first row group. */
    rows = scan_pred(&m.buf, (pq_predicate){0, PQ_OP_LE, &v}, &skipped, &lo, &hi, &match);
    assert_true(rows > 0 && lo == 0 && rows < 5000);
    /* Floats are never skipped by min/max (NaN is outside them). */
    vec_col fv;
    assert_int_equal(vec_col_init(&fv, (vec_type_info){.id = VEC_F64}, 1), 0);
    ((double *)fv.data)[0] = 1e12;
    fv.len = 1;
    assert_int_equal(
        scan_pred(&m.buf, (pq_predicate){1, PQ_OP_GT, &fv}, &skipped, &lo, &hi, &match), 20000);
    assert_int_equal(skipped, 0);
    /* Strings: "zzz" is above every name. */
    vec_col sv;
    assert_int_equal(vec_col_init(&sv, (vec_type_info){.id = VEC_STRING}, 1), 0);
    assert_int_equal(vec_col_append_str(&sv, "zzz", 3), 0);
    assert_int_equal(
        scan_pred(&m.buf, (pq_predicate){2, PQ_OP_EQ, &sv}, &skipped, &lo, &hi, &match), 0);
    /* A value of the wrong type is refused. */
    pq_file *f;
    pq_scan *s;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(pq_file_open_bytes(m.buf.data, m.buf.len, "w", &f, NULL), 0);
    pq_predicate bad = {2, PQ_OP_EQ, &v};
    assert_int_equal(pq_scan_open(f, &(pq_scan_opts){.preds = &bad, .npreds = 1}, &s, &err),
                     TARN_EINVAL);
    pq_file_close(f);
    vec_col_free(&v);
    vec_col_free(&fv);
    vec_col_free(&sv);
    tarn_buf_free(&m.buf);
}

/* Pages carry a CRC: one flipped byte in a page body is caught. */
static void test_page_crc(void **state)
{
    (void)state;
    mem_sink m = {0};
    tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
    assert_int_equal(
        write_rows(&m, (pq_writer_opts){.codec = PQ_WRITE_UNCOMPRESSED}, 500, NULL, NULL), 0);
    pq_file *f;
    assert_int_equal(pq_file_open_bytes(m.buf.data, m.buf.len, "w", &f, NULL), 0);
    size_t off = (size_t)pq_file_meta(f)->row_groups[0].columns[0].meta.data_page_offset;
    pq_file_close(f);
    pq_page_header h;
    size_t hlen;
    assert_int_equal(pq_page_header_decode(m.buf.data + off, m.buf.len - off, &h, &hlen, NULL), 0);
    assert_true(h.has_crc);
    m.buf.data[off + hlen + 8] ^= 0x01; /* the value of one id, still decodable */
    assert_int_equal(pq_file_open_bytes(m.buf.data, m.buf.len, "w", &f, NULL), 0);
    pq_scan *s;
    assert_int_equal(pq_scan_open(f, NULL, &s, NULL), 0);
    vec_batch b;
    assert_int_equal(pq_scan_batch_init(s, &b), 0);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(pq_scan_next(s, &b, &err), TARN_ECORRUPT);
    assert_non_null(strstr(err.msg, "page CRC mismatch"));
    assert_non_null(strstr(err.msg, "column 'id', page 1")); /* after the dictionary */
    vec_batch_free(&b);
    pq_scan_close(s);
    pq_file_close(f);
    tarn_buf_free(&m.buf);
}

/* List columns round trip: [[0..r%4), null every 5th row when nullable,
 * a null element at index 1], across small pages (rows never split). */
static void test_list_round_trip(void **state)
{
    (void)state;
    for (int nullable = 0; nullable < 2; nullable++) {
        for (int v2 = 0; v2 < 2; v2++) {
            pq_write_col cols[] = {{"l", {.id = VEC_I32, .list = true}, nullable}};
            mem_sink m = {0};
            tarn_buf_init(&m.buf, TARN_BUF_UNBOUNDED);
            pq_writer *w;
            assert_int_equal(pq_writer_open(&(pq_writer_opts){.cols = cols,
                                                              .ncols = 1,
                                                              .sink = mem_put,
                                                              .sink_ctx = &m,
                                                              .page_bytes = 256,
                                                              .page_v2 = v2},
                                            &w, NULL),
                             0);
            vec_batch b;
            assert_int_equal(vec_batch_init(&b, &cols[0].type, 1, 1000), 0);
            vec_col *c = &b.cols[0];
            for (uint32_t r = 0; r < 1000; r++) {
                bool null_row = nullable && r % 5 == 0;
                for (uint32_t i = 0; !null_row && i < r % 4; i++) {
                    assert_int_equal(vec_col_grow(c->elems, c->elems->len + 1), 0);
                    if (i == 1)
                        assert_int_equal(vec_col_set_null(c->elems, c->elems->len), 0);
                    ((int32_t *)c->elems->data)[c->elems->len++] = (int32_t)(r * 10 + i);
                }
                if (null_row)
                    assert_int_equal(vec_col_set_null(c, r), 0);
                assert_int_equal(vec_col_list_end(c), 0);
            }
            b.len = 1000;
            assert_int_equal(pq_writer_write(w, &b, NULL), 0);
            assert_int_equal(pq_writer_finish(w, NULL), 0);
            pq_writer_close(w);
            vec_batch_free(&b);
            pq_file *f;
            assert_int_equal(pq_file_open_bytes(m.buf.data, m.buf.len, "l", &f, NULL), 0);
            assert_int_equal(pq_file_find_column(f, "l.list.element"), 0);
            pq_scan *s;
            assert_int_equal(pq_scan_open(f, &(pq_scan_opts){.batch_rows = 333}, &s, NULL), 0);
            assert_int_equal(pq_scan_batch_init(s, &b), 0);
            uint32_t r = 0;
            while (pq_scan_next(s, &b, NULL) == 0 && b.len > 0) {
                c = &b.cols[0];
                for (uint32_t k = 0; k < b.len; k++, r++) {
                    bool null_row = nullable && r % 5 == 0;
                    assert_int_equal(vec_col_is_valid(c, k), !null_row);
                    uint32_t a = c->list_offsets[k], n = c->list_offsets[k + 1] - a;
                    assert_int_equal(n, null_row ? 0 : r % 4);
                    for (uint32_t i = 0; i < n; i++) {
                        assert_int_equal(vec_col_is_valid(c->elems, a + i), i != 1);
                        if (i != 1)
                            assert_int_equal(((int32_t *)c->elems->data)[a + i], r * 10 + i);
                    }
                }
            }
            assert_int_equal(r, 1000);
            vec_batch_free(&b);
            pq_scan_close(s);
            pq_file_close(f);
            tarn_buf_free(&m.buf);
        }
    }
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_codecs),
        cmocka_unit_test(test_size_targets),
        cmocka_unit_test(test_row_group_ranges),
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_statistics_nan_and_all_null),
        cmocka_unit_test(test_required_null_and_sink_failure),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_predicate_skipping),
        cmocka_unit_test(test_page_crc),
        cmocka_unit_test(test_list_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
