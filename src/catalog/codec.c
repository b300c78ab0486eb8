/*
 * catalog/codec.c: the catalog command format (version 1). Integers
 * little-endian.
 *
 *   | offset | size | meaning                                        |
 *   |--------|------|------------------------------------------------|
 *   | 0      | 1    | type: 0x20 create, 0x21 drop, 0x22 commit, 0x23 log written, 0x24 commit2 |
 *   | 1      | 1    | format version, 1                              |
 *   | 2      | 1    | name_len (1..128)                              |
 *   | 3      | n    | table name, [A-Za-z_][A-Za-z0-9_]*             |
 *
 * then, by type:
 *   create:      location_len u16, location, schema_len u32, schema,
 *                n_parts u8 (<= 32), n_parts x (len u8 (1..128), column),
 *                then optionally created_ms u64 (1..INT64_MAX; absent: 0,
 *                unknown, as in creates written before it existed)
 *   drop:        nothing
 *   commit:      base_version u64, txn_id_len u8 (1..64), txn_id,
 *                actions_len u32 (<= 4 MiB), actions
 *   log written: version u64
 *   commit2:     base_version u64, flags u8 (CATALOG_COMMIT_*, not both),
 *                txn_id_len u8 (1..64), txn_id, actions_len u32, actions
 *
 * Nothing may follow the last field.
 */
#include "catalog/catalog_int.h"

#include <string.h>

int catalog_name_ok(const uint8_t *name, size_t len)
{
    if (name == NULL || len == 0 || len > CATALOG_NAME_MAX_BYTES)
        return 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = name[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

size_t catalog_key(uint8_t *kb, const uint8_t *name, size_t nlen, const void *suffix, size_t slen)
{
    kb[0] = (uint8_t)nlen;
    memcpy(kb + 1, name, nlen);
    if (slen > 0)
        memcpy(kb + 1 + nlen, suffix, slen);
    return 1 + nlen + slen;
}

int catalog_rd_le(catalog_reader *r, int bytes, uint64_t *v)
{
    if (r->left < (size_t)bytes)
        return TARN_EINVAL;
    *v = catalog_le(r->p, bytes);
    r->p += bytes;
    r->left -= (size_t)bytes;
    return 0;
}

int catalog_rd_blob(catalog_reader *r, int len_bytes, catalog_bytes *out)
{
    uint64_t n;
    if (catalog_rd_le(r, len_bytes, &n) != 0 || r->left < n)
        return TARN_EINVAL;
    out->p = r->p;
    out->len = (size_t)n;
    r->p += n;
    r->left -= (size_t)n;
    return 0;
}

static int check_create(const catalog_create *c)
{
    if (!catalog_name_ok(c->name.p, c->name.len))
        return c->name.len > CATALOG_NAME_MAX_BYTES ? TARN_ETOOBIG : TARN_EINVAL;
    if (c->location.len > CATALOG_LOCATION_MAX_BYTES || c->schema.len > CATALOG_SCHEMA_MAX_BYTES ||
        c->n_parts > CATALOG_PARTS_MAX)
        return TARN_ETOOBIG;
    if ((c->location.len && !c->location.p) || (c->schema.len && !c->schema.p) || c->created_ms < 0)
        return TARN_EINVAL;
    for (size_t i = 0; i < c->n_parts; i++) {
        if (c->parts[i].len > CATALOG_PART_MAX_BYTES)
            return TARN_ETOOBIG;
        if (c->parts[i].len == 0 || c->parts[i].p == NULL)
            return TARN_EINVAL;
    }
    return 0;
}

/* Appends header + name; the caller appends the rest. */
static int put_head(tarn_buf *out, uint8_t type, const uint8_t *name, size_t nlen)
{
    uint8_t h[3] = {type, CATALOG_FORMAT_VERSION, (uint8_t)nlen};
    int rc = tarn_buf_append(out, h, 3);
    return rc != 0 ? rc : tarn_buf_append(out, name, nlen);
}

static int put_le(tarn_buf *out, uint64_t v, int bytes)
{
    uint8_t b[8];
    catalog_le_put(b, v, bytes);
    return tarn_buf_append(out, b, (size_t)bytes);
}

static int put_blob(tarn_buf *out, const catalog_bytes *b, int len_bytes)
{
    int rc = put_le(out, b->len, len_bytes);
    return rc != 0 || b->len == 0 ? rc : tarn_buf_append(out, b->p, b->len);
}

/* Runs an append sequence; on failure cuts out back to where it was, so
 * the buffer is unchanged on error. */
static int finish(tarn_buf *out, size_t mark, int rc)
{
    if (rc != 0 && out->data != NULL) {
        out->len = mark;
        out->data[mark] = 0;
    }
    return rc;
}

int catalog_encode_create(tarn_buf *out, const catalog_create *c)
{
    int rc = check_create(c);
    if (rc != 0)
        return rc;
    size_t mark = out->len;
    rc = put_head(out, CATALOG_CMD_CREATE, c->name.p, c->name.len);
    if (rc == 0)
        rc = put_blob(out, &c->location, 2);
    if (rc == 0)
        rc = put_blob(out, &c->schema, 4);
    if (rc == 0)
        rc = put_le(out, c->n_parts, 1);
    for (size_t i = 0; rc == 0 && i < c->n_parts; i++)
        rc = put_blob(out, &c->parts[i], 1);
    /* Left out when unknown: the bytes stay those of the older format. */
    if (rc == 0 && c->created_ms > 0)
        rc = put_le(out, (uint64_t)c->created_ms, 8);
    return finish(out, mark, rc);
}

int catalog_encode_drop(tarn_buf *out, const char *name, size_t name_len)
{
    if (!catalog_name_ok((const uint8_t *)name, name_len))
        return TARN_EINVAL;
    size_t mark = out->len;
    return finish(out, mark, put_head(out, CATALOG_CMD_DROP, (const uint8_t *)name, name_len));
}

static int flags_ok(uint64_t flags)
{
    return (flags & ~(uint64_t)CATALOG_COMMIT_FLAGS_ALL) == 0 &&
           flags != (CATALOG_COMMIT_BLIND_APPEND | CATALOG_COMMIT_METADATA);
}

/* COMMIT (flags < 0: no flags byte) or COMMIT2. */
static int encode_commit(tarn_buf *out, const char *name, size_t name_len, uint64_t base_version,
                         int flags, const void *txn_id, size_t txn_id_len, const void *actions,
                         size_t actions_len)
{
    if (!catalog_name_ok((const uint8_t *)name, name_len) || txn_id == NULL || txn_id_len == 0 ||
        (actions == NULL && actions_len > 0) || (flags >= 0 && !flags_ok((uint64_t)flags)))
        return TARN_EINVAL;
    if (txn_id_len > CATALOG_TXN_ID_MAX_BYTES || actions_len > CATALOG_ACTIONS_MAX_BYTES)
        return TARN_ETOOBIG;
    size_t mark = out->len;
    catalog_bytes t = {txn_id, txn_id_len}, a = {actions, actions_len};
    int rc = put_head(out, flags < 0 ? CATALOG_CMD_COMMIT : CATALOG_CMD_COMMIT2,
                      (const uint8_t *)name, name_len);
    if (rc == 0)
        rc = put_le(out, base_version, 8);
    if (rc == 0 && flags >= 0)
        rc = put_le(out, (uint64_t)flags, 1);
    if (rc == 0)
        rc = put_blob(out, &t, 1);
    if (rc == 0)
        rc = put_blob(out, &a, 4);
    return finish(out, mark, rc);
}

int catalog_encode_commit(tarn_buf *out, const char *name, size_t name_len, uint64_t base_version,
                          const void *txn_id, size_t txn_id_len, const void *actions,
                          size_t actions_len)
{
    return encode_commit(out, name, name_len, base_version, -1, txn_id, txn_id_len, actions,
                         actions_len);
}

int catalog_encode_commit2(tarn_buf *out, const char *name, size_t name_len, uint64_t base_version,
                           uint8_t flags, const void *txn_id, size_t txn_id_len,
                           const void *actions, size_t actions_len)
{
    return encode_commit(out, name, name_len, base_version, flags, txn_id, txn_id_len, actions,
                         actions_len);
}

int catalog_encode_log_written(tarn_buf *out, const char *name, size_t name_len, uint64_t version)
{
    if (!catalog_name_ok((const uint8_t *)name, name_len))
        return TARN_EINVAL;
    size_t mark = out->len;
    int rc = put_head(out, CATALOG_CMD_LOG_WRITTEN, (const uint8_t *)name, name_len);
    if (rc == 0)
        rc = put_le(out, version, 8);
    return finish(out, mark, rc);
}

int catalog_decode_create_body(catalog_reader *r, catalog_create *c)
{
    uint64_t n;
    if (catalog_rd_blob(r, 2, &c->location) != 0 || catalog_rd_blob(r, 4, &c->schema) != 0 ||
        catalog_rd_le(r, 1, &n) != 0)
        return TARN_EINVAL;
    if (n > CATALOG_PARTS_MAX)
        return TARN_ETOOBIG;
    c->n_parts = (size_t)n;
    for (size_t i = 0; i < c->n_parts; i++) {
        if (catalog_rd_blob(r, 1, &c->parts[i]) != 0)
            return TARN_EINVAL;
    }
    c->created_ms = 0;
    if (r->left > 0) { /* the optional time; anything else is the caller's error */
        uint64_t ms;
        if (catalog_rd_le(r, 8, &ms) != 0 || ms == 0 || ms > INT64_MAX)
            return TARN_EINVAL;
        c->created_ms = (int64_t)ms;
    }
    return check_create(c);
}

static int decode_commit(catalog_reader *r, catalog_cmd *cmd)
{
    uint64_t flags = 0;
    if (catalog_rd_le(r, 8, &cmd->version) != 0 ||
        (cmd->type == CATALOG_CMD_COMMIT2 &&
         (catalog_rd_le(r, 1, &flags) != 0 || !flags_ok(flags))))
        return TARN_EINVAL;
    cmd->flags = (uint8_t)flags;
    if (catalog_rd_blob(r, 1, &cmd->txn_id) != 0 || catalog_rd_blob(r, 4, &cmd->actions) != 0)
        return TARN_EINVAL;
    if (cmd->txn_id.len == 0)
        return TARN_EINVAL;
    if (cmd->txn_id.len > CATALOG_TXN_ID_MAX_BYTES || cmd->actions.len > CATALOG_ACTIONS_MAX_BYTES)
        return TARN_ETOOBIG;
    return 0;
}

int catalog_decode(const uint8_t *data, size_t len, catalog_cmd *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
    if (data == NULL || len < 3 || data[1] != CATALOG_FORMAT_VERSION)
        return TARN_EINVAL;
    catalog_reader r = {data + 2, len - 2};
    cmd->type = data[0];
    if (catalog_rd_blob(&r, 1, &cmd->create.name) != 0)
        return TARN_EINVAL;
    if (!catalog_name_ok(cmd->create.name.p, cmd->create.name.len))
        return TARN_EINVAL;
    int rc;
    switch (cmd->type) {
    case CATALOG_CMD_CREATE:
        rc = catalog_decode_create_body(&r, &cmd->create);
        break;
    case CATALOG_CMD_DROP:
        rc = 0;
        break;
    case CATALOG_CMD_COMMIT:
    case CATALOG_CMD_COMMIT2:
        rc = decode_commit(&r, cmd);
        break;
    case CATALOG_CMD_LOG_WRITTEN:
        rc = catalog_rd_le(&r, 8, &cmd->version);
        break;
    default:
        return TARN_EINVAL;
    }
    if (rc == 0 && r.left != 0)
        rc = TARN_EINVAL;
    return rc;
}
