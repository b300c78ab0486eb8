/*
 * delta/action.c: parsing the actions of a JSON commit file
 * (PROTOCOL.md "Delta Log Entries" and "Actions") into a delta_commit.
 * Design note: delta/README.md, "Actions we read".
 *
 * A commit file is newline-delimited JSON, one action object per line. We
 * read protocol, metaData, add, remove, txn and commitInfo; cdc,
 * domainMetadata, checkpointMetadata, sidecar and actions we do not know
 * are skipped ("clients must ignore unrecognized actions"), as are
 * unknown fields inside known actions.
 */
#include "delta/delta_int.h"

#include "base/alloc.h"
#include "base/hash.h"

#include <stdio.h>
#include <string.h>

int delta_path_decode(const char *s, char **out, tarn_err *err)
{
    size_t n = strlen(s);
    if (n > 3 * DELTA_PATH_BYTES_MAX)
        return tarn_err_set(err, TARN_ECORRUPT, "path of %zu bytes is too long", n);
    char *d = tarn_malloc(n + 1);
    if (d == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "decoding path");
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            d[j++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? tarn_hex_digit(s[i + 1]) : -1;
        int lo = hi >= 0 ? tarn_hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            tarn_free(d);
            return tarn_err_set(err, TARN_ECORRUPT, "path \"%.200s\": bad %%-escape at byte %zu", s,
                                i);
        }
        d[j++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[j] = '\0';
    if (j > DELTA_PATH_BYTES_MAX) {
        tarn_free(d);
        return tarn_err_set(err, TARN_ECORRUPT, "path of %zu bytes is too long", j);
    }
    *out = d;
    return 0;
}

int delta_action_protocol(const delta_where *w, json_t *v, delta_protocol *out)
{
    memset(out, 0, sizeof(*out));
    int64_t r = 0, wr = 0;
    int rc = delta_json_i64(w, v, "minReaderVersion", true, 1, &r);
    if (rc == 0)
        rc = delta_json_i64(w, v, "minWriterVersion", true, 1, &wr);
    if (rc == 0 && (r > INT32_MAX || wr > INT32_MAX))
        rc = delta_bad(w, "minReaderVersion", "out of range");
    if (rc == 0)
        rc =
            delta_json_strs(w, v, "readerFeatures", &out->reader_features, &out->n_reader_features);
    if (rc == 0)
        rc =
            delta_json_strs(w, v, "writerFeatures", &out->writer_features, &out->n_writer_features);
    out->min_reader_version = (int32_t)r;
    out->min_writer_version = (int32_t)wr;
    if (rc != 0)
        delta_protocol_free(out);
    return rc;
}

/* metaData.format.provider must be parquet: other providers never existed
 * in practice, and reading them as Parquet would be wrong. */
static int check_format(const delta_where *w, json_t *v)
{
    json_t *f = json_object_get(v, "format");
    if (f == NULL)
        return 0;
    if (!json_is_object(f))
        return delta_bad(w, "format", "expected an object");
    json_t *p = json_object_get(f, "provider");
    if (p != NULL && (!json_is_string(p) || strcmp(json_string_value(p), "parquet") != 0))
        return tarn_err_set(w->err, TARN_ENOTSUP,
                            "%s: line %zu: metaData: format.provider is "
                            "not \"parquet\"",
                            w->file, w->line);
    return 0;
}

int delta_action_metadata(const delta_where *w, json_t *v, delta_metadata *out)
{
    memset(out, 0, sizeof(*out));
    out->created_time_ms = -1;
    int rc = delta_json_str(w, v, "id", true, &out->id);
    if (rc == 0)
        rc = delta_json_str(w, v, "name", false, &out->name);
    if (rc == 0)
        rc = check_format(w, v);
    if (rc == 0)
        rc = delta_json_str(w, v, "schemaString", true, &out->schema_string);
    if (rc == 0)
        rc = delta_json_strs(w, v, "partitionColumns", &out->partition_columns,
                             &out->n_partition_columns);
    if (rc == 0 && out->partition_columns == NULL)
        rc = delta_bad(w, "partitionColumns", "missing");
    if (rc == 0)
        rc = delta_json_map(w, v, "configuration", false, &out->configuration);
    if (rc == 0)
        rc = delta_json_i64(w, v, "createdTime", false, INT64_MIN, &out->created_time_ms);
    if (rc == 0) {
        rc = delta_schema_parse(out->schema_string, strlen(out->schema_string), &out->schema,
                                w->err);
        if (rc != 0)
            tarn_err_wrap(w->err, rc, "%s: line %zu: metaData: schemaString", w->file, w->line);
    }
    for (size_t i = 0; rc == 0 && i < out->n_partition_columns; i++)
        if (delta_schema_find(&out->schema, out->partition_columns[i]) < 0)
            rc = delta_bad(w, "partitionColumns", "names a column the schema does not have");
    if (rc != 0)
        delta_metadata_free(out);
    return rc;
}

/* The deletion vector's unique id (PROTOCOL.md "Deletion Vector Descriptor
 * Schema", derived field uniqueId): storageType + pathOrInlineDv, then
 * "@" + offset when an offset is present. */
static int dv_id(const delta_where *w, json_t *v, char **out)
{
    json_t *dv = json_object_get(v, "deletionVector");
    if (dv == NULL || json_is_null(dv))
        return 0;
    if (!json_is_object(dv))
        return delta_bad(w, "deletionVector", "expected an object");
    char *st = NULL, *p = NULL;
    int64_t off = -1;
    int rc = delta_json_str(w, dv, "storageType", true, &st);
    if (rc == 0)
        rc = delta_json_str(w, dv, "pathOrInlineDv", true, &p);
    if (rc == 0)
        rc = delta_json_i64(w, dv, "offset", false, 0, &off);
    if (rc == 0) {
        size_t n = strlen(st) + strlen(p) + 32;
        *out = tarn_malloc(n);
        if (*out == NULL)
            rc = tarn_err_set(w->err, TARN_ENOMEM, "deletionVector");
        else if (off >= 0)
            snprintf(*out, n, "%s%s@%lld", st, p, (long long)off);
        else
            snprintf(*out, n, "%s%s", st, p);
    }
    tarn_free(st);
    tarn_free(p);
    return rc;
}

int delta_action_file(const delta_where *w, json_t *v, bool is_add, delta_file_action *out)
{
    memset(out, 0, sizeof(*out));
    out->size_bytes = out->modification_time_ms = out->deletion_timestamp_ms = -1;
    char *raw = NULL;
    int rc = delta_json_str(w, v, "path", true, &raw);
    if (rc == 0) {
        rc = delta_path_decode(raw, &out->path, w->err);
        if (rc != 0)
            tarn_err_wrap(w->err, rc, "%s: line %zu: %s: path", w->file, w->line, w->action);
    }
    tarn_free(raw);
    if (rc == 0 && (out->path[0] == '\0'))
        rc = delta_bad(w, "path", "empty");
    if (rc == 0)
        rc = delta_json_map(w, v, "partitionValues", is_add, &out->partition_values);
    if (rc == 0)
        rc = delta_json_i64(w, v, "size", is_add, 0, &out->size_bytes);
    if (rc == 0 && is_add)
        rc = delta_json_i64(w, v, "modificationTime", true, INT64_MIN, &out->modification_time_ms);
    if (rc == 0 && !is_add)
        rc = delta_json_i64(w, v, "deletionTimestamp", false, INT64_MIN,
                            &out->deletion_timestamp_ms);
    if (rc == 0)
        rc = delta_json_bool(w, v, "dataChange", true, &out->data_change);
    if (rc == 0)
        rc = delta_json_str(w, v, "stats", false, &out->stats);
    if (rc == 0)
        rc = dv_id(w, v, &out->dv_id);
    if (rc != 0)
        delta_file_action_free(out);
    return rc;
}

int delta_action_txn(const delta_where *w, json_t *v, delta_txn *out)
{
    memset(out, 0, sizeof(*out));
    out->last_updated_ms = -1;
    int rc = delta_json_str(w, v, "appId", true, &out->app_id);
    if (rc == 0)
        rc = delta_json_i64(w, v, "version", true, INT64_MIN, &out->version);
    if (rc == 0)
        rc = delta_json_i64(w, v, "lastUpdated", false, INT64_MIN, &out->last_updated_ms);
    if (rc != 0) {
        tarn_free(out->app_id);
        out->app_id = NULL;
    }
    return rc;
}

/* commitInfo is kept as opaque JSON; only its timestamps are read, for
 * time travel (README, "Time travel"). */
static int action_commit_info(const delta_where *w, json_t *v, delta_commit *c)
{
    int rc = delta_json_i64(w, v, "timestamp", false, INT64_MIN, &c->timestamp_ms);
    if (rc == 0)
        rc =
            delta_json_i64(w, v, "inCommitTimestamp", false, INT64_MIN, &c->in_commit_timestamp_ms);
    if (rc != 0)
        return rc;
    /* jansson allocates through tarn_malloc (tarn_alloc_hook_jansson), so
     * the dump is ours to tarn_free. */
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (s == NULL)
        return tarn_err_set(w->err, TARN_ENOMEM, "%s: commitInfo", w->file);
    tarn_free(c->commit_info);
    c->commit_info = s;
    return 0;
}

/* Appends one file action to *arr. */
static int push_file(const delta_where *w, json_t *v, bool is_add, delta_file_action **arr,
                     size_t *n, size_t *cap)
{
    if (delta_grow(arr, cap, *n, sizeof(**arr)) != 0)
        return tarn_err_set(w->err, TARN_ENOMEM, "%s: %s", w->file, w->action);
    int rc = delta_action_file(w, v, is_add, &(*arr)[*n]);
    if (rc == 0)
        (*n)++;
    return rc;
}

typedef struct commit_caps {
    size_t adds, removes, txns;
} commit_caps;

/* Applies one action ({"<kind>": {...}}) of a commit line. */
static int parse_action(delta_where *w, const char *kind, json_t *v, delta_commit *c,
                        commit_caps *caps)
{
    w->action = kind;
    bool known = strcmp(kind, "protocol") == 0 || strcmp(kind, "metaData") == 0 ||
                 strcmp(kind, "add") == 0 || strcmp(kind, "remove") == 0 ||
                 strcmp(kind, "txn") == 0 || strcmp(kind, "commitInfo") == 0;
    if (!known)
        return 0; /* cdc, domainMetadata, ... and future actions: ignored */
    if (!json_is_object(v))
        return delta_bad(w, kind, "expected an object");
    if (strcmp(kind, "add") == 0 || strcmp(kind, "remove") == 0) {
        bool add = kind[0] == 'a';
        return add ? push_file(w, v, true, &c->adds, &c->nadds, &caps->adds)
                   : push_file(w, v, false, &c->removes, &c->nremoves, &caps->removes);
    }
    if (strcmp(kind, "txn") == 0) {
        if (delta_grow(&c->txns, &caps->txns, c->ntxns, sizeof(*c->txns)) != 0)
            return tarn_err_set(w->err, TARN_ENOMEM, "%s: txn", w->file);
        int rc = delta_action_txn(w, v, &c->txns[c->ntxns]);
        c->ntxns += rc == 0;
        return rc;
    }
    if (strcmp(kind, "commitInfo") == 0)
        return action_commit_info(w, v, c);
    /* A commit holds at most one protocol and one metaData (PROTOCOL.md
     * "Action Reconciliation" assumes one per version). */
    bool proto = strcmp(kind, "protocol") == 0;
    if ((proto && c->protocol) || (!proto && c->metadata))
        return delta_bad(w, kind, "appears twice in one commit");
    void *p = tarn_calloc(1, proto ? sizeof(delta_protocol) : sizeof(delta_metadata));
    if (p == NULL)
        return tarn_err_set(w->err, TARN_ENOMEM, "%s: %s", w->file, kind);
    int rc = proto ? delta_action_protocol(w, v, p) : delta_action_metadata(w, v, p);
    if (rc != 0) {
        tarn_free(p);
        return rc;
    }
    if (proto)
        c->protocol = p;
    else
        c->metadata = p;
    return 0;
}

/* Parses one line (one action object). */
static int parse_line(delta_where *w, const char *line, size_t len, delta_commit *c,
                      commit_caps *caps, size_t *nactions)
{
    if (len > DELTA_LINE_BYTES_MAX)
        return tarn_err_set(w->err, TARN_ETOOBIG, "%s: line %zu: %zu bytes (most %zu)", w->file,
                            w->line, len, DELTA_LINE_BYTES_MAX);
    json_t *j = NULL;
    int rc = delta_json_load(w, line, len, &j);
    if (rc != 0)
        return rc;
    if (!json_is_object(j)) {
        json_decref(j);
        return tarn_err_set(w->err, TARN_ECORRUPT, "%s: line %zu: an action must be an object",
                            w->file, w->line);
    }
    const char *kind;
    json_t *v;
    json_object_foreach(j, kind, v)
    {
        if (++*nactions > DELTA_ACTIONS_MAX) {
            rc = tarn_err_set(w->err, TARN_ETOOBIG, "%s: more than %zu actions", w->file,
                              DELTA_ACTIONS_MAX);
            break;
        }
        rc = parse_action(w, kind, v, c, caps);
        if (rc != 0)
            break;
    }
    json_decref(j);
    return rc;
}

int delta_commit_parse(const char *data, size_t len, const char *name, int64_t version,
                       delta_commit **out, tarn_err *err)
{
    *out = NULL;
    if (len > DELTA_COMMIT_BYTES_MAX)
        return tarn_err_set(err, TARN_ETOOBIG, "%s: %zu bytes (most %zu)", name, len,
                            DELTA_COMMIT_BYTES_MAX);
    delta_commit *c = tarn_calloc(1, sizeof(*c));
    if (c == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "%s", name);
    c->version = version;
    c->timestamp_ms = c->in_commit_timestamp_ms = -1;
    commit_caps caps = {0, 0, 0};
    delta_where w = {name, 0, "", err};
    size_t nactions = 0, start = 0;
    int rc = 0;
    while (rc == 0 && start < len) {
        const char *nl = memchr(data + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t l = end - start;
        w.line++;
        if (l > 0 && data[start + l - 1] == '\r')
            l--;
        /* Blank lines carry no action; writers do not produce them, but
         * a trailing newline is normal. */
        if (l > 0)
            rc = parse_line(&w, data + start, l, c, &caps, &nactions);
        start = end + 1;
    }
    if (rc != 0) {
        delta_commit_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void delta_commit_free(delta_commit *c)
{
    if (c == NULL)
        return;
    delta_protocol_free(c->protocol);
    tarn_free(c->protocol);
    delta_metadata_free(c->metadata);
    tarn_free(c->metadata);
    for (size_t i = 0; i < c->nadds; i++)
        delta_file_action_free(&c->adds[i]);
    for (size_t i = 0; i < c->nremoves; i++)
        delta_file_action_free(&c->removes[i]);
    for (size_t i = 0; i < c->ntxns; i++)
        tarn_free(c->txns[i].app_id);
    tarn_free(c->adds);
    tarn_free(c->removes);
    tarn_free(c->txns);
    tarn_free(c->commit_info);
    tarn_free(c);
}
