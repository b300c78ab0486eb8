/*
 * catalog/read.c: catalog reads in a store read transaction: a table's
 * record, a version's actions and flags, the table list, and the versions
 * whose Delta log file is not yet written. Layouts: apply.c.
 */
#include "catalog/catalog_int.h"

#include <string.h>

int catalog_table_get(store_txn *txn, const char *name, size_t name_len, catalog_table *out)
{
    if (!catalog_name_ok((const uint8_t *)name, name_len))
        return TARN_EINVAL;
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, CATALOG_TABLE_TABLES, name, name_len, &v, &vl);
    return rc != 0 ? rc : catalog_table_parse(v, vl, out);
}

int catalog_version_get(store_txn *txn, const char *name, size_t name_len, uint64_t version,
                        catalog_version *out)
{
    if (!catalog_name_ok((const uint8_t *)name, name_len))
        return TARN_EINVAL;
    uint8_t kb[1 + CATALOG_NAME_MAX_BYTES + 8], vb[8];
    catalog_be64_put(vb, version);
    size_t kl = catalog_key(kb, (const uint8_t *)name, name_len, vb, 8);
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, CATALOG_TABLE_VERSIONS, kb, kl, &v, &vl);
    return rc != 0 ? rc : catalog_version_parse(v, vl, out);
}

int catalog_meta_version_get(store_txn *txn, const char *name, size_t name_len, uint64_t *out)
{
    if (!catalog_name_ok((const uint8_t *)name, name_len))
        return TARN_EINVAL;
    uint8_t kb[1 + CATALOG_NAME_MAX_BYTES];
    size_t kl = catalog_key(kb, (const uint8_t *)name, name_len, NULL, 0);
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, CATALOG_TABLE_META_VERSION, kb, kl, &v, &vl);
    *out = 0;
    if (rc == TARN_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (vl != 8)
        return TARN_ECORRUPT;
    *out = catalog_le(v, 8);
    return 0;
}

int catalog_table_list(store_txn *txn, const char *after, size_t after_len, size_t limit,
                       catalog_name_fn fn, void *ctx)
{
    if (after_len > CATALOG_NAME_MAX_BYTES)
        return TARN_EINVAL;
    store_cursor *c;
    int rc = store_cursor_open(txn, CATALOG_TABLE_TABLES, &c);
    if (rc != 0)
        return rc;
    const void *k, *v;
    size_t kl, vl, n = 0;
    rc = store_cursor_seek(c, after, after ? after_len : 0, &k, &kl, &v, &vl);
    /* Seek lands on `after` itself when it exists: skip it. */
    if (rc == 0 && after && kl == after_len && memcmp(k, after, kl) == 0)
        rc = store_cursor_next(c, &k, &kl, &v, &vl);
    while (rc == 0 && n < limit) {
        n++;
        if (fn(ctx, k, kl) != 0)
            break;
        rc = store_cursor_next(c, &k, &kl, &v, &vl);
    }
    store_cursor_close(c);
    return rc == TARN_ENOENT ? 0 : rc;
}

int catalog_pending_logs(store_txn *txn, catalog_pending_fn fn, void *ctx)
{
    store_cursor *c;
    int rc = store_cursor_open(txn, CATALOG_TABLE_PENDING, &c);
    if (rc != 0)
        return rc;
    const void *k, *v;
    size_t kl, vl;
    rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
    while (rc == 0) {
        const uint8_t *p = k;
        if (kl < 10 || (size_t)p[0] + 9 != kl) {
            rc = TARN_ECORRUPT;
            break;
        }
        if (fn(ctx, (const char *)p + 1, p[0], catalog_be64(p + 1 + p[0])) != 0)
            break;
        rc = store_cursor_next(c, &k, &kl, &v, &vl);
    }
    store_cursor_close(c);
    return rc == TARN_ENOENT ? 0 : rc;
}
