/*
 * cli/main.c: the `tarn` binary. One binary for every role; main dispatches
 * on argv[1] through the command table below. See README.md for the tour.
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "parquet/tool.h"

#include <stdio.h>
#include <string.h>

static int parquet_main(int argc, char **argv)
{
    /* pq_tool_main wants the command word itself as argv[0]. */
    return pq_tool_main(argc + 1, argv - 1, stdout, stderr);
}

static int version_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("tarn %s\n", TARN_VERSION);
    return 0;
}

/* One row per command: main passes the arguments after the command word.
 * `usage` is the command's lines in `tarn help`. */
typedef struct cli_command {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *usage;
} cli_command;

static const cli_command commands[] = {
    {"local", cli_local_main,
     "  local                  run the embedded server (tarn local --help)\n"},
    {"meta", cli_meta_main,
     "  meta --id N --peers ...  run one member of a cluster (tarn meta --help)\n"},
    {"cluster", cli_cluster_main,
     "  cluster up|status|down|restart   a local cluster of tarn meta (tarn cluster --help)\n"},
    {"kv", cli_kv_main, "  kv get|put|cas|del|scan  the key-value API (tarn kv --help)\n"},
    {"tso", cli_tso_main, "  tso [--count N]        timestamps from the oracle, one per line\n"},
    {"key", cli_key_main,
     "  key create --role R    create an API key (R: read, write, admin)\n"
     "  key revoke ID          revoke the key with id ID\n"
     "  key list               list keys (ids and roles, never secrets)\n"},
    {"sql", cli_sql_main,
     "  sql [--data DIR]       SQL on the tables (-c SQL, -f FILE, --format table|csv|json)\n"},
    {"parquet", parquet_main,
     "  parquet schema FILE    print a Parquet file's schema\n"
     "  parquet meta FILE      row groups, columns, encodings, sizes, statistics\n"
     "  parquet cat FILE       rows [--columns a,b] [--limit N] [--format table|csv|json]\n"},
    {"table", cli_table_main,
     "  table create|insert|scan|history|optimize|vacuum NAME  Tarn's tables (tarn table "
     "--help)\n"},
    {"delta", cli_delta_main,
     "  delta scan|history DIR  any Delta table directory [--version N] [--format "
     "table|csv|json]\n"},
    {"gen", cli_gen_main,
     "  gen lineitem --rows N  a deterministic TPC-H-like lineitem table (tarn gen --help)\n"},
    {"demo", cli_demo_main,
     "  demo                   a guided tour: tables, SQL, time travel, delete, compaction\n"},
    {"version", version_main, "  version                print the version\n"},
};

static void usage(FILE *out)
{
    fputs("usage: tarn <command> [options]\n\ncommands:\n", out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fputs(commands[i].usage, out);
}

int main(int argc, char **argv)
{
    /* Before any JSON is parsed, so jansson allocates through our wrapper. */
    tarn_alloc_hook_jansson();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    cli_program = argv[0];
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0)
        cmd = "version";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].main(argc - 2, argv + 2);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "tarn: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
