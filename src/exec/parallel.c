/*
 * exec/parallel.c: morsel parallelism. N pipelines, each an independent
 * operator tree (for example Parquet morsel source -> filter -> project ->
 * PARTIAL aggregate), run on N threads; their outputs are copied into
 * per-worker batches and handed on after all threads joined, usually to a
 * FINAL aggregate. Design note: exec/README.md, "Morsel parallelism".
 *
 * Threads: each pipeline (operators, expressions, scratch) is touched by
 * its worker thread only, between pthread_create and pthread_join, which
 * order everything the worker did before what the caller does after. What
 * threads share: the budget (atomic), the morsel counter (atomic), the
 * stop flag (atomic), and whatever the pipelines' sources share (a pq_file
 * after open is read-only; its read callback must be thread-safe).
 */
#include "base/alloc.h"
#include "exec/exec_int.h"

#include <pthread.h>
#include <string.h>

void exec_morsels_init(exec_morsels *m, uint32_t count)
{
    m->next = 0;
    m->count = count;
}

bool exec_morsels_take(exec_morsels *m, uint32_t *index)
{
    uint32_t i = __atomic_fetch_add(&m->next, 1, __ATOMIC_RELAXED);
    if (i >= m->count) {
        /* keep the counter from wrapping however often it is asked */
        __atomic_store_n(&m->next, m->count, __ATOMIC_RELAXED);
        return false;
    }
    *index = i;
    return true;
}

/* Batches in flight between the workers and the consumer, per worker. */
#define PAR_QUEUE_PER_WORKER 2

typedef struct worker {
    struct par_op *par;
    exec_op *pipe;
    int rc;
    tarn_err err;
    pthread_t thread;
    bool started;
} worker;

/* The exchange: workers copy their output rows into batches and push them
 * into a bounded queue; the consumer pops one per next and gives the
 * previous one back for reuse. All fields below `mu` are guarded by it. */
typedef struct par_op {
    exec_op base;
    worker *w;
    uint32_t n;
    pthread_mutex_t mu;
    pthread_cond_t can_push, can_pop;
    bool sync_ready, started;
    vec_batch **queue; /* ring of ready batches */
    uint32_t qcap, qhead, qlen;
    vec_batch **spare; /* empty batches to reuse */
    uint32_t nspare;
    uint32_t active;   /* workers still running */
    bool stop;         /* the first error, or close: workers finish early */
    vec_batch *held;   /* returned by the last next, reused at the following one */
    uint32_t nbatches; /* allocated, each accounted est_bytes */
    size_t est_bytes;
} par_op;

/* A batch to fill: a spare one or a new one (accounted). Called with mu held
 * for the spare list; allocation happens outside it. */
static int batch_get(par_op *p, vec_batch **out, tarn_err *err)
{
    pthread_mutex_lock(&p->mu);
    *out = p->nspare ? p->spare[--p->nspare] : NULL;
    pthread_mutex_unlock(&p->mu);
    if (*out != NULL) {
        vec_batch_reset(*out);
        return 0;
    }
    int rc = exec_budget_reserve(p->base.budget, p->est_bytes, "parallel exchange", err);
    if (rc != 0)
        return rc;
    vec_batch *b = tarn_calloc(1, sizeof(vec_batch));
    rc = b ? vec_batch_init(b, p->base.types, p->base.ncols, VEC_BATCH_ROWS) : TARN_ENOMEM;
    if (rc != 0) {
        tarn_free(b);
        exec_budget_release(p->base.budget, p->est_bytes);
        return tarn_err_set(err, rc, "parallel: batch");
    }
    pthread_mutex_lock(&p->mu);
    p->nbatches++;
    pthread_mutex_unlock(&p->mu);
    *out = b;
    return 0;
}

static void batch_free(par_op *p, vec_batch *b)
{
    vec_batch_free(b);
    tarn_free(b);
    exec_budget_release(p->base.budget, p->est_bytes);
}

/* Pushes a filled batch; false when the exchange stopped (b is then
 * given back as a spare). */
static bool push(par_op *p, vec_batch *b)
{
    pthread_mutex_lock(&p->mu);
    while (p->qlen == p->qcap && !p->stop)
        pthread_cond_wait(&p->can_push, &p->mu);
    bool ok = !p->stop;
    if (ok) {
        p->queue[(p->qhead + p->qlen) % p->qcap] = b;
        p->qlen++;
        pthread_cond_signal(&p->can_pop);
    } else {
        p->spare[p->nspare++] = b;
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

/* Copies the live rows of b (dictionary strings decoded) into exchange
 * batches and pushes them. */
static int forward(worker *w, const vec_batch *b)
{
    par_op *p = w->par;
    uint32_t n = vec_batch_live_count(b), done = 0;
    uint32_t rows[VEC_BATCH_ROWS];
    while (done < n) {
        vec_batch *o;
        int rc = batch_get(p, &o, &w->err);
        if (rc != 0)
            return rc;
        uint32_t take = n - done < VEC_BATCH_ROWS ? n - done : VEC_BATCH_ROWS;
        for (uint32_t k = 0; k < take; k++)
            rows[k] = b->sel_active ? b->sel[done + k] : done + k;
        size_t acct = 0; /* columns stay within their initial capacity but strings may grow */
        for (uint32_t c = 0; c < o->ncols && rc == 0; c++)
            rc = exec_col_append_rows(&o->cols[c], &b->cols[c], rows, take, p->base.budget, &acct,
                                      &w->err);
        exec_budget_release(p->base.budget, acct); /* string growth: counted in est_bytes' slack */
        o->len = take;
        if (rc != 0 || !push(p, o)) {
            if (rc != 0) {
                pthread_mutex_lock(&p->mu);
                p->spare[p->nspare++] = o;
                pthread_mutex_unlock(&p->mu);
            }
            return rc;
        }
        done += take;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    par_op *p = w->par;
    int rc = exec_op_open(w->pipe, &w->err);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (rc != 0 || stop)
            break;
        const vec_batch *b;
        rc = exec_op_next(w->pipe, &b, &w->err);
        if (rc != 0 || b == NULL)
            break;
        rc = forward(w, b);
    }
    pthread_mutex_lock(&p->mu);
    w->rc = rc;
    if (rc != 0)
        p->stop = true;
    p->active--;
    pthread_cond_broadcast(&p->can_pop);
    pthread_cond_broadcast(&p->can_push);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int par_start(par_op *p, tarn_err *err)
{
    p->started = true;
    p->qcap = p->n * PAR_QUEUE_PER_WORKER + 1;
    p->est_bytes = (size_t)p->base.ncols * VEC_BATCH_ROWS * 9 + 4096;
    /* every batch is in the queue, held, spare or being filled by a worker */
    uint32_t most = p->qcap + 1 + 2 * p->n + 2;
    p->queue = tarn_calloc(p->qcap, sizeof(vec_batch *));
    p->spare = tarn_calloc(most, sizeof(vec_batch *));
    if (p->queue == NULL || p->spare == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "parallel: queue");
    p->active = p->n;
    for (uint32_t i = 0; i < p->n; i++) {
        if (pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i]) != 0) {
            pthread_mutex_lock(&p->mu);
            p->stop = true;
            p->active -= p->n - i;
            pthread_cond_broadcast(&p->can_push);
            pthread_mutex_unlock(&p->mu);
            return tarn_err_set(err, TARN_ENOMEM, "parallel: thread %u", i);
        }
        p->w[i].started = true;
    }
    return 0;
}

/* The first worker error, if any (with mu held). */
static int first_error(par_op *p, tarn_err *err)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (p->w[i].rc != 0)
            return tarn_err_set(err, p->w[i].rc, "worker %u: %s", i, tarn_err_msg(&p->w[i].err));
    return 0;
}

static int par_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    par_op *p = (par_op *)op;
    if (!p->started) {
        int rc = par_start(p, err);
        if (rc != 0)
            return rc;
    }
    pthread_mutex_lock(&p->mu);
    if (p->held != NULL) { /* the caller is done with the last batch */
        p->spare[p->nspare++] = p->held;
        p->held = NULL;
        pthread_cond_signal(&p->can_push);
    }
    while (p->qlen == 0 && p->active > 0 && !p->stop)
        pthread_cond_wait(&p->can_pop, &p->mu);
    int rc = first_error(p, err);
    if (rc == 0 && p->qlen > 0) {
        p->held = p->queue[p->qhead];
        p->qhead = (p->qhead + 1) % p->qcap;
        p->qlen--;
        pthread_cond_signal(&p->can_push);
        *out = p->held;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void par_close(exec_op *op)
{
    par_op *p = (par_op *)op;
    if (p->sync_ready) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_broadcast(&p->can_push);
        pthread_mutex_unlock(&p->mu);
    }
    for (uint32_t i = 0; i < p->n; i++)
        if (p->w[i].started)
            pthread_join(p->w[i].thread, NULL);
    for (uint32_t i = 0; i < p->n; i++)
        exec_op_close(p->w[i].pipe);
    for (uint32_t k = 0; k < p->qlen; k++)
        batch_free(p, p->queue[(p->qhead + k) % p->qcap]);
    for (uint32_t k = 0; k < p->nspare; k++)
        batch_free(p, p->spare[k]);
    if (p->held)
        batch_free(p, p->held);
    tarn_free(p->queue);
    tarn_free(p->spare);
    tarn_free(p->w);
    if (p->sync_ready) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->can_push);
        pthread_cond_destroy(&p->can_pop);
    }
}

static int par_open(exec_op *op, tarn_err *err)
{
    par_op *p = (par_op *)op;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return tarn_err_set(err, TARN_ENOMEM, "parallel: mutex");
    if (pthread_cond_init(&p->can_push, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return tarn_err_set(err, TARN_ENOMEM, "parallel: condition");
    }
    if (pthread_cond_init(&p->can_pop, NULL) != 0) {
        pthread_cond_destroy(&p->can_push);
        pthread_mutex_destroy(&p->mu);
        return tarn_err_set(err, TARN_ENOMEM, "parallel: condition");
    }
    p->sync_ready = true;
    return 0;
}

static const exec_op_vt par_vt = {"parallel", par_open, par_next, par_close};

static bool same_types(const exec_op *a, const exec_op *b)
{
    if (a->ncols != b->ncols)
        return false;
    for (uint32_t c = 0; c < a->ncols; c++) {
        vec_type_info x = a->types[c], y = b->types[c];
        if (x.id != y.id || x.scale != y.scale || x.unit != y.unit || x.list != y.list)
            return false;
    }
    return true;
}

int exec_parallel_new(exec_op **pipes, uint32_t n, exec_op **out, tarn_err *err)
{
    *out = NULL;
    int rc =
        n >= 1 && n <= EXEC_WORKERS_MAX
            ? 0
            : tarn_err_set(err, TARN_EINVAL, "parallel: %u pipelines (1..%d)", n, EXEC_WORKERS_MAX);
    for (uint32_t i = 1; i < n && rc == 0; i++)
        if (!same_types(pipes[0], pipes[i]) || pipes[i]->budget != pipes[0]->budget)
            rc =
                tarn_err_set(err, TARN_EINVAL,
                             "parallel: pipeline %u differs from pipeline 0 (schema or budget)", i);
    worker *w = rc == 0 ? tarn_calloc(n, sizeof(worker)) : NULL;
    if (rc == 0 && w == NULL)
        rc = tarn_err_set(err, TARN_ENOMEM, "parallel");
    if (rc == 0)
        rc = exec_op_alloc(sizeof(par_op), &par_vt, NULL, pipes[0]->budget, pipes[0]->types,
                           pipes[0]->ncols, out, err);
    if (rc != 0) {
        tarn_free(w);
        for (uint32_t i = 0; i < n; i++)
            exec_op_close(pipes[i]);
        return rc;
    }
    par_op *p = (par_op *)*out;
    for (uint32_t i = 0; i < n; i++) {
        w[i].par = p;
        w[i].pipe = pipes[i];
    }
    p->w = w;
    p->n = n;
    return 0;
}

int exec_parallel_build(exec_pipeline_fn build, void *ctx, uint32_t n, exec_budget *budget,
                        exec_op **out, tarn_err *err)
{
    *out = NULL;
    if (n < 1 || n > EXEC_WORKERS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "parallel: %u workers (1..%d)", n, EXEC_WORKERS_MAX);
    exec_op *pipes[EXEC_WORKERS_MAX];
    for (uint32_t i = 0; i < n; i++) {
        int rc = build(ctx, i, budget, &pipes[i], err);
        if (rc != 0) {
            for (uint32_t k = 0; k < i; k++)
                exec_op_close(pipes[k]);
            return tarn_err_wrap(err, rc, "parallel: build pipeline %u", i);
        }
    }
    return exec_parallel_new(pipes, n, out, err);
}
