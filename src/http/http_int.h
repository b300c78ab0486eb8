/*
 * http/http_int.h: what the files of http/ share and nobody else sees: the
 * router's tables, the per-call state handed to handlers, and the metrics
 * families.
 */
#ifndef TARN_HTTP_HTTP_INT_H
#define TARN_HTTP_HTTP_INT_H

#include "http/http.h"

#include <pthread.h>

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

/* Fills resp with the error reply for a handler's code (the table in
 * http.h: EINVAL -> 400 ... anything else 500 with an error id).
 * TARN_ENOMEM when even that fails. */
int http_reply_from_code(http_response *resp, int code, const tarn_err *err);

/* ---- streamed responses (stream.c) ---------------------------------- */

struct MHD_Connection;

/* The streams of one server: to refuse new ones past HTTP_STREAMS_MAX or
 * while stopping, and to cancel and wait for all at stop. */
typedef struct http_stream_set {
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when a producer thread ends */
    http_stream *live;   /* every stream not yet freed */
    unsigned producing;  /* producer threads running */
    int stopping;        /* refuse new streams */
    /* The watcher: polls the sockets of suspended connections for a
     * hang-up (MHD does not watch a suspended socket). Started with the
     * first stream, sleeps on `poke` while no producer runs. */
    pthread_cond_t poke;
    pthread_t watcher;
    int watching; /* the watcher thread runs */
} http_stream_set;

void http_stream_set_init(http_stream_set *set);
/* Cancels every stream (their next write gets TARN_ECLOSED, suspended
 * connections are resumed) and waits until every producer has returned.
 * New streams are refused from here on. */
void http_stream_set_stop(http_stream_set *set);

/* In the access handler, once http_dispatch returned a stream reply in
 * resp: starts the producer and suspends the connection until the status
 * is known (*out: the connection's reference), or answers 503/500 at once
 * (*out NULL). The producer is taken from resp. */
int http_stream_begin(http_stream_set *set, struct MHD_Connection *conn, http_response *resp,
                      const char *method, const char *path, int64_t t0_ns, http_stream **out);
/* In the access handler, called again after a resume: queues the reply
 * once the status is known. Returns the MHD result; *keep is set to 1 when
 * the connection still holds its reference (still waiting), 0 when the
 * reference went to the queued response or was released. */
int http_stream_continue(http_stream *s, struct MHD_Connection *conn, int *keep);
/* The request ended before its reply was queued: cancels the producer and
 * drops the connection's reference. */
void http_stream_abandon(http_stream *s);

/* ---- deferred replies (defer.c) ------------------------------------- */

/* The deferred replies of one server, so that its stop can resume every
 * suspended connection before MHD_stop_daemon. Heap-allocated and
 * reference counted (the server and every linked reply): a reply finished
 * after the server is gone unlinks itself from a set that is still there. */
typedef struct http_defer_set http_defer_set;

http_defer_set *http_defer_set_new(void);
/* Answers every unfinished reply 503 (resuming its connection), refuses
 * new ones (503 at once) and drops the server's reference. Never waits
 * for the work. */
void http_defer_set_stop(http_defer_set *set);

/* In the access handler, once http_dispatch returned a deferred reply in
 * resp: queues the reply if it is finished already, else suspends the
 * connection (*out: the connection's reference). Takes resp->deferred.
 * Returns the MHD result. */
int http_defer_begin(http_defer_set *set, struct MHD_Connection *conn, http_response *resp,
                     const char *method, const char *path, int64_t t0_ns, http_deferred **out);
/* In the access handler after a resume: queues the reply (or the 503 of a
 * stopping server). *keep = 1 when the connection still waits. */
int http_defer_continue(http_deferred *d, struct MHD_Connection *conn, int *keep);
/* The request ended before its reply was queued (client gone, daemon
 * shut down): drops the connection's reference, logs 499. */
void http_defer_abandon(http_deferred *d);
/* What dispatch knows for the log line: route pattern (static for the
 * router's life), key id. */
void http_defer_note(http_deferred *d, const char *route, const char *key_id);
/* Drops the connection's reference of a deferred reply nobody took
 * (http_response_reset/free). */
void http_defer_release(http_deferred *d);

/* server.c's reply helpers, for stream.c and defer.c. */
int http_queue_response(struct MHD_Connection *conn, const http_response *resp);
int http_queue_static_500(struct MHD_Connection *conn);

#endif
