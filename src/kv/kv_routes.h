/*
 * kv/kv_routes.h: the key-value HTTP API and the timestamp oracle on top
 * of a node (node/).
 *
 *   GET    /v1/kv/{key}      read   value, version, mod_index (404 absent)
 *   PUT    /v1/kv/{key}      write  body = raw value; If-Match / If-None-Match
 *   DELETE /v1/kv/{key}      write  If-Match
 *   GET    /v1/kv            read   range scan ?start=&end=&limit=&token=
 *   POST   /v1/kv/txn        write  compares, then puts and deletes
 *   POST   /v1/tso           write  ?count=N strictly increasing timestamps
 *
 * Shapes (values are raw bytes in a PUT body, base64 in JSON; keys are
 * JSON strings, with invalid UTF-8 shown as U+FFFD):
 *   GET    -> 200 {"key","value":b64,"version","mod_index","create_index"}
 *   PUT    -> 200 {"key","version","mod_index"}; If-Match: N (or "N") is
 *             CAS on version N, If-None-Match: * is create-only
 *   DELETE -> 200 {"key","version":0,"mod_index"}; 404 when absent
 *   failed compare -> 409 {"error":{...},"failed_compare":i,"version":cur,
 *             "mod_index":cur,"exists":bool,"value":b64|null}: the failed
 *             compare's key as it is now (absent: version 0, exists false,
 *             value null), so a CAS loop can retry without a read
 *   scan   -> 200 {"items":[item...],"next":token|null}; pass ?token=next
 *             with the same start/end for the next page; limit 1..1000
 *             (default 100); a page also stops past 8 MiB of JSON
 *   txn    <- {"compare":[{"key","version":N}|{"key","value":b64}],
 *              "put":[{"key","value":b64}],"delete":[{"key"}]}
 *          -> 200 {"ok":true,"mod_index"} or 409 as above; all or nothing
 *   tso    -> 200 {"first":T,"count":N}: timestamps T .. T+N-1, each
 *             physical_ms << 18 | logical, strictly increasing across
 *             requests, leaders and restarts
 * Reads are linearizable (ReadIndex barrier) unless
 * ?consistency=serializable. Limits: keys 500 bytes, values
 * KV_VALUE_MAX_BYTES (1 MiB - 1 KiB, so that the largest put fits in one
 * Raft entry): 413 beyond. Keys in the URL are percent-
 * decoded by the HTTP layer BEFORE routing, so a key containing '/' (even
 * sent as %2F) cannot be addressed by /v1/kv/{key} (404): write it with
 * /v1/kv/txn and find it with the scan. A write or linearizable read that
 * cannot be served in time (no leader, no quorum, the forward to the
 * leader lost, the node closing) answers 503 with Retry-After, on the
 * leader and on followers alike; a write may still be applied (retry with
 * a compare).
 *
 * Threads: kv_routes_new/free and kv_routes_add run on one thread before
 * the server starts / after it stopped. The handlers run on HTTP server
 * threads concurrently; the oracle's state has a mutex of its own.
 */
#ifndef TARN_KV_KV_ROUTES_H
#define TARN_KV_KV_ROUTES_H

#include "base/error.h"
#include "http/http.h"
#include "node/node.h"

typedef struct kv_routes kv_routes;

/* How long a handler waits for the node (proposal applied, read barrier). */
#define KV_ROUTES_TIMEOUT_MS_DEFAULT 5000
/* How far ahead (ms) the oracle reserves its window through Raft. */
#define KV_TSO_WINDOW_MS 3000

/* `n` is borrowed and must outlive the routes. timeout_ms 0: default.
 * TARN_ENOMEM. */
int kv_routes_new(node *n, int timeout_ms, kv_routes **out);
void kv_routes_free(kv_routes *kr);

/* Adds the routes above to `r`. Errors as http_router_add. */
int kv_routes_add(http_router *r, kv_routes *kr);

#endif
