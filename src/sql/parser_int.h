/* sql/parser_int.h: the parser's private state and helpers, shared by
 * parse_util.c, parse_expr.c, parse_query.c and parse_stmt.c. */
#ifndef TARN_SQL_PARSER_INT_H
#define TARN_SQL_PARSER_INT_H

#include "sql/sql.h"

#define SQL_LOOKAHEAD 4 /* tokens the parser may peek at (it needs 3) */

typedef struct sql_parser {
    sql_lexer lx;
    sql_token ring[SQL_LOOKAHEAD]; /* lexed, not yet consumed */
    unsigned ring_head, ring_count;
    sql_token prev;    /* the last consumed token */
    uint64_t consumed; /* tokens consumed so far */
    sql_arena *arena;
    sql_error *err; /* never NULL */
    int depth;      /* current nesting, at most SQL_NEST_MAX */
    /* The last implicit alias ("SELECT a FORM t" reads FORM as an alias of
     * a): when the very next token is an error, the alias was more likely
     * a misspelled keyword, and the error names it instead. */
    sql_token alias_tok;
    uint64_t alias_next; /* value of `consumed` right after the alias; 0 none */
} sql_parser;

/* Tokens. */
const sql_token *sqlp_peek(sql_parser *p, unsigned ahead);
sql_token sqlp_next(sql_parser *p);
int sqlp_is(sql_parser *p, unsigned ahead, sql_token_kind kind);
int sqlp_is_kw(sql_parser *p, unsigned ahead, sql_keyword kw);
int sqlp_accept(sql_parser *p, sql_token_kind kind);
int sqlp_accept_kw(sql_parser *p, sql_keyword kw);
int sqlp_expect(sql_parser *p, sql_token_kind kind);
int sqlp_expect_kw(sql_parser *p, sql_keyword kw);

/* Errors: each records p->err and returns its code. */
int sqlp_fail_expected(sql_parser *p, const char *what);
/* Like sqlp_fail_expected, and suggests the closest of `cands` (lower or
 * upper case words) to the found token when it is close enough. */
int sqlp_fail_suggest(sql_parser *p, const char *what, const char *const *cands, size_t n);
int sqlp_fail_at(sql_parser *p, int code, sql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* An arena failure (TARN_ENOMEM or TARN_ETOOBIG) at the current token. */
int sqlp_fail_alloc(sql_parser *p);
/* Optimal string alignment distance, ASCII case-insensitive; large (1000)
 * for words over 32 bytes. */
int sqlp_edit_distance(const char *a, size_t an, const char *b, size_t bn);

/* Nesting: every recursive entry point calls enter/leave. */
int sqlp_enter(sql_parser *p);
void sqlp_leave(sql_parser *p);

/* Arena helpers that report failures. */
sql_node *sqlp_node(sql_parser *p, sql_node_kind kind, sql_pos pos);
int sqlp_push(sql_parser *p, sql_list *l, sql_node *n);

/* Names: an identifier that is not a reserved word, or a quoted one. */
int sqlp_is_name(sql_parser *p, unsigned ahead);
int sqlp_name(sql_parser *p, sql_name *out, const char *what);
/* [AS] alias after a select item or table. */
int sqlp_opt_alias(sql_parser *p, sql_name *out);

/* Grammar (parse_expr.c, parse_query.c, parse_stmt.c). */
int sqlp_expr(sql_parser *p, int min_prec, sql_node **out);
int sqlp_primary(sql_parser *p, sql_node **out);
int sqlp_type(sql_parser *p, sql_type *out);
int sqlp_string_literal(sql_parser *p, sql_node **out);
int sqlp_integer_literal(sql_parser *p, sql_node **out);
int sqlp_query(sql_parser *p, sql_node **out);
int sqlp_statement(sql_parser *p, sql_node **out);

#endif
