/*
 * catalog/catalog_routes.h: the catalog's HTTP API on a node (node/): the
 * lakehouse's tables and their commits, for writers in other processes
 * (the client library's delta committer, `tarn table --server|--cluster`).
 * Shapes, errors and limits: src/catalog/README.md.
 *
 *   GET    /v1/catalog                              read   store root, limits
 *   GET    /v1/catalog/pending                      read   versions whose log is unwritten
 *   GET    /v1/tables                               read   ?after=&limit= table names
 *   POST   /v1/tables                               write  create {name, schema, ...}
 *   GET    /v1/tables/{name}                        read   the table and its latest version
 *   DELETE /v1/tables/{name}                        admin  drop
 *   POST   /v1/tables/{name}/commits                write  {base_version, txn_id, actions,
 *                                                          blind_append}
 *   GET    /v1/tables/{name}/commits                read   ?from=&to=&limit= versions, paged
 *   POST   /v1/tables/{name}/commits/{v}/written    write  _delta_log/<v>.json is written
 *
 * Writes go through Raft (a follower forwards them to the leader); reads
 * are linearizable (ReadIndex) unless ?consistency=serializable. A write
 * whose proposal times out answers 503: it may still apply, and a commit
 * retried with the same txn_id answers the first result.
 *
 * Threads: catalog_routes_new/free and catalog_routes_add run on one
 * thread before the server starts / after it stopped; handlers run on
 * HTTP server threads concurrently (they share nothing mutable).
 */
#ifndef TARN_CATALOG_CATALOG_ROUTES_H
#define TARN_CATALOG_CATALOG_ROUTES_H

#include "base/error.h"
#include "http/http.h"
#include "node/node.h"

typedef struct catalog_routes catalog_routes;

/* How long a handler waits for the node (proposal applied, read barrier). */
#define CATALOG_ROUTES_TIMEOUT_MS_DEFAULT 5000
/* Page sizes: tables listed, versions read, pending versions. */
#define CATALOG_LIST_LIMIT_MAX     1000
#define CATALOG_VERSIONS_LIMIT_MAX 1000
#define CATALOG_PENDING_LIMIT_MAX  4096
/* A versions page stops adding versions past this many body bytes (it
 * always holds at least one). */
#define CATALOG_VERSIONS_BODY_MAX (8u << 20)
/* Longest object-store root reported by GET /v1/catalog. */
#define CATALOG_STORE_URL_MAX 4096

typedef struct catalog_routes_opts {
    int timeout_ms; /* 0: CATALOG_ROUTES_TIMEOUT_MS_DEFAULT */
    /* The object-store root the tables' files live in, as writers should
     * open it (an absolute directory for the file store), reported by GET
     * /v1/catalog; NULL: not known to this server (writers must be told).
     * Copied. */
    const char *store_url;
} catalog_routes_opts;

/* `n` is borrowed and must outlive the routes. opts may be NULL.
 * TARN_EINVAL (store_url too long), TARN_ENOMEM. */
int catalog_routes_new(node *n, const catalog_routes_opts *opts, catalog_routes **out);
void catalog_routes_free(catalog_routes *cr);

/* Adds the routes above to `r`. Errors as http_router_add. */
int catalog_routes_add(http_router *r, catalog_routes *cr);

#endif
