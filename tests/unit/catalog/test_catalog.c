/* Tests of catalog/ through store/: create and drop, commits accepted only
 * on the latest base (a stale base answers the latest version), idempotent
 * txn_id retries returning the first version, the retention window of txn
 * ids, the Delta log-written flag and the pending list a new leader reads,
 * table listing, hostile command bytes, out of memory. */
#include "common/test_util.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/rand.h"
#include "catalog/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx {
    char *dir;
    store *st;
    store_registry reg;
    store_result last;
    tarn_buf b;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = tarn_test_mkdtemp("catalog");
    assert_int_equal(catalog_register(&f->reg), 0);
    store_opts o = {.map_size_bytes = 256u << 20, .durability = STORE_DURABLE_NONE};
    assert_int_equal(store_open(f->dir, &o, &f->st, NULL), 0);
    tarn_buf_init(&f->b, TARN_BUF_UNBOUNDED);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_result_free(&f->last);
    tarn_buf_free(&f->b);
    store_close(f->st);
    tarn_test_rmdir(f->dir);
    free(f);
    return 0;
}

/* Applies f->b (or raw bytes) at the next index and decodes the result. */
static catalog_result apply_raw(fx *f, const uint8_t *p, size_t len)
{
    store_result_free(&f->last);
    store_entry e = {store_applied_index(f->st) + 1, 1, p, len};
    tarn_err err = TARN_ERR_INIT;
    if (store_apply(f->st, &e, 1, &f->reg, &f->last, &err) != 0)
        fail_msg("apply: %s", tarn_err_msg(&err));
    catalog_result r;
    assert_int_equal(catalog_result_decode(&f->last, &r), 0);
    return r;
}

static catalog_result apply(fx *f)
{
    catalog_result r = apply_raw(f, f->b.data, f->b.len);
    tarn_buf_reset(&f->b);
    return r;
}

#define B(s) ((catalog_bytes){(const uint8_t *)(s), strlen(s)})

static catalog_result create(fx *f, const char *name)
{
    catalog_create c = {.name = B(name),
                        .location = B("file:///data/tables/x"),
                        .schema = B("{\"type\":\"struct\",\"fields\":[]}"),
                        .n_parts = 2,
                        .parts = {B("day"), B("region")}};
    assert_int_equal(catalog_encode_create(&f->b, &c), 0);
    return apply(f);
}

static catalog_result commit(fx *f, const char *name, uint64_t base, const char *txn,
                             const char *actions)
{
    assert_int_equal(catalog_encode_commit(&f->b, name, strlen(name), base, txn, strlen(txn),
                                           actions, strlen(actions)),
                     0);
    return apply(f);
}

static catalog_result drop(fx *f, const char *name)
{
    assert_int_equal(catalog_encode_drop(&f->b, name, strlen(name)), 0);
    return apply(f);
}

static catalog_result mark(fx *f, const char *name, uint64_t v)
{
    assert_int_equal(catalog_encode_log_written(&f->b, name, strlen(name), v), 0);
    return apply(f);
}

static void test_create_and_drop(void **state)
{
    fx *f = *state;
    catalog_result r = create(f, "events");
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 0);
    commit(f, "events", 0, "t1", "{\"add\":1}");
    r = create(f, "events");
    assert_int_equal(r.code, TARN_EEXIST);
    assert_int_equal(r.version, 1);
    store_txn *t;
    catalog_table tab;
    catalog_version ver;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_table_get(t, "events", 6, &tab), 0);
    assert_int_equal(tab.latest_version, 1);
    assert_int_equal(tab.created_index, 1);
    assert_int_equal(tab.location.len, strlen("file:///data/tables/x"));
    assert_memory_equal(tab.schema.p, "{\"type\"", 7);
    assert_int_equal(tab.n_parts, 2);
    assert_memory_equal(tab.parts[1].p, "region", 6);
    assert_int_equal(catalog_version_get(t, "events", 6, 0, &ver), 0);
    assert_int_equal(ver.log_written, 0);
    assert_int_equal(ver.actions.len, 0);
    assert_int_equal(catalog_table_get(t, "nope", 4, &tab), TARN_ENOENT);
    assert_int_equal(catalog_table_get(t, "bad name", 8, &tab), TARN_EINVAL);
    store_read_end(t);
    assert_int_equal(drop(f, "events").code, TARN_OK);
    assert_int_equal(drop(f, "events").code, TARN_ENOENT);
    assert_int_equal(commit(f, "events", 1, "t2", "").code, TARN_ENOENT);
    /* Re-created: a fresh history, and the old txn id is gone with it. */
    assert_int_equal(create(f, "events").code, TARN_OK);
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_version_get(t, "events", 6, 1, &ver), TARN_ENOENT);
    store_read_end(t);
    r = commit(f, "events", 0, "t1", "{}");
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.duplicate, 0);
}

static void test_commit_on_latest_base_only(void **state)
{
    fx *f = *state;
    create(f, "t");
    catalog_result r = commit(f, "t", 0, "w1", "{\"add\":\"a.parquet\"}");
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 1);
    r = commit(f, "t", 0, "w2", "{\"add\":\"b.parquet\"}"); /* lost the race */
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.version, 1);
    r = commit(f, "t", 7, "w2", "x"); /* a base from the future too */
    assert_int_equal(r.code, TARN_ECONFLICT);
    r = commit(f, "t", 1, "w2", "{\"add\":\"b.parquet\"}");
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 2);
    uint64_t idx = store_applied_index(f->st);
    store_txn *t;
    catalog_version ver;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_version_get(t, "t", 1, 2, &ver), 0);
    assert_int_equal(ver.actions.len, strlen("{\"add\":\"b.parquet\"}"));
    assert_memory_equal(ver.actions.p, "{\"add\":\"b.parquet\"}", ver.actions.len);
    assert_memory_equal(ver.txn_id.p, "w2", 2);
    assert_int_equal(ver.commit_index, idx);
    assert_int_equal(catalog_version_get(t, "t", 1, 3, &ver), TARN_ENOENT);
    store_read_end(t);
}

static void test_idempotent_retry(void **state)
{
    fx *f = *state;
    create(f, "t");
    catalog_result r = commit(f, "t", 0, "job-17", "{\"add\":1}");
    assert_int_equal(r.version, 1);
    commit(f, "t", 1, "job-18", "{\"add\":2}");
    /* The client never heard back and retries with its old base. */
    r = commit(f, "t", 0, "job-17", "{\"add\":1}");
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.duplicate, 1);
    r = commit(f, "t", 2, "job-17", "{\"add\":1}"); /* even on the latest base */
    assert_int_equal(r.version, 1);
    assert_int_equal(r.duplicate, 1);
    store_txn *t;
    catalog_table tab;
    catalog_version ver;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_table_get(t, "t", 1, &tab), 0);
    assert_int_equal(tab.latest_version, 2); /* no duplicate commit */
    assert_int_equal(catalog_version_get(t, "t", 1, 3, &ver), TARN_ENOENT);
    store_read_end(t);
    /* Txn ids are per table. */
    create(f, "u");
    r = commit(f, "u", 0, "job-17", "{}");
    assert_int_equal(r.duplicate, 0);
    assert_int_equal(r.version, 1);
}

/* Advances the applied index with empty entries (Raft no-ops). */
static void advance(fx *f, uint64_t n)
{
    static store_entry es[STORE_BATCH_MAX];
    static store_result rs[STORE_BATCH_MAX];
    while (n > 0) {
        size_t k = n < STORE_BATCH_MAX ? (size_t)n : STORE_BATCH_MAX;
        uint64_t next = store_applied_index(f->st) + 1;
        for (size_t i = 0; i < k; i++)
            es[i] = (store_entry){next + i, 1, NULL, 0};
        assert_int_equal(store_apply(f->st, es, k, &f->reg, rs, NULL), 0);
        n -= k;
    }
}

static void test_txn_window(void **state)
{
    fx *f = *state;
    create(f, "t");
    commit(f, "t", 0, "old", "{}"); /* index 2 */
    advance(f, CATALOG_TXN_WINDOW_ENTRIES - 10);
    commit(f, "t", 1, "recent", "{}");
    advance(f, 20);
    /* This commit prunes ids older than the window: "old" (index 2). */
    assert_int_equal(commit(f, "t", 2, "trigger", "{}").code, TARN_OK);
    catalog_result r = commit(f, "t", 0, "old", "{}");
    assert_int_equal(r.code, TARN_ECONFLICT); /* forgotten: an ordinary stale commit */
    assert_int_equal(r.version, 3);
    r = commit(f, "t", 0, "recent", "{}");
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.duplicate, 1);
    assert_int_equal(r.version, 2);
}

typedef struct pend {
    char names[16][16];
    uint64_t versions[16];
    int n;
} pend;

static int pend_cb(void *ctx, const char *name, size_t len, uint64_t v)
{
    pend *p = ctx;
    assert_true(p->n < 16 && len < 16);
    memcpy(p->names[p->n], name, len);
    p->names[p->n][len] = 0;
    p->versions[p->n++] = v;
    return 0;
}

static pend pending(fx *f)
{
    pend p = {0};
    store_txn *t;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_pending_logs(t, pend_cb, &p), 0);
    store_read_end(t);
    return p;
}

static void test_log_written_flag(void **state)
{
    fx *f = *state;
    create(f, "b");
    create(f, "a");
    commit(f, "b", 0, "1", "{}");
    commit(f, "b", 1, "2", "{}");
    commit(f, "a", 0, "1", "{}");
    pend p = pending(f);
    assert_int_equal(p.n, 5); /* a/0 a/1 b/0 b/1 b/2 */
    assert_string_equal(p.names[0], "a");
    assert_int_equal(p.versions[1], 1);
    assert_string_equal(p.names[4], "b");
    assert_int_equal(p.versions[4], 2);
    assert_int_equal(mark(f, "b", 0).code, TARN_OK);
    assert_int_equal(mark(f, "b", 1).code, TARN_OK);
    assert_int_equal(mark(f, "b", 1).code, TARN_OK); /* repeated: no change */
    assert_int_equal(mark(f, "b", 9).code, TARN_ENOENT);
    assert_int_equal(mark(f, "zz", 0).code, TARN_ENOENT);
    p = pending(f);
    assert_int_equal(p.n, 3); /* the new leader's to-do list */
    assert_string_equal(p.names[2], "b");
    assert_int_equal(p.versions[2], 2);
    store_txn *t;
    catalog_version ver;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_version_get(t, "b", 1, 1, &ver), 0);
    assert_int_equal(ver.log_written, 1);
    assert_int_equal(catalog_version_get(t, "b", 1, 2, &ver), 0);
    assert_int_equal(ver.log_written, 0);
    store_read_end(t);
    drop(f, "b"); /* nothing pending for a dropped table */
    p = pending(f);
    assert_int_equal(p.n, 2);
}

static int list_cb(void *ctx, const char *name, size_t len)
{
    tarn_buf *b = ctx;
    tarn_buf_append(b, name, len);
    tarn_buf_append_byte(b, ',');
    return 0;
}

static void test_table_list(void **state)
{
    fx *f = *state;
    const char *names[] = {"orders", "a", "zeta", "ab", "b_2"};
    for (size_t i = 0; i < TARN_ARRAY_LEN(names); i++)
        create(f, names[i]);
    store_txn *t;
    tarn_buf out;
    tarn_buf_init(&out, 4096);
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_table_list(t, NULL, 0, 100, list_cb, &out), 0);
    assert_string_equal(tarn_buf_cstr(&out), "a,ab,b_2,orders,zeta,");
    tarn_buf_reset(&out);
    assert_int_equal(catalog_table_list(t, "ab", 2, 2, list_cb, &out), 0);
    assert_string_equal(tarn_buf_cstr(&out), "b_2,orders,");
    store_read_end(t);
    tarn_buf_free(&out);
}

static void test_limits_and_hostile_bytes(void **state)
{
    fx *f = *state;
    char longname[CATALOG_NAME_MAX_BYTES + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    assert_int_equal(catalog_encode_drop(&f->b, "1abc", 4), TARN_EINVAL);
    assert_int_equal(catalog_encode_drop(&f->b, "a/b", 3), TARN_EINVAL);
    assert_int_equal(catalog_encode_commit(&f->b, longname, strlen(longname), 0, "x", 1, "", 0),
                     TARN_EINVAL);
    assert_int_equal(catalog_encode_commit(&f->b, "t", 1, 0, "", 0, "", 0), TARN_EINVAL);
    char tid[CATALOG_TXN_ID_MAX_BYTES + 1] = {0};
    assert_int_equal(catalog_encode_commit(&f->b, "t", 1, 0, tid, sizeof(tid), "", 0),
                     TARN_ETOOBIG);
    assert_int_equal(f->b.len, 0);
    /* Every truncation of every command kind is an EINVAL result. */
    create(f, "t");
    catalog_create c = {
        .name = B("t2"), .location = B("loc"), .schema = B("{}"), .n_parts = 1, .parts = {B("p")}};
    assert_int_equal(catalog_encode_create(&f->b, &c), 0);
    size_t l1 = f->b.len;
    assert_int_equal(catalog_encode_commit(&f->b, "t", 1, 0, "tx", 2, "{}", 2), 0);
    size_t l2 = f->b.len;
    assert_int_equal(catalog_encode_log_written(&f->b, "t", 1, 0), 0);
    size_t l3 = f->b.len;
    assert_int_equal(catalog_encode_drop(&f->b, "t", 1), 0);
    size_t bounds[5] = {0, l1, l2, l3, f->b.len};
    uint8_t *all = malloc(f->b.len);
    memcpy(all, f->b.data, f->b.len);
    tarn_buf_reset(&f->b);
    uint64_t before = store_applied_index(f->st);
    for (int k = 0; k < 4; k++) {
        size_t full = bounds[k + 1] - bounds[k];
        for (size_t len = 1; len <= full; len++) {
            uint8_t *p = malloc(len + 1);
            memcpy(p, all + bounds[k], len);
            p[len] = 0;
            /* Truncated, and the full command plus one trailing byte. */
            size_t n = len == full ? len + 1 : len;
            assert_int_equal(apply_raw(f, p, n).code, TARN_EINVAL);
            free(p);
        }
    }
    free(all);
    store_txn *t;
    catalog_table tab;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_table_get(t, "t", 1, &tab), 0); /* not dropped */
    assert_int_equal(tab.latest_version, 0);                 /* nothing committed */
    assert_int_equal(catalog_table_get(t, "t2", 2, &tab), TARN_ENOENT);
    store_read_end(t);
    assert_true(store_applied_index(f->st) > before);
}

static void test_random_mutants(void **state)
{
    fx *f = *state;
    uint64_t seed = tarn_test_seed();
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    create(f, "t");
    assert_int_equal(catalog_encode_commit(&f->b, "t", 1, 0, "tx", 2, "{\"a\":1}", 7), 0);
    size_t len = f->b.len;
    uint8_t *orig = malloc(len), *p = malloc(len);
    memcpy(orig, f->b.data, len);
    tarn_buf_reset(&f->b);
    catalog_cmd *cmd = malloc(sizeof(*cmd));
    for (int i = 0; i < 2000; i++) {
        memcpy(p, orig, len);
        p[tarn_rng_below(&rng, len)] ^= (uint8_t)(1u << tarn_rng_below(&rng, 8));
        int drc = catalog_decode(p, len, cmd);
        assert_true(drc == 0 || drc == TARN_EINVAL || drc == TARN_ETOOBIG);
        if (p[0] >= CATALOG_CMD_CREATE && p[0] <= CATALOG_CMD_LOG_WRITTEN) {
            catalog_result r = apply_raw(f, p, len);
            if (drc != 0)
                assert_int_equal(r.code, drc);
        }
    }
    free(cmd);
    free(p);
    free(orig);
    print_message("seed %llu\n", (unsigned long long)seed);
}

static int oom_op(void *p)
{
    fx *f = p;
    store_txn *t;
    catalog_table tab;
    int rc = store_read_begin(f->st, &t, NULL);
    if (rc != 0)
        return rc;
    rc = catalog_table_get(t, "t", 1, &tab);
    uint64_t base = tab.latest_version;
    store_read_end(t);
    if (rc != 0)
        return rc;
    char txn[32];
    snprintf(txn, sizeof(txn), "tx%llu", (unsigned long long)base);
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    rc = catalog_encode_commit(&b, "t", 1, base, txn, strlen(txn), "{}", 2);
    if (rc == 0) {
        store_result res;
        store_entry e = {store_applied_index(f->st) + 1, 1, b.data, b.len};
        rc = store_apply(f->st, &e, 1, &f->reg, &res, NULL);
        if (rc == 0 && res.code != TARN_OK)
            rc = TARN_EINTERNAL;
        store_result_free(&res);
    }
    tarn_buf_free(&b);
    return rc;
}

static catalog_result commit2(fx *f, const char *name, uint64_t base, uint8_t flags,
                              const char *txn, const char *actions)
{
    assert_int_equal(catalog_encode_commit2(&f->b, name, strlen(name), base, flags, txn,
                                            strlen(txn), actions, strlen(actions)),
                     0);
    return apply(f);
}

#define ADD  "{\"add\":{\"path\":\"a.parquet\"}}\n"
#define META "{\"metaData\":{\"id\":\"x\"}}\n"

/* Rule 6: a blind append lands on a stale base unless a metadata or
 * protocol change came after its base. */
static void test_blind_append(void **state)
{
    fx *f = *state;
    create(f, "t");
    catalog_result r = commit2(f, "t", 0, 0, "a", ADD);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 1);
    /* A plain commit on the stale base 0 conflicts; a blind one lands at 2. */
    r = commit2(f, "t", 0, 0, "b", ADD);
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.version, 1);
    r = commit2(f, "t", 0, CATALOG_COMMIT_BLIND_APPEND, "b", ADD);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 2);
    /* Its retry answers the first result, whatever the base. */
    r = commit2(f, "t", 1, CATALOG_COMMIT_BLIND_APPEND, "b", ADD);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.duplicate, 1);
    /* A base from the future is a conflict. */
    r = commit2(f, "t", 9, CATALOG_COMMIT_BLIND_APPEND, "c", ADD);
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.version, 2);
    /* Version 3 changes the metadata: blind appends based before it
     * conflict, those based on it (or later) land. */
    r = commit2(f, "t", 2, CATALOG_COMMIT_METADATA, "m", META);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 3);
    r = commit2(f, "t", 2, CATALOG_COMMIT_BLIND_APPEND, "d", ADD);
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.version, 3);
    r = commit2(f, "t", 3, CATALOG_COMMIT_BLIND_APPEND, "d", ADD);
    assert_int_equal(r.version, 4);
    r = commit2(f, "t", 3, CATALOG_COMMIT_BLIND_APPEND, "e", ADD);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 5);
    store_txn *t;
    uint64_t meta = 0;
    catalog_version v;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_meta_version_get(t, "t", 1, &meta), 0);
    assert_int_equal(meta, 3);
    assert_int_equal(catalog_version_get(t, "t", 1, 2, &v), 0);
    assert_int_equal(v.flags, CATALOG_COMMIT_BLIND_APPEND);
    assert_int_equal(v.log_written, 0);
    assert_int_equal(catalog_version_get(t, "t", 1, 3, &v), 0);
    assert_int_equal(v.flags, CATALOG_COMMIT_METADATA);
    store_read_end(t);
    /* Marking written keeps the flags. */
    assert_int_equal(mark(f, "t", 2).code, TARN_OK);
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_version_get(t, "t", 1, 2, &v), 0);
    assert_int_equal(v.flags, CATALOG_COMMIT_BLIND_APPEND);
    assert_int_equal(v.log_written, 1);
    store_read_end(t);
    /* A drop forgets the metadata version: a new table starts at 0. */
    drop(f, "t");
    create(f, "t");
    commit2(f, "t", 0, 0, "x", ADD);
    r = commit2(f, "t", 0, CATALOG_COMMIT_BLIND_APPEND, "y", ADD);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 2);
    /* Both flags at once, or unknown ones, are refused by the encoder and,
     * as bytes, by the decoder. */
    assert_int_equal(catalog_encode_commit2(&f->b, "t", 1, 0, 3, "z", 1, "", 0), TARN_EINVAL);
    assert_int_equal(catalog_encode_commit2(&f->b, "t", 1, 0, 4, "z", 1, "", 0), TARN_EINVAL);
    assert_int_equal(catalog_encode_commit2(&f->b, "t", 1, 0, 1, "z", 1, "", 0), 0);
    f->b.data[3 + 1 + 8] = 0x03;
    r = apply(f);
    assert_int_equal(r.code, TARN_EINVAL);
}

static void classify(const char *a, int rc, int add_only, int meta)
{
    int ao = -1, md = -1;
    char msg[128] = "";
    assert_int_equal(catalog_actions_classify(a, strlen(a), &ao, &md, msg, sizeof(msg)), rc);
    if (rc == 0) {
        assert_int_equal(ao, add_only);
        assert_int_equal(md, meta);
    } else {
        assert_non_null(strstr(msg, "line"));
    }
}

static void test_actions_classify(void **state)
{
    (void)state;
    classify("", 0, 0, 0);
    classify(ADD, 0, 1, 0);
    classify("{\"commitInfo\":{}}\n" ADD ADD, 0, 1, 0);
    classify("{\"commitInfo\":{}}\r\n" ADD "\n\n", 0, 1, 0);
    classify("{\"commitInfo\":{}}\n", 0, 0, 0);
    classify(ADD "{\"remove\":{\"path\":\"b\"}}\n", 0, 0, 0);
    classify(ADD "{\"txn\":{\"appId\":\"b\",\"version\":1}}", 0, 0, 0);
    classify(ADD META, 0, 0, 1);
    classify("{\"protocol\":{\"minReaderVersion\":1}}", 0, 0, 1);
    classify(ADD "{\"add\":", TARN_EINVAL, 0, 0);
    classify("[1]\n", TARN_EINVAL, 0, 0);
    classify("{\"add\":{},\"remove\":{}}\n", TARN_EINVAL, 0, 0);
    classify("{\"add\":1}\n", TARN_EINVAL, 0, 0);
    classify("{\"add\":{}, \"add\":{}}\n", TARN_EINVAL, 0, 0);
}

/* A create carries the proposer's time; the table record keeps it. A
 * create without it (as every create before the field existed) encodes to
 * the old bytes and reads back as 0, unknown. Bad trailing bytes are
 * refused. */
static void test_created_time(void **state)
{
    fx *f = *state;
    catalog_create c = {.name = B("timed"),
                        .location = B("tables/timed"),
                        .schema = B("{}"),
                        .n_parts = 1,
                        .parts = {B("day")},
                        .created_ms = INT64_C(1795000000123)};
    assert_int_equal(catalog_encode_create(&f->b, &c), 0);
    size_t with_len = f->b.len;
    catalog_cmd cmd;
    assert_int_equal(catalog_decode(f->b.data, f->b.len, &cmd), 0);
    assert_int_equal(cmd.create.created_ms, INT64_C(1795000000123));
    assert_int_equal(apply(f).code, TARN_OK);
    c.name = B("untimed");
    c.location = B("tables/timex"); /* same length as above */
    c.created_ms = 0;
    assert_int_equal(catalog_encode_create(&f->b, &c), 0);
    assert_int_equal(f->b.len + 8, with_len + 2); /* "untimed" is 2 bytes longer */
    assert_int_equal(catalog_decode(f->b.data, f->b.len, &cmd), 0);
    assert_int_equal(cmd.create.created_ms, 0);
    uint8_t old[512];
    size_t old_len = f->b.len;
    memcpy(old, f->b.data, old_len);
    assert_int_equal(apply(f).code, TARN_OK);
    store_txn *t;
    catalog_table tab;
    assert_int_equal(store_read_begin(f->st, &t, NULL), 0);
    assert_int_equal(catalog_table_get(t, "timed", 5, &tab), 0);
    assert_int_equal(tab.created_ms, INT64_C(1795000000123));
    assert_int_equal(tab.n_parts, 1);
    assert_memory_equal(tab.parts[0].p, "day", 3);
    assert_int_equal(catalog_table_get(t, "untimed", 7, &tab), 0);
    assert_int_equal(tab.created_ms, 0);
    assert_int_equal(tab.n_parts, 1);
    store_read_end(t);
    /* Trailing bytes other than one time in 1..INT64_MAX are refused. */
    static const struct {
        size_t len;
        uint8_t fill;
    } bad[] = {{1, 1}, {7, 1}, {8, 0}, {8, 0xff}, {9, 1}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t m[512];
        memcpy(m, old, old_len);
        memset(m + old_len, bad[i].fill, bad[i].len);
        assert_int_equal(catalog_decode(m, old_len + bad[i].len, &cmd), TARN_EINVAL);
    }
    c.created_ms = -1;
    size_t before = f->b.len;
    assert_int_equal(catalog_encode_create(&f->b, &c), TARN_EINVAL);
    assert_int_equal(f->b.len, before);
}

static void test_oom_commit(void **state)
{
    fx *f = *state;
    create(f, "t");
    store_result_free(&f->last);
    assert_true(tarn_test_oom_loop(oom_op, NULL, f, 100) >= 3);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_on_latest_base_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_written_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_hostile_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_mutants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blind_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_created_time, setup, teardown),
        cmocka_unit_test(test_actions_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
