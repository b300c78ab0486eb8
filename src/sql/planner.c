/*
 * sql/planner.c: the stage plan (README "Plans"). A bound plan is one
 * tree; the stage plan cuts it at its topmost aggregate:
 *
 *   stage 1: scan -> filter -> project -> aggregate(partial)
 *            -> exchange, hash-partitioned by the group keys
 *   stage 2: exchange -> aggregate(final) -> filter (HAVING) -> project
 *            -> sort / top-N -> limit
 *
 * A plan without an aggregate is one stage, and so is one with DISTINCT
 * aggregates whose stage 1 would run serially. Both are JSON; embedded, the
 * runner streams the exchange in memory (run.c); the distributed runner
 * will ship stage 1 to workers and the exchange through the object store.
 * EXPLAIN prints the stage plan as an indented tree.
 *
 * Morsel parallelism (README "Parallel plans"): with more than one thread
 * and more than one morsel (row group or file) in the scan, the part of
 * the plan that is a straight chain scan -> filter/project [-> partial
 * aggregate] runs under exec's "parallel" operator, once per worker, each
 * worker's scan taking morsels from one shared counter. What is above it
 * (final aggregate, sort, limit) runs once. A LIMIT right above the chain
 * is also put inside it, so that every worker stops after that many rows.
 */
#include "sql/plan_int.h"

#include "base/alloc.h"

#include <string.h>

static const char *op_of(const json_t *n)
{
    const char *s = json_string_value(json_object_get(n, "op"));
    return s ? s : "?";
}

/* The topmost aggregate (not inside a union's branch), and its parent. */
static json_t *find_agg(json_t *n, json_t **parent)
{
    *parent = NULL;
    for (json_t *prev = NULL; n != NULL; prev = n, n = json_object_get(n, "input")) {
        if (strcmp(op_of(n), "aggregate") == 0) {
            *parent = prev;
            return n;
        }
    }
    return NULL;
}

/* Whether n is a chain of filters and projects (and, with `partial`, a
 * partial aggregate on top) over a scan with more than one morsel. */
static bool chain_parallel(const json_t *n, sql_binder *b, uint32_t workers, bool partial)
{
    for (; n != NULL; n = json_object_get(n, "input")) {
        const char *op = op_of(n);
        if (strcmp(op, "scan") == 0) {
            sql_tab *t = sql_binder_tab(b, (uint32_t)json_integer_value(json_object_get(n, "id")));
            uint32_t count = 0;
            tarn_err err = TARN_ERR_INIT;
            /* An error here (an unreadable footer) plans a serial scan,
             * which reports it when it runs. */
            return t != NULL && sql_tab_morsel_count(t, workers, &count, &err) == 0 && count > 1;
        }
        const char *phase = json_string_value(json_object_get(n, "phase"));
        bool ok = strcmp(op, "filter") == 0 || strcmp(op, "project") == 0 ||
                  (partial && strcmp(op, "aggregate") == 0 && phase != NULL &&
                   strcmp(phase, "partial") == 0);
        if (!ok)
            return false;
        partial = false; /* the aggregate only on top */
    }
    return false;
}

static json_t *parallel_of(json_t *input, uint32_t workers)
{
    return json_pack("{s:s,s:i,s:o}", "op", "parallel", "workers", (int)workers, "input", input);
}

/* A one-stage plan: the topmost node whose input chain down to the scan is
 * filters and projects runs in parallel. Its parent's LIMIT (no sort
 * between) is copied into each worker. Returns the new root. */
static json_t *parallel_single(json_t *plan, sql_binder *b, uint32_t workers)
{
    json_t *parent = NULL;
    for (json_t *n = plan; n != NULL; parent = n, n = json_object_get(n, "input")) {
        const char *op = op_of(n);
        bool chain_op =
            strcmp(op, "filter") == 0 || strcmp(op, "project") == 0 || strcmp(op, "scan") == 0;
        if (!chain_op)
            continue;
        if (!chain_parallel(n, b, workers, false))
            return plan;
        json_t *inner = json_incref(n);
        if (parent != NULL && strcmp(op_of(parent), "limit") == 0) {
            json_int_t lim = json_integer_value(json_object_get(parent, "limit")) +
                             json_integer_value(json_object_get(parent, "offset"));
            inner = json_pack("{s:s,s:I,s:o}", "op", "limit", "limit", lim, "input", inner);
        }
        json_t *par = inner ? parallel_of(inner, workers) : NULL;
        if (par == NULL)
            return plan; /* out of memory: the serial plan still runs */
        if (parent == NULL) {
            json_decref(plan);
            return par;
        }
        json_object_set_new(parent, "input", par);
        return plan;
    }
    return plan;
}

/* ---- common subexpressions of a projection ---- */

#define CSE_MAX 8

/* The largest operator subexpression of `e` (by its JSON text length) that
 * occurs at least twice in `exprs`, or NULL. */
static json_t *cse_pick(json_t *e, const json_t *exprs, json_t *best, size_t *best_len);

static size_t cse_count(const json_t *needle, const json_t *e)
{
    if (!json_is_object(e) && !json_is_array(e))
        return 0;
    if (json_is_object(e) && json_equal(needle, e))
        return 1;
    size_t n = 0;
    const json_t *args = json_is_array(e) ? e : json_object_get(e, "args");
    for (size_t i = 0; i < json_array_size(args); i++)
        n += cse_count(needle, json_array_get(args, i));
    return n;
}

static json_t *cse_pick(json_t *e, const json_t *exprs, json_t *best, size_t *best_len)
{
    if (!json_is_object(e) || json_object_get(e, "op") == NULL)
        return best;
    char *text = json_dumps(e, JSON_COMPACT);
    size_t len = text ? strlen(text) : 0;
    tarn_free(text);
    if (len > *best_len && cse_count(e, exprs) >= 2) {
        *best_len = len;
        return e; /* its parts are smaller */
    }
    json_t *args = json_object_get(e, "args");
    for (size_t i = 0; i < json_array_size(args); i++)
        best = cse_pick(json_array_get(args, i), exprs, best, best_len);
    return best;
}

/* Replaces every occurrence of `needle` in e's args with {"col": col}. */
static void cse_replace(json_t *e, const json_t *needle, json_int_t col)
{
    json_t *args = json_object_get(e, "args");
    for (size_t i = 0; i < json_array_size(args); i++) {
        json_t *a = json_array_get(args, i);
        if (json_equal(a, needle))
            json_array_set_new(args, i, json_pack("{s:I}", "col", col));
        else
            cse_replace(a, needle, col);
    }
}

/*
 * A projection whose expressions repeat an operator subexpression (Q1's
 * l_extendedprice * (1 - l_discount) twice) becomes two: the lower one
 * passes the input columns through and appends each repeated part once,
 * the upper one reads them as columns. Projections are streaming views,
 * so the extra one costs nothing per row; every repeat saved is a kernel
 * pass over each batch. `ncols` is the input's column count.
 */
static void cse_project(json_t *proj, uint32_t ncols)
{
    json_t *exprs = json_object_get(proj, "exprs");
    json_t *lower = NULL;
    for (int k = 0; k < CSE_MAX; k++) {
        json_t *best = NULL;
        size_t best_len = 0;
        for (size_t i = 0; i < json_array_size(exprs); i++)
            best = cse_pick(json_array_get(exprs, i), exprs, best, &best_len);
        if (best == NULL)
            break;
        if (lower == NULL) {
            lower = json_array();
            for (uint32_t c = 0; lower && c < ncols; c++)
                json_array_append_new(lower, json_pack("{s:i}", "col", (int)c));
            if (lower == NULL)
                return;
        }
        json_t *part = json_deep_copy(best);
        json_int_t col = (json_int_t)json_array_size(lower);
        if (part == NULL || json_array_append_new(lower, json_deep_copy(part)) != 0) {
            json_decref(part);
            break;
        }
        for (size_t i = 0; i < json_array_size(exprs); i++) {
            json_t *e = json_array_get(exprs, i);
            if (json_equal(e, part))
                json_array_set_new(exprs, i, json_pack("{s:I}", "col", col));
            else
                cse_replace(e, part, col);
        }
        json_decref(part);
    }
    if (lower == NULL)
        return;
    json_t *low = json_pack("{s:s,s:o,s:O}", "op", "project", "exprs", lower, "input",
                            json_object_get(proj, "input"));
    if (low != NULL)
        json_object_set_new(proj, "input", low);
}

/* Applies cse_project to the projections of a chain over a scan (whose
 * column count, the table's, is known here). */
static void cse_chain(json_t *n, sql_binder *b)
{
    json_t *projs[64];
    size_t np = 0;
    for (; n != NULL; n = json_object_get(n, "input")) {
        const char *op = op_of(n);
        if (strcmp(op, "project") == 0 && np < 64) {
            projs[np++] = n;
        } else if (strcmp(op, "scan") == 0) {
            sql_tab *t = sql_binder_tab(b, (uint32_t)json_integer_value(json_object_get(n, "id")));
            /* only the lowest projection: its input's width is the table's */
            for (size_t i = np; t != NULL && i-- > 0;) {
                const json_t *in = json_object_get(projs[i], "input");
                bool direct = true;
                for (; in != n; in = json_object_get(in, "input"))
                    direct &= strcmp(op_of(in), "filter") == 0;
                if (direct)
                    cse_project(projs[i], t->ncols);
                break;
            }
            return;
        } else if (strcmp(op, "filter") != 0 && strcmp(op, "aggregate") != 0 &&
                   strcmp(op, "sort") != 0 && strcmp(op, "limit") != 0) {
            return;
        }
    }
}

json_t *sql_plan_stages(json_t *plan, sql_binder *b)
{
    cse_chain(plan, b);
    uint32_t workers = b->s ? sql_session_threads(b->s) : 1;
    json_t *parent, *agg = find_agg(plan, &parent);
    /* DISTINCT aggregates split too: a partial outputs its distinct
     * (group, value) pairs as rows, the final counts each pair once. That
     * pays only with parallel partials: serially, one phase keeps one set
     * of pairs instead of two. */
    bool distinct = false;
    json_t *aggs = json_object_get(agg, "aggs");
    for (size_t i = 0; i < json_array_size(aggs); i++)
        distinct |= json_is_true(json_object_get(json_array_get(aggs, i), "distinct"));
    bool parallel = agg != NULL && workers > 1 &&
                    chain_parallel(json_object_get(agg, "input"), b, workers, false);
    if (agg == NULL || (distinct && !parallel)) {
        if (workers > 1)
            plan = parallel_single(plan, b, workers);
        return json_pack("{s:[{s:i,s:o}]}", "stages", "id", 1, "plan", plan);
    }
    size_t nkeys = json_array_size(json_object_get(agg, "keys"));
    json_t *keys = json_array();
    for (size_t i = 0; i < nkeys; i++)
        json_array_append_new(keys, json_integer((json_int_t)i));
    json_object_set_new(agg, "phase", json_string("partial"));
    json_t *stage1 = json_incref(agg);
    if (parallel) {
        json_t *par = parallel_of(stage1, workers);
        stage1 = par ? par : json_incref(agg); /* out of memory: serial */
    }
    json_t *exchange = json_pack("{s:s,s:i,s:O,s:i,s:O}", "op", "exchange", "stage", 1,
                                 "partition_by", keys, "partitions", 1, "input", stage1);
    json_t *final = json_pack("{s:s,s:O,s:O,s:s,s:o}", "op", "aggregate", "keys", keys, "aggs",
                              json_object_get(agg, "aggs"), "phase", "final", "input", exchange);
    json_decref(keys);
    json_t *top = plan;
    if (parent != NULL) {
        json_object_set_new(parent, "input", final);
    } else {
        top = final;
        json_decref(plan); /* the aggregate was the root: stage 1 holds it now */
    }
    json_t *out = json_pack("{s:[{s:i,s:O},{s:i,s:o}]}", "stages", "id", 1, "plan", stage1, "id", 2,
                            "plan", top);
    json_decref(stage1);
    return out;
}

json_t *sql_plan_root(json_t *stages)
{
    json_t *arr = json_object_get(stages, "stages");
    return json_object_get(json_array_get(arr, json_array_size(arr) - 1), "plan");
}

/* ---- EXPLAIN text ---- */

static int put_json(tarn_buf *buf, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    int rc = s ? tarn_buf_append_str(buf, s) : TARN_ENOMEM;
    tarn_free(s);
    return rc;
}

static int scan_line(const json_t *n, sql_binder *b, tarn_buf *buf)
{
    sql_tab *t = sql_binder_tab(b, (uint32_t)json_integer_value(json_object_get(n, "id")));
    if (t == NULL)
        return tarn_buf_append_str(buf, "scan ?");
    int rc = tarn_buf_printf(buf, "scan %s", t->name);
    if (rc == 0 && t->snap)
        rc = tarn_buf_printf(buf, " version %lld", (long long)t->snap->version);
    if (rc == 0)
        rc = tarn_buf_append_str(buf, " columns [");
    bool first = true;
    for (uint32_t i = 0; rc == 0 && i < t->ncols; i++) {
        if (!t->used[i])
            continue;
        rc = tarn_buf_printf(buf, "%s%s", first ? "" : ", ", t->names[i]);
        first = false;
    }
    if (rc == 0)
        rc = tarn_buf_append_str(buf, "]");
    static const char *const ops[] = {"=", "<", "<=", ">", ">=", "is null", "is not null"};
    for (uint32_t i = 0; rc == 0 && i < t->nprune; i++)
        rc = tarn_buf_printf(buf, "%s%s %s ?", i == 0 ? " prune [" : ", ",
                             t->names[t->prune[i].col], ops[t->prune[i].op]);
    if (rc == 0 && t->nprune > 0)
        rc = tarn_buf_append_str(buf, "]");
    if (rc == 0 && t->snap)
        rc = tarn_buf_printf(buf, " files %zu", t->snap->nfiles);
    if (rc == 0 && t->files_total > 0)
        rc = tarn_buf_printf(buf, " (read %zu after pruning)", t->files_kept);
    if (rc == 0 && t->row_groups_skipped > 0)
        rc = tarn_buf_printf(buf, " row groups skipped %u", t->row_groups_skipped);
    return rc;
}

static int node_line(const json_t *n, sql_binder *b, tarn_buf *buf)
{
    const char *op = op_of(n);
    if (strcmp(op, "scan") == 0)
        return scan_line(n, b, buf);
    int rc = tarn_buf_append_str(buf, op);
    const char *fields[] = {"type",   "left_keys", "right_keys",   "residual",   "phase",
                            "keys",   "aggs",      "pred",         "exprs",      "limit",
                            "offset", "stage",     "partition_by", "partitions", "workers"};
    for (size_t i = 0; rc == 0 && i < sizeof(fields) / sizeof(fields[0]); i++) {
        const json_t *v = json_object_get(n, fields[i]);
        if (v == NULL)
            continue;
        rc = tarn_buf_printf(buf, " %s=", fields[i]);
        if (rc == 0)
            rc = json_is_string(v) ? tarn_buf_append_str(buf, json_string_value(v))
                                   : put_json(buf, v);
    }
    return rc;
}

static int explain_node(const json_t *n, sql_binder *b, bool analyze, int depth, tarn_buf *buf)
{
    if (n == NULL || depth > 200)
        return 0;
    int rc = tarn_buf_printf(buf, "%*s", 2 + depth * 2, "");
    if (rc == 0)
        rc = node_line(n, b, buf);
    if (rc == 0 && analyze && json_object_get(n, "rows"))
        rc = tarn_buf_printf(buf, "  (rows %lld, %.3f ms)",
                             (long long)json_integer_value(json_object_get(n, "rows")),
                             json_real_value(json_object_get(n, "ms")));
    if (rc == 0)
        rc = tarn_buf_append_byte(buf, '\n');
    if (strcmp(op_of(n), "exchange") == 0)
        return rc; /* its input is the stage printed below */
    const json_t *inputs = json_object_get(n, "inputs");
    for (size_t i = 0; rc == 0 && i < json_array_size(inputs); i++)
        rc = explain_node(json_array_get(inputs, i), b, analyze, depth + 1, buf);
    if (rc == 0)
        rc = explain_node(json_object_get(n, "left"), b, analyze, depth + 1, buf);
    if (rc == 0)
        rc = explain_node(json_object_get(n, "right"), b, analyze, depth + 1, buf);
    if (rc == 0)
        rc = explain_node(json_object_get(n, "input"), b, analyze, depth + 1, buf);
    return rc;
}

int sql_plan_explain(const json_t *stages, sql_binder *b, bool analyze, tarn_buf *buf)
{
    const json_t *arr = json_object_get(stages, "stages");
    int rc = 0;
    for (size_t i = json_array_size(arr); rc == 0 && i-- > 0;) {
        const json_t *st = json_array_get(arr, i);
        rc = tarn_buf_printf(buf, "stage %lld%s\n",
                             (long long)json_integer_value(json_object_get(st, "id")),
                             i + 1 == json_array_size(arr) ? " (result)" : "");
        if (rc == 0)
            rc = explain_node(json_object_get(st, "plan"), b, analyze, 0, buf);
    }
    return rc;
}
