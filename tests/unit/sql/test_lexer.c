/* Tests of the SQL lexer: every token kind, escapes, comments, positions,
 * and lexical errors with their positions. */
#include "common/test_util.h"

#include "base/assert.h"
#include "base/error.h"
#include "sql/sql.h"

#include <string.h>

typedef struct want_tok {
    sql_token_kind kind;
    const char *raw;
    unsigned line, col;
} want_tok;

static void expect_tokens(const char *text, const want_tok *want, size_t n)
{
    sql_lexer lx;
    sql_lexer_init(&lx, text, strlen(text));
    for (size_t i = 0; i < n; i++) {
        sql_token t = sql_lexer_next(&lx);
        if (t.kind != want[i].kind || t.len != strlen(want[i].raw) ||
            memcmp(t.start, want[i].raw, t.len) != 0 || t.pos.line != want[i].line ||
            t.pos.col != want[i].col)
            fail_msg("token %zu of <%s>: want %s <%s> at %u:%u, got %s <%.*s> at %u:%u", i, text,
                     sql_token_kind_name(want[i].kind), want[i].raw, want[i].line, want[i].col,
                     sql_token_kind_name(t.kind), (int)t.len, t.start, t.pos.line, t.pos.col);
        assert_int_equal(t.pos.offset, (size_t)(t.start - text));
    }
    sql_token end = sql_lexer_next(&lx);
    assert_int_equal(end.kind, SQL_TOK_EOF);
    assert_int_equal(sql_lexer_next(&lx).kind, SQL_TOK_EOF);
}

static void test_every_token_kind(void **state)
{
    (void)state;
    const want_tok w[] = {
        {SQL_TOK_WORD, "SeLeCt", 1, 1},     {SQL_TOK_QIDENT, "\"Q\"\"x\"", 1, 8},
        {SQL_TOK_STRING, "'it''s'", 1, 15}, {SQL_TOK_INTEGER, "42", 1, 23},
        {SQL_TOK_NUMBER, "4.5", 1, 26},     {SQL_TOK_NUMBER, ".5", 1, 30},
        {SQL_TOK_NUMBER, "1.", 1, 33},      {SQL_TOK_NUMBER, "1e10", 1, 36},
        {SQL_TOK_NUMBER, "2.5E-3", 1, 41},  {SQL_TOK_EQ, "=", 1, 48},
        {SQL_TOK_NE, "<>", 1, 50},          {SQL_TOK_NE, "!=", 1, 53},
        {SQL_TOK_LT, "<", 1, 56},           {SQL_TOK_LE, "<=", 1, 58},
        {SQL_TOK_GT, ">", 1, 61},           {SQL_TOK_GE, ">=", 1, 63},
        {SQL_TOK_PLUS, "+", 1, 66},         {SQL_TOK_MINUS, "-", 1, 68},
        {SQL_TOK_STAR, "*", 1, 70},         {SQL_TOK_SLASH, "/", 1, 72},
        {SQL_TOK_PERCENT, "%", 1, 74},      {SQL_TOK_CONCAT, "||", 1, 76},
        {SQL_TOK_CAST, "::", 1, 79},        {SQL_TOK_LPAREN, "(", 1, 82},
        {SQL_TOK_RPAREN, ")", 1, 84},       {SQL_TOK_COMMA, ",", 1, 86},
        {SQL_TOK_DOT, ".", 1, 88},          {SQL_TOK_SEMI, ";", 1, 90},
        {SQL_TOK_WORD, "_x$1", 1, 92},
    };
    expect_tokens("SeLeCt \"Q\"\"x\" 'it''s' 42 4.5 .5 1. 1e10 2.5E-3 = <> != < <= > >= + - * / % "
                  "|| :: ( ) , . ; _x$1",
                  w, TARN_ARRAY_LEN(w));
}

static void test_keywords_and_words(void **state)
{
    (void)state;
    sql_lexer lx;
    const char *text = "select FROM WhErE selects \"select\" t.x a1";
    sql_lexer_init(&lx, text, strlen(text));
    sql_token t = sql_lexer_next(&lx);
    assert_int_equal(t.kw, SQL_KW_SELECT);
    assert_int_equal(sql_lexer_next(&lx).kw, SQL_KW_FROM);
    assert_int_equal(sql_lexer_next(&lx).kw, SQL_KW_WHERE);
    t = sql_lexer_next(&lx);
    assert_int_equal(t.kind, SQL_TOK_WORD);
    assert_int_equal(t.kw, SQL_KW_NONE);
    t = sql_lexer_next(&lx);
    assert_int_equal(t.kind, SQL_TOK_QIDENT); /* quoted: never a keyword */
    assert_int_equal(t.kw, SQL_KW_NONE);
    assert_int_equal(sql_lexer_next(&lx).kind, SQL_TOK_WORD);
    assert_int_equal(sql_lexer_next(&lx).kind, SQL_TOK_DOT);
    assert_int_equal(sql_lexer_next(&lx).kind, SQL_TOK_WORD);
    assert_int_equal(sql_lexer_next(&lx).kind, SQL_TOK_WORD);
    assert_int_equal(sql_keyword_lookup("nulls", 5), SQL_KW_NULLS);
    assert_int_equal(sql_keyword_lookup("null", 4), SQL_KW_NULL);
    assert_int_equal(sql_keyword_lookup("nul", 3), SQL_KW_NONE);
    assert_string_equal(sql_keyword_name(SQL_KW_PARTITIONED), "PARTITIONED");
    assert_true(sql_keyword_reserved(SQL_KW_SELECT));
    assert_false(sql_keyword_reserved(SQL_KW_DATE));
}

static void test_unquote(void **state)
{
    (void)state;
    sql_lexer lx;
    const char *text = "'a''b''''' \"x\"\"\" ''";
    sql_lexer_init(&lx, text, strlen(text));
    char out[16];
    sql_token t = sql_lexer_next(&lx);
    long n = sql_token_unquote(&t, out, sizeof(out));
    assert_int_equal(n, 5);
    assert_memory_equal(out, "a'b''", 5);
    assert_int_equal(sql_token_unquote(&t, out, 4), -1);
    t = sql_lexer_next(&lx);
    n = sql_token_unquote(&t, out, sizeof(out));
    assert_int_equal(n, 2);
    assert_memory_equal(out, "x\"", 2);
    t = sql_lexer_next(&lx);
    assert_int_equal(t.kind, SQL_TOK_STRING);
    assert_int_equal(sql_token_unquote(&t, out, sizeof(out)), 0);
}

static void test_comments_and_positions(void **state)
{
    (void)state;
    const want_tok w[] = {
        {SQL_TOK_WORD, "a", 1, 1},         {SQL_TOK_WORD, "b", 2, 3}, {SQL_TOK_MINUS, "-", 3, 1},
        {SQL_TOK_WORD, "c", 3, 3},         {SQL_TOK_WORD, "d", 5, 6}, {SQL_TOK_SLASH, "/", 5, 8},
        {SQL_TOK_STRING, "'x\ny'", 5, 10}, {SQL_TOK_WORD, "e", 6, 4},
    };
    expect_tokens("a -- comment ; 'not a string\n  b\n- c /* block\n * over lines */\n"
                  "/**/ d / 'x\ny' e -- at the end",
                  w, TARN_ARRAY_LEN(w));
    /* Tabs and CR count one column each; CRLF ends a line at the LF. */
    const want_tok w2[] = {{SQL_TOK_WORD, "x", 1, 2}, {SQL_TOK_WORD, "y", 2, 2}};
    expect_tokens("\tx\r\n\ty", w2, TARN_ARRAY_LEN(w2));
}

static void expect_lex_error(const char *text, unsigned line, unsigned col, const char *msg)
{
    sql_lexer lx;
    sql_lexer_init(&lx, text, strlen(text));
    sql_token t;
    do {
        t = sql_lexer_next(&lx);
    } while (t.kind != SQL_TOK_ERROR && t.kind != SQL_TOK_EOF);
    if (t.kind != SQL_TOK_ERROR)
        fail_msg("<%s> lexed without error", text);
    assert_int_equal(lx.err.code, TARN_ESYNTAX);
    if (lx.err.pos.line != line || lx.err.pos.col != col || strcmp(lx.err.msg, msg) != 0)
        fail_msg("<%s>: want %u:%u %s, got %u:%u %s", text, line, col, msg, lx.err.pos.line,
                 lx.err.pos.col, lx.err.msg);
    /* Sticky: the same error again. */
    t = sql_lexer_next(&lx);
    assert_int_equal(t.kind, SQL_TOK_ERROR);
    assert_int_equal(t.pos.offset, lx.err.pos.offset);
}

static void test_errors(void **state)
{
    (void)state;
    expect_lex_error("SELECT 'abc", 1, 8, "unterminated string literal");
    expect_lex_error("SELECT\n  'it''s", 2, 3, "unterminated string literal");
    expect_lex_error("SELECT \"abc", 1, 8, "unterminated quoted identifier");
    expect_lex_error("SELECT \"\"", 1, 8, "zero-length quoted identifier");
    expect_lex_error("SELECT 1 /* never\nclosed *", 1, 10, "unterminated /* comment");
    expect_lex_error("SELECT 1e", 1, 8, "malformed number: exponent without digits");
    expect_lex_error("SELECT 1e+x", 1, 8, "malformed number: exponent without digits");
    expect_lex_error("SELECT 123abc", 1, 8, "malformed number: unexpected character after digits");
    expect_lex_error("SELECT 1.2.3", 1, 8, "malformed number: unexpected character after digits");
    expect_lex_error("SELECT a # b", 1, 10, "unexpected character '#'");
    expect_lex_error("SELECT a | b", 1, 10, "unexpected character '|'");
    expect_lex_error("SELECT a : b", 1, 10, "unexpected character ':'");
    expect_lex_error("SELECT a ! b", 1, 10, "unexpected character '!'");
    expect_lex_error("x\n\x01", 2, 1, "unexpected character byte 0x01");
    const char nul[] = {'\'', 'a', '\0', 'b', '\''};
    sql_lexer lx;
    sql_lexer_init(&lx, nul, sizeof(nul));
    assert_int_equal(sql_lexer_next(&lx).kind, SQL_TOK_ERROR);
    assert_string_equal(lx.err.msg, "NUL byte inside a string literal");
    assert_int_equal(lx.err.pos.col, 3);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_token_kind), cmocka_unit_test(test_keywords_and_words),
        cmocka_unit_test(test_unquote),          cmocka_unit_test(test_comments_and_positions),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
