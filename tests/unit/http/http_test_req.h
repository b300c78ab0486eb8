/* tests/unit/http/http_test_req.h: building http_request values in tests. */
#ifndef TARN_TEST_HTTP_REQ_H
#define TARN_TEST_HTTP_REQ_H

#include "http/http.h"

/* Up to 4 headers, as name/value pairs. */
typedef struct test_req {
    http_request req;
    const char *names[4];
    const char *values[4];
    size_t count;
} test_req;

/* method, path (may hold "?query"), body (may be NULL), then headers as
 * name, value, ..., NULL. */
void test_req_make(test_req *t, const char *method, const char *path, const char *body, ...);

/* Dispatches and returns the status (0 when dispatch itself failed). */
unsigned test_dispatch(const http_dispatch_env *env, test_req *t, http_response *resp);

/* Asserts that resp is {"error":{"code":code,"message":"..."}} exactly. */
void assert_error_shape(const http_response *resp, const char *code);

#endif
