/*
 * exec/op.c: the operator interface and the streaming operators: source
 * (batches from a callback), filter (narrows the selection), project
 * (computed columns next to nothing else; no copies), limit/offset.
 * Design note: exec/README.md, "Operators".
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "exec/exec_int.h"

#include <string.h>

int exec_op_alloc(size_t size, const exec_op_vt *vt, exec_op *child, exec_budget *bud,
                  const vec_type_info *types, uint32_t ncols, exec_op **out, tarn_err *err)
{
    *out = NULL;
    exec_op *op = tarn_calloc(1, size);
    vec_type_info *t = tarn_calloc(ncols ? ncols : 1, sizeof(vec_type_info));
    if (op == NULL || t == NULL) {
        tarn_free(op);
        tarn_free(t);
        exec_op_close(child);
        return tarn_err_set(err, TARN_ENOMEM, "new %s operator", vt->name);
    }
    if (ncols)
        memcpy(t, types, ncols * sizeof(vec_type_info));
    op->vt = vt;
    op->child = child;
    op->budget = bud;
    op->types = t;
    op->ncols = ncols;
    *out = op;
    return 0;
}

int exec_op_open(exec_op *op, tarn_err *err)
{
    int rc = op->child ? exec_op_open(op->child, err) : 0;
    if (rc == 0 && op->vt->open)
        rc = op->vt->open(op, err);
    if (rc != 0) {
        op->failed = true;
        return tarn_err_wrap(err, rc, "open %s", op->vt->name);
    }
    return 0;
}

int exec_op_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    *out = NULL;
    if (op->failed)
        return tarn_err_set(err, TARN_ESTATE, "%s: after an earlier error", op->vt->name);
    /* The cancellation point: between batches of every operator, so a
     * blocking one (aggregate, join build, sort) stops while it consumes. */
    int rc = exec_budget_cancelled(op->budget) ? tarn_err_set(err, TARN_ECLOSED, "query cancelled")
                                               : op->vt->next(op, out, err);
    if (rc != 0) {
        op->failed = true;
        *out = NULL;
        return tarn_err_wrap(err, rc, "%s", op->vt->name);
    }
    TARN_DASSERT(*out == NULL || vec_batch_live_count(*out) > 0);
    return 0;
}

void exec_op_close(exec_op *op)
{
    if (op == NULL)
        return;
    if (op->vt->close)
        op->vt->close(op);
    exec_op_close(op->child);
    tarn_free(op->types);
    tarn_free(op);
}

uint32_t exec_op_ncols(const exec_op *op)
{
    return op->ncols;
}

const vec_type_info *exec_op_types(const exec_op *op)
{
    return op->types;
}

/* ---- source ---- */

typedef struct src_op {
    exec_op base;
    exec_source_fn fn;
    void *ctx;
} src_op;

static int src_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    src_op *s = (src_op *)op;
    for (;;) {
        const vec_batch *b = NULL;
        int rc = s->fn(s->ctx, &b, err);
        if (rc != 0 || b == NULL)
            return rc;
        if (b->ncols != op->ncols)
            return tarn_err_set(err, TARN_EINVAL, "source batch has %u columns, want %u", b->ncols,
                                op->ncols);
        if (vec_batch_live_count(b) > 0) {
            *out = b;
            return 0;
        }
    }
}

static const exec_op_vt src_vt = {"source", NULL, src_next, NULL};

int exec_source_new(const vec_type_info *types, uint32_t ncols, exec_source_fn fn, void *ctx,
                    exec_budget *budget, exec_op **out, tarn_err *err)
{
    int rc = exec_op_alloc(sizeof(src_op), &src_vt, NULL, budget, types, ncols, out, err);
    if (rc != 0)
        return rc;
    ((src_op *)*out)->fn = fn;
    ((src_op *)*out)->ctx = ctx;
    return 0;
}

/* ---- filter ---- */

typedef struct filter_op {
    exec_op base;
    exec_expr *pred;
    uint32_t *sel;
    uint32_t sel_cap;
    size_t acct_bytes;
    vec_batch view; /* the child's batch with our selection */
} filter_op;

static int sel_room(uint32_t **sel, uint32_t *cap, uint32_t rows, exec_budget *bud, size_t *acct,
                    tarn_err *err)
{
    if (*cap >= rows)
        return 0;
    size_t bytes = (size_t)rows * sizeof(uint32_t);
    int rc = exec_budget_reserve(bud, bytes, "selection vector", err);
    if (rc != 0)
        return rc;
    uint32_t *p = tarn_realloc(*sel, bytes);
    if (p == NULL) {
        exec_budget_release(bud, bytes);
        return tarn_err_set(err, TARN_ENOMEM, "selection vector");
    }
    *sel = p;
    *cap = rows;
    *acct += bytes;
    return 0;
}

static int filter_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    filter_op *f = (filter_op *)op;
    for (;;) {
        const vec_batch *b;
        int rc = exec_op_next(op->child, &b, err);
        if (rc != 0 || b == NULL)
            return rc;
        uint32_t n = 0;
        rc = sel_room(&f->sel, &f->sel_cap, b->len, op->budget, &f->acct_bytes, err);
        if (rc == 0)
            rc = exec_expr_select(f->pred, b, f->sel, &n, err);
        if (rc != 0)
            return rc;
        if (n == 0)
            continue;
        f->view = *b;
        f->view.sel = f->sel;
        f->view.sel_count = n;
        f->view.sel_active = true;
        *out = &f->view;
        return 0;
    }
}

static void filter_close(exec_op *op)
{
    filter_op *f = (filter_op *)op;
    exec_expr_free(f->pred);
    tarn_free(f->sel);
    exec_budget_release(op->budget, f->acct_bytes);
}

static const exec_op_vt filter_vt = {"filter", NULL, filter_next, filter_close};

int exec_filter_new(exec_op *child, exec_expr *pred, exec_op **out, tarn_err *err)
{
    *out = NULL;
    if (pred->type.id != VEC_BOOL) {
        exec_expr_free(pred);
        exec_op_close(child);
        return tarn_err_set(err, TARN_EINVAL, "filter predicate is not boolean");
    }
    int rc = exec_op_alloc(sizeof(filter_op), &filter_vt, child, child->budget, child->types,
                           child->ncols, out, err);
    if (rc != 0) {
        exec_expr_free(pred);
        return rc;
    }
    ((filter_op *)*out)->pred = pred;
    return 0;
}

/* ---- project ---- */

typedef struct project_op {
    exec_op base;
    exec_expr **exprs;
    uint32_t nexprs;
    vec_batch view; /* columns are shallow copies of the expressions' results */
} project_op;

static int project_open(exec_op *op, tarn_err *err)
{
    project_op *p = (project_op *)op;
    p->view.cols = tarn_calloc(p->nexprs ? p->nexprs : 1, sizeof(vec_col));
    if (p->view.cols == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "project columns");
    p->view.ncols = p->nexprs;
    return 0;
}

static int project_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    project_op *p = (project_op *)op;
    const vec_batch *b;
    int rc = exec_op_next(op->child, &b, err);
    if (rc != 0 || b == NULL)
        return rc;
    for (uint32_t i = 0; i < p->nexprs; i++) {
        const vec_col *c;
        rc = exec_expr_eval(p->exprs[i], b, &c, err);
        if (rc != 0)
            return tarn_err_wrap(err, rc, "column %u", i);
        p->view.cols[i] = *c; /* borrowed view: never freed through the copy */
    }
    p->view.len = b->len;
    p->view.cap = b->cap;
    p->view.sel = b->sel;
    p->view.sel_count = b->sel_count;
    p->view.sel_active = b->sel_active;
    *out = &p->view;
    return 0;
}

static void project_close(exec_op *op)
{
    project_op *p = (project_op *)op;
    for (uint32_t i = 0; i < p->nexprs; i++)
        exec_expr_free(p->exprs[i]);
    tarn_free(p->exprs);
    tarn_free(p->view.cols);
}

static const exec_op_vt project_vt = {"project", project_open, project_next, project_close};

int exec_project_new(exec_op *child, exec_expr **exprs, uint32_t nexprs, exec_op **out,
                     tarn_err *err)
{
    *out = NULL;
    vec_type_info *types = tarn_calloc(nexprs ? nexprs : 1, sizeof(vec_type_info));
    exec_expr **copy = tarn_calloc(nexprs ? nexprs : 1, sizeof(exec_expr *));
    int rc = types && copy ? 0 : tarn_err_set(err, TARN_ENOMEM, "new project operator");
    for (uint32_t i = 0; i < nexprs && rc == 0; i++)
        types[i] = exprs[i]->type;
    if (rc == 0)
        rc = exec_op_alloc(sizeof(project_op), &project_vt, child, child->budget, types, nexprs,
                           out, err);
    else
        exec_op_close(child);
    tarn_free(types);
    if (rc != 0) {
        for (uint32_t i = 0; i < nexprs; i++)
            exec_expr_free(exprs[i]);
        tarn_free(copy);
        return rc;
    }
    memcpy(copy, exprs, nexprs * sizeof(exec_expr *));
    ((project_op *)*out)->exprs = copy;
    ((project_op *)*out)->nexprs = nexprs;
    return 0;
}

/* ---- limit / offset ---- */

typedef struct limit_op {
    exec_op base;
    uint64_t limit, offset; /* rows still to pass, to skip */
    uint32_t *sel;
    uint32_t sel_cap;
    size_t acct_bytes;
    vec_batch view;
} limit_op;

static int limit_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    limit_op *l = (limit_op *)op;
    while (l->limit > 0) {
        const vec_batch *b;
        int rc = exec_op_next(op->child, &b, err);
        if (rc != 0 || b == NULL)
            return rc;
        uint32_t live = vec_batch_live_count(b);
        if (l->offset >= live) {
            l->offset -= live;
            continue;
        }
        uint32_t skip = (uint32_t)l->offset;
        uint32_t take = live - skip < l->limit ? live - skip : (uint32_t)l->limit;
        l->offset = 0;
        l->limit -= take;
        if (skip == 0 && take == live) {
            *out = b;
            return 0;
        }
        rc = sel_room(&l->sel, &l->sel_cap, b->len, op->budget, &l->acct_bytes, err);
        if (rc != 0)
            return rc;
        for (uint32_t k = 0; k < take; k++)
            l->sel[k] = b->sel_active ? b->sel[skip + k] : skip + k;
        l->view = *b;
        l->view.sel = l->sel;
        l->view.sel_count = take;
        l->view.sel_active = true;
        *out = &l->view;
        return 0;
    }
    return 0;
}

static void limit_close(exec_op *op)
{
    limit_op *l = (limit_op *)op;
    tarn_free(l->sel);
    exec_budget_release(op->budget, l->acct_bytes);
}

static const exec_op_vt limit_vt = {"limit", NULL, limit_next, limit_close};

int exec_limit_new(exec_op *child, uint64_t limit, uint64_t offset, exec_op **out, tarn_err *err)
{
    int rc = exec_op_alloc(sizeof(limit_op), &limit_vt, child, child->budget, child->types,
                           child->ncols, out, err);
    if (rc != 0)
        return rc;
    ((limit_op *)*out)->limit = limit;
    ((limit_op *)*out)->offset = offset;
    return 0;
}
