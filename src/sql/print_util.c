/* sql/print_util.c: helpers shared by the printers (print_int.h). */
#include "base/error.h"
#include "sql/print_int.h"

#include <stdarg.h>
#include <string.h>

void sqlpr_printf(sql_printer *pr, const char *fmt, ...)
{
    if (pr->rc != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    pr->rc = tarn_buf_vprintf(pr->buf, fmt, ap);
    va_end(ap);
}

void sqlpr_str(sql_printer *pr, const char *s)
{
    if (pr->rc == 0)
        pr->rc = tarn_buf_append_str(pr->buf, s);
}

void sqlpr_quoted(sql_printer *pr, const char *s, char quote)
{
    if (pr->rc == 0)
        pr->rc = tarn_buf_append_byte(pr->buf, (uint8_t)quote);
    for (const char *c = s; *c != '\0' && pr->rc == 0; c++) {
        if (*c == quote)
            pr->rc = tarn_buf_append_byte(pr->buf, (uint8_t)quote);
        if (pr->rc == 0)
            pr->rc = tarn_buf_append_byte(pr->buf, (uint8_t)*c);
    }
    if (pr->rc == 0)
        pr->rc = tarn_buf_append_byte(pr->buf, (uint8_t)quote);
}

/* A plain identifier that lexes back to itself: lower case letters,
 * digits and _, not starting with a digit, and no keyword. */
static int plain_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return sql_keyword_lookup(s, n) == SQL_KW_NONE;
}

void sqlpr_name(sql_printer *pr, const sql_name *n)
{
    if (!n->quoted && n->folded != NULL && plain_ok(n->folded))
        sqlpr_str(pr, n->folded);
    else
        sqlpr_quoted(pr, n->quoted ? n->text : n->folded, '"');
}

void sqlpr_type(sql_printer *pr, const sql_type *t)
{
    sqlpr_str(pr, sql_type_kind_name(t->kind));
    if (t->kind == SQL_TYPE_DECIMAL)
        sqlpr_printf(pr, "(%d,%d)", (int)t->precision, (int)t->scale);
    else if (t->kind == SQL_TYPE_VARCHAR && t->length >= 0)
        sqlpr_printf(pr, "(%d)", (int)t->length);
}

int sqlpr_too_deep(sql_printer *pr, int depth)
{
    if (depth <= SQL_PRINT_DEPTH_MAX)
        return 0;
    if (pr->rc == 0)
        pr->rc = TARN_ETOOBIG;
    return 1;
}
