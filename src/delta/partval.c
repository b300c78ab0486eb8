/*
 * delta/partval.c: partition values (strings in the log, PROTOCOL.md
 * "Partition Value Serialization") parsed into typed constants of the
 * column's vec type. Timestamps without a zone are read as UTC (the
 * protocol says "the time zone of the writer", which the log does not
 * record); see delta/README.md.
 */
#include "delta/scan_int.h"

#include "base/alloc.h"
#include "base/num.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_date(const char *s, int64_t *days, const char **rest)
{
    int y, m, d, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || m < 1 || m > 12 || d < 1 ||
        d > 31)
        return -1;
    *days = tarn_days_from_civil(y, m, d);
    *rest = s + n;
    return 0;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" or the ISO form with 'T' and a zone:
 * 'Z' or an offset "+HH:MM" / "-HH:MM" (stats Spark writes in a session
 * time zone other than UTC), the result in UTC. *frac_digits (may be
 * NULL) receives how many fractional digits the text had. */
int delta_timestamp_parse(const char *s, int64_t *micros, int *frac_digits)
{
    int64_t days;
    const char *p;
    int hh, mi, ss, n = 0;
    if (parse_date(s, &days, &p) != 0 || (*p != ' ' && *p != 'T'))
        return -1;
    bool iso = *p == 'T';
    if (sscanf(p + 1, "%2d:%2d:%2d%n", &hh, &mi, &ss, &n) != 3 || n != 8 || hh > 23 || mi > 59 ||
        ss > 60 || hh < 0 || mi < 0 || ss < 0)
        return -1;
    p += 1 + n;
    int64_t frac = 0;
    int digits = 0;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 6)
                frac = frac * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (int d = digits; d < 6; d++)
            frac *= 10;
    }
    int64_t offset_min = 0;
    if (iso && *p == 'Z') {
        p++;
    } else if (iso && (*p == '+' || *p == '-')) {
        int oh, om, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh < 0 || oh > 18 ||
            om < 0 || om > 59)
            return -1;
        offset_min = (*p == '-' ? -1 : 1) * (oh * 60 + om);
        p += 1 + k;
    }
    if (*p != '\0')
        return -1;
    *micros = ((days * 24 + hh) * 60 + mi - offset_min) * 60 * INT64_C(1000000) +
              ss * INT64_C(1000000) + frac;
    if (frac_digits != NULL)
        *frac_digits = digits;
    return 0;
}

/* "[-]digits[.digits]" as an unscaled value with `scale` digits after the
 * point; more fractional digits than the scale is an error (no rounding). */
static int parse_decimal(const char *s, unsigned scale, int64_t *out)
{
    bool neg = *s == '-';
    s += neg || *s == '+';
    int64_t v = 0;
    int frac = -1, digits = 0;
    for (; *s; s++) {
        if (*s == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
        digits++;
        if (frac >= 0 && ++frac > (int)scale)
            return -1;
    }
    for (int f = frac < 0 ? 0 : frac; f < (int)scale; f++) {
        if (v > INT64_MAX / 10)
            return -1;
        v *= 10;
    }
    *out = neg ? -v : v;
    return digits > 0 ? 0 : -1;
}

static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_fixed(const delta_field *f, const char *s, delta_const *c)
{
    int64_t i = 0;
    switch (f->kind) {
    case DELTA_LONG:
        return parse_int(s, INT64_MIN, INT64_MAX, &c->v.i64);
    case DELTA_INTEGER:
        return parse_int(s, INT32_MIN, INT32_MAX, &i) ? -1 : (c->v.i32 = (int32_t)i, 0);
    case DELTA_SHORT:
        return parse_int(s, INT16_MIN, INT16_MAX, &i) ? -1 : (c->v.i16 = (int16_t)i, 0);
    case DELTA_BYTE:
        return parse_int(s, INT8_MIN, INT8_MAX, &i) ? -1 : (c->v.i8 = (int8_t)i, 0);
    case DELTA_BOOLEAN:
        if (strcasecmp(s, "true") != 0 && strcasecmp(s, "false") != 0)
            return -1;
        c->v.u8 = strcasecmp(s, "true") == 0;
        return 0;
    case DELTA_FLOAT:
    case DELTA_DOUBLE: {
        char *end;
        double d = strtod(s, &end);
        if (end == s || *end != '\0')
            return -1;
        if (f->kind == DELTA_FLOAT)
            c->v.f32 = (float)d;
        else
            c->v.f64 = d;
        return 0;
    }
    case DELTA_DATE: {
        const char *rest;
        if (parse_date(s, &i, &rest) != 0 || *rest != '\0' || i < INT32_MIN || i > INT32_MAX)
            return -1;
        c->v.i32 = (int32_t)i;
        return 0;
    }
    case DELTA_TIMESTAMP:
    case DELTA_TIMESTAMP_NTZ:
        return delta_timestamp_parse(s, &c->v.i64, NULL);
    case DELTA_DECIMAL:
        return parse_decimal(s, f->scale, &c->v.i64);
    default:
        return -1;
    }
}

int delta_const_parse(const delta_field *f, const char *text, delta_const *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    /* Hive's marker for null: Spark writes null in the log, but other
     * writers have put the directory name there. */
    if (text == NULL || strcmp(text, "__HIVE_DEFAULT_PARTITION__") == 0) {
        out->is_null = true;
        return 0;
    }
    if (f->kind == DELTA_STRING || f->kind == DELTA_BINARY) {
        out->str = text;
        out->str_len = strlen(text);
        return 0;
    }
    if (f->kind == DELTA_DECIMAL && f->precision > 18)
        return tarn_err_set(err, TARN_ENOTSUP,
                            "partition column \"%.100s\": decimal(%u,%u) "
                            "values wider than 18 digits",
                            f->name, f->precision, f->scale);
    if (parse_fixed(f, text, out) != 0)
        return tarn_err_set(err, TARN_ECORRUPT,
                            "partition column \"%.100s\": \"%.100s\" is "
                            "not a valid %s",
                            f->name, text, delta_kind_name(f->kind));
    return 0;
}

/* Stores a parsed constant as row col->len of a column of f's vec type. */
static int append_const(vec_col *col, const delta_field *f, const delta_const *c)
{
    if (c->is_null) {
        int rc = vec_type_is_var(col->type.id) ? vec_col_append_str(col, "", 0) : 0;
        if (rc == 0 && !vec_type_is_var(col->type.id))
            col->len++;
        return rc == 0 ? vec_col_set_null(col, col->len - 1) : rc;
    }
    if (f->kind == DELTA_STRING || f->kind == DELTA_BINARY)
        return vec_col_append_str(col, c->str, c->str_len);
    size_t w = vec_type_width(col->type.id);
    if (w == 0 || w > sizeof(c->v))
        return TARN_ENOTSUP;
    memcpy((uint8_t *)col->data + (size_t)col->len * w, &c->v, w);
    col->len++;
    return 0;
}

int delta_text_append(vec_col *col, const delta_field *f, const char *text, tarn_err *err)
{
    vec_type_info t;
    int rc = delta_kind_vec_type(f, &t);
    if (rc == 0 && (t.id != col->type.id || t.id == VEC_DECIMAL128))
        rc = TARN_ENOTSUP;
    if (rc != 0)
        return tarn_err_set(err, rc, "column %s: type %s cannot be read from text", f->name,
                            delta_kind_name(f->kind));
    if (col->len >= col->cap)
        return tarn_err_set(err, TARN_ERANGE, "column %s is full", f->name);
    delta_const c;
    memset(&c, 0, sizeof(c));
    /* Text input has no Hive marker: only NULL is null. */
    if (text == NULL) {
        c.is_null = true;
    } else if (f->kind == DELTA_STRING || f->kind == DELTA_BINARY) {
        c.str = text;
        c.str_len = strlen(text);
    } else if (parse_fixed(f, text, &c) != 0) {
        return tarn_err_set(err, TARN_EINVAL, "column %s: \"%.100s\" is not a valid %s", f->name,
                            text, delta_kind_name(f->kind));
    }
    rc = append_const(col, f, &c);
    return rc == 0 ? 0 : tarn_err_set(err, rc, "column %s", f->name);
}
