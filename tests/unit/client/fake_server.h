/*
 * tests/unit/client/fake_server.h: a scripted HTTP server on loopback
 * (libmicrohttpd, a thread per connection) for the client library's tests:
 * each request is recorded and answered by a script function, which can
 * redirect, fail, answer garbage or stall.
 */
#ifndef TARN_TEST_FAKE_SERVER_H
#define TARN_TEST_FAKE_SERVER_H

#include <pthread.h>
#include <stddef.h>

#define FAKE_LOG_MAX  64
#define FAKE_TEXT_MAX 4096

typedef struct fake_req {
    char method[16];
    char url[FAKE_TEXT_MAX]; /* decoded path as MHD hands it over */
    char query[FAKE_TEXT_MAX];
    char api_key[256];
    char if_match[64];
    char if_none_match[64];
    char content_type[128];
    char body[FAKE_TEXT_MAX]; /* NUL-terminated, cut at FAKE_TEXT_MAX - 1 */
    size_t body_len;          /* the whole body's length */
} fake_req;

typedef struct fake_answer {
    unsigned status;
    const char *body;        /* JSON text; NULL: "" */
    char location[512];      /* sent as Location when set */
    const char *retry_after; /* sent as Retry-After when set */
    int delay_ms;            /* sleep before answering */
} fake_answer;

typedef struct fake_server fake_server;
typedef void (*fake_script)(fake_server *s, const fake_req *r, int n, fake_answer *a);

struct fake_server {
    void *daemon;
    char url[64]; /* http://127.0.0.1:PORT */
    fake_script script;
    void *ctx;
    pthread_mutex_t mu;
    int count;                  /* requests answered */
    fake_req log[FAKE_LOG_MAX]; /* the first FAKE_LOG_MAX requests */
};

/* Starts a server answering with `script` (n: this request's number, from
 * 0). */
void fake_start(fake_server *s, fake_script script, void *ctx);
void fake_stop(fake_server *s);
int fake_count(fake_server *s);
/* A copy of request i (asserts it exists). */
fake_req fake_get(fake_server *s, int i);

/* A loopback URL on which nothing listens. */
void fake_dead_url(char *out, size_t cap);

#endif
