/* base/error.c: the error table's names and messages, and the error
 * context (see error.h). */
#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *tarn_strerror(int code)
{
    switch (code) {
#define TARN_X_MSG(name, value, msg)                                                               \
    case name:                                                                                     \
        return msg;
        TARN_ERROR_TABLE(TARN_X_MSG)
#undef TARN_X_MSG
    default:
        return "unknown error";
    }
}

const char *tarn_error_name(int code)
{
    switch (code) {
#define TARN_X_NAME(name, value, msg)                                                              \
    case name:                                                                                     \
        return #name;
        TARN_ERROR_TABLE(TARN_X_NAME)
#undef TARN_X_NAME
    default:
        return "TARN_EUNKNOWN";
    }
}

int tarn_err_from_errno(int errnum)
{
    switch (errnum) {
    case 0:
        return TARN_OK;
    case ENOMEM:
        return TARN_ENOMEM;
    case ENOENT:
    case ENOTDIR:
        return TARN_ENOENT;
    case EEXIST:
    case ENOTEMPTY:
        return TARN_EEXIST;
    case EINVAL:
    case ENAMETOOLONG:
        return TARN_EINVAL;
    case EACCES:
    case EPERM:
    case EROFS:
        return TARN_EFORBIDDEN;
    case EAGAIN:
    case EBUSY:
    case EMFILE:
    case ENFILE:
        return TARN_EBUSY;
    case ETIMEDOUT:
        return TARN_ETIMEDOUT;
    case EFBIG:
    case ENOSPC:
    case EDQUOT:
        return TARN_ETOOBIG;
    case ENOTSUP:
        return TARN_ENOTSUP;
    default:
        return TARN_EIO;
    }
}

/* Copies src into dst (cap bytes), marking a cut with "...". */
static void copy_cut(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n < cap) {
        memcpy(dst, src, n + 1);
        return;
    }
    memcpy(dst, src, cap - 4);
    memcpy(dst + cap - 4, "...", 4);
}

int tarn_err_setv(tarn_err *err, int code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    char tmp[TARN_ERR_MSG_MAX * 2];
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    copy_cut(err->msg, sizeof(err->msg), tmp);
    return code;
}

int tarn_err_set(tarn_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tarn_err_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int tarn_err_wrap(tarn_err *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    if (err->code == TARN_OK)
        err->code = code;
    char prefix[TARN_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    /* A callee that returned a bare code left no message: use the code's. */
    const char *old = err->msg[0] ? err->msg : tarn_strerror(err->code);
    char tmp[TARN_ERR_MSG_MAX * 2 + 2];
    snprintf(tmp, sizeof(tmp), "%s: %s", prefix, old);
    copy_cut(err->msg, sizeof(err->msg), tmp);
    return err->code;
}

void tarn_err_clear(tarn_err *err)
{
    if (err == NULL)
        return;
    err->code = TARN_OK;
    err->msg[0] = '\0';
}

const char *tarn_err_msg(const tarn_err *err)
{
    if (err->msg[0])
        return err->msg;
    return tarn_strerror(err->code);
}
