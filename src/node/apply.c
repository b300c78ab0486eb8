/*
 * node/apply.c: the apply thread. The Ready loop hands it the committed
 * entries of each Ready (copied, since the core's pointers die at
 * raft_advance) and goes on to the next Ready at once; this thread applies
 * them to the store, one LMDB write transaction per run of queued
 * entries, and completes the proposals and read barriers they answer.
 * Design note: src/node/README.md ("The apply thread").
 *
 * Why a thread of its own: an LMDB commit ends with an fsync, and so does
 * the WAL's persist of the next Ready. On one thread they ran in series
 * (a loop turn cost both); here batch k's LMDB commit overlaps batch k+1's
 * WAL fsync, and batches that queue up while a commit runs are applied
 * together in the next transaction, so under load the store commits
 * larger batches less often.
 *
 * Deferred commits (README "Deferred store commits"): runs are applied
 * into one LMDB write transaction that stays open across runs
 * (store_apply_open), and proposals are answered from it at once; the
 * transaction is committed (one fsync) later: when a read barrier waits
 * for an index in it, when it is NODE_APPLY_COMMIT_MS old or big, when no
 * run came for NODE_APPLY_IDLE_US, and on drain or stop. Answering before
 * the store's commit is safe because the entries are committed in Raft
 * (durable in a quorum's WAL) and applying is deterministic: after a crash
 * the WAL replay applies them again with the same results. What readers
 * see stays the committed store (invariant 2), so a linearizable read
 * waits for the commit of what it must see, and nothing else does.
 *
 * Invariants:
 *  1. Entries reach the store in index order, exactly once per handing
 *     over: the loop enqueues the committed entries of each Ready in
 *     order, only this thread dequeues, and store_apply skips what the
 *     store already has.
 *  2. n->applied (and n->applied_term) is the store's committed applied
 *     index: it is raised under mu only after store_commit, so a
 *     read barrier completed because applied >= its read index is followed
 *     by a read transaction that sees that index (ReadIndex, dissertation
 *     6.4). The core's own applied index is "handed to this thread", which
 *     it only uses to bound raft_compact (compaction drains first).
 *  3. The loop touches the store's write side (snapshot open, install,
 *     store_sync for compaction) only after node_apply_drain returned 0:
 *     the queue is empty, the open transaction committed and this thread
 *     idle, and it stays so until the loop enqueues again. Only this
 *     thread begins, commits or rolls back the open transaction (LMDB
 *     ties a write transaction to its thread).
 *  4. A failure here (I/O, out of memory) makes the node sticky failed
 *     exactly as a failure of the loop does: every waiter gets
 *     TARN_ESTATE, the loop stops at its next enqueue or wait, and the
 *     process must reopen the node, whose WAL replay applies what was
 *     queued.
 *
 * Lock order: mu only (store_apply runs without it).
 */
#include "node/node_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

#include <string.h>
#include <time.h>

/* A run of committed entries copied out of one Ready: the entries array
 * and their payloads live in the same allocation. */
struct node_apply_batch {
    node_apply_batch *next;
    size_t count;
    size_t bytes; /* payload bytes */
    store_entry *ents;
    uint8_t mem[]; /* count store_entry, then the payloads */
};

/* Copies ents[0..count) into a new batch, as the store commands they
 * are (node_store_entry_of: a no-op is empty, a configuration change
 * becomes NODE_CMD_CONF); NULL on out of memory. Loop thread. */
static node_apply_batch *apply_batch_copy(node *n, const raft_entry *ents, size_t count)
{
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        store_entry se;
        node_store_entry_of(n, &ents[i], &se);
        bytes += se.len;
    }
    node_apply_batch *b = tarn_malloc(sizeof(*b) + count * sizeof(store_entry) + bytes);
    if (!b)
        return NULL;
    b->next = NULL;
    b->count = count;
    b->bytes = bytes;
    b->ents = (store_entry *)(void *)b->mem;
    uint8_t *p = b->mem + count * sizeof(store_entry);
    for (size_t i = 0; i < count; i++) {
        store_entry se;
        node_store_entry_of(n, &ents[i], &se); /* conf_cmd is reused: copy at once */
        if (se.len)
            memcpy(p, se.data, se.len);
        b->ents[i] = (store_entry){
            .index = se.index, .term = se.term, .data = se.len ? p : NULL, .len = se.len};
        p += se.len;
    }
    return b;
}

/* Whether one more batch of `bytes` payload may be queued (under mu). An
 * empty queue always takes one, however big, so nothing can wait forever. */
static int apply_queue_has_room(const node *n, size_t bytes)
{
    if (!n->apply_head)
        return 1;
    return n->apply_entries < NODE_APPLY_QUEUE_ENTRIES_MAX &&
           n->apply_bytes + bytes <= NODE_APPLY_QUEUE_BYTES_MAX;
}

int node_apply_enqueue(node *n, const raft_entry *ents, size_t count, tarn_err *err)
{
    size_t done = 0;
    while (done < count) {
        size_t k = count - done;
        if (k > STORE_BATCH_MAX)
            k = STORE_BATCH_MAX;
        node_apply_batch *b = apply_batch_copy(n, ents + done, k);
        if (!b)
            return tarn_err_set(err, TARN_ENOMEM, "apply: copy %zu entries", k);
        pthread_mutex_lock(&n->mu);
        /* Back-pressure: a store slower than the log makes the loop wait
         * here rather than queue without bound. */
        while (!n->failed && !apply_queue_has_room(n, b->bytes))
            pthread_cond_wait(&n->apply_done, &n->mu);
        int failed = n->failed;
        if (!failed) {
            if (n->apply_tail)
                n->apply_tail->next = b;
            else
                n->apply_head = b;
            n->apply_tail = b;
            n->apply_entries += b->count;
            n->apply_bytes += b->bytes;
            pthread_cond_signal(&n->wake_apply);
        }
        pthread_mutex_unlock(&n->mu);
        if (failed) {
            tarn_free(b);
            return tarn_err_set(err, TARN_ESTATE, "apply: the apply thread failed");
        }
        done += k;
    }
    return 0;
}

int node_apply_drain(node *n, tarn_err *err)
{
    pthread_mutex_lock(&n->mu);
    n->apply_flush = 1;
    pthread_cond_signal(&n->wake_apply);
    while (!n->failed && (n->apply_head || n->apply_busy || n->apply_open))
        pthread_cond_wait(&n->apply_done, &n->mu);
    n->apply_flush = 0;
    int failed = n->failed;
    pthread_mutex_unlock(&n->mu);
    return failed ? tarn_err_set(err, TARN_ESTATE, "apply: the apply thread failed") : 0;
}

uint64_t node_applied_index(node *n)
{
    pthread_mutex_lock(&n->mu);
    uint64_t a = n->applied;
    pthread_mutex_unlock(&n->mu);
    return a;
}

void node_applied_reset(node *n)
{
    pthread_mutex_lock(&n->mu);
    n->applied = n->st ? store_applied_index(n->st) : 0;
    n->applied_term = n->st ? store_applied_term(n->st) : 0;
    pthread_mutex_unlock(&n->mu);
}

/* Takes (under mu) queued batches holding at most STORE_BATCH_MAX entries
 * in all (at least one batch), unlinked in order. */
static node_apply_batch *apply_take(node *n, size_t *count)
{
    node_apply_batch *first = n->apply_head, *last = first;
    size_t total = first->count;
    while (last->next && total + last->next->count <= STORE_BATCH_MAX) {
        last = last->next;
        total += last->count;
    }
    n->apply_head = last->next;
    if (!n->apply_head)
        n->apply_tail = NULL;
    last->next = NULL;
    for (node_apply_batch *b = first; b; b = b->next) {
        n->apply_entries -= b->count;
        n->apply_bytes -= b->bytes;
    }
    *count = total;
    return first;
}

static void apply_batches_free(node_apply_batch *b)
{
    while (b) {
        node_apply_batch *next = b->next;
        tarn_free(b);
        b = next;
    }
}

/* Completes (under mu) the in-flight proposals answered by entries up to
 * ents[count-1]: the one proposed at (index, term) gets its result; one
 * whose index was taken by another term's entry lost its leadership and
 * gets TARN_EBUSY (retry). */
static void apply_complete_proposals(node *n, const store_entry *ents, store_result *res,
                                     size_t count)
{
    for (size_t i = 0; i < count; i++) {
        while (n->inflight.head && n->inflight.head->index <= ents[i].index) {
            node_waiter *w = node_list_pop(&n->inflight);
            if (w->index == ents[i].index && w->term == ents[i].term) {
                n->answered = w->index;
                w->res = res[i];
                memset(&res[i], 0, sizeof(res[i]));
                node_waiter_complete(n, w, 0);
            } else {
                node_waiter_complete(n, w, TARN_EBUSY);
            }
        }
    }
}

/* Applies one run of batches into the open transaction and answers the
 * proposals it settles (the read barriers wait for the commit). Returns 0
 * or the error that fails the node. */
static int apply_run(node *n, node_apply_batch *batches, size_t count, store_entry *ents,
                     store_result *res, tarn_err *err)
{
    size_t k = 0;
    for (node_apply_batch *b = batches; b; b = b->next)
        for (size_t i = 0; i < b->count; i++)
            ents[k++] = b->ents[i];
    TARN_ASSERT(k == count);
    int64_t t0 = tarn_mono_ns();
    /* The store's write side belongs to this thread while it is busy
     * (invariant 3); n->st is only replaced while it is idle. */
    int rc = store_apply_open(n->st, ents, count, &n->reg, res, err);
    obs_histogram_observe(n->m_apply_latency, (double)(tarn_mono_ns() - t0) / 1e9);
    if (rc == 0) {
        pthread_mutex_lock(&n->mu);
        apply_complete_proposals(n, ents, res, count);
        node_unlock(n); /* then the async proposals' callbacks, here (node_int.h) */
    }
    for (size_t i = 0; i < count; i++)
        store_result_free(&res[i]);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "apply from index %llu", (unsigned long long)ents[0].index);
    return 0;
}

/* Commits the open transaction and publishes its applied index, which
 * completes the read barriers waiting for it. */
static int apply_commit(node *n, tarn_err *err)
{
    int rc = store_commit(n->st, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "commit the store");
    uint64_t index = store_applied_index(n->st), term = store_applied_term(n->st);
    pthread_mutex_lock(&n->mu);
    n->applied = index;
    n->applied_term = term;
    node_complete_reads(n, 1);
    node_status_applied(n);
    pthread_mutex_unlock(&n->mu);
    return 0;
}

/* Whether a read barrier of this node waits for an index that the open
 * transaction holds (under mu). Barriers a peer forwarded here are
 * answered without waiting for our apply. */
static int apply_reader_waits(const node *n, uint64_t open_index)
{
    for (const node_waiter *w = n->read_wait.head; w; w = w->next)
        if (w->term && !w->origin && w->index > n->applied && w->index <= open_index)
            return 1;
    return 0;
}

/* CLOCK_MONOTONIC, the clock of wake_apply's timed waits (the process
 * clock of base/clock.h may be a test's manual one). */
static int64_t apply_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What the apply thread does next (under mu). */
enum apply_step { APPLY_WAIT, APPLY_RUN, APPLY_COMMIT, APPLY_EXIT };

/* The open transaction's size and age, kept by apply_main. */
typedef struct apply_open_txn {
    int64_t since_ns; /* when its first run was applied */
    int64_t fed_ns;   /* when its last run was applied */
    size_t bytes;     /* payload bytes applied into it */
} apply_open_txn;

/* Picks the next step; *wait_until_ns: when a deferred commit falls due
 * (0: wait for a signal only). A commit due by age or size goes before
 * more runs, so a steady stream of runs cannot hold it off; a reader's
 * or a drain's commit goes once the queue is empty, so that it covers
 * what was handed over before it. */
static enum apply_step apply_next(node *n, const apply_open_txn *ot, int64_t *wait_until_ns)
{
    *wait_until_ns = 0;
    if (n->apply_stop || n->failed)
        return APPLY_EXIT;
    if (!n->apply_open)
        return n->apply_head ? APPLY_RUN : APPLY_WAIT;
    int64_t now = apply_now_ns();
    int64_t due = ot->since_ns + (int64_t)NODE_APPLY_COMMIT_MS * 1000000;
    if (now >= due || store_open_entries(n->st) >= NODE_APPLY_COMMIT_ENTRIES ||
        ot->bytes >= NODE_APPLY_COMMIT_BYTES || n->answered_waiters ||
        apply_reader_waits(n, store_open_index(n->st)))
        return APPLY_COMMIT;
    if (n->apply_head)
        return APPLY_RUN;
    int64_t idle = ot->fed_ns + (int64_t)NODE_APPLY_IDLE_US * 1000;
    if (n->apply_flush || now >= idle)
        return APPLY_COMMIT;
    *wait_until_ns = idle < due ? idle : due;
    return APPLY_WAIT;
}

static void apply_wait(node *n, int64_t until_ns)
{
    if (until_ns == 0) {
        pthread_cond_wait(&n->wake_apply, &n->mu);
        return;
    }
    struct timespec dl = {.tv_sec = (time_t)(until_ns / 1000000000),
                          .tv_nsec = (long)(until_ns % 1000000000)};
    pthread_cond_timedwait(&n->wake_apply, &n->mu, &dl);
}

static void apply_fail(node *n, int rc, const tarn_err *err)
{
    TARN_LOGF(TARN_LOG_ERROR, "node", "apply failed; the node must be reopened", TARN_F_ERR(rc),
              TARN_F_STR("detail", tarn_err_msg(err)));
    pthread_mutex_lock(&n->mu);
    if (!n->failed) {
        n->failed = rc;
        n->status.failed = rc;
    }
    node_fail_all(n, TARN_ESTATE);
    node_wake_loop(n);
    pthread_cond_broadcast(&n->apply_done);
    pthread_mutex_unlock(&n->mu);
}

/* One step outside mu: a run into the open transaction, or its commit. */
static int apply_step_run(node *n, enum apply_step step, apply_open_txn *ot, store_entry *ents,
                          store_result *res, tarn_err *err)
{
    if (step == APPLY_COMMIT)
        return apply_commit(n, err);
    pthread_mutex_lock(&n->mu);
    size_t count = 0;
    node_apply_batch *b = apply_take(n, &count);
    pthread_mutex_unlock(&n->mu);
    if (store_open_entries(n->st) == 0) {
        ot->since_ns = apply_now_ns();
        ot->bytes = 0;
    }
    for (node_apply_batch *x = b; x; x = x->next)
        ot->bytes += x->bytes;
    int rc = apply_run(n, b, count, ents, res, err);
    apply_batches_free(b);
    return rc;
}

static void *apply_main(void *arg)
{
    node *n = arg;
    store_entry *ents = tarn_malloc_array(STORE_BATCH_MAX, sizeof(*ents));
    store_result *res = tarn_malloc_array(STORE_BATCH_MAX, sizeof(*res));
    tarn_err err = TARN_ERR_INIT;
    apply_open_txn ot = {0};
    if (!ents || !res) {
        tarn_err_set(&err, TARN_ENOMEM, "apply thread: scratch");
        apply_fail(n, TARN_ENOMEM, &err);
    }
    pthread_mutex_lock(&n->mu);
    while (ents && res) {
        int64_t until = 0;
        enum apply_step step = apply_next(n, &ot, &until);
        if (step == APPLY_EXIT)
            break;
        if (step == APPLY_WAIT) {
            apply_wait(n, until);
            continue;
        }
        n->apply_busy = 1;
        pthread_mutex_unlock(&n->mu);
        int rc = apply_step_run(n, step, &ot, ents, res, &err);
        if (rc != 0) {
            apply_fail(n, rc, &err);
            pthread_mutex_lock(&n->mu);
            n->apply_busy = 0;
            break;
        }
        pthread_mutex_lock(&n->mu);
        n->apply_busy = 0;
        n->apply_open = store_open_entries(n->st) > 0;
        if (step == APPLY_RUN)
            ot.fed_ns = apply_now_ns();
        pthread_cond_broadcast(&n->apply_done); /* room in the queue; maybe drained */
    }
    /* Stopping: what the open transaction holds is committed (a clean
     * close leaves nothing to replay). Failed: it is rolled back. Either
     * way what is still queued is committed and durable in the WAL, and
     * the next open replays it. */
    int commit = !n->failed && n->apply_open;
    pthread_mutex_unlock(&n->mu);
    if (commit && apply_commit(n, &err) != 0)
        TARN_LOGF(TARN_LOG_WARN, "node", "store commit at close failed; the next open replays",
                  TARN_F_STR("detail", tarn_err_msg(&err)));
    store_rollback(n->st);
    pthread_mutex_lock(&n->mu);
    n->apply_open = 0;
    apply_batches_free(n->apply_head);
    n->apply_head = n->apply_tail = NULL;
    n->apply_entries = n->apply_bytes = 0;
    pthread_cond_broadcast(&n->apply_done);
    pthread_mutex_unlock(&n->mu);
    tarn_free(ents);
    tarn_free(res);
    return NULL;
}

int node_apply_start(node *n, tarn_err *err)
{
    if (pthread_create(&n->apply_thread, NULL, apply_main, n) != 0)
        return tarn_err_set(err, TARN_ENOMEM, "node: start apply thread");
    n->apply_started = 1;
    return 0;
}

void node_apply_stop(node *n)
{
    if (!n->apply_started)
        return;
    pthread_mutex_lock(&n->mu);
    n->apply_stop = 1;
    pthread_cond_broadcast(&n->wake_apply);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->apply_thread, NULL);
    n->apply_started = 0;
}
