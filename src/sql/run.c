/*
 * sql/run.c: a bound plan (JSON) to a tree of exec operators. exec's own
 * operators are built one at a time from their JSON (exec_plan_from_json
 * with the input resolved to the operator built below it), so the plan
 * that EXPLAIN prints is the plan that runs. Our operators become
 * sources: scan (tab_scan.c), values (the one row of a SELECT without
 * FROM), union_all (the inputs one after the other) and exchange (stage
 * 1's output; in memory and streaming in the embedded shape).
 *
 * With `analyze`, every operator's output passes through a counting
 * source that adds rows and time (inclusive of its inputs) back into the
 * plan JSON ("rows", "ms").
 */
#include "sql/plan_int.h"

#include "base/alloc.h"
#include "base/clock.h"

#include <string.h>

#define RUN_STATES_MAX 4096

typedef enum state_kind { ST_SCAN, ST_WRAP, ST_UNION, ST_VALUES, ST_TEXT, ST_MORSELS } state_kind;

typedef struct run_state {
    state_kind kind;
    void *p;
} run_state;

/* A counting pass-through, and a union's inputs, own their inner ops. */
typedef struct wrap_state {
    exec_op *inner;
    bool opened;
    json_t *pn; /* borrowed plan node to write stats into */
    uint64_t rows;
    int64_t ns;
} wrap_state;

typedef struct union_state {
    exec_op **inputs;
    uint32_t n, cur;
    bool opened;
} union_state;

typedef struct values_state {
    vec_batch b;
    bool done;
} values_state;

struct sql_run {
    exec_op *root;
    sql_binder *b;
    exec_budget *bud;
    bool analyze;
    sql_morsels *morsels; /* while building a parallel node's pipelines */
    run_state states[RUN_STATES_MAX];
    uint32_t nstates;
};

static int add_state(sql_run *r, state_kind k, void *p, tarn_err *err)
{
    if (r->nstates >= RUN_STATES_MAX)
        return tarn_err_set(err, TARN_ETOOBIG, "plan with more than %d operators", RUN_STATES_MAX);
    r->states[r->nstates++] = (run_state){k, p};
    return 0;
}

static void free_state(run_state *s)
{
    switch (s->kind) {
    case ST_SCAN:
        sql_tab_scan_free(s->p);
        break;
    case ST_WRAP:
        exec_op_close(((wrap_state *)s->p)->inner);
        tarn_free(s->p);
        break;
    case ST_UNION: {
        union_state *u = s->p;
        for (uint32_t i = 0; i < u->n; i++)
            exec_op_close(u->inputs[i]);
        tarn_free(u->inputs);
        tarn_free(u);
        break;
    }
    case ST_VALUES:
        vec_batch_free(&((values_state *)s->p)->b);
        tarn_free(s->p);
        break;
    case ST_TEXT:
        tarn_free(s->p);
        break;
    case ST_MORSELS:
        sql_morsels_close(s->p);
        break;
    }
}

/* ---- sources of our own ---- */

static int wrap_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    wrap_state *w = ctx;
    int64_t t0 = tarn_mono_ns();
    int rc = 0;
    if (!w->opened) {
        w->opened = true;
        rc = exec_op_open(w->inner, err);
    }
    if (rc == 0)
        rc = exec_op_next(w->inner, out, err);
    w->ns += tarn_mono_ns() - t0;
    if (rc == 0 && *out != NULL)
        w->rows += vec_batch_live_count(*out);
    return rc;
}

static int wrap(sql_run *r, exec_op *inner, json_t *pn, exec_op **out, tarn_err *err)
{
    wrap_state *w = tarn_calloc(1, sizeof(*w));
    if (w == NULL) {
        exec_op_close(inner);
        return tarn_err_set(err, TARN_ENOMEM, "plan");
    }
    w->inner = inner;
    w->pn = pn;
    int rc = add_state(r, ST_WRAP, w, err);
    if (rc != 0) {
        exec_op_close(inner);
        tarn_free(w);
        return rc;
    }
    return exec_source_new(exec_op_types(inner), exec_op_ncols(inner), wrap_next, w, r->bud, out,
                           err);
}

static int union_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    union_state *u = ctx;
    while (u->cur < u->n) {
        int rc = 0;
        if (!u->opened) {
            u->opened = true;
            rc = exec_op_open(u->inputs[u->cur], err);
        }
        if (rc == 0)
            rc = exec_op_next(u->inputs[u->cur], out, err);
        if (rc != 0 || *out != NULL)
            return rc;
        u->cur++;
        u->opened = false;
    }
    *out = NULL;
    return 0;
}

static int values_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    (void)err;
    values_state *v = ctx;
    *out = v->done ? NULL : &v->b;
    v->done = true;
    return 0;
}

static int build(sql_run *r, json_t *pn, int depth, exec_op **out, tarn_err *err);

/* COPY's rows as text: the binder's batches, one after another (borrowed). */
typedef struct text_state {
    sql_binder *b;
    size_t next;
} text_state;

static int text_next(void *ctx, const vec_batch **out, tarn_err *err)
{
    (void)err;
    text_state *t = ctx;
    *out = t->next < t->b->nmem ? &t->b->mem[t->next++] : NULL;
    return 0;
}

static int build_text(sql_run *r, exec_op **out, tarn_err *err)
{
    text_state *t = tarn_calloc(1, sizeof(*t));
    uint32_t n = r->b->mem_ncols;
    vec_type_info *types = tarn_calloc(n + 1, sizeof(*types));
    int rc = t && types ? add_state(r, ST_TEXT, t, err) : tarn_err_set(err, TARN_ENOMEM, "copy");
    if (rc != 0) {
        tarn_free(t);
        tarn_free(types);
        return rc;
    }
    t->b = r->b;
    for (uint32_t i = 0; i < n; i++)
        types[i].id = VEC_STRING;
    rc = exec_source_new(types, n, text_next, t, r->bud, out, err);
    tarn_free(types);
    return rc;
}

static int build_values(sql_run *r, json_t *pn, exec_op **out, tarn_err *err)
{
    (void)pn;
    values_state *v = tarn_calloc(1, sizeof(*v));
    vec_type_info t = {.id = VEC_BOOL};
    if (v == NULL || vec_batch_init(&v->b, &t, 1, 1) != 0) {
        tarn_free(v);
        return tarn_err_set(err, TARN_ENOMEM, "values");
    }
    v->b.len = 1;
    v->b.cols[0].len = 1;
    ((uint8_t *)v->b.cols[0].data)[0] = 1;
    int rc = add_state(r, ST_VALUES, v, err);
    if (rc != 0) {
        vec_batch_free(&v->b);
        tarn_free(v);
        return rc;
    }
    return exec_source_new(&t, 1, values_next, v, r->bud, out, err);
}

static int build_union(sql_run *r, json_t *pn, int depth, exec_op **out, tarn_err *err)
{
    json_t *inputs = json_object_get(pn, "inputs");
    size_t n = json_array_size(inputs);
    union_state *u = tarn_calloc(1, sizeof(*u));
    if (u == NULL || (u->inputs = tarn_calloc(n ? n : 1, sizeof(exec_op *))) == NULL) {
        tarn_free(u);
        return tarn_err_set(err, TARN_ENOMEM, "union all");
    }
    int rc = add_state(r, ST_UNION, u, err);
    if (rc != 0) {
        tarn_free(u->inputs);
        tarn_free(u);
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = build(r, json_array_get(inputs, i), depth + 1, &u->inputs[i], err);
        if (rc == 0)
            u->n++;
    }
    if (rc != 0 || n == 0)
        return rc != 0 ? rc : tarn_err_set(err, TARN_EINVAL, "union all without inputs");
    return exec_source_new(exec_op_types(u->inputs[0]), exec_op_ncols(u->inputs[0]), union_next, u,
                           r->bud, out, err);
}

/* ---- exec's operators ---- */

typedef struct resolve_ctx {
    exec_op *input, *right; /* $input (or a join's $left), a join's $right */
} resolve_ctx;

static int resolve_input(void *ctx, const char *name, exec_budget *budget, exec_op **out,
                         tarn_err *err)
{
    (void)budget;
    resolve_ctx *rc = ctx;
    exec_op **slot = strcmp(name, "$right") == 0 ? &rc->right : &rc->input;
    if ((strcmp(name, "$input") != 0 && strcmp(name, "$left") != 0 && slot != &rc->right) ||
        *slot == NULL)
        return tarn_err_set(err, TARN_EINVAL, "plan: unknown source \"%s\"", name);
    *out = *slot;
    *slot = NULL;
    return 0;
}

/* One exec operator from its JSON, its inputs already built (`right`
 * for a join). */
static int build_exec_op(sql_run *r, json_t *pn, exec_op *input, exec_op *right, exec_op **out,
                         tarn_err *err)
{
    json_t *one = json_copy(pn); /* shallow: the inputs replaced, the rest shared */
    if (one != NULL && right != NULL) {
        json_object_set_new(one, "left", json_pack("{s:s,s:s}", "op", "source", "name", "$left"));
        json_object_set_new(one, "right", json_pack("{s:s,s:s}", "op", "source", "name", "$right"));
    } else if (one != NULL) {
        json_object_set_new(one, "input", json_pack("{s:s,s:s}", "op", "source", "name", "$input"));
    }
    char *text = NULL;
    if (one != NULL) {
        json_object_del(one, "rows");
        json_object_del(one, "ms");
        text = json_dumps(one, JSON_COMPACT | JSON_REAL_PRECISION(17));
    }
    json_decref(one);
    resolve_ctx rc = {input, right};
    int code = text ? exec_plan_from_json(text, resolve_input, &rc, r->bud, out, err)
                    : tarn_err_set(err, TARN_ENOMEM, "plan");
    tarn_free(text);
    exec_op_close(rc.input); /* not taken when the plan failed before its sources */
    exec_op_close(rc.right);
    return code;
}

/* ---- parallel ---- */

typedef struct par_ctx {
    sql_run *r;
    json_t *input;
    int depth;
    sql_morsels *m;
} par_ctx;

/* One worker's pipeline: the input built again, its scan on the shared
 * morsels (called on the building thread, one worker after another). */
static int par_pipeline(void *ctx, uint32_t worker, exec_budget *budget, exec_op **out,
                        tarn_err *err)
{
    (void)worker;
    (void)budget; /* the run's, the same */
    par_ctx *p = ctx;
    p->r->morsels = p->m;
    int rc = build(p->r, p->input, p->depth + 1, out, err);
    p->r->morsels = NULL;
    return rc;
}

static int build_parallel(sql_run *r, json_t *pn, int depth, exec_op **out, tarn_err *err)
{
    json_t *input = json_object_get(pn, "input");
    json_int_t workers = json_integer_value(json_object_get(pn, "workers"));
    if (workers < 1 || workers > EXEC_WORKERS_MAX || r->morsels != NULL)
        return tarn_err_set(err, TARN_EINVAL, "plan: bad parallel node");
    json_t *leaf = input;
    while (leaf != NULL && json_object_get(leaf, "input") != NULL)
        leaf = json_object_get(leaf, "input");
    const char *op = json_string_value(json_object_get(leaf, "op"));
    sql_tab *t =
        op && strcmp(op, "scan") == 0
            ? sql_binder_tab(r->b, (uint32_t)json_integer_value(json_object_get(leaf, "id")))
            : NULL;
    if (t == NULL)
        return tarn_err_set(err, TARN_EINVAL, "plan: parallel node without a scan");
    sql_morsels *m;
    int rc = sql_morsels_open(t, (uint32_t)workers, &m, err);
    if (rc != 0)
        return rc;
    if ((rc = add_state(r, ST_MORSELS, m, err)) != 0) {
        sql_morsels_close(m);
        return rc;
    }
    par_ctx ctx = {r, input, depth, m};
    return exec_parallel_build(par_pipeline, &ctx, (uint32_t)workers, r->bud, out, err);
}

static int build(sql_run *r, json_t *pn, int depth, exec_op **out, tarn_err *err)
{
    *out = NULL;
    if (depth > 200)
        return tarn_err_set(err, TARN_ETOOBIG, "plan deeper than 200 operators");
    const char *op = json_string_value(json_object_get(pn, "op"));
    int rc;
    exec_op *made = NULL;
    if (op == NULL) {
        return tarn_err_set(err, TARN_EINVAL, "plan pn without op");
    } else if (strcmp(op, "scan") == 0) {
        sql_tab *t = sql_binder_tab(r->b, (uint32_t)json_integer_value(json_object_get(pn, "id")));
        void *st = NULL;
        rc = t ? sql_tab_scan_open(t, r->morsels, r->bud, &made, &st, err)
               : tarn_err_set(err, TARN_EINVAL, "plan: scan of an unknown table");
        if (rc == 0 && (rc = add_state(r, ST_SCAN, st, err)) != 0)
            sql_tab_scan_free(st);
    } else if (strcmp(op, "values") == 0) {
        rc = build_values(r, pn, &made, err);
    } else if (strcmp(op, "text_rows") == 0) {
        rc = build_text(r, &made, err);
    } else if (strcmp(op, "union_all") == 0) {
        rc = build_union(r, pn, depth, &made, err);
    } else if (strcmp(op, "parallel") == 0) {
        rc = build_parallel(r, pn, depth, &made, err);
    } else if (strcmp(op, "exchange") == 0) {
        /* Embedded: stage 1's output streams straight into stage 2. */
        rc = build(r, json_object_get(pn, "input"), depth + 1, &made, err);
    } else if (strcmp(op, "join") == 0) {
        exec_op *l = NULL, *rt = NULL;
        rc = build(r, json_object_get(pn, "left"), depth + 1, &l, err);
        if (rc == 0 && (rc = build(r, json_object_get(pn, "right"), depth + 1, &rt, err)) != 0)
            exec_op_close(l);
        if (rc == 0)
            rc = build_exec_op(r, pn, l, rt, &made, err);
    } else {
        exec_op *input;
        rc = build(r, json_object_get(pn, "input"), depth + 1, &input, err);
        if (rc == 0)
            rc = build_exec_op(r, pn, input, NULL, &made, err);
    }
    if (rc != 0) {
        exec_op_close(made);
        return rc;
    }
    if (r->analyze)
        return wrap(r, made, pn, out, err);
    *out = made;
    return 0;
}

int sql_run_open(sql_binder *b, json_t *plan, bool analyze, exec_budget *bud, sql_run **out,
                 tarn_err *err)
{
    sql_run *r = tarn_calloc(1, sizeof(*r));
    if (r == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "plan");
    r->b = b;
    r->bud = bud;
    r->analyze = analyze;
    int rc = build(r, plan, 0, &r->root, err);
    if (rc == 0)
        rc = exec_op_open(r->root, err);
    if (rc != 0) {
        sql_run_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

exec_op *sql_run_root(sql_run *r)
{
    return r->root;
}

/* The workers of a parallel node each count their own copy of the nodes
 * under it: rows add up, the time is the slowest worker's. */
void sql_run_stats(sql_run *r)
{
    for (uint32_t i = 0; i < r->nstates; i++) {
        if (r->states[i].kind != ST_WRAP)
            continue;
        wrap_state *w = r->states[i].p;
        json_object_del(w->pn, "rows");
        json_object_del(w->pn, "ms");
    }
    for (uint32_t i = 0; i < r->nstates; i++) {
        if (r->states[i].kind != ST_WRAP)
            continue;
        wrap_state *w = r->states[i].p;
        json_int_t rows = json_integer_value(json_object_get(w->pn, "rows"));
        double ms = json_real_value(json_object_get(w->pn, "ms")), mine = (double)w->ns / 1e6;
        json_object_set_new(w->pn, "rows", json_integer(rows + (json_int_t)w->rows));
        json_object_set_new(w->pn, "ms", json_real(mine > ms ? mine : ms));
    }
}

void sql_run_close(sql_run *r)
{
    if (r == NULL)
        return;
    exec_op_close(r->root);
    /* Wrappers and unions own inner trees built before them; free in
     * reverse so an inner tree closes before the state it reads. */
    for (uint32_t i = r->nstates; i-- > 0;)
        if (r->states[i].kind != ST_SCAN && r->states[i].kind != ST_MORSELS)
            free_state(&r->states[i]);
    for (uint32_t i = 0; i < r->nstates; i++)
        if (r->states[i].kind == ST_SCAN)
            free_state(&r->states[i]);
    for (uint32_t i = 0; i < r->nstates; i++) /* the scans read them */
        if (r->states[i].kind == ST_MORSELS)
            free_state(&r->states[i]);
    tarn_free(r);
}
