/*
 * client/committer.c: delta_committer over the client library
 * (committer.h): each call of the Delta write path becomes a catalog
 * request (src/catalog/README.md), so writers in other processes commit
 * through a `tarn local` or a `tarn cluster` exactly as in-process
 * writers do through delta_committer_node. Retries across a leader change
 * are the client's (same txn_id; include/tarn.h "Retries").
 */
#include "client/committer.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

typedef struct http_cm {
    tarn_client *c;
    tarn_call_opts co;
} http_cm;

static int cm_create(void *ctx, const char *name, const char *schema, const char *const *parts,
                     size_t nparts, uint64_t *created_id, tarn_err *err)
{
    http_cm *m = ctx;
    return tarn_table_create(m->c, name, schema, parts, nparts, &m->co, created_id, err);
}

static int cm_commit_any(http_cm *m, const char *name, int64_t base, int blind, const char *txn_id,
                         const char *actions, size_t len, int64_t *version_out, bool *duplicate_out,
                         tarn_err *err)
{
    if (base < 0)
        return tarn_err_set(err, TARN_EINVAL, "commit to %s: base version %lld", name,
                            (long long)base);
    tarn_commit_req rq = {.table = name,
                          .base_version = (uint64_t)base,
                          .txn_id = txn_id,
                          .actions = actions,
                          .actions_len = len,
                          .blind_append = blind};
    tarn_commit_result res;
    int rc = tarn_commit(m->c, &rq, &m->co, &res, err);
    *duplicate_out = res.duplicate != 0;
    if (rc == 0 || rc == TARN_ECONFLICT)
        *version_out = (int64_t)res.version;
    return rc;
}

static int cm_commit(void *ctx, const char *name, int64_t base, const char *txn_id,
                     const char *actions, size_t len, int64_t *version_out, bool *duplicate_out,
                     tarn_err *err)
{
    return cm_commit_any(ctx, name, base, 0, txn_id, actions, len, version_out, duplicate_out, err);
}

static int cm_commit_blind(void *ctx, const char *name, int64_t base, const char *txn_id,
                           const char *actions, size_t len, int64_t *version_out,
                           bool *duplicate_out, tarn_err *err)
{
    return cm_commit_any(ctx, name, base, 1, txn_id, actions, len, version_out, duplicate_out, err);
}

static int cm_log_written(void *ctx, const char *name, int64_t version, tarn_err *err)
{
    http_cm *m = ctx;
    return tarn_commit_log_written(m->c, name, (uint64_t)version, &m->co, err);
}

/* What version 0's log file is built from: the table's record. */
static int fill_version0(http_cm *m, delta_pending *p, tarn_err *err)
{
    tarn_table_info t;
    int rc = tarn_table_get(m->c, p->table, &m->co, &t, err);
    if (rc != 0)
        return rc;
    p->created_id = t.created_id;
    p->created_ms = t.created_ms;
    p->schema = t.schema;
    p->parts = t.partition_columns;
    p->nparts = t.n_partition_columns;
    t.schema = NULL; /* moved */
    t.partition_columns = NULL;
    t.n_partition_columns = 0;
    tarn_table_info_free(&t);
    return 0;
}

/* Moves a read version into a delta_pending. */
static int take_version(const char *table, tarn_version *v, delta_pending *p)
{
    p->table = tarn_strdup(table);
    if (p->table == NULL)
        return TARN_ENOMEM;
    p->version = (int64_t)v->version;
    p->actions = v->actions;
    p->actions_len = v->actions_len;
    v->actions = NULL;
    return 0;
}

/* Fills p[0..n) (one table, consecutive versions, table and version set)
 * with their actions, a page of versions per request. */
static int fill_run(http_cm *m, delta_pending *p, size_t n, tarn_err *err)
{
    size_t done = 0;
    while (done < n) {
        tarn_versions vs;
        int rc = tarn_versions_read(m->c, p[done].table, (uint64_t)p[done].version,
                                    p[n - 1].version, TARN_VERSIONS_PAGE_MAX, &m->co, &vs, err);
        if (rc == 0 && vs.count == 0)
            rc = tarn_err_set(err, TARN_EIO, "version %lld of %s: not in the reply",
                              (long long)p[done].version, p[done].table);
        for (size_t i = 0; rc == 0 && i < vs.count && done < n; i++, done++) {
            if ((int64_t)vs.items[i].version != p[done].version) {
                rc = tarn_err_set(err, TARN_EIO, "version %lld of %s: the reply has %llu",
                                  (long long)p[done].version, p[done].table,
                                  (unsigned long long)vs.items[i].version);
                break;
            }
            p[done].actions = vs.items[i].actions;
            p[done].actions_len = vs.items[i].actions_len;
            vs.items[i].actions = NULL;
            if (p[done].version == 0)
                rc = fill_version0(m, &p[done], err);
        }
        tarn_versions_free(&vs);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The length of the run of consecutive versions of one table at p[0]. */
static size_t run_len(const delta_pending *p, size_t n)
{
    size_t k = 1;
    while (k < n && strcmp(p[k].table, p[0].table) == 0 && p[k].version == p[k - 1].version + 1)
        k++;
    return k;
}

static int cm_pending(void *ctx, delta_pending **out, size_t *count, tarn_err *err)
{
    http_cm *m = ctx;
    tarn_pending *tp = NULL;
    size_t n = 0;
    int more = 0;
    *out = NULL;
    *count = 0;
    int rc = tarn_catalog_pending(m->c, DELTA_PENDING_MAX, &m->co, &tp, &n, &more, err);
    if (rc != 0)
        return rc;
    delta_pending *p = tarn_calloc(n + 1, sizeof(*p));
    rc = p ? 0 : tarn_err_set(err, TARN_ENOMEM, "pending log writes");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        p[i].table = tp[i].table;
        tp[i].table = NULL; /* moved */
        p[i].version = (int64_t)tp[i].version;
    }
    tarn_pending_free(tp, n);
    /* The list is in table, then version order: one range read per run. */
    for (size_t i = 0, k; rc == 0 && i < n; i += k) {
        k = run_len(&p[i], n - i);
        rc = fill_run(m, &p[i], k, err);
    }
    if (rc != 0) {
        delta_pending_free(p, n);
        return rc;
    }
    *out = p;
    *count = n;
    return 0;
}

static int cm_read(void *ctx, const char *name, int64_t from, int64_t to, delta_pending **out,
                   size_t *count, int64_t *latest_out, tarn_err *err)
{
    http_cm *m = ctx;
    *out = NULL;
    *count = 0;
    if (from < 0)
        return tarn_err_set(err, TARN_ENOENT, "table %s has no version %lld", name,
                            (long long)from);
    tarn_versions vs;
    int rc = tarn_versions_read(m->c, name, (uint64_t)from, to, DELTA_READ_VERSIONS_MAX, &m->co,
                                &vs, err);
    if (rc != 0)
        return rc;
    *latest_out = (int64_t)vs.latest;
    if (vs.count == 0) {
        tarn_versions_free(&vs);
        return tarn_err_set(err, TARN_ENOENT, "table %s has no version %lld (latest %lld)", name,
                            (long long)from, (long long)*latest_out);
    }
    delta_pending *p = tarn_calloc(vs.count + 1, sizeof(*p));
    rc = p ? 0 : tarn_err_set(err, TARN_ENOMEM, "reading %s", name);
    for (size_t i = 0; rc == 0 && i < vs.count; i++)
        if ((rc = take_version(name, &vs.items[i], &p[i])) != 0)
            tarn_err_set(err, rc, "reading %s", name);
    if (rc == 0 && p[0].version == 0)
        rc = fill_version0(m, &p[0], err);
    size_t n = vs.count;
    tarn_versions_free(&vs);
    if (rc != 0) {
        delta_pending_free(p, n);
        return rc;
    }
    *out = p;
    *count = n;
    return 0;
}

static void cm_close(void *ctx)
{
    tarn_free(ctx);
}

int client_committer_open(tarn_client *c, const tarn_call_opts *co, delta_committer *out)
{
    memset(out, 0, sizeof(*out));
    http_cm *m = tarn_calloc(1, sizeof(*m));
    if (m == NULL)
        return TARN_ENOMEM;
    m->c = c;
    if (co != NULL)
        m->co = *co;
    *out = (delta_committer){m,        cm_create, cm_commit, cm_log_written, cm_pending,
                             cm_close, cm_read,   0,         cm_commit_blind};
    return 0;
}
