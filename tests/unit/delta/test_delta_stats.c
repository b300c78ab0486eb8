/*
 * tests/unit/delta/test_delta_stats.c: the stats JSON we write for
 * timestamps (with and without zone), decimals (64- and 128-bit), dates
 * and booleans, in Spark's formats; and file pruning with those types
 * over a table of files written with them: for every predicate the rows
 * of the kept files that match equal the rows of all files that match,
 * and selective predicates do skip files (timestamps at the edge of
 * their millisecond truncation included).
 */
#include "common/test_util.h"
#include "delta_test_util.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "delta/delta.h"
#include "delta/write_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_ID, C_TS, C_NTZ, C_DEC, C_BIG, C_DT, C_B, NCOLS };

static const pq_write_col wcols[NCOLS] = {
    {"id", {.id = VEC_I64}, false},
    {"ts", {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MICROS, .utc = true}, true},
    {"ntz", {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MICROS, .utc = false}, true},
    {"d", {.id = VEC_DECIMAL64, .precision = 10, .scale = 2}, true},
    {"big", {.id = VEC_DECIMAL128, .precision = 20, .scale = 2}, true},
    {"dt", {.id = VEC_DATE}, true},
    {"b", {.id = VEC_BOOL}, true},
};

#define FILES 6
#define ROWS  40
/* 2024-01-02T03:04:05Z in microseconds. */
#define TS0 INT64_C(1704164645000000)

/* Row values: id = file * ROWS + r, ts = TS0 + id * 1000123 us (never on
 * a millisecond), d = (id * 37 - 3000) / 100, big = -d * 10^9, dt =
 * 19700 + id / 10, b = file is even. File 5: d all null; file 4: b all
 * null; every 7th ts null. */
static int64_t ts_of(int64_t id)
{
    return TS0 + id * 1000123;
}

static int64_t dec_of(int64_t id)
{
    return id * 37 - 3000;
}

static bool ts_null(int64_t id)
{
    return id % 7 == 3;
}

static int buf_sink(void *ctx, const void *data, size_t len, tarn_err *err)
{
    (void)err;
    return tarn_buf_append(ctx, data, len);
}

typedef struct fx {
    char *dir;
    objstore *os;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("delta-stats");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_open(f->dir, &f->os, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    objstore_close(f->os);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* Writes file `fi` to tables/t/part-<fi>.parquet; its stats JSON into
 * *stats (malloc'd) and its size into *size. */
static void write_file(fx *f, int fi, char **stats, size_t *size)
{
    vec_type_info types[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        types[c] = wcols[c].type;
    vec_batch b;
    assert_int_equal(vec_batch_init(&b, types, NCOLS, ROWS), 0);
    for (uint32_t r = 0; r < ROWS; r++) {
        int64_t id = fi * ROWS + r;
        ((int64_t *)b.cols[C_ID].data)[r] = id;
        ((int64_t *)b.cols[C_TS].data)[r] = ts_of(id);
        ((int64_t *)b.cols[C_NTZ].data)[r] = ts_of(id);
        if (ts_null(id)) {
            assert_int_equal(vec_col_set_null(&b.cols[C_TS], r), 0);
            assert_int_equal(vec_col_set_null(&b.cols[C_NTZ], r), 0);
        }
        ((int64_t *)b.cols[C_DEC].data)[r] = dec_of(id);
        if (fi == 5)
            assert_int_equal(vec_col_set_null(&b.cols[C_DEC], r), 0);
        int64_t big = -dec_of(id) * 1000000000;
        ((vec_i128 *)b.cols[C_BIG].data)[r] = (vec_i128){(uint64_t)big, big < 0 ? -1 : 0};
        ((int32_t *)b.cols[C_DT].data)[r] = (int32_t)(19700 + id / 10);
        ((uint8_t *)b.cols[C_B].data)[r] = fi % 2 == 0;
        if (fi == 4)
            assert_int_equal(vec_col_set_null(&b.cols[C_B], r), 0);
    }
    for (int c = 0; c < NCOLS; c++)
        b.cols[c].len = ROWS;
    b.len = ROWS;
    tarn_buf out, js;
    tarn_buf_init(&out, TARN_BUF_UNBOUNDED);
    tarn_buf_init(&js, 1 << 20);
    tarn_err err = TARN_ERR_INIT;
    pq_writer *w = NULL;
    pq_writer_opts o = {.cols = wcols, .ncols = NCOLS, .sink = buf_sink, .sink_ctx = &out};
    assert_int_equal(pq_writer_open(&o, &w, &err), 0);
    assert_int_equal(pq_writer_write(w, &b, &err), 0);
    assert_int_equal(pq_writer_finish(w, &err), 0);
    assert_int_equal(delta_stats_json(w, wcols, NCOLS, &js), 0);
    assert_int_equal(tarn_buf_append_byte(&js, '\0'), 0);
    pq_writer_close(w);
    char key[128];
    snprintf(key, sizeof(key), "tables/t/part-%d.parquet", fi);
    assert_int_equal(objstore_put(f->os, key, out.data, out.len, &err), 0);
    *size = out.len;
    *stats = strdup((const char *)js.data);
    tarn_buf_free(&out);
    tarn_buf_free(&js);
    vec_batch_free(&b);
}

/* The stats of file 0, as Spark would write them. */
static void test_stats_formats(void **state)
{
    fx *f = *state;
    char *stats = NULL;
    size_t size;
    write_file(f, 0, &stats, &size);
    /* ts: id 0 -> 03:04:05.000000; id 39 -> +39.004797 s = 03:04:44.004797,
     * truncated down to .004; id 3 is null. */
    static const char *const want =
        "{\"numRecords\":40,"
        "\"minValues\":{\"id\":0,\"ts\":\"2024-01-02T03:04:05.000Z\","
        "\"ntz\":\"2024-01-02T03:04:05.000\",\"d\":-30.00,\"big\":15570000000.00,"
        "\"dt\":\"2023-12-09\"},"
        "\"maxValues\":{\"id\":39,\"ts\":\"2024-01-02T03:04:44.004Z\","
        "\"ntz\":\"2024-01-02T03:04:44.004\",\"d\":-15.57,\"big\":30000000000.00,"
        "\"dt\":\"2023-12-12\"},"
        "\"nullCount\":{\"id\":0,\"ts\":6,\"ntz\":6,\"d\":0,\"big\":0,\"dt\":0,\"b\":0}}";
    assert_string_equal(stats, want);
    /* And they parse back. */
    delta_stats st;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_stats_parse(stats, &st, &err), 0);
    assert_int_equal(st.num_records, 40);
    assert_string_equal(delta_stats_find(&st, "d")->min, "\"-30.00\""); /* exact text */
    assert_null(delta_stats_find(&st, "b")->min);
    assert_int_equal(delta_stats_find(&st, "b")->null_count, 0);
    delta_stats_free(&st);
    free(stats);
}

/* Timestamps before 1970 truncate down (toward the past), and decimals of
 * every sign and width format exactly. */
static void test_stats_edges(void **state)
{
    (void)state;
    static const pq_write_col c[4] = {
        {"ts", {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_NANOS, .utc = true}, true},
        {"small", {.id = VEC_DECIMAL64, .precision = 5, .scale = 3}, true},
        {"wide", {.id = VEC_DECIMAL128, .precision = 38, .scale = 10}, true},
        {"whole", {.id = VEC_DECIMAL128, .precision = 38, .scale = 0}, true},
    };
    vec_type_info types[4] = {c[0].type, c[1].type, c[2].type, c[3].type};
    vec_batch b;
    assert_int_equal(vec_batch_init(&b, types, 4, 2), 0);
    ((int64_t *)b.cols[0].data)[0] = -1;            /* 1969-12-31T23:59:59.999999999 */
    ((int64_t *)b.cols[0].data)[1] = 1500000000001; /* 1970-01-01T00:25:00.000000001 */
    ((int64_t *)b.cols[1].data)[0] = -5;            /* -0.005 */
    ((int64_t *)b.cols[1].data)[1] = 12;            /* 0.012 */
    /* -(2^64 + 7) and 10^37 + 1 (unscaled) */
    ((vec_i128 *)b.cols[2].data)[0] = (vec_i128){UINT64_MAX - 6, -2};
    /* 10^37 + 1 = 0x0785EE10D5DA46D9_00F436A000000001 */
    ((vec_i128 *)b.cols[2].data)[1] =
        (vec_i128){UINT64_C(0x00F436A000000001), (int64_t)UINT64_C(0x0785EE10D5DA46D9)};
    /* 5 and 2^64: a whole number beyond int64 gets no max (readers built
     * on jansson would refuse the whole stats object). */
    ((vec_i128 *)b.cols[3].data)[0] = (vec_i128){5, 0};
    ((vec_i128 *)b.cols[3].data)[1] = (vec_i128){0, 1};
    for (int i = 0; i < 4; i++)
        b.cols[i].len = 2;
    b.len = 2;
    tarn_buf out, js;
    tarn_buf_init(&out, TARN_BUF_UNBOUNDED);
    tarn_buf_init(&js, 1 << 16);
    tarn_err err = TARN_ERR_INIT;
    pq_writer *w = NULL;
    pq_writer_opts o = {.cols = c, .ncols = 4, .sink = buf_sink, .sink_ctx = &out};
    assert_int_equal(pq_writer_open(&o, &w, &err), 0);
    assert_int_equal(pq_writer_write(w, &b, &err), 0);
    assert_int_equal(pq_writer_finish(w, &err), 0);
    assert_int_equal(delta_stats_json(w, c, 4, &js), 0);
    assert_int_equal(tarn_buf_append_byte(&js, '\0'), 0);
    assert_string_equal((const char *)js.data,
                        "{\"numRecords\":2,"
                        "\"minValues\":{\"ts\":\"1969-12-31T23:59:59.999Z\",\"small\":-0.005,"
                        "\"wide\":-1844674407.3709551623,\"whole\":5},"
                        "\"maxValues\":{\"ts\":\"1970-01-01T00:25:00.000Z\",\"small\":0.012,"
                        "\"wide\":1000000000000000000000000000.0000000001},"
                        "\"nullCount\":{\"ts\":0,\"small\":0,\"wide\":0,\"whole\":0}}");
    delta_stats st;
    assert_int_equal(delta_stats_parse((const char *)js.data, &st, &err), 0);
    assert_null(delta_stats_find(&st, "whole")->max);
    delta_stats_free(&st);
    pq_writer_close(w);
    tarn_buf_free(&out);
    tarn_buf_free(&js);
    vec_batch_free(&b);
}

/* Writes version 0 of tables/<name>: `protocol` (an action), metaData
 * with the columns fields[0] (name), fields[1] (type), ... up to NULL,
 * and one add per file (path, size and stats JSON, escaped here). */
static void put_log(fx *f, const char *name, const char *protocol, const char *const *fields,
                    const char *const *paths, char *const *stats, const size_t *sizes, size_t n)
{
    tarn_buf schema, log;
    tarn_buf_init(&schema, 1 << 16);
    tarn_buf_init(&log, 1 << 22);
    assert_int_equal(tarn_buf_append_str(&schema, "{\"type\":\"struct\",\"fields\":["), 0);
    for (size_t i = 0; fields[i] != NULL; i += 2)
        assert_int_equal(tarn_buf_printf(&schema,
                                         "%s{\"name\":\"%s\",\"type\":\"%s\",\"nullable\":true,"
                                         "\"metadata\":{}}",
                                         i ? "," : "", fields[i], fields[i + 1]),
                         0);
    assert_int_equal(tarn_buf_append_str(&schema, "]}"), 0);
    assert_int_equal(tarn_buf_printf(&log,
                                     "%s\n{\"metaData\":{\"id\":\"%s\",\"format\":{\"provider\":"
                                     "\"parquet\",\"options\":{}},\"schemaString\":",
                                     protocol, name),
                     0);
    assert_int_equal(tarn_buf_append_json_str(&log, (const char *)schema.data, schema.len), 0);
    assert_int_equal(tarn_buf_append_str(&log, ",\"partitionColumns\":[],\"configuration\":{}}}\n"),
                     0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(tarn_buf_printf(&log,
                                         "{\"add\":{\"path\":\"%s\",\"partitionValues\":{},"
                                         "\"size\":%zu,\"modificationTime\":1,"
                                         "\"dataChange\":true,\"stats\":",
                                         paths[i], sizes[i]),
                         0);
        assert_int_equal(tarn_buf_append_json_str(&log, stats[i], strlen(stats[i])), 0);
        assert_int_equal(tarn_buf_append_str(&log, "}}\n"), 0);
    }
    assert_int_equal(tarn_buf_append_byte(&log, '\0'), 0);
    char root[64];
    snprintf(root, sizeof(root), "tables/%s", name);
    dt_put_commit(f->os, root, 0, (const char *)log.data);
    tarn_buf_free(&schema);
    tarn_buf_free(&log);
}

/* A table of FILES files with our stats, read through our log reader. */
static void make_table(fx *f)
{
    static const char *const fields[] = {
        "id",  "long",          "ts", "timestamp", "ntz", "timestamp_ntz", "d", "decimal(10,2)",
        "big", "decimal(20,2)", "dt", "date",      "b",   "boolean",       NULL};
    static const char *const paths[FILES] = {"part-0.parquet", "part-1.parquet", "part-2.parquet",
                                             "part-3.parquet", "part-4.parquet", "part-5.parquet"};
    char *stats[FILES];
    size_t sizes[FILES];
    for (int fi = 0; fi < FILES; fi++)
        write_file(f, fi, &stats[fi], &sizes[fi]);
    put_log(f, "t",
            "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
            "\"readerFeatures\":[\"timestampNtz\"],\"writerFeatures\":[\"timestampNtz\"]}}",
            fields, paths, stats, sizes, FILES);
    for (int fi = 0; fi < FILES; fi++)
        free(stats[fi]);
}

/* A predicate, and how many files it must keep at most (-1: any). */
typedef struct pcase {
    delta_pred p;
    int most_kept;
} pcase;

/* Whether a row's value satisfies p (null never does, except IS NULL). */
static bool row_matches(const vec_col *col, uint32_t r, const delta_pred *p)
{
    bool null = !vec_col_is_valid(col, r);
    if (p->op == DELTA_CMP_IS_NULL || p->op == DELTA_CMP_IS_NOT_NULL)
        return null == (p->op == DELTA_CMP_IS_NULL);
    if (null)
        return false;
    /* Compare v * 10^ps with c * 10^cs exactly (the test's values are small). */
    long double v, c;
    switch (col->type.id) {
    case VEC_I64:
    case VEC_TIMESTAMP:
        v = (long double)((const int64_t *)col->data)[r];
        break;
    case VEC_DATE:
        v = ((const int32_t *)col->data)[r];
        break;
    case VEC_BOOL:
        v = ((const uint8_t *)col->data)[r];
        break;
    case VEC_DECIMAL64:
        v = (long double)((const int64_t *)col->data)[r];
        break;
    default:
        fail_msg("type %d", col->type.id);
        return false;
    }
    c = (long double)p->i64;
    if (col->type.id == VEC_DECIMAL64) {
        int cs = p->kind == DELTA_VALUE_DECIMAL ? p->scale : 0;
        for (int i = 0; i < cs; i++)
            v *= 10;
        for (int i = 0; i < col->type.scale; i++)
            c *= 10;
    }
    switch (p->op) {
    case DELTA_CMP_EQ:
        return v == c;
    case DELTA_CMP_NE:
        return v != c;
    case DELTA_CMP_LT:
        return v < c;
    case DELTA_CMP_LE:
        return v <= c;
    case DELTA_CMP_GT:
        return v > c;
    default:
        return v >= c;
    }
}

/* The sorted ids of matching rows of the files of s with keep[i]. */
static size_t matching_ids(delta_table *t, delta_snapshot *s, const bool *keep, const delta_pred *p,
                           int64_t *ids)
{
    delta_snapshot view = *s;
    delta_file *files = calloc(s->nfiles + 1, sizeof(delta_file));
    view.nfiles = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        if (keep[i])
            files[view.nfiles++] = s->files[i];
    view.files = files;
    delta_scan *sc = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_scan_open(t, &view, NULL, &sc, &err), 0);
    vec_batch b;
    assert_int_equal(delta_scan_batch_init(sc, &b), 0);
    int32_t col = delta_schema_find(&s->metadata.schema, p->column);
    uint32_t ci = 0;
    while (s->metadata.schema.top[ci] != (uint32_t)col)
        ci++;
    size_t n = 0;
    int rc;
    while ((rc = delta_scan_next(sc, &b, &err)) == 0 && b.len > 0)
        for (uint32_t r = 0; r < b.len; r++)
            if (row_matches(&b.cols[ci], r, p))
                ids[n++] = ((const int64_t *)b.cols[C_ID].data)[r];
    assert_int_equal(rc, 0);
    vec_batch_free(&b);
    delta_scan_close(sc);
    free(files);
    return n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_prune_types(void **state)
{
    fx *f = *state;
    make_table(f);
    delta_table *t = NULL;
    delta_snapshot *s = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open(f->os, "tables/t", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &s, &err), 0);
    assert_int_equal(s->nfiles, FILES);
    /* File 2 holds ids 80..119 (119 % 7 != 3: not null), so its largest
     * ts is ts_of(119), 0.123 ms past a millisecond its stats cut off. */
    int64_t max2 = ts_of(119), min3 = ts_of(120);
    int64_t max2_ms = max2 / 1000 * 1000; /* what the stats say */
    const pcase cases[] = {
        /* The true max of file 2 is above its truncated stat: kept. */
        {{"ts", DELTA_CMP_GE, DELTA_VALUE_INT, max2, 0, NULL, 0}, 4},
        {{"ts", DELTA_CMP_EQ, DELTA_VALUE_INT, max2, 0, NULL, 0}, 1},
        {{"ts", DELTA_CMP_GT, DELTA_VALUE_INT, max2_ms + 999, 0, NULL, 0}, 3},
        /* File 3's min is truncated down too: below min3, so kept; below
         * its millisecond, pruned. */
        {{"ts", DELTA_CMP_LT, DELTA_VALUE_INT, min3, 0, NULL, 0}, 4},
        {{"ts", DELTA_CMP_LT, DELTA_VALUE_INT, min3 / 1000 * 1000, 0, NULL, 0}, 3},
        {{"ts", DELTA_CMP_LE, DELTA_VALUE_INT, ts_of(0), 0, NULL, 0}, 1},
        {{"ntz", DELTA_CMP_GE, DELTA_VALUE_INT, max2, 0, NULL, 0}, 4},
        {{"ntz", DELTA_CMP_EQ, DELTA_VALUE_INT, ts_of(150), 0, NULL, 0}, 1},
        {{"ntz", DELTA_CMP_GT, DELTA_VALUE_INT, max2_ms + 999, 0, NULL, 0}, 3},
        /* d = (37 id - 3000) / 100; file 5 is all null. */
        {{"d", DELTA_CMP_EQ, DELTA_VALUE_DECIMAL, 1440, 0, NULL, 2}, 1}, /* id 120 */
        {{"d", DELTA_CMP_LT, DELTA_VALUE_INT, 0, 0, NULL, 0}, 3},
        {{"d", DELTA_CMP_GE, DELTA_VALUE_DECIMAL, 144005, 0, NULL, 4}, 2}, /* 14.4005 */
        {{"d", DELTA_CMP_EQ, DELTA_VALUE_DECIMAL, 14405, 0, NULL, 3}, 0},  /* 14.405 */
        {{"d", DELTA_CMP_GT, DELTA_VALUE_DECIMAL, -2963, 0, NULL, 2}, 5},
        {{"d", DELTA_CMP_NE, DELTA_VALUE_INT, 5, 0, NULL, 0}, 5},
        {{"d", DELTA_CMP_IS_NULL, DELTA_VALUE_INT, 0, 0, NULL, 0}, 1},
        {{"dt", DELTA_CMP_GE, DELTA_VALUE_INT, 19700 + 20, 0, NULL, 0}, 1},
        {{"dt", DELTA_CMP_LT, DELTA_VALUE_INT, 19700 + 4, 0, NULL, 0}, 1},
        /* Booleans: no min/max (as Spark), nullCount only. */
        {{"b", DELTA_CMP_EQ, DELTA_VALUE_INT, 1, 0, NULL, 0}, 5},
        {{"b", DELTA_CMP_IS_NULL, DELTA_VALUE_INT, 0, 0, NULL, 0}, 1},
        {{"b", DELTA_CMP_IS_NOT_NULL, DELTA_VALUE_INT, 0, 0, NULL, 0}, 5},
    };
    int64_t *all = calloc(FILES * ROWS, sizeof(int64_t));
    int64_t *got = calloc(FILES * ROWS, sizeof(int64_t));
    bool every[FILES], keep[FILES];
    for (int i = 0; i < FILES; i++)
        every[i] = true;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const delta_pred *p = &cases[i].p;
        size_t kept = 0;
        int rc = delta_prune(s, p, 1, keep, &kept, &err);
        if (rc != 0)
            fail_msg("case %zu: %s", i, tarn_err_msg(&err));
        size_t na = matching_ids(t, s, every, p, all);
        size_t ng = matching_ids(t, s, keep, p, got);
        qsort(all, na, sizeof(int64_t), cmp_i64);
        qsort(got, ng, sizeof(int64_t), cmp_i64);
        if (ng != na || memcmp(all, got, na * sizeof(int64_t)) != 0)
            fail_msg("case %zu (%s): %zu rows with pruning, %zu without", i, p->column, ng, na);
        if (kept > (size_t)cases[i].most_kept)
            fail_msg("case %zu (%s): %zu files kept, at most %d expected", i, p->column, kept,
                     cases[i].most_kept);
    }
    /* Decimals wider than 18 digits keep every file; a float constant for
     * a decimal column is refused. */
    delta_pred wide = {"big", DELTA_CMP_EQ, DELTA_VALUE_INT, 1, 0, NULL, 0};
    size_t kept = 0;
    assert_int_equal(delta_prune(s, &wide, 1, keep, &kept, &err), 0);
    assert_int_equal(kept, FILES);
    delta_pred bad = {"d", DELTA_CMP_EQ, DELTA_VALUE_FLOAT, 0, 1.5, NULL, 0};
    assert_int_equal(delta_prune(s, &bad, 1, keep, &kept, &err), TARN_EINVAL);
    free(all);
    free(got);
    delta_snapshot_free(s);
    delta_table_close(t);
}

/* Stats as other writers put them: offsets, microsecond precision,
 * decimals through doubles; unusable ones keep the file. */
static void test_prune_foreign_stats(void **state)
{
    fx *f = *state;
    static const char *const fields[] = {"ts", "timestamp", "d", "decimal(18,3)", NULL};
    static const char *const paths[] = {"a", "b", "c"};
    char *stats[] = {
        /* 10:00-08:00 is 18:00Z; precise to the microsecond. */
        (char *)"{\"numRecords\":1,"
                "\"minValues\":{\"ts\":\"2024-01-02T10:00:00.000001-08:00\",\"d\":0.1},"
                "\"maxValues\":{\"ts\":\"2024-01-02T10:00:00.000001-08:00\",\"d\":0.3},"
                "\"nullCount\":{\"ts\":0,\"d\":0}}",
        /* No fraction; a decimal of 16 significant digits, read exactly. */
        (char *)"{\"numRecords\":1,"
                "\"minValues\":{\"ts\":\"2024-01-02 18:00:01\",\"d\":1234567890123.456},"
                "\"maxValues\":{\"ts\":\"2024-01-02 18:00:01\",\"d\":1234567890123.456},"
                "\"nullCount\":{\"ts\":0,\"d\":0}}",
        /* Exponents: 150 is a bound; 18 digits through a double are not. */
        (char *)"{\"numRecords\":1,"
                "\"minValues\":{\"ts\":\"2024-01-02 18:00:01\",\"d\":1.5E+2},"
                "\"maxValues\":{\"ts\":\"2024-01-02 18:00:01\",\"d\":9.99999999999999999E+14},"
                "\"nullCount\":{\"ts\":0,\"d\":0}}"};
    size_t sizes[] = {1, 1, 1};
    put_log(f, "u", "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}", fields, paths,
            stats, sizes, 3);
    delta_table *t = NULL;
    delta_snapshot *s = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open(f->os, "tables/u", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &s, &err), 0);
    const int64_t t18 = INT64_C(1704218400000000); /* 2024-01-02T18:00:00Z */
    bool keep[3];
    size_t kept;
    struct {
        delta_pred p;
        bool want[3];
    } cases[] = {
        {{"ts", DELTA_CMP_EQ, DELTA_VALUE_INT, t18 + 1, 0, NULL, 0}, {true, false, false}},
        {{"ts", DELTA_CMP_GT, DELTA_VALUE_INT, t18 + 1, 0, NULL, 0}, {false, true, true}},
        /* b's max has no fraction: it bounds values up to 18:00:01.999999 */
        {{"ts", DELTA_CMP_EQ, DELTA_VALUE_INT, t18 + 1999999, 0, NULL, 0}, {false, true, true}},
        {{"ts", DELTA_CMP_GE, DELTA_VALUE_INT, t18 + 2000000, 0, NULL, 0}, {false, false, false}},
        {{"d", DELTA_CMP_EQ, DELTA_VALUE_DECIMAL, 2, 1, NULL, 1}, {true, false, false}},
        {{"d", DELTA_CMP_GT, DELTA_VALUE_DECIMAL, 3, 1, NULL, 1}, {false, true, true}},
        {{"d", DELTA_CMP_LT, DELTA_VALUE_DECIMAL, 100, 1, NULL, 3}, {false, false, false}},
        {{"d", DELTA_CMP_EQ, DELTA_VALUE_DECIMAL, 1234567890123456, 0, NULL, 3},
         {false, true, true}},
        {{"d", DELTA_CMP_EQ, DELTA_VALUE_DECIMAL, 1234567890123457, 0, NULL, 3},
         {false, false, true}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(delta_prune(s, &cases[i].p, 1, keep, &kept, &err), 0);
        for (int k = 0; k < 3; k++)
            if (keep[k] != cases[i].want[k])
                fail_msg("case %zu, file %s: kept %d, want %d", i, paths[k], keep[k],
                         cases[i].want[k]);
    }
    delta_snapshot_free(s);
    delta_table_close(t);
}

/* A table with reader and writer features (3/7, timestampNtz) through our
 * checkpoint (in more parts than actions): the features survive, so the
 * table still reads; the stats survive, so pruning does too. */
static void test_checkpoint_features(void **state)
{
    fx *f = *state;
    make_table(f);
    delta_table *t = NULL;
    delta_snapshot *s = NULL, *back = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open(f->os, "tables/t", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &s, &err), 0);
    /* 16 parts for 8 actions: at least 8 parts hold no row, and still read. */
    delta_checkpoint_opts co = {.parts = 16};
    assert_int_equal(delta_checkpoint_write(f->os, "tables/t", s, &co, &err), 0);
    assert_int_equal(objstore_del(f->os, "tables/t/_delta_log/00000000000000000000.json", &err), 0);
    int rc = delta_snapshot_latest(t, &back, &err);
    if (rc != 0)
        fail_msg("%s", tarn_err_msg(&err));
    assert_int_equal(back->checkpoint_version, 0);
    assert_int_equal(back->protocol.min_reader_version, 3);
    assert_int_equal(back->protocol.min_writer_version, 7);
    assert_int_equal(back->protocol.n_reader_features, 1);
    assert_string_equal(back->protocol.reader_features[0], "timestampNtz");
    assert_int_equal(back->protocol.n_writer_features, 1);
    assert_string_equal(back->protocol.writer_features[0], "timestampNtz");
    assert_int_equal(back->nfiles, FILES);
    for (size_t i = 0; i < FILES; i++)
        assert_string_equal(back->files[i].stats, s->files[i].stats);
    delta_snapshot_free(back);
    delta_snapshot_free(s);
    delta_table_close(t);
    /* A table whose state includes domain metadata gets no checkpoint. */
    static const char *const fields[] = {"x", "long", NULL};
    put_log(f, "dm",
            "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,"
            "\"writerFeatures\":[\"domainMetadata\"]}}\n"
            "{\"domainMetadata\":{\"domain\":\"d\",\"configuration\":\"{}\","
            "\"removed\":false}}",
            fields, NULL, NULL, NULL, 0);
    assert_int_equal(delta_table_open(f->os, "tables/dm", &t, &err), 0);
    assert_int_equal(delta_snapshot_latest(t, &s, &err), 0);
    assert_int_equal(delta_checkpoint_write(f->os, "tables/dm", s, NULL, &err), TARN_ENOTSUP);
    assert_non_null(strstr(tarn_err_msg(&err), "domainMetadata"));
    objstore_info info;
    assert_int_equal(objstore_head(f->os,
                                   "tables/dm/_delta_log/00000000000000000000.checkpoint.parquet",
                                   &info, &err),
                     TARN_ENOENT);
    delta_snapshot_free(s);
    delta_table_close(t);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stats_formats, setup, teardown),
        cmocka_unit_test(test_stats_edges),
        cmocka_unit_test_setup_teardown(test_prune_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_foreign_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_features, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
