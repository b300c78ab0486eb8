/*
 * sql/session.c: a script statement by statement (README "The session"):
 * parse, bind, plan, run, stream the result to the sink. Queries and the
 * catalog statements (SHOW TABLES, DESCRIBE, DESCRIBE HISTORY, DROP TABLE)
 * are here; writes (CREATE, INSERT, COPY) are in dml.c.
 */
#include "sql/session_int.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "node/node.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SESSION_TIMEOUT_MS_DEFAULT 10000

_Static_assert(SQL_THREADS_MAX == EXEC_WORKERS_MAX, "tarn sql --threads and exec agree");

int sql_session_open(const sql_session_opts *opts, sql_session **out, tarn_err *err)
{
    *out = NULL;
    if (opts == NULL || opts->node == NULL || opts->store == NULL)
        return tarn_err_set(err, TARN_EINVAL, "sql session needs a node and an object store");
    sql_session *s = tarn_calloc(1, sizeof(*s));
    if (s == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "sql session");
    s->node = opts->node;
    s->os = opts->store;
    s->budget_bytes = opts->mem_budget_bytes;
    s->before_commit = opts->before_commit;
    s->before_commit_ctx = opts->before_commit_ctx;
    s->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : SESSION_TIMEOUT_MS_DEFAULT;
    sql_session_set_threads(s, opts->threads);
    int rc = delta_committer_node(s->node, s->timeout_ms, &s->com);
    if (rc != 0) {
        tarn_free(s);
        return tarn_err_set(err, rc, "sql session: committer");
    }
    /* Versions the catalog accepted whose log a crash left unwritten. */
    if ((rc = delta_finish_pending_logs(&s->com, s->os, NULL, err)) != 0) {
        sql_session_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sql_session_close(sql_session *s)
{
    if (s == NULL)
        return;
    delta_committer_close(&s->com);
    tarn_free(s);
}

void sql_session_cancel(sql_session *s)
{
    __atomic_store_n(&s->cancel, 1, __ATOMIC_RELEASE);
}

void sql_session_cancel_clear(sql_session *s)
{
    __atomic_store_n(&s->cancel, 0, __ATOMIC_RELEASE);
}

bool sql_session_cancelled(const sql_session *s)
{
    return __atomic_load_n(&s->cancel, __ATOMIC_ACQUIRE) != 0;
}

void sql_session_set_budget(sql_session *s, size_t bytes)
{
    s->budget_bytes = bytes;
}

void sql_session_set_threads(sql_session *s, uint32_t threads)
{
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (uint32_t)(n < EXEC_WORKERS_MAX ? n : EXEC_WORKERS_MAX) : 1;
    }
    s->threads = threads < EXEC_WORKERS_MAX ? threads : EXEC_WORKERS_MAX;
}

uint32_t sql_session_threads(const sql_session *s)
{
    return s->threads;
}

size_t sql_session_budget_bytes(const sql_session *s)
{
    return s->budget_bytes;
}

objstore *sql_session_store(sql_session *s)
{
    return s->os;
}

/* ---- the catalog ---- */

int sql_session_catalog_has(sql_session *s, const char *name, tarn_err *err)
{
    int rc = node_read_barrier(s->node, s->timeout_ms, NULL, err);
    store_txn *txn = NULL;
    if (rc == 0)
        rc = node_read_begin(s->node, &txn, err); /* held off while a snapshot installs */
    if (rc != 0)
        return rc;
    catalog_table t;
    rc = catalog_table_get(txn, name, strlen(name), &t);
    node_read_end(s->node, txn);
    if (rc == TARN_ENOENT || rc == TARN_EINVAL)
        return tarn_err_set(err, TARN_ENOENT, "table %s does not exist", name);
    return rc != 0 ? tarn_err_set(err, rc, "catalog: table %s", name) : 0;
}

int sql_session_open_table(sql_session *s, const char *name, sql_travel_kind travel, int64_t at,
                           delta_table **dt, delta_snapshot **snap, tarn_err *err)
{
    *dt = NULL;
    *snap = NULL;
    int rc = sql_session_catalog_has(s, name, err);
    if (rc == 0)
        rc = delta_table_open_managed(s->os, name, dt, err);
    if (rc != 0)
        return rc;
    /* From the metadata service: a version it accepted is visible even
     * before its _delta_log file is written. */
    if (travel == SQL_TRAVEL_VERSION)
        rc = delta_managed_snapshot_at_version(&s->com, s->os, name, at, snap, err);
    else if (travel == SQL_TRAVEL_TIMESTAMP)
        rc = delta_managed_snapshot_at_timestamp(&s->com, s->os, name, at, snap, err);
    else
        rc = delta_managed_snapshot_latest(&s->com, s->os, name, snap, err);
    /* The catalog has the table: a missing piece of its snapshot (a log
     * file, a checkpoint part, a version the catalog cannot read) is no
     * "does not exist", which callers would report as a missing table. */
    if (rc == TARN_ENOENT && travel == SQL_TRAVEL_NONE) {
        tarn_err_wrap(err, TARN_EIO, "table %s is in the catalog, its snapshot failed", name);
        if (err != NULL)
            err->code = TARN_EIO;
        rc = TARN_EIO;
    }
    if (rc != 0) {
        delta_table_close(*dt);
        *dt = NULL;
    }
    return rc;
}

typedef struct names_acc {
    char **names;
    size_t count, cap;
    int rc;
} names_acc;

static int names_add(void *ctx, const char *name, size_t len)
{
    names_acc *a = ctx;
    if (a->count == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        char **n = tarn_realloc(a->names, cap * sizeof(*n));
        if (n == NULL) {
            a->rc = TARN_ENOMEM;
            return 1;
        }
        a->names = n;
        a->cap = cap;
    }
    char *d = tarn_malloc(len + 1);
    if (d == NULL) {
        a->rc = TARN_ENOMEM;
        return 1;
    }
    memcpy(d, name, len);
    d[len] = '\0';
    a->names[a->count++] = d;
    return 0;
}

void sql_names_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        tarn_free(names[i]);
    tarn_free(names);
}

int sql_session_table_names(sql_session *s, char ***names, size_t *count, tarn_err *err)
{
    names_acc a = {0};
    int rc = node_read_barrier(s->node, s->timeout_ms, NULL, err);
    store_txn *txn = NULL;
    if (rc == 0)
        rc = node_read_begin(s->node, &txn, err); /* held off while a snapshot installs */
    if (rc != 0)
        return rc;
    rc = catalog_table_list(txn, NULL, 0, SIZE_MAX, names_add, &a);
    node_read_end(s->node, txn);
    if (rc == 0)
        rc = a.rc;
    if (rc != 0) {
        sql_names_free(a.names, a.count);
        return tarn_err_set(err, rc, "list tables");
    }
    *names = a.names;
    *count = a.count;
    return 0;
}

/* ---- binder lifetime ---- */

void sql_binder_free(sql_binder *b)
{
    for (uint32_t i = 0; i < b->ntabs; i++)
        sql_tab_free(b->tabs[i]);
    b->ntabs = 0;
    for (size_t i = 0; i < b->nmem; i++)
        vec_batch_free(&b->mem[i]);
    tarn_free(b->mem);
    b->mem = NULL;
    b->nmem = 0;
}

sql_tab *sql_binder_tab(sql_binder *b, uint32_t id)
{
    return id < b->ntabs ? b->tabs[id] : NULL;
}

/* ---- results ---- */

int sql_emit_columns(sql_stmt *st, uint32_t n, const char *const *names, const vec_type_info *t)
{
    if (st->sink->columns == NULL)
        return 0;
    int rc = st->sink->columns(st->sink->ctx, n, names, t);
    return rc != 0 ? sql_stmt_stopped(st, rc) : 0;
}

int sql_emit_batch(sql_stmt *st, const vec_batch *b)
{
    st->info.rows += vec_batch_live_count(b);
    if (st->sink->batch == NULL)
        return 0;
    int rc = st->sink->batch(st->sink->ctx, b);
    return rc != 0 ? sql_stmt_stopped(st, rc) : 0;
}

int sql_stmt_stopped(sql_stmt *st, int rc)
{
    st->e->code = rc;
    st->e->pos = st->pos;
    snprintf(st->e->msg, sizeof(st->e->msg), "stopped by the output");
    return rc;
}

/* An error while running: the statement's position and the message. */
int sql_stmt_fail(sql_stmt *st, int rc, const tarn_err *err)
{
    st->e->code = rc;
    st->e->pos = st->pos;
    st->e->hint[0] = '\0';
    snprintf(st->e->msg, sizeof(st->e->msg), "%s", tarn_err_msg(err));
    return rc;
}

/* Runs a stage plan and streams its rows. */
int sql_run_plan(sql_stmt *st, json_t *stages, bool analyze, bool emit, const sql_rel *shape)
{
    exec_budget bud;
    exec_budget_init(&bud, st->s->budget_bytes);
    bud.cancel = &st->s->cancel;
    tarn_err err = TARN_ERR_INIT;
    sql_run *r = NULL;
    int rc = sql_run_open(&st->b, sql_plan_root(stages), analyze, &bud, &r, &err);
    if (rc == 0 && emit) {
        const char **names = tarn_calloc(shape->n + 1, sizeof(*names));
        vec_type_info *types = tarn_calloc(shape->n + 1, sizeof(*types));
        for (uint32_t i = 0; names && types && i < shape->n; i++) {
            names[i] = shape->cols[i].name ? shape->cols[i].name : "?column?";
            types[i] = shape->cols[i].type;
        }
        rc = names && types ? sql_emit_columns(st, shape->n, names, types)
                            : tarn_err_set(&err, TARN_ENOMEM, "columns");
        tarn_free(names);
        tarn_free(types);
        if (rc != 0 && st->e->code == 0)
            rc = sql_stmt_fail(st, rc, &err);
        else if (rc != 0)
            goto done;
    }
    const vec_batch *b = NULL;
    while (rc == 0 && (rc = exec_op_next(sql_run_root(r), &b, &err)) == 0 && b != NULL) {
        if (emit && (rc = sql_emit_batch(st, b)) != 0)
            goto done;
        if (!emit)
            st->info.rows += vec_batch_live_count(b);
    }
    if (rc != 0)
        rc = sql_stmt_fail(st, rc, &err);
    if (r && analyze)
        sql_run_stats(r);
done:
    sql_run_close(r);
    return rc;
}

static int bind_and_plan(sql_stmt *st, const sql_node *q, sql_rel *rel, json_t **stages)
{
    int rc = sql_bind_query(&st->b, q, rel);
    if (rc != 0)
        return rc;
    *stages = sql_plan_stages(rel->plan, &st->b);
    rel->plan = NULL;
    if (*stages == NULL)
        return sql_bind_oom(&st->b);
    return 0;
}

static int stmt_query(sql_stmt *st, const sql_node *q)
{
    sql_rel rel = {0};
    json_t *stages = NULL;
    int rc = bind_and_plan(st, q, &rel, &stages);
    if (rc == 0)
        rc = sql_run_plan(st, stages, false, true, &rel);
    json_decref(stages);
    sql_rel_free(&rel);
    return rc;
}

/* One VARCHAR column, one row per line of text. */
int sql_emit_lines(sql_stmt *st, const char *col, const char *text)
{
    vec_type_info t = {.id = VEC_STRING};
    int rc = sql_emit_columns(st, 1, &col, &t);
    vec_batch b;
    if (rc == 0 && (rc = vec_batch_init(&b, &t, 1, VEC_BATCH_ROWS)) != 0)
        return sql_stmt_fail(st, rc, &(tarn_err){.code = rc});
    const char *p = text;
    while (rc == 0 && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (b.len == b.cap) {
            rc = sql_emit_batch(st, &b);
            vec_batch_reset(&b);
        }
        if (rc == 0 && (rc = vec_col_append_str(&b.cols[0], p, n)) == 0)
            b.len++;
        p += n + (nl != NULL);
    }
    if (rc == 0 && b.len > 0)
        rc = sql_emit_batch(st, &b);
    vec_batch_free(&b);
    return rc;
}

static int stmt_explain(sql_stmt *st, const sql_node *n)
{
    sql_rel rel = {0};
    json_t *stages = NULL;
    int rc = bind_and_plan(st, n->u.explain.stmt, &rel, &stages);
    if (rc == 0 && n->u.explain.analyze)
        rc = sql_run_plan(st, stages, true, false, &rel);
    tarn_buf text;
    tarn_buf_init(&text, TARN_BUF_UNBOUNDED);
    if (rc == 0 && (rc = sql_plan_explain(stages, &st->b, n->u.explain.analyze, &text)) != 0)
        rc = sql_stmt_fail(st, rc, &(tarn_err){.code = rc, .msg = "explain"});
    if (rc == 0 && n->u.explain.analyze)
        rc = tarn_buf_printf(&text, "%lld rows, %.3f ms\n", (long long)st->info.rows,
                             (double)(tarn_mono_ns() - st->t0_ns) / 1e6);
    st->info.rows = 0;
    if (rc == 0)
        rc = sql_emit_lines(st, "plan", tarn_buf_cstr(&text));
    tarn_buf_free(&text);
    json_decref(stages);
    sql_rel_free(&rel);
    return rc;
}

/* ---- dispatch ---- */

/* SET threads = N: the threads of this session's parallel plans (0: the
 * online CPUs). */
static int stmt_set(sql_stmt *st, const sql_node *n)
{
    static const char *const names[] = {"threads"};
    if (strcmp(n->u.set.name.folded, "threads") != 0) {
        int rc = sql_bind_fail(&st->b, TARN_ENOENT, n->u.set.name.pos, "unknown setting \"%s\"",
                               n->u.set.name.folded);
        sql_bind_suggest(&st->b, n->u.set.name.folded, names, 1);
        return rc;
    }
    int64_t v = n->u.set.value->u.lit.ival;
    if (v < 0 || v > SQL_THREADS_MAX)
        return sql_bind_fail(&st->b, TARN_ERANGE, n->u.set.value->pos,
                             "threads is 0 (the online CPUs) to %d, not %lld", SQL_THREADS_MAX,
                             (long long)v);
    sql_session_set_threads(st->s, (uint32_t)v);
    return 0;
}

static int stmt_run(sql_stmt *st, const sql_node *n)
{
    switch (n->kind) {
    case SQL_QUERY:
        return stmt_query(st, n);
    case SQL_EXPLAIN:
        return stmt_explain(st, n);
    case SQL_CREATE_TABLE:
        return sql_stmt_create(st, n);
    case SQL_INSERT:
        return sql_stmt_insert(st, n);
    case SQL_COPY:
        return sql_stmt_copy(st, n);
    case SQL_DROP_TABLE:
        return sql_stmt_drop(st, n);
    case SQL_SHOW_TABLES:
        return sql_stmt_show_tables(st);
    case SQL_DESCRIBE:
        return n->u.describe.history ? sql_stmt_history(st, n) : sql_stmt_describe(st, n);
    case SQL_DELETE:
        return sql_stmt_delete(st, n);
    case SQL_OPTIMIZE:
        return sql_stmt_optimize(st, n);
    case SQL_VACUUM:
        return sql_stmt_vacuum(st, n);
    case SQL_SET:
        return stmt_set(st, n);
    default:
        return sql_bind_fail(&st->b, TARN_EINVAL, n->pos, "not a statement");
    }
}

int sql_session_exec(sql_session *s, const char *text, size_t len, const sql_sink *sink,
                     sql_error *e)
{
    static const sql_sink none = {0};
    memset(e, 0, sizeof(*e));
    sql_script *script = NULL;
    int rc = sql_parse(text, len, &script, e);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < script->count && rc == 0; i++) {
        const sql_node *n = script->stmts[i];
        tarn_err err = TARN_ERR_INIT;
        sql_stmt st = {
            .s = s, .sink = sink ? sink : &none, .e = e, .pos = n->pos, .t0_ns = tarn_mono_ns()};
        st.b = (sql_binder){.s = s, .e = e, .err = &err};
        st.info = (sql_stmt_info){.kind = sql_node_kind_name(n->kind), .version = -1, .index = i};
        if (n->kind == SQL_QUERY)
            st.info.kind = "select";
        if (sql_session_cancelled(s)) {
            tarn_err_set(&err, TARN_ECLOSED, "query cancelled");
            rc = sql_stmt_fail(&st, TARN_ECLOSED, &err);
        } else {
            rc = stmt_run(&st, n);
        }
        sql_binder_free(&st.b);
        if (rc == 0 && st.sink->done) {
            st.info.elapsed_us = (tarn_mono_ns() - st.t0_ns) / 1000;
            if ((rc = st.sink->done(st.sink->ctx, &st.info)) != 0)
                sql_stmt_stopped(&st, rc);
        }
    }
    sql_script_free(script);
    return rc;
}
