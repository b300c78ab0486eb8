/*
 * delta/vacuum.c: VACUUM and the history listing of Tarn's tables.
 *
 * VACUUM removes the data files under tables/<name>/ that no version
 * inside the retention period can reference: a file live at the latest
 * version stays; a file removed by a commit stays until its removal is
 * older than the retention period (versions before the removal still read
 * it); a file no commit ever added (the upload of a failed or abandoned
 * commit) stays until it is itself older than the retention period (it
 * may belong to a commit in flight). The log (`_delta_log/`) and hidden
 * paths (a segment starting with '_' or '.', other than a partition
 * directory `col=value`) are never touched. Removals come from the latest
 * snapshot's tombstones (checkpoints keep them for the table's
 * delta.deletedFileRetentionDuration), or from every recorded version when
 * VACUUM's retention is longer than that. Design note: delta/README.md,
 * "VACUUM" and "History".
 */
#include "delta/log_int.h"
#include "delta/write_int.h"

#include "base/alloc.h"
#include "base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VACUUM_RETENTION_MS_DEFAULT ((int64_t)7 * 24 * 3600 * 1000)

/* What the log says of one path: its last action, and when. */
typedef struct path_state {
    char *path;
    uint64_t seq;
    bool live;
    int64_t removed_ms;
} path_state;

typedef struct known {
    path_state *v;
    size_t n, cap;
    uint64_t seq;
} known;

static int known_add(known *k, char **path, bool live, int64_t removed_ms)
{
    if (delta_grow(&k->v, &k->cap, k->n, sizeof(path_state)) != 0)
        return TARN_ENOMEM;
    k->v[k->n++] = (path_state){*path, k->seq++, live, removed_ms};
    *path = NULL;
    return 0;
}

static int cmp_state(const void *pa, const void *pb)
{
    const path_state *a = pa, *b = pb;
    int c = strcmp(a->path, b->path);
    return c != 0 ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Keeps the newest state of each path, sorted by path. */
static void known_reduce(known *k)
{
    if (k->n > 1)
        qsort(k->v, k->n, sizeof(path_state), cmp_state);
    size_t w = 0;
    for (size_t i = 0; i < k->n; i++) {
        if (i + 1 < k->n && strcmp(k->v[i].path, k->v[i + 1].path) == 0) {
            tarn_free(k->v[i].path);
            continue;
        }
        k->v[w++] = k->v[i];
    }
    k->n = w;
}

static const path_state *known_find(const known *k, const char *path)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(k->v[mid].path, path);
        if (c == 0)
            return &k->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void known_free(known *k)
{
    for (size_t i = 0; i < k->n; i++)
        tarn_free(k->v[i].path);
    tarn_free(k->v);
    memset(k, 0, sizeof(*k));
}

/* Every add and remove of every version, from the metadata service. */
static int known_load(delta_committer *c, const char *name, known *k, tarn_err *err)
{
    int64_t next = 0, latest = -1;
    int rc = 0;
    do {
        delta_pending *p = NULL;
        size_t n = 0;
        rc = c->read(c->ctx, name, next, -1, &p, &n, &latest, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            delta_commit *cm = NULL;
            rc = delta_pending_parse(&p[i], &cm, err);
            /* Removes first: a file removed and re-added by one commit is live. */
            for (size_t j = 0; rc == 0 && cm && j < cm->nremoves; j++) {
                int64_t t = cm->removes[j].deletion_timestamp_ms;
                rc = known_add(k, &cm->removes[j].path, false, t >= 0 ? t : cm->timestamp_ms);
            }
            for (size_t j = 0; rc == 0 && cm && j < cm->nadds; j++)
                rc = known_add(k, &cm->adds[j].path, true, -1);
            delta_commit_free(cm);
        }
        delta_pending_free(p, n);
        next += (int64_t)n;
        if (rc == 0 && n == 0)
            break;
    } while (rc == 0 && next <= latest);
    if (rc == TARN_ENOMEM)
        tarn_err_set(err, rc, "vacuum");
    return rc;
}

/* The latest snapshot's live files and tombstones (PROTOCOL.md: the
 * tombstones are what VACUUM reads). A checkpoint keeps only tombstones
 * younger than the table's retention, so this suffices when VACUUM's
 * retention is not longer: a tombstone that expired in a checkpoint was
 * removed before now - the table's retention, before VACUUM's cutoff, and
 * its file (unknown now) is older than that too. */
static int known_snapshot(const delta_snapshot *s, known *k, tarn_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nfiles; i++) {
        char *path = tarn_strdup(s->files[i].path);
        rc = path ? known_add(k, &path, true, -1) : TARN_ENOMEM;
        tarn_free(path);
    }
    for (size_t i = 0; rc == 0 && i < s->ntombstones; i++) {
        char *path = tarn_strdup(s->tombstones[i].path);
        int64_t t = s->tombstones[i].deletion_timestamp_ms;
        rc = path ? known_add(k, &path, false, t >= 0 ? t : 0) : TARN_ENOMEM;
        tarn_free(path);
    }
    return rc == 0 ? 0 : tarn_err_set(err, rc, "vacuum");
}

/* What VACUUM knows of each path: from the latest snapshot's tombstones
 * when the table keeps them at least as long as `retention`, else from
 * every version the metadata service recorded. */
static int known_collect(delta_committer *c, objstore *os, const char *name, int64_t retention,
                         known *k, bool *from_tombstones, tarn_err *err)
{
    delta_snapshot *s = NULL;
    int64_t kept = 0;
    int rc = delta_managed_snapshot_latest(c, os, name, &s, err);
    if (rc == 0)
        rc = delta_tombstone_retention(&s->metadata, &kept, err);
    *from_tombstones = rc == 0 && retention <= kept;
    if (rc == 0)
        rc = *from_tombstones ? known_snapshot(s, k, err) : known_load(c, name, k, err);
    delta_snapshot_free(s);
    return rc;
}

/* Paths VACUUM never touches: the log, and hidden files and directories
 * (a segment starting with '_' or '.' that is not `col=value`). */
static bool hidden(const char *rel)
{
    for (const char *seg = rel; seg != NULL && *seg != '\0';) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        bool partition = memchr(seg, '=', len) != NULL && slash != NULL;
        if ((seg[0] == '_' || seg[0] == '.') && !partition)
            return true;
        seg = slash ? slash + 1 : NULL;
    }
    return false;
}

/* Decides one listed key; deletes it unless dry_run. */
static int vacuum_key(objstore *os, const known *k, const char *key, const char *rel, uint64_t size,
                      int64_t cutoff, const delta_vacuum_opts *o, delta_vacuum_result *res,
                      tarn_err *err)
{
    if (hidden(rel))
        return 0;
    const path_state *st = known_find(k, rel);
    bool drop;
    if (st != NULL) {
        drop = !st->live && st->removed_ms < cutoff;
    } else {
        objstore_info info;
        int rc = objstore_head(os, key, &info, err);
        if (rc == TARN_ENOENT)
            return 0; /* gone meanwhile */
        if (rc != 0)
            return rc;
        drop = info.mtime_ms < cutoff;
    }
    if (!drop) {
        res->files_kept++;
        return 0;
    }
    if (o->on_file != NULL)
        o->on_file(o->ctx, rel, size);
    res->files_deleted++;
    res->bytes_deleted += (int64_t)size;
    return o->dry_run ? 0 : objstore_del(os, key, err);
}

static int vacuum_list(objstore *os, const char *name, const known *k, int64_t cutoff,
                       const delta_vacuum_opts *o, delta_vacuum_result *res, tarn_err *err)
{
    char prefix[OBJSTORE_KEY_MAX + 1];
    snprintf(prefix, sizeof(prefix), "tables/%s/", name);
    char *next = NULL;
    int rc = 0;
    for (;;) {
        objstore_list_page page;
        rc = objstore_list(os, prefix, next, 0, &page, err);
        for (size_t i = 0; rc == 0 && i < page.count; i++) {
            const char *key = page.entries[i].key;
            rc = vacuum_key(os, k, key, key + strlen(prefix), page.entries[i].size_bytes, cutoff, o,
                            res, err);
        }
        bool more = rc == 0 && page.truncated;
        tarn_free(next);
        next = more ? tarn_strdup(page.next_start_after) : NULL;
        objstore_list_page_free(&page);
        if (!more)
            break;
        if (next == NULL) {
            rc = tarn_err_set(err, TARN_ENOMEM, "vacuum");
            break;
        }
    }
    tarn_free(next);
    return rc;
}

int delta_vacuum(delta_committer *c, objstore *os, const char *name, const delta_vacuum_opts *opts,
                 delta_vacuum_result *res, tarn_err *err)
{
    static const delta_vacuum_opts defaults = {.retention_ms = -1, .min_retention_ms = -1};
    opts = opts ? opts : &defaults;
    memset(res, 0, sizeof(*res));
    int rc = delta_name_check(name, err);
    if (rc != 0)
        return rc;
    if (c->read == NULL)
        return tarn_err_set(err, TARN_ENOTSUP, "this committer cannot read versions");
    int64_t retention = opts->retention_ms >= 0 ? opts->retention_ms : VACUUM_RETENTION_MS_DEFAULT;
    int64_t min =
        opts->min_retention_ms >= 0 ? opts->min_retention_ms : VACUUM_RETENTION_MS_DEFAULT;
    if (retention < min && !opts->force)
        return tarn_err_set(err, TARN_EINVAL,
                            "retention of %lld hours is below the minimum of %lld hours: files "
                            "that time travel or running readers and writers still need could be "
                            "removed (force it only when no one uses the table)",
                            (long long)(retention / 3600000), (long long)(min / 3600000));
    res->cutoff_ms = tarn_wall_ms() - retention;
    known k = {0};
    rc = known_collect(c, os, name, retention, &k, &res->from_tombstones, err);
    if (rc == 0) {
        known_reduce(&k);
        rc = vacuum_list(os, name, &k, res->cutoff_ms, opts, res, err);
    }
    known_free(&k);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "vacuum %s", name);
    return 0;
}

/* ---- history ----------------------------------------------------------------- */

/* The operation named in a commitInfo (JSON text), or `fallback`. */
static char *operation_of(const char *commit_info, const char *fallback)
{
    json_t *j = commit_info ? json_loads(commit_info, 0, NULL) : NULL;
    json_t *op = j ? json_object_get(j, "operation") : NULL;
    char *out = tarn_strdup(json_is_string(op) ? json_string_value(op) : fallback);
    json_decref(j);
    return out;
}

static int history_push(delta_history *h, int64_t version, int64_t ts, delta_commit *cm)
{
    if (delta_grow(&h->entries, &h->cap, h->count, sizeof(delta_history_entry)) != 0)
        return TARN_ENOMEM;
    delta_history_entry *e = &h->entries[h->count];
    memset(e, 0, sizeof(*e));
    e->version = version;
    e->timestamp_ms = ts;
    e->operation = operation_of(cm->commit_info, version == 0 ? "CREATE TABLE" : "UNKNOWN");
    e->commit_info = cm->commit_info;
    cm->commit_info = NULL;
    if (e->operation == NULL) {
        tarn_free(e->commit_info);
        return TARN_ENOMEM;
    }
    h->count++;
    return 0;
}

void delta_history_free(delta_history *h)
{
    for (size_t i = 0; h != NULL && i < h->count; i++) {
        tarn_free(h->entries[i].operation);
        tarn_free(h->entries[i].commit_info);
    }
    if (h != NULL) {
        tarn_free(h->entries);
        memset(h, 0, sizeof(*h));
    }
}

int delta_history_managed(delta_committer *c, objstore *os, const char *name, delta_history *out,
                          tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = delta_name_check(name, err);
    if (rc == 0 && c->read == NULL)
        rc = tarn_err_set(err, TARN_ENOTSUP, "this committer cannot read versions");
    int64_t next = 0, latest = -1, prev = INT64_MIN;
    while (rc == 0) {
        delta_pending *p = NULL;
        size_t n = 0;
        rc = c->read(c->ctx, name, next, -1, &p, &n, &latest, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            delta_commit *cm = NULL;
            rc = delta_pending_parse(&p[i], &cm, err);
            int64_t ts = 0;
            if (rc == 0)
                ts = delta_recorded_time(cm, os, name);
            if (rc == 0 && p[i].version > 0 && ts <= prev)
                ts = prev + 1;
            prev = ts;
            if (rc == 0 && history_push(out, p[i].version, ts, cm) != 0)
                rc = tarn_err_set(err, TARN_ENOMEM, "history");
            delta_commit_free(cm);
        }
        delta_pending_free(p, n);
        next += (int64_t)n;
        if (n == 0 || next > latest)
            break;
    }
    if (rc != 0)
        delta_history_free(out);
    return rc;
}

int delta_history_log(delta_table *t, delta_history *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    delta_listing l;
    int rc = delta_log_list(t, NULL, &l, err);
    int64_t prev = INT64_MIN;
    for (size_t i = 0; rc == 0 && i < l.nversions; i++) {
        delta_commit *cm = NULL;
        int64_t ts = 0;
        rc = delta_commit_read(t, l.versions[i], &cm, err);
        if (rc == 0)
            rc = delta_commit_time(t, cm, &ts, err);
        if (rc == 0 && i > 0 && l.versions[i] == l.versions[i - 1] + 1 && ts <= prev)
            ts = prev + 1;
        prev = ts;
        if (rc == 0 && history_push(out, l.versions[i], ts, cm) != 0)
            rc = tarn_err_set(err, TARN_ENOMEM, "history");
        delta_commit_free(cm);
    }
    delta_listing_free(&l);
    if (rc != 0)
        delta_history_free(out);
    return rc;
}
