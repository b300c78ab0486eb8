/* sql/parse_type.c: type names (README.md lists them) with their
 * parameters: DECIMAL(p, s), VARCHAR(n), DOUBLE PRECISION. */
#include "base/error.h"
#include "sql/literal.h"
#include "sql/parser_int.h"

#include <string.h>
#include <strings.h>

static const struct {
    const char *word;
    sql_type_kind kind;
} type_words[] = {
    {"boolean", SQL_TYPE_BOOLEAN},     {"bool", SQL_TYPE_BOOLEAN},    {"tinyint", SQL_TYPE_TINYINT},
    {"smallint", SQL_TYPE_SMALLINT},   {"int", SQL_TYPE_INT},         {"integer", SQL_TYPE_INT},
    {"bigint", SQL_TYPE_BIGINT},       {"real", SQL_TYPE_REAL},       {"float4", SQL_TYPE_REAL},
    {"double", SQL_TYPE_DOUBLE},       {"float", SQL_TYPE_DOUBLE},    {"float8", SQL_TYPE_DOUBLE},
    {"decimal", SQL_TYPE_DECIMAL},     {"numeric", SQL_TYPE_DECIMAL}, {"varchar", SQL_TYPE_VARCHAR},
    {"text", SQL_TYPE_VARCHAR},        {"string", SQL_TYPE_VARCHAR},  {"date", SQL_TYPE_DATE},
    {"timestamp", SQL_TYPE_TIMESTAMP},
};

static const char *const type_cands[] = {"BOOLEAN", "TINYINT", "SMALLINT", "INT",     "INTEGER",
                                         "BIGINT",  "REAL",    "DOUBLE",   "DECIMAL", "NUMERIC",
                                         "VARCHAR", "TEXT",    "STRING",   "DATE",    "TIMESTAMP"};

/* One integer parameter in [lo, hi]. */
static int type_param(sql_parser *p, const char *what, int lo, int hi, int32_t *out)
{
    const sql_token *t = sqlp_peek(p, 0);
    int64_t v;
    if (t->kind != SQL_TOK_INTEGER)
        return sqlp_fail_expected(p, what);
    if (sql_lit_parse_int64(t->start, t->len, &v) != 0 || v < lo || v > hi)
        return sqlp_fail_at(p, TARN_ESYNTAX, t->pos, "%s must be between %d and %d, found %.*s",
                            what, lo, hi, (int)(t->len > 20 ? 20 : t->len), t->start);
    *out = (int32_t)v;
    sqlp_next(p);
    return 0;
}

static int decimal_params(sql_parser *p, sql_type *out)
{
    out->precision = 18;
    out->scale = 0;
    if (!sqlp_accept(p, SQL_TOK_LPAREN))
        return 0;
    int rc = type_param(p, "decimal precision", 1, SQL_DECIMAL_PRECISION_MAX, &out->precision);
    if (rc == 0 && sqlp_accept(p, SQL_TOK_COMMA))
        rc = type_param(p, "decimal scale", 0, out->precision, &out->scale);
    return rc != 0 ? rc : sqlp_expect(p, SQL_TOK_RPAREN);
}

int sqlp_type(sql_parser *p, sql_type *out)
{
    const sql_token *t = sqlp_peek(p, 0);
    size_t i = 0;
    while (t->kind == SQL_TOK_WORD && i < sizeof(type_words) / sizeof(*type_words) &&
           !(strlen(type_words[i].word) == t->len &&
             strncasecmp(type_words[i].word, t->start, t->len) == 0))
        i++;
    if (t->kind != SQL_TOK_WORD || i == sizeof(type_words) / sizeof(*type_words))
        return sqlp_fail_suggest(p, "a type name", type_cands,
                                 sizeof(type_cands) / sizeof(*type_cands));
    *out = (sql_type){.kind = type_words[i].kind, .length = -1, .pos = t->pos};
    const char *word = type_words[i].word;
    int plain = strcmp(word, "text") == 0 || strcmp(word, "string") == 0; /* no length */
    sqlp_next(p);
    if (out->kind == SQL_TYPE_DOUBLE && strcmp(word, "double") == 0 &&
        sqlp_is(p, 0, SQL_TOK_WORD) && sqlp_peek(p, 0)->len == 9 &&
        strncasecmp(sqlp_peek(p, 0)->start, "precision", 9) == 0)
        sqlp_next(p);
    if (out->kind == SQL_TYPE_DECIMAL)
        return decimal_params(p, out);
    if (out->kind == SQL_TYPE_VARCHAR && !plain && sqlp_accept(p, SQL_TOK_LPAREN)) {
        int rc = type_param(p, "varchar length", 1, 1 << 30, &out->length);
        return rc != 0 ? rc : sqlp_expect(p, SQL_TOK_RPAREN);
    }
    return 0;
}
