/*
 * delta/stats_write.c: the stats JSON of a data file we wrote
 * (PROTOCOL.md "Per-file Statistics"), from the Parquet writer's column
 * statistics, in the formats Spark writes so that any Delta reader can
 * skip files with them:
 *
 *   | column type          | minValues / maxValues                          |
 *   | byte/short/int/long  | JSON integer                                   |
 *   | float, double        | JSON number (finite values only)               |
 *   | decimal(p,s)         | JSON number with s decimals ("12.30")          |
 *   | date                 | "YYYY-MM-DD"                                   |
 *   | timestamp            | "YYYY-MM-DDTHH:MM:SS.mmmZ", truncated down to ms |
 *   | timestamp_ntz        | "YYYY-MM-DDTHH:MM:SS.mmm", truncated down to ms  |
 *   | string               | JSON string, when at most DELTA_STATS_STRING_MAX bytes |
 *   | boolean, binary      | none (Spark collects none; nullCount only)     |
 *
 * nullCount is written for every column. A truncated timestamp maximum
 * is below the true maximum by up to 999 microseconds: readers (prune.c)
 * widen it. Design note: delta/README.md, "Writing".
 */
#include "delta/write_int.h"

#include "base/num.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool delta_date_text(int64_t days, char *out, size_t cap)
{
    int64_t y;
    int m, d;
    tarn_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return false;
    snprintf(out, cap, "%04lld-%02d-%02d", (long long)y, m, d);
    return true;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q * b > a ? q - 1 : q;
}

/* A timestamp of `unit` truncated down to milliseconds, as Spark writes
 * it: "2024-01-02T03:04:05.678Z" (UTC) or without the Z (no zone). */
static bool timestamp_text(int64_t v, vec_time_unit unit, bool utc, char *out, size_t cap)
{
    int64_t ms = unit == VEC_UNIT_MILLIS   ? v
                 : unit == VEC_UNIT_MICROS ? floor_div(v, 1000)
                                           : floor_div(v, 1000000);
    int64_t days = floor_div(ms, 86400000), in_day = ms - days * 86400000;
    char date[16];
    if (!delta_date_text(days, date, sizeof(date)))
        return false;
    snprintf(out, cap, "%sT%02d:%02d:%02d.%03d%s", date, (int)(in_day / 3600000),
             (int)(in_day / 60000 % 60), (int)(in_day / 1000 % 60), (int)(in_day % 1000),
             utc ? "Z" : "");
    return true;
}

/* The magnitude of a 128-bit two's complement value as 4 32-bit limbs,
 * most significant first; returns whether it was negative. */
static bool i128_abs(uint64_t hi, uint64_t lo, uint32_t limb[4])
{
    bool neg = (hi >> 63) != 0;
    if (neg) { /* negate: invert and add one */
        hi = ~hi;
        lo = ~lo + 1;
        hi += lo == 0;
    }
    limb[0] = (uint32_t)(hi >> 32);
    limb[1] = (uint32_t)hi;
    limb[2] = (uint32_t)(lo >> 32);
    limb[3] = (uint32_t)lo;
    return neg;
}

/* An unscaled decimal (big-endian two's complement bytes, as Parquet
 * stores FIXED_LEN_BYTE_ARRAY decimals, or a little-endian integer) as
 * "-123.45" with `scale` decimals. */
static void decimal_text(const uint8_t *v, uint32_t len, bool big_endian, unsigned scale, char *out,
                         size_t cap)
{
    uint64_t hi = 0, lo = 0;
    bool sign = big_endian ? (v[0] & 0x80) != 0 : (v[len - 1] & 0x80) != 0;
    hi = lo = sign ? ~(uint64_t)0 : 0;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t byte = big_endian ? v[i] : v[len - 1 - i];
        hi = hi << 8 | lo >> 56;
        lo = lo << 8 | byte;
    }
    uint32_t limb[4];
    bool neg = i128_abs(hi, lo, limb);
    char digits[48];
    size_t n = 0;
    do { /* long division by 10, least significant digit first */
        uint64_t rem = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
        }
        digits[n++] = (char)('0' + rem);
    } while ((limb[0] | limb[1] | limb[2] | limb[3]) != 0 && n < sizeof(digits));
    while (n <= scale)
        digits[n++] = '0';
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    for (size_t i = n; i-- > 0 && o + 2 < cap;) {
        out[o++] = digits[i];
        if (i == scale && scale > 0)
            out[o++] = '.';
    }
    out[o] = '\0';
}

/* The JSON text of a min or max of a column of type `t`, or false when
 * the type has none we write. */
static bool value_json(const vec_type_info *t, const uint8_t *v, uint32_t len, char *text,
                       size_t cap)
{
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    char tmp[48];
    switch (t->id) {
    case VEC_I8:
    case VEC_I16:
    case VEC_I32:
        if (len != 4)
            return false;
        memcpy(&i32, v, 4);
        snprintf(text, cap, "%d", i32);
        return true;
    case VEC_I64:
        if (len != 8)
            return false;
        memcpy(&i64, v, 8);
        snprintf(text, cap, "%lld", (long long)i64);
        return true;
    case VEC_F32:
        if (len != 4)
            return false;
        memcpy(&f32, v, 4);
        if (!isfinite(f32))
            return false;
        snprintf(text, cap, "%.9g", (double)f32); /* enough to read back the same float */
        return true;
    case VEC_F64:
        if (len != 8)
            return false;
        memcpy(&f64, v, 8);
        if (!isfinite(f64))
            return false;
        snprintf(text, cap, "%.17g", f64);
        return true;
    case VEC_DECIMAL64:
        if (len != 4 && len != 8)
            return false;
        decimal_text(v, len, false, t->scale, text, cap);
        return true;
    case VEC_DECIMAL128:
        if (len != 16)
            return false;
        decimal_text(v, len, true, t->scale, text, cap);
        /* A whole number beyond int64 is valid JSON, but readers built on
         * jansson refuse the whole stats object for it (ours keeps such
         * numbers as text; others may not). */
        return t->scale > 0 || strlen(text) - (text[0] == '-') <= 18;
    case VEC_DATE:
        if (len != 4)
            return false;
        memcpy(&i32, v, 4);
        if (!delta_date_text(i32, tmp, sizeof(tmp)))
            return false;
        snprintf(text, cap, "\"%s\"", tmp);
        return true;
    case VEC_TIMESTAMP:
        if (len != 8)
            return false;
        memcpy(&i64, v, 8);
        if (!timestamp_text(i64, t->unit, t->utc, tmp, sizeof(tmp)))
            return false;
        snprintf(text, cap, "\"%s\"", tmp);
        return true;
    default:
        return false; /* booleans, binary: Spark writes no min/max */
    }
}

/* `,"col":<value>` (no comma first) for a min or max we write. */
static int stat_entry(tarn_buf *out, const pq_write_col *c, const uint8_t *v, uint32_t len,
                      bool *first)
{
    char text[96];
    bool is_str = c->type.id == VEC_STRING;
    if (is_str ? len > DELTA_STATS_STRING_MAX : !value_json(&c->type, v, len, text, sizeof(text)))
        return 0;
    int rc = tarn_buf_append_str(out, *first ? "" : ",");
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, c->name, strlen(c->name));
    if (rc == 0)
        rc = tarn_buf_append_byte(out, ':');
    if (rc == 0)
        rc = is_str ? tarn_buf_append_json_str(out, (const char *)v, len)
                    : tarn_buf_append_str(out, text);
    *first = false;
    return rc;
}

int delta_stats_json(const pq_writer *w, const pq_write_col *cols, uint32_t ncols, tarn_buf *out)
{
    int rc = tarn_buf_printf(out, "{\"numRecords\":%lld", (long long)pq_writer_rows(w));
    static const char *const names[3] = {"minValues", "maxValues", "nullCount"};
    for (int pass = 0; rc == 0 && pass < 3; pass++) {
        rc = tarn_buf_printf(out, ",\"%s\":{", names[pass]);
        bool first = true;
        for (uint32_t k = 0; rc == 0 && k < ncols; k++) {
            const pq_write_stats *st = pq_writer_stats(w, k);
            if (pass == 2) {
                rc = tarn_buf_append_str(out, first ? "" : ",");
                if (rc == 0)
                    rc = tarn_buf_append_json_str(out, cols[k].name, strlen(cols[k].name));
                if (rc == 0)
                    rc = tarn_buf_printf(out, ":%lld", (long long)st->null_count);
                first = false;
            } else if (st->has_min_max) {
                rc = stat_entry(out, &cols[k], pass ? st->max : st->min,
                                pass ? st->max_len : st->min_len, &first);
            }
        }
        if (rc == 0)
            rc = tarn_buf_append_byte(out, '}');
    }
    return rc == 0 ? tarn_buf_append_byte(out, '}') : rc;
}
