/* base/hash.c: SHA-256 through libcrypto, constant-time compare, hex, and a
 * 64-bit table hash (see hash.h). */
#include "base/hash.h"

#include "base/error.h"

#include <openssl/evp.h>
#include <string.h>

void tarn_sha256(const void *data, size_t len, uint8_t out[TARN_SHA256_BYTES])
{
    unsigned int n = 0;
    /* EVP_Digest with SHA-256 fails only on allocation failure inside
     * OpenSSL; a zeroed digest then matches no stored hash, which fails
     * closed for key checks. */
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
        memset(out, 0, TARN_SHA256_BYTES);
}

int tarn_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a;
    const volatile unsigned char *y = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

void tarn_hex_encode(const void *data, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int tarn_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tarn_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t n)
{
    if (hex_len != 2 * n)
        return TARN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = tarn_hex_digit(hex[2 * i]);
        int lo = tarn_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return TARN_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

uint64_t tarn_hash64(const void *data, size_t len, uint64_t seed)
{
    /* Eight bytes at a time folded with a multiply-rotate, then the
     * MurmurHash3 finaliser to spread the bits. */
    const unsigned char *p = data;
    uint64_t h = seed ^ (len * 0x9E3779B97F4A7C15ull);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ tarn_mix64(w)) * 0x9E3779B97F4A7C15ull;
        h = (h << 31) | (h >> 33);
        p += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    if (len > 0) /* an empty string may come with a NULL pointer */
        memcpy(&tail, p, len);
    h ^= tarn_mix64(tail ^ len);
    return tarn_mix64(h);
}
