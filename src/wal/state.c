/*
 * wal/state.c: the log state machine. Recovery replays every record into
 * it and the running handle applies each operation to it before writing,
 * so the meaning of a record on disk is defined in one place. Design note:
 * src/wal/README.md ("Replay rules").
 *
 * A replay starts from the first segment's header: last_index is
 * first_index - 1 of that segment, because the segments before it may
 * have been removed by compaction. Entries below that are then unknown,
 * which is why ents may start above snap_index + 1 during a replay; the
 * final check (wal_state_check_final) demands that a snapshot marker
 * covers any such hole.
 */
#include "wal/wal_int.h"

#include "base/alloc.h"

#include <string.h>

void wal_state_init(wal_state *s, uint64_t last_index, int keep_payload)
{
    memset(s, 0, sizeof(*s));
    s->last_index = last_index;
    s->keep_payload = keep_payload;
}

static void drop_range(wal_state *s, size_t from, size_t to)
{
    if (!s->keep_payload)
        return;
    for (size_t i = from; i < to; i++) {
        tarn_free((void *)s->ents[i].data);
        s->ents[i].data = NULL;
    }
}

void wal_state_free(wal_state *s)
{
    drop_range(s, 0, s->count);
    tarn_free(s->ents);
    memset(s, 0, sizeof(*s));
}

/* Position of index in ents, or count when absent. */
static size_t pos_of(const wal_state *s, uint64_t index)
{
    if (s->count == 0 || index < s->ents[0].index)
        return s->count;
    uint64_t off = index - s->ents[0].index;
    return off < s->count ? (size_t)off : s->count;
}

int wal_state_entry(wal_state *s, const wal_entry *e, const char **why)
{
    if (e->index <= s->snap_index)
        return *why = "entry at or below the snapshot marker", TARN_EINVAL;
    if (e->index > s->last_index + 1)
        return *why = "entry index leaves a gap", TARN_EINVAL;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        wal_entry *n = tarn_realloc(s->ents, cap * sizeof(*n));
        if (n == NULL)
            return TARN_ENOMEM;
        s->ents = n;
        s->cap = cap;
    }
    uint8_t *copy = NULL;
    if (s->keep_payload && e->len > 0) {
        copy = tarn_malloc(e->len);
        if (copy == NULL)
            return TARN_ENOMEM;
        memcpy(copy, e->data, e->len);
    }
    /* An index at or below last_index overwrites the suffix from there. */
    if (s->count > 0 && e->index < s->ents[0].index) {
        drop_range(s, 0, s->count);
        s->count = 0;
    } else if (s->count > 0) {
        size_t p = pos_of(s, e->index);
        drop_range(s, p, s->count);
        s->count = p;
    }
    TARN_DASSERT(s->count == 0 || s->ents[s->count - 1].index + 1 == e->index);
    s->ents[s->count++] = (wal_entry){
        .index = e->index, .term = e->term, .data = copy, .len = e->len, .type = e->type};
    s->last_index = e->index;
    return 0;
}

int wal_state_truncate(wal_state *s, uint64_t from_index, const char **why)
{
    if (from_index <= s->snap_index)
        return *why = "truncation at or below the snapshot marker", TARN_EINVAL;
    if (from_index > s->last_index + 1)
        return *why = "truncation beyond the end of the log", TARN_EINVAL;
    size_t p = (s->count > 0 && from_index < s->ents[0].index) ? 0 : pos_of(s, from_index);
    drop_range(s, p, s->count);
    s->count = p;
    s->last_index = from_index - 1;
    return 0;
}

int wal_state_snapshot(wal_state *s, uint64_t index, uint64_t term, const char **why)
{
    if (index < s->snap_index)
        return *why = "snapshot marker below an earlier one", TARN_EINVAL;
    if (index == s->snap_index && index > 0 && term != s->snap_term)
        return *why = "snapshot marker with another term at the same index", TARN_EINVAL;
    size_t p = pos_of(s, index);
    if (p < s->count && s->ents[p].term != term)
        return *why = "snapshot marker term differs from the entry at its index", TARN_EINVAL;
    /* Drop entries at or below index; keep the rest. */
    size_t keep_from = 0;
    if (s->count > 0 && index >= s->ents[0].index)
        keep_from = p < s->count ? p + 1 : s->count;
    drop_range(s, 0, keep_from);
    if (keep_from > 0)
        memmove(s->ents, s->ents + keep_from, (s->count - keep_from) * sizeof(*s->ents));
    s->count -= keep_from;
    s->snap_index = index;
    s->snap_term = term;
    if (s->last_index < index)
        s->last_index = index;
    return 0;
}

void wal_state_hard_state(wal_state *s, const wal_hard_state *hs)
{
    s->has_hs = 1;
    s->hs = *hs;
}

int wal_state_check_final(const wal_state *s, const char **why)
{
    if (s->last_index < s->snap_index)
        return *why = "log ends below its snapshot marker", TARN_EINVAL;
    uint64_t want = s->last_index - s->snap_index;
    if (s->count != want)
        return *why = "entries missing between the snapshot marker and the log's end", TARN_EINVAL;
    if (s->count > 0 && s->ents[0].index != s->snap_index + 1)
        return *why = "log does not start right after its snapshot marker", TARN_EINVAL;
    return 0;
}

int wal_state_check_append(const wal_state *s, const wal_entry *e, size_t n, const char **why)
{
    if (n == 0)
        return 0;
    if (e[0].index <= s->snap_index)
        return *why = "entry at or below the snapshot marker", TARN_EINVAL;
    if (e[0].index > s->last_index + 1)
        return *why = "entry index leaves a gap", TARN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && e[i].index != e[i - 1].index + 1)
            return *why = "entries not contiguous", TARN_EINVAL;
        if (e[i].len > 0 && e[i].data == NULL)
            return *why = "entry payload is NULL", TARN_EINVAL;
        if (e[i].len > WAL_PAYLOAD_MAX)
            return *why = "entry payload larger than WAL_PAYLOAD_MAX", TARN_ETOOBIG;
    }
    return 0;
}
