/*
 * client/transport.c: one HTTP exchange with one member over a pooled
 * libcurl easy handle, and the pool itself. A handle keeps its keep-alive
 * connections between calls, so a thread that calls in a loop reuses one
 * TCP connection (the pool is LIFO: the handle a thread just gave back is
 * the one it takes next). Design note: src/client/README.md.
 */
#include "client/client_int.h"

#include "base/alloc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(((client_conn *)0)->errbuf) >= CURL_ERROR_SIZE, "curl error buffer size");

static void options_static(client_conn *conn);

client_conn *client_conn_take(tarn_client *c)
{
    pthread_mutex_lock(&c->mu);
    client_conn *conn = c->pool;
    if (conn)
        c->pool = conn->next;
    pthread_mutex_unlock(&c->mu);
    if (conn)
        return conn;
    conn = tarn_calloc(1, sizeof(*conn));
    if (!conn)
        return NULL;
    conn->curl = curl_easy_init();
    if (!conn->curl) {
        tarn_free(conn);
        return NULL;
    }
    options_static(conn);
    return conn;
}

void client_conn_give(tarn_client *c, client_conn *conn)
{
    if (!conn)
        return;
    pthread_mutex_lock(&c->mu);
    conn->next = c->pool;
    c->pool = conn;
    pthread_mutex_unlock(&c->mu);
}

void client_conn_free(client_conn *conn)
{
    if (!conn)
        return;
    curl_easy_cleanup(conn->curl);
    tarn_free(conn);
}

void client_reply_init(client_reply *rp)
{
    memset(rp, 0, sizeof(*rp));
    tarn_buf_init(&rp->body, TARN_CLIENT_REPLY_MAX_BYTES);
    rp->retry_after_s = -1;
}

void client_reply_free(client_reply *rp)
{
    tarn_buf_free(&rp->body);
}

/* Per-attempt state the curl callbacks write into. */
typedef struct xfer_ctx {
    client_reply *rp;
    int too_big; /* the body passed TARN_CLIENT_REPLY_MAX_BYTES */
    int no_mem;
} xfer_ctx;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    xfer_ctx *x = arg;
    size_t len = size * n;
    int rc = tarn_buf_append(&x->rp->body, p, len);
    if (rc == TARN_ETOOBIG)
        x->too_big = 1;
    else if (rc != 0)
        x->no_mem = 1;
    return rc == 0 ? len : 0; /* 0 makes curl stop with CURLE_WRITE_ERROR */
}

/* Copies the value of header `name` from one header line into out. */
static int header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return 0;
    const char *v = line + n + 1;
    size_t vlen = len - n - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    if (vlen >= cap)
        vlen = cap - 1;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    xfer_ctx *x = arg;
    size_t len = size * n;
    char ra[16];
    header_value(p, len, "Location", x->rp->location, sizeof(x->rp->location));
    if (header_value(p, len, "Retry-After", ra, sizeof(ra)))
        x->rp->retry_after_s = strtol(ra, NULL, 10);
    return len;
}

/* Request headers in a list of nodes on the caller's stack (curl_slist is
 * a public struct, only read during the transfer): no allocation per
 * request. lines[] holds the formatted ones. */
typedef struct req_headers {
    struct curl_slist node[5];
    char content_type[64], if_match[64];
} req_headers;

static struct curl_slist *headers_build(const tarn_client *c, const client_req *rq, req_headers *h)
{
    char *lines[5];
    size_t n = 0;
    /* No "Expect: 100-continue" round trip before a body. */
    lines[n++] = (char *)"Expect:";
    if (c->key_header[0])
        lines[n++] = (char *)c->key_header;
    if (rq->body && rq->content_type) {
        snprintf(h->content_type, sizeof(h->content_type), "Content-Type: %s", rq->content_type);
        lines[n++] = h->content_type;
    }
    if (rq->if_match) {
        snprintf(h->if_match, sizeof(h->if_match), "If-Match: %s", rq->if_match);
        lines[n++] = h->if_match;
    }
    if (rq->if_none_match_any)
        lines[n++] = (char *)"If-None-Match: *";
    for (size_t i = 0; i < n; i++) {
        h->node[i].data = lines[i];
        h->node[i].next = i + 1 < n ? &h->node[i + 1] : NULL;
    }
    return &h->node[0];
}

/* What a pooled handle keeps between requests; set once. */
static void options_static(client_conn *conn)
{
    CURL *h = conn->curl;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, conn->errbuf);
}

/* What changes per request; every option an earlier request may have set
 * differently is set again (cheaper than curl_easy_reset, which would
 * also drop the static ones). */
static void options_set(CURL *h, const tarn_client *c, const client_req *rq, const char *url,
                        int timeout_ms, struct curl_slist *hdrs, xfer_ctx *x)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    long conn_ms = c->connect_timeout_ms < timeout_ms ? c->connect_timeout_ms : timeout_ms;
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, conn_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    if (rq->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body_len ? rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* clears the POST state */
    }
    int plain = strcmp(rq->method, rq->body ? "POST" : "GET") == 0;
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, plain ? NULL : rq->method);
}

/* Whether a failed transfer can have delivered the request: a refused or
 * unresolved connection cannot; a connect that timed out before any
 * connection existed cannot either. */
static client_xfer classify_failure(CURL *h, CURLcode cc)
{
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
        cc == CURLE_COULDNT_RESOLVE_PROXY)
        return CLIENT_XFER_NOT_SENT;
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connected_us = 0;
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connected_us);
        if (connected_us == 0)
            return CLIENT_XFER_NOT_SENT;
    }
    return CLIENT_XFER_AMBIGUOUS;
}

client_xfer client_exchange(tarn_client *c, client_conn *conn, const char *base_url,
                            const client_req *rq, int timeout_ms, client_reply *rp, tarn_err *err)
{
    CURL *h = conn->curl;
    tarn_buf_reset(&rp->body);
    rp->status = 0;
    rp->location[0] = '\0';
    rp->retry_after_s = -1;
    size_t ul = strlen(base_url) + strlen(rq->path) + 1;
    char *url = tarn_malloc(ul);
    if (!url) {
        tarn_err_set(err, TARN_ENOMEM, "%s: request", rq->what);
        return CLIENT_XFER_FATAL;
    }
    snprintf(url, ul, "%s%s", base_url, rq->path);
    req_headers rh;
    xfer_ctx x = {.rp = rp};
    conn->errbuf[0] = '\0';
    options_set(h, c, rq, url, timeout_ms, headers_build(c, rq, &rh), &x);
    CURLcode cc = curl_easy_perform(h);
    /* Nothing may point at this frame or the URL after the call. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    tarn_free(url);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rp->status);
        return CLIENT_XFER_DONE;
    }
    if (x.too_big || x.no_mem) {
        tarn_err_set(err, x.too_big ? TARN_EIO : TARN_ENOMEM, "%s: %s: %s", rq->what, base_url,
                     x.too_big ? "reply larger than 64 MiB" : "out of memory for the reply");
        return CLIENT_XFER_FATAL;
    }
    tarn_err_set(err, cc == CURLE_OPERATION_TIMEDOUT ? TARN_ETIMEDOUT : TARN_EIO, "%s: %s: %s",
                 rq->what, base_url, conn->errbuf[0] ? conn->errbuf : curl_easy_strerror(cc));
    return classify_failure(h, cc);
}
