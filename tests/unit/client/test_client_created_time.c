/*
 * tests/unit/client/test_client_created_time.c: version 0's time survives
 * a copy of the data directory. A table is created (the creator dies
 * after writing version 0's log file, before marking it written, so the
 * next writer's pending pass must rebuild the very same bytes, creation
 * time included) and appended to; the data directory is copied with
 * `cp -r` and every file of the copy touched (mtimes now). On the copy,
 * `TIMESTAMP AS OF` each original commit time (delta_managed_snapshot_at_
 * timestamp) names the same version as before, a millisecond earlier the
 * version before, and before the create nothing. Once embedded (the node
 * committer on the node itself) and once through the client committer
 * (HTTP to the catalog routes, which propose the create with their clock);
 * GET /v1/tables/{name} reports created_ms.
 */
#include "common/test_util.h"
#include "tarn.h"

#include "base/alloc.h"
#include "catalog/catalog.h"
#include "catalog/catalog_routes.h"
#include "client/committer.h"
#include "http/http.h"
#include "node/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPENDS 3

/* A metadata service on one data directory: the node, and with `http`
 * the catalog routes behind the real server and a client committer. */
typedef struct env {
    char dir[4096];
    bool http;
    node *n;
    catalog_routes *cr;
    http_keystore *ks;
    http_router *router;
    http_server *srv;
    tarn_client *client;
    delta_committer dc;
    objstore *os;
} env;

static void env_up(env *e)
{
    tarn_err err = TARN_ERR_INIT;
    store_registry reg;
    memset(&reg, 0, sizeof(reg));
    assert_int_equal(catalog_register(&reg), 0);
    node_opts no = {
        .data_dir = e->dir, .election_ticks = 2, .tick_ms = 5, .durability = STORE_DURABLE_DATA};
    if (node_open(&no, &reg, &e->n, &err) != 0 || node_wait_leader(e->n, 5000, &err) != 0)
        fail_msg("node on %s: %s", e->dir, tarn_err_msg(&err));
    char objects[4200];
    snprintf(objects, sizeof(objects), "%s/objects", e->dir);
    if (objstore_open(objects, &e->os, &err) != 0)
        fail_msg("store: %s", tarn_err_msg(&err));
    if (!e->http) {
        assert_int_equal(delta_committer_node(e->n, 0, &e->dc), 0);
        return;
    }
    catalog_routes_opts co = {.store_url = objects};
    assert_int_equal(catalog_routes_new(e->n, &co, &e->cr), 0);
    assert_int_equal(http_keystore_open(e->dir, &e->ks, &err), 0);
    char key_path[4200];
    snprintf(key_path, sizeof(key_path), "%s/admin.key", e->dir);
    int created = 0;
    assert_int_equal(http_keystore_ensure_admin(e->ks, key_path, &created, &err), 0);
    assert_int_equal(http_router_new(&e->router), 0);
    assert_int_equal(http_router_add_builtin(e->router, e->ks), 0);
    assert_int_equal(catalog_routes_add(e->router, e->cr), 0);
    http_server_opts o;
    http_server_opts_default(&o);
    o.listen = "127.0.0.1:0";
    for (int r = 0; r < HTTP_ROLE_COUNT; r++)
        o.rate_per_s[r] = 0;
    if (http_server_start(&o, e->router, e->ks, &e->srv, &err) != 0)
        fail_msg("server: %s", tarn_err_msg(&err));
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)http_server_port(e->srv));
    const char *urls[1] = {url};
    tarn_client_opts copts = {.endpoints = urls, .n_endpoints = 1, .api_key_file = key_path};
    if (tarn_client_open(&copts, &e->client, &err) != 0)
        fail_msg("client: %s", tarn_err_msg(&err));
    assert_int_equal(client_committer_open(e->client, NULL, &e->dc), 0);
}

static void env_down(env *e)
{
    delta_committer_close(&e->dc);
    tarn_client_close(e->client);
    e->client = NULL;
    http_server_stop(e->srv);
    e->srv = NULL;
    node_close(e->n);
    e->n = NULL;
    catalog_routes_free(e->cr);
    e->cr = NULL;
    http_router_free(e->router);
    e->router = NULL;
    http_keystore_close(e->ks);
    e->ks = NULL;
    objstore_close(e->os);
    e->os = NULL;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        tarn_err e_ = TARN_ERR_INIT;                                                               \
        tarn_err *okerr = &e_;                                                                     \
        int rc_ = (call);                                                                          \
        if (rc_ != 0)                                                                              \
            fail_msg("%s: %s", #call, tarn_err_msg(okerr));                                        \
    } while (0)

/* A creator that dies after writing version 0's log file, before the
 * mark: delta_create_table's log_written fails. */
static int died_before_mark(void *ctx, const char *name, int64_t version, tarn_err *err)
{
    (void)ctx;
    return tarn_err_set(err, TARN_EIO, "test: creator of %s died before marking version %lld", name,
                        (long long)version);
}

static void one_batch(vec_batch *b, int64_t first)
{
    vec_type_info t = {.id = VEC_I64};
    assert_int_equal(vec_batch_init(b, &t, 1, 4), 0);
    for (uint32_t r = 0; r < 4; r++)
        ((int64_t *)b->cols[0].data)[r] = first + r;
    b->cols[0].len = b->len = 4;
}

static int64_t time_of(env *e, int64_t version)
{
    delta_snapshot *s = NULL;
    OK(delta_managed_snapshot_at_version(&e->dc, e->os, "t", version, &s, okerr));
    int64_t ts = s->timestamp_ms;
    delta_snapshot_free(s);
    return ts;
}

/* Creates t (the creator dying before its mark) and appends to it;
 * ts[v] receives version v's time. */
static void write_table(env *e, int64_t ts[APPENDS + 1])
{
    delta_column cols[1] = {{"id", {.id = VEC_I64}, false}};
    delta_committer dying = e->dc;
    dying.log_written = died_before_mark;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(delta_create_table(&dying, e->os, "t", cols, 1, NULL, 0, &err), TARN_EIO);
    char key[256];
    snprintf(key, sizeof(key), "tables/t/_delta_log/%020d.json", 0);
    objstore_info info;
    OK(objstore_head(e->os, key, &info, okerr));
    /* The next writer finishes version 0: the same bytes, or ECORRUPT. */
    size_t done = 0;
    OK(delta_finish_pending_logs(&e->dc, e->os, &done, okerr));
    assert_int_equal(done, 1);
    tarn_buf b;
    tarn_buf_init(&b, 1 << 20);
    OK(objstore_get(e->os, key, 1 << 20, &b, okerr));
    assert_true(b.len > 40 && memcmp(b.data, "{\"commitInfo\":{\"timestamp\":", 27) == 0);
    ts[0] = time_of(e, 0);
    char created[64];
    snprintf(created, sizeof(created), "\"createdTime\":%lld", (long long)ts[0]);
    assert_non_null(strstr((const char *)b.data, created));
    tarn_buf_free(&b);
    for (int64_t v = 1; v <= APPENDS; v++) {
        usleep(5000); /* distinct commit times */
        delta_snapshot *base = NULL;
        OK(delta_managed_snapshot_latest(&e->dc, e->os, "t", &base, okerr));
        vec_batch batch;
        one_batch(&batch, v * 10);
        int64_t got = -1;
        OK(delta_append(&e->dc, e->os, "t", base, &batch, 1, NULL, &got, okerr));
        assert_int_equal(got, v);
        vec_batch_free(&batch);
        delta_snapshot_free(base);
        ts[v] = time_of(e, v);
        assert_true(ts[v] > ts[v - 1]);
    }
}

/* Time travel on e by each recorded time. */
static void check_times(env *e, const int64_t ts[APPENDS + 1])
{
    tarn_err err = TARN_ERR_INIT;
    for (int64_t v = 0; v <= APPENDS; v++) {
        delta_snapshot *s = NULL;
        OK(delta_managed_snapshot_at_timestamp(&e->dc, e->os, "t", ts[v], &s, okerr));
        if (s->version != v || s->timestamp_ms != ts[v])
            fail_msg("%s: TIMESTAMP AS OF %lld is version %lld at %lld, want %lld",
                     e->http ? "client" : "embedded", (long long)ts[v], (long long)s->version,
                     (long long)s->timestamp_ms, (long long)v);
        assert_int_equal(s->nfiles, (size_t)v);
        delta_snapshot_free(s);
        if (v == 0)
            continue;
        OK(delta_managed_snapshot_at_timestamp(&e->dc, e->os, "t", ts[v] - 1, &s, okerr));
        assert_int_equal(s->version, v - 1);
        delta_snapshot_free(s);
    }
    delta_snapshot *s = NULL;
    assert_int_equal(delta_managed_snapshot_at_timestamp(&e->dc, e->os, "t", ts[0] - 1, &s, &err),
                     TARN_ENOENT);
}

static void copy_and_touch(const char *from, const char *to)
{
    char cmd[3 * 4096 + 64];
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s' && find '%s' -exec touch {} +", from, to, to);
    assert_int_equal(system(cmd), 0);
}

static void run(bool http)
{
    char *base = tarn_test_mkdtemp(http ? "created-time-http" : "created-time");
    env a = {.http = http}, b = {.http = http};
    snprintf(a.dir, sizeof(a.dir), "%s/orig", base);
    snprintf(b.dir, sizeof(b.dir), "%s/copy", base);
    int64_t ts[APPENDS + 1];
    assert_int_equal(mkdir(a.dir, 0700), 0);
    env_up(&a);
    write_table(&a, ts);
    check_times(&a, ts);
    if (http) { /* the record's time, as the routes report it */
        tarn_table_info t;
        OK(tarn_table_get(a.client, "t", NULL, &t, okerr));
        assert_int_equal(t.created_ms, ts[0]);
        tarn_table_info_free(&t);
    }
    env_down(&a);
    usleep(20000); /* the copy's mtimes are later than every commit */
    copy_and_touch(a.dir, b.dir);
    env_up(&b);
    check_times(&b, ts);
    env_down(&b);
    tarn_test_rmdir(base);
}

static void test_created_time_embedded(void **state)
{
    (void)state;
    run(false);
}

static void test_created_time_client(void **state)
{
    (void)state;
    run(true);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_created_time_embedded),
        cmocka_unit_test(test_created_time_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
