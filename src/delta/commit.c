/*
 * delta/commit.c: the metadata service seen by the write path
 * (delta_committer): an in-memory implementation with the catalog's rules
 * and one over a node running the catalog commands; publishing a committed
 * version's log file; finishing log writes a dead writer left undone.
 * Design note: delta/README.md, "Commit protocol" and "Crash points".
 */
#include "delta/delta_int.h"
#include "delta/write_int.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

int delta_name_check(const char *name, tarn_err *err)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= DELTA_TABLE_NAME_MAX && !(name[0] >= '0' && name[0] <= '9');
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        ok = ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
             (ch >= '0' && ch <= '9');
    }
    return ok ? 0 : tarn_err_set(err, TARN_EINVAL, "table name \"%.140s\" is not valid", name);
}

void delta_pending_free(delta_pending *p, size_t count)
{
    for (size_t i = 0; p != NULL && i < count; i++) {
        tarn_free(p[i].table);
        tarn_free(p[i].actions);
        tarn_free(p[i].schema);
        delta_strs_free(p[i].parts, p[i].nparts);
    }
    tarn_free(p);
}

void delta_committer_close(delta_committer *c)
{
    if (c != NULL && c->close != NULL)
        c->close(c->ctx);
    if (c != NULL)
        memset(c, 0, sizeof(*c));
}

/* ---- publishing the log ---------------------------------------------------- */

int delta_log_publish(delta_committer *c, objstore *os, const char *name, int64_t version,
                      const char *actions, size_t len, tarn_err *err)
{
    char key[OBJSTORE_KEY_MAX + 1];
    snprintf(key, sizeof(key), "tables/%s/_delta_log/%020lld.json", name, (long long)version);
    int rc = objstore_put_if_absent(os, key, actions, len, err);
    if (rc == TARN_EEXIST) {
        /* Written before: by this writer's earlier attempt or by a leader
         * finishing it. The same bytes are fine; anything else means the
         * log and the metadata service disagree. */
        tarn_err_clear(err);
        tarn_buf b;
        tarn_buf_init(&b, DELTA_COMMIT_BYTES_MAX);
        rc = objstore_get(os, key, DELTA_COMMIT_BYTES_MAX, &b, err);
        if (rc == 0 && (b.len != len || memcmp(b.data, actions, len) != 0))
            rc = tarn_err_set(err, TARN_ECORRUPT,
                              "%s exists with other contents than the committed version", key);
        tarn_buf_free(&b);
    }
    if (rc == 0)
        rc = c->log_written(c->ctx, name, version, err);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "publishing %s", key);
    return 0;
}

/* One pending version: its bytes (version 0 rebuilt from the record,
 * with the creation time it keeps: the bytes the creator wrote), then
 * publish. */
static int finish_one(delta_committer *c, objstore *os, const delta_pending *p, tarn_err *err)
{
    if (p->version != 0)
        return delta_log_publish(c, os, p->table, p->version, p->actions, p->actions_len, err);
    tarn_buf b;
    tarn_buf_init(&b, DELTA_COMMIT_BYTES_MAX);
    int rc = delta_version0_actions_at(p->table, p->schema, (const char *const *)p->parts,
                                       p->nparts, p->created_id, p->created_ms, &b);
    if (rc != 0)
        rc = tarn_err_set(err, rc, "building version 0 of %s", p->table);
    else
        rc = delta_log_publish(c, os, p->table, 0, (const char *)b.data, b.len, err);
    tarn_buf_free(&b);
    return rc;
}

int delta_finish_pending_logs(delta_committer *c, objstore *os, size_t *done_out, tarn_err *err)
{
    delta_pending *p = NULL;
    size_t n = 0, done = 0;
    int rc = c->pending(c->ctx, &p, &n, err);
    /* In version order per table: the log never gets a gap, because a
     * version is published only after every earlier pending one. */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = finish_one(c, os, &p[i], err);
        if (rc == 0)
            delta_checkpoint_maybe(c, os, p[i].table, p[i].version);
        done += rc == 0;
    }
    delta_pending_free(p, n);
    if (done_out != NULL)
        *done_out = done;
    return rc;
}
