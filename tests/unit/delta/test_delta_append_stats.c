/*
 * tests/unit/delta/test_delta_append_stats.c: a table with decimal,
 * timestamp, date and boolean columns written through the normal writer
 * (delta_append, then OPTIMIZE) carries min/max in Spark's formats in its
 * log's stats (delta_stats_json), and predicates on those columns prune
 * files: for every predicate the matching rows of the kept files equal the
 * matching rows of all files, and selective ones keep fewer files.
 */
#include "common/test_util.h"
#include "delta_test_util.h"

#include "base/alloc.h"
#include "delta/delta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_ID, C_D, C_TS, C_DT, C_B, NCOLS };

static const delta_column cols[NCOLS] = {
    {"id", {.id = VEC_I64}, false},
    {"d", {.id = VEC_DECIMAL64, .precision = 10, .scale = 2}, true},
    {"ts", {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MICROS, .utc = true}, true},
    {"dt", {.id = VEC_DATE}, true},
    {"b", {.id = VEC_BOOL}, true},
};

#define APPENDS 4
#define ROWS    25
/* 2024-01-02T03:04:05Z in microseconds. */
#define TS0 INT64_C(1704164645000000)

/* Row id: d = (37 id - 3000) / 100, ts = TS0 + id * 1000123 us (never on
 * a millisecond), dt = 19700 + id days, b = id is odd; b null when
 * id % 5 == 2, ts null when id % 7 == 3. */
static int64_t value_of(int c, int64_t id)
{
    switch (c) {
    case C_ID:
        return id;
    case C_D:
        return id * 37 - 3000;
    case C_TS:
        return TS0 + id * 1000123;
    case C_DT:
        return 19700 + id;
    default:
        return id & 1;
    }
}

static void make_batch(vec_batch *b, int64_t first)
{
    vec_type_info types[NCOLS];
    for (int i = 0; i < NCOLS; i++)
        types[i] = cols[i].type;
    assert_int_equal(vec_batch_init(b, types, NCOLS, ROWS), 0);
    for (uint32_t r = 0; r < ROWS; r++) {
        int64_t id = first + r;
        ((int64_t *)b->cols[C_ID].data)[r] = id;
        ((int64_t *)b->cols[C_D].data)[r] = value_of(C_D, id);
        ((int64_t *)b->cols[C_TS].data)[r] = value_of(C_TS, id);
        ((int32_t *)b->cols[C_DT].data)[r] = (int32_t)value_of(C_DT, id);
        ((uint8_t *)b->cols[C_B].data)[r] = (uint8_t)value_of(C_B, id);
        if (id % 7 == 3)
            assert_int_equal(vec_col_set_null(&b->cols[C_TS], r), 0);
        if (id % 5 == 2)
            assert_int_equal(vec_col_set_null(&b->cols[C_B], r), 0);
    }
    for (int i = 0; i < NCOLS; i++)
        b->cols[i].len = ROWS;
    b->len = ROWS;
}

typedef struct fx {
    char *dir;
    objstore *os;
    delta_committer c;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("delta-append-stats");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(objstore_open(f->dir, &f->os, &err), 0);
    assert_int_equal(delta_committer_mem(&f->c), 0);
    assert_int_equal(delta_create_table(&f->c, f->os, "t", cols, NCOLS, NULL, 0, &err), 0);
    for (int a = 0; a < APPENDS; a++) {
        delta_snapshot *s = NULL;
        assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "t", &s, &err), 0);
        vec_batch b;
        make_batch(&b, (int64_t)a * ROWS);
        int64_t v = -1;
        int rc = delta_append(&f->c, f->os, "t", s, &b, 1, NULL, &v, &err);
        if (rc != 0)
            fail_msg("append %d: %s", a, tarn_err_msg(&err));
        assert_int_equal(v, a + 1);
        vec_batch_free(&b);
        delta_snapshot_free(s);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    delta_committer_close(&f->c);
    objstore_close(f->os);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* The file of s whose stats say numRecords and whose id min is `first`. */
static const char *stats_of_first(const delta_snapshot *s, int64_t first)
{
    char want[64];
    snprintf(want, sizeof(want), "\"minValues\":{\"id\":%lld,", (long long)first);
    for (size_t i = 0; i < s->nfiles; i++)
        if (s->files[i].stats && strstr(s->files[i].stats, want))
            return s->files[i].stats;
    fail_msg("no file whose stats begin at id %lld", (long long)first);
    return NULL;
}

static void assert_contains(const char *stats, const char *part)
{
    if (strstr(stats, part) == NULL)
        fail_msg("stats %s lack %s", stats, part);
}

/* The stats the log holds for the first appended file (ids 0..24) and
 * the second (25..49), in Spark's formats. */
static void test_append_stats_formats(void **state)
{
    fx *f = *state;
    delta_snapshot *s = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "t", &s, &err), 0);
    assert_int_equal(s->nfiles, APPENDS);
    const char *a = stats_of_first(s, 0);
    assert_contains(a, "\"numRecords\":25");
    assert_contains(a, "\"minValues\":{\"id\":0,\"d\":-30.00,\"ts\":\"2024-01-02T03:04:05.000Z\","
                       "\"dt\":\"2023-12-09\"}");
    assert_contains(a, "\"maxValues\":{\"id\":24,\"d\":-21.12,\"ts\":\"2024-01-02T03:04:28.002Z\","
                       "\"dt\":\"2024-01-02\"}");
    /* Booleans: nullCount only (ids 2, 7, 12, 17, 22); ts null at 3, 10, 17, 24. */
    assert_contains(a, "\"nullCount\":{\"id\":0,\"d\":0,\"ts\":4,\"dt\":0,\"b\":5}");
    const char *b = stats_of_first(s, 25);
    assert_contains(b, "\"d\":-20.75,");
    assert_contains(b, "\"ts\":\"2024-01-02T03:04:30.003Z\"");
    delta_snapshot_free(s);
}

static bool cmp_holds(int64_t v, delta_cmp op, int64_t c)
{
    switch (op) {
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

/* Whether row `id`'s value of column c satisfies p: decimals compared at
 * a common scale (the column's 2, the constant's own). */
static bool row_holds(int c, int64_t id, const delta_pred *p)
{
    int64_t v = value_of(c, id), k = p->i64;
    if (c == C_D) {
        int scale = p->kind == DELTA_VALUE_DECIMAL ? p->scale : 0;
        for (int i = 0; i < scale; i++)
            v *= 10;
        k *= 100;
    }
    return cmp_holds(v, p->op, k);
}

static int column_of(const char *name)
{
    for (int c = 0; c < NCOLS; c++)
        if (strcmp(cols[c].name, name) == 0)
            return c;
    fail_msg("column %s", name);
    return -1;
}

/* Ids of rows of the kept files of s satisfying p, sorted (the scan reads
 * files in path order; ids are sorted after). */
static size_t matching_ids(fx *f, const delta_snapshot *s, const bool *keep, const delta_pred *p,
                           int64_t *ids)
{
    delta_table *t = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_table_open_managed(f->os, "t", &t, &err), 0);
    delta_snapshot view = *s;
    delta_file *files = calloc(s->nfiles + 1, sizeof(delta_file));
    view.nfiles = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        if (keep[i])
            files[view.nfiles++] = s->files[i];
    view.files = files;
    delta_scan *sc = NULL;
    assert_int_equal(delta_scan_open(t, &view, NULL, &sc, &err), 0);
    vec_batch b;
    assert_int_equal(delta_scan_batch_init(sc, &b), 0);
    int c = column_of(p->column);
    size_t n = 0;
    int rc;
    while ((rc = delta_scan_next(sc, &b, &err)) == 0 && b.len > 0)
        for (uint32_t r = 0; r < b.len; r++) {
            bool null = !vec_col_is_valid(&b.cols[c], r);
            int64_t id = ((const int64_t *)b.cols[C_ID].data)[r];
            bool hit = p->op == DELTA_CMP_IS_NULL       ? null
                       : p->op == DELTA_CMP_IS_NOT_NULL ? !null
                                                        : !null && row_holds(c, id, p);
            if (hit)
                ids[n++] = id;
        }
    assert_int_equal(rc, 0);
    vec_batch_free(&b);
    delta_scan_close(sc);
    delta_table_close(t);
    free(files);
    return n;
}

typedef struct pcase {
    delta_pred p;
    int most_kept;
} pcase;

static void check_pruning(fx *f, const delta_snapshot *s, const pcase *cases, size_t ncases)
{
    int64_t *all = calloc(APPENDS * ROWS, sizeof(int64_t));
    int64_t *got = calloc(APPENDS * ROWS, sizeof(int64_t));
    bool *every = calloc(s->nfiles + 1, sizeof(bool)), *keep = calloc(s->nfiles + 1, sizeof(bool));
    for (size_t i = 0; i < s->nfiles; i++)
        every[i] = true;
    tarn_err err = TARN_ERR_INIT;
    for (size_t i = 0; i < ncases; i++) {
        const delta_pred *p = &cases[i].p;
        size_t kept = 0;
        if (delta_prune(s, p, 1, keep, &kept, &err) != 0)
            fail_msg("case %zu: %s", i, tarn_err_msg(&err));
        size_t na = matching_ids(f, s, every, p, all);
        size_t ng = matching_ids(f, s, keep, p, got);
        if (ng != na || memcmp(all, got, na * sizeof(int64_t)) != 0)
            fail_msg("case %zu (%s): %zu rows with pruning, %zu without", i, p->column, ng, na);
        if (kept > (size_t)cases[i].most_kept)
            fail_msg("case %zu (%s): %zu files kept, at most %d expected", i, p->column, kept,
                     cases[i].most_kept);
    }
    free(all);
    free(got);
    free(every);
    free(keep);
}

static void test_append_stats_prune(void **state)
{
    fx *f = *state;
    int64_t ts60 = value_of(C_TS, 60);
    const pcase cases[] = {
        {{"d", DELTA_CMP_EQ, DELTA_VALUE_DECIMAL, -2075, 0, NULL, 2}, 1}, /* id 25 */
        {{"d", DELTA_CMP_GE, DELTA_VALUE_DECIMAL, -21115, 0, NULL, 3}, 3},
        {{"d", DELTA_CMP_LT, DELTA_VALUE_INT, -21, 0, NULL, 0}, 1},
        {{"ts", DELTA_CMP_EQ, DELTA_VALUE_INT, ts60, 0, NULL, 0}, 1},
        /* The truncated max of file 0 (id 24) is below its true max. */
        {{"ts", DELTA_CMP_GE, DELTA_VALUE_INT, value_of(C_TS, 23), 0, NULL, 0}, 4},
        {{"ts", DELTA_CMP_GT, DELTA_VALUE_INT, value_of(C_TS, 24) / 1000 * 1000 + 999, 0, NULL, 0},
         3},
        {{"ts", DELTA_CMP_LT, DELTA_VALUE_INT, TS0, 0, NULL, 0}, 0},
        {{"dt", DELTA_CMP_LE, DELTA_VALUE_INT, 19700 + 30, 0, NULL, 0}, 2},
        {{"dt", DELTA_CMP_GT, DELTA_VALUE_INT, 19700 + 80, 0, NULL, 0}, 1},
        {{"b", DELTA_CMP_EQ, DELTA_VALUE_INT, 1, 0, NULL, 0}, APPENDS},
        {{"b", DELTA_CMP_IS_NULL, DELTA_VALUE_INT, 0, 0, NULL, 0}, APPENDS},
        {{"ts", DELTA_CMP_IS_NULL, DELTA_VALUE_INT, 0, 0, NULL, 0}, APPENDS},
    };
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "t", &s, &err), 0);
    check_pruning(f, s, cases, sizeof(cases) / sizeof(cases[0]));
    delta_snapshot_free(s);

    /* OPTIMIZE rewrites the files through the same writer: one file with
     * the whole range, whose stats an out-of-range predicate prunes. */
    delta_optimize_result res;
    memset(&res, 0, sizeof(res));
    int rc = delta_optimize(&f->c, f->os, "t", NULL, &res, &err);
    if (rc != 0)
        fail_msg("optimize: %s", tarn_err_msg(&err));
    assert_int_equal(delta_managed_snapshot_latest(&f->c, f->os, "t", &s, &err), 0);
    assert_int_equal(s->nfiles, 1);
    assert_contains(s->files[0].stats,
                    "\"minValues\":{\"id\":0,\"d\":-30.00,"
                    "\"ts\":\"2024-01-02T03:04:05.000Z\",\"dt\":\"2023-12-09\"}");
    assert_contains(s->files[0].stats,
                    "\"maxValues\":{\"id\":99,\"d\":6.63,"
                    "\"ts\":\"2024-01-02T03:05:44.012Z\",\"dt\":\"2024-03-17\"}");
    const pcase after[] = {
        {{"d", DELTA_CMP_GT, DELTA_VALUE_DECIMAL, 663, 0, NULL, 2}, 0},
        {{"dt", DELTA_CMP_LT, DELTA_VALUE_INT, 19700, 0, NULL, 0}, 0},
        {{"d", DELTA_CMP_EQ, DELTA_VALUE_DECIMAL, 663, 0, NULL, 2}, 1},
    };
    check_pruning(f, s, after, sizeof(after) / sizeof(after[0]));
    delta_snapshot_free(s);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_stats_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_stats_prune, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
