/*
 * delta/json.c: typed field readers over jansson objects, and the small
 * owned containers (string arrays, maps) that actions are made of. Every
 * value read here comes from an untrusted log: a wrong type is an error
 * naming the file, line, action and field (delta/README.md, "Errors").
 */
#include "delta/delta_int.h"

#include "base/alloc.h"

#include <string.h>

int delta_bad(const delta_where *w, const char *field, const char *what)
{
    if (w->line > 0)
        return tarn_err_set(w->err, TARN_ECORRUPT, "%s: line %zu: %s: %s: %s", w->file, w->line,
                            w->action, field, what);
    return tarn_err_set(w->err, TARN_ECORRUPT, "%s: %s: %s: %s", w->file, w->action, field, what);
}

int delta_json_load(const delta_where *w, const char *data, size_t len, json_t **out)
{
    json_error_t jerr;
    tarn_alloc_hook_jansson();
    tarn_alloc_jansson_oom_reset();
    *out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*out != NULL)
        return 0;
    if (tarn_alloc_jansson_oom())
        return tarn_err_set(w->err, TARN_ENOMEM, "%s: line %zu: parsing JSON", w->file, w->line);
    return tarn_err_set(w->err, TARN_ECORRUPT, "%s: line %zu: malformed JSON at column %d: %s",
                        w->file, w->line, jerr.column, jerr.text);
}

/* The member, or NULL when absent or JSON null. */
static json_t *member(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

int delta_json_str(const delta_where *w, json_t *obj, const char *key, bool required, char **out)
{
    json_t *v = member(obj, key);
    if (v == NULL)
        return required ? delta_bad(w, key, "missing") : 0;
    if (!json_is_string(v))
        return delta_bad(w, key, "expected a string");
    char *s = tarn_strndup(json_string_value(v), json_string_length(v));
    if (s == NULL)
        return tarn_err_set(w->err, TARN_ENOMEM, "%s: %s", w->action, key);
    if (strlen(s) != json_string_length(v)) {
        tarn_free(s);
        return delta_bad(w, key, "contains a NUL character");
    }
    tarn_free(*out);
    *out = s;
    return 0;
}

int delta_json_i64(const delta_where *w, json_t *obj, const char *key, bool required, int64_t min,
                   int64_t *out)
{
    json_t *v = member(obj, key);
    if (v == NULL)
        return required ? delta_bad(w, key, "missing") : 0;
    if (!json_is_integer(v))
        return delta_bad(w, key, "expected an integer");
    json_int_t x = json_integer_value(v);
    if (x < min)
        return delta_bad(w, key, "out of range");
    *out = (int64_t)x;
    return 0;
}

int delta_json_bool(const delta_where *w, json_t *obj, const char *key, bool required, bool *out)
{
    json_t *v = member(obj, key);
    if (v == NULL)
        return required ? delta_bad(w, key, "missing") : 0;
    if (!json_is_boolean(v))
        return delta_bad(w, key, "expected true or false");
    *out = json_is_true(v);
    return 0;
}

int delta_json_map(const delta_where *w, json_t *obj, const char *key, bool required,
                   delta_map *out)
{
    json_t *v = member(obj, key);
    if (v == NULL)
        return required ? delta_bad(w, key, "missing") : 0;
    if (!json_is_object(v))
        return delta_bad(w, key, "expected an object");
    size_t n = json_object_size(v);
    if (n > DELTA_MAP_ENTRIES_MAX)
        return delta_bad(w, key, "too many entries");
    delta_map m = {tarn_calloc(n + 1, sizeof(char *)), tarn_calloc(n + 1, sizeof(char *)), 0};
    if (m.keys == NULL || m.vals == NULL)
        goto oom;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        if (!json_is_null(x) && !json_is_string(x)) {
            delta_map_free(&m);
            return delta_bad(w, key, "values must be strings or null");
        }
        m.keys[m.count] = tarn_strdup(k);
        if (m.keys[m.count] == NULL)
            goto oom;
        m.count++;
        if (json_is_string(x)) {
            m.vals[m.count - 1] = tarn_strdup(json_string_value(x));
            if (m.vals[m.count - 1] == NULL)
                goto oom;
        }
    }
    delta_map_free(out);
    *out = m;
    return 0;
oom:
    delta_map_free(&m);
    return tarn_err_set(w->err, TARN_ENOMEM, "%s: %s", w->action, key);
}

int delta_json_strs(const delta_where *w, json_t *obj, const char *key, char ***out, size_t *count)
{
    json_t *v = member(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return delta_bad(w, key, "expected an array");
    size_t n = json_array_size(v);
    if (n > DELTA_MAP_ENTRIES_MAX)
        return delta_bad(w, key, "too many entries");
    char **s = tarn_calloc(n + 1, sizeof(char *));
    if (s == NULL)
        return tarn_err_set(w->err, TARN_ENOMEM, "%s: %s", w->action, key);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_string(x)) {
            delta_strs_free(s, i);
            return delta_bad(w, key, "entries must be strings");
        }
        s[i] = tarn_strdup(json_string_value(x));
        if (s[i] == NULL) {
            delta_strs_free(s, i);
            return tarn_err_set(w->err, TARN_ENOMEM, "%s: %s", w->action, key);
        }
    }
    delta_strs_free(*out, *count);
    *out = s;
    *count = n;
    return 0;
}

int delta_grow(void *arr_ptr, size_t *cap, size_t count, size_t size)
{
    void **arr = arr_ptr;
    if (count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = tarn_realloc(*arr, ncap * size);
    if (p == NULL)
        return TARN_ENOMEM;
    memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
    *arr = p;
    *cap = ncap;
    return 0;
}

void delta_strs_free(char **s, size_t n)
{
    for (size_t i = 0; s != NULL && i < n; i++)
        tarn_free(s[i]);
    tarn_free(s);
}

void delta_map_free(delta_map *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->count; i++) {
        tarn_free(m->keys[i]);
        tarn_free(m->vals[i]);
    }
    tarn_free(m->keys);
    tarn_free(m->vals);
    memset(m, 0, sizeof(*m));
}

int delta_map_get(const delta_map *m, const char *key, const char **val)
{
    for (size_t i = 0; i < m->count; i++) {
        if (strcmp(m->keys[i], key) == 0) {
            *val = m->vals[i];
            return 1;
        }
    }
    return 0;
}

static int strs_copy(char **src, size_t n, char ***dst)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    char **d = tarn_calloc(n + 1, sizeof(char *));
    if (d == NULL)
        return TARN_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        d[i] = src[i] ? tarn_strdup(src[i]) : NULL;
        if (src[i] != NULL && d[i] == NULL) {
            delta_strs_free(d, i);
            return TARN_ENOMEM;
        }
    }
    *dst = d;
    return 0;
}

int delta_map_copy(const delta_map *src, delta_map *dst)
{
    memset(dst, 0, sizeof(*dst));
    char **k = NULL, **v = NULL;
    if (strs_copy(src->keys, src->count, &k) != 0)
        return TARN_ENOMEM;
    if (strs_copy(src->vals, src->count, &v) != 0) {
        delta_strs_free(k, src->count);
        return TARN_ENOMEM;
    }
    *dst = (delta_map){k, v, src->count};
    return 0;
}

void delta_protocol_free(delta_protocol *p)
{
    if (p == NULL)
        return;
    delta_strs_free(p->reader_features, p->n_reader_features);
    delta_strs_free(p->writer_features, p->n_writer_features);
    memset(p, 0, sizeof(*p));
}

int delta_protocol_copy(const delta_protocol *src, delta_protocol *dst)
{
    *dst = *src;
    dst->reader_features = dst->writer_features = NULL;
    if (strs_copy(src->reader_features, src->n_reader_features, &dst->reader_features) != 0 ||
        strs_copy(src->writer_features, src->n_writer_features, &dst->writer_features) != 0) {
        delta_protocol_free(dst);
        return TARN_ENOMEM;
    }
    return 0;
}

void delta_metadata_free(delta_metadata *m)
{
    if (m == NULL)
        return;
    tarn_free(m->id);
    tarn_free(m->name);
    tarn_free(m->schema_string);
    delta_schema_free(&m->schema);
    delta_strs_free(m->partition_columns, m->n_partition_columns);
    delta_map_free(&m->configuration);
    memset(m, 0, sizeof(*m));
}

int delta_metadata_copy(const delta_metadata *src, delta_metadata *dst, tarn_err *err)
{
    memset(dst, 0, sizeof(*dst));
    dst->created_time_ms = src->created_time_ms;
    dst->n_partition_columns = src->n_partition_columns;
    dst->id = tarn_strdup(src->id);
    dst->name = src->name ? tarn_strdup(src->name) : NULL;
    dst->schema_string = tarn_strdup(src->schema_string);
    if (dst->id == NULL || (src->name && dst->name == NULL) || dst->schema_string == NULL ||
        strs_copy(src->partition_columns, src->n_partition_columns, &dst->partition_columns) ||
        delta_map_copy(&src->configuration, &dst->configuration)) {
        delta_metadata_free(dst);
        return tarn_err_set(err, TARN_ENOMEM, "copying metaData");
    }
    /* Re-parsing is simpler than a deep copy and the string was valid. */
    int rc = delta_schema_parse(dst->schema_string, strlen(dst->schema_string), &dst->schema, err);
    if (rc != 0)
        delta_metadata_free(dst);
    return rc;
}

void delta_file_action_free(delta_file_action *a)
{
    if (a == NULL)
        return;
    tarn_free(a->path);
    tarn_free(a->dv_id);
    delta_map_free(&a->partition_values);
    tarn_free(a->stats);
    memset(a, 0, sizeof(*a));
}
