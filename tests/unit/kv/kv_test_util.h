/* tests/unit/kv/kv_test_util.h: a store with the kv handlers and a way to
 * apply one encoded command at the next index. */
#ifndef KV_TEST_UTIL_H
#define KV_TEST_UTIL_H

#include "common/test_util.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "kv/kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kvt {
    char *dir;
    store *st;
    store_registry reg;
    store_result last; /* result of the last kvt_apply; freed on the next */
} kvt;

static inline void kvt_open(kvt *t)
{
    memset(t, 0, sizeof(*t));
    t->dir = tarn_test_mkdtemp("kv");
    assert_int_equal(kv_register(&t->reg), 0);
    store_opts o = {.map_size_bytes = 256u << 20, .durability = STORE_DURABLE_NONE};
    tarn_err err = TARN_ERR_INIT;
    if (store_open(t->dir, &o, &t->st, &err) != 0)
        fail_msg("store_open: %s", tarn_err_msg(&err));
}

static inline void kvt_close(kvt *t)
{
    store_result_free(&t->last);
    store_close(t->st);
    tarn_test_rmdir(t->dir);
}

/* Applies raw command bytes at the next index; returns the decoded result
 * (borrowing t->last). */
static inline kv_result kvt_apply_raw(kvt *t, const uint8_t *data, size_t len)
{
    store_result_free(&t->last);
    store_entry e = {store_applied_index(t->st) + 1, 1, data, len};
    tarn_err err = TARN_ERR_INIT;
    if (store_apply(t->st, &e, 1, &t->reg, &t->last, &err) != 0)
        fail_msg("store_apply: %s", tarn_err_msg(&err));
    kv_result r;
    int rc = kv_result_decode(&t->last, &r);
    if (rc != 0 && t->last.code != TARN_ENOTSUP)
        fail_msg("result payload malformed (code %d)", t->last.code);
    r.code = t->last.code;
    return r;
}

static inline kv_result kvt_apply(kvt *t, tarn_buf *cmd)
{
    kv_result r = kvt_apply_raw(t, cmd->data, cmd->len);
    tarn_buf_reset(cmd);
    return r;
}

static inline kv_result kvt_put(kvt *t, const char *k, const char *v, const kv_compare *expect)
{
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    assert_int_equal(kv_encode_put(&b, k, strlen(k), v, strlen(v), expect), 0);
    kv_result r = kvt_apply(t, &b);
    tarn_buf_free(&b);
    return r;
}

static inline kv_result kvt_del(kvt *t, const char *k, const kv_compare *expect)
{
    tarn_buf b;
    tarn_buf_init(&b, TARN_BUF_UNBOUNDED);
    assert_int_equal(kv_encode_delete(&b, k, strlen(k), expect), 0);
    kv_result r = kvt_apply(t, &b);
    tarn_buf_free(&b);
    return r;
}

/* get: returns the code; fills version/mod_index and copies the value. */
static inline int kvt_get(kvt *t, const char *k, kv_item *it, char *val, size_t cap)
{
    store_txn *rt;
    assert_int_equal(store_read_begin(t->st, &rt, NULL), 0);
    int rc = kv_get(rt, k, strlen(k), it);
    if (rc == 0 && val != NULL) {
        assert_true(it->value_len < cap);
        memcpy(val, it->value, it->value_len);
        val[it->value_len] = 0;
    }
    it->key = NULL;
    it->value = NULL; /* borrowed pointers die with the transaction */
    store_read_end(rt);
    return rc;
}

#endif
