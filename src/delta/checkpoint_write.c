/*
 * delta/checkpoint_write.c: writing classic checkpoints (PROTOCOL.md
 * "Checkpoints", "Checkpoint Schema") and `_last_checkpoint`. A checkpoint
 * of version v holds the reconciled state at v, one action per row:
 * protocol, metaData, the newest txn per appId, and every live add. Remove
 * tombstones are not written (our snapshots do not keep them; VACUUM of
 * Tarn's tables reads removals from the metadata service). Design note:
 * delta/README.md, "Writing checkpoints".
 *
 * The Parquet schema (Spark's, the fields we write), in pre-order; the
 * batch has one column per leaf and one VEC_BOOL per nullable struct
 * (parquet.h, "Nested schemas"):
 *
 *   | col | node                                   | type                |
 *   |  0  | txn (struct)                           | presence            |
 *   | 1-3 | appId, version, lastUpdated            | string, long, long  |
 *   |  4  | add (struct)                           | presence            |
 *   | 5-7 | path, partitionValues (map key, value) | string, list, list  |
 *   | 8-11| size, modificationTime, dataChange, stats | long, long, bool, string |
 *   | 12  | remove (struct), always null           | presence            |
 *   |13-19| path, deletionTimestamp, dataChange, extendedFileMetadata, partitionValues, size | |
 *   | 20  | metaData (struct)                      | presence            |
 *   |21-23| id, name, description                  | string              |
 *   | 24  | format (struct)                        | presence            |
 *   |25-27| provider, options (map)                | string, list, list  |
 *   |28-29| schemaString, partitionColumns (list)  | string, list        |
 *   |30-32| configuration (map), createdTime       | list, list, long    |
 *   | 33  | protocol (struct)                      | presence            |
 *   |34-35| minReaderVersion, minWriterVersion     | int, int            |
 */
#include "delta/log_int.h"
#include "delta/write_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

#define V_STR                                                                                      \
    {                                                                                              \
        .id = VEC_STRING                                                                           \
    }
#define V_I64                                                                                      \
    {                                                                                              \
        .id = VEC_I64                                                                              \
    }
#define V_I32                                                                                      \
    {                                                                                              \
        .id = VEC_I32                                                                              \
    }
#define V_BOOL                                                                                     \
    {                                                                                              \
        .id = VEC_BOOL                                                                             \
    }

static const pq_write_node cp_nodes[] = {
    {"txn", PQ_NODE_STRUCT, {0}, true, 3},
    {"appId", PQ_NODE_LEAF, V_STR, true, 0},
    {"version", PQ_NODE_LEAF, V_I64, true, 0},
    {"lastUpdated", PQ_NODE_LEAF, V_I64, true, 0},
    {"add", PQ_NODE_STRUCT, {0}, true, 6},
    {"path", PQ_NODE_LEAF, V_STR, true, 0},
    {"partitionValues", PQ_NODE_MAP, {0}, true, 2},
    {NULL, PQ_NODE_LEAF, V_STR, false, 0},
    {NULL, PQ_NODE_LEAF, V_STR, true, 0},
    {"size", PQ_NODE_LEAF, V_I64, true, 0},
    {"modificationTime", PQ_NODE_LEAF, V_I64, true, 0},
    {"dataChange", PQ_NODE_LEAF, V_BOOL, true, 0},
    {"stats", PQ_NODE_LEAF, V_STR, true, 0},
    {"remove", PQ_NODE_STRUCT, {0}, true, 6},
    {"path", PQ_NODE_LEAF, V_STR, true, 0},
    {"deletionTimestamp", PQ_NODE_LEAF, V_I64, true, 0},
    {"dataChange", PQ_NODE_LEAF, V_BOOL, true, 0},
    {"extendedFileMetadata", PQ_NODE_LEAF, V_BOOL, true, 0},
    {"partitionValues", PQ_NODE_MAP, {0}, true, 2},
    {NULL, PQ_NODE_LEAF, V_STR, false, 0},
    {NULL, PQ_NODE_LEAF, V_STR, true, 0},
    {"size", PQ_NODE_LEAF, V_I64, true, 0},
    {"metaData", PQ_NODE_STRUCT, {0}, true, 8},
    {"id", PQ_NODE_LEAF, V_STR, true, 0},
    {"name", PQ_NODE_LEAF, V_STR, true, 0},
    {"description", PQ_NODE_LEAF, V_STR, true, 0},
    {"format", PQ_NODE_STRUCT, {0}, true, 2},
    {"provider", PQ_NODE_LEAF, V_STR, true, 0},
    {"options", PQ_NODE_MAP, {0}, true, 2},
    {NULL, PQ_NODE_LEAF, V_STR, false, 0},
    {NULL, PQ_NODE_LEAF, V_STR, true, 0},
    {"schemaString", PQ_NODE_LEAF, V_STR, true, 0},
    {"partitionColumns", PQ_NODE_LIST, {0}, true, 1},
    {NULL, PQ_NODE_LEAF, V_STR, true, 0},
    {"configuration", PQ_NODE_MAP, {0}, true, 2},
    {NULL, PQ_NODE_LEAF, V_STR, false, 0},
    {NULL, PQ_NODE_LEAF, V_STR, true, 0},
    {"createdTime", PQ_NODE_LEAF, V_I64, true, 0},
    {"protocol", PQ_NODE_STRUCT, {0}, true, 2},
    {"minReaderVersion", PQ_NODE_LEAF, V_I32, true, 0},
    {"minWriterVersion", PQ_NODE_LEAF, V_I32, true, 0},
};

enum {
    C_TXN,
    C_TXN_APP,
    C_TXN_VERSION,
    C_TXN_UPDATED,
    C_ADD,
    C_ADD_PATH,
    C_ADD_PV_K,
    C_ADD_PV_V,
    C_ADD_SIZE,
    C_ADD_MTIME,
    C_ADD_DC,
    C_ADD_STATS,
    C_REMOVE,
    C_META = 20,
    C_META_ID,
    C_META_NAME,
    C_META_DESC,
    C_FORMAT,
    C_FORMAT_PROVIDER,
    C_FORMAT_OPT_K,
    C_FORMAT_OPT_V,
    C_META_SCHEMA,
    C_META_PARTS,
    C_META_CONF_K,
    C_META_CONF_V,
    C_META_CREATED,
    C_PROTO,
    C_PROTO_READER,
    C_PROTO_WRITER,
    C_COUNT
};

/* The vec type of each batch column. */
static vec_type_info col_type(int c)
{
    static const int lists[] = {C_ADD_PV_K,   C_ADD_PV_V,     C_REMOVE + 5,
                                C_REMOVE + 6, C_FORMAT_OPT_K, C_FORMAT_OPT_V,
                                C_META_PARTS, C_META_CONF_K,  C_META_CONF_V};
    static const int i64s[] = {C_TXN_VERSION, C_TXN_UPDATED, C_ADD_SIZE,    C_ADD_MTIME,
                               C_REMOVE + 2,  C_REMOVE + 7,  C_META_CREATED};
    static const int bools[] = {C_TXN,        C_ADD,  C_ADD_DC, C_REMOVE, C_REMOVE + 3,
                                C_REMOVE + 4, C_META, C_FORMAT, C_PROTO};
    vec_type_info t = {.id = VEC_STRING};
    for (size_t i = 0; i < TARN_ARRAY_LEN(lists); i++)
        t.list = t.list || lists[i] == c;
    for (size_t i = 0; i < TARN_ARRAY_LEN(i64s); i++)
        t.id = i64s[i] == c ? VEC_I64 : t.id;
    for (size_t i = 0; i < TARN_ARRAY_LEN(bools); i++)
        t.id = bools[i] == c ? VEC_BOOL : t.id;
    if (c == C_PROTO_READER || c == C_PROTO_WRITER)
        t.id = VEC_I32;
    return t;
}

#define CPW_BATCH_ROWS 1024

typedef struct cpw {
    vec_batch b;
    bool set[C_COUNT]; /* written in the current row */
    pq_writer *w;
    int64_t actions;
} cpw;

static int grow_elems(vec_col *c)
{
    vec_col *e = c->elems;
    return e->len < e->cap ? 0 : vec_col_grow(e, e->cap * 2 > 64 ? e->cap * 2 : 64);
}

static int put_null(cpw *x, int c)
{
    vec_col *col = &x->b.cols[c];
    uint32_t row = x->b.len;
    int rc = vec_col_set_null(col, row);
    if (rc != 0)
        return rc;
    if (col->type.list)
        return vec_col_list_end(col);
    if (vec_type_is_var(col->type.id))
        return vec_col_append_str(col, "", 0) == 0 ? vec_col_set_null(col, row) : TARN_ENOMEM;
    col->len = row + 1;
    return 0;
}

static int put_str(cpw *x, int c, const char *s)
{
    x->set[c] = true;
    if (s == NULL)
        return put_null(x, c);
    return vec_col_append_str(&x->b.cols[c], s, strlen(s));
}

static int put_int(cpw *x, int c, int64_t v)
{
    vec_col *col = &x->b.cols[c];
    x->set[c] = true;
    if (col->type.id == VEC_I64)
        ((int64_t *)col->data)[x->b.len] = v;
    else if (col->type.id == VEC_I32)
        ((int32_t *)col->data)[x->b.len] = (int32_t)v;
    else
        ((uint8_t *)col->data)[x->b.len] = v != 0;
    col->len = x->b.len + 1;
    return 0;
}

/* One list row of strings (values[i] NULL: a null element). */
static int put_list(cpw *x, int c, char *const *values, size_t n)
{
    vec_col *col = &x->b.cols[c];
    x->set[c] = true;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = grow_elems(col);
        if (rc == 0)
            rc = vec_col_append_str(col->elems, values[i] ? values[i] : "",
                                    values[i] ? strlen(values[i]) : 0);
        if (rc == 0 && values[i] == NULL)
            rc = vec_col_set_null(col->elems, col->elems->len - 1);
    }
    return rc == 0 ? vec_col_list_end(col) : rc;
}

static int put_map(cpw *x, int ck, char *const *keys, char *const *vals, size_t n)
{
    int rc = put_list(x, ck, keys, n);
    return rc == 0 ? put_list(x, ck + 1, vals, n) : rc;
}

/* Ends the row: every column not written is null. Flushes a full batch. */
static int row_end(cpw *x, tarn_err *err)
{
    int rc = 0;
    for (int c = 0; rc == 0 && c < C_COUNT; c++)
        if (!x->set[c])
            rc = put_null(x, c);
    memset(x->set, 0, sizeof(x->set));
    if (rc != 0)
        return tarn_err_set(err, rc, "checkpoint row");
    x->b.len++;
    x->actions++;
    if (x->b.len < x->b.cap)
        return 0;
    rc = pq_writer_write(x->w, &x->b, err);
    for (uint32_t c = 0; c < x->b.ncols; c++) {
        vec_col_reset(&x->b.cols[c]);
        if (x->b.cols[c].elems != NULL)
            vec_col_reset(x->b.cols[c].elems);
    }
    x->b.len = 0;
    return rc;
}

static int row_protocol(cpw *x, const delta_snapshot *s, tarn_err *err)
{
    put_int(x, C_PROTO, 1);
    put_int(x, C_PROTO_READER, s->protocol.min_reader_version);
    put_int(x, C_PROTO_WRITER, s->protocol.min_writer_version);
    return row_end(x, err);
}

static int row_metadata(cpw *x, const delta_snapshot *s, tarn_err *err)
{
    const delta_metadata *m = &s->metadata;
    put_int(x, C_META, 1);
    put_int(x, C_FORMAT, 1);
    int rc = put_str(x, C_META_ID, m->id);
    if (rc == 0)
        rc = put_str(x, C_META_NAME, m->name);
    if (rc == 0)
        rc = put_str(x, C_FORMAT_PROVIDER, "parquet");
    if (rc == 0)
        rc = put_map(x, C_FORMAT_OPT_K, NULL, NULL, 0);
    if (rc == 0)
        rc = put_str(x, C_META_SCHEMA, m->schema_string);
    if (rc == 0)
        rc = put_list(x, C_META_PARTS, m->partition_columns, m->n_partition_columns);
    if (rc == 0)
        rc = put_map(x, C_META_CONF_K, m->configuration.keys, m->configuration.vals,
                     m->configuration.count);
    if (rc == 0 && m->created_time_ms >= 0)
        rc = put_int(x, C_META_CREATED, m->created_time_ms);
    return rc == 0 ? row_end(x, err) : tarn_err_set(err, rc, "checkpoint metaData");
}

static int row_txn(cpw *x, const delta_txn *t, tarn_err *err)
{
    put_int(x, C_TXN, 1);
    int rc = put_str(x, C_TXN_APP, t->app_id);
    put_int(x, C_TXN_VERSION, t->version);
    if (rc == 0 && t->last_updated_ms >= 0)
        put_int(x, C_TXN_UPDATED, t->last_updated_ms);
    return rc == 0 ? row_end(x, err) : tarn_err_set(err, rc, "checkpoint txn");
}

static int row_add(cpw *x, const delta_snapshot *s, const delta_file *f, tarn_buf *path,
                   tarn_err *err)
{
    /* add.path is the URI form, as in a commit. */
    tarn_buf_reset(path);
    int rc = delta_uri_escape(path, f->path, strlen(f->path), "/=");
    if (rc == 0)
        rc = tarn_buf_append_byte(path, '\0');
    put_int(x, C_ADD, 1);
    if (rc == 0)
        rc = put_str(x, C_ADD_PATH, (const char *)path->data);
    if (rc == 0)
        rc = put_map(x, C_ADD_PV_K, s->metadata.partition_columns, f->part_values,
                     s->metadata.n_partition_columns);
    put_int(x, C_ADD_SIZE, f->size_bytes);
    put_int(x, C_ADD_MTIME, f->modification_time_ms);
    put_int(x, C_ADD_DC, f->data_change);
    if (rc == 0)
        rc = put_str(x, C_ADD_STATS, f->stats);
    return rc == 0 ? row_end(x, err) : tarn_err_set(err, rc, "checkpoint add %.200s", f->path);
}

static int sink(void *ctx, const void *data, size_t len, tarn_err *err)
{
    int rc = tarn_buf_append(ctx, data, len);
    return rc == 0 ? 0 : tarn_err_set(err, rc, "checkpoint of %zu bytes", len);
}

/* The checkpoint file's bytes for snapshot s. */
static int checkpoint_bytes(const delta_snapshot *s, tarn_buf *out, int64_t *actions, tarn_err *err)
{
    cpw x;
    memset(&x, 0, sizeof(x));
    vec_type_info types[C_COUNT];
    for (int c = 0; c < C_COUNT; c++)
        types[c] = col_type(c);
    tarn_buf path;
    tarn_buf_init(&path, OBJSTORE_KEY_MAX * 3 + 2);
    int rc = vec_batch_init(&x.b, types, C_COUNT, CPW_BATCH_ROWS);
    if (rc != 0)
        rc = tarn_err_set(err, rc, "checkpoint batch");
    else
        rc = pq_writer_open(&(pq_writer_opts){.nodes = cp_nodes,
                                              .nnodes = TARN_ARRAY_LEN(cp_nodes),
                                              .sink = sink,
                                              .sink_ctx = out,
                                              .codec = PQ_WRITE_SNAPPY,
                                              .name = "checkpoint"},
                            &x.w, err);
    if (rc == 0)
        rc = row_protocol(&x, s, err);
    if (rc == 0)
        rc = row_metadata(&x, s, err);
    for (size_t i = 0; rc == 0 && i < s->ntxns; i++)
        rc = row_txn(&x, &s->txns[i], err);
    for (size_t i = 0; rc == 0 && i < s->nfiles; i++)
        rc = row_add(&x, s, &s->files[i], &path, err);
    if (rc == 0 && x.b.len > 0)
        rc = pq_writer_write(x.w, &x.b, err);
    if (rc == 0)
        rc = pq_writer_finish(x.w, err);
    *actions = x.actions;
    pq_writer_close(x.w);
    vec_batch_free(&x.b);
    tarn_buf_free(&path);
    return rc;
}

int delta_checkpoint_write(objstore *os, const char *root_key, const delta_snapshot *s,
                           tarn_err *err)
{
    char key[OBJSTORE_KEY_MAX + 1];
    const char *sep = root_key[0] != '\0' && root_key[strlen(root_key) - 1] != '/' ? "/" : "";
    tarn_buf bytes;
    tarn_buf_init(&bytes, DELTA_DATA_FILE_BYTES_MAX);
    int64_t actions = 0;
    int rc = checkpoint_bytes(s, &bytes, &actions, err);
    /* The checkpoint first, then the hint that names it: a reader that
     * sees the hint finds the file. objstore_put replaces atomically, so a
     * second writer of the same version leaves one whole file. */
    snprintf(key, sizeof(key), "%s%s_delta_log/%020lld.checkpoint.parquet", root_key, sep,
             (long long)s->version);
    if (rc == 0)
        rc = objstore_put(os, key, bytes.data, bytes.len, err);
    /* The hint only moves forward: a slow writer of an older checkpoint
     * does not send readers back (a race between the read and the put can,
     * which costs readers time, never correctness). */
    delta_table *t = NULL;
    bool newer = false;
    if (rc == 0 && delta_table_open_root(os, root_key, &t, NULL) == 0)
        newer = delta_last_checkpoint(t) > s->version;
    delta_table_close(t);
    if (rc == 0 && !newer) {
        char hint[256];
        int n = snprintf(hint, sizeof(hint),
                         "{\"version\":%lld,\"size\":%lld,\"sizeInBytes\":%zu,"
                         "\"numOfAddFiles\":%zu}",
                         (long long)s->version, (long long)actions, bytes.len, s->nfiles);
        snprintf(key, sizeof(key), "%s%s_delta_log/_last_checkpoint", root_key, sep);
        rc = objstore_put(os, key, hint, (size_t)n, err);
    }
    tarn_buf_free(&bytes);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "checkpoint of version %lld", (long long)s->version);
    return 0;
}

void delta_checkpoint_maybe(delta_committer *c, objstore *os, const char *name, int64_t version)
{
    int64_t every =
        c->checkpoint_interval != 0 ? c->checkpoint_interval : DELTA_CHECKPOINT_INTERVAL_DEFAULT;
    if (version <= 0 || every < 0 || version % every != 0)
        return;
    tarn_err err = TARN_ERR_INIT;
    delta_snapshot *s = NULL;
    int rc = delta_managed_snapshot_at_version(c, os, name, version, &s, &err);
    char root[DELTA_TABLE_NAME_MAX + 16];
    snprintf(root, sizeof(root), "tables/%s", name);
    if (rc == 0)
        rc = delta_checkpoint_write(os, root, s, &err);
    delta_snapshot_free(s);
    /* A checkpoint is an optimisation: the commit stands without it. */
    if (rc != 0)
        TARN_LOGF(TARN_LOG_WARN, "delta", "checkpoint not written", TARN_F_STR("table", name),
                  TARN_F_INT("version", version), TARN_F_ERR(rc),
                  TARN_F_STR("reason", tarn_err_msg(&err)));
}
