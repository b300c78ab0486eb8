/*
 * exec/plan.c: operator trees from their JSON form, the serializable plan a
 * planner (or a coordinator shipping stage plans to workers) hands over.
 * Grammar: exec/README.md, "Plan JSON". Built bottom-up with a depth bound;
 * each constructor takes its input, so a failure frees what was built.
 */
#include "base/alloc.h"
#include "exec/exec_int.h"

#include <jansson.h>
#include <string.h>

/* Deepest operator nesting accepted. */
#define EXEC_PLAN_DEPTH_MAX 64

typedef struct plan_ctx {
    exec_resolve_fn resolve;
    void *ctx;
    exec_budget *budget;
    tarn_err *err;
} plan_ctx;

static int plan_build(json_t *j, plan_ctx *c, int depth, exec_op **out);

static int bad(plan_ctx *c, exec_op *input, const char *op, const char *what)
{
    exec_op_close(input);
    return tarn_err_set(c->err, TARN_EINVAL, "plan: %s: %s", op, what);
}

/* Reads an array of small non-negative integers. */
static bool read_u32s(json_t *a, uint32_t *dst, size_t max, size_t *n)
{
    if (!json_is_array(a) || json_array_size(a) > max)
        return false;
    *n = json_array_size(a);
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
            return false;
        dst[i] = (uint32_t)json_integer_value(v);
    }
    return true;
}

static int build_exprs(json_t *arr, exec_op *input, plan_ctx *c, exec_expr **ex, size_t n)
{
    int rc = 0;
    size_t i = 0;
    for (; i < n && rc == 0; i++)
        rc = exec_expr_from_jsonv(json_array_get(arr, i), exec_op_types(input),
                                  exec_op_ncols(input), c->budget, &ex[i], c->err);
    if (rc != 0) {
        for (size_t k = 0; k + 1 < i; k++)
            exec_expr_free(ex[k]);
        exec_op_close(input);
    }
    return rc;
}

static int plan_project(json_t *j, exec_op *in, plan_ctx *c, exec_op **out)
{
    json_t *arr = json_object_get(j, "exprs");
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > 4096)
        return bad(c, in, "project", "\"exprs\" must be an array of 1..4096 expressions");
    exec_expr **ex = tarn_calloc(n, sizeof(*ex));
    if (ex == NULL) {
        exec_op_close(in);
        return tarn_err_set(c->err, TARN_ENOMEM, "plan: project");
    }
    int rc = build_exprs(arr, in, c, ex, n);
    if (rc == 0)
        rc = exec_project_new(in, ex, (uint32_t)n, out, c->err);
    tarn_free(ex);
    return rc;
}

static const char *const agg_names[] = {"count_star", "count", "sum", "min", "max", "avg"};
static const char *const phase_names[] = {"single", "partial", "final"};

static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int plan_aggregate(json_t *j, exec_op *in, plan_ctx *c, exec_op **out)
{
    uint32_t keys[EXEC_AGG_KEYS_MAX];
    exec_agg_spec specs[EXEC_AGG_AGGS_MAX];
    size_t nkeys = 0;
    json_t *keyj = json_object_get(j, "keys");
    if (keyj && !read_u32s(keyj, keys, EXEC_AGG_KEYS_MAX, &nkeys))
        return bad(c, in, "aggregate", "\"keys\" must be column indexes");
    json_t *aggs = json_object_get(j, "aggs");
    size_t naggs = json_array_size(aggs);
    if (!json_is_array(aggs) || naggs > EXEC_AGG_AGGS_MAX)
        return bad(c, in, "aggregate", "\"aggs\" must be an array");
    for (size_t i = 0; i < naggs; i++) {
        json_t *a = json_array_get(aggs, i);
        int fn = name_index(json_string_value(json_object_get(a, "fn")), agg_names, 6);
        json_t *col = json_object_get(a, "col");
        if (fn < 0 || (col && (!json_is_integer(col) || json_integer_value(col) < 0)))
            return bad(c, in, "aggregate", "aggregate needs a known \"fn\" and a \"col\"");
        specs[i] = (exec_agg_spec){(exec_agg_fn)fn, (uint32_t)json_integer_value(col),
                                   json_is_true(json_object_get(a, "distinct"))};
    }
    json_t *ph = json_object_get(j, "phase");
    int phase = ph ? name_index(json_string_value(ph), phase_names, 3) : 0;
    if (phase < 0)
        return bad(c, in, "aggregate", "\"phase\" is single, partial or final");
    exec_agg_opts o = {keys, (uint32_t)nkeys, specs, (uint32_t)naggs, (exec_agg_phase)phase};
    return exec_agg_new(in, &o, out, c->err);
}

static int plan_sort(json_t *j, exec_op *in, plan_ctx *c, exec_op **out)
{
    exec_sort_key keys[EXEC_AGG_KEYS_MAX];
    json_t *arr = json_object_get(j, "keys");
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > EXEC_AGG_KEYS_MAX)
        return bad(c, in, "sort", "\"keys\" must be an array of 1..32 keys");
    for (size_t i = 0; i < n; i++) {
        json_t *k = json_array_get(arr, i), *col = json_object_get(k, "col");
        if (!json_is_integer(col) || json_integer_value(col) < 0)
            return bad(c, in, "sort", "key without \"col\"");
        keys[i] = (exec_sort_key){(uint32_t)json_integer_value(col),
                                  json_is_true(json_object_get(k, "desc")),
                                  json_is_true(json_object_get(k, "nulls_first"))};
    }
    json_t *lim = json_object_get(j, "limit");
    if (lim && (!json_is_integer(lim) || json_integer_value(lim) < 0))
        return bad(c, in, "sort", "\"limit\" must be a non-negative integer");
    uint64_t limit = lim ? (uint64_t)json_integer_value(lim) : UINT64_MAX;
    return exec_sort_new(in, keys, (uint32_t)n, limit, out, c->err);
}

static int plan_limit(json_t *j, exec_op *in, plan_ctx *c, exec_op **out)
{
    json_t *lim = json_object_get(j, "limit"), *off = json_object_get(j, "offset");
    if ((lim && (!json_is_integer(lim) || json_integer_value(lim) < 0)) ||
        (off && (!json_is_integer(off) || json_integer_value(off) < 0)))
        return bad(c, in, "limit", "\"limit\" and \"offset\" must be non-negative integers");
    return exec_limit_new(in, lim ? (uint64_t)json_integer_value(lim) : UINT64_MAX,
                          off ? (uint64_t)json_integer_value(off) : 0, out, c->err);
}

static int plan_join(json_t *j, plan_ctx *c, int depth, exec_op **out)
{
    uint32_t lk[EXEC_JOIN_KEYS_MAX], rk[EXEC_JOIN_KEYS_MAX];
    size_t nl = 0, nr = 0;
    const char *type = json_string_value(json_object_get(j, "type"));
    json_t *lkj = json_object_get(j, "left_keys"), *rkj = json_object_get(j, "right_keys");
    if ((lkj && !read_u32s(lkj, lk, EXEC_JOIN_KEYS_MAX, &nl)) ||
        (rkj && !read_u32s(rkj, rk, EXEC_JOIN_KEYS_MAX, &nr)) || nl != nr)
        return bad(c, NULL, "join", "\"left_keys\" and \"right_keys\": column indexes, as many");
    if (type && strcmp(type, "inner") != 0 && strcmp(type, "left") != 0)
        return bad(c, NULL, "join", "\"type\" is inner or left");
    exec_op *l, *r = NULL;
    int rc = plan_build(json_object_get(j, "left"), c, depth + 1, &l);
    if (rc == 0 && (rc = plan_build(json_object_get(j, "right"), c, depth + 1, &r)) != 0)
        exec_op_close(l);
    if (rc != 0)
        return rc;
    exec_join_opts o = {type && type[0] == 'l' ? EXEC_JOIN_LEFT : EXEC_JOIN_INNER, lk, rk,
                        (uint32_t)nl, NULL};
    json_t *res = json_object_get(j, "residual");
    if (res != NULL) {
        uint32_t n = exec_op_ncols(l) + exec_op_ncols(r);
        vec_type_info *t = tarn_calloc(n ? n : 1, sizeof(*t));
        rc = t ? 0 : tarn_err_set(c->err, TARN_ENOMEM, "plan: join");
        if (rc == 0) {
            memcpy(t, exec_op_types(l), exec_op_ncols(l) * sizeof(*t));
            memcpy(t + exec_op_ncols(l), exec_op_types(r), exec_op_ncols(r) * sizeof(*t));
            rc = exec_expr_from_jsonv(res, t, n, c->budget, &o.residual, c->err);
        }
        tarn_free(t);
        if (rc != 0) {
            exec_op_close(l);
            exec_op_close(r);
            return rc;
        }
    }
    return exec_join_new(l, r, &o, out, c->err);
}

#define EXEC_PLAN_UNION_MAX 4096

static int plan_union(json_t *j, plan_ctx *c, int depth, exec_op **out)
{
    json_t *in = json_object_get(j, "inputs");
    size_t n = json_array_size(in);
    if (!json_is_array(in) || n == 0 || n > EXEC_PLAN_UNION_MAX)
        return bad(c, NULL, "union_all", "\"inputs\" must be an array of 1..4096 plans");
    exec_op **ops = tarn_calloc(n, sizeof(exec_op *));
    if (ops == NULL)
        return tarn_err_set(c->err, TARN_ENOMEM, "plan: union_all");
    int rc = 0;
    size_t i = 0;
    for (; i < n && rc == 0; i++)
        rc = plan_build(json_array_get(in, i), c, depth + 1, &ops[i]);
    if (rc != 0) {
        for (size_t k = 0; k + 1 < i; k++)
            exec_op_close(ops[k]);
    } else {
        rc = exec_union_all_new(ops, (uint32_t)n, out, c->err);
    }
    tarn_free(ops);
    return rc;
}

/* {"op":"values","rows":[[EXPR, ...], ...]}: the first row's expression
 * types are the columns' types. */
static int plan_values(json_t *j, plan_ctx *c, exec_op **out)
{
    json_t *rows = json_object_get(j, "rows");
    size_t nr = json_array_size(rows), nc = json_array_size(json_array_get(rows, 0));
    if (!json_is_array(rows) || nr == 0 || nr > EXEC_VALUES_ROWS_MAX || nc > 4096)
        return bad(c, NULL, "values", "\"rows\" must be 1.. arrays of expressions");
    for (size_t r = 0; r < nr; r++)
        if (!json_is_array(json_array_get(rows, r)) ||
            json_array_size(json_array_get(rows, r)) != nc)
            return bad(c, NULL, "values", "every row needs as many expressions as the first");
    exec_expr **ex = tarn_calloc(nr * nc + 1, sizeof(exec_expr *));
    vec_type_info *types = tarn_calloc(nc + 1, sizeof(vec_type_info));
    int rc = ex && types ? 0 : tarn_err_set(c->err, TARN_ENOMEM, "plan: values");
    size_t built = 0;
    for (; rc == 0 && built < nr * nc; built++)
        rc = exec_expr_from_jsonv(json_array_get(json_array_get(rows, built / nc), built % nc),
                                  NULL, 0, c->budget, &ex[built], c->err);
    if (rc == 0) {
        for (size_t k = 0; k < nc; k++)
            types[k] = exec_expr_type(ex[k]);
        rc = exec_values_new(types, (uint32_t)nc, ex, (uint32_t)nr, c->budget, out, c->err);
    } else if (ex) {
        for (size_t k = 0; k < built; k++)
            exec_expr_free(ex[k]);
    }
    tarn_free(ex);
    tarn_free(types);
    return rc;
}

/* {"op":"parallel","workers":N,"input":PLAN}: the input is built N times
 * (its sources resolved N times: the resolver hands each a share of the
 * morsels) and run on N threads. */
static int plan_parallel(json_t *j, plan_ctx *c, int depth, exec_op **out)
{
    json_t *wj = json_object_get(j, "workers");
    json_int_t n = json_integer_value(wj);
    if (!json_is_integer(wj) || n < 1 || n > EXEC_WORKERS_MAX)
        return bad(c, NULL, "parallel", "\"workers\" must be 1..64");
    exec_op *pipes[EXEC_WORKERS_MAX];
    for (json_int_t i = 0; i < n; i++) {
        int rc = plan_build(json_object_get(j, "input"), c, depth + 1, &pipes[i]);
        if (rc != 0) {
            for (json_int_t k = 0; k < i; k++)
                exec_op_close(pipes[k]);
            return rc;
        }
    }
    return exec_parallel_new(pipes, (uint32_t)n, out, c->err);
}

static int plan_build(json_t *j, plan_ctx *c, int depth, exec_op **out)
{
    *out = NULL;
    if (depth > EXEC_PLAN_DEPTH_MAX)
        return tarn_err_set(c->err, TARN_EINVAL, "plan deeper than %d", EXEC_PLAN_DEPTH_MAX);
    const char *op = json_string_value(json_object_get(j, "op"));
    if (op == NULL)
        return tarn_err_set(c->err, TARN_EINVAL, "plan: operator without \"op\"");
    if (strcmp(op, "source") == 0) {
        const char *name = json_string_value(json_object_get(j, "name"));
        if (name == NULL)
            return tarn_err_set(c->err, TARN_EINVAL, "plan: source without \"name\"");
        return c->resolve(c->ctx, name, c->budget, out, c->err);
    }
    if (strcmp(op, "join") == 0)
        return plan_join(j, c, depth, out);
    if (strcmp(op, "parallel") == 0)
        return plan_parallel(j, c, depth, out);
    if (strcmp(op, "union_all") == 0)
        return plan_union(j, c, depth, out);
    if (strcmp(op, "values") == 0)
        return plan_values(j, c, out);
    exec_op *in;
    int rc = plan_build(json_object_get(j, "input"), c, depth + 1, &in);
    if (rc != 0)
        return rc;
    if (strcmp(op, "filter") == 0) {
        exec_expr *pred;
        rc = exec_expr_from_jsonv(json_object_get(j, "pred"), exec_op_types(in), exec_op_ncols(in),
                                  c->budget, &pred, c->err);
        if (rc != 0) {
            exec_op_close(in);
            return rc;
        }
        return exec_filter_new(in, pred, out, c->err);
    }
    if (strcmp(op, "project") == 0)
        return plan_project(j, in, c, out);
    if (strcmp(op, "aggregate") == 0)
        return plan_aggregate(j, in, c, out);
    if (strcmp(op, "sort") == 0)
        return plan_sort(j, in, c, out);
    if (strcmp(op, "limit") == 0)
        return plan_limit(j, in, c, out);
    return bad(c, in, op, "unknown operator");
}

int exec_plan_from_json(const char *json, exec_resolve_fn resolve, void *ctx, exec_budget *budget,
                        exec_op **out, tarn_err *err)
{
    json_error_t jerr;
    *out = NULL;
    tarn_alloc_hook_jansson();
    json_t *j = json_loads(json, 0, &jerr);
    if (j == NULL)
        return tarn_err_set(err, TARN_EINVAL, "plan JSON: %s at %d", jerr.text, jerr.position);
    plan_ctx c = {resolve, ctx, budget, err};
    int rc = plan_build(j, &c, 0, out);
    json_decref(j);
    return rc;
}
