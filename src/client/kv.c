/*
 * client/kv.c: the key-value calls and the timestamp oracle of
 * include/tarn.h, mapped onto the HTTP API of src/kv/kv_routes.h:
 *
 *   tarn_kv_get     GET /v1/kv/{key}        (keys with '/': a one-key scan)
 *   tarn_kv_put     PUT /v1/kv/{key}        If-Match / If-None-Match: *
 *                   POST /v1/kv/txn         compare by value, keys with '/'
 *   tarn_kv_delete  DELETE /v1/kv/{key}     If-Match (by value, '/': txn)
 *   tarn_kv_scan    GET /v1/kv?start=&end=&limit=&token=
 *   tarn_kv_txn     POST /v1/kv/txn
 *   tarn_tso        POST /v1/tso?count=N
 */
#include "client/client_int.h"

#include "base/alloc.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Tries of a delete of a '/' key whose version keeps moving under it. */
#define CLIENT_DELETE_TRIES_MAX 16

void tarn_kv_item_free(tarn_kv_item *it)
{
    if (!it)
        return;
    tarn_free(it->key);
    tarn_free(it->value);
    memset(it, 0, sizeof(*it));
}

void tarn_kv_page_free(tarn_kv_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->count; i++)
        tarn_kv_item_free(&p->items[i]);
    tarn_free(p->items);
    tarn_free(p->next_token);
    memset(p, 0, sizeof(*p));
}

static int needs_txn_path(const void *key, size_t len)
{
    return memchr(key, '/', len) != NULL;
}

/* "/v1/kv/<percent-encoded key>[?consistency=serializable]" */
static int key_path(tarn_buf *b, const void *key, size_t len, const tarn_call_opts *co)
{
    int rc = tarn_buf_append_str(b, "/v1/kv/");
    if (rc == 0)
        rc = client_pct_append(b, key, len);
    if (rc == 0 && co && co->serializable)
        rc = tarn_buf_append_str(b, "?consistency=serializable");
    return rc;
}

/* One item of a GET reply or a scan page. */
static int item_parse(json_t *o, const char *what, tarn_kv_item *it, tarn_err *err)
{
    memset(it, 0, sizeof(*it));
    json_t *k = json_object_get(o, "key");
    json_t *v = json_object_get(o, "value");
    if (!json_is_string(k) || !json_is_string(v))
        return tarn_err_set(err, TARN_EIO, "%s: an item without a key or value", what);
    int rc = client_json_u64(o, "version", what, &it->version, err);
    if (rc == 0)
        rc = client_json_u64(o, "mod_index", what, &it->mod_index, err);
    if (rc == 0)
        rc = client_json_u64(o, "create_index", what, &it->create_index, err);
    if (rc != 0)
        return rc;
    it->key_len = json_string_length(k);
    it->key = tarn_malloc(it->key_len + 1);
    if (!it->key)
        return tarn_err_set(err, TARN_ENOMEM, "%s: item", what);
    memcpy(it->key, json_string_value(k), it->key_len + 1);
    rc = client_b64_decode(json_string_value(v), json_string_length(v), &it->value, &it->value_len);
    if (rc != 0) {
        tarn_kv_item_free(it);
        return tarn_err_set(err, rc == TARN_ENOMEM ? rc : TARN_EIO,
                            "%s: an item's value is not base64", what);
    }
    return 0;
}

/* Fills a write's result from a 200 or 409 reply. */
static int result_parse(const client_reply *rp, const char *what, tarn_kv_result *out,
                        tarn_err *err)
{
    void *root = NULL;
    tarn_err perr = TARN_ERR_INIT;
    int rc = client_json_object(rp, what, &root, &perr);
    uint64_t fc = 0;
    if (rc == 0 && json_object_get(root, "version"))
        rc = client_json_u64(root, "version", what, &out->version, &perr);
    if (rc == 0)
        rc = client_json_u64(root, "mod_index", what, &out->mod_index, &perr);
    if (rc == 0 && rp->status == 409)
        rc = client_json_u64(root, "failed_compare", what, &fc, &perr);
    out->failed_compare = (uint32_t)fc;
    json_decref(root);
    if (rc != 0 && err)
        *err = perr;
    return rc;
}

/* Runs a write request; fills out (may be NULL) from the reply, also on a
 * failed compare. */
static int write_call(tarn_client *c, const client_req *rq, const tarn_call_opts *co,
                      tarn_kv_result *out, tarn_err *err)
{
    tarn_kv_result local;
    tarn_kv_result *r = out ? out : &local;
    memset(r, 0, sizeof(*r));
    client_reply rp;
    client_reply_init(&rp);
    int rc = client_call(c, rq, co, &rp, err);
    r->uncertain = rp.uncertain;
    if (rc == 0 || rc == TARN_ECONFLICT) {
        int prc = result_parse(&rp, rq->what, r, rc == 0 ? err : NULL);
        if (rc == 0)
            rc = prc;
    }
    client_reply_free(&rp);
    return rc;
}

/* A key with '/': the first item of a one-item scan from the key. */
static int get_by_scan(tarn_client *c, const void *key, size_t key_len, const tarn_call_opts *co,
                       tarn_kv_item *out, tarn_err *err)
{
    tarn_kv_scan_opts so = {.start = key, .start_len = key_len, .limit = 1};
    tarn_kv_page page;
    int rc = tarn_kv_scan(c, &so, co, &page, err);
    if (rc != 0)
        return rc;
    if (page.count == 1 && page.items[0].key_len == key_len &&
        memcmp(page.items[0].key, key, key_len) == 0) {
        *out = page.items[0];
        page.count = 0;
    } else {
        char shown[80];
        client_key_show(key, key_len, shown, sizeof(shown));
        rc = tarn_err_set(err, TARN_ENOENT, "get '%s': no such key", shown);
    }
    tarn_kv_page_free(&page);
    return rc;
}

int tarn_kv_get(tarn_client *c, const void *key, size_t key_len, const tarn_call_opts *co,
                tarn_kv_item *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = client_key_check(key, key_len, err);
    if (rc != 0)
        return rc;
    if (needs_txn_path(key, key_len))
        return get_by_scan(c, key, key_len, co, out, err);
    char what[96], shown[80];
    client_key_show(key, key_len, shown, sizeof(shown));
    snprintf(what, sizeof(what), "get '%s'", shown);
    tarn_buf path;
    tarn_buf_init(&path, CLIENT_PATH_MAX);
    if (key_path(&path, key, key_len, co) != 0) {
        tarn_buf_free(&path);
        return tarn_err_set(err, TARN_ENOMEM, "%s: path", what);
    }
    client_req rq = {.method = "GET", .path = tarn_buf_cstr(&path), .what = what};
    client_reply rp;
    client_reply_init(&rp);
    rc = client_call(c, &rq, co, &rp, err);
    void *root = NULL;
    if (rc == 0)
        rc = client_json_object(&rp, what, &root, err);
    if (rc == 0)
        rc = item_parse(root, what, out, err);
    json_decref(root);
    client_reply_free(&rp);
    tarn_buf_free(&path);
    return rc;
}

/* ---- transactions --------------------------------------------------------- */

static int txn_json_key(tarn_buf *b, const void *key, size_t len, tarn_err *err)
{
    int rc = client_key_check(key, len, err);
    if (rc == 0 && !client_utf8_valid(key, len))
        rc = tarn_err_set(err, TARN_EINVAL, "a key in a transaction must be valid UTF-8");
    if (rc == 0 && (rc = tarn_buf_append_str(b, "{\"key\":")) == 0)
        rc = tarn_buf_append_json_str(b, key, len);
    return rc;
}

static int txn_json_value(tarn_buf *b, const void *value, size_t len, tarn_err *err)
{
    if (len > TARN_KV_VALUE_MAX_BYTES)
        return tarn_err_set(err, TARN_ETOOBIG, "value of %zu bytes, at most %u", len,
                            TARN_KV_VALUE_MAX_BYTES);
    if (!value && len > 0)
        return tarn_err_set(err, TARN_EINVAL, "NULL value of %zu bytes", len);
    int rc = tarn_buf_append_str(b, ",\"value\":\"");
    if (rc == 0)
        rc = client_b64_append(b, value, len);
    return rc ? rc : tarn_buf_append_str(b, "\"}");
}

static int txn_json_compare(tarn_buf *b, const tarn_kv_compare *cmp, tarn_err *err)
{
    const tarn_kv_cond *cd = &cmp->cond;
    if (cd->kind == TARN_KV_IF_VERSION && cd->version == 0)
        return tarn_err_set(err, TARN_EINVAL, "a version compare needs a version >= 1");
    if (cd->kind != TARN_KV_IF_VERSION && cd->kind != TARN_KV_IF_ABSENT &&
        cd->kind != TARN_KV_IF_VALUE)
        return tarn_err_set(err, TARN_EINVAL, "a compare is by version, absence or value");
    int rc = txn_json_key(b, cmp->key, cmp->key_len, err);
    if (rc == 0 && cd->kind == TARN_KV_IF_VALUE)
        return txn_json_value(b, cd->value, cd->value_len, err);
    if (rc == 0)
        rc = tarn_buf_printf(b, ",\"version\":%" PRIu64 "}",
                             cd->kind == TARN_KV_IF_ABSENT ? 0 : cd->version);
    return rc;
}

/* Appends the operations of one kind as a JSON array named `name`. */
static int txn_json_ops(tarn_buf *b, const char *name, const tarn_kv_op *ops, size_t n,
                        tarn_kv_op_kind kind, tarn_err *err)
{
    int rc = tarn_buf_printf(b, ",\"%s\":[", name);
    int first = 1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (ops[i].kind != kind)
            continue;
        if (!first)
            rc = tarn_buf_append_byte(b, ',');
        first = 0;
        if (rc == 0)
            rc = txn_json_key(b, ops[i].key, ops[i].key_len, err);
        if (rc == 0)
            rc = kind == TARN_KV_OP_PUT ? txn_json_value(b, ops[i].value, ops[i].value_len, err)
                                        : tarn_buf_append_byte(b, '}');
    }
    return rc ? rc : tarn_buf_append_byte(b, ']');
}

static int txn_body(tarn_buf *b, const tarn_kv_compare *cmps, size_t n_cmps, const tarn_kv_op *ops,
                    size_t n_ops, tarn_err *err)
{
    if (n_ops == 0 || n_ops > TARN_KV_TXN_OPS_MAX || n_cmps > TARN_KV_TXN_OPS_MAX)
        return tarn_err_set(err, n_ops == 0 ? TARN_EINVAL : TARN_ETOOBIG,
                            "a transaction has 1..%d operations and at most %d compares",
                            TARN_KV_TXN_OPS_MAX, TARN_KV_TXN_OPS_MAX);
    if ((n_cmps && !cmps) || !ops)
        return tarn_err_set(err, TARN_EINVAL, "NULL compares or operations");
    for (size_t i = 0; i < n_ops; i++)
        if (ops[i].kind != TARN_KV_OP_PUT && ops[i].kind != TARN_KV_OP_DELETE)
            return tarn_err_set(err, TARN_EINVAL, "operation %zu is neither put nor delete", i);
    int rc = tarn_buf_append_str(b, "{\"compare\":[");
    for (size_t i = 0; rc == 0 && i < n_cmps; i++) {
        if (i > 0)
            rc = tarn_buf_append_byte(b, ',');
        if (rc == 0)
            rc = txn_json_compare(b, &cmps[i], err);
    }
    if (rc == 0)
        rc = tarn_buf_append_byte(b, ']');
    if (rc == 0)
        rc = txn_json_ops(b, "put", ops, n_ops, TARN_KV_OP_PUT, err);
    if (rc == 0)
        rc = txn_json_ops(b, "delete", ops, n_ops, TARN_KV_OP_DELETE, err);
    if (rc == 0)
        rc = tarn_buf_append_byte(b, '}');
    if (rc != 0 && (!err || err->code == 0))
        tarn_err_set(err, rc, "transaction body");
    return rc;
}

/* Body of a txn: keys, values, base64 and JSON around them. */
#define CLIENT_TXN_BODY_MAX (8u << 20)

int tarn_kv_txn(tarn_client *c, const tarn_kv_compare *cmps, size_t n_cmps, const tarn_kv_op *ops,
                size_t n_ops, const tarn_call_opts *co, tarn_kv_result *out, tarn_err *err)
{
    if (out)
        memset(out, 0, sizeof(*out));
    tarn_buf body;
    tarn_buf_init(&body, CLIENT_TXN_BODY_MAX);
    int rc = txn_body(&body, cmps, n_cmps, ops, n_ops, err);
    if (rc == 0) {
        client_req rq = {.method = "POST",
                         .path = "/v1/kv/txn",
                         .body = body.data,
                         .body_len = body.len,
                         .content_type = "application/json",
                         .is_write = 1,
                         .what = "txn"};
        rc = write_call(c, &rq, co, out, err);
    }
    tarn_buf_free(&body);
    return rc;
}

/* ---- put and delete ------------------------------------------------------- */

static int cond_check(const tarn_kv_cond *cond, int for_delete, tarn_err *err)
{
    if (!cond || cond->kind == TARN_KV_ALWAYS)
        return 0;
    if (cond->kind == TARN_KV_IF_VERSION && cond->version == 0)
        return tarn_err_set(err, TARN_EINVAL, "expected version must be >= 1");
    if (cond->kind == TARN_KV_IF_ABSENT && for_delete)
        return tarn_err_set(err, TARN_EINVAL, "a delete cannot require the key to be absent");
    if (cond->kind == TARN_KV_IF_VALUE && !cond->value && cond->value_len > 0)
        return tarn_err_set(err, TARN_EINVAL, "NULL expected value");
    if (cond->kind < TARN_KV_ALWAYS || cond->kind > TARN_KV_IF_VALUE)
        return tarn_err_set(err, TARN_EINVAL, "unknown condition kind %d", (int)cond->kind);
    return 0;
}

/* A conditional write through POST /v1/kv/txn: one compare from cond (if
 * any) and one operation. */
static int write_by_txn(tarn_client *c, const tarn_kv_op *op, const tarn_kv_cond *cond,
                        const tarn_call_opts *co, tarn_kv_result *out, tarn_err *err)
{
    tarn_kv_compare cmp = {.key = op->key, .key_len = op->key_len};
    int has = cond && cond->kind != TARN_KV_ALWAYS;
    if (has)
        cmp.cond = *cond;
    int rc = tarn_kv_txn(c, &cmp, has ? 1 : 0, op, 1, co, out, err);
    if (rc == 0 && out && op->kind == TARN_KV_OP_PUT && has)
        out->version = cond->kind == TARN_KV_IF_VERSION  ? cond->version + 1
                       : cond->kind == TARN_KV_IF_ABSENT ? 1
                                                         : 0;
    return rc;
}

/* PUT or DELETE /v1/kv/{key} with If-Match / If-None-Match from cond. */
static int write_by_path(tarn_client *c, const char *method, const void *key, size_t key_len,
                         const void *value, size_t value_len, const tarn_kv_cond *cond,
                         const tarn_call_opts *co, tarn_kv_result *out, tarn_err *err)
{
    char what[96], shown[80], version[24];
    client_key_show(key, key_len, shown, sizeof(shown));
    snprintf(what, sizeof(what), "%s '%s'", method[0] == 'P' ? "put" : "delete", shown);
    tarn_buf path;
    tarn_buf_init(&path, CLIENT_PATH_MAX);
    if (key_path(&path, key, key_len, NULL) != 0) {
        tarn_buf_free(&path);
        return tarn_err_set(err, TARN_ENOMEM, "%s: path", what);
    }
    client_req rq = {.method = method,
                     .path = tarn_buf_cstr(&path),
                     .is_write = 1,
                     .what = what,
                     .content_type = "application/octet-stream"};
    if (method[0] == 'P')
        rq.body = value ? value : "", rq.body_len = value_len;
    if (cond && cond->kind == TARN_KV_IF_VERSION) {
        snprintf(version, sizeof(version), "%" PRIu64, cond->version);
        rq.if_match = version;
    }
    rq.if_none_match_any = cond && cond->kind == TARN_KV_IF_ABSENT;
    int rc = write_call(c, &rq, co, out, err);
    tarn_buf_free(&path);
    return rc;
}

int tarn_kv_put(tarn_client *c, const void *key, size_t key_len, const void *value,
                size_t value_len, const tarn_kv_cond *cond, const tarn_call_opts *co,
                tarn_kv_result *out, tarn_err *err)
{
    if (out)
        memset(out, 0, sizeof(*out));
    int rc = client_key_check(key, key_len, err);
    if (rc == 0)
        rc = cond_check(cond, 0, err);
    if (rc == 0 && value_len > TARN_KV_VALUE_MAX_BYTES)
        rc = tarn_err_set(err, TARN_ETOOBIG, "value of %zu bytes, at most %u", value_len,
                          TARN_KV_VALUE_MAX_BYTES);
    if (rc == 0 && !value && value_len > 0)
        rc = tarn_err_set(err, TARN_EINVAL, "NULL value of %zu bytes", value_len);
    if (rc != 0)
        return rc;
    if (needs_txn_path(key, key_len) || (cond && cond->kind == TARN_KV_IF_VALUE)) {
        tarn_kv_op op = {TARN_KV_OP_PUT, key, key_len, value, value_len};
        return write_by_txn(c, &op, cond, co, out, err);
    }
    return write_by_path(c, "PUT", key, key_len, value, value_len, cond, co, out, err);
}

/* An unconditional delete of a '/' key: a txn delete of an absent key is
 * a no-op, so read the version first and delete on it (TARN_ENOENT when
 * absent, as for other keys), again while it keeps moving. */
static int delete_slash_key(tarn_client *c, const void *key, size_t key_len,
                            const tarn_call_opts *co, tarn_kv_result *out, tarn_err *err)
{
    int rc = TARN_ECONFLICT;
    for (int i = 0; i < CLIENT_DELETE_TRIES_MAX && rc == TARN_ECONFLICT; i++) {
        tarn_kv_item it;
        rc = tarn_kv_get(c, key, key_len, co, &it, err);
        if (rc != 0)
            return rc;
        tarn_kv_cond cond = {.kind = TARN_KV_IF_VERSION, .version = it.version};
        tarn_kv_item_free(&it);
        tarn_kv_op op = {TARN_KV_OP_DELETE, key, key_len, NULL, 0};
        tarn_kv_result r;
        rc = write_by_txn(c, &op, &cond, co, &r, err);
        if (out)
            *out = r;
        if (rc == TARN_ECONFLICT && r.version == 0)
            return tarn_err_set(err, TARN_ENOENT, "delete: no such key");
    }
    return rc;
}

int tarn_kv_delete(tarn_client *c, const void *key, size_t key_len, const tarn_kv_cond *cond,
                   const tarn_call_opts *co, tarn_kv_result *out, tarn_err *err)
{
    if (out)
        memset(out, 0, sizeof(*out));
    int rc = client_key_check(key, key_len, err);
    if (rc == 0)
        rc = cond_check(cond, 1, err);
    if (rc != 0)
        return rc;
    int conditional = cond && cond->kind != TARN_KV_ALWAYS;
    if (needs_txn_path(key, key_len) && !conditional)
        return delete_slash_key(c, key, key_len, co, out, err);
    if (needs_txn_path(key, key_len) || (cond && cond->kind == TARN_KV_IF_VALUE)) {
        tarn_kv_op op = {TARN_KV_OP_DELETE, key, key_len, NULL, 0};
        return write_by_txn(c, &op, cond, co, out, err);
    }
    return write_by_path(c, "DELETE", key, key_len, NULL, 0, cond, co, out, err);
}

/* ---- scan ----------------------------------------------------------------- */

static int scan_path(tarn_buf *b, const tarn_kv_scan_opts *so, const tarn_call_opts *co)
{
    int rc = tarn_buf_printf(b, "/v1/kv?limit=%zu", so->limit ? so->limit : 100);
    if (rc == 0 && so->start && so->start_len) {
        rc = tarn_buf_append_str(b, "&start=");
        if (rc == 0)
            rc = client_pct_append(b, so->start, so->start_len);
    }
    if (rc == 0 && so->end && so->end_len) {
        rc = tarn_buf_append_str(b, "&end=");
        if (rc == 0)
            rc = client_pct_append(b, so->end, so->end_len);
    }
    if (rc == 0 && so->token)
        rc = tarn_buf_printf(b, "&token=%s", so->token);
    if (rc == 0 && co && co->serializable)
        rc = tarn_buf_append_str(b, "&consistency=serializable");
    return rc;
}

static int scan_check(const tarn_kv_scan_opts *so, tarn_err *err)
{
    if (!so)
        return tarn_err_set(err, TARN_EINVAL, "scan: NULL options");
    if (so->limit > TARN_KV_SCAN_LIMIT_MAX)
        return tarn_err_set(err, TARN_EINVAL, "scan: limit must be 1..%d", TARN_KV_SCAN_LIMIT_MAX);
    if ((so->start && so->start_len > TARN_KV_KEY_MAX_BYTES) ||
        (so->end && so->end_len > TARN_KV_KEY_MAX_BYTES))
        return tarn_err_set(err, TARN_ETOOBIG, "scan: a bound longer than %d bytes",
                            TARN_KV_KEY_MAX_BYTES);
    size_t tl = so->token ? strlen(so->token) : 0;
    if (so->token &&
        (tl == 0 || tl > 2 * TARN_KV_KEY_MAX_BYTES || strspn(so->token, "0123456789abcdef") != tl))
        return tarn_err_set(err, TARN_EINVAL, "scan: a token is the lowercase hex of a key");
    return 0;
}

static int page_parse(json_t *root, tarn_kv_page *out, tarn_err *err)
{
    json_t *items = json_object_get(root, "items");
    json_t *next = json_object_get(root, "next");
    if (!json_is_array(items) || (!json_is_null(next) && !json_is_string(next)))
        return tarn_err_set(err, TARN_EIO, "scan: the reply has no items or next");
    size_t n = json_array_size(items);
    out->items = tarn_calloc(n ? n : 1, sizeof(*out->items));
    if (!out->items)
        return tarn_err_set(err, TARN_ENOMEM, "scan: items");
    for (size_t i = 0; i < n; i++) {
        int rc = item_parse(json_array_get(items, i), "scan", &out->items[i], err);
        if (rc != 0)
            return rc;
        out->count = i + 1;
    }
    if (json_is_string(next) && json_string_length(next) > 0) {
        out->next_token = tarn_strdup(json_string_value(next));
        if (!out->next_token)
            return tarn_err_set(err, TARN_ENOMEM, "scan: token");
    }
    return 0;
}

int tarn_kv_scan(tarn_client *c, const tarn_kv_scan_opts *so, const tarn_call_opts *co,
                 tarn_kv_page *out, tarn_err *err)
{
    memset(out, 0, sizeof(*out));
    int rc = scan_check(so, err);
    if (rc != 0)
        return rc;
    tarn_buf path;
    tarn_buf_init(&path, CLIENT_PATH_MAX);
    if (scan_path(&path, so, co) != 0) {
        tarn_buf_free(&path);
        return tarn_err_set(err, TARN_ENOMEM, "scan: path");
    }
    client_req rq = {.method = "GET", .path = tarn_buf_cstr(&path), .what = "scan"};
    client_reply rp;
    client_reply_init(&rp);
    rc = client_call(c, &rq, co, &rp, err);
    void *root = NULL;
    if (rc == 0)
        rc = client_json_object(&rp, "scan", &root, err);
    if (rc == 0)
        rc = page_parse(root, out, err);
    if (rc != 0)
        tarn_kv_page_free(out);
    json_decref(root);
    client_reply_free(&rp);
    tarn_buf_free(&path);
    return rc;
}

/* ---- the timestamp oracle ------------------------------------------------- */

int tarn_tso(tarn_client *c, uint32_t count, const tarn_call_opts *co, uint64_t *first_out,
             tarn_err *err)
{
    if (count == 0 || count > TARN_TSO_COUNT_MAX)
        return tarn_err_set(err, count ? TARN_ETOOBIG : TARN_EINVAL, "tso: count must be 1..%d",
                            TARN_TSO_COUNT_MAX);
    char path[48];
    snprintf(path, sizeof(path), "/v1/tso?count=%" PRIu32, count);
    /* Not a write for uncertainty: a lost reply only skips numbers. */
    client_req rq = {.method = "POST", .path = path, .body = "", .what = "tso"};
    client_reply rp;
    client_reply_init(&rp);
    int rc = client_call(c, &rq, co, &rp, err);
    void *root = NULL;
    uint64_t first = 0, got = 0;
    if (rc == 0)
        rc = client_json_object(&rp, "tso", &root, err);
    if (rc == 0)
        rc = client_json_u64(root, "first", "tso", &first, err);
    if (rc == 0)
        rc = client_json_u64(root, "count", "tso", &got, err);
    if (rc == 0 && (got != count || first == 0))
        rc =
            tarn_err_set(err, TARN_EIO, "tso: asked for %" PRIu32 ", got %" PRIu64 " from %" PRIu64,
                         count, got, first);
    if (rc == 0)
        *first_out = first;
    json_decref(root);
    client_reply_free(&rp);
    return rc;
}
