/* Out-of-memory injection over the HTTP request path: for each request,
 * every allocation http_dispatch makes is failed in turn; each run must end
 * in an error reply (5xx) or an error code, and leave nothing allocated.
 * A run whose failure was absorbed (same reply as without injection) is
 * fine too; tarn_test_oom_loop then checks it leaked nothing. */
#include "common/test_util.h"

#include "http_test_req.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

typedef struct oom_case {
    http_dispatch_env *env;
    test_req *req;
    unsigned want; /* the status without injection */
    http_response resp;
} oom_case;

static int run_case(void *ctx)
{
    oom_case *c = ctx;
    http_response_init(&c->resp);
    int rc = http_dispatch(c->env, &c->req->req, &c->resp);
    unsigned status = c->resp.status;
    if (rc == 0 && status != c->want && status < 500)
        printf("# unexpected reply: %s\n", tarn_buf_cstr(&c->resp.body));
    http_response_free(&c->resp);
    if (rc != 0)
        return rc;
    if (status == c->want)
        return 0;
    /* a failure changed the answer: it must be a server error */
    if (status < 500)
        fail_msg("injected failure answered %u instead of %u or 5xx: %s", status, c->want,
                 "see log");
    return -1;
}

static void oom_over(http_dispatch_env *env, test_req *t, unsigned want)
{
    oom_case c = {.env = env, .req = t, .want = want};
    /* warm up: metric series and limiter buckets are created on first use
     * and live for the process, so they are made before counting */
    http_response_init(&c.resp);
    assert_int_equal(http_dispatch(env, &t->req, &c.resp), 0);
    assert_int_equal(c.resp.status, want);
    http_response_free(&c.resp);
    int points = tarn_test_oom_loop(run_case, NULL, &c, 2000);
    printf("# %s %s: %d injection points\n", t->req.method, t->req.path, points);
}

static void test_oom_over_requests(void **state)
{
    (void)state;
    tarn_alloc_hook_jansson();
    char *dir = tarn_test_mkdtemp("http-oom");
    tarn_err err = TARN_ERR_INIT;
    http_keystore *ks;
    assert_int_equal(http_keystore_open(dir, &ks, &err), 0);
    char admin[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX];
    assert_int_equal(
        http_keystore_create(ks, HTTP_ROLE_ADMIN, admin, sizeof(admin), id, sizeof(id), &err), 0);
    http_router *router;
    assert_int_equal(http_router_new(&router), 0);
    assert_int_equal(http_router_add_builtin(router, ks), 0);
    double rate[HTTP_ROLE_COUNT] = {0, 1000, 1000, 1000},
           burst[HTTP_ROLE_COUNT] = {0, 1e9, 1e9, 1e9};
    http_limiter *lim;
    assert_int_equal(http_limiter_new(rate, burst, &lim), 0);
    http_dispatch_env env = {.router = router, .keys = ks, .limiter = lim, .max_body_bytes = 4096};

    test_req t;
    test_req_make(&t, "GET", "/v1/whoami", NULL, "X-API-Key", admin, NULL);
    oom_over(&env, &t, 200);
    test_req_make(&t, "POST", "/v1/keys", "{\"role\":\"read\",\"note\":[1,2,{\"a\":\"b\"}]}",
                  "X-API-Key", admin, NULL);
    oom_over(&env, &t, 201);
    test_req_make(&t, "POST", "/v1/keys", "{\"role\": [1, 2", "X-API-Key", admin, NULL);
    oom_over(&env, &t, 400);
    test_req_make(&t, "GET", "/v1/keys", NULL, "X-API-Key", admin, NULL);
    oom_over(&env, &t, 200);
    test_req_make(&t, "DELETE", "/v1/keys/0011223344556677", NULL, "X-API-Key", admin, NULL);
    oom_over(&env, &t, 404);
    test_req_make(&t, "GET", "/no/such/path", NULL, NULL);
    oom_over(&env, &t, 404);
    test_req_make(&t, "GET", "/health", NULL, NULL);
    oom_over(&env, &t, 200);
    test_req_make(&t, "GET", "/metrics", NULL, NULL);
    oom_over(&env, &t, 200);

    http_limiter_free(lim);
    http_router_free(router);
    http_keystore_close(ks);
    tarn_test_rmdir(dir);
}

/* A keystore re-read (another process changed keys.json) under memory
 * pressure fails closed: 500, never a stale accept, never a leak. */
static void test_oom_during_key_reload(void **state)
{
    (void)state;
    tarn_alloc_hook_jansson();
    char *dir = tarn_test_mkdtemp("http-oom");
    tarn_err err = TARN_ERR_INIT;
    http_keystore *ks, *other;
    assert_int_equal(http_keystore_open(dir, &ks, &err), 0);
    assert_int_equal(http_keystore_open(dir, &other, &err), 0);
    char admin[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX];
    assert_int_equal(
        http_keystore_create(ks, HTTP_ROLE_ADMIN, admin, sizeof(admin), id, sizeof(id), &err), 0);
    http_router *router;
    assert_int_equal(http_router_new(&router), 0);
    assert_int_equal(http_router_add_builtin(router, ks), 0);
    http_dispatch_env env = {.router = router, .keys = ks};
    test_req t;
    test_req_make(&t, "GET", "/v1/whoami", NULL, "X-API-Key", admin, NULL);
    http_response resp;
    for (uint64_t n = 1; n < 200; n++) {
        char k2[HTTP_KEY_MAX], id2[HTTP_KEY_ID_MAX];
        /* another handle writes: ks must re-read on the next request */
        assert_int_equal(
            http_keystore_create(other, HTTP_ROLE_READ, k2, sizeof(k2), id2, sizeof(id2), &err), 0);
        int64_t live = tarn_alloc_live_count();
        http_response_init(&resp);
        tarn_alloc_fail_at(n, 0);
        int rc = http_dispatch(&env, &t.req, &resp);
        int fired = tarn_alloc_fail_fired();
        tarn_alloc_fail_at(0, 0);
        unsigned status = resp.status;
        http_response_free(&resp);
        if (fired)
            assert_true(rc != 0 || status == 200 || status >= 500);
        else
            assert_int_equal(status, 200);
        /* the re-read array replaces the old one: the count may move by
         * the one keys array, no more */
        assert_true(tarn_alloc_live_count() - live <= 1);
        if (!fired)
            break;
    }
    http_router_free(router);
    http_keystore_close(ks);
    http_keystore_close(other);
    tarn_test_rmdir(dir);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_over_requests),
        cmocka_unit_test(test_oom_during_key_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
