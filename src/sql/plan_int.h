/*
 * sql/plan_int.h: what the binder, the planner and the runner share
 * (design note: src/sql/README.md, "Binder", "Plans").
 *
 * A bound query is a tree of operator JSON objects (jansson), in exec's
 * plan grammar (exec/README.md "Plan JSON") plus four operators of our own
 * that the runner turns into sources: "scan" (a table snapshot or a
 * Parquet file), "values" (constant rows), "union_all" and "exchange".
 * Expressions inside are exec's expression JSON, typed by the binder so
 * that exec's type check passes (casts inserted where the types differ).
 *
 * Every relation carries its output columns (name, qualifier, type), the
 * scope the binder resolves names against.
 */
#ifndef TARN_SQL_PLAN_INT_H
#define TARN_SQL_PLAN_INT_H

#include "base/error.h"
#include "delta/delta.h"
#include "exec/exec.h"
#include "objstore/objstore.h"
#include "parquet/parquet.h"
#include "sql/session.h"
#include "sql/sql.h"

#include <jansson.h>
#include <stdbool.h>

/* Most tables (scans) one statement may read. */
#define SQL_SCANS_MAX 64
/* Most pruning predicates kept per scan. */
#define SQL_PRUNE_MAX 16
/* Most columns of one relation. */
#define SQL_COLS_MAX 4096

/* A column of a relation. name NULL: hidden (not resolvable, not in *). */
typedef struct sql_col {
    char *name;
    char *qual; /* table name or alias; NULL for computed columns */
    vec_type_info type;
    int32_t tab;   /* the scan (sql_binder.tabs) it comes straight from, or -1 */
    uint32_t tcol; /* its column there */
} sql_col;

/* A relation being built: its plan and output columns (all owned). */
typedef struct sql_rel {
    json_t *plan;
    uint32_t n;
    sql_col *cols;
} sql_rel;

/* A predicate `column op constant` used to prune files and row groups. */
typedef struct sql_prune {
    uint32_t col; /* table column index */
    pq_op op;
    vec_col value; /* one valid row of the column's compute type */
} sql_prune;

typedef enum sql_tab_kind { SQL_TAB_DELTA, SQL_TAB_PARQUET } sql_tab_kind;

/* One table a statement reads: its snapshot (or file), taken once when
 * the statement binds, and what the scan reads of it. */
typedef struct sql_tab {
    sql_tab_kind kind;
    char *name;       /* as the user named it (for EXPLAIN and messages) */
    char *key;        /* identity within the statement: name + time travel */
    objstore *own_os; /* delta_scan('dir'): opened here */
    delta_table *dt;  /* SQL_TAB_DELTA */
    delta_snapshot *snap;
    int fd; /* SQL_TAB_PARQUET: the file, and the file object */
    pq_file *pf;
    uint32_t ncols;
    char **names;              /* table columns */
    vec_type_info *types;      /* what the scan hands over (widened) */
    vec_type_info *file_types; /* as stored */
    bool *used;                /* read by the query (projection pushdown) */
    sql_prune prune[SQL_PRUNE_MAX];
    uint32_t nprune;
    size_t files_total, files_kept; /* after pruning (delta) */
    uint32_t row_groups_skipped;    /* by Parquet statistics (read_parquet; atomic) */
    bool pruned;                    /* view and kept are made (sql_tab_prune) */
    delta_snapshot view;            /* snap with only the kept files (shallow) */
    delta_file *kept;
} sql_tab;

/* A statement's binding context. */
typedef struct sql_binder {
    sql_session *s;
    sql_tab *tabs[SQL_SCANS_MAX];
    uint32_t ntabs;
    struct sql_cte_scope *cte_scope; /* the WITH lists in force, innermost first */
    vec_batch *mem;                  /* COPY: the file's rows as text, for the "text_rows" source */
    size_t nmem;
    uint32_t mem_ncols;
    sql_error *e;
    tarn_err *err;
    int depth;
} sql_binder;

/* CTEs visible to a query: the first `count` of a WITH list, then the
 * enclosing ones. */
typedef struct sql_cte_scope {
    const sql_list *ctes;
    uint32_t count;
    struct sql_cte_scope *up;
} sql_cte_scope;

/* ---- session internals the binder needs (session.c) ---- */
objstore *sql_session_store(sql_session *s);
/* Opens Tarn table `name` (folded) and its snapshot at the latest
 * version, at version `at`, or at time `at` (ms since the epoch).
 * TARN_ENOENT when no such table (or version). */
int sql_session_open_table(sql_session *s, const char *name, sql_travel_kind travel, int64_t at,
                           delta_table **dt, delta_snapshot **snap, tarn_err *err);
/* Names of the catalog's tables (for "did you mean"); *names owned by the
 * caller (sql_names_free). */
int sql_session_table_names(sql_session *s, char ***names, size_t *count, tarn_err *err);
void sql_names_free(char **names, size_t count);
size_t sql_session_budget_bytes(const sql_session *s);

/* ---- binder (bind_*.c) ---- */

/* Binds a query (SQL_QUERY) into *out. Errors fill b->e (position and
 * message) and return its code. */
int sql_bind_query(sql_binder *b, const sql_node *q, sql_rel *out);
/* Binds a scalar expression against a relation's columns (no aggregates).
 * *out is exec expression JSON (owned), *type its type. */
int sql_bind_scalar(sql_binder *b, const sql_rel *scope, const sql_node *n, json_t **out,
                    vec_type_info *type);
/* Binds n over scope and converts it to type t (literals retyped: a
 * string literal into a DATE column is a date). */
int sql_bind_as(sql_binder *b, const sql_rel *scope, const sql_node *n, vec_type_info t,
                json_t **out);
/* Casts JSON expression `j` (taken) of type `from` to `to`: the same JSON
 * when equal, else a cast node. NULL on ENOMEM. */
json_t *sql_cast_json(json_t *j, vec_type_info from, vec_type_info to);
void sql_binder_free(sql_binder *b);
void sql_rel_free(sql_rel *r);
/* The tab for plan "scan" node `id`. */
sql_tab *sql_binder_tab(sql_binder *b, uint32_t id);

/* Error helpers: fill b->e at pos and return code. */
int sql_bind_fail(sql_binder *b, int code, sql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int sql_bind_oom(sql_binder *b);
/* "did you mean X?" into b->e->hint when a candidate is close to `word`. */
void sql_bind_suggest(sql_binder *b, const char *word, const char *const *cands, size_t n);

/* ---- types ---- */

/* SQL type -> the vec type columns are stored as / computed as. */
int sql_type_to_vec(const sql_type *t, vec_type_info *store, tarn_err *err);
/* The type exec computes with: i8/i16 -> i32, f32 -> f64; others as is. */
vec_type_info sql_compute_type(vec_type_info t);
/* "BIGINT", "DECIMAL(15,2)" ... into buf (cap >= 32). */
const char *sql_type_name(vec_type_info t, char *buf, size_t cap);
/* {"type": "...", [precision, scale]} fields added to o. */
void sql_json_type(json_t *o, vec_type_info t);
bool sql_type_equal(vec_type_info a, vec_type_info b);

/* ---- runner (run.c) ---- */

typedef struct sql_run sql_run;
/* Builds the operator tree of a bound plan (taken as JSON: it is read,
 * not kept). With `analyze`, counts rows and time per operator, written
 * back into the JSON as "rows" and "ms" by sql_run_stats. */
int sql_run_open(sql_binder *b, json_t *plan, bool analyze, exec_budget *bud, sql_run **out,
                 tarn_err *err);
exec_op *sql_run_root(sql_run *r);
void sql_run_stats(sql_run *r);
void sql_run_close(sql_run *r);

/* ---- planner (planner.c) ---- */

/* Rewrites a bound query plan into the stage plan: {"stages": [...]}
 * (README "Plans"). Takes `plan`. NULL on ENOMEM. */
json_t *sql_plan_stages(json_t *plan, sql_binder *b);
/* The stage plan's final stage (borrowed). */
json_t *sql_plan_root(json_t *stages);
/* Human-readable EXPLAIN text of a stage plan into buf. */
int sql_plan_explain(const json_t *stages, sql_binder *b, bool analyze, tarn_buf *buf);

/* ---- tables (tab.c) ---- */

/* Resolves a table reference to a tab (snapshot taken now, cached per
 * statement by name + time travel). */
int sql_tab_table(sql_binder *b, const sql_node *ref, uint32_t *id);
int sql_tab_func(sql_binder *b, const sql_node *fn, uint32_t *id);
void sql_tab_free(sql_tab *t);
/* Records the conjuncts of a WHERE over this table's scan that compare a
 * column with a constant (pruning predicates; the filter stays). */
void sql_tab_add_prune(sql_tab *t, const json_t *pred);
/* The units of one parallel scan of a tab (Parquet row groups of
 * read_parquet; files or row groups of a Delta snapshot after pruning),
 * shared by the scans of its workers. */
typedef struct sql_morsels sql_morsels;
/* How many units a parallel scan with `workers` would have. */
int sql_tab_morsel_count(sql_tab *t, uint32_t workers, uint32_t *count, tarn_err *err);
int sql_morsels_open(sql_tab *t, uint32_t workers, sql_morsels **out, tarn_err *err);
void sql_morsels_close(sql_morsels *m);
/* The scan as an exec source: files pruned with tab->prune, used columns
 * read, dictionary strings kept as codes; with `m`, only the units it
 * hands out (a worker of a parallel scan; m borrowed until the state is
 * freed). *state is freed with sql_tab_scan_free after the operator is
 * closed. */
int sql_tab_scan_open(sql_tab *t, sql_morsels *m, exec_budget *bud, exec_op **out, void **state,
                      tarn_err *err);
void sql_tab_scan_free(void *state);

#endif
