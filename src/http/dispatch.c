/*
 * http/dispatch.c: one request, from parsed fields to a filled response:
 *
 *   size check -> route match (404/405) -> key (401) -> role (403)
 *     -> rate limit (429) -> handler -> error mapping -> metrics, log line
 *
 * Pure: no sockets; time only from tarn_mono_ns. Every input is untrusted,
 * so every problem ends as an error reply, never an assertion. When not
 * even the error reply can be built (memory), the caller gets TARN_ENOMEM
 * and answers a static 500.
 */
#include "http/http_int.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/clock.h"
#include "base/log.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- what handlers see ------------------------------------------------ */

const http_request *http_call_request(const http_call *c)
{
    return c->req;
}

const char *http_call_param(const http_call *c, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < c->match->param_count; i++) {
        const char *p = c->match->param_names[i]; /* "{name}" */
        if (strncmp(p + 1, name, n) == 0 && p[n + 1] == '}' && p[n + 2] == '\0')
            return c->match->param_values[i];
    }
    return NULL;
}

const char *http_call_header(const http_call *c, const char *name)
{
    return c->req->header ? c->req->header(c->req->header_ctx, name) : NULL;
}

const char *http_call_key_id(const http_call *c)
{
    return c->key_id;
}

http_role http_call_role(const http_call *c)
{
    return c->role;
}

const char *http_call_route(const http_call *c)
{
    return c->match->route->pattern;
}

/* Nesting depth of JSON text, counted outside strings, so that the parser
 * (recursive inside jansson) never sees deeper input than we allow. */
static size_t json_depth(const uint8_t *p, size_t len)
{
    size_t depth = 0, max = 0;
    int in_str = 0, esc = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = p[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (ch == '\\')
                esc = 1;
            else if (ch == '"')
                in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max)
                max = depth;
        } else if ((ch == '}' || ch == ']') && depth > 0) {
            depth--;
        }
    }
    return max;
}

int http_call_json_body(const http_call *c, json_t **out, tarn_err *err)
{
    const http_request *req = c->req;
    if (req->body_len == 0)
        return tarn_err_set(err, TARN_ESYNTAX, "request body is empty; want a JSON object");
    if (json_depth(req->body, req->body_len) > HTTP_JSON_DEPTH_MAX)
        return tarn_err_set(err, TARN_ESYNTAX, "request body: JSON nested deeper than %d",
                            HTTP_JSON_DEPTH_MAX);
    json_error_t jerr;
    tarn_alloc_jansson_oom_reset();
    json_t *j = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL && tarn_alloc_jansson_oom())
        return tarn_err_set(err, TARN_ENOMEM, "parse request body");
    if (j == NULL)
        return tarn_err_set(err, TARN_ESYNTAX,
                            "malformed JSON in request body at line %d column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return tarn_err_set(err, TARN_ESYNTAX, "request body must be a JSON object");
    }
    *out = j;
    return 0;
}

/* ---- the pipeline ----------------------------------------------------- */

/* The key of a request: X-API-Key, else Authorization: Bearer. */
static const char *request_key(const http_call *c)
{
    const char *k = http_call_header(c, "X-API-Key");
    if (k != NULL && k[0] != '\0')
        return k;
    const char *a = http_call_header(c, "Authorization");
    if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
        return NULL;
    a += 7;
    while (*a == ' ')
        a++;
    return *a ? a : NULL;
}

/* A refusal reply was made (1), or making it failed (the code). */
static int refused(int reply_rc)
{
    return reply_rc != 0 ? reply_rc : 1;
}

/* 401 / 403 / 429 gates; 0 when the handler may run; 1 when resp already
 * holds the refusal; or an error code. */
static int gate(const http_dispatch_env *env, http_call *c, http_response *resp, tarn_err *err)
{
    const http_route *rt = c->match->route;
    if (rt->role == HTTP_ROLE_NONE)
        return 0;
    const char *key = request_key(c);
    if (key == NULL)
        return refused(http_reply_error(
            resp, 401, "unauthorized", "missing API key: send X-API-Key or Authorization: Bearer"));
    if (env->keys == NULL)
        return refused(http_reply_error(resp, 401, "unauthorized", "unknown API key"));
    int rc =
        http_keystore_authenticate(env->keys, key, c->key_id, sizeof(c->key_id), &c->role, err);
    if (rc == TARN_EUNAUTH)
        return refused(http_reply_error(resp, 401, "unauthorized", "unknown API key"));
    if (rc != 0)
        return tarn_err_wrap(err, rc, "authenticate");
    if (c->role < rt->role)
        return refused(http_reply_error(
            resp, 403, "forbidden", "key %s has role %s; %s %s needs role %s", c->key_id,
            http_role_name(c->role), rt->method, rt->pattern, http_role_name(rt->role)));
    unsigned retry_s = 0;
    if (env->limiter != NULL &&
        http_limiter_take(env->limiter, c->key_id, c->role, &retry_s) == TARN_ERATE) {
        http_metrics_rejected("rate_limited");
        char v[16];
        snprintf(v, sizeof(v), "%u", retry_s);
        rc = http_reply_error(resp, 429, "rate_limited",
                              "key %s is over its rate limit; retry in %u s", c->key_id, retry_s);
        if (rc == 0)
            rc = http_response_add_header(resp, "Retry-After", v);
        return refused(rc);
    }
    return 0;
}

int http_reply_from_code(http_response *resp, int code, const tarn_err *err)
{
    unsigned status = 500;
    switch (code) {
    case TARN_EINVAL:
    case TARN_ESYNTAX:
    case TARN_ERANGE:
        status = 400;
        break;
    case TARN_ENOENT:
        status = 404;
        break;
    case TARN_EUNAUTH:
        status = 401;
        break;
    case TARN_EFORBIDDEN:
        status = 403;
        break;
    case TARN_ETOOBIG:
        status = 413;
        break;
    case TARN_EEXIST:
    case TARN_ECONFLICT:
        status = 409;
        break;
    case TARN_EBUSY:     /* overloaded, or no leader now */
    case TARN_ETIMEDOUT: /* not done in time (a write may still take effect) */
    case TARN_ECLOSED:   /* shutting down */
        status = 503;
        break;
    default:
        break;
    }
    if (status == 500)
        return http_reply_error(resp, 500, "internal", "internal error");
    int rc = http_reply_error(resp, status, http_status_code_name(status), "%s", tarn_err_msg(err));
    /* 503 is always "try again": say when (RFC 9110 10.2.3). */
    if (rc == 0 && status == 503)
        rc = http_response_add_header(resp, "Retry-After", "1");
    return rc;
}

/* Routes and runs the request; 0 when resp holds the reply, else a code
 * for reply_from_code. */
static int route_and_run(const http_dispatch_env *env, const http_request *req, http_call *c,
                         http_response *resp, tarn_err *err)
{
    size_t max = env->max_body_bytes ? env->max_body_bytes : HTTP_DEFAULT_BODY_MAX;
    if (req->body_len > max) {
        http_metrics_rejected("body_too_large");
        return http_reply_error(resp, 413, "payload_too_large",
                                "request body of %zu bytes is over the limit of %zu bytes",
                                req->body_len, max);
    }
    http_match *m = (http_match *)c->match;
    if (http_router_match(env->router, req->method, req->path, m) != 0 || !m->path_known)
        return http_reply_error(resp, 404, "not_found", "no route for this path");
    if (m->route == NULL) {
        int rc = http_reply_error(resp, 405, "method_not_allowed",
                                  "method not allowed here; allowed: %s", m->allow);
        return rc != 0 ? rc : http_response_add_header(resp, "Allow", m->allow);
    }
    int rc = gate(env, c, resp, err);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    const http_route *rt = m->route;
    rc = rt->fn(rt->ctx, c, resp, err);
    if (rc == 0 && resp->status == 0 && resp->deferred == NULL)
        rc = tarn_err_set(err, TARN_EINTERNAL, "handler of %s %s made no reply", rt->method,
                          rt->pattern);
    return rc;
}

static void log_request(const http_request *req, const http_call *c, const http_response *resp,
                        unsigned status, double secs, const tarn_err *err)
{
    const http_route *rt = c->match->route;
    tarn_log_field f[] = {
        TARN_F_STR("method", req->method),
        TARN_F_STR("path", req->path),
        TARN_F_STR("route", rt ? rt->pattern : "unmatched"),
        TARN_F_UINT("status", status),
        TARN_F_DBL("duration_ms", secs * 1e3),
        TARN_F_STR("key_id", c->key_id),
        TARN_F_STR("error_id", resp->error_id),
        TARN_F_STR("detail", err->code ? tarn_err_msg(err) : ""),
    };
    tarn_log_emit(status >= 500 ? TARN_LOG_ERROR : TARN_LOG_DEBUG, "http",
                  status >= 500 ? "request failed" : "request", f, TARN_ARRAY_LEN(f));
}

int http_dispatch(const http_dispatch_env *env, const http_request *req, http_response *resp)
{
    int64_t t0 = tarn_mono_ns();
    http_match m;
    memset(&m, 0, offsetof(http_match, param_buf));
    http_call c = {.req = req, .match = &m, .key_id = "", .role = HTTP_ROLE_NONE};
    tarn_err err = TARN_ERR_INIT;
    http_response_reset(resp);
    int rc = 0;
    if (req->method == NULL || req->path == NULL)
        rc = http_reply_error(resp, 400, "bad_request", "request has no method or path");
    else
        rc = route_and_run(env, req, &c, resp, &err);
    if (rc != 0 && resp->deferred != NULL) {
        http_defer_release(resp->deferred); /* failed after deferring: its finish is dropped */
        resp->deferred = NULL;
    }
    if (rc != 0)
        rc = http_reply_from_code(resp, rc, &err);
    resp->route = m.route ? m.route->pattern : NULL;
    /* A deferred reply is recorded when it is queued (defer.c). */
    if (rc == 0 && resp->deferred != NULL) {
        http_defer_note(resp->deferred, resp->route, c.key_id);
        return 0;
    }
    /* A stream's status is known when its producer writes or ends: the
     * server records it then (stream.c). */
    if (rc == 0 && resp->stream_fn != NULL)
        return 0;
    unsigned status = rc == 0 ? resp->status : 500;
    double secs = (double)(tarn_mono_ns() - t0) / 1e9;
    http_metrics_record(m.route ? m.route->pattern : NULL, req->method, status, secs);
    log_request(req, &c, resp, status, secs, &err);
    return rc;
}
