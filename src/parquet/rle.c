/*
 * parquet/rle.c: the RLE / bit-packed hybrid encoding (Parquet
 * Encodings.md, "Run Length Encoding / Bit-Packing Hybrid", encoding 3),
 * used for definition and repetition levels, dictionary indexes and
 * booleans in v2 pages.
 *
 *   run        := header, then either
 *   header     := ULEB128 varint h
 *   h & 1 == 0 RLE run: h >> 1 repeats of one value stored in
 *              ceil(bw / 8) bytes, little endian
 *   h & 1 == 1 bit-packed run: (h >> 1) groups of 8 values, each group
 *              bw bytes, values packed LSB first
 */
#include "base/assert.h"
#include "parquet/pq_int.h"

#include <string.h>

int pq_bit_width(uint64_t max)
{
    int bw = 0;
    while (max) {
        bw++;
        max >>= 1;
    }
    return bw;
}

int pq_uleb_read(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Unpacks n values of bw bits, LSB first, from p: one unaligned 8-byte
 * load per value while 8 bytes remain (a little-endian host), then byte by
 * byte. Inlined with a constant bw (unpack_bits below), the shifts and
 * offsets of each group of 8 become constants. */
static inline __attribute__((always_inline)) void unpack_bw(const uint8_t *p, int bw, uint32_t n,
                                                            uint32_t *out, size_t avail)
{
    uint64_t mask = bw == 32 ? 0xffffffffu : ((1u << bw) - 1);
    uint32_t i = 0;
    /* Whole groups of 8 values (bw bytes each) whose loads stay inside. */
    /* Group g reads up to byte g * bw + 7 * bw / 8 + 8 < (g + 1) * bw + 8. */
    size_t fast_groups = avail >= 8 ? (avail - 8) / (size_t)bw : 0;
    uint32_t fast = fast_groups < n / 8 ? (uint32_t)fast_groups : n / 8;
    for (uint32_t g = 0; g < fast; g++, p += bw, out += 8) {
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            uint64_t w;
            memcpy(&w, p + (k * bw) / 8, 8);
            out[k] = (uint32_t)((w >> ((k * bw) % 8)) & mask);
        }
    }
    avail -= (size_t)fast * (size_t)bw;
    n -= fast * 8;
    size_t bit = 0;
    for (; i < n; i++, bit += (size_t)bw) {
        size_t byte = bit >> 3;
        unsigned shift = bit & 7;
        uint64_t w = 0;
        /* bw + shift <= 39 bits: at most 5 bytes, all inside the group. */
        size_t nbytes = (shift + (unsigned)bw + 7) / 8;
        for (size_t k = 0; k < nbytes && byte + k < avail; k++)
            w |= (uint64_t)p[byte + k] << (8 * k);
        out[i] = (uint32_t)((w >> shift) & mask);
    }
}

#define UNPACK_CASE(k)                                                                             \
    case k:                                                                                        \
        unpack_bw(p, k, n, out, avail);                                                            \
        return;

static void unpack_bits(const uint8_t *p, int bw, uint32_t n, uint32_t *out, size_t avail)
{
    switch (bw) {
        UNPACK_CASE(1)
        UNPACK_CASE(2)
        UNPACK_CASE(3)
        UNPACK_CASE(4)
        UNPACK_CASE(5)
        UNPACK_CASE(6)
        UNPACK_CASE(7)
        UNPACK_CASE(8)
        UNPACK_CASE(9)
        UNPACK_CASE(10)
        UNPACK_CASE(11)
        UNPACK_CASE(12)
        UNPACK_CASE(13)
        UNPACK_CASE(14)
        UNPACK_CASE(15)
        UNPACK_CASE(16)
    default:
        unpack_bw(p, bw, n, out, avail);
    }
}

int pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t count, uint32_t *out, size_t *used,
                  const char **why)
{
    const uint8_t *start = p, *end = p + len;
    if (bw < 0 || bw > 32) {
        *why = "bit width above 32";
        return TARN_ECORRUPT;
    }
    uint32_t done = 0;
    size_t vbytes = ((size_t)bw + 7) / 8;
    while (done < count) {
        uint64_t h;
        if (pq_uleb_read(&p, end, &h) != 0) {
            *why = "RLE data ends early";
            return TARN_ECORRUPT;
        }
        uint64_t n = h >> 1;
        if (h & 1) {
            /* n groups of 8 values take n * bw bytes (none at width 0,
             * which our writer emits for a one-entry dictionary). */
            if (bw > 0 && (n > (uint64_t)(end - p) || n * (uint64_t)bw > (uint64_t)(end - p))) {
                *why = "bit-packed run longer than the data";
                return TARN_ECORRUPT;
            }
            uint64_t vals = n > count ? (uint64_t)count : n * 8;
            uint32_t take = vals < count - done ? (uint32_t)vals : count - done;
            if (bw == 0)
                memset(out + done, 0, (size_t)take * sizeof(uint32_t));
            else
                unpack_bits(p, bw, take, out + done, (size_t)(n * (uint64_t)bw));
            p += n * (uint64_t)bw;
            done += take;
        } else {
            if ((size_t)(end - p) < vbytes) {
                *why = "RLE run value ends early";
                return TARN_ECORRUPT;
            }
            uint32_t v = 0;
            for (size_t k = 0; k < vbytes; k++)
                v |= (uint32_t)p[k] << (8 * k);
            p += vbytes;
            if (n == 0)
                continue; /* legal but useless; it consumed bytes, so we progress */
            uint32_t take = n < count - done ? (uint32_t)n : count - done;
            for (uint32_t i = 0; i < take; i++)
                out[done + i] = v;
            done += take;
        }
    }
    *used = (size_t)(p - start);
    return 0;
}

bool pq_rle_starts_with_run(const uint8_t *p, size_t len, int bw, uint32_t count, uint32_t value)
{
    const uint8_t *end = p + len;
    uint64_t h;
    size_t vbytes = ((size_t)bw + 7) / 8;
    if (bw < 0 || bw > 32 || pq_uleb_read(&p, end, &h) != 0 || (h & 1) || (h >> 1) < count ||
        (size_t)(end - p) < vbytes)
        return false;
    uint32_t v = 0;
    for (size_t k = 0; k < vbytes; k++)
        v |= (uint32_t)p[k] << (8 * k);
    return v == value;
}

/* Bit-packed levels: n values of bw (<= 8) bits into bytes, checked <= max;
 * *nmax counts those equal to max. Returns false on a level above max. */
static bool unpack_levels(const uint8_t *p, int bw, uint32_t n, uint8_t *out, uint32_t max,
                          uint32_t *nmax, size_t avail)
{
    uint32_t tmp[64], bad = 0, eq = 0;
    for (uint32_t i = 0; i < n; i += 64) {
        uint32_t k = n - i < 64 ? n - i : 64;
        size_t off = (size_t)i * (size_t)bw / 8; /* i is a multiple of 8 */
        unpack_bits(p + off, bw, k, tmp, avail - off);
        for (uint32_t j = 0; j < k; j++) {
            bad |= tmp[j] > max;
            eq += tmp[j] == max;
            out[i + j] = (uint8_t)tmp[j];
        }
    }
    *nmax += eq;
    return !bad;
}

int pq_rle_decode_levels(const uint8_t *p, size_t len, int bw, uint32_t count, uint32_t max,
                         uint8_t *out, uint32_t *nmax, const char **why)
{
    const uint8_t *end = p + len;
    uint32_t done = 0;
    *nmax = 0;
    if (bw < 0 || bw > 8 || max > 255) {
        *why = "level bit width above 8";
        return TARN_ECORRUPT;
    }
    while (done < count) {
        uint64_t h;
        if (pq_uleb_read(&p, end, &h) != 0) {
            *why = "RLE data ends early";
            return TARN_ECORRUPT;
        }
        uint64_t n = h >> 1;
        uint32_t v = 0, take;
        if (h & 1) {
            if (bw > 0 && (n > (uint64_t)(end - p) || n * (uint64_t)bw > (uint64_t)(end - p))) {
                *why = "bit-packed run longer than the data";
                return TARN_ECORRUPT;
            }
            uint64_t vals = n > count ? (uint64_t)count : n * 8;
            take = vals < count - done ? (uint32_t)vals : count - done;
            if (bw > 0 && !unpack_levels(p, bw, take, out + done, max, nmax, (size_t)n * bw)) {
                *why = "level above the maximum";
                return TARN_ECORRUPT;
            }
            p += n * (uint64_t)bw;
        } else {
            if (bw > 0 && p >= end) {
                *why = "RLE run value ends early";
                return TARN_ECORRUPT;
            }
            v = bw > 0 ? *p++ : 0;
            take = n < count - done ? (uint32_t)n : count - done;
        }
        if (v > max) {
            *why = "level above the maximum";
            return TARN_ECORRUPT;
        }
        if (!(h & 1) || bw == 0) {
            memset(out + done, (int)v, take);
            *nmax += v == max ? take : 0;
        }
        done += take;
    }
    return 0;
}

/* Writes a bit-packed run of values[0..n) (n a multiple of 8, padded). */
static int put_packed(const uint32_t *v, uint32_t n, int bw, tarn_buf *out)
{
    uint8_t hdr[10];
    size_t hn = 0;
    uint64_t h = ((uint64_t)(n / 8) << 1) | 1;
    do {
        hdr[hn++] = (uint8_t)((h & 0x7f) | (h > 0x7f ? 0x80 : 0));
        h >>= 7;
    } while (h);
    int rc = tarn_buf_append(out, hdr, hn);
    size_t nbytes = (size_t)n * (size_t)bw / 8;
    if (rc == 0)
        rc = tarn_buf_reserve(out, nbytes);
    if (rc != 0)
        return rc;
    uint8_t *dst = out->data + out->len;
    /* LSB first through a 64-bit accumulator: bw <= 32, so at most 39 bits
     * are pending after adding a value. */
    uint64_t acc = 0, mask = bw == 32 ? 0xffffffffu : ((uint64_t)1 << bw) - 1;
    int nbits = 0;
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        acc |= ((uint64_t)v[i] & mask) << nbits;
        nbits += bw;
        while (nbits >= 8) {
            dst[k++] = (uint8_t)acc;
            acc >>= 8;
            nbits -= 8;
        }
    }
    TARN_ASSERT(k == nbytes && nbits == 0); /* n is a multiple of 8 */
    out->len += nbytes;
    return 0;
}

static int put_run(uint32_t value, uint32_t n, int bw, tarn_buf *out)
{
    uint8_t b[16];
    size_t k = 0;
    uint64_t h = (uint64_t)n << 1;
    do {
        b[k++] = (uint8_t)((h & 0x7f) | (h > 0x7f ? 0x80 : 0));
        h >>= 7;
    } while (h);
    for (int i = 0; i < (bw + 7) / 8; i++)
        b[k++] = (uint8_t)(value >> (8 * i));
    return tarn_buf_append(out, b, k);
}

/* Greedy: runs of 8 or more equal values become RLE runs; everything in
 * between is bit-packed in groups of 8 (the last group zero padded). */
int pq_rle_encode(const uint32_t *values, uint32_t count, int bw, tarn_buf *out)
{
    uint32_t i = 0, lit = 0; /* values[lit..i) wait to be bit-packed */
    uint32_t pad[8];
    while (i < count) {
        uint32_t j = i + 1;
        while (j < count && values[j] == values[i])
            j++;
        /* Literals must come in whole groups of 8, so the run gives up its
         * first `align` values to the literals when needed. */
        uint32_t align = (8 - (i - lit) % 8) % 8;
        if (j - i >= align + 8) {
            i += align;
            if (i > lit) {
                int rc = put_packed(values + lit, i - lit, bw, out);
                if (rc)
                    return rc;
            }
            int rc = put_run(values[i], j - i, bw, out);
            if (rc)
                return rc;
            lit = j;
        }
        i = j;
    }
    uint32_t left = count - lit, full = left / 8 * 8;
    int rc = full ? put_packed(values + lit, full, bw, out) : 0;
    if (rc == 0 && left > full) {
        memset(pad, 0, sizeof(pad));
        memcpy(pad, values + lit + full, (left - full) * sizeof(uint32_t));
        rc = put_packed(pad, 8, bw, out);
    }
    return rc;
}
