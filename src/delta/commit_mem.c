/*
 * delta/commit_mem.c: a delta_committer in memory, with the catalog's
 * rules (catalog/catalog.h): version 0 on create, a commit accepted only on
 * the latest version (or, a blind append, on any base no metadata change
 * came after), a txn_id answered with its first result, and a per-version
 * log-written flag; version 0 keeps the create's wall-clock time. For
 * tests and tools that run without a
 * node; one thread at a time. Design note: delta/README.md.
 */
#include "delta/delta_int.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "catalog/catalog.h"

#include <string.h>

typedef struct mem_version {
    char *actions;
    size_t len;
    char *txn_id; /* NULL for version 0 */
    bool written;
} mem_version;

typedef struct mem_table {
    char *name, *schema;
    char **parts;
    size_t nparts;
    uint64_t created_id;
    int64_t created_ms;   /* wall clock at the create: version 0's time */
    int64_t meta_version; /* newest version that changed metadata/protocol */
    mem_version *v;
    size_t nv, cap;
} mem_table;

typedef struct mem_cat {
    mem_table *t;
    size_t n, cap;
    uint64_t next_id;
} mem_cat;

static mem_table *find(mem_cat *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->t[i].name, name) == 0)
            return &m->t[i];
    return NULL;
}

static int add_version(mem_table *t, const char *actions, size_t len, const char *txn_id)
{
    if (delta_grow(&t->v, &t->cap, t->nv, sizeof(*t->v)) != 0)
        return TARN_ENOMEM;
    mem_version *v = &t->v[t->nv];
    v->actions = tarn_malloc(len + 1);
    v->txn_id = txn_id ? tarn_strdup(txn_id) : NULL;
    if (v->actions == NULL || (txn_id && v->txn_id == NULL)) {
        tarn_free(v->actions);
        tarn_free(v->txn_id);
        memset(v, 0, sizeof(*v));
        return TARN_ENOMEM;
    }
    memcpy(v->actions, actions, len);
    v->actions[len] = '\0';
    v->len = len;
    t->nv++;
    return 0;
}

static int mem_create(void *ctx, const char *name, const char *schema, const char *const *parts,
                      size_t nparts, uint64_t *created_id, tarn_err *err)
{
    mem_cat *m = ctx;
    if (find(m, name) != NULL)
        return tarn_err_set(err, TARN_EEXIST, "table %s exists", name);
    if (delta_grow(&m->t, &m->cap, m->n, sizeof(*m->t)) != 0)
        return tarn_err_set(err, TARN_ENOMEM, "create %s", name);
    mem_table *t = &m->t[m->n];
    memset(t, 0, sizeof(*t));
    t->name = tarn_strdup(name);
    t->schema = tarn_strdup(schema);
    t->parts = tarn_calloc(nparts + 1, sizeof(char *));
    int rc = t->name && t->schema && t->parts ? 0 : TARN_ENOMEM;
    for (size_t i = 0; rc == 0 && i < nparts; i++, t->nparts++)
        if ((t->parts[i] = tarn_strdup(parts[i])) == NULL)
            rc = TARN_ENOMEM;
    if (rc == 0)
        rc = add_version(t, "", 0, NULL);
    if (rc != 0) {
        tarn_free(t->name);
        tarn_free(t->schema);
        delta_strs_free(t->parts, t->nparts);
        tarn_free(t->v);
        return tarn_err_set(err, rc, "create %s", name);
    }
    t->created_id = *created_id = ++m->next_id;
    t->created_ms = tarn_wall_ms();
    m->n++;
    return 0;
}

static int mem_commit_any(void *ctx, const char *name, int64_t base_version, bool blind,
                          const char *txn_id, const char *actions, size_t len, int64_t *version_out,
                          bool *duplicate_out, tarn_err *err)
{
    mem_table *t = find(ctx, name);
    int add_only = 0, metadata = 0;
    int crc = catalog_actions_classify(actions, len, &add_only, &metadata, NULL, 0);
    if (crc == TARN_ENOMEM)
        return tarn_err_set(err, crc, "commit to %s", name);
    if (blind && (crc != 0 || !add_only))
        return tarn_err_set(err, TARN_EINVAL, "commit to %s: a blind append holds adds only", name);
    *duplicate_out = false;
    if (t == NULL)
        return tarn_err_set(err, TARN_ENOENT, "no table %s", name);
    for (size_t i = 1; i < t->nv; i++) {
        if (strcmp(t->v[i].txn_id, txn_id) == 0) {
            *version_out = (int64_t)i;
            *duplicate_out = true;
            return 0;
        }
    }
    int64_t latest = (int64_t)t->nv - 1;
    *version_out = latest;
    bool ok = base_version == latest ||
              (blind && base_version < latest && t->meta_version <= base_version);
    if (!ok)
        return tarn_err_set(err, TARN_ECONFLICT, "table %s: base version %lld is %s (latest %lld)",
                            name, (long long)base_version,
                            blind && base_version < latest
                                ? "older than a metadata or protocol change"
                                : "not the latest",
                            (long long)latest);
    if (add_version(t, actions, len, txn_id) != 0)
        return tarn_err_set(err, TARN_ENOMEM, "commit to %s", name);
    *version_out = latest + 1;
    if (crc == 0 && metadata && !blind)
        t->meta_version = latest + 1;
    return 0;
}

static int mem_commit(void *ctx, const char *name, int64_t base_version, const char *txn_id,
                      const char *actions, size_t len, int64_t *version_out, bool *duplicate_out,
                      tarn_err *err)
{
    return mem_commit_any(ctx, name, base_version, false, txn_id, actions, len, version_out,
                          duplicate_out, err);
}

static int mem_commit_blind(void *ctx, const char *name, int64_t base_version, const char *txn_id,
                            const char *actions, size_t len, int64_t *version_out,
                            bool *duplicate_out, tarn_err *err)
{
    return mem_commit_any(ctx, name, base_version, true, txn_id, actions, len, version_out,
                          duplicate_out, err);
}

static int mem_log_written(void *ctx, const char *name, int64_t version, tarn_err *err)
{
    mem_table *t = find(ctx, name);
    if (t == NULL || version < 0 || (size_t)version >= t->nv)
        return tarn_err_set(err, TARN_ENOENT, "no version %lld of %s", (long long)version, name);
    t->v[version].written = true;
    return 0;
}

static int copy_pending(const mem_table *t, size_t v, delta_pending *p)
{
    memset(p, 0, sizeof(*p));
    p->version = (int64_t)v;
    p->table = tarn_strdup(t->name);
    p->actions = tarn_malloc(t->v[v].len + 1);
    if (p->table == NULL || p->actions == NULL)
        return TARN_ENOMEM;
    memcpy(p->actions, t->v[v].actions, t->v[v].len + 1);
    p->actions_len = t->v[v].len;
    if (v != 0)
        return 0;
    p->created_id = t->created_id;
    p->created_ms = t->created_ms;
    p->schema = tarn_strdup(t->schema);
    p->parts = tarn_calloc(t->nparts + 1, sizeof(char *));
    if (p->schema == NULL || p->parts == NULL)
        return TARN_ENOMEM;
    for (; p->nparts < t->nparts; p->nparts++)
        if ((p->parts[p->nparts] = tarn_strdup(t->parts[p->nparts])) == NULL)
            return TARN_ENOMEM;
    return 0;
}

static int mem_pending(void *ctx, delta_pending **out, size_t *count, tarn_err *err)
{
    mem_cat *m = ctx;
    delta_pending *p = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        for (size_t v = 0; rc == 0 && v < m->t[i].nv && n < DELTA_PENDING_MAX; v++) {
            if (m->t[i].v[v].written)
                continue;
            rc = delta_grow(&p, &cap, n, sizeof(*p));
            if (rc == 0)
                rc = copy_pending(&m->t[i], v, &p[n++]);
        }
    if (rc != 0) {
        delta_pending_free(p, n);
        return tarn_err_set(err, rc, "pending logs");
    }
    *out = p;
    *count = n;
    return 0;
}

static int mem_read(void *ctx, const char *name, int64_t from, int64_t to, delta_pending **out,
                    size_t *count, int64_t *latest_out, tarn_err *err)
{
    mem_table *t = find(ctx, name);
    *out = NULL;
    *count = 0;
    if (t == NULL)
        return tarn_err_set(err, TARN_ENOENT, "no table %s", name);
    int64_t latest = (int64_t)t->nv - 1;
    *latest_out = latest;
    if (from < 0 || from > latest)
        return tarn_err_set(err, TARN_ENOENT, "table %s has no version %lld (latest %lld)", name,
                            (long long)from, (long long)latest);
    if (to < 0 || to > latest)
        to = latest;
    if (to - from + 1 > DELTA_READ_VERSIONS_MAX)
        to = from + DELTA_READ_VERSIONS_MAX - 1;
    size_t n = to >= from ? (size_t)(to - from + 1) : 0;
    delta_pending *p = tarn_calloc(n + 1, sizeof(*p));
    int rc = p ? 0 : TARN_ENOMEM;
    size_t done = 0;
    for (; rc == 0 && done < n; done++)
        rc = copy_pending(t, (size_t)from + done, &p[done]);
    if (rc != 0) {
        delta_pending_free(p, done);
        return tarn_err_set(err, rc, "reading %s", name);
    }
    *out = p;
    *count = n;
    return 0;
}

static void mem_close(void *ctx)
{
    mem_cat *m = ctx;
    for (size_t i = 0; m != NULL && i < m->n; i++) {
        mem_table *t = &m->t[i];
        for (size_t v = 0; v < t->nv; v++) {
            tarn_free(t->v[v].actions);
            tarn_free(t->v[v].txn_id);
        }
        tarn_free(t->v);
        tarn_free(t->name);
        tarn_free(t->schema);
        delta_strs_free(t->parts, t->nparts);
    }
    if (m != NULL)
        tarn_free(m->t);
    tarn_free(m);
}

int delta_committer_mem(delta_committer *out)
{
    memset(out, 0, sizeof(*out));
    mem_cat *m = tarn_calloc(1, sizeof(*m));
    if (m == NULL)
        return TARN_ENOMEM;
    *out = (delta_committer){m,         mem_create, mem_commit, mem_log_written, mem_pending,
                             mem_close, mem_read,   0,          mem_commit_blind};
    return 0;
}
