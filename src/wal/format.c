/*
 * wal/format.c: encoder and decoder of the WAL's on-disk format. Design
 * note: src/wal/README.md (the same tables).
 *
 * All integers are little-endian and written byte by byte, whatever the
 * host. Nothing read from disk is trusted: the decoder answers BAD with a
 * reason, never asserts.
 *
 * Segment file "<16 hex digits of seq>.wal", preallocated to its size:
 *
 *   offset size  field
 *   0      8     magic "TARNWAL\0"
 *   8      4     version: 2 written; 1 still read (its entries have type 0)
 *   12     4     header size (48)
 *   16     8     seq: segment number (1, 2, ...; contiguous in a directory)
 *   24     8     first_index: last_index + 1 of the log when created
 *   32     8     size_bytes: preallocated size at creation
 *   40     4     reserved, zero
 *   44     4     CRC32C of bytes 0..43
 *   48     ...   records, each 8-byte aligned, then zeros to the end
 *
 * Record frame:
 *
 *   offset size  field
 *   0      4     CRC32C of: seq u64 and this frame's file offset u64
 *                (16 bytes, not stored), then bytes 4 .. frame end
 *                (length, type, reserved, body, padding). A torn length or
 *                body fails it, and so does a valid frame found anywhere
 *                but where it was written (inside a payload, stale bytes).
 *   4      4     body length in bytes
 *   8      1     type: 1 entry, 2 hard state, 3 snapshot marker, 4 truncate
 *   9      1     entry type (the host's, 0..255) for an entry in a version 2
 *                segment; zero otherwise
 *   10     2     reserved, zero
 *   12     4     synced_off: the segment was durable (fdatasync returned)
 *                up to this offset when the record was written; at most
 *                the record's own offset. Recovery uses it to tell damage
 *                to synced data from a torn unsynced batch.
 *   16     len   body
 *   16+len pad   zeros up to a multiple of 8 (covered by the CRC)
 *
 * An all-zero 16-byte header is the end of the records (the preallocated
 * tail). Bodies:
 *
 *   entry (len 16 + n):  0 index u64 | 8 term u64 | 16 payload (n bytes)
 *   hard state (24):     0 term u64 | 8 vote u64 | 16 commit u64
 *   snapshot (16):       0 index u64 | 8 term u64
 *   truncate (8):        0 from_index u64 (drop entries >= from_index)
 */
#include "wal/wal_int.h"

#include "base/crc32c.h"

#include <string.h>

static const uint8_t wal_magic[8] = {'T', 'A', 'R', 'N', 'W', 'A', 'L', 0};

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void wal_seg_hdr_encode(uint8_t out[WAL_SEG_HDR_SIZE], const wal_seg_hdr *h)
{
    TARN_ASSERT(h->seq > 0);
    TARN_ASSERT(h->first_index > 0);
    memset(out, 0, WAL_SEG_HDR_SIZE);
    memcpy(out, wal_magic, 8);
    put_u32(out + 8, WAL_VERSION);
    put_u32(out + 12, WAL_SEG_HDR_SIZE);
    put_u64(out + 16, h->seq);
    put_u64(out + 24, h->first_index);
    put_u64(out + 32, h->size_bytes);
    put_u32(out + WAL_SEG_HDR_CRC_OFF, crc32c(0, out, WAL_SEG_HDR_CRC_OFF));
#ifdef TARN_DEBUG_ASSERTS
    /* Check what we are about to write by reading it back. */
    wal_seg_hdr back;
    const char *why;
    TARN_DASSERT(wal_seg_hdr_decode(out, &back, &why) == 0);
    TARN_DASSERT(back.seq == h->seq);
    TARN_DASSERT(back.first_index == h->first_index);
#endif
}

int wal_seg_hdr_decode(const uint8_t in[WAL_SEG_HDR_SIZE], wal_seg_hdr *h, const char **why)
{
    if (memcmp(in, wal_magic, 8) != 0)
        return *why = "bad segment magic", TARN_ECORRUPT;
    if (get_u32(in + WAL_SEG_HDR_CRC_OFF) != crc32c(0, in, WAL_SEG_HDR_CRC_OFF))
        return *why = "segment header checksum mismatch", TARN_ECORRUPT;
    uint32_t version = get_u32(in + 8);
    if (version < WAL_VERSION_MIN || version > WAL_VERSION)
        return *why = "unsupported segment format version (written by another tarn version?)",
               TARN_ECORRUPT;
    if (get_u32(in + 12) != WAL_SEG_HDR_SIZE)
        return *why = "bad segment header size", TARN_ECORRUPT;
    if (get_u32(in + 40) != 0)
        return *why = "segment header reserved bytes not zero", TARN_ECORRUPT;
    h->seq = get_u64(in + 16);
    h->first_index = get_u64(in + 24);
    h->size_bytes = get_u64(in + 32);
    h->version = version;
    if (h->seq == 0 || h->first_index == 0)
        return *why = "segment header seq or first index is zero", TARN_ECORRUPT;
    return 0;
}

/* The CRC of a frame at file offset `off` of segment `seq`. */
static uint32_t frame_crc(const uint8_t *frame, size_t frame_len, uint64_t seq, uint64_t off)
{
    uint8_t where[16];
    put_u64(where, seq);
    put_u64(where + 8, off);
    return crc32c(crc32c(0, where, sizeof(where)), frame + 4, frame_len - 4);
}

/* Frames a body of body_len bytes whose first fixed bytes are in `fixed`
 * (fixed_len) followed by `tail` (tail_len). */
static int rec_encode(tarn_buf *b, wal_rec_pos pos, int type, uint8_t entry_type,
                      const uint8_t *fixed, size_t fixed_len, const uint8_t *tail, size_t tail_len)
{
    size_t body_len = fixed_len + tail_len;
    TARN_ASSERT(body_len <= WAL_BODY_MAX);
    size_t frame = wal_frame_size(body_len);
    int rc = tarn_buf_reserve(b, frame);
    if (rc != 0)
        return rc;
    uint8_t *p = b->data + b->len;
    memset(p, 0, frame); /* zero header reserved bytes and padding */
    put_u32(p + 4, (uint32_t)body_len);
    p[8] = (uint8_t)type;
    TARN_ASSERT(type == WAL_REC_ENTRY || entry_type == 0);
    p[9] = entry_type;
    TARN_ASSERT(pos.synced_off <= pos.base_off + b->len);
    put_u32(p + 12, pos.synced_off);
    memcpy(p + WAL_REC_HDR_SIZE, fixed, fixed_len);
    if (tail_len > 0)
        memcpy(p + WAL_REC_HDR_SIZE + fixed_len, tail, tail_len);
    uint64_t off = pos.base_off + b->len;
    TARN_ASSERT(off % WAL_ALIGN == 0);
    put_u32(p, frame_crc(p, frame, pos.seq, off));
    b->len += frame;
#ifdef TARN_DEBUG_ASSERTS
    wal_rec back;
    const char *why;
    TARN_DASSERT(wal_rec_decode(p, frame, pos.seq, WAL_VERSION, off, &back, &why) == WAL_DEC_OK);
    TARN_DASSERT(back.frame_bytes == frame);
    TARN_DASSERT(back.type == type);
    TARN_DASSERT(back.entry_type == entry_type);
#endif
    return 0;
}

int wal_rec_encode_entry(tarn_buf *b, wal_rec_pos pos, const wal_entry *e)
{
    TARN_ASSERT(e->len <= WAL_PAYLOAD_MAX);
    TARN_ASSERT(e->len == 0 || e->data != NULL);
    uint8_t fixed[WAL_ENTRY_BODY_FIXED];
    put_u64(fixed, e->index);
    put_u64(fixed + 8, e->term);
    return rec_encode(b, pos, WAL_REC_ENTRY, e->type, fixed, sizeof(fixed), e->data, e->len);
}

int wal_rec_encode_hs(tarn_buf *b, wal_rec_pos pos, const wal_hard_state *hs)
{
    uint8_t body[WAL_HS_BODY_SIZE];
    put_u64(body, hs->term);
    put_u64(body + 8, hs->vote);
    put_u64(body + 16, hs->commit);
    return rec_encode(b, pos, WAL_REC_HARD_STATE, 0, body, sizeof(body), NULL, 0);
}

int wal_rec_encode_snap(tarn_buf *b, wal_rec_pos pos, uint64_t index, uint64_t term)
{
    uint8_t body[WAL_SNAP_BODY_SIZE];
    put_u64(body, index);
    put_u64(body + 8, term);
    return rec_encode(b, pos, WAL_REC_SNAPSHOT, 0, body, sizeof(body), NULL, 0);
}

int wal_rec_encode_trunc(tarn_buf *b, wal_rec_pos pos, uint64_t from_index)
{
    uint8_t body[WAL_TRUNC_BODY_SIZE];
    put_u64(body, from_index);
    return rec_encode(b, pos, WAL_REC_TRUNCATE, 0, body, sizeof(body), NULL, 0);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* Checks the body length against the type. */
static int body_len_ok(int type, size_t len)
{
    switch (type) {
    case WAL_REC_ENTRY:
        return len >= WAL_ENTRY_BODY_FIXED && len <= WAL_BODY_MAX;
    case WAL_REC_HARD_STATE:
        return len == WAL_HS_BODY_SIZE;
    case WAL_REC_SNAPSHOT:
        return len == WAL_SNAP_BODY_SIZE;
    case WAL_REC_TRUNCATE:
        return len == WAL_TRUNC_BODY_SIZE;
    default:
        return 0;
    }
}

int wal_rec_decode(const uint8_t *in, size_t avail, uint64_t seq, uint32_t version, uint64_t off,
                   wal_rec *r, const char **why)
{
    if (avail < WAL_REC_HDR_SIZE)
        return all_zero(in, avail) ? WAL_DEC_END : (*why = "truncated record header", WAL_DEC_BAD);
    if (all_zero(in, WAL_REC_HDR_SIZE))
        return WAL_DEC_END;
    size_t len = get_u32(in + 4);
    int type = in[8];
    if (!body_len_ok(type, len))
        return *why = "bad record type or length", WAL_DEC_BAD;
    /* Byte 9 is the entry type of an entry in a version 2 segment. */
    int typed = type == WAL_REC_ENTRY && version >= 2;
    if (!all_zero(in + 9 + typed, (size_t)(3 - typed)))
        return *why = "record reserved bytes not zero", WAL_DEC_BAD;
    size_t frame = wal_frame_size(len);
    if (frame > avail)
        return *why = "record runs past the end of the segment", WAL_DEC_BAD;
    if (get_u32(in) != frame_crc(in, frame, seq, off))
        return *why = "record checksum mismatch", WAL_DEC_BAD;
    uint32_t synced_off = get_u32(in + 12);
    if (synced_off > off)
        return *why = "record claims durability beyond itself", WAL_DEC_BAD;
    const uint8_t *body = in + WAL_REC_HDR_SIZE;
    memset(r, 0, sizeof(*r));
    r->synced_off = synced_off;
    r->type = type;
    r->entry_type = typed ? in[9] : 0;
    r->frame_bytes = frame;
    r->a = get_u64(body);
    if (type != WAL_REC_TRUNCATE)
        r->b = get_u64(body + 8);
    if (type == WAL_REC_HARD_STATE)
        r->c = get_u64(body + 16);
    if (type == WAL_REC_ENTRY) {
        r->payload = body + WAL_ENTRY_BODY_FIXED;
        r->payload_len = len - WAL_ENTRY_BODY_FIXED;
    }
    return WAL_DEC_OK;
}
