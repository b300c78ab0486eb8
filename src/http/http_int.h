/*
 * http/http_int.h: what the files of http/ share and nobody else sees: the
 * router's tables, the per-call state handed to handlers, and the metrics
 * families.
 */
#ifndef TARN_HTTP_HTTP_INT_H
#define TARN_HTTP_HTTP_INT_H

#include "http/http.h"

typedef struct http_route {
    char *method;                  /* owned, upper case */
    char *pattern;                 /* owned, as given */
    char *segs[HTTP_SEGMENTS_MAX]; /* owned copies of pattern segments; "{x}" kept whole */
    size_t seg_count;
    http_role role;
    http_handler_fn fn;
    void *ctx;
} http_route;

struct http_router {
    http_route routes[HTTP_ROUTES_MAX];
    size_t route_count;
};

/* The outcome of matching a path against the table. */
typedef struct http_match {
    const http_route *route; /* NULL: no route for this method */
    int path_known;          /* 1 when some route's pattern matched the path */
    char allow[64];          /* "GET, POST" of the patterns that matched the path */
    size_t param_count;
    const char *param_names[HTTP_PARAMS_MAX]; /* "{id}" segments of the route, braces included */
    char *param_values[HTTP_PARAMS_MAX];      /* point into param_buf */
    char param_buf[HTTP_PATH_MAX + HTTP_PARAMS_MAX];
} http_match;

/* Matches method+path (untrusted). 0 with *m filled (route may be NULL);
 * TARN_EINVAL for a path that cannot name any route (too long, too many
 * segments, a bad percent escape in a parameter). */
int http_router_match(const http_router *r, const char *method, const char *path, http_match *m);

struct http_call {
    const http_request *req;
    const http_match *match;
    char key_id[HTTP_KEY_ID_MAX];
    http_role role;
};

/* Registers the HTTP metric families in obs_global() once. */
int http_metrics_init(void);
/* +delta on tarn_http_connections_open. */
void http_metrics_connections_add(double delta);
/* +1 on tarn_http_rejected_total{reason}. */
void http_metrics_rejected(const char *reason);

/* Fills out (HTTP_ERROR_ID_MAX bytes) with 16 random hex digits. */
void http_error_id_new(char *out);

#endif
