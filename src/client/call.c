/*
 * client/call.c: the call loop: leader finding, failover, retries and the
 * deadline of one call (include/tarn.h; src/client/README.md "Retries").
 *
 * One attempt's outcome decides the next step:
 *
 *   outcome                          next
 *   -------------------------------  ------------------------------------
 *   2xx, 4xx (not 429), 500          final: returned to the caller
 *   307/308 with a Location          the named member, at once
 *   429                              final (TARN_ERATE; Retry-After in msg)
 *   503                              next member (a write: uncertain)
 *   connection refused / no connect  next member
 *   reply lost, attempt timeout      next member (a write: uncertain)
 *
 * After every member failed once in a row, the loop sleeps (5 ms doubling
 * to 200 ms) before the next round. With several members, the first call
 * and the first after a failure ask GET /v1/status who leads (a probe);
 * a call that ends elsewhere than it began stores where it ended as the
 * new leader guess. The deadline ends it all with
 * TARN_ETIMEDOUT and the last failure in the message.
 */
#include "client/client_int.h"

#include "base/clock.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* The TARN_E* code of a final non-2xx status. */
static int status_code(long status)
{
    switch (status) {
    case 400:
        return TARN_EINVAL;
    case 401:
        return TARN_EUNAUTH;
    case 403:
        return TARN_EFORBIDDEN;
    case 404:
        return TARN_ENOENT;
    case 405:
        return TARN_EMETHOD;
    case 409:
        return TARN_ECONFLICT;
    case 413:
        return TARN_ETOOBIG;
    case 429:
        return TARN_ERATE;
    case 500:
        return TARN_EINTERNAL;
    default:
        return TARN_EIO;
    }
}

/* Sets err from a final non-2xx answer, with the server's error envelope
 * ({"error":{"code","message"}}) when there is one. */
static int status_error(const client_req *rq, const char *url, const client_reply *rp,
                        tarn_err *err)
{
    int code = status_code(rp->status);
    json_t *root = json_loadb((const char *)rp->body.data, rp->body.len, 0, NULL);
    json_t *e = json_object_get(root, "error");
    const char *ecode = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    char ra[48] = "";
    if (rp->status == 429 && rp->retry_after_s >= 0)
        snprintf(ra, sizeof(ra), " (retry after %ld s)", rp->retry_after_s);
    if (ecode && msg)
        tarn_err_set(err, code, "%s: %s: %ld %s: %s%s", rq->what, url, rp->status, ecode, msg, ra);
    else
        tarn_err_set(err, code, "%s: %s: HTTP status %ld%s", rq->what, url, rp->status, ra);
    json_decref(root);
    return code;
}

/* The origin ("http://host:port") of a Location, found or added among the
 * endpoints; (size_t)-1 when unusable. */
static size_t redirect_target(tarn_client *c, const char *location)
{
    const char *p = strstr(location, "://");
    if (!p)
        return (size_t)-1;
    const char *slash = strchr(p + 3, '/');
    size_t len = slash ? (size_t)(slash - location) : strlen(location);
    char origin[TARN_CLIENT_URL_MAX];
    if (len >= sizeof(origin))
        return (size_t)-1;
    memcpy(origin, location, len);
    origin[len] = '\0';
    return client_url_find_or_add(c, origin);
}

/* The state of one call across its attempts. */
typedef struct call_state {
    int64_t deadline_ns;
    size_t idx;          /* endpoint of the next attempt */
    size_t first_idx;    /* the leader guess the call started with */
    size_t failed_round; /* members failed in a row */
    int64_t backoff_ms;
    int failed;    /* an attempt failed: the leader guess may be stale */
    tarn_err last; /* the last failure, for the timeout message */
} call_state;

/* Moves on to endpoint `to` after an attempt that gave no final answer
 * (a redirect counts too: two members may name each other during an
 * election); sleeps after a round of them. */
static void call_move(tarn_client *c, call_state *st, size_t to)
{
    size_t n = atomic_load_explicit(&c->n_urls, memory_order_acquire);
    st->idx = to % n;
    if (++st->failed_round < n)
        return;
    st->failed_round = 0;
    int64_t left_ms = (st->deadline_ns - tarn_mono_ns()) / 1000000;
    sleep_ms(st->backoff_ms < left_ms ? st->backoff_ms : (left_ms > 0 ? left_ms : 0));
    st->backoff_ms =
        st->backoff_ms * 2 > CLIENT_BACKOFF_MAX_MS ? CLIENT_BACKOFF_MAX_MS : st->backoff_ms * 2;
}

static void call_next(tarn_client *c, call_state *st)
{
    st->failed = 1;
    call_move(c, st, st->idx + 1);
}

/* Acts on one completed exchange. Returns 1 when the answer is final. */
static int call_on_status(tarn_client *c, const client_req *rq, call_state *st, client_reply *rp)
{
    const char *url = c->urls[st->idx];
    if (rp->status == 307 || rp->status == 308) {
        size_t to = redirect_target(c, rp->location);
        tarn_err_set(&st->last, TARN_EIO, "%s: %s: redirect to '%.200s'", rq->what, url,
                     rp->location);
        if (to == (size_t)-1 || to == st->idx) {
            call_next(c, st);
        } else {
            call_move(c, st, to);
            atomic_store_explicit(&c->leader, to, memory_order_release);
        }
        return 0;
    }
    if (rp->status == 503) {
        status_error(rq, url, rp, &st->last);
        rp->uncertain |= rq->is_write;
        call_next(c, st);
        return 0;
    }
    /* Only a call that had to move teaches the handle something; storing
     * the guess it started with could undo what a probe or another call
     * learnt meanwhile. */
    if (st->idx != st->first_idx)
        atomic_store_explicit(&c->leader, st->idx, memory_order_release);
    return 1;
}

/* One attempt; returns 1 when rp holds the final answer, 0 to go on, or a
 * negative code that ends the call. */
static int call_attempt(tarn_client *c, client_conn *conn, const client_req *rq, call_state *st,
                        client_reply *rp, tarn_err *err)
{
    int64_t left_ms = (st->deadline_ns - tarn_mono_ns() + 999999) / 1000000; /* rounded up */
    int to = left_ms < c->attempt_timeout_ms ? (int)left_ms : c->attempt_timeout_ms;
    if (to < 1)
        to = 1; /* 0 would mean "no timeout" to libcurl */
    tarn_err prev = st->last;
    client_xfer x = client_exchange(c, conn, c->urls[st->idx], rq, to, rp, &st->last);
    /* An attempt cut short by the call's own deadline explains nothing:
     * the call's error names the failure before it (a redirect loop, a
     * 503) rather than "timed out". */
    if ((x == CLIENT_XFER_NOT_SENT || x == CLIENT_XFER_AMBIGUOUS) && prev.code != 0 &&
        to < c->attempt_timeout_ms && tarn_mono_ns() >= st->deadline_ns)
        st->last = prev;
    switch (x) {
    case CLIENT_XFER_DONE:
        return call_on_status(c, rq, st, rp);
    case CLIENT_XFER_FATAL:
        if (err)
            *err = st->last;
        return st->last.code;
    case CLIENT_XFER_AMBIGUOUS:
        rp->uncertain |= rq->is_write;
        /* fall through */
    case CLIENT_XFER_NOT_SENT:
        call_next(c, st);
        return 0;
    }
    return 0;
}

/*
 * Asks the member the handle believes leads who does (GET /v1/status of
 * `tarn meta`: "role", "leader_url"), so that requests go straight to the
 * leader even where followers forward writes instead of redirecting them
 * (then no 307 ever names the leader). Best effort: any failure, or a
 * server without the route (`tarn local`), leaves the guess as it was.
 */
static void probe_leader(tarn_client *c, client_conn *conn, int64_t deadline_ns)
{
    int64_t left_ms = (deadline_ns - tarn_mono_ns()) / 1000000;
    int to = c->attempt_timeout_ms < CLIENT_PROBE_TIMEOUT_MS ? c->attempt_timeout_ms
                                                             : CLIENT_PROBE_TIMEOUT_MS;
    if (left_ms / 2 < to)
        to = (int)(left_ms / 2); /* leave the call most of its time */
    if (to < 1)
        return;
    size_t idx = atomic_load_explicit(&c->leader, memory_order_acquire);
    client_req rq = {.method = "GET", .path = "/v1/status", .what = "find the leader"};
    client_reply rp;
    client_reply_init(&rp);
    if (client_exchange(c, conn, c->urls[idx], &rq, to, &rp, NULL) == CLIENT_XFER_DONE &&
        rp.status == 200) {
        json_t *o = json_loadb((const char *)rp.body.data, rp.body.len, 0, NULL);
        const char *role = json_string_value(json_object_get(o, "role"));
        const char *lu = json_string_value(json_object_get(o, "leader_url"));
        size_t to_idx = role && strcmp(role, "leader") != 0 && lu && *lu
                            ? client_url_find_or_add(c, lu)
                            : (size_t)-1;
        if (to_idx != (size_t)-1)
            atomic_store_explicit(&c->leader, to_idx, memory_order_release);
        json_decref(o);
    }
    client_reply_free(&rp);
}

int client_call(tarn_client *c, const client_req *rq, const tarn_call_opts *co, client_reply *rp,
                tarn_err *err)
{
    int timeout_ms = co && co->timeout_ms > 0 ? co->timeout_ms : c->timeout_ms;
    call_state st = {.deadline_ns = tarn_mono_ns() + (int64_t)timeout_ms * 1000000,
                     .idx = atomic_load_explicit(&c->leader, memory_order_acquire),
                     .backoff_ms = CLIENT_BACKOFF_MIN_MS};
    client_conn *conn = client_conn_take(c);
    if (!conn)
        return tarn_err_set(err, TARN_ENOMEM, "%s: connection handle", rq->what);
    if (atomic_exchange_explicit(&c->probe, 0, memory_order_relaxed)) {
        probe_leader(c, conn, st.deadline_ns);
        st.idx = atomic_load_explicit(&c->leader, memory_order_acquire);
    }
    st.first_idx = st.idx;
    int rc = 0;
    while (rc == 0) {
        if (tarn_mono_ns() >= st.deadline_ns) {
            rc =
                tarn_err_set(err, TARN_ETIMEDOUT, "%s: no answer within %d ms (last: %s)", rq->what,
                             timeout_ms, st.last.code ? tarn_err_msg(&st.last) : "no attempt made");
            break;
        }
        rc = call_attempt(c, conn, rq, &st, rp, err);
    }
    client_conn_give(c, conn);
    if (st.failed && atomic_load_explicit(&c->n_urls, memory_order_relaxed) > 1)
        atomic_store_explicit(&c->probe, 1, memory_order_relaxed); /* leadership may have moved */
    if (rc < 0)
        return rc;
    if (rp->status >= 200 && rp->status < 300)
        return 0;
    return status_error(rq, c->urls[st.idx], rp, err);
}
