/* sql/literal.c: values of literals: integers with overflow detection,
 * decimals and doubles, and the text of DATE, TIMESTAMP and INTERVAL
 * literals (proleptic Gregorian calendar, no time zones). */
#include "sql/literal.h"

#include "base/num.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sql_lit_parse_int64(const char *s, size_t n, int64_t *out)
{
    if (n == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_C(9223372036854775807) - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = (int64_t)v;
    return 0;
}

/* Reads exactly `width` digits. */
static int digits(const char *s, size_t n, size_t *i, size_t width, int *out)
{
    int v = 0;
    for (size_t k = 0; k < width; k++, (*i)++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[*i] - '0');
    }
    *out = v;
    return 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int sql_lit_date_add(int64_t days, int64_t months, int64_t ndays, int64_t *out)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (days < -800000 || days > 3000000 || months < -120000 || months > 120000 ||
        ndays < -4000000 || ndays > 4000000)
        return -1;
    int64_t y;
    int m, d;
    tarn_civil_from_days(days, &y, &m, &d);
    int64_t total = y * 12 + (m - 1) + months;
    y = total >= 0 ? total / 12 : -((-total + 11) / 12);
    m = (int)(total - y * 12) + 1;
    if (y < 1 || y > 9999)
        return -1;
    int last = mdays[m - 1] + (m == 2 && is_leap((int)y));
    *out = tarn_days_from_civil(y, m, d < last ? d : last) + ndays;
    int64_t lo = tarn_days_from_civil(1, 1, 1), hi = tarn_days_from_civil(9999, 12, 31);
    return *out < lo || *out > hi ? -1 : 0;
}

static int parse_ymd(const char *s, size_t n, size_t *i, int64_t *days)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (digits(s, n, i, 4, &y) != 0 || *i >= n || s[(*i)++] != '-' || digits(s, n, i, 2, &m) != 0 ||
        *i >= n || s[(*i)++] != '-' || digits(s, n, i, 2, &d) != 0)
        return -1;
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return -1;
    if (d > mdays[m - 1] + (m == 2 && is_leap(y)))
        return -1;
    *days = tarn_days_from_civil(y, m, d);
    return 0;
}

int sql_lit_parse_date(const char *s, size_t n, int64_t *days)
{
    size_t i = 0;
    if (parse_ymd(s, n, &i, days) != 0 || i != n)
        return -1;
    return 0;
}

int sql_lit_parse_timestamp(const char *s, size_t n, int64_t *micros)
{
    size_t i = 0;
    int64_t days;
    if (parse_ymd(s, n, &i, &days) != 0)
        return -1;
    int64_t us = 0;
    if (i < n) {
        int h, mi, sec;
        if ((s[i] != ' ' && s[i] != 'T') || (++i, digits(s, n, &i, 2, &h)) != 0 || i >= n ||
            s[i++] != ':' || digits(s, n, &i, 2, &mi) != 0 || i >= n || s[i++] != ':' ||
            digits(s, n, &i, 2, &sec) != 0)
            return -1;
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
        us = ((int64_t)h * 3600 + mi * 60 + sec) * 1000000;
        if (i < n && s[i] == '.') {
            i++;
            int64_t scale = 100000, frac = 0;
            size_t start = i;
            while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 6) {
                frac += (s[i] - '0') * scale;
                scale /= 10;
                i++;
            }
            if (i == start)
                return -1;
            us += frac;
        }
    }
    if (i != n)
        return -1;
    *micros = days * 86400 * 1000000 + us;
    return 0;
}

int sql_lit_parse_interval_count(const char *s, size_t n, int64_t *out)
{
    /* Leading and trailing blanks are allowed: INTERVAL ' 90 ' DAY. */
    while (n > 0 && s[0] == ' ')
        s++, n--;
    while (n > 0 && s[n - 1] == ' ')
        n--;
    int neg = n > 0 && s[0] == '-';
    int64_t v;
    if (sql_lit_parse_int64(s + neg, n - (size_t)neg, &v) != 0)
        return -1;
    *out = neg ? -v : v;
    return 0;
}
