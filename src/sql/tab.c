/*
 * sql/tab.c: the tables a statement reads. A Tarn table (the catalog's,
 * at tables/<name>/), a Delta table anywhere (delta_scan('dir')) or a
 * Parquet file (read_parquet('path')) becomes a sql_tab: its snapshot,
 * taken once per statement, its columns, and what the scan reads:
 *
 *  - projection: only columns the query uses are read; the others reach
 *    the operators as NULL columns (never looked at), so column indexes
 *    stay those of the table;
 *  - pruning: conjuncts `column op constant` of the WHERE skip Delta files
 *    by partition values and min/max stats, and Parquet row groups by
 *    their statistics (the filter still runs on what is read);
 *  - widening: TINYINT/SMALLINT reach exec as INTEGER, REAL as DOUBLE.
 *
 * Design note: src/sql/README.md, "Plans".
 */
#include "sql/bind_int.h"

#include "base/alloc.h"
#include "sql/literal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tarn_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void sql_tab_free(sql_tab *t)
{
    if (t == NULL)
        return;
    for (uint32_t i = 0; i < t->nprune; i++)
        vec_col_free(&t->prune[i].value);
    for (uint32_t i = 0; t->names && i < t->ncols; i++)
        tarn_free(t->names[i]);
    tarn_free(t->names);
    tarn_free(t->types);
    tarn_free(t->file_types);
    tarn_free(t->used);
    tarn_free(t->kept);
    delta_snapshot_free(t->snap);
    delta_table_close(t->dt);
    objstore_close(t->own_os);
    pq_file_close(t->pf);
    if (t->fd >= 0)
        close(t->fd);
    tarn_free(t->name);
    tarn_free(t->key);
    tarn_free(t);
}

static int tab_new(sql_binder *b, const char *name, const char *key, sql_tab **out)
{
    if (b->ntabs >= SQL_SCANS_MAX)
        return sql_bind_fail(b, TARN_ETOOBIG, b->e->pos, "more than %d tables in one statement",
                             SQL_SCANS_MAX);
    sql_tab *t = tarn_calloc(1, sizeof(*t));
    if (t == NULL || (t->name = xstrdup(name)) == NULL || (t->key = xstrdup(key)) == NULL) {
        sql_tab_free(t);
        return sql_bind_oom(b);
    }
    t->fd = -1;
    *out = t;
    return 0;
}

static int tab_cols(sql_tab *t, uint32_t n)
{
    t->ncols = n;
    t->names = tarn_calloc(n ? n : 1, sizeof(*t->names));
    t->types = tarn_calloc(n ? n : 1, sizeof(*t->types));
    t->file_types = tarn_calloc(n ? n : 1, sizeof(*t->file_types));
    t->used = tarn_calloc(n ? n : 1, sizeof(*t->used));
    return t->names && t->types && t->file_types && t->used ? 0 : TARN_ENOMEM;
}

/* Columns from the snapshot's schema. */
static int tab_delta_cols(sql_tab *t, tarn_err *err)
{
    const delta_schema *sc = &t->snap->metadata.schema;
    if (tab_cols(t, sc->ntop) != 0)
        return tarn_err_set(err, TARN_ENOMEM, "table columns");
    for (uint32_t i = 0; i < sc->ntop; i++) {
        const delta_field *f = &sc->fields[sc->top[i]];
        int rc = delta_kind_vec_type(f, &t->file_types[i]);
        if (rc != 0)
            return tarn_err_set(err, rc, "column %s of type %s is not readable yet", f->name,
                                delta_kind_name(f->kind));
        if ((t->names[i] = xstrdup(f->name)) == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "table columns");
        t->types[i] = sql_compute_type(t->file_types[i]);
    }
    return 0;
}

/* The snapshot a table reference names: latest, VERSION AS OF n or
 * TIMESTAMP AS OF '...'. */
static int open_snapshot(sql_binder *b, sql_tab *t, const sql_node *ref)
{
    tarn_err *err = b->err;
    const sql_node *as_of = ref->u.table.as_of;
    sql_travel_kind travel = ref->u.table.travel;
    int64_t at = 0;
    if (travel == SQL_TRAVEL_VERSION) {
        at = as_of->u.lit.ival;
    } else if (travel == SQL_TRAVEL_TIMESTAMP) {
        const char *s = as_of->u.lit.str;
        if (sql_lit_parse_timestamp(s, strlen(s), &at) != 0)
            return sql_bind_fail(b, TARN_EINVAL, as_of->pos,
                                 "invalid timestamp '%s': expected 'YYYY-MM-DD HH:MM:SS'", s);
        at /= 1000;
    }
    int rc =
        sql_session_open_table(b->s, ref->u.table.name.folded, travel, at, &t->dt, &t->snap, err);
    if (rc == TARN_ENOENT && travel == SQL_TRAVEL_NONE)
        return rc;
    if (rc == TARN_ENOENT && travel == SQL_TRAVEL_VERSION)
        return sql_bind_fail(b, rc, as_of->pos, "table \"%s\" has no version %lld",
                             ref->u.table.name.text, (long long)at);
    if (rc == TARN_ENOENT)
        return sql_bind_fail(b, rc, as_of->pos, "table \"%s\" has no version at %s",
                             ref->u.table.name.text, as_of->u.lit.str);
    if (rc != 0)
        return sql_bind_fail(b, rc, ref->pos, "table \"%s\": %s", ref->u.table.name.text,
                             tarn_err_msg(err));
    return 0;
}

static int table_not_found(sql_binder *b, const sql_node *ref)
{
    sql_bind_fail(b, TARN_ENOENT, ref->u.table.name.pos, "table \"%s\" does not exist",
                  ref->u.table.name.text);
    char **names = NULL;
    size_t n = 0;
    tarn_err err = TARN_ERR_INIT;
    if (sql_session_table_names(b->s, &names, &n, &err) == 0) {
        sql_bind_suggest(b, ref->u.table.name.folded, (const char *const *)names, n);
        sql_names_free(names, n);
    }
    return TARN_ENOENT;
}

static uint32_t tab_add(sql_binder *b, sql_tab *t)
{
    b->tabs[b->ntabs] = t;
    return b->ntabs++;
}

int sql_tab_table(sql_binder *b, const sql_node *ref, uint32_t *id)
{
    char key[512];
    const sql_node *as_of = ref->u.table.as_of;
    if (ref->u.table.travel == SQL_TRAVEL_VERSION)
        snprintf(key, sizeof(key), "%s@v%lld", ref->u.table.name.folded,
                 (long long)as_of->u.lit.ival);
    else if (ref->u.table.travel == SQL_TRAVEL_TIMESTAMP)
        snprintf(key, sizeof(key), "%s@t%s", ref->u.table.name.folded, as_of->u.lit.str);
    else
        snprintf(key, sizeof(key), "%s", ref->u.table.name.folded);
    /* One version per table per statement: a second reference (a
     * self-join, a UNION of the table with itself) reads the version the
     * first one read, through a scan of its own. */
    sql_node pinned, lit = {.kind = SQL_LITERAL};
    for (uint32_t i = 0; i < b->ntabs; i++) {
        if (strcmp(b->tabs[i]->key, key) == 0 && b->tabs[i]->snap) {
            pinned = *ref;
            pinned.u.table.travel = SQL_TRAVEL_VERSION;
            pinned.u.table.as_of = &lit;
            lit.u.lit.kind = SQL_LIT_INT;
            lit.u.lit.ival = b->tabs[i]->snap->version;
            lit.pos = ref->pos;
            ref = &pinned;
            break;
        }
    }
    sql_tab *t;
    int rc = tab_new(b, ref->u.table.name.text, key, &t);
    if (rc != 0)
        return rc;
    t->kind = SQL_TAB_DELTA;
    rc = open_snapshot(b, t, ref);
    if (rc == TARN_ENOENT && ref->u.table.travel == SQL_TRAVEL_NONE) {
        sql_tab_free(t);
        return table_not_found(b, ref);
    }
    if (rc == 0 && (rc = tab_delta_cols(t, b->err)) != 0)
        rc = sql_bind_fail(b, rc, ref->pos, "%s", tarn_err_msg(b->err));
    if (rc != 0) {
        sql_tab_free(t);
        return rc;
    }
    *id = tab_add(b, t);
    return 0;
}

/* ---- table functions ---- */

static int open_parquet(sql_tab *t, const char *path, tarn_err *err)
{
    t->kind = SQL_TAB_PARQUET;
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (t->fd < 0 || fstat(t->fd, &st) != 0)
        return tarn_err_set(err, tarn_err_from_errno(errno), "open %s: %s", path, strerror(errno));
    pq_source src = {pq_fd_read, &t->fd, (uint64_t)st.st_size, path};
    int rc = pq_file_open(&src, &t->pf, err);
    if (rc != 0)
        return rc;
    uint32_t n = pq_file_ncols(t->pf);
    if (tab_cols(t, n) != 0)
        return tarn_err_set(err, TARN_ENOMEM, "columns");
    for (uint32_t i = 0; i < n; i++) {
        const pq_column_info *ci = pq_file_column(t->pf, i);
        if (ci->unsupported || ci->type.list)
            return tarn_err_set(err, TARN_ENOTSUP, "%s: column %s is not readable yet", path,
                                ci->name);
        if ((t->names[i] = xstrdup(ci->name)) == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "columns");
        for (char *p = t->names[i]; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a'); /* names resolve folded */
        t->file_types[i] = ci->type;
        t->types[i] = sql_compute_type(ci->type);
    }
    return 0;
}

static int open_delta_dir(sql_tab *t, const char *dir, tarn_err *err)
{
    t->kind = SQL_TAB_DELTA;
    int rc = objstore_open(dir, &t->own_os, err);
    if (rc == 0)
        rc = delta_table_open(t->own_os, "", &t->dt, err);
    if (rc == 0)
        rc = delta_snapshot_latest(t->dt, &t->snap, err);
    if (rc == 0)
        rc = tab_delta_cols(t, err);
    return rc;
}

int sql_tab_func(sql_binder *b, const sql_node *fn, uint32_t *id)
{
    const char *f = fn->u.table_func.name.folded;
    bool pq = strcmp(f, "read_parquet") == 0, dl = strcmp(f, "delta_scan") == 0;
    if (!pq && !dl) {
        sql_bind_fail(b, TARN_ENOENT, fn->pos, "unknown table function %s()",
                      fn->u.table_func.name.text);
        static const char *const funcs[] = {"read_parquet", "delta_scan"};
        sql_bind_suggest(b, f, funcs, 2);
        return TARN_ENOENT;
    }
    const sql_list *args = &fn->u.table_func.args;
    if (args->count != 1 || args->items[0]->kind != SQL_LITERAL ||
        args->items[0]->u.lit.kind != SQL_LIT_STRING)
        return sql_bind_fail(b, TARN_EINVAL, fn->pos, "%s() takes one string: the %s",
                             fn->u.table_func.name.text, pq ? "file path" : "table directory");
    const char *path = args->items[0]->u.lit.str;
    char key[1100];
    snprintf(key, sizeof(key), "%s(%s)", f, path);
    sql_tab *t;
    int rc = tab_new(b, key, key, &t);
    if (rc != 0)
        return rc;
    rc = pq ? open_parquet(t, path, b->err) : open_delta_dir(t, path, b->err);
    if (rc != 0) {
        sql_tab_free(t);
        return sql_bind_fail(b, rc, args->items[0]->pos, "%s", tarn_err_msg(b->err));
    }
    *id = tab_add(b, t);
    return 0;
}

/* ---- pruning predicates ---- */

static const struct {
    const char *op;
    pq_op pq, flipped;
} cmp_map[] = {{"=", PQ_OP_EQ, PQ_OP_EQ},
               {"<", PQ_OP_LT, PQ_OP_GT},
               {"<=", PQ_OP_LE, PQ_OP_GE},
               {">", PQ_OP_GT, PQ_OP_LT},
               {">=", PQ_OP_GE, PQ_OP_LE}};

static int prune_value(sql_prune *p, vec_type_info t, const json_t *v)
{
    if (vec_col_init(&p->value, t, 1) != 0)
        return TARN_ENOMEM;
    if (t.id == VEC_STRING && json_is_string(v))
        return vec_col_append_str(&p->value, json_string_value(v), json_string_length(v));
    p->value.len = 1;
    switch (t.id) {
    case VEC_I32:
    case VEC_DATE:
        ((int32_t *)p->value.data)[0] = (int32_t)json_integer_value(v);
        return json_is_integer(v) ? 0 : TARN_EINVAL;
    case VEC_I64:
    case VEC_DECIMAL64:
    case VEC_TIMESTAMP:
        ((int64_t *)p->value.data)[0] = json_integer_value(v);
        return json_is_integer(v) ? 0 : TARN_EINVAL;
    case VEC_F64:
        ((double *)p->value.data)[0] = json_number_value(v);
        return json_is_number(v) ? 0 : TARN_EINVAL;
    default:
        return TARN_ENOTSUP;
    }
}

static void add_cmp(sql_tab *t, const json_t *pred)
{
    const char *op = json_string_value(json_object_get(pred, "op"));
    const json_t *args = json_object_get(pred, "args");
    for (size_t k = 0; op && k < sizeof(cmp_map) / sizeof(cmp_map[0]); k++) {
        if (strcmp(op, cmp_map[k].op) != 0 || json_array_size(args) != 2)
            continue;
        const json_t *a = json_array_get(args, 0), *c = json_array_get(args, 1);
        pq_op pop = cmp_map[k].pq;
        if (json_object_get(a, "const") && json_object_get(c, "col")) {
            const json_t *tmp = a;
            a = c;
            c = tmp;
            pop = cmp_map[k].flipped;
        }
        const json_t *col = json_object_get(a, "col"), *v = json_object_get(c, "const");
        if (!json_is_integer(col) || v == NULL || json_is_null(v) || t->nprune >= SQL_PRUNE_MAX)
            return;
        uint32_t ci = (uint32_t)json_integer_value(col);
        if (ci >= t->ncols)
            return;
        sql_prune *p = &t->prune[t->nprune];
        p->col = ci;
        p->op = pop;
        if (prune_value(p, t->types[ci], v) != 0) {
            vec_col_free(&p->value);
            return;
        }
        t->nprune++;
        return;
    }
}

void sql_tab_add_prune(sql_tab *t, const json_t *pred)
{
    const char *op = json_string_value(json_object_get(pred, "op"));
    if (op != NULL && strcmp(op, "and") == 0) {
        const json_t *args = json_object_get(pred, "args");
        for (size_t i = 0; i < json_array_size(args); i++)
            sql_tab_add_prune(t, json_array_get(args, i));
        return;
    }
    add_cmp(t, pred);
}
