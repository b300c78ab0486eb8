/*
 * delta/checkpoint.c: classic checkpoints (PROTOCOL.md "Checkpoints",
 * "Classic checkpoint", "Multi-part checkpoint"): one Parquet file, or p
 * part files, holding the reconciled actions of a version. Design note:
 * delta/README.md, "Checkpoints".
 *
 * Each row of a checkpoint holds one action: the struct column of its kind
 * (add, remove, metaData, protocol, txn) is non-null and the others are
 * null. The Parquet reader gives struct fields as dotted leaf columns
 * ("add.path"), lists as list columns ("metaData.partitionColumns.list.
 * element") and maps as two aligned list columns (".key_value.key",
 * ".key_value.value"). Each present action is turned back into the JSON
 * object a commit file would hold and parsed by the same delta_action_*
 * functions, so a checkpoint row is checked exactly like a commit line.
 *
 * Only the leaf columns below are read; others (stats_parsed, tags,
 * partitionValues_parsed, ...) are not even fetched. Legacy list and map
 * layouts ("bag.array_element", "map.key") are found by prefix and suffix
 * rather than by Spark's exact names.
 */
#include "delta/log_int.h"
#include "delta/source_int.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <stdio.h>
#include <string.h>

typedef enum cp_kind { CK_STR, CK_INT, CK_BOOL, CK_LIST, CK_MAP } cp_kind;

/* A field of an action; one '.' names a field of a nested struct. */
typedef struct cp_field {
    const char *name;
    cp_kind kind;
} cp_field;

#define DV_FIELDS                                                                                  \
    {"deletionVector.storageType", CK_STR}, {"deletionVector.pathOrInlineDv", CK_STR},             \
        {"deletionVector.offset", CK_INT}, {"deletionVector.sizeInBytes", CK_INT},                 \
    {                                                                                              \
        "deletionVector.cardinality", CK_INT                                                       \
    }

/* The first field of each action is non-null exactly when the row holds
 * that action (it is required by the protocol). */
static const cp_field add_fields[] = {{"path", CK_STR},
                                      {"partitionValues", CK_MAP},
                                      {"size", CK_INT},
                                      {"modificationTime", CK_INT},
                                      {"dataChange", CK_BOOL},
                                      {"stats", CK_STR},
                                      DV_FIELDS};
static const cp_field remove_fields[] = {{"path", CK_STR},        {"partitionValues", CK_MAP},
                                         {"size", CK_INT},        {"deletionTimestamp", CK_INT},
                                         {"dataChange", CK_BOOL}, DV_FIELDS};
static const cp_field meta_fields[] = {{"id", CK_STR},
                                       {"name", CK_STR},
                                       {"format.provider", CK_STR},
                                       {"schemaString", CK_STR},
                                       {"partitionColumns", CK_LIST},
                                       {"configuration", CK_MAP},
                                       {"createdTime", CK_INT}};
static const cp_field proto_fields[] = {{"minReaderVersion", CK_INT},
                                        {"minWriterVersion", CK_INT},
                                        {"readerFeatures", CK_LIST},
                                        {"writerFeatures", CK_LIST}};
static const cp_field txn_fields[] = {
    {"appId", CK_STR}, {"version", CK_INT}, {"lastUpdated", CK_INT}};

typedef enum cp_action_id { CA_ADD, CA_REMOVE, CA_META, CA_PROTO, CA_TXN, CA_COUNT } cp_action_id;

static const struct {
    const char *name;
    const cp_field *fields;
    size_t nfields;
} actions[CA_COUNT] = {
    {"add", add_fields, sizeof(add_fields) / sizeof(add_fields[0])},
    {"remove", remove_fields, sizeof(remove_fields) / sizeof(remove_fields[0])},
    {"metaData", meta_fields, sizeof(meta_fields) / sizeof(meta_fields[0])},
    {"protocol", proto_fields, sizeof(proto_fields) / sizeof(proto_fields[0])},
    {"txn", txn_fields, sizeof(txn_fields) / sizeof(txn_fields[0])},
};

#define CP_FIELDS_MAX 16
#define CP_COLS_MAX   (CA_COUNT * CP_FIELDS_MAX * 2)

/* One part being read: which batch column holds each field (-1: the file
 * lacks it; maps use [0] for keys and [1] for values). */
typedef struct cp_part {
    const char *key;
    tarn_err *err;
    int32_t pos[CA_COUNT][CP_FIELDS_MAX][2];
    uint32_t cols[CP_COLS_MAX]; /* leaf indexes scanned */
    uint32_t ncols;
} cp_part;

/* The checkpoint's actions, gathered over all parts. */
typedef struct cp_acc {
    delta_commit *c;
    size_t adds_cap, removes_cap, txns_cap;
} cp_acc;

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Adds leaf `leaf` to the scan (once) and returns its batch position. */
static int32_t scan_col(cp_part *p, uint32_t leaf)
{
    for (uint32_t i = 0; i < p->ncols; i++)
        if (p->cols[i] == leaf)
            return (int32_t)i;
    TARN_ASSERT(p->ncols < CP_COLS_MAX);
    p->cols[p->ncols] = leaf;
    return (int32_t)p->ncols++;
}

/* Finds the leaf columns of one field. A list is the one leaf under
 * "<action>.<field>."; a map is the two leaves under it ending ".key" and
 * ".value". */
static int resolve_field(cp_part *p, pq_file *f, const char *action, const cp_field *fd,
                         int32_t pos[2])
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", action, fd->name);
    size_t n = strlen(name);
    pos[0] = pos[1] = -1;
    for (uint32_t i = 0; i < pq_file_ncols(f); i++) {
        const pq_column_info *c = pq_file_column(f, i);
        bool exact = strcmp(c->name, name) == 0;
        bool under = strncmp(c->name, name, n) == 0 && c->name[n] == '.';
        int slot = -1;
        if (fd->kind <= CK_BOOL && exact)
            slot = 0;
        else if (fd->kind == CK_LIST && under)
            slot = 0;
        else if (fd->kind == CK_MAP && under)
            slot = has_suffix(c->name, ".key") ? 0 : has_suffix(c->name, ".value") ? 1 : -1;
        if (slot < 0)
            continue;
        /* A field nested deeper than the protocol's checkpoint schema
         * (lists of lists) is not one we can turn back into an action:
         * as unreadable, so the replay falls back to the JSON commits. */
        if (c->unsupported || c->max_rep > 1)
            return tarn_err_set(p->err, TARN_ENOTSUP,
                                "checkpoint %s: column %s is not readable as a checkpoint column",
                                p->key, c->name);
        if ((c->max_rep != 0) != (fd->kind >= CK_LIST) || pos[slot] >= 0)
            return tarn_err_set(p->err, TARN_ECORRUPT, "checkpoint %s: column %s: unexpected shape",
                                p->key, c->name);
        pos[slot] = scan_col(p, i);
    }
    if (fd->kind == CK_MAP && (pos[0] < 0) != (pos[1] < 0))
        return tarn_err_set(p->err, TARN_ECORRUPT, "checkpoint %s: map %s lacks its keys or values",
                            p->key, name);
    return 0;
}

static int resolve(cp_part *p, pq_file *f)
{
    p->ncols = 0;
    for (int a = 0; a < CA_COUNT; a++) {
        TARN_ASSERT(actions[a].nfields <= CP_FIELDS_MAX);
        for (size_t i = 0; i < actions[a].nfields; i++) {
            int rc = resolve_field(p, f, actions[a].name, &actions[a].fields[i], p->pos[a][i]);
            if (rc != 0)
                return rc;
        }
    }
    if (p->pos[CA_ADD][0][0] < 0)
        return tarn_err_set(p->err, TARN_ECORRUPT, "checkpoint %s: no add.path column", p->key);
    return 0;
}

static int bad_col(cp_part *p, const char *action, const cp_field *fd, const char *what)
{
    return tarn_err_set(p->err, TARN_ECORRUPT, "checkpoint %s: %s.%s: %s", p->key, action, fd->name,
                        what);
}

/* Row `row` of a primitive column as JSON (NULL result with rc 0: null). */
static int scalar_json(cp_part *p, const char *action, const cp_field *fd, const vec_col *c,
                       uint32_t row, json_t **out)
{
    *out = NULL;
    if (c->type.list)
        return bad_col(p, action, fd, "unexpected list column");
    if (!vec_col_is_valid(c, row))
        return 0;
    if (fd->kind == CK_STR) {
        if (!vec_type_is_var(c->type.id))
            return bad_col(p, action, fd, "expected a string column");
        const uint8_t *s;
        size_t len;
        vec_col_str(c, row, &s, &len);
        /* Not UTF-8 checked: the action parsers only compare and copy. */
        *out = json_stringn_nocheck((const char *)s, len);
    } else if (fd->kind == CK_BOOL) {
        if (c->type.id != VEC_BOOL)
            return bad_col(p, action, fd, "expected a boolean column");
        *out = json_boolean(((const uint8_t *)c->data)[row] != 0);
    } else {
        int64_t x;
        switch (c->type.id) {
        case VEC_I8:
            x = ((const int8_t *)c->data)[row];
            break;
        case VEC_I16:
            x = ((const int16_t *)c->data)[row];
            break;
        case VEC_I32:
            x = ((const int32_t *)c->data)[row];
            break;
        case VEC_I64:
            x = ((const int64_t *)c->data)[row];
            break;
        default:
            return bad_col(p, action, fd, "expected an integer column");
        }
        *out = json_integer(x);
    }
    return *out != NULL ? 0 : tarn_err_set(p->err, TARN_ENOMEM, "checkpoint %s", p->key);
}

/* Row `row` of a list of strings as a JSON array (NULL: a null list). */
static int list_json(cp_part *p, const char *action, const cp_field *fd, const vec_col *c,
                     uint32_t row, json_t **out)
{
    *out = NULL;
    if (!c->type.list || c->type.list_inner != 0 || !vec_type_is_var(c->type.id))
        return bad_col(p, action, fd, "expected a list of strings");
    if (!vec_col_is_valid(c, row))
        return 0;
    json_t *arr = json_array();
    int rc = arr ? 0 : TARN_ENOMEM;
    for (uint32_t e = c->list_offsets[row]; rc == 0 && e < c->list_offsets[row + 1]; e++) {
        json_t *v = NULL;
        if (vec_col_is_valid(c->elems, e)) {
            const uint8_t *s;
            size_t len;
            vec_col_str(c->elems, e, &s, &len);
            v = json_stringn_nocheck((const char *)s, len);
        } else {
            v = json_null();
        }
        if (v == NULL || json_array_append_new(arr, v) != 0)
            rc = TARN_ENOMEM;
    }
    if (rc != 0) {
        json_decref(arr);
        return tarn_err_set(p->err, TARN_ENOMEM, "checkpoint %s", p->key);
    }
    *out = arr;
    return 0;
}

/* Row `row` of a map (two aligned lists) as a JSON object. */
static int map_json(cp_part *p, const char *action, const cp_field *fd, const vec_col *k,
                    const vec_col *v, uint32_t row, json_t **out)
{
    *out = NULL;
    if (!k->type.list || !v->type.list || k->type.list_inner != 0 || v->type.list_inner != 0 ||
        !vec_type_is_var(k->type.id) || !vec_type_is_var(v->type.id))
        return bad_col(p, action, fd, "expected a map of strings");
    if (!vec_col_is_valid(k, row))
        return 0;
    uint32_t b = k->list_offsets[row], e = k->list_offsets[row + 1];
    if (b != v->list_offsets[row] || e != v->list_offsets[row + 1])
        return bad_col(p, action, fd, "keys and values do not align");
    json_t *obj = json_object();
    int rc = obj ? 0 : TARN_ENOMEM;
    for (uint32_t i = b; rc == 0 && i < e; i++) {
        if (!vec_col_is_valid(k->elems, i)) {
            json_decref(obj);
            return bad_col(p, action, fd, "a null map key");
        }
        const uint8_t *ks, *vs;
        size_t klen, vlen;
        vec_col_str(k->elems, i, &ks, &klen);
        json_t *x = json_null();
        if (vec_col_is_valid(v->elems, i)) {
            vec_col_str(v->elems, i, &vs, &vlen);
            x = json_stringn_nocheck((const char *)vs, vlen);
        }
        if (x == NULL || json_object_setn_new_nocheck(obj, (const char *)ks, klen, x) != 0)
            rc = TARN_ENOMEM;
    }
    if (rc != 0) {
        json_decref(obj);
        return tarn_err_set(p->err, TARN_ENOMEM, "checkpoint %s", p->key);
    }
    *out = obj;
    return 0;
}

/* Sets obj[name] = v, creating the struct for a dotted name ("format.
 * provider" -> {"format": {"provider": v}}). Takes `v`. */
static int set_field(json_t *obj, const char *name, json_t *v)
{
    const char *dot = strchr(name, '.');
    if (dot == NULL)
        return json_object_set_new(obj, name, v);
    char head[64];
    snprintf(head, sizeof(head), "%.*s", (int)(dot - name), name);
    json_t *sub = json_object_get(obj, head);
    if (sub == NULL) {
        sub = json_object();
        if (sub == NULL || json_object_set_new(obj, head, sub) != 0) {
            json_decref(v);
            return -1;
        }
    }
    return json_object_set_new(sub, dot + 1, v);
}

/* The JSON object of action `a` at `row`, or NULL (rc 0) when the row
 * holds another action. */
static int row_json(cp_part *p, const vec_batch *b, int a, uint32_t row, json_t **out)
{
    *out = NULL;
    if (p->pos[a][0][0] < 0)
        return 0;
    const vec_col *key = &b->cols[p->pos[a][0][0]];
    if (key->type.list || !vec_col_is_valid(key, row))
        return 0;
    json_t *obj = json_object();
    if (obj == NULL)
        return tarn_err_set(p->err, TARN_ENOMEM, "checkpoint %s", p->key);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < actions[a].nfields; i++) {
        const cp_field *fd = &actions[a].fields[i];
        const int32_t *pos = p->pos[a][i];
        if (pos[0] < 0)
            continue;
        json_t *v = NULL;
        if (fd->kind == CK_LIST)
            rc = list_json(p, actions[a].name, fd, &b->cols[pos[0]], row, &v);
        else if (fd->kind == CK_MAP)
            rc = map_json(p, actions[a].name, fd, &b->cols[pos[0]], &b->cols[pos[1]], row, &v);
        else
            rc = scalar_json(p, actions[a].name, fd, &b->cols[pos[0]], row, &v);
        if (rc == 0 && v != NULL && set_field(obj, fd->name, v) != 0)
            rc = tarn_err_set(p->err, TARN_ENOMEM, "checkpoint %s", p->key);
    }
    if (rc != 0) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

/* Parses one action object into the accumulated checkpoint. */
static int take_action(cp_part *p, int a, json_t *v, cp_acc *acc)
{
    delta_where w = {p->key, 0, actions[a].name, p->err};
    delta_commit *c = acc->c;
    if (c->nadds + c->nremoves + c->ntxns >= DELTA_FILES_MAX * 4)
        return tarn_err_set(p->err, TARN_ETOOBIG, "checkpoint %s: too many actions", p->key);
    if (a == CA_ADD || a == CA_REMOVE) {
        bool add = a == CA_ADD;
        delta_file_action **arr = add ? &c->adds : &c->removes;
        size_t *n = add ? &c->nadds : &c->nremoves;
        if (delta_grow(arr, add ? &acc->adds_cap : &acc->removes_cap, *n, sizeof(**arr)) != 0)
            return tarn_err_set(p->err, TARN_ENOMEM, "checkpoint %s", p->key);
        int rc = delta_action_file(&w, v, add, &(*arr)[*n]);
        *n += rc == 0;
        return rc;
    }
    if (a == CA_TXN) {
        if (delta_grow(&c->txns, &acc->txns_cap, c->ntxns, sizeof(*c->txns)) != 0)
            return tarn_err_set(p->err, TARN_ENOMEM, "checkpoint %s", p->key);
        int rc = delta_action_txn(&w, v, &c->txns[c->ntxns]);
        c->ntxns += rc == 0;
        return rc;
    }
    /* A checkpoint is one reconciled state: one protocol, one metaData. */
    bool proto = a == CA_PROTO;
    if ((proto && c->protocol) || (!proto && c->metadata))
        return delta_bad(&w, actions[a].name, "appears twice in the checkpoint");
    void *obj = tarn_calloc(1, proto ? sizeof(delta_protocol) : sizeof(delta_metadata));
    if (obj == NULL)
        return tarn_err_set(p->err, TARN_ENOMEM, "checkpoint %s", p->key);
    int rc = proto ? delta_action_protocol(&w, v, obj) : delta_action_metadata(&w, v, obj);
    if (rc != 0) {
        tarn_free(obj);
        return rc;
    }
    if (proto)
        c->protocol = obj;
    else
        c->metadata = obj;
    return 0;
}

static int take_batch(cp_part *p, const vec_batch *b, cp_acc *acc)
{
    for (uint32_t row = 0; row < b->len; row++) {
        for (int a = 0; a < CA_COUNT; a++) {
            json_t *v = NULL;
            int rc = row_json(p, b, a, row, &v);
            if (rc == 0 && v != NULL)
                rc = take_action(p, a, v, acc);
            json_decref(v);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* Reads one part into the accumulator. */
static int load_part(delta_table *t, cp_part *p, cp_acc *acc)
{
    delta_obj_src src;
    pq_file *f = NULL;
    pq_scan *sc = NULL;
    vec_batch b;
    memset(&b, 0, sizeof(b));
    int rc = delta_obj_src_open(delta_table_store(t), p->key, -1, &src, &f, p->err);
    if (rc != 0)
        return tarn_err_wrap(p->err, rc, "checkpoint %s", p->key);
    rc = resolve(p, f);
    if (rc == 0)
        rc = pq_scan_open(f, &(pq_scan_opts){.columns = p->cols, .ncols = p->ncols}, &sc, p->err);
    if (rc == 0 && (rc = pq_scan_batch_init(sc, &b)) != 0)
        tarn_err_set(p->err, rc, "checkpoint %s: batch", p->key);
    while (rc == 0) {
        rc = pq_scan_next(sc, &b, p->err);
        if (rc != 0 || b.len == 0)
            break;
        rc = take_batch(p, &b, acc);
    }
    vec_batch_free(&b);
    pq_scan_close(sc);
    pq_file_close(f);
    return rc;
}

int delta_checkpoint_load(delta_table *t, const delta_cp *cp, delta_replay *r, tarn_err *err)
{
    char key[OBJSTORE_KEY_MAX + 1];
    cp_acc acc;
    memset(&acc, 0, sizeof(acc));
    acc.c = tarn_calloc(1, sizeof(*acc.c));
    cp_part *p = tarn_calloc(1, sizeof(*p));
    int rc = p && acc.c ? 0 : tarn_err_set(err, TARN_ENOMEM, "checkpoint");
    if (rc == 0) {
        acc.c->version = cp->version;
        acc.c->timestamp_ms = acc.c->in_commit_timestamp_ms = -1;
    }
    for (uint32_t part = 1; rc == 0 && part <= cp->parts; part++) {
        if (cp->parts == 1)
            snprintf(key, sizeof(key), "%s_delta_log/%020lld.checkpoint.parquet",
                     delta_table_root(t), (long long)cp->version);
        else
            snprintf(key, sizeof(key), "%s_delta_log/%020lld.checkpoint.%010u.%010u.parquet",
                     delta_table_root(t), (long long)cp->version, part, cp->parts);
        p->key = key;
        p->err = err;
        rc = load_part(t, p, &acc);
        /* Listed complete, gone since (a cleanup racing this reader). */
        if (rc == TARN_ENOENT)
            tarn_err_wrap(err, rc, "checkpoint of version %lld: part %u of %u is missing",
                          (long long)cp->version, part, cp->parts);
    }
    /* The checkpoint applies as one commit: the state at cp->version. */
    if (rc == 0)
        rc = delta_replay_commit(r, acc.c, err);
    tarn_free(p);
    delta_commit_free(acc.c);
    return rc;
}
