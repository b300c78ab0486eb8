/*
 * tests/unit/catalog/test_catalog_routes.c: the catalog's HTTP API
 * (catalog/catalog_routes.h) on a real single-voter node behind a real
 * HTTP server, as a client sees it: create, read, commit (stale base 409
 * with the latest, retried txn_id answering the first version, blind
 * appends on a stale base), versions in pages, log-written marks and the
 * pending list, table listing, drop; bad JSON and bad shapes 400, unknown
 * tables 404, oversize fields and commands 413, roles 403, and 503 (never
 * 500) when the node cannot commit, while serializable reads still answer.
 */
#include "common/test_util.h"

#include "../../integration/http_itest.h"
#include "base/alloc.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "catalog/catalog_routes.h"
#include "node/node.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    char *dir;
    node *n;
    catalog_routes *cr;
    itest_server srv;
} fixture;

static void add_routes(http_server_opts *o, http_router *r, void *ctx)
{
    o->max_body_bytes = 16u << 20; /* so the catalog's own limits answer */
    assert_int_equal(catalog_routes_add(r, ctx), 0);
}

/* leaderless: member 1 of two whose peer never starts. */
static void fixture_open(fixture *f, int leaderless)
{
    memset(f, 0, sizeof(*f));
    f->dir = tarn_test_mkdtemp("catalog-routes");
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(catalog_register(&reg), 0);
    node_peer peers[2] = {{.id = 1}, {.id = 2}};
    for (int i = 0; i < 2; i++)
        snprintf(peers[i].addr, sizeof(peers[i].addr), "127.0.0.1:%d", tarn_test_free_port());
    node_opts o = {.data_dir = f->dir,
                   .election_ticks = leaderless ? 1000 : 2,
                   .heartbeat_ticks = 1,
                   .tick_ms = 5,
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
    catalog_routes_opts co = {.timeout_ms = leaderless ? 300 : 0, .store_url = "/srv/objects"};
    assert_int_equal(catalog_routes_new(f->n, &co, &f->cr), 0);
    itest_server_start(&f->srv, add_routes, f->cr);
}

static void fixture_close(fixture *f)
{
    itest_server_stop(&f->srv);
    catalog_routes_free(f->cr);
    node_close(f->n);
    tarn_test_rmdir(f->dir);
}

/* One request with the admin key (or `key`); *j gets the parsed body. */
static long req_key(fixture *f, const char *key, const char *method, const char *path,
                    const char *body, json_t **j)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", f->srv.base_url, path);
    itest_reply r;
    itest_request(url, method, key, body, body ? strlen(body) : 0, 0, &r);
    assert_int_equal(r.curl_code, 0);
    if (j != NULL) {
        json_error_t je;
        *j = json_loadb(r.body ? r.body : "", r.body_len, 0, &je);
        if (*j == NULL)
            fail_msg("%s %s: reply is not JSON: %s", method, path, r.body ? r.body : "");
    }
    if (r.status >= 400 && j != NULL)
        assert_non_null(json_object_get(json_object_get(*j, "error"), "message"));
    long s = r.status;
    itest_reply_free(&r);
    return s;
}

static long req(fixture *f, const char *method, const char *path, const char *body, json_t **j)
{
    return req_key(f, f->srv.admin, method, path, body, j);
}

static int64_t num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("no integer \"%s\"", k);
    return json_integer_value(v);
}

static const char *code_of(json_t *o)
{
    return json_string_value(json_object_get(json_object_get(o, "error"), "code"));
}

#define SCHEMA                                                                                     \
    "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,"       \
    "\"metadata\":{}}]}"
#define ADD "{\\\"add\\\":{\\\"path\\\":\\\"a.parquet\\\"}}\\n"

static void create_t(fixture *f, const char *name)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"schema\":%s,\"partition_columns\":[]}", name,
             SCHEMA);
    json_t *j;
    /* The route proposes the create with its clock: version 0's time. */
    int64_t before = tarn_wall_ms();
    assert_int_equal(req(f, "POST", "/v1/tables", body, &j), 201);
    int64_t after = tarn_wall_ms();
    assert_true(num(j, "created_id") > 0);
    assert_int_equal(num(j, "version"), 0);
    assert_true(num(j, "created_ms") >= before && num(j, "created_ms") <= after);
    json_decref(j);
}

static long commit(fixture *f, const char *name, int base, const char *txn, int blind, json_t **j)
{
    char path[256], body[512];
    snprintf(path, sizeof(path), "/v1/tables/%s/commits", name);
    snprintf(body, sizeof(body),
             "{\"base_version\":%d,\"txn_id\":\"%s\",\"blind_append\":%s,\"actions\":\"%s\"}", base,
             txn, blind ? "true" : "false", ADD);
    return req(f, "POST", path, body, j);
}

static void test_create_commit_read(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 0);
    json_t *j;
    assert_int_equal(req(&f, "GET", "/v1/catalog", NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "store")), "/srv/objects");
    json_decref(j);
    create_t(&f, "events");
    assert_int_equal(req(&f, "POST", "/v1/tables", "{\"name\":\"events\",\"schema\":\"{}\"}", &j),
                     409);
    assert_string_equal(code_of(j), "exists");
    assert_int_equal(num(j, "version"), 0);
    json_decref(j);
    /* commit on the latest base, the retry, a stale base, a blind one */
    assert_int_equal(commit(&f, "events", 0, "t1", 0, &j), 200);
    assert_int_equal(num(j, "version"), 1);
    assert_false(json_is_true(json_object_get(j, "duplicate")));
    json_decref(j);
    assert_int_equal(commit(&f, "events", 0, "t1", 0, &j), 200);
    assert_int_equal(num(j, "version"), 1);
    assert_true(json_is_true(json_object_get(j, "duplicate")));
    json_decref(j);
    assert_int_equal(commit(&f, "events", 0, "t2", 0, &j), 409);
    assert_string_equal(code_of(j), "conflict");
    assert_int_equal(num(j, "version"), 1);
    json_decref(j);
    assert_int_equal(commit(&f, "events", 0, "t2", 1, &j), 200);
    assert_int_equal(num(j, "version"), 2);
    json_decref(j);
    /* actions as an array of objects, stored one compact line each */
    assert_int_equal(req(&f, "POST", "/v1/tables/events/commits",
                         "{\"base_version\":2,\"txn_id\":\"t3\",\"actions\":[{\"add\":{\"path\":"
                         "\"b\"}},{\"commitInfo\":{}}]}",
                         &j),
                     200);
    assert_int_equal(num(j, "version"), 3);
    json_decref(j);
    /* the table and its latest version, linearizable and serializable */
    assert_int_equal(req(&f, "GET", "/v1/tables/events", NULL, &j), 200);
    assert_int_equal(num(j, "version"), 3);
    assert_string_equal(json_string_value(json_object_get(j, "location")), "tables/events");
    assert_true(num(j, "created_ms") > 0);
    json_decref(j);
    assert_int_equal(req(&f, "GET", "/v1/tables/events?consistency=serializable", NULL, &j), 200);
    assert_int_equal(num(j, "version"), 3);
    json_decref(j);
    /* versions in pages */
    assert_int_equal(req(&f, "GET", "/v1/tables/events/commits?from=0&limit=2", NULL, &j), 200);
    assert_int_equal(num(j, "latest"), 3);
    assert_int_equal(num(j, "next"), 2);
    json_t *vs = json_object_get(j, "versions");
    assert_int_equal(json_array_size(vs), 2);
    assert_true(json_is_null(json_object_get(json_array_get(vs, 0), "txn_id")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(vs, 1), "actions")),
                        "{\"add\":{\"path\":\"a.parquet\"}}\n");
    json_decref(j);
    assert_int_equal(req(&f, "GET", "/v1/tables/events/commits?from=2", NULL, &j), 200);
    vs = json_object_get(j, "versions");
    assert_int_equal(json_array_size(vs), 2);
    assert_true(json_is_true(json_object_get(json_array_get(vs, 0), "blind_append")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(vs, 1), "actions")),
                        "{\"add\":{\"path\":\"b\"}}\n{\"commitInfo\":{}}\n");
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    assert_int_equal(req(&f, "GET", "/v1/tables/events/commits?from=9", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "versions")), 0);
    json_decref(j);
    /* pending, then marks */
    assert_int_equal(req(&f, "GET", "/v1/catalog/pending", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "pending")), 4);
    json_decref(j);
    assert_int_equal(req(&f, "POST", "/v1/tables/events/commits/0/written", NULL, &j), 200);
    json_decref(j);
    assert_int_equal(req(&f, "POST", "/v1/tables/events/commits/7/written", NULL, &j), 404);
    json_decref(j);
    assert_int_equal(req(&f, "GET", "/v1/catalog/pending?limit=2", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "pending")), 2);
    assert_true(json_is_true(json_object_get(j, "more")));
    assert_int_equal(num(json_array_get(json_object_get(j, "pending"), 0), "version"), 1);
    json_decref(j);
    /* listing in pages, then drop */
    create_t(&f, "a_first");
    create_t(&f, "zeta");
    assert_int_equal(req(&f, "GET", "/v1/tables?limit=2", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "tables")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "next")), "events");
    json_decref(j);
    assert_int_equal(req(&f, "GET", "/v1/tables?limit=2&after=events", NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "tables")), 1);
    assert_true(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    assert_int_equal(req(&f, "DELETE", "/v1/tables/events", NULL, &j), 200);
    json_decref(j);
    assert_int_equal(req(&f, "GET", "/v1/tables/events", NULL, &j), 404);
    json_decref(j);
    fixture_close(&f);
}

static void test_bad_input(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 0);
    create_t(&f, "t");
    json_t *j;
    static const struct {
        const char *method, *path, *body;
        long status;
    } cases[] = {
        {"POST", "/v1/tables", "{\"name\":", 400},
        {"POST", "/v1/tables", "[]", 400},
        {"POST", "/v1/tables", "{\"schema\":\"{}\"}", 400},
        {"POST", "/v1/tables", "{\"name\":\"1bad\",\"schema\":\"{}\"}", 400},
        {"POST", "/v1/tables", "{\"name\":\"ok\",\"schema\":\"not json\"}", 400},
        {"POST", "/v1/tables", "{\"name\":\"ok\",\"schema\":\"{}\",\"partition_columns\":\"x\"}",
         400},
        {"POST", "/v1/tables/t/commits", "{\"base_version\":", 400},
        {"POST", "/v1/tables/t/commits", "{\"txn_id\":\"a\",\"actions\":\"\"}", 400},
        {"POST", "/v1/tables/t/commits", "{\"base_version\":-1,\"txn_id\":\"a\",\"actions\":\"\"}",
         400},
        {"POST", "/v1/tables/t/commits", "{\"base_version\":0,\"txn_id\":\"\",\"actions\":\"\"}",
         400},
        {"POST", "/v1/tables/t/commits", "{\"base_version\":0,\"txn_id\":\"a\",\"actions\":7}",
         400},
        {"POST", "/v1/tables/t/commits",
         "{\"base_version\":0,\"txn_id\":\"a\",\"actions\":\"{\\\"add\\\":\"}", 400},
        {"POST", "/v1/tables/t/commits",
         "{\"base_version\":0,\"txn_id\":\"a\",\"blind_append\":true,\"actions\":"
         "\"{\\\"remove\\\":{}}\"}",
         400},
        {"POST", "/v1/tables/t/commits",
         "{\"table\":\"u\",\"base_version\":0,\"txn_id\":\"a\",\"actions\":\"\"}", 400},
        {"GET", "/v1/tables/t/commits?limit=0", NULL, 400},
        {"GET", "/v1/tables/t/commits?from=x", NULL, 400},
        {"GET", "/v1/tables/t/commits?from=3&to=1", NULL, 400},
        {"GET", "/v1/tables/t?consistency=sometimes", NULL, 400},
        {"GET", "/v1/tables?limit=5000", NULL, 400},
        {"POST", "/v1/tables/t/commits/x/written", NULL, 400},
        {"GET", "/v1/tables/9t", NULL, 400},
        /* unknown tables */
        {"GET", "/v1/tables/nope", NULL, 404},
        {"GET", "/v1/tables/nope/commits", NULL, 404},
        {"POST", "/v1/tables/nope/commits",
         "{\"base_version\":0,\"txn_id\":\"a\",\"actions\":\"\"}", 404},
        {"POST", "/v1/tables/nope/commits/1/written", NULL, 404},
        {"DELETE", "/v1/tables/nope", NULL, 404},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long s = req(&f, cases[i].method, cases[i].path, cases[i].body, &j);
        if (s != cases[i].status)
            fail_msg("%s %s %s: %ld, want %ld", cases[i].method, cases[i].path,
                     cases[i].body ? cases[i].body : "", s, cases[i].status);
        json_decref(j);
    }
    fixture_close(&f);
}

/* A body holding `actions_len` bytes of add lines. */
static char *big_commit(size_t actions_len, const char *txn)
{
    char *b = malloc(2 * actions_len + 256); /* escaped lines are longer */
    int n = sprintf(b, "{\"base_version\":0,\"txn_id\":\"%s\",\"actions\":\"", txn);
    size_t at = (size_t)n;
    const char *line = "{\\\"add\\\":{\\\"path\\\":\\\"xxxxxxxxxxxxxxxxxxxx\\\"}}\\n";
    for (size_t done = 0; done < actions_len; done += 41) { /* 41 bytes decoded */
        memcpy(b + at, line, strlen(line));
        at += strlen(line);
    }
    strcpy(b + at, "\"}");
    return b;
}

static void test_oversize(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 0);
    create_t(&f, "t");
    json_t *j;
    char name[200], path[300], body[400];
    memset(name, 'n', 129);
    name[129] = '\0';
    snprintf(path, sizeof(path), "/v1/tables/%s", name);
    assert_int_equal(req(&f, "GET", path, NULL, &j), 413);
    json_decref(j);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"schema\":\"{}\"}", name);
    assert_int_equal(req(&f, "POST", "/v1/tables", body, &j), 413);
    json_decref(j);
    char txn[80];
    memset(txn, 'x', 65);
    txn[65] = '\0';
    assert_int_equal(commit(&f, "t", 0, txn, 0, &j), 413);
    json_decref(j);
    /* actions over the catalog's 4 MiB, and over one Raft entry (1 MiB) */
    char *b = big_commit(CATALOG_ACTIONS_MAX_BYTES + 1000, "big1");
    assert_int_equal(req(&f, "POST", "/v1/tables/t/commits", b, &j), 413);
    json_decref(j);
    free(b);
    b = big_commit(2u << 20, "big2");
    assert_int_equal(req(&f, "POST", "/v1/tables/t/commits", b, &j), 413);
    json_decref(j);
    free(b);
    /* nothing was committed */
    assert_int_equal(req(&f, "GET", "/v1/tables/t", NULL, &j), 200);
    assert_int_equal(num(j, "version"), 0);
    json_decref(j);
    fixture_close(&f);
}

static void test_roles(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 0);
    create_t(&f, "t");
    char rkey[HTTP_KEY_MAX], wkey[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX];
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(
        http_keystore_create(f.srv.ks, HTTP_ROLE_READ, rkey, sizeof(rkey), id, sizeof(id), &err),
        0);
    assert_int_equal(
        http_keystore_create(f.srv.ks, HTTP_ROLE_WRITE, wkey, sizeof(wkey), id, sizeof(id), &err),
        0);
    json_t *j;
    const char *c = "{\"base_version\":0,\"txn_id\":\"a\",\"actions\":\"\"}";
    assert_int_equal(req_key(&f, rkey, "GET", "/v1/tables/t", NULL, &j), 200);
    json_decref(j);
    assert_int_equal(req_key(&f, rkey, "POST", "/v1/tables/t/commits", c, &j), 403);
    json_decref(j);
    assert_int_equal(req_key(&f, NULL, "GET", "/v1/tables/t", NULL, &j), 401);
    json_decref(j);
    assert_int_equal(req_key(&f, wkey, "POST", "/v1/tables/t/commits", c, &j), 200);
    json_decref(j);
    assert_int_equal(req_key(&f, wkey, "DELETE", "/v1/tables/t", NULL, &j), 403);
    json_decref(j);
    fixture_close(&f);
}

static void test_no_quorum_is_503(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f, 1);
    json_t *j;
    assert_int_equal(req(&f, "POST", "/v1/tables/t/commits",
                         "{\"base_version\":0,\"txn_id\":\"a\",\"actions\":\"\"}", &j),
                     503);
    json_decref(j);
    assert_int_equal(req(&f, "GET", "/v1/tables/t", NULL, &j), 503);
    json_decref(j);
    assert_int_equal(req(&f, "GET", "/v1/tables/t?consistency=serializable", NULL, &j), 404);
    json_decref(j);
    fixture_close(&f);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_commit_read), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_oversize),           cmocka_unit_test(test_roles),
        cmocka_unit_test(test_no_quorum_is_503),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
