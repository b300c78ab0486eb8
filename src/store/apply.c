/*
 * store/apply.c: store_apply, the one place committed entries change the
 * state, and read transactions. Design note: src/store/README.md ("The
 * apply contract").
 */
#include "store/store_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"

#include <string.h>

/* Checks ordering and finds the first entry above the applied index
 * (inside the open transaction, if any): *first = n when every entry is
 * already applied. */
static int batch_check(const store *st, const store_entry *entries, size_t n, size_t *first,
                       tarn_err *err)
{
    if (n > STORE_BATCH_MAX)
        return tarn_err_set(err, TARN_EINVAL, "batch of %zu entries exceeds %d", n,
                            STORE_BATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        if (entries[i].index == 0)
            return tarn_err_set(err, TARN_EINVAL, "entry %zu has index 0", i);
        if (i > 0 && entries[i].index != entries[i - 1].index + 1)
            return tarn_err_set(err, TARN_EINVAL, "entries not contiguous: %llu after %llu",
                                (unsigned long long)entries[i].index,
                                (unsigned long long)entries[i - 1].index);
        if (entries[i].len > 0 && entries[i].data == NULL)
            return tarn_err_set(err, TARN_EINVAL, "entry %zu has no data", i);
    }
    size_t i = 0;
    while (i < n && entries[i].index <= st->open_index)
        i++;
    if (i < n && entries[i].index != st->open_index + 1)
        return tarn_err_set(err, TARN_EINVAL, "gap: entry %llu after applied index %llu",
                            (unsigned long long)entries[i].index,
                            (unsigned long long)st->open_index);
    *first = i;
    return 0;
}

/* Applies one entry in a nested transaction, so that a deterministic
 * failure rolls back whatever the handler wrote before it failed
 * (invariant 3). Returns 0 or the code that aborts the batch. */
static int apply_one(store *st, MDB_txn *parent, const store_entry *e, const store_registry *reg,
                     store_result *res, tarn_err *err)
{
    res->code = TARN_OK;
    if (e->len == 0)
        return 0;
    uint8_t type = e->data[0];
    if (reg == NULL || reg->fn[type] == NULL) {
        /* Deterministic: every replica runs the same registry. */
        res->code = TARN_ENOTSUP;
        return 0;
    }
    store_txn t = {.dbi = st->dbi, .rdonly = 0, .index = e->index, .term = e->term};
    int rc = mdb_txn_begin(st->env, parent, 0, &t.txn);
    if (rc != 0)
        return tarn_err_set(err, store_mdb_code(rc), "entry %llu: begin: %s",
                            (unsigned long long)e->index, mdb_strerror(rc));
    rc = reg->fn[type](reg->ctx[type], &t, e, res);
    if (rc < 0) {
        mdb_txn_abort(t.txn);
        store_result_free(res);
        return tarn_err_set(err, rc, "entry %llu (type 0x%02x): %s", (unsigned long long)e->index,
                            type, tarn_strerror(rc));
    }
    TARN_ASSERT(rc == 0);
    if (res->code != TARN_OK) {
        mdb_txn_abort(t.txn);
        return 0;
    }
    rc = mdb_txn_commit(t.txn);
    if (rc != 0) {
        store_result_free(res);
        return tarn_err_set(err, store_mdb_code(rc), "entry %llu: commit: %s",
                            (unsigned long long)e->index, mdb_strerror(rc));
    }
    return 0;
}

static void results_release(store_result *results, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_result_free(&results[i]);
}

void store_rollback(store *st)
{
    if (st == NULL || st->open_txn == NULL)
        return;
    mdb_txn_abort(st->open_txn);
    st->open_txn = NULL;
    st->open_index = st->applied_index;
    st->open_term = st->applied_term;
    st->open_entries = 0;
}

int store_apply_open(store *st, const store_entry *entries, size_t n, const store_registry *reg,
                     store_result *results, tarn_err *err)
{
    if (st->failed)
        return tarn_err_set(err, TARN_ESTATE, "store unusable after an earlier I/O error");
    for (size_t i = 0; i < n; i++)
        results[i] = (store_result){0};
    size_t first = 0;
    int rc = batch_check(st, entries, n, &first, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < first; i++)
        results[i].skipped = 1;
    if (first == n)
        return 0;
    int64_t t0 = tarn_mono_ns();
    if (st->open_txn == NULL) {
        int mrc = mdb_txn_begin(st->env, NULL, 0, &st->open_txn);
        if (mrc != 0) {
            st->open_txn = NULL;
            rc = tarn_err_set(err, store_mdb_code(mrc), "begin: %s", mdb_strerror(mrc));
            goto fail;
        }
    }
    for (size_t i = first; i < n; i++) {
        if ((rc = apply_one(st, st->open_txn, &entries[i], reg, &results[i], err)) != 0)
            goto fail;
    }
    const store_entry *last = &entries[n - 1];
    if ((rc = store_meta_write_applied(st->open_txn, st->dbi, last->index, last->term)) != 0) {
        tarn_err_set(err, rc, "record applied index %llu", (unsigned long long)last->index);
        goto fail;
    }
    st->open_index = last->index;
    st->open_term = last->term;
    st->open_entries += n - first;
    obs_histogram_observe(st->m_batch, (double)(n - first));
    obs_histogram_observe(st->m_latency, (double)(tarn_mono_ns() - t0) / 1e9);
    return 0;
fail:
    /* Everything since the last commit goes: the host replays it. */
    store_rollback(st);
    results_release(results, n);
    if (store_code_is_fatal(rc))
        st->failed = rc;
    return tarn_err_wrap(err, rc, "apply %llu..%llu", (unsigned long long)entries[first].index,
                         (unsigned long long)entries[n - 1].index);
}

int store_commit(store *st, tarn_err *err)
{
    if (st->open_txn == NULL)
        return 0;
    int64_t t0 = tarn_mono_ns();
    size_t entries = st->open_entries;
    int mrc = mdb_txn_commit(st->open_txn);
    st->open_txn = NULL; /* a failed commit frees the transaction too */
    st->open_entries = 0;
    if (mrc != 0) {
        int rc = store_mdb_code(mrc);
        uint64_t upto = st->open_index;
        st->open_index = st->applied_index;
        st->open_term = st->applied_term;
        if (store_code_is_fatal(rc))
            st->failed = rc;
        return tarn_err_set(err, rc, "commit through index %llu: %s", (unsigned long long)upto,
                            mdb_strerror(mrc));
    }
    st->applied_index = st->open_index;
    st->applied_term = st->open_term;
    obs_gauge_set(st->m_applied, (double)st->applied_index);
    obs_histogram_observe(st->m_commit_entries, (double)entries);
    obs_histogram_observe(st->m_commit_latency, (double)(tarn_mono_ns() - t0) / 1e9);
    return 0;
}

int store_apply(store *st, const store_entry *entries, size_t n, const store_registry *reg,
                store_result *results, tarn_err *err)
{
    int rc = store_apply_open(st, entries, n, reg, results, err);
    if (rc == 0 && (rc = store_commit(st, err)) != 0)
        results_release(results, n);
    return rc;
}

int store_read_begin(store *st, store_txn **out, tarn_err *err)
{
    *out = NULL;
    if (st->failed)
        return tarn_err_set(err, TARN_ESTATE, "store unusable after an earlier I/O error");
    store_txn *t = tarn_calloc(1, sizeof(*t));
    if (t == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "read transaction");
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t->txn);
    if (rc != 0) {
        tarn_free(t);
        return tarn_err_set(err, store_mdb_code(rc), "begin read: %s", mdb_strerror(rc));
    }
    t->dbi = st->dbi;
    t->rdonly = 1;
    *out = t;
    return 0;
}

void store_read_end(store_txn *txn)
{
    if (txn == NULL)
        return;
    mdb_txn_abort(txn->txn);
    tarn_free(txn);
}
