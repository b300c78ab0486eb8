/*
 * cli/cmd_gen.c: `tarn gen lineitem`, the deterministic TPC-H-like
 * lineitem generator (gen/gen.h) as a command:
 *
 *   tarn gen lineitem (--rows N | --sf F) [--seed S] [--doubles] --out FILE.parquet
 *   tarn gen lineitem (--rows N | --sf F) [--seed S] [--doubles] --table NAME [--data DIR]
 *                     [--file-rows N]
 *
 * The file is written to FILE.tmp-<pid> and renamed into place when whole,
 * so a reader never sees a partial file. A table is created when missing
 * and filled through the embedded metadata service of DIR (one process per
 * data directory: stop `tarn local` on DIR first). A progress line goes to
 * stderr when it is a terminal.
 */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "delta/delta.h"
#include "gen/gen.h"
#include "kv/kv.h"
#include "node/node.h"
#include "objstore/objstore.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct gen_args {
    gen_lineitem_opts o;
    bool have_rows;
    const char *out;
    const char *table;
    const char *data_dir;
} gen_args;

static const char gen_usage[] =
    "usage: tarn gen lineitem (--rows N | --sf F) [--seed S] [--doubles]\n"
    "                         (--out FILE.parquet | --table NAME [--data DIR] [--file-rows N])\n\n"
    "Generates a deterministic TPC-H-like lineitem table (the distributions of\n"
    "lineitem-gen.sql): the same options give the same rows, and the same bytes\n"
    "for --out. --sf 1 is 6,000,000 rows. Money and quantities are DECIMAL(15,2),\n"
    "or DOUBLE with --doubles. --table writes into (or creates) a Tarn table in\n"
    "the data directory DIR (default ./tarn-data), one data file and commit per\n"
    "N rows (--file-rows, default 1,048,576).\n";

/* A whole decimal integer in [lo, hi]. */
static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_sf(const char *s, int64_t *rows)
{
    char *end;
    errno = 0;
    double sf = strtod(s, &end);
    double max_sf = (double)GEN_ROWS_MAX / GEN_LINEITEM_ROWS_PER_SF;
    if (errno != 0 || end == s || *end != '\0' || !(sf >= 0) || sf > max_sf)
        return -1;
    *rows = (int64_t)llround(sf * GEN_LINEITEM_ROWS_PER_SF);
    return 0;
}

/* The value of option argv[*i] (`--x V` or `--x=V`), or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

/* One option at argv[*i]; 0, or -1 with a message printed. */
static int parse_one(int argc, char **argv, int *i, gen_args *a)
{
    const char *v;
    int64_t seed;
    if (strcmp(argv[*i], "--doubles") == 0)
        a->o.doubles = true;
    else if ((v = opt_value(argc, argv, i, "--rows")) != NULL) {
        if (parse_i64(v, 0, GEN_ROWS_MAX, &a->o.rows) != 0)
            return fprintf(stderr, "tarn gen: --rows must be 0..%lld, not '%s'\n",
                           (long long)GEN_ROWS_MAX, v),
                   -1;
        a->have_rows = true;
    } else if ((v = opt_value(argc, argv, i, "--sf")) != NULL) {
        if (parse_sf(v, &a->o.rows) != 0)
            return fprintf(stderr, "tarn gen: --sf must be a number 0..1000, not '%s'\n", v), -1;
        a->have_rows = true;
    } else if ((v = opt_value(argc, argv, i, "--seed")) != NULL) {
        if (parse_i64(v, 0, INT64_MAX, &seed) != 0)
            return fprintf(stderr, "tarn gen: --seed must be a non-negative integer, not '%s'\n",
                           v),
                   -1;
        a->o.seed = (uint64_t)seed;
    } else if ((v = opt_value(argc, argv, i, "--out")) != NULL)
        a->out = v;
    else if ((v = opt_value(argc, argv, i, "--file-rows")) != NULL) {
        if (parse_i64(v, 1, GEN_ROWS_MAX, &a->o.table_file_rows) != 0)
            return fprintf(stderr, "tarn gen: --file-rows must be a positive integer, not '%s'\n",
                           v),
                   -1;
    } else if ((v = opt_value(argc, argv, i, "--table")) != NULL)
        a->table = v;
    else if ((v = opt_value(argc, argv, i, "--data")) != NULL)
        a->data_dir = v;
    else
        return fprintf(stderr, "tarn gen: unknown or incomplete option '%s'\n", argv[*i]), -1;
    return 0;
}

static int parse_gen_args(int argc, char **argv, gen_args *a)
{
    memset(a, 0, sizeof(*a));
    a->data_dir = "./tarn-data";
    for (int i = 1; i < argc; i++)
        if (parse_one(argc, argv, &i, a) != 0)
            return -1;
    if (!a->have_rows)
        return fprintf(stderr, "tarn gen: give --rows N or --sf F\n"), -1;
    if ((a->out == NULL) == (a->table == NULL))
        return fprintf(stderr, "tarn gen: give exactly one of --out FILE or --table NAME\n"), -1;
    return 0;
}

typedef struct progress_state {
    bool tty;
    int64_t total;
    int last_pct;
} progress_state;

static void progress_cb(void *ctx, int64_t done)
{
    progress_state *p = ctx;
    int pct = p->total > 0 ? (int)(done * 100 / p->total) : 100;
    if (!p->tty || pct == p->last_pct)
        return;
    p->last_pct = pct;
    fprintf(stderr, "\rtarn gen: %lld of %lld rows (%d%%)", (long long)done, (long long)p->total,
            pct);
    if (done == p->total)
        fputc('\n', stderr);
}

static int file_sink(void *ctx, const void *data, size_t len, tarn_err *err)
{
    if (fwrite(data, 1, len, (FILE *)ctx) != len)
        return tarn_err_set(err, TARN_EIO, "write: %s", strerror(errno));
    return 0;
}

static int gen_to_file(const gen_args *a, progress_state *p, tarn_err *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", a->out, (long)getpid()) >= (int)sizeof(tmp))
        return tarn_err_set(err, TARN_EINVAL, "output path too long");
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return tarn_err_set(err, tarn_err_from_errno(errno), "create %s: %s", tmp, strerror(errno));
    int rc = gen_lineitem_write_parquet(&a->o, file_sink, f, progress_cb, p, err);
    if (fclose(f) != 0 && rc == 0)
        rc = tarn_err_set(err, TARN_EIO, "close %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, a->out) != 0)
        rc = tarn_err_set(err, tarn_err_from_errno(errno), "rename %s to %s: %s", tmp, a->out,
                          strerror(errno));
    if (rc != 0)
        unlink(tmp); /* best effort: the partial file is useless */
    return rc;
}

/* How long to wait for the single voter to lead (as `tarn local`). */
#define GEN_LEADER_WAIT_MS 10000

static int gen_to_table(const gen_args *a, progress_state *p, tarn_err *err)
{
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    node *n = NULL;
    objstore *os = NULL;
    delta_committer c;
    memset(&c, 0, sizeof(c));
    int64_t version = -1;
    int rc = kv_register(&reg);
    if (rc == 0)
        rc = catalog_register(&reg);
    if (rc != 0)
        return tarn_err_set(err, rc, "register state machine commands");
    if ((rc = cli_mkdir_p(a->data_dir, err)) != 0)
        return rc;
    /* The object store of a data directory is DIR/objects, where `tarn sql`
     * finds the tables. */
    char url[4096];
    if (snprintf(url, sizeof(url), "%s/objects", a->data_dir) >= (int)sizeof(url))
        return tarn_err_set(err, TARN_EINVAL, "data directory path too long");
    node_opts no = {.data_dir = a->data_dir, .durability = STORE_DURABLE_DATA};
    if ((rc = node_open(&no, &reg, &n, err)) == 0 &&
        (rc = node_wait_leader(n, GEN_LEADER_WAIT_MS, err)) == 0 &&
        (rc = objstore_open(url, &os, err)) == 0 && (rc = delta_committer_node(n, 0, &c)) != 0)
        tarn_err_set(err, rc, "committer");
    /* Versions a crashed writer left without their log file come first. */
    if (rc == 0)
        rc = delta_finish_pending_logs(&c, os, NULL, err);
    if (rc == 0)
        rc = gen_lineitem_write_table(&a->o, &c, os, a->table, progress_cb, p, &version, err);
    if (rc == 0)
        printf("tarn gen: %lld rows in table %s (version %lld)\n", (long long)a->o.rows, a->table,
               (long long)version);
    delta_committer_close(&c);
    objstore_close(os);
    node_close(n);
    return rc;
}

int cli_gen_main(int argc, char **argv)
{
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(gen_usage, stdout);
        return 0;
    }
    if (argc < 1 || strcmp(argv[0], "lineitem") != 0) {
        fprintf(stderr, "tarn gen: the only table is 'lineitem'\n\n%s", gen_usage);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(gen_usage, stdout);
            return 0;
        }
    gen_args a;
    if (parse_gen_args(argc, argv, &a) != 0) {
        fprintf(stderr, "(see tarn gen --help)\n");
        return 2;
    }
    progress_state p = {.tty = isatty(STDERR_FILENO) != 0, .total = a.o.rows, .last_pct = -1};
    tarn_err err = TARN_ERR_INIT;
    int rc = a.out ? gen_to_file(&a, &p, &err) : gen_to_table(&a, &p, &err);
    if (rc != 0) {
        if (p.tty && p.last_pct >= 0)
            fputc('\n', stderr);
        fprintf(stderr, "tarn gen: %s\n", tarn_err_msg(&err));
        return 1;
    }
    return 0;
}
