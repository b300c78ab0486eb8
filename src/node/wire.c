/*
 * node/wire.c: the bodies of the frames node/ sends over its transport
 * (transport.h carries them; this file gives them meaning). All integers
 * little-endian. Decoding treats the bytes as untrusted: a short body, a
 * length past the end, trailing bytes, an unknown kind, or more entries than
 * RAFT_MAX_ENTRIES_PER_MSG is TARN_EINVAL (the transport then closes the
 * connection); raft_step checks the message's meaning afterwards.
 *
 * RAFT (kind 2): one raft_msg.
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 1 | kind = 2 |
 * | 1 | 4 | type |
 * | 5 | 4 | reject |
 * | 9 | 8 x 8 | from, to, term, index, log_term, commit, reject_hint, context |
 * | 73 | 4 | n_entries |
 * | 77 | ... | entries: term u64, index u64, type u32, len u32, len bytes |
 *
 * FWD_PROPOSE (3): kind, req_id u64, command bytes (>= 1).
 * FWD_READ (4): kind, req_id u64.
 * SNAP_CHUNK (6): kind, snap_id u64, offset u64, total u64, bytes of a
 * store snapshot stream (store.h) at offset; the last chunk ends at total.
 * FWD_REPLY (5): kind, req_id u64, rc i32 (0 or TARN_E*), code i32 (the
 * state machine's result code), index u64 (a read's read index, a
 * proposal's log index), result bytes (the rest).
 */
#include "node/node_int.h"

#include "base/alloc.h"

#include <string.h>

#define WIRE_RAFT_FIXED  77
#define WIRE_ENTRY_FIXED 24
#define WIRE_FWD_FIXED   9
#define WIRE_REPLY_FIXED 25
#define WIRE_CHUNK_FIXED 25

static int wput_u32(tarn_buf *b, uint32_t v)
{
    uint8_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return tarn_buf_append(b, p, 4);
}

static int wput_u64(tarn_buf *b, uint64_t v)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return tarn_buf_append(b, p, 8);
}

static uint32_t wget_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t wget_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int node_wire_encode_raft(tarn_buf *b, const raft_msg *m)
{
    tarn_buf_reset(b);
    int rc = tarn_buf_append_byte(b, NODE_WIRE_RAFT);
    if (rc == 0)
        rc = wput_u32(b, m->type);
    if (rc == 0)
        rc = wput_u32(b, m->reject);
    const uint64_t f[8] = {m->from,     m->to,     m->term,        m->index,
                           m->log_term, m->commit, m->reject_hint, m->context};
    for (size_t i = 0; rc == 0 && i < 8; i++)
        rc = wput_u64(b, f[i]);
    if (rc == 0)
        rc = wput_u32(b, (uint32_t)m->n_entries);
    for (size_t i = 0; rc == 0 && i < m->n_entries; i++) {
        const raft_entry *e = &m->entries[i];
        rc = wput_u64(b, e->term);
        if (rc == 0)
            rc = wput_u64(b, e->index);
        if (rc == 0)
            rc = wput_u32(b, e->type);
        if (rc == 0)
            rc = wput_u32(b, e->len);
        if (rc == 0 && e->len)
            rc = tarn_buf_append(b, e->data, e->len);
    }
    return rc;
}

int node_wire_encode_fwd(tarn_buf *b, uint8_t kind, uint64_t req_id, const void *data, size_t len)
{
    tarn_buf_reset(b);
    int rc = tarn_buf_append_byte(b, kind);
    if (rc == 0)
        rc = wput_u64(b, req_id);
    if (rc == 0 && len)
        rc = tarn_buf_append(b, data, len);
    return rc;
}

int node_wire_encode_reply(tarn_buf *b, uint64_t req_id, int rc_out, int code, uint64_t index,
                           const void *data, size_t len)
{
    tarn_buf_reset(b);
    int rc = tarn_buf_append_byte(b, NODE_WIRE_FWD_REPLY);
    if (rc == 0)
        rc = wput_u64(b, req_id);
    if (rc == 0)
        rc = wput_u32(b, (uint32_t)rc_out);
    if (rc == 0)
        rc = wput_u32(b, (uint32_t)code);
    if (rc == 0)
        rc = wput_u64(b, index);
    if (rc == 0 && len)
        rc = tarn_buf_append(b, data, len);
    return rc;
}

int node_wire_encode_chunk(tarn_buf *b, uint64_t snap_id, uint64_t offset, uint64_t total,
                           const void *data, size_t len)
{
    tarn_buf_reset(b);
    int rc = tarn_buf_append_byte(b, NODE_WIRE_SNAP_CHUNK);
    if (rc == 0)
        rc = wput_u64(b, snap_id);
    if (rc == 0)
        rc = wput_u64(b, offset);
    if (rc == 0)
        rc = wput_u64(b, total);
    if (rc == 0 && len)
        rc = tarn_buf_append(b, data, len);
    return rc;
}

/* Counts and checks the entries of a RAFT body; TARN_EINVAL when they do
 * not exactly fill it. */
static int wire_raft_scan(const uint8_t *body, size_t len, uint32_t *n_out)
{
    if (len < WIRE_RAFT_FIXED)
        return TARN_EINVAL;
    uint32_t n = wget_u32(body + 73);
    if (n > RAFT_MAX_ENTRIES_PER_MSG)
        return TARN_EINVAL;
    size_t off = WIRE_RAFT_FIXED;
    for (uint32_t i = 0; i < n; i++) {
        if (len - off < WIRE_ENTRY_FIXED)
            return TARN_EINVAL;
        uint32_t el = wget_u32(body + off + 20);
        off += WIRE_ENTRY_FIXED;
        if (el > len - off)
            return TARN_EINVAL;
        off += el;
    }
    if (off != len)
        return TARN_EINVAL;
    *n_out = n;
    return 0;
}

static void wire_raft_fill(node_inmsg *m, const uint8_t *body, uint32_t n)
{
    raft_msg *r = &m->msg;
    r->type = wget_u32(body + 1);
    r->reject = wget_u32(body + 5);
    uint64_t *f[8] = {&r->from,     &r->to,     &r->term,        &r->index,
                      &r->log_term, &r->commit, &r->reject_hint, &r->context};
    for (size_t i = 0; i < 8; i++)
        *f[i] = wget_u64(body + 9 + 8 * i);
    r->entries = n ? m->ents : NULL;
    r->n_entries = n;
    size_t off = WIRE_RAFT_FIXED;
    for (uint32_t i = 0; i < n; i++) {
        raft_entry *e = &m->ents[i];
        e->term = wget_u64(body + off);
        e->index = wget_u64(body + off + 8);
        e->type = wget_u32(body + off + 16);
        e->len = wget_u32(body + off + 20);
        off += WIRE_ENTRY_FIXED;
        e->data = e->len ? (uint8_t *)body + off : NULL;
        off += e->len;
    }
}

int node_wire_decode(uint64_t from, const uint8_t *body, size_t len, node_inmsg **out)
{
    if (len < 1)
        return TARN_EINVAL;
    uint8_t kind = body[0];
    uint32_t n = 0;
    int rc = 0;
    if (kind == NODE_WIRE_RAFT)
        rc = wire_raft_scan(body, len, &n);
    else if (kind == NODE_WIRE_FWD_PROPOSE)
        rc = len > WIRE_FWD_FIXED ? 0 : TARN_EINVAL;
    else if (kind == NODE_WIRE_FWD_READ)
        rc = len == WIRE_FWD_FIXED ? 0 : TARN_EINVAL;
    else if (kind == NODE_WIRE_FWD_REPLY)
        rc = len >= WIRE_REPLY_FIXED ? 0 : TARN_EINVAL;
    else if (kind == NODE_WIRE_SNAP_CHUNK)
        rc = len > WIRE_CHUNK_FIXED ? 0 : TARN_EINVAL;
    else
        rc = TARN_EINVAL;
    if (rc != 0)
        return rc;
    /* One allocation: the struct, the entry array, then the body copy. */
    size_t ents_bytes = (size_t)n * sizeof(raft_entry);
    node_inmsg *m = tarn_calloc(1, sizeof(*m) + ents_bytes + len);
    if (!m)
        return TARN_ENOMEM;
    m->ents = (raft_entry *)(void *)(m + 1);
    uint8_t *copy = (uint8_t *)m->ents + ents_bytes;
    memcpy(copy, body, len);
    m->kind = kind;
    m->from = from;
    if (kind == NODE_WIRE_RAFT) {
        wire_raft_fill(m, copy, n);
    } else if (kind == NODE_WIRE_SNAP_CHUNK) {
        m->req_id = wget_u64(copy + 1);
        m->index = wget_u64(copy + 9);
        m->total = wget_u64(copy + 17);
        m->data = copy + WIRE_CHUNK_FIXED;
        m->len = len - WIRE_CHUNK_FIXED;
    } else {
        m->req_id = wget_u64(copy + 1);
        size_t fixed = kind == NODE_WIRE_FWD_REPLY ? WIRE_REPLY_FIXED : WIRE_FWD_FIXED;
        if (kind == NODE_WIRE_FWD_REPLY) {
            m->rc = (int32_t)wget_u32(copy + 9);
            m->code = (int32_t)wget_u32(copy + 13);
            m->index = wget_u64(copy + 17);
        }
        m->data = copy + fixed;
        m->len = len - fixed;
    }
    *out = m;
    return 0;
}
