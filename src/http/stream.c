/*
 * http/stream.c: streamed response bodies (http.h "streamed responses";
 * README "Streamed responses"). A producer thread writes into a bounded
 * ring; libmicrohttpd's content-reader callback drains it into the socket
 * with chunked transfer encoding.
 *
 * Two sides share one http_stream:
 *
 *   producer thread: fn(ctx, s) -> http_stream_write ... -> finished
 *   connection:      access handler (suspended until the status is known)
 *                    -> content reader (suspended while the ring is empty)
 *                    -> content-reader free (the response is done)
 *
 * Invariants (all under s->mu):
 *  1. 0 <= len <= HTTP_STREAM_BUF_BYTES: the producer waits on `space`
 *     while the ring is full, so a stream never holds more than the ring.
 *  2. suspended == 1 exactly while the connection is suspended by us;
 *     whoever makes progress possible (data written, producer finished,
 *     cancellation) resumes it (wake), and only then, so a connection is
 *     never resumed twice nor left suspended.
 *  3. Once cancelled, a write returns TARN_ECLOSED and the content reader
 *     ends the body with an error; cancelled never goes back to 0. The
 *     producer's on_cancel hook runs exactly once, at the cancellation
 *     (or at its registration if later), with mu held.
 *  4. refs counts the producer and the connection side (the request state,
 *     then the queued response); the last one to let go frees the stream
 *     and unlinks it from its set.
 *
 * States of the connection side:
 *
 *   pending --(first write: started)--> streaming --(drained, finished)--> end
 *      |                                    |
 *      +--(finished before a write)--> ordinary reply (error or empty 200)
 *      +--(cancelled: stop)---------> 503      +--(client gone / stop)--> cut short
 *      +--(cancelled: hang-up seen by the watcher)--> closed, logged 499
 *
 * MHD does not watch the socket of a suspended connection, so a client
 * that hangs up while the producer computes (nothing to write) would go
 * unnoticed until the producer's first write. The set's watcher thread
 * polls the sockets of suspended connections for POLLRDHUP/POLLHUP every
 * HTTP_STREAM_WATCH_MS while producers run (one poll over at most
 * HTTP_STREAMS_MAX descriptors; it sleeps while none run) and cancels the
 * stream of a socket that hung up. A client that half-closes its side
 * after the request is treated as gone, as MHD itself does on a read EOF.
 */
#define _GNU_SOURCE /* POLLRDHUP: the peer closed its side */
#include "http/http_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

#include <microhttpd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#define RING HTTP_STREAM_BUF_BYTES

struct http_stream {
    pthread_mutex_t mu;
    pthread_cond_t space;         /* the producer waits here while the ring is full */
    uint8_t *ring;                /* RING bytes */
    size_t head, len;             /* len bytes from head, wrapping (invariant 1) */
    int refs;                     /* invariant 4 */
    int started;                  /* something was written: the 200 is committed */
    int finished;                 /* the producer returned rc */
    int cancelled;                /* invariant 3 */
    int suspended;                /* invariant 2 */
    int replied;                  /* the producer set an error reply (http_stream_reply_error) */
    int recorded;                 /* metrics and log line written */
    int client_gone;              /* cancelled because the watcher saw the socket hang up */
    int fd;                       /* the connection's socket, for the watcher */
    void (*on_cancel)(void *arg); /* the producer's hook (http_stream_on_cancel) */
    void *on_cancel_arg;
    int rc;
    tarn_err err; /* the producer's error, for the log line */
    struct MHD_Connection *conn;
    http_stream_set *set;
    http_stream *prev, *next; /* in set->live */
    http_response reply;      /* status and headers; the error reply if it failed first */
    http_stream_fn fn;
    void *ctx;
    void (*ctx_free)(void *ctx);
    const char *route;
    char method[16];
    char path[256];
    int64_t t0_ns;
    uint64_t bytes; /* written by the producer */
};

/* ---- the set ----------------------------------------------------------- */

void http_stream_set_init(http_stream_set *set)
{
    memset(set, 0, sizeof(*set));
    pthread_mutex_init(&set->mu, NULL);
    pthread_cond_init(&set->idle, NULL);
    pthread_cond_init(&set->poke, NULL);
}

/* Resumes the connection if we suspended it (invariant 2). Under s->mu. */
static void wake(http_stream *s)
{
    if (s->suspended) {
        s->suspended = 0;
        MHD_resume_connection(s->conn);
    }
}

static void cancel_locked(http_stream *s)
{
    if (!s->cancelled && s->on_cancel != NULL)
        s->on_cancel(s->on_cancel_arg);
    s->cancelled = 1;
    pthread_cond_broadcast(&s->space);
    wake(s);
}

/* ---- the watcher ------------------------------------------------------- */

static void stream_unref(http_stream *s);

/* Streams whose connection we suspended, each with a reference taken, and
 * their sockets. Under set->mu. */
static size_t watch_collect(http_stream_set *set, http_stream **ss, struct pollfd *fds)
{
    size_t n = 0;
    for (http_stream *s = set->live; s != NULL && n < HTTP_STREAMS_MAX; s = s->next) {
        pthread_mutex_lock(&s->mu);
        /* refs 0: being unlinked by stream_unref, never to be touched. */
        if (s->suspended && !s->cancelled && s->refs > 0 && s->fd >= 0) {
            s->refs++;
            ss[n] = s;
            fds[n] = (struct pollfd){.fd = s->fd, .events = POLLRDHUP};
            n++;
        }
        pthread_mutex_unlock(&s->mu);
    }
    return n;
}

static void *watch_main(void *arg)
{
    http_stream_set *set = arg;
    http_stream *ss[HTTP_STREAMS_MAX];
    struct pollfd fds[HTTP_STREAMS_MAX];
    pthread_mutex_lock(&set->mu);
    while (!set->stopping) {
        if (set->producing == 0) {
            pthread_cond_wait(&set->poke, &set->mu); /* idle: costs nothing */
            continue;
        }
        size_t n = watch_collect(set, ss, fds);
        pthread_mutex_unlock(&set->mu);
        /* A hang-up ends the poll at once; the timeout only picks up
         * connections suspended since. */
        int ready = poll(fds, n, HTTP_STREAM_WATCH_MS);
        for (size_t i = 0; i < n; i++) {
            http_stream *s = ss[i];
            pthread_mutex_lock(&s->mu);
            /* Still suspended: the connection is alive, so the descriptor
             * was its own all along (MHD closes it only after a resume). */
            if (ready > 0 && (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) && s->suspended &&
                !s->cancelled) {
                s->client_gone = 1;
                cancel_locked(s);
            }
            pthread_mutex_unlock(&s->mu);
            stream_unref(s);
        }
        pthread_mutex_lock(&set->mu);
    }
    pthread_mutex_unlock(&set->mu);
    return NULL;
}

/* Starts the watcher with the set's first stream. Under set->mu. */
static int watch_start(http_stream_set *set)
{
    if (set->watching)
        return 0;
    if (pthread_create(&set->watcher, NULL, watch_main, set) != 0)
        return TARN_EBUSY;
    set->watching = 1;
    return 0;
}

void http_stream_set_stop(http_stream_set *set)
{
    pthread_mutex_lock(&set->mu);
    set->stopping = 1;
    for (http_stream *s = set->live; s != NULL; s = s->next) {
        pthread_mutex_lock(&s->mu);
        cancel_locked(s);
        pthread_mutex_unlock(&s->mu);
    }
    /* A producer inside a long computation notices at its next write, or
     * at once through its on_cancel hook. */
    while (set->producing > 0)
        pthread_cond_wait(&set->idle, &set->mu);
    pthread_cond_broadcast(&set->poke);
    int watching = set->watching;
    set->watching = 0;
    pthread_mutex_unlock(&set->mu);
    if (watching)
        pthread_join(set->watcher, NULL);
}

/* Frees a stream that is in no set. */
static void stream_destroy(http_stream *s)
{
    http_response_free(&s->reply);
    pthread_cond_destroy(&s->space);
    pthread_mutex_destroy(&s->mu);
    tarn_free(s->ring);
    tarn_free(s);
}

static void stream_unref(http_stream *s)
{
    pthread_mutex_lock(&s->mu);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (!last)
        return;
    http_stream_set *set = s->set;
    pthread_mutex_lock(&set->mu);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        set->live = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&set->mu);
    stream_destroy(s);
}

/* The request's metrics and log line, once its status and length are
 * known (dispatch leaves them to us for streams). Under s->mu. */
static void stream_record(http_stream *s, unsigned status)
{
    if (s->recorded)
        return;
    s->recorded = 1;
    double secs = (double)(tarn_mono_ns() - s->t0_ns) / 1e9;
    http_metrics_record(s->route, s->method, status, secs);
    const char *outcome = s->cancelled && !s->finished ? "cancelled"
                          : s->rc != 0                 ? "failed"
                                                       : "complete";
    tarn_log_field f[] = {
        TARN_F_STR("method", s->method),
        TARN_F_STR("path", s->path),
        TARN_F_STR("route", s->route ? s->route : "unmatched"),
        TARN_F_UINT("status", status),
        TARN_F_DBL("duration_ms", secs * 1e3),
        TARN_F_UINT("bytes", s->bytes),
        TARN_F_STR("stream", outcome),
        TARN_F_STR("error_id", s->reply.error_id),
        TARN_F_STR("detail", s->rc != 0 ? tarn_err_msg(&s->err) : ""),
    };
    int bad = status >= 500 || (s->started && s->rc != 0 && s->rc != TARN_ECLOSED);
    tarn_log_emit(bad ? TARN_LOG_ERROR : TARN_LOG_DEBUG, "http",
                  bad ? "streamed request failed" : "streamed request", f, TARN_ARRAY_LEN(f));
}

/* ---- the producer ------------------------------------------------------ */

static void *producer_main(void *arg)
{
    http_stream *s = arg;
    tarn_err err = TARN_ERR_INIT;
    int rc = s->fn(s->ctx, s, &err);
    http_stream_on_cancel(s, NULL, NULL); /* its argument may die with ctx */
    if (s->ctx_free != NULL)
        s->ctx_free(s->ctx);
    s->ctx = NULL;
    pthread_mutex_lock(&s->mu);
    s->finished = 1;
    s->rc = rc;
    s->err = err;
    /* Failed before a byte: an ordinary error reply (invariant: the
     * connection side reads reply only once finished or started). */
    if (rc != 0 && !s->started && !s->replied && http_reply_from_code(&s->reply, rc, &err) != 0)
        s->reply.status = 0; /* not even that: the static 500 */
    pthread_cond_broadcast(&s->space);
    wake(s);
    pthread_mutex_unlock(&s->mu);
    http_stream_set *set = s->set;
    stream_unref(s);
    pthread_mutex_lock(&set->mu);
    set->producing--;
    pthread_cond_broadcast(&set->idle);
    pthread_mutex_unlock(&set->mu);
    return NULL;
}

int http_stream_write(http_stream *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    pthread_mutex_lock(&s->mu);
    while (len > 0) {
        if (s->cancelled) {
            pthread_mutex_unlock(&s->mu);
            return TARN_ECLOSED;
        }
        s->started = 1;
        size_t room = RING - s->len;
        if (room == 0) {
            wake(s);
            pthread_cond_wait(&s->space, &s->mu);
            continue;
        }
        size_t tail = (s->head + s->len) % RING;
        size_t n = len < room ? len : room;
        n = n < RING - tail ? n : RING - tail;
        memcpy(s->ring + tail, p, n);
        s->len += n;
        s->bytes += n;
        p += n;
        len -= n;
    }
    int rc = s->cancelled ? TARN_ECLOSED : 0;
    wake(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int http_stream_started(const http_stream *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    int started = s->started;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    return started;
}

void http_stream_on_cancel(http_stream *s, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&s->mu);
    if (fn != NULL && s->cancelled)
        fn(arg);
    s->on_cancel = fn;
    s->on_cancel_arg = arg;
    pthread_mutex_unlock(&s->mu);
}

int http_stream_cancelled(const http_stream *s)
{
    pthread_mutex_lock((pthread_mutex_t *)&s->mu);
    int cancelled = s->cancelled;
    pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
    return cancelled;
}

int http_stream_reply_error(http_stream *s, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s->mu);
    int rc = TARN_ESTATE;
    if (!s->started) {
        rc = http_reply_error(&s->reply, status, code, "%s", msg);
        s->replied = rc == 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- the connection ---------------------------------------------------- */

static ssize_t content_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_stream *s = cls;
    pthread_mutex_lock(&s->mu);
    ssize_t out;
    if (s->cancelled) {
        out = MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (s->len > 0) {
        size_t n = s->len < max ? s->len : max;
        size_t first = n < RING - s->head ? n : RING - s->head;
        memcpy(buf, s->ring + s->head, first);
        memcpy(buf + first, s->ring, n - first);
        s->head = (s->head + n) % RING;
        s->len -= n;
        pthread_cond_signal(&s->space);
        out = (ssize_t)n;
    } else if (s->finished) {
        /* An error after the body started: leave the chunked encoding
         * unterminated so that the client sees the body cut short. */
        out = s->rc == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    } else {
        /* Nothing yet: wait without a busy loop until the producer wakes us. */
        s->suspended = 1;
        MHD_suspend_connection(s->conn);
        out = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}

/* The response is done with (sent, cut short, or the client went away). */
static void content_reader_free(void *cls)
{
    http_stream *s = cls;
    pthread_mutex_lock(&s->mu);
    if (!s->finished || s->len > 0)
        cancel_locked(s); /* the client went away: stop the producer */
    stream_record(s, s->reply.status);
    pthread_mutex_unlock(&s->mu);
    stream_unref(s);
}

static int refuse(struct MHD_Connection *conn, http_response *resp, const char *method,
                  unsigned status, const char *msg)
{
    int rc = http_reply_error(resp, status, http_status_code_name(status), "%s", msg);
    int res = rc == 0 ? http_queue_response(conn, resp) : http_queue_static_500(conn);
    http_metrics_record(resp->route, method, rc == 0 ? status : 500, 0);
    return res;
}

static http_stream *stream_new(http_response *resp, const char *method, const char *path,
                               int64_t t0_ns)
{
    http_stream *s = tarn_calloc(1, sizeof(*s));
    uint8_t *ring = s ? tarn_malloc(RING) : NULL;
    if (ring == NULL) {
        tarn_free(s);
        return NULL;
    }
    s->ring = ring;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->space, NULL);
    http_response_init(&s->reply);
    s->reply.status = resp->status;
    s->reply.content_type = resp->content_type;
    memcpy(s->reply.headers, resp->headers, sizeof(resp->headers));
    s->reply.header_count = resp->header_count;
    s->route = resp->route;
    s->fn = resp->stream_fn;
    s->ctx = resp->stream_ctx;
    s->ctx_free = resp->stream_ctx_free;
    resp->stream_fn = NULL; /* taken: the stream releases ctx from here on */
    resp->stream_ctx = NULL;
    resp->stream_ctx_free = NULL;
    snprintf(s->method, sizeof(s->method), "%s", method);
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->t0_ns = t0_ns;
    s->fd = -1;
    s->refs = 2; /* the producer and the connection */
    return s;
}

int http_stream_begin(http_stream_set *set, struct MHD_Connection *conn, http_response *resp,
                      const char *method, const char *path, int64_t t0_ns, http_stream **out)
{
    *out = NULL;
    pthread_mutex_lock(&set->mu);
    const char *busy = set->stopping                        ? "the server is stopping"
                       : set->producing >= HTTP_STREAMS_MAX ? "too many streamed replies at once; "
                                                              "retry shortly"
                                                            : NULL;
    if (busy == NULL && watch_start(set) != 0)
        busy = "cannot start a thread for the reply; retry";
    http_stream *s = busy ? NULL : stream_new(resp, method, path, t0_ns);
    if (s == NULL) {
        pthread_mutex_unlock(&set->mu);
        http_metrics_rejected("streams");
        return refuse(conn, resp, method, busy ? 503 : 500, busy ? busy : "out of memory");
    }
    s->set = set;
    s->conn = conn;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    s->fd = ci != NULL ? ci->connect_fd : -1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    /* Holding s->mu while the thread starts: its first write waits until
     * the connection is suspended (invariant 2). */
    pthread_mutex_lock(&s->mu);
    int prc = pthread_create(&th, &attr, producer_main, s);
    pthread_attr_destroy(&attr);
    if (prc != 0) {
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_unlock(&set->mu);
        if (s->ctx_free != NULL)
            s->ctx_free(s->ctx);
        stream_destroy(s); /* never linked */
        return refuse(conn, resp, method, 503, "cannot start a thread for the reply; retry");
    }
    s->next = set->live;
    if (set->live != NULL)
        set->live->prev = s;
    set->live = s;
    set->producing++;
    pthread_cond_broadcast(&set->poke); /* the watcher has work */
    pthread_mutex_unlock(&set->mu);
    s->suspended = 1;
    MHD_suspend_connection(conn);
    pthread_mutex_unlock(&s->mu);
    *out = s;
    return MHD_YES;
}

/* Queues the 200 whose body the content reader produces. The connection's
 * reference goes to the response. */
static int queue_streaming(http_stream *s, struct MHD_Connection *conn)
{
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, HTTP_STREAM_CHUNK_BYTES, content_reader, s, content_reader_free);
    if (r == NULL) {
        pthread_mutex_lock(&s->mu);
        cancel_locked(s);
        stream_record(s, 500);
        pthread_mutex_unlock(&s->mu);
        stream_unref(s);
        return http_queue_static_500(conn);
    }
    int ok = s->reply.content_type == NULL ||
             MHD_add_response_header(r, "Content-Type", s->reply.content_type) == MHD_YES;
    for (size_t i = 0; ok && i < s->reply.header_count; i++)
        ok = MHD_add_response_header(r, s->reply.headers[i].name, s->reply.headers[i].value) ==
             MHD_YES;
    enum MHD_Result res = ok ? MHD_queue_response(conn, s->reply.status, r) : MHD_NO;
    MHD_destroy_response(r); /* content_reader_free runs when MHD is done with it */
    return res;
}

int http_stream_continue(http_stream *s, struct MHD_Connection *conn, int *keep)
{
    pthread_mutex_lock(&s->mu);
    *keep = 0;
    if (!s->started && !s->finished && !s->cancelled) {
        s->suspended = 1; /* woken without news: wait again */
        MHD_suspend_connection(conn);
        pthread_mutex_unlock(&s->mu);
        *keep = 1;
        return MHD_YES;
    }
    if (s->started) {
        pthread_mutex_unlock(&s->mu);
        return queue_streaming(s, conn);
    }
    int res;
    if (s->finished && s->reply.status != 0) {
        stream_record(s, s->reply.status);
        res = http_queue_response(conn, &s->reply); /* an error, or an empty 200 */
    } else if (s->finished) {
        stream_record(s, 500);
        res = http_queue_static_500(conn);
    } else if (s->client_gone) {
        /* The watcher saw the socket hang up: nobody to answer. */
        stream_record(s, 499);
        res = MHD_NO;
    } else {
        /* Cancelled by the server's stop while the producer still runs. */
        http_response resp;
        http_response_init(&resp);
        resp.route = s->route;
        s->recorded = 1; /* refuse records it */
        res = refuse(conn, &resp, s->method, 503, "the server is stopping");
        http_response_free(&resp);
    }
    pthread_mutex_unlock(&s->mu);
    stream_unref(s);
    return res;
}

void http_stream_abandon(http_stream *s)
{
    pthread_mutex_lock(&s->mu);
    cancel_locked(s);
    stream_record(s, 499);
    pthread_mutex_unlock(&s->mu);
    stream_unref(s);
}

int http_stream_reply_json(http_stream *s, unsigned status, const json_t *body)
{
    pthread_mutex_lock(&s->mu);
    int rc = TARN_ESTATE;
    if (!s->started) {
        rc = http_reply_json(&s->reply, status, body);
        s->replied = rc == 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
