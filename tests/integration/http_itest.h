/* tests/integration/http_itest.h: a Tarn HTTP server in-process on an
 * ephemeral loopback port, and a small libcurl client for it. */
#ifndef TARN_HTTP_ITEST_H
#define TARN_HTTP_ITEST_H

#include "http/http.h"

#include <stddef.h>

typedef struct itest_server {
    char *dir;
    http_keystore *ks;
    http_router *router;
    http_server *srv;
    char admin[HTTP_KEY_MAX];
    char base_url[64];
} itest_server;

/* Starts a server with the built-in routes and an admin key (written by
 * ensure_admin to <dir>/admin.key and read back). `tweak` may change the
 * options and add routes before the start; may be NULL. */
typedef void (*itest_tweak_fn)(http_server_opts *o, http_router *r, void *ctx);
void itest_server_start(itest_server *s, itest_tweak_fn tweak, void *ctx);
void itest_server_stop(itest_server *s);

typedef struct itest_reply {
    long status;
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
    char retry_after[32]; /* "" when absent */
    char allow[64];
    char content_type[96];
    int curl_code; /* CURLcode */
} itest_reply;

/* One request. key may be NULL; body may be NULL (body_len bytes
 * otherwise). chunked: send the body with Transfer-Encoding: chunked. */
void itest_request(const char *url, const char *method, const char *key, const char *body,
                   size_t body_len, int chunked, itest_reply *out);
void itest_reply_free(itest_reply *r);

#endif
