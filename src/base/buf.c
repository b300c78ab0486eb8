/* base/buf.c: the bounded byte buffer (see buf.h). */
#include "base/buf.h"

#include "base/alloc.h"
#include "base/error.h"

#include <stdio.h>
#include <string.h>

void tarn_buf_init(tarn_buf *b, size_t max_bytes)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_bytes = max_bytes;
}

void tarn_buf_free(tarn_buf *b)
{
    tarn_free(b->data);
    tarn_buf_init(b, b->max_bytes);
}

void tarn_buf_reset(tarn_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

int tarn_buf_reserve(tarn_buf *b, size_t extra)
{
    if (extra > b->max_bytes || b->len > b->max_bytes - extra)
        return TARN_ETOOBIG;
    size_t need = b->len + extra + 1; /* +1: the trailing NUL */
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max_bytes + 1)
        cap = b->max_bytes + 1;
    uint8_t *p = tarn_realloc(b->data, cap);
    if (p == NULL)
        return TARN_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int tarn_buf_append(tarn_buf *b, const void *data, size_t len)
{
    int rc = tarn_buf_reserve(b, len);
    if (rc != 0)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int tarn_buf_append_byte(tarn_buf *b, uint8_t byte)
{
    return tarn_buf_append(b, &byte, 1);
}

int tarn_buf_append_str(tarn_buf *b, const char *s)
{
    return tarn_buf_append(b, s, strlen(s));
}

int tarn_buf_vprintf(tarn_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return TARN_EINVAL;
    if ((size_t)n < sizeof(small))
        return tarn_buf_append(b, small, (size_t)n);
    int rc = tarn_buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int tarn_buf_printf(tarn_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tarn_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0; /* overlong, out of range, or a surrogate */
    return n;
}

int tarn_buf_append_json_str(tarn_buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start_len = b->len;
    int rc = tarn_buf_append_byte(b, '"');
    for (size_t i = 0; rc == 0 && i < len;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            rc = tarn_buf_append(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            rc = tarn_buf_printf(b, "\\u%04x", c);
            i++;
        } else {
            size_t n = utf8_seq_len(p + i, len - i);
            if (n == 0) {
                rc = tarn_buf_append(b, "\xEF\xBF\xBD", 3);
                i++;
            } else {
                rc = tarn_buf_append(b, p + i, n);
                i += n;
            }
        }
    }
    if (rc == 0)
        rc = tarn_buf_append_byte(b, '"');
    if (rc != 0) {
        /* Leave no half-written string behind. */
        b->len = start_len;
        if (b->data)
            b->data[b->len] = 0;
    }
    return rc;
}

const char *tarn_buf_cstr(const tarn_buf *b)
{
    return b->data ? (const char *)b->data : "";
}

uint8_t *tarn_buf_detach(tarn_buf *b, size_t *len_out)
{
    uint8_t *p = b->data;
    *len_out = b->len;
    tarn_buf_init(b, b->max_bytes);
    return p;
}
