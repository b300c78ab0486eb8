/*
 * bench/tpch/tpch_sql.c: TPC-H Q1, Q6 and a filtered count(*) through
 * Tarn's SQL front end, the way a user runs them (sql_session_exec on the
 * embedded lakehouse of a data directory, as `tarn sql` does): on a Tarn
 * table and on read_parquet of the same rows. run.sh puts DuckDB's figures
 * and the hand-built exec plans (tpch_bench) beside them.
 *
 *   tpch_sql prepare DIR ROWS SEED [decimal]
 *       Creates, once, DIR/lineitem.parquet (gen_lineitem_write_parquet)
 *       and table `lineitem` in the data directory DIR/data
 *       (gen_lineitem_write_table): the same rows. DIR/READY marks a
 *       finished preparation; a run that finds it does nothing, so the
 *       data is cached per DIR (run.sh names DIR by rows, seed and types).
 *   tpch_sql run DIR QUERY SOURCE RUNS [THREADS]
 *       QUERY: q1 | q6 | count (bench/tpch/queries.h); SOURCE: table | file.
 *       Runs the statement RUNS times in one session; prints the rows of
 *       the last run ("row,v1,v2,...", the text `tarn sql` prints) and the
 *       timings ("time_ms," min, median, then each run). Each time is the
 *       whole statement: parse, bind (the table's snapshot from the
 *       metadata service), plan, run, results into the sink.
 *   tpch_sql sql DIR QUERY SOURCE
 *       Prints the statement text (what DuckDB is given).
 *   tpch_sql explain DIR QUERY SOURCE
 *       Runs EXPLAIN ANALYZE of the statement: the stage plan with the rows
 *       and time of every operator.
 *   tpch_sql exec DIR RUNS SQL
 *       Runs any statement RUNS times, as `run` does (variants of a query
 *       when looking for where the time goes).
 *
 *   tpch_sql threads
 *       Exit 0 when this build's SQL session has a thread setting
 *       (sql_session_opts.threads), 1 when it has none.
 *
 * THREADS (default 1) is the session's thread setting for parallel plans.
 * Sessions without one (before parallel plans) run every plan serially;
 * there only THREADS 1 is accepted, so a figure is never labelled with a
 * thread count it did not run on.
 */
#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "bench_util.h"
#include "catalog/catalog.h"
#include "delta/delta.h"
#include "gen/gen.h"
#include "kv/kv.h"
#include "node/node.h"
#include "objstore/objstore.h"
#include "sql/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queries.h"

#define PATH_BYTES_MAX 4096
#define RUNS_MAX       100
#define LEADER_WAIT_MS 10000

/* ---- the data directory: node, object store, session ---- */

typedef struct env {
    node *node;
    objstore *os;
    sql_session *session;
} env;

static int env_open(const char *dir, uint32_t threads, env *e, tarn_err *err)
{
    char data[PATH_BYTES_MAX], url[PATH_BYTES_MAX + 16];
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(url, sizeof(url), "%s/objects", data);
    if (mkdir(data, 0700) != 0 && errno != EEXIST)
        return tarn_err_set(err, TARN_EIO, "mkdir %s: %s", data, strerror(errno));
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    int rc = kv_register(&reg);
    if (rc == 0)
        rc = catalog_register(&reg);
    if (rc != 0)
        return tarn_err_set(err, rc, "register state machine commands");
    node_opts no = {.data_dir = data, .durability = STORE_DURABLE_DATA};
    rc = node_open(&no, &reg, &e->node, err);
    if (rc == 0)
        rc = node_wait_leader(e->node, LEADER_WAIT_MS, err);
    if (rc == 0)
        rc = objstore_open(url, &e->os, err);
    sql_session_opts so = {.node = e->node, .store = e->os};
#ifdef SQL_THREADS_MAX
    so.threads = threads;
#else
    (void)threads; /* no setting: every plan is serial */
#endif
    if (rc == 0)
        rc = sql_session_open(&so, &e->session, err);
    return rc;
}

static void env_close(env *e)
{
    sql_session_close(e->session);
    objstore_close(e->os);
    node_close(e->node);
}

/* ---- prepare ---- */

static int file_sink(void *ctx, const void *data, size_t len, tarn_err *err)
{
    if (fwrite(data, 1, len, ctx) != len)
        return tarn_err_set(err, TARN_EIO, "write: %s", strerror(errno));
    return 0;
}

static int write_file(const char *dir, const gen_lineitem_opts *o, tarn_err *err)
{
    char path[PATH_BYTES_MAX], tmp[PATH_BYTES_MAX + 8];
    snprintf(path, sizeof(path), "%s/lineitem.parquet", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return tarn_err_set(err, TARN_EIO, "create %s: %s", tmp, strerror(errno));
    int rc = gen_lineitem_write_parquet(o, file_sink, f, NULL, NULL, err);
    if (fclose(f) != 0 && rc == 0)
        rc = tarn_err_set(err, TARN_EIO, "close %s", tmp);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = tarn_err_set(err, TARN_EIO, "rename %s: %s", tmp, strerror(errno));
    return rc;
}

static int write_table(const char *dir, const gen_lineitem_opts *o, tarn_err *err)
{
    env e = {0};
    delta_committer c;
    memset(&c, 0, sizeof(c));
    int64_t version = -1;
    int rc = env_open(dir, 1, &e, err);
    if (rc == 0 && (rc = delta_committer_node(e.node, 0, &c)) != 0)
        tarn_err_set(err, rc, "committer");
    if (rc == 0)
        rc = gen_lineitem_write_table(o, &c, e.os, "lineitem", NULL, NULL, &version, err);
    delta_committer_close(&c);
    env_close(&e);
    return rc;
}

static int prepare(const char *dir, int64_t rows, uint64_t seed, bool decimal, tarn_err *err)
{
    char ready[PATH_BYTES_MAX];
    snprintf(ready, sizeof(ready), "%s/READY", dir);
    if (access(ready, F_OK) == 0)
        return 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tarn_err_set(err, TARN_EIO, "mkdir %s: %s", dir, strerror(errno));
    char data[PATH_BYTES_MAX + 8];
    snprintf(data, sizeof(data), "%s/data", dir);
    if (access(data, F_OK) == 0) /* a half-done earlier attempt: start over */
        return tarn_err_set(err, TARN_EEXIST, "%s exists without %s: remove %s and retry", data,
                            ready, dir);
    gen_lineitem_opts o = {.rows = rows, .seed = seed, .doubles = !decimal};
    fprintf(stderr, "tpch_sql: generating %lld lineitem rows (seed %llu, %s) into %s\n",
            (long long)rows, (unsigned long long)seed, decimal ? "DECIMAL(15,2)" : "DOUBLE", dir);
    int rc = write_file(dir, &o, err);
    if (rc == 0)
        rc = write_table(dir, &o, err);
    FILE *f = rc == 0 ? fopen(ready, "w") : NULL;
    if (rc == 0 && f == NULL)
        rc = tarn_err_set(err, TARN_EIO, "create %s", ready);
    if (f != NULL) {
        fprintf(f, "rows %lld seed %llu types %s\n", (long long)rows, (unsigned long long)seed,
                decimal ? "decimal" : "double");
        fclose(f);
    }
    return rc;
}

/* ---- run ---- */

/* The rows of the last statement as text, one line per row. */
typedef struct text_sink {
    tarn_buf out;
    tarn_buf cell;
} text_sink;

static int on_batch(void *ctx, const vec_batch *b)
{
    text_sink *t = ctx;
    uint32_t live = vec_batch_live_count(b);
    int rc = 0;
    for (uint32_t k = 0; k < live && rc == 0; k++) {
        uint32_t r = b->sel_active ? b->sel[k] : k;
        rc = tarn_buf_append_str(&t->out, "row");
        for (uint32_t c = 0; c < b->ncols && rc == 0; c++) {
            bool quote;
            tarn_buf_reset(&t->cell);
            rc = tarn_buf_append_byte(&t->out, ',');
            if (rc == 0 && !vec_col_is_valid(&b->cols[c], r))
                rc = tarn_buf_append_str(&t->out, "NULL");
            else if (rc == 0 && (rc = sql_value_text(&t->cell, &b->cols[c], r, &quote)) == 0)
                rc = tarn_buf_append(&t->out, tarn_buf_cstr(&t->cell), t->cell.len);
        }
        if (rc == 0)
            rc = tarn_buf_append_byte(&t->out, '\n');
    }
    return rc;
}

static int run(const char *dir, const char *sql, int runs, uint32_t threads, tarn_err *err)
{
    env e = {0};
    int rc = env_open(dir, threads, &e, err);
    text_sink t;
    tarn_buf_init(&t.out, TARN_BUF_UNBOUNDED);
    tarn_buf_init(&t.cell, TARN_BUF_UNBOUNDED);
    sql_sink sink = {.ctx = &t, .batch = on_batch};
    double ms[RUNS_MAX];
    for (int i = 0; i < runs && rc == 0; i++) {
        sql_error se;
        tarn_buf_reset(&t.out);
        double t0 = bench_clock_ms(CLOCK_MONOTONIC);
        rc = sql_session_exec(e.session, sql, strlen(sql), &sink, &se);
        ms[i] = bench_clock_ms(CLOCK_MONOTONIC) - t0;
        if (rc != 0)
            tarn_err_set(err, rc, "%s (line %d, column %d)", se.msg, se.pos.line, se.pos.col);
    }
    if (rc == 0) {
        fwrite(tarn_buf_cstr(&t.out), 1, t.out.len, stdout);
        bench_print_times(ms, runs);
    }
    tarn_buf_free(&t.out);
    tarn_buf_free(&t.cell);
    env_close(&e);
    return rc;
}

/* ---- main ---- */

#ifdef SQL_THREADS_MAX
#define THREADS_MAX SQL_THREADS_MAX
static bool has_threads(void)
{
    return true;
}
#else
#define THREADS_MAX 1
static bool has_threads(void)
{
    return false;
}
#endif

static int usage(void)
{
    fprintf(stderr, "usage: tpch_sql prepare DIR ROWS SEED [decimal]\n"
                    "       tpch_sql run DIR q1|q6|count table|file RUNS [THREADS]\n"
                    "       tpch_sql sql DIR q1|q6|count table|file\n"
                    "       tpch_sql explain DIR q1|q6|count table|file\n"
                    "       tpch_sql exec DIR RUNS SQL\n"
                    "       tpch_sql threads\n");
    return 2;
}

static int parse_count(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* The statement for argv's query and source, or NULL (message printed). */
static char *statement(const char *dir, const char *query, const char *source)
{
    const char *text = tpch_query_text(query);
    if (text == NULL || (strcmp(source, "table") != 0 && strcmp(source, "file") != 0)) {
        usage();
        return NULL;
    }
    char from[PATH_BYTES_MAX + 32];
    if (strcmp(source, "file") == 0)
        snprintf(from, sizeof(from), "read_parquet('%s/lineitem.parquet')", dir);
    else
        snprintf(from, sizeof(from), "lineitem");
    return tpch_query_with_source(text, from);
}

int main(int argc, char **argv)
{
    tarn_log_set_level(TARN_LOG_WARN);
    tarn_err err = TARN_ERR_INIT;
    int64_t rows, seed, runs, threads = 1;
    int rc;
    if (argc >= 5 && strcmp(argv[1], "prepare") == 0) {
        if (parse_count(argv[3], 0, GEN_ROWS_MAX, &rows) != 0 ||
            parse_count(argv[4], 0, INT64_MAX, &seed) != 0 ||
            (argc > 5 && strcmp(argv[5], "decimal") != 0))
            return usage();
        rc = prepare(argv[2], rows, (uint64_t)seed, argc > 5, &err);
    } else if (argc == 5 && strcmp(argv[1], "sql") == 0) {
        char *sql = statement(argv[2], argv[3], argv[4]);
        if (sql == NULL)
            return 2;
        printf("%s;\n", sql);
        free(sql);
        return 0;
    } else if (argc == 5 && strcmp(argv[1], "explain") == 0) {
        char *sql = statement(argv[2], argv[3], argv[4]);
        size_t n = sql ? strlen(sql) + 32 : 0;
        char *text = sql ? malloc(n) : NULL;
        if (text == NULL) {
            free(sql);
            return 2;
        }
        snprintf(text, n, "EXPLAIN ANALYZE %s", sql);
        rc = run(argv[2], text, 1, 1, &err);
        free(text);
        free(sql);
    } else if (argc == 5 && strcmp(argv[1], "exec") == 0) {
        if (parse_count(argv[3], 1, RUNS_MAX, &runs) != 0)
            return usage();
        rc = run(argv[2], argv[4], (int)runs, 1, &err);
    } else if (argc == 2 && strcmp(argv[1], "threads") == 0) {
        return has_threads() ? 0 : 1;
    } else if ((argc == 6 || argc == 7) && strcmp(argv[1], "run") == 0) {
        if (parse_count(argv[5], 1, RUNS_MAX, &runs) != 0 ||
            (argc == 7 && parse_count(argv[6], 1, THREADS_MAX, &threads) != 0))
            return usage();
        if (threads != 1 && !has_threads()) {
            fprintf(stderr, "tpch_sql: this build's SQL session has no thread setting (serial "
                            "plans only): THREADS must be 1\n");
            return 2;
        }
        char *sql = statement(argv[2], argv[3], argv[4]);
        if (sql == NULL)
            return 2;
        rc = run(argv[2], sql, (int)runs, (uint32_t)threads, &err);
        free(sql);
    } else {
        return usage();
    }
    if (rc != 0) {
        fprintf(stderr, "tpch_sql %s: %s\n", argv[1], tarn_err_msg(&err));
        return 1;
    }
    return 0;
}
