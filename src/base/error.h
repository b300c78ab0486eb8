/*
 * base/error.h: Tarn's one table of error codes and the error context that
 * carries "while doing X" messages up the stack.
 *
 * Every function that can fail returns int: 0 on success or a negative
 * TARN_E* code. Results travel through out-parameters. errno is translated
 * at the OS boundary only (tarn_err_from_errno).
 *
 * Threads: everything here is thread-safe; a tarn_err is owned by one thread
 * at a time.
 */
#ifndef TARN_BASE_ERROR_H
#define TARN_BASE_ERROR_H

#include <stdarg.h>
#include <stddef.h>

/*
 * X(NAME, value, "message"). Values are stable: they may appear in logs and
 * on the wire, so a code is never renumbered, only added.
 */
#define TARN_ERROR_TABLE(X)                                                                        \
    X(TARN_OK, 0, "success")                                                                       \
    X(TARN_EINVAL, -1, "invalid argument")                                                         \
    X(TARN_ENOMEM, -2, "out of memory")                                                            \
    X(TARN_EIO, -3, "input/output error")                                                          \
    X(TARN_ENOENT, -4, "not found")                                                                \
    X(TARN_EEXIST, -5, "already exists")                                                           \
    X(TARN_ECORRUPT, -6, "corrupt data")                                                           \
    X(TARN_ETOOBIG, -7, "too large")                                                               \
    X(TARN_EBUSY, -8, "busy, try again")                                                           \
    X(TARN_ETIMEDOUT, -9, "timed out")                                                             \
    X(TARN_ECONFLICT, -10, "conflict")                                                             \
    X(TARN_EUNAUTH, -11, "unauthenticated")                                                        \
    X(TARN_EFORBIDDEN, -12, "permission denied")                                                   \
    X(TARN_ERATE, -13, "rate limit exceeded")                                                      \
    X(TARN_ENOTSUP, -14, "not supported")                                                          \
    X(TARN_ECLOSED, -15, "closed")                                                                 \
    X(TARN_ERANGE, -16, "out of range")                                                            \
    X(TARN_ESYNTAX, -17, "syntax error")                                                           \
    X(TARN_ENOMEM_BUDGET, -18, "memory budget exceeded")                                           \
    X(TARN_ESTATE, -19, "handle unusable after an earlier failure")                                \
    X(TARN_EMETHOD, -20, "method not allowed")                                                     \
    X(TARN_EINTERNAL, -21, "internal error")

enum tarn_error {
#define TARN_X_ENUM(name, value, msg) name = value,
    TARN_ERROR_TABLE(TARN_X_ENUM)
#undef TARN_X_ENUM
};

/* Message for a code ("out of memory"); never NULL, "unknown error" for
 * codes outside the table. The string is static. */
const char *tarn_strerror(int code);

/* Name of a code ("TARN_ENOMEM"); never NULL, "TARN_EUNKNOWN" outside the
 * table. The string is static. */
const char *tarn_error_name(int code);

/* Maps an errno value to the closest TARN_E* code. */
int tarn_err_from_errno(int errnum);

/* Room for the context message; longer chains are cut with "...". */
#define TARN_ERR_MSG_MAX 512

/*
 * An error context: the code and a message built from the root cause
 * outward ("open table t: read footer: short read at 4096"). Zero-initialise
 * (TARN_ERR_INIT) before use. Functions that take a `tarn_err *` may be
 * passed NULL when the caller wants only the code.
 */
typedef struct tarn_err {
    int code;                   /* TARN_OK or a TARN_E* code */
    char msg[TARN_ERR_MSG_MAX]; /* NUL-terminated; "" when code is TARN_OK */
} tarn_err;

#define TARN_ERR_INIT                                                                              \
    {                                                                                              \
        0,                                                                                         \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* Records the root cause: sets the code and replaces the message. Returns
 * `code` so that `return tarn_err_set(err, TARN_EIO, "...")` reads well.
 * `err` may be NULL. */
int tarn_err_set(tarn_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tarn_err_setv(tarn_err *err, int code, const char *fmt, va_list ap);

/* Adds context on the way up: the message becomes "<fmt>: <old message>".
 * Keeps err->code, or sets `code` when err->code is TARN_OK (a callee that
 * returned a bare code). Returns the resulting code. `err` may be NULL. */
int tarn_err_wrap(tarn_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears the context back to TARN_OK. */
void tarn_err_clear(tarn_err *err);

/* The message, or tarn_strerror(code) when no message was recorded. */
const char *tarn_err_msg(const tarn_err *err);

#endif
