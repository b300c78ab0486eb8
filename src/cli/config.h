/*
 * cli/config.h: Tarn's configuration: one table of options, each with a
 * name, type, default and help line, read from a config file and then
 * overridden by command-line flags.
 *
 * The file format (documented in README.md, "Configuration"):
 *
 *   # comment
 *   listen = 127.0.0.1:7070
 *   data = ./tarn-data
 *   max_body_bytes = 1MiB      # sizes take B, KiB, MiB, GiB
 *   log_level = "info"         # values may be quoted
 *
 * One `key = value` per line; keys are the option names; unknown keys and
 * bad values are errors naming the file, line and key. The same option as
 * a flag is `--max-body-bytes 1MiB` or `--max-body-bytes=1MiB`.
 * Precedence: defaults < `--config FILE` < flags.
 *
 * Threads: single-threaded start-up code.
 */
#ifndef TARN_CLI_CONFIG_H
#define TARN_CLI_CONFIG_H

#include "base/error.h"

#include <stddef.h>
#include <stdio.h>

#define TARN_CONFIG_PATH_MAX 4096
#define TARN_CONFIG_LINE_MAX 4096

typedef struct tarn_config {
    char listen[256]; /* host:port of the HTTP edge */
    char data_dir[TARN_CONFIG_PATH_MAX];
    size_t max_body_bytes;         /* request bodies over this are 413 */
    unsigned max_connections;      /* concurrent HTTP connections */
    unsigned connection_timeout_s; /* idle connections are closed after this */
    unsigned http_threads;         /* HTTP worker threads */
    int metrics_require_key;       /* /metrics needs a read key when set */
    double rate_read_per_s;        /* token bucket refill per key, by role */
    double burst_read;             /* token bucket size per key, by role */
    double rate_write_per_s;
    double burst_write;
    double rate_admin_per_s;
    double burst_admin;
    char log_level[16]; /* debug | info | warn | error */
} tarn_config;

/* Fills every option with its default. */
void tarn_config_defaults(tarn_config *cfg);

/* Applies a config file over cfg. TARN_ENOENT when it cannot be opened,
 * TARN_EINVAL (message: file:line: key: why) for a bad line. On error cfg
 * may be partly applied; callers exit. */
int tarn_config_load_file(tarn_config *cfg, const char *path, tarn_err *err);

/* Applies one option by name ("max_body_bytes" or "max-body-bytes") and
 * text value. TARN_ENOENT for an unknown name, TARN_EINVAL for a bad value. */
int tarn_config_set(tarn_config *cfg, const char *name, const char *value, tarn_err *err);

/*
 * Parses argv[0..argc) as flags: `--config FILE` is loaded first (wherever
 * it appears), then every `--name value` / `--name=value` is applied in
 * order. Arguments that are not options are errors. *help_out is set when
 * --help or -h is present (nothing else is applied then).
 */
int tarn_config_parse_args(tarn_config *cfg, int argc, char **argv, int *help_out, tarn_err *err);

/* Prints every option: flag, default, help (for `tarn local --help`). */
void tarn_config_print_help(FILE *out);

/* Parses "1048576", "64KiB", "1MiB", "2GiB", "10B" into bytes. */
int tarn_config_parse_size(const char *s, size_t *out);

#endif
