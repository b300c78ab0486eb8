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

static int uleb(const uint8_t **p, const uint8_t *end, uint64_t *out)
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

static int zigzag(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v;
    if (uleb(p, end, &v) != 0)
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
    if (uleb(&p, end, &block) || uleb(&p, end, &mbs) || uleb(&p, end, &total) ||
        zigzag(&p, end, &first)) {
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
