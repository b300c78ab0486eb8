/*
 * wal/group.c: group commit. Design note: src/wal/README.md ("Group
 * commit").
 *
 * Callers of wal_submit queue a request (on their own stack) in a bounded
 * ring under q_mu and wait. Whoever finds no leader becomes the leader: it
 * takes every request queued at that moment, encodes them all into the
 * write buffer, issues one write and one fdatasync under io_mu, marks the
 * requests done and wakes everyone. Requests that arrived meanwhile are
 * led by one of their own callers next. The ring counts requests being
 * written too, so it bounds everything in flight; a full ring answers
 * TARN_EBUSY at once.
 *
 * Indexes are checked when a request is queued, against q_last (the last
 * index including everything queued), so the queue order is the log order
 * and concurrent callers can ask for "the next index" (index 0).
 */
#include "wal/wal_int.h"

#include <inttypes.h>

struct wal_submit_req {
    wal_entry *entries; /* borrowed from the caller, who waits */
    size_t n;
    const wal_hard_state *hs;
    tarn_err *err; /* the caller's; written by the leader */
    int rc;
    int done;
};

/* Assigns index-0 entries and checks the indexes against the queue's end.
 * Called with q_mu held. */
static int submit_check(wal *w, wal_entry *e, size_t n, tarn_err *err)
{
    if (w->q_len == 0 && !w->q_leader)
        w->q_last = w->st.last_index; /* no writer is running: st is stable */
    if (n > WAL_APPEND_MAX)
        return tarn_err_set(err, TARN_EINVAL, "wal submit: %zu entries (max %d)", n,
                            WAL_APPEND_MAX);
    for (size_t i = 0; i < n; i++) {
        uint64_t want = i == 0 ? w->q_last + 1 : e[i - 1].index + 1;
        if (e[i].index == 0)
            e[i].index = want;
        if (i > 0 && e[i].index != want)
            return tarn_err_set(err, TARN_EINVAL, "wal submit: entries not contiguous");
    }
    if (n > 0 && (e[0].index <= w->st.snap_index || e[0].index > w->q_last + 1))
        return tarn_err_set(err, TARN_EINVAL,
                            "wal submit at index %" PRIu64 ": outside (%" PRIu64 ", %" PRIu64 "]",
                            e[0].index, w->st.snap_index, w->q_last + 1);
    if (n > 0)
        w->q_last = e[n - 1].index;
    return 0;
}

/* Writes and syncs the first k queued requests. Called with io_mu held. */
static void lead_write(wal *w, size_t head, size_t k)
{
    size_t ok = 0, records = 0;
    for (size_t i = 0; i < k; i++) {
        wal_submit_req *r = w->q[(head + i) % w->q_cap];
        if (w->failed)
            r->rc = tarn_err_set(r->err, TARN_ESTATE, "wal %s: unusable after an earlier failure",
                                 w->dir);
        else if ((r->rc = wal_prepare_append(w, r->entries, r->n, r->err)) == 0)
            r->rc = wal_encode_batch(w, r->entries, r->n, r->hs, r->err);
        if (r->rc == 0) {
            ok++;
            records += r->n + (r->hs != NULL);
        }
    }
    if (ok == 0)
        return;
    tarn_err e = TARN_ERR_INIT;
    int rc = wal_flush(w, &e);
    if (rc == 0)
        rc = wal_sync_locked(w, &e);
    if (rc == 0) {
        w->stats.batches++;
        obs_histogram_observe(w->m.batch, (double)records);
    }
    for (size_t i = 0; rc != 0 && i < k; i++) {
        wal_submit_req *r = w->q[(head + i) % w->q_cap];
        if (r->rc == 0)
            r->rc = tarn_err_set(r->err, rc, "wal submit: %s", tarn_err_msg(&e));
    }
}

/* Leads one batch. Called and returns with q_mu held. */
static void lead(wal *w)
{
    TARN_ASSERT(!w->q_leader);
    TARN_ASSERT(w->q_len > 0);
    w->q_leader = 1;
    size_t head = w->q_head, k = w->q_len;
    pthread_mutex_unlock(&w->q_mu);
    pthread_mutex_lock(&w->io_mu);
    lead_write(w, head, k);
    pthread_mutex_unlock(&w->io_mu);
    pthread_mutex_lock(&w->q_mu);
    for (size_t i = 0; i < k; i++)
        w->q[(head + i) % w->q_cap]->done = 1;
    w->q_head = (head + k) % w->q_cap;
    w->q_len -= k;
    w->q_leader = 0;
    pthread_cond_broadcast(&w->q_cv);
}

int wal_submit(wal *w, wal_entry *entries, size_t n, const wal_hard_state *hs, tarn_err *err)
{
    TARN_ASSERT(w != NULL);
    TARN_ASSERT(n == 0 || entries != NULL);
    wal_submit_req req = {.entries = entries, .n = n, .hs = hs, .err = err};
    pthread_mutex_lock(&w->q_mu);
    if (w->q_len == w->q_cap) {
        pthread_mutex_unlock(&w->q_mu);
        return tarn_err_set(err, TARN_EBUSY, "wal submit: %zu requests pending", w->q_cap);
    }
    int rc = submit_check(w, entries, n, err);
    if (rc != 0) {
        pthread_mutex_unlock(&w->q_mu);
        return rc;
    }
    w->q[(w->q_head + w->q_len) % w->q_cap] = &req;
    w->q_len++;
    while (!req.done) {
        if (!w->q_leader)
            lead(w);
        else
            pthread_cond_wait(&w->q_cv, &w->q_mu);
    }
    pthread_mutex_unlock(&w->q_mu);
    return req.rc;
}
