/*
 * delta/optimize.c: OPTIMIZE (compaction): per partition, files under a
 * size threshold are read and written again as files near a target size;
 * one commit removes the old files and adds the new ones (dataChange
 * false) against the version it read, rebased over commits that removed
 * none of its files, re-planned from a new snapshot otherwise. The rows
 * written are counted against the rows read, so a compaction never loses
 * or duplicates one. Design note: delta/README.md, "OPTIMIZE".
 */
#include "delta/log_int.h"
#include "delta/write_int.h"

#include "base/alloc.h"
#include "base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPTIMIZE_TARGET_BYTES_DEFAULT ((int64_t)128 << 20)
#define OPTIMIZE_RETRIES_DEFAULT      3
#define OPTIMIZE_REBASES              16

typedef struct bin {
    size_t first, count; /* into the plan's order[] */
    int64_t bytes;
} bin;

/* A file of the plan; the snapshot rides along because qsort has no
 * context argument (and a global would not be thread-safe). */
typedef struct ord {
    const delta_snapshot *s;
    size_t i;
} ord;

typedef struct plan {
    const delta_snapshot *s;
    ord *order; /* small files, by partition then path */
    size_t norder;
    bin *bins;
    size_t nbins, cap;
} plan;

static int cmp_part(const delta_snapshot *s, const delta_file *a, const delta_file *b)
{
    for (size_t p = 0; p < s->metadata.n_partition_columns; p++) {
        const char *x = a->part_values[p], *y = b->part_values[p];
        int c = x == NULL || y == NULL ? (x != NULL) - (y != NULL) : strcmp(x, y);
        if (c != 0)
            return c;
    }
    return 0;
}

static int cmp_order(const void *pa, const void *pb)
{
    const ord *x = pa, *y = pb;
    const delta_file *a = &x->s->files[x->i], *b = &y->s->files[y->i];
    int c = cmp_part(x->s, a, b);
    return c != 0 ? c : strcmp(a->path, b->path);
}

/* Small files grouped by partition, packed greedily into bins of about
 * the target size; a bin of one file is left alone (nothing to gain). */
static int plan_make(plan *p, int64_t target, int64_t small)
{
    const delta_snapshot *s = p->s;
    p->order = tarn_calloc(s->nfiles + 1, sizeof(ord));
    if (p->order == NULL)
        return TARN_ENOMEM;
    for (size_t i = 0; i < s->nfiles; i++)
        if (s->files[i].size_bytes < small)
            p->order[p->norder++] = (ord){s, i};
    if (p->norder > 1)
        qsort(p->order, p->norder, sizeof(ord), cmp_order);
    bin cur = {0, 0, 0};
    for (size_t k = 0; k <= p->norder; k++) {
        const delta_file *f = k < p->norder ? &s->files[p->order[k].i] : NULL;
        bool same = f && cur.count > 0 && cmp_part(s, &s->files[p->order[cur.first].i], f) == 0;
        if (cur.count > 0 && (!same || cur.bytes + f->size_bytes > target)) {
            if (cur.count > 1) {
                if (delta_grow(&p->bins, &p->cap, p->nbins, sizeof(bin)) != 0)
                    return TARN_ENOMEM;
                p->bins[p->nbins++] = cur;
            }
            cur = (bin){k, 0, 0};
        }
        if (f != NULL) {
            if (cur.count == 0)
                cur.first = k;
            cur.count++;
            cur.bytes += f->size_bytes;
        }
    }
    return 0;
}

static void plan_free(plan *p)
{
    tarn_free(p->order);
    tarn_free(p->bins);
    memset(p, 0, sizeof(*p));
}

typedef struct compactor {
    delta_committer *c;
    objstore *os;
    const char *name;
    tarn_err *err;
    delta_table *t;
    plan p;
    appender *out; /* one per bin */
    size_t nout;
    const char **removed;
    size_t nremoved;
    int64_t rows_in, rows_out, bytes_in;
} compactor;

/* Reads the files of one bin and writes them into one new file. */
static int compact_bin(compactor *k, const bin *b, appender *a)
{
    const delta_snapshot *s = k->p.s;
    delta_file *files = tarn_calloc(b->count, sizeof(delta_file));
    if (files == NULL)
        return tarn_err_set(k->err, TARN_ENOMEM, "optimize");
    for (size_t i = 0; i < b->count; i++) {
        files[i] = s->files[k->p.order[b->first + i].i]; /* shallow: borrowed strings */
        k->removed[k->nremoved++] = files[i].path;
        k->bytes_in += files[i].size_bytes;
    }
    delta_snapshot view = *s;
    view.files = files;
    view.nfiles = b->count;
    delta_scan *sc = NULL;
    vec_batch batch;
    memset(&batch, 0, sizeof(batch));
    int rc = delta_scan_open(k->t, &view, NULL, &sc, k->err);
    if (rc == 0)
        rc = delta_scan_batch_init(sc, &batch);
    while (rc == 0 && (rc = delta_scan_next(sc, &batch, k->err)) == 0 && batch.len > 0) {
        k->rows_in += vec_batch_live_count(&batch);
        rc = delta_appender_write(a, &batch, 0);
    }
    vec_batch_free(&batch);
    delta_scan_close(sc);
    tarn_free(files);
    if (rc == 0 && a->nfiles > 1)
        rc = tarn_err_set(k->err, TARN_ECORRUPT, "a bin spans %zu partitions", a->nfiles);
    if (rc == 0)
        rc = delta_appender_upload(a);
    for (size_t i = 0; rc == 0 && i < a->nfiles; i++)
        k->rows_out += pq_writer_rows(a->files[i].w);
    return rc;
}

static int compact_all(compactor *k)
{
    k->out = tarn_calloc(k->p.nbins + 1, sizeof(appender));
    k->removed = tarn_calloc(k->p.norder + 1, sizeof(char *));
    if (k->out == NULL || k->removed == NULL)
        return tarn_err_set(k->err, TARN_ENOMEM, "optimize");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < k->p.nbins; i++) {
        appender *a = &k->out[k->nout++];
        *a = (appender){.name = k->name, .base = k->p.s, .os = k->os, .err = k->err};
        rc = delta_appender_init(a);
        if (rc == 0)
            rc = compact_bin(k, &k->p.bins[i], a);
    }
    /* The invariant of compaction: every row read is written once. */
    if (rc == 0 && k->rows_in != k->rows_out)
        rc = tarn_err_set(k->err, TARN_ECORRUPT, "optimize read %lld rows and wrote %lld",
                          (long long)k->rows_in, (long long)k->rows_out);
    delta_paths_sort(k->removed, k->nremoved);
    return rc;
}

static int optimize_actions(compactor *k, const char *txn_id, tarn_buf *out,
                            delta_optimize_result *res)
{
    const delta_snapshot *s = k->p.s;
    int64_t now = tarn_wall_ms(), bytes_out = 0;
    size_t added = 0;
    for (size_t i = 0; i < k->nout; i++)
        for (size_t j = 0; j < k->out[i].nfiles; j++, added++)
            bytes_out += (int64_t)k->out[i].files[j].size_bytes;
    int rc = tarn_buf_printf(
        out,
        "{\"commitInfo\":{\"timestamp\":%lld,\"operation\":\"OPTIMIZE\","
        "\"operationParameters\":{\"predicate\":\"[]\",\"zOrderBy\":\"[]\"},"
        "\"operationMetrics\":{\"numRemovedFiles\":\"%zu\",\"numAddedFiles\":\"%zu\","
        "\"numRemovedBytes\":\"%lld\",\"numAddedBytes\":\"%lld\",\"numRows\":\"%lld\"},"
        "\"isBlindAppend\":false,\"txnId\":",
        (long long)now, k->nremoved, added, (long long)k->bytes_in, (long long)bytes_out,
        (long long)k->rows_out);
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, txn_id, strlen(txn_id));
    if (rc == 0)
        rc = tarn_buf_append_str(out, "}}\n");
    for (size_t i = 0; rc == 0 && i < k->nremoved; i++) {
        size_t lo = 0, hi = s->nfiles; /* the snapshot's files are sorted by path */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(s->files[mid].path, k->removed[i]) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        rc = delta_remove_line(s, &s->files[lo], now, false, out);
    }
    for (size_t i = 0; rc == 0 && i < k->nout; i++)
        rc = delta_appender_add_lines(&k->out[i], now, false, out);
    res->files_removed = k->nremoved;
    res->files_added = added;
    res->rows = k->rows_out;
    res->bytes_removed = k->bytes_in;
    res->bytes_added = bytes_out;
    return rc == 0 ? 0 : tarn_err_set(k->err, rc, "building the commit");
}

static void compactor_free(compactor *k, bool remove_files)
{
    for (size_t i = 0; i < k->nout; i++)
        delta_appender_free(&k->out[i], remove_files);
    tarn_free(k->out);
    tarn_free(k->removed);
    delta_table_close(k->t);
    plan_free(&k->p);
}

/* One attempt on the latest snapshot. TARN_ECONFLICT: re-plan. */
static int optimize_once(delta_committer *c, objstore *os, const char *name,
                         const delta_optimize_opts *o, delta_optimize_result *res, tarn_err *err)
{
    int64_t target = o->target_bytes > 0 ? o->target_bytes : OPTIMIZE_TARGET_BYTES_DEFAULT;
    int64_t small = o->min_file_bytes > 0 ? o->min_file_bytes : target / 4 * 3;
    delta_snapshot *s = NULL;
    int rc = delta_managed_snapshot_latest(c, os, name, &s, err);
    if (rc != 0)
        return rc;
    res->version = s->version;
    compactor k = {.c = c, .os = os, .name = name, .err = err, .p = {.s = s}};
    rc = plan_make(&k.p, target, small);
    if (rc != 0)
        rc = tarn_err_set(err, rc, "planning the compaction");
    if (rc == 0 && k.p.nbins == 0) {
        compactor_free(&k, false);
        delta_snapshot_free(s);
        return 0; /* nothing to compact */
    }
    if (rc == 0)
        rc = delta_table_open_managed(os, name, &k.t, err);
    if (rc == 0)
        rc = compact_all(&k);
    char txn_id[DELTA_TXN_ID_MAX + 1];
    tarn_buf actions;
    tarn_buf_init(&actions, DELTA_COMMIT_BYTES_MAX);
    if (rc == 0)
        rc = delta_txn_id_random(txn_id, sizeof(txn_id), err);
    if (rc == 0)
        rc = optimize_actions(&k, txn_id, &actions, res);
    if (rc == 0 && o->crash_point == 1)
        rc = tarn_err_set(err, TARN_EIO, "crash point 1");
    bool committed = false, dup = false, attempted = false;
    if (rc == 0 && o->before_commit != NULL)
        o->before_commit(o->ctx);
    if (rc == 0) {
        attempted = true;
        delta_commit_req q = {c,        os,        name,       s->version,       txn_id,
                              &actions, k.removed, k.nremoved, OPTIMIZE_REBASES, o->crash_point};
        rc = delta_commit_publish(&q, &res->version, &committed, &dup, err);
    }
    bool remove = dup || (rc != 0 && !committed && o->crash_point == 0 &&
                          (!attempted || delta_failure_is_definite(rc)));
    compactor_free(&k, remove);
    tarn_buf_free(&actions);
    delta_snapshot_free(s);
    return rc;
}

int delta_optimize(delta_committer *c, objstore *os, const char *name,
                   const delta_optimize_opts *opts, delta_optimize_result *res, tarn_err *err)
{
    static const delta_optimize_opts defaults = {0};
    opts = opts ? opts : &defaults;
    memset(res, 0, sizeof(*res));
    res->version = -1;
    int rc = delta_name_check(name, err);
    uint32_t retries = opts->retries > 0 ? opts->retries : OPTIMIZE_RETRIES_DEFAULT;
    for (uint32_t attempt = 0; rc == 0; attempt++) {
        res->attempts = attempt + 1;
        rc = optimize_once(c, os, name, opts, res, err);
        if (rc != TARN_ECONFLICT || attempt + 1 >= retries)
            break;
        tarn_err_clear(err); /* another commit removed one of our files: re-plan */
        rc = 0;
    }
    return rc;
}
