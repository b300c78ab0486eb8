/*
 * cli/cli.h: the `tarn` binary's commands. main.c dispatches on argv[1];
 * each command parses its own arguments and returns the process exit code
 * (0 ok, 1 failure, 2 usage error).
 *
 * Threads: commands run on the main thread; `local` starts server threads.
 */
#ifndef TARN_CLI_CLI_H
#define TARN_CLI_CLI_H

#include "cli/config.h"

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

/* Creates dir (and parents) with mode 0700 when missing. */
int cli_mkdir_p(const char *dir, tarn_err *err);

#endif
