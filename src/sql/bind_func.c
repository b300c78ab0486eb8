/*
 * sql/bind_func.c: scalar functions, || and interval arithmetic to exec's
 * function nodes (exec/README.md "Scalar functions"): argument types
 * checked and converted, result types as DuckDB gives them (date_trunc and
 * DATE +/- INTERVAL give TIMESTAMP).
 */
#include "sql/bind_int.h"

#include "base/alloc.h"
#include "sql/literal.h"

#include <string.h>

static const vec_type_info T_I64 = {.id = VEC_I64};
static const vec_type_info T_F64 = {.id = VEC_F64};
static const vec_type_info T_STR = {.id = VEC_STRING};
static const vec_type_info T_TS = {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MICROS, .utc = true};

static int set(sql_bctx *c, sql_bx *x, json_t *j, vec_type_info t)
{
    memset(x, 0, sizeof(*x));
    x->j = j;
    x->t = t;
    return j ? 0 : sql_bind_oom(c->b);
}

static const char *tn(vec_type_info t, char *buf)
{
    return sql_type_name(t, buf, 40);
}

/* Binds argument i of a call and converts it: to `want` when given, else
 * closes an open literal in its own type. */
static int arg(sql_bctx *c, const sql_node *n, size_t i, const vec_type_info *want, sql_bx *x)
{
    const sql_node *a = n->u.call.args.items[i];
    int rc = sql_bind_expr(c, a, x);
    if (rc != 0)
        return rc;
    vec_type_info t = want ? *want : x->lc == SQL_LC_NULL ? T_STR : x->t;
    return sql_bx_as(c, x, t, a->pos);
}

static int want_args(sql_bctx *c, const sql_node *n, size_t lo, size_t hi)
{
    size_t k = n->u.call.args.count;
    if (k < lo || k > hi)
        return lo == hi
                   ? sql_bind_fail(c->b, TARN_EINVAL, n->pos, "%s() takes %zu argument%s",
                                   n->u.call.name.text, lo, lo == 1 ? "" : "s")
                   : sql_bind_fail(c->b, TARN_EINVAL, n->pos, "%s() takes %zu to %zu arguments",
                                   n->u.call.name.text, lo, hi);
    return 0;
}

/* A string argument (anything else is cast to VARCHAR, as DuckDB does). */
static int str_arg(sql_bctx *c, const sql_node *n, size_t i, sql_bx *x)
{
    return arg(c, n, i, &T_STR, x);
}

static int one_string_fn(sql_bctx *c, const sql_node *n, const char *op, vec_type_info rt,
                         sql_bx *x)
{
    sql_bx a;
    int rc = want_args(c, n, 1, 1);
    if (rc == 0)
        rc = str_arg(c, n, 0, &a);
    return rc != 0 ? rc : set(c, x, json_pack("{s:s,s:[o]}", "op", op, "args", a.j), rt);
}

static int bind_substr(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    int rc = want_args(c, n, 2, 3);
    size_t k = n->u.call.args.count;
    json_t *args = json_array();
    for (size_t i = 0; rc == 0 && i < k; i++) {
        sql_bx a;
        rc = i == 0 ? str_arg(c, n, 0, &a) : arg(c, n, i, &T_I64, &a);
        if (rc == 0)
            json_array_append_new(args, a.j);
    }
    if (rc != 0) {
        json_decref(args);
        return rc;
    }
    return set(c, x, json_pack("{s:s,s:o}", "op", "substr", "args", args), T_STR);
}

static int bind_concat(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    size_t k = n->u.call.args.count;
    if (k == 0 || k > 255)
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "concat() takes 1 to 255 arguments");
    json_t *args = json_array();
    for (size_t i = 0; i < k; i++) {
        sql_bx a;
        int rc = str_arg(c, n, i, &a);
        if (rc != 0) {
            json_decref(args);
            return rc;
        }
        json_array_append_new(args, a.j);
    }
    return set(c, x, json_pack("{s:s,s:o}", "op", "concat", "args", args), T_STR);
}

static bool numeric(vec_type_info t)
{
    return t.id == VEC_I32 || t.id == VEC_I64 || t.id == VEC_F64 || t.id == VEC_DECIMAL64;
}

static int bind_abs_round(sql_bctx *c, const sql_node *n, bool is_round, sql_bx *x)
{
    int rc = want_args(c, n, 1, is_round ? 2 : 1);
    sql_bx a;
    char buf[40];
    if (rc == 0)
        rc = arg(c, n, 0, NULL, &a);
    if (rc != 0)
        return rc;
    if (!numeric(a.t)) {
        sql_bx_free(&a);
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos, "%s() of %s: a number is needed",
                             n->u.call.name.text, tn(a.t, buf));
    }
    vec_type_info rt = a.t;
    json_t *args = json_pack("[o]", a.j);
    if (is_round && n->u.call.args.count == 2) {
        const sql_node *d = n->u.call.args.items[1];
        bool neg = d->kind == SQL_UNARY && d->u.unary.op == SQL_OP_NEG;
        const sql_node *lit = neg ? d->u.unary.arg : d;
        if (lit->kind != SQL_LITERAL || lit->u.lit.kind != SQL_LIT_INT || lit->u.lit.ival > 38) {
            json_decref(args);
            return sql_bind_fail(c->b, TARN_ENOTSUP, d->pos,
                                 "round()'s digits must be an integer constant");
        }
        int64_t digits = neg ? -lit->u.lit.ival : lit->u.lit.ival;
        if (rt.id == VEC_DECIMAL64 && digits < rt.scale)
            rt.scale = (uint8_t)(digits < 0 ? 0 : digits);
        json_array_append_new(args,
                              json_pack("{s:I,s:s}", "const", (json_int_t)digits, "type", "i32"));
    }
    return set(c, x, json_pack("{s:s,s:o}", "op", is_round ? "round" : "abs", "args", args), rt);
}

static bool is_dt(vec_type_info t)
{
    return t.id == VEC_DATE || t.id == VEC_TIMESTAMP;
}

static int bind_date_trunc(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    int rc = want_args(c, n, 2, 2);
    if (rc != 0)
        return rc;
    const sql_node *p = n->u.call.args.items[0];
    if (p->kind != SQL_LITERAL || p->u.lit.kind != SQL_LIT_STRING)
        return sql_bind_fail(c->b, TARN_EINVAL, p->pos,
                             "date_trunc()'s part must be a string ('month', 'day', ...)");
    sql_bx d;
    char buf[40];
    if ((rc = arg(c, n, 1, NULL, &d)) != 0)
        return rc;
    if (!is_dt(d.t)) {
        sql_bx_free(&d);
        return sql_bind_fail(c->b, TARN_EINVAL, n->pos,
                             "date_trunc() of %s: a DATE or TIMESTAMP "
                             "is needed",
                             tn(d.t, buf));
    }
    return set(c, x,
               json_pack("{s:s,s:s,s:[o],s:s}", "op", "date_trunc", "part", p->u.lit.str, "args",
                         d.j, "type", "timestamp"),
               T_TS);
}

int sql_bind_extract(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    sql_bx d;
    char buf[40];
    int rc = sql_bind_expr(c, n->u.extract.arg, &d);
    if (rc == 0 && d.lc == SQL_LC_STR)
        rc = sql_bx_as(c, &d, T_TS, n->u.extract.arg->pos);
    if (rc != 0)
        return rc;
    if (!is_dt(d.t)) {
        sql_bx_free(&d);
        return sql_bind_fail(c->b, TARN_EINVAL, n->u.extract.arg->pos,
                             "extract() from %s: a DATE or TIMESTAMP is needed", tn(d.t, buf));
    }
    const char *f = n->u.extract.field.folded;
    vec_type_info rt = strcmp(f, "epoch") == 0 ? T_F64 : T_I64;
    return set(c, x, json_pack("{s:s,s:s,s:[o]}", "op", "extract", "field", f, "args", d.j), rt);
}

/* d + INTERVAL 'n' unit, d - INTERVAL ...: a timestamp (DuckDB's type). */
int sql_bind_interval_arith(sql_bctx *c, const sql_node *n, const sql_node *d_node,
                            const sql_node *iv, sql_bx *x)
{
    sql_bx d;
    char buf[40];
    int rc = sql_bind_expr(c, d_node, &d);
    if (rc == 0 && d.lc == SQL_LC_STR)
        rc = sql_bx_as(c, &d, T_TS, d_node->pos);
    if (rc != 0)
        return rc;
    if (!is_dt(d.t)) {
        sql_bx_free(&d);
        return sql_bind_fail(c->b, TARN_EINVAL, n->op_pos, "cannot add an INTERVAL to %s",
                             tn(d.t, buf));
    }
    int64_t v = iv->u.lit.ival, months = 0, days = 0, micros = 0;
    switch (iv->u.lit.unit) {
    case SQL_UNIT_YEAR:
        months = v * 12;
        break;
    case SQL_UNIT_MONTH:
        months = v;
        break;
    case SQL_UNIT_DAY:
        days = v;
        break;
    case SQL_UNIT_HOUR:
        micros = v * 3600000000LL;
        break;
    case SQL_UNIT_MINUTE:
        micros = v * 60000000LL;
        break;
    case SQL_UNIT_SECOND:
        micros = v * 1000000LL;
        break;
    }
    const char *op = n->u.binary.op == SQL_OP_SUB ? "sub_interval" : "add_interval";
    /* A constant date plus whole days or months is folded here, into the
     * TIMESTAMP at that midnight: compared with a DATE column, the
     * comparison then stays in dates (bind_compare), with no per-row cast,
     * and prunes files and row groups. */
    json_t *dc = json_object_get(d.j, "const");
    const char *dty = json_string_value(json_object_get(d.j, "type"));
    int64_t folded;
    int sign = n->u.binary.op == SQL_OP_SUB ? -1 : 1;
    if (micros == 0 && json_is_integer(dc) && dty != NULL && strcmp(dty, "date") == 0 &&
        sql_lit_date_add(json_integer_value(dc), sign * months, sign * days, &folded) == 0) {
        sql_bx_free(&d);
        return set(c, x,
                   json_pack("{s:I,s:s}", "const", (json_int_t)(folded * 86400000000LL), "type",
                             "timestamp"),
                   T_TS);
    }
    return set(c, x,
               json_pack("{s:s,s:I,s:I,s:I,s:[o],s:s}", "op", op, "months", (json_int_t)months,
                         "days", (json_int_t)days, "micros", (json_int_t)micros, "args", d.j,
                         "type", "timestamp"),
               T_TS);
}

int sql_bind_concat_op(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    sql_bx a, b;
    int rc = sql_bind_expr(c, n->u.binary.left, &a);
    if (rc == 0)
        rc = sql_bx_as(c, &a, T_STR, n->u.binary.left->pos);
    if (rc != 0)
        return rc;
    if ((rc = sql_bind_expr(c, n->u.binary.right, &b)) == 0)
        rc = sql_bx_as(c, &b, T_STR, n->u.binary.right->pos);
    if (rc != 0) {
        sql_bx_free(&a);
        return rc;
    }
    return set(c, x, json_pack("{s:s,s:[oo]}", "op", "||", "args", a.j, b.j), T_STR);
}

/* 1: not a scalar function we know (the caller reports it). */
int sql_bind_scalar_fn(sql_bctx *c, const sql_node *n, sql_bx *x)
{
    const char *f = n->u.call.name.folded;
    if (strcmp(f, "lower") == 0 || strcmp(f, "upper") == 0)
        return one_string_fn(c, n, f, T_STR, x);
    if (strcmp(f, "length") == 0)
        return one_string_fn(c, n, "length", T_I64, x);
    if (strcmp(f, "substr") == 0 || strcmp(f, "substring") == 0)
        return bind_substr(c, n, x);
    if (strcmp(f, "concat") == 0)
        return bind_concat(c, n, x);
    if (strcmp(f, "abs") == 0 || strcmp(f, "round") == 0)
        return bind_abs_round(c, n, f[0] == 'r', x);
    if (strcmp(f, "date_trunc") == 0)
        return bind_date_trunc(c, n, x);
    return 1;
}
