/*
 * delta/stats.c: the stats JSON string of an add action (PROTOCOL.md
 * "Per-file Statistics"), parsed on demand: numRecords, and minValues,
 * maxValues and nullCount flattened to one entry per dotted column name.
 * Values stay as compact JSON text so that no precision is lost before a
 * caller converts them with the column's type.
 */
#include "delta/delta_int.h"

#include "base/alloc.h"

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

int delta_stats_parse(const char *json, delta_stats *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    out->num_records = -1;
    delta_where w = {"stats", 1, "add", err};
    json_t *j = NULL;
    int rc = delta_json_load(&w, json, strlen(json), &j);
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
