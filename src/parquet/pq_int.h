/*
 * parquet/pq_int.h: helpers shared inside parquet/ (codecs, the RLE /
 * bit-packed hybrid, bit unpacking). Not for other modules.
 */
#ifndef TARN_PARQUET_PQ_INT_H
#define TARN_PARQUET_PQ_INT_H

#include "base/buf.h"
#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decompresses `src` with `codec` into exactly `dst_len` bytes at `dst`.
 * TARN_ECORRUPT when the data is bad or does not decompress to exactly
 * dst_len bytes; TARN_ENOTSUP for codecs we lack. `err` gets a reason. */
int pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len,
                  tarn_err *err);
/* Appends the compression of `src` with `codec` to `out` (UNCOMPRESSED,
 * SNAPPY, ZSTD, GZIP). TARN_ENOTSUP, TARN_ENOMEM, TARN_ETOOBIG. */
int pq_compress(int codec, const uint8_t *src, size_t src_len, tarn_buf *out);
const char *pq_codec_name(int codec);
/* CRC-32 (zlib's polynomial) of a page's stored bytes: PageHeader.crc. */
uint32_t pq_crc32(const uint8_t *p, size_t len);

/* Reads one ULEB128 varint (the RLE hybrid's run headers, the DELTA
 * encodings' headers) at *p, not past `end`, advancing *p. -1 when it is
 * truncated or longer than 64 bits. */
int pq_uleb_read(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* Decodes `count` values of the RLE / bit-packed hybrid with bit width
 * `bw` (0..32) from [p, p+len) into out. Values are not range-checked
 * beyond the bit width. TARN_ECORRUPT (reason in *why) when the data ends
 * early or is malformed. *used gets the bytes consumed. */
int pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t count, uint32_t *out, size_t *used,
                  const char **why);
/* Levels (bit width bw <= 8): decodes `count` values into bytes, each
 * checked <= max (else TARN_ECORRUPT, reason in *why); *nmax gets how many
 * equal max. */
int pq_rle_decode_levels(const uint8_t *p, size_t len, int bw, uint32_t count, uint32_t max,
                         uint8_t *out, uint32_t *nmax, const char **why);
/* Whether the hybrid data starts with an RLE run of at least `count`
 * copies of `value` (all levels equal: the common all-valid page). */
bool pq_rle_starts_with_run(const uint8_t *p, size_t len, int bw, uint32_t count, uint32_t value);
/* Appends the hybrid encoding of values[0..count) with bit width bw. */
int pq_rle_encode(const uint32_t *values, uint32_t count, int bw, tarn_buf *out);
/* Whether p[0..n) is valid UTF-8 (RFC 3629). */
bool pq_utf8_valid(const uint8_t *p, size_t n);

/* Bits needed for values up to max (0 for 0). */
int pq_bit_width(uint64_t max);

/* Decodes the first `count` values of a DELTA_BINARY_PACKED run into out
 * (as 64-bit; INT32 callers truncate). TARN_ECORRUPT with a reason in *why;
 * *used gets the bytes consumed. */
int pq_delta_decode(const uint8_t *p, size_t len, uint32_t count, int64_t *out, size_t *used,
                    const char **why);

/* Appends v[0..n) as DELTA_BINARY_PACKED (blocks of 128 values, 4
 * miniblocks). For INT32 columns (is32) deltas wrap at 32 bits. */
int pq_delta_encode(const int64_t *v, uint32_t n, bool is32, tarn_buf *out);

#endif
