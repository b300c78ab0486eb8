/*
 * tests/fuzz_sql/fuzz_sql_parse.c: libFuzzer target for the SQL front end.
 * The input is SQL text. Whatever it is, parsing must return (no crash, no
 * leak, no sanitizer report); a failure must carry a position inside the
 * input and render; a success must print in all three forms, and its SQL
 * form must parse back to the same canonical form (the printer and the
 * parser agree on every tree the parser can build).
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "base/buf.h"
#include "sql/sql.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print(int (*fn)(const sql_node *, tarn_buf *), const sql_node *n)
{
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    TARN_ASSERT(fn(n, &b) == 0);
    size_t len;
    char *s = (char *)tarn_buf_detach(&b, &len);
    return s ? s : tarn_strdup("");
}

/* A statement's SQL form parses back to the same canonical form. */
static void check_statement(const sql_node *st)
{
    char *want = print(sql_print_sexpr, st);
    char *sql = print(sql_print_sql, st);
    char *json = print(sql_print_json, st);
    sql_script *again = NULL;
    sql_error e;
    if (sql_parse(sql, strlen(sql), &again, &e) != 0) {
        /* The printed form can be deeper (never) or longer (a 1 MiB input
         * whose SQL form grew past the limit): only the latter is fine. */
        TARN_ASSERT(e.code == TARN_ETOOBIG);
    } else {
        TARN_ASSERT(again->count == 1);
        char *got = print(sql_print_sexpr, again->stmts[0]);
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "round trip mismatch\nsql:  %s\nwant: %s\ngot:  %s\n", sql, want, got);
            abort();
        }
        tarn_free(got);
        sql_script_free(again);
    }
    tarn_free(json);
    tarn_free(sql);
    tarn_free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    sql_script *s = NULL;
    sql_error e;
    int rc = sql_parse(text, size, &s, &e);
    if (rc != 0) {
        TARN_ASSERT(s == NULL);
        TARN_ASSERT(rc == e.code);
        TARN_ASSERT(rc == TARN_ESYNTAX || rc == TARN_ETOOBIG || rc == TARN_ENOMEM);
        TARN_ASSERT(e.pos.offset <= size);
        TARN_ASSERT(e.pos.line >= 1 && e.pos.col >= 1);
        tarn_buf b;
        tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
        TARN_ASSERT(sql_error_render(text, size, &e, &b) == 0);
        tarn_buf_free(&b);
        return 0;
    }
    for (uint32_t i = 0; i < s->count; i++) {
        TARN_ASSERT(s->stmt_end[i] <= size);
        check_statement(s->stmts[i]);
    }
    sql_script_free(s);
    return 0;
}
