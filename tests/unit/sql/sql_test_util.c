/* tests/unit/sql/sql_test_util.c: see sql_test_util.h. */
#include "sql_test_util.h"

#include "base/alloc.h"
#include "common/test_util.h"

#include <stdio.h>
#include <string.h>

char *sqlt_sexpr(const char *sql)
{
    sql_script *s = NULL;
    sql_error e;
    int rc = sql_parse(sql, strlen(sql), &s, &e);
    if (rc != 0) {
        tarn_buf b;
        tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
        assert_int_equal(sql_error_render(sql, strlen(sql), &e, &b), 0);
        fail_msg("parse failed for <%s>:\n%s", sql, tarn_buf_cstr(&b));
    }
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    for (uint32_t i = 0; i < s->count; i++) {
        if (i > 0)
            assert_int_equal(tarn_buf_append_str(&b, "\n"), 0);
        assert_int_equal(sql_print_sexpr(s->stmts[i], &b), 0);
    }
    sql_script_free(s);
    size_t len;
    char *out = (char *)tarn_buf_detach(&b, &len);
    return out ? out : tarn_strdup("");
}

void sqlt_expect(const char *sql, const char *want)
{
    char *got = sqlt_sexpr(sql);
    if (strcmp(got, want) != 0) {
        print_error("sql:  %s\nwant: %s\ngot:  %s\n", sql, want, got);
        tarn_free(got);
        fail();
    }
    tarn_free(got);
}

void sqlt_expect_error(const char *sql, int code, unsigned line, unsigned col, const char *want)
{
    sql_script *s = NULL;
    sql_error e;
    int rc = sql_parse(sql, strlen(sql), &s, &e);
    if (rc == 0) {
        sql_script_free(s);
        fail_msg("<%s> parsed but should fail with: %s", sql, want);
    }
    assert_null(s);
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    assert_int_equal(sql_error_format(&e, &b), 0);
    if (rc != code || e.code != code || e.pos.line != line || e.pos.col != col ||
        strcmp(tarn_buf_cstr(&b), want) != 0) {
        print_error("sql:  %s\nwant: [%s] %u:%u %s\ngot:  [%s] %u:%u %s\n", sql,
                    tarn_error_name(code), line, col, want, tarn_error_name(rc), e.pos.line,
                    e.pos.col, tarn_buf_cstr(&b));
        tarn_buf_free(&b);
        fail();
    }
    tarn_buf_free(&b);
}
