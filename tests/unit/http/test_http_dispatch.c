/* Tests of http/ routing, dispatch, error replies and the built-in routes,
 * driven through http_dispatch without sockets. */
#include "common/test_util.h"

#include "http_test_req.h"

#include "base/alloc.h"
#include "base/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct fixture {
    char *dir;
    http_keystore *ks;
    http_router *router;
    http_dispatch_env env;
    char admin[HTTP_KEY_MAX], admin_id[HTTP_KEY_ID_MAX];
    char reader[HTTP_KEY_MAX], reader_id[HTTP_KEY_ID_MAX];
    http_response resp;
} fixture;

/* Echoes its {a} and {b} parameters. */
static int h_echo(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    const char *b = http_call_param(c, "b");
    json_t *j = json_pack("{s:s,s:s,s:s}", "a", http_call_param(c, "a"), "b", b ? b : "", "route",
                          http_call_route(c));
    int rc = http_reply_json(resp, 200, j);
    json_decref(j);
    return rc;
}

/* Fails with the code in ctx. */
static int h_fail(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    return tarn_err_set(err, *(int *)ctx, "secret internal detail");
}

static int h_noreply(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    return 0;
}

static int code_eio = TARN_EIO, code_enoent = TARN_ENOENT, code_einval = TARN_EINVAL,
           code_econflict = TARN_ECONFLICT;

static int setup(void **state)
{
    tarn_alloc_hook_jansson();
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("http-dispatch");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(http_keystore_open(f->dir, &f->ks, &err), 0);
    assert_int_equal(http_keystore_create(f->ks, HTTP_ROLE_ADMIN, f->admin, sizeof(f->admin),
                                          f->admin_id, sizeof(f->admin_id), &err),
                     0);
    assert_int_equal(http_keystore_create(f->ks, HTTP_ROLE_READ, f->reader, sizeof(f->reader),
                                          f->reader_id, sizeof(f->reader_id), &err),
                     0);
    assert_int_equal(http_router_new(&f->router), 0);
    assert_int_equal(http_router_add_builtin(f->router, f->ks), 0);
    assert_int_equal(
        http_router_add(f->router, "GET", "/t/{a}/x/{b}", HTTP_ROLE_NONE, h_echo, NULL), 0);
    assert_int_equal(http_router_add(f->router, "GET", "/t/{a}", HTTP_ROLE_NONE, h_echo, NULL), 0);
    assert_int_equal(http_router_add(f->router, "POST", "/t/{a}", HTTP_ROLE_WRITE, h_echo, NULL),
                     0);
    assert_int_equal(
        http_router_add(f->router, "GET", "/fail/eio", HTTP_ROLE_NONE, h_fail, &code_eio), 0);
    assert_int_equal(
        http_router_add(f->router, "GET", "/fail/enoent", HTTP_ROLE_NONE, h_fail, &code_enoent), 0);
    assert_int_equal(
        http_router_add(f->router, "GET", "/fail/einval", HTTP_ROLE_NONE, h_fail, &code_einval), 0);
    assert_int_equal(http_router_add(f->router, "GET", "/fail/conflict", HTTP_ROLE_NONE, h_fail,
                                     &code_econflict),
                     0);
    assert_int_equal(
        http_router_add(f->router, "GET", "/fail/noreply", HTTP_ROLE_NONE, h_noreply, NULL), 0);
    f->env = (http_dispatch_env){.router = f->router, .keys = f->ks, .max_body_bytes = 64};
    http_response_init(&f->resp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    http_response_free(&f->resp);
    http_router_free(f->router);
    http_keystore_close(f->ks);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

static json_t *body_json(const http_response *r)
{
    json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_params_are_extracted(void **state)
{
    fixture *f = *state;
    test_req t;
    test_req_make(&t, "GET", "/t/foo/x/bar", NULL, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    json_t *j = body_json(&f->resp);
    assert_string_equal(json_string_value(json_object_get(j, "a")), "foo");
    assert_string_equal(json_string_value(json_object_get(j, "b")), "bar");
    assert_string_equal(json_string_value(json_object_get(j, "route")), "/t/{a}/x/{b}");
    json_decref(j);
    test_req_make(&t, "GET", "/t/only?x=1", NULL, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    j = body_json(&f->resp);
    assert_string_equal(json_string_value(json_object_get(j, "a")), "only");
    json_decref(j);
}

static void test_unknown_path_is_404(void **state)
{
    fixture *f = *state;
    const char *paths[] = {"/nope",    "/t", "/t//x/y", "/t/a/x/",
                           "/t/a/y/b", "",   "noslash", "/health/"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        test_req t;
        test_req_make(&t, "GET", paths[i], NULL, NULL);
        assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 404);
        assert_error_shape(&f->resp, "not_found");
    }
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    fixture *f = *state;
    test_req t;
    test_req_make(&t, "DELETE", "/t/zz", NULL, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 405);
    assert_error_shape(&f->resp, "method_not_allowed");
    assert_int_equal(f->resp.header_count, 1);
    assert_string_equal(f->resp.headers[0].name, "Allow");
    assert_string_equal(f->resp.headers[0].value, "GET, POST");
    test_req_make(&t, "BREW", "/health", NULL, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 405);
    assert_string_equal(f->resp.headers[0].value, "GET");
}

static void test_router_refuses_bad_routes(void **state)
{
    fixture *f = *state;
    assert_int_equal(http_router_add(f->router, "GET", "/t/{a}", HTTP_ROLE_NONE, h_echo, NULL),
                     TARN_EEXIST);
    const char *bad[] = {"t", "/a//b", "/{}", "/{a-b}", "/a/", "/x{a}", "/{a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(http_router_add(f->router, "GET", bad[i], HTTP_ROLE_NONE, h_echo, NULL),
                         TARN_EINVAL);
    assert_int_equal(http_router_add(f->router, "BREW", "/ok", HTTP_ROLE_NONE, h_echo, NULL),
                     TARN_EINVAL);
    assert_int_equal(http_router_set_role(f->router, "GET", "/nope", HTTP_ROLE_READ), TARN_ENOENT);
}

static void test_missing_and_unknown_key_are_401(void **state)
{
    fixture *f = *state;
    test_req t;
    test_req_make(&t, "GET", "/v1/whoami", NULL, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 401);
    assert_error_shape(&f->resp, "unauthorized");
    char forged[HTTP_KEY_MAX];
    snprintf(forged, sizeof(forged), "%s", f->reader);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'a' ? 'b' : 'a';
    const char *bad[] = {forged, "nonsense", "tarn_", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        test_req_make(&t, "GET", "/v1/whoami", NULL, "X-API-Key", bad[i], NULL);
        assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 401);
        assert_error_shape(&f->resp, "unauthorized");
    }
    test_req_make(&t, "GET", "/v1/whoami", NULL, "Authorization", "Basic abc", NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 401);
}

static void test_key_headers_and_whoami(void **state)
{
    fixture *f = *state;
    test_req t;
    char bearer[HTTP_KEY_MAX + 16];
    snprintf(bearer, sizeof(bearer), "Bearer %s", f->reader);
    test_req_make(&t, "GET", "/v1/whoami", NULL, "Authorization", bearer, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    json_t *j = body_json(&f->resp);
    assert_string_equal(json_string_value(json_object_get(j, "id")), f->reader_id);
    assert_string_equal(json_string_value(json_object_get(j, "role")), "read");
    json_decref(j);
    test_req_make(&t, "GET", "/v1/whoami", NULL, "x-api-key", f->admin, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    j = body_json(&f->resp);
    assert_string_equal(json_string_value(json_object_get(j, "role")), "admin");
    json_decref(j);
}

static void test_role_too_low_is_403(void **state)
{
    fixture *f = *state;
    test_req t;
    test_req_make(&t, "POST", "/v1/keys", "{\"role\":\"read\"}", "X-API-Key", f->reader, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 403);
    assert_error_shape(&f->resp, "forbidden");
    test_req_make(&t, "POST", "/t/a", NULL, "X-API-Key", f->reader, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 403);
    /* admin may do what write may (hierarchy) */
    test_req_make(&t, "POST", "/t/a", NULL, "X-API-Key", f->admin, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
}

static void test_bad_json_and_bad_field_are_400(void **state)
{
    fixture *f = *state;
    const char *bodies[] = {
        "{\"role\":",
        "[1,2]",
        "{\"role\":\"root\"}",
        "{}",
        "{\"role\":5}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"};
    f->env.max_body_bytes = 4096;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        test_req t;
        test_req_make(&t, "POST", "/v1/keys", bodies[i], "X-API-Key", f->admin, NULL);
        assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 400);
        assert_error_shape(&f->resp, "bad_request");
    }
    test_req t;
    test_req_make(&t, "POST", "/v1/keys", "{\"role\":", "X-API-Key", f->admin, NULL);
    test_dispatch(&f->env, &t, &f->resp);
    assert_non_null(strstr(tarn_buf_cstr(&f->resp.body), "malformed JSON"));
    test_req_make(&t, "POST", "/v1/keys", "{\"role\":\"root\"}", "X-API-Key", f->admin, NULL);
    test_dispatch(&f->env, &t, &f->resp);
    assert_non_null(strstr(tarn_buf_cstr(&f->resp.body), "role"));
}

static void test_body_over_limit_is_413(void **state)
{
    fixture *f = *state;
    char body[100];
    memset(body, 'x', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    test_req t;
    test_req_make(&t, "POST", "/v1/keys", body, "X-API-Key", f->admin, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 413);
    assert_error_shape(&f->resp, "payload_too_large");
}

static void test_rate_limit_is_429_with_retry_after(void **state)
{
    fixture *f = *state;
    double rate[HTTP_ROLE_COUNT] = {0, 0.5, 0, 0}, burst[HTTP_ROLE_COUNT] = {0, 1, 0, 0};
    http_limiter *lim;
    assert_int_equal(http_limiter_new(rate, burst, &lim), 0);
    f->env.limiter = lim;
    test_req t;
    test_req_make(&t, "GET", "/v1/whoami", NULL, "X-API-Key", f->reader, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 429);
    assert_error_shape(&f->resp, "rate_limited");
    assert_int_equal(f->resp.header_count, 1);
    assert_string_equal(f->resp.headers[0].name, "Retry-After");
    assert_string_equal(f->resp.headers[0].value, "2");
    /* admin is unlimited in this configuration */
    test_req_make(&t, "GET", "/v1/whoami", NULL, "X-API-Key", f->admin, NULL);
    for (int i = 0; i < 10; i++)
        assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    f->env.limiter = NULL;
    http_limiter_free(lim);
}

typedef struct captured {
    pthread_mutex_t lock;
    char lines[16][TARN_LOG_LINE_MAX];
    int count;
} captured;

static void capture(void *ctx, const char *line, size_t len)
{
    captured *c = ctx;
    pthread_mutex_lock(&c->lock);
    if (c->count < 16)
        snprintf(c->lines[c->count++], TARN_LOG_LINE_MAX, "%.*s", (int)len, line);
    pthread_mutex_unlock(&c->lock);
}

static void test_internal_error_is_500_with_logged_id(void **state)
{
    fixture *f = *state;
    static captured cap = {.lock = PTHREAD_MUTEX_INITIALIZER};
    cap.count = 0;
    tarn_log_set_sink(capture, &cap);
    test_req t;
    test_req_make(&t, "GET", "/fail/eio", NULL, NULL);
    unsigned status = test_dispatch(&f->env, &t, &f->resp);
    tarn_log_set_sink(NULL, NULL);
    assert_int_equal(status, 500);
    assert_error_shape(&f->resp, "internal");
    assert_int_equal(strlen(f->resp.error_id), 16);
    const char *body = tarn_buf_cstr(&f->resp.body);
    assert_non_null(strstr(body, f->resp.error_id));
    assert_null(strstr(body, "secret internal detail")); /* details stay in the log */
    char want[64];
    snprintf(want, sizeof(want), "\"error_id\":\"%s\"", f->resp.error_id);
    int found = 0;
    for (int i = 0; i < cap.count; i++)
        if (strstr(cap.lines[i], want) && strstr(cap.lines[i], "\"level\":\"error\"") &&
            strstr(cap.lines[i], "secret internal detail"))
            found = 1;
    assert_true(found);
    test_req_make(&t, "GET", "/fail/noreply", NULL, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 500);
}

static void test_handler_codes_map_to_statuses(void **state)
{
    fixture *f = *state;
    struct {
        const char *path;
        unsigned status;
        const char *code;
    } cases[] = {{"/fail/enoent", 404, "not_found"},
                 {"/fail/einval", 400, "bad_request"},
                 {"/fail/conflict", 409, "conflict"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_req t;
        test_req_make(&t, "GET", cases[i].path, NULL, NULL);
        assert_int_equal(test_dispatch(&f->env, &t, &f->resp), cases[i].status);
        assert_error_shape(&f->resp, cases[i].code);
    }
}

static void test_health_and_metrics(void **state)
{
    fixture *f = *state;
    test_req t;
    test_req_make(&t, "GET", "/health", NULL, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    json_t *j = body_json(&f->resp);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(j, "version")), TARN_VERSION);
    json_decref(j);
    test_req_make(&t, "GET", "/metrics", NULL, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    assert_string_equal(f->resp.content_type, "text/plain; version=0.0.4; charset=utf-8");
    const char *text = tarn_buf_cstr(&f->resp.body);
    assert_non_null(
        strstr(text, "tarn_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"}"));
    assert_non_null(strstr(text, "tarn_http_request_duration_seconds_bucket{route=\"/health\""));
    assert_int_equal(http_router_set_role(f->router, "GET", "/metrics", HTTP_ROLE_READ), 0);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 401);
    test_req_make(&t, "GET", "/metrics", NULL, "X-API-Key", f->reader, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
}

static void test_keys_api_create_list_revoke(void **state)
{
    fixture *f = *state;
    test_req t;
    test_req_make(&t, "POST", "/v1/keys", "{\"role\":\"write\"}", "X-API-Key", f->admin, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 201);
    json_t *j = body_json(&f->resp);
    char key[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX];
    snprintf(key, sizeof(key), "%s", json_string_value(json_object_get(j, "key")));
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "id")));
    assert_string_equal(json_string_value(json_object_get(j, "role")), "write");
    json_decref(j);
    test_req_make(&t, "POST", "/t/a", NULL, "X-API-Key", key, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);

    test_req_make(&t, "GET", "/v1/keys", NULL, "X-API-Key", f->admin, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    assert_null(strstr(tarn_buf_cstr(&f->resp.body), key + 22)); /* no secret */
    j = body_json(&f->resp);
    assert_int_equal(json_array_size(json_object_get(j, "keys")), 3);
    json_decref(j);

    char path[128];
    snprintf(path, sizeof(path), "/v1/keys/%s", id);
    test_req_make(&t, "DELETE", path, NULL, "X-API-Key", f->admin, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 200);
    test_req_make(&t, "POST", "/t/a", NULL, "X-API-Key", key, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 401);
    test_req_make(&t, "DELETE", path, NULL, "X-API-Key", f->admin, NULL);
    assert_int_equal(test_dispatch(&f->env, &t, &f->resp), 404);
    assert_error_shape(&f->resp, "not_found");
}

static void test_reply_error_escapes_message(void **state)
{
    (void)state;
    http_response r;
    http_response_init(&r);
    assert_int_equal(http_reply_error(&r, 400, "bad_request", "quote \" and \\ and \n and \x01"),
                     0);
    assert_error_shape(&r, "bad_request");
    assert_string_equal(r.error_id, "");
    assert_int_equal(http_reply_error(&r, 503, "unavailable", "later"), 0);
    assert_int_equal(strlen(r.error_id), 16);
    assert_string_equal(http_status_code_name(429), "rate_limited");
    assert_string_equal(http_status_code_name(413), "payload_too_large");
    http_response_free(&r);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_params_are_extracted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_method_is_405_with_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_refuses_bad_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_unknown_key_are_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_headers_and_whoami, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_too_low_is_403, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_json_and_bad_field_are_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_over_limit_is_413, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_is_429_with_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_internal_error_is_500_with_logged_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_codes_map_to_statuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_and_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_api_create_list_revoke, setup, teardown),
        cmocka_unit_test(test_reply_error_escapes_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
