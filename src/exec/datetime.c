/*
 * exec/datetime.c: calendar arithmetic for DATE (days since 1970-01-01) and
 * TIMESTAMP (microseconds since 1970-01-01 00:00:00, no time zone) values,
 * proleptic Gregorian, and their text forms as DuckDB writes and reads
 * them. The day <-> civil conversions are base/num.h's.
 */
#include "exec/exec_int.h"

#include <stdio.h>
#include <string.h>

int exec_days_in_month(int64_t y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* Reads 1..max digits at *p; false when there are none. */
static bool digits(const char **p, const char *end, int max, int64_t *v)
{
    int n = 0;
    *v = 0;
    while (*p < end && n < max && **p >= '0' && **p <= '9') {
        *v = *v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n > 0;
}

static void trim(const char **s, const char **end)
{
    while (*s < *end && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
}

/* "[-]YYYY-MM-DD" at *p (advanced past it). */
static bool date_part(const char **p, const char *end, int64_t *days)
{
    bool neg = *p < end && **p == '-';
    *p += neg;
    int64_t y, m, d;
    if (!digits(p, end, 6, &y) || *p >= end || **p != '-')
        return false;
    (*p)++;
    if (!digits(p, end, 2, &m) || *p >= end || **p != '-')
        return false;
    (*p)++;
    if (!digits(p, end, 2, &d))
        return false;
    if (neg)
        y = -y;
    if (m < 1 || m > 12 || d < 1 || d > exec_days_in_month(y, (int)m))
        return false;
    *days = tarn_days_from_civil(y, (int)m, (int)d);
    return true;
}

bool exec_parse_date(const char *s, size_t len, int64_t *days)
{
    const char *end = s + len;
    trim(&s, &end);
    return date_part(&s, end, days) && s == end;
}

bool exec_parse_timestamp(const char *s, size_t len, int64_t *micros)
{
    const char *end = s + len;
    trim(&s, &end);
    int64_t days, h = 0, mi = 0, sec = 0, frac = 0;
    if (!date_part(&s, end, &days))
        return false;
    if (s < end) {
        if (*s != ' ' && *s != 'T')
            return false;
        s++;
        if (!digits(&s, end, 2, &h) || s >= end || *s != ':')
            return false;
        s++;
        if (!digits(&s, end, 2, &mi))
            return false;
        if (s < end && *s == ':') {
            s++;
            if (!digits(&s, end, 2, &sec))
                return false;
            if (s < end && *s == '.') {
                s++;
                const char *f0 = s;
                if (!digits(&s, end, 6, &frac))
                    return false;
                for (long k = s - f0; k < 6; k++)
                    frac *= 10;
                while (s < end && *s >= '0' && *s <= '9') /* digits past micros: cut */
                    s++;
            }
        }
        if (h > 24 || mi > 59 || sec > 59 || (h == 24 && (mi | sec | frac) != 0))
            return false;
    }
    if (s != end)
        return false;
    *micros = days * EXEC_US_PER_DAY + ((h * 60 + mi) * 60 + sec) * 1000000 + frac;
    return true;
}

size_t exec_format_date(int64_t days, char *buf)
{
    int64_t y;
    int m, d;
    tarn_civil_from_days(days, &y, &m, &d);
    /* DuckDB writes years before 1 as "0044-03-15 (BC)"; we write the
     * astronomical year with a sign, which our parser reads back. */
    int n = y < 0 ? snprintf(buf, 40, "-%04lld-%02d-%02d", (long long)-y, m, d)
                  : snprintf(buf, 40, "%04lld-%02d-%02d", (long long)y, m, d);
    return (size_t)n;
}

size_t exec_format_timestamp(int64_t micros, char *buf)
{
    int64_t days = exec_floor_div(micros, EXEC_US_PER_DAY);
    int64_t t = micros - days * EXEC_US_PER_DAY;
    size_t n = exec_format_date(days, buf);
    int64_t sec = t / 1000000, frac = t % 1000000;
    n += (size_t)snprintf(buf + n, 40 - n, " %02lld:%02lld:%02lld", (long long)(sec / 3600),
                          (long long)(sec / 60 % 60), (long long)(sec % 60));
    if (frac != 0) { /* as DuckDB: the fraction without trailing zeroes */
        char f[8];
        snprintf(f, sizeof(f), "%06lld", (long long)frac);
        size_t fl = 6;
        while (f[fl - 1] == '0')
            fl--;
        buf[n++] = '.';
        memcpy(buf + n, f, fl);
        n += fl;
        buf[n] = 0;
    }
    return n;
}
