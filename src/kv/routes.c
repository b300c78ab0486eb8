/*
 * kv/routes.c: the key-value HTTP API on a node: reads through a read
 * barrier (or serializable) and a store read transaction, writes proposed
 * through Raft and answered with the state machine's result, and the
 * timestamp oracle. Request and response shapes: src/kv/README.md "HTTP
 * API". Values travel as raw bytes in PUT bodies and as base64 in JSON.
 */
#include "kv/kv_routes.h"

#include "base/alloc.h"
#include "base/clock.h"
#include "kv/kv.h"
#include "raft/raft.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A scan page stops adding items past this many response bytes (the next
 * page continues from the first item left out). */
#define KV_SCAN_BODY_MAX (8u << 20)

/* A command the encoders accept must be one the node can propose, or a
 * value under the documented limit would be refused by the node. */
_Static_assert(KV_CMD_MAX_BYTES <= RAFT_DEFAULT_MAX_ENTRY_SIZE,
               "a kv command must fit in one Raft entry");
_Static_assert(KV_VALUE_MAX_BYTES + KV_PUT_OVERHEAD_MAX_BYTES <= KV_CMD_MAX_BYTES,
               "the largest put must fit in a command");

struct kv_routes {
    node *n;
    int timeout_ms;
    pthread_mutex_t tso_mu; /* serialises the oracle: one allocator per leader */
    kv_tso_state tso;       /* guarded by tso_mu */
    uint64_t tso_term;      /* term tso was started for; 0: not started */
};

int kv_routes_new(node *n, int timeout_ms, kv_routes **out)
{
    kv_routes *kr = tarn_calloc(1, sizeof(*kr));
    if (!kr)
        return TARN_ENOMEM;
    if (pthread_mutex_init(&kr->tso_mu, NULL) != 0) {
        tarn_free(kr);
        return TARN_ENOMEM;
    }
    kr->n = n;
    kr->timeout_ms = timeout_ms > 0 ? timeout_ms : KV_ROUTES_TIMEOUT_MS_DEFAULT;
    *out = kr;
    return 0;
}

void kv_routes_free(kv_routes *kr)
{
    if (!kr)
        return;
    pthread_mutex_destroy(&kr->tso_mu);
    tarn_free(kr);
}

/* ---- small helpers ---------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_append(tarn_buf *b, const uint8_t *p, size_t len)
{
    int rc = tarn_buf_reserve(b, (len + 2) / 3 * 4 + 2);
    if (rc != 0)
        return rc;
    rc = tarn_buf_append_byte(b, '"');
    for (size_t i = 0; rc == 0 && i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        char q[4] = {b64_alphabet[v >> 18 & 63], b64_alphabet[v >> 12 & 63],
                     i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=',
                     i + 2 < len ? b64_alphabet[v & 63] : '='};
        rc = tarn_buf_append(b, q, 4);
    }
    return rc ? rc : tarn_buf_append_byte(b, '"');
}

static int b64_val(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Decodes padded standard base64 (untrusted) into a tarn_malloc'd buffer.
 * TARN_EINVAL for malformed text, TARN_ENOMEM. */
static int b64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
    if (len % 4 != 0)
        return TARN_EINVAL;
    uint8_t *d = tarn_malloc(len / 4 * 3 + 1);
    if (!d)
        return TARN_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] =
                s[i + (size_t)k] == '=' && i + 4 == len && k >= 2 ? 0 : b64_val(s[i + (size_t)k]);
        int pad = (s[i + 2] == '=') + (s[i + 3] == '=');
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || (s[i + 2] == '=' && s[i + 3] != '=') ||
            (pad && i + 4 != len)) {
            tarn_free(d);
            return TARN_EINVAL;
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        d[o++] = (uint8_t)(w >> 16);
        if (pad < 2)
            d[o++] = (uint8_t)(w >> 8);
        if (pad < 1)
            d[o++] = (uint8_t)w;
    }
    *out = d;
    *out_len = o;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return TARN_EINVAL;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v == ULLONG_MAX)
        return TARN_EINVAL;
    *out = v;
    return 0;
}

/* Starts a JSON reply in resp->body; finish with reply_end. */
static void reply_begin(http_response *resp)
{
    http_response_reset(resp);
}

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

static int key_check(const char *key, size_t klen, tarn_err *err)
{
    if (klen == 0)
        return tarn_err_set(err, TARN_EINVAL, "empty key");
    if (klen > KV_KEY_MAX_BYTES)
        return tarn_err_set(err, TARN_ETOOBIG, "key of %zu bytes, at most %d", klen,
                            KV_KEY_MAX_BYTES);
    (void)key;
    return 0;
}

/* Whether the request asks for ?consistency=serializable (skip the read
 * barrier); TARN_EINVAL for another value. */
static int want_serializable(const http_call *c, int *out, tarn_err *err)
{
    char v[32];
    size_t len = 0;
    int rc = http_query_get(http_call_request(c)->query, "consistency", v, sizeof(v), &len);
    *out = 0;
    if (rc == TARN_ENOENT)
        return 0;
    if (rc == 0 && strcmp(v, "serializable") == 0)
        *out = 1;
    else if (rc != 0 || strcmp(v, "linearizable") != 0)
        return tarn_err_set(err, TARN_EINVAL,
                            "consistency must be linearizable (default) or serializable");
    return 0;
}

/* Turns a node's "not now" (no leader in time, closing, failed earlier)
 * into TARN_EBUSY, which the HTTP edge answers 503 with Retry-After: the
 * client should retry, and for a write, retry with a compare because the
 * write may still take effect. tarn_err_wrap keeps the first code, so the
 * code is replaced here after the context is added. */
static int unavailable(tarn_err *err, const char *what)
{
    tarn_err_wrap(err, TARN_EBUSY, "%s", what);
    if (err)
        err->code = TARN_EBUSY;
    return TARN_EBUSY;
}

static int is_unavailable(int rc)
{
    return rc == TARN_ETIMEDOUT || rc == TARN_ECLOSED || rc == TARN_ESTATE || rc == TARN_EBUSY;
}

static int read_begin(kv_routes *kr, const http_call *c, store_txn **txn, tarn_err *err)
{
    int serializable = 0;
    int rc = want_serializable(c, &serializable, err);
    if (rc == 0)
        rc = serializable ? node_answered_barrier(kr->n, kr->timeout_ms, err)
                          : node_read_barrier(kr->n, kr->timeout_ms, NULL, err);
    if (rc == 0)
        rc = node_read_begin(kr->n, txn, err); /* held off while a snapshot installs */
    if (is_unavailable(rc))
        return unavailable(err, "read not served now, retry");
    return rc;
}

/* Proposes cmd and decodes the kv result. Timeouts and a closed node are
 * 503 (retry; the write may still have been applied). */
static int propose(kv_routes *kr, const tarn_buf *cmd, store_result *sr, kv_result *res,
                   tarn_err *err)
{
    memset(sr, 0, sizeof(*sr));
    int rc = node_propose(kr->n, cmd->data, cmd->len, kr->timeout_ms, sr, err);
    if (is_unavailable(rc))
        rc = unavailable(err, "write outcome unknown, retry with a compare");
    if (rc == 0 && (rc = kv_result_decode(sr, res)) != 0) {
        store_result_free(sr);
        rc = tarn_err_set(err, TARN_EINTERNAL, "undecodable kv result");
    }
    return rc;
}

/* ---- asynchronous writes ------------------------------------------------ */

/* What a deferred write needs when its entry is applied (http.h "deferred
 * replies"): the reply handle and what the reply names. */
typedef struct kv_write_wait {
    http_deferred *d;
    int is_txn;
    char key[]; /* the key a single-key write answers with */
} kv_write_wait;

static int reply_write(http_response *resp, const char *key, const kv_result *r, tarn_err *err);
static int reply_txn(http_response *resp, const kv_result *r, tarn_err *err);

/* node_done_fn of a write: runs on a node thread, never under the node's
 * lock; formats the reply and finishes the deferred request. */
static void write_done(void *ctx, int rc, const store_result *res)
{
    kv_write_wait *w = ctx;
    http_response *resp = http_deferred_response(w->d);
    tarn_err err = TARN_ERR_INIT;
    kv_result r;
    if (rc != 0)
        tarn_err_set(&err, rc, "propose: %s (it may still take effect)", tarn_error_name(rc));
    if (is_unavailable(rc))
        rc = unavailable(&err, "write outcome unknown, retry with a compare");
    if (rc == 0 && kv_result_decode(res, &r) != 0)
        rc = tarn_err_set(&err, TARN_EINTERNAL, "undecodable kv result");
    if (rc == 0)
        rc = w->is_txn ? reply_txn(resp, &r, &err) : reply_write(resp, w->key, &r, &err);
    http_deferred_finish(w->d, rc, &err);
    tarn_free(w);
}

/* Proposes cmd without holding the server thread: the reply is deferred
 * until the entry is applied (write_done). What fails at once (a full
 * queue: 503) is answered through the same deferred reply. Returns 0, or
 * TARN_ENOMEM before anything was deferred. */
static int propose_deferred(kv_routes *kr, const tarn_buf *cmd, const char *key, int is_txn,
                            http_response *resp, tarn_err *err)
{
    size_t klen = key ? strlen(key) : 0;
    kv_write_wait *w = tarn_malloc(sizeof(*w) + klen + 1);
    if (!w)
        return tarn_err_set(err, TARN_ENOMEM, "write: allocate");
    w->is_txn = is_txn;
    memcpy(w->key, key ? key : "", klen + 1);
    if (http_reply_defer(resp, &w->d) != 0) {
        tarn_free(w);
        return tarn_err_set(err, TARN_ENOMEM, "write: defer the reply");
    }
    int rc = node_propose_async(kr->n, cmd->data, cmd->len, kr->timeout_ms, write_done, w, err);
    if (rc != 0) { /* nothing proposed; write_done will not run */
        if (is_unavailable(rc))
            rc = unavailable(err, "write outcome unknown, retry with a compare");
        http_deferred_finish(w->d, rc, err);
        tarn_free(w);
    }
    return 0;
}

/* ---- GET /v1/kv/{key} -------------------------------------------------- */

static int item_json(tarn_buf *b, const kv_item *it)
{
    int rc = tarn_buf_append_str(b, "{\"key\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(b, (const char *)it->key, it->key_len);
    if (rc == 0)
        rc = tarn_buf_append_str(b, ",\"value\":");
    if (rc == 0)
        rc = b64_append(b, it->value, it->value_len);
    if (rc == 0)
        rc = tarn_buf_printf(
            b, ",\"version\":%" PRIu64 ",\"mod_index\":%" PRIu64 ",\"create_index\":%" PRIu64 "}",
            it->version, it->mod_index, it->create_index);
    return rc;
}

static int h_get(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    kv_routes *kr = ctx;
    const char *key = http_call_param(c, "key");
    size_t klen = strlen(key);
    int rc = key_check(key, klen, err);
    store_txn *txn = NULL;
    if (rc == 0)
        rc = read_begin(kr, c, &txn, err);
    if (rc != 0)
        return rc;
    kv_item it;
    rc = kv_get(txn, key, klen, &it);
    if (rc == TARN_ENOENT)
        tarn_err_set(err, rc, "no key '%s'", key);
    else if (rc != 0)
        tarn_err_set(err, rc, "read key");
    if (rc == 0) {
        reply_begin(resp);
        rc = reply_end(resp, 200, item_json(&resp->body, &it));
    }
    node_read_end(kr->n, txn);
    return rc;
}

/* ---- PUT / DELETE /v1/kv/{key} ----------------------------------------- */

/* The compare from If-Match: <version> or If-None-Match: *. *has = 0 when
 * neither header is present. */
static int cas_from_headers(const http_call *c, const char *key, size_t klen, kv_compare *cmp,
                            int *has, tarn_err *err)
{
    const char *im = http_call_header(c, "If-Match");
    const char *inm = http_call_header(c, "If-None-Match");
    *has = 0;
    *cmp = (kv_compare){.kind = KV_CMP_VERSION, .key = (const uint8_t *)key, .key_len = klen};
    if (im && inm)
        return tarn_err_set(err, TARN_EINVAL, "If-Match and If-None-Match together");
    if (inm) {
        if (strcmp(inm, "*") != 0)
            return tarn_err_set(err, TARN_EINVAL, "If-None-Match supports only *");
        *has = 1; /* version 0: the key must be absent */
        return 0;
    }
    if (!im)
        return 0;
    char v[32];
    size_t n = strlen(im);
    if (n >= 2 && im[0] == '"' && im[n - 1] == '"' && n - 2 < sizeof(v)) {
        memcpy(v, im + 1, n - 2);
        v[n - 2] = '\0';
    } else {
        snprintf(v, sizeof(v), "%s", im);
    }
    if (parse_u64(v, &cmp->version) != 0 || cmp->version == 0)
        return tarn_err_set(err, TARN_EINVAL, "If-Match must be a version number >= 1");
    *has = 1;
    return 0;
}

/* 409 with the failed compare's key as it is now: version and mod_index
 * (0 when absent), "exists", and the current value (base64; null when
 * absent), so a CAS loop can retry without reading first. */
static int reply_conflict(http_response *resp, const kv_result *r)
{
    char now[48];
    if (r->version == 0)
        snprintf(now, sizeof(now), "the key does not exist");
    else
        snprintf(now, sizeof(now), "the key is at version %" PRIu64, r->version);
    reply_begin(resp);
    tarn_buf *b = &resp->body;
    int rc = tarn_buf_printf(b,
                             "{\"error\":{\"code\":\"conflict\",\"message\":\"compare %" PRIu32
                             " failed: %s\"},\"failed_compare\":%" PRIu32 ",\"version\":%" PRIu64
                             ",\"mod_index\":%" PRIu64 ",\"exists\":%s,\"value\":",
                             r->failed_compare, now, r->failed_compare, r->version, r->mod_index,
                             r->version ? "true" : "false");
    if (rc == 0)
        rc = r->version ? b64_append(b, r->value, r->value_len) : tarn_buf_append_str(b, "null");
    if (rc == 0)
        rc = tarn_buf_append_byte(b, '}');
    return reply_end(resp, 409, rc);
}

/* Answers a write's kv result: 200 with version/mod_index, 409, 404. */
static int reply_write(http_response *resp, const char *key, const kv_result *r, tarn_err *err)
{
    if (r->code == TARN_ECONFLICT)
        return reply_conflict(resp, r);
    if (r->code != 0)
        return tarn_err_set(err, r->code, "%s",
                            r->code == TARN_ENOENT ? "no such key" : tarn_error_name(r->code));
    reply_begin(resp);
    int rc = tarn_buf_append_str(&resp->body, "{\"key\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(&resp->body, key, strlen(key));
    if (rc == 0)
        rc = tarn_buf_printf(&resp->body, ",\"version\":%" PRIu64 ",\"mod_index\":%" PRIu64 "}",
                             r->version, r->mod_index);
    return reply_end(resp, 200, rc);
}

static int h_write(kv_routes *kr, const http_call *c, http_response *resp, int del, tarn_err *err)
{
    const char *key = http_call_param(c, "key");
    size_t klen = strlen(key);
    const http_request *req = http_call_request(c);
    kv_compare cmp;
    int has = 0;
    int rc = key_check(key, klen, err);
    if (rc == 0)
        rc = cas_from_headers(c, key, klen, &cmp, &has, err);
    if (rc == 0 && !del && req->body_len > KV_VALUE_MAX_BYTES)
        rc = tarn_err_set(err, TARN_ETOOBIG, "value of %zu bytes, at most %u", req->body_len,
                          KV_VALUE_MAX_BYTES);
    if (rc != 0)
        return rc;
    tarn_buf cmd;
    tarn_buf_init(&cmd, KV_CMD_MAX_BYTES);
    rc = del ? kv_encode_delete(&cmd, key, klen, has ? &cmp : NULL)
             : kv_encode_put(&cmd, key, klen, req->body ? (const void *)req->body : "",
                             req->body_len, has ? &cmp : NULL);
    if (rc != 0) {
        tarn_buf_free(&cmd);
        return tarn_err_set(err, rc, "encode command");
    }
    rc = propose_deferred(kr, &cmd, key, 0, resp, err);
    tarn_buf_free(&cmd);
    return rc;
}

static int h_put(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    return h_write(ctx, c, resp, 0, err);
}

static int h_delete(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    return h_write(ctx, c, resp, 1, err);
}

/* ---- GET /v1/kv (range scan) ------------------------------------------- */

typedef struct scan_args {
    char start[KV_KEY_MAX_BYTES + 1], end[KV_KEY_MAX_BYTES + 1], token[KV_TOKEN_MAX_BYTES];
    size_t start_len, end_len, token_len;
    uint64_t limit;
} scan_args;

static int scan_parse(const char *q, scan_args *a, tarn_err *err)
{
    struct {
        const char *name;
        char *buf;
        size_t cap;
        size_t *len;
    } f[] = {{"start", a->start, sizeof(a->start), &a->start_len},
             {"end", a->end, sizeof(a->end), &a->end_len},
             {"token", a->token, sizeof(a->token), &a->token_len}};
    for (size_t i = 0; i < 3; i++) {
        int rc = http_query_get(q, f[i].name, f[i].buf, f[i].cap, f[i].len);
        if (rc == TARN_ENOENT)
            *f[i].len = 0;
        else if (rc != 0)
            return tarn_err_set(err, TARN_EINVAL, "bad %s parameter", f[i].name);
    }
    char lim[24];
    size_t ll = 0;
    a->limit = 100;
    int rc = http_query_get(q, "limit", lim, sizeof(lim), &ll);
    if (rc == 0 &&
        (parse_u64(lim, &a->limit) != 0 || a->limit == 0 || a->limit > KV_SCAN_LIMIT_MAX))
        return tarn_err_set(err, TARN_EINVAL, "limit must be 1..%d", KV_SCAN_LIMIT_MAX);
    if (rc != 0 && rc != TARN_ENOENT)
        return tarn_err_set(err, TARN_EINVAL, "bad limit parameter");
    return 0;
}

/* Writes the page; stops early past KV_SCAN_BODY_MAX with a token naming
 * the first item left out. */
static int scan_reply(http_response *resp, const kv_scan_page *page)
{
    reply_begin(resp);
    tarn_buf *b = &resp->body;
    int rc = tarn_buf_append_str(b, "{\"items\":[");
    const char *next = page->next_token;
    char cut[KV_TOKEN_MAX_BYTES];
    for (size_t i = 0; rc == 0 && i < page->count; i++) {
        if (i > 0 && b->len > KV_SCAN_BODY_MAX) {
            for (size_t k = 0; k < page->items[i].key_len; k++)
                snprintf(cut + 2 * k, 3, "%02x", page->items[i].key[k]);
            cut[2 * page->items[i].key_len] = '\0';
            next = cut;
            break;
        }
        if (i > 0)
            rc = tarn_buf_append_byte(b, ',');
        if (rc == 0)
            rc = item_json(b, &page->items[i]);
    }
    if (rc == 0 && next[0])
        rc = tarn_buf_printf(b, "],\"next\":\"%s\"}", next);
    else if (rc == 0)
        rc = tarn_buf_append_str(b, "],\"next\":null}");
    return reply_end(resp, 200, rc);
}

static int h_scan(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    kv_routes *kr = ctx;
    scan_args *a = tarn_calloc(1, sizeof(*a));
    if (!a)
        return tarn_err_set(err, TARN_ENOMEM, "scan arguments");
    int rc = scan_parse(http_call_request(c)->query, a, err);
    store_txn *txn = NULL;
    if (rc == 0)
        rc = read_begin(kr, c, &txn, err);
    if (rc != 0) {
        tarn_free(a);
        return rc;
    }
    kv_scan_opts o = {.start = a->start,
                      .start_len = a->start_len,
                      .end = a->end,
                      .end_len = a->end_len,
                      .limit = (size_t)a->limit,
                      .token = a->token_len ? a->token : NULL};
    kv_scan_page page;
    memset(&page, 0, sizeof(page));
    rc = kv_scan(txn, &o, &page, err);
    if (rc == 0)
        rc = scan_reply(resp, &page);
    kv_scan_page_free(&page);
    node_read_end(kr->n, txn);
    tarn_free(a);
    return rc;
}

/* ---- POST /v1/kv/txn ------------------------------------------------------ */

/* Everything a txn borrows from its JSON body, plus decoded values. */
typedef struct txn_parts {
    kv_compare cmps[KV_TXN_OPS_MAX];
    kv_op ops[KV_TXN_OPS_MAX];
    size_t n_cmps, n_ops;
    uint8_t *owned[2 * KV_TXN_OPS_MAX]; /* base64-decoded values */
    size_t n_owned;
} txn_parts;

static void txn_parts_free(txn_parts *t)
{
    for (size_t i = 0; i < t->n_owned; i++)
        tarn_free(t->owned[i]);
    tarn_free(t);
}

/* obj.key (a string) and, when want_value, obj.value (base64). */
static int txn_elem(txn_parts *t, json_t *o, int want_value, const uint8_t **key, size_t *klen,
                    const uint8_t **val, size_t *vlen, tarn_err *err)
{
    json_t *k = json_object_get(o, "key");
    if (!json_is_string(k) || json_string_length(k) == 0)
        return tarn_err_set(err, TARN_EINVAL, "each element needs a non-empty string \"key\"");
    *key = (const uint8_t *)json_string_value(k);
    *klen = json_string_length(k);
    if (*klen > KV_KEY_MAX_BYTES)
        return tarn_err_set(err, TARN_ETOOBIG, "key of %zu bytes, at most %d", *klen,
                            KV_KEY_MAX_BYTES);
    if (!want_value)
        return 0;
    json_t *v = json_object_get(o, "value");
    if (!json_is_string(v))
        return tarn_err_set(err, TARN_EINVAL, "\"value\" must be a base64 string");
    uint8_t *d = NULL;
    int rc = b64_decode(json_string_value(v), json_string_length(v), &d, vlen);
    if (rc != 0)
        return tarn_err_set(err, rc, "\"value\" is not valid base64");
    t->owned[t->n_owned++] = d;
    *val = d;
    return 0;
}

static int txn_compares(txn_parts *t, json_t *arr, tarn_err *err)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (t->n_cmps >= KV_TXN_OPS_MAX)
            return tarn_err_set(err, TARN_ETOOBIG, "at most %d compares", KV_TXN_OPS_MAX);
        kv_compare *c = &t->cmps[t->n_cmps++];
        json_t *ver = json_object_get(o, "version");
        int by_value = json_object_get(o, "value") != NULL;
        if (!json_is_object(o) || (!by_value && !json_is_integer(ver)) ||
            (json_is_integer(ver) && json_integer_value(ver) < 0))
            return tarn_err_set(err, TARN_EINVAL,
                                "a compare is {\"key\",\"version\":N} or {\"key\",\"value\":b64}");
        c->kind = by_value ? KV_CMP_VALUE : KV_CMP_VERSION;
        c->version = by_value ? 0 : (uint64_t)json_integer_value(ver);
        int rc = txn_elem(t, o, by_value, &c->key, &c->key_len, &c->value, &c->value_len, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int txn_ops(txn_parts *t, json_t *arr, kv_op_kind kind, tarn_err *err)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (t->n_ops >= KV_TXN_OPS_MAX)
            return tarn_err_set(err, TARN_ETOOBIG, "at most %d puts and deletes", KV_TXN_OPS_MAX);
        if (!json_is_object(o))
            return tarn_err_set(err, TARN_EINVAL, "puts and deletes are objects");
        kv_op *op = &t->ops[t->n_ops++];
        op->kind = kind;
        int rc = txn_elem(t, o, kind == KV_OP_PUT, &op->key, &op->key_len, &op->value,
                          &op->value_len, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int txn_parse(json_t *body, txn_parts *t, tarn_err *err)
{
    const char *names[] = {"compare", "put", "delete"};
    json_t *arr[3];
    for (size_t i = 0; i < 3; i++) {
        arr[i] = json_object_get(body, names[i]);
        if (arr[i] && !json_is_array(arr[i]))
            return tarn_err_set(err, TARN_EINVAL, "\"%s\" must be an array", names[i]);
    }
    int rc = arr[0] ? txn_compares(t, arr[0], err) : 0;
    if (rc == 0 && arr[1])
        rc = txn_ops(t, arr[1], KV_OP_PUT, err);
    if (rc == 0 && arr[2])
        rc = txn_ops(t, arr[2], KV_OP_DELETE, err);
    if (rc == 0 && t->n_ops == 0)
        rc = tarn_err_set(err, TARN_EINVAL, "a txn needs at least one put or delete");
    return rc;
}

static int h_txn(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    kv_routes *kr = ctx;
    json_t *body = NULL;
    int rc = http_call_json_body(c, &body, err);
    if (rc != 0)
        return rc;
    txn_parts *t = tarn_calloc(1, sizeof(*t));
    if (!t) {
        json_decref(body);
        return tarn_err_set(err, TARN_ENOMEM, "txn parts");
    }
    rc = txn_parse(body, t, err);
    tarn_buf cmd;
    tarn_buf_init(&cmd, KV_CMD_MAX_BYTES);
    if (rc == 0 && (rc = kv_encode_txn(&cmd, t->cmps, t->n_cmps, t->ops, t->n_ops)) != 0)
        tarn_err_set(err, rc, "encode txn");
    txn_parts_free(t);
    json_decref(body);
    if (rc == 0)
        rc = propose_deferred(kr, &cmd, NULL, 1, resp, err);
    tarn_buf_free(&cmd);
    return rc;
}

/* Answers a txn's kv result: 200 with the mod_index, 409, or its code. */
static int reply_txn(http_response *resp, const kv_result *r, tarn_err *err)
{
    if (r->code == TARN_ECONFLICT)
        return reply_conflict(resp, r);
    if (r->code != 0)
        return tarn_err_set(err, r->code, "txn: %s", tarn_error_name(r->code));
    reply_begin(resp);
    return reply_end(
        resp, 200,
        tarn_buf_printf(&resp->body, "{\"ok\":true,\"mod_index\":%" PRIu64 "}", r->mod_index));
}

/* ---- POST /v1/tso ------------------------------------------------------------ */

/* Reserves a window up to upto_ms through Raft and raises the limit once
 * applied (kv/README.md "TSO"). Under tso_mu. */
static int tso_reserve(kv_routes *kr, uint64_t upto_ms, tarn_err *err)
{
    tarn_buf cmd;
    tarn_buf_init(&cmd, 64);
    int rc = kv_encode_tso_reserve(&cmd, upto_ms);
    store_result sr;
    kv_result r;
    if (rc == 0)
        rc = propose(kr, &cmd, &sr, &r, err);
    tarn_buf_free(&cmd);
    if (rc != 0)
        return rc;
    if (r.code == 0)
        kv_tso_set_limit(&kr->tso, r.version);
    else
        rc = tarn_err_set(err, TARN_EINTERNAL, "TSO reserve: %s", tarn_error_name(r.code));
    store_result_free(&sr);
    return rc;
}

/* A new leader (or a first request) rebuilds the allocator from the
 * reserved window in the store, after a read barrier so that every earlier
 * leader's reservation is applied. Under tso_mu. */
static int tso_start(kv_routes *kr, tarn_err *err)
{
    node_status st;
    node_get_status(kr->n, &st);
    if (!st.is_leader)
        return tarn_err_set(err, TARN_EBUSY, "not the leader");
    if (kr->tso_term == st.term)
        return 0;
    int rc = node_read_barrier(kr->n, kr->timeout_ms, NULL, err);
    store_txn *txn = NULL;
    if (rc == 0)
        rc = node_read_begin(kr->n, &txn, err);
    uint64_t reserved = 0;
    if (rc == 0) {
        rc = kv_tso_reserved(txn, &reserved);
        node_read_end(kr->n, txn);
    }
    if (is_unavailable(rc))
        return unavailable(err, "start the oracle");
    if (rc != 0)
        return tarn_err_wrap(err, rc, "start the oracle");
    kr->tso = kv_tso_leader_start(reserved);
    kr->tso_term = st.term;
    return 0;
}

static int tso_next(kv_routes *kr, uint32_t count, uint64_t *first, tarn_err *err)
{
    /* A deposed leader that has not noticed yet still holds a window below
     * the one its successor starts above. Answering from it could give a
     * client a timestamp smaller than one the successor already gave out.
     * So leadership is confirmed after the request arrived (ReadIndex's
     * quorum round; concurrent requests share rounds): had a newer leader
     * been elected, a majority would know its term and the round fails. */
    int rc = node_read_barrier(kr->n, kr->timeout_ms, NULL, err);
    if (rc != 0)
        return is_unavailable(rc) ? unavailable(err, "confirm leadership for timestamps") : rc;
    pthread_mutex_lock(&kr->tso_mu);
    rc = tso_start(kr, err);
    for (int attempt = 0; rc == 0 && attempt < 3; attempt++) {
        int64_t now = tarn_wall_ms();
        rc = kv_tso_next(&kr->tso, now, count, first);
        if (rc != TARN_EBUSY)
            break;
        uint64_t base = (uint64_t)now > kr->tso.limit_ms ? (uint64_t)now : kr->tso.limit_ms;
        rc = tso_reserve(kr, base + KV_TSO_WINDOW_MS, err);
    }
    /* Keep the window ahead so that most requests never wait for Raft. */
    int64_t now = tarn_wall_ms();
    if (rc == 0 && kr->tso.limit_ms < (uint64_t)now + KV_TSO_WINDOW_MS / 3)
        (void)tso_reserve(kr, (uint64_t)now + KV_TSO_WINDOW_MS, err); /* retried next call */
    if (rc != 0)
        kr->tso_term = 0; /* rebuild from the store next time */
    pthread_mutex_unlock(&kr->tso_mu);
    if (rc == TARN_EBUSY && err && !err->code)
        tarn_err_set(err, rc, "timestamp window not reserved yet");
    return rc;
}

/* The oracle's allocator lives on the leader only: a follower answers 307
 * with the leader's URL (node_leader_url), or 503 while none is known. */
static int tso_redirect(kv_routes *kr, const http_call *c, http_response *resp, tarn_err *err)
{
    char url[256];
    if (node_leader_url(kr->n, url, sizeof(url)) != 0)
        return tarn_err_set(err, TARN_EBUSY, "not the leader, and no leader known yet; retry");
    const char *q = http_call_request(c)->query;
    char loc[sizeof(((http_header *)0)->value)];
    int n = snprintf(loc, sizeof(loc), "%s/v1/tso%s%s", url, q && *q ? "?" : "", q ? q : "");
    if (n < 0 || (size_t)n >= sizeof(loc))
        return tarn_err_set(err, TARN_EBUSY, "not the leader; the leader is %s", url);
    reply_begin(resp);
    int rc = http_response_add_header(resp, "Location", loc);
    if (rc == 0)
        rc = tarn_buf_printf(&resp->body,
                             "{\"error\":{\"code\":\"not_leader\",\"message\":\"timestamps "
                             "come from the leader\"},\"leader\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(&resp->body, url, strlen(url));
    if (rc == 0)
        rc = tarn_buf_append_byte(&resp->body, '}');
    return reply_end(resp, 307, rc);
}

static int h_tso(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    char v[24];
    size_t len = 0;
    uint64_t count = 1;
    int rc = http_query_get(http_call_request(c)->query, "count", v, sizeof(v), &len);
    if (rc == 0 && (parse_u64(v, &count) != 0 || count == 0 || count > KV_TSO_BATCH_MAX))
        return tarn_err_set(err, TARN_EINVAL, "count must be 1..%d", KV_TSO_BATCH_MAX);
    if (rc != 0 && rc != TARN_ENOENT)
        return tarn_err_set(err, TARN_EINVAL, "bad count parameter");
    node_status st;
    node_get_status(((kv_routes *)ctx)->n, &st);
    if (!st.is_leader)
        return tso_redirect(ctx, c, resp, err);
    uint64_t first = 0;
    rc = tso_next(ctx, (uint32_t)count, &first, err);
    if (rc != 0)
        return rc;
    reply_begin(resp);
    return reply_end(resp, 200,
                     tarn_buf_printf(&resp->body, "{\"first\":%" PRIu64 ",\"count\":%" PRIu64 "}",
                                     first, count));
}

int kv_routes_add(http_router *r, kv_routes *kr)
{
    int rc = http_router_add(r, "GET", "/v1/kv/{key}", HTTP_ROLE_READ, h_get, kr);
    if (rc == 0)
        rc = http_router_add(r, "PUT", "/v1/kv/{key}", HTTP_ROLE_WRITE, h_put, kr);
    if (rc == 0)
        rc = http_router_add(r, "DELETE", "/v1/kv/{key}", HTTP_ROLE_WRITE, h_delete, kr);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/v1/kv", HTTP_ROLE_READ, h_scan, kr);
    if (rc == 0)
        rc = http_router_add(r, "POST", "/v1/kv/txn", HTTP_ROLE_WRITE, h_txn, kr);
    if (rc == 0)
        rc = http_router_add(r, "POST", "/v1/tso", HTTP_ROLE_WRITE, h_tso, kr);
    return rc;
}
