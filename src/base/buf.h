/*
 * base/buf.h: a growable byte buffer with a hard maximum. Appending past the
 * maximum fails with TARN_ETOOBIG and leaves the buffer unchanged, so every
 * buffer that holds untrusted or unbounded data has a named limit.
 *
 * The contents are always followed by a NUL byte (not counted in len) once
 * anything was appended, so text can be read with tarn_buf_cstr.
 *
 * Threads: a buffer belongs to one thread at a time.
 */
#ifndef TARN_BASE_BUF_H
#define TARN_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tarn_buf {
    uint8_t *data;    /* owned; NULL until the first append */
    size_t len;       /* bytes used */
    size_t cap;       /* bytes allocated (len + 1 <= cap once allocated) */
    size_t max_bytes; /* appends beyond this many bytes fail */
} tarn_buf;

#define TARN_BUF_UNBOUNDED ((size_t)1 << 40)

/* Starts an empty buffer; allocates nothing. */
void tarn_buf_init(tarn_buf *b, size_t max_bytes);
/* Frees the contents; the buffer is empty and reusable (same maximum). */
void tarn_buf_free(tarn_buf *b);
/* Forgets the contents, keeps the allocation. */
void tarn_buf_reset(tarn_buf *b);

/* Makes room for `extra` more bytes. TARN_ETOOBIG past max_bytes,
 * TARN_ENOMEM when allocation fails; the contents are unchanged on error. */
int tarn_buf_reserve(tarn_buf *b, size_t extra);

int tarn_buf_append(tarn_buf *b, const void *data, size_t len);
int tarn_buf_append_byte(tarn_buf *b, uint8_t byte);
int tarn_buf_append_str(tarn_buf *b, const char *s);
int tarn_buf_printf(tarn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tarn_buf_vprintf(tarn_buf *b, const char *fmt, va_list ap);

/* Appends s (len bytes) as a JSON string literal, quotes included, escaping
 * as RFC 8259 requires. Invalid UTF-8 bytes are written as U+FFFD so the
 * output is always valid JSON. */
int tarn_buf_append_json_str(tarn_buf *b, const char *s, size_t len);

/* The contents as a C string ("" when empty). Valid until the next change. */
const char *tarn_buf_cstr(const tarn_buf *b);

/* Hands the allocation to the caller (free with tarn_free) and leaves the
 * buffer empty. Returns NULL when empty; *len_out gets the length. */
uint8_t *tarn_buf_detach(tarn_buf *b, size_t *len_out);

#endif
