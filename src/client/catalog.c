/*
 * client/catalog.c: the catalog calls of include/tarn.h, mapped onto the
 * HTTP API of src/catalog/catalog_routes.h:
 *
 *   tarn_table_create        POST   /v1/tables
 *   tarn_table_drop          DELETE /v1/tables/{name}
 *   tarn_table_get, _latest  GET    /v1/tables/{name}
 *   tarn_commit              POST   /v1/tables/{name}/commits
 *   tarn_versions_read       GET    /v1/tables/{name}/commits?from=&to=&limit=
 *   tarn_commit_log_written  POST   /v1/tables/{name}/commits/{v}/written
 *   tarn_catalog_pending     GET    /v1/catalog/pending?limit=
 *   tarn_catalog_store       GET    /v1/catalog
 *
 * Commits ride the call loop's retries (call.c) with the same body, so
 * the same txn_id: the catalog answers a txn_id it committed before with
 * the first result, which is what makes a retry across a leader change
 * safe (README "Catalog commits").
 */
#include "client/client_int.h"

#include "base/alloc.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int name_check(const char *name, tarn_err *err)
{
    size_t n = name ? strlen(name) : 0;
    int ok = n > 0 && n <= TARN_TABLE_NAME_MAX_BYTES && !(name[0] >= '0' && name[0] <= '9');
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        ok = ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
             (ch >= '0' && ch <= '9');
    }
    return ok ? 0
              : tarn_err_set(err, TARN_EINVAL, "table name '%.140s' is not [A-Za-z_][A-Za-z0-9_]*",
                             name ? name : "");
}

static char *json_strdup(json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    size_t n = json_string_length(v);
    char *s = tarn_malloc(n + 1);
    if (s != NULL)
        memcpy(s, json_string_value(v), n + 1);
    return s;
}

/* One request whose 2xx reply is a JSON object: *root owned by the
 * caller (json_decref) when 0. rp_out (may be NULL) receives the reply's
 * uncertain flag; *root also holds a 409 or 404 body (status in *status). */
static int call_json(tarn_client *c, const client_req *rq, const tarn_call_opts *co, json_t **root,
                     long *status, int *uncertain, tarn_err *err)
{
    client_reply rp;
    client_reply_init(&rp);
    *root = NULL;
    int rc = client_call(c, rq, co, &rp, err);
    if (status)
        *status = rp.status;
    if (uncertain)
        *uncertain = rp.uncertain;
    if (rc == 0 || rc == TARN_ECONFLICT || rc == TARN_EEXIST) {
        void *o = NULL;
        tarn_err perr = TARN_ERR_INIT;
        int prc = client_json_object(&rp, rq->what, &o, rc == 0 ? err : &perr);
        *root = o;
        if (rc == 0)
            rc = prc;
    }
    client_reply_free(&rp);
    return rc;
}

/* ---- tables --------------------------------------------------------------------- */

void tarn_table_info_free(tarn_table_info *t)
{
    if (t == NULL)
        return;
    tarn_free(t->name);
    tarn_free(t->location);
    tarn_free(t->schema);
    for (size_t i = 0; i < t->n_partition_columns; i++)
        tarn_free(t->partition_columns[i]);
    tarn_free(t->partition_columns);
    memset(t, 0, sizeof(*t));
}

int tarn_table_create(tarn_client *c, const char *name, const char *schema,
                      const char *const *partition_columns, size_t n_partition_columns,
                      const tarn_call_opts *co, uint64_t *created_id_out, tarn_err *err)
{
    int rc = name_check(name, err);
    if (rc == 0 && (schema == NULL || !client_utf8_valid(schema, strlen(schema))))
        rc = tarn_err_set(err, TARN_EINVAL, "create %s: the schema must be UTF-8 JSON text", name);
    if (rc != 0)
        return rc;
    char what[200];
    snprintf(what, sizeof(what), "create table %s", name);
    tarn_buf body;
    tarn_buf_init(&body, TARN_COMMIT_ACTIONS_MAX_BYTES);
    rc = tarn_buf_append_str(&body, "{\"name\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(&body, name, strlen(name));
    if (rc == 0)
        rc = tarn_buf_append_str(&body, ",\"schema\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(&body, schema, strlen(schema));
    if (rc == 0)
        rc = tarn_buf_append_str(&body, ",\"partition_columns\":[");
    for (size_t i = 0; rc == 0 && i < n_partition_columns; i++) {
        if (i > 0)
            rc = tarn_buf_append_byte(&body, ',');
        if (rc == 0)
            rc =
                tarn_buf_append_json_str(&body, partition_columns[i], strlen(partition_columns[i]));
    }
    if (rc == 0)
        rc = tarn_buf_append_str(&body, "]}");
    if (rc != 0) {
        tarn_buf_free(&body);
        return tarn_err_set(err, rc, "%s: request body", what);
    }
    client_req rq = {.method = "POST",
                     .path = "/v1/tables",
                     .body = body.data,
                     .body_len = body.len,
                     .content_type = "application/json",
                     .is_write = 1,
                     .what = what};
    json_t *root = NULL;
    rc = call_json(c, &rq, co, &root, NULL, NULL, err);
    /* 409 arrives as TARN_ECONFLICT from the call loop: a create says
     * TARN_EEXIST. */
    if (rc == TARN_ECONFLICT && err != NULL)
        err->code = TARN_EEXIST;
    if (rc == TARN_ECONFLICT)
        rc = TARN_EEXIST;
    uint64_t id = 0;
    if (rc == 0)
        rc = client_json_u64(root, "created_id", what, &id, err);
    if (rc == 0 && created_id_out)
        *created_id_out = id;
    json_decref(root);
    tarn_buf_free(&body);
    return rc;
}

int tarn_table_drop(tarn_client *c, const char *name, const tarn_call_opts *co, tarn_err *err)
{
    int rc = name_check(name, err);
    if (rc != 0)
        return rc;
    char what[200], path[200];
    snprintf(what, sizeof(what), "drop table %s", name);
    snprintf(path, sizeof(path), "/v1/tables/%s", name);
    client_req rq = {.method = "DELETE", .path = path, .is_write = 1, .what = what};
    json_t *root = NULL;
    rc = call_json(c, &rq, co, &root, NULL, NULL, err);
    json_decref(root);
    return rc;
}

static int info_parse(json_t *o, const char *what, tarn_table_info *out, tarn_err *err)
{
    int rc = client_json_u64(o, "version", what, &out->version, err);
    if (rc == 0)
        rc = client_json_u64(o, "created_id", what, &out->created_id, err);
    if (rc == 0)
        rc = client_json_u64(o, "metadata_version", what, &out->metadata_version, err);
    /* Absent (an older server) or null (an older table): unknown. */
    json_t *ms = json_object_get(o, "created_ms");
    if (rc == 0 && ms != NULL && !json_is_null(ms) &&
        (!json_is_integer(ms) || json_integer_value(ms) <= 0))
        rc = tarn_err_set(err, TARN_EIO, "%s: created_ms is not a positive integer", what);
    if (rc == 0)
        out->created_ms = json_is_integer(ms) ? (int64_t)json_integer_value(ms) : 0;
    json_t *parts = json_object_get(o, "partition_columns");
    if (rc == 0 && !json_is_array(parts))
        rc = tarn_err_set(err, TARN_EIO, "%s: no partition_columns in the reply", what);
    if (rc != 0)
        return rc;
    out->name = json_strdup(json_object_get(o, "name"));
    out->location = json_strdup(json_object_get(o, "location"));
    out->schema = json_strdup(json_object_get(o, "schema"));
    out->partition_columns = tarn_calloc(json_array_size(parts) + 1, sizeof(char *));
    if (!out->name || !out->location || !out->schema || !out->partition_columns)
        return tarn_err_set(err, TARN_ENOMEM, "%s: reply", what);
    for (size_t i = 0; i < json_array_size(parts); i++) {
        if ((out->partition_columns[i] = json_strdup(json_array_get(parts, i))) == NULL)
            return tarn_err_set(err, TARN_EIO, "%s: a partition column is not a string", what);
        out->n_partition_columns++;
    }
    return 0;
}

int tarn_table_get(tarn_client *c, const char *name, const tarn_call_opts *co, tarn_table_info *out,
                   tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = name_check(name, err);
    if (rc != 0)
        return rc;
    char what[200], path[240];
    snprintf(what, sizeof(what), "read table %s", name);
    snprintf(path, sizeof(path), "/v1/tables/%s%s", name,
             co && co->serializable ? "?consistency=serializable" : "");
    client_req rq = {.method = "GET", .path = path, .what = what};
    json_t *root = NULL;
    rc = call_json(c, &rq, co, &root, NULL, NULL, err);
    if (rc == 0)
        rc = info_parse(root, what, out, err);
    json_decref(root);
    if (rc != 0)
        tarn_table_info_free(out);
    return rc;
}

int tarn_table_latest(tarn_client *c, const char *name, const tarn_call_opts *co,
                      uint64_t *version_out, tarn_err *err)
{
    tarn_table_info t;
    int rc = tarn_table_get(c, name, co, &t, err);
    if (rc == 0)
        *version_out = t.version;
    tarn_table_info_free(&t);
    return rc;
}

/* ---- commits ---------------------------------------------------------------------- */

static int commit_check(const tarn_commit_req *rq, tarn_err *err)
{
    int rc = name_check(rq->table, err);
    size_t tl = rq->txn_id ? strlen(rq->txn_id) : 0;
    if (rc == 0 && (tl == 0 || !client_utf8_valid(rq->txn_id, tl)))
        rc = tarn_err_set(err, TARN_EINVAL, "commit to %s: the txn_id must be UTF-8, not empty",
                          rq->table);
    if (rc == 0 && tl > TARN_TXN_ID_MAX_BYTES)
        rc = tarn_err_set(err, TARN_ETOOBIG, "commit to %s: txn_id of %zu bytes, at most %d",
                          rq->table, tl, TARN_TXN_ID_MAX_BYTES);
    if (rc == 0 && rq->actions_len > TARN_COMMIT_ACTIONS_MAX_BYTES)
        rc = tarn_err_set(err, TARN_ETOOBIG, "commit to %s: actions of %zu bytes, at most %u",
                          rq->table, rq->actions_len, TARN_COMMIT_ACTIONS_MAX_BYTES);
    /* The catalog must store exactly the bytes the log file will hold: a
     * JSON string carries only valid UTF-8 unchanged. */
    if (rc == 0 && (rq->actions == NULL || !client_utf8_valid(rq->actions, rq->actions_len) ||
                    memchr(rq->actions, '\0', rq->actions_len) != NULL))
        rc = tarn_err_set(err, TARN_EINVAL, "commit to %s: actions must be UTF-8 without NUL",
                          rq->table);
    return rc;
}

static int commit_body(const tarn_commit_req *rq, tarn_buf *b)
{
    int rc = tarn_buf_printf(b, "{\"base_version\":%" PRIu64 ",\"txn_id\":", rq->base_version);
    if (rc == 0)
        rc = tarn_buf_append_json_str(b, rq->txn_id, strlen(rq->txn_id));
    if (rc == 0)
        rc = tarn_buf_printf(
            b, ",\"blind_append\":%s,\"actions\":", rq->blind_append ? "true" : "false");
    if (rc == 0)
        rc = tarn_buf_append_json_str(b, rq->actions, rq->actions_len);
    return rc != 0 ? rc : tarn_buf_append_byte(b, '}');
}

int tarn_commit(tarn_client *c, const tarn_commit_req *rq, const tarn_call_opts *co,
                tarn_commit_result *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = commit_check(rq, err);
    if (rc != 0)
        return rc;
    char what[240], path[200];
    snprintf(what, sizeof(what), "commit to %s on version %" PRIu64 " (txn %s)", rq->table,
             rq->base_version, rq->txn_id);
    snprintf(path, sizeof(path), "/v1/tables/%s/commits", rq->table);
    tarn_buf body;
    tarn_buf_init(&body, 8 * (size_t)TARN_COMMIT_ACTIONS_MAX_BYTES);
    if ((rc = commit_body(rq, &body)) != 0) {
        tarn_buf_free(&body);
        return tarn_err_set(err, rc, "%s: request body", what);
    }
    client_req req = {.method = "POST",
                      .path = path,
                      .body = body.data,
                      .body_len = body.len,
                      .content_type = "application/json",
                      .is_write = 1,
                      .what = what};
    json_t *root = NULL;
    rc = call_json(c, &req, co, &root, NULL, &out->uncertain, err);
    tarn_buf_free(&body);
    if (rc == 0 || rc == TARN_ECONFLICT) {
        tarn_err perr = TARN_ERR_INIT;
        int prc = root ? client_json_u64(root, "version", what, &out->version, &perr)
                       : tarn_err_set(&perr, TARN_EIO, "%s: no reply body", what);
        out->duplicate = json_is_true(json_object_get(root, "duplicate"));
        if (rc == 0 && prc != 0 && err)
            *err = perr;
        if (rc == 0)
            rc = prc;
    }
    json_decref(root);
    return rc;
}

/* ---- versions, log written, pending, store ------------------------------------------- */

void tarn_versions_free(tarn_versions *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->count; i++) {
        tarn_free(v->items[i].txn_id);
        tarn_free(v->items[i].actions);
    }
    tarn_free(v->items);
    memset(v, 0, sizeof(*v));
}

static int version_parse(json_t *o, const char *what, tarn_version *v, tarn_err *err)
{
    json_t *a = json_object_get(o, "actions"), *t = json_object_get(o, "txn_id");
    int rc = client_json_u64(o, "version", what, &v->version, err);
    if (rc == 0)
        rc = client_json_u64(o, "commit_index", what, &v->commit_index, err);
    if (rc == 0 && (!json_is_string(a) || !(json_is_string(t) || json_is_null(t))))
        rc = tarn_err_set(err, TARN_EIO, "%s: a version without actions or txn_id", what);
    if (rc != 0)
        return rc;
    v->log_written = json_is_true(json_object_get(o, "log_written"));
    v->blind_append = json_is_true(json_object_get(o, "blind_append"));
    v->metadata = json_is_true(json_object_get(o, "metadata"));
    v->actions = json_strdup(a);
    v->actions_len = json_string_length(a);
    v->txn_id = json_is_string(t) ? json_strdup(t) : NULL;
    if (v->actions == NULL || (json_is_string(t) && v->txn_id == NULL))
        return tarn_err_set(err, TARN_ENOMEM, "%s: reply", what);
    return 0;
}

static int versions_parse(json_t *root, const char *what, tarn_versions *out, tarn_err *err)
{
    json_t *items = json_object_get(root, "versions"), *next = json_object_get(root, "next");
    int rc = client_json_u64(root, "latest", what, &out->latest, err);
    if (rc == 0 && (!json_is_array(items) || !(json_is_null(next) || json_is_integer(next))))
        rc = tarn_err_set(err, TARN_EIO, "%s: no versions or next in the reply", what);
    if (rc != 0)
        return rc;
    out->next = json_is_integer(next) ? (int64_t)json_integer_value(next) : -1;
    out->items = tarn_calloc(json_array_size(items) + 1, sizeof(*out->items));
    if (out->items == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "%s: reply", what);
    for (size_t i = 0; rc == 0 && i < json_array_size(items); i++) {
        rc = version_parse(json_array_get(items, i), what, &out->items[i], err);
        out->count++; /* a half-parsed item is freed with the rest */
    }
    return rc;
}

int tarn_versions_read(tarn_client *c, const char *name, uint64_t from, int64_t to, size_t limit,
                       const tarn_call_opts *co, tarn_versions *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = name_check(name, err);
    if (rc == 0 && limit > TARN_VERSIONS_PAGE_MAX)
        rc = tarn_err_set(err, TARN_EINVAL, "read versions: limit %zu, at most %d", limit,
                          TARN_VERSIONS_PAGE_MAX);
    if (rc != 0)
        return rc;
    char what[200], path[320], tos[32] = "";
    snprintf(what, sizeof(what), "read versions of %s from %" PRIu64, name, from);
    if (to >= 0)
        snprintf(tos, sizeof(tos), "&to=%lld", (long long)to);
    snprintf(path, sizeof(path), "/v1/tables/%s/commits?from=%" PRIu64 "%s&limit=%zu%s", name, from,
             tos, limit ? limit : 100, co && co->serializable ? "&consistency=serializable" : "");
    client_req rq = {.method = "GET", .path = path, .what = what};
    json_t *root = NULL;
    rc = call_json(c, &rq, co, &root, NULL, NULL, err);
    if (rc == 0)
        rc = versions_parse(root, what, out, err);
    json_decref(root);
    if (rc != 0)
        tarn_versions_free(out);
    return rc;
}

int tarn_commit_log_written(tarn_client *c, const char *name, uint64_t version,
                            const tarn_call_opts *co, tarn_err *err)
{
    int rc = name_check(name, err);
    if (rc != 0)
        return rc;
    char what[200], path[240];
    snprintf(what, sizeof(what), "mark version %" PRIu64 " of %s written", version, name);
    snprintf(path, sizeof(path), "/v1/tables/%s/commits/%" PRIu64 "/written", name, version);
    client_req rq = {.method = "POST", .path = path, .is_write = 1, .what = what};
    json_t *root = NULL;
    rc = call_json(c, &rq, co, &root, NULL, NULL, err);
    json_decref(root);
    return rc;
}

void tarn_pending_free(tarn_pending *p, size_t count)
{
    for (size_t i = 0; p != NULL && i < count; i++)
        tarn_free(p[i].table);
    tarn_free(p);
}

int tarn_catalog_pending(tarn_client *c, size_t limit, const tarn_call_opts *co, tarn_pending **out,
                         size_t *count, int *more, tarn_err *err)
{
    *out = NULL;
    *count = 0;
    *more = 0;
    if (limit > TARN_PENDING_PAGE_MAX)
        return tarn_err_set(err, TARN_EINVAL, "pending: limit %zu, at most %d", limit,
                            TARN_PENDING_PAGE_MAX);
    char path[96];
    snprintf(path, sizeof(path), "/v1/catalog/pending?limit=%zu",
             limit ? limit : (size_t)TARN_PENDING_PAGE_MAX);
    client_req rq = {.method = "GET", .path = path, .what = "read pending log writes"};
    json_t *root = NULL;
    int rc = call_json(c, &rq, co, &root, NULL, NULL, err);
    json_t *items = json_object_get(root, "pending");
    if (rc == 0 && !json_is_array(items))
        rc = tarn_err_set(err, TARN_EIO, "%s: no pending list in the reply", rq.what);
    tarn_pending *p = rc == 0 ? tarn_calloc(json_array_size(items) + 1, sizeof(*p)) : NULL;
    if (rc == 0 && p == NULL)
        rc = tarn_err_set(err, TARN_ENOMEM, "%s", rq.what);
    size_t n = 0;
    for (; rc == 0 && n < json_array_size(items); n++) {
        json_t *o = json_array_get(items, n);
        rc = client_json_u64(o, "version", rq.what, &p[n].version, err);
        if (rc == 0 && (p[n].table = json_strdup(json_object_get(o, "table"))) == NULL)
            rc = tarn_err_set(err, TARN_EIO, "%s: an item without a table", rq.what);
    }
    if (rc == 0) {
        *out = p;
        *count = n;
        *more = json_is_true(json_object_get(root, "more"));
    } else {
        tarn_pending_free(p, n);
    }
    json_decref(root);
    return rc;
}

int tarn_catalog_store(tarn_client *c, const tarn_call_opts *co, char *buf, size_t cap,
                       tarn_err *err)
{
    client_req rq = {.method = "GET", .path = "/v1/catalog", .what = "read the catalog's store"};
    json_t *root = NULL;
    int rc = call_json(c, &rq, co, &root, NULL, NULL, err);
    json_t *s = json_object_get(root, "store");
    if (rc == 0 && !json_is_string(s))
        rc = tarn_err_set(err, TARN_ENOENT, "the server does not name an object store");
    if (rc == 0 && json_string_length(s) >= cap)
        rc = tarn_err_set(err, TARN_ERANGE, "store root longer than %zu bytes", cap);
    if (rc == 0)
        memcpy(buf, json_string_value(s), json_string_length(s) + 1);
    json_decref(root);
    return rc;
}
