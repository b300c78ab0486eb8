/*
 * sql/session.h: running SQL against the embedded lakehouse. A session
 * parses a script, binds and plans each statement, runs it on the
 * executor and streams the result to a sink: the column names and types
 * first, then vec batches, then a summary. Design note: src/sql/README.md
 * ("The session").
 *
 *   sql_session *s;
 *   sql_session_open(&(sql_session_opts){.node = n, .store = os}, &s, &err);
 *   sql_error e;
 *   if (sql_session_exec(s, text, len, &sink, &e) != 0) { render e; }
 *   sql_session_close(s);
 *
 * Statements run one after the other; the first failure stops the script
 * (earlier statements stay done: each is its own commit). Every query
 * reads one snapshot per table, taken when the statement starts, whatever
 * commits land meanwhile. Every statement runs under a memory budget
 * (opts.mem_budget_bytes): going over fails that statement with
 * TARN_ENOMEM_BUDGET, and the session stays usable.
 *
 * Threads: a session belongs to one thread at a time. Several sessions
 * may share one node and one object store (both are thread-safe).
 */
#ifndef TARN_SQL_SESSION_H
#define TARN_SQL_SESSION_H

#include "base/buf.h"
#include "base/error.h"
#include "objstore/objstore.h"
#include "sql/sql.h"
#include "vec/vec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct node node;
typedef struct sql_session sql_session;

/* Most threads a parallel plan runs on (exec's EXEC_WORKERS_MAX). */
#define SQL_THREADS_MAX 64

typedef struct sql_session_opts {
    node *node;              /* the metadata service (catalog commands registered); borrowed */
    objstore *store;         /* where tables live (tables/<name>/); borrowed */
    size_t mem_budget_bytes; /* per statement; 0: exec's default (a fraction of RAM) */
    int timeout_ms;          /* catalog proposals and reads; 0: 10 s */
    uint32_t threads; /* workers of a parallel scan; 0: the online CPUs (README "Parallel plans") */
    /* Test seam: called by INSERT, CREATE TABLE AS and COPY after the rows
     * are computed, right before the commit (tests land other commits). */
    void (*before_commit)(void *ctx);
    void *before_commit_ctx;
} sql_session_opts;

/* What a statement produced, handed to sink.done. */
typedef struct sql_stmt_info {
    const char *kind;   /* "select", "insert", "create-table", ... (sql_node_kind_name) */
    int64_t rows;       /* rows returned (queries) or written / deleted (DML) */
    int64_t version;    /* the table version a write committed; -1 none */
    int64_t elapsed_us; /* wall time of the statement */
    uint32_t index;     /* statement number in the script, from 0 */
} sql_stmt_info;

/*
 * Where results go. columns is called once per statement that returns
 * rows, before any batch; batch for each non-empty batch (borrowed for
 * the call; read its live rows through the selection); done once per
 * statement that succeeded. Any callback may return nonzero to stop the
 * script: that code is returned by sql_session_exec (with e->msg "stopped
 * by the output"). All may be NULL.
 */
typedef struct sql_sink {
    void *ctx;
    int (*columns)(void *ctx, uint32_t n, const char *const *names, const vec_type_info *types);
    int (*batch)(void *ctx, const vec_batch *b);
    int (*done)(void *ctx, const sql_stmt_info *info);
} sql_sink;

/* TARN_EINVAL (no node or store), TARN_ENOMEM. Writes the Delta log files
 * of versions the catalog accepted but whose log is missing (a crash
 * between the two), so that snapshots see every committed version. */
int sql_session_open(const sql_session_opts *opts, sql_session **out, tarn_err *err);
void sql_session_close(sql_session *s);

/*
 * Runs every statement of text[0..len). 0 when all succeeded. Otherwise
 * the code, and `e` says what and where: for errors in the text (syntax,
 * unknown names, types) e->pos points at the problem; for errors while
 * running (overflow, budget, I/O) e->pos is the statement's start and
 * e->incomplete is 0. e->incomplete is set when the text ended inside a
 * statement (an interactive shell then reads more).
 */
int sql_session_exec(sql_session *s, const char *text, size_t len, const sql_sink *sink,
                     sql_error *e);

/* Sets the per-statement memory budget (0: the default). */
void sql_session_set_budget(sql_session *s, size_t bytes);
/*
 * Cancels the statement running in s (from any thread, or a signal
 * handler: one atomic store): its operators stop at their next batch and
 * sql_session_exec returns TARN_ECLOSED ("query cancelled"); statements
 * after it in the script do not run, and no later statement runs until
 * sql_session_cancel_clear.
 */
void sql_session_cancel(sql_session *s);
void sql_session_cancel_clear(sql_session *s);
bool sql_session_cancelled(const sql_session *s);
/* Sets the threads of parallel plans (0: the online CPUs; at most
 * EXEC_WORKERS_MAX; 1: serial plans). */
void sql_session_set_threads(sql_session *s, uint32_t threads);
uint32_t sql_session_threads(const sql_session *s);

/* ---- value text: what every front end prints ---- */

/*
 * Appends the text of row `row` (valid) of `col`: integers in decimal;
 * doubles with 17 significant digits (so that they read back exactly;
 * "NaN", "Infinity", "-Infinity"); decimals exact ("12.50"); dates
 * YYYY-MM-DD; timestamps YYYY-MM-DD HH:MM:SS[.ffffff]; booleans
 * true/false; strings as they are. *quote says whether JSON needs the text
 * quoted (strings, dates, decimals, timestamps, non-finite doubles).
 */
int sql_value_text(tarn_buf *b, const vec_col *col, uint32_t row, bool *quote);
/* "BIGINT", "DECIMAL(15,2)", "VARCHAR" ... (buf of at least 32 bytes). */
const char *sql_vec_type_name(vec_type_info t, char *buf, size_t cap);

#endif
