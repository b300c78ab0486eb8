/*
 * cli/sql_remote.h: `tarn sql --server URL` / `--cluster FILE`: statements
 * sent to a running server's POST /v1/sql (the streamed reply, JSON lines:
 * src/sql/sql_routes.h), delivered to a sql_sink as a local session
 * delivers them, so the shell prints the same output either way.
 *
 * Threads: one handle per thread.
 */
#ifndef TARN_CLI_SQL_REMOTE_H
#define TARN_CLI_SQL_REMOTE_H

#include "base/error.h"
#include "sql/session.h"

#include <stddef.h>

typedef struct sql_remote sql_remote;

typedef struct sql_remote_opts {
    const char *server;   /* "http://host:port"; NULL with a cluster file */
    const char *cluster;  /* a `tarn cluster up` file: its members are tried in turn */
    const char *key;      /* API key; NULL: key_file, $TARN_API_KEY, the cluster's key,
                             else DATA/admin.key when it exists */
    const char *key_file; /* first line is the key */
    const char *data_dir; /* for the DATA/admin.key default */
} sql_remote_opts;

/* Reads the key and the cluster file; connects at the first statement.
 * TARN_EINVAL (no server, a bad URL or cluster file), TARN_ENOENT (a key
 * or cluster file that cannot be read), TARN_ENOMEM. */
int sql_remote_open(const sql_remote_opts *o, sql_remote **out, tarn_err *err);
void sql_remote_close(sql_remote *r);
/* The server statements go to (the one that last answered). */
const char *sql_remote_url(const sql_remote *r);

/* Runs text[0..len) on the server and streams the results into sink (as
 * sql_session_exec does). 0 when every statement succeeded; otherwise e
 * says what (e->pos set for errors in the text, as a local session sets
 * it) and the code is nonzero: the server's error, TARN_EIO when the
 * server cannot be reached or the reply ended before its last line,
 * TARN_EUNAUTH / TARN_EFORBIDDEN for the key. */
int sql_remote_exec(sql_remote *r, const char *text, size_t len, const sql_sink *sink,
                    sql_error *e);

#endif
