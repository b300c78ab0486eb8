/*
 * delta/schema.c: the schema string of a metaData action (PROTOCOL.md
 * "Schema Serialization Format") parsed into a depth-first tree, and the
 * per-file stats string (PROTOCOL.md "Per-file Statistics") flattened to
 * dotted column names. Both nest under the writer's control, so the
 * recursion below carries a depth and stops at DELTA_SCHEMA_DEPTH_MAX.
 */
#include "delta/delta_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[DELTA_KIND_COUNT] = {
    "string",  "long",   "integer", "short",     "byte",          "float",  "double", "decimal",
    "boolean", "binary", "date",    "timestamp", "timestamp_ntz", "struct", "array",  "map"};

const char *delta_kind_name(delta_kind k)
{
    return (unsigned)k < DELTA_KIND_COUNT ? kind_names[k] : "?";
}

typedef struct sbuild {
    delta_schema *s;
    size_t cap;
    tarn_err *err;
} sbuild;

static int sbad(sbuild *b, const char *what, const char *name)
{
    return tarn_err_set(b->err, TARN_ECORRUPT, "schema: field \"%.100s\": %s", name ? name : "",
                        what);
}

/* Appends a node; returns its index in *idx. */
static int push_node(sbuild *b, const char *name, int32_t parent, uint32_t *idx)
{
    delta_schema *s = b->s;
    if (s->nfields >= DELTA_SCHEMA_FIELDS_MAX)
        return tarn_err_set(b->err, TARN_ETOOBIG, "schema: more than %d fields",
                            DELTA_SCHEMA_FIELDS_MAX);
    if (delta_grow(&s->fields, &b->cap, s->nfields, sizeof(delta_field)) != 0)
        return tarn_err_set(b->err, TARN_ENOMEM, "schema");
    delta_field *f = &s->fields[s->nfields];
    memset(f, 0, sizeof(*f));
    if (name != NULL && (f->name = tarn_strdup(name)) == NULL)
        return tarn_err_set(b->err, TARN_ENOMEM, "schema");
    f->parent = parent;
    f->nullable = true;
    *idx = s->nfields++;
    return 0;
}

/* "decimal(p,s)" or "decimal" (Spark's default 10,0). */
static int parse_decimal(sbuild *b, const char *t, delta_field *f)
{
    unsigned p = 10, sc = 0;
    char tail = 0;
    int n = 0;
    if (strcmp(t, "decimal") != 0 &&
        (sscanf(t, "decimal(%u,%u%c%n", &p, &sc, &tail, &n) != 3 || tail != ')' || t[n] != '\0'))
        return sbad(b, "malformed decimal type", f->name);
    if (p < 1 || p > 38 || sc > p)
        return sbad(b, "decimal precision or scale out of range", f->name);
    f->kind = DELTA_DECIMAL;
    f->precision = (uint8_t)p;
    f->scale = (uint8_t)sc;
    return 0;
}

static int parse_primitive(sbuild *b, const char *t, delta_field *f)
{
    if (strncmp(t, "decimal", 7) == 0)
        return parse_decimal(b, t, f);
    for (int k = 0; k < DELTA_STRUCT; k++) {
        if (k != DELTA_DECIMAL && strcmp(t, kind_names[k]) == 0) {
            f->kind = (delta_kind)k;
            return 0;
        }
    }
    return tarn_err_set(b->err, TARN_ENOTSUP, "schema: field \"%.100s\": type \"%.60s\"",
                        f->name ? f->name : "", t);
}

static int parse_type(sbuild *b, json_t *t, uint32_t idx, int depth);

/* A child node (array element, map key or value, struct field). */
static int parse_child(sbuild *b, const char *name, json_t *type, bool nullable, uint32_t parent,
                       int depth)
{
    uint32_t idx;
    int rc = push_node(b, name, (int32_t)parent, &idx);
    if (rc != 0)
        return rc;
    b->s->fields[idx].nullable = nullable;
    return parse_type(b, type, idx, depth + 1);
}

static int parse_struct(sbuild *b, json_t *t, uint32_t idx, int depth)
{
    json_t *fields = json_object_get(t, "fields");
    if (!json_is_array(fields))
        return sbad(b, "struct without a fields array", b->s->fields[idx].name);
    b->s->fields[idx].kind = DELTA_STRUCT;
    size_t i;
    json_t *fj;
    json_array_foreach(fields, i, fj)
    {
        json_t *name = json_object_get(fj, "name");
        json_t *nullable = json_object_get(fj, "nullable");
        if (!json_is_string(name) || strlen(json_string_value(name)) != json_string_length(name))
            return sbad(b, "a struct field without a name", b->s->fields[idx].name);
        if (nullable != NULL && !json_is_boolean(nullable))
            return sbad(b, "nullable is not a boolean", json_string_value(name));
        int rc = parse_child(b, json_string_value(name), json_object_get(fj, "type"),
                             nullable == NULL || json_is_true(nullable), idx, depth);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static bool flag(json_t *t, const char *key)
{
    json_t *v = json_object_get(t, key);
    return v == NULL || json_is_true(v);
}

static int parse_type(sbuild *b, json_t *t, uint32_t idx, int depth)
{
    if (depth > DELTA_SCHEMA_DEPTH_MAX)
        return tarn_err_set(b->err, TARN_ECORRUPT, "schema: nested deeper than %d levels",
                            DELTA_SCHEMA_DEPTH_MAX);
    int rc;
    if (json_is_string(t)) {
        rc = parse_primitive(b, json_string_value(t), &b->s->fields[idx]);
    } else if (!json_is_object(t) || !json_is_string(json_object_get(t, "type"))) {
        rc = sbad(b, "type is neither a name nor an object", b->s->fields[idx].name);
    } else {
        const char *k = json_string_value(json_object_get(t, "type"));
        if (strcmp(k, "struct") == 0) {
            rc = parse_struct(b, t, idx, depth);
        } else if (strcmp(k, "array") == 0) {
            b->s->fields[idx].kind = DELTA_ARRAY;
            rc = parse_child(b, NULL, json_object_get(t, "elementType"), flag(t, "containsNull"),
                             idx, depth);
        } else if (strcmp(k, "map") == 0) {
            b->s->fields[idx].kind = DELTA_MAP;
            rc = parse_child(b, NULL, json_object_get(t, "keyType"), false, idx, depth);
            if (rc == 0)
                rc = parse_child(b, NULL, json_object_get(t, "valueType"),
                                 flag(t, "valueContainsNull"), idx, depth);
        } else {
            rc = sbad(b, "unknown complex type", b->s->fields[idx].name);
        }
    }
    b->s->fields[idx].end = b->s->nfields;
    return rc;
}

/* Collects the root's children and refuses duplicate column names (Delta
 * column names are case-insensitive). */
static int collect_top(sbuild *b)
{
    delta_schema *s = b->s;
    s->top = tarn_calloc(s->nfields, sizeof(uint32_t));
    if (s->top == NULL)
        return tarn_err_set(b->err, TARN_ENOMEM, "schema");
    for (uint32_t i = 1; i < s->nfields; i = s->fields[i].end) {
        for (uint32_t j = 0; j < s->ntop; j++)
            if (strcasecmp(s->fields[s->top[j]].name, s->fields[i].name) == 0)
                return sbad(b, "duplicate column name", s->fields[i].name);
        s->top[s->ntop++] = i;
    }
    return 0;
}

int delta_schema_parse(const char *json, size_t len, delta_schema *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    delta_where w = {"schemaString", 1, "schema", err};
    json_t *j = NULL;
    int rc = delta_json_load(&w, json, len, &j);
    if (rc != 0)
        return rc;
    sbuild b = {out, 0, err};
    uint32_t root;
    rc = push_node(&b, "", -1, &root);
    if (rc == 0 && (!json_is_object(j) || !json_is_string(json_object_get(j, "type")) ||
                    strcmp(json_string_value(json_object_get(j, "type")), "struct") != 0))
        rc = sbad(&b, "the schema is not a struct", "");
    if (rc == 0)
        rc = parse_type(&b, j, root, 0);
    if (rc == 0)
        rc = collect_top(&b);
    json_decref(j);
    if (rc != 0)
        delta_schema_free(out);
    return rc;
}

void delta_schema_free(delta_schema *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; i < s->nfields; i++)
        tarn_free(s->fields[i].name);
    tarn_free(s->fields);
    tarn_free(s->top);
    memset(s, 0, sizeof(*s));
}

int32_t delta_schema_find(const delta_schema *s, const char *name)
{
    for (uint32_t j = 0; j < s->ntop; j++)
        if (strcasecmp(s->fields[s->top[j]].name, name) == 0)
            return (int32_t)s->top[j];
    return -1;
}

int delta_kind_vec_type(const delta_field *f, vec_type_info *out)
{
    static const vec_type map[] = {[DELTA_STRING] = VEC_STRING,
                                   [DELTA_LONG] = VEC_I64,
                                   [DELTA_INTEGER] = VEC_I32,
                                   [DELTA_SHORT] = VEC_I16,
                                   [DELTA_BYTE] = VEC_I8,
                                   [DELTA_FLOAT] = VEC_F32,
                                   [DELTA_DOUBLE] = VEC_F64,
                                   [DELTA_BOOLEAN] = VEC_BOOL,
                                   [DELTA_BINARY] = VEC_BINARY,
                                   [DELTA_DATE] = VEC_DATE,
                                   [DELTA_TIMESTAMP] = VEC_TIMESTAMP,
                                   [DELTA_TIMESTAMP_NTZ] = VEC_TIMESTAMP};
    memset(out, 0, sizeof(*out));
    if (f->kind == DELTA_DECIMAL) {
        out->id = f->precision <= 18 ? VEC_DECIMAL64 : VEC_DECIMAL128;
        out->precision = f->precision;
        out->scale = f->scale;
        return 0;
    }
    if (f->kind >= DELTA_STRUCT)
        return TARN_ENOTSUP;
    out->id = map[f->kind];
    if (f->kind == DELTA_TIMESTAMP || f->kind == DELTA_TIMESTAMP_NTZ) {
        out->unit = VEC_UNIT_MICROS;
        out->utc = f->kind == DELTA_TIMESTAMP;
    }
    return 0;
}
