/* sql/parse_stmt.c: statements and the entry point sql_parse. */
#include "base/alloc.h"
#include "base/assert.h"
#include "base/error.h"
#include "sql/parser_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int table_name(sql_parser *p, sql_name *out)
{
    return sqlp_name(p, out, "a table name");
}

static int parse_column_def(sql_parser *p, sql_node **out)
{
    sql_node *n = sqlp_node(p, SQL_COLUMN_DEF, sqlp_peek(p, 0)->pos);
    if (n == NULL)
        return p->err->code;
    *out = n;
    int rc;
    if ((rc = sqlp_name(p, &n->u.column_def.name, "a column name")) != 0 ||
        (rc = sqlp_type(p, &n->u.column_def.type)) != 0)
        return rc;
    if (sqlp_accept_kw(p, SQL_KW_NOT)) {
        n->u.column_def.not_null = 1;
        return sqlp_expect_kw(p, SQL_KW_NULL);
    }
    return 0;
}

/* ( name {, name} ) */
static int parse_name_list(sql_parser *p, sql_name_list *l, const char *what)
{
    int rc = sqlp_expect(p, SQL_TOK_LPAREN);
    if (rc != 0)
        return rc;
    do {
        sql_name nm;
        if ((rc = sqlp_name(p, &nm, what)) != 0)
            return rc;
        if (sql_name_list_push(p->arena, l, &nm) != 0)
            return l->count >= SQL_LIST_MAX
                       ? sqlp_fail_at(p, TARN_ETOOBIG, nm.pos, "list longer than %d items",
                                      SQL_LIST_MAX)
                       : sqlp_fail_alloc(p);
    } while (sqlp_accept(p, SQL_TOK_COMMA));
    return sqlp_expect(p, SQL_TOK_RPAREN);
}

static int parse_create(sql_parser *p, sql_node *n)
{
    int rc;
    if ((rc = sqlp_expect_kw(p, SQL_KW_TABLE)) != 0)
        return rc;
    if (sqlp_accept_kw(p, SQL_KW_IF)) {
        if ((rc = sqlp_expect_kw(p, SQL_KW_NOT)) != 0 ||
            (rc = sqlp_expect_kw(p, SQL_KW_EXISTS)) != 0)
            return rc;
        n->u.create.if_not_exists = 1;
    }
    if ((rc = table_name(p, &n->u.create.name)) != 0)
        return rc;
    if (sqlp_accept_kw(p, SQL_KW_AS))
        return sqlp_query(p, &n->u.create.as_query);
    if (!sqlp_is(p, 0, SQL_TOK_LPAREN))
        return sqlp_fail_expected(p, "'(' or AS");
    sqlp_next(p);
    do {
        sql_node *c = NULL;
        if ((rc = parse_column_def(p, &c)) != 0 ||
            (rc = sqlp_push(p, &n->u.create.columns, c)) != 0)
            return rc;
    } while (sqlp_accept(p, SQL_TOK_COMMA));
    if ((rc = sqlp_expect(p, SQL_TOK_RPAREN)) != 0)
        return rc;
    if (!sqlp_accept_kw(p, SQL_KW_PARTITIONED))
        return 0;
    if ((rc = sqlp_expect_kw(p, SQL_KW_BY)) != 0)
        return rc;
    return parse_name_list(p, &n->u.create.partition_by, "a column name");
}

static int parse_values_row(sql_parser *p, sql_node **out)
{
    sql_node *r = sqlp_node(p, SQL_VALUES_ROW, sqlp_peek(p, 0)->pos);
    if (r == NULL)
        return p->err->code;
    *out = r;
    int rc = sqlp_expect(p, SQL_TOK_LPAREN);
    if (rc != 0)
        return rc;
    do {
        sql_node *e;
        if ((rc = sqlp_expr(p, 0, &e)) != 0 || (rc = sqlp_push(p, &r->u.row.values, e)) != 0)
            return rc;
    } while (sqlp_accept(p, SQL_TOK_COMMA));
    return sqlp_expect(p, SQL_TOK_RPAREN);
}

static int parse_insert(sql_parser *p, sql_node *n)
{
    int rc;
    if ((rc = sqlp_expect_kw(p, SQL_KW_INTO)) != 0 || (rc = table_name(p, &n->u.insert.table)) != 0)
        return rc;
    /* "(a, b)" is a column list; "(SELECT" a parenthesised query. */
    if (sqlp_is(p, 0, SQL_TOK_LPAREN) && !sqlp_is_kw(p, 1, SQL_KW_SELECT) &&
        !sqlp_is_kw(p, 1, SQL_KW_WITH) && !sqlp_is(p, 1, SQL_TOK_LPAREN) &&
        (rc = parse_name_list(p, &n->u.insert.columns, "a column name")) != 0)
        return rc;
    if (!sqlp_accept_kw(p, SQL_KW_VALUES)) {
        if (sqlp_is_kw(p, 0, SQL_KW_SELECT) || sqlp_is_kw(p, 0, SQL_KW_WITH) ||
            sqlp_is(p, 0, SQL_TOK_LPAREN))
            return sqlp_query(p, &n->u.insert.query);
        static const char *const c[] = {"VALUES", "SELECT"};
        return sqlp_fail_suggest(p, "VALUES or SELECT", c, 2);
    }
    do {
        sql_node *r = NULL;
        if ((rc = parse_values_row(p, &r)) != 0 || (rc = sqlp_push(p, &n->u.insert.rows, r)) != 0)
            return rc;
    } while (sqlp_accept(p, SQL_TOK_COMMA));
    return 0;
}

static int parse_copy(sql_parser *p, sql_node *n)
{
    int rc;
    if ((rc = table_name(p, &n->u.copy.table)) != 0 || (rc = sqlp_expect_kw(p, SQL_KW_FROM)) != 0 ||
        (rc = sqlp_string_literal(p, &n->u.copy.path)) != 0)
        return rc;
    if (!sqlp_accept(p, SQL_TOK_LPAREN))
        return 0;
    if ((rc = sqlp_expect_kw(p, SQL_KW_FORMAT)) != 0)
        return rc;
    static const char *const fmts[] = {"csv", "parquet", "json"};
    const sql_token *t = sqlp_peek(p, 0);
    for (size_t i = 0; t->kind == SQL_TOK_WORD && i < 3; i++) {
        if (strlen(fmts[i]) == t->len && strncasecmp(fmts[i], t->start, t->len) == 0) {
            n->u.copy.format = (sql_copy_format)(SQL_FORMAT_CSV + (int)i);
            sqlp_next(p);
            return sqlp_expect(p, SQL_TOK_RPAREN);
        }
    }
    return sqlp_fail_suggest(p, "a format (csv, parquet or json)", fmts, 3);
}

static int parse_vacuum(sql_parser *p, sql_node *n)
{
    int rc;
    if ((rc = table_name(p, &n->u.vacuum.table)) != 0 || !sqlp_accept_kw(p, SQL_KW_RETAIN))
        return rc;
    if ((rc = sqlp_integer_literal(p, &n->u.vacuum.retain_hours)) != 0)
        return rc;
    return sqlp_expect_kw(p, SQL_KW_HOURS);
}

/* SET name = integer (a session setting: threads). */
static int parse_set(sql_parser *p, sql_node *n)
{
    int rc = sqlp_name(p, &n->u.set.name, "a setting name");
    if (rc == 0)
        rc = sqlp_expect(p, SQL_TOK_EQ);
    return rc != 0 ? rc : sqlp_integer_literal(p, &n->u.set.value);
}

static int parse_describe(sql_parser *p, sql_node *n)
{
    /* DESCRIBE HISTORY t, but DESCRIBE history is the table "history". */
    if (sqlp_is_kw(p, 0, SQL_KW_HISTORY) && sqlp_is_name(p, 1)) {
        sqlp_next(p);
        n->u.describe.history = 1;
    }
    return table_name(p, &n->u.describe.table);
}

static int parse_drop(sql_parser *p, sql_node *n)
{
    int rc;
    if ((rc = sqlp_expect_kw(p, SQL_KW_TABLE)) != 0)
        return rc;
    if (sqlp_accept_kw(p, SQL_KW_IF)) {
        if ((rc = sqlp_expect_kw(p, SQL_KW_EXISTS)) != 0)
            return rc;
        n->u.drop.if_exists = 1;
    }
    return table_name(p, &n->u.drop.table);
}

static int parse_delete(sql_parser *p, sql_node *n)
{
    int rc;
    if ((rc = sqlp_expect_kw(p, SQL_KW_FROM)) != 0 ||
        (rc = table_name(p, &n->u.delete_.table)) != 0)
        return rc;
    if (sqlp_accept_kw(p, SQL_KW_WHERE))
        return sqlp_expr(p, 0, &n->u.delete_.where);
    return 0;
}

static int parse_explain(sql_parser *p, sql_node *n)
{
    n->u.explain.analyze = sqlp_accept_kw(p, SQL_KW_ANALYZE);
    if (!sqlp_is_kw(p, 0, SQL_KW_SELECT) && !sqlp_is_kw(p, 0, SQL_KW_WITH) &&
        !sqlp_is(p, 0, SQL_TOK_LPAREN)) {
        static const char *const sel[] = {"SELECT"};
        return sqlp_fail_suggest(p, "a query after EXPLAIN", sel, 1);
    }
    return sqlp_query(p, &n->u.explain.stmt);
}

static const struct {
    sql_keyword kw;
    sql_node_kind kind;
    int (*parse)(sql_parser *p, sql_node *n);
} stmt_table[] = {
    {SQL_KW_CREATE, SQL_CREATE_TABLE, parse_create},
    {SQL_KW_INSERT, SQL_INSERT, parse_insert},
    {SQL_KW_COPY, SQL_COPY, parse_copy},
    {SQL_KW_DELETE, SQL_DELETE, parse_delete},
    {SQL_KW_DROP, SQL_DROP_TABLE, parse_drop},
    {SQL_KW_SHOW, SQL_SHOW_TABLES, NULL},
    {SQL_KW_DESCRIBE, SQL_DESCRIBE, parse_describe},
    {SQL_KW_OPTIMIZE, SQL_OPTIMIZE, NULL},
    {SQL_KW_VACUUM, SQL_VACUUM, parse_vacuum},
    {SQL_KW_EXPLAIN, SQL_EXPLAIN, parse_explain},
    {SQL_KW_SET, SQL_SET, parse_set},
};

static const char *const stmt_words[] = {"SELECT", "WITH",    "INSERT", "CREATE",   "COPY",
                                         "DELETE", "DROP",    "SHOW",   "DESCRIBE", "OPTIMIZE",
                                         "VACUUM", "EXPLAIN", "SET"};

int sqlp_statement(sql_parser *p, sql_node **out)
{
    if (sqlp_is_kw(p, 0, SQL_KW_SELECT) || sqlp_is_kw(p, 0, SQL_KW_WITH) ||
        sqlp_is(p, 0, SQL_TOK_LPAREN))
        return sqlp_query(p, out);
    size_t i = 0;
    while (i < sizeof(stmt_table) / sizeof(*stmt_table) && !sqlp_is_kw(p, 0, stmt_table[i].kw))
        i++;
    if (i == sizeof(stmt_table) / sizeof(*stmt_table))
        return sqlp_fail_suggest(p, "a statement", stmt_words,
                                 sizeof(stmt_words) / sizeof(*stmt_words));
    sql_node *n = sqlp_node(p, stmt_table[i].kind, sqlp_next(p).pos);
    if (n == NULL)
        return p->err->code;
    *out = n;
    if (n->kind == SQL_SHOW_TABLES)
        return sqlp_expect_kw(p, SQL_KW_TABLES);
    if (n->kind == SQL_OPTIMIZE)
        return table_name(p, &n->u.optimize.table);
    return stmt_table[i].parse(p, n);
}

static const char *const tail_words[] = {"FROM",  "WHERE",  "GROUP", "HAVING", "ORDER",
                                         "LIMIT", "OFFSET", "UNION", "JOIN",   "ON"};

/* Appends a statement and its end offset to the script. */
static int script_push(sql_parser *p, sql_script *s, uint32_t *cap, sql_node *st, uint32_t end)
{
    if (s->count == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 8;
        sql_node **stmts = sql_arena_alloc(p->arena, ncap * sizeof(*stmts));
        uint32_t *ends = sql_arena_alloc(p->arena, ncap * sizeof(*ends));
        if (stmts == NULL || ends == NULL)
            return sqlp_fail_alloc(p);
        if (s->count > 0) {
            memcpy(stmts, s->stmts, s->count * sizeof(*stmts));
            memcpy(ends, s->stmt_end, s->count * sizeof(*ends));
        }
        s->stmts = stmts;
        s->stmt_end = ends;
        *cap = ncap;
    }
    s->stmts[s->count] = st;
    s->stmt_end[s->count++] = end;
    return 0;
}

/* One statement, its terminator and the depth of its tree. */
static int parse_one(sql_parser *p, sql_script *s, uint32_t *cap)
{
    sql_node *st;
    int rc = sqlp_statement(p, &st);
    if (rc != 0)
        return rc;
    if (!sqlp_is(p, 0, SQL_TOK_SEMI) && !sqlp_is(p, 0, SQL_TOK_EOF))
        return sqlp_fail_suggest(p, "';' or end of input", tail_words,
                                 sizeof(tail_words) / sizeof(*tail_words));
    const sql_node *deep = NULL;
    if (sql_tree_check_depth(st, SQL_TREE_DEPTH_MAX, &deep) != 0)
        return sqlp_fail_at(p, TARN_ETOOBIG, deep->pos,
                            "expression nested too deeply (more than %d levels)",
                            SQL_TREE_DEPTH_MAX);
    return script_push(p, s, cap, st, p->prev.pos.offset + p->prev.len);
}

int sql_parse(const char *text, size_t len, sql_script **out, sql_error *e)
{
    sql_error local;
    if (e == NULL)
        e = &local;
    memset(e, 0, sizeof(*e));
    *out = NULL;
    e->pos = (sql_pos){0, 1, 1};
    TARN_ASSERT(text != NULL || len == 0);
    if (text == NULL)
        text = ""; /* no arithmetic on a null pointer below */
    if (len > SQL_TEXT_MAX_BYTES) {
        e->code = TARN_ETOOBIG;
        snprintf(e->msg, sizeof(e->msg), "statement text of %zu bytes exceeds the limit of %zu",
                 len, SQL_TEXT_MAX_BYTES);
        return e->code;
    }
    sql_script *s = tarn_calloc(1, sizeof(*s));
    if (s == NULL) {
        e->code = TARN_ENOMEM;
        snprintf(e->msg, sizeof(e->msg), "out of memory while parsing");
        return e->code;
    }
    sql_arena_init(&s->arena, SQL_ARENA_MAX_BYTES);
    sql_parser p = {.arena = &s->arena, .err = e};
    sql_lexer_init(&p.lx, text, len);
    uint32_t cap = 0;
    int rc = 0;
    for (;;) {
        while (sqlp_accept(&p, SQL_TOK_SEMI))
            ;
        if (sqlp_is(&p, 0, SQL_TOK_EOF))
            break;
        if ((rc = parse_one(&p, s, &cap)) != 0)
            break;
    }
    if (rc != 0) {
        sql_script_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sql_script_free(sql_script *s)
{
    if (s == NULL)
        return;
    sql_arena_free(&s->arena);
    tarn_free(s);
}
