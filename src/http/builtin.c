/*
 * http/builtin.c: the routes every Tarn server has.
 *
 *   GET    /health         none   {"status":"ok","version":TARN_VERSION}
 *   GET    /metrics        none*  Prometheus text of obs_global()
 *   GET    /v1/whoami      read   {"id","role"} of the caller's key
 *   POST   /v1/keys        admin  {"role":"read"} -> 201 {"id","key","role"}
 *   GET    /v1/keys        admin  {"keys":[{"id","role","created_ms"}]}
 *   DELETE /v1/keys/{id}   admin  {"id","revoked":true}; 404 unknown id
 *
 * (*) read when the server runs with metrics_require_key.
 */
#include "http/http_int.h"

#include "base/alloc.h"
#include "obs/obs.h"

#include <string.h>

static int reply_json_owned(http_response *resp, unsigned status, json_t *j, tarn_err *err)
{
    if (j == NULL)
        return tarn_err_set(err, TARN_ENOMEM, "build reply");
    int rc = http_reply_json(resp, status, j);
    json_decref(j);
    if (rc != 0)
        return tarn_err_set(err, rc, "serialise reply");
    return 0;
}

static int h_health(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    return reply_json_owned(resp, 200,
                            json_pack("{s:s,s:s}", "status", "ok", "version", TARN_VERSION), err);
}

static int h_metrics(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_response_reset(resp);
    int rc = obs_registry_render(obs_global(), &resp->body);
    if (rc != 0)
        return tarn_err_set(err, rc, "render metrics");
    resp->status = 200;
    resp->content_type = OBS_CONTENT_TYPE;
    return 0;
}

static int h_whoami(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    return reply_json_owned(resp, 200,
                            json_pack("{s:s,s:s}", "id", http_call_key_id(c), "role",
                                      http_role_name(http_call_role(c))),
                            err);
}

static int h_key_create(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_keystore *ks = ctx;
    json_t *body = NULL;
    int rc = http_call_json_body(c, &body, err);
    if (rc != 0)
        return rc;
    const char *role_s = json_string_value(json_object_get(body, "role"));
    http_role role;
    if (role_s == NULL || http_role_parse(role_s, &role) != 0) {
        json_decref(body);
        return tarn_err_set(err, TARN_EINVAL,
                            "field \"role\" must be one of \"read\", \"write\", \"admin\"");
    }
    json_decref(body);
    char key[HTTP_KEY_MAX], id[HTTP_KEY_ID_MAX];
    rc = http_keystore_create(ks, role, key, sizeof(key), id, sizeof(id), err);
    if (rc != 0)
        return tarn_err_wrap(err, TARN_EINTERNAL, "create key");
    rc = reply_json_owned(
        resp, 201, json_pack("{s:s,s:s,s:s}", "id", id, "key", key, "role", http_role_name(role)),
        err);
    memset(key, 0, sizeof(key)); /* the secret does not outlive the reply */
    return rc;
}

static int h_key_list(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_keystore *ks = ctx;
    http_key_info *list = NULL;
    size_t n = 0;
    int rc = http_keystore_list(ks, &list, &n, err);
    if (rc != 0)
        return tarn_err_wrap(err, TARN_EINTERNAL, "list keys");
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *item =
            json_pack("{s:s,s:s,s:I}", "id", list[i].id, "role", http_role_name(list[i].role),
                      "created_ms", (json_int_t)list[i].created_ms);
        if (json_array_append_new(arr, item) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    tarn_free(list);
    json_t *root = arr ? json_pack("{s:o}", "keys", arr) : NULL;
    return reply_json_owned(resp, 200, root, err);
}

static int h_key_revoke(void *ctx, const http_call *c, http_response *resp, tarn_err *err)
{
    http_keystore *ks = ctx;
    const char *id = http_call_param(c, "id");
    int rc = http_keystore_revoke(ks, id, err);
    if (rc == TARN_ENOENT)
        return rc;
    if (rc != 0)
        return tarn_err_wrap(err, TARN_EINTERNAL, "revoke key");
    return reply_json_owned(resp, 200, json_pack("{s:s,s:b}", "id", id, "revoked", 1), err);
}

int http_router_add_builtin(http_router *r, http_keystore *ks)
{
    int rc = http_router_add(r, "GET", "/health", HTTP_ROLE_NONE, h_health, NULL);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/metrics", HTTP_ROLE_NONE, h_metrics, NULL);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/v1/whoami", HTTP_ROLE_READ, h_whoami, NULL);
    if (rc == 0)
        rc = http_router_add(r, "POST", "/v1/keys", HTTP_ROLE_ADMIN, h_key_create, ks);
    if (rc == 0)
        rc = http_router_add(r, "GET", "/v1/keys", HTTP_ROLE_ADMIN, h_key_list, ks);
    if (rc == 0)
        rc = http_router_add(r, "DELETE", "/v1/keys/{id}", HTTP_ROLE_ADMIN, h_key_revoke, ks);
    return rc;
}
