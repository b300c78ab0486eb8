/*
 * exec/setops.c: UNION ALL (children one after the other, batches passed
 * through) and VALUES (literal rows evaluated once, at open). Design note:
 * exec/README.md, "Operators".
 */
#include "base/alloc.h"
#include "exec/exec_int.h"

#include <string.h>

/* ---- union all ---- */

typedef struct union_op {
    exec_op base;
    exec_op **children;
    uint32_t n, cur;
} union_op;

static int union_open(exec_op *op, tarn_err *err)
{
    union_op *u = (union_op *)op;
    for (uint32_t i = 0; i < u->n; i++) {
        int rc = exec_op_open(u->children[i], err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int union_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    union_op *u = (union_op *)op;
    for (; u->cur < u->n; u->cur++) {
        int rc = exec_op_next(u->children[u->cur], out, err);
        if (rc != 0 || *out != NULL)
            return rc;
    }
    return 0;
}

static void union_close(exec_op *op)
{
    union_op *u = (union_op *)op;
    for (uint32_t i = 0; i < u->n; i++)
        exec_op_close(u->children[i]);
    tarn_free(u->children);
}

static const exec_op_vt union_vt = {"union all", union_open, union_next, union_close};

static bool same_col_type(vec_type_info a, vec_type_info b)
{
    return a.id == b.id && a.list == b.list && (a.id != VEC_DECIMAL64 || a.scale == b.scale) &&
           ((a.id != VEC_TIMESTAMP && a.id != VEC_TIME) || a.unit == b.unit);
}

static void close_all(exec_op **c, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        exec_op_close(c[i]);
}

int exec_union_all_new(exec_op **children, uint32_t n, exec_op **out, tarn_err *err)
{
    *out = NULL;
    if (n == 0)
        return tarn_err_set(err, TARN_EINVAL, "union all of no inputs");
    exec_op *first = children[0];
    for (uint32_t i = 1; i < n; i++) {
        bool ok = children[i]->ncols == first->ncols;
        for (uint32_t c = 0; ok && c < first->ncols; c++)
            ok = same_col_type(children[i]->types[c], first->types[c]);
        if (!ok) {
            close_all(children, n);
            return tarn_err_set(err, TARN_EINVAL,
                                "union all: input %u has other column types than input 0", i);
        }
    }
    exec_op **copy = tarn_malloc_array(n, sizeof(exec_op *));
    if (copy == NULL) {
        close_all(children, n);
        return tarn_err_set(err, TARN_ENOMEM, "union all");
    }
    memcpy(copy, children, n * sizeof(exec_op *));
    int rc = exec_op_alloc(sizeof(union_op), &union_vt, NULL, first->budget, first->types,
                           first->ncols, out, err);
    if (rc != 0) {
        close_all(copy, n);
        tarn_free(copy);
        return rc;
    }
    ((union_op *)*out)->children = copy;
    ((union_op *)*out)->n = n;
    return 0;
}

/* ---- values ---- */

typedef struct values_op {
    exec_op base;
    exec_expr **exprs; /* nrows * ncols, freed after open */
    uint32_t nrows, emitted;
    vec_col *store; /* ncols columns of nrows rows, filled at open */
    vec_batch out;
    bool out_ready;
    size_t acct_bytes;
} values_op;

static void free_exprs(values_op *v)
{
    if (v->exprs == NULL)
        return;
    for (size_t i = 0; i < (size_t)v->nrows * v->base.ncols; i++)
        exec_expr_free(v->exprs[i]);
    tarn_free(v->exprs);
    v->exprs = NULL;
}

static int values_open(exec_op *op, tarn_err *err)
{
    values_op *v = (values_op *)op;
    uint32_t nc = op->ncols;
    v->store = tarn_calloc(nc ? nc : 1, sizeof(vec_col));
    if (v->store == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "values");
    vec_batch one; /* a row of no columns to evaluate the constants over */
    int rc = vec_batch_init(&one, NULL, 0, 1);
    if (rc != 0)
        return tarn_err_set(err, rc, "values");
    one.len = 1;
    uint32_t zero = 0;
    for (uint32_t c = 0; c < nc && rc == 0; c++) {
        rc = exec_col_prepare(&v->store[c], op->types[c], v->nrows, op->budget, &v->acct_bytes,
                              "values", err);
        for (uint32_t r = 0; r < v->nrows && rc == 0; r++) {
            const vec_col *x;
            rc = exec_expr_eval(v->exprs[(size_t)r * nc + c], &one, &x, err);
            if (rc == 0)
                rc = exec_col_append_rows(&v->store[c], x, &zero, 1, op->budget, &v->acct_bytes,
                                          err);
            if (rc != 0)
                rc = tarn_err_wrap(err, rc, "values row %u column %u", r, c);
        }
    }
    vec_batch_free(&one);
    free_exprs(v);
    if (rc == 0) {
        rc = vec_batch_init(&v->out, op->types, nc, 1);
        v->out_ready = rc == 0;
        rc = rc == 0 ? 0 : tarn_err_set(err, rc, "values");
    }
    return rc;
}

static int values_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    values_op *v = (values_op *)op;
    if (v->emitted >= v->nrows)
        return 0;
    uint32_t m = v->nrows - v->emitted < VEC_BATCH_ROWS ? v->nrows - v->emitted : VEC_BATCH_ROWS;
    vec_batch_reset(&v->out);
    uint32_t *rows = tarn_malloc_array(m, sizeof(uint32_t));
    if (rows == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "values");
    for (uint32_t k = 0; k < m; k++)
        rows[k] = v->emitted + k;
    int rc = 0;
    for (uint32_t c = 0; c < op->ncols && rc == 0; c++)
        rc = exec_col_append_rows(&v->out.cols[c], &v->store[c], rows, m, op->budget,
                                  &v->acct_bytes, err);
    tarn_free(rows);
    if (rc != 0)
        return rc;
    v->out.len = m;
    v->emitted += m;
    *out = &v->out;
    return 0;
}

static void values_close(exec_op *op)
{
    values_op *v = (values_op *)op;
    free_exprs(v);
    for (uint32_t c = 0; v->store && c < op->ncols; c++)
        vec_col_free(&v->store[c]);
    tarn_free(v->store);
    if (v->out_ready)
        vec_batch_free(&v->out);
    exec_budget_release(op->budget, v->acct_bytes);
}

static const exec_op_vt values_vt = {"values", values_open, values_next, values_close};

int exec_values_new(const vec_type_info *types, uint32_t ncols, exec_expr **exprs, uint32_t nrows,
                    exec_budget *budget, exec_op **out, tarn_err *err)
{
    *out = NULL;
    size_t n = (size_t)nrows * ncols;
    int rc = 0;
    if (nrows > EXEC_VALUES_ROWS_MAX)
        rc = tarn_err_set(err, TARN_EINVAL, "values: over %d rows", EXEC_VALUES_ROWS_MAX);
    for (size_t i = 0; i < n && rc == 0; i++) {
        vec_type_info t = exec_expr_type(exprs[i]), w = types[i % ncols];
        if (t.id != w.id || (t.id == VEC_DECIMAL64 && t.scale != w.scale) ||
            exec_phys_of(t.id) == EXEC_P_NONE)
            rc = tarn_err_set(err, TARN_EINVAL, "values row %zu column %zu: %s, want %s (cast)",
                              i / ncols, i % ncols, vec_type_name(t.id), vec_type_name(w.id));
    }
    exec_expr **copy = NULL;
    if (rc == 0 && n > 0 && (copy = tarn_malloc_array(n, sizeof(exec_expr *))) == NULL)
        rc = tarn_err_set(err, TARN_ENOMEM, "values");
    if (rc == 0)
        rc = exec_op_alloc(sizeof(values_op), &values_vt, NULL, budget, types, ncols, out, err);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            exec_expr_free(exprs[i]);
        tarn_free(copy);
        return rc;
    }
    if (n > 0)
        memcpy(copy, exprs, n * sizeof(exec_expr *));
    ((values_op *)*out)->exprs = copy;
    ((values_op *)*out)->nrows = nrows;
    return 0;
}
