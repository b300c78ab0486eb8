/* Tests of kv/ through store/: every command kind, version and mod_index
 * rules, CAS by version and by value (a failed compare carries the current
 * version and value), multi-operation transactions all or nothing, range
 * scans paginated with tokens, size limits on encode and on apply, and
 * out-of-memory over apply and reads. */
#include "kv_test_util.h"

#include "base/rand.h"

static int setup(void **state)
{
    kvt *t = calloc(1, sizeof(*t));
    kvt_open(t);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    kvt_close(*state);
    free(*state);
    return 0;
}

static void test_put_get_versions(void **state)
{
    kvt *t = *state;
    kv_item it;
    char val[64];
    kv_result r = kvt_put(t, "a", "one", NULL);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.mod_index, 1);
    kvt_put(t, "b", "x", NULL);
    r = kvt_put(t, "a", "two", NULL);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.mod_index, 3);
    assert_int_equal(kvt_get(t, "a", &it, val, sizeof(val)), 0);
    assert_string_equal(val, "two");
    assert_int_equal(it.version, 2);
    assert_int_equal(it.mod_index, 3);
    assert_int_equal(it.create_index, 1);
    r = kvt_put(t, "a", "", NULL); /* empty values are values */
    assert_int_equal(kvt_get(t, "a", &it, val, sizeof(val)), 0);
    assert_string_equal(val, "");
    assert_int_equal(it.version, 3);
    r = kvt_del(t, "a", NULL);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.mod_index, 5);
    assert_int_equal(kvt_get(t, "a", &it, NULL, 0), TARN_ENOENT);
    r = kvt_del(t, "a", NULL);
    assert_int_equal(r.code, TARN_ENOENT);
    /* Re-created: version starts again, create_index moves. */
    r = kvt_put(t, "a", "three", NULL);
    assert_int_equal(r.version, 1);
    assert_int_equal(kvt_get(t, "a", &it, val, sizeof(val)), 0);
    assert_int_equal(it.create_index, 7);
    assert_int_equal(kvt_get(t, "b", &it, val, sizeof(val)), 0);
    assert_int_equal(it.version, 1);
    assert_int_equal(it.mod_index, 2);
}

static void test_cas_by_version(void **state)
{
    kvt *t = *state;
    kv_compare create_only = {.kind = KV_CMP_VERSION, .key = (const uint8_t *)"k", .key_len = 1};
    assert_int_equal(kvt_put(t, "k", "v1", &create_only).code, TARN_OK);
    kv_result r = kvt_put(t, "k", "again", &create_only);
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.mod_index, 1);
    assert_int_equal(r.value_len, 2);
    assert_memory_equal(r.value, "v1", 2);
    kv_compare at = create_only;
    at.version = 1;
    r = kvt_put(t, "k", "v2", &at);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 2);
    r = kvt_put(t, "k", "v3", &at); /* stale: a lost update is refused */
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.mod_index, 3); /* entry 2 was the refused create */
    kv_item it;
    char val[16];
    assert_int_equal(kvt_get(t, "k", &it, val, sizeof(val)), 0);
    assert_string_equal(val, "v2");
    at.version = 1;
    assert_int_equal(kvt_del(t, "k", &at).code, TARN_ECONFLICT);
    at.version = 2;
    assert_int_equal(kvt_del(t, "k", &at).code, TARN_OK);
    r = kvt_put(t, "k", "x", &at); /* absent now: version 0 */
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.version, 0);
    assert_int_equal(r.value_len, 0);
}

static void test_cas_by_value(void **state)
{
    kvt *t = *state;
    kv_compare want = {.kind = KV_CMP_VALUE,
                       .key = (const uint8_t *)"c",
                       .key_len = 1,
                       .value = (const uint8_t *)"10",
                       .value_len = 2};
    kv_result r = kvt_put(t, "c", "11", &want);
    assert_int_equal(r.code, TARN_ECONFLICT); /* absent never equals a value */
    kvt_put(t, "c", "10", NULL);
    r = kvt_put(t, "c", "11", &want);
    assert_int_equal(r.code, TARN_OK);
    assert_int_equal(r.version, 2);
    r = kvt_put(t, "c", "12", &want);
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.value_len, 2);
    assert_memory_equal(r.value, "11", 2);
    /* A compare on another key is not a CAS: refused when encoding. */
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    want.key = (const uint8_t *)"d";
    assert_int_equal(kv_encode_put(&b, "c", 1, "1", 1, &want), TARN_EINVAL);
    assert_int_equal(b.len, 0);
    tarn_buf_free(&b);
}

static void test_txn_all_or_nothing(void **state)
{
    kvt *t = *state;
    kvt_put(t, "acct/a", "100", NULL);
    kvt_put(t, "acct/b", "5", NULL);
    kv_compare cmps[2] = {
        {.kind = KV_CMP_VERSION, .key = (const uint8_t *)"acct/a", .key_len = 6, .version = 1},
        {.kind = KV_CMP_VALUE,
         .key = (const uint8_t *)"acct/b",
         .key_len = 6,
         .value = (const uint8_t *)"5",
         .value_len = 1}};
    kv_op ops[3] = {{KV_OP_PUT, (const uint8_t *)"acct/a", 6, (const uint8_t *)"90", 2},
                    {KV_OP_PUT, (const uint8_t *)"acct/b", 6, (const uint8_t *)"15", 2},
                    {KV_OP_DELETE, (const uint8_t *)"gone", 4, NULL, 0}};
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    /* Second compare fails: nothing of the ops happens. */
    cmps[1].value = (const uint8_t *)"6";
    assert_int_equal(kv_encode_txn(&b, cmps, 2, ops, 3), 0);
    kv_result r = kvt_apply(t, &b);
    assert_int_equal(r.code, TARN_ECONFLICT);
    assert_int_equal(r.failed_compare, 1);
    assert_int_equal(r.version, 1);
    kv_item it;
    char val[16];
    assert_int_equal(kvt_get(t, "acct/a", &it, val, sizeof(val)), 0);
    assert_string_equal(val, "100");
    assert_int_equal(it.version, 1);
    /* Both compares hold: every op in one entry. */
    cmps[1].value = (const uint8_t *)"5";
    assert_int_equal(kv_encode_txn(&b, cmps, 2, ops, 3), 0);
    r = kvt_apply(t, &b);
    assert_int_equal(r.code, TARN_OK);
    uint64_t idx = r.mod_index;
    assert_int_equal(kvt_get(t, "acct/a", &it, val, sizeof(val)), 0);
    assert_string_equal(val, "90");
    assert_int_equal(it.version, 2);
    assert_int_equal(it.mod_index, idx);
    assert_int_equal(kvt_get(t, "acct/b", &it, val, sizeof(val)), 0);
    assert_string_equal(val, "15");
    assert_int_equal(it.mod_index, idx);
    /* Ops apply in order: put then delete of one key leaves it absent. */
    kv_op seq[2] = {{KV_OP_PUT, (const uint8_t *)"tmp", 3, (const uint8_t *)"x", 1},
                    {KV_OP_DELETE, (const uint8_t *)"tmp", 3, NULL, 0}};
    assert_int_equal(kv_encode_txn(&b, NULL, 0, seq, 2), 0);
    assert_int_equal(kvt_apply(t, &b).code, TARN_OK);
    assert_int_equal(kvt_get(t, "tmp", &it, NULL, 0), TARN_ENOENT);
    tarn_buf_free(&b);
}

static void test_limits_on_encode(void **state)
{
    (void)state;
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    static uint8_t big[KV_VALUE_MAX_BYTES + 1];
    assert_int_equal(kv_encode_put(&b, big, KV_KEY_MAX_BYTES + 1, "v", 1, NULL), TARN_ETOOBIG);
    assert_int_equal(kv_encode_put(&b, big, 0, "v", 1, NULL), TARN_EINVAL);
    assert_int_equal(kv_encode_put(&b, "k", 1, big, sizeof(big), NULL), TARN_ETOOBIG);
    assert_int_equal(kv_encode_put(&b, big, KV_KEY_MAX_BYTES, big, KV_VALUE_MAX_BYTES, NULL), 0);
    tarn_buf_reset(&b);
    kv_op ops[KV_TXN_OPS_MAX + 1];
    for (size_t i = 0; i < TARN_ARRAY_LEN(ops); i++)
        ops[i] = (kv_op){KV_OP_DELETE, (const uint8_t *)"k", 1, NULL, 0};
    assert_int_equal(kv_encode_txn(&b, NULL, 0, ops, KV_TXN_OPS_MAX + 1), TARN_ETOOBIG);
    assert_int_equal(kv_encode_txn(&b, NULL, 0, ops, KV_TXN_OPS_MAX), 0);
    tarn_buf_reset(&b);
    /* 5 puts of 1 MiB exceed the 4 MiB command limit. */
    for (int i = 0; i < 5; i++)
        ops[i] = (kv_op){KV_OP_PUT, (const uint8_t *)"k", 1, big, KV_VALUE_MAX_BYTES};
    assert_int_equal(kv_encode_txn(&b, NULL, 0, ops, 5), TARN_ETOOBIG);
    assert_int_equal(b.len, 0);
    tarn_buf_free(&b);
}

static void test_limits_on_apply(void **state)
{
    kvt *t = *state;
    /* A put with a 501-byte key, built by hand (the encoder refuses). */
    size_t klen = KV_KEY_MAX_BYTES + 1, n = 6 + 3 + klen + 4 + 1;
    uint8_t *cmd = calloc(1, n);
    cmd[0] = KV_CMD_PUT;
    cmd[1] = KV_FORMAT_VERSION;
    cmd[4] = 1; /* n_ops */
    cmd[6] = KV_OP_PUT;
    cmd[7] = (uint8_t)(klen & 0xff);
    cmd[8] = (uint8_t)(klen >> 8);
    memset(cmd + 9, 'k', klen);
    cmd[9 + klen] = 1; /* value_len */
    cmd[9 + klen + 4] = 'v';
    assert_int_equal(kvt_apply_raw(t, cmd, n).code, TARN_ETOOBIG);
    free(cmd);
    /* 129 delete ops: too many. */
    uint8_t hdr[6] = {KV_CMD_TXN, KV_FORMAT_VERSION, 0, 0, KV_TXN_OPS_MAX + 1, 0};
    assert_int_equal(kvt_apply_raw(t, hdr, sizeof(hdr)).code, TARN_ETOOBIG);
    assert_int_equal(store_applied_index(t->st), 2); /* results, not aborts */
}

/* ---- range scans ---- */

static int cmp_keys(const void *a, const void *b)
{
    return memcmp(a, b, 12);
}

static void scan_all(kvt *t, const kv_scan_opts *base, tarn_rng *rng, uint8_t (*out)[12], size_t *n)
{
    kv_scan_opts o = *base;
    char token[KV_TOKEN_MAX_BYTES] = "";
    *n = 0;
    for (int pages = 0; pages < 10000; pages++) {
        store_txn *rt;
        kv_scan_page page;
        assert_int_equal(store_read_begin(t->st, &rt, NULL), 0);
        o.limit = 1 + (size_t)tarn_rng_below(rng, 300);
        o.token = token[0] ? token : NULL;
        tarn_err err = TARN_ERR_INIT;
        if (kv_scan(rt, &o, &page, &err) != 0)
            fail_msg("scan: %s", tarn_err_msg(&err));
        assert_true(page.count <= o.limit);
        for (size_t i = 0; i < page.count; i++) {
            assert_int_equal(page.items[i].key_len, 12);
            memcpy(out[(*n)++], page.items[i].key, 12);
            assert_int_equal(page.items[i].version, 1);
        }
        memcpy(token, page.next_token, sizeof(token));
        kv_scan_page_free(&page);
        store_read_end(rt);
        if (token[0] == 0)
            return;
    }
    fail_msg("scan did not finish");
}

static void test_scan_pagination(void **state)
{
    kvt *t = *state;
    uint64_t seed = tarn_test_seed();
    tarn_rng rng;
    tarn_rng_seed(&rng, seed);
    enum { N = 2500 };
    static uint8_t keys[N][12], got[N + 1][12];
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    size_t per = 50;
    for (size_t i = 0; i < N; i++) {
        for (int j = 0; j < 12; j++) /* random bytes, 0x00 and 0xff included */
            keys[i][j] = (uint8_t)tarn_rng_next(&rng);
    }
    for (size_t i = 0; i < N; i += per) {
        kv_op ops[50];
        for (size_t j = 0; j < per; j++)
            ops[j] = (kv_op){KV_OP_PUT, keys[i + j], 12, (const uint8_t *)"v", 1};
        assert_int_equal(kv_encode_txn(&b, NULL, 0, ops, per), 0);
        assert_int_equal(kvt_apply(t, &b).code, TARN_OK);
    }
    tarn_buf_free(&b);
    qsort(keys, N, 12, cmp_keys);
    size_t n;
    scan_all(t, &(kv_scan_opts){0}, &rng, got, &n);
    assert_int_equal(n, N); /* no gaps, no duplicates, in order */
    assert_memory_equal(got, keys, sizeof(keys));
    /* A sub-range [keys[100], keys[2000]). */
    kv_scan_opts o = {.start = keys[100], .start_len = 12, .end = keys[2000], .end_len = 12};
    scan_all(t, &o, &rng, got, &n);
    assert_int_equal(n, 1900);
    assert_memory_equal(got, keys[100], 1900 * 12);
    print_message("seed %llu\n", (unsigned long long)seed);
}

static void test_scan_bad_tokens(void **state)
{
    kvt *t = *state;
    kvt_put(t, "a", "1", NULL);
    kvt_put(t, "m", "2", NULL);
    kvt_put(t, "z", "3", NULL);
    store_txn *rt;
    kv_scan_page page;
    assert_int_equal(store_read_begin(t->st, &rt, NULL), 0);
    const char *bad[] = {"6", "zz", "6G", "00ff00ff", "7a7a", "", NULL};
    kv_scan_opts o = {.start = "b", .start_len = 1, .end = "y", .end_len = 1, .limit = 1};
    for (int i = 0; bad[i] != NULL; i++) {
        o.token = bad[i];
        int rc = kv_scan(rt, &o, &page, NULL);
        if (bad[i][0] == 0) {
            assert_int_equal(rc, 0); /* empty token: first page */
            assert_int_equal(page.count, 1);
            assert_memory_equal(page.items[0].key, "m", 1);
            assert_string_equal(page.next_token, "");
        } else {
            assert_int_equal(rc, TARN_EINVAL);
        }
        kv_scan_page_free(&page);
    }
    o.token = NULL;
    o.limit = KV_SCAN_LIMIT_MAX + 1;
    assert_int_equal(kv_scan(rt, &o, &page, NULL), TARN_EINVAL);
    kv_scan_page_free(&page);
    store_read_end(rt);
}

/* ---- out of memory ---- */

static int oom_op(void *p)
{
    kvt *t = p;
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    kv_compare c = {.kind = KV_CMP_VERSION, .key = (const uint8_t *)"k", .key_len = 1};
    kv_item it;
    store_txn *rt = NULL;
    int rc;
    if ((rc = store_read_begin(t->st, &rt, NULL)) != 0)
        goto done;
    rc = kv_get(rt, "k", 1, &it);
    c.version = rc == 0 ? it.version : 0;
    store_read_end(rt);
    if (rc != 0 && rc != TARN_ENOENT)
        goto done;
    if ((rc = kv_encode_put(&b, "k", 1, "value", 5, &c)) != 0)
        goto done;
    store_result res;
    store_entry e = {store_applied_index(t->st) + 1, 1, b.data, b.len};
    rc = store_apply(t->st, &e, 1, &t->reg, &res, NULL);
    if (rc == 0 && res.code != TARN_OK)
        rc = TARN_EINTERNAL;
    store_result_free(&res);
    if (rc != 0)
        goto done;
    kv_scan_page page;
    if ((rc = store_read_begin(t->st, &rt, NULL)) != 0)
        goto done;
    rc = kv_scan(rt, &(kv_scan_opts){.limit = 10}, &page, NULL);
    kv_scan_page_free(&page);
    store_read_end(rt);
done:
    tarn_buf_free(&b);
    return rc;
}

static void test_oom_apply_and_reads(void **state)
{
    kvt *t = *state;
    assert_true(tarn_test_oom_loop(oom_op, NULL, t, 100) >= 4);
}

int main(int argc, char **argv)
{
    tarn_test_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cas_by_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cas_by_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_on_encode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_on_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_bad_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_apply_and_reads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
