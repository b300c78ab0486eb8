/*
 * delta/commit_node.c: a delta_committer over the metadata service: each
 * call is a catalog command proposed through node_propose (so replicated
 * and applied by the catalog's rules), and pending versions are read from
 * the store after a read barrier, through node_read_begin (a cluster
 * follower may swap its store while installing a snapshot). Commits are
 * COMMIT2 commands whose flags say whether the actions change metadata or
 * protocol, or (commit_blind) form a blind append (catalog.h rule 6).
 * Design note: delta/README.md, "Commit protocol".
 */
#include "delta/delta_int.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "node/node.h"

#include <stdio.h>
#include <string.h>

#define NODE_COMMIT_TIMEOUT_MS_DEFAULT 10000

typedef struct node_cm {
    node *n;
    int timeout_ms;
} node_cm;

/* Proposes the encoded command and decodes the catalog's answer. */
static int propose(node_cm *m, const tarn_buf *cmd, catalog_result *cr, tarn_err *err)
{
    store_result res;
    memset(&res, 0, sizeof(res));
    int rc = node_propose(m->n, cmd->data, cmd->len, m->timeout_ms, &res, err);
    if (rc != 0)
        return rc;
    rc = catalog_result_decode(&res, cr);
    store_result_free(&res);
    if (rc != 0)
        return tarn_err_set(err, TARN_ECORRUPT, "catalog result does not decode");
    return 0;
}

static int table_created_id(node_cm *m, const char *name, uint64_t *out, tarn_err *err)
{
    int rc = node_read_barrier(m->n, m->timeout_ms, NULL, err);
    store_txn *txn = NULL;
    if (rc == 0)
        rc = node_read_begin(m->n, &txn, err);
    if (rc != 0)
        return rc;
    catalog_table t;
    rc = catalog_table_get(txn, name, strlen(name), &t);
    if (rc == 0)
        *out = t.created_index;
    node_read_end(m->n, txn);
    return rc == 0 ? 0 : tarn_err_set(err, rc, "reading table %s", name);
}

static int node_create(void *ctx, const char *name, const char *schema, const char *const *parts,
                       size_t nparts, uint64_t *created_id, tarn_err *err)
{
    node_cm *m = ctx;
    if (nparts > CATALOG_PARTS_MAX)
        return tarn_err_set(err, TARN_ETOOBIG, "%zu partition columns", nparts);
    char loc[OBJSTORE_KEY_MAX + 1];
    snprintf(loc, sizeof(loc), "tables/%s", name);
    catalog_create cc;
    memset(&cc, 0, sizeof(cc));
    cc.name = (catalog_bytes){(const uint8_t *)name, strlen(name)};
    cc.location = (catalog_bytes){(const uint8_t *)loc, strlen(loc)};
    cc.schema = (catalog_bytes){(const uint8_t *)schema, strlen(schema)};
    cc.n_parts = nparts;
    /* Version 0's commit time: the proposer's clock, kept in the table
     * record, so a copy of the files (new mtimes) keeps its time. */
    cc.created_ms = tarn_wall_ms();
    for (size_t i = 0; i < nparts; i++)
        cc.parts[i] = (catalog_bytes){(const uint8_t *)parts[i], strlen(parts[i])};
    tarn_buf cmd;
    tarn_buf_init(&cmd, CATALOG_SCHEMA_MAX_BYTES + 4096);
    catalog_result cr;
    int rc = catalog_encode_create(&cmd, &cc);
    if (rc != 0)
        rc = tarn_err_set(err, rc, "encoding create %s", name);
    else
        rc = propose(m, &cmd, &cr, err);
    tarn_buf_free(&cmd);
    if (rc == 0 && cr.code != 0)
        rc = tarn_err_set(err, cr.code, "create %s", name);
    if (rc == 0)
        rc = table_created_id(m, name, created_id, err);
    return rc;
}

/* The COMMIT2 flags of a commit's actions. Actions that do not classify
 * are stored as given (the catalog keeps opaque bytes; readers refuse
 * them), without flags; a blind append must classify as adds only. */
static int commit_flags(const char *name, const char *actions, size_t len, bool blind,
                        uint8_t *flags, tarn_err *err)
{
    int add_only = 0, metadata = 0;
    char msg[200];
    int rc = catalog_actions_classify(actions, len, &add_only, &metadata, msg, sizeof(msg));
    if (rc == TARN_ENOMEM)
        return tarn_err_set(err, rc, "commit to %s", name);
    if (blind && (rc != 0 || !add_only))
        return tarn_err_set(err, TARN_EINVAL, "commit to %s: a blind append holds adds only%s%s",
                            name, rc != 0 ? ": " : "", rc != 0 ? msg : "");
    *flags = blind                 ? CATALOG_COMMIT_BLIND_APPEND
             : rc == 0 && metadata ? CATALOG_COMMIT_METADATA
                                   : 0;
    return 0;
}

static int commit_any(node_cm *m, const char *name, int64_t base_version, bool blind,
                      const char *txn_id, const char *actions, size_t len, int64_t *version_out,
                      bool *duplicate_out, tarn_err *err)
{
    uint8_t flags = 0;
    int rc = commit_flags(name, actions, len, blind, &flags, err);
    if (rc != 0)
        return rc;
    tarn_buf cmd;
    tarn_buf_init(&cmd, CATALOG_ACTIONS_MAX_BYTES + 4096);
    catalog_result cr;
    rc = catalog_encode_commit2(&cmd, name, strlen(name), (uint64_t)base_version, flags, txn_id,
                                strlen(txn_id), actions, len);
    if (rc != 0)
        rc = tarn_err_set(err, rc, "encoding commit to %s", name);
    else
        rc = propose(m, &cmd, &cr, err);
    tarn_buf_free(&cmd);
    if (rc != 0)
        return rc;
    *version_out = (int64_t)cr.version;
    *duplicate_out = cr.duplicate != 0;
    if (cr.code == TARN_ECONFLICT && blind && (uint64_t)base_version <= cr.version)
        return tarn_err_set(err, TARN_ECONFLICT,
                            "table %s: a commit after base version %lld changed the metadata or "
                            "protocol (latest %llu)",
                            name, (long long)base_version, (unsigned long long)cr.version);
    if (cr.code == TARN_ECONFLICT)
        return tarn_err_set(err, TARN_ECONFLICT,
                            "table %s: base version %lld is not the latest (%llu)", name,
                            (long long)base_version, (unsigned long long)cr.version);
    return cr.code == 0 ? 0 : tarn_err_set(err, cr.code, "commit to %s", name);
}

static int node_commit(void *ctx, const char *name, int64_t base_version, const char *txn_id,
                       const char *actions, size_t len, int64_t *version_out, bool *duplicate_out,
                       tarn_err *err)
{
    return commit_any(ctx, name, base_version, false, txn_id, actions, len, version_out,
                      duplicate_out, err);
}

static int node_commit_blind(void *ctx, const char *name, int64_t base_version, const char *txn_id,
                             const char *actions, size_t len, int64_t *version_out,
                             bool *duplicate_out, tarn_err *err)
{
    return commit_any(ctx, name, base_version, true, txn_id, actions, len, version_out,
                      duplicate_out, err);
}

static int node_log_written(void *ctx, const char *name, int64_t version, tarn_err *err)
{
    node_cm *m = ctx;
    tarn_buf cmd;
    tarn_buf_init(&cmd, 4096);
    catalog_result cr;
    int rc = catalog_encode_log_written(&cmd, name, strlen(name), (uint64_t)version);
    if (rc != 0)
        rc = tarn_err_set(err, rc, "encoding log-written");
    else
        rc = propose(m, &cmd, &cr, err);
    tarn_buf_free(&cmd);
    if (rc == 0 && cr.code != 0)
        rc = tarn_err_set(err, cr.code, "marking version %lld of %s written", (long long)version,
                          name);
    return rc;
}

typedef struct pend_acc {
    delta_pending *p;
    size_t n, cap;
    int rc;
} pend_acc;

static int pend_cb(void *ctx, const char *name, size_t name_len, uint64_t version)
{
    pend_acc *a = ctx;
    if (a->n >= DELTA_PENDING_MAX)
        return 1; /* the rest waits for the next pass */
    if (delta_grow(&a->p, &a->cap, a->n, sizeof(*a->p)) != 0) {
        a->rc = TARN_ENOMEM;
        return 1;
    }
    delta_pending *p = &a->p[a->n++];
    p->table = tarn_strndup(name, name_len);
    p->version = (int64_t)version;
    a->rc = p->table ? 0 : TARN_ENOMEM;
    return a->rc != 0;
}

static char *bytes_dup(catalog_bytes b)
{
    return tarn_strndup((const char *)b.p, b.len);
}

/* Copies what publishing version p->version needs out of the store. */
static int pend_fill(store_txn *txn, delta_pending *p)
{
    size_t nl = strlen(p->table);
    catalog_version v;
    int rc = catalog_version_get(txn, p->table, nl, (uint64_t)p->version, &v);
    if (rc != 0)
        return rc;
    p->actions = bytes_dup(v.actions);
    p->actions_len = v.actions.len;
    if (p->actions == NULL)
        return TARN_ENOMEM;
    if (p->version != 0)
        return 0;
    catalog_table t;
    if ((rc = catalog_table_get(txn, p->table, nl, &t)) != 0)
        return rc;
    p->created_id = t.created_index;
    p->created_ms = t.created_ms;
    p->schema = bytes_dup(t.schema);
    p->parts = tarn_calloc(t.n_parts + 1, sizeof(char *));
    if (p->schema == NULL || p->parts == NULL)
        return TARN_ENOMEM;
    for (; p->nparts < t.n_parts; p->nparts++)
        if ((p->parts[p->nparts] = bytes_dup(t.parts[p->nparts])) == NULL)
            return TARN_ENOMEM;
    return 0;
}

static int node_pending(void *ctx, delta_pending **out, size_t *count, tarn_err *err)
{
    node_cm *m = ctx;
    pend_acc a = {NULL, 0, 0, 0};
    store_txn *txn = NULL;
    int rc = node_read_barrier(m->n, m->timeout_ms, NULL, err);
    if (rc == 0)
        rc = node_read_begin(m->n, &txn, err);
    if (rc != 0)
        return rc;
    rc = catalog_pending_logs(txn, pend_cb, &a);
    if (rc == 0)
        rc = a.rc;
    for (size_t i = 0; rc == 0 && i < a.n; i++)
        rc = pend_fill(txn, &a.p[i]);
    node_read_end(m->n, txn);
    if (rc != 0) {
        delta_pending_free(a.p, a.n);
        return tarn_err_set(err, rc, "reading pending log writes");
    }
    *out = a.p;
    *count = a.n;
    return 0;
}

/* Copies versions from..to of one table out of one read transaction. */
static int read_versions(store_txn *txn, const char *name, int64_t from, int64_t to,
                         delta_pending *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i].table = tarn_strdup(name);
        p[i].version = from + (int64_t)i;
        if (p[i].table == NULL)
            return TARN_ENOMEM;
        int rc = pend_fill(txn, &p[i]);
        if (rc != 0)
            return rc;
    }
    (void)to;
    return 0;
}

static int node_read(void *ctx, const char *name, int64_t from, int64_t to, delta_pending **out,
                     size_t *count, int64_t *latest_out, tarn_err *err)
{
    node_cm *m = ctx;
    *out = NULL;
    *count = 0;
    store_txn *txn = NULL;
    int rc = node_read_barrier(m->n, m->timeout_ms, NULL, err);
    if (rc == 0)
        rc = node_read_begin(m->n, &txn, err);
    if (rc != 0)
        return rc;
    catalog_table t;
    rc = catalog_table_get(txn, name, strlen(name), &t);
    int64_t latest = rc == 0 ? (int64_t)t.latest_version : -1;
    *latest_out = latest;
    if (rc == 0 && (from < 0 || from > latest))
        rc = TARN_ENOENT;
    if (to < 0 || to > latest)
        to = latest;
    if (to - from + 1 > DELTA_READ_VERSIONS_MAX)
        to = from + DELTA_READ_VERSIONS_MAX - 1;
    size_t n = rc == 0 && to >= from ? (size_t)(to - from + 1) : 0;
    delta_pending *p = rc == 0 ? tarn_calloc(n + 1, sizeof(*p)) : NULL;
    if (rc == 0 && p == NULL)
        rc = TARN_ENOMEM;
    if (rc == 0)
        rc = read_versions(txn, name, from, to, p, n);
    node_read_end(m->n, txn);
    if (rc != 0) {
        delta_pending_free(p, n);
        if (rc == TARN_ENOENT && latest >= 0)
            return tarn_err_set(err, rc, "table %s has no version %lld (latest %lld)", name,
                                (long long)from, (long long)latest);
        return tarn_err_set(err, rc, "reading table %s from the catalog", name);
    }
    *out = p;
    *count = n;
    return 0;
}

static void node_cm_close(void *ctx)
{
    tarn_free(ctx);
}

int delta_committer_node(node *n, int timeout_ms, delta_committer *out)
{
    memset(out, 0, sizeof(*out));
    node_cm *m = tarn_calloc(1, sizeof(*m));
    if (m == NULL)
        return TARN_ENOMEM;
    m->n = n;
    m->timeout_ms = timeout_ms > 0 ? timeout_ms : NODE_COMMIT_TIMEOUT_MS_DEFAULT;
    *out = (delta_committer){
        m,         node_create, node_commit,      node_log_written, node_pending, node_cm_close,
        node_read, 0,           node_commit_blind};
    return 0;
}
