/*
 * tests/sim/linz.c: the linearizability checker (see linz.h). Per key:
 *
 *   1. prune: reads that never returned say nothing; a write that never
 *      returned and whose value no read saw can be linearized after
 *      everything else, so it is dropped (sound for a register); a write
 *      that never returned but was seen must take effect before the first
 *      read that saw it returned, so that becomes its return (values are
 *      unique per key), which leaves no pending operation to explore;
 *   2. lay the calls and returns out on a doubly linked list in time order;
 *   3. search (Lowe's form of Wing & Gong): walk the list; at a call, try to
 *      linearize that operation now (the model accepts it and the pair
 *      (linearized set, value) is new): lift its call and return out of the
 *      list, push, restart from the head; at a return, the operation it
 *      closes was not linearized in time: pop the last choice, put it back,
 *      and try the next call after it. An empty list is a linearization; an
 *      empty stack at a return is a proof there is none.
 *
 * The linearized set is a bitset with an incremental Zobrist hash, so a
 * cache probe costs O(1) expected plus one bitset compare on a hit.
 *
 * The versioned kv model (linz.h) runs the same search over the state
 * (value, version). Its pruning keeps a pending write nobody saw (it is
 * not droppable there: had it taken effect, every later version is one
 * higher), so the search meets pending operations: their returns sort
 * last, and reaching one means every completed operation is linearized
 * (the pending ones that are not yet simply never took effect).
 *
 * Pending blind puts nobody saw are interchangeable: no read or failed
 * compare ever returns their values, so only how many of them took effect
 * (the versions) can matter. Their values become one LINZ_UNSEEN, and the
 * search linearizes them only in call order (an exchange argument: a
 * linearization using a later-called one where an earlier-called one is
 * still free stays valid with the two swapped). Without that, k of them
 * would multiply the states by up to 2^k.
 *
 * The search is exponential in the worst case: many long writes to one
 * register all overlapping (a leader cut off for a while) can defeat the
 * memoization. When a key's search exceeds its step budget, the key is
 * decided instead by the zone test that is exact for registers whose
 * values are unique (Gibbons & Korach 1997; the form used by Anderson et
 * al., "What consistency does your key-value store actually provide?",
 * 2010): group each write with the reads of its value; the cluster's zone
 * runs from its earliest return f to its latest call s; f < s makes it a
 * forward zone. The history is linearizable iff no two forward zones
 * overlap and no backward zone lies inside a forward zone. test_linz checks
 * the two deciders against each other on random histories.
 */
#include "linz.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINZ_DEFAULT_BUDGET  100000ULL /* search steps per key */
#define LINZ_CACHE_MAX_BYTES (512u << 20)
#define LINZ_UNSEEN          (UINT64_MAX - 1) /* value of pending puts nobody saw */

typedef struct linz_event {
    uint64_t time;
    uint32_t op;
    int is_call;
} linz_event;

/* The model's state: the plain register uses value only. */
typedef struct linz_state {
    uint64_t value;
    uint64_t version;
} linz_state;

typedef struct linz_cache {
    uint64_t *hash; /* 0: empty slot */
    uint64_t *value;
    uint64_t *version;
    uint64_t *sets; /* words per entry, in slot order */
    size_t cap;
    size_t n;
    size_t words;
} linz_cache;

typedef struct linz_frame {
    uint32_t call; /* event index of the lifted call */
    linz_state before;
} linz_frame;

/* One key's search state. */
typedef struct linz_run {
    const linz_op *ops; /* this key's ops, m of them */
    size_t m;
    linz_event *ev; /* 2m events; ev[2m] is the list head */
    uint32_t *next, *prev, *match;
    uint64_t *set; /* linearized ops */
    uint64_t set_hash;
    uint64_t *zob; /* per-op random */
    linz_cache cache;
    linz_frame *stack;
    size_t depth;
    size_t best_depth;    /* most operations ever linearized at once */
    int64_t *unseen_rank; /* per op: rank among unseen pending puts by call, or -1 */
    int64_t unseen_done;  /* how many of those are linearized (always a prefix) */
} linz_run;

static uint64_t linz_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int linz_event_cmp(const void *a, const void *b)
{
    const linz_event *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->op != y->op) /* pending returns all share LINZ_PENDING */
        return x->op < y->op ? -1 : 1;
    return y->is_call - x->is_call;
}

static int linz_cache_grow(linz_cache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1024;
    if ((double)cap * (double)(c->words + 2) * 8.0 > LINZ_CACHE_MAX_BYTES)
        return 0;
    linz_cache nc = {.cap = cap, .words = c->words};
    nc.hash = tarn_calloc(cap, sizeof(uint64_t));
    nc.value = tarn_calloc(cap, sizeof(uint64_t));
    nc.version = tarn_calloc(cap, sizeof(uint64_t));
    nc.sets = tarn_calloc(cap * c->words, sizeof(uint64_t));
    TARN_ASSERT(nc.hash && nc.value && nc.version && nc.sets);
    for (size_t i = 0; i < c->cap; i++) {
        if (c->hash[i] == 0)
            continue;
        size_t s = c->hash[i] & (cap - 1);
        while (nc.hash[s] != 0)
            s = (s + 1) & (cap - 1);
        nc.hash[s] = c->hash[i];
        nc.value[s] = c->value[i];
        nc.version[s] = c->version[i];
        memcpy(nc.sets + s * c->words, c->sets + i * c->words, c->words * sizeof(uint64_t));
        nc.n++;
    }
    tarn_free(c->hash);
    tarn_free(c->value);
    tarn_free(c->version);
    tarn_free(c->sets);
    *c = nc;
    return 1;
}

/* Inserts (set, state); returns 1 if it was new, 0 if seen, -1 if full. */
static int linz_cache_add(linz_cache *c, const uint64_t *set, uint64_t set_hash, linz_state st)
{
    if (2 * (c->n + 1) > c->cap && !linz_cache_grow(c))
        return -1;
    uint64_t h = linz_mix(set_hash ^ linz_mix(st.value) ^ linz_mix(~st.version)) | 1;
    size_t s = h & (c->cap - 1);
    for (;; s = (s + 1) & (c->cap - 1)) {
        if (c->hash[s] == 0)
            break;
        if (c->hash[s] == h && c->value[s] == st.value && c->version[s] == st.version &&
            memcmp(c->sets + s * c->words, set, c->words * sizeof(uint64_t)) == 0)
            return 0;
    }
    c->hash[s] = h;
    c->value[s] = st.value;
    c->version[s] = st.version;
    memcpy(c->sets + s * c->words, set, c->words * sizeof(uint64_t));
    c->n++;
    return 1;
}

static void linz_lift(linz_run *x, uint32_t call)
{
    uint32_t ret = x->match[call];
    x->next[x->prev[call]] = x->next[call];
    x->prev[x->next[call]] = x->prev[call];
    x->next[x->prev[ret]] = x->next[ret];
    x->prev[x->next[ret]] = x->prev[ret];
}

static void linz_unlift(linz_run *x, uint32_t call)
{
    uint32_t ret = x->match[call];
    x->next[x->prev[ret]] = ret;
    x->prev[x->next[ret]] = ret;
    x->next[x->prev[call]] = call;
    x->prev[x->next[call]] = call;
}

static void linz_toggle(linz_run *x, uint32_t op)
{
    x->set[op / 64] ^= 1ULL << (op % 64);
    x->set_hash ^= x->zob[op];
}

/* Whether op changes the register when it takes effect. */
static int linz_is_write(const linz_op *op)
{
    return op->kind == LINZ_RW ? op->is_write : op->kind == LINZ_KV_PUT || op->kind == LINZ_KV_CAS;
}

/* Whether op reports a value it saw (a read, or a failed compare). */
static int linz_observes(const linz_op *op)
{
    return op->kind == LINZ_RW ? !op->is_write
                               : op->kind == LINZ_KV_READ || op->kind == LINZ_KV_CAS_FAILED;
}

/* The model: whether op may take effect in state s, and the state after. */
static int linz_step(const linz_op *op, linz_state s, linz_state *after)
{
    *after = s;
    switch (op->kind) {
    case LINZ_RW:
        if (op->is_write)
            after->value = op->value;
        return op->is_write || op->value == s.value;
    case LINZ_KV_READ:
        return op->value == s.value && (op->version == LINZ_ANY || op->version == s.version);
    case LINZ_KV_CAS:
    case LINZ_KV_PUT:
        if (op->kind == LINZ_KV_CAS && s.version != op->expect)
            return 0;
        after->value = op->value;
        after->version = s.version + 1;
        return op->version == LINZ_ANY || op->version == after->version;
    case LINZ_KV_CAS_FAILED:
        return s.version != op->expect &&
               (op->version == LINZ_ANY || (op->version == s.version && op->value == s.value));
    default:
        return 0;
    }
}

static const char *linz_kind_name(const linz_op *op)
{
    switch (op->kind) {
    case LINZ_RW:
        return op->is_write ? "write" : "read";
    case LINZ_KV_READ:
        return "read";
    case LINZ_KV_PUT:
        return "put";
    case LINZ_KV_CAS:
        return "cas";
    case LINZ_KV_CAS_FAILED:
        return "failed cas";
    default:
        return "?";
    }
}

/* The search over one key's ops; returns a linz_result. */
static int linz_search(linz_run *x, uint64_t *steps, uint64_t budget, uint32_t *bad_op)
{
    uint32_t head = (uint32_t)(2 * x->m), NIL = head;
    uint32_t e = x->next[head];
    linz_state value = {0, 0};
    while (x->next[head] != NIL) {
        if (++*steps > budget)
            return LINZ_GAVE_UP;
        const linz_event *ev = &x->ev[e];
        if (ev->is_call) {
            const linz_op *op = &x->ops[ev->op];
            linz_state after;
            int64_t rank = x->unseen_rank[ev->op];
            if ((rank < 0 || rank == x->unseen_done) && linz_step(op, value, &after)) {
                linz_toggle(x, ev->op);
                int fresh = linz_cache_add(&x->cache, x->set, x->set_hash, after);
                if (fresh < 0)
                    return LINZ_GAVE_UP;
                if (fresh) {
                    x->stack[x->depth++] = (linz_frame){.call = e, .before = value};
                    x->unseen_done += rank >= 0;
                    value = after;
                    linz_lift(x, e);
                    e = x->next[head];
                    continue;
                }
                linz_toggle(x, ev->op);
            }
            e = x->next[e];
            continue;
        }
        /* The returns of pending operations sort last: reaching one, every
         * completed operation is linearized (the rest never took effect). */
        if (x->ops[ev->op].ret == LINZ_PENDING)
            return LINZ_OK;
        /* A return whose operation is not linearized yet: backtrack. The
         * deepest such point is the most telling one to report. */
        if (x->depth >= x->best_depth) {
            x->best_depth = x->depth;
            *bad_op = ev->op;
        }
        if (x->depth == 0)
            return LINZ_VIOLATION;
        linz_frame f = x->stack[--x->depth];
        linz_unlift(x, f.call);
        linz_toggle(x, x->ev[f.call].op);
        x->unseen_done -= x->unseen_rank[x->ev[f.call].op] >= 0;
        value = f.before;
        e = x->next[f.call];
    }
    return LINZ_OK;
}

static void linz_run_free(linz_run *x)
{
    tarn_free(x->ev);
    tarn_free(x->next);
    tarn_free(x->prev);
    tarn_free(x->match);
    tarn_free(x->set);
    tarn_free(x->zob);
    tarn_free(x->stack);
    tarn_free(x->unseen_rank);
    tarn_free(x->cache.hash);
    tarn_free(x->cache.value);
    tarn_free(x->cache.version);
    tarn_free(x->cache.sets);
}

static int linz_check_key(const linz_op *ops, size_t m, uint64_t *steps, uint64_t budget, char *why,
                          size_t why_len, uint64_t *bad_call)
{
    linz_run x = {.ops = ops, .m = m};
    size_t n_ev = 2 * m;
    x.ev = tarn_calloc(n_ev + 1, sizeof(linz_event));
    x.next = tarn_calloc(n_ev + 1, sizeof(uint32_t));
    x.prev = tarn_calloc(n_ev + 1, sizeof(uint32_t));
    x.match = tarn_calloc(n_ev + 1, sizeof(uint32_t));
    x.cache.words = (m + 63) / 64;
    x.set = tarn_calloc(x.cache.words + 1, sizeof(uint64_t));
    x.zob = tarn_calloc(m + 1, sizeof(uint64_t));
    x.stack = tarn_calloc(m + 1, sizeof(linz_frame));
    x.unseen_rank = tarn_calloc(m + 1, sizeof(int64_t));
    TARN_ASSERT(x.ev && x.next && x.prev && x.match && x.set && x.zob && x.stack && x.unseen_rank);
    /* ops are in call order (linz_check sorts them, pruning keeps order). */
    for (size_t i = 0, r = 0; i < m; i++)
        x.unseen_rank[i] = ops[i].value == LINZ_UNSEEN ? (int64_t)r++ : -1;
    for (size_t i = 0; i < m; i++) {
        x.ev[2 * i] = (linz_event){.time = ops[i].call, .op = (uint32_t)i, .is_call = 1};
        x.ev[2 * i + 1] = (linz_event){.time = ops[i].ret, .op = (uint32_t)i, .is_call = 0};
        x.zob[i] = linz_mix(i * 0x100000001b3ULL + 77);
    }
    qsort(x.ev, n_ev, sizeof(linz_event), linz_event_cmp);
    uint32_t *call_at = tarn_calloc(m + 1, sizeof(uint32_t));
    TARN_ASSERT(call_at);
    for (uint32_t i = 0; i < n_ev; i++) {
        x.next[i] = i + 1;
        x.prev[i] = i == 0 ? (uint32_t)n_ev : i - 1;
        if (x.ev[i].is_call)
            call_at[x.ev[i].op] = i;
        else
            x.match[call_at[x.ev[i].op]] = i;
    }
    x.next[n_ev] = n_ev == 0 ? (uint32_t)n_ev : 0;
    x.prev[n_ev] = n_ev == 0 ? (uint32_t)n_ev : (uint32_t)n_ev - 1;
    tarn_free(call_at);
    uint32_t bad = 0;
    int rc = linz_search(&x, steps, budget, &bad);
    if (rc == LINZ_VIOLATION) {
        const linz_op *o = &ops[bad];
        *bad_call = o->call;
        char ver[64] = "";
        if (o->kind != LINZ_RW && o->version != LINZ_ANY)
            snprintf(ver, sizeof(ver), " version %llu", (unsigned long long)o->version);
        if (o->kind == LINZ_KV_CAS || o->kind == LINZ_KV_CAS_FAILED)
            snprintf(ver + strlen(ver), sizeof(ver) - strlen(ver), " (expected version %llu)",
                     (unsigned long long)o->expect);
        snprintf(why, why_len,
                 "key %llu: at most %zu of %zu operations linearize; stuck before the %s of "
                 "%llu%s called at %llu returned at %llu",
                 (unsigned long long)o->key, x.best_depth, m, linz_kind_name(o),
                 (unsigned long long)o->value, ver, (unsigned long long)o->call,
                 (unsigned long long)o->ret);
    }
    linz_run_free(&x);
    return rc;
}

static int linz_op_value_cmp(const void *a, const void *b)
{
    const linz_op *x = a, *y = b;
    return x->value < y->value ? -1 : (x->value > y->value);
}

typedef struct linz_zone {
    uint64_t lo, hi; /* forward: (f, s); backward: (s, f) */
} linz_zone;

static int linz_zone_cmp(const void *a, const void *b)
{
    const linz_zone *x = a, *y = b;
    return x->lo < y->lo ? -1 : (x->lo > y->lo);
}

/* The zone decider for one key's pruned ops (every read's value written,
 * no pending op left). */
static int linz_zones_key(const linz_op *ops, size_t m, char *why, size_t why_len)
{
    /* Clusters by value; value 0 is the initial write at time 0. */
    linz_op *by = tarn_malloc_array(m + 1, sizeof(linz_op));
    linz_zone *fw = tarn_malloc_array(m + 2, sizeof(linz_zone));
    linz_zone *bw = tarn_malloc_array(m + 2, sizeof(linz_zone));
    TARN_ASSERT(by && fw && bw);
    memcpy(by, ops, m * sizeof(linz_op));
    by[m] = (linz_op){.call = 0, .ret = 0, .is_write = 1, .key = ops[0].key, .value = 0};
    qsort(by, m + 1, sizeof(linz_op), linz_op_value_cmp);
    size_t n_fw = 0, n_bw = 0;
    int rc = LINZ_OK;
    for (size_t i = 0; i <= m && rc == LINZ_OK;) {
        size_t j = i;
        uint64_t f = UINT64_MAX, s = 0, wcall = 0;
        for (; j <= m && by[j].value == by[i].value; j++) {
            f = by[j].ret < f ? by[j].ret : f;
            s = by[j].call > s ? by[j].call : s;
            if (by[j].is_write)
                wcall = by[j].call;
        }
        for (size_t k = i; k < j && rc == LINZ_OK; k++)
            if (!by[k].is_write && by[k].ret < wcall) {
                snprintf(why, why_len, "key %llu: %llu was read before it was written",
                         (unsigned long long)by[k].key, (unsigned long long)by[k].value);
                rc = LINZ_VIOLATION;
            }
        if (f < s)
            fw[n_fw++] = (linz_zone){.lo = f, .hi = s};
        else
            bw[n_bw++] = (linz_zone){.lo = s, .hi = f};
        i = j;
    }
    qsort(fw, n_fw, sizeof(linz_zone), linz_zone_cmp);
    for (size_t i = 1; i < n_fw && rc == LINZ_OK; i++)
        if (fw[i].lo < fw[i - 1].hi) {
            snprintf(why, why_len, "key %llu: two forward zones overlap at %llu",
                     (unsigned long long)ops[0].key, (unsigned long long)fw[i].lo);
            rc = LINZ_VIOLATION;
        }
    for (size_t b = 0; b < n_bw && rc == LINZ_OK; b++) {
        /* Forward zones are disjoint: only the last one starting before
         * this backward zone can contain it. */
        size_t lo = 0, hi = n_fw;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (fw[mid].lo < bw[b].lo)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && fw[lo - 1].hi > bw[b].hi) {
            snprintf(why, why_len,
                     "key %llu: a write's zone (%llu..%llu) lies inside a forward "
                     "zone (%llu..%llu)",
                     (unsigned long long)ops[0].key, (unsigned long long)bw[b].lo,
                     (unsigned long long)bw[b].hi, (unsigned long long)fw[lo - 1].lo,
                     (unsigned long long)fw[lo - 1].hi);
            rc = LINZ_VIOLATION;
        }
    }
    tarn_free(by);
    tarn_free(fw);
    tarn_free(bw);
    return rc;
}

static int linz_op_key_cmp(const void *a, const void *b)
{
    const linz_op *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->call < y->call ? -1 : (x->call > y->call);
}

static int linz_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y);
}

/* (value, return time) of completed reads, sorted by value then time. */
typedef struct linz_seen {
    uint64_t value;
    uint64_t ret;
} linz_seen;

static int linz_seen_cmp(const void *a, const void *b)
{
    const linz_seen *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->ret < y->ret ? -1 : (x->ret > y->ret);
}

/* The earliest return of a read that saw `value`, or LINZ_PENDING. The
 * array is sorted, so the first match by value has the smallest time. */
static uint64_t linz_first_seen(const linz_seen *seen, size_t n, uint64_t value)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seen[mid].value < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && seen[lo].value == value ? seen[lo].ret : LINZ_PENDING;
}

/* Step 1 for one key: keeps what can matter; checks every read value was
 * written by someone. Returns the kept count, or SIZE_MAX on a violation. */
static size_t linz_prune(linz_op *k, size_t m, char *why, size_t why_len)
{
    linz_seen *seen = tarn_calloc(m + 1, sizeof(linz_seen));
    uint64_t *written = tarn_calloc(m + 1, sizeof(uint64_t));
    TARN_ASSERT(seen && written);
    size_t n_seen = 0, n_written = 0, out = 0;
    int versioned = 0;
    for (size_t i = 0; i < m; i++) {
        versioned |= k[i].kind != LINZ_RW;
        if (linz_observes(&k[i]) && k[i].ret != LINZ_PENDING)
            seen[n_seen++] = (linz_seen){.value = k[i].value, .ret = k[i].ret};
        if (linz_is_write(&k[i]))
            written[n_written++] = k[i].value;
    }
    qsort(seen, n_seen, sizeof(linz_seen), linz_seen_cmp);
    qsort(written, n_written, 8, linz_u64_cmp);
    for (size_t i = 0; i < n_seen && out != SIZE_MAX; i++)
        if (seen[i].value != 0 && !bsearch(&seen[i].value, written, n_written, 8, linz_u64_cmp)) {
            snprintf(why, why_len, "key %llu: a read returned %llu, which nobody wrote",
                     (unsigned long long)k[0].key, (unsigned long long)seen[i].value);
            out = SIZE_MAX;
        }
    for (size_t i = 0; i < m && out != SIZE_MAX; i++) {
        if (k[i].ret == LINZ_PENDING && !linz_is_write(&k[i]))
            continue;
        if (k[i].ret == LINZ_PENDING) {
            k[i].ret = linz_first_seen(seen, n_seen, k[i].value);
            if (k[i].ret == LINZ_PENDING && !versioned)
                continue; /* never seen: may come last, or never */
            if (k[i].ret == LINZ_PENDING && k[i].kind == LINZ_KV_PUT && k[i].version == LINZ_ANY)
                k[i].value = LINZ_UNSEEN; /* interchangeable (top of file) */
            if (k[i].ret != LINZ_PENDING && k[i].ret <= k[i].call) {
                snprintf(why, why_len, "key %llu: %llu was read before it was written",
                         (unsigned long long)k[0].key, (unsigned long long)k[i].value);
                out = SIZE_MAX;
                break;
            }
        }
        k[out++] = k[i];
    }
    tarn_free(seen);
    tarn_free(written);
    return out;
}

int linz_check(const linz_op *ops, size_t n, const linz_opts *o, char *why, size_t why_len,
               linz_stats *st)
{
    linz_stats local = {0};
    linz_stats *stats = st ? st : &local;
    memset(stats, 0, sizeof(*stats));
    uint64_t budget = o && o->key_budget_steps ? o->key_budget_steps : LINZ_DEFAULT_BUDGET;
    int method = o ? o->method : LINZ_AUTO;
    int rc = LINZ_OK;
    if (why_len > 0)
        why[0] = 0;
    linz_op *all = tarn_malloc_array(n + 1, sizeof(linz_op));
    TARN_ASSERT(all != NULL);
    if (n > 0)
        memcpy(all, ops, n * sizeof(linz_op));
    for (size_t i = 0; i < n; i++) {
        TARN_ASSERT(all[i].call >= 1 && all[i].ret > all[i].call);
        TARN_ASSERT(all[i].kind >= LINZ_RW && all[i].kind <= LINZ_KV_CAS_FAILED);
    }
    qsort(all, n, sizeof(linz_op), linz_op_key_cmp);
    for (size_t i = 0; i < n && rc == LINZ_OK;) {
        size_t j = i;
        while (j < n && all[j].key == all[i].key)
            j++;
        stats->keys++;
        int versioned = 0;
        for (size_t k = i; k < j; k++)
            versioned |= all[k].kind != LINZ_RW;
        size_t m = linz_prune(all + i, j - i, why, why_len);
        if (m == SIZE_MAX) {
            rc = LINZ_VIOLATION;
        } else if (m > 0 && method == LINZ_ZONES && !versioned) {
            rc = linz_zones_key(all + i, m, why, why_len);
        } else {
            uint64_t steps = 0;
            rc = linz_check_key(all + i, m, &steps, budget, why, why_len, &stats->bad_call);
            stats->steps += steps;
            if (rc == LINZ_GAVE_UP && method == LINZ_AUTO && !versioned) {
                stats->keys_by_zones++;
                rc = linz_zones_key(all + i, m, why, why_len);
            }
        }
        if (rc != LINZ_OK)
            stats->bad_key = all[i].key;
        i = j;
    }
    tarn_free(all);
    return rc;
}
