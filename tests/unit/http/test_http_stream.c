/* Streamed responses (http.h "streamed responses") on the real server over
 * loopback with libcurl: a large body arrives whole through the bounded
 * buffer; a slow producer (the suspend/resume path); errors before the
 * first byte are ordinary replies; an error after it cuts the chunked body
 * short; a client that disconnects stops the producer (its write returns
 * TARN_ECLOSED) and its context is freed; stopping the server with a
 * producer blocked on a client that never reads returns and frees it;
 * past HTTP_STREAMS_MAX producers a request is 503; a producer that has
 * written nothing learns through its on_cancel hook that the client hung
 * up or that the server stops. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/log.h"
#include "http/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG_BYTES ((size_t)48 << 20) /* far over the 256 KiB buffer */

/* What a producer did, for the test to check once ctx_free ran. */
typedef struct job {
    atomic_int freed;
    atomic_int write_rc; /* the last write's result */
    atomic_size_t written;
    atomic_int producers;  /* produce_big calls begun */
    atomic_int quiet;      /* produce_quiet: 1 running, 2 returned */
    atomic_int hooked;     /* times the on_cancel hook ran */
    atomic_int saw_cancel; /* produce_quiet saw http_stream_cancelled */
} job;

static job J;

static void job_free(void *ctx)
{
    atomic_store(&((job *)ctx)->freed, 1);
}

/* Bytes i of the body: a pattern the client checks. */
static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 31 + (i >> 13));
}

static int produce_big(void *ctx, http_stream *s, tarn_err *err)
{
    job *j = ctx;
    atomic_fetch_add(&j->producers, 1);
    uint8_t buf[65536];
    for (size_t off = 0; off < BIG_BYTES; off += sizeof(buf)) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = pattern(off + i);
        int rc = http_stream_write(s, buf, sizeof(buf));
        atomic_store(&j->write_rc, rc);
        if (rc != 0)
            return tarn_err_set(err, rc, "client gone");
        atomic_fetch_add(&j->written, sizeof(buf));
    }
    return 0;
}

static int produce_slow(void *ctx, http_stream *s, tarn_err *err)
{
    for (int i = 0; i < 5; i++) {
        usleep(30 * 1000); /* the connection waits suspended meanwhile */
        char line[32];
        int n = snprintf(line, sizeof(line), "line %d\n", i);
        int rc = http_stream_write(s, line, (size_t)n);
        if (rc != 0)
            return tarn_err_set(err, rc, "write");
    }
    return 0;
}

static int produce_conflict(void *ctx, http_stream *s, tarn_err *err)
{
    int rc = http_stream_reply_error(s, 409, "conflict", "table t changed");
    assert_int_equal(rc, 0);
    return tarn_err_set(err, TARN_ECONFLICT, "conflict");
}

static int produce_einval(void *ctx, http_stream *s, tarn_err *err)
{
    return tarn_err_set(err, TARN_EINVAL, "no such thing (test)");
}

static int produce_fail_late(void *ctx, http_stream *s, tarn_err *err)
{
    int rc = http_stream_write(s, "partial\n", 8);
    assert_int_equal(rc, 0);
    /* Once started, the status cannot change any more. */
    assert_int_equal(http_stream_reply_error(s, 500, "internal", "too late"), TARN_ESTATE);
    assert_true(http_stream_started(s));
    return tarn_err_set(err, TARN_EIO, "disk on fire (test)");
}

static void on_cancel(void *arg)
{
    atomic_fetch_add(&((job *)arg)->hooked, 1);
}

/* A long computation that writes nothing: it learns of a cancellation only
 * through the hook (polled here as an executor polls its flag), and gives
 * up after 20 s so that a missed cancellation fails the test instead of
 * hanging it. */
static int produce_quiet(void *ctx, http_stream *s, tarn_err *err)
{
    job *j = ctx;
    http_stream_on_cancel(s, on_cancel, j);
    atomic_store(&j->quiet, 1);
    for (int i = 0; i < 2000 && !atomic_load(&j->hooked); i++)
        usleep(10 * 1000);
    atomic_store(&j->saw_cancel, http_stream_cancelled(s));
    http_stream_on_cancel(s, NULL, NULL);
    atomic_store(&j->quiet, 2);
    return tarn_err_set(err, TARN_ECLOSED, "cancelled");
}

static int produce_nothing(void *ctx, http_stream *s, tarn_err *err)
{
    return 0;
}

typedef struct route {
    const char *path;
    http_stream_fn fn;
} route;

static int h_stream(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    const route *r = ctx;
    http_reply_stream(resp, "text/plain", r->fn, &J, job_free);
    return 0;
}

static const route routes[] = {
    {"/big", produce_big},       {"/slow", produce_slow},      {"/conflict", produce_conflict},
    {"/einval", produce_einval}, {"/late", produce_fail_late}, {"/empty", produce_nothing},
    {"/quiet", produce_quiet},
};

static http_router *R;
static http_server *S;
static char base[64];

static void server_start(void)
{
    memset(&J, 0, sizeof(J));
    assert_int_equal(http_router_new(&R), 0);
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        assert_int_equal(
            http_router_add(R, "GET", routes[i].path, HTTP_ROLE_NONE, h_stream, (void *)&routes[i]),
            0);
    http_server_opts o;
    http_server_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.connection_timeout_s = 10;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(http_server_start(&o, R, NULL, &S, &err), 0);
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", http_server_port(S));
}

static void server_stop(void)
{
    http_server_stop(S);
    http_router_free(R);
    S = NULL;
    R = NULL;
}

/* ---- the client ---- */

typedef struct got {
    size_t bytes;
    size_t stop_after; /* 0: read everything */
    int pattern_ok;
    char head[256];
} got;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    got *g = ctx;
    size_t len = size * n;
    for (size_t i = 0; i < len && g->pattern_ok; i++)
        g->pattern_ok = (uint8_t)data[i] == pattern(g->bytes + i);
    size_t keep = sizeof(g->head) - 1;
    if (g->bytes < keep)
        memcpy(g->head + g->bytes, data, len < keep - g->bytes ? len : keep - g->bytes);
    g->bytes += len;
    return g->stop_after && g->bytes >= g->stop_after ? 0 : len;
}

static CURLcode fetch(const char *path, got *g, long *status)
{
    char url[128];
    snprintf(url, sizeof(url), "%s%s", base, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    g->pattern_ok = 1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
    CURLcode cc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    return cc;
}

static void wait_freed(void)
{
    for (int i = 0; i < 1000 && !atomic_load(&J.freed); i++)
        usleep(10 * 1000);
    assert_true(atomic_load(&J.freed));
}

/* ---- tests ---- */

static void test_big_body_arrives_whole(void **state)
{
    server_start();
    got g = {0};
    long status;
    assert_int_equal(fetch("/big", &g, &status), CURLE_OK);
    assert_int_equal(status, 200);
    assert_true(g.bytes == BIG_BYTES);
    assert_true(g.pattern_ok);
    wait_freed();
    server_stop();
}

static void test_slow_producer(void **state)
{
    server_start();
    got g = {0};
    long status;
    assert_int_equal(fetch("/slow", &g, &status), CURLE_OK);
    assert_int_equal(status, 200);
    assert_string_equal(g.head, "line 0\nline 1\nline 2\nline 3\nline 4\n");
    wait_freed();
    server_stop();
}

static void test_errors_before_the_first_byte(void **state)
{
    server_start();
    got g = {0};
    long status;
    assert_int_equal(fetch("/conflict", &g, &status), CURLE_OK);
    assert_int_equal(status, 409);
    assert_string_equal(g.head,
                        "{\"error\":{\"code\":\"conflict\",\"message\":\"table t changed\"}}");
    wait_freed();
    got g2 = {0};
    assert_int_equal(fetch("/einval", &g2, &status), CURLE_OK);
    assert_int_equal(status, 400);
    assert_string_equal(
        g2.head, "{\"error\":{\"code\":\"bad_request\",\"message\":\"no such thing (test)\"}}");
    got g3 = {0};
    assert_int_equal(fetch("/empty", &g3, &status), CURLE_OK);
    assert_int_equal(status, 200);
    assert_true(g3.bytes == 0);
    server_stop();
}

static void test_error_after_start_cuts_the_body(void **state)
{
    server_start();
    got g = {0};
    long status;
    CURLcode cc = fetch("/late", &g, &status);
    assert_int_equal(status, 200);
    assert_string_equal(g.head, "partial\n");
    /* The chunked body has no last chunk: an incomplete transfer. */
    assert_true(cc == CURLE_PARTIAL_FILE || cc == CURLE_RECV_ERROR);
    server_stop();
}

static void test_disconnect_stops_the_producer(void **state)
{
    server_start();
    got g = {.stop_after = 1 << 20};
    long status;
    assert_int_equal(fetch("/big", &g, &status), CURLE_WRITE_ERROR);
    wait_freed();
    assert_int_equal(atomic_load(&J.write_rc), TARN_ECLOSED);
    assert_true(atomic_load(&J.written) < BIG_BYTES);
    /* The server goes on serving. */
    got g2 = {0};
    assert_int_equal(fetch("/slow", &g2, &status), CURLE_OK);
    assert_int_equal(status, 200);
    server_stop();
}

/* A client that asks for `path` and never reads (for /big: its producer
 * fills the socket buffers and the ring, then blocks in
 * http_stream_write). */
static int raw_client(const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(http_server_port(S))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char req[128];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), (ssize_t)n);
    return fd;
}

static void wait_quiet_running(void)
{
    for (int i = 0; i < 1000 && atomic_load(&J.quiet) == 0; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&J.quiet), 1);
}

/* The client hangs up while the producer computes: the connection is
 * suspended (MHD does not watch it), yet the hook runs, once, and the
 * producer sees the stream cancelled long before its 20 s give-up. */
static void test_hangup_before_the_first_byte_cancels(void **state)
{
    server_start();
    int fd = raw_client("/quiet");
    wait_quiet_running();
    close(fd);
    wait_freed();
    assert_int_equal(atomic_load(&J.hooked), 1);
    assert_true(atomic_load(&J.saw_cancel));
    /* The server goes on serving. */
    got g = {0};
    long status;
    assert_int_equal(fetch("/slow", &g, &status), CURLE_OK);
    assert_int_equal(status, 200);
    server_stop();
}

/* Stopping the server runs the hook of a producer that writes nothing,
 * so the stop does not wait for its computation. */
static void test_stop_cancels_a_quiet_producer(void **state)
{
    server_start();
    int fd = raw_client("/quiet");
    wait_quiet_running();
    server_stop();
    assert_int_equal(atomic_load(&J.quiet), 2);
    assert_int_equal(atomic_load(&J.hooked), 1);
    assert_true(atomic_load(&J.saw_cancel));
    assert_true(atomic_load(&J.freed));
    close(fd);
}

static void test_stop_with_a_blocked_producer(void **state)
{
    server_start();
    int fd = raw_client("/big");
    for (int i = 0; i < 500 && atomic_load(&J.written) < (4u << 20); i++)
        usleep(10 * 1000);
    usleep(100 * 1000);
    size_t stuck = atomic_load(&J.written);
    assert_true(stuck < BIG_BYTES); /* bounded: blocked, not buffering it all */
    server_stop();                  /* must return, the producer cancelled */
    assert_true(atomic_load(&J.freed));
    assert_int_equal(atomic_load(&J.write_rc), TARN_ECLOSED);
    close(fd);
}

/* Without a server: dispatch only records the producer (no metrics, no
 * log line yet), and a response nobody streamed releases its context,
 * whether freed or replaced by another reply. */
static void test_unstreamed_reply_releases_its_context(void **state)
{
    http_router *r = NULL;
    assert_int_equal(http_router_new(&r), 0);
    assert_int_equal(
        http_router_add(r, "GET", "/big", HTTP_ROLE_NONE, h_stream, (void *)&routes[0]), 0);
    http_dispatch_env env = {.router = r};
    http_request req = {.method = "GET", .path = "/big"};
    http_response resp;
    http_response_init(&resp);
    memset(&J, 0, sizeof(J));
    assert_int_equal(http_dispatch(&env, &req, &resp), 0);
    assert_int_equal(resp.status, 200);
    assert_true(resp.stream_fn == produce_big);
    assert_string_equal(resp.route, "/big");
    assert_false(atomic_load(&J.freed));
    http_response_free(&resp);
    assert_true(atomic_load(&J.freed));

    memset(&J, 0, sizeof(J));
    http_response_init(&resp);
    http_reply_stream(&resp, "text/plain", produce_big, &J, job_free);
    assert_int_equal(http_reply_error(&resp, 400, "bad_request", "changed my mind"), 0);
    assert_true(atomic_load(&J.freed));
    assert_null(resp.stream_fn);
    http_response_free(&resp);
    http_router_free(r);
}

/* HTTP_STREAMS_MAX producers at once; one more is 503 until one ends. */
static void test_too_many_streams_is_503(void **state)
{
    server_start();
    int fds[HTTP_STREAMS_MAX];
    for (int i = 0; i < HTTP_STREAMS_MAX; i++)
        fds[i] = raw_client("/big");
    for (int i = 0; i < 1000 && atomic_load(&J.producers) < HTTP_STREAMS_MAX; i++)
        usleep(10 * 1000);
    assert_int_equal(atomic_load(&J.producers), HTTP_STREAMS_MAX);
    got g = {0};
    long status;
    assert_int_equal(fetch("/slow", &g, &status), CURLE_OK);
    assert_int_equal(status, 503);
    close(fds[0]); /* its producer is cancelled and ends */
    for (int i = 0; i < 500 && status != 200; i++) {
        usleep(10 * 1000);
        got g2 = {0};
        fetch("/slow", &g2, &status);
    }
    assert_int_equal(status, 200);
    server_stop();
    for (int i = 1; i < HTTP_STREAMS_MAX; i++)
        close(fds[i]);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_log_set_level(TARN_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unstreamed_reply_releases_its_context),
        cmocka_unit_test(test_big_body_arrives_whole),
        cmocka_unit_test(test_slow_producer),
        cmocka_unit_test(test_errors_before_the_first_byte),
        cmocka_unit_test(test_error_after_start_cuts_the_body),
        cmocka_unit_test(test_disconnect_stops_the_producer),
        cmocka_unit_test(test_stop_with_a_blocked_producer),
        cmocka_unit_test(test_hangup_before_the_first_byte_cancels),
        cmocka_unit_test(test_stop_cancels_a_quiet_producer),
        cmocka_unit_test(test_too_many_streams_is_503),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
