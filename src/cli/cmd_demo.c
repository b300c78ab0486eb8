/*
 * cli/cmd_demo.c: `tarn demo`, the main job `scripts/run` runs. A guided
 * tour on the embedded default, for a person who has never seen Tarn: it
 * writes a sample table in several commits, runs the golden GROUP BY,
 * travels back to an earlier version, deletes rows, compacts, shows the
 * history, and says how to go on with `tarn sql` on the same data.
 *
 *   tarn demo [--data DIR] [--rows N]
 *
 * Each step prints what it does and the statement, then its result, the
 * way `tarn sql` prints it. The demo owns one table, demo_lineitem, which
 * it drops and writes again on every run; nothing else in DIR is touched.
 */
#include "cli/cli.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_TABLE        "demo_lineitem"
#define DEMO_ROWS_DEFAULT 30000
/* Commits the sample table is written in. */
#define DEMO_COMMITS 3

typedef struct demo_args {
    char data_dir[TARN_CONFIG_PATH_MAX];
    long long rows;
} demo_args;

static const char demo_usage[] =
    "usage: tarn demo [--data DIR] [--rows N]\n\n"
    "A tour of Tarn on the embedded default: writes the sample table " DEMO_TABLE "\n"
    "(N rows, default 30000, in 3 commits) into the data directory DIR (default\n"
    "./tarn-data), queries it, travels in time, deletes, compacts and shows the\n"
    "history. Only " DEMO_TABLE " is written; it is replaced on every run.\n";

static int parse_demo_args(int argc, char **argv, demo_args *a)
{
    tarn_config cfg;
    tarn_config_defaults(&cfg);
    snprintf(a->data_dir, sizeof(a->data_dir), "%s", cfg.data_dir);
    a->rows = DEMO_ROWS_DEFAULT;
    for (int i = 0; i < argc; i++) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(demo_usage, stdout);
            return -1;
        } else if (strcmp(argv[i], "--data") == 0 && val) {
            snprintf(a->data_dir, sizeof(a->data_dir), "%s", val);
        } else if (strcmp(argv[i], "--rows") == 0 && val) {
            a->rows = strtoll(val, &end, 10);
            if (*val == '\0' || *end != '\0' || a->rows < DEMO_COMMITS || a->rows > 100000000) {
                fprintf(stderr, "tarn demo: --rows wants a number from %d to 100000000\n",
                        DEMO_COMMITS);
                return 2;
            }
        } else {
            fprintf(stderr, "tarn demo: unknown or incomplete option '%s'\n\n%s", argv[i],
                    demo_usage);
            return 2;
        }
        i++;
    }
    return 0;
}

static void step(int n, const char *title, const char *why)
{
    printf("\n== %d. %s\n%s\n", n, title, why);
    fflush(stdout);
}

/* Prints the statement as a user would type it, then runs it. */
static int run(cli_sql *s, const char *sql)
{
    printf("\ntarn> %s\n", sql);
    fflush(stdout);
    return cli_sql_run(s, sql);
}

/* Step 1 runs `tarn gen` in this process, exactly as the printed command. */
static int write_sample(const demo_args *a)
{
    char rows[32], file_rows[32];
    snprintf(rows, sizeof(rows), "%lld", a->rows);
    snprintf(file_rows, sizeof(file_rows), "%lld", (a->rows + DEMO_COMMITS - 1) / DEMO_COMMITS);
    char *argv[] = {"lineitem", "--rows",   rows,     "--file-rows",       file_rows,
                    "--table",  DEMO_TABLE, "--data", (char *)a->data_dir, NULL};
    printf("\n$ %s gen lineitem --rows %s --file-rows %s --table %s --data %s\n", cli_program, rows,
           file_rows, DEMO_TABLE, a->data_dir);
    fflush(stdout);
    return cli_gen_main((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv);
}

static int drop_old(const char *data_dir)
{
    tarn_err err = TARN_ERR_INIT;
    cli_sql *s = NULL;
    if (cli_sql_open(data_dir, &s, &err) != 0) {
        fprintf(stderr, "tarn demo: %s\n", tarn_err_msg(&err));
        return 1;
    }
    int rc = run(s, "DROP TABLE IF EXISTS " DEMO_TABLE);
    cli_sql_close(s);
    return rc;
}

/* Steps 2 and on: each a title, why it matters, and its statements. */
typedef struct demo_step {
    const char *title, *why;
    const char *sql[3];
} demo_step;

static const demo_step steps[] = {
    {"The golden query",
     "A GROUP BY with count and sum over every commit (the table's latest version):",
     {"SELECT l_returnflag, l_linestatus, count(*) AS lines, sum(l_quantity) AS quantity,\n"
      "       sum(l_extendedprice) AS revenue, avg(l_discount) AS avg_discount\n"
      "FROM " DEMO_TABLE "\nGROUP BY l_returnflag, l_linestatus\n"
      "ORDER BY l_returnflag, l_linestatus"}},
    {"Time travel",
     "Every commit is a version, and older versions stay readable:",
     {"SELECT count(*) AS lines_now FROM " DEMO_TABLE,
      "SELECT count(*) AS lines_at_version_1 FROM " DEMO_TABLE " VERSION AS OF 1"}},
    {"Delete",
     "A DELETE rewrites only the files that hold matching rows, in one commit:",
     {"DELETE FROM " DEMO_TABLE " WHERE l_shipdate < DATE '1993-01-01'",
      "SELECT min(l_shipdate) AS first_ship, count(*) AS lines FROM " DEMO_TABLE}},
    {"Compaction",
     "OPTIMIZE merges small files into larger ones; the rows stay the same:",
     {"OPTIMIZE " DEMO_TABLE, "SELECT count(*) AS lines FROM " DEMO_TABLE}},
    {"History",
     "Each version with its operation, from a Delta log any Delta reader can read:",
     {"DESCRIBE HISTORY " DEMO_TABLE}},
};

static int tour(cli_sql *s)
{
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        step((int)i + 2, steps[i].title, steps[i].why);
        for (size_t j = 0; j < 3 && steps[i].sql[j] != NULL; j++)
            if (run(s, steps[i].sql[j]) != 0)
                return 1;
    }
    return 0;
}

int cli_demo_main(int argc, char **argv)
{
    demo_args a;
    int rc = parse_demo_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    tarn_log_set_level(TARN_LOG_WARN);
    printf("Tarn demo: a lakehouse in one process (data in %s)\n", a.data_dir);
    step(1, "A sample table in several commits",
         "A TPC-H-like lineitem table, written as Parquet files, one Delta commit each:");
    if (drop_old(a.data_dir) != 0 || write_sample(&a) != 0)
        return 1;
    tarn_err err = TARN_ERR_INIT;
    cli_sql *s = NULL;
    if (cli_sql_open(a.data_dir, &s, &err) != 0) {
        fprintf(stderr, "tarn demo: %s\n", tarn_err_msg(&err));
        return 1;
    }
    rc = tour(s);
    cli_sql_close(s);
    if (rc != 0)
        return 1;
    const char *t = cli_program;
    printf("\n== Go on\n"
           "An SQL shell on the same tables:\n  %s sql --data %s\n"
           "One statement, as CSV:\n  %s sql --data %s --format csv -c \"SHOW TABLES\"\n"
           "The same data over HTTP (POST /v1/sql, the KV API, /metrics):\n"
           "  %s local --data %s\n",
           t, a.data_dir, t, a.data_dir, t, a.data_dir);
    return 0;
}
