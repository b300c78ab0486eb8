/*
 * parquet/tool.h: the `tarn parquet` command, for the command line to call.
 *
 *   tarn parquet schema FILE      leaf columns: physical type, repetition, vec type
 *   tarn parquet meta FILE        row groups and column chunks: codec, encodings,
 *                                 sizes, statistics
 *   tarn parquet cat FILE [--columns a,b] [--limit N] [--format table|csv|json]
 *
 * argv[0] is "parquet" (or anything), argv[1] the subcommand. Output goes
 * to `out`, errors to `err`. Returns the process exit code: 0, 1 for an
 * error (message on `err`), 2 for bad usage.
 *
 * Threads: any thread; nothing shared.
 */
#ifndef TARN_PARQUET_TOOL_H
#define TARN_PARQUET_TOOL_H

#include <stdio.h>

int pq_tool_main(int argc, char **argv, FILE *out, FILE *err);

#endif
