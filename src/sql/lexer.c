/* sql/lexer.c: SQL tokens with positions (sql.h). The lexer never
 * allocates: tokens point into the caller's text, and the parser unquotes
 * what it keeps. Comments are -- to end of line and non-nesting
 * slash-star ... star-slash. */
#include "base/assert.h"
#include "base/error.h"
#include "sql/sql.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    int reserved;
} keywords[] = {{"", 0},
#define SQL_X_KW(name, reserved) {#name, reserved},
                SQL_KEYWORD_TABLE(SQL_X_KW)
#undef SQL_X_KW
};

const char *sql_keyword_name(sql_keyword kw)
{
    return (size_t)kw < TARN_ARRAY_LEN(keywords) ? keywords[kw].name : "";
}

int sql_keyword_reserved(sql_keyword kw)
{
    return (size_t)kw < TARN_ARRAY_LEN(keywords) ? keywords[kw].reserved : 0;
}

sql_keyword sql_keyword_lookup(const char *s, size_t n)
{
    /* The table is sorted, so a binary search would do; the linear scan
     * over 70 short words is cheap next to the rest of parsing. */
    if (n == 0)
        return SQL_KW_NONE;
    for (size_t i = 1; i < TARN_ARRAY_LEN(keywords); i++) {
        if (strlen(keywords[i].name) == n && strncasecmp(keywords[i].name, s, n) == 0)
            return (sql_keyword)i;
    }
    return SQL_KW_NONE;
}

static const char *const token_names[SQL_TOK_KIND_COUNT] = {
    [SQL_TOK_EOF] = "end of input", [SQL_TOK_ERROR] = "invalid token",
    [SQL_TOK_WORD] = "identifier",  [SQL_TOK_QIDENT] = "quoted identifier",
    [SQL_TOK_STRING] = "string",    [SQL_TOK_INTEGER] = "integer",
    [SQL_TOK_NUMBER] = "number",    [SQL_TOK_EQ] = "'='",
    [SQL_TOK_NE] = "'<>'",          [SQL_TOK_LT] = "'<'",
    [SQL_TOK_LE] = "'<='",          [SQL_TOK_GT] = "'>'",
    [SQL_TOK_GE] = "'>='",          [SQL_TOK_PLUS] = "'+'",
    [SQL_TOK_MINUS] = "'-'",        [SQL_TOK_STAR] = "'*'",
    [SQL_TOK_SLASH] = "'/'",        [SQL_TOK_PERCENT] = "'%'",
    [SQL_TOK_CONCAT] = "'||'",      [SQL_TOK_CAST] = "'::'",
    [SQL_TOK_LPAREN] = "'('",       [SQL_TOK_RPAREN] = "')'",
    [SQL_TOK_COMMA] = "','",        [SQL_TOK_DOT] = "'.'",
    [SQL_TOK_SEMI] = "';'",
};

const char *sql_token_kind_name(sql_token_kind k)
{
    return (size_t)k < SQL_TOK_KIND_COUNT ? token_names[k] : "?";
}

void sql_lexer_init(sql_lexer *lx, const char *text, size_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->text = text;
    lx->len = len;
    lx->line = 1;
    lx->col = 1;
}

static int peek_at(const sql_lexer *lx, size_t ahead)
{
    return lx->off + ahead < lx->len ? (unsigned char)lx->text[lx->off + ahead] : -1;
}

static void advance(sql_lexer *lx, size_t n)
{
    for (size_t i = 0; i < n && lx->off < lx->len; i++) {
        if (lx->text[lx->off++] == '\n') {
            lx->line++;
            lx->col = 1;
        } else {
            lx->col++;
        }
    }
}

static sql_pos here(const sql_lexer *lx)
{
    return (sql_pos){(uint32_t)lx->off, lx->line, lx->col};
}

static sql_token lex_error(sql_lexer *lx, sql_pos pos, const char *fmt, const char *arg)
{
    lx->err.code = TARN_ESYNTAX;
    lx->err.pos = pos;
    snprintf(lx->err.msg, sizeof(lx->err.msg), fmt, arg);
    lx->err.hint[0] = '\0';
    lx->err.incomplete = 0;
    /* Sticky: park at the end so every later call returns this error. */
    lx->off = lx->len;
    return (sql_token){.kind = SQL_TOK_ERROR, .pos = pos, .start = lx->text + pos.offset};
}

/* Skips blanks and comments. Returns 0, or -1 for an unterminated block
 * comment (at *start). */
static int skip_space(sql_lexer *lx, sql_pos *start)
{
    for (;;) {
        int c = peek_at(lx, 0);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            advance(lx, 1);
        } else if (c == '-' && peek_at(lx, 1) == '-') {
            while (peek_at(lx, 0) != -1 && peek_at(lx, 0) != '\n')
                advance(lx, 1);
        } else if (c == '/' && peek_at(lx, 1) == '*') {
            *start = here(lx);
            advance(lx, 2);
            while (!(peek_at(lx, 0) == '*' && peek_at(lx, 1) == '/')) {
                if (peek_at(lx, 0) == -1)
                    return -1;
                advance(lx, 1);
            }
            advance(lx, 2);
        } else {
            return 0;
        }
    }
}

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_ident_char(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* 'string' or "identifier": a doubled quote stands for one. */
static sql_token lex_quoted(sql_lexer *lx, sql_token t, char q)
{
    advance(lx, 1);
    for (;;) {
        int c = peek_at(lx, 0);
        if (c == -1) {
            t = lex_error(
                lx, t.pos,
                q == '\'' ? "unterminated string literal" : "unterminated quoted identifier", NULL);
            lx->err.incomplete = 1;
            return t;
        }
        if (c == 0)
            return lex_error(lx, here(lx), "NUL byte inside a %s",
                             q == '\'' ? "string literal" : "quoted identifier");
        advance(lx, 1);
        if (c == q) {
            if (peek_at(lx, 0) != q)
                break;
            advance(lx, 1);
        }
    }
    t.kind = q == '\'' ? SQL_TOK_STRING : SQL_TOK_QIDENT;
    t.len = (uint32_t)(lx->off - t.pos.offset);
    if (t.kind == SQL_TOK_QIDENT && t.len == 2)
        return lex_error(lx, t.pos, "zero-length quoted identifier", NULL);
    return t;
}

/* digits [. digits] [e [+-] digits], or . digits [...]. A letter right
 * after a number is an error rather than two tokens ("123abc"). */
static sql_token lex_number(sql_lexer *lx, sql_token t)
{
    int dot = 0;
    while (is_digit(peek_at(lx, 0)))
        advance(lx, 1);
    if (peek_at(lx, 0) == '.') {
        dot = 1;
        advance(lx, 1);
        while (is_digit(peek_at(lx, 0)))
            advance(lx, 1);
    }
    int c = peek_at(lx, 0);
    if (c == 'e' || c == 'E') {
        size_t k = 1;
        if (peek_at(lx, 1) == '+' || peek_at(lx, 1) == '-')
            k = 2;
        if (!is_digit(peek_at(lx, k)))
            return lex_error(lx, t.pos, "malformed number: exponent without digits", NULL);
        advance(lx, k);
        while (is_digit(peek_at(lx, 0)))
            advance(lx, 1);
        t.has_exponent = 1;
    }
    if (is_ident_char(peek_at(lx, 0)) || peek_at(lx, 0) == '.')
        return lex_error(lx, t.pos, "malformed number: unexpected character after digits", NULL);
    t.kind = dot || t.has_exponent ? SQL_TOK_NUMBER : SQL_TOK_INTEGER;
    t.len = (uint32_t)(lx->off - t.pos.offset);
    return t;
}

/* Operators and punctuation: two-byte ones first. */
static sql_token lex_operator(sql_lexer *lx, sql_token t)
{
    static const struct {
        char s[3];
        sql_token_kind kind;
    } ops[] = {
        {"<>", SQL_TOK_NE},    {"!=", SQL_TOK_NE},     {"<=", SQL_TOK_LE},
        {">=", SQL_TOK_GE},    {"||", SQL_TOK_CONCAT}, {"::", SQL_TOK_CAST},
        {"=", SQL_TOK_EQ},     {"<", SQL_TOK_LT},      {">", SQL_TOK_GT},
        {"+", SQL_TOK_PLUS},   {"-", SQL_TOK_MINUS},   {"*", SQL_TOK_STAR},
        {"/", SQL_TOK_SLASH},  {"%", SQL_TOK_PERCENT}, {"(", SQL_TOK_LPAREN},
        {")", SQL_TOK_RPAREN}, {",", SQL_TOK_COMMA},   {".", SQL_TOK_DOT},
        {";", SQL_TOK_SEMI},
    };
    for (size_t i = 0; i < TARN_ARRAY_LEN(ops); i++) {
        size_t n = strlen(ops[i].s);
        if (peek_at(lx, 0) == (unsigned char)ops[i].s[0] &&
            (n == 1 || peek_at(lx, 1) == (unsigned char)ops[i].s[1])) {
            advance(lx, n);
            t.kind = ops[i].kind;
            t.len = (uint32_t)n;
            return t;
        }
    }
    char what[16];
    int c = peek_at(lx, 0);
    if (c > 0x20 && c < 0x7f)
        snprintf(what, sizeof(what), "'%c'", c);
    else
        snprintf(what, sizeof(what), "byte 0x%02x", (unsigned)c);
    return lex_error(lx, t.pos, "unexpected character %s", what);
}

sql_token sql_lexer_next(sql_lexer *lx)
{
    if (lx->err.code != 0)
        return (sql_token){.kind = SQL_TOK_ERROR, .pos = lx->err.pos};
    sql_pos cstart;
    if (skip_space(lx, &cstart) != 0) {
        sql_token t = lex_error(lx, cstart, "unterminated /* comment", NULL);
        lx->err.incomplete = 1;
        return t;
    }
    sql_token t = {.kind = SQL_TOK_EOF, .pos = here(lx), .start = lx->text + lx->off};
    int c = peek_at(lx, 0);
    if (c == -1)
        return t;
    if (c == '\'' || c == '"')
        return lex_quoted(lx, t, (char)c);
    if (is_digit(c) || (c == '.' && is_digit(peek_at(lx, 1))))
        return lex_number(lx, t);
    if (is_ident_start(c)) {
        while (is_ident_char(peek_at(lx, 0)))
            advance(lx, 1);
        t.kind = SQL_TOK_WORD;
        t.len = (uint32_t)(lx->off - t.pos.offset);
        t.kw = sql_keyword_lookup(t.start, t.len);
        return t;
    }
    return lex_operator(lx, t);
}

long sql_token_unquote(const sql_token *t, char *out, size_t cap)
{
    TARN_ASSERT(t->kind == SQL_TOK_STRING || t->kind == SQL_TOK_QIDENT);
    TARN_ASSERT(t->len >= 2);
    char q = t->start[0];
    size_t n = 0;
    for (size_t i = 1; i + 1 < t->len; i++) {
        if (t->start[i] == q)
            i++; /* the first of a doubled quote; keep the second */
        if (n >= cap)
            return -1;
        out[n++] = t->start[i];
    }
    return (long)n;
}
