/*
 * base/log.h: structured logs, one JSON object per line:
 *
 *   {"ts":"2026-11-22T10:00:00.123Z","level":"info","component":"http",
 *    "msg":"listening","url":"http://127.0.0.1:7070"}
 *
 * Fields are typed (string, signed, unsigned, double, bool, error code); an
 * error code is written as its name ("error":"TARN_EIO"). Lines are written
 * with a single write(2) so that concurrent threads never interleave
 * within a line. Lines longer than TARN_LOG_LINE_MAX are cut and marked
 * "truncated":true.
 *
 * Threads: all functions are thread-safe.
 */
#ifndef TARN_BASE_LOG_H
#define TARN_BASE_LOG_H

#include <stddef.h>
#include <stdint.h>

#define TARN_LOG_LINE_MAX 4096
/* Smallest buffer tarn_log_format writes into (ts, level, truncated). */
#define TARN_LOG_LINE_MIN 80

typedef enum tarn_log_level {
    TARN_LOG_DEBUG = 0,
    TARN_LOG_INFO = 1,
    TARN_LOG_WARN = 2,
    TARN_LOG_ERROR = 3,
} tarn_log_level;

typedef enum tarn_log_field_type {
    TARN_LOG_F_STR,
    TARN_LOG_F_INT,
    TARN_LOG_F_UINT,
    TARN_LOG_F_DBL,
    TARN_LOG_F_BOOL,
    TARN_LOG_F_ERR,
} tarn_log_field_type;

typedef struct tarn_log_field {
    const char *key; /* borrowed for the call */
    tarn_log_field_type type;
    union {
        const char *s; /* NULL is written as null */
        int64_t i;
        uint64_t u;
        double d;
        int b;
    } v;
} tarn_log_field;

#define TARN_F_STR(k, x)  ((tarn_log_field){(k), TARN_LOG_F_STR, {.s = (x)}})
#define TARN_F_INT(k, x)  ((tarn_log_field){(k), TARN_LOG_F_INT, {.i = (int64_t)(x)}})
#define TARN_F_UINT(k, x) ((tarn_log_field){(k), TARN_LOG_F_UINT, {.u = (uint64_t)(x)}})
#define TARN_F_DBL(k, x)  ((tarn_log_field){(k), TARN_LOG_F_DBL, {.d = (double)(x)}})
#define TARN_F_BOOL(k, x) ((tarn_log_field){(k), TARN_LOG_F_BOOL, {.b = !!(x)}})
/* An error code, written under the key "error" as its TARN_E* name. */
#define TARN_F_ERR(code) ((tarn_log_field){"error", TARN_LOG_F_ERR, {.i = (int64_t)(code)}})

/* Writes one line if `level` is at or above the current level. `fields`
 * (n of them) are borrowed for the call. */
void tarn_log_emit(tarn_log_level level, const char *component, const char *msg,
                   const tarn_log_field *fields, size_t n);

/* A line without fields / with fields:
 *   TARN_LOG(TARN_LOG_INFO, "http", "stopped");
 *   TARN_LOGF(TARN_LOG_INFO, "http", "listening", TARN_F_STR("url", url)); */
#define TARN_LOG(level, component, msg) tarn_log_emit((level), (component), (msg), NULL, 0)
#define TARN_LOGF(level, component, msg, ...)                                                      \
    do {                                                                                           \
        const tarn_log_field tarn_log_fields_[] = {__VA_ARGS__};                                   \
        tarn_log_emit((level), (component), (msg), tarn_log_fields_,                               \
                      sizeof(tarn_log_fields_) / sizeof(tarn_log_fields_[0]));                     \
    } while (0)

/* Minimum level written (default TARN_LOG_INFO). */
void tarn_log_set_level(tarn_log_level level);
tarn_log_level tarn_log_get_level(void);

/* Parses "debug", "info", "warn" or "error"; TARN_EINVAL otherwise. */
int tarn_log_level_parse(const char *s, tarn_log_level *out);

/* Where lines go: a file descriptor (default 2, stderr). */
void tarn_log_set_fd(int fd);

/* Tests may capture lines instead: `sink` receives each complete line
 * (without the newline) until it is set back to NULL. */
typedef void (*tarn_log_sink_fn)(void *ctx, const char *line, size_t len);
void tarn_log_set_sink(tarn_log_sink_fn sink, void *ctx);

/* Formats one line into `out` (cap bytes, NUL-terminated, no newline).
 * Returns the length written. Exposed for tests and for callers that ship
 * lines elsewhere. */
size_t tarn_log_format(char *out, size_t cap, int64_t wall_ms, tarn_log_level level,
                       const char *component, const char *msg, const tarn_log_field *fields,
                       size_t n);

#endif
