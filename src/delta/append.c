/*
 * delta/append.c: appending vec batches to a table: rows are split by
 * partition, each partition becomes one Parquet file (snappy) under
 * tables/<name>/<col=value/...>/<uuid>.parquet, the files are uploaded,
 * and one commit adds them with their statistics. Design note:
 * delta/README.md, "Writing", "Commit protocol" and "Crash points".
 */
#include "delta/delta_int.h"
#include "delta/write_int.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "base/rand.h"
#include "parquet/parquet.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int sink(void *ctx, const void *data, size_t len, tarn_err *err)
{
    part_file *f = ctx;
    int rc = tarn_buf_append(&f->bytes, data, len);
    return rc == 0 ? 0 : tarn_err_set(err, rc, "data file of %zu bytes", f->bytes.len + len);
}

/* Bytes outside [A-Za-z0-9._-] as %XX: Hive-style partition directories,
 * and (applied to the key) the URI encoding of add.path. */
int delta_uri_escape(tarn_buf *out, const char *s, size_t len, const char *keep)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
                     (ch != 0 && strchr(keep, ch) != NULL);
        rc = plain ? tarn_buf_append_byte(out, ch) : tarn_buf_printf(out, "%%%02X", ch);
    }
    return rc;
}

/* The partition value of a row as the log writes it; NULL for null (an
 * empty string is null too, as Spark writes it). *out is owned. */
static int part_value(const vec_col *c, uint32_t row, char **out)
{
    *out = NULL;
    if (!vec_col_is_valid(c, row))
        return 0;
    char text[64];
    switch (c->type.id) {
    case VEC_STRING: {
        const uint8_t *s;
        size_t len;
        vec_col_str(c, row, &s, &len);
        if (len == 0)
            return 0;
        *out = tarn_strndup((const char *)s, len);
        return *out ? 0 : TARN_ENOMEM;
    }
    case VEC_BOOL:
        snprintf(text, sizeof(text), "%s", ((const uint8_t *)c->data)[row] ? "true" : "false");
        break;
    case VEC_I8:
        snprintf(text, sizeof(text), "%d", ((const int8_t *)c->data)[row]);
        break;
    case VEC_I16:
        snprintf(text, sizeof(text), "%d", ((const int16_t *)c->data)[row]);
        break;
    case VEC_I32:
        snprintf(text, sizeof(text), "%d", ((const int32_t *)c->data)[row]);
        break;
    case VEC_I64:
        snprintf(text, sizeof(text), "%lld", (long long)((const int64_t *)c->data)[row]);
        break;
    case VEC_DATE:
        if (!delta_date_text(((const int32_t *)c->data)[row], text, sizeof(text)))
            return TARN_ERANGE;
        break;
    default:
        return TARN_ENOTSUP;
    }
    *out = tarn_strdup(text);
    return *out ? 0 : TARN_ENOMEM;
}

static void part_file_free(part_file *f, size_t nparts)
{
    tarn_free(f->dir);
    delta_strs_free(f->values, nparts);
    tarn_buf_free(&f->bytes);
    pq_writer_close(f->w);
    tarn_free(f->rel);
}

/* Opens the file of a new partition whose values are `vals` (taken). */
static int part_open(appender *a, char **vals, size_t nparts, size_t *idx)
{
    if (a->nfiles >= DELTA_APPEND_PARTITIONS_MAX ||
        delta_grow(&a->files, &a->cap, a->nfiles, sizeof(*a->files)) != 0) {
        delta_strs_free(vals, nparts);
        return a->nfiles >= DELTA_APPEND_PARTITIONS_MAX
                   ? tarn_err_set(a->err, TARN_ETOOBIG, "more than %d partitions in one append",
                                  DELTA_APPEND_PARTITIONS_MAX)
                   : tarn_err_set(a->err, TARN_ENOMEM, "append");
    }
    part_file *f = &a->files[a->nfiles++];
    memset(f, 0, sizeof(*f));
    f->values = vals;
    tarn_buf_init(&f->bytes, DELTA_DATA_FILE_BYTES_MAX);
    tarn_buf dir;
    tarn_buf_init(&dir, OBJSTORE_KEY_MAX);
    int rc = 0;
    for (size_t p = 0; rc == 0 && p < nparts; p++) {
        const char *col = a->base->metadata.partition_columns[p];
        rc = delta_uri_escape(&dir, col, strlen(col), "");
        if (rc == 0)
            rc = tarn_buf_append_byte(&dir, '=');
        if (rc == 0)
            rc = vals[p] ? delta_uri_escape(&dir, vals[p], strlen(vals[p]), "")
                         : tarn_buf_append_str(&dir, "__HIVE_DEFAULT_PARTITION__");
        if (rc == 0)
            rc = tarn_buf_append_byte(&dir, '/');
    }
    if (rc == 0)
        rc = tarn_buf_append_byte(&dir, '\0');
    f->dir = (char *)dir.data;
    if (rc == 0)
        rc = pq_writer_open(&(pq_writer_opts){.cols = a->wcols,
                                              .ncols = a->nwcols,
                                              .sink = sink,
                                              .sink_ctx = f,
                                              .codec = PQ_WRITE_SNAPPY,
                                              .name = a->name},
                            &f->w, a->err);
    else
        rc = tarn_err_set(a->err, rc, "partition directory");
    *idx = a->nfiles - 1;
    return rc;
}

static bool same_values(char *const *x, char *const *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((x[i] == NULL) != (y[i] == NULL) || (x[i] && strcmp(x[i], y[i]) != 0))
            return false;
    return true;
}

/* The file (partition) that row `row` of `b` goes to. */
static int file_for_row(appender *a, const vec_batch *b, uint32_t row, size_t *idx)
{
    size_t nparts = a->base->metadata.n_partition_columns;
    char **vals = tarn_calloc(nparts + 1, sizeof(char *));
    int rc = vals ? 0 : TARN_ENOMEM;
    for (uint32_t c = 0; rc == 0 && c < a->ncols; c++)
        if (a->part_of[c] >= 0)
            rc = part_value(&b->cols[c], row, &vals[a->part_of[c]]);
    if (rc != 0) {
        delta_strs_free(vals, nparts);
        return tarn_err_set(a->err, rc, "partition value of row %u", row);
    }
    for (size_t i = 0; i < a->nfiles; i++) {
        if (same_values(a->files[i].values, vals, nparts)) {
            delta_strs_free(vals, nparts);
            *idx = i;
            return 0;
        }
    }
    return part_open(a, vals, nparts, idx);
}

/* Checks that the batch's columns have the table's types. */
static int check_batch(appender *a, const vec_batch *b, size_t bi)
{
    if (b->ncols != a->ncols)
        return tarn_err_set(a->err, TARN_EINVAL, "batch %zu has %u columns, the table %u", bi,
                            b->ncols, a->ncols);
    for (uint32_t c = 0; c < a->ncols; c++) {
        const vec_type_info *x = &b->cols[c].type, *y = &a->types[c];
        if (x->id != y->id || x->list || x->precision != y->precision || x->scale != y->scale ||
            (x->id == VEC_TIMESTAMP && (x->unit != y->unit || x->utc != y->utc)))
            return tarn_err_set(a->err, TARN_EINVAL, "batch %zu, column %u: type %s, expected %s",
                                bi, c, vec_type_name(x->id), vec_type_name(y->id));
    }
    return 0;
}

/* Writes the live rows of `b`, each to its partition's file. */
static int write_batch(appender *a, const vec_batch *b)
{
    uint32_t live = vec_batch_live_count(b);
    size_t *fid = tarn_malloc((live + 1) * sizeof(size_t));
    uint32_t *rows = tarn_malloc((live + 1) * sizeof(uint32_t));
    vec_col *view = tarn_calloc(a->nwcols, sizeof(vec_col));
    int rc = fid && rows && view ? 0 : tarn_err_set(a->err, TARN_ENOMEM, "append");
    for (uint32_t i = 0; rc == 0 && i < live; i++)
        rc = file_for_row(a, b, b->sel_active ? b->sel[i] : i, &fid[i]);
    /* The data columns without the partition columns, as a view: the
     * column structs are copied, their arrays borrowed (never freed). */
    for (uint32_t k = 0; rc == 0 && k < a->nwcols; k++)
        view[k] = b->cols[a->data_of[k]];
    for (size_t f = 0; rc == 0 && f < a->nfiles; f++) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < live; i++)
            if (fid[i] == f)
                rows[n++] = b->sel_active ? b->sel[i] : i;
        if (n == 0)
            continue;
        vec_batch v = {.ncols = a->nwcols,
                       .len = b->len,
                       .cap = b->cap,
                       .cols = view,
                       .sel = rows,
                       .sel_count = n,
                       .sel_active = true};
        rc = pq_writer_write(a->files[f].w, &v, a->err);
    }
    tarn_free(fid);
    tarn_free(rows);
    tarn_free(view);
    return rc;
}

/* Finishes and uploads every file (upload first: until a commit names
 * them they are invisible). */
int delta_appender_upload(appender *a)
{
    for (size_t i = 0; i < a->nfiles; i++) {
        part_file *f = &a->files[i];
        uint8_t id[16];
        int rc = pq_writer_finish(f->w, a->err);
        if (rc == 0 && (rc = tarn_entropy_bytes(id, sizeof(id))) != 0)
            tarn_err_set(a->err, rc, "random file name");
        if (rc != 0)
            return rc;
        id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* a version 4 UUID */
        id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
        char rel[OBJSTORE_KEY_MAX + 1];
        int n = snprintf(rel, sizeof(rel),
                         "%spart-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                         "%02x%02x%02x%02x%02x%02x.snappy.parquet",
                         f->dir, id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], id[8],
                         id[9], id[10], id[11], id[12], id[13], id[14], id[15]);
        int m = snprintf(f->key, sizeof(f->key), "tables/%s/%s", a->name, rel);
        if (n < 0 || m < 0 || (size_t)m >= sizeof(f->key))
            return tarn_err_set(a->err, TARN_ETOOBIG, "data file key too long");
        if ((f->rel = tarn_strdup(rel)) == NULL)
            return tarn_err_set(a->err, TARN_ENOMEM, "append");
        rc = objstore_put(a->os, f->key, f->bytes.data, f->bytes.len, a->err);
        if (rc != 0)
            return tarn_err_wrap(a->err, rc, "uploading %s", f->key);
        f->uploaded = true;
        /* Only its size is needed from now on: a delete or a compaction
         * holds one file's bytes at a time, not all of them. */
        f->size_bytes = f->bytes.len;
        tarn_buf_free(&f->bytes);
    }
    return 0;
}

/* One add action line. */
static int add_line(const appender *a, const part_file *f, int64_t now_ms, bool data_change,
                    tarn_buf *out)
{
    tarn_buf path, stats;
    tarn_buf_init(&path, OBJSTORE_KEY_MAX * 3 + 1);
    tarn_buf_init(&stats, DELTA_LINE_BYTES_MAX);
    /* add.path is a URI: the key's own %XX escapes become %25XX. */
    int rc = delta_uri_escape(&path, f->rel, strlen(f->rel), "/=");
    if (rc == 0)
        rc = delta_stats_json(f->w, a->wcols, a->nwcols, &stats);
    if (rc == 0)
        rc = tarn_buf_append_str(out, "{\"add\":{\"path\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, (const char *)path.data, path.len);
    if (rc == 0)
        rc = tarn_buf_append_str(out, ",\"partitionValues\":{");
    for (size_t p = 0; rc == 0 && p < a->base->metadata.n_partition_columns; p++) {
        const char *col = a->base->metadata.partition_columns[p];
        rc = tarn_buf_append_str(out, p ? "," : "");
        if (rc == 0)
            rc = tarn_buf_append_json_str(out, col, strlen(col));
        if (rc == 0)
            rc = tarn_buf_append_byte(out, ':');
        if (rc == 0)
            rc = f->values[p] ? tarn_buf_append_json_str(out, f->values[p], strlen(f->values[p]))
                              : tarn_buf_append_str(out, "null");
    }
    if (rc == 0)
        rc = tarn_buf_printf(out,
                             "},\"size\":%zu,\"modificationTime\":%lld,\"dataChange\":%s,"
                             "\"stats\":",
                             f->size_bytes, (long long)now_ms, data_change ? "true" : "false");
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, (const char *)stats.data, stats.len);
    if (rc == 0)
        rc = tarn_buf_append_str(out, "}}\n");
    tarn_buf_free(&path);
    tarn_buf_free(&stats);
    return rc;
}

/* The commit's actions: commitInfo, then one add per file. readVersion
 * is the base the writer started from: with a blind append the catalog
 * may assign a later version, and these bytes, valid at any later version
 * (the adds name new files; nothing here depends on the version), become
 * that version's log file unchanged, as Delta's own writers keep
 * readVersion across a conflict retry. */
static int build_actions(const appender *a, const char *txn_id, tarn_buf *out)
{
    int64_t now = tarn_wall_ms(), rows = 0, bytes = 0;
    for (size_t i = 0; i < a->nfiles; i++) {
        rows += pq_writer_rows(a->files[i].w);
        bytes += (int64_t)a->files[i].size_bytes;
    }
    int rc = tarn_buf_printf(out,
                             "{\"commitInfo\":{\"timestamp\":%lld,\"operation\":\"WRITE\","
                             "\"operationParameters\":{\"mode\":\"Append\"},"
                             "\"operationMetrics\":{\"numFiles\":\"%zu\",\"numOutputRows\":"
                             "\"%lld\",\"numOutputBytes\":\"%lld\"},"
                             "\"readVersion\":%lld,\"isolationLevel\":\"WriteSerializable\","
                             "\"isBlindAppend\":true,\"txnId\":",
                             (long long)now, a->nfiles, (long long)rows, (long long)bytes,
                             (long long)a->base->version);
    if (rc == 0)
        rc = tarn_buf_append_json_str(out, txn_id, strlen(txn_id));
    if (rc == 0)
        rc = tarn_buf_append_str(out, "}}\n");
    for (size_t i = 0; rc == 0 && i < a->nfiles; i++)
        rc = add_line(a, &a->files[i], now, true, out);
    return rc == 0 ? 0 : tarn_err_set(a->err, rc, "building the commit");
}

int delta_appender_write(appender *a, const vec_batch *b, size_t bi)
{
    int rc = check_batch(a, b, bi);
    return rc == 0 ? write_batch(a, b) : rc;
}

int delta_appender_add_lines(const appender *a, int64_t now_ms, bool data_change, tarn_buf *out)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->nfiles; i++)
        rc = add_line(a, &a->files[i], now_ms, data_change, out);
    return rc;
}

/* Column types, partition positions and writer columns from the base. */
int delta_appender_init(appender *a)
{
    const delta_schema *s = &a->base->metadata.schema;
    a->ncols = s->ntop;
    a->part_of = tarn_calloc(a->ncols + 1, sizeof(int32_t));
    a->data_of = tarn_calloc(a->ncols + 1, sizeof(uint32_t));
    a->types = tarn_calloc(a->ncols + 1, sizeof(vec_type_info));
    a->wcols = tarn_calloc(a->ncols + 1, sizeof(pq_write_col));
    if (!a->part_of || !a->data_of || !a->types || !a->wcols)
        return tarn_err_set(a->err, TARN_ENOMEM, "append");
    for (uint32_t c = 0; c < a->ncols; c++) {
        const delta_field *fd = &s->fields[s->top[c]];
        int rc = delta_kind_vec_type(fd, &a->types[c]);
        if (rc != 0)
            return tarn_err_set(a->err, rc, "column %s: type %s cannot be written", fd->name,
                                delta_kind_name(fd->kind));
        a->part_of[c] = -1;
        for (size_t p = 0; p < a->base->metadata.n_partition_columns; p++)
            if (strcasecmp(a->base->metadata.partition_columns[p], fd->name) == 0)
                a->part_of[c] = (int32_t)p;
        if (a->part_of[c] >= 0 && !delta_partition_type_ok(a->types[c].id))
            return tarn_err_set(a->err, TARN_ENOTSUP, "partition column %s: type %s", fd->name,
                                delta_kind_name(fd->kind));
        if (a->part_of[c] >= 0)
            continue;
        a->data_of[a->nwcols] = c;
        a->wcols[a->nwcols++] = (pq_write_col){fd->name, a->types[c], fd->nullable};
    }
    return 0;
}

void delta_appender_free(appender *a, bool remove_files)
{
    for (size_t i = 0; i < a->nfiles; i++) {
        /* Best effort: a file left behind is referenced by nothing, so
         * invisible, and VACUUM removes it later. */
        if (remove_files && a->files[i].uploaded)
            (void)objstore_del(a->os, a->files[i].key, NULL);
        part_file_free(&a->files[i], a->base->metadata.n_partition_columns);
    }
    tarn_free(a->files);
    tarn_free(a->part_of);
    tarn_free(a->data_of);
    tarn_free(a->types);
    tarn_free(a->wcols);
}

/* Commits, rebasing on conflicts up to rebase_max times: an append reads
 * nothing of the table, so its actions are valid on any later version.
 * When the committer offers blind appends, the catalog does that rebase
 * itself in the same proposal (and refuses it after a metadata change,
 * which a client-side rebase could not see): one proposal per append
 * however many writers race, where rebasing costs one per version that
 * landed meanwhile. */
static int commit_rebasing(delta_committer *c, const appender *a, const char *txn_id,
                           const tarn_buf *actions, uint32_t rebase_max, int64_t *version,
                           bool *dup)
{
    int64_t base = a->base->version;
    if (rebase_max > 0 && c->commit_blind != NULL)
        return c->commit_blind(c->ctx, a->name, base, txn_id, (const char *)actions->data,
                               actions->len, version, dup, a->err);
    for (uint32_t attempt = 0;; attempt++) {
        int rc = c->commit(c->ctx, a->name, base, txn_id, (const char *)actions->data, actions->len,
                           version, dup, a->err);
        if (rc != TARN_ECONFLICT || attempt >= rebase_max)
            return rc;
        tarn_err_clear(a->err);
        base = *version;
    }
}

/* A fresh txn id: 24 hex digits of OS entropy. A failure is an error,
 * never a fixed id (two appends sharing an id would be one commit). */
int delta_txn_id_random(char *out, size_t cap, tarn_err *err)
{
    uint8_t b[12];
    int rc = tarn_entropy_bytes(b, sizeof(b));
    if (rc != 0)
        return tarn_err_set(err, rc, "random txn id");
    size_t n = 0;
    for (size_t i = 0; i < sizeof(b) && n + 3 <= cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", b[i]);
    return 0;
}

/* Writes and uploads the files, then builds the actions. */
static int prepare(appender *a, const vec_batch *batches, size_t nbatches, const char *txn_id,
                   tarn_buf *actions)
{
    int rc = delta_appender_init(a);
    for (size_t i = 0; rc == 0 && i < nbatches; i++) {
        rc = delta_appender_write(a, &batches[i], i);
    }
    if (rc == 0 && a->nfiles > 0)
        rc = delta_appender_upload(a);
    if (rc == 0 && a->nfiles > 0)
        rc = build_actions(a, txn_id, actions);
    return rc;
}

int delta_append(delta_committer *c, objstore *os, const char *name, const delta_snapshot *base,
                 const vec_batch *batches, size_t nbatches, const delta_append_opts *opts,
                 int64_t *version_out, tarn_err *err)
{
    static const delta_append_opts defaults = {NULL, 0, 0};
    opts = opts ? opts : &defaults;
    *version_out = base->version;
    char txn_id[DELTA_TXN_ID_MAX + 1];
    int rc = delta_name_check(name, err);
    if (rc == 0 && opts->txn_id != NULL &&
        (opts->txn_id[0] == '\0' || strlen(opts->txn_id) > DELTA_TXN_ID_MAX))
        rc = tarn_err_set(err, TARN_EINVAL, "txn id must have 1 to %d bytes", DELTA_TXN_ID_MAX);
    if (rc == 0 && opts->txn_id != NULL)
        snprintf(txn_id, sizeof(txn_id), "%s", opts->txn_id);
    else if (rc == 0)
        rc = delta_txn_id_random(txn_id, sizeof(txn_id), err);
    if (rc != 0)
        return rc;
    appender a = {.name = name, .base = base, .os = os, .err = err};
    tarn_buf actions;
    tarn_buf_init(&actions, DELTA_COMMIT_BYTES_MAX);
    rc = prepare(&a, batches, nbatches, txn_id, &actions);
    if (rc == 0 && a.nfiles > 0 && opts->crash_point == 1)
        rc = TARN_EIO; /* killed after the upload: no cleanup, no commit */
    bool attempted = rc == 0 && a.nfiles > 0 && opts->crash_point != 1, dup = false;
    if (attempted)
        rc = commit_rebasing(c, &a, txn_id, &actions, opts->rebase_max, version_out, &dup);
    bool committed = rc == 0 && a.nfiles > 0 && !dup;
    if (dup) {
        /* A retry of a commit that happened: the first attempt's files are
         * the ones referenced; this attempt's go. Its log file is written
         * by the first attempt or by delta_finish_pending_logs. */
        delta_appender_free(&a, true);
        tarn_buf_free(&actions);
        return 0;
    }
    if (committed && opts->crash_point == 2)
        rc = TARN_EIO; /* killed after the commit, before the log write */
    else if (committed)
        rc = delta_log_publish(c, os, name, *version_out, (const char *)actions.data, actions.len,
                               err);
    if (rc == 0 && committed)
        delta_checkpoint_maybe(c, os, name, *version_out);
    if (rc != 0 && committed && opts->crash_point != 2)
        tarn_err_wrap(err, rc,
                      "version %lld is committed; its log file is not written yet "
                      "(delta_finish_pending_logs writes it)",
                      (long long)*version_out);
    if (opts->crash_point != 0 && rc == TARN_EIO)
        tarn_err_set(err, rc, "crash point %d", opts->crash_point);
    /* Files of a commit that surely did not happen are removed at once.
     * When the outcome is unknown (a timeout: the commit may still apply)
     * or after a simulated crash they stay; vacuum removes them if no
     * version references them. */
    bool definite = rc == TARN_ECONFLICT || rc == TARN_ENOENT || rc == TARN_EINVAL ||
                    rc == TARN_ETOOBIG || rc == TARN_ENOMEM || !attempted;
    delta_appender_free(&a, rc != 0 && !committed && definite && opts->crash_point == 0);
    tarn_buf_free(&actions);
    return rc;
}
