/* Tests of parser error messages: exact text and position for a list of
 * bad statements, keyword suggestions, and the CLI rendering with a caret. */
#include "common/test_util.h"
#include "sql_test_util.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/error.h"
#include "sql/sql.h"

#include <string.h>

#define SE TARN_ESYNTAX

static void test_messages(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        unsigned line, col;
        const char *msg;
    } cases[] = {
        {"SELECT a, b, c FORM t", 1, 16,
         "syntax error at line 1, column 16: expected FROM, found 'FORM' (did you mean FROM?)"},
        {"SELECT * FROM t WHER a = 1", 1, 17,
         "syntax error at line 1, column 17: expected WHERE, found 'WHER' (did you mean WHERE?)"},
        {"SELECT * FROM t\nWHERE a = 1 ORDR BY a", 2, 13,
         "syntax error at line 2, column 13: expected ';' or end of input, found 'ORDR' (did you "
         "mean ORDER?)"},
        {"SELEC 1", 1, 1,
         "syntax error at line 1, column 1: expected a statement, found 'SELEC' (did you mean "
         "SELECT?)"},
        {"SELECT * FROM t GROUP a", 1, 23,
         "syntax error at line 1, column 23: expected BY, found 'a'"},
        {"SELECT", 1, 7,
         "syntax error at line 1, column 7: expected an expression, found end of input"},
        {"SELECT (1", 1, 10, "syntax error at line 1, column 10: expected ')', found end of input"},
        {"INSERT t VALUES (1)", 1, 8, "syntax error at line 1, column 8: expected INTO, found 't'"},
        {"INSERT INTO t VALUE (1)", 1, 15,
         "syntax error at line 1, column 15: expected VALUES or SELECT, found 'VALUE' (did you "
         "mean VALUES?)"},
        {"CREATE TABLE t (a INTEGR)", 1, 19,
         "syntax error at line 1, column 19: expected a type name, found 'INTEGR' (did you mean "
         "INTEGER?)"},
        {"CREATE TABLE t (a DECIMAL(40, 2))", 1, 27,
         "syntax error at line 1, column 27: decimal precision must be between 1 and 38, found 40"},
        {"CREATE TABLE t (a DECIMAL(10, 11))", 1, 31,
         "syntax error at line 1, column 31: decimal scale must be between 0 and 10, found 11"},
        {"CREATE TABEL t (a int)", 1, 8,
         "syntax error at line 1, column 8: expected TABLE, found 'TABEL' (did you mean TABLE?)"},
        {"COPY t FROM 'x' (FORMAT parquett)", 1, 25,
         "syntax error at line 1, column 25: expected a format (csv, parquet or json), found "
         "'parquett' (did you mean parquet?)"},
        {"SHOW TABLE", 1, 6,
         "syntax error at line 1, column 6: expected TABLES, found 'TABLE' (did you mean TABLES?)"},
        {"VACUUM t RETAIN 5 HOUR", 1, 19,
         "syntax error at line 1, column 19: expected HOURS, found 'HOUR' (did you mean HOURS?)"},
        {"SELECT * FROM t VERSION AS OF 'x'", 1, 31,
         "syntax error at line 1, column 31: expected an integer, found string 'x'"},
        {"SELECT * FROM a RIGHT JOIN b ON x", 1, 17,
         "syntax error at line 1, column 17: RIGHT joins are not supported (only INNER, LEFT and "
         "CROSS)"},
        {"SELECT * FROM a JOIN b", 1, 23,
         "syntax error at line 1, column 23: expected ON, found end of input"},
        {"SELECT 1 UNION SELECT 2", 1, 10,
         "syntax error at line 1, column 10: UNION without ALL is not supported; write UNION ALL"},
        {"SELECT * FROM t ORDER BY a NULLS FIST", 1, 34,
         "syntax error at line 1, column 34: expected FIRST or LAST, found 'FIST' (did you mean "
         "FIRST?)"},
        {"SELECT CASE WHEN a 1 END", 1, 20,
         "syntax error at line 1, column 20: expected THEN, found '1'"},
        {"SELECT CAST(a, int)", 1, 14, "syntax error at line 1, column 14: expected AS, found ','"},
        {"SELECT DATE '2020-02-30'", 1, 13,
         "syntax error at line 1, column 13: invalid date '2020-02-30': expected 'YYYY-MM-DD'"},
        {"SELECT INTERVAL '1' dya", 1, 21,
         "syntax error at line 1, column 21: expected an interval unit (YEAR, MONTH, DAY, HOUR, "
         "MINUTE, SECOND), found 'dya' (did you mean day?)"},
        {"SELECT (SELECT 1)", 1, 9,
         "syntax error at line 1, column 9: subqueries in expressions are not supported (only in "
         "FROM)"},
        {"SELECT * FROM s.t", 1, 16,
         "syntax error at line 1, column 16: qualified table names (schema.table) are not "
         "supported"},
        {"SELECT * FROM order", 1, 15,
         "syntax error at line 1, column 15: expected a table name, found 'order' (ORDER is a "
         "reserved word; write \"order\" to use it as a name)"},
        {"SELECT 1; SELEC 2", 1, 11,
         "syntax error at line 1, column 11: expected a statement, found 'SELEC' (did you mean "
         "SELECT?)"},
        {"SELECT 'abc", 1, 8, "syntax error at line 1, column 8: unterminated string literal"},
        {"SELECT 1 +\n  /* open", 2, 3,
         "syntax error at line 2, column 3: unterminated /* comment"},
        {"SELECT t.* + 1 FROM t", 1, 12,
         "syntax error at line 1, column 12: expected ';' or end of input, found '+'"},
        {"EXPLAIN DELETE FROM t", 1, 9,
         "syntax error at line 1, column 9: expected a query after EXPLAIN, found 'DELETE'"},
        {"SELECT count(DISTINCT *) FROM t", 1, 23,
         "syntax error at line 1, column 23: expected an expression, found '*'"},
    };
    for (size_t i = 0; i < TARN_ARRAY_LEN(cases); i++)
        sqlt_expect_error(cases[i].sql, SE, cases[i].line, cases[i].col, cases[i].msg);
}

static char *render(const char *sql)
{
    sql_script *s = NULL;
    sql_error e;
    assert_int_not_equal(sql_parse(sql, strlen(sql), &s, &e), 0);
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    assert_int_equal(sql_error_render(sql, strlen(sql), &e, &b), 0);
    size_t len;
    return (char *)tarn_buf_detach(&b, &len);
}

static void test_render(void **state)
{
    (void)state;
    char *r = render("SELECT a, b, c\nFROM t\n\tWHERE a = = 1\nLIMIT 1");
    assert_string_equal(r, "syntax error at line 3, column 12: expected an expression, found '='\n"
                           "  \tWHERE a = = 1\n"
                           "  \t          ^");
    tarn_free(r);
    r = render("SELECT a FORM t");
    assert_string_equal(r, "syntax error at line 1, column 10: expected FROM, found 'FORM'\n"
                           "  SELECT a FORM t\n"
                           "           ^\n"
                           "  hint: did you mean FROM?");
    tarn_free(r);
    /* A long line is shown as a window around the position. */
    char sql[400];
    memset(sql, 'x', sizeof(sql));
    memcpy(sql, "SELECT ", 7);
    memcpy(sql + 200, " ) ", 3);
    sql[sizeof(sql) - 1] = '\0';
    r = render(sql);
    const char *second = strchr(r, '\n') + 1;
    assert_memory_equal(second, "  ...", 5);
    const char *third = strchr(second, '\n') + 1;
    assert_int_equal(strlen(third), 2 + 3 + 60 + 1);
    assert_int_equal(third[strlen(third) - 1], '^');
    assert_int_equal((size_t)(third - second), 2 + 3 + 120 + 3 + 1); /* ...60 ^ 60...\n */
    tarn_free(r);
}

static int incomplete(const char *sql)
{
    sql_script *s = NULL;
    sql_error e;
    assert_int_not_equal(sql_parse(sql, strlen(sql), &s, &e), 0);
    return e.incomplete;
}

/* What an interactive shell needs: whether another line could complete
 * the statement. */
static void test_incomplete(void **state)
{
    (void)state;
    assert_true(incomplete("SELECT a FROM t WHERE"));
    assert_true(incomplete("SELECT (1 +"));
    assert_true(incomplete("SELECT 'it''s"));
    assert_true(incomplete("SELECT \"abc"));
    assert_true(incomplete("SELECT 1 /* more"));
    assert_true(incomplete("CREATE TABLE t (a INT,\n"));
    assert_false(incomplete("SELECT a FORM t"));
    assert_false(incomplete("SELECT 1 2"));
    assert_false(incomplete("SELECT 1e"));
    assert_false(incomplete("SELECT 1 UNION SELECT 2"));
}

static void test_to_err(void **state)
{
    (void)state;
    sql_script *s = NULL;
    sql_error e;
    assert_int_equal(sql_parse("DROP t", 6, &s, &e), TARN_ESYNTAX);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(sql_error_to_err(&e, &err), TARN_ESYNTAX);
    assert_int_equal(err.code, TARN_ESYNTAX);
    assert_string_equal(err.msg, "syntax error at line 1, column 6: expected TABLE, found 't'");
    /* NULL error context: the code alone. */
    assert_int_equal(sql_parse("DROP t", 6, &s, NULL), TARN_ESYNTAX);
    assert_null(s);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_incomplete),
        cmocka_unit_test(test_to_err),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
