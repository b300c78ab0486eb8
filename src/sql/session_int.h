/*
 * sql/session_int.h: the session and a statement being run, shared by
 * session.c (queries, catalog statements) and dml.c (writes).
 */
#ifndef TARN_SQL_SESSION_INT_H
#define TARN_SQL_SESSION_INT_H

#include "sql/plan_int.h"

struct sql_session {
    node *node;
    objstore *os;
    delta_committer com;
    size_t budget_bytes;
    int timeout_ms;
    uint32_t threads;                 /* 1..EXEC_WORKERS_MAX */
    int cancel;                       /* sql_session_cancel (atomic) */
    void (*before_commit)(void *ctx); /* test seam (sql_session_opts) */
    void *before_commit_ctx;
};

typedef struct sql_stmt {
    sql_session *s;
    const sql_sink *sink;
    sql_error *e;
    sql_pos pos; /* the statement's start, for errors while running */
    sql_binder b;
    sql_stmt_info info;
    int64_t t0_ns;
} sql_stmt;

int sql_emit_columns(sql_stmt *st, uint32_t n, const char *const *names, const vec_type_info *t);
int sql_emit_batch(sql_stmt *st, const vec_batch *b);
int sql_emit_lines(sql_stmt *st, const char *col, const char *text);
int sql_stmt_stopped(sql_stmt *st, int rc);
int sql_stmt_fail(sql_stmt *st, int rc, const tarn_err *err);
/* Runs a stage plan; with emit, streams rows (columns from shape). */
int sql_run_plan(sql_stmt *st, json_t *stages, bool analyze, bool emit, const sql_rel *shape);
/* 0 when the catalog has the table, TARN_ENOENT when not. */
int sql_session_catalog_has(sql_session *s, const char *name, tarn_err *err);

/* A table a statement writes: its latest snapshot and column types. */
typedef struct sql_target {
    delta_table *dt;
    delta_snapshot *snap;
    uint32_t ncols;
    char **names;                   /* borrowed from the snapshot's schema */
    vec_type_info *store, *compute; /* as stored; as exec computes */
    bool *nullable;
} sql_target;

int sql_target_open(sql_stmt *st, const sql_name *name, sql_target *t);
void sql_target_free(sql_target *t);

/* Runs a one-stage plan whose rows are the table's columns (compute
 * types) and appends them as one commit. */
int sql_write_plan(sql_stmt *st, const char *name, sql_target *t, json_t *plan);
/* COPY from CSV (csv) or JSON lines. */
int sql_copy_text(sql_stmt *st, const sql_node *n, bool csv);

int sql_stmt_delete(sql_stmt *st, const sql_node *n);
int sql_stmt_optimize(sql_stmt *st, const sql_node *n);
int sql_stmt_vacuum(sql_stmt *st, const sql_node *n);
int sql_stmt_create(sql_stmt *st, const sql_node *n);
int sql_stmt_insert(sql_stmt *st, const sql_node *n);
int sql_stmt_copy(sql_stmt *st, const sql_node *n);
int sql_stmt_drop(sql_stmt *st, const sql_node *n);
int sql_stmt_show_tables(sql_stmt *st);
int sql_stmt_describe(sql_stmt *st, const sql_node *n);
int sql_stmt_history(sql_stmt *st, const sql_node *n);

#endif
