/*
 * tests/unit/client/test_client_catalog.c: the catalog calls of the client
 * library and the delta committer over them (client/committer.h) against
 * the real catalog routes: an embedded node behind the real HTTP server,
 * as `tarn local` runs them. Covers create (and its 409), the latest
 * version, commits (stale base, retried txn_id, blind appends), versions
 * in pages, log-written marks and pending versions; then Delta tables
 * written through HTTP: create + append read back by a snapshot taken
 * through HTTP, a crashed writer's log finished by the next one, and 8
 * threads appending at once (one version each, no gap, every row).
 */
#include "common/test_util.h"
#include "tarn.h"

#include "base/alloc.h"
#include "catalog/catalog.h"
#include "catalog/catalog_routes.h"
#include "client/committer.h"
#include "http/http.h"
#include "node/node.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct server {
    char *dir;
    node *n;
    catalog_routes *cr;
    http_keystore *ks;
    http_router *router;
    http_server *srv;
    objstore *os;
    char url[64];
    char key_path[4096];
} server;

static server S;

static int server_up(void **state)
{
    (void)state;
    memset(&S, 0, sizeof(S));
    S.dir = tarn_test_mkdtemp("client-catalog");
    tarn_err err = TARN_ERR_INIT;
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(catalog_register(&reg), 0);
    node_opts no = {
        .data_dir = S.dir, .election_ticks = 2, .tick_ms = 5, .durability = STORE_DURABLE_NONE};
    if (node_open(&no, &reg, &S.n, &err) != 0 || node_wait_leader(S.n, 5000, &err) != 0)
        fail_msg("node: %s", tarn_err_msg(&err));
    char objects[4200];
    snprintf(objects, sizeof(objects), "%s/objects", S.dir);
    catalog_routes_opts co = {.store_url = objects};
    assert_int_equal(catalog_routes_new(S.n, &co, &S.cr), 0);
    assert_int_equal(http_keystore_open(S.dir, &S.ks, &err), 0);
    snprintf(S.key_path, sizeof(S.key_path), "%s/admin.key", S.dir);
    int created = 0;
    assert_int_equal(http_keystore_ensure_admin(S.ks, S.key_path, &created, &err), 0);
    assert_int_equal(http_router_new(&S.router), 0);
    assert_int_equal(http_router_add_builtin(S.router, S.ks), 0);
    assert_int_equal(catalog_routes_add(S.router, S.cr), 0);
    http_server_opts o;
    http_server_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.threads = 8;
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
    catalog_routes_free(S.cr);
    http_router_free(S.router);
    http_keystore_close(S.ks);
    tarn_test_rmdir(S.dir);
    return 0;
}

static tarn_client *open_client(void)
{
    const char *urls[1] = {S.url};
    tarn_client_opts o = {.endpoints = urls, .n_endpoints = 1, .api_key_file = S.key_path};
    tarn_client *c = NULL;
    tarn_err err = TARN_ERR_INIT;
    if (tarn_client_open(&o, &c, &err) != 0)
        fail_msg("open: %s", tarn_err_msg(&err));
    return c;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        tarn_err e_ = TARN_ERR_INIT;                                                               \
        tarn_err *okerr = &e_;                                                                     \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            fail_msg("%s: %s", #call, tarn_err_msg(okerr));                                        \
    } while (0)

#define SCHEMA "{\"type\":\"struct\",\"fields\":[]}"
#define ADD    "{\"add\":{\"path\":\"a.parquet\"}}\n"

static void test_calls(void **state)
{
    (void)state;
    tarn_client *c = open_client();
    tarn_err err = TARN_ERR_INIT;
    uint64_t id = 0, v = 0;
    const char *parts[] = {"day"};
    OK(tarn_table_create(c, "calls", SCHEMA, parts, 1, NULL, &id, okerr));
    assert_true(id > 0);
    assert_int_equal(tarn_table_create(c, "calls", SCHEMA, NULL, 0, NULL, &id, &err), TARN_EEXIST);
    assert_int_equal(tarn_table_create(c, "9bad", SCHEMA, NULL, 0, NULL, &id, &err), TARN_EINVAL);
    tarn_table_info t;
    OK(tarn_table_get(c, "calls", NULL, &t, okerr));
    assert_string_equal(t.schema, SCHEMA);
    assert_int_equal(t.n_partition_columns, 1);
    assert_string_equal(t.partition_columns[0], "day");
    assert_int_equal(t.created_id, id);
    tarn_table_info_free(&t);
    tarn_commit_req rq = {.table = "calls",
                          .base_version = 0,
                          .txn_id = "one",
                          .actions = ADD,
                          .actions_len = strlen(ADD)};
    tarn_commit_result r;
    OK(tarn_commit(c, &rq, NULL, &r, okerr));
    assert_int_equal(r.version, 1);
    assert_false(r.duplicate);
    OK(tarn_commit(c, &rq, NULL, &r, okerr)); /* the retry */
    assert_int_equal(r.version, 1);
    assert_true(r.duplicate);
    rq.txn_id = "two";
    assert_int_equal(tarn_commit(c, &rq, NULL, &r, &err), TARN_ECONFLICT);
    assert_int_equal(r.version, 1);
    rq.blind_append = 1;
    OK(tarn_commit(c, &rq, NULL, &r, okerr));
    assert_int_equal(r.version, 2);
    rq.table = "nope";
    assert_int_equal(tarn_commit(c, &rq, NULL, &r, &err), TARN_ENOENT);
    rq.table = "calls";
    rq.actions = "\xff\xfe";
    rq.actions_len = 2;
    assert_int_equal(tarn_commit(c, &rq, NULL, &r, &err), TARN_EINVAL);
    OK(tarn_table_latest(c, "calls", NULL, &v, okerr));
    assert_int_equal(v, 2);
    tarn_versions vs;
    OK(tarn_versions_read(c, "calls", 1, -1, 1, NULL, &vs, okerr));
    assert_int_equal(vs.count, 1);
    assert_int_equal(vs.next, 2);
    assert_int_equal(vs.latest, 2);
    assert_string_equal(vs.items[0].actions, ADD);
    assert_string_equal(vs.items[0].txn_id, "one");
    tarn_versions_free(&vs);
    OK(tarn_versions_read(c, "calls", 0, -1, 0, NULL, &vs, okerr));
    assert_int_equal(vs.count, 3);
    assert_null(vs.items[0].txn_id);
    assert_true(vs.items[2].blind_append);
    tarn_versions_free(&vs);
    OK(tarn_commit_log_written(c, "calls", 0, NULL, okerr));
    tarn_pending *p;
    size_t n;
    int more;
    OK(tarn_catalog_pending(c, 0, NULL, &p, &n, &more, okerr));
    assert_int_equal(n, 2);
    assert_string_equal(p[0].table, "calls");
    assert_int_equal(p[0].version, 1);
    tarn_pending_free(p, n);
    char root[4200];
    OK(tarn_catalog_store(c, NULL, root, sizeof(root), okerr));
    assert_non_null(strstr(root, "/objects"));
    OK(tarn_table_drop(c, "calls", NULL, okerr));
    assert_int_equal(tarn_table_get(c, "calls", NULL, &t, &err), TARN_ENOENT);
    tarn_client_close(c);
}

/* ---- Delta tables through HTTP ---- */

static void one_batch(vec_batch *b, int64_t first, uint32_t rows)
{
    vec_type_info types[1] = {{.id = VEC_I64}};
    assert_int_equal(vec_batch_init(b, types, 1, rows), 0);
    for (uint32_t i = 0; i < rows; i++)
        ((int64_t *)b->cols[0].data)[i] = first + i;
    b->cols[0].len = rows;
    b->len = rows;
}

static int64_t count_rows(delta_committer *dc, objstore *os, const char *name, int64_t *version)
{
    delta_snapshot *s = NULL;
    tarn_err err = TARN_ERR_INIT;
    if (delta_managed_snapshot_latest(dc, os, name, &s, &err) != 0)
        fail_msg("snapshot: %s", tarn_err_msg(&err));
    int64_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        delta_stats st;
        assert_int_equal(delta_stats_parse(s->files[i].stats, &st, &err), 0);
        n += st.num_records;
        delta_stats_free(&st);
    }
    *version = s->version;
    delta_snapshot_free(s);
    return n;
}

typedef struct writer {
    delta_committer *dc;
    objstore *os;
    const delta_snapshot *base;
    int appends;
    int64_t versions[16];
} writer;

static void *append_loop(void *p)
{
    writer *w = p;
    vec_batch b;
    one_batch(&b, 0, 5);
    for (int i = 0; i < w->appends; i++) {
        tarn_err err = TARN_ERR_INIT;
        delta_append_opts o = {.rebase_max = 1};
        if (delta_append(w->dc, w->os, "through_http", w->base, &b, 1, &o, &w->versions[i], &err) !=
            0)
            fail_msg("append: %s", tarn_err_msg(&err));
    }
    vec_batch_free(&b);
    return NULL;
}

static void test_delta_through_http(void **state)
{
    (void)state;
    tarn_client *c = open_client();
    delta_committer dc;
    assert_int_equal(client_committer_open(c, NULL, &dc), 0);
    char objects[4200];
    snprintf(objects, sizeof(objects), "%s/objects", S.dir);
    objstore *os = NULL;
    tarn_err err = TARN_ERR_INIT;
    OK(objstore_open(objects, &os, okerr));
    delta_column cols[1] = {{"id", {.id = VEC_I64}, false}};
    OK(delta_create_table(&dc, os, "through_http", cols, 1, NULL, 0, okerr));
    delta_snapshot *base = NULL;
    OK(delta_managed_snapshot_latest(&dc, os, "through_http", &base, okerr));
    assert_int_equal(base->version, 0);
    /* Two writers killed after their commits (blind appends on base 0),
     * before their log files: the next pass writes both (one range read). */
    vec_batch b;
    one_batch(&b, 100, 3);
    int64_t v = -1;
    delta_append_opts crash = {.crash_point = 2, .rebase_max = 1};
    for (int i = 0; i < 2; i++)
        assert_int_equal(delta_append(&dc, os, "through_http", base, &b, 1, &crash, &v, &err),
                         TARN_EIO);
    assert_int_equal(v, 2);
    vec_batch_free(&b);
    size_t done = 0;
    OK(delta_finish_pending_logs(&dc, os, &done, okerr));
    assert_int_equal(done, 2);
    char key[256];
    objstore_info meta;
    for (int vv = 1; vv <= 2; vv++) {
        snprintf(key, sizeof(key), "tables/through_http/_delta_log/%020d.json", vv);
        OK(objstore_head(os, key, &meta, okerr));
    }
    /* 8 threads, 3 appends each, all on base 0: blind appends. */
    writer w[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (writer){.dc = &dc, .os = os, .base = base, .appends = 3};
        pthread_create(&th[i], NULL, append_loop, &w[i]);
    }
    int seen[40] = {0};
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        for (int k = 0; k < 3; k++) {
            assert_true(w[i].versions[k] >= 3 && w[i].versions[k] <= 26);
            seen[w[i].versions[k]]++;
        }
    }
    for (int vv = 3; vv <= 26; vv++)
        assert_int_equal(seen[vv], 1);
    int64_t latest = 0;
    assert_int_equal(count_rows(&dc, os, "through_http", &latest), 6 + 24 * 5);
    assert_int_equal(latest, 26);
    /* The log agrees: every version's file is there. */
    for (int vv = 0; vv <= 26; vv++) {
        snprintf(key, sizeof(key), "tables/through_http/_delta_log/%020d.json", vv);
        OK(objstore_head(os, key, &meta, okerr));
    }
    delta_snapshot_free(base);
    delta_committer_close(&dc);
    objstore_close(os);
    tarn_client_close(c);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls),
        cmocka_unit_test(test_delta_through_http),
    };
    return cmocka_run_group_tests(tests, server_up, server_down);
}
