/*
 * sql/bind_int.h: the expression binder's context, shared by bind_expr.c
 * (scalars, casts, aggregates) and bind_query.c (SELECT, FROM, ORDER BY).
 * Design note: src/sql/README.md, "Binder".
 */
#ifndef TARN_SQL_BIND_INT_H
#define TARN_SQL_BIND_INT_H

#include "sql/plan_int.h"

/* Literal kinds kept open until the other operand's type is known, so
 * that `int_col = 5` compares as int and `dec_col < 1.5` as decimal. */
typedef enum sql_lit_class {
    SQL_LC_NONE, /* not a literal: j has its type */
    SQL_LC_NULL, /* untyped NULL */
    SQL_LC_INT,  /* integer literal: ival */
    SQL_LC_DEC,  /* decimal literal: unscaled ival at scale t.scale */
    SQL_LC_DBL,  /* double literal: dval */
    SQL_LC_STR,  /* string literal: str (may become a date or timestamp) */
} sql_lit_class;

/* A bound expression. */
typedef struct sql_bx {
    json_t *j; /* exec JSON (owned); for open literals a default rendering */
    vec_type_info t;
    sql_lit_class lc;
    int64_t ival;
    double dval;
    const char *str; /* arena string, borrowed */
} sql_bx;

/* One aggregate of a grouped SELECT. */
typedef struct sql_agg {
    exec_agg_fn fn;
    int32_t arg; /* index into the argument list, -1 for count(*) */
    vec_type_info type;
    bool distinct; /* count/sum/avg(DISTINCT x): single phase only */
} sql_agg;

/* The grouping of a SELECT: key and argument expressions over the FROM
 * relation (the pre-aggregation projection is keys then args), and the
 * aggregates. The aggregate's output is keys 0..nkeys-1, then one column
 * per aggregate. */
typedef struct sql_grouping {
    json_t *keys; /* array */
    vec_type_info types[EXEC_AGG_KEYS_MAX + EXEC_AGG_AGGS_MAX];
    uint32_t nkeys;
    json_t *args; /* array */
    vec_type_info arg_types[EXEC_AGG_AGGS_MAX];
    uint32_t nargs;
    sql_agg aggs[EXEC_AGG_AGGS_MAX];
    uint32_t naggs;
} sql_grouping;

typedef struct sql_bctx {
    sql_binder *b;
    const sql_rel *scope;
    sql_grouping *grp; /* non-NULL: bind over the aggregate's output */
    const char *clause;
    bool in_agg; /* inside an aggregate's argument */
} sql_bctx;

int sql_bind_expr(sql_bctx *c, const sql_node *n, sql_bx *out);
/* Renders an open literal in its default type (int -> i64 or i32 when it
 * fits?, no: i64; decimal -> decimal64; string -> string; NULL -> i32). */
int sql_bx_close(sql_bctx *c, sql_bx *x, sql_pos pos);
/* Converts x to type t (inserting a cast, or retyping a literal). */
int sql_bx_as(sql_bctx *c, sql_bx *x, vec_type_info t, sql_pos pos);
/* The common type of a and b for comparison or a CASE/UNION; error at pos. */
int sql_unify(sql_bctx *c, sql_bx *a, sql_bx *b, sql_pos pos, vec_type_info *out);
void sql_bx_free(sql_bx *x);
bool sql_node_has_agg(const sql_node *n);
/* bind_func.c: scalar functions (1: unknown name), extract, ||, and
 * date +/- INTERVAL. */
int sql_bind_scalar_fn(sql_bctx *c, const sql_node *n, sql_bx *x);
int sql_bind_extract(sql_bctx *c, const sql_node *n, sql_bx *x);
int sql_bind_concat_op(sql_bctx *c, const sql_node *n, sql_bx *x);
int sql_bind_interval_arith(sql_bctx *c, const sql_node *n, const sql_node *d, const sql_node *iv,
                            sql_bx *x);
bool sql_is_agg_name(const char *folded);

#endif
