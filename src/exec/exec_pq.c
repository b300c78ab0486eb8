/*
 * exec/exec_pq.c: the Parquet scan as an operator. The scan fills one batch
 * that is handed on as is (dictionary strings stay codes when the scan
 * keeps them, which the kernels and the hash aggregate use).
 */
#include "exec/exec_pq.h"

#include "base/alloc.h"
#include "exec/exec_int.h"

#include <string.h>

typedef struct pqsrc_op {
    exec_op base;
    pq_scan *scan;
    vec_batch b;
    bool ready;
    size_t acct_bytes;
} pqsrc_op;

static int pqsrc_open(exec_op *op, tarn_err *err)
{
    pqsrc_op *p = (pqsrc_op *)op;
    int rc = pq_scan_batch_init(p->scan, &p->b);
    if (rc != 0)
        return tarn_err_set(err, rc, "parquet source: batch");
    p->ready = true;
    size_t bytes = 0;
    for (uint32_t i = 0; i < p->b.ncols; i++)
        bytes += vec_col_mem_bytes(&p->b.cols[i]);
    rc = exec_budget_reserve(op->budget, bytes, "parquet source", err);
    if (rc == 0)
        p->acct_bytes = bytes;
    return rc;
}

static int pqsrc_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    pqsrc_op *p = (pqsrc_op *)op;
    for (;;) {
        int rc = pq_scan_next(p->scan, &p->b, err);
        if (rc != 0 || p->b.len == 0)
            return rc;
        if (vec_batch_live_count(&p->b) > 0) {
            *out = &p->b;
            return 0;
        }
    }
}

static void pqsrc_close(exec_op *op)
{
    pqsrc_op *p = (pqsrc_op *)op;
    if (p->ready)
        vec_batch_free(&p->b);
    exec_budget_release(op->budget, p->acct_bytes);
}

static const exec_op_vt pqsrc_vt = {"parquet source", pqsrc_open, pqsrc_next, pqsrc_close};

int exec_pq_source_new(pq_scan *scan, exec_budget *budget, exec_op **out, tarn_err *err)
{
    vec_batch probe;
    int rc = pq_scan_batch_init(scan, &probe);
    if (rc != 0)
        return tarn_err_set(err, rc, "parquet source: schema");
    vec_type_info types[256];
    uint32_t n = probe.ncols;
    if (n > 256) {
        vec_batch_free(&probe);
        return tarn_err_set(err, TARN_ENOTSUP, "parquet source: over 256 columns");
    }
    for (uint32_t i = 0; i < n; i++)
        types[i] = probe.cols[i].type;
    vec_batch_free(&probe);
    rc = exec_op_alloc(sizeof(pqsrc_op), &pqsrc_vt, NULL, budget, types, n, out, err);
    if (rc == 0)
        ((pqsrc_op *)*out)->scan = scan;
    return rc;
}

/* ---- morsels ---- */

typedef struct pqm_op {
    exec_op base;
    pq_file *f;
    pq_scan_opts opts;
    exec_morsels *m;
    pq_scan *scan; /* the current row group's, or NULL */
    vec_batch b;
    bool b_ready;
    size_t acct_bytes;
} pqm_op;

static void pqm_drop_scan(pqm_op *p)
{
    if (p->b_ready)
        vec_batch_free(&p->b);
    p->b_ready = false;
    pq_scan_close(p->scan);
    p->scan = NULL;
    exec_budget_release(p->base.budget, p->acct_bytes);
    p->acct_bytes = 0;
}

/* Opens the scan of the next morsel; *done when none is left. */
static int pqm_next_scan(pqm_op *p, bool *done, tarn_err *err)
{
    uint32_t rg;
    *done = !exec_morsels_take(p->m, &rg);
    if (*done)
        return 0;
    pq_scan_opts o = p->opts;
    o.rg_first = rg;
    o.rg_count = 1;
    int rc = pq_scan_open(p->f, &o, &p->scan, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "row group %u", rg);
    rc = pq_scan_batch_init(p->scan, &p->b);
    if (rc != 0)
        return tarn_err_set(err, rc, "parquet source: batch");
    p->b_ready = true;
    size_t bytes = 0;
    for (uint32_t i = 0; i < p->b.ncols; i++)
        bytes += vec_col_mem_bytes(&p->b.cols[i]);
    rc = exec_budget_reserve(p->base.budget, bytes, "parquet source", err);
    if (rc == 0)
        p->acct_bytes = bytes;
    return rc;
}

static int pqm_next(exec_op *op, const vec_batch **out, tarn_err *err)
{
    pqm_op *p = (pqm_op *)op;
    for (;;) {
        if (p->scan == NULL) {
            bool done;
            int rc = pqm_next_scan(p, &done, err);
            if (rc != 0 || done)
                return rc;
        }
        int rc = pq_scan_next(p->scan, &p->b, err);
        if (rc != 0)
            return rc;
        if (p->b.len == 0) {
            pqm_drop_scan(p);
            continue;
        }
        if (vec_batch_live_count(&p->b) > 0) {
            *out = &p->b;
            return 0;
        }
    }
}

static void pqm_close(exec_op *op)
{
    pqm_drop_scan((pqm_op *)op);
}

static const exec_op_vt pqm_vt = {"parquet morsel source", NULL, pqm_next, pqm_close};

int exec_pq_morsel_source_new(pq_file *f, const pq_scan_opts *opts, exec_morsels *m,
                              exec_budget *budget, exec_op **out, tarn_err *err)
{
    *out = NULL;
    pq_scan *probe_scan;
    int rc = pq_scan_open(f, opts, &probe_scan, err);
    if (rc != 0)
        return rc;
    vec_batch probe;
    rc = pq_scan_batch_init(probe_scan, &probe);
    pq_scan_close(probe_scan);
    if (rc != 0)
        return tarn_err_set(err, rc, "parquet source: schema");
    vec_type_info types[256];
    uint32_t n = probe.ncols;
    for (uint32_t i = 0; i < n && i < 256; i++)
        types[i] = probe.cols[i].type;
    vec_batch_free(&probe);
    if (n > 256)
        return tarn_err_set(err, TARN_ENOTSUP, "parquet source: over 256 columns");
    rc = exec_op_alloc(sizeof(pqm_op), &pqm_vt, NULL, budget, types, n, out, err);
    if (rc != 0)
        return rc;
    pqm_op *p = (pqm_op *)*out;
    p->f = f;
    p->opts = *opts;
    p->m = m;
    return 0;
}
