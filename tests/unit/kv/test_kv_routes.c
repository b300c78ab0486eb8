/*
 * tests/unit/kv/test_kv_routes.c: the key-value HTTP API (kv/kv_routes.h)
 * on a real single-voter node behind a real HTTP server, as a client sees
 * it:
 *   - the value limit is one the node can propose: a value of exactly
 *     KV_VALUE_MAX_BYTES is stored and read back, one byte more is 413
 *     (and so is a body at the server's 1 MiB body limit), and the largest
 *     key with the largest value and a compare still fits;
 *   - oversized keys are 413 on every route, bad JSON and bad shapes on
 *     /v1/kv/txn are 400;
 *   - a failed compare is 409 with the current version, value and an
 *     "exists" flag (false, value null, when the key is absent);
 *   - a node that cannot commit (no quorum) answers writes and
 *     linearizable reads 503 with Retry-After, never 500, while
 *     serializable reads are still served.
 */
#include "common/test_util.h"

#include "../../integration/http_itest.h"
#include "base/alloc.h"
#include "kv/kv.h"
#include "kv/kv_routes.h"
#include "node/node.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char *dir;
    node *n;
    kv_routes *kr;
    itest_server srv;
} fixture;

static unsigned http_threads; /* 0: itest's default */

static void add_kv_routes(http_server_opts *o, http_router *r, void *ctx)
{
    if (http_threads)
        o->threads = http_threads;
    assert_int_equal(kv_routes_add(r, ctx), 0);
}

/* leaderless: member 1 of two whose peer never starts, so nothing commits
 * and every proposal or barrier times out (after 300 ms). */
static void fixture_open_opts(fixture *f, int leaderless, int timeout_ms, size_t queue_max);

static void fixture_open(fixture *f, int leaderless)
{
    fixture_open_opts(f, leaderless, leaderless ? 300 : 0, 0);
}

static void fixture_open_opts(fixture *f, int leaderless, int timeout_ms, size_t queue_max)
{
    memset(f, 0, sizeof(*f));
    f->dir = tarn_test_mkdtemp("kv-routes");
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(kv_register(&reg), 0);
    node_peer peers[2] = {{.id = 1}, {.id = 2}};
    for (int i = 0; i < 2; i++)
        snprintf(peers[i].addr, sizeof(peers[i].addr), "127.0.0.1:%d", tarn_test_free_port());
    node_opts o = {.data_dir = f->dir,
                   .election_ticks = leaderless ? 1000 : 2,
                   .heartbeat_ticks = 1,
                   .tick_ms = 5,
                   .queue_max = queue_max,
                   .durability = STORE_DURABLE_NONE};
    if (leaderless) {
        o.id = 1;
        o.members = peers;
        o.n_members = 2;
        o.cluster_name = "unit";
        o.http_url = "http://member-1";
    }
    tarn_err err = TARN_ERR_INIT;
    if (node_open(&o, &reg, &f->n, &err) != 0)
        fail_msg("node_open: %s", tarn_err_msg(&err));
    if (!leaderless)
        assert_int_equal(node_wait_leader(f->n, 5000, &err), 0);
    assert_int_equal(kv_routes_new(f->n, timeout_ms, &f->kr), 0);
    itest_server_start(&f->srv, add_kv_routes, f->kr);
}

static void fixture_close(fixture *f)
{
    itest_server_stop(&f->srv);
    kv_routes_free(f->kr);
    node_close(f->n);
    tarn_test_rmdir(f->dir);
}

static long req(fixture *f, const char *method, const char *path, const char *body, size_t body_len,
                itest_reply *out)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", f->srv.base_url, path);
    itest_request(url, method, f->srv.admin, body, body_len, 0, out);
    assert_int_equal(out->curl_code, 0);
    return out->status;
}

static long req_status(fixture *f, const char *method, const char *path, const char *body,
                       size_t body_len)
{
    itest_reply r;
    long s = req(f, method, path, body, body_len, &r);
    itest_reply_free(&r);
    return s;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    itest_reply *r = ctx;
    size_t len = size * n;
    char *b = realloc(r->body, r->body_len + len + 1);
    if (!b)
        return 0;
    memcpy(b + r->body_len, p, len);
    r->body_len += len;
    b[r->body_len] = '\0';
    r->body = b;
    return len;
}

/* A request with one extra header (If-Match, If-None-Match), which
 * itest_request does not send. */
static long req_header(fixture *f, const char *method, const char *path, const char *body,
                       const char *header, itest_reply *out)
{
    memset(out, 0, sizeof(*out));
    char url[2048], key[HTTP_KEY_MAX + 32];
    snprintf(url, sizeof(url), "%s%s", f->srv.base_url, path);
    snprintf(key, sizeof(key), "X-API-Key: %s", f->srv.admin);
    struct curl_slist *h = curl_slist_append(NULL, key);
    h = curl_slist_append(h, header);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    out->curl_code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    assert_int_equal(out->curl_code, 0);
    return out->status;
}

static json_t *body_json(const itest_reply *r)
{
    json_error_t je;
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len, 0, &je);
    if (!j)
        fail_msg("reply is not JSON: %s", r->body ? r->body : "(empty)");
    return j;
}

static void test_value_limit_fits_a_proposal(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 0);
    size_t max = KV_VALUE_MAX_BYTES;
    char *v = malloc(max + 2);
    assert_non_null(v);
    for (size_t i = 0; i < max + 2; i++)
        v[i] = (char)('a' + i % 26);
    itest_reply r;
    assert_int_equal(req(&f, "PUT", "/v1/kv/big", v, max, &r), 200);
    itest_reply_free(&r);
    assert_int_equal(req(&f, "GET", "/v1/kv/big", NULL, 0, &r), 200);
    json_t *j = body_json(&r);
    /* base64 of max bytes (max is a multiple of 3, so no padding). */
    assert_int_equal(max % 3, 0);
    assert_int_equal(json_string_length(json_object_get(j, "value")), max / 3 * 4);
    json_decref(j);
    itest_reply_free(&r);
    assert_int_equal(req(&f, "PUT", "/v1/kv/big2", v, max + 1, &r), 413);
    assert_non_null(strstr(r.body, "at most 1047552"));
    itest_reply_free(&r);
    /* The documented HTTP body limit itself (1 MiB) is over the value limit. */
    char *mib = malloc(1u << 20);
    assert_non_null(mib);
    memset(mib, 'x', 1u << 20);
    assert_int_equal(req_status(&f, "PUT", "/v1/kv/big3", mib, 1u << 20), 413);
    free(mib);
    /* Largest key, largest value and a compare in one command still fit. */
    char path[600];
    int n = snprintf(path, sizeof(path), "/v1/kv/");
    memset(path + n, 'k', KV_KEY_MAX_BYTES);
    path[n + KV_KEY_MAX_BYTES] = '\0';
    assert_int_equal(req_status(&f, "PUT", path, v, max), 200);
    tarn_buf cmd;
    tarn_buf_init(&cmd, KV_CMD_MAX_BYTES);
    kv_compare c = {.kind = KV_CMP_VERSION,
                    .key = (const uint8_t *)path + n,
                    .key_len = KV_KEY_MAX_BYTES,
                    .version = 1};
    assert_int_equal(kv_encode_put(&cmd, path + n, KV_KEY_MAX_BYTES, v, max, &c), 0);
    assert_int_equal(cmd.len, KV_CMD_MAX_BYTES);
    tarn_buf_free(&cmd);
    free(v);
    fixture_close(&f);
}

static void test_bad_input(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 0);
    char path[700];
    int n = snprintf(path, sizeof(path), "/v1/kv/");
    memset(path + n, 'k', KV_KEY_MAX_BYTES + 1);
    path[n + KV_KEY_MAX_BYTES + 1] = '\0';
    assert_int_equal(req_status(&f, "PUT", path, "x", 1), 413);
    assert_int_equal(req_status(&f, "GET", path, NULL, 0), 413);
    assert_int_equal(req_status(&f, "DELETE", path, NULL, 0), 413);
    char *txn = malloc(KV_KEY_MAX_BYTES + 64);
    assert_non_null(txn);
    int m = snprintf(txn, 32, "{\"delete\":[{\"key\":\"");
    memset(txn + m, 'k', KV_KEY_MAX_BYTES + 1);
    snprintf(txn + m + KV_KEY_MAX_BYTES + 1, 16, "\"}]}");
    assert_int_equal(req_status(&f, "POST", "/v1/kv/txn", txn, strlen(txn)), 413);
    free(txn);
    const char *bad[] = {
        "{\"put\":",                                     /* truncated */
        "not json",                                      /* not JSON */
        "[1,2]",                                         /* not an object */
        "{\"put\":{}}",                                  /* not an array */
        "{\"put\":[{\"key\":\"a\"}]}",                   /* no value */
        "{\"put\":[{\"key\":\"a\",\"value\":1}]}",       /* value not a string */
        "{\"put\":[{\"key\":\"a\",\"value\":\"!!\"}]}",  /* not base64 */
        "{\"put\":[{\"key\":\"\",\"value\":\"eA==\"}]}", /* empty key */
        "{\"put\":[7]}",                                 /* not an object */
        "{\"compare\":[{\"key\":\"a\",\"version\":-1}],\"put\":[{\"key\":\"a\",\"value\":\"eA==\"}]"
        "}",
        "{\"compare\":[{\"key\":\"a\"}],\"put\":[{\"key\":\"a\",\"value\":\"eA==\"}]}",
        "{}", /* nothing to do */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        itest_reply r;
        long s = req(&f, "POST", "/v1/kv/txn", bad[i], strlen(bad[i]), &r);
        if (s != 400)
            fail_msg("txn body '%s': %ld %s", bad[i], s, r.body ? r.body : "");
        itest_reply_free(&r);
    }
    /* The server still serves. */
    assert_int_equal(req_status(&f, "PUT", "/v1/kv/after", "ok", 2), 200);
    fixture_close(&f);
}

static void test_conflict_carries_current_value(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 0);
    assert_int_equal(req_status(&f, "PUT", "/v1/kv/c", "first", 5), 200);
    assert_int_equal(req_status(&f, "PUT", "/v1/kv/c", "second", 6), 200);
    const char *stale = "{\"compare\":[{\"key\":\"c\",\"version\":1}],"
                        "\"put\":[{\"key\":\"c\",\"value\":\"eA==\"}]}";
    itest_reply r;
    assert_int_equal(req(&f, "POST", "/v1/kv/txn", stale, strlen(stale), &r), 409);
    json_t *j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
    assert_true(json_is_true(json_object_get(j, "exists")));
    assert_string_equal(json_string_value(json_object_get(j, "value")), "c2Vjb25k"); /* second */
    assert_int_equal(json_integer_value(json_object_get(j, "failed_compare")), 0);
    json_decref(j);
    itest_reply_free(&r);
    /* Compare by value against an absent key: exists false, value null. */
    const char *absent = "{\"compare\":[{\"key\":\"c\",\"version\":2},{\"key\":\"nope\","
                         "\"value\":\"eA==\"}],\"put\":[{\"key\":\"c\",\"value\":\"eA==\"}]}";
    assert_int_equal(req(&f, "POST", "/v1/kv/txn", absent, strlen(absent), &r), 409);
    j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 0);
    assert_true(json_is_false(json_object_get(j, "exists")));
    assert_true(json_is_null(json_object_get(j, "value")));
    assert_int_equal(json_integer_value(json_object_get(j, "failed_compare")), 1);
    json_decref(j);
    itest_reply_free(&r);
    /* The same body from PUT and DELETE with If-Match / If-None-Match. */
    assert_int_equal(req_header(&f, "PUT", "/v1/kv/c", "x", "If-Match: 1", &r), 409);
    j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "value")), "c2Vjb25k");
    json_decref(j);
    itest_reply_free(&r);
    assert_int_equal(req_header(&f, "PUT", "/v1/kv/c", "x", "If-None-Match: *", &r), 409);
    j = body_json(&r);
    assert_true(json_is_true(json_object_get(j, "exists")));
    assert_string_equal(json_string_value(json_object_get(j, "value")), "c2Vjb25k");
    json_decref(j);
    itest_reply_free(&r);
    assert_int_equal(req_header(&f, "DELETE", "/v1/kv/c", NULL, "If-Match: \"7\"", &r), 409);
    itest_reply_free(&r);
    assert_int_equal(req_header(&f, "PUT", "/v1/kv/fresh", "x", "If-Match: 3", &r), 409);
    j = body_json(&r);
    assert_true(json_is_false(json_object_get(j, "exists")));
    assert_true(json_is_null(json_object_get(j, "value")));
    json_decref(j);
    itest_reply_free(&r);
    /* A matching compare goes through. */
    assert_int_equal(req_header(&f, "PUT", "/v1/kv/fresh", "x", "If-None-Match: *", &r), 200);
    itest_reply_free(&r);
    /* Nothing else changed. */
    assert_int_equal(req(&f, "GET", "/v1/kv/c", NULL, 0, &r), 200);
    j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
    json_decref(j);
    itest_reply_free(&r);
    fixture_close(&f);
}

static void test_no_quorum_is_503_with_retry_after(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 1);
    struct {
        const char *method, *path, *body;
    } cases[] = {
        {"PUT", "/v1/kv/a", "v"},
        {"DELETE", "/v1/kv/a", NULL},
        {"POST", "/v1/kv/txn", "{\"put\":[{\"key\":\"a\",\"value\":\"eA==\"}]}"},
        {"GET", "/v1/kv/a", NULL},
        {"GET", "/v1/kv?start=a", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        itest_reply r;
        long s = req(&f, cases[i].method, cases[i].path, cases[i].body,
                     cases[i].body ? strlen(cases[i].body) : 0, &r);
        if (s != 503)
            fail_msg("%s %s without quorum: %ld %s", cases[i].method, cases[i].path, s,
                     r.body ? r.body : "");
        assert_string_equal(r.retry_after, "1");
        assert_non_null(strstr(r.body, "\"unavailable\""));
        itest_reply_free(&r);
    }
    /* A serializable read needs no quorum: served from the local state. */
    assert_int_equal(req_status(&f, "GET", "/v1/kv/a?consistency=serializable", NULL, 0), 404);
    fixture_close(&f);
}

/* ---- writes do not hold a server thread (http "deferred replies") ---- */

typedef struct bg_req {
    pthread_t th;
    fixture *f;
    const char *method, *path, *body;
    itest_reply r;
} bg_req;

static void *bg_main(void *arg)
{
    bg_req *b = arg;
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", b->f->srv.base_url, b->path);
    itest_request(url, b->method, b->f->srv.admin, b->body, b->body ? strlen(b->body) : 0, 0,
                  &b->r);
    return NULL;
}

static void bg_start(bg_req *b, fixture *f, const char *method, const char *path, const char *body)
{
    memset(b, 0, sizeof(*b));
    b->f = f;
    b->method = method;
    b->path = path;
    b->body = body;
    assert_int_equal(pthread_create(&b->th, NULL, bg_main, b), 0);
}

/* Waits until the node holds `want` proposals in its queue. */
static void wait_queued(fixture *f, size_t want)
{
    node_status st;
    for (int i = 0; i < 2000; i++) {
        node_get_status(f->n, &st);
        if (st.queue_depth >= want)
            return;
        usleep(5000);
    }
    fail_msg("queue depth %zu, want %zu", st.queue_depth, want);
}

/* One server thread, no quorum, writes that wait 60 s: while two writes
 * wait, the same thread serves reads and refuses a third write with 503
 * (the node's queue holds two); stopping the server answers the waiting
 * writes 503 at once (or closes their connections), and node_close then
 * runs their callbacks. */
static void test_waiting_writes_hold_no_thread(void **state)
{
    (void)state;
    fixture f;
    http_threads = 1;
    fixture_open_opts(&f, 1, 60000, 2);
    bg_req w[2];
    bg_start(&w[0], &f, "PUT", "/v1/kv/a", "1");
    bg_start(&w[1], &f, "POST", "/v1/kv/txn", "{\"put\":[{\"key\":\"b\",\"value\":\"eA==\"}]}");
    wait_queued(&f, 2);
    /* A blocked thread would leave these waiting for a minute. */
    assert_int_equal(req_status(&f, "GET", "/v1/kv/a?consistency=serializable", NULL, 0), 404);
    itest_reply r;
    assert_int_equal(req(&f, "PUT", "/v1/kv/c", "3", 1, &r), 503);
    assert_string_equal(r.retry_after, "1");
    assert_non_null(strstr(r.body, "queued"));
    itest_reply_free(&r);
    itest_server_stop(&f.srv);
    for (int i = 0; i < 2; i++) {
        pthread_join(w[i].th, NULL);
        /* 503, or the connection closed when MHD stopped before sending it. */
        if (w[i].r.curl_code == 0) {
            assert_int_equal(w[i].r.status, 503);
            assert_non_null(strstr(w[i].r.body, "stopping"));
        } else {
            assert_int_equal(w[i].r.curl_code, CURLE_GOT_NOTHING);
        }
        itest_reply_free(&w[i].r);
    }
    node_close(f.n); /* the pending proposals' callbacks: detached replies */
    kv_routes_free(f.kr);
    tarn_test_rmdir(f.dir);
    http_threads = 0;
}

/* node_close while writes wait and the server still runs: they are
 * answered 503 through their callbacks. */
static void test_node_close_answers_waiting_writes(void **state)
{
    (void)state;
    fixture f;
    fixture_open_opts(&f, 1, 60000, 0);
    bg_req w[3];
    for (int i = 0; i < 3; i++)
        bg_start(&w[i], &f, "PUT", "/v1/kv/k", "v");
    wait_queued(&f, 3);
    node_close(f.n);
    for (int i = 0; i < 3; i++) {
        pthread_join(w[i].th, NULL);
        assert_int_equal(w[i].r.status, 503);
        assert_non_null(strstr(w[i].r.body, "write outcome unknown"));
        itest_reply_free(&w[i].r);
    }
    itest_server_stop(&f.srv);
    kv_routes_free(f.kr);
    tarn_test_rmdir(f.dir);
}

/* Many writes of one key at once through a 2-thread server: each gets its
 * own version (the applied result reaches its own client). */
static void test_concurrent_writes_get_their_results(void **state)
{
    (void)state;
    fixture f;
    http_threads = 2;
    fixture_open(&f, 0);
    enum { CLIENTS = 24 };
    bg_req w[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        bg_start(&w[i], &f, "PUT", "/v1/kv/same", "v");
    int seen[CLIENTS + 1] = {0};
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(w[i].th, NULL);
        assert_int_equal(w[i].r.status, 200);
        json_t *j = body_json(&w[i].r);
        json_int_t v = json_integer_value(json_object_get(j, "version"));
        assert_true(v >= 1 && v <= CLIENTS);
        assert_int_equal(seen[v], 0);
        seen[v] = 1;
        json_decref(j);
        itest_reply_free(&w[i].r);
    }
    fixture_close(&f);
    http_threads = 0;
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_limit_fits_a_proposal),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_conflict_carries_current_value),
        cmocka_unit_test(test_no_quorum_is_503_with_retry_after),
        cmocka_unit_test(test_waiting_writes_hold_no_thread),
        cmocka_unit_test(test_node_close_answers_waiting_writes),
        cmocka_unit_test(test_concurrent_writes_get_their_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
