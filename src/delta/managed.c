/*
 * delta/managed.c: snapshots of Tarn's own tables taken from the metadata
 * service (the committer's `read`: the versions and their actions as the
 * catalog recorded them), never from a listing of `_delta_log/`, at the
 * latest version, a version, or a timestamp; and the history of a table
 * (from the committer or from a log). Design note: delta/README.md,
 * "Snapshots of Tarn's tables" and "History".
 */
#include "delta/log_int.h"
#include "delta/write_int.h"

#include "base/alloc.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

int delta_table_open_managed(objstore *os, const char *name, delta_table **out, tarn_err *err)
{
    *out = NULL;
    int rc = delta_name_check(name, err);
    if (rc != 0)
        return rc;
    char root[DELTA_TABLE_NAME_MAX + 16];
    snprintf(root, sizeof(root), "tables/%s", name);
    return delta_table_open_root(os, root, out, err);
}

/* The bytes of one recorded version (version 0 rebuilt from the table
 * record, as delta_create_table wrote it) parsed as a commit. */
int delta_pending_parse(const delta_pending *p, delta_commit **out, tarn_err *err)
{
    char name[DELTA_TABLE_NAME_MAX + 64];
    snprintf(name, sizeof(name), "%s@v%lld", p->table, (long long)p->version);
    if (p->version != 0)
        return delta_commit_parse(p->actions, p->actions_len, name, p->version, out, err);
    tarn_buf b;
    tarn_buf_init(&b, DELTA_COMMIT_BYTES_MAX);
    int rc = delta_version0_actions_at(p->table, p->schema, (const char *const *)p->parts,
                                       p->nparts, p->created_id, p->created_ms, &b);
    if (rc != 0)
        rc = tarn_err_set(err, rc, "building version 0 of %s", p->table);
    else
        rc = delta_commit_parse((const char *)b.data, b.len, name, 0, out, err);
    tarn_buf_free(&b);
    return rc;
}

/* Version 0 of a table whose create the metadata service recorded no
 * time for carries no commitInfo (its bytes must be rebuildable from the
 * record), so its time is its log file's modification time, which a copy
 * of the files changes; before the file is published, the start of time
 * (any timestamp before version 1 then names it). */
static int64_t version0_time(objstore *os, const char *name)
{
    char key[OBJSTORE_KEY_MAX + 1];
    snprintf(key, sizeof(key), "tables/%s/_delta_log/%020d.json", name, 0);
    objstore_info info;
    return objstore_head(os, key, &info, NULL) == 0 ? info.mtime_ms : INT64_MIN + 1;
}

/* A commit's time: inCommitTimestamp, else commitInfo.timestamp (ours
 * always carry one, version 0 when the record has its creation time; the
 * metadata service is the truth for these tables, and the log file's
 * mtime says only when it was published or copied). */
int64_t delta_recorded_time(const delta_commit *c, objstore *os, const char *name)
{
    if (c->in_commit_timestamp_ms >= 0)
        return c->in_commit_timestamp_ms;
    if (c->timestamp_ms >= 0)
        return c->timestamp_ms;
    return c->version == 0 ? version0_time(os, name) : INT64_MIN + 1;
}

typedef struct managed_walk {
    delta_committer *c;
    objstore *os;
    const char *name;
    int64_t to;           /* last version to replay; -1: the latest */
    int64_t timestamp_ms; /* INT64_MAX: no time bound */
    delta_replay r;
    int64_t version, ts, prev_ts;
    int64_t from; /* first version to replay (after a checkpoint) */
    int64_t cp;   /* the checkpoint the replay started from, or -1 */
} managed_walk;

/* Applies one recorded version unless its (increasing) time is past the
 * bound: *stop set then. */
static int walk_one(managed_walk *w, const delta_pending *p, bool *stop, tarn_err *err)
{
    delta_commit *c = NULL;
    int rc = delta_pending_parse(p, &c, err);
    if (rc != 0)
        return rc;
    int64_t ts = delta_recorded_time(c, w->os, w->name);
    if (p->version > 0 && ts <= w->prev_ts)
        ts = w->prev_ts + 1; /* increasing, as readers of the log make them */
    if (ts > w->timestamp_ms) {
        *stop = true;
        delta_commit_free(c);
        return 0;
    }
    w->prev_ts = ts;
    rc = delta_replay_commit(&w->r, c, err);
    delta_commit_free(c);
    if (rc == 0) {
        w->version = p->version;
        w->ts = ts;
    }
    return rc;
}

/* Replays recorded versions 0..to (or up to the time bound), a page of
 * DELTA_READ_VERSIONS_MAX at a time. */
static int walk(managed_walk *w, tarn_err *err)
{
    int64_t next = w->from, latest = -1, to = w->to;
    bool stop = false;
    int rc = 0;
    while (rc == 0 && !stop && (to < 0 || next <= to)) {
        delta_pending *p = NULL;
        size_t n = 0;
        rc = w->c->read(w->c->ctx, w->name, next, to, &p, &n, &latest, err);
        if (rc == TARN_ENOENT && to < 0 && w->version >= 0 && latest >= 0 && next > latest) {
            tarn_err_clear(err); /* the checkpoint is the latest version */
            rc = 0;
            break;
        }
        if (rc == TARN_ENOENT && to >= 0 && latest >= 0 && to > latest)
            rc = tarn_err_set(err, TARN_ENOENT, "version %lld does not exist (latest is %lld)",
                              (long long)to, (long long)latest);
        if (rc == 0 && to < 0)
            to = latest; /* fixed at the first read: later commits are not ours */
        for (size_t i = 0; rc == 0 && !stop && i < n; i++)
            rc = walk_one(w, &p[i], &stop, err);
        next += (int64_t)n;
        delta_pending_free(p, n);
        if (rc == 0 && n == 0)
            break;
    }
    if (rc == 0 && w->version < 0)
        rc = tarn_err_set(err, TARN_ENOENT, "timestamp %lld is before the first commit of %s",
                          (long long)w->timestamp_ms, w->name);
    return rc;
}

/* One recorded version, parsed. */
static int read_one(managed_walk *w, int64_t v, delta_commit **out, tarn_err *err)
{
    delta_pending *p = NULL;
    size_t n = 0;
    int64_t latest;
    int rc = w->c->read(w->c->ctx, w->name, v, v, &p, &n, &latest, err);
    if (rc == 0 && n != 1)
        rc = tarn_err_set(err, TARN_ENOENT, "version %lld", (long long)v);
    if (rc == 0)
        rc = delta_pending_parse(&p[0], out, err);
    delta_pending_free(p, n);
    return rc;
}

/* Starts the replay from the checkpoint `_last_checkpoint` names, when it
 * is at or before the version wanted and belongs to this table (its
 * metaData.id is version 0's: a table dropped and created again under the
 * same name may have left an old one). Any problem: replay from 0. */
static void start_at_checkpoint(managed_walk *w)
{
    char root[DELTA_TABLE_NAME_MAX + 16];
    snprintf(root, sizeof(root), "tables/%s", w->name);
    delta_table *t = NULL;
    tarn_err err = TARN_ERR_INIT;
    if (delta_table_open_root(w->os, root, &t, &err) != 0)
        return;
    uint32_t parts = 1;
    int64_t cp = delta_last_checkpoint(t, &parts);
    delta_commit *v0 = NULL, *at = NULL;
    bool ok = cp > 0 && (w->to < 0 || cp <= w->to) && read_one(w, 0, &v0, &err) == 0 &&
              v0->metadata != NULL && read_one(w, cp, &at, &err) == 0 &&
              delta_checkpoint_load(t, &(delta_cp){cp, parts, parts}, &w->r, &err) == 0 &&
              w->r.metadata != NULL && strcmp(w->r.metadata->id, v0->metadata->id) == 0;
    if (ok) {
        w->from = cp + 1;
        w->cp = w->version = cp;
        w->ts = w->prev_ts = delta_recorded_time(at, w->os, w->name);
    } else {
        delta_replay_free(&w->r);
        /* A hint that names a checkpoint we cannot use (a part missing, a
         * damaged file) costs a full replay; say why. */
        if (cp > 0 && (w->to < 0 || cp <= w->to))
            TARN_LOGF(TARN_LOG_WARN, "delta", "checkpoint not used, replaying from version 0",
                      TARN_F_STR("table", w->name), TARN_F_INT("checkpoint", cp),
                      TARN_F_STR("reason", err.code != 0 ? tarn_err_msg(&err)
                                                         : "another table's checkpoint"));
    }
    delta_commit_free(v0);
    delta_commit_free(at);
    delta_table_close(t);
}

static int managed_snapshot(delta_committer *c, objstore *os, const char *name, int64_t version,
                            int64_t timestamp_ms, delta_snapshot **out, tarn_err *err)
{
    *out = NULL;
    int rc = delta_name_check(name, err);
    if (rc != 0)
        return rc;
    if (c->read == NULL)
        return tarn_err_set(err, TARN_ENOTSUP, "this committer cannot read versions");
    managed_walk w = {.c = c,
                      .os = os,
                      .name = name,
                      .to = version,
                      .timestamp_ms = timestamp_ms,
                      .version = -1,
                      .prev_ts = INT64_MIN,
                      .cp = -1};
    /* Time travel by timestamp needs every version's time: no shortcut. */
    if (timestamp_ms == INT64_MAX)
        start_at_checkpoint(&w);
    rc = walk(&w, err);
    delta_snapshot *s = rc == 0 ? tarn_calloc(1, sizeof(*s)) : NULL;
    if (rc == 0 && s == NULL)
        rc = tarn_err_set(err, TARN_ENOMEM, "snapshot");
    if (rc == 0) {
        s->checkpoint_version = w.cp;
        s->timestamp_ms = w.ts;
        rc = delta_replay_finish(&w.r, w.version, s, err);
    }
    delta_replay_free(&w.r);
    if (rc != 0) {
        delta_snapshot_free(s);
        return tarn_err_wrap(err, rc, "table %s", name);
    }
    *out = s;
    return 0;
}

int delta_managed_snapshot_latest(delta_committer *c, objstore *os, const char *name,
                                  delta_snapshot **out, tarn_err *err)
{
    return managed_snapshot(c, os, name, -1, INT64_MAX, out, err);
}

int delta_managed_snapshot_at_version(delta_committer *c, objstore *os, const char *name,
                                      int64_t version, delta_snapshot **out, tarn_err *err)
{
    if (version < 0) {
        *out = NULL;
        return tarn_err_set(err, TARN_ENOENT, "version %lld does not exist", (long long)version);
    }
    return managed_snapshot(c, os, name, version, INT64_MAX, out, err);
}

int delta_managed_snapshot_at_timestamp(delta_committer *c, objstore *os, const char *name,
                                        int64_t timestamp_ms, delta_snapshot **out, tarn_err *err)
{
    return managed_snapshot(c, os, name, -1, timestamp_ms, out, err);
}
