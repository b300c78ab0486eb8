/*
 * catalog/routes.c: the catalog's HTTP API (catalog_routes.h) on a node:
 * reads through a read barrier (or serializable) and a store read
 * transaction, writes proposed through Raft and answered with the
 * catalog's result. Shapes and errors: src/catalog/README.md.
 */
#include "catalog/catalog_routes.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "catalog/catalog_int.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "tables/<name>": the default location of a table. */
#define LOC_DEFAULT_BYTES (CATALOG_NAME_MAX_BYTES + 8)

struct catalog_routes {
    node *n;
    int timeout_ms;
    char store_url[CATALOG_STORE_URL_MAX]; /* "" when unknown */
};

int catalog_routes_new(node *n, const catalog_routes_opts *opts, catalog_routes **out)
{
    if (opts != NULL && opts->store_url != NULL && strlen(opts->store_url) >= CATALOG_STORE_URL_MAX)
        return TARN_EINVAL;
    catalog_routes *cr = tarn_calloc(1, sizeof(*cr));
    if (cr == NULL)
        return TARN_ENOMEM;
    cr->n = n;
    cr->timeout_ms =
        opts != NULL && opts->timeout_ms > 0 ? opts->timeout_ms : CATALOG_ROUTES_TIMEOUT_MS_DEFAULT;
    if (opts != NULL && opts->store_url != NULL)
        snprintf(cr->store_url, sizeof(cr->store_url), "%s", opts->store_url);
    *out = cr;
    return 0;
}

void catalog_routes_free(catalog_routes *cr)
{
    tarn_free(cr);
}

/* ---- requests ------------------------------------------------------------ */

/* 503: the node could not answer in time (tarn_err_wrap keeps the
 * callee's code, so the code is replaced first). */
static int busy(tarn_err *err, const char *why)
{
    if (err != NULL)
        err->code = TARN_EBUSY;
    return tarn_err_wrap(err, TARN_EBUSY, "%s", why);
}

/* The percent-decoded value of `name` in an untrusted query string, into
 * out (cap bytes, NUL-terminated): http_query_get, with an embedded NUL
 * refused (TARN_EINVAL) since no catalog parameter can hold one. */
static int query_get(const char *q, const char *name, char *out, size_t cap)
{
    size_t len = 0;
    int rc = http_query_get(q, name, out, cap, &len);
    if (rc == 0 && strlen(out) != len)
        return TARN_EINVAL;
    return rc;
}

/* A non-negative decimal query parameter; *out unchanged when absent. */
static int query_u64(const http_call *c, const char *name, uint64_t max, uint64_t *out,
                     tarn_err *err)
{
    char v[32];
    int rc = query_get(http_call_request(c)->query, name, v, sizeof(v));
    if (rc == TARN_ENOENT)
        return 0;
    char *end = NULL;
    unsigned long long n = rc == 0 && v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
    if (rc != 0 || end == NULL || *end != '\0' || n > max)
        return tarn_err_set(err, TARN_EINVAL, "%s must be a number 0..%" PRIu64, name, max);
    *out = n;
    return 0;
}

/* {name} of the path: a valid table name. */
static int name_param(const http_call *c, const char **name, size_t *len, tarn_err *err)
{
    *name = http_call_param(c, "name");
    *len = *name ? strlen(*name) : 0;
    if (*len > CATALOG_NAME_MAX_BYTES)
        return tarn_err_set(err, TARN_ETOOBIG, "table name of %zu bytes, at most %d", *len,
                            CATALOG_NAME_MAX_BYTES);
    if (!catalog_name_ok((const uint8_t *)*name, *len))
        return tarn_err_set(err, TARN_EINVAL, "table name '%.128s' is not [A-Za-z_][A-Za-z0-9_]*",
                            *name ? *name : "");
    return 0;
}

static int read_begin(catalog_routes *cr, const http_call *c, store_txn **txn, tarn_err *err)
{
    char v[32];
    int rc = query_get(http_call_request(c)->query, "consistency", v, sizeof(v));
    int serializable = rc == 0 && strcmp(v, "serializable") == 0;
    if (rc != TARN_ENOENT && !serializable && (rc != 0 || strcmp(v, "linearizable") != 0))
        return tarn_err_set(err, TARN_EINVAL,
                            "consistency must be linearizable (default) or serializable");
    rc = serializable ? node_answered_barrier(cr->n, cr->timeout_ms, err)
                      : node_read_barrier(cr->n, cr->timeout_ms, NULL, err);
    if (rc == TARN_ETIMEDOUT)
        rc = busy(err, "no leader reachable in time; retry");
    return rc == 0 ? node_read_begin(cr->n, txn, err) : rc;
}

/* Proposes cmd and decodes the catalog's result. A timeout or a closed
 * node is 503: the command may still apply (a commit retried with the same
 * txn_id then answers the first result). */
static int propose(catalog_routes *cr, const tarn_buf *cmd, catalog_result *out, tarn_err *err)
{
    store_result sr;
    memset(&sr, 0, sizeof(sr));
    int rc = node_propose(cr->n, cmd->data, cmd->len, cr->timeout_ms, &sr, err);
    if (rc == TARN_ETIMEDOUT || rc == TARN_ECLOSED || rc == TARN_ESTATE)
        return busy(err, "outcome unknown; retry (a commit: same txn_id)");
    if (rc == TARN_ETOOBIG)
        return tarn_err_wrap(err, rc, "the command is larger than a replicated entry may be");
    if (rc != 0)
        return rc;
    rc = catalog_result_decode(&sr, out);
    store_result_free(&sr);
    return rc == 0 ? 0 : tarn_err_set(err, TARN_EINTERNAL, "undecodable catalog result");
}

/* ---- replies -------------------------------------------------------------- */

static int reply_end(http_response *resp, unsigned status, int rc)
{
    if (rc != 0) {
        http_response_reset(resp);
        return rc;
    }
    resp->status = status;
    resp->content_type = "application/json";
    return 0;
}

/* An error envelope with one more number beside it ("version": latest). */
static int reply_error_num(http_response *resp, unsigned status, const char *code, const char *msg,
                           const char *key, uint64_t num)
{
    http_response_reset(resp);
    tarn_buf *b = &resp->body;
    int rc = tarn_buf_printf(b, "{\"error\":{\"code\":\"%s\",\"message\":", code);
    if (rc == 0)
        rc = tarn_buf_append_json_str(b, msg, strlen(msg));
    if (rc == 0)
        rc = tarn_buf_printf(b, "},\"%s\":%" PRIu64 "}", key, num);
    return reply_end(resp, status, rc);
}

/* Appends "key":<JSON string of bytes> (invalid UTF-8 as U+FFFD). */
static int put_str(tarn_buf *b, const char *key, const void *p, size_t len)
{
    int rc = tarn_buf_printf(b, "\"%s\":", key);
    return rc != 0 ? rc : tarn_buf_append_json_str(b, p ? p : "", len);
}

/* ---- GET /v1/catalog, GET /v1/catalog/pending --------------------------------- */

static int h_info(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    catalog_routes *cr = ctx;
    (void)c;
    (void)err;
    http_response_reset(resp);
    tarn_buf *b = &resp->body;
    int rc = tarn_buf_append_str(b, "{\"store\":");
    if (rc == 0 && cr->store_url[0])
        rc = tarn_buf_append_json_str(b, cr->store_url, strlen(cr->store_url));
    else if (rc == 0)
        rc = tarn_buf_append_str(b, "null");
    if (rc == 0)
        rc = tarn_buf_printf(b,
                             ",\"limits\":{\"name_bytes\":%d,\"txn_id_bytes\":%d,"
                             "\"actions_bytes\":%u,\"schema_bytes\":%u,\"partition_columns\":%d},"
                             "\"txn_window_entries\":%u}",
                             CATALOG_NAME_MAX_BYTES, CATALOG_TXN_ID_MAX_BYTES,
                             CATALOG_ACTIONS_MAX_BYTES, CATALOG_SCHEMA_MAX_BYTES, CATALOG_PARTS_MAX,
                             CATALOG_TXN_WINDOW_ENTRIES);
    return reply_end(resp, 200, rc);
}

typedef struct pend_page {
    tarn_buf *b;
    uint64_t limit, n;
    int more, rc;
} pend_page;

static int pend_item(void *ctx, const char *name, size_t name_len, uint64_t version)
{
    pend_page *p = ctx;
    if (p->n == p->limit) {
        p->more = 1;
        return 1;
    }
    int rc = tarn_buf_append_str(p->b, p->n++ ? ",{" : "{");
    if (rc == 0)
        rc = put_str(p->b, "table", name, name_len);
    if (rc == 0)
        rc = tarn_buf_printf(p->b, ",\"version\":%" PRIu64 "}", version);
    p->rc = rc;
    return rc != 0;
}

static int h_pending(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    catalog_routes *cr = ctx;
    uint64_t limit = CATALOG_PENDING_LIMIT_MAX;
    int rc = query_u64(c, "limit", CATALOG_PENDING_LIMIT_MAX, &limit, err);
    if (rc == 0 && limit == 0)
        rc = tarn_err_set(err, TARN_EINVAL, "limit must be 1..%d", CATALOG_PENDING_LIMIT_MAX);
    store_txn *txn = NULL;
    if (rc == 0)
        rc = read_begin(cr, c, &txn, err);
    if (rc != 0)
        return rc;
    http_response_reset(resp);
    pend_page p = {&resp->body, limit, 0, 0, 0};
    rc = tarn_buf_append_str(&resp->body, "{\"pending\":[");
    if (rc == 0)
        rc = catalog_pending_logs(txn, pend_item, &p);
    node_read_end(cr->n, txn);
    if (rc == 0)
        rc = p.rc;
    if (rc == 0)
        rc = tarn_buf_printf(&resp->body, "],\"more\":%s}", p.more ? "true" : "false");
    if (rc != 0 && rc != TARN_ENOMEM)
        tarn_err_set(err, rc, "reading the pending log writes");
    return reply_end(resp, 200, rc);
}

/* ---- GET /v1/tables ---------------------------------------------------------- */

typedef struct list_page {
    store_txn *txn;
    tarn_buf *b;
    uint64_t limit, n;
    char last[CATALOG_NAME_MAX_BYTES + 1];
    int more, rc;
} list_page;

static int list_item(void *ctx, const char *name, size_t name_len)
{
    list_page *p = ctx;
    if (p->n == p->limit) {
        p->more = 1; /* the page asked for one more to learn this */
        return 1;
    }
    catalog_table t;
    int rc = catalog_table_get(p->txn, name, name_len, &t);
    if (rc == 0)
        rc = tarn_buf_append_str(p->b, p->n++ ? ",{" : "{");
    if (rc == 0)
        rc = put_str(p->b, "name", name, name_len);
    if (rc == 0)
        rc = tarn_buf_printf(p->b, ",\"version\":%" PRIu64 "}", t.latest_version);
    memcpy(p->last, name, name_len);
    p->last[name_len] = '\0';
    p->rc = rc;
    return rc != 0;
}

static int h_list(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    catalog_routes *cr = ctx;
    char after[CATALOG_NAME_MAX_BYTES + 1] = "";
    uint64_t limit = 100;
    int rc = query_get(http_call_request(c)->query, "after", after, sizeof(after));
    if (rc != 0 && rc != TARN_ENOENT)
        return tarn_err_set(err, TARN_EINVAL, "after must be a table name");
    if ((rc = query_u64(c, "limit", CATALOG_LIST_LIMIT_MAX, &limit, err)) != 0)
        return rc;
    if (limit == 0)
        return tarn_err_set(err, TARN_EINVAL, "limit must be 1..%d", CATALOG_LIST_LIMIT_MAX);
    store_txn *txn = NULL;
    if ((rc = read_begin(cr, c, &txn, err)) != 0)
        return rc;
    http_response_reset(resp);
    list_page p = {.txn = txn, .b = &resp->body, .limit = limit};
    rc = tarn_buf_append_str(&resp->body, "{\"tables\":[");
    if (rc == 0)
        rc = catalog_table_list(txn, after[0] ? after : NULL, strlen(after), (size_t)limit + 1,
                                list_item, &p);
    node_read_end(cr->n, txn);
    if (rc == 0)
        rc = p.rc;
    if (rc == 0)
        rc = tarn_buf_append_str(&resp->body, "],\"next\":");
    if (rc == 0 && p.more)
        rc = tarn_buf_append_json_str(&resp->body, p.last, strlen(p.last));
    else if (rc == 0)
        rc = tarn_buf_append_str(&resp->body, "null");
    if (rc == 0)
        rc = tarn_buf_append_byte(&resp->body, '}');
    if (rc != 0 && rc != TARN_ENOMEM)
        tarn_err_set(err, rc, "listing tables");
    return reply_end(resp, 200, rc);
}

/* ---- POST /v1/tables ------------------------------------------------------------ */

/* A string field of the body: *out borrows from it; NULL when absent and
 * optional. */
static int body_str(json_t *body, const char *key, int required, const char **out, size_t *len,
                    tarn_err *err)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    *len = 0;
    if (v == NULL && !required)
        return 0;
    if (!json_is_string(v))
        return tarn_err_set(err, TARN_EINVAL, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    *len = json_string_length(v);
    if (memchr(*out, '\0', *len) != NULL)
        return tarn_err_set(err, TARN_EINVAL, "\"%s\" holds a NUL character", key);
    return 0;
}

/* The create command's fields from the body; strings borrow from it,
 * *schema_owned (a schema given as an object, serialised) from the heap. */
static int create_parse(json_t *body, catalog_create *cc, char loc[static LOC_DEFAULT_BYTES],
                        char **schema_owned, tarn_err *err)
{
    const char *s;
    size_t len;
    int rc = body_str(body, "name", 1, &s, &len, err);
    if (rc != 0)
        return rc;
    cc->name = (catalog_bytes){(const uint8_t *)s, len};
    if (len > CATALOG_NAME_MAX_BYTES)
        return tarn_err_set(err, TARN_ETOOBIG, "table name of %zu bytes, at most %d", len,
                            CATALOG_NAME_MAX_BYTES);
    if (!catalog_name_ok((const uint8_t *)s, len))
        return tarn_err_set(err, TARN_EINVAL, "table name '%.128s' is not [A-Za-z_][A-Za-z0-9_]*",
                            s);
    json_t *schema = json_object_get(body, "schema");
    if (json_is_object(schema)) {
        size_t need = json_dumpb(schema, NULL, 0, JSON_COMPACT);
        if (need == 0 || need > CATALOG_SCHEMA_MAX_BYTES)
            return tarn_err_set(err, need ? TARN_ETOOBIG : TARN_ENOMEM, "schema of %zu bytes",
                                need);
        if ((*schema_owned = tarn_malloc(need)) == NULL)
            return tarn_err_set(err, TARN_ENOMEM, "schema");
        json_dumpb(schema, *schema_owned, need, JSON_COMPACT);
        cc->schema = (catalog_bytes){(const uint8_t *)*schema_owned, need};
    } else {
        if ((rc = body_str(body, "schema", 1, &s, &len, err)) != 0)
            return tarn_err_wrap(err, rc, "a Delta schema (a JSON object or its text)");
        json_t *parsed = json_loadb(s, len, 0, NULL);
        int ok = json_is_object(parsed);
        json_decref(parsed);
        if (!ok)
            return tarn_err_set(err, TARN_EINVAL, "\"schema\" is not the text of a JSON object");
        cc->schema = (catalog_bytes){(const uint8_t *)s, len};
    }
    if ((rc = body_str(body, "location", 0, &s, &len, err)) != 0)
        return rc;
    if (s == NULL) {
        snprintf(loc, LOC_DEFAULT_BYTES, "tables/%.*s", (int)cc->name.len,
                 (const char *)cc->name.p);
        s = loc;
        len = strlen(loc);
    }
    cc->location = (catalog_bytes){(const uint8_t *)s, len};
    json_t *parts = json_object_get(body, "partition_columns");
    if (parts != NULL && !json_is_array(parts))
        return tarn_err_set(err, TARN_EINVAL, "\"partition_columns\" must be an array of names");
    if (json_array_size(parts) > CATALOG_PARTS_MAX)
        return tarn_err_set(err, TARN_ETOOBIG, "at most %d partition columns", CATALOG_PARTS_MAX);
    for (size_t i = 0; i < json_array_size(parts); i++) {
        json_t *p = json_array_get(parts, i);
        if (!json_is_string(p) || json_string_length(p) == 0)
            return tarn_err_set(err, TARN_EINVAL, "partition column %zu is not a name", i);
        cc->parts[cc->n_parts++] =
            (catalog_bytes){(const uint8_t *)json_string_value(p), json_string_length(p)};
    }
    return 0;
}

/* Reads the created table's creation index (the number that makes its
 * metaData.id unique) and recorded time after a read barrier: a follower
 * may not have applied the create yet when the leader's result arrives. */
static int created_index(catalog_routes *cr, const catalog_bytes *name, uint64_t *out,
                         int64_t *ms_out, tarn_err *err)
{
    store_txn *txn = NULL;
    int rc = node_read_barrier(cr->n, cr->timeout_ms, NULL, err);
    if (rc == TARN_ETIMEDOUT)
        rc = busy(err, "table created; reading it back timed out");
    if (rc == 0)
        rc = node_read_begin(cr->n, &txn, err);
    if (rc != 0)
        return rc;
    catalog_table t;
    rc = catalog_table_get(txn, (const char *)name->p, name->len, &t);
    node_read_end(cr->n, txn);
    if (rc != 0)
        return tarn_err_set(err, rc == TARN_ENOENT ? TARN_EBUSY : rc,
                            "table created; reading it back: %s", tarn_error_name(rc));
    *out = t.created_index;
    *ms_out = t.created_ms;
    return 0;
}

/* `,"created_ms":<ms>`, or null for a table created before the catalog
 * recorded creation times. */
static int put_created_ms(tarn_buf *b, int64_t ms)
{
    return ms > 0 ? tarn_buf_printf(b, ",\"created_ms\":%lld", (long long)ms)
                  : tarn_buf_append_str(b, ",\"created_ms\":null");
}

static int h_create(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    catalog_routes *cr = ctx;
    json_t *body = NULL;
    int rc = http_call_json_body(c, &body, err);
    if (rc != 0)
        return rc;
    catalog_create *cc = tarn_calloc(1, sizeof(*cc));
    char loc[LOC_DEFAULT_BYTES], *schema_owned = NULL;
    tarn_buf cmd;
    tarn_buf_init(&cmd, CATALOG_SCHEMA_MAX_BYTES + 2 * CATALOG_LOCATION_MAX_BYTES);
    catalog_result res;
    rc = cc ? create_parse(body, cc, loc, &schema_owned, err)
            : tarn_err_set(err, TARN_ENOMEM, "create");
    /* This member proposes, so its clock gives version 0 its time (the
     * table record keeps it; delta/README.md "Creation time"). */
    if (rc == 0)
        cc->created_ms = tarn_wall_ms();
    if (rc == 0 && (rc = catalog_encode_create(&cmd, cc)) != 0)
        tarn_err_set(err, rc, "%s",
                     rc == TARN_ETOOBIG ? "schema, location or a partition column is too long"
                                        : "bad create command");
    if (rc == 0)
        rc = propose(cr, &cmd, &res, err);
    catalog_bytes name = {NULL, 0};
    char name_buf[CATALOG_NAME_MAX_BYTES + 1];
    name_buf[0] = '\0';
    if (cc != NULL && cc->name.p != NULL && cc->name.len <= CATALOG_NAME_MAX_BYTES) {
        memcpy(name_buf, cc->name.p, cc->name.len);
        name_buf[cc->name.len] = '\0';
        name = (catalog_bytes){(const uint8_t *)name_buf, cc->name.len};
    }
    tarn_buf_free(&cmd);
    tarn_free(schema_owned);
    tarn_free(cc);
    json_decref(body);
    if (rc != 0)
        return rc;
    if (res.code == TARN_EEXIST) {
        char msg[200];
        snprintf(msg, sizeof(msg), "table %s exists (latest version %" PRIu64 ")", name_buf,
                 res.version);
        return reply_error_num(resp, 409, "exists", msg, "version", res.version);
    }
    if (res.code != 0)
        return tarn_err_set(err, res.code, "create %s: %s", name_buf, tarn_error_name(res.code));
    uint64_t created = 0;
    int64_t created_ms = 0;
    if ((rc = created_index(cr, &name, &created, &created_ms, err)) != 0)
        return rc;
    http_response_reset(resp);
    rc = tarn_buf_append_byte(&resp->body, '{');
    if (rc == 0)
        rc = put_str(&resp->body, "name", name_buf, name.len);
    if (rc == 0)
        rc = tarn_buf_printf(&resp->body, ",\"version\":0,\"created_id\":%" PRIu64, created);
    if (rc == 0)
        rc = put_created_ms(&resp->body, created_ms);
    if (rc == 0)
        rc = tarn_buf_append_byte(&resp->body, '}');
    return reply_end(resp, 201, rc);
}

/* ---- GET / DELETE /v1/tables/{name} ---------------------------------------------- */

static int table_json(tarn_buf *b, const char *name, size_t nlen, const catalog_table *t,
                      uint64_t meta_version)
{
    int rc = tarn_buf_append_byte(b, '{');
    if (rc == 0)
        rc = put_str(b, "name", name, nlen);
    if (rc == 0)
        rc = tarn_buf_printf(
            b, ",\"version\":%" PRIu64 ",\"created_id\":%" PRIu64 ",\"metadata_version\":%" PRIu64,
            t->latest_version, t->created_index, meta_version);
    if (rc == 0)
        rc = put_created_ms(b, t->created_ms);
    if (rc == 0)
        rc = tarn_buf_append_byte(b, ',');
    if (rc == 0)
        rc = put_str(b, "location", t->location.p, t->location.len);
    if (rc == 0)
        rc = tarn_buf_append_byte(b, ',');
    if (rc == 0)
        rc = put_str(b, "schema", t->schema.p, t->schema.len);
    if (rc == 0)
        rc = tarn_buf_append_str(b, ",\"partition_columns\":[");
    for (size_t i = 0; rc == 0 && i < t->n_parts; i++) {
        if (i > 0)
            rc = tarn_buf_append_byte(b, ',');
        if (rc == 0)
            rc = tarn_buf_append_json_str(b, (const char *)t->parts[i].p, t->parts[i].len);
    }
    return rc != 0 ? rc : tarn_buf_append_str(b, "]}");
}

static int h_get(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    catalog_routes *cr = ctx;
    const char *name;
    size_t nlen;
    store_txn *txn = NULL;
    int rc = name_param(c, &name, &nlen, err);
    if (rc == 0)
        rc = read_begin(cr, c, &txn, err);
    if (rc != 0)
        return rc;
    catalog_table t;
    uint64_t meta = 0;
    rc = catalog_table_get(txn, name, nlen, &t);
    if (rc == 0)
        rc = catalog_meta_version_get(txn, name, nlen, &meta);
    if (rc == 0) {
        http_response_reset(resp);
        rc = reply_end(resp, 200, table_json(&resp->body, name, nlen, &t, meta));
    } else {
        tarn_err_set(err, rc, rc == TARN_ENOENT ? "no table %s" : "reading table %s", name);
    }
    node_read_end(cr->n, txn);
    return rc;
}

static int h_drop(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    catalog_routes *cr = ctx;
    const char *name;
    size_t nlen;
    int rc = name_param(c, &name, &nlen, err);
    if (rc != 0)
        return rc;
    tarn_buf cmd;
    tarn_buf_init(&cmd, 4096);
    catalog_result res;
    rc = catalog_encode_drop(&cmd, name, nlen);
    if (rc == 0)
        rc = propose(cr, &cmd, &res, err);
    tarn_buf_free(&cmd);
    if (rc != 0)
        return rc;
    if (res.code != 0)
        return tarn_err_set(err, res.code, res.code == TARN_ENOENT ? "no table %s" : "drop %s",
                            name);
    http_response_reset(resp);
    rc = tarn_buf_append_byte(&resp->body, '{');
    if (rc == 0)
        rc = put_str(&resp->body, "name", name, nlen);
    if (rc == 0)
        rc =
            tarn_buf_printf(&resp->body, ",\"dropped\":true,\"version\":%" PRIu64 "}", res.version);
    return reply_end(resp, 200, rc);
}

/* ---- POST /v1/tables/{name}/commits ---------------------------------------------------- */

typedef struct commit_req {
    uint64_t base;
    const char *txn_id;
    size_t txn_id_len;
    const char *actions;
    size_t actions_len;
    char *actions_owned; /* actions given as an array of objects, one line each */
    int blind;
} commit_req;

/* Actions given as a JSON array of action objects: one compact line each. */
static int actions_from_array(json_t *arr, commit_req *q, tarn_err *err)
{
    tarn_buf b;
    tarn_buf_init(&b, CATALOG_ACTIONS_MAX_BYTES);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_array_size(arr); i++) {
        json_t *a = json_array_get(arr, i);
        size_t need = json_is_object(a) ? json_dumpb(a, NULL, 0, JSON_COMPACT) : 0;
        if (!json_is_object(a))
            rc = tarn_err_set(err, TARN_EINVAL, "actions[%zu] is not an object", i);
        else if ((rc = tarn_buf_reserve(&b, need + 1)) != 0)
            rc = tarn_err_set(err, rc, "actions of more than %u bytes", CATALOG_ACTIONS_MAX_BYTES);
        else {
            b.len += json_dumpb(a, (char *)b.data + b.len, need, JSON_COMPACT);
            rc = tarn_buf_append_byte(&b, '\n');
        }
    }
    if (rc != 0) {
        tarn_buf_free(&b);
        return rc == TARN_ENOMEM || rc == TARN_ETOOBIG ? tarn_err_set(err, rc, "actions") : rc;
    }
    q->actions_owned = (char *)b.data; /* tarn_buf memory is tarn_malloc'd */
    q->actions = q->actions_owned;
    q->actions_len = b.len;
    return 0;
}

static int commit_parse(json_t *body, const char *name, commit_req *q, tarn_err *err)
{
    const char *table;
    size_t tlen;
    int rc = body_str(body, "table", 0, &table, &tlen, err);
    if (rc == 0 && table != NULL && strcmp(table, name) != 0)
        rc = tarn_err_set(err, TARN_EINVAL, "\"table\" says %.128s, the path %s", table, name);
    json_t *base = json_object_get(body, "base_version");
    if (rc == 0 && (!json_is_integer(base) || json_integer_value(base) < 0))
        rc = tarn_err_set(err, TARN_EINVAL, "\"base_version\" must be an integer >= 0");
    q->base = rc == 0 ? (uint64_t)json_integer_value(base) : 0;
    if (rc == 0)
        rc = body_str(body, "txn_id", 1, &q->txn_id, &q->txn_id_len, err);
    if (rc == 0 && q->txn_id_len == 0)
        rc = tarn_err_set(err, TARN_EINVAL, "\"txn_id\" is empty");
    if (rc == 0 && q->txn_id_len > CATALOG_TXN_ID_MAX_BYTES)
        rc = tarn_err_set(err, TARN_ETOOBIG, "txn_id of %zu bytes, at most %d", q->txn_id_len,
                          CATALOG_TXN_ID_MAX_BYTES);
    json_t *blind = json_object_get(body, "blind_append");
    if (rc == 0 && blind != NULL && !json_is_boolean(blind))
        rc = tarn_err_set(err, TARN_EINVAL, "\"blind_append\" must be true or false");
    q->blind = json_is_true(blind);
    json_t *actions = json_object_get(body, "actions");
    if (rc == 0 && json_is_array(actions))
        return actions_from_array(actions, q, err);
    if (rc == 0 && !json_is_string(actions))
        rc = tarn_err_set(err, TARN_EINVAL,
                          "\"actions\" must be the commit's JSON lines (a string) or an array "
                          "of action objects");
    if (rc == 0) {
        q->actions = json_string_value(actions);
        q->actions_len = json_string_length(actions);
    }
    return rc;
}

/* The COMMIT2 flags from the actions (rule 6 of catalog.h); 400 for
 * actions that are not Delta action lines, or a blind append that does
 * more than add files. */
static int commit_flags(const commit_req *q, uint8_t *flags, tarn_err *err)
{
    if (q->actions_len > CATALOG_ACTIONS_MAX_BYTES)
        return tarn_err_set(err, TARN_ETOOBIG, "actions of %zu bytes, at most %u", q->actions_len,
                            CATALOG_ACTIONS_MAX_BYTES);
    char msg[240];
    int add_only = 0, metadata = 0;
    int rc = catalog_actions_classify(q->actions, q->actions_len, &add_only, &metadata, msg,
                                      sizeof(msg));
    if (rc != 0)
        return tarn_err_set(err, rc, "%s", rc == TARN_ENOMEM ? "classifying actions" : msg);
    if (q->blind && !add_only)
        return tarn_err_set(err, TARN_EINVAL,
                            "a blind append holds add actions (and commitInfo) only");
    *flags = q->blind ? CATALOG_COMMIT_BLIND_APPEND : metadata ? CATALOG_COMMIT_METADATA : 0;
    return 0;
}

static int commit_reply(http_response *resp, const char *name, const commit_req *q,
                        const catalog_result *res, tarn_err *err)
{
    char msg[300];
    if (res->code == TARN_ECONFLICT) {
        if (q->blind && q->base <= res->version)
            snprintf(msg, sizeof(msg),
                     "table %s: a commit after base version %" PRIu64
                     " changed the metadata or protocol (latest %" PRIu64 ")",
                     name, q->base, res->version);
        else
            snprintf(msg, sizeof(msg),
                     "table %s: base version %" PRIu64 " is not the latest (%" PRIu64 ")", name,
                     q->base, res->version);
        return reply_error_num(resp, 409, "conflict", msg, "version", res->version);
    }
    if (res->code != 0)
        return tarn_err_set(err, res->code, res->code == TARN_ENOENT ? "no table %s" : "commit %s",
                            name);
    http_response_reset(resp);
    int rc = tarn_buf_append_byte(&resp->body, '{');
    if (rc == 0)
        rc = put_str(&resp->body, "table", name, strlen(name));
    if (rc == 0)
        rc = tarn_buf_printf(
            &resp->body, ",\"version\":%" PRIu64 ",\"base_version\":%" PRIu64 ",\"duplicate\":%s}",
            res->version, q->base, res->duplicate ? "true" : "false");
    return reply_end(resp, 200, rc);
}

/* A commit waiting for its entry (http.h "deferred replies"): what
 * commit_reply needs once it is applied. */
typedef struct commit_wait {
    http_deferred *d;
    uint64_t base;
    int blind;
    char name[]; /* the table */
} commit_wait;

/* The node's answer to propose's codes, for a command proposed
 * asynchronously (same mapping as propose). */
static int propose_code(int rc, tarn_err *err)
{
    if (rc == TARN_ETIMEDOUT || rc == TARN_ECLOSED || rc == TARN_ESTATE)
        return busy(err, "outcome unknown; retry (a commit: same txn_id)");
    if (rc == TARN_ETOOBIG)
        return tarn_err_wrap(err, rc, "the command is larger than a replicated entry may be");
    return rc;
}

/* node_done_fn of a commit: on a node thread, never under its lock. */
static void commit_done(void *ctx, int rc, const store_result *sr)
{
    commit_wait *w = ctx;
    tarn_err err = TARN_ERR_INIT;
    catalog_result res;
    if (rc != 0) {
        tarn_err_set(&err, rc, "propose: %s", tarn_error_name(rc));
        rc = propose_code(rc, &err);
    } else if (catalog_result_decode(sr, &res) != 0) {
        rc = tarn_err_set(&err, TARN_EINTERNAL, "undecodable catalog result");
    }
    if (rc == 0) {
        commit_req q = {.base = w->base, .blind = w->blind};
        rc = commit_reply(http_deferred_response(w->d), w->name, &q, &res, &err);
    }
    http_deferred_finish(w->d, rc, &err);
    tarn_free(w);
}

/* Proposes the commit without holding the server thread; the reply is
 * deferred until it is applied. 0, or TARN_ENOMEM before deferring. */
static int commit_deferred(catalog_routes *cr, const tarn_buf *cmd, const char *name,
                           const commit_req *q, http_response *resp, tarn_err *err)
{
    size_t nlen = strlen(name);
    commit_wait *w = tarn_malloc(sizeof(*w) + nlen + 1);
    if (w == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "commit: allocate");
    w->base = q->base;
    w->blind = q->blind;
    memcpy(w->name, name, nlen + 1);
    if (http_reply_defer(resp, &w->d) != 0) {
        tarn_free(w);
        return tarn_err_set(err, TARN_ENOMEM, "commit: defer the reply");
    }
    int rc = node_propose_async(cr->n, cmd->data, cmd->len, cr->timeout_ms, commit_done, w, err);
    if (rc != 0) { /* nothing proposed; commit_done will not run */
        http_deferred_finish(w->d, propose_code(rc, err), err);
        tarn_free(w);
    }
    return 0;
}

static int h_commit(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    catalog_routes *cr = ctx;
    const char *name;
    size_t nlen;
    json_t *body = NULL;
    int rc = name_param(c, &name, &nlen, err);
    if (rc == 0)
        rc = http_call_json_body(c, &body, err);
    if (rc != 0)
        return rc;
    commit_req q = {0};
    uint8_t flags = 0;
    tarn_buf cmd;
    tarn_buf_init(&cmd, CATALOG_ACTIONS_MAX_BYTES + 512);
    rc = commit_parse(body, name, &q, err);
    if (rc == 0)
        rc = commit_flags(&q, &flags, err);
    if (rc == 0 && (rc = catalog_encode_commit2(&cmd, name, nlen, q.base, flags, q.txn_id,
                                                q.txn_id_len, q.actions, q.actions_len)) != 0)
        tarn_err_set(err, rc, "encoding the commit");
    if (rc == 0) /* the reply comes when the entry is applied */
        rc = commit_deferred(cr, &cmd, name, &q, resp, err);
    tarn_buf_free(&cmd);
    tarn_free(q.actions_owned);
    json_decref(body);
    return rc;
}

/* ---- GET /v1/tables/{name}/commits ------------------------------------------------- */

static int version_json(tarn_buf *b, uint64_t v, const catalog_version *cv)
{
    int rc = tarn_buf_printf(b, "{\"version\":%" PRIu64 ",\"txn_id\":", v);
    if (rc == 0 && cv->txn_id.len > 0)
        rc = tarn_buf_append_json_str(b, (const char *)cv->txn_id.p, cv->txn_id.len);
    else if (rc == 0)
        rc = tarn_buf_append_str(b, "null");
    if (rc == 0)
        rc = tarn_buf_printf(b,
                             ",\"commit_index\":%" PRIu64 ",\"log_written\":%s,\"blind_append\":%s,"
                             "\"metadata\":%s,",
                             cv->commit_index, cv->log_written ? "true" : "false",
                             cv->flags & CATALOG_COMMIT_BLIND_APPEND ? "true" : "false",
                             cv->flags & CATALOG_COMMIT_METADATA ? "true" : "false");
    if (rc == 0)
        rc = put_str(b, "actions", cv->actions.p, cv->actions.len);
    return rc != 0 ? rc : tarn_buf_append_byte(b, '}');
}

typedef struct range_args {
    uint64_t from, to, limit;
} range_args;

static int range_parse(const http_call *c, range_args *a, tarn_err *err)
{
    *a = (range_args){0, UINT64_MAX, 100};
    int rc = query_u64(c, "from", INT64_MAX, &a->from, err);
    if (rc == 0)
        rc = query_u64(c, "to", INT64_MAX, &a->to, err);
    if (rc == 0)
        rc = query_u64(c, "limit", CATALOG_VERSIONS_LIMIT_MAX, &a->limit, err);
    if (rc == 0 && a->limit == 0)
        rc = tarn_err_set(err, TARN_EINVAL, "limit must be 1..%d", CATALOG_VERSIONS_LIMIT_MAX);
    if (rc == 0 && a->to < a->from)
        rc = tarn_err_set(err, TARN_EINVAL, "to is before from");
    return rc;
}

/* Versions from..to (capped by the latest, the limit and the body size);
 * *next is the first version left out, or UINT64_MAX. */
static int versions_page(store_txn *txn, const char *name, size_t nlen, const range_args *a,
                         uint64_t latest, tarn_buf *b, uint64_t *next)
{
    uint64_t to = a->to < latest ? a->to : latest, v = a->from;
    int rc = 0;
    *next = UINT64_MAX;
    for (uint64_t n = 0; rc == 0 && v <= to; v++, n++) {
        if (n == a->limit || (n > 0 && b->len > CATALOG_VERSIONS_BODY_MAX)) {
            *next = v;
            break;
        }
        catalog_version cv;
        rc = catalog_version_get(txn, name, nlen, v, &cv);
        if (rc == 0 && n > 0)
            rc = tarn_buf_append_byte(b, ',');
        if (rc == 0)
            rc = version_json(b, v, &cv);
    }
    return rc;
}

static int h_versions(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    catalog_routes *cr = ctx;
    const char *name;
    size_t nlen;
    range_args a;
    store_txn *txn = NULL;
    int rc = name_param(c, &name, &nlen, err);
    if (rc == 0)
        rc = range_parse(c, &a, err);
    if (rc == 0)
        rc = read_begin(cr, c, &txn, err);
    if (rc != 0)
        return rc;
    catalog_table t;
    uint64_t next = UINT64_MAX;
    rc = catalog_table_get(txn, name, nlen, &t);
    http_response_reset(resp);
    tarn_buf *b = &resp->body;
    if (rc == 0)
        rc = tarn_buf_append_byte(b, '{');
    if (rc == 0)
        rc = put_str(b, "table", name, nlen);
    if (rc == 0)
        rc = tarn_buf_printf(b, ",\"latest\":%" PRIu64 ",\"versions\":[", t.latest_version);
    if (rc == 0)
        rc = versions_page(txn, name, nlen, &a, t.latest_version, b, &next);
    node_read_end(cr->n, txn);
    if (rc == 0 && next != UINT64_MAX)
        rc = tarn_buf_printf(b, "],\"next\":%" PRIu64 "}", next);
    else if (rc == 0)
        rc = tarn_buf_append_str(b, "],\"next\":null}");
    if (rc != 0 && rc != TARN_ENOMEM)
        tarn_err_set(err, rc, rc == TARN_ENOENT ? "no table %s" : "reading versions of %s", name);
    return reply_end(resp, 200, rc);
}

/* ---- POST /v1/tables/{name}/commits/{version}/written ------------------------------ */

static int h_written(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    catalog_routes *cr = ctx;
    const char *name, *vs = http_call_param(c, "version");
    size_t nlen;
    int rc = name_param(c, &name, &nlen, err);
    if (rc != 0)
        return rc;
    char *end = NULL;
    unsigned long long v = vs && *vs >= '0' && *vs <= '9' ? strtoull(vs, &end, 10) : 0;
    if (end == NULL || *end != '\0' || v > INT64_MAX)
        return tarn_err_set(err, TARN_EINVAL, "the version must be a number");
    tarn_buf cmd;
    tarn_buf_init(&cmd, 4096);
    catalog_result res;
    rc = catalog_encode_log_written(&cmd, name, nlen, v);
    if (rc == 0)
        rc = propose(cr, &cmd, &res, err);
    tarn_buf_free(&cmd);
    if (rc != 0)
        return rc;
    if (res.code != 0)
        return tarn_err_set(err, res.code, "table %s has no version %llu", name, v);
    http_response_reset(resp);
    rc = tarn_buf_append_byte(&resp->body, '{');
    if (rc == 0)
        rc = put_str(&resp->body, "table", name, nlen);
    if (rc == 0)
        rc = tarn_buf_printf(&resp->body, ",\"version\":%llu,\"log_written\":true}", v);
    return reply_end(resp, 200, rc);
}

int catalog_routes_add(http_router *r, catalog_routes *cr)
{
    static const struct {
        const char *method, *pattern;
        http_role role;
        http_handler_fn fn;
    } routes[] = {
        {"GET", "/v1/catalog", HTTP_ROLE_READ, h_info},
        {"GET", "/v1/catalog/pending", HTTP_ROLE_READ, h_pending},
        {"GET", "/v1/tables", HTTP_ROLE_READ, h_list},
        {"POST", "/v1/tables", HTTP_ROLE_WRITE, h_create},
        {"GET", "/v1/tables/{name}", HTTP_ROLE_READ, h_get},
        {"DELETE", "/v1/tables/{name}", HTTP_ROLE_ADMIN, h_drop},
        {"POST", "/v1/tables/{name}/commits", HTTP_ROLE_WRITE, h_commit},
        {"GET", "/v1/tables/{name}/commits", HTTP_ROLE_READ, h_versions},
        {"POST", "/v1/tables/{name}/commits/{version}/written", HTTP_ROLE_WRITE, h_written},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = http_router_add(r, routes[i].method, routes[i].pattern, routes[i].role,
                                 routes[i].fn, cr);
        if (rc != 0)
            return rc;
    }
    return 0;
}
