/*
 * delta/rewrite.c: commits that remove files as well as add them: delete
 * by predicate (copy-on-write: each file holding matching rows is
 * rewritten without them), overwrite, and the commit they share: one
 * commit against the version read, rebased over later commits only when
 * none of them touched what this one removes. Design note:
 * delta/README.md, "Delete and overwrite" and "Conflicts".
 */
#include "delta/log_int.h"
#include "delta/write_int.h"

#include "base/alloc.h"
#include "base/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the removed-path set ---------------------------------------------------- */

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void delta_paths_sort(const char **paths, size_t n)
{
    if (n > 1)
        qsort(paths, n, sizeof(*paths), cmp_path);
}

static bool paths_has(const char *const *paths, size_t n, const char *p)
{
    return n > 0 && bsearch(&p, paths, n, sizeof(*paths), cmp_path) != NULL;
}

/* ---- action lines ------------------------------------------------------------ */

int delta_remove_line(const delta_snapshot *s, const delta_file *f, int64_t now_ms,
                      bool data_change, tarn_buf *out)
{
    tarn_buf path;
    tarn_buf_init(&path, OBJSTORE_KEY_MAX * 3 + 1);
    int rc = delta_uri_escape(&path, f->path, strlen(f->path), "/=");
    if (rc == 0)
        rc = tarn_buf_append_str(out, "{\"remove\":{\"path\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, (const char *)path.data, path.len);
    if (rc == 0)
        rc = tarn_buf_printf(out,
                             ",\"deletionTimestamp\":%lld,\"dataChange\":%s,"
                             "\"extendedFileMetadata\":true,\"partitionValues\":{",
                             (long long)now_ms, data_change ? "true" : "false");
    for (size_t p = 0; rc == 0 && p < s->metadata.n_partition_columns; p++) {
        const char *col = s->metadata.partition_columns[p], *v = f->part_values[p];
        rc = tarn_buf_append_str(out, p ? "," : "");
        if (rc == 0)
            rc = tarn_buf_append_json_str(out, col, strlen(col));
        if (rc == 0)
            rc = tarn_buf_append_byte(out, ':');
        if (rc == 0)
            rc = v ? tarn_buf_append_json_str(out, v, strlen(v)) : tarn_buf_append_str(out, "null");
    }
    if (rc == 0)
        rc = tarn_buf_printf(out, "},\"size\":%lld}}\n", (long long)f->size_bytes);
    tarn_buf_free(&path);
    return rc;
}

/* ---- conflicts ----------------------------------------------------------------- */

/* Checks one commit that landed after the base: a change of protocol or
 * metadata, or a remove of a file this commit removes too, is a conflict
 * (the other writer deleted, rewrote or compacted rows we rewrite). Added
 * files are not: they hold rows this commit never read, and keeping them
 * is the order "ours, then theirs". */
static int check_one(const delta_pending *p, const char *const *removed, size_t nremoved,
                     tarn_err *err)
{
    delta_commit *cm = NULL;
    int rc = delta_pending_parse(p, &cm, err);
    if (rc != 0)
        return rc;
    if (cm->metadata != NULL || cm->protocol != NULL)
        rc = tarn_err_set(err, TARN_ECONFLICT, "version %lld changed the table's %s",
                          (long long)p->version, cm->metadata ? "metadata" : "protocol");
    for (size_t i = 0; rc == 0 && i < cm->nremoves; i++)
        if (paths_has(removed, nremoved, cm->removes[i].path))
            rc = tarn_err_set(err, TARN_ECONFLICT,
                              "version %lld removed %.200s, which this commit also removes",
                              (long long)p->version, cm->removes[i].path);
    delta_commit_free(cm);
    return rc;
}

int delta_check_rebase(delta_committer *c, const char *name, int64_t from, int64_t to,
                       const char *const *removed, size_t nremoved, tarn_err *err)
{
    if (c->read == NULL)
        return tarn_err_set(err, TARN_ECONFLICT, "the committer cannot read versions");
    int rc = 0;
    while (rc == 0 && from <= to) {
        delta_pending *p = NULL;
        size_t n = 0;
        int64_t latest;
        rc = c->read(c->ctx, name, from, to, &p, &n, &latest, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = check_one(&p[i], removed, nremoved, err);
        delta_pending_free(p, n);
        if (rc == 0 && n == 0)
            break;
        from += (int64_t)n;
    }
    return rc;
}

/* Commits, rebasing when the commits that landed since the base allow it,
 * then publishes the log file. *committed: the catalog accepted it (the
 * files are referenced; never remove them then). */
int delta_commit_publish(const delta_commit_req *q, int64_t *version, bool *committed,
                         bool *dup_out, tarn_err *err)
{
    int64_t base = q->base_version;
    bool dup = false;
    *committed = false;
    *dup_out = false;
    int rc;
    for (uint32_t attempt = 0;; attempt++) {
        rc = q->c->commit(q->c->ctx, q->name, base, q->txn_id, (const char *)q->actions->data,
                          q->actions->len, version, &dup, err);
        if (rc != TARN_ECONFLICT || attempt >= q->rebase_max)
            break;
        int64_t latest = *version;
        tarn_err_clear(err);
        rc = delta_check_rebase(q->c, q->name, base + 1, latest, q->removed, q->nremoved, err);
        if (rc != 0) {
            tarn_err_wrap(err, rc, "table %s: cannot commit on version %lld", q->name,
                          (long long)latest);
            break;
        }
        base = latest;
    }
    if (rc != 0)
        return rc;
    *committed = true;
    *dup_out = dup;
    if (dup)
        return 0; /* the first attempt (or the pending pass) writes the log */
    if (q->crash_point == 2)
        return tarn_err_set(err, TARN_EIO, "crash point 2");
    rc = delta_log_publish(q->c, q->os, q->name, *version, (const char *)q->actions->data,
                           q->actions->len, err);
    if (rc != 0)
        tarn_err_wrap(err, rc,
                      "version %lld is committed; its log file is not written yet "
                      "(delta_finish_pending_logs writes it)",
                      (long long)*version);
    else
        delta_checkpoint_maybe(q->c, q->os, q->name, *version);
    return rc;
}

bool delta_failure_is_definite(int rc)
{
    return rc == TARN_ECONFLICT || rc == TARN_ENOENT || rc == TARN_EINVAL || rc == TARN_ETOOBIG ||
           rc == TARN_ENOMEM;
}

/* ---- delete by predicate --------------------------------------------------------- */

typedef struct deleter {
    delta_committer *c;
    objstore *os;
    const char *name;
    const delta_snapshot *base;
    const delta_delete_opts *o;
    tarn_err *err;
    delta_table *t;
    appender *out; /* rewritten files, one appender per rewritten file */
    size_t nout, out_cap;
    const char **removed; /* paths of removed files (borrowed from base) */
    size_t nremoved;
    delta_write_result res;
} deleter;

/* Rows of one file through the caller's predicate: the rows that do not
 * match go to a new file (in *a), the count of those that do to *matched. */
static int filter_file(deleter *d, size_t fi, appender *a, int64_t *matched)
{
    delta_snapshot view = *d->base;
    view.files = &d->base->files[fi];
    view.nfiles = 1;
    delta_scan *sc = NULL;
    vec_batch b;
    memset(&b, 0, sizeof(b));
    uint8_t *match = NULL;
    uint32_t *keep = NULL;
    int rc = delta_scan_open(d->t, &view, NULL, &sc, d->err);
    if (rc == 0)
        rc = delta_scan_batch_init(sc, &b);
    if (rc == 0 && ((match = tarn_malloc(b.cap + 1)) == NULL ||
                    (keep = tarn_malloc((b.cap + 1) * sizeof(uint32_t))) == NULL))
        rc = tarn_err_set(d->err, TARN_ENOMEM, "delete");
    while (rc == 0 && (rc = delta_scan_next(sc, &b, d->err)) == 0 && b.len > 0) {
        memset(match, 0, b.len);
        rc = d->o->rows(d->o->ctx, &b, match, d->err);
        uint32_t n = 0;
        for (uint32_t i = 0; rc == 0 && i < vec_batch_live_count(&b); i++) {
            uint32_t r = b.sel_active ? b.sel[i] : i;
            if (match[r])
                (*matched)++;
            else
                keep[n++] = r;
        }
        if (rc == 0 && n > 0) {
            vec_batch v = b;
            v.sel = keep;
            v.sel_count = n;
            v.sel_active = true;
            rc = delta_appender_write(a, &v, 0);
            d->res.rows_written += n;
        }
    }
    tarn_free(match);
    tarn_free(keep);
    vec_batch_free(&b);
    delta_scan_close(sc);
    if (rc != 0)
        return tarn_err_wrap(d->err, rc, "file %.200s", d->base->files[fi].path);
    return 0;
}

/* A whole file the caller says matches entirely: its row count from the
 * stats when they have one, else through the row predicate. */
static int drop_whole(deleter *d, size_t fi, bool *scan)
{
    delta_stats st;
    const char *json = d->base->files[fi].stats;
    *scan = true;
    if (json == NULL || delta_stats_parse(json, &st, NULL) != 0)
        return 0;
    if (st.num_records >= 0) {
        d->res.rows_deleted += st.num_records;
        *scan = false;
    }
    delta_stats_free(&st);
    return 0;
}

static int mark_removed(deleter *d, size_t fi)
{
    d->removed[d->nremoved++] = d->base->files[fi].path;
    d->res.files_removed++;
    return 0;
}

/* One file: skipped, dropped whole, or filtered and (when some row
 * matched) rewritten. */
static int delete_file(deleter *d, size_t fi)
{
    delta_file_match fm = DELTA_FILE_MAYBE;
    int rc = d->o->files ? d->o->files(d->o->ctx, d->base, &d->base->files[fi], &fm, d->err) : 0;
    if (rc != 0 || fm == DELTA_FILE_NONE)
        return rc;
    bool scan = true;
    if (fm == DELTA_FILE_ALL && (rc = drop_whole(d, fi, &scan)) == 0 && !scan)
        return mark_removed(d, fi);
    if (delta_grow(&d->out, &d->out_cap, d->nout, sizeof(*d->out)) != 0)
        return tarn_err_set(d->err, TARN_ENOMEM, "delete");
    appender *a = &d->out[d->nout++];
    *a = (appender){.name = d->name, .base = d->base, .os = d->os, .err = d->err};
    int64_t matched = 0;
    if ((rc = delta_appender_init(a)) == 0)
        rc = filter_file(d, fi, a, &matched);
    if (rc != 0 || matched == 0) {
        delta_appender_free(a, false); /* nothing uploaded yet */
        d->nout--;
        return rc;
    }
    d->res.rows_deleted += matched;
    if (a->nfiles > 0 && (rc = delta_appender_upload(a)) != 0)
        return rc;
    d->res.files_added += a->nfiles;
    return mark_removed(d, fi);
}

static int delete_actions(deleter *d, const char *txn_id, tarn_buf *out)
{
    int64_t now = tarn_wall_ms();
    int rc = tarn_buf_printf(out,
                             "{\"commitInfo\":{\"timestamp\":%lld,\"operation\":\"DELETE\","
                             "\"operationParameters\":{\"predicate\":",
                             (long long)now);
    const char *pred = d->o->predicate ? d->o->predicate : "";
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, pred, strlen(pred));
    if (rc == 0)
        rc = tarn_buf_printf(out,
                             "},\"operationMetrics\":{\"numRemovedFiles\":\"%zu\","
                             "\"numAddedFiles\":\"%zu\",\"numDeletedRows\":\"%lld\","
                             "\"numCopiedRows\":\"%lld\"},\"isBlindAppend\":false,\"txnId\":",
                             d->res.files_removed, d->res.files_added,
                             (long long)d->res.rows_deleted, (long long)d->res.rows_written);
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, txn_id, strlen(txn_id));
    if (rc == 0)
        rc = tarn_buf_append_str(out, "}}\n");
    for (size_t i = 0; rc == 0 && i < d->base->nfiles; i++)
        if (paths_has(d->removed, d->nremoved, d->base->files[i].path))
            rc = delta_remove_line(d->base, &d->base->files[i], now, true, out);
    for (size_t i = 0; rc == 0 && i < d->nout; i++)
        rc = delta_appender_add_lines(&d->out[i], now, true, out);
    return rc == 0 ? 0 : tarn_err_set(d->err, rc, "building the commit");
}

static int txn_id_pick(const char *given, char *out, size_t cap, tarn_err *err)
{
    if (given == NULL)
        return delta_txn_id_random(out, cap, err);
    if (given[0] == '\0' || strlen(given) > DELTA_TXN_ID_MAX)
        return tarn_err_set(err, TARN_EINVAL, "txn id must have 1 to %d bytes", DELTA_TXN_ID_MAX);
    snprintf(out, cap, "%s", given);
    return 0;
}

static void deleter_free(deleter *d, bool remove_files)
{
    for (size_t i = 0; i < d->nout; i++)
        delta_appender_free(&d->out[i], remove_files);
    tarn_free(d->out);
    tarn_free(d->removed);
    delta_table_close(d->t);
}

/* Plans the delete: every file skipped, dropped, or rewritten. */
static int delete_plan(deleter *d)
{
    int rc = delta_table_open_managed(d->os, d->name, &d->t, d->err);
    d->removed = rc == 0 ? tarn_calloc(d->base->nfiles + 1, sizeof(char *)) : NULL;
    if (rc == 0 && d->removed == NULL)
        rc = tarn_err_set(d->err, TARN_ENOMEM, "delete");
    for (size_t i = 0; rc == 0 && i < d->base->nfiles; i++)
        rc = delete_file(d, i);
    delta_paths_sort(d->removed, d->nremoved);
    return rc;
}

int delta_delete(delta_committer *c, objstore *os, const char *name, const delta_snapshot *base,
                 const delta_delete_opts *opts, delta_write_result *res, tarn_err *err)
{
    memset(res, 0, sizeof(*res));
    res->version = base->version;
    char txn_id[DELTA_TXN_ID_MAX + 1];
    int rc = delta_name_check(name, err);
    if (rc == 0 && (opts == NULL || opts->rows == NULL))
        rc = tarn_err_set(err, TARN_EINVAL, "delete needs a row predicate");
    if (rc == 0)
        rc = txn_id_pick(opts->txn_id, txn_id, sizeof(txn_id), err);
    if (rc != 0)
        return rc;
    deleter d = {.c = c, .os = os, .name = name, .base = base, .o = opts, .err = err};
    tarn_buf actions;
    tarn_buf_init(&actions, DELTA_COMMIT_BYTES_MAX);
    rc = delete_plan(&d);
    bool committed = false, attempted = false, dup = false;
    if (rc == 0 && d.nremoved > 0 && opts->crash_point == 1)
        rc = tarn_err_set(err, TARN_EIO, "crash point 1");
    else if (rc == 0 && d.nremoved > 0 && (rc = delete_actions(&d, txn_id, &actions)) == 0) {
        attempted = true;
        delta_commit_req q = {c,        os,        name,       base->version,    txn_id,
                              &actions, d.removed, d.nremoved, opts->rebase_max, opts->crash_point};
        rc = delta_commit_publish(&q, &res->version, &committed, &dup, err);
    }
    int64_t version = res->version;
    if (rc == 0) {
        *res = d.res;
        res->version = version;
    }
    /* Files of a commit that surely did not happen go at once (README
     * "Crash points"); after an unknown outcome they wait for VACUUM. */
    /* A retried txn id: the first attempt's files are the referenced ones. */
    bool remove = dup || (rc != 0 && !committed && opts->crash_point == 0 &&
                          (!attempted || delta_failure_is_definite(rc)));
    deleter_free(&d, remove);
    tarn_buf_free(&actions);
    return rc;
}

/* ---- overwrite ------------------------------------------------------------------- */

static int overwrite_actions(const appender *a, const delta_snapshot *base, const char *txn_id,
                             tarn_buf *out)
{
    int64_t now = tarn_wall_ms(), rows = 0;
    for (size_t i = 0; i < a->nfiles; i++)
        rows += pq_writer_rows(a->files[i].w);
    int rc = tarn_buf_printf(out,
                             "{\"commitInfo\":{\"timestamp\":%lld,\"operation\":\"WRITE\","
                             "\"operationParameters\":{\"mode\":\"Overwrite\"},"
                             "\"operationMetrics\":{\"numFiles\":\"%zu\",\"numOutputRows\":"
                             "\"%lld\",\"numRemovedFiles\":\"%zu\"},"
                             "\"isBlindAppend\":false,\"txnId\":",
                             (long long)now, a->nfiles, (long long)rows, base->nfiles);
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, txn_id, strlen(txn_id));
    if (rc == 0)
        rc = tarn_buf_append_str(out, "}}\n");
    for (size_t i = 0; rc == 0 && i < base->nfiles; i++)
        rc = delta_remove_line(base, &base->files[i], now, true, out);
    if (rc == 0)
        rc = delta_appender_add_lines(a, now, true, out);
    return rc;
}

int delta_overwrite(delta_committer *c, objstore *os, const char *name, const delta_snapshot *base,
                    const vec_batch *batches, size_t nbatches, const delta_append_opts *opts,
                    delta_write_result *res, tarn_err *err)
{
    static const delta_append_opts defaults = {NULL, 0, 0};
    opts = opts ? opts : &defaults;
    memset(res, 0, sizeof(*res));
    res->version = base->version;
    char txn_id[DELTA_TXN_ID_MAX + 1];
    int rc = delta_name_check(name, err);
    if (rc == 0)
        rc = txn_id_pick(opts->txn_id, txn_id, sizeof(txn_id), err);
    if (rc != 0)
        return rc;
    appender a = {.name = name, .base = base, .os = os, .err = err};
    tarn_buf actions;
    tarn_buf_init(&actions, DELTA_COMMIT_BYTES_MAX);
    rc = delta_appender_init(&a);
    for (size_t i = 0; rc == 0 && i < nbatches; i++)
        rc = delta_appender_write(&a, &batches[i], i);
    if (rc == 0 && a.nfiles > 0)
        rc = delta_appender_upload(&a);
    if (rc == 0 && opts->crash_point == 1)
        rc = tarn_err_set(err, TARN_EIO, "crash point 1");
    bool committed = false, attempted = false, dup = false;
    if (rc == 0 && (rc = overwrite_actions(&a, base, txn_id, &actions)) != 0)
        tarn_err_set(err, rc, "building the commit");
    else if (rc == 0) {
        attempted = true;
        /* An overwrite replaces the table as it read it: a commit that
         * landed since is always a conflict (no rebase). */
        delta_commit_req q = {c,    os, name, base->version,    txn_id, &actions,
                              NULL, 0,  0,    opts->crash_point};
        rc = delta_commit_publish(&q, &res->version, &committed, &dup, err);
    }
    if (rc == 0) {
        res->files_removed = base->nfiles;
        res->files_added = a.nfiles;
        for (size_t i = 0; i < a.nfiles; i++)
            res->rows_written += pq_writer_rows(a.files[i].w);
    }
    bool remove = dup || (rc != 0 && !committed && opts->crash_point == 0 &&
                          (!attempted || delta_failure_is_definite(rc)));
    delta_appender_free(&a, remove);
    tarn_buf_free(&actions);
    return rc;
}
