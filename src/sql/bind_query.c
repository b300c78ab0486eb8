/*
 * sql/bind_query.c: queries to bound plans: FROM (tables, table
 * functions, subqueries, CTEs), WHERE, GROUP BY / HAVING with aggregate
 * validation, the select list with * expansion, DISTINCT, ORDER BY by
 * name, alias, position or expression, LIMIT/OFFSET, UNION ALL. Plan
 * shapes: src/sql/README.md, "Binder" and "Plans".
 */
#include "sql/bind_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

#define BIND_DEPTH_MAX 64

static const vec_type_info T_BOOL = {.id = VEC_BOOL};

/* ---- relations ---- */

void sql_rel_free(sql_rel *r)
{
    if (r == NULL)
        return;
    json_decref(r->plan);
    for (uint32_t i = 0; i < r->n; i++) {
        tarn_free(r->cols[i].name);
        tarn_free(r->cols[i].qual);
    }
    tarn_free(r->cols);
    memset(r, 0, sizeof(*r));
}

static char *dup_or_null(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = tarn_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Appends a column (strings copied). */
static int rel_add(sql_binder *b, sql_rel *r, const char *name, const char *qual, vec_type_info t)
{
    if (r->n >= SQL_COLS_MAX)
        return sql_bind_fail(b, TARN_ETOOBIG, b->e->pos, "more than %d columns", SQL_COLS_MAX);
    sql_col *c = tarn_realloc(r->cols, (r->n + 1) * sizeof(*c));
    if (c == NULL)
        return sql_bind_oom(b);
    r->cols = c;
    c[r->n] = (sql_col){dup_or_null(name), dup_or_null(qual), t, -1, 0};
    if ((name && !c[r->n].name) || (qual && !c[r->n].qual)) {
        tarn_free(c[r->n].name);
        tarn_free(c[r->n].qual);
        return sql_bind_oom(b);
    }
    r->n++;
    return 0;
}

/* Wraps r's plan in `op` (which takes "input"). */
static int rel_wrap(sql_binder *b, sql_rel *r, json_t *op)
{
    if (op == NULL)
        return sql_bind_oom(b);
    json_object_set_new(op, "input", r->plan);
    r->plan = op;
    return 0;
}

/* Sets every column's qualifier to q (a derived table's alias). */
static int rel_requalify(sql_binder *b, sql_rel *r, const char *q)
{
    for (uint32_t i = 0; i < r->n; i++) {
        tarn_free(r->cols[i].qual);
        r->cols[i].qual = dup_or_null(q);
        if (q && !r->cols[i].qual)
            return sql_bind_oom(b);
    }
    return 0;
}

/* ---- FROM ---- */

static int bind_from(sql_binder *b, const sql_node *n, sql_rel *out);

static int rel_from_tab(sql_binder *b, uint32_t id, const char *qual, sql_rel *out)
{
    sql_tab *t = b->tabs[id];
    memset(out, 0, sizeof(*out));
    out->plan = json_pack("{s:s,s:i}", "op", "scan", "id", (json_int_t)id);
    if (out->plan == NULL)
        return sql_bind_oom(b);
    for (uint32_t i = 0; i < t->ncols; i++) {
        int rc = rel_add(b, out, t->names[i], qual, t->types[i]);
        if (rc != 0)
            return rc;
        out->cols[i].tab = (int32_t)id;
        out->cols[i].tcol = i;
    }
    return 0;
}

static const sql_node *find_cte(sql_binder *b, const char *name, sql_cte_scope **where,
                                uint32_t *index)
{
    for (sql_cte_scope *s = b->cte_scope; s != NULL; s = s->up)
        for (uint32_t i = s->count; i-- > 0;)
            if (strcmp(s->ctes->items[i]->u.cte.name.folded, name) == 0) {
                *where = s;
                *index = i;
                return s->ctes->items[i];
            }
    return NULL;
}

static int bind_cte_ref(sql_binder *b, const sql_node *ref, sql_cte_scope *where, uint32_t index,
                        sql_rel *out)
{
    if (ref->u.table.travel != SQL_TRAVEL_NONE)
        return sql_bind_fail(b, TARN_EINVAL, ref->u.table.as_of->pos,
                             "time travel applies to tables, not to the WITH query \"%s\"",
                             ref->u.table.name.text);
    /* The CTE sees the CTEs before it, not itself or later ones. */
    sql_cte_scope *saved = b->cte_scope, scope = {where->ctes, index, where->up};
    b->cte_scope = &scope;
    int rc = sql_bind_query(b, where->ctes->items[index]->u.cte.query, out);
    b->cte_scope = saved;
    if (rc == 0) {
        const char *q =
            ref->u.table.alias.folded ? ref->u.table.alias.folded : ref->u.table.name.folded;
        rc = rel_requalify(b, out, q);
    }
    return rc;
}

static int bind_table_ref(sql_binder *b, const sql_node *n, sql_rel *out)
{
    sql_cte_scope *where;
    uint32_t index;
    if (find_cte(b, n->u.table.name.folded, &where, &index) != NULL)
        return bind_cte_ref(b, n, where, index, out);
    uint32_t id;
    int rc = sql_tab_table(b, n, &id);
    if (rc != 0)
        return rc;
    const char *q = n->u.table.alias.folded ? n->u.table.alias.folded : n->u.table.name.folded;
    return rel_from_tab(b, id, q, out);
}

/* Moves r's columns after l's (the joined relation's scope). */
static int rel_concat(sql_binder *b, sql_rel *l, sql_rel *r)
{
    sql_col *c = tarn_realloc(l->cols, (size_t)(l->n + r->n + 1) * sizeof(*c));
    if (c == NULL)
        return sql_bind_oom(b);
    memcpy(c + l->n, r->cols, (size_t)r->n * sizeof(*c));
    l->cols = c;
    l->n += r->n;
    tarn_free(r->cols);
    r->cols = NULL;
    r->n = 0;
    return 0;
}

static int64_t col_of(const json_t *j)
{
    const json_t *c = json_object_get(j, "col");
    return json_is_integer(c) && json_object_size(j) == 1 ? json_integer_value(c) : -1;
}

/* A join key side: a column, or a cast of one (the binder casts the
 * narrower side of `a.int_col = b.bigint_col`). *side 0 left, 1 right;
 * *rel the expression over that side's own columns (new reference). */
static bool key_expr(const json_t *e, uint32_t nl, int *side, json_t **rel)
{
    const char *op = json_string_value(json_object_get(e, "op"));
    const json_t *inner = e;
    if (op && strcmp(op, "cast") == 0 && json_array_size(json_object_get(e, "args")) == 1)
        inner = json_array_get(json_object_get(e, "args"), 0);
    else if (op)
        return false;
    int64_t c = col_of(inner);
    if (c < 0)
        return false;
    *side = c < nl ? 0 : 1;
    *rel = json_deep_copy(e);
    json_t *target = op ? json_array_get(json_object_get(*rel, "args"), 0) : *rel;
    json_object_set_new(target, "col", json_integer(c < nl ? c : c - nl));
    return true;
}

/* Splits the ON condition: `left key = right key` conjuncts become hash
 * keys (expressions over each side, each a column or a cast column), the
 * rest the residual predicate over the pair. */
static void split_on(json_t *pred, uint32_t nl, json_t *lk, json_t *rk, json_t *rest)
{
    const char *op = json_string_value(json_object_get(pred, "op"));
    json_t *args = json_object_get(pred, "args");
    if (op && strcmp(op, "and") == 0) {
        for (size_t i = 0; i < json_array_size(args); i++)
            split_on(json_array_get(args, i), nl, lk, rk, rest);
        return;
    }
    int sa, sb;
    json_t *ea = NULL, *eb = NULL;
    if (op && strcmp(op, "=") == 0 && json_array_size(lk) < 32 &&
        key_expr(json_array_get(args, 0), nl, &sa, &ea) &&
        key_expr(json_array_get(args, 1), nl, &sb, &eb) && sa != sb) {
        json_array_append_new(lk, sa == 0 ? ea : eb);
        json_array_append_new(rk, sa == 0 ? eb : ea);
        return;
    }
    json_decref(ea);
    json_decref(eb);
    json_array_append(rest, pred);
}

/* Key expressions -> key column indexes of one side; computed keys are
 * appended to the side by a projection. Returns the number appended. */
static uint32_t key_columns(json_t **plan, uint32_t n, json_t *exprs, json_t *idx)
{
    json_t *extra = json_array();
    for (size_t i = 0; i < json_array_size(exprs); i++) {
        json_t *e = json_array_get(exprs, i);
        int64_t c = col_of(e);
        if (c < 0) {
            c = n + (int64_t)json_array_size(extra);
            json_array_append(extra, e);
        }
        json_array_append_new(idx, json_integer(c));
    }
    uint32_t added = (uint32_t)json_array_size(extra);
    if (added > 0) {
        json_t *all = json_array();
        for (uint32_t i = 0; i < n; i++)
            json_array_append_new(all, json_pack("{s:i}", "col", (json_int_t)i));
        json_array_extend(all, extra);
        *plan = json_pack("{s:s,s:o,s:o}", "op", "project", "exprs", all, "input", *plan);
    }
    json_decref(extra);
    return added;
}

/* Columns >= nl of the residual move right by `shift` (left extras). */
static void shift_cols(json_t *e, uint32_t nl, uint32_t shift)
{
    json_t *c = json_object_get(e, "col");
    if (json_is_integer(c) && json_integer_value(c) >= nl)
        json_object_set_new(e, "col", json_integer(json_integer_value(c) + shift));
    json_t *args = json_object_get(e, "args");
    for (size_t i = 0; i < json_array_size(args); i++)
        shift_cols(json_array_get(args, i), nl, shift);
}

static int join_plan(sql_binder *b, const sql_node *n, uint32_t nl, sql_rel *l, sql_rel *r,
                     json_t *on)
{
    uint32_t nr = l->n - nl;
    json_t *lx = json_array(), *rx = json_array(), *rest = json_array();
    json_t *lk = json_array(), *rk = json_array();
    if (on)
        split_on(on, nl, lx, rx, rest);
    json_decref(on);
    uint32_t el = key_columns(&l->plan, nl, lx, lk);
    uint32_t er = key_columns(&r->plan, nr, rx, rk);
    json_decref(lx);
    json_decref(rx);
    json_t *j = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "op", "join", "type",
                          n->u.join.kind == SQL_JOIN_LEFT ? "left" : "inner", "left_keys", lk,
                          "right_keys", rk, "left", l->plan, "right", r->plan);
    l->plan = r->plan = NULL;
    json_t *res = json_array_size(rest) == 1  ? json_deep_copy(json_array_get(rest, 0))
                  : json_array_size(rest) > 1 ? json_pack("{s:s,s:O}", "op", "and", "args", rest)
                                              : NULL;
    json_decref(rest);
    if (res != NULL && el > 0)
        shift_cols(res, nl, el);
    if (j && res)
        json_object_set_new(j, "residual", res);
    if (j && el + er > 0) { /* back to the columns of the two sides */
        json_t *cols = json_array();
        for (uint32_t i = 0; i < nl + nr; i++)
            json_array_append_new(cols,
                                  json_pack("{s:i}", "col", (json_int_t)(i < nl ? i : i + el)));
        j = json_pack("{s:s,s:o,s:o}", "op", "project", "exprs", cols, "input", j);
    }
    l->plan = j;
    return j ? 0 : sql_bind_oom(b);
}

static int bind_join(sql_binder *b, const sql_node *n, sql_rel *out)
{
    sql_rel l = {0}, r = {0};
    int rc = bind_from(b, n->u.join.left, &l);
    if (rc == 0)
        rc = bind_from(b, n->u.join.right, &r);
    json_t *rplan = r.plan;
    r.plan = NULL;
    uint32_t nl = l.n;
    if (rc == 0)
        rc = rel_concat(b, &l, &r);
    json_t *on = NULL;
    if (rc == 0 && n->u.join.on) {
        sql_bctx c = {.b = b, .scope = &l, .clause = "ON"};
        sql_bx x;
        rc = sql_bind_expr(&c, n->u.join.on, &x);
        if (rc == 0 && x.lc == SQL_LC_NULL)
            rc = sql_bx_as(&c, &x, T_BOOL, n->u.join.on->pos);
        if (rc == 0 && x.t.id != VEC_BOOL) {
            sql_bx_free(&x);
            rc = sql_bind_fail(b, TARN_EINVAL, n->u.join.on->pos, "ON must be BOOLEAN");
        }
        on = rc == 0 ? x.j : NULL;
    }
    r.plan = rplan;
    if (rc == 0)
        rc = join_plan(b, n, nl, &l, &r, on);
    sql_rel_free(&r);
    if (rc != 0) {
        sql_rel_free(&l);
        return rc;
    }
    *out = l;
    return 0;
}

static int bind_from(sql_binder *b, const sql_node *n, sql_rel *out)
{
    memset(out, 0, sizeof(*out));
    if (++b->depth > BIND_DEPTH_MAX) {
        b->depth--;
        return sql_bind_fail(b, TARN_ETOOBIG, n->pos, "FROM nested deeper than %d", BIND_DEPTH_MAX);
    }
    int rc;
    uint32_t id;
    switch (n->kind) {
    case SQL_TABLE_REF:
        rc = bind_table_ref(b, n, out);
        break;
    case SQL_TABLE_FUNC:
        rc = sql_tab_func(b, n, &id);
        if (rc == 0)
            rc = rel_from_tab(b, id,
                              n->u.table_func.alias.folded ? n->u.table_func.alias.folded
                                                           : n->u.table_func.name.folded,
                              out);
        break;
    case SQL_DERIVED:
        rc = sql_bind_query(b, n->u.derived.query, out);
        if (rc == 0)
            rc = rel_requalify(b, out, n->u.derived.alias.folded);
        break;
    case SQL_JOIN:
        rc = bind_join(b, n, out);
        break;
    default:
        rc = sql_bind_fail(b, TARN_EINVAL, n->pos, "not a FROM item");
    }
    b->depth--;
    return rc;
}

/* SELECT without FROM reads one row of no (visible) columns. */
static int bind_dual(sql_binder *b, sql_rel *out)
{
    memset(out, 0, sizeof(*out));
    out->plan = json_pack("{s:s,s:i}", "op", "values", "rows", 1);
    if (out->plan == NULL)
        return sql_bind_oom(b);
    return rel_add(b, out, NULL, NULL, T_BOOL);
}

/* ---- the select list ---- */

typedef struct sel_item {
    json_t *j;
    vec_type_info t;
    char *name;
    const sql_node *expr; /* NULL for * expansions */
} sel_item;

typedef struct sel_list {
    sel_item *items;
    uint32_t n, visible;
} sel_list;

static void sel_free(sel_list *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        json_decref(s->items[i].j);
        tarn_free(s->items[i].name);
    }
    tarn_free(s->items);
    memset(s, 0, sizeof(*s));
}

static int sel_push(sql_binder *b, sel_list *s, json_t *j, vec_type_info t, char *name,
                    const sql_node *expr)
{
    sel_item *it = s->n < SQL_COLS_MAX ? tarn_realloc(s->items, (s->n + 1) * sizeof(*it)) : NULL;
    if (it == NULL) {
        json_decref(j);
        tarn_free(name);
        return s->n >= SQL_COLS_MAX
                   ? sql_bind_fail(b, TARN_ETOOBIG, b->e->pos, "more than %d columns", SQL_COLS_MAX)
                   : sql_bind_oom(b);
    }
    s->items = it;
    it[s->n++] = (sel_item){j, t, name, expr};
    return 0;
}

/* The name of an unaliased item: the column's name, else its SQL text. */
static char *item_name(const sql_node *e)
{
    if (e->kind == SQL_COLUMN)
        return dup_or_null(e->u.column.column.text);
    tarn_buf buf;
    tarn_buf_init(&buf, 4096);
    char *s = NULL;
    if (sql_print_sql(e, &buf) == 0)
        s = dup_or_null(tarn_buf_cstr(&buf));
    else
        s = dup_or_null("?column?");
    tarn_buf_free(&buf);
    return s;
}

static int expand_star(sql_bctx *c, const sql_node *star, sel_list *s)
{
    const sql_rel *r = c->scope;
    const char *q = star->u.star.table.folded;
    bool any = false;
    for (uint32_t i = 0; i < r->n; i++) {
        if (r->cols[i].name == NULL || (q && (!r->cols[i].qual || strcmp(r->cols[i].qual, q))))
            continue;
        any = true;
        if (r->cols[i].tab >= 0)
            c->b->tabs[r->cols[i].tab]->used[r->cols[i].tcol] = true;
        json_t *j = json_pack("{s:i}", "col", (json_int_t)i);
        vec_type_info t = r->cols[i].type;
        if (c->grp != NULL) {
            uint32_t k = 0;
            while (k < c->grp->nkeys && !json_equal(json_array_get(c->grp->keys, k), j))
                k++;
            json_decref(j);
            if (k == c->grp->nkeys)
                return sql_bind_fail(c->b, TARN_EINVAL, star->pos,
                                     "column \"%s\" (from *) must appear in GROUP BY or be "
                                     "used in an aggregate function",
                                     r->cols[i].name);
            j = json_pack("{s:i}", "col", (json_int_t)k);
        }
        int rc = sel_push(c->b, s, j, t, dup_or_null(r->cols[i].name), NULL);
        if (rc != 0)
            return rc;
    }
    if (!any && q)
        return sql_bind_fail(c->b, TARN_ENOENT, star->pos, "table \"%s\" is not in the FROM clause",
                             star->u.star.table.text);
    return 0;
}

static int bind_items(sql_bctx *c, const sql_list *items, sel_list *s)
{
    for (uint32_t i = 0; i < items->count; i++) {
        const sql_node *it = items->items[i], *e = it->u.item.expr;
        int rc;
        if (e->kind == SQL_STAR) {
            rc = expand_star(c, e, s);
        } else {
            sql_bx x;
            rc = sql_bind_expr(c, e, &x);
            if (rc == 0)
                rc = sql_bx_as(c, &x, x.lc == SQL_LC_NULL ? (vec_type_info){.id = VEC_I32} : x.t,
                               e->pos);
            if (rc == 0) {
                char *name =
                    it->u.item.alias.text ? dup_or_null(it->u.item.alias.text) : item_name(e);
                rc = sel_push(c->b, s, x.j, x.t, name, e);
            }
        }
        if (rc != 0)
            return rc;
    }
    s->visible = s->n;
    return 0;
}

/* ---- GROUP BY ---- */

/* GROUP BY 2 and GROUP BY alias name a select item's expression. */
static const sql_node *group_target(const sql_node *sel, const sql_node *g, sql_binder *b,
                                    const sql_rel *from, int *rc)
{
    const sql_list *items = &sel->u.select.items;
    *rc = 0;
    if (g->kind == SQL_LITERAL && g->u.lit.kind == SQL_LIT_INT) {
        if (g->u.lit.ival < 1 || g->u.lit.ival > items->count ||
            items->items[g->u.lit.ival - 1]->u.item.expr->kind == SQL_STAR) {
            *rc = sql_bind_fail(b, TARN_EINVAL, g->pos,
                                "GROUP BY position %lld is not in the "
                                "select list",
                                (long long)g->u.lit.ival);
            return NULL;
        }
        return items->items[g->u.lit.ival - 1]->u.item.expr;
    }
    if (g->kind == SQL_COLUMN && g->u.column.table.text == NULL) {
        for (uint32_t i = 0; i < from->n; i++)
            if (from->cols[i].name && strcmp(from->cols[i].name, g->u.column.column.folded) == 0)
                return g; /* a FROM column wins over an alias */
        for (uint32_t i = 0; i < items->count; i++) {
            const sql_name *a = &items->items[i]->u.item.alias;
            if (a->folded && strcmp(a->folded, g->u.column.column.folded) == 0)
                return items->items[i]->u.item.expr;
        }
    }
    return g;
}

static int bind_group_keys(sql_bctx *c, const sql_node *sel, sql_grouping *g)
{
    const sql_list *gl = &sel->u.select.group_by;
    if (gl->count > EXEC_AGG_KEYS_MAX)
        return sql_bind_fail(c->b, TARN_ETOOBIG, gl->items[0]->pos, "more than %d GROUP BY keys",
                             EXEC_AGG_KEYS_MAX);
    for (uint32_t i = 0; i < gl->count; i++) {
        int rc;
        const sql_node *k = group_target(sel, gl->items[i], c->b, c->scope, &rc);
        if (rc != 0)
            return rc;
        if (sql_node_has_agg(k))
            return sql_bind_fail(c->b, TARN_EINVAL, k->pos,
                                 "aggregates are not allowed in GROUP BY");
        json_t *j;
        vec_type_info t;
        if ((rc = sql_bind_scalar(c->b, c->scope, k, &j, &t)) != 0)
            return rc;
        json_array_append_new(g->keys, j);
        g->types[g->nkeys++] = t;
    }
    return 0;
}

/* project(keys ++ args) -> aggregate: the grouped relation. */
static int build_aggregate(sql_binder *b, sql_rel *r, sql_grouping *g)
{
    json_t *exprs = json_array();
    json_array_extend(exprs, g->keys);
    json_array_extend(exprs, g->args);
    if (json_array_size(exprs) == 0) /* count(*) alone: project one constant */
        json_array_append_new(exprs, json_pack("{s:b,s:s}", "const", 1, "type", "bool"));
    int rc = rel_wrap(b, r, json_pack("{s:s,s:o}", "op", "project", "exprs", exprs));
    json_t *keys = json_array(), *aggs = json_array();
    static const char *const fns[] = {"count_star", "count", "sum", "min", "max", "avg"};
    for (uint32_t i = 0; i < g->nkeys; i++)
        json_array_append_new(keys, json_integer(i));
    for (uint32_t i = 0; i < g->naggs; i++) {
        json_t *a = json_pack("{s:s}", "fn", fns[g->aggs[i].fn]);
        if (g->aggs[i].arg >= 0)
            json_object_set_new(a, "col", json_integer(g->nkeys + (uint32_t)g->aggs[i].arg));
        if (g->aggs[i].distinct)
            json_object_set_new(a, "distinct", json_true());
        json_array_append_new(aggs, a);
    }
    if (rc == 0)
        rc = rel_wrap(b, r,
                      json_pack("{s:s,s:o,s:o,s:s}", "op", "aggregate", "keys", keys, "aggs", aggs,
                                "phase", "single"));
    else {
        json_decref(keys);
        json_decref(aggs);
    }
    return rc;
}

/* ---- ORDER BY ---- */

typedef struct order_key {
    uint32_t col;
    bool desc, nulls_first;
} order_key;

/* ORDER BY 2, ORDER BY alias: an item of the select list, or -1. */
static int order_by_name(const sql_node *e, const sel_list *s, sql_binder *b, int *rc)
{
    *rc = 0;
    if (e->kind == SQL_LITERAL && e->u.lit.kind == SQL_LIT_INT) {
        if (e->u.lit.ival < 1 || e->u.lit.ival > s->visible) {
            *rc = sql_bind_fail(b, TARN_EINVAL, e->pos,
                                "ORDER BY position %lld is not in the select list (1..%u)",
                                (long long)e->u.lit.ival, s->visible);
            return -1;
        }
        return (int)e->u.lit.ival - 1;
    }
    if (e->kind == SQL_COLUMN && e->u.column.table.text == NULL) {
        for (uint32_t i = 0; i < s->visible; i++)
            if (s->items[i].name && strcmp(s->items[i].name, e->u.column.column.text) == 0)
                return (int)i;
    }
    return -1;
}

static int bind_order(sql_bctx *c, const sql_list *order, sel_list *s, bool distinct,
                      order_key *keys)
{
    if (order->count > EXEC_AGG_KEYS_MAX)
        return sql_bind_fail(c->b, TARN_ETOOBIG, order->items[0]->pos, "more than %d ORDER BY keys",
                             EXEC_AGG_KEYS_MAX);
    for (uint32_t i = 0; i < order->count; i++) {
        const sql_node *o = order->items[i], *e = o->u.order.expr;
        int rc;
        int col = order_by_name(e, s, c->b, &rc);
        if (rc != 0)
            return rc;
        if (col < 0) {
            sql_bx x;
            if ((rc = sql_bind_expr(c, e, &x)) != 0)
                return rc;
            for (uint32_t k = 0; k < s->n && col < 0; k++)
                if (json_equal(s->items[k].j, x.j))
                    col = (int)k;
            if (col >= 0) {
                sql_bx_free(&x);
            } else if (distinct) {
                sql_bx_free(&x);
                return sql_bind_fail(c->b, TARN_EINVAL, e->pos,
                                     "with SELECT DISTINCT, ORDER BY expressions must appear in "
                                     "the select list");
            } else {
                col = (int)s->n;
                if ((rc = sel_push(c->b, s, x.j, x.t, NULL, e)) != 0)
                    return rc;
            }
        }
        keys[i].col = (uint32_t)col;
        keys[i].desc = o->u.order.desc;
        /* NULLs sort last unless asked, in both directions (DuckDB's rule). */
        keys[i].nulls_first = o->u.order.nulls == SQL_NULLS_FIRST;
    }
    return 0;
}

static int const_count(sql_binder *b, const sql_node *n, const char *what, uint64_t *out)
{
    if (n == NULL)
        return 0;
    if (n->kind != SQL_LITERAL || n->u.lit.kind != SQL_LIT_INT)
        return sql_bind_fail(b, TARN_EINVAL, n->pos, "%s must be a non-negative integer constant",
                             what);
    *out = (uint64_t)n->u.lit.ival;
    return 0;
}

static json_t *sort_json(const order_key *keys, uint32_t n, uint64_t limit)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(arr,
                              json_pack("{s:i,s:b,s:b}", "col", (json_int_t)keys[i].col, "desc",
                                        keys[i].desc, "nulls_first", keys[i].nulls_first));
    json_t *o = json_pack("{s:s,s:o}", "op", "sort", "keys", arr);
    if (o && limit != UINT64_MAX)
        json_object_set_new(o, "limit", json_integer((json_int_t)limit));
    return o;
}

/* ORDER BY, LIMIT and OFFSET over r (keys index r's columns). */
static int apply_order_limit(sql_binder *b, sql_rel *r, const order_key *keys, uint32_t nkeys,
                             const sql_node *limit_n, const sql_node *offset_n)
{
    uint64_t limit = UINT64_MAX, offset = 0;
    int rc = const_count(b, limit_n, "LIMIT", &limit);
    if (rc == 0)
        rc = const_count(b, offset_n, "OFFSET", &offset);
    if (rc == 0 && nkeys > 0) {
        uint64_t top = limit == UINT64_MAX || limit + offset < limit ? UINT64_MAX : limit + offset;
        rc = rel_wrap(b, r, sort_json(keys, nkeys, top));
    }
    if (rc == 0 && (limit != UINT64_MAX || offset > 0)) {
        json_t *l = json_pack("{s:s}", "op", "limit");
        if (l && limit != UINT64_MAX)
            json_object_set_new(l, "limit", json_integer((json_int_t)limit));
        if (l && offset > 0)
            json_object_set_new(l, "offset", json_integer((json_int_t)offset));
        rc = rel_wrap(b, r, l);
    }
    return rc;
}

/* ---- SELECT ---- */

static bool select_is_grouped(const sql_node *sel, const sql_list *order)
{
    if (sel->u.select.group_by.count > 0 || sql_node_has_agg(sel->u.select.having))
        return true;
    for (uint32_t i = 0; i < sel->u.select.items.count; i++)
        if (sql_node_has_agg(sel->u.select.items.items[i]->u.item.expr))
            return true;
    for (uint32_t i = 0; order && i < order->count; i++)
        if (sql_node_has_agg(order->items[i]->u.order.expr))
            return true;
    return false;
}

/* The output projection: the items (hidden order keys after the visible
 * ones), named. */
static int project_items(sql_binder *b, sql_rel *r, sel_list *s)
{
    json_t *exprs = json_array();
    for (uint32_t i = 0; i < s->n; i++)
        json_array_append(exprs, s->items[i].j);
    int rc = rel_wrap(b, r, json_pack("{s:s,s:o}", "op", "project", "exprs", exprs));
    sql_rel out = {.plan = r->plan};
    r->plan = NULL;
    sql_rel_free(r);
    for (uint32_t i = 0; rc == 0 && i < s->n; i++)
        rc = rel_add(b, &out, i < s->visible ? s->items[i].name : NULL, NULL, s->items[i].t);
    *r = out;
    return rc;
}

static int drop_hidden(sql_binder *b, sql_rel *r, uint32_t visible)
{
    if (visible == r->n)
        return 0;
    json_t *exprs = json_array();
    for (uint32_t i = 0; i < visible; i++)
        json_array_append_new(exprs, json_pack("{s:i}", "col", (json_int_t)i));
    for (uint32_t i = visible; i < r->n; i++) {
        tarn_free(r->cols[i].name);
        tarn_free(r->cols[i].qual);
    }
    r->n = visible;
    return rel_wrap(b, r, json_pack("{s:s,s:o}", "op", "project", "exprs", exprs));
}

static int distinct_over(sql_binder *b, sql_rel *r, uint32_t visible)
{
    if (visible > EXEC_AGG_KEYS_MAX)
        return sql_bind_fail(b, TARN_ENOTSUP, b->e->pos, "DISTINCT over more than %d columns",
                             EXEC_AGG_KEYS_MAX);
    json_t *keys = json_array();
    for (uint32_t i = 0; i < visible; i++)
        json_array_append_new(keys, json_integer(i));
    return rel_wrap(b, r,
                    json_pack("{s:s,s:o,s:[],s:s}", "op", "aggregate", "keys", keys, "aggs",
                              "phase", "single"));
}

static int bind_where(sql_binder *b, sql_rel *r, const sql_node *where)
{
    sql_bctx c = {.b = b, .scope = r, .clause = "WHERE"};
    sql_bx x;
    int rc = sql_bind_expr(&c, where, &x);
    if (rc == 0 && x.lc == SQL_LC_NULL)
        rc = sql_bx_as(&c, &x, T_BOOL, where->pos);
    if (rc != 0)
        return rc;
    char buf[40];
    if (x.t.id != VEC_BOOL) {
        sql_bx_free(&x);
        return sql_bind_fail(b, TARN_EINVAL, where->pos, "WHERE must be BOOLEAN, not %s",
                             sql_type_name(x.t, buf, sizeof(buf)));
    }
    sql_tab *t = NULL;
    if (strcmp(json_string_value(json_object_get(r->plan, "op")), "scan") == 0)
        t = b->tabs[json_integer_value(json_object_get(r->plan, "id"))];
    if (t != NULL)
        sql_tab_add_prune(t, x.j);
    return rel_wrap(b, r, json_pack("{s:s,s:o}", "op", "filter", "pred", x.j));
}

typedef struct select_tail {
    const sql_list *order;
    const sql_node *limit, *offset;
} select_tail;

static int bind_select_body(sql_binder *b, const sql_node *sel, const select_tail *tail, sql_rel *r,
                            sel_list *s, sql_grouping *g, order_key *keys)
{
    bool grouped = select_is_grouped(sel, tail->order);
    sql_bctx c = {.b = b, .scope = r, .clause = "the select list"};
    int rc = 0;
    if (grouped) {
        g->keys = json_array();
        g->args = json_array();
        if ((rc = bind_group_keys(&c, sel, g)) != 0)
            return rc;
        c.grp = g;
    }
    if ((rc = bind_items(&c, &sel->u.select.items, s)) != 0)
        return rc;
    const sql_node *having = sel->u.select.having;
    sql_bctx hc = c;
    /* HAVING and ORDER BY may add aggregates: bind them before the
     * aggregate operator is built. */
    json_t *having_pred = NULL;
    if (having != NULL && !grouped)
        return sql_bind_fail(b, TARN_EINVAL, having->pos, "HAVING needs GROUP BY or aggregates");
    if (having != NULL) {
        sql_bx x;
        hc.clause = "HAVING";
        if ((rc = sql_bind_expr(&hc, having, &x)) != 0)
            return rc;
        if (x.lc == SQL_LC_NULL && (rc = sql_bx_as(&hc, &x, T_BOOL, having->pos)) != 0)
            return rc;
        if (x.t.id != VEC_BOOL) {
            sql_bx_free(&x);
            return sql_bind_fail(b, TARN_EINVAL, having->pos, "HAVING must be BOOLEAN");
        }
        having_pred = x.j;
    }
    c.clause = "ORDER BY";
    if (tail->order && (rc = bind_order(&c, tail->order, s, sel->u.select.distinct, keys)) != 0) {
        json_decref(having_pred);
        return rc;
    }
    if (grouped)
        rc = build_aggregate(b, r, g);
    if (rc == 0 && having_pred != NULL)
        rc = rel_wrap(b, r, json_pack("{s:s,s:o}", "op", "filter", "pred", having_pred));
    else
        json_decref(having_pred);
    return rc;
}

static int bind_select(sql_binder *b, const sql_node *sel, const select_tail *tail, sql_rel *out)
{
    sql_rel r = {0};
    int rc = sel->u.select.from ? bind_from(b, sel->u.select.from, &r) : bind_dual(b, &r);
    if (rc == 0 && sel->u.select.where)
        rc = bind_where(b, &r, sel->u.select.where);
    sel_list s = {0};
    sql_grouping g = {0};
    order_key keys[EXEC_AGG_KEYS_MAX];
    uint32_t nkeys = tail->order ? tail->order->count : 0;
    if (rc == 0)
        rc = bind_select_body(b, sel, tail, &r, &s, &g, keys);
    uint32_t visible = s.visible;
    if (rc == 0)
        rc = project_items(b, &r, &s);
    if (rc == 0 && sel->u.select.distinct)
        rc = distinct_over(b, &r, visible);
    if (rc == 0)
        rc = apply_order_limit(b, &r, keys, nkeys, tail->limit, tail->offset);
    if (rc == 0)
        rc = drop_hidden(b, &r, visible);
    json_decref(g.keys);
    json_decref(g.args);
    sel_free(&s);
    if (rc != 0) {
        sql_rel_free(&r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ---- UNION ALL and queries ---- */

static int bind_body(sql_binder *b, const sql_node *n, const select_tail *tail, sql_rel *out);

/* Casts r's columns to `types` where they differ. */
static int cast_columns(sql_binder *b, sql_rel *r, const vec_type_info *types)
{
    bool need = false;
    for (uint32_t i = 0; i < r->n; i++)
        need |= !sql_type_equal(r->cols[i].type, types[i]);
    if (!need)
        return 0;
    json_t *exprs = json_array();
    for (uint32_t i = 0; i < r->n; i++) {
        json_array_append_new(exprs, sql_cast_json(json_pack("{s:i}", "col", (json_int_t)i),
                                                   r->cols[i].type, types[i]));
        r->cols[i].type = types[i];
    }
    return rel_wrap(b, r, json_pack("{s:s,s:o}", "op", "project", "exprs", exprs));
}

static int union_types(sql_binder *b, const sql_node *n, sql_rel *l, sql_rel *r,
                       vec_type_info *types)
{
    if (l->n != r->n)
        return sql_bind_fail(b, TARN_EINVAL, n->u.union_all.right->pos,
                             "UNION ALL of %u and %u columns", l->n, r->n);
    sql_bctx c = {.b = b, .scope = l};
    for (uint32_t i = 0; i < l->n; i++) {
        sql_bx x = {.j = json_pack("{s:i}", "col", (json_int_t)i), .t = l->cols[i].type};
        sql_bx y = {.j = json_pack("{s:i}", "col", (json_int_t)i), .t = r->cols[i].type};
        int rc = sql_unify(&c, &x, &y, n->u.union_all.right->pos, &types[i]);
        sql_bx_free(&x);
        sql_bx_free(&y);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int bind_union(sql_binder *b, const sql_node *n, sql_rel *out)
{
    select_tail none = {0};
    sql_rel l = {0}, r = {0};
    vec_type_info *types = NULL;
    int rc = bind_body(b, n->u.union_all.left, &none, &l);
    if (rc == 0)
        rc = bind_body(b, n->u.union_all.right, &none, &r);
    if (rc == 0 && (types = tarn_calloc(l.n ? l.n : 1, sizeof(*types))) == NULL)
        rc = sql_bind_oom(b);
    if (rc == 0)
        rc = union_types(b, n, &l, &r, types);
    if (rc == 0)
        rc = cast_columns(b, &l, types);
    if (rc == 0)
        rc = cast_columns(b, &r, types);
    tarn_free(types);
    if (rc != 0) {
        sql_rel_free(&l);
        sql_rel_free(&r);
        return rc;
    }
    /* Flatten: union_all(union_all(a, b), c) -> union_all(a, b, c). */
    json_t *inputs;
    if (strcmp(json_string_value(json_object_get(l.plan, "op")), "union_all") == 0)
        inputs = json_incref(json_object_get(l.plan, "inputs"));
    else
        inputs = json_pack("[O]", l.plan);
    json_array_append(inputs, r.plan);
    json_decref(l.plan);
    l.plan = json_pack("{s:s,s:o}", "op", "union_all", "inputs", inputs);
    sql_rel_free(&r);
    for (uint32_t i = 0; i < l.n; i++) {
        tarn_free(l.cols[i].qual);
        l.cols[i].qual = NULL;
    }
    *out = l;
    return l.plan == NULL ? sql_bind_oom(b) : 0;
}

/* ORDER BY over a union or a parenthesised query: names and positions of
 * its output. */
static int order_output(sql_binder *b, sql_rel *r, const select_tail *tail)
{
    order_key keys[EXEC_AGG_KEYS_MAX];
    uint32_t n = tail->order ? tail->order->count : 0;
    if (n > EXEC_AGG_KEYS_MAX)
        return sql_bind_fail(b, TARN_ETOOBIG, tail->order->items[0]->pos,
                             "more than %d ORDER BY keys", EXEC_AGG_KEYS_MAX);
    for (uint32_t i = 0; i < n; i++) {
        const sql_node *o = tail->order->items[i];
        json_t *j;
        vec_type_info t;
        int rc = sql_bind_scalar(b, r, o->u.order.expr, &j, &t);
        if (rc != 0)
            return rc;
        json_t *col = json_object_get(j, "col");
        int64_t ci = col ? json_integer_value(col) : -1;
        json_decref(j);
        if (o->u.order.expr->kind == SQL_LITERAL && o->u.order.expr->u.lit.kind == SQL_LIT_INT) {
            ci = o->u.order.expr->u.lit.ival - 1;
            if (ci < 0 || ci >= r->n)
                return sql_bind_fail(b, TARN_EINVAL, o->pos,
                                     "ORDER BY position %lld is not in "
                                     "the select list",
                                     (long long)ci + 1);
        } else if (ci < 0) {
            return sql_bind_fail(b, TARN_ENOTSUP, o->pos,
                                 "ORDER BY over UNION ALL takes output column names or positions");
        }
        keys[i] = (order_key){(uint32_t)ci, o->u.order.desc, o->u.order.nulls == SQL_NULLS_FIRST};
    }
    return apply_order_limit(b, r, keys, n, tail->limit, tail->offset);
}

static int bind_body(sql_binder *b, const sql_node *n, const select_tail *tail, sql_rel *out)
{
    int rc;
    if (n->kind == SQL_SELECT)
        return bind_select(b, n, tail, out);
    if (n->kind == SQL_UNION_ALL)
        rc = bind_union(b, n, out);
    else
        rc = sql_bind_query(b, n, out);
    if (rc == 0 && (tail->order || tail->limit || tail->offset))
        rc = order_output(b, out, tail);
    return rc;
}

int sql_bind_query(sql_binder *b, const sql_node *q, sql_rel *out)
{
    memset(out, 0, sizeof(*out));
    if (++b->depth > BIND_DEPTH_MAX) {
        b->depth--;
        return sql_bind_fail(b, TARN_ETOOBIG, q->pos, "queries nested deeper than %d",
                             BIND_DEPTH_MAX);
    }
    sql_cte_scope scope = {&q->u.query.ctes, q->u.query.ctes.count, b->cte_scope};
    sql_cte_scope *saved = b->cte_scope;
    if (q->u.query.ctes.count > 0)
        b->cte_scope = &scope;
    select_tail tail = {q->u.query.order_by.count ? &q->u.query.order_by : NULL, q->u.query.limit,
                        q->u.query.offset};
    int rc = bind_body(b, q->u.query.body, &tail, out);
    b->cte_scope = saved;
    b->depth--;
    if (rc != 0)
        sql_rel_free(out);
    return rc;
}
