/* Tests of the parser: canonical forms for precedence and every statement
 * kind, TPC-H Q1, the JSON form, positions, limits and out-of-memory. */
#include "common/test_util.h"
#include "sql_test_util.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/error.h"
#include "sql/sql.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SELECT <expr> -> the canonical form of <expr>. */
static void expect_expr(const char *expr, const char *want)
{
    char sql[1024], full[2048];
    snprintf(sql, sizeof(sql), "SELECT %s", expr);
    snprintf(full, sizeof(full), "(query (select (items %s)))", want);
    sqlt_expect(sql, full);
}

static void test_precedence(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"a OR b AND NOT c = d + e * f", "(or a (and b (not (= c (+ d (* e f))))))"},
        {"a + b - c", "(- (+ a b) c)"},
        {"a - b - c", "(- (- a b) c)"},
        {"a * b / c % d", "(% (/ (* a b) c) d)"},
        {"a - b * c", "(- a (* b c))"},
        {"(a - b) * c", "(* (- a b) c)"},
        {"a OR b OR c", "(or (or a b) c)"},
        {"a AND b OR c AND d", "(or (and a b) (and c d))"},
        {"NOT a AND b", "(and (not a) b)"},
        {"NOT NOT a", "(not (not a))"},
        {"NOT a = b", "(not (= a b))"},
        {"-a * b", "(* (neg a) b)"},
        {"- - a", "(neg (neg a))"},
        {"-a::int", "(neg (cast a int))"},
        {"+a", "(pos a)"},
        {"a || b || c", "(|| (|| a b) c)"},
        {"a || b + c", "(|| a (+ b c))"},
        {"a = b || c", "(= a (|| b c))"},
        {"a < b = c", "(= (< a b) c)"},
        {"a <> b", "(<> a b)"},
        {"a != b", "(<> a b)"},
        {"a <= b AND a >= c AND a > d", "(and (and (<= a b) (>= a c)) (> a d))"},
        {"a IS NULL", "(is-null a)"},
        {"a IS NOT NULL AND b", "(and (is-not-null a) b)"},
        {"a = b IS NULL", "(is-null (= a b))"},
        {"NOT a IS NULL", "(not (is-null a))"},
        {"a BETWEEN 1 AND 2 AND b", "(and (between a 1 2) b)"},
        {"a NOT BETWEEN b + 1 AND c * 2", "(not-between a (+ b 1) (* c 2))"},
        {"a + 1 BETWEEN b AND c", "(between (+ a 1) b c)"},
        {"a IN (1, 2, 3)", "(in a (list 1 2 3))"},
        {"a NOT IN ('x')", "(not-in a (list 'x'))"},
        {"a LIKE 'x%' OR b NOT LIKE '_y'", "(or (like a 'x%') (not-like b '_y'))"},
        {"a = 1 OR a IN (2) AND NOT a LIKE 'z'",
         "(or (= a 1) (and (in a (list 2)) (not (like a 'z'))))"},
        {"a::bigint::double", "(cast (cast a bigint) double)"},
        {"(a + b)::varchar(10)", "(cast (+ a b) varchar(10))"},
        {"CAST(a AS DECIMAL(15, 2))", "(cast a decimal(15,2))"},
        {"CAST(a AS double precision)", "(cast a double)"},
        {"CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END", "(case (when a 1) (when b 2) (else 3))"},
        {"CASE x WHEN 1 THEN 'one' END", "(case x (when 1 'one'))"},
        {"coalesce(a, b, 0)", "(call coalesce a b 0)"},
        {"count(*)", "(call count *)"},
        {"COUNT(DISTINCT x)", "(call count distinct x)"},
        {"sum(ALL x)", "(call sum x)"},
        {"now()", "(call now)"},
        {"extract(YEAR FROM d)", "(extract year d)"},
        {"date_trunc('month', ts)", "(call date_trunc 'month' ts)"},
        {"substr(s, 1, 3) || lower(t.s)", "(|| (call substr s 1 3) (call lower t.s))"},
        {"DATE '1998-12-01' - INTERVAL '90' DAY", "(- (date '1998-12-01') (interval '90' day))"},
        {"TIMESTAMP '2026-11-01 10:00:00'", "(timestamp '2026-11-01 10:00:00')"},
        {"INTERVAL '3' months", "(interval '3' month)"},
        {"NULL, TRUE, false", "null true false"},
        {"1, 1.50, .5, 1e3, 2.5E-3, 99999999999999999999",
         "1 1.50 .5 1e3 2.5E-3 99999999999999999999"},
        {"'it''s'", "'it''s'"},
        {"\"Mixed Case\", MixedCase, \"a\"\"b\"", "\"Mixed Case\" mixedcase \"a\"\"b\""},
        {"date, version, first", "\"date\" \"version\" \"first\""},
        {"t.a, \"T\".\"A\"", "t.a \"T\".\"A\""},
        {"a % b", "(% a b)"},
        {"((((a))))", "a"},
    };
    for (size_t i = 0; i < TARN_ARRAY_LEN(cases); i++)
        expect_expr(cases[i][0], cases[i][1]);
}

static void test_queries(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"select * from t", "(query (select (items *) (from (table t))))"},
        {"SELECT DISTINCT t.*, a AS x, b y FROM t",
         "(query (select distinct (items t.* (as a x) (as b y)) (from (table t))))"},
        {"SELECT a FROM t AS u WHERE a > 1 GROUP BY a, b HAVING count(*) > 2",
         "(query (select (items a) (from (table t (alias u))) (where (> a 1)) (group-by a b) "
         "(having (> (call count *) 2))))"},
        {"SELECT a FROM t ORDER BY a DESC NULLS FIRST, b, c ASC NULLS LAST LIMIT 10 OFFSET 5",
         "(query (select (items a) (from (table t))) (order-by (desc a nulls-first) (asc b) "
         "(asc c nulls-last)) (limit 10) (offset 5))"},
        {"SELECT a FROM t OFFSET 2 LIMIT 1",
         "(query (select (items a) (from (table t))) (limit 1) (offset 2))"},
        {"SELECT * FROM t VERSION AS OF 3", "(query (select (items *) (from (table t "
                                            "(version-as-of 3)))))"},
        {"SELECT * FROM t TIMESTAMP AS OF '2026-11-01 10:00:00' x",
         "(query (select (items *) (from (table t (timestamp-as-of '2026-11-01 10:00:00') "
         "(alias x)))))"},
        {"SELECT * FROM read_parquet('/d/f.parquet') p, delta_scan('dir')",
         "(query (select (items *) (from (join cross (table-func read_parquet '/d/f.parquet' "
         "(alias p)) (table-func delta_scan 'dir')))))"},
        {"SELECT * FROM a JOIN b ON a.k = b.k LEFT OUTER JOIN c ON b.k = c.k INNER JOIN d ON 1 = 1",
         "(query (select (items *) (from (join inner (join left (join inner (table a) (table b) "
         "(= a.k b.k)) (table c) (= b.k c.k)) (table d) (= 1 1)))))"},
        {"SELECT * FROM a LEFT JOIN b ON x CROSS JOIN c",
         "(query (select (items *) (from (join cross (join left (table a) (table b) x) "
         "(table c)))))"},
        {"SELECT s.n FROM (SELECT 1 AS n) s",
         "(query (select (items s.n) (from (derived (query (select (items (as 1 n)))) "
         "(alias s)))))"},
        {"WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b",
         "(query (with (cte a (query (select (items 1)))) (cte b (query (select (items *) "
         "(from (table a)))))) (select (items *) (from (table b))))"},
        {"SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 ORDER BY 1",
         "(query (union-all (union-all (select (items 1)) (select (items 2))) "
         "(select (items 3))) (order-by (asc 1)))"},
        {"(SELECT 1) UNION ALL (SELECT 2 LIMIT 1)",
         "(query (union-all (query (select (items 1))) (query (select (items 2)) (limit 1))))"},
        {"SELECT 1;;SELECT 2;", "(query (select (items 1)))\n(query (select (items 2)))"},
    };
    for (size_t i = 0; i < TARN_ARRAY_LEN(cases); i++)
        sqlt_expect(cases[i][0], cases[i][1]);
}

static void test_statements(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR, s varchar(20), p DECIMAL(15,2), "
         "d DATE, ts TIMESTAMP, b BOOLEAN, x TINYINT, y SMALLINT, z INTEGER, w INT, r REAL, "
         "f DOUBLE PRECISION, g TEXT, h STRING, k DECIMAL) PARTITIONED BY (d, b)",
         "(create-table t (columns (id bigint not-null) (name varchar) (s varchar(20)) "
         "(p decimal(15,2)) (d date) (ts timestamp) (b boolean) (x tinyint) (y smallint) "
         "(z int) (w int) (r real) (f double) (g varchar) (h varchar) (k decimal(18,0))) "
         "(partitioned-by d b))"},
        {"create table if not exists \"T\" (a int)",
         "(create-table \"T\" if-not-exists (columns (a int)))"},
        {"CREATE TABLE t2 AS SELECT a FROM t",
         "(create-table t2 (as (query (select (items a) (from (table t))))))"},
        {"INSERT INTO t VALUES (1, 'a'), (2, NULL)",
         "(insert t (values (row 1 'a') (row 2 null)))"},
        {"INSERT INTO t (a, b) SELECT x, y FROM u",
         "(insert t (columns a b) (query (select (items x y) (from (table u)))))"},
        {"INSERT INTO t (SELECT 1)", "(insert t (query (query (select (items 1)))))"},
        {"COPY t FROM '/data/x.csv'", "(copy t '/data/x.csv')"},
        {"COPY t FROM 'x.parquet' (FORMAT PARQUET)", "(copy t 'x.parquet' (format parquet))"},
        {"copy t from 'x' (format json)", "(copy t 'x' (format json))"},
        {"DELETE FROM t WHERE a < 3", "(delete t (where (< a 3)))"},
        {"DELETE FROM t", "(delete t)"},
        {"DROP TABLE t", "(drop-table t)"},
        {"DROP TABLE IF EXISTS t", "(drop-table t if-exists)"},
        {"SHOW TABLES", "(show-tables)"},
        {"DESCRIBE t", "(describe t)"},
        {"DESCRIBE HISTORY t", "(describe-history t)"},
        {"DESCRIBE history", "(describe \"history\")"},
        {"OPTIMIZE t", "(optimize t)"},
        {"VACUUM t", "(vacuum t)"},
        {"VACUUM t RETAIN 168 HOURS", "(vacuum t (retain-hours 168))"},
        {"SET threads = 2", "(set threads 2)"},
        {"set THREADS=0", "(set threads 0)"},
        {"EXPLAIN SELECT 1", "(explain (query (select (items 1))))"},
        {"EXPLAIN ANALYZE SELECT a FROM t",
         "(explain analyze (query (select (items a) (from (table t)))))"},
    };
    for (size_t i = 0; i < TARN_ARRAY_LEN(cases); i++)
        sqlt_expect(cases[i][0], cases[i][1]);
}

static const char *const tpch_q1 =
    "-- TPC-H Q1: pricing summary report\n"
    "select\n"
    "    l_returnflag,\n"
    "    l_linestatus,\n"
    "    sum(l_quantity) as sum_qty,\n"
    "    sum(l_extendedprice) as sum_base_price,\n"
    "    sum(l_extendedprice * (1 - l_discount)) as sum_disc_price,\n"
    "    sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge,\n"
    "    avg(l_quantity) as avg_qty,\n"
    "    avg(l_extendedprice) as avg_price,\n"
    "    avg(l_discount) as avg_disc,\n"
    "    count(*) as count_order\n"
    "from\n"
    "    lineitem\n"
    "where\n"
    "    l_shipdate <= date '1998-12-01' - interval '90' day\n"
    "group by\n"
    "    l_returnflag,\n"
    "    l_linestatus\n"
    "order by\n"
    "    l_returnflag,\n"
    "    l_linestatus;\n";

static void test_tpch_q1(void **state)
{
    (void)state;
    sqlt_expect(tpch_q1,
                "(query (select (items l_returnflag l_linestatus "
                "(as (call sum l_quantity) sum_qty) "
                "(as (call sum l_extendedprice) sum_base_price) "
                "(as (call sum (* l_extendedprice (- 1 l_discount))) sum_disc_price) "
                "(as (call sum (* (* l_extendedprice (- 1 l_discount)) (+ 1 l_tax))) sum_charge) "
                "(as (call avg l_quantity) avg_qty) "
                "(as (call avg l_extendedprice) avg_price) "
                "(as (call avg l_discount) avg_disc) "
                "(as (call count *) count_order)) "
                "(from (table lineitem)) "
                "(where (<= l_shipdate (- (date '1998-12-01') (interval '90' day)))) "
                "(group-by l_returnflag l_linestatus)) "
                "(order-by (asc l_returnflag) (asc l_linestatus)))");
}

/* Q6 (in the benchmark): BETWEEN bounds with arithmetic inside an AND
 * chain; Q3: comma joins, ORDER BY ... LIMIT. */
static void test_tpch_q6_q3(void **state)
{
    (void)state;
    sqlt_expect("select sum(l_extendedprice * l_discount) as revenue from lineitem\n"
                "where l_shipdate >= date '1994-01-01'\n"
                "  and l_shipdate < date '1994-01-01' + interval '1' year\n"
                "  and l_discount between .06 - 0.01 and .06 + 0.01\n"
                "  and l_quantity < 24;",
                "(query (select (items (as (call sum (* l_extendedprice l_discount)) revenue)) "
                "(from (table lineitem)) (where (and (and (and (>= l_shipdate (date "
                "'1994-01-01')) (< l_shipdate (+ (date '1994-01-01') (interval '1' year)))) "
                "(between l_discount (- .06 0.01) (+ .06 0.01))) (< l_quantity 24)))))");
    sqlt_expect("select l_orderkey, sum(l_extendedprice * (1 - l_discount)) as revenue\n"
                "from customer, orders, lineitem\n"
                "where c_mktsegment = 'BUILDING' and c_custkey = o_custkey\n"
                "group by l_orderkey order by revenue desc limit 10",
                "(query (select (items l_orderkey (as (call sum (* l_extendedprice (- 1 "
                "l_discount))) revenue)) (from (join cross (join cross (table customer) (table "
                "orders)) (table lineitem))) (where (and (= c_mktsegment 'BUILDING') (= c_custkey "
                "o_custkey))) (group-by l_orderkey)) (order-by (desc revenue)) (limit 10))");
}

static sql_script *parse_ok(const char *sql)
{
    sql_script *s = NULL;
    sql_error e;
    int rc = sql_parse(sql, strlen(sql), &s, &e);
    if (rc != 0)
        fail_msg("parse of <%s> failed: %s", sql, e.msg);
    return s;
}

/* Positions, names as written and folded, literal values: what the binder
 * reads besides the shape. */
static void test_tree_details(void **state)
{
    (void)state;
    sql_script *s = parse_ok("SELECT\n  \"Col\" + Abc, DATE '2000-03-01', 42, 4.25,\n"
                             "  TIMESTAMP '1970-01-02 00:00:01.5', INTERVAL '-3' hours\n"
                             "FROM T");
    assert_int_equal(s->count, 1);
    const sql_node *q = s->stmts[0];
    assert_int_equal(q->kind, SQL_QUERY);
    assert_int_equal(s->stmt_end[0], strlen("SELECT\n  \"Col\" + Abc, DATE '2000-03-01', 42, "
                                            "4.25,\n  TIMESTAMP '1970-01-02 00:00:01.5', "
                                            "INTERVAL '-3' hours\nFROM T"));
    const sql_node *sel = q->u.query.body;
    const sql_list *items = &sel->u.select.items;
    assert_int_equal(items->count, 6);
    const sql_node *plus = items->items[0]->u.item.expr;
    assert_int_equal(plus->kind, SQL_BINARY);
    assert_int_equal(plus->pos.line, 2);
    assert_int_equal(plus->pos.col, 3);
    assert_int_equal(plus->pos.offset, 9);
    assert_int_equal(plus->op_pos.line, 2);
    assert_int_equal(plus->op_pos.col, 9); /* the '+' */
    const sql_name *col = &plus->u.binary.left->u.column.column;
    assert_string_equal(col->text, "Col");
    assert_string_equal(col->folded, "Col");
    assert_true(col->quoted);
    const sql_name *abc = &plus->u.binary.right->u.column.column;
    assert_string_equal(abc->text, "Abc");
    assert_string_equal(abc->folded, "abc");
    assert_false(abc->quoted);
    assert_int_equal(abc->pos.col, 11);
    const sql_node *d = items->items[1]->u.item.expr;
    assert_int_equal(d->u.lit.kind, SQL_LIT_DATE);
    assert_int_equal(d->u.lit.ival, 11017); /* 2000-03-01, after a leap day */
    assert_string_equal(d->u.lit.str, "2000-03-01");
    assert_int_equal(items->items[2]->u.item.expr->u.lit.ival, 42);
    const sql_node *dec = items->items[3]->u.item.expr;
    assert_int_equal(dec->u.lit.kind, SQL_LIT_DECIMAL);
    assert_string_equal(dec->u.lit.text, "4.25");
    assert_true(dec->u.lit.dval == 4.25);
    const sql_node *ts = items->items[4]->u.item.expr;
    assert_int_equal(ts->u.lit.ival, INT64_C(86401500000));
    assert_int_equal(ts->pos.line, 3);
    const sql_node *iv = items->items[5]->u.item.expr;
    assert_int_equal(iv->u.lit.ival, -3);
    assert_int_equal(iv->u.lit.unit, SQL_UNIT_HOUR);
    const sql_node *t = sel->u.select.from;
    assert_string_equal(t->u.table.name.folded, "t");
    assert_int_equal(t->pos.line, 4);
    assert_int_equal(t->pos.col, 6);
    sql_script_free(s);
}

static void test_json(void **state)
{
    (void)state;
    sql_script *s = parse_ok(tpch_q1);
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    assert_int_equal(sql_print_json(s->stmts[0], &b), 0);
    json_error_t jerr;
    json_t *j = json_loads(tarn_buf_cstr(&b), 0, &jerr);
    if (j == NULL)
        fail_msg("invalid JSON (%s): %s", jerr.text, tarn_buf_cstr(&b));
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "query");
    json_t *body = json_object_get(j, "body");
    assert_string_equal(json_string_value(json_object_get(body, "kind")), "select");
    json_t *where = json_object_get(body, "where");
    assert_string_equal(json_string_value(json_object_get(where, "op")), "<=");
    json_t *date = json_object_get(json_object_get(where, "right"), "left");
    assert_string_equal(json_string_value(json_object_get(date, "type")), "date");
    assert_int_equal(json_integer_value(json_object_get(date, "days")), 10561);
    json_t *pos = json_object_get(where, "pos");
    assert_int_equal(json_integer_value(json_object_get(pos, "line")), 16);
    assert_int_equal(json_integer_value(json_object_get(pos, "col")), 5);
    json_t *op_pos = json_object_get(where, "op_pos");
    assert_int_equal(json_integer_value(json_object_get(op_pos, "col")), 16); /* the <= */
    json_t *items = json_object_get(body, "items");
    assert_int_equal(json_array_size(items), 10);
    json_t *alias = json_object_get(json_array_get(items, 2), "alias");
    assert_string_equal(json_string_value(json_object_get(alias, "folded")), "sum_qty");
    json_decref(j);
    tarn_buf_free(&b);
    sql_script_free(s);
}

/* Builds prefix + middle*n + suffix (caller frees). */
static char *repeat(const char *prefix, const char *middle, size_t n, const char *suffix)
{
    size_t len = strlen(prefix) + strlen(middle) * n + strlen(suffix);
    char *s = malloc(len + 1);
    assert_non_null(s);
    char *p = s;
    p += sprintf(p, "%s", prefix);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s", middle);
    sprintf(p, "%s", suffix);
    return s;
}

static void expect_code(const char *sql, size_t len, int code, const char *msg_part)
{
    sql_script *s = NULL;
    sql_error e;
    assert_int_equal(sql_parse(sql, len, &s, &e), code);
    assert_null(s);
    assert_int_equal(e.code, code);
    if (strstr(e.msg, msg_part) == NULL)
        fail_msg("message <%s> lacks <%s>", e.msg, msg_part);
}

static void test_limits(void **state)
{
    (void)state;
    /* 10,000 nested parentheses: an error at the 201st, not a crash. */
    char *s = repeat("SELECT ", "(", 10000, "1");
    expect_code(s, strlen(s), TARN_ETOOBIG, "nested too deeply (more than 200 levels)");
    free(s);
    s = repeat("SELECT ", "NOT ", 10000, "a");
    expect_code(s, strlen(s), TARN_ETOOBIG, "nested too deeply");
    free(s);
    s = repeat("SELECT ", "- ", 10000, "a");
    expect_code(s, strlen(s), TARN_ETOOBIG, "nested too deeply");
    free(s);
    s = repeat("SELECT * FROM ", "(SELECT * FROM ", 1000, "t");
    expect_code(s, strlen(s), TARN_ETOOBIG, "nested too deeply");
    free(s);
    /* A long flat chain is parsed by a loop, but its tree is deep: refused
     * by the depth check so printers and the binder stay bounded. */
    s = repeat("SELECT a", " + a", 20000, "");
    expect_code(s, strlen(s), TARN_ETOOBIG, "expression nested too deeply (more than 500");
    free(s);
    /* ... while a chain within the limit parses. */
    s = repeat("SELECT a", " OR a", 400, "");
    sql_script_free(parse_ok(s));
    free(s);
    /* Statement size: 1 MiB parses, one byte more does not. */
    size_t big = SQL_TEXT_MAX_BYTES;
    s = malloc(big + 2);
    assert_non_null(s);
    memset(s, ' ', big + 1);
    memcpy(s, "SELECT 1", 8);
    sql_script *ok = NULL;
    assert_int_equal(sql_parse(s, big, &ok, NULL), 0);
    assert_int_equal(ok->count, 1);
    sql_script_free(ok);
    expect_code(s, big + 1, TARN_ETOOBIG, "exceeds the limit");
    free(s);
    /* Nothing to parse is an empty script. */
    sql_script *empty = NULL;
    assert_int_equal(sql_parse(NULL, 0, &empty, NULL), 0);
    assert_int_equal(empty->count, 0);
    sql_script_free(empty);
    assert_int_equal(sql_parse(" ;; -- nothing\n", 15, &empty, NULL), 0);
    assert_int_equal(empty->count, 0);
    sql_script_free(empty);
    /* Identifier length. */
    s = repeat("SELECT ", "x", 256, "");
    expect_code(s, strlen(s), TARN_ETOOBIG, "identifier longer than 255 bytes");
    free(s);
    s = repeat("SELECT ", "x", 255, "");
    sql_script_free(parse_ok(s));
    free(s);
    /* A list longer than SQL_LIST_MAX. */
    s = repeat("SELECT 1 IN (0", ",1", SQL_LIST_MAX, ")");
    expect_code(s, strlen(s), TARN_ETOOBIG, "list longer than");
    free(s);
}

static const char *const medium_query =
    "WITH r AS (SELECT a, sum(b) AS s FROM read_parquet('x.parquet') GROUP BY a)\n"
    "SELECT DISTINCT r.a, CASE WHEN s > 10 THEN 'big' ELSE 'small' END AS size,\n"
    "  CAST(s AS DECIMAL(10,2)) * 2, extract(year FROM DATE '2020-01-01')\n"
    "FROM r LEFT JOIN t VERSION AS OF 2 u ON r.a = u.a\n"
    "WHERE u.b IS NOT NULL AND r.a NOT IN (1, 2, 3) AND u.c LIKE 'x%'\n"
    "ORDER BY 1 DESC NULLS LAST LIMIT 5;\n"
    "INSERT INTO t (a, b) VALUES (1, 'one'), (2, 'two');\n"
    "CREATE TABLE z (a INT, b VARCHAR(3)) PARTITIONED BY (a)";

static int oom_op(void *ctx)
{
    sql_script **out = ctx;
    return sql_parse(medium_query, strlen(medium_query), out, NULL);
}

static void oom_cleanup(void *ctx)
{
    sql_script **out = ctx;
    sql_script_free(*out);
    *out = NULL;
}

/* A query big enough for many arena chunks and list regrowths, so that
 * failures land in the middle of names, lists and nodes. */
typedef struct big_ctx {
    char *sql;
    sql_script *out;
} big_ctx;

static int oom_big_op(void *ctx)
{
    big_ctx *c = ctx;
    return sql_parse(c->sql, strlen(c->sql), &c->out, NULL);
}

static void oom_big_cleanup(void *ctx)
{
    big_ctx *c = ctx;
    sql_script_free(c->out);
    c->out = NULL;
}

static void test_oom(void **state)
{
    (void)state;
    sql_script *out = NULL;
    int points = tarn_test_oom_loop(oom_op, oom_cleanup, &out, 200);
    assert_true(points >= 2);
    big_ctx big = {repeat("SELECT 0", ", CASE WHEN \"Col\" IN (1, 2, 'x') THEN f(a, b) END AS c",
                          300, " FROM t"),
                   NULL};
    points = tarn_test_oom_loop(oom_big_op, oom_big_cleanup, &big, 1000);
    assert_true(points >= 20);
    free(big.sql);
    /* The error names the cause. */
    sql_error e;
    tarn_alloc_fail_at(2, 1);
    int rc = sql_parse(medium_query, strlen(medium_query), &out, &e);
    tarn_alloc_fail_at(0, 0);
    assert_int_equal(rc, TARN_ENOMEM);
    assert_null(out);
    assert_string_equal(e.msg, "out of memory while parsing");
}

/* Trees built by hand (a future planner rewriting one) can be deeper than
 * any the parser returns: the printers and the depth check refuse them
 * instead of recursing without bound; a printer stops at its buffer's
 * maximum. */
static void test_hand_built_limits(void **state)
{
    (void)state;
    sql_arena a;
    sql_arena_init(&a, SQL_ARENA_MAX_BYTES);
    sql_node *n = sql_node_new(&a, SQL_COLUMN, (sql_pos){0, 1, 1});
    assert_non_null(n);
    n->u.column.column = (sql_name){.text = "x", .folded = "x"};
    sql_node *leaf = n;
    for (int i = 0; i < 2000; i++) {
        sql_node *u = sql_node_new(&a, SQL_UNARY, (sql_pos){(uint32_t)i, 1, 1});
        assert_non_null(u);
        u->u.unary.op = SQL_OP_NEG;
        u->u.unary.arg = n;
        n = u;
    }
    const sql_node *deep = NULL;
    assert_int_equal(sql_tree_check_depth(n, SQL_TREE_DEPTH_MAX, &deep), TARN_ETOOBIG);
    assert_non_null(deep);
    assert_int_equal(deep->pos.offset, 2000 - (SQL_TREE_DEPTH_MAX + 1)); /* the 501st level */
    assert_int_equal(sql_tree_check_depth(leaf, SQL_TREE_DEPTH_MAX, NULL), 0);
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    assert_int_equal(sql_print_sexpr(n, &b), TARN_ETOOBIG);
    assert_int_equal(sql_print_sql(n, &b), TARN_ETOOBIG);
    assert_int_equal(sql_print_json(n, &b), TARN_ETOOBIG);
    tarn_buf_free(&b);
    /* Within the limit all three print. */
    const sql_node *mid = n;
    for (int i = 0; i < 2000 - 100; i++)
        mid = mid->u.unary.arg;
    assert_int_equal(sql_print_sexpr(mid, &b), 0);
    assert_int_equal(sql_print_sql(mid, &b), 0);
    assert_int_equal(sql_print_json(mid, &b), 0);
    tarn_buf_free(&b);
    /* A bounded buffer: TARN_ETOOBIG, nothing past the maximum. */
    tarn_buf_init(&b, 64);
    assert_int_equal(sql_print_json(mid, &b), TARN_ETOOBIG);
    assert_true(b.len <= 64);
    tarn_buf_free(&b);
    sql_arena_free(&a);
    /* An arena with a small maximum never holds more than that (chunk
     * headers included) and says why it refuses. */
    sql_arena_init(&a, 4096);
    size_t got = 0;
    while (sql_arena_alloc(&a, 100) != NULL)
        got += 100;
    assert_int_equal(sql_arena_last_error(&a), TARN_ETOOBIG);
    assert_true(a.used_bytes <= 4096);
    assert_true(got >= 3500);
    assert_null(sql_arena_alloc(&a, (size_t)-8)); /* rounding would overflow */
    sql_arena_free(&a);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence), cmocka_unit_test(test_queries),
        cmocka_unit_test(test_statements), cmocka_unit_test(test_tpch_q1),
        cmocka_unit_test(test_tpch_q6_q3), cmocka_unit_test(test_tree_details),
        cmocka_unit_test(test_json),       cmocka_unit_test(test_limits),
        cmocka_unit_test(test_oom),        cmocka_unit_test(test_hand_built_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
