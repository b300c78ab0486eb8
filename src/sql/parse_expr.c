/* sql/parse_expr.c: expressions by precedence climbing (README.md has the
 * precedence table, ast.h SQL_OP_TABLE holds it). Every recursive entry
 * goes through sqlp_enter, so nesting is bounded by SQL_NEST_MAX;
 * left-associative chains are loops, and the tree depth they build is
 * checked once per statement (sql_tree_check_depth). */
#include "base/error.h"
#include "sql/literal.h"
#include "sql/parser_int.h"

#include <stdlib.h>
#include <string.h>

/* The operator a token starts, with its precedence; 0 when none. */
static int infix_prec(sql_parser *p, sql_op *op)
{
    const sql_token *t = sqlp_peek(p, 0);
    static const struct {
        sql_token_kind tok;
        sql_op op;
    } sym[] = {
        {SQL_TOK_EQ, SQL_OP_EQ},         {SQL_TOK_NE, SQL_OP_NE},     {SQL_TOK_LT, SQL_OP_LT},
        {SQL_TOK_LE, SQL_OP_LE},         {SQL_TOK_GT, SQL_OP_GT},     {SQL_TOK_GE, SQL_OP_GE},
        {SQL_TOK_CONCAT, SQL_OP_CONCAT}, {SQL_TOK_PLUS, SQL_OP_ADD},  {SQL_TOK_MINUS, SQL_OP_SUB},
        {SQL_TOK_STAR, SQL_OP_MUL},      {SQL_TOK_SLASH, SQL_OP_DIV}, {SQL_TOK_PERCENT, SQL_OP_MOD},
    };
    for (size_t i = 0; i < sizeof(sym) / sizeof(sym[0]); i++) {
        if (t->kind == sym[i].tok) {
            *op = sym[i].op;
            return sql_op_prec(*op);
        }
    }
    if (t->kind == SQL_TOK_CAST)
        return SQL_PREC_CAST;
    if (t->kind != SQL_TOK_WORD)
        return 0;
    switch (t->kw) {
    case SQL_KW_OR:
        *op = SQL_OP_OR;
        return sql_op_prec(*op);
    case SQL_KW_AND:
        *op = SQL_OP_AND;
        return sql_op_prec(*op);
    case SQL_KW_IS:
        return SQL_PREC_IS;
    case SQL_KW_BETWEEN:
    case SQL_KW_IN:
    case SQL_KW_LIKE:
        return SQL_PREC_RANGE;
    case SQL_KW_NOT:
        if (sqlp_is_kw(p, 1, SQL_KW_BETWEEN) || sqlp_is_kw(p, 1, SQL_KW_IN) ||
            sqlp_is_kw(p, 1, SQL_KW_LIKE))
            return SQL_PREC_RANGE;
        return 0;
    default:
        return 0;
    }
}

static int parse_in_list(sql_parser *p, sql_node *n)
{
    int rc = sqlp_expect(p, SQL_TOK_LPAREN);
    if (rc != 0)
        return rc;
    if (sqlp_is_kw(p, 0, SQL_KW_SELECT) || sqlp_is_kw(p, 0, SQL_KW_WITH))
        return sqlp_fail_at(p, TARN_ESYNTAX, sqlp_peek(p, 0)->pos,
                            "subqueries in IN are not supported; use a list of values");
    do {
        sql_node *e;
        if ((rc = sqlp_expr(p, 0, &e)) != 0 || (rc = sqlp_push(p, &n->u.in_list.list, e)) != 0)
            return rc;
    } while (sqlp_accept(p, SQL_TOK_COMMA));
    return sqlp_expect(p, SQL_TOK_RPAREN);
}

/* [NOT] BETWEEN / IN / LIKE, with `left` already parsed. */
static int parse_range(sql_parser *p, sql_node *left, sql_node **out)
{
    sql_pos op_pos = sqlp_peek(p, 0)->pos;
    int negated = sqlp_accept_kw(p, SQL_KW_NOT);
    sql_token t = sqlp_next(p);
    sql_node *n = sqlp_node(p,
                            t.kw == SQL_KW_BETWEEN ? SQL_BETWEEN
                            : t.kw == SQL_KW_IN    ? SQL_IN_LIST
                                                   : SQL_LIKE,
                            left->pos);
    if (n == NULL)
        return p->err->code;
    n->op_pos = op_pos;
    int rc = 0;
    if (t.kw == SQL_KW_BETWEEN) {
        n->u.between.arg = left;
        n->u.between.negated = negated;
        if ((rc = sqlp_expr(p, SQL_PREC_RANGE + 1, &n->u.between.lo)) != 0 ||
            (rc = sqlp_expect_kw(p, SQL_KW_AND)) != 0 ||
            (rc = sqlp_expr(p, SQL_PREC_RANGE + 1, &n->u.between.hi)) != 0)
            return rc;
    } else if (t.kw == SQL_KW_IN) {
        n->u.in_list.arg = left;
        n->u.in_list.negated = negated;
        if ((rc = parse_in_list(p, n)) != 0)
            return rc;
    } else {
        n->u.like.arg = left;
        n->u.like.negated = negated;
        if ((rc = sqlp_expr(p, SQL_PREC_RANGE + 1, &n->u.like.pattern)) != 0)
            return rc;
    }
    *out = n;
    return 0;
}

/* One step of the operator loop: `left` op ... -> *out. */
static int parse_infix(sql_parser *p, int prec, sql_op op, sql_node *left, sql_node **out)
{
    int rc;
    sql_pos op_pos = sqlp_peek(p, 0)->pos;
    if (prec == SQL_PREC_RANGE)
        return parse_range(p, left, out);
    if (prec == SQL_PREC_IS) {
        sqlp_next(p);
        sql_node *n = sqlp_node(p, SQL_IS_NULL, left->pos);
        if (n == NULL)
            return p->err->code;
        n->op_pos = op_pos;
        n->u.is_null.arg = left;
        n->u.is_null.negated = sqlp_accept_kw(p, SQL_KW_NOT);
        *out = n;
        return sqlp_expect_kw(p, SQL_KW_NULL);
    }
    if (prec == SQL_PREC_CAST) {
        sqlp_next(p);
        sql_node *n = sqlp_node(p, SQL_CAST, left->pos);
        if (n == NULL)
            return p->err->code;
        n->op_pos = op_pos;
        n->u.cast.arg = left;
        n->u.cast.colon_syntax = 1;
        *out = n;
        return sqlp_type(p, &n->u.cast.type);
    }
    sqlp_next(p);
    sql_node *n = sqlp_node(p, SQL_BINARY, left->pos);
    if (n == NULL)
        return p->err->code;
    n->op_pos = op_pos;
    n->u.binary.op = op;
    n->u.binary.left = left;
    /* Left-associative: the right side binds only tighter operators. */
    if ((rc = sqlp_expr(p, prec + 1, &n->u.binary.right)) != 0)
        return rc;
    *out = n;
    return 0;
}

static int parse_prefix(sql_parser *p, sql_node **out);

int sqlp_expr(sql_parser *p, int min_prec, sql_node **out)
{
    int rc = sqlp_enter(p);
    if (rc != 0)
        return rc;
    sql_node *left = NULL;
    if ((rc = parse_prefix(p, &left)) != 0)
        goto done;
    for (;;) {
        sql_op op = SQL_OP_OR;
        int prec = infix_prec(p, &op);
        if (prec == 0 || prec < min_prec)
            break;
        if ((rc = parse_infix(p, prec, op, left, &left)) != 0)
            goto done;
    }
    *out = left;
done:
    sqlp_leave(p);
    return rc;
}

static int parse_prefix(sql_parser *p, sql_node **out)
{
    const sql_token *t = sqlp_peek(p, 0);
    sql_op op;
    int prec;
    if (t->kind == SQL_TOK_WORD && t->kw == SQL_KW_NOT) {
        op = SQL_OP_NOT;
        prec = sql_op_prec(op);
    } else if (t->kind == SQL_TOK_MINUS || t->kind == SQL_TOK_PLUS) {
        op = t->kind == SQL_TOK_MINUS ? SQL_OP_NEG : SQL_OP_PLUS;
        prec = SQL_PREC_UNARY;
    } else {
        return sqlp_primary(p, out);
    }
    sql_node *n = sqlp_node(p, SQL_UNARY, t->pos);
    if (n == NULL)
        return p->err->code;
    sqlp_next(p);
    n->u.unary.op = op;
    *out = n;
    return sqlp_expr(p, prec, &n->u.unary.arg);
}
