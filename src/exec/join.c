/*
 * exec/join.c: hash equi-join (inner and left), and the cross join when
 * there are no keys. Design note: exec/README.md, "Hash join".
 *
 * Build (right input, read whole at the first next):
 *   chunks[]        the right rows, copied into flat columns, JOIN_CHUNK_ROWS
 *                   rows per chunk; build row g is row g % CHUNK of chunk
 *                   g / CHUNK. A separate one-row chunk of NULLs pairs with
 *                   unmatched left rows.
 *   words[g*K + j]  key j of row g as one u64 (ints sign-extended, floats
 *                   normalized, strings their 64-bit hash; the bytes are
 *                   compared too)
 *   slots[2^bits]   u64: (top 32 bits of the hash) << 32 | (g + 1) of the
 *                   first row of a key; 0 empty. Linear probing, load <= 1/2.
 *   next[g]         the next build row with the same key, or JOIN_END.
 * Rows with a NULL key are stored but never inserted: they match nothing.
 *
 * Probe (left input, a batch at a time): each live row's keys are hashed
 * and looked up once (chain[k] = its first match); then pairs (left row,
 * build row) are listed and gathered into the output batch, as many as fit
 * (a batch's matches may span several output batches). A residual
 * predicate runs on each gathered batch and narrows its selection. The
 * LEFT join then emits the left rows no pair kept, paired with the NULL
 * chunk.
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "base/hash.h"
#include "exec/exec_int.h"

#include <math.h>
#include <string.h>

#define JOIN_CHUNK_BITS 16
#define JOIN_CHUNK_ROWS (1u << JOIN_CHUNK_BITS)
#define JOIN_END        UINT32_MAX
#define JOIN_SEED       0x6a6f696e5eedULL
/* Build rows at most (row ids are u32, one value is JOIN_END). */
#define JOIN_BUILD_ROWS_MAX (UINT32_MAX - 1)

typedef struct join_chunk {
    vec_col *cols; /* nright columns, flat */
    uint32_t len;
} join_chunk;

typedef struct join_op {
    exec_op base;
    exec_op *right;
    exec_join_type type;
    uint32_t nkeys, nleft, nright;
    uint32_t lkeys[EXEC_JOIN_KEYS_MAX], rkeys[EXEC_JOIN_KEYS_MAX];
    bool key_str[EXEC_JOIN_KEYS_MAX];
    exec_expr *residual;
    size_t acct_bytes;
    /* build side */
    join_chunk *chunks;
    uint32_t nchunks, chunks_cap;
    join_chunk nulls; /* one row, all NULL */
    uint32_t nbuild;
    uint64_t *words, *slots;
    uint32_t *next;
    uint32_t slot_bits;
    bool built;
    uint32_t *brows; /* build: a right batch's live rows */
    uint32_t brows_cap;
    /* probe state: the current left batch and its live rows */
    const vec_batch *lb;
    uint32_t nlive, lk, uk, scratch_cap;
    uint32_t *live, *chain;
    uint64_t *pwords;
    uint8_t *matched;
    int phase; /* 0: need a left batch, 1: pairs, 2: unmatched rows */
    /* output */
    vec_batch out;
    bool out_ready;
    uint32_t *pl, *pr, *pk, *pr_sorted, *pl_sorted, *osel; /* per output row */
} join_op;

static int join_reserve(join_op *j, size_t bytes, tarn_err *err)
{
    int rc = exec_budget_reserve(j->base.budget, bytes, "hash join", err);
    if (rc == 0)
        j->acct_bytes += bytes;
    return rc;
}

/* Grows *p from cap_old to cap_new elements of `elem` bytes (accounted). */
static int join_grow(join_op *j, void **p, size_t cap_old, size_t cap_new, size_t elem,
                     tarn_err *err)
{
    int rc = join_reserve(j, (cap_new - cap_old) * elem, err);
    if (rc != 0)
        return rc;
    void *q = tarn_realloc(*p, cap_new * elem);
    if (q == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "hash join: %zu entries", cap_new);
    *p = q;
    return 0;
}

static void chunk_free(join_chunk *c, uint32_t ncols)
{
    if (c->cols == NULL)
        return;
    for (uint32_t i = 0; i < ncols; i++)
        vec_col_free(&c->cols[i]);
    tarn_free(c->cols);
    c->cols = NULL;
}

static int chunk_init(join_op *j, join_chunk *c, uint32_t rows, tarn_err *err)
{
    c->len = 0;
    c->cols = tarn_calloc(j->nright ? j->nright : 1, sizeof(vec_col));
    if (c->cols == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "hash join: chunk");
    const vec_type_info *t = j->right->types;
    for (uint32_t i = 0; i < j->nright; i++) {
        vec_type_info ti = t[i];
        int rc = exec_col_prepare(&c->cols[i], ti, rows, j->base.budget, &j->acct_bytes,
                                  "hash join", err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Appends the live rows of a right batch to the chunks. */
static int build_append(join_op *j, const vec_batch *b, tarn_err *err)
{
    uint32_t n = vec_batch_live_count(b), done = 0;
    if ((uint64_t)j->nbuild + n > JOIN_BUILD_ROWS_MAX)
        return tarn_err_set(err, TARN_ETOOBIG, "hash join: build side over %u rows",
                            JOIN_BUILD_ROWS_MAX);
    int rc = 0;
    uint32_t *rows = j->brows; /* sized for b->len by the caller */
    for (uint32_t k = 0; k < n; k++)
        rows[k] = b->sel_active ? b->sel[k] : k;
    while (done < n && rc == 0) {
        if (j->nchunks == 0 || j->chunks[j->nchunks - 1].len == JOIN_CHUNK_ROWS) {
            if (j->nchunks == j->chunks_cap) {
                uint32_t cap = j->chunks_cap ? j->chunks_cap * 2 : 4;
                rc = join_grow(j, (void **)&j->chunks, j->chunks_cap, cap, sizeof(join_chunk), err);
                if (rc != 0)
                    return rc;
                memset(j->chunks + j->chunks_cap, 0, (cap - j->chunks_cap) * sizeof(join_chunk));
                j->chunks_cap = cap;
            }
            rc = chunk_init(j, &j->chunks[j->nchunks++], n - done < 1024 ? 1024 : n - done, err);
            if (rc != 0)
                return rc;
        }
        join_chunk *c = &j->chunks[j->nchunks - 1];
        uint32_t take = JOIN_CHUNK_ROWS - c->len < n - done ? JOIN_CHUNK_ROWS - c->len : n - done;
        for (uint32_t i = 0; i < j->nright && rc == 0; i++)
            rc = exec_col_append_rows(&c->cols[i], &b->cols[i], rows + done, take, j->base.budget,
                                      &j->acct_bytes, err);
        c->len += take;
        done += take;
        j->nbuild += take;
    }
    return rc;
}

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

/* Key word of row i of column c; *null when the value is NULL. */
static uint64_t key_word(const vec_col *c, uint32_t i, bool *null)
{
    *null = !vec_col_is_valid(c, i);
    if (*null)
        return 0;
    switch (exec_phys_of(c->type.id)) {
    case EXEC_P_BOOL:
        return ((const uint8_t *)c->data)[i];
    case EXEC_P_I32:
        return (uint64_t)(int64_t)((const int32_t *)c->data)[i];
    case EXEC_P_I64:
        return (uint64_t)((const int64_t *)c->data)[i];
    case EXEC_P_F64:
        return f64_word(((const double *)c->data)[i]);
    default: {
        const uint8_t *s;
        size_t l;
        vec_col_str(c, i, &s, &l);
        return tarn_hash64(s, l, JOIN_SEED);
    }
    }
}

static uint64_t hash_words(const uint64_t *w, uint32_t k)
{
    uint64_t h = JOIN_SEED;
    for (uint32_t j = 0; j < k; j++)
        h = tarn_mix64(h ^ (w[j] + j));
    return h | 1; /* never 0: keeps the slot tag of a row nonzero */
}

static const vec_col *build_col(const join_op *j, uint32_t g, uint32_t col, uint32_t *row)
{
    *row = g & (JOIN_CHUNK_ROWS - 1);
    return &j->chunks[g >> JOIN_CHUNK_BITS].cols[col];
}

/* Whether build row g's keys equal the probe keys w (of left row i of b). */
static bool keys_equal(const join_op *j, uint32_t g, const uint64_t *w, const vec_batch *b,
                       uint32_t i)
{
    if (memcmp(j->words + (size_t)g * j->nkeys, w, (size_t)j->nkeys * 8) != 0)
        return false;
    for (uint32_t k = 0; k < j->nkeys; k++) {
        if (!j->key_str[k])
            continue;
        uint32_t r;
        const vec_col *bc = build_col(j, g, j->rkeys[k], &r);
        const uint8_t *s, *t;
        size_t sl, tl;
        vec_col_str(bc, r, &s, &sl);
        vec_col_str(&b->cols[j->lkeys[k]], i, &t, &tl);
        if (sl != tl || (sl && memcmp(s, t, sl) != 0))
            return false;
    }
    return true;
}

/* Same, between two build rows (while inserting). */
static bool build_keys_equal(const join_op *j, uint32_t g, uint32_t h)
{
    if (memcmp(j->words + (size_t)g * j->nkeys, j->words + (size_t)h * j->nkeys,
               (size_t)j->nkeys * 8) != 0)
        return false;
    for (uint32_t k = 0; k < j->nkeys; k++) {
        if (!j->key_str[k])
            continue;
        uint32_t r1, r2;
        const vec_col *c1 = build_col(j, g, j->rkeys[k], &r1),
                      *c2 = build_col(j, h, j->rkeys[k], &r2);
        const uint8_t *s, *t;
        size_t sl, tl;
        vec_col_str(c1, r1, &s, &sl);
        vec_col_str(c2, r2, &t, &tl);
        if (sl != tl || (sl && memcmp(s, t, sl) != 0))
            return false;
    }
    return true;
}

static void insert_row(join_op *j, uint32_t g, uint64_t h)
{
    size_t mask = ((size_t)1 << j->slot_bits) - 1;
    uint64_t tag = h >> 32;
    size_t idx = (size_t)(tag >> (32 - j->slot_bits));
    for (;; idx = (idx + 1) & mask) {
        uint64_t v = j->slots[idx];
        if (v == 0) {
            j->slots[idx] = tag << 32 | (uint64_t)(g + 1);
            j->next[g] = JOIN_END;
            return;
        }
        uint32_t head = (uint32_t)v - 1;
        if ((v >> 32) == tag && build_keys_equal(j, head, g)) {
            j->next[g] = j->next[head]; /* after the head: the chain stays one key */
            j->next[head] = g;
            return;
        }
    }
}

/* Hashes every build row and fills the table (after the right input ended). */
static int build_table(join_op *j, tarn_err *err)
{
    uint32_t n = j->nbuild, K = j->nkeys;
    int rc = chunk_init(j, &j->nulls, 1, err);
    for (uint32_t i = 0; i < j->nright && rc == 0; i++) {
        j->nulls.cols[i].len = 1;
        if (vec_type_is_var(j->nulls.cols[i].type.id))
            j->nulls.cols[i].offsets[1] = 0;
        rc = vec_col_set_null(&j->nulls.cols[i], 0) == 0 ? 0 : TARN_ENOMEM;
    }
    j->nulls.len = 1;
    if (rc != 0 || K == 0 || n == 0)
        return rc == 0 ? 0 : tarn_err_set(err, rc, "hash join: null row");
    uint32_t bits = 4;
    while (((uint64_t)1 << bits) < (uint64_t)n * 2)
        bits++;
    if (bits > 32)
        return tarn_err_set(err, TARN_ETOOBIG, "hash join: build side too large");
    rc = join_grow(j, (void **)&j->words, 0, (size_t)n * K, 8, err);
    if (rc == 0)
        rc = join_grow(j, (void **)&j->next, 0, n, 4, err);
    if (rc == 0)
        rc = join_reserve(j, ((size_t)1 << bits) * 8, err);
    if (rc != 0)
        return rc;
    j->slots = tarn_calloc((size_t)1 << bits, 8);
    if (j->slots == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "hash join: slots");
    j->slot_bits = bits;
    for (uint32_t g = 0; g < n; g++) {
        bool any_null = false;
        for (uint32_t k = 0; k < K; k++) {
            uint32_t r;
            bool null;
            const vec_col *c = build_col(j, g, j->rkeys[k], &r);
            j->words[(size_t)g * K + k] = key_word(c, r, &null);
            any_null |= null;
        }
        j->next[g] = JOIN_END;
        if (!any_null)
            insert_row(j, g, hash_words(j->words + (size_t)g * K, K));
    }
    return 0;
}

static int build(join_op *j, tarn_err *err)
{
    for (;;) {
        const vec_batch *b;
        int rc = exec_op_next(j->right, &b, err);
        if (rc != 0)
            return tarn_err_wrap(err, rc, "hash join build");
        if (b == NULL)
            break;
        if (b->len > j->brows_cap) {
            rc = join_grow(j, (void **)&j->brows, j->brows_cap, b->len, 4, err);
            if (rc != 0)
                return rc;
            j->brows_cap = b->len;
        }
        rc = build_append(j, b, err);
        if (rc != 0)
            return rc;
    }
    j->built = true;
    return build_table(j, err);
}

/* ---- probe ---- */

static int probe_room(join_op *j, uint32_t rows, tarn_err *err)
{
    if (rows <= j->scratch_cap)
        return 0;
    size_t old = j->scratch_cap, K = j->nkeys ? j->nkeys : 1;
    int rc = join_grow(j, (void **)&j->live, old, rows, 4, err);
    if (rc == 0)
        rc = join_grow(j, (void **)&j->chain, old, rows, 4, err);
    if (rc == 0)
        rc = join_grow(j, (void **)&j->pwords, old * K, rows * K, 8, err);
    if (rc == 0)
        rc = join_grow(j, (void **)&j->matched, old, rows, 1, err);
    if (rc == 0)
        j->scratch_cap = rows;
    return rc;
}

/* The first build row matching live left row k (JOIN_END: none). */
static uint32_t lookup(const join_op *j, uint32_t k)
{
    if (j->nkeys == 0)
        return j->nbuild > 0 ? 0 : JOIN_END;
    const vec_batch *b = j->lb;
    uint32_t i = j->live[k], K = j->nkeys;
    uint64_t *w = j->pwords + (size_t)k * K;
    for (uint32_t c = 0; c < K; c++) {
        bool null;
        w[c] = key_word(&b->cols[j->lkeys[c]], i, &null);
        if (null)
            return JOIN_END; /* NULL = anything is not TRUE */
    }
    if (j->slots == NULL)
        return JOIN_END;
    uint64_t tag = hash_words(w, K) >> 32;
    size_t mask = ((size_t)1 << j->slot_bits) - 1, idx = (size_t)(tag >> (32 - j->slot_bits));
    for (;; idx = (idx + 1) & mask) {
        uint64_t v = j->slots[idx];
        if (v == 0)
            return JOIN_END;
        if ((v >> 32) == tag && keys_equal(j, (uint32_t)v - 1, w, b, i))
            return (uint32_t)v - 1;
    }
}

static int probe_start(join_op *j, const vec_batch *b, tarn_err *err)
{
    uint32_t n = vec_batch_live_count(b);
    int rc = probe_room(j, b->len, err);
    if (rc != 0)
        return rc;
    j->lb = b;
    j->nlive = n;
    j->lk = j->uk = 0;
    for (uint32_t k = 0; k < n; k++)
        j->live[k] = b->sel_active ? b->sel[k] : k;
    for (uint32_t k = 0; k < n; k++) {
        j->chain[k] = lookup(j, k);
        j->matched[k] = 0;
    }
    j->phase = 1;
    return 0;
}

/* Lists up to a batch of (left row, build row) pairs; returns how many. */
static uint32_t fill_pairs(join_op *j)
{
    uint32_t m = 0, cap = j->out.cap;
    bool mark = j->residual == NULL;
    while (m < cap && j->lk < j->nlive) {
        uint32_t g = j->chain[j->lk];
        if (g == JOIN_END) {
            j->lk++;
            continue;
        }
        j->pl[m] = j->live[j->lk];
        j->pk[m] = j->lk;
        j->pr[m] = g;
        m++;
        if (mark)
            j->matched[j->lk] = 1;
        j->chain[j->lk] = j->nkeys ? j->next[g] : (g + 1 < j->nbuild ? g + 1 : JOIN_END);
    }
    return m;
}

/* Orders the pairs by build chunk (stable), so that each chunk's rows
 * gather in one run. */
static void pairs_by_chunk(join_op *j, uint32_t m)
{
    uint32_t count[65] = {0}, *cnt = count;
    if (j->nchunks > 64) { /* rare: more than 4M build rows; gather row by row below */
        return;
    }
    for (uint32_t p = 0; p < m; p++)
        cnt[(j->pr[p] >> JOIN_CHUNK_BITS) + 1]++;
    for (uint32_t c = 1; c <= j->nchunks; c++)
        cnt[c] += cnt[c - 1];
    for (uint32_t p = 0; p < m; p++) {
        uint32_t at = cnt[j->pr[p] >> JOIN_CHUNK_BITS]++;
        j->pl_sorted[at] = j->pl[p];
        j->pr_sorted[at] = j->pr[p];
        j->osel[at] = j->pk[p];
    }
    memcpy(j->pl, j->pl_sorted, m * 4);
    memcpy(j->pr, j->pr_sorted, m * 4);
    memcpy(j->pk, j->osel, m * 4);
}

static int gather_right(join_op *j, uint32_t m, bool nulls, tarn_err *err)
{
    int rc = 0;
    if (nulls) {
        memset(j->pr_sorted, 0, m * 4);
        for (uint32_t c = 0; c < j->nright && rc == 0; c++)
            rc = exec_col_append_rows(&j->out.cols[j->nleft + c], &j->nulls.cols[c], j->pr_sorted,
                                      m, j->base.budget, &j->acct_bytes, err);
        return rc;
    }
    for (uint32_t p = 0; p < m && rc == 0;) { /* runs of one chunk */
        uint32_t chunk = j->pr[p] >> JOIN_CHUNK_BITS, q = p;
        while (q < m && (j->pr[q] >> JOIN_CHUNK_BITS) == chunk) {
            j->pr_sorted[q - p] = j->pr[q] & (JOIN_CHUNK_ROWS - 1);
            q++;
        }
        for (uint32_t c = 0; c < j->nright && rc == 0; c++)
            rc = exec_col_append_rows(&j->out.cols[j->nleft + c], &j->chunks[chunk].cols[c],
                                      j->pr_sorted, q - p, j->base.budget, &j->acct_bytes, err);
        p = q;
    }
    return rc;
}

/* Gathers m pairs into the output batch; nulls: the right side is NULL. */
static int gather(join_op *j, uint32_t m, bool nulls, tarn_err *err)
{
    vec_batch_reset(&j->out);
    if (!nulls && j->nchunks > 1)
        pairs_by_chunk(j, m);
    int rc = 0;
    for (uint32_t c = 0; c < j->nleft && rc == 0; c++)
        rc = exec_col_append_rows(&j->out.cols[c], &j->lb->cols[c], j->pl, m, j->base.budget,
                                  &j->acct_bytes, err);
    if (rc == 0)
        rc = gather_right(j, m, nulls, err);
    j->out.len = m;
    j->out.sel_active = false;
    return rc;
}

/* The residual over the gathered pairs: narrows the selection and marks
 * the left rows that found a partner. Returns the live rows left. */
static int apply_residual(join_op *j, uint32_t m, uint32_t *live, tarn_err *err)
{
    *live = m;
    if (j->residual == NULL)
        return 0;
    uint32_t cnt = 0;
    int rc = exec_expr_select(j->residual, &j->out, j->out.sel, &cnt, err);
    if (rc != 0)
        return rc;
    for (uint32_t k = 0; k < cnt; k++)
        j->matched[j->pk[j->out.sel[k]]] = 1;
    j->out.sel_count = cnt;
    j->out.sel_active = true;
    *live = cnt;
    return 0;
}

static int join_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    join_op *j = (join_op *)op;
    int rc = j->built ? 0 : build(j, err);
    while (rc == 0) {
        if (j->phase == 0) {
            const vec_batch *b;
            rc = exec_op_next(op->child, &b, err);
            if (rc != 0 || b == NULL)
                return rc;
            rc = probe_start(j, b, err);
        } else if (j->phase == 1) {
            uint32_t m = fill_pairs(j), live = 0;
            if (m == 0) {
                j->phase = j->type == EXEC_JOIN_LEFT ? 2 : 0;
                continue;
            }
            rc = gather(j, m, false, err);
            if (rc == 0)
                rc = apply_residual(j, m, &live, err);
            if (rc == 0 && live > 0) {
                *out = &j->out;
                return 0;
            }
        } else {
            uint32_t m = 0;
            for (; j->uk < j->nlive && m < j->out.cap; j->uk++)
                if (!j->matched[j->uk])
                    j->pl[m++] = j->live[j->uk];
            if (m == 0) {
                j->phase = 0;
                continue;
            }
            rc = gather(j, m, true, err);
            if (rc == 0) {
                *out = &j->out;
                return 0;
            }
        }
    }
    return rc;
}

static int join_open(exec_op *op, tarn_err *err)
{
    join_op *j = (join_op *)op;
    int rc = exec_op_open(j->right, err);
    if (rc != 0)
        return rc;
    uint32_t cap = VEC_BATCH_ROWS;
    rc = join_reserve(j, (size_t)cap * (6 * 4 + 4) + (size_t)op->ncols * cap * 9, err);
    if (rc != 0)
        return rc;
    uint32_t **arrs[6] = {&j->pl, &j->pr, &j->pk, &j->pr_sorted, &j->pl_sorted, &j->osel};
    for (int a = 0; a < 6; a++)
        if ((*arrs[a] = tarn_malloc_array(cap, 4)) == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "hash join: pairs");
    rc = vec_batch_init(&j->out, op->types, op->ncols, cap);
    if (rc != 0)
        return tarn_err_set(err, rc, "hash join: output batch");
    j->out_ready = true;
    j->out.sel = tarn_malloc_array(cap, 4);
    if (j->out.sel == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "hash join: selection");
    return 0; /* output columns grow on demand, accounted as they do */
}

static void join_close(exec_op *op)
{
    join_op *j = (join_op *)op;
    exec_op_close(j->right);
    exec_expr_free(j->residual);
    for (uint32_t c = 0; c < j->nchunks; c++)
        chunk_free(&j->chunks[c], j->nright);
    chunk_free(&j->nulls, j->nright);
    tarn_free(j->chunks);
    tarn_free(j->words);
    tarn_free(j->slots);
    tarn_free(j->next);
    tarn_free(j->brows);
    tarn_free(j->live);
    tarn_free(j->chain);
    tarn_free(j->pwords);
    tarn_free(j->matched);
    tarn_free(j->pl);
    tarn_free(j->pr);
    tarn_free(j->pk);
    tarn_free(j->pr_sorted);
    tarn_free(j->pl_sorted);
    tarn_free(j->osel);
    if (j->out_ready)
        vec_batch_free(&j->out);
    exec_budget_release(op->budget, j->acct_bytes);
}

static const exec_op_vt join_vt = {"hash join", join_open, join_next, join_close};

static bool key_types_match(vec_type_info a, vec_type_info b)
{
    return a.id == b.id && !a.list && !b.list && exec_phys_of(a.id) != EXEC_P_NONE &&
           (a.id != VEC_DECIMAL64 || a.scale == b.scale) &&
           (a.id != VEC_TIMESTAMP || a.unit == b.unit);
}

static int join_check(exec_op *l, exec_op *r, const exec_join_opts *o, tarn_err *err)
{
    if (o->nkeys > EXEC_JOIN_KEYS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "hash join: over %d keys", EXEC_JOIN_KEYS_MAX);
    if ((uint64_t)l->ncols + r->ncols > 4096)
        return tarn_err_set(err, TARN_EINVAL, "hash join: over 4096 output columns");
    for (uint32_t k = 0; k < o->nkeys; k++) {
        if (o->left_keys[k] >= l->ncols || o->right_keys[k] >= r->ncols)
            return tarn_err_set(err, TARN_EINVAL, "hash join: key %u column out of range", k);
        if (!key_types_match(l->types[o->left_keys[k]], r->types[o->right_keys[k]]))
            return tarn_err_set(err, TARN_EINVAL, "hash join: key %u joins %s with %s (cast first)",
                                k, vec_type_name(l->types[o->left_keys[k]].id),
                                vec_type_name(r->types[o->right_keys[k]].id));
    }
    if (o->residual && exec_expr_type(o->residual).id != VEC_BOOL)
        return tarn_err_set(err, TARN_EINVAL, "hash join: residual is not boolean");
    return 0;
}

int exec_join_new(exec_op *left, exec_op *right, const exec_join_opts *opts, exec_op **out,
                  tarn_err *err)
{
    *out = NULL;
    int rc = join_check(left, right, opts, err);
    vec_type_info *types = NULL;
    if (rc == 0) {
        types = tarn_calloc((size_t)left->ncols + right->ncols + 1, sizeof(vec_type_info));
        rc = types ? 0 : tarn_err_set(err, TARN_ENOMEM, "hash join");
    }
    if (rc != 0) {
        exec_op_close(left);
        exec_op_close(right);
        exec_expr_free(opts->residual);
        return rc;
    }
    memcpy(types, left->types, left->ncols * sizeof(vec_type_info));
    memcpy(types + left->ncols, right->types, right->ncols * sizeof(vec_type_info));
    uint32_t nl = left->ncols, nr = right->ncols;
    rc = exec_op_alloc(sizeof(join_op), &join_vt, left, left->budget, types, nl + nr, out, err);
    tarn_free(types);
    if (rc != 0) {
        exec_op_close(right);
        exec_expr_free(opts->residual);
        return rc;
    }
    join_op *j = (join_op *)*out;
    j->right = right;
    j->type = opts->type;
    j->nkeys = opts->nkeys;
    j->nleft = nl;
    j->nright = nr;
    j->residual = opts->residual;
    for (uint32_t k = 0; k < opts->nkeys; k++) {
        j->lkeys[k] = opts->left_keys[k];
        j->rkeys[k] = opts->right_keys[k];
        j->key_str[k] = exec_phys_of(left->types[opts->left_keys[k]].id) == EXEC_P_STR;
    }
    return 0;
}
