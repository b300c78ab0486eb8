/*
 * cli/main.c: the `tarn` binary. One binary for every role: today the
 * embedded server (`tarn local`) and key management; later `tarn meta`,
 * `tarn worker`, `tarn sql`. See README.md for the tour.
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "parquet/tool.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tarn <command> [options]\n\n"
            "commands:\n"
            "  local                  run the embedded server (tarn local --help)\n"
            "  key create --role R    create an API key (R: read, write, admin)\n"
            "  key revoke ID          revoke the key with id ID\n"
            "  key list               list keys (ids and roles, never secrets)\n"
            "  parquet schema FILE    print a Parquet file's schema\n"
            "  parquet meta FILE      row groups, columns, encodings, sizes, statistics\n"
            "  parquet cat FILE       rows [--columns a,b] [--limit N] [--format table|csv|json]\n"
            "  version                print the version\n");
}

int main(int argc, char **argv)
{
    /* Before any JSON is parsed, so jansson allocates through our wrapper. */
    tarn_alloc_hook_jansson();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "local") == 0)
        return cli_local_main(argc - 2, argv + 2);
    if (strcmp(cmd, "key") == 0)
        return cli_key_main(argc - 2, argv + 2);
    if (strcmp(cmd, "parquet") == 0)
        return pq_tool_main(argc - 1, argv + 1, stdout, stderr);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tarn %s\n", TARN_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "tarn: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
