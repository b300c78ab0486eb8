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

typedef struct worker {
    struct par_op *par;
    exec_op *pipe;
    vec_batch *out; /* collected batches */
    uint32_t nout, out_cap;
    size_t acct_bytes;
    int rc;
    tarn_err err;
    pthread_t thread;
    bool started;
} worker;

typedef struct par_op {
    exec_op base;
    worker *w;
    uint32_t n;
    int stop; /* atomic: set by the first failing worker */
    bool ran;
    uint32_t emit_w, emit_b;
} par_op;

/* Appends the live rows of b to the worker's collected batches. */
static int collect(worker *w, const vec_batch *b, exec_budget *bud)
{
    uint32_t n = vec_batch_live_count(b), done = 0;
    uint32_t rows[VEC_BATCH_ROWS];
    while (done < n) {
        vec_batch *o = w->nout ? &w->out[w->nout - 1] : NULL;
        if (o == NULL || o->len == o->cap) {
            if (w->nout == w->out_cap) {
                uint32_t cap = w->out_cap ? w->out_cap * 2 : 8;
                int rc = exec_budget_reserve(bud, (cap - w->out_cap) * sizeof(vec_batch),
                                             "parallel", &w->err);
                vec_batch *p = rc == 0 ? tarn_realloc(w->out, cap * sizeof(vec_batch)) : NULL;
                if (rc != 0)
                    return rc;
                w->acct_bytes += (cap - w->out_cap) * sizeof(vec_batch);
                if (p == NULL)
                    return tarn_err_set(&w->err, TARN_ENOMEM, "parallel: batches");
                w->out = p;
                w->out_cap = cap;
            }
            o = &w->out[w->nout];
            size_t est = (size_t)w->pipe->ncols * VEC_BATCH_ROWS * 9; /* as the aggregate's */
            int rc = exec_budget_reserve(bud, est, "parallel", &w->err);
            if (rc != 0)
                return rc;
            w->acct_bytes += est;
            rc = vec_batch_init(o, w->pipe->types, w->pipe->ncols, VEC_BATCH_ROWS);
            if (rc != 0)
                return tarn_err_set(&w->err, rc, "parallel: batch");
            w->nout++;
        }
        uint32_t take = o->cap - o->len < n - done ? o->cap - o->len : n - done;
        if (take > VEC_BATCH_ROWS)
            take = VEC_BATCH_ROWS;
        for (uint32_t k = 0; k < take; k++)
            rows[k] = b->sel_active ? b->sel[done + k] : done + k;
        for (uint32_t c = 0; c < o->ncols; c++) {
            int rc = exec_col_append_rows(&o->cols[c], &b->cols[c], rows, take, bud, &w->acct_bytes,
                                          &w->err);
            if (rc != 0)
                return rc;
        }
        o->len += take;
        done += take;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    par_op *p = w->par;
    exec_budget *bud = p->base.budget;
    int rc = exec_op_open(w->pipe, &w->err);
    while (rc == 0 && !__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
        const vec_batch *b;
        rc = exec_op_next(w->pipe, &b, &w->err);
        if (rc != 0 || b == NULL)
            break;
        rc = collect(w, b, bud);
    }
    w->rc = rc;
    if (rc != 0)
        __atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
    return NULL;
}

static int par_run(par_op *p, tarn_err *err)
{
    p->ran = true;
    int rc = 0;
    if (p->n == 1) {
        worker_main(&p->w[0]);
    } else {
        for (uint32_t i = 0; i < p->n; i++) {
            if (pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i]) != 0) {
                __atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
                rc = tarn_err_set(err, TARN_ENOMEM, "parallel: thread %u", i);
                break;
            }
            p->w[i].started = true;
        }
        for (uint32_t i = 0; i < p->n; i++)
            if (p->w[i].started)
                pthread_join(p->w[i].thread, NULL);
    }
    for (uint32_t i = 0; i < p->n && rc == 0; i++) {
        if (p->w[i].rc != 0) {
            rc = tarn_err_set(err, p->w[i].rc, "worker %u: %s", i, tarn_err_msg(&p->w[i].err));
            break;
        }
    }
    /* pipelines are done: free them now (their sources, scans, tables) */
    for (uint32_t i = 0; i < p->n; i++) {
        exec_op_close(p->w[i].pipe);
        p->w[i].pipe = NULL;
    }
    return rc;
}

static int par_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    par_op *p = (par_op *)op;
    if (!p->ran) {
        int rc = par_run(p, err);
        if (rc != 0)
            return rc;
    }
    while (p->emit_w < p->n) {
        worker *w = &p->w[p->emit_w];
        if (p->emit_b < w->nout && w->out[p->emit_b].len > 0) {
            *out = &w->out[p->emit_b++];
            return 0;
        }
        if (p->emit_b < w->nout) {
            p->emit_b++;
            continue;
        }
        p->emit_w++;
        p->emit_b = 0;
    }
    return 0;
}

static void par_close(exec_op *op)
{
    par_op *p = (par_op *)op;
    for (uint32_t i = 0; i < p->n; i++) {
        worker *w = &p->w[i];
        exec_op_close(w->pipe);
        for (uint32_t b = 0; b < w->nout; b++)
            vec_batch_free(&w->out[b]);
        tarn_free(w->out);
        exec_budget_release(op->budget, w->acct_bytes);
    }
    tarn_free(p->w);
}

static const exec_op_vt par_vt = {"parallel", NULL, par_next, par_close};

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
