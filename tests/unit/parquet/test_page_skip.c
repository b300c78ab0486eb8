/* Tests of page skipping by data page statistics (pq_scan_opts.preds):
 * files of small pages over sorted columns, written by our writer (v1 and
 * v2 pages, dictionary on and off). A scan that skips pages must return,
 * once filtered by the predicates, exactly the rows of a scan without
 * predicates filtered the same way, and every row it returns must be whole
 * (its columns aligned: pages of different columns do not line up). The
 * counters show that pages were really skipped. Seeded: TARN_SEED=N. */
#include "common/test_util.h"

#include "base/buf.h"
#include "parquet/parquet.h"

#include <stdio.h>
#include <string.h>

#define ROWS 30000u

static int mem_put(void *ctx, const void *p, size_t n, tarn_err *err)
{
    (void)err;
    return tarn_buf_append(ctx, p, n);
}

static const pq_write_col COLS[] = {
    {"id", {.id = VEC_I64}, false},     /* r, sorted */
    {"grp", {.id = VEC_I32}, true},     /* r / 100, null when r % 7 == 0 */
    {"name", {.id = VEC_STRING}, true}, /* "k%06u" of r / 50, null when r % 11 == 0 */
    {"val", {.id = VEC_F64}, false},    /* r * 0.5 */
};

static bool grp_null(uint32_t r)
{
    return r % 7 == 0;
}

static bool name_null(uint32_t r)
{
    return r % 11 == 0;
}

static void name_of(uint32_t r, char out[16])
{
    snprintf(out, 16, "k%06u", r / 50);
}

static void write_file(tarn_buf *out, bool v2, bool no_dict)
{
    tarn_buf_init(out, TARN_BUF_UNBOUNDED);
    pq_writer_opts o = {.cols = COLS,
                        .ncols = 4,
                        .sink = mem_put,
                        .sink_ctx = out,
                        .page_bytes = 512,
                        .row_group_bytes = 96 << 10,
                        .page_v2 = v2,
                        .no_dict = no_dict};
    pq_writer *w;
    assert_int_equal(pq_writer_open(&o, &w, NULL), 0);
    vec_type_info types[4];
    for (int i = 0; i < 4; i++)
        types[i] = COLS[i].type;
    vec_batch b;
    assert_int_equal(vec_batch_init(&b, types, 4, 1000), 0);
    for (uint32_t base = 0; base < ROWS; base += 1000) {
        vec_batch_reset(&b);
        for (uint32_t k = 0; k < 1000; k++) {
            uint32_t r = base + k;
            char s[16];
            name_of(r, s);
            ((int64_t *)b.cols[0].data)[k] = r;
            ((int32_t *)b.cols[1].data)[k] = (int32_t)(r / 100);
            if (grp_null(r))
                assert_int_equal(vec_col_set_null(&b.cols[1], k), 0);
            if (name_null(r))
                assert_int_equal(vec_col_set_null(&b.cols[2], k), 0);
            assert_int_equal(vec_col_append_str(&b.cols[2], s, name_null(r) ? 0 : strlen(s)), 0);
            ((double *)b.cols[3].data)[k] = r * 0.5;
        }
        b.cols[0].len = b.cols[1].len = b.cols[3].len = 1000;
        b.len = 1000;
        assert_int_equal(pq_writer_write(w, &b, NULL), 0);
    }
    assert_int_equal(pq_writer_finish(w, NULL), 0);
    pq_writer_close(w);
    vec_batch_free(&b);
}

/* A predicate with its value, in the columns' terms. */
typedef struct tpred {
    uint32_t column; /* 0 id, 1 grp, 2 name */
    pq_op op;
    int64_t num; /* id, grp */
    char str[16];
    vec_col value;
} tpred;

static int cmp_op(pq_op op, int c)
{
    switch (op) {
    case PQ_OP_EQ:
        return c == 0;
    case PQ_OP_LT:
        return c < 0;
    case PQ_OP_LE:
        return c <= 0;
    case PQ_OP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

/* Whether row r satisfies p (SQL: a comparison with NULL is not true). */
static bool row_matches(uint32_t r, const tpred *p)
{
    bool is_null = p->column == 1 ? grp_null(r) : p->column == 2 ? name_null(r) : false;
    if (p->op == PQ_OP_IS_NULL)
        return is_null;
    if (p->op == PQ_OP_IS_NOT_NULL)
        return !is_null;
    if (is_null)
        return false;
    if (p->column == 2) {
        char s[16];
        name_of(r, s);
        int c = strcmp(s, p->str);
        return cmp_op(p->op, c < 0 ? -1 : c > 0);
    }
    int64_t x = p->column == 0 ? (int64_t)r : (int64_t)(r / 100);
    return cmp_op(p->op, x < p->num ? -1 : x > p->num);
}

static void pred_make(tpred *p, uint32_t column, pq_op op, int64_t num)
{
    memset(p, 0, sizeof(*p));
    p->column = column;
    p->op = op;
    p->num = num;
    vec_type_info t = COLS[column].type;
    assert_int_equal(vec_col_init(&p->value, t, 1), 0);
    if (column == 2) {
        snprintf(p->str, sizeof(p->str), "k%06lld", (long long)num);
        assert_int_equal(vec_col_append_str(&p->value, p->str, strlen(p->str)), 0);
    } else if (column == 1) {
        ((int32_t *)p->value.data)[0] = (int32_t)num;
        p->value.len = 1;
    } else {
        ((int64_t *)p->value.data)[0] = num;
        p->value.len = 1;
    }
}

typedef struct scan_out {
    uint64_t rows, matches, pages_skipped, rows_skipped;
    uint64_t hash; /* of the matching ids, in order */
} scan_out;

/* Checks that row k of b is row r of the file in every projected column. */
static void check_row(const vec_batch *b, const uint32_t *cols, uint32_t ncols, uint32_t k,
                      uint32_t r)
{
    for (uint32_t i = 0; i < ncols; i++) {
        const vec_col *c = &b->cols[i];
        if (cols[i] == 1) {
            assert_int_equal(vec_col_is_valid(c, k), !grp_null(r));
            if (!grp_null(r))
                assert_int_equal(((int32_t *)c->data)[k], r / 100);
        } else if (cols[i] == 2) {
            assert_int_equal(vec_col_is_valid(c, k), !name_null(r));
            if (!name_null(r)) {
                char want[16];
                const uint8_t *s;
                size_t n;
                name_of(r, want);
                vec_col_str(c, k, &s, &n);
                assert_int_equal(n, strlen(want));
                assert_memory_equal(s, want, n);
            }
        } else if (cols[i] == 3) {
            assert_true(((double *)c->data)[k] == r * 0.5);
        }
    }
}

/* Scans columns `cols` (id first) with the predicates (pushed down, or
 * none when !push) and filters the rows by them. */
static scan_out scan(const tarn_buf *file, const uint32_t *cols, uint32_t ncols, tpred *ps,
                     uint32_t np, bool push, bool keep_dict)
{
    pq_file *f;
    assert_int_equal(pq_file_open_bytes(file->data, file->len, "skip", &f, NULL), 0);
    pq_predicate pp[4];
    for (uint32_t i = 0; i < np; i++)
        pp[i] =
            (pq_predicate){ps[i].column, ps[i].op, ps[i].op >= PQ_OP_IS_NULL ? NULL : &ps[i].value};
    pq_scan_opts o = {.columns = cols,
                      .ncols = ncols,
                      .preds = push ? pp : NULL,
                      .npreds = push ? np : 0,
                      .keep_dict = keep_dict,
                      .batch_rows = 700};
    pq_scan *s;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(pq_scan_open(f, &o, &s, &err), 0);
    vec_batch b;
    assert_int_equal(pq_scan_batch_init(s, &b), 0);
    scan_out out = {0};
    out.hash = 1469598103934665603ull;
    int64_t prev = -1;
    while (pq_scan_next(s, &b, &err) == 0 && b.len > 0) {
        for (uint32_t k = 0; k < b.len; k++) {
            uint32_t r = (uint32_t)((int64_t *)b.cols[0].data)[k];
            assert_true((int64_t)r > prev); /* rows in order, none twice */
            prev = r;
            check_row(&b, cols, ncols, k, r);
            bool m = true;
            for (uint32_t i = 0; i < np; i++)
                m = m && row_matches(r, &ps[i]);
            if (m) {
                out.matches++;
                out.hash = (out.hash ^ r) * 1099511628211ull;
            }
        }
        out.rows += b.len;
    }
    assert_int_equal(err.code, 0);
    out.pages_skipped = pq_scan_skipped_pages(s);
    out.rows_skipped = pq_scan_skipped_rows(s);
    vec_batch_free(&b);
    pq_scan_close(s);
    pq_file_close(f);
    return out;
}

static const pq_op OPS[] = {PQ_OP_EQ, PQ_OP_LT,      PQ_OP_LE,         PQ_OP_GT,
                            PQ_OP_GE, PQ_OP_IS_NULL, PQ_OP_IS_NOT_NULL};

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Random predicates (one or two, on id, grp or name) over random
 * projections: equal results with and without pushing them down. */
static void random_rounds(const tarn_buf *file, uint64_t *x, int rounds, uint64_t *pages)
{
    static const uint32_t PROJ[][4] = {{0, 1, 2, 3}, {0, 2}, {0, 3}, {0, 1}};
    static const uint32_t NPROJ[] = {4, 2, 2, 2};
    for (int round = 0; round < rounds; round++) {
        tpred ps[2];
        uint32_t np = 1 + (uint32_t)(rnd(x) % 2);
        for (uint32_t i = 0; i < np; i++) {
            uint32_t col = (uint32_t)(rnd(x) % 3);
            pq_op op = OPS[rnd(x) % (col == 0 ? 5 : 7)];
            int64_t span = col == 0 ? ROWS : col == 1 ? ROWS / 100 : ROWS / 50;
            int64_t num = (int64_t)(rnd(x) % (uint64_t)(span + 20)) - 10;
            if (col == 2 && num < 0)
                num = 0;
            pred_make(&ps[i], col, op, num);
        }
        uint32_t pj = (uint32_t)(rnd(x) % 4);
        bool keep = rnd(x) % 2;
        scan_out with = scan(file, PROJ[pj], NPROJ[pj], ps, np, true, keep);
        scan_out without = scan(file, PROJ[pj], NPROJ[pj], ps, np, false, keep);
        assert_int_equal(without.rows, ROWS);
        assert_int_equal(with.matches, without.matches);
        assert_true(with.hash == without.hash);
        assert_int_equal(with.rows + with.rows_skipped <= ROWS, true);
        *pages += with.pages_skipped;
        for (uint32_t i = 0; i < np; i++)
            vec_col_free(&ps[i].value);
    }
}

static void check_file(bool v2, bool no_dict)
{
    tarn_buf file;
    write_file(&file, v2, no_dict);
    uint32_t all[] = {0, 1, 2, 3};
    /* A selective predicate on the sorted column: one page's worth of
     * rows comes back, the other pages of its row group are skipped in
     * every column. */
    tpred p;
    pred_make(&p, 0, PQ_OP_EQ, 12345);
    scan_out with = scan(&file, all, 4, &p, 1, true, false);
    assert_int_equal(with.matches, 1);
    assert_true(with.pages_skipped > 4);
    assert_true(with.rows_skipped > 0);
    assert_true(with.rows < 2000);
    vec_col_free(&p.value);
    /* grp < 30 skips the pages of the first row group above it. */
    pred_make(&p, 1, PQ_OP_LT, 30);
    with = scan(&file, all, 4, &p, 1, true, true);
    uint64_t want = 0;
    for (uint32_t r = 0; r < ROWS; r++)
        want += row_matches(r, &p);
    assert_int_equal(with.matches, want);
    assert_true(with.rows_skipped > 0);
    vec_col_free(&p.value);
    uint64_t x = tarn_test_seed() | 1, pages = 0;
    random_rounds(&file, &x, 40, &pages);
    assert_true(pages > 0);
    tarn_buf_free(&file);
}

static void test_skip_v1_dict(void **state)
{
    (void)state;
    check_file(false, false);
}

static void test_skip_v1_plain(void **state)
{
    (void)state;
    check_file(false, true);
}

static void test_skip_v2(void **state)
{
    (void)state;
    check_file(true, false);
}

/* Pages carry statistics: a scan with no_page_skip returns the row
 * groups' rows whole, and pq_file_column_stats is unaffected. */
static void test_no_page_skip(void **state)
{
    (void)state;
    tarn_buf file;
    write_file(&file, false, false);
    pq_file *f;
    assert_int_equal(pq_file_open_bytes(file.data, file.len, "skip", &f, NULL), 0);
    tpred p;
    pred_make(&p, 0, PQ_OP_EQ, 12345);
    pq_predicate pp = {0, PQ_OP_EQ, &p.value};
    pq_scan *s;
    assert_int_equal(
        pq_scan_open(f, &(pq_scan_opts){.preds = &pp, .npreds = 1, .no_page_skip = true}, &s, NULL),
        0);
    vec_batch b;
    assert_int_equal(pq_scan_batch_init(s, &b), 0);
    uint64_t rows = 0;
    while (pq_scan_next(s, &b, NULL) == 0 && b.len > 0)
        rows += b.len;
    assert_int_equal(pq_scan_skipped_pages(s), 0);
    /* The kept row group is returned whole. */
    int64_t rg_rows = 0;
    for (uint32_t g = 0; g < pq_file_nrow_groups(f); g++) {
        int64_t n = pq_file_row_group_rows(f, g);
        if (rows == (uint64_t)n)
            rg_rows = n;
    }
    assert_true(rg_rows > 0);
    assert_true(pq_file_nrow_groups(f) > 1);
    vec_batch_free(&b);
    pq_scan_close(s);
    pq_file_close(f);
    vec_col_free(&p.value);
    tarn_buf_free(&file);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skip_v1_dict),
        cmocka_unit_test(test_skip_v1_plain),
        cmocka_unit_test(test_skip_v2),
        cmocka_unit_test(test_no_page_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
