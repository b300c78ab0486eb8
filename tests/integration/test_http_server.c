/* The real HTTP server on loopback, driven by libcurl: every error status,
 * Retry-After, body limits (Content-Length and chunked), key revocation by
 * another keystore handle (as the CLI does), the 500 error id in the log,
 * and 200 concurrent connections against a 64-connection limit. */
#include "common/test_util.h"

#include "http_itest.h"

#include "base/log.h"
#include "obs/obs.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static itest_server S;
static char url[256];

static const char *U(const char *path)
{
    snprintf(url, sizeof(url), "%s%s", S.base_url, path);
    return url;
}

static int h_fail(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    return tarn_err_set(err, TARN_EIO, "disk on fire (test)");
}

static void tweak(http_server_opts *o, http_router *r, void *ctx)
{
    o->max_body_bytes = 1 << 20;
    o->max_connections = 64;
    o->threads = 2;
    o->connection_timeout_s = 20;
    o->rate_per_s[HTTP_ROLE_READ] = 0;
    o->rate_per_s[HTTP_ROLE_ADMIN] = 0;
    o->rate_per_s[HTTP_ROLE_WRITE] = 0.5;
    o->burst[HTTP_ROLE_WRITE] = 2;
    assert_int_equal(http_router_add(r, "GET", "/v1/test/fail", HTTP_ROLE_NONE, h_fail, NULL), 0);
}

static int group_setup(void **state)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_server_start(&S, tweak, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    itest_server_stop(&S);
    curl_global_cleanup();
    return 0;
}

/* Asserts the reply is the error JSON with this status and code. */
static void expect_error(itest_reply *r, long status, const char *code)
{
    assert_int_equal(r->curl_code, CURLE_OK);
    assert_int_equal(r->status, status);
    assert_string_equal(r->content_type, "application/json");
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_non_null(json_string_value(json_object_get(e, "message")));
    json_decref(j);
    itest_reply_free(r);
}

static char *create_key(const char *role, char *id_out, size_t id_cap)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"role\":\"%s\"}", role);
    itest_reply r;
    itest_request(U("/v1/keys"), "POST", S.admin, body, strlen(body), 0, &r);
    assert_int_equal(r.status, 201);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    char *key = strdup(json_string_value(json_object_get(j, "key")));
    snprintf(id_out, id_cap, "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    itest_reply_free(&r);
    return key;
}

static void test_health_and_statuses(void **state)
{
    itest_reply r;
    itest_request(U("/health"), "GET", NULL, NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"ok\""));
    itest_reply_free(&r);

    itest_request(U("/v1/whoami"), "GET", NULL, NULL, 0, 0, &r);
    expect_error(&r, 401, "unauthorized");
    itest_request(U("/v1/whoami"), "GET", "tarn_0011223344556677_00", NULL, 0, 0, &r);
    expect_error(&r, 401, "unauthorized");
    itest_request(U("/nope"), "GET", NULL, NULL, 0, 0, &r);
    expect_error(&r, 404, "not_found");
    itest_request(U("/v1/keys"), "PUT", S.admin, "{}", 2, 0, &r);
    assert_string_equal(r.allow, "POST, GET");
    expect_error(&r, 405, "method_not_allowed");
    itest_request(U("/v1/keys"), "POST", S.admin, "{\"role\":", 8, 0, &r);
    assert_non_null(strstr(r.body, "malformed JSON"));
    expect_error(&r, 400, "bad_request");

    char id[HTTP_KEY_ID_MAX];
    char *reader = create_key("read", id, sizeof(id));
    itest_request(U("/v1/keys"), "GET", reader, NULL, 0, 0, &r);
    expect_error(&r, 403, "forbidden");
    itest_request(U("/v1/whoami"), "GET", reader, NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, id));
    itest_reply_free(&r);
    free(reader);
}

static void test_big_bodies_are_413_and_server_keeps_serving(void **state)
{
    size_t big = 10u << 20;
    char *body = malloc(big);
    memset(body, 'x', big);
    itest_reply r;
    itest_request(U("/v1/keys"), "POST", S.admin, body, big, 0, &r);
    expect_error(&r, 413, "payload_too_large");
    itest_request(U("/health"), "GET", NULL, NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    itest_reply_free(&r);
    /* chunked: no Content-Length, counted while reading */
    itest_request(U("/v1/keys"), "POST", S.admin, body, 2u << 20, 1, &r);
    expect_error(&r, 413, "payload_too_large");
    itest_request(U("/health"), "GET", NULL, NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    itest_reply_free(&r);
    /* a chunked body under the limit goes through */
    const char *ok = "{\"role\":\"read\"}";
    itest_request(U("/v1/keys"), "POST", S.admin, ok, strlen(ok), 1, &r);
    assert_int_equal(r.status, 201);
    itest_reply_free(&r);
    free(body);
}

static void test_rate_limit_429_with_retry_after(void **state)
{
    char id[HTTP_KEY_ID_MAX];
    char *writer = create_key("write", id, sizeof(id));
    itest_reply r;
    int limited = 0;
    /* burst 2 at 0.5/s: the third request at the latest is refused */
    for (int i = 0; i < 3 && !limited; i++) {
        itest_request(U("/v1/whoami"), "GET", writer, NULL, 0, 0, &r);
        if (r.status == 429) {
            limited = 1;
            assert_true(strlen(r.retry_after) > 0);
            char *end;
            long secs = strtol(r.retry_after, &end, 10);
            assert_true(*end == '\0');
            assert_true(secs >= 1 && secs <= 2);
            expect_error(&r, 429, "rate_limited");
        } else {
            assert_int_equal(r.status, 200);
            itest_reply_free(&r);
        }
    }
    assert_true(limited);
    free(writer);
}

typedef struct captured {
    pthread_mutex_t lock;
    char text[1 << 16];
    size_t len;
} captured;

static void capture(void *ctx, const char *line, size_t len)
{
    captured *c = ctx;
    pthread_mutex_lock(&c->lock);
    if (c->len + len + 2 < sizeof(c->text)) {
        memcpy(c->text + c->len, line, len);
        c->len += len;
        c->text[c->len++] = '\n';
        c->text[c->len] = '\0';
    }
    pthread_mutex_unlock(&c->lock);
}

static void test_500_error_id_in_log(void **state)
{
    static captured cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
    tarn_log_set_sink(capture, &cap);
    itest_reply r;
    itest_request(U("/v1/test/fail"), "GET", NULL, NULL, 0, 0, &r);
    tarn_log_set_sink(NULL, NULL);
    assert_int_equal(r.status, 500);
    const char *at = strstr(r.body, "error id ");
    assert_non_null(at);
    char eid[17];
    snprintf(eid, sizeof(eid), "%.16s", at + 9);
    assert_int_equal(strspn(eid, "0123456789abcdef"), 16);
    assert_null(strstr(r.body, "disk on fire")); /* the detail stays in the log */
    char want[64];
    snprintf(want, sizeof(want), "\"error_id\":\"%s\"", eid);
    pthread_mutex_lock(&cap.lock);
    const char *line = strstr(cap.text, want);
    assert_non_null(line);
    assert_non_null(strstr(cap.text, "disk on fire"));
    pthread_mutex_unlock(&cap.lock);
    expect_error(&r, 500, "internal");
}

static void test_revoked_key_stops_working(void **state)
{
    char id[HTTP_KEY_ID_MAX];
    char *key = create_key("read", id, sizeof(id));
    itest_reply r;
    itest_request(U("/v1/whoami"), "GET", key, NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    itest_reply_free(&r);
    /* revoked through another handle on the same directory, as the CLI
     * does while the server runs */
    http_keystore *cli;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(http_keystore_open(S.dir, &cli, &err), 0);
    assert_int_equal(http_keystore_revoke(cli, id, &err), 0);
    http_keystore_close(cli);
    itest_request(U("/v1/whoami"), "GET", key, NULL, 0, 0, &r);
    expect_error(&r, 401, "unauthorized");
    free(key);
    /* and through the API */
    key = create_key("read", id, sizeof(id));
    char path[64];
    snprintf(path, sizeof(path), "/v1/keys/%s", id);
    itest_request(U(path), "DELETE", S.admin, NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    itest_reply_free(&r);
    itest_request(U("/v1/whoami"), "GET", key, NULL, 0, 0, &r);
    expect_error(&r, 401, "unauthorized");
    free(key);
}

/* ---- 200 concurrent connections against a limit of 64 ---------------- */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { CLIENTS = 200, LIMIT = 64 };

typedef struct crowd {
    pthread_mutex_t lock;
    pthread_cond_t go_cond;
    int go;
    atomic_int connected;
    int result[CLIENTS]; /* 200: a full 200 reply; -1 clean refusal; other: bad */
} crowd;

static crowd C = {.lock = PTHREAD_MUTEX_INITIALIZER, .go_cond = PTHREAD_COND_INITIALIZER};

static double gauge_open(void)
{
    obs_family *fam = NULL;
    obs_family_register(obs_global(),
                        &(obs_family_opts){.type = OBS_GAUGE,
                                           .name = "tarn_http_connections_open",
                                           .help = "HTTP connections currently open."},
                        &fam);
    return obs_gauge_value(obs_series(fam, NULL));
}

/* One client: connect and send half a request, wait for the others, send
 * the rest, read the reply to the end. */
static void *client(void *arg)
{
    int idx = (int)(intptr_t)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(http_server_port(S.srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 60};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    const char *head = "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
    ok = ok && send(fd, head, strlen(head), MSG_NOSIGNAL) == (ssize_t)strlen(head);
    atomic_fetch_add(&C.connected, 1);
    pthread_mutex_lock(&C.lock);
    while (!C.go)
        pthread_cond_wait(&C.go_cond, &C.lock);
    pthread_mutex_unlock(&C.lock);
    ok = ok && send(fd, "\r\n", 2, MSG_NOSIGNAL) == 2;
    char buf[4096];
    size_t len = 0;
    ssize_t n = 0;
    while (ok && len < sizeof(buf) - 1 && (n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    int timed_out = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (timed_out)
        C.result[idx] = 0;
    else if (strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "\"status\":\"ok\""))
        C.result[idx] = 200;
    else if (len == 0)
        C.result[idx] = -1; /* refused: closed without a reply */
    else
        C.result[idx] = 1;
    close(fd);
    return NULL;
}

static int wait_until(int (*cond)(void), int seconds)
{
    struct timespec d = {0, 10 * 1000000};
    for (int i = 0; i < seconds * 100; i++) {
        if (cond())
            return 1;
        nanosleep(&d, NULL); /* polling a condition with a deadline */
    }
    return cond();
}

static int all_connected(void)
{
    return atomic_load(&C.connected) == CLIENTS;
}

static int at_limit(void)
{
    return gauge_open() >= LIMIT;
}

static void test_200_concurrent_connections_bounded(void **state)
{
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, client, (void *)(intptr_t)i), 0);
    assert_true(wait_until(all_connected, 30));
    /* the server holds exactly its limit; the rest wait in the backlog */
    assert_true(wait_until(at_limit, 30));
    assert_true(gauge_open() <= LIMIT);
    pthread_mutex_lock(&C.lock);
    C.go = 1;
    pthread_cond_broadcast(&C.go_cond);
    pthread_mutex_unlock(&C.lock);
    int served = 0, refused = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
        assert_true(gauge_open() <= LIMIT);
        if (C.result[i] == 200)
            served++;
        else if (C.result[i] == -1)
            refused++;
        else
            fail_msg("client %d ended badly (%d: 0 = timed out, 1 = garbage)", i, C.result[i]);
    }
    printf("# %d served, %d refused\n", served, refused);
    assert_true(served >= LIMIT);
    itest_reply r;
    itest_request(U("/health"), "GET", NULL, NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    itest_reply_free(&r);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_statuses),
        cmocka_unit_test(test_big_bodies_are_413_and_server_keeps_serving),
        cmocka_unit_test(test_rate_limit_429_with_retry_after),
        cmocka_unit_test(test_500_error_id_in_log),
        cmocka_unit_test(test_revoked_key_stops_working),
        cmocka_unit_test(test_200_concurrent_connections_bounded),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
