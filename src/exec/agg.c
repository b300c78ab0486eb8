/*
 * exec/agg.c: hash aggregate (GROUP BY), in one phase or split into
 * partial and final phases. Design note: exec/README.md, "Hash aggregate".
 *
 * Layout:
 *   slots[nslots]   uint64: (top 32 bits of the hash) << 32 | (group id + 1);
 *                   0 = empty. Open addressing, linear probing, load <= 1/2.
 *                   The slot index is the hash's top bits, so growing
 *                   rehashes from the stored bits without touching groups.
 *   groups          one fixed-size record per group, in insertion order:
 *                   [key words][null mask u32, pad][agg states, 16 bytes each]
 *                   every key is one u64 word: fixed keys normalized, string
 *                   keys the id of the string in the intern table.
 *   strings         intern table of string keys: ids -> (arena offset,
 *                   length), its own open-addressing slots; a dictionary
 *                   column maps each dictionary entry to its id once, so its
 *                   rows cost one array lookup and keys compare as integers.
 *
 * A batch goes through in passes, each a tight loop: normalize keys into
 * row-major words, hash them column by column, probe (find or insert) to
 * get a group id per row, then update each aggregate column by column.
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "base/hash.h"
#include "exec/exec_int.h"

#include <math.h>
#include <string.h>

typedef struct agg_state {
    union {
        int64_t i;
        double f;
    } v;
    int64_t cnt; /* rows seen (count), or nonzero once v holds a value */
} agg_state;

typedef enum acc_kind { ACC_I64, ACC_F64 } acc_kind;

/* Up to this many groups, a batch's rows are grouped by group before the
 * aggregates update (see AGG_LOOP). */
#define AGG_SEG_GROUPS_MAX 256

typedef struct agg_desc {
    exec_agg_fn fn;
    uint32_t in_col, in_col2; /* argument / partial state columns of the input */
    vec_type_info in_type;    /* type of in_col */
    acc_kind acc;
    uint32_t off; /* state offset in the group record */
    vec_type_info out_type, out_type2;
    uint32_t nout; /* output columns (2 for a partial avg) */
    bool distinct; /* count/sum/avg(DISTINCT): values go through dset first */
    /* (group id, value word) pairs seen, open addressing; 0 in `used` = empty */
    struct agg_dentry *dset;
    uint32_t dset_bits, dset_count;
} agg_desc;

typedef struct agg_dentry {
    uint64_t w;    /* the value: ints sign-extended, f64 bits normalized, string id */
    uint32_t g;    /* group id */
    uint32_t used; /* 1 when occupied */
} agg_dentry;

typedef struct agg_op {
    exec_op base;
    exec_agg_phase phase;
    uint32_t nkeys, naggs;
    uint32_t keys[EXEC_AGG_KEYS_MAX];
    bool key_str[EXEC_AGG_KEYS_MAX];
    uint32_t key_off[EXEC_AGG_KEYS_MAX]; /* byte offset of the key's words */
    uint32_t null_off;                   /* byte offset of the null mask */
    agg_desc aggs[EXEC_AGG_AGGS_MAX];
    uint32_t rec_bytes;
    /* hash table */
    uint64_t *slots;
    uint32_t slot_bits;
    uint8_t *groups;
    uint32_t ngroups, groups_cap;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    /* per batch scratch (VEC_ROWS_MAX bounded by the batch's len) */
    uint32_t scratch_rows;
    uint32_t *rows;  /* live rows */
    uint64_t *hash;  /* per live row */
    uint64_t *words; /* per live row, per key */
    uint32_t *nulls; /* per live row */
    uint32_t *gid;   /* per live row */
    uint32_t *srows; /* live rows grouped by group (segmented updates) */
    uint32_t nseg;   /* segments this batch, 0: not segmented */
    uint32_t seg_gid[AGG_SEG_GROUPS_MAX];
    uint32_t seg_start[AGG_SEG_GROUPS_MAX + 1];
    uint32_t seg_fill[AGG_SEG_GROUPS_MAX];
    /* string key hashes per dictionary entry */
    /* intern table of string keys */
    uint64_t *str_slots; /* (hash top 32 bits) << 32 | (id + 1) */
    uint32_t str_bits;
    uint64_t *str_pos; /* per id: arena offset << 24 | length */
    uint32_t nstr, str_cap;
    /* per string key: its dictionary's entries as string ids */
    const vec_dict *hdict[EXEC_AGG_KEYS_MAX];
    /* keys all dictionary strings with few combinations: group id per
     * combination of codes (UINT32_MAX: not seen), while the dictionaries
     * stay the same */
    uint32_t *direct;
    bool direct_stale;
    uint32_t hdict_count[EXEC_AGG_KEYS_MAX];
    uint32_t *dmap[EXEC_AGG_KEYS_MAX];
    uint32_t dmap_cap[EXEC_AGG_KEYS_MAX];
    size_t acct_bytes;
    /* output */
    bool built;
    uint32_t emitted; /* groups written */
    /* PARTIAL with DISTINCT aggregates: after the groups, one row per
     * (group, value) pair of each distinct set; the cursor of that walk */
    uint32_t emit_agg;
    size_t emit_slot;
    vec_batch out;
    bool out_ready;
} agg_op;

#define AGG_SEED 0x5ca1ab1e0ddba11ULL

static int agg_reserve(agg_op *a, size_t bytes, tarn_err *err)
{
    int rc = exec_budget_reserve(a->base.budget, bytes, "hash aggregate", err);
    if (rc == 0)
        a->acct_bytes += bytes;
    return rc;
}

/* Grows *p (elem bytes each) from *cap to at least `want` elements. */
static int agg_grow(agg_op *a, void **p, uint32_t *cap, uint32_t want, size_t elem, tarn_err *err)
{
    if (*cap >= want)
        return 0;
    uint64_t n = *cap ? (uint64_t)*cap * 2 : 64;
    while (n < want)
        n *= 2;
    if (n > UINT32_MAX / 2)
        return tarn_err_set(err, TARN_ETOOBIG, "hash aggregate: too many groups");
    int rc = agg_reserve(a, (size_t)(n - *cap) * elem, err);
    if (rc != 0)
        return rc;
    void *q = tarn_realloc(*p, (size_t)n * elem);
    if (q == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "hash aggregate: %llu entries",
                            (unsigned long long)n);
    *p = q;
    *cap = (uint32_t)n;
    return 0;
}

static int scratch_room(agg_op *a, uint32_t rows, tarn_err *err)
{
    if (a->scratch_rows >= rows)
        return 0;
    size_t k = a->nkeys ? a->nkeys : 1;
    size_t per_row = 4 + 8 + 8 * k + 4 + 4 + 4;
    int rc = agg_reserve(a, (size_t)(rows - a->scratch_rows) * per_row, err);
    if (rc != 0)
        return rc;
    void *p[6] = {tarn_realloc(a->rows, rows * 4), NULL, NULL, NULL, NULL, NULL};
    if (p[0])
        a->rows = p[0];
    p[1] = tarn_realloc(a->hash, rows * 8);
    if (p[1])
        a->hash = p[1];
    p[2] = tarn_realloc(a->words, rows * 8 * k);
    if (p[2])
        a->words = p[2];
    p[3] = tarn_realloc(a->nulls, rows * 4);
    if (p[3])
        a->nulls = p[3];
    p[4] = tarn_realloc(a->gid, rows * 4);
    if (p[4])
        a->gid = p[4];
    p[5] = tarn_realloc(a->srows, rows * 4);
    if (p[5])
        a->srows = p[5];
    for (int i = 0; i < 6; i++)
        if (p[i] == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "hash aggregate scratch");
    a->scratch_rows = rows;
    return 0;
}

/* Floats group by value: -0.0 with 0.0, every NaN with every NaN. */
static uint64_t f64_word(double d)
{
    uint64_t w;
    if (d == 0)
        d = 0;
    if (d != d)
        d = NAN;
    memcpy(&w, &d, 8);
    return w;
}

static int arena_append(agg_op *a, const uint8_t *s, size_t len, uint64_t *off, tarn_err *err);

static int str_slots_resize(agg_op *a, uint32_t bits, tarn_err *err)
{
    size_t n = (size_t)1 << bits, old = a->str_slots ? (size_t)1 << a->str_bits : 0;
    int rc = agg_reserve(a, n * 8, err);
    if (rc != 0)
        return rc;
    uint64_t *t = tarn_calloc(n, 8);
    if (t == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "hash aggregate: string slots");
    for (size_t i = 0; i < old; i++) {
        uint64_t v = a->str_slots[i];
        if (v == 0)
            continue;
        size_t idx = (size_t)((v >> 32) >> (32 - bits));
        while (t[idx] != 0)
            idx = (idx + 1) & (n - 1);
        t[idx] = v;
    }
    tarn_free(a->str_slots);
    exec_budget_release(a->base.budget, old * 8);
    a->acct_bytes -= old * 8;
    a->str_slots = t;
    a->str_bits = bits;
    return 0;
}

/* The id of string s (added when new). Ids are dense from 0; str_pos[id]
 * holds the arena offset (high 40 bits) and length (low 24 bits). */
static int str_intern(agg_op *a, const uint8_t *s, size_t len, uint32_t *id, tarn_err *err)
{
    if (len >= (1u << 24))
        return tarn_err_set(err, TARN_ENOTSUP, "group key string of %zu bytes", len);
    if (((uint64_t)a->nstr + 1) * 2 > ((uint64_t)1 << a->str_bits) || a->str_slots == NULL) {
        int rc = str_slots_resize(a, a->str_slots ? a->str_bits + 1 : 6, err);
        if (rc != 0)
            return rc;
    }
    uint64_t tag = tarn_hash64(s, len, AGG_SEED) >> 32;
    size_t mask = ((size_t)1 << a->str_bits) - 1;
    size_t idx = (size_t)(tag >> (32 - a->str_bits));
    for (;; idx = (idx + 1) & mask) {
        uint64_t v = a->str_slots[idx];
        if (v == 0)
            break;
        uint32_t cand = (uint32_t)v - 1;
        uint64_t pos = a->str_pos[cand];
        if ((v >> 32) == tag && (pos & 0xffffff) == len &&
            (len == 0 || memcmp(a->arena + (pos >> 24), s, len) == 0)) {
            *id = cand;
            return 0;
        }
    }
    int rc = agg_grow(a, (void **)&a->str_pos, &a->str_cap, a->nstr + 1, 8, err);
    uint64_t off = 0;
    if (rc == 0)
        rc = arena_append(a, s, len, &off, err);
    if (rc != 0)
        return rc;
    a->str_pos[a->nstr] = off << 24 | len;
    a->str_slots[idx] = tag << 32 | (uint64_t)(a->nstr + 1);
    *id = a->nstr++;
    return 0;
}

/* Dictionary entries of key j as string ids, once per dictionary. */
static int dict_ids(agg_op *a, uint32_t j, const vec_dict *d, tarn_err *err)
{
    if (a->hdict[j] == d && a->hdict_count[j] == d->count)
        return 0;
    /* The cache holds a reference: a freed dictionary's address could
     * otherwise come back as a new dictionary and hit a stale map. */
    vec_dict_release((vec_dict *)a->hdict[j]);
    a->hdict[j] = NULL;
    int rc = agg_grow(a, (void **)&a->dmap[j], &a->dmap_cap[j], d->count ? d->count : 1, 4, err);
    for (uint32_t c = 0; c < d->count && rc == 0; c++)
        rc = str_intern(a, d->bytes + d->offsets[c], d->offsets[c + 1] - d->offsets[c],
                        &a->dmap[j][c], err);
    if (rc != 0)
        return rc;
    a->hdict[j] = vec_dict_retain((vec_dict *)d);
    a->direct_stale = true;
    a->hdict_count[j] = d->count;
    return 0;
}

/* Key j of every live row: its word (string keys: the row index, compared
 * by bytes later), its null bit, and its contribution to the hash. */
static int keys_normalize(agg_op *a, const vec_col *c, uint32_t j, uint32_t n, tarn_err *err)
{
    uint64_t *w = a->words, *h = a->hash;
    const uint32_t *rows = a->rows;
    uint32_t K = a->nkeys;
    switch (exec_phys_of(c->type.id)) {
    case EXEC_P_BOOL:
        for (uint32_t k = 0; k < n; k++)
            w[k * K + j] = ((const uint8_t *)c->data)[rows[k]];
        break;
    case EXEC_P_I32:
        for (uint32_t k = 0; k < n; k++)
            w[k * K + j] = (uint64_t)(int64_t)((const int32_t *)c->data)[rows[k]];
        break;
    case EXEC_P_I64:
        for (uint32_t k = 0; k < n; k++)
            w[k * K + j] = (uint64_t)((const int64_t *)c->data)[rows[k]];
        break;
    case EXEC_P_F64:
        for (uint32_t k = 0; k < n; k++)
            w[k * K + j] = f64_word(((const double *)c->data)[rows[k]]);
        break;
    default: /* strings: their interned ids */
        if (c->dict && c->codes) {
            int rc = dict_ids(a, j, c->dict, err);
            if (rc != 0)
                return rc;
            for (uint32_t k = 0; k < n; k++)
                w[k * K + j] = c->dict->count ? a->dmap[j][c->codes[rows[k]]] : 0;
        } else {
            for (uint32_t k = 0; k < n; k++) {
                uint32_t i = rows[k], id = 0;
                int rc = vec_col_is_valid(c, i)
                             ? str_intern(a, c->bytes + c->offsets[i],
                                          c->offsets[i + 1] - c->offsets[i], &id, err)
                             : 0;
                if (rc != 0)
                    return rc;
                w[k * K + j] = id;
            }
        }
    }
    if (c->validity) {
        for (uint32_t k = 0; k < n; k++)
            if (!vec_col_is_valid(c, rows[k])) {
                a->nulls[k] |= 1u << j;
                w[k * K + j] = 0;
            }
    }
    for (uint32_t k = 0; k < n; k++)
        h[k] = tarn_mix64(h[k] ^ (w[k * K + j] + (uint64_t)j));
    return 0;
}

static inline uint8_t *group_rec(const agg_op *a, uint32_t g)
{
    return a->groups + (size_t)g * a->rec_bytes;
}

static bool key_eq(const agg_op *a, const uint8_t *rec, uint32_t k)
{
    uint32_t nm;
    memcpy(&nm, rec + a->null_off, 4);
    return nm == a->nulls[k] &&
           memcmp(rec, a->words + (size_t)k * a->nkeys, (size_t)a->nkeys * 8) == 0;
}

static int arena_append(agg_op *a, const uint8_t *s, size_t len, uint64_t *off, tarn_err *err)
{
    if (a->arena_len + len > a->arena_cap) {
        size_t cap = a->arena_cap ? a->arena_cap * 2 : 4096;
        while (cap < a->arena_len + len)
            cap *= 2;
        int rc = agg_reserve(a, cap - a->arena_cap, err);
        if (rc != 0)
            return rc;
        uint8_t *p = tarn_realloc(a->arena, cap);
        if (p == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "hash aggregate: string keys");
        a->arena = p;
        a->arena_cap = cap;
    }
    if (len > 0) /* the arena is still NULL when the first string is empty */
        memcpy(a->arena + a->arena_len, s, len);
    *off = a->arena_len;
    a->arena_len += len;
    return 0;
}

/* Appends the group of live row k; room for the record was made before. */
static void group_insert(agg_op *a, uint32_t k)
{
    uint8_t *rec = group_rec(a, a->ngroups);
    memset(rec, 0, a->rec_bytes);
    memcpy(rec, a->words + (size_t)k * a->nkeys, (size_t)a->nkeys * 8);
    memcpy(rec + a->null_off, &a->nulls[k], 4);
    a->ngroups++;
}

/* Doubles the slot array, rehashing from the stored top hash bits. */
static int slots_resize(agg_op *a, uint32_t bits, tarn_err *err)
{
    size_t n = (size_t)1 << bits;
    int rc = agg_reserve(a, n * 8, err);
    if (rc != 0)
        return rc;
    uint64_t *s = tarn_calloc(n, 8);
    if (s == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "hash aggregate: %zu slots", n);
    size_t old = a->slots ? (size_t)1 << a->slot_bits : 0;
    for (size_t i = 0; i < old; i++) {
        uint64_t v = a->slots[i];
        if (v == 0)
            continue;
        size_t idx = (size_t)((v >> 32) >> (32 - bits));
        while (s[idx] != 0)
            idx = (idx + 1) & (n - 1);
        s[idx] = v;
    }
    tarn_free(a->slots);
    exec_budget_release(a->base.budget, old * 8);
    a->acct_bytes -= old * 8;
    a->slots = s;
    a->slot_bits = bits;
    return 0;
}

static int probe(agg_op *a, uint32_t n, tarn_err *err)
{
    uint32_t bits = a->slot_bits;
    while (((uint64_t)a->ngroups + n) * 2 > ((uint64_t)1 << bits))
        bits++;
    if (bits > 31)
        return tarn_err_set(err, TARN_ETOOBIG, "hash aggregate: too many groups");
    int rc = bits != a->slot_bits || a->slots == NULL ? slots_resize(a, bits, err) : 0;
    if (rc == 0)
        rc = agg_grow(a, (void **)&a->groups, &a->groups_cap, a->ngroups + n, a->rec_bytes, err);
    if (rc != 0)
        return rc;
    size_t mask = ((size_t)1 << bits) - 1;
    for (uint32_t k = 0; k < n; k++) {
        uint64_t tag = a->hash[k] >> 32;
        size_t idx = (size_t)(tag >> (32 - bits));
        for (;;) {
            uint64_t v = a->slots[idx];
            if (v == 0) {
                a->gid[k] = a->ngroups;
                a->slots[idx] = tag << 32 | (uint64_t)(a->ngroups + 1);
                group_insert(a, k);
                break;
            }
            uint32_t g = (uint32_t)v - 1;
            if ((v >> 32) == tag && key_eq(a, group_rec(a, g), k)) {
                a->gid[k] = g;
                break;
            }
            idx = (idx + 1) & mask;
        }
    }
    return 0;
}

/* One loop per (aggregate, input class); BODY sees st (the row's state),
 * x (the value) and i (the row). Invalid rows are skipped. */
/* One loop per (aggregate, input class); BODY sees st (the row's state),
 * x (the value) and i (the row). Invalid rows are skipped. Segmented: rows
 * come grouped by group, and st is a local copy of the group's state that
 * the compiler keeps in registers, which breaks the store-to-load chain of
 * consecutive rows updating the same few groups (TPC-H Q1 has 4). */
#define AGG_LOOP(T, BODY)                                                                          \
    do {                                                                                           \
        const T *xs = c->data;                                                                     \
        const uint8_t *vb = c->validity;                                                           \
        uint8_t *groups = a->groups;                                                               \
        size_t rb = a->rec_bytes, off = d->off;                                                    \
        if (a->nseg > 0) {                                                                         \
            const uint32_t *srows = a->srows;                                                      \
            for (uint32_t sg = 0; sg < a->nseg; sg++) {                                            \
                agg_state *home = (agg_state *)(groups + a->seg_gid[sg] * rb + off);               \
                agg_state acc = *home, *st = &acc;                                                 \
                for (uint32_t k = a->seg_start[sg]; k < a->seg_start[sg + 1]; k++) {               \
                    uint32_t i = srows[k];                                                         \
                    if (vb && !((vb[i >> 3] >> (i & 7)) & 1))                                      \
                        continue;                                                                  \
                    T x = xs[i];                                                                   \
                    BODY;                                                                          \
                }                                                                                  \
                *home = acc;                                                                       \
            }                                                                                      \
        } else {                                                                                   \
            const uint32_t *rows = a->rows, *gid = a->gid;                                         \
            for (uint32_t k = 0; k < n; k++) {                                                     \
                uint32_t i = rows[k];                                                              \
                if (vb && !((vb[i >> 3] >> (i & 7)) & 1))                                          \
                    continue;                                                                      \
                agg_state *st = (agg_state *)(groups + gid[k] * rb + off);                         \
                T x = xs[i];                                                                       \
                BODY;                                                                              \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#define AGG_BY_CLASS(BODY_I, BODY_F)                                                               \
    switch (exec_phys_of(c->type.id)) {                                                            \
    case EXEC_P_BOOL:                                                                              \
        AGG_LOOP(uint8_t, BODY_I);                                                                 \
        break;                                                                                     \
    case EXEC_P_I32:                                                                               \
        AGG_LOOP(int32_t, BODY_I);                                                                 \
        break;                                                                                     \
    case EXEC_P_I64:                                                                               \
        AGG_LOOP(int64_t, BODY_I);                                                                 \
        break;                                                                                     \
    default:                                                                                       \
        AGG_LOOP(double, BODY_F);                                                                  \
    }

static int sum_overflow(tarn_err *err)
{
    return tarn_err_set(err, TARN_ERANGE, "integer overflow in sum");
}

/* sum/avg of a f64 column without nulls, rows grouped by group: four
 * accumulators per run, so the additions do not wait on each other (the
 * order of additions differs from a sequential sum, within rounding). */
static void sum_f64_segments(agg_op *a, const agg_desc *d, const double *xs)
{
    for (uint32_t sg = 0; sg < a->nseg; sg++) {
        agg_state *st = (agg_state *)(group_rec(a, a->seg_gid[sg]) + d->off);
        const uint32_t *r = a->srows + a->seg_start[sg];
        uint32_t len = a->seg_start[sg + 1] - a->seg_start[sg], k = 0;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (; k + 4 <= len; k += 4) {
            s0 += xs[r[k]];
            s1 += xs[r[k + 1]];
            s2 += xs[r[k + 2]];
            s3 += xs[r[k + 3]];
        }
        for (; k < len; k++)
            s0 += xs[r[k]];
        st->v.f += (s0 + s1) + (s2 + s3);
        st->cnt += len;
    }
}

static int dset_grow(agg_op *a, agg_desc *d, tarn_err *err)
{
    uint32_t bits = d->dset ? d->dset_bits + 1 : 8;
    if (bits > 31)
        return tarn_err_set(err, TARN_ETOOBIG, "hash aggregate: too many distinct values");
    size_t n = (size_t)1 << bits, old = d->dset ? (size_t)1 << d->dset_bits : 0;
    int rc = agg_reserve(a, n * sizeof(agg_dentry), err);
    if (rc != 0)
        return rc;
    agg_dentry *t = tarn_calloc(n, sizeof(agg_dentry));
    if (t == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "hash aggregate: distinct set");
    for (size_t i = 0; i < old; i++) {
        if (!d->dset[i].used)
            continue;
        size_t idx = tarn_mix64(d->dset[i].w ^ tarn_mix64(d->dset[i].g)) & (n - 1);
        while (t[idx].used)
            idx = (idx + 1) & (n - 1);
        t[idx] = d->dset[i];
    }
    tarn_free(d->dset);
    exec_budget_release(a->base.budget, old * sizeof(agg_dentry));
    a->acct_bytes -= old * sizeof(agg_dentry);
    d->dset = t;
    d->dset_bits = bits;
    return 0;
}

/* Room in the distinct set for `more` new pairs, so that slot indexes
 * computed before a batch's probes stay valid through them. */
static int dset_room(agg_op *a, agg_desc *d, uint32_t more, tarn_err *err)
{
    while (d->dset == NULL ||
           ((uint64_t)d->dset_count + more) * 2 > ((uint64_t)1 << d->dset_bits)) {
        int rc = dset_grow(a, d, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static size_t dset_slot(const agg_desc *d, uint32_t g, uint64_t w)
{
    return tarn_mix64(w ^ tarn_mix64(g)) & (((size_t)1 << d->dset_bits) - 1);
}

/* Adds (g, w), whose first slot is idx, to the distinct set (room was
 * made); true when it was new. */
static bool dset_add(agg_desc *d, uint32_t g, uint64_t w, size_t idx)
{
    size_t mask = ((size_t)1 << d->dset_bits) - 1;
    for (; d->dset[idx].used; idx = (idx + 1) & mask)
        if (d->dset[idx].w == w && d->dset[idx].g == g)
            return false;
    d->dset[idx] = (agg_dentry){w, g, 1};
    d->dset_count++;
    return true;
}

/* The value words of the batch's valid rows of c into w[] and their live
 * row positions into ks[]; *m how many. */
static int distinct_words(agg_op *a, const vec_col *c, uint32_t n, uint64_t *w, uint32_t *ks,
                          uint32_t *m, tarn_err *err)
{
    exec_phys p = exec_phys_of(c->type.id);
    uint32_t cnt = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = a->rows[k];
        if (!vec_col_is_valid(c, i))
            continue;
        if (p == EXEC_P_STR) {
            const uint8_t *s;
            size_t l;
            uint32_t id = 0;
            vec_col_str(c, i, &s, &l);
            int rc = str_intern(a, s, l, &id, err);
            if (rc != 0)
                return rc;
            w[cnt] = id;
        } else if (p == EXEC_P_F64) {
            w[cnt] = f64_word(((const double *)c->data)[i]);
        } else if (p == EXEC_P_I64) {
            w[cnt] = (uint64_t)((const int64_t *)c->data)[i];
        } else if (p == EXEC_P_I32) {
            w[cnt] = (uint64_t)(int64_t)((const int32_t *)c->data)[i];
        } else {
            w[cnt] = ((const uint8_t *)c->data)[i];
        }
        ks[cnt++] = k;
    }
    *m = cnt;
    return 0;
}

/* count/sum/avg(DISTINCT x): a row counts only when its (group, value) is
 * new. Strings are interned (their id is the value); floats group as keys
 * do (-0.0 with 0.0, NaN with NaN). A PARTIAL only collects the pairs (it
 * outputs them as rows, see agg_emit); a FINAL reads those rows' values
 * as a SINGLE reads its input, so pairs seen by several partials count
 * once. */
static int distinct_update(agg_op *a, agg_desc *d, const vec_batch *b, uint32_t n, tarn_err *err)
{
    /* Three passes: value words, first slots (prefetched: a set larger
     * than the caches costs a memory access per row, and these overlap
     * instead of waiting one by one), probes. The key hashes, words and
     * null masks are spent by now: their scratch holds ours. */
    const vec_col *c = &b->cols[d->in_col];
    uint64_t *w = a->hash, *slot = a->words;
    uint32_t *ks = a->nulls, m = 0;
    int rc = distinct_words(a, c, n, w, ks, &m, err);
    if (rc == 0)
        rc = dset_room(a, d, m, err);
    if (rc != 0)
        return rc;
    for (uint32_t j = 0; j < m; j++) {
        slot[j] = dset_slot(d, a->gid[ks[j]], w[j]);
        __builtin_prefetch(&d->dset[slot[j]]);
    }
    bool f64 = exec_phys_of(c->type.id) == EXEC_P_F64;
    for (uint32_t j = 0; j < m; j++) {
        uint32_t g = a->gid[ks[j]];
        if (!dset_add(d, g, w[j], (size_t)slot[j]) || a->phase == EXEC_AGG_PARTIAL)
            continue; /* seen, or a partial: it only collects */
        agg_state *st = (agg_state *)(group_rec(a, g) + d->off);
        st->cnt++;
        if (d->fn == EXEC_AGG_COUNT)
            continue;
        if (f64) {
            double x;
            memcpy(&x, &w[j], 8);
            st->v.f += x;
        } else if (__builtin_add_overflow(st->v.i, (int64_t)w[j], &st->v.i)) {
            return sum_overflow(err);
        }
    }
    return 0;
}

/* min/max of strings (bytewise, as comparisons): the state holds the
 * interned id of the best string so far; a row's string is interned only
 * when it wins. */
static int str_minmax_update(agg_op *a, const agg_desc *d, const vec_batch *b, uint32_t n,
                             tarn_err *err)
{
    const vec_col *c = &b->cols[d->in_col];
    bool want_min = d->fn == EXEC_AGG_MIN;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = a->rows[k];
        if (!vec_col_is_valid(c, i))
            continue;
        agg_state *st = (agg_state *)(group_rec(a, a->gid[k]) + d->off);
        const uint8_t *s;
        size_t l;
        vec_col_str(c, i, &s, &l);
        if (st->cnt) {
            uint64_t pos = a->str_pos[st->v.i];
            size_t bl = (size_t)(pos & 0xffffff), m = l < bl ? l : bl;
            int r = m ? memcmp(s, a->arena + (pos >> 24), m) : 0;
            r = r != 0 ? r : (l < bl ? -1 : l > bl);
            if (want_min ? r >= 0 : r <= 0)
                continue;
        }
        uint32_t id;
        int rc = str_intern(a, s, l, &id, err);
        if (rc != 0)
            return rc;
        st->v.i = id;
        st->cnt = 1;
    }
    return 0;
}

static int agg_update(agg_op *a, const agg_desc *d, const vec_batch *b, uint32_t n, tarn_err *err)
{
    if (d->distinct)
        return distinct_update(a, (agg_desc *)d, b, n, err);
    if ((d->fn == EXEC_AGG_MIN || d->fn == EXEC_AGG_MAX) &&
        exec_phys_of(d->in_type.id) == EXEC_P_STR)
        return str_minmax_update(a, d, b, n, err);
    bool final = a->phase == EXEC_AGG_FINAL;
    if (d->fn == EXEC_AGG_COUNT_STAR && !final) {
        if (a->nseg > 0) {
            for (uint32_t sg = 0; sg < a->nseg; sg++)
                ((agg_state *)(group_rec(a, a->seg_gid[sg]) + d->off))->cnt +=
                    a->seg_start[sg + 1] - a->seg_start[sg];
            return 0;
        }
        for (uint32_t k = 0; k < n; k++)
            ((agg_state *)(group_rec(a, a->gid[k]) + d->off))->cnt++;
        return 0;
    }
    const vec_col *c = &b->cols[d->in_col];
    bool ovf = false;
    if ((d->fn == EXEC_AGG_SUM || d->fn == EXEC_AGG_AVG) && !final && a->nseg > 0 &&
        c->validity == NULL && exec_phys_of(c->type.id) == EXEC_P_F64) {
        sum_f64_segments(a, d, c->data);
        return 0;
    }
    switch (d->fn) {
    case EXEC_AGG_COUNT_STAR:
    case EXEC_AGG_COUNT:
        if (final) {
            AGG_LOOP(int64_t, st->cnt += x);
        } else {
            for (uint32_t k = 0; k < n; k++) /* only validity is read */
                ((agg_state *)(group_rec(a, a->gid[k]) + d->off))->cnt +=
                    vec_col_is_valid(c, a->rows[k]);
        }
        break;
    case EXEC_AGG_AVG:
        if (final) { /* partial sums (NULL for empty partials), then partial counts */
            AGG_BY_CLASS(ovf |= __builtin_add_overflow(st->v.i, (int64_t)x, &st->v.i),
                         st->v.f += x);
            if (ovf)
                return sum_overflow(err);
            c = &b->cols[d->in_col2];
            AGG_LOOP(int64_t, st->cnt += x);
            return 0;
        }
        /* fall through */
    case EXEC_AGG_SUM:
        AGG_BY_CLASS(ovf |= __builtin_add_overflow(st->v.i, (int64_t)x, &st->v.i);
                     st->cnt++, st->v.f += x; st->cnt++);
        break;
    case EXEC_AGG_MIN:
        AGG_BY_CLASS(if (!st->cnt || x < st->v.i) st->v.i = x;
                     st->cnt = 1, if (!st->cnt || x < st->v.f) st->v.f = x; st->cnt = 1);
        break;
    case EXEC_AGG_MAX:
        AGG_BY_CLASS(if (!st->cnt || x > st->v.i) st->v.i = x;
                     st->cnt = 1, if (!st->cnt || x > st->v.f) st->v.f = x; st->cnt = 1);
        break;
    }
    return ovf ? sum_overflow(err) : 0;
}

/* With few groups, lists the batch's rows group by group (a counting
 * sort on the group id) so that AGG_LOOP accumulates each group's run in
 * registers. */
static void segment(agg_op *a, uint32_t n)
{
    a->nseg = 0;
    if (a->ngroups > AGG_SEG_GROUPS_MAX || n < 64)
        return;
    /* Two histograms, alternate rows: with few groups, consecutive rows
     * hit the same counter and each increment would wait on the last. */
    uint32_t count[AGG_SEG_GROUPS_MAX] = {0}, count2[AGG_SEG_GROUPS_MAX] = {0};
    const uint32_t *gid = a->gid;
    uint32_t h = 0;
    for (; h + 2 <= n; h += 2) {
        count[gid[h]]++;
        count2[gid[h + 1]]++;
    }
    if (h < n)
        count[gid[h]]++;
    for (uint32_t g = 0; g < a->ngroups; g++)
        count[g] += count2[g];
    uint32_t pos = 0;
    for (uint32_t g = 0; g < a->ngroups; g++) {
        if (count[g] == 0)
            continue;
        a->seg_gid[a->nseg] = g;
        a->seg_start[a->nseg] = pos;
        a->seg_fill[g] = pos; /* indexed by group: the next free slot */
        a->nseg++;
        pos += count[g];
    }
    a->seg_start[a->nseg] = pos;
    for (uint32_t k = 0; k < n; k++)
        a->srows[a->seg_fill[a->gid[k]]++] = a->rows[k];
}

/* Combinations of dictionary codes (one extra per key for NULL) a direct
 * map covers. */
#define AGG_DIRECT_MAX 4096

/* When every key is a dictionary string and the codes have few
 * combinations, a row's combination indexes a direct map of group ids
 * (filled from the probe of earlier batches), which skips hashing and
 * probing. Sets *eligible when the map applies (each row's combination
 * is then in a->srows, which is free until segment()), and *hit when every
 * row found its group there. */
static int direct_try(agg_op *a, const vec_col *const *kc, uint32_t n, bool *eligible, bool *hit,
                      tarn_err *err)
{
    uint64_t total = 1;
    uint32_t *idx = a->srows;
    *eligible = *hit = false;
    for (uint32_t j = 0; j < a->nkeys; j++) {
        if (!(kc[j]->dict && kc[j]->codes) || (total *= kc[j]->dict->count + 1) > AGG_DIRECT_MAX)
            return 0;
        int rc = dict_ids(a, j, kc[j]->dict, err);
        if (rc != 0)
            return rc;
    }
    if (a->nkeys == 0)
        return 0;
    if (a->direct == NULL) {
        int rc = agg_reserve(a, AGG_DIRECT_MAX * 4, err);
        if (rc != 0)
            return rc;
        a->direct = tarn_malloc(AGG_DIRECT_MAX * 4);
        if (a->direct == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "hash aggregate: direct map");
        a->direct_stale = true;
    }
    if (a->direct_stale)
        memset(a->direct, 0xff, AGG_DIRECT_MAX * 4);
    a->direct_stale = false;
    *eligible = true;
    /* One pass per key; the first assigns, the others add, and columns
     * without NULLs skip the validity test (a branch per row otherwise). */
    for (uint32_t j = 0, stride = 1; j < a->nkeys; j++) {
        const vec_col *c = kc[j];
        const uint32_t *codes = c->codes, *rows = a->rows;
        uint32_t cnt = c->dict->count;
        if (c->validity == NULL && j == 0) {
            for (uint32_t k = 0; k < n; k++)
                idx[k] = codes[rows[k]];
        } else if (c->validity == NULL) {
            for (uint32_t k = 0; k < n; k++)
                idx[k] += codes[rows[k]] * stride;
        } else {
            for (uint32_t k = 0; k < n; k++) {
                uint32_t i = rows[k], v = (vec_col_is_valid(c, i) ? codes[i] : cnt) * stride;
                idx[k] = j == 0 ? v : idx[k] + v;
            }
        }
        stride *= cnt + 1;
    }
    uint32_t miss = 0;
    const uint32_t *direct = a->direct;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t g = direct[idx[k]];
        a->gid[k] = g;
        miss |= g == UINT32_MAX;
    }
    *hit = !miss;
    return 0;
}

static int agg_consume(agg_op *a, const vec_batch *b, tarn_err *err)
{
    uint32_t n = vec_batch_live_count(b);
    int rc = scratch_room(a, n, err);
    if (rc != 0)
        return rc;
    if (b->sel_active) {
        memcpy(a->rows, b->sel, (size_t)n * sizeof(uint32_t));
    } else {
        for (uint32_t k = 0; k < n; k++)
            a->rows[k] = k;
    }
    const vec_col *kc[EXEC_AGG_KEYS_MAX];
    for (uint32_t j = 0; j < a->nkeys; j++)
        kc[j] = &b->cols[a->keys[j]];
    bool hit = false, direct = false;
    rc = direct_try(a, kc, n, &direct, &hit, err);
    if (!hit) { /* hashes and null masks only when the direct map missed */
        for (uint32_t k = 0; k < n; k++) {
            a->hash[k] = AGG_SEED;
            a->nulls[k] = 0;
        }
    }
    for (uint32_t j = 0; j < a->nkeys && rc == 0 && !hit; j++)
        rc = keys_normalize(a, kc[j], j, n, err);
    if (rc == 0 && !hit)
        rc = probe(a, n, err);
    if (rc == 0 && direct && !hit) /* learn the combinations of this batch */
        for (uint32_t k = 0; k < n; k++)
            a->direct[a->srows[k]] = a->gid[k];
    if (rc == 0)
        segment(a, n);
    for (uint32_t i = 0; i < a->naggs && rc == 0; i++)
        rc = agg_update(a, &a->aggs[i], b, n, err);
    return rc;
}

static void put_state(vec_col *c, uint32_t row, const agg_state *st, bool as_f64)
{
    switch (exec_phys_of(c->type.id)) {
    case EXEC_P_BOOL:
        ((uint8_t *)c->data)[row] = (uint8_t)st->v.i;
        break;
    case EXEC_P_I32:
        ((int32_t *)c->data)[row] = (int32_t)st->v.i;
        break;
    case EXEC_P_I64:
        ((int64_t *)c->data)[row] = st->v.i;
        break;
    default:
        ((double *)c->data)[row] = as_f64 ? st->v.f : (double)st->v.i;
    }
}

/* A NULL at `row` (strings append an empty value first: they grow by
 * appending). */
static int put_null(vec_col *c, uint32_t row)
{
    int rc = exec_phys_of(c->type.id) == EXEC_P_STR ? vec_col_append_str(c, "", 0) : 0;
    return rc != 0 ? rc : vec_col_set_null(c, row);
}

/* A value word (as distinct_update makes them) at `row` of c. */
static int put_word(const agg_op *a, vec_col *c, uint32_t row, uint64_t w)
{
    if (exec_phys_of(c->type.id) == EXEC_P_STR) {
        uint64_t pos = a->str_pos[w];
        return vec_col_append_str(c, a->arena + (pos >> 24), (size_t)(pos & 0xffffff));
    }
    agg_state st = {.v.i = (int64_t)w}; /* f64: the same bits */
    put_state(c, row, &st, true);
    return 0;
}

static const double pow10_f64[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                     1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};

/* Writes aggregate d of one group at `row` of output columns c[0..nout). */
static int put_agg(const agg_op *a, const agg_desc *d, const agg_state *st, vec_col *c,
                   uint32_t row)
{
    bool f = d->acc == ACC_F64;
    if (d->distinct && a->phase == EXEC_AGG_PARTIAL) /* values come in rows of their own */
        return put_null(&c[0], row);
    if (exec_phys_of(d->out_type.id) == EXEC_P_STR) { /* min/max of strings: an interned id */
        uint64_t pos = st->cnt ? a->str_pos[st->v.i] : 0;
        int rc = vec_col_append_str(&c[0], st->cnt ? a->arena + (pos >> 24) : (const uint8_t *)"",
                                    (size_t)(pos & 0xffffff));
        if (rc == 0 && st->cnt == 0)
            rc = vec_col_set_null(&c[0], row);
        return rc;
    }
    if (d->fn == EXEC_AGG_COUNT || d->fn == EXEC_AGG_COUNT_STAR) {
        ((int64_t *)c[0].data)[row] = st->cnt;
        return 0;
    }
    if (d->fn == EXEC_AGG_AVG && a->phase == EXEC_AGG_PARTIAL) {
        ((int64_t *)c[1].data)[row] = st->cnt;
        if (st->cnt == 0)
            return vec_col_set_null(&c[0], row);
        put_state(&c[0], row, st, f);
        return 0;
    }
    if (st->cnt == 0)
        return vec_col_set_null(&c[0], row);
    if (d->fn == EXEC_AGG_AVG) {
        double sum = f ? st->v.f : (double)st->v.i;
        if (d->in_type.id == VEC_DECIMAL64)
            sum /= pow10_f64[d->in_type.scale];
        ((double *)c[0].data)[row] = sum / (double)st->cnt;
        return 0;
    }
    put_state(&c[0], row, st, f);
    return 0;
}

static int put_key(const agg_op *a, const uint8_t *rec, uint32_t j, vec_col *c, uint32_t row)
{
    uint32_t nm;
    memcpy(&nm, rec + a->null_off, 4);
    bool null = (nm >> j) & 1;
    uint64_t w[1];
    memcpy(w, rec + a->key_off[j], 8);
    if (a->key_str[j]) {
        uint64_t pos = null ? 0 : a->str_pos[w[0]];
        int rc = vec_col_append_str(c, null ? (const uint8_t *)"" : a->arena + (pos >> 24),
                                    (size_t)(pos & 0xffffff));
        if (rc != 0)
            return rc;
    } else {
        agg_state st = {.v.i = (int64_t)w[0]};
        memcpy(&st.v.f, &w[0], 8);
        if (exec_phys_of(c->type.id) != EXEC_P_F64)
            st.v.i = (int64_t)w[0];
        put_state(c, row, &st, true);
    }
    return null ? vec_col_set_null(c, row) : 0;
}

/* Writes the keys and aggregates of group g at `row`; a value row (vd
 * set: the distinct aggregate whose pair (g, w) this row carries) has
 * empty states for the other aggregates, which a FINAL merges as nothing. */
static int put_row(const agg_op *a, uint32_t g, uint32_t row, const agg_desc *vd, uint64_t w)
{
    const uint8_t *rec = group_rec(a, g);
    int rc = 0;
    for (uint32_t j = 0; j < a->nkeys && rc == 0; j++)
        rc = put_key(a, rec, j, &a->out.cols[j], row);
    static const agg_state empty;
    uint32_t col = a->nkeys;
    for (uint32_t i = 0; i < a->naggs && rc == 0; i++) {
        const agg_desc *d = &a->aggs[i];
        vec_col *c = &a->out.cols[col];
        if (d == vd)
            rc = put_word(a, c, row, w);
        else
            rc = put_agg(a, d, vd ? &empty : (const agg_state *)(rec + d->off), c, row);
        col += d->nout;
    }
    return rc;
}

/* The next used entry of the distinct sets at or after the cursor, or
 * false when every set has been written. */
static bool next_pair(agg_op *a, const agg_desc **d, const agg_dentry **e)
{
    for (; a->emit_agg < a->naggs; a->emit_agg++, a->emit_slot = 0) {
        const agg_desc *cand = &a->aggs[a->emit_agg];
        if (!cand->distinct || cand->dset == NULL)
            continue;
        for (size_t n = (size_t)1 << cand->dset_bits; a->emit_slot < n; a->emit_slot++)
            if (cand->dset[a->emit_slot].used) {
                *d = cand;
                *e = &cand->dset[a->emit_slot++];
                return true;
            }
    }
    return false;
}

/* The groups, then (a PARTIAL with DISTINCT aggregates) the value rows. */
static int agg_emit(agg_op *a, const vec_batch **out, tarn_err *err)
{
    vec_batch_reset(&a->out);
    uint32_t m = 0;
    int rc = 0;
    for (; m < a->out.cap && a->emitted < a->ngroups && rc == 0; m++)
        rc = put_row(a, a->emitted++, m, NULL, 0);
    const agg_desc *d;
    const agg_dentry *e;
    if (a->phase == EXEC_AGG_PARTIAL)
        for (; m < a->out.cap && rc == 0 && next_pair(a, &d, &e); m++)
            rc = put_row(a, e->g, m, d, e->w);
    if (rc != 0)
        return tarn_err_set(err, rc, "hash aggregate: output");
    if (m == 0)
        return 0;
    for (uint32_t c = 0; c < a->out.ncols; c++)
        a->out.cols[c].len = m;
    a->out.len = m;
    *out = &a->out;
    return 0;
}

static int agg_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    agg_op *a = (agg_op *)op;
    while (!a->built) {
        const vec_batch *b;
        int rc = exec_op_next(op->child, &b, err);
        if (rc != 0)
            return rc;
        if (b == NULL) {
            a->built = true;
            break;
        }
        rc = agg_consume(a, b, err);
        if (rc != 0)
            return rc;
    }
    if (a->nkeys == 0 && a->ngroups == 0) { /* SQL: one row even over no input */
        int rc = agg_grow(a, (void **)&a->groups, &a->groups_cap, 1, a->rec_bytes, err);
        if (rc != 0)
            return rc;
        memset(a->groups, 0, a->rec_bytes);
        a->ngroups = 1;
    }
    return agg_emit(a, out, err);
}

static int agg_open(exec_op *op, tarn_err *err)
{
    agg_op *a = (agg_op *)op;
    int rc = agg_reserve(a, (size_t)op->ncols * VEC_BATCH_ROWS * 9, err);
    if (rc != 0)
        return rc;
    rc = vec_batch_init(&a->out, op->types, op->ncols, VEC_BATCH_ROWS);
    if (rc != 0)
        return tarn_err_set(err, rc, "hash aggregate: output batch");
    a->out_ready = true;
    return 0;
}

static void agg_close(exec_op *op)
{
    agg_op *a = (agg_op *)op;
    if (a->out_ready)
        vec_batch_free(&a->out);
    tarn_free(a->slots);
    tarn_free(a->groups);
    tarn_free(a->arena);
    tarn_free(a->rows);
    tarn_free(a->hash);
    tarn_free(a->words);
    tarn_free(a->nulls);
    tarn_free(a->gid);
    tarn_free(a->srows);
    for (uint32_t j = 0; j < EXEC_AGG_KEYS_MAX; j++) {
        tarn_free(a->dmap[j]);
        vec_dict_release((vec_dict *)a->hdict[j]);
    }
    tarn_free(a->str_slots);
    tarn_free(a->str_pos);
    tarn_free(a->direct);
    for (uint32_t i = 0; i < a->naggs; i++)
        tarn_free(a->aggs[i].dset);
    exec_budget_release(op->budget, a->acct_bytes);
}

static const exec_op_vt agg_vt = {"hash aggregate", agg_open, agg_next, agg_close};

/* Resolves one aggregate: its input columns and types, its output types.
 * *cursor walks a FINAL's input state columns. A DISTINCT aggregate's
 * partial state is its argument's values (one column of the argument's
 * type, see agg_emit); its FINAL reads that column as a SINGLE reads its
 * argument. */
static int agg_resolve_types(const exec_agg_spec *s, exec_agg_phase phase, const exec_op *child,
                             uint32_t *cursor, agg_desc *d, tarn_err *err)
{
    const vec_type_info *t = child->types;
    vec_type_info i64 = {.id = VEC_I64}, f64 = {.id = VEC_F64};
    d->fn = s->fn;
    d->nout = 1;
    d->distinct =
        s->distinct && (s->fn == EXEC_AGG_COUNT || s->fn == EXEC_AGG_SUM || s->fn == EXEC_AGG_AVG);
    bool final = phase == EXEC_AGG_FINAL && !d->distinct; /* merges partial states */
    d->in_col = phase == EXEC_AGG_FINAL ? *cursor : s->col;
    if (d->distinct && (d->in_col >= child->ncols || exec_phys_of(t[d->in_col].id) == EXEC_P_NONE ||
                        t[d->in_col].list))
        return tarn_err_set(err, TARN_EINVAL, "DISTINCT aggregate over column %u", d->in_col);
    uint32_t need = final && s->fn == EXEC_AGG_AVG ? 2 : 1;
    if ((s->fn != EXEC_AGG_COUNT_STAR || final) && d->in_col + need > child->ncols)
        return tarn_err_set(err, TARN_EINVAL, "aggregate input column %u out of range", d->in_col);
    *cursor += need;
    d->in_col2 = d->in_col + 1;
    d->in_type = s->fn == EXEC_AGG_COUNT_STAR && !final ? i64 : t[d->in_col];
    exec_phys p = exec_phys_of(d->in_type.id);
    d->acc = p == EXEC_P_F64 ? ACC_F64 : ACC_I64;
    if (s->fn == EXEC_AGG_COUNT_STAR || s->fn == EXEC_AGG_COUNT) {
        d->out_type = i64;
        return final && d->in_type.id != VEC_I64
                   ? tarn_err_set(err, TARN_EINVAL, "final count wants an i64 state")
                   : 0;
    }
    bool numeric = p == EXEC_P_I32 || p == EXEC_P_I64 || p == EXEC_P_F64;
    if (s->fn == EXEC_AGG_SUM || s->fn == EXEC_AGG_AVG) {
        if (!numeric || d->in_type.id == VEC_DATE || d->in_type.id == VEC_TIMESTAMP ||
            d->in_type.id == VEC_TIME)
            return tarn_err_set(err, TARN_EINVAL, "sum/avg of %s", vec_type_name(d->in_type.id));
        vec_type_info sum = p == EXEC_P_F64 ? f64 : i64;
        if (d->in_type.id == VEC_DECIMAL64)
            sum = (vec_type_info){.id = VEC_DECIMAL64, .precision = 18, .scale = d->in_type.scale};
        d->out_type = sum;
        if (s->fn == EXEC_AGG_AVG && phase == EXEC_AGG_PARTIAL && !d->distinct) {
            d->nout = 2;
            d->out_type2 = i64;
        } else if (s->fn == EXEC_AGG_AVG) {
            d->out_type = f64;
        }
        return 0;
    }
    if (!numeric && p != EXEC_P_BOOL && p != EXEC_P_STR)
        return tarn_err_set(err, TARN_ENOTSUP, "min/max of %s", vec_type_name(d->in_type.id));
    d->out_type = d->in_type;
    return 0;
}

static int agg_resolve(const exec_agg_spec *s, exec_agg_phase phase, const exec_op *child,
                       uint32_t *cursor, agg_desc *d, tarn_err *err)
{
    int rc = agg_resolve_types(s, phase, child, cursor, d, err);
    if (rc == 0 && d->distinct && phase == EXEC_AGG_PARTIAL) { /* checked as a SINGLE would be */
        d->out_type = d->in_type;
        d->nout = 1;
    }
    return rc;
}

static int agg_layout(agg_op *a, const exec_agg_opts *o, exec_op *child, vec_type_info *types,
                      tarn_err *err)
{
    uint32_t off = 0, ncol = 0;
    for (uint32_t j = 0; j < o->nkeys; j++) {
        if (o->keys[j] >= child->ncols)
            return tarn_err_set(err, TARN_EINVAL, "group key column %u out of range", o->keys[j]);
        vec_type_info t = child->types[o->keys[j]];
        if (exec_phys_of(t.id) == EXEC_P_NONE || t.list)
            return tarn_err_set(err, TARN_ENOTSUP, "group key of type %s", vec_type_name(t.id));
        a->keys[j] = o->keys[j];
        a->key_str[j] = exec_phys_of(t.id) == EXEC_P_STR;
        a->key_off[j] = off;
        off += 8;
        types[ncol++] = t;
    }
    a->null_off = off;
    off += 8;
    uint32_t cursor = o->nkeys;
    for (uint32_t i = 0; i < o->naggs; i++) {
        agg_desc *d = &a->aggs[i];
        int rc = agg_resolve(&o->aggs[i], o->phase, child, &cursor, d, err);
        if (rc != 0)
            return rc;
        d->off = off;
        off += (uint32_t)sizeof(agg_state);
        types[ncol++] = d->out_type;
        if (d->nout == 2)
            types[ncol++] = d->out_type2;
    }
    a->rec_bytes = off;
    return (int)ncol;
}

int exec_agg_new(exec_op *child, const exec_agg_opts *opts, exec_op **out, tarn_err *err)
{
    *out = NULL;
    if (opts->nkeys > EXEC_AGG_KEYS_MAX || opts->naggs > EXEC_AGG_AGGS_MAX) {
        exec_op_close(child);
        return tarn_err_set(err, TARN_EINVAL, "hash aggregate: too many keys or aggregates");
    }
    agg_op tmp;
    memset(&tmp, 0, sizeof(tmp));
    vec_type_info types[EXEC_AGG_KEYS_MAX + 2 * EXEC_AGG_AGGS_MAX];
    int ncol = agg_layout(&tmp, opts, child, types, err);
    if (ncol < 0) {
        exec_op_close(child);
        return ncol;
    }
    int rc = exec_op_alloc(sizeof(agg_op), &agg_vt, child, child->budget, types, (uint32_t)ncol,
                           out, err);
    if (rc != 0)
        return rc;
    agg_op *a = (agg_op *)*out;
    exec_op base = a->base;
    *a = tmp;
    a->base = base;
    a->phase = opts->phase;
    a->nkeys = opts->nkeys;
    a->naggs = opts->naggs;
    return 0;
}
