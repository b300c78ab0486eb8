/*
 * sql/dml.c: statements that write or describe tables: CREATE TABLE
 * [AS SELECT], INSERT INTO ... VALUES | SELECT, COPY ... FROM a Parquet
 * file, DROP TABLE, SHOW TABLES, DESCRIBE, DESCRIBE HISTORY. Writes go
 * through the Delta writer (delta_create_table, delta_append) and so
 * through the catalog's commit rules: an INSERT is one commit.
 */
#include "sql/session_int.h"

#include "base/alloc.h"
#include "catalog/catalog.h"
#include "node/node.h"

#include <stdio.h>
#include <string.h>

/* ---- collecting rows into batches of the table's types ---- */

typedef struct rows_acc {
    vec_batch *b;
    size_t n, cap;
    const vec_type_info *types; /* store types */
    uint32_t ncols;
    exec_budget *bud;
    size_t acct;
} rows_acc;

static void rows_free(rows_acc *a)
{
    for (size_t i = 0; i < a->n; i++)
        vec_batch_free(&a->b[i]);
    tarn_free(a->b);
    if (a->bud)
        exec_budget_release(a->bud, a->acct);
    memset(a, 0, sizeof(*a));
}

static int copy_value(vec_col *d, uint32_t dr, const vec_col *s, uint32_t sr, tarn_err *err)
{
    if (!vec_col_is_valid(s, sr)) {
        int rc = vec_col_set_null(d, dr);
        if (rc == 0 && vec_type_is_var(d->type.id) && (rc = vec_col_append_str(d, "", 0)) == 0)
            d->len--; /* offsets stay consecutive: a NULL string is empty */
        return rc;
    }
    int64_t v = 0;
    switch (s->type.id) {
    case VEC_STRING:
    case VEC_BINARY: {
        const uint8_t *p;
        size_t n;
        vec_col_str(s, sr, &p, &n);
        return vec_col_append_str(d, p, n) == 0 ? (d->len--, 0) : TARN_ENOMEM;
    }
    case VEC_I32:
    case VEC_DATE:
        v = ((const int32_t *)s->data)[sr];
        break;
    case VEC_F64:
        if (d->type.id == VEC_F32)
            ((float *)d->data)[dr] = (float)((const double *)s->data)[sr];
        else
            ((double *)d->data)[dr] = ((const double *)s->data)[sr];
        return 0;
    case VEC_BOOL:
        ((uint8_t *)d->data)[dr] = ((const uint8_t *)s->data)[sr];
        return 0;
    default:
        v = ((const int64_t *)s->data)[sr];
        break;
    }
    switch (d->type.id) {
    case VEC_I8:
        if (v < INT8_MIN || v > INT8_MAX)
            return tarn_err_set(err, TARN_ERANGE, "%lld is out of range for TINYINT", (long long)v);
        ((int8_t *)d->data)[dr] = (int8_t)v;
        return 0;
    case VEC_I16:
        if (v < INT16_MIN || v > INT16_MAX)
            return tarn_err_set(err, TARN_ERANGE, "%lld is out of range for SMALLINT",
                                (long long)v);
        ((int16_t *)d->data)[dr] = (int16_t)v;
        return 0;
    case VEC_I32:
    case VEC_DATE:
        ((int32_t *)d->data)[dr] = (int32_t)v;
        return 0;
    default:
        ((int64_t *)d->data)[dr] = v;
        return 0;
    }
}

static int rows_room(rows_acc *a, tarn_err *err)
{
    if (a->n > 0 && a->b[a->n - 1].len < a->b[a->n - 1].cap)
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        vec_batch *nb = tarn_realloc(a->b, cap * sizeof(*nb));
        if (nb == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "rows");
        a->b = nb;
        a->cap = cap;
    }
    int rc = vec_batch_init(&a->b[a->n], a->types, a->ncols, VEC_BATCH_ROWS);
    if (rc != 0)
        return tarn_err_set(err, rc, "rows");
    a->n++;
    return 0;
}

/* Appends the live rows of b (compute types) to the accumulator. */
static int rows_add(rows_acc *a, const vec_batch *b, const bool *nullable, char *const *names,
                    tarn_err *err)
{
    uint32_t live = vec_batch_live_count(b);
    for (uint32_t k = 0; k < live; k++) {
        uint32_t r = b->sel_active ? b->sel[k] : k;
        int rc = rows_room(a, err);
        vec_batch *d = &a->b[a->n - 1];
        for (uint32_t c = 0; rc == 0 && c < a->ncols; c++) {
            if (!nullable[c] && !vec_col_is_valid(&b->cols[c], r))
                return tarn_err_set(err, TARN_EINVAL, "NULL in column %s, which is NOT NULL",
                                    names[c]);
            rc = copy_value(&d->cols[c], d->len, &b->cols[c], r, err);
            d->cols[c].len = d->len + 1;
        }
        if (rc != 0)
            return rc == TARN_ENOMEM ? tarn_err_set(err, rc, "rows") : rc;
        d->len++;
    }
    size_t bytes = (size_t)live * a->ncols * 16;
    if (exec_budget_reserve(a->bud, bytes, "rows to write", err) != 0)
        return err->code;
    a->acct += bytes;
    return 0;
}

/* Runs a one-stage plan into batches of `types`. */
static int collect(sql_stmt *st, json_t *plan, rows_acc *a, const bool *nullable,
                   char *const *names, exec_budget *bud)
{
    tarn_err err = TARN_ERR_INIT;
    sql_run *r = NULL;
    a->bud = bud;
    int rc = sql_run_open(&st->b, plan, false, bud, &r, &err);
    const vec_batch *b;
    while (rc == 0 && (rc = exec_op_next(sql_run_root(r), &b, &err)) == 0 && b != NULL)
        rc = rows_add(a, b, nullable, names, &err);
    sql_run_close(r);
    return rc != 0 ? sql_stmt_fail(st, rc, &err) : 0;
}

/* ---- the target table ---- */

void sql_target_free(sql_target *t)
{
    delta_snapshot_free(t->snap);
    delta_table_close(t->dt);
    tarn_free(t->names);
    tarn_free(t->store);
    tarn_free(t->compute);
    tarn_free(t->nullable);
    memset(t, 0, sizeof(*t));
}

int sql_target_open(sql_stmt *st, const sql_name *name, sql_target *t)
{
    tarn_err err = TARN_ERR_INIT;
    int rc =
        sql_session_open_table(st->s, name->folded, SQL_TRAVEL_NONE, 0, &t->dt, &t->snap, &err);
    if (rc == TARN_ENOENT)
        return sql_bind_fail(&st->b, rc, name->pos, "table \"%s\" does not exist", name->text);
    if (rc != 0)
        return sql_bind_fail(&st->b, rc, name->pos, "%s", tarn_err_msg(&err));
    const delta_schema *sc = &t->snap->metadata.schema;
    t->ncols = sc->ntop;
    t->names = tarn_calloc(t->ncols + 1, sizeof(*t->names));
    t->store = tarn_calloc(t->ncols + 1, sizeof(*t->store));
    t->compute = tarn_calloc(t->ncols + 1, sizeof(*t->compute));
    t->nullable = tarn_calloc(t->ncols + 1, sizeof(*t->nullable));
    if (!t->names || !t->store || !t->compute || !t->nullable)
        return sql_bind_oom(&st->b);
    for (uint32_t i = 0; i < t->ncols; i++) {
        const delta_field *f = &sc->fields[sc->top[i]];
        t->names[i] = f->name;
        t->nullable[i] = f->nullable;
        if ((rc = delta_kind_vec_type(f, &t->store[i])) != 0)
            return sql_bind_fail(&st->b, rc, name->pos, "column %s: type %s is not writable",
                                 f->name, delta_kind_name(f->kind));
        t->compute[i] = sql_compute_type(t->store[i]);
    }
    return 0;
}

/* The snapshot of the target that the statement's query read at its
 * latest version (a plain reference, through a subquery, CTE or join, or
 * delta_scan of its directory: any scan of the same table id without
 * VERSION/TIMESTAMP AS OF), or NULL when the rows do not depend on the
 * target's current state. Time travel reads a fixed past version, so
 * rows computed from it do not go stale. */
static const delta_snapshot *target_read(const sql_stmt *st, const sql_target *t)
{
    const char *id = t->snap ? t->snap->metadata.id : NULL;
    const delta_snapshot *read = NULL;
    for (uint32_t i = 0; id != NULL && i < st->b.ntabs; i++) {
        const sql_tab *tab = st->b.tabs[i];
        if (tab->kind != SQL_TAB_DELTA || tab->snap == NULL || tab->snap->metadata.id == NULL ||
            strcmp(tab->snap->metadata.id, id) != 0 || strchr(tab->key, '@') != NULL)
            continue;
        /* Two reads at different versions (a delta_scan of the log beside
         * the catalog's snapshot): the older one decides, so a commit in
         * between is a conflict. */
        if (read == NULL || tab->snap->version < read->version)
            read = tab->snap;
    }
    return read;
}

static int append_rows(sql_stmt *st, const char *name, sql_target *t, rows_acc *a)
{
    tarn_err err = TARN_ERR_INIT;
    /* An INSERT whose rows were computed from the target itself is no
     * blind append: it commits on the version it read or not at all
     * (rebase_max 0), so a commit that landed meanwhile is a conflict and
     * never rows from a stale snapshot. Anything else is a blind append
     * (delta README "Commit protocol"). */
    const delta_snapshot *read = target_read(st, t);
    delta_append_opts o = {.rebase_max = read ? 0 : 8};
    int64_t version = -1;
    if (st->s->before_commit)
        st->s->before_commit(st->s->before_commit_ctx);
    if (sql_session_cancelled(st->s)) { /* nothing uploaded yet: nothing to undo */
        tarn_err_set(&err, TARN_ECLOSED, "query cancelled");
        return sql_stmt_fail(st, TARN_ECLOSED, &err);
    }
    int rc = delta_append(&st->s->com, st->s->os, name, read ? read : t->snap, a->b, a->n, &o,
                          &version, &err);
    if (rc == TARN_ECONFLICT && read != NULL) {
        tarn_err e2 = TARN_ERR_INIT;
        tarn_err_set(&e2, rc,
                     "table \"%s\" changed while this statement read it (read version %lld, now "
                     "%lld): nothing was written; run the statement again",
                     name, (long long)read->version, (long long)version);
        return sql_stmt_fail(st, rc, &e2);
    }
    if (rc != 0)
        return sql_stmt_fail(st, rc, &err);
    st->info.version = version;
    for (size_t i = 0; i < a->n; i++)
        st->info.rows += a->b[i].len;
    return 0;
}

/* ---- INSERT ---- */

/* Which source column feeds each table column (-1: NULL). */
static int insert_map(sql_stmt *st, const sql_node *n, const sql_target *t, int32_t *map,
                      uint32_t *nsrc)
{
    const sql_name_list *cl = &n->u.insert.columns;
    for (uint32_t i = 0; i < t->ncols; i++)
        map[i] = cl->count ? -1 : (int32_t)i;
    *nsrc = cl->count ? cl->count : t->ncols;
    for (uint32_t k = 0; k < cl->count; k++) {
        uint32_t i = 0;
        while (i < t->ncols && strcasecmp(t->names[i], cl->items[k].folded) != 0)
            i++;
        if (i == t->ncols) {
            sql_bind_fail(&st->b, TARN_ENOENT, cl->items[k].pos,
                          "table \"%s\" has no column \"%s\"", n->u.insert.table.text,
                          cl->items[k].text);
            sql_bind_suggest(&st->b, cl->items[k].folded, (const char *const *)t->names, t->ncols);
            return TARN_ENOENT;
        }
        if (map[i] >= 0)
            return sql_bind_fail(&st->b, TARN_EINVAL, cl->items[k].pos,
                                 "column \"%s\" is listed twice", cl->items[k].text);
        map[i] = (int32_t)k;
    }
    return 0;
}

static json_t *null_const(vec_type_info t)
{
    json_t *o = json_pack("{s:n}", "const");
    sql_json_type(o, t);
    return o;
}

/* One VALUES row: project(exprs in table order) over the one-row source. */
static int values_row(sql_stmt *st, const sql_node *row, const sql_target *t, const int32_t *map,
                      uint32_t nsrc, json_t **out)
{
    if (row->u.row.values.count != nsrc)
        return sql_bind_fail(&st->b, TARN_EINVAL, row->pos, "VALUES row has %u values, %u expected",
                             row->u.row.values.count, nsrc);
    sql_col dummy = {NULL, NULL, {.id = VEC_BOOL}, -1, 0};
    sql_rel dual = {NULL, 1, &dummy};
    json_t *exprs = json_array();
    for (uint32_t i = 0; i < t->ncols; i++) {
        json_t *e = NULL;
        if (map[i] < 0) {
            e = null_const(t->compute[i]);
        } else {
            int rc = sql_bind_as(&st->b, &dual, row->u.row.values.items[map[i]], t->compute[i], &e);
            if (rc != 0) {
                json_decref(exprs);
                return rc;
            }
        }
        json_array_append_new(exprs, e);
    }
    *out = json_pack("{s:s,s:o,s:{s:s,s:i}}", "op", "project", "exprs", exprs, "input", "op",
                     "values", "rows", 1);
    return *out ? 0 : sql_bind_oom(&st->b);
}

static int insert_values(sql_stmt *st, const sql_node *n, const sql_target *t, const int32_t *map,
                         uint32_t nsrc, json_t **plan)
{
    json_t *inputs = json_array();
    for (uint32_t r = 0; r < n->u.insert.rows.count; r++) {
        json_t *p;
        int rc = values_row(st, n->u.insert.rows.items[r], t, map, nsrc, &p);
        if (rc != 0) {
            json_decref(inputs);
            return rc;
        }
        json_array_append_new(inputs, p);
    }
    if (json_array_size(inputs) == 1) {
        *plan = json_incref(json_array_get(inputs, 0));
        json_decref(inputs);
    } else {
        *plan = json_pack("{s:s,s:o}", "op", "union_all", "inputs", inputs);
    }
    return *plan ? 0 : sql_bind_oom(&st->b);
}

/* A bound query's rows as table columns: cast, and NULL where unlisted. */
static int insert_query(sql_stmt *st, const sql_node *q, sql_pos pos, const sql_target *t,
                        const int32_t *map, uint32_t nsrc, json_t **plan)
{
    sql_rel rel = {0};
    int rc = sql_bind_query(&st->b, q, &rel);
    if (rc != 0)
        return rc;
    if (rel.n != nsrc) {
        sql_rel_free(&rel);
        return sql_bind_fail(&st->b, TARN_EINVAL, pos, "the query gives %u columns, %u expected",
                             rel.n, nsrc);
    }
    json_t *exprs = json_array();
    for (uint32_t i = 0; i < t->ncols; i++) {
        json_t *e = map[i] < 0 ? null_const(t->compute[i])
                               : sql_cast_json(json_pack("{s:i}", "col", (json_int_t)map[i]),
                                               rel.cols[map[i]].type, t->compute[i]);
        json_array_append_new(exprs, e);
    }
    *plan = json_pack("{s:s,s:o,s:O}", "op", "project", "exprs", exprs, "input", rel.plan);
    sql_rel_free(&rel);
    return *plan ? 0 : sql_bind_oom(&st->b);
}

int sql_write_plan(sql_stmt *st, const char *name, sql_target *t, json_t *plan)
{
    exec_budget bud;
    exec_budget_init(&bud, st->s->budget_bytes);
    bud.cancel = &st->s->cancel;
    rows_acc a = {.types = t->store, .ncols = t->ncols};
    int rc = collect(st, plan, &a, t->nullable, t->names, &bud);
    if (rc == 0)
        rc = append_rows(st, name, t, &a);
    rows_free(&a);
    return rc;
}

int sql_stmt_insert(sql_stmt *st, const sql_node *n)
{
    sql_target t = {0};
    int rc = sql_target_open(st, &n->u.insert.table, &t);
    int32_t *map = rc == 0 ? tarn_calloc(t.ncols + 1, sizeof(*map)) : NULL;
    uint32_t nsrc = 0;
    if (rc == 0 && map == NULL)
        rc = sql_bind_oom(&st->b);
    if (rc == 0)
        rc = insert_map(st, n, &t, map, &nsrc);
    json_t *plan = NULL;
    if (rc == 0)
        rc = n->u.insert.query ? insert_query(st, n->u.insert.query, n->pos, &t, map, nsrc, &plan)
                               : insert_values(st, n, &t, map, nsrc, &plan);
    if (rc == 0)
        rc = sql_write_plan(st, n->u.insert.table.folded, &t, plan);
    json_decref(plan);
    tarn_free(map);
    sql_target_free(&t);
    return rc;
}

/* ---- COPY ---- */

int sql_stmt_copy(sql_stmt *st, const sql_node *n)
{
    const char *path = n->u.copy.path->u.lit.str;
    size_t len = strlen(path);
    sql_copy_format f = n->u.copy.format;
    if (f == SQL_FORMAT_DEFAULT)
        f = len > 8 && strcmp(path + len - 8, ".parquet") == 0 ? SQL_FORMAT_PARQUET
            : len > 4 && strcmp(path + len - 4, ".csv") == 0   ? SQL_FORMAT_CSV
                                                               : SQL_FORMAT_JSON;
    if (f != SQL_FORMAT_PARQUET)
        return sql_copy_text(st, n, f == SQL_FORMAT_CSV);
    /* COPY t FROM 'f' is INSERT INTO t SELECT * FROM read_parquet('f'). */
    sql_node lit = {.kind = SQL_LITERAL, .pos = n->u.copy.path->pos};
    lit.u.lit.kind = SQL_LIT_STRING;
    lit.u.lit.str = path;
    sql_node *args[1] = {&lit};
    sql_node fn = {.kind = SQL_TABLE_FUNC, .pos = n->u.copy.path->pos};
    fn.u.table_func.name = (sql_name){"read_parquet", "read_parquet", 0, n->u.copy.path->pos};
    fn.u.table_func.args = (sql_list){args, 1, 1};
    sql_node star = {.kind = SQL_STAR, .pos = n->pos};
    sql_node item = {.kind = SQL_SELECT_ITEM, .pos = n->pos};
    item.u.item.expr = &star;
    sql_node *items[1] = {&item};
    sql_node sel = {.kind = SQL_SELECT, .pos = n->pos};
    sel.u.select.items = (sql_list){items, 1, 1};
    sel.u.select.from = &fn;
    sql_node q = {.kind = SQL_QUERY, .pos = n->pos};
    q.u.query.body = &sel;
    sql_node ins = {.kind = SQL_INSERT, .pos = n->pos};
    ins.u.insert.table = n->u.copy.table;
    ins.u.insert.query = &q;
    return sql_stmt_insert(st, &ins);
}

/* ---- CREATE TABLE ---- */

static int create_table(sql_stmt *st, const sql_node *n, const delta_column *cols, size_t ncols)
{
    const sql_name_list *pl = &n->u.create.partition_by;
    const char *parts[CATALOG_PARTS_MAX];
    if (pl->count > CATALOG_PARTS_MAX)
        return sql_bind_fail(&st->b, TARN_ETOOBIG, pl->items[0].pos,
                             "more than %d partition columns", CATALOG_PARTS_MAX);
    for (uint32_t k = 0; k < pl->count; k++) {
        size_t i = 0;
        while (i < ncols && strcmp(cols[i].name, pl->items[k].folded) != 0)
            i++;
        if (i == ncols)
            return sql_bind_fail(&st->b, TARN_ENOENT, pl->items[k].pos,
                                 "PARTITIONED BY names \"%s\", which is not a column",
                                 pl->items[k].text);
        parts[k] = cols[i].name;
    }
    tarn_err err = TARN_ERR_INIT;
    int rc = delta_create_table(&st->s->com, st->s->os, n->u.create.name.folded, cols, ncols, parts,
                                pl->count, &err);
    if (rc == TARN_EEXIST && n->u.create.if_not_exists)
        return 0;
    if (rc == TARN_EEXIST)
        return sql_bind_fail(&st->b, rc, n->u.create.name.pos, "table \"%s\" already exists",
                             n->u.create.name.text);
    if (rc != 0)
        return sql_bind_fail(&st->b, rc, n->u.create.name.pos, "%s", tarn_err_msg(&err));
    st->info.version = 0;
    return 0;
}

static int create_columns(sql_stmt *st, const sql_node *n, delta_column *cols)
{
    for (uint32_t i = 0; i < n->u.create.columns.count; i++) {
        const sql_node *d = n->u.create.columns.items[i];
        tarn_err err = TARN_ERR_INIT;
        for (uint32_t k = 0; k < i; k++)
            if (strcmp(cols[k].name, d->u.column_def.name.folded) == 0)
                return sql_bind_fail(&st->b, TARN_EINVAL, d->pos, "column \"%s\" is defined twice",
                                     d->u.column_def.name.text);
        cols[i].name = d->u.column_def.name.folded;
        cols[i].nullable = !d->u.column_def.not_null;
        if (sql_type_to_vec(&d->u.column_def.type, &cols[i].type, &err) != 0)
            return sql_bind_fail(&st->b, err.code, d->u.column_def.type.pos, "%s",
                                 tarn_err_msg(&err));
    }
    return 0;
}

/* CREATE TABLE t AS SELECT: the query runs first, so a failing query
 * leaves no table behind. */
static int create_as(sql_stmt *st, const sql_node *n)
{
    sql_rel rel = {0};
    int rc = sql_bind_query(&st->b, n->u.create.as_query, &rel);
    delta_column *cols = rc == 0 ? tarn_calloc(rel.n + 1, sizeof(*cols)) : NULL;
    if (rc == 0 && cols == NULL)
        rc = sql_bind_oom(&st->b);
    for (uint32_t i = 0; rc == 0 && i < rel.n; i++) {
        for (uint32_t k = 0; k < i && rc == 0; k++)
            if (strcmp(rel.cols[k].name, rel.cols[i].name) == 0)
                rc = sql_bind_fail(&st->b, TARN_EINVAL, n->u.create.as_query->pos,
                                   "the query has two columns named \"%s\" (add aliases)",
                                   rel.cols[i].name);
        cols[i] = (delta_column){rel.cols[i].name, rel.cols[i].type, true};
    }
    sql_target t = {0};
    rows_acc a = {0};
    exec_budget bud;
    exec_budget_init(&bud, st->s->budget_bytes);
    bud.cancel = &st->s->cancel;
    char **names = rc == 0 ? tarn_calloc(rel.n + 1, sizeof(*names)) : NULL;
    bool *nullable = rc == 0 ? tarn_calloc(rel.n + 1, sizeof(bool)) : NULL;
    vec_type_info *types = rc == 0 ? tarn_calloc(rel.n + 1, sizeof(*types)) : NULL;
    if (rc == 0 && (!names || !nullable || !types))
        rc = sql_bind_oom(&st->b);
    for (uint32_t i = 0; rc == 0 && i < rel.n; i++) {
        names[i] = rel.cols[i].name;
        nullable[i] = true;
        types[i] = rel.cols[i].type;
    }
    a = (rows_acc){.types = types, .ncols = rel.n};
    if (rc == 0)
        rc = collect(st, rel.plan, &a, nullable, names, &bud);
    if (rc == 0)
        rc = create_table(st, n, cols, rel.n);
    if (rc == 0 && a.n > 0) {
        rc = sql_target_open(st, &n->u.create.name, &t);
        if (rc == 0)
            rc = append_rows(st, n->u.create.name.folded, &t, &a);
    }
    tarn_free(names);
    tarn_free(nullable);
    tarn_free(types);
    rows_free(&a);
    sql_target_free(&t);
    tarn_free(cols);
    sql_rel_free(&rel);
    return rc;
}

int sql_stmt_create(sql_stmt *st, const sql_node *n)
{
    if (n->u.create.as_query)
        return create_as(st, n);
    size_t nc = n->u.create.columns.count;
    delta_column *cols = tarn_calloc(nc + 1, sizeof(*cols));
    if (cols == NULL)
        return sql_bind_oom(&st->b);
    int rc = create_columns(st, n, cols);
    if (rc == 0)
        rc = create_table(st, n, cols, nc);
    tarn_free(cols);
    return rc;
}

/* ---- DROP TABLE ---- */

static int delete_prefix(objstore *os, const char *prefix, tarn_err *err)
{
    objstore_list_page page = {0};
    int rc;
    do {
        rc = objstore_list(os, prefix, NULL, 0, &page, err);
        for (size_t i = 0; rc == 0 && i < page.count; i++)
            rc = objstore_del(os, page.entries[i].key, err);
        bool more = rc == 0 && page.count > 0;
        objstore_list_page_free(&page);
        if (!more)
            break;
    } while (rc == 0);
    return rc;
}

int sql_stmt_drop(sql_stmt *st, const sql_node *n)
{
    const char *name = n->u.drop.table.folded;
    tarn_err err = TARN_ERR_INIT;
    int rc = sql_session_catalog_has(st->s, name, &err);
    if (rc == TARN_ENOENT)
        return n->u.drop.if_exists
                   ? 0
                   : sql_bind_fail(&st->b, rc, n->u.drop.table.pos, "table \"%s\" does not exist",
                                   n->u.drop.table.text);
    tarn_buf cmd;
    tarn_buf_init(&cmd, 4096);
    store_result res;
    memset(&res, 0, sizeof(res));
    if (rc == 0 && (rc = catalog_encode_drop(&cmd, name, strlen(name))) != 0)
        tarn_err_set(&err, rc, "encode drop");
    if (rc == 0)
        rc = node_propose(st->s->node, cmd.data, cmd.len, st->s->timeout_ms, &res, &err);
    tarn_buf_free(&cmd);
    catalog_result cr = {0};
    if (rc == 0) {
        rc = catalog_result_decode(&res, &cr) != 0 ? TARN_ECORRUPT : cr.code;
        store_result_free(&res);
        if (rc != 0)
            tarn_err_set(&err, rc, "drop %s", name);
    }
    /* The catalog no longer names it: its files go (a later CREATE of the
     * same name starts a fresh log). */
    char prefix[OBJSTORE_KEY_MAX];
    snprintf(prefix, sizeof(prefix), "tables/%s/", name);
    if (rc == 0)
        rc = delete_prefix(st->s->os, prefix, &err);
    return rc != 0 ? sql_stmt_fail(st, rc, &err) : 0;
}

/* ---- SHOW TABLES, DESCRIBE ---- */

static int put_str(vec_col *c, const char *s)
{
    return vec_col_append_str(c, s, strlen(s));
}

int sql_stmt_show_tables(sql_stmt *st)
{
    char **names = NULL;
    size_t n = 0;
    tarn_err err = TARN_ERR_INIT;
    int rc = sql_session_table_names(st->s, &names, &n, &err);
    if (rc != 0)
        return sql_stmt_fail(st, rc, &err);
    tarn_buf text;
    tarn_buf_init(&text, TARN_BUF_UNBOUNDED);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = tarn_buf_printf(&text, "%s\n", names[i]);
    sql_names_free(names, n);
    const char *col = "name";
    vec_type_info t = {.id = VEC_STRING};
    if (rc == 0 && n == 0)
        rc = sql_emit_columns(st, 1, &col, &t);
    else if (rc == 0)
        rc = sql_emit_lines(st, "name", tarn_buf_cstr(&text));
    tarn_buf_free(&text);
    return rc;
}

int sql_stmt_describe(sql_stmt *st, const sql_node *n)
{
    sql_target t = {0};
    int rc = sql_target_open(st, &n->u.describe.table, &t);
    static const char *const cols[] = {"column_name", "column_type", "nullable", "partition_key"};
    vec_type_info types[4] = {
        {.id = VEC_STRING}, {.id = VEC_STRING}, {.id = VEC_BOOL}, {.id = VEC_BOOL}};
    vec_batch b = {0};
    if (rc == 0)
        rc = sql_emit_columns(st, 4, cols, types);
    if (rc == 0 && (rc = vec_batch_init(&b, types, 4, t.ncols ? t.ncols : 1)) != 0)
        rc = sql_bind_oom(&st->b);
    for (uint32_t i = 0; rc == 0 && i < t.ncols; i++) {
        char buf[40];
        bool part = false;
        for (size_t k = 0; k < t.snap->metadata.n_partition_columns; k++)
            part |= strcmp(t.snap->metadata.partition_columns[k], t.names[i]) == 0;
        rc = put_str(&b.cols[0], t.names[i]);
        if (rc == 0)
            rc = put_str(&b.cols[1], sql_type_name(t.store[i], buf, sizeof(buf)));
        ((uint8_t *)b.cols[2].data)[i] = t.nullable[i];
        ((uint8_t *)b.cols[3].data)[i] = part;
        b.cols[2].len = b.cols[3].len = i + 1;
        b.len = i + 1;
    }
    if (rc == 0 && b.len > 0)
        rc = sql_emit_batch(st, &b);
    vec_batch_free(&b);
    sql_target_free(&t);
    return rc;
}
