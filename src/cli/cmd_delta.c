/*
 * cli/cmd_delta.c: `tarn delta`, Delta tables in a directory written by
 * anything (Spark, delta-rs, Tarn), read through their log:
 *
 *   tarn delta scan DIR [--version N | --timestamp MS] [--columns a,b]
 *                       [--limit N] [--format table|csv|json]
 *   tarn delta history DIR [--format table|json]
 *
 * Rows come out as `tarn parquet cat` prints them (json: one object per
 * row; partition columns included, typed), through the row printer of
 * rows.c; cli_rows_scan here is what `tarn table scan` uses too.
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "delta/delta.h"
#include "objstore/objstore.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_rows_scan(delta_table *t, const delta_snapshot *s, const char *columns, uint64_t limit,
                  int fmt, FILE *out, tarn_err *err)
{
    char *list = columns ? tarn_strdup(columns) : NULL;
    const char *names[1024];
    uint32_t n = 0;
    for (char *save = NULL, *tok = list ? strtok_r(list, ",", &save) : NULL; tok && n < 1024;
         tok = strtok_r(NULL, ",", &save))
        names[n++] = tok;
    delta_scan_opts so = {.columns = n ? names : NULL, .ncols = n};
    delta_scan *sc = NULL;
    vec_batch b;
    memset(&b, 0, sizeof(b));
    int rc = columns && list == NULL ? tarn_err_set(err, TARN_ENOMEM, "columns") : 0;
    if (rc == 0)
        rc = delta_scan_open(t, s, &so, &sc, err);
    if (rc == 0)
        rc = delta_scan_batch_init(sc, &b);
    cli_rows r = {0};
    const char *cols[1024];
    uint32_t nc = sc ? delta_scan_ncols(sc) : 0;
    for (uint32_t i = 0; i < nc && i < 1024; i++)
        cols[i] = delta_scan_col_name(sc, i);
    bool begun = rc == 0 && cli_rows_begin(&r, fmt, out, nc, cols) == 0;
    while (rc == 0 && r.rows < limit && (rc = delta_scan_next(sc, &b, err)) == 0 && b.len > 0)
        if ((rc = cli_rows_batch(&r, &b, limit)) != 0)
            tarn_err_set(err, rc, "printing rows");
    if (begun)
        cli_rows_end(&r); /* after an error: what was read, then the error */
    else
        cli_rows_free(&r);
    vec_batch_free(&b);
    delta_scan_close(sc);
    tarn_free(list);
    return rc;
}

/* ---- history ---------------------------------------------------------------- */

void cli_history_print(const delta_history *h, bool json, FILE *out)
{
    if (!json)
        fprintf(out, "%-7s | %-24s | %-12s | %s\n", "version", "timestamp", "operation", "metrics");
    for (size_t i = 0; i < h->count; i++) {
        const delta_history_entry *e = &h->entries[i];
        char ts[40] = "?";
        if (e->timestamp_ms > 0)
            tarn_time_format_rfc3339(e->timestamp_ms, ts, sizeof(ts));
        json_t *ci = e->commit_info ? json_loads(e->commit_info, 0, NULL) : NULL;
        json_t *metrics = ci ? json_object_get(ci, "operationMetrics") : NULL;
        char *m = metrics ? json_dumps(metrics, JSON_COMPACT) : NULL;
        if (json) {
            json_t *o =
                json_pack("{s:I,s:s,s:I,s:s}", "version", (json_int_t)e->version, "timestamp", ts,
                          "timestamp_ms", (json_int_t)e->timestamp_ms, "operation", e->operation);
            if (o != NULL && ci != NULL) {
                json_object_set(o, "operationParameters",
                                json_object_get(ci, "operationParameters"));
                json_object_set(o, "operationMetrics", metrics);
            }
            char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
            if (line)
                fprintf(out, "%s\n", line);
            free(line);
            json_decref(o);
        } else {
            fprintf(out, "%-7lld | %-24s | %-12s | %s\n", (long long)e->version, ts, e->operation,
                    m ? m : "");
        }
        free(m);
        json_decref(ci);
    }
    fflush(out);
}

/* ---- tarn delta ------------------------------------------------------------- */

static void delta_usage(FILE *out)
{
    fputs("usage: tarn delta scan DIR [--version N | --timestamp MS] [--columns a,b]\n"
          "                           [--limit N] [--format table|csv|json]\n"
          "       tarn delta history DIR [--format table|json]\n"
          "Reads a Delta table directory written by any Delta writer, through its log.\n",
          out);
}

typedef struct delta_args {
    const char *cmd, *dir, *columns;
    int64_t version, timestamp_ms;
    uint64_t limit;
    int fmt;
} delta_args;

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int delta_parse(int argc, char **argv, delta_args *a)
{
    *a = (delta_args){.version = -1, .timestamp_ms = -1, .limit = UINT64_MAX};
    if (argc < 2)
        return 2;
    a->cmd = argv[0];
    a->dir = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (v == NULL)
            return fprintf(stderr, "tarn delta: %s needs a value\n", o), 2;
        if (strcmp(o, "--version") == 0 && parse_i64(v, &a->version) == 0)
            ;
        else if (strcmp(o, "--timestamp") == 0 && parse_i64(v, &a->timestamp_ms) == 0)
            ;
        else if (strcmp(o, "--limit") == 0 && parse_i64(v, &n) == 0)
            a->limit = (uint64_t)n;
        else if (strcmp(o, "--columns") == 0)
            a->columns = v;
        else if (strcmp(o, "--format") == 0 && (a->fmt = cli_rows_format(v)) >= 0)
            ;
        else
            return fprintf(stderr, "tarn delta: bad option %s %s\n", o, v), 2;
        i++;
    }
    if (a->version >= 0 && a->timestamp_ms >= 0)
        return fprintf(stderr, "tarn delta: --version or --timestamp, not both\n"), 2;
    return 0;
}

static int delta_run(const delta_args *a, tarn_err *err)
{
    objstore *os = NULL;
    delta_table *t = NULL;
    delta_snapshot *s = NULL;
    int rc = objstore_open(a->dir, &os, err);
    if (rc == 0)
        rc = delta_table_open(os, "", &t, err);
    if (rc == 0 && strcmp(a->cmd, "history") == 0) {
        delta_history h;
        rc = delta_history_log(t, &h, err);
        if (rc == 0)
            cli_history_print(&h, a->fmt == CLI_FMT_JSON, stdout);
        delta_history_free(&h);
    } else if (rc == 0) {
        rc = a->version >= 0        ? delta_snapshot_at_version(t, a->version, &s, err)
             : a->timestamp_ms >= 0 ? delta_snapshot_at_timestamp(t, a->timestamp_ms, &s, err)
                                    : delta_snapshot_latest(t, &s, err);
        if (rc == 0)
            rc = cli_rows_scan(t, s, a->columns, a->limit, a->fmt, stdout, err);
    }
    delta_snapshot_free(s);
    delta_table_close(t);
    objstore_close(os);
    return rc == 0 ? 0 : tarn_err_wrap(err, rc, "%s", a->dir);
}

int cli_delta_main(int argc, char **argv)
{
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        delta_usage(stdout);
        return 0;
    }
    delta_args a;
    int rc = delta_parse(argc, argv, &a);
    if (rc == 0 && strcmp(a.cmd, "scan") != 0 && strcmp(a.cmd, "history") != 0)
        rc = 2;
    if (rc != 0) {
        delta_usage(stderr);
        return rc;
    }
    tarn_log_set_level(TARN_LOG_WARN);
    tarn_err err = TARN_ERR_INIT;
    if (delta_run(&a, &err) != 0) {
        fprintf(stderr, "tarn delta %s: %s\n", a.cmd, tarn_err_msg(&err));
        return 1;
    }
    return 0;
}
