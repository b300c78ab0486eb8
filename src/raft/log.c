/*
 * raft/log.c: the core's in-memory copy of the Raft log. The durable copy
 * lives with the host (the WAL); this one is filled from it at raft_open
 * and kept in step through the Ready contract. Design note: README.md.
 */
#include "raft/raft_int.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <string.h>

uint64_t raft_log_last_index(const raft_log *l)
{
    return l->offset + l->n;
}

uint64_t raft_log_term_at(const raft_log *l, uint64_t index)
{
    if (index == l->offset)
        return l->offset_term;
    if (index < l->offset || index > raft_log_last_index(l))
        return 0;
    return l->ents[index - l->offset - 1].term;
}

const raft_entry *raft_log_at(const raft_log *l, uint64_t index)
{
    if (index <= l->offset || index > raft_log_last_index(l))
        return NULL;
    return &l->ents[index - l->offset - 1];
}

int raft_entry_copy(raft_entry *dst, const raft_entry *src)
{
    *dst = *src;
    dst->data = NULL;
    if (src->len == 0)
        return 0;
    dst->data = tarn_malloc(src->len);
    if (dst->data == NULL)
        return TARN_ENOMEM;
    memcpy(dst->data, src->data, src->len);
    return 0;
}

void raft_entry_free(raft_entry *e)
{
    tarn_free(e->data);
    e->data = NULL;
}

/* Appends a deep copy of *e, which must be the next index. On error the
 * log is unchanged. */
int raft_log_append_copy(raft_log *l, const raft_entry *e)
{
    TARN_ASSERT(e->index == raft_log_last_index(l) + 1);
    TARN_ASSERT(e->term >= raft_log_term_at(l, e->index - 1));
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        raft_entry *ents = tarn_realloc(l->ents, cap * sizeof(*ents));
        if (ents == NULL)
            return TARN_ENOMEM;
        l->ents = ents;
        l->cap = cap;
    }
    int rc = raft_entry_copy(&l->ents[l->n], e);
    if (rc != 0)
        return rc;
    l->n++;
    l->bytes += e->len;
    return 0;
}

/* Drops entries >= index (a conflict, Dissertation 3.5). What was durable
 * at or beyond index is no longer ours: the next Ready rewrites it. */
void raft_log_truncate_from(raft_log *l, uint64_t index)
{
    TARN_ASSERT(index > l->offset);
    while (raft_log_last_index(l) >= index) {
        raft_entry *e = &l->ents[l->n - 1];
        l->bytes -= e->len;
        raft_entry_free(e);
        l->n--;
    }
    if (l->stable >= index)
        l->stable = index - 1;
}

/* Drops entries <= index, which a durable snapshot covers. */
void raft_log_compact(raft_log *l, uint64_t index)
{
    TARN_ASSERT(index > l->offset);
    TARN_ASSERT(index <= l->stable);
    size_t k = (size_t)(index - l->offset);
    uint64_t term = raft_log_term_at(l, index);
    for (size_t i = 0; i < k; i++) {
        l->bytes -= l->ents[i].len;
        raft_entry_free(&l->ents[i]);
    }
    memmove(l->ents, l->ents + k, (l->n - k) * sizeof(raft_entry));
    l->n -= k;
    l->offset = index;
    l->offset_term = term;
}

/* Replaces the whole log by a snapshot at (index, term), as the host's
 * durable log will be once it installed it. */
void raft_log_restore(raft_log *l, uint64_t index, uint64_t term)
{
    for (size_t i = 0; i < l->n; i++)
        raft_entry_free(&l->ents[i]);
    l->n = 0;
    l->bytes = 0;
    l->offset = index;
    l->offset_term = term;
    l->stable = index;
}

void raft_log_free(raft_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        raft_entry_free(&l->ents[i]);
    tarn_free(l->ents);
    memset(l, 0, sizeof(*l));
}

/* Dissertation 3.6.1: a candidate's log is at least as up-to-date as ours
 * when its last term is higher, or equal with an index at least ours. */
int raft_log_is_up_to_date(const raft_log *l, uint64_t last_index, uint64_t last_term)
{
    uint64_t my_last = raft_log_last_index(l);
    uint64_t my_term = raft_log_term_at(l, my_last);
    return last_term > my_term || (last_term == my_term && last_index >= my_last);
}

/*
 * The largest index <= `index` whose term is <= `term`: no entry after it
 * can match a log whose entry at `index` has term `term`, because terms
 * never decrease along a log. Used on both sides of fast backtracking.
 */
uint64_t raft_log_find_conflict_by_term(const raft_log *l, uint64_t index, uint64_t term)
{
    uint64_t last = raft_log_last_index(l);
    if (index > last)
        index = last;
    while (index > l->offset && raft_log_term_at(l, index) > term)
        index--;
    return index;
}
