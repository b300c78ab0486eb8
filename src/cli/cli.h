/*
 * cli/cli.h: the `tarn` binary's commands. main.c dispatches on argv[1];
 * each command parses its own arguments and returns the process exit code
 * (0 ok, 1 failure, 2 usage error).
 *
 * Threads: commands run on the main thread; `local` starts server threads.
 */
#ifndef TARN_CLI_CLI_H
#define TARN_CLI_CLI_H

#include "base/buf.h"
#include "cli/config.h"
#include "vec/vec.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The HTTP edge's options from the configuration (listen address, limits,
 * threads, rate limits): what `tarn local` and `tarn meta` serve with. */
typedef struct http_server_opts http_server_opts;
void cli_server_opts(const tarn_config *cfg, http_server_opts *o);

/* `tarn local`: the embedded server (see cmd_local.c). */
int cli_local_main(int argc, char **argv);

/* `tarn gen lineitem`: the deterministic lineitem generator (cmd_gen.c). */
int cli_gen_main(int argc, char **argv);

/* `tarn meta`: one member of the replicated metadata service (cmd_meta.c). */
int cli_meta_main(int argc, char **argv);

/* `tarn cluster up|status|down|restart`: a local cluster (cmd_cluster.c). */
int cli_cluster_main(int argc, char **argv);

/* `tarn kv get|put|cas|del|scan` and `tarn tso`: the key-value API and the
 * timestamp oracle through the client library (cmd_kv.c). */
int cli_kv_main(int argc, char **argv);
int cli_tso_main(int argc, char **argv);

/* `tarn key create|revoke|list`: API keys in a data directory. */
int cli_key_main(int argc, char **argv);

/* `tarn sql`: SQL on a data directory's tables (see cmd_sql.c). */
int cli_sql_main(int argc, char **argv);

/* `tarn demo`: the guided tour scripts/run runs (cmd_demo.c). */
int cli_demo_main(int argc, char **argv);

/* A SQL session on a data directory that prints results as `tarn sql`
 * does in its table format (for `tarn demo`). cli_sql_run returns 0, or
 * nonzero after printing the error with a caret on stderr. */
typedef struct cli_sql cli_sql;
int cli_sql_open(const char *data_dir, cli_sql **out, tarn_err *err);
int cli_sql_run(cli_sql *c, const char *text);
void cli_sql_close(cli_sql *c);

/* `tarn table ...` on a data directory's tables, `tarn delta scan|history
 * DIR` on any Delta table directory (cmd_table.c, cmd_delta.c). */
int cli_table_main(int argc, char **argv);
int cli_delta_main(int argc, char **argv);

/* The row printer every command that prints rows shares (rows.c): an
 * aligned table (the first 10000 rows; the rest counted), CSV with a
 * header, or JSON lines.
 *
 *   cli_rows r; cli_rows_begin(&r, fmt, stdout, n, names);
 *   cli_rows_batch(&r, batch, UINT64_MAX) ...; cli_rows_end(&r);
 */
enum { CLI_FMT_TABLE, CLI_FMT_CSV, CLI_FMT_JSON };
int cli_rows_format(const char *name); /* CLI_FMT_*, -1 unknown */
typedef struct cli_rows {
    int fmt;
    FILE *out;
    uint32_t ncols;
    char **names;    /* copies */
    tarn_buf *cells; /* table format: kept * ncols cells */
    size_t kept;
    uint64_t rows; /* printed (or, for the table, counted) so far */
} cli_rows;
/* TARN_ENOMEM; then only cli_rows_free. Prints the CSV header. */
int cli_rows_begin(cli_rows *r, int fmt, FILE *out, uint32_t ncols, const char *const *names);
/* The live rows of b, until r->rows reaches limit. */
int cli_rows_batch(cli_rows *r, const vec_batch *b, uint64_t limit);
/* Prints the table format's rows and count, then frees. */
void cli_rows_end(cli_rows *r);
/* Frees without printing (after an error). */
void cli_rows_free(cli_rows *r);
struct delta_table;
struct delta_snapshot;
struct delta_history;
int cli_rows_scan(struct delta_table *t, const struct delta_snapshot *s, const char *columns,
                  uint64_t limit, int fmt, FILE *out, tarn_err *err);
void cli_history_print(const struct delta_history *h, bool json, FILE *out);

/* Creates dir (and parents) with mode 0700 when missing. */
int cli_mkdir_p(const char *dir, tarn_err *err);

/* How the user started the binary (argv[0], e.g. build/tarn), for hints
 * that name a command to type next; main sets it. */
extern const char *cli_program;

#endif
