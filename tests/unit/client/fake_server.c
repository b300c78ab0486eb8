/* tests/unit/client/fake_server.c: see fake_server.h. */
#include "fake_server.h"

#include "common/test_util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct conn_state {
    fake_req req;
} conn_state;

static void copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t cap)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    snprintf(out, cap, "%s", v ? v : "");
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    fake_req *r = cls;
    size_t len = strlen(r->query);
    snprintf(r->query + len, sizeof(r->query) - len, "%s%s=%s", len ? "&" : "", key,
             value ? value : "");
    return MHD_YES;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static enum MHD_Result answer(fake_server *s, struct MHD_Connection *conn, conn_state *st)
{
    pthread_mutex_lock(&s->mu);
    int n = s->count++;
    if (n < FAKE_LOG_MAX)
        s->log[n] = st->req;
    pthread_mutex_unlock(&s->mu);
    fake_answer a;
    memset(&a, 0, sizeof(a));
    a.status = 200;
    s->script(s, &st->req, n, &a);
    if (a.delay_ms)
        sleep_ms(a.delay_ms);
    const char *body = a.body ? a.body : "";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (a.location[0])
        MHD_add_response_header(resp, "Location", a.location);
    if (a.retry_after)
        MHD_add_response_header(resp, "Retry-After", a.retry_after);
    enum MHD_Result rc = MHD_queue_response(conn, a.status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    fake_server *s = cls;
    conn_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        snprintf(st->req.method, sizeof(st->req.method), "%s", method);
        snprintf(st->req.url, sizeof(st->req.url), "%s", url);
        copy_header(conn, "X-API-Key", st->req.api_key, sizeof(st->req.api_key));
        copy_header(conn, "If-Match", st->req.if_match, sizeof(st->req.if_match));
        copy_header(conn, "If-None-Match", st->req.if_none_match, sizeof(st->req.if_none_match));
        copy_header(conn, "Content-Type", st->req.content_type, sizeof(st->req.content_type));
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &st->req);
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t room = sizeof(st->req.body) - 1 - strlen(st->req.body);
        size_t take = *upload_size < room ? *upload_size : room;
        memcpy(st->req.body + strlen(st->req.body), upload_data, take);
        st->req.body_len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(s, conn, st);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    free(*con_cls);
    *con_cls = NULL;
}

void fake_start(fake_server *s, fake_script script, void *ctx)
{
    memset(s, 0, sizeof(*s));
    s->script = script;
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, s, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_END);
    assert_non_null(d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", (unsigned)info->port);
    s->daemon = d;
}

void fake_stop(fake_server *s)
{
    MHD_stop_daemon(s->daemon);
    pthread_mutex_destroy(&s->mu);
}

int fake_count(fake_server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

fake_req fake_get(fake_server *s, int i)
{
    pthread_mutex_lock(&s->mu);
    assert_true(i < s->count && i < FAKE_LOG_MAX);
    fake_req r = s->log[i];
    pthread_mutex_unlock(&s->mu);
    return r;
}

void fake_dead_url(char *out, size_t cap)
{
    snprintf(out, cap, "http://127.0.0.1:%d", tarn_test_free_port());
}
