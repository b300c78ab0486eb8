/* tests/integration/http_itest.c: see http_itest.h. */
#include "http_itest.h"

#include "common/test_util.h"

#include "base/alloc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void itest_server_start(itest_server *s, itest_tweak_fn tweak, void *ctx)
{
    memset(s, 0, sizeof(*s));
    tarn_alloc_hook_jansson();
    s->dir = tarn_test_mkdtemp("http-itest");
    tarn_err err = TARN_ERR_INIT;
    assert_int_equal(http_keystore_open(s->dir, &s->ks, &err), 0);
    char keyfile[4096];
    snprintf(keyfile, sizeof(keyfile), "%s/admin.key", s->dir);
    int created = 0;
    assert_int_equal(http_keystore_ensure_admin(s->ks, keyfile, &created, &err), 0);
    assert_int_equal(created, 1);
    char *key = tarn_test_read_file(keyfile, NULL);
    assert_non_null(key);
    key[strcspn(key, "\n")] = '\0';
    snprintf(s->admin, sizeof(s->admin), "%s", key);
    free(key);
    assert_int_equal(http_router_new(&s->router), 0);
    assert_int_equal(http_router_add_builtin(s->router, s->ks), 0);
    http_server_opts o;
    http_server_opts_default(&o);
    o.listen = "127.0.0.1:0";
    if (tweak)
        tweak(&o, s->router, ctx);
    int rc = http_server_start(&o, s->router, s->ks, &s->srv, &err);
    if (rc != 0)
        fail_msg("server start: %s", tarn_err_msg(&err));
    assert_true(http_server_port(s->srv) != 0);
    snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%u",
             (unsigned)http_server_port(s->srv));
}

void itest_server_stop(itest_server *s)
{
    http_server_stop(s->srv);
    http_router_free(s->router);
    http_keystore_close(s->ks);
    tarn_test_rmdir(s->dir);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    itest_reply *r = ctx;
    size_t len = size * n;
    char *b = realloc(r->body, r->body_len + len + 1);
    if (b == NULL)
        return 0;
    memcpy(b + r->body_len, p, len);
    r->body_len += len;
    b[r->body_len] = '\0';
    r->body = b;
    return len;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    const char *v = line + n + 1;
    size_t vlen = len - n - 1;
    while (vlen && (*v == ' '))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
        vlen--;
    snprintf(out, cap, "%.*s", (int)vlen, v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    itest_reply *r = ctx;
    size_t len = size * n;
    header_value(p, len, "Retry-After", r->retry_after, sizeof(r->retry_after));
    header_value(p, len, "Allow", r->allow, sizeof(r->allow));
    header_value(p, len, "Content-Type", r->content_type, sizeof(r->content_type));
    return len;
}

typedef struct upload {
    const char *data;
    size_t len, off;
} upload;

static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
    upload *u = ctx;
    size_t want = size * n, left = u->len - u->off;
    size_t k = want < left ? want : left;
    memcpy(buf, u->data + u->off, k);
    u->off += k;
    return k;
}

void itest_request(const char *url, const char *method, const char *key, const char *body,
                   size_t body_len, int chunked, itest_reply *out)
{
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = NULL;
    char kh[HTTP_KEY_MAX + 32];
    if (key) {
        snprintf(kh, sizeof(kh), "X-API-Key: %s", key);
        h = curl_slist_append(h, kh);
    }
    upload u = {body, body_len, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    if (body && chunked) {
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &u);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    out->curl_code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

void itest_reply_free(itest_reply *r)
{
    free(r->body);
    r->body = NULL;
}
