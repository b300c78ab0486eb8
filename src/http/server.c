/*
 * http/server.c: the libmicrohttpd glue. It converts MHD's callbacks into
 * one http_request, calls http_dispatch, and converts the http_response
 * back; the decisions live in dispatch.c. What must happen here because it
 * happens before the body is read:
 *
 *  - Content-Length over max_body_bytes: 413 at once, body never read.
 *  - chunked body: counted into a bounded buffer; once over the limit the
 *    rest is read and dropped (MHD cannot answer mid-upload) and the reply
 *    is 413. Memory stays bounded by max_body_bytes per request.
 *  - connection count: MHD_OPTION_CONNECTION_LIMIT, plus an accept policy
 *    that counts refusals in tarn_http_rejected_total{reason="connection_limit"}.
 *
 * Per-request state (req_state) is made in the URI-log callback (the only
 * callback that sees the raw query string) and freed in the
 * request-completed callback, whatever happened in between.
 */
#include "http/http_int.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char static_500[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"internal error (out of memory)\"}}";

struct http_server {
    struct MHD_Daemon *daemon;
    http_dispatch_env env;
    http_limiter *limiter; /* owned */
    unsigned max_connections;
    atomic_uint open_connections;
    http_stream_set streams; /* streamed replies being produced (stream.c) */
    http_defer_set *defers;  /* deferred replies waiting for their work (defer.c) */
    uint16_t port;
};

typedef struct req_state {
    tarn_buf body;  /* bounded by max_body_bytes: an append past it fails */
    char *query;    /* owned; NULL when the URI had none */
    int started;    /* the access handler saw the headers */
    int dispatched; /* the handler ran: never again for this request */
    int too_large;  /* the body went over the limit: drop the rest, 413 */
    int out_of_memory;
    int64_t t0_ns;
    http_stream *stream;  /* a streamed reply whose status is not queued yet */
    http_deferred *defer; /* a deferred reply not queued yet (defer.c) */
} req_state;

void http_server_opts_default(http_server_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = "127.0.0.1:7070";
    o->max_body_bytes = HTTP_DEFAULT_BODY_MAX;
    o->max_connections = 256;
    o->connection_timeout_s = 30;
    o->threads = 2;
    o->metrics_require_key = 0;
    const double rate[HTTP_ROLE_COUNT] = {0, 100, 100, 50};
    const double burst[HTTP_ROLE_COUNT] = {0, 200, 200, 100};
    memcpy(o->rate_per_s, rate, sizeof(rate));
    memcpy(o->burst, burst, sizeof(burst));
}

/* ---- MHD callbacks ---------------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    http_server *srv = cls;
    req_state *st = tarn_calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL; /* on_request answers the static 500 */
    tarn_buf_init(&st->body, srv->env.max_body_bytes);
    st->t0_ns = tarn_mono_ns();
    const char *q = uri ? strchr(uri, '?') : NULL;
    if (q != NULL && strlen(q + 1) < HTTP_PATH_MAX) {
        st->query = tarn_strdup(q + 1);
        st->out_of_memory = st->query == NULL;
    }
    return st;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_state *st = *con_cls;
    if (st == NULL)
        return;
    if (st->stream != NULL)
        http_stream_abandon(st->stream); /* ended before its reply was queued */
    if (st->defer != NULL)
        http_defer_abandon(st->defer);
    tarn_buf_free(&st->body);
    tarn_free(st->query);
    tarn_free(st);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&srv->open_connections, 1);
        http_metrics_connections_add(1);
    } else {
        atomic_fetch_sub(&srv->open_connections, 1);
        http_metrics_connections_add(-1);
    }
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    http_server *srv = cls;
    if (atomic_load(&srv->open_connections) >= srv->max_connections) {
        http_metrics_rejected("connection_limit");
        return MHD_NO;
    }
    return MHD_YES;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    TARN_LOGF(TARN_LOG_WARN, "http", "libmicrohttpd", TARN_F_STR("detail", line));
}

static const char *header_lookup(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

int http_queue_static_500(struct MHD_Connection *conn)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        sizeof(static_500) - 1, (void *)static_500, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO; /* MHD closes the connection: the best left to do */
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(conn, 500, r);
    MHD_destroy_response(r);
    return ok;
}

int http_queue_response(struct MHD_Connection *conn, const http_response *resp)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        resp->body.len, resp->body.len ? resp->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return http_queue_static_500(conn);
    int ok = 1;
    if (resp->content_type != NULL)
        ok = MHD_add_response_header(r, "Content-Type", resp->content_type) == MHD_YES;
    for (size_t i = 0; ok && i < resp->header_count; i++)
        ok = MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value) == MHD_YES;
    int res = ok ? (int)MHD_queue_response(conn, resp->status, r) : (int)MHD_NO;
    MHD_destroy_response(r);
    return ok ? res : http_queue_static_500(conn);
}

/* A reply made here, before dispatch (413 on the body size): counted and
 * logged like the dispatcher's. */
static enum MHD_Result reply_early(http_server *srv, struct MHD_Connection *conn, req_state *st,
                                   const char *method, const char *url, size_t body_bytes)
{
    http_metrics_rejected("body_too_large");
    http_response resp;
    http_response_init(&resp);
    enum MHD_Result res;
    if (http_reply_error(&resp, 413, "payload_too_large",
                         "request body of %zu bytes or more is over the limit of %zu bytes",
                         body_bytes, srv->env.max_body_bytes) == 0)
        res = http_queue_response(conn, &resp);
    else
        res = http_queue_static_500(conn);
    http_response_free(&resp);
    double secs = (double)(tarn_mono_ns() - st->t0_ns) / 1e9;
    http_metrics_record(NULL, method, 413, secs);
    TARN_LOGF(TARN_LOG_DEBUG, "http", "request", TARN_F_STR("method", method),
              TARN_F_STR("path", url), TARN_F_UINT("status", 413));
    return res;
}

static enum MHD_Result run_dispatch(http_server *srv, struct MHD_Connection *conn, req_state *st,
                                    const char *method, const char *url)
{
    http_request req = {
        .method = method,
        .path = url,
        .query = st->query,
        .header = header_lookup,
        .header_ctx = conn,
        .body = st->body.data,
        .body_len = st->body.len,
    };
    http_response resp;
    http_response_init(&resp);
    enum MHD_Result res;
    if (http_dispatch(&srv->env, &req, &resp) != 0)
        res = http_queue_static_500(conn);
    else if (resp.deferred != NULL)
        res = (enum MHD_Result)http_defer_begin(srv->defers, conn, &resp, method, url, st->t0_ns,
                                                &st->defer);
    else if (resp.stream_fn != NULL)
        res = (enum MHD_Result)http_stream_begin(&srv->streams, conn, &resp, method, url, st->t0_ns,
                                                 &st->stream);
    else
        res = http_queue_response(conn, &resp);
    http_response_free(&resp);
    return res;
}

/* Content-Length over the limit? (An unparsable one is left to MHD, which
 * refuses it with 400.) */
static int content_length_over(struct MHD_Connection *conn, size_t max, size_t *len_out)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl == NULL)
        return 0;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(cl, &end, 10);
    if (end == cl || errno != 0)
        return errno == ERANGE;
    *len_out = v > SIZE_MAX ? SIZE_MAX : (size_t)v;
    return v > max;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    http_server *srv = cls;
    req_state *st = *con_cls;
    if (st == NULL)
        return http_queue_static_500(conn);
    if (st->stream != NULL) {
        /* Resumed: the producer wrote its first bytes or finished. */
        int keep = 0;
        enum MHD_Result res = (enum MHD_Result)http_stream_continue(st->stream, conn, &keep);
        if (!keep)
            st->stream = NULL;
        return res;
    }
    if (st->defer != NULL) {
        /* Resumed: the work finished, or the server stops. */
        int keep = 0;
        enum MHD_Result res = (enum MHD_Result)http_defer_continue(st->defer, conn, &keep);
        if (!keep)
            st->defer = NULL;
        return res;
    }
    if (!st->started) {
        st->started = 1;
        size_t len = 0;
        if (content_length_over(conn, srv->env.max_body_bytes, &len)) {
            st->too_large = 2; /* answered already */
            return reply_early(srv, conn, st, method, url, len);
        }
        return MHD_YES; /* the body, if any, comes in the next calls */
    }
    if (*upload_data_size > 0) {
        if (!st->too_large && !st->out_of_memory) {
            int rc = tarn_buf_append(&st->body, upload_data, *upload_data_size);
            if (rc == TARN_ETOOBIG) {
                st->too_large = 1;
                tarn_buf_free(&st->body); /* drop what we have; the rest is dropped too */
            } else if (rc != 0) {
                st->out_of_memory = 1;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->too_large == 2)
        return MHD_YES;
    if (st->too_large)
        return reply_early(srv, conn, st, method, url, srv->env.max_body_bytes + 1);
    if (st->out_of_memory)
        return http_queue_static_500(conn);
    /* Called again after its reply: MHD_queue_response answers MHD_YES
     * without queuing while the daemon shuts down, and MHD then asks
     * again. A second dispatch would run the handler twice (a write
     * proposed twice): close instead. */
    if (st->dispatched)
        return MHD_NO;
    st->dispatched = 1;
    return run_dispatch(srv, conn, st, method, url);
}

/* ---- start and stop --------------------------------------------------- */

/* "host:port", IPv4 dotted quad (or "localhost"), port 0..65535. */
static int parse_listen(const char *listen, struct sockaddr_in *sa, tarn_err *err)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    char host[64];
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        return tarn_err_set(err, TARN_EINVAL, "listen address %s: want HOST:PORT",
                            listen ? listen : "(null)");
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || errno != 0 || port > 65535)
        return tarn_err_set(err, TARN_EINVAL, "listen address %s: bad port", listen);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return tarn_err_set(err, TARN_EINVAL, "listen address %s: host must be an IPv4 address",
                            listen);
    return 0;
}

/* A peer that closes its socket mid-reply must not kill the process;
 * MHD sends with MSG_NOSIGNAL where it can, this covers the rest. Leaves a
 * handler the embedding application installed alone. */
static void ignore_sigpipe(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
    }
}

static int daemon_start(http_server *srv, const http_server_opts *o, struct sockaddr_in *sa,
                        tarn_err *err)
{
    unsigned threads = o->threads ? o->threads : 1;
    /* Suspend/resume: a streamed reply waits for its producer without a
     * thread of the pool blocking (stream.c). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_OptionItem opts[] = {
        /* First, so that MHD logs nothing through its own logger. */
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, srv},
        {MHD_OPTION_SOCK_ADDR, 0, sa},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)srv->max_connections, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)o->connection_timeout_s, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)(threads > 1 ? threads : 0), NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, srv},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, srv},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 512, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    srv->daemon = MHD_start_daemon(flags, 0, on_accept, srv, on_request, srv, MHD_OPTION_ARRAY,
                                   opts, MHD_OPTION_END);
    if (srv->daemon == NULL)
        return tarn_err_set(err, TARN_EIO, "start HTTP server on %s (port in use?)", o->listen);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : ntohs(sa->sin_port);
    return 0;
}

int http_server_start(const http_server_opts *opts, http_router *router, http_keystore *ks,
                      http_server **out, tarn_err *err)
{
    struct sockaddr_in sa;
    int rc = parse_listen(opts->listen, &sa, err);
    if (rc != 0)
        return rc;
    if (opts->max_connections == 0 || opts->max_connections > 65536)
        return tarn_err_set(err, TARN_EINVAL, "max_connections must be 1..65536");
    if (opts->threads > 256)
        return tarn_err_set(err, TARN_EINVAL, "threads must be at most 256");
    if (opts->metrics_require_key)
        http_router_set_role(router, "GET", "/metrics", HTTP_ROLE_READ);
    http_server *srv = tarn_calloc(1, sizeof(*srv));
    if (srv == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "server");
    rc = http_limiter_new(opts->rate_per_s, opts->burst, &srv->limiter);
    if (rc != 0) {
        tarn_free(srv);
        return tarn_err_set(err, rc, "rate limits: rates and bursts must be finite and >= 0");
    }
    srv->max_connections = opts->max_connections;
    srv->env = (http_dispatch_env){.router = router,
                                   .keys = ks,
                                   .limiter = srv->limiter,
                                   .max_body_bytes = opts->max_body_bytes ? opts->max_body_bytes
                                                                          : HTTP_DEFAULT_BODY_MAX};
    ignore_sigpipe();
    srv->defers = http_defer_set_new();
    if (srv->defers == NULL) {
        http_limiter_free(srv->limiter);
        tarn_free(srv);
        return tarn_err_set(err, TARN_ENOMEM, "server");
    }
    http_stream_set_init(&srv->streams);
    rc = daemon_start(srv, opts, &sa, err);
    if (rc != 0) {
        http_defer_set_stop(srv->defers);
        http_stream_set_stop(&srv->streams);
        http_limiter_free(srv->limiter);
        tarn_free(srv);
        return rc;
    }
    TARN_LOGF(TARN_LOG_INFO, "http", "listening", TARN_F_STR("listen", opts->listen),
              TARN_F_UINT("port", srv->port));
    *out = srv;
    return 0;
}

uint16_t http_server_port(const http_server *srv)
{
    return srv->port;
}

void http_server_stop(http_server *srv)
{
    if (srv == NULL)
        return;
    /* Streams first: cancel them and wait for their producers, which
     * resumes every connection we suspended (MHD must not be stopped with
     * suspended connections). Then MHD_stop_daemon closes the listening
     * socket, lets handlers that run finish, closes every connection and
     * joins the threads. */
    http_stream_set_stop(&srv->streams);
    /* Deferred replies: every suspended one is resumed and answered 503
     * without waiting for its work, which finishes later into a reply
     * nobody sends (defer.c invariant 4). */
    http_defer_set_stop(srv->defers);
    MHD_stop_daemon(srv->daemon);
    http_limiter_free(srv->limiter);
    tarn_free(srv);
}
