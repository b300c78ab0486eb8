/* sql/parse_primary.c: the atoms of expressions: literals, names, function
 * calls, CASE, CAST, parenthesised expressions; and type names. */
#include "base/error.h"
#include "sql/literal.h"
#include "sql/parser_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A literal node holding the raw token text. */
static sql_node *lit_node(sql_parser *p, const sql_token *t, sql_lit_kind kind)
{
    sql_node *n = sqlp_node(p, SQL_LITERAL, t->pos);
    if (n == NULL)
        return NULL;
    n->u.lit.kind = kind;
    n->u.lit.text = sql_arena_strndup(p->arena, t->start, t->len);
    if (n->u.lit.text == NULL) {
        sqlp_fail_alloc(p);
        return NULL;
    }
    return n;
}

/* The unescaped value of a string token, in the arena. */
static const char *string_value(sql_parser *p, const sql_token *t, size_t *len)
{
    char *s = sql_arena_alloc(p->arena, t->len);
    if (s == NULL) {
        sqlp_fail_alloc(p);
        return NULL;
    }
    long n = sql_token_unquote(t, s, t->len);
    *len = (size_t)n; /* cannot fail: the value is shorter than the token */
    return s;
}

static int number_literal(sql_parser *p, sql_node **out)
{
    sql_token t = sqlp_next(p);
    int64_t v;
    int is_int = t.kind == SQL_TOK_INTEGER && sql_lit_parse_int64(t.start, t.len, &v) == 0;
    sql_node *n = lit_node(p, &t,
                           is_int           ? SQL_LIT_INT
                           : t.has_exponent ? SQL_LIT_DOUBLE
                                            : SQL_LIT_DECIMAL);
    if (n == NULL)
        return p->err->code;
    if (is_int)
        n->u.lit.ival = v;
    /* Digits too long for int64 stay exact in text (a DECIMAL for the
     * binder); dval is the nearest double. */
    n->u.lit.dval = is_int ? (double)v : strtod(n->u.lit.text, NULL);
    *out = n;
    return 0;
}

int sqlp_string_literal(sql_parser *p, sql_node **out)
{
    if (!sqlp_is(p, 0, SQL_TOK_STRING))
        return sqlp_fail_expected(p, "a string literal");
    sql_token t = sqlp_next(p);
    sql_node *n = lit_node(p, &t, SQL_LIT_STRING);
    size_t len;
    if (n == NULL || (n->u.lit.str = string_value(p, &t, &len)) == NULL)
        return p->err->code;
    *out = n;
    return 0;
}

int sqlp_integer_literal(sql_parser *p, sql_node **out)
{
    if (!sqlp_is(p, 0, SQL_TOK_INTEGER))
        return sqlp_fail_expected(p, "an integer");
    const sql_token *t = sqlp_peek(p, 0);
    int64_t v;
    if (sql_lit_parse_int64(t->start, t->len, &v) != 0)
        return sqlp_fail_at(p, TARN_ESYNTAX, t->pos, "integer out of range: %.*s",
                            (int)(t->len > 40 ? 40 : t->len), t->start);
    return number_literal(p, out);
}

static const char *const unit_words[] = {"year",  "month",  "day",  "hour",  "minute",  "second",
                                         "years", "months", "days", "hours", "minutes", "seconds"};

static int interval_unit(sql_parser *p, sql_node *n)
{
    const sql_token *t = sqlp_peek(p, 0);
    for (size_t i = 0; t->kind == SQL_TOK_WORD && i < sizeof(unit_words) / sizeof(*unit_words);
         i++) {
        if (strlen(unit_words[i]) == t->len && strncasecmp(unit_words[i], t->start, t->len) == 0) {
            n->u.lit.unit = (sql_interval_unit)(i % 6);
            sqlp_next(p);
            return 0;
        }
    }
    return sqlp_fail_suggest(p, "an interval unit (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND)",
                             unit_words, 6);
}

/* DATE '...', TIMESTAMP '...', INTERVAL '...' unit. */
static int typed_literal(sql_parser *p, sql_node **out)
{
    sql_token kw = sqlp_next(p);
    sql_token t = sqlp_next(p);
    sql_lit_kind kind = kw.kw == SQL_KW_DATE        ? SQL_LIT_DATE
                        : kw.kw == SQL_KW_TIMESTAMP ? SQL_LIT_TIMESTAMP
                                                    : SQL_LIT_INTERVAL;
    sql_node *n = lit_node(p, &t, kind);
    size_t len;
    if (n == NULL || (n->u.lit.str = string_value(p, &t, &len)) == NULL)
        return p->err->code;
    n->pos = kw.pos;
    *out = n;
    const char *s = n->u.lit.str;
    if (kind == SQL_LIT_DATE && sql_lit_parse_date(s, len, &n->u.lit.ival) != 0)
        return sqlp_fail_at(p, TARN_ESYNTAX, t.pos, "invalid date %s: expected 'YYYY-MM-DD'",
                            n->u.lit.text);
    if (kind == SQL_LIT_TIMESTAMP && sql_lit_parse_timestamp(s, len, &n->u.lit.ival) != 0)
        return sqlp_fail_at(p, TARN_ESYNTAX, t.pos,
                            "invalid timestamp %s: expected 'YYYY-MM-DD HH:MM:SS[.ffffff]'",
                            n->u.lit.text);
    if (kind != SQL_LIT_INTERVAL)
        return 0;
    if (sql_lit_parse_interval_count(s, len, &n->u.lit.ival) != 0)
        return sqlp_fail_at(p, TARN_ESYNTAX, t.pos,
                            "invalid interval %s: expected a whole number such as '90'",
                            n->u.lit.text);
    return interval_unit(p, n);
}

static int parse_case(sql_parser *p, sql_node **out)
{
    sql_node *n = sqlp_node(p, SQL_CASE, sqlp_next(p).pos);
    if (n == NULL)
        return p->err->code;
    int rc;
    if (!sqlp_is_kw(p, 0, SQL_KW_WHEN) && (rc = sqlp_expr(p, 0, &n->u.case_.operand)) != 0)
        return rc;
    if (!sqlp_is_kw(p, 0, SQL_KW_WHEN))
        return sqlp_expect_kw(p, SQL_KW_WHEN);
    while (sqlp_is_kw(p, 0, SQL_KW_WHEN)) {
        sql_node *w = sqlp_node(p, SQL_WHEN, sqlp_next(p).pos);
        if (w == NULL)
            return p->err->code;
        if ((rc = sqlp_expr(p, 0, &w->u.when.cond)) != 0 ||
            (rc = sqlp_expect_kw(p, SQL_KW_THEN)) != 0 ||
            (rc = sqlp_expr(p, 0, &w->u.when.result)) != 0 ||
            (rc = sqlp_push(p, &n->u.case_.whens, w)) != 0)
            return rc;
    }
    if (sqlp_accept_kw(p, SQL_KW_ELSE) && (rc = sqlp_expr(p, 0, &n->u.case_.else_expr)) != 0)
        return rc;
    *out = n;
    return sqlp_expect_kw(p, SQL_KW_END);
}

static int parse_cast(sql_parser *p, sql_node **out)
{
    sql_node *n = sqlp_node(p, SQL_CAST, sqlp_next(p).pos);
    if (n == NULL)
        return p->err->code;
    int rc;
    if ((rc = sqlp_expect(p, SQL_TOK_LPAREN)) != 0 || (rc = sqlp_expr(p, 0, &n->u.cast.arg)) != 0 ||
        (rc = sqlp_expect_kw(p, SQL_KW_AS)) != 0 || (rc = sqlp_type(p, &n->u.cast.type)) != 0)
        return rc;
    *out = n;
    return sqlp_expect(p, SQL_TOK_RPAREN);
}

/* extract(field FROM x); `name` is already consumed. */
static int parse_extract(sql_parser *p, const sql_name *name, sql_node **out)
{
    sql_node *n = sqlp_node(p, SQL_EXTRACT, name->pos);
    if (n == NULL)
        return p->err->code;
    int rc;
    sqlp_next(p); /* ( */
    if ((rc = sqlp_name(p, &n->u.extract.field, "a date part (year, month, day, ...)")) != 0 ||
        (rc = sqlp_expect_kw(p, SQL_KW_FROM)) != 0 ||
        (rc = sqlp_expr(p, 0, &n->u.extract.arg)) != 0)
        return rc;
    *out = n;
    return sqlp_expect(p, SQL_TOK_RPAREN);
}

/* name(...): count(*), f(DISTINCT x), f(), f(a, b). */
static int parse_call(sql_parser *p, const sql_name *name, sql_node **out)
{
    if (!name->quoted && strcmp(name->folded, "extract") == 0)
        return parse_extract(p, name, out);
    sql_node *n = sqlp_node(p, SQL_CALL, name->pos);
    if (n == NULL)
        return p->err->code;
    n->u.call.name = *name;
    *out = n;
    sqlp_next(p); /* ( */
    if (sqlp_accept(p, SQL_TOK_STAR)) {
        n->u.call.star = 1;
        return sqlp_expect(p, SQL_TOK_RPAREN);
    }
    if (sqlp_accept(p, SQL_TOK_RPAREN))
        return 0;
    n->u.call.distinct = sqlp_accept_kw(p, SQL_KW_DISTINCT);
    if (!n->u.call.distinct)
        sqlp_accept_kw(p, SQL_KW_ALL); /* f(ALL x) is f(x) */
    int rc;
    do {
        sql_node *a;
        if ((rc = sqlp_expr(p, 0, &a)) != 0 || (rc = sqlp_push(p, &n->u.call.args, a)) != 0)
            return rc;
    } while (sqlp_accept(p, SQL_TOK_COMMA));
    return sqlp_expect(p, SQL_TOK_RPAREN);
}

/* A column (a, t.a), or a function call. */
static int parse_name_expr(sql_parser *p, sql_node **out)
{
    sql_name first;
    int rc = sqlp_name(p, &first, "an expression");
    if (rc != 0)
        return rc;
    if (sqlp_is(p, 0, SQL_TOK_LPAREN))
        return parse_call(p, &first, out);
    sql_node *n = sqlp_node(p, SQL_COLUMN, first.pos);
    if (n == NULL)
        return p->err->code;
    *out = n;
    if (!sqlp_accept(p, SQL_TOK_DOT)) {
        n->u.column.column = first;
        return 0;
    }
    if (sqlp_is(p, 0, SQL_TOK_STAR))
        return sqlp_fail_at(p, TARN_ESYNTAX, sqlp_peek(p, 0)->pos,
                            "%s.* is allowed only as a select item", first.text);
    n->u.column.table = first;
    return sqlp_name(p, &n->u.column.column, "a column name");
}

static int keyword_literal(sql_parser *p, sql_node **out)
{
    sql_token t = sqlp_next(p);
    sql_node *n = lit_node(p, &t, t.kw == SQL_KW_NULL ? SQL_LIT_NULL : SQL_LIT_BOOL);
    if (n == NULL)
        return p->err->code;
    n->u.lit.bval = t.kw == SQL_KW_TRUE;
    *out = n;
    return 0;
}

static int parse_paren(sql_parser *p, sql_node **out)
{
    sqlp_next(p);
    if (sqlp_is_kw(p, 0, SQL_KW_SELECT) || sqlp_is_kw(p, 0, SQL_KW_WITH))
        return sqlp_fail_at(p, TARN_ESYNTAX, sqlp_peek(p, 0)->pos,
                            "subqueries in expressions are not supported (only in FROM)");
    int rc = sqlp_expr(p, 0, out);
    return rc != 0 ? rc : sqlp_expect(p, SQL_TOK_RPAREN);
}

int sqlp_primary(sql_parser *p, sql_node **out)
{
    const sql_token *t = sqlp_peek(p, 0);
    switch (t->kind) {
    case SQL_TOK_INTEGER:
    case SQL_TOK_NUMBER:
        return number_literal(p, out);
    case SQL_TOK_STRING:
        return sqlp_string_literal(p, out);
    case SQL_TOK_LPAREN:
        return parse_paren(p, out);
    case SQL_TOK_QIDENT:
        return parse_name_expr(p, out);
    case SQL_TOK_WORD:
        break;
    default:
        return sqlp_fail_expected(p, "an expression");
    }
    switch (t->kw) {
    case SQL_KW_NULL:
    case SQL_KW_TRUE:
    case SQL_KW_FALSE:
        return keyword_literal(p, out);
    case SQL_KW_CASE:
        return parse_case(p, out);
    case SQL_KW_CAST:
        return parse_cast(p, out);
    case SQL_KW_DATE:
    case SQL_KW_TIMESTAMP:
    case SQL_KW_INTERVAL:
        /* Only before a string: otherwise a column named date. */
        if (sqlp_is(p, 1, SQL_TOK_STRING))
            return typed_literal(p, out);
        return parse_name_expr(p, out);
    default:
        return parse_name_expr(p, out);
    }
}
