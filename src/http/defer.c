/*
 * http/defer.c: deferred replies (http.h "deferred replies"; README
 * "Deferred replies"). A handler hands an http_deferred to asynchronous
 * work and returns; the connection is suspended until the work finishes
 * on whatever thread, which stores the reply and resumes it; the access
 * handler then queues the reply.
 *
 * Two sides share one http_deferred, each holding a reference:
 *
 *   work:        http_deferred_finish (exactly once, any thread)
 *   connection:  the response (until the server takes it), then the
 *                request state: begin -> (suspended) -> continue, or
 *                abandon when MHD ends the request first
 *
 * Invariants (under d->mu):
 *  1. suspended == 1 exactly while the connection is suspended by us.
 *     Whoever clears it resumes the connection, and only they: the finish,
 *     or the set's stop. So a connection is resumed exactly once per
 *     suspension and never left suspended when MHD stops.
 *  2. MHD is touched through d->conn only by the connection side (on its
 *     MHD thread) or while suspended == 1: a suspended connection is
 *     alive (MHD frees it only after a resume), so a late finish, after
 *     the client went away or the server stopped, never reaches MHD.
 *  3. finished goes 0 -> 1 once; the reply is read by the connection side
 *     only once finished (the work side owns it until then).
 *  4. The last reference frees d and unlinks it from its set. The set is
 *     kept alive by every linked reply, so a finish after
 *     http_server_stop unlinks from memory that is still there.
 *
 * Lock order: set->mu, then d->mu, then MHD's own (MHD_resume_connection).
 * finish takes only d->mu (and set->mu after dropping it, to unlink), so
 * the node's apply thread that calls it holds nothing MHD waits for.
 *
 * No hang-up watcher (stream.c has one): the work cannot be cancelled (a
 * proposed Raft entry may still commit), and it always finishes within its
 * own timeout, so a client that hangs up while waiting is noticed when the
 * reply is sent, as MHD notices any other closed socket.
 */
#include "http/http_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

struct http_defer_set {
    pthread_mutex_t mu;
    http_deferred *live; /* linked replies not yet freed */
    int refs;            /* the server's, plus one per linked reply */
    int stopping;        /* refuse new replies; unfinished ones answered 503 */
};

struct http_deferred {
    pthread_mutex_t mu;
    int refs;      /* invariant 4: work side + connection side */
    int finished;  /* invariant 3 */
    int suspended; /* invariant 1 */
    int stopped;   /* the server stopped before the finish: answer 503 */
    int recorded;  /* metrics and log line written */
    struct MHD_Connection *conn;
    http_defer_set *set; /* NULL until linked */
    http_deferred *prev, *next;
    http_response reply; /* filled by the work side, sent by the connection side */
    tarn_err err;        /* the work's error, for the log line */
    const char *route;
    char key_id[HTTP_KEY_ID_MAX];
    char method[16];
    char path[256];
    int64_t t0_ns;
};

/* ---- the set ----------------------------------------------------------- */

http_defer_set *http_defer_set_new(void)
{
    http_defer_set *set = tarn_calloc(1, sizeof(*set));
    if (set == NULL)
        return NULL;
    if (pthread_mutex_init(&set->mu, NULL) != 0) {
        tarn_free(set);
        return NULL;
    }
    set->refs = 1;
    return set;
}

/* Drops one reference (under nothing); the last frees the set. */
static void set_unref(http_defer_set *set, int locked)
{
    if (!locked)
        pthread_mutex_lock(&set->mu);
    int last = --set->refs == 0;
    pthread_mutex_unlock(&set->mu);
    if (last) {
        pthread_mutex_destroy(&set->mu);
        tarn_free(set);
    }
}

void http_defer_set_stop(http_defer_set *set)
{
    if (set == NULL)
        return;
    pthread_mutex_lock(&set->mu);
    set->stopping = 1;
    for (http_deferred *d = set->live; d != NULL; d = d->next) {
        pthread_mutex_lock(&d->mu);
        if (!d->finished)
            d->stopped = 1;
        if (d->suspended) { /* invariant 1: we clear it, we resume */
            d->suspended = 0;
            MHD_resume_connection(d->conn);
        }
        pthread_mutex_unlock(&d->mu);
    }
    set_unref(set, 1); /* the server's reference */
}

/* ---- one reply ----------------------------------------------------------- */

int http_reply_defer(http_response *r, http_deferred **out)
{
    http_response_reset(r);
    http_deferred *d = tarn_calloc(1, sizeof(*d));
    if (d == NULL)
        return TARN_ENOMEM;
    if (pthread_mutex_init(&d->mu, NULL) != 0) {
        tarn_free(d);
        return TARN_ENOMEM;
    }
    http_response_init(&d->reply);
    d->refs = 2;
    d->t0_ns = tarn_mono_ns();
    r->deferred = d;
    *out = d;
    return 0;
}

http_response *http_deferred_response(http_deferred *d)
{
    return &d->reply;
}

static void deferred_unref(http_deferred *d)
{
    pthread_mutex_lock(&d->mu);
    int last = --d->refs == 0;
    http_defer_set *set = d->set;
    pthread_mutex_unlock(&d->mu);
    if (!last)
        return;
    if (set != NULL) { /* invariant 4: our reference keeps it alive */
        pthread_mutex_lock(&set->mu);
        if (d->prev != NULL)
            d->prev->next = d->next;
        else
            set->live = d->next;
        if (d->next != NULL)
            d->next->prev = d->prev;
        set_unref(set, 1);
    }
    http_response_free(&d->reply);
    pthread_mutex_destroy(&d->mu);
    tarn_free(d);
}

void http_deferred_finish(http_deferred *d, int rc, const tarn_err *err)
{
    http_response *r = &d->reply;
    if (rc != 0) {
        if (err != NULL)
            d->err = *err;
        else
            tarn_err_set(&d->err, rc, "%s", tarn_error_name(rc));
        if (http_reply_from_code(r, rc, &d->err) != 0)
            r->status = 0; /* not even that: the static 500 */
    } else if (r->status == 0) {
        tarn_err_set(&d->err, TARN_EINTERNAL, "deferred reply finished without a status");
        if (http_reply_error(r, 500, "internal", "internal error") != 0)
            r->status = 0;
    }
    pthread_mutex_lock(&d->mu);
    d->finished = 1;
    if (d->suspended) { /* invariant 1 */
        d->suspended = 0;
        MHD_resume_connection(d->conn);
    }
    pthread_mutex_unlock(&d->mu);
    deferred_unref(d);
}

void http_defer_note(http_deferred *d, const char *route, const char *key_id)
{
    d->route = route;
    snprintf(d->key_id, sizeof(d->key_id), "%s", key_id ? key_id : "");
}

void http_defer_release(http_deferred *d)
{
    pthread_mutex_lock(&d->mu);
    d->recorded = 1; /* whoever dropped it answered and logged the request */
    pthread_mutex_unlock(&d->mu);
    deferred_unref(d);
}

/* ---- the connection side ------------------------------------------------- */

/* The request's metrics and log line (dispatch leaves them to us). The
 * reply's error id and the work's error are read only once finished
 * (invariant 3). Under d->mu. */
static void defer_record(http_deferred *d, unsigned status)
{
    if (d->recorded)
        return;
    d->recorded = 1;
    double secs = (double)(tarn_mono_ns() - d->t0_ns) / 1e9;
    http_metrics_record(d->route, d->method, status, secs);
    const char *detail = !d->finished  ? (d->stopped ? "the server stopped first" : "client gone")
                         : d->err.code ? tarn_err_msg(&d->err)
                                       : "";
    tarn_log_field f[] = {
        TARN_F_STR("method", d->method),
        TARN_F_STR("path", d->path),
        TARN_F_STR("route", d->route ? d->route : "unmatched"),
        TARN_F_UINT("status", status),
        TARN_F_DBL("duration_ms", secs * 1e3),
        TARN_F_STR("key_id", d->key_id),
        TARN_F_STR("error_id", d->finished ? d->reply.error_id : ""),
        TARN_F_STR("detail", detail),
    };
    tarn_log_emit(status >= 500 ? TARN_LOG_ERROR : TARN_LOG_DEBUG, "http",
                  status >= 500 ? "request failed" : "request", f, TARN_ARRAY_LEN(f));
}

/* Queues the finished reply, or a stopping server's 503 (built apart: the
 * work side still owns d->reply, invariant 3). Under d->mu, on the
 * connection's MHD thread. */
static int defer_queue(http_deferred *d, struct MHD_Connection *conn)
{
    if (d->finished && d->reply.status != 0) {
        defer_record(d, d->reply.status);
        return http_queue_response(conn, &d->reply);
    }
    if (d->finished) {
        defer_record(d, 500);
        return http_queue_static_500(conn);
    }
    http_response stop;
    http_response_init(&stop);
    int res;
    if (http_reply_error(&stop, 503, "unavailable",
                         "the server is stopping; the outcome is unknown, retry") == 0 &&
        http_response_add_header(&stop, "Retry-After", "1") == 0) {
        defer_record(d, 503);
        res = http_queue_response(conn, &stop);
    } else {
        defer_record(d, 500);
        res = http_queue_static_500(conn);
    }
    http_response_free(&stop);
    return res;
}

int http_defer_begin(http_defer_set *set, struct MHD_Connection *conn, http_response *resp,
                     const char *method, const char *path, int64_t t0_ns, http_deferred **out)
{
    http_deferred *d = resp->deferred;
    resp->deferred = NULL; /* the connection's reference is ours now */
    *out = NULL;
    snprintf(d->method, sizeof(d->method), "%s", method);
    snprintf(d->path, sizeof(d->path), "%s", path);
    d->t0_ns = t0_ns;
    pthread_mutex_lock(&set->mu);
    pthread_mutex_lock(&d->mu);
    int res;
    if (d->finished || set->stopping) {
        /* Finished before we got here (no suspension needed), or a
         * stopping server: answer now. */
        d->stopped = !d->finished;
        res = defer_queue(d, conn);
        pthread_mutex_unlock(&d->mu);
        pthread_mutex_unlock(&set->mu);
        deferred_unref(d);
        return res;
    }
    d->set = set;
    set->refs++;
    d->next = set->live;
    if (set->live != NULL)
        set->live->prev = d;
    set->live = d;
    d->conn = conn;
    d->suspended = 1;
    MHD_suspend_connection(conn);
    pthread_mutex_unlock(&d->mu);
    pthread_mutex_unlock(&set->mu);
    *out = d;
    return MHD_YES;
}

int http_defer_continue(http_deferred *d, struct MHD_Connection *conn, int *keep)
{
    pthread_mutex_lock(&d->mu);
    *keep = 0;
    if (!d->finished && !d->stopped) {
        d->suspended = 1; /* resumed without news (MHD's doing): wait again */
        MHD_suspend_connection(conn);
        pthread_mutex_unlock(&d->mu);
        *keep = 1;
        return MHD_YES;
    }
    int res = defer_queue(d, conn);
    pthread_mutex_unlock(&d->mu);
    deferred_unref(d);
    return res;
}

void http_defer_abandon(http_deferred *d)
{
    pthread_mutex_lock(&d->mu);
    d->suspended = 0; /* MHD ended the request: the connection is not ours to resume */
    defer_record(d, 499);
    pthread_mutex_unlock(&d->mu);
    deferred_unref(d);
}
