/*
 * tests/sim/sim_check.c: the Raft safety properties (Dissertation Figure
 * 3.2), checked after every simulator step in O(1) per new entry:
 *
 *   election safety     at most one leader per term;
 *   log matching        two logs with an entry of the same index and term
 *                       are identical up to it: each (index, term) ever
 *                       seen maps to one chain hash of the whole prefix;
 *   leader completeness a new leader of term T holds every entry that was
 *                       committed in a term before T;
 *   state machine       every node applies at index i the entry committed
 *   safety              at i (same chain hash), in order.
 */
#include "sim.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/crc32c.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sim_u64s_set(sim_u64s *a, size_t i, uint64_t x)
{
    if (i >= a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap <= i)
            cap *= 2;
        a->v = tarn_realloc(a->v, cap * sizeof(uint64_t));
        TARN_ASSERT(a->v != NULL);
        memset(a->v + a->cap, 0, (cap - a->cap) * sizeof(uint64_t));
        a->cap = cap;
    }
    a->v[i] = x;
    if (i >= a->n)
        a->n = i + 1;
}

uint64_t sim_u64s_get(const sim_u64s *a, size_t i)
{
    return i < a->n ? a->v[i] : 0;
}

void sim_u64s_free(sim_u64s *a)
{
    tarn_free(a->v);
    memset(a, 0, sizeof(*a));
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sim_chain_next(uint64_t prev, const raft_entry *e)
{
    uint64_t h = mix64(prev ^ 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ e->term);
    h = mix64(h ^ ((uint64_t)e->len << 32 | e->type));
    return mix64(h ^ crc32c(0, e->data, e->len));
}

void sim_check_free(sim_check *c)
{
    sim_u64s_free(&c->leader_of_term);
    sim_u64s_free(&c->committed_chain);
    sim_u64s_free(&c->commit_term);
    tarn_free(c->tab_key_index);
    tarn_free(c->tab_key_term);
    tarn_free(c->tab_chain);
    memset(c, 0, sizeof(*c));
}

int sim_check_failed(const sim_check *c)
{
    return c->violation[0] != 0;
}

void sim_check_fail(sim_check *c, const char *fmt, ...)
{
    if (sim_check_failed(c))
        return; /* keep the first one: later ones are consequences */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->violation, sizeof(c->violation), fmt, ap);
    va_end(ap);
}

static void tab_grow(sim_check *c);

/* Returns the slot of (index, term), inserting `chain` when absent. */
static uint64_t tab_lookup_or_insert(sim_check *c, uint64_t index, uint64_t term, uint64_t chain)
{
    if (2 * (c->tab_n + 1) > c->tab_cap)
        tab_grow(c);
    size_t mask = c->tab_cap - 1;
    for (size_t s = mix64(index * 31 + term) & mask;; s = (s + 1) & mask) {
        if (c->tab_key_index[s] == 0) {
            c->tab_key_index[s] = index;
            c->tab_key_term[s] = term;
            c->tab_chain[s] = chain;
            c->tab_n++;
            return chain;
        }
        if (c->tab_key_index[s] == index && c->tab_key_term[s] == term)
            return c->tab_chain[s];
    }
}

static void tab_grow(sim_check *c)
{
    uint64_t *ki = c->tab_key_index, *kt = c->tab_key_term, *ch = c->tab_chain;
    size_t old = c->tab_cap;
    c->tab_cap = old ? old * 2 : 1024;
    c->tab_key_index = tarn_calloc(c->tab_cap, sizeof(uint64_t));
    c->tab_key_term = tarn_calloc(c->tab_cap, sizeof(uint64_t));
    c->tab_chain = tarn_calloc(c->tab_cap, sizeof(uint64_t));
    TARN_ASSERT(c->tab_key_index && c->tab_key_term && c->tab_chain);
    c->tab_n = 0;
    for (size_t s = 0; s < old; s++)
        if (ki[s] != 0)
            tab_lookup_or_insert(c, ki[s], kt[s], ch[s]);
    tarn_free(ki);
    tarn_free(kt);
    tarn_free(ch);
}

void sim_check_entries(sim_check *c, sim_mirror *m, uint64_t node, const raft_entry *e, size_t n)
{
    if (n == 0)
        return;
    uint64_t first = e[0].index;
    if (first <= m->offset || first > m->last + 1) {
        sim_check_fail(c, "node %llu: ready entries start at %llu past log end %llu",
                       (unsigned long long)node, (unsigned long long)first,
                       (unsigned long long)m->last);
        return;
    }
    m->last = first - 1;
    for (size_t k = 0; k < n; k++) {
        uint64_t i = first + k;
        if (e[k].index != i) {
            sim_check_fail(c, "node %llu: ready entries not contiguous", (unsigned long long)node);
            return;
        }
        uint64_t chain = sim_chain_next(sim_u64s_get(&m->chain, i - 1), &e[k]);
        sim_u64s_set(&m->term, i, e[k].term);
        sim_u64s_set(&m->chain, i, chain);
        m->last = i;
        if (tab_lookup_or_insert(c, i, e[k].term, chain) != chain)
            sim_check_fail(c, "log matching: node %llu index %llu term %llu differs in its prefix",
                           (unsigned long long)node, (unsigned long long)i,
                           (unsigned long long)e[k].term);
    }
}

void sim_check_commit(sim_check *c, sim_mirror *m, uint64_t node, uint64_t commit, uint64_t term)
{
    if (commit > m->last) {
        sim_check_fail(c, "node %llu: commit %llu beyond its log %llu", (unsigned long long)node,
                       (unsigned long long)commit, (unsigned long long)m->last);
        return;
    }
    if (m->seen_commit < m->offset)
        m->seen_commit = m->offset; /* checked when the snapshot was made */
    for (uint64_t i = m->seen_commit + 1; i <= commit; i++) {
        uint64_t chain = sim_u64s_get(&m->chain, i);
        uint64_t known = sim_u64s_get(&c->committed_chain, i);
        if (known == 0) {
            sim_u64s_set(&c->committed_chain, i, chain);
            sim_u64s_set(&c->commit_term, i, term);
            if (i > c->committed_max)
                c->committed_max = i;
        } else if (known != chain) {
            sim_check_fail(c, "node %llu committed a different entry at index %llu",
                           (unsigned long long)node, (unsigned long long)i);
            return;
        }
    }
    if (commit > m->seen_commit)
        m->seen_commit = commit;
}

void sim_check_leader(sim_check *c, const sim_mirror *m, uint64_t node, uint64_t term)
{
    uint64_t known = sim_u64s_get(&c->leader_of_term, term);
    if (known == node)
        return;
    if (known != 0) {
        sim_check_fail(c, "election safety: nodes %llu and %llu both lead term %llu",
                       (unsigned long long)known, (unsigned long long)node,
                       (unsigned long long)term);
        return;
    }
    sim_u64s_set(&c->leader_of_term, term, node);
    /* Leader completeness: the highest index committed in an earlier term
     * must be in the new leader's log, with the same prefix. */
    for (uint64_t i = c->committed_max; i > 0; i--) {
        if (sim_u64s_get(&c->commit_term, i) >= term)
            continue;
        if (i < m->offset)
            return; /* in its snapshot, checked against the committed prefix */
        if (i > m->last || sim_u64s_get(&m->chain, i) != sim_u64s_get(&c->committed_chain, i))
            sim_check_fail(c, "leader completeness: leader %llu of term %llu lacks index %llu",
                           (unsigned long long)node, (unsigned long long)term,
                           (unsigned long long)i);
        return;
    }
}

void sim_check_snapshot(sim_check *c, uint64_t node, uint64_t index, uint64_t chain)
{
    if (index > 0 && sim_u64s_get(&c->committed_chain, index) != chain)
        sim_check_fail(c, "node %llu: snapshot at %llu is not the committed prefix",
                       (unsigned long long)node, (unsigned long long)index);
}

void sim_mirror_reset(sim_mirror *m, uint64_t index, uint64_t term, uint64_t chain)
{
    m->offset = index;
    m->last = index;
    m->seen_commit = index;
    sim_u64s_set(&m->term, index, term);
    sim_u64s_set(&m->chain, index, chain);
}

void sim_check_apply(sim_check *c, const sim_mirror *m, uint64_t node, uint64_t index)
{
    uint64_t known = sim_u64s_get(&c->committed_chain, index);
    if (known == 0 || index > m->last || sim_u64s_get(&m->chain, index) != known)
        sim_check_fail(c, "state machine safety: node %llu applies index %llu not as committed",
                       (unsigned long long)node, (unsigned long long)index);
}
