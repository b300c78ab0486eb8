/*
 * tests/unit/client/test_client_kv.c: the client library against the real
 * key-value API: an embedded node (one voter, WAL + LMDB in a temp dir)
 * behind the real HTTP server with the kv routes, as `tarn local` runs
 * them. Covers every call's round trip (binary values, awkward keys, keys
 * with '/', versions, CAS by version and value, create-only, deletes,
 * scans across pages, transactions, the oracle), keys and roles, and CAS
 * increments from several threads on one shared handle.
 */
#include "common/test_util.h"
#include "tarn.h"

#include "base/alloc.h"
#include "http/http.h"
#include "kv/kv.h"
#include "kv/kv_routes.h"
#include "node/node.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct server {
    char *dir;
    node *n;
    kv_routes *kr;
    http_keystore *ks;
    http_router *router;
    http_server *srv;
    char url[64];
    char admin_key_path[4096];
} server;

static server S;

static int server_up(void **state)
{
    (void)state;
    memset(&S, 0, sizeof(S));
    S.dir = tarn_test_mkdtemp("client-kv");
    tarn_err err = TARN_ERR_INIT;
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(kv_register(&reg), 0);
    node_opts no = {
        .data_dir = S.dir, .election_ticks = 2, .tick_ms = 5, .durability = STORE_DURABLE_DATA};
    if (node_open(&no, &reg, &S.n, &err) != 0 || node_wait_leader(S.n, 5000, &err) != 0)
        fail_msg("node: %s", tarn_err_msg(&err));
    assert_int_equal(kv_routes_new(S.n, 0, &S.kr), 0);
    assert_int_equal(http_keystore_open(S.dir, &S.ks, &err), 0);
    snprintf(S.admin_key_path, sizeof(S.admin_key_path), "%s/admin.key", S.dir);
    int created = 0;
    assert_int_equal(http_keystore_ensure_admin(S.ks, S.admin_key_path, &created, &err), 0);
    assert_int_equal(http_router_new(&S.router), 0);
    assert_int_equal(http_router_add_builtin(S.router, S.ks), 0);
    assert_int_equal(kv_routes_add(S.router, S.kr), 0);
    http_server_opts o;
    http_server_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.threads = 4;
    for (int r = 0; r < HTTP_ROLE_COUNT; r++)
        o.rate_per_s[r] = 0;
    if (http_server_start(&o, S.router, S.ks, &S.srv, &err) != 0)
        fail_msg("server: %s", tarn_err_msg(&err));
    snprintf(S.url, sizeof(S.url), "http://127.0.0.1:%u", (unsigned)http_server_port(S.srv));
    return 0;
}

static int server_down(void **state)
{
    (void)state;
    http_server_stop(S.srv);
    node_close(S.n);
    kv_routes_free(S.kr);
    http_router_free(S.router);
    http_keystore_close(S.ks);
    tarn_test_rmdir(S.dir);
    return 0;
}

static tarn_client *open_client(const char *key)
{
    const char *urls[1] = {S.url};
    tarn_client_opts o = {.endpoints = urls, .n_endpoints = 1};
    if (key)
        o.api_key = key;
    else
        o.api_key_file = S.admin_key_path;
    tarn_client *c = NULL;
    tarn_err err = TARN_ERR_INIT;
    if (tarn_client_open(&o, &c, &err) != 0)
        fail_msg("open: %s", tarn_err_msg(&err));
    return c;
}

/* Asserts a call succeeded, printing its message otherwise. */
#define OK(call)                                                                                   \
    do {                                                                                           \
        tarn_err e_ = TARN_ERR_INIT;                                                               \
        tarn_err *okerr = &e_;                                                                     \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            fail_msg("%s: %s", #call, tarn_err_msg(okerr));                                        \
    } while (0)

static void expect_kv(tarn_client *c, const char *key, size_t klen, const void *val, size_t vlen,
                      uint64_t version)
{
    tarn_kv_item it;
    OK(tarn_kv_get(c, key, klen, NULL, &it, okerr));
    assert_int_equal(it.key_len, klen);
    assert_memory_equal(it.key, key, klen);
    assert_int_equal(it.value_len, vlen);
    if (vlen)
        assert_memory_equal(it.value, val, vlen);
    if (version)
        assert_int_equal(it.version, version);
    tarn_kv_item_free(&it);
}

static void test_put_get_versions(void **state)
{
    (void)state;
    tarn_client *c = open_client(NULL);
    tarn_kv_result r;
    OK(tarn_kv_put(c, "alpha", 5, "one", 3, NULL, NULL, &r, okerr));
    assert_int_equal(r.version, 1);
    assert_true(r.mod_index > 0);
    OK(tarn_kv_put(c, "alpha", 5, "two", 3, NULL, NULL, &r, okerr));
    assert_int_equal(r.version, 2);
    expect_kv(c, "alpha", 5, "two", 3, 2);
    /* Binary values, an empty value, the largest value. */
    const uint8_t bin[] = {0, 1, 0xff, '\n', 0, 0x80};
    OK(tarn_kv_put(c, "bin", 3, bin, sizeof(bin), NULL, NULL, &r, okerr));
    expect_kv(c, "bin", 3, bin, sizeof(bin), 1);
    OK(tarn_kv_put(c, "empty", 5, "", 0, NULL, NULL, &r, okerr));
    expect_kv(c, "empty", 5, "", 0, 1);
    /* The largest value (1 MiB - 1 KiB, the server's limit), also under
     * the longest key (the case the limit is computed for); one byte
     * more is refused by the client before anything is sent. */
    assert_int_equal(TARN_KV_VALUE_MAX_BYTES, 1047552);
    assert_int_equal(TARN_KV_VALUE_MAX_BYTES, KV_VALUE_MAX_BYTES);
    size_t big_len = TARN_KV_VALUE_MAX_BYTES;
    uint8_t *big = malloc(big_len + 1);
    for (size_t i = 0; i <= big_len; i++)
        big[i] = (uint8_t)(i * 7);
    OK(tarn_kv_put(c, "big", 3, big, big_len, NULL, NULL, &r, okerr));
    expect_kv(c, "big", 3, big, big_len, 1);
    char longest[TARN_KV_KEY_MAX_BYTES];
    memset(longest, 'k', sizeof(longest));
    OK(tarn_kv_put(c, longest, sizeof(longest), big, big_len, NULL, NULL, &r, okerr));
    expect_kv(c, longest, sizeof(longest), big, big_len, 1);
    tarn_kv_cond cas = {.kind = TARN_KV_IF_VERSION, .version = 1};
    OK(tarn_kv_put(c, longest, sizeof(longest), big, big_len, &cas, NULL, &r, okerr));
    assert_int_equal(r.version, 2);
    tarn_err over = TARN_ERR_INIT;
    assert_int_equal(tarn_kv_put(c, "big", 3, big, big_len + 1, NULL, NULL, &r, &over),
                     TARN_ETOOBIG);
    assert_non_null(strstr(over.msg, "1047553"));
    assert_non_null(strstr(over.msg, "1047552"));
    expect_kv(c, "big", 3, big, big_len, 1);
    free(big);
    /* Serializable reads see it too (one voter). */
    tarn_call_opts ser = {.serializable = 1};
    tarn_kv_item it;
    OK(tarn_kv_get(c, "alpha", 5, &ser, &it, okerr));
    assert_int_equal(it.version, 2);
    tarn_kv_item_free(&it);
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(tarn_kv_get(c, "nothing", 7, NULL, &it, &err), TARN_ENOENT);
    assert_non_null(strstr(err.msg, "nothing"));
    tarn_client_close(c);
}

static void test_awkward_keys(void **state)
{
    (void)state;
    tarn_client *c = open_client(NULL);
    const char *keys[] = {"a b",   "a+b",    "a%2Fb",       "q?x=1&y", "hash#frag",
                          ".",     "..",     "caf\xc3\xa9", "~_-.",    "dir/sub/leaf",
                          "/lead", "trail/", "a//b",        "%",       "ctl\x01\x7f"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t kl = strlen(keys[i]);
        char val[32];
        snprintf(val, sizeof(val), "v%zu", i);
        tarn_kv_result r;
        OK(tarn_kv_put(c, keys[i], kl, val, strlen(val), NULL, NULL, &r, okerr));
        expect_kv(c, keys[i], kl, val, strlen(val), 0);
        tarn_kv_cond cv = {.kind = TARN_KV_IF_VERSION, .version = 1};
        OK(tarn_kv_put(c, keys[i], kl, "w", 1, &cv, NULL, &r, okerr));
        assert_int_equal(r.version, 2);
        expect_kv(c, keys[i], kl, "w", 1, 2);
    }
    /* "a/b" and "a%2Fb" are different keys. */
    expect_kv(c, "a%2Fb", 5, "w", 1, 2);
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_item it;
    assert_int_equal(tarn_kv_get(c, "a/b", 3, NULL, &it, &err), TARN_ENOENT);
    /* Deletes of '/' keys: present, then absent. */
    OK(tarn_kv_delete(c, "dir/sub/leaf", 12, NULL, NULL, NULL, okerr));
    assert_int_equal(tarn_kv_get(c, "dir/sub/leaf", 12, NULL, &it, &err), TARN_ENOENT);
    assert_int_equal(tarn_kv_delete(c, "dir/sub/leaf", 12, NULL, NULL, NULL, &err), TARN_ENOENT);
    tarn_kv_cond stale = {.kind = TARN_KV_IF_VERSION, .version = 1};
    tarn_kv_result r;
    assert_int_equal(tarn_kv_delete(c, "/lead", 5, &stale, NULL, &r, &err), TARN_ECONFLICT);
    assert_int_equal(r.version, 2);
    tarn_client_close(c);
}

static void test_cas(void **state)
{
    (void)state;
    tarn_client *c = open_client(NULL);
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_result r;
    tarn_kv_cond absent = {.kind = TARN_KV_IF_ABSENT};
    OK(tarn_kv_put(c, "cas", 3, "a", 1, &absent, NULL, &r, okerr));
    assert_int_equal(r.version, 1);
    assert_int_equal(tarn_kv_put(c, "cas", 3, "b", 1, &absent, NULL, &r, &err), TARN_ECONFLICT);
    assert_int_equal(r.version, 1);
    tarn_kv_cond v1 = {.kind = TARN_KV_IF_VERSION, .version = 1};
    OK(tarn_kv_put(c, "cas", 3, "b", 1, &v1, NULL, &r, okerr));
    assert_int_equal(r.version, 2);
    assert_int_equal(tarn_kv_put(c, "cas", 3, "c", 1, &v1, NULL, &r, &err), TARN_ECONFLICT);
    assert_int_equal(r.version, 2); /* the current version, for a retry without a read */
    assert_int_equal(r.uncertain, 0);
    assert_non_null(strstr(err.msg, "version 2"));
    tarn_kv_cond vb = {.kind = TARN_KV_IF_VALUE, .value = "b", .value_len = 1};
    OK(tarn_kv_put(c, "cas", 3, "c", 1, &vb, NULL, &r, okerr));
    expect_kv(c, "cas", 3, "c", 1, 3);
    assert_int_equal(tarn_kv_put(c, "cas", 3, "d", 1, &vb, NULL, &r, &err), TARN_ECONFLICT);
    assert_int_equal(r.version, 3);
    /* Compare by value on an absent key fails; the key stays absent. */
    assert_int_equal(tarn_kv_put(c, "cas-none", 8, "d", 1, &vb, NULL, &r, &err), TARN_ECONFLICT);
    assert_int_equal(r.version, 0);
    tarn_kv_item it;
    assert_int_equal(tarn_kv_get(c, "cas-none", 8, NULL, &it, &err), TARN_ENOENT);
    /* Deletes: conditional on version and value, then absent. */
    assert_int_equal(tarn_kv_delete(c, "cas", 3, &v1, NULL, &r, &err), TARN_ECONFLICT);
    tarn_kv_cond vc = {.kind = TARN_KV_IF_VALUE, .value = "c", .value_len = 1};
    OK(tarn_kv_delete(c, "cas", 3, &vc, NULL, &r, okerr));
    assert_int_equal(tarn_kv_delete(c, "cas", 3, NULL, NULL, &r, &err), TARN_ENOENT);
    OK(tarn_kv_put(c, "cas", 3, "again", 5, NULL, NULL, &r, okerr));
    assert_int_equal(r.version, 1); /* a new incarnation */
    tarn_kv_cond v1b = {.kind = TARN_KV_IF_VERSION, .version = 1};
    OK(tarn_kv_delete(c, "cas", 3, &v1b, NULL, &r, okerr));
    tarn_client_close(c);
}

static void test_scan_pages(void **state)
{
    (void)state;
    tarn_client *c = open_client(NULL);
    char key[32], val[32];
    for (int i = 0; i < 25; i++) {
        snprintf(key, sizeof(key), "scan/%02d", i);
        snprintf(val, sizeof(val), "value-%d", i);
        OK(tarn_kv_put(c, key, strlen(key), val, strlen(val), NULL, NULL, NULL, okerr));
    }
    OK(tarn_kv_put(c, "scan0", 5, "outside", 7, NULL, NULL, NULL, okerr));
    tarn_kv_scan_opts so = {
        .start = "scan/", .start_len = 5, .end = "scan0", .end_len = 5, .limit = 7};
    int seen = 0, pages = 0;
    char *token = NULL;
    do {
        so.token = token;
        tarn_kv_page p;
        OK(tarn_kv_scan(c, &so, NULL, &p, okerr));
        pages++;
        for (size_t i = 0; i < p.count; i++, seen++) {
            snprintf(key, sizeof(key), "scan/%02d", seen);
            snprintf(val, sizeof(val), "value-%d", seen);
            assert_string_equal(p.items[i].key, key);
            assert_string_equal((char *)p.items[i].value, val);
            assert_int_equal(p.items[i].version, 1);
        }
        free(token);
        token = p.next_token ? strdup(p.next_token) : NULL;
        tarn_kv_page_free(&p);
    } while (token && pages < 10);
    assert_int_equal(seen, 25);
    assert_int_equal(pages, 4);
    /* A token from another range is refused by the server. */
    so.start = "zzz";
    so.start_len = 3;
    so.end = NULL;
    so.token = "7363616e2f3031";
    tarn_kv_page p;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(tarn_kv_scan(c, &so, NULL, &p, &err), TARN_EINVAL);
    tarn_client_close(c);
}

static void test_txn(void **state)
{
    (void)state;
    tarn_client *c = open_client(NULL);
    tarn_kv_result r;
    OK(tarn_kv_put(c, "t-a", 3, "1", 1, NULL, NULL, &r, okerr));
    OK(tarn_kv_put(c, "t-b", 3, "1", 1, NULL, NULL, &r, okerr));
    tarn_kv_compare cmps[2] = {
        {.key = "t-a", .key_len = 3, .cond = {.kind = TARN_KV_IF_VERSION, .version = 1}},
        {.key = "t-new", .key_len = 5, .cond = {.kind = TARN_KV_IF_ABSENT}}};
    tarn_kv_op ops[3] = {{TARN_KV_OP_PUT, "t-a", 3, "2", 1},
                         {TARN_KV_OP_PUT, "t-new/x", 7, "n", 1},
                         {TARN_KV_OP_DELETE, "t-b", 3, NULL, 0}};
    OK(tarn_kv_txn(c, cmps, 2, ops, 3, NULL, &r, okerr));
    assert_true(r.mod_index > 0);
    expect_kv(c, "t-a", 3, "2", 1, 2);
    expect_kv(c, "t-new/x", 7, "n", 1, 1);
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_item it;
    assert_int_equal(tarn_kv_get(c, "t-b", 3, NULL, &it, &err), TARN_ENOENT);
    /* The second compare fails now: nothing changes. */
    cmps[0].cond.version = 2;
    cmps[1].key = "t-a";
    cmps[1].key_len = 3;
    assert_int_equal(tarn_kv_txn(c, cmps, 2, ops, 3, NULL, &r, &err), TARN_ECONFLICT);
    assert_int_equal(r.failed_compare, 1);
    assert_int_equal(r.version, 2);
    expect_kv(c, "t-a", 3, "2", 1, 2);
    tarn_client_close(c);
}

static void test_tso(void **state)
{
    (void)state;
    tarn_client *c = open_client(NULL);
    uint64_t prev = 0;
    for (int i = 0; i < 50; i++) {
        uint64_t first = 0;
        uint32_t n = (uint32_t)(1 + i * 97);
        OK(tarn_tso(c, n, NULL, &first, okerr));
        assert_true(first > prev);
        prev = first + n - 1;
    }
    uint64_t first = 0;
    OK(tarn_tso(c, TARN_TSO_COUNT_MAX, NULL, &first, okerr));
    assert_true(first > prev);
    tarn_client_close(c);
}

static void test_keys_and_roles(void **state)
{
    (void)state;
    tarn_err err = TARN_ERR_INIT;
    char rkey[HTTP_KEY_MAX], rid[HTTP_KEY_ID_MAX];
    assert_int_equal(
        http_keystore_create(S.ks, HTTP_ROLE_READ, rkey, sizeof(rkey), rid, sizeof(rid), &err), 0);
    tarn_client *c = open_client(NULL);
    OK(tarn_kv_put(c, "roles", 5, "x", 1, NULL, NULL, NULL, okerr));
    tarn_client_close(c);
    c = open_client(rkey);
    expect_kv(c, "roles", 5, "x", 1, 1);
    assert_int_equal(tarn_kv_put(c, "roles", 5, "y", 1, NULL, NULL, NULL, &err), TARN_EFORBIDDEN);
    uint64_t first;
    assert_int_equal(tarn_tso(c, 1, NULL, &first, &err), TARN_EFORBIDDEN);
    tarn_client_close(c);
    c = open_client("tarn_0000000000000000_nope");
    tarn_kv_item it;
    assert_int_equal(tarn_kv_get(c, "roles", 5, NULL, &it, &err), TARN_EUNAUTH);
    tarn_client_close(c);
}

typedef struct incr_arg {
    tarn_client *c;
    int n;
    int conflicts;
} incr_arg;

/* n CAS increments of "counter": read, then put on the read version. */
static void *incr_loop(void *p)
{
    incr_arg *a = p;
    for (int done = 0; done < a->n;) {
        tarn_kv_item it;
        tarn_err err = TARN_ERR_INIT;
        if (tarn_kv_get(a->c, "counter", 7, NULL, &it, &err) != 0)
            fail_msg("get: %s", tarn_err_msg(&err));
        long v = strtol((char *)it.value, NULL, 10);
        char buf[24];
        snprintf(buf, sizeof(buf), "%ld", v + 1);
        tarn_kv_cond cond = {.kind = TARN_KV_IF_VERSION, .version = it.version};
        tarn_kv_item_free(&it);
        int rc = tarn_kv_put(a->c, "counter", 7, buf, strlen(buf), &cond, NULL, NULL, &err);
        if (rc == 0)
            done++;
        else if (rc == TARN_ECONFLICT)
            a->conflicts++;
        else
            fail_msg("put: %s", tarn_err_msg(&err));
    }
    return NULL;
}

static void test_concurrent_cas_increments(void **state)
{
    (void)state;
    tarn_client *c = open_client(NULL);
    OK(tarn_kv_put(c, "counter", 7, "0", 1, NULL, NULL, NULL, okerr));
    enum { THREADS = 4, EACH = 25 };
    pthread_t th[THREADS];
    incr_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (incr_arg){.c = c, .n = EACH};
        assert_int_equal(pthread_create(&th[i], NULL, incr_loop, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    char want[16];
    snprintf(want, sizeof(want), "%d", THREADS * EACH);
    expect_kv(c, "counter", 7, want, strlen(want), THREADS * EACH + 1);
    tarn_client_close(c);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_versions),
        cmocka_unit_test(test_awkward_keys),
        cmocka_unit_test(test_cas),
        cmocka_unit_test(test_scan_pages),
        cmocka_unit_test(test_txn),
        cmocka_unit_test(test_tso),
        cmocka_unit_test(test_keys_and_roles),
        cmocka_unit_test(test_concurrent_cas_increments),
    };
    return cmocka_run_group_tests(tests, server_up, server_down);
}
