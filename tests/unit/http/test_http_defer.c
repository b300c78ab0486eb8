/* Tests of deferred replies (http.h "deferred replies") through a real
 * server on loopback with raw sockets and libcurl: a deferred request does
 * not hold its server thread (one thread serves a second request that
 * finishes the first); a finish before the handler returns, errors mapped
 * as a handler's, a finish without a status, a handler that fails after
 * deferring; a client that hangs up before the finish; a server stopped
 * with suspended requests answers them 503 without waiting and the late
 * finishes touch nothing freed; finishes racing the stop. ASan checks the
 * memory side; every case checks the reply a client sees. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "http/http.h"
#include "obs/obs.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Deferred replies the handlers hand to "the work": the test finishes them. */
#define HELD_MAX 64
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static http_deferred *held[HELD_MAX];
static size_t n_held;

static void hold(http_deferred *d)
{
    pthread_mutex_lock(&held_mu);
    assert_true(n_held < HELD_MAX);
    held[n_held++] = d;
    pthread_mutex_unlock(&held_mu);
}

static size_t held_count(void)
{
    pthread_mutex_lock(&held_mu);
    size_t n = n_held;
    pthread_mutex_unlock(&held_mu);
    return n;
}

static void wait_held(size_t want)
{
    for (int i = 0; i < 2000 && held_count() < want; i++)
        usleep(5000);
    assert_true(held_count() >= want);
}

static http_deferred *take_held(void)
{
    pthread_mutex_lock(&held_mu);
    http_deferred *d = n_held ? held[--n_held] : NULL;
    pthread_mutex_unlock(&held_mu);
    return d;
}

static void finish_ok(http_deferred *d, const char *text)
{
    http_response *r = http_deferred_response(d);
    assert_int_equal(http_reply_text(r, 200, "text/plain", text, strlen(text)), 0);
    http_deferred_finish(d, 0, NULL);
}

/* GET /held: deferred until the test (or /release) finishes it. */
static int h_held(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_deferred *d = NULL;
    int rc = http_reply_defer(resp, &d);
    if (rc == 0)
        hold(d);
    return rc;
}

/* GET /release: finishes every held reply (from this server thread). */
static int h_release(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_deferred *d;
    while ((d = take_held()) != NULL)
        finish_ok(d, "released");
    return http_reply_text(resp, 200, "text/plain", "ok", 2);
}

/* GET /now: finished before the handler returns. */
static int h_now(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_deferred *d = NULL;
    int rc = http_reply_defer(resp, &d);
    if (rc == 0)
        finish_ok(d, "now");
    return rc;
}

/* GET /busy: finished with TARN_EBUSY (503 and Retry-After). */
static int h_busy(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_deferred *d = NULL;
    int rc = http_reply_defer(resp, &d);
    if (rc != 0)
        return rc;
    tarn_err e = TARN_ERR_INIT;
    tarn_err_set(&e, TARN_EBUSY, "queue full");
    http_deferred_finish(d, TARN_EBUSY, &e);
    return 0;
}

/* GET /nostatus: finished with 0 but no reply made: 500. */
static int h_nostatus(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_deferred *d = NULL;
    int rc = http_reply_defer(resp, &d);
    if (rc == 0)
        http_deferred_finish(d, 0, NULL);
    return rc;
}

/* GET /failafter: defers, hands it to the work, then fails: 400, and the
 * work's later finish is dropped. */
static int h_failafter(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_deferred *d = NULL;
    int rc = http_reply_defer(resp, &d);
    if (rc != 0)
        return rc;
    hold(d);
    return tarn_err_set(err, TARN_EINVAL, "changed my mind");
}

static http_router *R;
static http_server *S;
static char base[64];

static void server_start(unsigned threads)
{
    assert_int_equal(http_router_new(&R), 0);
    struct {
        const char *path;
        http_handler_fn fn;
    } routes[] = {{"/held", h_held}, {"/release", h_release},   {"/now", h_now},
                  {"/busy", h_busy}, {"/nostatus", h_nostatus}, {"/failafter", h_failafter}};
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        assert_int_equal(
            http_router_add(R, "GET", routes[i].path, HTTP_ROLE_NONE, routes[i].fn, NULL), 0);
    http_server_opts o;
    http_server_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.threads = threads;
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

typedef struct got {
    char body[512];
    size_t len;
    char retry_after[16];
} got;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    got *g = ctx;
    size_t len = size * n;
    size_t room = sizeof(g->body) - 1 - g->len;
    memcpy(g->body + g->len, data, len < room ? len : room);
    g->len += len < room ? len : room;
    g->body[g->len] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    got *g = ctx;
    size_t len = size * n;
    if (len > 13 && strncasecmp(data, "Retry-After: ", 13) == 0)
        snprintf(g->retry_after, sizeof(g->retry_after), "%.*s", (int)(len - 15), data + 13);
    return len;
}

static long fetch(const char *path, got *g)
{
    char url[128];
    snprintf(url, sizeof(url), "%s%s", base, path);
    memset(g, 0, sizeof(*g));
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status; /* 0: the transfer failed (connection closed) */
}

typedef struct bg_fetch {
    pthread_t th;
    const char *path;
    got g;
    long status;
} bg_fetch;

static void *bg_main(void *arg)
{
    bg_fetch *b = arg;
    b->status = fetch(b->path, &b->g);
    return NULL;
}

static void bg_start(bg_fetch *b, const char *path)
{
    b->path = path;
    assert_int_equal(pthread_create(&b->th, NULL, bg_main, b), 0);
}

/* ---- tests ---- */

typedef struct finisher {
    pthread_t th;
    atomic_int go;
} finisher;

static void *finisher_main(void *arg);

/* One server thread: /held waits suspended while the same thread serves
 * /release, which finishes it. A handler blocking its thread would
 * deadlock here (until the client timeout). */
static void test_deferred_frees_the_thread(void **state)
{
    server_start(1);
    enum { WAITERS = 8 };
    bg_fetch b[WAITERS];
    memset(b, 0, sizeof(b));
    for (int i = 0; i < WAITERS; i++)
        bg_start(&b[i], "/held");
    wait_held(WAITERS);
    got g;
    assert_int_equal(fetch("/release", &g), 200);
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(b[i].th, NULL);
        assert_int_equal(b[i].status, 200);
        assert_string_equal(b[i].g.body, "released");
    }
    server_stop();
}

static void test_finish_shapes(void **state)
{
    server_start(2);
    got g;
    assert_int_equal(fetch("/now", &g), 200);
    assert_string_equal(g.body, "now");
    assert_int_equal(fetch("/busy", &g), 503);
    assert_non_null(strstr(g.body, "\"code\":\"unavailable\""));
    assert_non_null(strstr(g.body, "queue full"));
    assert_string_equal(g.retry_after, "1");
    assert_int_equal(fetch("/nostatus", &g), 500);
    assert_non_null(strstr(g.body, "\"code\":\"internal\""));
    /* Fails after deferring: its own error reply; the held finish later
     * frees what is left (ASan: nothing leaks, nothing is touched twice). */
    assert_int_equal(fetch("/failafter", &g), 400);
    assert_non_null(strstr(g.body, "changed my mind"));
    http_deferred *d = take_held();
    assert_non_null(d);
    finish_ok(d, "nobody listens");
    server_stop();
    /* Counted once each, with the status the client saw. */
    tarn_buf m;
    tarn_buf_init(&m, TARN_BUF_UNBOUNDED);
    assert_int_equal(obs_registry_render(obs_global(), &m), 0);
    assert_int_equal(tarn_buf_append_byte(&m, 0), 0);
    const char *text = (const char *)m.data;
    assert_non_null(
        strstr(text, "tarn_http_requests_total{route=\"/now\",method=\"GET\",status=\"200\"} 1\n"));
    assert_non_null(strstr(
        text, "tarn_http_requests_total{route=\"/busy\",method=\"GET\",status=\"503\"} 1\n"));
    assert_non_null(strstr(
        text, "tarn_http_requests_total{route=\"/nostatus\",method=\"GET\",status=\"500\"} 1\n"));
    assert_non_null(strstr(
        text, "tarn_http_requests_total{route=\"/failafter\",method=\"GET\",status=\"400\"} 1\n"));
    assert_non_null(strstr(text, "tarn_http_request_duration_seconds_count{route=\"/now\"} 1\n"));
    tarn_buf_free(&m);
}

/* A raw client's GET /held on a new connection to S; returns the socket. */
static int send_held_raw(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(http_server_port(S))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char req[] = "GET /held HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
    return fd;
}

/* A raw client sends /held and closes before the finish. */
static void test_client_gone_before_finish(void **state)
{
    server_start(2);
    int fd = send_held_raw();
    wait_held(1);
    close(fd);
    usleep(20000);
    http_deferred *d = take_held();
    finish_ok(d, "too late");
    /* The server goes on serving. */
    got g;
    assert_int_equal(fetch("/now", &g), 200);
    server_stop();
}

/* Hang-ups racing finishes: raw clients send /held and close after a
 * varying pause while another thread finishes what is held. Each reply
 * is resumed once or dropped; ASan sees every use. */
static void test_hangups_race_finishes(void **state)
{
    server_start(2);
    finisher f;
    atomic_init(&f.go, 1);
    enum { CLIENTS = 40 };
    for (int i = 0; i < CLIENTS; i++) {
        int fd = send_held_raw();
        if (i % 2)
            wait_held(1);
        assert_int_equal(pthread_create(&f.th, NULL, finisher_main, &f), 0);
        usleep((useconds_t)(i % 5) * 100);
        close(fd);
        pthread_join(f.th, NULL);
    }
    /* Requests held after their finisher ran: finish them now. */
    for (int i = 0; i < 100 && held_count() == 0; i++)
        usleep(1000);
    http_deferred *d;
    while ((d = take_held()) != NULL)
        finish_ok(d, "late");
    got g;
    assert_int_equal(fetch("/now", &g), 200);
    server_stop();
    while ((d = take_held()) != NULL) /* arrived during the stop */
        finish_ok(d, "after stop");
}

/* Stop with suspended requests: they are answered 503 (or their
 * connection closed) at once; the finishes come after the server is
 * freed and only free. */
static void test_stop_with_pending_then_late_finish(void **state)
{
    server_start(2);
    enum { WAITERS = 6 };
    bg_fetch b[WAITERS];
    memset(b, 0, sizeof(b));
    for (int i = 0; i < WAITERS; i++)
        bg_start(&b[i], "/held");
    wait_held(WAITERS);
    server_stop(); /* must not wait for the held work */
    for (int i = 0; i < WAITERS; i++) {
        pthread_join(b[i].th, NULL);
        assert_true(b[i].status == 503 || b[i].status == 0);
        if (b[i].status == 503)
            assert_non_null(strstr(b[i].g.body, "stopping"));
    }
    http_deferred *d;
    while ((d = take_held()) != NULL)
        finish_ok(d, "after stop");
}

static void *finisher_main(void *arg)
{
    finisher *f = arg;
    while (!atomic_load(&f->go))
        ;
    http_deferred *d;
    while ((d = take_held()) != NULL)
        finish_ok(d, "raced");
    return NULL;
}

/* Finishes on another thread race the stop: each request gets its reply,
 * a 503, or a closed connection; nothing is resumed twice or touched
 * after it was freed, and no request is dispatched twice (during MHD's
 * shutdown MHD_queue_response "succeeds" without queuing and MHD calls
 * the access handler again: the handler must not run again). */
static void test_finish_races_stop(void **state)
{
    for (int round = 0; round < 5; round++) {
        server_start(2);
        enum { WAITERS = 12 };
        bg_fetch b[WAITERS];
        memset(b, 0, sizeof(b));
        for (int i = 0; i < WAITERS; i++)
            bg_start(&b[i], "/held");
        wait_held(WAITERS);
        finisher f;
        atomic_init(&f.go, 0);
        assert_int_equal(pthread_create(&f.th, NULL, finisher_main, &f), 0);
        atomic_store(&f.go, 1);
        if (round % 2)
            usleep(200);
        server_stop();
        pthread_join(f.th, NULL);
        for (int i = 0; i < WAITERS; i++) {
            pthread_join(b[i].th, NULL);
            assert_true(b[i].status == 200 || b[i].status == 503 || b[i].status == 0);
            if (b[i].status == 200)
                assert_string_equal(b[i].g.body, "raced");
        }
        assert_int_equal(held_count(), 0);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deferred_frees_the_thread),
        cmocka_unit_test(test_finish_shapes),
        cmocka_unit_test(test_client_gone_before_finish),
        cmocka_unit_test(test_hangups_race_finishes),
        cmocka_unit_test(test_stop_with_pending_then_late_finish),
        cmocka_unit_test(test_finish_races_stop),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
