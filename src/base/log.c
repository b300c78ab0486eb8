/*
 * base/log.c: JSON log lines (see log.h). Each line is formatted into a
 * stack buffer and written with one write(2); no allocation, so logging
 * works while memory is short (and under allocation-failure injection).
 */
#include "base/log.h"

#include "base/clock.h"
#include "base/error.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static _Atomic int log_level = TARN_LOG_INFO;
static _Atomic int log_fd = 2;
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static tarn_log_sink_fn sink_fn;
static void *sink_ctx;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* A cursor over a fixed buffer that silently stops when full; `full`
 * records that something was cut. */
typedef struct line_out {
    char *p;
    size_t cap; /* bytes usable, the NUL excluded */
    size_t len;
    int full;
} line_out;

static void out_raw(line_out *o, const char *s, size_t n)
{
    if (o->len + n > o->cap) {
        n = o->cap - o->len;
        o->full = 1;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void out_str(line_out *o, const char *s)
{
    out_raw(o, s, strlen(s));
}

/* Writes a JSON string literal; never splits an escape sequence. */
static void out_json_str(line_out *o, const char *s)
{
    out_raw(o, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p && !o->full; p++) {
        char esc[8];
        size_t n;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            n = 2;
        } else if (*p < 0x20) {
            n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
        } else {
            esc[0] = (char)*p;
            n = 1;
        }
        if (o->len + n + 1 > o->cap) { /* keep room for the closing quote */
            o->full = 1;
            break;
        }
        out_raw(o, esc, n);
    }
    if (o->len < o->cap)
        out_raw(o, "\"", 1);
}

static void out_field_value(line_out *o, const tarn_log_field *f)
{
    char num[64];
    switch (f->type) {
    case TARN_LOG_F_STR:
        if (f->v.s == NULL)
            out_str(o, "null");
        else
            out_json_str(o, f->v.s);
        return;
    case TARN_LOG_F_INT:
        snprintf(num, sizeof(num), "%lld", (long long)f->v.i);
        break;
    case TARN_LOG_F_UINT:
        snprintf(num, sizeof(num), "%llu", (unsigned long long)f->v.u);
        break;
    case TARN_LOG_F_DBL:
        if (isfinite(f->v.d))
            snprintf(num, sizeof(num), "%.17g", f->v.d);
        else
            snprintf(num, sizeof(num), "null");
        break;
    case TARN_LOG_F_BOOL:
        snprintf(num, sizeof(num), "%s", f->v.b ? "true" : "false");
        break;
    case TARN_LOG_F_ERR:
        out_json_str(o, tarn_error_name((int)f->v.i));
        return;
    default:
        snprintf(num, sizeof(num), "null");
        break;
    }
    out_str(o, num);
}

size_t tarn_log_format(char *out, size_t cap, int64_t wall_ms, tarn_log_level level,
                       const char *component, const char *msg, const tarn_log_field *fields,
                       size_t n)
{
    static const char truncated[] = ",\"truncated\":true}";
    if (cap < TARN_LOG_LINE_MIN) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    /* Reserve room so that a cut line still closes as valid JSON. */
    line_out o = {out, cap - sizeof(truncated), 0, 0};
    char ts[40];
    tarn_time_format_rfc3339(wall_ms, ts, sizeof(ts));
    out_str(&o, "{\"ts\":\"");
    out_str(&o, ts);
    out_str(&o, "\",\"level\":\"");
    out_str(&o, level_names[level <= TARN_LOG_ERROR ? level : TARN_LOG_ERROR]);
    out_raw(&o, "\"", 1);
    size_t after_level = o.len;
    out_str(&o, ",\"component\":");
    out_json_str(&o, component ? component : "");
    out_str(&o, ",\"msg\":");
    out_json_str(&o, msg ? msg : "");
    if (o.full)
        o.len = after_level; /* even the message did not fit */
    for (size_t i = 0; i < n && !o.full; i++) {
        size_t mark = o.len;
        out_raw(&o, ",", 1);
        out_json_str(&o, fields[i].key ? fields[i].key : "");
        out_raw(&o, ":", 1);
        out_field_value(&o, &fields[i]);
        if (o.full)
            o.len = mark; /* drop the half-written field */
    }
    if (o.full) {
        memcpy(out + o.len, truncated, sizeof(truncated));
        return o.len + sizeof(truncated) - 1;
    }
    out[o.len++] = '}';
    out[o.len] = '\0';
    return o.len;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failed log write */
        }
        p += w;
        n -= (size_t)w;
    }
}

void tarn_log_emit(tarn_log_level level, const char *component, const char *msg,
                   const tarn_log_field *fields, size_t n)
{
    if ((int)level < atomic_load_explicit(&log_level, memory_order_relaxed))
        return;
    char line[TARN_LOG_LINE_MAX + 1];
    size_t len =
        tarn_log_format(line, sizeof(line) - 1, tarn_wall_ms(), level, component, msg, fields, n);
    pthread_mutex_lock(&sink_lock);
    tarn_log_sink_fn fn = sink_fn;
    void *ctx = sink_ctx;
    if (fn != NULL) {
        fn(ctx, line, len);
        pthread_mutex_unlock(&sink_lock);
        return;
    }
    pthread_mutex_unlock(&sink_lock);
    line[len] = '\n';
    write_all(atomic_load(&log_fd), line, len + 1);
}

void tarn_log_set_level(tarn_log_level level)
{
    atomic_store(&log_level, (int)level);
}

tarn_log_level tarn_log_get_level(void)
{
    return (tarn_log_level)atomic_load(&log_level);
}

int tarn_log_level_parse(const char *s, tarn_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (tarn_log_level)i;
            return 0;
        }
    }
    return TARN_EINVAL;
}

void tarn_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

void tarn_log_set_sink(tarn_log_sink_fn sink, void *ctx)
{
    pthread_mutex_lock(&sink_lock);
    sink_fn = sink;
    sink_ctx = ctx;
    pthread_mutex_unlock(&sink_lock);
}
