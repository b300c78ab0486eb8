/*
 * delta/prune.c: file pruning: which files of a snapshot cannot hold a row
 * that satisfies simple column-versus-constant predicates, decided from
 * partition values and the stats JSON (numRecords, minValues, maxValues,
 * nullCount) alone. A file is skipped only when that is certain: unknown
 * or unparsable stats, truncated strings and decimals we cannot read
 * exactly keep the file, and a timestamp maximum (Spark truncates it down
 * to milliseconds) is widened by what the truncation may have cut.
 * Design note: delta/README.md, "File pruning".
 */
#include "delta/scan_int.h"

#include "base/alloc.h"
#include "base/num.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A typed value to compare: an integer (integers, dates, booleans,
 * timestamps; decimals as twice their unscaled value at the column's
 * scale, plus one for a constant between two such values), a double, or
 * bytes. */
typedef struct pv {
    int kind;     /* 0 int, 1 double, 2 bytes */
    bool between; /* a decimal constant between two values of the column */
    int64_t i;
    double f;
    const char *s;
    size_t len;
} pv;

static int class_of(delta_kind k)
{
    switch (k) {
    case DELTA_LONG:
    case DELTA_INTEGER:
    case DELTA_SHORT:
    case DELTA_BYTE:
    case DELTA_DATE:
    case DELTA_BOOLEAN:
    case DELTA_TIMESTAMP:
    case DELTA_TIMESTAMP_NTZ:
        return 0;
    case DELTA_FLOAT:
    case DELTA_DOUBLE:
        return 1;
    case DELTA_STRING:
    case DELTA_BINARY:
        return 2;
    default:
        return -1; /* nested: never pruned */
    }
}

/* The class of a column, -1 when it is never pruned. */
static int class_of_field(const delta_field *f)
{
    if (f->kind == DELTA_DECIMAL)
        return f->precision <= 18 ? 0 : -1; /* wider: delta_const cannot hold them */
    return class_of(f->kind);
}

/* A decimal constant `v` with `scale` digits as a pv of a column of
 * scale `col_scale`: twice its unscaled value at the column's scale, plus
 * one when it falls between two values of the column. A column of at
 * most 18 digits holds values below 10^18 in magnitude, so a constant
 * beyond that saturates without changing any comparison. */
static int64_t decimal_key(int64_t v, unsigned scale, unsigned col_scale)
{
    const int64_t cap = INT64_MAX / 2 - 1;
    if (v == 0)
        return 0;
    if (scale <= col_scale) {
        unsigned up = col_scale - scale;
        int64_t most = up > 18 ? 0 : cap / 2 / tarn_pow10_i64[up];
        if (v > most || v < -most)
            return v < 0 ? -cap : cap;
        return 2 * v * tarn_pow10_i64[up];
    }
    unsigned down = scale - col_scale;
    if (down > 18) /* |v| < 10^19: a fraction of the column's smallest step */
        return v < 0 ? -1 : 1;
    int64_t d = tarn_pow10_i64[down], q = v / d, r = v % d;
    if (r < 0) { /* floor division */
        q--;
        r += d;
    }
    return 2 * q + (r != 0);
}

/* A delta_const of field f as a pv. */
static pv from_const(const delta_field *f, const delta_const *c)
{
    pv v = {class_of_field(f), false, 0, 0, c->str, c->str_len};
    switch (f->kind) {
    case DELTA_DECIMAL:
        v.i = 2 * c->v.i64;
        break;
    case DELTA_LONG:
    case DELTA_TIMESTAMP:
    case DELTA_TIMESTAMP_NTZ:
        v.i = c->v.i64;
        break;
    case DELTA_INTEGER:
    case DELTA_DATE:
        v.i = c->v.i32;
        break;
    case DELTA_SHORT:
        v.i = c->v.i16;
        break;
    case DELTA_BYTE:
        v.i = c->v.i8;
        break;
    case DELTA_BOOLEAN:
        v.i = c->v.u8;
        break;
    case DELTA_FLOAT:
        v.f = c->v.f32;
        break;
    case DELTA_DOUBLE:
        v.f = c->v.f64;
        break;
    default:
        break;
    }
    return v;
}

/* The predicate's constant as a pv of the column's class. TARN_EINVAL
 * when the kinds do not fit. */
static int from_pred(const delta_field *f, const delta_pred *p, pv *out, tarn_err *err)
{
    int cls = class_of_field(f);
    memset(out, 0, sizeof(*out));
    out->kind = cls;
    if (f->kind == DELTA_DECIMAL && cls == 0 &&
        (p->kind == DELTA_VALUE_INT || (p->kind == DELTA_VALUE_DECIMAL && p->scale <= 38))) {
        out->i = decimal_key(p->i64, p->kind == DELTA_VALUE_INT ? 0 : p->scale, f->scale);
        out->between = (out->i & 1) != 0;
    } else if (f->kind != DELTA_DECIMAL && cls == 0 && p->kind == DELTA_VALUE_INT)
        out->i = p->i64;
    else if (cls == 1 && (p->kind == DELTA_VALUE_FLOAT || p->kind == DELTA_VALUE_INT))
        out->f = p->kind == DELTA_VALUE_INT ? (double)p->i64 : p->f64;
    else if (cls == 2 && p->kind == DELTA_VALUE_STRING && p->str != NULL) {
        out->s = p->str;
        out->len = strlen(p->str);
    } else
        return tarn_err_set(err, TARN_EINVAL, "column %s (%s): constant of another type", f->name,
                            delta_kind_name(f->kind));
    return 0;
}

static int pv_cmp(const pv *a, const pv *b)
{
    if (a->kind == 0)
        return (a->i > b->i) - (a->i < b->i);
    if (a->kind == 1)
        return (a->f > b->f) - (a->f < b->f);
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    return c != 0 ? (c > 0) - (c < 0) : (a->len > b->len) - (a->len < b->len);
}

/* Whether some value in [lo, hi] (either may be absent: unbounded) can
 * satisfy `op c`. */
static bool range_may(const pv *lo, const pv *hi, delta_cmp op, const pv *c)
{
    switch (op) {
    case DELTA_CMP_EQ: /* no value equals a constant between two of them */
        return !c->between && (!lo || pv_cmp(lo, c) <= 0) && (!hi || pv_cmp(hi, c) >= 0);
    case DELTA_CMP_NE:
        return c->between || !(lo && hi && pv_cmp(lo, c) == 0 && pv_cmp(hi, c) == 0);
    case DELTA_CMP_LT:
        return !lo || pv_cmp(lo, c) < 0;
    case DELTA_CMP_LE:
        return !lo || pv_cmp(lo, c) <= 0;
    case DELTA_CMP_GT:
        return !hi || pv_cmp(hi, c) > 0;
    case DELTA_CMP_GE:
        return !hi || pv_cmp(hi, c) >= 0;
    default:
        return true;
    }
}

/* A partition column: its one value decides exactly. */
static int part_may(const delta_field *f, const char *text, const delta_pred *p, bool *may,
                    tarn_err *err)
{
    if (p->op == DELTA_CMP_IS_NULL || p->op == DELTA_CMP_IS_NOT_NULL) {
        *may = (text == NULL) == (p->op == DELTA_CMP_IS_NULL);
        return 0;
    }
    delta_const c;
    pv v, k;
    int rc = delta_const_parse(f, text, &c, err);
    if (rc == TARN_ENOTSUP || (rc == 0 && class_of_field(f) < 0)) {
        *may = true;
        return 0;
    }
    if (rc == 0)
        rc = from_pred(f, p, &k, err);
    if (rc != 0)
        return rc;
    if (c.is_null) {
        *may = false; /* a comparison with null is never true */
        return 0;
    }
    v = from_const(f, &c);
    *may = range_may(&v, &v, p->op, &k);
    return 0;
}

/* A timestamp min or max: truncated (down) to the precision its text
 * shows (Spark: milliseconds), so a maximum is widened by what the
 * truncation may have cut: "…05.123" bounds values up to …05.123999. */
static bool stat_timestamp(const char *text, bool is_max, pv *out)
{
    int64_t us;
    int digits;
    if (delta_timestamp_parse(text, &us, &digits) != 0)
        return false;
    int64_t cut = digits >= 6 ? 0 : tarn_pow10_i64[6 - digits] - 1;
    if (is_max && us > INT64_MAX - cut)
        return false;
    out->kind = 0;
    out->i = is_max ? us + cut : us;
    return true;
}

/* A decimal min or max. Its exact text (delta_stats keeps numbers with a
 * fraction as strings of their source text) is read exactly when it has
 * at most the column's decimals. Other forms (an exponent, more digits)
 * go through a double, which holds any decimal of at most 15 significant
 * digits exactly enough to recover it: rounded at the column's scale it
 * must be a whole number below 10^15. Anything else cannot be trusted as
 * a bound. */
static bool stat_decimal(const delta_field *f, const char *text, pv *out)
{
    delta_const c;
    if (strpbrk(text, "eE") == NULL && delta_const_parse(f, text, &c, NULL) == 0 && !c.is_null) {
        out->kind = 0;
        out->i = 2 * c.v.i64;
        return true;
    }
    char *end;
    double d = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(d))
        return false;
    double u = d * (double)tarn_pow10_i64[f->scale];
    double r = nearbyint(u);
    if (!(fabs(r) < 1e15) || fabs(u - r) > 1e-6)
        return false;
    out->kind = 0;
    out->i = 2 * (int64_t)r;
    return true;
}

/* A min or max from the stats as a pv; false when it cannot be used. */
static bool stat_value(const delta_field *f, const char *json, bool is_max, pv *out, char **hold)
{
    if (json == NULL || class_of_field(f) < 0)
        return false;
    const char *text = json;
    json_t *j = NULL;
    if (json[0] == '"') {
        j = json_loads(json, JSON_DECODE_ANY, NULL);
        if (j == NULL || !json_is_string(j)) {
            json_decref(j);
            return false;
        }
        /* Writers truncate long strings (Delta: 32 characters); a
         * truncated max is below the true max, so it is no bound. */
        if (is_max && f->kind == DELTA_STRING && json_string_length(j) >= 32) {
            json_decref(j);
            return false;
        }
        *hold = tarn_strndup(json_string_value(j), json_string_length(j));
        json_decref(j);
        if (*hold == NULL)
            return false;
        text = *hold;
    }
    if (f->kind == DELTA_TIMESTAMP || f->kind == DELTA_TIMESTAMP_NTZ)
        return stat_timestamp(text, is_max, out);
    if (f->kind == DELTA_DECIMAL)
        return stat_decimal(f, text, out);
    delta_const c;
    if (delta_const_parse(f, text, &c, NULL) != 0 || c.is_null)
        return false;
    *out = from_const(f, &c);
    return true;
}

/* A data column: from its stats; anything unknown keeps the file. */
static int stats_may(const delta_field *f, const delta_stats *st, const delta_pred *p, bool *may,
                     tarn_err *err)
{
    *may = true;
    const delta_col_stats *cs = st ? delta_stats_find(st, f->name) : NULL;
    bool all_null =
        cs && cs->null_count >= 0 && st->num_records >= 0 && cs->null_count == st->num_records;
    if (p->op == DELTA_CMP_IS_NULL) {
        *may = !(cs && cs->null_count == 0);
        return 0;
    }
    if (p->op == DELTA_CMP_IS_NOT_NULL) {
        *may = !all_null;
        return 0;
    }
    pv k, lo, hi;
    int rc = class_of_field(f) >= 0 ? from_pred(f, p, &k, err) : 0;
    if (rc != 0 || class_of_field(f) < 0 || cs == NULL)
        return rc;
    if (all_null) {
        *may = false;
        return 0;
    }
    char *hlo = NULL, *hhi = NULL;
    bool has_lo = stat_value(f, cs->min, false, &lo, &hlo);
    bool has_hi = stat_value(f, cs->max, true, &hi, &hhi);
    *may = range_may(has_lo ? &lo : NULL, has_hi ? &hi : NULL, p->op, &k);
    tarn_free(hlo);
    tarn_free(hhi);
    return 0;
}

int delta_file_may_match(const delta_snapshot *s, const delta_file *f, const delta_pred *preds,
                         size_t npreds, bool *may, tarn_err *err)
{
    *may = true;
    delta_stats st;
    bool have_stats = false;
    int rc = 0;
    for (size_t i = 0; rc == 0 && *may && i < npreds; i++) {
        const delta_pred *p = &preds[i];
        int32_t idx = p->column ? delta_schema_find(&s->metadata.schema, p->column) : -1;
        if (idx < 0)
            return tarn_err_set(err, TARN_EINVAL, "no column %.100s", p->column ? p->column : "");
        const delta_field *fd = &s->metadata.schema.fields[idx];
        size_t part = 0;
        while (part < s->metadata.n_partition_columns &&
               strcasecmp(s->metadata.partition_columns[part], fd->name) != 0)
            part++;
        if (part < s->metadata.n_partition_columns) {
            rc = part_may(fd, f->part_values[part], p, may, err);
            continue;
        }
        if (!have_stats && f->stats != NULL) {
            /* Bad stats are no reason to fail a query: the file is read. */
            have_stats = delta_stats_parse(f->stats, &st, NULL) == 0;
            if (!have_stats)
                break;
        }
        rc = stats_may(fd, have_stats ? &st : NULL, p, may, err);
    }
    if (have_stats)
        delta_stats_free(&st);
    if (rc != 0)
        *may = true;
    return rc;
}

int delta_prune(const delta_snapshot *s, const delta_pred *preds, size_t npreds, bool *keep,
                size_t *nkept, tarn_err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        int rc = delta_file_may_match(s, &s->files[i], preds, npreds, &keep[i], err);
        if (rc != 0)
            return rc;
        n += keep[i];
    }
    *nkept = n;
    return 0;
}
