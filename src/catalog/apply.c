/*
 * catalog/apply.c: the catalog handlers store/ calls for committed
 * entries. Rules: catalog.h. Stored records (integers little-endian unless
 * said; keys use big-endian versions and indexes so byte order is numeric
 * order):
 *
 * table record (CATALOG_TABLE_TABLES, key = name):
 *   | 0  | 8 | latest version |
 *   | 8  | 8 | Raft index of the create |
 *   | 16 | . | the create command's body: location_len u16, location,
 *               schema_len u32, schema, n_parts u8, (len u8, column)...,
 *               then created_ms u64 when the create carried it (records
 *               of older creates end before it: unknown, 0) |
 *
 * version record (CATALOG_TABLE_VERSIONS, key = name_len, name, version BE):
 *   | 0  | 1 | bit 0: log written; bits 1-2: the commit's CATALOG_COMMIT_* |
 *   | 1  | 8 | Raft index of the commit |
 *   | 9  | 1 | txn_id_len |
 *   | 10 | n | txn_id |
 *   | .. | 4 | actions_len, then the actions |
 *
 * txn record (CATALOG_TABLE_TXNS, key = name_len, name, txn_id):
 *   version u64, commit index u64.
 * expiry (CATALOG_TABLE_EXPIRY, key = commit index BE, name_len, name,
 *   txn_id): empty; ordered by age for pruning.
 * pending (CATALOG_TABLE_PENDING, key = name_len, name, version BE): empty.
 * meta version (CATALOG_TABLE_META_VERSION, key = name_len, name): u64,
 *   the newest version whose commit carried CATALOG_COMMIT_METADATA;
 *   absent until one does (rule 6 reads absent as 0).
 *
 * Result payload: version u64, flags u8 (bit 0: duplicate txn_id).
 */
#include "catalog/catalog_int.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <string.h>

/* [name_len][name] + 8 + 64 + 8: the longest key we build. */
#define KEY_MAX (8 + 1 + CATALOG_NAME_MAX_BYTES + CATALOG_TXN_ID_MAX_BYTES + 8)

static int result_set(store_result *res, int code, uint64_t version, int duplicate)
{
    uint8_t *p = tarn_malloc(CATALOG_RESULT_BYTES);
    if (p == NULL)
        return TARN_ENOMEM;
    catalog_le_put(p, version, 8);
    p[8] = duplicate ? 1 : 0;
    res->code = code;
    res->data = p;
    res->len = CATALOG_RESULT_BYTES;
    return 0;
}

int catalog_result_decode(const store_result *r, catalog_result *out)
{
    memset(out, 0, sizeof(*out));
    out->code = r->code;
    if (r->data == NULL)
        return r->code == TARN_OK ? TARN_EINVAL : 0;
    if (r->len != CATALOG_RESULT_BYTES || r->data[8] > 1)
        return TARN_EINVAL;
    out->version = catalog_le(r->data, 8);
    out->duplicate = r->data[8];
    return 0;
}

int catalog_table_parse(const void *v, size_t len, catalog_table *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 16)
        return TARN_ECORRUPT;
    out->latest_version = catalog_le(v, 8);
    out->created_index = catalog_le((const uint8_t *)v + 8, 8);
    catalog_reader r = {(const uint8_t *)v + 16, len - 16};
    catalog_create c = {.name = {(const uint8_t *)"t", 1}};
    if (catalog_decode_create_body(&r, &c) != 0 || r.left != 0)
        return TARN_ECORRUPT;
    out->created_ms = c.created_ms;
    out->location = c.location;
    out->schema = c.schema;
    out->n_parts = c.n_parts;
    memcpy(out->parts, c.parts, sizeof(c.parts));
    return 0;
}

int catalog_version_parse(const void *v, size_t len, catalog_version *out)
{
    catalog_reader r = {v, len};
    uint64_t flag;
    if (catalog_rd_le(&r, 1, &flag) != 0 || flag > 7 ||
        catalog_rd_le(&r, 8, &out->commit_index) != 0 || catalog_rd_blob(&r, 1, &out->txn_id) ||
        catalog_rd_blob(&r, 4, &out->actions) != 0 || r.left != 0)
        return TARN_ECORRUPT;
    out->log_written = (int)(flag & 1);
    out->flags = (uint8_t)(flag >> 1);
    return 0;
}

/* Loads the table record: *found = 0 when absent. */
static int table_load(store_txn *txn, const catalog_bytes *name, catalog_table *t, int *found)
{
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, CATALOG_TABLE_TABLES, name->p, name->len, &v, &vl);
    *found = rc == 0;
    if (rc == TARN_ENOENT)
        return 0;
    return rc != 0 ? rc : catalog_table_parse(v, vl, t);
}

static int version_put(store_txn *txn, const catalog_bytes *name, uint64_t version, uint8_t flags,
                       const catalog_bytes *txn_id, const catalog_bytes *actions)
{
    size_t len = 1 + 8 + 1 + txn_id->len + 4 + actions->len;
    uint8_t *rec = tarn_malloc(len), kb[KEY_MAX], vb[8];
    if (rec == NULL)
        return TARN_ENOMEM;
    rec[0] = (uint8_t)(flags << 1); /* log not written yet */
    catalog_le_put(rec + 1, store_txn_index(txn), 8);
    rec[9] = (uint8_t)txn_id->len;
    if (txn_id->len > 0)
        memcpy(rec + 10, txn_id->p, txn_id->len);
    catalog_le_put(rec + 10 + txn_id->len, actions->len, 4);
    if (actions->len > 0)
        memcpy(rec + 14 + txn_id->len, actions->p, actions->len);
    catalog_be64_put(vb, version);
    size_t kl = catalog_key(kb, name->p, name->len, vb, 8);
    int rc = store_txn_put(txn, CATALOG_TABLE_VERSIONS, kb, kl, rec, len);
    tarn_free(rec);
    /* Every new version waits for its Delta log file (rule 4). */
    if (rc == 0)
        rc = store_txn_put(txn, CATALOG_TABLE_PENDING, kb, kl, "", 0);
    return rc;
}

static int apply_create(store_txn *txn, const catalog_cmd *cmd, const store_entry *e,
                        store_result *res)
{
    const catalog_bytes *name = &cmd->create.name;
    catalog_table t;
    int found, rc = table_load(txn, name, &t, &found);
    if (rc != 0 || found)
        return rc != 0 ? rc : result_set(res, TARN_EEXIST, t.latest_version, 0);
    size_t body = e->len - 3 - name->len; /* the create body after the name */
    uint8_t *rec = tarn_malloc(16 + body);
    if (rec == NULL)
        return TARN_ENOMEM;
    catalog_le_put(rec, 0, 8);
    catalog_le_put(rec + 8, store_txn_index(txn), 8);
    memcpy(rec + 16, e->data + 3 + name->len, body);
    rc = store_txn_put(txn, CATALOG_TABLE_TABLES, name->p, name->len, rec, 16 + body);
    tarn_free(rec);
    catalog_bytes none = {NULL, 0};
    if (rc == 0)
        rc = version_put(txn, name, 0, 0, &none, &none);
    return rc != 0 ? rc : result_set(res, TARN_OK, 0, 0);
}

/* Deletes every key of `table` that starts with prefix. */
static int delete_prefix(store_txn *txn, uint8_t table, const uint8_t *prefix, size_t plen)
{
    store_cursor *c;
    int rc = store_cursor_open(txn, table, &c);
    if (rc != 0)
        return rc;
    uint8_t kb[KEY_MAX];
    for (;;) {
        const void *k, *v;
        size_t kl, vl;
        rc = store_cursor_seek(c, prefix, plen, &k, &kl, &v, &vl);
        if (rc != 0 || kl < plen || memcmp(k, prefix, plen) != 0 || kl > sizeof(kb))
            break;
        memcpy(kb, k, kl); /* k dies with the delete */
        if ((rc = store_txn_del(txn, table, kb, kl)) != 0)
            break;
    }
    store_cursor_close(c);
    return rc == TARN_ENOENT ? 0 : rc;
}

static int apply_drop(store_txn *txn, const catalog_cmd *cmd, store_result *res)
{
    const catalog_bytes *name = &cmd->create.name;
    catalog_table t;
    int found, rc = table_load(txn, name, &t, &found);
    if (rc != 0 || !found)
        return rc != 0 ? rc : result_set(res, TARN_ENOENT, 0, 0);
    uint8_t kb[KEY_MAX];
    size_t kl = catalog_key(kb, name->p, name->len, NULL, 0);
    static const uint8_t tables[] = {CATALOG_TABLE_VERSIONS, CATALOG_TABLE_TXNS,
                                     CATALOG_TABLE_PENDING};
    rc = store_txn_del(txn, CATALOG_TABLE_TABLES, name->p, name->len);
    if (rc == 0) {
        rc = store_txn_del(txn, CATALOG_TABLE_META_VERSION, kb, kl);
        rc = rc == TARN_ENOENT ? 0 : rc;
    }
    for (size_t i = 0; rc == 0 && i < TARN_ARRAY_LEN(tables); i++)
        rc = delete_prefix(txn, tables[i], kb, kl);
    /* Expiry entries of the dropped table stay until pruned; pruning
     * checks the txn record's index, so a re-created table is safe. */
    return rc != 0 ? rc : result_set(res, TARN_OK, t.latest_version, 0);
}

/* Finds a committed txn_id: *version set and 1 returned when present. */
static int txn_find(store_txn *txn, const catalog_cmd *cmd, uint64_t *version, int *found)
{
    uint8_t kb[KEY_MAX];
    size_t kl =
        catalog_key(kb, cmd->create.name.p, cmd->create.name.len, cmd->txn_id.p, cmd->txn_id.len);
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, CATALOG_TABLE_TXNS, kb, kl, &v, &vl);
    *found = rc == 0;
    if (rc == TARN_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    if (vl != 16)
        return TARN_ECORRUPT;
    *version = catalog_le(v, 8);
    return 0;
}

/* Records txn_id -> version and its expiry entry. */
static int txn_record(store_txn *txn, const catalog_cmd *cmd, uint64_t version)
{
    const catalog_bytes *name = &cmd->create.name;
    uint8_t kb[KEY_MAX], vb[16];
    uint64_t index = store_txn_index(txn);
    catalog_le_put(vb, version, 8);
    catalog_le_put(vb + 8, index, 8);
    size_t kl = catalog_key(kb, name->p, name->len, cmd->txn_id.p, cmd->txn_id.len);
    int rc = store_txn_put(txn, CATALOG_TABLE_TXNS, kb, kl, vb, 16);
    if (rc != 0)
        return rc;
    uint8_t eb[KEY_MAX];
    catalog_be64_put(eb, index);
    memcpy(eb + 8, kb, kl);
    return store_txn_put(txn, CATALOG_TABLE_EXPIRY, eb, 8 + kl, "", 0);
}

/* Forgets txn ids older than the window, oldest first, a bounded number
 * per call so one entry's apply time stays bounded (rule 3). */
static int txn_prune(store_txn *txn)
{
    uint64_t index = store_txn_index(txn);
    if (index <= CATALOG_TXN_WINDOW_ENTRIES)
        return 0;
    store_cursor *c;
    int rc = store_cursor_open(txn, CATALOG_TABLE_EXPIRY, &c);
    if (rc != 0)
        return rc;
    uint8_t kb[KEY_MAX];
    for (int n = 0; n < CATALOG_TXN_PRUNE_MAX; n++) {
        const void *k, *v;
        size_t kl, vl;
        rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
        if (rc != 0 || kl < 10 || kl > sizeof(kb))
            break;
        uint64_t ci = catalog_be64(k);
        if (ci + CATALOG_TXN_WINDOW_ENTRIES >= index)
            break;
        memcpy(kb, k, kl);
        /* Delete the txn record only if it is this commit's (a dropped and
         * re-created table may reuse the id). */
        rc = store_txn_get(txn, CATALOG_TABLE_TXNS, kb + 8, kl - 8, &v, &vl);
        if (rc == 0 && vl == 16 && catalog_le((const uint8_t *)v + 8, 8) == ci)
            rc = store_txn_del(txn, CATALOG_TABLE_TXNS, kb + 8, kl - 8);
        if (rc != 0 && rc != TARN_ENOENT)
            break;
        if ((rc = store_txn_del(txn, CATALOG_TABLE_EXPIRY, kb, kl)) != 0)
            break;
    }
    store_cursor_close(c);
    return rc == TARN_ENOENT ? 0 : rc;
}

/* Rewrites the table record with a new latest version. */
static int table_set_latest(store_txn *txn, const catalog_bytes *name, uint64_t latest)
{
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, CATALOG_TABLE_TABLES, name->p, name->len, &v, &vl);
    if (rc != 0)
        return rc;
    uint8_t *copy = tarn_malloc(vl);
    if (copy == NULL)
        return TARN_ENOMEM;
    memcpy(copy, v, vl);
    catalog_le_put(copy, latest, 8);
    rc = store_txn_put(txn, CATALOG_TABLE_TABLES, name->p, name->len, copy, vl);
    tarn_free(copy);
    return rc;
}

/* The newest version that changed the table's metadata or protocol (0
 * when none did since the create). */
static int meta_version_load(store_txn *txn, const catalog_bytes *name, uint64_t *out)
{
    uint8_t kb[KEY_MAX];
    size_t kl = catalog_key(kb, name->p, name->len, NULL, 0);
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

static int meta_version_store(store_txn *txn, const catalog_bytes *name, uint64_t version)
{
    uint8_t kb[KEY_MAX], vb[8];
    size_t kl = catalog_key(kb, name->p, name->len, NULL, 0);
    catalog_le_put(vb, version, 8);
    return store_txn_put(txn, CATALOG_TABLE_META_VERSION, kb, kl, vb, 8);
}

/* Whether a commit on `base` may become version latest + 1 (rules 2 and
 * 6). *ok = 0 means a conflict. */
static int commit_admissible(store_txn *txn, const catalog_cmd *cmd, const catalog_table *t,
                             int *ok)
{
    *ok = cmd->version == t->latest_version;
    if (*ok || !(cmd->flags & CATALOG_COMMIT_BLIND_APPEND) || cmd->version > t->latest_version)
        return 0;
    /* A blind append read nothing of the table, so its adds are valid on
     * any later version, unless a later one changed what they must match
     * (the schema, partition columns or protocol). */
    uint64_t meta;
    int rc = meta_version_load(txn, &cmd->create.name, &meta);
    *ok = rc == 0 && meta <= cmd->version;
    return rc;
}

static int apply_commit(store_txn *txn, const catalog_cmd *cmd, store_result *res)
{
    const catalog_bytes *name = &cmd->create.name;
    catalog_table t;
    uint64_t first;
    int found, dup, ok, rc = table_load(txn, name, &t, &found);
    if (rc != 0 || !found)
        return rc != 0 ? rc : result_set(res, TARN_ENOENT, 0, 0);
    /* A retry answers the first result, whatever its base (rule 3). */
    if ((rc = txn_find(txn, cmd, &first, &dup)) != 0)
        return rc;
    if (dup)
        return result_set(res, TARN_OK, first, 1);
    if ((rc = commit_admissible(txn, cmd, &t, &ok)) != 0)
        return rc;
    if (!ok)
        return result_set(res, TARN_ECONFLICT, t.latest_version, 0);
    if (t.latest_version == UINT64_MAX)
        return result_set(res, TARN_ETOOBIG, t.latest_version, 0);
    uint64_t v = t.latest_version + 1;
    if ((rc = version_put(txn, name, v, cmd->flags, &cmd->txn_id, &cmd->actions)) != 0 ||
        (rc = txn_record(txn, cmd, v)) != 0 || (rc = table_set_latest(txn, name, v)) != 0 ||
        (rc = txn_prune(txn)) != 0)
        return rc;
    if ((cmd->flags & CATALOG_COMMIT_METADATA) && (rc = meta_version_store(txn, name, v)) != 0)
        return rc;
    return result_set(res, TARN_OK, v, 0);
}

static int apply_log_written(store_txn *txn, const catalog_cmd *cmd, store_result *res)
{
    const catalog_bytes *name = &cmd->create.name;
    uint8_t kb[KEY_MAX], vb[8];
    catalog_be64_put(vb, cmd->version);
    size_t kl = catalog_key(kb, name->p, name->len, vb, 8);
    const void *v;
    size_t vl;
    int rc = store_txn_get(txn, CATALOG_TABLE_VERSIONS, kb, kl, &v, &vl);
    if (rc == TARN_ENOENT)
        return result_set(res, TARN_ENOENT, cmd->version, 0);
    if (rc != 0)
        return rc;
    if (vl < 1 || ((const uint8_t *)v)[0] > 7)
        return TARN_ECORRUPT;
    if ((((const uint8_t *)v)[0] & 1) == 0) {
        uint8_t *copy = tarn_malloc(vl);
        if (copy == NULL)
            return TARN_ENOMEM;
        memcpy(copy, v, vl);
        copy[0] |= 1;
        rc = store_txn_put(txn, CATALOG_TABLE_VERSIONS, kb, kl, copy, vl);
        tarn_free(copy);
        if (rc == 0)
            rc = store_txn_del(txn, CATALOG_TABLE_PENDING, kb, kl);
        if (rc != 0)
            return rc;
    }
    return result_set(res, TARN_OK, cmd->version, 0);
}

static int catalog_apply(void *ctx, store_txn *txn, const store_entry *e, store_result *res)
{
    (void)ctx;
    catalog_cmd *cmd = tarn_malloc(sizeof(*cmd));
    if (cmd == NULL)
        return TARN_ENOMEM;
    int rc = catalog_decode(e->data, e->len, cmd);
    if (rc != 0) {
        /* Malformed bytes are the command's fault: a result. */
        rc = result_set(res, rc == TARN_ETOOBIG ? TARN_ETOOBIG : TARN_EINVAL, 0, 0);
    } else if (cmd->type == CATALOG_CMD_CREATE) {
        rc = apply_create(txn, cmd, e, res);
    } else if (cmd->type == CATALOG_CMD_DROP) {
        rc = apply_drop(txn, cmd, res);
    } else if (cmd->type == CATALOG_CMD_COMMIT || cmd->type == CATALOG_CMD_COMMIT2) {
        rc = apply_commit(txn, cmd, res);
    } else {
        TARN_ASSERT(cmd->type == CATALOG_CMD_LOG_WRITTEN);
        rc = apply_log_written(txn, cmd, res);
    }
    tarn_free(cmd);
    if (rc != 0)
        store_result_free(res);
    return rc;
}

int catalog_register(store_registry *reg)
{
    static const uint8_t types[] = {CATALOG_CMD_CREATE, CATALOG_CMD_DROP, CATALOG_CMD_COMMIT,
                                    CATALOG_CMD_LOG_WRITTEN, CATALOG_CMD_COMMIT2};
    for (size_t i = 0; i < TARN_ARRAY_LEN(types); i++) {
        int rc = store_registry_set(reg, types[i], catalog_apply, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}
