/*
 * delta/checkpoint_write.c: writing classic checkpoints, single-file and
 * multi-part (PROTOCOL.md "Checkpoints", "Checkpoint Schema"), and
 * `_last_checkpoint`. A checkpoint of version v holds the reconciled state
 * at v, one action per row: protocol, metaData, the newest txn per appId,
 * every live add, and the remove tombstones that have not expired (their
 * deletionTimestamp is within delta.deletedFileRetentionDuration of now),
 * so that VACUUM and other readers still know those files were removed.
 * A multi-part checkpoint spreads the rows over its parts by Spark's hash
 * of the action's path, so a retried write gives every part the same rows.
 * Design note: delta/README.md, "Writing checkpoints".
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
 *   | 12  | remove (struct)                        | presence            |
 *   |13-19| path, deletionTimestamp, dataChange, extendedFileMetadata, | string, long, bool, |
 *   |     | partitionValues (map key, value), size | bool, list, list, long |
 *   | 20  | metaData (struct)                      | presence            |
 *   |21-23| id, name, description                  | string              |
 *   | 24  | format (struct)                        | presence            |
 *   |25-27| provider, options (map)                | string, list, list  |
 *   |28-29| schemaString, partitionColumns (list)  | string, list        |
 *   |30-32| configuration (map), createdTime       | list, list, long    |
 *   | 33  | protocol (struct)                      | presence            |
 *   |34-35| minReaderVersion, minWriterVersion     | int, int            |
 *   |36-37| readerFeatures, writerFeatures (lists) | list, list          |
 */
#include "delta/log_int.h"
#include "delta/write_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    {"protocol", PQ_NODE_STRUCT, {0}, true, 4},
    {"minReaderVersion", PQ_NODE_LEAF, V_I32, true, 0},
    {"minWriterVersion", PQ_NODE_LEAF, V_I32, true, 0},
    {"readerFeatures", PQ_NODE_LIST, {0}, true, 1},
    {NULL, PQ_NODE_LEAF, V_STR, true, 0},
    {"writerFeatures", PQ_NODE_LIST, {0}, true, 1},
    {NULL, PQ_NODE_LEAF, V_STR, true, 0},
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
    C_RM_PATH,
    C_RM_DELETED,
    C_RM_DC,
    C_RM_EXT,
    C_RM_PV_K,
    C_RM_PV_V,
    C_RM_SIZE,
    C_META,
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
    C_PROTO_RFEAT,
    C_PROTO_WFEAT,
    C_COUNT
};

/* The vec type of each batch column. */
static vec_type_info col_type(int c)
{
    static const int lists[] = {C_ADD_PV_K,     C_ADD_PV_V,     C_RM_PV_K,    C_RM_PV_V,
                                C_FORMAT_OPT_K, C_FORMAT_OPT_V, C_META_PARTS, C_META_CONF_K,
                                C_META_CONF_V,  C_PROTO_RFEAT,  C_PROTO_WFEAT};
    static const int i64s[] = {C_TXN_VERSION, C_TXN_UPDATED, C_ADD_SIZE,    C_ADD_MTIME,
                               C_RM_DELETED,  C_RM_SIZE,     C_META_CREATED};
    static const int bools[] = {C_TXN,    C_ADD,  C_ADD_DC, C_REMOVE, C_RM_DC,
                                C_RM_EXT, C_META, C_FORMAT, C_PROTO};
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
    /* Table features (reader version 3, writer version 7): without them a
     * reader could not tell what the table needs. Absent stays null. */
    const delta_protocol *p = &s->protocol;
    int rc = 0;
    if (p->reader_features != NULL)
        rc = put_list(x, C_PROTO_RFEAT, p->reader_features, p->n_reader_features);
    if (rc == 0 && p->writer_features != NULL)
        rc = put_list(x, C_PROTO_WFEAT, p->writer_features, p->n_writer_features);
    if (rc != 0)
        return tarn_err_set(err, rc, "checkpoint protocol");
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

TARN_STATIC_ASSERT(C_META == 20 && C_COUNT == 38, "the column table at the top of this file");

/* add.path and remove.path are the URI form, as in a commit. */
static int uri_path(tarn_buf *path, const char *decoded)
{
    tarn_buf_reset(path);
    int rc = delta_uri_escape(path, decoded, strlen(decoded), "/=");
    return rc == 0 ? tarn_buf_append_byte(path, '\0') : rc;
}

static int row_add(cpw *x, const delta_snapshot *s, const delta_file *f, const char *path,
                   tarn_err *err)
{
    put_int(x, C_ADD, 1);
    int rc = put_str(x, C_ADD_PATH, path);
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

/* A tombstone: no stats or tags (PROTOCOL.md: checkpoint removes serve
 * VACUUM only). extendedFileMetadata says partitionValues and size are
 * there. */
static int row_remove(cpw *x, const delta_file_action *a, const char *path, tarn_err *err)
{
    bool extended = a->size_bytes >= 0;
    put_int(x, C_REMOVE, 1);
    int rc = put_str(x, C_RM_PATH, path);
    if (a->deletion_timestamp_ms >= 0)
        put_int(x, C_RM_DELETED, a->deletion_timestamp_ms);
    put_int(x, C_RM_DC, a->data_change);
    put_int(x, C_RM_EXT, extended);
    if (rc == 0 && extended)
        rc = put_map(x, C_RM_PV_K, a->partition_values.keys, a->partition_values.vals,
                     a->partition_values.count);
    if (extended)
        put_int(x, C_RM_SIZE, a->size_bytes);
    return rc == 0 ? row_end(x, err) : tarn_err_set(err, rc, "checkpoint remove %.200s", a->path);
}

static int sink(void *ctx, const void *data, size_t len, tarn_err *err)
{
    int rc = tarn_buf_append(ctx, data, len);
    return rc == 0 ? 0 : tarn_err_set(err, rc, "checkpoint of %zu bytes", len);
}

/* ---- which part each action goes to ---- */

static uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static uint32_t mix_k1(uint32_t k1)
{
    return rotl32(k1 * 0xcc9e2d51u, 15) * 0x1b873593u;
}

static uint32_t mix_h1(uint32_t h1, uint32_t k1)
{
    return rotl32(h1 ^ k1, 13) * 5 + 0xe6546b64u;
}

/* Spark's Murmur3_x86_32.hashUnsafeBytes: the standard body over 4-byte
 * little-endian words, but each tail byte (sign-extended) mixed as a word
 * of its own. */
static int32_t spark_murmur3(const char *s, size_t len, uint32_t seed)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t aligned = len - len % 4;
    uint32_t h1 = seed;
    for (size_t i = 0; i < aligned; i += 4) {
        uint32_t w = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
                     (uint32_t)p[i + 3] << 24;
        h1 = mix_h1(h1, mix_k1(w));
    }
    for (size_t i = aligned; i < len; i++)
        h1 = mix_h1(h1, mix_k1((uint32_t)(int32_t)(int8_t)p[i]));
    h1 ^= (uint32_t)len;
    h1 ^= h1 >> 16;
    h1 *= 0x85ebca6bu;
    h1 ^= h1 >> 13;
    h1 *= 0xc2b2ae35u;
    h1 ^= h1 >> 16;
    return (int32_t)h1;
}

/* The part (0-based) of an action with URI path `path` (NULL for
 * protocol, metaData, txn): Spark's hash partitioning of the checkpoint
 * by path, pmod(murmur3(path, 42), parts), a null path hashing to the
 * seed. Deterministic, so racing writers of one checkpoint agree. */
static uint32_t part_of(const char *path, uint32_t parts)
{
    int32_t h = path ? spark_murmur3(path, strlen(path), 42) : 42;
    int64_t m = (int64_t)h % (int64_t)parts;
    return (uint32_t)(m < 0 ? m + parts : m);
}

/* ---- the checkpoint ---- */

typedef struct cp_plan {
    const delta_snapshot *s;
    const delta_file_action **tomb; /* the tombstones kept */
    size_t ntomb;
    uint32_t parts;
    uint32_t *file_part; /* per live file, then per kept tombstone */
    uint32_t meta_part;  /* of protocol, metaData and txns */
    int64_t actions;
} cp_plan;

static void plan_free(cp_plan *p)
{
    tarn_free(p->tomb);
    tarn_free(p->file_part);
}

/* Which tombstones stay (deleted after now - retention; PROTOCOL.md:
 * "files that were recently removed and have not yet expired"; a remove
 * without deletionTimestamp counts as removed at 0), how many parts, and
 * the part of each action. */
/* Writer features whose state a checkpoint must carry and a snapshot of
 * ours does not hold (domainMetadata actions; v2Checkpoint's
 * checkpointMetadata): a checkpoint without it would lose table state. */
static int check_features(const delta_protocol *pr, tarn_err *err)
{
    static const char *const unkept[] = {"domainMetadata", "v2Checkpoint"};
    for (size_t i = 0; pr->writer_features != NULL && i < pr->n_writer_features; i++)
        for (size_t k = 0; k < TARN_ARRAY_LEN(unkept); k++)
            if (strcmp(pr->writer_features[i], unkept[k]) == 0)
                return tarn_err_set(err, TARN_ENOTSUP,
                                    "writer feature %s: its state is not kept in our snapshots, "
                                    "so we write no checkpoint of this table",
                                    unkept[k]);
    return 0;
}

static int plan_make(const delta_snapshot *s, const delta_checkpoint_opts *o, cp_plan *p,
                     tarn_err *err)
{
    memset(p, 0, sizeof(*p));
    p->s = s;
    int64_t retention = 0;
    int rc = check_features(&s->protocol, err);
    if (rc == 0)
        rc = delta_tombstone_retention(&s->metadata, &retention, err);
    if (rc != 0)
        return rc;
    int64_t now = o->now_ms != 0 ? o->now_ms : tarn_wall_ms();
    int64_t cutoff = now - retention;
    p->tomb = tarn_calloc(s->ntombstones + 1, sizeof(*p->tomb));
    p->file_part = tarn_calloc(s->nfiles + s->ntombstones + 1, sizeof(uint32_t));
    if (p->tomb == NULL || p->file_part == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "checkpoint plan");
    for (size_t i = 0; i < s->ntombstones; i++) {
        int64_t t = s->tombstones[i].deletion_timestamp_ms;
        if ((t >= 0 ? t : 0) > cutoff)
            p->tomb[p->ntomb++] = &s->tombstones[i];
    }
    p->actions = 2 + (int64_t)s->ntxns + (int64_t)s->nfiles + (int64_t)p->ntomb;
    int64_t parts = o->parts;
    if (parts == 0 && o->part_actions > 0)
        parts = (p->actions + o->part_actions - 1) / o->part_actions;
    if (parts > DELTA_CHECKPOINT_PARTS_MAX)
        return tarn_err_set(err, TARN_EINVAL, "a checkpoint of %lld parts (most %d)",
                            (long long)parts, DELTA_CHECKPOINT_PARTS_MAX);
    p->parts = parts > 1 ? (uint32_t)parts : 1;
    p->meta_part = part_of(NULL, p->parts);
    tarn_buf path;
    tarn_buf_init(&path, OBJSTORE_KEY_MAX * 3 + 2);
    for (size_t i = 0; rc == 0 && p->parts > 1 && i < s->nfiles + p->ntomb; i++) {
        const char *d = i < s->nfiles ? s->files[i].path : p->tomb[i - s->nfiles]->path;
        rc = uri_path(&path, d);
        if (rc == 0)
            p->file_part[i] = part_of((const char *)path.data, p->parts);
    }
    tarn_buf_free(&path);
    return rc == 0 ? 0 : tarn_err_set(err, rc, "checkpoint plan");
}

/* The rows of part `part` (every row when the checkpoint has one part). */
static int part_rows(cpw *x, const cp_plan *p, uint32_t part, tarn_err *err)
{
    const delta_snapshot *s = p->s;
    tarn_buf path;
    tarn_buf_init(&path, OBJSTORE_KEY_MAX * 3 + 2);
    int rc = 0;
    if (p->meta_part == part) {
        rc = row_protocol(x, s, err);
        if (rc == 0)
            rc = row_metadata(x, s, err);
        for (size_t i = 0; rc == 0 && i < s->ntxns; i++)
            rc = row_txn(x, &s->txns[i], err);
    }
    for (size_t i = 0; rc == 0 && i < s->nfiles + p->ntomb; i++) {
        if (p->file_part[i] != part)
            continue;
        const char *d = i < s->nfiles ? s->files[i].path : p->tomb[i - s->nfiles]->path;
        if (uri_path(&path, d) != 0)
            rc = tarn_err_set(err, TARN_ENOMEM, "checkpoint path");
        else if (i < s->nfiles)
            rc = row_add(x, s, &s->files[i], (const char *)path.data, err);
        else
            rc = row_remove(x, p->tomb[i - s->nfiles], (const char *)path.data, err);
    }
    tarn_buf_free(&path);
    return rc;
}

/* The bytes of one checkpoint file (part `part` of the plan). */
static int part_bytes(const cp_plan *p, uint32_t part, tarn_buf *out, tarn_err *err)
{
    cpw x;
    memset(&x, 0, sizeof(x));
    vec_type_info types[C_COUNT];
    for (int c = 0; c < C_COUNT; c++)
        types[c] = col_type(c);
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
        rc = part_rows(&x, p, part, err);
    if (rc == 0 && x.b.len > 0)
        rc = pq_writer_write(x.w, &x.b, err);
    if (rc == 0)
        rc = pq_writer_finish(x.w, err);
    pq_writer_close(x.w);
    vec_batch_free(&x.b);
    return rc;
}

static void part_key(char *key, size_t cap, const char *root_key, const char *sep, int64_t version,
                     uint32_t part, uint32_t parts)
{
    if (parts == 1)
        snprintf(key, cap, "%s%s_delta_log/%020lld.checkpoint.parquet", root_key, sep,
                 (long long)version);
    else
        snprintf(key, cap, "%s%s_delta_log/%020lld.checkpoint.%010u.%010u.parquet", root_key, sep,
                 (long long)version, part + 1, parts);
}

/* `_last_checkpoint`, unless it already names a newer checkpoint: the
 * hint only moves forward, so a slow writer of an older checkpoint does
 * not send readers back (a race between the read and the put can, which
 * costs readers time, never correctness). */
static int put_hint(objstore *os, const char *root_key, const char *sep, const cp_plan *p,
                    size_t bytes, tarn_err *err)
{
    delta_table *t = NULL;
    bool newer = false;
    if (delta_table_open_root(os, root_key, &t, NULL) == 0)
        newer = delta_last_checkpoint(t, NULL) > p->s->version;
    delta_table_close(t);
    if (newer)
        return 0;
    char hint[256], key[OBJSTORE_KEY_MAX + 1], parts[32] = "";
    if (p->parts > 1)
        snprintf(parts, sizeof(parts), ",\"parts\":%u", p->parts);
    int n = snprintf(hint, sizeof(hint),
                     "{\"version\":%lld,\"size\":%lld,\"sizeInBytes\":%zu,"
                     "\"numOfAddFiles\":%zu%s}",
                     (long long)p->s->version, (long long)p->actions, bytes, p->s->nfiles, parts);
    snprintf(key, sizeof(key), "%s%s_delta_log/_last_checkpoint", root_key, sep);
    return objstore_put(os, key, hint, (size_t)n, err);
}

int delta_checkpoint_write(objstore *os, const char *root_key, const delta_snapshot *s,
                           const delta_checkpoint_opts *opts, tarn_err *err)
{
    static const delta_checkpoint_opts none;
    const char *sep = root_key[0] != '\0' && root_key[strlen(root_key) - 1] != '/' ? "/" : "";
    cp_plan p;
    int rc = plan_make(s, opts ? opts : &none, &p, err);
    /* Every part first, then the hint that names them: a reader sees the
     * checkpoint only once all its parts are listed. objstore_put
     * replaces atomically, so a second writer of the same version leaves
     * whole files, and (the parts' rows being chosen by hash) the same
     * ones. One part is in memory at a time. */
    size_t total = 0;
    for (uint32_t part = 0; rc == 0 && part < p.parts; part++) {
        char key[OBJSTORE_KEY_MAX + 1];
        tarn_buf bytes;
        tarn_buf_init(&bytes, DELTA_DATA_FILE_BYTES_MAX);
        rc = part_bytes(&p, part, &bytes, err);
        part_key(key, sizeof(key), root_key, sep, s->version, part, p.parts);
        if (rc == 0)
            rc = objstore_put(os, key, bytes.data, bytes.len, err);
        total += bytes.len;
        tarn_buf_free(&bytes);
    }
    if (rc == 0)
        rc = put_hint(os, root_key, sep, &p, total, err);
    plan_free(&p);
    if (rc != 0)
        return tarn_err_wrap(err, rc, "checkpoint of version %lld", (long long)s->version);
    return 0;
}

/* ---- delta.deletedFileRetentionDuration ---- */

static const struct {
    const char *unit;
    int64_t ms;
} interval_units[] = {
    {"week", 7 * 86400000LL}, {"day", 86400000LL}, {"hour", 3600000LL}, {"minute", 60000LL},
    {"second", 1000LL},       {"millisecond", 1},  {"msec", 1},         {"min", 60000LL},
    {"sec", 1000LL},
};

/* "interval 1 week", "interval 2 days 12 hours", "1 week" (Spark's
 * CalendarInterval strings without months: a month has no fixed length). */
static bool interval_parse(const char *s, int64_t *out)
{
    const char *p = s;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "interval", 8) == 0 && (p[8] == ' ' || p[8] == '\0'))
        p += 8;
    int64_t total = 0;
    int terms = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        char *end = NULL;
        long long n = strtoll(p, &end, 10);
        if (end == p || n < 0 || n > 1000000000LL || *end != ' ')
            return false;
        p = end;
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        size_t base = len > 1 && (p[len - 1] == 's' || p[len - 1] == 'S') ? len - 1 : len;
        size_t u = 0;
        while (u < TARN_ARRAY_LEN(interval_units) &&
               !(strlen(interval_units[u].unit) == base &&
                 strncasecmp(p, interval_units[u].unit, base) == 0) &&
               !(strlen(interval_units[u].unit) == len &&
                 strncasecmp(p, interval_units[u].unit, len) == 0))
            u++;
        if (u == TARN_ARRAY_LEN(interval_units) || n > INT64_MAX / 4 / interval_units[u].ms)
            return false;
        total += n * interval_units[u].ms;
        if (total > INT64_MAX / 4)
            return false;
        terms++;
        p += len;
    }
    *out = total;
    return terms > 0;
}

int delta_tombstone_retention(const delta_metadata *m, int64_t *out_ms, tarn_err *err)
{
    const char *v = NULL;
    *out_ms = DELTA_TOMBSTONE_RETENTION_MS_DEFAULT;
    if (!delta_map_get(&m->configuration, "delta.deletedFileRetentionDuration", &v) || v == NULL)
        return 0;
    if (!interval_parse(v, out_ms))
        return tarn_err_set(err, TARN_EINVAL,
                            "delta.deletedFileRetentionDuration \"%.100s\" is not an interval "
                            "such as \"interval 1 week\" (weeks, days, hours, minutes, seconds, "
                            "milliseconds)",
                            v);
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
    delta_checkpoint_opts o = {.part_actions = DELTA_CHECKPOINT_PART_ACTIONS_DEFAULT};
    if (rc == 0)
        rc = delta_checkpoint_write(os, root, s, &o, &err);
    delta_snapshot_free(s);
    /* A checkpoint is an optimisation: the commit stands without it. */
    if (rc != 0)
        TARN_LOGF(TARN_LOG_WARN, "delta", "checkpoint not written", TARN_F_STR("table", name),
                  TARN_F_INT("version", version), TARN_F_ERR(rc),
                  TARN_F_STR("reason", tarn_err_msg(&err)));
}
