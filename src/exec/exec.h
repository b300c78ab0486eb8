/*
 * exec/exec.h: the vectorized executor: expression trees evaluated a batch
 * at a time with typed kernels, and operators (source, filter, project, hash
 * aggregate, sort / top-N, limit) that pass vec batches. Design note:
 * exec/README.md.
 *
 *   exec_budget bud; exec_budget_init(&bud, 256 << 20);
 *   exec_op *src, *f, *a;
 *   exec_source_new(types, 3, my_next, ctx, &bud, &src, &err);
 *   exec_expr *pred; exec_expr_from_json("{\"op\":\"<=\",...}", types, 3, &bud, &pred, &err);
 *   exec_filter_new(src, pred, &f, &err);              (takes src and pred)
 *   exec_agg_new(f, &agg_opts, &a, &err);              (takes f)
 *   exec_op_open(a, &err);
 *   const vec_batch *b;
 *   while ((rc = exec_op_next(a, &b, &err)) == 0 && b != NULL) { ...read b's live rows... }
 *   exec_op_close(a);                                  (closes and frees the whole tree)
 *
 * Batches handed out by exec_op_next are borrowed: valid until the next call
 * on that operator or its close. Their columns may alias the child's
 * columns (filter and project move no data; they narrow the selection or
 * add computed columns).
 *
 * Memory: every operator and expression accounts the memory it holds
 * against one exec_budget per query; going over fails that query with
 * TARN_ENOMEM_BUDGET (and a message naming the operator), never the process.
 *
 * Errors: TARN_EINVAL (bad plan: types, column indexes), TARN_ENOTSUP (a
 * type or function this slice does not evaluate), TARN_ERANGE ("integer
 * overflow", "division by zero"), TARN_ENOMEM, TARN_ENOMEM_BUDGET. After an
 * error from next, only close is allowed.
 *
 * Threads: a tree of operators and its expressions belong to one thread;
 * the budget is thread-safe (one per query, shared by the threads of a
 * parallel operator). exec_parallel_new runs several trees on threads.
 */
#ifndef TARN_EXEC_EXEC_H
#define TARN_EXEC_EXEC_H

#include "base/error.h"
#include "vec/vec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- memory budget ---- */

typedef struct exec_budget {
    size_t limit_bytes; /* fail reservations past this */
    size_t used_bytes;  /* reserved now */
    size_t peak_bytes;  /* highest used_bytes seen */
    /* Cancellation: when *cancel (borrowed, may be NULL) becomes non-zero
     * (an atomic store from any thread or a signal handler), every
     * operator fails its next batch with TARN_ECLOSED ("query cancelled"),
     * so a scan, aggregation, join build or sort stops between batches. */
    const int *cancel;
} exec_budget;

/* limit_bytes 0: the default, EXEC_BUDGET_RAM_DIVISOR-th of physical memory. */
void exec_budget_init(exec_budget *b, size_t limit_bytes);
#define EXEC_BUDGET_RAM_DIVISOR 4
/* Accounts `bytes` more; TARN_ENOMEM_BUDGET (message naming `what`) when
 * that would pass the limit, in which case nothing is accounted. */
int exec_budget_reserve(exec_budget *b, size_t bytes, const char *what, tarn_err *err);
void exec_budget_release(exec_budget *b, size_t bytes);
/* Whether the query was cancelled (b->cancel set). */
bool exec_budget_cancelled(const exec_budget *b);

/* ---- expressions ---- */

typedef struct exec_expr exec_expr;

/*
 * Builds an expression over input columns of the given types from its JSON
 * form (the planner's serializable plan; grammar in README.md), e.g.
 *   {"op":"<=","args":[{"col":7},{"const":10471,"type":"date"}]}
 * Scalar functions (README.md, "Scalar functions"): extract, date_trunc,
 * add_interval / sub_interval (date/timestamp +/- INTERVAL), lower, upper,
 * length, substr, concat, ||, abs, round; CAST between all types
 * ("Casts"; text that does not parse is TARN_EINVAL, out of range
 * TARN_ERANGE). Columns of i8/i16/u8/u16/u32/f32 are taken only by CAST,
 * IS [NOT] NULL and projections: the binder widens them.
 * Types must match exactly (the binder inserts casts); decimals compare and
 * add at equal scale. TARN_EINVAL for malformed JSON or a type error (with
 * the node's path in the message), TARN_ENOTSUP, TARN_ENOMEM. `types` is
 * copied; `budget` is borrowed for the expression's lifetime.
 */
int exec_expr_from_json(const char *json, const vec_type_info *types, uint32_t ncols,
                        exec_budget *budget, exec_expr **out, tarn_err *err);
/* The JSON form (tarn_malloc'd, caller frees); from_json of it builds an
 * equal tree. NULL on ENOMEM. */
char *exec_expr_to_json(const exec_expr *e);
vec_type_info exec_expr_type(const exec_expr *e);
/* Evaluates over the live rows of `b`: *out (owned by the expression or,
 * for a column reference, by the batch; valid until the next evaluation)
 * has b->len rows whose values and validity are defined at the live rows.
 * Errors: TARN_ERANGE, TARN_ENOMEM, TARN_ENOMEM_BUDGET. */
int exec_expr_eval(exec_expr *e, const vec_batch *b, const vec_col **out, tarn_err *err);
/* Boolean expressions: writes the live rows of `b` where the expression is
 * TRUE (not FALSE, not NULL) to sel_out (b->len entries of room), ascending,
 * and their number to *count. */
int exec_expr_select(exec_expr *e, const vec_batch *b, uint32_t *sel_out, uint32_t *count,
                     tarn_err *err);
void exec_expr_free(exec_expr *e);

/* LIKE with % (any run) and _ (one UTF-8 character); no escape character.
 * Pure; exposed for tests. */
bool exec_like_match(const uint8_t *s, size_t slen, const uint8_t *p, size_t plen);

/* ---- operators ---- */

typedef struct exec_op exec_op;

/* Prepares the tree (allocates state); open of a parent opens its child. */
int exec_op_open(exec_op *op, tarn_err *err);
/* Next batch with at least one live row, or *out = NULL at the end. */
int exec_op_next(exec_op *op, const vec_batch **out, tarn_err *err);
/* Frees the operator, its expressions and its children. Accepts NULL. */
void exec_op_close(exec_op *op);
uint32_t exec_op_ncols(const exec_op *op);
const vec_type_info *exec_op_types(const exec_op *op);

/*
 * Constructors. Each takes ownership of its child operator and expressions
 * at once, also when it fails (so a planner can build bottom-up and free
 * only the root). Errors: TARN_EINVAL for a bad plan, TARN_ENOMEM.
 */

/* A source pulling batches from a callback: fills *out with a batch
 * (borrowed until the next call) or NULL at the end. */
typedef int (*exec_source_fn)(void *ctx, const vec_batch **out, tarn_err *err);
int exec_source_new(const vec_type_info *types, uint32_t ncols, exec_source_fn fn, void *ctx,
                    exec_budget *budget, exec_op **out, tarn_err *err);
/* Keeps the rows where `pred` (boolean) is TRUE. */
int exec_filter_new(exec_op *child, exec_expr *pred, exec_op **out, tarn_err *err);
/* Output column i is exprs[i] over the child's batch (the array is copied,
 * the expressions taken). */
int exec_project_new(exec_op *child, exec_expr **exprs, uint32_t nexprs, exec_op **out,
                     tarn_err *err);
/* Skips `offset` live rows, then passes at most `limit` (UINT64_MAX: all). */
int exec_limit_new(exec_op *child, uint64_t limit, uint64_t offset, exec_op **out, tarn_err *err);

typedef enum exec_agg_fn {
    EXEC_AGG_COUNT_STAR, /* count(*): i64 */
    EXEC_AGG_COUNT,      /* count(x): non-null rows, i64 */
    EXEC_AGG_SUM,        /* i32/i64 -> i64 (overflow is TARN_ERANGE), f64 -> f64,
                            decimal64(p,s) -> decimal64(18,s); NULL when no rows */
    EXEC_AGG_MIN,        /* same type as x; fixed-width types and strings */
    EXEC_AGG_MAX,
    EXEC_AGG_AVG, /* f64 (decimals divided by 10^scale) */
} exec_agg_fn;

typedef enum exec_agg_phase {
    EXEC_AGG_SINGLE,  /* input rows -> final values */
    EXEC_AGG_PARTIAL, /* input rows -> keys + partial states */
    EXEC_AGG_FINAL,   /* keys + partial states (a PARTIAL's output layout) -> final values */
} exec_agg_phase;

typedef struct exec_agg_spec {
    exec_agg_fn fn;
    uint32_t col;  /* argument column of the input (unused for count(*)) */
    bool distinct; /* count/sum/avg(DISTINCT x): each value once per group;
                      min/max ignore it */
} exec_agg_spec;

/*
 * Hash aggregate. Output: the key columns (in `keys` order), then per
 * aggregate its value (SINGLE, FINAL) or its partial state (PARTIAL: one
 * column, two for avg: sum then count; count(*) and count give an i64
 * count). A FINAL takes as input exactly a PARTIAL's output layout with the
 * same keys (0..nkeys-1) and specs; its specs' `col` are ignored. With no
 * keys, exactly one output row (count 0, other aggregates NULL) even over
 * empty input, as SQL wants.
 *
 * A PARTIAL with DISTINCT aggregates: such an aggregate's state column has
 * the argument's type. The output is first one row per group (those
 * columns NULL), then one row per distinct (group, value) pair of each
 * DISTINCT aggregate: the group's keys, the value in that aggregate's
 * column, NULL in the other DISTINCT columns and empty states (count 0,
 * NULL sums) elsewhere, so a FINAL merges them as nothing. Rows of one
 * group share its keys, so a hash partitioning by the keys keeps them
 * together.
 */
typedef struct exec_agg_opts {
    const uint32_t *keys; /* group key columns of the input */
    uint32_t nkeys;       /* <= EXEC_AGG_KEYS_MAX */
    const exec_agg_spec *aggs;
    uint32_t naggs; /* <= EXEC_AGG_AGGS_MAX */
    exec_agg_phase phase;
} exec_agg_opts;
#define EXEC_AGG_KEYS_MAX 32
#define EXEC_AGG_AGGS_MAX 64
int exec_agg_new(exec_op *child, const exec_agg_opts *opts, exec_op **out, tarn_err *err);

typedef struct exec_sort_key {
    uint32_t col;
    bool desc;
    bool nulls_first;
} exec_sort_key;
/* Sorts by the keys (stable: ties keep input order). With limit !=
 * UINT64_MAX it is a top-N: memory stays about limit + one batch rows. */
int exec_sort_new(exec_op *child, const exec_sort_key *keys, uint32_t nkeys, uint64_t limit,
                  exec_op **out, tarn_err *err);

/* ---- union all, values ---- */

/* UNION ALL: the batches of children[0] to its end, then children[1]'s,
 * ... (n >= 1; the array is copied, the children taken, also on failure).
 * Every child must have the same column types (decimals equal scale; a
 * string column may be flat in one child and dictionary codes in
 * another). Batches pass through without copies. TARN_EINVAL for
 * different schemas. */
int exec_union_all_new(exec_op **children, uint32_t n, exec_op **out, tarn_err *err);

/* Literal rows (INSERT ... VALUES, SELECT without FROM): exprs holds
 * nrows * ncols expressions, row-major, each over no columns (constants,
 * casts of constants, arithmetic on them) of exactly types[c] (the binder
 * casts); they are evaluated at open (errors such as a bad cast surface
 * there) and the rows come out in order, in batches of VEC_BATCH_ROWS.
 * ncols 0 gives nrows rows of no columns: the input of SELECT 1+1. The
 * expressions are taken, also on failure; types copied. */
int exec_values_new(const vec_type_info *types, uint32_t ncols, exec_expr **exprs, uint32_t nrows,
                    exec_budget *budget, exec_op **out, tarn_err *err);
/* Most rows of a values operator. */
#define EXEC_VALUES_ROWS_MAX 1000000

/* ---- joins ---- */

typedef enum exec_join_type {
    EXEC_JOIN_INNER,
    EXEC_JOIN_LEFT, /* every left row at least once; right columns NULL when unmatched */
} exec_join_type;

typedef struct exec_join_opts {
    exec_join_type type;
    const uint32_t *left_keys;  /* key columns of the left (probe) input */
    const uint32_t *right_keys; /* the matching key columns of the right (build) input */
    uint32_t nkeys;             /* <= EXEC_JOIN_KEYS_MAX; 0: a cross join (tiny inputs) */
    /* Optional extra condition over the joined row (typed over the left
     * columns, then the right columns), evaluated on the pairs the keys
     * match; a LEFT join row is unmatched when no pair passes it. Taken by
     * the constructor; NULL: none. */
    exec_expr *residual;
} exec_join_opts;
#define EXEC_JOIN_KEYS_MAX 32

/*
 * Hash equi-join: the right input is read whole into memory at the first
 * next (its rows accounted against the budget: TARN_ENOMEM_BUDGET when
 * over) and hashed on its keys (open addressing, rows with equal keys
 * chained); the left input streams through and probes. Output columns:
 * the left columns, then the right columns. Keys pair by position and must
 * have equal types (decimals equal scale; the binder casts); a NULL key
 * never matches (SQL); floats match -0.0 with 0.0 and NaN with NaN, as
 * DuckDB. Output strings are flat (dictionary codes are decoded). Takes
 * both inputs at once, also when it fails. TARN_EINVAL for bad keys.
 */
int exec_join_new(exec_op *left, exec_op *right, const exec_join_opts *opts, exec_op **out,
                  tarn_err *err);

/* ---- morsel parallelism ---- */

/* Hands out morsel indexes 0..count-1 (Parquet row groups, say), each
 * once, to any number of threads (an atomic counter). */
typedef struct exec_morsels {
    uint32_t next; /* atomic */
    uint32_t count;
} exec_morsels;
void exec_morsels_init(exec_morsels *m, uint32_t count);
/* The next morsel index, or false when all are taken. Thread-safe. */
bool exec_morsels_take(exec_morsels *m, uint32_t *index);

#define EXEC_WORKERS_MAX 64

/*
 * Runs n pipelines on n threads and outputs the union of their rows. Each
 * pipeline is an independent operator tree (its own sources, typically
 * over morsels of one exec_morsels; often ending in a PARTIAL aggregate
 * that a FINAL aggregate above merges); all must have the same column
 * types and budget (exec_budget is thread-safe). At the first next, one
 * thread per pipeline opens and drains it, copying its rows (dictionary
 * strings decoded) into batches pushed through a bounded queue (two per
 * worker); each next pops one (valid until the following next or close).
 * Rows of one pipeline keep their order; pipelines interleave. The first
 * error of any pipeline stops the others (between batches) and is
 * returned; close stops and joins the threads, also early. Takes the
 * pipelines (the array is copied), also on failure. TARN_EINVAL for
 * unequal schemas or n outside 1..EXEC_WORKERS_MAX.
 */
int exec_parallel_new(exec_op **pipelines, uint32_t n, exec_op **out, tarn_err *err);

/* The same with a factory: build(ctx, worker, budget, &op, err) is called
 * for worker 0..n-1 on the calling thread, here. */
typedef int (*exec_pipeline_fn)(void *ctx, uint32_t worker, exec_budget *budget, exec_op **out,
                                tarn_err *err);
int exec_parallel_build(exec_pipeline_fn build, void *ctx, uint32_t n, exec_budget *budget,
                        exec_op **out, tarn_err *err);

/* ---- plans ---- */

/* Resolves a leaf {"op":"source","name":...} of a plan to an operator
 * (transferred to the caller). */
typedef int (*exec_resolve_fn)(void *ctx, const char *name, exec_budget *budget, exec_op **out,
                               tarn_err *err);

/*
 * Builds an operator tree from its JSON form (grammar in README.md, "Plan
 * JSON"), e.g.
 *   {"op":"sort","keys":[{"col":0}],"input":
 *     {"op":"aggregate","keys":[0],"aggs":[{"fn":"count_star"}],"input":
 *       {"op":"filter","pred":{...},"input":{"op":"source","name":"t"}}}}
 * Expressions are typed against their input's schema. TARN_EINVAL for a
 * malformed plan (message names the operator), errors of `resolve`,
 * TARN_ENOMEM. On error nothing is left to free.
 */
int exec_plan_from_json(const char *json, exec_resolve_fn resolve, void *ctx, exec_budget *budget,
                        exec_op **out, tarn_err *err);

#endif
