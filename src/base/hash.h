/*
 * base/hash.h: hashing and byte helpers: SHA-256 (OpenSSL's libcrypto, for
 * API key hashes and content digests), constant-time comparison, hex.
 *
 * Threads: all functions are thread-safe.
 */
#ifndef TARN_BASE_HASH_H
#define TARN_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TARN_SHA256_BYTES 32

/* SHA-256 of len bytes into out. Cannot fail. */
void tarn_sha256(const void *data, size_t len, uint8_t out[TARN_SHA256_BYTES]);

/* 1 when the n bytes are equal, 0 otherwise, in time that depends only on
 * n (for comparing secrets and their hashes). */
int tarn_ct_equal(const void *a, const void *b, size_t n);

/* Writes 2*n lowercase hex digits and a NUL into out (2*n+1 bytes). */
void tarn_hex_encode(const void *data, size_t n, char *out);

/* Decodes exactly 2*n hex digits from `hex` into out. TARN_EINVAL on a
 * wrong length or a non-hex digit. */
int tarn_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t n);

/* The value of one hex digit (either case), or -1 for any other char. */
int tarn_hex_digit(char c);

/* The MurmurHash3 64-bit finaliser: spreads the bits of h (a cheap hash of
 * one integer key, and the last step of tarn_hash64). */
static inline uint64_t tarn_mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return h;
}

/* A fast non-cryptographic 64-bit hash for hash tables (not for untrusted
 * keys where flooding matters: seed it). */
uint64_t tarn_hash64(const void *data, size_t len, uint64_t seed);

#endif
