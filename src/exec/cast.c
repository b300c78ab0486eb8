/*
 * exec/cast.c: CAST between the executor's types, row by row through one
 * scalar form (an exact integer, a double, a scaled decimal, a date, a
 * timestamp in microseconds, or text). Semantics follow DuckDB's, which
 * the tests check: text that does not parse is an error, never NULL or 0;
 * a value outside the target's range is an error; doubles to integers
 * round half to even, decimals and text to integers round half away from
 * zero; doubles print in the shortest form that reads back ("0.1",
 * "1.0", "1e+20"). Design note: exec/README.md, "Casts".
 */
#include "base/alloc.h"
#include "exec/exec_int.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum sk { SK_INT, SK_F64, SK_DEC, SK_DATE, SK_TS, SK_STR } sk;

typedef struct scalar {
    sk kind;
    int64_t i; /* SK_INT, SK_DEC (unscaled), SK_DATE (days), SK_TS (micros) */
    int scale; /* SK_DEC */
    bool f32;  /* SK_F64 read from a REAL: printed with float digits */
    double f;
    const uint8_t *s;
    size_t len;
} scalar;

static bool is_int_type(vec_type t)
{
    return t == VEC_BOOL || t == VEC_I8 || t == VEC_I16 || t == VEC_I32 || t == VEC_I64 ||
           t == VEC_U8 || t == VEC_U16 || t == VEC_U32;
}

static bool is_num_type(vec_type t)
{
    return is_int_type(t) || t == VEC_F32 || t == VEC_F64 || t == VEC_DECIMAL64;
}

static bool is_target(vec_type t)
{
    return t == VEC_BOOL || t == VEC_I8 || t == VEC_I16 || t == VEC_I32 || t == VEC_I64 ||
           t == VEC_F32 || t == VEC_F64 || t == VEC_DECIMAL64 || t == VEC_DATE ||
           t == VEC_TIMESTAMP || t == VEC_STRING;
}

bool exec_cast_ok(vec_type_info f, vec_type_info t)
{
    if (!is_target(t.id) || f.list || t.list)
        return false;
    if (t.id == VEC_DECIMAL64 && (t.precision > 18 || t.scale > t.precision))
        return false;
    if (f.id == VEC_STRING || t.id == VEC_STRING)
        return f.id != VEC_BINARY && f.id != VEC_U64 && f.id != VEC_DECIMAL128 && f.id != VEC_TIME;
    if (is_num_type(f.id))
        return is_num_type(t.id);
    if (f.id == VEC_DATE || f.id == VEC_TIMESTAMP)
        return t.id == VEC_DATE || t.id == VEC_TIMESTAMP;
    return false;
}

static int64_t ts_micros(const vec_col *x, int64_t v)
{
    switch (x->type.unit) {
    case VEC_UNIT_MILLIS:
        return v * 1000; /* the range of millis * 1000 fits comfortably in practice */
    case VEC_UNIT_NANOS:
        return exec_floor_div(v, 1000);
    default:
        return v;
    }
}

static scalar read_row(const vec_col *x, uint32_t i)
{
    scalar v = {.kind = SK_INT};
    const void *d = x->data;
    switch (x->type.id) {
    case VEC_BOOL:
    case VEC_U8:
        v.i = ((const uint8_t *)d)[i];
        break;
    case VEC_I8:
        v.i = ((const int8_t *)d)[i];
        break;
    case VEC_I16:
        v.i = ((const int16_t *)d)[i];
        break;
    case VEC_U16:
        v.i = ((const uint16_t *)d)[i];
        break;
    case VEC_I32:
        v.i = ((const int32_t *)d)[i];
        break;
    case VEC_U32:
        v.i = ((const uint32_t *)d)[i];
        break;
    case VEC_I64:
        v.i = ((const int64_t *)d)[i];
        break;
    case VEC_F32:
        v.kind = SK_F64;
        v.f32 = true;
        v.f = ((const float *)d)[i];
        break;
    case VEC_F64:
        v.kind = SK_F64;
        v.f = ((const double *)d)[i];
        break;
    case VEC_DECIMAL64:
        v.kind = SK_DEC;
        v.i = ((const int64_t *)d)[i];
        v.scale = x->type.scale;
        break;
    case VEC_DATE:
        v.kind = SK_DATE;
        v.i = ((const int32_t *)d)[i];
        break;
    case VEC_TIMESTAMP:
        v.kind = SK_TS;
        v.i = ts_micros(x, ((const int64_t *)d)[i]);
        break;
    default:
        v.kind = SK_STR;
        vec_col_str(x, i, &v.s, &v.len);
    }
    return v;
}

/* ---- text -> scalar ---- */

static int bad_text(const scalar *v, vec_type_info to, tarn_err *err)
{
    int shown = v->len > 64 ? 64 : (int)v->len;
    return tarn_err_set(err, TARN_EINVAL, "could not convert string '%.*s%s' to %s", shown,
                        (const char *)v->s, v->len > 64 ? "..." : "", vec_type_name(to.id));
}

/* The text as a NUL-terminated copy without surrounding blanks; false
 * when it is longer than the buffer. */
static bool text_copy(const scalar *v, char *buf, size_t cap)
{
    const char *s = (const char *)v->s, *e = s + v->len;
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\n'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
        e--;
    if ((size_t)(e - s) >= cap)
        return false;
    memcpy(buf, s, (size_t)(e - s));
    buf[e - s] = 0;
    return true;
}

static bool parse_double(const char *t, double *out)
{
    if (*t == 0)
        return false;
    char *end;
    errno = 0;
    *out = strtod(t, &end);
    /* "1e400" overflows to infinity, as in DuckDB */
    return *end == 0;
}

/* Decimal text "[+-]digits[.digits]" as an integer scaled by 10^scale,
 * rounded half away from zero at that scale (the first dropped digit
 * decides). false when malformed (the caller then tries the double path,
 * which reads exponents); *overflow past int64. */
static bool parse_scaled(const char *t, int scale, int64_t *out, bool *overflow)
{
    bool neg = *t == '-';
    t += *t == '-' || *t == '+';
    int64_t v = 0;
    int ndig = 0, frac = 0;
    bool point = false, up = false, past = false;
    *overflow = false;
    for (; *t; t++) {
        if (*t == '.' && !point) {
            point = true;
            continue;
        }
        if (*t < '0' || *t > '9')
            return false;
        ndig++;
        if (point && frac == scale) {
            if (!past)
                up = *t >= '5';
            past = true;
            continue;
        }
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *t - '0', &v))
            *overflow = true;
        frac += point;
    }
    if (ndig == 0)
        return false;
    for (; frac < scale; frac++)
        if (__builtin_mul_overflow(v, 10, &v))
            *overflow = true;
    if (up && __builtin_add_overflow(v, 1, &v))
        *overflow = true;
    *out = neg ? -v : v;
    return true;
}

static int text_to_int(const scalar *v, vec_type_info to, int64_t *out, tarn_err *err)
{
    char buf[128];
    bool ovf;
    if (!text_copy(v, buf, sizeof(buf)))
        return bad_text(v, to, err);
    if (parse_scaled(buf, 0, out, &ovf)) {
        if (ovf)
            return bad_text(v, to, err);
        return 0;
    }
    double d;
    if (!parse_double(buf, &d) || !isfinite(d) || fabs(d) >= 9.2e18)
        return bad_text(v, to, err);
    *out = (int64_t)round(d);
    return 0;
}

static int text_to_bool(const scalar *v, vec_type_info to, int64_t *out, tarn_err *err)
{
    static const char *const yes[] = {"true", "t", "1", "yes", "y", "on"};
    static const char *const no[] = {"false", "f", "0", "no", "n", "off"};
    char buf[16];
    if (text_copy(v, buf, sizeof(buf))) {
        for (size_t k = 0; k < sizeof(yes) / sizeof(yes[0]); k++) {
            if (strcasecmp(buf, yes[k]) == 0) {
                *out = 1;
                return 0;
            }
            if (strcasecmp(buf, no[k]) == 0) {
                *out = 0;
                return 0;
            }
        }
    }
    return bad_text(v, to, err);
}

/* ---- scalar -> number ---- */

/* The value as text for an error: integers and decimals exact, doubles
 * with up to 17 digits. */
static void value_text(const scalar *v, char *buf, size_t cap)
{
    if (v->kind == SK_F64) {
        snprintf(buf, cap, "%.17g", v->f);
        return;
    }
    uint64_t m = v->i < 0 ? 0 - (uint64_t)v->i : (uint64_t)v->i;
    if (v->kind != SK_DEC || v->scale == 0) {
        snprintf(buf, cap, "%s%llu", v->i < 0 ? "-" : "", (unsigned long long)m);
        return;
    }
    uint64_t p = (uint64_t)tarn_pow10_i64[v->scale];
    snprintf(buf, cap, "%s%llu.%0*llu", v->i < 0 ? "-" : "", (unsigned long long)(m / p),
             (int)v->scale, (unsigned long long)(m % p));
}

/* "cast: 1234 is out of range for DECIMAL(3,1)" (the value as written,
 * the decimal's precision and scale). */
static int out_of_range(const scalar *v, vec_type_info to, tarn_err *err)
{
    char num[64], type[32];
    value_text(v, num, sizeof(num));
    if (to.id == VEC_DECIMAL64)
        snprintf(type, sizeof(type), "DECIMAL(%u,%u)", to.precision ? to.precision : 18, to.scale);
    else
        snprintf(type, sizeof(type), "%s", vec_type_name(to.id));
    return tarn_err_set(err, TARN_ERANGE, "cast: %s is out of range for %s", num, type);
}

/* Divides by 10^k rounding half away from zero (DuckDB's decimal rounding). */
static int64_t div_round(int64_t v, int k)
{
    if (k == 0)
        return v;
    int64_t q = v / tarn_pow10_i64[k], r = v % tarn_pow10_i64[k];
    if (r * 2 >= tarn_pow10_i64[k])
        q++;
    else if (r * 2 <= -tarn_pow10_i64[k])
        q--;
    return q;
}

/* Any scalar but text/date/timestamp as an exact integer. */
static int to_int(const scalar *v, vec_type_info to, int64_t *out, tarn_err *err)
{
    switch (v->kind) {
    case SK_INT:
        *out = v->i;
        return 0;
    case SK_DEC:
        *out = div_round(v->i, v->scale);
        return 0;
    case SK_F64: {
        double r = nearbyint(v->f); /* ties to even, as DuckDB casts doubles */
        if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0))
            return out_of_range(v, to, err);
        *out = (int64_t)r;
        return 0;
    }
    case SK_STR:
        return to.id == VEC_BOOL ? text_to_bool(v, to, out, err) : text_to_int(v, to, out, err);
    default:
        return tarn_err_set(err, TARN_EINTERNAL, "cast of a date to a number");
    }
}

static double to_f64(const scalar *v, vec_type_info to, int *rc, tarn_err *err)
{
    switch (v->kind) {
    case SK_INT:
        return (double)v->i;
    case SK_DEC:
        return (double)v->i / (double)tarn_pow10_i64[v->scale];
    case SK_F64:
        return v->f;
    default: {
        char buf[128];
        double d;
        if (!text_copy(v, buf, sizeof(buf)) || !parse_double(buf, &d))
            *rc = bad_text(v, to, err);
        else
            return d;
        return 0;
    }
    }
}

static int to_decimal(const scalar *v, vec_type_info to, int64_t *out, tarn_err *err)
{
    int s = to.scale;
    int64_t r = 0;
    bool ovf = false;
    if (v->kind == SK_INT) {
        ovf = __builtin_mul_overflow(v->i, tarn_pow10_i64[s], &r);
    } else if (v->kind == SK_DEC) {
        if (v->scale <= s)
            ovf = __builtin_mul_overflow(v->i, tarn_pow10_i64[s - v->scale], &r);
        else
            r = div_round(v->i, v->scale - s);
    } else if (v->kind == SK_STR) {
        char buf[128];
        if (!text_copy(v, buf, sizeof(buf)))
            return bad_text(v, to, err);
        if (!parse_scaled(buf, s, &r, &ovf)) {
            double d;
            if (!parse_double(buf, &d) || !isfinite(d))
                return bad_text(v, to, err);
            scalar f = {.kind = SK_F64, .f = d};
            return to_decimal(&f, to, out, err);
        }
    } else {
        double d = v->f * (double)tarn_pow10_i64[s];
        d = round(d);
        if (!(d > -9.2e18 && d < 9.2e18))
            return out_of_range(v, to, err);
        r = (int64_t)d;
    }
    int prec = to.precision ? to.precision : 18;
    if (ovf || r >= tarn_pow10_i64[prec < 18 ? prec : 18] ||
        r <= -tarn_pow10_i64[prec < 18 ? prec : 18])
        return v->kind == SK_STR ? bad_text(v, to, err) : out_of_range(v, to, err);
    *out = r;
    return 0;
}

static int store_int(const scalar *v, vec_col *out, uint32_t i, int64_t x, tarn_err *err)
{
    vec_type_info to = out->type;
    switch (to.id) {
    case VEC_BOOL:
        ((uint8_t *)out->data)[i] = x != 0;
        return 0;
    case VEC_I8:
        if (x < INT8_MIN || x > INT8_MAX)
            break;
        ((int8_t *)out->data)[i] = (int8_t)x;
        return 0;
    case VEC_I16:
        if (x < INT16_MIN || x > INT16_MAX)
            break;
        ((int16_t *)out->data)[i] = (int16_t)x;
        return 0;
    case VEC_I32:
        if (x < INT32_MIN || x > INT32_MAX)
            break;
        ((int32_t *)out->data)[i] = (int32_t)x;
        return 0;
    default:
        ((int64_t *)out->data)[i] = x;
        return 0;
    }
    if (v->kind == SK_STR)
        return bad_text(v, to, err);
    scalar shown = {.kind = SK_INT, .i = x};
    return out_of_range(v->kind == SK_F64 ? v : &shown, to, err);
}

/* ---- scalar -> text ---- */

/* Doubles as DuckDB prints them: the shortest digits that read back, in
 * fixed notation for exponents -5 < e < 16 (with ".0" when integral),
 * otherwise d.ddde+XX. */
static size_t format_f64(double d, bool f32, char *buf)
{
    if (isnan(d)) /* as DuckDB, the sign too: fmod(5, 0) prints "-nan" */
        return (size_t)snprintf(buf, 40, signbit(d) ? "-nan" : "nan");
    if (isinf(d))
        return (size_t)snprintf(buf, 40, d < 0 ? "-inf" : "inf");
    char e[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, d);
        if (f32 ? strtof(e, NULL) == (float)d : strtod(e, NULL) == d)
            break;
    }
    snprintf(e, sizeof(e), "%.*e", prec - 1, d);
    /* e = [-]D[.DDD]e[+-]XX */
    const char *p = e;
    bool neg = *p == '-';
    p += neg;
    char dig[20];
    int nd = 0;
    for (; *p != 'e'; p++)
        if (*p != '.')
            dig[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    size_t n = 0;
    if (neg)
        buf[n++] = '-';
    if (exp <= -5 || exp >= 16) {
        buf[n++] = dig[0];
        if (nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, dig + 1, (size_t)nd - 1);
            n += (size_t)nd - 1;
        }
        n += (size_t)snprintf(buf + n, 16, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return n;
    }
    if (exp < 0) {
        buf[n++] = '0';
        buf[n++] = '.';
        for (int k = -1; k > exp; k--)
            buf[n++] = '0';
        memcpy(buf + n, dig, (size_t)nd);
        return n + (size_t)nd;
    }
    for (int k = 0; k <= exp; k++)
        buf[n++] = k < nd ? dig[k] : '0';
    buf[n++] = '.';
    if (nd <= exp + 1) {
        buf[n++] = '0';
    } else {
        memcpy(buf + n, dig + exp + 1, (size_t)(nd - exp - 1));
        n += (size_t)(nd - exp - 1);
    }
    return n;
}

static size_t format_dec(int64_t v, int scale, char *buf)
{
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0;
    if (v < 0)
        buf[n++] = '-';
    if (scale == 0)
        return n + (size_t)snprintf(buf + n, 40, "%llu", (unsigned long long)a);
    uint64_t ip = a / (uint64_t)tarn_pow10_i64[scale], fp = a % (uint64_t)tarn_pow10_i64[scale];
    return n + (size_t)snprintf(buf + n, 40, "%llu.%0*llu", (unsigned long long)ip, scale,
                                (unsigned long long)fp);
}

static size_t format_scalar(const scalar *v, vec_type from, char *buf)
{
    switch (v->kind) {
    case SK_INT:
        if (from == VEC_BOOL)
            return (size_t)snprintf(buf, 40, "%s", v->i ? "true" : "false");
        return (size_t)snprintf(buf, 40, "%lld", (long long)v->i);
    case SK_F64:
        return format_f64(v->f, v->f32, buf);
    case SK_DEC:
        return format_dec(v->i, v->scale, buf);
    case SK_DATE:
        return exec_format_date(v->i, buf);
    default:
        return exec_format_timestamp(v->i, buf);
    }
}

/* ---- one row ---- */

static int cast_one(const vec_col *x, uint32_t i, vec_col *out, tarn_err *err)
{
    scalar v = read_row(x, i);
    vec_type_info to = out->type;
    int64_t r = 0;
    int rc = 0;
    switch (to.id) {
    case VEC_F64:
    case VEC_F32: {
        double d = to_f64(&v, to, &rc, err);
        if (rc != 0)
            return rc;
        if (to.id == VEC_F64) {
            ((double *)out->data)[i] = d;
        } else {
            if (isfinite(d) && fabs(d) > FLT_MAX)
                return out_of_range(&(scalar){.kind = SK_F64, .f = d}, to, err);
            ((float *)out->data)[i] = (float)d;
        }
        return 0;
    }
    case VEC_DECIMAL64:
        rc = to_decimal(&v, to, &r, err);
        if (rc == 0)
            ((int64_t *)out->data)[i] = r;
        return rc;
    case VEC_DATE:
    case VEC_TIMESTAMP: {
        bool date = to.id == VEC_DATE;
        if (v.kind == SK_STR) {
            /* a date from text with a time of day too: the day, as DuckDB */
            bool ok = date && exec_parse_date((const char *)v.s, v.len, &r);
            if (!ok && exec_parse_timestamp((const char *)v.s, v.len, &r)) {
                ok = true;
                r = date ? exec_floor_div(r, EXEC_US_PER_DAY) : r;
            }
            if (!ok)
                return bad_text(&v, to, err);
        } else if (v.kind == SK_DATE) {
            r = v.i;
            if (!date && __builtin_mul_overflow(v.i, EXEC_US_PER_DAY, &r))
                return out_of_range(&v, to, err);
        } else {
            r = date ? exec_floor_div(v.i, EXEC_US_PER_DAY) : v.i;
        }
        if (date) {
            if (r < INT32_MIN || r > INT32_MAX)
                return out_of_range(&v, to, err);
            ((int32_t *)out->data)[i] = (int32_t)r;
        } else {
            /* stored in the target's unit */
            if (to.unit == VEC_UNIT_MILLIS)
                r = exec_floor_div(r, 1000);
            else if (to.unit == VEC_UNIT_NANOS && __builtin_mul_overflow(r, 1000, &r))
                return out_of_range(&v, to, err);
            ((int64_t *)out->data)[i] = r;
        }
        return 0;
    }
    default:
        if (to.id == VEC_BOOL && (v.kind == SK_F64 || v.kind == SK_DEC)) {
            ((uint8_t *)out->data)[i] = v.kind == SK_F64 ? v.f != 0 : v.i != 0;
            return 0;
        }
        rc = to_int(&v, to, &r, err);
        return rc != 0 ? rc : store_int(&v, out, i, r, err);
    }
}

int exec_str_room(vec_col *col, size_t extra, exec_budget *bud, size_t *acct, tarn_err *err)
{
    size_t need = col->bytes_len + extra;
    if (need <= col->bytes_cap)
        return 0;
    size_t old = col->bytes_cap, cap = old ? old : 256;
    while (cap < need)
        cap *= 2;
    int rc = exec_budget_reserve(bud, cap - old, "string result", err);
    if (rc != 0)
        return rc;
    rc = vec_col_reserve_bytes(col, extra);
    if (rc != 0) {
        exec_budget_release(bud, cap - old);
        return tarn_err_set(err, rc, "string result of %zu bytes", need);
    }
    *acct += cap - old;
    return 0;
}

static int cast_to_text(const vec_col *x, vec_col *out, const uint32_t *sel, uint32_t n,
                        uint32_t rows, exec_budget *bud, size_t *acct, tarn_err *err)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < rows; i++) {
        bool live = sel ? (k < n && sel[k] == i) : i < n;
        k += sel && live;
        char buf[48];
        const uint8_t *s = (const uint8_t *)buf;
        size_t l = 0;
        if (live && vec_col_is_valid(x, i)) {
            scalar v = read_row(x, i);
            if (v.kind == SK_STR) {
                s = v.s;
                l = v.len;
            } else {
                l = format_scalar(&v, x->type.id, buf);
            }
        }
        int rc = exec_str_room(out, l, bud, acct, err);
        if (rc == 0)
            rc = vec_col_append_str(out, s, l);
        if (rc != 0)
            return tarn_err_set(err, rc, "cast to string");
    }
    return 0;
}

int exec_cast_rows(const vec_col *x, vec_col *out, const uint32_t *sel, uint32_t n, uint32_t rows,
                   exec_budget *bud, size_t *acct, tarn_err *err)
{
    if (out->type.id == VEC_STRING)
        return cast_to_text(x, out, sel, n, rows, bud, acct, err);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        if (!vec_col_is_valid(x, i))
            continue;
        int rc = cast_one(x, i, out, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}
