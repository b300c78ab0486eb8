/*
 * parquet/utf8.c: UTF-8 validation of STRING values (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), so that every
 * string a batch hands to the executor is valid text.
 */
#include "parquet/pq_int.h"

#include <string.h>

/* Length of the valid sequence at p (1..4), or 0 when it is invalid. */
static size_t seq_len(const uint8_t *p, size_t n)
{
    uint8_t b = p[0];
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (b < 0xc2)
        return 0; /* continuation byte or overlong 2-byte lead */
    if (b < 0xe0)
        len = 2;
    else if (b < 0xf0) {
        len = 3;
        lo = b == 0xe0 ? 0xa0 : 0x80; /* no overlong */
        hi = b == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (b < 0xf5) {
        len = 4;
        lo = b == 0xf0 ? 0x90 : 0x80;
        hi = b == 0xf4 ? 0x8f : 0xbf; /* <= U+10FFFF */
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

bool pq_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path: 8 bytes at a time. */
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = seq_len(p + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}
