/*
 * parquet/delta.c: DELTA_BINARY_PACKED (Parquet Encodings.md, encoding 5),
 * the integer encoding beneath DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY.
 *
 *   header  := block_size (ULEB, multiple of 128), miniblocks_per_block
 *              (ULEB, block_size / it a multiple of 32), total_count (ULEB),
 *              first_value (zigzag ULEB)
 *   block   := min_delta (zigzag ULEB), one bit-width byte per miniblock,
 *              then the miniblocks: block_size / miniblocks deltas each,
 *              bit-packed LSB first; value[i] = value[i-1] + min_delta + delta
 *
 * Arithmetic wraps modulo 2^64, as the spec allows writers to rely on; an
 * INT32 column truncates the result, which is the same modulo 2^32.
 * Miniblocks after the last value may be absent, so we stop reading as soon
 * as `count` values are out.
 */
#include "parquet/pq_int.h"

#include <string.h>

static int zigzag(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v;
    if (pq_uleb_read(p, end, &v) != 0)
        return -1;
    *out = (v >> 1) ^ (0 - (v & 1));
    return 0;
}

/* Value i of a run of bw-bit values packed LSB first at p. */
static uint64_t get_bits(const uint8_t *p, int bw, uint32_t i)
{
    uint64_t bit = (uint64_t)i * (uint64_t)bw, v = 0;
    for (int got = 0; got < bw;) {
        unsigned off = (unsigned)(bit & 7);
        int n = 8 - (int)off < bw - got ? 8 - (int)off : bw - got;
        uint64_t byte = (uint64_t)(p[bit >> 3] >> off) & ((1u << n) - 1);
        v |= byte << got;
        got += n;
        bit += (uint64_t)n;
    }
    return v;
}

/* Reads one block's miniblocks into out[*done ..]. */
static int read_block(const uint8_t **pp, const uint8_t *end, uint64_t mbs, uint64_t per_mb,
                      uint32_t count, uint32_t *done, uint64_t *last, int64_t *out,
                      const char **why)
{
    const uint8_t *p = *pp;
    uint64_t min_delta;
    if (zigzag(&p, end, &min_delta) != 0 || (uint64_t)(end - p) < mbs) {
        *why = "DELTA_BINARY_PACKED block header ends early";
        return TARN_ECORRUPT;
    }
    const uint8_t *widths = p;
    p += mbs;
    for (uint64_t m = 0; m < mbs && *done < count; m++) {
        int bw = widths[m];
        if (bw > 64) {
            *why = "DELTA_BINARY_PACKED bit width above 64";
            return TARN_ECORRUPT;
        }
        uint64_t bytes = per_mb * (uint64_t)bw / 8;
        if (bytes > (uint64_t)(end - p)) {
            *why = "DELTA_BINARY_PACKED miniblock ends early";
            return TARN_ECORRUPT;
        }
        for (uint32_t i = 0; i < per_mb && *done < count; i++) {
            *last += min_delta + (bw ? get_bits(p, bw, i) : 0);
            out[(*done)++] = (int64_t)*last;
        }
        p += bytes;
    }
    *pp = p;
    return 0;
}

int pq_delta_decode(const uint8_t *p, size_t len, uint32_t count, int64_t *out, size_t *used,
                    const char **why)
{
    const uint8_t *start = p, *end = p + len;
    uint64_t block, mbs, total, first;
    if (pq_uleb_read(&p, end, &block) || pq_uleb_read(&p, end, &mbs) ||
        pq_uleb_read(&p, end, &total) || zigzag(&p, end, &first)) {
        *why = "DELTA_BINARY_PACKED header ends early";
        return TARN_ECORRUPT;
    }
    if (block == 0 || block % 128 != 0 || block > (1u << 20) || mbs == 0 || block % mbs != 0 ||
        (block / mbs) % 32 != 0) {
        *why = "DELTA_BINARY_PACKED bad block or miniblock size";
        return TARN_ECORRUPT;
    }
    if (total != count) {
        *why = "DELTA_BINARY_PACKED value count differs from the page";
        return TARN_ECORRUPT;
    }
    uint32_t done = 0;
    uint64_t last = first;
    if (count > 0)
        out[done++] = (int64_t)first;
    while (done < count) {
        int rc = read_block(&p, end, mbs, block / mbs, count, &done, &last, out, why);
        if (rc != 0)
            return rc;
    }
    *used = (size_t)(p - start);
    return 0;
}

/* ---- encoding ---- */

#define ENC_BLOCK      128
#define ENC_MINIBLOCKS 4
#define ENC_PER_MB     (ENC_BLOCK / ENC_MINIBLOCKS)

static int put_uleb(tarn_buf *out, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        b[n] |= v ? 0x80 : 0;
        n++;
    } while (v);
    return tarn_buf_append(out, b, n);
}

static int put_zigzag(tarn_buf *out, int64_t v)
{
    return put_uleb(out, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Packs 32 values of bw bits, LSB first (bw * 4 bytes). */
static int put_packed32(tarn_buf *out, const uint64_t *v, int bw)
{
    size_t nbytes = (size_t)bw * ENC_PER_MB / 8;
    int rc = tarn_buf_reserve(out, nbytes);
    if (rc != 0)
        return rc;
    uint8_t *dst = out->data + out->len;
    memset(dst, 0, nbytes);
    uint64_t bit = 0;
    for (int i = 0; i < ENC_PER_MB; i++)
        for (int b = 0; b < bw; b++, bit++)
            if ((v[i] >> b) & 1)
                dst[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    out->len += nbytes;
    return 0;
}

/* One block of deltas d[0..n) (n <= 128): min delta, widths, miniblocks. */
static int put_block(tarn_buf *out, const int64_t *d, uint32_t n)
{
    int64_t min = d[0];
    for (uint32_t i = 1; i < n; i++)
        min = d[i] < min ? d[i] : min;
    uint64_t rel[ENC_BLOCK] = {0};
    uint8_t widths[ENC_MINIBLOCKS] = {0};
    for (uint32_t i = 0; i < n; i++) {
        rel[i] = (uint64_t)d[i] - (uint64_t)min;
        int w = 0;
        for (uint64_t x = rel[i]; x; x >>= 1)
            w++;
        if (w > widths[i / ENC_PER_MB])
            widths[i / ENC_PER_MB] = (uint8_t)w;
    }
    int rc = put_zigzag(out, min);
    if (rc == 0)
        rc = tarn_buf_append(out, widths, ENC_MINIBLOCKS);
    /* Miniblocks past the last value are left out (their widths stay 0). */
    for (uint32_t m = 0; rc == 0 && m * ENC_PER_MB < n; m++)
        rc = put_packed32(out, rel + m * ENC_PER_MB, widths[m]);
    return rc;
}

int pq_delta_encode(const int64_t *v, uint32_t n, bool is32, tarn_buf *out)
{
    int rc = put_uleb(out, ENC_BLOCK);
    if (rc == 0)
        rc = put_uleb(out, ENC_MINIBLOCKS);
    if (rc == 0)
        rc = put_uleb(out, n);
    if (rc == 0)
        rc = put_zigzag(out, n ? v[0] : 0);
    int64_t d[ENC_BLOCK];
    for (uint32_t i = 1; rc == 0 && i < n; i += ENC_BLOCK) {
        uint32_t k = n - i < ENC_BLOCK ? n - i : ENC_BLOCK;
        for (uint32_t j = 0; j < k; j++) {
            uint64_t diff = (uint64_t)v[i + j] - (uint64_t)v[i + j - 1];
            /* INT32 deltas wrap at 32 bits, as other writers compute them. */
            d[j] = is32 ? (int64_t)(int32_t)(uint32_t)diff : (int64_t)diff;
        }
        rc = put_block(out, d, k);
    }
    return rc;
}
