/*
 * bench/tpch/queries.h: the statements bench/tpch runs, one text for Tarn
 * and DuckDB (run.sh asks `tpch_sql sql` for the text and hands the same
 * bytes to DuckDB). `FROM lineitem` is replaced by the source: the Tarn
 * table `lineitem`, or read_parquet('FILE').
 *
 * Q1 and Q6 are the TPC-H texts (TPC-H 2.18, sections 2.4.1 and 2.4.6)
 * with the substitution parameters of the validation run (DELTA = 90,
 * DATE = 1994-01-01, DISCOUNT = 0.06, QUANTITY = 24). Adapted for Tarn's
 * SQL: the interval literals are written INTERVAL '90' DAY and
 * INTERVAL '1' YEAR (TPC-H writes `interval ':1' day (3)`: Tarn has no
 * interval precision), nothing else.
 */
#ifndef TARN_BENCH_TPCH_QUERIES_H
#define TARN_BENCH_TPCH_QUERIES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char tpch_q1[] =
    "SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty,\n"
    "  sum(l_extendedprice) AS sum_base_price,\n"
    "  sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,\n"
    "  sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,\n"
    "  avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price,\n"
    "  avg(l_discount) AS avg_disc, count(*) AS count_order\n"
    "FROM lineitem\n"
    "WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY\n"
    "GROUP BY l_returnflag, l_linestatus\n"
    "ORDER BY l_returnflag, l_linestatus";

static const char tpch_q6[] = "SELECT sum(l_extendedprice * l_discount) AS revenue\n"
                              "FROM lineitem\n"
                              "WHERE l_shipdate >= DATE '1994-01-01'\n"
                              "  AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR\n"
                              "  AND l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01\n"
                              "  AND l_quantity < 24";

/* Not TPC-H: a selective filter and count(*), the scan and filter cost. */
static const char tpch_count[] =
    "SELECT count(*) AS n FROM lineitem WHERE l_quantity < 24 AND l_returnflag = 'R'";

static inline const char *tpch_query_text(const char *name)
{
    return strcmp(name, "q1") == 0      ? tpch_q1
           : strcmp(name, "q6") == 0    ? tpch_q6
           : strcmp(name, "count") == 0 ? tpch_count
                                        : NULL;
}

/* `text` with its one "FROM lineitem" replaced by "FROM <from>"; malloc'd
 * (the caller frees), NULL when out of memory. */
static inline char *tpch_query_with_source(const char *text, const char *from)
{
    static const char key[] = "FROM lineitem";
    const char *at = strstr(text, key);
    size_t head = (size_t)(at - text), n = strlen(text) + strlen(from) + 8;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%.*sFROM %s%s", (int)head, text, from, at + strlen(key));
    return out;
}

#endif
