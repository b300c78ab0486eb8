/*
 * bench/q1/q1_plan.c: TPC-H Q1 over exec operators (see q1_plan.h).
 */
#include "q1_plan.h"

#include <string.h>

static const char *const q1_cols[7] = {"l_quantity",   "l_extendedprice", "l_discount", "l_tax",
                                       "l_returnflag", "l_linestatus",    "l_shipdate"};

/* Scan columns: 0 qty, 1 price, 2 disc, 3 tax, 4 flag, 5 status, 6 shipdate. */
static const char *const q1_filter =
    "{\"op\":\"<=\",\"args\":[{\"col\":6},{\"const\":\"1998-09-02\",\"type\":\"date\"}]}";
#define DISC_PRICE                                                                                 \
    "{\"op\":\"*\",\"args\":[{\"col\":1},{\"op\":\"-\",\"args\":[{\"const\":1.0,\"type\":"         \
    "\"f64\"},{\"col\":2}]}]}"
static const char *const q1_project[7] = {
    "{\"col\":4}",
    "{\"col\":5}",
    "{\"col\":0}",
    "{\"col\":1}",
    DISC_PRICE,
    "{\"op\":\"*\",\"args\":[" DISC_PRICE ",{\"op\":\"+\",\"args\":[{\"const\":1.0,\"type\":"
    "\"f64\"},{\"col\":3}]}]}",
    "{\"col\":2}",
};

static int build_ops(exec_op *src, exec_budget *bud, exec_op **root, tarn_err *err)
{
    const vec_type_info *t = exec_op_types(src);
    exec_expr *pred, *proj[7] = {NULL};
    int rc = exec_expr_from_json(q1_filter, t, 7, bud, &pred, err);
    if (rc != 0) {
        exec_op_close(src);
        return rc;
    }
    exec_op *f, *p, *a;
    if ((rc = exec_filter_new(src, pred, &f, err)) != 0)
        return rc;
    for (int i = 0; i < 7 && rc == 0; i++)
        rc = exec_expr_from_json(q1_project[i], t, 7, bud, &proj[i], err);
    if (rc != 0) {
        for (int i = 0; i < 7; i++)
            exec_expr_free(proj[i]);
        exec_op_close(f);
        return rc;
    }
    if ((rc = exec_project_new(f, proj, 7, &p, err)) != 0)
        return rc;
    static const uint32_t keys[2] = {0, 1};
    static const exec_agg_spec aggs[8] = {
        {EXEC_AGG_SUM, 2}, {EXEC_AGG_SUM, 3}, {EXEC_AGG_SUM, 4}, {EXEC_AGG_SUM, 5},
        {EXEC_AGG_AVG, 2}, {EXEC_AGG_AVG, 3}, {EXEC_AGG_AVG, 6}, {EXEC_AGG_COUNT_STAR, 0},
    };
    exec_agg_opts o = {keys, 2, aggs, 8, EXEC_AGG_SINGLE};
    if ((rc = exec_agg_new(p, &o, &a, err)) != 0)
        return rc;
    static const exec_sort_key order[2] = {{0, false, false}, {1, false, false}};
    return exec_sort_new(a, order, 2, UINT64_MAX, root, err);
}

int q1_plan_build(pq_file *f, exec_budget *bud, pq_scan **scan, exec_op **root, tarn_err *err)
{
    uint32_t idx[7];
    for (int i = 0; i < 7; i++) {
        int c = pq_file_find_column(f, q1_cols[i]);
        if (c < 0)
            return tarn_err_set(err, TARN_EINVAL, "lineitem has no column %s", q1_cols[i]);
        idx[i] = (uint32_t)c;
    }
    pq_scan_opts so = {.columns = idx, .ncols = 7, .keep_dict = true};
    int rc = pq_scan_open(f, &so, scan, err);
    if (rc != 0)
        return rc;
    exec_op *src;
    rc = exec_pq_source_new(*scan, bud, &src, err);
    if (rc == 0)
        rc = build_ops(src, bud, root, err);
    if (rc != 0) {
        pq_scan_close(*scan);
        *scan = NULL;
    }
    return rc;
}

static void print_str(const vec_col *c, uint32_t i, FILE *out)
{
    const uint8_t *s;
    size_t l;
    vec_col_str(c, i, &s, &l);
    fprintf(out, "%.*s,", (int)l, (const char *)s);
}

int q1_plan_run(exec_op *root, FILE *out, tarn_err *err)
{
    int rc = exec_op_open(root, err);
    const vec_batch *b;
    int rows = 0;
    while (rc == 0 && (rc = exec_op_next(root, &b, err)) == 0 && b != NULL) {
        for (uint32_t k = 0; k < vec_batch_live_count(b) && out; k++, rows++) {
            uint32_t i = b->sel_active ? b->sel[k] : k;
            print_str(&b->cols[0], i, out);
            print_str(&b->cols[1], i, out);
            for (int c = 2; c < 9; c++)
                fprintf(out, "%.17g,", ((const double *)b->cols[c].data)[i]);
            fprintf(out, "%lld\n", (long long)((const int64_t *)b->cols[9].data)[i]);
        }
        if (!out)
            rows += (int)vec_batch_live_count(b);
    }
    return rc != 0 ? rc : rows;
}
