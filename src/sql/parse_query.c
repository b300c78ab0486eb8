/* sql/parse_query.c: queries: WITH, SELECT, FROM with joins, table
 * functions, time travel and subqueries, UNION ALL, ORDER BY, LIMIT and
 * OFFSET. Subqueries recurse through sqlp_query, which counts nesting. */
#include "base/error.h"
#include "sql/parser_int.h"

#include <string.h>

static int parse_select_item(sql_parser *p, sql_node **out)
{
    const sql_token *t = sqlp_peek(p, 0);
    sql_node *n = sqlp_node(p, SQL_SELECT_ITEM, t->pos);
    if (n == NULL)
        return p->err->code;
    *out = n;
    int rc;
    if (t->kind == SQL_TOK_STAR ||
        (sqlp_is_name(p, 0) && sqlp_is(p, 1, SQL_TOK_DOT) && sqlp_is(p, 2, SQL_TOK_STAR))) {
        sql_node *s = sqlp_node(p, SQL_STAR, t->pos);
        if (s == NULL)
            return p->err->code;
        if (t->kind != SQL_TOK_STAR &&
            ((rc = sqlp_name(p, &s->u.star.table, "a table name")) != 0 ||
             (rc = sqlp_expect(p, SQL_TOK_DOT)) != 0))
            return rc;
        sqlp_next(p); /* * */
        n->u.item.expr = s;
        return 0;
    }
    if ((rc = sqlp_expr(p, 0, &n->u.item.expr)) != 0)
        return rc;
    return sqlp_opt_alias(p, &n->u.item.alias);
}

/* VERSION AS OF <int> or TIMESTAMP AS OF '<timestamp>' after a table. */
static int parse_time_travel(sql_parser *p, sql_node *n)
{
    int version = sqlp_is_kw(p, 0, SQL_KW_VERSION);
    if (!(version || sqlp_is_kw(p, 0, SQL_KW_TIMESTAMP)) || !sqlp_is_kw(p, 1, SQL_KW_AS) ||
        !sqlp_is_kw(p, 2, SQL_KW_OF))
        return 0;
    sqlp_next(p);
    sqlp_next(p);
    sqlp_next(p);
    n->u.table.travel = version ? SQL_TRAVEL_VERSION : SQL_TRAVEL_TIMESTAMP;
    return version ? sqlp_integer_literal(p, &n->u.table.as_of)
                   : sqlp_string_literal(p, &n->u.table.as_of);
}

static int parse_table_func(sql_parser *p, const sql_name *name, sql_node **out)
{
    sql_node *n = sqlp_node(p, SQL_TABLE_FUNC, name->pos);
    if (n == NULL)
        return p->err->code;
    n->u.table_func.name = *name;
    *out = n;
    sqlp_next(p); /* ( */
    int rc;
    if (!sqlp_is(p, 0, SQL_TOK_RPAREN)) {
        do {
            sql_node *a;
            if ((rc = sqlp_expr(p, 0, &a)) != 0 ||
                (rc = sqlp_push(p, &n->u.table_func.args, a)) != 0)
                return rc;
        } while (sqlp_accept(p, SQL_TOK_COMMA));
    }
    if ((rc = sqlp_expect(p, SQL_TOK_RPAREN)) != 0)
        return rc;
    return sqlp_opt_alias(p, &n->u.table_func.alias);
}

static int parse_derived(sql_parser *p, sql_node **out)
{
    sql_node *n = sqlp_node(p, SQL_DERIVED, sqlp_next(p).pos);
    if (n == NULL)
        return p->err->code;
    *out = n;
    int rc;
    if (!sqlp_is_kw(p, 0, SQL_KW_SELECT) && !sqlp_is_kw(p, 0, SQL_KW_WITH) &&
        !sqlp_is(p, 0, SQL_TOK_LPAREN))
        return sqlp_fail_expected(p, "a subquery (SELECT or WITH)");
    if ((rc = sqlp_query(p, &n->u.derived.query)) != 0 ||
        (rc = sqlp_expect(p, SQL_TOK_RPAREN)) != 0)
        return rc;
    return sqlp_opt_alias(p, &n->u.derived.alias);
}

/* A table, table function or subquery, with its alias. */
static int parse_table_primary(sql_parser *p, sql_node **out)
{
    if (sqlp_is(p, 0, SQL_TOK_LPAREN))
        return parse_derived(p, out);
    sql_name name;
    int rc = sqlp_name(p, &name, "a table name");
    if (rc != 0)
        return rc;
    if (sqlp_is(p, 0, SQL_TOK_LPAREN))
        return parse_table_func(p, &name, out);
    if (sqlp_is(p, 0, SQL_TOK_DOT))
        return sqlp_fail_at(p, TARN_ESYNTAX, sqlp_peek(p, 0)->pos,
                            "qualified table names (schema.table) are not supported");
    sql_node *n = sqlp_node(p, SQL_TABLE_REF, name.pos);
    if (n == NULL)
        return p->err->code;
    n->u.table.name = name;
    *out = n;
    if ((rc = parse_time_travel(p, n)) != 0)
        return rc;
    return sqlp_opt_alias(p, &n->u.table.alias);
}

/* [INNER] JOIN, LEFT [OUTER] JOIN, CROSS JOIN; 1 when one was read. */
static int join_keyword(sql_parser *p, sql_join_kind *kind, int *rc)
{
    *rc = 0;
    if (sqlp_is_kw(p, 0, SQL_KW_RIGHT) || sqlp_is_kw(p, 0, SQL_KW_FULL)) {
        *rc = sqlp_fail_at(p, TARN_ESYNTAX, sqlp_peek(p, 0)->pos,
                           "%s joins are not supported (only INNER, LEFT and CROSS)",
                           sqlp_is_kw(p, 0, SQL_KW_RIGHT) ? "RIGHT" : "FULL");
        return 1;
    }
    if (sqlp_accept_kw(p, SQL_KW_JOIN)) {
        *kind = SQL_JOIN_INNER;
        return 1;
    }
    if (sqlp_is_kw(p, 0, SQL_KW_INNER) || sqlp_is_kw(p, 0, SQL_KW_CROSS)) {
        *kind = sqlp_next(p).kw == SQL_KW_INNER ? SQL_JOIN_INNER : SQL_JOIN_CROSS;
    } else if (sqlp_accept_kw(p, SQL_KW_LEFT)) {
        *kind = SQL_JOIN_LEFT;
        sqlp_accept_kw(p, SQL_KW_OUTER);
    } else {
        return 0;
    }
    *rc = sqlp_expect_kw(p, SQL_KW_JOIN);
    return 1;
}

static sql_node *join_node(sql_parser *p, sql_join_kind kind, sql_node *left)
{
    sql_node *j = sqlp_node(p, SQL_JOIN, left->pos);
    if (j != NULL) {
        j->u.join.kind = kind;
        j->u.join.left = left;
    }
    return j;
}

/* from := item { ',' item }; item := primary { join primary [ON expr] }.
 * Both build left-deep SQL_JOIN trees (the comma is a CROSS join). */
static int parse_from(sql_parser *p, sql_node **out)
{
    sql_node *left;
    int rc = parse_table_primary(p, &left);
    for (;;) {
        sql_join_kind kind = SQL_JOIN_CROSS;
        if (rc != 0)
            return rc;
        int comma = sqlp_accept(p, SQL_TOK_COMMA);
        if (!comma && !join_keyword(p, &kind, &rc)) {
            *out = left;
            return 0;
        }
        if (rc != 0)
            return rc;
        sql_node *j = join_node(p, kind, left);
        if (j == NULL)
            return p->err->code;
        if ((rc = parse_table_primary(p, &j->u.join.right)) != 0)
            return rc;
        if (kind != SQL_JOIN_CROSS && ((rc = sqlp_expect_kw(p, SQL_KW_ON)) != 0 ||
                                       (rc = sqlp_expr(p, 0, &j->u.join.on)) != 0))
            return rc;
        left = j;
    }
}

static int parse_expr_list(sql_parser *p, sql_list *l)
{
    int rc;
    do {
        sql_node *e;
        if ((rc = sqlp_expr(p, 0, &e)) != 0 || (rc = sqlp_push(p, l, e)) != 0)
            return rc;
    } while (sqlp_accept(p, SQL_TOK_COMMA));
    return 0;
}

static int parse_select(sql_parser *p, sql_node **out)
{
    sql_node *n = sqlp_node(p, SQL_SELECT, sqlp_next(p).pos);
    if (n == NULL)
        return p->err->code;
    *out = n;
    n->u.select.distinct = sqlp_accept_kw(p, SQL_KW_DISTINCT);
    if (!n->u.select.distinct)
        sqlp_accept_kw(p, SQL_KW_ALL);
    int rc;
    do {
        sql_node *item = NULL;
        if ((rc = parse_select_item(p, &item)) != 0 ||
            (rc = sqlp_push(p, &n->u.select.items, item)) != 0)
            return rc;
    } while (sqlp_accept(p, SQL_TOK_COMMA));
    if (sqlp_accept_kw(p, SQL_KW_FROM) && (rc = parse_from(p, &n->u.select.from)) != 0)
        return rc;
    if (sqlp_accept_kw(p, SQL_KW_WHERE) && (rc = sqlp_expr(p, 0, &n->u.select.where)) != 0)
        return rc;
    if (sqlp_accept_kw(p, SQL_KW_GROUP) && ((rc = sqlp_expect_kw(p, SQL_KW_BY)) != 0 ||
                                            (rc = parse_expr_list(p, &n->u.select.group_by)) != 0))
        return rc;
    if (sqlp_accept_kw(p, SQL_KW_HAVING) && (rc = sqlp_expr(p, 0, &n->u.select.having)) != 0)
        return rc;
    return 0;
}

/* SELECT ... or ( query ). */
static int parse_query_primary(sql_parser *p, sql_node **out)
{
    if (sqlp_is_kw(p, 0, SQL_KW_SELECT))
        return parse_select(p, out);
    if (!sqlp_accept(p, SQL_TOK_LPAREN)) {
        static const char *const sel[] = {"SELECT"};
        return sqlp_fail_suggest(p, "SELECT", sel, 1);
    }
    int rc = sqlp_query(p, out);
    return rc != 0 ? rc : sqlp_expect(p, SQL_TOK_RPAREN);
}

/* body { UNION ALL body }, left-deep. */
static int parse_union(sql_parser *p, sql_node **out)
{
    sql_node *left;
    int rc = parse_query_primary(p, &left);
    while (rc == 0 && sqlp_is_kw(p, 0, SQL_KW_UNION)) {
        sql_token u = sqlp_next(p);
        if (!sqlp_accept_kw(p, SQL_KW_ALL))
            return sqlp_fail_at(p, TARN_ESYNTAX, u.pos,
                                "UNION without ALL is not supported; write UNION ALL");
        sql_node *n = sqlp_node(p, SQL_UNION_ALL, left->pos);
        if (n == NULL)
            return p->err->code;
        n->u.union_all.left = left;
        rc = parse_query_primary(p, &n->u.union_all.right);
        left = n;
    }
    *out = left;
    return rc;
}

static int parse_order_item(sql_parser *p, sql_node **out)
{
    sql_node *n = sqlp_node(p, SQL_ORDER_ITEM, sqlp_peek(p, 0)->pos);
    if (n == NULL)
        return p->err->code;
    *out = n;
    int rc = sqlp_expr(p, 0, &n->u.order.expr);
    if (rc != 0)
        return rc;
    if (!sqlp_accept_kw(p, SQL_KW_ASC))
        n->u.order.desc = sqlp_accept_kw(p, SQL_KW_DESC);
    if (!sqlp_accept_kw(p, SQL_KW_NULLS))
        return 0;
    if (sqlp_accept_kw(p, SQL_KW_FIRST)) {
        n->u.order.nulls = SQL_NULLS_FIRST;
        return 0;
    }
    n->u.order.nulls = SQL_NULLS_LAST;
    static const char *const fl[] = {"FIRST", "LAST"};
    if (!sqlp_accept_kw(p, SQL_KW_LAST))
        return sqlp_fail_suggest(p, "FIRST or LAST", fl, 2);
    return 0;
}

static int parse_cte(sql_parser *p, sql_node **out)
{
    sql_node *n = sqlp_node(p, SQL_CTE, sqlp_peek(p, 0)->pos);
    if (n == NULL)
        return p->err->code;
    *out = n;
    int rc;
    if ((rc = sqlp_name(p, &n->u.cte.name, "a name for the WITH query")) != 0 ||
        (rc = sqlp_expect_kw(p, SQL_KW_AS)) != 0 || (rc = sqlp_expect(p, SQL_TOK_LPAREN)) != 0 ||
        (rc = sqlp_query(p, &n->u.cte.query)) != 0)
        return rc;
    return sqlp_expect(p, SQL_TOK_RPAREN);
}

/* The clauses after the body: ORDER BY, LIMIT, OFFSET (either order). */
static int parse_query_tail(sql_parser *p, sql_node *q)
{
    int rc;
    if (sqlp_accept_kw(p, SQL_KW_ORDER)) {
        if ((rc = sqlp_expect_kw(p, SQL_KW_BY)) != 0)
            return rc;
        do {
            sql_node *o = NULL;
            if ((rc = parse_order_item(p, &o)) != 0 ||
                (rc = sqlp_push(p, &q->u.query.order_by, o)) != 0)
                return rc;
        } while (sqlp_accept(p, SQL_TOK_COMMA));
    }
    for (int i = 0; i < 2; i++) {
        if (q->u.query.limit == NULL && sqlp_accept_kw(p, SQL_KW_LIMIT)) {
            if ((rc = sqlp_expr(p, 0, &q->u.query.limit)) != 0)
                return rc;
        } else if (q->u.query.offset == NULL && sqlp_accept_kw(p, SQL_KW_OFFSET)) {
            if ((rc = sqlp_expr(p, 0, &q->u.query.offset)) != 0)
                return rc;
        }
    }
    return 0;
}

int sqlp_query(sql_parser *p, sql_node **out)
{
    int rc = sqlp_enter(p);
    if (rc != 0)
        return rc;
    sql_node *q = sqlp_node(p, SQL_QUERY, sqlp_peek(p, 0)->pos);
    if (q == NULL) {
        rc = p->err->code;
        goto done;
    }
    if (sqlp_accept_kw(p, SQL_KW_WITH)) {
        do {
            sql_node *c = NULL;
            if ((rc = parse_cte(p, &c)) != 0 || (rc = sqlp_push(p, &q->u.query.ctes, c)) != 0)
                goto done;
        } while (sqlp_accept(p, SQL_TOK_COMMA));
    }
    if ((rc = parse_union(p, &q->u.query.body)) != 0 || (rc = parse_query_tail(p, q)) != 0)
        goto done;
    *out = q;
done:
    sqlp_leave(p);
    return rc;
}
