/*
 * http/query.c: query-string parameters for route handlers (http.h).
 */
#include "http/http.h"

#include "base/hash.h"

#include <string.h>

/* Percent-decodes [v, end) into out; see http_query_get. */
static int decode_value(const char *v, const char *end, char *out, size_t cap, size_t *len_out)
{
    size_t o = 0;
    for (; v < end; v++) {
        int c = (unsigned char)*v;
        if (c == '%') {
            int h = v + 2 < end ? tarn_hex_digit(v[1]) : -1;
            int l = h >= 0 ? tarn_hex_digit(v[2]) : -1;
            if (h < 0 || l < 0)
                return TARN_EINVAL;
            c = h << 4 | l;
            v += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= cap)
            return TARN_ETOOBIG;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    *len_out = o;
    return 0;
}

int http_query_get(const char *q, const char *name, char *out, size_t cap, size_t *len_out)
{
    size_t nlen = strlen(name);
    while (q != NULL && *q) {
        const char *amp = strchr(q, '&');
        const char *end = amp ? amp : q + strlen(q);
        if ((size_t)(end - q) >= nlen && strncmp(q, name, nlen) == 0 &&
            (q + nlen == end || q[nlen] == '='))
            return decode_value(q + nlen + (q + nlen < end), end, out, cap, len_out);
        q = amp ? amp + 1 : NULL;
    }
    return TARN_ENOENT;
}
