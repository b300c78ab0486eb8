/*
 * sql/sql_routes.h: POST /v1/sql on the HTTP edge (registered by the
 * process that owns the node and the object store: `tarn local`).
 *
 *   POST /v1/sql  {"sql": "SELECT ..."}      role: read (write for scripts
 *                                            with statements that write)
 *
 * Two reply shapes, chosen by the Accept header:
 *
 * Streamed reply (Accept: application/x-ndjson): 200, Content-Type
 * application/x-ndjson, chunked; one JSON value per line, sent as the
 * statements run, so a result of any size streams in bounded memory (the
 * edge's HTTP_STREAM_BUF_BYTES buffer; a slow client slows the query):
 *
 *   {"columns":[{"name":"region","type":"VARCHAR"},...],"statement":0}
 *                                  a statement that returns rows begins
 *   ["east",10,"137.50"]           one row (values as below)
 *   {"statement":{"kind":"select","rows":3,"version":-1,"elapsed_ms":1.2},"index":0}
 *                                  a statement finished (also for writes:
 *                                  "version" is the committed version)
 *   {"end":{"statements":2}}       the last line of a script that succeeded
 *   {"error":{"code":"bad_request","message":"...","sql_error":{...},"statement":1}}
 *                                  the last line of a script that failed
 *
 * A client must see "end" or "error" as the last line: anything else (the
 * connection dropped) means the result is incomplete. After an "error"
 * line the server also leaves the chunked body unterminated, so a client
 * that only looks at HTTP sees an incomplete transfer. An error before the
 * first line is an ordinary error reply with its status, as below: syntax,
 * unknown names, a read key sending a write, and a first statement that
 * fails before its first row (its header line waits for its rows). A client that
 * disconnects cancels the script at its next row (statements already
 * committed stay committed).
 *
 * Buffered reply (any other Accept; the original shape):
 *
 *   200 {"columns": [{"name": "region", "type": "VARCHAR"}, ...],
 *        "rows": [["east", 10, "137.50"], ...],
 *        "statements": [{"kind": "select", "rows": 3, "version": -1,
 *                        "elapsed_ms": 1.2}, ...]}
 *
 * columns and rows are those of the last statement that returned rows
 * (absent when none did), built in memory up to the edge's response limit
 * (HTTP_RESP_BODY_MAX): a larger result is 413 (add a LIMIT, or ask for
 * the streamed reply).
 *
 * Values as `tarn sql --format json` prints them: numbers as JSON
 * numbers, decimals, dates and timestamps as strings, NaN and the
 * infinities as strings, NULL as null.
 *
 * Errors use the standard envelope: 400 bad_request for errors in the SQL
 * (the message has the line and column), 403 when a read key sends a
 * write, 409 on a commit conflict, 413 too_large, 400 memory_budget when a
 * statement exceeds its memory budget, 500 otherwise. Errors in the SQL
 * carry "sql_error": {"code": <TARN_E* value>, "line", "column", "offset"
 * (bytes into the script), "message", "hint"}, so a client can point at
 * the text itself (`tarn sql --server` prints the caret as a local
 * session does).
 *
 * Threads: each buffered request runs in its own session on the server
 * thread that received it; each streamed one on a thread of the edge's
 * (at most HTTP_STREAMS_MAX at once; more are 503). The node and the store
 * are shared (thread-safe).
 */
#ifndef TARN_SQL_SQL_ROUTES_H
#define TARN_SQL_SQL_ROUTES_H

#include "http/http.h"
#include "objstore/objstore.h"

#include <stddef.h>

typedef struct node node;
typedef struct sql_routes sql_routes;

/* mem_budget_bytes: per statement, 0 for the default. TARN_ENOMEM. */
int sql_routes_new(node *n, objstore *os, size_t mem_budget_bytes, sql_routes **out);
void sql_routes_free(sql_routes *r);
/* Adds POST /v1/sql. Errors as http_router_add. */
int sql_routes_add(http_router *router, sql_routes *r);

#endif
