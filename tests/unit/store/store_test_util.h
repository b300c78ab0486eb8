/* tests/unit/store/store_test_util.h: a counter state machine for the
 * store tests. Command 0xF1 [key_len u8][key][delta u64 LE] adds delta to
 * the u64 counter at key (table 0x70) and records the entry's index at
 * "e/<index>" in table 0x71, so a test can tell exactly which entries are
 * in the state. 0xF2 writes then reports a conflict (must roll back);
 * 0xF3 fails with the code in its second byte (negative). */
#ifndef STORE_TEST_UTIL_H
#define STORE_TEST_UTIL_H

#include "common/test_util.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_CMD_ADD      0xF1
#define ST_CMD_CONFLICT 0xF2
#define ST_CMD_FAIL     0xF3
#define ST_TABLE_CTR    0x70
#define ST_TABLE_SEEN   0x71

static inline uint64_t st_get_u64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int st_add(void *ctx, store_txn *txn, const store_entry *e, store_result *res)
{
    (void)ctx;
    if (e->len < 2 || e->len != 2u + e->data[1] + 8u) {
        res->code = TARN_EINVAL;
        return 0;
    }
    const uint8_t *key = e->data + 2;
    size_t klen = e->data[1];
    uint64_t delta = st_get_u64(key + klen), cur = 0;
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, ST_TABLE_CTR, key, klen, &v, &vl);
    if (rc == 0)
        cur = st_get_u64(v);
    else if (rc != TARN_ENOENT)
        return rc;
    cur += delta;
    if ((rc = store_txn_put(txn, ST_TABLE_CTR, key, klen, &cur, 8)) != 0)
        return rc;
    char seen[32];
    int n = snprintf(seen, sizeof(seen), "e/%020llu", (unsigned long long)store_txn_index(txn));
    if ((rc = store_txn_put(txn, ST_TABLE_SEEN, seen, (size_t)n, "", 0)) != 0)
        return rc;
    res->data = tarn_malloc(8);
    if (res->data == NULL)
        return TARN_ENOMEM;
    memcpy(res->data, &cur, 8);
    res->len = 8;
    return 0;
}

static int st_conflict(void *ctx, store_txn *txn, const store_entry *e, store_result *res)
{
    (void)ctx;
    (void)e;
    int rc = store_txn_put(txn, ST_TABLE_CTR, "partial", 7, "x", 1);
    if (rc != 0)
        return rc;
    res->code = TARN_ECONFLICT;
    return 0;
}

static int st_fail(void *ctx, store_txn *txn, const store_entry *e, store_result *res)
{
    (void)ctx;
    (void)res;
    (void)store_txn_put(txn, ST_TABLE_CTR, "partial", 7, "x", 1); /* must vanish */
    return e->len >= 2 ? -(int)e->data[1] : TARN_EIO;
}

static inline void st_registry(store_registry *reg)
{
    memset(reg, 0, sizeof(*reg));
    assert_int_equal(store_registry_set(reg, ST_CMD_ADD, st_add, NULL), 0);
    assert_int_equal(store_registry_set(reg, ST_CMD_CONFLICT, st_conflict, NULL), 0);
    assert_int_equal(store_registry_set(reg, ST_CMD_FAIL, st_fail, NULL), 0);
}

/* Encodes an ADD command for key "k" (delta) into buf (>= 12 bytes). */
static inline size_t st_enc_add(uint8_t *buf, const char *key, uint64_t delta)
{
    size_t klen = strlen(key);
    buf[0] = ST_CMD_ADD;
    buf[1] = (uint8_t)klen;
    memcpy(buf + 2, key, klen);
    memcpy(buf + 2 + klen, &delta, 8);
    return 2 + klen + 8;
}

/* Reads counter key in a fresh read transaction (0 when absent). */
static inline uint64_t st_counter(store *st, const char *key)
{
    store_txn *t;
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(store_read_begin(st, &t, &err), 0);
    const void *v;
    size_t vl;
    uint64_t out = 0;
    int rc = store_txn_get(t, ST_TABLE_CTR, key, strlen(key), &v, &vl);
    if (rc == 0) {
        assert_int_equal(vl, 8);
        out = st_get_u64(v);
    } else {
        assert_int_equal(rc, TARN_ENOENT);
    }
    store_read_end(t);
    return out;
}

/* Counts keys in a table. */
static inline size_t st_table_count(store *st, uint8_t table)
{
    store_txn *t;
    store_cursor *c;
    assert_int_equal(store_read_begin(st, &t, NULL), 0);
    assert_int_equal(store_cursor_open(t, table, &c), 0);
    const void *k, *v;
    size_t kl, vl, n = 0;
    int rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
    while (rc == 0) {
        n++;
        rc = store_cursor_next(c, &k, &kl, &v, &vl);
    }
    assert_int_equal(rc, TARN_ENOENT);
    store_cursor_close(c);
    store_read_end(t);
    return n;
}

#endif
