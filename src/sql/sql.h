/*
 * sql/sql.h: the SQL front end: lexer, parser, printers, error rendering.
 * The grammar, the precedence table, the limits and the node kinds are in
 * src/sql/README.md; the tree itself is in sql/ast.h.
 *
 * Threads: every function is reentrant; a lexer, a script and a tree belong
 * to one thread at a time.
 */
#ifndef TARN_SQL_SQL_H
#define TARN_SQL_SQL_H

#include "base/buf.h"
#include "base/error.h"
#include "sql/ast.h"

#include <stddef.h>
#include <stdint.h>

/* ---- limits --------------------------------------------------------- */

#define SQL_TEXT_MAX_BYTES  ((size_t)1 << 20) /* whole input; more: TARN_ETOOBIG */
#define SQL_NEST_MAX        200    /* parser recursion (parentheses, subqueries, NOT, -) */
#define SQL_TREE_DEPTH_MAX  500    /* nodes from a statement to its deepest leaf */
#define SQL_IDENT_MAX_BYTES 255    /* identifier length, after unquoting */
#define SQL_LIST_MAX        100000 /* items in any one list (select items, IN, VALUES) */

/* ---- errors --------------------------------------------------------- */

#define SQL_ERROR_MSG_MAX  256
#define SQL_ERROR_HINT_MAX 96

/* A front-end error: where it is and what was expected there. */
typedef struct sql_error {
    int code; /* TARN_ESYNTAX, TARN_ETOOBIG, TARN_ENOMEM; TARN_OK when none */
    sql_pos pos;
    char msg[SQL_ERROR_MSG_MAX];   /* "expected FROM, found 'FORM'" */
    char hint[SQL_ERROR_HINT_MAX]; /* "did you mean FROM?" or "" */
    int incomplete;                /* the input ended too early (end of input where more was
                                      expected, an unterminated string, identifier or comment):
                                      an interactive shell reads another line instead */
} sql_error;

/* "syntax error at line 1, column 15: expected FROM, found 'FORM' (did you
 * mean FROM?)" into buf (one line, no newline). */
int sql_error_format(const sql_error *e, tarn_buf *buf);

/* The CLI's rendering: the formatted line, then the source line holding
 * the position (a window of it when the line is long) and a caret under
 * the position, then the hint:
 *
 *   syntax error at line 1, column 15: expected FROM, found 'FORM'
 *     SELECT a, b, c FORM t
 *                    ^
 *   hint: did you mean FROM?
 *
 * `text` is the text that was parsed. TARN_ENOMEM/TARN_ETOOBIG from buf. */
int sql_error_render(const char *text, size_t len, const sql_error *e, tarn_buf *buf);

/* Copies the formatted error into a tarn_err (code and message). Returns
 * the code. */
int sql_error_to_err(const sql_error *e, tarn_err *err);

/* ---- lexer ---------------------------------------------------------- */

#define SQL_KEYWORD_TABLE(X)                                                                       \
    X(ALL, 1)                                                                                      \
    X(ANALYZE, 0)                                                                                  \
    X(AND, 1)                                                                                      \
    X(AS, 1)                                                                                       \
    X(ASC, 1)                                                                                      \
    X(BETWEEN, 1)                                                                                  \
    X(BY, 1)                                                                                       \
    X(CASE, 1)                                                                                     \
    X(CAST, 1)                                                                                     \
    X(COPY, 0)                                                                                     \
    X(CREATE, 1)                                                                                   \
    X(CROSS, 1)                                                                                    \
    X(DATE, 0)                                                                                     \
    X(DELETE, 1)                                                                                   \
    X(DESC, 1)                                                                                     \
    X(DESCRIBE, 0)                                                                                 \
    X(DISTINCT, 1)                                                                                 \
    X(DROP, 1)                                                                                     \
    X(ELSE, 1)                                                                                     \
    X(END, 1)                                                                                      \
    X(EXISTS, 0)                                                                                   \
    X(EXPLAIN, 0)                                                                                  \
    X(FALSE, 1)                                                                                    \
    X(FIRST, 0)                                                                                    \
    X(FORMAT, 0)                                                                                   \
    X(FROM, 1)                                                                                     \
    X(FULL, 1)                                                                                     \
    X(GROUP, 1)                                                                                    \
    X(HAVING, 1)                                                                                   \
    X(HISTORY, 0)                                                                                  \
    X(HOURS, 0)                                                                                    \
    X(IF, 0)                                                                                       \
    X(IN, 1)                                                                                       \
    X(INNER, 1)                                                                                    \
    X(INSERT, 1)                                                                                   \
    X(INTERVAL, 0)                                                                                 \
    X(INTO, 1)                                                                                     \
    X(IS, 1)                                                                                       \
    X(JOIN, 1)                                                                                     \
    X(LAST, 0)                                                                                     \
    X(LEFT, 1)                                                                                     \
    X(LIKE, 1)                                                                                     \
    X(LIMIT, 1)                                                                                    \
    X(NOT, 1)                                                                                      \
    X(NULL, 1)                                                                                     \
    X(NULLS, 0)                                                                                    \
    X(OF, 0)                                                                                       \
    X(OFFSET, 1)                                                                                   \
    X(ON, 1)                                                                                       \
    X(OPTIMIZE, 0)                                                                                 \
    X(OR, 1)                                                                                       \
    X(ORDER, 1)                                                                                    \
    X(OUTER, 1)                                                                                    \
    X(PARTITIONED, 0)                                                                              \
    X(RETAIN, 0)                                                                                   \
    X(RIGHT, 1)                                                                                    \
    X(SELECT, 1)                                                                                   \
    X(SET, 0)                                                                                      \
    X(SHOW, 0)                                                                                     \
    X(TABLE, 1)                                                                                    \
    X(TABLES, 0)                                                                                   \
    X(THEN, 1)                                                                                     \
    X(TIMESTAMP, 0)                                                                                \
    X(TRUE, 1)                                                                                     \
    X(UNION, 1)                                                                                    \
    X(VACUUM, 0)                                                                                   \
    X(VALUES, 1)                                                                                   \
    X(VERSION, 0)                                                                                  \
    X(WHEN, 1)                                                                                     \
    X(WHERE, 1)                                                                                    \
    X(WITH, 1)

/* Keywords; X(NAME, reserved). Reserved words cannot be identifiers unless
 * quoted; the others can (a column may be called "date" or "version"). */
typedef enum sql_keyword {
    SQL_KW_NONE = 0,
#define SQL_X_ENUM(name, reserved) SQL_KW_##name,
    SQL_KEYWORD_TABLE(SQL_X_ENUM)
#undef SQL_X_ENUM
        SQL_KW_COUNT
} sql_keyword;

const char *sql_keyword_name(sql_keyword kw); /* "SELECT" */
int sql_keyword_reserved(sql_keyword kw);
/* The keyword spelled by s[0..n) in any case, or SQL_KW_NONE. */
sql_keyword sql_keyword_lookup(const char *s, size_t n);

typedef enum sql_token_kind {
    SQL_TOK_EOF,
    SQL_TOK_ERROR,   /* a lexical error; the lexer's sql_error says which */
    SQL_TOK_WORD,    /* identifier or keyword (kw says which) */
    SQL_TOK_QIDENT,  /* "quoted identifier" */
    SQL_TOK_STRING,  /* 'string' */
    SQL_TOK_INTEGER, /* 123 */
    SQL_TOK_NUMBER,  /* 1.5, .5, 1., 1e10 */
    SQL_TOK_EQ,      /* = */
    SQL_TOK_NE,      /* <> or != */
    SQL_TOK_LT,
    SQL_TOK_LE,
    SQL_TOK_GT,
    SQL_TOK_GE,
    SQL_TOK_PLUS,
    SQL_TOK_MINUS,
    SQL_TOK_STAR,
    SQL_TOK_SLASH,
    SQL_TOK_PERCENT,
    SQL_TOK_CONCAT, /* || */
    SQL_TOK_CAST,   /* :: */
    SQL_TOK_LPAREN,
    SQL_TOK_RPAREN,
    SQL_TOK_COMMA,
    SQL_TOK_DOT,
    SQL_TOK_SEMI,
    SQL_TOK_KIND_COUNT
} sql_token_kind;

const char *sql_token_kind_name(sql_token_kind k); /* "identifier", "'<='" */

typedef struct sql_token {
    sql_token_kind kind;
    sql_keyword kw;    /* for SQL_TOK_WORD: the keyword or SQL_KW_NONE */
    int has_exponent;  /* SQL_TOK_NUMBER written with e/E */
    sql_pos pos;       /* of the first byte */
    const char *start; /* raw text, quotes included; borrowed from the input */
    uint32_t len;      /* raw length in bytes */
} sql_token;

typedef struct sql_lexer {
    const char *text;
    size_t len;
    size_t off; /* next byte to read */
    uint32_t line, col;
    sql_error err; /* set when a SQL_TOK_ERROR was returned */
} sql_lexer;

/* Starts lexing text[0..len) (no NUL needed). The text is borrowed. */
void sql_lexer_init(sql_lexer *lx, const char *text, size_t len);
/* The next token. Errors (unterminated string, quoted identifier or
 * comment, malformed number, stray character, NUL in a literal) return a
 * SQL_TOK_ERROR token positioned at the problem and fill lx->err; after
 * that the lexer keeps returning the same error. Never fails otherwise. */
sql_token sql_lexer_next(sql_lexer *lx);

/* Unescapes a STRING or QIDENT token's text (doubled quote -> one) into
 * out[0..cap); returns the length, or -1 when cap is too small. */
long sql_token_unquote(const sql_token *t, char *out, size_t cap);

/* ---- parser --------------------------------------------------------- */

/* A parsed script: the statements in order, all in one arena. */
typedef struct sql_script {
    sql_arena arena;
    sql_node **stmts;
    uint32_t *stmt_end; /* byte offset just past each statement's text */
    uint32_t count;
} sql_script;

/*
 * Parses text[0..len) (statements separated by ';'; empty statements are
 * skipped). On success *out is a script the caller frees with
 * sql_script_free. On failure *out is NULL, nothing is left allocated, and
 * `e` (may be NULL) says where and what:
 *   TARN_ESYNTAX  a lexical or syntax error
 *   TARN_ETOOBIG  text over SQL_TEXT_MAX_BYTES, nesting over SQL_NEST_MAX,
 *                 a tree deeper than SQL_TREE_DEPTH_MAX, an identifier over
 *                 SQL_IDENT_MAX_BYTES or a list over SQL_LIST_MAX items
 *   TARN_ENOMEM   allocation failed
 * The text is borrowed for the call only; the tree copies what it keeps.
 */
int sql_parse(const char *text, size_t len, sql_script **out, sql_error *e);
void sql_script_free(sql_script *s);

/* ---- printers --------------------------------------------------------
 * All three append to buf and return 0, TARN_ENOMEM or TARN_ETOOBIG (buf's
 * maximum, or a tree deeper than SQL_TREE_DEPTH_MAX + 16). */

/* The canonical, fully parenthesised S-expression form, e.g.
 * (query (select (items (item (+ a (* b 2)))) (from (table t))))
 * Stable: tests and EXPLAIN compare it as text. */
int sql_print_sexpr(const sql_node *n, tarn_buf *buf);
/* SQL text that parses back to the same tree (parentheses only where the
 * precedence table needs them). */
int sql_print_sql(const sql_node *n, tarn_buf *buf);
/* JSON: {"kind": "...", "pos": {"offset": o, "line": l, "col": c}, ...};
 * field names are stable (the stage plan will embed expressions). */
int sql_print_json(const sql_node *n, tarn_buf *buf);

#endif
