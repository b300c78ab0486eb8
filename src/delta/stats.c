/*
 * delta/stats.c: the stats JSON string of an add action (PROTOCOL.md
 * "Per-file Statistics"), parsed on demand: numRecords, and minValues,
 * maxValues and nullCount flattened to one entry per dotted column name.
 * Values stay as compact JSON text so that no precision is lost before a
 * caller converts them with the column's type: jansson reads every
 * number with a fraction or exponent as a double, and refuses integers
 * beyond int64 (a decimal(38) column's stats), so before parsing, such
 * number tokens are turned into JSON strings of their exact text
 * ("12.345678901234567", "1E+30"); integers within int64 stay numbers.
 */
#include "delta/delta_int.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <string.h>

enum stat_part { PART_MIN, PART_MAX, PART_NULLS };

typedef struct stats_build {
    delta_stats *s;
    size_t cap;
    tarn_err *err;
} stats_build;

static delta_col_stats *col_entry(stats_build *b, const char *name)
{
    for (size_t i = 0; i < b->s->ncols; i++)
        if (strcmp(b->s->cols[i].column, name) == 0)
            return &b->s->cols[i];
    if (b->s->ncols >= DELTA_SCHEMA_FIELDS_MAX ||
        delta_grow(&b->s->cols, &b->cap, b->s->ncols, sizeof(delta_col_stats)) != 0)
        return NULL;
    delta_col_stats *c = &b->s->cols[b->s->ncols];
    c->column = tarn_strdup(name);
    if (c->column == NULL)
        return NULL;
    c->null_count = -1;
    b->s->ncols++;
    return c;
}

static int set_leaf(stats_build *b, const char *name, json_t *v, enum stat_part part)
{
    delta_col_stats *c = col_entry(b, name);
    if (c == NULL)
        return tarn_err_set(b->err, TARN_ENOMEM, "stats: column %.100s", name);
    if (part == PART_NULLS) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return tarn_err_set(b->err, TARN_ECORRUPT,
                                "stats: nullCount of \"%.100s\" is not a count", name);
        c->null_count = (int64_t)json_integer_value(v);
        return 0;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return tarn_err_set(b->err, TARN_ENOMEM, "stats: column %.100s", name);
    char **slot = part == PART_MIN ? &c->min : &c->max;
    tarn_free(*slot);
    *slot = text; /* allocated by tarn_malloc through the jansson hook */
    return 0;
}

/* Walks one of minValues / maxValues / nullCount; nested objects are
 * struct columns. `prefix` holds the dotted path so far. */
static int walk(stats_build *b, json_t *obj, char *prefix, size_t plen, int depth,
                enum stat_part part)
{
    if (depth > DELTA_SCHEMA_DEPTH_MAX)
        return tarn_err_set(b->err, TARN_ECORRUPT, "stats: nested deeper than %d levels",
                            DELTA_SCHEMA_DEPTH_MAX);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        size_t kl = strlen(k);
        if (plen + kl + 2 > DELTA_PATH_BYTES_MAX)
            return tarn_err_set(b->err, TARN_ECORRUPT, "stats: column name too long");
        size_t nl = plen;
        if (plen > 0)
            prefix[nl++] = '.';
        memcpy(prefix + nl, k, kl + 1);
        int rc = json_is_object(v) ? walk(b, v, prefix, nl + kl, depth + 1, part)
                                   : set_leaf(b, prefix, v, part);
        prefix[plen] = '\0';
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int parse_obj(stats_build *b, json_t *j)
{
    json_t *n = json_object_get(j, "numRecords");
    if (n != NULL && (!json_is_integer(n) || json_integer_value(n) < 0))
        return tarn_err_set(b->err, TARN_ECORRUPT, "stats: numRecords is not a count");
    if (n != NULL)
        b->s->num_records = (int64_t)json_integer_value(n);
    static const char *const keys[] = {"minValues", "maxValues", "nullCount"};
    char prefix[DELTA_PATH_BYTES_MAX];
    for (int p = 0; p < 3; p++) {
        json_t *o = json_object_get(j, keys[p]);
        if (o == NULL || json_is_null(o))
            continue;
        if (!json_is_object(o))
            return tarn_err_set(b->err, TARN_ECORRUPT, "stats: %s is not an object", keys[p]);
        prefix[0] = '\0';
        int rc = walk(b, o, prefix, 0, 0, (enum stat_part)p);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Length of the JSON number (RFC 8259 grammar) at s, or 0. */
static size_t number_len(const char *s)
{
    const char *p = s;
    p += *p == '-';
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return 0;
    if (*p == '.') {
        if (p[1] < '0' || p[1] > '9')
            return 0;
        for (p++; *p >= '0' && *p <= '9'; p++) {
        }
    }
    if (*p == 'e' || *p == 'E') {
        p += 1 + (p[1] == '+' || p[1] == '-');
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return (size_t)(p - s);
}

/* Whether the number token s[0..n) is an integer jansson holds exactly. */
static bool int64_token(const char *s, size_t n)
{
    if (memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n))
        return false;
    size_t digits = n - (s[0] == '-');
    if (digits < 19)
        return true;
    if (digits > 19)
        return false;
    const char *lim = s[0] == '-' ? "9223372036854775808" : "9223372036854775807";
    return memcmp(s + (s[0] == '-'), lim, 19) <= 0;
}

/* The stats text with every number jansson would not hold exactly turned
 * into a string of its text (outside strings; malformed numbers are left
 * for jansson to refuse). */
static int quote_inexact_numbers(const char *json, tarn_buf *out)
{
    bool in_str = false;
    int rc = 0;
    for (const char *p = json; rc == 0 && *p != '\0';) {
        if (in_str) {
            if (*p == '\\' && p[1] != '\0') {
                rc = tarn_buf_append(out, p, 2);
                p += 2;
                continue;
            }
            in_str = *p != '"';
        } else if (*p == '"') {
            in_str = true;
        } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
            size_t n = number_len(p);
            if (n > 0 && !int64_token(p, n)) {
                rc = tarn_buf_append_byte(out, '"');
                if (rc == 0)
                    rc = tarn_buf_append(out, p, n);
                if (rc == 0)
                    rc = tarn_buf_append_byte(out, '"');
                p += n;
                continue;
            }
            if (n > 0) {
                rc = tarn_buf_append(out, p, n);
                p += n;
                continue;
            }
        }
        if (rc == 0)
            rc = tarn_buf_append_byte(out, (uint8_t)*p);
        p++;
    }
    return rc;
}

int delta_stats_parse(const char *json, delta_stats *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    out->num_records = -1;
    delta_where w = {"stats", 1, "add", err};
    json_t *j = NULL;
    size_t len = strlen(json);
    tarn_buf exact;
    tarn_buf_init(&exact, len * 3 + 16);
    int rc = quote_inexact_numbers(json, &exact);
    if (rc != 0) {
        tarn_buf_free(&exact);
        return tarn_err_set(err, rc, "stats of %zu bytes", len);
    }
    rc = delta_json_load(&w, exact.data ? (const char *)exact.data : "", exact.len, &j);
    tarn_buf_free(&exact);
    if (rc != 0)
        return rc;
    stats_build b = {out, 0, err};
    rc = json_is_object(j) ? parse_obj(&b, j)
                           : tarn_err_set(err, TARN_ECORRUPT, "stats: not a JSON object");
    json_decref(j);
    if (rc != 0)
        delta_stats_free(out);
    return rc;
}

void delta_stats_free(delta_stats *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->ncols; i++) {
        tarn_free(s->cols[i].column);
        tarn_free(s->cols[i].min);
        tarn_free(s->cols[i].max);
    }
    tarn_free(s->cols);
    memset(s, 0, sizeof(*s));
    s->num_records = -1;
}

const delta_col_stats *delta_stats_find(const delta_stats *s, const char *column)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->cols[i].column, column) == 0)
            return &s->cols[i];
    return NULL;
}
