/* sql/error.c: formatting front-end errors for people: one line for logs
 * and HTTP replies, and the CLI's view with the source line and a caret. */
#include "base/error.h"
#include "sql/sql.h"

#include <string.h>

static const char *code_word(int code)
{
    switch (code) {
    case TARN_ESYNTAX:
        return "syntax error";
    case TARN_ETOOBIG:
        return "limit exceeded";
    case TARN_ENOMEM:
        return "out of memory";
    case TARN_ENOTSUP:
        return "not supported";
    case TARN_ENOMEM_BUDGET:
        return "memory budget exceeded";
    default:
        return "error"; /* the message says what: "column "x" not found" */
    }
}

static int format_line(const sql_error *e, tarn_buf *buf, int with_hint)
{
    int rc = tarn_buf_printf(buf, "%s at line %u, column %u: %s", code_word(e->code), e->pos.line,
                             e->pos.col, e->msg);
    if (rc == 0 && with_hint && e->hint[0] != '\0')
        rc = tarn_buf_printf(buf, " (%s)", e->hint);
    return rc;
}

int sql_error_format(const sql_error *e, tarn_buf *buf)
{
    return format_line(e, buf, 1);
}

int sql_error_to_err(const sql_error *e, tarn_err *err)
{
    tarn_buf b;
    tarn_buf_init(&b, TARN_ERR_MSG_MAX);
    /* A message cut at the buffer's limit is still worth reporting. */
    int rc = sql_error_format(e, &b);
    if (rc != 0) {
        tarn_buf_free(&b);
        return tarn_err_set(err, e->code, "%s: %s", code_word(e->code), e->msg);
    }
    rc = tarn_err_set(err, e->code, "%s", tarn_buf_cstr(&b));
    tarn_buf_free(&b);
    return rc;
}

/* Bytes of a long line shown on each side of the caret. */
#define RENDER_CONTEXT_BYTES 60

int sql_error_render(const char *text, size_t len, const sql_error *e, tarn_buf *buf)
{
    /* The hint gets a line of its own below the caret. */
    int rc = format_line(e, buf, 0);
    if (rc != 0)
        return rc;
    size_t off = e->pos.offset <= len ? e->pos.offset : len;
    size_t start = off, end = off;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    while (end < len && text[end] != '\n' && text[end] != '\r')
        end++;
    /* Long lines (a one-line 1 MiB statement) are cut to a window. */
    int cut_left = off - start > RENDER_CONTEXT_BYTES;
    if (cut_left)
        start = off - RENDER_CONTEXT_BYTES;
    int cut_right = end - off > RENDER_CONTEXT_BYTES;
    if (cut_right)
        end = off + RENDER_CONTEXT_BYTES;
    if ((rc = tarn_buf_printf(buf, "\n  %s%.*s%s\n  %s", cut_left ? "..." : "", (int)(end - start),
                              text + start, cut_right ? "..." : "", cut_left ? "   " : "")) != 0)
        return rc;
    /* Tabs stay tabs so the caret lines up in a terminal. */
    for (size_t i = start; i < off && rc == 0; i++)
        rc = tarn_buf_append_byte(buf, text[i] == '\t' ? '\t' : ' ');
    if (rc == 0)
        rc = tarn_buf_append_byte(buf, '^');
    if (rc == 0 && e->hint[0] != '\0')
        rc = tarn_buf_printf(buf, "\n  hint: %s", e->hint);
    return rc;
}
