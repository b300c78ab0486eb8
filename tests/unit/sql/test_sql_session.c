/*
 * tests/unit/sql/test_sql_session.c: the binder, planner and session on a
 * real single-voter node and a file object store in a temp dir: binder
 * errors (position, message, suggestion), plan shapes (EXPLAIN), the
 * golden GROUP BY over several commits, snapshot isolation while other
 * sessions append and compact, the memory budget, time travel.
 */
#include "common/test_util.h"

#include "base/alloc.h"
#include "catalog/catalog.h"
#include "node/node.h"
#include "objstore/objstore.h"
#include "sql/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char *dir;
    node *node;
    objstore *os;
    sql_session *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("sql-session");
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(catalog_register(&reg), 0);
    tarn_err err = TARN_ERR_INIT;
    node_opts no = {.data_dir = f->dir, .durability = STORE_DURABLE_NONE, .rng_seed = 1};
    assert_int_equal(node_open(&no, &reg, &f->node, &err), 0);
    assert_int_equal(node_wait_leader(f->node, 10000, &err), 0);
    char url[4200];
    snprintf(url, sizeof(url), "%s/objects", f->dir);
    assert_int_equal(objstore_open(url, &f->os, &err), 0);
    sql_session_opts so = {.node = f->node, .store = f->os};
    assert_int_equal(sql_session_open(&so, &f->s, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sql_session_close(f->s);
    objstore_close(f->os);
    node_close(f->node);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- a sink that renders rows as text: "a|b\n" per row ---- */

typedef struct text_sink {
    tarn_buf out;
    char names[512];
    int batches;
    /* called after the first batch (snapshot isolation test) */
    void (*after_first)(void *ctx);
    void *ctx;
} text_sink;

static int ts_columns(void *ctx, uint32_t n, const char *const *names, const vec_type_info *t)
{
    (void)t;
    text_sink *s = ctx;
    s->names[0] = '\0';
    for (uint32_t i = 0; i < n; i++) {
        strncat(s->names, names[i], sizeof(s->names) - strlen(s->names) - 2);
        strcat(s->names, i + 1 < n ? "|" : "");
    }
    return 0;
}

static int ts_batch(void *ctx, const vec_batch *b)
{
    text_sink *s = ctx;
    uint32_t live = vec_batch_live_count(b);
    for (uint32_t k = 0; k < live; k++) {
        uint32_t r = b->sel_active ? b->sel[k] : k;
        for (uint32_t c = 0; c < b->ncols; c++) {
            bool q;
            if (c > 0)
                tarn_buf_append_byte(&s->out, '|');
            if (!vec_col_is_valid(&b->cols[c], r))
                tarn_buf_append_str(&s->out, "NULL");
            else
                sql_value_text(&s->out, &b->cols[c], r, &q);
        }
        tarn_buf_append_byte(&s->out, '\n');
    }
    if (s->batches++ == 0 && s->after_first)
        s->after_first(s->ctx);
    return 0;
}

static sql_sink sink_of(text_sink *t)
{
    tarn_buf_init(&t->out, TARN_BUF_UNBOUNDED);
    return (sql_sink){t, ts_columns, ts_batch, NULL};
}

/* Runs sql; on success returns the rows as text (caller frees). */
static char *run(fixture *f, const char *sql)
{
    text_sink t = {0};
    sql_sink k = sink_of(&t);
    sql_error e;
    int rc = sql_session_exec(f->s, sql, strlen(sql), &k, &e);
    if (rc != 0)
        fail_msg("%s: %s (line %u col %u)", sql, e.msg, e.pos.line, e.pos.col);
    char *s = strdup(tarn_buf_cstr(&t.out));
    tarn_buf_free(&t.out);
    return s;
}

static void expect(fixture *f, const char *sql, const char *rows)
{
    char *got = run(f, sql);
    if (strcmp(got, rows) != 0)
        fail_msg("%s\n--- got:\n%s--- want:\n%s", sql, got, rows);
    free(got);
}

/* Runs sql expecting an error: its code, column and parts of its text. */
static void expect_error(fixture *f, const char *sql, int code, uint32_t col, const char *msg_part,
                         const char *hint_part)
{
    sql_error e;
    int rc = sql_session_exec(f->s, sql, strlen(sql), NULL, &e);
    if (rc != code)
        fail_msg("%s: rc %d (%s), want %d", sql, rc, e.msg, code);
    if (col != 0 && e.pos.col != col)
        fail_msg("%s: error at column %u, want %u (%s)", sql, e.pos.col, col, e.msg);
    if (msg_part && strstr(e.msg, msg_part) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", sql, e.msg, msg_part);
    if (hint_part && strstr(e.hint, hint_part) == NULL)
        fail_msg("%s: hint \"%s\" lacks \"%s\"", sql, e.hint, hint_part);
}

/* ---- tests ---- */

static void test_golden_group_by(void **state)
{
    fixture *f = *state;
    free(run(f, "CREATE TABLE sales (region VARCHAR, item INT, qty BIGINT, price DECIMAL(10,2))"));
    /* three commits with deterministic rows */
    free(run(f, "INSERT INTO sales VALUES ('north', 1, 10, 2.50), ('south', 2, 5, 1.25), "
                "('north', 3, 7, 10.00)"));
    free(run(f, "INSERT INTO sales VALUES ('east', 4, 1, 0.99), ('south', 5, 20, 3.00), "
                "(NULL, 6, 2, 5.00)"));
    free(run(f, "INSERT INTO sales (region, item, qty) VALUES ('north', 7, 3), ('east', 8, NULL)"));
    expect(f,
           "SELECT region, count(*) AS n, count(qty), sum(qty) AS q, sum(price) FROM sales "
           "GROUP BY region ORDER BY region NULLS FIRST",
           "NULL|1|1|2|5.00\n"
           "east|2|1|1|0.99\n"
           "north|3|3|20|12.50\n"
           "south|2|2|25|4.25\n");
    expect(f, "SELECT count(*), sum(qty * price) FROM sales", "8|172.24\n");
    expect(f,
           "SELECT region, sum(qty) FROM sales WHERE item > 2 GROUP BY 1 HAVING sum(qty) > 2 "
           "ORDER BY 2 DESC",
           "south|20\nnorth|10\n");
    /* time travel: version 1 had the first commit only */
    expect(f, "SELECT count(*), sum(qty) FROM sales VERSION AS OF 1", "3|22\n");
    expect(f, "SELECT DISTINCT region FROM sales WHERE region IS NOT NULL ORDER BY 1",
           "east\nnorth\nsouth\n");
    expect(f,
           "WITH n AS (SELECT * FROM sales WHERE region = 'north') SELECT item FROM n "
           "ORDER BY qty DESC LIMIT 2 OFFSET 1",
           "3\n7\n");
    expect(f,
           "SELECT item FROM sales WHERE qty > 10 UNION ALL SELECT item + 100 FROM sales "
           "WHERE qty IS NULL ORDER BY 1",
           "5\n108\n");
}

static void test_binder_errors(void **state)
{
    fixture *f = *state;
    free(run(f, "CREATE TABLE t (alpha INT, beta VARCHAR)"));
    expect_error(f, "SELECT alpah FROM t", TARN_ENOENT, 8, "column \"alpah\" not found",
                 "did you mean \"alpha\"?");
    expect_error(f, "SELECT alpha FROM tt", TARN_ENOENT, 19, "table \"tt\" does not exist",
                 "did you mean \"t\"?");
    expect_error(f, "SELECT beta, count(*) FROM t", TARN_EINVAL, 8, "must appear in GROUP BY",
                 NULL);
    expect_error(f, "SELECT alpha FROM t WHERE count(*) > 1", TARN_EINVAL, 27,
                 "not allowed in WHERE", NULL);
    expect_error(f, "SELECT alpha + beta FROM t", TARN_EINVAL, 14, "cannot apply +", NULL);
    expect_error(f, "SELECT alpha FROM t WHERE beta", TARN_EINVAL, 27, "must be BOOLEAN", NULL);
    expect_error(f, "SELECT alpha FROM t ORDER BY 3", TARN_EINVAL, 30, "ORDER BY position 3", NULL);
    expect_error(f, "SELECT sum(sum(alpha)) FROM t", TARN_EINVAL, 12, "cannot be nested", NULL);
    expect_error(f, "SELECT alpha FROM t VERSION AS OF 7", TARN_ENOENT, 35, "has no version 7",
                 NULL);
    expect_error(f, "SELECT x.alpha FROM t AS y", TARN_ENOENT, 8, "table \"x\" is not in the FROM",
                 NULL);
    expect_error(f, "SELECT lenght(beta) FROM t", TARN_ENOENT, 8, "unknown function",
                 "did you mean \"length\"?");
    expect_error(f, "SELECT * FROM read_parquett('x')", TARN_ENOENT, 15, "unknown table function",
                 "read_parquet");
    expect_error(f, "INSERT INTO t (alpha, gamma) VALUES (1, 2)", TARN_ENOENT, 23,
                 "has no column \"gamma\"", NULL);
    expect_error(f, "INSERT INTO t VALUES (1)", TARN_EINVAL, 22, "1 values, 2 expected", NULL);
    expect_error(f, "CREATE TABLE t (a INT)", TARN_EEXIST, 14, "already exists", NULL);
    expect_error(f, "SELECT DISTINCT alpha FROM t ORDER BY beta", TARN_EINVAL, 39,
                 "must appear in the select list", NULL);
    expect_error(f, "SELECT 1 UNION ALL SELECT 1, 2", TARN_EINVAL, 20, "UNION ALL of 1 and 2",
                 NULL);
    /* after errors the session still works */
    expect(f, "SELECT count(*) FROM t", "0\n");
}

static void test_explain_plans(void **state)
{
    fixture *f = *state;
    free(run(f, "CREATE TABLE p (k VARCHAR, v INT, w DOUBLE) PARTITIONED BY (k)"));
    free(run(f, "INSERT INTO p VALUES ('a', 1, 1.0), ('b', 2, 2.0)"));
    free(run(f, "INSERT INTO p VALUES ('a', 3, 3.0), ('c', 4, 4.0)"));
    char *plan = run(f, "EXPLAIN SELECT k, sum(v) FROM p WHERE k = 'a' GROUP BY k ORDER BY 2 "
                        "DESC LIMIT 5");
    /* two stages cut at the aggregate; top-N; scan reads two columns,
     * prunes by the partition value */
    const char *want[] = {"stage 2 (result)",
                          "limit limit=5",
                          "sort keys=",
                          "limit=5",
                          "aggregate phase=final",
                          "exchange stage=1 partition_by=[0]",
                          "stage 1",
                          "aggregate phase=partial",
                          "filter pred=",
                          "scan p version 2 columns [k, v] prune [k = ?] files 4"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(plan, want[i]) == NULL)
            fail_msg("plan lacks \"%s\":\n%s", want[i], plan);
    assert_null(strstr(plan, ", w")); /* w is not read */
    free(plan);
    plan = run(f, "EXPLAIN ANALYZE SELECT k, sum(v) FROM p WHERE k = 'a' GROUP BY k");
    if (strstr(plan, "(read 2 after pruning)") == NULL || strstr(plan, "(rows 2,") == NULL)
        fail_msg("analyze lacks pruning or row counts:\n%s", plan);
    free(plan);
    plan = run(f, "EXPLAIN SELECT v FROM p WHERE v > 1");
    assert_null(strstr(plan, "stage 2"));
    free(plan);
}

/* Snapshot isolation: a query that started keeps reading its version
 * while another session appends and compacts between its batches. */
typedef struct iso_ctx {
    fixture *f;
    sql_session *other;
} iso_ctx;

static void append_meanwhile(void *ctx)
{
    iso_ctx *c = ctx;
    const char *sql = "INSERT INTO big SELECT v + 1000000 AS v FROM big; OPTIMIZE big";
    sql_error e;
    if (sql_session_exec(c->other, sql, strlen(sql), NULL, &e) != 0)
        fail_msg("concurrent writer: %s", e.msg);
}

static void test_snapshot_isolation(void **state)
{
    fixture *f = *state;
    free(run(f, "CREATE TABLE big (v BIGINT)"));
    /* several files, several batches */
    for (int i = 0; i < 4; i++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "INSERT INTO big SELECT v FROM (SELECT %d AS v) AS s", i);
        free(run(f, sql));
    }
    for (int i = 0; i < 4; i++)
        free(run(f, "INSERT INTO big SELECT v + 10 AS v FROM big"));
    expect(f, "SELECT count(*) FROM big", "64\n");
    tarn_err err = TARN_ERR_INIT;
    sql_session *other;
    sql_session_opts so = {.node = f->node, .store = f->os};
    assert_int_equal(sql_session_open(&so, &other, &err), 0);
    iso_ctx c = {f, other};
    text_sink t = {.after_first = append_meanwhile, .ctx = &c};
    sql_sink k = sink_of(&t);
    sql_error e;
    const char *q = "SELECT v FROM big";
    assert_int_equal(sql_session_exec(f->s, q, strlen(q), &k, &e), 0);
    size_t lines = 0;
    for (const char *p = tarn_buf_cstr(&t.out); *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 64); /* the 64 rows of its snapshot, not 128 */
    assert_true(t.batches >= 2);
    tarn_buf_free(&t.out);
    sql_session_close(other);
    expect(f, "SELECT count(*) FROM big", "128\n");
}

static void test_memory_budget(void **state)
{
    fixture *f = *state;
    free(run(f, "CREATE TABLE m (v BIGINT, s VARCHAR)"));
    free(run(f, "INSERT INTO m VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')"));
    for (int i = 0; i < 12; i++) /* 16384 rows */
        free(run(f, "INSERT INTO m SELECT v * 2 + 7 AS v, s FROM m"));
    sql_session_set_budget(f->s, 256 << 10);
    sql_error e;
    const char *q = "SELECT v, s, count(*) FROM m GROUP BY v, s ORDER BY v";
    /* the node's thread frees what the last commit left behind on its
     * own time: take the baseline once the count stays put */
    int64_t live = tarn_alloc_live_count();
    for (int i = 0; i < 100; i++) {
        usleep(20000);
        int64_t now = tarn_alloc_live_count();
        if (now == live)
            break;
        live = now;
    }
    assert_int_equal(sql_session_exec(f->s, q, strlen(q), NULL, &e), TARN_ENOMEM_BUDGET);
    assert_int_equal(e.code, TARN_ENOMEM_BUDGET);
    assert_non_null(strstr(e.msg, "budget"));
    /* everything released; the node's own thread may still be freeing
     * what the last commit's proposal left (a commit's waiter), so wait
     * for the count to settle */
    for (int i = 0; i < 500 && tarn_alloc_live_count() != live; i++)
        usleep(10000);
    assert_int_equal(tarn_alloc_live_count(), live);
    /* the next query runs */
    expect(f, "SELECT count(*) FROM m WHERE v = 1", "1\n");
    sql_session_set_budget(f->s, 0);
    char *all = run(f, "SELECT count(*) FROM (SELECT v, s, count(*) FROM m GROUP BY v, s) AS g");
    assert_string_not_equal(all, "0\n");
    free(all);
}

static void test_ddl_and_functions(void **state)
{
    fixture *f = *state;
    free(run(f, "CREATE TABLE d (id INT, s VARCHAR, day DATE, ts TIMESTAMP, x DOUBLE)"));
    free(run(f, "INSERT INTO d VALUES (1, 'Tarn', '2024-01-31', '2024-03-04 10:11:12', 0.1), "
                "(2, NULL, DATE '2023-12-01', NULL, -2.5)"));
    expect(f,
           "SELECT upper(s), length(s), substr(s, 2), s || '!', day + INTERVAL '1' MONTH, "
           "extract(year FROM day), CAST(x AS DECIMAL(6,2)), coalesce(s, 'none') FROM d "
           "ORDER BY id",
           "TARN|4|arn|Tarn!|2024-02-29 00:00:00|2024|0.10|Tarn\n"
           "NULL|NULL|NULL|NULL|2024-01-01 00:00:00|2023|-2.50|none\n");
    expect(f, "SELECT id FROM d WHERE day BETWEEN '2024-01-01' AND '2024-12-31'", "1\n");
    expect(f, "SELECT CASE WHEN x > 0 THEN 'pos' ELSE 'neg' END FROM d ORDER BY 1", "neg\npos\n");
    free(run(f, "CREATE TABLE d2 AS SELECT id, s FROM d WHERE id = 1"));
    expect(f, "SELECT * FROM d2", "1|Tarn\n");
    expect(f, "SHOW TABLES", "d\nd2\n");
    expect(f, "DESCRIBE d2", "id|INTEGER|true|false\ns|VARCHAR|true|false\n");
    free(run(f, "DELETE FROM d WHERE id = 2"));
    expect(f, "SELECT id FROM d", "1\n");
    expect(f, "SELECT count(*) FROM d VERSION AS OF 1", "2\n");
    char *h = run(f, "SELECT 1 FROM d2 LIMIT 0; DESCRIBE HISTORY d");
    assert_non_null(strstr(h, "2|"));
    assert_non_null(strstr(h, "DELETE"));
    free(h);
    free(run(f, "DROP TABLE d2"));
    expect(f, "SHOW TABLES", "d\n");
    free(run(f, "DROP TABLE IF EXISTS d2; CREATE TABLE d2 (z INT); INSERT INTO d2 VALUES (5)"));
    expect(f, "SELECT * FROM d2", "5\n");
}

static void test_joins_distinct(void **state)
{
    fixture *f = *state;
    free(run(f,
             "CREATE TABLE a (id INT, x VARCHAR); CREATE TABLE b (id BIGINT, aid INT, y DOUBLE)"));
    free(run(f, "INSERT INTO a VALUES (1, 'one'), (2, 'two'), (3, 'three'), (NULL, 'none')"));
    free(run(f, "INSERT INTO b VALUES (10, 1, 1.5), (11, 1, 2.5), (12, 2, NULL), (13, 9, 0.5), "
                "(14, NULL, 1.0)"));
    expect(f, "SELECT a.x, b.id FROM a JOIN b ON a.id = b.aid ORDER BY b.id",
           "one|10\none|11\ntwo|12\n");
    /* the ON condition's non-key part applies to pairs: unmatched rows stay */
    expect(f,
           "SELECT a.x, count(b.id) FROM a LEFT JOIN b ON a.id = b.aid AND b.y > 1 "
           "GROUP BY a.x ORDER BY 1",
           "none|0\none|2\nthree|0\ntwo|0\n");
    expect(f, "SELECT count(*) FROM a, b", "20\n");
    expect(f, "SELECT count(*) FROM a JOIN a AS a2 ON a.id = a2.id", "3\n");
    expect(f, "SELECT count(DISTINCT aid), sum(DISTINCT aid), count(aid) FROM b", "3|12|4\n");
    /* a plan whose root is the aggregate (DISTINCT without ORDER BY) is
     * freed whole (it leaked before the fix) */
    int64_t live = tarn_alloc_live_count();
    char *d = run(f, "SELECT DISTINCT aid FROM b");
    free(d);
    assert_int_equal(tarn_alloc_live_count(), live);
    char *plan = run(f, "EXPLAIN SELECT * FROM a JOIN b ON a.id = b.aid AND b.y > a.id");
    if (strstr(plan, "join type=inner left_keys=[0] right_keys=[1] residual=") == NULL)
        fail_msg("join plan:\n%s", plan);
    free(plan);
    /* keys of different types: the narrower side is cast in a projection
     * and still hashed (not a cross join with a filter) */
    free(run(f, "CREATE TABLE c (k BIGINT); INSERT INTO c VALUES (1), (3), (3), (7)"));
    expect(f, "SELECT a.x, c.k FROM a JOIN c ON a.id = c.k AND c.k > a.id - 1 ORDER BY 1",
           "one|1\nthree|3\nthree|3\n");
    plan = run(f, "EXPLAIN SELECT a.x FROM a JOIN c ON a.id = c.k");
    if (strstr(plan, "left_keys=[2] right_keys=[0]") == NULL)
        fail_msg("cast join key:\n%s", plan);
    free(plan);
    /* integer rules: INTEGER overflow and zero divisors are errors */
    expect(f, "SELECT 7 / 2, a.id + 1 FROM a WHERE a.id = 3", "3.5|4\n");
    expect_error(f, "SELECT 2147483647 + a.id FROM a", TARN_ERANGE, 0, "out of range", NULL);
    expect_error(f, "SELECT 1 / (a.id - a.id) FROM a", TARN_ERANGE, 0, "division by zero", NULL);
}

static void test_copy_files(void **state)
{
    fixture *f = *state;
    char csv[4300], json[4300], bad[4300], sql[9000];
    snprintf(csv, sizeof(csv), "%s/in.csv", f->dir);
    snprintf(json, sizeof(json), "%s/in.jsonl", f->dir);
    snprintf(bad, sizeof(bad), "%s/bad.csv", f->dir);
    const char *c = "id,name,amount,day\n1,alpha,1.50,2024-01-02\n"
                    "2,\"b, \"\"q\"\"\",,2024-02-03\r\n3,,2.25,\n";
    const char *j = "{\"id\": 4, \"name\": \"d\", \"amount\": 3.5, \"day\": \"2024-03-04\"}\n\n"
                    "{\"id\": 5, \"name\": null}\n";
    tarn_test_write_file(csv, c, strlen(c));
    tarn_test_write_file(json, j, strlen(j));
    tarn_test_write_file(bad, "x,a,1,2024-01-01\n", 17);
    free(run(f, "CREATE TABLE c (id INT, name VARCHAR, amount DECIMAL(8,2), day DATE)"));
    snprintf(sql, sizeof(sql), "COPY c FROM '%s'; COPY c FROM '%s' (FORMAT json)", csv, json);
    free(run(f, sql));
    expect(f, "SELECT * FROM c ORDER BY id",
           "1|alpha|1.50|2024-01-02\n2|b, \"q\"|NULL|2024-02-03\n3|NULL|2.25|NULL\n"
           "4|d|3.50|2024-03-04\n5|NULL|NULL|NULL\n");
    snprintf(sql, sizeof(sql), "COPY c FROM '%s'", bad);
    expect_error(f, sql, TARN_EINVAL, 0, "could not convert string 'x'", NULL);
    expect(f, "SELECT count(*) FROM c", "5\n"); /* nothing of the bad file landed */
}

/* Parallel plans: the same rows with 1 and 2 threads; EXPLAIN shows the
 * parallel node over stage 1 (or the filter/project chain), a LIMIT is
 * copied into the workers, and EXPLAIN ANALYZE adds up the workers'
 * rows. */
static void test_parallel_plans(void **state)
{
    fixture *f = *state;
    free(run(f, "CREATE TABLE t (k VARCHAR, v INT, d DATE)"));
    for (int i = 0; i < 5; i++) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO t VALUES ('k%d', %d, DATE '2024-01-0%d'), ('a', %d, NULL), "
                 "(NULL, NULL, DATE '2023-12-31')",
                 i % 3, i, i + 1, 10 * i);
        free(run(f, sql));
    }
    const char *queries[] = {
        "SELECT k, count(*), sum(v), min(v), max(d), count(d) FROM t GROUP BY k ORDER BY k",
        "SELECT v, k FROM t WHERE v > 3 ORDER BY v",
        "SELECT count(DISTINCT k) FROM t WHERE v >= 0",
        "SELECT count(*) FROM (SELECT v FROM t LIMIT 4) s",
        "SELECT k, count(DISTINCT v), sum(DISTINCT v), avg(DISTINCT v), count(*), sum(v), "
        "count(DISTINCT d), max(d) FROM t GROUP BY k ORDER BY k",
        "SELECT count(DISTINCT k), count(DISTINCT v), avg(v) FROM t",
        "SELECT count(DISTINCT k) FROM t WHERE v > 1000",
    };
    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
        sql_session_set_threads(f->s, 1);
        char *serial = run(f, queries[q]);
        sql_session_set_threads(f->s, 2);
        expect(f, queries[q], serial);
        free(serial);
    }
    char *plan = run(f, "EXPLAIN SELECT k, sum(v) FROM t WHERE v > 0 GROUP BY k");
    const char *want[] = {"stage 1\n  parallel workers=2\n    aggregate phase=partial",
                          "exchange stage=1"};
    for (size_t i = 0; i < 2; i++)
        if (strstr(plan, want[i]) == NULL)
            fail_msg("plan lacks \"%s\":\n%s", want[i], plan);
    free(plan);
    /* DISTINCT aggregates split into partial and final too */
    plan = run(f, "EXPLAIN SELECT k, count(DISTINCT v), sum(v) FROM t GROUP BY k");
    if (strstr(plan, "aggregate phase=final keys=[0] aggs=[{\"fn\":\"count\",\"col\":1,"
                     "\"distinct\":true}") == NULL ||
        strstr(plan, "  parallel workers=2\n    aggregate phase=partial") == NULL)
        fail_msg("count(DISTINCT) is not in a parallel partial/final plan:\n%s", plan);
    free(plan);
    plan = run(f, "EXPLAIN SELECT v FROM t WHERE v > 1 LIMIT 2");
    if (strstr(plan, "limit limit=2\n    parallel workers=2\n      limit limit=2\n") == NULL)
        fail_msg("the limit is not in the workers:\n%s", plan);
    free(plan);
    plan = run(f, "EXPLAIN ANALYZE SELECT k, count(*) FROM t GROUP BY k");
    if (strstr(plan, "columns [k] files 5 (read 5 after pruning)  (rows 15,") == NULL)
        fail_msg("the workers' scans do not add up to 15 rows:\n%s", plan);
    free(plan);
    sql_session_set_threads(f->s, 1);
    plan = run(f, "EXPLAIN SELECT k, sum(v) FROM t GROUP BY k");
    assert_null(strstr(plan, "parallel"));
    free(plan);
    /* serially, DISTINCT aggregates keep one phase (one set of pairs) */
    plan = run(f, "EXPLAIN SELECT k, count(DISTINCT v) FROM t GROUP BY k");
    if (strstr(plan, "phase=single") == NULL || strstr(plan, "stage 2") != NULL)
        fail_msg("a serial DISTINCT aggregate is split:\n%s", plan);
    free(plan);
    /* SET threads = N, in SQL */
    plan = run(f, "SET threads = 2; EXPLAIN SELECT k, sum(v) FROM t GROUP BY k");
    assert_non_null(strstr(plan, "parallel workers=2"));
    free(plan);
    assert_int_equal(sql_session_threads(f->s), 2);
    free(run(f, "SET threads = 1"));
    assert_int_equal(sql_session_threads(f->s), 1);
    expect_error(f, "SET thread = 2", TARN_ENOENT, 5, "unknown setting", "threads");
    expect_error(f, "SET threads = 65", TARN_ERANGE, 15, "0 (the online CPUs) to 64", NULL);
    expect_error(f, "SET threads 2", TARN_ESYNTAX, 13, "expected '='", NULL);
    /* a repeated subexpression is computed once, by a projection below */
    const char *cse = "SELECT k, sum(v * (v + 1)), sum(v * (v + 1) * 2), max(v + 1) FROM t "
                      "WHERE v >= 0 GROUP BY k ORDER BY k";
    expect(f, cse, "a|3100|6200|41\nk0|12|24|4\nk1|22|44|5\nk2|6|12|3\n");
    plan = run(f, "EXPLAIN SELECT v * (v + 1), v * (v + 1) * 2 FROM t");
    if (strstr(plan, "project exprs=[{\"col\":3},{\"op\":\"cast\"") == NULL ||
        strstr(plan, "project exprs=[{\"col\":0},{\"col\":1},{\"col\":2},{\"op\":\"cast\"") == NULL)
        fail_msg("the repeated v * (v + 1) is not computed once:\n%s", plan);
    free(plan);
}

/* A CAST into a narrower DECIMAL checks the precision after rounding to
 * the scale, from literals (folded only when they fit), columns, strings,
 * doubles and decimals of the same scale but more digits; a value that
 * does not fit fails only where a row is cast (DuckDB's rule). */
static void test_decimal_casts(void **state)
{
    fixture *f = *state;
    expect_error(f, "SELECT CAST(1234 AS DECIMAL(3,1))", TARN_ERANGE, 0,
                 "1234 is out of range for DECIMAL(3,1)", NULL);
    expect_error(f, "SELECT CAST(99.96 AS DECIMAL(3,1))", TARN_ERANGE, 0,
                 "99.96 is out of range for DECIMAL(3,1)", NULL);
    expect_error(f, "SELECT CAST(123.45 AS DECIMAL(5,3))", TARN_ERANGE, 0,
                 "123.45 is out of range for DECIMAL(5,3)", NULL);
    expect_error(f, "SELECT CAST(12345678901.5 AS DECIMAL(18,17))", TARN_ERANGE, 0,
                 "out of range for DECIMAL(18,17)", NULL);
    expect_error(f, "SELECT CAST('123.45' AS DECIMAL(3,1))", TARN_EINVAL, 0,
                 "could not convert string '123.45'", NULL);
    expect_error(f, "SELECT CAST(123.45::DOUBLE AS DECIMAL(3,1))", TARN_ERANGE, 0,
                 "123.45 is out of range for DECIMAL(3,1)", NULL);
    expect(f,
           "SELECT CAST(99 AS DECIMAL(3,1)), CAST(12.345 AS DECIMAL(3,1)), "
           "CAST(-0.05 AS DECIMAL(2,1)), CAST('9.95' AS DECIMAL(3,1)), CAST(99.94::DOUBLE AS "
           "DECIMAL(3,1)), CAST(1.5 AS DECIMAL(18,17))",
           "99.0|12.3|-0.1|10.0|99.9|1.50000000000000000\n");
    free(run(f, "CREATE TABLE dv (v DECIMAL(15,2), k INT); "
                "INSERT INTO dv VALUES (123.45, 1), (-0.5, 2), (NULL, 3)"));
    expect_error(f, "SELECT CAST(v AS DECIMAL(4,2)) FROM dv", TARN_ERANGE, 0,
                 "123.45 is out of range for DECIMAL(4,2)", NULL);
    expect(f, "SELECT CAST(v AS DECIMAL(5,2)), CAST(v AS DECIMAL(4,1)) FROM dv ORDER BY k",
           "123.45|123.5\n-0.50|-0.5\nNULL|NULL\n");
    expect_error(f, "SELECT CAST(CAST(v AS DECIMAL(4,1)) AS DECIMAL(3,1)) FROM dv", TARN_ERANGE, 0,
                 "123.5 is out of range for DECIMAL(3,1)", NULL);
    expect_error(f, "SELECT CAST(k * 100 AS DECIMAL(3,1)) FROM dv", TARN_ERANGE, 0,
                 "100 is out of range for DECIMAL(3,1)", NULL);
    /* only rows that are cast can fail */
    expect(f, "SELECT CASE WHEN k > 100 THEN CAST(1234 AS DECIMAL(3,1)) END FROM dv ORDER BY k",
           "NULL\nNULL\nNULL\n");
    expect(f, "SELECT CAST(v AS DECIMAL(4,2)) FROM dv WHERE k = 2", "-0.50\n");
    expect(f, "SELECT CAST(3000000000 AS INTEGER) FROM dv WHERE k > 5", "");
    expect_error(f, "SELECT CAST(3000000000 AS INTEGER) FROM dv", TARN_ERANGE, 0, "out of range",
                 NULL);
    /* writing into a narrower column checks it too */
    free(run(f, "CREATE TABLE dn (c DECIMAL(3,1))"));
    expect_error(f, "INSERT INTO dn VALUES (1234)", TARN_ERANGE, 0, "out of range for DECIMAL(3,1)",
                 NULL);
    expect_error(f, "INSERT INTO dn SELECT v FROM dv", TARN_ERANGE, 0,
                 "out of range for DECIMAL(3,1)", NULL);
    free(run(f, "INSERT INTO dn SELECT v FROM dv WHERE k > 1"));
    /* decimal arithmetic holds 18 digits, as DuckDB's 64-bit decimals */
    expect_error(f, "SELECT 999999999999999999::DECIMAL(18,0) + 1", TARN_ERANGE, 0,
                 "decimal overflow", NULL);
    expect_error(f, "SELECT v * 100000000000000::DECIMAL(18,0) FROM dv", TARN_ERANGE, 0,
                 "decimal overflow", NULL);
    /* with a BIGINT, DuckDB computes in 128 bits: here up to int64's range */
    expect(f, "SELECT v * 100000000000000 FROM dv ORDER BY k",
           "12345000000000000.00\n-50000000000000.00\nNULL\n");
    expect(f, "SELECT 999999999999999998::DECIMAL(18,0) + 1", "999999999999999999\n");
    expect(f, "SELECT c FROM dn", "-0.5\nNULL\n");
}

/* What exec evaluates since the binder first refused it: %, DATE - DATE,
 * min/max of strings. */
static void test_mod_date_diff_string_minmax(void **state)
{
    fixture *f = *state;
    expect(f, "SELECT 7 % 3, -7 % 3, 7 % -3, 7.5 % 2, 7 % 0, 5.5::DOUBLE % 2",
           "1|-1|1|1.5|NULL|1.5\n");
    expect(f, "SELECT DATE '2024-03-01' - DATE '2024-02-01', DATE '2024-01-01' - DATE '2024-03-01'",
           "29|-60\n");
    free(run(f, "CREATE TABLE m (s VARCHAR, d DATE, g INT)"));
    free(run(f, "INSERT INTO m VALUES ('pear', '2024-01-10', 1), ('apple', '2024-01-01', 1), "
                "(NULL, NULL, 1), ('zoo', '2023-12-31', 2)"));
    expect(f, "SELECT g, min(s), max(s), max(d) - min(d), sum(g % 2) FROM m GROUP BY g ORDER BY g",
           "1|apple|pear|9|3\n2|zoo|zoo|0|0\n");
    expect(f, "SELECT min(s), max(s) FROM m WHERE g > 5", "NULL|NULL\n");
    /* a constant date +/- days or months folds; compared with a DATE
     * column it stays a DATE comparison (no cast per row) and prunes */
    expect(f,
           "SELECT DATE '1998-12-01' - INTERVAL '90' DAY, DATE '2024-01-31' + INTERVAL '1' MONTH, "
           "DATE '2024-02-29' + INTERVAL '1' YEAR, DATE '2024-03-31' - INTERVAL '13' MONTH",
           "1998-09-02 00:00:00|2024-02-29 00:00:00|2025-02-28 00:00:00|2023-02-28 00:00:00\n");
    expect(f, "SELECT s FROM m WHERE d <= DATE '2024-01-11' - INTERVAL '1' DAY ORDER BY s",
           "apple\npear\nzoo\n");
    expect(f, "SELECT s FROM m WHERE DATE '2023-12-01' + INTERVAL '1' MONTH > d", "zoo\n");
    expect(f,
           "SELECT s FROM m WHERE d < TIMESTAMP '2024-01-01 00:00:01' + INTERVAL '1' DAY "
           "ORDER BY s",
           "apple\nzoo\n");
    /* constant arithmetic folds (Q6's bounds); an overflow still fails */
    expect(f, "SELECT 0.06 - 0.01, 0.06 + 0.01, 1.5 * 2.25, 2::BIGINT * 3, 0.1 * 3",
           "0.05|0.07|3.375|6|0.3\n");
    expect_error(f, "SELECT 9223372036854775807 + 1", TARN_ERANGE, 0, "overflow", NULL);
    char *fp = run(
        f, "EXPLAIN SELECT g FROM m WHERE g::DECIMAL(10,2) BETWEEN 0.06 - 0.01 AND 0.06 + 0.01");
    if (strstr(fp, "{\"const\":5,") == NULL || strstr(fp, "{\"const\":7,") == NULL)
        fail_msg("constant bounds not folded:\n%s", fp);
    free(fp);
    /* a widening cast of a constant folds as well (2 + 0.5 at scale 2) */
    fp = run(f, "EXPLAIN SELECT g FROM m WHERE g::DECIMAL(10,2) <= 2 + 0.5");
    if (strstr(fp, "{\"const\":250,\"type\":\"decimal64\",\"precision\":18,\"scale\":2}") == NULL)
        fail_msg("constant cast not folded:\n%s", fp);
    free(fp);
    expect(f, "SELECT g FROM m WHERE g::DECIMAL(10,2) <= 2 + 0.5 ORDER BY g", "1\n1\n1\n2\n");
    char *plan = run(f, "EXPLAIN SELECT s FROM m WHERE d <= DATE '2024-01-11' - INTERVAL '1' DAY");
    if (strstr(plan, "prune [d <= ?]") == NULL || strstr(plan, "cast") != NULL)
        fail_msg("not a pruning DATE comparison:\n%s", plan);
    free(plan);
    expect(f,
           "SELECT typeof_check FROM (SELECT d - DATE '2024-01-01' AS typeof_check FROM m) x "
           "WHERE typeof_check > 0",
           "9\n");
}

/* ---- INSERT ... SELECT reading its own target is not a blind append ---- */

typedef struct race_ctx {
    sql_session *other;
    const char *sql; /* run by `other` right before the next commit; once */
    int ran;
} race_ctx;

static void race_commit(void *ctx)
{
    race_ctx *c = ctx;
    if (c->sql == NULL)
        return;
    const char *q = c->sql;
    c->sql = NULL;
    sql_error e;
    assert_int_equal(sql_session_exec(c->other, q, strlen(q), NULL, &e), 0);
    c->ran++;
}

static void test_insert_reading_target(void **state)
{
    fixture *f = *state;
    free(run(f, "CREATE TABLE r (v BIGINT); CREATE TABLE src (v BIGINT)"));
    free(run(f, "INSERT INTO r VALUES (1), (2); INSERT INTO src VALUES (100)"));
    tarn_err err = TARN_ERR_INIT;
    sql_session *other, *a;
    race_ctx c = {0};
    sql_session_opts so = {.node = f->node, .store = f->os};
    assert_int_equal(sql_session_open(&so, &other, &err), 0);
    c.other = other;
    so.before_commit = race_commit;
    so.before_commit_ctx = &c;
    assert_int_equal(sql_session_open(&so, &a, &err), 0);
    /* Reads of the target, directly and through a subquery, a CTE and a
     * join: each is refused when another commit lands between its read
     * and its commit, and writes nothing. */
    const char *reads[] = {
        "INSERT INTO r SELECT v + 10 FROM r",
        "INSERT INTO r SELECT max(v) + 1 FROM (SELECT v FROM r WHERE v > 0) AS s",
        "INSERT INTO r WITH m AS (SELECT count(*) AS n FROM r) SELECT n FROM m",
        "INSERT INTO r SELECT src.v FROM src JOIN r ON src.v > r.v",
    };
    int64_t want = 2;
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        c.sql = "INSERT INTO r VALUES (1000)";
        c.ran = 0;
        sql_error e;
        int rc = sql_session_exec(a, reads[i], strlen(reads[i]), NULL, &e);
        if (rc != TARN_ECONFLICT)
            fail_msg("%s: rc %d (%s), want a conflict", reads[i], rc, e.msg);
        assert_int_equal(c.ran, 1);
        assert_non_null(strstr(e.msg, "changed while this statement read it"));
        assert_non_null(strstr(e.msg, "run the statement again"));
        want++; /* only the racing row */
        char q[64], rows[32];
        snprintf(q, sizeof(q), "SELECT count(*) FROM r");
        snprintf(rows, sizeof(rows), "%lld\n", (long long)want);
        expect(f, q, rows);
    }
    /* Not racing, the same statement commits on the version it read. */
    c.sql = NULL;
    const char *self = "INSERT INTO r SELECT v + 10 FROM r WHERE v < 3";
    sql_error e;
    assert_int_equal(sql_session_exec(a, self, strlen(self), NULL, &e), 0);
    expect(f, "SELECT v FROM r ORDER BY v", "1\n2\n11\n12\n1000\n1000\n1000\n1000\n");
    /* Blind appends still land on a stale base: VALUES, a query of
     * another table, and time travel to a fixed version of the target. */
    const char *blind[] = {
        "INSERT INTO r VALUES (5)",
        "INSERT INTO r SELECT v FROM src",
        "INSERT INTO r SELECT v + 7 FROM r VERSION AS OF 1",
    };
    for (size_t i = 0; i < sizeof(blind) / sizeof(blind[0]); i++) {
        c.sql = "INSERT INTO r VALUES (1000)";
        c.ran = 0;
        if (sql_session_exec(a, blind[i], strlen(blind[i]), NULL, &e) != 0)
            fail_msg("%s: %s", blind[i], e.msg);
        assert_int_equal(c.ran, 1);
    }
    c.sql = NULL;
    expect(f, "SELECT v FROM r WHERE v < 1000 ORDER BY v", "1\n2\n5\n8\n9\n11\n12\n100\n");
    expect(f, "SELECT count(*) FROM r WHERE v = 1000", "7\n");
    sql_session_close(a);
    sql_session_close(other);
}

/* ---- cancellation ---- */

static void cancel_session(void *ctx)
{
    sql_session_cancel(ctx);
}

static void test_cancel(void **state)
{
    fixture *f = *state;
    free(run(f, "CREATE TABLE cq (v BIGINT); INSERT INTO cq VALUES (1), (2), (3), (4)"));
    for (int i = 0; i < 11; i++) /* 8192 rows, several batches */
        free(run(f, "INSERT INTO cq SELECT v + 10 FROM cq"));
    int64_t live = tarn_alloc_live_count();
    for (int i = 0; i < 100; i++) {
        usleep(20000);
        int64_t now = tarn_alloc_live_count();
        if (now == live)
            break;
        live = now;
    }
    /* Cancelled at its first batch, a query stops at the next one (serial
     * and parallel plans, a blocking sort above the scan too), the script's
     * later statements do not run, everything is released. */
    const char *qs[] = {"SELECT v FROM cq; INSERT INTO cq VALUES (0)",
                        "SET threads = 1; SELECT v FROM cq; INSERT INTO cq VALUES (0)"};
    for (size_t i = 0; i < 2; i++) {
        text_sink t = {.after_first = cancel_session, .ctx = f->s};
        sql_sink k = sink_of(&t);
        sql_error e;
        assert_int_equal(sql_session_exec(f->s, qs[i], strlen(qs[i]), &k, &e), TARN_ECLOSED);
        assert_non_null(strstr(e.msg, "query cancelled"));
        assert_int_equal(t.batches, 1);
        tarn_buf_free(&t.out);
        assert_true(sql_session_cancelled(f->s));
        /* still cancelled: nothing runs until cleared */
        expect_error(f, "SELECT 1", TARN_ECLOSED, 0, "query cancelled", NULL);
        sql_session_cancel_clear(f->s);
        for (int w = 0; w < 500 && tarn_alloc_live_count() != live; w++)
            usleep(10000);
        assert_int_equal(tarn_alloc_live_count(), live);
    }
    sql_session_set_threads(f->s, 0);
    /* a cancelled aggregation, and an INSERT cancelled before its commit */
    sql_session_cancel(f->s);
    expect_error(f, "SELECT v % 7, count(*) FROM cq GROUP BY 1", TARN_ECLOSED, 0, "query cancelled",
                 NULL);
    sql_session_cancel_clear(f->s);
    expect(f, "SELECT count(*) FROM cq WHERE v = 0", "0\n");
    expect(f, "SELECT count(*) FROM cq", "8192\n");
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_golden_group_by, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binder_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explain_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ddl_and_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_joins_distinct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decimal_casts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mod_date_diff_string_minmax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_reading_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
