/*
 * tests/unit/client/test_client_fake.c: the client library (include/tarn.h)
 * against scripted servers: leader finding through 307, failover past dead
 * and stalled members and 503s, the deadline, the mapping of every status
 * to an error code, the exact requests sent (headers, encoding, bodies),
 * cluster files, sharing one handle between threads, and out-of-memory
 * injection.
 */
#include "common/test_util.h"
#include "fake_server.h"
#include "tarn.h"

#include "base/alloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEM_AB                                                                                    \
    "{\"key\":\"k\",\"value\":\"YWI=\",\"version\":3,\"mod_index\":9,\"create_index\":4}"

static void answer_item(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)s, (void)r, (void)n;
    a->body = ITEM_AB;
}

static void answer_put(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)s, (void)r, (void)n;
    a->body = "{\"key\":\"k\",\"version\":2,\"mod_index\":11}";
}

/* Redirects everything to the server in s->ctx. */
static void answer_redirect(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)n;
    fake_server *to = s->ctx;
    a->status = 307;
    snprintf(a->location, sizeof(a->location), "%s%.300s", to->url, r->url);
    a->body = "{\"error\":{\"code\":\"not_leader\",\"message\":\"ask the leader\"}}";
}

/* Requests other than the client's leader probes (GET /v1/status). */
static int kv_count(fake_server *s)
{
    int n = 0, total = fake_count(s);
    for (int i = 0; i < total && i < FAKE_LOG_MAX; i++)
        n += strcmp(fake_get(s, i).url, "/v1/status") != 0;
    return n;
}

static tarn_client *open_urls(const char *a, const char *b, int timeout_ms, int attempt_ms)
{
    const char *urls[2] = {a, b};
    tarn_client_opts o = {.endpoints = urls,
                          .n_endpoints = b ? 2 : 1,
                          .api_key = "tarn_test_key",
                          .timeout_ms = timeout_ms,
                          .attempt_timeout_ms = attempt_ms};
    tarn_client *c = NULL;
    tarn_err err = TARN_ERR_INIT;
    if (tarn_client_open(&o, &c, &err) != 0)
        fail_msg("open: %s", tarn_err_msg(&err));
    return c;
}

static void test_open_errors(void **state)
{
    (void)state;
    tarn_client *c = NULL;
    tarn_err err = TARN_ERR_INIT;
    tarn_client_opts none = {0};
    assert_int_equal(tarn_client_open(&none, &c, &err), TARN_EINVAL);
    assert_non_null(strstr(err.msg, "no endpoint"));
    const char *bad[] = {"ftp://x:1", "http://host", "http://h:12x", "http://h:1/path", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tarn_client_opts o = {.endpoints = &bad[i], .n_endpoints = 1};
        assert_int_equal(tarn_client_open(&o, &c, &err), TARN_EINVAL);
    }
    const char *many[TARN_CLIENT_ENDPOINTS_MAX + 1];
    char names[TARN_CLIENT_ENDPOINTS_MAX + 1][32];
    for (int i = 0; i <= TARN_CLIENT_ENDPOINTS_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "127.0.0.1:%d", 1000 + i);
        many[i] = names[i];
    }
    tarn_client_opts o = {.endpoints = many, .n_endpoints = TARN_CLIENT_ENDPOINTS_MAX + 1};
    assert_int_equal(tarn_client_open(&o, &c, &err), TARN_EINVAL);
    o.n_endpoints = 1;
    o.api_key_file = "/nonexistent/admin.key";
    assert_int_equal(tarn_client_open(&o, &c, &err), TARN_ENOENT);
    o.api_key_file = NULL;
    o.api_key = "two\nlines";
    assert_int_equal(tarn_client_open(&o, &c, &err), TARN_EINVAL);
    o.api_key = NULL;
    /* host:port without a scheme is http; a trailing slash is dropped. */
    const char *plain = "127.0.0.1:7070/";
    o.endpoints = &plain;
    assert_int_equal(tarn_client_open(&o, &c, &err), 0);
    assert_string_equal(tarn_client_endpoint(c), "http://127.0.0.1:7070");
    tarn_client_close(c);
    tarn_client_close(NULL);
}

static void test_cluster_file(void **state)
{
    (void)state;
    fake_server s;
    fake_start(&s, answer_item, NULL);
    char *dir = tarn_test_mkdtemp("client-cluster");
    char path[4096], keyp[4096], json[1024];
    snprintf(keyp, sizeof(keyp), "%s/admin.key", dir);
    tarn_test_write_file(keyp, "tarn_from_file\n", 15);
    char dead[64];
    fake_dead_url(dead, sizeof(dead));
    snprintf(json, sizeof(json),
             "{\"members\":[{\"id\":1,\"url\":\"%s\",\"pid\":1},{\"id\":2,\"url\":\"%s\"}],"
             "\"admin_key_file\":\"admin.key\"}",
             dead, s.url);
    snprintf(path, sizeof(path), "%s/cluster.json", dir);
    tarn_test_write_file(path, json, strlen(json));
    tarn_client_opts o = {.cluster_file = path};
    tarn_client *c = NULL;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(tarn_client_open(&o, &c, &err), 0);
    tarn_kv_item it;
    assert_int_equal(tarn_kv_get(c, "k", 1, NULL, &it, &err), 0);
    assert_string_equal(fake_get(&s, 0).api_key, "tarn_from_file");
    assert_string_equal(tarn_client_endpoint(c), s.url);
    tarn_kv_item_free(&it);
    tarn_client_close(c);

    /* An explicit key wins over the file's. */
    o.api_key = "explicit";
    assert_int_equal(tarn_client_open(&o, &c, &err), 0);
    assert_int_equal(tarn_kv_get(c, "k", 1, NULL, &it, &err), 0);
    assert_string_equal(fake_get(&s, 1).api_key, "explicit");
    tarn_kv_item_free(&it);
    tarn_client_close(c);

    tarn_test_write_file(path, "{\"members\":", 11);
    assert_int_equal(tarn_client_open(&o, &c, &err), TARN_EINVAL);
    assert_non_null(strstr(err.msg, "cluster file"));
    tarn_test_write_file(path, "{\"members\":[]}", 14);
    assert_int_equal(tarn_client_open(&o, &c, &err), TARN_EINVAL);
    tarn_test_write_file(path, "{\"members\":[{\"id\":1}]}", 22);
    assert_int_equal(tarn_client_open(&o, &c, &err), TARN_EINVAL);
    o.cluster_file = "/nonexistent/cluster.json";
    assert_int_equal(tarn_client_open(&o, &c, &err), TARN_ENOENT);
    tarn_test_rmdir(dir);
    fake_stop(&s);
}

static void test_redirect_to_leader(void **state)
{
    (void)state;
    fake_server leader, follower;
    fake_start(&leader, answer_put, NULL);
    fake_start(&follower, answer_redirect, &leader);
    tarn_client *c = open_urls(follower.url, leader.url, 5000, 2000);
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_result r;
    assert_int_equal(tarn_kv_put(c, "k", 1, "v", 1, NULL, NULL, &r, &err), 0);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.mod_index, 11);
    assert_int_equal(r.uncertain, 0); /* a redirect is an answer: nothing applied */
    assert_int_equal(kv_count(&follower), 1);
    assert_int_equal(kv_count(&leader), 1);
    assert_string_equal(fake_get(&leader, fake_count(&leader) - 1).body, "v");
    assert_string_equal(tarn_client_endpoint(c), leader.url);
    /* The next call goes straight to the leader. */
    assert_int_equal(tarn_kv_put(c, "k", 1, "w", 1, NULL, NULL, &r, &err), 0);
    assert_int_equal(kv_count(&follower), 1);
    assert_int_equal(kv_count(&leader), 2);
    tarn_client_close(c);

    /* A leader the handle did not know is added. */
    c = open_urls(follower.url, NULL, 5000, 2000);
    assert_int_equal(tarn_kv_put(c, "k", 1, "v", 1, NULL, NULL, &r, &err), 0);
    assert_string_equal(tarn_client_endpoint(c), leader.url);
    tarn_client_close(c);
    fake_stop(&follower);
    fake_stop(&leader);
}

/* Two members naming each other (a stale view during an election) end in
 * the deadline, not a busy loop or a crash, and the error names the
 * redirect (not the last attempt, which the deadline cut short: that made
 * this test fail about one run in six). The deadline leaves a loaded
 * machine room for a few rounds. */
static void test_redirect_loop_times_out(void **state)
{
    (void)state;
    fake_server a, b;
    fake_start(&a, answer_redirect, &b);
    fake_start(&b, answer_redirect, &a);
    tarn_client *c = open_urls(a.url, b.url, 1500, 500);
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_item it;
    assert_int_equal(tarn_kv_get(c, "k", 1, NULL, &it, &err), TARN_ETIMEDOUT);
    assert_non_null(strstr(err.msg, "redirect"));
    /* Backoff between rounds: far fewer requests than a busy loop. */
    assert_true(fake_count(&a) + fake_count(&b) < 200);
    tarn_client_close(c);
    fake_stop(&a);
    fake_stop(&b);
}

/* A member of `tarn meta`: /v1/status says its role and the leader's URL;
 * writes are answered (as a follower that forwards them would). */
typedef struct member_ctx {
    int is_leader;
    fake_server *leader;
} member_ctx;

static char status_body[4][256];

static void answer_member(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)n;
    member_ctx *m = s->ctx;
    if (strcmp(r->url, "/v1/status") == 0) {
        char *b = status_body[m->is_leader];
        snprintf(b, sizeof(status_body[0]), "{\"role\":\"%s\",\"leader_url\":\"%s\"}",
                 m->is_leader ? "leader" : "follower", m->leader->url);
        a->body = b;
        return;
    }
    a->body = "{\"key\":\"k\",\"version\":1,\"mod_index\":3}";
}

static void *put_once(void *p)
{
    tarn_err err = TARN_ERR_INIT;
    if (tarn_kv_put(p, "k", 1, "v", 1, NULL, NULL, NULL, &err) != 0)
        fail_msg("put: %s", tarn_err_msg(&err));
    return NULL;
}

/* Followers that forward writes never name the leader in a 307: the
 * handle asks /v1/status once and then goes straight to the leader. */
static void test_probe_finds_leader(void **state)
{
    (void)state;
    fake_server leader, follower;
    member_ctx ml = {.is_leader = 1, .leader = &leader};
    member_ctx mf = {.is_leader = 0, .leader = &leader};
    fake_start(&leader, answer_member, &ml);
    fake_start(&follower, answer_member, &mf);
    tarn_client *c = open_urls(follower.url, leader.url, 5000, 2000);
    tarn_err err = TARN_ERR_INIT;
    for (int i = 0; i < 3; i++)
        assert_int_equal(tarn_kv_put(c, "k", 1, "v", 1, NULL, NULL, NULL, &err), 0);
    assert_int_equal(kv_count(&follower), 0);
    assert_int_equal(kv_count(&leader), 3);
    assert_int_equal(fake_count(&follower), 1); /* the one probe */
    assert_string_equal(tarn_client_endpoint(c), leader.url);
    tarn_client_close(c);

    /* Calls racing the probe may still go to the follower, but their
     * answers must not undo what the probe learnt. */
    c = open_urls(follower.url, leader.url, 5000, 2000);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, put_once, c), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    int at_follower = kv_count(&follower);
    for (int i = 0; i < 10; i++)
        assert_int_equal(tarn_kv_put(c, "k", 1, "v", 1, NULL, NULL, NULL, &err), 0);
    assert_int_equal(kv_count(&follower), at_follower);
    assert_string_equal(tarn_client_endpoint(c), leader.url);
    tarn_client_close(c);

    /* One endpoint: nothing to choose, no probe. */
    c = open_urls(follower.url, NULL, 5000, 2000);
    assert_int_equal(tarn_kv_put(c, "k", 1, "v", 1, NULL, NULL, NULL, &err), 0);
    assert_int_equal(kv_count(&follower), at_follower + 1);
    assert_int_equal(fake_count(&follower), 2 + at_follower + 1);
    tarn_client_close(c);
    fake_stop(&follower);
    fake_stop(&leader);
}

static void test_dead_member_skipped(void **state)
{
    (void)state;
    fake_server s;
    fake_start(&s, answer_item, NULL);
    char dead[64];
    fake_dead_url(dead, sizeof(dead));
    tarn_client *c = open_urls(dead, s.url, 5000, 2000);
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_result r;
    assert_int_equal(tarn_kv_put(c, "k", 1, "v", 1, NULL, NULL, &r, &err), 0);
    assert_int_equal(r.uncertain, 0); /* refused connections deliver nothing */
    assert_string_equal(tarn_client_endpoint(c), s.url);
    tarn_client_close(c);
    fake_stop(&s);
}

/* 503 twice, then the answer. */
static void answer_busy_twice(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)s, (void)r;
    if (n < 2) {
        a->status = 503;
        a->body = "{\"error\":{\"code\":\"unavailable\",\"message\":\"write outcome unknown\"}}";
        return;
    }
    a->body =
        strcmp(r->method, "GET") == 0 ? ITEM_AB : "{\"key\":\"k\",\"version\":1,\"mod_index\":5}";
}

static void test_unavailable_retried(void **state)
{
    (void)state;
    fake_server s;
    fake_start(&s, answer_busy_twice, NULL);
    tarn_client *c = open_urls(s.url, NULL, 5000, 2000);
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_result r;
    assert_int_equal(tarn_kv_put(c, "k", 1, "v", 1, NULL, NULL, &r, &err), 0);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.uncertain, 1); /* a 503 may hide an applied write */
    assert_int_equal(fake_count(&s), 3);
    tarn_client_close(c);
    fake_stop(&s);
}

/* A leader that accepts a commit and dies before answering (its reply
 * never comes: the attempt times out), then the new leader, which finds
 * the txn_id committed and answers the first version. */
static void answer_commit_dead_leader(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)s, (void)r, (void)n;
    a->delay_ms = 1500; /* longer than the attempt timeout */
    a->status = 503;
}

static void answer_commit_duplicate(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)s, (void)r, (void)n;
    a->body = "{\"table\":\"t\",\"version\":7,\"base_version\":6,\"duplicate\":true}";
}

static void answer_commit_conflict(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)s, (void)r, (void)n;
    a->status = 409;
    a->body = "{\"error\":{\"code\":\"conflict\",\"message\":\"base version 2 is not the "
              "latest (9)\"},\"version\":9}";
}

static void test_commit_retried_same_txn(void **state)
{
    (void)state;
    fake_server dead, next;
    fake_start(&dead, answer_commit_dead_leader, NULL);
    fake_start(&next, answer_commit_duplicate, NULL);
    tarn_client *c = open_urls(dead.url, next.url, 5000, 500);
    tarn_err err = TARN_ERR_INIT;
    const char *actions = "{\"add\":{\"path\":\"a\"}}\n";
    tarn_commit_req rq = {.table = "t",
                          .base_version = 6,
                          .txn_id = "txn-42",
                          .actions = actions,
                          .actions_len = strlen(actions)};
    tarn_commit_result r;
    if (tarn_commit(c, &rq, NULL, &r, &err) != 0)
        fail_msg("commit: %s", tarn_err_msg(&err));
    assert_int_equal(r.version, 7);
    assert_int_equal(r.duplicate, 1);
    assert_int_equal(r.uncertain, 1);
    /* Both attempts carried the same body: the same txn_id and base. */
    fake_req a = {0}, b = {0};
    for (int i = 0; i < fake_count(&dead); i++)
        if (strcmp(fake_get(&dead, i).url, "/v1/tables/t/commits") == 0)
            a = fake_get(&dead, i);
    for (int i = 0; i < fake_count(&next); i++)
        if (strcmp(fake_get(&next, i).url, "/v1/tables/t/commits") == 0)
            b = fake_get(&next, i);
    assert_string_equal(a.method, "POST");
    assert_string_equal(a.body, b.body);
    assert_non_null(strstr(a.body, "\"txn_id\":\"txn-42\""));
    assert_non_null(strstr(a.body, "\"base_version\":6"));
    tarn_client_close(c);
    fake_stop(&dead);
    fake_stop(&next);
    /* A conflict carries the latest version. */
    fake_server cf;
    fake_start(&cf, answer_commit_conflict, NULL);
    c = open_urls(cf.url, NULL, 5000, 2000);
    assert_int_equal(tarn_commit(c, &rq, NULL, &r, &err), TARN_ECONFLICT);
    assert_int_equal(r.version, 9);
    assert_non_null(strstr(tarn_err_msg(&err), "not the latest"));
    tarn_client_close(c);
    fake_stop(&cf);
}

static void answer_stall(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)r, (void)n;
    a->delay_ms = *(int *)s->ctx;
    a->body = ITEM_AB;
}

static void test_stalled_member(void **state)
{
    (void)state;
    int stall_ms = 1500;
    fake_server slow, fast;
    fake_start(&slow, answer_stall, &stall_ms);
    fake_start(&fast, answer_put, NULL);
    tarn_client *c = open_urls(slow.url, fast.url, 5000, 200);
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_result r;
    assert_int_equal(tarn_kv_put(c, "k", 1, "v", 1, NULL, NULL, &r, &err), 0);
    assert_int_equal(r.uncertain, 1); /* the stalled member had the request */
    assert_string_equal(tarn_client_endpoint(c), fast.url);
    tarn_client_close(c);

    /* Only the stalled member: the call's deadline ends it. */
    c = open_urls(slow.url, NULL, 400, 150);
    tarn_kv_item it;
    assert_int_equal(tarn_kv_get(c, "k", 1, NULL, &it, &err), TARN_ETIMEDOUT);
    assert_non_null(strstr(err.msg, "no answer within 400 ms"));
    /* A per-call deadline overrides the handle's. */
    tarn_call_opts co = {.timeout_ms = 200};
    assert_int_equal(tarn_kv_get(c, "k", 1, &co, &it, &err), TARN_ETIMEDOUT);
    assert_non_null(strstr(err.msg, "no answer within 200 ms"));
    /* The last attempt before a deadline gets what is left, at least 1 ms:
     * libcurl reads a 0 ms timeout as none, and the call then waited for
     * the stalled answer (and returned it, past its deadline). */
    tarn_call_opts tiny = {.timeout_ms = 1};
    assert_int_equal(tarn_kv_get(c, "k", 1, &tiny, &it, &err), TARN_ETIMEDOUT);
    tarn_client_close(c);
    fake_stop(&slow);
    fake_stop(&fast);
}

/* Answers by path: /v1/kv/s<status> gives that status with an envelope. */
static void answer_status(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)s, (void)n;
    const char *p = strrchr(r->url, '/');
    if (p && p[1] == 's') {
        a->status = (unsigned)atoi(p + 2);
        a->body = a->status == 409
                      ? "{\"error\":{\"code\":\"conflict\",\"message\":\"compare 0 failed: the key "
                        "is at version 7\"},\"failed_compare\":0,\"version\":7,\"mod_index\":21}"
                      : "{\"error\":{\"code\":\"some_code\",\"message\":\"told you so\"}}";
        if (a->status == 429)
            a->retry_after = "2";
    } else if (p && strcmp(p, "/garbage") == 0) {
        a->body = "<html>not json</html>";
    } else if (p && strcmp(p, "/partial") == 0) {
        a->body = "{\"key\":\"k\",\"value\":\"YWI=\"}";
    } else if (p && strcmp(p, "/badb64") == 0) {
        a->body = "{\"key\":\"k\",\"value\":\"Y!I=\",\"version\":1,\"mod_index\":1,"
                  "\"create_index\":1}";
    } else if (p && strcmp(p, "/noenvelope") == 0) {
        a->status = 502;
        a->body = "Bad Gateway";
    } else if (strcmp(r->url, "/v1/tso") == 0) {
        a->body = "{\"first\":1000,\"count\":1}";
    }
}

static void test_status_mapping(void **state)
{
    (void)state;
    fake_server s;
    fake_start(&s, answer_status, NULL);
    tarn_client *c = open_urls(s.url, NULL, 2000, 1000);
    const struct {
        const char *key;
        int code;
    } cases[] = {{"s400", TARN_EINVAL}, {"s401", TARN_EUNAUTH},   {"s403", TARN_EFORBIDDEN},
                 {"s404", TARN_ENOENT}, {"s405", TARN_EMETHOD},   {"s413", TARN_ETOOBIG},
                 {"s429", TARN_ERATE},  {"s500", TARN_EINTERNAL}, {"garbage", TARN_EIO},
                 {"partial", TARN_EIO}, {"badb64", TARN_EIO},     {"noenvelope", TARN_EIO}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tarn_err err = TARN_ERR_INIT;
        tarn_kv_item it;
        int rc = tarn_kv_get(c, cases[i].key, strlen(cases[i].key), NULL, &it, &err);
        if (rc != cases[i].code)
            fail_msg("%s: got %s (%s)", cases[i].key, tarn_error_name(rc), err.msg);
        assert_null(it.key);
        if (cases[i].key[0] == 's')
            assert_non_null(strstr(err.msg, "told you so"));
    }
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_item it;
    assert_int_equal(tarn_kv_get(c, "s429", 4, NULL, &it, &err), TARN_ERATE);
    assert_non_null(strstr(err.msg, "retry after 2 s"));
    assert_int_equal(tarn_kv_get(c, "noenvelope", 10, NULL, &it, &err), TARN_EIO);
    assert_non_null(strstr(err.msg, "502"));

    /* A failed compare carries the key's current state. */
    tarn_kv_result r;
    tarn_kv_cond cond = {.kind = TARN_KV_IF_VERSION, .version = 6};
    assert_int_equal(tarn_kv_put(c, "s409", 4, "x", 1, &cond, NULL, &r, &err), TARN_ECONFLICT);
    assert_int_equal(r.version, 7);
    assert_int_equal(r.mod_index, 21);
    assert_int_equal(r.failed_compare, 0);
    assert_non_null(strstr(err.msg, "version 7"));

    /* TSO answering another count than asked is refused. */
    uint64_t first = 0;
    assert_int_equal(tarn_tso(c, 1, NULL, &first, &err), 0);
    assert_int_equal(first, 1000);
    assert_int_equal(tarn_tso(c, 2, NULL, &first, &err), TARN_EIO);
    tarn_client_close(c);
    fake_stop(&s);
}

static void answer_echo(fake_server *s, const fake_req *r, int n, fake_answer *a)
{
    (void)s, (void)n;
    if (strcmp(r->url, "/v1/kv/txn") == 0)
        a->body = "{\"ok\":true,\"mod_index\":30}";
    else if (strcmp(r->url, "/v1/kv") == 0)
        a->body = "{\"items\":[" ITEM_AB "," ITEM_AB "],\"next\":\"6b6c\"}";
    else if (strcmp(r->url, "/v1/tso") == 0)
        a->body = "{\"first\":262144,\"count\":5}";
    else if (strcmp(r->method, "GET") == 0)
        a->body = ITEM_AB;
    else
        a->body = "{\"key\":\"k\",\"version\":8,\"mod_index\":12}";
}

/* Parses a recorded JSON body. */
static json_t *req_json(const fake_req *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_request_shapes(void **state)
{
    (void)state;
    fake_server s;
    fake_start(&s, answer_echo, NULL);
    tarn_client *c = open_urls(s.url, NULL, 2000, 1000);
    tarn_err err = TARN_ERR_INIT;
    tarn_kv_result r;
    int i = 0;

    tarn_kv_cond cv = {.kind = TARN_KV_IF_VERSION, .version = 7};
    assert_int_equal(tarn_kv_put(c, "a b.c?#%+", 9, "v\0x", 3, &cv, NULL, &r, &err), 0);
    fake_req q = fake_get(&s, i++);
    assert_string_equal(q.method, "PUT");
    assert_string_equal(q.url, "/v1/kv/a b.c?#%+"); /* percent-encoded, decoded by MHD */
    assert_string_equal(q.if_match, "7");
    assert_string_equal(q.api_key, "tarn_test_key");
    assert_string_equal(q.content_type, "application/octet-stream");
    assert_int_equal(q.body_len, 3);
    assert_memory_equal(q.body, "v\0x", 3);
    assert_int_equal(r.version, 8);

    tarn_kv_cond ca = {.kind = TARN_KV_IF_ABSENT};
    assert_int_equal(tarn_kv_put(c, "k", 1, "", 0, &ca, NULL, &r, &err), 0);
    q = fake_get(&s, i++);
    assert_string_equal(q.if_none_match, "*");
    assert_int_equal(q.body_len, 0);

    /* CAS by value, and any key with '/', go through a txn. */
    tarn_kv_cond cval = {.kind = TARN_KV_IF_VALUE, .value = "old", .value_len = 3};
    assert_int_equal(tarn_kv_put(c, "dir/k", 5, "new", 3, &cval, NULL, &r, &err), 0);
    q = fake_get(&s, i++);
    assert_string_equal(q.method, "POST");
    assert_string_equal(q.url, "/v1/kv/txn");
    json_t *j = req_json(&q);
    json_t *cmp = json_array_get(json_object_get(j, "compare"), 0);
    assert_string_equal(json_string_value(json_object_get(cmp, "key")), "dir/k");
    assert_string_equal(json_string_value(json_object_get(cmp, "value")), "b2xk");
    json_t *put = json_array_get(json_object_get(j, "put"), 0);
    assert_string_equal(json_string_value(json_object_get(put, "value")), "bmV3");
    json_decref(j);
    assert_int_equal(r.mod_index, 30);

    tarn_kv_cond c3 = {.kind = TARN_KV_IF_VERSION, .version = 3};
    assert_int_equal(tarn_kv_put(c, "a/b", 3, "x", 1, &c3, NULL, &r, &err), 0);
    assert_int_equal(r.version, 4); /* known from the compare */
    q = fake_get(&s, i++);
    j = req_json(&q);
    cmp = json_array_get(json_object_get(j, "compare"), 0);
    assert_int_equal(json_integer_value(json_object_get(cmp, "version")), 3);
    json_decref(j);

    /* A txn key must be UTF-8: refused before sending. */
    assert_int_equal(tarn_kv_put(c, "a/\xff", 3, "x", 1, NULL, NULL, &r, &err), TARN_EINVAL);

    assert_int_equal(tarn_kv_delete(c, "k", 1, &cv, NULL, &r, &err), 0);
    q = fake_get(&s, i++);
    assert_string_equal(q.method, "DELETE");
    assert_string_equal(q.if_match, "7");

    tarn_call_opts ser = {.serializable = 1};
    tarn_kv_item it;
    assert_int_equal(tarn_kv_get(c, "k", 1, &ser, &it, &err), 0);
    assert_int_equal(it.value_len, 2);
    assert_string_equal((char *)it.value, "ab");
    assert_int_equal(it.version, 3);
    assert_int_equal(it.mod_index, 9);
    assert_int_equal(it.create_index, 4);
    tarn_kv_item_free(&it);
    q = fake_get(&s, i++);
    assert_string_equal(q.query, "consistency=serializable");

    tarn_kv_scan_opts so = {
        .start = "a&b", .start_len = 3, .end = "z", .end_len = 1, .limit = 2, .token = "6b"};
    tarn_kv_page page;
    assert_int_equal(tarn_kv_scan(c, &so, NULL, &page, &err), 0);
    assert_int_equal(page.count, 2);
    assert_string_equal(page.next_token, "6b6c");
    tarn_kv_page_free(&page);
    q = fake_get(&s, i++);
    assert_string_equal(q.query, "limit=2&start=a&b&end=z&token=6b");
    so.token = "XYZ";
    assert_int_equal(tarn_kv_scan(c, &so, NULL, &page, &err), TARN_EINVAL);
    so.token = NULL;
    so.limit = TARN_KV_SCAN_LIMIT_MAX + 1;
    assert_int_equal(tarn_kv_scan(c, &so, NULL, &page, &err), TARN_EINVAL);

    uint64_t first = 0;
    assert_int_equal(tarn_tso(c, 5, NULL, &first, &err), 0);
    assert_int_equal(first, 262144);
    q = fake_get(&s, i++);
    assert_string_equal(q.method, "POST");
    assert_string_equal(q.query, "count=5");
    assert_int_equal(tarn_tso(c, 0, NULL, &first, &err), TARN_EINVAL);
    assert_int_equal(tarn_tso(c, TARN_TSO_COUNT_MAX + 1, NULL, &first, &err), TARN_ETOOBIG);

    /* Limits checked before anything is sent. */
    char big[TARN_KV_KEY_MAX_BYTES + 1];
    memset(big, 'k', sizeof(big));
    assert_int_equal(tarn_kv_get(c, big, sizeof(big), NULL, &it, &err), TARN_ETOOBIG);
    assert_int_equal(tarn_kv_get(c, "a\0b", 3, NULL, &it, &err), TARN_EINVAL);
    assert_int_equal(tarn_kv_get(c, "", 0, NULL, &it, &err), TARN_EINVAL);
    assert_int_equal(tarn_kv_put(c, "k", 1, big, TARN_KV_VALUE_MAX_BYTES + 1, NULL, NULL, &r, &err),
                     TARN_ETOOBIG);
    tarn_kv_cond c0 = {.kind = TARN_KV_IF_VERSION, .version = 0};
    assert_int_equal(tarn_kv_put(c, "k", 1, "x", 1, &c0, NULL, &r, &err), TARN_EINVAL);
    assert_int_equal(tarn_kv_delete(c, "k", 1, &ca, NULL, &r, &err), TARN_EINVAL);
    assert_int_equal(tarn_kv_txn(c, NULL, 0, NULL, 0, NULL, &r, &err), TARN_EINVAL);
    assert_int_equal(fake_count(&s), i);
    tarn_client_close(c);
    fake_stop(&s);
}

typedef struct thread_arg {
    tarn_client *c;
    int ok;
} thread_arg;

static void *get_loop(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < 40; i++) {
        tarn_kv_item it;
        if (tarn_kv_get(a->c, "k", 1, NULL, &it, NULL) == 0 && it.value_len == 2)
            a->ok++;
        tarn_kv_item_free(&it);
    }
    return NULL;
}

static void test_threads_share_handle(void **state)
{
    (void)state;
    fake_server s;
    fake_start(&s, answer_item, NULL);
    tarn_client *c = open_urls(s.url, NULL, 5000, 2000);
    pthread_t th[8];
    thread_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (thread_arg){.c = c};
        assert_int_equal(pthread_create(&th[i], NULL, get_loop, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].ok, 40);
    }
    tarn_client_close(c);
    fake_stop(&s);
}

typedef struct oom_ctx {
    const char *url;
    int which;
} oom_ctx;

/* Opens a handle, runs one call, closes: every allocation of the path. */
static int oom_op(void *p)
{
    oom_ctx *o = p;
    tarn_client *c = NULL;
    const char *urls[1] = {o->url};
    tarn_client_opts opts = {.endpoints = urls, .n_endpoints = 1, .api_key = "k"};
    int rc = tarn_client_open(&opts, &c, NULL);
    if (rc != 0)
        return rc;
    if (o->which == 0) {
        tarn_kv_item it;
        rc = tarn_kv_get(c, "k", 1, NULL, &it, NULL);
        tarn_kv_item_free(&it);
    } else if (o->which == 1) {
        tarn_kv_scan_opts so = {.limit = 2};
        tarn_kv_page page;
        rc = tarn_kv_scan(c, &so, NULL, &page, NULL);
        tarn_kv_page_free(&page);
    } else {
        tarn_kv_compare cmp = {.key = "a", .key_len = 1, .cond = {.kind = TARN_KV_IF_ABSENT}};
        tarn_kv_op op = {TARN_KV_OP_PUT, "a/b", 3, "v", 1};
        rc = tarn_kv_txn(c, &cmp, 1, &op, 1, NULL, NULL, NULL);
    }
    tarn_client_close(c);
    return rc;
}

static void test_out_of_memory(void **state)
{
    (void)state;
    fake_server s;
    fake_start(&s, answer_echo, NULL);
    for (int which = 0; which < 3; which++) {
        oom_ctx o = {.url = s.url, .which = which};
        assert_true(tarn_test_oom_loop(oom_op, NULL, &o, 200) >= 3);
    }
    fake_stop(&s);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    tarn_alloc_hook_jansson(); /* JSON parsing counts in the OOM test */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),         cmocka_unit_test(test_cluster_file),
        cmocka_unit_test(test_redirect_to_leader),  cmocka_unit_test(test_redirect_loop_times_out),
        cmocka_unit_test(test_probe_finds_leader),  cmocka_unit_test(test_dead_member_skipped),
        cmocka_unit_test(test_unavailable_retried), cmocka_unit_test(test_commit_retried_same_txn),
        cmocka_unit_test(test_stalled_member),      cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_request_shapes),      cmocka_unit_test(test_threads_share_handle),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
