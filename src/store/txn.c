/*
 * store/txn.c: reads and writes inside a transaction, and cursors. Every
 * key is stored as [table byte][key bytes] in one LMDB database
 * (store.h: "Key space").
 */
#include "store/store_int.h"

#include "base/alloc.h"

#include <string.h>

struct store_cursor {
    MDB_cursor *cur;
    uint8_t table;
};

uint64_t store_txn_index(const store_txn *txn)
{
    return txn->index;
}

uint64_t store_txn_term(const store_txn *txn)
{
    return txn->term;
}

int store_txn_applied(store_txn *txn, uint64_t *index, uint64_t *term)
{
    return store_meta_read_applied(txn->txn, txn->dbi, index, term);
}

/* Builds the stored key in kb (STORE_KEY_MAX_BYTES + 1 bytes). */
static int make_key(uint8_t *kb, uint8_t table, const void *key, size_t klen, MDB_val *out)
{
    if (klen == 0 || klen > STORE_KEY_MAX_BYTES || key == NULL)
        return TARN_EINVAL;
    kb[0] = table;
    memcpy(kb + 1, key, klen);
    out->mv_data = kb;
    out->mv_size = klen + 1;
    return 0;
}

int store_txn_get(store_txn *txn, uint8_t table, const void *key, size_t klen, const void **val,
                  size_t *vlen)
{
    uint8_t kb[STORE_KEY_MAX_BYTES + 1];
    MDB_val k, v;
    int rc = make_key(kb, table, key, klen, &k);
    if (rc != 0)
        return rc;
    rc = mdb_get(txn->txn, txn->dbi, &k, &v);
    if (rc != 0)
        return store_mdb_code(rc);
    *val = v.mv_data;
    *vlen = v.mv_size;
    return 0;
}

int store_txn_put(store_txn *txn, uint8_t table, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    if (txn->rdonly || vlen > STORE_VALUE_MAX_BYTES || (vlen > 0 && val == NULL))
        return TARN_EINVAL;
    uint8_t kb[STORE_KEY_MAX_BYTES + 1];
    MDB_val k, v = {vlen, (void *)val};
    int rc = make_key(kb, table, key, klen, &k);
    if (rc != 0)
        return rc;
    return store_mdb_code(mdb_put(txn->txn, txn->dbi, &k, &v, 0));
}

int store_txn_del(store_txn *txn, uint8_t table, const void *key, size_t klen)
{
    if (txn->rdonly)
        return TARN_EINVAL;
    uint8_t kb[STORE_KEY_MAX_BYTES + 1];
    MDB_val k;
    int rc = make_key(kb, table, key, klen, &k);
    if (rc != 0)
        return rc;
    return store_mdb_code(mdb_del(txn->txn, txn->dbi, &k, NULL));
}

int store_cursor_open(store_txn *txn, uint8_t table, store_cursor **out)
{
    *out = NULL;
    store_cursor *c = tarn_calloc(1, sizeof(*c));
    if (c == NULL)
        return TARN_ENOMEM;
    int rc = mdb_cursor_open(txn->txn, txn->dbi, &c->cur);
    if (rc != 0) {
        tarn_free(c);
        return store_mdb_code(rc);
    }
    c->table = table;
    *out = c;
    return 0;
}

void store_cursor_close(store_cursor *c)
{
    if (c == NULL)
        return;
    mdb_cursor_close(c->cur);
    tarn_free(c);
}

/* Hands out the current LMDB position, or TARN_ENOENT past the table. */
static int cursor_out(store_cursor *c, int rc, MDB_val *mk, MDB_val *mv, const void **k, size_t *kl,
                      const void **v, size_t *vl)
{
    if (rc != 0)
        return store_mdb_code(rc);
    const uint8_t *p = mk->mv_data;
    if (mk->mv_size < 2 || p[0] != c->table)
        return TARN_ENOENT;
    *k = p + 1;
    *kl = mk->mv_size - 1;
    *v = mv->mv_data;
    *vl = mv->mv_size;
    return 0;
}

int store_cursor_seek(store_cursor *c, const void *key, size_t klen, const void **k, size_t *kl,
                      const void **v, size_t *vl)
{
    uint8_t kb[STORE_KEY_MAX_BYTES + 1];
    if (klen > STORE_KEY_MAX_BYTES || (klen > 0 && key == NULL))
        return TARN_EINVAL;
    kb[0] = c->table;
    if (klen > 0)
        memcpy(kb + 1, key, klen);
    MDB_val mk = {klen + 1, kb}, mv;
    int rc = mdb_cursor_get(c->cur, &mk, &mv, MDB_SET_RANGE);
    return cursor_out(c, rc, &mk, &mv, k, kl, v, vl);
}

int store_cursor_next(store_cursor *c, const void **k, size_t *kl, const void **v, size_t *vl)
{
    MDB_val mk, mv;
    int rc = mdb_cursor_get(c->cur, &mk, &mv, MDB_NEXT);
    return cursor_out(c, rc, &mk, &mv, k, kl, v, vl);
}
