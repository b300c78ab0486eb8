/*
 * client/codec.c: the byte-level helpers of the client: base64 (values in
 * JSON), percent-encoding (keys in paths and queries), UTF-8 checks (keys
 * in JSON bodies), key checks, and reading numbers out of replies. Replies
 * are untrusted: a malformed one is TARN_EIO, never a crash.
 */
#include "client/client_int.h"

#include "base/alloc.h"

#include <jansson.h>
#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int client_b64_append(tarn_buf *b, const void *data, size_t len)
{
    const uint8_t *p = data;
    int rc = tarn_buf_reserve(b, (len + 2) / 3 * 4);
    for (size_t i = 0; rc == 0 && i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        char q[4] = {b64_alphabet[v >> 18 & 63], b64_alphabet[v >> 12 & 63],
                     i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=',
                     i + 2 < len ? b64_alphabet[v & 63] : '='};
        rc = tarn_buf_append(b, q, 4);
    }
    return rc;
}

/* The 6-bit value of a base64 character, -1 for anything else. */
static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Decodes one group of four characters; the last group may end in one or
 * two '='. Returns the bytes written, -1 when malformed. */
static int b64_group(const char *s, int last, uint8_t *out)
{
    int pad = (s[3] == '=') + (s[3] == '=' && s[2] == '=');
    if (pad && !last)
        return -1;
    int v[4];
    for (int k = 0; k < 4; k++) {
        v[k] = k >= 4 - pad ? 0 : b64_value((unsigned char)s[k]);
        if (v[k] < 0)
            return -1;
    }
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    out[0] = (uint8_t)(w >> 16);
    out[1] = (uint8_t)(w >> 8);
    out[2] = (uint8_t)w;
    return 3 - pad;
}

int client_b64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
    if (len % 4 != 0)
        return TARN_EINVAL;
    uint8_t *d = tarn_malloc(len / 4 * 3 + 1);
    if (!d)
        return TARN_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int n = b64_group(s + i, i + 4 == len, d + o);
        if (n < 0) {
            tarn_free(d);
            return TARN_EINVAL;
        }
        o += (size_t)n;
    }
    d[o] = '\0';
    *out = d;
    *out_len = o;
    return 0;
}

int client_pct_append(tarn_buf *b, const void *data, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const uint8_t *p = data;
    int rc = tarn_buf_reserve(b, len * 3);
    for (size_t i = 0; rc == 0 && i < len; i++) {
        uint8_t ch = p[i];
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '~';
        if (plain) {
            rc = tarn_buf_append_byte(b, ch);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = tarn_buf_append(b, e, 3);
        }
    }
    return rc;
}

void client_key_show(const void *key, size_t len, char *out, size_t cap)
{
    const uint8_t *p = key;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 4 < cap; i++)
        out[o++] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' ? (char)p[i] : '?';
    if (o < len && o + 4 >= cap && cap >= 4)
        o = cap - 4;
    if (o < len && cap >= 4) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

int client_key_check(const void *key, size_t len, tarn_err *err)
{
    if (!key || len == 0)
        return tarn_err_set(err, TARN_EINVAL, "empty key");
    if (len > TARN_KV_KEY_MAX_BYTES)
        return tarn_err_set(err, TARN_ETOOBIG, "key of %zu bytes, at most %d", len,
                            TARN_KV_KEY_MAX_BYTES);
    if (memchr(key, '\0', len))
        return tarn_err_set(err, TARN_EINVAL, "key contains a NUL byte");
    return 0;
}

int client_utf8_valid(const void *data, size_t len)
{
    static const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000}; /* no overlong forms */
    const uint8_t *p = data;
    for (size_t i = 0; i < len;) {
        uint8_t b = p[i];
        size_t extra;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xe0) == 0xc0) {
            extra = 1;
        } else if ((b & 0xf0) == 0xe0) {
            extra = 2;
        } else if ((b & 0xf8) == 0xf0) {
            extra = 3;
        } else {
            return 0;
        }
        if (len - i <= extra)
            return 0;
        uint32_t cp = b & (0x3fu >> extra);
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += extra + 1;
    }
    return 1;
}

int client_json_object(const client_reply *rp, const char *what, void **out, tarn_err *err)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)rp->body.data, rp->body.len, 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return tarn_err_set(err, TARN_EIO, "%s: the reply is not a JSON object (%s)", what,
                            root ? "other JSON" : je.text);
    }
    *out = root;
    return 0;
}

int client_json_u64(void *obj, const char *name, const char *what, uint64_t *out, tarn_err *err)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return tarn_err_set(err, TARN_EIO, "%s: the reply has no number \"%s\"", what, name);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}
