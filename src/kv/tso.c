/*
 * kv/tso.c: the timestamp oracle's allocation function. Pure: the clock
 * reading comes in as an argument, the state is the caller's. Design
 * note: src/kv/README.md ("TSO").
 *
 * A timestamp is physical_ms << 18 | logical. The leader may hand out a
 * timestamp only while its physical part is below the window reserved
 * through Raft and applied (limit_ms); a new leader starts at the applied
 * window, above anything its predecessor could have handed out.
 */
#include "kv/kv.h"

#include "base/assert.h"

kv_tso_state kv_tso_leader_start(uint64_t reserved_ms)
{
    TARN_ASSERT(reserved_ms <= KV_TSO_PHYSICAL_MAX);
    /* last_ts = make(reserved, 0): the next one is strictly greater, and
     * the predecessor's were all below make(reserved, 0). */
    kv_tso_state s = {.limit_ms = reserved_ms, .last_ts = kv_tso_make(reserved_ms, 0)};
    return s;
}

void kv_tso_set_limit(kv_tso_state *s, uint64_t reserved_ms)
{
    /* Clamped so that make(limit, 0) never overflows 64 bits. */
    if (reserved_ms > KV_TSO_PHYSICAL_MAX)
        reserved_ms = KV_TSO_PHYSICAL_MAX;
    if (reserved_ms > s->limit_ms)
        s->limit_ms = reserved_ms;
}

int kv_tso_next(kv_tso_state *s, int64_t now_ms, uint32_t count, uint64_t *first)
{
    if (count == 0 || count > KV_TSO_BATCH_MAX)
        return TARN_EINVAL;
    if (now_ms < 0 || (uint64_t)now_ms > KV_TSO_PHYSICAL_MAX)
        return TARN_ERANGE;
    uint64_t last_phys = s->last_ts >> KV_TSO_LOGICAL_BITS;
    uint64_t phys = (uint64_t)now_ms > last_phys ? (uint64_t)now_ms : last_phys;
    uint64_t start = phys == last_phys ? s->last_ts + 1 : kv_tso_make(phys, 0);
    /* The whole batch shares one physical ms; on overflow take the next. */
    if ((start & (KV_TSO_LOGICAL_MAX - 1)) + count > KV_TSO_LOGICAL_MAX)
        start = kv_tso_make((start >> KV_TSO_LOGICAL_BITS) + 1, 0);
    phys = start >> KV_TSO_LOGICAL_BITS;
    if (phys >= s->limit_ms || phys > KV_TSO_PHYSICAL_MAX)
        return TARN_EBUSY;
    uint64_t last = start + count - 1;
    TARN_ASSERT(start > s->last_ts);
    TARN_ASSERT(last >> KV_TSO_LOGICAL_BITS == phys);
    s->last_ts = last;
    *first = start;
    return 0;
}
