/*
 * exec/sort.c: ORDER BY (multi-key, ASC/DESC, NULLS FIRST/LAST) and top-N.
 * Input rows are copied into flat columns (dictionary strings decoded),
 * then a permutation is merge-sorted (stable, so ties keep input order)
 * and gathered into output batches. With a limit, the collection is cut
 * back to the best `limit` rows whenever it reaches twice that plus a
 * batch, so memory stays O(limit + batch). Design note: exec/README.md.
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "exec/exec_int.h"

#include <string.h>

typedef struct sort_op {
    exec_op base;
    exec_sort_key keys[EXEC_AGG_KEYS_MAX];
    uint32_t nkeys;
    uint64_t limit;
    vec_col *store; /* ncols collected columns */
    uint32_t *perm, *tmp;
    uint32_t perm_cap;
    uint32_t nout, emitted;
    bool built;
    vec_batch out;
    bool out_ready;
    size_t acct_bytes;
} sort_op;

static int row_cmp(const sort_op *s, uint32_t x, uint32_t y)
{
    for (uint32_t k = 0; k < s->nkeys; k++) {
        const exec_sort_key *key = &s->keys[k];
        const vec_col *c = &s->store[key->col];
        bool vx = vec_col_is_valid(c, x), vy = vec_col_is_valid(c, y);
        if (!vx || !vy) {
            if (vx == vy)
                continue;
            return (!vx == key->nulls_first) ? -1 : 1;
        }
        int r = vec_value_cmp(c, x, c, y);
        if (r != 0)
            return key->desc ? -r : r;
    }
    return x < y ? -1 : x > y; /* stable */
}

/* Bottom-up merge sort of perm[0..n) using tmp. */
static void perm_sort(sort_op *s, uint32_t n)
{
    uint32_t *a = s->perm, *b = s->tmp;
    for (uint32_t w = 1; w < n; w *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * w) {
            uint32_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            uint32_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                b[o++] = row_cmp(s, a[i], a[j]) <= 0 ? a[i++] : a[j++];
            while (i < mid)
                b[o++] = a[i++];
            while (j < hi)
                b[o++] = a[j++];
        }
        uint32_t *t = a;
        a = b;
        b = t;
    }
    if (a != s->perm)
        memcpy(s->perm, a, (size_t)n * sizeof(uint32_t));
}

static int perm_room(sort_op *s, uint32_t n, tarn_err *err)
{
    if (s->perm_cap >= n)
        return 0;
    uint32_t cap = n > 1024 ? n : 1024;
    size_t bytes = (size_t)(cap - s->perm_cap) * 8;
    int rc = exec_budget_reserve(s->base.budget, bytes, "sort", err);
    if (rc != 0)
        return rc;
    s->acct_bytes += bytes;
    uint32_t *p = tarn_realloc(s->perm, (size_t)cap * 4);
    if (p)
        s->perm = p;
    uint32_t *t = tarn_realloc(s->tmp, (size_t)cap * 4);
    if (t)
        s->tmp = t;
    if (p == NULL || t == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "sort: %u rows", cap);
    s->perm_cap = cap;
    return 0;
}

static uint32_t store_rows(const sort_op *s)
{
    return s->base.ncols ? s->store[0].len : 0;
}

static int sort_all(sort_op *s, tarn_err *err)
{
    uint32_t n = store_rows(s);
    int rc = perm_room(s, n, err);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        s->perm[i] = i;
    perm_sort(s, n);
    return 0;
}

/* Top-N: keeps only the best `limit` rows of the collection. */
static int sort_compact(sort_op *s, tarn_err *err)
{
    int rc = sort_all(s, err);
    if (rc != 0)
        return rc;
    uint32_t keep = (uint32_t)s->limit;
    for (uint32_t i = 0; i < s->base.ncols && rc == 0; i++) {
        vec_col fresh;
        memset(&fresh, 0, sizeof(fresh));
        rc = exec_col_prepare(&fresh, s->store[i].type, keep, s->base.budget, &s->acct_bytes,
                              "top-n", err);
        if (rc == 0)
            rc = exec_col_append_rows(&fresh, &s->store[i], s->perm, keep, s->base.budget,
                                      &s->acct_bytes, err);
        vec_col *gone = rc == 0 ? &s->store[i] : &fresh;
        size_t bytes = vec_col_mem_bytes(gone);
        bytes = bytes < s->acct_bytes ? bytes : s->acct_bytes;
        exec_budget_release(s->base.budget, bytes);
        s->acct_bytes -= bytes;
        vec_col_free(gone);
        if (rc == 0)
            s->store[i] = fresh;
    }
    return rc;
}

static int sort_consume(sort_op *s, const vec_batch *b, tarn_err *err)
{
    uint32_t n = vec_batch_live_count(b);
    int rc = perm_room(s, n, err);
    if (rc != 0)
        return rc;
    for (uint32_t k = 0; k < n; k++)
        s->perm[k] = b->sel_active ? b->sel[k] : k;
    for (uint32_t i = 0; i < s->base.ncols && rc == 0; i++)
        rc = exec_col_append_rows(&s->store[i], &b->cols[i], s->perm, n, s->base.budget,
                                  &s->acct_bytes, err);
    if (rc == 0 && s->limit != UINT64_MAX && store_rows(s) >= 2 * s->limit + VEC_BATCH_ROWS)
        rc = sort_compact(s, err);
    return rc;
}

static int sort_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    sort_op *s = (sort_op *)op;
    while (!s->built) {
        const vec_batch *b;
        int rc = exec_op_next(op->child, &b, err);
        if (rc != 0)
            return rc;
        if (b != NULL) {
            rc = s->limit == 0 ? 0 : sort_consume(s, b, err);
            if (rc != 0)
                return rc;
            continue;
        }
        rc = sort_all(s, err);
        if (rc != 0)
            return rc;
        s->nout = store_rows(s);
        if (s->limit < s->nout)
            s->nout = (uint32_t)s->limit;
        s->built = true;
    }
    if (s->emitted >= s->nout)
        return 0;
    uint32_t m = s->nout - s->emitted;
    if (m > VEC_BATCH_ROWS)
        m = VEC_BATCH_ROWS;
    vec_batch_reset(&s->out);
    for (uint32_t i = 0; i < op->ncols; i++) {
        int rc = exec_col_append_rows(&s->out.cols[i], &s->store[i], s->perm + s->emitted, m,
                                      op->budget, &s->acct_bytes, err);
        if (rc != 0)
            return rc;
    }
    s->out.len = m;
    s->emitted += m;
    *out = &s->out;
    return 0;
}

static int sort_open(exec_op *op, tarn_err *err)
{
    sort_op *s = (sort_op *)op;
    s->store = tarn_calloc(op->ncols ? op->ncols : 1, sizeof(vec_col));
    if (s->store == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "sort columns");
    for (uint32_t i = 0; i < op->ncols; i++) {
        int rc = exec_col_prepare(&s->store[i], op->types[i], 1024, op->budget, &s->acct_bytes,
                                  "sort", err);
        if (rc != 0)
            return rc;
    }
    int rc = exec_budget_reserve(op->budget, (size_t)op->ncols * VEC_BATCH_ROWS * 9, "sort", err);
    if (rc != 0)
        return rc;
    s->acct_bytes += (size_t)op->ncols * VEC_BATCH_ROWS * 9;
    rc = vec_batch_init(&s->out, op->types, op->ncols, VEC_BATCH_ROWS);
    if (rc != 0)
        return tarn_err_set(err, rc, "sort: output batch");
    s->out_ready = true;
    return 0;
}

static void sort_close(exec_op *op)
{
    sort_op *s = (sort_op *)op;
    if (s->store)
        for (uint32_t i = 0; i < op->ncols; i++)
            vec_col_free(&s->store[i]);
    tarn_free(s->store);
    tarn_free(s->perm);
    tarn_free(s->tmp);
    if (s->out_ready)
        vec_batch_free(&s->out);
    exec_budget_release(op->budget, s->acct_bytes);
}

static const exec_op_vt sort_vt = {"sort", sort_open, sort_next, sort_close};

int exec_sort_new(exec_op *child, const exec_sort_key *keys, uint32_t nkeys, uint64_t limit,
                  exec_op **out, tarn_err *err)
{
    *out = NULL;
    for (uint32_t k = 0; k < nkeys; k++) {
        if (nkeys > EXEC_AGG_KEYS_MAX || keys[k].col >= child->ncols ||
            exec_phys_of(child->types[keys[k].col].id) == EXEC_P_NONE) {
            exec_op_close(child);
            return tarn_err_set(err, TARN_EINVAL, "sort key %u: bad column or type", k);
        }
    }
    int rc = exec_op_alloc(sizeof(sort_op), &sort_vt, child, child->budget, child->types,
                           child->ncols, out, err);
    if (rc != 0)
        return rc;
    sort_op *s = (sort_op *)*out;
    memcpy(s->keys, keys, nkeys * sizeof(exec_sort_key));
    s->nkeys = nkeys;
    s->limit = limit;
    return 0;
}
