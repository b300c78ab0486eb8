/*
 * http/reply.c: responses and the error reply shape.
 *
 * Every error a client sees is
 *   {"error":{"code":"<stable id>","message":"<text>"}}
 * built here and nowhere else, so the shape cannot drift between routes.
 * The status-to-code table below is the one README.md documents; codes are
 * stable identifiers that clients may match on, messages are for humans.
 */
#include "http/http_int.h"

#include "base/alloc.h"
#include "base/hash.h"
#include "base/rand.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static const struct {
    unsigned status;
    const char *code;
} status_codes[] = {
    {400, "bad_request"},       {401, "unauthorized"},       {403, "forbidden"},
    {404, "not_found"},         {405, "method_not_allowed"}, {409, "conflict"},
    {413, "payload_too_large"}, {429, "rate_limited"},       {500, "internal"},
    {503, "unavailable"},
};

const char *http_status_code_name(unsigned status)
{
    for (size_t i = 0; i < sizeof(status_codes) / sizeof(status_codes[0]); i++)
        if (status_codes[i].status == status)
            return status_codes[i].code;
    return "error";
}

void http_response_init(http_response *r)
{
    memset(r, 0, sizeof(*r));
    tarn_buf_init(&r->body, HTTP_RESP_BODY_MAX);
}

/* A producer nobody took is released with the response. */
static void stream_drop(http_response *r)
{
    if (r->stream_ctx_free != NULL && r->stream_ctx != NULL)
        r->stream_ctx_free(r->stream_ctx);
    r->stream_fn = NULL;
    r->stream_ctx = NULL;
    r->stream_ctx_free = NULL;
}

/* So is a deferred reply's connection reference. */
static void deferred_drop(http_response *r)
{
    if (r->deferred != NULL)
        http_defer_release(r->deferred);
    r->deferred = NULL;
}

void http_response_free(http_response *r)
{
    stream_drop(r);
    deferred_drop(r);
    tarn_buf_free(&r->body);
    r->status = 0;
    r->header_count = 0;
}

void http_response_reset(http_response *r)
{
    stream_drop(r);
    deferred_drop(r);
    tarn_buf_reset(&r->body);
    r->status = 0;
    r->content_type = NULL;
    r->header_count = 0;
    r->error_id[0] = '\0';
}

int http_response_add_header(http_response *r, const char *name, const char *value)
{
    if (r->header_count >= HTTP_RESP_HEADERS_MAX)
        return TARN_ERANGE;
    http_header *h = &r->headers[r->header_count];
    size_t n = strlen(value);
    if (n >= sizeof(h->value))
        return TARN_ERANGE;
    h->name = name;
    memcpy(h->value, value, n + 1);
    r->header_count++;
    return 0;
}

/* jansson's dump callback: appends to the response body, whose maximum
 * bounds what a handler can produce. */
static int dump_to_buf(const char *data, size_t size, void *ctx)
{
    return tarn_buf_append(ctx, data, size) == 0 ? 0 : -1;
}

int http_reply_json(http_response *r, unsigned status, const json_t *body)
{
    http_response_reset(r);
    if (json_dump_callback(body, dump_to_buf, &r->body, JSON_COMPACT) != 0) {
        /* jansson does not say why; the body limit is 64 MiB, so the
         * likely cause is allocation. */
        http_response_reset(r);
        return TARN_ENOMEM;
    }
    r->status = status;
    r->content_type = "application/json";
    return 0;
}

int http_reply_text(http_response *r, unsigned status, const char *content_type, const char *text,
                    size_t len)
{
    http_response_reset(r);
    int rc = tarn_buf_append(&r->body, text, len);
    if (rc != 0) {
        http_response_reset(r);
        return rc;
    }
    r->status = status;
    r->content_type = content_type;
    return 0;
}

void http_error_id_new(char *out)
{
    uint8_t raw[(HTTP_ERROR_ID_MAX - 1) / 2];
    if (tarn_entropy_bytes(raw, sizeof(raw)) != 0) {
        /* The id only has to be unique enough to find the log line; a
         * counter mixed with the address space will do when the entropy
         * source is down. */
        static atomic_uint_fast64_t fallback;
        uint64_t v = atomic_fetch_add(&fallback, 1) ^ (uint64_t)(uintptr_t)out;
        memcpy(raw, &v, sizeof(raw));
    }
    tarn_hex_encode(raw, sizeof(raw), out);
}

int http_reply_error(http_response *r, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    http_response_reset(r);
    if (status >= 500) {
        http_error_id_new(r->error_id);
        size_t n = strlen(msg);
        snprintf(msg + n, sizeof(msg) - n, " (error id %s)", r->error_id);
    }
    int rc = tarn_buf_append_str(&r->body, "{\"error\":{\"code\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(&r->body, code, strlen(code));
    if (rc == 0)
        rc = tarn_buf_append_str(&r->body, ",\"message\":");
    if (rc == 0)
        rc = tarn_buf_append_json_str(&r->body, msg, strlen(msg));
    if (rc == 0)
        rc = tarn_buf_append_str(&r->body, "}}");
    if (rc != 0) {
        char id[HTTP_ERROR_ID_MAX];
        memcpy(id, r->error_id, sizeof(id));
        http_response_reset(r);
        memcpy(r->error_id, id, sizeof(id)); /* the caller may still log it */
        return rc;
    }
    r->status = status;
    r->content_type = "application/json";
    return 0;
}

void http_reply_stream(http_response *r, const char *content_type, http_stream_fn fn, void *ctx,
                       void (*ctx_free)(void *ctx))
{
    http_response_reset(r);
    r->status = 200;
    r->content_type = content_type;
    r->stream_fn = fn;
    r->stream_ctx = ctx;
    r->stream_ctx_free = ctx_free;
}
