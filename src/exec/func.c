/*
 * exec/func.c: scalar functions: extract, date_trunc, date/timestamp +
 * interval, lower, upper, length, substr, concat and ||, abs, round. Type
 * checking (once, at build) and evaluation (a loop over the live rows per
 * call). NULL rules and edge cases follow DuckDB, which the tests check;
 * where we differ it is written below and in exec/README.md, "Scalar
 * functions".
 */
#include "base/alloc.h"
#include "exec/exec_int.h"

#include <math.h>
#include <string.h>

const char *const exec_dt_names[EXEC_DT_COUNT] = {
    "millennium",  "century", "decade", "year",   "quarter", "month",
    "week",        "day",     "hour",   "minute", "second",  "millisecond",
    "microsecond", "dow",     "isodow", "doy",    "epoch"};

static bool is_dt(vec_type_info t)
{
    return t.id == VEC_DATE || (t.id == VEC_TIMESTAMP && t.unit == VEC_UNIT_MICROS);
}

static bool is_int(vec_type t)
{
    return t == VEC_I32 || t == VEC_I64;
}

static int bad_args(exec_expr *e, const char *want, tarn_err *err)
{
    static const char *const names[] = {"extract", "date_trunc", "add_interval", "lower",
                                        "upper",   "length",     "substr",       "concat",
                                        "||",      "abs",        "round"};
    return tarn_err_set(err, TARN_EINVAL, "%s wants %s", names[e->op], want);
}

static int check_dt(exec_expr *e, tarn_err *err)
{
    vec_type_info in = e->args[0]->type, ts = {.id = VEC_TIMESTAMP, .unit = VEC_UNIT_MICROS};
    if (e->nargs != 1 || !is_dt(in))
        return bad_args(e, "one date or timestamp (microseconds) argument", err);
    int64_t f = e->param[0];
    if (e->op != EXEC_FN_ADD_INTERVAL && (f < 0 || f >= EXEC_DT_COUNT))
        return tarn_err_set(err, TARN_EINVAL, "unknown date part");
    if (e->op == EXEC_FN_EXTRACT) {
        e->type = (vec_type_info){.id = f == EXEC_DT_EPOCH ? VEC_F64 : VEC_I64};
        return 0;
    }
    if (e->op == EXEC_FN_DATE_TRUNC && f > EXEC_DT_MICROSECOND)
        return tarn_err_set(err, TARN_EINVAL, "date_trunc by %s", exec_dt_names[f]);
    bool want_ts = e->type.id == VEC_TIMESTAMP;
    if (e->type.id != VEC_TYPE_COUNT && e->type.id != VEC_DATE && !want_ts)
        return tarn_err_set(err, TARN_EINVAL, "date function result must be date or timestamp");
    if (e->op == EXEC_FN_ADD_INTERVAL && e->type.id == VEC_DATE &&
        (e->param[2] != 0 || in.id != VEC_DATE))
        return tarn_err_set(err, TARN_EINVAL, "a date result needs a date and whole days");
    if (e->op == EXEC_FN_DATE_TRUNC && e->type.id == VEC_DATE && in.id != VEC_DATE)
        return tarn_err_set(err, TARN_EINVAL, "date_trunc of a timestamp is a timestamp");
    if (e->type.id == VEC_TYPE_COUNT)
        e->type =
            e->op == EXEC_FN_ADD_INTERVAL && (in.id != VEC_DATE || e->param[2] != 0) ? ts : in;
    if (e->type.id == VEC_TIMESTAMP)
        e->type = ts;
    return 0;
}

static int check_round(exec_expr *e, tarn_err *err)
{
    vec_type_info t = e->args[0]->type;
    if (e->nargs == 2) {
        exec_expr *d = e->args[1];
        if (d->kind != EXEC_K_CONST || !is_int(d->type.id) || d->is_null)
            return bad_args(e, "a constant integer number of digits", err);
        e->param[0] = d->ival;
    }
    if (!is_int(t.id) && t.id != VEC_F64 && t.id != VEC_DECIMAL64)
        return bad_args(e, "an i32, i64, f64 or decimal64", err);
    e->type = t;
    if (t.id == VEC_DECIMAL64 && e->param[0] < t.scale)
        e->type.scale = (uint8_t)(e->param[0] < 0 ? 0 : e->param[0]);
    return 0;
}

int exec_func_check(exec_expr *e, tarn_err *err)
{
    vec_type_info str = {.id = VEC_STRING}, i64 = {.id = VEC_I64};
    switch ((exec_fn)e->op) {
    case EXEC_FN_EXTRACT:
    case EXEC_FN_DATE_TRUNC:
    case EXEC_FN_ADD_INTERVAL:
        return check_dt(e, err);
    case EXEC_FN_LOWER:
    case EXEC_FN_UPPER:
    case EXEC_FN_LENGTH:
        if (e->nargs != 1 || e->args[0]->type.id != VEC_STRING)
            return bad_args(e, "one string", err);
        e->type = e->op == EXEC_FN_LENGTH ? i64 : str;
        return 0;
    case EXEC_FN_SUBSTR:
        if (e->nargs < 2 || e->nargs > 3 || e->args[0]->type.id != VEC_STRING ||
            !is_int(e->args[1]->type.id) || (e->nargs == 3 && !is_int(e->args[2]->type.id)))
            return bad_args(e, "a string, an integer start and an optional integer length", err);
        e->type = str;
        return 0;
    case EXEC_FN_CONCAT:
    case EXEC_FN_CONCAT_OP:
        for (uint32_t i = 0; i < e->nargs; i++)
            if (e->args[i]->type.id != VEC_STRING)
                return bad_args(e, "strings (cast other types first)", err);
        if (e->nargs < (e->op == EXEC_FN_CONCAT ? 1u : 2u))
            return bad_args(e, "more arguments", err);
        e->type = str;
        return 0;
    case EXEC_FN_ABS:
        if (e->nargs != 1 || (!is_int(e->args[0]->type.id) && e->args[0]->type.id != VEC_F64 &&
                              e->args[0]->type.id != VEC_DECIMAL64))
            return bad_args(e, "one i32, i64, f64 or decimal64", err);
        e->type = e->args[0]->type;
        return 0;
    case EXEC_FN_ROUND:
        if (e->nargs < 1 || e->nargs > 2)
            return bad_args(e, "one or two arguments", err);
        return check_round(e, err);
    }
    return tarn_err_set(err, TARN_EINTERNAL, "function %d", e->op);
}

/* ---- dates ---- */

/* Row i as microseconds; false for a date too far out to have them
 * (beyond about 290,000 years). */
static bool dt_micros(const vec_col *x, uint32_t i, int64_t *us)
{
    if (x->type.id != VEC_DATE) {
        *us = ((const int64_t *)x->data)[i];
        return true;
    }
    return !__builtin_mul_overflow((int64_t)((const int32_t *)x->data)[i], EXEC_US_PER_DAY, us);
}

static int64_t iso_week(int64_t days)
{
    int64_t isodow = ((days % 7) + 7 + 3) % 7 + 1; /* 1970-01-01 was a Thursday (4) */
    int64_t thursday = days - (isodow - 1) + 3, y;
    int m, d;
    tarn_civil_from_days(thursday, &y, &m, &d);
    return (thursday - tarn_days_from_civil(y, 1, 1)) / 7 + 1;
}

static int64_t extract_one(exec_dt_field f, int64_t us, double *epoch)
{
    int64_t days = exec_floor_div(us, EXEC_US_PER_DAY), t = us - days * EXEC_US_PER_DAY, y;
    int m, d;
    tarn_civil_from_days(days, &y, &m, &d);
    int64_t isodow = ((days % 7) + 7 + 3) % 7 + 1;
    switch (f) {
    case EXEC_DT_MILLENNIUM:
        return y > 0 ? (y - 1) / 1000 + 1 : -((-y) / 1000 + 1);
    case EXEC_DT_CENTURY:
        return y > 0 ? (y - 1) / 100 + 1 : -((-y) / 100 + 1);
    case EXEC_DT_DECADE:
        return exec_floor_div(y, 10);
    case EXEC_DT_YEAR:
        return y;
    case EXEC_DT_QUARTER:
        return (m - 1) / 3 + 1;
    case EXEC_DT_MONTH:
        return m;
    case EXEC_DT_WEEK:
        return iso_week(days);
    case EXEC_DT_DAY:
        return d;
    case EXEC_DT_HOUR:
        return t / 3600000000;
    case EXEC_DT_MINUTE:
        return t / 60000000 % 60;
    case EXEC_DT_SECOND:
        return t / 1000000 % 60;
    case EXEC_DT_MILLISECOND: /* seconds included, as DuckDB: 12.5 s -> 12500 */
        return t % 60000000 / 1000;
    case EXEC_DT_MICROSECOND:
        return t % 60000000;
    case EXEC_DT_DOW:
        return isodow % 7;
    case EXEC_DT_ISODOW:
        return isodow;
    case EXEC_DT_DOY:
        return days - tarn_days_from_civil(y, 1, 1) + 1;
    default:
        *epoch = (double)us / 1e6;
        return 0;
    }
}

static int64_t trunc_one(exec_dt_field f, int64_t us)
{
    int64_t days = exec_floor_div(us, EXEC_US_PER_DAY), y;
    int m, d;
    tarn_civil_from_days(days, &y, &m, &d);
    int64_t unit_us = 0;
    switch (f) {
    case EXEC_DT_MILLENNIUM:
        return tarn_days_from_civil(exec_floor_div(y, 1000) * 1000, 1, 1) * EXEC_US_PER_DAY;
    case EXEC_DT_CENTURY: /* as DuckDB: 1900-01-01, not the 1901 of the strict definition */
        return tarn_days_from_civil(exec_floor_div(y, 100) * 100, 1, 1) * EXEC_US_PER_DAY;
    case EXEC_DT_DECADE:
        return tarn_days_from_civil(exec_floor_div(y, 10) * 10, 1, 1) * EXEC_US_PER_DAY;
    case EXEC_DT_YEAR:
        return tarn_days_from_civil(y, 1, 1) * EXEC_US_PER_DAY;
    case EXEC_DT_QUARTER:
        return tarn_days_from_civil(y, (m - 1) / 3 * 3 + 1, 1) * EXEC_US_PER_DAY;
    case EXEC_DT_MONTH:
        return tarn_days_from_civil(y, m, 1) * EXEC_US_PER_DAY;
    case EXEC_DT_WEEK:
        return (days - (((days % 7) + 7 + 3) % 7)) * EXEC_US_PER_DAY;
    case EXEC_DT_DAY:
        return days * EXEC_US_PER_DAY;
    case EXEC_DT_HOUR:
        unit_us = 3600000000;
        break;
    case EXEC_DT_MINUTE:
        unit_us = 60000000;
        break;
    case EXEC_DT_SECOND:
        unit_us = 1000000;
        break;
    case EXEC_DT_MILLISECOND:
        unit_us = 1000;
        break;
    default:
        return us;
    }
    return exec_floor_div(us, unit_us) * unit_us;
}

/* Months first (the day clamped to the month's end), then days, then
 * microseconds, as DuckDB adds intervals. */
static bool add_interval_one(int64_t us, const int64_t *iv, int64_t *out)
{
    int64_t days = exec_floor_div(us, EXEC_US_PER_DAY), t = us - days * EXEC_US_PER_DAY;
    if (iv[0] != 0) {
        int64_t y;
        int m, d;
        tarn_civil_from_days(days, &y, &m, &d);
        int64_t mm = y * 12 + (m - 1) + iv[0];
        y = exec_floor_div(mm, 12);
        m = (int)(mm - y * 12) + 1;
        if (y < -290000 || y > 290000)
            return false;
        int dim = exec_days_in_month(y, m);
        days = tarn_days_from_civil(y, m, d < dim ? d : dim);
    }
    int64_t r;
    if (__builtin_add_overflow(days, iv[1], &days) ||
        __builtin_mul_overflow(days, EXEC_US_PER_DAY, &r) || __builtin_add_overflow(r, t, &r) ||
        __builtin_add_overflow(r, iv[2], &r))
        return false;
    *out = r;
    return true;
}

static int eval_dt(exec_expr *e, const vec_col *x, const uint32_t *sel, uint32_t n, tarn_err *err)
{
    exec_dt_field f = (exec_dt_field)e->param[0];
    bool out_date = e->type.id == VEC_DATE;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        if (!vec_col_is_valid(x, i))
            continue;
        int64_t us, r = 0;
        double epoch = 0;
        if (!dt_micros(x, i, &us))
            return tarn_err_set(err, TARN_ERANGE, "date out of the timestamp range");
        switch ((exec_fn)e->op) {
        case EXEC_FN_EXTRACT:
            r = extract_one(f, us, &epoch);
            if (e->type.id == VEC_F64)
                ((double *)e->out.data)[i] = epoch;
            else
                ((int64_t *)e->out.data)[i] = r;
            continue;
        case EXEC_FN_DATE_TRUNC:
            r = trunc_one(f, us);
            break;
        default:
            if (!add_interval_one(us, e->param, &r))
                return tarn_err_set(err, TARN_ERANGE, "date/timestamp + interval out of range");
        }
        if (out_date) {
            int64_t days = exec_floor_div(r, EXEC_US_PER_DAY);
            if (days < INT32_MIN || days > INT32_MAX)
                return tarn_err_set(err, TARN_ERANGE, "date out of range");
            ((int32_t *)e->out.data)[i] = (int32_t)days;
        } else {
            ((int64_t *)e->out.data)[i] = r;
        }
    }
    return 0;
}

/* ---- strings ---- */

/* Decodes one UTF-8 sequence at s (n bytes left); *len its bytes. Bad
 * bytes (a stray continuation, a truncated or overlong sequence, a
 * surrogate) decode as UINT32_MAX, one byte each. */
static uint32_t utf8_next(const uint8_t *s, size_t n, size_t *len)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint8_t c = s[0];
    *len = 1;
    if (c < 0x80)
        return c;
    size_t k = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (k == 0 || n < k)
        return UINT32_MAX;
    uint32_t cp = c & (0x7f >> k);
    for (size_t j = 1; j < k; j++) {
        if ((s[j] & 0xc0) != 0x80)
            return UINT32_MAX;
        cp = cp << 6 | (s[j] & 0x3f);
    }
    if (cp < min_cp[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return UINT32_MAX;
    *len = k;
    return cp;
}

static size_t utf8_put(uint8_t *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (uint8_t)(0xc0 | cp >> 6);
        d[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (uint8_t)(0xe0 | cp >> 12);
        d[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        d[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (uint8_t)(0xf0 | cp >> 18);
    d[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    d[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    d[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

typedef struct case_run {
    uint32_t first, last;
    int32_t delta;
    uint32_t stride; /* 1, or 2: every other code point from first */
} case_run;

#include "exec/case_table.inc"

/* Unicode's simple case mapping (one code point to one, as DuckDB's
 * utf8proc; no "SS" for sharp s, whose upper case is U+1E9E as in
 * DuckDB): a binary search for the run holding c. */
static uint32_t case_map(uint32_t c, bool up)
{
    if (c < 0x80)
        return up ? (c >= 'a' && c <= 'z' ? c - 32 : c) : (c >= 'A' && c <= 'Z' ? c + 32 : c);
    const case_run *runs = up ? case_upper : case_lower;
    size_t lo = 0, hi = up ? sizeof(case_upper) / sizeof(case_upper[0])
                           : sizeof(case_lower) / sizeof(case_lower[0]);
    while (lo < hi) { /* the first run whose last is >= c */
        size_t mid = lo + (hi - lo) / 2;
        if (runs[mid].last < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == (up ? sizeof(case_upper) : sizeof(case_lower)) / sizeof(case_run))
        return c;
    const case_run *r = &runs[lo];
    if (c < r->first || (c - r->first) % r->stride != 0)
        return c;
    return (uint32_t)((int32_t)c + r->delta);
}

/* Case-maps s (n bytes) into dst, which has room for 2 * n bytes (a
 * mapping at most grows a 2-byte sequence into a 3-byte one); returns the
 * bytes written. Bytes that are not UTF-8 are copied as they are. */
static size_t case_copy(uint8_t *dst, const uint8_t *s, size_t n, bool up)
{
    size_t q = 0;
    for (size_t p = 0; p < n;) {
        size_t l;
        uint32_t c = utf8_next(s + p, n - p, &l);
        if (c == UINT32_MAX)
            dst[q++] = s[p];
        else
            q += utf8_put(dst + q, case_map(c, up));
        p += l;
    }
    return q;
}

static int64_t utf8_chars(const uint8_t *s, size_t n)
{
    int64_t c = 0;
    for (size_t p = 0; p < n; p++)
        c += (s[p] & 0xc0) != 0x80;
    return c;
}

/* Byte offset of character `ch` (0-based, <= the count) of s. */
static size_t utf8_offset(const uint8_t *s, size_t n, int64_t ch)
{
    size_t p = 0;
    for (int64_t c = 0; p < n; p++) {
        if ((s[p] & 0xc0) != 0x80) {
            if (c == ch)
                return p;
            c++;
        }
    }
    return n;
}

static int64_t int_arg(const vec_col *c, uint32_t i)
{
    return c->type.id == VEC_I32 ? ((const int32_t *)c->data)[i] : ((const int64_t *)c->data)[i];
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* SQL substring on characters (1-based): a start at or below 0 counts
 * positions before the first character, a negative start counts from the
 * end, a negative length takes the characters before the start. */
static void substr_range(int64_t nchars, int64_t start, int64_t len, bool has_len, int64_t *from,
                         int64_t *to)
{
    start = clamp(start, -((int64_t)1 << 40), (int64_t)1 << 40);
    len = has_len ? clamp(len, -((int64_t)1 << 40), (int64_t)1 << 40) : (int64_t)1 << 41;
    int64_t s0 = start > 0 ? start - 1 : start < 0 ? nchars + start : -1;
    int64_t a = len >= 0 ? s0 : s0 + len, b = len >= 0 ? s0 + len : s0;
    *from = clamp(a, 0, nchars);
    *to = clamp(b, 0, nchars);
    if (*to < *from)
        *to = *from;
}

/* String results: one row appended per row of the batch (empty at dead or
 * NULL rows), so that row i of the result is row i of the input. */
static int put_str(exec_expr *e, const uint8_t *s, size_t l, tarn_err *err)
{
    int rc = exec_str_room(&e->out, l, e->budget, &e->acct_bytes, err);
    if (rc == 0)
        rc = vec_col_append_str(&e->out, s, l);
    return rc == 0 ? 0 : tarn_err_set(err, rc, "string result");
}

static int str_row(exec_expr *e, const vec_col *const *a, uint32_t i, tarn_err *err)
{
    const uint8_t *s;
    size_t l;
    vec_col_str(a[0], i, &s, &l);
    switch ((exec_fn)e->op) {
    case EXEC_FN_LOWER:
    case EXEC_FN_UPPER: { /* the length can change (upper('ß') is 3 bytes) */
        int rc = put_str(e, s, 0, err);
        if (rc == 0)
            rc = exec_str_room(&e->out, 2 * l, e->budget, &e->acct_bytes, err);
        if (rc != 0)
            return rc;
        e->out.bytes_len +=
            case_copy(e->out.bytes + e->out.bytes_len, s, l, e->op == EXEC_FN_UPPER);
        e->out.offsets[e->out.len] = (uint32_t)e->out.bytes_len;
        return 0;
    }
    case EXEC_FN_SUBSTR: {
        int64_t from, to, st = int_arg(a[1], i), ln = e->nargs == 3 ? int_arg(a[2], i) : 0;
        if (st > UINT32_MAX || st < -(int64_t)UINT32_MAX || ln > UINT32_MAX ||
            ln < -(int64_t)UINT32_MAX) /* as DuckDB */
            return tarn_err_set(err, TARN_ERANGE, "substr: start or length past 4294967295");
        substr_range(utf8_chars(s, l), int_arg(a[1], i), e->nargs == 3 ? int_arg(a[2], i) : 0,
                     e->nargs == 3, &from, &to);
        size_t p = utf8_offset(s, l, from), q = utf8_offset(s, l, to);
        return put_str(e, s + p, q - p, err);
    }
    default: { /* concat, || */
        size_t total = 0;
        for (uint32_t k = 0; k < e->nargs; k++) {
            const uint8_t *t;
            size_t tl = 0;
            if (vec_col_is_valid(a[k], i))
                vec_col_str(a[k], i, &t, &tl);
            total += tl;
        }
        int rc = put_str(e, s, 0, err);
        if (rc == 0)
            rc = exec_str_room(&e->out, total, e->budget, &e->acct_bytes, err);
        if (rc != 0)
            return rc;
        e->out.len--; /* reopen the (empty) row just appended and fill it */
        for (uint32_t k = 0; k < e->nargs; k++) {
            const uint8_t *t;
            size_t tl = 0;
            if (!vec_col_is_valid(a[k], i))
                continue;
            vec_col_str(a[k], i, &t, &tl);
            if (tl > 0)
                memcpy(e->out.bytes + e->out.bytes_len, t, tl);
            e->out.bytes_len += tl;
        }
        e->out.len++;
        e->out.offsets[e->out.len] = (uint32_t)e->out.bytes_len;
        return 0;
    }
    }
}

static int eval_str(exec_expr *e, const vec_col *const *a, uint32_t rows, const uint32_t *sel,
                    uint32_t n, tarn_err *err)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < rows; i++) {
        bool live = sel ? (k < n && sel[k] == i) : i < n;
        k += sel && live;
        int rc;
        if (live && vec_col_is_valid(&e->out, i))
            rc = str_row(e, a, i, err);
        else
            rc = put_str(e, (const uint8_t *)"", 0, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- numbers ---- */

/* v rounded to a multiple of 10^k, half away from zero; false on overflow. */
static bool round_int(int64_t v, int64_t k, int64_t *out)
{
    if (k <= 0) {
        *out = v;
        return true;
    }
    if (k > 18) {
        *out = 0; /* |v| < 10^19 / 2 rounds to 0 at 10^19 */
        return v > -5000000000000000000 && v < 5000000000000000000;
    }
    int64_t q = v / tarn_pow10_i64[k], r = v % tarn_pow10_i64[k];
    if (r * 2 >= tarn_pow10_i64[k])
        q++;
    else if (r * 2 <= -tarn_pow10_i64[k])
        q--;
    return !__builtin_mul_overflow(q, tarn_pow10_i64[k], out);
}

static double round_f64(double x, int64_t d)
{
    if (d >= 0) {
        if (d > 22)
            return x;
        double p = pow(10.0, (double)d), y = round(x * p) / p;
        return isfinite(y) ? y : x;
    }
    double p = pow(10.0, (double)-d);
    return round(x / p) * p;
}

static int eval_num(exec_expr *e, const vec_col *x, const uint32_t *sel, uint32_t n, tarn_err *err)
{
    vec_type t = x->type.id;
    bool is_abs = e->op == EXEC_FN_ABS;
    int64_t d = e->param[0];
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = sel ? sel[k] : k;
        if (!vec_col_is_valid(x, i))
            continue;
        if (t == VEC_F64) {
            double v = ((const double *)x->data)[i];
            ((double *)e->out.data)[i] = is_abs ? fabs(v) : round_f64(v, d);
            continue;
        }
        int64_t v = int_arg(x, i), r;
        bool ok = true;
        if (is_abs) {
            ok = v != INT64_MIN && (t != VEC_I32 || v != INT32_MIN);
            r = !ok ? 0 : v < 0 ? -v : v;
        } else if (t == VEC_DECIMAL64) {
            /* to the result's scale: digits past it are rounded away */
            int drop = x->type.scale - e->type.scale;
            ok = round_int(v, drop, &r);
            r = drop > 0 ? r / tarn_pow10_i64[drop] : r;
            if (ok && d < 0)
                ok = round_int(r, -d, &r);
        } else {
            ok = round_int(v, -d, &r) && (t != VEC_I32 || (r >= INT32_MIN && r <= INT32_MAX));
        }
        if (!ok)
            return tarn_err_set(err, TARN_ERANGE, "integer overflow: %s(%lld)",
                                is_abs ? "abs" : "round", (long long)v);
        if (t == VEC_I32)
            ((int32_t *)e->out.data)[i] = (int32_t)r;
        else
            ((int64_t *)e->out.data)[i] = r;
    }
    return 0;
}

/* NULL rules: any NULL argument gives NULL, except concat (skips them,
 * never NULL) and round's digits (a constant checked at build). */
static void func_validity(exec_expr *e, const vec_col *const *a, uint32_t rows)
{
    uint32_t nv = e->op == EXEC_FN_ROUND ? 1 : e->nargs;
    bool any = false;
    for (uint32_t k = 0; k < nv; k++)
        any |= a[k]->validity != NULL;
    if (e->op == EXEC_FN_CONCAT || !any)
        return;
    size_t nb = ((size_t)rows + 7) / 8;
    memset(e->vbuf, 0xff, nb);
    for (uint32_t k = 0; k < nv; k++)
        if (a[k]->validity)
            for (size_t j = 0; j < nb; j++)
                e->vbuf[j] &= a[k]->validity[j];
    e->out.validity = e->vbuf;
}

int exec_func_eval(exec_expr *e, const vec_col *const *args, uint32_t rows, const uint32_t *sel,
                   uint32_t n, tarn_err *err)
{
    func_validity(e, args, rows);
    switch ((exec_fn)e->op) {
    case EXEC_FN_EXTRACT:
    case EXEC_FN_DATE_TRUNC:
    case EXEC_FN_ADD_INTERVAL:
        return eval_dt(e, args[0], sel, n, err);
    case EXEC_FN_LENGTH:
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = sel ? sel[k] : k;
            const uint8_t *s;
            size_t l;
            vec_col_str(args[0], i, &s, &l);
            ((int64_t *)e->out.data)[i] = utf8_chars(s, l);
        }
        return 0;
    case EXEC_FN_ABS:
    case EXEC_FN_ROUND:
        return eval_num(e, args[0], sel, n, err);
    default:
        return eval_str(e, args, rows, sel, n, err);
    }
}
