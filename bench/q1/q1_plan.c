/*
 * bench/q1/q1_plan.c: TPC-H Q1 over exec operators (see q1_plan.h).
 */
#include "q1_plan.h"

#include <string.h>

static const char *const q1_cols[7] = {"l_quantity",   "l_extendedprice", "l_discount", "l_tax",
                                       "l_returnflag", "l_linestatus",    "l_shipdate"};

/* The plan in exec's JSON form (what a planner emits). Scan columns: 0
 * qty, 1 price, 2 disc, 3 tax, 4 flag, 5 status, 6 shipdate. The first
 * projection computes disc_price once (column 7 of its output: 0..6 pass
 * through as views); the second uses it for charge: 0 flag, 1 status, 2 qty,
 * 3 price, 4 disc_price, 5 charge, 6 disc. */
#define Q1_AGGS                                                                                    \
    "[{\"fn\":\"sum\",\"col\":2},{\"fn\":\"sum\",\"col\":3},{\"fn\":\"sum\",\"col\":4},"           \
    "{\"fn\":\"sum\",\"col\":5},{\"fn\":\"avg\",\"col\":2},{\"fn\":\"avg\",\"col\":3},"            \
    "{\"fn\":\"avg\",\"col\":6},{\"fn\":\"count_star\"}]"
#define Q1_SCAN_TO_PROJECT                                                                         \
    "{\"op\":\"project\",\"exprs\":[{\"col\":4},{\"col\":5},{\"col\":0},{\"col\":1},{\"col\":7},"  \
    "{\"op\":\"*\",\"args\":[{\"col\":7},{\"op\":\"+\",\"args\":[{\"const\":1.0,\"type\":"         \
    "\"f64\"},{\"col\":3}]}]},{\"col\":2}],\"input\":"                                             \
    "{\"op\":\"project\",\"exprs\":[{\"col\":0},{\"col\":1},{\"col\":2},{\"col\":3},{\"col\":4},"  \
    "{\"col\":5},{\"col\":6},{\"op\":\"*\",\"args\":[{\"col\":1},{\"op\":\"-\",\"args\":"          \
    "[{\"const\":1.0,\"type\":\"f64\"},{\"col\":2}]}]}],\"input\":"                                \
    "{\"op\":\"filter\",\"pred\":{\"op\":\"<=\",\"args\":[{\"col\":6},{\"const\":"                 \
    "\"1998-09-02\",\"type\":\"date\"}]},\"input\":{\"op\":\"source\",\"name\":\"lineitem\"}}}}"

static const char q1_json[] =
    "{\"op\":\"sort\",\"keys\":[{\"col\":0},{\"col\":1}],\"input\":"
    "{\"op\":\"aggregate\",\"keys\":[0,1],\"aggs\":" Q1_AGGS ",\"input\":" Q1_SCAN_TO_PROJECT "}}";

/* The parallel form: each worker runs scan -> filter -> project -> partial
 * aggregate over its row groups; a final aggregate merges, then the sort.
 * %u: the number of workers. */
static const char q1_par_json[] =
    "{\"op\":\"sort\",\"keys\":[{\"col\":0},{\"col\":1}],\"input\":"
    "{\"op\":\"aggregate\",\"phase\":\"final\",\"keys\":[0,1],\"aggs\":" Q1_AGGS ",\"input\":"
    "{\"op\":\"parallel\",\"workers\":%u,\"input\":"
    "{\"op\":\"aggregate\",\"phase\":\"partial\",\"keys\":[0,1],\"aggs\":" Q1_AGGS
    ",\"input\":" Q1_SCAN_TO_PROJECT "}}}}";

static int resolve(void *ctx, const char *name, exec_budget *bud, exec_op **out, tarn_err *err)
{
    if (strcmp(name, "lineitem") != 0)
        return tarn_err_set(err, TARN_ENOENT, "no table %s", name);
    return exec_pq_source_new(ctx, bud, out, err);
}

static int find_columns(pq_file *f, uint32_t *idx, tarn_err *err)
{
    for (int i = 0; i < 7; i++) {
        int c = pq_file_find_column(f, q1_cols[i]);
        if (c < 0)
            return tarn_err_set(err, TARN_EINVAL, "lineitem has no column %s", q1_cols[i]);
        idx[i] = (uint32_t)c;
    }
    return 0;
}

static int resolve_morsels(void *ctx, const char *name, exec_budget *bud, exec_op **out,
                           tarn_err *err)
{
    q1_par *p = ctx;
    if (strcmp(name, "lineitem") != 0)
        return tarn_err_set(err, TARN_ENOENT, "no table %s", name);
    return exec_pq_morsel_source_new(p->f, &p->so, &p->m, bud, out, err);
}

int q1_plan_build_parallel(pq_file *f, exec_budget *bud, uint32_t threads, q1_par *p,
                           exec_op **root, tarn_err *err)
{
    memset(p, 0, sizeof(*p));
    int rc = find_columns(f, p->idx, err);
    if (rc != 0)
        return rc;
    p->f = f;
    p->so = (pq_scan_opts){.columns = p->idx, .ncols = 7, .keep_dict = true};
    exec_morsels_init(&p->m, pq_file_nrow_groups(f));
    char json[sizeof(q1_par_json) + 16];
    snprintf(json, sizeof(json), q1_par_json, threads);
    return exec_plan_from_json(json, resolve_morsels, p, bud, root, err);
}

int q1_plan_build(pq_file *f, exec_budget *bud, pq_scan **scan, exec_op **root, tarn_err *err)
{
    uint32_t idx[7];
    int rc = find_columns(f, idx, err);
    if (rc != 0)
        return rc;
    pq_scan_opts so = {.columns = idx, .ncols = 7, .keep_dict = true};
    rc = pq_scan_open(f, &so, scan, err);
    if (rc != 0)
        return rc;
    rc = exec_plan_from_json(q1_json, resolve, *scan, bud, root, err);
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
