/*
 * tests/sim/sim_disk.c: the simulated disk of one node. The log is kept as
 * bytes in CRC32C-framed records, like the WAL will be, so that a torn last
 * write is a real partial record that recovery must detect and drop, and
 * payloads of any length must come back byte-exact. The hard state is one
 * slot written atomically (a torn hard-state write keeps the old value).
 *
 * Record layout (little endian):
 *   offset size meaning
 *   0      4    payload length
 *   4      4    CRC32C of bytes 8.. end of payload
 *   8      8    term
 *   16     8    index
 *   24     4    entry type
 *   28     len  payload
 */
#include "sim.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/crc32c.h"

#include <string.h>

#define SIM_REC_HDR 28u

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
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void disk_reserve(sim_disk *d, size_t extra)
{
    if (d->len + extra <= d->cap)
        return;
    size_t cap = d->cap ? d->cap : 4096;
    while (cap < d->len + extra)
        cap *= 2;
    d->bytes = tarn_realloc(d->bytes, cap);
    TARN_ASSERT(d->bytes != NULL);
    d->cap = cap;
}

static void offs_push(sim_disk *d, size_t off)
{
    if (d->n_offs == d->cap_offs) {
        d->cap_offs = d->cap_offs ? d->cap_offs * 2 : 256;
        d->offs = tarn_realloc(d->offs, d->cap_offs * sizeof(size_t));
        TARN_ASSERT(d->offs != NULL);
    }
    d->offs[d->n_offs++] = off;
}

void sim_disk_truncate(sim_disk *d, uint64_t index)
{
    TARN_ASSERT(index > d->base);
    if (index > d->base + d->n_offs)
        return;
    d->len = d->offs[index - d->base - 1];
    d->n_offs = (size_t)(index - d->base - 1);
}

/* Drops the records a durable snapshot at index covers. */
void sim_disk_compact(sim_disk *d, uint64_t index, uint64_t term)
{
    TARN_ASSERT(index > d->base);
    TARN_ASSERT(index <= d->base + d->n_offs);
    size_t k = (size_t)(index - d->base);
    size_t cut = k < d->n_offs ? d->offs[k] : d->len;
    memmove(d->bytes, d->bytes + cut, d->len - cut);
    d->len -= cut;
    for (size_t i = k; i < d->n_offs; i++)
        d->offs[i - k] = d->offs[i] - cut;
    d->n_offs -= k;
    d->base = index;
    d->base_term = term;
}

/* An installed snapshot replaces the whole log. */
void sim_disk_reset(sim_disk *d, uint64_t index, uint64_t term)
{
    d->len = 0;
    d->n_offs = 0;
    d->base = index;
    d->base_term = term;
}

/* Writes the record for *e; with torn_bytes < record size only that prefix
 * reaches the disk (the crash happened mid-write). */
void sim_disk_append(sim_disk *d, const raft_entry *e, size_t torn_bytes)
{
    TARN_ASSERT(e->index == d->base + d->n_offs + 1);
    size_t size = SIM_REC_HDR + e->len;
    disk_reserve(d, size);
    uint8_t *p = d->bytes + d->len;
    put_u32(p, e->len);
    put_u64(p + 8, e->term);
    put_u64(p + 16, e->index);
    put_u32(p + 24, e->type);
    if (e->len > 0)
        memcpy(p + SIM_REC_HDR, e->data, e->len);
    put_u32(p + 4, crc32c(0, p + 8, size - 8));
    if (torn_bytes < size) {
        d->len += torn_bytes; /* partial record: recovery must drop it */
        return;
    }
    offs_push(d, d->len);
    d->len += size;
}

size_t sim_disk_record_size(const raft_entry *e)
{
    return SIM_REC_HDR + e->len;
}

/* Recovery after a crash: keep whole records with good checksums in index
 * order; stop at the first bad one (it can only be the torn tail). */
void sim_disk_recover(sim_disk *d)
{
    size_t off = 0;
    d->n_offs = 0;
    while (d->len - off >= SIM_REC_HDR) {
        const uint8_t *p = d->bytes + off;
        uint32_t len = get_u32(p);
        if (d->len - off - SIM_REC_HDR < len)
            break;
        if (crc32c(0, p + 8, SIM_REC_HDR - 8 + len) != get_u32(p + 4))
            break;
        if (get_u64(p + 16) != d->base + d->n_offs + 1)
            break;
        offs_push(d, off);
        off += SIM_REC_HDR + len;
    }
    d->len = off;
}

uint64_t sim_disk_last_index(const sim_disk *d)
{
    return d->base + d->n_offs;
}

int sim_disk_entry(void *ctx, uint64_t index, raft_entry *out)
{
    const sim_disk *d = ctx;
    if (index <= d->base || index > d->base + d->n_offs)
        return TARN_ENOENT;
    const uint8_t *p = d->bytes + d->offs[index - d->base - 1];
    out->len = get_u32(p);
    out->term = get_u64(p + 8);
    out->index = get_u64(p + 16);
    out->type = get_u32(p + 24);
    out->data = out->len ? (uint8_t *)(uintptr_t)(p + SIM_REC_HDR) : NULL;
    return 0;
}

void sim_disk_free(sim_disk *d)
{
    tarn_free(d->bytes);
    tarn_free(d->offs);
    memset(d, 0, sizeof(*d));
}
