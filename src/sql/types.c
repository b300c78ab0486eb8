/*
 * sql/types.c: SQL types and vec types, their names, and the text of a
 * value as every front end prints it (README "Output").
 */
#include "sql/plan_int.h"

#include "base/num.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int sql_type_to_vec(const sql_type *t, vec_type_info *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    switch (t->kind) {
    case SQL_TYPE_BOOLEAN:
        out->id = VEC_BOOL;
        return 0;
    case SQL_TYPE_TINYINT:
        out->id = VEC_I8;
        return 0;
    case SQL_TYPE_SMALLINT:
        out->id = VEC_I16;
        return 0;
    case SQL_TYPE_INT:
        out->id = VEC_I32;
        return 0;
    case SQL_TYPE_BIGINT:
        out->id = VEC_I64;
        return 0;
    case SQL_TYPE_REAL:
        out->id = VEC_F32;
        return 0;
    case SQL_TYPE_DOUBLE:
        out->id = VEC_F64;
        return 0;
    case SQL_TYPE_DECIMAL:
        if (t->precision > 18)
            return tarn_err_set(err, TARN_ENOTSUP,
                                "DECIMAL(%d,%d): precision over 18 is not supported yet",
                                t->precision, t->scale);
        out->id = VEC_DECIMAL64;
        out->precision = (uint8_t)t->precision;
        out->scale = (uint8_t)t->scale;
        return 0;
    case SQL_TYPE_VARCHAR:
        out->id = VEC_STRING;
        return 0;
    case SQL_TYPE_DATE:
        out->id = VEC_DATE;
        return 0;
    case SQL_TYPE_TIMESTAMP:
        out->id = VEC_TIMESTAMP;
        out->unit = VEC_UNIT_MICROS;
        out->utc = true;
        return 0;
    }
    return tarn_err_set(err, TARN_EINVAL, "unknown type");
}

const char *sql_type_name(vec_type_info t, char *buf, size_t cap)
{
    static const char *const names[VEC_TYPE_COUNT] = {
        [VEC_BOOL] = "BOOLEAN",  [VEC_I8] = "TINYINT",          [VEC_I16] = "SMALLINT",
        [VEC_I32] = "INTEGER",   [VEC_I64] = "BIGINT",          [VEC_U8] = "UTINYINT",
        [VEC_U16] = "USMALLINT", [VEC_U32] = "UINTEGER",        [VEC_U64] = "UBIGINT",
        [VEC_F32] = "REAL",      [VEC_F64] = "DOUBLE",          [VEC_DATE] = "DATE",
        [VEC_TIME] = "TIME",     [VEC_TIMESTAMP] = "TIMESTAMP", [VEC_STRING] = "VARCHAR",
        [VEC_BINARY] = "BLOB"};
    if (t.id == VEC_DECIMAL64 || t.id == VEC_DECIMAL128)
        snprintf(buf, cap, "DECIMAL(%u,%u)", t.precision, t.scale);
    else
        snprintf(buf, cap, "%s", t.id < VEC_TYPE_COUNT && names[t.id] ? names[t.id] : "?");
    return buf;
}

const char *sql_vec_type_name(vec_type_info t, char *buf, size_t cap)
{
    return sql_type_name(t, buf, cap);
}

/* ---- value text ---- */

static int put_date(tarn_buf *b, int64_t days)
{
    int64_t y;
    int m, d;
    tarn_civil_from_days(days, &y, &m, &d);
    return tarn_buf_printf(b, "%04" PRId64 "-%02d-%02d", y, m, d);
}

static int put_timestamp(tarn_buf *b, int64_t v, vec_time_unit u)
{
    int64_t per_s = u == VEC_UNIT_MILLIS ? 1000 : u == VEC_UNIT_MICROS ? 1000000 : 1000000000;
    int64_t per_day = per_s * 86400, days = v / per_day, rem = v % per_day;
    if (rem < 0) {
        rem += per_day;
        days--;
    }
    int rc = put_date(b, days);
    int64_t secs = rem / per_s, frac = rem % per_s;
    if (rc == 0)
        rc = tarn_buf_printf(b, " %02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
                             (int)(secs % 60));
    if (rc == 0 && frac != 0) {
        /* micros: .ffffff (as DuckDB prints), trailing zeros kept */
        int digits = u == VEC_UNIT_MILLIS ? 3 : u == VEC_UNIT_MICROS ? 6 : 9;
        rc = tarn_buf_printf(b, ".%0*" PRId64, digits, frac);
    }
    return rc;
}

static int put_decimal(tarn_buf *b, int64_t v, unsigned scale)
{
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag > 0);
    while (n <= (int)scale)
        digits[n++] = '0';
    int rc = v < 0 ? tarn_buf_append_byte(b, '-') : 0;
    for (int i = n - 1; i >= 0 && rc == 0; i--) {
        rc = tarn_buf_append_byte(b, (uint8_t)digits[i]);
        if (rc == 0 && i == (int)scale && scale > 0)
            rc = tarn_buf_append_byte(b, '.');
    }
    return rc;
}

static int put_double(tarn_buf *b, double x, bool *quote)
{
    if (isnan(x) || isinf(x)) {
        *quote = true;
        return tarn_buf_append_str(b, isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
    }
    if (x == 0)
        return tarn_buf_append_str(b, signbit(x) ? "-0.0" : "0.0");
    /* The shortest of up to 17 significant digits that reads back as the
     * same double: exact, and what people expect to see (0.1, not
     * 0.10000000000000001). */
    char text[40];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, sizeof(text), "%.*g", digits, x);
        if (strtod(text, NULL) == x)
            break;
    }
    return tarn_buf_append_str(b, text);
}

int sql_value_text(tarn_buf *b, const vec_col *c, uint32_t r, bool *quote)
{
    const void *d = c->data;
    *quote = false;
    switch (c->type.id) {
    case VEC_BOOL:
        return tarn_buf_append_str(b, ((const uint8_t *)d)[r] ? "true" : "false");
    case VEC_I8:
        return tarn_buf_printf(b, "%d", ((const int8_t *)d)[r]);
    case VEC_I16:
        return tarn_buf_printf(b, "%d", ((const int16_t *)d)[r]);
    case VEC_I32:
        return tarn_buf_printf(b, "%" PRId32, ((const int32_t *)d)[r]);
    case VEC_I64:
        return tarn_buf_printf(b, "%" PRId64, ((const int64_t *)d)[r]);
    case VEC_U8:
        return tarn_buf_printf(b, "%u", ((const uint8_t *)d)[r]);
    case VEC_U16:
        return tarn_buf_printf(b, "%u", ((const uint16_t *)d)[r]);
    case VEC_U32:
        return tarn_buf_printf(b, "%" PRIu32, ((const uint32_t *)d)[r]);
    case VEC_U64:
        return tarn_buf_printf(b, "%" PRIu64, ((const uint64_t *)d)[r]);
    case VEC_F32:
        return put_double(b, ((const float *)d)[r], quote);
    case VEC_F64:
        return put_double(b, ((const double *)d)[r], quote);
    case VEC_DATE:
        *quote = true;
        return put_date(b, ((const int32_t *)d)[r]);
    case VEC_TIMESTAMP:
        *quote = true;
        return put_timestamp(b, ((const int64_t *)d)[r], c->type.unit);
    case VEC_DECIMAL64:
        *quote = true;
        return put_decimal(b, ((const int64_t *)d)[r], c->type.scale);
    case VEC_STRING:
    case VEC_BINARY: {
        const uint8_t *s;
        size_t n;
        vec_col_str(c, r, &s, &n);
        *quote = true;
        return tarn_buf_append(b, s, n);
    }
    default:
        *quote = true;
        return tarn_buf_append_str(b, "?");
    }
}
