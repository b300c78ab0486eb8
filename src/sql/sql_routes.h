/*
 * sql/sql_routes.h: POST /v1/sql on the HTTP edge (registered by the
 * process that owns the node and the object store: `tarn local`).
 *
 *   POST /v1/sql  {"sql": "SELECT ..."}      role: read (write for scripts
 *                                            with statements that write)
 *   200 {"columns": [{"name": "region", "type": "VARCHAR"}, ...],
 *        "rows": [["east", 10, "137.50"], ...],
 *        "statements": [{"kind": "select", "rows": 3, "version": -1,
 *                        "elapsed_ms": 1.2}, ...]}
 *
 * columns and rows are those of the last statement that returned rows
 * (absent when none did). Values as `tarn sql --format json` prints them:
 * numbers as JSON numbers, decimals, dates and timestamps as strings, NULL
 * as null. Errors use the standard envelope: 400 bad_request for errors
 * in the SQL (the message has the line and column), 403 when a read key
 * sends a write, 409 on a commit conflict, 413 when the result is larger
 * than the response limit (add a LIMIT), 500 otherwise.
 *
 * Threads: each request runs in its own session on the server thread
 * that received it; the node and the store are shared (thread-safe).
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
