/*
 * kv/apply.c: the kv handlers store/ calls for committed entries, and the
 * result payload they answer with. Design note: src/kv/README.md.
 *
 * Stored record (table KV_TABLE_DATA, key = the user key):
 *
 *   | offset | size | meaning        |
 *   |--------|------|----------------|
 *   | 0      | 8    | version        |
 *   | 8      | 8    | mod_index      |
 *   | 16     | 8    | create_index   |
 *   | 24     | ...  | value          |
 *
 * Result payload (store_result.data; code in store_result.code):
 *
 *   | offset | size | meaning                                   |
 *   |--------|------|-------------------------------------------|
 *   | 0      | 8    | version (TSO reserve: the window, ms)      |
 *   | 8      | 8    | mod_index                                 |
 *   | 16     | 4    | failed compare position (ECONFLICT)       |
 *   | 20     | 4    | value length                              |
 *   | 24     | ...  | the current value (ECONFLICT)             |
 */
#include "kv/kv_int.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <string.h>

int kv_record_parse(const void *rec, size_t len, kv_item *out)
{
    if (len < KV_RECORD_HEADER)
        return TARN_ECORRUPT;
    const uint8_t *p = rec;
    out->version = kv_le64(p);
    out->mod_index = kv_le64(p + 8);
    out->create_index = kv_le64(p + 16);
    out->value = p + KV_RECORD_HEADER;
    out->value_len = len - KV_RECORD_HEADER;
    return out->version == 0 ? TARN_ECORRUPT : 0;
}

/* Fills res with code and a payload (copying value). */
static int result_set(store_result *res, int code, uint64_t version, uint64_t mod_index,
                      uint32_t failed, const uint8_t *value, size_t vlen)
{
    uint8_t *p = tarn_malloc(KV_RESULT_HEADER + vlen);
    if (p == NULL)
        return TARN_ENOMEM;
    kv_le64_put(p, version);
    kv_le64_put(p + 8, mod_index);
    kv_le32_put(p + 16, failed);
    kv_le32_put(p + 20, (uint32_t)vlen);
    if (vlen > 0)
        memcpy(p + KV_RESULT_HEADER, value, vlen);
    res->code = code;
    res->data = p;
    res->len = KV_RESULT_HEADER + vlen;
    return 0;
}

int kv_result_decode(const store_result *r, kv_result *out)
{
    memset(out, 0, sizeof(*out));
    out->code = r->code;
    if (r->data == NULL)
        return r->code == TARN_OK ? TARN_EINVAL : 0; /* failures may carry nothing */
    if (r->len < KV_RESULT_HEADER)
        return TARN_EINVAL;
    out->version = kv_le64(r->data);
    out->mod_index = kv_le64(r->data + 8);
    out->failed_compare = kv_le32(r->data + 16);
    out->value_len = kv_le32(r->data + 20);
    if (out->value_len != r->len - KV_RESULT_HEADER)
        return TARN_EINVAL;
    out->value = r->data + KV_RESULT_HEADER;
    return 0;
}

/* Reads a key's record: 0 with *found = 0 when absent. */
static int record_get(store_txn *txn, const uint8_t *key, size_t klen, kv_item *it, int *found)
{
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, KV_TABLE_DATA, key, klen, &v, &vl);
    *found = rc == 0;
    if (rc == TARN_ENOENT) {
        memset(it, 0, sizeof(*it));
        return 0;
    }
    return rc != 0 ? rc : kv_record_parse(v, vl, it);
}

/* Evaluates every compare; the first that fails becomes the result. */
static int apply_compares(store_txn *txn, const kv_cmd *cmd, store_result *res, int *failed)
{
    *failed = 0;
    for (size_t i = 0; i < cmd->n_cmps; i++) {
        const kv_compare *c = &cmd->cmps[i];
        kv_item it;
        int found, rc = record_get(txn, c->key, c->key_len, &it, &found);
        if (rc != 0)
            return rc;
        int ok = c->kind == KV_CMP_VERSION
                     ? it.version == c->version
                     : found && it.value_len == c->value_len &&
                           (c->value_len == 0 || memcmp(it.value, c->value, c->value_len) == 0);
        if (!ok) {
            *failed = 1;
            return result_set(res, TARN_ECONFLICT, it.version, it.mod_index, (uint32_t)i, it.value,
                              it.value_len);
        }
    }
    return 0;
}

static int apply_put(store_txn *txn, const kv_op *op, uint64_t *version_out)
{
    kv_item it;
    int found, rc = record_get(txn, op->key, op->key_len, &it, &found);
    if (rc != 0)
        return rc;
    uint64_t index = store_txn_index(txn);
    uint8_t *rec = tarn_malloc(KV_RECORD_HEADER + op->value_len);
    if (rec == NULL)
        return TARN_ENOMEM;
    *version_out = found ? it.version + 1 : 1;
    kv_le64_put(rec, *version_out);
    kv_le64_put(rec + 8, index);
    kv_le64_put(rec + 16, found ? it.create_index : index);
    if (op->value_len > 0)
        memcpy(rec + KV_RECORD_HEADER, op->value, op->value_len);
    rc = store_txn_put(txn, KV_TABLE_DATA, op->key, op->key_len, rec,
                       KV_RECORD_HEADER + op->value_len);
    tarn_free(rec);
    return rc;
}

static int apply_data(store_txn *txn, const kv_cmd *cmd, store_result *res)
{
    int failed, rc = apply_compares(txn, cmd, res, &failed);
    if (rc != 0 || failed)
        return rc;
    uint64_t version = 0;
    for (size_t i = 0; i < cmd->n_ops; i++) {
        const kv_op *op = &cmd->ops[i];
        if (op->kind == KV_OP_PUT) {
            rc = apply_put(txn, op, &version);
        } else {
            rc = store_txn_del(txn, KV_TABLE_DATA, op->key, op->key_len);
            if (rc == TARN_ENOENT && cmd->type == KV_CMD_DELETE)
                return result_set(res, TARN_ENOENT, 0, 0, 0, NULL, 0);
            if (rc == TARN_ENOENT)
                rc = 0; /* deleting an absent key in a txn is a no-op */
        }
        if (rc != 0)
            return rc;
    }
    return result_set(res, TARN_OK, cmd->type == KV_CMD_PUT ? version : 0, store_txn_index(txn), 0,
                      NULL, 0);
}

static int apply_tso(store_txn *txn, const kv_cmd *cmd, store_result *res)
{
    if (cmd->tso_upto_ms > KV_TSO_PHYSICAL_MAX)
        return result_set(res, TARN_EINVAL, 0, 0, 0, NULL, 0);
    uint64_t cur;
    int rc = kv_tso_reserved(txn, &cur);
    if (rc != 0)
        return rc;
    /* A window only grows: a late, smaller reservation changes nothing. */
    if (cmd->tso_upto_ms > cur) {
        uint8_t b[8];
        kv_le64_put(b, cmd->tso_upto_ms);
        rc = store_txn_put(txn, KV_TABLE_META, KV_META_TSO, sizeof(KV_META_TSO) - 1, b, 8);
        if (rc != 0)
            return rc;
        cur = cmd->tso_upto_ms;
    }
    return result_set(res, TARN_OK, cur, store_txn_index(txn), 0, NULL, 0);
}

int kv_tso_reserved(store_txn *txn, uint64_t *reserved_ms)
{
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, KV_TABLE_META, KV_META_TSO, sizeof(KV_META_TSO) - 1, &v, &vl);
    *reserved_ms = 0;
    if (rc == TARN_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    /* Checked here, not asserted later: these are bytes from disk. */
    if (vl != 8 || kv_le64(v) > KV_TSO_PHYSICAL_MAX)
        return TARN_ECORRUPT;
    *reserved_ms = kv_le64(v);
    return 0;
}

static int kv_apply(void *ctx, store_txn *txn, const store_entry *e, store_result *res)
{
    (void)ctx;
    /* Heap, not stack: a decoded command holds 256 compare/op slots. */
    kv_cmd *cmd = tarn_malloc(sizeof(*cmd));
    if (cmd == NULL)
        return TARN_ENOMEM;
    int rc = kv_decode(e->data, e->len, cmd);
    if (rc != 0) {
        /* A malformed or oversized command is the command's fault: a
         * result, the same on every replica. */
        rc = result_set(res, rc == TARN_ETOOBIG ? TARN_ETOOBIG : TARN_EINVAL, 0, 0, 0, NULL, 0);
    } else if (cmd->type == KV_CMD_TSO_RESERVE) {
        rc = apply_tso(txn, cmd, res);
    } else {
        rc = apply_data(txn, cmd, res);
    }
    tarn_free(cmd);
    if (rc != 0)
        store_result_free(res);
    return rc;
}

int kv_register(store_registry *reg)
{
    static const uint8_t types[] = {KV_CMD_PUT, KV_CMD_DELETE, KV_CMD_TXN, KV_CMD_TSO_RESERVE};
    for (size_t i = 0; i < TARN_ARRAY_LEN(types); i++) {
        int rc = store_registry_set(reg, types[i], kv_apply, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}
