/* tests/unit/http/http_test_req.c: see http_test_req.h. */
#include "http_test_req.h"

#include "common/test_util.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

static const char *lookup(void *ctx, const char *name)
{
    test_req *t = ctx;
    for (size_t i = 0; i < t->count; i++)
        if (strcasecmp(t->names[i], name) == 0)
            return t->values[i];
    return NULL;
}

void test_req_make(test_req *t, const char *method, const char *path, const char *body, ...)
{
    static char pathbuf[8][4096];
    static int slot;
    memset(t, 0, sizeof(*t));
    char *p = pathbuf[slot++ % 8];
    snprintf(p, 4096, "%s", path);
    char *q = strchr(p, '?');
    if (q != NULL)
        *q++ = '\0';
    t->req.method = method;
    t->req.path = p;
    t->req.query = q;
    t->req.header = lookup;
    t->req.header_ctx = t;
    t->req.body = (const uint8_t *)body;
    t->req.body_len = body ? strlen(body) : 0;
    va_list ap;
    va_start(ap, body);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL && t->count < 4) {
        t->names[t->count] = name;
        t->values[t->count] = va_arg(ap, const char *);
        t->count++;
    }
    va_end(ap);
}

unsigned test_dispatch(const http_dispatch_env *env, test_req *t, http_response *resp)
{
    t->req.header_ctx = t;
    if (http_dispatch(env, &t->req, resp) != 0)
        return 0;
    return resp->status;
}

void assert_error_shape(const http_response *resp, const char *code)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)resp->body.data, resp->body.len, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 1);
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_int_equal(json_object_size(e), 2);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    const char *msg = json_string_value(json_object_get(e, "message"));
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    assert_string_equal(resp->content_type, "application/json");
    json_decref(j);
}
