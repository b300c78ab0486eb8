/*
 * sql/maint.c: DELETE FROM t [WHERE p], OPTIMIZE t, VACUUM t [RETAIN n
 * HOURS] through the Delta writer (delta_delete, delta_optimize,
 * delta_vacuum). A DELETE binds its predicate against the table's
 * columns, prunes files whose partition values or stats exclude it, and
 * evaluates it on the rows of the others (copy-on-write, one commit).
 */
#include "sql/session_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

/* ---- DELETE ---- */

typedef struct del_ctx {
    exec_expr *pred; /* NULL: every row */
    delta_pred preds[SQL_PRUNE_MAX];
    size_t npreds;
    uint32_t *sel;
    uint32_t sel_cap;
} del_ctx;

static int del_rows(void *ctx, const vec_batch *b, uint8_t *match, tarn_err *err)
{
    del_ctx *d = ctx;
    if (d->pred == NULL) {
        memset(match, 1, b->len);
        return 0;
    }
    if (d->sel_cap < b->len) {
        uint32_t *s = tarn_realloc(d->sel, (size_t)b->len * sizeof(*s));
        if (s == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "delete: selection");
        d->sel = s;
        d->sel_cap = b->len;
    }
    uint32_t n = 0;
    int rc = exec_expr_select(d->pred, b, d->sel, &n, err);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        match[d->sel[i]] = 1;
    return rc;
}

static int del_files(void *ctx, const delta_snapshot *s, const delta_file *f, delta_file_match *out,
                     tarn_err *err)
{
    del_ctx *d = ctx;
    if (d->pred == NULL) {
        *out = DELTA_FILE_ALL;
        return 0;
    }
    bool may = true;
    tarn_err ignored = TARN_ERR_INIT;
    (void)err;
    /* A predicate the pruner cannot use keeps the file (read row by row). */
    if (d->npreds > 0 && delta_file_may_match(s, f, d->preds, d->npreds, &may, &ignored) != 0)
        may = true;
    *out = may ? DELTA_FILE_MAYBE : DELTA_FILE_NONE;
    return 0;
}

static const delta_cmp cmp_of[] = {DELTA_CMP_EQ, DELTA_CMP_LT, DELTA_CMP_LE, DELTA_CMP_GT,
                                   DELTA_CMP_GE};

/* `column op constant` conjuncts as delta_preds (strings borrowed from j). */
static void del_collect(del_ctx *d, const json_t *j, char *const *names, const vec_type_info *st)
{
    static const char *const ops[] = {"=", "<", "<=", ">", ">="};
    const char *op = json_string_value(json_object_get(j, "op"));
    const json_t *args = json_object_get(j, "args");
    if (op && strcmp(op, "and") == 0) {
        for (size_t i = 0; i < json_array_size(args); i++)
            del_collect(d, json_array_get(args, i), names, st);
        return;
    }
    for (size_t k = 0; op && k < 5 && d->npreds < SQL_PRUNE_MAX; k++) {
        if (strcmp(op, ops[k]) != 0)
            continue;
        const json_t *col = json_object_get(json_array_get(args, 0), "col");
        const json_t *v = json_object_get(json_array_get(args, 1), "const");
        if (!json_is_integer(col) || v == NULL || json_is_null(v))
            return;
        uint32_t ci = (uint32_t)json_integer_value(col);
        delta_pred p = {.column = names[ci], .op = cmp_of[k]};
        vec_type st_id = st[ci].id;
        if (st_id == VEC_STRING && json_is_string(v)) {
            p.kind = DELTA_VALUE_STRING;
            p.str = json_string_value(v);
        } else if (st_id == VEC_F64 && json_is_number(v)) {
            p.kind = DELTA_VALUE_FLOAT;
            p.f64 = json_number_value(v);
        } else if (st_id != VEC_DECIMAL64 && st_id != VEC_F32 && json_is_integer(v)) {
            p.kind = DELTA_VALUE_INT;
            p.i64 = json_integer_value(v);
        } else {
            return;
        }
        d->preds[d->npreds++] = p;
        return;
    }
}

/* Column references to narrow columns read them through a widening cast:
 * the rows a delete sees are in the table's stored types. */
static json_t *widen_refs(json_t *j, const vec_type_info *store)
{
    json_t *col = json_object_get(j, "col");
    if (json_is_integer(col)) {
        vec_type_info s = store[json_integer_value(col)], w = sql_compute_type(s);
        return sql_cast_json(j, s, w);
    }
    json_t *args = json_object_get(j, "args");
    for (size_t i = 0; i < json_array_size(args); i++)
        json_array_set_new(args, i, widen_refs(json_incref(json_array_get(args, i)), store));
    return j;
}

static int del_bind(sql_stmt *st, const sql_node *n, const sql_target *t, json_t **pred)
{
    sql_rel scope = {0};
    scope.n = t->ncols;
    scope.cols = tarn_calloc(t->ncols + 1, sizeof(sql_col));
    if (scope.cols == NULL)
        return sql_bind_oom(&st->b);
    for (uint32_t i = 0; i < t->ncols; i++)
        scope.cols[i] =
            (sql_col){t->names[i], (char *)n->u.delete_.table.folded, t->compute[i], -1, 0};
    vec_type_info ty;
    int rc = sql_bind_scalar(&st->b, &scope, n->u.delete_.where, pred, &ty);
    tarn_free(scope.cols);
    if (rc == 0 && ty.id != VEC_BOOL) {
        json_decref(*pred);
        *pred = NULL;
        rc = sql_bind_fail(&st->b, TARN_EINVAL, n->u.delete_.where->pos, "WHERE must be BOOLEAN");
    }
    return rc;
}

int sql_stmt_delete(sql_stmt *st, const sql_node *n)
{
    sql_target t = {0};
    del_ctx d = {0};
    json_t *pred = NULL;
    exec_budget bud;
    exec_budget_init(&bud, st->s->budget_bytes);
    bud.cancel = &st->s->cancel;
    tarn_err err = TARN_ERR_INIT;
    int rc = sql_target_open(st, &n->u.delete_.table, &t);
    if (rc == 0 && n->u.delete_.where)
        rc = del_bind(st, n, &t, &pred);
    tarn_buf text;
    tarn_buf_init(&text, 4096);
    if (rc == 0 && pred) {
        del_collect(&d, pred, t.names, t.store);
        pred = widen_refs(pred, t.store);
        char *js = json_dumps(pred, JSON_COMPACT | JSON_REAL_PRECISION(17));
        rc = js ? exec_expr_from_json(js, t.store, t.ncols, &bud, &d.pred, &err) : TARN_ENOMEM;
        tarn_free(js);
        if (rc != 0)
            rc = sql_stmt_fail(st, rc, &err);
        sql_print_sql(n->u.delete_.where, &text); /* the history's text; best effort */
    }
    delta_write_result res = {0};
    delta_delete_opts o = {.rows = del_rows,
                           .files = del_files,
                           .ctx = &d,
                           .predicate = pred ? tarn_buf_cstr(&text) : NULL,
                           .rebase_max = 8};
    if (rc == 0 && (rc = delta_delete(&st->s->com, st->s->os, n->u.delete_.table.folded, t.snap, &o,
                                      &res, &err)) != 0)
        rc = sql_stmt_fail(st, rc, &err);
    if (rc == 0) {
        st->info.rows = res.rows_deleted;
        st->info.version = res.version;
    }
    tarn_buf_free(&text);
    exec_expr_free(d.pred);
    tarn_free(d.sel);
    json_decref(pred);
    sql_target_free(&t);
    return rc;
}

/* ---- OPTIMIZE, VACUUM ---- */

static int emit_counts(sql_stmt *st, const char *const *names, const int64_t *vals, uint32_t n)
{
    vec_type_info types[8];
    for (uint32_t i = 0; i < n; i++)
        types[i] = (vec_type_info){.id = VEC_I64};
    vec_batch b;
    int rc = sql_emit_columns(st, n, names, types);
    if (rc == 0 && vec_batch_init(&b, types, n, 1) != 0)
        return sql_bind_oom(&st->b);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        ((int64_t *)b.cols[i].data)[0] = vals[i];
        b.cols[i].len = 1;
    }
    b.len = 1;
    rc = sql_emit_batch(st, &b);
    vec_batch_free(&b);
    return rc;
}

static int table_exists(sql_stmt *st, const sql_name *name)
{
    tarn_err err = TARN_ERR_INIT;
    int rc = sql_session_catalog_has(st->s, name->folded, &err);
    if (rc == TARN_ENOENT)
        return sql_bind_fail(&st->b, rc, name->pos, "table \"%s\" does not exist", name->text);
    return rc != 0 ? sql_stmt_fail(st, rc, &err) : 0;
}

int sql_stmt_optimize(sql_stmt *st, const sql_node *n)
{
    int rc = table_exists(st, &n->u.optimize.table);
    if (rc != 0)
        return rc;
    tarn_err err = TARN_ERR_INIT;
    delta_optimize_opts o = {0};
    delta_optimize_result res = {0};
    rc = delta_optimize(&st->s->com, st->s->os, n->u.optimize.table.folded, &o, &res, &err);
    if (rc != 0)
        return sql_stmt_fail(st, rc, &err);
    static const char *const names[] = {"files_removed", "files_added", "rows_rewritten",
                                        "version"};
    int64_t vals[4] = {(int64_t)res.files_removed, (int64_t)res.files_added, res.rows, res.version};
    return emit_counts(st, names, vals, 4);
}

int sql_stmt_vacuum(sql_stmt *st, const sql_node *n)
{
    int rc = table_exists(st, &n->u.vacuum.table);
    if (rc != 0)
        return rc;
    tarn_err err = TARN_ERR_INIT;
    delta_vacuum_opts o = {.retention_ms = -1, .min_retention_ms = -1};
    if (n->u.vacuum.retain_hours)
        o.retention_ms = n->u.vacuum.retain_hours->u.lit.ival * 3600 * 1000;
    delta_vacuum_result res = {0};
    rc = delta_vacuum(&st->s->com, st->s->os, n->u.vacuum.table.folded, &o, &res, &err);
    if (rc == TARN_EINVAL && n->u.vacuum.retain_hours)
        return sql_bind_fail(&st->b, rc, n->u.vacuum.retain_hours->pos, "%s", tarn_err_msg(&err));
    if (rc != 0)
        return sql_stmt_fail(st, rc, &err);
    static const char *const names[] = {"files_deleted", "bytes_deleted", "files_kept"};
    int64_t vals[3] = {(int64_t)res.files_deleted, res.bytes_deleted, (int64_t)res.files_kept};
    return emit_counts(st, names, vals, 3);
}
