/*
 * kv/codec.c: the kv command format (version 1). Design note:
 * src/kv/README.md. All integers little-endian.
 *
 * Every command:
 *
 *   | offset | size | meaning                                   |
 *   |--------|------|-------------------------------------------|
 *   | 0      | 1    | type: 0x10 put, 0x11 delete, 0x12 txn, 0x13 TSO reserve |
 *   | 1      | 1    | format version, 1                         |
 *
 * put / delete / txn continue with:
 *
 *   | 2      | 2    | n_cmps (<= 128)                           |
 *   | 4      | 2    | n_ops (<= 128)                            |
 *   | 6      | ...  | n_cmps compares, then n_ops operations    |
 *
 * compare: kind u8 (1 version, 2 value), key_len u16, key, then
 *   kind 1: version u64 (0: the key must be absent);
 *   kind 2: value_len u32, value.
 * operation: kind u8 (1 put, 2 delete), key_len u16, key, then
 *   put: value_len u32, value.
 *
 * put and delete are the one-operation forms (n_ops = 1 of that kind,
 * n_cmps <= 1 on the same key); txn is the general one. TSO reserve
 * continues with upto_ms u64 at offset 2 (10 bytes in all). Nothing may
 * follow the last field.
 */
#include "kv/kv.h"

#include <string.h>

/* ---- validation shared by encoder and decoder ---- */

static int check_key(const void *key, size_t klen)
{
    if (key == NULL || klen == 0)
        return TARN_EINVAL;
    return klen > KV_KEY_MAX_BYTES ? TARN_ETOOBIG : 0;
}

static int check_cmp(const kv_compare *c)
{
    int rc = check_key(c->key, c->key_len);
    if (rc != 0)
        return rc;
    if (c->kind == KV_CMP_VERSION)
        return 0;
    if (c->kind != KV_CMP_VALUE || (c->value == NULL && c->value_len > 0))
        return TARN_EINVAL;
    return c->value_len > KV_VALUE_MAX_BYTES ? TARN_ETOOBIG : 0;
}

static int check_op(const kv_op *o)
{
    int rc = check_key(o->key, o->key_len);
    if (rc != 0)
        return rc;
    if (o->kind == KV_OP_DELETE)
        return 0;
    if (o->kind != KV_OP_PUT || (o->value == NULL && o->value_len > 0))
        return TARN_EINVAL;
    return o->value_len > KV_VALUE_MAX_BYTES ? TARN_ETOOBIG : 0;
}

/* The rules of the single-operation forms (put, delete). */
static int check_shape(uint8_t type, const kv_compare *cmps, size_t n_cmps, const kv_op *ops,
                       size_t n_ops)
{
    if (type == KV_CMD_TXN)
        return 0;
    uint8_t want = type == KV_CMD_PUT ? KV_OP_PUT : KV_OP_DELETE;
    if (n_ops != 1 || ops[0].kind != want || n_cmps > 1)
        return TARN_EINVAL;
    if (n_cmps == 1 &&
        (cmps[0].key_len != ops[0].key_len || memcmp(cmps[0].key, ops[0].key, ops[0].key_len) != 0))
        return TARN_EINVAL;
    return 0;
}

/* ---- encoding ---- */

static size_t cmp_size(const kv_compare *c)
{
    return 1 + 2 + c->key_len + (c->kind == KV_CMP_VERSION ? 8 : 4 + c->value_len);
}

static size_t op_size(const kv_op *o)
{
    return 1 + 2 + o->key_len + (o->kind == KV_OP_PUT ? 4 + o->value_len : 0);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *put_key(uint8_t *p, uint8_t kind, const uint8_t *key, size_t klen)
{
    p[0] = kind;
    put_le(p + 1, klen, 2);
    memcpy(p + 3, key, klen);
    return p + 3 + klen;
}

static uint8_t *put_blob(uint8_t *p, const uint8_t *v, size_t len)
{
    put_le(p, len, 4);
    if (len > 0)
        memcpy(p + 4, v, len);
    return p + 4 + len;
}

static int encode(tarn_buf *out, uint8_t type, const kv_compare *cmps, size_t n_cmps,
                  const kv_op *ops, size_t n_ops)
{
    if (n_cmps > KV_TXN_OPS_MAX || n_ops > KV_TXN_OPS_MAX)
        return TARN_ETOOBIG;
    if ((n_cmps > 0 && cmps == NULL) || (n_ops > 0 && ops == NULL))
        return TARN_EINVAL;
    size_t total = 6;
    int rc;
    for (size_t i = 0; i < n_cmps; i++) {
        if ((rc = check_cmp(&cmps[i])) != 0)
            return rc;
        total += cmp_size(&cmps[i]);
    }
    for (size_t i = 0; i < n_ops; i++) {
        if ((rc = check_op(&ops[i])) != 0)
            return rc;
        total += op_size(&ops[i]);
    }
    if ((rc = check_shape(type, cmps, n_cmps, ops, n_ops)) != 0)
        return rc;
    if (total > KV_CMD_MAX_BYTES)
        return TARN_ETOOBIG;
    if ((rc = tarn_buf_reserve(out, total)) != 0)
        return rc;
    uint8_t *p = out->data + out->len;
    p[0] = type;
    p[1] = KV_FORMAT_VERSION;
    put_le(p + 2, n_cmps, 2);
    put_le(p + 4, n_ops, 2);
    p += 6;
    for (size_t i = 0; i < n_cmps; i++) {
        p = put_key(p, (uint8_t)cmps[i].kind, cmps[i].key, cmps[i].key_len);
        if (cmps[i].kind == KV_CMP_VERSION) {
            put_le(p, cmps[i].version, 8);
            p += 8;
        } else {
            p = put_blob(p, cmps[i].value, cmps[i].value_len);
        }
    }
    for (size_t i = 0; i < n_ops; i++) {
        p = put_key(p, (uint8_t)ops[i].kind, ops[i].key, ops[i].key_len);
        if (ops[i].kind == KV_OP_PUT)
            p = put_blob(p, ops[i].value, ops[i].value_len);
    }
    out->len += total;
    out->data[out->len] = 0; /* tarn_buf keeps a NUL after the contents */
    return 0;
}

int kv_encode_put(tarn_buf *out, const void *key, size_t klen, const void *val, size_t vlen,
                  const kv_compare *expect)
{
    kv_op op = {KV_OP_PUT, key, klen, val, vlen};
    return encode(out, KV_CMD_PUT, expect, expect ? 1 : 0, &op, 1);
}

int kv_encode_delete(tarn_buf *out, const void *key, size_t klen, const kv_compare *expect)
{
    kv_op op = {KV_OP_DELETE, key, klen, NULL, 0};
    return encode(out, KV_CMD_DELETE, expect, expect ? 1 : 0, &op, 1);
}

int kv_encode_txn(tarn_buf *out, const kv_compare *cmps, size_t n_cmps, const kv_op *ops,
                  size_t n_ops)
{
    return encode(out, KV_CMD_TXN, cmps, n_cmps, ops, n_ops);
}

int kv_encode_tso_reserve(tarn_buf *out, uint64_t upto_ms)
{
    uint8_t b[10] = {KV_CMD_TSO_RESERVE, KV_FORMAT_VERSION};
    put_le(b + 2, upto_ms, 8);
    return tarn_buf_append(out, b, sizeof(b));
}

/* ---- decoding (untrusted bytes) ---- */

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static int rd_le(reader *r, int bytes, uint64_t *v)
{
    if (r->left < (size_t)bytes)
        return TARN_EINVAL;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    r->left -= (size_t)bytes;
    return 0;
}

static int rd_bytes(reader *r, size_t n, const uint8_t **out)
{
    if (r->left < n)
        return TARN_EINVAL;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

/* kind u8, key_len u16, key. */
static int rd_key(reader *r, uint64_t *kind, const uint8_t **key, size_t *klen)
{
    uint64_t n = 0;
    int rc = rd_le(r, 1, kind);
    if (rc == 0)
        rc = rd_le(r, 2, &n);
    if (rc == 0)
        rc = rd_bytes(r, (size_t)n, key);
    *klen = (size_t)n;
    return rc;
}

/* value_len u32, value; a length past the limit is "too big" only when
 * the bytes are actually there, so a truncated command stays "invalid". */
static int rd_blob(reader *r, const uint8_t **v, size_t *len)
{
    uint64_t n = 0;
    int rc = rd_le(r, 4, &n);
    if (rc == 0)
        rc = rd_bytes(r, (size_t)n, v);
    *len = (size_t)n;
    return rc;
}

static int rd_cmp(reader *r, kv_compare *c)
{
    uint64_t kind;
    int rc = rd_key(r, &kind, &c->key, &c->key_len);
    if (rc != 0)
        return rc;
    c->kind = (kv_cmp_kind)kind;
    if (kind == KV_CMP_VERSION)
        rc = rd_le(r, 8, &c->version);
    else if (kind == KV_CMP_VALUE)
        rc = rd_blob(r, &c->value, &c->value_len);
    else
        return TARN_EINVAL;
    return rc != 0 ? rc : check_cmp(c);
}

static int rd_op(reader *r, kv_op *o)
{
    uint64_t kind;
    int rc = rd_key(r, &kind, &o->key, &o->key_len);
    if (rc != 0)
        return rc;
    o->kind = (kv_op_kind)kind;
    o->value = NULL;
    o->value_len = 0;
    if (kind == KV_OP_PUT)
        rc = rd_blob(r, &o->value, &o->value_len);
    else if (kind != KV_OP_DELETE)
        return TARN_EINVAL;
    return rc != 0 ? rc : check_op(o);
}

int kv_decode(const uint8_t *data, size_t len, kv_cmd *cmd)
{
    if (data == NULL || len < 2 || data[1] != KV_FORMAT_VERSION)
        return TARN_EINVAL;
    if (len > KV_CMD_MAX_BYTES)
        return TARN_ETOOBIG;
    reader r = {data + 2, len - 2};
    cmd->type = data[0];
    cmd->n_cmps = cmd->n_ops = 0;
    uint64_t nc, no;
    if (cmd->type == KV_CMD_TSO_RESERVE) {
        int rc = rd_le(&r, 8, &cmd->tso_upto_ms);
        return rc != 0 || r.left != 0 ? TARN_EINVAL : 0;
    }
    if (cmd->type < KV_CMD_PUT || cmd->type > KV_CMD_TXN)
        return TARN_EINVAL;
    if (rd_le(&r, 2, &nc) != 0 || rd_le(&r, 2, &no) != 0)
        return TARN_EINVAL;
    if (nc > KV_TXN_OPS_MAX || no > KV_TXN_OPS_MAX)
        return TARN_ETOOBIG;
    int rc;
    for (size_t i = 0; i < nc; i++) {
        if ((rc = rd_cmp(&r, &cmd->cmps[i])) != 0)
            return rc;
    }
    for (size_t i = 0; i < no; i++) {
        if ((rc = rd_op(&r, &cmd->ops[i])) != 0)
            return rc;
    }
    if (r.left != 0)
        return TARN_EINVAL;
    cmd->n_cmps = (size_t)nc;
    cmd->n_ops = (size_t)no;
    return check_shape(cmd->type, cmd->cmps, cmd->n_cmps, cmd->ops, cmd->n_ops);
}
